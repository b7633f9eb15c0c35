package rates

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/shopspring/decimal"
)

// stubSource answers a fixed rate or error.
type stubSource struct {
	r   offramp.Rate
	err error
}

func (s stubSource) Rate(context.Context, string, string) (offramp.Rate, error) { return s.r, s.err }

var t0 = time.Date(2026, 3, 8, 7, 31, 11, 0, time.UTC)

// price is a fresh stub price observed ago before t0.
func price(v string, ago time.Duration) stubSource {
	return stubSource{r: offramp.Rate{Asset: "USDT", Fiat: "INR", Value: dec(v), At: t0.Add(-ago), Source: "stub"}}
}

func stale(secs int) stubSource {
	return stubSource{err: offramp.Errorf(offramp.CodeUnavailable, "Rate unavailable: the latest USDT/INR price is %d s old (limit 60 s)", secs)}
}

var never = stubSource{err: offramp.Errorf(offramp.CodeUnavailable, "Rate unavailable: no price fetched yet")}

func named(pairs ...any) []NamedSource {
	var out []NamedSource
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, NamedSource{Name: pairs[i].(string), Source: pairs[i+1].(offramp.RateSource)})
	}
	return out
}

func mustMedian(t *testing.T, cfg MedianConfig) *Median {
	t.Helper()
	m, err := NewMedian(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMedianOfFreshPrices(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sources  []NamedSource
		minFresh int
		want     string
		source   string
		oldest   time.Duration
	}{
		// Sorted 88.41, 88.45, 88.50: the middle one. Gap 0.09 / 88.41 =
		// 0.10 %, within 1 %.
		{"3 fresh: the middle", named("a", price("88.50", time.Second), "b", price("88.41", 3*time.Second), "c", price("88.45", 2*time.Second)),
			0, "88.45", "median(a,b,c)", 3 * time.Second},
		// (88.41 + 88.46) / 2 = 176.87 / 2 = 88.435, exactly.
		{"2 fresh: the mean of both", named("wazirx", price("88.41", 0), "coindcx", price("88.46", 5*time.Second)),
			0, "88.435", "median(wazirx,coindcx)", 5 * time.Second},
		// 3 sources, one stale: the mean of the two fresh, (88.41 + 88.5) / 2 = 88.455.
		{"2 of 3 fresh", named("a", price("88.41", 0), "b", stale(95), "c", price("88.5", 0)),
			0, "88.455", "median(a,c)", 0},
		{"1 of 3 fresh with MinFresh 1", named("a", stale(95), "b", price("88.41", 4*time.Second), "c", never),
			1, "88.41", "median(b)", 4 * time.Second},
		{"1 source", named("wazirx", price("88.41", time.Second)), 0, "88.41", "median(wazirx)", time.Second},
		// The gap exactly at the bound is accepted: (88.88 − 88) / 88 = 1 %.
		// Median (88 + 88.88) / 2 = 88.44.
		{"a gap of exactly 1 %", named("a", price("88", 0), "b", price("88.88", 0)), 0, "88.44", "median(a,b)", 0},
		// Four prices: the mean of the middle two, (88.42 + 88.44) / 2 = 88.43.
		{"4 fresh", named("a", price("88.40", 0), "b", price("88.44", 0), "c", price("88.42", 0), "d", price("88.50", 0)),
			0, "88.43", "median(a,b,c,d)", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustMedian(t, MedianConfig{Sources: tc.sources, MinFresh: tc.minFresh})
			r, err := m.Rate(context.Background(), "USDT", "INR")
			if err != nil {
				t.Fatal(err)
			}
			if !r.Value.Equal(dec(tc.want)) || r.Source != tc.source || !r.At.Equal(t0.Add(-tc.oldest)) ||
				r.Asset != "USDT" || r.Fiat != "INR" {
				t.Errorf("Rate = %+v; want %s from %s at %v", r, tc.want, tc.source, t0.Add(-tc.oldest))
			}
		})
	}
}

func TestMedianRefusesTooFewFresh(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sources  []NamedSource
		minFresh int
		msg      string
	}{
		{"1 of 2 (2 required by default)", named("wazirx", price("88.41", 0), "coindcx", stale(95)), 0,
			"Rate unavailable: only 1 of 2 rate sources has a fresh price, 2 are required (coindcx: the latest USDT/INR price is 95 s old (limit 60 s))"},
		{"none of 2", named("wazirx", never, "coindcx", stale(61)), 0,
			"Rate unavailable: none of the 2 rate sources has a fresh price, 2 are required (wazirx: no price fetched yet; coindcx: the latest USDT/INR price is 61 s old (limit 60 s))"},
		{"2 of 3 when all 3 are required", named("a", price("88.41", 0), "b", price("88.42", 0), "c", never), 3,
			"Rate unavailable: only 2 of 3 rate sources have a fresh price, 3 are required (c: no price fetched yet)"},
		{"none of 3 with MinFresh 1", named("a", never, "b", never, "c", stale(70)), 1,
			"Rate unavailable: none of the 3 rate sources has a fresh price, 1 is required (a: no price fetched yet; b: no price fetched yet; c: the latest USDT/INR price is 70 s old (limit 60 s))"},
		{"a non-positive price is not fresh", named("a", price("0", 0), "b", price("88.41", 0)), 0,
			"Rate unavailable: only 1 of 2 rate sources has a fresh price, 2 are required (a: quoted a price of 0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustMedian(t, MedianConfig{Sources: tc.sources, MinFresh: tc.minFresh})
			_, err := m.Rate(context.Background(), "USDT", "INR")
			wantErr(t, err, offramp.CodeUnavailable, tc.msg)
		})
	}

	// One source: its own refusal, unchanged (the README's message).
	m := mustMedian(t, MedianConfig{Sources: named("wazirx", stale(95))})
	_, err := m.Rate(context.Background(), "USDT", "INR")
	wantErr(t, err, offramp.CodeUnavailable, "Rate unavailable: the latest USDT/INR price is 95 s old (limit 60 s)")
}

func TestMedianRefusesDisagreement(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sources []NamedSource
		bound   string
		msg     string
	}{
		// (90.15 − 88.10) / 88.10 = 2.05 / 88.10 = 2.3269…%, shown rounded up: 2.33.
		{"2.33 % over 1 %", named("wazirx", price("88.10", 0), "coindcx", price("90.15", 0)), "",
			"Rate unavailable: rate sources disagree by 2.33 % (wazirx 88.1, coindcx 90.15), more than the 1 % bound"},
		// (88.8801 − 88) / 88 = 1.000113…%: over the bound by a hair, and
		// shown as 1.01, never as 1.00.
		{"just over 1 %", named("a", price("88", 0), "b", price("88.8801", 0)), "",
			"Rate unavailable: rate sources disagree by 1.01 % (a 88, b 88.8801), more than the 1 % bound"},
		// One outlier among three is refused too, not outvoted: every fresh
		// price must agree. (89.5 − 88.41) / 88.41 = 1.2328…% → 1.24.
		{"an outlier among 3", named("a", price("88.41", 0), "b", price("88.45", 0), "c", price("89.5", 0)), "",
			"Rate unavailable: rate sources disagree by 1.24 % (a 88.41, b 88.45, c 89.5), more than the 1 % bound"},
		// (88.50 − 88.41) / 88.41 = 0.1018…% → 0.11, over a 0.1 % bound.
		{"a tighter bound", named("a", price("88.41", 0), "b", price("88.50", 0)), "0.1",
			"Rate unavailable: rate sources disagree by 0.11 % (a 88.41, b 88.5), more than the 0.1 % bound"},
		// A stale source does not count, but the fresh ones still must agree.
		{"the fresh ones disagree", named("a", price("88.41", 0), "b", stale(95), "c", price("90", 0)), "",
			"Rate unavailable: rate sources disagree by 1.80 % (a 88.41, c 90), more than the 1 % bound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := MedianConfig{Sources: tc.sources}
			if tc.bound != "" {
				cfg.MaxDisagreement = dec(tc.bound)
			}
			_, err := mustMedian(t, cfg).Rate(context.Background(), "USDT", "INR")
			wantErr(t, err, offramp.CodeUnavailable, tc.msg)
		})
	}
}

func TestMedianUnsupportedAndUnexpected(t *testing.T) {
	// Every source refuses the asset: that refusal, as is.
	m := mustMedian(t, MedianConfig{Sources: named("a", stubSource{err: unsupportedAsset()}, "b", stubSource{err: unsupportedAsset()})})
	_, err := m.Rate(context.Background(), "BTC", "INR")
	wantErr(t, err, offramp.CodeInvalid, "Unsupported asset")

	// Some refuse it, another is stale: unavailable, with both reasons.
	m = mustMedian(t, MedianConfig{Sources: named("a", stubSource{err: unsupportedAsset()}, "b", stale(95))})
	_, err = m.Rate(context.Background(), "USDT", "INR")
	wantErr(t, err, offramp.CodeUnavailable, "Rate unavailable: none of the 2 rate sources has a fresh price, 2 are required (a: Unsupported asset; b: the latest USDT/INR price is 95 s old (limit 60 s))")

	// An error that is not an *offramp.Error is not shown, but kept for the log.
	cause := errors.New("dial tcp 10.1.2.3:443: connection refused")
	m = mustMedian(t, MedianConfig{Sources: named("a", price("88.41", 0), "b", stubSource{err: cause})})
	_, err = m.Rate(context.Background(), "USDT", "INR")
	wantErr(t, err, offramp.CodeUnavailable, "Rate unavailable: only 1 of 2 rate sources has a fresh price, 2 are required (b: unexpected error)")
	if !errors.Is(err, cause) {
		t.Errorf("error %v does not wrap the cause", err)
	}
}

func TestMedianConfig(t *testing.T) {
	one, two := named("a", never), named("a", never, "b", never)
	three := named("a", never, "b", never, "c", never)
	for _, tc := range []struct {
		sources  []NamedSource
		minFresh int
		want     int
	}{{one, 0, 1}, {two, 0, 2}, {three, 0, 2}, {three, 1, 1}, {three, 3, 3}} {
		m := mustMedian(t, MedianConfig{Sources: tc.sources, MinFresh: tc.minFresh})
		if m.MinFresh() != tc.want || !m.MaxDisagreement().Equal(decimal.New(1, 0)) {
			t.Errorf("%d sources, MinFresh %d: got %d, bound %s; want %d, 1", len(tc.sources), tc.minFresh, m.MinFresh(), m.MaxDisagreement(), tc.want)
		}
	}
	for _, tc := range []struct {
		cfg MedianConfig
		msg string
	}{
		{MedianConfig{}, "no rate source is configured"},
		{MedianConfig{Sources: named("a", never, "a", never)}, `rate source "a" is given twice`},
		{MedianConfig{Sources: []NamedSource{{Name: "", Source: never}}}, "needs a name"},
		{MedianConfig{Sources: []NamedSource{{Name: "a"}}}, "needs a name and a source"},
		{MedianConfig{Sources: two, MinFresh: 3}, "(3) is more than the 2 configured"},
		{MedianConfig{Sources: two, MinFresh: -1}, "must not be negative"},
		{MedianConfig{Sources: two, MaxDisagreement: dec("-0.5")}, "(-0.5 %) must not be negative"},
	} {
		_, err := NewMedian(tc.cfg)
		if offramp.ErrorCode(err) != offramp.CodeInvalid || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("NewMedian(%+v) = %v; want invalid mentioning %q", tc.cfg, err, tc.msg)
		}
	}
}
