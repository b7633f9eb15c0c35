package idcheck_test

import (
	"context"
	"errors"
	"testing"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/idcheck"
)

type passKYC struct{}

func (passKYC) VerifyKYC(context.Context, offramp.Customer) (offramp.Verdict, error) {
	return offramp.Verdict{Passed: true}, nil
}

type failBank struct{}

func (failBank) VerifyBank(context.Context, offramp.Customer, offramp.BankAccount) (offramp.Verdict, error) {
	return offramp.Verdict{FailureReason: offramp.ReasonPennyDropFailed}, nil
}

func TestManual(t *testing.T) {
	ctx := context.Background()
	if v, err := (idcheck.Manual{}).VerifyKYC(ctx, offramp.Customer{}); !errors.Is(err, offramp.ErrManualDecision) || v.Passed {
		t.Errorf("Manual.VerifyKYC = %+v, %v", v, err)
	}
	if v, err := (idcheck.Manual{}).VerifyBank(ctx, offramp.Customer{}, offramp.BankAccount{}); !errors.Is(err, offramp.ErrManualDecision) || v.Passed {
		t.Errorf("Manual.VerifyBank = %+v, %v", v, err)
	}
}

func TestCombine(t *testing.T) {
	ctx := context.Background()
	v := idcheck.Combine(passKYC{}, failBank{})
	if got, err := v.VerifyKYC(ctx, offramp.Customer{}); err != nil || !got.Passed {
		t.Errorf("KYC half = %+v, %v", got, err)
	}
	if got, err := v.VerifyBank(ctx, offramp.Customer{}, offramp.BankAccount{}); err != nil || got.FailureReason != offramp.ReasonPennyDropFailed {
		t.Errorf("bank half = %+v, %v", got, err)
	}
	// A missing half is left to an operator, never passed.
	v = idcheck.Combine(nil, nil)
	if _, err := v.VerifyKYC(ctx, offramp.Customer{}); !errors.Is(err, offramp.ErrManualDecision) {
		t.Errorf("nil KYC half: %v", err)
	}
	if _, err := v.VerifyBank(ctx, offramp.Customer{}, offramp.BankAccount{}); !errors.Is(err, offramp.ErrManualDecision) {
		t.Errorf("nil bank half: %v", err)
	}
}
