package offramp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// RailStatus is what a bank says about a transfer.
type RailStatus string

const (
	// RailAccepted: the bank holds the transfer and has not settled it
	// (queued, pending, processing). Normal for minutes to hours.
	RailAccepted RailStatus = "ACCEPTED"
	// RailSuccess: paid; RailResult.UTR is set.
	RailSuccess RailStatus = "SUCCESS"
	// RailRejected: the bank refused or failed the transfer and no money
	// left; RailResult.Reason is set.
	RailRejected RailStatus = "REJECTED"
	// RailReversed: the bank paid and then returned the money; UTR is the
	// original credit's, Reason the bank's.
	RailReversed RailStatus = "REVERSED"
	// RailNotFound: the bank has no transfer with that reference (yet:
	// see RailCapabilities.PostingDelay).
	RailNotFound RailStatus = "NOT_FOUND"
)

// RailTransfer is one INR transfer to a beneficiary account.
type RailTransfer struct {
	// Reference is unique per payout; the bank keys the transfer by it.
	Reference string
	// OrgID, CustomerID and BankID name the beneficiary in Offramp, so a
	// provider adapter can remember what the provider calls it (a
	// RazorpayX contact and fund account, see RailAccount).
	OrgID, CustomerID, BankID uuid.UUID
	AccountNumber             string
	IFSC                      string
	AccountName               string
	Amount                    decimal.Decimal
	Currency                  string
	Method                    string // "IMPS"
}

// RailResult is the bank's answer.
type RailResult struct {
	Status RailStatus
	UTR    string // set on SUCCESS and REVERSED
	Reason string // set on REJECTED and REVERSED
}

// RailCapabilities is what the engine must know about a bank.
type RailCapabilities struct {
	// DedupsReferences: the bank never holds two transfers under one
	// reference; a second Submit under a reference it has returns that
	// transfer's status. Only then may a transfer the bank reports
	// NOT_FOUND be submitted again under the same reference.
	DedupsReferences bool
	// PostingDelay is how long after a Submit the bank may still answer
	// NOT_FOUND for a transfer it did receive (its posting lag). The
	// engine resubmits only after it has passed.
	PostingDelay time.Duration
}

// Rail is a bank payment rail: the bank contract. Adapters must pass the
// conformance suite in rail/railtest. What each answer means, and what the
// engine does with it:
//
// Submit(t), with t.Reference unique per payout:
//   - ACCEPTED: the bank holds the transfer, result later. The engine
//     polls Inquire with back-off until its settlement deadline, then
//     sends the payout to IN_REVIEW.
//   - SUCCESS (with UTR): paid. REJECTED (with Reason): refused, no money
//     left; the payout FAILS with that reason.
//   - A reference the bank already holds is not an error and never a
//     rejection: Submit answers the existing transfer's current status
//     (ACCEPTED, SUCCESS, REJECTED or REVERSED) and creates nothing.
//   - An error wrapping ErrRailNotSent: the bank certainly did not
//     create the transfer (connection refused before the request was
//     written, authentication refused, rate limited, insufficient balance
//     reported before creation). The engine sends again later.
//   - Any other error (timeout, reset connection, 5xx): the outcome is
//     unknown. The bank may hold the transfer; the engine inquires and
//     never submits blindly.
//
// Inquire(reference):
//   - ACCEPTED, SUCCESS, REJECTED, REVERSED: as above. REVERSED after
//     SUCCESS (even days later) turns the payout FAILED with reason
//     REVERSED_BY_BANK.
//   - NOT_FOUND: the bank has no transfer under the reference. Within
//     PostingDelay of a submission this may be lag; after it, and only if
//     DedupsReferences, the engine may submit again under the same
//     reference, a bounded number of times.
//   - An error: nothing learnt; the engine asks again later (bounded).
type Rail interface {
	Submit(ctx context.Context, t RailTransfer) (RailResult, error)
	Inquire(ctx context.Context, reference string) (RailResult, error)
	Capabilities() RailCapabilities
}

// ErrRailNotSent marks a Submit error after which the bank certainly holds
// no new transfer: sending again later is safe.
var ErrRailNotSent = errors.New("rail: the transfer was not sent")

// RailNotSent wraps err as a definite "not sent" error.
func RailNotSent(err error) error { return fmt.Errorf("%w: %w", ErrRailNotSent, err) }

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

// RailAccount is what a payout provider calls a beneficiary: created once
// per bank account and remembered, so every payout to the account reuses
// it.
type RailAccount struct {
	Provider  string // "razorpayx"
	OrgID     uuid.UUID
	BankID    uuid.UUID
	ContactID string
	AccountID string // the provider's fund account / beneficiary id
	CreatedAt time.Time
}
