// Package rates provides implementations of offramp.RateSource: a fixed-price
// Sandbox for tests and demos, and, for production, prices from real
// markets:
//
//   - Ticker polls one exchange's public USDT/INR ticker (NewTicker: WazirX;
//     NewCoinDCX: CoinDCX) and refuses a price older than its MaxAge;
//   - Median quotes the median of several sources' fresh prices and refuses
//     when too few are fresh or when they disagree;
//   - Spread takes the operator's margin off the market price;
//   - FromConfig builds all three from the server's settings (Rates), with
//     Run, Check, Ready and the offramp_rate_source_* metrics.
//
// Package ratesfake fakes the exchanges' APIs for tests.
//
// Prices are decimals from end to end: they are parsed from text and never
// pass through a float64, because a rate is multiplied into every payout.
package rates

import (
	"context"
	"fmt"
	"strings"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/money"
	"github.com/shopspring/decimal"
)

// fiat is the only fiat currency Offramp pays out in.
const fiat = "INR"

// maxPricePlaces bounds the decimal places of a configured price. Exchanges
// quote INR prices to a few places; more than 8 in a configuration is a typo.
const maxPricePlaces = 8

var _ offramp.RateSource = (*Sandbox)(nil)

// Sandbox quotes fixed, configurable prices: deterministic for tests and
// demos. It is safe for concurrent use (it never changes after NewSandbox).
type Sandbox struct {
	prices map[string]decimal.Decimal // upper-case asset → INR per unit
	clock  offramp.Clock
}

// DefaultSandboxPrices is USDT at ₹88.50 and USDC at ₹88.40, close enough to
// the market that demo quotes look plausible.
func DefaultSandboxPrices() map[string]decimal.Decimal {
	return map[string]decimal.Decimal{
		"USDT": decimal.New(8850, -2),
		"USDC": decimal.New(8840, -2),
	}
}

// NewSandbox returns a Sandbox quoting prices (INR per unit, keyed by asset
// such as "USDT", in any case). A nil map means DefaultSandboxPrices; a nil
// clock means the system clock. The map is copied, so the caller may reuse
// it.
//
// NewSandbox panics if a price is not positive: that is a programming error
// (ParseSandboxPrices refuses such input), and quoting it would pay out at a
// nonsensical rate.
func NewSandbox(prices map[string]decimal.Decimal, clock offramp.Clock) *Sandbox {
	if prices == nil {
		prices = DefaultSandboxPrices()
	}
	if clock == nil {
		clock = offramp.SystemClock{}
	}
	s := &Sandbox{prices: make(map[string]decimal.Decimal, len(prices)), clock: clock}
	for asset, p := range prices {
		if !p.IsPositive() {
			panic(fmt.Sprintf("rates: sandbox price for %s is %s; it must be positive", asset, p.StringFixed(maxPricePlaces)))
		}
		s.prices[strings.ToUpper(asset)] = p
	}
	return s
}

// Rate quotes the configured price of asset in fiat. Both are
// case-insensitive. An asset without a price or a fiat other than INR is a
// CodeInvalid *offramp.Error ("Unsupported asset" / "Unsupported fiat").
// Rate.At is the clock's now: a sandbox price is always current.
func (s *Sandbox) Rate(ctx context.Context, asset, fiatCur string) (offramp.Rate, error) {
	asset, fiatCur = strings.ToUpper(asset), strings.ToUpper(fiatCur)
	p, ok := s.prices[asset]
	if !ok {
		return offramp.Rate{}, unsupportedAsset()
	}
	if fiatCur != fiat {
		return offramp.Rate{}, unsupportedFiat()
	}
	return offramp.Rate{Asset: asset, Fiat: fiat, Value: p, At: s.clock.Now(), Source: "sandbox"}, nil
}

// ParseSandboxPrices parses "USDT=88.50,USDC=88.40" into prices for
// NewSandbox. Assets are case-insensitive and must be supported crypto
// assets (USDT, USDC), each given once; prices are positive plain decimals
// with at most 8 decimal places and 12 integer digits. Errors are CodeInvalid
// *offramp.Error.
func ParseSandboxPrices(spec string) (map[string]decimal.Decimal, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, offramp.Errorf(offramp.CodeInvalid, "sandbox prices: none given (want e.g. USDT=88.50,USDC=88.40)")
	}
	prices := map[string]decimal.Decimal{}
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		asset, val, ok := strings.Cut(item, "=")
		asset, val = strings.ToUpper(strings.TrimSpace(asset)), strings.TrimSpace(val)
		if !ok || asset == "" || val == "" {
			return nil, offramp.Errorf(offramp.CodeInvalid, "sandbox prices: %q is not ASSET=price", item)
		}
		if _, err := money.Scale(asset); err != nil || asset == fiat {
			return nil, offramp.Errorf(offramp.CodeInvalid, "sandbox prices: unsupported asset %q", asset)
		}
		if _, dup := prices[asset]; dup {
			return nil, offramp.Errorf(offramp.CodeInvalid, "sandbox prices: %s is given twice", asset)
		}
		p, err := parsePrice(val)
		if err != nil {
			return nil, offramp.Errorf(offramp.CodeInvalid, "sandbox prices: %s=%q: %v", asset, val, err)
		}
		prices[asset] = p
	}
	return prices, nil
}

// parsePrice parses a configured price strictly: digits, optionally a point
// and more digits; positive; at most maxPricePlaces places and 12 integer
// digits. Exponents and signs are refused so that a typo cannot become a
// rate off by powers of ten.
func parsePrice(s string) (decimal.Decimal, error) {
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if !isDigits(intPart) || (hasPoint && !isDigits(frac)) {
		return decimal.Decimal{}, fmt.Errorf("not a plain decimal number")
	}
	if len(strings.TrimLeft(intPart, "0")) > 12 {
		return decimal.Decimal{}, fmt.Errorf("more than 12 integer digits")
	}
	if len(strings.TrimRight(frac, "0")) > maxPricePlaces {
		return decimal.Decimal{}, fmt.Errorf("more than %d decimal places", maxPricePlaces)
	}
	p, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("not a plain decimal number")
	}
	if !p.IsPositive() {
		return decimal.Decimal{}, fmt.Errorf("must be greater than zero")
	}
	return p, nil
}

func isDigits(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func unsupportedAsset() error {
	return offramp.FieldError(offramp.CodeInvalid, "asset", "Unsupported asset")
}

func unsupportedFiat() error {
	return offramp.FieldError(offramp.CodeInvalid, "fiat", "Unsupported fiat")
}
