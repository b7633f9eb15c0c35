package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/offramp/offramp"
)

// An organization's IP allowlist restricts its API keys to the networks
// its servers call from. Setting and clearing it are recorded in the audit
// log, with the list before and after; a running server applies a change
// from the next request.

func adminIPAllowlistCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ip-allowlist",
		Short: "Show, set or clear the networks an organization's API keys may be used from",
		Long: `An organization may restrict its API keys to the networks its servers call
from. A signed request from an address outside a non-empty allowlist is
answered 403 (err_code ip_not_allowed); an empty allowlist restricts nothing.

  offramp admin ip-allowlist show --org ORG_ID
  offramp admin ip-allowlist set --org ORG_ID --cidr 203.0.113.0/24 --cidr 2001:db8::/32 --why "ticket 123"
      replaces the whole list; a single address (198.51.100.7) means /32 or /128
  offramp admin ip-allowlist clear --org ORG_ID --why "moved to a new provider"

The address checked is the TCP peer of the connection: behind a proxy or load
balancer that is the proxy's address (X-Forwarded-For is not trusted).
Running servers apply a change from the next request.`,
	}
	cmd.AddCommand(adminIPAllowlistShowCmd(), adminIPAllowlistSetCmd(), adminIPAllowlistClearCmd())
	return cmd
}

// allowlistJSON is what `ip-allowlist ... --json` prints.
type allowlistJSON struct {
	OrgID       string   `json:"org_id"`
	IPAllowlist []string `json:"ip_allowlist"` // [] when unrestricted
}

func printAllowlist(out io.Writer, id uuid.UUID, list []netip.Prefix, asJSON bool) error {
	if asJSON {
		v := allowlistJSON{OrgID: id.String(), IPAllowlist: []string{}}
		for _, p := range list {
			v.IPAllowlist = append(v.IPAllowlist, p.String())
		}
		return json.NewEncoder(out).Encode(v)
	}
	if len(list) == 0 {
		fmt.Fprintf(out, "Organization %s has no IP allowlist: its API keys work from any address.\n", id)
		return nil
	}
	fmt.Fprintf(out, "Organization %s accepts signed requests only from:\n", id)
	for _, p := range list {
		fmt.Fprintf(out, "  %s\n", p)
	}
	return nil
}

func adminIPAllowlistShowCmd() *cobra.Command {
	var (
		f      dbFlags
		orgID  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "show --org ORG_ID",
		Short: "Show an organization's IP allowlist",
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
			list, err := svc.IPAllowlist(ctx, id)
			if err != nil {
				return cliError(err)
			}
			return printAllowlist(cmd.OutOrStdout(), id, list, asJSON)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&orgID, "org", "", "organization id (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"org_id", "ip_allowlist": [CIDR, ...]}`)
	_ = cmd.MarkFlagRequired("org")
	return cmd
}

func adminIPAllowlistSetCmd() *cobra.Command {
	var (
		f      dbFlags
		orgID  string
		cidrs  []string
		by     string
		why    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "set --org ORG_ID --cidr CIDR [--cidr CIDR ...] [--why TEXT] [--by NAME]",
		Short: "Replace an organization's IP allowlist: its API keys then work only from these networks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := parseOrgFlag(orgID)
			if err != nil {
				return err
			}
			// Checked before the database is opened: a typo costs nothing.
			list, err := offramp.ParseIPAllowlist(cidrs)
			var oe *offramp.Error
			if errors.As(err, &oe) && len(oe.Fields["cidr"]) > 0 {
				return fmt.Errorf("--cidr: %s", strings.Join(oe.Fields["cidr"], " "))
			}
			if err != nil {
				return err
			}
			if len(list) == 0 {
				return errors.New("give at least one --cidr; to lift the restriction use: offramp admin ip-allowlist clear")
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
			list, err = svc.SetIPAllowlist(ctx, id, list, actor, why)
			if err != nil {
				return cliError(err)
			}
			return printAllowlist(cmd.OutOrStdout(), id, list, asJSON)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&orgID, "org", "", "organization id (required)")
	cmd.Flags().StringSliceVar(&cidrs, "cidr", nil, "a network (203.0.113.0/24, 2001:db8::/32) or single address allowed; repeat it or separate with commas (required)")
	cmd.Flags().StringVar(&why, "why", "", "why, for the audit log")
	cmd.Flags().StringVar(&by, "by", "", "who makes the change, for the audit log (default: the OS user)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the stored list as show --json does")
	_ = cmd.MarkFlagRequired("org")
	_ = cmd.MarkFlagRequired("cidr")
	return cmd
}

func adminIPAllowlistClearCmd() *cobra.Command {
	var (
		f     dbFlags
		orgID string
		by    string
		why   string
	)
	cmd := &cobra.Command{
		Use:   "clear --org ORG_ID [--why TEXT] [--by NAME]",
		Short: "Remove an organization's IP allowlist: its API keys work from any address again",
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
			if _, err := svc.SetIPAllowlist(ctx, id, nil, actor, why); err != nil {
				return cliError(err)
			}
			return printAllowlist(cmd.OutOrStdout(), id, nil, false)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&orgID, "org", "", "organization id (required)")
	cmd.Flags().StringVar(&why, "why", "", "why, for the audit log")
	cmd.Flags().StringVar(&by, "by", "", "who makes the change, for the audit log (default: the OS user)")
	_ = cmd.MarkFlagRequired("org")
	return cmd
}
