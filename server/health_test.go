package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/console"
	"github.com/offramp/offramp/rates/ratesfake"
)

func rowNamed(t *testing.T, rows []console.ProviderHealth, prefix string) console.ProviderHealth {
	t.Helper()
	for _, r := range rows {
		if strings.HasPrefix(r.Name, prefix) {
			return r
		}
	}
	t.Fatalf("no provider row %q in %+v", prefix, rows)
	return console.ProviderHealth{}
}

// The console's health rows come from the background checks and the rate
// tickers, never from a call of their own: a rate source's price ages on
// the clock until the next poll, and a check's result is the last round's.
func TestConsoleHealth(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 24, 4, 30, 0, 0, time.UTC))
	market := ratesfake.NewWazirX(clk)
	base := market.Start()
	t.Cleanup(market.Close)
	market.SetPrice("USDT", "88.41", "88.5")

	p := Providers{RateSources: []string{"wazirx"}, WazirXBaseURL: base, KYCVerifier: ChoiceManual, BankVerifier: ChoiceManual}
	b, err := p.build(providerDeps{env: offramp.EnvProduction, clock: clk, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		sandbox: func() (offramp.Rail, error) { return nil, nil }, sandboxPx: func() offramp.RateSource { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	b.checks = append(b.checks, providerCheck{"fake payouts", console.KindRail, func(context.Context) error {
		calls++
		return errors.New("answered 503\nService Unavailable")
	}})
	h := &health{clock: clk}
	fn := b.consoleHealth(h, clk)

	// Before the first round: nothing is called, everything says so.
	rows := fn(ctx)
	if calls != 0 || market.Requests() != 0 {
		t.Fatalf("the health function called a provider: %d checks, %d ticker requests", calls, market.Requests())
	}
	if r := rowNamed(t, rows, "fake payouts"); r.OK || r.Detail != "not checked yet" || !r.CheckedAt.IsZero() {
		t.Errorf("unchecked provider: %+v", r)
	}
	if r := rowNamed(t, rows, "wazirx"); r.Kind != console.KindRates || r.OK || r.PriceAge >= 0 || r.Detail != "not polled yet" {
		t.Errorf("unpolled source: %+v", r)
	}
	if r := rowNamed(t, rows, "not configured"); r.OK || r.Kind != console.KindRail || !strings.Contains(r.Detail, "no bank rail") {
		t.Errorf("missing rail: %+v", r)
	}
	if r := rowNamed(t, rows, "manual KYC"); !r.OK || r.Kind != console.KindKYC {
		t.Errorf("manual KYC: %+v", r)
	}
	if r := rowNamed(t, rows, "manual bank"); !r.OK || r.Kind != console.KindBankVerify {
		t.Errorf("manual bank verification: %+v", r)
	}

	// One round of checks (the server runs one a minute).
	h.run(ctx, b.checks)
	polled := clk.Now()
	clk.Advance(20 * time.Second)
	rows = fn(ctx)
	if calls != 1 || market.Requests() != 1 {
		t.Fatalf("after one round: %d checks, %d ticker requests", calls, market.Requests())
	}
	if r := rowNamed(t, rows, "fake payouts"); r.OK || r.Detail != "answered 503; Service Unavailable" || !r.CheckedAt.Equal(polled) {
		t.Errorf("failing provider: %+v", r)
	}
	src := rowNamed(t, rows, "wazirx")
	if !src.OK || src.PriceAge != 20*time.Second || !src.CheckedAt.Equal(polled) || !strings.Contains(src.Detail, "88.41") {
		t.Errorf("fresh source: %+v", src)
	}
	if r := rowNamed(t, rows, "rate quote"); !r.OK {
		t.Errorf("quote with a fresh price: %+v", r)
	}
	for _, r := range rows {
		if strings.HasPrefix(r.Name, "rate sources (") {
			t.Errorf("the combined rates check is listed beside its sources: %+v", r)
		}
	}

	// No poll since: the price ages past the ticker's limit.
	clk.Advance(75 * time.Second)
	rows = fn(ctx)
	src = rowNamed(t, rows, "wazirx")
	if src.OK || src.PriceAge != 95*time.Second || !strings.Contains(src.Detail, "not quoted") {
		t.Errorf("stale source: %+v", src)
	}
	if r := rowNamed(t, rows, "rate quote"); r.OK || !strings.Contains(r.Detail, "95 s old") {
		t.Errorf("quote with a stale price: %+v", r)
	}
	if market.Requests() != 1 || calls != 1 {
		t.Errorf("reading health polled: %d ticker requests, %d checks", market.Requests(), calls)
	}
}
