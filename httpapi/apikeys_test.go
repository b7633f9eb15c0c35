package httpapi_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// TestAPIKeyRotation: an organization with key A gets key B; requests
// signed with either work; A revoked answers 401 "Invalid API key" while B
// goes on working; each key's last use is recorded (to the minute) once
// the signature verified, so a request with the right key and a wrong
// signature is no use; revoking B, now the last live key, is refused.
func TestAPIKeyRotation(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a := e.client()
	lastUsed := func() map[uuid.UUID]time.Time {
		t.Helper()
		keys, err := e.Svc.APIKeys(ctx, e.Org.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[uuid.UUID]time.Time{}
		for _, k := range keys {
			out[k.ID] = k.LastUsedAt
		}
		return out
	}

	// The key is public: presenting it with a wrong signature is no use.
	forged := e.client()
	forged.secret = "not-the-secret"
	expectErr(t, forged.do("GET", "/cms/api/v1/customer/list", nil), 401, "", "Invalid Signature")
	if used := lastUsed()[e.Org.KeyID]; !used.IsZero() {
		t.Fatalf("a forged request recorded a use of key A at %v", used)
	}

	kb, err := e.Svc.CreateAPIKey(ctx, e.Org.ID, "rotation", "ops@exchange.example")
	if err != nil {
		t.Fatal(err)
	}
	b := e.client()
	b.key, b.secret = kb.Key, kb.Secret

	usedA := e.Clock.Now()
	expectOK(t, a.do("GET", "/cms/api/v1/customer/list", nil), 200)
	e.Clock.Advance(30 * time.Second)
	usedB := e.Clock.Now()
	id := b.newCustomer(nil) // a signed POST
	// Both keys serve the same organization.
	expectOK(t, a.do("GET", "/cms/api/v1/customer/"+id, nil), 200)
	expectOK(t, b.do("GET", "/cms/api/v1/customer/"+id, nil), 200)
	used := lastUsed()
	if !used[e.Org.KeyID].Equal(usedA) || !used[kb.ID].Equal(usedB) {
		t.Fatalf("last uses %v, want A at %v (its second call within a minute of the first) and B at %v", used, usedA, usedB)
	}

	e.Clock.Advance(2 * time.Minute)
	if err := e.Svc.RevokeAPIKey(ctx, e.Org.ID, e.Org.KeyID, "ops@exchange.example", "rotated to B"); err != nil {
		t.Fatal(err)
	}
	expectErr(t, a.do("GET", "/cms/api/v1/customer/list", nil), 401, "X-API-KEY", "Invalid API key")
	expectErr(t, a.do("GET", "/cms/api/v1/customer/"+id, nil), 401, "X-API-KEY", "Invalid API key")
	expectOK(t, b.do("GET", "/cms/api/v1/customer/"+id, nil), 200)
	if used := lastUsed(); !used[e.Org.KeyID].Equal(usedA) || !used[kb.ID].Equal(e.Clock.Now()) {
		t.Fatalf("last uses after the revocation %v: A must stay at %v, B move to %v", used, usedA, e.Clock.Now())
	}

	err = e.Svc.RevokeAPIKey(ctx, e.Org.ID, kb.ID, "ops@exchange.example", "everything")
	if offramp.ErrorCode(err) != offramp.CodeRejected {
		t.Fatalf("revoking the last live key: %v, want rejected", err)
	}
	expectOK(t, b.do("GET", "/cms/api/v1/customer/list", nil), 200)
}
