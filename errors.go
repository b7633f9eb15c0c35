package offramp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// Code is a stable, machine-readable error code. Codes are part of the public
// API (they are sent as "err_code"), so they are never renamed.
type Code string

const (
	// CodeInvalid: the request is malformed or a field fails validation.
	CodeInvalid Code = "invalid_request"
	// CodeNotFound: the object does not exist or belongs to another
	// organization. The two are indistinguishable on purpose.
	CodeNotFound Code = "not_found"
	// CodeConflict: a uniqueness rule would be broken (email in use, ...).
	CodeConflict Code = "conflict"
	// CodeRejected: a business rule refuses the operation in the object's
	// current state (customer unverified, limit reached, ...).
	CodeRejected Code = "rejected"
	// CodeUnauthenticated: missing or bad credentials or signature.
	CodeUnauthenticated Code = "unauthenticated"
	// CodeNestedUnsigned: the signature matched only DollarPe's JavaScript
	// snippet form, which leaves nested keys unsigned, and the organization
	// has not opted in to accepting it.
	CodeNestedUnsigned Code = "signature_mismatch_nested_unsigned"
	// CodeRouteNotFound: no such endpoint.
	CodeRouteNotFound Code = "route_not_found"
	// CodeMethodNotAllowed: the endpoint exists but not for this method.
	CodeMethodNotAllowed Code = "method_not_allowed"
	// CodeTooLarge: the request body exceeds the limit.
	CodeTooLarge Code = "payload_too_large"
	// CodeIPNotAllowed: the organization restricts its API keys to an IP
	// allowlist and the request came from an address outside it.
	CodeIPNotAllowed Code = "ip_not_allowed"
	// CodeThrottled: the API key, or the server as a whole, is over its
	// request rate; retry after the Retry-After header's seconds.
	CodeThrottled Code = "throttled"
	// CodeUnavailable: the service cannot take the request right now
	// (shutting down, storage unavailable); safe to retry.
	// CodeInProgress: an earlier copy of this signed request is still
	// running; send it again shortly for its answer (409, Retry-After).
	CodeInProgress  Code = "request_in_progress"
	CodeUnavailable Code = "unavailable"
	// CodeInternal: a bug or an unexpected failure. Details are logged,
	// never returned.
	CodeInternal Code = "internal_error"
)

// Error is the one error type of Offramp. Message is safe to show to the
// API caller; Err, when set, is the underlying cause and is only logged.
type Error struct {
	Code    Code
	Message string
	// Fields maps a request field to its problems, in the DollarPe
	// "errors": {"field": ["message"]} form. May be nil.
	Fields map[string][]string
	// ExistingPayoutID, when not uuid.Nil, is the payout that already holds
	// what the request asked for: the client reference, the exchange order
	// (its live payout) or the quotation of a refused initiate. It is an
	// extension of DollarPe's envelope, sent at its top level beside
	// err_code as "existing_payout_id", so a client whose first answer was
	// lost learns which payout it made. Always one of the caller's
	// organization.
	ExistingPayoutID uuid.UUID
	Err              error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError is a business or validation error attached to one field: the
// message goes both in "message" and in "errors": {field: [message]}.
func FieldError(code Code, field, message string) *Error {
	return &Error{Code: code, Message: message, Fields: map[string][]string{field: {message}}}
}

// ErrorCode returns the code of err, CodeInternal for errors that are not an
// *Error and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Validation collects field problems so a request can report all of them at
// once, the way DRF does.
type Validation struct {
	fields map[string][]string
	order  []string
}

// Add records a problem with field.
func (v *Validation) Add(field, message string) {
	if v.fields == nil {
		v.fields = map[string][]string{}
	}
	if _, ok := v.fields[field]; !ok {
		v.order = append(v.order, field)
	}
	v.fields[field] = append(v.fields[field], message)
}

// Required records "This field is required." for field when value is empty.
func (v *Validation) Required(field, value string) bool {
	if value == "" {
		v.Add(field, MsgRequired)
		return false
	}
	return true
}

// Err returns nil when nothing was added, else a CodeInvalid *Error. With a
// single problem its message is that problem, prefixed by the field when the
// text is one of DRF's generic ones ("email: Enter a valid email address."),
// so a client that only shows "message" still tells the user something
// useful; with several it is "Bad Request" and "errors" lists them all.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	msg := "Bad Request"
	if len(v.order) == 1 && len(v.fields[v.order[0]]) == 1 {
		field, problem := v.order[0], v.fields[v.order[0]][0]
		msg = problem
		for _, generic := range []string{"This field", "Enter a valid", "Ensure this field", "Must be"} {
			if strings.HasPrefix(problem, generic) {
				msg = field + ": " + problem
				break
			}
		}
	}
	return &Error{Code: CodeInvalid, Message: msg, Fields: v.fields}
}

// Documented client-visible messages. They are copied from DollarPe's
// endpoint tables exactly (typos and trailing full stops included), because
// integrators match on them.
const (
	MsgRequired           = "This field is required."
	MsgBlank              = "This field may not be blank."
	MsgCustomerNotFound   = "Customer not found or access denied"
	MsgBankNotFound       = "Bank not found or access denied"
	MsgEmailInUse         = "Email already in use"
	MsgPhoneInUse         = "Phone already in use"
	MsgInvalidCountry     = "Invalid country code"
	MsgClientRefExists    = "Client Reference ID already exists"
	MsgKYCExists          = "KYC already exists"
	MsgKYCInUse           = "KYC already in use"
	MsgLimitExceeded      = "Limit exceeded"
	MsgKYCUpdateLimit     = "Kyc update limit exceeded"
	MsgCustomerUnverified = "Customer is unverified"
	MsgVPAInUse           = "VPA already in use"
	MsgMaxVPAs            = "Maximum 3 UPI IDs allowed"
	MsgAccountInUse       = "Account number already in use"
	MsgMaxAccounts        = "Maximum 3 bank account details allowed"
	MsgWebhookURLRequired = "Webhook URL is required"
	MsgInternal           = "Internal Server Error"
	MsgInternalDetail     = "Unexpected error occurred. Please try again later."

	// Payouts (§7, §8). Where DollarPe's table is cut off, the strings are
	// Offramp's own, written in the same style; the README lists them.
	MsgBankUnverified      = "Bank account is unverified"
	MsgUPINotSupported     = "UPI is not supported"
	MsgAmountBelowMin      = "Entered amount is less than minimum limit"
	MsgAmountAboveMax      = "Entered amount is more than maximum limit"
	MsgDailyLimitExceeded  = "Daily limit exceeded"
	MsgEDDRequired         = "EDD required"
	MsgEDDNotRequired      = "EDD not required"
	MsgAMLFailed           = "AML screening failed"
	MsgUnsupportedAsset    = "Unsupported asset"
	MsgUnsupportedFiat     = "Unsupported fiat"
	MsgQuotationIDRequired = "Quotation ID is required."
	MsgQuotationIDInvalid  = "Quotation ID is invalid"
	MsgQuotationNotFound   = "Quotation is not found"
	MsgCustomerMismatch    = "Customer ID does not match with the quotation"
	MsgQuotationExpired    = "Quotation has expired"
	MsgQuotationLinked     = "Quotation is already linked to another payout"
	MsgOrderInUse          = "Exchange Order ID already linked to a payout that is either processing or successful"
	MsgPayoutIDRequired    = "Payout ID is required."
	MsgPayoutIDInvalid     = "Payout ID is invalid"
	MsgOrderNotFound       = "Exchange Order ID not found"
	MsgTransferIDLinked    = "A different exchange transfer ID is already linked to this order"
	MsgTransferOnRefunded  = "The payout of this order was refunded; no transfer can be linked to it"
	MsgIdempotencyMismatch = "Idempotency-Key was already used with a different request"

	// Webhook extension endpoints.
	MsgWebhookEventNotFound = "Webhook event not found or access denied"
)
