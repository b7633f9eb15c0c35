// Package sandbox implements Offramp's verifiers for the sandbox
// environment: no partner is called, and magic input values choose the
// outcome so integrators can test every path. Production never uses it.
package sandbox

import (
	"context"
	"strings"

	"github.com/offramp/offramp"
)

// Magic values. They are documented in the README; keep the two in step.
const (
	FailTaxNumber      = "AAAAA0000A"   // KYC FAILED, TAX_VERIFICATION_FAILED
	FailDocumentNumber = "000000000000" // KYC FAILED, DOCUMENT_VERIFICATION_FAILED
	FailSelfieMarker   = "fail"         // selfie_url containing it: SELFIE_VERIFICATION_FAILED
)

// bankOutcomes maps the last four digits of an account number to the
// verification failure it triggers.
var bankOutcomes = map[string]string{
	"0000": offramp.ReasonInvalidAccountNumber,
	"1111": offramp.ReasonNameMismatch,
	"2222": offramp.ReasonPennyDropFailed,
}

// Verifier is the sandbox offramp.Verifier.
type Verifier struct{}

var _ offramp.Verifier = Verifier{}

// VerifyKYC fails a submission carrying a magic value and passes the rest.
func (Verifier) VerifyKYC(_ context.Context, c offramp.Customer) (offramp.Verdict, error) {
	k := c.KYC
	if k == nil {
		return offramp.Verdict{FailureReason: offramp.ReasonKYCFailed}, nil
	}
	switch {
	case k.TaxNumber == FailTaxNumber:
		return offramp.Verdict{FailureReason: offramp.ReasonTaxVerificationFailed}, nil
	case k.DocumentNumber == FailDocumentNumber:
		return offramp.Verdict{FailureReason: offramp.ReasonDocumentVerificationFailed}, nil
	case strings.Contains(strings.ToLower(k.SelfieURL), FailSelfieMarker), !k.SelfieVerificationStatus:
		return offramp.Verdict{FailureReason: offramp.ReasonSelfieVerificationFailed}, nil
	}
	return offramp.Verdict{Passed: true}, nil
}

// VerifyBank simulates a penny drop: the account number's last four digits
// may pick a failure; otherwise the "bank" reports the holder name the
// exchange sent as account_name (or the KYC name when it sent none), and the
// service compares it with the KYC name.
func (Verifier) VerifyBank(_ context.Context, c offramp.Customer, b offramp.BankAccount) (offramp.Verdict, error) {
	if b.Type == offramp.BankAccountDetails && len(b.AccountNumber) >= 4 {
		if reason, ok := bankOutcomes[b.AccountNumber[len(b.AccountNumber)-4:]]; ok {
			return offramp.Verdict{FailureReason: reason}, nil
		}
	}
	holder := b.AccountName
	if holder == "" {
		holder = c.FullName
		if c.KYC != nil && c.KYC.FullName != "" {
			holder = c.KYC.FullName
		}
	}
	return offramp.Verdict{Passed: true, HolderName: holder}, nil
}
