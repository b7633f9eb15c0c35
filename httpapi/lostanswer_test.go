package httpapi_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/rail"
)

// existingPayout is the existing_payout_id of an error answer, "" when
// there is none.
func existingPayout(t *testing.T, r resp) string {
	t.Helper()
	var e struct {
		ID *string `json:"existing_payout_id"`
	}
	if err := json.Unmarshal(r.Raw, &e); err != nil {
		t.Fatalf("not JSON: %s", r.Raw)
	}
	if e.ID == nil {
		return ""
	}
	if *e.ID == "" {
		t.Fatalf("existing_payout_id sent empty: %s", r.Raw)
	}
	return *e.ID
}

// TestInitiateRetryAfterLostAnswer: an exchange's initiate timed out after
// the server had answered 201 (the answer was lost on the way back), and
// the exchange retries without an Idempotency-Key. The retry is refused,
// as DollarPe refuses it, and the refusal names the payout the first
// attempt made (existing_payout_id); history finds that payout by client
// reference or by exchange order.
func TestInitiateRetryAfterLostAnswer(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	// An account whose bank keeps transfers pending for minutes: the
	// payouts stay PROCESSING while the test moves the clock by seconds.
	ps := c.readyForPayout(rail.EndingPending)
	initiate := func(body map[string]any) resp {
		t.Helper()
		// A retry is signed anew (same body, a later timestamp): the
		// first signature would be refused as a replay.
		e.Clock.Advance(time.Second)
		return c.do("POST", "/pos/api/v1/payout/initiate", body)
	}
	history := func(query string, want ...string) {
		t.Helper()
		p := c.page("/pos/api/v1/payout/history?" + query)
		if got := pageIDs(p); p.Count != len(want) || !slices.Equal(got, want) {
			t.Fatalf("history?%s: count %d, ids %v; want %v", query, p.Count, got, want)
		}
	}
	// Another payout of the organization, which none of the filters below
	// may list. (Quotations differ by amount: an identical signed body in
	// the same second would be a replay.)
	expectOK(t, c.initiate(c.quote(ps, "10"), nil), 201)

	q := c.quote(ps, "11")
	first := map[string]any{"quotation_id": q["id"], "customer_id": ps.customer, "exchange_order_id": "lost-order-1", "client_reference_id": "lost-ref-1"}
	r := initiate(first)
	expectOK(t, r, 201)
	id1 := r.obj(t)["id"].(string)
	if got := existingPayout(t, r); got != "" {
		t.Fatalf("a success names an existing payout: %s", r.Raw)
	}

	// The retry, unchanged: its client reference is taken, by id1.
	r = initiate(first)
	expectErr(t, r, 400, "client_reference_id", offramp.MsgClientRefExists)
	if got := existingPayout(t, r); got != id1 {
		t.Fatalf("existing_payout_id %q, want %s: %s", got, id1, r.Raw)
	}
	// A retry without a client reference finds the quotation linked, to
	// id1; with a fresh quotation, the order's live payout, id1.
	r = initiate(map[string]any{"quotation_id": q["id"], "customer_id": ps.customer, "exchange_order_id": "lost-order-1"})
	expectErr(t, r, 400, "quotation_id", offramp.MsgQuotationLinked)
	if got := existingPayout(t, r); got != id1 {
		t.Fatalf("linked quotation: existing_payout_id %q, want %s", got, id1)
	}
	q2 := c.quote(ps, "12")
	r = initiate(map[string]any{"quotation_id": q2["id"], "customer_id": ps.customer, "exchange_order_id": "lost-order-1"})
	expectErr(t, r, 400, "exchange_order_id", offramp.MsgOrderInUse)
	if got := existingPayout(t, r); got != id1 {
		t.Fatalf("order in use: existing_payout_id %q, want %s", got, id1)
	}
	// Other refusals name no payout.
	r = initiate(map[string]any{"quotation_id": "00000000-0000-4000-8000-000000000000", "customer_id": ps.customer, "exchange_order_id": "lost-order-1", "client_reference_id": "lost-ref-9"})
	expectErr(t, r, 400, "quotation_id", offramp.MsgQuotationNotFound)
	if got := existingPayout(t, r); got != "" {
		t.Fatalf("an unknown quotation names payout %s", got)
	}

	// History finds exactly id1 by either reference, alone or with the
	// other filters.
	day := e.Clock.Now().In(time.FixedZone("IST", 19800)).Format(time.DateOnly)
	history("client_reference_id=lost-ref-1", id1)
	history("exchange_order_id=lost-order-1", id1)
	history("client_reference_id=lost-ref-1&exchange_order_id=lost-order-1&payout_status=PROCESSING&customer_id="+ps.customer+
		"&start_date="+day+"&end_date="+day, id1)
	history("exchange_order_id=lost-order-1&payout_status=FAILED")
	history("client_reference_id=lost-ref-1&exchange_order_id=another-order")
	history("client_reference_id=no-such-ref")
	history("client_reference_id=%20lost-ref-1%20", id1) // trimmed, as initiate stores it
	// Another organization's history knows neither.
	org2, err := e.Svc.CreateOrg(t.Context(), "Other", offramp.EnvSandbox, "test")
	if err != nil {
		t.Fatal(err)
	}
	c2 := e.client()
	c2.key, c2.secret = org2.APIKey, org2.APISecret
	for _, query := range []string{"client_reference_id=lost-ref-1", "exchange_order_id=lost-order-1"} {
		if p := c2.page("/pos/api/v1/payout/history?" + query); p.Count != 0 || len(p.Results) != 0 {
			t.Fatalf("another organization's history?%s: %v", query, pageIDs(p))
		}
	}

	// Once id1 has FAILED the order may be paid again (DollarPe's rule),
	// and its filter lists both payouts, newest first.
	e.Clock.Advance(time.Second)
	r = c.do("PATCH", "/pos/api/v1/payout/mock-payout-status", map[string]any{"payout_id": id1, "payout_status": "FAILED"})
	expectOK(t, r, 200)
	if got := r.obj(t)["payout_status"]; got != "FAILED" {
		t.Fatalf("mock FAILED left the payout %v", got)
	}
	r = initiate(map[string]any{"quotation_id": q2["id"], "customer_id": ps.customer, "exchange_order_id": "lost-order-1", "client_reference_id": "lost-ref-2"})
	expectOK(t, r, 201)
	id2 := r.obj(t)["id"].(string)
	history("exchange_order_id=lost-order-1", id2, id1)
	history("exchange_order_id=lost-order-1&payout_status=FAILED", id1)
	history("exchange_order_id=lost-order-1&payout_status=PROCESSING", id2)
	history("client_reference_id=lost-ref-2", id2)
	history("client_reference_id=lost-ref-1", id1)
	// Page by page: the links keep the filter.
	p := c.page("/pos/api/v1/payout/history?exchange_order_id=lost-order-1&page_size=1")
	if p.Count != 2 || !slices.Equal(pageIDs(p), []string{id2}) || p.Next == nil {
		t.Fatalf("first page: %+v", p)
	}
	if u, _ := url.Parse(*p.Next); u.Query().Get("exchange_order_id") != "lost-order-1" {
		t.Fatalf("next link drops the filter: %s", *p.Next)
	}
	p = c.page(pageTarget(t, e, *p.Next, "/pos/api/v1/payout/history"))
	if p.Count != 2 || !slices.Equal(pageIDs(p), []string{id1}) || p.Next != nil {
		t.Fatalf("second page: %+v", p)
	}

	// The order's live payout is id2 now: a further attempt names it, not
	// the failed id1.
	r = initiate(map[string]any{"quotation_id": c.quote(ps, "13")["id"], "customer_id": ps.customer, "exchange_order_id": "lost-order-1"})
	expectErr(t, r, 400, "exchange_order_id", offramp.MsgOrderInUse)
	if got := existingPayout(t, r); got != id2 {
		t.Fatalf("order in use after a retry: existing_payout_id %q, want %s", got, id2)
	}
	// A client reference of a FAILED payout stays taken.
	r = initiate(map[string]any{"quotation_id": c.quote(ps, "14")["id"], "customer_id": ps.customer, "exchange_order_id": "lost-order-2", "client_reference_id": "lost-ref-1"})
	expectErr(t, r, 400, "client_reference_id", offramp.MsgClientRefExists)
	if got := existingPayout(t, r); got != id1 {
		t.Fatalf("client reference of a failed payout: existing_payout_id %q, want %s", got, id1)
	}
}
