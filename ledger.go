package offramp

import (
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Ledger accounts. A payout's money moves between them in balanced
// journals (per currency, debits equal credits).
const (
	// AccountExchangeReceivable: crypto the exchange owes for payouts it
	// ordered, until it links the transfer (asset currency).
	AccountExchangeReceivable = "exchange_crypto_receivable"
	// AccountCryptoWallet: crypto received from exchanges (asset).
	AccountCryptoWallet = "crypto_wallet"
	// AccountFXConversion bridges the asset and fiat legs of a payout.
	AccountFXConversion = "fx_conversion"
	// AccountCustomerPayable: INR owed to customers until the bank pays.
	AccountCustomerPayable = "customer_payable"
	AccountPlatformFees    = "platform_fee_revenue"
	AccountClientFees      = "client_fee_payable"
	AccountPGFees          = "pg_fee_payable"
	AccountGSTPayable      = "gst_payable"
	AccountTDSPayable      = "tds_payable"
	AccountRounding        = "rounding_revenue"
	// AccountBankFloat: INR in the payout bank account; paying a customer
	// draws it down.
	AccountBankFloat = "bank_float"
)

// Posting is one line of a journal: a signed amount on an account
// (positive = debit, negative = credit).
type Posting struct {
	Account  string
	Currency string
	Amount   decimal.Decimal
}

// Journal is a balanced set of postings recorded atomically with the status
// change that caused it.
type Journal struct {
	ID       uuid.UUID
	OrgID    uuid.UUID
	PayoutID uuid.UUID
	// Kind names the business event: "payout_initiated", "payout_paid",
	// "payout_failed", "transfer_linked", "crypto_returned".
	Kind      string
	Postings  []Posting
	CreatedAt time.Time
}

// Balanced reports whether the postings sum to zero in every currency.
func (j Journal) Balanced() bool {
	sums := map[string]decimal.Decimal{}
	for _, p := range j.Postings {
		sums[p.Currency] = sums[p.Currency].Add(p.Amount)
	}
	for _, s := range sums {
		if !s.IsZero() {
			return false
		}
	}
	return len(j.Postings) > 0
}

// AccountBalance is an account's balance in one currency.
type AccountBalance struct {
	Account  string
	Currency string
	Balance  decimal.Decimal
}
