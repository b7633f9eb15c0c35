// Package worker runs Offramp's durable background jobs: it leases due jobs
// from the store, runs them, and finishes or reschedules them. Because a job
// is a row with a lease, a crash loses nothing (the lease lapses and the job
// runs again) and several workers, even in several processes, can share one
// table.
//
// Work is split into pools by kind (bank calls, webhook deliveries,
// verifications), each with its own slots, so that a bank that hangs cannot
// delay KYC checks or webhooks. Within a pool one organization may hold at
// most PerOrg slots, and organizations take turns at the due jobs, so that
// one organization's slow bank or dead webhook receiver cannot delay
// another's work.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/backoff"
)

// Handler does the work of one job. It must be idempotent.
//
// A handler may complete or reschedule its own job in the transaction that
// records its work (Tx.FinishJob(j.ID, j.Lease), Tx.RescheduleJob(j, at)):
// the work and the next step then commit together. After it returns nil
// the runner finishes the job if the handler did not; after an error it
// retries the job with back-off.
type Handler func(ctx context.Context, j offramp.Job) error

// Pool is the capacity for some kinds of work.
type Pool struct {
	// Name labels the pool's metrics (default: its kinds joined by "+").
	Name string
	// Kinds are the job kinds the pool runs; required, and a kind belongs
	// to at most one pool. A kind in no pool is never run.
	Kinds []offramp.JobKind
	// Capacity is how many of these jobs run at once in this runner
	// (default 4 when not positive).
	Capacity int
	// PerOrg caps the jobs of these kinds one organization may hold leased
	// at once (default max(1, Capacity/2), at most Capacity). The store
	// enforces it across every runner sharing the table.
	PerOrg int
	// HandlerFinishes says the handler completes or reschedules each job
	// of these kinds in the transaction that records its work, as payout
	// steps and webhook deliveries do: after a success the runner then
	// writes nothing. Its own FinishJob would find the job gone or
	// re-leased, and would cost a turn at the single writer (a group
	// commit's wait) while the job's slot stays taken.
	HandlerFinishes bool
}

// DefaultPools splits the work into bank calls ("bank": process_payout),
// webhook deliveries ("webhook": deliver_webhook) and verifications
// ("verify": verify_kyc, verify_bank, verify_edd), with the given
// capacities and the default PerOrg (half of each). A Config without Pools
// uses DefaultPools(8, 8, 4). Jobs mostly wait on the network, so capacity
// is not tied to cores.
func DefaultPools(bank, webhook, verify int) []Pool {
	return []Pool{
		{Name: "bank", Kinds: []offramp.JobKind{offramp.JobProcessPayout}, Capacity: bank},
		{Name: "webhook", Kinds: []offramp.JobKind{offramp.JobDeliverWebhook}, Capacity: webhook},
		{Name: "verify", Kinds: []offramp.JobKind{offramp.JobVerifyKYC, offramp.JobVerifyBank, offramp.JobVerifyEDD}, Capacity: verify},
	}
}

// Config tunes a Runner; zero values take the defaults.
type Config struct {
	Store   offramp.Store
	Clock   offramp.Clock
	Handler Handler
	// Poll is how often each pool looks for due jobs when it is idle
	// (default 200 ms); a pool that ran jobs looks again as soon as a slot
	// frees.
	Poll time.Duration
	// Lease is how long a claimed job is reserved (default 60 s); a job
	// whose runner died becomes claimable again when it lapses. A handler
	// runs with a timeout of Lease.
	Lease time.Duration
	// Pools split the work by kind (nil: DefaultPools(8, 8, 4)). New
	// panics on a pool without kinds or a kind in two pools.
	Pools []Pool
	Log   *slog.Logger
	// Registerer, when set, gets the runner's metrics:
	// offramp_jobs_total{kind,result}, offramp_job_duration_seconds{kind},
	// offramp_worker_busy_slots{pool} and offramp_job_queue_depth{kind,state}
	// (state due, leased or scheduled, counted from the store at scrape
	// time).
	Registerer prometheus.Registerer
}

// retryPolicy spaces the attempts of a failing job: 1 s doubling to 5
// minutes, ±20 % so that jobs that failed together do not retry together.
var retryPolicy = backoff.Policy{Base: time.Second, Max: 5 * time.Minute, Jitter: 0.2}

// depthTimeout bounds the store query behind a scrape of the queue depth.
const depthTimeout = 2 * time.Second

// Runner polls for due jobs and runs them.
type Runner struct {
	cfg   Config
	id    string
	pools []Pool

	done     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	busy     *prometheus.GaugeVec
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
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Pools == nil {
		cfg.Pools = DefaultPools(8, 8, 4)
	}
	r := &Runner{cfg: cfg, id: "worker-" + uuid.NewString(), pools: normalize(cfg.Pools)}
	r.done = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "offramp_jobs_total",
		Help: "Background jobs run, by kind and result.",
	}, []string{"kind", "result"})
	r.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "offramp_job_duration_seconds",
		Help:    "Time a job's handler ran, by kind.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"kind"})
	r.busy = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "offramp_worker_busy_slots",
		Help: "Slots of a worker pool running a job.",
	}, []string{"pool"})
	for _, p := range r.pools {
		r.busy.WithLabelValues(p.Name).Set(0)
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(r.done, r.duration, r.busy, &depthCollector{r: r, desc: prometheus.NewDesc(
			"offramp_job_queue_depth",
			"Jobs waiting, by kind and state: due (run time reached, not leased), leased (running), scheduled (later run time).",
			[]string{"kind", "state"}, nil)})
	}
	return r
}

// normalize fills in a copy of pools' defaults and checks that every kind
// has one pool.
func normalize(pools []Pool) []Pool {
	out := make([]Pool, len(pools))
	seen := map[offramp.JobKind]string{}
	for i, p := range pools {
		if len(p.Kinds) == 0 {
			// An empty Kinds would claim every kind.
			panic(fmt.Sprintf("worker: pool %d (%q) has no kinds", i, p.Name))
		}
		p.Kinds = slices.Clone(p.Kinds)
		if p.Name == "" {
			names := make([]string, len(p.Kinds))
			for k, kind := range p.Kinds {
				names[k] = string(kind)
			}
			p.Name = strings.Join(names, "+")
		}
		for _, k := range p.Kinds {
			if other, dup := seen[k]; dup {
				panic(fmt.Sprintf("worker: job kind %q is in pools %q and %q", k, other, p.Name))
			}
			seen[k] = p.Name
		}
		if p.Capacity <= 0 {
			p.Capacity = 4
		}
		if p.PerOrg <= 0 {
			p.PerOrg = max(1, p.Capacity/2)
		}
		p.PerOrg = min(p.PerOrg, p.Capacity)
		out[i] = p
	}
	return out
}

// Pools returns the runner's pools with their defaults filled in.
func (r *Runner) Pools() []Pool {
	out := slices.Clone(r.pools)
	for i := range out {
		out[i].Kinds = slices.Clone(out[i].Kinds)
	}
	return out
}

// Run processes jobs until ctx is cancelled, then waits for the jobs in
// flight to finish. Jobs it had not started keep their lease and run again
// once it lapses.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, p := range r.pools {
		wg.Go(func() { r.runPool(ctx, p) })
	}
	wg.Wait()
}

// runPool claims and runs the jobs of one pool until ctx is cancelled,
// then waits for its jobs in flight.
func (r *Runner) runPool(ctx context.Context, p Pool) {
	var wg sync.WaitGroup
	defer wg.Wait()
	busy := r.busy.WithLabelValues(p.Name)
	sem := make(chan struct{}, p.Capacity)
	// freed is signalled when a job ends, so a busy pool claims the next
	// due job at once instead of waiting for the poll tick.
	freed := make(chan struct{}, 1)
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	for {
		if free := p.Capacity - len(sem); free > 0 {
			jobs, err := r.claim(ctx, p, free)
			if err != nil && ctx.Err() == nil {
				r.cfg.Log.Error("claim jobs", "pool", p.Name, "err", err)
			}
			for _, j := range jobs {
				sem <- struct{}{}
				busy.Inc()
				wg.Go(func() {
					defer func() {
						busy.Dec()
						<-sem
						select {
						case freed <- struct{}{}:
						default:
						}
					}()
					r.runOne(context.WithoutCancel(ctx), p, j)
				})
			}
		}
		// Go again as soon as a slot frees (more may be due, and a step
		// may have rescheduled its job for now), or on the next tick.
		select {
		case <-ctx.Done():
			if n := len(sem); n > 0 {
				r.cfg.Log.Info("worker stopping: waiting for jobs in flight", "pool", p.Name, "jobs", n)
			}
			return
		case <-freed:
		case <-t.C:
		}
	}
}

// claim leases up to n due jobs of p's kinds under a lease token of its
// own: a job a step rescheduled for now may be claimed again while the
// goroutine that ran it is still finishing, and that goroutine's FinishJob
// must then not touch the new claim.
func (r *Runner) claim(ctx context.Context, p Pool, n int) ([]offramp.Job, error) {
	c := offramp.JobClaim{
		Now:    r.cfg.Clock.Now(),
		Owner:  r.id + "/" + uuid.NewString(),
		Lease:  r.cfg.Lease,
		Limit:  n,
		Kinds:  p.Kinds,
		PerOrg: p.PerOrg,
	}
	var jobs []offramp.Job
	err := r.cfg.Store.Update(ctx, func(tx offramp.Tx) error {
		var err error
		jobs, err = tx.ClaimJobs(ctx, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range jobs {
		if jobs[i].Lease == "" {
			jobs[i].Lease = c.Owner // the token the claim wrote on every job
		}
	}
	return jobs, nil
}

// runOne runs a job to completion. It is given a context that outlives
// shutdown so that a job that started also records its result: stopping
// half-way would only make the next runner repeat it.
func (r *Runner) runOne(ctx context.Context, p Pool, j offramp.Job) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Lease)
	defer cancel()
	start := time.Now()
	err := r.safeRun(ctx, j)
	r.duration.WithLabelValues(string(j.Kind)).Observe(time.Since(start).Seconds())
	if err == nil {
		r.done.WithLabelValues(string(j.Kind), "ok").Inc()
		if p.HandlerFinishes {
			return
		}
		// ErrStale: the handler completed or rescheduled the job itself
		// (a pool without HandlerFinishes may run such handlers too), or
		// the lease lapsed and another claim holds it now.
		ferr := r.cfg.Store.Update(ctx, func(tx offramp.Tx) error { return tx.FinishJob(ctx, j.ID, j.Lease) })
		if ferr != nil && !errors.Is(ferr, offramp.ErrStale) {
			r.cfg.Log.Error("finish job", "job_id", j.ID, "kind", j.Kind, "err", ferr)
		}
		return
	}
	r.done.WithLabelValues(string(j.Kind), "retry").Inc()
	delay, _ := retryPolicy.Delay(j.Attempts)
	next := r.cfg.Clock.Now().Add(delay)
	r.cfg.Log.Warn("job failed; will retry", "job_id", j.ID, "kind", j.Kind, "attempt", j.Attempts, "retry_at", next, "err", err)
	rerr := r.cfg.Store.Update(ctx, func(tx offramp.Tx) error { return tx.RetryJob(ctx, j.ID, j.Lease, next, err.Error()) })
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

// depthCollector reports the queue depth from the store at scrape time.
type depthCollector struct {
	r    *Runner
	desc *prometheus.Desc
}

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect counts the jobs by kind and state. Every kind of the runner's
// pools is reported, with zeros when none waits. A store that does not
// answer within depthTimeout is logged and leaves the metric out of this
// scrape rather than failing the whole scrape.
func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), depthTimeout)
	defer cancel()
	var depths []offramp.JobDepth
	err := c.r.cfg.Store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		depths, err = tx.JobDepths(ctx, c.r.cfg.Clock.Now())
		return err
	})
	if err != nil {
		c.r.cfg.Log.Warn("job queue depth", "err", err)
		return
	}
	byKind := map[offramp.JobKind]offramp.JobDepth{}
	var kinds []offramp.JobKind
	for _, p := range c.r.pools {
		for _, k := range p.Kinds {
			byKind[k] = offramp.JobDepth{Kind: k}
			kinds = append(kinds, k)
		}
	}
	for _, d := range depths {
		if _, ok := byKind[d.Kind]; !ok {
			kinds = append(kinds, d.Kind)
		}
		cur := byKind[d.Kind]
		cur.Due += d.Due
		cur.Leased += d.Leased
		cur.Scheduled += d.Scheduled
		byKind[d.Kind] = cur
	}
	for _, k := range kinds {
		d := byKind[k]
		for _, s := range []struct {
			state string
			n     int
		}{{"due", d.Due}, {"leased", d.Leased}, {"scheduled", d.Scheduled}} {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(s.n), string(k), s.state)
		}
	}
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
