package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/offramp/offramp"
)

// gcFixture is a SQLite store with one organization; each test Update
// records one signature, a row with a unique key, as its work.
type gcFixture struct {
	s   *Store
	org uuid.UUID
	exp time.Time
	reg *prometheus.Registry
	// waits receives once per Update that starts waiting for the writer.
	waits chan struct{}
	// seen is the histogram's count and sum at the last batches call.
	seenCommits, seenMembers int
}

func newGCFixture(t *testing.T) *gcFixture {
	t.Helper()
	s, _ := openTemp(t)
	f := &gcFixture{s: s, org: uuid.New(), exp: time.Now().Add(time.Hour), reg: prometheus.NewRegistry(), waits: make(chan struct{}, 1024)}
	if err := s.Register(f.reg); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(t.Context(), func(tx offramp.Tx) error {
		return tx.CreateOrg(t.Context(), offramp.Org{ID: f.org, Name: "gc", APIKey: "k-" + f.org.String(), APISecret: "s", Env: offramp.EnvSandbox})
	}); err != nil {
		t.Fatal(err)
	}
	f.batches(t) // the setup's own commit is not the test's
	s.onWait = func() { f.waits <- struct{}{} }
	return f
}

func (f *gcFixture) use(ctx context.Context, tx offramp.Tx, sig string) error {
	fresh, err := tx.UseSignature(ctx, testSignature(f.org, sig, f.exp))
	if err == nil && !fresh {
		err = fmt.Errorf("signature %s used twice", sig)
	}
	return err
}

// testSignature is the record of a mutating request, running.
func testSignature(org uuid.UUID, sig string, exp time.Time) offramp.SignatureRecord {
	return offramp.SignatureRecord{OrgID: org, Signature: sig, Method: "POST", Target: "/t", State: offramp.SignatureRunning, ExpiresAt: exp}
}

// signatureUsed reports whether sig of org is recorded.
func signatureUsed(ctx context.Context, tx offramp.ReadTx, org uuid.UUID, sig string) (bool, error) {
	_, err := tx.SignatureRecord(ctx, org, sig)
	if errors.Is(err, offramp.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (f *gcFixture) has(t *testing.T, sig string) bool {
	t.Helper()
	var used bool
	if err := f.s.View(t.Context(), func(tx offramp.ReadTx) error {
		var err error
		used, err = signatureUsed(t.Context(), tx, f.org, sig)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return used
}

// batches returns the group commits observed since the last call, as
// (commits, Updates in them).
func (f *gcFixture) batches(t *testing.T) (int, int) {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "offramp_store_commit_batch_size" {
			h := mf.GetMetric()[0].GetHistogram()
			c, m := int(h.GetSampleCount()), int(h.GetSampleSum())
			dc, dm := c-f.seenCommits, m-f.seenMembers
			f.seenCommits, f.seenMembers = c, m
			return dc, dm
		}
	}
	t.Fatal("offramp_store_commit_batch_size not exported")
	return 0, 0
}

// hold starts an Update that holds the writer until release is closed,
// and waits until it runs.
func (f *gcFixture) hold(t *testing.T, sig string) (release chan struct{}, result chan error) {
	t.Helper()
	release, result, running := make(chan struct{}), make(chan error, 1), make(chan struct{})
	go func() {
		result <- f.s.Update(context.Background(), func(tx offramp.Tx) error {
			close(running)
			<-release
			return f.use(context.Background(), tx, sig)
		})
	}()
	<-f.waits
	<-running
	return release, result
}

// Updates that queue behind a running one commit together: one group, one
// fsync, every caller answered, every row there.
func TestGroupCommitBatchesWaitingUpdates(t *testing.T) {
	f := newGCFixture(t)
	const n = 64
	release, first := f.hold(t, "sig-0")
	errs := make(chan error, n)
	for i := 1; i < n; i++ {
		go func() {
			errs <- f.s.Update(context.Background(), func(tx offramp.Tx) error {
				return f.use(context.Background(), tx, fmt.Sprintf("sig-%d", i))
			})
		}()
	}
	for i := 1; i < n; i++ {
		<-f.waits // all queued behind the first
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if commits, members := f.batches(t); commits != 1 || members != n {
		t.Fatalf("%d commits of %d Updates; want 1 of %d", commits, members, n)
	}
	for i := 0; i < n; i++ {
		if !f.has(t, fmt.Sprintf("sig-%d", i)) {
			t.Fatalf("sig-%d missing after its Update returned nil", i)
		}
	}
}

// A member's error or panic undoes its own work only; the others see
// none of it and commit.
func TestGroupCommitMemberFailureIsItsOwn(t *testing.T) {
	f := newGCFixture(t)
	release, first := f.hold(t, "h")
	boom := errors.New("boom")
	var wg sync.WaitGroup
	results := map[string]error{}
	var mu sync.Mutex
	run := func(name string, fn func(ctx context.Context, tx offramp.Tx) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("panic: %v", p)
					}
				}()
				err = f.s.Update(context.Background(), func(tx offramp.Tx) error { return fn(context.Background(), tx) })
			}()
			mu.Lock()
			results[name] = err
			mu.Unlock()
		}()
	}
	run("fails", func(ctx context.Context, tx offramp.Tx) error {
		if err := f.use(ctx, tx, "a"); err != nil {
			return err
		}
		return boom
	})
	run("panics", func(ctx context.Context, tx offramp.Tx) error {
		if err := f.use(ctx, tx, "p"); err != nil {
			return err
		}
		panic("member panics")
	})
	run("duplicate", func(ctx context.Context, tx offramp.Tx) error {
		// h is the holder's: a conflict inside the shared transaction.
		if err := f.use(ctx, tx, "d"); err != nil {
			return err
		}
		return f.use(ctx, tx, "h")
	})
	run("sees nothing of the others", func(ctx context.Context, tx offramp.Tx) error {
		for _, sig := range []string{"a", "p", "d"} {
			if used, err := signatureUsed(ctx, tx, f.org, sig); err != nil || used {
				return fmt.Errorf("sees %s of a failed member (%v)", sig, err)
			}
		}
		return f.use(ctx, tx, "b")
	})
	for range 4 {
		<-f.waits
	}
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if !errors.Is(results["fails"], boom) {
		t.Errorf("failing member got %v", results["fails"])
	}
	if results["panics"] == nil || results["panics"].Error() != "panic: member panics" {
		t.Errorf("panicking member got %v; want its own panic back", results["panics"])
	}
	if results["duplicate"] == nil {
		t.Error("duplicate member got nil")
	}
	if err := results["sees nothing of the others"]; err != nil {
		t.Error(err)
	}
	for sig, want := range map[string]bool{"h": true, "b": true, "a": false, "p": false, "d": false} {
		if got := f.has(t, sig); got != want {
			t.Errorf("signature %s recorded: %v, want %v", sig, got, want)
		}
	}
	if commits, members := f.batches(t); commits != 1 || members != 5 {
		t.Errorf("%d commits of %d Updates; want 1 of 5", commits, members)
	}
}

// When the shared transaction dies under a member (here: it is rolled back
// behind the store's back, as SQLite does on an I/O error), every member
// of its group gets an error and none of their work is kept; members that
// had not run yet go on in a new group.
func TestGroupCommitBrokenGroupFailsEveryMember(t *testing.T) {
	f := newGCFixture(t)
	release, first := f.hold(t, "h")
	errs := make([]chan error, 3)
	for i := range 3 {
		errs[i] = make(chan error, 1)
		go func() {
			errs[i] <- f.s.Update(context.Background(), func(otx offramp.Tx) error {
				if err := f.use(context.Background(), otx, fmt.Sprintf("m%d", i)); err != nil {
					return err
				}
				if i == 1 {
					_, err := otx.(*tx).q.ExecContext(context.Background(), "ROLLBACK")
					return err
				}
				return nil
			})
		}()
	}
	for range 3 {
		<-f.waits
	}
	close(release)
	if err := <-first; err == nil {
		t.Error("the holder's Update returned nil though its group never committed")
	}
	if err := <-errs[1]; err == nil {
		t.Error("the breaking member's Update returned nil")
	}
	for _, sig := range []string{"h", "m1"} {
		if f.has(t, sig) {
			t.Errorf("%s kept from a failed group", sig)
		}
	}
	for _, i := range []int{0, 2} {
		err := <-errs[i]
		if stored := f.has(t, fmt.Sprintf("m%d", i)); (err == nil) != stored {
			t.Errorf("m%d: Update returned %v, row stored %v", i, err, stored)
		}
	}
	// The store goes on.
	if err := f.s.Update(t.Context(), func(tx offramp.Tx) error { return f.use(t.Context(), tx, "after") }); err != nil {
		t.Fatal(err)
	}
}

// A group handed on to waiters that all gave up is committed by the last
// one to leave.
func TestGroupCommitOrphanIsCommitted(t *testing.T) {
	f := newGCFixture(t)
	s := f.s
	// The state a member leaves when it hands the writer on: a group open
	// with work in it, the writer free, and (now) nobody waiting.
	sqltx, err := s.wdb.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &group{tx: sqltx, done: make(chan struct{}), members: 1}
	if err := f.use(t.Context(), &tx{s: s, q: sqltx}, "orphan"); err != nil {
		t.Fatal(err)
	}
	s.gmu.Lock()
	s.open = g
	s.adoptOrphanLocked()
	s.gmu.Unlock()
	<-g.done
	if g.err != nil {
		t.Fatal(g.err)
	}
	if !f.has(t, "orphan") {
		t.Fatal("the orphaned group's work was not committed")
	}
}

// Under concurrent Updates, some cancelled at random moments, exactly the
// work of the Updates that returned nil is in the database.
func TestGroupCommitAcknowledgedIsExactlyWhatIsStored(t *testing.T) {
	f := newGCFixture(t)
	f.s.onWait = nil
	const n = 300
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if i%3 == 0 {
				go func() {
					for range rand.IntN(50) {
						runtime.Gosched()
					}
					cancel()
				}()
			}
			errs[i] = f.s.Update(ctx, func(tx offramp.Tx) error {
				return f.use(ctx, tx, fmt.Sprintf("s%d", i))
			})
		}()
	}
	wg.Wait()
	acked := 0
	for i, err := range errs {
		stored := f.has(t, fmt.Sprintf("s%d", i))
		if (err == nil) != stored {
			t.Errorf("Update %d returned %v but its row stored = %v", i, err, stored)
		}
		if err == nil {
			acked++
		}
	}
	commits, members := f.batches(t)
	t.Logf("%d of %d acknowledged; %d group commits of %d Updates", acked, n, commits, members)
	if acked < n*2/3 {
		t.Errorf("only %d of the %d uncancelled Updates succeeded", acked, n*2/3)
	}
}

// testSignatureUse: an Update whose context carries a SignatureUse records
// the signature with its work; a second request with the same signature
// fails with its Replay error without running; a failed Update leaves no
// record.
func testSignatureUse(t *testing.T, s *Store) {
	ctx := t.Context()
	org := uuid.New()
	if err := s.Update(ctx, func(tx offramp.Tx) error {
		return tx.CreateOrg(ctx, offramp.Org{ID: org, Name: "su", APIKey: "k-" + org.String(), APISecret: "s", Env: offramp.EnvSandbox})
	}); err != nil {
		t.Fatal(err)
	}
	replay := errors.New("replayed")
	exp := time.Now().Add(time.Hour)
	newUse := func(sig string) *offramp.SignatureUse {
		return &offramp.SignatureUse{OrgID: org, Signature: sig, Method: "POST", Target: "/t", ExpiresAt: exp, Replay: replay}
	}
	used := func(sig string) bool {
		var ok bool
		if err := s.View(ctx, func(tx offramp.ReadTx) error {
			var err error
			ok, err = signatureUsed(ctx, tx, org, sig)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ok
	}

	// A failing Update: no record, and the use is still to be recorded.
	u := newUse("sig-1")
	rctx := offramp.WithSignatureUse(ctx, u)
	if err := s.Update(rctx, func(offramp.Tx) error { return errors.New("work failed") }); err == nil {
		t.Fatal("failing Update returned nil")
	}
	if u.Recorded() || used("sig-1") {
		t.Fatal("a failed Update recorded the signature")
	}
	// The work commits with the record; a second Update of the same
	// request does not record again.
	ran := 0
	for range 2 {
		if err := s.Update(rctx, func(offramp.Tx) error { ran++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if !u.Recorded() || !used("sig-1") || ran != 2 {
		t.Fatalf("recorded %v, stored %v, ran %d", u.Recorded(), used("sig-1"), ran)
	}
	// A replay of the signature in another request is refused, its work
	// not run.
	again := newUse("sig-1")
	err := s.Update(offramp.WithSignatureUse(ctx, again), func(offramp.Tx) error {
		t.Error("the work of a replayed request ran")
		return nil
	})
	if !errors.Is(err, replay) || again.Recorded() {
		t.Fatalf("replay: %v, recorded %v", err, again.Recorded())
	}
}

func TestSQLiteSignatureUse(t *testing.T) {
	s, _ := openTemp(t)
	testSignatureUse(t, s)
}

func TestPostgresSignatureUse(t *testing.T) {
	testSignatureUse(t, openPGTemp(t))
}
