package service

import (
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// The payout journals. Positive amounts are debits, negative credits; each
// journal balances per currency (the asset leg and the INR leg meet in the
// FX conversion account).

func post(account, currency string, amount decimal.Decimal) offramp.Posting {
	return offramp.Posting{Account: account, Currency: currency, Amount: amount}
}

// initiatedJournal: the exchange now owes the crypto; the customer is owed
// the receiving amount; fees, GST and TDS are payable.
func initiatedJournal(p offramp.Payout) offramp.Journal {
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

// failedJournal reverses the initiation: nothing is owed either way any
// more (if the crypto already arrived, the receivable turns into what is
// owed back to the exchange, settled by refundedJournal).
func failedJournal(p offramp.Payout) offramp.Journal {
	j := initiatedJournal(p)
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

// paidJournal: the bank paid the customer from the float.
func paidJournal(p offramp.Payout) offramp.Journal {
	return move(p, "payout_paid", offramp.AccountCustomerPayable, offramp.AccountBankFloat, p.Fiat, p.ReceivingAmount)
}

// linkedJournal: the exchange's transfer arrived, settling the receivable.
func linkedJournal(p offramp.Payout) offramp.Journal {
	return move(p, "transfer_linked", offramp.AccountCryptoWallet, offramp.AccountExchangeReceivable, p.Asset, p.SendingAmount)
}

// refundedJournal: the crypto of a failed payout went back to the exchange.
func refundedJournal(p offramp.Payout) offramp.Journal {
	return move(p, "crypto_returned", offramp.AccountExchangeReceivable, offramp.AccountCryptoWallet, p.Asset, p.SendingAmount)
}
