package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts headless Chromium (Debian's package). Without it the test
// skips, except under CI=true, where it fails: .ci/run installs it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium on this machine; .ci/run installs Debian's chromium package")
		}
		t.Skip("no Chromium (apt-get install chromium)")
	}
	// The profile is not a t.TempDir: Chromium's helper processes can
	// still be writing to it after the browser is gone, which would fail
	// the test in TempDir's cleanup. It is removed best-effort instead.
	profile, err := os.MkdirTemp("", "offramp-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Headless,
		chromedp.DisableGPU, chromedp.Flag("disable-background-networking", true), chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	// The browser gives up with the test, not after a fixed time: on a
	// loaded machine a page can take long, and that is not a failure.
	cancelC := context.CancelFunc(func() {})
	if d, ok := t.Deadline(); ok {
		ctx, cancelC = context.WithDeadline(ctx, d.Add(-min(time.Until(d)/10, 30*time.Second)))
	}
	t.Cleanup(func() {
		// Close the browser properly (it waits for Chromium to exit)
		// before tearing the contexts down.
		_ = chromedp.Cancel(ctx)
		cancelC()
		cancelB()
		cancelA()
		_ = os.RemoveAll(profile)
	})
	return ctx
}

// shot saves a screenshot of the page under $OFFRAMP_SCREENSHOTS (the
// README's docs/console/ pictures come from here); nothing otherwise.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("OFFRAMP_SCREENSHOTS")
	if dir == "" {
		return
	}
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

var consoleLine = regexp.MustCompile(`"msg":"operator console listening","addr":"([^"]+)"`)

// TestConsoleInBrowser: two operators in a real browser against `offramp
// serve`: log in, find an IN_REVIEW payout by its exchange order id, open
// it, propose it paid; the proposer cannot approve it; an approver logs in
// and approves; the payout is SUCCESS with the UTR on the API. A POST
// without the CSRF token is refused; the console does not answer on the
// API port.
func TestConsoleInBrowser(t *testing.T) {
	ctx := browser(t)
	bin := binary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "offramp.db")
	s := startServe(t, bin, dir, "--verify-delay", "200ms", "--rail-delay", "200ms", "--rail-timeout", "1s", "--settlement-deadline", "3s", "--job-lease", "12s")
	console := consoleAddr(t, s)
	createOperator(t, bin, db, "olga@ops.example", "operator")
	createOperator(t, bin, db, "arun@ops.example", "approver")
	// Three payouts the bank never settles: a populated IN_REVIEW queue
	// for the pictures; the test settles the first.
	ids := inReviewPayouts(t, s, 3)
	p := signedDo(t, s.base, "GET", "/pos/api/v1/payout/"+ids[0], s.key, s.secret, nil)
	order := p["exchange_order_id"].(string)

	// The console is not on the API port.
	var apiBody string
	if err := chromedp.Run(ctx, chromedp.Navigate(s.base+"/login"), chromedp.Text("body", &apiBody)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(apiBody, "Sign in") {
		t.Fatal("the console answers on the API port")
	}

	login := func(email string) { t.Helper(); consoleLogin(t, ctx, console, email) }
	logout := func() {
		t.Helper()
		if err := chromedp.Run(ctx, chromedp.Submit(`form[action="/logout"]`, chromedp.ByQuery), chromedp.WaitVisible(`#email`, chromedp.ByQuery)); err != nil {
			t.Fatalf("logout: %v", err)
		}
	}

	login("olga@ops.example")
	shot(t, ctx, "payouts")
	var found string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(console+"/payouts?q="+order),
		chromedp.WaitVisible(`a[href="/payouts/`+ids[0]+`"]`, chromedp.ByQuery),
		chromedp.Click(`a[href="/payouts/`+ids[0]+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`input[name=utr]`, chromedp.ByQuery),
		chromedp.Text("body", &found),
	); err != nil {
		t.Fatalf("search by exchange order id: %v", err)
	}
	if !strings.Contains(found, "IN_REVIEW") || !strings.Contains(found, p["bank_reference"].(string)) {
		t.Fatalf("payout page lacks the status or the bank reference:\n%s", found)
	}
	shot(t, ctx, "payout")
	if err := chromedp.Run(ctx,
		chromedp.SendKeys(`input[name=utr]`, "512345678901", chromedp.ByQuery),
		chromedp.SendKeys(`form:has(input[value=paid]) textarea[name=why]`, "bank statement shows the credit", chromedp.ByQuery),
		chromedp.Click(`form:has(input[value=paid]) button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#flash, #error-message`, chromedp.ByQuery),
		chromedp.Text("main, body", &found, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("propose: %v", err)
	}
	if !strings.Contains(found, "Pending proposal") {
		t.Fatalf("after proposing:\n%s", found)
	}
	// The proposer is offered no approval, and one posted by hand (with a
	// valid CSRF token) is refused: another person must decide.
	var own, status string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(console+"/proposals"),
		chromedp.WaitVisible(`#pending`, chromedp.ByQuery),
		chromedp.Text(`#pending`, &own, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("proposals: %v", err)
	}
	shot(t, ctx, "proposals")
	if !strings.Contains(own, "yours: another approver decides") {
		t.Fatalf("the proposer's view of the proposal:\n%s", own)
	}
	status = postForm(t, ctx, `"/proposals/" + document.querySelector("#pending tr[id^=proposal-]").id.slice("proposal-".length) + "/approve"`,
		`document.querySelector("input[name=csrf]").value`)
	if got := signedDo(t, s.base, "GET", "/pos/api/v1/payout/"+ids[0], s.key, s.secret, nil); status != "403" || got["status"] != "IN_REVIEW" {
		t.Fatalf("the proposer's own approval: HTTP %s, payout %v", status, got["status"])
	}
	logout()

	login("arun@ops.example")
	if err := chromedp.Run(ctx,
		chromedp.Navigate(console+"/proposals"),
		chromedp.WaitVisible(`form[action$="/approve"]`, chromedp.ByQuery),
		chromedp.Click(`form[action$="/approve"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#flash`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("approve: %v", err)
	}
	eventually(t, "the payout SUCCESS with the approved UTR", func() (bool, string) {
		got := signedDo(t, s.base, "GET", "/pos/api/v1/payout/"+ids[0], s.key, s.secret, nil)
		return got["status"] == "SUCCESS" && got["utr"] == "512345678901", fmt.Sprintf("%v %v", got["status"], got["utr"])
	})
	// Found by its UTR now, with the whole story on its timeline.
	if err := chromedp.Run(ctx,
		chromedp.Navigate(console+"/payouts?q=512345678901"),
		chromedp.WaitVisible(`a[href="/payouts/`+ids[0]+`"]`, chromedp.ByQuery),
		chromedp.Click(`a[href="/payouts/`+ids[0]+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`h1`, chromedp.ByQuery),
		chromedp.Text("body", &found, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("search by UTR: %v", err)
	}
	for _, want := range []string{"SUCCESS", "IN_REVIEW", "512345678901", "olga@ops.example", "arun@ops.example"} {
		if !strings.Contains(found, want) {
			t.Fatalf("the payout page after the approval lacks %q:\n%s", want, found)
		}
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(console+"/"), chromedp.WaitReady("body", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "overview")
	var ledger string
	if err := chromedp.Run(ctx, chromedp.Navigate(console+"/ledger"), chromedp.WaitReady("body", chromedp.ByQuery),
		chromedp.Text("main", &ledger, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ledger, "Books reconcile") {
		t.Fatalf("the ledger page after the approval:\n%s", ledger)
	}
	shot(t, ctx, "ledger")
	if err := chromedp.Run(ctx, chromedp.Navigate(console+"/audit"), chromedp.WaitReady("body", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "audit")

	// A form posted with a wrong CSRF token is refused.
	if err := chromedp.Run(ctx, chromedp.Navigate(console+"/proposals"), chromedp.WaitVisible(`#pending`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if status := postForm(t, ctx, `"/logout"`, `"wrong"`); !strings.Contains(status, "403") {
		t.Fatalf("POST with a wrong CSRF token: %s", status)
	}
	s.stop(t)

	verify, err := exec.Command(bin, "admin", "audit", "verify", "--db", db).CombinedOutput()
	if err != nil || !strings.Contains(string(verify), "intact") {
		t.Fatalf("audit verify: %v\n%s", err, verify)
	}
}

// postForm submits a form built in the page (the console's Content
// Security Policy allows forms to itself, not scripts' requests) to the
// path and csrf JavaScript expressions, and returns the heading of the
// error page it lands on ("" when it lands elsewhere).
func postForm(t *testing.T, ctx context.Context, pathJS, csrfJS string) string {
	t.Helper()
	var heading string
	if err := chromedp.Run(ctx,
		chromedp.Evaluate(`(() => {
			const f = document.createElement("form");
			f.method = "post"; f.action = `+pathJS+`;
			const c = document.createElement("input");
			c.type = "hidden"; c.name = "csrf"; c.value = `+csrfJS+`;
			f.appendChild(c); document.body.appendChild(f); f.submit(); return true;
		})()`, nil),
		chromedp.WaitVisible(`#error-message`, chromedp.ByQuery),
		chromedp.Text(`h1`, &heading, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("posting a form: %v", err)
	}
	return heading
}
