package razorpayx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// beneficiary is a bank account to create a contact and fund account for.
type beneficiary struct {
	OrgID, CustomerID, BankID uuid.UUID
	Name                      string
	IFSC                      string
	AccountNumber             string
}

// remembered reports whether the beneficiary's ids can be kept in the
// store: only with the Offramp ids that key them.
func (c *client) remembered(b beneficiary) bool {
	return c.store != nil && b.OrgID != uuid.Nil && b.BankID != uuid.Nil
}

// beneficiaryError is RazorpayX refusing the beneficiary's details: the
// account cannot be paid as given.
type beneficiaryError struct {
	reason string // INVALID_IFSC, INVALID_ACCOUNT_NUMBER, INVALID_BENEFICIARY_DETAILS
	err    error
}

func (e *beneficiaryError) Error() string { return e.err.Error() }
func (e *beneficiaryError) Unwrap() error { return e.err }

type contactRequest struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	ReferenceID string `json:"reference_id,omitempty"`
}

type contactEntity struct {
	ID string `json:"id"`
}

type bankAccount struct {
	Name          string `json:"name"`
	IFSC          string `json:"ifsc"`
	AccountNumber string `json:"account_number"`
}

type fundAccountRequest struct {
	ContactID   string      `json:"contact_id"`
	AccountType string      `json:"account_type"`
	BankAccount bankAccount `json:"bank_account"`
}

type fundAccountEntity struct {
	ID        string `json:"id"`
	ContactID string `json:"contact_id"`
	Active    bool   `json:"active"`
}

// fundAccount returns the fund account to pay b, creating the contact and
// fund account the first time and remembering them. Its errors are all
// from before any payout request: a *beneficiaryError when RazorpayX
// refuses the details, otherwise a failure to be retried.
func (c *client) fundAccount(ctx context.Context, b beneficiary) (string, error) {
	remember := c.remembered(b)
	if remember {
		var got offramp.RailAccount
		err := c.store.View(ctx, func(tx offramp.ReadTx) error {
			var err error
			got, err = tx.RailAccount(ctx, Provider, b.OrgID, b.BankID)
			return err
		})
		switch {
		case err == nil:
			return got.AccountID, nil
		case !errors.Is(err, offramp.ErrNotFound):
			return "", fmt.Errorf("razorpayx: reading the remembered fund account: %w", err)
		}
	}
	contactName := cleanName(b.Name, 50)
	ct := contactRequest{Name: contactName, Type: "customer"}
	if b.CustomerID != uuid.Nil {
		ct.ReferenceID = b.CustomerID.String()
	}
	var contact contactEntity
	if err := c.do(ctx, request{method: http.MethodPost, path: "/v1/contacts", body: ct}, &contact); err != nil {
		return "", beneficiaryRefusal(err)
	}
	fr := fundAccountRequest{ContactID: contact.ID, AccountType: "bank_account",
		BankAccount: bankAccount{Name: cleanName(b.Name, 120), IFSC: strings.ToUpper(strings.TrimSpace(b.IFSC)), AccountNumber: strings.TrimSpace(b.AccountNumber)}}
	var fa fundAccountEntity
	if err := c.do(ctx, request{method: http.MethodPost, path: "/v1/fund_accounts", body: fr}, &fa); err != nil {
		return "", beneficiaryRefusal(err)
	}
	if fa.ID == "" {
		return "", errors.New("razorpayx: POST /v1/fund_accounts answered without an id")
	}
	c.log.InfoContext(ctx, "razorpayx beneficiary created", "contact_id", contact.ID, "fund_account_id", fa.ID,
		"bank_id", b.BankID.String(), "account", offramp.Mask(b.AccountNumber))
	if !remember {
		return fa.ID, nil
	}
	mine := offramp.RailAccount{Provider: Provider, OrgID: b.OrgID, BankID: b.BankID, ContactID: contact.ID, AccountID: fa.ID, CreatedAt: c.clock.Now()}
	var won offramp.RailAccount
	err := c.store.Update(ctx, func(tx offramp.Tx) error {
		var err error
		won, err = tx.PutRailAccount(ctx, mine)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("razorpayx: remembering the fund account: %w", err)
	}
	return won.AccountID, nil
}

// beneficiaryRefusal turns RazorpayX's refusal of a contact or fund
// account field into a *beneficiaryError; other errors pass unchanged.
func beneficiaryRefusal(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != http.StatusBadRequest {
		return err
	}
	if r := beneficiaryReason(ae); r != "" {
		return &beneficiaryError{reason: r, err: err}
	}
	return err
}

// beneficiaryReason names what a 400 says is wrong with the beneficiary,
// or "" when it is about something else (the request, the business).
func beneficiaryReason(ae *APIError) string {
	field := strings.ToLower(ae.Field)
	desc := strings.ToLower(ae.Description)
	switch {
	case strings.Contains(field, "ifsc") || strings.Contains(desc, "ifsc"):
		return offramp.ReasonInvalidIFSC
	case field == "account_number" && !strings.Contains(desc, "account number field is required"):
		// On the contact and fund account calls account_number is the
		// beneficiary's; on a payout it is the business account and
		// never reaches here (see classifyCreate).
		return offramp.ReasonInvalidAccountNumber
	case strings.HasPrefix(field, "bank_account"):
		if strings.Contains(field, "account_number") {
			return offramp.ReasonInvalidAccountNumber
		}
		return ReasonInvalidBeneficiary
	case field == "name" || strings.HasSuffix(field, ".name"):
		return ReasonInvalidBeneficiary
	case strings.EqualFold(ae.Source, "beneficiary_bank"):
		return ReasonFor(statusFailed, ae.Reason)
	}
	return ""
}

// nameOK reports whether RazorpayX accepts r in a contact's or bank
// account holder's name: a-z, A-Z, 0-9, space, ’ - _ / ( ) , .
func nameOK(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune(" ’-_/(),.", r)
}

// cleanName fits a name to RazorpayX's rules: only the characters it
// accepts (an ASCII apostrophe becomes ’, anything else a space), single
// spaces, at most max characters, not ending in a special character other
// than '.', at least 3 characters.
func cleanName(name string, max int) string {
	var b strings.Builder
	space := true
	for _, r := range name {
		if r == '\'' {
			r = '’'
		}
		if !nameOK(r) || r == ' ' {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		b.WriteRune(r)
		space = false
	}
	s := b.String()
	trim := func(s string) string {
		return strings.TrimRightFunc(strings.TrimSpace(s), func(r rune) bool {
			return r != '.' && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		})
	}
	s = trim(s)
	if utf8.RuneCountInString(s) > max {
		s = trim(string([]rune(s)[:max]))
	}
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return "Offramp Beneficiary"
	case n < 3:
		return s + " Beneficiary"
	}
	return s
}
