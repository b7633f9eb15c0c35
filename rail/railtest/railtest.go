// Package railtest is the conformance suite for offramp.Rail: every bank
// adapter runs it (the sandbox bank, the fake bank, and each provider
// adapter against a fake of the provider's HTTP API).
//
// # Why
//
// The payout engine moves money on what a Rail says, and it can only be as
// careful as the answers are honest. It records "submitted" before it calls
// Submit, treats an error as "outcome unknown" and inquires instead of
// sending again, resubmits under the same reference only when the bank says
// it deduplicates references and its posting delay has passed, and fails a
// payout on REJECTED. Each of those decisions is safe only if the adapter
// keeps the promises written on offramp.Rail. This suite checks those
// promises, one subtest each, so that an engine test that passes against
// one conforming bank tells the truth about every conforming bank.
//
// # What a passing adapter has shown
//
//   - Pays: a payable transfer is answered ACCEPTED or SUCCESS; once the
//     bank's settle time has passed Inquire answers SUCCESS with a UTR,
//     and that UTR never changes on later inquiries (a day later too), nor
//     on a repeated Submit.
//   - Rejects: a transfer the beneficiary bank refuses is answered REJECTED
//     with a Reason, at Submit or on Inquire, and stays REJECTED: the bank
//     keeps the rejection under the reference, so the engine can learn it
//     by inquiry after a lost answer.
//   - UnknownReference: Inquire of a reference the bank never received
//     answers NOT_FOUND without an error (after PostingDelay, which a bank
//     must report honestly: a submitted transfer is never NOT_FOUND once
//     its PostingDelay has passed).
//   - Pending: a transfer the bank holds unsettled stays ACCEPTED across
//     inquiries (never NOT_FOUND after the posting delay, never a made-up
//     outcome) until it settles, and then pays.
//   - Reversed: a transfer paid and then returned answers SUCCESS, then
//     REVERSED with the same UTR and a Reason, and stays REVERSED.
//   - Duplicate: if Capabilities().DedupsReferences, a second Submit under
//     a reference the bank holds, even with another account, amount or
//     name, creates nothing and answers the existing transfer's current
//     status (never a rejection of the duplicate, never the new details'
//     fate). An adapter whose bank does not dedup must say so (the
//     capability is false); the subtest is then skipped, because the
//     engine never resubmits to such a bank.
//   - Concurrent: 20 simultaneous Submits of one reference give one answer
//     and, when the harness can count, one transfer; with mixed account
//     details, every caller gets the status of the one transfer that won.
//   - Context: a Submit whose context is already cancelled, already past
//     its deadline, or cancelled while it runs either answers (then the
//     bank holds the transfer) or returns an error; an error wrapping
//     offramp.ErrRailNotSent means the bank holds nothing; any other error
//     leaves either outcome possible, but a later Inquire must agree with
//     the bank's books, and a resubmission under the same reference (on a
//     deduplicating bank) ends with exactly one transfer.
//   - Silent (optional): when the bank never answers, Submit returns once
//     its context is done, with an error, and Inquire tells the truth.
//   - Invalid: an empty reference, a zero or a negative amount is answered
//     REJECTED with a Reason or with an error wrapping ErrRailNotSent,
//     never ACCEPTED or SUCCESS, and the bank does not later show it
//     accepted or paid.
//
// Every answer is also checked for shape: a known status, a UTR on SUCCESS
// and REVERSED, a Reason on REJECTED and REVERSED, and no NOT_FOUND from
// Submit.
//
// What it does not prove: anything about real latency, real posting lag or
// real network faults (fakes script those; fakebank injects them for the
// engine's tests), nor that a provider's real API behaves as the adapter's
// fake of it does. A subtest whose case the harness cannot script is skipped
// with the reason, never passed silently.
//
// # Time
//
// The suite never sleeps. It moves the bank's clock with Harness.Advance
// (a fake clock), so the adapter under test must take its notion of "now"
// from an injected clock, and its fakes must settle on that clock.
package railtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// Account is a beneficiary account the bank under test treats in a known
// way. A zero Account (empty Number) means the harness cannot script that
// case.
type Account struct {
	Number string
	IFSC   string
	Name   string
}

// IsZero reports whether the harness left the account out.
func (a Account) IsZero() bool { return a.Number == "" }

// Harness is one bank under test, fresh for one subtest: Run calls
// newHarness once per subtest, and subtests run in parallel, so a harness
// must not share a bank or a clock with another.
type Harness struct {
	// Rail is the adapter under test. Required.
	Rail offramp.Rail
	// Advance moves the bank's clock forward by d. Required: the suite
	// never sleeps.
	Advance func(d time.Duration)

	// Pays is an account the bank pays: a transfer to it is SUCCESS once
	// Settle has passed since Submit. Required.
	Pays Account
	// Rejects is an account whose bank refuses transfers: REJECTED with a
	// Reason at Submit, or once Settle has passed.
	Rejects Account
	// Pending is an account whose transfers the bank keeps ACCEPTED for at
	// least PendingFor after Submit, and pays once PendingFor+Settle has
	// passed.
	Pending Account
	// Reverses is an account the bank pays like Pays (SUCCESS once Settle
	// has passed) and then returns the money: REVERSED, with the same UTR
	// and a Reason, once Settle+ReverseAfter has passed, and not before.
	Reverses Account
	// Silent is an account for which the bank records the transfer and
	// never answers Submit (the caller's context must end the call); the
	// transfer then settles like one to Pays.
	Silent Account

	// Settle bounds how long a transfer to Pays or Rejects stays ACCEPTED.
	Settle time.Duration
	// PendingFor: see Pending. Required (positive) when Pending is set.
	PendingFor time.Duration
	// ReverseAfter: see Reverses. Required (positive) when Reverses is
	// set, and longer than the rail's PostingDelay minus Settle, so that
	// the SUCCESS is visible before the reversal.
	ReverseAfter time.Duration

	// Transfers, optional, returns how many transfers the bank holds under
	// reference, as its books say (visible to Inquire yet or not). Without
	// it the suite cannot count duplicates and checks answers only.
	Transfers func(reference string) int
}

// Run runs the conformance suite. newHarness is called once per subtest,
// with that subtest's t (use t.Cleanup to close what it opens).
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	s := &suite{newHarness: newHarness, prefix: fmt.Sprintf("rt%06x", rand.Uint32()&0xffffff)}
	for _, st := range []struct {
		name string
		f    func(t *testing.T)
	}{
		{"Capabilities", s.testCapabilities},
		{"Pays", s.testPays},
		{"Rejects", s.testRejects},
		{"UnknownReference", s.testUnknownReference},
		{"Pending", s.testPending},
		{"Reversed", s.testReversed},
		{"Duplicate", s.testDuplicate},
		{"Concurrent", s.testConcurrent},
		{"Context", s.testContext},
		{"Silent", s.testSilent},
		{"Invalid", s.testInvalid},
	} {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			st.f(t)
		})
	}
}

type suite struct {
	newHarness func(t *testing.T) Harness
	// prefix makes references unique across runs, in case an adapter's
	// bank outlives one test process.
	prefix string
	seq    atomic.Int64
}

// ref returns a fresh reference: short and alphanumeric, which every
// provider accepts.
func (s *suite) ref(tag string) string {
	return fmt.Sprintf("%s%s%d", s.prefix, tag, s.seq.Add(1))
}

// bank is a harness in use by one subtest. It tracks time since the
// subtest began, so that it knows which inquiries may still be within the
// bank's posting delay.
type bank struct {
	t    *testing.T
	h    Harness
	caps offramp.RailCapabilities
	now  time.Duration            // total advanced
	sent map[string]time.Duration // reference -> now at its first Submit
}

func (s *suite) setup(t *testing.T) *bank {
	t.Helper()
	h := s.newHarness(t)
	switch {
	case h.Rail == nil:
		t.Fatal("railtest: Harness.Rail is nil")
	case h.Advance == nil:
		t.Fatal("railtest: Harness.Advance is nil: the suite moves the bank's clock, it never sleeps")
	case h.Pays.IsZero():
		t.Fatal("railtest: Harness.Pays is empty: every bank must be able to pay")
	case h.Settle < 0 || h.PendingFor < 0 || h.ReverseAfter < 0:
		t.Fatalf("railtest: negative harness duration (Settle %v, PendingFor %v, ReverseAfter %v)", h.Settle, h.PendingFor, h.ReverseAfter)
	case !h.Pending.IsZero() && h.PendingFor <= 0:
		t.Fatal("railtest: Harness.Pending is set but PendingFor is not positive")
	case !h.Reverses.IsZero() && h.ReverseAfter <= 0:
		t.Fatal("railtest: Harness.Reverses is set but ReverseAfter is not positive")
	}
	return &bank{t: t, h: h, caps: h.Rail.Capabilities(), sent: map[string]time.Duration{}}
}

// transfer is a valid INR transfer of 1234.56 to a.
func transfer(ref string, a Account) offramp.RailTransfer {
	return offramp.RailTransfer{
		Reference:     ref,
		AccountNumber: a.Number,
		IFSC:          a.IFSC,
		AccountName:   a.Name,
		Amount:        decimal.RequireFromString("1234.56"),
		Currency:      "INR",
		Method:        "IMPS",
	}
}

func (b *bank) advance(d time.Duration) {
	if d <= 0 {
		return
	}
	b.h.Advance(d)
	b.now += d
}

// advanceTo moves the clock so that at least d has passed since ref was
// first submitted.
func (b *bank) advanceTo(ref string, d time.Duration) {
	at, ok := b.sent[ref]
	if !ok {
		b.t.Fatalf("railtest: bug: %s was never submitted", ref)
	}
	b.advance(at + d - b.now)
}

// visible is how long after Submit a transfer is sure to be visible to
// Inquire.
func (b *bank) visible() time.Duration { return b.caps.PostingDelay }

// lagging reports whether ref may still be within the bank's posting delay.
func (b *bank) lagging(ref string) bool {
	at, ok := b.sent[ref]
	return ok && b.now-at < b.caps.PostingDelay
}

// submit calls Submit and checks the answer's shape; it returns the error
// for the caller to judge.
func (b *bank) submit(ctx context.Context, tr offramp.RailTransfer) (offramp.RailResult, error) {
	b.t.Helper()
	if _, ok := b.sent[tr.Reference]; !ok {
		b.sent[tr.Reference] = b.now
	}
	res, err := b.h.Rail.Submit(ctx, tr)
	if err == nil {
		checkShape(b.t, "Submit("+tr.Reference+")", res)
		if res.Status == offramp.RailNotFound {
			b.t.Fatalf("Submit(%s) = NOT_FOUND: Submit must answer the transfer's status or an error", tr.Reference)
		}
	}
	return res, err
}

// mustSubmit submits with a live context and fails on an error: a bank
// that is not scripted to fail must answer.
func (b *bank) mustSubmit(tr offramp.RailTransfer) offramp.RailResult {
	b.t.Helper()
	res, err := b.submit(context.Background(), tr)
	if err != nil {
		b.t.Fatalf("Submit(%s to %s) = %v; want an answer", tr.Reference, tr.AccountNumber, err)
	}
	return res
}

func (b *bank) inquire(ref string) offramp.RailResult {
	b.t.Helper()
	res, err := b.h.Rail.Inquire(context.Background(), ref)
	if err != nil {
		b.t.Fatalf("Inquire(%s) = %v; want an answer", ref, err)
	}
	checkShape(b.t, "Inquire("+ref+")", res)
	if res.Status == offramp.RailNotFound && !b.lagging(ref) {
		if n := b.count(ref); n > 0 {
			b.t.Fatalf("Inquire(%s) = NOT_FOUND after the posting delay (%v) but the bank holds %d transfer(s) under it", ref, b.caps.PostingDelay, n)
		}
	}
	return res
}

// count returns Harness.Transfers(ref), or -1 when the harness cannot
// count.
func (b *bank) count(ref string) int {
	if b.h.Transfers == nil {
		return -1
	}
	return b.h.Transfers(ref)
}

// wantCount checks the number of transfers under ref, when the harness can
// count.
func (b *bank) wantCount(ref string, want int) {
	b.t.Helper()
	if n := b.count(ref); n >= 0 && n != want {
		b.t.Fatalf("the bank holds %d transfers under %s, want %d", n, ref, want)
	}
}

func (b *bank) need(a Account, what string) {
	b.t.Helper()
	if a.IsZero() {
		b.t.Skipf("harness has no account the bank %s (Harness field empty): this adapter cannot script the case", what)
	}
}

// checkShape checks what every answer must carry.
func checkShape(t *testing.T, call string, res offramp.RailResult) {
	t.Helper()
	switch res.Status {
	case offramp.RailAccepted, offramp.RailNotFound:
	case offramp.RailSuccess:
		if res.UTR == "" {
			t.Fatalf("%s = %+v: SUCCESS without a UTR", call, res)
		}
	case offramp.RailRejected:
		if res.Reason == "" {
			t.Fatalf("%s = %+v: REJECTED without a Reason", call, res)
		}
	case offramp.RailReversed:
		if res.UTR == "" || res.Reason == "" {
			t.Fatalf("%s = %+v: REVERSED needs the original UTR and a Reason", call, res)
		}
	default:
		t.Fatalf("%s = %+v: unknown status %q", call, res, res.Status)
	}
}

func paidOrHeld(s offramp.RailStatus) bool {
	return s == offramp.RailAccepted || s == offramp.RailSuccess
}

func (s *suite) testCapabilities(t *testing.T) {
	b := s.setup(t)
	if b.caps.PostingDelay < 0 {
		t.Fatalf("Capabilities().PostingDelay = %v, want >= 0", b.caps.PostingDelay)
	}
	if again := b.h.Rail.Capabilities(); again != b.caps {
		t.Fatalf("Capabilities() changed between calls: %+v then %+v", b.caps, again)
	}
}

// payable submits a transfer to Pays and returns the SUCCESS it settles to.
func (b *bank) payable(ref string) offramp.RailResult {
	b.t.Helper()
	first := b.mustSubmit(transfer(ref, b.h.Pays))
	if !paidOrHeld(first.Status) {
		b.t.Fatalf("Submit(%s to Pays) = %+v, want ACCEPTED or SUCCESS", ref, first)
	}
	b.advanceTo(ref, max(b.h.Settle, b.visible()))
	paid := b.inquire(ref)
	if paid.Status != offramp.RailSuccess {
		b.t.Fatalf("Inquire(%s) once Settle (%v) has passed = %+v, want SUCCESS", ref, b.h.Settle, paid)
	}
	if first.Status == offramp.RailSuccess && first.UTR != paid.UTR {
		b.t.Fatalf("Submit answered UTR %q, Inquire %q: a transfer has one UTR", first.UTR, paid.UTR)
	}
	return paid
}

func (s *suite) testPays(t *testing.T) {
	b := s.setup(t)
	ref := s.ref("pay")
	paid := b.payable(ref)
	for _, d := range []time.Duration{0, time.Minute, 24 * time.Hour} {
		b.advance(d)
		if again := b.inquire(ref); again != paid {
			t.Fatalf("Inquire(%s) %v later = %+v, want the same %+v", ref, d, again, paid)
		}
	}
	b.wantCount(ref, 1)
}

func (s *suite) testRejects(t *testing.T) {
	b := s.setup(t)
	b.need(b.h.Rejects, "rejects")
	ref := s.ref("rej")
	first := b.mustSubmit(transfer(ref, b.h.Rejects))
	if first.Status != offramp.RailRejected && first.Status != offramp.RailAccepted {
		t.Fatalf("Submit(%s to Rejects) = %+v, want REJECTED (or ACCEPTED, then REJECTED)", ref, first)
	}
	b.advanceTo(ref, max(b.h.Settle, b.visible()))
	rej := b.inquire(ref)
	if rej.Status != offramp.RailRejected {
		t.Fatalf("Inquire(%s) = %+v, want REJECTED: the bank must keep the rejection under the reference", ref, rej)
	}
	for _, d := range []time.Duration{time.Minute, 24 * time.Hour} {
		b.advance(d)
		if again := b.inquire(ref); again != rej {
			t.Fatalf("Inquire(%s) %v later = %+v, want the same %+v", ref, d, again, rej)
		}
	}
	b.wantCount(ref, 1)
}

func (s *suite) testUnknownReference(t *testing.T) {
	b := s.setup(t)
	// Something in the books, so that NOT_FOUND is not an empty bank's
	// answer to everything.
	b.mustSubmit(transfer(s.ref("other"), b.h.Pays))
	b.advance(b.caps.PostingDelay + time.Second)
	ref := s.ref("unknown")
	for range 2 {
		if res := b.inquire(ref); res != (offramp.RailResult{Status: offramp.RailNotFound}) {
			t.Fatalf("Inquire(%s never sent) = %+v, want NOT_FOUND", ref, res)
		}
	}
	b.wantCount(ref, 0)
}

func (s *suite) testPending(t *testing.T) {
	b := s.setup(t)
	b.need(b.h.Pending, "keeps pending")
	ref := s.ref("pend")
	if res := b.mustSubmit(transfer(ref, b.h.Pending)); res.Status != offramp.RailAccepted {
		t.Fatalf("Submit(%s to Pending) = %+v, want ACCEPTED", ref, res)
	}
	for _, at := range []time.Duration{0, b.h.PendingFor / 2, b.h.PendingFor - 1} {
		b.advanceTo(ref, at)
		res := b.inquire(ref)
		if res.Status == offramp.RailNotFound && b.lagging(ref) {
			continue
		}
		if res.Status != offramp.RailAccepted {
			t.Fatalf("Inquire(%s) %v after Submit = %+v, want ACCEPTED until %v", ref, b.now-b.sent[ref], res, b.h.PendingFor)
		}
	}
	b.advanceTo(ref, max(b.h.PendingFor+b.h.Settle, b.visible()))
	paid := b.inquire(ref)
	if paid.Status != offramp.RailSuccess {
		t.Fatalf("Inquire(%s) after PendingFor+Settle = %+v, want SUCCESS", ref, paid)
	}
	b.advance(time.Hour)
	if again := b.inquire(ref); again != paid {
		t.Fatalf("Inquire(%s) an hour later = %+v, want the same %+v", ref, again, paid)
	}
	b.wantCount(ref, 1)
}

func (s *suite) testReversed(t *testing.T) {
	b := s.setup(t)
	b.need(b.h.Reverses, "pays and then reverses")
	ref := s.ref("rev")
	first := b.mustSubmit(transfer(ref, b.h.Reverses))
	if !paidOrHeld(first.Status) {
		t.Fatalf("Submit(%s to Reverses) = %+v, want ACCEPTED or SUCCESS", ref, first)
	}
	seeAt := max(b.h.Settle, b.visible())
	if seeAt >= b.h.Settle+b.h.ReverseAfter {
		t.Fatalf("railtest: harness leaves no window to see SUCCESS before the reversal (Settle %v, ReverseAfter %v, PostingDelay %v)", b.h.Settle, b.h.ReverseAfter, b.caps.PostingDelay)
	}
	b.advanceTo(ref, seeAt)
	paid := b.inquire(ref)
	if paid.Status != offramp.RailSuccess {
		t.Fatalf("Inquire(%s) once Settle has passed = %+v, want SUCCESS before the reversal", ref, paid)
	}
	if first.Status == offramp.RailSuccess && first.UTR != paid.UTR {
		t.Fatalf("Submit answered UTR %q, Inquire %q", first.UTR, paid.UTR)
	}
	b.advanceTo(ref, b.h.Settle+b.h.ReverseAfter)
	rev := b.inquire(ref)
	if rev.Status != offramp.RailReversed || rev.UTR != paid.UTR {
		t.Fatalf("Inquire(%s) after ReverseAfter = %+v, want REVERSED with the paid UTR %q", ref, rev, paid.UTR)
	}
	b.advance(24 * time.Hour)
	if again := b.inquire(ref); again != rev {
		t.Fatalf("Inquire(%s) a day later = %+v, want the same %+v", ref, again, rev)
	}
	if b.caps.DedupsReferences {
		if res := b.mustSubmit(transfer(ref, b.h.Pays)); res != rev {
			t.Fatalf("repeated Submit(%s) = %+v, want the existing %+v", ref, res, rev)
		}
	}
	b.wantCount(ref, 1)
}

// other returns an account other than a for a duplicate with different
// details: Rejects when the harness has it, so that a bank which decides a
// duplicate by its new details visibly answers wrong.
func (b *bank) other(a Account) Account {
	if !b.h.Rejects.IsZero() && b.h.Rejects != a {
		return b.h.Rejects
	}
	if a != b.h.Pays {
		return b.h.Pays
	}
	return Account{Number: a.Number + "0", IFSC: a.IFSC, Name: a.Name + " Jr"}
}

func (s *suite) needDedup(t *testing.T, b *bank) {
	t.Helper()
	if !b.caps.DedupsReferences {
		t.Skip("the rail reports Capabilities().DedupsReferences = false: it may hold two transfers under one reference, and the engine never resubmits to it")
	}
}

func (s *suite) testDuplicate(t *testing.T) {
	t.Run("Accepted", func(t *testing.T) {
		t.Parallel()
		b := s.setup(t)
		s.needDedup(t, b)
		ref := s.ref("dupa")
		tr := transfer(ref, b.h.Pays)
		first := b.mustSubmit(tr)
		if !paidOrHeld(first.Status) {
			t.Fatalf("Submit(%s to Pays) = %+v, want ACCEPTED or SUCCESS", ref, first)
		}
		// The same transfer again, then one with other details.
		if res := b.mustSubmit(tr); !paidOrHeld(res.Status) || (first.Status == offramp.RailSuccess && res != first) {
			t.Fatalf("repeated Submit(%s) = %+v after %+v: want the existing transfer's status", ref, res, first)
		}
		dup := transfer(ref, b.other(b.h.Pays))
		dup.Amount = decimal.RequireFromString("99.01")
		if res := b.mustSubmit(dup); !paidOrHeld(res.Status) || (first.Status == offramp.RailSuccess && res != first) {
			t.Fatalf("Submit(%s) with other details = %+v after %+v: want the existing transfer's status, not a new transfer's nor a rejection", ref, res, first)
		}
		b.wantCount(ref, 1)

		b.advanceTo(ref, max(b.h.Settle, b.visible()))
		paid := b.inquire(ref)
		if paid.Status != offramp.RailSuccess {
			t.Fatalf("Inquire(%s) = %+v, want SUCCESS: the first transfer's fate", ref, paid)
		}
		if res := b.mustSubmit(dup); res != paid {
			t.Fatalf("Submit(%s) after settlement = %+v, want the existing %+v", ref, res, paid)
		}
		b.wantCount(ref, 1)
	})
	t.Run("Rejected", func(t *testing.T) {
		t.Parallel()
		b := s.setup(t)
		s.needDedup(t, b)
		b.need(b.h.Rejects, "rejects")
		ref := s.ref("dupr")
		b.mustSubmit(transfer(ref, b.h.Rejects))
		b.advanceTo(ref, max(b.h.Settle, b.visible()))
		rej := b.inquire(ref)
		if rej.Status != offramp.RailRejected {
			t.Fatalf("Inquire(%s) = %+v, want REJECTED", ref, rej)
		}
		// A resend to a payable account must not be paid: the reference
		// is taken by the rejected transfer.
		if res := b.mustSubmit(transfer(ref, b.h.Pays)); res != rej {
			t.Fatalf("Submit(%s to Pays) after the rejection = %+v, want the existing %+v", ref, res, rej)
		}
		b.advance(max(b.h.Settle, b.visible()))
		if res := b.inquire(ref); res != rej {
			t.Fatalf("Inquire(%s) = %+v, want the existing %+v", ref, res, rej)
		}
		b.wantCount(ref, 1)
	})
	t.Run("Pending", func(t *testing.T) {
		t.Parallel()
		b := s.setup(t)
		s.needDedup(t, b)
		b.need(b.h.Pending, "keeps pending")
		ref := s.ref("dupp")
		b.mustSubmit(transfer(ref, b.h.Pending))
		b.advanceTo(ref, min(max(b.h.Settle, b.visible()), b.h.PendingFor-1))
		if res := b.mustSubmit(transfer(ref, b.h.Pays)); res.Status != offramp.RailAccepted {
			t.Fatalf("Submit(%s to Pays) while the first is pending = %+v, want ACCEPTED", ref, res)
		}
		b.wantCount(ref, 1)
	})
}

func (s *suite) testConcurrent(t *testing.T) {
	run := func(t *testing.T, b *bank, ref string, accounts []Account) []offramp.RailResult {
		const n = 20
		b.sent[ref] = b.now
		results := make([]offramp.RailResult, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				results[i], errs[i] = b.h.Rail.Submit(context.Background(), transfer(ref, accounts[i%len(accounts)]))
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("concurrent Submit(%s) #%d = %v; want an answer", ref, i, errs[i])
			}
			checkShape(t, "Submit("+ref+")", results[i])
			if results[i] != results[0] {
				t.Fatalf("concurrent Submits of %s answered %+v and %+v: one transfer has one status", ref, results[0], results[i])
			}
		}
		b.wantCount(ref, 1)
		return results
	}
	t.Run("Same", func(t *testing.T) {
		t.Parallel()
		b := s.setup(t)
		s.needDedup(t, b)
		ref := s.ref("conc")
		res := run(t, b, ref, []Account{b.h.Pays})
		if !paidOrHeld(res[0].Status) {
			t.Fatalf("Submit(%s to Pays) = %+v, want ACCEPTED or SUCCESS", ref, res[0])
		}
		b.advanceTo(ref, max(b.h.Settle, b.visible()))
		if paid := b.inquire(ref); paid.Status != offramp.RailSuccess {
			t.Fatalf("Inquire(%s) = %+v, want SUCCESS", ref, paid)
		}
		b.wantCount(ref, 1)
	})
	t.Run("MixedDetails", func(t *testing.T) {
		t.Parallel()
		b := s.setup(t)
		s.needDedup(t, b)
		b.need(b.h.Rejects, "rejects")
		ref := s.ref("concmix")
		res := run(t, b, ref, []Account{b.h.Pays, b.h.Rejects})
		// Whichever transfer won, its fate is everyone's.
		b.advanceTo(ref, max(b.h.Settle, b.visible()))
		final := b.inquire(ref)
		switch res[0].Status {
		case offramp.RailAccepted, offramp.RailSuccess:
			if final.Status != offramp.RailSuccess && final.Status != offramp.RailRejected {
				t.Fatalf("Inquire(%s) = %+v, want SUCCESS or REJECTED", ref, final)
			}
		case offramp.RailRejected:
			if final != res[0] {
				t.Fatalf("Inquire(%s) = %+v, want the answered %+v", ref, final, res[0])
			}
		default:
			t.Fatalf("Submit(%s) = %+v", ref, res[0])
		}
		b.wantCount(ref, 1)
	})
}

// outcome is what a Submit answer or error tells about the bank's books.
type outcome int

const (
	held    outcome = iota // the bank holds the transfer
	notHeld                // the bank certainly holds nothing (ErrRailNotSent)
	unknown                // an error: either
)

// judge classifies a Submit's answer to a Pays transfer.
func judge(t *testing.T, call string, res offramp.RailResult, err error) outcome {
	t.Helper()
	switch {
	case err == nil:
		if !paidOrHeld(res.Status) {
			t.Fatalf("%s = %+v, want ACCEPTED, SUCCESS or an error", call, res)
		}
		return held
	case errors.Is(err, offramp.ErrRailNotSent):
		return notHeld
	}
	return unknown
}

// consistent checks, once Settle has passed, that Inquire agrees with what
// Submit said (o) and with the bank's books; then, on a deduplicating bank
// and if resubmit, that resubmitting to acct ends with exactly one transfer,
// as the engine's recovery would.
func (b *bank) consistent(ref string, o outcome, acct Account, resubmit bool) {
	t := b.t
	t.Helper()
	b.advanceTo(ref, max(b.h.Settle, b.visible()))
	got := b.inquire(ref)
	n := b.count(ref)
	switch {
	case got.Status == offramp.RailSuccess:
		if o == notHeld {
			t.Fatalf("Submit(%s) said not sent (ErrRailNotSent) but Inquire = %+v", ref, got)
		}
		if n >= 0 && n != 1 {
			t.Fatalf("Inquire(%s) = SUCCESS but the bank holds %d transfers", ref, n)
		}
	case got.Status == offramp.RailNotFound:
		if o == held {
			t.Fatalf("Submit(%s) answered, but Inquire after Settle and PostingDelay = NOT_FOUND", ref)
		}
		if n > 0 {
			t.Fatalf("Inquire(%s) = NOT_FOUND but the bank holds %d transfers", ref, n)
		}
	default:
		t.Fatalf("Inquire(%s) = %+v, want SUCCESS (held) or NOT_FOUND (not held)", ref, got)
	}
	if !b.caps.DedupsReferences || !resubmit {
		return
	}
	again := b.mustSubmit(transfer(ref, acct))
	if got.Status == offramp.RailSuccess && again != got {
		t.Fatalf("resubmit(%s) = %+v, want the existing %+v", ref, again, got)
	}
	if !paidOrHeld(again.Status) {
		t.Fatalf("resubmit(%s) = %+v, want ACCEPTED or SUCCESS", ref, again)
	}
	b.wantCount(ref, 1)
}

func (s *suite) testContext(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, func())
	}{
		{"AlreadyCancelled", func() (context.Context, func()) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, func() {}
		}},
		{"DeadlinePassed", func() (context.Context, func()) {
			return context.WithDeadline(context.Background(), time.Unix(0, 0))
		}},
		{"CancelledDuring", func() (context.Context, func()) {
			ctx, cancel := context.WithCancel(context.Background())
			go cancel() // races the call on purpose: every outcome must be consistent
			return ctx, cancel
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := s.setup(t)
			ref := s.ref("ctx")
			ctx, cancel := tc.ctx()
			defer cancel()
			res, err := b.submit(ctx, transfer(ref, b.h.Pays))
			o := judge(t, "Submit("+ref+") with a done context", res, err)
			b.consistent(ref, o, b.h.Pays, true)
		})
	}
}

func (s *suite) testSilent(t *testing.T) {
	b := s.setup(t)
	b.need(b.h.Silent, "never answers")
	ref := s.ref("silent")
	ctx, cancel := context.WithCancel(context.Background())
	b.sent[ref] = b.now
	type answer struct {
		res offramp.RailResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := b.h.Rail.Submit(ctx, transfer(ref, b.h.Silent))
		done <- answer{res, err}
	}()
	// Whether the request reached the bank before the cancellation or not,
	// Submit must return (a hang here ends in the test binary's timeout)
	// and Inquire must agree with the books.
	cancel()
	a := <-done
	if a.err == nil {
		t.Fatalf("Submit(%s to Silent) = %+v; the bank never answers, so the caller must see an error", ref, a.res)
	}
	o := unknown
	if errors.Is(a.err, offramp.ErrRailNotSent) {
		o = notHeld
	}
	// No resubmission: if the bank holds the silent transfer, it would not
	// answer a duplicate either.
	b.consistent(ref, o, b.h.Pays, false)
}

func (s *suite) testInvalid(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*offramp.RailTransfer)
	}{
		{"EmptyReference", func(tr *offramp.RailTransfer) { tr.Reference = "" }},
		{"ZeroAmount", func(tr *offramp.RailTransfer) { tr.Amount = decimal.Zero }},
		{"NegativeAmount", func(tr *offramp.RailTransfer) { tr.Amount = decimal.RequireFromString("-1.00") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := s.setup(t)
			tr := transfer(s.ref("inv"), b.h.Pays)
			tc.mutate(&tr)
			res, err := b.submit(context.Background(), tr)
			switch {
			case err != nil && !errors.Is(err, offramp.ErrRailNotSent):
				t.Fatalf("Submit(%s) = %v; want REJECTED or an error wrapping offramp.ErrRailNotSent: the bank must not be left holding an invalid transfer", tc.name, err)
			case err == nil && res.Status != offramp.RailRejected:
				t.Fatalf("Submit(%s) = %+v; want REJECTED with a Reason, or an error wrapping offramp.ErrRailNotSent", tc.name, res)
			}
			if tr.Reference == "" {
				return
			}
			b.advanceTo(tr.Reference, max(b.h.Settle, b.visible()))
			if got := b.inquire(tr.Reference); got.Status != offramp.RailNotFound && got.Status != offramp.RailRejected {
				t.Fatalf("Inquire(%s) after an invalid Submit = %+v, want NOT_FOUND or REJECTED", tr.Reference, got)
			}
		})
	}
}
