package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestStampBook(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := &stampBook{last: map[[32]byte]int64{}, now: func() time.Time { return now }}
	ctx := context.Background()
	next := func(key, body string) int64 {
		t.Helper()
		ts, err := s.next(ctx, key, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	base := now.Unix()
	// Same key and body within a second: one second apart each.
	for i := range int64(3) {
		if got := next("k", "{}"); got != base+i {
			t.Fatalf("call %d: %d, want %d", i, got, base+i)
		}
	}
	// Another body or another key is independent.
	if got := next("k", `{"a":1}`); got != base {
		t.Fatalf("other body: %d", got)
	}
	if got := next("k2", "{}"); got != base {
		t.Fatalf("other key: %d", got)
	}
	// Later, the clock catches up: max(now, last+1).
	now = now.Add(time.Second)
	if got := next("k", "{}"); got != base+3 {
		t.Fatalf("a second later: %d, want %d", got, base+3)
	}
	now = now.Add(10 * time.Second)
	if got := next("k", "{}"); got != base+11 {
		t.Fatalf("ten seconds later: %d", got)
	}
	// Past entries are dropped.
	if len(s.last) != 1 {
		t.Fatalf("%d entries kept: %v", len(s.last), s.last)
	}
	// At most maxAhead seconds ahead: then it waits for the clock (here,
	// until the context ends).
	for range maxAhead {
		next("k", "{}")
	}
	if got := s.last[stampKey("k", []byte("{}"))]; got != now.Unix()+maxAhead {
		t.Fatalf("ahead by %d", got-now.Unix())
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := s.next(short, "k", []byte("{}")); err == nil {
		t.Fatal("went beyond maxAhead")
	}
	// A clock stepped far back starts again from the clock.
	now = now.Add(-time.Hour)
	if got := next("k", "{}"); got != now.Unix() {
		t.Fatalf("after a step back: %d, want %d", got, now.Unix())
	}
}

func TestBackoff(t *testing.T) {
	c := New("http://x", "k", "s", WithRetry(5, time.Second, 30*time.Second))
	for n := 1; n <= 10; n++ {
		ceil := min(time.Second<<n, 30*time.Second)
		for range 100 {
			if d := c.backoff(n); d < time.Second || d > ceil {
				t.Fatalf("backoff(%d) = %v, want within [1s, %v]", n, d, ceil)
			}
		}
	}
	c = New("http://x", "k", "s", WithRetry(5, 0, 0))
	if d := c.backoff(3); d != 0 {
		t.Fatalf("zero bounds: %v", d)
	}
	if c.attempts != 5 {
		t.Fatal(c.attempts)
	}
	if c := New("http://x", "k", "s", WithRetry(0, time.Second, time.Millisecond)); c.attempts != 1 || c.maxBackoff != time.Second {
		t.Fatalf("WithRetry(0, 1s, 1ms): %d attempts, max %v", c.attempts, c.maxBackoff)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":     -1,
		"0":    0,
		"7":    7 * time.Second,
		"-1":   -1,
		"soon": -1,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		if got := retryAfter(in, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestDecodeShapes(t *testing.T) {
	// Initiate answers amounts as numbers, fetch as strings with both
	// spellings of the receiving amount; nulls are "".
	var p Payout
	if err := json.Unmarshal([]byte(`{"id":"p1","rate":88.5,"sending_amount":100,"receiving_amount":8703.38,"client_reference_id":null,"created_at":"2026-11-24T10:00:00.000000Z"}`), &p); err != nil {
		t.Fatal(err)
	}
	if !p.ReceivingAmount.Equal(decimal.RequireFromString("8703.38")) || p.ClientReferenceID != "" || p.CreatedAt.IsZero() || !p.UpdatedAt.IsZero() {
		t.Fatalf("%+v", p)
	}
	p = Payout{}
	if err := json.Unmarshal([]byte(`{"receiveing_amount":"1.10","utr":null,"failure_reason":null,"updated_at":""}`), &p); err != nil {
		t.Fatal(err)
	}
	if p.ReceivingAmount.String() != "1.1" || p.UTR != "" {
		t.Fatalf("%+v", p)
	}

	// DollarPe's fiat-keyed configuration.
	var cfg PayoutConfiguration
	err := json.Unmarshal([]byte(`{"inr":{"supported_assets":["usdt"],"supported_networks":["tron"],"supported_payment_methods":["imps"],
		"coin_limits":{"usdt":{"imps":{"min":10,"max":"5600"}}},"required_risk_parameters":["ip_address"]}}`), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.CoinLimits["USDT"]
	if cfg.SupportedFiats[0] != "INR" || cfg.SupportedAssets[0] != "USDT" || cfg.SupportedPaymentMethods[0] != "IMPS" ||
		cfg.SupportedNetworks[0] != "tron" || !l.Min.Equal(decimal.NewFromInt(10)) || !l.PerMethod["IMPS"].Max.Equal(decimal.NewFromInt(5600)) {
		t.Fatalf("%+v", cfg)
	}
	// The SDK's own JSON reads back.
	b, _ := json.Marshal(cfg)
	var back PayoutConfiguration
	if err := json.Unmarshal(b, &back); err != nil || !back.CoinLimits["USDT"].PerMethod["IMPS"].Max.Equal(l.Max) {
		t.Fatalf("round trip: %s, %+v, %v", b, back, err)
	}

	var lim Limits
	if err := json.Unmarshal([]byte(`{"daily_limit":200000,"available_limit":"150000.5","payment_method_limits":{"per_transaction_limit":{"IMPS":500000},"total_available_limit":{"IMPS":150000.5}},
		"limit_reset_timestamp":1795545000,"full_limit_reset_timestamp":"2026-11-24T18:30:00.000000Z","is_edd_required":false,"edd_status":null}`), &lim); err != nil {
		t.Fatal(err)
	}
	if !lim.TotalAvailableLimit["IMPS"].Equal(decimal.RequireFromString("150000.5")) || lim.FullLimitResetTimestamp.Unix() != 1795545000 || lim.EDDStatus != "" {
		t.Fatalf("%+v", lim)
	}
}

func TestErrorFields(t *testing.T) {
	for body, want := range map[string]string{
		`{"status":false,"message":"Bad Request","errors":{"email":["Enter a valid email address."],"x":"single"},"err_code":"invalid_request"}`:                   `offramp: Bad Request (HTTP 400, invalid_request); email: Enter a valid email address.; x: single`,
		`{"status":false,"message":"Customer not found or access denied","errors":{"customer_id":["Customer not found or access denied"]},"err_code":"not_found"}`: `offramp: Customer not found or access denied (HTTP 400, not_found)`,
		"Bad Request\n":               `offramp: unexpected answer: HTTP 400 Bad Request: Bad Request (HTTP 400)`,
		"":                            `offramp: unexpected answer: HTTP 400 Bad Request (HTTP 400)`,
		`{"detail":"nope"}`:           `offramp: Bad Request (HTTP 400)`,
		`{"errors":[1,2]}`:            `offramp: Bad Request (HTTP 400); detail: [1,2]`,
		`{"message":"m","errors":{}}`: `offramp: m (HTTP 400)`,
	} {
		if got := newError(400, http.Header{}, []byte(body)).Error(); got != want {
			t.Errorf("%s:\n got %s\nwant %s", body, got, want)
		}
	}
}

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&url.Error{Op: "Get", URL: "ftp://x", Err: errors.New(`unsupported protocol scheme "ftp"`)}, false},
		{&url.Error{Op: "Post", URL: "http://x", Err: io.EOF}, true},
		{&url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}, true},
		{&url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}, true},
		{&url.Error{Op: "Get", URL: "http://x", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}, false},
		{&url.Error{Op: "Get", URL: "http://x", Err: &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}}, true},
		{&url.Error{Op: "Get", URL: "https://x", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, false},
		{&url.Error{Op: "Get", URL: "http://x", Err: os.ErrDeadlineExceeded}, true},
		{io.ErrUnexpectedEOF, true},
	} {
		if got := retryable(tc.err); got != tc.want {
			t.Errorf("retryable(%v) = %t", tc.err, got)
		}
	}
}
