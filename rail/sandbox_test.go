package rail

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
)

// newFakeClock is the shared settable clock, started at a fixed instant so
// the tests are repeatable.
func newFakeClock() *clock.Fake { return clock.NewFake(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)) }

const testSettle = 5 * time.Second

var utrPattern = regexp.MustCompile(`^[0-9]{12}$`)

func openTest(t testing.TB, opts SandboxOptions) (*Sandbox, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bank.db")
	s, err := OpenSandbox(path, opts)
	if err != nil {
		t.Fatalf("OpenSandbox: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func transfer(ref, account string) offramp.RailTransfer {
	return offramp.RailTransfer{
		Reference:     ref,
		AccountNumber: account,
		IFSC:          "HDFC0001234",
		AccountName:   "Asha Rao",
		Amount:        decimal.RequireFromString("1234.56"),
		Currency:      "INR",
		Method:        "IMPS",
	}
}

func mustSubmit(t *testing.T, s *Sandbox, tr offramp.RailTransfer) offramp.RailResult {
	t.Helper()
	res, err := s.Submit(context.Background(), tr)
	if err != nil {
		t.Fatalf("Submit(%s): %v", tr.Reference, err)
	}
	return res
}

func mustInquire(t *testing.T, s *Sandbox, ref string) offramp.RailResult {
	t.Helper()
	res, err := s.Inquire(context.Background(), ref)
	if err != nil {
		t.Fatalf("Inquire(%s): %v", ref, err)
	}
	return res
}

func wantCount(t *testing.T, what string, f func(context.Context, string) (int, error), ref string, want int) {
	t.Helper()
	got, err := f(context.Background(), ref)
	if err != nil {
		t.Fatalf("%s(%s): %v", what, ref, err)
	}
	if got != want {
		t.Fatalf("%s(%s) = %d, want %d", what, ref, got, want)
	}
}

// watchCommits makes the sandbox report on the returned channel each
// reference it has committed a Submit for, before it answers or goes
// silent: tests wait on it instead of polling or sleeping. Set it before
// any Submit runs.
func watchCommits(s *Sandbox, buffer int) <-chan string {
	ch := make(chan string, buffer)
	s.committed = func(ref string) { ch <- ref }
	return ch
}

// submitUnanswered submits a transfer the bank does not answer: Submit is
// still blocked once the bank has committed the transfer, and returns an
// error wrapping context.Canceled when its caller gives up.
func submitUnanswered(t *testing.T, s *Sandbox, tr offramp.RailTransfer) {
	t.Helper()
	committed := watchCommits(s, 1)
	defer func() { s.committed = nil }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		res, err := s.Submit(ctx, tr)
		if err == nil {
			err = fmt.Errorf("answered %+v", res)
		}
		done <- err
	}()
	<-committed
	select {
	case err := <-done:
		t.Fatalf("Submit(%s) returned (%v) before its caller gave up; the bank must stay silent", tr.Reference, err)
	default:
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit(%s) = %v; want an error wrapping context.Canceled", tr.Reference, err)
	}
}

func TestCapabilities(t *testing.T) {
	s, _ := openTest(t, SandboxOptions{})
	var r offramp.Rail = s
	if got, want := r.Capabilities(), (offramp.RailCapabilities{DedupsReferences: true, PostingDelay: 0}); got != want {
		t.Fatalf("Capabilities() = %+v, want %+v", got, want)
	}
}

func TestOrdinarySettlesAfterSettle(t *testing.T) {
	clk := newFakeClock()
	s, _ := openTest(t, SandboxOptions{Settle: testSettle, Clock: clk})
	tr := transfer("ref-ok", "50100012341234")

	if res := mustSubmit(t, s, tr); res != (offramp.RailResult{Status: offramp.RailAccepted}) {
		t.Fatalf("Submit = %+v, want ACCEPTED", res)
	}
	if res := mustInquire(t, s, tr.Reference); res.Status != offramp.RailAccepted || res.UTR != "" {
		t.Fatalf("Inquire right after acceptance = %+v, want ACCEPTED without UTR", res)
	}
	clk.Advance(testSettle - time.Nanosecond)
	if res := mustInquire(t, s, tr.Reference); res.Status != offramp.RailAccepted {
		t.Fatalf("Inquire just before Settle = %+v, want ACCEPTED", res)
	}
	clk.Advance(time.Nanosecond)
	first := mustInquire(t, s, tr.Reference)
	if first.Status != offramp.RailSuccess || !utrPattern.MatchString(first.UTR) {
		t.Fatalf("Inquire at Settle = %+v, want SUCCESS with a 12-digit UTR", first)
	}
	clk.Advance(time.Hour)
	if again := mustInquire(t, s, tr.Reference); again != first {
		t.Fatalf("second Inquire = %+v, want the same %+v", again, first)
	}
	// A resend of a settled transfer is answered with its state, not paid
	// again.
	if res := mustSubmit(t, s, tr); res != first {
		t.Fatalf("repeated Submit = %+v, want %+v", res, first)
	}
	wantCount(t, "Transfers", s.Transfers, tr.Reference, 1)
	wantCount(t, "SubmitCalls", s.SubmitCalls, tr.Reference, 2)
}

func TestDefaultSettleIsTwoSeconds(t *testing.T) {
	clk := newFakeClock()
	s, _ := openTest(t, SandboxOptions{Clock: clk})
	mustSubmit(t, s, transfer("ref-default", "123456789"))
	clk.Advance(2*time.Second - time.Millisecond)
	if res := mustInquire(t, s, "ref-default"); res.Status != offramp.RailAccepted {
		t.Fatalf("Inquire at 1.999 s = %+v, want ACCEPTED", res)
	}
	clk.Advance(time.Millisecond)
	if res := mustInquire(t, s, "ref-default"); res.Status != offramp.RailSuccess {
		t.Fatalf("Inquire at 2 s = %+v, want SUCCESS", res)
	}
}

// TestSystemClockByDefault: without a Clock the bank books transfers on
// the system clock (checked by bracketing, not by sleeping).
func TestSystemClockByDefault(t *testing.T) {
	s, _ := openTest(t, SandboxOptions{})
	before := time.Now().UnixNano()
	mustSubmit(t, s, transfer("ref-sys", "123456789"))
	after := time.Now().UnixNano()
	var at int64
	if err := s.r.QueryRow(`SELECT accepted_at FROM transfers WHERE reference = 'ref-sys'`).Scan(&at); err != nil {
		t.Fatal(err)
	}
	if at < before || at > after {
		t.Fatalf("accepted_at = %d, want within [%d, %d] on the system clock", at, before, after)
	}
}

func TestRejected3333(t *testing.T) {
	clk := newFakeClock()
	s, _ := openTest(t, SandboxOptions{Settle: testSettle, Clock: clk})
	tr := transfer("ref-rej", "9876543333")
	want := offramp.RailResult{Status: offramp.RailRejected, Reason: offramp.ReasonBeneficiaryBankRejected}

	if res := mustSubmit(t, s, tr); res != want {
		t.Fatalf("Submit = %+v, want %+v", res, want)
	}
	if res := mustInquire(t, s, tr.Reference); res != want {
		t.Fatalf("Inquire = %+v, want %+v", res, want)
	}
	clk.Advance(24 * time.Hour)
	if res := mustInquire(t, s, tr.Reference); res != want {
		t.Fatalf("Inquire a day later = %+v, want %+v", res, want)
	}
	if res := mustSubmit(t, s, tr); res != want {
		t.Fatalf("repeated Submit = %+v, want %+v", res, want)
	}
	wantCount(t, "Transfers", s.Transfers, tr.Reference, 1)
}

func TestNoAnswer4444CommitsAndSettles(t *testing.T) {
	clk := newFakeClock()
	s, _ := openTest(t, SandboxOptions{Settle: testSettle, Clock: clk})
	tr := transfer("ref-timeout", "1111114444")

	submitUnanswered(t, s, tr)
	// The bank committed the transfer although the caller gave up.
	wantCount(t, "Transfers", s.Transfers, tr.Reference, 1)
	if res := mustInquire(t, s, tr.Reference); res.Status != offramp.RailAccepted {
		t.Fatalf("Inquire before Settle = %+v, want ACCEPTED", res)
	}
	clk.Advance(testSettle)
	res := mustInquire(t, s, tr.Reference)
	if res.Status != offramp.RailSuccess || !utrPattern.MatchString(res.UTR) {
		t.Fatalf("Inquire after Settle = %+v, want SUCCESS with a 12-digit UTR", res)
	}
	// A resend is deduplicated and still not answered.
	submitUnanswered(t, s, tr)
	wantCount(t, "Transfers", s.Transfers, tr.Reference, 1)
	wantCount(t, "SubmitCalls", s.SubmitCalls, tr.Reference, 2)
	if again := mustInquire(t, s, tr.Reference); again != res {
		t.Fatalf("Inquire after resend = %+v, want %+v", again, res)
	}
}

func TestNeverSettles5555(t *testing.T) {
	clk := newFakeClock()
	s, _ := openTest(t, SandboxOptions{Settle: testSettle, Clock: clk})
	tr := transfer("ref-unknown", "2222225555")

	submitUnanswered(t, s, tr)
	wantCount(t, "Transfers", s.Transfers, tr.Reference, 1)
	clk.Advance(365 * 24 * time.Hour)
	if res := mustInquire(t, s, tr.Reference); res != (offramp.RailResult{Status: offramp.RailAccepted}) {
		t.Fatalf("Inquire a year later = %+v, want ACCEPTED", res)
	}
	submitUnanswered(t, s, tr)
	wantCount(t, "Transfers", s.Transfers, tr.Reference, 1)
	if res := mustInquire(t, s, tr.Reference); res.Status != offramp.RailAccepted {
		t.Fatalf("Inquire after resend = %+v, want ACCEPTED", res)
	}
}

// TestBehaviourBelongsToTheTransfer: a resend under an existing reference is
// answered from the transfer in the books, not from the resend's account.
func TestBehaviourBelongsToTheTransfer(t *testing.T) {
	s, _ := openTest(t, SandboxOptions{Clock: newFakeClock()})
	mustSubmit(t, s, transfer("ref-mixed", "123456789"))
	if res := mustSubmit(t, s, transfer("ref-mixed", "9876543333")); res.Status != offramp.RailAccepted {
		t.Fatalf("resend with a 3333 account = %+v, want the existing ACCEPTED", res)
	}
	wantCount(t, "Transfers", s.Transfers, "ref-mixed", 1)
}

func TestConcurrentSubmitsOneTransfer(t *testing.T) {
	for _, tc := range []struct {
		name, account string
		silent        bool
		want          offramp.RailStatus
	}{
		{"ordinary", "123456789", false, offramp.RailAccepted},
		{"rejected", "9876543333", false, offramp.RailRejected},
		{"no-answer", "1111114444", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTest(t, SandboxOptions{Clock: newFakeClock()})
			tr := transfer("ref-concurrent", tc.account)
			const n = 20
			committed := watchCommits(s, n)
			// The silent bank's callers give up once all n calls have been
			// committed (and so are blocked, or about to be).
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if !tc.silent {
				// An answering bank must answer whenever it is asked.
				ctx = context.Background()
			}
			var wg sync.WaitGroup
			errs := make(chan error, n)
			start := make(chan struct{})
			for range n {
				wg.Go(func() {
					<-start
					res, err := s.Submit(ctx, tr)
					switch {
					case tc.silent && !errors.Is(err, context.Canceled):
						errs <- fmt.Errorf("Submit = %+v, %v; want an error wrapping context.Canceled", res, err)
					case !tc.silent && err != nil:
						errs <- err
					case !tc.silent && res.Status != tc.want:
						errs <- fmt.Errorf("Submit = %+v, want %s", res, tc.want)
					}
				})
			}
			close(start)
			for range n {
				<-committed
			}
			cancel()
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			wantCount(t, "Transfers", s.Transfers, tr.Reference, 1)
			wantCount(t, "SubmitCalls", s.SubmitCalls, tr.Reference, n)
			total, err := s.TotalTransfers(context.Background())
			if err != nil || total != 1 {
				t.Fatalf("TotalTransfers = %d, %v; want 1", total, err)
			}
		})
	}
}

// TestConcurrentInquiriesOneUTR: many callers noticing settlement at once
// all see the one UTR the bank assigned.
func TestConcurrentInquiriesOneUTR(t *testing.T) {
	clk := newFakeClock()
	s, _ := openTest(t, SandboxOptions{Settle: testSettle, Clock: clk})
	mustSubmit(t, s, transfer("ref-race", "123456789"))
	clk.Advance(testSettle)
	const n = 20
	utrs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := s.Inquire(context.Background(), "ref-race")
			if err != nil || res.Status != offramp.RailSuccess {
				t.Errorf("Inquire = %+v, %v; want SUCCESS", res, err)
				return
			}
			utrs[i] = res.UTR
		})
	}
	wg.Wait()
	for i := range utrs {
		if utrs[i] != utrs[0] {
			t.Fatalf("UTRs differ: %q and %q", utrs[0], utrs[i])
		}
	}
}

func TestInquireUnknownIsNotFound(t *testing.T) {
	s, _ := openTest(t, SandboxOptions{})
	res, err := s.Inquire(context.Background(), "never-sent")
	if err != nil || res != (offramp.RailResult{Status: offramp.RailNotFound}) {
		t.Fatalf("Inquire = %+v, %v; want NOT_FOUND and no error", res, err)
	}
	wantCount(t, "Transfers", s.Transfers, "never-sent", 0)
	wantCount(t, "SubmitCalls", s.SubmitCalls, "never-sent", 0)
}

func TestInvalidRequestRejected(t *testing.T) {
	s, _ := openTest(t, SandboxOptions{})
	want := offramp.RailResult{Status: offramp.RailRejected, Reason: ReasonInvalidRequest}
	cases := map[string]offramp.RailTransfer{
		"zero amount":     transfer("ref-zero", "123456789"),
		"negative amount": transfer("ref-neg", "123456789"),
		"empty reference": transfer("", "123456789"),
	}
	z := cases["zero amount"]
	z.Amount = decimal.Zero
	cases["zero amount"] = z
	n := cases["negative amount"]
	n.Amount = decimal.RequireFromString("-1.00")
	cases["negative amount"] = n
	for name, tr := range cases {
		res, err := s.Submit(context.Background(), tr)
		if err != nil || res != want {
			t.Errorf("%s: Submit = %+v, %v; want %+v and no error", name, res, err, want)
		}
		wantCount(t, "Transfers", s.Transfers, tr.Reference, 0)
		wantCount(t, "SubmitCalls", s.SubmitCalls, tr.Reference, 1)
	}
	if total, _ := s.TotalTransfers(context.Background()); total != 0 {
		t.Fatalf("TotalTransfers = %d, want 0", total)
	}
}

func TestOnSubmitCalledFirst(t *testing.T) {
	var calls atomic.Int32
	var s *Sandbox
	s, _ = openTest(t, SandboxOptions{OnSubmit: func(ref string) {
		if ref != "ref-hook" {
			t.Errorf("OnSubmit(%q), want ref-hook", ref)
		}
		// Called before the bank sees the request: a crash here must leave
		// nothing in the books.
		if calls.Add(1) == 1 {
			if n, err := s.Transfers(context.Background(), ref); err != nil || n != 0 {
				t.Errorf("Transfers inside the first OnSubmit = %d, %v; want 0", n, err)
			}
		}
	}})
	tr := transfer("ref-hook", "123456789")
	mustSubmit(t, s, tr)
	mustSubmit(t, s, tr)
	if got := calls.Load(); got != 2 {
		t.Fatalf("OnSubmit called %d times, want 2", got)
	}
}

// TestCancelledCallerStillCommits: the bank finishes a request its client
// gave up on; the client only loses the answer.
func TestCancelledCallerStillCommits(t *testing.T) {
	s, _ := openTest(t, SandboxOptions{Clock: newFakeClock()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Submit(ctx, transfer("ref-cancel", "123456789"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit with a cancelled context: err = %v, want context.Canceled", err)
	}
	wantCount(t, "Transfers", s.Transfers, "ref-cancel", 1)
	if res := mustInquire(t, s, "ref-cancel"); res.Status != offramp.RailAccepted {
		t.Fatalf("Inquire = %+v, want ACCEPTED", res)
	}
}

func TestCloseReleasesSilentSubmit(t *testing.T) {
	s, err := OpenSandbox(filepath.Join(t.TempDir(), "bank.db"), SandboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	committed := watchCommits(s, 1)
	done := make(chan error, 1)
	go func() {
		_, err := s.Submit(context.Background(), transfer("ref-close", "1111114444"))
		done <- err
	}()
	// Wait until the bank has recorded it, so Close does not race the write.
	<-committed
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// A Submit still blocked here would hang the test until its timeout.
	if err := <-done; !errors.Is(err, errClosed) {
		t.Fatalf("Submit after Close = %v, want an error wrapping errClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestReopenKeepsBooks(t *testing.T) {
	clk := newFakeClock()
	path := filepath.Join(t.TempDir(), "sub", "bank.db")
	s, err := OpenSandbox(path, SandboxOptions{Settle: testSettle, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	mustSubmit(t, s, transfer("ref-persist", "123456789"))
	submitUnanswered(t, s, transfer("ref-persist-5555", "2222225555"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	clk.Advance(testSettle)
	s, err = OpenSandbox(path, SandboxOptions{Settle: testSettle, Clock: clk})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	res := mustInquire(t, s, "ref-persist")
	if res.Status != offramp.RailSuccess || !utrPattern.MatchString(res.UTR) {
		t.Fatalf("Inquire after reopen = %+v, want SUCCESS with a UTR", res)
	}
	if res := mustInquire(t, s, "ref-persist-5555"); res.Status != offramp.RailAccepted {
		t.Fatalf("5555 after reopen = %+v, want ACCEPTED", res)
	}
	// The reference is still taken after the restart.
	if again := mustSubmit(t, s, transfer("ref-persist", "123456789")); again != res {
		t.Fatalf("Submit after reopen = %+v, want %+v", again, res)
	}
	wantCount(t, "Transfers", s.Transfers, "ref-persist", 1)
	wantCount(t, "SubmitCalls", s.SubmitCalls, "ref-persist", 2)
	if total, _ := s.TotalTransfers(context.Background()); total != 2 {
		t.Fatalf("TotalTransfers = %d, want 2", total)
	}
}

func TestAmountStoredExactly(t *testing.T) {
	s, _ := openTest(t, SandboxOptions{})
	tr := transfer("ref-amount", "123456789")
	tr.Amount = decimal.RequireFromString("99999999999.99")
	mustSubmit(t, s, tr)
	var got string
	if err := s.r.QueryRow(`SELECT amount FROM transfers WHERE reference = ?`, tr.Reference).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "99999999999.99" {
		t.Fatalf("stored amount %q, want 99999999999.99", got)
	}
}

// TestUTRCollisionRetried forces the generator to repeat a UTR: the second
// transfer must get another one, since the books keep UTRs unique.
func TestUTRCollisionRetried(t *testing.T) {
	clk := newFakeClock()
	s, _ := openTest(t, SandboxOptions{Settle: testSettle, Clock: clk})
	var draws atomic.Int32
	s.newUTR = func() (string, error) {
		if draws.Add(1) <= 2 {
			return "123456789012", nil
		}
		return randomUTR()
	}
	mustSubmit(t, s, transfer("ref-a", "123456789"))
	mustSubmit(t, s, transfer("ref-b", "123456789"))
	clk.Advance(testSettle)
	a, b := mustInquire(t, s, "ref-a"), mustInquire(t, s, "ref-b")
	if a.UTR != "123456789012" || b.Status != offramp.RailSuccess || b.UTR == a.UTR || !utrPattern.MatchString(b.UTR) {
		t.Fatalf("UTRs %+v and %+v: want the second redrawn after the collision", a, b)
	}
	if got := draws.Load(); got != 3 {
		t.Fatalf("drew %d UTRs, want 3", got)
	}

	// A generator that only repeats fails loudly instead of looping.
	s.newUTR = func() (string, error) { return "123456789012", nil }
	mustSubmit(t, s, transfer("ref-c", "123456789"))
	clk.Advance(testSettle)
	if res, err := s.Inquire(context.Background(), "ref-c"); err == nil {
		t.Fatalf("Inquire with a stuck UTR generator = %+v, want an error", res)
	}
	if res := mustInquire(t, s, "ref-a"); res != a {
		t.Fatalf("ref-a after the failed settlement = %+v, want %+v", res, a)
	}
}

func TestDurabilitySettings(t *testing.T) {
	s, _ := openTest(t, SandboxOptions{})
	var mode string
	var syncMode int
	if err := s.w.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := s.w.QueryRow("PRAGMA synchronous").Scan(&syncMode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || syncMode != 2 {
		t.Fatalf("journal_mode=%s synchronous=%d, want wal and 2 (FULL)", mode, syncMode)
	}
}

func TestOpenSandboxRefusesBadOptions(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		path string
		opts SandboxOptions
	}{
		"empty path":       {"", SandboxOptions{}},
		"memory":           {":memory:", SandboxOptions{}},
		"dsn parameters":   {filepath.Join(dir, "b.db") + "?mode=memory", SandboxOptions{}},
		"negative settle":  {filepath.Join(dir, "c.db"), SandboxOptions{Settle: -time.Second}},
		"negative pending": {filepath.Join(dir, "d.db"), SandboxOptions{Pending: -time.Second}},
	} {
		if s, err := OpenSandbox(tc.path, tc.opts); err == nil {
			s.Close()
			t.Errorf("%s: OpenSandbox succeeded, want an error", name)
		}
	}
}

func TestBehaviourOf(t *testing.T) {
	for account, want := range map[string]behaviour{
		"123456789":    behaveOrdinary,
		"3333":         behaveRejected,
		"00013333":     behaveRejected,
		" 00014444 ":   behaveNoAnswer,
		"5555":         behaveNeverSettles,
		"55551":        behaveOrdinary,
		"333":          behaveOrdinary,
		"":             behaveOrdinary,
		"123455554444": behaveNoAnswer,
		"1236666":      behavePending,
		"7777":         behaveReverses,
		"77776666":     behavePending,
		"66667777":     behaveReverses,
		"7776":         behaveOrdinary,
	} {
		if got := behaviourOf(account); got != want {
			t.Errorf("behaviourOf(%q) = %s, want %s", account, got, want)
		}
	}
}

func BenchmarkSubmit(b *testing.B) {
	s, _ := openTest(b, SandboxOptions{})
	ctx := context.Background()
	tr := transfer("", "123456789")
	i := 0
	for b.Loop() {
		tr.Reference = fmt.Sprintf("bench-%d", i)
		i++
		if res, err := s.Submit(ctx, tr); err != nil || res.Status != offramp.RailAccepted {
			b.Fatalf("Submit = %+v, %v", res, err)
		}
	}
}
