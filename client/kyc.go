package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// KYCRequest is a customer's KYC submission (AddKYC) or, for
// UpdateDocumentInfo, its new document. Dates are DD-MM-YYYY; TaxNumber is
// the PAN; DocumentType is one of the configuration's supported types
// (AADHAAR, PASSPORT...); images and the selfie travel as URLs.
type KYCRequest struct {
	CustomerID               string            `json:"customer_id"`
	FullName                 string            `json:"full_name"`
	Phone                    string            `json:"phone"`
	FullAddress              string            `json:"full_address"`
	DOB                      string            `json:"dob"`
	RegisteredDate           string            `json:"registered_date"`
	TaxNumber                string            `json:"tax_number"`
	DocumentType             string            `json:"document_type"`
	DocumentFrontImageURL    string            `json:"document_front_image_url"`
	DocumentBackImageURL     string            `json:"document_back_image_url"`
	DocumentNumber           string            `json:"document_number"`
	DocumentAdditionalData   map[string]any    `json:"document_additional_data"`
	SelfieURL                string            `json:"selfie_url"`
	SelfieVerificationStatus bool              `json:"selfie_verification_status"`
	AdditionalInfo           map[string]string `json:"additional_info"`
}

// kycBody is a KYC request on the wire. Only the fields an endpoint takes
// are set; the others are left out.
type kycBody struct {
	CustomerID               string            `json:"customer_id"`
	FullName                 string            `json:"full_name,omitempty"`
	Phone                    string            `json:"phone,omitempty"`
	FullAddress              string            `json:"full_address,omitempty"`
	DOB                      string            `json:"dob,omitempty"`
	RegisteredDate           string            `json:"registered_date,omitempty"`
	TaxNumber                string            `json:"tax_number,omitempty"`
	DocumentType             string            `json:"document_type,omitempty"`
	DocumentFrontImageURL    string            `json:"document_front_image_url,omitempty"`
	DocumentBackImageURL     string            `json:"document_back_image_url,omitempty"`
	DocumentDetails          *documentDetails  `json:"document_details,omitempty"`
	SelfieURL                string            `json:"selfie_url,omitempty"`
	SelfieVerificationStatus *bool             `json:"selfie_verification_status,omitempty"`
	AdditionalInfo           map[string]string `json:"additional_info,omitempty"`
	KYCStatus                string            `json:"kyc_status,omitempty"`
	RedirectURL              string            `json:"redirect_url,omitempty"`
}

type documentDetails struct {
	DocumentNumber string         `json:"document_number"`
	AdditionalData map[string]any `json:"additional_data"`
}

func (r KYCRequest) documentDetails() *documentDetails {
	d := &documentDetails{DocumentNumber: r.DocumentNumber, AdditionalData: r.DocumentAdditionalData}
	if d.AdditionalData == nil {
		d.AdditionalData = map[string]any{}
	}
	return d
}

// KYCStatus is where a customer's KYC stands after a submission: PROCESSING
// until the verification decides VERIFIED or FAILED (with FailureReason).
type KYCStatus struct {
	ID            string `json:"id"`
	CustomerID    string `json:"customer_id"`
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason"`
}

// KYCConfiguration says what a customer's KYC must contain.
type KYCConfiguration struct {
	SupportedDocumentTypes []string `json:"supported_document_types"`
	// AdditionalInfoRequired describes the additional_info keys (options,
	// rules and one entry per key), as the API sends it.
	AdditionalInfoRequired map[string]any `json:"additional_info_required"`
	IsTaxRequired          bool           `json:"is_tax_required"`
}

// KYCLink is a hosted KYC page for a customer (sandbox: a page where a
// tester approves or rejects the KYC).
type KYCLink struct {
	CustomerID string    `json:"customer_id"`
	URL        string    `json:"url"`
	ExpiryTime time.Time `json:"expiry_time"`
}

// UnmarshalJSON reads a link as the API sends it.
func (l *KYCLink) UnmarshalJSON(b []byte) error {
	type plain KYCLink
	w := struct {
		*plain
		ExpiryTime jsonTime `json:"expiry_time"`
	}{plain: (*plain)(l)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	l.ExpiryTime = w.ExpiryTime.Time
	return nil
}

func (c *Client) kyc(ctx context.Context, method, path string, body kycBody) (*KYCStatus, error) {
	var out KYCStatus
	if err := c.do(ctx, call{method: method, path: "/cms/api/v1/kyc/" + path, body: body, out: &out}); err != nil {
		return nil, err
	}
	if out.CustomerID == "" {
		out.CustomerID = out.ID
	}
	return &out, nil
}

// KYCConfiguration fetches what the customer's KYC must contain.
func (c *Client) KYCConfiguration(ctx context.Context, customerID string) (*KYCConfiguration, error) {
	seg, err := pathSeg("customer id", customerID)
	if err != nil {
		return nil, err
	}
	var out KYCConfiguration
	if err := c.do(ctx, call{method: http.MethodGet, path: "/cms/api/v1/kyc/configuration/" + seg, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// AddKYC submits a customer's KYC. The customer is PROCESSING until the
// verification decides (a CUSTOMER webhook tells when).
func (c *Client) AddKYC(ctx context.Context, r KYCRequest) (*KYCStatus, error) {
	selfie := r.SelfieVerificationStatus
	return c.kyc(ctx, http.MethodPost, "add-kyc-data", kycBody{
		CustomerID: r.CustomerID, FullName: r.FullName, Phone: r.Phone, FullAddress: r.FullAddress, DOB: r.DOB,
		RegisteredDate: r.RegisteredDate, TaxNumber: r.TaxNumber, DocumentType: r.DocumentType,
		DocumentFrontImageURL: r.DocumentFrontImageURL, DocumentBackImageURL: r.DocumentBackImageURL,
		DocumentDetails: r.documentDetails(), SelfieURL: r.SelfieURL, SelfieVerificationStatus: &selfie,
		AdditionalInfo: r.AdditionalInfo,
	})
}

// UpdateTaxInfo replaces the customer's PAN and re-runs verification.
func (c *Client) UpdateTaxInfo(ctx context.Context, customerID, taxNumber string) (*KYCStatus, error) {
	return c.kyc(ctx, http.MethodPatch, "update-tax-info", kycBody{CustomerID: customerID, TaxNumber: taxNumber})
}

// UpdateDocumentInfo replaces the customer's address and identity document
// (r's FullAddress, DocumentType, image URLs, DocumentNumber and
// DocumentAdditionalData, and Phone if set) and re-runs verification.
func (c *Client) UpdateDocumentInfo(ctx context.Context, r KYCRequest) (*KYCStatus, error) {
	return c.kyc(ctx, http.MethodPatch, "update-document-info", kycBody{
		CustomerID: r.CustomerID, Phone: r.Phone, FullAddress: r.FullAddress, DocumentType: r.DocumentType,
		DocumentFrontImageURL: r.DocumentFrontImageURL, DocumentBackImageURL: r.DocumentBackImageURL,
		DocumentDetails: r.documentDetails(),
	})
}

// UpdateSelfieInfo replaces the customer's selfie and re-runs verification.
func (c *Client) UpdateSelfieInfo(ctx context.Context, customerID, selfieURL string) (*KYCStatus, error) {
	return c.kyc(ctx, http.MethodPatch, "update-selfie-info", kycBody{CustomerID: customerID, SelfieURL: selfieURL})
}

// UpdateAdditionalInfo replaces the customer's additional information and
// re-runs verification.
func (c *Client) UpdateAdditionalInfo(ctx context.Context, customerID string, info map[string]string) (*KYCStatus, error) {
	if info == nil {
		info = map[string]string{}
	}
	// additional_info is required even when empty: send {} rather than
	// leave it out.
	body := struct {
		CustomerID     string            `json:"customer_id"`
		AdditionalInfo map[string]string `json:"additional_info"`
	}{customerID, info}
	var out KYCStatus
	if err := c.do(ctx, call{method: http.MethodPatch, path: "/cms/api/v1/kyc/update-additional-info", body: body, out: &out}); err != nil {
		return nil, err
	}
	if out.CustomerID == "" {
		out.CustomerID = out.ID
	}
	return &out, nil
}

// ResetKYC sends the customer back to UNVERIFIED and forgets its KYC, so
// that it can be submitted again.
func (c *Client) ResetKYC(ctx context.Context, customerID string) (*KYCStatus, error) {
	return c.kyc(ctx, http.MethodPost, "reset-kyc", kycBody{CustomerID: customerID})
}

// GenerateKYCLink returns a hosted KYC page for the customer, which sends
// the browser to redirectURL when done.
func (c *Client) GenerateKYCLink(ctx context.Context, customerID, redirectURL string) (*KYCLink, error) {
	var out KYCLink
	body := kycBody{CustomerID: customerID, RedirectURL: redirectURL}
	if err := c.do(ctx, call{method: http.MethodPost, path: "/cms/api/v1/kyc/generate-link", body: body, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// MockKYCStatus (sandbox only) moves a customer's KYC to status: VERIFIED,
// UNVERIFIED, or a failure reason such as TAX_VERIFICATION_FAILED.
func (c *Client) MockKYCStatus(ctx context.Context, customerID, status string) (*KYCStatus, error) {
	return c.kyc(ctx, http.MethodPatch, "mock-kyc-status", kycBody{CustomerID: customerID, KYCStatus: status})
}
