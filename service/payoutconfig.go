package service

import (
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/engine"
	"github.com/offramp/offramp/money"
)

// CoinLimit bounds one quotation's sending amount, in units of the asset.
type CoinLimit struct {
	Min, Max decimal.Decimal
}

// PayoutConfig configures the payout flow. Zero fields take the defaults
// documented on each.
type PayoutConfig struct {
	// Rates prices assets; Rail pays; Screener runs AML checks. A nil
	// Screener screens nobody out.
	Rates    offramp.RateSource
	Rail     offramp.Rail
	Screener offramp.Screener
	// Fees is the fee schedule (default money.DefaultSchedule()).
	Fees money.Schedule
	// Assets, Networks and Methods are what the configuration endpoint
	// advertises (default USDT, USDC; tron, eth, bsc, polygon, solana,
	// arbitrum; IMPS).
	Assets   []string
	Networks []string
	Methods  []string
	// CoinLimits bounds a quotation per asset (default 10 to 5,600 units,
	// about ₹880 to ₹4,95,000 at ₹88).
	CoinLimits map[string]CoinLimit
	// QuoteTTL is how long a quotation holds its rate (default 5 min).
	QuoteTTL time.Duration
	// DailyLimit is a customer's daily payout limit in INR without EDD
	// (default ₹2,00,000); EDDDailyLimit with a VERIFIED EDD (default
	// ₹10,00,000). PerTransactionLimit caps one IMPS payout (default
	// ₹5,00,000, the IMPS ceiling).
	DailyLimit          decimal.Decimal
	EDDDailyLimit       decimal.Decimal
	PerTransactionLimit decimal.Decimal
	// Engine tunes the payout engine (timeouts, inquiries, deadlines,
	// metrics); its Store, Clock, Rail and Log are the service's.
	Engine engine.Config
}

func (c PayoutConfig) withDefaults() PayoutConfig {
	if c.Fees == (money.Schedule{}) {
		c.Fees = money.DefaultSchedule()
	}
	if len(c.Assets) == 0 {
		c.Assets = []string{"USDT", "USDC"}
	}
	if len(c.Networks) == 0 {
		c.Networks = []string{"tron", "eth", "bsc", "polygon", "solana", "arbitrum"}
	}
	if len(c.Methods) == 0 {
		c.Methods = []string{"IMPS"}
	}
	if c.CoinLimits == nil {
		c.CoinLimits = map[string]CoinLimit{}
	}
	for _, a := range c.Assets {
		if _, ok := c.CoinLimits[a]; !ok {
			c.CoinLimits[a] = CoinLimit{Min: decimal.NewFromInt(10), Max: decimal.NewFromInt(5600)}
		}
	}
	if c.QuoteTTL <= 0 {
		c.QuoteTTL = 5 * time.Minute
	}
	if c.DailyLimit.IsZero() {
		c.DailyLimit = decimal.NewFromInt(200_000)
	}
	if c.EDDDailyLimit.IsZero() {
		c.EDDDailyLimit = decimal.NewFromInt(1_000_000)
	}
	if c.PerTransactionLimit.IsZero() {
		c.PerTransactionLimit = decimal.NewFromInt(500_000)
	}
	return c
}

// supportedAsset normalises an asset name and reports whether it is served.
func (c PayoutConfig) supportedAsset(a string) (string, bool) {
	a = strings.ToUpper(strings.TrimSpace(a))
	return a, slices.Contains(c.Assets, a)
}

// PayoutConfiguration is what the configuration endpoint shows.
type PayoutConfiguration struct {
	Fiats      []string
	Assets     []string
	Networks   []string
	Methods    []string
	CoinLimits map[string]CoinLimit
	// RequiredRiskParameters are the risk_parameters keys a quotation
	// should carry.
	RequiredRiskParameters []string
}

// PayoutConfiguration returns the supported assets, networks, methods and
// per-asset limits.
func (s *Service) PayoutConfiguration() PayoutConfiguration {
	c := s.payouts
	return PayoutConfiguration{
		Fiats: []string{"INR"}, Assets: slices.Clone(c.Assets), Networks: slices.Clone(c.Networks),
		Methods: slices.Clone(c.Methods), CoinLimits: c.CoinLimits,
		RequiredRiskParameters: []string{"ip_address", "device_id", "suspicious_activity_report", "law_enforcement_agency_report"},
	}
}
