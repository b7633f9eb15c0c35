package razorpayxfake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/rail/razorpayx/razorpayxfake"
)

type api struct {
	t   *testing.T
	srv *razorpayxfake.Server
	clk *clock.Fake
}

func newAPI(t *testing.T) *api {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	srv, err := razorpayxfake.NewServer(razorpayxfake.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &api{t: t, srv: srv, clk: clk}
}

// call makes one request with the default key unless secret is given.
func (a *api) call(method, path string, body any, header map[string]string, secret ...string) (int, map[string]any) {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, a.srv.URL+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	s := razorpayxfake.DefaultKeySecret
	if len(secret) > 0 {
		s = secret[0]
	}
	req.SetBasicAuth(razorpayxfake.DefaultKeyID, s)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func errorOf(out map[string]any) map[string]any {
	e, _ := out["error"].(map[string]any)
	return e
}

func (a *api) fundAccount(account string) string {
	a.t.Helper()
	code, c := a.call("POST", "/v1/contacts", map[string]any{"name": "Asha Verma", "type": "customer", "reference_id": "cust-1"}, nil)
	if code != http.StatusCreated && code != http.StatusOK {
		a.t.Fatalf("contact: %d %v", code, c)
	}
	code, fa := a.call("POST", "/v1/fund_accounts", map[string]any{"contact_id": c["id"], "account_type": "bank_account",
		"bank_account": map[string]any{"name": "Asha Verma", "ifsc": "HDFC0001234", "account_number": account}}, nil)
	if code != http.StatusCreated && code != http.StatusOK {
		a.t.Fatalf("fund account: %d %v", code, fa)
	}
	return fa["id"].(string)
}

func payoutBody(fa string, amount int) map[string]any {
	return map[string]any{"account_number": razorpayxfake.DefaultAccountNumber, "fund_account_id": fa, "amount": amount,
		"currency": "INR", "mode": "IMPS", "purpose": "payout", "queue_if_low_balance": true, "reference_id": "ref-0001"}
}

func TestAuthAndErrorShape(t *testing.T) {
	a := newAPI(t)
	code, out := a.call("GET", "/v1/payouts?account_number="+razorpayxfake.DefaultAccountNumber, nil, nil, "wrong")
	e := errorOf(out)
	if code != http.StatusUnauthorized || e["code"] != "BAD_REQUEST_ERROR" || e["reason"] != "authentication_failed" {
		t.Fatalf("wrong key: %d %v", code, out)
	}
	code, out = a.call("POST", "/v1/contacts", map[string]any{"type": "customer"}, nil)
	e = errorOf(out)
	if code != http.StatusBadRequest || e["field"] != "name" || e["source"] != "business" || e["step"] != "NA" || e["reason"] != "input_validation_failed" {
		t.Fatalf("missing name: %d %v", code, out)
	}
	if _, ok := e["metadata"].(map[string]any); !ok {
		t.Fatalf("error without metadata: %v", out)
	}
	code, out = a.call("GET", "/v1/nowhere", nil, nil)
	if code != http.StatusBadRequest || errorOf(out)["description"] != "The requested URL was not found on the server." {
		t.Fatalf("unknown URL: %d %v", code, out)
	}
}

func TestDuplicatesAndIdempotency(t *testing.T) {
	a := newAPI(t)
	fa := a.fundAccount("50100012340000")
	if again := a.fundAccount("50100012340000"); again != fa {
		t.Fatalf("the same fund account details gave %s then %s", fa, again)
	}
	if c := a.srv.Counts(); c.ContactsCreated != 1 || c.FundAccountsCreated != 1 || c.ContactRequests != 2 {
		t.Fatalf("counts %+v", c)
	}

	code, out := a.call("POST", "/v1/payouts", payoutBody(fa, 10000), nil)
	if code != http.StatusBadRequest || errorOf(out)["field"] != "X-Payout-Idempotency" {
		t.Fatalf("no key: %d %v", code, out)
	}
	key := map[string]string{"X-Payout-Idempotency": "53cda91c-8f81-4e77-bbb9-7388f4ac6bf4"}
	code, first := a.call("POST", "/v1/payouts", payoutBody(fa, 10000), key)
	if code != http.StatusOK || first["status"] != "processing" || first["utr"] != nil || first["amount"] != float64(10000) {
		t.Fatalf("create: %d %v", code, first)
	}
	code, second := a.call("POST", "/v1/payouts", payoutBody(fa, 10000), key)
	if code != http.StatusOK || second["id"] != first["id"] {
		t.Fatalf("same key, same body: %d %v; want payout %v", code, second, first["id"])
	}
	code, out = a.call("POST", "/v1/payouts", payoutBody(fa, 10001), key)
	if code != http.StatusBadRequest || errorOf(out)["description"] != "Different request body sent for the same Idempotency Header." {
		t.Fatalf("same key, other body: %d %v", code, out)
	}
	if c := a.srv.Counts(); c.PayoutsCreated != 1 || c.PayoutRequests != 4 {
		t.Fatalf("counts %+v", c)
	}
	// Status as time passes, and the list by reference.
	a.clk.Advance(2 * time.Second)
	code, list := a.call("GET", "/v1/payouts?account_number="+razorpayxfake.DefaultAccountNumber+"&reference_id=ref-0001", nil, nil)
	items, _ := list["items"].([]any)
	if code != http.StatusOK || list["entity"] != "collection" || len(items) != 1 {
		t.Fatalf("list: %d %v", code, list)
	}
	p := items[0].(map[string]any)
	sd, _ := p["status_details"].(map[string]any)
	if p["status"] != "processed" || p["utr"] == nil || sd["reason"] != "payout_processed" {
		t.Fatalf("payout after settlement: %v", p)
	}
	code, list = a.call("GET", "/v1/payouts?account_number="+razorpayxfake.DefaultAccountNumber+"&reference_id=other", nil, nil)
	if items, _ := list["items"].([]any); code != http.StatusOK || len(items) != 0 {
		t.Fatalf("list of another reference: %d %v", code, list)
	}
	code, one := a.call("GET", "/v1/payouts/"+first["id"].(string), nil, nil)
	if code != http.StatusOK || one["status"] != "processed" {
		t.Fatalf("fetch: %d %v", code, one)
	}
}

func TestPayoutValidation(t *testing.T) {
	a := newAPI(t)
	fa := a.fundAccount("50100012340000")
	for i, tc := range []struct {
		mutate func(map[string]any)
		field  string
	}{
		{func(b map[string]any) { delete(b, "account_number") }, "account_number"},
		{func(b map[string]any) { b["account_number"] = "1111" }, "account_number"},
		{func(b map[string]any) { b["amount"] = 99 }, "amount"},
		{func(b map[string]any) { b["amount"] = 50000001 }, "amount"}, // IMPS above ₹5,00,000
		{func(b map[string]any) { b["mode"] = "RTGS" }, "amount"},     // RTGS below ₹2,00,000
		{func(b map[string]any) { b["currency"] = "USD" }, "currency"},
		{func(b map[string]any) { b["mode"] = "CHEQUE" }, "mode"},
		{func(b map[string]any) { delete(b, "purpose") }, "purpose"},
		{func(b map[string]any) { b["fund_account_id"] = "fa_nope" }, "fund_account_id"},
		{func(b map[string]any) { b["reference_id"] = "0123456789012345678901234567890123456789x" }, "reference_id"},
	} {
		b := payoutBody(fa, 10000)
		tc.mutate(b)
		code, out := a.call("POST", "/v1/payouts", b, map[string]string{"X-Payout-Idempotency": "key-" + string(rune('a'+i)) + "-0001"})
		if code != http.StatusBadRequest || errorOf(out)["field"] != tc.field {
			t.Errorf("case %d: %d %v, want 400 on %s", i, code, out, tc.field)
		}
	}
	if c := a.srv.Counts(); c.PayoutsCreated != 0 {
		t.Fatalf("invalid payouts created: %+v", c)
	}
}
