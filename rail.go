package offramp

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// RailStatus is what a bank says about a transfer.
type RailStatus string

const (
	// RailAccepted: the bank took the transfer; its result comes later.
	RailAccepted RailStatus = "ACCEPTED"
	RailSuccess  RailStatus = "SUCCESS"
	RailRejected RailStatus = "REJECTED"
	// RailNotFound: the bank has no transfer with that reference.
	RailNotFound RailStatus = "NOT_FOUND"
)

// RailTransfer is one INR transfer to a beneficiary account.
type RailTransfer struct {
	// Reference is unique per payout; the bank keys the transfer by it.
	Reference     string
	AccountNumber string
	IFSC          string
	AccountName   string
	Amount        decimal.Decimal
	Currency      string
	Method        string // "IMPS"
}

// RailResult is the bank's answer.
type RailResult struct {
	Status RailStatus
	UTR    string // set on SUCCESS
	Reason string // set on REJECTED
}

// Rail is a bank payment rail. An error from Submit (a timeout, a dropped
// connection, a 5xx) means the outcome is unknown: the transfer may or may
// not have been made, so the caller must Inquire, never Submit blindly.
type Rail interface {
	Submit(ctx context.Context, t RailTransfer) (RailResult, error)
	Inquire(ctx context.Context, reference string) (RailResult, error)
	// DedupsReferences reports whether the bank refuses a second transfer
	// with a reference it already has. Only then may a transfer the bank
	// reports NOT_FOUND be submitted again under the same reference.
	DedupsReferences() bool
}

// Rate is a price of one unit of an asset in a fiat currency.
type Rate struct {
	Asset  string
	Fiat   string
	Value  decimal.Decimal
	At     time.Time // when the source observed the price
	Source string
}

// RateSource quotes prices. It returns an *Error with CodeUnavailable
// rather than a price it cannot vouch for (for example a stale one).
type RateSource interface {
	Rate(ctx context.Context, asset, fiat string) (Rate, error)
}

// Screener runs AML screening on a customer before a quotation.
type Screener interface {
	Screen(ctx context.Context, c Customer) (Verdict, error)
}
