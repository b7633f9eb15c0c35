package sqlstore

import (
	"testing"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// TestPostgresAuditRace: a transaction whose snapshot predates another's
// append no longer conflicts with it: it reads no chain head (the entry is
// linked after commit, migration 00009), so it runs once, and still becomes
// link 2, chained to link 1. The interleaving is forced with channels, not
// timed.
func TestPostgresAuditRace(t *testing.T) {
	ctx := t.Context()
	s := openPGTemp(t)
	entry := func(actor string) offramp.AuditEntry {
		return offramp.AuditEntry{Actor: actor, Action: "test.race", ObjectType: offramp.ObjectPayout,
			ObjectID: uuid.New(), Reason: "race"}
	}
	snapshot, appended := make(chan struct{}), make(chan struct{})
	runs := 0
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx offramp.Tx) error {
			runs++
			if runs == 1 {
				// Take the snapshot, then let the other writer append.
				if _, err := tx.ListAudit(ctx, "", "", 1); err != nil {
					return err
				}
				close(snapshot)
				<-appended
			}
			return tx.AppendAudit(ctx, entry("slow"))
		})
	}()
	<-snapshot
	if err := s.Update(ctx, func(tx offramp.Tx) error { return tx.AppendAudit(ctx, entry("fast")) }); err != nil {
		t.Fatal(err)
	}
	close(appended)
	if err := <-done; err != nil {
		t.Fatalf("the slow writer: %v", err)
	}
	if runs != 1 || s.retries.Load() != 0 {
		t.Fatalf("the slow writer ran %d times (%d retries), want 1 (0)", runs, s.retries.Load())
	}
	var chain []offramp.AuditEntry
	err := s.View(ctx, func(tx offramp.ReadTx) error {
		return tx.ForEachAudit(ctx, func(a offramp.AuditEntry) error {
			chain = append(chain, a)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 2 || chain[0].Actor != "fast" || chain[1].Actor != "slow" || chain[1].Seq != 2 ||
		chain[1].PrevHash != chain[0].Hash || chain[1].Hash != offramp.AuditHash(chain[0].Hash, chain[1]) {
		t.Fatalf("chain after the race: %+v", chain)
	}
}
