package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/offramp/offramp/signature"
)

// createOperator makes a console account with the CLI.
func createOperator(t *testing.T, bin, db, email, role string) {
	t.Helper()
	cmd := exec.Command(bin, "admin", "operators", "create", "--db", db, "--email", email, "--role", role, "--password-stdin")
	cmd.Stdin = strings.NewReader("correct horse battery staple\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("operators create %s: %v\n%s", email, err, out)
	}
}

// consoleLogin signs in through the login form, starting from a page that
// needs a session (so the redirect to /login is part of it).
func consoleLogin(t *testing.T, ctx context.Context, console, email string) {
	t.Helper()
	if err := chromedp.Run(ctx,
		chromedp.Navigate(console+"/payouts"),
		chromedp.WaitVisible(`#email`, chromedp.ByQuery),
		chromedp.SendKeys(`#email`, email, chromedp.ByQuery),
		chromedp.SendKeys(`#password`, "correct horse battery staple", chromedp.ByQuery),
		chromedp.Click(`#sign-in`, chromedp.ByQuery),
		chromedp.WaitVisible(`input[name=q]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("login as %s: %v", email, err)
	}
}

// consoleAddr is the console's address from the server's log.
func consoleAddr(t *testing.T, s *serveProc) string {
	t.Helper()
	m := consoleLine.FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no console listening:\n%s", s.stderr)
	}
	return "http://" + m[1]
}

// apiCall is one signed GET, without testing.T: for a client running
// beside the test. It returns the HTTP status and the envelope's message.
func apiCall(base, path, key, secret string) (int, string, error) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("X-API-KEY", key)
	req.Header.Set("X-TIMESTAMP", ts)
	req.Header.Set("X-SIGNATURE", signature.Sign(key, secret, ts, []byte("{}")))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	var env struct {
		Message string `json:"message"`
	}
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
		return res.StatusCode, "", err
	}
	return res.StatusCode, env.Message, nil
}

// oldKeyClient calls the API with one key, over and over, as an
// exchange's running client would, until the key stops working.
type oldKeyClient struct {
	mu      sync.Mutex
	ok      int
	refused string // the first non-200 answer
	done    chan struct{}
}

func runClient(base, key, secret string) *oldKeyClient {
	c := &oldKeyClient{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			code, msg, err := apiCall(base, "/pos/api/v1/payout/configuration", key, secret)
			c.mu.Lock()
			if err == nil && code == http.StatusOK {
				c.ok++
				c.mu.Unlock()
				time.Sleep(20 * time.Millisecond) // a client's pace, not a timing assumption
				continue
			}
			c.refused = fmt.Sprintf("HTTP %d %s %v", code, msg, err)
			c.mu.Unlock()
			return
		}
	}()
	return c
}

func (c *oldKeyClient) state() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ok, c.refused
}

// TestConsoleKeyRotationInBrowser: an admin rotates an organization's API
// key in the console while a client keeps calling with the old key. The
// old key works until the moment it is revoked, the new one from the
// moment it is created; after the revocation the old key is refused with
// "Invalid API key" and the new one still works.
func TestConsoleKeyRotationInBrowser(t *testing.T) {
	ctx := browser(t)
	bin := binary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "offramp.db")
	s := startServe(t, bin, dir)
	console := consoleAddr(t, s)
	createOperator(t, bin, db, "ada@ops.example", "admin")

	client := runClient(s.base, s.key, s.secret)
	eventually(t, "the client's first calls with the original key", func() (bool, string) {
		n, refused := client.state()
		return n >= 3 || refused != "", fmt.Sprintf("%d calls, refused: %q", n, refused)
	})

	consoleLogin(t, ctx, console, "ada@ops.example")
	var orgURL string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(console+"/orgs"),
		chromedp.WaitVisible(`a[href^="/orgs/"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("organizations: %v", err)
	}
	shot(t, ctx, "orgs")
	if err := chromedp.Run(ctx,
		chromedp.Click(`a[href^="/orgs/"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`form#create-key`, chromedp.ByQuery),
		chromedp.Location(&orgURL),
	); err != nil {
		t.Fatalf("organization page: %v", err)
	}
	var newKey, newSecret string
	if err := chromedp.Run(ctx,
		chromedp.SendKeys(`form#create-key input[name=label]`, "rotation", chromedp.ByQuery),
		chromedp.Submit(`form#create-key`, chromedp.ByQuery),
		chromedp.WaitVisible(`#new-secret`, chromedp.ByQuery),
		chromedp.Text(`#new-key`, &newKey, chromedp.ByQuery),
		chromedp.Text(`#new-secret`, &newSecret, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("create a key: %v", err)
	}
	newKey, newSecret = strings.TrimSpace(newKey), strings.TrimSpace(newSecret)
	if newKey == "" || newSecret == "" || newKey == s.key {
		t.Fatalf("new key %q secret %q", newKey, newSecret)
	}
	shot(t, ctx, "org-key-created")

	// Both keys work now: the new one at once, and the client keeps
	// going on the old one.
	if code, msg, err := apiCall(s.base, "/pos/api/v1/payout/configuration", newKey, newSecret); err != nil || code != http.StatusOK {
		t.Fatalf("the new key: HTTP %d %s %v", code, msg, err)
	}
	n0, _ := client.state()
	eventually(t, "the client still calling with the old key after the new one exists", func() (bool, string) {
		n, refused := client.state()
		return n > n0+2 || refused != "", fmt.Sprintf("%d calls (had %d), refused: %q", n, n0, refused)
	})
	if _, refused := client.state(); refused != "" {
		t.Fatalf("the old key stopped working before it was revoked: %s", refused)
	}

	// The secret is shown once: the organization page does not show it.
	var page string
	if err := chromedp.Run(ctx, chromedp.Navigate(orgURL), chromedp.WaitVisible(`tr[id="key-`+s.key+`"]`, chromedp.ByQuery),
		chromedp.Text("body", &page, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page, newSecret) || strings.Contains(page, s.secret) {
		t.Fatal("the organization page shows a key's secret")
	}
	if err := chromedp.Run(ctx,
		chromedp.SendKeys(`tr[id="key-`+s.key+`"] form.revoke input[name=why]`, "rotated to the new key", chromedp.ByQuery),
		chromedp.Submit(`tr[id="key-`+s.key+`"] form.revoke`, chromedp.ByQuery),
		chromedp.WaitVisible(`#flash`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("revoke the old key: %v", err)
	}
	<-client.done
	okCalls, refused := client.state()
	if !strings.Contains(refused, "401") || !strings.Contains(refused, "Invalid API key") {
		t.Fatalf("the old key after revocation: %s", refused)
	}
	t.Logf("the old key answered %d calls before its revocation, then: %s", okCalls, refused)
	if code, msg, err := apiCall(s.base, "/pos/api/v1/payout/configuration", newKey, newSecret); err != nil || code != http.StatusOK {
		t.Fatalf("the new key after the revocation: HTTP %d %s %v", code, msg, err)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(orgURL), chromedp.WaitVisible(`tr[id="key-`+s.key+`"]`, chromedp.ByQuery),
		chromedp.Text(`tr[id="key-`+s.key+`"]`, &page, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, "ada@ops.example") {
		t.Fatalf("the revoked key's row does not name who revoked it: %q", page)
	}
	shot(t, ctx, "org")
	if err := chromedp.Run(ctx, chromedp.Navigate(console+"/operators"), chromedp.WaitVisible(`form#create-operator`, chromedp.ByQuery)); err != nil {
		t.Fatalf("operators page: %v", err)
	}
	shot(t, ctx, "operators")
	s.stop(t)
	verify, err := exec.Command(bin, "admin", "audit", "verify", "--db", db).CombinedOutput()
	if err != nil || !strings.Contains(string(verify), "intact") {
		t.Fatalf("audit verify: %v\n%s", err, verify)
	}
}

// TestConsoleSessionRulesInBrowser: a viewer finds a payout but is offered
// no action and is refused one posted by hand; a session idle past its
// limit sends the browser back to the login page.
func TestConsoleSessionRulesInBrowser(t *testing.T) {
	ctx := browser(t)
	bin := binary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "offramp.db")
	s := startServe(t, bin, dir, "--verify-delay", "200ms", "--rail-delay", "200ms", "--rail-timeout", "1s", "--settlement-deadline", "3s", "--job-lease", "12s")
	console := consoleAddr(t, s)
	createOperator(t, bin, db, "vic@ops.example", "viewer")
	ids := inReviewPayouts(t, s, 1)
	p := signedDo(t, s.base, "GET", "/pos/api/v1/payout/"+ids[0], s.key, s.secret, nil)
	ref := p["bank_reference"].(string)

	consoleLogin(t, ctx, console, "vic@ops.example")
	var forms int
	var body string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(console+"/payouts?q="+ref),
		chromedp.WaitVisible(`a[href="/payouts/`+ids[0]+`"]`, chromedp.ByQuery),
		chromedp.Click(`a[href="/payouts/`+ids[0]+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#timeline, h1`, chromedp.ByQuery),
		chromedp.Text("body", &body, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("form[action$='/proposals'], input[name=utr]").length`, &forms),
	); err != nil {
		t.Fatalf("the viewer finds the payout by bank reference: %v", err)
	}
	if !strings.Contains(body, "IN_REVIEW") {
		t.Fatalf("payout page:\n%s", body)
	}
	if forms != 0 {
		t.Fatalf("a viewer is offered %d action forms", forms)
	}
	heading := postForm(t, ctx, `"/payouts/`+ids[0]+`/proposals"`, `document.querySelector("input[name=csrf]").value`)
	if !strings.Contains(heading, "403") {
		t.Fatalf("a viewer's proposal posted by hand: %q", heading)
	}
	if got := signedDo(t, s.base, "GET", "/pos/api/v1/payout/"+ids[0], s.key, s.secret, nil); got["status"] != "IN_REVIEW" {
		t.Fatalf("after the viewer's attempt the payout is %v", got["status"])
	}

	// Idle past the limit: the session's last use is moved back in the
	// database (the server's own clock is not the test's to turn), and the
	// next page sends the browser to the login form.
	sdb, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(60000)")
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	res, err := sdb.Exec(`UPDATE operator_sessions SET last_seen_at = ?`, time.Now().Add(-24*time.Hour).UTC().Format("2006-01-02T15:04:05.000000Z"))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%d sessions, want the viewer's one", n)
	}
	var at string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(console+"/payouts/"+ids[0]),
		chromedp.WaitVisible(`#email`, chromedp.ByQuery),
		chromedp.Location(&at),
	); err != nil {
		t.Fatalf("an expired session: %v", err)
	}
	if !strings.Contains(at, "/login") {
		t.Fatalf("an expired session landed on %s", at)
	}
	shot(t, ctx, "login")
}
