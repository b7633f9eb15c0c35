package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/offramp/offramp/sqlstore/pgtest"
)

// runBenchCmd runs `offramp bench args...` in this process, against the
// offramp binary built for the tests (the embedded server is a child
// process: this test binary cannot be it), and returns its JSON report.
// The run ends when the test's deadline nears, never after a fixed time.
func runBenchCmd(t *testing.T, bin string, args ...string) benchReport {
	t.Helper()
	ctx := t.Context()
	if at, ok := giveUpAt(t); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, at)
		defer cancel()
	}
	var out, errOut bytes.Buffer
	cmd := rootCmd()
	cmd.SetArgs(append([]string{"bench", "--server-bin", bin, "--json"}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(ctx)
	t.Logf("bench %s\nstderr:\n%s", strings.Join(args, " "), errOut.String())
	var r benchReport
	if jerr := json.Unmarshal(out.Bytes(), &r); jerr != nil {
		t.Fatalf("bench: %v; its output is not the JSON report: %v\n%s", err, jerr, out.String())
	}
	if err != nil {
		t.Errorf("bench failed: %v\n%s", err, out.String())
	}
	return r
}

// checkBenchReport asserts what a bench run of pairs pairs after preload
// preloaded payouts must report, whatever the machine's speed.
func checkBenchReport(t *testing.T, r benchReport, pairs, preload int, database string) {
	t.Helper()
	if r.Mode != "embedded" || r.Database != database {
		t.Errorf("mode %q on %q, want embedded on %q", r.Mode, r.Database, database)
	}
	if r.Pairs != int64(pairs) || r.PairsFailed != 0 || r.FailuresTotal != 0 {
		t.Errorf("pairs %d completed, %d failed, failures %v; want %d completed and none failed", r.Pairs, r.PairsFailed, r.Failures, pairs)
	}
	for _, op := range []string{opQuotation, opInitiate} {
		if l := r.Latency[op]; l.Count != pairs || l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max {
			t.Errorf("latency of %s: %+v, want %d calls with 0 < p50 <= p90 <= p99 <= max", op, l, pairs)
		}
	}
	if r.PairsPerSecond <= 0 || r.Seconds <= 0 {
		t.Errorf("pairs/s %v over %v s, want both positive", r.PairsPerSecond, r.Seconds)
	}
	if preload > 0 {
		if r.Preload == nil || r.Preload.Payouts != preload || r.Preload.JobsLeft != 0 {
			t.Errorf("preload %+v, want %d payouts and no job left", r.Preload, preload)
		}
	}
	// Every payout, preloaded and initiated, is in the organization's
	// history as the API shows it.
	if r.HistoryCount == nil || *r.HistoryCount != preload+pairs {
		t.Errorf("payouts in history %v, want %d", deref(r.HistoryCount), preload+pairs)
	}
	s := r.Server
	if s.Source != "/proc" || s.CPUSeconds == nil || *s.CPUSeconds <= 0 || s.CPUMsPerPayout == nil || *s.CPUMsPerPayout <= 0 {
		t.Errorf("server CPU %+v (%v ms per payout), want a positive figure from /proc", s, deref(s.CPUMsPerPayout))
	}
	if s.RSSBytes == nil || *s.RSSBytes <= 0 || s.RSSPeakBytes == nil || *s.RSSPeakBytes < *s.RSSBytes {
		t.Errorf("server RSS %v, peak %v: want positive, peak at least the last", deref(s.RSSBytes), deref(s.RSSPeakBytes))
	}
	if r.Raw == nil || r.Raw.Engine != database || r.Raw.Commits <= 0 || r.Raw.PerSecond <= 0 || r.RawRatio == nil || *r.RawRatio <= 0 {
		t.Errorf("raw commit rate %+v, ratio %v: want a positive rate on %s", r.Raw, deref(r.RawRatio), database)
	}
	if r.BatchSizes != nil {
		// Group commit: every write of the run was committed in some
		// batch, each batch at least one write.
		if r.BatchSizes.Commits <= 0 || r.BatchSizes.Mean < 1 {
			t.Errorf("batch sizes %+v: want commits, at least one write each", r.BatchSizes)
		}
		sum := 0.0
		for _, b := range r.BatchSizes.Buckets {
			sum += b.Commits
		}
		if math.Abs(sum-r.BatchSizes.Commits) > 0.5 {
			t.Errorf("batch size buckets add up to %v commits, not %v", sum, r.BatchSizes.Commits)
		}
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestBenchEmbedded runs the bench end to end the way tests can, by pair
// count, not by time: an embedded server (a child process) on SQLite, then
// on PostgreSQL, each after a preload; it checks the figures that do not
// depend on the machine's speed.
func TestBenchEmbedded(t *testing.T) {
	bin := binary(t)
	t.Run("sqlite", func(t *testing.T) {
		const pairs, preload = 40, 100
		r := runBenchCmd(t, bin, "-c", "4", "--pairs", "40", "--preload", "100", "--mix", "--raw-commits", "50")
		checkBenchReport(t, r, pairs, preload, "sqlite")
		for _, op := range []string{opGetPayout, opHistory} {
			if l := r.Latency[op]; l.Count != pairs {
				t.Errorf("--mix: %d %s calls, want %d", l.Count, op, pairs)
			}
		}
		// Each pair's payout (and each preloaded one) is paid and its
		// webhook delivered in the background; the receiver counts what
		// came during the run, which the test cannot bound from below.
		if r.WebhooksReceived == nil || *r.WebhooksReceived < 0 {
			t.Errorf("webhooks received %v", deref(r.WebhooksReceived))
		}
	})
	t.Run("postgres", func(t *testing.T) {
		admin := pgtest.URL(t)
		const pairs, preload = 20, 50
		r := runBenchCmd(t, bin, "-c", "2", "--pairs", "20", "--preload", "50", "--raw-commits", "50", "--db", admin)
		checkBenchReport(t, r, pairs, preload, "postgres")
		if r.Raw != nil && r.Raw.Connections != 2 {
			t.Errorf("raw commits from %d connections, want -c (2)", r.Raw.Connections)
		}
		// The scratch database is gone.
		if !strings.HasPrefix(r.ScratchDatabase, "offramp_bench_") {
			t.Fatalf("scratch database %q", r.ScratchDatabase)
		}
		db, err := sql.Open("pgx", admin)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM pg_database WHERE datname = $1`, r.ScratchDatabase).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("the scratch database %s was not dropped", r.ScratchDatabase)
		}
	})
}

// TestBenchReportText checks the human report's stable labels, and what it
// says of a server without the group-commit histogram.
func TestBenchReportText(t *testing.T) {
	r := benchReport{Mode: "embedded", Database: "sqlite", CPUs: 2, Concurrency: 4, Customers: 4, PairsTarget: 10}
	r.addLoad(loadResult{elapsed: 2 * time.Second, ok: 9, failed: 1,
		lat:      map[string][]time.Duration{opInitiate: {time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond}},
		failures: map[string]int{"initiate: HTTP 400 rejected: Daily limit exceeded": 1}, retried: map[string]int{}})
	before := benchSnapshot{proc: &procSample{cpuSeconds: 1}, self: 1, machine: cpuTimes{busy: 100, total: 200}}
	after := benchSnapshot{proc: &procSample{cpuSeconds: 1.09, rssBytes: 50 << 20, hwmBytes: 60 << 20}, self: 1.5, machine: cpuTimes{busy: 300, total: 600},
		metrics: parseProm("offramp_job_queue_depth{kind=\"process_payout\",state=\"due\"} 3\n")}
	r.addServer(before, after, 9)
	r.addRaw(&rawResult{Engine: "sqlite", Commits: 100, Seconds: 0.1, PerSecond: 500, Connections: 1, Where: "/tmp/x", Settings: "journal_mode=wal synchronous=FULL"})
	var b bytes.Buffer
	if err := r.print(&b, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"pairs:               9 completed, 1 failed in 2.00 s",
		"pairs/s:             4.5",
		"latency initiate:    p50 2.0 ms  p90 3.0 ms  p99 3.0 ms  max 3.0 ms  (3 calls)",
		"failures:            1",
		"1  initiate: HTTP 400 rejected: Daily limit exceeded",
		"retried:             none",
		"server CPU:          0.09 s during the run, 10.00 ms per payout",
		"server RSS:          50.0 MiB at the end (peak 60.0 MiB)",
		"machine CPU busy:    50% of 2 CPUs (2.00 CPU-s: server 0.09, clients 0.50, other 1.41)",
		"batch sizes:         not exported by this server",
		"raw commit rate:     500 commits/s",
		"pairs/s ÷ raw rate:  0.009",
		"server job backlog:  process_payout due 3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// TestBenchBatchSizes reads the group-commit histogram over the run: the
// difference of two scrapes, bucket by bucket.
func TestBenchBatchSizes(t *testing.T) {
	scrape := func(c1, c2, c4, inf, sum float64) []promSample {
		return parseProm(`# HELP offramp_store_commit_batch_size Updates committed together.
# TYPE offramp_store_commit_batch_size histogram
offramp_store_commit_batch_size_bucket{le="1"} ` + ftoa(c1) + `
offramp_store_commit_batch_size_bucket{le="2"} ` + ftoa(c2) + `
offramp_store_commit_batch_size_bucket{le="4"} ` + ftoa(c4) + `
offramp_store_commit_batch_size_bucket{le="+Inf"} ` + ftoa(inf) + `
offramp_store_commit_batch_size_sum ` + ftoa(sum) + `
offramp_store_commit_batch_size_count ` + ftoa(inf) + `
process_cpu_seconds_total 12.5
some_metric{path="/a\"b",le="x"} 1
`)
	}
	var r benchReport
	r.addServer(benchSnapshot{metrics: scrape(10, 10, 10, 10, 10)}, benchSnapshot{metrics: scrape(12, 15, 20, 21, 60)}, 50)
	b := r.BatchSizes
	if b == nil {
		t.Fatal("no batch sizes read")
	}
	// 11 commits in the run of 50 writes: 2 of 1, 3 of 2, 5 of 3 or 4, 1 of
	// more.
	if b.Commits != 11 || b.Writes != 50 || math.Abs(b.Mean-50.0/11) > 1e-9 {
		t.Errorf("commits %v writes %v mean %v, want 11, 50, 4.545", b.Commits, b.Writes, b.Mean)
	}
	want := []batchBucket{{"1", 2}, {"2", 3}, {"4", 5}, {"+Inf", 1}}
	if len(b.Buckets) != len(want) {
		t.Fatalf("buckets %v, want %v", b.Buckets, want)
	}
	for i := range want {
		if b.Buckets[i] != want[i] {
			t.Errorf("bucket %d: %v, want %v", i, b.Buckets[i], want[i])
		}
	}
	if r.Server.Source != "/metrics" || r.Server.CPUSeconds == nil || *r.Server.CPUSeconds != 0 {
		t.Errorf("server CPU from /metrics: %+v", r.Server)
	}
	if v, ok := promValue(scrape(0, 0, 0, 0, 0), "some_metric", map[string]string{"path": `/a"b`}); !ok || v != 1 {
		t.Errorf("escaped label value: %v %v", v, ok)
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// TestBenchHelp checks that --help explains every flag the operators use,
// and hides the test's own.
func TestBenchHelp(t *testing.T) {
	var out bytes.Buffer
	cmd := rootCmd()
	cmd.SetArgs([]string{"bench", "--help"})
	cmd.SetOut(&out)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	for _, flag := range []string{"-c, --concurrency", "-d, --duration", "--pairs", "--mix", "--base-url", "--api-key", "--api-secret",
		"--db", "--keep", "--json", "--preload", "--customers", "--raw-commits", "--raw-duration", "--retries"} {
		if !strings.Contains(help, flag) {
			t.Errorf("--help does not mention %s", flag)
		}
	}
	for _, figure := range []string{"pairs/s", "latency", "failures", "server CPU", "server RSS", "batch sizes", "raw commit rate", "pairs/s ÷ raw rate"} {
		if !strings.Contains(help, figure) {
			t.Errorf("--help does not explain %q", figure)
		}
	}
	if strings.Contains(help, "server-bin") {
		t.Error("--help shows the hidden --server-bin")
	}
}
