package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/sqlstore"
	"github.com/offramp/offramp/vault"
	"github.com/offramp/offramp/worker"
)

// These tests never sleep and never measure wall-clock time: they move the
// fake clock, and learn what the runner did from its handlers (channels)
// and from a spy on the store (every claim, finish and retry it made). The
// runner itself polls on a real ticker; the tests only wait for its
// effects, each wait bounded by a deadlock guard.

// guardTimeout bounds every wait; it only turns a deadlock into a clear
// failure.
const guardTimeout = 30 * time.Second

func guard(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), guardTimeout)
	t.Cleanup(cancel)
	return ctx
}

// recv waits for a value from ch, failing after the guard.
func recv[T any](ctx context.Context, t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("gave up after %v waiting for %s", guardTimeout, what)
		panic("unreachable")
	}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func openStore(t *testing.T, clk offramp.Clock) *sqlstore.Store {
	t.Helper()
	v, err := vault.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "w.db"), v, sqlstore.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func enqueue(t *testing.T, st offramp.Store, org uuid.UUID, kind offramp.JobKind, runAt time.Time) offramp.Job {
	t.Helper()
	j := offramp.Job{ID: uuid.New(), OrgID: org, Kind: kind, RefID: uuid.New(), RunAt: runAt}
	if err := st.Update(t.Context(), func(tx offramp.Tx) error { return tx.EnqueueJob(t.Context(), j) }); err != nil {
		t.Fatal(err)
	}
	return j
}

func liveJobs(t *testing.T, st offramp.Store, j offramp.Job) []offramp.Job {
	t.Helper()
	var jobs []offramp.Job
	err := st.View(t.Context(), func(tx offramp.ReadTx) error {
		var err error
		jobs, err = tx.Jobs(t.Context(), j.Kind, j.RefID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

// running is a Runner's Run in a goroutine.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (r running) stop() { r.cancel(); <-r.done }

func start(t *testing.T, r *worker.Runner) running {
	ctx, cancel := context.WithCancel(context.Background())
	rn := running{cancel: cancel, done: make(chan struct{})}
	go func() { defer close(rn.done); r.Run(ctx) }()
	t.Cleanup(rn.stop)
	return rn
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// recordHandler is a slog.Handler that sends Info and higher records to
// its channel (dropping them when it is full: logging must not block the
// runner).
type recordHandler chan slog.Record

func (h recordHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h <- r:
	default:
	}
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }

// event is one job operation the runner made through the spy.
type event struct {
	op      string // "claim", "finish" or "retry"
	claim   offramp.JobClaim
	jobs    []offramp.Job // claimed
	id      uuid.UUID     // finished or retried
	lease   string
	runAt   time.Time
	lastErr string
	err     error
}

func (e event) claims(k offramp.JobKind) bool {
	return e.op == "claim" && slices.Contains(e.claim.Kinds, k)
}

// spy records the claims, finishes and retries made through it, and wakes
// whoever waits for one.
type spy struct {
	offramp.Store
	mu     sync.Mutex
	events []event
	wake   chan struct{} // closed and replaced on every event
}

func newSpy(st offramp.Store) *spy { return &spy{Store: st, wake: make(chan struct{})} }

func (s *spy) Update(ctx context.Context, fn func(offramp.Tx) error) error {
	var evs []event
	err := s.Store.Update(ctx, func(tx offramp.Tx) error {
		evs = evs[:0]
		return fn(&spyTx{Tx: tx, evs: &evs})
	})
	if len(evs) > 0 {
		s.mu.Lock()
		s.events = append(s.events, evs...)
		close(s.wake)
		s.wake = make(chan struct{})
		s.mu.Unlock()
	}
	return err
}

// mark is the number of events so far: await(mark, ...) looks only at
// later ones.
func (s *spy) mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// await returns the first event from index from on that matches.
func (s *spy) await(ctx context.Context, t *testing.T, from int, what string, match func(event) bool) (event, int) {
	t.Helper()
	for i := from; ; {
		s.mu.Lock()
		for ; i < len(s.events); i++ {
			if e := s.events[i]; match(e) {
				s.mu.Unlock()
				return e, i + 1
			}
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			t.Fatalf("gave up after %v waiting for %s", guardTimeout, what)
		}
	}
}

func (s *spy) all(match func(event) bool) []event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []event
	for _, e := range s.events {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

type spyTx struct {
	offramp.Tx
	evs *[]event
}

func (tx *spyTx) ClaimJobs(ctx context.Context, c offramp.JobClaim) ([]offramp.Job, error) {
	jobs, err := tx.Tx.ClaimJobs(ctx, c)
	*tx.evs = append(*tx.evs, event{op: "claim", claim: c, jobs: jobs, err: err})
	return jobs, err
}

func (tx *spyTx) FinishJob(ctx context.Context, id uuid.UUID, owner string) error {
	err := tx.Tx.FinishJob(ctx, id, owner)
	*tx.evs = append(*tx.evs, event{op: "finish", id: id, lease: owner, err: err})
	return err
}

func (tx *spyTx) RetryJob(ctx context.Context, id uuid.UUID, owner string, runAt time.Time, lastErr string) error {
	err := tx.Tx.RetryJob(ctx, id, owner, runAt, lastErr)
	*tx.evs = append(*tx.evs, event{op: "retry", id: id, lease: owner, runAt: runAt, lastErr: lastErr, err: err})
	return err
}

// A job runs when due, not before; a failure is retried after back-off
// (package backoff's 1 s ±20 % for the first); a success removes it.
func TestRunnerRetriesThenFinishes(t *testing.T) {
	t.Parallel()
	ctx := guard(t)
	clk := clock.NewFake(t0)
	st := openStore(t, clk)
	sp := newSpy(st)
	ran := make(chan offramp.Job, 10)
	r := worker.New(worker.Config{Store: sp, Clock: clk, Poll: 2 * time.Millisecond, Log: quiet(),
		Handler: func(ctx context.Context, j offramp.Job) error {
			ran <- j
			if j.Attempts == 1 {
				return errors.New("partner timeout")
			}
			return nil
		}})
	job := enqueue(t, st, uuid.New(), offramp.JobVerifyKYC, clk.Now().Add(time.Second))
	start(t, r)

	looked := func(e event) bool { return e.claims(job.Kind) && e.err == nil }
	e, next := sp.await(ctx, t, 0, "a claim of verify_kyc", looked)
	if len(e.jobs) != 0 || len(ran) != 0 {
		t.Fatal("job ran before it was due")
	}
	clk.Advance(time.Second)
	first := recv(ctx, t, ran, "the first attempt")
	if first.ID != job.ID || first.Attempts != 1 {
		t.Fatalf("first run: %+v", first)
	}
	retry, next := sp.await(ctx, t, next, "the retry", func(e event) bool { return e.op == "retry" })
	if retry.err != nil || retry.id != job.ID || retry.lease != first.Lease || retry.lastErr != "partner timeout" {
		t.Fatalf("retry: %+v (job leased as %q)", retry, first.Lease)
	}
	if d := retry.runAt.Sub(clk.Now()); d < 800*time.Millisecond || d > 1200*time.Millisecond {
		t.Fatalf("first retry after %v, want 1 s ±20 %%", d)
	}
	if e, _ := sp.await(ctx, t, next, "a claim after the retry", looked); len(e.jobs) != 0 || len(ran) != 0 {
		t.Fatal("failed job retried without back-off")
	}
	clk.Advance(2 * time.Second)
	second := recv(ctx, t, ran, "the retry to run")
	if second.Attempts != 2 || second.Lease == first.Lease {
		t.Fatalf("second run: attempts %d, lease %q (first %q)", second.Attempts, second.Lease, first.Lease)
	}
	fin, _ := sp.await(ctx, t, next, "the job to finish", func(e event) bool { return e.op == "finish" })
	if fin.err != nil || fin.id != job.ID || fin.lease != second.Lease {
		t.Fatalf("finish: %+v", fin)
	}
	if jobs := liveJobs(t, st, job); len(jobs) != 0 {
		t.Fatalf("finished job still there: %+v", jobs)
	}
}

// A job leased by a runner that died is run by another once the lease
// lapses, and not before.
func TestLeaseLapseHandsJobToAnotherRunner(t *testing.T) {
	t.Parallel()
	ctx := guard(t)
	clk := clock.NewFake(t0)
	st := openStore(t, clk)
	job := enqueue(t, st, uuid.New(), offramp.JobVerifyKYC, clk.Now())
	// The "dead" runner claims the job and never reports back.
	err := st.Update(t.Context(), func(tx offramp.Tx) error {
		jobs, err := tx.ClaimJobs(t.Context(), offramp.JobClaim{Now: clk.Now(), Owner: "dead-runner", Lease: time.Minute, Limit: 1})
		if len(jobs) != 1 || jobs[0].ID != job.ID {
			t.Fatalf("claimed %v", jobs)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sp := newSpy(st)
	ran := make(chan offramp.Job, 1)
	r := worker.New(worker.Config{Store: sp, Clock: clk, Poll: 2 * time.Millisecond, Lease: time.Minute, Log: quiet(),
		Handler: func(ctx context.Context, j offramp.Job) error { ran <- j; return nil }})
	start(t, r)
	e, next := sp.await(ctx, t, 0, "a claim of verify_kyc", func(e event) bool { return e.claims(job.Kind) && e.err == nil })
	if len(e.jobs) != 0 || len(ran) != 0 {
		t.Fatal("job stolen while its lease was valid")
	}
	clk.Advance(61 * time.Second)
	j := recv(ctx, t, ran, "the job to run after the lease lapsed")
	if j.ID != job.ID || j.Lease == "dead-runner" {
		t.Fatalf("ran %+v", j)
	}
	if fin, _ := sp.await(ctx, t, next, "the job to finish", func(e event) bool { return e.op == "finish" }); fin.err != nil {
		t.Fatalf("finish: %v", fin.err)
	}
}

// A handler that panics is recovered: the job is retried, and the runner
// goes on.
func TestPanicIsRetried(t *testing.T) {
	t.Parallel()
	ctx := guard(t)
	clk := clock.NewFake(t0)
	st := openStore(t, clk)
	sp := newSpy(st)
	ran := make(chan offramp.Job, 10)
	r := worker.New(worker.Config{Store: sp, Clock: clk, Poll: 2 * time.Millisecond, Log: quiet(),
		Handler: func(ctx context.Context, j offramp.Job) error {
			ran <- j
			if j.Attempts == 1 {
				panic("nil map")
			}
			return nil
		}})
	job := enqueue(t, st, uuid.New(), offramp.JobProcessPayout, clk.Now())
	start(t, r)
	retry, next := sp.await(ctx, t, 0, "the retry", func(e event) bool { return e.op == "retry" })
	if retry.err != nil || retry.id != job.ID || retry.lastErr != "job panicked" {
		t.Fatalf("retry: %+v", retry)
	}
	clk.Advance(2 * time.Second)
	if fin, _ := sp.await(ctx, t, next, "the job to finish", func(e event) bool { return e.op == "finish" }); fin.err != nil {
		t.Fatalf("finish: %v", fin.err)
	}
	if n := len(ran); n != 2 {
		t.Fatalf("ran %d times", n)
	}
}

// Cancelling Run stops claiming but waits for the jobs in flight, whose
// context is not cancelled (only bounded by the lease), so that they
// record their result.
func TestShutdownWaitsForJobsInFlight(t *testing.T) {
	t.Parallel()
	ctx := guard(t)
	clk := clock.NewFake(t0)
	st := openStore(t, clk)
	sp := newSpy(st)
	started, release := make(chan context.Context, 1), make(chan struct{})
	stopping := make(chan slog.Record, 10)
	lease := 7 * time.Minute
	r := worker.New(worker.Config{Store: sp, Clock: clk, Poll: 2 * time.Millisecond, Lease: lease, Log: slog.New(recordHandler(stopping)),
		Handler: func(ctx context.Context, j offramp.Job) error {
			started <- ctx
			select {
			case <-release:
				return ctx.Err()
			case <-t.Context().Done():
				return t.Context().Err()
			}
		}})
	job := enqueue(t, st, uuid.New(), offramp.JobDeliverWebhook, clk.Now())
	rn := start(t, r)
	jctx := recv(ctx, t, started, "the job to start")
	if dl, ok := jctx.Deadline(); !ok || time.Until(dl) > lease {
		t.Fatalf("job context deadline %v, %v; want within the %v lease", dl, ok, lease)
	}
	rn.cancel()
	// The pool has seen the cancellation and stopped claiming; the job is
	// still blocked. A Run that did not wait would return now.
	for rec := recv(ctx, t, stopping, "the pool to say it waits for its job"); !strings.Contains(rec.Message, "waiting for jobs in flight"); {
		rec = recv(ctx, t, stopping, "the pool to say it waits for its job")
	}
	close(release)
	recv(ctx, t, rn.done, "Run to return")
	fins := sp.all(func(e event) bool { return e.op == "finish" && e.id == job.ID })
	if len(fins) != 1 || fins[0].err != nil {
		t.Fatalf("Run returned before the job in flight finished (finishes: %+v)", fins)
	}
	// The handler returned its context's error: a retry would mean the
	// shutdown cancelled it.
	if len(sp.all(func(e event) bool { return e.op == "retry" })) != 0 {
		t.Fatal("the job in flight saw its context cancelled by the shutdown")
	}
}

// Each pool claims only its kinds, as many as it has free slots, with the
// pool's per-organization cap, the runner's lease, and a lease token of its
// own per claim.
func TestClaimsPerPool(t *testing.T) {
	t.Parallel()
	ctx := guard(t)
	clk := clock.NewFake(t0)
	st := openStore(t, clk)
	sp := newSpy(st)
	started, release := make(chan offramp.Job, 1), make(chan struct{})
	r := worker.New(worker.Config{Store: sp, Clock: clk, Poll: 2 * time.Millisecond, Lease: 5 * time.Minute, Log: quiet(),
		Handler: func(ctx context.Context, j offramp.Job) error {
			started <- j
			select {
			case <-release:
			case <-t.Context().Done():
			}
			return nil
		}})
	pools := r.Pools()
	want := map[string]worker.Pool{
		"bank":    {Name: "bank", Kinds: []offramp.JobKind{offramp.JobProcessPayout}, Capacity: 8, PerOrg: 4},
		"webhook": {Name: "webhook", Kinds: []offramp.JobKind{offramp.JobDeliverWebhook}, Capacity: 8, PerOrg: 4},
		"verify":  {Name: "verify", Kinds: []offramp.JobKind{offramp.JobVerifyKYC, offramp.JobVerifyBank, offramp.JobVerifyEDD}, Capacity: 4, PerOrg: 2},
	}
	if len(pools) != len(want) {
		t.Fatalf("default pools %+v", pools)
	}
	for _, p := range pools {
		if w := want[p.Name]; !slices.Equal(p.Kinds, w.Kinds) || p.Capacity != w.Capacity || p.PerOrg != w.PerOrg {
			t.Errorf("default pool %+v, want %+v", p, w)
		}
	}

	enqueue(t, st, uuid.New(), offramp.JobVerifyBank, clk.Now())
	start(t, r)
	j := recv(ctx, t, started, "the verify_bank job to start")
	// With one of its slots taken, the verify pool asks for the other three.
	_, next := sp.await(ctx, t, 0, "the claim that took the job", func(e event) bool { return len(e.jobs) == 1 })
	e, _ := sp.await(ctx, t, next, "a later verify claim", func(e event) bool { return e.claims(offramp.JobVerifyBank) })
	if e.claim.Limit != 3 {
		t.Errorf("verify pool with one slot busy asked for %d jobs, want 3", e.claim.Limit)
	}
	// Every pool claimed, and each claim is as configured.
	for _, p := range want {
		sp.await(ctx, t, 0, "a claim of pool "+p.Name, func(e event) bool { return e.claims(p.Kinds[0]) })
	}
	close(release)
	owners := map[string]bool{}
	prefix := ""
	for _, e := range sp.all(func(e event) bool { return e.op == "claim" }) {
		var p worker.Pool
		for _, w := range want {
			if slices.Equal(w.Kinds, e.claim.Kinds) {
				p = w
			}
		}
		if p.Name == "" {
			t.Fatalf("a claim for kinds %v, no pool's", e.claim.Kinds)
		}
		c := e.claim
		if c.PerOrg != p.PerOrg || c.Limit < 1 || c.Limit > p.Capacity || c.Lease != 5*time.Minute || !c.Now.Equal(t0) {
			t.Fatalf("pool %s claimed %+v", p.Name, c)
		}
		if owners[c.Owner] {
			t.Fatalf("lease token %q used by two claims", c.Owner)
		}
		owners[c.Owner] = true
		runner, _, ok := strings.Cut(c.Owner, "/")
		if prefix == "" {
			prefix = runner
		}
		if !ok || runner != prefix {
			t.Fatalf("lease token %q is not the runner's id and a suffix (first: %q)", c.Owner, prefix)
		}
		for _, cj := range e.jobs {
			if cj.Lease != c.Owner {
				t.Fatalf("job claimed under %q carries lease %q", c.Owner, cj.Lease)
			}
		}
	}
	if !owners[j.Lease] {
		t.Fatalf("the handler got lease %q, not a claim's token", j.Lease)
	}
}

// The incident: organization A's bank hangs on 24 payouts and its webhook
// receiver never answers, and its KYC checks hang too. Organization B's
// payouts, webhooks and KYC checks must all run while every one of A's
// jobs is still stuck, and A never holds more than PerOrg slots of a pool.
func TestFairnessAcrossKindsAndOrganizations(t *testing.T) {
	t.Parallel()
	ctx := guard(t)
	clk := clock.NewFake(t0)
	st := openStore(t, clk)
	sp := newSpy(st)
	orgA, orgB := uuid.New(), uuid.New()

	var (
		poolOf  = map[offramp.JobKind]worker.Pool{}
		mu      sync.Mutex
		running = map[string]int{} // pool, and org+pool
		maxSeen = map[string]int{}
		aDone   int
	)
	enter := func(j offramp.Job) {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range []string{poolOf[j.Kind].Name, j.OrgID.String() + "/" + poolOf[j.Kind].Name} {
			running[k]++
			maxSeen[k] = max(maxSeen[k], running[k])
		}
	}
	leave := func(j offramp.Job) {
		mu.Lock()
		defer mu.Unlock()
		running[poolOf[j.Kind].Name]--
		running[j.OrgID.String()+"/"+poolOf[j.Kind].Name]--
		if j.OrgID == orgA {
			aDone++
		}
	}
	aStarted := make(chan offramp.Job, 100)
	bDone := make(chan offramp.Job, 100)
	release := make(chan struct{}) // A's bank, receiver and verifier answer
	r := worker.New(worker.Config{Store: sp, Clock: clk, Poll: 2 * time.Millisecond, Lease: time.Hour, Log: quiet(),
		Handler: func(ctx context.Context, j offramp.Job) error {
			enter(j)
			defer leave(j)
			if j.OrgID == orgB {
				bDone <- j
				return nil
			}
			aStarted <- j
			select {
			case <-release:
				return nil
			case <-t.Context().Done():
				return t.Context().Err()
			}
		}})
	pools := r.Pools() // the defaults
	for _, p := range pools {
		for _, k := range p.Kinds {
			poolOf[k] = p
		}
	}

	aJobs := map[offramp.JobKind]int{offramp.JobProcessPayout: 24, offramp.JobDeliverWebhook: 5, offramp.JobVerifyKYC: 3}
	total := 0
	for k, n := range aJobs {
		for range n {
			enqueue(t, st, orgA, k, clk.Now())
			total++
		}
	}
	start(t, r)
	// A fills its share of every pool, and no more can start.
	held := map[string]int{}
	want := 0
	for _, p := range pools {
		want += p.PerOrg
	}
	for range want {
		j := recv(ctx, t, aStarted, fmt.Sprintf("A's jobs to take their share of slots (have %v)", held))
		held[poolOf[j.Kind].Name]++
	}
	for _, p := range pools {
		if held[p.Name] != p.PerOrg {
			t.Fatalf("A holds %d slots of pool %s, want its PerOrg %d", held[p.Name], p.Name, p.PerOrg)
		}
	}

	bJobs := map[offramp.JobKind]int{offramp.JobProcessPayout: 6, offramp.JobDeliverWebhook: 6, offramp.JobVerifyKYC: 3}
	bWant := map[uuid.UUID]bool{}
	for k, n := range bJobs {
		for range n {
			bWant[enqueue(t, st, orgB, k, clk.Now()).ID] = true
			total++
		}
	}
	for len(bWant) > 0 {
		j := recv(ctx, t, bDone, fmt.Sprintf("B's jobs to run while A's hang (%d of B's jobs still waiting)", len(bWant)))
		delete(bWant, j.ID)
	}
	mu.Lock()
	if aDone != 0 || len(aStarted) != 0 {
		t.Fatalf("A's jobs moved (%d done, %d more started) while they were all stuck", aDone, len(aStarted))
	}
	mu.Unlock()

	// A's bank and receiver answer: the rest of A's backlog drains.
	close(release)
	for n, from := 0, 0; n < total; n++ {
		_, from = sp.await(ctx, t, from, fmt.Sprintf("every job to finish (%d of %d)", n, total),
			func(e event) bool { return e.op == "finish" && e.err == nil })
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range pools {
		if m := maxSeen[orgA.String()+"/"+p.Name]; m > p.PerOrg {
			t.Errorf("A held %d slots of pool %s at once, more than PerOrg %d", m, p.Name, p.PerOrg)
		}
		if m := maxSeen[p.Name]; m > p.Capacity {
			t.Errorf("pool %s ran %d jobs at once, more than its capacity %d", p.Name, m, p.Capacity)
		}
	}
}

// A step that reschedules its own job for now makes it due at once: the
// same runner claims it again while the goroutine of the first run is
// still finishing. That goroutine's FinishJob carries the first claim's
// lease token, so it fails as stale instead of deleting the job the second
// run holds.
func TestRescheduledForNowRunsAgainUnderANewLease(t *testing.T) {
	t.Parallel()
	ctx := guard(t)
	clk := clock.NewFake(t0)
	st := openStore(t, clk)
	sp := newSpy(st)
	runs := make(chan offramp.Job, 10)
	logs := make(chan slog.Record, 100)
	var calls atomic.Int32
	secondStarted, releaseSecond := make(chan struct{}), make(chan struct{})
	r := worker.New(worker.Config{Store: sp, Clock: clk, Poll: 2 * time.Millisecond, Lease: time.Hour, Log: slog.New(recordHandler(logs)),
		Pools: []worker.Pool{{Name: "verify", Kinds: []offramp.JobKind{offramp.JobVerifyKYC}, Capacity: 2}},
		Handler: func(ctx context.Context, j offramp.Job) error {
			runs <- j
			var wait <-chan struct{}
			if calls.Add(1) == 1 {
				// First step: record the work and the next step together.
				err := st.Update(ctx, func(tx offramp.Tx) error { return tx.RescheduleJob(ctx, j, clk.Now()) })
				if err != nil {
					return err
				}
				wait = secondStarted // still finishing when the next step starts
			} else {
				close(secondStarted)
				wait = releaseSecond
			}
			select {
			case <-wait:
				return nil
			case <-t.Context().Done():
				return t.Context().Err()
			}
		}})
	job := enqueue(t, st, uuid.New(), offramp.JobVerifyKYC, clk.Now())
	start(t, r)
	first := recv(ctx, t, runs, "the first run")
	second := recv(ctx, t, runs, "the rescheduled job to run again")
	if first.ID != job.ID || second.ID != job.ID {
		t.Fatalf("runs of %v and %v, want %v", first.ID, second.ID, job.ID)
	}
	if first.Lease == "" || first.Lease == second.Lease {
		t.Fatalf("both runs hold lease %q", first.Lease)
	}
	fin, next := sp.await(ctx, t, 0, "the first run's FinishJob", func(e event) bool { return e.op == "finish" })
	if fin.lease != first.Lease || !errors.Is(fin.err, offramp.ErrStale) {
		t.Fatalf("first run's finish: lease %q, err %v; want lease %q, ErrStale", fin.lease, fin.err, first.Lease)
	}
	if jobs := liveJobs(t, st, job); len(jobs) != 1 {
		t.Fatalf("the first run's goroutine removed the job the second run holds: %+v", jobs)
	}
	close(releaseSecond)
	fin, _ = sp.await(ctx, t, next, "the second run's FinishJob", func(e event) bool { return e.op == "finish" })
	if fin.lease != second.Lease || fin.err != nil {
		t.Fatalf("second run's finish: lease %q, err %v", fin.lease, fin.err)
	}
	if jobs := liveJobs(t, st, job); len(jobs) != 0 {
		t.Fatalf("job still there: %+v", jobs)
	}
	if len(runs) != 0 {
		t.Fatal("the job ran a third time")
	}
	// The first run's stale FinishJob is the normal case, not an error.
	for len(logs) > 0 {
		if rec := <-logs; rec.Level >= slog.LevelWarn {
			t.Errorf("logged %s %q", rec.Level, rec.Message)
		}
	}
}

// A pool claims again as soon as one of its slots frees, not on the next
// poll (an hour away here).
func TestClaimsAgainWhenASlotFrees(t *testing.T) {
	t.Parallel()
	ctx := guard(t)
	clk := clock.NewFake(t0)
	st := openStore(t, clk)
	ran := make(chan offramp.Job, 10)
	r := worker.New(worker.Config{Store: st, Clock: clk, Poll: time.Hour, Log: quiet(),
		Pools:   []worker.Pool{{Name: "bank", Kinds: []offramp.JobKind{offramp.JobProcessPayout}, Capacity: 1}},
		Handler: func(ctx context.Context, j offramp.Job) error { ran <- j; return nil }})
	want := map[uuid.UUID]bool{}
	for range 3 {
		want[enqueue(t, st, uuid.New(), offramp.JobProcessPayout, clk.Now()).ID] = true
	}
	start(t, r)
	for len(want) > 0 {
		j := recv(ctx, t, ran, fmt.Sprintf("the next job once a slot freed (%d left)", len(want)))
		delete(want, j.ID)
	}
}

// The metrics: results and durations by kind, busy slots by pool, and the
// queue depth by kind and state, read from the store at scrape time.
func TestMetrics(t *testing.T) {
	t.Parallel()
	ctx := guard(t)
	clk := clock.NewFake(t0)
	st := openStore(t, clk)
	sp := newSpy(st)
	reg := prometheus.NewPedanticRegistry()
	started, release := make(chan offramp.Job, 1), make(chan struct{})
	r := worker.New(worker.Config{Store: sp, Clock: clk, Poll: 2 * time.Millisecond, Log: quiet(), Registerer: reg,
		// No pool runs payouts: they stay due.
		Pools: []worker.Pool{{Name: "verify", Kinds: []offramp.JobKind{offramp.JobVerifyKYC}, Capacity: 2}},
		Handler: func(ctx context.Context, j offramp.Job) error {
			started <- j
			select {
			case <-release:
			case <-t.Context().Done():
			}
			return nil
		}})
	org := uuid.New()
	job := enqueue(t, st, org, offramp.JobVerifyKYC, clk.Now())
	enqueue(t, st, org, offramp.JobVerifyKYC, clk.Now().Add(time.Hour))
	enqueue(t, st, org, offramp.JobProcessPayout, clk.Now())
	enqueue(t, st, org, offramp.JobProcessPayout, clk.Now())
	rn := start(t, r)
	recv(ctx, t, started, "the job to start")

	m := gather(t, reg)
	for series, want := range map[string]float64{
		`offramp_job_queue_depth{kind="verify_kyc",state="leased"}`:        1,
		`offramp_job_queue_depth{kind="verify_kyc",state="scheduled"}`:     1,
		`offramp_job_queue_depth{kind="verify_kyc",state="due"}`:           0,
		`offramp_job_queue_depth{kind="process_payout",state="due"}`:       2,
		`offramp_job_queue_depth{kind="process_payout",state="leased"}`:    0,
		`offramp_job_queue_depth{kind="process_payout",state="scheduled"}`: 0,
		`offramp_worker_busy_slots{pool="verify"}`:                         1,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	close(release)
	sp.await(ctx, t, 0, "the job to finish", func(e event) bool { return e.op == "finish" && e.id == job.ID })
	rn.stop()
	m = gather(t, reg)
	for series, want := range map[string]float64{
		`offramp_jobs_total{kind="verify_kyc",result="ok"}`:             1,
		`offramp_job_duration_seconds_count{kind="verify_kyc"}`:         1,
		`offramp_worker_busy_slots{pool="verify"}`:                      0,
		`offramp_job_queue_depth{kind="verify_kyc",state="leased"}`:     0,
		`offramp_job_queue_depth{kind="verify_kyc",state="scheduled"}`:  1,
		`offramp_job_queue_depth{kind="process_payout",state="due"}`:    2,
		`offramp_job_queue_depth{kind="process_payout",state="leased"}`: 0,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
}

// gather renders every sample as name{label="value",...} (labels in
// the registry's order, which is sorted by name) to its value; histograms
// as their _count.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			name := mf.GetName()
			var v float64
			switch {
			case m.GetHistogram() != nil:
				name += "_count"
				v = float64(m.GetHistogram().GetSampleCount())
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			default:
				v = m.GetGauge().GetValue()
			}
			out[name+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

// Pools are checked when the runner is built: a pool without kinds would
// claim every kind, and a kind in two pools would get two shares.
func TestPoolConfig(t *testing.T) {
	t.Parallel()
	for name, pools := range map[string][]worker.Pool{
		"no kinds":   {{Name: "x", Capacity: 2}},
		"kind twice": {{Kinds: []offramp.JobKind{offramp.JobVerifyKYC}}, {Kinds: []offramp.JobKind{offramp.JobVerifyBank, offramp.JobVerifyKYC}}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: New accepted %+v", name, pools)
				}
			}()
			worker.New(worker.Config{Pools: pools})
		}()
	}
	r := worker.New(worker.Config{Pools: []worker.Pool{
		{Kinds: []offramp.JobKind{offramp.JobVerifyKYC, offramp.JobVerifyEDD}},
		{Name: "one", Kinds: []offramp.JobKind{offramp.JobProcessPayout}, Capacity: 1},
		{Name: "capped", Kinds: []offramp.JobKind{offramp.JobDeliverWebhook}, Capacity: 3, PerOrg: 9},
	}})
	got := r.Pools()
	if p := got[0]; p.Name != "verify_kyc+verify_edd" || p.Capacity != 4 || p.PerOrg != 2 {
		t.Errorf("defaults: %+v", p)
	}
	if p := got[1]; p.PerOrg != 1 {
		t.Errorf("capacity 1: PerOrg %d, want 1", p.PerOrg)
	}
	if p := got[2]; p.PerOrg != 3 {
		t.Errorf("PerOrg above capacity: %d, want 3", p.PerOrg)
	}
	// The serve flags' pools: one organization gets at most half of each.
	got = worker.New(worker.Config{Pools: worker.DefaultPools(6, 3, 1)}).Pools()
	for i, want := range []struct {
		name             string
		capacity, perOrg int
	}{{"bank", 6, 3}, {"webhook", 3, 1}, {"verify", 1, 1}} {
		if p := got[i]; p.Name != want.name || p.Capacity != want.capacity || p.PerOrg != want.perOrg {
			t.Errorf("DefaultPools(6, 3, 1)[%d] = %+v, want %+v", i, p, want)
		}
	}
}

// A pool whose handler finishes its own jobs gets no FinishJob from the
// runner after a success: a job the handler left alone stays leased.
func TestHandlerFinishesSkipsTheRunnersFinish(t *testing.T) {
	t.Parallel()
	ctx := guard(t)
	clk := clock.NewFake(t0)
	st := openStore(t, clk)
	sp := newSpy(st)
	ran := make(chan offramp.Job, 10)
	r := worker.New(worker.Config{Store: sp, Clock: clk, Poll: 2 * time.Millisecond, Log: quiet(),
		Pools: []worker.Pool{{Kinds: []offramp.JobKind{offramp.JobDeliverWebhook}, Capacity: 1, HandlerFinishes: true}},
		Handler: func(ctx context.Context, j offramp.Job) error {
			ran <- j
			return nil
		}})
	job := enqueue(t, st, uuid.New(), offramp.JobDeliverWebhook, clk.Now())
	start(t, r)
	got := recv(ctx, t, ran, "the job to run")
	// Capacity 1: the pool claims again only once the job's slot is free,
	// that is after the runner is done with the job.
	sp.await(ctx, t, sp.mark(), "a claim after the job", func(e event) bool { return e.op == "claim" })
	if fins := sp.all(func(e event) bool { return e.op == "finish" }); len(fins) != 0 {
		t.Fatalf("the runner finished a job its handler finishes: %+v", fins)
	}
	jobs := liveJobs(t, st, job)
	if len(jobs) != 1 || jobs[0].Lease != got.Lease {
		t.Fatalf("the job left by its handler: %+v, want it still leased as %q", jobs, got.Lease)
	}
}
