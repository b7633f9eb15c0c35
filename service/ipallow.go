package service

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// ActionIPAllowlistSet is the audit action of a change to an organization's
// IP allowlist, clearing it included (details: "allowlist", the new list,
// and "was", the old one, each as offramp.FormatIPAllowlist writes it).
const ActionIPAllowlistSet = "org.ip_allowlist_set"

// SetIPAllowlist replaces orgID's IP allowlist; nil or empty clears it (any
// address may use the organization's keys). The list is checked and
// canonicalized (offramp.CanonicalIPAllowlist). It applies from the next
// request: every request reads the organization afresh. by is required;
// why may be empty (a default reason is recorded). Audited as
// ActionIPAllowlistSet, with the list before and after, in the same
// transaction. It returns the list as stored.
func (s *Service) SetIPAllowlist(ctx context.Context, orgID uuid.UUID, allowlist []netip.Prefix, by, why string) ([]netip.Prefix, error) {
	now := s.now()
	by, why = strings.TrimSpace(by), strings.TrimSpace(why)
	var v offramp.Validation
	v.Required("by", by)
	if err := v.Err(); err != nil {
		return nil, err
	}
	allowlist, err := offramp.CanonicalIPAllowlist(allowlist)
	if err != nil {
		return nil, err
	}
	if why == "" {
		why = "IP allowlist cleared"
		switch n := len(allowlist); n {
		case 0:
		case 1:
			why = "IP allowlist set: 1 network"
		default:
			why = fmt.Sprintf("IP allowlist set: %d networks", n)
		}
	}
	err = s.store.Update(ctx, func(tx offramp.Tx) error {
		o, err := tx.Org(ctx, orgID)
		if err != nil {
			return notFound(err, "org_id", MsgOrgNotFound)
		}
		if err := tx.SetOrgIPAllowlist(ctx, orgID, allowlist); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, orgAudit(orgID, by, ActionIPAllowlistSet, why, now, map[string]string{
			"allowlist": offramp.FormatIPAllowlist(allowlist), "was": offramp.FormatIPAllowlist(o.IPAllowlist),
		}))
	})
	if err != nil {
		return nil, err
	}
	return allowlist, nil
}

// IPAllowlist reads orgID's IP allowlist (nil: no restriction).
func (s *Service) IPAllowlist(ctx context.Context, orgID uuid.UUID) ([]netip.Prefix, error) {
	var o offramp.Org
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		o, err = tx.Org(ctx, orgID)
		return notFound(err, "org_id", MsgOrgNotFound)
	})
	return o.IPAllowlist, err
}
