package razorpayx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/offramp/offramp"
)

// ErrValidationPending: RazorpayX has not finished a fund account
// validation yet; VerifyBank returns it (wrapped) so that the verification
// job retries later.
var ErrValidationPending = errors.New("razorpayx: fund account validation still in progress")

// ValidationAmountPaise is what a validation deposits (₹1).
const ValidationAmountPaise = 100

// BankVerifier checks bank accounts with RazorpayX Fund Account Validation.
// It is safe for concurrent use.
type BankVerifier struct {
	c *client

	mu sync.Mutex
	// pending maps a fund account to its unfinished validation, so that a
	// retry fetches it instead of paying for another.
	pending map[string]string
}

var _ offramp.BankVerifier = (*BankVerifier)(nil)

// NewBankVerifier returns a BankVerifier for cfg (WebhookSecret unused).
func NewBankVerifier(cfg Config) (*BankVerifier, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	return &BankVerifier{c: c, pending: map[string]string{}}, nil
}

// Check proves that the credentials and base URL work (see Rail.Check).
func (v *BankVerifier) Check(ctx context.Context) error { return v.c.check(ctx) }

type validationRequest struct {
	AccountNumber string `json:"account_number"`
	FundAccount   struct {
		ID string `json:"id"`
	} `json:"fund_account"`
	Amount   int64             `json:"amount"`
	Currency string            `json:"currency"`
	Notes    map[string]string `json:"notes,omitempty"`
}

type validationResults struct {
	AccountStatus  string `json:"account_status"`
	RegisteredName string `json:"registered_name"`
}

// validation is RazorpayX's fund_account.validation entity; results is
// the documented field, validation_results the composite API's.
type validation struct {
	ID                string             `json:"id"`
	Status            string             `json:"status"`
	Results           *validationResults `json:"results"`
	ValidationResults *validationResults `json:"validation_results"`
	StatusDetails     *statusDetails     `json:"status_details"`
}

func (v validation) results() validationResults {
	switch {
	case v.Results != nil && v.Results.AccountStatus != "":
		return *v.Results
	case v.ValidationResults != nil:
		return *v.ValidationResults
	case v.Results != nil:
		return *v.Results
	}
	return validationResults{}
}

// VerifyBank validates b's account (see the package documentation). A
// validation RazorpayX has not finished returns an error wrapping
// ErrValidationPending; other errors are transient too.
func (v *BankVerifier) VerifyBank(ctx context.Context, c offramp.Customer, b offramp.BankAccount) (offramp.Verdict, error) {
	if b.Type != offramp.BankAccountDetails {
		v.c.log.WarnContext(ctx, "razorpayx validates bank accounts only", "bank_id", b.ID.String(), "type", string(b.Type))
		return offramp.Verdict{FailureReason: offramp.ReasonPennyDropFailed}, nil
	}
	name := b.AccountName
	if name == "" && c.KYC != nil {
		name = c.KYC.FullName
	}
	if name == "" {
		name = c.FullName
	}
	fa, err := v.c.fundAccount(ctx, beneficiary{OrgID: b.OrgID, CustomerID: b.CustomerID, BankID: b.ID,
		Name: name, IFSC: b.IFSC, AccountNumber: b.AccountNumber})
	var be *beneficiaryError
	switch {
	case errors.As(err, &be):
		reason := be.reason
		if reason != offramp.ReasonInvalidIFSC && reason != offramp.ReasonInvalidAccountNumber {
			reason = offramp.ReasonPennyDropFailed
		}
		return offramp.Verdict{FailureReason: reason}, nil
	case err != nil:
		return offramp.Verdict{}, err
	}

	v.mu.Lock()
	id := v.pending[fa]
	v.mu.Unlock()
	var val validation
	if id != "" {
		err = v.c.do(ctx, request{method: http.MethodGet, path: "/v1/fund_accounts/validations/" + id}, &val)
	} else {
		body := validationRequest{AccountNumber: v.c.account, Amount: ValidationAmountPaise, Currency: "INR",
			Notes: map[string]string{"offramp_bank_id": b.ID.String()}}
		body.FundAccount.ID = fa
		err = v.c.do(ctx, request{method: http.MethodPost, path: "/v1/fund_accounts/validations", body: body}, &val)
	}
	if err != nil {
		return offramp.Verdict{}, err
	}
	switch val.Status {
	case "created":
		v.mu.Lock()
		v.pending[fa] = val.ID
		v.mu.Unlock()
		return offramp.Verdict{}, fmt.Errorf("%w: validation %s of fund account %s", ErrValidationPending, val.ID, fa)
	case "completed", "failed":
		v.mu.Lock()
		delete(v.pending, fa)
		v.mu.Unlock()
	default:
		return offramp.Verdict{}, fmt.Errorf("razorpayx: validation %s has an undocumented status %q", val.ID, val.Status)
	}
	if val.Status == "failed" {
		return offramp.Verdict{FailureReason: offramp.ReasonPennyDropFailed}, nil
	}
	res := val.results()
	switch res.AccountStatus {
	case "active", "valid":
		return offramp.Verdict{Passed: true, HolderName: res.RegisteredName}, nil
	case "invalid":
		return offramp.Verdict{FailureReason: offramp.ReasonInvalidAccountNumber}, nil
	}
	return offramp.Verdict{FailureReason: offramp.ReasonPennyDropFailed}, nil
}
