package storetest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

var ipAllowTests = []struct {
	name string
	fn   func(t *testing.T, s offramp.Store)
}{
	{"IPAllowlist", testIPAllowlist},
}

// testIPAllowlist: an organization starts with no allowlist (nil);
// SetOrgIPAllowlist stores IPv4 and IPv6 networks in the order given,
// which Org and OrgByAPIKey (by every live key) read back with the
// organization; another organization is untouched; replacing the list
// replaces it whole; setting nil or an empty list clears it; an unknown
// organization is ErrNotFound; a list given to CreateOrg is stored too.
func testIPAllowlist(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org, other := newOrg(t, s), newOrg(t, s)
	second := newKey(t, s, org, "second", t0.Add(time.Hour))
	wantEqual(t, "a new organization's allowlist", orgByID(t, s, org.ID).IPAllowlist, []netip.Prefix(nil))

	list := []netip.Prefix{
		netip.MustParsePrefix("198.51.100.7/32"),
		netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff/128"),
		netip.MustParsePrefix("0.0.0.0/0"),
	}
	update(t, s, func(tx offramp.Tx) error { return tx.SetOrgIPAllowlist(ctx, org.ID, list) })
	org.IPAllowlist = list
	wantEqual(t, "Org after SetOrgIPAllowlist", orgByID(t, s, org.ID), org)
	got, err := orgByKey(t, s, org.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "OrgByAPIKey after SetOrgIPAllowlist", got, org)
	got, err = orgByKey(t, s, second.Key)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "OrgByAPIKey(second key) after SetOrgIPAllowlist", got.IPAllowlist, list)
	wantEqual(t, "the other organization", orgByID(t, s, other.ID), other)

	// ListOrgs reads it too.
	view(t, s, func(tx offramp.ReadTx) error {
		orgs, err := tx.ListOrgs(ctx)
		if err != nil {
			return err
		}
		for _, o := range orgs {
			if o.ID == org.ID {
				wantEqual(t, "ListOrgs", o.IPAllowlist, list)
			}
		}
		return nil
	})

	// The whole list is replaced, in a transaction that sees its write.
	one := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.SetOrgIPAllowlist(ctx, org.ID, one); err != nil {
			return err
		}
		o, err := tx.Org(ctx, org.ID)
		if err != nil {
			return err
		}
		wantEqual(t, "the allowlist inside the writing transaction", o.IPAllowlist, one)
		return nil
	})
	wantEqual(t, "replaced allowlist", orgByID(t, s, org.ID).IPAllowlist, one)

	for _, clear := range [][]netip.Prefix{nil, {}} {
		update(t, s, func(tx offramp.Tx) error { return tx.SetOrgIPAllowlist(ctx, org.ID, one) })
		update(t, s, func(tx offramp.Tx) error { return tx.SetOrgIPAllowlist(ctx, org.ID, clear) })
		wantEqual(t, "cleared allowlist", orgByID(t, s, org.ID).IPAllowlist, []netip.Prefix(nil))
	}

	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.SetOrgIPAllowlist(ctx, uuid.New(), one) })
	wantIs(t, "SetOrgIPAllowlist(unknown org)", err, offramp.ErrNotFound)

	created := makeOrg()
	created.IPAllowlist = one
	update(t, s, func(tx offramp.Tx) error { return tx.CreateOrg(ctx, created) })
	wantEqual(t, "an organization created with an allowlist", orgByID(t, s, created.ID), created)
}
