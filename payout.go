package offramp

import (
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// QuotationStatus is the state of a rate lock.
type QuotationStatus string

const (
	QuotationUnlinked QuotationStatus = "UNLINKED"
	QuotationLinked   QuotationStatus = "LINKED"
	QuotationExpired  QuotationStatus = "EXPIRED"
)

// Fees is the breakdown of what is deducted from the fiat value of a
// payout. Every amount is in fiat (INR) except ClientFeeCrypto and
// ClientGSTCrypto, which restate the client's fee and its GST in the asset.
// Rounding is the sub-paisa remainder left when the receiving amount is
// rounded down, so that
//
//	receiving + client fee + client GST + platform fee + platform GST
//	+ PG fee + PG GST + TDS + rounding = sending amount × rate, exactly.
type Fees struct {
	ClientFeeFiat      decimal.Decimal
	ClientFeeCrypto    decimal.Decimal
	ClientGSTFiat      decimal.Decimal
	ClientGSTCrypto    decimal.Decimal
	PlatformFee        decimal.Decimal
	PlatformGST        decimal.Decimal
	PGFee              decimal.Decimal
	PGGST              decimal.Decimal
	TDS                decimal.Decimal
	Rounding           decimal.Decimal
	GrossEffectiveRate decimal.Decimal
}

// RiskParameters are the exchange's risk signals sent with a quotation.
type RiskParameters struct {
	IPAddress                  string
	DeviceID                   string
	SuspiciousActivityReport   bool
	LawEnforcementAgencyReport bool
}

// Quotation locks a rate for one customer, bank account and amount until
// ExpiresAt. It is single use: the first payout that links it wins.
type Quotation struct {
	ID              uuid.UUID
	OrgID           uuid.UUID
	CustomerID      uuid.UUID
	BankID          uuid.UUID
	Asset           string // "USDT", "USDC"
	Fiat            string // "INR"
	PaymentMethod   string // "IMPS"
	SendingAmount   decimal.Decimal
	Rate            decimal.Decimal
	GrossFiat       decimal.Decimal // SendingAmount × Rate, exact
	ReceivingAmount decimal.Decimal
	Fees            Fees
	Risk            RiskParameters
	Status          QuotationStatus
	PayoutID        uuid.UUID // uuid.Nil until linked
	CreatedAt       time.Time
	ExpiresAt       time.Time
}

// StatusAt is the quotation's status at time now. Expiry is not stored: an
// unlinked quotation whose expiry has come is EXPIRED, computed from the
// server's clock on every read, so it can never be late.
func (q Quotation) StatusAt(now time.Time) QuotationStatus {
	if q.Status == QuotationUnlinked && !now.Before(q.ExpiresAt) {
		return QuotationExpired
	}
	return q.Status
}

// PayoutStatus is a payout's status on the wire.
type PayoutStatus string

const (
	PayoutProcessing PayoutStatus = "PROCESSING"
	PayoutSuccess    PayoutStatus = "SUCCESS"
	PayoutFailed     PayoutStatus = "FAILED"
	PayoutRefunded   PayoutStatus = "REFUNDED"
	// PayoutInReview: the bank's answer could not be established
	// automatically; an operator must decide. Money may have moved.
	PayoutInReview PayoutStatus = "IN_REVIEW"
)

// PayoutPhase is the engine's finer state, exposed as "status_detail".
// Every phase belongs to exactly one wire status (PhaseStatus), and the
// phase table (CanMoveTo) is the payout's state machine: the wire status
// table above is implied by it.
type PayoutPhase string

const (
	// PhaseQueued: accepted, not yet sent to the bank (or sent before and
	// definitely not received: see RailNotSent).
	PhaseQueued PayoutPhase = "QUEUED"
	// PhaseSubmitting: recorded as about to be sent. Found after a crash,
	// it means the outcome is unknown: the bank is asked, never sent to
	// again without asking.
	PhaseSubmitting PayoutPhase = "SUBMITTING"
	// PhaseSubmitted: the bank accepted the transfer and has not settled
	// it yet. Pending is normal for minutes to hours; the engine polls
	// with back-off until the settlement deadline.
	PhaseSubmitted PayoutPhase = "SUBMITTED"
	// PhaseOutcomeUnknown: a submission timed out, failed with a 5xx or was
	// interrupted by a crash; the engine inquires, a bounded number of
	// times.
	PhaseOutcomeUnknown PayoutPhase = "OUTCOME_UNKNOWN"
	// PhasePaid: the bank paid (SUCCESS, with its UTR). The engine keeps
	// checking for a reversal until the reversal window closes.
	PhasePaid PayoutPhase = "PAID"
	// PhaseRejected: the bank refused the transfer, or an operator decided
	// it failed (FAILED, with a reason).
	PhaseRejected PayoutPhase = "REJECTED"
	// PhaseReversed: the bank paid and later returned the money (FAILED,
	// reason REVERSED_BY_BANK; the UTR of the original credit is kept).
	PhaseReversed PayoutPhase = "REVERSED"
	// PhaseManualReview: the outcome could not be established
	// automatically (IN_REVIEW): an operator decides.
	PhaseManualReview PayoutPhase = "MANUAL_REVIEW"
	// PhaseCryptoReturned: the exchange's crypto for a failed payout was
	// returned (REFUNDED).
	PhaseCryptoReturned PayoutPhase = "CRYPTO_RETURNED"
)

// PayoutPhases lists every phase, in the order of the state machine.
var PayoutPhases = []PayoutPhase{
	PhaseQueued, PhaseSubmitting, PhaseSubmitted, PhaseOutcomeUnknown,
	PhasePaid, PhaseRejected, PhaseReversed, PhaseManualReview, PhaseCryptoReturned,
}

// PayoutStatuses lists every wire status.
var PayoutStatuses = []PayoutStatus{PayoutProcessing, PayoutSuccess, PayoutFailed, PayoutRefunded, PayoutInReview}

// Status is the wire status a phase belongs to ("" for an unknown phase).
func (ph PayoutPhase) Status() PayoutStatus {
	switch ph {
	case PhaseQueued, PhaseSubmitting, PhaseSubmitted, PhaseOutcomeUnknown:
		return PayoutProcessing
	case PhasePaid:
		return PayoutSuccess
	case PhaseRejected, PhaseReversed:
		return PayoutFailed
	case PhaseManualReview:
		return PayoutInReview
	case PhaseCryptoReturned:
		return PayoutRefunded
	}
	return ""
}

// phaseTransitions is the payout state machine. A move to the same phase
// (a poll that found nothing new) is not a transition and is not listed.
//
//	QUEUED          -> SUBMITTING                 recorded before the bank call
//	SUBMITTING      -> SUBMITTED                  the bank accepted; pending
//	                -> OUTCOME_UNKNOWN            timeout, 5xx, crash mid-call
//	                -> QUEUED                     the bank certainly did not receive it
//	                -> PAID | REJECTED            the bank answered at once
//	SUBMITTED       -> PAID | REJECTED            polled or told by the bank
//	                -> MANUAL_REVIEW              still pending at the settlement deadline
//	OUTCOME_UNKNOWN -> SUBMITTED | PAID | REJECTED  an inquiry found the transfer
//	                -> QUEUED                     NOT_FOUND after the grace period, bank dedups
//	                -> MANUAL_REVIEW              inquiries exhausted
//	MANUAL_REVIEW   -> PAID | REJECTED            an operator's decision, or a re-inquiry
//	PAID            -> REVERSED                   the bank returned the money
//	REJECTED        -> CRYPTO_RETURNED            the exchange's crypto went back
//	REVERSED        -> CRYPTO_RETURNED
//
// Every phase of PROCESSING may also go to PAID or REJECTED: the sandbox's
// mock endpoint forces an outcome, and a provider's webhook may report a
// definite one before the engine's own step does.
var phaseTransitions = map[PayoutPhase][]PayoutPhase{
	PhaseQueued:         {PhaseSubmitting, PhasePaid, PhaseRejected},
	PhaseSubmitting:     {PhaseSubmitted, PhaseOutcomeUnknown, PhaseQueued, PhasePaid, PhaseRejected},
	PhaseSubmitted:      {PhasePaid, PhaseRejected, PhaseManualReview},
	PhaseOutcomeUnknown: {PhaseSubmitted, PhasePaid, PhaseRejected, PhaseQueued, PhaseManualReview},
	PhaseManualReview:   {PhasePaid, PhaseRejected},
	PhasePaid:           {PhaseReversed},
	PhaseRejected:       {PhaseCryptoReturned},
	PhaseReversed:       {PhaseCryptoReturned},
}

// CanMoveTo reports whether a payout may move from phase ph to phase to.
func (ph PayoutPhase) CanMoveTo(to PayoutPhase) bool {
	for _, t := range phaseTransitions[ph] {
		if t == to {
			return true
		}
	}
	return false
}

// Payout failure reasons.
const (
	ReasonBeneficiaryBankRejected = "BENEFICIARY_BANK_REJECTED"
	ReasonAMLScreeningFailed      = "AML_SCREENING_FAILED"
	ReasonOutcomeUnknown          = "BANK_OUTCOME_UNKNOWN"
	// ReasonReversedByBank: the bank paid and later reversed the credit.
	// A DollarPe client sees status FAILED with this failure_reason.
	ReasonReversedByBank = "REVERSED_BY_BANK"
)

// Why a payout went to IN_REVIEW (Payout.ReviewReason).
const (
	// ReviewOutcomeUnknown: inquiries after a timeout or crash could not
	// find out whether the bank has the transfer.
	ReviewOutcomeUnknown = "OUTCOME_UNKNOWN"
	// ReviewSettlementOverdue: the bank accepted the transfer and had not
	// settled it by the settlement deadline.
	ReviewSettlementOverdue = "SETTLEMENT_OVERDUE"
	// ReviewResubmissionsExhausted: the bank kept reporting NOT_FOUND and
	// the resubmission bound was reached.
	ReviewResubmissionsExhausted = "RESUBMISSIONS_EXHAUSTED"
)

// Payout pays a quotation's receiving amount into the customer's bank
// account.
type Payout struct {
	ID                 uuid.UUID
	OrgID              uuid.UUID
	CustomerID         uuid.UUID
	BankID             uuid.UUID
	QuotationID        uuid.UUID
	ClientReferenceID  string
	ExchangeOrderID    string
	ExchangeTransferID string
	Asset              string
	Fiat               string
	PaymentMethod      string
	SendingAmount      decimal.Decimal
	Rate               decimal.Decimal
	GrossFiat          decimal.Decimal
	ReceivingAmount    decimal.Decimal
	Fees               Fees
	Status             PayoutStatus
	Phase              PayoutPhase
	// RailReference identifies the transfer at the bank; unique per
	// payout, so a repeated submission cannot pay twice. It is the
	// "bank_reference" an operator quotes to the bank.
	RailReference string
	UTR           string
	FailureReason string
	// LimitDay is the Asia/Kolkata day ("2006-01-02") whose daily limit
	// this payout uses; a FAILED payout gives the amount back to that day.
	LimitDay string
	// Inquiries counts the inquiries that left an unknown outcome open;
	// bounded by the engine's MaxInquiries.
	Inquiries int
	// Submissions counts the calls to the bank's Submit; bounded by the
	// engine's MaxSubmissions.
	Submissions int
	// SubmittedAt is when the latest submission was recorded (zero before
	// the first): NOT_FOUND within the rail's posting delay after it may
	// only mean the bank has not posted the transfer yet.
	SubmittedAt time.Time
	// PaidAt is when SUCCESS was recorded: the reversal window runs from it.
	PaidAt time.Time
	// LastBankAnswer is the bank's latest answer in words, for operators
	// ("ACCEPTED", "NOT_FOUND", "error: ...").
	LastBankAnswer string
	// ReviewReason says why the payout went to IN_REVIEW (Review...).
	ReviewReason string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

var payoutTransitions = map[PayoutStatus][]PayoutStatus{
	PayoutProcessing: {PayoutSuccess, PayoutFailed, PayoutInReview},
	PayoutInReview:   {PayoutSuccess, PayoutFailed},
	// A bank reversal is the only way out of SUCCESS.
	PayoutSuccess: {PayoutFailed},
	PayoutFailed:  {PayoutRefunded},
}

// CanTransition reports whether a payout may move from status s to to.
// REFUNDED is final; SUCCESS only leaves by a bank reversal (to FAILED).
// The phase table is finer: use PayoutPhase.CanMoveTo for a step.
func (s PayoutStatus) CanTransition(to PayoutStatus) bool {
	for _, t := range payoutTransitions[s] {
		if t == to {
			return true
		}
	}
	return false
}

// UsesLimit reports whether a payout in this status counts against the
// customer's daily limit.
func (s PayoutStatus) UsesLimit() bool {
	return s == PayoutProcessing || s == PayoutSuccess || s == PayoutInReview
}

// Unfinished reports whether the engine still has work on a payout in this
// phase: it is PROCESSING, so exactly one live payout job must exist.
func (ph PayoutPhase) Unfinished() bool { return ph.Status() == PayoutProcessing }

// EDDStatus is the state of an Enhanced Due Diligence submission.
type EDDStatus string

const (
	EDDProcessing EDDStatus = "PROCESSING"
	EDDVerified   EDDStatus = "VERIFIED"
	EDDFailed     EDDStatus = "FAILED"
)

// EDD is a customer's Enhanced Due Diligence submission; VERIFIED raises the
// daily payout limit.
type EDD struct {
	ID                     uuid.UUID
	OrgID                  uuid.UUID
	CustomerID             uuid.UUID
	Status                 EDDStatus
	SourceOfIncome         string
	BankStatementURLs      []string
	BankStatementPasswords []string
	ITRReportURLs          []string
	ITRReportPasswords     []string
	Declaration            bool
	FailureReason          string
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

// LimitUsage is how much of a customer's daily limit one Asia/Kolkata day
// has used, in fiat. It is a running counter kept in the payout
// transactions, so reading a limit is one row.
type LimitUsage struct {
	OrgID      uuid.UUID
	CustomerID uuid.UUID
	Day        string // "2006-01-02" in Asia/Kolkata
	Used       decimal.Decimal
}

// IdempotencyRecord remembers the outcome of a request made with an
// Idempotency-Key, so a retry gets the same answer instead of a second
// payout.
type IdempotencyRecord struct {
	OrgID       uuid.UUID
	Key         string
	RequestHash string
	// PayoutID is set when the request created a payout.
	PayoutID uuid.UUID
	// ErrCode, ErrMessage and ErrFields record a refused request.
	ErrCode    Code
	ErrMessage string
	ErrFields  map[string][]string
	CreatedAt  time.Time
}
