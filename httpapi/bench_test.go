package httpapi_test

import (
	"fmt"
	"testing"
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
