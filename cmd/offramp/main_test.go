package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/offramp/offramp/rail"
	"github.com/offramp/offramp/signature"
	"github.com/offramp/offramp/sqlstore/pgtest"
)

// binary builds the offramp command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "offramp")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// syncBuffer is a bytes.Buffer that a process's output goroutine and the
// test can use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) WriteString(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(v)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveProc is an `offramp serve` process.
type serveProc struct {
	cmd    *exec.Cmd
	base   string
	key    string
	secret string
	stderr *syncBuffer
	stdout *syncBuffer
	// waitErr receives the process's exit status once, for a test that
	// kills the server and waits for it.
	waitErr chan error
	// exited is closed when the process has exited, exitErr set before.
	exited  chan struct{}
	exitErr error
}

var (
	// The credentials in the block that serve prints on standard output
	// when it creates a default organization (printCredentials); a line
	// counts once its newline has arrived.
	keyLine = regexp.MustCompile(`(?m)^\s+X-API-KEY\s+(\S+)\n`)
	secLine = regexp.MustCompile(`(?m)^\s+API secret\s+(\S+)\n`)
	// The log line written once both listeners are up, after the console's
	// and before the credentials.
	listenLine = regexp.MustCompile(`"msg":"offramp listening","addr":"([^"]+)"`)
)

// startServe runs `offramp serve` on a free port and waits until it answers.
func startServe(t *testing.T, bin, dataDir string, args ...string) *serveProc {
	t.Helper()
	return startServeEnv(t, bin, dataDir, []string{"OFFRAMP_MASTER_KEY="}, args...)
}

// startServeEnv is startServe with extra environment variables; later
// flags override the defaults (--db, for one). It returns once the log
// (stderr) holds the listen line, and so every line logged before it (the
// console's address), and, if serve creates a default organization (see
// printsCredentials), standard output holds the credentials. The two are
// copied from separate pipes, so either may arrive first: it waits for
// both, as long as the test's deadline allows, and fails at once if serve
// exits.
func startServeEnv(t *testing.T, bin, dataDir string, env []string, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--db", filepath.Join(dataDir, "offramp.db")}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	s := &serveProc{cmd: cmd, stderr: &syncBuffer{}, stdout: &syncBuffer{}, waitErr: make(chan error, 1), exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	wantCredentials := printsCredentials(t, cmd.Args[1:], cmd.Env)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		s.exitErr = err
		close(s.exited)
		s.waitErr <- err
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.exited // SIGKILL: the process is gone as soon as the kernel reaps it
	})
	s.eventually(t, "serve to start", func() (bool, string) {
		log, out := s.stderr.String(), s.stdout.String()
		if m := listenLine.FindStringSubmatch(log); m != nil {
			s.base = "http://" + m[1]
		}
		if m := keyLine.FindStringSubmatch(out); m != nil {
			s.key = m[1]
		}
		if m := secLine.FindStringSubmatch(out); m != nil {
			s.secret = m[1]
		}
		switch {
		case s.base == "":
			return false, "no listen address in the log:\n" + log
		case wantCredentials && (s.key == "" || s.secret == ""):
			return false, "listening, but no credentials on standard output yet:\n" + out
		}
		return true, ""
	})
	return s
}

// printsCredentials reports whether `offramp serve` with these arguments
// and environment is going to print a default organization's credentials:
// in the sandbox, on a database without an organization, where it creates
// one (server.Start, EnsureDefaultOrg). Knowing it, startServeEnv waits for
// the credentials exactly when they come, instead of guessing how long
// they may take after the listen line.
func printsCredentials(t *testing.T, args, env []string) bool {
	t.Helper()
	environment, db := "sandbox", ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "OFFRAMP_ENV="); ok && v != "" {
			environment = v
		}
		if v, ok := strings.CutPrefix(kv, "OFFRAMP_DB="); ok && v != "" {
			db = v
		}
	}
	for i, a := range args { // the last one wins, as with the flag package
		name, v, hasValue := strings.Cut(a, "=")
		if !hasValue && i+1 < len(args) {
			v = args[i+1]
		}
		switch name {
		case "--env":
			environment = v
		case "--db":
			db = v
		}
	}
	if environment != "sandbox" {
		return false
	}
	driver := "sqlite"
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		driver = "pgx"
	} else if _, err := os.Stat(db); errors.Is(err, os.ErrNotExist) {
		return true // a new SQLite file: no organization
	}
	conn, err := sql.Open(driver, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM orgs`).Scan(&n); err != nil {
		// Before the first migration there is no table of organizations.
		if msg := err.Error(); strings.Contains(msg, "no such table") || strings.Contains(msg, "does not exist") {
			return true
		}
		t.Fatalf("counting the organizations in %s: %v", db, err)
	}
	return n == 0
}

// stop sends SIGTERM and waits for a clean exit. The server drains within
// its own --shutdown-timeout; the test waits for that as long as its
// deadline allows (eventually), not for a fixed time.
func (s *serveProc) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s.waitExit(t, "serve to stop after SIGTERM")
	if s.exitErr != nil {
		t.Fatalf("serve exited with %v after SIGTERM:\n%s", s.exitErr, s.stderr)
	}
	if !strings.Contains(s.stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop in the log:\n%s", s.stderr)
	}
}

// kill ends the server with SIGKILL, no clean stop, and waits until it has
// exited.
func (s *serveProc) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	s.waitExit(t, "serve to exit after SIGKILL")
}

// waitExit waits (eventually) until the process has exited.
func (s *serveProc) waitExit(t *testing.T, what string) {
	t.Helper()
	eventually(t, what, func() (bool, string) {
		select {
		case <-s.exited:
			return true, ""
		default:
			return false, "still running; its log:\n" + s.stderr.String()
		}
	})
}

// testBinaryStart is when the test binary started: with t.Deadline it
// gives the length of `go test -timeout`, of which giveUpAt keeps a margin.
var testBinaryStart = time.Now()

// giveUpAt is when a wait in this package gives up: at the test binary's
// deadline (`go test -timeout`, 10 minutes by default) less a margin of a
// tenth of the timeout, at most 30 s, so that the wait fails with its own
// message and not with the timeout's panic dump. ok is false when there is
// no deadline (-timeout 0): then a wait never gives up.
func giveUpAt(t *testing.T) (at time.Time, ok bool) {
	d, ok := t.Deadline()
	if !ok {
		return time.Time{}, false
	}
	return d.Add(-min(d.Sub(testBinaryStart)/10, 30*time.Second)), true
}

// eventually waits for something the server under test does in its own
// time (a verification decided, a payout settled, a webhook delivered). It
// calls cond until cond reports done, pausing between calls: 10 ms at
// first, growing to 200 ms, to leave the CPU to the server. cond's second
// result says what it saw ("status PROCESSING"); it is only used in the
// failure message, which names what was awaited and the last observation.
//
// There is no fixed bound: on a loaded machine the server may take much
// longer than usual, and that is not a failure. eventually gives up only at
// the test's own deadline, see giveUpAt, with t.Fatalf; without a deadline
// (`go test -timeout 0`) it waits forever.
//
// Call it from the test's goroutine (it calls t.Fatalf). cond runs on that
// goroutine too and may call t.Fatal itself for an observation that no
// waiting will cure (a request error, a wrong final status). To also stop at
// once when the server under test exits, use s.eventually.
//
//	eventually(t, "payout SUCCESS after approval", func() (bool, string) {
//		got := signedDo(t, s.base, "GET", "/pos/api/v1/payout/"+id, s.key, s.secret, nil)
//		return got["status"] == "SUCCESS", fmt.Sprintf("payout %v", got)
//	})
func eventually(t *testing.T, what string, cond func() (done bool, last string)) {
	t.Helper()
	pollUntil(t, what, nil, cond)
}

// eventually is the package's eventually for a wait on the server s: it
// also fails at once, with the server's exit status and log, when s exits,
// instead of waiting for the deadline.
func (s *serveProc) eventually(t *testing.T, what string, cond func() (done bool, last string)) {
	t.Helper()
	pollUntil(t, what, s, cond)
}

// pollUntil is eventually; s, if not nil, is a server whose exit ends the
// wait.
func pollUntil(t *testing.T, what string, s *serveProc, cond func() (bool, string)) {
	t.Helper()
	var giveUp <-chan time.Time
	if at, ok := giveUpAt(t); ok {
		timer := time.NewTimer(time.Until(at))
		defer timer.Stop()
		giveUp = timer.C
	}
	var exited <-chan struct{}
	if s != nil {
		exited = s.exited
	}
	serverExited := func(last string) {
		t.Helper()
		t.Fatalf("waiting for %s: the server exited (%v); last: %s\nserver log:\n%s", what, s.exitErr, last, s.stderr)
	}
	last := "(not checked yet)"
	for pause := 10 * time.Millisecond; ; pause = min(pause*3/2, 200*time.Millisecond) {
		select {
		case <-exited:
			serverExited(last) // before cond, whose requests would fail without the log
		default:
		}
		var done bool
		if done, last = cond(); done {
			return
		}
		select {
		case <-exited:
			serverExited(last)
		case <-giveUp:
			t.Fatalf("gave up waiting for %s at the test's deadline (go test -timeout); last: %s", what, last)
		case <-time.After(pause):
		}
	}
}

func signedGet(t *testing.T, base, path, key, secret string) int {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("X-API-KEY", key)
	req.Header.Set("X-TIMESTAMP", ts)
	req.Header.Set("X-SIGNATURE", signature.Sign(key, secret, ts, []byte("{}")))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// TestServeFirstRunAndDollarPeClient runs the README's first command the way
// a newcomer does and then an exchange client written from DollarPe's docs,
// in Python, signing the way DollarPe's Python snippet does.
func TestServeFirstRunAndDollarPeClient(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	s := startServe(t, bin, dir, "--verify-delay", "300ms")
	if s.key == "" || s.secret == "" {
		t.Fatalf("first start printed no credentials:\n%s", s.stdout)
	}
	if strings.Contains(s.stderr.String(), s.secret) {
		t.Fatal("the API secret was written to the log")
	}
	if _, err := os.Stat(filepath.Join(dir, "master.key")); err != nil {
		t.Fatalf("sandbox master key not generated: %v", err)
	}
	if !strings.Contains(s.stderr.String(), "OFFRAMP_MASTER_KEY is not set") {
		t.Fatal("no warning about the generated master key")
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		res, err := http.Get(s.base + p)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, err, res)
		}
		res.Body.Close()
	}
	if code := signedGet(t, s.base, "/cms/api/v1/customer/list", s.key, s.secret); code != 200 {
		t.Fatalf("printed credentials do not work: %d", code)
	}

	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is required for the DollarPe client test")
		}
		t.Skip("python3 not installed")
	}
	client := exec.Command(py, "testdata/dollarpe_client.py", s.base, s.key, s.secret)
	// The script waits for the server with no bound of its own: it gives up
	// when the test does (OFFRAMP_TEST_DEADLINE, Unix seconds; empty: never).
	client.Env = append(os.Environ(), "OFFRAMP_TEST_DEADLINE=")
	if at, ok := giveUpAt(t); ok {
		client.Env = append(client.Env, fmt.Sprintf("OFFRAMP_TEST_DEADLINE=%.3f", float64(at.UnixNano())/1e9))
	}
	out, err := client.CombinedOutput()
	if err != nil {
		t.Fatalf("DollarPe-style client failed: %v\n%s\nserver log:\n%s", err, out, s.stderr)
	}
	t.Logf("python client: %s", bytes.TrimSpace(out))
	s.stop(t)

	// A second start reuses the database and prints no new credentials.
	s2 := startServe(t, bin, dir)
	if strings.Contains(s2.stdout.String(), "API secret") {
		t.Fatal("credentials printed again on the second start")
	}
	if code := signedGet(t, s2.base, "/cms/api/v1/customer/list", s.key, s.secret); code != 200 {
		t.Fatalf("credentials lost across restart: %d", code)
	}
	s2.stop(t)
}

// TestGuideFlowFromPython runs the nine steps of the payout integration
// guide from a client written in Python from the guide and DollarPe's API
// reference alone, then checks the books with the operator's command.
func TestGuideFlowFromPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is required for the guide flow test")
		}
		t.Skip("python3 not installed")
	}
	bin := binary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "offramp.db")
	other := exec.Command(bin, "admin", "create-org", "--name", "Other Exchange", "--db", db, "--json")
	other.Env = append(os.Environ(), "OFFRAMP_MASTER_KEY=")
	out, err := other.Output()
	if err != nil {
		t.Fatal(err)
	}
	var org2 map[string]string
	if err := json.Unmarshal(out, &org2); err != nil {
		t.Fatal(err)
	}
	// The database has an organization now, so serve prints none: use a
	// second one for the main client.
	main := exec.Command(bin, "admin", "create-org", "--name", "Guide Exchange", "--db", db, "--json")
	main.Env = other.Env
	out, err = main.Output()
	if err != nil {
		t.Fatal(err)
	}
	var org map[string]string
	if err := json.Unmarshal(out, &org); err != nil {
		t.Fatal(err)
	}
	// Quotation TTLs. A check that needs a live quotation (initiate, and
	// the error rows the server judges after expiry, such as the exchange
	// order in use) can be timing-free only if the TTL cannot pass between
	// creating the quotation and using it, however loaded the machine: so
	// this server's TTL is longer than any test run, and the script creates
	// each such quotation immediately before its check. The server offers no
	// way to expire a quotation early (no fake clock, no admin command), so
	// "Quotation has expired" runs on a second server of its own, below,
	// with a short TTL: the script polls its quotation until the server
	// reports it EXPIRED, however long that takes, instead of sleeping.
	s := startServe(t, bin, dir, "--verify-delay", "300ms", "--rail-delay", "500ms", "--quote-ttl", "24h")

	// The exchange's webhook receiver, written from DollarPe's Python
	// verification snippet.
	rcv := exec.Command(py, "testdata/webhook_receiver.py", org["api_key"], org["api_secret"])
	rcvOut := &syncBuffer{}
	pipe, err := rcv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(); err != nil {
		t.Fatal(err)
	}
	defer rcv.Process.Kill()
	sc := bufio.NewScanner(pipe)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "listening ") {
		t.Fatalf("receiver did not start: %q", sc.Text())
	}
	hookURL := "http://127.0.0.1:" + strings.TrimPrefix(sc.Text(), "listening ") + "/dollarpe"
	go func() {
		for sc.Scan() {
			rcvOut.WriteString(sc.Text() + "\n")
		}
	}()

	// The script waits for the server with no bound of its own: it gives up
	// when the test does (OFFRAMP_TEST_DEADLINE, Unix seconds; empty: never).
	clientEnv := append(os.Environ(), "OFFRAMP_TEST_DEADLINE=")
	if at, ok := giveUpAt(t); ok {
		clientEnv = append(clientEnv, fmt.Sprintf("OFFRAMP_TEST_DEADLINE=%.3f", float64(at.UnixNano())/1e9))
	}
	start := time.Now()
	client := exec.Command(py, "testdata/guide_client.py", s.base, org["api_key"], org["api_secret"], org2["api_key"], org2["api_secret"], hookURL)
	client.Env = clientEnv
	res, err := client.CombinedOutput()
	if err != nil {
		t.Fatalf("guide client failed: %v\n%s\nserver log:\n%s", err, res, s.stderr)
	}
	t.Logf("guide client (%s): %s", time.Since(start).Round(time.Millisecond), bytes.TrimSpace(res))

	// "Quotation has expired", on a short-TTL server with its own database
	// (so that the books checked below are the guide's alone); see the TTL
	// comment above.
	expirySrv := startServe(t, bin, t.TempDir(), "--verify-delay", "300ms", "--quote-ttl", "1s")
	expiry := exec.Command(py, "testdata/guide_client.py", "--expiry", expirySrv.base, expirySrv.key, expirySrv.secret)
	expiry.Env = clientEnv
	if res, err := expiry.CombinedOutput(); err != nil {
		t.Fatalf("guide client, quotation expiry: %v\n%s\nserver log:\n%s", err, res, expirySrv.stderr)
	} else {
		t.Logf("guide client, quotation expiry: %s", bytes.TrimSpace(res))
	}
	expirySrv.stop(t)

	// Every status change of the flow arrived, signed so that DollarPe's
	// verification accepts it.
	want := []string{`"type": "CUSTOMER", "event": "VERIFIED"`, `"type": "BANK", "event": "VERIFIED"`, `"type": "PAYOUT", "event": "SUCCESS"`, `"type": "PAYOUT", "event": "FAILED"`}
	s.eventually(t, "every status change at the webhook receiver", func() (bool, string) {
		got := rcvOut.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(normalizeJSONLines(got), w) {
				missing = w
			}
		}
		if strings.Contains(got, `"verified": false`) {
			t.Fatalf("receiver: a signature failed:\n%s", got)
		}
		return missing == "", fmt.Sprintf("receiver: missing %s:\n%s", missing, got)
	})
	s.stop(t)

	check := exec.Command(bin, "admin", "ledger", "check", "--db", db)
	check.Env = other.Env
	out, err = check.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ledger balanced") {
		t.Fatalf("ledger check: %v\n%s", err, out)
	}
	// The successful payout was linked and the 3333 one failed: no
	// receivable is open, and the crypto of the linked one is in the wallet.
	if !strings.Contains(string(out), "payouts with an unlinked exchange transfer: 0") || !regexp.MustCompile(`crypto_wallet\s+USDT\s+51\b`).Match(out) {
		t.Fatalf("unexpected books:\n%s", out)
	}
}

func TestAdminCreateOrgAndEnvironments(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "offramp.db")
	createOrg := func(env string) map[string]string {
		cmd := exec.Command(bin, "admin", "create-org", "--name", "Acme "+env, "--db", db, "--env", env, "--json")
		cmd.Env = append(os.Environ(), "OFFRAMP_MASTER_KEY=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("create-org %s: %v\n%s", env, err, stderr.String())
		}
		var m map[string]string
		dec := json.NewDecoder(bytes.NewReader(out))
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("create-org output is not JSON: %q", out)
		}
		if dec.More() {
			t.Fatalf("create-org printed more than one JSON object: %q", out)
		}
		for _, k := range []string{"org_id", "api_key", "api_secret", "env"} {
			if m[k] == "" {
				t.Fatalf("create-org output lacks %s: %q", k, out)
			}
		}
		if m["env"] != env {
			t.Fatalf("env = %q, want %q", m["env"], env)
		}
		return m
	}
	sb := createOrg("sandbox")
	prod := createOrg("production")

	js := exec.Command(bin, "admin", "js-signatures", "--org", sb["org_id"], "--allow=true", "--db", db)
	js.Env = append(os.Environ(), "OFFRAMP_MASTER_KEY=")
	if out, err := js.CombinedOutput(); err != nil || !strings.Contains(string(out), "allow_js_replacer_signatures=true") {
		t.Fatalf("js-signatures: %v %s", err, out)
	}
	bogus := exec.Command(bin, "admin", "js-signatures", "--org", "00000000-0000-0000-0000-000000000001", "--allow=true", "--db", db)
	bogus.Env = js.Env
	if out, err := bogus.CombinedOutput(); err == nil {
		t.Fatalf("js-signatures on an unknown org succeeded: %s", out)
	}

	s := startServe(t, bin, dir)
	if code := signedGet(t, s.base, "/cms/api/v1/customer/list", sb["api_key"], sb["api_secret"]); code != 200 {
		t.Fatalf("sandbox key on sandbox server: %d", code)
	}
	if code := signedGet(t, s.base, "/cms/api/v1/customer/list", prod["api_key"], prod["api_secret"]); code != 401 {
		t.Fatalf("production key on sandbox server: %d, want 401", code)
	}
	s.stop(t)

	// A production server needs a real master key; with the sandbox's key
	// file passed explicitly it runs, and only production keys work there.
	ps := startServe(t, bin, dir, "--env", "production", "--master-key-file", filepath.Join(dir, "master.key"))
	if code := signedGet(t, ps.base, "/cms/api/v1/customer/list", prod["api_key"], prod["api_secret"]); code != 200 {
		t.Fatalf("production key on production server: %d", code)
	}
	if code := signedGet(t, ps.base, "/cms/api/v1/customer/list", sb["api_key"], sb["api_secret"]); code != 401 {
		t.Fatalf("sandbox key on production server: %d, want 401", code)
	}
	ps.stop(t)
}

func TestMasterKeyRequired(t *testing.T) {
	bin := binary(t)
	// PostgreSQL has no directory for a key file: the key must be given.
	pg := exec.Command(bin, "migrate", "--db", "postgres://localhost/offramp")
	pg.Env = append(os.Environ(), "OFFRAMP_MASTER_KEY=")
	out, err := pg.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "OFFRAMP_MASTER_KEY is required with a PostgreSQL database") {
		t.Fatalf("want a clear error, got %v: %s", err, out)
	}
	cmd := exec.Command(bin, "migrate", "--db", filepath.Join(t.TempDir(), "p.db"), "--env", "production")
	cmd.Env = append(os.Environ(), "OFFRAMP_MASTER_KEY=")
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "OFFRAMP_MASTER_KEY is required in production") {
		t.Fatalf("production without a key: %v %s", err, out)
	}
}

func signedDo(t *testing.T, base, method, path, key, secret string, body map[string]any) map[string]any {
	t.Helper()
	ok, msg, data := signedCall(t, base, method, path, key, secret, body)
	if !ok {
		t.Fatalf("%s %s: %s", method, path, msg)
	}
	m, _ := data.(map[string]any) // nil when data is not an object
	return m
}

// signedCall sends a request signed like DollarPe's clients sign and
// returns the envelope's status, message and data.
func signedCall(t *testing.T, base, method, path, key, secret string, body map[string]any) (bool, string, any) {
	t.Helper()
	var raw []byte
	canon := []byte("{}") // a request without a body signs {}
	if body != nil {
		raw, _ = json.Marshal(body)
		var err error
		if canon, err = signature.Canonicalize(raw, signature.FormCompactASCII); err != nil {
			t.Fatal(err)
		}
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(raw))
	req.Header.Set("X-API-KEY", key)
	req.Header.Set("X-TIMESTAMP", ts)
	req.Header.Set("X-SIGNATURE", signature.Sign(key, secret, ts, canon))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var env struct {
		Status  bool   `json:"status"`
		Message string `json:"message"`
		Data    any    `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
		t.Fatalf("%s %s: %d %v", method, path, res.StatusCode, err)
	}
	return env.Status, env.Message, env.Data
}

// TestVerificationSurvivesKill kills the server (SIGKILL, no clean stop)
// while a KYC verification is pending; after a restart it still completes,
// because the pending work is a row in the database, not a timer in memory.
func TestVerificationSurvivesKill(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	s := startServe(t, bin, dir, "--verify-delay", "1s")
	c := signedDo(t, s.base, "POST", "/cms/api/v1/customer/create", s.key, s.secret, map[string]any{
		"full_name": "Kill Test", "email": "kill@example.com", "phone": "9876543210", "alpha_3_country_code": "IND"})
	id := c["id"].(string)
	k := signedDo(t, s.base, "POST", "/cms/api/v1/kyc/add-kyc-data", s.key, s.secret, map[string]any{
		"customer_id": id, "full_name": "Kill Test", "full_address": "1 Test Road", "dob": "01-01-1990",
		"registered_date": "01-01-2024", "tax_number": "ABCPK1234N", "document_type": "AADHAAR",
		"document_front_image_url": "https://x.example/f.jpg", "document_back_image_url": "https://x.example/b.jpg",
		"document_details": map[string]any{"document_number": "123412341234"}, "selfie_url": "https://x.example/s.jpg",
		"selfie_verification_status": true})
	if k["status"] != "PROCESSING" {
		t.Fatalf("KYC: %v", k)
	}
	s.kill(t)

	s2 := startServe(t, bin, dir)
	s2.eventually(t, "the customer VERIFIED after the restart", func() (bool, string) {
		got := signedDo(t, s2.base, "GET", "/cms/api/v1/customer/"+id, s.key, s.secret, nil)
		return got["status"] == "VERIFIED", fmt.Sprintf("customer still %v after restart", got["status"])
	})
	s2.stop(t)
}

// TestPayoutKilledMidFlight kills the server (SIGKILL) while its engine is
// inside the bank call of a payout (an account ending 4444: the bank takes
// the transfer and does not answer). After a restart the engine finds the
// recorded SUBMITTING phase, asks the bank instead of sending again, and
// the payout ends SUCCESS with exactly one submission at the bank.
func TestPayoutKilledMidFlight(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	args := []string{"--verify-delay", "200ms", "--rail-delay", "300ms", "--rail-timeout", "5s", "--job-lease", "12s"}
	s := startServe(t, bin, dir, args...)
	do := func(base, method, path string, body map[string]any) map[string]any {
		return signedDo(t, base, method, path, s.key, s.secret, body)
	}
	c := do(s.base, "POST", "/cms/api/v1/customer/create", map[string]any{"full_name": "Kill Test", "email": "kill@example.com", "phone": "9876543210", "alpha_3_country_code": "IND"})
	cust := c["id"].(string)
	do(s.base, "POST", "/cms/api/v1/kyc/add-kyc-data", map[string]any{
		"customer_id": cust, "full_name": "Kill Test", "full_address": "1 Test Road", "dob": "01-01-1990",
		"registered_date": "01-01-2024", "tax_number": "ABCPK1234N", "document_type": "AADHAAR",
		"document_front_image_url": "https://x.example/f.jpg", "document_back_image_url": "https://x.example/b.jpg",
		"document_details": map[string]any{"document_number": "123412341234"}, "selfie_url": "https://x.example/s.jpg",
		"selfie_verification_status": true})
	waitField := func(s *serveProc, path, field string, done func(any) bool) map[string]any {
		var got map[string]any
		s.eventually(t, path+" "+field, func() (bool, string) {
			got = do(s.base, "GET", path, nil)
			return done(got[field]), fmt.Sprintf("%s: %s still %v", path, field, got[field])
		})
		return got
	}
	waitField(s, "/cms/api/v1/customer/"+cust, "status", func(v any) bool { return v == "VERIFIED" })
	bank := do(s.base, "POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": "1234564444", "ifsc": "SBIN0001829"})["id"].(string)
	waitField(s, "/cms/api/v1/bank/"+cust+"/"+bank, "bank_account_status", func(v any) bool { return v == "VERIFIED" })
	q := do(s.base, "POST", "/pos/api/v1/payout/quotation", map[string]any{"asset": "USDT", "fiat": "INR", "sending_amount": "25", "customer_id": cust, "bank_id": bank})
	p := do(s.base, "POST", "/pos/api/v1/payout/initiate", map[string]any{"quotation_id": q["id"], "customer_id": cust, "exchange_order_id": "kill-order-1"})
	id := p["id"].(string)
	ref := "OFR" + strings.ReplaceAll(id, "-", "")

	// The bank's books (the sandbox bank's own SQLite file, which the
	// server shares) show when the bank has taken the transfer: the engine
	// recorded SUBMITTING before it called, and the call now waits for an
	// answer that never comes, up to --rail-timeout. Killing the server
	// then lands inside the call; no sleep guesses when that is. (Should a
	// loaded machine delay the kill past the 5 s the call waits, the
	// restart takes the timed-out call's path, an inquiry, and the checks
	// below still hold: the flag is the server's behaviour, not a bound on
	// the test.)
	bankBooks, err := rail.OpenSandbox(filepath.Join(dir, "sandbox-bank.db"), rail.SandboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bankBooks.Close()
	s.eventually(t, "the bank to take transfer "+ref, func() (bool, string) {
		n, err := bankBooks.Transfers(t.Context(), ref)
		if err != nil {
			t.Fatal(err)
		}
		return n == 1, fmt.Sprintf("%d transfers at the bank; payout %v", n, do(s.base, "GET", "/pos/api/v1/payout/"+id, nil)["status_detail"])
	})
	s.kill(t)

	s2 := startServe(t, bin, dir, args...)
	final := waitField(s2, "/pos/api/v1/payout/"+id, "status", func(v any) bool { return v != "PROCESSING" })
	if final["status"] != "SUCCESS" || final["utr"] == nil {
		t.Fatalf("after restart: %v", final)
	}
	s2.stop(t)

	calls, _ := bankBooks.SubmitCalls(t.Context(), ref)
	transfers, _ := bankBooks.Transfers(t.Context(), ref)
	if calls != 1 || transfers != 1 {
		t.Fatalf("bank saw %d submissions and holds %d transfers; want exactly 1 and 1", calls, transfers)
	}
}

// normalizeJSONLines rewrites each received body with its keys in a fixed
// order, so the test can look for "type" next to "event".
func normalizeJSONLines(out string) string {
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		var rec struct {
			Body map[string]any `json:"body"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil || rec.Body == nil {
			continue
		}
		fmt.Fprintf(&b, `"type": %q, "event": %q`+"\n", rec.Body["type"], rec.Body["event"])
	}
	return b.String()
}

// TestWebhooksSurviveKill: events whose delivery is pending when the server
// is killed (SIGKILL) are delivered after a restart, once each.
func TestWebhooksSurviveKill(t *testing.T) {
	var (
		mu        sync.Mutex
		healthy   bool
		attempts  = map[string]int{}
		delivered = map[string]int{}
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		id := r.Header.Get("X-WEBHOOK-ID")
		attempts[id]++
		if !healthy {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		delivered[id]++
	}))
	defer rcv.Close()

	bin := binary(t)
	dir := t.TempDir()
	args := []string{"--verify-delay", "200ms", "--job-lease", "12s"}
	s := startServe(t, bin, dir, args...)
	signedDo(t, s.base, "POST", "/org/api/v1/organizations/api-webhooks", s.key, s.secret, map[string]any{"webhook_url": rcv.URL + "/hooks"})
	for i := range 3 {
		c := signedDo(t, s.base, "POST", "/cms/api/v1/customer/create", s.key, s.secret, map[string]any{
			"full_name": "Hook Test", "email": fmt.Sprintf("hook%d@example.com", i), "phone": fmt.Sprintf("987654321%d", i), "alpha_3_country_code": "IND"})
		signedDo(t, s.base, "POST", "/cms/api/v1/kyc/add-kyc-data", s.key, s.secret, map[string]any{
			"customer_id": c["id"], "full_name": "Hook Test", "full_address": "1 Test Road", "dob": "01-01-1990",
			"registered_date": "01-01-2024", "tax_number": fmt.Sprintf("ABCPK123%dN", i), "document_type": "AADHAAR",
			"document_front_image_url": "https://x.example/f.jpg", "document_back_image_url": "https://x.example/b.jpg",
			"document_details": map[string]any{"document_number": fmt.Sprintf("12341234123%d", i)}, "selfie_url": "https://x.example/s.jpg",
			"selfie_verification_status": true})
	}
	// Wait until each event has failed once, then kill the server.
	s.eventually(t, "a first delivery attempt of each event", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(attempts) == 3, fmt.Sprintf("only %d events attempted", len(attempts))
	})
	s.kill(t)
	mu.Lock()
	healthy = true
	mu.Unlock()

	s2 := startServe(t, bin, dir, args...)
	s2.eventually(t, "the delivery of each event after the restart", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(delivered) == 3, fmt.Sprintf("after restart only %d of 3 events delivered", len(delivered))
	})
	// A little more time for a duplicate delivery to show up before the
	// stop. It can only make the test stricter, never fail it on a slow
	// machine: not a timing assertion.
	time.Sleep(500 * time.Millisecond)
	s2.stop(t)
	mu.Lock()
	defer mu.Unlock()
	for id, n := range delivered {
		if n != 1 {
			t.Fatalf("event %s delivered %d times", id, n)
		}
	}
}

// TestDemo runs `offramp demo` as a newcomer would, with no arguments: it
// must end with SUCCESS and a UTR. It takes seconds; how many is logged,
// not asserted (a loaded machine is slower). The demo's own give-up time,
// its --timeout flag (2 minutes by default), is part of what runs here: a
// newcomer's invocation, unchanged.
func TestDemo(t *testing.T) {
	bin := binary(t)
	start := time.Now()
	cmd := exec.Command(bin, "demo")
	cmd.Env = append(os.Environ(), "OFFRAMP_API_KEY=", "OFFRAMP_API_SECRET=", "OFFRAMP_BASE_URL=")
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("demo failed after %v: %v\n%s", took, err, out)
	}
	text := string(out)
	for i := 0; i <= 9; i++ {
		if !strings.Contains(text, fmt.Sprintf("\n%d. ", i)) {
			t.Fatalf("step %d missing from the demo's output:\n%s", i, text)
		}
	}
	if !regexp.MustCompile(`SUCCESS: the payout was paid, UTR \d{12}`).MatchString(text) || !strings.Contains(text, "webhook PAYOUT SUCCESS received and verified") {
		t.Fatalf("demo did not end with SUCCESS, a UTR and the webhook:\n%s", text)
	}
	t.Logf("demo took %v", took.Round(time.Millisecond))
}

// TestCLI drives the client commands against a server the way a script
// would, with --json, and checks the human output of one.
func TestCLI(t *testing.T) {
	bin := binary(t)
	s := startServe(t, bin, t.TempDir(), "--verify-delay", "200ms", "--rail-delay", "300ms")
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "OFFRAMP_BASE_URL="+s.base, "OFFRAMP_API_KEY="+s.key, "OFFRAMP_API_SECRET="+s.secret)
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("offramp %v: %v\n%s%s", args, err, out, ee.Stderr)
			}
			t.Fatal(err)
		}
		return out
	}
	js := func(args ...string) map[string]any {
		t.Helper()
		var m map[string]any
		out := run(append(args, "--json")...)
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("offramp %v --json: %q", args, out)
		}
		return m
	}
	// `offramp listen` receives, verifies and prints the webhooks of the run.
	listen := exec.Command(bin, "listen")
	listen.Env = append(os.Environ(), "OFFRAMP_BASE_URL="+s.base, "OFFRAMP_API_KEY="+s.key, "OFFRAMP_API_SECRET="+s.secret)
	heard := &syncBuffer{}
	listen.Stdout = heard
	listenErr, err := listen.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	defer listen.Process.Kill()
	if sc := bufio.NewScanner(listenErr); !sc.Scan() || !strings.HasPrefix(sc.Text(), "listening for webhooks at http://127.0.0.1:") {
		t.Fatalf("listen did not start: %q", sc.Text())
	}

	cu := js("customers", "create", "--name", "Cli User", "--email", "cli@example.com", "--phone", "9123456780")
	id := cu["id"].(string)
	js("kyc", "submit", "--customer", id, "--name", "Cli User", "--address", "1 Shell Street", "--dob", "01-01-1990", "--pan", "ABCPC1234K", "--document-number", "123443211234")
	waitJSON := func(what string, args []string, field, not string) map[string]any {
		var m map[string]any
		s.eventually(t, what+" no longer "+not, func() (bool, string) {
			m = js(args...)
			return m[field] != not, fmt.Sprintf("%s still %v", what, m[field])
		})
		return m
	}
	if m := waitJSON("KYC", []string{"customers", "get", id}, "status", "PROCESSING"); m["status"] != "VERIFIED" {
		t.Fatalf("KYC: %v", m)
	}
	bank := js("banks", "create", "--customer", id, "--account", "123456789012", "--ifsc", "SBIN0001829")["id"].(string)
	waitJSON("bank", []string{"banks", "get", id, bank}, "bank_account_status", "PROCESSING")
	q := js("quotations", "create", "--customer", id, "--bank", bank, "--amount", "25")
	p := js("payouts", "create", "--quotation", q["id"].(string), "--customer", id, "--order", "cli-order-1")
	watch := string(run("payouts", "watch", p["id"].(string), "--every", "100ms"))
	if !strings.Contains(watch, "SUCCESS") || !regexp.MustCompile(`utr\s+\d{12}`).MatchString(watch) {
		t.Fatalf("payouts watch:\n%s", watch)
	}
	if list := string(run("payouts", "list")); !strings.Contains(list, p["id"].(string)) || !strings.Contains(list, "SUCCESS") {
		t.Fatalf("payouts list:\n%s", list)
	}
	if r := js("rates", "--amount", "10"); r["asset"] != "USDT" {
		t.Fatalf("rates: %v", r)
	}
	s.eventually(t, "offramp listen to print CUSTOMER VERIFIED and PAYOUT SUCCESS", func() (bool, string) {
		got := heard.String()
		return strings.Contains(got, "CUSTOMER VERIFIED") && strings.Contains(got, "PAYOUT   SUCCESS"), "listen printed:\n" + got
	})
	if strings.Contains(heard.String(), "REJECTED") {
		t.Fatalf("listen rejected a webhook:\n%s", heard.String())
	}
	// A failing call exits non-zero with the API's message.
	cmd := exec.Command(bin, "customers", "get", "not-a-customer")
	cmd.Env = append(os.Environ(), "OFFRAMP_BASE_URL="+s.base, "OFFRAMP_API_KEY="+s.key, "OFFRAMP_API_SECRET="+s.secret)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Customer not found or access denied") {
		t.Fatalf("bad customer: %v %s", err, out)
	}
	s.stop(t)
}

// TestMain stops the throwaway PostgreSQL cluster the cluster test starts.
func TestMain(m *testing.M) { pgtest.Main(m) }
