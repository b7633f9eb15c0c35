package cashfree

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ProductionBaseURL is the documented production host of the Verification
// API; SandboxBaseURL is Cashfree's test environment.
const (
	ProductionBaseURL = "https://api.cashfree.com/verification"
	SandboxBaseURL    = "https://sandbox.cashfree.com/verification"
)

// DefaultTimeout bounds one call when Config.HTTPClient is nil. It stays
// well inside a verification job's lease.
const DefaultTimeout = 20 * time.Second

// maxBody caps how much of an answer is read.
const maxBody = 1 << 20

// Config configures a Client.
type Config struct {
	// BaseURL defaults to ProductionBaseURL.
	BaseURL string
	// ClientID and ClientSecret are the Secure ID API keys (x-client-id,
	// x-client-secret). Both are required.
	ClientID     string
	ClientSecret string
	// APIVersion, when set, is sent as x-api-version.
	APIVersion string
	// HTTPClient defaults to a client with DefaultTimeout.
	HTTPClient *http.Client
}

// String shows the configuration without its secret, so that a Config
// printed with %v or %+v cannot leak it.
func (c Config) String() string {
	return fmt.Sprintf("cashfree.Config{BaseURL:%q ClientID:%q ClientSecret:%s APIVersion:%q}",
		c.BaseURL, c.ClientID, redacted(c.ClientSecret), c.APIVersion)
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the secret out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.BaseURL), slog.String("client_id", c.ClientID),
		slog.String("client_secret", redacted(c.ClientSecret)))
}

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}

// Client calls Cashfree's Verification API. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	id      string
	secret  string
	version string
	http    *http.Client
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = ProductionBaseURL
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("cashfree verification: client id and client secret are required")
	}
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("cashfree verification: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if u.User != nil {
		return nil, errors.New("cashfree verification: base URL must not carry credentials")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	return &Client{base: u, id: cfg.ClientID, secret: cfg.ClientSecret, version: cfg.APIVersion, http: hc}, nil
}

// Error is an answer of the API other than a success: the HTTP status and
// the documented {"type", "code", "message"} body (empty fields when the
// body was not of that shape).
type Error struct {
	Op         string // "POST /pan"
	HTTPStatus int
	Type       string // validation_error, authentication_error, rate_limit_error, internal_error, ...
	Code       string // pan_length_short, authentication_failed, too_many_requests_per_ip, ...
	Message    string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cashfree verification: %s: HTTP %d", e.Op, e.HTTPStatus)
	if e.Type != "" || e.Code != "" {
		fmt.Fprintf(&b, " %s/%s", e.Type, e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Temporary reports whether trying again later may succeed by itself: a
// 5xx or a 429.
func (e *Error) Temporary() bool {
	return e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusTooManyRequests
}

// apiError is the documented error body.
type apiError struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// do sends one request and decodes a 2xx answer into out. Any other answer
// is an *Error; a transport failure is wrapped.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	op := method + " " + path
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("cashfree verification: %s: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	u := *c.base
	u.Path = c.base.Path + path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("cashfree verification: %s: %w", op, err)
	}
	req.Header.Set("x-client-id", c.id)
	req.Header.Set("x-client-secret", c.secret)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.version != "" {
		req.Header.Set("x-api-version", c.version)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// net/http's *url.Error names the URL (which carries no
		// credentials: New refuses user info) and never the headers.
		return fmt.Errorf("cashfree verification: %s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("cashfree verification: %s: reading the answer: %w", op, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Op: op, HTTPStatus: resp.StatusCode}
		var ae apiError
		if json.Unmarshal(raw, &ae) == nil {
			e.Type, e.Code, e.Message = ae.Type, ae.Code, c.scrub(ae.Message)
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("cashfree verification: %s: HTTP %d with an undecodable body: %w", op, resp.StatusCode, err)
	}
	return nil
}

// scrub removes the secret from text that came from the provider, in case
// an answer ever echoed it.
func (c *Client) scrub(s string) string {
	if c.secret == "" {
		return s
	}
	return strings.ReplaceAll(s, c.secret, "[redacted]")
}

// Check proves that the keys, the base URL and (in production) the IP
// whitelisting work, without verifying anything: it reads a PAN result
// that cannot exist, GET /pan/0, which Cashfree answers 404
// referenceId_not_found once it has authenticated the caller. A nil error
// means the API accepted the keys.
func (c *Client) Check(ctx context.Context) error {
	err := c.do(ctx, http.MethodGet, "/pan/0", nil, nil)
	var e *Error
	if errors.As(err, &e) && e.HTTPStatus == http.StatusNotFound {
		return nil
	}
	return err
}

// flexString decodes a JSON string, number or null into a string: the
// documented examples send name_match_score both as 100 and as "100.00".
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}
