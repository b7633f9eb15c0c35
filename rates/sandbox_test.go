package rates

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/shopspring/decimal"
)

// newFakeClock is the shared settable clock, started at a fixed instant so
// the tests are repeatable.
func newFakeClock() *clock.Fake { return clock.NewFake(time.Date(2026, 3, 8, 7, 31, 11, 0, time.UTC)) }

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func wantErr(t *testing.T, err error, code offramp.Code, msg string) {
	t.Helper()
	if offramp.ErrorCode(err) != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	if got := err.(*offramp.Error).Message; got != msg {
		t.Fatalf("message = %q, want %q", got, msg)
	}
}

func TestSandboxRate(t *testing.T) {
	clock := newFakeClock()
	s := NewSandbox(nil, clock) // nil: the default prices
	ctx := context.Background()
	for _, tc := range []struct{ asset, fiat, want, wantAsset string }{
		{"USDT", "INR", "88.5", "USDT"},
		{"usdt", "inr", "88.5", "USDT"},
		{"UsDc", "Inr", "88.4", "USDC"},
	} {
		r, err := s.Rate(ctx, tc.asset, tc.fiat)
		if err != nil {
			t.Fatalf("Rate(%s, %s): %v", tc.asset, tc.fiat, err)
		}
		if !r.Value.Equal(dec(tc.want)) || r.Asset != tc.wantAsset || r.Fiat != "INR" ||
			r.Source != "sandbox" || !r.At.Equal(clock.Now()) {
			t.Errorf("Rate(%s, %s) = %+v, want %s %s/INR from sandbox at %v", tc.asset, tc.fiat, r, tc.want, tc.wantAsset, clock.Now())
		}
	}
	clock.Advance(time.Hour)
	if r, _ := s.Rate(ctx, "USDT", "INR"); !r.At.Equal(clock.Now()) {
		t.Errorf("At = %v, want the clock's now %v", r.At, clock.Now())
	}

	_, err := s.Rate(ctx, "BTC", "INR")
	wantErr(t, err, offramp.CodeInvalid, "Unsupported asset")
	_, err = s.Rate(ctx, "USDT", "USD")
	wantErr(t, err, offramp.CodeInvalid, "Unsupported fiat")
	_, err = s.Rate(ctx, "", "")
	wantErr(t, err, offramp.CodeInvalid, "Unsupported asset")
}

func TestNewSandboxCopiesPrices(t *testing.T) {
	prices := map[string]decimal.Decimal{"usdt": dec("90.25")}
	s := NewSandbox(prices, newFakeClock())
	prices["usdt"] = dec("1")
	prices["USDC"] = dec("1")
	r, err := s.Rate(context.Background(), "USDT", "INR")
	if err != nil || !r.Value.Equal(dec("90.25")) {
		t.Errorf("Rate = %v, %v; want 90.25 (the map is copied)", r.Value, err)
	}
	if _, err := s.Rate(context.Background(), "USDC", "INR"); offramp.ErrorCode(err) != offramp.CodeInvalid {
		t.Errorf("USDC: %v, want Unsupported asset (only configured assets are quoted)", err)
	}
	if DefaultSandboxPrices()["USDT"].String() != "88.5" || DefaultSandboxPrices()["USDC"].String() != "88.4" {
		t.Errorf("DefaultSandboxPrices = %v", DefaultSandboxPrices())
	}
}

func TestNewSandboxPanicsOnNonPositivePrice(t *testing.T) {
	for _, p := range []string{"0", "-88.5"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewSandbox with price %s did not panic", p)
				}
			}()
			NewSandbox(map[string]decimal.Decimal{"USDT": dec(p)}, nil)
		}()
	}
}

func TestParseSandboxPrices(t *testing.T) {
	got, err := ParseSandboxPrices(" usdt = 88.50 ,USDC=88.40")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got["USDT"].Equal(dec("88.5")) || !got["USDC"].Equal(dec("88.4")) {
		t.Errorf("ParseSandboxPrices = %v", got)
	}
	got, err = ParseSandboxPrices("USDT=0.00000001")
	if err != nil || !got["USDT"].Equal(dec("0.00000001")) {
		t.Errorf("8 places: %v, %v", got, err)
	}
	for _, tc := range []struct{ spec, msg string }{
		{"", "none given"},
		{"USDT", "not ASSET=price"},
		{"USDT=", "not ASSET=price"},
		{"=88", "not ASSET=price"},
		{"USDT=88,", "not ASSET=price"},
		{"BTC=5000000", `unsupported asset "BTC"`},
		{"INR=1", `unsupported asset "INR"`},
		{"USDT=88,usdt=89", "USDT is given twice"},
		{"USDT=0", "must be greater than zero"},
		{"USDT=-88", "not a plain decimal"},
		{"USDT=8.85e1", "not a plain decimal"},
		{"USDT=88.5.0", "not a plain decimal"},
		{"USDT=.5", "not a plain decimal"},
		{"USDT=0.000000001", "more than 8 decimal places"},
		{"USDT=1234567890123", "more than 12 integer digits"},
	} {
		_, err := ParseSandboxPrices(tc.spec)
		if offramp.ErrorCode(err) != offramp.CodeInvalid {
			t.Errorf("ParseSandboxPrices(%q) error = %v, want CodeInvalid", tc.spec, err)
			continue
		}
		if msg := err.(*offramp.Error).Message; !strings.Contains(msg, tc.msg) {
			t.Errorf("ParseSandboxPrices(%q) message = %q, want it to contain %q", tc.spec, msg, tc.msg)
		}
	}
}
