package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/engine"
	"github.com/offramp/offramp/rates"
	"github.com/offramp/offramp/sandbox"
	"github.com/offramp/offramp/server"
	"github.com/offramp/offramp/service"
)

// preloadResult is what --preload did.
type preloadResult struct {
	Payouts   int     `json:"payouts"`
	Customers int     `json:"customers"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	// JobsLeft counts background jobs the preload left for the server
	// (normally none).
	JobsLeft int `json:"jobs_left"`
}

// preloadSpan is how far back the preloaded payouts go at most: they are
// spread evenly over the days that end the day before yesterday, so that
// none uses today's daily limit, a minute apart at most (30 days for 43,200
// payouts or more).
const preloadSpan = 30 * 24 * time.Hour

// preloadStep is the time between two preloaded payouts at most. It keeps
// the preload's clock slow enough for a job's lease (preloadLease): over
// a day of it, 1,440 payouts at least are made, far more than while one
// job runs.
const preloadStep = time.Minute

// prepareDatabase migrates the bench database in-process, creates the
// bench's organization with its webhook URL, and preloads n payouts. It
// returns the organization with its secret.
func prepareDatabase(ctx context.Context, dsn string, masterKey []byte, webhookURL string, n int, progress io.Writer) (offramp.Org, *preloadResult, error) {
	clk := newPreloadClock(time.Now().Add(-48*time.Hour), n)
	st, _, err := server.OpenStore(ctx, dsn, masterKey, clk)
	if err != nil {
		return offramp.Org{}, nil, fmt.Errorf("opening the bench database: %w", err)
	}
	defer st.Close()
	svc := newPreloadService(st, clk)
	org, err := svc.CreateOrg(ctx, "Offramp bench", offramp.EnvSandbox, "offramp bench")
	if err != nil {
		return offramp.Org{}, nil, err
	}
	if _, err := svc.SetWebhookURL(ctx, org.ID, webhookURL, "offramp bench"); err != nil {
		return offramp.Org{}, nil, fmt.Errorf("setting the webhook URL: %w", err)
	}
	if n == 0 {
		return org, nil, nil
	}
	// Many writers at once: the store commits concurrent Updates together
	// (SQLite's group commit; PostgreSQL's own, over its 16 connections).
	workers := 64
	if server.IsPostgres(dsn) {
		workers = 24
	}
	p := &preloader{svc: svc, store: st, clk: clk, org: org.ID, n: n, workers: workers, postgres: server.IsPostgres(dsn), progress: progress}
	res, err := p.run(ctx)
	if err != nil {
		return offramp.Org{}, nil, fmt.Errorf("preload: %w", err)
	}
	debug.FreeOSMemory() // the clients need little of what the preload held
	return org, res, nil
}

// newPreloadService is a sandbox service with the server's rules and the
// preload's settings: daily limits out of the way, a bank that pays at once,
// no reversal checks and deadlines long enough for a clock that moves
// through days.
func newPreloadService(store offramp.Store, clk offramp.Clock) *service.Service {
	noLimit := decimal.New(1, 15)
	long := 10 * 365 * 24 * time.Hour
	return service.New(service.Config{
		Store: store, Clock: clk, Env: offramp.EnvSandbox,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Payouts: service.PayoutConfig{
			Rates: rates.NewSandbox(nil, clk), Rail: &instantBank{}, Screener: sandbox.Screener{},
			QuoteTTL: long, DailyLimit: noLimit, EDDDailyLimit: noLimit,
			Engine: engine.Config{ReversalWindow: -1, SettlementDeadline: long},
		},
		Webhooks: service.WebhookConfig{AllowPrivate: true},
	})
}

// preloadClock is the service's clock during the preload: it moves from
// its start through preloadSpan as payouts are made (done), plus a
// microsecond per reading, so that it never stands still or goes back.
type preloadClock struct {
	start time.Time
	step  time.Duration // per payout made
	done  atomic.Int64
	tick  atomic.Int64
}

// newPreloadClock is a clock for n payouts that ends at end.
func newPreloadClock(end time.Time, n int) *preloadClock {
	c := &preloadClock{step: preloadStep}
	if n > 0 {
		c.step = min(preloadStep, preloadSpan/time.Duration(n))
	}
	c.start = end.Add(-c.step * time.Duration(n)).UTC()
	return c
}

func (c *preloadClock) Now() time.Time {
	return c.start.Add(time.Duration(c.done.Load())*c.step + time.Duration(c.tick.Add(1))*time.Microsecond)
}

// instantBank is the preload's bank: it pays every transfer at once with a
// fresh 12-digit UTR. The server's own sandbox bank never sees these
// transfers; the payouts are finished before the server starts.
type instantBank struct{ n atomic.Int64 }

func (b *instantBank) Submit(context.Context, offramp.RailTransfer) (offramp.RailResult, error) {
	return offramp.RailResult{Status: offramp.RailSuccess, UTR: fmt.Sprintf("9%011d", b.n.Add(1))}, nil
}

func (b *instantBank) Inquire(context.Context, string) (offramp.RailResult, error) {
	return offramp.RailResult{Status: offramp.RailNotFound}, nil
}

func (b *instantBank) Capabilities() offramp.RailCapabilities {
	return offramp.RailCapabilities{DedupsReferences: true}
}

// preloader makes n payouts through the service: customers first, then
// quotation + initiate pairs from many goroutines while the payouts' jobs
// (the engine's bank steps, the webhook deliveries) are claimed and run as
// the server's workers would.
type preloader struct {
	svc      *service.Service
	store    offramp.Store
	clk      *preloadClock
	org      uuid.UUID
	n        int
	workers  int
	postgres bool
	progress io.Writer

	parties []party
	made    atomic.Int64
	jobs    atomic.Int64 // claimed and not yet run
	ran     atomic.Int64
}

func (p *preloader) run(ctx context.Context) (*preloadResult, error) {
	start := time.Now()
	// A customer per 100 payouts (up to 10,000); on PostgreSQL at least
	// one per writer, since concurrent payouts of one customer conflict
	// (SERIALIZABLE: its daily limit row) and are run again.
	customers := max(1, min(10_000, p.n/100))
	if p.postgres {
		customers = max(customers, min(p.n, p.workers))
	}
	fmt.Fprintf(p.progress, "bench: preloading %d payouts for %d customers\n", p.n, customers)
	if err := p.onboard(ctx, customers); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fail := func(err error) { cancel(err) }

	var producers, runners sync.WaitGroup
	var next atomic.Int64
	for range p.workers {
		producers.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= p.n {
					return
				}
				if err := p.payout(ctx, i); err != nil {
					fail(fmt.Errorf("payout %d: %w", i, err))
					return
				}
			}
		})
	}
	produced := make(chan struct{})
	go func() { producers.Wait(); close(produced) }()

	jobs := make(chan offramp.Job, 4*p.workers)
	var failures atomic.Int64
	for range p.workers {
		runners.Go(func() {
			for j := range jobs {
				if err := p.runJob(ctx, j); err != nil && !isBusy(err) {
					if failures.Add(1) > 100 {
						fail(fmt.Errorf("background jobs keep failing: %w", err))
					}
				}
			}
		})
	}
	stopProgress := p.startProgress(start)
	err := p.claimLoop(ctx, jobs, produced)
	close(jobs)
	runners.Wait()
	stopProgress()
	if cause := context.Cause(ctx); cause != nil {
		return nil, cause
	}
	if err != nil {
		return nil, err
	}
	el := time.Since(start)
	res := &preloadResult{Payouts: int(p.made.Load()), Customers: customers, Seconds: el.Seconds(), PerSecond: float64(p.made.Load()) / el.Seconds()}
	err = p.store.View(ctx, func(tx offramp.ReadTx) error {
		depths, err := tx.JobDepths(ctx, p.clk.Now())
		for _, d := range depths {
			res.JobsLeft += d.Due + d.Leased + d.Scheduled
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(p.progress, "bench: preloaded %d payouts in %.1f s (%.0f payouts/s)\n", res.Payouts, res.Seconds, res.PerSecond)
	return res, nil
}

// onboard makes the customers, each with a verified bank account, through
// the service's own functions, as the API would.
func (p *preloader) onboard(ctx context.Context, n int) error {
	p.parties = make([]party, n)
	var next atomic.Int64
	errs := make(chan error, p.workers)
	var wg sync.WaitGroup
	for range min(p.workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				pt, err := p.customer(ctx, i)
				if err != nil {
					errs <- fmt.Errorf("customer %d: %w", i, err)
					return
				}
				p.parties[i] = pt
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func (p *preloader) customer(ctx context.Context, i int) (party, error) {
	var c offramp.Customer
	err := redrawServiceConflict(func() error {
		var err error
		c, err = p.svc.CreateCustomer(ctx, p.org, service.CreateCustomerInput{FullName: benchName,
			Email: fmt.Sprintf("preload-%d@example.com", i), Phone: "9" + randomDigits(9), Country: "IND",
			ClientReferenceID: fmt.Sprintf("preload-%d", i)})
		return err
	})
	if err != nil {
		return party{}, err
	}
	yes := true
	err = redrawServiceConflict(func() error {
		_, err := p.svc.AddKYC(ctx, p.org, service.KYCInput{CustomerID: c.ID.String(), FullName: benchName,
			FullAddress: "1 Bench Road, Mumbai 400001", DOB: "01-01-1990", RegisteredDate: "01-01-2024", TaxNumber: randomPAN(),
			DocumentType: "AADHAAR", DocumentNumber: "4" + randomDigits(11),
			DocumentFrontImageURL: "https://sandbox.offramp.dev/test-images/aadhaar-front.jpg",
			DocumentBackImageURL:  "https://sandbox.offramp.dev/test-images/aadhaar-back.jpg",
			SelfieURL:             "https://sandbox.offramp.dev/test-images/selfie.jpg", SelfieVerificationStatus: &yes})
		return err
	})
	if err != nil {
		return party{}, err
	}
	if err := retryBusy(func() error {
		_, err := p.svc.MockKYCStatus(ctx, p.org, c.ID.String(), "VERIFIED")
		return err
	}); err != nil {
		return party{}, err
	}
	var b offramp.BankAccount
	err = redrawServiceConflict(func() error {
		var err error
		b, err = p.svc.CreateBank(ctx, p.org, service.CreateBankInput{CustomerID: c.ID.String(),
			AccountNumber: "5" + randomDigits(7) + "89", IFSC: "HDFC0001234"})
		return err
	})
	if err != nil {
		return party{}, err
	}
	if err := retryBusy(func() error {
		_, err := p.svc.MockBankVerification(ctx, p.org, c.ID.String(), b.ID.String(), "VERIFIED", "")
		return err
	}); err != nil {
		return party{}, err
	}
	return party{customer: c.ID.String(), bank: b.ID.String()}, nil
}

// redrawServiceConflict runs fn again (with new random identity numbers)
// while the service says one is already in use, and while the storage is
// busy (retryBusy).
func redrawServiceConflict(fn func() error) error {
	var err error
	for range 5 {
		err = retryBusy(fn)
		var e *offramp.Error
		if !errors.As(err, &e) || e.Code != offramp.CodeConflict {
			return err
		}
	}
	return err
}

// retryBusy runs fn again, as a client does after a 503, while it fails
// with CodeUnavailable: on PostgreSQL, concurrent SERIALIZABLE
// transactions that kept failing each other ("the database is busy").
func retryBusy(fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if attempt >= 50 || !isBusy(err) {
			return err
		}
		time.Sleep(time.Duration(min(attempt, 10)) * 10 * time.Millisecond)
	}
}

func isBusy(err error) bool {
	var e *offramp.Error
	return errors.As(err, &e) && e.Code == offramp.CodeUnavailable
}

// payout makes payout i: a quotation and its initiation, exactly as the
// API's handlers call the service.
func (p *preloader) payout(ctx context.Context, i int) error {
	pt := p.parties[i%len(p.parties)]
	var q offramp.Quotation
	err := retryBusy(func() error {
		var err error
		q, err = p.svc.CreateQuotation(ctx, p.org, service.QuotationInput{
			Asset: "USDT", Fiat: "INR", SendingAmount: decimal.NewFromInt(10).Add(decimal.New(int64(i%1_000_000), -6)).StringFixed(6),
			CustomerID: pt.customer, BankID: pt.bank, PaymentMethod: "IMPS",
			Risk: offramp.RiskParameters{IPAddress: "127.0.0.1", DeviceID: "bench-preload"},
		})
		return err
	})
	if err != nil {
		return err
	}
	err = retryBusy(func() error {
		_, _, err := p.svc.InitiatePayout(ctx, p.org, service.InitiateInput{QuotationID: q.ID.String(), CustomerID: pt.customer,
			ExchangeOrderID: fmt.Sprintf("preload-%d", i)})
		return err
	})
	if err != nil {
		return err
	}
	p.made.Add(1)
	p.clk.done.Add(1)
	return nil
}

// claimLoop claims the due jobs and hands them to the runners until the
// producers are done and no job is left.
func (p *preloader) claimLoop(ctx context.Context, jobs chan<- offramp.Job, produced <-chan struct{}) error {
	const batch = 256
	idle := 0
	for ctx.Err() == nil {
		claimed, err := p.claim(ctx, batch)
		if err != nil {
			return err
		}
		for _, j := range claimed {
			select {
			case jobs <- j:
			case <-ctx.Done():
				return nil
			}
		}
		if len(claimed) > 0 {
			idle = 0
			if len(claimed) == batch {
				continue
			}
		}
		select {
		case <-produced:
			// Every payout is made; jobs still running may add more (a
			// delivery after a payment): stop after a few empty claims
			// with nothing queued for the runners.
			if len(claimed) == 0 && len(jobs) == 0 {
				idle++
				if idle > 20 && p.jobs.Load() == 0 {
					return nil
				}
			}
		default:
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// preloadLease is how long, on the preload's clock, a claimed job is held.
// That clock runs fast (the whole span in one preload), so a run may
// outlast a lease and see its job claimed again: the engine and the
// deliverer are made for that (the second run finds the work done). And
// the leases of any job left behind have lapsed by the time the server
// starts, a day later on its clock, so that it takes them over.
const preloadLease = 24 * time.Hour

func (p *preloader) claim(ctx context.Context, limit int) ([]offramp.Job, error) {
	owner := "bench-preload-" + uuid.NewString()
	var jobs []offramp.Job
	err := p.store.Update(ctx, func(tx offramp.Tx) error {
		var err error
		jobs, err = tx.ClaimJobs(ctx, offramp.JobClaim{Now: p.clk.Now(), Owner: owner, Lease: preloadLease, Limit: limit})
		return err
	})
	for i := range jobs {
		if jobs[i].Lease == "" {
			jobs[i].Lease = owner
		}
	}
	p.jobs.Add(int64(len(jobs)))
	return jobs, err
}

// runJob runs a job as the server's worker does: the handler, then, on an
// error, the job released to run again; after a success it finishes the
// job only when the service does not (service.FinishesOwnJobs), as the
// server's worker pools do. A job left unfinished would be taken over by
// the server once its lease lapsed.
func (p *preloader) runJob(ctx context.Context, j offramp.Job) error {
	defer p.jobs.Add(-1)
	if ctx.Err() != nil {
		return nil
	}
	defer p.ran.Add(1)
	err := p.svc.RunJob(ctx, j)
	if err == nil {
		if service.FinishesOwnJobs(j.Kind) {
			return nil
		}
		ferr := p.store.Update(ctx, func(tx offramp.Tx) error { return tx.FinishJob(ctx, j.ID, j.Lease) })
		if ferr != nil && !errors.Is(ferr, offramp.ErrStale) {
			return ferr
		}
		return nil
	}
	rerr := p.store.Update(ctx, func(tx offramp.Tx) error { return tx.RetryJob(ctx, j.ID, j.Lease, p.clk.Now(), err.Error()) })
	if rerr != nil && !errors.Is(rerr, offramp.ErrStale) {
		return rerr
	}
	return fmt.Errorf("%s job %s: %w", j.Kind, j.ID, err)
}

func (p *preloader) startProgress(start time.Time) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				n := p.made.Load()
				fmt.Fprintf(p.progress, "bench: preload %6.1fs  %d / %d payouts  %.0f payouts/s  %d jobs run (bank steps, webhooks)\n",
					now.Sub(start).Seconds(), n, p.n, float64(n)/now.Sub(start).Seconds(), p.ran.Load())
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
