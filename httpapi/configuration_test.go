package httpapi_test

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestPayoutConfigurationCoinLimitLayouts: the configuration's coin_limits
// in DollarPe's OpenAPI layout (coin_limits["inr"]["usdt"]["bank_transfer"])
// is served beside the layouts existing clients read (coin_limits["usdt"],
// and the India guide's inr.coin_limits), with the same limits in each.
func TestPayoutConfigurationCoinLimitLayouts(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := c.do("GET", "/pos/api/v1/payout/configuration", nil)
	expectOK(t, r, 200)
	type limit struct{ Min, Max json.Number }
	var cfg struct {
		Fiats      []string                   `json:"supported_fiats"`
		Assets     []string                   `json:"supported_assets"`
		CoinLimits map[string]json.RawMessage `json:"coin_limits"`
		INR        struct {
			CoinLimits map[string]map[string]limit `json:"coin_limits"`
		} `json:"inr"`
	}
	if err := json.Unmarshal(r.Data, &cfg); err != nil {
		t.Fatalf("configuration: %v: %s", err, r.Raw)
	}
	if !slices.Equal(cfg.Fiats, []string{"inr"}) || !slices.Contains(cfg.Assets, "usdt") || !slices.Contains(cfg.Assets, "usdc") {
		t.Fatalf("fiats %v, assets %v", cfg.Fiats, cfg.Assets)
	}
	var byFiat map[string]map[string]limit // DollarPe's OpenAPI layout
	if err := json.Unmarshal(cfg.CoinLimits["inr"], &byFiat); err != nil || len(byFiat) != len(cfg.Assets) {
		t.Fatalf("coin_limits.inr: %v: %s", err, cfg.CoinLimits["inr"])
	}
	for _, a := range cfg.Assets {
		var flat struct { // the integration guide's layout, read today
			limit
			IMPS limit `json:"imps"`
		}
		if err := json.Unmarshal(cfg.CoinLimits[a], &flat); err != nil {
			t.Fatalf("coin_limits.%s: %v: %s", a, err, cfg.CoinLimits[a])
		}
		want := flat.limit
		if want.Min == "" || want.Max == "" {
			t.Fatalf("coin_limits.%s has no min and max: %s", a, cfg.CoinLimits[a])
		}
		for name, got := range map[string]limit{
			"coin_limits." + a + ".imps":                   flat.IMPS,
			"coin_limits.inr." + a + ".bank_transfer":      byFiat[a]["bank_transfer"],
			"coin_limits.inr." + a + ".imps":               byFiat[a]["imps"],
			"inr.coin_limits." + a + ".imps (India guide)": cfg.INR.CoinLimits[a]["imps"],
		} {
			if got != want {
				t.Errorf("%s = %+v, want %+v (coin_limits.%s)", name, got, want, a)
			}
		}
		if _, ok := byFiat[a]["upi"]; ok {
			t.Errorf("coin_limits.inr.%s lists upi, which payouts do not support", a)
		}
	}
	// The values are the sandbox's configured limits (TestQuotationRules
	// quotes either side of them).
	if got := byFiat["usdt"]["bank_transfer"]; got != (limit{"10", "5600"}) {
		t.Fatalf("coin_limits.inr.usdt.bank_transfer = %+v, want min 10, max 5600", got)
	}
}
