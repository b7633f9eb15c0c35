package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
)

func ledgerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ledger", Short: "Inspect the double-entry ledger"}
	var f dbFlags
	check := &cobra.Command{
		Use:   "check",
		Short: "Verify that every journal balances and every payout reconciles; print account balances and unlinked transfers",
		Long: `Verify that every journal balances and every payout reconciles; print account balances and
payouts whose exchange transfer is unlinked.

A payout reconciles when its own postings on the exchange receivable, the customer liability and
the bank float match its status (a SUCCESS payout owes the customer nothing and drew its receiving
amount from the float; a FAILED one owes nothing, or owes the crypto back if it was linked; ...).

Exits non-zero if any journal does not balance, the books do not sum to zero in every currency, or
any payout does not reconcile.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, svc, err := f.openAdmin(ctx)
			if err != nil {
				return err
			}
			defer db.store.Close()
			r, err := svc.CheckLedger(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "journals: %d, unbalanced: %d\n\n", r.Journals, len(r.Unbalanced))
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "account\tcurrency\tbalance\t")
			for _, b := range r.Balances {
				fmt.Fprintf(tw, "%s\t%s\t%s\t\n", b.Account, b.Currency, b.Balance.String())
			}
			for cur, t := range r.Totals {
				fmt.Fprintf(tw, "TOTAL\t%s\t%s\t\n", cur, t.String())
			}
			tw.Flush()
			fmt.Fprintf(out, "\npayouts with an unlinked exchange transfer: %d\n", len(r.Unlinked))
			for _, p := range r.Unlinked {
				fmt.Fprintf(out, "  %s  org %s  order %s  %s %s  %s\n", p.ID, p.OrgID, p.ExchangeOrderID, p.SendingAmount, p.Asset, p.Status)
			}
			for _, id := range r.Unbalanced {
				fmt.Fprintf(out, "UNBALANCED journal %s\n", id)
			}
			fmt.Fprintf(out, "\npayouts reconciled: %d, not reconciling: %d\n", r.Payouts, len(r.Mismatches))
			for _, m := range r.Mismatches {
				fmt.Fprintf(out, "MISMATCH %s\n", m)
			}
			if !r.Balanced() {
				return fmt.Errorf("the ledger does not balance or a payout does not reconcile")
			}
			fmt.Fprintln(out, "\nledger balanced")
			return nil
		},
	}
	f.register(check)
	cmd.AddCommand(check)
	return cmd
}

// refundCmd marks a FAILED payout REFUNDED once the exchange's crypto has
// been sent back.
func refundCmd() *cobra.Command {
	var (
		f               dbFlags
		orgID, payoutID string
		by, why         string
	)
	cmd := &cobra.Command{
		Use:   "refund --org ID --payout ID",
		Short: "Mark a FAILED payout REFUNDED after its crypto was returned to the exchange",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			oid, err := uuid.Parse(orgID)
			if err != nil {
				return fmt.Errorf("--org: %w", err)
			}
			actor, err := actorOr(by)
			if err != nil {
				return err
			}
			db, svc, err := f.openAdmin(ctx)
			if err != nil {
				return err
			}
			defer db.store.Close()
			p, err := svc.RefundPayoutBy(ctx, oid, payoutID, actor, why)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "payout %s is %s\n", p.ID, p.Status)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&orgID, "org", "", "organization id (required)")
	cmd.Flags().StringVar(&payoutID, "payout", "", "payout id (required)")
	cmd.Flags().StringVar(&by, "by", "", "who refunds, for the audit log (default: the OS user)")
	cmd.Flags().StringVar(&why, "why", "the exchange's crypto was returned", "why, for the audit log")
	_ = cmd.MarkFlagRequired("org")
	_ = cmd.MarkFlagRequired("payout")
	return cmd
}
