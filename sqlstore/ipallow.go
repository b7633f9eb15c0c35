package sqlstore

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// An organization's IP allowlist is one text column of orgs (migration
// 00014): its CIDRs separated by commas, '' for none, as
// offramp.FormatIPAllowlist writes them. It is read with the organization
// (orgCols), so checking it costs a request no extra query.

func (t *tx) SetOrgIPAllowlist(ctx context.Context, orgID uuid.UUID, allowlist []netip.Prefix) error {
	return t.updateOrg(ctx, "set org ip allowlist", `UPDATE orgs SET ip_allowlist = ? WHERE id = ?`,
		offramp.FormatIPAllowlist(allowlist), orgID)
}

// parseIPAllowlist reads the stored column. A value that does not parse
// (the CHECK cannot see every mistake) is an error, not an empty list:
// reading it as "no restriction" would open the organization's keys to
// every address.
func parseIPAllowlist(op, s string) ([]netip.Prefix, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]netip.Prefix, 0, len(parts))
	for i, part := range parts {
		p, err := netip.ParsePrefix(part)
		if err != nil {
			// The entry's position, not its text: errors never quote a row.
			return nil, fmt.Errorf("sqlstore: %s: entry %d of the stored IP allowlist is not a CIDR", op, i+1)
		}
		out = append(out, p)
	}
	return out, nil
}
