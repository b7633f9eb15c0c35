package rates

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/rates/ratesfake"
)

// marketsFixture is both exchanges faked over plain HTTP on 127.0.0.1 and
// a Rates following them, on one settable clock.
type marketsFixture struct {
	rates   *Rates
	wazirx  *ratesfake.Market
	coindcx *ratesfake.Market
	clock   *clock.Fake
	reg     *prometheus.Registry
}

func newMarketsFixture(t *testing.T, cfg Config) *marketsFixture {
	t.Helper()
	clk := newFakeClock()
	f := &marketsFixture{wazirx: ratesfake.NewWazirX(clk), coindcx: ratesfake.NewCoinDCX(clk), clock: clk, reg: prometheus.NewRegistry()}
	t.Cleanup(f.wazirx.Close)
	t.Cleanup(f.coindcx.Close)
	if cfg.Sources == nil {
		cfg.Sources = []string{"wazirx", "coindcx"}
	}
	cfg.WazirXBaseURL, cfg.CoinDCXBaseURL = f.wazirx.Start(), f.coindcx.Start()
	cfg.Clock, cfg.Registerer = clk, f.reg
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	var err error
	if f.rates, err = FromConfig(cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRatesFromTwoMarkets(t *testing.T) {
	f := newMarketsFixture(t, Config{Spread: dec("0.35")})
	f.wazirx.SetPrice("USDT", "88.41", "88.5")
	f.coindcx.SetPrice("USDT", "88.46", "88.52")
	f.coindcx.SetLag(3 * time.Second)
	ctx := context.Background()

	if err := f.rates.Ready(); err == nil {
		t.Fatal("Ready before any poll: nil")
	}
	if err := f.rates.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.rates.Ready(); err != nil {
		t.Fatal(err)
	}
	// Market: (88.41 + 88.46) / 2 = 88.435. Offered: 88.435 × 99.65 / 100
	//   = (8843.5 − 30.95225) / 100 = 8812.54775 / 100 = 88.1254775.
	sr, err := f.rates.SpreadRate(ctx, "usdt", "inr")
	if err != nil {
		t.Fatal(err)
	}
	if sr.Value.String() != "88.1254775" || sr.Market.String() != "88.435" ||
		sr.Source != "median(wazirx,coindcx) less 0.35 % spread" || !sr.At.Equal(f.clock.Now().Add(-3*time.Second)) {
		t.Errorf("SpreadRate = %+v", sr)
	}
	if r, err := f.rates.Rate(ctx, "USDT", "INR"); err != nil || !sameRate(r, sr.Rate) {
		t.Errorf("Rate = %+v, %v", r, err)
	}
	if _, err := f.rates.Rate(ctx, "USDC", "INR"); offramp.ErrorCode(err) != offramp.CodeInvalid {
		t.Errorf("USDC: %v, want Unsupported asset", err)
	}

	// 95 s later neither price is fresh (CoinDCX's is 98 s old).
	f.clock.Advance(95 * time.Second)
	_, err = f.rates.Rate(ctx, "USDT", "INR")
	want := "Rate unavailable: none of the 2 rate sources has a fresh price, 2 are required (wazirx: the latest USDT/INR price is 95 s old (limit 60 s); coindcx: the latest USDT/INR price is 98 s old (limit 60 s))"
	wantErr(t, err, offramp.CodeUnavailable, want)
	wantErr(t, f.rates.Ready(), offramp.CodeUnavailable, want)

	// WazirX answers again, CoinDCX is down: one fresh of the two required.
	f.coindcx.Fail(http.StatusServiceUnavailable)
	err = f.rates.Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "coindcx: rates: "+strings.TrimPrefix(f.coindcx.URL(), "http://")+" ticker answered 503 Service Unavailable") ||
		strings.Contains(err.Error(), "wazirx") {
		t.Errorf("Check with CoinDCX down = %v", err)
	}
	wantErr(t, f.rates.Ready(), offramp.CodeUnavailable,
		"Rate unavailable: only 1 of 2 rate sources has a fresh price, 2 are required (coindcx: the latest USDT/INR price is 98 s old (limit 60 s))")

	// Both answer but disagree: Check says so.
	f.coindcx.Fail(0)
	f.coindcx.SetLag(0)
	f.coindcx.SetPrice("USDT", "90.15", "")
	f.wazirx.SetPrice("USDT", "88.10", "")
	err = f.rates.Check(ctx)
	wantErr(t, err, offramp.CodeUnavailable, "Rate unavailable: rate sources disagree by 2.33 % (wazirx 88.1, coindcx 90.15), more than the 1 % bound")

	st := f.rates.Status()
	if len(st) != 2 || st[0].Name != "wazirx" || st[1].Name != "coindcx" || !st[1].Up || st[1].Errors != 1 ||
		!st[1].Price.Equal(dec("90.15")) || !strings.Contains(st[1].LastError, "503") || st[0].Errors != 0 {
		t.Errorf("Status = %+v", st)
	}
	if f.rates.Asset() != "USDT" || f.rates.MinFresh() != 2 {
		t.Errorf("Asset %q MinFresh %d", f.rates.Asset(), f.rates.MinFresh())
	}
}

func TestRatesOneSourceAndMinFresh(t *testing.T) {
	f := newMarketsFixture(t, Config{Sources: []string{" CoinDCX "}})
	f.coindcx.SetPrice("USDT", "88.46", "")
	if err := f.rates.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, err := f.rates.Rate(context.Background(), "USDT", "INR")
	if err != nil || r.Value.String() != "88.46" || r.Source != "median(coindcx)" {
		t.Errorf("Rate = %+v, %v", r, err)
	}
	if f.wazirx.Requests() != 0 {
		t.Errorf("WazirX asked %d times though not configured", f.wazirx.Requests())
	}

	// With MinFresh 1, one market is enough.
	g := newMarketsFixture(t, Config{MinFresh: 1})
	g.wazirx.SetPrice("USDT", "88.41", "")
	g.coindcx.Fail(http.StatusBadGateway)
	if err := g.rates.Check(context.Background()); err == nil {
		t.Error("Check with CoinDCX down: nil")
	}
	if err := g.rates.Ready(); err != nil {
		t.Errorf("Ready with MinFresh 1 and WazirX fresh: %v", err)
	}
}

func TestRatesRunStopsWhenCancelled(t *testing.T) {
	f := newMarketsFixture(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.rates.Run(ctx) // returns: every poller sees the cancelled context
	for _, s := range f.rates.Status() {
		if s.Polled || s.Errors != 0 {
			t.Errorf("%s: a cancelled poll was recorded: %+v", s.Name, s)
		}
	}
}

func TestFromConfigValidates(t *testing.T) {
	base := func() Config { return Config{Sources: []string{"wazirx", "coindcx"}} }
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		msg  string
	}{
		{"no sources", func(c *Config) { c.Sources = nil }, "no rate source is configured (want one or more of wazirx, coindcx)"},
		{"unknown", func(c *Config) { c.Sources = []string{"wazirx", "binance"} }, `unknown rate source "binance"`},
		{"twice", func(c *Config) { c.Sources = []string{"wazirx", "WazirX"} }, `rate source "wazirx" is given twice`},
		{"http to a public host", func(c *Config) { c.WazirXBaseURL = "http://api.wazirx.com" }, "must be https"},
		{"http to a private address", func(c *Config) { c.CoinDCXBaseURL = "http://10.0.0.7:8080" }, "must be https"},
		{"127.1 is not a loopback literal", func(c *Config) { c.WazirXBaseURL = "http://127.1" }, "must be https"},
		{"a decimal address is not a loopback literal", func(c *Config) { c.WazirXBaseURL = "http://2130706433" }, "must be https"},
		{"localhost-ish name", func(c *Config) { c.WazirXBaseURL = "http://localhost.example.com" }, "must be https"},
		{"no scheme", func(c *Config) { c.WazirXBaseURL = "api.wazirx.com" }, "not an absolute http(s) URL"},
		{"other scheme", func(c *Config) { c.WazirXBaseURL = "ftp://api.wazirx.com" }, "not an absolute http(s) URL"},
		{"no host", func(c *Config) { c.WazirXBaseURL = "https://" }, "not an absolute http(s) URL"},
		{"credentials", func(c *Config) { c.CoinDCXBaseURL = "https://u:p@api.coindcx.com" }, "must not carry a user"},
		{"query", func(c *Config) { c.CoinDCXBaseURL = "https://api.coindcx.com/?x=1" }, "must not have a query"},
		{"fragment", func(c *Config) { c.CoinDCXBaseURL = "https://api.coindcx.com/#x" }, "must not have a query or fragment"},
		{"not a URL", func(c *Config) { c.CoinDCXBaseURL = "https://a b\x7f" }, "not a URL"},
		{"spread 10 %", func(c *Config) { c.Spread = dec("10") }, "rate spread: 10 % must be less than 10 %"},
		{"negative spread", func(c *Config) { c.Spread = dec("-0.1") }, "must not be negative"},
		{"MinFresh over the sources", func(c *Config) { c.MinFresh = 3 }, "(3) is more than the 2 configured"},
		{"negative bound", func(c *Config) { c.MaxSpreadBetweenSources = dec("-1") }, "must not be negative"},
		{"negative age", func(c *Config) { c.MaxAge = -time.Second }, "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.mod(&cfg)
			_, err := FromConfig(cfg)
			if offramp.ErrorCode(err) != offramp.CodeInvalid || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("FromConfig = %v; want invalid mentioning %q", err, tc.msg)
			}
		})
	}
}

func TestFromConfigBaseURLs(t *testing.T) {
	for raw, want := range map[string]string{
		"":                          "https://api.wazirx.com/sapi/v1/ticker/24hr?symbol=usdtinr",
		"https://api.wazirx.com/":   "https://api.wazirx.com/sapi/v1/ticker/24hr?symbol=usdtinr",
		"https://proxy.example/wx/": "https://proxy.example/wx/sapi/v1/ticker/24hr?symbol=usdtinr",
		"http://127.0.0.1:8081":     "http://127.0.0.1:8081/sapi/v1/ticker/24hr?symbol=usdtinr",
		"http://127.9.8.7":          "http://127.9.8.7/sapi/v1/ticker/24hr?symbol=usdtinr",
		"http://[::1]:9000":         "http://[::1]:9000/sapi/v1/ticker/24hr?symbol=usdtinr",
		"http://LocalHost:9000":     "http://LocalHost:9000/sapi/v1/ticker/24hr?symbol=usdtinr",
		"http://[::ffff:127.0.0.1]": "http://[::ffff:127.0.0.1]/sapi/v1/ticker/24hr?symbol=usdtinr",
	} {
		r, err := FromConfig(Config{Sources: []string{"wazirx"}, WazirXBaseURL: raw})
		if err != nil {
			t.Errorf("base URL %q: %v", raw, err)
			continue
		}
		if got := r.tickers[0].cfg.URL; got != want {
			t.Errorf("base URL %q: ticker URL %q, want %q", raw, got, want)
		}
	}
	r, err := FromConfig(Config{Sources: []string{"coindcx"}})
	if err != nil || r.tickers[0].cfg.URL != "https://api.coindcx.com/exchange/ticker" || r.tickers[0].cfg.MaxAge != time.Minute ||
		r.tickers[0].cfg.Every != 10*time.Second || r.tickers[0].cfg.Client.Timeout != 5*time.Second {
		t.Errorf("CoinDCX defaults: %v %+v", err, r.tickers[0].cfg)
	}
}

// A ticker allowed plain http to loopback still refuses it anywhere else,
// without sending anything.
func TestTickerLoopbackHTTPOnly(t *testing.T) {
	for _, u := range []string{"http://example.invalid/exchange/ticker", "http://10.0.0.1/exchange/ticker", "http://127.1/exchange/ticker"} {
		tk := NewCoinDCX(TickerConfig{URL: u, AllowLoopbackHTTP: true, Client: &http.Client{Transport: failTransport{t}}})
		if err := tk.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "not an https URL") {
			t.Errorf("%s: %v", u, err)
		}
	}
}

type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("request sent to %s", r.URL)
	return nil, io.EOF
}

// A redirect from a loopback fake to a non-loopback plain-http URL is
// refused.
func TestTickerRefusesRedirectOffLoopback(t *testing.T) {
	m := ratesfake.NewCoinDCX(newFakeClock())
	defer m.Close()
	m.Start()
	redirect := &http.Client{Transport: redirectTransport{}}
	tk := NewCoinDCX(TickerConfig{BaseURL: m.URL(), AllowLoopbackHTTP: true, Client: redirect})
	if err := tk.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "redirected to a non-https URL") {
		t.Errorf("Refresh = %v", err)
	}
}

// redirectTransport answers as if the request had been redirected to a
// plain-http public host.
type redirectTransport struct{}

func (redirectTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	final := r.Clone(r.Context())
	final.URL.Scheme, final.URL.Host = "http", "mirror.example.com"
	return &http.Response{StatusCode: 200, Status: "200 OK", Body: io.NopCloser(strings.NewReader("[]")), Request: final}, nil
}

// Over HTTPS, as in production: the fakes' test certificate trusted through
// the configured client.
func TestRatesOverTLS(t *testing.T) {
	clk := newFakeClock()
	wx, dcx := ratesfake.NewWazirX(clk), ratesfake.NewCoinDCX(clk)
	defer wx.Close()
	defer dcx.Close()
	wxURL, dcxURL := wx.StartTLS(), dcx.StartTLS()
	r, err := FromConfig(Config{
		Sources: []string{"wazirx", "coindcx"}, WazirXBaseURL: wxURL, CoinDCXBaseURL: dcxURL,
		HTTPClient: wx.Client(), Clock: clk, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	wx.SetPrice("usdt", "", "88.5") // no bid: the last price
	dcx.SetPrice("usdt", "88.46", "88.6")
	if err := r.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	// (88.46 + 88.5) / 2 = 88.48; no spread.
	if got, err := r.Rate(context.Background(), "USDT", "INR"); err != nil || got.Value.String() != "88.48" || got.Source != "median(wazirx,coindcx)" {
		t.Errorf("Rate = %+v, %v", got, err)
	}
	if wx.Requests() != 1 || dcx.Requests() != 1 {
		t.Errorf("requests: wazirx %d, coindcx %d", wx.Requests(), dcx.Requests())
	}
}
