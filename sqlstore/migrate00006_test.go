package sqlstore

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/sqlstore/pgtest"
)

// testMigrate00006 runs migration 00006 over an audit log written at
// 00005: the old rows are numbered by (created_at, id) and left unchained
// (prev_hash = hash = ”), still open with the vault, and the first entry
// appended after them is chained to ”. Down and up again keep every row.
func testMigrate00006(t *testing.T, s *Store) {
	ctx := t.Context()
	p := provider(t, s)
	if _, err := p.UpTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	// Two rows share a time: the lower id comes first.
	ids := []uuid.UUID{
		uuid.MustParse("00000000-0000-4000-8000-000000000003"), // at+1s
		uuid.MustParse("00000000-0000-4000-8000-000000000002"), // at
		uuid.MustParse("00000000-0000-4000-8000-000000000001"), // at
	}
	times := []time.Time{at.Add(time.Second), at, at}
	for i, id := range ids {
		reason, err := s.v.Seal("old reason", aad("audit_log", "reason", id))
		if err != nil {
			t.Fatal(err)
		}
		details, err := s.v.Seal("{}", aad("audit_log", "details", id))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.wdb.ExecContext(ctx, s.d.rebind(`INSERT INTO audit_log (id, org_id, actor, action, object_type, object_id, reason, details, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), id, uuid.Nil, "ops", "payout.note", "PAYOUT", uuid.New(), reason, details,
			s.d.timeArg(times[i]))
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.UpTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	walk := func() []offramp.AuditEntry {
		t.Helper()
		var out []offramp.AuditEntry
		err := s.View(ctx, func(tx offramp.ReadTx) error {
			out = nil
			return tx.ForEachAudit(ctx, func(a offramp.AuditEntry) error {
				out = append(out, a)
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := walk()
	if len(got) != 3 {
		t.Fatalf("%d entries after 00006, want 3", len(got))
	}
	for i, want := range []uuid.UUID{ids[2], ids[1], ids[0]} {
		a := got[i]
		if a.ID != want || a.Seq != int64(i+1) || a.PrevHash != "" || a.Hash != "" || a.Reason != "old reason" {
			t.Fatalf("legacy entry %d: %+v, want id %s, seq %d, unchained", i, a, want, i+1)
		}
	}

	// Appending is today's code, which needs today's schema (since 00009
	// PostgreSQL writes the entry unchained and links it after commit).
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx offramp.Tx) error {
		return tx.AppendAudit(ctx, offramp.AuditEntry{Actor: "ops", Action: "payout.note", ObjectType: offramp.ObjectPayout,
			ObjectID: uuid.New(), Reason: "first chained"})
	}); err != nil {
		t.Fatal(err)
	}
	got = walk()
	if a := got[3]; len(got) != 4 || a.Seq != 4 || a.PrevHash != "" || a.Hash != offramp.AuditHash("", a) {
		t.Fatalf("first entry after the legacy ones: %+v", got)
	}

	// Down to 00005 and up again: every row survives, numbered again.
	if _, err := p.DownTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if v := dbVersion(t, p); v != 5 {
		t.Fatalf("version after down: %d", v)
	}
	var n int
	if err := s.wdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("audit rows at 00005: %d, %v", n, err)
	}
	if _, err := p.UpTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if got := walk(); len(got) != 4 || got[3].Seq != 4 || got[3].Hash != "" {
		t.Fatalf("after down and up: %+v", got)
	}
}

func TestMigrate00006SQLite(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "old.db"), testVault(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	testMigrate00006(t, s)
}

func TestMigrate00006Postgres(t *testing.T) {
	testMigrate00006(t, openPG(t, pgtest.URL(t)))
}
