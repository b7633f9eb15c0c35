package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/shopspring/decimal"
)

// Limits are a customer's payout limits, in INR on the payouts' gross value
// (sending amount × rate), per Asia/Kolkata day.
type Limits struct {
	DailyLimit     decimal.Decimal `json:"daily_limit"`
	AvailableLimit decimal.Decimal `json:"available_limit"`
	// PerTransactionLimit and TotalAvailableLimit are per payment method
	// ("IMPS"), from the API's payment_method_limits.
	PerTransactionLimit map[string]decimal.Decimal `json:"per_transaction_limit"`
	TotalAvailableLimit map[string]decimal.Decimal `json:"total_available_limit"`
	// LimitResetTimestamp (Unix seconds) and FullLimitResetTimestamp are
	// when the daily limit resets.
	LimitResetTimestamp      int64     `json:"limit_reset_timestamp"`
	FullLimitResetTimestamp  time.Time `json:"full_limit_reset_timestamp"`
	IsEDDRequired            bool      `json:"is_edd_required"`
	IsLimitIncreaseAvailable bool      `json:"is_limit_increase_available"`
	// EDDStatus is "" when no EDD was submitted.
	EDDStatus string `json:"edd_status"`
}

// UnmarshalJSON reads limits as the API sends them, the per-method limits
// nested under payment_method_limits.
func (l *Limits) UnmarshalJSON(b []byte) error {
	type plain Limits
	w := struct {
		*plain
		Methods *struct {
			PerTransaction map[string]decimal.Decimal `json:"per_transaction_limit"`
			TotalAvailable map[string]decimal.Decimal `json:"total_available_limit"`
		} `json:"payment_method_limits"`
		FullReset jsonTime `json:"full_limit_reset_timestamp"`
	}{plain: (*plain)(l)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if m := w.Methods; m != nil {
		if m.PerTransaction != nil {
			l.PerTransactionLimit = m.PerTransaction
		}
		if m.TotalAvailable != nil {
			l.TotalAvailableLimit = m.TotalAvailable
		}
	}
	l.FullLimitResetTimestamp = w.FullReset.Time
	if l.FullLimitResetTimestamp.IsZero() && l.LimitResetTimestamp > 0 {
		l.FullLimitResetTimestamp = time.Unix(l.LimitResetTimestamp, 0).UTC()
	}
	return nil
}

// PayoutLimits fetches a customer's daily and available limits and whether
// EDD is required.
func (c *Client) PayoutLimits(ctx context.Context, customerID string) (*Limits, error) {
	seg, err := pathSeg("customer id", customerID)
	if err != nil {
		return nil, err
	}
	var out Limits
	if err := c.do(ctx, call{method: http.MethodGet, path: "/ren/api/v1/payout/limits/" + seg, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// EDDRequest is an Enhanced Due Diligence submission, which raises a
// customer's daily limit once VERIFIED. SourceOfIncome is SALARY,
// BUSINESS_INCOME or OTHERS; statements and reports travel as URLs.
type EDDRequest struct {
	CustomerID             string   `json:"customer_id"`
	SourceOfIncome         string   `json:"source_of_income"`
	BankStatementURLs      []string `json:"bank_statement_url"`
	BankStatementPasswords []string `json:"bank_statement_passwords,omitempty"`
	ITRReportURLs          []string `json:"itr_report_url,omitempty"`
	ITRReportPasswords     []string `json:"itr_report_passwords,omitempty"`
	Declaration            bool     `json:"declaration"`
}

// EDDStatus is where an EDD submission stands: PROCESSING, then VERIFIED
// or FAILED (an EDD webhook tells when).
type EDDStatus struct {
	ID         string `json:"id"`
	CustomerID string `json:"customer_id"`
	Status     string `json:"status"`
}

// SaveEDD submits a customer's EDD.
func (c *Client) SaveEDD(ctx context.Context, r EDDRequest) (*EDDStatus, error) {
	if r.BankStatementURLs == nil {
		r.BankStatementURLs = []string{}
	}
	var out EDDStatus
	if err := c.do(ctx, call{method: http.MethodPost, path: "/ren/api/v1/payout/edd/save", body: r, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}
