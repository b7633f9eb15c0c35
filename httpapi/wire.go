package httpapi

import (
	"github.com/offramp/offramp"
)

// customerJSON is a customer on the wire: a superset of the fields DollarPe's
// documents show across versions.
type customerJSON struct {
	ID                 string  `json:"id"`
	ClientReferenceID  *string `json:"client_reference_id"`
	FullName           string  `json:"full_name"`
	Email              string  `json:"email"`
	Phone              string  `json:"phone"`
	Country            string  `json:"country"`
	Alpha3CountryCode  string  `json:"alpha_3_country_code"`
	Type               string  `json:"type"`
	Status             string  `json:"status"`
	FailureReason      *string `json:"failure_reason"`
	DocumentType       *string `json:"document_type"`
	NonResidenceStatus bool    `json:"non_residence_status"`
	ResidenceCountry   *string `json:"residence_alpha_3_country_code"`
	IsEDDVerified      bool    `json:"is_edd_verified"`
	CreatedAt          string  `json:"created_at"`
	UpdatedAt          string  `json:"updated_at"`
}

func customerWire(c offramp.Customer) customerJSON {
	out := customerJSON{
		ID:                 c.ID.String(),
		ClientReferenceID:  nullable(c.ClientReferenceID),
		FullName:           c.FullName,
		Email:              c.Email,
		Phone:              c.Phone,
		Country:            c.Country,
		Alpha3CountryCode:  c.Country,
		Type:               "INDIVIDUAL",
		Status:             string(c.Status),
		FailureReason:      nullable(c.FailureReason),
		NonResidenceStatus: c.NonResidenceStatus,
		ResidenceCountry:   nullable(c.ResidenceCountry),
		IsEDDVerified:      c.EDDVerified,
		CreatedAt:          fmtTime(c.CreatedAt),
		UpdatedAt:          fmtTime(c.UpdatedAt),
	}
	if c.KYC != nil {
		out.DocumentType = nullable(c.KYC.DocumentType)
	}
	return out
}

// kycStatusJSON answers the KYC submission endpoints. DollarPe's versions
// disagree on "id" versus "customer_id": both are sent.
type kycStatusJSON struct {
	ID            string  `json:"id"`
	CustomerID    string  `json:"customer_id"`
	Status        string  `json:"status"`
	FailureReason *string `json:"failure_reason"`
}

func kycStatusWire(c offramp.Customer) kycStatusJSON {
	return kycStatusJSON{ID: c.ID.String(), CustomerID: c.ID.String(), Status: string(c.Status), FailureReason: nullable(c.FailureReason)}
}

// bankJSON is a bank account on the wire. Account numbers and VPAs are
// masked: only the last digits leave the server. "ifsc_code" repeats
// "ifsc" for clients of DollarPe's older reference.
type bankJSON struct {
	ID                string  `json:"id"`
	CustomerID        string  `json:"customer_id"`
	AccountNumber     *string `json:"account_number"`
	IFSC              *string `json:"ifsc"`
	IFSCCode          *string `json:"ifsc_code"`
	AccountName       *string `json:"account_name"`
	VPA               *string `json:"vpa"`
	BankAccountType   string  `json:"bank_account_type"`
	BankAccountStatus string  `json:"bank_account_status"`
	FailureReason     *string `json:"failure_reason"`
	CreatedAt         string  `json:"created_at"`
	UpdatedAt         string  `json:"updated_at"`
}

func bankWire(b offramp.BankAccount) bankJSON {
	out := bankJSON{
		ID:                b.ID.String(),
		CustomerID:        b.CustomerID.String(),
		IFSC:              nullable(b.IFSC),
		IFSCCode:          nullable(b.IFSC),
		AccountName:       nullable(b.AccountName),
		BankAccountType:   string(b.Type),
		BankAccountStatus: string(b.Status),
		FailureReason:     nullable(b.FailureReason),
		CreatedAt:         fmtTime(b.CreatedAt),
		UpdatedAt:         fmtTime(b.UpdatedAt),
	}
	if b.AccountNumber != "" {
		out.AccountNumber = nullable(offramp.Mask(b.AccountNumber))
	}
	if b.VPA != "" {
		out.VPA = nullable(offramp.MaskVPA(b.VPA))
	}
	return out
}

// pageJSON is a DRF-style page.
type pageJSON struct {
	Count    int     `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  any     `json:"results"`
}
