package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/backoff"
	"github.com/offramp/offramp/vault"
)

// pgConns is the size of the PostgreSQL pool, shared by Views and Updates.
// Concurrency between server processes comes from PostgreSQL itself, not
// from a writer semaphore.
const pgConns = 16

// Update's retry policy on PostgreSQL: fn runs again after a transient
// failure (a serialization failure, a deadlock, a numbering collision)
// for as long as pgRetryBudget allows from the first attempt (and ctx),
// with a full-jitter exponential back-off between attempts (pgBackoff),
// starting at pgBackoffBase and capped at pgBackoffMax. The budget is time,
// not a count: under a burst of conflicting writers each round commits at
// least one of them (a transaction retried after a serialization failure
// cannot fail again on the same committed transaction), so every caller
// gets through given time, and a count small enough to answer fast would
// turn a burst into 503s. The budget stays under the server's write
// timeout, so a request that exhausts it still gets its 503.
const (
	pgRetryBudget = 10 * time.Second
	pgBackoffBase = 2 * time.Millisecond
	pgBackoffMax  = 200 * time.Millisecond
)

// pgBackoff is the wait before running fn again: Offramp's one retry
// policy, with full jitter (anywhere from nothing to twice the nominal
// delay), so that transactions that collided do not collide again.
var pgBackoff = backoff.Policy{Base: pgBackoffBase, Max: pgBackoffMax, Jitter: 1}

func openPostgres(ctx context.Context, dsn string, v *vault.Vault, opts Options) (*Store, error) {
	if _, err := pgconn.ParseConfig(dsn); err != nil {
		// Not wrapped: the parse error may quote the DSN, password included.
		return nil, &offramp.Error{Code: offramp.CodeInvalid, Message: "the PostgreSQL URL is malformed"}
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	db.SetMaxOpenConns(pgConns)
	db.SetMaxIdleConns(pgConns)
	// Recycle connections now and then, so that a pool survives a failover
	// or a server restart without keeping half-dead connections forever.
	db.SetConnMaxLifetime(30 * time.Minute)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{
		metrics:    newStoreMetrics(),
		d:          postgresDialect{},
		v:          v,
		clock:      opts.Clock,
		wdb:        db,
		rdb:        db,
		writer:     make(chan struct{}, 1),
		concurrent: true,
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		if ctx.Err() != nil {
			return nil, s.mapErr(ctx, "connect", err)
		}
		return nil, &offramp.Error{Code: offramp.CodeUnavailable, Message: "cannot connect to PostgreSQL", Err: redactPg(err)}
	}
	return s, nil
}

type postgresDialect struct{}

func (postgresDialect) gooseDialect() goose.Dialect { return goose.DialectPostgres }
func (postgresDialect) migrationsDir() string       { return "migrations/postgres" }

// rebind rewrites a statement once per process: sqlstore's statements are
// constants (or built from a few shapes), so the cache stays small.
func (postgresDialect) rebind(q string) string {
	if r, ok := pgRebound.Load(q); ok {
		return r.(string)
	}
	r := rebindDollar(q)
	pgRebound.Store(q, r)
	return r
}

var pgRebound sync.Map // statement with ? -> with $n

// args passes ids as text. A uuid.UUID is a driver.Valuer that returns its
// text, which pgx puts in a uuid parameter only after failing the binary
// encoding, formatting that error and parsing the text back: that detour
// cost 15 % of the server's CPU under load. pgx sends a string argument as
// text, which PostgreSQL parses into any column type, uuid or text.
func (postgresDialect) args(args []any) {
	for i, a := range args {
		if id, ok := a.(uuid.UUID); ok {
			args[i] = id.String()
		}
	}
}
func (postgresDialect) journalSeqGenerated() bool { return true }

func (postgresDialect) skipLocked(alias string) string {
	return " FOR UPDATE OF " + alias + " SKIP LOCKED"
}

// A View is one snapshot: REPEATABLE READ, read only.
func (postgresDialect) readTx() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
}

// Times are timestamptz, passed natively: PostgreSQL keeps microseconds,
// which is what sqlstore stores anyway.
func (postgresDialect) timeArg(t time.Time) any { return t }

// pgUniqueIndexes maps every unique index and constraint of
// migrations/postgres to "table.column" of its distinguishing (last)
// column: the target SQLite names in its message, so that uniqueField maps
// a violation to the same documented conflict on both engines. Index names
// are the SQLite ones; the others are PostgreSQL's names for PRIMARY KEY
// and UNIQUE (...) constraints. TestPostgresUniqueIndexes checks this
// table against the catalog.
var pgUniqueIndexes = map[string]string{
	"orgs_pkey":                             "orgs.id",
	"api_keys_pkey":                         "api_keys.id",
	"api_keys_api_key_key":                  "api_keys.api_key",
	"customers_pkey":                        "customers.id",
	"customers_org_id_id_key":               "customers.id",
	"customers_org_email_key":               "customers.email",
	"customers_org_phone_key":               "customers.phone",
	"customers_org_client_reference_id_key": "customers.client_reference_id",
	"customer_kyc_pkey":                     "customer_kyc.customer_id",
	"bank_accounts_pkey":                    "bank_accounts.id",
	"bank_accounts_org_account_number_key":  "bank_accounts.account_number_index",
	"bank_accounts_org_vpa_key":             "bank_accounts.vpa_index",
	"bank_accounts_org_customer_id_key":     "bank_accounts.id",
	"bank_accounts_org_id_key":              "bank_accounts.id",
	"rail_accounts_pkey":                    "rail_accounts.bank_id",
	"events_pkey":                           "events.id",
	"events_object_sequence_key":            "events.sequence",
	"jobs_pkey":                             "jobs.id",
	"used_signatures_pkey":                  "used_signatures.signature_hash",
	"quotations_pkey":                       "quotations.id",
	"quotations_org_id_id_key":              "quotations.id",
	"quotations_payout_id_key":              "quotations.payout_id",
	"payouts_pkey":                          "payouts.id",
	"payouts_org_id_id_key":                 "payouts.id",
	"payouts_org_client_reference_id_key":   "payouts.client_reference_id",
	"payouts_rail_reference_key":            "payouts.rail_reference",
	"payouts_org_exchange_order_live_key":   "payouts.exchange_order_id",
	"jobs_kind_ref_key":                     "jobs.ref_id",
	"audit_log_pkey":                        "audit_log.id",
	"audit_log_seq_key":                     "audit_log.seq",
	"operators_pkey":                        "operators.id",
	"operators_email_key":                   "operators.email",
	"operator_sessions_pkey":                "operator_sessions.token_hash",
	"proposals_pkey":                        "proposals.id",
	"limit_usage_pkey":                      "limit_usage.day",
	"edds_pkey":                             "edds.id",
	"idempotency_keys_pkey":                 "idempotency_keys.key",
	"journals_pkey":                         "journals.id",
	"journals_org_id_id_key":                "journals.id",
	"journals_seq_key":                      "journals.seq",
	"postings_pkey":                         "postings.line",
	"webhook_deliveries_pkey":               "webhook_deliveries.event_id",
	"webhook_attempts_pkey":                 "webhook_attempts.number",
	"list_counts_pkey":                      "list_counts.bucket",
}

// numberingTargets are the unique indexes that only number rows (an
// object's event sequence, the journal order). Two transactions that read
// the same "next number" collide on them; running the loser again gives it
// the next one, so on PostgreSQL such a violation is retried, never
// reported as a conflict.
var numberingTargets = map[string]bool{
	"events.sequence": true,
	"journals.seq":    true,
	"audit_log.seq":   true,
}

// PostgreSQL error codes sqlstore tells apart.
const (
	pgUniqueViolation      = "23505"
	pgForeignKeyViolation  = "23503"
	pgCheckViolation       = "23514"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	pgQueryCanceled        = "57014"
	pgAdminShutdown        = "57P01"
	pgCrashShutdown        = "57P02"
	pgCannotConnectNow     = "57P03"
	pgTooManyConnections   = "53300"
	pgFeatureNotSupported  = "0A000"
)

func (postgresDialect) classify(err error) (errKind, string) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		if isConnErr(err) {
			return errBusy, ""
		}
		return errOther, ""
	}
	switch pe.Code {
	case pgUniqueViolation:
		target, ok := pgUniqueIndexes[pe.ConstraintName]
		if !ok {
			target = pe.TableName + "." + pe.ConstraintName
		}
		if numberingTargets[target] {
			return errRetry, target
		}
		return errUnique, target
	case pgForeignKeyViolation:
		return errForeignKey, ""
	case pgCheckViolation:
		return errCheck, pe.ConstraintName
	case pgSerializationFailure, pgDeadlockDetected:
		return errRetry, ""
	case pgQueryCanceled:
		return errInterrupted, ""
	case pgAdminShutdown, pgCrashShutdown, pgCannotConnectNow, pgTooManyConnections:
		return errBusy, ""
	case pgFeatureNotSupported:
		// A migration changed a table under a statement pgx had prepared on
		// this connection; pgx dropped it, and the next run prepares it
		// again.
		if strings.Contains(pe.Message, "cached plan must not change result type") {
			return errRetry, ""
		}
	}
	if len(pe.Code) == 2+3 && pe.Code[:2] == "08" { // connection exception
		return errBusy, ""
	}
	return errOther, ""
}

// isConnErr tells a lost or refused connection: the database is
// unavailable, which is not the request's fault.
func isConnErr(err error) bool {
	var ne net.Error
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, sql.ErrConnDone) ||
		pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}

// redact drops the parts of a server error that may quote values: the
// detail of a unique violation ("Key (org_id, email)=(..., a@b.c)"), hints,
// context and internal queries. The code, message and names stay.
func (postgresDialect) redact(err error) error { return redactPg(err) }

func redactPg(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	return &pgconn.PgError{
		Severity: pe.Severity, SeverityUnlocalized: pe.SeverityUnlocalized, Code: pe.Code, Message: pe.Message,
		SchemaName: pe.SchemaName, TableName: pe.TableName, ColumnName: pe.ColumnName,
		DataTypeName: pe.DataTypeName, ConstraintName: pe.ConstraintName,
	}
}

// updateConcurrent is Update on an engine with concurrent writers. fn runs
// in a transaction at level (SERIALIZABLE for Update, READ COMMITTED for
// UpdateRowLocked; see tx.begin for ClaimJobs), and runs again, in a new
// transaction, when a statement or the commit failed in a way a new attempt
// can cure: a serialization failure, a deadlock, or two writers taking the
// same number from a numbering index. Attempts go on for pgRetryBudget;
// after that the caller gets the failure as a CodeUnavailable error.
func (s *Store) updateConcurrent(ctx context.Context, level sql.IsolationLevel, fn func(offramp.Tx) error) error {
	s.metrics.updates.Inc()
	start := time.Now()
	for attempt := 1; ; attempt++ {
		if s.closed.Load() {
			return errClosed
		}
		if err := ctx.Err(); err != nil {
			return s.mapErr(ctx, "begin", err)
		}
		cause, err := s.attemptUpdate(ctx, level, fn)
		if cause == "" {
			return err
		}
		wait, _ := pgBackoff.Delay(attempt)
		if time.Since(start)+wait > pgRetryBudget {
			s.metrics.exhausted.Inc()
			return err
		}
		s.retries.Add(1)
		s.metrics.retries.WithLabelValues(cause).Inc()
		if err := sleepCtx(ctx, wait); err != nil {
			return s.mapErr(ctx, "retry", err)
		}
	}
}

// attemptUpdate runs fn once; a cause (see retryCause) reports that the
// transaction failed in a way that running fn again may cure.
func (s *Store) attemptUpdate(ctx context.Context, level sql.IsolationLevel, fn func(offramp.Tx) error) (cause string, err error) {
	t := &tx{s: s, lazy: s.wdb, level: level}
	done := false
	// Also covers a panic in fn: the connection goes back clean.
	defer func() {
		if !done && t.sqltx != nil {
			t.sqltx.Rollback()
		}
	}()
	ferr := fn(t)
	if t.retryErr != nil {
		// Whatever fn made of the failure (it may have wrapped or even
		// dropped it), the transaction is aborted and fn must run again.
		if ferr == nil {
			ferr = t.retryErr
		}
		return t.retryCause, ferr
	}
	if ferr != nil {
		return "", ferr
	}
	done = true
	if t.sqltx == nil {
		return "", nil // fn ran no statement
	}
	if err := t.sqltx.Commit(); err != nil {
		// A commit that failed on a serialization check rolled back; one
		// whose connection broke has an unknown outcome and is not retried.
		m := t.mapErr(ctx, "commit", err)
		return t.retryCause, m
	}
	// The entries fn appended are committed unchained (see AppendAudit):
	// link them now, outside the SERIALIZABLE transaction, so that
	// appenders never conflict on the chain head.
	if t.unchained {
		s.chainPending(ctx)
	}
	return "", nil
}

// retryCause names, for the retries metric, the transient failure err is:
// "serialization" (40001), "deadlock" (40P01), "numbering" (two
// transactions took the same next number of a numbering index) or
// "replan" (a statement prepared before a migration).
func retryCause(err error) string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return "other"
	}
	switch pe.Code {
	case pgSerializationFailure:
		return "serialization"
	case pgDeadlockDetected:
		return "deadlock"
	case pgUniqueViolation:
		return "numbering"
	case pgFeatureNotSupported:
		return "replan"
	}
	return "other"
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
