package sqlstore

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/operator"
	"github.com/offramp/offramp/sqlstore/pgtest"
)

func auditEntry(actor, reason string) offramp.AuditEntry {
	return offramp.AuditEntry{Actor: actor, Action: "test.chain", ObjectType: offramp.ObjectPayout,
		ObjectID: uuid.New(), Reason: reason, Details: map[string]string{"who": actor}}
}

// appendUnchained commits entries the way an Update does on PostgreSQL,
// but without the chaining after the commit: what a process that stopped
// (or whose chaining failed) between the two leaves behind.
func appendUnchained(t *testing.T, s *Store, entries ...offramp.AuditEntry) {
	t.Helper()
	ctx := t.Context()
	tx := &tx{s: s, lazy: s.wdb}
	for _, a := range entries {
		if err := tx.AppendAudit(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.sqltx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func walkAll(t *testing.T, s *Store) []offramp.AuditEntry {
	t.Helper()
	var out []offramp.AuditEntry
	err := s.View(t.Context(), func(tx offramp.ReadTx) error {
		out = nil
		return tx.ForEachAudit(t.Context(), func(a offramp.AuditEntry) error {
			out = append(out, a)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPostgresAuditLeftUnchained: entries committed but never chained
// (their Update's chaining did not run) are listed (ListAudit newest
// first, ForEachAudit after the chain with Seq 0), reported pending by
// verify without breaking it, and linked in append order (not created_at:
// "late" is appended first) by the next ChainAudit, after which verify
// passes; a later Update's chaining and Migrate pick them up as well.
func TestPostgresAuditLeftUnchained(t *testing.T) {
	ctx := t.Context()
	s := openPGTemp(t)
	if err := s.Update(ctx, func(tx offramp.Tx) error { return tx.AppendAudit(ctx, auditEntry("first", "chained at once")) }); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	late, early := auditEntry("late", "left behind"), auditEntry("early", "left behind")
	late.CreatedAt, early.CreatedAt = at.Add(time.Second), at
	appendUnchained(t, s, late, early)

	got := walkAll(t, s)
	if len(got) != 3 || got[0].Seq != 1 || got[1].Seq != 0 || got[1].Actor != "late" || got[2].Seq != 0 ||
		got[2].Actor != "early" || got[1].Hash != "" || got[1].PrevHash != "" {
		t.Fatalf("walk with two unchained entries: %+v", got)
	}
	var listed []offramp.AuditEntry
	if err := s.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		listed, err = tx.ListAudit(ctx, "", "", 10)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 3 || listed[0].Actor != "early" || listed[1].Actor != "late" || listed[2].Seq != 1 {
		t.Fatalf("ListAudit with two unchained entries: %+v", listed)
	}
	r, err := operator.VerifyAudit(ctx, s)
	if err != nil || r.Broken != nil || r.Entries != 1 || r.Pending != 2 || r.HeadSeq != 1 {
		t.Fatalf("verify before chaining: %+v, %v", r, err)
	}

	n, err := s.ChainAudit(ctx)
	if err != nil || n != 2 {
		t.Fatalf("ChainAudit: %d, %v; want 2 chained", n, err)
	}
	got = walkAll(t, s)
	if len(got) != 3 || got[1].Actor != "late" || got[2].Actor != "early" {
		t.Fatalf("chain order: %+v", got)
	}
	for i, a := range got {
		if a.Seq != int64(i+1) || (i > 0 && a.PrevHash != got[i-1].Hash) || a.Hash != offramp.AuditHash(a.PrevHash, a) {
			t.Fatalf("link %d: %+v", i+1, a)
		}
	}
	r, err = operator.VerifyAudit(ctx, s)
	if err != nil || r.Broken != nil || r.Entries != 3 || r.Pending != 0 || r.HeadSeq != 3 || r.HeadHash != got[2].Hash {
		t.Fatalf("verify after chaining: %+v, %v", r, err)
	}
	if n, err := s.ChainAudit(ctx); err != nil || n != 0 {
		t.Fatalf("ChainAudit with nothing to do: %d, %v", n, err)
	}

	// A leftover is also linked by the next Update that appends, before
	// that Update's own entry (it is older).
	leftover := auditEntry("leftover", "left behind")
	leftover.CreatedAt = at.Add(time.Hour)
	appendUnchained(t, s, leftover)
	next := auditEntry("next", "appended later")
	next.CreatedAt = at.Add(2 * time.Hour)
	if err := s.Update(ctx, func(tx offramp.Tx) error { return tx.AppendAudit(ctx, next) }); err != nil {
		t.Fatal(err)
	}
	got = walkAll(t, s)
	if len(got) != 5 || got[3].Actor != "leftover" || got[3].Seq != 4 || got[4].Actor != "next" || got[4].Seq != 5 {
		t.Fatalf("after the next Update: %+v", got)
	}
	if r, err := operator.VerifyAudit(ctx, s); err != nil || r.Broken != nil || r.Entries != 5 || r.Pending != 0 {
		t.Fatalf("verify after the next Update: %+v, %v", r, err)
	}

	// A process starting (Migrate) links leftovers too.
	appendUnchained(t, s, auditEntry("before restart", "left behind"))
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := walkAll(t, s); len(got) != 6 || got[5].Seq != 6 || got[5].Actor != "before restart" {
		t.Fatalf("after Migrate: %+v", got)
	}
}

// TestSQLiteChainAudit: SQLite chains inside the appending transaction,
// so ChainAudit finds nothing to do.
func TestSQLiteChainAudit(t *testing.T) {
	ctx := t.Context()
	s, _ := openTemp(t)
	if err := s.Update(ctx, func(tx offramp.Tx) error { return tx.AppendAudit(ctx, auditEntry("ops", "r")) }); err != nil {
		t.Fatal(err)
	}
	if got := walkAll(t, s); len(got) != 1 || got[0].Seq != 1 || got[0].Hash == "" {
		t.Fatalf("SQLite entry: %+v", got)
	}
	if n, err := s.ChainAudit(ctx); err != nil || n != 0 {
		t.Fatalf("ChainAudit on SQLite: %d, %v", n, err)
	}
}

// testMigrate00009 runs migration 00009 over a chained log (legacy rows
// included): every row keeps its seq and hashes and verify still passes;
// new entries chain after them. Down works while every row is chained and
// is refused, naming migration_00009_all_chained, while one is not
// (PostgreSQL only: SQLite never leaves one).
func testMigrate00009(t *testing.T, s *Store) {
	ctx := t.Context()
	p := provider(t, s)
	if _, err := p.UpTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	// A legacy row, from before the chain.
	id := uuid.New()
	reason, err := s.v.Seal("old reason", aad("audit_log", "reason", id))
	if err != nil {
		t.Fatal(err)
	}
	details, err := s.v.Seal("{}", aad("audit_log", "details", id))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.wdb.ExecContext(ctx, s.d.rebind(`INSERT INTO audit_log (id, org_id, actor, action, object_type, object_id, reason, details, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), id, uuid.Nil, "ops", "payout.note", "PAYOUT", uuid.New(), reason, details,
		s.d.timeArg(time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC))); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 8); err != nil {
		t.Fatal(err)
	}
	// Chained rows as 00006 to 00008 write them: in the transaction.
	for i := range 3 {
		a := auditEntry("ops", "chained before 00009")
		a.ID, a.CreatedAt = uuid.New(), time.Date(2025, 3, 15, 9, 0, i, 0, time.UTC)
		a.Seq = int64(i + 2)
		if i == 0 {
			a.PrevHash = ""
		} else {
			a.PrevHash = walkAll(t, s)[i].Hash
		}
		a.Details = nil
		a.Hash = offramp.AuditHash(a.PrevHash, a)
		r, err := s.v.Seal(a.Reason, aad("audit_log", "reason", a.ID))
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.v.Seal("{}", aad("audit_log", "details", a.ID))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.wdb.ExecContext(ctx, s.d.rebind(`INSERT INTO audit_log (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			a.ID, a.OrgID, a.Actor, a.Action, string(a.ObjectType), a.ObjectID, r, d, s.d.timeArg(a.CreatedAt),
			a.Seq, a.PrevHash, a.Hash); err != nil {
			t.Fatal(err)
		}
	}
	before := walkAll(t, s)
	if r, err := operator.VerifyAudit(ctx, s); err != nil || r.Broken != nil || r.Entries != 4 || r.Legacy != 1 {
		t.Fatalf("verify at 00008: %+v, %v", r, err)
	}

	if _, err := p.UpTo(ctx, 9); err != nil {
		t.Fatalf("00009 over a chained log: %v", err)
	}
	if after := walkAll(t, s); len(after) != 4 || !equalAudit(after, before) {
		t.Fatalf("00009 changed the log:\n%+v\n%+v", before, after)
	}
	if err := s.Update(ctx, func(tx offramp.Tx) error { return tx.AppendAudit(ctx, auditEntry("ops", "after 00009")) }); err != nil {
		t.Fatal(err)
	}
	if r, err := operator.VerifyAudit(ctx, s); err != nil || r.Broken != nil || r.Entries != 5 || r.Legacy != 1 || r.Pending != 0 {
		t.Fatalf("verify after 00009 and an append: %+v, %v", r, err)
	}
	// The schema refuses a row half chained.
	_, err = s.wdb.ExecContext(ctx, s.d.rebind(`UPDATE audit_log SET hash = NULL WHERE seq = 5`))
	if err == nil || !strings.Contains(err.Error(), "audit_log_chain_fields_check") {
		t.Fatalf("a row with a seq and no hash: %v, want audit_log_chain_fields_check", err)
	}

	if s.concurrent {
		appendUnchained(t, s, auditEntry("ops", "not chained"))
		_, err := p.Down(ctx)
		if err == nil || !strings.Contains(err.Error(), "migration_00009_all_chained") {
			t.Fatalf("down with an unchained row: %v, want migration_00009_all_chained", err)
		}
		if v := dbVersion(t, p); v != 9 {
			t.Fatalf("version after a refused down: %d", v)
		}
		if n, err := s.ChainAudit(ctx); err != nil || n != 1 {
			t.Fatalf("ChainAudit: %d, %v", n, err)
		}
	}
	chained := walkAll(t, s)
	if _, err := p.Down(ctx); err != nil {
		t.Fatalf("down with every row chained: %v", err)
	}
	if v := dbVersion(t, p); v != 8 {
		t.Fatalf("version after down: %d", v)
	}
	if got := walkAll(t, s); !equalAudit(got, chained) {
		t.Fatalf("down changed the log:\n%+v\n%+v", chained, got)
	}
	// At 00008 the columns are NOT NULL again.
	_, err = s.wdb.ExecContext(ctx, s.d.rebind(`INSERT INTO audit_log (id, org_id, actor, action, object_type, object_id, reason, details, created_at, seq, prev_hash, hash)
		VALUES (?, ?, 'ops', 'x', 'PAYOUT', ?, 'r', 'd', ?, NULL, NULL, NULL)`), uuid.New(), uuid.Nil, uuid.New(), s.d.timeArg(time.Now()))
	if err == nil {
		t.Fatal("an unchained row accepted at 00008")
	}
	if _, err := p.UpTo(ctx, 9); err != nil {
		t.Fatal(err)
	}
	if r, err := operator.VerifyAudit(ctx, s); err != nil || r.Broken != nil || r.Entries != len(chained) {
		t.Fatalf("verify after down and up: %+v, %v", r, err)
	}
}

func equalAudit(a, b []offramp.AuditEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equalAuditEntry(a[i], b[i]) {
			return false
		}
	}
	return true
}

func equalAuditEntry(a, b offramp.AuditEntry) bool {
	return a.ID == b.ID && a.Seq == b.Seq && a.PrevHash == b.PrevHash && a.Hash == b.Hash &&
		a.Reason == b.Reason && a.CreatedAt.Equal(b.CreatedAt) && a.Actor == b.Actor
}

func TestMigrate00009SQLite(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "old.db"), testVault(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	testMigrate00009(t, s)
}

func TestMigrate00009Postgres(t *testing.T) {
	testMigrate00009(t, openPG(t, pgtest.URL(t)))
}

// TestPostgresConcurrentAuditNoRetries: concurrent appends on PostgreSQL
// (as storetest's ConcurrentAuditAppends) make one gapless chain without
// any Update running again: an append reads no chain head, so appends have
// nothing to conflict on (before 00009 every concurrent append collided on
// the head, and under load one ran out of attempts).
func TestPostgresConcurrentAuditNoRetries(t *testing.T) {
	ctx := t.Context()
	s := openPGTemp(t)
	const writers, each = 8, 10
	start := make(chan struct{})
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			<-start
			for i := range each {
				err := s.Update(ctx, func(tx offramp.Tx) error {
					return tx.AppendAudit(ctx, auditEntry(fmt.Sprint("writer-", w), fmt.Sprint("entry ", i)))
				})
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	close(start)
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	r, err := operator.VerifyAudit(ctx, s)
	if err != nil || r.Broken != nil || r.Entries != writers*each || r.Pending != 0 {
		t.Fatalf("verify: %+v, %v", r, err)
	}
	if n := s.retries.Load(); n != 0 {
		t.Fatalf("%d Updates ran again, want none", n)
	}
}
