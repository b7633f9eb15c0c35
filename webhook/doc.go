// Package webhook builds, signs, verifies and safely delivers Offramp's
// outbound webhooks (DollarPe §11).
//
// # Envelope
//
// A receiver gets DollarPe's envelope plus three Offramp fields:
//
//	{"client_reference_id":"ref-1","event":"SUCCESS","id":"<object id>",
//	"metadata":{"utr":"RATN12341234XYZ"},"sequence":3,
//	"timestamp":"2024-03-13T10:00:00Z","type":"PAYOUT","webhook_id":"<event id>"}
//
// (one line on the wire; wrapped here).
//
//   - metadata is {} when empty, never null.
//   - client_reference_id is always present, "" when the object has no
//     client reference (a plain string, so receivers need no null check).
//   - timestamp is the status change's time (the event's CreatedAt) in
//     RFC 3339 UTC, to the second, so a retry built from the stored event is
//     byte-identical to the first attempt. Order events by sequence, which
//     increases per object; drop an event whose sequence is not above the
//     last one applied.
//   - webhook_id is the event id: the same on every retry and replay, so it
//     is the deduplication key.
//
// # Signing
//
// The body is the FormCompactASCII canonical JSON of the envelope (Python's
// json.dumps(body, sort_keys=True, separators=(",", ":"))), and the exact
// bytes signed are the bytes sent. The headers are DollarPe's X-TIMESTAMP
// (Unix seconds when the attempt was made) and X-SIGNATURE
// (base64 HMAC-SHA256 with the organization's API secret over
// "api_key|timestamp|body"), plus X-WEBHOOK-ID. A retry has the same body and
// X-WEBHOOK-ID with a fresh X-TIMESTAMP and X-SIGNATURE. Receivers use
// [Verify] or DollarPe's Python snippet unchanged.
//
// # Retry schedule
//
// Attempt 1 is made at once. After a failed attempt (no 2xx answer) the next
// one waits for the [Schedule] entry, with ±10 % jitter ([NextDelay]):
//
//	failed attempts   delay before next   next attempt at (cumulative)
//	      1                 5 s                    5 s
//	      2                30 s                   35 s
//	      3                 2 min               2 min 35 s
//	      4                10 min              12 min 35 s
//	      5                30 min              42 min 35 s
//	      6                 1 h           1 h 42 min 35 s
//	      7                 2 h           3 h 42 min 35 s
//	      8                 4 h           7 h 42 min 35 s
//	      9                 8 h          15 h 42 min 35 s
//	     10                12 h          27 h 42 min 35 s
//	     11                24 h          51 h 42 min 35 s
//	     12                24 h          75 h 42 min 35 s (attempt 13, the last)
//	     13                 -            gives up: the delivery is FAILED
//
// That is 13 attempts over about 75.7 hours, a little more than three days.
//
// # Server-side request forgery
//
// Webhook URLs are chosen by API clients, so delivery must not become a way
// to reach Offramp's own network. [CheckURL] refuses obviously internal URLs
// when they are registered, and the client from [NewClient] refuses, at dial
// time, every connection to a non-public address: the check runs on the
// address actually being connected to, after DNS resolution, so a name that
// resolves (or later re-resolves) to an internal address cannot get
// through. The client also ignores proxy settings from the environment and
// never follows redirects.
package webhook
