package worker_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/sqlstore"
	"github.com/offramp/offramp/vault"
	"github.com/offramp/offramp/worker"
)

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

func enqueue(t *testing.T, st offramp.Store, runAt time.Time) uuid.UUID {
	t.Helper()
	id := uuid.New()
	err := st.Update(t.Context(), func(tx offramp.Tx) error {
		return tx.EnqueueJob(t.Context(), offramp.Job{ID: id, OrgID: uuid.New(), Kind: offramp.JobVerifyKYC, RefID: uuid.New(), RunAt: runAt})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func run(t *testing.T, r *worker.Runner) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// A job runs when due, not before; a failure is retried after back-off;
// a success removes it.
func TestRunnerRetriesThenFinishes(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	st := openStore(t, clk)
	var calls atomic.Int32
	r := worker.New(worker.Config{Store: st, Clock: clk, Poll: 2 * time.Millisecond, Log: slog.New(slog.DiscardHandler),
		Handler: func(ctx context.Context, j offramp.Job) error {
			if calls.Add(1) == 1 {
				return errors.New("partner timeout")
			}
			return nil
		}})
	enqueue(t, st, clk.Now().Add(time.Second))
	run(t, r)

	time.Sleep(30 * time.Millisecond)
	if calls.Load() != 0 {
		t.Fatal("job ran before it was due")
	}
	clk.Advance(time.Second)
	waitFor(t, "first attempt", func() bool { return calls.Load() == 1 })
	time.Sleep(30 * time.Millisecond)
	if calls.Load() != 1 {
		t.Fatal("failed job retried without back-off")
	}
	clk.Advance(2 * time.Second) // past Backoff(1) = 1 s + at most 20 %
	waitFor(t, "retry", func() bool { return calls.Load() == 2 })
	waitFor(t, "job removed", func() bool {
		var n int
		_ = st.Update(t.Context(), func(tx offramp.Tx) error {
			jobs, err := tx.ClaimJobs(t.Context(), clk.Now().Add(24*time.Hour), "probe", time.Minute, 10)
			n = len(jobs)
			return err
		})
		return n == 0
	})
}

// A job leased by a runner that died is run by another once the lease
// lapses, and not before.
func TestLeaseLapseHandsJobToAnotherRunner(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	st := openStore(t, clk)
	id := enqueue(t, st, clk.Now())
	// The "dead" runner claims the job and never reports back.
	err := st.Update(t.Context(), func(tx offramp.Tx) error {
		jobs, err := tx.ClaimJobs(t.Context(), clk.Now(), "dead-runner", time.Minute, 1)
		if len(jobs) != 1 || jobs[0].ID != id {
			t.Fatalf("claimed %v", jobs)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var ran atomic.Int32
	r := worker.New(worker.Config{Store: st, Clock: clk, Poll: 2 * time.Millisecond, Lease: time.Minute, Log: slog.New(slog.DiscardHandler),
		Handler: func(ctx context.Context, j offramp.Job) error { ran.Add(1); return nil }})
	run(t, r)
	time.Sleep(30 * time.Millisecond)
	if ran.Load() != 0 {
		t.Fatal("job stolen while its lease was valid")
	}
	clk.Advance(61 * time.Second)
	waitFor(t, "the job to run after the lease lapsed", func() bool { return ran.Load() == 1 })
}

func TestBackoff(t *testing.T) {
	for attempt, base := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second, 30: 5 * time.Minute} {
		for range 50 {
			d := worker.Backoff(attempt)
			if d < base || d > base+base/5 {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", attempt, d, base, base+base/5)
			}
		}
	}
}
