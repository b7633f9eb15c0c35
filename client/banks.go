package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// CreateBankRequest adds a bank account (AccountNumber, IFSC and
// AccountName) or a UPI id (VPA) to a VERIFIED customer.
type CreateBankRequest struct {
	CustomerID    string `json:"customer_id"`
	AccountNumber string `json:"account_number,omitempty"`
	IFSC          string `json:"ifsc,omitempty"`
	AccountName   string `json:"account_name,omitempty"`
	VPA           string `json:"vpa,omitempty"`
}

// Bank is a customer's bank account or UPI id. AccountNumber and VPA come
// back masked ("XXXXXX9201"). BankAccountStatus is PROCESSING until the
// penny drop decides VERIFIED or FAILED (with FailureReason).
type Bank struct {
	ID                string    `json:"id"`
	CustomerID        string    `json:"customer_id"`
	AccountNumber     string    `json:"account_number"`
	IFSC              string    `json:"ifsc"`
	AccountName       string    `json:"account_name"`
	VPA               string    `json:"vpa"`
	BankAccountType   string    `json:"bank_account_type"`
	BankAccountStatus string    `json:"bank_account_status"`
	FailureReason     string    `json:"failure_reason"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// UnmarshalJSON reads a bank account as the API sends it: null strings are
// "", the IFSC may come as ifsc_code.
func (b *Bank) UnmarshalJSON(data []byte) error {
	type plain Bank
	w := struct {
		*plain
		IFSCCode  string   `json:"ifsc_code"`
		CreatedAt jsonTime `json:"created_at"`
		UpdatedAt jsonTime `json:"updated_at"`
	}{plain: (*plain)(b)}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	if b.IFSC == "" {
		b.IFSC = w.IFSCCode
	}
	b.CreatedAt, b.UpdatedAt = w.CreatedAt.Time, w.UpdatedAt.Time
	return nil
}

// CreateBank adds a bank account or UPI id to a customer.
func (c *Client) CreateBank(ctx context.Context, r CreateBankRequest) (*Bank, error) {
	var out Bank
	if err := c.do(ctx, call{method: http.MethodPost, path: "/cms/api/v1/bank/create", body: r, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetBank fetches one of a customer's bank accounts.
func (c *Client) GetBank(ctx context.Context, customerID, bankID string) (*Bank, error) {
	cs, err := pathSeg("customer id", customerID)
	if err != nil {
		return nil, err
	}
	bs, err := pathSeg("bank id", bankID)
	if err != nil {
		return nil, err
	}
	var out Bank
	if err := c.do(ctx, call{method: http.MethodGet, path: "/cms/api/v1/bank/" + cs + "/" + bs, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListBanks fetches one page of a customer's bank accounts.
func (c *Client) ListBanks(ctx context.Context, customerID string, o ListOptions) (*Page[Bank], error) {
	cs, err := pathSeg("customer id", customerID)
	if err != nil {
		return nil, err
	}
	var out Page[Bank]
	if err := c.do(ctx, call{method: http.MethodGet, path: "/cms/api/v1/bank/list/" + cs, query: o.values(nil), out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// MockBankVerification (sandbox only) decides a PROCESSING bank account:
// status VERIFIED, or FAILED with failureReason.
func (c *Client) MockBankVerification(ctx context.Context, customerID, bankID, status, failureReason string) (*Bank, error) {
	body := struct {
		CustomerID    string `json:"customer_id"`
		BankID        string `json:"bank_id"`
		BankStatus    string `json:"bank_status"`
		FailureReason string `json:"failure_reason,omitempty"`
	}{customerID, bankID, status, failureReason}
	var out Bank
	if err := c.do(ctx, call{method: http.MethodPost, path: "/cms/api/v1/bank/mock-bank-verification", body: body, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}
