package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// childServer is the embedded server: `offramp serve` as a child process.
type childServer struct {
	cmd               *exec.Cmd
	url               string
	logPath           string
	apiKey, apiSecret string
	exited            chan struct{}
	waitErr           error
	stopped           atomic.Bool
	stopErr           error
}

// startChild runs `bin serve` on a free 127.0.0.1 port in the sandbox, on
// dsn, with daily limits and rate limits out of the way and no operator
// console, and waits until it is ready. Its log goes to server.log in dir;
// extra flags come last, so they win.
func startChild(ctx context.Context, bin, dir, dsn string, masterKey []byte, extra []string, logLevel string) (*childServer, error) {
	addr, err := benchFreeAddr()
	if err != nil {
		return nil, err
	}
	const noLimit = "1000000000000" // ₹1,00,00,00,00,000: no bench reaches it
	args := []string{"serve", "--addr", addr, "--admin-addr=", "--db", dsn, "--env", "sandbox",
		"--sandbox-bank-db", filepath.Join(dir, "sandbox-bank.db"), "--daily-limit", noLimit, "--edd-daily-limit", noLimit,
		"--log-level", logLevel, "--log-format", "json", "--shutdown-timeout", "10s", "--key-rate-limit", "inf", "--global-rate-limit", "inf"}
	args = append(args, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	// The server reads every flag from an OFFRAMP_* variable too: only
	// the master key passes, so the caller's settings cannot leak in.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OFFRAMP_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "OFFRAMP_MASTER_KEY="+base64.StdEncoding.EncodeToString(masterKey))
	cmd.SysProcAttr = benchSysProcAttr()
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the server (%s): %w", bin, err)
	}
	c := &childServer{cmd: cmd, url: "http://" + addr, logPath: logPath, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	if err := c.waitReady(ctx); err != nil {
		_ = c.stop()
		if tail := c.logTail(20); tail != "" {
			err = fmt.Errorf("%w\nlast lines of the server's log:\n%s", err, tail)
		}
		return nil, err
	}
	return c, nil
}

func benchFreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (c *childServer) pid() int { return c.cmd.Process.Pid }

// waitReady polls /readyz until it answers 200, the server exits or five
// minutes have passed (a generous bound for a loaded machine).
func (c *childServer) waitReady(ctx context.Context) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	giveUp := time.Now().Add(5 * time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/readyz", nil)
		if res, err := hc.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-c.exited:
			return fmt.Errorf("the server exited before it was ready: %v", c.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(giveUp) {
			return errors.New("the server was not ready after five minutes")
		}
	}
}

// stop asks the server to drain and stop (SIGTERM), and kills it if it is
// still there after 30 s. It reports an unclean exit.
func (c *childServer) stop() error {
	if c.stopped.Swap(true) {
		return c.stopErr
	}
	select {
	case <-c.exited:
	default:
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
			c.stopErr = errors.New("the server did not stop within 30 s of SIGTERM: killed")
			return c.stopErr
		}
	}
	if c.waitErr != nil {
		c.stopErr = fmt.Errorf("the server exited with %v", c.waitErr)
	}
	return c.stopErr
}

// logTail is the last n lines of the server's log.
func (c *childServer) logTail(n int) string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// procSample is a process's CPU time and memory, from /proc.
type procSample struct {
	cpuSeconds float64
	rssBytes   int64
	hwmBytes   int64 // peak resident memory
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on
// every Linux platform Go supports (Prometheus' process collector assumes
// it too).
const clockTicks = 100

// procStats reads /proc/<pid>/stat (utime, stime) and /proc/<pid>/status
// (VmRSS, VmHWM).
func procStats(pid int) (procSample, error) {
	cpu, err := procCPU(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procSample{}, err
	}
	p := procSample{cpuSeconds: cpu}
	for line := range strings.Lines(string(st)) {
		name, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) < 1 {
			continue
		}
		kb, _ := strconv.ParseInt(f[0], 10, 64)
		switch name {
		case "VmRSS":
			p.rssBytes = kb * 1024
		case "VmHWM":
			p.hwmBytes = kb * 1024
		}
	}
	return p, nil
}

// procCPU is utime + stime of a /proc/.../stat file, in seconds.
func procCPU(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: the fields
	// counted are those after its closing parenthesis, from the state
	// (field 3); utime and stime are fields 14 and 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	return float64(ut+st) / clockTicks, nil
}

// selfCPU is this process's CPU time in seconds (-1 if unknown).
func selfCPU() float64 {
	v, err := procCPU("/proc/self/stat")
	if err != nil {
		return -1
	}
	return v
}

// cpuTimes is the machine's CPU time from /proc/stat, in ticks.
type cpuTimes struct{ busy, total int64 }

// machineCPU reads the first line of /proc/stat (zero if unknown).
func machineCPU() cpuTimes {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return cpuTimes{}
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 5 || fields[0] != "cpu" {
		return cpuTimes{}
	}
	var t cpuTimes
	// user nice system idle iowait irq softirq steal (guest time is
	// already in user).
	for i, v := range fields[1:min(len(fields), 9)] {
		n, _ := strconv.ParseInt(v, 10, 64)
		t.total += n
		if i != 3 && i != 4 { // idle, iowait
			t.busy += n
		}
	}
	return t
}

// benchSnapshot is what is compared before and after the run.
type benchSnapshot struct {
	at       time.Time
	proc     *procSample // the embedded server, from /proc
	metrics  []promSample
	self     float64
	machine  cpuTimes
	webhooks int64
	// pg is the CPU time of the scratch database's PostgreSQL backends,
	// by pid (nil unless the server is local).
	pg map[int]float64
}

// promSample is one sample of the Prometheus text format.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseProm reads the Prometheus text exposition format: one sample per
// line, `name{label="value",...} value [timestamp]`; comments skipped.
func parseProm(text string) []promSample {
	var out []promSample
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		s := promSample{labels: map[string]string{}}
		i := strings.IndexAny(line, "{ ")
		if i < 0 {
			continue
		}
		s.name, line = line[:i], line[i:]
		if line[0] == '{' {
			rest, ok := parseLabels(line[1:], s.labels)
			if !ok {
				continue
			}
			line = rest
		}
		f := strings.Fields(line)
		if len(f) < 1 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		s.value = v
		out = append(out, s)
	}
	return out
}

// parseLabels reads `a="x",b="y"}` into m and returns what follows the
// closing brace.
func parseLabels(s string, m map[string]string) (string, bool) {
	for {
		s = strings.TrimLeft(s, " ,")
		if strings.HasPrefix(s, "}") {
			return s[1:], true
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return "", false
		}
		name := strings.TrimSpace(s[:eq])
		s = s[eq+2:]
		var b strings.Builder
		closed := false
		for i := 0; i < len(s); i++ {
			switch c := s[i]; c {
			case '\\':
				if i+1 < len(s) {
					i++
					if s[i] == 'n' {
						b.WriteByte('\n')
					} else {
						b.WriteByte(s[i])
					}
				}
			case '"':
				m[name] = b.String()
				s, closed = s[i+1:], true
			default:
				b.WriteByte(c)
			}
			if closed {
				break
			}
		}
		if !closed {
			return "", false
		}
	}
}

// promValue sums the samples named name whose labels include want.
func promValue(samples []promSample, name string, want map[string]string) (float64, bool) {
	var sum float64
	found := false
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for k, v := range want {
			if s.labels[k] != v {
				continue next
			}
		}
		sum += s.value
		found = true
	}
	return sum, found
}

// promHistogram is a histogram summed over its label sets other than le.
type promHistogram struct {
	count, sum float64
	buckets    []promBucket // cumulative, by bound
}

type promBucket struct {
	le    float64
	count float64
}

func histogramOf(samples []promSample, name string) (promHistogram, bool) {
	var h promHistogram
	count, ok := promValue(samples, name+"_count", nil)
	if !ok {
		return h, false
	}
	h.count = count
	h.sum, _ = promValue(samples, name+"_sum", nil)
	byLE := map[float64]float64{}
	for _, s := range samples {
		if s.name != name+"_bucket" {
			continue
		}
		le, err := strconv.ParseFloat(s.labels["le"], 64)
		if err != nil {
			continue
		}
		byLE[le] += s.value
	}
	for le, c := range byLE {
		h.buckets = append(h.buckets, promBucket{le: le, count: c})
	}
	sort.Slice(h.buckets, func(i, j int) bool { return h.buckets[i].le < h.buckets[j].le })
	return h, true
}

// sub is h - before, bucket by bucket (a bucket missing before counts 0).
func (h promHistogram) sub(before promHistogram) promHistogram {
	out := promHistogram{count: h.count - before.count, sum: h.sum - before.sum}
	prev := map[float64]float64{}
	for _, b := range before.buckets {
		prev[b.le] = b.count
	}
	for _, b := range h.buckets {
		out.buckets = append(out.buckets, promBucket{le: b.le, count: b.count - prev[b.le]})
	}
	return out
}

// formatLE writes a bucket bound as Prometheus does.
func formatLE(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'g', -1, 64)
}

// webhookReceiver answers every webhook with 200 and counts them, as a
// well-behaved exchange would (without checking signatures, to spend
// little CPU).
type webhookReceiver struct {
	url   string
	count atomic.Int64
	srv   *http.Server
}

func startWebhookReceiver() (*webhookReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &webhookReceiver{url: "http://" + ln.Addr().String() + "/webhooks"}
	r.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.count.Add(1)
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *webhookReceiver) close() { _ = r.srv.Close() }
