package service

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// CreateCustomerInput is a customer/create request.
type CreateCustomerInput struct {
	FullName           string
	Email              string
	Phone              string
	Country            string
	ClientReferenceID  string
	NonResidenceStatus bool
	ResidenceCountry   string
}

var phoneDigits = regexp.MustCompile(`^\+?[0-9]{7,15}$`)

// CreateCustomer registers a new, UNVERIFIED customer.
func (s *Service) CreateCustomer(ctx context.Context, orgID uuid.UUID, in CreateCustomerInput) (offramp.Customer, error) {
	var v offramp.Validation
	in.FullName = strings.TrimSpace(in.FullName)
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Country = strings.ToUpper(strings.TrimSpace(in.Country))
	in.ResidenceCountry = strings.ToUpper(strings.TrimSpace(in.ResidenceCountry))
	in.ClientReferenceID = strings.TrimSpace(in.ClientReferenceID)

	if v.Required("full_name", in.FullName) {
		maxLen(&v, "full_name", in.FullName, 255)
	}
	if v.Required("email", in.Email) {
		if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email || !strings.Contains(in.Email[strings.IndexByte(in.Email, '@'):], ".") {
			v.Add("email", "Enter a valid email address.")
		} else {
			maxLen(&v, "email", in.Email, 254)
		}
	}
	countryOK := false
	if v.Required("alpha_3_country_code", in.Country) {
		if !validCountry(in.Country) {
			v.Add("alpha_3_country_code", offramp.MsgInvalidCountry)
		} else {
			countryOK = true
		}
	}
	if in.ResidenceCountry != "" && !validCountry(in.ResidenceCountry) {
		v.Add("residence_alpha_3_country_code", offramp.MsgInvalidCountry)
	}
	if v.Required("phone", strings.TrimSpace(in.Phone)) && countryOK {
		p, ok := normalizePhone(in.Phone, in.Country)
		if !ok {
			v.Add("phone", "Enter a valid phone number.")
		}
		in.Phone = p
	}
	maxLen(&v, "client_reference_id", in.ClientReferenceID, 255)
	if err := v.Err(); err != nil {
		return offramp.Customer{}, err
	}

	now := s.now()
	c := offramp.Customer{
		ID:                 uuid.New(),
		OrgID:              orgID,
		ClientReferenceID:  in.ClientReferenceID,
		FullName:           in.FullName,
		Email:              in.Email,
		Phone:              in.Phone,
		Country:            in.Country,
		NonResidenceStatus: in.NonResidenceStatus,
		ResidenceCountry:   in.ResidenceCountry,
		Status:             offramp.CustomerUnverified,
		CreatedAt:          now,
		UpdatedAt:          now,
	}
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		// Checked here for the documented messages; the store's unique
		// indexes stay as the backstop.
		checks := []struct{ field, value, msg string }{
			{"email", c.Email, offramp.MsgEmailInUse},
			{"phone", c.Phone, offramp.MsgPhoneInUse},
			{"client_reference_id", c.ClientReferenceID, offramp.MsgClientRefExists},
		}
		for _, chk := range checks {
			if chk.value == "" {
				continue
			}
			_, err := tx.CustomerIDBy(ctx, orgID, chk.field, chk.value)
			if err == nil {
				return offramp.FieldError(offramp.CodeConflict, chk.field, chk.msg)
			}
			if !errors.Is(err, offramp.ErrNotFound) {
				return err
			}
		}
		return tx.CreateCustomer(ctx, c)
	})
	if err != nil {
		return offramp.Customer{}, err
	}
	return c, nil
}

// Customer returns one customer of the organization.
func (s *Service) Customer(ctx context.Context, orgID uuid.UUID, rawID string) (offramp.Customer, error) {
	var c offramp.Customer
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		c, err = customerIn(ctx, tx, orgID, rawID)
		return err
	})
	return c, err
}

// ListCustomers returns one page of the organization's customers, newest
// first, and the total count.
func (s *Service) ListCustomers(ctx context.Context, orgID uuid.UUID, page offramp.Page) ([]offramp.Customer, int, error) {
	var (
		list  []offramp.Customer
		total int
	)
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		list, total, err = tx.ListCustomers(ctx, orgID, page)
		return err
	})
	return list, total, err
}

// normalizePhone returns phone in international form: a number with a "+"
// is kept, a local number gets the country's calling code.
func normalizePhone(phone, country string) (string, bool) {
	p := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(strings.TrimSpace(phone))
	if !phoneDigits.MatchString(p) {
		return phone, false
	}
	if strings.HasPrefix(p, "+") {
		return p, true
	}
	cc, ok := callingCodes[country]
	if !ok {
		return p, false
	}
	p = strings.TrimPrefix(p, "0")
	if strings.HasPrefix(p, cc) && len(p) == len(cc)+10 {
		return "+" + p, true
	}
	if len(p) != 10 {
		return p, false
	}
	return "+" + cc + p, true
}

func maxLen(v *offramp.Validation, field, value string, n int) {
	if utf8.RuneCountInString(value) > n {
		v.Add(field, fmt.Sprintf("Ensure this field has no more than %d characters.", n))
	}
}
