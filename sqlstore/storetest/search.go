package storetest

import (
	"testing"

	"github.com/offramp/offramp"
)

// testSearchPayouts: a payout of any organization is found by its id, bank
// reference, exchange order id and client reference id; a reference of
// nothing finds nothing; ListOrgs lists every organization.
func testSearchPayouts(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	a, b := newOrg(t, s), newOrg(t, s)
	ca, ba := newPayee(t, s, a, 1)
	cb, bb := newPayee(t, s, b, 2)
	pa := newPayout(t, s, ca, ba, 1, nil)
	pb := newPayout(t, s, cb, bb, 2, nil)
	search := func(q string) []offramp.Payout {
		t.Helper()
		var out []offramp.Payout
		view(t, s, func(tx offramp.ReadTx) error {
			var err error
			out, err = tx.SearchPayouts(ctx, q, 10)
			return err
		})
		return out
	}
	for _, c := range []struct {
		q    string
		want offramp.Payout
	}{
		{pa.ID.String(), pa}, {pb.RailReference, pb}, {pa.ExchangeOrderID, pa}, {pb.ClientReferenceID, pb},
	} {
		got := search(c.q)
		if len(got) != 1 || got[0].ID != c.want.ID {
			t.Fatalf("search %q: %v, want payout %s", c.q, payoutIDs(got), c.want.ID)
		}
	}
	if got := search("no-such-reference"); len(got) != 0 {
		t.Fatalf("search of nothing found %v", payoutIDs(got))
	}
	var orgs []offramp.Org
	view(t, s, func(tx offramp.ReadTx) error {
		var err error
		orgs, err = tx.ListOrgs(ctx)
		return err
	})
	found := 0
	for _, o := range orgs {
		if o.ID == a.ID || o.ID == b.ID {
			found++
			if o.APISecret == "" {
				t.Fatal("ListOrgs did not open the API secret")
			}
		}
	}
	if found != 2 {
		t.Fatalf("ListOrgs found %d of the 2 organizations", found)
	}
}
