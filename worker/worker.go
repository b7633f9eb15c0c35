// Package worker runs Offramp's durable background jobs: it leases due jobs
// from the store, runs them, and finishes or reschedules them. Because a job
// is a row with a lease, a crash loses nothing (the lease lapses and the job
// runs again) and several workers, even in several processes, can share one
// table.
package worker

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/offramp/offramp"
)

// Handler does the work of one job. It must be idempotent.
type Handler func(ctx context.Context, j offramp.Job) error

// Config tunes a Runner; zero values take the defaults.
type Config struct {
	Store   offramp.Store
	Clock   offramp.Clock
	Handler Handler
	// Poll is how often the runner looks for due jobs (default 200 ms).
	Poll time.Duration
	// Lease is how long a claimed job is reserved (default 60 s); a job
	// whose runner died becomes claimable again when it lapses.
	Lease time.Duration
	// Concurrency is how many jobs run at once (default 8). Jobs mostly
	// wait on the network (bank, webhooks), so this is not tied to cores.
	Concurrency int
	Log         *slog.Logger
	Registerer  prometheus.Registerer
}

// Runner polls for due jobs and runs them.
type Runner struct {
	cfg   Config
	owner string
	done  *prometheus.CounterVec
}

// New builds a Runner.
func New(cfg Config) *Runner {
	if cfg.Clock == nil {
		cfg.Clock = offramp.SystemClock{}
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 60 * time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	r := &Runner{cfg: cfg, owner: "worker-" + uuid.NewString()}
	r.done = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "offramp_jobs_total",
		Help: "Background jobs run, by kind and result.",
	}, []string{"kind", "result"})
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(r.done)
	}
	return r
}

// Run processes jobs until ctx is cancelled, then waits for the jobs in
// flight to finish. Jobs it had not started keep their lease and run again
// once it lapses.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.cfg.Concurrency)
	// freed is signalled when a job ends, so a busy runner claims the next
	// due job at once instead of waiting for the poll tick.
	freed := make(chan struct{}, r.cfg.Concurrency)
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	for {
		claimed := 0
		if free := r.cfg.Concurrency - len(sem); free > 0 {
			jobs, err := r.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				r.cfg.Log.Error("claim jobs", "err", err)
			}
			claimed = len(jobs)
			for _, j := range jobs {
				sem <- struct{}{}
				wg.Add(1)
				go func(j offramp.Job) {
					defer wg.Done()
					defer func() {
						<-sem
						select {
						case freed <- struct{}{}:
						default:
						}
					}()
					r.runOne(context.WithoutCancel(ctx), j)
				}(j)
			}
		}
		// With every slot taken, or after a full batch (more may be due),
		// go again as soon as a slot frees; otherwise on the next tick.
		var wake <-chan struct{}
		if claimed > 0 || len(sem) == r.cfg.Concurrency {
			wake = freed
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-wake:
		case <-t.C:
		}
	}
}

func (r *Runner) claim(ctx context.Context, n int) ([]offramp.Job, error) {
	var jobs []offramp.Job
	err := r.cfg.Store.Update(ctx, func(tx offramp.Tx) error {
		var err error
		jobs, err = tx.ClaimJobs(ctx, r.cfg.Clock.Now(), r.owner, r.cfg.Lease, n)
		return err
	})
	return jobs, err
}

// runOne runs a job to completion. It is given a context that outlives
// shutdown so that a job that started also records its result: stopping
// half-way would only make the next runner repeat it.
func (r *Runner) runOne(ctx context.Context, j offramp.Job) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Lease)
	defer cancel()
	err := r.safeRun(ctx, j)
	if err == nil {
		r.done.WithLabelValues(string(j.Kind), "ok").Inc()
		ferr := r.cfg.Store.Update(ctx, func(tx offramp.Tx) error { return tx.FinishJob(ctx, j.ID, r.owner) })
		if ferr != nil && !errors.Is(ferr, offramp.ErrStale) {
			r.cfg.Log.Error("finish job", "job_id", j.ID, "kind", j.Kind, "err", ferr)
		}
		return
	}
	r.done.WithLabelValues(string(j.Kind), "retry").Inc()
	next := r.cfg.Clock.Now().Add(Backoff(j.Attempts))
	r.cfg.Log.Warn("job failed; will retry", "job_id", j.ID, "kind", j.Kind, "attempt", j.Attempts, "retry_at", next, "err", err)
	rerr := r.cfg.Store.Update(ctx, func(tx offramp.Tx) error { return tx.RetryJob(ctx, j.ID, r.owner, next, err.Error()) })
	if rerr != nil && !errors.Is(rerr, offramp.ErrStale) {
		r.cfg.Log.Error("reschedule job", "job_id", j.ID, "err", rerr)
	}
}

func (r *Runner) safeRun(ctx context.Context, j offramp.Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.cfg.Log.Error("job panicked", "job_id", j.ID, "kind", j.Kind, "panic", p)
			err = errors.New("job panicked")
		}
	}()
	return r.cfg.Handler(ctx, j)
}

// Backoff is the delay before retry number attempt (counting from 1):
// exponential from 1 s, capped at 5 minutes, with up to 20 % jitter so that
// jobs failing together do not retry together.
func Backoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := time.Second
	for i := 1; i < attempt && d < 5*time.Minute; i++ {
		d *= 2
	}
	d = min(d, 5*time.Minute)
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

// Sweep runs fn every interval until ctx is cancelled; for housekeeping
// such as forgetting expired signature records.
func Sweep(ctx context.Context, interval time.Duration, log *slog.Logger, name string, fn func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				log.Error("sweep failed", "sweep", name, "err", err)
			}
		}
	}
}
