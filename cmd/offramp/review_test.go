package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/server"
	"github.com/offramp/offramp/vault"
)

// An operator's day with a payout the bank never settles: it goes to
// IN_REVIEW at the settlement deadline, `admin payouts list` shows it with
// its bank reference, age and the bank's last answer, and `admin payouts
// resolve` settles it (paid, failed, or asked again), after which the API
// shows the decision and the books still reconcile.
func TestAdminPayoutsResolve(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "offramp.db")
	s := startServe(t, bin, dir, "--verify-delay", "200ms", "--rail-delay", "200ms", "--rail-timeout", "1s",
		"--settlement-deadline", "3s", "--job-lease", "12s")
	ids := inReviewPayouts(t, s, 3)
	do := func(method, path string, body map[string]any) map[string]any {
		return signedDo(t, s.base, method, path, s.key, s.secret, body)
	}

	run := func(args ...string) (string, error) {
		out, err := exec.Command(bin, append(append([]string{"admin", "payouts"}, args...), "--db", db)...).CombinedOutput()
		return string(out), err
	}
	out, err := run("list", "--status", "IN_REVIEW", "--json")
	if err != nil {
		t.Fatalf("list: %v\n%s", err, out)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if len(rows) != 3 {
		t.Fatalf("list shows %d IN_REVIEW payouts, want 3:\n%s", len(rows), out)
	}
	for _, r := range rows {
		if !strings.HasPrefix(r["bank_reference"].(string), "OFR") || r["review_reason"] != "SETTLEMENT_OVERDUE" ||
			r["last_bank_answer"] != "ACCEPTED" || r["status_detail"] != "MANUAL_REVIEW" {
			t.Fatalf("list row: %v", r)
		}
	}
	if out, err := run("list", "--status", "IN_REVIEW"); err != nil || !strings.Contains(out, "BANK REFERENCE") || !strings.Contains(out, "SETTLEMENT_OVERDUE") {
		t.Fatalf("list (table): %v\n%s", err, out)
	}

	// Mistakes are refused with a reason and change nothing.
	for _, bad := range [][]string{
		{"resolve", "--payout", ids[0], "--paid", "--why", "no utr given"},
		{"resolve", "--payout", ids[0], "--paid", "--failed", "--utr", "412345678901", "--why", "both"},
		{"resolve", "--payout", ids[0], "--paid", "--utr", "412345678901"},
		{"resolve", "--payout", "not-an-id", "--paid", "--utr", "412345678901", "--why", "x"},
	} {
		if out, err := run(bad...); err == nil {
			t.Fatalf("%v succeeded:\n%s", bad, out)
		}
	}

	out, err = run("resolve", "--payout", ids[0], "--paid", "--utr", "412345678901", "--why", "bank statement shows the credit", "--by", "asha")
	if err != nil || !strings.Contains(out, "SUCCESS") {
		t.Fatalf("resolve --paid: %v\n%s", err, out)
	}
	if p := do("GET", "/pos/api/v1/payout/"+ids[0], nil); p["status"] != "SUCCESS" || p["utr"] != "412345678901" {
		t.Fatalf("after resolve --paid: %v", p)
	}
	if out, err := run("resolve", "--payout", ids[0], "--failed", "--reason", "LATE", "--why", "again"); err == nil || !strings.Contains(out, "Only an IN_REVIEW payout") {
		t.Fatalf("resolving a settled payout: %v\n%s", err, out)
	}
	out, err = run("resolve", "--payout", ids[1], "--failed", "--reason", "BENEFICIARY_BANK_REJECTED", "--why", "bank: account frozen")
	if err != nil || !strings.Contains(out, "FAILED") {
		t.Fatalf("resolve --failed: %v\n%s", err, out)
	}
	if p := do("GET", "/pos/api/v1/payout/"+ids[1], nil); p["status"] != "FAILED" || p["failure_reason"] != "BENEFICIARY_BANK_REJECTED" {
		t.Fatalf("after resolve --failed: %v", p)
	}
	out, err = run("resolve", "--payout", ids[2], "--reinquire", "--why", "ask again")
	if err != nil || !strings.Contains(out, "re-inquiry scheduled") {
		t.Fatalf("resolve --reinquire: %v\n%s", err, out)
	}
	out, err = run("list", "--status", "IN_REVIEW", "--json")
	if err != nil || !strings.Contains(out, ids[2]) || strings.Contains(out, ids[0]) {
		t.Fatalf("list after the decisions: %v\n%s", err, out)
	}

	check, err := exec.Command(bin, "admin", "ledger", "check", "--db", db).CombinedOutput()
	if err != nil || !strings.Contains(string(check), "ledger balanced") || !strings.Contains(string(check), "payouts reconciled: 3, not reconciling: 0") {
		t.Fatalf("ledger check: %v\n%s", err, check)
	}
	s.stop(t)

	// A transfer id written behind the engine's back (no journal): the
	// books still balance as a whole, but the payout no longer reconciles
	// and the check says so and fails.
	key, _, err := vault.LoadOrCreateKeyFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := server.OpenStore(t.Context(), db, key, offramp.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(t.Context(), func(tx offramp.Tx) error {
		p, err := tx.PayoutAnyOrg(t.Context(), uuid.MustParse(ids[0]))
		if err != nil {
			return err
		}
		p.ExchangeTransferID = "tx-forged"
		return tx.UpdatePayout(t.Context(), p, p.Status, p.Phase)
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	check, err = exec.Command(bin, "admin", "ledger", "check", "--db", db).CombinedOutput()
	if err == nil || !strings.Contains(string(check), "MISMATCH payout "+ids[0]) || !strings.Contains(string(check), "exchange_crypto_receivable") {
		t.Fatalf("ledger check over a payout that does not reconcile: %v\n%s", err, check)
	}
}

// inReviewPayouts makes n payouts to a sandbox account ending 5555 (the
// bank takes the transfer and never settles it) on a server started with a
// short --settlement-deadline, and waits until each is IN_REVIEW.
func inReviewPayouts(t *testing.T, s *serveProc, n int) []string {
	t.Helper()
	do := func(method, path string, body map[string]any) map[string]any {
		return signedDo(t, s.base, method, path, s.key, s.secret, body)
	}
	wait := func(path, field string, done func(any) bool) map[string]any {
		var got map[string]any
		s.eventually(t, path+" "+field, func() (bool, string) {
			got = do("GET", path, nil)
			return done(got[field]), fmt.Sprintf("%s: %s still %v", path, field, got[field])
		})
		return got
	}
	c := do("POST", "/cms/api/v1/customer/create", map[string]any{"full_name": "Review Test", "email": "review@example.com", "phone": "9876543219", "alpha_3_country_code": "IND"})
	cust := c["id"].(string)
	do("POST", "/cms/api/v1/kyc/add-kyc-data", map[string]any{
		"customer_id": cust, "full_name": "Review Test", "full_address": "1 Test Road", "dob": "01-01-1990",
		"registered_date": "01-01-2024", "tax_number": "ABCPR1234N", "document_type": "AADHAAR",
		"document_front_image_url": "https://x.example/f.jpg", "document_back_image_url": "https://x.example/b.jpg",
		"document_details": map[string]any{"document_number": "123412341299"}, "selfie_url": "https://x.example/s.jpg",
		"selfie_verification_status": true})
	wait("/cms/api/v1/customer/"+cust, "status", func(v any) bool { return v == "VERIFIED" })
	// 5555: the sandbox bank takes the transfer and never settles it.
	bank := do("POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": "1234565555", "ifsc": "SBIN0001829"})["id"].(string)
	wait("/cms/api/v1/bank/"+cust+"/"+bank, "bank_account_status", func(v any) bool { return v == "VERIFIED" })
	var ids []string
	for i := range n {
		// Amounts differ: identical bodies in one second would carry one
		// signature, which is single-use.
		q := do("POST", "/pos/api/v1/payout/quotation", map[string]any{"asset": "USDT", "fiat": "INR", "sending_amount": 25 + i, "customer_id": cust, "bank_id": bank})
		p := do("POST", "/pos/api/v1/payout/initiate", map[string]any{"quotation_id": q["id"], "customer_id": cust, "exchange_order_id": "review-" + string(rune('a'+i))})
		ids = append(ids, p["id"].(string))
	}
	for _, id := range ids {
		wait("/pos/api/v1/payout/"+id, "status", func(v any) bool { return v == "IN_REVIEW" })
	}

	return ids
}
