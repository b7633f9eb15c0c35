package rates

import (
	"context"
	"strings"

	"github.com/offramp/offramp"
	"github.com/shopspring/decimal"
)

// The operator's spread (--rate-spread) is a margin, in percent, taken off
// the market price: the rate offered to the customer is
//
//	offered = market × (1 − spread / 100)
//
// computed exactly, as market × (100 − spread) with the point moved two
// places left (no division, no rounding: a spread has at most 4 decimal
// places, so the product has at most 6 more than the market price).
//
// How it reaches a DollarPe client: folded into the rate. DollarPe's
// fetch-rate answers {asset, fiat, rate} with "rate is fiat per 1 unit of
// crypto", and a quotation's "fees" object has a fixed set of keys (client
// and DollarPe fees, PG fee, their GST, TDS, gross effective rate) with no
// line for a markup, so an exchange reads the spread from the rate itself,
// the same in fetch-rate and in the quotation. It is deliberately not a fee
// line: a fee would carry 18 % GST in money.Quote and change the tax
// arithmetic of every quotation, while a spread is a price. The market
// price before the spread stays available to Offramp's own code through
// SpreadRate (for the console and the audit trail), never on the DollarPe
// wire.

const (
	// maxSpreadPercent bounds a spread: a margin of 10 % or more on a
	// stablecoin is a typo (a fraction where a percent was meant, or the
	// reverse), not a pricing decision.
	maxSpreadPercent = 10
	// maxSpreadPlaces: 0.0001 % is a hundredth of a basis point.
	maxSpreadPlaces = 4
)

// ParseSpread parses an operator's spread in percent: "0.35" or "0.35%"
// (spaces around are ignored; "" is 0). It must be a plain decimal with at
// most 4 decimal places, at least 0 and below 10. Errors are CodeInvalid.
func ParseSpread(s string) (decimal.Decimal, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return decimal.Zero, nil
	}
	v := strings.TrimSpace(strings.TrimSuffix(s, "%"))
	intPart, frac, hasPoint := strings.Cut(v, ".")
	if !isDigits(intPart) || (hasPoint && !isDigits(frac)) {
		return decimal.Decimal{}, spreadErr("%q is not a plain decimal number of percent (e.g. 0.35)", s)
	}
	d, err := decimal.NewFromString(v)
	if err != nil {
		return decimal.Decimal{}, spreadErr("%q is not a plain decimal number of percent (e.g. 0.35)", s)
	}
	if err := validSpread(d); err != nil {
		return decimal.Decimal{}, err
	}
	return d, nil
}

func validSpread(d decimal.Decimal) error {
	switch {
	case d.IsNegative():
		return spreadErr("%s %% must not be negative", d)
	case d.GreaterThanOrEqual(decimal.New(maxSpreadPercent, 0)):
		return spreadErr("%s %% must be less than %d %% (it is in percent: 0.5 means half a percent)", d, maxSpreadPercent)
	case !d.Equal(d.Truncate(maxSpreadPlaces)):
		return spreadErr("%s %% has more than %d decimal places", d, maxSpreadPlaces)
	}
	return nil
}

func spreadErr(format string, args ...any) *offramp.Error {
	return offramp.Errorf(offramp.CodeInvalid, "rate spread: "+format, args...)
}

// SpreadRate is a rate offered to the customer together with the market
// price it was made from.
type SpreadRate struct {
	offramp.Rate                  // the offered rate: Value is after the spread
	Market        decimal.Decimal // the market price before the spread
	SpreadPercent decimal.Decimal // the operator's spread, in percent
}

var _ offramp.RateSource = (*Spread)(nil)

// Spread is a RateSource that takes the operator's spread off another
// source's price. It is safe for concurrent use if the source is.
type Spread struct {
	src     offramp.RateSource
	percent decimal.Decimal
}

// NewSpread wraps src with a spread of percent (see ParseSpread for the
// limits). A zero spread passes prices through unchanged. Errors are
// CodeInvalid.
func NewSpread(src offramp.RateSource, percent decimal.Decimal) (*Spread, error) {
	if src == nil {
		return nil, configErr("the spread needs a rate source")
	}
	if err := validSpread(percent); err != nil {
		return nil, err
	}
	return &Spread{src: src, percent: percent}, nil
}

// Percent is the spread in percent.
func (s *Spread) Percent() decimal.Decimal { return s.percent }

// Rate quotes the offered rate: the source's price less the spread. The
// source's errors are returned unchanged. Rate.Source is the source's,
// followed by the spread when there is one: "median(wazirx,coindcx) less
// 0.35 % spread".
func (s *Spread) Rate(ctx context.Context, asset, fiatCur string) (offramp.Rate, error) {
	sr, err := s.SpreadRate(ctx, asset, fiatCur)
	return sr.Rate, err
}

// SpreadRate is Rate with the market price kept beside the offered one.
func (s *Spread) SpreadRate(ctx context.Context, asset, fiatCur string) (SpreadRate, error) {
	market, err := s.src.Rate(ctx, asset, fiatCur)
	if err != nil {
		return SpreadRate{}, err
	}
	offered := market
	if !s.percent.IsZero() {
		offered.Value = market.Value.Mul(hundred.Sub(s.percent)).Shift(-2)
		offered.Source = market.Source + " less " + s.percent.String() + " % spread"
	}
	return SpreadRate{Rate: offered, Market: market.Value, SpreadPercent: s.percent}, nil
}
