package offramp

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// An organization may restrict its API keys to the networks its servers
// call from (Org.IPAllowlist), as Indian payout providers require of the
// exchanges they serve in production. An empty allowlist restricts nothing.

// MaxIPAllowlist is the most networks an allowlist holds. Exchanges list a
// few egress addresses; the cap keeps the per-request check and the stored
// column (sqlstore's orgs_ip_allowlist_check bounds its length from it)
// small.
const MaxIPAllowlist = 64

// ParseIPAllowlist reads an allowlist as an operator types it: CIDRs
// ("203.0.113.0/24", "2001:db8::/32") or single addresses (a /32 or /128).
// Every problem is reported at once under the field "cidr". The result is
// canonical (see CanonicalIPAllowlist); no entries is an empty allowlist.
func ParseIPAllowlist(entries []string) ([]netip.Prefix, error) {
	var v Validation
	var out []netip.Prefix
	for _, raw := range entries {
		s := strings.TrimSpace(raw)
		if s == "" {
			v.Add("cidr", "An empty entry is not a network.")
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil && !strings.Contains(s, "/") {
			// A single address stands for itself alone.
			a, aerr := netip.ParseAddr(s)
			if aerr == nil && a.Zone() == "" {
				p, err = netip.PrefixFrom(a, a.BitLen()), nil
			}
		}
		if err != nil {
			v.Add("cidr", fmt.Sprintf("%q is not a CIDR such as 203.0.113.0/24 or 2001:db8::/32, nor an IP address.", s))
			continue
		}
		if msg := prefixProblem(p); msg != "" {
			v.Add("cidr", msg)
			continue
		}
		out = append(out, p)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return CanonicalIPAllowlist(out)
}

// CanonicalIPAllowlist checks an allowlist and returns it sorted (IPv4
// first, then by address and prefix length) without duplicates, nil when
// empty. A prefix must be valid, carry no host bits (203.0.113.5/24 is
// refused: it is ambiguous whether the host or the network was meant),
// not be an IPv4-mapped IPv6 prefix (clients are matched by their IPv4
// address: list the IPv4 form), and there may be at most MaxIPAllowlist.
func CanonicalIPAllowlist(prefixes []netip.Prefix) ([]netip.Prefix, error) {
	var v Validation
	for _, p := range prefixes {
		if msg := prefixProblem(p); msg != "" {
			v.Add("cidr", msg)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := slices.Clone(prefixes)
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	out = slices.Compact(out)
	if len(out) > MaxIPAllowlist {
		return nil, FieldError(CodeInvalid, "cidr", fmt.Sprintf("An IP allowlist holds at most %d networks, not %d.", MaxIPAllowlist, len(out)))
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func prefixProblem(p netip.Prefix) string {
	switch {
	case !p.IsValid():
		return "An invalid network was given."
	case p.Addr().Zone() != "":
		return fmt.Sprintf("%s carries an IPv6 zone; list the network without it.", p)
	case p.Addr().Is4In6() && p.Bits() >= 96:
		v4 := netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
		return fmt.Sprintf("%s is an IPv4-mapped IPv6 network; list its IPv4 form (%s).", p, v4)
	case p.Addr().Is4In6():
		return fmt.Sprintf("%s is an IPv4-mapped IPv6 network; list IPv4 networks in their IPv4 form.", p)
	case p.Masked() != p:
		return fmt.Sprintf("%s has host bits set; the network is %s (or list the single address %s/%d).", p, p.Masked(), p.Addr(), p.Addr().BitLen())
	}
	return ""
}

// FormatIPAllowlist writes an allowlist as its CIDRs separated by commas:
// how it is stored, audited and shown ("" when empty).
func FormatIPAllowlist(prefixes []netip.Prefix) string {
	parts := make([]string, len(prefixes))
	for i, p := range prefixes {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

// IPAllowed reports whether a request from addr may use the organization's
// keys: always when its allowlist is empty, else when a listed network
// holds addr. An IPv4 client reached over an IPv6 socket (::ffff:a.b.c.d)
// is matched as the IPv4 address it is; a zone is ignored. An invalid
// address is never allowed by a non-empty list.
func (o Org) IPAllowed(addr netip.Addr) bool {
	if len(o.IPAllowlist) == 0 {
		return true
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range o.IPAllowlist {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
