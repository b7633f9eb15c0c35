package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
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

	wazirx, coindcx := ratesfake.NewWazirX(clk), ratesfake.NewCoinDCX(clk)
	wazirx.SetPrice("USDT", "88.40", "88.40")
	coindcx.SetPrice("USDT", "88.60", "88.60")
	wazirxURL, coindcxURL := wazirx.Start(), coindcx.Start()
	t.Cleanup(wazirx.Close)
	t.Cleanup(coindcx.Close)

	ids := httptest.NewServer(cashfreeidfake.New("cf_client", "cf_secret_value"))
	t.Cleanup(ids.Close)

	// The server's port is chosen first: the provider's webhooks go there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
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
	s.key, s.secret = org["api_key"], org["api_secret"]
	do := func(method, path string, body map[string]any) map[string]any {
		return signedDo(t, s.base, method, path, s.key, s.secret, body)
	}
	deadline := func() time.Time { return time.Now().Add(30 * time.Second) }
	// /readyz turns 200 once the markets' prices are fresh and every
	// provider answered its check.
	for until := deadline(); ; {
		res, err := http.Get(s.base + "/readyz")
		if err == nil {
			body := new(bytes.Buffer)
			body.ReadFrom(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
			if time.Now().After(until) {
				t.Fatalf("/readyz: %d %s", res.StatusCode, body)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	wait := func(path, field string, done func(any) bool) map[string]any {
		t.Helper()
		until := deadline()
		for {
			_, _ = rzp.Flush(context.Background()) // the provider's webhooks
			got := do("GET", path, nil)
			if done(got[field]) {
				return got
			}
			if time.Now().After(until) {
				t.Fatalf("%s: %s still %v (%v)", path, field, got[field], got)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	is := func(want string) func(any) bool { return func(v any) bool { return v == want } }

	c := do("POST", "/cms/api/v1/customer/create", map[string]any{"full_name": "Asha Verma", "email": "asha@example.com", "phone": "9876543210", "alpha_3_country_code": "IND"})
	cust := c["id"].(string)
	do("POST", "/cms/api/v1/kyc/add-kyc-data", map[string]any{
		"customer_id": cust, "full_name": "Asha Verma", "full_address": "12 MG Road, Bengaluru", "dob": "01-02-1990",
		"registered_date": "01-01-2024", "tax_number": "ABCPA5678K", "document_type": "AADHAAR",
		"document_front_image_url": "https://x.example/f.jpg", "document_back_image_url": "https://x.example/b.jpg",
		"document_details": map[string]any{"document_number": "123412341234"}, "selfie_url": "https://x.example/s.jpg",
		"selfie_verification_status": true})
	wait("/cms/api/v1/customer/"+cust, "status", is("VERIFIED"))

	bank := func(account string) string {
		b := do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": account, "ifsc": "HDFC0001234", "account_name": "Asha Verma"})["id"].(string)
		wait("/cms/api/v1/bank/"+cust+"/"+b, "bank_account_status", is("VERIFIED"))
		return b
	}
	rate := do("GET", "/pos/api/v1/payout/fetch-rate?asset=USDT&fiat=INR", nil)
	// The median of 88.40 and 88.60 is 88.50; less the 0.5 % spread: 88.0575.
	if got, _ := json.Marshal(rate); !strings.Contains(string(got), "88.0575") {
		t.Fatalf("rate: %s", got)
	}
	pay := func(bankID string, amount int, order string) string {
		q := do("POST", "/pos/api/v1/payout/quotation", map[string]any{"asset": "USDT", "fiat": "INR", "sending_amount": amount, "customer_id": cust, "bank_id": bankID})
		return do("POST", "/pos/api/v1/payout/initiate", map[string]any{"quotation_id": q["id"], "customer_id": cust, "exchange_order_id": order})["id"].(string)
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

	s.stop(t)
	ledger := exec.Command(bin, "admin", "ledger", "check", "--db", db)
	ledger.Env = append(os.Environ(), envVars...)
	if out, err := ledger.CombinedOutput(); err != nil || !strings.Contains(string(out), "ledger balanced") {
		t.Fatalf("ledger check: %v\n%s", err, out)
	}
	if strings.Contains(s.stderr.String(), "rzp_secret_value") || strings.Contains(s.stderr.String(), "cf_secret_value") {
		t.Fatal("a provider secret reached the server's log")
	}
}
