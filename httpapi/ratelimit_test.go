package httpapi_test

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/httpapi"
)

// The rate-limit tests run on the env's fake clock, which stands still
// unless a test moves it: no bucket refills while requests are in flight,
// so every count below is exact, whatever the machine's speed.

const cheapPath = "/pos/api/v1/payout/configuration" // signed, reads no table

// otherClient is a client of a second organization of e (its own key).
func otherClient(t *testing.T, e *env, name string) *client {
	t.Helper()
	o, err := e.Svc.CreateOrg(t.Context(), name, offramp.EnvSandbox, "test")
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.key, c.secret = o.APIKey, o.APISecret
	return c
}

// expectThrottled fails unless r is the 429 of a rate limit that frees a
// token in secs seconds.
func expectThrottled(t *testing.T, r resp, secs int) {
	t.Helper()
	unit := "seconds"
	if secs == 1 {
		unit = "second"
	}
	msg := "Request was throttled. Expected available in " + strconv.Itoa(secs) + " " + unit + "."
	expectErr(t, r, http.StatusTooManyRequests, "detail", msg)
	if r.ErrCode != "throttled" {
		t.Fatalf("err_code %q, want throttled: %s", r.ErrCode, r.Raw)
	}
	if got := r.Header.Get("Retry-After"); got != strconv.Itoa(secs) {
		t.Fatalf("Retry-After %q, want %d", got, secs)
	}
}

// throttledCount reads offramp_http_throttled_total{reason} from /metrics.
func throttledCount(t *testing.T, e *env, reason string) int {
	t.Helper()
	res, err := http.Get(e.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	prefix := `offramp_http_throttled_total{reason="` + reason + `"} `
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s%s", prefix, v)
			}
			return n
		}
	}
	t.Fatalf("/metrics has no %s", prefix)
	return 0
}

// TestRateLimitPerKey: one key sends ten times its burst at once; exactly
// the burst passes and every other request is a 429 in the envelope with
// Retry-After from the bucket (a token every 4 s at 0.25/s), counted by
// reason "key". Meanwhile a second key, sending its own burst through the
// flood, gets no 429. Time frees the first key's tokens at the rate, no
// faster: the refused requests left no debt in its bucket.
func TestRateLimitPerKey(t *testing.T) {
	const burst = 5
	e := newEnv(t, func(o *envOpts) {
		o.rateLimit = httpapi.RateLimit{KeyRate: 0.25, KeyBurst: burst, GlobalRate: 1000, GlobalBurst: 1000}
	})
	flooder, calm := e.client(), otherClient(t, e, "Calm Exchange")

	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	next := make(chan struct{})
	go func() {
		for range 10 * burst {
			next <- struct{}{}
		}
		close(next)
	}()
	for range 8 {
		wg.Go(func() {
			for range next {
				r := flooder.do("GET", cheapPath, nil)
				if r.Code == http.StatusTooManyRequests {
					expectThrottled(t, r, 4)
				}
				mu.Lock()
				codes[r.Code]++
				mu.Unlock()
			}
		})
	}
	for i := range burst {
		if r := calm.do("GET", cheapPath, nil); r.Code != http.StatusOK {
			t.Errorf("the second key's request %d during the flood: %d %s", i+1, r.Code, r.Raw)
		}
	}
	wg.Wait()
	if codes[http.StatusOK] != burst || codes[http.StatusTooManyRequests] != 9*burst || len(codes) != 2 {
		t.Fatalf("10 × burst from one key answered %v, want %d × 200 and %d × 429", codes, burst, 9*burst)
	}
	if n := throttledCount(t, e, "key"); n != 9*burst {
		t.Fatalf("throttled by key: %d, want %d", n, 9*burst)
	}
	if n := throttledCount(t, e, "global"); n != 0 {
		t.Fatalf("throttled globally: %d, want 0", n)
	}

	// 2 s in, half a token: still refused, now for 2 s.
	e.Clock.Advance(2 * time.Second)
	expectThrottled(t, flooder.do("GET", cheapPath, nil), 2)
	// 4 s in, one token: one request, then refused for 4 s again.
	e.Clock.Advance(2 * time.Second)
	expectOK(t, flooder.do("GET", cheapPath, nil), http.StatusOK)
	expectThrottled(t, flooder.do("GET", cheapPath, nil), 4)
	// A bucket refills up to its burst, no more.
	e.Clock.Advance(time.Hour)
	for range burst {
		expectOK(t, flooder.do("GET", cheapPath, nil), http.StatusOK)
	}
	expectThrottled(t, flooder.do("GET", cheapPath, nil), 4)

	// The limit comes before authentication: a refused request with a
	// wrong signature is a 429, not a 401 (and costs no lookup).
	bad := *flooder
	bad.secret = "not-the-secret"
	expectThrottled(t, bad.do("GET", cheapPath, nil), 4)
}

// TestRateLimitGlobal: the server's bucket refuses once it is empty,
// whichever key asks (reason "global", Retry-After from that bucket); a
// request without a key counts against it too. A key flooding past its own
// limit spends none of it: the other keys still get the server's tokens.
func TestRateLimitGlobal(t *testing.T) {
	t.Run("shared", func(t *testing.T) {
		e := newEnv(t, func(o *envOpts) {
			o.rateLimit = httpapi.RateLimit{KeyRate: 1000, KeyBurst: 1000, GlobalRate: 0.5, GlobalBurst: 4}
		})
		a, b := e.client(), otherClient(t, e, "B")
		for i, c := range []*client{a, b, a, b} {
			if r := c.do("GET", cheapPath, nil); r.Code != http.StatusOK {
				t.Fatalf("request %d within the global burst: %d %s", i+1, r.Code, r.Raw)
			}
		}
		expectThrottled(t, a.do("GET", cheapPath, nil), 2)
		expectThrottled(t, b.do("GET", cheapPath, nil), 2)
		// No key at all: refused by the server's bucket before the 401.
		expectThrottled(t, a.doRaw("GET", cheapPath, nil, map[string]string{"X-API-KEY": ""}), 2)
		if n := throttledCount(t, e, "global"); n != 3 {
			t.Fatalf("throttled globally: %d, want 3", n)
		}
		e.Clock.Advance(2 * time.Second)
		expectOK(t, b.do("GET", cheapPath, nil), http.StatusOK)
		expectThrottled(t, a.do("GET", cheapPath, nil), 2)
	})
	t.Run("a key's flood spares it", func(t *testing.T) {
		e := newEnv(t, func(o *envOpts) {
			o.rateLimit = httpapi.RateLimit{KeyRate: 0.25, KeyBurst: 3, GlobalRate: 0.5, GlobalBurst: 6}
		})
		a, b, c := e.client(), otherClient(t, e, "B"), otherClient(t, e, "C")
		ok := 0
		for range 20 {
			if r := a.do("GET", cheapPath, nil); r.Code == http.StatusOK {
				ok++
			} else {
				expectThrottled(t, r, 4)
			}
		}
		if ok != 3 {
			t.Fatalf("the flooding key got %d answers, want its burst, 3", ok)
		}
		// The server's bucket lost only the 3 requests that ran.
		for range 3 {
			expectOK(t, b.do("GET", cheapPath, nil), http.StatusOK)
		}
		// Now it is empty: C, with a full bucket of its own, is refused
		// by the server's.
		expectThrottled(t, c.do("GET", cheapPath, nil), 2)
		if k, g := throttledCount(t, e, "key"), throttledCount(t, e, "global"); k != 17 || g != 1 {
			t.Fatalf("throttled: %d by key, %d globally; want 17 and 1", k, g)
		}
	})
}
