package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"time"
)

// CreateCustomerRequest creates a customer. FullName, Email, Phone and
// Alpha3CountryCode ("IND") are required; ClientReferenceID, your own id
// for the customer, is optional and unique per organization.
type CreateCustomerRequest struct {
	FullName                   string `json:"full_name"`
	Email                      string `json:"email"`
	Phone                      string `json:"phone"`
	Alpha3CountryCode          string `json:"alpha_3_country_code"`
	ClientReferenceID          string `json:"client_reference_id,omitempty"`
	NonResidenceStatus         bool   `json:"non_residence_status"`
	ResidenceAlpha3CountryCode string `json:"residence_alpha_3_country_code,omitempty"`
}

// Customer is an exchange's customer. Status is UNVERIFIED, PROCESSING,
// VERIFIED or FAILED (with FailureReason).
type Customer struct {
	ID                         string    `json:"id"`
	ClientReferenceID          string    `json:"client_reference_id"`
	FullName                   string    `json:"full_name"`
	Email                      string    `json:"email"`
	Phone                      string    `json:"phone"`
	Country                    string    `json:"country"`
	Type                       string    `json:"type"`
	Status                     string    `json:"status"`
	FailureReason              string    `json:"failure_reason"`
	DocumentType               string    `json:"document_type"`
	NonResidenceStatus         bool      `json:"non_residence_status"`
	ResidenceAlpha3CountryCode string    `json:"residence_alpha_3_country_code"`
	IsEDDVerified              bool      `json:"is_edd_verified"`
	CreatedAt                  time.Time `json:"created_at"`
	UpdatedAt                  time.Time `json:"updated_at"`
}

// UnmarshalJSON reads a customer as the API sends it: null strings are "",
// the country may come as alpha_3_country_code.
func (c *Customer) UnmarshalJSON(b []byte) error {
	type plain Customer
	w := struct {
		*plain
		Alpha3    string   `json:"alpha_3_country_code"`
		CreatedAt jsonTime `json:"created_at"`
		UpdatedAt jsonTime `json:"updated_at"`
	}{plain: (*plain)(c)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if c.Country == "" {
		c.Country = w.Alpha3
	}
	c.CreatedAt, c.UpdatedAt = w.CreatedAt.Time, w.UpdatedAt.Time
	return nil
}

// CreateCustomer creates a customer, UNVERIFIED until its KYC is added.
func (c *Client) CreateCustomer(ctx context.Context, r CreateCustomerRequest) (*Customer, error) {
	var out Customer
	if err := c.do(ctx, call{method: http.MethodPost, path: "/cms/api/v1/customer/create", body: r, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetCustomer fetches a customer.
func (c *Client) GetCustomer(ctx context.Context, id string) (*Customer, error) {
	seg, err := pathSeg("customer id", id)
	if err != nil {
		return nil, err
	}
	var out Customer
	if err := c.do(ctx, call{method: http.MethodGet, path: "/cms/api/v1/customer/" + seg, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListCustomers fetches one page of the organization's customers, newest
// first.
func (c *Client) ListCustomers(ctx context.Context, o ListOptions) (*Page[Customer], error) {
	var out Page[Customer]
	if err := c.do(ctx, call{method: http.MethodGet, path: "/cms/api/v1/customer/list", query: o.values(nil), out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Customers iterates over every customer, newest first, fetching pages of
// the server's default size as it goes. It stops at the first error, which
// it yields.
func (c *Client) Customers(ctx context.Context) iter.Seq2[Customer, error] {
	return all(ctx, ListOptions{}, c.ListCustomers)
}
