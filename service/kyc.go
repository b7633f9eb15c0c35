package service

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// KYCConfiguration is what kyc/configuration returns.
type KYCConfiguration struct {
	SupportedDocumentTypes []string
	AdditionalInfoOptions  []string
	AdditionalInfoRule     string // "allOf" or "anyOf"
	AdditionalInfoMin      int
	IsTaxRequired          bool
}

// KYCConfig returns the KYC requirements for a customer of the organization.
func (s *Service) KYCConfig(ctx context.Context, orgID uuid.UUID, customerID string) (KYCConfiguration, error) {
	if _, err := s.Customer(ctx, orgID, customerID); err != nil {
		return KYCConfiguration{}, err
	}
	return KYCConfiguration{
		SupportedDocumentTypes: slices.Clone(offramp.DocumentTypes),
		AdditionalInfoOptions:  []string{"income_range", "profession"},
		AdditionalInfoRule:     "allOf",
		AdditionalInfoMin:      2,
		IsTaxRequired:          true,
	}, nil
}

// KYCInput is an add-kyc-data request. The update-* requests use the same
// type with only their fields set.
type KYCInput struct {
	CustomerID               string
	FullName                 string
	Phone                    string
	FullAddress              string
	DOB                      string
	RegisteredDate           string
	TaxNumber                string
	DocumentType             string
	DocumentFrontImageURL    string
	DocumentBackImageURL     string
	DocumentNumber           string
	DocumentAdditionalData   map[string]any
	SelfieURL                string
	SelfieVerificationStatus *bool
	AdditionalInfo           map[string]any
}

var (
	panPattern     = regexp.MustCompile(`^[A-Z]{5}[0-9]{4}[A-Z]$`)
	aadhaarPattern = regexp.MustCompile(`^[0-9]{12}$`)
	docNumPattern  = regexp.MustCompile(`^[A-Z0-9/-]{5,20}$`)
)

func normalizeKYC(in *KYCInput) {
	in.FullName = strings.TrimSpace(in.FullName)
	in.FullAddress = strings.TrimSpace(in.FullAddress)
	in.TaxNumber = strings.ToUpper(strings.TrimSpace(in.TaxNumber))
	in.DocumentType = strings.ToUpper(strings.TrimSpace(in.DocumentType))
	in.DocumentNumber = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(in.DocumentNumber), " ", ""))
	in.DOB = strings.TrimSpace(in.DOB)
	in.RegisteredDate = strings.TrimSpace(in.RegisteredDate)
}

func checkTax(v *offramp.Validation, tax string) {
	if v.Required("tax_number", tax) && !panPattern.MatchString(tax) {
		v.Add("tax_number", "Enter a valid PAN (5 letters, 4 digits, 1 letter).")
	}
}

func checkDocument(v *offramp.Validation, in KYCInput) {
	if v.Required("document_type", in.DocumentType) && !slices.Contains(offramp.DocumentTypes, in.DocumentType) {
		v.Add("document_type", "Must be one of "+strings.Join(offramp.DocumentTypes, ", ")+".")
	}
	checkURL(v, "document_front_image_url", in.DocumentFrontImageURL)
	checkURL(v, "document_back_image_url", in.DocumentBackImageURL)
	if in.DocumentNumber == "" {
		v.Add("document_details", "document_number is required")
	} else if in.DocumentType == "AADHAAR" && !aadhaarPattern.MatchString(in.DocumentNumber) {
		v.Add("document_details", "document_number must be the 12-digit Aadhaar number")
	} else if in.DocumentType != "AADHAAR" && !docNumPattern.MatchString(in.DocumentNumber) {
		v.Add("document_details", "document_number is invalid")
	}
}

func checkURL(v *offramp.Validation, field, raw string) {
	if !v.Required(field, raw) {
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.Add(field, "Enter a valid URL.")
	}
}

func checkDate(v *offramp.Validation, field, raw string, now time.Time) time.Time {
	if !v.Required(field, raw) {
		return time.Time{}
	}
	t, err := time.Parse("02-01-2006", raw)
	if err != nil {
		v.Add(field, "Enter a valid date in DD-MM-YYYY format.")
		return time.Time{}
	}
	if t.After(now) {
		v.Add(field, "Date cannot be in the future.")
	}
	return t
}

func checkAdditionalInfo(v *offramp.Validation, info map[string]any) {
	for k, val := range info {
		if _, ok := val.(string); !ok {
			v.Add("additional_info", "Value of "+k+" must be a string.")
		}
	}
}

// AddKYC records a customer's first KYC submission and schedules its
// verification.
func (s *Service) AddKYC(ctx context.Context, orgID uuid.UUID, in KYCInput) (offramp.Customer, error) {
	normalizeKYC(&in)
	now := s.now()
	var v offramp.Validation
	v.Required("customer_id", in.CustomerID)
	if v.Required("full_name", in.FullName) {
		maxLen(&v, "full_name", in.FullName, 255)
	}
	if v.Required("full_address", in.FullAddress) {
		maxLen(&v, "full_address", in.FullAddress, 1000)
	}
	if dob := checkDate(&v, "dob", in.DOB, now); !dob.IsZero() && dob.AddDate(18, 0, 0).After(now) {
		v.Add("dob", "Customer must be at least 18 years old.")
	}
	checkDate(&v, "registered_date", in.RegisteredDate, now)
	checkTax(&v, in.TaxNumber)
	checkDocument(&v, in)
	checkURL(&v, "selfie_url", in.SelfieURL)
	if in.SelfieVerificationStatus == nil {
		v.Add("selfie_verification_status", offramp.MsgRequired)
	}
	checkAdditionalInfo(&v, in.AdditionalInfo)
	if err := v.Err(); err != nil {
		return offramp.Customer{}, err
	}

	var out offramp.Customer
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		c, err := customerIn(ctx, tx, orgID, in.CustomerID)
		if err != nil {
			return err
		}
		if c.KYC != nil || c.Status != offramp.CustomerUnverified {
			return offramp.FieldError(offramp.CodeConflict, "customer_id", offramp.MsgKYCExists)
		}
		if err := identityFree(ctx, tx, c, in.TaxNumber, in.DocumentNumber); err != nil {
			return err
		}
		c.KYC = &offramp.KYC{
			FullName:                 in.FullName,
			Phone:                    kycPhone(in.Phone, c.Phone, c.Country),
			FullAddress:              in.FullAddress,
			DOB:                      in.DOB,
			RegisteredDate:           in.RegisteredDate,
			TaxNumber:                in.TaxNumber,
			DocumentType:             in.DocumentType,
			DocumentFrontImageURL:    in.DocumentFrontImageURL,
			DocumentBackImageURL:     in.DocumentBackImageURL,
			DocumentNumber:           in.DocumentNumber,
			DocumentAdditionalData:   in.DocumentAdditionalData,
			SelfieURL:                in.SelfieURL,
			SelfieVerificationStatus: *in.SelfieVerificationStatus,
			AdditionalInfo:           in.AdditionalInfo,
			SubmittedAt:              now,
		}
		out, err = s.submitKYC(ctx, tx, c, c.Status)
		return err
	})
	return out, err
}

// kycPhone is the phone a KYC submission carries: the one sent, in
// international form, or else the one already known.
func kycPhone(sent, known, country string) string {
	if p, ok := normalizePhone(strings.TrimSpace(sent), country); ok {
		return p
	}
	return known
}

// identityFree refuses a tax or document number that another customer of
// the organization already uses: one identity, one customer.
func identityFree(ctx context.Context, tx offramp.ReadTx, c offramp.Customer, tax, doc string) error {
	for _, chk := range []struct{ field, value string }{{"tax_number", tax}, {"document_number", doc}} {
		if chk.value == "" {
			continue
		}
		owner, err := tx.CustomerIDBy(ctx, c.OrgID, chk.field, chk.value)
		if errors.Is(err, offramp.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if owner != c.ID {
			return offramp.FieldError(offramp.CodeConflict, chk.field, offramp.MsgKYCInUse)
		}
	}
	return nil
}

// submitKYC moves c (whose KYC was just set or changed) to PROCESSING, records
// the event and schedules verification of this attempt. The attempt number
// is the event's sequence number: it only ever grows for a customer, even
// across resets, so a verification job of an earlier submission can never
// mistake a later one for its own.
func (s *Service) submitKYC(ctx context.Context, tx offramp.Tx, c offramp.Customer, from offramp.CustomerStatus) (offramp.Customer, error) {
	now := s.now()
	c.Status = offramp.CustomerProcessing
	c.FailureReason = ""
	c.UpdatedAt = now
	ev, err := s.appendCustomerEvent(ctx, tx, c)
	if err != nil {
		return offramp.Customer{}, err
	}
	c.KYC.Attempt = int(ev.Sequence)
	if err := tx.UpdateCustomer(ctx, c, from); err != nil {
		return offramp.Customer{}, err
	}
	if s.verifier != nil {
		err := tx.EnqueueJob(ctx, offramp.Job{
			ID: uuid.New(), OrgID: c.OrgID, Kind: offramp.JobVerifyKYC, RefID: c.ID,
			Seq: c.KYC.Attempt, RunAt: now.Add(s.verifyDelay),
		})
		if err != nil {
			return offramp.Customer{}, err
		}
	}
	return c, nil
}

func (s *Service) customerEvent(ctx context.Context, tx offramp.Tx, c offramp.Customer) error {
	_, err := s.appendCustomerEvent(ctx, tx, c)
	return err
}

func (s *Service) appendCustomerEvent(ctx context.Context, tx offramp.Tx, c offramp.Customer) (offramp.Event, error) {
	md := map[string]string{}
	if c.FailureReason != "" {
		md["failure_reason"] = c.FailureReason
	}
	return s.emit(ctx, tx, offramp.Event{
		ID: uuid.New(), OrgID: c.OrgID, ObjectType: offramp.ObjectCustomer, ObjectID: c.ID,
		Event: string(c.Status), ClientReferenceID: c.ClientReferenceID, Metadata: md, CreatedAt: s.now(),
	})
}

// KYCUpdate names which update-* endpoint is called.
type KYCUpdate string

const (
	UpdateTax        KYCUpdate = "tax"
	UpdateDocument   KYCUpdate = "document"
	UpdateSelfie     KYCUpdate = "selfie"
	UpdateAdditional KYCUpdate = "additional"
)

// UpdateKYC applies one of the update-* calls: it changes the submitted
// information, counts against the update limit and re-runs verification.
func (s *Service) UpdateKYC(ctx context.Context, orgID uuid.UUID, kind KYCUpdate, in KYCInput) (offramp.Customer, error) {
	normalizeKYC(&in)
	var v offramp.Validation
	v.Required("customer_id", in.CustomerID)
	switch kind {
	case UpdateTax:
		checkTax(&v, in.TaxNumber)
	case UpdateDocument:
		if v.Required("full_address", in.FullAddress) {
			maxLen(&v, "full_address", in.FullAddress, 1000)
		}
		checkDocument(&v, in)
	case UpdateSelfie:
		checkURL(&v, "selfie_url", in.SelfieURL)
	case UpdateAdditional:
		if in.AdditionalInfo == nil {
			v.Add("additional_info", offramp.MsgRequired)
		}
		checkAdditionalInfo(&v, in.AdditionalInfo)
	}
	if err := v.Err(); err != nil {
		return offramp.Customer{}, err
	}
	var out offramp.Customer
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		c, err := customerIn(ctx, tx, orgID, in.CustomerID)
		if err != nil {
			return err
		}
		if c.KYC == nil {
			return offramp.FieldError(offramp.CodeRejected, "customer_id", "KYC has not been submitted")
		}
		if c.KYC.UpdateCount >= offramp.MaxKYCUpdates {
			msg := offramp.MsgKYCUpdateLimit
			if kind == UpdateTax {
				msg = offramp.MsgLimitExceeded
			}
			return offramp.FieldError(offramp.CodeRejected, "customer_id", msg)
		}
		k := *c.KYC
		switch kind {
		case UpdateTax:
			if err := identityFree(ctx, tx, c, in.TaxNumber, ""); err != nil {
				return err
			}
			k.TaxNumber = in.TaxNumber
		case UpdateDocument:
			if err := identityFree(ctx, tx, c, "", in.DocumentNumber); err != nil {
				return err
			}
			k.FullAddress = in.FullAddress
			k.DocumentType = in.DocumentType
			k.DocumentFrontImageURL = in.DocumentFrontImageURL
			k.DocumentBackImageURL = in.DocumentBackImageURL
			k.DocumentNumber = in.DocumentNumber
			k.DocumentAdditionalData = in.DocumentAdditionalData
			k.Phone = kycPhone(in.Phone, k.Phone, c.Country)
		case UpdateSelfie:
			k.SelfieURL = in.SelfieURL
			// A new selfie replaces the result of the old one's check.
			k.SelfieVerificationStatus = in.SelfieVerificationStatus == nil || *in.SelfieVerificationStatus
		case UpdateAdditional:
			k.AdditionalInfo = in.AdditionalInfo
		}
		k.UpdateCount++
		from := c.Status
		c.KYC = &k
		out, err = s.submitKYC(ctx, tx, c, from)
		return err
	})
	return out, err
}

// ResetKYC sends a customer back to UNVERIFIED and forgets the submitted KYC,
// so it can be done again (for example with Aadhaar). Payouts are blocked
// until then.
func (s *Service) ResetKYC(ctx context.Context, orgID uuid.UUID, customerID string) (offramp.Customer, error) {
	var out offramp.Customer
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		c, err := customerIn(ctx, tx, orgID, customerID)
		if err != nil {
			return err
		}
		if c.Status == offramp.CustomerUnverified && c.KYC == nil {
			out = c
			return nil
		}
		out, err = s.setCustomerStatus(ctx, tx, c, offramp.CustomerUnverified, "")
		return err
	})
	return out, err
}

// setCustomerStatus is the one compare-and-set through which a customer's
// status changes outside a submission. Moving to UNVERIFIED clears the KYC.
func (s *Service) setCustomerStatus(ctx context.Context, tx offramp.Tx, c offramp.Customer, to offramp.CustomerStatus, reason string) (offramp.Customer, error) {
	if !c.Status.CanTransition(to) {
		return offramp.Customer{}, offramp.FieldError(offramp.CodeRejected, "kyc_status",
			"Invalid KYC status transition from "+string(c.Status)+" to "+string(to))
	}
	from := c.Status
	c.Status = to
	c.FailureReason = reason
	c.UpdatedAt = s.now()
	if to == offramp.CustomerUnverified {
		c.KYC = nil
	}
	if err := tx.UpdateCustomer(ctx, c, from); err != nil {
		return offramp.Customer{}, err
	}
	return c, s.customerEvent(ctx, tx, c)
}

// MockKYCStatus forces a customer's KYC status in sandbox, with DollarPe's
// rules: UNVERIFIED cannot change, VERIFIED and FAILED may only go back to
// UNVERIFIED, and PROCESSING may become VERIFIED, UNVERIFIED or one of the
// *_VERIFICATION_FAILED reasons (status FAILED with that reason).
func (s *Service) MockKYCStatus(ctx context.Context, orgID uuid.UUID, customerID, target string) (offramp.Customer, error) {
	if err := s.requireSandbox(); err != nil {
		return offramp.Customer{}, err
	}
	target = strings.ToUpper(strings.TrimSpace(target))
	var v offramp.Validation
	v.Required("customer_id", customerID)
	v.Required("kyc_status", target)
	if err := v.Err(); err != nil {
		return offramp.Customer{}, err
	}
	var out offramp.Customer
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		c, err := customerIn(ctx, tx, orgID, customerID)
		if err != nil {
			return err
		}
		to, reason := offramp.CustomerStatus(target), ""
		allowed := false
		switch c.Status {
		case offramp.CustomerVerified, offramp.CustomerFailed:
			allowed = to == offramp.CustomerUnverified
		case offramp.CustomerProcessing:
			switch target {
			case offramp.ReasonTaxVerificationFailed, offramp.ReasonDocumentVerificationFailed, offramp.ReasonSelfieVerificationFailed:
				to, reason, allowed = offramp.CustomerFailed, target, true
			case string(offramp.CustomerVerified), string(offramp.CustomerUnverified):
				allowed = true
			}
		}
		if !allowed {
			return offramp.FieldError(offramp.CodeRejected, "kyc_status",
				"KYC status cannot be changed from "+string(c.Status)+" to "+target)
		}
		out, err = s.setCustomerStatus(ctx, tx, c, to, reason)
		return err
	})
	return out, err
}

// runKYCJob verifies the KYC attempt a job was scheduled for. The verifier
// is called outside any transaction; its verdict is applied only if the
// customer is still processing that same attempt.
func (s *Service) runKYCJob(ctx context.Context, j offramp.Job) error {
	var c offramp.Customer
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		c, err = tx.Customer(ctx, j.OrgID, j.RefID)
		return err
	})
	if errors.Is(err, offramp.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.Status != offramp.CustomerProcessing || c.KYC == nil || c.KYC.Attempt != j.Seq {
		return nil // superseded: a newer attempt has its own job
	}
	verdict, err := s.verifier.VerifyKYC(ctx, c)
	if errors.Is(err, offramp.ErrManualDecision) {
		return s.awaitKYCDecision(ctx, j, err) // no retry: an operator decides
	}
	if err != nil {
		return err
	}
	to, reason := offramp.CustomerVerified, ""
	if !verdict.Passed {
		to, reason = offramp.CustomerFailed, verdict.FailureReason
		if reason == "" {
			reason = offramp.ReasonKYCFailed
		}
	}
	return s.store.Update(ctx, func(tx offramp.Tx) error {
		cur, err := tx.Customer(ctx, j.OrgID, j.RefID)
		if err != nil {
			return err
		}
		if cur.Status != offramp.CustomerProcessing || cur.KYC == nil || cur.KYC.Attempt != j.Seq {
			return nil
		}
		_, err = s.setCustomerStatus(ctx, tx, cur, to, reason)
		return err
	})
}
