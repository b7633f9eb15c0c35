package webhook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/signature"
	"github.com/offramp/offramp/webhook"
)

const (
	testKey    = "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
	testSecret = "test-secret-do-not-use"
)

var (
	testEventID  = uuid.MustParse("0b6a3c1e-8f0d-4a55-9b8e-6c2f1d7e9a01")
	testObjectID = uuid.MustParse("550e8400-e29b-41d4-a716-446655440000")
)

func payoutEvent() offramp.Event {
	return offramp.Event{
		ID:                testEventID,
		OrgID:             uuid.MustParse("11111111-2222-4333-8444-555555555555"),
		ObjectType:        offramp.ObjectPayout,
		ObjectID:          testObjectID,
		Event:             "SUCCESS",
		Sequence:          3,
		ClientReferenceID: "ref-1",
		Metadata:          map[string]string{"utr": "RATN12341234XYZ"},
		// 10:00:00.123456789 IST is 04:30:00 UTC; sub-seconds are dropped.
		CreatedAt: time.Date(2024, 3, 13, 10, 0, 0, 123456789, time.FixedZone("IST", 5*3600+1800)),
	}
}

func TestMessageBody(t *testing.T) {
	body, h, err := webhook.Message(payoutEvent(), testKey, testSecret, time.Unix(1735689600, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"client_reference_id":"ref-1","event":"SUCCESS","id":"550e8400-e29b-41d4-a716-446655440000",` +
		`"metadata":{"utr":"RATN12341234XYZ"},"sequence":3,"timestamp":"2024-03-13T04:30:00Z",` +
		`"type":"PAYOUT","webhook_id":"0b6a3c1e-8f0d-4a55-9b8e-6c2f1d7e9a01"}`
	if string(body) != want {
		t.Fatalf("body\n got %s\nwant %s", body, want)
	}
	wantHeaders := map[string]string{
		"X-TIMESTAMP":  "1735689600",
		"X-SIGNATURE":  signature.Sign(testKey, testSecret, "1735689600", []byte(want)),
		"X-WEBHOOK-ID": testEventID.String(),
		"Content-Type": "application/json",
		"User-Agent":   "Offramp-Webhooks/1",
	}
	if len(h) != len(wantHeaders) {
		t.Errorf("headers %v, want exactly %v", h, wantHeaders)
	}
	for k, v := range wantHeaders {
		if got := h[k]; len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

func TestEnvelopeEmptyFields(t *testing.T) {
	ev := payoutEvent()
	ev.ObjectType, ev.Event = offramp.ObjectBank, "VERIFIED"
	ev.Metadata, ev.ClientReferenceID = nil, ""
	env := webhook.EnvelopeOf(ev)
	if env.Metadata == nil {
		t.Fatal("EnvelopeOf: nil Metadata")
	}
	body, _, err := webhook.Message(ev, testKey, testSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"metadata":{}`, `"client_reference_id":""`, `"type":"BANK"`, `"event":"VERIFIED"`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("body %s lacks %s", body, want)
		}
	}
	// Plain encoding/json gives the same shape as the canonical body.
	plain, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	canon, err := signature.Canonicalize(plain, signature.FormCompactASCII)
	if err != nil || !bytes.Equal(canon, body) {
		t.Fatalf("json.Marshal(envelope) canonicalizes to %s (%v), want %s", canon, err, body)
	}
	// EnvelopeOf copies the metadata.
	ev.Metadata = map[string]string{"a": "1"}
	env = webhook.EnvelopeOf(ev)
	env.Metadata["a"] = "2"
	if ev.Metadata["a"] != "1" {
		t.Error("EnvelopeOf aliases the event's metadata")
	}
}

// Envelope is embedded in the API's event listings; a MarshalJSON method on
// it would be promoted and drop the outer fields.
func TestEnvelopeEmbeds(t *testing.T) {
	type listed struct {
		webhook.Envelope
		Delivery string `json:"delivery"`
	}
	b, err := json.Marshal(listed{webhook.EnvelopeOf(payoutEvent()), "DELIVERED"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"delivery":"DELIVERED"`, `"webhook_id":"` + testEventID.String() + `"`, `"client_reference_id":"ref-1"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("embedded envelope %s lacks %s", b, want)
		}
	}
}

func TestMessageRefusesIncompleteInput(t *testing.T) {
	ev := payoutEvent()
	if _, _, err := webhook.Message(ev, testKey, "", time.Now()); err == nil {
		t.Error("empty secret accepted")
	}
	if _, _, err := webhook.Message(ev, "", testSecret, time.Now()); err == nil {
		t.Error("empty key accepted")
	}
	ev.ID = uuid.Nil
	if _, _, err := webhook.Message(ev, testKey, testSecret, time.Now()); err == nil {
		t.Error("nil event id accepted")
	}
}

func TestMessageVerifyRoundTrip(t *testing.T) {
	ev := payoutEvent()
	ev.Metadata = map[string]string{"name": "José", "note": "<a&b> \u2028 \"q\" \\ 😀", "utr": "X"}
	now := time.Unix(1752670745, 0)
	body, h, err := webhook.Message(ev, testKey, testSecret, now)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body, []byte(`"name":"Jos\u00e9"`)) || !bytes.Contains(body, []byte(`<a&b> \u2028`)) {
		t.Errorf("body is not FormCompactASCII: %s", body)
	}
	for i := 0; i < len(body); i++ {
		if body[i] >= 0x80 {
			t.Fatalf("non-ASCII byte in body %s", body)
		}
	}
	env, err := webhook.Verify(h, body, testKey, testSecret, 0, now.Add(299*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if want := webhook.EnvelopeOf(ev); !equalEnvelope(env, want) {
		t.Fatalf("Verify returned %+v, want %+v", env, want)
	}
	// Also as a server would receive them: canonical header keys.
	recv := http.Header{}
	for k, v := range h {
		recv.Set(k, v[0])
	}
	if _, err := webhook.Verify(recv, body, testKey, testSecret, 0, now); err != nil {
		t.Fatalf("canonical header keys: %v", err)
	}
}

func equalEnvelope(a, b webhook.Envelope) bool { return reflect.DeepEqual(a, b) }

func TestMessageStableAcrossAttempts(t *testing.T) {
	ev := payoutEvent()
	b1, h1, err := webhook.Message(ev, testKey, testSecret, time.Unix(1752670745, 0))
	if err != nil {
		t.Fatal(err)
	}
	// A retry an hour later, from the event as reloaded from the store
	// (metadata map rebuilt, time at microsecond precision, other zone).
	ev.Metadata = map[string]string{"utr": "RATN12341234XYZ"}
	ev.CreatedAt = ev.CreatedAt.UTC().Truncate(time.Microsecond)
	b2, h2, err := webhook.Message(ev, testKey, testSecret, time.Unix(1752674345, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Errorf("body changed between attempts:\n%s\n%s", b1, b2)
	}
	if h1[webhook.HeaderWebhookID][0] != h2[webhook.HeaderWebhookID][0] {
		t.Error("X-WEBHOOK-ID changed between attempts")
	}
	if h1[webhook.HeaderTimestamp][0] == h2[webhook.HeaderTimestamp][0] ||
		h1[webhook.HeaderSignature][0] == h2[webhook.HeaderSignature][0] {
		t.Error("timestamp and signature must be fresh on each attempt")
	}
}

func TestHeadersOnTheWire(t *testing.T) {
	body, h, err := webhook.Message(payoutEvent(), testKey, testSecret, time.Unix(1735689600, 0))
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, "https://hooks.example.com/x", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\r\nX-TIMESTAMP: 1735689600\r\n", "\r\nX-SIGNATURE: ", "\r\nX-WEBHOOK-ID: " + testEventID.String() + "\r\n",
		"\r\nContent-Type: application/json\r\n", "\r\nUser-Agent: Offramp-Webhooks/1\r\n"} {
		if !strings.Contains(wire.String(), want) {
			t.Errorf("request lacks %q:\n%s", want, wire.String())
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	now := time.Unix(1752670745, 0)
	body, h, err := webhook.Message(payoutEvent(), testKey, testSecret, now)
	if err != nil {
		t.Fatal(err)
	}
	ts := h[webhook.HeaderTimestamp][0]
	signed := func(b []byte, at time.Time) (http.Header, []byte) {
		s := strconv.FormatInt(at.Unix(), 10)
		c, err := signature.Canonicalize(b, signature.FormCompactASCII)
		if err != nil {
			c = b
		}
		return http.Header{"X-Timestamp": {s}, "X-Signature": {signature.Sign(testKey, testSecret, s, c)}}, b
	}
	with := func(k, v string) http.Header {
		out := http.Header{}
		for hk, hv := range h {
			out[hk] = hv
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = []string{v}
		}
		return out
	}
	tampered := bytes.Replace(body, []byte(`"SUCCESS"`), []byte(`"FAILED"`), 1)
	old := now.Add(-301 * time.Second)
	cases := []struct {
		name      string
		h         http.Header
		body      []byte
		secret    string
		now       time.Time
		tolerance time.Duration
		want      error
		msg       string
	}{
		{name: "tampered body", h: h, body: tampered, want: webhook.ErrSignature},
		{name: "reformatted body", h: h, body: bytes.Replace(body, []byte(`,`), []byte(`, `), 1), want: nil},
		{name: "tampered timestamp", h: with(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10)), body: body, want: webhook.ErrSignature},
		{name: "timestamp with sign", h: with(webhook.HeaderTimestamp, "+"+ts), body: body, want: webhook.ErrSignature},
		{name: "wrong secret", h: h, body: body, secret: "other-secret", want: webhook.ErrSignature},
		{name: "tampered webhook id header", h: with(webhook.HeaderWebhookID, uuid.NewString()), body: body, want: webhook.ErrSignature, msg: "does not match the signed webhook_id"},
		{name: "old timestamp", h: h, body: body, now: now.Add(301 * time.Second), tolerance: 300 * time.Second, want: webhook.ErrStale},
		{name: "future timestamp", h: h, body: body, now: now.Add(-301 * time.Second), tolerance: 300 * time.Second, want: webhook.ErrStale},
		{name: "at the edge", h: h, body: body, now: now.Add(300 * time.Second), tolerance: 300 * time.Second, want: nil},
		{name: "default tolerance", h: h, body: body, now: now.Add(301 * time.Second), want: webhook.ErrStale},
		{name: "old but validly signed", h: func() http.Header { x, _ := signed(body, old); return x }(), body: body, want: webhook.ErrStale},
		{name: "missing timestamp", h: with(webhook.HeaderTimestamp, ""), body: body, want: webhook.ErrSignature, msg: "missing X-TIMESTAMP header"},
		{name: "missing signature", h: with(webhook.HeaderSignature, ""), body: body, want: webhook.ErrSignature, msg: "missing X-SIGNATURE header"},
		{name: "no headers", h: http.Header{}, body: body, want: webhook.ErrSignature, msg: "missing"},
		{name: "malformed body", h: h, body: []byte(`{"type":"PAYOUT",`), want: webhook.ErrMalformed},
		{name: "duplicate keys", h: h, body: []byte(`{"event":"FAILED","event":"SUCCESS"}`), want: webhook.ErrMalformed},
		{name: "signed non-envelope", h: func() http.Header { x, _ := signed([]byte(`[1,2]`), now); return x }(), body: []byte(`[1,2]`), want: webhook.ErrMalformed},
		{name: "signed empty object", h: func() http.Header { x, _ := signed([]byte(`{}`), now); return x }(), body: []byte(`{}`), want: webhook.ErrMalformed},
		{name: "DollarPe envelope without Offramp fields", h: func() http.Header {
			x, _ := signed([]byte(`{"type":"BANK","id":"b1","event":"VERIFIED","timestamp":"2024-03-13T10:00:00Z","metadata":{}}`), now)
			return x
		}(), body: []byte(`{"type":"BANK","id":"b1","event":"VERIFIED","timestamp":"2024-03-13T10:00:00Z","metadata":{}}`), want: nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			secret := c.secret
			if secret == "" {
				secret = testSecret
			}
			at := c.now
			if at.IsZero() {
				at = now
			}
			_, err := webhook.Verify(c.h, c.body, testKey, secret, c.tolerance, at)
			if c.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify: %v, want %v", err, c.want)
			}
			if c.msg != "" && !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q lacks %q", err, c.msg)
			}
		})
	}
	if _, err := webhook.Verify(h, body, testKey, "", 0, now); !errors.Is(err, webhook.ErrSignature) {
		t.Errorf("empty configured secret: %v", err)
	}
}
