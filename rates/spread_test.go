package rates

import (
	"context"
	"strings"
	"testing"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/money"
	"github.com/shopspring/decimal"
)

func TestSpreadIsExact(t *testing.T) {
	for _, tc := range []struct {
		market, spread, want string
	}{
		// 88.41 × (100 − 0.35) / 100 = 88.41 × 99.65 / 100
		//   = (8841 − 30.9435) / 100 = 8810.0565 / 100 = 88.100565
		{"88.41", "0.35", "88.100565"},
		// 88.435 × 99.5 / 100 = (8843.5 − 44.2175) / 100 = 8799.2825 / 100 = 87.992825
		{"88.435", "0.5", "87.992825"},
		// 88.5 × 99.9999 / 100 = (8850 − 0.00885) / 100 = 8849.99115 / 100 = 88.4999115
		{"88.5", "0.0001", "88.4999115"},
		// 100 × 90.0001 / 100 = 90.0001 (the largest spread allowed)
		{"100", "9.9999", "90.0001"},
		// 88.123456789012345678 × 99 / 100 = 8724.222222112222222122 / 100
		//   = 87.24222222112222222122: no digit lost however long the price
		{"88.123456789012345678", "1", "87.24222222112222222122"},
		// 1 % of 88.4 is 0.884: 88.4 − 0.884 = 87.516
		{"88.4", "1", "87.516"},
	} {
		src := stubSource{r: offramp.Rate{Asset: "USDT", Fiat: "INR", Value: dec(tc.market), At: t0, Source: "median(wazirx,coindcx)"}}
		s, err := NewSpread(src, dec(tc.spread))
		if err != nil {
			t.Fatal(err)
		}
		sr, err := s.SpreadRate(context.Background(), "USDT", "INR")
		if err != nil {
			t.Fatal(err)
		}
		if sr.Value.String() != tc.want || !sr.Market.Equal(dec(tc.market)) || !sr.SpreadPercent.Equal(dec(tc.spread)) {
			t.Errorf("%s less %s %%: offered %s (market %s, spread %s), want %s", tc.market, tc.spread, sr.Value, sr.Market, sr.SpreadPercent, tc.want)
		}
		if want := "median(wazirx,coindcx) less " + dec(tc.spread).String() + " % spread"; sr.Source != want || !sr.At.Equal(t0) {
			t.Errorf("Source = %q, At = %v; want %q at %v", sr.Source, sr.At, want, t0)
		}
		r, err := s.Rate(context.Background(), "USDT", "INR")
		if err != nil || !sameRate(r, sr.Rate) {
			t.Errorf("Rate = %+v, %v; want the offered %+v", r, err, sr.Rate)
		}
	}
}

func TestSpreadZeroAndErrors(t *testing.T) {
	src := stubSource{r: offramp.Rate{Asset: "USDT", Fiat: "INR", Value: dec("88.435"), At: t0, Source: "median(wazirx,coindcx)"}}
	s, err := NewSpread(src, decimal.Zero)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.Rate(context.Background(), "USDT", "INR"); err != nil || !sameRate(r, src.r) {
		t.Errorf("zero spread: %+v, %v; want the source's rate unchanged", r, err)
	}

	// The source's refusal passes through unchanged.
	s, _ = NewSpread(stale(95), dec("0.35"))
	_, err = s.Rate(context.Background(), "USDT", "INR")
	wantErr(t, err, offramp.CodeUnavailable, "Rate unavailable: the latest USDT/INR price is 95 s old (limit 60 s)")

	for _, bad := range []string{"-0.1", "10", "25", "0.00001"} {
		if _, err := NewSpread(src, dec(bad)); offramp.ErrorCode(err) != offramp.CodeInvalid {
			t.Errorf("NewSpread(%s) = %v, want invalid", bad, err)
		}
	}
	if _, err := NewSpread(nil, decimal.Zero); offramp.ErrorCode(err) != offramp.CodeInvalid {
		t.Errorf("NewSpread(nil) = %v", err)
	}
}

// sameRate compares rates by value (a decimal's representation may differ).
func sameRate(a, b offramp.Rate) bool {
	return a.Asset == b.Asset && a.Fiat == b.Fiat && a.Value.Equal(b.Value) && a.At.Equal(b.At) && a.Source == b.Source
}

func TestParseSpread(t *testing.T) {
	for in, want := range map[string]string{
		"": "0", "  ": "0", "0": "0", "0.35": "0.35", "0.35%": "0.35", " 0.5 % ": "0.5",
		"1": "1", "9.9999": "9.9999", "0.50000": "0.5", "00.25": "0.25",
	} {
		got, err := ParseSpread(in)
		if err != nil || !got.Equal(dec(want)) {
			t.Errorf("ParseSpread(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"-1":      "not a plain decimal",
		"1e-1":    "not a plain decimal",
		".5":      "not a plain decimal",
		"0.5.1":   "not a plain decimal",
		"half":    "not a plain decimal",
		"0,5":     "not a plain decimal",
		"10":      "must be less than 10 %",
		"12.5%":   "must be less than 10 %",
		"0.12345": "more than 4 decimal places",
		"%":       "not a plain decimal",
	} {
		_, err := ParseSpread(in)
		if offramp.ErrorCode(err) != offramp.CodeInvalid || !strings.Contains(err.Error(), msg) ||
			!strings.Contains(err.Error(), "rate spread: ") {
			t.Errorf("ParseSpread(%q) = %v; want invalid mentioning %q", in, err, msg)
		}
	}
}

// The spread is folded into the rate, so a quotation's arithmetic holds
// with the offered rate exactly as with any other.
func TestSpreadRateInAQuotation(t *testing.T) {
	src := stubSource{r: offramp.Rate{Asset: "USDT", Fiat: "INR", Value: dec("88.41"), At: t0}}
	s, _ := NewSpread(src, dec("0.35"))
	r, _ := s.Rate(context.Background(), "USDT", "INR")
	b, err := money.Quote(dec("51"), r.Value, "USDT", money.DefaultSchedule())
	if err != nil {
		t.Fatal(err)
	}
	// Gross = 51 × 88.100565 = 4493.128815.
	if b.Gross.String() != "4493.128815" {
		t.Errorf("Gross = %s", b.Gross)
	}
	if sum := b.Receiving.Add(money.Total(b.Fees)); !sum.Equal(b.Gross) {
		t.Errorf("receiving + deductions = %s, gross %s", sum, b.Gross)
	}
}
