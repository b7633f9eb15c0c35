package sqlstore

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/signature"
	"github.com/offramp/offramp/sqlstore/pgtest"
)

// insertOrg00007 writes org as migrations 00001 to 00007 keep it: its key
// and sealed secret in orgs (CreateOrg writes them into 00008's api_keys).
func insertOrg00007(t *testing.T, s *Store, org offramp.Org) {
	t.Helper()
	sealed, err := s.v.Seal(org.APISecret, aad("orgs", "api_secret", org.ID))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.wdb.ExecContext(t.Context(), s.d.rebind(`INSERT INTO orgs (id, name, env, api_key, api_secret, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
		org.ID, org.Name, string(org.Env), org.APIKey, sealed, s.d.timeArg(normTime(org.CreatedAt)))
	if err != nil {
		t.Fatal(err)
	}
}

// orgColumns lists the columns of orgs.
func orgColumns(t *testing.T, s *Store) []string {
	t.Helper()
	if s.concurrent {
		return queryStrings(t, s.wdb, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = 'orgs' ORDER BY ordinal_position`)
	}
	return queryStrings(t, s.wdb, `SELECT name FROM pragma_table_info('orgs') ORDER BY cid`)
}

// testMigrate00008 runs migration 00008 over organizations written at
// 00007: each key moves to api_keys (id = the organization's id, label
// "primary", created by "migration") with its sealed secret, which still
// opens and verifies a request signed with it; orgs loses both columns.
// Down restores them while every original key is live, and refuses, naming
// migration_00008_original_keys_live, once one is revoked.
func testMigrate00008(t *testing.T, s *Store) {
	ctx := t.Context()
	p := provider(t, s)
	if _, err := p.UpTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	orgs := []offramp.Org{
		{ID: uuid.New(), Name: "Old Exchange", Env: offramp.EnvSandbox, APIKey: "key_old_" + uuid.NewString()[:8], APISecret: "sk_old_" + uuid.NewString(), CreatedAt: at},
		{ID: uuid.New(), Name: "Old Production", Env: offramp.EnvProduction, APIKey: "key_prod_" + uuid.NewString()[:8], APISecret: "sk_prod_" + uuid.NewString(), CreatedAt: at.Add(time.Hour)},
	}
	for _, o := range orgs {
		insertOrg00007(t, s, o)
	}
	// A row referring to an organization, across the change of orgs.
	c, _ := seedPayeeOf(t, s, orgs[0])

	if _, err := p.UpTo(ctx, 8); err != nil {
		t.Fatalf("00008 over organizations: %v", err)
	}
	for _, col := range orgColumns(t, s) {
		if col == "api_key" || col == "api_secret" {
			t.Fatalf("orgs still has %s after 00008: %v", col, orgColumns(t, s))
		}
	}
	authenticates := func(when string, o offramp.Org) {
		t.Helper()
		// Today's OrgByAPIKey reads orgs as the latest migration leaves
		// it (00014 added ip_allowlist): read there, then come back.
		at := dbVersion(t, p)
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("%s: up to the latest migration: %v", when, err)
		}
		defer func() {
			if _, err := p.DownTo(ctx, at); err != nil {
				t.Fatalf("%s: back down to %d: %v", when, at, err)
			}
		}()
		var got offramp.Org
		err := s.View(ctx, func(tx offramp.ReadTx) error {
			var err error
			got, err = tx.OrgByAPIKey(ctx, o.APIKey)
			return err
		})
		if err != nil {
			t.Fatalf("%s: OrgByAPIKey(%s): %v", when, o.Name, err)
		}
		want := o
		want.KeyID = o.ID // the key moved with its organization's id
		// DeepEqual: Org holds a slice (IPAllowlist).
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: OrgByAPIKey(%s) = %+v, want %+v", when, o.Name, got, want)
		}
		// What the API does with it: a request the exchange signs with its
		// old secret verifies against the stored one.
		ts := "1741942800"
		body := []byte(`{"customer_id":"` + c.ID.String() + `"}`)
		if _, err := signature.Verify(o.APIKey, got.APISecret, ts, body, signature.Sign(o.APIKey, o.APISecret, ts, body), false); err != nil {
			t.Fatalf("%s: a request signed with %s's old secret: %v", when, o.Name, err)
		}
	}
	for _, o := range orgs {
		authenticates("after 00008", o)
		var keys []offramp.APIKey
		err := s.View(ctx, func(tx offramp.ReadTx) error {
			var err error
			keys, err = tx.APIKeys(ctx, o.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []offramp.APIKey{{ID: o.ID, OrgID: o.ID, Key: o.APIKey, Label: "primary", CreatedBy: "migration", CreatedAt: o.CreatedAt}}
		if !reflect.DeepEqual(keys, want) {
			t.Fatalf("keys of %s after 00008: %+v, want %+v", o.Name, keys, want)
		}
	}
	// The moved secrets open under their new binding (VerifyKey's check,
	// on the one table it concerns: later migrations' sealed tables do
	// not exist yet at 00008).
	if err := s.View(ctx, func(otx offramp.ReadTx) error {
		x := otx.(*tx)
		for _, tb := range sealedTables {
			if tb.name != "api_keys" {
				continue
			}
			rows, err := x.readBatch(ctx, "verify api_keys", tb, true, uuid.Nil, 100)
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				return errors.New("no api_keys rows")
			}
			for _, r := range rows {
				if _, err := openWith(x.s.v, tb, tb.sealed[0], r.id, r.sealed[0]); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("api_keys secrets after 00008: %v", err)
	}
	if !s.concurrent {
		if fk := pragmaInt(t, s, "foreign_keys"); fk != 1 {
			t.Fatalf("PRAGMA foreign_keys = %d after 00008", fk)
		}
		wantNoForeignKeyViolations(t, s)
	}

	// A second key, then down to 00007: the original keys go back into
	// orgs, still opening with their old binding, and the added key is
	// gone with api_keys.
	added := offramp.APIKey{ID: uuid.New(), OrgID: orgs[0].ID, Key: "key_new_" + uuid.NewString()[:8], Secret: "sk_new", Label: "rotation", CreatedBy: "ops", CreatedAt: at.Add(2 * time.Hour)}
	if err := s.Update(ctx, func(tx offramp.Tx) error { return tx.CreateAPIKey(ctx, added) }); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 7); err != nil {
		t.Fatalf("down to 00007: %v", err)
	}
	for _, o := range orgs {
		var key, sealed string
		if err := s.wdb.QueryRowContext(ctx, s.d.rebind(`SELECT api_key, api_secret FROM orgs WHERE id = ?`), o.ID).Scan(&key, &sealed); err != nil {
			t.Fatal(err)
		}
		secret, err := s.v.Open(sealed, aad("orgs", "api_secret", o.ID))
		if err != nil || key != o.APIKey || secret != o.APISecret {
			t.Fatalf("%s at 00007 again: key %q, secret opens %v", o.Name, key, err)
		}
	}
	if _, err := p.UpTo(ctx, 8); err != nil {
		t.Fatalf("up again: %v", err)
	}
	for _, o := range orgs {
		authenticates("after down and up", o)
	}

	// The original key of one organization revoked: Down is refused and
	// changes nothing.
	added.ID = uuid.New()
	if err := s.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.CreateAPIKey(ctx, added); err != nil {
			return err
		}
		return tx.RevokeAPIKey(ctx, orgs[0].ID, orgs[0].ID, "ops", at.Add(3*time.Hour))
	}); err != nil {
		t.Fatal(err)
	}
	_, err := p.DownTo(ctx, 7)
	if err == nil || !strings.Contains(err.Error(), "migration_00008_original_keys_live") {
		t.Fatalf("down with a revoked original key: %v, want migration_00008_original_keys_live to refuse it", err)
	}
	if v := dbVersion(t, p); v != 8 {
		t.Fatalf("version after the refused down: %d", v)
	}
	authenticates("after the refused down", orgs[1])
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx offramp.ReadTx) error {
		got, err := tx.OrgByAPIKey(ctx, added.Key)
		if err == nil && (got.KeyID != added.ID || got.APISecret != added.Secret) {
			t.Errorf("the added key after the refused down: %+v", got)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrate00008SQLite(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "old.db"), testVault(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	testMigrate00008(t, s)
}

func TestMigrate00008Postgres(t *testing.T) {
	testMigrate00008(t, openPG(t, pgtest.URL(t)))
}
