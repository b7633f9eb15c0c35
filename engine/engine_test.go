package engine_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/engine"
	"github.com/offramp/offramp/rail/fakebank"
)

func newBank(h *harness, o fakebank.Options) *fakebank.Bank {
	o.Clock = h.clk
	o.ImmediateTimeouts = true
	return fakebank.New(o)
}

// bankHarness builds a harness whose bank shares its clock.
func bankHarness(t *testing.T, o fakebank.Options, cfg engine.Config) (*harness, *fakebank.Bank) {
	t.Helper()
	var bank *fakebank.Bank
	h := newHarness(t, harnessOpts{rail: railFunc(func() offramp.Rail { return bank }), cfg: cfg})
	bank = newBank(h, o)
	return h, bank
}

// railFunc lets the harness be built before the bank that needs its clock.
type railFunc func() offramp.Rail

func (f railFunc) Submit(ctx context.Context, t offramp.RailTransfer) (offramp.RailResult, error) {
	return f().Submit(ctx, t)
}
func (f railFunc) Inquire(ctx context.Context, ref string) (offramp.RailResult, error) {
	return f().Inquire(ctx, ref)
}
func (f railFunc) Capabilities() offramp.RailCapabilities { return f().Capabilities() }

func (h *harness) events(id uuid.UUID) []offramp.Event {
	h.t.Helper()
	var evs []offramp.Event
	h.view(func(tx offramp.ReadTx) error {
		var err error
		evs, err = tx.Events(h.ctx, h.org.ID, offramp.ObjectPayout, id)
		return err
	})
	return evs
}

func eventNames(evs []offramp.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Event)
	}
	return out
}

func (h *harness) limitUsed(p offramp.Payout) string {
	h.t.Helper()
	var used string
	h.view(func(tx offramp.ReadTx) error {
		u, err := tx.LimitUsage(h.ctx, p.OrgID, p.CustomerID, p.LimitDay)
		used = u.StringFixed(2)
		return err
	})
	return used
}

func (h *harness) journalKinds(id uuid.UUID) []string {
	h.t.Helper()
	var kinds []string
	h.view(func(tx offramp.ReadTx) error {
		js, err := tx.PayoutJournals(h.ctx, h.org.ID, id)
		for _, j := range js {
			kinds = append(kinds, j.Kind)
		}
		return err
	})
	return kinds
}

// A transfer the bank keeps pending for three hours is polled, never sent
// to review, and ends SUCCESS with its UTR.
func TestPendingForHoursThenPays(t *testing.T) {
	t.Parallel()
	h, bank := bankHarness(t, fakebank.Options{}, engine.Config{})
	p := h.newPayout("1001")
	bank.ScriptReference(p.RailReference, fakebank.Script{Fate: fakebank.Pay(3 * time.Hour)})

	h.runFor(2*time.Hour+59*time.Minute, time.Minute)
	if got := h.payout(p.ID); got.Status != offramp.PayoutProcessing || got.Phase != offramp.PhaseSubmitted {
		t.Fatalf("after 2 h 59 min: %s/%s, want PROCESSING/SUBMITTED", got.Status, got.Phase)
	}
	h.checkOneJob([]uuid.UUID{p.ID})
	h.runFor(45*time.Minute, time.Minute)

	got := h.payout(p.ID)
	if got.Status != offramp.PayoutSuccess || len(got.UTR) != 12 || got.UTR != bank.Held(p.RailReference)[0].Result.UTR {
		t.Fatalf("after 3 h 44 min: %s/%s UTR %q, want SUCCESS with the bank's UTR", got.Status, got.Phase, got.UTR)
	}
	if names := eventNames(h.events(p.ID)); slices.Contains(names, "IN_REVIEW") || !slices.Equal(names, []string{"PROCESSING", "SUCCESS"}) {
		t.Fatalf("events %v, want PROCESSING, SUCCESS", names)
	}
	if n := bank.SubmitCalls(p.RailReference); n != 1 {
		t.Fatalf("%d submissions, want 1", n)
	}
	// The waits grow with the age of the transfer (2 s, 4 s, ... 30 min):
	// a few dozen polls over three hours, not one a minute.
	if n := bank.InquireCalls(p.RailReference); n < 8 || n > 30 {
		t.Fatalf("%d inquiries over 3 h, want between 8 and 30", n)
	}
	h.checkBooks()
}

// A transfer still pending at the settlement deadline goes to IN_REVIEW
// with the reason, not before.
func TestSettlementDeadline(t *testing.T) {
	t.Parallel()
	h, bank := bankHarness(t, fakebank.Options{}, engine.Config{SettlementDeadline: 2 * time.Hour})
	p := h.newPayout("1002")
	bank.ScriptReference(p.RailReference, fakebank.Script{Fate: fakebank.StayPending()})
	h.runFor(time.Hour+59*time.Minute, time.Minute)
	if got := h.payout(p.ID); got.Status != offramp.PayoutProcessing {
		t.Fatalf("before the deadline: %s", got.Status)
	}
	h.runFor(2*time.Minute, time.Minute)
	got := h.payout(p.ID)
	if got.Status != offramp.PayoutInReview || got.ReviewReason != offramp.ReviewSettlementOverdue || got.LastBankAnswer != "ACCEPTED" {
		t.Fatalf("after the deadline: %s (%q, %q), want IN_REVIEW SETTLEMENT_OVERDUE after ACCEPTED", got.Status, got.ReviewReason, got.LastBankAnswer)
	}
	if js := h.jobs(p.ID); len(js) != 0 {
		t.Fatalf("an IN_REVIEW payout keeps %d jobs", len(js))
	}
	h.checkBooks()
}

// An unknown outcome gets MaxInquiries inquiries, then IN_REVIEW; an
// operator's decision settles it with its event, journal, limit effect and
// audit entry.
func TestUnknownOutcomeReviewAndResolve(t *testing.T) {
	t.Parallel()
	h, bank := bankHarness(t, fakebank.Options{}, engine.Config{})
	paid, failed, again := h.newPayout("2001"), h.newPayout("2002"), h.newPayout("2003")
	for _, p := range []offramp.Payout{paid, failed, again} {
		bank.ScriptReference(p.RailReference, fakebank.Script{Submits: []fakebank.SubmitFault{fakebank.ServerError},
			Inquiries: slices.Repeat([]fakebank.InquireFault{fakebank.InquireError}, engine.DefaultMaxInquiries), InquiriesThen: fakebank.InquireAnswer})
	}
	h.runFor(time.Hour, 10*time.Minute)
	for _, p := range []offramp.Payout{paid, failed, again} {
		got := h.payout(p.ID)
		if got.Status != offramp.PayoutInReview || got.ReviewReason != offramp.ReviewOutcomeUnknown || got.Inquiries != engine.DefaultMaxInquiries {
			t.Fatalf("%s/%s %q after %d inquiries, want IN_REVIEW OUTCOME_UNKNOWN after %d", got.Status, got.Phase, got.ReviewReason, got.Inquiries, engine.DefaultMaxInquiries)
		}
		if n := bank.SubmitCalls(p.RailReference); n != 1 {
			t.Fatalf("%d submissions of an unknown outcome, want 1", n)
		}
	}
	used := h.limitUsed(failed)

	// Refused decisions change nothing.
	for _, r := range []engine.Resolution{
		{PayoutID: paid.ID, Paid: true, UTR: "", Why: "x", By: "asha"},
		{PayoutID: paid.ID, Paid: true, Failed: true, UTR: "412345678901", Reason: "X_Y", Why: "x", By: "asha"},
		{PayoutID: paid.ID, Failed: true, Reason: "bad reason", Why: "x", By: "asha"},
		{PayoutID: paid.ID, Paid: true, UTR: "412345678901", By: "asha"},
		{PayoutID: uuid.New(), Paid: true, UTR: "412345678901", Why: "x", By: "asha"},
	} {
		if _, err := h.eng.Resolve(h.ctx, r); offramp.ErrorCode(err) != offramp.CodeInvalid && offramp.ErrorCode(err) != offramp.CodeNotFound {
			t.Fatalf("Resolve(%+v) = %v, want a validation or not-found error", r, err)
		}
	}

	out, err := h.eng.Resolve(h.ctx, engine.Resolution{PayoutID: paid.ID, Paid: true, UTR: "412345678901", Why: "bank statement shows the credit", By: "asha"})
	if err != nil || out.Status != offramp.PayoutSuccess || out.UTR != "412345678901" {
		t.Fatalf("resolve paid: %v %s %q", err, out.Status, out.UTR)
	}
	if _, err := h.eng.Resolve(h.ctx, engine.Resolution{PayoutID: paid.ID, Failed: true, Reason: "LATE", Why: "x", By: "asha"}); offramp.ErrorCode(err) != offramp.CodeRejected {
		t.Fatalf("resolving a SUCCESS payout: %v, want rejected", err)
	}
	if k := h.journalKinds(paid.ID); !slices.Equal(k, []string{"payout_initiated", "payout_paid"}) {
		t.Fatalf("journals %v", k)
	}
	out, err = h.eng.Resolve(h.ctx, engine.Resolution{PayoutID: failed.ID, Failed: true, Reason: "BENEFICIARY_BANK_REJECTED", Why: "bank: account frozen", By: "ravi"})
	if err != nil || out.Status != offramp.PayoutFailed || out.FailureReason != "BENEFICIARY_BANK_REJECTED" {
		t.Fatalf("resolve failed: %v %s %q", err, out.Status, out.FailureReason)
	}
	if after := h.limitUsed(failed); used != "4446.00" || after != "0.00" {
		t.Fatalf("limit used %s before, %s after a failed resolution; want 4446.00 then 0.00", used, after)
	}
	for _, c := range []struct {
		id     uuid.UUID
		events []string
		action string
		by     string
	}{
		{paid.ID, []string{"PROCESSING", "IN_REVIEW", "SUCCESS"}, engine.ActionResolvePaid, "asha"},
		{failed.ID, []string{"PROCESSING", "IN_REVIEW", "FAILED"}, engine.ActionResolveFailed, "ravi"},
	} {
		if names := eventNames(h.events(c.id)); !slices.Equal(names, c.events) {
			t.Fatalf("events %v, want %v", names, c.events)
		}
		var audit []offramp.AuditEntry
		h.view(func(tx offramp.ReadTx) error {
			var err error
			audit, err = tx.AuditEntries(h.ctx, offramp.ObjectPayout, c.id)
			return err
		})
		// Every status change is an audit row: the engine's move to
		// IN_REVIEW, then the operator's decision naming both statuses.
		if len(audit) != 2 {
			t.Fatalf("audit %+v, want the engine's move to IN_REVIEW and the operator's decision", audit)
		}
		if a := audit[0]; a.Action != engine.ActionStatusChanged || a.Actor != engine.EngineActor ||
			a.Details["from_status"] != "PROCESSING" || a.Details["to_status"] != "IN_REVIEW" || a.Reason == "" {
			t.Fatalf("first audit row %+v, want the engine's PROCESSING to IN_REVIEW", a)
		}
		if a := audit[1]; a.Action != c.action || a.Actor != c.by || a.Reason == "" || a.Details["bank_reference"] == "" ||
			a.Details["from_status"] != "IN_REVIEW" || a.Details["to_status"] != c.events[2] {
			t.Fatalf("second audit row %+v, want one %s by %s from IN_REVIEW to %s with the bank reference", a, c.action, c.by, c.events[2])
		}
	}

	// A re-inquiry asks the bank once: it now answers, and the payout
	// settles with the bank's UTR.
	if out, err := h.eng.Resolve(h.ctx, engine.Resolution{PayoutID: again.ID, Reinquire: true, Why: "bank says it is back", By: "asha"}); err != nil || out.Status != offramp.PayoutInReview {
		t.Fatalf("reinquire: %v %s", err, out.Status)
	}
	if js := h.jobs(again.ID); len(js) != 1 {
		t.Fatalf("reinquire scheduled %d jobs, want 1", len(js))
	}
	h.runDue()
	if got := h.payout(again.ID); got.Status != offramp.PayoutSuccess || got.UTR != bank.Held(again.RailReference)[0].Result.UTR {
		t.Fatalf("after the re-inquiry: %s %q", got.Status, got.UTR)
	}
	h.checkOneJob([]uuid.UUID{paid.ID, failed.ID, again.ID})
	h.checkBooks()
}

// A bank that reverses a paid transfer an hour later: the payout goes
// SUCCESS → FAILED REVERSED_BY_BANK, keeps its UTR, the books reverse, the
// limit comes back and a webhook with a higher sequence number is queued.
func TestReversalAfterSuccess(t *testing.T) {
	t.Parallel()
	h, bank := bankHarness(t, fakebank.Options{}, engine.Config{})
	p := h.newPayout("7777")
	bank.ScriptReference(p.RailReference, fakebank.Script{Fate: fakebank.Reverse(2*time.Second, time.Hour, "")})
	h.runFor(time.Minute, time.Second)
	paid := h.payout(p.ID)
	if paid.Status != offramp.PayoutSuccess {
		t.Fatalf("after a minute: %s", paid.Status)
	}
	h.runFor(2*time.Hour, time.Minute)
	got := h.payout(p.ID)
	if got.Status != offramp.PayoutFailed || got.Phase != offramp.PhaseReversed || got.FailureReason != offramp.ReasonReversedByBank || got.UTR != paid.UTR {
		t.Fatalf("after the reversal: %s/%s %q UTR %q, want FAILED/REVERSED REVERSED_BY_BANK with UTR %q", got.Status, got.Phase, got.FailureReason, got.UTR, paid.UTR)
	}
	evs := h.events(p.ID)
	if names := eventNames(evs); !slices.Equal(names, []string{"PROCESSING", "SUCCESS", "FAILED"}) {
		t.Fatalf("events %v", names)
	}
	last := evs[len(evs)-1]
	if last.Sequence <= evs[1].Sequence || last.Metadata["failure_reason"] != offramp.ReasonReversedByBank || last.Metadata["utr"] != paid.UTR {
		t.Fatalf("reversal event %+v", last)
	}
	var d offramp.Delivery
	h.view(func(tx offramp.ReadTx) error {
		var err error
		d, err = tx.Delivery(h.ctx, h.org.ID, last.ID)
		return err
	})
	if d.State != offramp.DeliveryPending {
		t.Fatalf("the reversal's webhook is %s, want queued", d.State)
	}
	if k := h.journalKinds(p.ID); !slices.Equal(k, []string{"payout_initiated", "payout_paid", "payout_reversed", "payout_failed"}) {
		t.Fatalf("journals %v", k)
	}
	if used := h.limitUsed(p); used != "0.00" {
		t.Fatalf("limit used %s after a reversal, want 0.00", used)
	}
	if js := h.jobs(p.ID); len(js) != 0 {
		t.Fatalf("%d jobs left after the reversal", len(js))
	}
	h.checkBooks()
}

// The reversal watch ends with the window: a payout paid and never
// reversed keeps no job afterwards.
func TestReversalWindowCloses(t *testing.T) {
	t.Parallel()
	h, bank := bankHarness(t, fakebank.Options{}, engine.Config{ReversalWindow: 3 * time.Hour})
	p := h.newPayout("1003")
	h.runFor(time.Minute, time.Second)
	if len(h.jobs(p.ID)) != 1 {
		t.Fatal("a paid payout inside the reversal window has no watch job")
	}
	h.runFor(4*time.Hour, 5*time.Minute)
	if got := h.payout(p.ID); got.Status != offramp.PayoutSuccess || len(h.jobs(p.ID)) != 0 {
		t.Fatalf("after the window: %s with %d jobs", got.Status, len(h.jobs(p.ID)))
	}
	if n := bank.InquireCalls(p.RailReference); n > 25 {
		t.Fatalf("%d inquiries in a 3 h window, want a few", n)
	}
}

// NOT_FOUND is believed only after the posting delay, and only a bank that
// refuses duplicate references is sent the transfer again.
func TestResubmission(t *testing.T) {
	t.Parallel()
	t.Run("after the grace period", func(t *testing.T) {
		h, bank := bankHarness(t, fakebank.Options{PostingDelay: time.Minute}, engine.Config{})
		p := h.newPayout("3001")
		bank.ScriptReference(p.RailReference, fakebank.Script{Submits: []fakebank.SubmitFault{fakebank.ResetBeforeCommit}, SubmitsThen: fakebank.Answer})
		h.runFor(59*time.Second, time.Second)
		if n := bank.SubmitCalls(p.RailReference); n != 1 {
			t.Fatalf("%d submissions inside the posting delay, want 1", n)
		}
		// Sent again after the grace period; visible to inquiries one
		// posting delay later, then paid.
		h.runFor(3*time.Minute, time.Second)
		got := h.payout(p.ID)
		if got.Status != offramp.PayoutSuccess || bank.SubmitCalls(p.RailReference) != 2 || bank.Transfers(p.RailReference) != 1 || got.Submissions != 2 {
			t.Fatalf("%s after %d submissions (%d recorded), %d transfers", got.Status, bank.SubmitCalls(p.RailReference), got.Submissions, bank.Transfers(p.RailReference))
		}
		h.checkBooks()
	})
	t.Run("bounded", func(t *testing.T) {
		h, bank := bankHarness(t, fakebank.Options{}, engine.Config{MaxSubmissions: 3})
		p := h.newPayout("3002")
		bank.ScriptReference(p.RailReference, fakebank.Script{SubmitsThen: fakebank.ResetBeforeCommit})
		h.runFor(time.Hour, 10*time.Minute)
		got := h.payout(p.ID)
		if got.Status != offramp.PayoutInReview || got.ReviewReason != offramp.ReviewResubmissionsExhausted || bank.SubmitCalls(p.RailReference) != 3 {
			t.Fatalf("%s %q after %d submissions, want IN_REVIEW RESUBMISSIONS_EXHAUSTED after 3", got.Status, got.ReviewReason, bank.SubmitCalls(p.RailReference))
		}
	})
	t.Run("never to a bank that does not dedup", func(t *testing.T) {
		h, bank := bankHarness(t, fakebank.Options{NoDedup: true}, engine.Config{})
		lost, dropped := h.newPayout("3003"), h.newPayout("3004")
		bank.ScriptReference(lost.RailReference, fakebank.Script{Submits: []fakebank.SubmitFault{fakebank.ResetBeforeCommit}, SubmitsThen: fakebank.Answer})
		bank.ScriptReference(dropped.RailReference, fakebank.Script{Submits: []fakebank.SubmitFault{fakebank.DropResponse}, SubmitsThen: fakebank.Answer})
		h.runFor(2*time.Hour, time.Minute)
		if got := h.payout(lost.ID); got.Status != offramp.PayoutInReview || bank.SubmitCalls(lost.RailReference) != 1 {
			t.Fatalf("lost request: %s after %d submissions, want IN_REVIEW after 1", got.Status, bank.SubmitCalls(lost.RailReference))
		}
		if got := h.payout(dropped.ID); got.Status != offramp.PayoutSuccess || bank.Transfers(dropped.RailReference) != 1 {
			t.Fatalf("dropped answer: %s with %d transfers, want SUCCESS with 1", got.Status, bank.Transfers(dropped.RailReference))
		}
		if paidTwice := bank.PaidMoreThanOnce(); len(paidTwice) != 0 {
			t.Fatalf("paid twice: %v", paidTwice)
		}
	})
}

// A definite "not sent" puts the payout back in the queue without counting
// a submission; never sent by the deadline, it fails with nothing paid.
func TestNotSent(t *testing.T) {
	t.Parallel()
	h, bank := bankHarness(t, fakebank.Options{}, engine.Config{SettlementDeadline: time.Hour})
	ok, never := h.newPayout("4001"), h.newPayout("4002")
	bank.ScriptReference(ok.RailReference, fakebank.Script{Submits: []fakebank.SubmitFault{fakebank.NotSent, fakebank.NotSent}, SubmitsThen: fakebank.Answer})
	bank.ScriptReference(never.RailReference, fakebank.Script{SubmitsThen: fakebank.NotSent})
	h.runFor(2*time.Hour, 10*time.Minute)
	// Asked again with waits that grow with the payout's age: a handful
	// of calls in the hour, not one every two seconds.
	if n := bank.SubmitCalls(never.RailReference); n > 20 {
		t.Fatalf("%d submissions to a bank that refuses for an hour", n)
	}
	if got := h.payout(ok.ID); got.Status != offramp.PayoutSuccess || got.Submissions != 1 {
		t.Fatalf("%s with %d submissions counted, want SUCCESS with 1", got.Status, got.Submissions)
	}
	got := h.payout(never.ID)
	if got.Status != offramp.PayoutFailed || got.FailureReason != engine.ReasonBankUnavailable || bank.Transfers(never.RailReference) != 0 {
		t.Fatalf("%s %q with %d transfers, want FAILED BANK_UNAVAILABLE with none", got.Status, got.FailureReason, bank.Transfers(never.RailReference))
	}
	h.checkBooks()
}

// Reports from the bank (a provider's webhook) apply idempotently and out
// of order.
func TestApplyBankAnswer(t *testing.T) {
	t.Parallel()
	h, bank := bankHarness(t, fakebank.Options{}, engine.Config{})
	p := h.newPayout("5001")
	bank.ScriptReference(p.RailReference, fakebank.Script{Fate: fakebank.StayPending()})
	h.runDue()
	if got := h.payout(p.ID); got.Phase != offramp.PhaseSubmitted {
		t.Fatalf("%s, want SUBMITTED", got.Phase)
	}
	apply := func(st offramp.RailStatus, utr string) offramp.Payout {
		t.Helper()
		out, err := h.eng.ApplyBankAnswer(h.ctx, p.RailReference, offramp.RailResult{Status: st, UTR: utr, Reason: map[bool]string{true: "ACCOUNT_CLOSED"}[st == offramp.RailReversed]})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := apply(offramp.RailSuccess, "512345678901"); got.Status != offramp.PayoutSuccess || got.UTR != "512345678901" {
		t.Fatalf("SUCCESS report: %s %q", got.Status, got.UTR)
	}
	apply(offramp.RailAccepted, "")                                                  // late: ignored
	apply(offramp.RailSuccess, "512345678901")                                       // again: ignored
	if got := apply(offramp.RailRejected, ""); got.Status != offramp.PayoutSuccess { // not allowed after SUCCESS
		t.Fatalf("REJECTED after SUCCESS moved the payout to %s", got.Status)
	}
	if names := eventNames(h.events(p.ID)); !slices.Equal(names, []string{"PROCESSING", "SUCCESS"}) {
		t.Fatalf("events %v", names)
	}
	if got := apply(offramp.RailReversed, "512345678901"); got.Status != offramp.PayoutFailed || got.FailureReason != offramp.ReasonReversedByBank {
		t.Fatalf("REVERSED report: %s %q", got.Status, got.FailureReason)
	}
	apply(offramp.RailSuccess, "512345678901") // after the reversal: ignored
	apply(offramp.RailReversed, "512345678901")
	if names := eventNames(h.events(p.ID)); !slices.Equal(names, []string{"PROCESSING", "SUCCESS", "FAILED"}) {
		t.Fatalf("events %v", names)
	}
	if _, err := h.eng.ApplyBankAnswer(h.ctx, "OFR-unknown", offramp.RailResult{Status: offramp.RailSuccess}); !errors.Is(err, offramp.ErrNotFound) {
		t.Fatalf("unknown reference: %v", err)
	}
	// The payout's own job finds it settled and completes itself.
	h.runFor(time.Hour, time.Minute)
	if js := h.jobs(p.ID); len(js) != 0 {
		t.Fatalf("%d jobs left", len(js))
	}
	h.checkBooks()
}

// Everything Submit needs is read before SUBMITTING is recorded: a failed
// read leaves a payout that was never sent in QUEUED, not in an unknown
// outcome.
func TestReadBeforeRecord(t *testing.T) {
	t.Parallel()
	h, bank := bankHarness(t, fakebank.Options{}, engine.Config{})
	p := h.newPayout("6001")
	h.store.viewFault = func(n int64) bool { return n == 2 } // the bank account read
	h.runDue()
	got := h.payout(p.ID)
	if got.Phase != offramp.PhaseQueued || bank.SubmitCalls(p.RailReference) != 0 {
		t.Fatalf("after a failed read: %s with %d submissions, want QUEUED with none", got.Phase, bank.SubmitCalls(p.RailReference))
	}
	h.checkOneJob([]uuid.UUID{p.ID})
	h.runFor(time.Minute, time.Second)
	if got := h.payout(p.ID); got.Status != offramp.PayoutSuccess {
		t.Fatalf("then: %s", got.Status)
	}
}

// The process is killed at every write of a payout's life, before and after
// the commit; afterwards exactly one job is live for the unfinished payout,
// and the payout still ends paid once.
func TestCrashAtEveryStep(t *testing.T) {
	t.Parallel()
	for _, when := range []fault{crashBeforeCommit, crashAfterCommit} {
		for k := int64(1); k <= 8; k++ {
			h, bank := bankHarness(t, fakebank.Options{}, engine.Config{ReversalWindow: -1})
			p := h.newPayout("8001")
			h.store.fault = func(n int64) fault {
				if n == k {
					return when
				}
				return noFault
			}
			for i := 0; i < 120 && (h.payout(p.ID).Status != offramp.PayoutSuccess || len(h.jobs(p.ID)) > 0); i++ {
				h.runDue()
				h.checkOneJob([]uuid.UUID{p.ID})
				h.clk.Advance(time.Second)
			}
			got := h.payout(p.ID)
			if got.Status != offramp.PayoutSuccess || bank.Paid(p.RailReference) != 1 || bank.Transfers(p.RailReference) != 1 {
				t.Fatalf("crash %d at write %d: %s, paid %d times, %d transfers", when, k, got.Status, bank.Paid(p.RailReference), bank.Transfers(p.RailReference))
			}
			if len(h.jobs(p.ID)) != 0 {
				t.Fatalf("crash %d at write %d: a finished payout keeps a job", when, k)
			}
			h.checkBooks()
		}
	}
}
