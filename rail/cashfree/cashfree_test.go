package cashfree_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/rail/cashfree"
	"github.com/offramp/offramp/rail/cashfree/cashfreefake"
)

func mustSubmit(t *testing.T, r *cashfree.Rail, tr offramp.RailTransfer) offramp.RailResult {
	t.Helper()
	res, err := r.Submit(context.Background(), tr)
	if err != nil {
		t.Fatalf("Submit(%s): %v", tr.Reference, err)
	}
	return res
}

func mustInquire(t *testing.T, r *cashfree.Rail, ref string) offramp.RailResult {
	t.Helper()
	res, err := r.Inquire(context.Background(), ref)
	if err != nil {
		t.Fatalf("Inquire(%s): %v", ref, err)
	}
	return res
}

// unknownOutcome asserts an error that leaves the outcome open: not an
// answer, and not "certainly not sent".
func unknownOutcome(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want an unknown outcome", what)
	}
	if errors.Is(err, offramp.ErrRailNotSent) {
		t.Fatalf("%s = %v: wraps ErrRailNotSent, but Cashfree may hold the transfer", what, err)
	}
	assertNoSecrets(t, what+" error", err.Error())
}

func notSent(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, offramp.ErrRailNotSent) {
		t.Fatalf("%s = %v, want an error wrapping ErrRailNotSent", what, err)
	}
	assertNoSecrets(t, what+" error", err.Error())
}

// The create commits but its answer is lost: a retried Submit under the
// same reference finds the transfer and creates no second one.
func TestLostAnswerRetryCreatesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ref := newRef()
	e.fake.FailCreates(cashfreefake.DropAfterCommit)
	_, err := e.rail.Submit(context.Background(), transfer(ref, cashfreefake.AccountPays))
	unknownOutcome(t, "Submit with the answer dropped", err)
	if n := e.transfers(ref); n != 1 {
		t.Fatalf("the fake holds %d transfers after the dropped answer, want 1 (it committed)", n)
	}
	if res := mustSubmit(t, e.rail, transfer(ref, cashfreefake.AccountPays)); res.Status != offramp.RailAccepted {
		t.Fatalf("retried Submit = %+v, want the existing transfer's ACCEPTED", res)
	}
	if c, n := e.fake.Creates(ref), e.transfers(ref); c != 2 || n != 1 {
		t.Fatalf("creates %d, transfers %d; want 2 calls and 1 transfer", c, n)
	}
	e.advance(settle)
	paid := mustInquire(t, e.rail, ref)
	if paid.Status != offramp.RailSuccess || paid.UTR == "" {
		t.Fatalf("Inquire after settling = %+v, want SUCCESS with a UTR", paid)
	}
	if again := mustSubmit(t, e.rail, transfer(ref, cashfreefake.AccountPays)); again != paid {
		t.Fatalf("Submit after settling = %+v, want the existing %+v", again, paid)
	}
	if n := e.transfers(ref); n != 1 {
		t.Fatalf("the fake holds %d transfers, want 1", n)
	}
}

// A 5xx after the create committed is an unknown outcome; Inquire finds
// the transfer and a resubmission creates nothing.
func TestServerErrorAfterCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ref := newRef()
	e.fake.FailCreates(cashfreefake.ServerErrorAfterCommit)
	_, err := e.rail.Submit(context.Background(), transfer(ref, cashfreefake.AccountPays))
	unknownOutcome(t, "Submit answered 500", err)
	var apiErr *cashfree.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusInternalServerError || apiErr.Code != "internal_server_error" {
		t.Fatalf("Submit error = %#v, want an APIError 500 internal_server_error", err)
	}
	if res := mustInquire(t, e.rail, ref); res.Status != offramp.RailAccepted {
		t.Fatalf("Inquire after the 500 = %+v, want ACCEPTED (Cashfree holds it)", res)
	}
	if res := mustSubmit(t, e.rail, transfer(ref, cashfreefake.AccountPays)); res.Status != offramp.RailAccepted {
		t.Fatalf("resubmission = %+v, want the existing ACCEPTED", res)
	}
	if n := e.transfers(ref); n != 1 {
		t.Fatalf("transfers = %d, want 1", n)
	}
}

// A 5xx before anything was recorded is indistinguishable to the client:
// still unknown, and Inquire tells the truth (NOT_FOUND), after which a
// resubmission creates the transfer once.
func TestServerErrorBeforeCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ref := newRef()
	e.fake.FailCreates(cashfreefake.ServerError)
	_, err := e.rail.Submit(context.Background(), transfer(ref, cashfreefake.AccountPays))
	unknownOutcome(t, "Submit answered 500 before commit", err)
	e.advance(e.rail.Capabilities().PostingDelay)
	if res := mustInquire(t, e.rail, ref); res.Status != offramp.RailNotFound {
		t.Fatalf("Inquire = %+v, want NOT_FOUND", res)
	}
	if res := mustSubmit(t, e.rail, transfer(ref, cashfreefake.AccountPays)); res.Status != offramp.RailAccepted {
		t.Fatalf("resubmission = %+v, want ACCEPTED", res)
	}
	if c, n := e.fake.Creates(ref), e.transfers(ref); c != 2 || n != 1 {
		t.Fatalf("creates %d, transfers %d; want 2 and 1", c, n)
	}
}

// The create commits and Cashfree never answers: the caller's context
// ends the call (a timeout), the outcome is unknown, Inquire finds it.
func TestTimeoutAfterCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ref := newRef()
	e.fake.FailCreates(cashfreefake.HangAfterCommit)
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.rail.Submit(ctx, transfer(ref, cashfreefake.AccountPays))
		done <- err
	}()
	if err := e.fake.WaitHanging(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel(context.DeadlineExceeded)
	err := <-done
	unknownOutcome(t, "Submit that timed out", err)
	if n := e.transfers(ref); n != 1 {
		t.Fatalf("transfers = %d, want 1", n)
	}
	if res := mustInquire(t, e.rail, ref); res.Status != offramp.RailAccepted {
		t.Fatalf("Inquire = %+v, want ACCEPTED", res)
	}
	e.advance(settle)
	if res := mustInquire(t, e.rail, ref); res.Status != offramp.RailSuccess {
		t.Fatalf("Inquire after settling = %+v, want SUCCESS", res)
	}
}

// A transfer pending at the bank for hours stays ACCEPTED (never NOT_FOUND,
// never made up), then pays; its webhooks apply SUCCESS once.
func TestPendingForHoursThenSuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ref := newRef()
	if res := mustSubmit(t, e.rail, transfer(ref, cashfreefake.AccountPendingLong)); res.Status != offramp.RailAccepted {
		t.Fatalf("Submit = %+v, want ACCEPTED", res)
	}
	for range 2 {
		e.advance(time.Hour)
		if res := mustInquire(t, e.rail, ref); res.Status != offramp.RailAccepted {
			t.Fatalf("Inquire %v in = %+v, want ACCEPTED", e.clk.Now().Sub(epoch), res)
		}
		if ds := e.deliver(); len(ds) != 0 {
			t.Fatalf("webhooks while pending: %+v", ds)
		}
	}
	e.advance(pendingFor - 2*time.Hour)
	paid := mustInquire(t, e.rail, ref)
	if paid.Status != offramp.RailSuccess || len(paid.UTR) != 12 {
		t.Fatalf("Inquire after %v = %+v, want SUCCESS with a 12-digit UTR", pendingFor, paid)
	}
	ds := e.deliver()
	if len(ds) != 2 || ds[0].Type != cashfree.EventTransferSuccess || ds[1].Type != cashfree.EventTransferAcknowledged {
		t.Fatalf("deliveries = %+v, want TRANSFER_SUCCESS then TRANSFER_ACKNOWLEDGED", ds)
	}
	if got, calls, changes := e.books.get(ref); got != paid || calls != 2 || changes != 1 {
		t.Fatalf("books = %+v after %d calls, %d changes; want %+v from 2 calls, 1 change", got, calls, changes, paid)
	}
}

// A paid transfer the bank returns a day later: SUCCESS, then REVERSED with
// the same UTR and a reason, by inquiry and by webhook.
func TestReversalAfterSuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ref := newRef()
	mustSubmit(t, e.rail, transfer(ref, cashfreefake.AccountReverses))
	e.advance(settle)
	paid := mustInquire(t, e.rail, ref)
	if paid.Status != offramp.RailSuccess {
		t.Fatalf("Inquire = %+v, want SUCCESS", paid)
	}
	e.deliver()
	e.advance(reverseAfter)
	want := offramp.RailResult{Status: offramp.RailReversed, UTR: paid.UTR, Reason: offramp.ReasonInvalidAccountNumber}
	if rev := mustInquire(t, e.rail, ref); rev != want {
		t.Fatalf("Inquire after the reversal = %+v, want %+v", rev, want)
	}
	ds := e.deliver()
	if len(ds) != 1 || ds[0].Type != cashfree.EventTransferReversed {
		t.Fatalf("deliveries = %+v, want one TRANSFER_REVERSED", ds)
	}
	if got, _, changes := e.books.get(ref); got != want || changes != 2 {
		t.Fatalf("books = %+v (%d changes), want %+v after 2 changes", got, changes, want)
	}
	if again := mustSubmit(t, e.rail, transfer(ref, cashfreefake.AccountPays)); again != want {
		t.Fatalf("Submit after the reversal = %+v, want the existing %+v", again, want)
	}
}

// Cashfree's webhook can arrive before the create's answer: the receiver
// has the outcome by the time Submit returns, and both agree.
func TestWebhookBeforeCreateAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{deliverOnChange: true})
	for _, tc := range []struct {
		account string
		want    offramp.RailStatus
	}{
		{cashfreefake.AccountInstant, offramp.RailSuccess},
		{cashfreefake.AccountRejected, offramp.RailRejected},
	} {
		ref := newRef()
		res := mustSubmit(t, e.rail, transfer(ref, tc.account))
		got, _, _ := e.books.get(ref) // no waiting: delivered before the answer
		if res.Status != tc.want || got != res {
			t.Fatalf("account %s: Submit = %+v, webhook applied %+v before it; want both %s", tc.account[len(tc.account)-4:], res, got, tc.want)
		}
	}
}

// The outcome arrives by webhook while the create's answer hangs; the
// submission then fails with an unknown outcome and Inquire agrees with
// the webhook.
func TestWebhookWhileCreateHangs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ref := newRef()
	e.fake.FailCreates(cashfreefake.HangAfterCommit)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.rail.Submit(ctx, transfer(ref, cashfreefake.AccountPays))
		done <- err
	}()
	if err := e.fake.WaitHanging(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(settle)
	e.deliver() // the create is still unanswered
	got, _, _ := e.books.get(ref)
	if got.Status != offramp.RailSuccess {
		t.Fatalf("webhook applied %+v while the create hung, want SUCCESS", got)
	}
	cancel()
	unknownOutcome(t, "hung Submit", <-done)
	if res := mustInquire(t, e.rail, ref); res != got {
		t.Fatalf("Inquire = %+v, want the webhook's %+v", res, got)
	}
}

func TestRateLimitedIsNotSent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ref := newRef()
	e.fake.FailCreates(cashfreefake.RateLimited)
	_, err := e.rail.Submit(context.Background(), transfer(ref, cashfreefake.AccountPays))
	notSent(t, "Submit answered 429", err)
	if n := e.transfers(ref); n != 0 {
		t.Fatalf("transfers = %d after a 429, want 0", n)
	}
	if res := mustSubmit(t, e.rail, transfer(ref, cashfreefake.AccountPays)); res.Status != offramp.RailAccepted {
		t.Fatalf("Submit later = %+v, want ACCEPTED", res)
	}
}

func TestInsufficientBalanceIsNotSent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ref := newRef()
	e.fake.FailCreates(cashfreefake.InsufficientBalance)
	_, err := e.rail.Submit(context.Background(), transfer(ref, cashfreefake.AccountPays))
	notSent(t, "Submit refused for balance", err)
	if n := e.transfers(ref); n != 0 {
		t.Fatalf("transfers = %d, want 0", n)
	}
}

func TestAuthRefusedIsNotSent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{secret: "cfsk_wrong_" + testSecret[5:]})
	ref := newRef()
	_, err := e.rail.Submit(context.Background(), transfer(ref, cashfreefake.AccountPays))
	notSent(t, "Submit with a wrong secret", err)
	var apiErr *cashfree.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusUnauthorized || apiErr.Type != "authentication_error" {
		t.Fatalf("error = %v, want an APIError 401 authentication_error", err)
	}
	if _, err := e.rail.Inquire(context.Background(), ref); err == nil {
		t.Fatal("Inquire with a wrong secret: no error")
	}
	if e.fake.Creates(ref) != 0 {
		t.Fatal("the fake created under refused credentials")
	}
}

func TestConnectionRefusedIsNotSent(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r, err := cashfree.New(cashfree.Config{BaseURL: "http://" + addr + "/payout", ClientID: testClientID, ClientSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Submit(context.Background(), transfer(newRef(), cashfreefake.AccountPays))
	notSent(t, "Submit to a closed port", err)
	err = r.Check(context.Background())
	if err == nil {
		t.Fatal("Check of a closed port: no error")
	}
	assertNoSecrets(t, "Check error", err.Error())
}

// A create error about the beneficiary is a REJECTED with a reason, and
// Cashfree holds nothing.
func TestBeneficiaryErrorsReject(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		name   string
		mutate func(*offramp.RailTransfer)
		reason string
	}{
		{"ifsc", func(tr *offramp.RailTransfer) { tr.IFSC = "HDFC1234" }, offramp.ReasonInvalidIFSC},
		{"account", func(tr *offramp.RailTransfer) { tr.AccountNumber = "1234" }, offramp.ReasonInvalidAccountNumber},
	} {
		ref := newRef()
		tr := transfer(ref, cashfreefake.AccountPays)
		tc.mutate(&tr)
		if res := mustSubmit(t, e.rail, tr); res != (offramp.RailResult{Status: offramp.RailRejected, Reason: tc.reason}) {
			t.Fatalf("%s: Submit = %+v, want REJECTED %s", tc.name, res, tc.reason)
		}
		if res := mustInquire(t, e.rail, ref); res.Status != offramp.RailNotFound {
			t.Fatalf("%s: Inquire = %+v, want NOT_FOUND (nothing created)", tc.name, res)
		}
	}
}

// Transfers Cashfree would certainly refuse are answered REJECTED without
// a call.
func TestRefusedLocally(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		name   string
		mutate func(*offramp.RailTransfer)
		reason string
	}{
		{"below minimum", func(tr *offramp.RailTransfer) { tr.Amount = decimal.RequireFromString("0.99") }, cashfree.ReasonInvalidAmount},
		{"sub-paisa", func(tr *offramp.RailTransfer) { tr.Amount = decimal.RequireFromString("10.001") }, cashfree.ReasonInvalidAmount},
		{"currency", func(tr *offramp.RailTransfer) { tr.Currency = "USD" }, cashfree.ReasonUnsupportedCurrency},
		{"name", func(tr *offramp.RailTransfer) { tr.AccountName = "12 34" }, cashfree.ReasonInvalidBeneficiaryName},
		{"reference", func(tr *offramp.RailTransfer) { tr.Reference = "OFR-with-dashes" }, cashfree.ReasonInvalidRequest},
		{"long reference", func(tr *offramp.RailTransfer) { tr.Reference += "0123456789" }, cashfree.ReasonInvalidRequest},
	} {
		tr := transfer(newRef(), cashfreefake.AccountPays)
		tc.mutate(&tr)
		before := e.fake.Handled()
		if res := mustSubmit(t, e.rail, tr); res != (offramp.RailResult{Status: offramp.RailRejected, Reason: tc.reason}) {
			t.Fatalf("%s: Submit = %+v, want REJECTED %s", tc.name, res, tc.reason)
		}
		if e.fake.Handled() != before {
			t.Fatalf("%s: Submit called Cashfree", tc.name)
		}
	}
}

// What goes on the wire: the exact amount, INR, the mode by the IMPS cap,
// the name as Cashfree accepts it, the beneficiary inline.
func TestWireRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		amount, method, wantAmount, wantMode string
	}{
		{"1234.56", "IMPS", "1234.56", "imps"},
		{"100", "IMPS", "100.00", "imps"},
		{"500000.00", "IMPS", "500000.00", "imps"},
		{"500000.01", "IMPS", "500000.01", "neft"},
		{"2500000", "", "2500000.00", "neft"},
		{"250000.10", "RTGS", "250000.10", "rtgs"},
		{"1000", "NEFT", "1000.00", "neft"},
	} {
		ref := newRef()
		tr := transfer(ref, cashfreefake.AccountPays)
		tr.Amount, tr.Method, tr.AccountName = decimal.RequireFromString(tc.amount), tc.method, "  Asha K. Rao-Iyer "
		mustSubmit(t, e.rail, tr)
		got, ok := e.fake.Transfer(ref)
		if !ok {
			t.Fatalf("%s: not recorded", tc.amount)
		}
		if got.Amount != tc.wantAmount || got.Mode != tc.wantMode || got.Currency != "INR" ||
			got.Name != "Asha K Rao Iyer" || got.AccountNumber != cashfreefake.AccountPays || got.IFSC != testIFSC {
			t.Fatalf("%s %s: recorded %+v; want amount %s, mode %s", tc.amount, tc.method, got, tc.wantAmount, tc.wantMode)
		}
	}
}

func TestInquire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	if res := mustInquire(t, e.rail, newRef()); res.Status != offramp.RailNotFound {
		t.Fatalf("Inquire of an unknown reference = %+v, want NOT_FOUND", res)
	}
	if _, err := e.rail.Inquire(context.Background(), ""); err == nil {
		t.Fatal("Inquire(\"\"): no error")
	}
	ref := newRef()
	mustSubmit(t, e.rail, transfer(ref, cashfreefake.AccountPays))
	e.fake.FailFetches(cashfreefake.ServerError, cashfreefake.RateLimited)
	for range 2 {
		if _, err := e.rail.Inquire(context.Background(), ref); err == nil {
			t.Fatal("Inquire answered through a fetch fault")
		} else {
			assertNoSecrets(t, "Inquire error", err.Error())
		}
	}
	if res := mustInquire(t, e.rail, ref); res.Status != offramp.RailAccepted {
		t.Fatalf("Inquire = %+v, want ACCEPTED", res)
	}
}

// Statuses scripted by hand: an undocumented one is not made into an
// outcome; REVERSED without a UTR (no credit ever reported) is a
// rejection; MANUALLY_REJECTED is a rejection.
func TestScriptedStatuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		status, code string
		want         offramp.RailResult
	}{
		{"ON_HOLD", "SOMETHING_NEW", offramp.RailResult{Status: offramp.RailAccepted}},
		{"REVERSED", "INVALID_ACCOUNT_FAIL", offramp.RailResult{Status: offramp.RailRejected, Reason: offramp.ReasonInvalidAccountNumber}},
		{"MANUALLY_REJECTED", "", offramp.RailResult{Status: offramp.RailRejected, Reason: cashfree.ReasonManuallyRejected}},
		{"FAILED", "NRE_ACCOUNT_FAIL", offramp.RailResult{Status: offramp.RailRejected, Reason: offramp.ReasonAccountTypeNRE}},
		{"QUEUED", "", offramp.RailResult{Status: offramp.RailAccepted}},
	} {
		ref := newRef()
		mustSubmit(t, e.rail, transfer(ref, cashfreefake.AccountStaysPending))
		if err := e.fake.SetStatus(ref, tc.status, tc.code); err != nil {
			t.Fatal(err)
		}
		if res := mustInquire(t, e.rail, ref); res != tc.want {
			t.Fatalf("%s/%s: Inquire = %+v, want %+v", tc.status, tc.code, res, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	if err := e.rail.Check(context.Background()); err != nil {
		t.Fatalf("Check with good keys: %v", err)
	}
	bad := newEnv(t, envOptions{secret: "cfsk_wrong"})
	err := bad.rail.Check(context.Background())
	if err == nil {
		t.Fatal("Check with a wrong secret: no error")
	}
	assertNoSecrets(t, "Check error", err.Error())
	t.Logf("Check with a wrong secret: %v", err)

	// A base URL without /payout reaches no Payouts API: not a success.
	wrong, err := cashfree.New(cashfree.Config{BaseURL: e.api.URL, ClientID: testClientID, ClientSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	if err := wrong.Check(context.Background()); err == nil {
		t.Fatal("Check against a wrong path: no error")
	} else {
		assertNoSecrets(t, "Check error", err.Error())
		t.Logf("Check against a wrong path: %v", err)
	}
}

// A hostile or broken server that echoes secrets and account numbers in
// its error messages: none of it reaches an error string.
func TestNoSecretInErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusBadRequest
		switch r.URL.Query().Get("transfer_id") {
		case "":
		case "offramp_credentials_check":
			status = http.StatusUnauthorized
		default:
			status = http.StatusNotFound
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"type":"invalid_request_error ` + testSecret + `","code":"bank_account_number ` + leakyAccount + `","message":"value received: ` +
			leakyAccount + ` with key ` + r.Header.Get("x-client-secret") + ` for ` + r.Header.Get("x-client-id") + `"}`))
	}))
	defer srv.Close()
	r, err := cashfree.New(cashfree.Config{BaseURL: srv.URL + "/payout", ClientID: testClientID, ClientSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	tr := transfer(newRef(), leakyAccount)
	_, serr := r.Submit(context.Background(), tr)
	_, ierr := r.Inquire(context.Background(), tr.Reference)
	cerr := r.Check(context.Background())
	for what, err := range map[string]error{"Submit": serr, "Inquire": ierr, "Check": cerr} {
		if err == nil {
			t.Fatalf("%s: no error from a server that only fails", what)
		}
		assertNoSecrets(t, what+" error", err.Error())
	}
	// A 404 without Cashfree's transfer_id_not_found is not NOT_FOUND.
	if !errors.As(ierr, new(*cashfree.APIError)) {
		t.Fatalf("Inquire error = %v, want an APIError", ierr)
	}
	if _, err := cashfree.New(cashfree.Config{BaseURL: "https://user:" + testSecret + "@api.cashfree.com/payout", ClientID: testClientID, ClientSecret: testSecret}); err == nil {
		t.Fatal("New accepted credentials in the base URL")
	} else {
		assertNoSecrets(t, "New error", err.Error())
	}
}
