package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/httpapi"
	"github.com/offramp/offramp/rail"
	"github.com/offramp/offramp/rates"
	"github.com/offramp/offramp/sandbox"
	"github.com/offramp/offramp/service"
	"github.com/offramp/offramp/signature"
	"github.com/offramp/offramp/sqlstore"
	"github.com/offramp/offramp/sqlstore/pgtest"
	"github.com/offramp/offramp/vault"
	"github.com/offramp/offramp/worker"
)

// engineEnv selects the storage engine of the suite: unset for SQLite,
// "postgres" when TestPostgresEngine runs the whole suite again on
// PostgreSQL.
const engineEnv = "OFFRAMP_TEST_ENGINE"

// env is a running Offramp: a real SQLite file, the service, a worker and
// the HTTP API on a real 127.0.0.1 listener.
type env struct {
	t     testing.TB
	URL   string
	Clock *clock.Fake
	Store *sqlstore.Store
	Svc   *service.Service
	Org   offramp.Org
	Bank  *rail.Sandbox
	logs  *lockedBuffer
	// storeClosed: the test closed the store on purpose.
	storeClosed bool
}

type envOpts struct {
	env         offramp.Env
	verifyDelay time.Duration
	realClock   bool
	payouts     service.PayoutConfig
	// strictWebhooks delivers only to public addresses, as production does.
	strictWebhooks bool
	// sandboxPending is the sandbox bank's Pending (accounts 6666, 7777).
	sandboxPending time.Duration
	// repeatWait is the server's RepeatWait (0: its default).
	repeatWait time.Duration
	// rateLimit is the API's; its Clock, when nil, is the env's fake one.
	rateLimit httpapi.RateLimit
}

func newEnv(t testing.TB, opts ...func(*envOpts)) *env {
	t.Helper()
	o := envOpts{env: offramp.EnvSandbox, verifyDelay: 2 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	key := bytes.Repeat([]byte{7}, 32)
	v, err := vault.New(key)
	if err != nil {
		t.Fatal(err)
	}
	fc := clock.NewFake(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	var clk offramp.Clock = fc
	if o.realClock {
		clk = offramp.SystemClock{}
	}
	dsn := filepath.Join(t.TempDir(), "offramp.db")
	if os.Getenv(engineEnv) == "postgres" {
		dsn = pgtest.URL(t)
	}
	st, err := sqlstore.Open(ctx, dsn, v, sqlstore.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bank, err := rail.OpenSandbox(filepath.Join(t.TempDir(), "bank.db"), rail.SandboxOptions{Settle: 2 * time.Second, Pending: o.sandboxPending, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	pc := o.payouts
	pc.Rail, pc.Rates, pc.Screener = bank, rates.NewSandbox(rates.DefaultSandboxPrices(), clk), sandbox.Screener{}
	if pc.Engine.RailTimeout == 0 {
		pc.Engine.RailTimeout = 200 * time.Millisecond
	}
	svc := service.New(service.Config{
		Store: st, Clock: clk, Env: o.env, Verifier: sandbox.Verifier{}, VerifyDelay: o.verifyDelay,
		LinkKey: []byte("link-key-for-tests-only-32-bytes"), Log: log, Payouts: pc,
		// Test receivers listen on 127.0.0.1.
		Webhooks: service.WebhookConfig{AllowPrivate: !o.strictWebhooks},
	})
	if o.rateLimit.Clock == nil {
		o.rateLimit.Clock = clk
	}
	api := httpapi.New(httpapi.Config{Service: svc, Store: st, Log: log, RateLimit: o.rateLimit, RepeatWait: o.repeatWait})
	srv := httptest.NewServer(api.Handler())

	wctx, cancel := context.WithCancel(ctx)
	runner := worker.New(worker.Config{Store: st, Clock: clk, Handler: svc.RunJob, Poll: 5 * time.Millisecond,
		// Tests move the fake clock in big steps while jobs run; a lease
		// shorter than those jumps would hand a running job to a second
		// worker. Crash recovery through lapsed leases is tested with real
		// processes in cmd/offramp.
		Lease: time.Hour, Log: log})
	var wg sync.WaitGroup
	wg.Go(func() { runner.Run(wctx) })

	org, err := svc.CreateOrg(ctx, "Test Exchange", o.env, "test")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, URL: srv.URL, Clock: fc, Store: st, Svc: svc, Org: org, Bank: bank, logs: logs}
	if o.realClock {
		e.Clock = nil
	}
	t.Cleanup(func() {
		srv.Close()
		cancel()
		wg.Wait()
		// Whatever a test did, the books must balance.
		if e.storeClosed {
			// nothing to check
		} else if rep, err := svc.CheckLedger(context.Background()); err != nil {
			t.Errorf("ledger check: %v", err)
		} else if !rep.Balanced() {
			t.Errorf("ledger does not balance: %+v", rep)
		}
		bank.Close()
		st.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return e
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// resp is a decoded API response.
type resp struct {
	Code    int
	Header  http.Header
	Raw     []byte
	Status  bool                `json:"status"`
	Message string              `json:"message"`
	Data    json.RawMessage     `json:"data"`
	Errors  json.RawMessage     `json:"errors"`
	ErrCode string              `json:"err_code"`
	Fields  map[string][]string `json:"-"`
}

// obj decodes Data as a JSON object.
func (r resp) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Data, &m); err != nil {
		t.Fatalf("data is not an object: %s", r.Raw)
	}
	return m
}

// client signs requests for one organization the way DollarPe's Python
// snippet does: json.dumps(body, sort_keys=True) over the body it sends.
type client struct {
	e      *env
	key    string
	secret string
	// form is the canonical form to sign with; default Python's.
	form signature.Form
	// ts overrides the timestamp (Unix seconds) when non-zero.
	ts int64
}

func (e *env) client() *client {
	return &client{e: e, key: e.Org.APIKey, secret: e.Org.APISecret, form: signature.FormPythonDefault}
}

func (c *client) do(method, path string, body any) resp {
	c.e.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			c.e.t.Fatal(err)
		}
	}
	return c.doRaw(method, path, raw, nil)
}

func (c *client) doRaw(method, path string, raw []byte, hdr map[string]string) resp {
	t := c.e.t
	t.Helper()
	ts := c.ts
	if ts == 0 {
		if c.e.Clock != nil {
			ts = c.e.Clock.Now().Unix()
		} else {
			ts = time.Now().Unix()
		}
	}
	toSign := raw
	if len(bytes.TrimSpace(toSign)) == 0 {
		toSign = []byte("{}")
	}
	canon, err := signature.Canonicalize(toSign, c.form)
	if err != nil {
		canon = toSign // malformed on purpose: sign the raw bytes
	}
	tsStr := strconv.FormatInt(ts, 10)
	req, err := http.NewRequest(method, c.e.URL+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-KEY", c.key)
	req.Header.Set("X-TIMESTAMP", tsStr)
	req.Header.Set("X-SIGNATURE", signature.Sign(c.key, c.secret, tsStr, canon))
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return send(t, req)
}

func send(t testing.TB, req *http.Request) resp {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	recordExchange(t, req, res, b) // for the OpenAPI conformance check in main_test.go
	r := resp{Code: res.StatusCode, Header: res.Header, Raw: b}
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s %s: bad JSON %q: %v", req.Method, req.URL.Path, b, err)
		}
		_ = json.Unmarshal(r.Errors, &r.Fields)
	}
	return r
}

// expectOK fails unless r is a success with the given HTTP status.
func expectOK(t testing.TB, r resp, code int) {
	t.Helper()
	if r.Code != code || !r.Status || r.Message != "Success" {
		t.Fatalf("want %d Success, got %d: %s", code, r.Code, r.Raw)
	}
}

// expectErr fails unless r is an error with the HTTP status and message,
// and, when field is not empty, the message listed under errors[field].
func expectErr(t testing.TB, r resp, code int, field, message string) {
	t.Helper()
	if r.Code != code || r.Status || string(r.Data) != "null" {
		t.Fatalf("want %d error %q, got %d: %s", code, message, r.Code, r.Raw)
	}
	if r.Message != message {
		t.Fatalf("want message %q, got %q (%s)", message, r.Message, r.Raw)
	}
	if field != "" {
		found := false
		for _, m := range r.Fields[field] {
			found = found || m == message || field+": "+m == message
		}
		if !found {
			t.Fatalf("want errors[%q] to list %q, got %s", field, message, r.Raw)
		}
	}
}

// eventually polls fn (real time) until it returns true or 5 s pass.
func eventually(t testing.TB, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if fn() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// Fixtures shared by the tests.

var customerSeq int

func (c *client) newCustomer(fields map[string]any) string {
	c.e.t.Helper()
	customerSeq++
	body := map[string]any{
		"full_name":            "Ravi Kumar",
		"email":                "ravi" + strconv.Itoa(customerSeq) + "@example.com",
		"phone":                strconv.Itoa(9000000000 + customerSeq),
		"alpha_3_country_code": "IND",
	}
	for k, v := range fields {
		body[k] = v
	}
	r := c.do("POST", "/cms/api/v1/customer/create", body)
	expectOK(c.e.t, r, 200)
	return r.obj(c.e.t)["id"].(string)
}

var kycSeq int

func kycBody(customerID string, over map[string]any) map[string]any {
	kycSeq++
	pan := "ABCPK" + strconv.Itoa(1000+kycSeq%9000) + "N"
	aadhaar := strconv.Itoa(100000000000 + kycSeq)
	b := map[string]any{
		"customer_id":                customerID,
		"full_name":                  "Ravi Kumar",
		"phone":                      "9911002211",
		"full_address":               "12 MG Road, Bengaluru 560001",
		"dob":                        "15-08-1990",
		"registered_date":            "01-01-2024",
		"tax_number":                 pan,
		"document_type":              "AADHAAR",
		"document_front_image_url":   "https://sandbox.example/test-images/aadhaar-front.jpg",
		"document_back_image_url":    "https://sandbox.example/test-images/aadhaar-back.jpg",
		"document_details":           map[string]any{"document_number": aadhaar, "additional_data": map[string]any{}},
		"selfie_url":                 "https://sandbox.example/selfie.jpg",
		"selfie_verification_status": true,
		"additional_info":            map[string]any{"income_range": "10-25L", "profession": "Engineer"},
	}
	for k, v := range over {
		b[k] = v
	}
	return b
}

// customerStatus fetches a customer's status and failure reason.
func (c *client) customerStatus(id string) (string, any) {
	c.e.t.Helper()
	r := c.do("GET", "/cms/api/v1/customer/"+id, nil)
	expectOK(c.e.t, r, 200)
	m := r.obj(c.e.t)
	return m["status"].(string), m["failure_reason"]
}

// settle moves the fake clock past the sandbox verification delay and waits
// until the customer leaves PROCESSING.
func (c *client) settleCustomer(id string) (string, any) {
	c.e.t.Helper()
	if c.e.Clock != nil {
		c.e.Clock.Advance(3 * time.Second)
	}
	var status string
	var reason any
	eventually(c.e.t, "customer "+id+" to leave PROCESSING", func() bool {
		status, reason = c.customerStatus(id)
		return status != "PROCESSING"
	})
	return status, reason
}

// verifiedCustomer creates a customer and takes it through sandbox KYC.
func (c *client) verifiedCustomer() string {
	c.e.t.Helper()
	id := c.newCustomer(nil)
	expectOK(c.e.t, c.do("POST", "/cms/api/v1/kyc/add-kyc-data", kycBody(id, nil)), 200)
	if s, _ := c.settleCustomer(id); s != "VERIFIED" {
		c.e.t.Fatalf("customer ended %s, want VERIFIED", s)
	}
	return id
}

func (c *client) bankStatus(customerID, bankID string) (string, any) {
	c.e.t.Helper()
	r := c.do("GET", "/cms/api/v1/bank/"+customerID+"/"+bankID, nil)
	expectOK(c.e.t, r, 200)
	m := r.obj(c.e.t)
	return m["bank_account_status"].(string), m["failure_reason"]
}

func (c *client) settleBank(customerID, bankID string) (string, any) {
	c.e.t.Helper()
	if c.e.Clock != nil {
		c.e.Clock.Advance(3 * time.Second)
	}
	var status string
	var reason any
	eventually(c.e.t, "bank "+bankID+" to leave PROCESSING", func() bool {
		status, reason = c.bankStatus(customerID, bankID)
		return status != "PROCESSING"
	})
	return status, reason
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
