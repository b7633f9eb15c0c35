package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/httpapi"
	"github.com/offramp/offramp/service"
)

// TestIPAllowlist: the test's requests come from 127.0.0.1. An
// organization without an allowlist is served from anywhere; with one that
// does not hold 127.0.0.1 (IPv4 or IPv6 networks, or ::1 alone) every
// signed call, read or write, is a 403 in the envelope and a write does
// nothing; an X-Forwarded-For naming an allowed address changes nothing;
// a request with a bad signature is still a 401 (the allowlist is not
// revealed to whoever lacks the secret); another organization is not
// affected; a list holding 127.0.0.1 (as a network or a single address)
// serves again, and so does clearing it. Every change is audited.
func TestIPAllowlist(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c, other := e.client(), otherClient(t, e, "Unrestricted Exchange")
	set := func(cidrs ...string) {
		t.Helper()
		list, err := offramp.ParseIPAllowlist(cidrs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Svc.SetIPAllowlist(ctx, e.Org.ID, list, "ops@test", ""); err != nil {
			t.Fatal(err)
		}
	}
	refused := func(r resp) {
		t.Helper()
		expectErr(t, r, http.StatusForbidden, "ip_address", httpapi.MsgIPNotAllowed)
		if r.ErrCode != "ip_not_allowed" {
			t.Fatalf("err_code %q: %s", r.ErrCode, r.Raw)
		}
	}
	expectOK(t, c.do("GET", cheapPath, nil), http.StatusOK)

	set("203.0.113.0/24", "2001:db8::/32")
	refused(c.do("GET", cheapPath, nil))
	refused(c.do("GET", "/cms/api/v1/customer/list", nil))
	refused(c.do("POST", "/cms/api/v1/customer/create", map[string]any{
		"full_name": "Outside", "email": "outside@example.com", "phone": "9000000001", "alpha_3_country_code": "IND"}))
	refused(c.doRaw("GET", cheapPath, nil, map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9", "Forwarded": "for=203.0.113.9"}))
	bad := *c
	bad.secret = "not-the-secret"
	expectErr(t, bad.do("GET", cheapPath, nil), http.StatusUnauthorized, "signature", "Invalid Signature")
	expectOK(t, other.do("GET", cheapPath, nil), http.StatusOK)
	if !strings.Contains(e.logs.String(), "not in the organization's IP allowlist") || !strings.Contains(e.logs.String(), `"remote_addr":"127.0.0.1:`) {
		t.Fatalf("a refusal is not logged with the address seen:\n%s", e.logs.String())
	}

	set("::1") // loopback, but not the address this client uses
	refused(c.do("GET", cheapPath, nil))
	set("203.0.113.0/24", "127.0.0.0/8")
	expectOK(t, c.do("GET", cheapPath, nil), http.StatusOK)
	set("127.0.0.1")
	expectOK(t, c.do("GET", cheapPath, nil), http.StatusOK)
	// The refused write did nothing.
	if list := c.do("GET", "/cms/api/v1/customer/list", nil).obj(t); list["count"] != float64(0) {
		t.Fatalf("a write refused by the allowlist created something: %v", list)
	}
	set("192.0.2.0/24")
	refused(c.do("GET", cheapPath, nil))
	set()
	expectOK(t, c.do("GET", cheapPath, nil), http.StatusOK)

	var entries []offramp.AuditEntry
	err := e.Store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		entries, err = tx.AuditEntries(ctx, offramp.ObjectOrg, e.Org.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range entries {
		if a.Action == service.ActionIPAllowlistSet {
			got = append(got, a.Details["was"]+" -> "+a.Details["allowlist"]+" ("+a.Reason+", "+a.Actor+")")
		}
	}
	want := []string{
		" -> 203.0.113.0/24,2001:db8::/32 (IP allowlist set: 2 networks, ops@test)",
		"203.0.113.0/24,2001:db8::/32 -> ::1/128 (IP allowlist set: 1 network, ops@test)",
		"::1/128 -> 127.0.0.0/8,203.0.113.0/24 (IP allowlist set: 2 networks, ops@test)",
		"127.0.0.0/8,203.0.113.0/24 -> 127.0.0.1/32 (IP allowlist set: 1 network, ops@test)",
		"127.0.0.1/32 -> 192.0.2.0/24 (IP allowlist set: 1 network, ops@test)",
		"192.0.2.0/24 ->  (IP allowlist cleared, ops@test)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit of the allowlist:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
