package cashfree_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/idcheck/cashfree"
	"github.com/offramp/offramp/idcheck/cashfree/cashfreeidfake"
)

const (
	clientID     = "CF-TEST-ID"
	clientSecret = "cfsk_ma_test_s3cr3t_value"
)

type setup struct {
	fake   *cashfreeidfake.Fake
	client *cashfree.Client
	kyc    cashfree.KYCVerifier
	bank   cashfree.BankVerifier
}

// newSetup serves a fake on 127.0.0.1 and a client of it with the right
// keys (or, with secret, other ones).
func newSetup(t *testing.T, secret string) setup {
	t.Helper()
	fake := cashfreeidfake.New(clientID, clientSecret)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c, err := cashfree.New(cashfree.Config{BaseURL: srv.URL + "/verification", ClientID: clientID, ClientSecret: secret,
		HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return setup{fake: fake, client: c, kyc: cashfree.KYCVerifier{Client: c}, bank: cashfree.BankVerifier{Client: c}}
}

func customer(name, pan string) offramp.Customer {
	return offramp.Customer{FullName: name, KYC: &offramp.KYC{
		FullName: name, TaxNumber: pan, DocumentType: "AADHAAR", DocumentNumber: "123412341234",
		DocumentFrontImageURL: "https://exchange.example/doc.png", SelfieURL: "https://exchange.example/selfie.png",
		SelfieVerificationStatus: true,
	}}
}

// noSecret fails the test if err's text carries the client secret.
func noSecret(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), clientSecret) {
		t.Fatalf("error leaks the client secret: %v", err)
	}
}

// outcome is a verdict or error in one comparable form: "PASS",
// "PASS holder=NAME", a failure reason, "MANUAL", "RETRY" (a temporary
// error) or "ERROR" (any other error).
func outcome(t *testing.T, v offramp.Verdict, err error) string {
	t.Helper()
	noSecret(t, err)
	switch {
	case errors.Is(err, offramp.ErrManualDecision):
		return "MANUAL"
	case err != nil:
		var tmp interface{ Temporary() bool }
		if errors.As(err, &tmp) && tmp.Temporary() {
			return "RETRY"
		}
		return "ERROR"
	case v.Passed && v.HolderName != "":
		return "PASS holder=" + v.HolderName
	case v.Passed:
		return "PASS"
	case v.FailureReason == "":
		t.Fatalf("a failed verdict without a reason: %+v", v)
	}
	return v.FailureReason
}

func TestKYCMappings(t *testing.T) {
	t.Parallel()
	s := newSetup(t, clientSecret)
	cases := []struct {
		name, kycName, pan, want string
	}{
		{"valid PAN, name matches", "John Doe", cashfreeidfake.PANValid, "PASS"},
		{"valid PAN, another name", "Jane Roe", cashfreeidfake.PANValid, offramp.ReasonTaxVerificationFailed},
		{"unknown PAN (200 valid false)", "John Doe", cashfreeidfake.PANInvalid, offramp.ReasonTaxVerificationFailed},
		{"registered to someone else (NO_MATCH)", "John Doe", cashfreeidfake.PANNameMismatch, offramp.ReasonTaxVerificationFailed},
		{"GOOD_PARTIAL_MATCH passes", "John Doe", cashfreeidfake.PANGoodMatch, "PASS"},
		{"MODERATE_PARTIAL_MATCH goes to an operator", "John Doe", cashfreeidfake.PANModerateMatch, "MANUAL"},
		{"no name-match result: our rule, word order", "Doe John", cashfreeidfake.PANNoNameMatch, "PASS"},
		{"no name-match result: our rule, other words", "John Smith", cashfreeidfake.PANNoNameMatch, offramp.ReasonTaxVerificationFailed},
		{"deactivated PAN", "John Doe", cashfreeidfake.PANDeactivated, offramp.ReasonTaxVerificationFailed},
		{"a company's PAN", "Saanchi Energy Private Limited", cashfreeidfake.PANCompany, offramp.ReasonTaxVerificationFailed},
		{"malformed PAN (400 pan_length_short)", "John Doe", "ABCDE123", offramp.ReasonTaxVerificationFailed},
		{"500 is retried", "John Doe", cashfreeidfake.PANServerError, "RETRY"},
		{"502 is retried", "John Doe", cashfreeidfake.PANBadGateway, "RETRY"},
		{"429 is retried", "John Doe", cashfreeidfake.PANRateLimited, "RETRY"},
		{"any other PAN is valid for the name sent", "Asha Verma", "BXZPK7788Q", "PASS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := s.kyc.VerifyKYC(context.Background(), customer(c.kycName, c.pan))
			if got := outcome(t, v, err); got != c.want {
				t.Errorf("VerifyKYC(%q, %s) = %s (err %v), want %s", c.kycName, c.pan, got, err, c.want)
			}
		})
	}
}

func TestKYCScriptedAnswers(t *testing.T) {
	t.Parallel()
	s := newSetup(t, clientSecret)
	cases := []struct {
		name   string
		status int
		body   map[string]any
		want   string
	}{
		{"POOR_PARTIAL_MATCH fails", 200, map[string]any{"valid": true, "registered_name": "JOHN DOE",
			"name_match_result": "POOR_PARTIAL_MATCH", "name_match_score": "35.00", "pan_status": "VALID"}, offramp.ReasonTaxVerificationFailed},
		{"valid, no registered name, no match result", 200, map[string]any{"valid": true, "pan_status": "VALID"}, "MANUAL"},
		{"pan_status FAKE", 200, map[string]any{"valid": false, "pan_status": "FAKE"}, offramp.ReasonTaxVerificationFailed},
		{"valid true but pan_status DELETED", 200, map[string]any{"valid": true, "pan_status": "DELETED",
			"registered_name": "JOHN DOE", "name_match_result": "DIRECT_MATCH"}, offramp.ReasonTaxVerificationFailed},
		{"\"Individual or Person\" is a person", 200, map[string]any{"valid": true, "type": "Individual or Person",
			"registered_name": "JOHN DOE", "name_match_result": "DIRECT_MATCH", "name_match_score": 100}, "PASS"},
		{"an unknown match result falls back to our rule", 200, map[string]any{"valid": true,
			"registered_name": "JOHN DOE", "name_match_result": "-"}, "PASS"},
		{"401 is an error, not a verdict", 401, map[string]any{"type": "authentication_error",
			"code": "authentication_failed", "message": "Invalid clientId and clientSecret combination"}, "ERROR"},
		{"403 IP not whitelisted", 403, map[string]any{"type": "authentication_error", "code": "ip_validation_failed",
			"message": "IP not whitelisted your current ip is 106.51.91.104."}, "ERROR"},
		{"422 insufficient balance", 422, map[string]any{"type": "validation_error", "code": "insufficient_balance",
			"message": "Insufficient balance to process this request"}, "ERROR"},
		{"400 about the credentials is not a PAN verdict", 400, map[string]any{"type": "validation_error",
			"code": "x-client-secret_value_invalid", "message": "Client secret belongs to test environment"}, "ERROR"},
		{"an answer that echoed the secret", 500, map[string]any{"type": "internal_error", "code": "api_error",
			"message": "bad header " + clientSecret}, "RETRY"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pan := fmt.Sprintf("SCRPT%04dX", i)
			s.fake.ScriptPAN(pan, c.status, c.body)
			v, err := s.kyc.VerifyKYC(context.Background(), customer("John Doe", pan))
			if got := outcome(t, v, err); got != c.want {
				t.Errorf("got %s (err %v), want %s", got, err, c.want)
			}
		})
	}
}

// Failures Cashfree cannot help with are decided before any call is paid
// for.
func TestKYCLocalFailures(t *testing.T) {
	t.Parallel()
	s := newSetup(t, clientSecret)
	mod := func(f func(*offramp.Customer)) offramp.Customer {
		c := customer("John Doe", cashfreeidfake.PANValid)
		f(&c)
		return c
	}
	cases := []struct {
		name string
		c    offramp.Customer
		want string
	}{
		{"no KYC", offramp.Customer{FullName: "John Doe"}, offramp.ReasonKYCFailed},
		{"no document number", mod(func(c *offramp.Customer) { c.KYC.DocumentNumber = "" }), offramp.ReasonDocumentVerificationFailed},
		{"no document type", mod(func(c *offramp.Customer) { c.KYC.DocumentType = "" }), offramp.ReasonDocumentVerificationFailed},
		{"selfie not verified by the exchange", mod(func(c *offramp.Customer) { c.KYC.SelfieVerificationStatus = false }), offramp.ReasonSelfieVerificationFailed},
		{"no selfie", mod(func(c *offramp.Customer) { c.KYC.SelfieURL = "" }), offramp.ReasonSelfieVerificationFailed},
		{"no PAN", mod(func(c *offramp.Customer) { c.KYC.TaxNumber = "" }), offramp.ReasonTaxVerificationFailed},
	}
	for _, c := range cases {
		v, err := s.kyc.VerifyKYC(context.Background(), c.c)
		if got := outcome(t, v, err); got != c.want {
			t.Errorf("%s: got %s (err %v), want %s", c.name, got, err, c.want)
		}
	}
	if calls := s.fake.Calls(); len(calls) != 0 {
		t.Errorf("local failures called Cashfree: %+v", calls)
	}
}

// What goes over the wire: the PAN upper-cased, the KYC name when the API
// accepts it, and nothing else.
func TestKYCRequest(t *testing.T) {
	t.Parallel()
	s := newSetup(t, clientSecret)
	ctx := context.Background()

	c := customer("John Doe", strings.ToLower(cashfreeidfake.PANValid))
	if v, err := s.kyc.VerifyKYC(ctx, c); err != nil || !v.Passed {
		t.Fatalf("VerifyKYC = %+v, %v", v, err)
	}
	// A name the API would refuse is not sent; the registered name is then
	// compared by the service's rule ("Doe, John" has John and Doe).
	c = customer("Doe, John", "BXZPK7788Q")
	if v, err := s.kyc.VerifyKYC(ctx, c); err != nil || !v.Passed {
		t.Fatalf("VerifyKYC(Doe, John) = %+v, %v", v, err)
	}
	calls := s.fake.Calls()
	if len(calls) != 2 {
		t.Fatalf("calls = %+v", calls)
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(calls[0].Body), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(calls[1].Body), &second); err != nil {
		t.Fatal(err)
	}
	if calls[0].Method != "POST" || calls[0].Path != "/pan" || !calls[0].Authorized {
		t.Errorf("first call = %+v", calls[0])
	}
	if len(first) != 2 || first["pan"] != cashfreeidfake.PANValid || first["name"] != "John Doe" {
		t.Errorf("first body = %v", first)
	}
	if _, has := second["name"]; has || second["pan"] != "BXZPK7788Q" {
		t.Errorf("second body = %v, want the PAN without a name", second)
	}
}

func TestBankMappings(t *testing.T) {
	t.Parallel()
	s := newSetup(t, clientSecret)
	cases := []struct {
		account, want string
	}{
		{"7627389201", "PASS holder=" + cashfreeidfake.HolderName},
		{"762738" + cashfreeidfake.AccountInvalid, offramp.ReasonInvalidAccountNumber},
		{"762738" + cashfreeidfake.AccountOtherHolder, "PASS holder=" + cashfreeidfake.OtherHolderName},
		{"762738" + cashfreeidfake.AccountFailedAtBank, offramp.ReasonPennyDropFailed},
		{"762738" + cashfreeidfake.AccountInvalidIFSC, offramp.ReasonInvalidIFSC},
		{"762738" + cashfreeidfake.AccountNRE, offramp.ReasonAccountTypeNRE},
		{"762738" + cashfreeidfake.AccountPending, "RETRY"},
		{"762738" + cashfreeidfake.AccountNoName, "MANUAL"},
		{"762738" + cashfreeidfake.AccountBlocked, offramp.ReasonPennyDropFailed},
		{"762738" + cashfreeidfake.AccountFraud, offramp.ReasonBankRiskCheckFailed},
		{"762738" + cashfreeidfake.AccountServerError, "RETRY"},
		{"762738" + cashfreeidfake.AccountRateLimited, "RETRY"},
	}
	c := customer("John Doe", cashfreeidfake.PANValid)
	for _, tc := range cases {
		b := offramp.BankAccount{Type: offramp.BankAccountDetails, AccountNumber: tc.account, IFSC: "YESB0000262"}
		v, err := s.bank.VerifyBank(context.Background(), c, b)
		if got := outcome(t, v, err); got != tc.want {
			t.Errorf("VerifyBank(%s) = %s (err %v), want %s", tc.account, got, err, tc.want)
		}
	}
	for _, call := range s.fake.Calls() {
		var body map[string]any
		if err := json.Unmarshal([]byte(call.Body), &body); err != nil {
			t.Fatal(err)
		}
		if call.Path != "/bank-account/sync" || len(body) != 2 || body["ifsc"] != "YESB0000262" {
			t.Errorf("call %+v: want bank_account and ifsc only", call)
		}
	}
}

func TestBankScriptedAnswers(t *testing.T) {
	t.Parallel()
	s := newSetup(t, clientSecret)
	cases := []struct {
		status, code, want string
	}{
		{"FAILED", "NPCI_UNAVAILABLE", "RETRY"},
		{"FAILED", "CONNECTION_TIMEOUT", "RETRY"},
		{"FAILED", "SOURCE_BANK_DECLINED", "RETRY"},
		{"FAILED", "BENEFICIARY_BANK_OFFLINE", "RETRY"},
		{"FAILED", "INSUFFICIENT_BALANCE", "RETRY"},
		{"RECEIVED", "VERIFICATION_ALREADY_UNDER_PROCESS", "RETRY"},
		{"IN_PROCESS", "", "RETRY"},
		{"FAILED", "BAV_BLOCKED", offramp.ReasonBankRiskCheckFailed},
		{"FAILED", "BENE_BANK_DECLINED", offramp.ReasonPennyDropFailed},
		{"FAILED", "IMPS_MODE_FAIL", offramp.ReasonPennyDropFailed},
		{"REJECTED", "", offramp.ReasonPennyDropFailed},
		{"MANUALLY_REJECTED", "", offramp.ReasonPennyDropFailed},
		{"INVALID", "", offramp.ReasonInvalidAccountNumber},
		{"SOMETHING_NEW", "NEVER_SEEN", "ERROR"},
	}
	c := customer("John Doe", cashfreeidfake.PANValid)
	for i, tc := range cases {
		account := fmt.Sprintf("50100%05d", i)
		s.fake.ScriptBank(account, 200, map[string]any{"reference_id": i, "account_status": tc.status,
			"account_status_code": tc.code, "name_at_bank": ""})
		b := offramp.BankAccount{Type: offramp.BankAccountDetails, AccountNumber: account, IFSC: "HDFC0000001"}
		v, err := s.bank.VerifyBank(context.Background(), c, b)
		if got := outcome(t, v, err); got != tc.want {
			t.Errorf("%s/%s: got %s (err %v), want %s", tc.status, tc.code, got, err, tc.want)
		}
	}
}

func TestBankVPAIsManual(t *testing.T) {
	t.Parallel()
	s := newSetup(t, clientSecret)
	v, err := s.bank.VerifyBank(context.Background(), customer("John Doe", cashfreeidfake.PANValid),
		offramp.BankAccount{Type: offramp.BankVPA, VPA: "johndoe@oksbi"})
	if got := outcome(t, v, err); got != "MANUAL" {
		t.Errorf("VPA: got %s (err %v)", got, err)
	}
	if n := len(s.fake.Calls()); n != 0 {
		t.Errorf("%d calls for a VPA", n)
	}
}

func TestWrongKeys(t *testing.T) {
	t.Parallel()
	s := newSetup(t, "wrong-"+clientSecret) // contains the real secret, to catch an echo of either
	ctx := context.Background()
	errs := map[string]error{"check": s.client.Check(ctx)}
	_, errs["kyc"] = s.kyc.VerifyKYC(ctx, customer("John Doe", cashfreeidfake.PANValid))
	_, errs["bank"] = s.bank.VerifyBank(ctx, offramp.Customer{}, offramp.BankAccount{Type: offramp.BankAccountDetails,
		AccountNumber: "7627389201", IFSC: "YESB0000262"})
	for what, err := range errs {
		var e *cashfree.Error
		if !errors.As(err, &e) || e.HTTPStatus != 401 || e.Code != "authentication_failed" || e.Temporary() {
			t.Errorf("%s: err = %#v, want a non-temporary 401 authentication_failed", what, err)
		}
		noSecret(t, err)
		if strings.Contains(err.Error(), "wrong-") {
			t.Errorf("%s: error shows the configured secret: %v", what, err)
		}
	}
}

func TestMissingHeaderShape(t *testing.T) {
	t.Parallel()
	fake := cashfreeidfake.New(clientID, clientSecret)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+"/pan", "application/json", strings.NewReader(`{"pan":"ABCPV1234D"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || body["type"] != "validation_error" || body["code"] != "x-client-id_missing" {
		t.Errorf("no headers: %d %v", resp.StatusCode, body)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	s := newSetup(t, clientSecret)
	if err := s.client.Check(context.Background()); err != nil {
		t.Fatalf("Check = %v", err)
	}
	calls := s.fake.Calls()
	if len(calls) != 1 || calls[0].Method != "GET" || calls[0].Path != "/pan/0" || !calls[0].Authorized {
		t.Errorf("calls = %+v", calls)
	}
	// A result that exists reads back as well.
	if _, err := s.client.VerifyPAN(context.Background(), cashfreeidfake.PANValid, "John Doe"); err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`<html>maintenance</html>`))
	}))
	defer srv.Close()
	c, err := cashfree.New(cashfree.Config{BaseURL: srv.URL, ClientID: clientID, ClientSecret: clientSecret})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Check(context.Background())
	var e *cashfree.Error
	if !errors.As(err, &e) || e.HTTPStatus != 503 || !e.Temporary() {
		t.Errorf("Check against a 503 page = %v", err)
	}
}

func TestTransportErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	c, err := cashfree.New(cashfree.Config{BaseURL: url, ClientID: clientID, ClientSecret: clientSecret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cashfree.KYCVerifier{Client: c}.VerifyKYC(context.Background(), customer("John Doe", cashfreeidfake.PANValid))
	if err == nil || errors.Is(err, offramp.ErrManualDecision) {
		t.Fatalf("err = %v, want a transport error", err)
	}
	noSecret(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := newSetup(t, clientSecret)
	_, err = s.bank.VerifyBank(ctx, offramp.Customer{}, offramp.BankAccount{Type: offramp.BankAccountDetails,
		AccountNumber: "7627389201", IFSC: "YESB0000262"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []cashfree.Config{
		{ClientID: clientID},
		{ClientSecret: clientSecret},
		{BaseURL: "ftp://example.com", ClientID: clientID, ClientSecret: clientSecret},
		{BaseURL: "https://user:pw@api.cashfree.com/verification", ClientID: clientID, ClientSecret: clientSecret},
	} {
		if _, err := cashfree.New(cfg); err == nil {
			t.Errorf("New(%v) accepted", cfg)
		} else {
			noSecret(t, err)
		}
	}
	cfg := cashfree.Config{ClientID: clientID, ClientSecret: clientSecret}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%v %+v %#v %s", cfg, cfg, cfg, cfg)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "cfg", cfg)
	if strings.Contains(buf.String(), clientSecret) {
		t.Errorf("formatted config shows the secret: %s", buf.String())
	}
	if !strings.Contains(buf.String(), clientID) {
		t.Errorf("formatted config hides the client id too: %s", buf.String())
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDefaultBaseURLAndHeaders(t *testing.T) {
	t.Parallel()
	var got *http.Request
	hc := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		got = r
		return &http.Response{StatusCode: 404, Header: http.Header{}, Request: r,
			Body: http.NoBody}, nil
	})}
	c, err := cashfree.New(cashfree.Config{ClientID: clientID, ClientSecret: clientSecret, APIVersion: "2023-12-18", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got.URL.String() != "https://api.cashfree.com/verification/pan/0" {
		t.Errorf("URL = %s", got.URL)
	}
	if got.Header.Get("x-client-id") != clientID || got.Header.Get("x-client-secret") != clientSecret ||
		got.Header.Get("x-api-version") != "2023-12-18" {
		t.Errorf("headers = %v", got.Header)
	}
}
