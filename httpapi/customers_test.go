package httpapi_test

import (
	"strings"
	"testing"

	"github.com/offramp/offramp"
)

func TestCustomerCreateFetchList(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := c.do("POST", "/cms/api/v1/customer/create", map[string]any{
		"full_name": "John Doe", "email": "John@Example.com", "phone": "9911002211",
		"alpha_3_country_code": "ind", "client_reference_id": "test123",
		"non_residence_status": "True", "residence_alpha_3_country_code": "USA",
	})
	expectOK(t, r, 200)
	m := r.obj(t)
	for k, want := range map[string]any{
		"full_name": "John Doe", "email": "john@example.com", "phone": "+919911002211", "country": "IND",
		"type": "INDIVIDUAL", "status": "UNVERIFIED", "failure_reason": nil, "client_reference_id": "test123",
		"non_residence_status": true, "residence_alpha_3_country_code": "USA", "document_type": nil,
	} {
		if m[k] != want {
			t.Errorf("%s = %#v, want %#v", k, m[k], want)
		}
	}
	id := m["id"].(string)

	got := c.do("GET", "/cms/api/v1/customer/"+id, nil)
	expectOK(t, got, 200)
	if got.obj(t)["email"] != "john@example.com" {
		t.Fatalf("fetch: %s", got.Raw)
	}

	for i := 0; i < 4; i++ {
		c.newCustomer(nil)
	}
	page := c.do("GET", "/cms/api/v1/customer/list?page=2&page_size=2", nil)
	expectOK(t, page, 200)
	p := page.obj(t)
	if p["count"].(float64) != 5 || len(p["results"].([]any)) != 2 {
		t.Fatalf("page 2 of 2: %s", page.Raw)
	}
	if !strings.Contains(p["next"].(string), "page=3") || !strings.Contains(p["previous"].(string), "page=1") {
		t.Fatalf("links: next %v previous %v", p["next"], p["previous"])
	}
	last := c.do("GET", "/cms/api/v1/customer/list?page=3&page_size=2", nil).obj(t)
	if last["next"] != nil || len(last["results"].([]any)) != 1 {
		t.Fatalf("last page: %v", last)
	}
	expectErr(t, c.do("GET", "/cms/api/v1/customer/list?page=0", nil), 400, "page", "Invalid page.")
}

func TestCustomerCreateErrors(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.newCustomer(map[string]any{"email": "taken@example.com", "phone": "9800000001", "client_reference_id": "ref-1"})
	base := func(over map[string]any) map[string]any {
		b := map[string]any{"full_name": "A B", "email": "new@example.com", "phone": "9800000002", "alpha_3_country_code": "IND"}
		for k, v := range over {
			b[k] = v
		}
		return b
	}
	cases := []struct {
		name         string
		body         map[string]any
		field, error string
	}{
		{"email in use", base(map[string]any{"email": "TAKEN@example.com"}), "email", offramp.MsgEmailInUse},
		{"phone in use", base(map[string]any{"phone": "+919800000001"}), "phone", offramp.MsgPhoneInUse},
		{"client reference exists", base(map[string]any{"client_reference_id": "ref-1"}), "client_reference_id", offramp.MsgClientRefExists},
		{"invalid country code", base(map[string]any{"alpha_3_country_code": "XYZ"}), "alpha_3_country_code", "Invalid country code"},
		{"email required", base(map[string]any{"email": ""}), "email", "email: This field is required."},
		{"bad email", base(map[string]any{"email": "not-an-email"}), "email", "email: Enter a valid email address."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do("POST", "/cms/api/v1/customer/create", tc.body)
			if r.Code != 400 || r.Message != tc.error {
				t.Fatalf("want 400 %q, got %d %s", tc.error, r.Code, r.Raw)
			}
			if len(r.Fields[tc.field]) == 0 {
				t.Fatalf("errors lack %s: %s", tc.field, r.Raw)
			}
		})
	}
	// Several problems at once are all reported.
	r := c.do("POST", "/cms/api/v1/customer/create", map[string]any{})
	if r.Code != 400 || r.Message != "Bad Request" || len(r.Fields) != 4 {
		t.Fatalf("empty body: %s", r.Raw)
	}
}

func TestCustomersAreScopedToTheirOrganization(t *testing.T) {
	e := newEnv(t)
	a := e.client()
	id := a.newCustomer(nil)

	other, err := e.Svc.CreateOrg(t.Context(), "Other Exchange", offramp.EnvSandbox, "test")
	if err != nil {
		t.Fatal(err)
	}
	b := e.client()
	b.key, b.secret = other.APIKey, other.APISecret
	for _, path := range []string{"/cms/api/v1/customer/" + id, "/cms/api/v1/kyc/configuration/" + id, "/cms/api/v1/bank/list/" + id, "/cms/api/v1/customer/not-a-uuid"} {
		expectErr(t, b.do("GET", path, nil), 400, "customer_id", offramp.MsgCustomerNotFound)
	}
	expectErr(t, b.do("POST", "/cms/api/v1/kyc/add-kyc-data", kycBody(id, nil)), 400, "customer_id", offramp.MsgCustomerNotFound)
	list := b.do("GET", "/cms/api/v1/customer/list", nil).obj(t)
	if list["count"].(float64) != 0 {
		t.Fatalf("org B sees org A's customers: %v", list)
	}
	// The same email is free in another organization.
	r := b.do("POST", "/cms/api/v1/customer/create", map[string]any{
		"full_name": "Ravi Kumar", "email": a.do("GET", "/cms/api/v1/customer/"+id, nil).obj(t)["email"],
		"phone": "9700000000", "alpha_3_country_code": "IND",
	})
	expectOK(t, r, 200)
}
