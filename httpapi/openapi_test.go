package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/httpapi/openapi"
)

// routedOperations mirrors routes() in server.go: every METHOD and pattern
// the server routes (in sandbox). Add a route there, add it here and to
// openapi/openapi.json.
var routedOperations = []string{
	"POST /cms/api/v1/customer/create",
	"GET /cms/api/v1/customer/list",
	"GET /cms/api/v1/customer/{customer_id}",
	"GET /cms/api/v1/kyc/configuration/{customer_id}",
	"POST /cms/api/v1/kyc/add-kyc-data",
	"PATCH /cms/api/v1/kyc/update-tax-info",
	"POST /cms/api/v1/kyc/update-tax-info",
	"PATCH /cms/api/v1/kyc/update-document-info",
	"POST /cms/api/v1/kyc/update-document-info",
	"PATCH /cms/api/v1/kyc/update-selfie-info",
	"POST /cms/api/v1/kyc/update-selfie-info",
	"PATCH /cms/api/v1/kyc/update-additional-info",
	"POST /cms/api/v1/kyc/update-additional-info",
	"POST /cms/api/v1/kyc/reset-kyc",
	"POST /cms/api/v1/kyc/generate-link",
	"POST /cms/api/v1/bank/create",
	"POST /cms/api/v1/bank/add-account",
	"GET /cms/api/v1/bank/list/{customer_id}",
	"GET /cms/api/v1/bank/{customer_id}/{bank_id}",
	"GET /pos/api/v1/payout/configuration",
	"GET /pos/api/v1/payout/fetch-rate",
	"POST /pos/api/v1/payout/fetch-rate",
	"POST /pos/api/v1/payout/quotation",
	"GET /pos/api/v1/payout/quotation/{quotation_id}",
	"POST /pos/api/v1/payout/initiate",
	"GET /pos/api/v1/payout/history",
	"PATCH /pos/api/v1/payout/update-transfer-id",
	"GET /pos/api/v1/payout/{payout_id}",
	"GET /ren/api/v1/payout/limits/{customer_id}",
	"POST /ren/api/v1/payout/edd/save",
	"POST /org/api/v1/organizations/api-webhooks",
	"GET /org/api/v1/organizations/api-webhooks",
	"GET /org/api/v1/webhooks/events",
	"GET /org/api/v1/webhooks/events/{webhook_id}",
	"POST /org/api/v1/webhooks/events/{webhook_id}/replay",
	"POST /org/api/v1/webhooks/replay",
	// Sandbox only.
	"PATCH /cms/api/v1/kyc/mock-kyc-status",
	"POST /cms/api/v1/bank/mock-bank-verification",
	"PATCH /pos/api/v1/payout/mock-payout-status",
	"GET /sandbox/kyc/{token}",
	"POST /sandbox/kyc/{token}",
	// Unsigned operations endpoints.
	"GET /healthz",
	"GET /readyz",
	"GET /metrics",
	"GET /openapi.json",
}

var sandboxOnlyOperations = []string{
	"PATCH /cms/api/v1/kyc/mock-kyc-status",
	"POST /cms/api/v1/bank/mock-bank-verification",
	"PATCH /pos/api/v1/payout/mock-payout-status",
	"GET /sandbox/kyc/{token}",
	"POST /sandbox/kyc/{token}",
}

var unsignedOperations = []string{
	"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json",
	"GET /sandbox/kyc/{token}", "POST /sandbox/kyc/{token}",
}

func mustConformance(t *testing.T) *conformance {
	t.Helper()
	c, err := loadConformance()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return c
}

func opNames(c *conformance) []string {
	var out []string
	for _, op := range c.ops {
		out = append(out, op.String())
	}
	return out
}

// TestOpenAPIDocument checks what can be checked cheaply that the document
// is a valid OpenAPI 3.1 document, and the rules Offramp's document keeps.
func TestOpenAPIDocument(t *testing.T) {
	c := mustConformance(t)
	if c.doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", c.doc["openapi"])
	}
	info, _ := c.doc["info"].(map[string]any)
	if info["title"] != "Offramp" || info["version"] == nil || info["version"] == "" {
		t.Errorf("info: title %v, version %v", info["title"], info["version"])
	}

	// Every $ref resolves; every schema compiles (the compiler validates
	// it against the JSON Schema 2020-12 metaschema).
	var walk func(node any, ptr string)
	walk = func(node any, ptr string) {
		switch n := node.(type) {
		case map[string]any:
			if r, ok := n["$ref"].(string); ok {
				if !strings.HasPrefix(r, "#/") {
					t.Errorf("%s: $ref %q is not local", ptr, r)
				} else if _, err := c.lookup(strings.TrimPrefix(r, "#")); err != nil {
					t.Errorf("%s: $ref %q does not resolve: %v", ptr, r, err)
				}
			}
			if s, ok := n["schema"]; ok {
				if _, isObj := s.(map[string]any); isObj {
					if _, err := c.schema(ptr + "/schema"); err != nil {
						t.Errorf("%s/schema: %v", ptr, err)
					}
				}
			}
			for k, v := range n {
				walk(v, ptr+"/"+escapePtr(k))
			}
		case []any:
			for i, v := range n {
				walk(v, fmt.Sprintf("%s/%d", ptr, i))
			}
		}
	}
	walk(c.doc, "")
	schemas, _ := c.lookup("/components/schemas")
	for name := range schemas.(map[string]any) {
		if _, err := c.schema("/components/schemas/" + escapePtr(name)); err != nil {
			t.Errorf("components/schemas/%s: %v", name, err)
		}
	}

	// Security: the three headers, required everywhere but the unsigned
	// operations.
	schemes, _ := c.lookup("/components/securitySchemes")
	for name, header := range map[string]string{"ApiKeyAuth": "X-API-KEY", "TimestampAuth": "X-TIMESTAMP", "SignatureAuth": "X-SIGNATURE"} {
		s, _ := schemes.(map[string]any)[name].(map[string]any)
		if s["type"] != "apiKey" || s["in"] != "header" || s["name"] != header {
			t.Errorf("securityScheme %s: %v", name, s)
		}
	}
	global, _ := c.doc["security"].([]any)
	if len(global) != 1 || len(global[0].(map[string]any)) != 3 {
		t.Errorf("global security: %v", global)
	}

	ids := map[string]string{}
	var unsigned, sandboxOnly []string
	for _, op := range c.ops {
		id, _ := op.node["operationId"].(string)
		if id == "" || ids[id] != "" {
			t.Errorf("%s: operationId %q missing or already used by %s", op, id, ids[id])
		}
		ids[id] = op.String()
		if sec, ok := op.node["security"].([]any); ok && len(sec) == 0 {
			unsigned = append(unsigned, op.String())
		}
		if op.node["x-sandbox-only"] == true {
			sandboxOnly = append(sandboxOnly, op.String())
		}

		// Path parameters: exactly the template's, all required.
		var inTemplate, declared []string
		for _, seg := range op.segs {
			if isParam(seg) {
				inTemplate = append(inTemplate, strings.Trim(seg, "{}"))
			}
		}
		params, _ := op.node["parameters"].([]any)
		for i, p := range params {
			pm, _, err := c.deref(p, fmt.Sprintf("%s/parameters/%d", op.ptr, i))
			if err != nil {
				t.Errorf("%s: %v", op, err)
				continue
			}
			if pm["in"] == "path" {
				declared = append(declared, pm["name"].(string))
				if pm["required"] != true {
					t.Errorf("%s: path parameter %v is not required", op, pm["name"])
				}
			}
		}
		slices.Sort(inTemplate)
		slices.Sort(declared)
		if !slices.Equal(inTemplate, declared) {
			t.Errorf("%s: path parameters %v, template has %v", op, declared, inTemplate)
		}

		// Responses: every one carries X-Request-ID; signed operations
		// document the errors every signed call can answer.
		responses, _ := op.node["responses"].(map[string]any)
		if len(responses) == 0 {
			t.Errorf("%s: no responses", op)
		}
		for code, r := range responses {
			rm, rptr, err := c.deref(r, op.ptr+"/responses/"+code)
			if err != nil {
				t.Errorf("%s %s: %v", op, code, err)
				continue
			}
			if h, _ := rm["headers"].(map[string]any); h["X-Request-ID"] == nil {
				t.Errorf("%s %s: no X-Request-ID header", op, code)
			}
			if op.String() != "GET /openapi.json" {
				checkStrictObjects(t, c, rptr, map[string]bool{})
			}
		}
		if !slices.Contains(unsignedOperations, op.String()) {
			want := []string{"400", "401", "403", "413", "429", "500", "503"}
			if slices.Contains(sandboxOnlyOperations, op.String()) {
				want = append(want, "404")
			}
			for _, code := range want {
				if responses[code] == nil {
					t.Errorf("%s: response %s is not documented", op, code)
				}
			}
		}
	}
	if !sameSet(unsigned, unsignedOperations) {
		t.Errorf("unsigned operations (security: []) %v, want %v", unsigned, unsignedOperations)
	}
	if !sameSet(sandboxOnly, sandboxOnlyOperations) {
		t.Errorf("x-sandbox-only operations %v, want %v", sandboxOnly, sandboxOnlyOperations)
	}
	if ib := c.doc["paths"].(map[string]any)["/pos/api/v1/payout/initiate"].(map[string]any)["post"].(map[string]any); !strings.Contains(mustMarshal(t, ib["parameters"]), "idempotency_key") {
		t.Errorf("initiate does not document Idempotency-Key: %v", ib["parameters"])
	}
}

// checkStrictObjects walks every schema under ptr (following $refs): an
// object schema must declare additionalProperties (false when it lists
// properties; a schema for a map), and list only declared properties as
// required.
func checkStrictObjects(t *testing.T, c *conformance, ptr string, seen map[string]bool) {
	t.Helper()
	if seen[ptr] {
		return
	}
	seen[ptr] = true
	node, err := c.lookup(ptr)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	m, ok := node.(map[string]any)
	if !ok {
		return
	}
	if r, ok := m["$ref"].(string); ok {
		checkStrictObjects(t, c, strings.TrimPrefix(r, "#"), seen)
	}
	isObject := m["type"] == "object" || m["properties"] != nil
	if ty, ok := m["type"].([]any); ok && slices.Contains(ty, any("object")) {
		isObject = true
	}
	if isObject {
		ap, has := m["additionalProperties"]
		switch {
		case !has:
			t.Errorf("%s: object schema without additionalProperties", ptr)
		case m["properties"] != nil && ap != false:
			t.Errorf("%s: object schema with properties must have additionalProperties: false", ptr)
		}
		props, _ := m["properties"].(map[string]any)
		req, _ := m["required"].([]any)
		for _, r := range req {
			if _, ok := props[r.(string)]; !ok {
				t.Errorf("%s: required %q is not a property", ptr, r)
			}
		}
	}
	for k, v := range m {
		switch k {
		case "properties", "content", "headers":
			if sub, ok := v.(map[string]any); ok {
				for name := range sub {
					checkStrictObjects(t, c, ptr+"/"+k+"/"+escapePtr(name), seen)
				}
			}
		case "items", "additionalProperties", "schema", "not":
			if _, ok := v.(map[string]any); ok {
				checkStrictObjects(t, c, ptr+"/"+k, seen)
			}
		case "oneOf", "anyOf", "allOf":
			for i := range v.([]any) {
				checkStrictObjects(t, c, fmt.Sprintf("%s/%s/%d", ptr, k, i), seen)
			}
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// concretePath fills a path template's parameters with probe values.
func concretePath(tmpl string) string {
	segs := strings.Split(tmpl, "/")
	for i, s := range segs {
		switch {
		case s == "{token}":
			segs[i] = "probe-token"
		case isParam(s):
			segs[i] = "00000000-0000-4000-8000-000000000000"
		}
	}
	return strings.Join(segs, "/")
}

// probe calls method and path on e's server as a client would: signed
// (with a fresh timestamp and a {} body for a write) unless unsigned.
func probe(e *env, method, path string, unsigned bool) resp {
	e.t.Helper()
	if unsigned {
		var body []byte
		if method != http.MethodGet {
			body = []byte("decision=approve")
		}
		req, err := http.NewRequest(method, e.URL+path, bytes.NewReader(body))
		if err != nil {
			e.t.Fatal(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		return sendRaw(e.t, req)
	}
	var body []byte
	if method != http.MethodGet {
		body = []byte("{}")
		e.Clock.Advance(time.Second) // a signature is single-use
	}
	return e.client().doRaw(method, path, body, nil)
}

// sendRaw is send for answers that are not the API envelope ({"status":
// "ok"} from /healthz does not decode into resp): the exchange is recorded
// the same way, and the body decoded only as far as it is an envelope.
func sendRaw(t testing.TB, req *http.Request) resp {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	recordExchange(t, req, res, b)
	r := resp{Code: res.StatusCode, Header: res.Header, Raw: b}
	if len(b) > 0 && b[0] == '{' {
		var e struct {
			Status  any    `json:"status"`
			Message string `json:"message"`
			ErrCode string `json:"err_code"`
		}
		_ = json.Unmarshal(b, &e)
		r.Status, _ = e.Status.(bool)
		r.Message, r.ErrCode = e.Message, e.ErrCode
	}
	return r
}

func unrouted(r resp) bool {
	return (r.Code == http.StatusNotFound && r.ErrCode == "route_not_found") || r.Code == http.StatusMethodNotAllowed
}

// TestOpenAPIRoutesAreDocumented: every documented operation is routed and
// every route is documented, in both environments.
func TestOpenAPIRoutesAreDocumented(t *testing.T) {
	c := mustConformance(t)
	documented := opNames(c)
	for _, op := range routedOperations {
		if !slices.Contains(documented, op) {
			t.Errorf("routed but not documented: %s", op)
		}
	}
	for _, op := range documented {
		if !slices.Contains(routedOperations, op) {
			t.Errorf("documented but not in routedOperations: %s", op)
		}
	}

	sandbox := newEnv(t)
	production := newEnv(t, func(o *envOpts) { o.env = offramp.EnvProduction })
	for _, op := range c.ops {
		path := concretePath(op.Path)
		unsigned := slices.Contains(unsignedOperations, op.String())
		if r := probe(sandbox, op.Method, path, unsigned); unrouted(r) {
			t.Errorf("documented %s is not routed in sandbox: %d %s", op, r.Code, r.Raw)
		}
		r := probe(production, op.Method, path, unsigned)
		switch sandboxOnly := op.node["x-sandbox-only"] == true; {
		case sandboxOnly && (r.Code != http.StatusNotFound || r.ErrCode != "route_not_found"):
			t.Errorf("sandbox-only %s answers %d in production: %s", op, r.Code, r.Raw)
		case !sandboxOnly && unrouted(r):
			t.Errorf("documented %s is not routed in production: %d %s", op, r.Code, r.Raw)
		}
	}

	// Every other method on a documented path must be unrouted, unless
	// the concrete path is served by another documented operation (GET
	// /customer/create is GET /customer/{customer_id}).
	seen := map[string]bool{}
	for _, op := range c.ops {
		if seen[op.Path] {
			continue
		}
		seen[op.Path] = true
		path := concretePath(op.Path)
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if other, _ := c.find(m, path); other != nil {
				continue
			}
			if r := probe(sandbox, m, path, false); !unrouted(r) {
				t.Errorf("%s %s is routed (%d %s) but not documented", m, path, r.Code, r.Raw)
			}
		}
	}
}

// TestOpenAPIUnsignedEndpoints exercises the unsigned endpoints through the
// harness, so that their answers are checked against the document too.
func TestOpenAPIUnsignedEndpoints(t *testing.T) {
	e := newEnv(t)
	get := func(path string) resp {
		req, err := http.NewRequest(http.MethodGet, e.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return sendRaw(t, req)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if r := get(p); r.Code != http.StatusOK {
			t.Fatalf("%s: %d", p, r.Code)
		}
	}
	c := e.client()
	id := c.newCustomer(nil)
	r := c.do("POST", "/cms/api/v1/kyc/generate-link", map[string]any{"customer_id": id, "redirect_url": "https://exchange.example/kyc-done"})
	expectOK(t, r, 200)
	link, err := url.Parse(r.obj(t)["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if page := get(link.Path); page.Code != http.StatusOK {
		t.Fatalf("KYC page: %d", page.Code)
	}
	req, _ := http.NewRequest(http.MethodPost, e.URL+link.Path, strings.NewReader(url.Values{"decision": {"reject"}, "reason": {"TAX_VERIFICATION_FAILED"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res := send(t, req); res.Code != http.StatusOK {
		t.Fatalf("KYC decision: %d %s", res.Code, res.Raw)
	}
	if s, reason := c.customerStatus(id); s != "FAILED" || reason != "TAX_VERIFICATION_FAILED" {
		t.Fatalf("after rejection: %s %v", s, reason)
	}
}

// TestOpenAPIServed: GET /openapi.json serves the embedded document,
// cacheably.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodGet, e.URL+"/openapi.json", nil)
	r := send(t, req)
	if r.Code != http.StatusOK || r.Header.Get("Content-Type") != "application/json" || !bytes.Equal(r.Raw, openapi.Document) {
		t.Fatalf("GET /openapi.json: %d %q, %d bytes (want %d)", r.Code, r.Header.Get("Content-Type"), len(r.Raw), len(openapi.Document))
	}
	etag := r.Header.Get("ETag")
	if etag == "" || !strings.Contains(r.Header.Get("Cache-Control"), "max-age") {
		t.Fatalf("not cacheable: ETag %q, Cache-Control %q", etag, r.Header.Get("Cache-Control"))
	}
	req, _ = http.NewRequest(http.MethodGet, e.URL+"/openapi.json", nil)
	req.Header.Set("If-None-Match", etag)
	if r := send(t, req); r.Code != http.StatusNotModified || len(r.Raw) != 0 {
		t.Fatalf("revalidation: %d, %d bytes", r.Code, len(r.Raw))
	}
	var doc map[string]any
	if err := json.Unmarshal(r.Raw, &doc); err != nil || doc["openapi"] != "3.1.0" {
		t.Fatalf("served document: %v", err)
	}
}

// TestOpenAPIConformanceCheckHasTeeth: the check TestMain runs catches a
// response with an undeclared field, one without a required field, and
// the other ways an exchange can stray from the document.
func TestOpenAPIConformanceCheckHasTeeth(t *testing.T) {
	conf := mustConformance(t)
	e := newEnv(t)
	c := e.client()
	id := c.newCustomer(nil)
	got := c.do("GET", "/cms/api/v1/customer/"+id, nil)
	expectOK(t, got, 200)
	base := exchange{Test: t.Name(), Method: "GET", Path: "/cms/api/v1/customer/" + id,
		ReqHeader: http.Header{}, Status: got.Code, RespHeader: got.Header.Clone(), RespBody: got.Raw}
	if op, problems := conf.check(base); op == nil || op.String() != "GET /cms/api/v1/customer/{customer_id}" || len(problems) > 0 {
		t.Fatalf("the real response does not pass: %v %v", op, problems)
	}
	edit := func(f func(data map[string]any)) []byte {
		var body map[string]any
		if err := json.Unmarshal(got.Raw, &body); err != nil {
			t.Fatal(err)
		}
		f(body["data"].(map[string]any))
		return mustJSON(t, body)
	}
	expectProblem := func(name string, x exchange, want string) {
		t.Helper()
		_, problems := conf.check(x)
		if !strings.Contains(strings.Join(problems, "\n"), want) {
			t.Errorf("%s: want a problem mentioning %q, got %q", name, want, problems)
		}
	}

	x := base
	x.RespBody = edit(func(d map[string]any) { d["surprise"] = 1 })
	expectProblem("undeclared field", x, "surprise")

	x = base
	x.RespBody = edit(func(d map[string]any) { delete(d, "email") })
	expectProblem("missing required field", x, "email")

	x = base
	x.RespBody = edit(func(d map[string]any) { d["status"] = "ARCHIVED" })
	expectProblem("value outside the enum", x, "/data/status")

	x = base
	x.RespBody = edit(func(d map[string]any) { d["failure_reason"] = 7 })
	expectProblem("wrong type", x, "/data/failure_reason")

	x = base
	x.Status = http.StatusTeapot
	expectProblem("undocumented status", x, "status 418 is not documented")

	x = base
	x.RespHeader = got.Header.Clone()
	x.RespHeader.Del("X-Request-ID")
	expectProblem("missing header", x, "X-Request-ID")

	x = base
	x.RespHeader = got.Header.Clone()
	x.RespHeader.Set("Content-Type", "text/plain")
	expectProblem("undocumented content type", x, "Content-Type")

	x = base
	x.Path = "/cms/api/v1/customers/" + id
	expectProblem("undocumented path", x, "matches no documented operation")

	x = base
	x.Query = "page=2"
	expectProblem("undeclared query parameter", x, `query parameter "page" is not documented`)

	// The request side: a body the server accepted that breaks the
	// documented request schema.
	created := exchange{Test: t.Name(), Method: "POST", Path: "/cms/api/v1/customer/create",
		ReqHeader: http.Header{"Content-Type": {"application/json"}},
		ReqBody:   []byte(`{"full_name":"A B","email":"a@example.com","phone":"9800000009","alpha_3_country_code":"IND","non_residence_status":7}`),
		Status:    got.Code, RespHeader: got.Header.Clone(), RespBody: got.Raw}
	expectProblem("request body", created, "non_residence_status")
	created.ReqBody = []byte(`{"full_name":"A B","email":"a@example.com","alpha_3_country_code":"IND"}`)
	expectProblem("request without a required field", created, "phone")
}
