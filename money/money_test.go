package money

import (
	"strings"
	"testing"

	"github.com/offramp/offramp"
	"github.com/shopspring/decimal"
)

func TestScale(t *testing.T) {
	for _, tc := range []struct {
		cur  string
		want int32
	}{{"INR", 2}, {"inr", 2}, {"USDT", 6}, {"usdt", 6}, {"UsDc", 6}} {
		got, err := Scale(tc.cur)
		if err != nil || got != tc.want {
			t.Errorf("Scale(%q) = %d, %v; want %d", tc.cur, got, err, tc.want)
		}
	}
	for _, cur := range []string{"", "BTC", "US DT", "USD"} {
		if _, err := Scale(cur); offramp.ErrorCode(err) != offramp.CodeInvalid {
			t.Errorf("Scale(%q) error = %v, want CodeInvalid", cur, err)
		}
	}
}

func TestParseAmount(t *testing.T) {
	ok := []struct {
		in, cur, want string
	}{
		{"51", "USDT", "51"},
		{"51.5", "USDT", "51.5"},
		{"100.000001", "USDT", "100.000001"},
		{"0.000001", "usdc", "0.000001"},
		{"999999999999.999999", "USDT", "999999999999.999999"}, // 12 integer digits, 6 places
		{"4144.60", "INR", "4144.6"},
		{"0.01", "INR", "0.01"},
		{"007", "USDT", "7"},              // leading zeros do not count as digits
		{"10.00000000", "USDT", "10"},     // trailing zeros are not significant places
		{"0000000000000001", "USDT", "1"}, // 16 characters but 1 significant digit
		{"100.10", "inr", "100.1"},        // currency is case-insensitive
		{"123456789012", "INR", "123456789012"},
	}
	for _, tc := range ok {
		got, err := ParseAmount(tc.in, tc.cur)
		if err != nil {
			t.Errorf("ParseAmount(%q, %q) error: %v", tc.in, tc.cur, err)
			continue
		}
		if Crypto(got, tc.cur) != tc.want {
			t.Errorf("ParseAmount(%q, %q) = %s, want %s", tc.in, tc.cur, Crypto(got, tc.cur), tc.want)
		}
	}

	bad := []struct {
		in, cur, msg string
	}{
		{"", "USDT", "Amount is required"},
		{"abc", "USDT", "decimal number"},
		{" 51", "USDT", "decimal number"},
		{"51 ", "USDT", "decimal number"},
		{"+51", "USDT", "decimal number"},
		{".5", "USDT", "decimal number"},
		{"5.", "USDT", "decimal number"},
		{"1.2.3", "USDT", "decimal number"},
		{"1,000", "USDT", "decimal number"},
		{"NaN", "USDT", "decimal number"},
		{"0x10", "USDT", "decimal number"},
		{"5e1", "USDT", "without an exponent"},
		{"5E-3", "USDT", "without an exponent"},
		{"-1", "USDT", "greater than zero"},
		{"−1", "USDT", "greater than zero"}, // U+2212, which decimal.NewFromString would accept
		{"0", "USDT", "greater than zero"},
		{"0.000000", "USDT", "greater than zero"},
		{"100.0000001", "USDT", "USDT amounts have at most 6 decimal places"},
		{"0.0000001", "usdc", "USDC amounts have at most 6 decimal places"},
		{"1.005", "INR", "INR amounts have at most 2 decimal places"},
		{"1234567890123", "USDT", "at most 12 digits before the decimal point"},
		{strings.Repeat("1", 65), "USDT", "too long"},
		{"51", "BTC", "Unsupported currency"},
	}
	for _, tc := range bad {
		_, err := ParseAmount(tc.in, tc.cur)
		var e *offramp.Error
		if err == nil || offramp.ErrorCode(err) != offramp.CodeInvalid {
			t.Errorf("ParseAmount(%q, %q) error = %v, want CodeInvalid", tc.in, tc.cur, err)
			continue
		}
		e = err.(*offramp.Error)
		if !strings.Contains(e.Message, tc.msg) {
			t.Errorf("ParseAmount(%q, %q) message = %q, want it to contain %q", tc.in, tc.cur, e.Message, tc.msg)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		d    decimal.Decimal
		want string
	}{
		{decimal.RequireFromString("4144.60"), "4144.6"},
		{decimal.RequireFromString("51.000000"), "51"},
		{decimal.New(51, 0), "51"},
		{decimal.New(5, 2), "500"}, // positive exponent: never "5E2"
		{decimal.RequireFromString("0.05"), "0.05"},
		{decimal.RequireFromString("0.000001"), "0.000001"},
		{decimal.Zero, "0"},
		{decimal.RequireFromString("0.00"), "0"},
		{decimal.RequireFromString("8850.0000885"), "8850.0000885"},
	} {
		if got := Fiat(tc.d); got != tc.want {
			t.Errorf("Fiat(%s) = %q, want %q", tc.d.StringFixed(8), got, tc.want)
		}
		if got := Crypto(tc.d, "USDT"); got != tc.want {
			t.Errorf("Crypto(%s) = %q, want %q", tc.d.StringFixed(8), got, tc.want)
		}
	}
}

// TestFormatIgnoresDecimalGlobals: amounts on the wire must not change shape
// because some package flipped the decimal library's global formatting
// switches.
func TestFormatIgnoresDecimalGlobals(t *testing.T) {
	trim, sci := decimal.TrimTrailingZeros, decimal.UseScientificNotation
	decimal.TrimTrailingZeros, decimal.UseScientificNotation = false, true
	defer func() { decimal.TrimTrailingZeros, decimal.UseScientificNotation = trim, sci }()
	if got := Fiat(decimal.RequireFromString("4144.60")); got != "4144.6" {
		t.Errorf("Fiat = %q, want 4144.6", got)
	}
	if got := Fiat(decimal.New(15, 2)); got != "1500" {
		t.Errorf("Fiat = %q, want 1500", got)
	}
}
