package webhook

import (
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/signature"
)

// Header names. They are sent in DollarPe's spelling (see [Message]).
const (
	HeaderTimestamp = "X-TIMESTAMP"
	HeaderSignature = "X-SIGNATURE"
	HeaderWebhookID = "X-WEBHOOK-ID"
)

// UserAgent is the User-Agent of every delivery.
const UserAgent = "Offramp-Webhooks/1"

// DefaultTolerance is the X-TIMESTAMP window [Verify] uses when given a
// tolerance of zero or less: ±300 s, as DollarPe's docs recommend.
const DefaultTolerance = 300 * time.Second

// Errors returned by [Verify]. Answer ErrMalformed with 400 and the others
// with 401.
var (
	// ErrStale: X-TIMESTAMP is outside the tolerance window around now.
	ErrStale = errors.New("webhook: stale timestamp")
	// ErrSignature: a header is missing or invalid, or the signature does
	// not match.
	ErrSignature = errors.New("webhook: invalid signature")
	// ErrMalformed: the body is not one JSON object we can verify, or not an
	// envelope.
	ErrMalformed = errors.New("webhook: malformed body")
)

// Envelope is what a receiver gets: DollarPe's {type, id, event, timestamp,
// metadata} plus client_reference_id, a per-object sequence number and the
// webhook id.
//
// Every key is always present. Metadata is {} when empty (EnvelopeOf never
// leaves it nil) and ClientReferenceID is "" when the object has none.
//
// Envelope deliberately has no MarshalJSON: it is embedded in other JSON
// objects (the API's event listings), where a promoted MarshalJSON would
// silently drop the outer fields. json.Marshal of an envelope from
// EnvelopeOf, canonicalized, is exactly the body Message signs.
type Envelope struct {
	Type      string            `json:"type"`      // "PAYOUT", "CUSTOMER", "BANK", "EDD"
	ID        string            `json:"id"`        // the object's id
	Event     string            `json:"event"`     // "SUCCESS", "VERIFIED", ...
	Timestamp string            `json:"timestamp"` // RFC 3339 UTC, to the second, of the status change
	Metadata  map[string]string `json:"metadata"`  // utr, failure_reason, rfi_link...
	// ClientReferenceID is the object's client reference, "" when it has
	// none.
	ClientReferenceID string `json:"client_reference_id"`
	// Sequence increases per object: drop an event whose sequence is not
	// above the last one applied for that object.
	Sequence int64 `json:"sequence"`
	// WebhookID is the event id, the same on every retry: deduplicate on it.
	WebhookID string `json:"webhook_id"`
}

// EnvelopeOf returns the envelope of a status-change event. Metadata is
// copied, never nil.
func EnvelopeOf(e offramp.Event) Envelope {
	md := make(map[string]string, len(e.Metadata))
	for k, v := range e.Metadata {
		md[k] = v
	}
	return Envelope{
		Type:              string(e.ObjectType),
		ID:                e.ObjectID.String(),
		Event:             e.Event,
		Timestamp:         e.CreatedAt.UTC().Format(time.RFC3339),
		Metadata:          md,
		ClientReferenceID: e.ClientReferenceID,
		Sequence:          e.Sequence,
		WebhookID:         e.ID.String(),
	}
}

// Message returns the exact bytes to send and the headers of one delivery
// attempt of e, signed with the organization's API key and secret.
//
// The body is the FormCompactASCII canonical JSON of [EnvelopeOf](e); it
// depends only on the event, so every attempt sends the same bytes. The
// headers are X-TIMESTAMP (now, in Unix seconds), X-SIGNATURE
// (signature.Sign over the body), X-WEBHOOK-ID (the event id), Content-Type
// application/json and User-Agent [UserAgent].
//
// The three X- headers are stored under DollarPe's upper-case spelling, not
// Go's canonical form, so HTTP/1.1 receivers that look headers up
// case-sensitively find them as DollarPe sends them. Copy h into the request
// as is (req.Header = h); h.Get("X-Timestamp") does not find them, read them
// with h[HeaderTimestamp].
func Message(e offramp.Event, apiKey, secret string, now time.Time) (body []byte, h http.Header, err error) {
	switch {
	case apiKey == "" || secret == "":
		return nil, nil, errors.New("webhook: empty API key or secret; refusing to send an unverifiable webhook")
	case e.ID == uuid.Nil:
		return nil, nil, errors.New("webhook: event has no id")
	case e.ObjectType == "" || e.Event == "":
		return nil, nil, errors.New("webhook: event has no object type or status")
	}
	body, err = signature.CanonicalJSON(EnvelopeOf(e))
	if err != nil {
		return nil, nil, fmt.Errorf("webhook: encode envelope: %w", err)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	h = http.Header{}
	h[HeaderTimestamp] = []string{ts}
	h[HeaderSignature] = []string{signature.Sign(apiKey, secret, ts, body)}
	h[HeaderWebhookID] = []string{e.ID.String()}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
	return body, h, nil
}

// Verify is the receiver's check. It requires X-TIMESTAMP (Unix seconds)
// within ±tolerance of now (DefaultTolerance when tolerance <= 0) and an
// X-SIGNATURE equal, in constant time, to the signature over the received
// body with the organization's API key and secret, then returns the decoded
// envelope.
//
// The body is checked the way DollarPe's Python snippet does it: it is
// parsed and re-rendered as json.dumps(body, sort_keys=True,
// separators=(",", ":")) before the HMAC. Offramp sends that form already,
// so this is the received bytes exactly. If an X-WEBHOOK-ID header is
// present it must equal the signed webhook_id, since receivers deduplicate
// on it.
//
// Errors wrap ErrStale, ErrSignature or ErrMalformed. Headers are looked up
// case-insensitively. Verify does not limit the body size: read it through
// http.MaxBytesReader.
func Verify(h http.Header, body []byte, apiKey, secret string, tolerance time.Duration, now time.Time) (Envelope, error) {
	if apiKey == "" || secret == "" {
		return Envelope{}, fmt.Errorf("%w: empty API key or secret configured", ErrSignature)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	tsText, ok := header(h, HeaderTimestamp)
	if !ok {
		return Envelope{}, fmt.Errorf("%w: missing %s header", ErrSignature, HeaderTimestamp)
	}
	sig, ok := header(h, HeaderSignature)
	if !ok {
		return Envelope{}, fmt.Errorf("%w: missing %s header", ErrSignature, HeaderSignature)
	}
	ts, ok := parseUnix(tsText)
	if !ok {
		return Envelope{}, fmt.Errorf("%w: %s %q is not Unix seconds", ErrSignature, HeaderTimestamp, tsText)
	}
	// Integer seconds on both sides, so no overflow for absurd values.
	nowS, tolS := now.Unix(), int64(tolerance/time.Second)
	if ts < nowS-tolS || ts > nowS+tolS {
		return Envelope{}, fmt.Errorf("%w: %s %d is more than %v from now (%d)", ErrStale, HeaderTimestamp, ts, tolerance, nowS)
	}
	canonical, err := signature.Canonicalize(body, signature.FormCompactASCII)
	if err != nil {
		return Envelope{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	want := signature.Sign(apiKey, secret, tsText, canonical)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return Envelope{}, fmt.Errorf("%w: %s does not match the body", ErrSignature, HeaderSignature)
	}
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Envelope{}, fmt.Errorf("%w: not an envelope: %w", ErrMalformed, err)
	}
	if env.Type == "" || env.ID == "" || env.Event == "" {
		return Envelope{}, fmt.Errorf("%w: envelope lacks type, id or event", ErrMalformed)
	}
	if env.Metadata == nil {
		env.Metadata = map[string]string{}
	}
	if id, ok := header(h, HeaderWebhookID); ok && id != env.WebhookID {
		return Envelope{}, fmt.Errorf("%w: %s %q does not match the signed webhook_id %q", ErrSignature, HeaderWebhookID, id, env.WebhookID)
	}
	return env, nil
}

// header returns the first value of name, looked up case-insensitively: a
// received request has canonical keys, a header built by Message has
// DollarPe's spelling. An empty value counts as missing.
func header(h http.Header, name string) (string, bool) {
	if v := h[http.CanonicalHeaderKey(name)]; len(v) > 0 && v[0] != "" {
		return v[0], true
	}
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 && v[0] != "" {
			return v[0], true
		}
	}
	return "", false
}

// parseUnix accepts 1 to 18 ASCII digits (no sign, no spaces): the signed
// message uses the header text verbatim, so there is one spelling only.
func parseUnix(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
