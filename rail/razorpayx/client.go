package razorpayx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/offramp/offramp"
)

// Provider is the RailAccount.Provider under which the adapter remembers
// RazorpayX contacts and fund accounts.
const Provider = "razorpayx"

// DefaultBaseURL is RazorpayX's API.
const DefaultBaseURL = "https://api.razorpay.com"

// maxResponse bounds what the adapter reads of a response.
const maxResponse = 1 << 20

// Config configures a Rail or a BankVerifier.
type Config struct {
	// BaseURL is the API's root; empty means DefaultBaseURL.
	BaseURL string
	// KeyID and KeySecret are the API key (HTTP basic auth). Required.
	KeyID, KeySecret string
	// AccountNumber is the RazorpayX business account payouts are made
	// from (the customer identifier or current account number). Required.
	AccountNumber string
	// WebhookSecret is the secret set on the RazorpayX webhook; without it
	// every webhook is refused.
	WebhookSecret string
	// HTTPClient makes the requests; nil means a client with a 60 s
	// timeout. Callers' contexts bound every call as well.
	HTTPClient *http.Client
	// Store remembers contacts and fund accounts (RailAccount). Nil: none
	// is remembered and RazorpayX's duplicate handling is relied on.
	Store offramp.Store
	// Clock stamps remembered accounts; nil means offramp.SystemClock.
	Clock offramp.Clock
	// Log receives the adapter's diagnostics; nil discards them.
	Log *slog.Logger
}

// client is the authenticated HTTP side shared by Rail and BankVerifier.
type client struct {
	base    *url.URL
	keyID   string
	secret  string
	account string
	http    *http.Client
	store   offramp.Store
	clock   offramp.Clock
	log     *slog.Logger
}

func newClient(cfg Config) (*client, error) {
	raw := cfg.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(raw)
	switch {
	case err != nil, base.Scheme != "http" && base.Scheme != "https", base.Host == "":
		return nil, errors.New("razorpayx: BaseURL must be an http(s) URL")
	case base.User != nil:
		return nil, errors.New("razorpayx: BaseURL must not carry credentials: use KeyID and KeySecret")
	case cfg.KeyID == "" || cfg.KeySecret == "":
		return nil, errors.New("razorpayx: KeyID and KeySecret are required")
	case cfg.AccountNumber == "":
		return nil, errors.New("razorpayx: AccountNumber (the RazorpayX business account) is required")
	}
	base.Path = strings.TrimRight(base.Path, "/")
	c := &client{base: base, keyID: cfg.KeyID, secret: cfg.KeySecret, account: cfg.AccountNumber,
		http: cfg.HTTPClient, store: cfg.Store, clock: cfg.Clock, log: cfg.Log}
	if c.http == nil {
		c.http = &http.Client{Timeout: 60 * time.Second}
	}
	if c.clock == nil {
		c.clock = offramp.SystemClock{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// APIError is a non-2xx answer from RazorpayX, with its documented error
// object. Its message never quotes an account number in full.
type APIError struct {
	HTTPStatus  int
	Code        string
	Description string
	Field       string
	Source      string
	Reason      string
	// op names the call ("POST /v1/payouts"), never with its query.
	op string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "razorpayx: %s: HTTP %d", e.op, e.HTTPStatus)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	var extra []string
	if e.Reason != "" && e.Reason != "NA" && e.Reason != "null" {
		extra = append(extra, "reason "+e.Reason)
	}
	if e.Field != "" {
		extra = append(extra, "field "+e.Field)
	}
	if e.Source != "" && e.Source != "NA" {
		extra = append(extra, "source "+e.Source)
	}
	if len(extra) > 0 {
		b.WriteString(" (" + strings.Join(extra, ", ") + ")")
	}
	return b.String()
}

// transportError is a failed exchange: no HTTP answer was read. sent
// reports whether the request may have reached RazorpayX.
type transportError struct {
	op   string
	sent bool
	err  error
}

func (e *transportError) Error() string {
	if e.sent {
		return fmt.Sprintf("razorpayx: %s: no answer after the request was sent: %v", e.op, e.err)
	}
	return fmt.Sprintf("razorpayx: %s: request not sent: %v", e.op, e.err)
}

func (e *transportError) Unwrap() error { return e.err }

// notSent reports whether err certainly means the request never reached
// RazorpayX.
func notSent(err error) bool {
	var te *transportError
	return errors.As(err, &te) && !te.sent
}

// request is one API call.
type request struct {
	method string
	path   string
	query  url.Values
	body   any
	// idempotencyKey, when set, goes in X-Payout-Idempotency.
	idempotencyKey string
}

// do performs r and decodes a 2xx JSON answer into out. It returns an
// *APIError for a non-2xx answer and a *transportError when no answer was
// read.
func (c *client) do(ctx context.Context, r request, out any) error {
	op := r.method + " " + r.path
	u := *c.base
	u.Path += r.path
	u.RawQuery = r.query.Encode()
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("razorpayx: %s: encode: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	// Whether the request was written decides between "not sent" and
	// "unknown" when no answer comes back.
	var gotConn, wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		GetConn: func(string) { gotConn.Store(true) },
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	}
	doneBefore := ctx.Err() != nil
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), r.method, u.String(), body)
	if err != nil {
		return &transportError{op: op, err: errors.New("bad request URL")}
	}
	req.SetBasicAuth(c.keyID, c.secret)
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.idempotencyKey != "" {
		req.Header.Set("X-Payout-Idempotency", r.idempotencyKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error quotes the URL and its query (the business account
		// number): keep only what it wraps.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &transportError{op: op, sent: !doneBefore && !(gotConn.Load() && !wrote.Load()), err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return &transportError{op: op, sent: true, err: fmt.Errorf("reading the HTTP %d answer: %w", resp.StatusCode, err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.apiError(op, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &transportError{op: op, sent: true, err: fmt.Errorf("undecodable HTTP %d answer: %w", resp.StatusCode, err)}
	}
	return nil
}

// errorBody is RazorpayX's error object.
type errorBody struct {
	Error struct {
		Code        string `json:"code"`
		Description string `json:"description"`
		Field       string `json:"field"`
		Source      string `json:"source"`
		Step        string `json:"step"`
		Reason      string `json:"reason"`
	} `json:"error"`
}

func (c *client) apiError(op string, status int, data []byte) *APIError {
	var eb errorBody
	_ = json.Unmarshal(data, &eb) // a body that is no error object leaves the fields empty
	e := &APIError{HTTPStatus: status, op: op, Code: c.redact(eb.Error.Code), Description: c.redact(eb.Error.Description),
		Field: c.redact(eb.Error.Field), Source: c.redact(eb.Error.Source), Reason: c.redact(eb.Error.Reason)}
	if e.Description == "" {
		e.Description = http.StatusText(status)
	}
	return e
}

// digitRun finds what may be an account number in a provider's text.
var digitRun = regexp.MustCompile(`[0-9]{5,}`)

// redact masks long digit runs and drops anything that could be a
// credential from a text RazorpayX wrote, before it goes into an error.
func (c *client) redact(s string) string {
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	if c.secret != "" {
		s = strings.ReplaceAll(s, c.secret, "[redacted]")
	}
	if c.account != "" {
		s = strings.ReplaceAll(s, c.account, offramp.Mask(c.account))
	}
	return digitRun.ReplaceAllStringFunc(s, offramp.Mask)
}
