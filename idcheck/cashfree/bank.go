package cashfree

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/offramp/offramp"
)

// BankAccountRequest is the body of POST /bank-account/sync. Name and
// phone are optional and Offramp sends neither: the holder's name is
// compared by the service, with the rule it applies to every verifier.
type BankAccountRequest struct {
	BankAccount string `json:"bank_account"`
	IFSC        string `json:"ifsc"`
	Name        string `json:"name,omitempty"`
	Phone       string `json:"phone,omitempty"`
}

// BankAccountResult is the part of POST /bank-account/sync's answer
// Offramp reads.
type BankAccountResult struct {
	ReferenceID       flexString `json:"reference_id"`
	NameAtBank        string     `json:"name_at_bank"`
	BankName          string     `json:"bank_name"`
	NameMatchScore    flexString `json:"name_match_score"`
	NameMatchResult   string     `json:"name_match_result"`
	AccountStatus     string     `json:"account_status"`
	AccountStatusCode string     `json:"account_status_code"`
	UTR               string     `json:"utr"`
}

// VerifyBankAccount calls POST /bank-account/sync: a penny drop answered
// in the same request.
func (c *Client) VerifyBankAccount(ctx context.Context, account, ifsc string) (BankAccountResult, error) {
	var r BankAccountResult
	err := c.do(ctx, http.MethodPost, "/bank-account/sync", BankAccountRequest{BankAccount: account, IFSC: ifsc}, &r)
	return r, err
}

// BankVerifier verifies a bank account by Cashfree's synchronous penny drop
// and reports the holder's name for the service to compare with the KYC
// name (see the package documentation for every answer).
type BankVerifier struct {
	Client *Client
}

var _ offramp.BankVerifier = BankVerifier{}

// VerifyBank checks b.
func (v BankVerifier) VerifyBank(ctx context.Context, _ offramp.Customer, b offramp.BankAccount) (offramp.Verdict, error) {
	if b.Type != offramp.BankAccountDetails {
		return offramp.Verdict{}, fmt.Errorf("%w: a %s is not checked by Cashfree's bank account verification", offramp.ErrManualDecision, b.Type)
	}
	r, err := v.Client.VerifyBankAccount(ctx, b.AccountNumber, b.IFSC)
	if err != nil {
		return offramp.Verdict{}, err
	}
	return judgeBank(r)
}

// Account status codes with a meaning of their own (bav-response-description).
var bankFailures = map[string]string{
	"INVALID_ACCOUNT_FAIL": offramp.ReasonInvalidAccountNumber,
	"INVALID_IFSC_FAIL":    offramp.ReasonInvalidIFSC,
	"NRE_ACCOUNT_FAIL":     offramp.ReasonAccountTypeNRE,
	"FRAUD_ACCOUNT":        offramp.ReasonBankRiskCheckFailed,
	"BAV_BLOCKED":          offramp.ReasonBankRiskCheckFailed,
	"ACCOUNT_BLOCKED":      offramp.ReasonPennyDropFailed,
	"FAILED_AT_BANK":       offramp.ReasonPennyDropFailed,
	"BENE_BANK_DECLINED":   offramp.ReasonPennyDropFailed,
	"IMPS_MODE_FAIL":       offramp.ReasonPennyDropFailed,
}

// bankRetry are codes that say nothing about the account: the check is
// still running, or the rails or Cashfree's balance failed.
var bankRetry = map[string]bool{
	"VALIDATION_IN_PROGRESS":             true,
	"VERIFICATION_ALREADY_UNDER_PROCESS": true,
	"NPCI_UNAVAILABLE":                   true,
	"CONNECTION_TIMEOUT":                 true,
	"SOURCE_BANK_DECLINED":               true,
	"BENEFICIARY_BANK_OFFLINE":           true,
	"INSUFFICIENT_BALANCE":               true,
}

// pendingStatuses are account statuses of a check still in flight.
var pendingStatuses = map[string]bool{
	"RECEIVED": true, "IN_PROCESS": true, "PROCESSING": true, "APPROVAL_PENDING": true, "PARTIALLY_APPROVED": true,
}

// PendingError is a bank check that has not finished (or failed on the
// rails, not on the account): the job is retried.
type PendingError struct {
	AccountStatus, AccountStatusCode string
}

func (e *PendingError) Error() string {
	return fmt.Sprintf("cashfree verification: bank account check not finished: %s/%s", e.AccountStatus, e.AccountStatusCode)
}

// Temporary is always true.
func (e *PendingError) Temporary() bool { return true }

// judgeBank turns a bank account answer into a verdict.
func judgeBank(r BankAccountResult) (offramp.Verdict, error) {
	status, code := strings.ToUpper(r.AccountStatus), strings.ToUpper(r.AccountStatusCode)
	switch {
	case status == "VALID" && (code == "" || code == "ACCOUNT_IS_VALID"):
		holder := strings.TrimSpace(r.NameAtBank)
		if holder == "" {
			return offramp.Verdict{}, fmt.Errorf("%w: the penny drop succeeded but the bank returned no holder name to compare with the KYC name",
				offramp.ErrManualDecision)
		}
		return offramp.Verdict{Passed: true, HolderName: holder}, nil
	case bankRetry[code], pendingStatuses[status]:
		return offramp.Verdict{}, &PendingError{AccountStatus: r.AccountStatus, AccountStatusCode: r.AccountStatusCode}
	}
	if reason, ok := bankFailures[code]; ok {
		return failed(reason), nil
	}
	switch status {
	case "INVALID":
		return failed(offramp.ReasonInvalidAccountNumber), nil
	case "FAILED", "REJECTED", "CANCELLED", "MANUALLY_REJECTED":
		return failed(offramp.ReasonPennyDropFailed), nil
	}
	// An answer outside the documented ones decides nothing.
	return offramp.Verdict{}, fmt.Errorf("cashfree verification: undocumented bank account answer %q/%q", r.AccountStatus, r.AccountStatusCode)
}
