package httpapi_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

func mustUUID(t *testing.T, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestBankAccountVerification(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	cust := c.verifiedCustomer()
	r := c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": "7627389201", "ifsc": "sbin0001829"})
	expectOK(t, r, 200)
	m := r.obj(t)
	if m["bank_account_status"] != "PROCESSING" || m["bank_account_type"] != "ACCOUNT_DETAILS" || m["ifsc"] != "SBIN0001829" || m["customer_id"] != cust {
		t.Fatalf("create: %s", r.Raw)
	}
	if m["account_number"] != "XXXXXX9201" || strings.Contains(string(r.Raw), "7627389201") {
		t.Fatalf("account number not masked: %s", r.Raw)
	}
	bank := m["id"].(string)
	if s, reason := c.settleBank(cust, bank); s != "VERIFIED" || reason != nil {
		t.Fatalf("got %s %v, want VERIFIED", s, reason)
	}
	list := c.do("GET", "/cms/api/v1/bank/list/"+cust, nil).obj(t)
	if list["count"].(float64) != 1 {
		t.Fatalf("list: %v", list)
	}

	vpa := c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "vpa": "ravikumar@oksbi"})
	expectOK(t, vpa, 200)
	if v := vpa.obj(t); v["bank_account_type"] != "VPA" || v["vpa"] != "ra*******@oksbi" {
		t.Fatalf("vpa: %s", vpa.Raw)
	}
}

func TestBankMagicValues(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	cust := c.verifiedCustomer()
	for suffix, reason := range map[string]string{"0000": offramp.ReasonInvalidAccountNumber, "1111": offramp.ReasonNameMismatch, "2222": offramp.ReasonPennyDropFailed} {
		t.Run(suffix, func(t *testing.T) {
			r := c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": "501234" + suffix, "ifsc": "HDFC0001234"})
			expectOK(t, r, 200)
			if s, got := c.settleBank(cust, r.obj(t)["id"].(string)); s != "FAILED" || got != reason {
				t.Fatalf("got %s %v, want FAILED %s", s, got, reason)
			}
		})
	}
	t.Run("holder name differs from KYC name", func(t *testing.T) {
		r := c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": "501234567", "ifsc": "HDFC0001234", "account_name": "Sandbox Technologies Pvt Ltd"})
		expectOK(t, r, 200)
		if s, got := c.settleBank(cust, r.obj(t)["id"].(string)); s != "FAILED" || got != offramp.ReasonNameMismatch {
			t.Fatalf("got %s %v", s, got)
		}
	})
}

func TestBankCreateRules(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	unverified := c.newCustomer(nil)
	expectErr(t, c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": unverified, "account_number": "7627389201", "ifsc": "SBIN0001829"}), 400, "customer_id", offramp.MsgCustomerUnverified)
	expectErr(t, c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": uuid.NewString(), "account_number": "7627389201", "ifsc": "SBIN0001829"}), 400, "customer_id", offramp.MsgCustomerNotFound)

	cust := c.verifiedCustomer()
	// (DollarPe's malformed sample SBI0001829IU is accepted in the sandbox
	// only: TestDollarPeSampleBankValues.)
	bad := c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": "7627389201", "ifsc": "SBIN1001829"})
	if bad.Code != 400 || len(bad.Fields["ifsc"]) == 0 {
		t.Fatalf("bad IFSC accepted: %s", bad.Raw)
	}
	if r := c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust}); r.Code != 400 || r.Fields["account_number"][0] != "account_number is required" {
		t.Fatalf("missing account: %s", r.Raw)
	}
	if r := c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "vpa": "a@b", "account_number": "7627389201", "ifsc": "SBIN0001829"}); r.Code != 400 {
		t.Fatalf("both account and vpa accepted: %s", r.Raw)
	}

	for i, n := range []string{"100000001", "100000002", "100000003"} {
		expectOK(t, c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": n, "ifsc": "SBIN0001829"}), 200)
		expectOK(t, c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "vpa": "ravi" + string(rune('a'+i)) + "@oksbi"}), 200)
	}
	expectErr(t, c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": "100000004", "ifsc": "SBIN0001829"}), 400, "account_number", offramp.MsgMaxAccounts)
	expectErr(t, c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "vpa": "ravid@oksbi"}), 400, "vpa", offramp.MsgMaxVPAs)

	other := c.verifiedCustomer()
	expectErr(t, c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": other, "account_number": "100000001", "ifsc": "SBIN0001829"}), 400, "account_number", offramp.MsgAccountInUse)
	expectErr(t, c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": other, "vpa": "RAVIA@oksbi"}), 400, "vpa", offramp.MsgVPAInUse)
}

func TestBankLookupsAreScoped(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	cust := c.verifiedCustomer()
	bank := c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": "7627389201", "ifsc": "SBIN0001829"}).obj(t)["id"].(string)
	other := c.verifiedCustomer()
	// A bank of another customer of the same organization.
	expectErr(t, c.do("GET", "/cms/api/v1/bank/"+other+"/"+bank, nil), 400, "bank_id", offramp.MsgBankNotFound)
	expectErr(t, c.do("GET", "/cms/api/v1/bank/"+cust+"/"+uuid.NewString(), nil), 400, "bank_id", offramp.MsgBankNotFound)

	org2, err := e.Svc.CreateOrg(t.Context(), "Other", offramp.EnvSandbox, "test")
	if err != nil {
		t.Fatal(err)
	}
	b := e.client()
	b.key, b.secret = org2.APIKey, org2.APISecret
	expectErr(t, b.do("GET", "/cms/api/v1/bank/"+cust+"/"+bank, nil), 400, "customer_id", offramp.MsgCustomerNotFound)
	expectErr(t, b.do("POST", "/cms/api/v1/bank/mock-bank-verification", map[string]any{"customer_id": cust, "bank_id": bank, "bank_status": "VERIFIED"}), 400, "customer_id", offramp.MsgCustomerNotFound)
}

func TestMockBankVerification(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	cust := c.verifiedCustomer()
	bank := c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": "7627389201", "ifsc": "SBIN0001829"}).obj(t)["id"].(string)
	r := c.do("POST", "/cms/api/v1/bank/mock-bank-verification", map[string]any{"customer_id": cust, "bank_id": bank, "bank_status": "FAILED", "failure_reason": "BANK_RISK_CHECK_FAILED"})
	expectOK(t, r, 200)
	if m := r.obj(t); m["bank_account_status"] != "FAILED" || m["failure_reason"] != "BANK_RISK_CHECK_FAILED" {
		t.Fatalf("mock: %s", r.Raw)
	}
	e.Clock.Advance(5e9)
	if s, _ := c.bankStatus(cust, bank); s != "FAILED" {
		t.Fatalf("mock overturned: %s", s)
	}
	if r := c.do("POST", "/cms/api/v1/bank/mock-bank-verification", map[string]any{"customer_id": cust, "bank_id": bank, "bank_status": "VERIFIED"}); r.Code != 400 {
		t.Fatalf("FAILED -> VERIFIED allowed: %s", r.Raw)
	}
}

func TestWebhookURLConfiguration(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := c.do("POST", "/org/api/v1/organizations/api-webhooks", map[string]any{"webhook_url": "www.testwh1fromapi.com/w1"})
	expectOK(t, r, 200)
	if string(r.Data) != `"https://www.testwh1fromapi.com/w1"` {
		t.Fatalf("data = %s", r.Data)
	}
	expectErr(t, c.do("POST", "/org/api/v1/organizations/api-webhooks", map[string]any{}), 400, "webhook_url", offramp.MsgWebhookURLRequired)
	var o offramp.Org
	_ = e.Store.View(t.Context(), func(tx offramp.ReadTx) error { var err error; o, err = tx.Org(t.Context(), e.Org.ID); return err })
	if o.WebhookURL != "https://www.testwh1fromapi.com/w1" {
		t.Fatalf("stored %q", o.WebhookURL)
	}
}

func TestSandboxLeversAbsentInProduction(t *testing.T) {
	e := newEnv(t, func(o *envOpts) { o.env = offramp.EnvProduction })
	c := e.client()
	for _, p := range []struct{ method, path string }{
		{"PATCH", "/cms/api/v1/kyc/mock-kyc-status"},
		{"POST", "/cms/api/v1/bank/mock-bank-verification"},
		{"PATCH", "/pos/api/v1/payout/mock-payout-status"},
		{"GET", "/sandbox/kyc/token"},
	} {
		r := c.do(p.method, p.path, map[string]any{})
		if r.Code != 404 {
			t.Fatalf("%s %s in production: %d %s", p.method, p.path, r.Code, r.Raw)
		}
	}
}

// TestDollarPeSampleBankValues: bank/create bodies copied from DollarPe's
// documentation run unchanged in the sandbox, malformed sample IFSCs
// included (SBI0001829IU, the request example, 12 characters; ABC123456,
// the response example); production refuses those IFSCs, and a near miss
// of them is refused everywhere.
func TestDollarPeSampleBankValues(t *testing.T) {
	const ifscMsg = "ifsc: Enter a valid IFSC (4 letters, 0, then 6 letters or digits)."
	e := newEnv(t)
	c := e.client()
	cust := c.verifiedCustomer()
	// DollarPe's OpenAPI example, exactly (with this customer's id).
	r := c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": "7627389201", "ifsc": "SBI0001829IU"})
	expectOK(t, r, 200)
	if m := r.obj(t); m["ifsc"] != "SBI0001829IU" || m["bank_account_type"] != "ACCOUNT_DETAILS" {
		t.Fatalf("sample account: %s", r.Raw)
	}
	// It verifies like any other account (the holder is the KYC name).
	if s, reason := c.settleBank(cust, r.obj(t)["id"].(string)); s != "VERIFIED" {
		t.Fatalf("sample account ended %s (%v)", s, reason)
	}
	// The response example's IFSC, under the older field name, and the
	// live example's account_name (a holder name the KYC name must match
	// for the account to verify).
	r = c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": "123456789012", "ifsc_code": "ABC123456",
		"account_name": "Sandbox Technologies Pvt Ltd"})
	expectOK(t, r, 200)
	if got := r.obj(t)["ifsc"]; got != "ABC123456" {
		t.Fatalf("ifsc %v", got)
	}
	// The UPI sample was accepted already.
	expectOK(t, c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "vpa": "johndoe@oksbi"}), 200)
	// Only the documented values: a near miss is refused in the sandbox too.
	expectErr(t, c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": "7627389202", "ifsc": "SBI0001829IV"}), 400, "ifsc", ifscMsg)

	prod := newEnv(t, func(o *envOpts) { o.env = offramp.EnvProduction })
	pc := prod.client()
	pcust := pc.verifiedCustomer()
	for _, ifsc := range []string{"SBI0001829IU", "ABC123456"} {
		expectErr(t, pc.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": pcust, "account_number": "7627389201", "ifsc": ifsc}), 400, "ifsc", ifscMsg)
	}
	expectOK(t, pc.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": pcust, "account_number": "7627389201", "ifsc": "SBIN0001829"}), 200)
}
