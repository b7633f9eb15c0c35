package razorpayx

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/offramp/offramp"
)

// payout is RazorpayX's payout entity, as far as the adapter reads it.
type payout struct {
	ID            string         `json:"id"`
	Entity        string         `json:"entity"`
	FundAccountID string         `json:"fund_account_id"`
	Amount        int64          `json:"amount"`
	Currency      string         `json:"currency"`
	Status        string         `json:"status"`
	UTR           string         `json:"utr"`
	Mode          string         `json:"mode"`
	Purpose       string         `json:"purpose"`
	ReferenceID   string         `json:"reference_id"`
	StatusDetails *statusDetails `json:"status_details"`
	CreatedAt     int64          `json:"created_at"`
}

// statusDetails says why a payout is in its state.
type statusDetails struct {
	Description string `json:"description"`
	Source      string `json:"source"`
	Reason      string `json:"reason"`
}

func (p payout) reason() string {
	if p.StatusDetails == nil {
		return ""
	}
	return p.StatusDetails.Reason
}

// payoutRequest is the body of POST /v1/payouts.
type payoutRequest struct {
	AccountNumber     string `json:"account_number"`
	FundAccountID     string `json:"fund_account_id"`
	Amount            int64  `json:"amount"`
	Currency          string `json:"currency"`
	Mode              string `json:"mode"`
	Purpose           string `json:"purpose"`
	QueueIfLowBalance bool   `json:"queue_if_low_balance"`
	ReferenceID       string `json:"reference_id"`
}

// collection is a list answer.
type collection[T any] struct {
	Entity string `json:"entity"`
	Count  int    `json:"count"`
	Items  []T    `json:"items"`
}

// RazorpayX payout statuses (https://razorpay.com/docs/x/payouts/states-life-cycle).
const (
	statusQueued     = "queued"
	statusPending    = "pending"
	statusScheduled  = "scheduled"
	statusProcessing = "processing"
	statusProcessed  = "processed"
	statusReversed   = "reversed"
	statusCancelled  = "cancelled"
	statusRejected   = "rejected"
	statusFailed     = "failed"
)

// Reasons the adapter gives that RazorpayX's status details do not.
const (
	ReasonInvalidReference    = "INVALID_REFERENCE"
	ReasonInvalidAmount       = "INVALID_AMOUNT"
	ReasonUnsupportedCurrency = "UNSUPPORTED_CURRENCY"
	ReasonInvalidBeneficiary  = "INVALID_BENEFICIARY_DETAILS"
	ReasonRejectedByApprover  = "REJECTED_BY_APPROVER"
	ReasonPayoutCancelled     = "PAYOUT_CANCELLED"
)

// reasons maps status_details.reason of a failed or reversed payout
// (https://razorpay.com/docs/errors/x/payout-status-details) to Offramp's
// upper-case failure reasons.
var reasons = map[string]string{
	"bank_account_closed":              "BENEFICIARY_ACCOUNT_CLOSED",
	"bank_account_frozen":              "BENEFICIARY_ACCOUNT_FROZEN",
	"beneficiary_account_dormant":      "BENEFICIARY_ACCOUNT_DORMANT",
	"bank_account_invalid":             ReasonInvalidBeneficiary,
	"beneficiary_account_invalid":      ReasonInvalidBeneficiary,
	"beneficiary_vpa_invalid":          ReasonInvalidBeneficiary,
	"invalid_beneficiary":              ReasonInvalidBeneficiary,
	"invalid_ifsc_code":                offramp.ReasonInvalidIFSC,
	"beneficiary_bank_rejected":        offramp.ReasonBeneficiaryBankRejected,
	"beneficiary_bank_failure":         "BENEFICIARY_BANK_UNAVAILABLE",
	"beneficiary_bank_offline":         "BENEFICIARY_BANK_UNAVAILABLE",
	"beneficiary_bank_technical_error": "BENEFICIARY_BANK_UNAVAILABLE",
	"beneficiary_psp_offline":          "BENEFICIARY_BANK_UNAVAILABLE",
	"npci_beneficiary_timeout":         "BENEFICIARY_BANK_UNAVAILABLE",
	"imps_not_allowed":                 "MODE_NOT_SUPPORTED",
	"transaction_limit_exceeded":       "BENEFICIARY_LIMIT_EXCEEDED",
	"amount_limit_exhausted_neft":      "PAYOUT_LIMIT_EXHAUSTED",
	"insufficient_funds":               "INSUFFICIENT_BALANCE",
	"gateway_down":                     "PARTNER_BANK_UNAVAILABLE",
	"gateway_technical_error":          "PARTNER_BANK_UNAVAILABLE",
	"gateway_timeout":                  "PARTNER_BANK_UNAVAILABLE",
	"server_error":                     "PROVIDER_ERROR",
	"server_error_temporary":           "PROVIDER_ERROR",
}

// reasonToken is the shape of a reason RazorpayX has not documented that
// can be passed on upper-cased.
var reasonToken = regexp.MustCompile(`^[a-z][a-z0-9_]{2,63}$`)

// ReasonFor maps a RazorpayX status_details.reason of a payout in status
// to Offramp's failure reason (see the package documentation's table).
func ReasonFor(status, reason string) string {
	reason = strings.TrimSpace(reason)
	if r, ok := reasons[reason]; ok {
		return r
	}
	if reasonToken.MatchString(reason) && reason != "null" {
		return strings.ToUpper(reason)
	}
	switch status {
	case statusRejected:
		return ReasonRejectedByApprover
	case statusCancelled:
		return ReasonPayoutCancelled
	case statusReversed:
		return offramp.ReasonReversedByBank
	}
	return offramp.ReasonBeneficiaryBankRejected
}

// result maps a payout to the bank contract's answer.
func result(p payout) (offramp.RailResult, error) {
	switch p.Status {
	case statusQueued, statusPending, statusScheduled, statusProcessing:
		return offramp.RailResult{Status: offramp.RailAccepted}, nil
	case statusProcessed:
		if p.UTR == "" {
			// Paid, but the UTR that proves it has not come: ask again.
			return offramp.RailResult{Status: offramp.RailAccepted}, nil
		}
		return offramp.RailResult{Status: offramp.RailSuccess, UTR: p.UTR}, nil
	case statusFailed, statusRejected, statusCancelled:
		return offramp.RailResult{Status: offramp.RailRejected, Reason: ReasonFor(p.Status, p.reason())}, nil
	case statusReversed:
		if p.UTR == "" {
			// Returned before it was credited: no money reached the
			// beneficiary.
			return offramp.RailResult{Status: offramp.RailRejected, Reason: ReasonFor(p.Status, p.reason())}, nil
		}
		return offramp.RailResult{Status: offramp.RailReversed, UTR: p.UTR, Reason: ReasonFor(p.Status, p.reason())}, nil
	}
	return offramp.RailResult{}, fmt.Errorf("razorpayx: payout %s has an undocumented status %q", p.ID, p.Status)
}
