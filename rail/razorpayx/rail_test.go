package razorpayx_test

import (
	"context"
	"errors"
	"net"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/rail/railtest"
	"github.com/offramp/offramp/rail/razorpayx"
	"github.com/offramp/offramp/rail/razorpayx/razorpayxfake"
)

// The adapter keeps the bank contract against the fake, every subtest
// included: the fake scripts rejections, long pendings, reversals and a
// bank that never answers, and counts payouts under a reference.
func TestConformance(t *testing.T) {
	st := openStore(t, clock.NewFake(t0))
	railtest.Run(t, func(t *testing.T) railtest.Harness {
		e := newEnv(t, envOpts{store: st})
		o := e.srv.Options()
		acct := func(n string) railtest.Account {
			return railtest.Account{Number: n, IFSC: ifsc, Name: "Asha Verma"}
		}
		return railtest.Harness{
			Rail:         e.rail,
			Advance:      e.advance,
			Pays:         acct("50100012340000"),
			Rejects:      acct("50100012343333"),
			Pending:      acct("50100012346666"),
			Reverses:     acct("50100012347777"),
			Silent:       acct("50100012345555"),
			Settle:       o.Settle,
			PendingFor:   o.PendingFor,
			ReverseAfter: o.ReverseAfter,
			Transfers: func(ref string) int {
				e.idle()
				return e.srv.PayoutCount(ref)
			},
		}
	})
}

var imps = regexp.MustCompile(`^[0-9]{12}$`)

func TestSubmitPaysInPaiseByIMPS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	ref := newRef()
	if res := e.submit(transfer(ref, "50100099990000", "1234.56")); res.Status != offramp.RailAccepted {
		t.Fatalf("Submit = %+v, want ACCEPTED", res)
	}
	p, _ := e.srv.Payout(ref)
	if p.Amount != 123456 || p.Mode != "IMPS" || p.Reference != ref || p.Status != "processing" {
		t.Fatalf("payout at RazorpayX = %+v, want 123456 paise by IMPS under %s, processing", p, ref)
	}
	e.advance(2 * time.Second)
	res := e.inquire(ref)
	if res.Status != offramp.RailSuccess || !imps.MatchString(res.UTR) || res.Reason != "" {
		t.Fatalf("Inquire = %+v, want SUCCESS with a 12-digit UTR", res)
	}
}

// IMPS up to ₹5,00,000 inclusive, RTGS above.
func TestModeByAmount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	for _, tc := range []struct {
		amount string
		paise  int64
		mode   string
	}{
		{"1.00", 100, "IMPS"},
		{"500000.00", 50000000, "IMPS"},
		{"500000.01", 50000001, "RTGS"},
		{"2500000", 250000000, "RTGS"},
	} {
		ref := newRef()
		e.submit(transfer(ref, "50100099990000", tc.amount))
		p, _ := e.srv.Payout(ref)
		if p.Amount != tc.paise || p.Mode != tc.mode {
			t.Errorf("₹%s went as %d paise by %s, want %d by %s", tc.amount, p.Amount, p.Mode, tc.paise, tc.mode)
		}
	}
	e.advance(2 * time.Second)
	// An RTGS payout's UTR is a bank UTR, not an IMPS RRN.
	ref := newRef()
	e.submit(transfer(ref, "50100099990000", "700000"))
	e.advance(2 * time.Second)
	if res := e.inquire(ref); res.Status != offramp.RailSuccess || len(res.UTR) != 16 {
		t.Fatalf("RTGS payout = %+v, want SUCCESS with a 16-character UTR", res)
	}
}

// Amounts RazorpayX cannot take exactly are refused before anything is
// sent.
func TestAmountAndCurrencyRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	for _, tc := range []struct {
		amount, currency, reason string
	}{
		{"10.005", "INR", razorpayx.ReasonInvalidAmount},
		{"0.99", "INR", razorpayx.ReasonInvalidAmount},
		{"0", "INR", razorpayx.ReasonInvalidAmount},
		{"-5", "INR", razorpayx.ReasonInvalidAmount},
		{"100", "USD", razorpayx.ReasonUnsupportedCurrency},
	} {
		tr := transfer(newRef(), "50100099990000", tc.amount)
		tr.Currency = tc.currency
		res := e.submit(tr)
		if res != (offramp.RailResult{Status: offramp.RailRejected, Reason: tc.reason}) {
			t.Errorf("Submit(%s %s) = %+v, want REJECTED %s", tc.amount, tc.currency, res, tc.reason)
		}
	}
	if n := e.srv.Counts().PayoutRequests; n != 0 {
		t.Fatalf("%d payout requests reached RazorpayX, want 0", n)
	}
	// A malformed reference can never be held: REJECTED, and Inquire
	// says NOT_FOUND without asking.
	for _, ref := range []string{"", "abc", "OFR/1234", "OFR12345678901234567890123456789012345"} {
		if res := e.submit(transfer(ref, "50100099990000", "10")); res.Status != offramp.RailRejected || res.Reason != razorpayx.ReasonInvalidReference {
			t.Errorf("Submit(reference %q) = %+v, want REJECTED %s", ref, res, razorpayx.ReasonInvalidReference)
		}
		if res := e.inquire(ref); res.Status != offramp.RailNotFound {
			t.Errorf("Inquire(%q) = %+v, want NOT_FOUND", ref, res)
		}
	}
}

// The create commits and the answer is lost: the error is "unknown", and
// the engine's retry under the same reference creates nothing new.
func TestLostResponseThenRetry(t *testing.T) {
	t.Parallel()
	for _, fault := range []razorpayxfake.Fault{razorpayxfake.DropAfterCommit, razorpayxfake.ErrorAfterCommit} {
		e := newEnv(t, envOpts{})
		ref := newRef()
		e.srv.QueueFaults(razorpayxfake.OpCreatePayout, fault)
		_, err := e.rail.Submit(e.ctx, transfer(ref, "50100099990000", "2500"))
		if err == nil || isNotSent(err) {
			t.Fatalf("fault %d: Submit = %v, want an unknown-outcome error (not ErrRailNotSent)", fault, err)
		}
		e.idle()
		if n := e.srv.PayoutCount(ref); n != 1 {
			t.Fatalf("fault %d: RazorpayX holds %d payouts under %s, want 1 (committed before the fault)", fault, n, ref)
		}
		if res := e.inquire(ref); res.Status != offramp.RailAccepted {
			t.Fatalf("fault %d: Inquire = %+v, want ACCEPTED", fault, res)
		}
		if res := e.submit(transfer(ref, "50100099990000", "2500")); res.Status != offramp.RailAccepted {
			t.Fatalf("fault %d: retried Submit = %+v, want the existing payout's ACCEPTED", fault, res)
		}
		e.advance(2 * time.Second)
		res := e.submit(transfer(ref, "50100099990000", "2500"))
		if res.Status != offramp.RailSuccess {
			t.Fatalf("fault %d: Submit after settlement = %+v, want SUCCESS", fault, res)
		}
		if n, c := e.srv.PayoutCount(ref), e.srv.Counts(); n != 1 || c.PayoutsCreated != 1 || c.PayoutRequests != 3 {
			t.Fatalf("fault %d: %d payouts under the reference, counts %+v: want 1 created of 3 requests", fault, n, c)
		}
	}
}

// A create that never answers ends with the caller's context (a timeout):
// the outcome is unknown, RazorpayX has the payout, a retry finds it.
func TestTimeoutAfterCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	ref := newRef()
	e.srv.QueueFaults(razorpayxfake.OpCreatePayout, razorpayxfake.HangAfterCommit)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.rail.Submit(ctx, transfer(ref, "50100099990000", "2500"))
		done <- err
	}()
	if err := e.srv.WaitHanging(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel() // the deadline passes
	err := <-done
	if err == nil || isNotSent(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit = %v, want an unknown-outcome error wrapping context.Canceled", err)
	}
	e.idle()
	if res := e.inquire(ref); res.Status != offramp.RailAccepted {
		t.Fatalf("Inquire = %+v, want ACCEPTED: RazorpayX holds the payout", res)
	}
	e.submit(transfer(ref, "50100099990000", "2500"))
	if n := e.srv.PayoutCount(ref); n != 1 {
		t.Fatalf("%d payouts, want 1", n)
	}
}

// A hang before RazorpayX commits looks the same to the caller; the
// inquiry finds nothing and the resubmission creates the one payout.
func TestTimeoutBeforeCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	ref := newRef()
	e.srv.QueueFaults(razorpayxfake.OpCreatePayout, razorpayxfake.HangBeforeCommit)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.rail.Submit(ctx, transfer(ref, "50100099990000", "2500"))
		done <- err
	}()
	if err := e.srv.WaitHanging(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err == nil || isNotSent(err) {
		t.Fatalf("Submit = %v, want an unknown-outcome error", err)
	}
	e.advance(razorpayx.PostingDelay)
	if res := e.inquire(ref); res.Status != offramp.RailNotFound {
		t.Fatalf("Inquire = %+v, want NOT_FOUND", res)
	}
	if res := e.submit(transfer(ref, "50100099990000", "2500")); res.Status != offramp.RailAccepted {
		t.Fatalf("resubmit = %+v", res)
	}
	if n := e.srv.PayoutCount(ref); n != 1 {
		t.Fatalf("%d payouts, want 1", n)
	}
}

// What certainly created nothing wraps ErrRailNotSent; a 5xx does not,
// even one answered before anything was committed (the caller cannot
// tell).
func TestErrorsBeforeAnyPayout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	for _, tc := range []struct {
		op      razorpayxfake.Op
		fault   razorpayxfake.Fault
		notSent bool
	}{
		{razorpayxfake.OpCreatePayout, razorpayxfake.RateLimited, true},
		{razorpayxfake.OpCreatePayout, razorpayxfake.Unauthorized, true},
		{razorpayxfake.OpCreatePayout, razorpayxfake.ErrorBeforeCommit, false},
		{razorpayxfake.OpCreateContact, razorpayxfake.ErrorBeforeCommit, true},
		{razorpayxfake.OpCreateFundAccount, razorpayxfake.DropAfterCommit, true},
		{razorpayxfake.OpCreateContact, razorpayxfake.RateLimited, true},
	} {
		ref := newRef()
		e.srv.QueueFaults(tc.op, tc.fault)
		_, err := e.rail.Submit(e.ctx, transfer(ref, "50100099990000", "2500"))
		if err == nil || isNotSent(err) != tc.notSent {
			t.Errorf("%s fault %d: Submit = %v, want an error with not-sent %v", tc.op, tc.fault, err, tc.notSent)
		}
		e.idle()
		if n := e.srv.PayoutCount(ref); n != 0 {
			t.Errorf("%s fault %d: %d payouts under the reference, want 0", tc.op, tc.fault, n)
		}
	}

	// A key RazorpayX refuses.
	bad := newEnv(t, envOpts{keySecret: "not-the-secret-at-all"})
	_, err := bad.rail.Submit(bad.ctx, transfer(newRef(), "50100099990000", "2500"))
	if !isNotSent(err) {
		t.Fatalf("Submit with a wrong key = %v, want ErrRailNotSent", err)
	}
	if _, err := bad.rail.Inquire(bad.ctx, newRef()); err == nil {
		t.Fatal("Inquire with a wrong key answered")
	}

	// Nobody listening: the connection is refused before anything is
	// written.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := e.cfg
	cfg.BaseURL, cfg.HTTPClient = "http://"+addr, nil
	down, err := razorpayx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := down.Submit(e.ctx, transfer(newRef(), "50100099990000", "2500")); !isNotSent(err) {
		t.Fatalf("Submit to a closed port = %v, want ErrRailNotSent", err)
	}
}

// RazorpayX refusing the beneficiary's details is a rejection, unless the
// reference already holds a payout.
func TestBeneficiaryRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	for _, tc := range []struct {
		account, ifsc, reason string
	}{
		{"50100099990000", "HDFC1234567", offramp.ReasonInvalidIFSC},
		{"50100099990000", "HDFC012345", offramp.ReasonInvalidIFSC},
		{"5010-0099", ifsc, offramp.ReasonInvalidAccountNumber},
		{"123", ifsc, offramp.ReasonInvalidAccountNumber},
	} {
		tr := transfer(newRef(), tc.account, "100")
		tr.IFSC = tc.ifsc
		if res := e.submit(tr); res != (offramp.RailResult{Status: offramp.RailRejected, Reason: tc.reason}) {
			t.Errorf("Submit(%s, %s) = %+v, want REJECTED %s", tc.account, tc.ifsc, res, tc.reason)
		}
		if res := e.inquire(tr.Reference); res.Status != offramp.RailNotFound {
			t.Errorf("Inquire = %+v, want NOT_FOUND", res)
		}
	}
	// A reference already held answers its payout, whatever the new
	// details.
	ref := newRef()
	e.submit(transfer(ref, "50100099990000", "100"))
	tr := transfer(ref, "50100099990000", "100")
	tr.IFSC = "BAD"
	if res := e.submit(tr); res.Status != offramp.RailAccepted {
		t.Fatalf("Submit of a held reference with a bad IFSC = %+v, want the existing payout's ACCEPTED", res)
	}
}

// Pending for hours at the beneficiary bank is ACCEPTED throughout, then
// paid; the webhooks tell the same story.
func TestPendingForHoursThenProcessed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	ref := newRef()
	if res := e.submit(transfer(ref, "50100012346666", "900")); res.Status != offramp.RailAccepted {
		t.Fatalf("Submit = %+v", res)
	}
	for _, d := range []time.Duration{time.Minute, time.Hour, 3 * time.Hour, time.Hour + 58*time.Minute} { // 5 h 59 min
		e.advance(d)
		if res := e.inquire(ref); res.Status != offramp.RailAccepted {
			t.Fatalf("Inquire = %+v, want ACCEPTED while the bank confirms", res)
		}
	}
	e.flush()
	e.advance(time.Minute + 2*time.Second)
	paid := e.inquire(ref)
	if paid.Status != offramp.RailSuccess || paid.UTR == "" {
		t.Fatalf("Inquire after 6 h = %+v, want SUCCESS", paid)
	}
	e.flush()
	got := e.hook.applied()
	if len(got) != 2 || got[0] != (applied{ref, offramp.RailResult{Status: offramp.RailAccepted}}) || got[1] != (applied{ref, paid}) {
		t.Fatalf("webhooks applied %+v, want payout.initiated (ACCEPTED) then payout.processed (%+v)", got, paid)
	}
}

// A paid payout reversed a day later: SUCCESS, then REVERSED with the same
// UTR, by inquiry and by webhook.
func TestReversalAfterSuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	ref := newRef()
	e.submit(transfer(ref, "50100012347777", "900"))
	e.advance(2 * time.Second)
	paid := e.inquire(ref)
	if paid.Status != offramp.RailSuccess {
		t.Fatalf("Inquire = %+v, want SUCCESS", paid)
	}
	e.flush()
	e.advance(24 * time.Hour)
	rev := e.inquire(ref)
	want := offramp.RailResult{Status: offramp.RailReversed, UTR: paid.UTR, Reason: "BENEFICIARY_ACCOUNT_CLOSED"}
	if rev != want {
		t.Fatalf("Inquire a day later = %+v, want %+v", rev, want)
	}
	e.flush()
	got := e.hook.applied()
	if last := got[len(got)-1]; last != (applied{ref, want}) {
		t.Fatalf("last webhook applied %+v, want the reversal %+v", last, want)
	}
	// Submitting again answers the reversal, creates nothing.
	if res := e.submit(transfer(ref, "50100012347777", "900")); res != want {
		t.Fatalf("Submit again = %+v, want %+v", res, want)
	}
}

// Every documented status maps to the contract.
func TestStatusMapping(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	for _, tc := range []struct {
		status, reason string
		paidFirst      bool
		want           offramp.RailResult
	}{
		{"queued", "low_balance", false, offramp.RailResult{Status: offramp.RailAccepted}},
		{"pending", "pending_approval", false, offramp.RailResult{Status: offramp.RailAccepted}},
		{"scheduled", "", false, offramp.RailResult{Status: offramp.RailAccepted}},
		{"processing", "bank_window_closed", false, offramp.RailResult{Status: offramp.RailAccepted}},
		{"failed", "beneficiary_bank_rejected", false, offramp.RailResult{Status: offramp.RailRejected, Reason: "BENEFICIARY_BANK_REJECTED"}},
		{"failed", "invalid_ifsc_code", false, offramp.RailResult{Status: offramp.RailRejected, Reason: "INVALID_IFSC"}},
		{"failed", "bank_account_invalid", false, offramp.RailResult{Status: offramp.RailRejected, Reason: "INVALID_BENEFICIARY_DETAILS"}},
		{"failed", "insufficient_funds", false, offramp.RailResult{Status: offramp.RailRejected, Reason: "INSUFFICIENT_BALANCE"}},
		{"failed", "npci_beneficiary_timeout", false, offramp.RailResult{Status: offramp.RailRejected, Reason: "BENEFICIARY_BANK_UNAVAILABLE"}},
		{"failed", "gateway_timeout", false, offramp.RailResult{Status: offramp.RailRejected, Reason: "PARTNER_BANK_UNAVAILABLE"}},
		{"failed", "brand_new_reason", false, offramp.RailResult{Status: offramp.RailRejected, Reason: "BRAND_NEW_REASON"}},
		{"failed", "", false, offramp.RailResult{Status: offramp.RailRejected, Reason: "BENEFICIARY_BANK_REJECTED"}},
		{"rejected", "", false, offramp.RailResult{Status: offramp.RailRejected, Reason: "REJECTED_BY_APPROVER"}},
		{"cancelled", "", false, offramp.RailResult{Status: offramp.RailRejected, Reason: "PAYOUT_CANCELLED"}},
		{"reversed", "beneficiary_bank_rejected", false, offramp.RailResult{Status: offramp.RailRejected, Reason: "BENEFICIARY_BANK_REJECTED"}},
		{"reversed", "bank_account_frozen", true, offramp.RailResult{Status: offramp.RailReversed, Reason: "BENEFICIARY_ACCOUNT_FROZEN"}},
		{"reversed", "", true, offramp.RailResult{Status: offramp.RailReversed, Reason: "REVERSED_BY_BANK"}},
		{"processed", "payout_processed", false, offramp.RailResult{Status: offramp.RailSuccess}},
	} {
		ref := newRef()
		e.submit(transfer(ref, "50100099990000", "100"))
		if tc.paidFirst {
			e.srv.SetStatus(ref, "processed", "payout_processed")
		}
		if err := e.srv.SetStatus(ref, tc.status, tc.reason); err != nil {
			t.Fatal(err)
		}
		p, _ := e.srv.Payout(ref)
		want := tc.want
		if want.Status == offramp.RailSuccess || want.Status == offramp.RailReversed {
			want.UTR = p.UTR
		}
		if res := e.inquire(ref); res != want {
			t.Errorf("%s/%s: Inquire = %+v, want %+v", tc.status, tc.reason, res, want)
		}
	}
	ref := newRef()
	e.submit(transfer(ref, "50100099990000", "100"))
	e.srv.SetStatus(ref, "teleported", "")
	if res, err := e.rail.Inquire(e.ctx, ref); err == nil {
		t.Fatalf("Inquire of an undocumented status = %+v, want an error", res)
	}
}

// Posting lag: within PostingDelay a fresh payout may be NOT_FOUND, and an
// idempotency conflict that the lookup cannot explain is an unknown
// outcome, never a rejection.
func TestListLag(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{fake: razorpayxfake.Options{ListLag: time.Minute}})
	ref := newRef()
	e.submit(transfer(ref, "50100099990000", "100"))
	if res := e.inquire(ref); res.Status != offramp.RailNotFound {
		t.Fatalf("Inquire within the lag = %+v, want NOT_FOUND", res)
	}
	_, err := e.rail.Submit(e.ctx, transfer(ref, "50100099990000", "101"))
	if err == nil || isNotSent(err) {
		t.Fatalf("Submit with another body within the lag = %v, want an unknown-outcome error", err)
	}
	if razorpayx.PostingDelay < time.Minute {
		t.Fatal("the fake's lag exceeds the declared posting delay")
	}
	e.advance(time.Minute)
	if res := e.inquire(ref); res.Status != offramp.RailSuccess {
		t.Fatalf("Inquire after the lag = %+v, want SUCCESS", res)
	}
}

// Contacts and fund accounts are created once per bank account and
// reused, also by concurrent first payouts.
func TestBeneficiaryRemembered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{store: openStore(t, clock.NewFake(t0))})
	tr := e.beneficiary("50100055550001")
	first, second := tr, tr
	first.Reference, second.Reference = newRef(), newRef()
	e.submit(first)
	e.submit(second)
	c := e.srv.Counts()
	if c.ContactRequests != 1 || c.FundAccountRequests != 1 || c.ContactsCreated != 1 || c.FundAccountsCreated != 1 || c.PayoutsCreated != 2 {
		t.Fatalf("counts %+v: want one contact and one fund account for two payouts", c)
	}
	p1, _ := e.srv.Payout(first.Reference)
	p2, _ := e.srv.Payout(second.Reference)
	if p1.FundAccountID == "" || p1.FundAccountID != p2.FundAccountID {
		t.Fatalf("payouts went to fund accounts %q and %q, want the same", p1.FundAccountID, p2.FundAccountID)
	}
	var ra offramp.RailAccount
	err := e.store.View(e.ctx, func(tx offramp.ReadTx) error {
		var err error
		ra, err = tx.RailAccount(e.ctx, razorpayx.Provider, tr.OrgID, tr.BankID)
		return err
	})
	if err != nil || ra.AccountID != p1.FundAccountID || ra.ContactID == "" {
		t.Fatalf("remembered %+v, %v; want fund account %s", ra, err, p1.FundAccountID)
	}

	// Eight first payouts to a new bank account at once agree on one.
	tr2 := e.beneficiary("50100055550002")
	var wg sync.WaitGroup
	refs := make([]string, 8)
	for i := range refs {
		refs[i] = newRef()
		wg.Go(func() {
			x := tr2
			x.Reference = refs[i]
			if _, err := e.rail.Submit(e.ctx, x); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	err = e.store.View(e.ctx, func(tx offramp.ReadTx) error {
		var err error
		ra, err = tx.RailAccount(e.ctx, razorpayx.Provider, tr2.OrgID, tr2.BankID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range refs {
		if p, _ := e.srv.Payout(ref); p.FundAccountID != ra.AccountID {
			t.Fatalf("payout %s went to %s, the remembered fund account is %s", ref, p.FundAccountID, ra.AccountID)
		}
	}
	if c := e.srv.Counts(); c.FundAccountsCreated != 2 || c.ContactsCreated != 2 {
		t.Fatalf("counts %+v: want two contacts and two fund accounts in all", c)
	}
	// A third payout asks for neither.
	before := e.srv.Counts()
	x := tr2
	x.Reference = newRef()
	e.submit(x)
	if after := e.srv.Counts(); after.ContactRequests != before.ContactRequests || after.FundAccountRequests != before.FundAccountRequests {
		t.Fatalf("a later payout asked for a contact or fund account again: %+v then %+v", before, after)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	if err := e.rail.Check(e.ctx); err != nil {
		t.Fatalf("Check = %v", err)
	}
	bad := newEnv(t, envOpts{keySecret: "wrong-secret-123456"})
	err := bad.rail.Check(bad.ctx)
	if err == nil {
		t.Fatal("Check with a wrong key passed")
	}
	t.Logf("Check with a wrong key: %v", err)
}

func TestConfigRequired(t *testing.T) {
	t.Parallel()
	for _, cfg := range []razorpayx.Config{
		{KeyID: "k", AccountNumber: "1"},
		{KeySecret: "s", AccountNumber: "1"},
		{KeyID: "k", KeySecret: "s"},
		{KeyID: "k", KeySecret: "s", AccountNumber: "1", BaseURL: "ftp://x"},
		{KeyID: "k", KeySecret: "s", AccountNumber: "1", BaseURL: "https://user:pass@api.razorpay.com"},
	} {
		if _, err := razorpayx.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	r, err := razorpayx.New(razorpayx.Config{KeyID: "k", KeySecret: "s", AccountNumber: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Capabilities(); !c.DedupsReferences || c.PostingDelay != razorpayx.PostingDelay {
		t.Fatalf("Capabilities = %+v", c)
	}
}

// A remembered fund account RazorpayX does not know (test-mode ids used
// with live keys, say) is Offramp's mistake: not sent, never the
// customer's rejection.
func TestUnknownRememberedFundAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{store: openStore(t, clock.NewFake(t0))})
	tr := e.beneficiary("50100066660001")
	err := e.store.Update(e.ctx, func(tx offramp.Tx) error {
		_, err := tx.PutRailAccount(e.ctx, offramp.RailAccount{Provider: razorpayx.Provider, OrgID: tr.OrgID, BankID: tr.BankID,
			ContactID: "cont_test", AccountID: "fa_fromtestmode1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tr.Reference = newRef()
	if _, err := e.rail.Submit(e.ctx, tr); !isNotSent(err) {
		t.Fatalf("Submit = %v, want ErrRailNotSent", err)
	}
	if c := e.srv.Counts(); c.ContactRequests != 0 || c.PayoutsCreated != 0 {
		t.Fatalf("counts %+v", c)
	}
}
