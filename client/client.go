package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/offramp/offramp/backoff"
	"github.com/offramp/offramp/signature"
)

// sdkAgent is the SDK's token in the User-Agent header.
const sdkAgent = "offramp-go/1"

// maxResponse bounds how much of a response body is read.
const maxResponse = 32 << 20

// Client calls an Offramp (or DollarPe-compatible) API with one
// organization's credentials. It is safe for concurrent use.
type Client struct {
	baseURL   string
	apiKey    string
	apiSecret string

	hc         *http.Client
	attempts   int
	minBackoff time.Duration
	maxBackoff time.Duration
	userAgent  string
	observer   func(Exchange)
}

// Option configures a Client.
type Option func(*Client)

// New returns a client for the API at baseURL (for example
// "http://127.0.0.1:8080" or "https://sandbox-api.dollarpe.xyz") signing with
// the organization's API key and secret.
//
// By default a request is tried up to 5 times, waiting 1 s to 30 s between
// attempts, with a 60 s timeout per attempt, and redirects are not
// followed.
func New(baseURL, apiKey, apiSecret string, opts ...Option) *Client {
	c := &Client{
		baseURL:    strings.TrimRight(baseURL, "/"),
		apiKey:     apiKey,
		apiSecret:  apiSecret,
		attempts:   5,
		minBackoff: time.Second,
		maxBackoff: 30 * time.Second,
		userAgent:  sdkAgent,
	}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = &http.Client{
			Timeout: 60 * time.Second,
			// A redirect would carry the signed headers to another URL;
			// answer the 3xx to the caller instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return c
}

// WithHTTPClient makes the client send its requests through hc (for its
// transport, proxy, TLS settings or timeout). nil keeps the default.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.hc = hc }
}

// WithRetry sets how many times a request is tried in all (at least 1) and
// the bounds of the wait between attempts: exponential back-off from
// minBackoff, capped at maxBackoff, with full jitter between the two. The
// default is 5 attempts, 1 s .. 30 s.
//
// Only network errors (connection refused or reset, timeouts), 429 and 5xx
// answers are retried; a Retry-After header replaces the computed wait.
// Other 4xx answers are returned at once, and so is the last error when the
// context's deadline would pass before the next attempt. Every attempt is
// signed afresh and sends the same body (and, for InitiatePayout, the same
// Idempotency-Key).
func WithRetry(maxAttempts int, minBackoff, maxBackoff time.Duration) Option {
	return func(c *Client) {
		c.attempts = max(maxAttempts, 1)
		c.minBackoff = max(minBackoff, 0)
		c.maxBackoff = max(maxBackoff, c.minBackoff)
	}
}

// WithUserAgent puts ua before the SDK's own token in the User-Agent header
// ("ua offramp-go/1").
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua = strings.TrimSpace(ua); ua != "" {
			c.userAgent = ua + " " + sdkAgent
		}
	}
}

// WithObserver calls fn after every HTTP exchange, each attempt of a retried
// request included, for logging or showing the traffic. fn runs on the
// calling goroutine and must not modify the slices it is given.
func WithObserver(fn func(Exchange)) Option {
	return func(c *Client) { c.observer = fn }
}

// Exchange is one HTTP request and its answer, as given to an observer.
type Exchange struct {
	Method string
	// Path is the request's path with its query string, if any.
	Path string
	// RequestBody is the exact body sent (nil without one).
	RequestBody []byte
	// StatusCode is 0 when no answer came (see Err).
	StatusCode   int
	ResponseBody []byte
	// Attempt counts from 1.
	Attempt  int
	Duration time.Duration
	// Err is the network error of an attempt that got no (complete)
	// answer.
	Err error
}

// call is one API request.
type call struct {
	method string
	path   string
	query  url.Values
	// body is JSON-encoded and sent in canonical form; nil sends none.
	body   any
	header http.Header
	// out receives the envelope's data; nil ignores it.
	out any
}

// do sends the request, retrying as configured, and decodes the answer.
func (c *Client) do(ctx context.Context, r call) error {
	// The bytes sent are the canonical bytes signed: compact, sorted keys,
	// non-ASCII escaped, exactly what the server re-renders to verify.
	var raw []byte
	canonical := []byte("{}")
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("offramp: encoding the %s body: %w", r.path, err)
		}
		if canonical, err = signature.Canonicalize(b, signature.FormCompactASCII); err != nil {
			return fmt.Errorf("offramp: encoding the %s body: %w", r.path, err)
		}
		raw = canonical
	}
	shown := r.path
	if q := r.query.Encode(); q != "" {
		shown += "?" + q
	}
	target := c.baseURL + shown
	mutating := r.method != http.MethodGet && r.method != http.MethodHead

	for attempt := 1; ; attempt++ {
		ts := time.Now().Unix()
		if mutating {
			// A POST or PATCH signature is single-use on the server: never
			// sign the same body twice with one timestamp.
			var err error
			if ts, err = stamps.next(ctx, c.apiKey, canonical); err != nil {
				return err
			}
		}
		req, err := c.newRequest(ctx, r, target, raw, ts, canonical)
		if err != nil {
			return err
		}

		start := time.Now()
		res, err := c.hc.Do(req)
		var (
			status int
			body   []byte
			header http.Header
		)
		if err == nil {
			status, header = res.StatusCode, res.Header
			body, err = io.ReadAll(io.LimitReader(res.Body, maxResponse))
			res.Body.Close()
		}
		if c.observer != nil {
			c.observer(Exchange{
				Method: r.method, Path: shown, RequestBody: raw, StatusCode: status, ResponseBody: body,
				Attempt: attempt, Duration: time.Since(start), Err: err,
			})
		}

		var last error
		wait := time.Duration(-1)
		switch {
		case err != nil:
			if ctx.Err() != nil || !retryable(err) {
				return err
			}
			last = err
		case status >= 200 && status < 300:
			return decodeData(r, status, header, body)
		default:
			e := newError(status, header, body)
			if status != http.StatusTooManyRequests && status < 500 {
				return e
			}
			last = e
			wait = retryAfter(header.Get("Retry-After"), time.Now())
		}

		if attempt >= c.attempts {
			return last
		}
		if wait < 0 {
			wait = c.backoff(attempt)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			// The next attempt could not start in time: the last answer
			// says more than a deadline error would.
			return last
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("offramp: %s %s: %w (last attempt: %w)", r.method, r.path, ctx.Err(), last)
		case <-t.C:
		}
	}
}

func (c *Client) newRequest(ctx context.Context, r call, target string, raw []byte, ts int64, canonical []byte) (*http.Request, error) {
	var body io.Reader
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("offramp: %w", err)
	}
	// Without GetBody, net/http never resends the request by itself (it
	// would for a request carrying an Idempotency-Key): a resend would
	// carry the same, already used, signature. Retries are done here,
	// each signed afresh.
	req.GetBody = nil
	for k, v := range r.header {
		req.Header[k] = v
	}
	tsText := strconv.FormatInt(ts, 10)
	req.Header.Set("X-API-KEY", c.apiKey)
	req.Header.Set("X-TIMESTAMP", tsText)
	req.Header.Set("X-SIGNATURE", signature.Sign(c.apiKey, c.apiSecret, tsText, canonical))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// backoff is the wait after failed attempt n (from 1): a uniform draw
// between minBackoff and a ceiling that doubles per attempt,
// min(maxBackoff, minBackoff·2ⁿ) (from 100 ms·2ⁿ when minBackoff is
// smaller). Both the ceiling and the draw are package backoff's policy: the
// ceiling is the nominal delay of a doubling Policy, the draw a Policy
// centred between the bounds whose jitter reaches both ("full jitter").
func (c *Client) backoff(n int) time.Duration {
	if c.maxBackoff <= c.minBackoff {
		return c.minBackoff
	}
	floor := max(c.minBackoff, 100*time.Millisecond)
	ceil, _ := backoff.Policy{Base: 2 * floor, Max: c.maxBackoff}.Nominal(n)
	if ceil <= c.minBackoff {
		return c.minBackoff
	}
	mid := c.minBackoff + (ceil-c.minBackoff)/2
	d, _ := backoff.Policy{Base: mid, Jitter: float64(ceil-mid) / float64(mid)}.Delay(1)
	// Guard the bounds against float rounding.
	return min(max(d, c.minBackoff), ceil)
}

// retryAfter reads a Retry-After header (seconds or an HTTP date); -1 if
// absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return -1
		}
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return -1
}

// retryable tells whether a transport error may go away on a new attempt:
// connection refused or reset, a dropped connection, a timeout. TLS
// certificate problems, unknown hosts and malformed URLs do not.
func retryable(err error) bool {
	// *url.Error itself satisfies net.Error: judge what it wraps.
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		hostErr x509.HostnameError
		authErr x509.UnknownAuthorityError
		invErr  x509.CertificateInvalidError
		recErr  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &dnsErr):
		return !dnsErr.IsNotFound
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &authErr), errors.As(err, &invErr), errors.As(err, &recErr):
		return false
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// envelope is the API's answer: {status, message, data, errors, err_code}.
type envelope struct {
	Status  *bool           `json:"status"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Errors  json.RawMessage `json:"errors"`
	ErrCode string          `json:"err_code"`
}

// decodeData decodes a 2xx answer's data into r.out.
func decodeData(r call, status int, header http.Header, body []byte) error {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return newError(status, header, body)
	}
	if env.Status != nil && !*env.Status {
		return newError(status, header, body)
	}
	if r.out == nil {
		return nil
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return &Error{StatusCode: status, Message: "the response carries no data", RequestID: header.Get("X-Request-ID")}
	}
	if err := json.Unmarshal(env.Data, r.out); err != nil {
		return fmt.Errorf("offramp: decoding the %s %s response: %w", r.method, r.path, err)
	}
	return nil
}

// pathSeg escapes one path segment, refusing an empty one (it would name
// another endpoint).
func pathSeg(what, v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("offramp: %s is empty", what)
	}
	return url.PathEscape(v), nil
}
