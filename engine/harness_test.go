package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/backoff"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/engine"
	"github.com/offramp/offramp/ledger"
	"github.com/offramp/offramp/sqlstore"
	"github.com/offramp/offramp/vault"
)

var t0 = time.Date(2026, 11, 24, 4, 30, 0, 0, time.UTC)

// errCrash stands for the process dying: whatever the step was doing is
// abandoned, its job keeps its lease until it lapses.
var errCrash = errors.New("simulated crash")

// faultStore wraps the real store and, at chosen Updates, fails like a
// busy database (before running anything), or crashes the process before
// or after the commit.
type faultStore struct {
	offramp.Store
	n atomic.Int64
	// fault, if set, is asked before each Update (numbered from 1).
	fault func(n int64) fault
	views atomic.Int64
	// viewFault, if set, fails the Views (numbered from 1) it returns
	// true for, like a read error.
	viewFault func(n int64) bool
}

func (s *faultStore) View(ctx context.Context, fn func(offramp.ReadTx) error) error {
	if n := s.views.Add(1); s.viewFault != nil && s.viewFault(n) {
		return errors.New("simulated read error")
	}
	return s.Store.View(ctx, fn)
}

type fault int

const (
	noFault fault = iota
	busyFault
	crashBeforeCommit
	crashAfterCommit
)

func (s *faultStore) Update(ctx context.Context, fn func(offramp.Tx) error) error {
	n := s.n.Add(1)
	f := noFault
	if s.fault != nil {
		f = s.fault(n)
	}
	switch f {
	case busyFault:
		return &offramp.Error{Code: offramp.CodeUnavailable, Message: "the database is busy; try again"}
	case crashBeforeCommit:
		return errCrash
	}
	if err := s.Store.Update(ctx, fn); err != nil {
		return err
	}
	if f == crashAfterCommit {
		return errCrash
	}
	return nil
}

// harness is one engine on a real SQLite store, a fake clock and a bank,
// driven one job at a time by a deterministic runner that behaves like the
// worker (finish on success, retry with back-off on error) and like a dying
// process on errCrash (nothing recorded; the lease lapses).
type harness struct {
	t     testing.TB
	ctx   context.Context
	clk   *clock.Fake
	raw   *sqlstore.Store
	store *faultStore
	eng   *engine.Engine
	org   offramp.Org
	n     int
	ids   []uuid.UUID
	lease time.Duration
	u     func() float64
	// ids, when set, draws every id the harness makes (a seeded source,
	// so a simulation replays exactly).
	idSrc io.Reader
}

func (h *harness) newID() uuid.UUID {
	if h.idSrc == nil {
		return uuid.New()
	}
	return uuid.Must(uuid.NewRandomFromReader(h.idSrc))
}

type harnessOpts struct {
	ids    io.Reader
	rail   offramp.Rail
	cfg    engine.Config
	path   string
	rand   func() float64
	noJSON bool
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	clk := clock.NewFake(t0)
	v, err := vault.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	path := o.path
	if path == "" {
		path = filepath.Join(fastDir(t), "engine.db")
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, path, v, sqlstore.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, ctx: ctx, clk: clk, raw: st, store: &faultStore{Store: st}, lease: time.Minute, u: o.rand, idSrc: o.ids}
	if h.u == nil {
		h.u = func() float64 { return 0.5 }
	}
	cfg := o.cfg
	cfg.Store, cfg.Clock, cfg.Rail, cfg.Rand = h.store, clk, o.rail, h.u
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	h.eng = engine.New(cfg)
	h.org = offramp.Org{ID: h.newID(), Name: "Exchange", Env: offramp.EnvSandbox, APIKey: "key_" + h.newID().String()[:8],
		APISecret: "sk_" + h.newID().String(), CreatedAt: t0}
	h.update(func(tx offramp.Tx) error { return tx.CreateOrg(ctx, h.org) })
	return h
}

func (h *harness) update(fn func(offramp.Tx) error) {
	h.t.Helper()
	if err := h.raw.Update(h.ctx, fn); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) view(fn func(offramp.ReadTx) error) {
	h.t.Helper()
	if err := h.raw.View(h.ctx, fn); err != nil {
		h.t.Fatal(err)
	}
}

// newPayout makes a verified customer with a bank account whose number
// ends in ending, a quotation and a payout of ₹4,144.60, the way the
// service does (engine.Create, the quotation linked, the limit used).
func (h *harness) newPayout(ending string) offramp.Payout {
	h.t.Helper()
	h.n++
	n := h.n
	now := h.clk.Now()
	c := offramp.Customer{ID: h.newID(), OrgID: h.org.ID, ClientReferenceID: fmt.Sprintf("cust-%d", n), FullName: fmt.Sprintf("Customer %d", n),
		Email: fmt.Sprintf("c%d@example.com", n), Phone: fmt.Sprintf("+9198765%05d", n), Country: "IND",
		Status: offramp.CustomerVerified, CreatedAt: now, UpdatedAt: now}
	b := offramp.BankAccount{ID: h.newID(), OrgID: h.org.ID, CustomerID: c.ID, Type: offramp.BankAccountDetails,
		AccountNumber: fmt.Sprintf("50%06d%s", n, ending), IFSC: "HDFC0001234", AccountName: c.FullName,
		Status: offramp.BankVerified, CreatedAt: now, UpdatedAt: now}
	fees := offramp.Fees{ClientFeeFiat: decimal.Zero, PlatformFee: d("22.23"), PlatformGST: d("4.00"), PGFee: d("5.00"), PGGST: d("0.90"),
		TDS: d("44.46"), Rounding: d("0.01"), GrossEffectiveRate: d("83.79")}
	q := offramp.Quotation{ID: h.newID(), OrgID: h.org.ID, CustomerID: c.ID, BankID: b.ID, Asset: "USDT", Fiat: "INR", PaymentMethod: "IMPS",
		// 4446.00 − 22.23 − 4.00 − 5.00 − 0.90 − 44.46 − 0.01 rounding = 4369.40
		SendingAmount: d("50"), Rate: d("88.92"), GrossFiat: d("4446.00"), ReceivingAmount: d("4369.40"), Fees: fees,
		Status: offramp.QuotationUnlinked, CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
	id := h.newID()
	p := offramp.Payout{ID: id, OrgID: h.org.ID, CustomerID: c.ID, BankID: b.ID, QuotationID: q.ID,
		ExchangeOrderID: fmt.Sprintf("order-%d", n), Asset: q.Asset, Fiat: q.Fiat, PaymentMethod: q.PaymentMethod,
		SendingAmount: q.SendingAmount, Rate: q.Rate, GrossFiat: q.GrossFiat, ReceivingAmount: q.ReceivingAmount, Fees: fees,
		Status: offramp.PayoutProcessing, Phase: offramp.PhaseQueued, RailReference: fmt.Sprintf("OFR%032d", n),
		LimitDay: now.In(time.FixedZone("IST", 5*3600+1800)).Format(time.DateOnly), CreatedAt: now.Truncate(time.Microsecond), UpdatedAt: now.Truncate(time.Microsecond)}
	h.update(func(tx offramp.Tx) error {
		for _, step := range []func() error{
			func() error { return tx.CreateCustomer(h.ctx, c) },
			func() error { return tx.CreateBankAccount(h.ctx, b) },
			func() error { return tx.CreateQuotation(h.ctx, q) },
			func() error { return h.eng.Create(h.ctx, tx, p) },
			func() error { return tx.LinkQuotation(h.ctx, h.org.ID, q.ID, p.ID) },
			func() error { return tx.AddLimitUsage(h.ctx, h.org.ID, c.ID, p.LimitDay, p.GrossFiat) },
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	h.ids = append(h.ids, p.ID)
	return p
}

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func (h *harness) payout(id uuid.UUID) offramp.Payout {
	h.t.Helper()
	var p offramp.Payout
	h.view(func(tx offramp.ReadTx) error {
		var err error
		p, err = tx.Payout(h.ctx, h.org.ID, id)
		return err
	})
	return p
}

func (h *harness) jobs(id uuid.UUID) []offramp.Job {
	h.t.Helper()
	var js []offramp.Job
	h.view(func(tx offramp.ReadTx) error {
		var err error
		js, err = tx.Jobs(h.ctx, offramp.JobProcessPayout, id)
		return err
	})
	return js
}

var retry = backoff.Policy{Base: time.Second, Max: 5 * time.Minute, Jitter: 0.2}

// runDue runs every process_payout job due now, in claimed batches, one
// job at a time, the way a worker with one slot would: a job whose step
// returned an error is retried with back-off; a crash abandons the rest of
// the batch (their leases lapse, as a dead process's do). A step that
// succeeded must have completed or rescheduled its own job: the harness
// does not finish it for the engine, so a step that forgets shows up as a
// second live job or a stuck payout. It returns how many jobs ran.
func (h *harness) runDue() int {
	h.t.Helper()
	ran := 0
	for {
		var jobs []offramp.Job
		owner := "sim-" + h.newID().String()
		err := h.raw.Update(h.ctx, func(tx offramp.Tx) error {
			var err error
			jobs, err = tx.ClaimJobs(h.ctx, offramp.JobClaim{Now: h.clk.Now(), Owner: owner, Lease: h.lease, Limit: 50,
				Kinds: []offramp.JobKind{offramp.JobProcessPayout}})
			return err
		})
		if err != nil {
			h.t.Fatal(err)
		}
		if len(jobs) == 0 {
			return ran
		}
		for _, j := range jobs {
			ran++
			err = h.eng.RunJob(h.ctx, j)
			if errors.Is(err, errCrash) {
				// The process died: nothing more is recorded. The
				// batch's leases lapse; time moves past them so another
				// "process" takes over.
				h.clk.Advance(h.lease + time.Second)
				break
			}
			if err != nil {
				next, _ := retry.DelayAt(j.Attempts, h.u())
				if rerr := h.raw.Update(h.ctx, func(tx offramp.Tx) error {
					return tx.RetryJob(h.ctx, j.ID, j.Lease, h.clk.Now().Add(next), err.Error())
				}); rerr != nil && !errors.Is(rerr, offramp.ErrStale) {
					h.t.Fatal(rerr)
				}
			}
		}
	}
}

// runFor runs due jobs until the clock has advanced by total, moving the
// clock straight to the next job's time (but by at most step at once, so
// that the bank's own timers are seen at least that often).
func (h *harness) runFor(total, step time.Duration) {
	h.t.Helper()
	end := h.clk.Now().Add(total)
	for {
		h.runDue()
		now := h.clk.Now()
		if !now.Before(end) {
			return
		}
		next := now.Add(min(step, end.Sub(now)))
		if at, ok := h.nextJob(); ok && at.After(now) && at.Before(next) {
			next = at
		}
		h.clk.Set(next)
	}
}

// nextJob is the earliest run time of the payouts' jobs.
func (h *harness) nextJob() (time.Time, bool) {
	h.t.Helper()
	var at time.Time
	h.view(func(tx offramp.ReadTx) error {
		for _, id := range h.ids {
			js, err := tx.Jobs(h.ctx, offramp.JobProcessPayout, id)
			if err != nil {
				return err
			}
			for _, j := range js {
				if at.IsZero() || j.RunAt.Before(at) {
					at = j.RunAt
				}
			}
		}
		return nil
	})
	return at, !at.IsZero()
}

// checkBooks fails unless every journal balances and every payout
// reconciles with its status.
func (h *harness) checkBooks() {
	h.t.Helper()
	books := ledger.Books{}
	h.view(func(tx offramp.ReadTx) error {
		if err := tx.ForEachJournal(h.ctx, func(j offramp.Journal) error {
			if !j.Balanced() {
				h.t.Errorf("journal %s (%s) does not balance", j.ID, j.Kind)
			}
			books.Add(j)
			return nil
		}); err != nil {
			return err
		}
		return tx.ForEachPayout(h.ctx, func(p offramp.Payout) error {
			for _, m := range books.Reconcile(p) {
				h.t.Errorf("%s", m)
			}
			// Every status change after the first event is an audit row
			// naming the status it moved to, in the same order.
			events, err := tx.Events(h.ctx, p.OrgID, offramp.ObjectPayout, p.ID)
			if err != nil {
				return err
			}
			audit, err := tx.AuditEntries(h.ctx, offramp.ObjectPayout, p.ID)
			if err != nil {
				return err
			}
			var changes, moved []string
			for _, e := range events[min(1, len(events)):] {
				changes = append(changes, e.Event)
			}
			for _, a := range audit {
				if to := a.Details["to_status"]; to != "" {
					moved = append(moved, to)
				}
			}
			if !slices.Equal(changes, moved) {
				h.t.Errorf("payout %s: status events after the first %v, audited status changes %v", p.ID, changes, moved)
			}
			return nil
		})
	})
}

// checkOneJob fails unless every unfinished payout has exactly one live
// job and no payout has more than one.
func (h *harness) checkOneJob(ids []uuid.UUID) {
	h.t.Helper()
	for _, id := range ids {
		p, js := h.payout(id), h.jobs(id)
		if p.Phase.Unfinished() && len(js) != 1 || len(js) > 1 {
			h.t.Errorf("payout %s in %s has %d live jobs", id, p.Phase, len(js))
		}
	}
}

// fastDir is a temporary directory in memory (/dev/shm) when the machine
// has one: the engine tests commit tens of thousands of transactions, and
// what they test is the engine's logic under crashes, not the disk's fsync.
// The store still runs SQLite in WAL with synchronous=FULL.
func fastDir(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "offramp-engine-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}
