package offramp

import (
	"time"

	"github.com/google/uuid"
)

// CustomerStatus is the KYC status of a customer.
type CustomerStatus string

const (
	CustomerUnverified CustomerStatus = "UNVERIFIED"
	CustomerProcessing CustomerStatus = "PROCESSING"
	CustomerVerified   CustomerStatus = "VERIFIED"
	CustomerFailed     CustomerStatus = "FAILED"
)

// Customer failure reasons (DollarPe's failure-reason reference).
const (
	ReasonDocumentVerificationFailed = "DOCUMENT_VERIFICATION_FAILED"
	ReasonTaxVerificationFailed      = "TAX_VERIFICATION_FAILED"
	ReasonSelfieVerificationFailed   = "SELFIE_VERIFICATION_FAILED"
	ReasonKYCFailed                  = "KYC_FAILED"
)

// Document types a customer can submit for KYC.
var DocumentTypes = []string{"AADHAAR", "PASSPORT", "VOTER_ID", "DRIVING_LICENSE"}

// MaxKYCUpdates is how many times a customer's KYC information may be
// updated after the first submission.
const MaxKYCUpdates = 3

// Customer is an exchange's end user. Everything about a customer is scoped
// to its organization.
type Customer struct {
	ID                 uuid.UUID
	OrgID              uuid.UUID
	ClientReferenceID  string
	FullName           string
	Email              string
	Phone              string
	Country            string // ISO 3166 alpha-3, by nationality
	NonResidenceStatus bool
	ResidenceCountry   string // ISO 3166 alpha-3, optional
	Status             CustomerStatus
	FailureReason      string
	// KYC is nil until the customer submits KYC data.
	KYC *KYC
	// EDDVerified is derived, never written: the customer has a VERIFIED
	// Enhanced Due Diligence submission.
	EDDVerified bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// KYC is what a customer submitted for identity verification. TaxNumber and
// DocumentNumber are encrypted at rest.
type KYC struct {
	FullName                 string
	Phone                    string
	FullAddress              string
	DOB                      string // DD-MM-YYYY
	RegisteredDate           string // DD-MM-YYYY
	TaxNumber                string
	DocumentType             string
	DocumentFrontImageURL    string
	DocumentBackImageURL     string
	DocumentNumber           string
	DocumentAdditionalData   map[string]any
	SelfieURL                string
	SelfieVerificationStatus bool
	AdditionalInfo           map[string]any
	// UpdateCount is how many update-* calls have been accepted.
	UpdateCount int
	// Attempt identifies the submission being verified: the sequence
	// number of its PROCESSING event, so it grows across resets too. A
	// verification job carries the attempt it checks and is ignored once
	// a newer one exists.
	Attempt     int
	SubmittedAt time.Time
}

// customerTransitions lists the allowed status changes.
var customerTransitions = map[CustomerStatus][]CustomerStatus{
	CustomerUnverified: {CustomerProcessing},
	CustomerProcessing: {CustomerVerified, CustomerFailed, CustomerUnverified, CustomerProcessing},
	CustomerVerified:   {CustomerUnverified},
	CustomerFailed:     {CustomerUnverified, CustomerProcessing},
}

// CanTransition reports whether a customer may move from one status to another.
func (s CustomerStatus) CanTransition(to CustomerStatus) bool {
	for _, t := range customerTransitions[s] {
		if t == to {
			return true
		}
	}
	return false
}
