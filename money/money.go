// Package money is Offramp's arithmetic on amounts: parsing them from the
// wire, formatting them back, and computing a payout's fee breakdown.
//
// Money is never a float. Every amount is a decimal.Decimal, every division
// rounds at an explicit scale with an explicit direction, and the breakdown
// adds back up to the gross fiat value to the last digit, so the ledger never
// has a paisa it cannot account for.
package money

import (
	"strings"

	"github.com/offramp/offramp"
	"github.com/shopspring/decimal"
)

// fiatScale is the number of decimal places of INR, the only fiat: fees,
// taxes and the receiving amount are whole paise.
const fiatScale = 2

// maxIntegerDigits bounds the integer part of an amount. 10^12 USDT is far
// beyond any payout, and the bound keeps products and sums small enough that
// nothing downstream (a NUMERIC column, a JSON consumer) has to think about
// overflow.
const maxIntegerDigits = 12

// maxAmountLen bounds the text ParseAmount looks at, so a hostile request
// cannot make it chew through megabytes of leading zeros. 64 characters is
// generous for 12 integer digits, a point and 6 decimals.
const maxAmountLen = 64

// scales are the decimal places of each supported currency. USDT and USDC
// have 6 on every network Offramp deals with (ERC-20, TRC-20, SPL, ...).
var scales = map[string]int32{
	"INR":  2,
	"USDT": 6,
	"USDC": 6,
}

// Scale is the number of decimal places of a currency: INR 2, USDT 6, USDC 6
// (case-insensitive). An unknown currency is a CodeInvalid *offramp.Error.
func Scale(currency string) (int32, error) {
	if s, ok := scales[strings.ToUpper(currency)]; ok {
		return s, nil
	}
	return 0, offramp.Errorf(offramp.CodeInvalid, "Unsupported currency")
}

// ParseAmount parses a positive amount of currency from its text as sent on
// the wire ("51", "51.5", "100.000001"); the text of a JSON number literal is
// passed the same way, so that no amount ever goes through a float64.
//
// It accepts only plain decimal notation: digits, optionally followed by a
// point and at least one digit. It rejects an empty string, anything
// non-numeric (signs, spaces, ".5", "5."), exponent notation ("5e1": legal
// JSON, but a client sending it is almost certainly printing a float), zero
// and negative amounts, more than 12 integer digits, and more decimal places
// than the currency has.
//
// Trailing zeros after the point are not counted as decimal places: "10.00000000"
// is exactly 10 and is accepted for USDT even though it is written with 8
// places, because DollarPe's own older responses format amounts that way and
// a client echoing one back has not asked for any precision USDT lacks. Only
// a significant digit beyond the currency's scale ("0.0000001" USDT) is
// refused, since honouring it would mean silently rounding the customer's
// money.
//
// Errors are *offramp.Error with CodeInvalid and a message naming the
// problem.
func ParseAmount(s, currency string) (decimal.Decimal, error) {
	scale, err := Scale(currency)
	if err != nil {
		return decimal.Decimal{}, err
	}
	cur := strings.ToUpper(currency)
	switch {
	case s == "":
		return decimal.Decimal{}, offramp.Errorf(offramp.CodeInvalid, "Amount is required")
	case len(s) > maxAmountLen:
		return decimal.Decimal{}, offramp.Errorf(offramp.CodeInvalid, "Amount is too long")
	case s[0] == '-' || strings.HasPrefix(s, "\u2212"):
		return decimal.Decimal{}, offramp.Errorf(offramp.CodeInvalid, "Amount must be greater than zero")
	case strings.ContainsAny(s, "eE"):
		return decimal.Decimal{}, offramp.Errorf(offramp.CodeInvalid,
			"Amount must be written as a plain decimal number, without an exponent")
	}
	intPart, frac, ok := splitPlainDecimal(s)
	if !ok {
		return decimal.Decimal{}, offramp.Errorf(offramp.CodeInvalid,
			`Amount must be a decimal number such as "51" or "51.5"`)
	}
	intPart = strings.TrimLeft(intPart, "0")
	frac = strings.TrimRight(frac, "0")
	if len(intPart) > maxIntegerDigits {
		return decimal.Decimal{}, offramp.Errorf(offramp.CodeInvalid,
			"Amounts have at most %d digits before the decimal point", maxIntegerDigits)
	}
	if len(frac) > int(scale) {
		return decimal.Decimal{}, offramp.Errorf(offramp.CodeInvalid,
			"%s amounts have at most %d decimal places", cur, scale)
	}
	if intPart == "" && frac == "" {
		return decimal.Decimal{}, offramp.Errorf(offramp.CodeInvalid, "Amount must be greater than zero")
	}
	// The cleaned text is at most 12 + 1 + 6 characters of digits, so this
	// cannot fail; it is checked anyway rather than trusted.
	clean := intPart
	if clean == "" {
		clean = "0"
	}
	if frac != "" {
		clean += "." + frac
	}
	d, err := decimal.NewFromString(clean)
	if err != nil {
		return decimal.Decimal{}, &offramp.Error{Code: offramp.CodeInvalid,
			Message: `Amount must be a decimal number such as "51" or "51.5"`, Err: err}
	}
	return d, nil
}

// splitPlainDecimal splits s = digits [ "." digits ] into its integer and
// fractional digits. It reports false for anything else.
func splitPlainDecimal(s string) (intPart, frac string, ok bool) {
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if intPart == "" || !allDigits(intPart) {
		return "", "", false
	}
	if hasPoint && (frac == "" || !allDigits(frac)) {
		return "", "", false
	}
	return intPart, frac, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Fiat formats an INR amount for the wire as its minimal exact decimal text:
// "4144.6", "51", "0.05". It never rounds.
func Fiat(d decimal.Decimal) string { return minimal(d) }

// Crypto formats an amount of asset for the wire as its minimal exact decimal
// text ("0.9", "100.000001"). It never rounds; asset is taken so that call
// sites say what they format and a per-asset rule would not change the
// signature.
func Crypto(d decimal.Decimal, asset string) string { return minimal(d) }

// minimal is d's shortest exact plain-decimal text. It does not use
// d.String(), whose output depends on the decimal package's global
// TrimTrailingZeros and UseScientificNotation switches: any package in the
// binary could flip those, and amounts on the wire must not change shape
// because of it. StringFixed ignores both.
func minimal(d decimal.Decimal) string {
	exp := d.Exponent()
	if exp >= 0 {
		return d.StringFixed(0)
	}
	s := d.StringFixed(-exp) // exact: d already has -exp places
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
