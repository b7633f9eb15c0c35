package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/offramp/offramp/server"
)

// `offramp bench` measures write throughput the way an exchange drives the
// API: concurrent DollarPe-signed clients, each running quotation +
// initiate pairs. The files:
//
//	bench.go         the command, its flags and the run from start to end
//	benchload.go     onboarding through the API and the client loop
//	benchserver.go   the embedded server (a child process), its CPU, RSS and /metrics
//	benchpreload.go  --preload: payouts loaded in-process through the service
//	benchraw.go      the disk's raw commit rate, PostgreSQL scratch databases
//	benchreport.go   the report, for people and as JSON

// benchOpts are the bench's flags.
type benchOpts struct {
	concurrency    int
	retries        int
	duration       time.Duration
	pairs          int
	mix            bool
	customers      int
	onboardConc    int
	amount         string
	idempotency    bool
	preload        int
	db             string
	keep           bool
	baseURL        string
	apiKey         string
	apiSecret      string
	json           bool
	rawDuration    time.Duration
	rawCommits     int
	serverArgs     []string
	serverLogLevel string
	serverBin      string

	// baseURLSet is true when --base-url was given: drive that server.
	baseURLSet bool
}

const benchLong = `Measure Offramp's write throughput the way an exchange drives it: -c concurrent
clients, each signing its requests as DollarPe's clients do and running
quotation + initiate pairs (POST /pos/api/v1/payout/quotation, then
POST /pos/api/v1/payout/initiate with a unique exchange_order_id) back to back,
for -d or until --pairs pairs are done.

By default it starts its own sandbox server: this executable run as
"offramp serve", as a child process on a free 127.0.0.1 port, on a fresh SQLite
database in a temporary directory, or with --db postgres://... on a fresh
scratch database offramp_bench_<random> created on that PostgreSQL server and
dropped at the end. Its daily limits are raised out of the way and its webhook
URL points at a receiver inside the bench that answers 200. Being a separate
process, the server's CPU time and memory are measured apart from the clients'.
With --base-url it drives a running sandbox server instead (with --api-key and
--api-secret): it onboards its customers there, changes none of that server's
settings (not its webhook URL either), and reads CPU and memory from the
server's /metrics. Mind that server's daily limit (₹2,00,000 per customer by
default): spread the pairs over more customers with --customers.

Before the run it onboards --customers customers through the API, up to
--onboard-concurrency at once (create, KYC, bank account, each made VERIFIED
with the sandbox's mock endpoints). While it
runs it prints a progress line on standard error about once a second. Then it
prints (one JSON object with --json):

  onboarding          customers onboarded, how many at once, how long it took, and the server's
                      503 answers (each retried by the client) and 5xx answers meanwhile
  pairs               pairs completed and failed, and the wall time of the run
  pairs/s             completed pairs per second of wall time: payouts initiated per second
  latency <call>      p50, p90, p99 and max, in milliseconds, of each call as the client saw it,
                      from sending the request to having read the whole answer (of the last
                      attempt, waits before attempts sent again included): initiate and
                      quotation; with --mix also get payout and history
  failures            each distinct failure (call, HTTP status, err_code, message), counted
  retried             each 503 or 429 answer after which the call was sent again (--retries)
  server CPU          CPU time (user + system) the server process used during the run, and that
                      divided by the payouts initiated: CPU ms per payout. It includes the
                      background work done meanwhile (the engine paying the payouts through the
                      sandbox bank, webhook deliveries). With PostgreSQL the database server's own
                      CPU is not included: see PostgreSQL CPU
  PostgreSQL CPU      embedded server on a PostgreSQL server on this machine: CPU time of the
                      scratch database's backends during the run, and per payout
  server RSS          the server's resident memory at the end of the run (and its peak, embedded)
  client CPU          CPU time this process (the clients) used during the run
  machine CPU busy    share of all the machine's CPUs that was busy during the run, and that
                      CPU time split into server, clients and other (PostgreSQL, and anything
                      else running on the machine: a busy machine skews every figure)
  transactions        PostgreSQL: the server's write transactions during the run, the attempts
                      it ran again by cause (serialization, deadlock, numbering, replan), per
                      transaction, and the transactions that ran out of retry budget (503)
  batch sizes         the server's offramp_store_commit_batch_size histogram over the run (group
                      commit): commits, mean writes per commit, commits per bucket; "not exported
                      by this server" when the server has no such histogram
  raw commit rate     what the disk does without Offramp, measured in the same run after the
                      load: SQLite: sequential one-row INSERT commits (WAL, synchronous=FULL) in a
                      scratch file in the same directory as the bench database, one connection;
                      PostgreSQL: one-row INSERT autocommits into a regular (logged) scratch
                      table on the same server from -c connections, as pgbench would
  pairs/s ÷ raw rate  pairs/s divided by the raw commit rate: the durable payout initiations per
                      second the service gets out of each durable commit the disk can make
  preload             with --preload: payouts loaded before the run (into the same organization,
                      before the server starts), how long that took and the rate
  payouts in history  the organization's payout history count after the run (preloaded + run)
  webhooks received   webhooks the bench's receiver got during the run (embedded server)
  server job backlog  the server's background jobs due or running at the end of the run, by kind
                      (work it had not caught up with; jobs scheduled for later are not counted)

It exits non-zero if any call failed, after printing the report.`

func benchCmd() *cobra.Command {
	var o benchOpts
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure write throughput: concurrent signed quotation + initiate pairs against an embedded or running server",
		Long:  benchLong,
		Example: `  offramp bench                               # 64 clients for 10 s on an embedded SQLite sandbox
  offramp bench -c 64 -d 20s --preload 10000  # with 10,000 payouts loaded first
  offramp bench --db postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
  offramp bench --base-url http://127.0.0.1:8080 --api-key KEY --api-secret SECRET --customers 500 --mix`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.baseURLSet = cmd.Flags().Changed("base-url")
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runBench(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.IntVarP(&o.concurrency, "concurrency", "c", 64, "concurrent clients, each running quotation + initiate pairs back to back")
	fl.DurationVarP(&o.duration, "duration", "d", 10*time.Second, "how long the clients start new pairs (pairs under way then finish)")
	fl.IntVar(&o.pairs, "pairs", 0, "stop after this many pairs in all instead of after --duration")
	fl.BoolVar(&o.mix, "mix", false, "after each pair also GET the payout by id and page 1 of the payout history, and report their latencies")
	fl.IntVar(&o.customers, "customers", 0, "customers (each with a verified bank account) the pairs are spread over (default: one per client)")
	fl.IntVar(&o.onboardConc, "onboard-concurrency", 16, "customers onboarded at once before the run (each: create, KYC, bank account)")
	fl.StringVar(&o.amount, "amount", "10", "USDT per quotation; each adds a distinct millionth so that no two bodies are alike")
	fl.IntVar(&o.retries, "retries", 3, "send a call again (signed afresh) after a 503 or 429, after the Retry-After the server gives, at most this many times, as the Go SDK does; 0: count it as a failure at once")
	fl.BoolVar(&o.idempotency, "idempotency-keys", false, "send an Idempotency-Key with each initiate, as the Go SDK does (DollarPe's clients send none)")
	fl.IntVar(&o.preload, "preload", 0, "before the run, load this many payouts into the bench database through the service's own quotation and initiate code, in-process, each paid by the engine and its webhook delivered, dated a minute apart (over 30 days at most) up to two days ago (embedded server only)")
	fl.StringVar(&o.db, "db", "", "postgres://... URL: run the embedded server on a fresh scratch database created on that server (default: SQLite in a temporary directory). With --base-url: the database that server uses (a SQLite file or a postgres:// URL), only to measure the raw commit rate there")
	fl.BoolVar(&o.keep, "keep", false, "keep the temporary directory (database, server log) and the PostgreSQL scratch database instead of removing them")
	fl.StringVar(&o.baseURL, "base-url", "", "drive the sandbox server at this URL instead of starting one")
	fl.StringVar(&o.apiKey, "api-key", env("OFFRAMP_API_KEY", ""), "with --base-url: the organization's API key [OFFRAMP_API_KEY]")
	fl.StringVar(&o.apiSecret, "api-secret", env("OFFRAMP_API_SECRET", ""), "with --base-url: the organization's API secret [OFFRAMP_API_SECRET]")
	fl.BoolVar(&o.json, "json", false, "print the report as one JSON object, for scripts")
	fl.DurationVar(&o.rawDuration, "raw-duration", 3*time.Second, "how long to measure the disk's raw commit rate")
	fl.IntVar(&o.rawCommits, "raw-commits", 0, "measure the raw commit rate over this many commits instead of over --raw-duration")
	fl.StringArrayVar(&o.serverArgs, "server-arg", nil, `extra flag for the embedded "offramp serve", repeatable (e.g. --server-arg=--bank-workers=16)`)
	fl.StringVar(&o.serverLogLevel, "server-log-level", "info", "the embedded server's log level (its log is a file in the temporary directory: see --keep)")
	fl.StringVar(&o.serverBin, "server-bin", "", "the offramp executable to run as the embedded server (default: this one)")
	_ = fl.MarkHidden("server-bin")
	return cmd
}

// benchRun is one bench run: what it started, to stop and remove at the
// end, and what it measured.
type benchRun struct {
	o      benchOpts
	out    io.Writer
	errOut io.Writer
	rep    benchReport

	dir      string // temporary directory (embedded server)
	dsn      string // the bench database (embedded server)
	scratch  *scratchDB
	child    *childServer
	receiver *webhookReceiver
	cleanups []func()
}

func (b *benchRun) validate() error {
	o := b.o
	switch {
	case o.concurrency < 1:
		return errors.New("-c must be at least 1")
	case o.onboardConc < 1:
		return errors.New("--onboard-concurrency must be at least 1")
	case o.pairs < 0:
		return errors.New("--pairs must not be negative")
	case o.pairs == 0 && o.duration <= 0:
		return errors.New("give a positive -d or --pairs")
	case o.retries < 0:
		return errors.New("--retries must not be negative")
	case o.customers < 0:
		return errors.New("--customers must not be negative")
	case o.preload < 0:
		return errors.New("--preload must not be negative")
	case o.rawCommits < 0:
		return errors.New("--raw-commits must not be negative")
	case o.rawCommits == 0 && o.rawDuration <= 0:
		return errors.New("give a positive --raw-duration or --raw-commits")
	}
	if d, err := decimal.NewFromString(o.amount); err != nil || d.LessThan(decimal.NewFromInt(10)) || d.Exponent() < -6 {
		return fmt.Errorf("--amount %q: give a USDT amount of at least 10 with at most 6 decimals", o.amount)
	}
	if o.baseURLSet {
		if o.apiKey == "" || o.apiSecret == "" {
			return errors.New("with --base-url, give --api-key and --api-secret (or OFFRAMP_API_KEY and OFFRAMP_API_SECRET)")
		}
		if o.preload > 0 {
			return errors.New("--preload needs the embedded server (it writes into the bench database before the server starts): drop --base-url")
		}
	} else if o.db != "" && !server.IsPostgres(o.db) {
		return fmt.Errorf("--db %q: without --base-url, --db takes a postgres:// URL (the default is a fresh SQLite database)", o.db)
	}
	return nil
}

func runBench(ctx context.Context, o benchOpts, out, errOut io.Writer) (err error) {
	b := &benchRun{o: o, out: out, errOut: errOut}
	if err := b.validate(); err != nil {
		return err
	}
	if b.o.customers == 0 {
		b.o.customers = b.o.concurrency
	}
	defer func() {
		for i := len(b.cleanups) - 1; i >= 0; i-- {
			b.cleanups[i]()
		}
	}()
	if err := b.run(ctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("bench interrupted: %w", err)
		}
		return err
	}
	if err := b.rep.print(out, b.o.json); err != nil {
		return err
	}
	if b.rep.FailuresTotal > 0 {
		return fmt.Errorf("%d calls failed (%d of %d pairs)", b.rep.FailuresTotal, b.rep.PairsFailed, b.rep.PairsFailed+b.rep.Pairs)
	}
	return nil
}

// logf writes a line of progress on standard error.
func (b *benchRun) logf(format string, args ...any) {
	fmt.Fprintf(b.errOut, "bench: "+format+"\n", args...)
}

func (b *benchRun) run(ctx context.Context) error {
	o := b.o
	runID := randHex(4)
	rep := &b.rep
	rep.Concurrency, rep.Customers, rep.CPUs = o.concurrency, o.customers, runtime.NumCPU()
	rep.Mix, rep.IdempotencyKeys = o.mix, o.idempotency
	if o.pairs > 0 {
		rep.PairsTarget = o.pairs
	} else {
		rep.DurationTarget = o.duration.Seconds()
	}

	base, key, secret := strings.TrimRight(o.baseURL, "/"), o.apiKey, o.apiSecret
	if o.baseURLSet {
		rep.Mode, rep.Database = "base-url", dbKind(o.db)
		rep.Target = base
	} else {
		if err := b.startEmbedded(ctx); err != nil {
			return err
		}
		base, key, secret = b.child.url, b.child.apiKey, b.child.apiSecret
	}

	lc := newLoadClient(base, key, secret, o.concurrency)
	b.logf("onboarding %d customers (KYC and bank account verified through the sandbox's mock endpoints)", o.customers)
	onStart := time.Now()
	parties, onb, err := onboard(ctx, lc, o.customers, o.onboardConc, runID)
	if err != nil {
		return b.withLog(fmt.Errorf("onboarding: %w", err))
	}
	onb.Seconds = time.Since(onStart).Seconds()
	rep.Onboarding = &onb

	before := b.snapshot(ctx, lc)
	b.logf("running %s with %d clients", runLength(o), o.concurrency)
	res, err := runLoad(ctx, lc, loadConfig{
		clients: o.concurrency, retries: o.retries, duration: o.duration, pairs: o.pairs, mix: o.mix, idempotency: o.idempotency,
		amount: decimal.RequireFromString(o.amount), runID: runID, parties: parties, progress: b.errOut,
	})
	if err != nil {
		return b.withLog(err)
	}
	after := b.snapshot(ctx, lc)
	rep.addLoad(res)
	rep.addServer(before, after, res.ok)
	if n, err := lc.historyCount(ctx); err != nil {
		b.logf("reading the payout history count: %v", err)
	} else {
		rep.HistoryCount = &n
	}

	if b.child != nil {
		if err := b.child.stop(); err != nil {
			b.logf("stopping the embedded server: %v", err)
		}
	}
	raw, err := b.measureRaw(ctx)
	if err != nil {
		return fmt.Errorf("raw commit rate: %w", err)
	}
	rep.addRaw(raw)
	return nil
}

// startEmbedded prepares the bench database (the organization, its webhook
// URL and any preload, in-process) and starts the server on it.
func (b *benchRun) startEmbedded(ctx context.Context) error {
	o := b.o
	dir, err := os.MkdirTemp("", "offramp-bench-")
	if err != nil {
		return err
	}
	b.dir = dir
	b.cleanups = append(b.cleanups, func() {
		if o.keep {
			b.logf("kept %s (database, server.log)", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	b.rep.Mode = "embedded"
	b.dsn = filepath.Join(dir, "offramp.db")
	if server.IsPostgres(o.db) {
		b.scratch, err = createScratchDB(ctx, o.db)
		if err != nil {
			return fmt.Errorf("--db: %w", err)
		}
		b.dsn = b.scratch.url
		b.rep.ScratchDatabase = b.scratch.name
		b.cleanups = append(b.cleanups, func() {
			if o.keep {
				b.logf("kept the scratch database %s", server.RedactDSN(b.scratch.url))
				return
			}
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if err := b.scratch.drop(dctx); err != nil {
				b.logf("dropping the scratch database %s: %v", b.scratch.name, err)
			}
		})
	}
	b.rep.Database = dbKind(b.dsn)
	b.rep.Target = server.RedactDSN(b.dsn)

	b.receiver, err = startWebhookReceiver()
	if err != nil {
		return err
	}
	b.cleanups = append(b.cleanups, b.receiver.close)

	masterKey := make([]byte, 32)
	_, _ = rand.Read(masterKey)
	org, pre, err := prepareDatabase(ctx, b.dsn, masterKey, b.receiver.url, o.preload, b.errOut)
	if err != nil {
		return err
	}
	if pre != nil {
		b.rep.Preload = pre
	}

	bin := o.serverBin
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return fmt.Errorf("finding this executable to run the server: %w", err)
		}
	}
	b.logf("starting the embedded server (%s serve, %s)", filepath.Base(bin), b.rep.Database)
	b.child, err = startChild(ctx, bin, dir, b.dsn, masterKey, o.serverArgs, o.serverLogLevel)
	if err != nil {
		return err
	}
	b.child.apiKey, b.child.apiSecret = org.APIKey, org.APISecret
	b.cleanups = append(b.cleanups, func() { _ = b.child.stop() })
	return nil
}

// withLog adds the tail of the embedded server's log to err.
func (b *benchRun) withLog(err error) error {
	if b.child == nil {
		return err
	}
	if tail := b.child.logTail(20); tail != "" {
		return fmt.Errorf("%w\nlast lines of the server's log:\n%s", err, tail)
	}
	return err
}

// snapshot reads what the report compares before and after the run.
func (b *benchRun) snapshot(ctx context.Context, lc *loadClient) benchSnapshot {
	s := benchSnapshot{at: time.Now(), self: selfCPU(), machine: machineCPU()}
	if b.receiver != nil {
		s.webhooks = b.receiver.count.Load()
	}
	text, err := lc.metrics(ctx)
	if err != nil {
		b.logf("reading the server's /metrics: %v", err)
	} else {
		s.metrics = parseProm(text)
	}
	if b.child != nil {
		if p, err := procStats(b.child.pid()); err == nil {
			s.proc = &p
		}
	}
	if b.scratch != nil {
		if pg, err := pgBackendCPU(ctx, b.scratch.url); err == nil {
			s.pg = pg
		}
	}
	return s
}

func (b *benchRun) measureRaw(ctx context.Context) (*rawResult, error) {
	o := b.o
	switch {
	case b.scratch != nil:
		b.logf("measuring the raw commit rate of PostgreSQL (%d connections)", o.concurrency)
		return rawPostgres(ctx, b.scratch.url, o.concurrency, o.rawDuration, o.rawCommits)
	case b.dir != "":
		b.logf("measuring the raw commit rate of SQLite in %s", b.dir)
		return rawSQLite(ctx, b.dir, o.rawDuration, o.rawCommits)
	case server.IsPostgres(o.db):
		s, err := createScratchDB(ctx, o.db)
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := s.drop(context.WithoutCancel(ctx)); err != nil {
				b.logf("dropping the scratch database %s: %v", s.name, err)
			}
		}()
		b.logf("measuring the raw commit rate of PostgreSQL (%d connections)", o.concurrency)
		return rawPostgres(ctx, s.url, o.concurrency, o.rawDuration, o.rawCommits)
	case o.db != "":
		dir := filepath.Dir(server.SQLitePath(o.db))
		b.logf("measuring the raw commit rate of SQLite in %s", dir)
		return rawSQLite(ctx, dir, o.rawDuration, o.rawCommits)
	}
	return nil, nil
}

func runLength(o benchOpts) string {
	if o.pairs > 0 {
		return fmt.Sprintf("%d pairs", o.pairs)
	}
	return o.duration.String()
}

func dbKind(dsn string) string {
	switch {
	case dsn == "":
		return ""
	case server.IsPostgres(dsn):
		return "postgres"
	}
	return "sqlite"
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
