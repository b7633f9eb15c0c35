package offramp

import (
	"context"
	"errors"
)

// Verdict is the outcome of a verification: Passed, or failed with a
// DollarPe failure reason.
type Verdict struct {
	Passed        bool
	FailureReason string
	// HolderName is the account holder's name as the bank reports it, for
	// bank checks; the service compares it with the KYC name. Empty when
	// the verifier does not learn it.
	HolderName string
}

// KYCVerifier checks a customer's identity.
type KYCVerifier interface {
	VerifyKYC(ctx context.Context, c Customer) (Verdict, error)
}

// BankVerifier checks a bank account's ownership.
type BankVerifier interface {
	VerifyBank(ctx context.Context, c Customer, b BankAccount) (Verdict, error)
}

// ErrManualDecision is returned by a verifier that leaves the decision to
// an operator: the submission stays PROCESSING, without retries, until an
// operator decides it.
var ErrManualDecision = errors.New("verification left to an operator")

// Verifier checks a customer's identity and a bank account's ownership. The
// sandbox implementation decides by magic values; a production adapter calls
// a KYC and penny-drop partner. A Verifier may return an error for a
// transient failure, and the check is retried.
type Verifier interface {
	VerifyKYC(ctx context.Context, c Customer) (Verdict, error)
	VerifyBank(ctx context.Context, c Customer, b BankAccount) (Verdict, error)
}
