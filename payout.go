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
type PayoutPhase string

const (
	// PhaseQueued: accepted, not yet sent to the bank.
	PhaseQueued PayoutPhase = "QUEUED"
	// PhaseSubmitting: recorded as about to be sent. Found after a crash,
	// it means the outcome is unknown: the bank is asked, never sent to
	// again without asking.
	PhaseSubmitting PayoutPhase = "SUBMITTING"
	// PhaseSubmitted: the bank accepted the transfer; awaiting its result.
	PhaseSubmitted PayoutPhase = "SUBMITTED"
	// PhaseOutcomeUnknown: a submission timed out or was interrupted; the
	// engine inquires with back-off.
	PhaseOutcomeUnknown PayoutPhase = "OUTCOME_UNKNOWN"
	PhasePaid           PayoutPhase = "PAID"
	PhaseRejected       PayoutPhase = "REJECTED"
	PhaseManualReview   PayoutPhase = "MANUAL_REVIEW"
	PhaseCryptoReturned PayoutPhase = "CRYPTO_RETURNED"
)

// Payout failure reasons.
const (
	ReasonBeneficiaryBankRejected = "BENEFICIARY_BANK_REJECTED"
	ReasonAMLScreeningFailed      = "AML_SCREENING_FAILED"
	ReasonOutcomeUnknown          = "BANK_OUTCOME_UNKNOWN"
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
	// payout, so a repeated submission cannot pay twice.
	RailReference string
	UTR           string
	FailureReason string
	// LimitDay is the Asia/Kolkata day ("2006-01-02") whose daily limit
	// this payout uses; a FAILED payout gives the amount back to that day.
	LimitDay  string
	Inquiries int
	CreatedAt time.Time
	UpdatedAt time.Time
}

var payoutTransitions = map[PayoutStatus][]PayoutStatus{
	PayoutProcessing: {PayoutSuccess, PayoutFailed, PayoutInReview},
	PayoutInReview:   {PayoutSuccess, PayoutFailed},
	PayoutFailed:     {PayoutRefunded},
}

// CanTransition reports whether a payout may move from s to to. SUCCESS and
// REFUNDED are final.
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
