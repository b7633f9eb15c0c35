package rail

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/offramp/offramp"
)

// Magic account-number endings; see the package documentation.
const (
	// EndingRejected makes the beneficiary bank reject the transfer.
	EndingRejected = "3333"
	// EndingNoAnswer makes the bank commit the transfer and never answer
	// Submit; the transfer still settles.
	EndingNoAnswer = "4444"
	// EndingNeverSettles makes the bank commit the transfer, never answer
	// Submit and never settle: the outcome stays unknown.
	EndingNeverSettles = "5555"
	// EndingPending makes the bank keep the transfer ACCEPTED for
	// SandboxOptions.Pending, then pay it.
	EndingPending = "6666"
	// EndingReversed makes the bank pay the transfer after Settle, like an
	// ordinary one, and return the money (REVERSED, same UTR) Pending after
	// that.
	EndingReversed = "7777"
)

// ReasonAccountClosed is the Reason of a transfer the sandbox reverses
// (ending 7777): the beneficiary bank returned the credit because the
// account is closed, one of NPCI's IMPS return reasons.
const ReasonAccountClosed = "BENEFICIARY_ACCOUNT_CLOSED"

// ReasonInvalidRequest is the Reason of a transfer refused by validation
// (empty reference, non-positive amount).
const ReasonInvalidRequest = "INVALID_REQUEST"

// DefaultSettle is how long an ordinary transfer stays ACCEPTED when
// SandboxOptions.Settle is zero.
const DefaultSettle = 2 * time.Second

// DefaultPending is SandboxOptions.Pending when it is zero.
const DefaultPending = 10 * time.Minute

// SandboxOptions configures a Sandbox.
type SandboxOptions struct {
	// Settle is how long after acceptance an ordinary transfer becomes
	// SUCCESS (zero means DefaultSettle; negative is an error).
	Settle time.Duration
	// Pending is how long a transfer to an account ending 6666 stays
	// ACCEPTED before it is paid, and how long after being paid a transfer
	// to an account ending 7777 is reversed (zero means DefaultPending;
	// negative is an error).
	Pending time.Duration
	// Clock tells the bank's time; nil means offramp.SystemClock{}.
	Clock offramp.Clock
	// OnSubmit, if set, is called at the start of every Submit call with
	// the reference, before the bank sees the request (tests use it to
	// count calls or to crash at a chosen point).
	OnSubmit func(reference string)
}

// behaviour is what the bank does with a transfer, decided once from the
// account number when the transfer is first recorded and kept in the books,
// so that it does not change if a later Submit carries other details.
type behaviour string

const (
	behaveOrdinary     behaviour = "ORDINARY"
	behaveRejected     behaviour = "REJECTED"
	behaveNoAnswer     behaviour = "NO_ANSWER"
	behaveNeverSettles behaviour = "NO_ANSWER_NEVER_SETTLES"
	behavePending      behaviour = "PENDING"
	behaveReverses     behaviour = "REVERSES"
)

func behaviourOf(account string) behaviour {
	account = strings.TrimSpace(account)
	switch {
	case strings.HasSuffix(account, EndingRejected):
		return behaveRejected
	case strings.HasSuffix(account, EndingNoAnswer):
		return behaveNoAnswer
	case strings.HasSuffix(account, EndingNeverSettles):
		return behaveNeverSettles
	case strings.HasSuffix(account, EndingPending):
		return behavePending
	case strings.HasSuffix(account, EndingReversed):
		return behaveReverses
	}
	return behaveOrdinary
}

// silent reports whether the bank never answers a Submit for the transfer.
func (b behaviour) silent() bool { return b == behaveNoAnswer || b == behaveNeverSettles }

// Sandbox is a simulated IMPS bank that implements offramp.Rail. All methods
// are safe for concurrent use.
type Sandbox struct {
	// w is the only connection that writes: one writer serialises the
	// bank's transactions in this process, and BEGIN IMMEDIATE plus
	// busy_timeout serialise them against another process on the file.
	w *sql.DB
	// r is a read-only pool, so that inquiries and counts do not queue
	// behind writes.
	r       *sql.DB
	settle  time.Duration
	pending time.Duration
	clock   offramp.Clock
	hook    func(string)
	// newUTR draws a candidate UTR; a field so that a test can force a
	// collision.
	newUTR func() (string, error)
	// committed, if set, is called by Submit after the bank has committed
	// its side and before it answers (or does not): tests use it to know
	// that a silent Submit is blocked without polling or sleeping.
	committed func(reference string)

	closeOnce sync.Once
	closed    chan struct{}
}

var _ offramp.Rail = (*Sandbox)(nil)

// errClosed is returned by a Submit that was waiting for an answer the bank
// will never give when the Sandbox is closed: like a dropped connection, the
// outcome is unknown.
var errClosed = errors.New("rail: sandbox bank closed the connection")

// maxUTRAttempts bounds the retries on a UTR collision. With 10^12 values a
// single collision is already rare; many in a row mean something is broken
// (for example a generator that returns a constant), and looping forever
// would hide it.
const maxUTRAttempts = 16

// schemaVersion is the books' layout, kept in PRAGMA user_version.
// Version 0 (user_version never set) is the first layout, whose status
// CHECK did not allow REVERSED; version 1 added REVERSED, reversed_at and
// the CHECKs tying reason and settled_at to the status.
const schemaVersion = 1

// transfersTable is the version 1 transfers table, named so that a
// migration can build it beside the old one. The CHECKs are the bank's
// invariants: a UTR exactly when the money moved (SUCCESS, or REVERSED
// after it), a reason exactly when it did not arrive or came back, a
// reversal time exactly on a reversal.
func transfersTable(name string) string {
	return `CREATE TABLE ` + name + ` (
	reference      TEXT PRIMARY KEY,
	account_number TEXT NOT NULL,
	ifsc           TEXT NOT NULL,
	account_name   TEXT NOT NULL,
	amount         TEXT NOT NULL,  -- exact decimal text, never a float
	currency       TEXT NOT NULL,
	method         TEXT NOT NULL,
	behaviour      TEXT NOT NULL CHECK (behaviour IN ('ORDINARY', 'REJECTED', 'NO_ANSWER', 'NO_ANSWER_NEVER_SETTLES', 'PENDING', 'REVERSES')),
	status         TEXT NOT NULL CHECK (status IN ('ACCEPTED', 'SUCCESS', 'REJECTED', 'REVERSED')),
	reason         TEXT NOT NULL DEFAULT '',
	utr            TEXT UNIQUE CHECK (utr IS NULL OR (length(utr) = 12 AND utr NOT GLOB '*[^0-9]*')),
	accepted_at    INTEGER NOT NULL, -- Unix nanoseconds on the sandbox clock
	settled_at     INTEGER,          -- when the bank booked the credit
	reversed_at    INTEGER,          -- when the bank booked the return
	CHECK ((status IN ('SUCCESS', 'REVERSED')) = (utr IS NOT NULL)),
	CHECK ((status IN ('SUCCESS', 'REVERSED')) = (settled_at IS NOT NULL)),
	CHECK ((status IN ('REJECTED', 'REVERSED')) = (reason <> '')),
	CHECK ((status = 'REVERSED') = (reversed_at IS NOT NULL))
) STRICT`
}

// transferColumnsV0 are the columns of a version 0 transfers table, all of
// which version 1 keeps.
const transferColumnsV0 = `reference, account_number, ifsc, account_name, amount, currency, method, behaviour, status, reason, utr, accepted_at, settled_at`

const submitCallsTable = `CREATE TABLE IF NOT EXISTS submit_calls (
	reference TEXT PRIMARY KEY,
	calls     INTEGER NOT NULL
) STRICT`

// OpenSandbox opens the bank's books at path, creating the file and its
// tables if needed. The file runs in WAL mode with synchronous=FULL so that
// a transfer the bank has acknowledged survives a crash of the process.
func OpenSandbox(path string, opts SandboxOptions) (*Sandbox, error) {
	if strings.TrimSpace(path) == "" {
		return nil, errors.New("rail: sandbox bank: empty database path")
	}
	// A bank whose books vanish with the process would defeat the purpose,
	// and '?' would be taken for the start of DSN parameters.
	if path == ":memory:" || strings.HasPrefix(path, "file:") || strings.Contains(path, "?") {
		return nil, fmt.Errorf("rail: sandbox bank: %q is not a plain file path", path)
	}
	if opts.Settle < 0 {
		return nil, fmt.Errorf("rail: sandbox bank: negative settle time %v", opts.Settle)
	}
	if opts.Pending < 0 {
		return nil, fmt.Errorf("rail: sandbox bank: negative pending time %v", opts.Pending)
	}
	s := &Sandbox{
		settle:  opts.Settle,
		pending: opts.Pending,
		clock:   opts.Clock,
		hook:    opts.OnSubmit,
		newUTR:  randomUTR,
		closed:  make(chan struct{}),
	}
	if s.settle == 0 {
		s.settle = DefaultSettle
	}
	if s.pending == 0 {
		s.pending = DefaultPending
	}
	if s.clock == nil {
		s.clock = offramp.SystemClock{}
	}

	// Creating the file ourselves gives it (and so its -wal and -shm) mode
	// 0600: it holds account numbers and names.
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("rail: sandbox bank: create directory: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("rail: sandbox bank: open database file: %w", err)
	}
	f.Close()

	// Pragmas go in the DSN so that every connection, including one
	// database/sql reopens after an error, gets them.
	common := "_pragma=busy_timeout(5000)"
	if s.w, err = sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"); err != nil {
		return nil, fmt.Errorf("rail: sandbox bank: %w", err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)

	ctx := context.Background()
	if err := s.checkDurability(ctx); err != nil {
		s.w.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.w.Close()
		return nil, err
	}

	// The reader pool opens after the writer has switched the file to WAL,
	// so that no reader ever sees a rollback-journal database.
	if s.r, err = sql.Open("sqlite", path+"?"+common+"&_query_only=1"); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("rail: sandbox bank: %w", err)
	}
	s.r.SetMaxOpenConns(4)
	s.r.SetMaxIdleConns(4)
	s.r.SetConnMaxLifetime(0)
	s.r.SetConnMaxIdleTime(0)
	if err := s.r.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("rail: sandbox bank: open read pool: %w", err)
	}
	return s, nil
}

// checkDurability refuses to run the bank on a file that is not in WAL mode
// with synchronous=FULL (a filesystem may refuse WAL): a bank that loses a
// committed transfer in a crash would make the crash tests lie.
func (s *Sandbox) checkDurability(ctx context.Context) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("rail: sandbox bank: open database: %w", err)
	}
	var syncMode int
	if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&syncMode); err != nil {
		return fmt.Errorf("rail: sandbox bank: open database: %w", err)
	}
	if !strings.EqualFold(mode, "wal") || syncMode < 2 {
		return fmt.Errorf("rail: sandbox bank: database must run with journal_mode=WAL and synchronous=FULL, got journal_mode=%s synchronous=%d", mode, syncMode)
	}
	return nil
}

// migrate brings the books to schemaVersion in one IMMEDIATE transaction,
// so that two processes opening an old file at once migrate it once, and a
// failure leaves the file as it was. Version 0 books are rebuilt the way
// SQLite documents for changing a CHECK: create the new table, copy every
// row, drop the old one, rename the new one.
func (s *Sandbox) migrate(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("rail: sandbox bank: migrate: %w", err)
	}
	defer tx.Rollback()

	var version int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("rail: sandbox bank: read schema version: %w", err)
	}
	switch {
	case version == schemaVersion:
		return nil
	case version > schemaVersion:
		return fmt.Errorf("rail: sandbox bank: books have schema version %d, newer than this program's %d", version, schemaVersion)
	}

	var tables int
	if err := tx.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'transfers'`).Scan(&tables); err != nil {
		return fmt.Errorf("rail: sandbox bank: migrate: %w", err)
	}
	if tables == 0 {
		if _, err := tx.ExecContext(ctx, transfersTable("transfers")); err != nil {
			return fmt.Errorf("rail: sandbox bank: create tables: %w", err)
		}
	} else {
		var before, after int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM transfers`).Scan(&before); err != nil {
			return fmt.Errorf("rail: sandbox bank: migrate: %w", err)
		}
		for _, stmt := range []string{
			transfersTable("transfers_v1"),
			`INSERT INTO transfers_v1 (` + transferColumnsV0 + `) SELECT ` + transferColumnsV0 + ` FROM transfers`,
			`DROP TABLE transfers`,
			`ALTER TABLE transfers_v1 RENAME TO transfers`,
		} {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("rail: sandbox bank: migrate books to version %d: %w", schemaVersion, err)
			}
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM transfers`).Scan(&after); err != nil {
			return fmt.Errorf("rail: sandbox bank: migrate: %w", err)
		}
		if after != before {
			return fmt.Errorf("rail: sandbox bank: migrate books: %d transfers before, %d after", before, after)
		}
	}
	if _, err := tx.ExecContext(ctx, submitCallsTable); err != nil {
		return fmt.Errorf("rail: sandbox bank: create tables: %w", err)
	}
	// user_version lives in the file header and is written by this
	// transaction: the new layout and its number commit together.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return fmt.Errorf("rail: sandbox bank: set schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("rail: sandbox bank: migrate: %w", err)
	}
	return nil
}

// Close closes the bank's books. Submits waiting for an answer that will
// never come return an error, as on a dropped connection. The file and
// everything committed to it stay.
func (s *Sandbox) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		var errs []error
		if s.r != nil {
			errs = append(errs, s.r.Close())
		}
		errs = append(errs, s.w.Close())
		err = errors.Join(errs...)
	})
	return err
}

// Capabilities reports that the bank never holds two transfers under one
// reference (DedupsReferences) and that a transfer is visible to Inquire as
// soon as Submit has committed it (PostingDelay 0).
func (s *Sandbox) Capabilities() offramp.RailCapabilities {
	return offramp.RailCapabilities{DedupsReferences: true, PostingDelay: 0}
}

// Submit sends a transfer to the bank. See the package documentation for
// what the magic account endings do. An error means the outcome is unknown.
func (s *Sandbox) Submit(ctx context.Context, t offramp.RailTransfer) (offramp.RailResult, error) {
	if s.hook != nil {
		s.hook(t.Reference)
	}
	// Once the request reaches the bank it is processed to the end: a real
	// bank does not roll a transfer back because its client hung up. The
	// caller's context only decides whether the answer gets back.
	res, b, err := s.accept(context.WithoutCancel(ctx), t)
	if err != nil {
		return offramp.RailResult{}, err
	}
	if s.committed != nil {
		s.committed(t.Reference)
	}
	if b.silent() {
		select {
		case <-ctx.Done():
			return offramp.RailResult{}, fmt.Errorf("rail: sandbox bank did not answer transfer %q: %w", t.Reference, ctx.Err())
		case <-s.closed:
			return offramp.RailResult{}, fmt.Errorf("rail: sandbox bank did not answer transfer %q: %w", t.Reference, errClosed)
		}
	}
	if err := ctx.Err(); err != nil {
		return offramp.RailResult{}, fmt.Errorf("rail: answer from sandbox bank for transfer %q lost: %w", t.Reference, err)
	}
	return res, nil
}

// accept is the bank's side of a Submit: in one transaction it counts the
// call, records the transfer unless the reference is taken, and reads back
// the transfer under the reference (settling it if it is due), so that the
// count, the dedup decision and the answer are consistent.
func (s *Sandbox) accept(ctx context.Context, t offramp.RailTransfer) (offramp.RailResult, behaviour, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return offramp.RailResult{}, "", fmt.Errorf("rail: sandbox bank: %w", err)
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx,
		`INSERT INTO submit_calls (reference, calls) VALUES (?, 1)
		 ON CONFLICT (reference) DO UPDATE SET calls = calls + 1`, t.Reference); err != nil {
		return offramp.RailResult{}, "", fmt.Errorf("rail: sandbox bank: count call: %w", err)
	}

	// Validation comes before the dedup lookup, as in a bank's API: a
	// malformed request is refused without looking at the books, and
	// nothing is recorded for it.
	if t.Reference == "" || !t.Amount.IsPositive() {
		if err := tx.Commit(); err != nil {
			return offramp.RailResult{}, "", fmt.Errorf("rail: sandbox bank: %w", err)
		}
		return offramp.RailResult{Status: offramp.RailRejected, Reason: ReasonInvalidRequest}, behaveOrdinary, nil
	}

	b := behaviourOf(t.AccountNumber)
	status, reason := offramp.RailAccepted, ""
	if b == behaveRejected {
		status, reason = offramp.RailRejected, offramp.ReasonBeneficiaryBankRejected
	}
	// ON CONFLICT DO NOTHING is the dedup: the primary key on reference
	// makes a second transfer impossible, whatever the interleaving.
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO transfers (reference, account_number, ifsc, account_name, amount, currency, method, behaviour, status, reason, accepted_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (reference) DO NOTHING`,
		t.Reference, t.AccountNumber, t.IFSC, t.AccountName, t.Amount.String(), t.Currency, t.Method,
		string(b), string(status), reason, s.clock.Now().UnixNano()); err != nil {
		return offramp.RailResult{}, "", fmt.Errorf("rail: sandbox bank: record transfer: %w", err)
	}

	// Read back whichever transfer holds the reference: the one just
	// recorded or an earlier one, whose behaviour (not this request's
	// account) decides the answer.
	row, err := readTransfer(ctx, tx, t.Reference)
	if err != nil {
		return offramp.RailResult{}, "", err
	}
	if row, err = s.advance(ctx, tx, row); err != nil {
		return offramp.RailResult{}, "", err
	}
	if err := tx.Commit(); err != nil {
		return offramp.RailResult{}, "", fmt.Errorf("rail: sandbox bank: %w", err)
	}
	return row.result(), row.behaviour, nil
}

// Inquire returns the bank's view of the transfer under reference:
// NOT_FOUND (not an error) when it holds none.
func (s *Sandbox) Inquire(ctx context.Context, reference string) (offramp.RailResult, error) {
	row, err := readTransfer(ctx, s.r, reference)
	if errors.Is(err, sql.ErrNoRows) {
		return offramp.RailResult{Status: offramp.RailNotFound}, nil
	}
	if err != nil {
		return offramp.RailResult{}, err
	}
	if s.target(row, s.clock.Now()) == row.status {
		return row.result(), nil
	}

	// Settlement is lazy: the transfer becomes SUCCESS (or REVERSED) when
	// someone first looks after its time has come. Only the writer may do
	// that, and it re-reads the row because another caller may have
	// settled it since.
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return offramp.RailResult{}, fmt.Errorf("rail: sandbox bank: %w", err)
	}
	defer tx.Rollback()
	if row, err = readTransfer(ctx, tx, reference); err != nil {
		return offramp.RailResult{}, err
	}
	if row, err = s.advance(ctx, tx, row); err != nil {
		return offramp.RailResult{}, err
	}
	if err := tx.Commit(); err != nil {
		return offramp.RailResult{}, fmt.Errorf("rail: sandbox bank: %w", err)
	}
	return row.result(), nil
}

// Transfers returns how many transfers the bank holds under reference. The
// primary key makes anything above 1 impossible; tests check it anyway,
// because it is the number a duplicate payment would show up in.
func (s *Sandbox) Transfers(ctx context.Context, reference string) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM transfers WHERE reference = ?`, reference).Scan(&n); err != nil {
		return 0, fmt.Errorf("rail: sandbox bank: %w", err)
	}
	return n, nil
}

// SubmitCalls returns how many Submit calls reached the bank for reference,
// deduplicated and invalid ones included.
func (s *Sandbox) SubmitCalls(ctx context.Context, reference string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT calls FROM submit_calls WHERE reference = ?`, reference).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("rail: sandbox bank: %w", err)
	}
	return n, nil
}

// TotalTransfers returns how many transfers the bank holds.
func (s *Sandbox) TotalTransfers(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM transfers`).Scan(&n); err != nil {
		return 0, fmt.Errorf("rail: sandbox bank: %w", err)
	}
	return n, nil
}

// transferRow is the part of a transfer the bank's answers depend on.
type transferRow struct {
	reference  string
	behaviour  behaviour
	status     offramp.RailStatus
	reason     string
	utr        sql.NullString
	acceptedAt int64
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readTransfer returns sql.ErrNoRows (wrapped) when the bank holds no
// transfer under reference.
func readTransfer(ctx context.Context, q querier, reference string) (transferRow, error) {
	row := transferRow{reference: reference}
	var b, status string
	err := q.QueryRowContext(ctx,
		`SELECT behaviour, status, reason, utr, accepted_at FROM transfers WHERE reference = ?`, reference).
		Scan(&b, &status, &row.reason, &row.utr, &row.acceptedAt)
	if err != nil {
		return transferRow{}, fmt.Errorf("rail: sandbox bank: read transfer: %w", err)
	}
	row.behaviour, row.status = behaviour(b), offramp.RailStatus(status)
	return row, nil
}

// target is the status the transfer has at now on the bank's clock, which
// the books catch up with lazily (see advance). Statuses only move forward:
// ACCEPTED to SUCCESS to REVERSED, and REJECTED stays.
func (s *Sandbox) target(r transferRow, now time.Time) offramp.RailStatus {
	age := now.UnixNano() - r.acceptedAt
	switch r.behaviour {
	case behaveOrdinary, behaveNoAnswer:
		if r.status == offramp.RailAccepted && age >= s.settle.Nanoseconds() {
			return offramp.RailSuccess
		}
	case behavePending:
		if r.status == offramp.RailAccepted && age >= s.pending.Nanoseconds() {
			return offramp.RailSuccess
		}
	case behaveReverses:
		if (r.status == offramp.RailAccepted || r.status == offramp.RailSuccess) &&
			age >= (s.settle+s.pending).Nanoseconds() {
			return offramp.RailReversed
		}
		if r.status == offramp.RailAccepted && age >= s.settle.Nanoseconds() {
			return offramp.RailSuccess
		}
	}
	return r.status
}

func (r transferRow) result() offramp.RailResult {
	switch r.status {
	case offramp.RailSuccess:
		return offramp.RailResult{Status: offramp.RailSuccess, UTR: r.utr.String}
	case offramp.RailRejected:
		return offramp.RailResult{Status: offramp.RailRejected, Reason: r.reason}
	case offramp.RailReversed:
		return offramp.RailResult{Status: offramp.RailReversed, UTR: r.utr.String, Reason: r.reason}
	}
	return offramp.RailResult{Status: r.status}
}

// advance brings the transfer up to its target status inside tx: a due
// transfer becomes SUCCESS with a fresh UTR, and a due reversal turns
// SUCCESS into REVERSED keeping that UTR. A transfer first looked at after
// its reversal time goes through both steps here. The UTR is assigned once
// and read from the books afterwards, so every later answer carries the
// same one.
func (s *Sandbox) advance(ctx context.Context, tx *sql.Tx, row transferRow) (transferRow, error) {
	now := s.clock.Now()
	// Each pass moves the row at least one status forward or returns, so
	// this ends; the bound guards against a bug, not a normal case.
	for range 4 {
		want := s.target(row, now)
		if want == row.status {
			return row, nil
		}
		var err error
		switch row.status {
		case offramp.RailAccepted:
			row, err = s.pay(ctx, tx, row, now)
		case offramp.RailSuccess:
			row, err = s.reverse(ctx, tx, row, now)
		default:
			return row, nil
		}
		if err != nil {
			return transferRow{}, err
		}
	}
	return transferRow{}, fmt.Errorf("rail: sandbox bank: transfer %q does not settle (status %s)", row.reference, row.status)
}

// pay moves an ACCEPTED transfer to SUCCESS with a fresh UTR.
func (s *Sandbox) pay(ctx context.Context, tx *sql.Tx, row transferRow, now time.Time) (transferRow, error) {
	for range maxUTRAttempts {
		utr, err := s.newUTR()
		if err != nil {
			return transferRow{}, fmt.Errorf("rail: sandbox bank: draw UTR: %w", err)
		}
		// The status condition makes this a compare-and-set: it can only
		// move ACCEPTED to SUCCESS, never overwrite an assigned UTR.
		res, err := tx.ExecContext(ctx,
			`UPDATE transfers SET status = 'SUCCESS', utr = ?, settled_at = ?
			 WHERE reference = ? AND status = 'ACCEPTED'`, utr, now.UnixNano(), row.reference)
		if isUniqueViolation(err) {
			// Another transfer already has this UTR. A failed statement
			// leaves the transaction usable in SQLite, so draw again.
			continue
		}
		if err != nil {
			return transferRow{}, fmt.Errorf("rail: sandbox bank: settle transfer: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return transferRow{}, fmt.Errorf("rail: sandbox bank: settle transfer: %w", err)
		} else if n == 0 {
			// Settled meanwhile (another process on the file): keep its UTR.
			return readTransfer(ctx, tx, row.reference)
		}
		row.status, row.utr = offramp.RailSuccess, sql.NullString{String: utr, Valid: true}
		return row, nil
	}
	return transferRow{}, fmt.Errorf("rail: sandbox bank: settle transfer %q: no unique UTR after %d attempts", row.reference, maxUTRAttempts)
}

// reverse moves a SUCCESS transfer to REVERSED, keeping its UTR.
func (s *Sandbox) reverse(ctx context.Context, tx *sql.Tx, row transferRow, now time.Time) (transferRow, error) {
	res, err := tx.ExecContext(ctx,
		`UPDATE transfers SET status = 'REVERSED', reason = ?, reversed_at = ?
		 WHERE reference = ? AND status = 'SUCCESS'`, ReasonAccountClosed, now.UnixNano(), row.reference)
	if err != nil {
		return transferRow{}, fmt.Errorf("rail: sandbox bank: reverse transfer: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return transferRow{}, fmt.Errorf("rail: sandbox bank: reverse transfer: %w", err)
	} else if n == 0 {
		return readTransfer(ctx, tx, row.reference)
	}
	row.status, row.reason = offramp.RailReversed, ReasonAccountClosed
	return row, nil
}

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

var utrSpace = big.NewInt(1_000_000_000_000)

// randomUTR draws 12 decimal digits, the shape of an IMPS RRN. crypto/rand
// rather than math/rand so that UTRs do not repeat across processes that
// start with the same seed; uniqueness is still enforced by the books.
func randomUTR() (string, error) {
	n, err := rand.Int(rand.Reader, utrSpace)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%012d", n), nil
}
