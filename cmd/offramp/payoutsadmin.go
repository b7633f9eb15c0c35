package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/user"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/engine"
)

// adminPayoutsCmd is what an operator uses on payouts the engine could not
// settle by itself: list the IN_REVIEW queue with what the bank said, and
// resolve a payout with a recorded decision.
func adminPayoutsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "payouts", Short: "List payouts across organizations and resolve IN_REVIEW ones"}
	cmd.AddCommand(adminPayoutsListCmd(), adminPayoutsResolveCmd())
	return cmd
}

// reviewJSON is one payout as `admin payouts list --json` prints it.
type reviewJSON struct {
	ID             string `json:"id"`
	OrgID          string `json:"org_id"`
	Status         string `json:"status"`
	StatusDetail   string `json:"status_detail"`
	BankReference  string `json:"bank_reference"`
	ReviewReason   string `json:"review_reason,omitempty"`
	LastBankAnswer string `json:"last_bank_answer"`
	Amount         string `json:"amount"`
	Fiat           string `json:"fiat"`
	UTR            string `json:"utr,omitempty"`
	FailureReason  string `json:"failure_reason,omitempty"`
	Submissions    int    `json:"submissions"`
	Inquiries      int    `json:"inquiries"`
	CreatedAt      string `json:"created_at"`
	AgeSeconds     int64  `json:"age_seconds"`
}

func adminPayoutsListCmd() *cobra.Command {
	var (
		f       dbFlags
		status  string
		orgID   string
		limit   int
		asJSON  bool
		nowFunc = time.Now
	)
	cmd := &cobra.Command{
		Use:   "list --status IN_REVIEW",
		Short: "List payouts of every organization, oldest first, with their bank reference, age and the bank's last answer",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var pf offramp.PayoutFilter
			if status != "" {
				st := offramp.PayoutStatus(strings.ToUpper(status))
				if !isPayoutStatus(st) {
					return fmt.Errorf("--status %q: use one of PROCESSING, SUCCESS, FAILED, REFUNDED, IN_REVIEW", status)
				}
				pf.Status = st
			}
			if orgID != "" {
				id, err := uuid.Parse(orgID)
				if err != nil {
					return fmt.Errorf("--org: %w", err)
				}
				pf.OrgID = id
			}
			if limit < 1 || limit > 10_000 {
				return fmt.Errorf("--limit must be between 1 and 10000, got %d", limit)
			}
			ctx := cmd.Context()
			db, svc, err := f.openAdmin(ctx)
			if err != nil {
				return err
			}
			defer db.store.Close()
			list, err := svc.AdminPayouts(ctx, pf, limit)
			if err != nil {
				return err
			}
			now := nowFunc()
			rows := make([]reviewJSON, 0, len(list))
			for _, p := range list {
				rows = append(rows, reviewJSON{
					ID: p.ID.String(), OrgID: p.OrgID.String(), Status: string(p.Status), StatusDetail: string(p.Phase),
					BankReference: p.RailReference, ReviewReason: p.ReviewReason, LastBankAnswer: p.LastBankAnswer,
					Amount: p.ReceivingAmount.StringFixed(2), Fiat: p.Fiat, UTR: p.UTR, FailureReason: p.FailureReason,
					Submissions: p.Submissions, Inquiries: p.Inquiries, CreatedAt: p.CreatedAt.Format(time.RFC3339),
					AgeSeconds: int64(now.Sub(p.CreatedAt).Seconds()),
				})
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			if len(rows) == 0 {
				fmt.Fprintln(out, "no payouts match")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PAYOUT\tSTATUS\tDETAIL\tBANK REFERENCE\tAGE\tAMOUNT\tWHY IN REVIEW\tLAST BANK ANSWER")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s %s\t%s\t%s\n", r.ID, r.Status, r.StatusDetail, r.BankReference,
					(time.Duration(r.AgeSeconds) * time.Second).String(), r.Amount, r.Fiat, dash(r.ReviewReason), dash(r.LastBankAnswer))
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&status, "status", "", "only payouts in this status: PROCESSING, SUCCESS, FAILED, REFUNDED or IN_REVIEW")
	cmd.Flags().StringVar(&orgID, "org", "", "only this organization's payouts")
	cmd.Flags().IntVar(&limit, "limit", 1000, "at most this many payouts")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func adminPayoutsResolveCmd() *cobra.Command {
	var (
		f         dbFlags
		payoutID  string
		r         engine.Resolution
		asJSON    bool
		byDefault = osUser()
	)
	cmd := &cobra.Command{
		Use:   "resolve --payout ID (--paid --utr UTR | --failed --reason REASON | --reinquire) --why TEXT",
		Short: "Settle an IN_REVIEW payout: paid with the bank's UTR, failed with a reason, or ask the bank again",
		Long: `Settle an IN_REVIEW payout by an operator's decision.

  --paid --utr UTR          the bank confirmed the credit: the payout becomes SUCCESS
  --failed --reason REASON  the bank confirmed no money left: the payout becomes FAILED
                            and the customer's daily limit is given back
  --reinquire               ask the bank once more (the running server does it now);
                            a definite answer settles the payout, anything else
                            leaves it IN_REVIEW with the answer recorded

The decision, who made it (--by, default the OS user) and why (--why) are
recorded in the audit log; the payout's event, journal and webhook are
written in the same transaction.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := uuid.Parse(strings.TrimSpace(payoutID))
			if err != nil {
				return fmt.Errorf("--payout %q is not a payout id", payoutID)
			}
			r.PayoutID = id
			if r.By == "" {
				r.By = byDefault
			}
			ctx := cmd.Context()
			db, svc, err := f.openAdmin(ctx)
			if err != nil {
				return err
			}
			defer db.store.Close()
			p, err := svc.ResolvePayout(ctx, r)
			var oe *offramp.Error
			if errors.As(err, &oe) {
				return errors.New(describe(oe))
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]string{"id": p.ID.String(), "status": string(p.Status), "status_detail": string(p.Phase),
					"utr": p.UTR, "failure_reason": p.FailureReason, "bank_reference": p.RailReference})
			}
			if r.Reinquire {
				fmt.Fprintf(out, "payout %s: re-inquiry scheduled (bank reference %s); it stays IN_REVIEW unless the bank gives a definite answer\n", p.ID, p.RailReference)
				return nil
			}
			fmt.Fprintf(out, "payout %s is %s", p.ID, p.Status)
			if p.UTR != "" {
				fmt.Fprintf(out, " (UTR %s)", p.UTR)
			}
			if p.FailureReason != "" {
				fmt.Fprintf(out, " (%s)", p.FailureReason)
			}
			fmt.Fprintln(out)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&payoutID, "payout", "", "the payout id (required)")
	cmd.Flags().BoolVar(&r.Paid, "paid", false, "the bank paid: needs --utr")
	cmd.Flags().StringVar(&r.UTR, "utr", "", "the UTR the bank confirmed")
	cmd.Flags().BoolVar(&r.Failed, "failed", false, "no money left: needs --reason")
	cmd.Flags().StringVar(&r.Reason, "reason", "", "the failure reason in capitals, e.g. BENEFICIARY_BANK_REJECTED")
	cmd.Flags().BoolVar(&r.Reinquire, "reinquire", false, "ask the bank once more")
	cmd.Flags().StringVar(&r.Why, "why", "", "why you decide so; recorded with the decision (required)")
	cmd.Flags().StringVar(&r.By, "by", "", "who decides (default: the OS user)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	_ = cmd.MarkFlagRequired("payout")
	_ = cmd.MarkFlagRequired("why")
	cmd.MarkFlagsMutuallyExclusive("paid", "failed", "reinquire")
	cmd.MarkFlagsOneRequired("paid", "failed", "reinquire")
	return cmd
}

func isPayoutStatus(s offramp.PayoutStatus) bool {
	for _, v := range offramp.PayoutStatuses {
		if v == s {
			return true
		}
	}
	return false
}

func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return ""
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// describe turns a service error into one line for an operator: the
// message, then each field's problems.
func describe(e *offramp.Error) string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+strings.Join(e.Fields[k], " "))
	}
	return strings.Join(parts, "; ")
}
