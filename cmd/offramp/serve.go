package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/console"
	"github.com/offramp/offramp/engine"
	"github.com/offramp/offramp/money"
	"github.com/offramp/offramp/rates"
	"github.com/offramp/offramp/server"
	"github.com/offramp/offramp/worker"
)

type serveFlags struct {
	dbFlags
	addr            string
	baseURL         string
	verifyDelay     time.Duration
	shutdownTimeout time.Duration
	logLevel        string
	logFormat       string

	quoteTTL      time.Duration
	fees          string
	sandboxRates  string
	railDelay     time.Duration
	railTimeout   time.Duration
	maxInquiries  int
	maxSubmits    int
	settleBy      time.Duration
	reversalWin   time.Duration
	sandboxPend   time.Duration
	bankWorkers   int
	hookWorkers   int
	verifyWorkers int
	dailyLimit    string
	eddDailyLimit string
	rateMaxAge    time.Duration
	sandboxBankDB string
	leaseTime     time.Duration

	webhookAllowPrivate string
	providers           providerFlags
	rateLimits          rateLimitFlags
	adminAddr           string
	debugAddr           string
	consoleSecure       bool
	consoleIdle         time.Duration
}

func serveCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the API server and its background workers",
		Long: `Run the API server and its background workers.

Migrations run on start. On the first start of an empty sandbox database a
default organization is created and its API key and secret are printed once.
SIGINT or SIGTERM drains in-flight requests and stops the workers cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, f, cmd.OutOrStdout())
		},
	}
	f.register(cmd)
	f.providers.register(cmd)
	f.rateLimits.register(cmd)
	cmd.Flags().StringVar(&f.addr, "addr", env("OFFRAMP_ADDR", "127.0.0.1:8080"), "listen address [OFFRAMP_ADDR]")
	cmd.Flags().StringVar(&f.adminAddr, "admin-addr", envOr("OFFRAMP_ADMIN_ADDR", "127.0.0.1:8081"), "the operator console's own listen address, never the API's; empty disables it [OFFRAMP_ADMIN_ADDR]")
	cmd.Flags().StringVar(&f.debugAddr, "debug-addr", env("OFFRAMP_DEBUG_ADDR", ""), "serve Go's profiler (/debug/pprof/) on this loopback address; empty disables it [OFFRAMP_DEBUG_ADDR]")
	cmd.Flags().DurationVar(&f.consoleIdle, "console-idle-timeout", envDuration("OFFRAMP_CONSOLE_IDLE_TIMEOUT", console.DefaultIdleTimeout), "sign an operator out of the console after this long without a request [OFFRAMP_CONSOLE_IDLE_TIMEOUT]")
	cmd.Flags().BoolVar(&f.consoleSecure, "console-secure-cookies", env("OFFRAMP_CONSOLE_SECURE_COOKIES", "") == "true", "mark console cookies Secure (the console behind a TLS-terminating proxy) [OFFRAMP_CONSOLE_SECURE_COOKIES]")
	cmd.Flags().StringVar(&f.baseURL, "base-url", env("OFFRAMP_BASE_URL", ""), "public URL of this server, for links it hands out (default: from each request) [OFFRAMP_BASE_URL]")
	cmd.Flags().DurationVar(&f.verifyDelay, "verify-delay", envDuration("OFFRAMP_VERIFY_DELAY", 2*time.Second), "sandbox: delay before a KYC or bank submission is decided [OFFRAMP_VERIFY_DELAY]")
	cmd.Flags().DurationVar(&f.shutdownTimeout, "shutdown-timeout", envDuration("OFFRAMP_SHUTDOWN_TIMEOUT", 30*time.Second), "how long in-flight requests may take to finish on shutdown [OFFRAMP_SHUTDOWN_TIMEOUT]")
	cmd.Flags().StringVar(&f.logLevel, "log-level", env("OFFRAMP_LOG_LEVEL", "info"), "debug, info, warn or error [OFFRAMP_LOG_LEVEL]")
	cmd.Flags().StringVar(&f.logFormat, "log-format", env("OFFRAMP_LOG_FORMAT", "json"), "json or text [OFFRAMP_LOG_FORMAT]")
	cmd.Flags().DurationVar(&f.quoteTTL, "quote-ttl", envDuration("OFFRAMP_QUOTE_TTL", 5*time.Minute), "how long a quotation holds its rate [OFFRAMP_QUOTE_TTL]")
	cmd.Flags().StringVar(&f.fees, "fees", env("OFFRAMP_FEES", ""), `fee schedule, e.g. "platform=0.005,client=0,pg=5,gst=0.18,tds=0.01" (default those values) [OFFRAMP_FEES]`)
	cmd.Flags().StringVar(&f.sandboxRates, "sandbox-rates", env("OFFRAMP_SANDBOX_RATES", ""), `sandbox: fixed INR prices, e.g. "USDT=88.50,USDC=88.40" (the default) [OFFRAMP_SANDBOX_RATES]`)
	cmd.Flags().DurationVar(&f.railDelay, "rail-delay", envDuration("OFFRAMP_RAIL_DELAY", 2*time.Second), "sandbox: how long the simulated IMPS bank takes to settle, and the wait before the first status inquiry [OFFRAMP_RAIL_DELAY]")
	cmd.Flags().DurationVar(&f.railTimeout, "rail-timeout", envDuration("OFFRAMP_RAIL_TIMEOUT", 10*time.Second), "bound on one call to the bank; a timeout is an unknown outcome [OFFRAMP_RAIL_TIMEOUT]")
	cmd.Flags().IntVar(&f.maxInquiries, "max-inquiries", envInt("OFFRAMP_MAX_INQUIRIES", engine.DefaultMaxInquiries), "inquiries that may leave an unknown bank outcome (timeout, crash, 5xx) open before the payout goes to IN_REVIEW [OFFRAMP_MAX_INQUIRIES]")
	cmd.Flags().IntVar(&f.maxSubmits, "max-submissions", envInt("OFFRAMP_MAX_SUBMISSIONS", engine.DefaultMaxSubmissions), "bank submissions allowed per payout, the first included; more happen only after the bank reports NOT_FOUND past its posting delay and only if it refuses duplicate references [OFFRAMP_MAX_SUBMISSIONS]")
	cmd.Flags().DurationVar(&f.settleBy, "settlement-deadline", envDuration("OFFRAMP_SETTLEMENT_DEADLINE", engine.DefaultSettlementDeadline), "how long after its creation a payout may stay pending at the bank before it goes to IN_REVIEW [OFFRAMP_SETTLEMENT_DEADLINE]")
	cmd.Flags().DurationVar(&f.reversalWin, "reversal-window", envDuration("OFFRAMP_REVERSAL_WINDOW", engine.DefaultReversalWindow), "how long after SUCCESS the bank is checked for a reversal; negative turns the checks off [OFFRAMP_REVERSAL_WINDOW]")
	cmd.Flags().DurationVar(&f.sandboxPend, "sandbox-pending", envDuration("OFFRAMP_SANDBOX_PENDING", 10*time.Minute), "sandbox: how long the bank keeps a transfer to an account ending 6666 pending, and how long after paying it reverses one to an account ending 7777 [OFFRAMP_SANDBOX_PENDING]")
	cmd.Flags().IntVar(&f.bankWorkers, "bank-workers", envInt("OFFRAMP_BANK_WORKERS", 8), "bank calls that may run at once; one organization gets at most half [OFFRAMP_BANK_WORKERS]")
	cmd.Flags().IntVar(&f.hookWorkers, "webhook-workers", envInt("OFFRAMP_WEBHOOK_WORKERS", 8), "webhook deliveries that may run at once; one organization gets at most half [OFFRAMP_WEBHOOK_WORKERS]")
	cmd.Flags().IntVar(&f.verifyWorkers, "verify-workers", envInt("OFFRAMP_VERIFY_WORKERS", 4), "KYC, bank and EDD verifications that may run at once; one organization gets at most half [OFFRAMP_VERIFY_WORKERS]")
	cmd.Flags().StringVar(&f.dailyLimit, "daily-limit", env("OFFRAMP_DAILY_LIMIT", "200000"), "a customer's daily payout limit in INR without EDD [OFFRAMP_DAILY_LIMIT]")
	cmd.Flags().StringVar(&f.eddDailyLimit, "edd-daily-limit", env("OFFRAMP_EDD_DAILY_LIMIT", "1000000"), "the daily limit with a VERIFIED EDD [OFFRAMP_EDD_DAILY_LIMIT]")
	cmd.Flags().DurationVar(&f.rateMaxAge, "rate-max-age", envDuration("OFFRAMP_RATE_MAX_AGE", time.Minute), "production: refuse to quote on a market price older than this [OFFRAMP_RATE_MAX_AGE]")
	cmd.Flags().StringVar(&f.sandboxBankDB, "sandbox-bank-db", env("OFFRAMP_SANDBOX_BANK_DB", ""), "sandbox: the simulated bank's own database file (default sandbox-bank.db beside the SQLite file) [OFFRAMP_SANDBOX_BANK_DB]")
	cmd.Flags().DurationVar(&f.leaseTime, "job-lease", envDuration("OFFRAMP_JOB_LEASE", 30*time.Second), "how long a worker holds a job; a job of a dead worker runs again after it [OFFRAMP_JOB_LEASE]")
	cmd.Flags().StringVar(&f.webhookAllowPrivate, "webhook-allow-private", env("OFFRAMP_WEBHOOK_ALLOW_PRIVATE", ""), "allow webhook URLs on loopback and private addresses: true or false (default true in sandbox, false in production; turn on in production only for local development) [OFFRAMP_WEBHOOK_ALLOW_PRIVATE]")
	return cmd
}

func serve(ctx context.Context, f serveFlags, out io.Writer) error {
	log, err := newLogger(f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	cfg, err := f.serverConfig(log)
	if err != nil {
		return err
	}
	if f.debugAddr != "" {
		stop, err := startDebug(f.debugAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		return err
	}
	if srv.DefaultOrg != nil {
		printCredentials(out, srv.URL, *srv.DefaultOrg)
	}
	select {
	case err := <-srv.Done():
		_ = srv.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	return srv.Shutdown(context.Background())
}

// serverConfig turns the flags into a server configuration.
func (f serveFlags) serverConfig(log *slog.Logger) (server.Config, error) {
	environment, err := offramp.ParseEnv(f.env)
	if err != nil {
		return server.Config{}, err
	}
	if err := f.ensureDataDir(); err != nil {
		return server.Config{}, err
	}
	key, err := f.masterKey(log, environment)
	if err != nil {
		return server.Config{}, err
	}
	cfg := server.Config{
		DB: f.db, Env: environment, MasterKey: key, Addr: f.addr, BaseURL: f.baseURL,
		VerifyDelay: f.verifyDelay, RailDelay: f.railDelay, RailTimeout: f.railTimeout, MaxInquiries: f.maxInquiries,
		QuoteTTL: f.quoteTTL, JobLease: f.leaseTime, ShutdownTimeout: f.shutdownTimeout, RateMaxAge: f.rateMaxAge,
		SandboxBankDB: f.sandboxBankDB, Log: log,
		AdminAddr: f.adminAddr, ConsoleSecureCookies: f.consoleSecure, ConsoleIdleTimeout: f.consoleIdle,
		MaxSubmissions: f.maxSubmits, SettlementDeadline: f.settleBy, ReversalWindow: f.reversalWin, SandboxPending: f.sandboxPend,
	}
	for _, w := range []struct {
		flag string
		n    int
	}{{"--bank-workers", f.bankWorkers}, {"--webhook-workers", f.hookWorkers}, {"--verify-workers", f.verifyWorkers}} {
		if w.n < 1 {
			return cfg, fmt.Errorf("%s must be at least 1, got %d", w.flag, w.n)
		}
	}
	cfg.Workers = worker.DefaultPools(f.bankWorkers, f.hookWorkers, f.verifyWorkers)
	if cfg.RateLimit, err = f.rateLimits.resolve(); err != nil {
		return cfg, err
	}
	if cfg.Providers, err = f.providers.resolve(); err != nil {
		return cfg, err
	}
	if f.fees != "" {
		if cfg.Fees, err = money.ParseSchedule(f.fees); err != nil {
			return cfg, fmt.Errorf("--fees: %w", err)
		}
	}
	if f.sandboxRates != "" {
		if cfg.SandboxRates, err = rates.ParseSandboxPrices(f.sandboxRates); err != nil {
			return cfg, fmt.Errorf("--sandbox-rates: %w", err)
		}
	}
	if cfg.DailyLimit, err = decimal.NewFromString(f.dailyLimit); err != nil || !cfg.DailyLimit.IsPositive() {
		return cfg, fmt.Errorf("--daily-limit must be a positive amount")
	}
	if cfg.EDDDailyLimit, err = decimal.NewFromString(f.eddDailyLimit); err != nil || cfg.EDDDailyLimit.LessThan(cfg.DailyLimit) {
		return cfg, fmt.Errorf("--edd-daily-limit must be an amount at least --daily-limit")
	}
	if f.webhookAllowPrivate != "" {
		allow, err := strconv.ParseBool(f.webhookAllowPrivate)
		if err != nil {
			return cfg, fmt.Errorf("--webhook-allow-private: %w", err)
		}
		cfg.WebhookAllowPrivate = &allow
	}
	return cfg, nil
}

// printCredentials shows a new sandbox organization's credentials on
// standard output, once: they never go to the log.
func printCredentials(out io.Writer, base string, o offramp.Org) {
	fmt.Fprintf(out, `
Offramp sandbox is ready at %s
A default organization was created. Its API secret is shown only this once:

  org_id      %s
  X-API-KEY   %s
  API secret  %s

Sign each request as DollarPe does: base64(HMAC-SHA256(secret, key|timestamp|sorted JSON body)).

`, base, o.ID, o.APIKey, o.APISecret)
}
