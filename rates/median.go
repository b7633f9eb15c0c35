package rates

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/offramp/offramp"
	"github.com/shopspring/decimal"
)

// DefaultMaxDisagreement is the widest gap, in percent of the lowest fresh
// price, that Median accepts between its sources: 1 %. USDT/INR on two
// liquid Indian books usually sits within a few paise of each other (well
// under 0.2 %); a gap over 1 % means a feed is broken or the market is
// dislocated, and either way no price can be vouched for.
var DefaultMaxDisagreement = decimal.New(1, 0)

// NamedSource is a RateSource with the short name Median uses in
// Rate.Source and in its refusals ("wazirx").
type NamedSource struct {
	Name   string
	Source offramp.RateSource
}

// MedianConfig configures a Median.
type MedianConfig struct {
	// Sources, at least one, with distinct non-empty names. Their order is
	// the order of names in messages and in Rate.Source.
	Sources []NamedSource
	// MinFresh is how many sources must have a fresh price for a quote.
	// Default: 1 with one source, 2 with two or more, so that every price
	// quoted has been cross-checked against a second market whenever a
	// second market is configured. It may not exceed len(Sources).
	MinFresh int
	// MaxDisagreement is the widest accepted gap between the highest and
	// the lowest fresh price, in percent of the lowest. Zero means
	// DefaultMaxDisagreement (1 %); it may not be negative.
	MaxDisagreement decimal.Decimal
}

var _ offramp.RateSource = (*Median)(nil)

// Median quotes the median of its sources' fresh prices, or refuses.
//
// A source's price is fresh when its Rate answers without error (a Ticker
// answers only with a price no older than its MaxAge). Rate refuses, with
// CodeUnavailable and a message naming the sources and why, when fewer
// than MinFresh are fresh or when the fresh prices disagree by more than
// MaxDisagreement: with disagreeing markets there is no price that both
// the customer and the platform could be paid out on safely, and a 503 is
// retried where a wrong rate is a loss.
//
// The median of an even number of prices is the mean of the middle two,
// exactly (it has at most one more decimal place than they do). Rate.At is
// the oldest of the prices used (the quote is as old as its oldest input)
// and Rate.Source names them: "median(wazirx,coindcx)".
//
// A Median is safe for concurrent use if its sources are.
type Median struct {
	sources  []NamedSource
	minFresh int
	bound    decimal.Decimal // percent
}

// NewMedian checks cfg and returns a Median. Errors are CodeInvalid.
func NewMedian(cfg MedianConfig) (*Median, error) {
	if len(cfg.Sources) == 0 {
		return nil, configErr("no rate source is configured")
	}
	seen := map[string]bool{}
	for _, s := range cfg.Sources {
		if s.Name == "" || s.Source == nil {
			return nil, configErr("every rate source needs a name and a source")
		}
		if seen[s.Name] {
			return nil, configErr("rate source %q is given twice", s.Name)
		}
		seen[s.Name] = true
	}
	m := &Median{sources: slices.Clone(cfg.Sources), minFresh: cfg.MinFresh, bound: cfg.MaxDisagreement}
	switch {
	case m.minFresh < 0:
		return nil, configErr("the minimum number of fresh rate sources must not be negative")
	case m.minFresh == 0:
		m.minFresh = min(len(m.sources), 2)
	case m.minFresh > len(m.sources):
		return nil, configErr("the minimum number of fresh rate sources (%d) is more than the %d configured", m.minFresh, len(m.sources))
	}
	switch {
	case m.bound.IsNegative():
		return nil, configErr("the bound on disagreement between rate sources (%s %%) must not be negative", m.bound)
	case m.bound.IsZero():
		m.bound = DefaultMaxDisagreement
	}
	return m, nil
}

// MinFresh is the number of fresh sources a quote needs.
func (m *Median) MinFresh() int { return m.minFresh }

// MaxDisagreement is the accepted gap between sources, in percent.
func (m *Median) MaxDisagreement() decimal.Decimal { return m.bound }

type namedRate struct {
	name string
	r    offramp.Rate
}

// Rate asks every source and quotes the median of the fresh prices. With a
// single source its refusal is returned unchanged. When
// every source refuses the asset or fiat as invalid, that refusal is
// returned as is (CodeInvalid "Unsupported asset"). Otherwise a source that
// does not answer with a price is not fresh, and the reasons are listed in
// the refusal, e.g.
//
//	Rate unavailable: only 1 of 2 rate sources has a fresh price, 2 are
//	required (coindcx: the latest USDT/INR price is 95 s old (limit 60 s))
//
//	Rate unavailable: rate sources disagree by 2.33 % (wazirx 88.1,
//	coindcx 90.15), more than the 1 % bound
//
// The percentage is rounded up to two places, so that a gap just over the
// bound never reads as equal to it. Errors from a source that are not an
// *offramp.Error are not shown to the caller ("unexpected error"); they are
// kept in the returned error's Err for the log.
func (m *Median) Rate(ctx context.Context, asset, fiatCur string) (offramp.Rate, error) {
	var (
		fresh      []namedRate
		reasons    []string
		hidden     []error
		invalid    error
		allInvalid = true
	)
	if len(m.sources) == 1 {
		// One source: its own answer, with its own words (the README's
		// "the latest USDT/INR price is 95 s old (limit 60 s)").
		s := m.sources[0]
		r, err := s.Source.Rate(ctx, asset, fiatCur)
		if err != nil {
			return offramp.Rate{}, err
		}
		if !r.Value.IsPositive() {
			return offramp.Rate{}, offramp.Errorf(offramp.CodeUnavailable, "Rate unavailable: %s quoted a price of %s", s.Name, r.Value)
		}
		r.Source = "median(" + s.Name + ")"
		return r, nil
	}
	for _, s := range m.sources {
		r, err := s.Source.Rate(ctx, asset, fiatCur)
		if err == nil && !r.Value.IsPositive() {
			err = offramp.Errorf(offramp.CodeUnavailable, "Rate unavailable: quoted a price of %s", r.Value)
		}
		if err == nil {
			fresh = append(fresh, namedRate{s.Name, r})
			allInvalid = false
			continue
		}
		var e *offramp.Error
		switch {
		case errors.As(err, &e) && e.Code == offramp.CodeInvalid:
			if invalid == nil {
				invalid = err
			}
			reasons = append(reasons, s.Name+": "+e.Message)
		case errors.As(err, &e):
			allInvalid = false
			reasons = append(reasons, s.Name+": "+strings.TrimPrefix(e.Message, "Rate unavailable: "))
		default:
			allInvalid = false
			reasons = append(reasons, s.Name+": unexpected error")
			hidden = append(hidden, fmt.Errorf("%s: %w", s.Name, err))
		}
	}
	if invalid != nil && allInvalid {
		return offramp.Rate{}, invalid
	}
	if len(fresh) < m.minFresh {
		var count string
		if len(fresh) == 0 {
			count = fmt.Sprintf("none of the %d rate sources has", len(m.sources))
		} else {
			count = fmt.Sprintf("only %d of %d rate sources %s", len(fresh), len(m.sources), hasHave(len(fresh)))
		}
		msg := fmt.Sprintf("Rate unavailable: %s a fresh price, %d %s required (%s)",
			count, m.minFresh, isAre(m.minFresh), strings.Join(reasons, "; "))
		return offramp.Rate{}, &offramp.Error{Code: offramp.CodeUnavailable, Message: msg, Err: errors.Join(hidden...)}
	}

	values := make([]decimal.Decimal, len(fresh))
	for i, f := range fresh {
		values[i] = f.r.Value
	}
	slices.SortFunc(values, decimal.Decimal.Cmp)
	lo, hi := values[0], values[len(values)-1]
	// hi - lo > bound % of lo, compared exactly: (hi - lo) × 100 > bound × lo.
	if hi.Sub(lo).Mul(hundred).GreaterThan(m.bound.Mul(lo)) {
		gap := hi.Sub(lo).Mul(hundred).DivRound(lo, 8).RoundCeil(2)
		prices := make([]string, len(fresh))
		for i, f := range fresh {
			prices[i] = f.name + " " + f.r.Value.String()
		}
		return offramp.Rate{}, offramp.Errorf(offramp.CodeUnavailable,
			"Rate unavailable: rate sources disagree by %s %% (%s), more than the %s %% bound",
			gap.StringFixed(2), strings.Join(prices, ", "), m.bound)
	}

	n := len(values)
	median := values[n/2]
	if n%2 == 0 {
		median = values[n/2-1].Add(values[n/2]).Mul(decimal.New(5, -1))
	}
	names := make([]string, len(fresh))
	at := fresh[0].r.At
	for i, f := range fresh {
		names[i] = f.name
		if f.r.At.Before(at) {
			at = f.r.At
		}
	}
	first := fresh[0].r
	return offramp.Rate{
		Asset: first.Asset, Fiat: first.Fiat, Value: median, At: at,
		Source: "median(" + strings.Join(names, ",") + ")",
	}, nil
}

var hundred = decimal.New(100, 0)

func hasHave(n int) string {
	if n == 1 {
		return "has"
	}
	return "have"
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func configErr(format string, args ...any) *offramp.Error {
	return offramp.Errorf(offramp.CodeInvalid, "rates: "+format, args...)
}
