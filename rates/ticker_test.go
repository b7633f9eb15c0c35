package rates

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
)

// fakeExchange serves a scripted answer in the shape of WazirX's documented
// GET /sapi/v1/ticker/24hr response, and counts requests.
type fakeExchange struct {
	mu     sync.Mutex
	status int
	body   string
	hits   int
	reqs   []*url.URL
}

func (f *fakeExchange) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits++
	f.reqs = append(f.reqs, r.URL)
	status, body := f.status, f.body
	f.mu.Unlock()
	if r.Method != http.MethodGet {
		status = http.StatusMethodNotAllowed
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (f *fakeExchange) set(status int, body string) {
	f.mu.Lock()
	f.status, f.body = status, body
	f.mu.Unlock()
}

func (f *fakeExchange) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

// tickerBody is a documented-shape ticker; bid and last are JSON values
// (pass `"88.41"` for a string, `null`, or "" to leave the key out).
func tickerBody(symbol, bid, last string, at time.Time) string {
	fields := []string{
		fmt.Sprintf(`"symbol":%q`, symbol), `"baseAsset":"usdt"`, `"quoteAsset":"inr"`,
		`"openPrice":"88.1"`, `"lowPrice":"87.9"`, `"highPrice":"88.9"`, `"volume":"1523412.12"`, `"askPrice":"88.6"`,
	}
	if bid != "" {
		fields = append(fields, `"bidPrice":`+bid)
	}
	if last != "" {
		fields = append(fields, `"lastPrice":`+last)
	}
	if !at.IsZero() {
		fields = append(fields, fmt.Sprintf(`"at":%d`, at.UnixMilli()))
	}
	return "{" + strings.Join(fields, ",") + "}"
}

type tickerFixture struct {
	ticker *Ticker
	ex     *fakeExchange
	clock  *clock.Fake
	srv    *httptest.Server
	logs   *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTickerFixture(t *testing.T, cfg TickerConfig) *tickerFixture {
	t.Helper()
	ex := &fakeExchange{status: http.StatusOK}
	srv := httptest.NewTLSServer(ex)
	t.Cleanup(srv.Close)
	clock := newFakeClock()
	logs := &syncBuffer{}
	if cfg.URL == "" {
		cfg.URL = srv.URL + "/sapi/v1/ticker/24hr?symbol=usdtinr"
	}
	cfg.Client = srv.Client()
	cfg.Clock = clock
	cfg.Log = slog.New(slog.NewTextHandler(logs, nil))
	return &tickerFixture{ticker: NewTicker(cfg), ex: ex, clock: clock, srv: srv, logs: logs}
}

func (f *tickerFixture) host() string { return strings.TrimPrefix(f.srv.URL, "https://") }

func TestTickerDefaults(t *testing.T) {
	tk := NewTicker(TickerConfig{})
	if tk.cfg.URL != DefaultTickerURL || DefaultTickerURL != "https://api.wazirx.com/sapi/v1/ticker/24hr?symbol=usdtinr" {
		t.Errorf("URL = %q", tk.cfg.URL)
	}
	if tk.asset != "USDT" || tk.cfg.Every != 10*time.Second || tk.cfg.MaxAge != 60*time.Second ||
		tk.cfg.Client == nil || tk.cfg.Client.Timeout != 5*time.Second || tk.cfg.Clock == nil || tk.cfg.Log == nil {
		t.Errorf("defaults: %+v", tk.cfg)
	}
	if tk.source != "api.wazirx.com" {
		t.Errorf("source = %q", tk.source)
	}
	if u := NewTicker(TickerConfig{Asset: "usdc"}).cfg.URL; u != "https://api.wazirx.com/sapi/v1/ticker/24hr?symbol=usdcinr" {
		t.Errorf("USDC URL = %q", u)
	}
}

func TestTickerQuotesFreshBid(t *testing.T) {
	f := newTickerFixture(t, TickerConfig{})
	at := f.clock.Now().Add(-2 * time.Second)
	f.ex.set(200, tickerBody("usdtinr", `"88.41"`, `"88.5"`, at))
	if err := f.ticker.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, err := f.ticker.Rate(context.Background(), "usdt", "inr")
	if err != nil {
		t.Fatal(err)
	}
	if r.Value.String() != "88.41" {
		t.Errorf("Value = %s, want the bid 88.41, not the last price", r.Value)
	}
	if r.Asset != "USDT" || r.Fiat != "INR" || r.Source != f.host() || !r.At.Equal(at) {
		t.Errorf("Rate = %+v, want USDT/INR from %s at %v", r, f.host(), at)
	}
	if q := f.ex.reqs[0]; q.Path != "/sapi/v1/ticker/24hr" || q.Query().Get("symbol") != "usdtinr" {
		t.Errorf("request = %v", q)
	}
}

func TestTickerFallsBackToLastPrice(t *testing.T) {
	for _, bid := range []string{"", "null", `""`, `"0"`, `"0.0"`, `"-1"`} {
		t.Run("bid="+bid, func(t *testing.T) {
			f := newTickerFixture(t, TickerConfig{})
			f.ex.set(200, tickerBody("usdtinr", bid, `"88.5"`, f.clock.Now()))
			if err := f.ticker.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			r, err := f.ticker.Rate(context.Background(), "USDT", "INR")
			if err != nil || r.Value.String() != "88.5" {
				t.Errorf("Rate = %v, %v; want the last price 88.5", r.Value, err)
			}
		})
	}
	// A JSON number is accepted too, and read exactly (no float64).
	f := newTickerFixture(t, TickerConfig{})
	f.ex.set(200, tickerBody("USDTINR", "88.123456789012345678", "", f.clock.Now()))
	if err := f.ticker.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.ticker.Rate(context.Background(), "USDT", "INR"); r.Value.String() != "88.123456789012345678" {
		t.Errorf("Value = %s, want it exact", r.Value)
	}
}

func TestTickerRefusesStalePrice(t *testing.T) {
	f := newTickerFixture(t, TickerConfig{})
	f.ex.set(200, tickerBody("usdtinr", `"88.41"`, `"88.5"`, f.clock.Now()))
	if err := f.ticker.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(60 * time.Second) // exactly at the limit: still quoted
	if _, err := f.ticker.Rate(context.Background(), "USDT", "INR"); err != nil {
		t.Fatalf("at 60 s: %v", err)
	}
	f.clock.Advance(35 * time.Second)
	_, err := f.ticker.Rate(context.Background(), "USDT", "INR")
	wantErr(t, err, offramp.CodeUnavailable, "Rate unavailable: the latest USDT/INR price is 95 s old (limit 60 s)")

	// 60.2 s reads "61 s", never "60 s old (limit 60 s)".
	g := newTickerFixture(t, TickerConfig{MaxAge: 60 * time.Second})
	g.ex.set(200, tickerBody("usdtinr", `"88.41"`, "", g.clock.Now()))
	if err := g.ticker.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	g.clock.Advance(60*time.Second + 200*time.Millisecond)
	_, err = g.ticker.Rate(context.Background(), "USDT", "INR")
	wantErr(t, err, offramp.CodeUnavailable, "Rate unavailable: the latest USDT/INR price is 61 s old (limit 60 s)")
}

func TestTickerPriceRefreshes(t *testing.T) {
	f := newTickerFixture(t, TickerConfig{})
	f.ex.set(200, tickerBody("usdtinr", `"88.41"`, `"88.5"`, f.clock.Now()))
	if err := f.ticker.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(50 * time.Second)
	f.ex.set(200, tickerBody("usdtinr", `"89.02"`, `"89.1"`, f.clock.Now()))
	if err := f.ticker.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(50 * time.Second) // 100 s after the first price, 50 s after the second
	r, err := f.ticker.Rate(context.Background(), "USDT", "INR")
	if err != nil || r.Value.String() != "89.02" || !r.At.Equal(f.clock.Now().Add(-50*time.Second)) {
		t.Errorf("Rate = %+v, %v; want the refreshed bid 89.02", r, err)
	}
}

func TestTickerKeepsLastGoodPrice(t *testing.T) {
	good := func(f *tickerFixture) string {
		return tickerBody("usdtinr", `"88.41"`, `"88.5"`, f.clock.Now())
	}
	for _, tc := range []struct {
		name   string
		status int
		body   func(f *tickerFixture) string
		errMsg string
	}{
		{"500", 500, good, "500 Internal Server Error"},
		{"429", 429, func(*tickerFixture) string { return `{"code":2136,"message":"Too many api request"}` }, "429"},
		{"404", 404, good, "404"},
		{"not JSON", 200, func(*tickerFixture) string { return "<html>maintenance</html>" }, "not the documented ticker JSON"},
		{"empty body", 200, func(*tickerFixture) string { return "" }, "not the documented ticker JSON"},
		{"array", 200, func(f *tickerFixture) string { return "[" + good(f) + "]" }, "not the documented ticker JSON"},
		{"trailing garbage", 200, func(f *tickerFixture) string { return good(f) + "x" }, "not the documented ticker JSON"},
		{"null", 200, func(*tickerFixture) string { return "null" }, `symbol ""`},
		{"error object", 200, func(*tickerFixture) string { return `{"code":-1121,"message":"Invalid symbol."}` }, `symbol ""`},
		{"other symbol", 200, func(f *tickerFixture) string {
			return tickerBody("btcinr", `"5000000"`, `"5000001"`, f.clock.Now())
		}, `symbol "btcinr", want "usdtinr"`},
		{"other base asset", 200, func(f *tickerFixture) string {
			return strings.Replace(good(f), `"baseAsset":"usdt"`, `"baseAsset":"usdc"`, 1)
		}, "for usdc/inr, want USDT/INR"},
		{"no price", 200, func(f *tickerFixture) string { return tickerBody("usdtinr", "", "", f.clock.Now()) }, "no positive bidPrice or lastPrice"},
		{"zero price", 200, func(f *tickerFixture) string { return tickerBody("usdtinr", `"0"`, `"0.00"`, f.clock.Now()) }, "no positive"},
		{"negative price", 200, func(f *tickerFixture) string { return tickerBody("usdtinr", `"-88"`, `"-88.5"`, f.clock.Now()) }, "no positive"},
		{"exponent price", 200, func(f *tickerFixture) string { return tickerBody("usdtinr", `"8.85e1"`, `"88.5"`, f.clock.Now()) }, "not a plain decimal"},
		{"word price", 200, func(f *tickerFixture) string { return tickerBody("usdtinr", `"NaN"`, `"88.5"`, f.clock.Now()) }, "not a plain decimal"},
		{"malformed at", 200, func(f *tickerFixture) string {
			return strings.Replace(good(f), `"at":`, `"at":1.5,"x":`, 1)
		}, `malformed "at"`},
		{"older than held", 200, func(f *tickerFixture) string {
			return tickerBody("usdtinr", `"80"`, `"80"`, f.clock.Now().Add(-time.Minute))
		}, "older than the one held"},
		{"over 1 MiB", 200, func(f *tickerFixture) string {
			b := good(f)
			return b[:len(b)-1] + `,"pad":"` + strings.Repeat("x", maxBody) + `"}`
		}, "larger than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTickerFixture(t, TickerConfig{})
			f.ex.set(200, good(f))
			if err := f.ticker.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(5 * time.Second)
			f.ex.set(tc.status, tc.body(f))
			err := f.ticker.Refresh(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.errMsg) {
				t.Fatalf("Refresh error = %v, want it to mention %q", err, tc.errMsg)
			}
			r, err := f.ticker.Rate(context.Background(), "USDT", "INR")
			if err != nil || r.Value.String() != "88.41" || !r.At.Equal(f.clock.Now().Add(-5*time.Second)) {
				t.Errorf("after a bad response: Rate = %+v, %v; want the last good 88.41", r, err)
			}
		})
	}
}

func TestTickerNeverFetched(t *testing.T) {
	f := newTickerFixture(t, TickerConfig{})
	_, err := f.ticker.Rate(context.Background(), "USDT", "INR")
	wantErr(t, err, offramp.CodeUnavailable, "Rate unavailable: no price fetched yet")
	f.ex.set(500, "")
	if err := f.ticker.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh after a 500: no error")
	}
	_, err = f.ticker.Rate(context.Background(), "USDT", "INR")
	wantErr(t, err, offramp.CodeUnavailable, "Rate unavailable: no price fetched yet")
}

func TestTickerUnsupported(t *testing.T) {
	f := newTickerFixture(t, TickerConfig{})
	f.ex.set(200, tickerBody("usdtinr", `"88.41"`, `"88.5"`, f.clock.Now()))
	if err := f.ticker.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ asset, fiat, msg string }{
		{"USDC", "INR", "Unsupported asset"},
		{"BTC", "INR", "Unsupported asset"},
		{"", "INR", "Unsupported asset"},
		{"USDT", "USD", "Unsupported fiat"},
		{"USDT", "", "Unsupported fiat"},
	} {
		_, err := f.ticker.Rate(context.Background(), tc.asset, tc.fiat)
		wantErr(t, err, offramp.CodeInvalid, tc.msg)
	}
}

func TestTickerTimestamps(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   func(now time.Time) string // the "at" member, or "" for none
		want func(now time.Time) time.Time
	}{
		{"milliseconds", func(now time.Time) string { return fmt.Sprint(now.Add(-1500 * time.Millisecond).UnixMilli()) },
			func(now time.Time) time.Time { return now.Add(-1500 * time.Millisecond) }},
		{"absent: fetch time", func(time.Time) string { return "" },
			func(now time.Time) time.Time { return now }},
		{"null: fetch time", func(time.Time) string { return "null" },
			func(now time.Time) time.Time { return now }},
		// The documented example "at": 1588829734 has 10 digits: seconds.
		{"seconds, as in the documented example", func(now time.Time) string { return fmt.Sprint(now.Add(-3 * time.Second).Unix()) },
			func(now time.Time) time.Time { return now.Add(-3 * time.Second) }},
		{"in the future: capped at arrival", func(now time.Time) string { return fmt.Sprint(now.Add(time.Hour).UnixMilli()) },
			func(now time.Time) time.Time { return now }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTickerFixture(t, TickerConfig{})
			now := f.clock.Now()
			body := tickerBody("usdtinr", `"88.41"`, "", time.Time{})
			if a := tc.at(now); a != "" {
				body = strings.TrimSuffix(body, "}") + `,"at":` + a + "}"
			}
			f.ex.set(200, body)
			if err := f.ticker.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			r, err := f.ticker.Rate(context.Background(), "USDT", "INR")
			if err != nil || !r.At.Equal(tc.want(now)) {
				t.Errorf("At = %v (err %v), want %v", r.At, err, tc.want(now))
			}
		})
	}
}

func TestTickerRefusesPlainHTTP(t *testing.T) {
	ex := &fakeExchange{status: 200, body: `{}`}
	srv := httptest.NewServer(ex)
	defer srv.Close()
	tk := NewTicker(TickerConfig{URL: srv.URL + "/sapi/v1/ticker/24hr?symbol=usdtinr", Client: srv.Client()})
	if err := tk.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "not an https URL") {
		t.Errorf("Refresh over http: %v", err)
	}
	if ex.requests() != 0 {
		t.Errorf("%d requests sent over plain HTTP", ex.requests())
	}
}

func TestTickerRunPollsUntilCancelled(t *testing.T) {
	f := newTickerFixture(t, TickerConfig{Every: 5 * time.Millisecond})
	f.ex.set(500, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		f.ticker.Run(ctx)
		close(done)
	}()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// Failing polls are retried; then a good answer is picked up.
	waitFor("three failed polls", func() bool { return f.ex.requests() >= 3 })
	f.ex.set(200, tickerBody("usdtinr", `"88.41"`, `"88.5"`, f.clock.Now()))
	waitFor("a price", func() bool {
		_, err := f.ticker.Rate(context.Background(), "USDT", "INR")
		return err == nil
	})
	n := f.ex.requests()
	waitFor("more polls", func() bool { return f.ex.requests() >= n+3 })

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	stopped := f.ex.requests()
	time.Sleep(30 * time.Millisecond)
	if got := f.ex.requests(); got != stopped {
		t.Errorf("%d polls after Run returned", got-stopped)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "ticker poll failed") || !strings.Contains(logs, "500 Internal Server Error") ||
		!strings.Contains(logs, "ticker poll recovered") {
		t.Errorf("logs do not record the failure and the recovery:\n%s", logs)
	}
}
