package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/service"
)

// adminKYCCmd and adminBanksCmd are what an operator uses on verifications
// no verifier decided: list what waits, and decide it with a recorded
// reason. A decision has the effects of an automatic one (status, event,
// webhook, failure reason).
func adminKYCCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "kyc", Short: "List KYC submissions waiting for an operator and decide them"}
	cmd.AddCommand(verifyDecideCmd(verifyKYCTarget), verifyPendingCmd(verifyKYCTarget))
	return cmd
}

func adminBanksCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "banks", Short: "List bank accounts waiting for an operator and decide them"}
	cmd.AddCommand(verifyDecideCmd(verifyBankTarget), verifyPendingCmd(verifyBankTarget))
	return cmd
}

// verifyTarget is what differs between the KYC and the bank commands.
type verifyTarget struct {
	flag, noun, object, example string
	reasons                     []string
}

var (
	verifyKYCTarget = verifyTarget{flag: "customer", noun: "KYC submission", object: "customer",
		example: "TAX_VERIFICATION_FAILED", reasons: service.CustomerFailureReasons}
	verifyBankTarget = verifyTarget{flag: "bank", noun: "bank account", object: "bank account",
		example: "NAME_MISMATCH", reasons: service.BankFailureReasons}
)

// decisionJSON is a decided object as `decide --json` prints it.
type decisionJSON struct {
	ID            string `json:"id"`
	OrgID         string `json:"org_id"`
	CustomerID    string `json:"customer_id,omitempty"`
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason,omitempty"`
}

func verifyDecideCmd(tg verifyTarget) *cobra.Command {
	var (
		f                dbFlags
		rawID            string
		verified, failed bool
		reason, why, by  string
		asJSON           bool
		byDefault        = osUser()
	)
	cmd := &cobra.Command{
		Use:   fmt.Sprintf("decide --%s ID (--verified | --failed --reason REASON) --why TEXT", tg.flag),
		Short: fmt.Sprintf("Decide a PROCESSING %s: verified, or failed with a reason", tg.noun),
		Long: fmt.Sprintf(`Decide a PROCESSING %[1]s that no verifier decided (a verifier left it to
an operator, or none is configured).

  --verified                 the %[1]s becomes VERIFIED
  --failed --reason REASON   it becomes FAILED with REASON, one of
                             %[2]s

The status change, its event and the webhook to the exchange are written
as for an automatic decision. The decision, who made it (--by, default the
OS user) and why (--why) are recorded in the audit log.`, tg.noun, strings.Join(tg.reasons, ", ")),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := uuid.Parse(strings.TrimSpace(rawID))
			if err != nil {
				return fmt.Errorf("--%s %q is not a %s id", tg.flag, rawID, tg.object)
			}
			if failed && strings.TrimSpace(reason) == "" {
				return fmt.Errorf("--failed needs --reason, one of %s", strings.Join(tg.reasons, ", "))
			}
			if verified && reason != "" {
				return errors.New("--reason goes with --failed only")
			}
			if by == "" {
				by = byDefault
			}
			ctx := cmd.Context()
			db, svc, err := f.openAdmin(ctx)
			if err != nil {
				return err
			}
			defer db.store.Close()
			var out decisionJSON
			if tg.flag == verifyKYCTarget.flag {
				c, err := svc.DecideKYC(ctx, id, verified, reason, why, by)
				if err != nil {
					return decisionError(err)
				}
				out = decisionJSON{ID: c.ID.String(), OrgID: c.OrgID.String(), Status: string(c.Status), FailureReason: c.FailureReason}
			} else {
				b, err := svc.DecideBank(ctx, id, verified, reason, why, by)
				if err != nil {
					return decisionError(err)
				}
				out = decisionJSON{ID: b.ID.String(), OrgID: b.OrgID.String(), CustomerID: b.CustomerID.String(),
					Status: string(b.Status), FailureReason: b.FailureReason}
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return printVerifyJSON(w, out)
			}
			fmt.Fprintf(w, "%s %s is %s", tg.object, out.ID, out.Status)
			if out.FailureReason != "" {
				fmt.Fprintf(w, " (%s)", out.FailureReason)
			}
			fmt.Fprintln(w)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&rawID, tg.flag, "", fmt.Sprintf("the %s id (required)", tg.object))
	cmd.Flags().BoolVar(&verified, "verified", false, "the "+tg.noun+" is genuine")
	cmd.Flags().BoolVar(&failed, "failed", false, "the "+tg.noun+" fails: needs --reason")
	cmd.Flags().StringVar(&reason, "reason", "", "the failure reason in capitals, e.g. "+tg.example)
	cmd.Flags().StringVar(&why, "why", "", "why you decide so; recorded with the decision (required)")
	cmd.Flags().StringVar(&by, "by", "", "who decides (default: the OS user)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	_ = cmd.MarkFlagRequired(tg.flag)
	_ = cmd.MarkFlagRequired("why")
	cmd.MarkFlagsMutuallyExclusive("verified", "failed")
	cmd.MarkFlagsOneRequired("verified", "failed")
	return cmd
}

// pendingJSON is one waiting submission as `pending --json` prints it.
// Personal data (names, PAN, account numbers) is left out; the account
// number is masked.
type pendingJSON struct {
	ID         string `json:"id"`
	OrgID      string `json:"org_id"`
	CustomerID string `json:"customer_id,omitempty"`
	Account    string `json:"account,omitempty"`
	IFSC       string `json:"ifsc,omitempty"`
	Attempt    int    `json:"attempt,omitempty"`
	Why        string `json:"why"`
	Since      string `json:"since"`
	AgeSeconds int64  `json:"age_seconds"`
	Verifying  bool   `json:"verifying"`
	Attempts   int    `json:"attempts,omitempty"`
	LastError  string `json:"last_error,omitempty"`
}

func verifyPendingCmd(tg verifyTarget) *cobra.Command {
	var (
		f       dbFlags
		limit   int
		all     bool
		asJSON  bool
		nowFunc = time.Now
		plural  = tg.noun + "s"
	)
	cmd := &cobra.Command{
		Use:   "pending",
		Short: fmt.Sprintf("List PROCESSING %s of every organization that wait for an operator, oldest first", plural),
		Long: fmt.Sprintf(`List PROCESSING %[1]s of every organization that wait for an operator's
decision, least recently changed first, with why the verifier left each
one to an operator. With --all, also those an automatic verification job
is still working on (the last error shows when it is retrying one).`, plural),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > 10_000 {
				return fmt.Errorf("--limit must be between 1 and 10000, got %d", limit)
			}
			ctx := cmd.Context()
			db, svc, err := f.openAdmin(ctx)
			if err != nil {
				return err
			}
			defer db.store.Close()
			now := nowFunc()
			var rows []pendingJSON
			row := func(id, org uuid.UUID, p service.Pending) pendingJSON {
				return pendingJSON{ID: id.String(), OrgID: org.String(), Why: p.Why, Since: p.Since.Format(time.RFC3339),
					AgeSeconds: int64(now.Sub(p.Since).Seconds()), Verifying: p.Verifying, Attempts: p.Attempts, LastError: p.LastError}
			}
			if tg.flag == verifyKYCTarget.flag {
				list, err := svc.PendingKYC(ctx, limit, all)
				if err != nil {
					return err
				}
				for _, p := range list {
					r := row(p.Customer.ID, p.Customer.OrgID, p.Pending)
					if p.Customer.KYC != nil {
						r.Attempt = p.Customer.KYC.Attempt
					}
					rows = append(rows, r)
				}
			} else {
				list, err := svc.PendingBanks(ctx, limit, all)
				if err != nil {
					return err
				}
				for _, p := range list {
					r := row(p.Bank.ID, p.Bank.OrgID, p.Pending)
					r.CustomerID = p.Bank.CustomerID.String()
					if p.Bank.Type == offramp.BankVPA {
						r.Account = offramp.MaskVPA(p.Bank.VPA)
					} else {
						r.Account, r.IFSC = offramp.Mask(p.Bank.AccountNumber), p.Bank.IFSC
					}
					rows = append(rows, r)
				}
			}
			w := cmd.OutOrStdout()
			if asJSON {
				if rows == nil {
					rows = []pendingJSON{}
				}
				return printVerifyJSON(w, rows)
			}
			if len(rows) == 0 {
				fmt.Fprintf(w, "no %s wait for an operator\n", plural)
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			if tg.flag == verifyKYCTarget.flag {
				fmt.Fprintln(tw, "CUSTOMER\tORG\tATTEMPT\tAGE\tWHY")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.ID, r.OrgID, r.Attempt, pendingAge(r.AgeSeconds), pendingWhy(r))
				}
			} else {
				fmt.Fprintln(tw, "BANK\tORG\tCUSTOMER\tACCOUNT\tIFSC\tAGE\tWHY")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.OrgID, r.CustomerID, r.Account, dash(r.IFSC), pendingAge(r.AgeSeconds), pendingWhy(r))
				}
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 1000, "at most this many")
	cmd.Flags().BoolVar(&all, "all", false, "also list those an automatic verification is still working on")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func pendingWhy(r pendingJSON) string {
	switch {
	case r.Verifying && r.LastError != "":
		return fmt.Sprintf("verifying, attempt %d failed: %s", r.Attempts, r.LastError)
	case r.Verifying:
		return "verifying"
	case r.Why != "":
		return r.Why
	}
	return "no verifier has decided"
}

func pendingAge(seconds int64) string { return (time.Duration(seconds) * time.Second).String() }

func printVerifyJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// operatorError turns a service error into one line for an operator.
func decisionError(err error) error {
	var oe *offramp.Error
	if errors.As(err, &oe) {
		return errors.New(describe(oe))
	}
	return err
}
