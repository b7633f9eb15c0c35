package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/httpapi"
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

	cfg := service.Config{
		Store: db.store, Clock: clock, Env: db.env, VerifyDelay: f.verifyDelay, LinkKey: db.linkKey, Log: log,
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
	runner := worker.New(worker.Config{Store: db.store, Clock: clock, Handler: svc.RunJob, Log: log, Registerer: reg})
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
