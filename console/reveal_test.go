package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/console"
)

// Personal values of the customer revealKYC makes: each must appear on a
// page only in the answer to a reveal that asked for it.
const (
	revealPAN      = "ABCPE1234F"
	revealDocument = "987654321012"
	revealPhone    = "+919812345678"
	revealEmail    = "priya.sharma@example.com"
	revealAccount  = "50100123456789"
	revealVPA      = "priya.sharma@oksbi"
)

// revealCustomer makes a customer with submitted KYC, a bank account and a
// UPI VPA.
func (w *world) revealCustomer() offramp.Customer {
	w.t.Helper()
	now := w.clk.Now()
	c := offramp.Customer{ID: uuid.New(), OrgID: w.org.ID, ClientReferenceID: "cust-reveal", FullName: "Priya Sharma",
		Email: revealEmail, Phone: revealPhone, Country: "IND", Status: offramp.CustomerVerified, CreatedAt: now, UpdatedAt: now,
		KYC: &offramp.KYC{FullName: "Priya Sharma", Phone: revealPhone, FullAddress: "12 MG Road, Bengaluru", DOB: "01-02-1990",
			TaxNumber: revealPAN, DocumentType: "AADHAAR", DocumentNumber: revealDocument, SelfieVerificationStatus: true, SubmittedAt: now}}
	acct := offramp.BankAccount{ID: uuid.New(), OrgID: w.org.ID, CustomerID: c.ID, Type: offramp.BankAccountDetails,
		AccountNumber: revealAccount, IFSC: "HDFC0001234", AccountName: c.FullName, Status: offramp.BankVerified, CreatedAt: now, UpdatedAt: now}
	vpa := offramp.BankAccount{ID: uuid.New(), OrgID: w.org.ID, CustomerID: c.ID, Type: offramp.BankVPA,
		VPA: revealVPA, AccountName: c.FullName, Status: offramp.BankVerified, CreatedAt: now, UpdatedAt: now}
	w.update(func(tx offramp.Tx) error {
		if err := tx.CreateCustomer(w.ctx, c); err != nil {
			return err
		}
		if err := tx.CreateBankAccount(w.ctx, acct); err != nil {
			return err
		}
		return tx.CreateBankAccount(w.ctx, vpa)
	})
	return c
}

var allRevealed = []string{revealPAN, revealDocument, revealPhone, revealEmail, revealAccount, revealVPA}

// shows reports whether body holds v as html/template writes it (it
// escapes "+" as "&#43;").
func shows(body, v string) bool {
	return strings.Contains(body, v) || strings.Contains(body, strings.ReplaceAll(v, "+", "&#43;"))
}

func showsNone(t *testing.T, what, body string) {
	t.Helper()
	for _, v := range allRevealed {
		if shows(body, v) {
			t.Errorf("%s shows %q unmasked", what, v)
		}
	}
}

func TestRevealCustomer(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.revealCustomer()
	path := "/customers/" + c.ID.String()

	// A viewer sees everything masked, no reveal form, and is refused.
	viewer, _ := w.as(offramp.RoleViewer)
	a := viewer.get(path)
	if a.Status != http.StatusOK || !strings.Contains(a.Body, "XXXXXX234F") || !strings.Contains(a.Body, "p***@example.com") ||
		!strings.Contains(a.Body, "pr**********@oksbi") {
		t.Fatalf("customer page for a viewer: %d\n%s", a.Status, a.Body)
	}
	showsNone(t, "the viewer's page", a.Body)
	if strings.Contains(a.Body, `id="reveal"`) || strings.Contains(a.Body, "/reveal") {
		t.Error("a viewer is offered the reveal form")
	}
	// A fresh form each time: post adds the session's CSRF token to it.
	all := func() url.Values {
		return url.Values{"field": {"email", "phone", "tax_number", "document_number", "account_number", "vpa"}, "why": {"customer called"}}
	}
	if a := viewer.post(path+"/reveal", all()); a.Status != http.StatusForbidden {
		t.Fatalf("a viewer reveals: %d", a.Status)
	}
	showsNone(t, "the viewer's refusal", a.Body)

	// An operator sees the form, and the values only in the answer.
	op, opEmail := w.as(offramp.RoleOperator)
	a = op.get(path)
	if !strings.Contains(a.Body, `id="reveal"`) {
		t.Fatal("an operator is not offered the reveal form")
	}
	showsNone(t, "the operator's page before a reveal", a.Body)
	if a := op.post(path+"/reveal", url.Values{"field": {"tax_number"}}); a.Status != http.StatusBadRequest {
		t.Errorf("reveal without a why: %d", a.Status)
	}
	if a := op.post(path+"/reveal", url.Values{"why": {"customer called"}}); a.Status != http.StatusBadRequest {
		t.Errorf("reveal of no field: %d", a.Status)
	}
	if n := len(w.auditByAction(console.ActionCustomerRevealed)); n != 0 {
		t.Fatalf("%d reveals recorded for refused forms", n)
	}

	// Only the fields asked for.
	a = op.post(path+"/reveal", url.Values{"field": {"tax_number", "account_number"}, "why": {"bank asked to confirm the payee"}})
	if a.Status != http.StatusOK || !strings.Contains(a.Body, `id="revealed"`) {
		t.Fatalf("reveal: %d %q\n%s", a.Status, a.Location, a.Body)
	}
	if !shows(a.Body, revealPAN) || !shows(a.Body, revealAccount) {
		t.Error("the revealed fields are not shown")
	}
	for _, v := range []string{revealDocument, revealPhone, revealEmail, revealVPA} {
		if shows(a.Body, v) {
			t.Errorf("%q shown though not asked for", v)
		}
	}
	if cc := a.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the reveal answer is cacheable: %q", cc)
	}
	entries := w.auditByAction(console.ActionCustomerRevealed)
	if len(entries) != 1 {
		t.Fatalf("%d reveal entries", len(entries))
	}
	e := entries[0]
	if e.Actor != opEmail || e.ObjectType != offramp.ObjectCustomer || e.ObjectID != c.ID || e.OrgID != c.OrgID ||
		e.Details["fields"] != "tax_number,account_number" || e.Reason != "bank asked to confirm the payee" {
		t.Fatalf("reveal entry: %+v", e)
	}
	for k, v := range e.Details {
		for _, secret := range allRevealed {
			if strings.Contains(v, secret) || strings.Contains(e.Reason, secret) {
				t.Errorf("the audit entry carries a value: %s=%s", k, v)
			}
		}
	}

	// Nothing is kept: the next view is masked again, for the operator too.
	a = op.get(path)
	showsNone(t, "the page after a reveal", a.Body)
	if !strings.Contains(a.Body, console.ActionCustomerRevealed) {
		t.Error("the customer's operator actions do not list the reveal")
	}

	// Everything, when everything is asked for.
	a = op.post(path+"/reveal", all())
	for _, v := range allRevealed {
		if !shows(a.Body, v) {
			t.Errorf("%q not revealed", v)
		}
	}
	if e := w.auditByAction(console.ActionCustomerRevealed)[0]; e.Details["fields"] != "email,phone,tax_number,document_number,account_number,vpa" {
		t.Errorf("fields recorded: %q", e.Details["fields"])
	}
	if a := op.post("/customers/"+uuid.NewString()+"/reveal", all()); a.Status != http.StatusNotFound {
		t.Errorf("reveal of an unknown customer: %d", a.Status)
	}
}
