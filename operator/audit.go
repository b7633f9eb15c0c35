package operator

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// AuditReport is what VerifyAudit found in the audit log.
type AuditReport struct {
	// Entries counts the entries walked, Legacy those among them written
	// before the log was chained (migration 00006): they are numbered but
	// carry no hash, and must all come before the first chained entry.
	Entries, Legacy int
	// Pending counts entries written but not chained yet (Seq 0: the
	// store links them after the writing transaction commits, see
	// sqlstore.Store.ChainAudit). They are not part of the chain, so they
	// neither break it nor count in Entries; a verify that chains first
	// (offramp admin audit verify) normally finds none. Only
	// entries after the whole chain may be pending.
	Pending int
	// HeadSeq and HeadHash are the last entry's: recorded somewhere else
	// (a ticket, a log shipper), they let a later verify also notice
	// entries cut off the end, which no chain can show by itself.
	HeadSeq  int64
	HeadHash string
	// Broken is the first entry that breaks the chain, nil when it is
	// intact. The walk stops there.
	Broken *AuditBreak
}

// AuditBreak names the first entry that breaks the chain and how.
type AuditBreak struct {
	Seq     int64
	ID      uuid.UUID
	Problem string
}

func (b *AuditBreak) Error() string {
	return fmt.Sprintf("audit chain broken at seq %d (id %s): %s", b.Seq, b.ID, b.Problem)
}

// VerifyAudit walks the audit log in chain order, in one View, and checks
// every link: sequence numbers 1, 2, 3 ... without gaps (a deleted entry),
// each entry's PrevHash equal to the previous entry's Hash, and each Hash
// equal to offramp.AuditHash recomputed from the entry as stored (an edited
// entry). Entries not chained yet (Seq 0, after the chain) are counted
// as Pending, not checked: there is nothing to check until they are
// linked. An error is a failure to read; a broken chain is a report.
func VerifyAudit(ctx context.Context, s offramp.Store) (AuditReport, error) {
	var r AuditReport
	errStop := errors.New("stop")
	err := s.View(ctx, func(tx offramp.ReadTx) error {
		var c chainCheck
		r = AuditReport{}
		return tx.ForEachAudit(ctx, func(a offramp.AuditEntry) error {
			if problem := c.next(a); problem != "" {
				r.Broken = &AuditBreak{Seq: a.Seq, ID: a.ID, Problem: problem}
				return errStop
			}
			if a.Seq == 0 {
				r.Pending = c.pending
				return nil
			}
			r.Entries, r.Legacy, r.HeadSeq, r.HeadHash = c.entries, c.legacy, a.Seq, a.Hash
			return nil
		})
	})
	if err != nil && !errors.Is(err, errStop) {
		return AuditReport{}, err
	}
	return r, nil
}

// chainCheck follows the chain one entry at a time.
type chainCheck struct {
	entries, legacy, pending int
	seq                      int64
	hash                     string
	chained                  bool // a chained entry was seen
}

// next checks a, the entry after the ones seen, and returns what is wrong
// with it ("" when nothing).
func (c *chainCheck) next(a offramp.AuditEntry) string {
	if a.Seq == 0 {
		// Not linked yet. A store never writes hashes on such an entry:
		// one that carries them was numbered 0 by hand.
		if a.Hash != "" || a.PrevHash != "" {
			return "the entry is numbered 0 but carries a hash"
		}
		c.pending++
		return ""
	}
	if c.pending > 0 {
		// The store lists unchained entries after the whole chain.
		return fmt.Sprintf("seq %d follows entries not chained yet", a.Seq)
	}
	if a.Seq != c.seq+1 {
		if c.seq == 0 {
			return fmt.Sprintf("the log starts at seq %d, not 1: earlier entries were deleted", a.Seq)
		}
		return fmt.Sprintf("seq %d follows seq %d: entries in between were deleted", a.Seq, c.seq)
	}
	if a.Hash == "" {
		if c.chained {
			return "the entry carries no hash, after the chain began: its hash was erased"
		}
		if a.PrevHash != "" {
			return "the entry carries no hash but names a previous one"
		}
		c.entries, c.legacy, c.seq = c.entries+1, c.legacy+1, a.Seq
		return ""
	}
	if a.PrevHash != c.hash {
		return "prev_hash is not the previous entry's hash: the previous entry was changed or removed"
	}
	if want := offramp.AuditHash(a.PrevHash, a); a.Hash != want {
		return "the hash does not match the entry's content: the entry was changed"
	}
	c.entries, c.seq, c.hash, c.chained = c.entries+1, a.Seq, a.Hash, true
	return ""
}
