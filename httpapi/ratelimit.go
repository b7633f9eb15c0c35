package httpapi

import (
	"container/list"
	"crypto/sha256"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/offramp/offramp"
)

// Rate limits of the signed API routes: a token bucket per API key, so one
// exchange's flood (or bug) cannot take the others' share of the server,
// and one bucket for the whole server, which bounds the work all callers
// together can cause, unknown keys included.
//
// A request is charged before anything else is done with it: before its
// body is read, before its key is looked up and before its signature is
// checked, so that refusing a flood costs no database work and no HMAC.
// The price is that a bucket is keyed by the X-API-KEY header as sent, and
// the key travels with every request: whoever learns an organization's key
// (not its secret) can spend that organization's bucket. The global bucket
// is charged only by requests their key's bucket let through, so a key
// flooding past its own limit does not drain it for the others.

// Defaults of `offramp serve`. The global limit is ten times one key's, so
// a key at its limit leaves room for nine more.
const (
	DefaultKeyRate     = 100  // requests per second per API key
	DefaultKeyBurst    = 200  // requests one key may send at once
	DefaultGlobalRate  = 1000 // requests per second for the server
	DefaultGlobalBurst = 2000
	// DefaultMaxKeyBuckets caps the per-key buckets held in memory, about
	// 250 bytes each (see keyBuckets for what happens at the cap).
	DefaultMaxKeyBuckets = 10000
)

// RateLimit configures the limits. Rates are requests per second; a rate
// of 0, negative, NaN or +Inf leaves that limit off (the CLI refuses all
// but +Inf, "inf", which turns a limit off on purpose). A burst is the
// number of requests a full bucket lets through at once; below 1 it is 1.
type RateLimit struct {
	KeyRate     float64
	KeyBurst    int
	GlobalRate  float64
	GlobalBurst int
	// MaxKeys caps the number of per-key buckets (0: DefaultMaxKeyBuckets).
	MaxKeys int
	// Clock is what the buckets fill by (nil: the system clock).
	Clock offramp.Clock
}

func limitOn(r float64) bool { return r > 0 && !math.IsInf(r, 1) && !math.IsNaN(r) }

// limiter holds the buckets and counts what they refuse.
type limiter struct {
	clock offramp.Clock
	// mu makes each request's decision (charge its key, then the server,
	// give the key's token back if the server refuses) one step. Without
	// it a refused reservation's cancellation could not restore its token
	// once another request had reserved after it, and a refused flood
	// would pile up debt in its bucket, throttling its key for longer than
	// the rate says.
	mu        sync.Mutex
	keys      *keyBuckets   // nil: no per-key limit
	global    *rate.Limiter // nil: no global limit
	throttled *prometheus.CounterVec
	evicted   prometheus.Counter
}

func newLimiter(c RateLimit, reg prometheus.Registerer) *limiter {
	l := &limiter{
		clock: c.Clock,
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offramp_http_throttled_total",
			Help: "Signed API requests refused with 429 by a rate limit, by reason: key (the API key's bucket) or global (the server's).",
		}, []string{"reason"}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "offramp_http_rate_limit_evictions_total",
			Help: "Per-key rate-limit buckets dropped while not yet full because the bucket cap was reached (many distinct keys at once: a flood of random keys?).",
		}),
	}
	if l.clock == nil {
		l.clock = offramp.SystemClock{}
	}
	for _, reason := range []string{"key", "global"} {
		l.throttled.WithLabelValues(reason) // exported at 0 from the start
	}
	if reg != nil {
		reg.MustRegister(l.throttled, l.evicted)
	}
	if limitOn(c.KeyRate) {
		maxKeys := c.MaxKeys
		if maxKeys <= 0 {
			maxKeys = DefaultMaxKeyBuckets
		}
		l.keys = &keyBuckets{limit: rate.Limit(c.KeyRate), burst: max(c.KeyBurst, 1), max: maxKeys,
			m: map[[sha256.Size]byte]*list.Element{}, evicted: l.evicted}
	}
	if limitOn(c.GlobalRate) {
		l.global = rate.NewLimiter(rate.Limit(c.GlobalRate), max(c.GlobalBurst, 1))
	}
	return l
}

// allow charges one request of key; when it is refused it returns how long
// until the refusing bucket holds a token, and which bucket refused. An
// empty key (the request will fail authentication) is charged to the
// global bucket only.
func (l *limiter) allow(key string) (wait time.Duration, reason string, ok bool) {
	if l.keys == nil && l.global == nil {
		return 0, "", true
	}
	var id [sha256.Size]byte
	if l.keys != nil && key != "" {
		// A fixed-size name: a flood of long random keys costs the map
		// no more than short ones.
		id = sha256.Sum256([]byte(key))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	var charged *rate.Reservation
	if l.keys != nil && key != "" {
		charged = l.keys.bucket(id, now).ReserveN(now, 1)
		if d := charged.DelayFrom(now); d > 0 {
			charged.CancelAt(now)
			return d, "key", false
		}
	}
	if l.global != nil {
		g := l.global.ReserveN(now, 1)
		if d := g.DelayFrom(now); d > 0 {
			g.CancelAt(now)
			if charged != nil {
				// The request does not happen: the key keeps its token.
				charged.CancelAt(now)
			}
			return d, "global", false
		}
	}
	return 0, "", true
}

// keyBuckets is the bounded set of per-key buckets, most recently used
// first. A bucket that has filled up again is what a new one would be, so
// it is forgotten as soon as it reaches the idle end: memory follows the
// keys in use over the last burst/rate seconds (2 s at the defaults). At
// the cap (max buckets, all of them recently used: max distinct keys
// within about 2 s, which only a flood of made-up keys reaches) the least
// recently used bucket is dropped even though it is not full, and counted
// (offramp_http_rate_limit_evictions_total): if its key comes back it
// starts over with a full burst. Memory is bounded whatever the keys; the
// cost of the cap is that leniency, which a key under way cannot exploit
// by itself, since its own requests keep its bucket at the busy end; and
// requests with made-up keys all pass through the global bucket.
type keyBuckets struct {
	limit   rate.Limit
	burst   int
	max     int
	m       map[[sha256.Size]byte]*list.Element
	lru     list.List // of *keyBucket, most recently used first
	evicted prometheus.Counter
}

type keyBucket struct {
	id  [sha256.Size]byte
	lim *rate.Limiter
}

// bucket returns id's bucket, created full if needed, and marks it used.
// The caller holds limiter.mu.
func (b *keyBuckets) bucket(id [sha256.Size]byte, now time.Time) *rate.Limiter {
	b.forgetIdle(now, 2)
	if el, ok := b.m[id]; ok {
		b.lru.MoveToFront(el)
		return el.Value.(*keyBucket).lim
	}
	if len(b.m) >= b.max {
		b.forgetIdle(now, len(b.m))
	}
	if len(b.m) >= b.max {
		el := b.lru.Back()
		b.lru.Remove(el)
		delete(b.m, el.Value.(*keyBucket).id)
		b.evicted.Inc()
	}
	kb := &keyBucket{id: id, lim: rate.NewLimiter(b.limit, b.burst)}
	b.m[id] = b.lru.PushFront(kb)
	return kb.lim
}

// forgetIdle drops up to n buckets from the idle end that are full again,
// stopping at the first that is not: O(1) per request in the steady state.
func (b *keyBuckets) forgetIdle(now time.Time, n int) {
	for range n {
		el := b.lru.Back()
		if el == nil {
			return
		}
		kb := el.Value.(*keyBucket)
		if kb.lim.TokensAt(now) < float64(b.burst) {
			return
		}
		b.lru.Remove(el)
		delete(b.m, kb.id)
	}
}

// len is the number of buckets held (for tests).
func (b *keyBuckets) len() int { return len(b.m) }

// throttle wraps a signed route with the rate limits: a refused request is
// answered 429 in the envelope, with Retry-After in whole seconds (at
// least 1) until the refusing bucket holds a token again.
func (s *Server) throttle(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wait, reason, ok := s.limits.allow(r.Header.Get("X-API-KEY"))
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		s.limits.throttled.WithLabelValues(reason).Inc()
		secs := retryAfter(wait)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, r, s.log, throttled(secs))
	})
}

// retryAfter rounds a wait up to whole seconds, at least 1: a client that
// waits that long finds a token.
func retryAfter(wait time.Duration) int {
	secs := math.Ceil(wait.Seconds())
	switch {
	case secs < 1:
		return 1
	case secs > math.MaxInt32:
		return math.MaxInt32
	}
	return int(secs)
}

// throttled is the 429 error, worded as Django REST framework words its
// throttling message (DollarPe's validation messages are DRF's), under
// "detail", DRF's key for it.
func throttled(secs int) *offramp.Error {
	unit := "seconds"
	if secs == 1 {
		unit = "second"
	}
	msg := fmt.Sprintf("Request was throttled. Expected available in %d %s.", secs, unit)
	return &offramp.Error{Code: offramp.CodeThrottled, Message: msg, Fields: map[string][]string{"detail": {msg}}}
}
