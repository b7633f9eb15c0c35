package cashfree_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/rail/cashfree"
	"github.com/offramp/offramp/rail/cashfree/cashfreefake"
)

// post sends body to the env's webhook endpoint with the given headers.
func (e *env) post(body []byte, hdr map[string]string) int {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.hooks.URL, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func signed(secret string, at time.Time, body []byte) map[string]string {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	return map[string]string{
		cashfree.HeaderTimestamp: ts,
		cashfree.HeaderSignature: cashfreefake.Sign(secret, ts, body),
		"Content-Type":           "application/json",
	}
}

// paidRef submits to the paying account and settles it, without
// delivering its webhooks.
func (e *env) paidRef() string {
	e.t.Helper()
	ref := newRef()
	mustSubmit(e.t, e.rail, transfer(ref, cashfreefake.AccountPays))
	e.advance(settle)
	mustInquire(e.t, e.rail, ref)
	return ref
}

// A webhook with a bad signature is refused (401) and changes nothing;
// so is one without signature headers, and a body altered after signing.
func TestWebhookBadSignature(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ref := e.paidRef()
	d, err := e.fake.SendWebhook(context.Background(), ref, cashfree.EventTransferSuccess, cashfreefake.SendOptions{BadSignature: true})
	if err != nil || d.HTTPStatus != http.StatusUnauthorized {
		t.Fatalf("badly signed webhook: HTTP %d, %v; want 401", d.HTTPStatus, err)
	}
	good, err := e.fake.SendWebhook(context.Background(), ref, cashfree.EventTransferSuccess, cashfreefake.SendOptions{})
	if err != nil || good.HTTPStatus != http.StatusOK {
		t.Fatalf("well signed webhook: HTTP %d, %v; want 200", good.HTTPStatus, err)
	}
	e.books.mu.Lock()
	e.books.state = map[string]offramp.RailResult{}
	e.books.calls, e.books.changes = 0, 0
	e.books.mu.Unlock()

	tampered := bytes.Replace(good.Body, []byte(`"status":"SUCCESS"`), []byte(`"status":"REVERSED"`), 1)
	if bytes.Equal(tampered, good.Body) {
		t.Fatal("test bug: nothing tampered")
	}
	for name, tc := range map[string]struct {
		body []byte
		hdr  map[string]string
	}{
		"tampered body":   {tampered, map[string]string{cashfree.HeaderTimestamp: good.Timestamp, cashfree.HeaderSignature: good.Signature}},
		"other timestamp": {good.Body, map[string]string{cashfree.HeaderTimestamp: good.Timestamp + "1", cashfree.HeaderSignature: good.Signature}},
		"no signature":    {good.Body, map[string]string{cashfree.HeaderTimestamp: good.Timestamp}},
		"no timestamp":    {good.Body, map[string]string{cashfree.HeaderSignature: good.Signature}},
		"not base64":      {good.Body, map[string]string{cashfree.HeaderTimestamp: good.Timestamp, cashfree.HeaderSignature: "%%%"}},
		"client id key":   {good.Body, signed(testClientID, e.clk.Now(), good.Body)},
	} {
		if code := e.post(tc.body, tc.hdr); code != http.StatusUnauthorized {
			t.Fatalf("%s: HTTP %d, want 401", name, code)
		}
	}
	if _, calls, _ := e.books.get(ref); calls != 0 {
		t.Fatalf("refused webhooks reached apply %d times", calls)
	}
	_, _, ok, err := e.rail.ParseWebhook(tampered, http.Header{
		http.CanonicalHeaderKey(cashfree.HeaderTimestamp): {good.Timestamp},
		http.CanonicalHeaderKey(cashfree.HeaderSignature): {good.Signature},
	})
	if !errors.Is(err, cashfree.ErrBadSignature) || ok {
		t.Fatalf("ParseWebhook(tampered) = ok %v, %v; want ErrBadSignature", ok, err)
	}
}

// Cashfree delivers at least once: the same webhook twice is applied once.
func TestWebhookTwiceAppliedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ref := e.paidRef()
	d, err := e.fake.SendWebhook(context.Background(), ref, cashfree.EventTransferSuccess, cashfreefake.SendOptions{})
	if err != nil || d.HTTPStatus != http.StatusOK {
		t.Fatalf("webhook: HTTP %d, %v", d.HTTPStatus, err)
	}
	if again := e.fake.Resend(context.Background(), d); again.HTTPStatus != http.StatusOK {
		t.Fatalf("the same webhook again: HTTP %d, %v; want 200", again.HTTPStatus, again.Err)
	}
	got, calls, changes := e.books.get(ref)
	if got.Status != offramp.RailSuccess || got.UTR == "" || calls != 2 || changes != 1 {
		t.Fatalf("books = %+v after %d calls and %d changes; want SUCCESS applied once from 2 calls", got, calls, changes)
	}
	// The state machine's own webhooks (SUCCESS, then ACKNOWLEDGED) are
	// the same news again.
	e.deliver()
	if _, calls, changes := e.books.get(ref); calls != 4 || changes != 1 {
		t.Fatalf("after the fake's deliveries: %d calls, %d changes; want 4 and 1", calls, changes)
	}
}

// Events without transfer news, and news about a transfer Offramp does
// not know, are answered 200 and ignored.
func TestWebhookIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, body := range []string{
		`{"type":"LOW_BALANCE_ALERT","event_time":"2026-03-01T10:00:00","data":{"current_balance":500}}`,
		`{"type":"CREDIT_CONFIRMATION","event_time":"2026-03-01T10:00:00","data":{"amount":10000}}`,
		`{"type":"BULK_TRANSFER_REJECTED","event_time":"2026-03-01T10:00:00","data":{"batch_transfer_id":"b1","status":"REJECTED"}}`,
		`{"type":"BENEFICIARY_INCIDENT","event_time":"2026-03-01T10:00:00","data":{}}`,
		`{"type":"SOMETHING_NEW","data":{"transfer_id":"OFR1"}}`,
	} {
		if code := e.post([]byte(body), signed(testSecret, e.clk.Now(), []byte(body))); code != http.StatusOK {
			t.Fatalf("%s: HTTP %d, want 200", body[:30], code)
		}
	}
	if _, calls, _ := e.books.get("x"); calls != 0 {
		t.Fatalf("events without transfer news reached apply %d times", calls)
	}
	ref := e.paidRef()
	e.books.mu.Lock()
	e.books.unknown[ref] = true
	e.books.mu.Unlock()
	if ds := e.deliver(); len(ds) != 2 {
		t.Fatalf("deliveries = %+v, want 2 answered 200", ds)
	}
	if _, calls, changes := e.books.get(ref); calls != 2 || changes != 0 {
		t.Fatalf("unknown transfer: %d calls, %d changes; want 2 and 0", calls, changes)
	}
	// A verified body that cannot be read is a 400, not applied.
	for _, body := range []string{`not json`, `{"type":"TRANSFER_SUCCESS"}`, `{"type":"TRANSFER_SUCCESS","data":{"transfer_id":"a-b"}}`} {
		if code := e.post([]byte(body), signed(testSecret, e.clk.Now(), []byte(body))); code != http.StatusBadRequest {
			t.Fatalf("%q: HTTP %d, want 400", body, code)
		}
	}
}

// With a freshness window, a webhook signed long ago is refused; the
// default checks the signature only.
func TestWebhookStale(t *testing.T) {
	t.Parallel()
	strict := newEnv(t, envOptions{maxAge: 5 * time.Minute})
	ref := strict.paidRef()
	old, err := strict.fake.SendWebhook(context.Background(), ref, cashfree.EventTransferSuccess, cashfreefake.SendOptions{Timestamp: strict.clk.Now().Add(-time.Hour)})
	if err != nil || old.HTTPStatus != http.StatusUnauthorized {
		t.Fatalf("hour-old webhook with a 5-minute window: HTTP %d, %v; want 401", old.HTTPStatus, err)
	}
	fresh, err := strict.fake.SendWebhook(context.Background(), ref, cashfree.EventTransferSuccess, cashfreefake.SendOptions{Timestamp: strict.clk.Now().Add(-time.Minute)})
	if err != nil || fresh.HTTPStatus != http.StatusOK {
		t.Fatalf("minute-old webhook: HTTP %d, %v; want 200", fresh.HTTPStatus, err)
	}
	lax := newEnv(t, envOptions{})
	ref = lax.paidRef()
	if d, err := lax.fake.SendWebhook(context.Background(), ref, cashfree.EventTransferSuccess, cashfreefake.SendOptions{Timestamp: lax.clk.Now().Add(-72 * time.Hour)}); err != nil || d.HTTPStatus != http.StatusOK {
		t.Fatalf("old webhook, no window: HTTP %d, %v; want 200", d.HTTPStatus, err)
	}
}

func TestWebhookHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	big := []byte(`{"type":"TRANSFER_SUCCESS","pad":"` + strings.Repeat("x", 1<<20) + `"}`)
	if code := e.post(big, signed(testSecret, e.clk.Now(), big)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 MiB body: HTTP %d, want 413", code)
	}
	resp, err := http.Get(e.hooks.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: HTTP %d, want 405", resp.StatusCode)
	}
}

// ParseWebhook reads each transfer event; the data object's status wins,
// the event type stands in when it is missing.
func TestParseWebhookEvents(t *testing.T) {
	t.Parallel()
	r, err := cashfree.New(cashfree.Config{ClientID: testClientID, ClientSecret: "api-key", WebhookSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		body string
		want offramp.RailResult
	}{
		{`{"type":"TRANSFER_ACKNOWLEDGED","data":{"transfer_id":"OFR1","status":"SUCCESS","status_code":"COMPLETED","transfer_utr":"512000000001"}}`,
			offramp.RailResult{Status: offramp.RailSuccess, UTR: "512000000001"}},
		{`{"type":"TRANSFER_SUCCESS","data":{"transfer_id":"OFR1","transfer_utr":"512000000001"}}`,
			offramp.RailResult{Status: offramp.RailSuccess, UTR: "512000000001"}},
		{`{"type":"TRANSFER_FAILED","data":{"transfer_id":"OFR1","status":"FAILED","status_code":"IMPS_MODE_FAIL"}}`,
			offramp.RailResult{Status: offramp.RailRejected, Reason: cashfree.ReasonModeNotSupported}},
		{`{"type":"TRANSFER_REJECTED","data":{"transfer_id":"OFR1","status":"REJECTED","status_code":"INVALID_MODE_FOR_PYID"}}`,
			offramp.RailResult{Status: offramp.RailRejected, Reason: cashfree.ReasonModeNotSupported}},
		{`{"type":"TRANSFER_REVERSED","data":{"transfer_id":"OFR1","status":"REVERSED","status_code":"ACCOUNT_BLOCKED","transfer_utr":"512000000001"}}`,
			offramp.RailResult{Status: offramp.RailReversed, UTR: "512000000001", Reason: cashfree.ReasonAccountBlocked}},
		{`{"type":"TRANSFER_SUCCESS","data":{"transfer_id":"OFR1","status":"SUCCESS"}}`,
			offramp.RailResult{Status: offramp.RailAccepted}},
	} {
		body := []byte(tc.body)
		hdr := http.Header{}
		for k, v := range signed(testSecret, now, body) {
			hdr.Set(k, v)
		}
		ref, res, ok, err := r.ParseWebhook(body, hdr)
		if err != nil || !ok || ref != "OFR1" || res != tc.want {
			t.Fatalf("ParseWebhook(%s) = %q, %+v, %v, %v; want OFR1, %+v", tc.body, ref, res, ok, err, tc.want)
		}
		// Signed with the API key instead of the webhook secret: refused.
		for k, v := range signed("api-key", now, body) {
			hdr.Set(k, v)
		}
		if _, _, _, err := r.ParseWebhook(body, hdr); !errors.Is(err, cashfree.ErrBadSignature) {
			t.Fatalf("ParseWebhook signed with another key = %v, want ErrBadSignature", err)
		}
	}
}
