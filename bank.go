package offramp

import (
	"regexp"
	"time"

	"github.com/google/uuid"
)

// BankStatus is the verification status of a bank account.
type BankStatus string

const (
	BankProcessing BankStatus = "PROCESSING"
	BankVerified   BankStatus = "VERIFIED"
	BankFailed     BankStatus = "FAILED"
)

// BankAccountType tells an account-number-and-IFSC account from a UPI VPA.
type BankAccountType string

const (
	BankAccountDetails BankAccountType = "ACCOUNT_DETAILS"
	BankVPA            BankAccountType = "VPA"
)

// Bank failure reasons (DollarPe's failure-reason reference).
const (
	ReasonInvalidIFSC          = "INVALID_IFSC"
	ReasonInvalidAccountNumber = "INVALID_ACCOUNT_NUMBER"
	ReasonAccountTypeNRE       = "ACCOUNT_TYPE_NRE"
	ReasonPennyDropFailed      = "PENNY_DROP_FAILED"
	ReasonNameMismatch         = "NAME_MISMATCH"
	ReasonBankRiskCheckFailed  = "BANK_RISK_CHECK_FAILED"
)

// MaxAccountsPerType is how many bank accounts, and separately how many UPI
// VPAs, one customer may add.
const MaxAccountsPerType = 3

// IFSCPattern is the shape of an Indian Financial System Code: four letters,
// a zero, six letters or digits.
var IFSCPattern = regexp.MustCompile(`^[A-Z]{4}0[A-Z0-9]{6}$`)

// BankAccount is a customer's payout destination. AccountNumber and VPA are
// encrypted at rest and masked everywhere they are shown.
type BankAccount struct {
	ID            uuid.UUID
	OrgID         uuid.UUID
	CustomerID    uuid.UUID
	Type          BankAccountType
	AccountNumber string
	IFSC          string
	AccountName   string
	VPA           string
	Status        BankStatus
	FailureReason string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// CanTransition reports whether a bank account may move between statuses.
func (s BankStatus) CanTransition(to BankStatus) bool {
	return s == BankProcessing && (to == BankVerified || to == BankFailed)
}

// Mask shows only the last four characters of a secret identifier such as
// an account number: "XXXXXX9201".
func Mask(s string) string {
	r := []rune(s)
	if len(r) <= 4 {
		return s
	}
	out := make([]rune, len(r))
	for i := range r {
		if i < len(r)-4 {
			out[i] = 'X'
		} else {
			out[i] = r[i]
		}
	}
	return string(out)
}

// MaskVPA keeps the first two characters of a UPI ID's handle and its
// provider: "jo******@oksbi".
func MaskVPA(vpa string) string {
	at := -1
	for i := len(vpa) - 1; i >= 0; i-- {
		if vpa[i] == '@' {
			at = i
			break
		}
	}
	if at < 0 {
		return Mask(vpa)
	}
	user := []rune(vpa[:at])
	for i := range user {
		if i >= 2 {
			user[i] = '*'
		}
	}
	return string(user) + vpa[at:]
}
