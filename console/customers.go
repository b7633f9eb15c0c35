package console

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/service"
)

type bankRow struct {
	B         offramp.BankAccount
	Proposals []offramp.Proposal
	Audit     []offramp.AuditEntry
}

type customerData struct {
	C              offramp.Customer
	Org            offramp.Org
	Banks          []bankRow
	BankTotal      int
	Payouts        []offramp.Payout
	Audit          []offramp.AuditEntry
	Proposals      []offramp.Proposal
	KYCReasons     []string
	BankReasons    []string
	CanDecideKYC   bool
	PayoutsLimited bool
	// Show is which masked fields this answer shows in clear: set only on
	// the answer to a reveal.
	Show revealSet
	// Revealable names the fields the reveal form offers.
	Revealable []revealField
}

// customerPayoutLimit and customerBankLimit bound the payouts and bank
// accounts a customer page lists.
const (
	customerPayoutLimit = 100
	customerBankLimit   = 50
)

// customer shows a customer of any organization: KYC (masked), bank
// accounts, payouts, the operator actions on them, and the proposal forms
// for a PROCESSING KYC submission or bank account.
func (c *Console) customer(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No customer has this id.")
		return
	}
	data, err := c.customerData(r.Context(), id)
	if errors.Is(err, offramp.ErrNotFound) {
		c.failAs(w, r, s, http.StatusNotFound, "No customer has this id.")
		return
	}
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "customer", s, data)
}

// customerData reads everything the customer page shows, in one read
// transaction.
func (c *Console) customerData(ctx context.Context, id uuid.UUID) (customerData, error) {
	data := customerData{KYCReasons: service.CustomerFailureReasons, BankReasons: service.BankFailureReasons, Revealable: revealable}
	err := c.store.View(ctx, func(tx offramp.ReadTx) error {
		cu, err := tx.CustomerAnyOrg(ctx, id)
		if err != nil {
			return err
		}
		data.C = cu
		data.CanDecideKYC = cu.Status == offramp.CustomerProcessing
		if data.Org, err = tx.Org(ctx, cu.OrgID); err != nil {
			return err
		}
		banks, total, err := tx.ListBankAccounts(ctx, cu.OrgID, cu.ID, offramp.Page{Number: 1, Size: customerBankLimit})
		if err != nil {
			return err
		}
		data.BankTotal = total
		for _, b := range banks {
			row := bankRow{B: b}
			if row.Proposals, err = pendingFor(ctx, tx, b.ID); err != nil {
				return err
			}
			if row.Audit, err = tx.AuditEntries(ctx, offramp.ObjectBank, b.ID); err != nil {
				return err
			}
			data.Banks = append(data.Banks, row)
		}
		list, err := tx.AdminPayouts(ctx, offramp.PayoutFilter{CustomerID: cu.ID}, customerPayoutLimit+1)
		if err != nil {
			return err
		}
		if len(list) > customerPayoutLimit {
			list, data.PayoutsLimited = list[:customerPayoutLimit], true
		}
		data.Payouts = newestFirst(list)
		if data.Audit, err = tx.AuditEntries(ctx, offramp.ObjectCustomer, cu.ID); err != nil {
			return err
		}
		data.Proposals, err = pendingFor(ctx, tx, cu.ID)
		return err
	})
	return data, err
}

// ActionCustomerRevealed is the audit action of an operator reading a
// customer's personal fields unmasked.
const ActionCustomerRevealed = "customer.revealed"

// revealField is a personal field the customer page masks: Name is what
// the reveal form sends and the audit entry records, Label what the form
// shows.
type revealField struct{ Name, Label string }

// revealable lists the masked fields in the page's order.
var revealable = []revealField{
	{"email", "E-mail"}, {"phone", "Phone"}, {"tax_number", "PAN"}, {"document_number", "Document number"},
	{"account_number", "Bank account numbers"}, {"vpa", "UPI VPAs"},
}

// revealSet is which masked fields one answer shows in clear.
type revealSet struct {
	Email, Phone, TaxNumber, DocumentNumber, AccountNumber, VPA bool
}

// Any reports whether a field is revealed (the page then says so).
func (r revealSet) Any() bool {
	return r.Email || r.Phone || r.TaxNumber || r.DocumentNumber || r.AccountNumber || r.VPA
}

func (r *revealSet) set(field string) {
	switch field {
	case "email":
		r.Email = true
	case "phone":
		r.Phone = true
	case "tax_number":
		r.TaxNumber = true
	case "document_number":
		r.DocumentNumber = true
	case "account_number":
		r.AccountNumber = true
	case "vpa":
		r.VPA = true
	}
}

// revealCustomer shows the chosen personal fields of a customer unmasked,
// in this one answer only: nothing is kept (no session flag, no redirect
// to a page that would show them again), and the console's no-store keeps
// the page out of caches. Who looked, at which fields and why goes to the
// audit log first, in its own transaction, so a reveal is never shown
// without its record; the values themselves never enter the log.
func (c *Console) revealCustomer(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No customer has this id.")
		return
	}
	var problems errProblems
	reason := why(r, &problems)
	var show revealSet
	var fields []string
	for _, f := range revealable {
		if slices.Contains(r.PostForm["field"], f.Name) {
			show.set(f.Name)
			fields = append(fields, f.Name)
		}
	}
	if len(fields) == 0 {
		problems = append(problems, "Fields: tick the fields you need to see.")
	}
	if len(problems) > 0 {
		c.failAs(w, r, s, http.StatusBadRequest, "Nothing was revealed.", problems...)
		return
	}
	ctx := r.Context()
	now := c.now()
	err = c.store.Update(ctx, func(tx offramp.Tx) error {
		cu, err := tx.CustomerAnyOrg(ctx, id)
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, s, now, offramp.AuditEntry{OrgID: cu.OrgID, Action: ActionCustomerRevealed,
			ObjectType: offramp.ObjectCustomer, ObjectID: cu.ID, Reason: reason,
			Details: map[string]string{"fields": strings.Join(fields, ","), "ip": clientIP(r)}})
	})
	if errors.Is(err, offramp.ErrNotFound) {
		c.failAs(w, r, s, http.StatusNotFound, "No customer has this id.")
		return
	}
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	c.log.InfoContext(ctx, "console: customer fields revealed", "by", s.op.Email, "customer", id.String(), "fields", strings.Join(fields, ","))
	data, err := c.customerData(ctx, id)
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	data.Show = show
	c.render(w, r, http.StatusOK, "customer", s, data)
}

// ShownEmail is the customer's e-mail as this answer may show it: masked
// to its first character and domain unless revealed.
func (d customerData) ShownEmail() string {
	if d.Show.Email {
		return d.C.Email
	}
	return maskEmail(d.C.Email)
}

// maskEmail keeps the first character of the mailbox and the domain
// ("a***@example.com"): enough to tell two customers apart on the phone,
// not enough to write to one. The mailbox's length is not shown.
func maskEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	if at < 1 {
		return offramp.Mask(e)
	}
	first, _ := utf8.DecodeRuneInString(e)
	return string(first) + "***" + e[at:]
}
