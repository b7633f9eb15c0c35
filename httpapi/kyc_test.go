package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/offramp/offramp"
)

func TestKYCVerifiesAfterDelay(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	id := c.newCustomer(nil)
	r := c.do("POST", "/cms/api/v1/kyc/add-kyc-data", kycBody(id, nil))
	expectOK(t, r, 200)
	if m := r.obj(t); m["status"] != "PROCESSING" || m["id"] != id || m["failure_reason"] != nil {
		t.Fatalf("add-kyc-data: %s", r.Raw)
	}
	// Not before the delay...
	e.Clock.Advance(1500e6)
	if s, _ := c.customerStatus(id); s != "PROCESSING" {
		t.Fatalf("decided before the delay: %s", s)
	}
	// ...and soon after it.
	if s, reason := c.settleCustomer(id); s != "VERIFIED" || reason != nil {
		t.Fatalf("got %s %v, want VERIFIED", s, reason)
	}
	if got := c.do("GET", "/cms/api/v1/customer/"+id, nil).obj(t)["document_type"]; got != "AADHAAR" {
		t.Fatalf("document_type = %v", got)
	}
	expectErr(t, c.do("POST", "/cms/api/v1/kyc/add-kyc-data", kycBody(id, nil)), 400, "customer_id", offramp.MsgKYCExists)

	// Every change is recorded as an event, in order.
	var events []offramp.Event
	_ = e.Store.View(t.Context(), func(tx offramp.ReadTx) error {
		uid := mustUUID(t, id)
		var err error
		events, err = tx.Events(t.Context(), e.Org.ID, offramp.ObjectCustomer, uid)
		return err
	})
	if len(events) != 2 || events[0].Event != "PROCESSING" || events[1].Event != "VERIFIED" || events[1].Sequence != 2 {
		t.Fatalf("events: %+v", events)
	}
}

func TestKYCMagicValues(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	cases := []struct {
		name   string
		over   map[string]any
		reason string
	}{
		{"tax", map[string]any{"tax_number": "AAAAA0000A"}, offramp.ReasonTaxVerificationFailed},
		{"document", map[string]any{"document_details": map[string]any{"document_number": "000000000000"}}, offramp.ReasonDocumentVerificationFailed},
		{"selfie", map[string]any{"selfie_url": "https://sandbox.example/selfie-fail.jpg"}, offramp.ReasonSelfieVerificationFailed},
		{"selfie check false", map[string]any{"selfie_verification_status": "False"}, offramp.ReasonSelfieVerificationFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := c.newCustomer(nil)
			expectOK(t, c.do("POST", "/cms/api/v1/kyc/add-kyc-data", kycBody(id, tc.over)), 200)
			if s, reason := c.settleCustomer(id); s != "FAILED" || reason != tc.reason {
				t.Fatalf("got %s %v, want FAILED %s", s, reason, tc.reason)
			}
		})
	}
}

func TestKYCValidationAndIdentityReuse(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	id := c.newCustomer(nil)
	r := c.do("POST", "/cms/api/v1/kyc/add-kyc-data", map[string]any{"customer_id": id})
	if r.Code != 400 || r.Message != "Bad Request" || len(r.Fields["tax_number"]) == 0 || len(r.Fields["dob"]) == 0 {
		t.Fatalf("empty KYC: %s", r.Raw)
	}
	expectErr(t, c.do("POST", "/cms/api/v1/kyc/add-kyc-data", kycBody(id, map[string]any{"dob": "31-02-1990"})), 400, "dob", "dob: Enter a valid date in DD-MM-YYYY format.")

	first := kycBody(id, nil)
	expectOK(t, c.do("POST", "/cms/api/v1/kyc/add-kyc-data", first), 200)
	other := c.newCustomer(nil)
	expectErr(t, c.do("POST", "/cms/api/v1/kyc/add-kyc-data", kycBody(other, map[string]any{"tax_number": first["tax_number"]})), 400, "tax_number", offramp.MsgKYCInUse)
	expectErr(t, c.do("POST", "/cms/api/v1/kyc/add-kyc-data", kycBody(other, map[string]any{"document_details": first["document_details"]})), 400, "document_number", offramp.MsgKYCInUse)
}

func TestKYCUpdatesAreLimited(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	id := c.newCustomer(nil)
	expectOK(t, c.do("POST", "/cms/api/v1/kyc/add-kyc-data", kycBody(id, map[string]any{"tax_number": "AAAAA0000A"})), 200)
	if s, _ := c.settleCustomer(id); s != "FAILED" {
		t.Fatalf("want FAILED, got %s", s)
	}
	// Fixing the PAN re-runs verification.
	r := c.do("PATCH", "/cms/api/v1/kyc/update-tax-info", map[string]any{"customer_id": id, "tax_number": "CLBPG5935N"})
	expectOK(t, r, 200)
	if r.obj(t)["status"] != "PROCESSING" {
		t.Fatalf("update-tax-info: %s", r.Raw)
	}
	if s, _ := c.settleCustomer(id); s != "VERIFIED" {
		t.Fatalf("after fix: %s", s)
	}
	expectOK(t, c.do("PATCH", "/cms/api/v1/kyc/update-selfie-info", map[string]any{"customer_id": id, "selfie_url": "https://sandbox.example/s2.jpg"}), 200)
	expectOK(t, c.do("POST", "/cms/api/v1/kyc/update-additional-info", map[string]any{"customer_id": id, "additional_info": map[string]any{"profession": "Doctor", "income_range": "25L+"}}), 200)
	expectErr(t, c.do("PATCH", "/cms/api/v1/kyc/update-tax-info", map[string]any{"customer_id": id, "tax_number": "CLBPG5936N"}), 400, "customer_id", offramp.MsgLimitExceeded)
	expectErr(t, c.do("PATCH", "/cms/api/v1/kyc/update-selfie-info", map[string]any{"customer_id": id, "selfie_url": "https://sandbox.example/s3.jpg"}), 400, "customer_id", offramp.MsgKYCUpdateLimit)
	expectErr(t, c.do("PATCH", "/cms/api/v1/kyc/update-document-info", map[string]any{
		"customer_id": id, "full_address": "x", "document_type": "AADHAAR", "document_front_image_url": "https://a.example/f.jpg",
		"document_back_image_url": "https://a.example/b.jpg", "document_details": map[string]any{"document_number": "123412341234"},
	}), 400, "customer_id", offramp.MsgKYCUpdateLimit)
}

func TestResetAndMockKYCStatus(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	id := c.newCustomer(nil)
	mock := func(status string) resp {
		return c.do("PATCH", "/cms/api/v1/kyc/mock-kyc-status", map[string]any{"customer_id": id, "kyc_status": status})
	}
	// UNVERIFIED cannot change.
	if r := mock("VERIFIED"); r.Code != 400 {
		t.Fatalf("UNVERIFIED -> VERIFIED allowed: %s", r.Raw)
	}
	expectOK(t, c.do("POST", "/cms/api/v1/kyc/add-kyc-data", kycBody(id, nil)), 200)
	r := mock("DOCUMENT_VERIFICATION_FAILED")
	expectOK(t, r, 200)
	if m := r.obj(t); m["status"] != "FAILED" || m["failure_reason"] != "DOCUMENT_VERIFICATION_FAILED" {
		t.Fatalf("mock failed: %s", r.Raw)
	}
	// The pending sandbox verification must not overturn the mock.
	e.Clock.Advance(5e9)
	if s, _ := c.customerStatus(id); s != "FAILED" {
		t.Fatalf("mock overturned: %s", s)
	}
	if r := mock("VERIFIED"); r.Code != 400 {
		t.Fatalf("FAILED -> VERIFIED allowed: %s", r.Raw)
	}
	expectOK(t, mock("UNVERIFIED"), 200)
	expectOK(t, c.do("POST", "/cms/api/v1/kyc/add-kyc-data", kycBody(id, nil)), 200)
	// The same body again needs a new timestamp: a signature is single-use.
	e.Clock.Advance(1e9)
	expectOK(t, mock("VERIFIED"), 200)

	r = c.do("POST", "/cms/api/v1/kyc/reset-kyc", map[string]any{"customer_id": id})
	expectOK(t, r, 200)
	if r.obj(t)["status"] != "UNVERIFIED" {
		t.Fatalf("reset: %s", r.Raw)
	}
	if got := c.do("GET", "/cms/api/v1/customer/"+id, nil).obj(t)["document_type"]; got != nil {
		t.Fatalf("reset kept the KYC: document_type %v", got)
	}
}

func TestKYCConfiguration(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	id := c.newCustomer(nil)
	r := c.do("GET", "/cms/api/v1/kyc/configuration/"+id, nil)
	expectOK(t, r, 200)
	m := r.obj(t)
	if len(m["supported_document_types"].([]any)) != 4 {
		t.Fatalf("configuration: %s", r.Raw)
	}
	rules := m["additional_info_required"].(map[string]any)["rules"].(map[string]any)
	if rules["type"] != "allOf" || rules["min_required"].(float64) != 2 {
		t.Fatalf("rules: %v", rules)
	}
}

func TestHostedKYCLink(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for _, decision := range []string{"approve", "reject"} {
		t.Run(decision, func(t *testing.T) {
			id := c.newCustomer(nil)
			r := c.do("POST", "/cms/api/v1/kyc/generate-link", map[string]any{"customer_id": id, "redirect_url": "https://exchange.example/kyc-done"})
			expectOK(t, r, 200)
			link := r.obj(t)["url"].(string)
			if !strings.HasPrefix(link, e.URL+"/sandbox/kyc/") {
				t.Fatalf("link %s", link)
			}
			page, err := http.Get(link)
			if err != nil || page.StatusCode != 200 {
				t.Fatalf("GET link: %v %v", err, page)
			}
			page.Body.Close()
			res, err := http.PostForm(link, url.Values{"decision": {decision}, "reason": {"DOCUMENT_VERIFICATION_FAILED"}})
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("POST decision: %v %v", err, res)
			}
			res.Body.Close()
			status, reason := c.customerStatus(id)
			if decision == "approve" && status != "VERIFIED" {
				t.Fatalf("approved customer is %s", status)
			}
			if decision == "reject" && (status != "FAILED" || reason != "DOCUMENT_VERIFICATION_FAILED") {
				t.Fatalf("rejected customer is %s %v", status, reason)
			}
			// A decided link cannot be used again, and a forged one never.
			res, _ = http.PostForm(link, url.Values{"decision": {"approve"}})
			res.Body.Close()
			if res.StatusCode != 400 {
				t.Fatalf("second decision: %d", res.StatusCode)
			}
			res, _ = http.Get(link[:len(link)-3] + "AAA")
			res.Body.Close()
			if res.StatusCode != 404 {
				t.Fatalf("forged link: %d", res.StatusCode)
			}
		})
	}
}
