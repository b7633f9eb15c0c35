// Package idcheck assembles Offramp's production identity checks: the
// verifiers that decide a customer's KYC and a bank account's ownership
// outside the sandbox.
//
// A provider adapter (idcheck/cashfree) checks what a provider can check;
// Manual leaves a check to an operator. Combine pairs any KYC verifier with
// any bank verifier, so a deployment can, for example, verify PANs with a
// provider and have an operator approve bank accounts, or the reverse.
//
// A verifier that leaves a decision to an operator returns an error
// wrapping offramp.ErrManualDecision. The service then completes the
// verification job without retrying it, keeps the submission PROCESSING,
// and logs that an operator must decide; the operator decides with
// `offramp admin kyc decide` or `offramp admin banks decide` (service.DecideKYC,
// service.DecideBank), which has the same effects as an automatic decision
// (status, event, webhook, failure reason) plus an audit entry.
package idcheck

import (
	"context"
	"fmt"

	"github.com/offramp/offramp"
)

// Manual is a KYC and bank verifier that decides nothing: every submission
// is left PROCESSING for an operator. It is what production runs with until
// a provider is configured for a check, and it never approves anything by
// itself.
type Manual struct{}

var (
	_ offramp.Verifier     = Manual{}
	_ offramp.KYCVerifier  = Manual{}
	_ offramp.BankVerifier = Manual{}
)

// VerifyKYC leaves the KYC submission to an operator.
func (Manual) VerifyKYC(context.Context, offramp.Customer) (offramp.Verdict, error) {
	return offramp.Verdict{}, fmt.Errorf("%w: no automatic KYC check is configured", offramp.ErrManualDecision)
}

// VerifyBank leaves the bank account to an operator.
func (Manual) VerifyBank(context.Context, offramp.Customer, offramp.BankAccount) (offramp.Verdict, error) {
	return offramp.Verdict{}, fmt.Errorf("%w: no automatic bank account check is configured", offramp.ErrManualDecision)
}

// Combine makes one offramp.Verifier of a KYC verifier and a bank verifier.
// A nil half is Manual: a missing check is left to an operator, never
// passed.
func Combine(kyc offramp.KYCVerifier, bank offramp.BankVerifier) offramp.Verifier {
	if kyc == nil {
		kyc = Manual{}
	}
	if bank == nil {
		bank = Manual{}
	}
	return combined{kyc: kyc, bank: bank}
}

type combined struct {
	kyc  offramp.KYCVerifier
	bank offramp.BankVerifier
}

func (v combined) VerifyKYC(ctx context.Context, c offramp.Customer) (offramp.Verdict, error) {
	return v.kyc.VerifyKYC(ctx, c)
}

func (v combined) VerifyBank(ctx context.Context, c offramp.Customer, b offramp.BankAccount) (offramp.Verdict, error) {
	return v.bank.VerifyBank(ctx, c, b)
}
