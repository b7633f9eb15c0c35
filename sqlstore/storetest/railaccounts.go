package storetest

import (
	"testing"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// testRailAccounts: a provider's beneficiary ids are remembered per
// (provider, organization, bank account); the first writer wins; another
// organization's or provider's lookup finds nothing; a bank account that
// does not exist cannot be named.
func testRailAccounts(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	_ = c
	var got offramp.RailAccount
	err := updateErr(t, s, func(tx offramp.Tx) error {
		_, err := tx.RailAccount(ctx, "razorpayx", org.ID, b.ID)
		return err
	})
	wantIs(t, "an account never created", err, offramp.ErrNotFound)

	first := offramp.RailAccount{Provider: "razorpayx", OrgID: org.ID, BankID: b.ID, ContactID: "cont_1", AccountID: "fa_1", CreatedAt: t0}
	update(t, s, func(tx offramp.Tx) error {
		var err error
		got, err = tx.PutRailAccount(ctx, first)
		return err
	})
	wantEqual(t, "first put", got, first)
	update(t, s, func(tx offramp.Tx) error {
		var err error
		got, err = tx.PutRailAccount(ctx, offramp.RailAccount{Provider: "razorpayx", OrgID: org.ID, BankID: b.ID, ContactID: "cont_2", AccountID: "fa_2", CreatedAt: t0})
		return err
	})
	wantEqual(t, "second put keeps the first writer's ids", got, first)
	view(t, s, func(tx offramp.ReadTx) error {
		var err error
		got, err = tx.RailAccount(ctx, "razorpayx", org.ID, b.ID)
		return err
	})
	wantEqual(t, "read back", got, first)

	other := newOrg(t, s)
	for what, lookup := range map[string][2]any{
		"another organization": {"razorpayx", other.ID},
		"another provider":     {"cashfree", org.ID},
	} {
		err := updateErr(t, s, func(tx offramp.Tx) error {
			_, err := tx.RailAccount(ctx, lookup[0].(string), lookup[1].(uuid.UUID), b.ID)
			return err
		})
		wantIs(t, what, err, offramp.ErrNotFound)
	}
	err = updateErr(t, s, func(tx offramp.Tx) error {
		_, err := tx.PutRailAccount(ctx, offramp.RailAccount{Provider: "razorpayx", OrgID: org.ID, BankID: uuid.New(), AccountID: "fa_x", CreatedAt: t0})
		return err
	})
	if err == nil {
		t.Fatal("a rail account for a bank account that does not exist was stored")
	}
	err = updateErr(t, s, func(tx offramp.Tx) error {
		_, err := tx.PutRailAccount(ctx, offramp.RailAccount{Provider: "razorpayx", OrgID: org.ID, BankID: b.ID})
		return err
	})
	if offramp.ErrorCode(err) != offramp.CodeInvalid {
		t.Fatalf("a rail account without the provider's id: %v", err)
	}
}
