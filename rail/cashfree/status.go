package cashfree

import (
	"strings"

	"github.com/offramp/offramp"
)

// Cashfree transfer statuses (the "status" field of a Payouts v2 transfer,
// in the create answer, the status fetch and the webhooks' data object).
const (
	StatusReceived         = "RECEIVED"
	StatusPending          = "PENDING"
	StatusApprovalPending  = "APPROVAL_PENDING"
	StatusScheduled        = "SCHEDULED"
	StatusQueued           = "QUEUED"
	StatusSuccess          = "SUCCESS"
	StatusFailed           = "FAILED"
	StatusRejected         = "REJECTED"
	StatusManuallyRejected = "MANUALLY_REJECTED"
	StatusReversed         = "REVERSED"
)

// Reasons this adapter gives besides the ones offramp defines. Every
// reason is an upper-case token (^[A-Z][A-Z0-9_]{2,63}$), never Cashfree's
// free-text status_description, which may echo request values.
const (
	ReasonInvalidRequest          = "INVALID_REQUEST"
	ReasonInvalidAmount           = "INVALID_AMOUNT"
	ReasonUnsupportedCurrency     = "UNSUPPORTED_CURRENCY"
	ReasonInvalidBeneficiaryName  = "INVALID_BENEFICIARY_NAME"
	ReasonAccountBlocked          = "BENEFICIARY_ACCOUNT_BLOCKED"
	ReasonBeneficiaryBlacklisted  = "BENEFICIARY_BLACKLISTED"
	ReasonModeNotSupported        = "TRANSFER_MODE_NOT_SUPPORTED"
	ReasonBeneficiaryLimit        = "BENEFICIARY_LIMIT_EXCEEDED"
	ReasonBankUnavailable         = "BENEFICIARY_BANK_UNAVAILABLE"
	ReasonInsufficientBalance     = "INSUFFICIENT_BALANCE"
	ReasonSuspectedTransfer       = "SUSPECTED_TRANSFER"
	ReasonManuallyRejected        = "MANUALLY_REJECTED"
	ReasonBeneficiarySameAsSource = "BENEFICIARY_SAME_AS_SOURCE"
	ReasonBeneficiaryNotAllowed   = "BENEFICIARY_NOT_ALLOWED"
	ReasonBeneficiaryNotFound     = "BENEFICIARY_NOT_FOUND"
)

// statusCodeReasons maps Cashfree's status_code (the failure and reversal
// codes of the transfer lifecycle) to Offramp's reason tokens. Codes not
// listed here pass through as tokens of their own (see reasonFor).
var statusCodeReasons = map[string]string{
	"INVALID_ACCOUNT_FAIL":            offramp.ReasonInvalidAccountNumber,
	"INVALID_BENE_ACCOUNT_OR_IFSC":    offramp.ReasonInvalidAccountNumber,
	"INVALID_OR_NO_SUCH_ACCOUNT_TYPE": offramp.ReasonInvalidAccountNumber,
	"BENEFICIARY_NOT_EXIST":           offramp.ReasonInvalidAccountNumber,
	"INVALID_IFSC_FAIL":               offramp.ReasonInvalidIFSC,
	"NRE_ACCOUNT_FAIL":                offramp.ReasonAccountTypeNRE,
	"BENE_NAME_DIFFERS":               offramp.ReasonNameMismatch,
	"BENEFICIARY_NAME_DIFFERS":        offramp.ReasonNameMismatch,
	"ACCOUNT_BLOCKED":                 ReasonAccountBlocked,
	"BENE_BLACKLISTED":                ReasonBeneficiaryBlacklisted,
	"BENEFICIARY_BLACKLISTED":         ReasonBeneficiaryBlacklisted,
	"BENE_BANK_DECLINED":              offramp.ReasonBeneficiaryBankRejected,
	"RETURNED_FROM_BENEFICIARY":       offramp.ReasonBeneficiaryBankRejected,
	"ANY_OTHER_REASON":                offramp.ReasonBeneficiaryBankRejected,
	"FAILED":                          offramp.ReasonBeneficiaryBankRejected,
	"IMPS_MODE_FAIL":                  ReasonModeNotSupported,
	"RTGS_MODE_FAIL":                  ReasonModeNotSupported,
	"INVALID_MODE_FAIL":               ReasonModeNotSupported,
	"INVALID_MODE_FOR_PYID":           ReasonModeNotSupported,
	"BENEFICIARY_INVALID_MODE":        ReasonModeNotSupported,
	"DISABLED_MODE":                   ReasonModeNotSupported,
	"DEST_LIMIT_REACHED":              ReasonBeneficiaryLimit,
	"BANK_GATEWAY_ERROR":              ReasonBankUnavailable,
	"NPCI_UNAVAILABLE":                ReasonBankUnavailable,
	"BENEFICIARY_BANK_OFFLINE":        ReasonBankUnavailable,
	"REINITIALIZE_TRANSFER_LATER":     ReasonBankUnavailable,
	"WAIT_TIME_EXCEEDED":              ReasonBankUnavailable,
	"INSUFFICIENT_BALANCE":            ReasonInsufficientBalance,
	"INVALID_AMOUNT_FAIL":             ReasonInvalidAmount,
	"INVALID_TRANSFER_AMOUNT":         ReasonInvalidAmount,
	"SUSPECTED_TRANSFER":              ReasonSuspectedTransfer,
	"MANUALLY_REJECTED":               ReasonManuallyRejected,
}

// descriptionHints map words of a status_description to a reason, used only
// when a failure carries no status_code. The description itself is never
// passed on.
var descriptionHints = []struct{ word, reason string }{
	{"ifsc", offramp.ReasonInvalidIFSC},
	{"account number", offramp.ReasonInvalidAccountNumber},
	{"nre", offramp.ReasonAccountTypeNRE},
	{"name", offramp.ReasonNameMismatch},
	{"blocked", ReasonAccountBlocked},
	{"blacklist", ReasonBeneficiaryBlacklisted},
	{"imps", ReasonModeNotSupported},
	{"balance", ReasonInsufficientBalance},
}

// transfer is the Payouts v2 transfer object: the create answer, the status
// fetch answer and a webhook's data object share it.
type transfer struct {
	TransferID        string `json:"transfer_id"`
	CFTransferID      string `json:"cf_transfer_id"`
	Status            string `json:"status"`
	StatusCode        string `json:"status_code"`
	StatusDescription string `json:"status_description"`
	TransferMode      string `json:"transfer_mode"`
	TransferUTR       string `json:"transfer_utr"`
}

// resultOf maps a Cashfree transfer to the bank contract. The table is
// documented in the package documentation; this is its one implementation.
// known is false for a status the documentation does not list (answered
// ACCEPTED: the transfer exists and is not known to be settled).
func resultOf(t transfer) (res offramp.RailResult, known bool) {
	utr := strings.TrimSpace(t.TransferUTR)
	switch strings.ToUpper(strings.TrimSpace(t.Status)) {
	case StatusReceived, StatusPending, StatusApprovalPending, StatusScheduled, StatusQueued:
		return offramp.RailResult{Status: offramp.RailAccepted}, true
	case StatusSuccess:
		if utr == "" {
			// Paid per Cashfree, but without the bank's reference the
			// contract cannot report SUCCESS: keep polling until it shows.
			return offramp.RailResult{Status: offramp.RailAccepted}, true
		}
		return offramp.RailResult{Status: offramp.RailSuccess, UTR: utr}, true
	case StatusFailed, StatusRejected:
		return offramp.RailResult{Status: offramp.RailRejected, Reason: reasonFor(t.StatusCode, t.StatusDescription, offramp.ReasonBeneficiaryBankRejected)}, true
	case StatusManuallyRejected:
		return offramp.RailResult{Status: offramp.RailRejected, Reason: reasonFor(t.StatusCode, t.StatusDescription, ReasonManuallyRejected)}, true
	case StatusReversed:
		reason := reasonFor(t.StatusCode, t.StatusDescription, offramp.ReasonReversedByBank)
		if utr == "" {
			// Returned before any credit was reported: no money reached
			// the beneficiary and there is no UTR to keep, which is a
			// rejection in the contract's terms.
			return offramp.RailResult{Status: offramp.RailRejected, Reason: reason}, true
		}
		return offramp.RailResult{Status: offramp.RailReversed, UTR: utr, Reason: reason}, true
	}
	return offramp.RailResult{Status: offramp.RailAccepted}, false
}

// reasonFor turns a status_code (or, lacking one, hints in the
// description) into a reason token; fallback when nothing fits.
func reasonFor(code, description, fallback string) string {
	code = strings.ToUpper(strings.TrimSpace(code))
	if r, ok := statusCodeReasons[code]; ok {
		return r
	}
	if tok := token(code); tok != "" {
		return tok
	}
	if code == "" {
		d := strings.ToLower(description)
		for _, h := range descriptionHints {
			if strings.Contains(d, h.word) {
				return h.reason
			}
		}
	}
	return fallback
}

// token returns s as a reason token (upper-case letters, digits and
// underscores, starting with a letter, 3 to 64 long), or "" if it is not
// one.
func token(s string) string {
	if len(s) < 3 || len(s) > 64 || s[0] < 'A' || s[0] > 'Z' {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return ""
		}
	}
	return s
}

// beneficiaryErrorReason maps the code of a 4xx create error about the
// beneficiary to a reason; ok is false when the error is not about the
// beneficiary. Codes arrive prefixed with the field path
// ("beneficiary_details.beneficiary_instrument_details.bank_ifsc_invalid").
func beneficiaryErrorReason(code string) (string, bool) {
	c := strings.ToLower(strings.TrimSpace(code))
	last := c
	if i := strings.LastIndexByte(c, '.'); i >= 0 {
		last = c[i+1:]
	}
	switch {
	case strings.HasPrefix(last, "bank_account_number_same_as_source"), last == "beneficiary_account_same_as_source":
		return ReasonBeneficiarySameAsSource, true
	case strings.HasPrefix(last, "bank_account_number"):
		return offramp.ReasonInvalidAccountNumber, true
	case strings.HasPrefix(last, "bank_ifsc"), strings.HasPrefix(last, "ifsc"):
		return offramp.ReasonInvalidIFSC, true
	case strings.HasPrefix(last, "beneficiary_name"):
		return ReasonInvalidBeneficiaryName, true
	case strings.Contains(last, "blacklist"):
		return ReasonBeneficiaryBlacklisted, true
	case strings.HasPrefix(last, "vba_bene"):
		return ReasonBeneficiaryNotAllowed, true
	case last == "beneficiary_not_found":
		return ReasonBeneficiaryNotFound, true
	case strings.HasPrefix(c, "beneficiary_details"), strings.Contains(last, "beneficiary"), strings.Contains(last, "bene_"):
		if tok := token(strings.ToUpper(last)); tok != "" {
			return tok, true
		}
		return offramp.ReasonBeneficiaryBankRejected, true
	}
	return "", false
}
