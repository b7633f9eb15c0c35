package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/bits"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/backoff"
	"github.com/offramp/offramp/ledger"
	"github.com/offramp/offramp/webhook"
)

// Defaults of Config.
const (
	DefaultRailTimeout        = 10 * time.Second
	DefaultInquiryDelay       = 2 * time.Second
	DefaultMaxPollInterval    = 30 * time.Minute
	DefaultMaxInquiries       = 6
	DefaultMaxSubmissions     = 3
	DefaultSettlementDeadline = 24 * time.Hour
	DefaultReversalWindow     = 72 * time.Hour
)

// Failure reasons the engine gives.
const (
	// ReasonBankUnavailable: the bank could not be reached, certainly
	// without receiving the transfer, until the settlement deadline.
	ReasonBankUnavailable = "BANK_UNAVAILABLE"
)

// Config is what an Engine needs. Zero durations and counts take the
// defaults above.
type Config struct {
	Store offramp.Store
	Clock offramp.Clock
	// Rail pays. Nil: payouts wait in QUEUED (the job retries with the
	// worker's back-off) until a rail is configured.
	Rail offramp.Rail
	// RailTimeout bounds one call to the rail. A timeout is an unknown
	// outcome, never a failure.
	RailTimeout time.Duration
	// InquiryDelay is the first wait after a submission; waits grow from
	// it (see the package documentation).
	InquiryDelay time.Duration
	// MaxPollInterval caps the wait between two polls of a pending
	// transfer and between two reversal checks.
	MaxPollInterval time.Duration
	// MaxInquiries bounds the inquiries that may leave an unknown outcome
	// open before IN_REVIEW.
	MaxInquiries int
	// MaxSubmissions bounds the calls to Submit that may have reached the
	// bank for one payout (the first and the resubmissions after
	// NOT_FOUND).
	MaxSubmissions int
	// SettlementDeadline is how long after its creation a payout may stay
	// pending at the bank before IN_REVIEW.
	SettlementDeadline time.Duration
	// ReversalWindow is how long after SUCCESS the engine checks the bank
	// for a reversal; negative disables the checks (a provider's webhook
	// still reports one).
	ReversalWindow time.Duration
	// Rand draws the jitter of waits, in [0, 1). Nil: math/rand/v2. A
	// simulation passes a seeded source to replay a run exactly.
	Rand func() float64
	Log  *slog.Logger
	// Registerer, when set, gets the engine's metrics.
	Registerer prometheus.Registerer
}

// Engine runs payouts through the bank. Safe for concurrent use.
type Engine struct {
	cfg     Config
	store   offramp.Store
	clock   offramp.Clock
	log     *slog.Logger
	unknown backoff.Policy
	poll    backoff.Policy
	watch   backoff.Policy
	metrics *metrics
}

// New builds an Engine.
func New(cfg Config) *Engine {
	if cfg.Clock == nil {
		cfg.Clock = offramp.SystemClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.RailTimeout, DefaultRailTimeout)
	def(&cfg.InquiryDelay, DefaultInquiryDelay)
	def(&cfg.MaxPollInterval, DefaultMaxPollInterval)
	def(&cfg.SettlementDeadline, DefaultSettlementDeadline)
	def(&cfg.ReversalWindow, DefaultReversalWindow)
	if cfg.MaxInquiries <= 0 {
		cfg.MaxInquiries = DefaultMaxInquiries
	}
	if cfg.MaxSubmissions <= 0 {
		cfg.MaxSubmissions = DefaultMaxSubmissions
	}
	e := &Engine{
		cfg: cfg, store: cfg.Store, clock: cfg.Clock, log: cfg.Log,
		unknown: backoff.Policy{Base: cfg.InquiryDelay, Max: time.Hour, Jitter: 0.1},
		poll:    backoff.Policy{Base: cfg.InquiryDelay, Max: cfg.MaxPollInterval, Jitter: 0.1},
		// Reversals come hours or days after the payment: the checks
		// start at MaxPollInterval and double (30 min, 1 h, 2 h, ...),
		// eight or so over a three-day window.
		watch: backoff.Policy{Base: cfg.MaxPollInterval, Jitter: 0.1},
	}
	e.metrics = newMetrics(e, cfg.Registerer)
	return e
}

// Config returns the engine's configuration with defaults applied.
func (e *Engine) Config() Config { return e.cfg }

// now is the engine's time, truncated to what the store keeps so values
// read back compare equal to values written.
func (e *Engine) now() time.Time { return e.clock.Now().UTC().Truncate(time.Microsecond) }

// Change is what a move records besides the new phase.
type Change struct {
	UTR          string // PAID, REVERSED (kept from the payment when empty)
	Reason       string // REJECTED, REVERSED
	ReviewReason string // MANUAL_REVIEW
	// BankAnswer, when set, becomes the payout's LastBankAnswer.
	BankAnswer string
	// Inquiries and Submissions, when set, replace the counters.
	Inquiries, Submissions *int
	// Submitted stamps SubmittedAt with now (a submission is recorded).
	Submitted bool
	// Job is the step's own job, held under its lease; nil when the move
	// is made by an API call or an operator. With a job, the move
	// reschedules it after Next if the payout still needs the engine, and
	// completes it otherwise. Without one, a job is enqueued if the
	// payout needs the engine and has none live.
	Job  *offramp.Job
	Next time.Duration
	// Hold leaves the step's job as it is (the step continues under its
	// lease, e.g. to call the bank after recording SUBMITTING).
	Hold bool
	// Audit, when set, is recorded with the move (an operator's action).
	// A move that changes the payout's status is audited even without
	// one: by Actor (EngineActor when empty) with Why as the reason (what
	// the bank answered, when empty).
	Audit *offramp.AuditEntry
	Actor string
	Why   string
}

// EngineActor is the audit actor of the status changes the engine makes
// on its own (the bank's answers, deadlines).
const EngineActor = "offramp engine"

// ActionStatusChanged is the audit action of a status change nobody
// audited as an action of their own.
const ActionStatusChanged = "payout.status_changed"

// ErrLeaseLost is returned (wrapped) by a step whose job lease lapsed and
// was taken by another runner: the step's transaction wrote nothing.
var ErrLeaseLost = errors.New("engine: job lease lost to another runner")

// Move takes payout cur to phase `to` inside tx: the table check, the
// compare-and-set on (status, phase), the daily-limit effect, the
// journals, the status event and its webhook, the audit entry, and the
// step's job. It is the only way a payout's status or phase changes. A
// move to the current phase records a step that learnt nothing new (new
// counters, the bank's answer, the next step's time). It returns
// offramp.ErrStale if the stored payout is no longer in cur's phase.
func (e *Engine) Move(ctx context.Context, tx offramp.Tx, cur offramp.Payout, to offramp.PayoutPhase, ch Change) (offramp.Payout, error) {
	if to != cur.Phase && !cur.Phase.CanMoveTo(to) {
		return cur, offramp.Errorf(offramp.CodeRejected, "A payout in %s (%s) cannot move to %s", cur.Status, cur.Phase, to)
	}
	now := e.now()
	p := cur
	p.Phase, p.Status, p.UpdatedAt = to, to.Status(), now
	if ch.BankAnswer != "" {
		p.LastBankAnswer = clip(ch.BankAnswer, 500)
	}
	if ch.Inquiries != nil {
		p.Inquiries = *ch.Inquiries
	}
	if ch.Submissions != nil {
		p.Submissions = *ch.Submissions
	}
	if ch.Submitted {
		p.SubmittedAt = now
	}
	switch to {
	case offramp.PhasePaid:
		if to != cur.Phase {
			p.UTR, p.PaidAt, p.ReviewReason = ch.UTR, now, ""
		}
	case offramp.PhaseRejected:
		p.UTR, p.FailureReason, p.ReviewReason = "", ch.Reason, ""
	case offramp.PhaseReversed:
		p.FailureReason = offramp.ReasonReversedByBank
		if ch.UTR != "" && p.UTR == "" {
			p.UTR = ch.UTR
		}
	case offramp.PhaseManualReview:
		if to != cur.Phase {
			p.ReviewReason = ch.ReviewReason
		}
	}
	if p.Status == offramp.PayoutFailed && p.FailureReason == "" {
		p.FailureReason = offramp.ReasonBeneficiaryBankRejected
	}
	if err := tx.UpdatePayout(ctx, p, cur.Status, cur.Phase); err != nil {
		return cur, err
	}
	// A payout that stops counting against the daily limit (it failed,
	// or its bank reversed it) gives the amount back to the day it was
	// counted on: the customer received nothing.
	if cur.Status.UsesLimit() && !p.Status.UsesLimit() {
		if err := tx.AddLimitUsage(ctx, p.OrgID, p.CustomerID, p.LimitDay, p.GrossFiat.Neg()); err != nil {
			return cur, err
		}
	}
	for _, j := range ledger.ForMove(cur.Phase, p) {
		if err := tx.AppendJournal(ctx, j); err != nil {
			return cur, err
		}
	}
	if p.Status != cur.Status {
		if err := e.statusEvent(ctx, tx, p, 0); err != nil {
			return cur, err
		}
	}
	if a, ok := moveAudit(cur, p, ch); ok {
		if a.ID == uuid.Nil {
			a.ID = uuid.New()
		}
		a.OrgID, a.ObjectType, a.ObjectID, a.CreatedAt = p.OrgID, offramp.ObjectPayout, p.ID, now
		if err := tx.AppendAudit(ctx, a); err != nil {
			return cur, err
		}
	}
	if ch.Hold {
		return p, nil
	}
	return p, e.scheduleNext(ctx, tx, p, ch.Job, ch.Next)
}

// moveAudit is the audit entry of a move, if it needs one: the operator's
// own entry, or, for a status change, one the engine writes. Either way a
// status change names its from and to status, so the audit log holds
// every status change of every payout, in the transaction that made it.
func moveAudit(cur, p offramp.Payout, ch Change) (offramp.AuditEntry, bool) {
	changed := p.Status != cur.Status
	if ch.Audit == nil && !changed {
		return offramp.AuditEntry{}, false
	}
	var a offramp.AuditEntry
	if ch.Audit != nil {
		a = *ch.Audit
		a.Details = maps.Clone(a.Details)
	} else {
		a = offramp.AuditEntry{Actor: ch.Actor, Action: ActionStatusChanged, Reason: ch.Why}
		if a.Actor == "" {
			a.Actor = EngineActor
		}
		if a.Reason == "" {
			a.Reason = "bank answered: " + ch.BankAnswer
			if ch.BankAnswer == "" {
				a.Reason = string(cur.Phase) + " to " + string(p.Phase)
			}
		}
	}
	if a.Details == nil {
		a.Details = map[string]string{}
	}
	if changed {
		a.Details["from_status"], a.Details["to_status"] = string(cur.Status), string(p.Status)
		a.Details["from_phase"], a.Details["to_phase"] = string(cur.Phase), string(p.Phase)
		if p.UTR != "" {
			a.Details["utr"] = p.UTR
		}
		if p.FailureReason != "" && p.Status == offramp.PayoutFailed {
			a.Details["failure_reason"] = p.FailureReason
		}
	}
	return a, true
}

// needsJob reports whether the engine still has work on p: it is
// unfinished, or paid and inside the reversal window.
func (e *Engine) needsJob(p offramp.Payout, now time.Time) bool {
	if p.Phase.Unfinished() {
		return true
	}
	return p.Phase == offramp.PhasePaid && e.cfg.ReversalWindow > 0 && now.Before(p.PaidAt.Add(e.cfg.ReversalWindow))
}

// scheduleNext reschedules or completes the step's job, or, without one,
// makes sure a payout that needs the engine has a live job.
func (e *Engine) scheduleNext(ctx context.Context, tx offramp.Tx, p offramp.Payout, j *offramp.Job, next time.Duration) error {
	now := e.now()
	need := e.needsJob(p, now)
	if j != nil {
		var err error
		if need {
			err = tx.RescheduleJob(ctx, *j, now.Add(next))
		} else {
			err = tx.FinishJob(ctx, j.ID, j.Lease)
		}
		if errors.Is(err, offramp.ErrStale) {
			return fmt.Errorf("%w: %w", ErrLeaseLost, err)
		}
		return err
	}
	if !need {
		return nil // a live job, if any, finds the payout settled and completes itself
	}
	live, err := tx.Jobs(ctx, offramp.JobProcessPayout, p.ID)
	if err != nil || len(live) > 0 {
		return err
	}
	return tx.EnqueueJob(ctx, payoutJob(p, now.Add(next)))
}

// payoutJob is the payout's job. Its id is derived from the payout's, so
// that a payout has one job identity for its whole life (the unique index
// still decides) and a seeded simulation replays the same claim order.
func payoutJob(p offramp.Payout, at time.Time) offramp.Job {
	return offramp.Job{ID: uuid.NewSHA1(p.ID, []byte(offramp.JobProcessPayout)), OrgID: p.OrgID, Kind: offramp.JobProcessPayout, RefID: p.ID, RunAt: at}
}

// Create records a new payout: the payout row, its initiation journal, its
// PROCESSING event and its first job, inside tx. The caller has linked the
// quotation and used the daily limit in the same transaction.
func (e *Engine) Create(ctx context.Context, tx offramp.Tx, p offramp.Payout) error {
	if p.Phase != offramp.PhaseQueued || p.Status != offramp.PayoutProcessing {
		return fmt.Errorf("engine: a new payout must be PROCESSING/QUEUED, not %s/%s", p.Status, p.Phase)
	}
	if err := tx.CreatePayout(ctx, p); err != nil {
		return err
	}
	if err := tx.AppendJournal(ctx, ledger.Initiated(p)); err != nil {
		return err
	}
	if err := e.statusEvent(ctx, tx, p, 1); err != nil { // the new payout's first event
		return err
	}
	return tx.EnqueueJob(ctx, payoutJob(p, p.CreatedAt))
}

// statusEvent records the payout's status as an event; a deliverable one
// gets its webhook outbox row. seq is the event's number when the caller
// knows it (1 for a payout just created), 0 to let the store number it.
func (e *Engine) statusEvent(ctx context.Context, tx offramp.Tx, p offramp.Payout, seq int64) error {
	md := map[string]string{}
	if p.UTR != "" {
		md["utr"] = p.UTR
	}
	if p.FailureReason != "" {
		md["failure_reason"] = p.FailureReason
	}
	_, err := webhook.Emit(ctx, tx, offramp.Event{
		ID: offramp.NewID(), OrgID: p.OrgID, ObjectType: offramp.ObjectPayout, ObjectID: p.ID, Event: string(p.Status), Sequence: seq,
		ClientReferenceID: p.ClientReferenceID, Metadata: md, CreatedAt: e.now(),
	}, e.now())
	return err
}

// unknownDelay is the wait before inquiry n+1 about an unknown outcome.
func (e *Engine) unknownDelay(n int) time.Duration {
	d, _ := e.unknown.DelayAt(n, e.cfg.Rand())
	return d
}

// pollDelay is the wait before the next look at a transfer (pending, or
// paid and watched for a reversal) that has been in its state since
// `since`: it grows with that age, so polls are dense while an answer is
// likely and sparse later, from InquiryDelay up to MaxPollInterval; and it
// never overshoots `until` (the deadline of the state) when one is given.
func (e *Engine) pollDelay(since, until time.Time) time.Duration {
	now := e.now()
	age := max(now.Sub(since), 0)
	attempt := 1 + bits.Len64(uint64(age/e.cfg.InquiryDelay))
	d, _ := e.poll.DelayAt(attempt, e.cfg.Rand())
	if !until.IsZero() {
		if left := until.Sub(now); left < d {
			d = max(left, 0)
		}
	}
	return d
}

// watchDelay is the wait before the next reversal check of a transfer
// paid at paidAt, never past the end of the window.
func (e *Engine) watchDelay(paidAt time.Time) time.Duration {
	now := e.now()
	age := max(now.Sub(paidAt), 0)
	d, _ := e.watch.DelayAt(1+bits.Len64(uint64(age/e.cfg.MaxPollInterval)), e.cfg.Rand())
	if left := paidAt.Add(e.cfg.ReversalWindow).Sub(now); left < d {
		d = max(left, 0)
	}
	return d
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func ptr(n int) *int { return &n }

func isNotSent(err error) bool { return errors.Is(err, offramp.ErrRailNotSent) }
