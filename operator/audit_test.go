package operator

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// logStore is a Store whose audit log is entries; nothing else works.
type logStore struct {
	offramp.Store
	entries []offramp.AuditEntry
	err     error
}

type logTx struct {
	offramp.ReadTx
	s *logStore
}

func (s *logStore) View(ctx context.Context, fn func(offramp.ReadTx) error) error {
	return fn(logTx{s: s})
}

func (tx logTx) ForEachAudit(ctx context.Context, fn func(offramp.AuditEntry) error) error {
	if tx.s.err != nil {
		return tx.s.err
	}
	for _, a := range tx.s.entries {
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

// chain makes legacy unchained entries followed by n chained ones.
func chain(legacy, n int) []offramp.AuditEntry {
	var out []offramp.AuditEntry
	prev := ""
	for i := range legacy + n {
		a := offramp.AuditEntry{Seq: int64(i + 1), ID: uuid.New(), Actor: "ops", Action: "payout.note",
			ObjectType: offramp.ObjectPayout, ObjectID: uuid.New(), Reason: "r",
			Details:   map[string]string{"i": string(rune('a' + i))},
			CreatedAt: time.Date(2025, 3, 14, 9, 0, i, 0, time.UTC)}
		if i >= legacy {
			a.PrevHash = prev
			a.Hash = offramp.AuditHash(prev, a)
			prev = a.Hash
		}
		out = append(out, a)
	}
	return out
}

func TestVerifyAudit(t *testing.T) {
	ctx := context.Background()
	verify := func(entries []offramp.AuditEntry) AuditReport {
		t.Helper()
		r, err := VerifyAudit(ctx, &logStore{entries: entries})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := verify(nil); r.Broken != nil || r.Entries != 0 {
		t.Fatalf("empty log: %+v", r)
	}
	c := chain(2, 5)
	if r := verify(c); r.Broken != nil || r.Entries != 7 || r.Legacy != 2 || r.HeadSeq != 7 || r.HeadHash != c[6].Hash {
		t.Fatalf("intact log: %+v", r)
	}

	for _, tc := range []struct {
		what    string
		edit    func([]offramp.AuditEntry) []offramp.AuditEntry
		seq     int64
		problem string
	}{
		{"an edited actor", func(c []offramp.AuditEntry) []offramp.AuditEntry { c[3].Actor = "x"; return c }, 4, "was changed"},
		{"an edited detail", func(c []offramp.AuditEntry) []offramp.AuditEntry { c[4].Details["i"] = "z"; return c }, 5, "was changed"},
		{"an edited time", func(c []offramp.AuditEntry) []offramp.AuditEntry {
			c[2].CreatedAt = c[2].CreatedAt.Add(time.Microsecond)
			return c
		}, 3, "was changed"},
		{"a recomputed hash", func(c []offramp.AuditEntry) []offramp.AuditEntry {
			c[3].Reason = "forged"
			c[3].Hash = offramp.AuditHash(c[3].PrevHash, c[3])
			return c
		}, 5, "previous entry was changed"},
		{"a deleted entry", func(c []offramp.AuditEntry) []offramp.AuditEntry { return append(c[:3], c[4:]...) }, 5, "seq 5 follows seq 3"},
		{"the first entry deleted", func(c []offramp.AuditEntry) []offramp.AuditEntry { return c[1:] }, 2, "starts at seq 2"},
		{"an erased hash", func(c []offramp.AuditEntry) []offramp.AuditEntry { c[4].Hash, c[4].PrevHash = "", ""; return c }, 5, "erased"},
		{"a legacy row with a predecessor", func(c []offramp.AuditEntry) []offramp.AuditEntry { c[1].PrevHash = "p"; return c }, 2, "names a previous"},
	} {
		r := verify(tc.edit(chain(2, 5)))
		if r.Broken == nil || r.Broken.Seq != tc.seq || !strings.Contains(r.Broken.Problem, tc.problem) {
			t.Errorf("%s: %+v, want broken at %d (%q)", tc.what, r.Broken, tc.seq, tc.problem)
		}
	}

	// Entries not chained yet come after the chain: counted, not checked,
	// and the chain is intact.
	pending := func(c []offramp.AuditEntry, n int) []offramp.AuditEntry {
		for range n {
			c = append(c, offramp.AuditEntry{ID: uuid.New(), Actor: "engine", Action: "payout.step",
				ObjectType: offramp.ObjectPayout, ObjectID: uuid.New(), Reason: "r"})
		}
		return c
	}
	c = chain(2, 5)
	if r := verify(pending(c, 3)); r.Broken != nil || r.Entries != 7 || r.Pending != 3 || r.HeadSeq != 7 || r.HeadHash != c[6].Hash {
		t.Fatalf("a log with 3 entries not chained yet: %+v", r)
	}
	if r := verify(pending(nil, 2)); r.Broken != nil || r.Entries != 0 || r.Pending != 2 {
		t.Fatalf("a log of entries not chained yet: %+v", r)
	}
	withHash := pending(chain(0, 2), 1)
	withHash[2].Hash = "h"
	if r := verify(withHash); r.Broken == nil || r.Broken.ID != withHash[2].ID || !strings.Contains(r.Broken.Problem, "numbered 0") {
		t.Fatalf("an entry numbered 0 with a hash: %+v", r.Broken)
	}
	afterPending := append(pending(chain(0, 2), 1), chain(0, 3)[2])
	if r := verify(afterPending); r.Broken == nil || r.Broken.Seq != 3 || !strings.Contains(r.Broken.Problem, "not chained yet") {
		t.Fatalf("a link after entries not chained yet: %+v", r.Broken)
	}

	boom := errors.New("disk on fire")
	if _, err := VerifyAudit(ctx, &logStore{err: boom}); !errors.Is(err, boom) {
		t.Fatalf("a read error: %v", err)
	}
}
