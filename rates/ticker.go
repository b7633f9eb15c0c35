package rates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/offramp/offramp"
	"github.com/shopspring/decimal"
)

// WazirX's public REST API (docs.wazirx.com, "24hr ticker price change
// statistics"): GET /sapi/v1/ticker/24hr?symbol=usdtinr, no key, rate limit
// 1 request per second, answering one object
//
//	{"symbol": "usdtinr", "baseAsset": "usdt", "quoteAsset": "inr",
//	 "openPrice": "…", "lowPrice": "…", "highPrice": "…", "lastPrice": "88.5",
//	 "volume": "…", "bidPrice": "88.41", "askPrice": "88.6", "at": 1716804798000}
//
// with prices as decimal strings and "at" in milliseconds ("All time and
// timestamp related fields are in milliseconds"). It was chosen over
// CoinDCX's public ticker because it answers for a single symbol (CoinDCX's
// /exchange/ticker returns every market, to be scanned on every poll) and
// carries its own timestamp in milliseconds.
const wazirxTickerURL = "https://api.wazirx.com/sapi/v1/ticker/24hr?symbol="

// DefaultTickerURL is WazirX's public 24h ticker for USDT/INR.
const DefaultTickerURL = wazirxTickerURL + "usdtinr"

const (
	defaultEvery   = 10 * time.Second
	defaultMaxAge  = 60 * time.Second
	defaultTimeout = 5 * time.Second
	// maxBody bounds what is read of a response: a ticker is a few hundred
	// bytes, and a misbehaving server must not make us buffer gigabytes.
	maxBody = 1 << 20
	// maxPriceLen bounds a price's text, which also bounds its digits.
	maxPriceLen = 32
)

// TickerConfig configures a Ticker. Zero fields take the defaults noted.
type TickerConfig struct {
	URL    string        // default: WazirX's public 24h ticker for Asset/INR (DefaultTickerURL for USDT)
	Asset  string        // default "USDT"
	Every  time.Duration // poll interval, default 10 s
	MaxAge time.Duration // refuse to quote a price older than this, default 60 s
	Client *http.Client  // default: a client with a 5 s timeout
	Clock  offramp.Clock // default: the system clock
	Log    *slog.Logger  // default: slog.Default()
}

var _ offramp.RateSource = (*Ticker)(nil)

// Ticker polls a public USDT/INR ticker of a major Indian exchange over
// HTTPS and quotes its latest price. Between polls it quotes the last good
// price, but never one older than MaxAge: a payout quoted on a stale rate is
// a loss for one side, so Rate answers CodeUnavailable instead.
//
// The price is the best bid when the ticker has a positive one, else the
// last traded price: the bid is what the platform could actually sell the
// customer's asset for right now, while the last trade may be minutes old or
// on the other side of the spread.
//
// A Ticker is safe for concurrent use.
type Ticker struct {
	cfg    TickerConfig
	asset  string // upper case, e.g. "USDT"
	symbol string // the exchange's symbol, e.g. "usdtinr"
	source string // Rate.Source: the ticker's host

	mu   sync.RWMutex
	last observation // the last good price; zero until one is fetched
}

type observation struct {
	price decimal.Decimal
	at    time.Time
	ok    bool
}

// NewTicker returns a Ticker for cfg, filling in defaults. It does not fetch
// anything: call Run (or Refresh).
func NewTicker(cfg TickerConfig) *Ticker {
	if cfg.Asset == "" {
		cfg.Asset = "USDT"
	}
	asset := strings.ToUpper(cfg.Asset)
	symbol := strings.ToLower(asset) + "inr"
	if cfg.URL == "" {
		cfg.URL = wazirxTickerURL + symbol
	}
	if cfg.Every <= 0 {
		cfg.Every = defaultEvery
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = defaultMaxAge
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: defaultTimeout}
	}
	if cfg.Clock == nil {
		cfg.Clock = offramp.SystemClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	source := cfg.URL
	if u, err := url.Parse(cfg.URL); err == nil && u.Host != "" {
		source = u.Host
	}
	return &Ticker{cfg: cfg, asset: asset, symbol: symbol, source: source}
}

// Run polls every cfg.Every until ctx is done, starting at once so that a
// price is available as soon as possible. A failed poll is logged and the
// last good price kept (Rate refuses it once it is too old).
func (t *Ticker) Run(ctx context.Context) {
	tick := time.NewTicker(t.cfg.Every)
	defer tick.Stop()
	failing := false
	for {
		// Each poll is bounded (the longer of the interval and 5 s): with a
		// caller's client that has no timeout, a hung server would otherwise
		// stall Run and, with it, every later poll.
		pctx, cancel := context.WithTimeout(ctx, max(t.cfg.Every, defaultTimeout))
		err := t.Refresh(pctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failing = true
			t.cfg.Log.Warn("rates: ticker poll failed; keeping the last good price",
				"source", t.source, "asset", t.asset, "err", err, "last_price_age", t.age())
		case failing:
			failing = false
			t.cfg.Log.Info("rates: ticker poll recovered", "source", t.source, "asset", t.asset)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// age is how old the last good price is, for logs ("none" before the first).
func (t *Ticker) age() string {
	t.mu.RLock()
	last := t.last
	t.mu.RUnlock()
	if !last.ok {
		return "none"
	}
	return t.cfg.Clock.Now().Sub(last.at).Round(time.Second).String()
}

// Refresh polls the ticker once. On success the fetched price becomes the
// one Rate quotes; on any failure (transport error, non-2xx status, a body
// that is not the documented JSON, a symbol that is not ours, no positive
// price) it returns the error and the previous good price is kept.
func (t *Ticker) Refresh(ctx context.Context) error {
	u, err := url.Parse(t.cfg.URL)
	if err != nil || u.Scheme != "https" {
		return fmt.Errorf("rates: ticker URL %q: not an https URL", t.cfg.URL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.cfg.URL, nil)
	if err != nil {
		return fmt.Errorf("rates: ticker request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	// The time before the request is the conservative "fetch time": the
	// price is at least this fresh, perhaps a little fresher.
	sent := t.cfg.Clock.Now()
	resp, err := t.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("rates: fetching %s ticker: %w", t.source, err)
	}
	defer resp.Body.Close()
	// A redirect must not downgrade a price feed to plain HTTP, whatever
	// client the caller supplied.
	if resp.Request != nil && resp.Request.URL.Scheme != "https" {
		return fmt.Errorf("rates: %s ticker redirected to a non-https URL", t.source)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("rates: reading %s ticker: %w", t.source, err)
	}
	received := t.cfg.Clock.Now()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("rates: %s ticker answered %s", t.source, resp.Status)
	}
	if len(body) > maxBody {
		return fmt.Errorf("rates: %s ticker response is larger than %d bytes", t.source, maxBody)
	}
	price, at, err := t.parse(body, sent, received)
	if err != nil {
		return fmt.Errorf("rates: %s ticker: %w", t.source, err)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	// A response older than the one we hold (a lagging cache or replica)
	// must not replace a fresher price.
	if t.last.ok && at.Before(t.last.at) {
		return fmt.Errorf("rates: %s ticker returned a price from %s, older than the one held (%s); keeping the newer",
			t.source, at.Format(time.RFC3339Nano), t.last.at.Format(time.RFC3339Nano))
	}
	t.last = observation{price: price, at: at, ok: true}
	return nil
}

// tickerResponse is the part of the documented response Offramp uses.
type tickerResponse struct {
	Symbol     string      `json:"symbol"`
	BaseAsset  string      `json:"baseAsset"`
	QuoteAsset string      `json:"quoteAsset"`
	LastPrice  priceField  `json:"lastPrice"`
	BidPrice   priceField  `json:"bidPrice"`
	At         json.Number `json:"at"`
}

// parse validates a ticker body and picks its price and time.
func (t *Ticker) parse(body []byte, sent, received time.Time) (decimal.Decimal, time.Time, error) {
	var r tickerResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return decimal.Decimal{}, time.Time{}, fmt.Errorf("response is not the documented ticker JSON: %w", err)
	}
	if !strings.EqualFold(r.Symbol, t.symbol) {
		return decimal.Decimal{}, time.Time{}, fmt.Errorf("response is for symbol %q, want %q", truncate(r.Symbol), t.symbol)
	}
	if r.BaseAsset != "" && !strings.EqualFold(r.BaseAsset, t.asset) ||
		r.QuoteAsset != "" && !strings.EqualFold(r.QuoteAsset, fiat) {
		return decimal.Decimal{}, time.Time{}, fmt.Errorf("response is for %s/%s, want %s/%s",
			truncate(r.BaseAsset), truncate(r.QuoteAsset), t.asset, fiat)
	}
	var price decimal.Decimal
	switch {
	case r.BidPrice.set && r.BidPrice.v.IsPositive():
		price = r.BidPrice.v
	case r.LastPrice.set && r.LastPrice.v.IsPositive():
		price = r.LastPrice.v
	default:
		return decimal.Decimal{}, time.Time{}, errors.New("response has no positive bidPrice or lastPrice")
	}
	at, err := tickerTime(r.At, sent, received)
	if err != nil {
		return decimal.Decimal{}, time.Time{}, err
	}
	return price, at, nil
}

// tickerTime is when the ticker observed its price: its own "at" when
// present, else the fetch time. WazirX documents "at" in milliseconds, yet
// its own examples show 10-digit values (1588829734) that only make sense as
// seconds; a value below 10^11 would be a millisecond time in 1973, so it is
// read as seconds. A time later than the response's arrival (a clock ahead
// of ours) is capped there, so that skew cannot extend a price's life.
func tickerTime(at json.Number, sent, received time.Time) (time.Time, error) {
	if at == "" {
		return sent, nil
	}
	n, err := strconv.ParseInt(at.String(), 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("response has a malformed \"at\" timestamp %q", truncate(at.String()))
	}
	if n == 0 {
		return sent, nil
	}
	var ts time.Time
	if n < 1e11 {
		ts = time.Unix(n, 0)
	} else {
		ts = time.UnixMilli(n)
	}
	if ts.After(received) {
		ts = received
	}
	return ts.UTC(), nil
}

// priceField is a price in the ticker: documented as a decimal string
// ("88.5"), also accepted as a JSON number, and never decoded through a
// float64. Absent, null and "" leave it unset. Only plain decimal notation
// is accepted (a sign, digits, a point): an exponent or anything else makes
// the whole response invalid rather than a price off by powers of ten.
type priceField struct {
	v   decimal.Decimal
	set bool
}

func (p *priceField) UnmarshalJSON(b []byte) error {
	text := string(b)
	if text == "null" {
		return nil
	}
	if strings.HasPrefix(text, `"`) {
		if err := json.Unmarshal(b, &text); err != nil {
			return err
		}
	}
	if text == "" {
		return nil
	}
	digits := strings.TrimPrefix(text, "-")
	intPart, frac, hasPoint := strings.Cut(digits, ".")
	if len(text) > maxPriceLen || !isDigits(intPart) || (hasPoint && !isDigits(frac)) {
		return fmt.Errorf("price %q is not a plain decimal number", truncate(text))
	}
	v, err := decimal.NewFromString(text)
	if err != nil {
		return fmt.Errorf("price %q is not a plain decimal number", truncate(text))
	}
	p.v, p.set = v, true
	return nil
}

// truncate keeps error messages about a remote's data short.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Rate quotes the latest price of the configured asset in INR (both
// case-insensitive). Any other asset or fiat is CodeInvalid ("Unsupported
// asset" / "Unsupported fiat"). Before the first successful poll, or when
// the latest price is older than MaxAge, it is CodeUnavailable with a
// message saying which, because quoting a stale price would pay out at a
// rate the market no longer offers.
func (t *Ticker) Rate(ctx context.Context, asset, fiatCur string) (offramp.Rate, error) {
	if !strings.EqualFold(asset, t.asset) {
		return offramp.Rate{}, unsupportedAsset()
	}
	if !strings.EqualFold(fiatCur, fiat) {
		return offramp.Rate{}, unsupportedFiat()
	}
	t.mu.RLock()
	last := t.last
	t.mu.RUnlock()
	if !last.ok {
		return offramp.Rate{}, offramp.Errorf(offramp.CodeUnavailable, "Rate unavailable: no price fetched yet")
	}
	age := max(t.cfg.Clock.Now().Sub(last.at), 0)
	if age > t.cfg.MaxAge {
		return offramp.Rate{}, offramp.Errorf(offramp.CodeUnavailable,
			"Rate unavailable: the latest %s/%s price is %s old (limit %s)",
			t.asset, fiat, ceilSeconds(age), seconds(t.cfg.MaxAge))
	}
	return offramp.Rate{Asset: t.asset, Fiat: fiat, Value: last.price, At: last.at, Source: t.source}, nil
}

// ceilSeconds renders an age in whole seconds, rounded up so that a price
// refused for being over a 60 s limit never reads "60 s old".
func ceilSeconds(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10) + " s"
}

// seconds renders a limit in seconds, exactly.
func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + " s"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}
