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
	"github.com/offramp/offramp/console"
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
	missing []missingProvider
	// local are the chosen providers that run in this process (sandbox,
	// manual) and so have nothing to check, for the console's overview.
	local   []console.ProviderHealth
	closers []func()
}

type providerCheck struct {
	name string
	kind string // console.KindRail, KindRates, KindKYC or KindBankVerify
	fn   func(context.Context) error
}

// missingProvider is a provider production needs and lacks.
type missingProvider struct {
	kind, msg string
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
		kind := console.KindBankVerify
		if p.KYCVerifier == ChoiceCashfree {
			kind = console.KindKYC
		}
		b.checks = append(b.checks, providerCheck{"cashfree verification", kind, c.Check})
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
		b.local = append(b.local, localProvider("sandbox bank", console.KindRail, "simulated bank in this process: nothing to check"))
	case ChoiceRazorpayX:
		r, err := razorpayx.New(rzpConfig)
		if err != nil {
			return nil, fmt.Errorf("RazorpayX: %w", err)
		}
		b.rail, b.rzp = r, r
		b.checks = append(b.checks, providerCheck{"razorpayx payouts", console.KindRail, r.Check})
	case ChoiceCashfree:
		r, err := cashfree.New(cashfree.Config{BaseURL: p.Cashfree.PayoutBaseURL, ClientID: p.Cashfree.ClientID,
			ClientSecret: p.Cashfree.ClientSecret, WebhookSecret: p.Cashfree.WebhookSecret, Clock: d.clock, Logger: d.log})
		if err != nil {
			return nil, fmt.Errorf("Cashfree payouts: %w", err)
		}
		b.rail, b.cf = r, r
		b.checks = append(b.checks, providerCheck{"cashfree payouts", console.KindRail, r.Check})
	default:
		b.missing = append(b.missing, missingProvider{console.KindRail, "no bank rail is configured (--rail razorpayx or cashfree)"})
	}

	var kyc offramp.KYCVerifier
	switch p.KYCVerifier {
	case ChoiceSandbox:
		kyc = sandbox.Verifier{}
		b.local = append(b.local, localProvider("sandbox KYC verifier", console.KindKYC, "simulated in this process: nothing to check"))
	case ChoiceCashfree:
		c, err := idClient()
		if err != nil {
			return nil, err
		}
		kyc = cfid.KYCVerifier{Client: c}
	case ChoiceManual:
		kyc = idcheck.Manual{}
		b.local = append(b.local, localProvider("manual KYC verification", console.KindKYC, "decided by operators in the console"))
	}
	var bank offramp.BankVerifier
	switch p.BankVerifier {
	case ChoiceSandbox:
		bank = sandbox.Verifier{}
		b.local = append(b.local, localProvider("sandbox bank verifier", console.KindBankVerify, "simulated in this process: nothing to check"))
	case ChoiceRazorpayX:
		v, err := razorpayx.NewBankVerifier(rzpConfig)
		if err != nil {
			return nil, fmt.Errorf("RazorpayX fund account validation: %w", err)
		}
		bank = v
		if p.Rail != ChoiceRazorpayX {
			b.checks = append(b.checks, providerCheck{"razorpayx fund account validation", console.KindBankVerify, v.Check})
		}
	case ChoiceCashfree:
		c, err := idClient()
		if err != nil {
			return nil, err
		}
		bank = cfid.BankVerifier{Client: c}
	case ChoiceManual:
		bank = idcheck.Manual{}
		b.local = append(b.local, localProvider("manual bank verification", console.KindBankVerify, "decided by operators in the console"))
	}
	switch {
	case kyc == nil && bank == nil:
		b.missing = append(b.missing, missingProvider{console.KindKYC, "no KYC or bank verifier is configured (--kyc-verifier, --bank-verifier)"})
	case kyc == nil:
		b.missing = append(b.missing, missingProvider{console.KindKYC, "no KYC verifier is configured (--kyc-verifier)"})
	case bank == nil:
		b.missing = append(b.missing, missingProvider{console.KindBankVerify, "no bank verifier is configured (--bank-verifier)"})
	}
	if kyc != nil || bank != nil {
		b.verifier = idcheck.Combine(kyc, bank)
	}

	if len(p.RateSources) == 0 {
		b.rates = d.sandboxPx()
		local := localProvider("sandbox prices", console.KindRates, "fixed prices in this process: always current")
		local.PriceAge = 0
		b.local = append(b.local, local)
	} else {
		r, err := rates.FromConfig(rates.Config{Sources: p.RateSources, WazirXBaseURL: p.WazirXBaseURL, CoinDCXBaseURL: p.CoinDCXBaseURL,
			Spread: p.RateSpread, MaxAge: d.rateMaxAge, Clock: d.clock, Log: d.log, Registerer: d.registerer})
		if err != nil {
			return nil, fmt.Errorf("rate sources: %w", err)
		}
		b.rates, b.market = r, r
		b.checks = append(b.checks, providerCheck{"rate sources (" + strings.Join(p.RateSources, ", ") + ")", console.KindRates, r.Check})
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

// localProvider is a row of the console's provider table for a provider
// that runs in this process.
func localProvider(name, kind, detail string) console.ProviderHealth {
	return console.ProviderHealth{Name: name, Kind: kind, OK: true, Detail: detail, PriceAge: -1}
}

// health remembers the last result of every provider check, run in the
// background, so /readyz and the console's overview answer at once and
// never call a provider.
type health struct {
	clock offramp.Clock // when each check ended; nil: the system clock
	mu    sync.Mutex
	last  []checkResult // in the order of the checks
	ran   bool
}

type checkResult struct {
	name, kind string
	err        error
	at         time.Time
}

func (h *health) run(ctx context.Context, checks []providerCheck) {
	clock := h.clock
	if clock == nil {
		clock = offramp.SystemClock{}
	}
	res := make([]checkResult, 0, len(checks))
	for _, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.fn(cctx)
		cancel()
		res = append(res, checkResult{name: c.name, kind: c.kind, err: err, at: clock.Now()})
	}
	h.mu.Lock()
	h.last, h.ran = res, true
	h.mu.Unlock()
}

// results is a copy of the last checks' results; false before the first
// round has ended.
func (h *health) results() ([]checkResult, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]checkResult(nil), h.last...), h.ran
}

func (h *health) err() error {
	last, ran := h.results()
	if !ran {
		return errors.New("providers not checked yet")
	}
	var errs []error
	for _, r := range last {
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, r.err))
		}
	}
	return errors.Join(errs...)
}

// consoleHealth is the console's Config.Health: the last result of each
// provider check, each rate source's last poll and the age of its price,
// whether a quote can be made, and what production lacks. It reads only
// what the background checks and the rate tickers already hold, so the
// overview can call it on every view.
func (b *built) consoleHealth(h *health, clock offramp.Clock) func(context.Context) []console.ProviderHealth {
	return func(context.Context) []console.ProviderHealth {
		now := clock.Now()
		out := make([]console.ProviderHealth, 0, len(b.local)+len(b.checks)+len(b.missing)+3)
		for _, l := range b.local {
			l.CheckedAt = now // nothing to check: as current as the page
			out = append(out, l)
		}
		last, ran := h.results()
		if !ran {
			// The first round is still running: say so rather than
			// calling anything from here.
			for _, c := range b.checks {
				last = append(last, checkResult{name: c.name, kind: c.kind, err: errors.New("not checked yet")})
			}
		}
		for _, r := range last {
			if r.kind == console.KindRates && b.market != nil {
				continue // each source gets its own row below, with its price age
			}
			row := console.ProviderHealth{Name: r.name, Kind: r.kind, OK: r.err == nil, Detail: "answered", PriceAge: -1, CheckedAt: r.at}
			if r.err != nil {
				row.Detail = oneLine(r.err.Error())
			}
			out = append(out, row)
		}
		if b.market != nil {
			for _, st := range b.market.Status() {
				out = append(out, sourceHealth(st, now))
			}
			quote := console.ProviderHealth{Name: "rate quote (" + b.market.Asset() + "/INR)", Kind: console.KindRates, OK: true,
				Detail: "enough fresh, agreeing prices to quote", PriceAge: -1, CheckedAt: now}
			if err := b.market.Ready(); err != nil {
				quote.OK, quote.Detail = false, oneLine(err.Error())
			}
			out = append(out, quote)
		}
		for _, m := range b.missing {
			out = append(out, console.ProviderHealth{Name: "not configured", Kind: m.kind, Detail: m.msg, PriceAge: -1, CheckedAt: now})
		}
		return out
	}
}

// sourceHealth is one rate source's row: failing when its last poll failed
// or its price is older than the ticker quotes.
func sourceHealth(st rates.SourceStatus, now time.Time) console.ProviderHealth {
	row := console.ProviderHealth{Name: st.Name + " (" + st.Host + ")", Kind: console.KindRates, OK: st.Up, PriceAge: -1, CheckedAt: st.LastPoll}
	if !st.At.IsZero() {
		row.PriceAge = max(now.Sub(st.At), 0)
	}
	switch {
	case !st.Polled:
		row.Detail = "not polled yet"
	case !st.Up:
		row.Detail = "last poll failed: " + oneLine(st.LastError)
	case st.MaxAge > 0 && row.PriceAge > st.MaxAge:
		row.OK = false
		row.Detail = fmt.Sprintf("%s/INR %s, older than the %s limit: not quoted", st.Asset, st.Price, st.MaxAge)
	default:
		row.Detail = fmt.Sprintf("%s/INR %s", st.Asset, st.Price)
	}
	return row
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }

// ready is /readyz's answer in production: what is missing, the providers
// that did not answer at their last check, and whether enough market
// prices are fresh.
func (b *built) ready(h *health) func(context.Context) error {
	return func(context.Context) error {
		var errs []error
		for _, m := range b.missing {
			errs = append(errs, errors.New(m.msg))
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
		lines = append(lines, "MISSING "+m.msg)
		if env == offramp.EnvProduction {
			ok = false
		}
	}
	return lines, ok, nil
}
