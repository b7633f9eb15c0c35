package sqlstore

import (
	"context"
	"database/sql"

	"github.com/offramp/offramp"
)

// Group commit (SQLite). Writes run one at a time on the single write
// connection, and each commit waits for an fsync: one Update per fsync
// would cap throughput at the disk's commit rate. Instead, Updates that
// queue behind one another share a transaction:
//
//   - An Update takes the writer (s.writer). If no group transaction is
//     open it begins one (BEGIN IMMEDIATE); otherwise it joins the open
//     one. Either way it runs fn inside a SAVEPOINT of its own, so its
//     error rolls back its work alone and the next member sees the state as
//     if it had never run.
//   - Then, if other Updates are waiting for the writer (and the group is
//     not full), it hands the writer on with the transaction still open;
//     the last member, seeing nobody waiting, commits: one fsync for all.
//   - Every member waits for that commit before returning. No Update
//     returns success before its work is on disk, and if the commit fails
//     every member of the group gets the error: nothing they did is kept.
//
// Callers that arrive while a commit is in flight wait for the writer and
// form the next group together, so the group size follows the load: one
// under light load (latency as before), up to maxGroup under heavy load.
// Each fn still runs on its caller's goroutine, so a panic stays with its
// caller (its savepoint is rolled back and the group carries on).
//
// A member's statements run detached from its context's cancellation:
// SQLite answers an interrupted write by rolling back the whole
// transaction, which would take the other members' work with it. A caller
// that gives up while still waiting for the writer leaves without running.

// maxGroup bounds a group, so a steady stream of arrivals cannot hold a
// transaction open without end (and memory and latency stay bounded).
const maxGroup = 256

// group is one open write transaction shared by its members.
type group struct {
	tx      *sql.Tx
	members int
	// broken is set when the transaction can no longer commit (a savepoint
	// could not be rolled back or released: SQLite rolled everything back
	// on an I/O error, a full disk or the like).
	broken error
	err    error // the commit's outcome, set before done closes
	done   chan struct{}
}

// updateGrouped is Update on SQLite: see the comment above.
func (s *Store) updateGrouped(ctx context.Context, fn func(offramp.Tx) error) (err error) {
	if s.closed.Load() {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return s.mapErr(ctx, "wait for writer", err)
	}
	s.gmu.Lock()
	s.waiting++
	s.gmu.Unlock()
	if s.onWait != nil {
		s.onWait()
	}
	select {
	case s.writer <- struct{}{}:
		s.gmu.Lock()
		s.waiting--
		s.gmu.Unlock()
	case <-ctx.Done():
		s.gmu.Lock()
		s.waiting--
		s.adoptOrphanLocked()
		s.gmu.Unlock()
		return s.mapErr(ctx, "wait for writer", ctx.Err())
	}

	// This goroutine holds the writer.
	g := s.open
	if g == nil {
		sqltx, berr := s.wdb.BeginTx(context.WithoutCancel(ctx), nil)
		if berr != nil {
			s.releaseWriter()
			return s.mapErr(ctx, "begin", berr)
		}
		g = &group{tx: sqltx, done: make(chan struct{})}
		s.gmu.Lock()
		s.open = g
		s.gmu.Unlock()
	}
	g.members++

	// Whatever happens in fn (an error, a panic), the group must be handed
	// on or committed, or its other members would wait forever.
	fnDone := false
	defer func() {
		if !fnDone {
			// fn panicked: its savepoint is undone by runMember's
			// deferred rollback; let the panic continue after handing on.
			s.handOn(g)
		}
	}()
	ferr := s.runMember(ctx, g, fn)
	fnDone = true
	s.handOn(g)
	<-g.done
	if ferr != nil {
		return ferr
	}
	return g.err
}

// runMember runs fn in a savepoint of the group's transaction.
func (s *Store) runMember(ctx context.Context, g *group, fn func(offramp.Tx) error) (err error) {
	if g.broken != nil {
		return g.broken
	}
	bg := context.Background()
	if _, err := g.tx.ExecContext(bg, "SAVEPOINT member"); err != nil {
		g.broken = s.mapErr(bg, "savepoint", err)
		return g.broken
	}
	ok := false
	defer func() {
		if ok {
			return
		}
		// An error or a panic: undo this member's work only.
		if _, rerr := g.tx.ExecContext(bg, "ROLLBACK TO member"); rerr != nil {
			g.broken = s.mapErr(bg, "rollback to savepoint", rerr)
			return
		}
		if _, rerr := g.tx.ExecContext(bg, "RELEASE member"); rerr != nil {
			g.broken = s.mapErr(bg, "release savepoint", rerr)
		}
	}()
	if err := fn(&tx{s: s, q: g.tx, detached: true}); err != nil {
		return err
	}
	if _, err := g.tx.ExecContext(bg, "RELEASE member"); err != nil {
		// The transaction is gone (SQLite rolled it back under fn, which
		// ignored the failure): nothing of the group can commit.
		g.broken = s.mapErr(bg, "release savepoint", err)
		return g.broken
	}
	ok = true
	return nil
}

// handOn ends a member's turn: it commits the group when nobody is waiting
// for the writer (or the group is full or broken), and otherwise leaves the
// transaction open for the next waiter. Either way it releases the writer.
func (s *Store) handOn(g *group) {
	s.gmu.Lock()
	if s.waiting > 0 && g.members < maxGroup && g.broken == nil {
		// Released under gmu, so a waiter that gives up (and checks under
		// gmu) sees either the writer taken or free, never in between.
		s.releaseWriter()
		s.gmu.Unlock()
		return
	}
	s.open = nil
	s.gmu.Unlock()
	s.finish(g)
	s.releaseWriter()
}

// adoptOrphanLocked commits the open group when the last waiter gave up
// after the writer was handed to "whoever waits": with nobody left to take
// it, the group would stay open. Called with gmu held.
func (s *Store) adoptOrphanLocked() {
	if s.waiting > 0 || s.open == nil {
		return // a waiter will take the writer and decide
	}
	select {
	case s.writer <- struct{}{}:
	default:
		return // a member holds the writer; it will see nobody waiting
	}
	g := s.open
	s.open = nil
	// Committing under gmu is rare (only on this path) and brief.
	s.finish(g)
	s.releaseWriter()
}

// finish commits (or, if broken, rolls back) a group and answers its
// members.
func (s *Store) finish(g *group) {
	if g.broken != nil {
		g.tx.Rollback()
		g.err = g.broken
	} else if err := g.tx.Commit(); err != nil {
		g.err = s.mapErr(context.Background(), "commit", err)
	}
	s.metrics.batch.Observe(float64(g.members))
	if g.err != nil {
		s.metrics.failedGroups.Inc()
	}
	close(g.done)
}

// exclusive takes the writer for work outside Update (Migrate): it commits
// any group left open for a waiter first, so the write connection is free.
func (s *Store) exclusive(ctx context.Context) error {
	if err := s.acquireWriter(ctx); err != nil {
		return err
	}
	s.gmu.Lock()
	g := s.open
	s.open = nil
	s.gmu.Unlock()
	if g != nil {
		s.finish(g)
	}
	return nil
}
