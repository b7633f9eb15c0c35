package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/engine"
	"github.com/offramp/offramp/idcheck"
	cfid "github.com/offramp/offramp/idcheck/cashfree"
	"github.com/offramp/offramp/rail/cashfree"
	"github.com/offramp/offramp/rail/razorpayx"
	"github.com/offramp/offramp/rates"
	"github.com/offramp/offramp/sandbox"
)

// Providers chooses and configures the outside services Offramp pays,
// verifies and prices through. Empty choices take the environment's
// default: in sandbox the simulated bank, the sandbox verifier and fixed
// prices; in production nothing until configured (and /readyz says so).
type Providers struct {
	// Rail is "sandbox", "razorpayx" or "cashfree".
	Rail string
	// KYCVerifier is "sandbox", "cashfree" or "manual"; BankVerifier is
	// "sandbox", "razorpayx", "cashfree" or "manual".
	KYCVerifier, BankVerifier string
	// RateSources are market names ("wazirx", "coindcx"); nil: sandbox
	// prices in sandbox, wazirx in production.
	RateSources []string
	// RateSpread is the operator's margin in percent, taken off the market
	// price.
	RateSpread decimal.Decimal

	RazorpayX RazorpayX
	Cashfree  Cashfree
	// WazirXBaseURL and CoinDCXBaseURL: empty means the exchanges' public
	// APIs.
	WazirXBaseURL, CoinDCXBaseURL string
}

// RazorpayX is the RazorpayX configuration (OFFRAMP_RAZORPAYX_*).
type RazorpayX struct {
	KeyID, KeySecret, AccountNumber, WebhookSecret, BaseURL string
}

// Cashfree is the Cashfree configuration (OFFRAMP_CASHFREE_*).
type Cashfree struct {
	ClientID, ClientSecret, PayoutBaseURL, VerificationBaseURL, WebhookSecret string
}

// Choices.
const (
	ChoiceSandbox   = "sandbox"
	ChoiceRazorpayX = "razorpayx"
	ChoiceCashfree  = "cashfree"
	ChoiceManual    = "manual"
)

// CheckBaseURL enforces the rule for a provider's base URL: https, or plain
// http only to a loopback address (a local fake); no credentials, query or
// fragment. name is the setting, for the message.
func CheckBaseURL(name, raw string) error {
	if raw == "" {
		return nil // the provider's default
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s: %q is not a URL", name, raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%s: a base URL carries no credentials, query or fragment", name)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("%s: %s must use https (plain http is allowed only to a loopback address)", name, redactURL(u))
	}
	return fmt.Errorf("%s: scheme %q: use https", name, u.Scheme)
}

func redactURL(u *url.URL) string { return u.Scheme + "://" + u.Host + u.Path }

// Validate checks the choices and that every chosen provider has what it
// needs, without calling anything. Messages name settings, never values of
// secrets.
func (p Providers) Validate() error {
	var errs []error
	oneOf := func(setting, v string, allowed ...string) {
		if v == "" {
			return
		}
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		errs = append(errs, fmt.Errorf("%s %q: use one of %s", setting, v, strings.Join(allowed, ", ")))
	}
	oneOf("--rail", p.Rail, ChoiceSandbox, ChoiceRazorpayX, ChoiceCashfree)
	oneOf("--kyc-verifier", p.KYCVerifier, ChoiceSandbox, ChoiceCashfree, ChoiceManual)
	oneOf("--bank-verifier", p.BankVerifier, ChoiceSandbox, ChoiceRazorpayX, ChoiceCashfree, ChoiceManual)
	needRZP := p.Rail == ChoiceRazorpayX || p.BankVerifier == ChoiceRazorpayX
	needCFPay := p.Rail == ChoiceCashfree
	needCFID := p.KYCVerifier == ChoiceCashfree || p.BankVerifier == ChoiceCashfree
	missing := func(v, name string) {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	if needRZP {
		missing(p.RazorpayX.KeyID, "OFFRAMP_RAZORPAYX_KEY_ID")
		missing(p.RazorpayX.KeySecret, "OFFRAMP_RAZORPAYX_KEY_SECRET")
		missing(p.RazorpayX.AccountNumber, "OFFRAMP_RAZORPAYX_ACCOUNT_NUMBER")
		if p.Rail == ChoiceRazorpayX {
			missing(p.RazorpayX.WebhookSecret, "OFFRAMP_RAZORPAYX_WEBHOOK_SECRET")
		}
	}
	if needCFPay || needCFID {
		missing(p.Cashfree.ClientID, "OFFRAMP_CASHFREE_CLIENT_ID")
		missing(p.Cashfree.ClientSecret, "OFFRAMP_CASHFREE_CLIENT_SECRET")
	}
	for _, u := range []struct{ name, v string }{
		{"OFFRAMP_RAZORPAYX_BASE_URL", p.RazorpayX.BaseURL},
		{"OFFRAMP_CASHFREE_PAYOUT_BASE_URL", p.Cashfree.PayoutBaseURL},
		{"OFFRAMP_CASHFREE_VERIFICATION_BASE_URL", p.Cashfree.VerificationBaseURL},
		{"OFFRAMP_WAZIRX_BASE_URL", p.WazirXBaseURL},
		{"OFFRAMP_COINDCX_BASE_URL", p.CoinDCXBaseURL},
	} {
		if err := CheckBaseURL(u.name, u.v); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// built is what Build made of a Providers.
type built struct {
	rail     offramp.Rail
	verifier offramp.Verifier
	rates    offramp.RateSource
	market   *rates.Rates // nil with sandbox prices
	rzp      *razorpayx.Rail
	cf       *cashfree.Rail
	// checks prove each configured provider answers, by name.
	checks []providerCheck
	// missing lists what production lacks, for /readyz.
	missing []string
	closers []func()
}

type providerCheck struct {
	name string
	fn   func(context.Context) error
}

// providerDeps are what building the providers needs from the server.
type providerDeps struct {
	env        offramp.Env
	store      offramp.Store
	clock      offramp.Clock
	log        *slog.Logger
	registerer prometheus.Registerer
	rateMaxAge time.Duration
	sandbox    func() (offramp.Rail, error) // opens the sandbox bank
	sandboxPx  func() offramp.RateSource
}

func (p Providers) withDefaults(env offramp.Env) Providers {
	if env == offramp.EnvSandbox {
		if p.Rail == "" {
			p.Rail = ChoiceSandbox
		}
		if p.KYCVerifier == "" {
			p.KYCVerifier = ChoiceSandbox
		}
		if p.BankVerifier == "" {
			p.BankVerifier = ChoiceSandbox
		}
	} else if len(p.RateSources) == 0 {
		p.RateSources = []string{rates.SourceWazirX}
	}
	return p
}

// build constructs the chosen providers.
func (p Providers) build(d providerDeps) (*built, error) {
	p = p.withDefaults(d.env)
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b := &built{}
	var cfClient *cfid.Client
	idClient := func() (*cfid.Client, error) {
		if cfClient != nil {
			return cfClient, nil
		}
		c, err := cfid.New(cfid.Config{BaseURL: p.Cashfree.VerificationBaseURL, ClientID: p.Cashfree.ClientID, ClientSecret: p.Cashfree.ClientSecret})
		if err != nil {
			return nil, fmt.Errorf("Cashfree verification: %w", err)
		}
		cfClient = c
		b.checks = append(b.checks, providerCheck{"cashfree verification", c.Check})
		return c, nil
	}
	rzpConfig := razorpayx.Config{BaseURL: p.RazorpayX.BaseURL, KeyID: p.RazorpayX.KeyID, KeySecret: p.RazorpayX.KeySecret,
		AccountNumber: p.RazorpayX.AccountNumber, WebhookSecret: p.RazorpayX.WebhookSecret, Store: d.store, Clock: d.clock, Log: d.log}

	switch p.Rail {
	case ChoiceSandbox:
		r, err := d.sandbox()
		if err != nil {
			return nil, err
		}
		b.rail = r
	case ChoiceRazorpayX:
		r, err := razorpayx.New(rzpConfig)
		if err != nil {
			return nil, fmt.Errorf("RazorpayX: %w", err)
		}
		b.rail, b.rzp = r, r
		b.checks = append(b.checks, providerCheck{"razorpayx payouts", r.Check})
	case ChoiceCashfree:
		r, err := cashfree.New(cashfree.Config{BaseURL: p.Cashfree.PayoutBaseURL, ClientID: p.Cashfree.ClientID,
			ClientSecret: p.Cashfree.ClientSecret, WebhookSecret: p.Cashfree.WebhookSecret, Clock: d.clock, Logger: d.log})
		if err != nil {
			return nil, fmt.Errorf("Cashfree payouts: %w", err)
		}
		b.rail, b.cf = r, r
		b.checks = append(b.checks, providerCheck{"cashfree payouts", r.Check})
	default:
		b.missing = append(b.missing, "no bank rail is configured (--rail razorpayx or cashfree)")
	}

	var kyc offramp.KYCVerifier
	switch p.KYCVerifier {
	case ChoiceSandbox:
		kyc = sandbox.Verifier{}
	case ChoiceCashfree:
		c, err := idClient()
		if err != nil {
			return nil, err
		}
		kyc = cfid.KYCVerifier{Client: c}
	case ChoiceManual:
		kyc = idcheck.Manual{}
	}
	var bank offramp.BankVerifier
	switch p.BankVerifier {
	case ChoiceSandbox:
		bank = sandbox.Verifier{}
	case ChoiceRazorpayX:
		v, err := razorpayx.NewBankVerifier(rzpConfig)
		if err != nil {
			return nil, fmt.Errorf("RazorpayX fund account validation: %w", err)
		}
		bank = v
		if p.Rail != ChoiceRazorpayX {
			b.checks = append(b.checks, providerCheck{"razorpayx fund account validation", v.Check})
		}
	case ChoiceCashfree:
		c, err := idClient()
		if err != nil {
			return nil, err
		}
		bank = cfid.BankVerifier{Client: c}
	case ChoiceManual:
		bank = idcheck.Manual{}
	}
	switch {
	case kyc == nil && bank == nil:
		b.missing = append(b.missing, "no KYC or bank verifier is configured (--kyc-verifier, --bank-verifier)")
	case kyc == nil:
		b.missing = append(b.missing, "no KYC verifier is configured (--kyc-verifier)")
	case bank == nil:
		b.missing = append(b.missing, "no bank verifier is configured (--bank-verifier)")
	}
	if kyc != nil || bank != nil {
		b.verifier = idcheck.Combine(kyc, bank)
	}

	if len(p.RateSources) == 0 {
		b.rates = d.sandboxPx()
	} else {
		r, err := rates.FromConfig(rates.Config{Sources: p.RateSources, WazirXBaseURL: p.WazirXBaseURL, CoinDCXBaseURL: p.CoinDCXBaseURL,
			Spread: p.RateSpread, MaxAge: d.rateMaxAge, Clock: d.clock, Log: d.log, Registerer: d.registerer})
		if err != nil {
			return nil, fmt.Errorf("rate sources: %w", err)
		}
		b.rates, b.market = r, r
		b.checks = append(b.checks, providerCheck{"rate sources (" + strings.Join(p.RateSources, ", ") + ")", r.Check})
	}
	return b, nil
}

// webhookRoutes mounts the chosen rail's webhook, applied through the
// engine.
func (b *built) webhookRoutes(eng *engine.Engine, log *slog.Logger) map[string]http.Handler {
	apply := razorpayx.ApplyWith(eng.ApplyBankAnswer)
	routes := map[string]http.Handler{}
	if b.rzp != nil {
		routes["POST /rails/razorpayx/webhook"] = razorpayx.WebhookHandler(b.rzp, apply, log)
	}
	if b.cf != nil {
		routes["POST /rails/cashfree/webhook"] = cashfree.WebhookHandler(b.cf, apply, log)
	}
	return routes
}

// health remembers the last result of every provider check, run in the
// background, so /readyz answers at once and never calls a provider.
type health struct {
	mu   sync.Mutex
	last map[string]error
	ran  bool
}

func (h *health) run(ctx context.Context, checks []providerCheck) {
	res := map[string]error{}
	for _, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res[c.name] = c.fn(cctx)
		cancel()
	}
	h.mu.Lock()
	h.last, h.ran = res, true
	h.mu.Unlock()
}

func (h *health) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.ran {
		return errors.New("providers not checked yet")
	}
	var errs []error
	for name, err := range h.last {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// ready is /readyz's answer in production: what is missing, the providers
// that did not answer at their last check, and whether enough market
// prices are fresh.
func (b *built) ready(h *health) func(context.Context) error {
	return func(context.Context) error {
		var errs []error
		for _, m := range b.missing {
			errs = append(errs, errors.New(m))
		}
		if err := h.err(); err != nil {
			errs = append(errs, err)
		}
		if b.market != nil {
			if err := b.market.Ready(); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) == 0 {
			return nil
		}
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = strings.ReplaceAll(e.Error(), "\n", "; ")
		}
		return errors.New(strings.Join(msgs, "; "))
	}
}

// CheckProviders builds the configured providers and checks each once; it
// returns one line per provider and whether all answered.
func CheckProviders(ctx context.Context, env offramp.Env, p Providers, log *slog.Logger) ([]string, bool, error) {
	if env == offramp.EnvSandbox && p.Rail == "" && p.KYCVerifier == "" && p.BankVerifier == "" && len(p.RateSources) == 0 {
		return []string{"sandbox: no outside provider is configured; nothing to check"}, true, nil
	}
	// The sandbox bank and prices are local: nothing to check there.
	d := providerDeps{env: env, clock: offramp.SystemClock{}, log: log,
		sandbox:   func() (offramp.Rail, error) { return nil, nil },
		sandboxPx: func() offramp.RateSource { return nil }}
	b, err := p.build(d)
	if err != nil {
		return nil, false, err
	}
	ok := true
	var lines []string
	for _, c := range b.checks {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := c.fn(cctx)
		cancel()
		if err != nil {
			ok = false
			lines = append(lines, fmt.Sprintf("FAILED  %s: %s", c.name, strings.ReplaceAll(err.Error(), "\n", "; ")))
		} else {
			lines = append(lines, "ok      "+c.name)
		}
	}
	for _, m := range b.missing {
		lines = append(lines, "MISSING "+m)
		if env == offramp.EnvProduction {
			ok = false
		}
	}
	return lines, ok, nil
}
