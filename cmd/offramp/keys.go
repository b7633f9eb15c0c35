package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/offramp/offramp"
)

// An organization's API keys rotate without downtime: create a second
// key, move the exchange's clients to it, revoke the first. Creating and
// revoking are recorded in the audit log; a key's secret is printed once,
// when it is created, and never again.

func adminKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List, create and revoke an organization's API keys (rotation without downtime)",
		Long: `An organization may hold several live API keys at once, so a key rotates
without downtime:

  offramp admin keys create --org ORG_ID --label "rotation 2026-12"
      prints the new key and its secret, once; move the clients to it
  offramp admin keys list --org ORG_ID
      shows when each key was last used (to the minute)
  offramp admin keys revoke --org ORG_ID --key KEY_ID --why "rotated"
      the old key stops authenticating at once (401 Invalid API key)

The organization's last live key cannot be revoked: create its successor
first. Webhooks are signed with the oldest live key: revoking it moves
the webhook signatures to the next one.`,
	}
	cmd.AddCommand(adminKeysListCmd(), adminKeysCreateCmd(), adminKeysRevokeCmd())
	return cmd
}

// parseOrgFlag parses --org.
func parseOrgFlag(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(strings.TrimSpace(s))
	if err != nil {
		return uuid.Nil, fmt.Errorf("--org %q is not an organization id", s)
	}
	return id, nil
}

// keyJSON is a key as `keys list --json` prints it; times are RFC 3339
// in UTC, null when the key was never used or is live.
type keyJSON struct {
	ID         string     `json:"id"`
	APIKey     string     `json:"api_key"`
	Label      string     `json:"label"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	RevokedBy  string     `json:"revoked_by,omitempty"`
	Live       bool       `json:"live"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func adminKeysListCmd() *cobra.Command {
	var (
		f      dbFlags
		orgID  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list --org ORG_ID",
		Short: "List an organization's API keys, live and revoked, oldest first (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := parseOrgFlag(orgID)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, svc, err := f.openAdmin(ctx)
			if err != nil {
				return err
			}
			defer db.store.Close()
			keys, err := svc.APIKeys(ctx, id)
			if err != nil {
				return cliError(err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				rows := make([]keyJSON, 0, len(keys))
				for _, k := range keys {
					rows = append(rows, keyJSON{ID: k.ID.String(), APIKey: k.Key, Label: k.Label, CreatedBy: k.CreatedBy,
						CreatedAt: k.CreatedAt, LastUsedAt: optTime(k.LastUsedAt), RevokedAt: optTime(k.RevokedAt),
						RevokedBy: k.RevokedBy, Live: k.Live()})
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			return printKeys(out, keys)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&orgID, "org", "", "organization id (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	_ = cmd.MarkFlagRequired("org")
	return cmd
}

// printKeys writes the table of `keys list`; times are UTC, to the minute
// (the precision of a key's last use).
func printKeys(out io.Writer, keys []offramp.APIKey) error {
	when := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04Z")
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tAPI KEY\tLABEL\tCREATED\tCREATED BY\tLAST USED\tREVOKED")
	for _, k := range keys {
		revoked := "-"
		if !k.Live() {
			revoked = when(k.RevokedAt) + " by " + k.RevokedBy
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Key, k.Label, when(k.CreatedAt), dash(k.CreatedBy),
			when(k.LastUsedAt), revoked)
	}
	return tw.Flush()
}

func adminKeysCreateCmd() *cobra.Command {
	var (
		f      dbFlags
		orgID  string
		label  string
		by     string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "create --org ORG_ID [--label LABEL]",
		Short: "Add an API key to an organization and print it with its secret, once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := parseOrgFlag(orgID)
			if err != nil {
				return err
			}
			actor, err := actorOr(by)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, svc, err := f.openAdmin(ctx)
			if err != nil {
				return err
			}
			defer db.store.Close()
			k, err := svc.CreateAPIKey(ctx, id, label, actor)
			if err != nil {
				return cliError(err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(map[string]string{
					"org_id": id.String(), "key_id": k.ID.String(), "api_key": k.Key, "api_secret": k.Secret, "label": k.Label,
				})
			}
			fmt.Fprintf(out, "API key %q created for organization %s.\n  key_id      %s\n  X-API-KEY   %s\n  API secret  %s\n"+
				"The secret is shown only this once. The organization's other keys keep working until you revoke them.\n",
				k.Label, id, k.ID, k.Key, k.Secret)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&orgID, "org", "", "organization id (required)")
	cmd.Flags().StringVar(&label, "label", "", `a name for the key, at most 100 characters (default "key <date>")`)
	cmd.Flags().StringVar(&by, "by", "", "who creates it, for the audit log (default: the OS user)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object {org_id, key_id, api_key, api_secret, label}")
	_ = cmd.MarkFlagRequired("org")
	return cmd
}

func adminKeysRevokeCmd() *cobra.Command {
	var (
		f     dbFlags
		orgID string
		keyID string
		by    string
		why   string
	)
	cmd := &cobra.Command{
		Use:   "revoke --org ORG_ID --key KEY_ID --why TEXT",
		Short: "Revoke an API key: requests signed with it fail from now on (the last live key is refused)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			org, err := parseOrgFlag(orgID)
			if err != nil {
				return err
			}
			key, err := uuid.Parse(strings.TrimSpace(keyID))
			if err != nil {
				return fmt.Errorf("--key %q is not a key id (see offramp admin keys list)", keyID)
			}
			actor, err := actorOr(by)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, svc, err := f.openAdmin(ctx)
			if err != nil {
				return err
			}
			defer db.store.Close()
			if err := svc.RevokeAPIKey(ctx, org, key, actor, why); err != nil {
				return cliError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "API key %s of organization %s revoked: requests signed with it now fail with 401 Invalid API key.\n", key, org)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&orgID, "org", "", "organization id (required)")
	cmd.Flags().StringVar(&keyID, "key", "", "the key's id, as keys list shows it (required)")
	cmd.Flags().StringVar(&why, "why", "", "why, for the audit log (required)")
	cmd.Flags().StringVar(&by, "by", "", "who revokes it, for the audit log (default: the OS user)")
	_ = cmd.MarkFlagRequired("org")
	_ = cmd.MarkFlagRequired("key")
	_ = cmd.MarkFlagRequired("why")
	return cmd
}
