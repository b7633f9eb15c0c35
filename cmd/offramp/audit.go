package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/offramp/offramp/operator"
)

// adminAuditCmd checks the audit log of operator actions.
func adminAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Check the hash-chained audit log of operator actions"}
	cmd.AddCommand(adminAuditVerifyCmd())
	return cmd
}

func adminAuditVerifyCmd() *cobra.Command {
	var (
		f      dbFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Walk the audit chain, recompute every hash and name the first entry that was changed or deleted",
		Long: `Walk the audit log in chain order and recompute every link: sequence numbers
without gaps, each entry's prev_hash equal to the previous entry's hash, and
each hash equal to SHA-256 over the previous hash and the entry as stored.

Prints "audit chain intact: N entries" and the head (last seq and hash; keep
it elsewhere to notice later if entries are cut off the end), or names the
first broken entry by seq and id and exits non-zero.

Entries written before the log was chained (migration 00006) are numbered
but carry no hash; they are counted as legacy and must all come first.

On PostgreSQL entries are linked just after the change that wrote them
commits; verify first links any left behind, and reports "N entries not yet
chained" (not a failure) only if that cannot be done.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, _, err := f.openAdmin(ctx)
			if err != nil {
				return err
			}
			defer db.store.Close()
			// Link entries whose chaining after commit failed (PostgreSQL),
			// so that they are verified, not reported as pending. A failure
			// leaves them pending; the chain is still verified.
			if _, err := db.store.ChainAudit(ctx); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: cannot chain pending audit entries: %v\n", err)
			}
			r, err := operator.VerifyAudit(ctx, db.store)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				v := map[string]any{"intact": r.Broken == nil, "entries": r.Entries, "legacy": r.Legacy,
					"pending": r.Pending, "head_seq": r.HeadSeq, "head_hash": r.HeadHash}
				if b := r.Broken; b != nil {
					v["broken"] = map[string]any{"seq": b.Seq, "id": b.ID.String(), "problem": b.Problem}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(v); err != nil {
					return err
				}
			} else if r.Broken == nil {
				fmt.Fprintf(out, "audit chain intact: %d entries", r.Entries)
				if r.Legacy > 0 {
					fmt.Fprintf(out, " (the first %d from before the chain, unhashed)", r.Legacy)
				}
				fmt.Fprintln(out)
				if r.Pending > 0 {
					fmt.Fprintf(out, "%d entries not yet chained\n", r.Pending)
				}
				if r.HeadSeq > 0 {
					fmt.Fprintf(out, "head: seq %d hash %s\n", r.HeadSeq, dash(r.HeadHash))
				}
			} else {
				fmt.Fprintf(out, "%s\n%d entries before it are intact\n", r.Broken.Error(), r.Entries)
			}
			if r.Broken != nil {
				return r.Broken
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON {intact, entries, legacy, pending, head_seq, head_hash, broken}")
	return cmd
}
