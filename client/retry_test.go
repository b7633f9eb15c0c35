package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offramp/offramp/client"
)

func httpServer(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// faultyProxy sits in front of the real server and misbehaves on the
// initiate endpoint as its script says, one fault per request:
//
//	"503"         answer 503 without forwarding
//	"429"         answer 429 with Retry-After: 0 without forwarding
//	"drop"        close the connection without forwarding
//	"lose-answer" forward, then close the connection instead of answering
//
// Requests beyond the script, and other endpoints, pass through.
type faultyProxy struct {
	*httptest.Server
	mu       sync.Mutex
	script   []string
	keys     []string       // Idempotency-Key of every initiate request
	lost     []int          // status of each answer lost by "lose-answer"
	replayed []string       // Idempotent-Replayed of each answer passed through
	counts   map[string]int // requests per path
}

func newFaultyProxy(t *testing.T, upstream string, script ...string) *faultyProxy {
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &faultyProxy{script: script, counts: map[string]int{}}
	p.Server = httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.counts[r.URL.Path]++
		fault := ""
		if r.URL.Path == "/pos/api/v1/payout/initiate" {
			if n := len(p.keys); n < len(p.script) {
				fault = p.script[n]
			}
			p.keys = append(p.keys, r.Header.Get("Idempotency-Key"))
		}
		p.mu.Unlock()

		hangUp := func() {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			conn.Close()
		}
		switch fault {
		case "503":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"status":false,"message":"Service unavailable","data":null,"errors":{},"err_code":"unavailable"}`)
		case "429":
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"status":false,"message":"Too many requests","data":null,"errors":{}}`)
		case "drop":
			hangUp()
		case "lose-answer":
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			p.mu.Lock()
			p.lost = append(p.lost, rec.Code)
			p.mu.Unlock()
			hangUp()
		default:
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			if r.URL.Path == "/pos/api/v1/payout/initiate" {
				p.mu.Lock()
				p.replayed = append(p.replayed, rec.Header().Get("Idempotent-Replayed"))
				p.mu.Unlock()
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		}
	})
	return p
}

// Every kind of transient failure on initiate, including one where the
// server made the payout and the answer was lost: the SDK retries with the
// same Idempotency-Key and ends with exactly one payout.
func TestInitiateRetriesMakeOnePayout(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	direct := newClient(srv)
	cust := verifiedCustomer(t, direct)
	bank := verifiedBank(t, direct, cust.ID, "9999")
	ctx := t.Context()
	q, err := direct.CreateQuotation(ctx, client.QuotationRequest{Asset: "USDT", Fiat: "INR", SendingAmount: dec("100"), CustomerID: cust.ID, BankID: bank.ID})
	if err != nil {
		t.Fatal(err)
	}

	proxy := newFaultyProxy(t, srv.URL, "503", "drop", "lose-answer", "429")
	var attempts []client.Exchange
	c := client.New(proxy.URL, srv.DefaultOrg.APIKey, srv.DefaultOrg.APISecret,
		client.WithRetry(6, time.Millisecond, 5*time.Millisecond),
		client.WithObserver(func(e client.Exchange) { attempts = append(attempts, e) }))
	p, err := c.InitiatePayout(ctx, client.InitiateRequest{QuotationID: q.ID, CustomerID: cust.ID, ExchangeOrderID: "order-retry"})
	if err != nil {
		t.Fatal(err)
	}

	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	if len(proxy.keys) != 5 || proxy.keys[0] == "" {
		t.Fatalf("initiate attempts at the proxy: %q", proxy.keys)
	}
	for _, k := range proxy.keys {
		if k != proxy.keys[0] {
			t.Fatalf("attempts carried different Idempotency-Keys: %q", proxy.keys)
		}
	}
	if len(proxy.lost) != 1 || proxy.lost[0] != http.StatusCreated || len(proxy.replayed) != 1 || proxy.replayed[0] != "true" {
		t.Fatalf("lost answers %v, replayed %q: want the lost 201 replayed", proxy.lost, proxy.replayed)
	}
	if len(attempts) != 5 || attempts[0].StatusCode != 503 || attempts[1].Err == nil || attempts[2].Err == nil ||
		attempts[3].StatusCode != 429 || attempts[4].StatusCode != 201 || attempts[4].Attempt != 5 {
		for _, a := range attempts {
			t.Logf("attempt %d: %d %v", a.Attempt, a.StatusCode, a.Err)
		}
		t.Fatal("unexpected attempts")
	}
	for _, a := range attempts {
		if string(a.RequestBody) != string(attempts[0].RequestBody) {
			t.Fatalf("attempts sent different bodies: %s, %s", a.RequestBody, attempts[0].RequestBody)
		}
	}

	h, err := direct.PayoutHistory(ctx, client.HistoryOptions{CustomerID: cust.ID})
	if err != nil {
		t.Fatal(err)
	}
	if h.Count != 1 || h.Results[0].ID != p.ID {
		t.Fatalf("history: %d payouts, want exactly one (%s)", h.Count, p.ID)
	}

	// A caller's own key works the same across calls: the second call is
	// the first one's answer.
	q2, err := direct.CreateQuotation(ctx, client.QuotationRequest{Asset: "USDT", Fiat: "INR", SendingAmount: dec("10"), CustomerID: cust.ID, BankID: bank.ID})
	if err != nil {
		t.Fatal(err)
	}
	req := client.InitiateRequest{QuotationID: q2.ID, CustomerID: cust.ID, ExchangeOrderID: "order-own-key", IdempotencyKey: "order-own-key"}
	p1, err1 := direct.InitiatePayout(ctx, req)
	p2, err2 := direct.InitiatePayout(ctx, req)
	if err1 != nil || err2 != nil || p1.ID != p2.ID {
		t.Fatalf("same key twice: %v %v %v %v", p1, err1, p2, err2)
	}
}

// A 4xx other than 429 is final.
func TestClientErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	proxy := newFaultyProxy(t, srv.URL)
	c := client.New(proxy.URL, srv.DefaultOrg.APIKey, srv.DefaultOrg.APISecret, client.WithRetry(5, time.Millisecond, time.Millisecond))
	r := customerRequest()
	r.Email = "not-an-email"
	_, err := c.CreateCustomer(t.Context(), r)
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 400 || len(e.Fields["email"]) == 0 {
		t.Fatalf("invalid email: %v", err)
	}
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	if n := proxy.counts["/cms/api/v1/customer/create"]; n != 1 {
		t.Fatalf("a 400 was sent %d times", n)
	}
}

// Retry-After replaces the back-off: a 429 with Retry-After: 0 is retried
// at once even with a 10 s minimum back-off.
func TestRetryAfterIsHonored(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": true, "message": "Success", "data": map[string]any{"webhook_url": "https://x.example/h", "enabled": true}})
	})
	c := client.New(srv.URL, "k", "s", client.WithRetry(3, 10*time.Second, 10*time.Second))
	start := time.Now()
	cfg, err := c.WebhookConfig(t.Context())
	if err != nil || !cfg.Enabled || cfg.WebhookURL != "https://x.example/h" || calls.Load() != 2 {
		t.Fatalf("%+v, %v, %d calls", cfg, err, calls.Load())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v: Retry-After: 0 was not honored", d)
	}
}

// Cancelling the context ends the back-off at once, with both the context's
// error and the last answer.
func TestCancelDuringBackoff(t *testing.T) {
	t.Parallel()
	srv := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"status":false,"message":"Shutting down","data":null,"errors":{},"err_code":"unavailable"}`)
	})
	c := client.New(srv.URL, "k", "s", client.WithRetry(5, 10*time.Second, 10*time.Second))
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.PayoutConfiguration(ctx)
	var e *client.Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &e) || e.Code != "unavailable" {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}

	// A deadline shorter than the next wait returns the last answer now.
	ctx, cancel2 := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel2()
	start = time.Now()
	_, err = c.PayoutConfiguration(ctx)
	if !errors.As(err, &e) || e.StatusCode != 503 || time.Since(start) > time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}

// Connection refused is retried, then reported.
func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var attempts []client.Exchange
	c := client.New("http://"+addr, "k", "s", client.WithRetry(3, time.Millisecond, 2*time.Millisecond),
		client.WithObserver(func(e client.Exchange) { attempts = append(attempts, e) }))
	_, err = c.CreateCustomer(t.Context(), customerRequest())
	var e *client.Error
	if err == nil || errors.As(err, &e) || len(attempts) != 3 {
		t.Fatalf("got %v after %d attempts", err, len(attempts))
	}
	for i, a := range attempts {
		if a.Attempt != i+1 || a.StatusCode != 0 || a.Err == nil || a.Method != "POST" || len(a.RequestBody) == 0 {
			t.Fatalf("attempt %d: %+v", i, a)
		}
	}
}
