package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offramp/offramp"
)

type ctxKey struct{}

// reqInfo is per-request state shared by the middlewares and handlers. It
// is a pointer in the context so that the organization found by the auth
// middleware is visible to the access log wrapped around it.
type reqInfo struct {
	id  string
	org offramp.Org
	// replayed marks an answer repeated for an Idempotency-Key.
	replayed bool
	// readSignature marks a mutating request whose signature reads used
	// (it signs {}, as every GET of its second does): it may answer, but
	// may not write (see signed).
	readSignature bool
}

func info(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(ctxKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

func requestID(ctx context.Context) string { return info(ctx).id }

// orgFrom returns the authenticated organization of a request.
func orgFrom(ctx context.Context) offramp.Org { return info(ctx).org }

var safeRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,128}$`)

// statusRecorder remembers the status a handler wrote, for logs and metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	jsForm   prometheus.Counter
	repeats  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offramp_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "offramp_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		jsForm: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "offramp_signature_js_replacer_total",
			Help: "Requests accepted with the JavaScript-snippet signature form (nested keys unsigned), for opted-in organizations.",
		}),
		repeats: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "offramp_signature_repeats_total",
			Help: "Repeats of a signed mutating request (same signature, method and target) answered with the first copy's stored answer.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.jsForm, m.repeats)
	}
	return m
}

// observe is the outermost middleware: request id, panic recovery, access
// log and metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !safeRequestID.MatchString(id) {
			var b [16]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-ID", id)
		ctx := context.WithValue(r.Context(), ctxKey{}, &reqInfo{id: id})
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				// The stack goes to the log only; the client gets the
				// documented 500 body.
				s.log.ErrorContext(ctx, "panic", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeError(rec, r, s.log, fmt.Errorf("panic: %v", p))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			code := rec.status
			if code == 0 {
				code = http.StatusOK
			}
			s.metrics.requests.WithLabelValues(route, r.Method, fmt.Sprint(code)).Inc()
			s.metrics.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
			attrs := []any{"request_id", id, "method", r.Method, "path", r.URL.Path, "status", code, "duration_ms", float64(time.Since(start).Microseconds()) / 1000}
			if o := orgFrom(r.Context()); o.ID != [16]byte{} {
				attrs = append(attrs, "org_id", o.ID.String())
			}
			s.log.InfoContext(ctx, "request", attrs...)
		}()
		next.ServeHTTP(rec, r)
	})
}
