// Package server assembles a running Offramp from its parts: storage, the
// service with its sandbox or production adapters, the background workers
// and the HTTP API on a listener. `offramp serve`, `offramp demo` and tests
// that need a whole server on 127.0.0.1 all start it the same way.
package server

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/console"
	"github.com/offramp/offramp/engine"
	"github.com/offramp/offramp/httpapi"
	"github.com/offramp/offramp/money"
	"github.com/offramp/offramp/rail"
	"github.com/offramp/offramp/rates"
	"github.com/offramp/offramp/sandbox"
	"github.com/offramp/offramp/service"
	"github.com/offramp/offramp/sqlstore"
	"github.com/offramp/offramp/vault"
	"github.com/offramp/offramp/webhook"
	"github.com/offramp/offramp/worker"
)

// Config describes a server. Zero durations and limits take the service's
// defaults.
type Config struct {
	// DB is a SQLite path or a postgres:// URL.
	DB  string
	Env offramp.Env
	// MasterKey (32 bytes) encrypts secrets at rest.
	MasterKey []byte
	// Addr is the listen address; "127.0.0.1:0" picks a free port.
	Addr    string
	BaseURL string

	VerifyDelay  time.Duration
	RailDelay    time.Duration
	RailTimeout  time.Duration
	MaxInquiries int
	// MaxSubmissions, SettlementDeadline and ReversalWindow tune the
	// payout engine (engine.Config).
	MaxSubmissions     int
	SettlementDeadline time.Duration
	ReversalWindow     time.Duration
	// SandboxPending is how long the sandbox bank keeps a transfer to an
	// account ending 6666 pending, and how long after paying it reverses
	// one to an account ending 7777.
	SandboxPending time.Duration
	// Workers sizes the worker pools (nil: worker's defaults).
	Workers         []worker.Pool
	QuoteTTL        time.Duration
	JobLease        time.Duration
	ShutdownTimeout time.Duration
	Fees            money.Schedule
	SandboxRates    map[string]decimal.Decimal
	DailyLimit      decimal.Decimal
	EDDDailyLimit   decimal.Decimal
	RateMaxAge      time.Duration
	// SandboxBankDB is the simulated bank's file (default beside DB).
	SandboxBankDB string
	// Providers chooses the bank rail, the verifiers and the rate sources.
	Providers Providers
	// AdminAddr is the operator console's own listen address (never the
	// API's); empty disables the console.
	AdminAddr string
	// ConsoleSecureCookies marks console cookies Secure (behind a TLS
	// proxy).
	ConsoleSecureCookies bool
	// ConsoleIdleTimeout ends a console session unused for this long
	// (0: console.DefaultIdleTimeout).
	ConsoleIdleTimeout time.Duration
	// WebhookAllowPrivate lets webhooks go to loopback and private
	// addresses; nil means the environment's default (sandbox yes,
	// production no).
	WebhookAllowPrivate *bool
	// RateLimit limits the API's signed routes per API key and in all;
	// the zero value limits nothing.
	RateLimit httpapi.RateLimit
	Log       *slog.Logger
}

// Server is a running Offramp.
type Server struct {
	// URL is where the API answers.
	URL string
	// ConsoleURL is where the operator console answers ("" when disabled).
	ConsoleURL string
	// DefaultOrg is the organization created on the first start of an
	// empty sandbox database, with its secret; nil otherwise.
	DefaultOrg *offramp.Org
	Service    *service.Service
	Store      *sqlstore.Store

	cfg      Config
	log      *slog.Logger
	api      *httpapi.Server
	http     *http.Server
	console  *http.Server
	serveErr chan error
	stopWork context.CancelFunc
	wg       sync.WaitGroup
	closers  []func()
}

// OpenStore opens and migrates the database with the master key, and
// derives the key that signs hosted-KYC links.
func OpenStore(ctx context.Context, dsn string, masterKey []byte, clock offramp.Clock) (*sqlstore.Store, []byte, error) {
	v, err := vault.New(masterKey)
	if err != nil {
		return nil, nil, err
	}
	st, err := sqlstore.Open(ctx, dsn, v, sqlstore.Options{Clock: clock})
	if err != nil {
		return nil, nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("migrate: %w", err)
	}
	linkKey, err := hkdf.Key(sha256.New, masterKey, nil, "offramp kyc-link v1", 32)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, linkKey, nil
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	l := strings.ToLower(dsn)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// SQLitePath strips the scheme and query of a SQLite DSN to find its file.
func SQLitePath(dsn string) string {
	p := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

// Start opens the database, builds the service and starts the workers and
// the HTTP server. Stop it with Shutdown.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.JobLease <= 0 {
		cfg.JobLease = 30 * time.Second
	}
	// A job must end inside its lease, or a second worker could take it
	// over while the first is still calling the bank or a receiver.
	railTimeout := cfg.RailTimeout
	if railTimeout <= 0 {
		railTimeout = 10 * time.Second
	}
	if longest := max(railTimeout, webhook.DefaultTimeout) + 2*time.Second; cfg.JobLease < longest {
		return nil, fmt.Errorf("--job-lease %v is too short: a job may take %v (the rail timeout or the 10 s webhook timeout, plus 2 s)", cfg.JobLease, longest)
	}
	log := cfg.Log
	clock := offramp.SystemClock{}
	s := &Server{cfg: cfg, log: log, serveErr: make(chan error, 1)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	st, linkKey, err := OpenStore(ctx, cfg.DB, cfg.MasterKey, clock)
	if err != nil {
		return nil, err
	}
	s.Store = st
	s.closers = append(s.closers, func() { st.Close() })

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := st.Register(reg); err != nil {
		return nil, err
	}
	prov, err := cfg.Providers.build(providerDeps{
		env: cfg.Env, store: st, clock: clock, log: log, registerer: reg, rateMaxAge: cfg.RateMaxAge,
		sandbox: func() (offramp.Rail, error) { return s.openSandboxBank(clock) },
		sandboxPx: func() offramp.RateSource {
			prices := cfg.SandboxRates
			if prices == nil {
				prices = rates.DefaultSandboxPrices()
			}
			return rates.NewSandbox(prices, clock)
		},
	})
	if err != nil {
		return nil, err
	}
	payouts := service.PayoutConfig{QuoteTTL: cfg.QuoteTTL, Fees: cfg.Fees, DailyLimit: cfg.DailyLimit, EDDDailyLimit: cfg.EDDDailyLimit,
		Rail: prov.rail, Rates: prov.rates}
	if prov.market != nil {
		mctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		go prov.market.Run(mctx)
		s.closers = append(s.closers, stop)
		payouts.Assets = []string{prov.market.Asset()}
	}
	if cfg.Env == offramp.EnvSandbox {
		payouts.Screener = sandbox.Screener{}
	}
	payouts.Engine = engine.Config{
		RailTimeout: cfg.RailTimeout, InquiryDelay: cfg.RailDelay, MaxInquiries: cfg.MaxInquiries,
		MaxSubmissions: cfg.MaxSubmissions, SettlementDeadline: cfg.SettlementDeadline, ReversalWindow: cfg.ReversalWindow,
		Registerer: reg,
	}
	allowPrivate := cfg.Env == offramp.EnvSandbox
	if cfg.WebhookAllowPrivate != nil {
		allowPrivate = *cfg.WebhookAllowPrivate
	}
	if allowPrivate && cfg.Env == offramp.EnvProduction {
		log.Warn("webhooks may be delivered to loopback and private addresses (--webhook-allow-private): for local development only")
	}
	sc := service.Config{
		Store: st, Clock: clock, Env: cfg.Env, VerifyDelay: cfg.VerifyDelay, LinkKey: linkKey, Log: log,
		Payouts: payouts, Webhooks: service.WebhookConfig{AllowPrivate: allowPrivate},
	}
	// Without a verifier (production before one is configured)
	// submissions wait in PROCESSING, and /readyz says why.
	if prov.verifier != nil {
		sc.Verifier = prov.verifier
	}
	s.Service = service.New(sc)
	provHealth := &health{clock: clock}
	apiCfg := httpapi.Config{Service: s.Service, Store: st, Log: log, Registry: reg, BaseURL: cfg.BaseURL,
		Routes: prov.webhookRoutes(s.Service.Engine(), log), RateLimit: cfg.RateLimit}
	if cfg.Env == offramp.EnvProduction {
		apiCfg.Ready = prov.ready(provHealth)
	}

	s.api = httpapi.New(apiCfg)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	s.URL = cfg.BaseURL
	if s.URL == "" {
		s.URL = "http://" + ln.Addr().String()
	}
	if cfg.Env == offramp.EnvSandbox {
		org, created, err := s.Service.EnsureDefaultOrg(ctx)
		if err != nil {
			ln.Close()
			return nil, err
		}
		if created {
			s.DefaultOrg = &org
		}
	}

	s.http = &http.Server{
		Handler:           s.api.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	s.stopWork = stopWork
	runner := worker.New(worker.Config{Store: st, Clock: clock, Handler: s.Service.RunJob, Log: log, Registerer: reg, Lease: cfg.JobLease, Pools: workerPools(cfg.Workers)})
	s.wg.Go(func() { runner.Run(workCtx) })
	s.wg.Go(func() {
		worker.Sweep(workCtx, time.Minute, log, "signatures", func(ctx context.Context) error {
			return st.Update(ctx, func(tx offramp.Tx) error {
				_, err := tx.PurgeSignatures(ctx, clock.Now())
				return err
			})
		})
	})
	s.wg.Go(func() {
		// Every provider is checked at start and every minute, so /readyz
		// and the console's overview report one that stopped answering
		// without calling it themselves.
		provHealth.run(workCtx, prov.checks)
		worker.Sweep(workCtx, time.Minute, log, "provider checks", func(ctx context.Context) error {
			provHealth.run(ctx, prov.checks)
			return nil
		})
	})
	if cfg.AdminAddr != "" {
		cln, err := net.Listen("tcp", cfg.AdminAddr)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("console listener (--admin-addr): %w", err)
		}
		con := console.New(console.Config{Store: st, Service: s.Service, Clock: clock, Log: log, Registry: reg, SecureCookies: cfg.ConsoleSecureCookies, IdleTimeout: cfg.ConsoleIdleTimeout,
			Health: prov.consoleHealth(provHealth, clock)})
		s.console = &http.Server{Handler: http.MaxBytesHandler(con.Handler(), 1<<20), ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
		s.ConsoleURL = "http://" + cln.Addr().String()
		go func() {
			if err := s.console.Serve(cln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("console stopped", "err", err)
			}
		}()
		log.Info("operator console listening", "addr", cln.Addr().String())
	}
	go func() { s.serveErr <- s.http.Serve(ln) }()
	log.Info("offramp listening", "addr", ln.Addr().String(), "env", string(cfg.Env), "db", RedactDSN(cfg.DB))
	return s, nil
}

// Done reports a failure of the HTTP server (its listener broke).
func (s *Server) Done() <-chan error { return s.serveErr }

// Shutdown drains in-flight requests (up to the shutdown timeout), stops
// the workers after their current job and closes the database.
func (s *Server) Shutdown(ctx context.Context) error {
	s.log.Info("shutting down: draining requests", "timeout", s.cfg.ShutdownTimeout.String())
	s.api.Drain()
	sctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(sctx)
	if s.console != nil {
		_ = s.console.Shutdown(sctx)
	}
	s.close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

func (s *Server) close() {
	if s.stopWork != nil {
		s.stopWork()
		s.wg.Wait()
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// openSandboxBank opens the simulated bank's books: beside the SQLite file,
// or data/sandbox-bank.db with PostgreSQL (several instances on one
// machine share it, as they would share a real bank).
func (s *Server) openSandboxBank(clock offramp.Clock) (offramp.Rail, error) {
	cfg := s.cfg
	bankDB := cfg.SandboxBankDB
	switch {
	case bankDB != "":
	case IsPostgres(cfg.DB):
		bankDB = filepath.Join("data", "sandbox-bank.db")
	default:
		bankDB = filepath.Join(filepath.Dir(SQLitePath(cfg.DB)), "sandbox-bank.db")
	}
	if err := os.MkdirAll(filepath.Dir(bankDB), 0o700); err != nil {
		return nil, fmt.Errorf("sandbox bank: %w", err)
	}
	bank, err := rail.OpenSandbox(bankDB, rail.SandboxOptions{Settle: cfg.RailDelay, Pending: cfg.SandboxPending, Clock: clock})
	if err != nil {
		return nil, fmt.Errorf("sandbox bank: %w", err)
	}
	s.closers = append(s.closers, func() { bank.Close() })
	return bank, nil
}

// RedactDSN hides the password of a database URL, for logs.
func RedactDSN(dsn string) string {
	if !IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparseable URL)"
	}
	return u.Redacted()
}

// workerPools is the configured pools (the worker's defaults when none),
// each marked HandlerFinishes when the service finishes all its kinds of
// job itself.
func workerPools(pools []worker.Pool) []worker.Pool {
	if len(pools) == 0 {
		pools = worker.DefaultPools(8, 8, 4)
	}
	out := make([]worker.Pool, len(pools))
	for i, p := range pools {
		p.HandlerFinishes = !slices.ContainsFunc(p.Kinds, func(k offramp.JobKind) bool { return !service.FinishesOwnJobs(k) })
		out[i] = p
	}
	return out
}
