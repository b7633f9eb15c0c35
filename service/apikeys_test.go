package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/service"
	"github.com/offramp/offramp/sqlstore"
	"github.com/offramp/offramp/vault"
)

// countingStore is a real store that counts the write transactions begun
// through it, to tell a write that was skipped from one the database
// found nothing to do for.
type countingStore struct {
	offramp.Store
	updates atomic.Int64
}

func (c *countingStore) Update(ctx context.Context, fn func(offramp.Tx) error) error {
	c.updates.Add(1)
	return c.Store.Update(ctx, fn)
}

// keysWorld is a SQLite store with no organization, a fake clock and a
// production service over a countingStore.
type keysWorld struct {
	t     *testing.T
	ctx   context.Context
	store *sqlstore.Store
	count *countingStore
	clock *clock.Fake
	svc   *service.Service
	logs  *syncBuffer
}

func newKeysWorld(t *testing.T) *keysWorld {
	t.Helper()
	ctx := context.Background()
	vlt, err := vault.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "offramp.db"), vlt, sqlstore.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w := &keysWorld{t: t, ctx: ctx, store: st, count: &countingStore{Store: st}, clock: clk, logs: &syncBuffer{}}
	w.svc = w.service()
	return w
}

// service is another service over the same store: another server process.
func (w *keysWorld) service() *service.Service {
	return service.New(service.Config{Store: w.count, Clock: w.clock, Env: offramp.EnvProduction,
		Log: slog.New(slog.NewJSONHandler(w.logs, nil))})
}

func (w *keysWorld) org(name string) offramp.Org {
	w.t.Helper()
	o, err := w.svc.CreateOrg(w.ctx, name, offramp.EnvProduction, "asha@ops.example")
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

func (w *keysWorld) audit(orgID uuid.UUID) []offramp.AuditEntry {
	w.t.Helper()
	var out []offramp.AuditEntry
	err := w.store.View(w.ctx, func(tx offramp.ReadTx) error {
		var err error
		out, err = tx.AuditEntries(w.ctx, offramp.ObjectOrg, orgID)
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *keysWorld) keys(orgID uuid.UUID) []offramp.APIKey {
	w.t.Helper()
	keys, err := w.svc.APIKeys(w.ctx, orgID)
	if err != nil {
		w.t.Fatal(err)
	}
	return keys
}

func wantCode(t *testing.T, what string, err error, code offramp.Code) {
	t.Helper()
	if got := offramp.ErrorCode(err); got != code {
		t.Fatalf("%s: %v (%s), want %s", what, err, got, code)
	}
}

// noSecrets fails if an audit entry quotes any of the secrets.
func noSecrets(t *testing.T, entries []offramp.AuditEntry, secrets ...string) {
	t.Helper()
	for _, a := range entries {
		text := fmt.Sprintf("%+v", a)
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Fatalf("audit entry %s quotes a secret: %s", a.Action, text)
			}
		}
	}
}

// TestCreateOrgAudited: an organization comes with one live key labelled
// "primary", and its creation is in the audit log with who created it and
// the key, never the secret; the default organization is created by
// "system".
func TestCreateOrgAudited(t *testing.T) {
	w := newKeysWorld(t)
	def, created, err := w.svc.EnsureDefaultOrg(w.ctx)
	if err != nil || !created {
		t.Fatalf("EnsureDefaultOrg: %v, %v", created, err)
	}
	o := w.org("  Acme Exchange ")
	if o.Name != "Acme Exchange" || o.KeyID == uuid.Nil || o.APIKey == "" || len(o.APISecret) != 64 {
		t.Fatalf("CreateOrg returned %+v", o)
	}
	keys := w.keys(o.ID)
	if len(keys) != 1 || keys[0].ID != o.KeyID || keys[0].Key != o.APIKey || keys[0].Label != "primary" || !keys[0].Live() || keys[0].Secret != "" {
		t.Fatalf("keys of a new organization: %+v", keys)
	}
	for _, c := range []struct {
		org   offramp.Org
		actor string
	}{{def, "system"}, {o, "asha@ops.example"}} {
		got := w.audit(c.org.ID)
		if len(got) != 1 {
			t.Fatalf("audit of %s: %+v", c.org.Name, got)
		}
		a := got[0]
		if a.Action != service.ActionOrgCreated || a.Actor != c.actor || a.OrgID != c.org.ID || a.Reason == "" ||
			a.Details["key_id"] != c.org.KeyID.String() || a.Details["api_key"] != c.org.APIKey || a.Details["name"] != c.org.Name {
			t.Fatalf("audit of %s: %+v", c.org.Name, a)
		}
		noSecrets(t, got, c.org.APISecret)
	}
	_, err = w.svc.CreateOrg(w.ctx, "Nobody's", offramp.EnvProduction, " ")
	wantCode(t, "CreateOrg without by", err, offramp.CodeInvalid)
	_, err = w.svc.CreateOrg(w.ctx, "", offramp.EnvProduction, "ops")
	wantCode(t, "CreateOrg without name", err, offramp.CodeInvalid)
}

// TestAPIKeyRotation: a second key authenticates beside the first; the
// first, revoked, no longer does; the last live key cannot be revoked;
// every change is audited in the transaction that made it.
func TestAPIKeyRotation(t *testing.T) {
	w := newKeysWorld(t)
	o, other := w.org("Acme Exchange"), w.org("Other Exchange")

	// Keys list oldest first: each is created a second after the last.
	w.clock.Advance(time.Second)
	k, err := w.svc.CreateAPIKey(w.ctx, o.ID, "  rotation 2026-12\t", "ravi@ops.example")
	if err != nil {
		t.Fatal(err)
	}
	if k.Label != "rotation 2026-12" || k.OrgID != o.ID || k.CreatedBy != "ravi@ops.example" || !k.CreatedAt.Equal(w.clock.Now()) ||
		len(k.Secret) != 64 || uuid.Validate(k.Key) != nil || k.Key == o.APIKey || k.Secret == o.APISecret {
		t.Fatalf("CreateAPIKey returned %+v", k)
	}
	w.clock.Advance(time.Second)
	def, err := w.svc.CreateAPIKey(w.ctx, o.ID, "", "ravi@ops.example")
	if err != nil || def.Label != "key 2026-11-24" {
		t.Fatalf("a key without label: %+v, %v", def, err)
	}
	for _, c := range []struct {
		what, label, by string
		org             uuid.UUID
		code            offramp.Code
	}{
		{"a label of 101 characters", strings.Repeat("é", 101), "ops", o.ID, offramp.CodeInvalid},
		{"a label of two lines", "one\ntwo", "ops", o.ID, offramp.CodeInvalid},
		{"no one", "x", "", o.ID, offramp.CodeInvalid},
		{"an unknown organization", "x", "ops", uuid.New(), offramp.CodeNotFound},
	} {
		_, err := w.svc.CreateAPIKey(w.ctx, c.org, c.label, c.by)
		wantCode(t, "CreateAPIKey with "+c.what, err, c.code)
	}
	w.clock.Advance(time.Second)
	if _, err := w.svc.CreateAPIKey(w.ctx, o.ID, strings.Repeat("é", 100), "ops"); err != nil {
		t.Fatalf("a label of 100 characters: %v", err)
	}

	for _, key := range []string{o.APIKey, k.Key} {
		got, err := w.svc.Authenticate(w.ctx, key)
		if err != nil || got.ID != o.ID {
			t.Fatalf("Authenticate(%s) before the revocation: %+v, %v", key, got, err)
		}
	}

	wantCode(t, "revoking without why", w.svc.RevokeAPIKey(w.ctx, o.ID, o.KeyID, "ravi@ops.example", " "), offramp.CodeInvalid)
	wantCode(t, "revoking without by", w.svc.RevokeAPIKey(w.ctx, o.ID, o.KeyID, "", "rotated"), offramp.CodeInvalid)
	wantCode(t, "revoking an unknown key", w.svc.RevokeAPIKey(w.ctx, o.ID, uuid.New(), "ops", "x"), offramp.CodeNotFound)
	wantCode(t, "revoking another org's key", w.svc.RevokeAPIKey(w.ctx, o.ID, other.KeyID, "ops", "x"), offramp.CodeNotFound)
	wantCode(t, "revoking in an unknown org", w.svc.RevokeAPIKey(w.ctx, uuid.New(), o.KeyID, "ops", "x"), offramp.CodeNotFound)

	w.clock.Advance(time.Hour)
	if err := w.svc.RevokeAPIKey(w.ctx, o.ID, o.KeyID, "ravi@ops.example", "rotated to the 2026-12 key"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Authenticate(w.ctx, o.APIKey); !errors.Is(err, offramp.ErrNotFound) {
		t.Fatalf("Authenticate(revoked key): %v, want ErrNotFound", err)
	}
	if got, err := w.svc.Authenticate(w.ctx, k.Key); err != nil || got.KeyID != k.ID || got.APISecret != k.Secret {
		t.Fatalf("Authenticate(new key) after the revocation: %+v, %v", got, err)
	}
	wantCode(t, "revoking a revoked key", w.svc.RevokeAPIKey(w.ctx, o.ID, o.KeyID, "ops", "again"), offramp.CodeRejected)

	keys := w.keys(o.ID)
	if len(keys) != 4 || keys[0].Live() || keys[0].RevokedBy != "ravi@ops.example" || !keys[0].RevokedAt.Equal(w.clock.Now()) {
		t.Fatalf("keys after the revocation: %+v", keys)
	}
	for _, id := range []uuid.UUID{def.ID, keys[3].ID} {
		if err := w.svc.RevokeAPIKey(w.ctx, o.ID, id, "ops", "unused"); err != nil {
			t.Fatal(err)
		}
	}
	err = w.svc.RevokeAPIKey(w.ctx, o.ID, k.ID, "ops", "everything")
	wantCode(t, "revoking the last live key", err, offramp.CodeRejected)
	if !strings.Contains(err.Error(), "last live API key") {
		t.Fatalf("the refusal does not say why: %v", err)
	}

	got := w.audit(o.ID)
	var actions []string
	for _, a := range got {
		actions = append(actions, a.Action)
	}
	want := []string{service.ActionOrgCreated, service.ActionKeyCreated, service.ActionKeyCreated, service.ActionKeyCreated,
		service.ActionKeyRevoked, service.ActionKeyRevoked, service.ActionKeyRevoked}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Fatalf("audit actions %v, want %v", actions, want)
	}
	if a := got[1]; a.Actor != "ravi@ops.example" || a.Details["key_id"] != k.ID.String() || a.Details["api_key"] != k.Key ||
		a.Details["label"] != k.Label || a.ObjectType != offramp.ObjectOrg || a.ObjectID != o.ID {
		t.Fatalf("audit of the key's creation: %+v", a)
	}
	if a := got[4]; a.Actor != "ravi@ops.example" || a.Reason != "rotated to the 2026-12 key" || a.Details["key_id"] != o.KeyID.String() ||
		a.Details["api_key"] != o.APIKey || a.Details["label"] != "primary" {
		t.Fatalf("audit of the revocation: %+v", a)
	}
	noSecrets(t, got, o.APISecret, k.Secret, def.Secret)
}

// TestKeyUsed: a key's use is written back at most once per
// offramp.KeyUseResolution per process, concurrent requests included; a
// failure to write is logged, not returned.
func TestKeyUsed(t *testing.T) {
	w := newKeysWorld(t)
	o := w.org("Acme Exchange")
	found, err := w.svc.Authenticate(w.ctx, o.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() time.Time {
		t.Helper()
		return w.keys(o.ID)[0].LastUsedAt
	}
	writes := func(fn func()) int64 {
		t.Helper()
		before := w.count.updates.Load()
		fn()
		return w.count.updates.Load() - before
	}

	first := w.clock.Now()
	// Twenty requests at once: one write.
	if n := writes(func() {
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() { w.svc.KeyUsed(w.ctx, found) })
		}
		wg.Wait()
	}); n != 1 {
		t.Fatalf("20 concurrent uses wrote %d times, want once", n)
	}
	if !lastUsed().Equal(first) {
		t.Fatalf("last use %v, want %v", lastUsed(), first)
	}
	for _, c := range []struct {
		advance time.Duration
		writes  int64
		last    time.Time
	}{
		{30 * time.Second, 0, first},
		{30 * time.Second, 0, first}, // exactly one resolution after the write
		{time.Microsecond, 1, first.Add(offramp.KeyUseResolution + time.Microsecond)},
		{time.Second, 0, first.Add(offramp.KeyUseResolution + time.Microsecond)},
	} {
		w.clock.Advance(c.advance)
		if n := writes(func() { w.svc.KeyUsed(w.ctx, found) }); n != c.writes {
			t.Fatalf("at %v: %d writes, want %d", w.clock.Now(), n, c.writes)
		}
		if got := lastUsed(); !got.Equal(c.last) {
			t.Fatalf("at %v: last use %v, want %v", w.clock.Now(), got, c.last)
		}
	}

	// Another process has its own memory: it tries once, and the store
	// keeps the use already recorded within the resolution.
	other := w.service()
	if n := writes(func() { other.KeyUsed(w.ctx, found) }); n != 1 {
		t.Fatalf("another process wrote %d times, want once", n)
	}
	if n := writes(func() { other.KeyUsed(w.ctx, found) }); n != 0 {
		t.Fatalf("another process wrote again %d times", n)
	}
	if got := lastUsed(); !got.Equal(first.Add(offramp.KeyUseResolution + time.Microsecond)) {
		t.Fatalf("another process moved the last use to %v", got)
	}

	// An Org without a key (read by id of no organization) is no use.
	if n := writes(func() { w.svc.KeyUsed(w.ctx, offramp.Org{ID: o.ID}) }); n != 0 {
		t.Fatalf("a use without a key wrote %d times", n)
	}

	// The database gone: logged, the caller goes on.
	w.clock.Advance(time.Hour)
	w.store.Close()
	w.svc.KeyUsed(w.ctx, found)
	if !strings.Contains(w.logs.String(), "could not record the use of an API key") || !strings.Contains(w.logs.String(), o.KeyID.String()) {
		t.Fatalf("a failed write was not logged:\n%s", w.logs.String())
	}
}

// TestOrgSettingsAudited: the JavaScript-signature switch and the webhook
// URL are changed with an audit entry naming who, the value before and
// the value after.
func TestOrgSettingsAudited(t *testing.T) {
	w := newKeysWorld(t)
	o := w.org("Acme Exchange")
	if err := w.svc.SetJSReplacer(w.ctx, o.ID, true, "ops@exchange.example", ""); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.SetJSReplacer(w.ctx, o.ID, false, "ops@exchange.example", "their SDK is fixed"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "SetJSReplacer without by", w.svc.SetJSReplacer(w.ctx, o.ID, true, "", "x"), offramp.CodeInvalid)
	wantCode(t, "SetJSReplacer of an unknown org", w.svc.SetJSReplacer(w.ctx, uuid.New(), true, "ops", "x"), offramp.CodeNotFound)

	// Production refuses private webhook targets, so a public name.
	stored, err := w.svc.SetWebhookURL(w.ctx, o.ID, "hooks.exchange.example/offramp", "api:"+o.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.SetWebhookURL(w.ctx, o.ID, "https://hooks.exchange.example/x", "")
	wantCode(t, "SetWebhookURL without by", err, offramp.CodeInvalid)
	_, err = w.svc.SetWebhookURL(w.ctx, uuid.New(), "https://hooks.exchange.example/x", "api:k")
	wantCode(t, "SetWebhookURL of an unknown org", err, offramp.CodeNotFound)

	got := w.audit(o.ID)
	if len(got) != 4 {
		t.Fatalf("audit: %+v", got)
	}
	on, off, hook := got[1], got[2], got[3]
	if on.Action != service.ActionJSSignaturesSet || on.Actor != "ops@exchange.example" || on.Reason == "" ||
		on.Details["allow"] != "true" || on.Details["was"] != "false" {
		t.Fatalf("audit of allowing: %+v", on)
	}
	if off.Reason != "their SDK is fixed" || off.Details["allow"] != "false" || off.Details["was"] != "true" {
		t.Fatalf("audit of refusing: %+v", off)
	}
	if hook.Action != service.ActionWebhookURLSet || hook.Actor != "api:"+o.APIKey || hook.Details["url"] != stored || hook.Details["was"] != "" {
		t.Fatalf("audit of the webhook URL: %+v", hook)
	}
	var allowed bool
	err = w.store.View(w.ctx, func(tx offramp.ReadTx) error {
		got, err := tx.Org(w.ctx, o.ID)
		allowed = got.AllowJSReplacerSignatures
		return err
	})
	if err != nil || allowed {
		t.Fatalf("the switch after allowing and refusing: %v, %v", allowed, err)
	}
}
