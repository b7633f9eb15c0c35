package httpapi_test

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"

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

func TestMutatingSignatureIsSingleUse(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	body := []byte(`{"webhook_url":"https://exchange.example/hooks"}`)
	ts := strconv.FormatInt(e.Clock.Now().Unix(), 10)
	canon, _ := signature.Canonicalize(body, signature.FormPythonDefault)
	sig := signature.Sign(c.key, c.secret, ts, canon)
	mk := func(path string) *http.Request {
		req, _ := http.NewRequest("POST", e.URL+path, bytes.NewReader(body))
		req.Header.Set("X-API-KEY", c.key)
		req.Header.Set("X-TIMESTAMP", ts)
		req.Header.Set("X-SIGNATURE", sig)
		return req
	}
	expectOK(t, send(t, mk("/org/api/v1/organizations/api-webhooks")), 200)
	expectErr(t, send(t, mk("/org/api/v1/organizations/api-webhooks")), 401, "", "Signature already used")
	// The same signature on another path is the same replay.
	expectErr(t, send(t, mk("/cms/api/v1/customer/create")), 401, "", "Signature already used")

	// GETs are reads: repeating one is harmless and allowed.
	get := func() *http.Request {
		req, _ := http.NewRequest("GET", e.URL+"/cms/api/v1/customer/list", nil)
		req.Header.Set("X-API-KEY", c.key)
		req.Header.Set("X-TIMESTAMP", ts)
		req.Header.Set("X-SIGNATURE", signature.Sign(c.key, c.secret, ts, []byte("{}")))
		return req
	}
	expectOK(t, send(t, get()), 200)
	expectOK(t, send(t, get()), 200)
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
