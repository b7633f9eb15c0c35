package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

var apiKeyTests = []struct {
	name string
	fn   func(t *testing.T, s offramp.Store)
}{
	{"APIKeys", testAPIKeys},
	{"APIKeyConflicts", testAPIKeyConflicts},
	{"RevokeAPIKey", testRevokeAPIKey},
	{"ConcurrentRevokeAPIKey", testConcurrentRevokeAPIKey},
	{"TouchAPIKey", testTouchAPIKey},
}

func makeKey(org offramp.Org, label string, at time.Time) offramp.APIKey {
	return offramp.APIKey{
		ID: uuid.New(), OrgID: org.ID, Key: "key_" + uuid.NewString(), Secret: "sk_" + uuid.NewString(),
		Label: label, CreatedBy: "ops@exchange.example", CreatedAt: at,
	}
}

func newKey(t *testing.T, s offramp.Store, org offramp.Org, label string, at time.Time) offramp.APIKey {
	t.Helper()
	k := makeKey(org, label, at)
	update(t, s, func(tx offramp.Tx) error { return tx.CreateAPIKey(t.Context(), k) })
	return k
}

func listKeys(t *testing.T, s offramp.Store, orgID uuid.UUID) []offramp.APIKey {
	t.Helper()
	var out []offramp.APIKey
	view(t, s, func(tx offramp.ReadTx) error {
		var err error
		out, err = tx.APIKeys(t.Context(), orgID)
		return err
	})
	return out
}

func orgByKey(t *testing.T, s offramp.Store, key string) (offramp.Org, error) {
	t.Helper()
	var o offramp.Org
	err := s.View(t.Context(), func(tx offramp.ReadTx) error {
		var err error
		o, err = tx.OrgByAPIKey(t.Context(), key)
		return err
	})
	return o, err
}

func orgByID(t *testing.T, s offramp.Store, id uuid.UUID) offramp.Org {
	t.Helper()
	var o offramp.Org
	view(t, s, func(tx offramp.ReadTx) error {
		var err error
		o, err = tx.Org(t.Context(), id)
		return err
	})
	return o
}

// withKey is org as OrgByAPIKey finds it by k.
func withKey(org offramp.Org, k offramp.APIKey) offramp.Org {
	org.KeyID, org.APIKey, org.APISecret = k.ID, k.Key, k.Secret
	return org
}

// testAPIKeys: CreateOrg creates the first key ("primary"); more keys are
// added; APIKeys lists them oldest first without secrets; OrgByAPIKey
// finds the organization by any live key, with that key; Org reads the
// oldest live key, which signs webhooks.
func testAPIKeys(t *testing.T, s offramp.Store) {
	org, other := newOrg(t, s), newOrg(t, s)
	// Created before the org's first key in time: listed first, and it
	// becomes the signing key.
	older := newKey(t, s, org, "backdated", t0.Add(-time.Hour))
	newer := newKey(t, s, org, "rotation 2026-12", t0.Add(time.Hour))
	// Equal times list by id.
	tie1, tie2 := makeKey(org, "tie", t0.Add(2*time.Hour)), makeKey(org, "tie", t0.Add(2*time.Hour))
	if tie2.ID.String() < tie1.ID.String() {
		tie1, tie2 = tie2, tie1
	}
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.CreateAPIKey(t.Context(), tie2); err != nil {
			return err
		}
		return tx.CreateAPIKey(t.Context(), tie1)
	})

	first := offramp.APIKey{ID: org.KeyID, OrgID: org.ID, Key: org.APIKey, Label: "primary", CreatedAt: org.CreatedAt}
	want := []offramp.APIKey{older, first, newer, tie1, tie2}
	for i := range want {
		want[i].Secret = "" // never listed
	}
	wantEqual(t, "APIKeys", listKeys(t, s, org.ID), want)
	wantEqual(t, "APIKeys of the other organization", len(listKeys(t, s, other.ID)), 1)
	wantEqual(t, "APIKeys of an unknown organization", len(listKeys(t, s, uuid.New())), 0)

	for _, k := range []offramp.APIKey{older, newer, tie1} {
		got, err := orgByKey(t, s, k.Key)
		if err != nil {
			t.Fatalf("OrgByAPIKey(%s): %v", k.Label, err)
		}
		wantEqual(t, "OrgByAPIKey("+k.Label+")", got, withKey(org, k))
	}
	got, err := orgByKey(t, s, org.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "OrgByAPIKey(primary)", got, org)
	wantEqual(t, "Org reads the oldest live key", orgByID(t, s, org.ID), withKey(org, older))
	wantEqual(t, "the other Org", orgByID(t, s, other.ID), other)

	// A nil id is assigned; a zero time is the clock's.
	update(t, s, func(tx offramp.Tx) error {
		return tx.CreateAPIKey(t.Context(), offramp.APIKey{OrgID: other.ID, Key: "key_" + uuid.NewString(), Secret: "s", Label: "l"})
	})
	keys := listKeys(t, s, other.ID)
	if len(keys) != 2 || keys[1].ID == uuid.Nil || keys[1].CreatedAt.IsZero() {
		t.Fatalf("a key created with no id and no time: %+v", keys)
	}
}

// testAPIKeyConflicts: a key is issued once, across organizations and
// revocations; a key needs an existing organization.
func testAPIKeyConflicts(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org, other := newOrg(t, s), newOrg(t, s)
	k := newKey(t, s, org, "second", t0)
	update(t, s, func(tx offramp.Tx) error { return tx.RevokeAPIKey(ctx, org.ID, k.ID, "ops", t0.Add(time.Minute)) })
	for what, key := range map[string]string{"another org's key": org.APIKey, "a revoked key": k.Key} {
		dup := makeKey(other, "dup", t0)
		dup.Key = key
		err := updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateAPIKey(ctx, dup) })
		wantConflict(t, what, err, "api_key", "API key already in use")
	}
	err := updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateAPIKey(ctx, makeKey(offramp.Org{ID: uuid.New()}, "x", t0)) })
	wantIs(t, "a key of an unknown organization", err, offramp.ErrNotFound)
	empty := makeKey(org, "x", t0)
	empty.Key = ""
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateAPIKey(ctx, empty) })
	if offramp.ErrorCode(err) != offramp.CodeInvalid {
		t.Fatalf("a key without key: %v, want invalid", err)
	}
}

// testRevokeAPIKey: a revoked key no longer finds its organization but is
// still listed, with who revoked it and when; the signing key moves to the
// next live one; revoking what is not a live key of the organization is
// ErrNotFound; the last live key is refused.
func testRevokeAPIKey(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org, other := newOrg(t, s), newOrg(t, s)
	second := newKey(t, s, org, "second", t0.Add(time.Hour))
	third := newKey(t, s, org, "third", t0.Add(2*time.Hour))
	revoke := func(orgID, keyID uuid.UUID, by string, at time.Time) error {
		return updateErr(t, s, func(tx offramp.Tx) error { return tx.RevokeAPIKey(ctx, orgID, keyID, by, at) })
	}

	at := t0.Add(3 * time.Hour)
	if err := revoke(org.ID, org.KeyID, "ops@exchange.example", at); err != nil {
		t.Fatal(err)
	}
	_, err := orgByKey(t, s, org.APIKey)
	wantIs(t, "OrgByAPIKey(revoked)", err, offramp.ErrNotFound)
	if got, err := orgByKey(t, s, second.Key); err != nil || got.KeyID != second.ID {
		t.Fatalf("OrgByAPIKey(live) after a revocation: %+v, %v", got, err)
	}
	wantEqual(t, "Org reads the next live key", orgByID(t, s, org.ID), withKey(org, second))
	keys := listKeys(t, s, org.ID)
	if len(keys) != 3 || keys[0].ID != org.KeyID || keys[0].Live() || !keys[0].RevokedAt.Equal(at) ||
		keys[0].RevokedBy != "ops@exchange.example" || !keys[1].Live() || keys[1].RevokedBy != "" {
		t.Fatalf("APIKeys after a revocation: %+v", keys)
	}

	wantIs(t, "revoking a revoked key", revoke(org.ID, org.KeyID, "ops", at), offramp.ErrNotFound)
	wantIs(t, "revoking an unknown key", revoke(org.ID, uuid.New(), "ops", at), offramp.ErrNotFound)
	wantIs(t, "revoking another org's key", revoke(org.ID, other.KeyID, "ops", at), offramp.ErrNotFound)
	wantIs(t, "revoking through another org", revoke(other.ID, second.ID, "ops", at), offramp.ErrNotFound)
	if err := revoke(org.ID, second.ID, "", at); offramp.ErrorCode(err) != offramp.CodeInvalid {
		t.Fatalf("revoking without a name: %v, want invalid", err)
	}

	if err := revoke(org.ID, second.ID, "ops", time.Time{}); err != nil {
		t.Fatalf("revoking at the clock's time: %v", err)
	}
	err = revoke(org.ID, third.ID, "ops", at)
	if offramp.ErrorCode(err) != offramp.CodeRejected {
		t.Fatalf("revoking the last live key: %v, want rejected", err)
	}
	if got, err := orgByKey(t, s, third.Key); err != nil || got.KeyID != third.ID {
		t.Fatalf("the last live key after the refusal: %+v, %v", got, err)
	}
	err = revoke(other.ID, other.KeyID, "ops", at)
	if offramp.ErrorCode(err) != offramp.CodeRejected {
		t.Fatalf("revoking an organization's only key: %v, want rejected", err)
	}
	// A refused revocation leaves the transaction usable (no statement
	// failed), like ErrNotFound: fn may go on.
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.RevokeAPIKey(ctx, other.ID, other.KeyID, "ops", at); offramp.ErrorCode(err) != offramp.CodeRejected {
			return fmt.Errorf("in a transaction: %v, want rejected", err)
		}
		return tx.SetOrgWebhookURL(ctx, other.ID, "https://after.example/wh")
	})
}

// testConcurrentRevokeAPIKey: two transactions revoking the two live keys
// of one organization at once cannot both succeed (a write skew the
// engine must prevent): one is refused as the last live key, one key
// stays live.
func testConcurrentRevokeAPIKey(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	for round := range 5 {
		org := newOrg(t, s)
		second := newKey(t, s, org, "second", t0.Add(time.Hour))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range []uuid.UUID{org.KeyID, second.ID} {
			wg.Go(func() {
				errs[i] = s.Update(ctx, func(tx offramp.Tx) error {
					return tx.RevokeAPIKey(ctx, org.ID, id, "ops", t0.Add(2*time.Hour))
				})
			})
		}
		wg.Wait()
		ok, refused := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case offramp.ErrorCode(err) == offramp.CodeRejected:
				refused++
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		live := 0
		for _, k := range listKeys(t, s, org.ID) {
			if k.Live() {
				live++
			}
		}
		if ok != 1 || refused != 1 || live != 1 {
			t.Fatalf("round %d: %d revoked, %d refused, %d live keys left; want 1, 1, 1", round, ok, refused, live)
		}
	}
}

// testTouchAPIKey: a use is recorded to offramp.KeyUseResolution: a use
// within it of the recorded one writes nothing, a later one moves it, an
// earlier one never moves it back.
func testTouchAPIKey(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	second := newKey(t, s, org, "second", t0)
	touch := func(id uuid.UUID, at time.Time) error {
		return updateErr(t, s, func(tx offramp.Tx) error { return tx.TouchAPIKey(ctx, id, at) })
	}
	lastUsed := func() time.Time {
		t.Helper()
		for _, k := range listKeys(t, s, org.ID) {
			if k.ID == org.KeyID {
				return k.LastUsedAt
			}
		}
		t.Fatal("the key is gone")
		return time.Time{}
	}
	if !lastUsed().IsZero() {
		t.Fatal("a new key has a last use")
	}
	used := t0.Add(time.Minute)
	for _, c := range []struct {
		at   time.Time
		want time.Time
	}{
		{used, used},
		{used.Add(30 * time.Second), used},
		// Exactly one resolution later: the recorded use is at the bound.
		{used.Add(offramp.KeyUseResolution), used},
		{used.Add(offramp.KeyUseResolution + time.Microsecond), used.Add(offramp.KeyUseResolution + time.Microsecond)},
		// Earlier: never backwards.
		{used, used.Add(offramp.KeyUseResolution + time.Microsecond)},
	} {
		if err := touch(org.KeyID, c.at); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(c.want) {
			t.Fatalf("touched at %v: last use %v, want %v", c.at, got, c.want)
		}
	}
	for _, k := range listKeys(t, s, org.ID) {
		if k.ID == second.ID && !k.LastUsedAt.IsZero() {
			t.Fatal("touching one key moved another")
		}
	}
	wantIs(t, "TouchAPIKey(unknown)", touch(uuid.New(), used), offramp.ErrNotFound)

	// A revoked key is still touched: a request it signed may finish
	// after the revocation.
	update(t, s, func(tx offramp.Tx) error { return tx.RevokeAPIKey(ctx, org.ID, second.ID, "ops", t0.Add(time.Hour)) })
	if err := touch(second.ID, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, k := range listKeys(t, s, org.ID) {
		if k.ID == second.ID && !k.LastUsedAt.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("a revoked key's use: %+v", k)
		}
	}
	if err := touch(org.KeyID, time.Time{}); err != nil {
		t.Fatalf("touch at the clock's time: %v", err)
	}
}
