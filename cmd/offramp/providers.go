package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/rates"
	"github.com/offramp/offramp/server"
)

// providerFlags are the outside providers' settings, shared by serve and
// admin check-providers. Every flag also reads its OFFRAMP_* variable. A
// secret's flag has no default shown: its variable is read when the
// command runs, so --help never prints it.
type providerFlags struct {
	rail, kycVerifier, bankVerifier string
	rateSources, rateSpread         string
	wazirx, coindcx                 string

	rzpKeyID, rzpKeySecret, rzpAccount, rzpWebhookSecret, rzpBaseURL      string
	cfClientID, cfClientSecret, cfPayoutURL, cfVerifyURL, cfWebhookSecret string
}

// secretFlag is a flag whose value comes from the flag or, when the flag is
// not given, from its variable at run time.
type secretFlag struct {
	name, env string
	dst       *string
}

func (f *providerFlags) secrets() []secretFlag {
	return []secretFlag{
		{"razorpayx-key-id", "OFFRAMP_RAZORPAYX_KEY_ID", &f.rzpKeyID},
		{"razorpayx-key-secret", "OFFRAMP_RAZORPAYX_KEY_SECRET", &f.rzpKeySecret},
		{"razorpayx-account-number", "OFFRAMP_RAZORPAYX_ACCOUNT_NUMBER", &f.rzpAccount},
		{"razorpayx-webhook-secret", "OFFRAMP_RAZORPAYX_WEBHOOK_SECRET", &f.rzpWebhookSecret},
		{"cashfree-client-id", "OFFRAMP_CASHFREE_CLIENT_ID", &f.cfClientID},
		{"cashfree-client-secret", "OFFRAMP_CASHFREE_CLIENT_SECRET", &f.cfClientSecret},
		{"cashfree-webhook-secret", "OFFRAMP_CASHFREE_WEBHOOK_SECRET", &f.cfWebhookSecret},
	}
}

func (f *providerFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.rail, "rail", env("OFFRAMP_RAIL", ""), "bank rail: sandbox, razorpayx or cashfree (default sandbox in sandbox, none in production) [OFFRAMP_RAIL]")
	fl.StringVar(&f.kycVerifier, "kyc-verifier", env("OFFRAMP_KYC_VERIFIER", ""), "KYC verifier: sandbox, cashfree (PAN via Cashfree Secure ID) or manual (an operator decides) (default sandbox in sandbox, none in production) [OFFRAMP_KYC_VERIFIER]")
	fl.StringVar(&f.bankVerifier, "bank-verifier", env("OFFRAMP_BANK_VERIFIER", ""), "bank account verifier: sandbox, razorpayx (fund account validation), cashfree (bank account verification) or manual (default sandbox in sandbox, none in production) [OFFRAMP_BANK_VERIFIER]")
	fl.StringVar(&f.rateSources, "rate-sources", env("OFFRAMP_RATE_SOURCES", ""), "market price sources, comma-separated: wazirx, coindcx; the quote uses the median of the fresh ones (default: fixed prices in sandbox, wazirx in production) [OFFRAMP_RATE_SOURCES]")
	fl.StringVar(&f.rateSpread, "rate-spread", env("OFFRAMP_RATE_SPREAD", "0"), "the operator's margin in percent, taken off the market price in the quoted rate, e.g. 0.5 [OFFRAMP_RATE_SPREAD]")
	fl.StringVar(&f.wazirx, "wazirx-base-url", env("OFFRAMP_WAZIRX_BASE_URL", ""), "WazirX API base URL (default "+rates.WazirXBaseURL+") [OFFRAMP_WAZIRX_BASE_URL]")
	fl.StringVar(&f.coindcx, "coindcx-base-url", env("OFFRAMP_COINDCX_BASE_URL", ""), "CoinDCX API base URL (default "+rates.CoinDCXBaseURL+") [OFFRAMP_COINDCX_BASE_URL]")
	fl.StringVar(&f.rzpBaseURL, "razorpayx-base-url", env("OFFRAMP_RAZORPAYX_BASE_URL", ""), "RazorpayX API base URL (default https://api.razorpay.com) [OFFRAMP_RAZORPAYX_BASE_URL]")
	fl.StringVar(&f.cfPayoutURL, "cashfree-payout-base-url", env("OFFRAMP_CASHFREE_PAYOUT_BASE_URL", ""), "Cashfree Payouts API base URL (default https://api.cashfree.com/payout) [OFFRAMP_CASHFREE_PAYOUT_BASE_URL]")
	fl.StringVar(&f.cfVerifyURL, "cashfree-verification-base-url", env("OFFRAMP_CASHFREE_VERIFICATION_BASE_URL", ""), "Cashfree Verification (Secure ID) API base URL (default https://api.cashfree.com/verification) [OFFRAMP_CASHFREE_VERIFICATION_BASE_URL]")
	for _, s := range f.secrets() {
		fl.StringVar(s.dst, s.name, "", "from "+s.env+" when not given (never printed)")
	}
}

// resolve reads the secrets' variables and builds the configuration.
func (f *providerFlags) resolve() (server.Providers, error) {
	for _, s := range f.secrets() {
		if *s.dst == "" {
			*s.dst = os.Getenv(s.env)
		}
	}
	p := server.Providers{
		Rail: strings.ToLower(strings.TrimSpace(f.rail)), KYCVerifier: strings.ToLower(strings.TrimSpace(f.kycVerifier)),
		BankVerifier:  strings.ToLower(strings.TrimSpace(f.bankVerifier)),
		WazirXBaseURL: f.wazirx, CoinDCXBaseURL: f.coindcx,
		RazorpayX: server.RazorpayX{KeyID: f.rzpKeyID, KeySecret: f.rzpKeySecret, AccountNumber: f.rzpAccount,
			WebhookSecret: f.rzpWebhookSecret, BaseURL: f.rzpBaseURL},
		Cashfree: server.Cashfree{ClientID: f.cfClientID, ClientSecret: f.cfClientSecret, PayoutBaseURL: f.cfPayoutURL,
			VerificationBaseURL: f.cfVerifyURL, WebhookSecret: f.cfWebhookSecret},
	}
	for _, s := range strings.Split(f.rateSources, ",") {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			p.RateSources = append(p.RateSources, s)
		}
	}
	spread, err := rates.ParseSpread(strings.TrimSpace(f.rateSpread))
	if err != nil {
		return p, fmt.Errorf("--rate-spread: %w", err)
	}
	p.RateSpread = spread
	return p, p.Validate()
}

// checkProvidersCmd checks every configured credential and base URL.
func checkProvidersCmd() *cobra.Command {
	var (
		envName string
		pf      providerFlags
	)
	cmd := &cobra.Command{
		Use:   "check-providers",
		Short: "Check every configured bank rail, verifier and rate source: credentials, base URL, an answer",
		Long: `Check every configured bank rail, verifier and rate source with one cheap, authenticated call
each, and print what works. Takes the same provider flags and OFFRAMP_* variables as serve.

Exits non-zero when a configured provider does not answer, or (in production) when no rail,
verifier or rate source is configured.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			environment, err := offramp.ParseEnv(envName)
			if err != nil {
				return err
			}
			p, err := pf.resolve()
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			lines, ok, err := server.CheckProviders(cmd.Context(), environment, p, log)
			if err != nil {
				return err
			}
			for _, l := range lines {
				fmt.Fprintln(cmd.OutOrStdout(), l)
			}
			if !ok {
				return errors.New("some providers are missing or do not answer")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&envName, "env", env("OFFRAMP_ENV", "sandbox"), "environment: sandbox or production [OFFRAMP_ENV]")
	pf.register(cmd)
	return cmd
}
