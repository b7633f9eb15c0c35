package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/signature"
)

func TestSignatureFormsAccepted(t *testing.T) {
	e := newEnv(t)
	for _, form := range []signature.Form{signature.FormPythonDefault, signature.FormCompactUTF8, signature.FormCompactASCII} {
		t.Run(string(form), func(t *testing.T) {
			c := e.client()
			c.form = form
			// A nested, non-ASCII body: the forms differ in separators,
			// escaping and nesting, and each must verify.
			id := c.newCustomer(map[string]any{"full_name": "José Müller"})
			expectOK(t, c.do("POST", "/cms/api/v1/kyc/add-kyc-data", kycBody(id, map[string]any{"full_name": "José Müller"})), 200)
			expectOK(t, c.do("GET", "/cms/api/v1/customer/"+id, nil), 200)
		})
	}
}

func TestJSReplacerSignatureNeedsOptIn(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	id := c.newCustomer(nil)
	js := e.client()
	js.form = signature.FormJSReplacer
	body := kycBody(id, nil) // has nested document_details: the JS form drops its keys
	r := js.do("POST", "/cms/api/v1/kyc/add-kyc-data", body)
	expectErr(t, r, 401, "", "Invalid Signature")
	if r.ErrCode != "signature_mismatch_nested_unsigned" {
		t.Fatalf("err_code = %q, want signature_mismatch_nested_unsigned", r.ErrCode)
	}
	// A flat body signs the same in every form, so the JS snippet works.
	expectOK(t, js.do("POST", "/cms/api/v1/customer/create", map[string]any{
		"full_name": "Flat Body", "email": "flat@example.com", "phone": "9812345678", "alpha_3_country_code": "IND",
	}), 200)

	if err := e.Store.Update(t.Context(), func(tx offramp.Tx) error { return tx.SetOrgJSReplacer(t.Context(), e.Org.ID, true) }); err != nil {
		t.Fatal(err)
	}
	expectOK(t, js.do("POST", "/cms/api/v1/kyc/add-kyc-data", body), 200)
	if !strings.Contains(e.logs.String(), "unsigned nested keys") {
		t.Fatal("accepting the JavaScript form was not logged")
	}
}

func TestAuthFailures(t *testing.T) {
	e := newEnv(t)
	prod, err := e.Svc.CreateOrg(t.Context(), "Production Exchange", offramp.EnvProduction, "test")
	if err != nil {
		t.Fatal(err)
	}
	now := e.Clock.Now().Unix()
	cases := []struct {
		name  string
		setup func(c *client) map[string]string
		msg   string
	}{
		{"missing key", func(c *client) map[string]string { return map[string]string{"X-API-KEY": ""} }, "Authentication credentials were not provided."},
		{"missing timestamp", func(c *client) map[string]string { return map[string]string{"X-TIMESTAMP": ""} }, "Authentication credentials were not provided."},
		{"missing signature", func(c *client) map[string]string { return map[string]string{"X-SIGNATURE": ""} }, "Authentication credentials were not provided."},
		{"unknown key", func(c *client) map[string]string { c.key = "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"; return nil }, "Invalid API key"},
		{"other environment's key", func(c *client) map[string]string { c.key, c.secret = prod.APIKey, prod.APISecret; return nil }, "Invalid API key"},
		{"wrong secret", func(c *client) map[string]string { c.secret = "not-the-secret"; return nil }, "Invalid Signature"},
		{"truncated signature", func(c *client) map[string]string {
			return map[string]string{"X-SIGNATURE": signature.Sign(c.key, c.secret, strconv.FormatInt(now, 10), []byte("{}"))[:20]}
		}, "Invalid Signature"},
		{"non-base64 signature", func(c *client) map[string]string { return map[string]string{"X-SIGNATURE": "%%%not base64%%%"} }, "Invalid Signature"},
		{"url-safe base64", func(c *client) map[string]string {
			// Find a timestamp whose signature has a + or /, so the
			// URL-safe spelling really differs from the standard one.
			for k := int64(0); k < 200; k++ {
				s := signature.Sign(c.key, c.secret, strconv.FormatInt(now-k, 10), []byte("{}"))
				if strings.ContainsAny(s, "+/") {
					c.ts = now - k
					return map[string]string{"X-SIGNATURE": strings.NewReplacer("+", "-", "/", "_").Replace(s)}
				}
			}
			panic("no signature with + or / in 200 tries")
		}, "Invalid Signature"},
		{"timestamp 301 s old", func(c *client) map[string]string { c.ts = now - 301; return nil }, "Timestamp expired"},
		{"timestamp 301 s ahead", func(c *client) map[string]string { c.ts = now + 301; return nil }, "Timestamp expired"},
		{"timestamp in ms", func(c *client) map[string]string { c.ts = now * 1000; return nil }, "Timestamp expired"},
		{"timestamp not a number", func(c *client) map[string]string { return map[string]string{"X-TIMESTAMP": "yesterday"} }, "Invalid timestamp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client()
			hdr := tc.setup(c)
			r := c.doRaw("GET", "/cms/api/v1/customer/list", nil, hdr)
			expectErr(t, r, 401, "", tc.msg)
			if r.ErrCode != "unauthenticated" {
				t.Fatalf("err_code %q", r.ErrCode)
			}
		})
	}
}

func TestTimestampWindowEdges(t *testing.T) {
	e := newEnv(t)
	now := e.Clock.Now().Unix()
	for _, d := range []int64{-299, 299, -300, 300} {
		c := e.client()
		c.ts = now + d
		expectOK(t, c.do("GET", "/cms/api/v1/customer/list", nil), 200)
	}
}

// signedReq builds a request with fixed headers, as a client library
// sending the same request again would.
func signedReq(t *testing.T, c *client, method, url string, body []byte, ts string) func() *http.Request {
	t.Helper()
	toSign := body
	if len(toSign) == 0 {
		toSign = []byte("{}")
	}
	canon, err := signature.Canonicalize(toSign, signature.FormPythonDefault)
	if err != nil {
		t.Fatal(err)
	}
	sig := signature.Sign(c.key, c.secret, ts, canon)
	return func() *http.Request {
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-KEY", c.key)
		req.Header.Set("X-TIMESTAMP", ts)
		req.Header.Set("X-SIGNATURE", sig)
		return req
	}
}

// TestSignatureAuthorisesOneRequest: a repeat of a signed mutating request
// (same headers, method, path and body) gets the first answer again and
// has no second effect; the signature authorises no other request, GETs
// included.
func TestSignatureAuthorisesOneRequest(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ts := strconv.FormatInt(e.Clock.Now().Unix(), 10)
	body := []byte(`{"full_name":"Repeat Customer","email":"repeat@example.com","phone":"9812345670","alpha_3_country_code":"IND"}`)
	create := signedReq(t, c, "POST", e.URL+"/cms/api/v1/customer/create", body, ts)

	first := send(t, create())
	expectOK(t, first, 200)
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("the first answer is marked replayed")
	}
	again := send(t, create())
	expectOK(t, again, 200)
	if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Raw) != string(first.Raw) {
		t.Fatalf("repeat: %q %s, want the first answer %s", again.Header.Get("Idempotent-Replayed"), again.Raw, first.Raw)
	}
	if n := c.do("GET", "/cms/api/v1/customer/list", nil).obj(t)["count"].(float64); n != 1 {
		t.Fatalf("%v customers after a repeated create, want 1", n)
	}

	// The same signature on another path, or with another method: 401.
	other := signedReq(t, c, "POST", e.URL+"/org/api/v1/organizations/api-webhooks", body, ts)
	expectErr(t, send(t, other()), 401, "", "Signature already used")
	patch := signedReq(t, c, "PATCH", e.URL+"/cms/api/v1/customer/create", body, ts)
	if r := send(t, patch()); r.Code == 200 {
		t.Fatalf("PATCH with a POST's signature: %d %s", r.Code, r.Raw)
	}

	// A refusal is an answer too: repeated, it is the same refusal.
	bad := signedReq(t, c, "POST", e.URL+"/cms/api/v1/customer/create", []byte(`{"full_name":"No Email"}`), ts)
	r1 := send(t, bad())
	r2 := send(t, bad())
	if r1.Code != 400 || r2.Code != 400 || string(r1.Raw) != string(r2.Raw) || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeated refusal: %d %s / %d %s", r1.Code, r1.Raw, r2.Code, r2.Raw)
	}

	// The create's headers and body sent as a GET: the read is refused.
	asGet := signedReq(t, c, "GET", e.URL+"/pos/api/v1/payout/fetch-rate", body, ts)
	expectErr(t, send(t, asGet()), 401, "", "Signature already used")

	// A GET's headers (its signature covers {}) authorise every read of
	// their second, as DollarPe's scheme makes them, and no write.
	e.Clock.Advance(time.Second)
	ts2 := strconv.FormatInt(e.Clock.Now().Unix(), 10)
	list := signedReq(t, c, "GET", e.URL+"/cms/api/v1/customer/list", nil, ts2)
	expectOK(t, send(t, list()), 200)
	expectOK(t, send(t, list()), 200)
	page2 := signedReq(t, c, "GET", e.URL+"/cms/api/v1/customer/list?page=2", nil, ts2)
	if r := send(t, page2()); r.Code != 200 {
		t.Fatalf("a second read in the same second: %d %s", r.Code, r.Raw)
	}
	for _, target := range []struct{ method, path string }{
		{"POST", "/org/api/v1/webhooks/events/" + uuid.NewString() + "/replay"},
		{"POST", "/org/api/v1/webhooks/replay"},
		{"POST", "/cms/api/v1/customer/create"},
		{"PATCH", "/pos/api/v1/payout/update-transfer-id"},
		{"PATCH", "/cms/api/v1/kyc/update-tax-info"},
	} {
		// The read's headers as they are, without a body: refused.
		borrowed := signedReq(t, c, target.method, e.URL+target.path, nil, ts2)
		expectErr(t, send(t, borrowed()), 401, "", "Signature already used")
		// With a body of {} (what the read signed, and what a client
		// sends to see a documented error): answered, never acted on.
		empty := signedReq(t, c, target.method, e.URL+target.path, []byte("{}"), ts2)
		if r := send(t, empty()); r.Code/100 == 2 || r.Code == 401 {
			t.Fatalf("%s %s with a read's signature and {}: %d %s", target.method, target.path, r.Code, r.Raw)
		}
	}
}

// TestConcurrentRepeatsGetOneAnswer: identical signed requests sent at
// once (a double click, two workers, a retry racing the original) make
// one quotation, or one payout, and every copy gets its answer.
func TestConcurrentRepeatsGetOneAnswer(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ps := c.readyForPayout("")
	ts := strconv.FormatInt(e.Clock.Now().Unix(), 10)
	quote := signedReq(t, c, "POST", e.URL+"/pos/api/v1/payout/quotation",
		mustJSON(t, map[string]any{"asset": "USDT", "fiat": "INR", "sending_amount": "25", "customer_id": ps.customer, "bank_id": ps.bank}), ts)
	all := func(mk func() *http.Request, n int) []resp {
		out := make([]resp, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			req := mk()
			wg.Go(func() {
				<-start
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				out[i] = resp{Code: res.StatusCode, Header: res.Header, Raw: b}
			})
		}
		close(start)
		wg.Wait()
		return out
	}
	qs := all(quote, 3)
	id := ""
	replayed := 0
	for _, r := range qs {
		if r.Code != 200 {
			t.Fatalf("quotation copy: %d %s", r.Code, r.Raw)
		}
		var got struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.Raw, &got); err != nil {
			t.Fatal(err)
		}
		if id == "" {
			id = got.Data.ID
		}
		if got.Data.ID != id {
			t.Fatalf("copies answered with quotations %s and %s", id, got.Data.ID)
		}
		if r.Header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	if replayed != 2 {
		t.Fatalf("%d of 3 copies marked replayed, want 2", replayed)
	}

	initiate := signedReq(t, c, "POST", e.URL+"/pos/api/v1/payout/initiate",
		mustJSON(t, map[string]any{"quotation_id": id, "customer_id": ps.customer, "exchange_order_id": "repeat-order-1"}), ts)
	ps1 := all(initiate, 2)
	if ps1[0].Code != 201 || ps1[1].Code != 201 || string(ps1[0].Raw) != string(ps1[1].Raw) {
		t.Fatalf("initiate copies: %d %s / %d %s", ps1[0].Code, ps1[0].Raw, ps1[1].Code, ps1[1].Raw)
	}
	// And once more later, after both answered.
	if r := send(t, initiate()); r.Code != 201 || string(r.Raw) != string(ps1[0].Raw) || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("late repeat: %d %s", r.Code, r.Raw)
	}
	h := c.do("GET", "/pos/api/v1/payout/history", nil)
	var page struct {
		Data struct {
			Count int `json:"count"`
		} `json:"data"`
	}
	if err := json.Unmarshal(h.Raw, &page); err != nil || page.Data.Count != 1 {
		t.Fatalf("history after repeated initiations: %s, want 1 payout", h.Raw)
	}
}

func TestMalformedBodies(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for name, body := range map[string]string{
		"duplicate keys": `{"full_name":"A","email":"a@example.com","email":"b@example.com","phone":"9811111111","alpha_3_country_code":"IND"}`,
		"not JSON":       `{"full_name":`,
		"deep nesting":   strings.Repeat("[", 10000),
		"invalid UTF-8":  "{\"full_name\":\"\xff\"}",
		"lone surrogate": `{"full_name":"\ud800"}`,
	} {
		t.Run(name, func(t *testing.T) {
			r := c.doRaw("POST", "/cms/api/v1/customer/create", []byte(body), nil)
			if r.Code != 400 || r.Status || r.ErrCode != "invalid_request" {
				t.Fatalf("want 400 invalid_request, got %d %s", r.Code, r.Raw)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	big := append([]byte(`{"full_name":"`), bytes.Repeat([]byte("a"), 1<<20)...)
	big = append(big, `"}`...)
	r := c.doRaw("POST", "/cms/api/v1/customer/create", big, nil)
	if r.Code != 413 || r.ErrCode != "payload_too_large" {
		t.Fatalf("want 413, got %d %.200s", r.Code, r.Raw)
	}
}

func TestEnvelopeForUnknownRoutesAndMethods(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := c.do("GET", "/pos/api/v1/nothing-here", nil)
	expectErr(t, r, 404, "", "Not found.")
	if r.Header.Get("X-Request-ID") == "" {
		t.Fatal("404 without X-Request-ID")
	}
	r = c.do("DELETE", "/cms/api/v1/customer/create", nil)
	if r.Code != 405 || r.Status {
		t.Fatalf("want 405 envelope, got %d %s", r.Code, r.Raw)
	}
	// A caller's request id is kept, a bad one replaced.
	r = c.doRaw("GET", "/cms/api/v1/customer/list", nil, map[string]string{"X-Request-ID": "exchange-req-12345"})
	if got := r.Header.Get("X-Request-ID"); got != "exchange-req-12345" {
		t.Fatalf("X-Request-ID = %q", got)
	}
	r = c.doRaw("GET", "/cms/api/v1/customer/list", nil, map[string]string{"X-Request-ID": "bad id\twith tab"})
	if got := r.Header.Get("X-Request-ID"); got == "" || strings.ContainsAny(got, " \t") {
		t.Fatalf("X-Request-ID = %q", got)
	}
}

func TestStorageDownIsUnavailable(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	id := c.newCustomer(nil)
	// Take the storage away under the server: requests must fail cleanly
	// with a retryable 503, not hang or leak the cause.
	e.storeClosed = true
	e.Store.Close()
	r := c.do("GET", "/cms/api/v1/customer/"+id, nil)
	if r.Code != 503 || r.Status || r.ErrCode != "unavailable" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("want 503 with Retry-After, got %d %s", r.Code, r.Raw)
	}
	res, err := http.Get(e.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 503 {
		t.Fatalf("/readyz with storage down: %d", res.StatusCode)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		res, err := http.Get(e.URL + p)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, err, res)
		}
		res.Body.Close()
	}
	e.client().do("GET", "/cms/api/v1/customer/list", nil)
	res, err := http.Get(e.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	if !strings.Contains(b.String(), `offramp_http_requests_total{code="200",method="GET",route="GET /cms/api/v1/customer/list"}`) {
		t.Fatalf("metrics lack the request counter:\n%.2000s", b.String())
	}
}

// TestRepeatOfAStuckRequest: a request whose work committed but whose
// answer was never stored (the server died in between) leaves its record
// running; a repeat waits for the answer, then gets 409 with Retry-After,
// and never runs the request a second time.
func TestRepeatOfAStuckRequest(t *testing.T) {
	// The wait is cut short: the record never finishes, however long the
	// repeat waited.
	e := newEnv(t, func(o *envOpts) { o.repeatWait = time.Millisecond })
	c := e.client()
	ts := strconv.FormatInt(e.Clock.Now().Unix(), 10)
	body := []byte(`{"full_name":"Stuck Customer","email":"stuck@example.com","phone":"9812345671","alpha_3_country_code":"IND"}`)
	create := signedReq(t, c, "POST", e.URL+"/cms/api/v1/customer/create", body, ts)
	sig := create().Header.Get("X-SIGNATURE")
	err := e.Store.Update(t.Context(), func(tx offramp.Tx) error {
		_, err := tx.UseSignature(t.Context(), offramp.SignatureRecord{OrgID: e.Org.ID, Signature: sig, Method: "POST",
			Target: "/cms/api/v1/customer/create", State: offramp.SignatureRunning, ExpiresAt: e.Clock.Now().Add(6 * time.Minute)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r := send(t, create())
	expectErr(t, r, 409, "", "A request with this signature is still being processed; send it again shortly to get its answer.")
	if r.ErrCode != "request_in_progress" || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("stuck repeat: %s, Retry-After %q", r.Raw, r.Header.Get("Retry-After"))
	}
	if n := c.do("GET", "/cms/api/v1/customer/list", nil).obj(t)["count"].(float64); n != 0 {
		t.Fatalf("the repeat of a stuck request ran it: %v customers", n)
	}
}
