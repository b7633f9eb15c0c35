package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/idcheck/cashfree/cashfreeidfake"
	"github.com/offramp/offramp/rail/cashfree/cashfreefake"
	"github.com/offramp/offramp/rail/razorpayx/razorpayxfake"
	"github.com/offramp/offramp/rates/ratesfake"
)

// TestProductionGuideAgainstFakes runs the integration guide with
// `offramp serve --env production` against fakes of the providers' HTTP
// APIs (RazorpayX payouts and fund account validation, Cashfree Secure ID,
// WazirX and CoinDCX), configured only through the documented OFFRAMP_*
// names, and driven by a DollarPe-style signed client: KYC VERIFIED by the
// PAN check, bank VERIFIED by the account validation, a rate from the
// markets' median, a payout SUCCESS with the provider's UTR; a reversal
// ends FAILED REVERSED_BY_BANK; a rejected transfer ends FAILED with the
// mapped reason; a lost create response makes exactly one provider payout;
// the ledger check passes.
func TestProductionGuideAgainstFakes(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "offramp.db")
	clk := offramp.SystemClock{}
	wazirxURL, coindcxURL := startMarkets(t)

	ids := httptest.NewServer(cashfreeidfake.New("cf_client", "cf_secret_value"))
	t.Cleanup(ids.Close)

	// The server's port is chosen first: the provider's webhooks go there.
	addr := freeAddr(t)
	// Settle and ReverseAfter are when the fake provider moves a transfer
	// on (no sooner): the test waits for the outcomes, however much later
	// they arrive, so they are not timing assertions.
	rzp, err := razorpayxfake.NewServer(razorpayxfake.Options{
		KeyID: "rzp_live_key", KeySecret: "rzp_secret_value", AccountNumber: "2323230041626905", Clock: clk,
		Settle: 300 * time.Millisecond, ReverseAfter: time.Second,
		WebhookURL: "http://" + addr + "/rails/razorpayx/webhook", WebhookSecret: "rzp_webhook_secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rzp.Close)

	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32))
	envVars := []string{
		"OFFRAMP_MASTER_KEY=" + key,
		"OFFRAMP_RAZORPAYX_KEY_ID=rzp_live_key", "OFFRAMP_RAZORPAYX_KEY_SECRET=rzp_secret_value",
		"OFFRAMP_RAZORPAYX_ACCOUNT_NUMBER=2323230041626905", "OFFRAMP_RAZORPAYX_WEBHOOK_SECRET=rzp_webhook_secret",
		"OFFRAMP_RAZORPAYX_BASE_URL=" + rzp.URL,
		"OFFRAMP_CASHFREE_CLIENT_ID=cf_client", "OFFRAMP_CASHFREE_CLIENT_SECRET=cf_secret_value",
		"OFFRAMP_CASHFREE_VERIFICATION_BASE_URL=" + ids.URL + "/verification",
		"OFFRAMP_WAZIRX_BASE_URL=" + wazirxURL, "OFFRAMP_COINDCX_BASE_URL=" + coindcxURL,
	}

	org := createProductionOrg(t, bin, db, envVars)

	check := exec.Command(bin, "admin", "check-providers", "--env", "production", "--rail", "razorpayx",
		"--kyc-verifier", "cashfree", "--bank-verifier", "razorpayx", "--rate-sources", "wazirx,coindcx")
	check.Env = append(os.Environ(), envVars...)
	checked, err := check.CombinedOutput()
	if err != nil || strings.Count(string(checked), "ok ") != 3 {
		t.Fatalf("check-providers: %v\n%s", err, checked)
	}
	for _, secret := range []string{"rzp_secret_value", "cf_secret_value", "rzp_webhook_secret"} {
		if strings.Contains(string(checked), secret) {
			t.Fatalf("check-providers printed a secret:\n%s", checked)
		}
	}

	s := startServeEnv(t, bin, dir, envVars, "--env", "production", "--addr", addr,
		"--rail", "razorpayx", "--kyc-verifier", "cashfree", "--bank-verifier", "razorpayx", "--rate-sources", "wazirx,coindcx",
		"--rate-spread", "0.5", "--verify-delay", "100ms", "--rail-delay", "200ms")
	lc := newLive(t, s, org, func() { _, _ = rzp.Flush(context.Background()) })
	cust := lc.onboard("Asha Verma", "ABCPA5678K")
	bank := func(account string) string { return lc.bank(cust, account, "Asha Verma") }
	pay := func(bankID string, amount int, order string) string { return lc.pay(cust, bankID, amount, order) }
	wait := lc.wait
	rate := lc.do("GET", "/pos/api/v1/payout/fetch-rate?asset=USDT&fiat=INR", nil)
	// The median of 88.40 and 88.60 is 88.50; less the 0.5 % spread: 88.0575.
	if got, _ := json.Marshal(rate); !strings.Contains(string(got), "88.0575") {
		t.Fatalf("rate: %s", got)
	}

	okBank := bank("50100200301")
	paid := wait("/pos/api/v1/payout/"+pay(okBank, 20, "live-1"), "status", func(v any) bool { return v != "PROCESSING" })
	ref, _ := paid["bank_reference"].(string)
	held, found := rzp.Payout(ref)
	if paid["status"] != "SUCCESS" || !found || paid["utr"] != held.UTR || rzp.PayoutCount(ref) != 1 {
		t.Fatalf("payout: %v (provider: %+v)", paid, held)
	}

	reversed := wait("/pos/api/v1/payout/"+pay(bank("50100207777"), 21, "live-2"), "status", is("FAILED"))
	if reversed["failure_reason"] != offramp.ReasonReversedByBank || reversed["utr"] == nil {
		t.Fatalf("reversal: %v", reversed)
	}

	rejected := wait("/pos/api/v1/payout/"+pay(bank("50100203333"), 22, "live-3"), "status", is("FAILED"))
	if rejected["failure_reason"] != "BENEFICIARY_BANK_REJECTED" {
		t.Fatalf("rejected: %v", rejected)
	}

	// The create call commits at RazorpayX but its answer is lost: the
	// engine finds the payout by its reference instead of paying again.
	rzp.QueueFaults(razorpayxfake.OpCreatePayout, razorpayxfake.DropAfterCommit)
	lost := wait("/pos/api/v1/payout/"+pay(okBank, 23, "live-4"), "status", is("SUCCESS"))
	if n := rzp.PayoutCount(lost["bank_reference"].(string)); n != 1 {
		t.Fatalf("a lost create answer made %d provider payouts", n)
	}

	lc.finish(bin, db, envVars, "rzp_secret_value", "cf_secret_value", "rzp_webhook_secret")
}

// startMarkets serves WazirX at 88.40 and CoinDCX at 88.60 for USDT/INR.
func startMarkets(t *testing.T) (wazirxURL, coindcxURL string) {
	t.Helper()
	clk := offramp.SystemClock{}
	wazirx, coindcx := ratesfake.NewWazirX(clk), ratesfake.NewCoinDCX(clk)
	wazirx.SetPrice("USDT", "88.40", "88.40")
	coindcx.SetPrice("USDT", "88.60", "88.60")
	wazirxURL, coindcxURL = wazirx.Start(), coindcx.Start()
	t.Cleanup(wazirx.Close)
	t.Cleanup(coindcx.Close)
	return wazirxURL, coindcxURL
}

// createProductionOrg creates a production organization and returns its
// credentials.
func createProductionOrg(t *testing.T, bin, db string, envVars []string) map[string]string {
	t.Helper()
	create := exec.Command(bin, "admin", "create-org", "--name", "Live Exchange", "--db", db, "--env", "production", "--json")
	create.Env = append(os.Environ(), envVars...)
	out, err := create.Output()
	if err != nil {
		t.Fatalf("create-org: %v", err)
	}
	var org map[string]string
	if err := json.Unmarshal(out, &org); err != nil {
		t.Fatalf("create-org: %q", out)
	}
	return org
}

// freeAddr picks a free port on 127.0.0.1 for the server, so the
// providers' fakes can be told where to send webhooks before it starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// live drives a production server the way an exchange would.
type live struct {
	t     *testing.T
	s     *serveProc
	flush func() // delivers the provider's pending webhooks
}

func is(want string) func(any) bool { return func(v any) bool { return v == want } }

// newLive waits until /readyz is 200: the markets' prices are fresh and
// every provider answered its check.
func newLive(t *testing.T, s *serveProc, org map[string]string, flush func()) *live {
	t.Helper()
	s.key, s.secret = org["api_key"], org["api_secret"]
	s.eventually(t, "/readyz 200", func() (bool, string) {
		res, err := http.Get(s.base + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		body := new(bytes.Buffer)
		body.ReadFrom(res.Body)
		res.Body.Close()
		return res.StatusCode == 200, fmt.Sprintf("/readyz: %d %s", res.StatusCode, body)
	})
	return &live{t: t, s: s, flush: flush}
}

func (l *live) do(method, path string, body map[string]any) map[string]any {
	l.t.Helper()
	return signedDo(l.t, l.s.base, method, path, l.s.key, l.s.secret, body)
}

func (l *live) wait(path, field string, done func(any) bool) map[string]any {
	l.t.Helper()
	var got map[string]any
	l.s.eventually(l.t, path+" "+field, func() (bool, string) {
		l.flush()
		got = l.do("GET", path, nil)
		return done(got[field]), fmt.Sprintf("%s: %s still %v (%v)", path, field, got[field], got)
	})
	return got
}

// onboard creates a customer and submits KYC with a PAN; it waits for
// VERIFIED.
func (l *live) onboard(name, pan string) string {
	l.t.Helper()
	c := l.do("POST", "/cms/api/v1/customer/create", map[string]any{"full_name": name, "email": strings.ReplaceAll(strings.ToLower(name), " ", ".") + "@example.com", "phone": "9876543210", "alpha_3_country_code": "IND"})
	cust := c["id"].(string)
	l.do("POST", "/cms/api/v1/kyc/add-kyc-data", map[string]any{
		"customer_id": cust, "full_name": name, "full_address": "12 MG Road, Bengaluru", "dob": "01-02-1990",
		"registered_date": "01-01-2024", "tax_number": pan, "document_type": "AADHAAR",
		"document_front_image_url": "https://x.example/f.jpg", "document_back_image_url": "https://x.example/b.jpg",
		"document_details": map[string]any{"document_number": "123412341234"}, "selfie_url": "https://x.example/s.jpg",
		"selfie_verification_status": true})
	l.wait("/cms/api/v1/customer/"+cust, "status", is("VERIFIED"))
	return cust
}

// bank adds a bank account and waits for VERIFIED.
func (l *live) bank(cust, account, holder string) string {
	l.t.Helper()
	b := l.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": account, "ifsc": "HDFC0001234", "account_name": holder})["id"].(string)
	l.wait("/cms/api/v1/bank/"+cust+"/"+b, "bank_account_status", is("VERIFIED"))
	return b
}

// pay quotes and initiates a payout and returns its id.
func (l *live) pay(cust, bankID string, amount int, order string) string {
	l.t.Helper()
	q := l.do("POST", "/pos/api/v1/payout/quotation", map[string]any{"asset": "USDT", "fiat": "INR", "sending_amount": amount, "customer_id": cust, "bank_id": bankID})
	return l.do("POST", "/pos/api/v1/payout/initiate", map[string]any{"quotation_id": q["id"], "customer_id": cust, "exchange_order_id": order})["id"].(string)
}

// finish stops the server, runs the ledger check and makes sure no secret
// reached the log.
func (l *live) finish(bin, db string, envVars []string, secrets ...string) {
	l.t.Helper()
	l.s.stop(l.t)
	ledger := exec.Command(bin, "admin", "ledger", "check", "--db", db)
	ledger.Env = append(os.Environ(), envVars...)
	if out, err := ledger.CombinedOutput(); err != nil || !strings.Contains(string(out), "ledger balanced") {
		l.t.Fatalf("ledger check: %v\n%s", err, out)
	}
	for _, secret := range secrets {
		if strings.Contains(l.s.stderr.String(), secret) || strings.Contains(l.s.stdout.String(), secret) {
			l.t.Fatalf("a provider secret reached the server's output")
		}
	}
}

// TestProductionCashfreeAgainstFakes is the same guide with Cashfree for
// everything: PAN and bank account verification (Secure ID) and payouts,
// the provider's outcomes forced on its fake and reported by its signed
// webhooks.
func TestProductionCashfreeAgainstFakes(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "offramp.db")
	wazirxURL, coindcxURL := startMarkets(t)
	ids := httptest.NewServer(cashfreeidfake.New("cf_client", "cf_secret_value"))
	t.Cleanup(ids.Close)
	addr := freeAddr(t)
	// Transfers stay pending until the test decides their fate.
	pf := cashfreefake.New(cashfreefake.Options{ClientID: "cf_client", ClientSecret: "cf_secret_value", Clock: offramp.SystemClock{},
		Settle: time.Hour, WebhookURL: "http://" + addr + "/rails/cashfree/webhook"})
	payouts := httptest.NewServer(pf)
	t.Cleanup(payouts.Close)

	envVars := []string{
		"OFFRAMP_MASTER_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{4}, 32)),
		"OFFRAMP_CASHFREE_CLIENT_ID=cf_client", "OFFRAMP_CASHFREE_CLIENT_SECRET=cf_secret_value",
		"OFFRAMP_CASHFREE_PAYOUT_BASE_URL=" + payouts.URL + "/payout",
		"OFFRAMP_CASHFREE_VERIFICATION_BASE_URL=" + ids.URL + "/verification",
		"OFFRAMP_WAZIRX_BASE_URL=" + wazirxURL, "OFFRAMP_COINDCX_BASE_URL=" + coindcxURL,
		"OFFRAMP_RAIL=cashfree", "OFFRAMP_KYC_VERIFIER=cashfree", "OFFRAMP_BANK_VERIFIER=cashfree", "OFFRAMP_RATE_SOURCES=wazirx,coindcx",
	}
	org := createProductionOrg(t, bin, db, envVars)
	s := startServeEnv(t, bin, dir, envVars, "--env", "production", "--addr", addr, "--verify-delay", "100ms", "--rail-delay", "200ms")
	lc := newLive(t, s, org, func() { _, _ = pf.Deliver(context.Background()) })
	// The fake's bank accounts are held by JOHN DOE.
	cust := lc.onboard("John Doe", "ABCPJ4321K")
	bankID := lc.bank(cust, "50100200301", "John Doe")

	// pay initiates a payout, waits until Cashfree holds the transfer,
	// forces its statuses in order (with their webhooks), and waits for the
	// payout to leave PROCESSING.
	pay := func(amount int, order string, statuses ...[2]string) (map[string]any, string) {
		t.Helper()
		id := lc.pay(cust, bankID, amount, order)
		ref := lc.do("GET", "/pos/api/v1/payout/"+id, nil)["bank_reference"].(string)
		s.eventually(t, "Cashfree to receive transfer "+ref, func() (bool, string) {
			_, ok := pf.Transfer(ref)
			return ok, fmt.Sprintf("Cashfree has no transfer %s", ref)
		})
		for _, st := range statuses {
			if err := pf.SetStatus(ref, st[0], st[1]); err != nil {
				t.Fatal(err)
			}
			if _, err := pf.Deliver(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		return lc.wait("/pos/api/v1/payout/"+id, "status", func(v any) bool { return v != "PROCESSING" }), ref
	}

	paid, ref := pay(20, "cf-1", [2]string{"SUCCESS", ""})
	held, _ := pf.Transfer(ref)
	if paid["status"] != "SUCCESS" || paid["utr"] != held.UTR || held.UTR == "" {
		t.Fatalf("payout: %v (Cashfree: %+v)", paid, held)
	}
	rejected, _ := pay(21, "cf-2", [2]string{"FAILED", "BENE_BANK_DECLINED"})
	if rejected["status"] != "FAILED" || rejected["failure_reason"] != "BENEFICIARY_BANK_REJECTED" {
		t.Fatalf("rejected: %v", rejected)
	}
	got, ref := pay(22, "cf-3", [2]string{"SUCCESS", ""})
	if got["status"] != "SUCCESS" {
		t.Fatalf("before the reversal: %v", got)
	}
	if err := pf.SetStatus(ref, "REVERSED", "INVALID_ACCOUNT_FAIL"); err != nil {
		t.Fatal(err)
	}
	reversed := lc.wait("/pos/api/v1/payout/"+got["id"].(string), "status", is("FAILED"))
	if reversed["failure_reason"] != offramp.ReasonReversedByBank || reversed["utr"] != got["utr"] {
		t.Fatalf("reversal: %v", reversed)
	}
	// A lost create answer: one transfer at Cashfree, paid once.
	pf.FailCreates(cashfreefake.DropAfterCommit)
	lost, ref := pay(23, "cf-4", [2]string{"SUCCESS", ""})
	if lost["status"] != "SUCCESS" || pf.Transfers(ref) != 1 {
		t.Fatalf("lost create answer: %v, %d transfers", lost["status"], pf.Transfers(ref))
	}
	lc.finish(bin, db, envVars, "cf_secret_value")
}

// TestProductionReadyzSaysWhy: a production server with nothing but market
// prices configured is up but not ready, and /readyz says what is missing;
// --help never shows a provider secret set in the environment.
func TestProductionReadyzSaysWhy(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	wazirxURL, _ := startMarkets(t)
	envVars := []string{
		"OFFRAMP_MASTER_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32)),
		"OFFRAMP_WAZIRX_BASE_URL=" + wazirxURL, "OFFRAMP_RAZORPAYX_KEY_SECRET=rzp_secret_in_env",
	}
	help := exec.Command(bin, "serve", "--help")
	help.Env = append(os.Environ(), envVars...)
	if out, err := help.CombinedOutput(); err != nil || strings.Contains(string(out), "rzp_secret_in_env") || !strings.Contains(string(out), "OFFRAMP_RAZORPAYX_KEY_SECRET") {
		t.Fatalf("serve --help: %v\n%s", err, out)
	}
	s := startServeEnv(t, bin, dir, envVars, "--env", "production")
	s.eventually(t, "/readyz 503 saying what is missing", func() (bool, string) {
		res, err := http.Get(s.base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		code := res.StatusCode
		var body map[string]string
		json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if code == 200 {
			t.Fatalf("/readyz: %d %v", code, body)
		}
		return code == 503 && strings.Contains(body["reason"], "no bank rail") && strings.Contains(body["reason"], "verifier") &&
			!strings.Contains(body["reason"], "not checked yet"), fmt.Sprintf("/readyz: %d %v", code, body)
	})
	s.stop(t)
}
