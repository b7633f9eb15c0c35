package console

import (
	"errors"
	"net/http"

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
}

// customerPayoutLimit bounds the payouts a customer page lists.
const customerPayoutLimit = 100

// customer shows a customer of any organization: KYC (masked), bank
// accounts, payouts, the operator actions on them, and the proposal forms
// for a PROCESSING KYC submission or bank account.
func (c *Console) customer(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No customer has this id.")
		return
	}
	ctx := r.Context()
	data := customerData{KYCReasons: service.CustomerFailureReasons, BankReasons: service.BankFailureReasons}
	err = c.store.View(ctx, func(tx offramp.ReadTx) error {
		cu, err := tx.CustomerAnyOrg(ctx, id)
		if err != nil {
			return err
		}
		data.C = cu
		data.CanDecideKYC = cu.Status == offramp.CustomerProcessing
		if data.Org, err = tx.Org(ctx, cu.OrgID); err != nil {
			return err
		}
		banks, total, err := tx.ListBankAccounts(ctx, cu.OrgID, cu.ID, offramp.Page{Number: 1, Size: 50})
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
