package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/offramp/offramp"
)

// auditChainLock is the key of the transaction-level advisory lock every
// PostgreSQL chainer takes first (an arbitrary constant: "offrampa" in
// ASCII). One chainer at a time: each reads the head after the previous
// one committed, so no two give out the same seq.
const auditChainLock int64 = 0x6f66_6672_616d_7061

// chainTimeout bounds a chaining run after a commit. The run does not
// follow the caller's context: the change is committed by then, and a
// caller that gave up should not leave its entry unchained.
const chainTimeout = 30 * time.Second

// ChainAudit links the audit entries not chained yet (PostgreSQL: entries
// whose Update committed but whose chaining failed or has not run) and
// reports how many it chained. Each gets the next seq, the previous link's
// hash as prev_hash and hash = offramp.AuditHash(prev_hash, entry), in
// the order they were appended (append_order), as AppendAudit chains on
// SQLite. On SQLite every entry is chained when appended, so it returns 0.
//
// It runs in its own short READ COMMITTED transaction whose first
// statement takes the advisory lock auditChainLock: chainers in every
// process run one at a time, and each statement after the lock sees every
// earlier chainer's commit (a SERIALIZABLE snapshot, taken before the
// lock wait, would not).
func (s *Store) ChainAudit(ctx context.Context) (int, error) {
	if !s.concurrent {
		return 0, nil
	}
	if s.closed.Load() {
		return 0, errClosed
	}
	const op = "chain audit"
	sqltx, err := s.wdb.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return 0, s.mapErr(ctx, op, err)
	}
	defer sqltx.Rollback() // a no-op after Commit
	t := &tx{s: s, q: sqltx}
	if _, err := t.exec(ctx, op, `SELECT pg_advisory_xact_lock(?)`, auditChainLock); err != nil {
		return 0, err
	}
	head, err := t.auditHead(ctx, op)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		// Always the first batch: the rows chained by the previous round
		// are no longer unchained.
		batch, err := t.unchainedAudit(ctx, op, nil)
		if err != nil {
			return 0, err
		}
		for _, a := range batch {
			// a is the entry as read back (reason and details opened, time
			// at the stored precision): what verify recomputes the hash of.
			a.Seq, a.PrevHash = head.seq+1, head.hash
			a.Hash = offramp.AuditHash(a.PrevHash, a)
			changed, err := t.execAffected(ctx, op, `UPDATE audit_log SET seq = ?, prev_hash = ?, hash = ?
				WHERE id = ? AND seq IS NULL`, a.Seq, a.PrevHash, a.Hash, a.ID)
			if err != nil {
				return 0, err
			}
			if changed != 1 {
				// Only a chainer not holding the lock could have linked it.
				return 0, fmt.Errorf("sqlstore: %s: entry %s was chained by someone else", op, a.ID)
			}
			head = auditLink{seq: a.Seq, hash: a.Hash}
			n++
		}
		if len(batch) < auditBatch {
			break
		}
	}
	if err := sqltx.Commit(); err != nil {
		return 0, s.mapErr(ctx, "commit "+op, err)
	}
	return n, nil
}

// chainPending runs ChainAudit where a failure must not fail the caller:
// after an Update that appended audit entries committed, and at startup
// (Migrate). The failure is logged: the change and its entry are
// committed, merely not linked yet, and any later run (the next Update that
// appends, the next startup, `offramp admin audit verify`) links them.
func (s *Store) chainPending(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), chainTimeout)
	defer cancel()
	if _, err := s.ChainAudit(ctx); err != nil {
		slog.Default().Warn("sqlstore: audit entries committed but not chained yet; a later run will chain them", "err", err)
	}
}
