package offramp

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// ErrNotFound is returned by Store lookups when no row matches. Lookups are
// always scoped to an organization, so a row of another organization is
// simply not found.
var ErrNotFound = errors.New("not found")

// ErrStale is returned by compare-and-set updates when the row is no longer
// in the expected state: somebody else changed it first.
var ErrStale = errors.New("stale: the object changed concurrently")

// Page selects one page of a list; Number counts from 1.
type Page struct {
	Number int
	Size   int
}

// Offset is the number of rows before the page.
func (p Page) Offset() int { return (p.Number - 1) * p.Size }

// Store is Offramp's persistence. Reads run in View, every write runs in
// Update: one place through which all writes pass, so the implementation can
// serialize them and batch concurrent ones into one commit.
//
// Implementations encrypt secret fields (API secrets, account numbers, VPAs,
// tax and document numbers) at rest, transparently to callers.
type Store interface {
	View(ctx context.Context, fn func(ReadTx) error) error
	Update(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// ReadTx reads a consistent snapshot.
type ReadTx interface {
	CountOrgs(ctx context.Context) (int, error)
	Org(ctx context.Context, id uuid.UUID) (Org, error)
	OrgByAPIKey(ctx context.Context, apiKey string) (Org, error)

	Customer(ctx context.Context, orgID, id uuid.UUID) (Customer, error)
	ListCustomers(ctx context.Context, orgID uuid.UUID, page Page) ([]Customer, int, error)
	// CustomerIDBy finds the customer of orgID whose field (one of
	// "email", "phone", "client_reference_id", "tax_number",
	// "document_number") has the given value.
	CustomerIDBy(ctx context.Context, orgID uuid.UUID, field, value string) (uuid.UUID, error)

	BankAccount(ctx context.Context, orgID, id uuid.UUID) (BankAccount, error)
	ListBankAccounts(ctx context.Context, orgID, customerID uuid.UUID, page Page) ([]BankAccount, int, error)
	// CountBankAccounts counts a customer's accounts of one type that are
	// not FAILED: a failed verification does not use up one of the slots.
	CountBankAccounts(ctx context.Context, orgID, customerID uuid.UUID, typ BankAccountType) (int, error)
	// BankAccountIDBy finds the bank account of orgID whose "account_number"
	// or "vpa" has the given value.
	BankAccountIDBy(ctx context.Context, orgID uuid.UUID, field, value string) (uuid.UUID, error)

	// Events lists an object's events in sequence order.
	Events(ctx context.Context, orgID uuid.UUID, objectType ObjectType, objectID uuid.UUID) ([]Event, error)
}

// Tx is a write transaction; it sees its own writes.
type Tx interface {
	ReadTx

	CreateOrg(ctx context.Context, o Org) error
	SetOrgWebhookURL(ctx context.Context, orgID uuid.UUID, url string) error
	SetOrgJSReplacer(ctx context.Context, orgID uuid.UUID, allow bool) error

	CreateCustomer(ctx context.Context, c Customer) error
	// UpdateCustomer writes c (status, failure reason and KYC) if the stored
	// status is still from; otherwise it returns ErrStale.
	UpdateCustomer(ctx context.Context, c Customer, from CustomerStatus) error

	CreateBankAccount(ctx context.Context, b BankAccount) error
	// SetBankStatus moves a bank account from one status to another,
	// returning ErrStale if it is no longer in from.
	SetBankStatus(ctx context.Context, orgID, id uuid.UUID, from, to BankStatus, reason string, at time.Time) error

	// AppendEvent records a status change; the store assigns Sequence.
	AppendEvent(ctx context.Context, e Event) (Event, error)

	EnqueueJob(ctx context.Context, j Job) error
	// ClaimJobs leases up to limit jobs whose RunAt has come and whose
	// lease (if any) has lapsed, to owner until now+lease.
	ClaimJobs(ctx context.Context, now time.Time, owner string, lease time.Duration, limit int) ([]Job, error)
	// FinishJob removes a job its owner completed.
	FinishJob(ctx context.Context, id uuid.UUID, owner string) error
	// RetryJob releases a job to run again at runAt, recording the error.
	RetryJob(ctx context.Context, id uuid.UUID, owner string, runAt time.Time, lastErr string) error

	// UseSignature records that a request signature was used. It returns
	// false if the same signature was already recorded: a replay. Records
	// may be forgotten after expiresAt.
	UseSignature(ctx context.Context, orgID uuid.UUID, signature string, expiresAt time.Time) (bool, error)
	// PurgeSignatures forgets signature records that expired before now.
	PurgeSignatures(ctx context.Context, now time.Time) (int, error)
}

// Clock tells the time. Everything time-dependent takes one, so tests can
// move time instead of sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
