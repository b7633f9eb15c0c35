package httpapi_test

import (
	"testing"
	"time"

	"github.com/offramp/offramp"
)

// waitPayout moves the fake clock by step until the payout satisfies done,
// at most steps times (the engine runs on the worker meanwhile).
func (c *client) waitPayout(id string, step time.Duration, steps int, done func(map[string]any) bool) map[string]any {
	c.e.t.Helper()
	var p map[string]any
	for range steps {
		p = c.payout(id)
		if done(p) {
			return p
		}
		c.e.Clock.Advance(step)
		time.Sleep(10 * time.Millisecond)
	}
	c.e.t.Fatalf("payout %s: %v/%v after %d steps of %v", id, p["status"], p["status_detail"], steps, step)
	return nil
}

func hasStatus(status string) func(map[string]any) bool {
	return func(p map[string]any) bool { return p["status"] == status }
}

// The sandbox bank's 6666 account stays pending for --sandbox-pending and
// then pays, without visiting IN_REVIEW; its 7777 account pays and is
// reversed later, which a DollarPe client sees as FAILED with
// REVERSED_BY_BANK and the original UTR.
func TestSandboxPendingAndReversal(t *testing.T) {
	e := newEnv(t, func(o *envOpts) { o.sandboxPending = 20 * time.Minute })
	c := e.client()

	pending := c.initiate(c.quote(c.readyForPayout("6666"), "20"), nil)
	expectOK(t, pending, 201)
	pid := pending.obj(t)["id"].(string)
	if b := pending.obj(t)["bank_reference"]; b == nil || b == "" {
		t.Fatalf("initiate answer has no bank_reference: %s", pending.Raw)
	}
	p := c.waitPayout(pid, 10*time.Second, 200, func(p map[string]any) bool { return p["status_detail"] == "SUBMITTED" })
	if p["status"] != "PROCESSING" {
		t.Fatalf("pending transfer: %v", p)
	}
	c.e.Clock.Advance(10 * time.Minute)
	if p := c.payout(pid); p["status"] != "PROCESSING" {
		t.Fatalf("10 minutes into a 20-minute pending: %v/%v", p["status"], p["status_detail"])
	}
	p = c.waitPayout(pid, time.Minute, 200, hasStatus("SUCCESS"))
	if utr, _ := p["utr"].(string); len(utr) != 12 || p["bank_reference"] == "" {
		t.Fatalf("paid after pending: %v", p)
	}

	rev := c.initiate(c.quote(c.readyForPayout("7777"), "20"), nil)
	expectOK(t, rev, 201)
	rid := rev.obj(t)["id"].(string)
	paid := c.waitPayout(rid, time.Second, 200, hasStatus("SUCCESS"))
	// Reversed 20 minutes after payment; the engine's reversal checks start
	// 30 minutes after it.
	got := c.waitPayout(rid, time.Minute, 300, hasStatus("FAILED"))
	if got["failure_reason"] != offramp.ReasonReversedByBank || got["utr"] != paid["utr"] || got["status_detail"] != "REVERSED" {
		t.Fatalf("after the reversal: %v", got)
	}
	evs := c.do("GET", "/org/api/v1/webhooks/events", nil)
	expectOK(t, evs, 200)
	seq := map[string]float64{}
	for _, r := range evs.obj(t)["results"].([]any) {
		ev := r.(map[string]any)
		if ev["type"] == "PAYOUT" && ev["id"] == rid {
			seq[ev["event"].(string)] = ev["sequence"].(float64)
			if ev["event"] == "FAILED" && ev["metadata"].(map[string]any)["failure_reason"] != offramp.ReasonReversedByBank {
				t.Fatalf("reversal webhook: %v", ev)
			}
		}
	}
	if seq["SUCCESS"] == 0 || seq["FAILED"] <= seq["SUCCESS"] {
		t.Logf("webhook events: %s", evs.Raw)
		t.Fatalf("the reversal's webhooks by sequence: %v, want SUCCESS then FAILED", seq)
	}
	// The customer's limit came back: nothing was received.
	lim := c.do("GET", "/ren/api/v1/payout/limits/"+got["customer_id"].(string), nil).obj(t)
	if lim["available_limit"].(float64) != lim["daily_limit"].(float64) {
		t.Fatalf("limit after a reversal: %v", lim)
	}
}

// A transfer can be linked to a FAILED payout (the crypto is then owed
// back until the refund) but never to a REFUNDED one; the ledger check
// after the test reconciles both.
func TestLinkTransferAfterFailure(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	link := func(order, tx string) resp {
		return c.do("PATCH", "/pos/api/v1/payout/update-transfer-id", map[string]any{"exchange_order_id": order, "exchange_transfer_id": tx})
	}

	never := c.initiate(c.quote(c.readyForPayout("3333"), "20"), nil)
	expectOK(t, never, 201)
	nid, norder := never.obj(t)["id"].(string), never.obj(t)["exchange_order_id"].(string)
	c.waitPayout(nid, time.Second, 200, hasStatus("FAILED"))
	refunded, err := e.Svc.RefundPayout(t.Context(), e.Org.ID, nid)
	if err != nil || refunded.Status != offramp.PayoutRefunded {
		t.Fatalf("refund of a never-funded payout: %v %v", refunded.Status, err)
	}
	expectErr(t, link(norder, "tx-late"), 400, "exchange_order_id", offramp.MsgTransferOnRefunded)

	funded := c.initiate(c.quote(c.readyForPayout("3333"), "20"), nil)
	expectOK(t, funded, 201)
	fid, forder := funded.obj(t)["id"].(string), funded.obj(t)["exchange_order_id"].(string)
	c.waitPayout(fid, time.Second, 200, hasStatus("FAILED"))
	expectOK(t, link(forder, "tx-arrived"), 200)
	rep, err := e.Svc.CheckLedger(t.Context())
	if err != nil || !rep.Balanced() || rep.Payouts < 2 {
		t.Fatalf("ledger with a linked FAILED payout: %v %+v", err, rep.Mismatches)
	}
	if _, err := e.Svc.RefundPayout(t.Context(), e.Org.ID, fid); err != nil {
		t.Fatal(err)
	}
}
