package ledger

import (
	"fmt"
	"sort"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// Expected is what a payout's own postings must sum to on the accounts a
// payout settles through, given its status and whether the exchange's
// transfer is linked:
//
//	status                      receivable (asset)   customer payable (INR)  bank float (INR)
//	PROCESSING, IN_REVIEW       S unlinked, 0 linked   -R                      0
//	SUCCESS                     S unlinked, 0 linked    0                     -R
//	FAILED                      0 unlinked, -S linked   0                      0
//	REFUNDED                    0                       0                      0
//
// (S the sending amount, R the receiving amount; a negative receivable is
// crypto owed back to the exchange.) A payout reversed by its bank is
// FAILED: the float got the money back.
func Expected(p offramp.Payout) map[Key]decimal.Decimal {
	zero := decimal.Zero
	recv := p.SendingAmount
	if p.ExchangeTransferID != "" {
		recv = zero
	}
	payable, float := zero, zero
	switch p.Status {
	case offramp.PayoutProcessing, offramp.PayoutInReview:
		payable = p.ReceivingAmount.Neg()
	case offramp.PayoutSuccess:
		float = p.ReceivingAmount.Neg()
	case offramp.PayoutFailed:
		recv = zero
		if p.ExchangeTransferID != "" {
			recv = p.SendingAmount.Neg()
		}
	case offramp.PayoutRefunded:
		recv = zero
	}
	return map[Key]decimal.Decimal{
		{offramp.AccountExchangeReceivable, p.Asset}: recv,
		{offramp.AccountCustomerPayable, p.Fiat}:     payable,
		{offramp.AccountBankFloat, p.Fiat}:           float,
	}
}

// Key names an account in a currency.
type Key struct{ Account, Currency string }

// Mismatch is a payout whose postings disagree with its status.
type Mismatch struct {
	Payout offramp.Payout
	Key    Key
	Want   decimal.Decimal
	Got    decimal.Decimal
}

func (m Mismatch) String() string {
	return fmt.Sprintf("payout %s (%s/%s): %s %s is %s, want %s", m.Payout.ID, m.Payout.Status, m.Payout.Phase,
		m.Key.Account, m.Key.Currency, m.Got, m.Want)
}

// Books accumulates journals per payout, for Reconcile.
type Books map[uuid.UUID]map[Key]decimal.Decimal

// Add posts a journal.
func (b Books) Add(j offramp.Journal) {
	if j.PayoutID == uuid.Nil {
		return
	}
	acc := b[j.PayoutID]
	if acc == nil {
		acc = map[Key]decimal.Decimal{}
		b[j.PayoutID] = acc
	}
	for _, p := range j.Postings {
		k := Key{p.Account, p.Currency}
		acc[k] = acc[k].Add(p.Amount)
	}
}

// Reconcile compares one payout's postings with what its status requires.
func (b Books) Reconcile(p offramp.Payout) []Mismatch {
	var out []Mismatch
	got := b[p.ID]
	for k, want := range Expected(p) {
		if g := got[k]; !g.Equal(want) {
			out = append(out, Mismatch{Payout: p, Key: k, Want: want, Got: g})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.Account < out[j].Key.Account })
	return out
}
