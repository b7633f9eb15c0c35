// Package ledger builds the double-entry journals of a payout's life and
// checks that the books agree with the payouts.
//
// Positive amounts are debits, negative credits; each journal balances per
// currency (the asset leg and the INR leg meet in the FX conversion
// account). Every journal is written in the same transaction as the status
// change that causes it, so the books and the payouts cannot disagree
// unless something is wrong: Reconcile says what each payout's accounts
// must hold in its status, and a ledger check compares.
package ledger

import (
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

func post(account, currency string, amount decimal.Decimal) offramp.Posting {
	return offramp.Posting{Account: account, Currency: currency, Amount: amount}
}

// Initiated: the exchange now owes the crypto; the customer is owed the
// receiving amount; fees, GST and TDS are payable.
func Initiated(p offramp.Payout) offramp.Journal {
	f := p.Fees
	gst := f.ClientGSTFiat.Add(f.PlatformGST).Add(f.PGGST)
	return offramp.Journal{
		ID: uuid.New(), OrgID: p.OrgID, PayoutID: p.ID, Kind: "payout_initiated", CreatedAt: p.CreatedAt,
		Postings: []offramp.Posting{
			post(offramp.AccountExchangeReceivable, p.Asset, p.SendingAmount),
			post(offramp.AccountFXConversion, p.Asset, p.SendingAmount.Neg()),
			post(offramp.AccountFXConversion, p.Fiat, p.GrossFiat),
			post(offramp.AccountCustomerPayable, p.Fiat, p.ReceivingAmount.Neg()),
			post(offramp.AccountClientFees, p.Fiat, f.ClientFeeFiat.Neg()),
			post(offramp.AccountPlatformFees, p.Fiat, f.PlatformFee.Neg()),
			post(offramp.AccountPGFees, p.Fiat, f.PGFee.Neg()),
			post(offramp.AccountGSTPayable, p.Fiat, gst.Neg()),
			post(offramp.AccountTDSPayable, p.Fiat, f.TDS.Neg()),
			post(offramp.AccountRounding, p.Fiat, f.Rounding.Neg()),
		},
	}
}

// Failed reverses the initiation: nothing is owed either way any more (if
// the crypto already arrived, the receivable turns into what is owed back
// to the exchange, settled by Refunded).
func Failed(p offramp.Payout) offramp.Journal {
	j := Initiated(p)
	for i := range j.Postings {
		j.Postings[i].Amount = j.Postings[i].Amount.Neg()
	}
	j.ID, j.Kind, j.CreatedAt = uuid.New(), "payout_failed", p.UpdatedAt
	return j
}

// move is a two-line journal: amount leaves credit for debit.
func move(p offramp.Payout, kind, debit, credit, currency string, amount decimal.Decimal) offramp.Journal {
	return offramp.Journal{
		ID: uuid.New(), OrgID: p.OrgID, PayoutID: p.ID, Kind: kind, CreatedAt: p.UpdatedAt,
		Postings: []offramp.Posting{post(debit, currency, amount), post(credit, currency, amount.Neg())},
	}
}

// Paid: the bank paid the customer from the float.
func Paid(p offramp.Payout) offramp.Journal {
	return move(p, "payout_paid", offramp.AccountCustomerPayable, offramp.AccountBankFloat, p.Fiat, p.ReceivingAmount)
}

// Reversed: the bank returned a paid amount to the float; the customer is
// owed it again until Failed closes the payout.
func Reversed(p offramp.Payout) offramp.Journal {
	return move(p, "payout_reversed", offramp.AccountBankFloat, offramp.AccountCustomerPayable, p.Fiat, p.ReceivingAmount)
}

// Linked: the exchange's transfer arrived, settling the receivable.
func Linked(p offramp.Payout) offramp.Journal {
	return move(p, "transfer_linked", offramp.AccountCryptoWallet, offramp.AccountExchangeReceivable, p.Asset, p.SendingAmount)
}

// Refunded: the crypto of a failed payout went back to the exchange.
func Refunded(p offramp.Payout) offramp.Journal {
	return move(p, "crypto_returned", offramp.AccountExchangeReceivable, offramp.AccountCryptoWallet, p.Asset, p.SendingAmount)
}

// ForMove lists the journals a payout's move from phase `from` to p.Phase
// writes, in order. A move within one phase writes none.
func ForMove(from offramp.PayoutPhase, p offramp.Payout) []offramp.Journal {
	switch p.Phase {
	case from:
		return nil
	case offramp.PhasePaid:
		return []offramp.Journal{Paid(p)}
	case offramp.PhaseRejected:
		return []offramp.Journal{Failed(p)}
	case offramp.PhaseReversed:
		return []offramp.Journal{Reversed(p), Failed(p)}
	case offramp.PhaseCryptoReturned:
		// Crypto is returned only if it was received, i.e. the transfer
		// was linked; otherwise nothing moves.
		if p.ExchangeTransferID != "" {
			return []offramp.Journal{Refunded(p)}
		}
	}
	return nil
}
