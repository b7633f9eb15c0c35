package httpapi_test

import (
	"fmt"
	"github.com/shopspring/decimal"
	"testing"
	"time"
)

// BenchmarkCreateCustomer measures one signed POST /customer/create through
// a real listener: signature check, single-use signature record, uniqueness
// checks and the insert, each write committed with synchronous=FULL.
func BenchmarkCreateCustomer(b *testing.B) {
	e := newEnv(b)
	c := e.client()
	for i := 0; b.Loop(); i++ {
		r := c.do("POST", "/cms/api/v1/customer/create", map[string]any{
			"full_name": "Bench User", "email": fmt.Sprintf("bench%d@example.com", i),
			"phone": fmt.Sprintf("+9187%08d", i), "alpha_3_country_code": "IND",
		})
		if r.Code != 200 {
			b.Fatalf("%d %s", r.Code, r.Raw)
		}
	}
}

// BenchmarkGetCustomer measures one signed GET /customer/{id}: a read on
// the read pool, no write at all.
func BenchmarkGetCustomer(b *testing.B) {
	e := newEnv(b)
	c := e.client()
	id := c.newCustomer(nil)
	for b.Loop() {
		if r := c.do("GET", "/cms/api/v1/customer/"+id, nil); r.Code != 200 {
			b.Fatalf("%d %s", r.Code, r.Raw)
		}
	}
}

// BenchmarkQuoteAndInitiate measures the two write calls of a payout: a
// signed quotation (rate, fees, limits) and a signed initiate (quotation
// link, limit counter, journal, event and job in one transaction).
func BenchmarkQuoteAndInitiate(b *testing.B) {
	e := newEnv(b, func(o *envOpts) {
		o.payouts.DailyLimit = decimal.New(1, 12)
		o.payouts.EDDDailyLimit = decimal.New(1, 12)
	})
	c := e.client()
	ps := c.readyForPayout("")
	for i := 0; b.Loop(); i++ {
		e.Clock.Advance(time.Second) // a fresh timestamp, so signatures differ
		r := c.do("POST", "/pos/api/v1/payout/quotation", map[string]any{"asset": "USDT", "fiat": "INR", "sending_amount": "10.5", "customer_id": ps.customer, "bank_id": ps.bank})
		if r.Code != 200 {
			b.Fatalf("%d %s", r.Code, r.Raw)
		}
		q := r.obj(b)
		body := mustJSON(b, map[string]any{"quotation_id": q["id"], "customer_id": ps.customer, "exchange_order_id": fmt.Sprintf("bench-%d", i)})
		if r := c.doRaw("POST", "/pos/api/v1/payout/initiate", body, nil); r.Code != 201 {
			b.Fatalf("%d %s", r.Code, r.Raw)
		}
	}
}
