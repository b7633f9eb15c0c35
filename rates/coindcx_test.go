package rates

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
)

// docExample is the entry of CoinDCX's documented GET /exchange/ticker
// response (https://docs.coindcx.com/#ticker), verbatim.
const docExample = `{
    "market": "REQBTC",
    "change_24_hour": "-1.621",
    "high": "0.00002799",
    "low": "0.00002626",
    "volume": "14.10",
    "last_price": "0.00002663",
    "bid": "0.00002663",
    "ask": "0.00002669",
    "timestamp": 1524211224
  }`

// usdtinr is a USDTINR entry in the documented shape; bid and last are JSON
// values ("" leaves the member out), ts the raw timestamp ("" for none).
func usdtinr(bid, last, ts string) string {
	fields := []string{`"market": "USDTINR"`, `"change_24_hour": "0.12"`, `"high": "88.9"`, `"low": "87.9"`,
		`"volume": "2034512.5"`, `"ask": "88.55"`}
	if bid != "" {
		fields = append(fields, `"bid": `+bid)
	}
	if last != "" {
		fields = append(fields, `"last_price": `+last)
	}
	if ts != "" {
		fields = append(fields, `"timestamp": `+ts)
	}
	return "{" + strings.Join(fields, ", ") + "}"
}

func secs(t time.Time) string { return fmt.Sprint(t.Unix()) }

type coindcxFixture struct {
	ticker *Ticker
	ex     *fakeExchange
	clock  *clock.Fake
	srv    *httptest.Server
}

func newCoinDCXFixture(t *testing.T, cfg TickerConfig) *coindcxFixture {
	t.Helper()
	ex := &fakeExchange{status: 200}
	srv := httptest.NewTLSServer(ex)
	t.Cleanup(srv.Close)
	clk := newFakeClock()
	cfg.URL = srv.URL + "/exchange/ticker"
	cfg.Client, cfg.Clock = srv.Client(), clk
	return &coindcxFixture{ticker: NewCoinDCX(cfg), ex: ex, clock: clk, srv: srv}
}

func TestCoinDCXDefaults(t *testing.T) {
	tk := NewCoinDCX(TickerConfig{})
	if tk.cfg.URL != "https://api.coindcx.com/exchange/ticker" || tk.source != "api.coindcx.com" ||
		tk.Name() != "coindcx" || tk.symbol != "USDTINR" || tk.cfg.MaxAge != 60*time.Second {
		t.Errorf("defaults: URL %q source %q name %q symbol %q max age %v", tk.cfg.URL, tk.source, tk.Name(), tk.symbol, tk.cfg.MaxAge)
	}
	if tk := NewCoinDCX(TickerConfig{Asset: "usdc", BaseURL: "http://127.0.0.1:8099/"}); tk.cfg.URL != "http://127.0.0.1:8099/exchange/ticker" || tk.symbol != "USDCINR" {
		t.Errorf("USDC on a base URL: URL %q symbol %q", tk.cfg.URL, tk.symbol)
	}
	// WazirX's base URL is configurable the same way (a path prefix kept).
	if u := NewTicker(TickerConfig{BaseURL: "https://proxy.example/wazirx/"}).cfg.URL; u != "https://proxy.example/wazirx/sapi/v1/ticker/24hr?symbol=usdtinr" {
		t.Errorf("WazirX on a base URL: %q", u)
	}
	if n := NewTicker(TickerConfig{}).Name(); n != "wazirx" {
		t.Errorf("WazirX name = %q", n)
	}
}

func TestCoinDCXParsesDocumentedShape(t *testing.T) {
	f := newCoinDCXFixture(t, TickerConfig{})
	at := f.clock.Now().Add(-3 * time.Second)
	f.ex.set(200, "[\n  "+docExample+",\n  "+usdtinr(`"88.47"`, `"88.52"`, secs(at))+"\n]")
	if err := f.ticker.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, err := f.ticker.Rate(context.Background(), "usdt", "inr")
	if err != nil {
		t.Fatal(err)
	}
	if r.Value.String() != "88.47" || !r.At.Equal(at) || r.Asset != "USDT" || r.Fiat != "INR" ||
		r.Source != strings.TrimPrefix(f.srv.URL, "https://") {
		t.Errorf("Rate = %+v; want the USDTINR bid 88.47 at %v", r, at)
	}
	if q := f.ex.reqs[0]; q.Path != "/exchange/ticker" || q.RawQuery != "" {
		t.Errorf("request = %v", q)
	}
	if s := f.ticker.Status(); !s.Up || s.Errors != 0 || !s.Price.Equal(dec("88.47")) || s.Name != "coindcx" {
		t.Errorf("Status = %+v", s)
	}
}

func TestCoinDCXPrices(t *testing.T) {
	for _, tc := range []struct {
		name, bid, last, want string
	}{
		{"bid", `"88.47"`, `"88.52"`, "88.47"},
		{"no bid: last price", "", `"88.52"`, "88.52"},
		{"null bid", "null", `"88.52"`, "88.52"},
		{"empty bid", `""`, `"88.52"`, "88.52"},
		{"zero bid", `"0.00"`, `"88.52"`, "88.52"},
		{"numbers, exactly", `88.123456789012345678`, `88.2`, "88.123456789012345678"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newCoinDCXFixture(t, TickerConfig{})
			f.ex.set(200, "["+docExample+","+usdtinr(tc.bid, tc.last, secs(f.clock.Now()))+"]")
			if err := f.ticker.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			r, err := f.ticker.Rate(context.Background(), "USDT", "INR")
			if err != nil || r.Value.String() != tc.want {
				t.Errorf("Rate = %v, %v; want %s", r.Value, err, tc.want)
			}
		})
	}
}

func TestCoinDCXTimestamps(t *testing.T) {
	for _, tc := range []struct {
		name string
		ts   func(now time.Time) string
		want func(now time.Time) time.Time
	}{
		{"seconds, as documented", func(now time.Time) string { return secs(now.Add(-4 * time.Second)) },
			func(now time.Time) time.Time { return now.Add(-4 * time.Second) }},
		{"milliseconds", func(now time.Time) string { return fmt.Sprint(now.Add(-1500 * time.Millisecond).UnixMilli()) },
			func(now time.Time) time.Time { return now.Add(-1500 * time.Millisecond) }},
		{"a numeric string", func(now time.Time) string { return `"` + secs(now.Add(-2*time.Second)) + `"` },
			func(now time.Time) time.Time { return now.Add(-2 * time.Second) }},
		{"absent: fetch time", func(time.Time) string { return "" }, func(now time.Time) time.Time { return now }},
		{"null: fetch time", func(time.Time) string { return "null" }, func(now time.Time) time.Time { return now }},
		{"ahead of us: capped at arrival", func(now time.Time) string { return secs(now.Add(time.Hour)) },
			func(now time.Time) time.Time { return now }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newCoinDCXFixture(t, TickerConfig{})
			now := f.clock.Now()
			f.ex.set(200, "["+usdtinr(`"88.47"`, "", tc.ts(now))+"]")
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

func TestCoinDCXToleratesOtherMarkets(t *testing.T) {
	// Odd entries for other markets must not refuse our price: only our
	// entry is held to the strict rules.
	f := newCoinDCXFixture(t, TickerConfig{})
	now := f.clock.Now()
	f.ex.set(200, `[
		{"market": "BTCINR", "bid": "NaN", "last_price": "8.8e6", "timestamp": "soon"},
		{"market": 42, "bid": "1"},
		{"bid": "3"},
		{"market": "USDTBTC", "bid": "0.00001", "timestamp": 1.5},
		`+usdtinr(`"88.47"`, "", secs(now))+`
	]`)
	if err := f.ticker.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r, err := f.ticker.Rate(context.Background(), "USDT", "INR"); err != nil || r.Value.String() != "88.47" {
		t.Errorf("Rate = %v, %v", r.Value, err)
	}
}

func TestCoinDCXRefusesBadAnswers(t *testing.T) {
	good := func(now time.Time) string {
		return "[" + docExample + "," + usdtinr(`"88.47"`, `"88.52"`, secs(now)) + "]"
	}
	for _, tc := range []struct {
		name   string
		status int
		body   func(now time.Time) string
		errMsg string
	}{
		{"503", 503, good, "503 Service Unavailable"},
		{"an object, not a list", 200, func(time.Time) string { return docExample }, "not the documented ticker list"},
		{"not JSON", 200, func(time.Time) string { return "<html>" }, "not the documented ticker list"},
		{"an empty list", 200, func(time.Time) string { return "[]" }, `no market "USDTINR" (0 markets listed)`},
		{"no USDTINR", 200, func(time.Time) string { return "[" + docExample + "]" }, `no market "USDTINR" (1 markets listed)`},
		{"USDTINR twice", 200, func(now time.Time) string {
			return "[" + usdtinr(`"88.47"`, "", secs(now)) + "," + usdtinr(`"80"`, "", secs(now)) + "]"
		}, `lists market "USDTINR" 2 times`},
		{"no positive price", 200, func(now time.Time) string { return "[" + usdtinr(`"0"`, `"-1"`, secs(now)) + "]" },
			"USDTINR has no positive bid or last_price"},
		{"exponent bid", 200, func(now time.Time) string { return "[" + usdtinr(`"8.847e1"`, `"88.5"`, secs(now)) + "]" },
			`USDTINR bid: price "8.847e1" is not a plain decimal number`},
		{"word last price", 200, func(now time.Time) string { return "[" + usdtinr("", `"NaN"`, secs(now)) + "]" },
			`USDTINR last_price: price "NaN" is not a plain decimal number`},
		{"fractional timestamp", 200, func(now time.Time) string { return "[" + usdtinr(`"88.47"`, "", "1.5") + "]" },
			`malformed "timestamp": "1.5"`},
		{"text timestamp", 200, func(now time.Time) string { return "[" + usdtinr(`"88.47"`, "", `"soon"`) + "]" },
			`malformed "timestamp": "soon"`},
		{"older than held", 200, func(now time.Time) string {
			return "[" + usdtinr(`"80"`, "", secs(now.Add(-time.Minute))) + "]"
		}, "older than the one held"},
		{"over 8 MiB", 200, func(now time.Time) string {
			return "[" + usdtinr(`"88.47"`, "", secs(now)) + `,{"pad":"` + strings.Repeat("x", coindcxMaxBody) + `"}]`
		}, "larger than 8388608 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newCoinDCXFixture(t, TickerConfig{})
			f.ex.set(200, good(f.clock.Now()))
			if err := f.ticker.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(5 * time.Second)
			f.ex.set(tc.status, tc.body(f.clock.Now()))
			err := f.ticker.Refresh(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.errMsg) {
				t.Fatalf("Refresh error = %v, want it to mention %q", err, tc.errMsg)
			}
			r, err := f.ticker.Rate(context.Background(), "USDT", "INR")
			if err != nil || r.Value.String() != "88.47" {
				t.Errorf("after a bad answer: Rate = %v, %v; want the last good 88.47", r.Value, err)
			}
			if s := f.ticker.Status(); s.Up || s.Errors != 1 || !strings.Contains(s.LastError, tc.errMsg) {
				t.Errorf("Status = %+v, want down with 1 error", s)
			}
		})
	}
}

func TestCoinDCXRefusesStalePrice(t *testing.T) {
	f := newCoinDCXFixture(t, TickerConfig{})
	f.ex.set(200, "["+usdtinr(`"88.47"`, "", secs(f.clock.Now()))+"]")
	if err := f.ticker.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(60 * time.Second)
	if _, err := f.ticker.Rate(context.Background(), "USDT", "INR"); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	f.clock.Advance(35 * time.Second)
	_, err := f.ticker.Rate(context.Background(), "USDT", "INR")
	wantErr(t, err, offramp.CodeUnavailable, "Rate unavailable: the latest USDT/INR price is 95 s old (limit 60 s)")
	_, err = f.ticker.Rate(context.Background(), "USDC", "INR")
	wantErr(t, err, offramp.CodeInvalid, "Unsupported asset")
}
