// Package fakebank is a scriptable, deterministic, in-memory bank that
// implements offramp.Rail, for the payout engine's tests and for seeded
// simulations.
//
// The sandbox bank (package rail) fails in a few fixed ways chosen by magic
// account numbers and keeps durable books; this bank fails in every way the
// bank contract allows, on demand or at random, and keeps its books in
// memory where a test can read them. It passes rail/railtest like any other
// adapter.
//
// # What a transfer does
//
// When the bank records a transfer it fixes its Fate: how long it stays
// ACCEPTED and what happens then (paid, rejected, paid then reversed, or
// never settled). Its status is a function of that fate and the bank's
// clock (an injected offramp.Clock; use clock.Fake), caught up lazily when
// someone looks, so time only moves when the test moves it. A transfer is
// visible to Inquire only Options.PostingDelay after it was recorded
// (NOT_FOUND before that), as on a bank with posting lag.
//
// The fate comes from, in order: a Script for the reference, a Script for
// the account number, the seeded random draw (Options.Faults), and
// otherwise Pay(Options.Settle).
//
// # What a call does
//
// Each Submit and Inquire call has a fault (Answer unless something says
// otherwise) taken from, in order: the Script for the reference, the Script
// for the account number, the queue filled by NextSubmits/NextInquiries,
// the seeded random draw, and otherwise Answer. The Submit faults cover
// what a client can see of a bank: an answer, a lost answer after the bank
// committed (DropResponse, ServerError, Hang), a failure before it
// committed that the client cannot tell from a lost answer
// (ResetBeforeCommit, HangBeforeCommit), and a definite refusal that
// wraps offramp.ErrRailNotSent (NotSent).
//
// A call whose context is already done when it arrives records nothing,
// consumes no script, and returns an error wrapping ctx.Err(). A hanging
// call never needs wall-clock time: it blocks until its context is done,
// Release or ReleaseAll lets it go, or Close; WaitHanging tells a test when
// it is blocked. Options.ImmediateTimeouts makes hangs return at once, for
// simulations that run on one goroutine.
//
// # Determinism
//
// Random draws come from a PCG source seeded by Options.Seed. Every Submit
// draws exactly two numbers and every Inquire one, whatever happens, so the
// bank behaves identically given the same sequence of calls (order
// included), the same scripts and the same clock readings. UTRs are drawn
// from a counter, not at random.
//
// # Invariants
//
// Transfers, Paid, SubmitCalls, Held and PaidMoreThanOnce read the books:
// PaidMoreThanOnce must be empty after any run of a correct engine, and on a
// bank that does not deduplicate (Options.NoDedup) Transfers shows whether
// the engine ever resubmitted.
package fakebank

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/offramp/offramp"
)

// Defaults for zero Options durations.
const (
	DefaultSettle       = 2 * time.Second
	DefaultPending      = 10 * time.Minute
	DefaultReverseAfter = 24 * time.Hour
)

// Reasons the bank gives when a script does not name one.
const (
	ReasonRejected = offramp.ReasonBeneficiaryBankRejected
	ReasonReversed = "BENEFICIARY_ACCOUNT_CLOSED"
	// ReasonInvalid: an empty reference or a non-positive amount, refused
	// by the bank's validation; nothing is recorded.
	ReasonInvalid = "INVALID_REQUEST"
)

// Errors the bank's faults return. Only ErrRefused comes wrapped in
// offramp.ErrRailNotSent; every other Submit error means "outcome unknown".
var (
	ErrResponseLost = errors.New("fakebank: the bank's response was lost")
	ErrServer       = errors.New("fakebank: 503 Service Unavailable")
	ErrReset        = errors.New("fakebank: connection reset by peer")
	ErrReleased     = errors.New("fakebank: the hanging call was released without an answer")
	ErrClosed       = errors.New("fakebank: the bank closed the connection")
	ErrRefused      = errors.New("fakebank: request refused before the bank created anything")
	ErrInquiry      = errors.New("fakebank: inquiry failed")
)

// Outcome is what finally happens to a recorded transfer.
type Outcome int

const (
	// OutcomeUnscripted leaves the choice to the next rule (see the
	// package documentation).
	OutcomeUnscripted Outcome = iota
	// OutcomePays: ACCEPTED for Fate.After, then SUCCESS.
	OutcomePays
	// OutcomeRejects: ACCEPTED for Fate.After (zero: rejected at Submit),
	// then REJECTED with Fate.Reason.
	OutcomeRejects
	// OutcomeReverses: SUCCESS after Fate.After, REVERSED with the same
	// UTR and Fate.Reason Fate.ReverseAfter later.
	OutcomeReverses
	// OutcomeStaysPending: ACCEPTED forever.
	OutcomeStaysPending
)

func (o Outcome) String() string {
	switch o {
	case OutcomeUnscripted:
		return "unscripted"
	case OutcomePays:
		return "pays"
	case OutcomeRejects:
		return "rejects"
	case OutcomeReverses:
		return "reverses"
	case OutcomeStaysPending:
		return "stays-pending"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Fate is what the bank does with a transfer it records, fixed when it
// records it.
type Fate struct {
	Outcome      Outcome
	After        time.Duration // how long the transfer stays ACCEPTED
	ReverseAfter time.Duration // OutcomeReverses: how long it stays SUCCESS
	Reason       string        // REJECTED/REVERSED reason; empty: a default
}

// Pay returns a fate that pays after d (d zero: SUCCESS at Submit).
func Pay(after time.Duration) Fate { return Fate{Outcome: OutcomePays, After: after} }

// Reject returns a fate rejected at Submit with reason (empty: ReasonRejected).
func Reject(reason string) Fate { return Fate{Outcome: OutcomeRejects, Reason: reason} }

// RejectAfter returns a fate ACCEPTED for d and then rejected.
func RejectAfter(after time.Duration, reason string) Fate {
	return Fate{Outcome: OutcomeRejects, After: after, Reason: reason}
}

// Reverse returns a fate paid after payAfter and reversed reverseAfter
// later with reason (empty: ReasonReversed).
func Reverse(payAfter, reverseAfter time.Duration, reason string) Fate {
	return Fate{Outcome: OutcomeReverses, After: payAfter, ReverseAfter: reverseAfter, Reason: reason}
}

// StayPending returns a fate that never settles.
func StayPending() Fate { return Fate{Outcome: OutcomeStaysPending} }

// SubmitFault is how one Submit call behaves.
type SubmitFault int

const (
	// SubmitUnscripted leaves the choice to the next rule.
	SubmitUnscripted SubmitFault = iota
	// Answer: record the transfer (unless the reference is taken on a
	// deduplicating bank) and answer its status.
	Answer
	// DropResponse: record, then lose the answer: an error wrapping
	// ErrResponseLost.
	DropResponse
	// ServerError: record, then fail with a 5xx: an error wrapping
	// ErrServer.
	ServerError
	// Hang: record, then block until the context is done (an error
	// wrapping ctx.Err()), Release/ReleaseAll (ErrReleased) or Close
	// (ErrClosed).
	Hang
	// HangBeforeCommit: block like Hang without recording anything.
	HangBeforeCommit
	// ResetBeforeCommit: record nothing, and fail with an error wrapping
	// ErrReset that the client cannot tell from a lost answer.
	ResetBeforeCommit
	// NotSent: record nothing, and fail with an error wrapping both
	// offramp.ErrRailNotSent and ErrRefused.
	NotSent
)

func (f SubmitFault) String() string {
	switch f {
	case SubmitUnscripted:
		return "unscripted"
	case Answer:
		return "answer"
	case DropResponse:
		return "drop-response"
	case ServerError:
		return "server-error"
	case Hang:
		return "hang"
	case HangBeforeCommit:
		return "hang-before-commit"
	case ResetBeforeCommit:
		return "reset-before-commit"
	case NotSent:
		return "not-sent"
	}
	return fmt.Sprintf("SubmitFault(%d)", int(f))
}

// committed reports whether the bank records the transfer before the
// fault strikes.
func (f SubmitFault) committed() bool {
	return f == Answer || f == DropResponse || f == ServerError || f == Hang
}

// InquireFault is how one Inquire call behaves.
type InquireFault int

const (
	// InquireUnscripted leaves the choice to the next rule.
	InquireUnscripted InquireFault = iota
	// InquireAnswer: answer from the books.
	InquireAnswer
	// InquireError: fail with an error wrapping ErrInquiry.
	InquireError
	// InquireHang: block like a Submit Hang, then fail.
	InquireHang
)

func (f InquireFault) String() string {
	switch f {
	case InquireUnscripted:
		return "unscripted"
	case InquireAnswer:
		return "answer"
	case InquireError:
		return "error"
	case InquireHang:
		return "hang"
	}
	return fmt.Sprintf("InquireFault(%d)", int(f))
}

// Script scripts the bank for one reference or one account number.
type Script struct {
	// Fate is the fate of a transfer recorded under the reference (or to
	// the account). It does not change a transfer already recorded.
	Fate Fate
	// Submits are the faults of the successive Submit calls; once used
	// up, SubmitsThen applies to every further call (zero: the next rule).
	Submits     []SubmitFault
	SubmitsThen SubmitFault
	// Inquiries and InquiriesThen: the same for Inquire calls.
	Inquiries     []InquireFault
	InquiriesThen InquireFault
}

// Rates are the probabilities of the seeded random faults. Within each
// group they must sum to at most 1; the rest of the probability is the
// normal behaviour.
type Rates struct {
	// Per Submit call.
	NotSent, ResetBeforeCommit, HangBeforeCommit, DropResponse, ServerError, Hang float64
	// Per recorded transfer: rejected at Submit, paid after
	// Options.Pending instead of Options.Settle, paid after Settle and
	// reversed Options.ReverseAfter later, never settled.
	Reject, Pending, Reverse, StayPending float64
	// Per Inquire call.
	InquireError, InquireHang float64
}

// Options configures a Bank.
type Options struct {
	// Clock is the bank's time; nil means offramp.SystemClock{}.
	// Deterministic tests pass a clock.Fake.
	Clock offramp.Clock
	// Seed seeds the random draws (a PCG source).
	Seed int64
	// Faults are the random faults' probabilities; zero means none.
	Faults Rates
	// PostingDelay is how long after it is recorded a transfer stays
	// invisible to Inquire (NOT_FOUND), and what Capabilities reports.
	PostingDelay time.Duration
	// Settle is how long an ordinary transfer stays ACCEPTED (zero:
	// DefaultSettle).
	Settle time.Duration
	// Pending is how long a randomly pending transfer stays ACCEPTED
	// (zero: DefaultPending).
	Pending time.Duration
	// ReverseAfter is how long a randomly reversed transfer stays SUCCESS
	// (zero: DefaultReverseAfter).
	ReverseAfter time.Duration
	// NoDedup makes a bank that does not deduplicate references: every
	// Submit that gets to record creates a new transfer, and Capabilities
	// says so. Inquire answers the latest visible transfer.
	NoDedup bool
	// ImmediateTimeouts makes Hang and HangBeforeCommit (Submit) and
	// InquireHang return at once with an error wrapping
	// context.DeadlineExceeded, as if the caller's deadline had passed
	// while the bank was silent.
	ImmediateTimeouts bool
}

// Record is one transfer in the bank's books.
type Record struct {
	Transfer    offramp.RailTransfer
	Fate        Fate
	SubmittedAt time.Time
	// Result is the transfer's status at the bank's current time,
	// whether or not it is visible to Inquire yet.
	Result offramp.RailResult
}

// Bank is the fake bank. All methods are safe for concurrent use.
type Bank struct {
	opts  Options
	clock offramp.Clock

	mu        sync.Mutex
	rng       *rand.Rand
	transfers map[string][]*transfer
	submits   map[string]int
	inquiries map[string]int
	refs      map[string]*scriptState
	accounts  map[string]*scriptState
	nextSub   []SubmitFault
	nextInq   []InquireFault
	utrs      int64
	hangs     map[*hang]struct{}
	hangsMove chan struct{} // closed and replaced whenever hangs changes
	closed    chan struct{}
	isClosed  bool
}

var _ offramp.Rail = (*Bank)(nil)

type transfer struct {
	t      offramp.RailTransfer
	fate   Fate
	at     time.Time
	utr    string
	status offramp.RailStatus // caught up lazily; only moves forward
	posted bool               // visible to Inquire; latched like status
}

type hang struct {
	ref     string
	release chan struct{}
}

type scriptState struct {
	Script
	submits, inquiries int
}

func (s *scriptState) submit() SubmitFault {
	if s == nil {
		return SubmitUnscripted
	}
	if s.submits < len(s.Submits) {
		s.submits++
		return s.Submits[s.submits-1]
	}
	return s.SubmitsThen
}

func (s *scriptState) inquire() InquireFault {
	if s == nil {
		return InquireUnscripted
	}
	if s.inquiries < len(s.Inquiries) {
		s.inquiries++
		return s.Inquiries[s.inquiries-1]
	}
	return s.InquiriesThen
}

// New returns a bank. It panics on options no bank could honour (a
// negative duration, a probability outside [0, 1] or a group of them
// summing above 1): they are mistakes in a test.
func New(opts Options) *Bank {
	for name, d := range map[string]time.Duration{
		"PostingDelay": opts.PostingDelay, "Settle": opts.Settle,
		"Pending": opts.Pending, "ReverseAfter": opts.ReverseAfter,
	} {
		if d < 0 {
			panic(fmt.Sprintf("fakebank: negative Options.%s %v", name, d))
		}
	}
	r := opts.Faults
	for name, group := range map[string][]float64{
		"submit":   {r.NotSent, r.ResetBeforeCommit, r.HangBeforeCommit, r.DropResponse, r.ServerError, r.Hang},
		"transfer": {r.Reject, r.Pending, r.Reverse, r.StayPending},
		"inquire":  {r.InquireError, r.InquireHang},
	} {
		sum := 0.0
		for _, p := range group {
			if p < 0 || p > 1 || math.IsNaN(p) {
				panic(fmt.Sprintf("fakebank: %s fault rate %v outside [0, 1]", name, p))
			}
			sum += p
		}
		if sum > 1+1e-9 {
			panic(fmt.Sprintf("fakebank: %s fault rates sum to %v, more than 1", name, sum))
		}
	}
	if opts.Settle == 0 {
		opts.Settle = DefaultSettle
	}
	if opts.Pending == 0 {
		opts.Pending = DefaultPending
	}
	if opts.ReverseAfter == 0 {
		opts.ReverseAfter = DefaultReverseAfter
	}
	b := &Bank{
		opts:      opts,
		clock:     opts.Clock,
		rng:       rand.New(rand.NewPCG(uint64(opts.Seed), uint64(opts.Seed)^0x9e3779b97f4a7c15)),
		transfers: map[string][]*transfer{},
		submits:   map[string]int{},
		inquiries: map[string]int{},
		refs:      map[string]*scriptState{},
		accounts:  map[string]*scriptState{},
		hangs:     map[*hang]struct{}{},
		hangsMove: make(chan struct{}),
		closed:    make(chan struct{}),
	}
	if b.clock == nil {
		b.clock = offramp.SystemClock{}
	}
	return b
}

// Capabilities reports Options.PostingDelay, and DedupsReferences unless
// Options.NoDedup.
func (b *Bank) Capabilities() offramp.RailCapabilities {
	return offramp.RailCapabilities{DedupsReferences: !b.opts.NoDedup, PostingDelay: b.opts.PostingDelay}
}

// ScriptReference scripts the bank for transfers under ref, replacing any
// earlier script for it.
func (b *Bank) ScriptReference(ref string, s Script) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refs[ref] = &scriptState{Script: s}
}

// ScriptAccount scripts the bank for transfers to the account number,
// replacing any earlier script for it. For Submit the account is the
// call's; for Inquire it is that of the transfer held under the reference.
func (b *Bank) ScriptAccount(account string, s Script) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.accounts[account] = &scriptState{Script: s}
}

// NextSubmits queues faults for the next Submit calls that no script
// decides, whatever their reference.
func (b *Bank) NextSubmits(f ...SubmitFault) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextSub = append(b.nextSub, f...)
}

// NextInquiries queues faults for the next Inquire calls that no script
// decides.
func (b *Bank) NextInquiries(f ...InquireFault) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextInq = append(b.nextInq, f...)
}

// Submit implements offramp.Rail.
func (b *Bank) Submit(ctx context.Context, t offramp.RailTransfer) (offramp.RailResult, error) {
	b.mu.Lock()
	uFault, uFate := b.rng.Float64(), b.rng.Float64()
	b.submits[t.Reference]++
	if err := ctx.Err(); err != nil {
		b.mu.Unlock()
		return offramp.RailResult{}, fmt.Errorf("fakebank: submit %q not sent: %w", t.Reference, err)
	}
	fault := b.submitFault(t, uFault)

	var res offramp.RailResult
	if fault.committed() {
		res = b.record(t, uFate)
	}
	switch fault {
	case NotSent:
		b.mu.Unlock()
		return offramp.RailResult{}, offramp.RailNotSent(fmt.Errorf("submit %q: %w", t.Reference, ErrRefused))
	case ResetBeforeCommit:
		b.mu.Unlock()
		return offramp.RailResult{}, fmt.Errorf("fakebank: submit %q: %w", t.Reference, ErrReset)
	case DropResponse:
		b.mu.Unlock()
		return offramp.RailResult{}, fmt.Errorf("fakebank: submit %q: %w", t.Reference, ErrResponseLost)
	case ServerError:
		b.mu.Unlock()
		return offramp.RailResult{}, fmt.Errorf("fakebank: submit %q: %w", t.Reference, ErrServer)
	case Hang, HangBeforeCommit:
		return offramp.RailResult{}, b.hang(ctx, "submit", t.Reference) // unlocks
	}
	b.mu.Unlock()
	// The bank answered; a caller that gave up meanwhile does not get it.
	if err := ctx.Err(); err != nil {
		return offramp.RailResult{}, fmt.Errorf("fakebank: answer to submit %q lost: %w", t.Reference, err)
	}
	return res, nil
}

// submitFault picks the call's fault. b.mu is held.
func (b *Bank) submitFault(t offramp.RailTransfer, u float64) SubmitFault {
	if f := b.refs[t.Reference].submit(); f != SubmitUnscripted {
		return f
	}
	if f := b.accounts[t.AccountNumber].submit(); f != SubmitUnscripted {
		return f
	}
	if len(b.nextSub) > 0 {
		f := b.nextSub[0]
		b.nextSub = b.nextSub[1:]
		if f != SubmitUnscripted {
			return f
		}
	}
	r := b.opts.Faults
	for _, c := range []struct {
		p float64
		f SubmitFault
	}{
		{r.NotSent, NotSent}, {r.ResetBeforeCommit, ResetBeforeCommit}, {r.HangBeforeCommit, HangBeforeCommit},
		{r.DropResponse, DropResponse}, {r.ServerError, ServerError}, {r.Hang, Hang},
	} {
		if u < c.p {
			return c.f
		}
		u -= c.p
	}
	return Answer
}

// record is the bank's side of a Submit that reaches it: validate, then
// answer the transfer already under the reference or record a new one.
// b.mu is held.
func (b *Bank) record(t offramp.RailTransfer, uFate float64) offramp.RailResult {
	if t.Reference == "" || !t.Amount.IsPositive() {
		return offramp.RailResult{Status: offramp.RailRejected, Reason: ReasonInvalid}
	}
	now := b.clock.Now()
	if held := b.transfers[t.Reference]; len(held) > 0 && !b.opts.NoDedup {
		return held[0].observe(now)
	}
	b.utrs++
	tr := &transfer{
		t:      t,
		fate:   b.fateFor(t, uFate),
		at:     now,
		utr:    fmt.Sprintf("%012d", 700_000_000_000+b.utrs),
		status: offramp.RailAccepted,
	}
	b.transfers[t.Reference] = append(b.transfers[t.Reference], tr)
	return tr.observe(now)
}

// fateFor picks a new transfer's fate. b.mu is held.
func (b *Bank) fateFor(t offramp.RailTransfer, u float64) Fate {
	f := b.pickFate(t, u)
	switch {
	case f.Outcome == OutcomeRejects && f.Reason == "":
		f.Reason = ReasonRejected
	case f.Outcome == OutcomeReverses && f.Reason == "":
		f.Reason = ReasonReversed
	}
	return f
}

func (b *Bank) pickFate(t offramp.RailTransfer, u float64) Fate {
	if s := b.refs[t.Reference]; s != nil && s.Fate.Outcome != OutcomeUnscripted {
		return s.Fate
	}
	if s := b.accounts[t.AccountNumber]; s != nil && s.Fate.Outcome != OutcomeUnscripted {
		return s.Fate
	}
	o, r := b.opts, b.opts.Faults
	for _, c := range []struct {
		p float64
		f Fate
	}{
		{r.Reject, Reject("")}, {r.Pending, Pay(o.Pending)},
		{r.Reverse, Reverse(o.Settle, o.ReverseAfter, "")}, {r.StayPending, StayPending()},
	} {
		if u < c.p {
			return c.f
		}
		u -= c.p
	}
	return Pay(o.Settle)
}

// observe catches the transfer's status up with now and returns it.
func (tr *transfer) observe(now time.Time) offramp.RailResult {
	age, f := now.Sub(tr.at), tr.fate
	target := offramp.RailAccepted
	switch f.Outcome {
	case OutcomePays:
		if age >= f.After {
			target = offramp.RailSuccess
		}
	case OutcomeRejects:
		if age >= f.After {
			target = offramp.RailRejected
		}
	case OutcomeReverses:
		if age >= f.After+f.ReverseAfter {
			target = offramp.RailReversed
		} else if age >= f.After {
			target = offramp.RailSuccess
		}
	}
	// Latch: a clock set back does not undo a payment.
	if rank(target) > rank(tr.status) {
		tr.status = target
	}
	switch tr.status {
	case offramp.RailSuccess:
		return offramp.RailResult{Status: offramp.RailSuccess, UTR: tr.utr}
	case offramp.RailRejected:
		return offramp.RailResult{Status: offramp.RailRejected, Reason: f.Reason}
	case offramp.RailReversed:
		return offramp.RailResult{Status: offramp.RailReversed, UTR: tr.utr, Reason: f.Reason}
	}
	return offramp.RailResult{Status: offramp.RailAccepted}
}

func rank(s offramp.RailStatus) int {
	switch s {
	case offramp.RailSuccess, offramp.RailRejected:
		return 1
	case offramp.RailReversed:
		return 2
	}
	return 0
}

func paid(s offramp.RailStatus) bool { return s == offramp.RailSuccess || s == offramp.RailReversed }

// Inquire implements offramp.Rail: the latest transfer under reference
// that is visible (PostingDelay has passed since it was recorded), or
// NOT_FOUND.
func (b *Bank) Inquire(ctx context.Context, reference string) (offramp.RailResult, error) {
	b.mu.Lock()
	u := b.rng.Float64()
	b.inquiries[reference]++
	if err := ctx.Err(); err != nil {
		b.mu.Unlock()
		return offramp.RailResult{}, fmt.Errorf("fakebank: inquire %q not sent: %w", reference, err)
	}
	switch b.inquireFault(reference, u) {
	case InquireError:
		b.mu.Unlock()
		return offramp.RailResult{}, fmt.Errorf("fakebank: inquire %q: %w", reference, ErrInquiry)
	case InquireHang:
		return offramp.RailResult{}, b.hang(ctx, "inquire", reference) // unlocks
	}
	defer b.mu.Unlock()
	now := b.clock.Now()
	held := b.transfers[reference]
	for i := len(held) - 1; i >= 0; i-- {
		if tr := held[i]; tr.posted || now.Sub(tr.at) >= b.opts.PostingDelay {
			tr.posted = true
			return tr.observe(now), nil
		}
	}
	return offramp.RailResult{Status: offramp.RailNotFound}, nil
}

// inquireFault picks the call's fault. b.mu is held.
func (b *Bank) inquireFault(ref string, u float64) InquireFault {
	if f := b.refs[ref].inquire(); f != InquireUnscripted {
		return f
	}
	if held := b.transfers[ref]; len(held) > 0 {
		if f := b.accounts[held[len(held)-1].t.AccountNumber].inquire(); f != InquireUnscripted {
			return f
		}
	}
	if len(b.nextInq) > 0 {
		f := b.nextInq[0]
		b.nextInq = b.nextInq[1:]
		if f != InquireUnscripted {
			return f
		}
	}
	r := b.opts.Faults
	if u < r.InquireError {
		return InquireError
	}
	if u < r.InquireError+r.InquireHang {
		return InquireHang
	}
	return InquireAnswer
}

// hang blocks the call until ctx is done, it is released, or the bank
// closes. It is called with b.mu held and unlocks it.
func (b *Bank) hang(ctx context.Context, call, ref string) error {
	if b.opts.ImmediateTimeouts {
		b.mu.Unlock()
		return fmt.Errorf("fakebank: no answer to %s %q: %w", call, ref, context.DeadlineExceeded)
	}
	if b.isClosed {
		b.mu.Unlock()
		return fmt.Errorf("fakebank: no answer to %s %q: %w", call, ref, ErrClosed)
	}
	h := &hang{ref: ref, release: make(chan struct{})}
	b.hangs[h] = struct{}{}
	b.hangsMoved()
	b.mu.Unlock()

	var err error
	select {
	case <-ctx.Done():
		err = ctx.Err()
	case <-h.release:
		err = ErrReleased
	case <-b.closed:
		err = ErrClosed
	}
	b.mu.Lock()
	if _, ok := b.hangs[h]; ok {
		delete(b.hangs, h)
		b.hangsMoved()
	}
	b.mu.Unlock()
	return fmt.Errorf("fakebank: no answer to %s %q: %w", call, ref, err)
}

// hangsMoved wakes WaitHanging. b.mu is held.
func (b *Bank) hangsMoved() {
	close(b.hangsMove)
	b.hangsMove = make(chan struct{})
}

// Hanging returns how many calls are blocked in a hang.
func (b *Bank) Hanging() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.hangs)
}

// WaitHanging blocks until at least n calls are blocked in a hang, or ctx
// is done.
func (b *Bank) WaitHanging(ctx context.Context, n int) error {
	for {
		b.mu.Lock()
		if len(b.hangs) >= n {
			b.mu.Unlock()
			return nil
		}
		moved := b.hangsMove
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-moved:
		}
	}
}

// Release lets every call now hanging on reference return (with an error
// wrapping ErrReleased) and returns how many it released. Calls that
// start hanging later are not affected.
func (b *Bank) Release(reference string) int {
	return b.release(func(h *hang) bool { return h.ref == reference })
}

// ReleaseAll is Release for every reference.
func (b *Bank) ReleaseAll() int { return b.release(func(*hang) bool { return true }) }

func (b *Bank) release(match func(*hang) bool) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for h := range b.hangs {
		if match(h) {
			close(h.release)
			delete(b.hangs, h)
			n++
		}
	}
	if n > 0 {
		b.hangsMoved()
	}
	return n
}

// Close releases every hanging call (ErrClosed) and makes later hangs
// return at once. The books stay readable and the bank keeps answering
// other calls. Close is idempotent.
func (b *Bank) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.isClosed {
		b.isClosed = true
		close(b.closed)
	}
}

// Transfers returns how many transfers the bank holds under reference,
// visible to Inquire yet or not.
func (b *Bank) Transfers(reference string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.transfers[reference])
}

// SubmitCalls returns how many Submit calls the bank got for reference,
// whatever happened to them.
func (b *Bank) SubmitCalls(reference string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.submits[reference]
}

// InquireCalls returns how many Inquire calls the bank got for reference.
func (b *Bank) InquireCalls(reference string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inquiries[reference]
}

// Paid returns how many transfers under reference the bank has paid by
// now: SUCCESS, or REVERSED (which was paid once, then returned).
func (b *Bank) Paid(reference string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.paid(reference, b.clock.Now())
}

func (b *Bank) paid(reference string, now time.Time) int {
	n := 0
	for _, tr := range b.transfers[reference] {
		if paid(tr.observe(now).Status) {
			n++
		}
	}
	return n
}

// TotalPaid returns how many transfers the bank has paid by now, over all
// references.
func (b *Bank) TotalPaid() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	now, n := b.clock.Now(), 0
	for ref := range b.transfers {
		n += b.paid(ref, now)
	}
	return n
}

// PaidMoreThanOnce returns, sorted, the references under which the bank
// has paid more than one transfer by now. A correct engine leaves it
// empty; advance the clock past every settlement before the final check.
func (b *Bank) PaidMoreThanOnce() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	var refs []string
	for ref := range b.transfers {
		if b.paid(ref, now) > 1 {
			refs = append(refs, ref)
		}
	}
	slices.Sort(refs)
	return refs
}

// Held returns the transfers under reference, oldest first, with their
// status at the bank's current time.
func (b *Bank) Held(reference string) []Record {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	var out []Record
	for _, tr := range b.transfers[reference] {
		out = append(out, Record{Transfer: tr.t, Fate: tr.fate, SubmittedAt: tr.at, Result: tr.observe(now)})
	}
	return out
}

// References returns, sorted, every reference the bank holds a transfer
// under.
func (b *Bank) References() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	refs := make([]string, 0, len(b.transfers))
	for ref := range b.transfers {
		refs = append(refs, ref)
	}
	slices.Sort(refs)
	return refs
}
