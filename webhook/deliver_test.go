package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/sqlstore"
	"github.com/offramp/offramp/vault"
	"github.com/offramp/offramp/webhook"
)

// lease is how long a claim holds a job in these tests.
const lease = 30 * time.Second

// bundle is one test's world: a SQLite store, a fake clock, an
// organization whose webhook URL is a real receiver on 127.0.0.1, and a
// Deliverer.
type bundle struct {
	store *sqlstore.Store
	clk   *clock.Fake
	org   offramp.Org
	rcv   *receiver
	d     *webhook.Deliverer
}

func setup(t *testing.T, codes ...int) *bundle {
	t.Helper()
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 3, 13, 10, 0, 0, 0, time.UTC))
	v, err := vault.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "webhook.db"), v, sqlstore.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	b := &bundle{store: st, clk: clk}
	b.rcv = newReceiver(t, clk, codes...)
	b.org = offramp.Org{ID: uuid.New(), Name: "Exchange", Env: offramp.EnvSandbox, APIKey: "key_" + uuid.NewString()[:8],
		APISecret: "sk_" + uuid.NewString(), WebhookURL: b.rcv.srv.URL + "/hooks", CreatedAt: clk.Now()}
	b.rcv.key, b.rcv.secret = b.org.APIKey, b.org.APISecret
	b.update(t, func(tx offramp.Tx) error { return tx.CreateOrg(t.Context(), b.org) })
	b.d = webhook.NewDeliverer(webhook.DelivererConfig{Store: st, Clock: clk, Log: slog.New(slog.DiscardHandler),
		Client: webhook.NewClient(webhook.ClientOptions{AllowPrivate: true})})
	return b
}

func (b *bundle) update(t *testing.T, fn func(offramp.Tx) error) {
	t.Helper()
	if err := b.store.Update(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
}

// emit records a deliverable event (a customer VERIFIED) through Emit.
func (b *bundle) emit(t *testing.T) offramp.Event {
	t.Helper()
	var ev offramp.Event
	b.update(t, func(tx offramp.Tx) error {
		var err error
		ev, err = webhook.Emit(t.Context(), tx, offramp.Event{OrgID: b.org.ID, ObjectType: offramp.ObjectCustomer,
			ObjectID: uuid.New(), Event: string(offramp.CustomerVerified), CreatedAt: b.clk.Now()}, b.clk.Now())
		return err
	})
	return ev
}

// claim leases the due delivery jobs to owner, as a worker would.
func (b *bundle) claim(t *testing.T, owner string) []offramp.Job {
	t.Helper()
	var jobs []offramp.Job
	b.update(t, func(tx offramp.Tx) error {
		var err error
		jobs, err = tx.ClaimJobs(t.Context(), offramp.JobClaim{Now: b.clk.Now(), Owner: owner, Lease: lease, Limit: 10,
			Kinds: []offramp.JobKind{offramp.JobDeliverWebhook}})
		return err
	})
	return jobs
}

// claimOne claims and expects exactly one job, for event.
func (b *bundle) claimOne(t *testing.T, owner string, event uuid.UUID) offramp.Job {
	t.Helper()
	jobs := b.claim(t, owner)
	if len(jobs) != 1 || jobs[0].RefID != event || jobs[0].Kind != offramp.JobDeliverWebhook {
		t.Fatalf("claimed %+v, want the one delivery job of event %s", jobs, event)
	}
	return jobs[0]
}

// jobs lists the event's live delivery jobs.
func (b *bundle) jobs(t *testing.T, event uuid.UUID) []offramp.Job {
	t.Helper()
	var jobs []offramp.Job
	err := b.store.View(t.Context(), func(tx offramp.ReadTx) error {
		var err error
		jobs, err = tx.Jobs(t.Context(), offramp.JobDeliverWebhook, event)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

// delivery reads the event's delivery and its attempts.
func (b *bundle) delivery(t *testing.T, event uuid.UUID) (offramp.Delivery, []offramp.DeliveryAttempt) {
	t.Helper()
	var (
		d  offramp.Delivery
		as []offramp.DeliveryAttempt
	)
	err := b.store.View(t.Context(), func(tx offramp.ReadTx) error {
		var err error
		if d, err = tx.Delivery(t.Context(), b.org.ID, event); err != nil {
			return err
		}
		as, err = tx.DeliveryAttempts(t.Context(), b.org.ID, event)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return d, as
}

func (b *bundle) run(t *testing.T, j offramp.Job) {
	t.Helper()
	if err := b.d.Run(t.Context(), j); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// expectOneJob checks that the event has exactly one live delivery job,
// due when the delivery says the next attempt is, and released: it cannot
// be claimed before it is due.
func (b *bundle) expectOneJob(t *testing.T, event uuid.UUID) offramp.Job {
	t.Helper()
	jobs := b.jobs(t, event)
	if len(jobs) != 1 {
		t.Fatalf("%d live delivery jobs for the event, want exactly 1: %+v", len(jobs), jobs)
	}
	d, _ := b.delivery(t, event)
	if d.State != offramp.DeliveryPending || !jobs[0].RunAt.Equal(d.NextAttemptAt) || !d.NextAttemptAt.After(b.clk.Now()) {
		t.Fatalf("job runs at %v, delivery %+v (now %v): want a PENDING delivery and its job due at its next attempt",
			jobs[0].RunAt, d, b.clk.Now())
	}
	if early := b.claim(t, "early"); len(early) != 0 {
		t.Fatalf("a job was claimable before its next attempt: %+v", early)
	}
	return jobs[0]
}

// replay replays the event's delivery through Replay.
func (b *bundle) replay(t *testing.T, event uuid.UUID) offramp.Delivery {
	t.Helper()
	var d offramp.Delivery
	b.update(t, func(tx offramp.Tx) error {
		var err error
		d, err = webhook.Replay(t.Context(), tx, b.org.ID, event, b.clk.Now())
		return err
	})
	return d
}

// receiver is a webhook endpoint that answers with the codes it is given
// in turn (then 200), verifies every request and keeps it.
type receiver struct {
	t           testing.TB
	clk         *clock.Fake
	key, secret string
	srv         *httptest.Server

	mu       sync.Mutex
	codes    []int
	requests []received
	// during, if set, runs inside the request before it is answered.
	during func()
}

type received struct {
	webhookID string
	env       webhook.Envelope
	verifyErr error
}

func newReceiver(t testing.TB, clk *clock.Fake, codes ...int) *receiver {
	r := &receiver{t: t, clk: clk, codes: codes}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		env, err := webhook.Verify(req.Header, body, r.key, r.secret, 0, r.clk.Now())
		r.requests = append(r.requests, received{webhookID: req.Header.Get(webhook.HeaderWebhookID), env: env, verifyErr: err})
		code := http.StatusOK
		if len(r.codes) > 0 {
			code, r.codes = r.codes[0], r.codes[1:]
		}
		during := r.during
		r.during = nil
		r.mu.Unlock()
		if during != nil {
			during()
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.requests...)
}

// expectSent checks that the receiver got n requests, all of event, all
// verifying.
func (r *receiver) expectSent(t *testing.T, n int, event uuid.UUID) {
	t.Helper()
	got := r.got()
	if len(got) != n {
		t.Fatalf("receiver got %d requests, want %d", len(got), n)
	}
	for i, g := range got {
		if g.verifyErr != nil {
			t.Fatalf("request %d does not verify: %v", i+1, g.verifyErr)
		}
		if g.webhookID != event.String() || g.env.WebhookID != event.String() {
			t.Fatalf("request %d has X-WEBHOOK-ID %q (webhook_id %q), want %s", i+1, g.webhookID, g.env.WebhookID, event)
		}
	}
}

func codesOf(as []offramp.DeliveryAttempt) []int {
	out := make([]int, len(as))
	for i, a := range as {
		out[i] = a.StatusCode
	}
	return out
}

// A receiver that fails twice then answers 200: three attempts, one job
// for the event after each failure (the same job, rescheduled), none once
// delivered.
func TestDeliverRetriesUntilDelivered(t *testing.T) {
	b := setup(t, http.StatusInternalServerError, http.StatusServiceUnavailable)
	ev := b.emit(t)
	first := b.claimOne(t, "runner-1", ev.ID)

	j := first
	for i, code := range []int{500, 503} {
		b.run(t, j)
		d, as := b.delivery(t, ev.ID)
		if d.Attempts != i+1 || len(as) != i+1 || as[i].StatusCode != code || d.LastStatusCode != code {
			t.Fatalf("after failure %d: delivery %+v, attempts %v", i+1, d, codesOf(as))
		}
		if live := b.expectOneJob(t, ev.ID); live.ID != first.ID {
			t.Fatalf("failure %d left job %s, want the event's job %s rescheduled", i+1, live.ID, first.ID)
		}
		b.clk.Set(d.NextAttemptAt)
		j = b.claimOne(t, "runner-1", ev.ID)
	}
	b.run(t, j)

	d, as := b.delivery(t, ev.ID)
	if d.State != offramp.DeliveryDelivered || d.Attempts != 3 || d.DeliveredAt.IsZero() || !d.NextAttemptAt.IsZero() {
		t.Fatalf("delivery %+v, want DELIVERED after 3 attempts", d)
	}
	if got := codesOf(as); len(got) != 3 || got[0] != 500 || got[1] != 503 || got[2] != 200 {
		t.Fatalf("attempts %v, want [500 503 200]", got)
	}
	for i, a := range as {
		if a.Number != i+1 || a.URL != b.org.WebhookURL || a.Latency <= 0 {
			t.Fatalf("attempt %d: %+v", i+1, a)
		}
	}
	if jobs := b.jobs(t, ev.ID); len(jobs) != 0 {
		t.Fatalf("%d live delivery jobs after delivery, want 0: %+v", len(jobs), jobs)
	}
	b.rcv.expectSent(t, 3, ev.ID)
}

// A runner whose lease lapsed during the request, the job claimed by
// another runner meanwhile, records nothing: the other runner's attempt is
// the one recorded.
func TestDeliverStaleLeaseRecordsNothing(t *testing.T) {
	b := setup(t, http.StatusInternalServerError)
	ev := b.emit(t)
	slow := b.claimOne(t, "runner-slow", ev.ID)

	// While the request is in flight the lease lapses and another runner
	// claims the job (the handler runs on the server's goroutine: no
	// t.Fatal there).
	var (
		mu       sync.Mutex
		claimed  []offramp.Job
		claimErr error
	)
	b.rcv.mu.Lock()
	b.rcv.during = func() {
		b.clk.Advance(lease + time.Second)
		err := b.store.Update(context.Background(), func(tx offramp.Tx) error {
			jobs, err := tx.ClaimJobs(context.Background(), offramp.JobClaim{Now: b.clk.Now(), Owner: "runner-other", Lease: lease, Limit: 10})
			mu.Lock()
			claimed = jobs
			mu.Unlock()
			return err
		})
		mu.Lock()
		claimErr = err
		mu.Unlock()
	}
	b.rcv.mu.Unlock()
	b.run(t, slow) // answered 500, but the lease is gone
	mu.Lock()
	if claimErr != nil || len(claimed) != 1 {
		t.Fatalf("the other runner claimed %+v (%v), want the one job", claimed, claimErr)
	}
	other := claimed[0]
	mu.Unlock()

	d, as := b.delivery(t, ev.ID)
	if d.Attempts != 0 || len(as) != 0 || d.State != offramp.DeliveryPending {
		t.Fatalf("a runner without its lease recorded: delivery %+v, attempts %v", d, codesOf(as))
	}
	jobs := b.jobs(t, ev.ID)
	j := other
	if len(jobs) != 1 || jobs[0].ID != slow.ID || j.ID != slow.ID || j.Lease == slow.Lease {
		t.Fatalf("live jobs %+v, want the one job, claimed again by the other runner (%+v)", jobs, j)
	}

	b.run(t, j) // answered 200
	d, as = b.delivery(t, ev.ID)
	if d.State != offramp.DeliveryDelivered || d.Attempts != 1 || len(as) != 1 || as[0].Number != 1 || as[0].StatusCode != 200 {
		t.Fatalf("delivery %+v, attempts %v: want the other runner's attempt 1, delivered", d, codesOf(as))
	}
	if jobs := b.jobs(t, ev.ID); len(jobs) != 0 {
		t.Fatalf("%d live delivery jobs after delivery, want 0", len(jobs))
	}
	// A late record of the stale runner changes nothing either.
	b.run(t, slow)
	if d2, as2 := b.delivery(t, ev.ID); d2 != d || len(as2) != 1 {
		t.Fatalf("stale runner ran again: delivery %+v, %d attempts", d2, len(as2))
	}
	b.rcv.expectSent(t, 2, ev.ID)
}

// A crash between the request and its record loses nothing and forks
// nothing: the lease lapses, the same job is claimed again and the attempt
// is sent again (at least once, same X-WEBHOOK-ID), leaving one job.
func TestDeliverCrashBeforeRecordResends(t *testing.T) {
	// The receiver took the lost attempt (200) but the re-sent one fails
	// (500), so the delivery goes on: with exactly one job.
	b := setup(t, http.StatusOK, http.StatusInternalServerError)
	ev := b.emit(t)
	crashed := b.claimOne(t, "runner-crashed", ev.ID)
	if _, err := b.d.Attempt(t.Context(), crashed); err != nil { // and never recorded
		t.Fatal(err)
	}
	b.rcv.expectSent(t, 1, ev.ID)
	if jobs := b.jobs(t, ev.ID); len(jobs) != 1 || jobs[0].ID != crashed.ID {
		t.Fatalf("live jobs after the crash %+v, want the one job", jobs)
	}
	if early := b.claim(t, "runner-early"); len(early) != 0 {
		t.Fatalf("a job under lease was claimed: %+v", early)
	}

	b.clk.Advance(lease + time.Second)
	again := b.claimOne(t, "runner-2", ev.ID)
	if again.ID != crashed.ID {
		t.Fatalf("claimed job %s, want the crashed runner's job %s", again.ID, crashed.ID)
	}
	b.run(t, again)
	b.rcv.expectSent(t, 2, ev.ID)
	d, as := b.delivery(t, ev.ID)
	if d.Attempts != 1 || len(as) != 1 || as[0].Number != 1 || as[0].StatusCode != 500 {
		t.Fatalf("delivery %+v, attempts %v: want the re-sent attempt recorded as attempt 1", d, codesOf(as))
	}
	b.expectOneJob(t, ev.ID)

	b.clk.Set(d.NextAttemptAt)
	b.run(t, b.claimOne(t, "runner-2", ev.ID))
	if d, _ := b.delivery(t, ev.ID); d.State != offramp.DeliveryDelivered || d.Attempts != 2 {
		t.Fatalf("delivery %+v, want DELIVERED after 2 attempts", d)
	}
	if jobs := b.jobs(t, ev.ID); len(jobs) != 0 {
		t.Fatalf("%d live delivery jobs after delivery, want 0", len(jobs))
	}
	b.rcv.expectSent(t, 3, ev.ID)
}

// Every attempt failing: after the last one of the schedule the delivery
// is FAILED and its job gone.
func TestDeliverGivesUpAfterSchedule(t *testing.T) {
	codes := make([]int, len(webhook.Schedule)+1)
	for i := range codes {
		codes[i] = http.StatusBadGateway
	}
	b := setup(t, codes...)
	ev := b.emit(t)
	for i := range codes {
		b.run(t, b.claimOne(t, "runner", ev.ID))
		d, _ := b.delivery(t, ev.ID)
		if i < len(webhook.Schedule) {
			b.expectOneJob(t, ev.ID)
			b.clk.Set(d.NextAttemptAt)
		}
	}
	d, as := b.delivery(t, ev.ID)
	if d.State != offramp.DeliveryFailed || d.Attempts != len(codes) || len(as) != len(codes) || d.LastStatusCode != 502 {
		t.Fatalf("delivery %+v with %d attempts, want FAILED after %d", d, len(as), len(codes))
	}
	if jobs := b.jobs(t, ev.ID); len(jobs) != 0 {
		t.Fatalf("%d live delivery jobs after giving up, want 0", len(jobs))
	}
	b.rcv.expectSent(t, len(codes), ev.ID)
}

// 410 Gone fails the delivery and disables the endpoint; a later event
// fails without an attempt; neither leaves a job.
func TestDeliverGoneDisablesEndpoint(t *testing.T) {
	b := setup(t, http.StatusGone)
	ev := b.emit(t)
	b.run(t, b.claimOne(t, "runner", ev.ID))
	d, as := b.delivery(t, ev.ID)
	if d.State != offramp.DeliveryFailed || d.LastStatusCode != 410 || len(as) != 1 {
		t.Fatalf("delivery %+v, attempts %v: want FAILED by 410", d, codesOf(as))
	}
	var org offramp.Org
	if err := b.store.View(t.Context(), func(tx offramp.ReadTx) error {
		var err error
		org, err = tx.Org(t.Context(), b.org.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !org.WebhookDisabled {
		t.Fatal("endpoint not disabled after 410 Gone")
	}
	ev2 := b.emit(t)
	b.run(t, b.claimOne(t, "runner", ev2.ID))
	d2, as2 := b.delivery(t, ev2.ID)
	if d2.State != offramp.DeliveryFailed || len(as2) != 0 || d2.LastError == "" {
		t.Fatalf("event to a disabled endpoint: delivery %+v, %d attempts; want FAILED without an attempt", d2, len(as2))
	}
	for _, id := range []uuid.UUID{ev.ID, ev2.ID} {
		if jobs := b.jobs(t, id); len(jobs) != 0 {
			t.Fatalf("%d live delivery jobs for a failed delivery", len(jobs))
		}
	}
	b.rcv.expectSent(t, 1, ev.ID)
}

// Replay gives a delivered or failed delivery one new job; a replay while
// a job is live leaves that job to send and does not fail on the
// one-job-per-event rule.
func TestReplay(t *testing.T) {
	b := setup(t)
	ev := b.emit(t)
	b.run(t, b.claimOne(t, "runner", ev.ID))
	if d, _ := b.delivery(t, ev.ID); d.State != offramp.DeliveryDelivered {
		t.Fatalf("delivery %+v, want DELIVERED", d)
	}

	replay := func() offramp.Delivery { return b.replay(t, ev.ID) }
	b.clk.Advance(time.Minute)
	if d := replay(); d.State != offramp.DeliveryPending || d.Attempts != 1 || !d.NextAttemptAt.Equal(b.clk.Now()) {
		t.Fatalf("replayed delivery %+v, want PENDING now with its attempt kept", d)
	}
	jobs := b.jobs(t, ev.ID)
	if len(jobs) != 1 {
		t.Fatalf("%d jobs after replay, want 1", len(jobs))
	}
	// Replaying again while the job waits changes nothing.
	replay()
	if again := b.jobs(t, ev.ID); len(again) != 1 || again[0].ID != jobs[0].ID {
		t.Fatalf("jobs after a second replay %+v, want the first one only", again)
	}
	b.run(t, b.claimOne(t, "runner", ev.ID))
	d, as := b.delivery(t, ev.ID)
	if d.State != offramp.DeliveryDelivered || len(as) != 2 || as[1].Number != 2 {
		t.Fatalf("delivery %+v, %d attempts: want the replay delivered as attempt 2", d, len(as))
	}
	if jobs := b.jobs(t, ev.ID); len(jobs) != 0 {
		t.Fatalf("%d jobs after the replay was delivered", len(jobs))
	}

	// A delivered delivery whose job is still live (a leftover): the
	// replay uses that job rather than adding a second.
	leftover := offramp.Job{ID: uuid.New(), OrgID: b.org.ID, Kind: offramp.JobDeliverWebhook, RefID: ev.ID, RunAt: b.clk.Now()}
	b.update(t, func(tx offramp.Tx) error { return tx.EnqueueJob(t.Context(), leftover) })
	if d := replay(); d.State != offramp.DeliveryPending {
		t.Fatalf("replayed delivery %+v, want PENDING", d)
	}
	if jobs := b.jobs(t, ev.ID); len(jobs) != 1 || jobs[0].ID != leftover.ID {
		t.Fatalf("jobs %+v, want the live one only", jobs)
	}
	b.run(t, b.claimOne(t, "runner", ev.ID))
	if d, as := b.delivery(t, ev.ID); d.State != offramp.DeliveryDelivered || len(as) != 3 {
		t.Fatalf("delivery %+v, %d attempts: want the replay delivered as attempt 3", d, len(as))
	}
	b.rcv.expectSent(t, 3, ev.ID)

	var replayErr error
	err := b.store.Update(t.Context(), func(tx offramp.Tx) error {
		_, replayErr = webhook.Replay(t.Context(), tx, b.org.ID, uuid.New(), b.clk.Now())
		return nil
	})
	if err != nil || !errors.Is(replayErr, offramp.ErrNotFound) {
		t.Fatalf("replay of an unknown event: %v, %v; want ErrNotFound", err, replayErr)
	}
}

// A job that found its delivery DELIVERED, with a replay committed before
// the job ends, is not finished: the replay left that job to send, so it
// runs again at once and delivers.
func TestReplayDuringSkippedRun(t *testing.T) {
	b := setup(t)
	ev := b.emit(t)
	b.run(t, b.claimOne(t, "runner", ev.ID))
	// A leftover job on the delivered event.
	leftover := offramp.Job{ID: uuid.New(), OrgID: b.org.ID, Kind: offramp.JobDeliverWebhook, RefID: ev.ID, RunAt: b.clk.Now()}
	b.update(t, func(tx offramp.Tx) error { return tx.EnqueueJob(t.Context(), leftover) })
	j := b.claimOne(t, "runner", ev.ID)

	record, err := b.d.Attempt(t.Context(), j) // reads DELIVERED: nothing to send
	if err != nil {
		t.Fatal(err)
	}
	b.replay(t, ev.ID) // PENDING again, leaving j to send
	if err := record(); err != nil {
		t.Fatal(err)
	}
	jobs := b.jobs(t, ev.ID)
	if len(jobs) != 1 || jobs[0].ID != leftover.ID || jobs[0].Lease != "" {
		t.Fatalf("jobs %+v: want the replay's job kept, released", jobs)
	}
	b.run(t, b.claimOne(t, "runner", ev.ID))
	if d, as := b.delivery(t, ev.ID); d.State != offramp.DeliveryDelivered || len(as) != 2 {
		t.Fatalf("delivery %+v, %d attempts: want the replay delivered", d, len(as))
	}
	if jobs := b.jobs(t, ev.ID); len(jobs) != 0 {
		t.Fatalf("%d jobs left", len(jobs))
	}
	b.rcv.expectSent(t, 2, ev.ID)
}
