package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/webhook"
)

// receiver is a webhook endpoint that answers with the codes it is given
// in turn (then 200), and verifies and keeps every request.
type receiver struct {
	t      testing.TB
	key    string
	secret string
	now    func() time.Time

	mu       sync.Mutex
	codes    []int
	requests []received
	srv      *httptest.Server
}

type received struct {
	webhookID string
	code      int
	env       webhook.Envelope
	verifyErr error
}

func newReceiver(t testing.TB, e *env, codes ...int) *receiver {
	r := &receiver{t: t, key: e.Org.APIKey, secret: e.Org.APISecret, codes: codes, now: e.Clock.Now}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		env, err := webhook.Verify(req.Header, body, r.key, r.secret, 300*time.Second, r.now())
		r.mu.Lock()
		code := http.StatusOK
		if len(r.codes) > 0 {
			code, r.codes = r.codes[0], r.codes[1:]
		}
		r.requests = append(r.requests, received{webhookID: req.Header.Get("X-WEBHOOK-ID"), code: code, env: env, verifyErr: err})
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.requests...)
}

func (c *client) setWebhook(url string) {
	c.e.t.Helper()
	c.e.Clock.Advance(time.Second)
	expectOK(c.e.t, c.do("POST", "/org/api/v1/organizations/api-webhooks", map[string]any{"webhook_url": url}), 200)
}

// advanceUntil moves the fake clock a step at a time until cond holds.
func (e *env) advanceUntil(t testing.TB, what string, step time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		e.Clock.Advance(step)
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWebhookRetriedUntilDelivered(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	rcv := newReceiver(t, e, 500, 503, 429)
	c.setWebhook(rcv.srv.URL + "/hooks")
	id := c.verifiedCustomer()

	// Wait for the recorded outcome, not for the receiver: the attempt
	// that delivers is recorded (and its job finished) after the
	// receiver answered. Once DELIVERED, no job is left to send again.
	e.advanceUntil(t, "the delivery", 5*time.Second, func() bool {
		return c.do("GET", "/org/api/v1/webhooks/events?delivery_status=DELIVERED", nil).obj(t)["count"].(float64) == 1
	})
	got := rcv.got()
	if len(got) != 4 {
		t.Fatalf("receiver got %d requests, want 4 (3 failures, 1 success)", len(got))
	}
	for i, g := range got {
		if g.verifyErr != nil {
			t.Fatalf("attempt %d does not verify: %v", i+1, g.verifyErr)
		}
		if g.webhookID != got[0].webhookID || g.env.WebhookID != g.webhookID {
			t.Fatalf("attempt %d has webhook id %q, first had %q", i+1, g.webhookID, got[0].webhookID)
		}
		if g.env.Type != "CUSTOMER" || g.env.Event != "VERIFIED" || g.env.ID != id {
			t.Fatalf("envelope: %+v", g.env)
		}
	}
	// The log shows every attempt.
	r := c.do("GET", "/org/api/v1/webhooks/events/"+got[0].webhookID, nil)
	expectOK(t, r, 200)
	ev := r.obj(t)
	d := ev["delivery"].(map[string]any)
	attempts := ev["attempts"].([]any)
	if d["status"] != "DELIVERED" || d["attempts"].(float64) != 4 || len(attempts) != 4 {
		t.Fatalf("event log: %s", r.Raw)
	}
	for i, want := range []float64{500, 503, 429, 200} {
		a := attempts[i].(map[string]any)
		if a["status_code"].(float64) != want || a["at"] == nil || a["latency_ms"].(float64) <= 0 {
			t.Fatalf("attempt %d: %v", i+1, a)
		}
	}
	list := c.do("GET", "/org/api/v1/webhooks/events?delivery_status=DELIVERED", nil).obj(t)
	if list["count"].(float64) != 1 {
		t.Fatalf("list: %v", list)
	}
}

func TestWebhookGoneDisablesEndpointAndReplay(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	rcv := newReceiver(t, e, http.StatusGone)
	c.setWebhook(rcv.srv.URL)
	since := e.Clock.Now().UTC().Format(time.RFC3339)
	c.verifiedCustomer()
	eventually(t, "the 410", func() bool { return len(rcv.got()) == 1 })
	eventually(t, "the endpoint disabled", func() bool {
		return c.do("GET", "/org/api/v1/organizations/api-webhooks", nil).obj(t)["enabled"] == false
	})
	// Events while disabled fail without an attempt.
	c.verifiedCustomer()
	eventually(t, "two failed deliveries", func() bool {
		return c.do("GET", "/org/api/v1/webhooks/events?delivery_status=FAILED", nil).obj(t)["count"].(float64) == 2
	})
	if n := len(rcv.got()); n != 1 {
		t.Fatalf("a disabled endpoint was called %d times", n)
	}
	// Setting the URL again enables it; replaying delivers both.
	c.setWebhook(rcv.srv.URL)
	if c.do("GET", "/org/api/v1/organizations/api-webhooks", nil).obj(t)["enabled"] != true {
		t.Fatal("endpoint still disabled after setting the URL")
	}
	r := c.do("POST", "/org/api/v1/webhooks/replay", map[string]any{"since": since})
	expectOK(t, r, 200)
	if r.obj(t)["replayed"].(float64) != 2 {
		t.Fatalf("replay: %s", r.Raw)
	}
	eventually(t, "both delivered", func() bool {
		return c.do("GET", "/org/api/v1/webhooks/events?delivery_status=DELIVERED", nil).obj(t)["count"].(float64) == 2
	})
	// Replaying one delivered event sends it once more.
	first := c.do("GET", "/org/api/v1/webhooks/events", nil).obj(t)["results"].([]any)[0].(map[string]any)["webhook_id"].(string)
	// The body must name the event: a body-less replay (whose signature
	// would be a GET's, {}) or one naming another event is refused.
	// (Body-less, it signs {} like the GETs of this second: refused as a
	// read's signature.)
	expectErr(t, c.do("POST", "/org/api/v1/webhooks/events/"+first+"/replay", nil), 401, "", "Signature already used")
	expectErr(t, c.do("POST", "/org/api/v1/webhooks/events/"+first+"/replay", map[string]any{"id": first}), 400, "webhook_id", offramp.MsgRequired)
	expectOK(t, c.do("POST", "/org/api/v1/webhooks/events/"+first+"/replay", map[string]any{"webhook_id": first}), 200)
	eventually(t, "the replay", func() bool { return len(rcv.got()) == 4 })
	if got := rcv.got()[3]; got.webhookID != first || got.verifyErr != nil {
		t.Fatalf("replayed %q (%v), want %q", got.webhookID, got.verifyErr, first)
	}
	expectErr(t, c.do("POST", "/org/api/v1/webhooks/events/"+first+"/replay", map[string]any{"webhook_id": uuid.NewString()}), 400, "webhook_id", "Must be the webhook_id of the path.")
	expectErr(t, c.do("POST", "/org/api/v1/webhooks/events/not-an-id/replay", map[string]any{"webhook_id": "not-an-id"}), 400, "webhook_id", "Webhook event not found or access denied")
}

func TestWebhookRedirectNotFollowed(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	target := newReceiver(t, e)
	redirect := httptest.NewServer(http.RedirectHandler(target.srv.URL, http.StatusFound))
	defer redirect.Close()
	c.setWebhook(redirect.URL)
	c.verifiedCustomer()
	eventually(t, "a 302 attempt", func() bool {
		l := c.do("GET", "/org/api/v1/webhooks/events", nil).obj(t)["results"].([]any)
		return len(l) == 1 && l[0].(map[string]any)["delivery"].(map[string]any)["last_status_code"] == float64(302)
	})
	if n := len(target.got()); n != 0 {
		t.Fatalf("the redirect was followed: target got %d requests", n)
	}
}

func TestGuideFlowWebhooks(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	rcv := newReceiver(t, e)
	c.setWebhook(rcv.srv.URL)
	ps := c.readyForPayout("")
	r := c.initiate(c.quote(ps, "51"), nil)
	expectOK(t, r, 201)
	id := r.obj(t)["id"].(string)
	p := c.settlePayout(id)
	eventually(t, "three webhooks", func() bool { return len(rcv.got()) == 3 })
	want := []struct{ typ, event, id string }{{"CUSTOMER", "VERIFIED", ps.customer}, {"BANK", "VERIFIED", ps.bank}, {"PAYOUT", "SUCCESS", id}}
	byType := map[string]received{}
	for _, g := range rcv.got() {
		if g.verifyErr != nil {
			t.Fatalf("webhook does not verify: %v", g.verifyErr)
		}
		byType[g.env.Type] = g
	}
	for _, w := range want {
		g, ok := byType[w.typ]
		if !ok || g.env.Event != w.event || g.env.ID != w.id || g.env.Sequence < 1 {
			t.Fatalf("%s webhook: %+v", w.typ, g.env)
		}
	}
	if utr := byType["PAYOUT"].env.Metadata["utr"]; utr == "" || utr != p["utr"] {
		t.Fatalf("payout webhook utr %q, payout utr %v", utr, p["utr"])
	}
}

// TestProductionWebhooksRefuseInternalTargets: in production a webhook URL
// on an internal address is refused when it is set, and a URL that reaches
// one anyway (stored before, or a name that resolves inside) is refused at
// dial time: the receiver is never called.
func TestProductionWebhooksRefuseInternalTargets(t *testing.T) {
	e := newEnv(t, func(o *envOpts) { o.env = offramp.EnvProduction; o.strictWebhooks = true })
	c := e.client()
	for _, u := range []string{"http://hooks.example.com/x", "https://127.0.0.1/x", "https://localhost/x", "https://10.0.0.8/x",
		"https://[::1]/x", "https://169.254.169.254/latest", "https://2130706433/x", "https://0x7f000001/x"} {
		e.Clock.Advance(time.Second)
		r := c.do("POST", "/org/api/v1/organizations/api-webhooks", map[string]any{"webhook_url": u})
		if r.Code != 400 || len(r.Fields["webhook_url"]) == 0 {
			t.Fatalf("%s accepted in production: %d %s", u, r.Code, r.Raw)
		}
	}
	rcv := newReceiver(t, e)
	// As if stored before the rule, or resolved inside after registration.
	if err := e.Store.Update(t.Context(), func(tx offramp.Tx) error { return tx.SetOrgWebhookURL(t.Context(), e.Org.ID, rcv.srv.URL) }); err != nil {
		t.Fatal(err)
	}
	// A deliverable event: a customer verified (the test environment runs
	// the sandbox verifier even in production mode).
	id := c.newCustomer(nil)
	expectOK(t, c.do("POST", "/cms/api/v1/kyc/add-kyc-data", kycBody(id, nil)), 200)
	c.settleCustomer(id)
	eventually(t, "a refused attempt", func() bool {
		l := c.do("GET", "/org/api/v1/webhooks/events", nil).obj(t)["results"].([]any)
		if len(l) != 1 {
			return false
		}
		d := l[0].(map[string]any)["delivery"].(map[string]any)
		err, _ := d["last_error"].(string)
		return strings.Contains(err, "refused")
	})
	if n := len(rcv.got()); n != 0 {
		t.Fatalf("an internal receiver was called %d times in production", n)
	}
}
