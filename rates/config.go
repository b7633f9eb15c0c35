package rates

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// Source names for Config.Sources.
const (
	SourceWazirX  = "wazirx"
	SourceCoinDCX = "coindcx"
)

// KnownSources lists the market sources FromConfig can build, in a stable
// order.
func KnownSources() []string { return []string{SourceWazirX, SourceCoinDCX} }

// Config is what the server needs to quote from real markets. Zero fields
// take the defaults noted.
type Config struct {
	// Sources names the markets to follow, each at most once: "wazirx",
	// "coindcx" (case-insensitive). At least one.
	Sources []string
	// Asset is the one crypto asset quoted, default "USDT"; others are
	// refused as CodeInvalid "Unsupported asset".
	Asset string
	// WazirXBaseURL and CoinDCXBaseURL default to the exchanges' public
	// APIs (WazirXBaseURL, CoinDCXBaseURL). A base URL must be https, except
	// that a loopback host (127.0.0.0/8, ::1, localhost) may use http, for
	// a local fake; it has no user, query or fragment.
	WazirXBaseURL  string
	CoinDCXBaseURL string
	// Spread is the operator's margin in percent, taken off the market
	// price (see Spread): 0 <= Spread < 10, at most 4 decimal places.
	Spread decimal.Decimal
	// MaxAge: a source's price older than this is not fresh. Default 60 s.
	MaxAge time.Duration
	// Every is the poll interval of each source. Default 10 s.
	Every time.Duration
	// MinFresh: see MedianConfig (default 1 with one source, 2 with more).
	MinFresh int
	// MaxSpreadBetweenSources is the widest accepted gap between the
	// sources' fresh prices, in percent of the lowest. Default 1 (%).
	MaxSpreadBetweenSources decimal.Decimal
	Clock                   offramp.Clock // default: the system clock
	Log                     *slog.Logger  // default: slog.Default()
	// Registerer receives the offramp_rate_source_* metrics; nil: none.
	Registerer prometheus.Registerer
	// HTTPClient is shared by the sources. Default: a client with a 5 s
	// timeout. Redirects to plain http are refused whatever the client.
	HTTPClient *http.Client
}

var _ offramp.RateSource = (*Rates)(nil)

// Rates is the production RateSource: each configured market polled by a
// Ticker, their median (Median), less the operator's spread (Spread).
//
// Rate quotes; Run polls until its context ends; Check polls every source
// once and says which did not answer (for `offramp admin check-providers`);
// Ready says whether a quote could be made right now (for readiness).
type Rates struct {
	asset   string
	every   time.Duration
	log     *slog.Logger
	tickers []*Ticker
	median  *Median
	spread  *Spread
}

// FromConfig checks cfg and builds the sources, their median, the spread
// and the metrics. It fetches nothing: call Run (and, to fail fast at
// start-up, Check). Errors are CodeInvalid *offramp.Error saying which
// setting is wrong, or the Registerer's error when the metrics cannot be
// registered (e.g. registered twice).
func FromConfig(cfg Config) (*Rates, error) {
	if len(cfg.Sources) == 0 {
		return nil, configErr("no rate source is configured (want one or more of %s)", strings.Join(KnownSources(), ", "))
	}
	if cfg.Asset == "" {
		cfg.Asset = "USDT"
	}
	if cfg.MaxAge < 0 || cfg.Every < 0 {
		return nil, configErr("the maximum price age and the poll interval must not be negative")
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = defaultMaxAge
	}
	if cfg.Every == 0 {
		cfg.Every = defaultEvery
	}
	if cfg.Clock == nil {
		cfg.Clock = offramp.SystemClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: defaultTimeout}
	}

	r := &Rates{asset: strings.ToUpper(cfg.Asset), every: cfg.Every, log: cfg.Log}
	var named []NamedSource
	for _, raw := range cfg.Sources {
		name := strings.ToLower(strings.TrimSpace(raw))
		if slices.ContainsFunc(r.tickers, func(t *Ticker) bool { return t.name == name }) {
			return nil, configErr("rate source %q is given twice", name)
		}
		tc := TickerConfig{
			Asset: r.asset, Every: cfg.Every, MaxAge: cfg.MaxAge, Client: cfg.HTTPClient,
			Clock: cfg.Clock, Log: cfg.Log, AllowLoopbackHTTP: true,
		}
		var t *Ticker
		switch name {
		case SourceWazirX:
			base, err := checkBaseURL(name, cfg.WazirXBaseURL, WazirXBaseURL)
			if err != nil {
				return nil, err
			}
			tc.BaseURL = base
			t = NewTicker(tc)
		case SourceCoinDCX:
			base, err := checkBaseURL(name, cfg.CoinDCXBaseURL, CoinDCXBaseURL)
			if err != nil {
				return nil, err
			}
			tc.BaseURL = base
			t = NewCoinDCX(tc)
		default:
			return nil, configErr("unknown rate source %q (want one or more of %s)", raw, strings.Join(KnownSources(), ", "))
		}
		r.tickers = append(r.tickers, t)
		named = append(named, NamedSource{Name: t.name, Source: t})
	}
	var err error
	if r.median, err = NewMedian(MedianConfig{Sources: named, MinFresh: cfg.MinFresh, MaxDisagreement: cfg.MaxSpreadBetweenSources}); err != nil {
		return nil, err
	}
	if r.spread, err = NewSpread(r.median, cfg.Spread); err != nil {
		return nil, err
	}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(newSourceMetrics(r.tickers, cfg.Clock)); err != nil {
			return nil, fmt.Errorf("rates: registering metrics: %w", err)
		}
	}
	return r, nil
}

// checkBaseURL applies the default and the https-or-loopback rule, and
// returns the URL without a trailing slash.
func checkBaseURL(source, raw, def string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return def, nil
	}
	bad := func(why string) error {
		return configErr("%s base URL %q: %s", source, raw, why)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		return "", bad("not a URL")
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "", u.Opaque != "":
		return "", bad("not an absolute http(s) URL")
	case u.User != nil:
		return "", bad("must not carry a user or password")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", bad("must not have a query or fragment")
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		return "", bad("must be https (plain http is allowed only to a loopback address: 127.0.0.0/8, ::1, localhost)")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Asset is the asset quoted ("USDT").
func (r *Rates) Asset() string { return r.asset }

// MinFresh is the number of fresh sources a quote needs.
func (r *Rates) MinFresh() int { return r.median.MinFresh() }

// Rate quotes the offered rate: the median of the fresh market prices less
// the spread. See Median.Rate for the refusals.
func (r *Rates) Rate(ctx context.Context, asset, fiatCur string) (offramp.Rate, error) {
	return r.spread.Rate(ctx, asset, fiatCur)
}

// SpreadRate is Rate with the market price (the median, before the
// spread) kept beside it.
func (r *Rates) SpreadRate(ctx context.Context, asset, fiatCur string) (SpreadRate, error) {
	return r.spread.SpreadRate(ctx, asset, fiatCur)
}

// Run polls every source until ctx is done (each starts at once, then
// every Config.Every) and returns when all have stopped.
func (r *Rates) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range r.tickers {
		wg.Go(func() { t.Run(ctx) })
	}
	wg.Wait()
}

// Check polls every source once, concurrently, each bounded like a poll
// of Run. It returns nil only if every source answered with a valid price
// and, with those prices, a quote can be made (Ready); otherwise the
// error names each source that failed and why, one per line
// ("coindcx: rates: api.coindcx.com ticker answered 503 Service
// Unavailable"), or the reason no quote can be made (the sources
// disagree).
func (r *Rates) Check(ctx context.Context) error {
	errs := make([]error, len(r.tickers))
	var wg sync.WaitGroup
	for i, t := range r.tickers {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, max(r.every, defaultTimeout))
			defer cancel()
			if err := t.Refresh(pctx); err != nil {
				errs[i] = fmt.Errorf("%s: %w", t.name, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return r.Ready()
}

// Ready reports whether enough sources have a fresh price that agrees for a
// quote to be made now: nil, or the CodeUnavailable *offramp.Error a
// quotation would get, whose message says why.
func (r *Rates) Ready() error {
	_, err := r.median.Rate(context.Background(), r.asset, fiat)
	return err
}

// Status reports each source's last good price and poll outcomes, in the
// configured order.
func (r *Rates) Status() []SourceStatus {
	out := make([]SourceStatus, len(r.tickers))
	for i, t := range r.tickers {
		out[i] = t.Status()
	}
	return out
}
