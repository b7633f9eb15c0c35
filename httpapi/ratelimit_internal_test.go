package httpapi

import (
	"bytes"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
)

func newTestLimiter(c RateLimit) (*limiter, *clock.Fake) {
	fc := clock.NewFake(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	c.Clock = fc
	return newLimiter(c, nil), fc
}

// TestKeyBucketsBounded: a flood of distinct made-up keys never holds more
// buckets than the cap; at the cap the least recently used bucket goes
// (counted), even a drained one, whose key then starts over with a full
// burst; a key in use keeps its bucket through the flood (its requests
// keep it at the busy end) and stays throttled; buckets that filled up
// again are forgotten as new keys arrive, so memory follows the keys in
// use.
func TestKeyBucketsBounded(t *testing.T) {
	const maxKeys, burst = 100, 3
	l, fc := newTestLimiter(RateLimit{KeyRate: 1, KeyBurst: burst, MaxKeys: maxKeys})

	drain := func(key string) {
		t.Helper()
		for i := range burst {
			if _, _, ok := l.allow(key); !ok {
				t.Fatalf("%s: request %d of its burst refused", key, i+1)
			}
		}
		if _, reason, ok := l.allow(key); ok || reason != "key" {
			t.Fatalf("%s past its burst: ok=%v reason=%q", key, ok, reason)
		}
	}
	drain("abuser")
	drain("victim of the cap")
	for i := range 10 * maxKeys {
		// A long key costs the map what a short one does.
		if _, _, ok := l.allow(fmt.Sprintf("%0500d-%s", i, uuid.NewString())); !ok {
			t.Fatalf("made-up key %d refused: each has a full bucket", i)
		}
		if i%10 == 0 {
			if _, _, ok := l.allow("abuser"); ok {
				t.Fatal("the abusing key regained tokens during the flood")
			}
		}
		if n := l.keys.len(); n > maxKeys {
			t.Fatalf("%d buckets after %d made-up keys; the cap is %d", n, i+1, maxKeys)
		}
	}
	var m dto.Metric
	if err := l.evicted.Write(&m); err != nil {
		t.Fatal(err)
	}
	if n := m.GetCounter().GetValue(); n < 9*maxKeys {
		t.Fatalf("%v buckets evicted at the cap, want at least %d", n, 9*maxKeys)
	}
	// Pushed out at the cap: back with a full burst.
	drain("victim of the cap")

	// Everything fills up again in burst/rate seconds; new keys then
	// push the idle buckets out, two per request.
	fc.Advance(burst * time.Second)
	for i := range maxKeys / 2 {
		l.allow(fmt.Sprintf("later-%d", i))
	}
	if n := l.keys.len(); n > maxKeys/2+1 {
		t.Fatalf("%d buckets held, want at most %d: idle buckets are not forgotten", n, maxKeys/2+1)
	}
}

// TestGlobalRefusalKeepsKeyToken: a request the server's bucket refuses
// does not happen, so its key's bucket keeps the token; and a refused
// request leaves no debt behind in the bucket that refused it, so the wait
// announced is the real one.
func TestGlobalRefusalKeepsKeyToken(t *testing.T) {
	l, fc := newTestLimiter(RateLimit{KeyRate: 1, KeyBurst: 2, GlobalRate: 0.5, GlobalBurst: 1})
	if _, _, ok := l.allow("a"); !ok {
		t.Fatal("first request refused")
	}
	for range 50 {
		wait, reason, ok := l.allow("b")
		if ok || reason != "global" || wait != 2*time.Second {
			t.Fatalf("over the global burst: ok=%v reason=%q wait=%v", ok, reason, wait)
		}
	}
	b := l.keys.m[keyID("b")].Value.(*keyBucket).lim
	if tokens := b.TokensAt(fc.Now()); tokens != 2 {
		t.Fatalf("b's bucket holds %v tokens after 50 global refusals, want its full 2", tokens)
	}
	fc.Advance(2 * time.Second)
	if _, _, ok := l.allow("b"); !ok {
		t.Fatal("refused once the global bucket had refilled: the refusals left debt")
	}
}

func keyID(key string) [32]byte {
	l, _ := newTestLimiter(RateLimit{KeyRate: 1, KeyBurst: 1})
	l.allow(key)
	for id := range l.keys.m {
		return id
	}
	panic("no bucket")
}

// TestLimitsOff: a zero or infinite rate limits nothing and holds no
// bucket.
func TestLimitsOff(t *testing.T) {
	for _, c := range []RateLimit{{}, {KeyRate: inf(), KeyBurst: 1, GlobalRate: inf(), GlobalBurst: 1}} {
		l, _ := newTestLimiter(c)
		for i := range 1000 {
			if _, _, ok := l.allow(fmt.Sprint(i % 3)); !ok {
				t.Fatalf("%+v: request %d refused", c, i)
			}
		}
		if l.keys != nil || l.global != nil {
			t.Fatalf("%+v: buckets made", c)
		}
	}
}

func inf() float64 { return math.Inf(1) }

func TestRetryAfter(t *testing.T) {
	for _, c := range []struct {
		wait time.Duration
		want int
	}{
		{time.Nanosecond, 1}, {time.Millisecond, 1}, {time.Second, 1}, {time.Second + time.Nanosecond, 2},
		{4 * time.Second, 4}, {90 * time.Minute, 5400}, {1<<63 - 1, 1<<31 - 1},
	} {
		if got := retryAfter(c.wait); got != c.want {
			t.Errorf("retryAfter(%v) = %d, want %d", c.wait, got, c.want)
		}
	}
	if e := throttled(1); e.Message != "Request was throttled. Expected available in 1 second." {
		t.Errorf("singular: %q", e.Message)
	}
}

// TestCheckIPAllowed: the peer address decides, IPv4 and IPv6, an IPv4
// peer on an IPv6 socket as its IPv4 address; forwarding headers are not
// believed; a RemoteAddr that is no address is refused by any allowlist.
func TestCheckIPAllowed(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewJSONHandler(&logs, nil))}
	org := offramp.Org{ID: uuid.New(), IPAllowlist: []netip.Prefix{
		netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32"),
	}}
	for _, c := range []struct {
		remote string
		header map[string]string
		ok     bool
	}{
		{"203.0.113.9:4711", nil, true},
		{"[2001:db8::5]:4711", nil, true},
		{"[::ffff:203.0.113.9]:4711", nil, true},
		{"[2001:db8::5%eth0]:4711", nil, true},
		{"198.51.100.1:4711", nil, false},
		{"[2001:db9::1]:4711", nil, false},
		{"198.51.100.1:4711", map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9", "Forwarded": "for=203.0.113.9"}, false},
		{"203.0.113.9", nil, false}, // no port: not a peer address
		{"", nil, false},
		{"@", nil, false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.RemoteAddr = c.remote
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		err := s.checkIPAllowed(r, org)
		if (err == nil) != c.ok {
			t.Errorf("from %q %v: %v, want allowed=%v", c.remote, c.header, err, c.ok)
		}
		if err != nil {
			if offramp.ErrorCode(err) != offramp.CodeIPNotAllowed || httpStatus[offramp.CodeIPNotAllowed] != http.StatusForbidden {
				t.Errorf("refusal: %v", err)
			}
		}
	}
	// No allowlist: every address, even none.
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	r.RemoteAddr = ""
	if err := s.checkIPAllowed(r, offramp.Org{}); err != nil {
		t.Errorf("without an allowlist: %v", err)
	}
}
