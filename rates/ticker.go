package rates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/offramp/offramp"
	"github.com/shopspring/decimal"
)

// WazirX's public REST API (https://docs.wazirx.com/, section "24hr ticker
// price change statistics"): GET /sapi/v1/ticker/24hr?symbol=usdtinr, no
// key, rate limit 1 request per second, answering one object
//
//	{"symbol": "usdtinr", "baseAsset": "usdt", "quoteAsset": "inr",
//	 "openPrice": "…", "lowPrice": "…", "highPrice": "…", "lastPrice": "88.5",
//	 "volume": "…", "bidPrice": "88.41", "askPrice": "88.6", "at": 1716804798000}
//
// with prices as decimal strings and "at" in milliseconds ("All time and
// timestamp related fields are in milliseconds"). It answers for a single
// symbol and carries its own timestamp; CoinDCX's ticker (coindcx.go) is the
// second source, compared with it by Median.

// WazirXBaseURL is WazirX's public REST API.
const WazirXBaseURL = "https://api.wazirx.com"

const wazirxTickerPath = "/sapi/v1/ticker/24hr?symbol="

// DefaultTickerURL is WazirX's public 24h ticker for USDT/INR.
const DefaultTickerURL = WazirXBaseURL + wazirxTickerPath + "usdtinr"

// exchange is what differs between the exchanges a Ticker can follow: where
// the ticker is, what the market is called, and how the answer reads.
type exchange struct {
	name    string // the source's short name: "wazirx"
	baseURL string // default base URL
	// symbol is the exchange's name for asset/INR, path the ticker's path
	// and query under the base URL.
	symbol func(asset string) string
	path   func(symbol string) string
	// maxBody bounds what is read of a response.
	maxBody int64
	// parse validates a body and picks its price and time.
	parse func(t *Ticker, body []byte, sent, received time.Time) (decimal.Decimal, time.Time, error)
}

var wazirx = &exchange{
	name:    "wazirx",
	baseURL: WazirXBaseURL,
	symbol:  func(asset string) string { return strings.ToLower(asset) + "inr" },
	path:    func(symbol string) string { return wazirxTickerPath + symbol },
	maxBody: maxBody,
	parse:   (*Ticker).parseWazirX,
}

const (
	defaultEvery   = 10 * time.Second
	defaultMaxAge  = 60 * time.Second
	defaultTimeout = 5 * time.Second
	// maxBody bounds what is read of a WazirX response: a ticker is a few
	// hundred bytes, and a misbehaving server must not make us buffer
	// gigabytes.
	maxBody = 1 << 20
	// maxPriceLen bounds a price's text, which also bounds its digits.
	maxPriceLen = 32
)

// TickerConfig configures a Ticker. Zero fields take the defaults noted.
type TickerConfig struct {
	// URL is the ticker's full URL. Default: BaseURL followed by the
	// exchange's ticker path for Asset/INR.
	URL string
	// BaseURL is the exchange's API root, default WazirXBaseURL (NewTicker)
	// or CoinDCXBaseURL (NewCoinDCX). Ignored when URL is set.
	BaseURL string
	// Name is the source's short name in logs, metrics and Median's
	// messages. Default: the exchange's ("wazirx", "coindcx").
	Name   string
	Asset  string        // default "USDT"
	Every  time.Duration // poll interval, default 10 s
	MaxAge time.Duration // refuse to quote a price older than this, default 60 s
	Client *http.Client  // default: a client with a 5 s timeout
	Clock  offramp.Clock // default: the system clock
	Log    *slog.Logger  // default: slog.Default()
	// AllowLoopbackHTTP lets the ticker use plain http when the URL's host
	// is a loopback address (127.0.0.0/8, ::1, localhost): a local fake of
	// the exchange. Any other URL must be https.
	AllowLoopbackHTTP bool
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
	ex     *exchange
	asset  string // upper case, e.g. "USDT"
	symbol string // the exchange's symbol, e.g. "usdtinr"
	source string // Rate.Source: the ticker's host
	name   string // short name: "wazirx"

	mu     sync.RWMutex
	last   observation // the last good price; zero until one is fetched
	health health      // the outcome of the polls
}

// health is what the polls have been like, for metrics and status.
type health struct {
	polled   bool      // at least one poll has ended
	up       bool      // the last poll succeeded
	errors   uint64    // failed polls so far
	lastErr  string    // the last failed poll's error
	lastPoll time.Time // when the last poll ended
}

type observation struct {
	price decimal.Decimal
	at    time.Time
	ok    bool
}

// NewTicker returns a Ticker following WazirX's public 24h ticker (see
// WazirXBaseURL), filling in defaults. It does not fetch anything: call Run
// (or Refresh).
func NewTicker(cfg TickerConfig) *Ticker { return newTicker(wazirx, cfg) }

func newTicker(ex *exchange, cfg TickerConfig) *Ticker {
	if cfg.Asset == "" {
		cfg.Asset = "USDT"
	}
	asset := strings.ToUpper(cfg.Asset)
	symbol := ex.symbol(asset)
	if cfg.BaseURL == "" {
		cfg.BaseURL = ex.baseURL
	}
	if cfg.URL == "" {
		cfg.URL = strings.TrimRight(cfg.BaseURL, "/") + ex.path(symbol)
	}
	if cfg.Name == "" {
		cfg.Name = ex.name
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
	return &Ticker{cfg: cfg, ex: ex, asset: asset, symbol: symbol, source: source, name: cfg.Name}
}

// Name is the source's short name ("wazirx", "coindcx").
func (t *Ticker) Name() string { return t.name }

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
				"source", t.name, "host", t.source, "asset", t.asset, "err", err, "last_price_age", t.age())
		case failing:
			failing = false
			t.cfg.Log.Info("rates: ticker poll recovered", "source", t.name, "host", t.source, "asset", t.asset)
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
// price) it returns the error and the previous good price is kept. Every
// poll's outcome is recorded for Status and the metrics, except one the
// caller cancelled (that says nothing about the exchange).
func (t *Ticker) Refresh(ctx context.Context) error {
	err := t.refresh(ctx)
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		return err
	}
	now := t.cfg.Clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.health.polled, t.health.up, t.health.lastPoll = true, err == nil, now
	if err != nil {
		t.health.errors++
		t.health.lastErr = err.Error()
	}
	return err
}

func (t *Ticker) refresh(ctx context.Context) error {
	u, err := url.Parse(t.cfg.URL)
	if err != nil || !t.allowedURL(u) {
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
	if resp.Request != nil && !t.allowedURL(resp.Request.URL) {
		return fmt.Errorf("rates: %s ticker redirected to a non-https URL", t.source)
	}
	limit := t.ex.maxBody
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("rates: reading %s ticker: %w", t.source, err)
	}
	received := t.cfg.Clock.Now()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("rates: %s ticker answered %s", t.source, resp.Status)
	}
	if int64(len(body)) > limit {
		return fmt.Errorf("rates: %s ticker response is larger than %d bytes", t.source, limit)
	}
	price, at, err := t.ex.parse(t, body, sent, received)
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

// allowedURL: https, or plain http to a loopback host when the
// configuration allows it.
func (t *Ticker) allowedURL(u *url.URL) bool {
	switch {
	case u.Scheme == "https" && u.Host != "":
		return true
	case u.Scheme == "http" && t.cfg.AllowLoopbackHTTP:
		return isLoopbackHost(u.Hostname())
	}
	return false
}

// isLoopbackHost: "localhost", or a literal address in 127.0.0.0/8 or ::1
// (IPv4-mapped forms included). Other spellings ("127.1", "2130706433")
// are not addresses here.
func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Zone() == "" && a.Unmap().IsLoopback()
}

// SourceStatus is a snapshot of one source for operators: its last good
// price and how its polls have gone.
type SourceStatus struct {
	Name      string          // "wazirx"
	Host      string          // the ticker's host, also Rate.Source
	Asset     string          // "USDT"
	Price     decimal.Decimal // the last good price; zero before the first
	At        time.Time       // when the exchange observed it; zero before the first
	Polled    bool            // at least one poll has ended
	Up        bool            // the last poll succeeded
	Errors    uint64          // failed polls so far
	LastError string          // the last failed poll's error, "" if none yet
	LastPoll  time.Time       // when the last poll ended
	// MaxAge is the ticker's limit: a price older than this is not
	// quoted, so a caller can tell a stale price from a fresh one
	// without asking for a rate.
	MaxAge time.Duration
}

// Status reports the ticker's last good price and poll outcomes.
func (t *Ticker) Status() SourceStatus {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := SourceStatus{
		Name: t.name, Host: t.source, Asset: t.asset,
		Polled: t.health.polled, Up: t.health.up, Errors: t.health.errors,
		LastError: t.health.lastErr, LastPoll: t.health.lastPoll, MaxAge: t.cfg.MaxAge,
	}
	if t.last.ok {
		s.Price, s.At = t.last.price, t.last.at
	}
	return s
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

// parseWazirX validates a WazirX ticker body and picks its price and time.
func (t *Ticker) parseWazirX(body []byte, sent, received time.Time) (decimal.Decimal, time.Time, error) {
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
	price, ok := pickPrice(r.BidPrice, r.LastPrice)
	if !ok {
		return decimal.Decimal{}, time.Time{}, errors.New("response has no positive bidPrice or lastPrice")
	}
	at, err := tickerTime("at", r.At, sent, received)
	if err != nil {
		return decimal.Decimal{}, time.Time{}, err
	}
	return price, at, nil
}

// pickPrice is the best bid when positive, else the last traded price when
// positive (see Ticker).
func pickPrice(bid, last priceField) (decimal.Decimal, bool) {
	switch {
	case bid.set && bid.v.IsPositive():
		return bid.v, true
	case last.set && last.v.IsPositive():
		return last.v, true
	}
	return decimal.Decimal{}, false
}

// tickerTime is when the ticker observed its price: its own "at" when
// present, else the fetch time. WazirX documents "at" in milliseconds, yet
// its own examples show 10-digit values (1588829734) that only make sense as
// seconds; a value below 10^11 would be a millisecond time in 1973, so it is
// read as seconds. A time later than the response's arrival (a clock ahead
// of ours) is capped there, so that skew cannot extend a price's life.
// field names the member in errors.
func tickerTime(field string, at json.Number, sent, received time.Time) (time.Time, error) {
	if at == "" {
		return sent, nil
	}
	n, err := strconv.ParseInt(at.String(), 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("response has a malformed %q: %q", field, truncate(at.String()))
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
