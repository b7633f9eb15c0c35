package offramp

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// ErrNotFound is returned by Store lookups when no row matches. Lookups are
// always scoped to an organization, so a row of another organization is
// simply not found.
var ErrNotFound = errors.New("not found")

// ErrStale is returned by compare-and-set updates when the row is no longer
// in the expected state: somebody else changed it first.
var ErrStale = errors.New("stale: the object changed concurrently")

// Page selects one page of a list. Lists are newest first, ordered by
// (created_at, id) descending, and every list method takes a Page.
//
// Without a Cursor the page is the Number-th run of Size rows (Number
// counts from 1): the store skips Offset rows, which costs O(Offset). With
// a Cursor the page is placed by keyset instead, at a cost of O(Size) at
// any depth, and Number is only the caller's label for it (the HTTP API's
// page number in its links).
//
// A list method answers the page's rows and the list's count. The count of
// an unfiltered list (an organization's payouts, customers, deliveries) is
// exact and costs O(1); the count of a filtered list is exact up to a cap
// (sqlstore: 10,000 matching rows) and is the cap above it, a lower bound,
// so that counting never costs more than the cap. A page past the end is
// empty, not an error, and with an exact count it costs no list query.
type Page struct {
	Number int
	Size   int
	// Cursor, when not nil, places the page next to a row's sort key: the
	// Size rows that follow the key in list order (older rows), or with
	// Cursor.Before the Size rows that precede it (newer rows), still
	// answered newest first. The key's row need not exist any more.
	Cursor *PageCursor
	// Peek asks for one row past the page when there is one, appended
	// last: a list may answer Size+1 rows, and the extra one only tells
	// that the list goes on in the direction read (older rows, or with
	// Cursor.Before newer ones). The caller drops it.
	Peek bool
}

// PageCursor is the sort key of a page's boundary row, and the direction
// to read from it.
type PageCursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
	// Before reads the rows before the key in list order (newer ones): a
	// previous page. Otherwise the rows after it: a next page.
	Before bool
}

// Offset is the number of rows before the page: (Number-1)*Size, 0 for a
// Number below 1, and math.MaxInt when that product overflows (a page that
// far is past the end of any list).
func (p Page) Offset() int {
	if p.Number <= 1 || p.Size <= 0 {
		return 0
	}
	if p.Number-1 > math.MaxInt/p.Size {
		return math.MaxInt
	}
	return (p.Number - 1) * p.Size
}

// Store is Offramp's persistence. Reads run in View, every write runs in
// Update: one place through which all writes pass, so the implementation can
// serialize them and batch concurrent ones into one commit.
//
// Update may run fn more than once (PostgreSQL retries a transaction that
// lost a serialization conflict), so fn must be pure database work: it
// resets whatever it sets outside itself, and calls no outside system.
//
// Implementations encrypt secret fields (API secrets, account numbers, VPAs,
// tax and document numbers) at rest, transparently to callers.
type Store interface {
	View(ctx context.Context, fn func(ReadTx) error) error
	Update(ctx context.Context, fn func(Tx) error) error
	// UpdateRowLocked is Update for a transaction that keeps every one of
	// its rules with row locks (LockLimitUsage), conditional writes (a
	// compare-and-set on the row's status) and unique indexes, never by
	// reading the absence of a row or a value it does not lock. On
	// PostgreSQL it runs at READ COMMITTED: it takes no predicate locks, so
	// it cannot fail on the false conflicts SERIALIZABLE finds between
	// inserts into one index page, and two such transactions on one row
	// queue on its lock instead of aborting. Where an engine has one writer
	// (SQLite) it is Update.
	UpdateRowLocked(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// ReadTx reads a consistent snapshot.
type ReadTx interface {
	CountOrgs(ctx context.Context) (int, error)
	Org(ctx context.Context, id uuid.UUID) (Org, error)
	// OrgByAPIKey finds the organization holding a live (unrevoked) key,
	// with that key's KeyID, APIKey and APISecret.
	OrgByAPIKey(ctx context.Context, apiKey string) (Org, error)
	// APIKeys lists an organization's keys, live and revoked, oldest
	// first, without their secrets.
	APIKeys(ctx context.Context, orgID uuid.UUID) ([]APIKey, error)

	Customer(ctx context.Context, orgID, id uuid.UUID) (Customer, error)
	// ListCustomers lists one page of the organization's customers, newest
	// first, with their exact count (maintained, not counted: O(1)). See
	// Page for cursors, Peek and pages past the end.
	ListCustomers(ctx context.Context, orgID uuid.UUID, page Page) ([]Customer, int, error)
	// CustomerIDBy finds the customer of orgID whose field (one of
	// "email", "phone", "client_reference_id", "tax_number",
	// "document_number") has the given value.
	CustomerIDBy(ctx context.Context, orgID uuid.UUID, field, value string) (uuid.UUID, error)

	BankAccount(ctx context.Context, orgID, id uuid.UUID) (BankAccount, error)
	// ListBankAccounts lists one page of a customer's bank accounts (every
	// account of the organization when customerID is uuid.Nil), newest
	// first, with their count, capped as a filtered list's (see Page).
	ListBankAccounts(ctx context.Context, orgID, customerID uuid.UUID, page Page) ([]BankAccount, int, error)
	// CountBankAccounts counts a customer's accounts of one type that are
	// not FAILED: a failed verification does not use up one of the slots.
	CountBankAccounts(ctx context.Context, orgID, customerID uuid.UUID, typ BankAccountType) (int, error)
	// BankAccountIDBy finds the bank account of orgID whose "account_number"
	// or "vpa" has the given value.
	BankAccountIDBy(ctx context.Context, orgID uuid.UUID, field, value string) (uuid.UUID, error)

	// Events lists an object's events in sequence order.
	Events(ctx context.Context, orgID uuid.UUID, objectType ObjectType, objectID uuid.UUID) ([]Event, error)

	Quotation(ctx context.Context, orgID, id uuid.UUID) (Quotation, error)

	Payout(ctx context.Context, orgID, id uuid.UUID) (Payout, error)
	// PayoutIDByClientReference finds a payout by the organization's
	// client_reference_id.
	PayoutIDByClientReference(ctx context.Context, orgID uuid.UUID, ref string) (uuid.UUID, error)
	// PayoutsByExchangeOrder lists the payouts made for an exchange order
	// id, newest first (a failed one may have been retried).
	PayoutsByExchangeOrder(ctx context.Context, orgID uuid.UUID, orderID string) ([]Payout, error)
	// ListPayouts lists one page of the organization's payouts matching f,
	// newest first, with their count: exact and O(1) without a filter,
	// else exact up to the cap and the cap above it (see Page).
	ListPayouts(ctx context.Context, orgID uuid.UUID, f PayoutFilter, page Page) ([]Payout, int, error)
	// CustomerAnyOrg and BankAccountAnyOrg find an object of any
	// organization by id; AdminCustomers and AdminBankAccounts list those
	// in a status across organizations, least recently updated first, at
	// most limit. For operator commands, never for an API caller.
	CustomerAnyOrg(ctx context.Context, id uuid.UUID) (Customer, error)
	BankAccountAnyOrg(ctx context.Context, id uuid.UUID) (BankAccount, error)
	AdminCustomers(ctx context.Context, status CustomerStatus, limit int) ([]Customer, error)
	AdminBankAccounts(ctx context.Context, status BankStatus, limit int) ([]BankAccount, error)

	// SearchPayouts finds payouts of any organization whose id, bank
	// reference, UTR, exchange order id, exchange transfer id or client
	// reference id equals q, newest first per field, at most limit: for
	// operators. ListOrgs lists every organization by name.
	SearchPayouts(ctx context.Context, q string, limit int) ([]Payout, error)
	ListOrgs(ctx context.Context) ([]Org, error)

	// PayoutByRailReference finds a payout of any organization by its bank
	// reference (a bank's webhook names only the reference).
	PayoutByRailReference(ctx context.Context, ref string) (Payout, error)
	// PayoutAnyOrg finds a payout of any organization by id: for operator
	// commands, never for an API caller.
	PayoutAnyOrg(ctx context.Context, id uuid.UUID) (Payout, error)
	// AdminPayouts lists payouts of every organization (or f.OrgID's),
	// oldest first, at most limit: for operators.
	AdminPayouts(ctx context.Context, f PayoutFilter, limit int) ([]Payout, error)
	// ForEachPayout calls fn for every payout of every organization; an
	// error from fn stops the walk and is returned.
	ForEachPayout(ctx context.Context, fn func(Payout) error) error
	// PayoutStats counts payouts by status and phase and finds the oldest
	// IN_REVIEW payout and the oldest transfer pending at the bank.
	PayoutStats(ctx context.Context) (PayoutStats, error)
	// UnlinkedPayouts lists, across organizations, payouts that are not
	// FAILED or REFUNDED and have no exchange transfer id yet.
	UnlinkedPayouts(ctx context.Context) ([]Payout, error)

	// SignatureRecord returns what was recorded of a request signature of
	// orgID (UseSignature), with its stored response once the request
	// finished: ErrNotFound when the signature was not seen (or its record
	// was purged).
	SignatureRecord(ctx context.Context, orgID uuid.UUID, signature string) (SignatureRecord, error)

	// LimitUsage is the amount of the daily limit a customer used on day
	// (zero when nothing was recorded).
	LimitUsage(ctx context.Context, orgID, customerID uuid.UUID, day string) (decimal.Decimal, error)

	// LatestEDD is the customer's most recent EDD submission.
	LatestEDD(ctx context.Context, orgID, customerID uuid.UUID) (EDD, error)
	EDD(ctx context.Context, orgID, id uuid.UUID) (EDD, error)

	Idempotency(ctx context.Context, orgID uuid.UUID, key string) (IdempotencyRecord, error)

	// ForEachJournal calls fn for every journal of every organization in
	// creation order; an error from fn stops the walk and is returned.
	ForEachJournal(ctx context.Context, fn func(Journal) error) error
	// PayoutJournals lists a payout's journals in creation order.
	PayoutJournals(ctx context.Context, orgID, payoutID uuid.UUID) ([]Journal, error)

	// Jobs lists the live jobs of one kind for one object (a payout, an
	// event), oldest first.
	Jobs(ctx context.Context, kind JobKind, refID uuid.UUID) ([]Job, error)
	// JobDepths counts waiting jobs by kind at time now.
	JobDepths(ctx context.Context, now time.Time) ([]JobDepth, error)
	// RailAccount returns what provider calls the bank account bankID of
	// orgID; ErrNotFound when it was never created there.
	RailAccount(ctx context.Context, provider string, orgID, bankID uuid.UUID) (RailAccount, error)
	// Operator finds a console operator by id or by e-mail (lower-cased);
	// ErrNotFound when none.
	Operator(ctx context.Context, id uuid.UUID) (Operator, error)
	OperatorByEmail(ctx context.Context, email string) (Operator, error)
	// ListOperators lists every operator, by e-mail.
	ListOperators(ctx context.Context) ([]Operator, error)
	// OperatorSession finds a session by the SHA-256 of its token.
	OperatorSession(ctx context.Context, tokenHash string) (OperatorSession, error)
	// Proposal finds a proposal; ListProposals lists those in status (all
	// when empty), newest first, at most limit.
	Proposal(ctx context.Context, id uuid.UUID) (Proposal, error)
	ListProposals(ctx context.Context, status ProposalStatus, limit int) ([]Proposal, error)
	// ListAudit lists audit entries newest first, filtered by actor and
	// action when not empty, at most limit.
	ListAudit(ctx context.Context, actor, action string, limit int) ([]AuditEntry, error)
	// ForEachAudit walks the audit log in chain order (Seq ascending).
	ForEachAudit(ctx context.Context, fn func(AuditEntry) error) error
	// AuditEntries lists the operator actions recorded on an object,
	// oldest first.
	AuditEntries(ctx context.Context, objectType ObjectType, objectID uuid.UUID) ([]AuditEntry, error)

	// Event returns one event of the organization.
	Event(ctx context.Context, orgID, id uuid.UUID) (Event, error)
	Delivery(ctx context.Context, orgID, eventID uuid.UUID) (Delivery, error)
	// ListDeliveries lists one page of the organization's deliverable
	// events with their delivery matching f, newest first (by the
	// delivery's created_at and event id), with their count: exact and O(1)
	// without a filter, else exact up to the cap and the cap above it (see
	// Page).
	ListDeliveries(ctx context.Context, orgID uuid.UUID, f DeliveryFilter, page Page) ([]EventDelivery, int, error)
	// DeliveryAttempts lists an event's delivery attempts, oldest first.
	DeliveryAttempts(ctx context.Context, orgID, eventID uuid.UUID) ([]DeliveryAttempt, error)
}

// PayoutFilter narrows a payout listing. Zero fields do not filter. From
// and To bound created_at: From <= created_at < To.
type PayoutFilter struct {
	// OrgID narrows AdminPayouts to one organization (ignored elsewhere:
	// the organization is always an argument there).
	OrgID      uuid.UUID
	Status     PayoutStatus
	CustomerID uuid.UUID
	From, To   time.Time
	// ClientReferenceID and ExchangeOrderID narrow ListPayouts to the
	// payout of a client reference and to the payouts of an exchange order
	// (AdminPayouts ignores them; SearchPayouts finds by either across
	// organizations).
	ClientReferenceID string
	ExchangeOrderID   string
}

// PayoutStats is a census of payouts for operators and metrics.
type PayoutStats struct {
	Counts []PhaseCount
	// OldestReview is the creation time of the oldest IN_REVIEW payout,
	// OldestPending the submission time of the oldest transfer the bank
	// has accepted and not settled (zero when there is none).
	OldestReview, OldestPending time.Time
}

// PhaseCount is how many payouts are in one phase.
type PhaseCount struct {
	Status PayoutStatus
	Phase  PayoutPhase
	N      int
}

// AuditEntry records one operator action: who did what to which object,
// and why.
type AuditEntry struct {
	// Seq numbers the chain; PrevHash is the previous entry's Hash and
	// Hash is SHA-256 over PrevHash and this entry's content (see
	// AuditHash), so editing or deleting a row breaks every later link.
	Seq        int64
	PrevHash   string
	Hash       string
	ID         uuid.UUID
	OrgID      uuid.UUID
	Actor      string
	Action     string // "payout.resolve_paid", "payout.resolve_failed", "payout.reinquire", ...
	ObjectType ObjectType
	ObjectID   uuid.UUID
	Reason     string
	Details    map[string]string
	CreatedAt  time.Time
}

// Tx is a write transaction; it sees its own writes.
type Tx interface {
	ReadTx

	// CreateOrg creates the organization and its first API key (o.KeyID,
	// o.APIKey, o.APISecret; a nil KeyID gets a new id).
	CreateOrg(ctx context.Context, o Org) error
	// CreateAPIKey adds a key to an existing organization.
	CreateAPIKey(ctx context.Context, k APIKey) error
	// RevokeAPIKey revokes a live key of orgID; ErrNotFound if the
	// organization has no such live key. Revoking the organization's last
	// live key is refused (CodeRejected): create its successor first.
	RevokeAPIKey(ctx context.Context, orgID, keyID uuid.UUID, by string, at time.Time) error
	// TouchAPIKey records a use of the key at `at`, unless a use at or
	// after at minus KeyUseResolution is already recorded.
	TouchAPIKey(ctx context.Context, keyID uuid.UUID, at time.Time) error
	SetOrgWebhookURL(ctx context.Context, orgID uuid.UUID, url string) error
	SetOrgJSReplacer(ctx context.Context, orgID uuid.UUID, allow bool) error
	// SetOrgIPAllowlist replaces the organization's IP allowlist (nil or
	// empty: no restriction), stored in the order given; Org and
	// OrgByAPIKey read it back. ErrNotFound for an unknown organization.
	SetOrgIPAllowlist(ctx context.Context, orgID uuid.UUID, allowlist []netip.Prefix) error

	CreateCustomer(ctx context.Context, c Customer) error
	// UpdateCustomer writes c (status, failure reason and KYC) if the stored
	// status is still from; otherwise it returns ErrStale.
	UpdateCustomer(ctx context.Context, c Customer, from CustomerStatus) error

	CreateBankAccount(ctx context.Context, b BankAccount) error
	// SetBankStatus moves a bank account from one status to another,
	// returning ErrStale if it is no longer in from.
	SetBankStatus(ctx context.Context, orgID, id uuid.UUID, from, to BankStatus, reason string, at time.Time) error

	// AppendEvent records a status change. The store numbers it after the
	// object's latest event when Sequence is 0; a caller that has just
	// created the object may pass 1 (the first event of a new object),
	// which saves a read. A number already taken is refused.
	AppendEvent(ctx context.Context, e Event) (Event, error)

	// EnqueueJob adds a job. A payout or webhook event has at most one
	// live job (a unique index): a second one for the same object is a
	// CodeConflict *Error.
	EnqueueJob(ctx context.Context, j Job) error
	// ClaimJobs leases up to c.Limit due jobs whose lease (if any) has
	// lapsed, to c.Owner until c.Now+c.Lease; see JobClaim.
	ClaimJobs(ctx context.Context, c JobClaim) ([]Job, error)
	// FinishJob removes a job its owner (lease token) completed; ErrStale
	// if the job is gone or leased to another claim.
	FinishJob(ctx context.Context, id uuid.UUID, owner string) error
	// RetryJob releases a job to run again at runAt, recording the error;
	// ErrStale as FinishJob.
	RetryJob(ctx context.Context, id uuid.UUID, owner string, runAt time.Time, lastErr string) error
	// RescheduleJob releases j (held under j.Lease) to run again at runAt
	// as a fresh step: attempts and last error are reset. A step calls it
	// in the transaction that records its work, so the work and the next
	// step commit together. ErrStale as FinishJob.
	RescheduleJob(ctx context.Context, j Job, runAt time.Time) error

	// PutRailAccount remembers a provider's ids for a bank account. If one
	// is already recorded for (provider, org, bank), it is kept and
	// returned, and a's ids are not stored: the first writer wins, so two
	// payouts racing to create the beneficiary agree on one.
	PutRailAccount(ctx context.Context, a RailAccount) (RailAccount, error)

	// CreateOperator adds an operator; a taken e-mail is a CodeConflict
	// *Error. UpdateOperator writes role, password hash, TOTP secret,
	// disabled, failed logins, locked until and updated_at.
	CreateOperator(ctx context.Context, o Operator) error
	UpdateOperator(ctx context.Context, o Operator) error
	// PutOperatorSession stores a session; TouchOperatorSession moves its
	// LastSeenAt; DeleteOperatorSession ends it (no error when gone);
	// DeleteOperatorSessions ends every session of an operator.
	PutOperatorSession(ctx context.Context, s OperatorSession) error
	TouchOperatorSession(ctx context.Context, tokenHash string, at time.Time) error
	DeleteOperatorSession(ctx context.Context, tokenHash string) error
	DeleteOperatorSessions(ctx context.Context, operatorID uuid.UUID) error
	// CreateProposal stores a PENDING proposal. DecideProposal moves a
	// PENDING one to APPROVED or REJECTED with the decider; ErrStale if
	// it is no longer PENDING. The schema refuses a decider equal to the
	// proposer.
	CreateProposal(ctx context.Context, p Proposal) error
	DecideProposal(ctx context.Context, id uuid.UUID, to ProposalStatus, by string, at time.Time) error

	// AppendAudit records an operator action (or a status change) as the
	// next link of the audit chain: the store assigns Seq, PrevHash and
	// Hash in the same transaction.
	AppendAudit(ctx context.Context, a AuditEntry) error

	CreateQuotation(ctx context.Context, q Quotation) error
	// LinkQuotation marks an UNLINKED quotation LINKED to payoutID; it
	// returns ErrStale if the quotation is no longer UNLINKED.
	LinkQuotation(ctx context.Context, orgID, id, payoutID uuid.UUID) error

	// CreatePayout inserts a payout. A duplicate client_reference_id in
	// the organization is a CodeConflict *Error (MsgClientRefExists).
	CreatePayout(ctx context.Context, p Payout) error
	// UpdatePayout writes p's mutable fields (status, phase, UTR, failure
	// reason, exchange transfer id, inquiries, submissions, submitted_at,
	// paid_at, last bank answer, review reason, updated_at) if the stored
	// payout is still in status from and phase fromPhase, else ErrStale.
	UpdatePayout(ctx context.Context, p Payout, from PayoutStatus, fromPhase PayoutPhase) error

	// LockLimitUsage is LimitUsage for a transaction that will add to it:
	// it holds the counter until the transaction ends, so that no other
	// transaction can use the same room meanwhile (a second one waits).
	LockLimitUsage(ctx context.Context, orgID, customerID uuid.UUID, day string) (decimal.Decimal, error)
	// AddLimitUsage adds delta (negative to give back) to a customer's
	// usage of day.
	AddLimitUsage(ctx context.Context, orgID, customerID uuid.UUID, day string, delta decimal.Decimal) error

	CreateEDD(ctx context.Context, e EDD) error
	// UpdateEDD writes e's status and failure reason if the stored status
	// is still from, else ErrStale.
	UpdateEDD(ctx context.Context, e EDD, from EDDStatus) error

	// PutIdempotency records a request's outcome; a second record for the
	// same (organization, key) is ErrStale.
	PutIdempotency(ctx context.Context, r IdempotencyRecord) error

	// AppendJournal records a journal. An unbalanced journal is refused
	// with an error, never stored.
	AppendJournal(ctx context.Context, j Journal) error

	// CreateDelivery adds the outbox row of a deliverable event.
	CreateDelivery(ctx context.Context, d Delivery) error
	// UpdateDelivery writes d's state, attempts, next attempt, last status
	// code and error, delivered time and updated_at, if the stored
	// delivery still has fromAttempts attempts; else ErrStale.
	UpdateDelivery(ctx context.Context, d Delivery, fromAttempts int) error
	// AddDeliveryAttempt records one attempt.
	AddDeliveryAttempt(ctx context.Context, a DeliveryAttempt) error
	// SetOrgWebhookDisabled marks the organization's endpoint disabled
	// (410 Gone) or enabled again.
	SetOrgWebhookDisabled(ctx context.Context, orgID uuid.UUID, disabled bool) error

	// UseSignature records that a request signature was used, by the
	// request rec describes (its method and target, State SignatureRead
	// with Target ReadTarget, SignatureRunning, or SignatureDone with the
	// response). It returns
	// false, recording nothing, if the signature was already recorded: a
	// repeat, told apart from a borrowed signature by the record's method
	// and target. Records may be forgotten after rec.ExpiresAt.
	UseSignature(ctx context.Context, rec SignatureRecord) (bool, error)
	// FinishSignature stores the response of the request that recorded
	// the signature as running: its record becomes SignatureDone.
	// ErrStale when the record is not running.
	FinishSignature(ctx context.Context, orgID uuid.UUID, signature string, status int, response []byte) error
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
