package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/httpapi"
	"github.com/offramp/offramp/money"
	"github.com/offramp/offramp/rail"
	"github.com/offramp/offramp/rates"
	"github.com/offramp/offramp/sandbox"
	"github.com/offramp/offramp/service"
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
	dailyLimit    string
	eddDailyLimit string
	rateMaxAge    time.Duration
	sandboxBankDB string
	leaseTime     time.Duration

	webhookAllowPrivate string
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
	cmd.Flags().StringVar(&f.addr, "addr", env("OFFRAMP_ADDR", "127.0.0.1:8080"), "listen address [OFFRAMP_ADDR]")
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
	cmd.Flags().IntVar(&f.maxInquiries, "max-inquiries", 6, "status inquiries that may leave the outcome open before a payout goes to IN_REVIEW")
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
	clock := offramp.SystemClock{}
	db, err := f.open(ctx, log, clock)
	if err != nil {
		return err
	}
	defer db.store.Close()

	payouts, closeRail, err := f.payoutConfig(ctx, log, db.env, clock)
	if err != nil {
		return err
	}
	defer closeRail()
	allowPrivate := db.env == offramp.EnvSandbox
	if f.webhookAllowPrivate != "" {
		if allowPrivate, err = strconv.ParseBool(f.webhookAllowPrivate); err != nil {
			return fmt.Errorf("--webhook-allow-private: %w", err)
		}
	}
	if allowPrivate && db.env == offramp.EnvProduction {
		log.Warn("webhooks may be delivered to loopback and private addresses (--webhook-allow-private): for local development only")
	}
	cfg := service.Config{
		Store: db.store, Clock: clock, Env: db.env, VerifyDelay: f.verifyDelay, LinkKey: db.linkKey, Log: log,
		Payouts: payouts, Webhooks: service.WebhookConfig{AllowPrivate: allowPrivate},
	}
	if db.env == offramp.EnvSandbox {
		cfg.Verifier = sandbox.Verifier{}
	}
	// In production no verifier is configured until a KYC / penny-drop
	// partner adapter is: submissions wait in PROCESSING.
	svc := service.New(cfg)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	api := httpapi.New(httpapi.Config{Service: svc, Store: db.store, Log: log, Registry: reg, BaseURL: f.baseURL})

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	base := f.baseURL
	if base == "" {
		base = "http://" + ln.Addr().String()
	}

	if db.env == offramp.EnvSandbox {
		org, created, err := svc.EnsureDefaultOrg(ctx)
		if err != nil {
			ln.Close()
			return err
		}
		if created {
			printCredentials(out, base, org)
		}
	}

	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	runner := worker.New(worker.Config{Store: db.store, Clock: clock, Handler: svc.RunJob, Log: log, Registerer: reg, Lease: f.leaseTime})
	wg.Go(func() { runner.Run(workCtx) })
	wg.Go(func() {
		worker.Sweep(workCtx, time.Minute, log, "signatures", func(ctx context.Context) error {
			return db.store.Update(ctx, func(tx offramp.Tx) error {
				_, err := tx.PurgeSignatures(ctx, clock.Now())
				return err
			})
		})
	})

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("offramp listening", "addr", ln.Addr().String(), "env", string(db.env), "db", f.db)

	select {
	case err := <-serveErr:
		stopWork()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests", "timeout", f.shutdownTimeout.String())
	api.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	stopWork()
	wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
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

// payoutConfig builds the payout flow's adapters: in sandbox the simulated
// bank, fixed prices and the sandbox AML screener; in production the market
// price ticker, and no bank rail until a partner adapter exists (payouts are
// then refused as unavailable rather than queued for nobody).
func (f serveFlags) payoutConfig(ctx context.Context, log *slog.Logger, environment offramp.Env, clock offramp.Clock) (service.PayoutConfig, func(), error) {
	pc := service.PayoutConfig{QuoteTTL: f.quoteTTL, RailTimeout: f.railTimeout, InquiryDelay: f.railDelay, MaxInquiries: f.maxInquiries}
	var err error
	if f.fees != "" {
		if pc.Fees, err = money.ParseSchedule(f.fees); err != nil {
			return pc, nil, fmt.Errorf("--fees: %w", err)
		}
	}
	if pc.DailyLimit, err = decimal.NewFromString(f.dailyLimit); err != nil || !pc.DailyLimit.IsPositive() {
		return pc, nil, fmt.Errorf("--daily-limit must be a positive amount")
	}
	if pc.EDDDailyLimit, err = decimal.NewFromString(f.eddDailyLimit); err != nil || pc.EDDDailyLimit.LessThan(pc.DailyLimit) {
		return pc, nil, fmt.Errorf("--edd-daily-limit must be an amount at least --daily-limit")
	}
	if environment == offramp.EnvProduction {
		t := rates.NewTicker(rates.TickerConfig{Asset: "USDT", MaxAge: f.rateMaxAge, Clock: clock, Log: log})
		go t.Run(ctx)
		pc.Rates, pc.Assets = t, []string{"USDT"}
		return pc, func() {}, nil
	}
	prices := rates.DefaultSandboxPrices()
	if f.sandboxRates != "" {
		if prices, err = rates.ParseSandboxPrices(f.sandboxRates); err != nil {
			return pc, nil, fmt.Errorf("--sandbox-rates: %w", err)
		}
	}
	pc.Rates = rates.NewSandbox(prices, clock)
	pc.Screener = sandbox.Screener{}
	bankDB := f.sandboxBankDB
	if bankDB == "" {
		bankDB = filepath.Join(filepath.Dir(sqlitePathOf(f.db)), "sandbox-bank.db")
	}
	bank, err := rail.OpenSandbox(bankDB, rail.SandboxOptions{Settle: f.railDelay, Clock: clock})
	if err != nil {
		return pc, nil, fmt.Errorf("sandbox bank: %w", err)
	}
	pc.Rail = bank
	return pc, func() { bank.Close() }, nil
}
