package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/service"
)

// payoutSetup is a verified customer with a verified bank account.
type payoutSetup struct {
	customer, bank string
}

var acctSeq int

func (c *client) readyForPayout(suffix string) payoutSetup {
	c.e.t.Helper()
	cust := c.verifiedCustomer()
	acctSeq++
	acct := fmt.Sprintf("50%04d%04d", acctSeq, 9000+acctSeq%1000)
	if suffix != "" {
		acct = acct[:len(acct)-4] + suffix
	}
	r := c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": acct, "ifsc": "HDFC0001234"})
	expectOK(c.e.t, r, 200)
	bank := r.obj(c.e.t)["id"].(string)
	if s, _ := c.settleBank(cust, bank); s != "VERIFIED" {
		c.e.t.Fatalf("bank %s", s)
	}
	return payoutSetup{cust, bank}
}

func (c *client) quote(ps payoutSetup, amount string) map[string]any {
	c.e.t.Helper()
	r := c.do("POST", "/pos/api/v1/payout/quotation", map[string]any{
		"asset": "usdt", "fiat": "inr", "sending_amount": amount, "customer_id": ps.customer, "bank_id": ps.bank,
		"risk_parameters": map[string]any{"ip_address": "127.0.0.1", "device_id": "dev-1", "suspicious_activity_report": "False", "law_enforcement_agency_report": false},
	})
	expectOK(c.e.t, r, 200)
	return r.obj(c.e.t)
}

var orderSeq int

func (c *client) initiate(q map[string]any, hdr map[string]string) resp {
	c.e.t.Helper()
	orderSeq++
	body := map[string]any{"quotation_id": q["id"], "customer_id": q["customer_id"], "exchange_order_id": strconv.Itoa(5059889123000 + orderSeq)}
	raw := mustJSON(c.e.t, body)
	return c.doRaw("POST", "/pos/api/v1/payout/initiate", raw, hdr)
}

func (c *client) payout(id string) map[string]any {
	c.e.t.Helper()
	r := c.do("GET", "/pos/api/v1/payout/"+id, nil)
	expectOK(c.e.t, r, 200)
	return r.obj(c.e.t)
}

// settlePayout moves the fake clock in steps until the payout leaves
// PROCESSING (the engine inquires after each delay).
func (c *client) settlePayout(id string) map[string]any {
	c.e.t.Helper()
	var p map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p = c.payout(id)
		if p["status"] != "PROCESSING" {
			return p
		}
		c.e.Clock.Advance(time.Second)
		time.Sleep(10 * time.Millisecond)
	}
	c.e.t.Fatalf("payout %s still PROCESSING (%v)", id, p["status_detail"])
	return nil
}

func TestGuideFlowEndToEnd(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	// Step 1: configuration.
	cfg := c.do("GET", "/pos/api/v1/payout/configuration", nil)
	expectOK(t, cfg, 200)
	conf := cfg.obj(t)
	for _, k := range []string{"supported_fiats", "supported_assets", "supported_networks", "coin_limits", "inr"} {
		if conf[k] == nil {
			t.Fatalf("configuration lacks %s: %s", k, cfg.Raw)
		}
	}
	if lim := conf["coin_limits"].(map[string]any)["usdt"].(map[string]any); lim["min"] == nil || lim["imps"] == nil {
		t.Fatalf("coin_limits: %v", lim)
	}
	// Step 2: a verified customer and bank account.
	ps := c.readyForPayout("")
	// Step 3: limits.
	lr := c.do("GET", "/ren/api/v1/payout/limits/"+ps.customer, nil)
	expectOK(t, lr, 200)
	lim := lr.obj(t)
	if lim["daily_limit"].(float64) != 200000 || lim["available_limit"].(float64) != 200000 || lim["is_edd_required"] != false || lim["is_limit_increase_available"] != true {
		t.Fatalf("limits: %s", lr.Raw)
	}
	if _, ok := lim["limit_reset_timestamp"].(float64); !ok {
		t.Fatalf("limit_reset_timestamp is not Unix seconds: %v", lim["limit_reset_timestamp"])
	}
	// Step 4: rate, as a query and as a body.
	rr := c.do("GET", "/pos/api/v1/payout/fetch-rate?asset=USDT&fiat=INR&amount=51", nil)
	expectOK(t, rr, 200)
	if m := rr.obj(t); m["rate"].(float64) != 88.5 || m["asset"] != "USDT" || m["fiat"] != "INR" || m["amount"].(float64) != 51 {
		t.Fatalf("fetch-rate: %s", rr.Raw)
	}
	expectOK(t, c.do("POST", "/pos/api/v1/payout/fetch-rate", map[string]any{"asset": "usdc", "fiat": "inr"}), 200)
	// Step 5: quotation.
	q := c.quote(ps, "51")
	for _, k := range []string{"asset", "fiat", "sending_amount", "customer_id", "expiry_time", "rate", "receiving_amount", "fees"} {
		if q[k] == nil {
			t.Fatalf("quotation lacks %s: %v", k, q)
		}
	}
	if q["status"] != "UNLINKED" {
		t.Fatalf("quotation status %v", q["status"])
	}
	fees := q["fees"].(map[string]any)
	for _, k := range []string{"client_fee_fiat", "client_fee_crypto", "dollarpe_fee", "pg_fee", "client_gst_fiat", "client_gst_crypto", "dollarpe_gst", "pg_gst", "tds", "gross_effective_exchange_rate"} {
		if _, ok := fees[k].(float64); !ok {
			t.Fatalf("fees.%s missing: %v", k, fees)
		}
	}
	// Step 6: initiate.
	r := c.initiate(q, nil)
	expectOK(t, r, 201)
	p := r.obj(t)
	for _, k := range []string{"quotation_id", "customer_id", "client_reference_id", "bank_id", "exchange_order_id", "status"} {
		if _, ok := p[k]; !ok {
			t.Fatalf("initiate lacks %s: %s", k, r.Raw)
		}
	}
	if p["status"] != "PROCESSING" {
		t.Fatalf("initiate status %v", p["status"])
	}
	id := p["id"].(string)
	// Step 7 (the guide's step 9): link the exchange transfer.
	lt := c.do("PATCH", "/pos/api/v1/payout/update-transfer-id", map[string]any{"exchange_order_id": p["exchange_order_id"], "exchange_transfer_id": "987283747899283945"})
	expectOK(t, lt, 200)
	e.Clock.Advance(time.Second) // same body again needs a fresh signature
	expectOK(t, c.do("PATCH", "/pos/api/v1/payout/update-transfer-id", map[string]any{"exchange_order_id": p["exchange_order_id"], "exchange_transfer_id": "987283747899283945"}), 200)
	expectErr(t, c.do("PATCH", "/pos/api/v1/payout/update-transfer-id", map[string]any{"exchange_order_id": p["exchange_order_id"], "exchange_transfer_id": "other"}), 400, "exchange_transfer_id", offramp.MsgTransferIDLinked)
	expectErr(t, c.do("PATCH", "/pos/api/v1/payout/update-transfer-id", map[string]any{"exchange_order_id": "no-such-order", "exchange_transfer_id": "x"}), 400, "exchange_order_id", offramp.MsgOrderNotFound)
	// Steps 7-8: poll to SUCCESS with a UTR.
	got := c.settlePayout(id)
	if got["status"] != "SUCCESS" || len(got["utr"].(string)) != 12 || got["failure_reason"] != nil || got["status_detail"] != "PAID" {
		t.Fatalf("final payout: %v", got)
	}
	if got["receiveing_amount"] != got["receiving_amount"] || got["receiving_amount"] != strconv.FormatFloat(q["receiving_amount"].(float64), 'f', -1, 64) {
		t.Fatalf("amounts: %v vs quote %v", got, q["receiving_amount"])
	}
	if got["exchange_transfer_id"] != "987283747899283945" {
		t.Fatalf("transfer id %v", got["exchange_transfer_id"])
	}
	// The quotation now shows its payout.
	gq := c.do("GET", "/pos/api/v1/payout/quotation/"+q["id"].(string), nil).obj(t)
	if gq["status"] != "LINKED" || gq["order_id"] != id {
		t.Fatalf("quotation after initiate: %v", gq)
	}
	// The limit is used by the payout's gross value.
	after := c.do("GET", "/ren/api/v1/payout/limits/"+ps.customer, nil).obj(t)
	if after["available_limit"].(float64) != 200000-51*88.5 {
		t.Fatalf("available after payout: %v", after["available_limit"])
	}
	// History finds it.
	h := c.do("GET", "/pos/api/v1/payout/history?payout_status=SUCCESS&customer_id="+ps.customer, nil).obj(t)
	if h["count"].(float64) != 1 {
		t.Fatalf("history: %v", h)
	}
	if n, _ := e.Bank.Transfers(t.Context(), "OFR"+strings.ReplaceAll(id, "-", "")); n != 1 {
		t.Fatalf("bank holds %d transfers for the payout", n)
	}
}

func TestBankOutcomes(t *testing.T) {
	// 5555: the bank holds the transfer and never settles it: pending,
	// then IN_REVIEW at the settlement deadline.
	e := newEnv(t, func(o *envOpts) {
		o.payouts.Engine.MaxInquiries, o.payouts.Engine.SettlementDeadline = 3, 20*time.Second
	})
	c := e.client()
	cases := []struct {
		suffix, status, detail, reason string
	}{
		{"3333", "FAILED", "REJECTED", offramp.ReasonBeneficiaryBankRejected},
		{"4444", "SUCCESS", "PAID", ""},
		{"5555", "IN_REVIEW", "MANUAL_REVIEW", ""},
	}
	for _, tc := range cases {
		t.Run(tc.suffix, func(t *testing.T) {
			ps := c.readyForPayout(tc.suffix)
			before := c.do("GET", "/ren/api/v1/payout/limits/"+ps.customer, nil).obj(t)["available_limit"].(float64)
			r := c.initiate(c.quote(ps, "20"), nil)
			expectOK(t, r, 201)
			id := r.obj(t)["id"].(string)
			p := c.settlePayout(id)
			if p["status"] != tc.status || p["status_detail"] != tc.detail {
				t.Fatalf("got %v/%v, want %s/%s", p["status"], p["status_detail"], tc.status, tc.detail)
			}
			if tc.reason != "" && p["failure_reason"] != tc.reason {
				t.Fatalf("failure_reason %v", p["failure_reason"])
			}
			ref := "OFR" + strings.ReplaceAll(id, "-", "")
			transfers, _ := e.Bank.Transfers(t.Context(), ref)
			calls, _ := e.Bank.SubmitCalls(t.Context(), ref)
			if transfers != 1 || calls != 1 {
				t.Fatalf("bank: %d transfers, %d submissions; want 1 and 1", transfers, calls)
			}
			avail := c.do("GET", "/ren/api/v1/payout/limits/"+ps.customer, nil).obj(t)["available_limit"].(float64)
			if tc.status == "FAILED" && avail != before {
				t.Fatalf("FAILED payout kept the limit: %v -> %v", before, avail)
			}
			if tc.status != "FAILED" && avail >= before {
				t.Fatalf("%s payout did not use the limit", tc.status)
			}
			if tc.status == "FAILED" {
				// The exchange's crypto had arrived; it is sent back and
				// the payout marked REFUNDED (the ledger check at the end
				// of the test proves the books still balance).
				expectOK(t, c.do("PATCH", "/pos/api/v1/payout/update-transfer-id", map[string]any{"exchange_order_id": r.obj(t)["exchange_order_id"], "exchange_transfer_id": "tx-" + id}), 200)
				if _, err := e.Svc.RefundPayout(t.Context(), e.Org.ID, uuid.NewString()); offramp.ErrorCode(err) != offramp.CodeNotFound {
					t.Fatalf("refund of an unknown payout: %v", err)
				}
				// An operator's refund from the CLI (RefundPayoutBy) is
				// audited with who and why, naming the status change.
				refunded, err := e.Svc.RefundPayoutBy(t.Context(), e.Org.ID, id, "asha", "crypto sent back on chain")
				if err != nil || refunded.Status != offramp.PayoutRefunded {
					t.Fatalf("refund: %v %v", refunded.Status, err)
				}
				var audit []offramp.AuditEntry
				if err := e.Store.View(t.Context(), func(tx offramp.ReadTx) error {
					var err error
					audit, err = tx.AuditEntries(t.Context(), offramp.ObjectPayout, refunded.ID)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				if n := len(audit); n == 0 || audit[n-1].Action != service.ActionRefund || audit[n-1].Actor != "asha" ||
					audit[n-1].Reason != "crypto sent back on chain" || audit[n-1].Details["to_status"] != "REFUNDED" {
					t.Fatalf("the refund's audit: %+v", audit)
				}
				if got := c.payout(id); got["status"] != "REFUNDED" || got["status_detail"] != "CRYPTO_RETURNED" {
					t.Fatalf("after refund: %v", got)
				}
				if _, err := e.Svc.RefundPayout(t.Context(), e.Org.ID, id); offramp.ErrorCode(err) != offramp.CodeRejected {
					t.Fatalf("second refund: %v", err)
				}
			}
		})
	}
}

func TestInitiateErrorRows(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ps := c.readyForPayout("")
	other := c.readyForPayout("")

	// Customer mismatch.
	q := c.quote(ps, "10")
	r := c.doRaw("POST", "/pos/api/v1/payout/initiate", mustJSON(t, map[string]any{"quotation_id": q["id"], "customer_id": other.customer, "exchange_order_id": "o-1"}), nil)
	expectErr(t, r, 400, "customer_id", offramp.MsgCustomerMismatch)
	// Unknown and foreign quotations.
	r = c.do("POST", "/pos/api/v1/payout/initiate", map[string]any{"quotation_id": uuid.NewString(), "customer_id": ps.customer, "exchange_order_id": "o-2"})
	expectErr(t, r, 400, "quotation_id", offramp.MsgQuotationNotFound)
	org2, _ := e.Svc.CreateOrg(t.Context(), "Other", offramp.EnvSandbox, "test")
	c2 := e.client()
	c2.key, c2.secret = org2.APIKey, org2.APISecret
	expectErr(t, c2.do("POST", "/pos/api/v1/payout/initiate", map[string]any{"quotation_id": q["id"], "customer_id": ps.customer, "exchange_order_id": "o-3"}), 400, "quotation_id", offramp.MsgQuotationNotFound)
	expectErr(t, c2.do("GET", "/pos/api/v1/payout/quotation/"+q["id"].(string), nil), 400, "quotation_id", offramp.MsgQuotationIDInvalid)

	// First use succeeds; reuse is refused.
	body := map[string]any{"quotation_id": q["id"], "customer_id": ps.customer, "exchange_order_id": "order-A", "client_reference_id": "ref-A"}
	r = c.do("POST", "/pos/api/v1/payout/initiate", body)
	expectOK(t, r, 201)
	first := r.obj(t)["id"].(string)
	expectErr(t, c2.do("GET", "/pos/api/v1/payout/"+first, nil), 400, "payout_id", offramp.MsgPayoutIDInvalid)
	e.Clock.Advance(time.Second)
	expectErr(t, c.do("POST", "/pos/api/v1/payout/initiate", map[string]any{"quotation_id": q["id"], "customer_id": ps.customer, "exchange_order_id": "order-B"}), 400, "quotation_id", offramp.MsgQuotationLinked)

	// Duplicate client reference, order id in use.
	q2 := c.quote(ps, "10")
	expectErr(t, c.do("POST", "/pos/api/v1/payout/initiate", map[string]any{"quotation_id": q2["id"], "customer_id": ps.customer, "exchange_order_id": "order-C", "client_reference_id": "ref-A"}), 400, "client_reference_id", offramp.MsgClientRefExists)
	expectErr(t, c.do("POST", "/pos/api/v1/payout/initiate", map[string]any{"quotation_id": q2["id"], "customer_id": ps.customer, "exchange_order_id": "order-A"}), 400, "exchange_order_id", offramp.MsgOrderInUse)

	// After the order's payout FAILED, the order id may be used again.
	expectOK(t, c.do("PATCH", "/pos/api/v1/payout/mock-payout-status", map[string]any{"payout_id": first, "payout_status": "FAILED"}), 200)
	e.Clock.Advance(time.Second)
	expectOK(t, c.do("POST", "/pos/api/v1/payout/initiate", map[string]any{"quotation_id": q2["id"], "customer_id": ps.customer, "exchange_order_id": "order-A"}), 201)
	// And the failed one can be refunded.
	r = c.do("PATCH", "/pos/api/v1/payout/mock-payout-status", map[string]any{"payout_id": first, "payout_status": "REFUNDED"})
	expectOK(t, r, 200)
	if r.obj(t)["payout_status"] != "REFUNDED" {
		t.Fatalf("refund: %s", r.Raw)
	}

	// Payout ids.
	expectErr(t, c.do("GET", "/pos/api/v1/payout/not-a-uuid", nil), 400, "payout_id", offramp.MsgPayoutIDInvalid)
}

func TestQuotationExpiryBoundary(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ps := c.readyForPayout("")
	for _, tc := range []struct {
		offset time.Duration
		ok     bool
	}{{-time.Second, true}, {0, false}, {time.Second, false}} {
		t.Run(tc.offset.String(), func(t *testing.T) {
			q := c.quote(ps, "10")
			exp, _ := time.Parse(time.RFC3339Nano, q["expiry_time"].(string))
			e.Clock.Set(exp.Add(tc.offset))
			// The client's own clock is 299 s off: expiry is judged by
			// the server's clock alone.
			c.ts = e.Clock.Now().Unix() - 299
			defer func() { c.ts = 0 }()
			r := c.initiate(q, nil)
			if tc.ok {
				expectOK(t, r, 201)
			} else {
				expectErr(t, r, 400, "quotation_id", offramp.MsgQuotationExpired)
				if got := c.do("GET", "/pos/api/v1/payout/quotation/"+q["id"].(string), nil).obj(t)["status"]; got != "EXPIRED" {
					t.Fatalf("quotation status %v", got)
				}
			}
		})
	}
}

func TestConcurrentInitiatesOfOneQuotation(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ps := c.readyForPayout("")
	q := c.quote(ps, "10")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created []string
		codes   = map[int]int{}
	)
	for i := range 50 {
		wg.Go(func() {
			cl := e.client()
			cl.ts = e.Clock.Now().Unix() - int64(i) // distinct signatures
			r := cl.doRaw("POST", "/pos/api/v1/payout/initiate", mustJSON(t, map[string]any{
				"quotation_id": q["id"], "customer_id": ps.customer, "exchange_order_id": fmt.Sprintf("race-%d", i), "client_reference_id": fmt.Sprintf("race-ref-%d", i),
			}), nil)
			mu.Lock()
			defer mu.Unlock()
			codes[r.Code]++
			if r.Code == 201 {
				created = append(created, string(r.Data))
			} else if r.Message != offramp.MsgQuotationLinked {
				t.Errorf("loser got %d %s", r.Code, r.Raw)
			}
		})
	}
	wg.Wait()
	if len(created) != 1 || codes[201] != 1 || codes[400] != 49 {
		t.Fatalf("want exactly one payout, got %v", codes)
	}
	h := c.do("GET", "/pos/api/v1/payout/history", nil).obj(t)
	if h["count"].(float64) != 1 {
		t.Fatalf("history holds %v payouts", h["count"])
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ps := c.readyForPayout("")
	q := c.quote(ps, "10")
	body := mustJSON(t, map[string]any{"quotation_id": q["id"], "customer_id": ps.customer, "exchange_order_id": "idem-1"})
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		bodies = map[string]int{}
		codes  = map[int]int{}
		replay int
	)
	for i := range 50 {
		wg.Go(func() {
			cl := e.client()
			cl.ts = e.Clock.Now().Unix() - int64(i)
			r := cl.doRaw("POST", "/pos/api/v1/payout/initiate", body, map[string]string{"Idempotency-Key": "key-123"})
			mu.Lock()
			defer mu.Unlock()
			codes[r.Code]++
			bodies[string(r.Data)]++
			if r.Header.Get("Idempotent-Replayed") == "true" {
				replay++
			}
		})
	}
	wg.Wait()
	if codes[201] != 50 || len(bodies) != 1 || replay != 49 {
		t.Fatalf("want 50 identical 201s (49 replayed), got codes %v, %d distinct bodies, %d replayed", codes, len(bodies), replay)
	}
	if h := c.do("GET", "/pos/api/v1/payout/history", nil).obj(t); h["count"].(float64) != 1 {
		t.Fatalf("%v payouts for one key", h["count"])
	}
	// Key order and spacing do not make a different request...
	e.Clock.Advance(time.Second)
	same := []byte(`{ "exchange_order_id":"idem-1", "customer_id":"` + ps.customer + `", "quotation_id":"` + q["id"].(string) + `" }`)
	expectOK(t, c.doRaw("POST", "/pos/api/v1/payout/initiate", same, map[string]string{"Idempotency-Key": "key-123"}), 201)
	// ...but another body under the same key is refused, even after the
	// payout has moved on, and a day later.
	e.Clock.Advance(25 * time.Hour)
	other := mustJSON(t, map[string]any{"quotation_id": q["id"], "customer_id": ps.customer, "exchange_order_id": "idem-2"})
	expectErr(t, c.doRaw("POST", "/pos/api/v1/payout/initiate", other, map[string]string{"Idempotency-Key": "key-123"}), 400, "Idempotency-Key", offramp.MsgIdempotencyMismatch)
	r := c.doRaw("POST", "/pos/api/v1/payout/initiate", body, map[string]string{"Idempotency-Key": "key-123"})
	expectOK(t, r, 201)
	if bodies[string(r.Data)] != 50 {
		t.Fatalf("late replay differs: %s", r.Data)
	}
}

func TestQuotationRules(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ps := c.readyForPayout("")
	quote := func(over map[string]any) resp {
		b := map[string]any{"asset": "USDT", "fiat": "INR", "sending_amount": "20", "customer_id": ps.customer, "bank_id": ps.bank}
		for k, v := range over {
			b[k] = v
		}
		e.Clock.Advance(time.Second)
		return c.do("POST", "/pos/api/v1/payout/quotation", b)
	}
	expectErr(t, quote(map[string]any{"sending_amount": "9.99"}), 400, "sending_amount", offramp.MsgAmountBelowMin)
	expectErr(t, quote(map[string]any{"sending_amount": "5600.000001"}), 400, "sending_amount", offramp.MsgAmountAboveMax)
	if r := quote(map[string]any{"sending_amount": "20.0000001"}); r.Code != 400 || len(r.Fields["sending_amount"]) == 0 {
		t.Fatalf("7 decimals accepted: %s", r.Raw)
	}
	expectErr(t, quote(map[string]any{"payment_method": "UPI"}), 400, "payment_method", offramp.MsgUPINotSupported)
	expectErr(t, quote(map[string]any{"asset": "BTC"}), 400, "asset", offramp.MsgUnsupportedAsset)
	unverified := c.newCustomer(nil)
	expectErr(t, quote(map[string]any{"customer_id": unverified}), 400, "customer_id", offramp.MsgCustomerUnverified)
	other := c.readyForPayout("")
	expectErr(t, quote(map[string]any{"bank_id": other.bank}), 400, "bank_id", offramp.MsgBankUnverified)

	// AML screening.
	sanctioned := c.newCustomer(map[string]any{"full_name": "Sanctioned Person"})
	expectOK(t, c.do("POST", "/cms/api/v1/kyc/add-kyc-data", kycBody(sanctioned, map[string]any{"full_name": "Sanctioned Person"})), 200)
	c.settleCustomer(sanctioned)
	bank := c.do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": sanctioned, "account_number": "777788889999", "ifsc": "HDFC0001234"}).obj(t)["id"].(string)
	c.settleBank(sanctioned, bank)
	expectErr(t, quote(map[string]any{"customer_id": sanctioned, "bank_id": bank}), 400, "customer_id", offramp.MsgAMLFailed)

	// Above the daily limit without EDD: EDD required. 2,300 USDT at 88.5
	// is ₹2,03,550 > ₹2,00,000.
	expectErr(t, quote(map[string]any{"sending_amount": "2300"}), 400, "sending_amount", offramp.MsgEDDRequired)
}

func TestLimitsAndEDD(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ps := c.readyForPayout("")
	// Use most of the day's limit: 2,200 USDT = ₹1,94,700.
	r := c.initiate(c.quote(ps, "2200"), nil)
	expectOK(t, r, 201)
	lim := c.do("GET", "/ren/api/v1/payout/limits/"+ps.customer, nil).obj(t)
	if lim["available_limit"].(float64) != 5300 || lim["is_edd_required"] != false {
		t.Fatalf("limits: %v", lim)
	}
	expectErr(t, c.do("POST", "/pos/api/v1/payout/quotation", map[string]any{"asset": "USDT", "fiat": "INR", "sending_amount": "100", "customer_id": ps.customer, "bank_id": ps.bank}), 400, "sending_amount", offramp.MsgEDDRequired)

	// EDD: PROCESSING, then VERIFIED with the higher limit.
	er := c.do("POST", "/ren/api/v1/payout/edd/save", map[string]any{"customer_id": ps.customer, "source_of_income": "SALARY",
		"bank_statement_url": []string{"https://docs.example/stmt.pdf"}, "bank_statement_passwords": []string{""}, "declaration": true})
	expectOK(t, er, 200)
	if er.obj(t)["status"] != "PROCESSING" {
		t.Fatalf("edd: %s", er.Raw)
	}
	e.Clock.Advance(3 * time.Second)
	eventually(t, "EDD verified", func() bool {
		l := c.do("GET", "/ren/api/v1/payout/limits/"+ps.customer, nil).obj(t)
		return l["edd_status"] == "VERIFIED"
	})
	lim = c.do("GET", "/ren/api/v1/payout/limits/"+ps.customer, nil).obj(t)
	if lim["daily_limit"].(float64) != 1000000 || lim["available_limit"].(float64) != 1000000-194700 || lim["is_limit_increase_available"] != false {
		t.Fatalf("limits after EDD: %v", lim)
	}
	expectOK(t, c.do("POST", "/pos/api/v1/payout/quotation", map[string]any{"asset": "USDT", "fiat": "INR", "sending_amount": "100", "customer_id": ps.customer, "bank_id": ps.bank}), 200)
	if cu := c.do("GET", "/cms/api/v1/customer/"+ps.customer, nil).obj(t); cu["is_edd_verified"] != true {
		t.Fatalf("is_edd_verified after a VERIFIED EDD: %v", cu["is_edd_verified"])
	}
	e.Clock.Advance(time.Second)
	expectErr(t, c.do("POST", "/ren/api/v1/payout/edd/save", map[string]any{"customer_id": ps.customer, "source_of_income": "SALARY", "bank_statement_url": "https://docs.example/stmt.pdf"}), 400, "customer_id", offramp.MsgEDDNotRequired)

	// A failing EDD leaves the limit as it was.
	ps2 := c.readyForPayout("")
	expectOK(t, c.do("POST", "/ren/api/v1/payout/edd/save", map[string]any{"customer_id": ps2.customer, "source_of_income": "OTHERS", "bank_statement_url": "https://docs.example/fail.pdf"}), 200)
	e.Clock.Advance(3 * time.Second)
	eventually(t, "EDD failed", func() bool {
		return c.do("GET", "/ren/api/v1/payout/limits/"+ps2.customer, nil).obj(t)["edd_status"] == "FAILED"
	})
	if l := c.do("GET", "/ren/api/v1/payout/limits/"+ps2.customer, nil).obj(t); l["daily_limit"].(float64) != 200000 || l["is_limit_increase_available"] != true {
		t.Fatalf("limits after failed EDD: %v", l)
	}
}

func TestDailyLimitResetsAtISTMidnight(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ps := c.readyForPayout("")
	ist := time.FixedZone("IST", 19800)
	// 23:58 IST on 24 November.
	e.Clock.Set(time.Date(2026, 11, 24, 23, 58, 0, 0, ist))
	expectOK(t, c.initiate(c.quote(ps, "1000"), nil), 201)
	lim := c.do("GET", "/ren/api/v1/payout/limits/"+ps.customer, nil).obj(t)
	if lim["available_limit"].(float64) != 200000-88500 {
		t.Fatalf("before midnight: %v", lim["available_limit"])
	}
	wantReset := time.Date(2026, 11, 25, 0, 0, 0, 0, ist)
	if int64(lim["limit_reset_timestamp"].(float64)) != wantReset.Unix() || lim["full_limit_reset_timestamp"] != wantReset.UTC().Format("2006-01-02T15:04:05.000000Z07:00") {
		t.Fatalf("reset at %v / %v, want %v", lim["limit_reset_timestamp"], lim["full_limit_reset_timestamp"], wantReset)
	}
	e.Clock.Set(wantReset.Add(-time.Second))
	if got := c.do("GET", "/ren/api/v1/payout/limits/"+ps.customer, nil).obj(t)["available_limit"].(float64); got != 111500 {
		t.Fatalf("one second before midnight: %v", got)
	}
	e.Clock.Set(wantReset)
	if got := c.do("GET", "/ren/api/v1/payout/limits/"+ps.customer, nil).obj(t)["available_limit"].(float64); got != 200000 {
		t.Fatalf("at IST midnight the limit did not reset: %v", got)
	}
}

func TestHistoryFiltersAndPages(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ps := c.readyForPayout("")
	ist := time.FixedZone("IST", 19800)
	days := []time.Time{
		time.Date(2026, 11, 20, 0, 0, 0, 0, ist),    // first instant of the 20th
		time.Date(2026, 11, 21, 12, 0, 0, 0, ist),   // the 21st
		time.Date(2026, 11, 22, 23, 59, 59, 0, ist), // last second of the 22nd
		time.Date(2026, 11, 23, 0, 0, 0, 0, ist),    // the 23rd
	}
	for _, d := range days {
		e.Clock.Set(d)
		expectOK(t, c.initiate(c.quote(ps, "10"), nil), 201)
	}
	h := c.do("GET", "/pos/api/v1/payout/history?start_date=2026-11-20&end_date=2026-11-22", nil).obj(t)
	if h["count"].(float64) != 3 {
		t.Fatalf("inclusive date range: %v", h["count"])
	}
	h = c.do("GET", "/pos/api/v1/payout/history?page_size=3", nil).obj(t)
	if h["count"].(float64) != 4 || len(h["results"].([]any)) != 3 || h["next"] == nil {
		t.Fatalf("pages: %v", h)
	}
	expectErr(t, c.do("GET", "/pos/api/v1/payout/history?start_date=2026-11-20", nil), 400, "date_range", "start_date and end_date must be used together")
	if r := c.do("GET", "/pos/api/v1/payout/history?payout_status=LOST", nil); r.Code != 400 {
		t.Fatalf("bad status filter: %s", r.Raw)
	}
}

func TestFeesAddUpOnTheWire(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ps := c.readyForPayout("")
	for _, amt := range []string{"10", "51", "123.456789", "999.999999"} {
		e.Clock.Advance(time.Second)
		q := c.do("POST", "/pos/api/v1/payout/quotation", map[string]any{"asset": "USDT", "fiat": "INR", "sending_amount": amt, "customer_id": ps.customer, "bank_id": ps.bank})
		expectOK(t, q, 200)
		var parsed struct {
			Sending   decimal.Decimal            `json:"sending_amount"`
			Rate      decimal.Decimal            `json:"rate"`
			Receiving decimal.Decimal            `json:"receiving_amount"`
			Fees      map[string]decimal.Decimal `json:"fees"`
		}
		if err := json.Unmarshal(q.Data, &parsed); err != nil {
			t.Fatal(err)
		}
		sum := parsed.Receiving
		for _, k := range []string{"client_fee_fiat", "client_gst_fiat", "dollarpe_fee", "dollarpe_gst", "pg_fee", "pg_gst", "tds", "rounding_adjustment"} {
			sum = sum.Add(parsed.Fees[k])
		}
		if want := parsed.Sending.Mul(parsed.Rate); !sum.Equal(want) {
			t.Fatalf("%s: receiving + deductions = %s, sending × rate = %s", amt, sum, want)
		}
		if parsed.Receiving.Exponent() < -2 {
			t.Fatalf("receiving %s has more than 2 decimals", parsed.Receiving)
		}
	}
}
