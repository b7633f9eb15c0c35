package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/offramp/offramp"
)

func migrateCmd() *cobra.Command {
	var f dbFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, _, err := f.openAdmin(cmd.Context())
			if err != nil {
				return err
			}
			defer db.store.Close()
			fmt.Fprintln(cmd.OutOrStdout(), "migrations applied:", f.db)
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func adminCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Operator commands that work on the database directly"}
	cmd.AddCommand(createOrgCmd(), adminKeysCmd(), jsSignaturesCmd(), ledgerCmd(), refundCmd(), rotateMasterKeyCmd(), adminPayoutsCmd(), checkProvidersCmd(), adminKYCCmd(), adminBanksCmd(), adminOperatorsCmd(), adminAuditCmd(), adminIPAllowlistCmd())
	return cmd
}

// jsSignaturesCmd opts an organization in or out of the JavaScript-snippet
// signature form, for exchanges that cannot fix their signing code at once.
// The switch is recorded in the audit log, with who and why.
func jsSignaturesCmd() *cobra.Command {
	var (
		f     dbFlags
		orgID string
		allow bool
		by    string
		why   string
	)
	cmd := &cobra.Command{
		Use:   "js-signatures --org ID --allow=true|false [--why TEXT] [--by NAME]",
		Short: "Accept (or stop accepting) signatures made with DollarPe's JavaScript snippet, which leave nested keys unsigned",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			id, err := uuid.Parse(strings.TrimSpace(orgID))
			if err != nil {
				return fmt.Errorf("--org %q is not an organization id", orgID)
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
			if err := svc.SetJSReplacer(ctx, id, allow, actor, why); err != nil {
				return cliError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "allow_js_replacer_signatures=%t for %s\n", allow, id)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&orgID, "org", "", "organization id (required)")
	cmd.Flags().BoolVar(&allow, "allow", false, "accept the JavaScript-snippet form")
	cmd.Flags().StringVar(&why, "why", "", "why, for the audit log")
	cmd.Flags().StringVar(&by, "by", "", "who makes the change, for the audit log (default: the OS user)")
	_ = cmd.MarkFlagRequired("org")
	_ = cmd.MarkFlagRequired("allow")
	return cmd
}

// actorOr is by, or else the OS user: who an operator command records in
// the audit log.
func actorOr(by string) (string, error) {
	if by = strings.TrimSpace(by); by != "" {
		return by, nil
	}
	if u := osUser(); u != "" {
		return u, nil
	}
	return "", errors.New("cannot tell who you are: pass --by")
}

// cliError makes a service error one readable line for an operator.
func cliError(err error) error {
	var oe *offramp.Error
	if errors.As(err, &oe) {
		return errors.New(describe(oe))
	}
	return err
}

func createOrgCmd() *cobra.Command {
	var (
		f      dbFlags
		name   string
		by     string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "create-org",
		Short: "Create an organization and print its API key and secret",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			actor, err := actorOr(by)
			if err != nil {
				return err
			}
			db, svc, err := f.openAdmin(ctx)
			if err != nil {
				return err
			}
			defer db.store.Close()
			o, err := svc.CreateOrg(context.WithoutCancel(ctx), name, db.env, actor)
			if err != nil {
				return cliError(err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(map[string]string{
					"org_id": o.ID.String(), "api_key": o.APIKey, "api_secret": o.APISecret, "env": string(o.Env),
				})
			}
			fmt.Fprintf(out, "Organization %q created (%s).\n  org_id      %s\n  X-API-KEY   %s\n  API secret  %s\nThe secret is shown only this once.\n",
				o.Name, o.Env, o.ID, o.APIKey, o.APISecret)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&name, "name", "", "organization name (required)")
	cmd.Flags().StringVar(&by, "by", "", "who creates it, for the audit log (default: the OS user)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object {org_id, api_key, api_secret, env}")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}
