package httpapi_test

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// TestConcurrentInitiatesKeepTheRules fires initiations at once, on both
// engines (initiations run row-locked, at READ COMMITTED, on PostgreSQL),
// and checks the rules that concurrency could break: a customer's daily
// limit, a quotation paying once, and one live payout per exchange order.
// Every answer is a documented one: no 5xx.
func TestConcurrentInitiatesKeepTheRules(t *testing.T) {
	e := newEnv(t)
	c := e.client()

	// fire sends the bodies at once and returns the answers in order.
	fire := func(bodies []map[string]any) []resp {
		out := make([]resp, len(bodies))
		raws := make([][]byte, len(bodies))
		for i, b := range bodies {
			raws[i] = mustJSON(t, b)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range bodies {
			wg.Go(func() {
				<-start
				out[i] = c.doRaw("POST", "/pos/api/v1/payout/initiate", raws[i], nil)
			})
		}
		close(start)
		wg.Wait()
		return out
	}
	// tally counts the 201s and checks that every other answer is the
	// documented refusal.
	tally := func(what string, rs []resp, code int, message string) int {
		t.Helper()
		ok := 0
		for _, r := range rs {
			switch {
			case r.Code == 201:
				ok++
			case r.Code == code && r.Message == message:
			default:
				t.Errorf("%s: want 201 or %d %q, got %d: %s", what, code, message, r.Code, r.Raw)
			}
		}
		return ok
	}

	// The daily limit (₹2,00,000): 1,000 USDT is ₹88,500, so two fit and
	// the third would go over. Six at once: exactly two pass.
	ps := c.readyForPayout("")
	var bodies []map[string]any
	for i := range 6 {
		q := c.quote(ps, fmt.Sprintf("1000.00000%d", i+1))
		bodies = append(bodies, map[string]any{"quotation_id": q["id"], "customer_id": ps.customer, "exchange_order_id": "limit-" + strconv.Itoa(i)})
	}
	rs := fire(bodies)
	if n := tally("daily limit", rs, 400, offramp.MsgEDDRequired); n != 2 {
		t.Fatalf("daily limit: %d of 6 initiations passed, want 2", n)
	}
	lim := c.do("GET", "/ren/api/v1/payout/limits/"+ps.customer, nil).obj(t)
	// The gross INR of a payout is its sending amount at its rate.
	gross := decimal.Zero
	for _, r := range rs {
		if r.Code == 201 {
			p := r.obj(t)
			amt := decimal.RequireFromString(fmt.Sprint(p["sending_amount"]))
			rate := decimal.RequireFromString(fmt.Sprint(p["rate"]))
			gross = gross.Add(amt.Mul(rate))
		}
	}
	want, _ := decimal.NewFromInt(200000).Sub(gross).Round(2).Float64()
	if avail := lim["available_limit"].(float64); avail < 0 || math.Abs(avail-want) > 0.01 {
		t.Fatalf("available limit %v after payouts of ₹%s in all, want %v", avail, gross, want)
	}

	// One quotation, four initiations with different orders: one pays.
	ps2 := c.readyForPayout("")
	q := c.quote(ps2, "100")
	bodies = nil
	for i := range 4 {
		bodies = append(bodies, map[string]any{"quotation_id": q["id"], "customer_id": ps2.customer, "exchange_order_id": "quote-once-" + strconv.Itoa(i)})
	}
	if n := tally("one quotation", fire(bodies), 400, offramp.MsgQuotationLinked); n != 1 {
		t.Fatalf("one quotation: %d initiations passed, want 1", n)
	}

	// One exchange order, four quotations at once: one live payout.
	bodies = nil
	for i := range 4 {
		q := c.quote(ps2, fmt.Sprintf("100.00000%d", i+1))
		bodies = append(bodies, map[string]any{"quotation_id": q["id"], "customer_id": ps2.customer, "exchange_order_id": "one-order"})
	}
	if n := tally("one order", fire(bodies), 400, offramp.MsgOrderInUse); n != 1 {
		t.Fatalf("one exchange order: %d initiations passed, want 1", n)
	}
}
