package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/offramp/offramp/httpapi/openapi"
	"github.com/offramp/offramp/sqlstore/pgtest"
)

// TestMain runs the suite, then checks every request and response the suite
// made through send (harness_test.go) against the OpenAPI document: the
// document is kept true by the whole HTTP test suite, not by a sample.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		code = checkRecordedExchanges(os.Stdout)
	}
	if err := pgtest.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the test PostgreSQL:", err)
	}
	os.Exit(code)
}

// TestPostgresEngine runs this whole suite a second time, in a child
// process, with every test environment on PostgreSQL instead of SQLite: the
// same HTTP, engine and webhook tests, and the same OpenAPI check, on both
// engines in one `go test` run.
func TestPostgresEngine(t *testing.T) {
	if os.Getenv(engineEnv) != "" {
		t.Skip("this is the PostgreSQL run")
	}
	if testing.Short() {
		t.Skip("the PostgreSQL pass of the suite is long")
	}
	args := []string{"-test.skip", "^TestPostgresEngine$|^Benchmark"}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout", time.Until(d).Round(time.Second).String())
	}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), engineEnv+"=postgres")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the suite failed on PostgreSQL: %v\n%s", err, lastLines(string(out), 120))
	}
	t.Logf("on PostgreSQL: %s", lastLines(string(out), 3))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// exchange is one request and its response, as the suite made them.
type exchange struct {
	Test       string
	Method     string
	Path       string // as sent: escaped
	Query      string
	ReqHeader  http.Header
	ReqBody    []byte
	Status     int
	RespHeader http.Header
	RespBody   []byte
}

func (x exchange) String() string {
	target := x.Path
	if x.Query != "" {
		target += "?" + x.Query
	}
	return fmt.Sprintf("%s %s -> %d (%s)", x.Method, target, x.Status, x.Test)
}

var recorded struct {
	mu  sync.Mutex
	all []exchange
}

// recordExchange keeps one exchange for the conformance check. send calls
// it with the response body it read; the request body is read again through
// GetBody (set by http.NewRequest for in-memory bodies).
func recordExchange(t testing.TB, req *http.Request, res *http.Response, body []byte) {
	var reqBody []byte
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			reqBody, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	x := exchange{
		Test: t.Name(), Method: req.Method, Path: req.URL.EscapedPath(), Query: req.URL.RawQuery,
		ReqHeader: req.Header.Clone(), ReqBody: reqBody,
		Status: res.StatusCode, RespHeader: res.Header.Clone(), RespBody: body,
	}
	recorded.mu.Lock()
	recorded.all = append(recorded.all, x)
	recorded.mu.Unlock()
}

// checkRecordedExchanges validates every recorded exchange, prints the
// violations and a summary, and returns the exit code.
func checkRecordedExchanges(w io.Writer) int {
	recorded.mu.Lock()
	all := recorded.all
	recorded.mu.Unlock()
	if len(all) == 0 {
		fmt.Fprintln(w, "openapi: no exchanges recorded (every test filtered out); conformance not checked")
		return 0
	}
	c, err := loadConformance()
	if err != nil {
		fmt.Fprintf(w, "openapi: the document does not load: %v\n", err)
		return 1
	}
	covered := map[*operation]int{}
	succeeded := map[*operation]bool{}
	failed, unrouted := 0, 0
	for _, x := range all {
		op, problems := c.check(x)
		if op != nil {
			covered[op]++
			succeeded[op] = succeeded[op] || x.Status/100 == 2
		} else if len(problems) == 0 {
			unrouted++
		}
		if len(problems) > 0 {
			failed++
			fmt.Fprintf(w, "openapi: %s does not conform:\n", x)
			for _, p := range problems {
				fmt.Fprintf(w, "    %s\n", strings.ReplaceAll(p, "\n", "\n    "))
			}
		}
	}
	fmt.Fprintf(w, "openapi: %d exchanges over %d operations validated (%d of them answered 404/405 for an undocumented route)\n",
		len(all), len(covered), unrouted)
	if filtered() {
		fmt.Fprintln(w, "openapi: tests were filtered: operations not exercised are not listed")
	} else {
		var missing, neverOK []string
		for _, op := range c.ops {
			switch {
			case covered[op] == 0:
				missing = append(missing, op.String())
			case !succeeded[op]:
				neverOK = append(neverOK, op.String())
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(w, "openapi: %d documented operations no test exercised (informational): %s\n", len(missing), strings.Join(missing, ", "))
		}
		if len(neverOK) > 0 {
			fmt.Fprintf(w, "openapi: %d documented operations exercised only with errors, no success response checked (informational): %s\n", len(neverOK), strings.Join(neverOK, ", "))
		}
	}
	if failed > 0 {
		fmt.Fprintf(w, "openapi: FAIL: %d of %d exchanges do not conform to httpapi/openapi/openapi.json\n", failed, len(all))
		return 1
	}
	return 0
}

// filtered reports whether -run or -skip narrowed the tests.
func filtered() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return true
		}
	}
	return false
}

// conformance validates exchanges against the OpenAPI document. Its schemas
// are compiled with the document itself as the JSON Schema resource, so that
// component $refs resolve (OpenAPI 3.1 schemas are JSON Schema 2020-12).
type conformance struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	schemas  map[string]*jsonschema.Schema // by JSON pointer
	ops      []*operation
}

// operation is one documented method and path template.
type operation struct {
	Method string // upper case
	Path   string // template, "/cms/api/v1/customer/{customer_id}"
	ptr    string // JSON pointer to the operation object
	node   map[string]any
	segs   []string
}

func (o *operation) String() string { return o.Method + " " + o.Path }

// docURL names the document as a JSON Schema resource; it is never fetched.
const docURL = "https://offramp.invalid/openapi.json"

var loadConformance = sync.OnceValues(func() (*conformance, error) { return newConformance(openapi.Document) })

func newConformance(document []byte) (*conformance, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(document))
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("the document is not a JSON object")
	}
	comp := jsonschema.NewCompiler()
	comp.DefaultDraft(jsonschema.Draft2020)
	comp.AssertFormat()
	if err := comp.AddResource(docURL, doc); err != nil {
		return nil, err
	}
	c := &conformance{doc: doc, compiler: comp, schemas: map[string]*jsonschema.Schema{}}
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		methods, _ := item.(map[string]any)
		for method, node := range methods {
			n, ok := node.(map[string]any)
			if !ok || !slices.Contains([]string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}, method) {
				continue
			}
			c.ops = append(c.ops, &operation{
				Method: strings.ToUpper(method), Path: path, node: n,
				ptr:  "/paths/" + escapePtr(path) + "/" + method,
				segs: strings.Split(strings.TrimPrefix(path, "/"), "/"),
			})
		}
	}
	sort.Slice(c.ops, func(i, j int) bool {
		if c.ops[i].Path != c.ops[j].Path {
			return c.ops[i].Path < c.ops[j].Path
		}
		return c.ops[i].Method < c.ops[j].Method
	})
	return c, nil
}

func escapePtr(token string) string {
	return strings.ReplaceAll(strings.ReplaceAll(token, "~", "~0"), "/", "~1")
}

// lookup returns the node at a JSON pointer ("/components/schemas/X").
func (c *conformance) lookup(ptr string) (any, error) {
	var node any = c.doc
	if ptr == "" {
		return node, nil
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n := node.(type) {
		case map[string]any:
			v, ok := n[tok]
			if !ok {
				return nil, fmt.Errorf("%s: no %q", ptr, tok)
			}
			node = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil, fmt.Errorf("%s: no index %q", ptr, tok)
			}
			node = n[i]
		default:
			return nil, fmt.Errorf("%s: %q is under a scalar", ptr, tok)
		}
	}
	return node, nil
}

// deref follows OpenAPI $refs (to responses, parameters, headers...) and
// returns the object and its pointer.
func (c *conformance) deref(node any, ptr string) (map[string]any, string, error) {
	for range 10 {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, ptr, fmt.Errorf("%s is not an object", ptr)
		}
		r, ok := m["$ref"].(string)
		if !ok {
			return m, ptr, nil
		}
		if !strings.HasPrefix(r, "#") {
			return nil, ptr, fmt.Errorf("%s: external $ref %q", ptr, r)
		}
		ptr = strings.TrimPrefix(r, "#")
		var err error
		if node, err = c.lookup(ptr); err != nil {
			return nil, ptr, err
		}
	}
	return nil, ptr, fmt.Errorf("%s: $ref loop", ptr)
}

// schema compiles (once) the JSON Schema at a pointer into the document.
func (c *conformance) schema(ptr string) (*jsonschema.Schema, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.schemas[ptr]; ok {
		return s, nil
	}
	frag := (&url.URL{Fragment: ptr}).EscapedFragment()
	s, err := c.compiler.Compile(docURL + "#" + frag)
	if err != nil {
		return nil, err
	}
	c.schemas[ptr] = s
	return s, nil
}

// find returns the operation serving method and (escaped) path, preferring
// literal segments over parameters as ServeMux does, and whether the path is
// documented for some other method. HEAD is served by the GET operation.
func (c *conformance) find(method, path string) (op *operation, otherMethod bool) {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, s := range segs {
		if u, err := url.PathUnescape(s); err == nil {
			segs[i] = u
		}
	}
	for _, o := range c.ops {
		if !matchSegs(o.segs, segs) {
			continue
		}
		if o.Method != method {
			otherMethod = true
			continue
		}
		if op == nil || moreSpecific(o.segs, op.segs) {
			op = o
		}
	}
	return op, otherMethod
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

func matchSegs(tmpl, segs []string) bool {
	if len(tmpl) != len(segs) {
		return false
	}
	for i, t := range tmpl {
		if isParam(t) {
			if segs[i] == "" {
				return false
			}
		} else if t != segs[i] {
			return false
		}
	}
	return true
}

// moreSpecific: at the first position where one has a literal and the other
// a parameter, the literal wins.
func moreSpecific(a, b []string) bool {
	for i := range a {
		if pa, pb := isParam(a[i]), isParam(b[i]); pa != pb {
			return !pa
		}
	}
	return false
}

// refusedUnread are the error codes with which the server refuses a request
// before acting on its content (malformed or invalid body, failed
// authentication, no such route, too large, throttled, from outside the
// IP allowlist). The request side of such an exchange is not checked: the
// server agreed it was not a valid request.
var refusedUnread = map[string]bool{
	"invalid_request": true, "unauthenticated": true, "signature_mismatch_nested_unsigned": true,
	"route_not_found": true, "method_not_allowed": true, "payload_too_large": true,
	"throttled": true, "ip_not_allowed": true,
}

// errCode is the err_code of a JSON error body, or "".
func errCode(body []byte) string {
	var e struct {
		ErrCode string `json:"err_code"`
	}
	_ = json.Unmarshal(body, &e)
	return e.ErrCode
}

// check validates one exchange and returns the operation it exercised (nil
// when it matched none) and every problem found.
func (c *conformance) check(x exchange) (*operation, []string) {
	op, other := c.find(x.Method, x.Path)
	if op == nil {
		// A request for an undocumented route must be answered as one,
		// in the documented error envelope.
		code := errCode(x.RespBody)
		switch {
		case x.Status == http.StatusNotFound && code == "route_not_found":
			return nil, c.checkResponse(x, "/components/responses/RouteNotFound")
		case x.Status == http.StatusMethodNotAllowed && code == "method_not_allowed" && other:
			return nil, c.checkResponse(x, "/components/responses/MethodNotAllowed")
		}
		return nil, []string{fmt.Sprintf("%s %s matches no documented operation", x.Method, x.Path)}
	}
	var problems []string
	if !refusedUnread[errCode(x.RespBody)] {
		problems = append(problems, c.checkRequest(x, op)...)
	}
	responses, _ := op.node["responses"].(map[string]any)
	key := ""
	for _, k := range []string{strconv.Itoa(x.Status), fmt.Sprintf("%dXX", x.Status/100), "default"} {
		if _, ok := responses[k]; ok {
			key = k
			break
		}
	}
	if key == "" {
		return op, append(problems, fmt.Sprintf("status %d is not documented for %s", x.Status, op))
	}
	return op, append(problems, c.checkResponse(x, op.ptr+"/responses/"+key)...)
}

func isJSONMedia(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

// checkResponse validates a response against the response object at ptr:
// its required headers, its content type and, for JSON, its body.
func (c *conformance) checkResponse(x exchange, ptr string) []string {
	node, err := c.lookup(ptr)
	if err != nil {
		return []string{err.Error()}
	}
	resp, ptr, err := c.deref(node, ptr)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	headers, _ := resp["headers"].(map[string]any)
	for name, h := range headers {
		hm, _, err := c.deref(h, ptr+"/headers/"+escapePtr(name))
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if req, _ := hm["required"].(bool); req && x.RespHeader.Get(name) == "" {
			problems = append(problems, fmt.Sprintf("response header %s is missing", name))
		}
	}
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 || (x.Method == http.MethodHead && x.RespHeader.Get("Content-Type") == "") {
		if len(x.RespBody) > 0 {
			problems = append(problems, fmt.Sprintf("a %d response documents no content, but %d bytes were sent", x.Status, len(x.RespBody)))
		}
		return problems
	}
	ct := x.RespHeader.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if _, ok := content[mt]; err != nil || !ok {
		return append(problems, fmt.Sprintf("response Content-Type %q is not documented for %d (documented: %s)", ct, x.Status, strings.Join(slices.Sorted(mapKeys(content)), ", ")))
	}
	if !isJSONMedia(mt) || x.Method == http.MethodHead {
		return problems // only the status and content type are checked
	}
	if p := c.validate(ptr+"/content/"+escapePtr(mt)+"/schema", x.RespBody, "response body"); p != "" {
		problems = append(problems, p)
	}
	return problems
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// validate checks a JSON text against the schema at ptr and describes the
// problem, or returns "".
func (c *conformance) validate(ptr string, body []byte, what string) string {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Sprintf("%s is not JSON: %v", what, err)
	}
	return c.validateValue(ptr, inst, what)
}

func (c *conformance) validateValue(ptr string, inst any, what string) string {
	sch, err := c.schema(ptr)
	if err != nil {
		return fmt.Sprintf("%s: schema %s does not compile: %v", what, ptr, err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Sprintf("%s: %v", what, err)
	}
	return ""
}

// checkRequest validates the query parameters and the body of a request.
func (c *conformance) checkRequest(x exchange, op *operation) []string {
	var problems []string
	// Query parameters: each one sent must be declared, with a valid value.
	type param struct {
		ptr      string
		required bool
	}
	declared := map[string]param{}
	params, _ := op.node["parameters"].([]any)
	for i, p := range params {
		pm, pptr, err := c.deref(p, op.ptr+"/parameters/"+strconv.Itoa(i))
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if pm["in"] == "query" {
			name, _ := pm["name"].(string)
			req, _ := pm["required"].(bool)
			declared[name] = param{ptr: pptr + "/schema", required: req}
		}
	}
	query, err := url.ParseQuery(x.Query)
	if err != nil {
		problems = append(problems, fmt.Sprintf("query string %q: %v", x.Query, err))
	}
	for name, values := range query {
		p, ok := declared[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("query parameter %q is not documented", name))
			continue
		}
		for _, v := range values {
			if msg := c.validateValue(p.ptr, c.queryValue(p.ptr, v), "query parameter "+name); msg != "" {
				problems = append(problems, msg)
			}
		}
	}
	for name, p := range declared {
		if _, ok := query[name]; p.required && !ok {
			problems = append(problems, fmt.Sprintf("required query parameter %q is missing", name))
		}
	}

	// The body, when the operation declares one.
	rbNode, ok := op.node["requestBody"]
	if !ok {
		return problems
	}
	rb, rbPtr, err := c.deref(rbNode, op.ptr+"/requestBody")
	if err != nil {
		return append(problems, err.Error())
	}
	body := bytes.TrimSpace(x.ReqBody)
	if len(body) == 0 {
		if req, _ := rb["required"].(bool); req {
			problems = append(problems, "the request body is required")
		}
		return problems
	}
	content, _ := rb["content"].(map[string]any)
	mt := "application/json" // the server reads JSON whatever the header says
	if ct := x.ReqHeader.Get("Content-Type"); ct != "" {
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return append(problems, fmt.Sprintf("request Content-Type %q: %v", ct, err))
		}
	}
	if _, ok := content[mt]; !ok {
		return append(problems, fmt.Sprintf("request Content-Type %q is not documented (documented: %s)", mt, strings.Join(slices.Sorted(mapKeys(content)), ", ")))
	}
	schemaPtr := rbPtr + "/content/" + escapePtr(mt) + "/schema"
	switch {
	case isJSONMedia(mt):
		if msg := c.validate(schemaPtr, body, "request body"); msg != "" {
			problems = append(problems, msg)
		}
	case mt == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return append(problems, fmt.Sprintf("request form: %v", err))
		}
		inst := map[string]any{}
		for k, v := range form {
			inst[k] = v[0]
		}
		if msg := c.validateValue(schemaPtr, inst, "request form"); msg != "" {
			problems = append(problems, msg)
		}
	}
	return problems
}

// queryValue types a query string value as its schema declares it (query
// values are strings on the wire).
func (c *conformance) queryValue(schemaPtr, v string) any {
	node, err := c.lookup(schemaPtr)
	if err != nil {
		return v
	}
	m, _, err := c.deref(node, schemaPtr)
	if err != nil {
		return v
	}
	switch m["type"] {
	case "integer", "number":
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return json.Number(v)
		}
	case "boolean":
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return v
}
