package cashfree_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/rail/cashfree"
	"github.com/offramp/offramp/rail/cashfree/cashfreefake"
)

var epoch = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// Credentials the tests use; no error or log line may carry them.
const (
	testClientID = "CF_TEST_CLIENT_4711_abcdef"
	testSecret   = "cfsk_TEST_s3cr3t_do_not_leak_9c1e"
	testIFSC     = "HDFC0001234"
	testName     = "Asha Rao"
)

// Durations of the fake's state machine in these tests.
const (
	settle       = 5 * time.Second
	pendingFor   = 3 * time.Hour
	reverseAfter = 24 * time.Hour
)

type envOptions struct {
	deliverOnChange bool
	secret          string // the rail's client secret (default testSecret)
	maxAge          time.Duration
}

// env is one fake Cashfree on 127.0.0.1, a Rail pointed at it, and a
// webhook receiver (WebhookHandler over books) the fake posts to.
type env struct {
	t     *testing.T
	clk   *clock.Fake
	fake  *cashfreefake.Fake
	api   *httptest.Server
	rail  *cashfree.Rail
	books *books
	hooks *httptest.Server
	logs  *lockedBuffer

	// dialed counts connections the rail's client opened; ended counts
	// the API server's connections that are closed or hijacked. The
	// client opens one connection per request (keep-alives off), so once
	// ended catches up with dialed every request the client wrote has
	// been handled by the fake. See sync.
	dialed atomic.Int64
	mu     sync.Mutex
	ended  int64
	moved  chan struct{}
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, clk: clock.NewFake(epoch), books: newBooks(), logs: &lockedBuffer{}, moved: make(chan struct{})}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	var handler atomic.Pointer[http.Handler]
	e.hooks = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*handler.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(e.hooks.Close)

	e.fake = cashfreefake.New(cashfreefake.Options{
		ClientID: testClientID, ClientSecret: testSecret, Clock: e.clk,
		Settle: settle, Pending: pendingFor, ReverseAfter: reverseAfter,
		WebhookURL: e.hooks.URL, DeliverOnChange: o.deliverOnChange,
	})
	e.api = httptest.NewUnstartedServer(e.fake)
	e.api.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed || s == http.StateHijacked {
			e.mu.Lock()
			e.ended++
			close(e.moved)
			e.moved = make(chan struct{})
			e.mu.Unlock()
		}
	}
	e.api.Start()
	t.Cleanup(e.api.Close)
	t.Cleanup(e.fake.Close) // runs first: releases hanging calls so that api.Close returns

	tr := &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				e.dialed.Add(1)
			}
			return c, err
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	secret := o.secret
	if secret == "" {
		secret = testSecret
	}
	rail, err := cashfree.New(cashfree.Config{
		BaseURL: e.api.URL + "/payout", ClientID: testClientID, ClientSecret: secret,
		WebhookSecret: testSecret, HTTPClient: &http.Client{Transport: tr}, Clock: e.clk,
		WebhookMaxAge: o.maxAge, Logger: logger,
	})
	if err != nil {
		t.Fatalf("cashfree.New: %v", err)
	}
	e.rail = rail
	h := cashfree.WebhookHandler(rail, e.books.apply, logger)
	handler.Store(&h)
	t.Cleanup(func() { e.checkLogs() })
	return e
}

// sync waits until every request the rail's client has written has been
// handled by the fake: a call cancelled by its caller may still be on its
// way. It waits on the servers' connection states, never on time (the
// bound only turns a bug into a failure).
func (e *env) sync() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		e.mu.Lock()
		ended, moved := e.ended, e.moved
		e.mu.Unlock()
		dialed := e.dialed.Load()
		if ended >= dialed {
			return
		}
		select {
		case <-moved:
		case <-ctx.Done():
			e.t.Fatalf("sync: the fake never finished the client's requests (%d connections opened, %d ended)", dialed, ended)
		}
	}
}

func (e *env) advance(d time.Duration) {
	e.sync()
	e.clk.Advance(d)
}

func (e *env) transfers(ref string) int {
	e.sync()
	return e.fake.Transfers(ref)
}

// deliver runs the fake's webhook delivery and fails on a delivery not
// answered 200.
func (e *env) deliver() []cashfreefake.Delivery {
	e.t.Helper()
	ds, err := e.fake.Deliver(context.Background())
	if err != nil {
		e.t.Fatalf("Deliver: %v", err)
	}
	for _, d := range ds {
		if d.Err != nil || d.HTTPStatus != http.StatusOK {
			e.t.Fatalf("delivery of %s for %s: HTTP %d, %v", d.Type, d.TransferID, d.HTTPStatus, d.Err)
		}
	}
	return ds
}

// checkLogs asserts that nothing secret reached the log.
func (e *env) checkLogs() {
	e.t.Helper()
	assertNoSecrets(e.t, "log", e.logs.String())
}

// assertNoSecrets fails if s carries a key or a full magic account number.
func assertNoSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{testSecret, testClientID, "not-" + testSecret,
		cashfreefake.AccountPays, cashfreefake.AccountFails, cashfreefake.AccountRejected,
		cashfreefake.AccountPendingLong, cashfreefake.AccountReverses, cashfreefake.AccountStaysPending,
		cashfreefake.AccountSilent, cashfreefake.AccountInstant, cashfreefake.AccountApproval, leakyAccount} {
		if strings.Contains(s, secret) {
			t.Fatalf("%s carries a secret or an account number (%q...): %s", what, secret[:6], s)
		}
	}
}

// leakyAccount is an account number a hostile server echoes back.
const leakyAccount = "918273645500"

func newRef() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "OFR" + hex.EncodeToString(b[:])
}

func transfer(ref, account string) offramp.RailTransfer {
	return offramp.RailTransfer{
		Reference: ref, AccountNumber: account, IFSC: testIFSC, AccountName: testName,
		Amount: decimal.RequireFromString("1234.56"), Currency: "INR", Method: "IMPS",
	}
}

// books stands in for the engine behind the webhook handler: it applies
// only news (a status ranked above the one it holds), as
// engine.ApplyBankAnswer does, and counts calls and changes.
type books struct {
	mu      sync.Mutex
	state   map[string]offramp.RailResult
	unknown map[string]bool
	calls   int
	changes int
}

func newBooks() *books {
	return &books{state: map[string]offramp.RailResult{}, unknown: map[string]bool{}}
}

func rank(s offramp.RailStatus) int {
	switch s {
	case offramp.RailAccepted:
		return 1
	case offramp.RailSuccess, offramp.RailRejected:
		return 2
	case offramp.RailReversed:
		return 3
	}
	return 0
}

func (b *books) apply(_ context.Context, ref string, res offramp.RailResult) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if b.unknown[ref] {
		return offramp.ErrNotFound
	}
	if rank(res.Status) > rank(b.state[ref].Status) {
		b.state[ref] = res
		b.changes++
	}
	return nil
}

func (b *books) get(ref string) (offramp.RailResult, int, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state[ref], b.calls, b.changes
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
