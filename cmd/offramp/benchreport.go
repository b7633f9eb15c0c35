package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// benchReport is what `offramp bench` prints; with --json, as is.
type benchReport struct {
	// Mode is "embedded" (a child `offramp serve`) or "base-url".
	Mode string `json:"mode"`
	// Database is "sqlite" or "postgres" ("" when unknown: --base-url
	// without --db).
	Database        string `json:"database"`
	Target          string `json:"target"`
	ScratchDatabase string `json:"scratch_database,omitempty"`
	CPUs            int    `json:"cpus"`
	Concurrency     int    `json:"concurrency"`
	Customers       int    `json:"customers"`
	Mix             bool   `json:"mix"`
	IdempotencyKeys bool   `json:"idempotency_keys"`
	// PairsTarget is --pairs, DurationTarget -d in seconds (one is 0).
	PairsTarget    int     `json:"pairs_target,omitempty"`
	DurationTarget float64 `json:"duration_target_seconds,omitempty"`

	Preload    *preloadResult `json:"preload,omitempty"`
	Onboarding *onboardResult `json:"onboarding,omitempty"`

	// Pairs counts the pairs completed (both calls succeeded),
	// PairsFailed those where the quotation or the initiate failed.
	Pairs          int64                  `json:"pairs"`
	PairsFailed    int64                  `json:"pairs_failed"`
	Seconds        float64                `json:"seconds"`
	PairsPerSecond float64                `json:"pairs_per_second"`
	Latency        map[string]latencyStat `json:"latency_ms"`
	Failures       []failureCount         `json:"failures"`
	FailuresTotal  int                    `json:"failures_total"`
	// Retried counts the answers (503, 429) after which a call was sent
	// again; the call's result is in Latency or Failures.
	Retried      []failureCount `json:"retried"`
	RetriedTotal int            `json:"retried_total"`

	Server serverFigures `json:"server"`
	// ClientCPUSeconds is this process's CPU time during the run.
	ClientCPUSeconds *float64 `json:"client_cpu_seconds,omitempty"`
	// MachineCPUBusy is the busy share of all CPUs during the run (0..1),
	// MachineCPUSeconds the CPU time that was, and OtherCPUSeconds what of
	// it neither the server nor the clients used.
	MachineCPUBusy    *float64 `json:"machine_cpu_busy,omitempty"`
	MachineCPUSeconds *float64 `json:"machine_cpu_seconds,omitempty"`
	OtherCPUSeconds   *float64 `json:"other_cpu_seconds,omitempty"`
	// BatchSizes is nil when the server does not export the histogram.
	BatchSizes *batchSizes `json:"batch_sizes"`
	// Transactions is nil when the server does not export its write
	// transactions and their retries (only PostgreSQL does).
	Transactions *txRetries `json:"transactions,omitempty"`
	Raw          *rawResult `json:"raw_commits"`
	// RawRatio is PairsPerSecond / Raw.PerSecond.
	RawRatio *float64 `json:"pairs_per_raw_commit,omitempty"`

	HistoryCount     *int           `json:"history_count,omitempty"`
	WebhooksReceived *int64         `json:"webhooks_received,omitempty"`
	JobBacklog       map[string]int `json:"job_backlog,omitempty"`
}

type latencyStat struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

type failureCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

type serverFigures struct {
	// Source is where CPU and RSS were read: "/proc" (embedded server) or
	// "/metrics"; "" when neither answered.
	Source         string   `json:"source"`
	CPUSeconds     *float64 `json:"cpu_seconds,omitempty"`
	CPUMsPerPayout *float64 `json:"cpu_ms_per_payout,omitempty"`
	RSSBytes       *int64   `json:"rss_bytes,omitempty"`
	RSSPeakBytes   *int64   `json:"rss_peak_bytes,omitempty"`
	// PostgresCPUSeconds is the CPU of the scratch database's backends
	// (a local PostgreSQL server only).
	PostgresCPUSeconds     *float64 `json:"postgres_cpu_seconds,omitempty"`
	PostgresCPUMsPerPayout *float64 `json:"postgres_cpu_ms_per_payout,omitempty"`
}

// txRetries are the server's write transactions during the run and the
// attempts it ran again (PostgreSQL).
type txRetries struct {
	Updates float64 `json:"updates"`
	Retries float64 `json:"retries"`
	// PerUpdate is Retries / Updates.
	PerUpdate float64            `json:"retries_per_update"`
	ByCause   map[string]float64 `json:"retries_by_cause"`
	Exhausted float64            `json:"retry_budget_exhausted"`
}

// Metrics of sqlstore on PostgreSQL.
const (
	updatesMetric   = "offramp_store_updates_total"
	retriesMetric   = "offramp_store_update_retries_total"
	exhaustedMetric = "offramp_store_update_retry_budget_exhausted_total"
)

type batchSizes struct {
	Commits float64       `json:"commits"`
	Writes  float64       `json:"writes"`
	Mean    float64       `json:"mean"`
	Buckets []batchBucket `json:"buckets"`
}

// batchBucket counts the commits of size in (previous bucket's le, le].
type batchBucket struct {
	LE      string  `json:"le"`
	Commits float64 `json:"commits"`
}

// batchMetric is the group-commit histogram: writes per commit.
const batchMetric = "offramp_store_commit_batch_size"

func ptr[T any](v T) *T { return &v }

func (r *benchReport) addLoad(res loadResult) {
	r.Pairs, r.PairsFailed = res.ok, res.failed
	r.Seconds = res.elapsed.Seconds()
	if r.Seconds > 0 {
		r.PairsPerSecond = float64(res.ok) / r.Seconds
	}
	r.Latency = map[string]latencyStat{}
	for op, l := range res.lat {
		if len(l) > 0 {
			r.Latency[op] = latencyOf(l)
		}
	}
	r.Failures, r.FailuresTotal = counted(res.failures)
	r.Retried, r.RetriedTotal = counted(res.retried)
}

// counted lists reasons by count, most frequent first, and their total.
func counted(m map[string]int) ([]failureCount, int) {
	out, total := []failureCount{}, 0
	for f, n := range m {
		out = append(out, failureCount{Reason: f, Count: n})
		total += n
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	return out, total
}

// latencyOf summarises sorted durations, in milliseconds (nearest rank).
func latencyOf(sorted []time.Duration) latencyStat {
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(sorted)))) - 1
		i = max(0, min(i, len(sorted)-1))
		return ms(sorted[i])
	}
	return latencyStat{Count: len(sorted), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: ms(sorted[len(sorted)-1])}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

// addServer compares the snapshots taken before and after the run.
func (r *benchReport) addServer(before, after benchSnapshot, payouts int64) {
	s := &r.Server
	switch {
	case before.proc != nil && after.proc != nil:
		s.Source = "/proc"
		s.CPUSeconds = ptr(after.proc.cpuSeconds - before.proc.cpuSeconds)
		s.RSSBytes, s.RSSPeakBytes = ptr(after.proc.rssBytes), ptr(after.proc.hwmBytes)
	default:
		b, ok1 := promValue(before.metrics, "process_cpu_seconds_total", nil)
		a, ok2 := promValue(after.metrics, "process_cpu_seconds_total", nil)
		if ok1 && ok2 {
			s.Source = "/metrics"
			s.CPUSeconds = ptr(a - b)
		}
		if rss, ok := promValue(after.metrics, "process_resident_memory_bytes", nil); ok {
			s.Source = "/metrics"
			s.RSSBytes = ptr(int64(rss))
		}
	}
	if s.CPUSeconds != nil && payouts > 0 {
		s.CPUMsPerPayout = ptr(*s.CPUSeconds * 1000 / float64(payouts))
	}
	if before.pg != nil && after.pg != nil {
		s.PostgresCPUSeconds = ptr(pgCPUUsed(before.pg, after.pg))
		if payouts > 0 {
			s.PostgresCPUMsPerPayout = ptr(*s.PostgresCPUSeconds * 1000 / float64(payouts))
		}
	}
	if before.self >= 0 && after.self >= 0 {
		r.ClientCPUSeconds = ptr(after.self - before.self)
	}
	if dt := after.machine.total - before.machine.total; dt > 0 {
		busy := after.machine.busy - before.machine.busy
		r.MachineCPUBusy = ptr(float64(busy) / float64(dt))
		r.MachineCPUSeconds = ptr(float64(busy) / clockTicks)
		if r.Mode == "embedded" && s.CPUSeconds != nil && r.ClientCPUSeconds != nil {
			other := *r.MachineCPUSeconds - *s.CPUSeconds - *r.ClientCPUSeconds
			if s.PostgresCPUSeconds != nil {
				other -= *s.PostgresCPUSeconds
			}
			r.OtherCPUSeconds = ptr(max(0, other))
		}
	}
	if h, ok := histogramOf(after.metrics, batchMetric); ok {
		hb, _ := histogramOf(before.metrics, batchMetric)
		d := h.sub(hb)
		bs := &batchSizes{Commits: d.count, Writes: d.sum, Buckets: []batchBucket{}}
		if d.count > 0 {
			bs.Mean = d.sum / d.count
		}
		prev := 0.0
		for _, b := range d.buckets {
			bs.Buckets = append(bs.Buckets, batchBucket{LE: formatLE(b.le), Commits: b.count - prev})
			prev = b.count
		}
		r.BatchSizes = bs
	}
	if ua, ok := promValue(after.metrics, updatesMetric, nil); ok {
		ub, _ := promValue(before.metrics, updatesMetric, nil)
		tr := &txRetries{Updates: ua - ub, ByCause: map[string]float64{}}
		for _, smp := range after.metrics {
			if smp.name != retriesMetric {
				continue
			}
			cause := smp.labels["cause"]
			was, _ := promValue(before.metrics, retriesMetric, map[string]string{"cause": cause})
			if d := smp.value - was; d > 0 {
				tr.ByCause[cause] = d
				tr.Retries += d
			}
		}
		ea, _ := promValue(after.metrics, exhaustedMetric, nil)
		eb, _ := promValue(before.metrics, exhaustedMetric, nil)
		tr.Exhausted = ea - eb
		if tr.Updates > 0 {
			tr.PerUpdate = tr.Retries / tr.Updates
		}
		r.Transactions = tr
	}
	if after.metrics != nil {
		r.JobBacklog = map[string]int{}
		for _, smp := range after.metrics {
			if smp.name == "offramp_job_queue_depth" && smp.value > 0 && smp.labels["state"] != "scheduled" {
				r.JobBacklog[smp.labels["kind"]+" "+smp.labels["state"]] += int(smp.value)
			}
		}
	}
	if r.Mode == "embedded" {
		r.WebhooksReceived = ptr(after.webhooks - before.webhooks)
	}
}

func (r *benchReport) addRaw(raw *rawResult) {
	r.Raw = raw
	if raw != nil && raw.PerSecond > 0 {
		r.RawRatio = ptr(r.PairsPerSecond / raw.PerSecond)
	}
}

// print writes the report: aligned "label  value" lines with stable labels,
// or JSON.
func (r *benchReport) print(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(label, format string, args ...any) {
		fmt.Fprintf(tw, "%s:\t"+format+"\n", append([]any{label}, args...)...)
	}
	where := "embedded server"
	if r.Mode == "base-url" {
		where = "server at " + r.Target
	}
	db := r.Database
	if db == "" {
		db = "unknown database"
	}
	run := fmt.Sprintf("%g s", r.DurationTarget)
	if r.PairsTarget > 0 {
		run = fmt.Sprintf("%d pairs", r.PairsTarget)
	}
	line("bench", "%d clients, %s, %d customers, %s on %s, %d CPUs%s", r.Concurrency, run, r.Customers, where, db, r.CPUs, flagsNote(r))
	if p := r.Preload; p != nil {
		line("preload", "%d payouts in %.1f s (%.0f payouts/s), %d customers", p.Payouts, p.Seconds, p.PerSecond, p.Customers)
	}
	if o := r.Onboarding; o != nil {
		line("onboarding", "%d customers, %d at once, in %.1f s; %d answers 503 (retried), %d 5xx in all", o.Customers, o.Concurrency, o.Seconds, o.Answers503, o.Answers5xx)
	}
	line("pairs", "%d completed, %d failed in %.2f s", r.Pairs, r.PairsFailed, r.Seconds)
	line("pairs/s", "%.1f", r.PairsPerSecond)
	for _, op := range benchOps {
		if l, ok := r.Latency[op]; ok {
			line("latency "+strings.ReplaceAll(op, "_", " "), "p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms  (%d calls)", l.P50, l.P90, l.P99, l.Max, l.Count)
		}
	}
	if r.FailuresTotal == 0 {
		line("failures", "none")
	} else {
		line("failures", "%d", r.FailuresTotal)
		for _, f := range r.Failures {
			fmt.Fprintf(tw, "\t%6d  %s\n", f.Count, f.Reason)
		}
	}
	if r.RetriedTotal == 0 {
		line("retried", "none")
	} else {
		line("retried", "%d", r.RetriedTotal)
		for _, f := range r.Retried {
			fmt.Fprintf(tw, "\t%6d  %s\n", f.Count, f.Reason)
		}
	}
	s := r.Server
	if s.CPUSeconds != nil {
		per := "no payout initiated"
		if s.CPUMsPerPayout != nil {
			per = fmt.Sprintf("%.2f ms per payout", *s.CPUMsPerPayout)
		}
		note := ""
		if r.Database == "postgres" {
			note = " (PostgreSQL's own CPU not included)"
		}
		line("server CPU", "%.2f s during the run, %s%s", *s.CPUSeconds, per, note)
	} else {
		line("server CPU", "unknown (no /proc entry, no process_cpu_seconds_total in /metrics)")
	}
	if s.PostgresCPUSeconds != nil {
		per := ""
		if s.PostgresCPUMsPerPayout != nil {
			per = fmt.Sprintf(", %.2f ms per payout", *s.PostgresCPUMsPerPayout)
		}
		line("PostgreSQL CPU", "%.2f s during the run%s (the scratch database's backends)", *s.PostgresCPUSeconds, per)
	}
	if s.RSSBytes != nil {
		peak := ""
		if s.RSSPeakBytes != nil {
			peak = fmt.Sprintf(" (peak %.1f MiB)", mib(*s.RSSPeakBytes))
		}
		line("server RSS", "%.1f MiB at the end%s", mib(*s.RSSBytes), peak)
	} else {
		line("server RSS", "unknown")
	}
	if r.ClientCPUSeconds != nil {
		line("client CPU", "%.2f s during the run", *r.ClientCPUSeconds)
	}
	if r.MachineCPUBusy != nil {
		split := ""
		if r.OtherCPUSeconds != nil {
			pg := ""
			if s.PostgresCPUSeconds != nil {
				pg = fmt.Sprintf(", PostgreSQL %.2f", *s.PostgresCPUSeconds)
			}
			split = fmt.Sprintf(": server %.2f, clients %.2f%s, other %.2f", *s.CPUSeconds, *r.ClientCPUSeconds, pg, *r.OtherCPUSeconds)
		}
		line("machine CPU busy", "%.0f%% of %d CPUs (%.2f CPU-s%s)", *r.MachineCPUBusy*100, r.CPUs, *r.MachineCPUSeconds, split)
	}
	if t := r.Transactions; t != nil {
		causes := make([]string, 0, len(t.ByCause))
		for c, n := range t.ByCause {
			causes = append(causes, fmt.Sprintf("%s %.0f", c, n))
		}
		sort.Strings(causes)
		detail := ""
		if len(causes) > 0 {
			detail = " (" + strings.Join(causes, ", ") + ")"
		}
		line("transactions", "%.0f write transactions, %.0f attempts run again%s: %.3f per transaction; %.0f out of retry budget",
			t.Updates, t.Retries, detail, t.PerUpdate, t.Exhausted)
	}
	if b := r.BatchSizes; b == nil {
		line("batch sizes", "not exported by this server")
	} else {
		var parts []string
		for _, k := range b.Buckets {
			if k.Commits > 0 {
				parts = append(parts, fmt.Sprintf("≤%s: %.0f", k.LE, k.Commits))
			}
		}
		line("batch sizes", "%.0f commits, mean %.2f writes per commit; %s", b.Commits, b.Mean, strings.Join(parts, "  "))
	}
	if raw := r.Raw; raw != nil {
		detail := fmt.Sprintf("sequential one-row INSERT commits, %s, in %s", raw.Settings, raw.Where)
		if raw.Engine == "postgres" {
			detail = fmt.Sprintf("one-row INSERT autocommits from %d connections, regular table, %s, on %s", raw.Connections, raw.Settings, raw.Where)
		}
		line("raw commit rate", "%.0f commits/s (%d commits in %.2f s; %s %s)", raw.PerSecond, raw.Commits, raw.Seconds, raw.Engine, detail)
		if r.RawRatio != nil {
			line("pairs/s ÷ raw rate", "%.3f", *r.RawRatio)
		}
	} else {
		line("raw commit rate", "not measured (with --base-url, give --db: the server's SQLite file or PostgreSQL URL)")
	}
	if r.HistoryCount != nil {
		line("payouts in history", "%d", *r.HistoryCount)
	}
	if r.WebhooksReceived != nil {
		line("webhooks received", "%d", *r.WebhooksReceived)
	}
	if r.JobBacklog != nil {
		if len(r.JobBacklog) == 0 {
			line("server job backlog", "none")
		} else {
			keys := make([]string, 0, len(r.JobBacklog))
			for k := range r.JobBacklog {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var parts []string
			for _, k := range keys {
				parts = append(parts, fmt.Sprintf("%s %d", k, r.JobBacklog[k]))
			}
			line("server job backlog", "%s", strings.Join(parts, ", "))
		}
	}
	return tw.Flush()
}

func flagsNote(r *benchReport) string {
	var f []string
	if r.Mix {
		f = append(f, "--mix")
	}
	if r.IdempotencyKeys {
		f = append(f, "--idempotency-keys")
	}
	if len(f) == 0 {
		return ""
	}
	return ", " + strings.Join(f, " ")
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
