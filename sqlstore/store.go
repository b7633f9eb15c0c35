// Package sqlstore implements offramp.Store over database/sql, on SQLite
// (modernc.org/sqlite, no cgo; the embedded default) and PostgreSQL (pgx,
// for production and for several server processes on one database). The
// engine specifics live behind a small dialect; both run the same queries
// and parallel migrations numbered alike, and pass one conformance suite
// (storetest).
//
// SQLite: WAL mode with synchronous=FULL, so a commit that returned is on
// disk. All writes go through Update, which runs them one at a time on a
// single write connection (BEGIN IMMEDIATE); Updates that queue behind one
// another share one transaction and one fsync (group commit, a savepoint
// each; groupcommit.go), and none returns before that fsync. Reads run in
// View on a separate pool of read-only connections and see a consistent
// snapshot without blocking the writer. Every connection keeps its
// prepared statements (package stmtcache); on PostgreSQL pgx does the same
// (its default statement cache).
//
// PostgreSQL (Open with a postgres:// or postgresql:// URL): one pool of
// connections; a View is a READ ONLY, REPEATABLE READ transaction (one
// snapshot). Writers in this and other processes run concurrently, so an
// Update is a SERIALIZABLE transaction: a read-check-write in fn (a limit
// counter, a sequence number, a quotation linked once) is correct across
// processes as if Updates ran one at a time. When PostgreSQL aborts one to
// keep that promise (serialization failure, deadlock, or two writers
// taking the same event sequence number), Update rolls back and runs fn
// again in a new transaction, up to 10 times with a short jittered
// back-off; only after the last does the caller get a CodeUnavailable
// error ("the database is busy; try again"). Consequences for fn:
//   - fn may run more than once per Update. It must be pure database logic:
//     no side effects outside the Tx (no calls to a bank, no sends, no
//     changes to variables it does not reset), and it must use only values
//     read in the current run. Values it assigns for the caller are those
//     of the last run.
//   - After a Tx method returns an error, the transaction is aborted on
//     PostgreSQL (unlike SQLite, where a failed statement leaves the
//     transaction usable): fn must return, not carry on with other writes.
//     Errors that need no statement to fail (ErrNotFound, ErrStale,
//     validation) leave the transaction usable on both engines.
//   - An Update whose first call is ClaimJobs runs at READ COMMITTED, the
//     level FOR UPDATE SKIP LOCKED is designed for: concurrent claimers
//     then take different jobs without failing each other. Keep such an
//     Update to claiming.
//   - Store's writer semaphore is SQLite's; on PostgreSQL, Updates of one
//     process run in parallel, up to the pool size (16 connections).
//
// Conventions callers can rely on, on both engines:
//   - Times are stored in UTC, truncated to whole microseconds (the
//     precision PostgreSQL keeps), and read back as UTC. A time read back
//     equals the written time after t.UTC().Truncate(time.Microsecond).
//   - Zero timestamps on writes (CreatedAt, UpdatedAt, SetBankStatus's at)
//     are filled from the Options clock; RunAt and expiry times are stored
//     as given. Optional times (a payout's SubmittedAt and PaidAt, a
//     delivery's next attempt and delivery) store zero as NULL and read
//     back zero.
//   - The schema encodes the payout invariants as named CHECK constraints
//     (migration 00004: a phase belongs to its wire status, SUCCESS has a
//     UTR and a payment time, FAILED a reason, IN_REVIEW a review reason,
//     ...). A write that breaks one fails with an internal error (not an
//     *offramp.Error) that names the constraint and quotes no value: it is
//     a bug in the caller, never a client's mistake.
//   - Empty maps (KYC data, event metadata, idempotency error fields) and
//     empty string lists (EDD documents) read back as nil; map values
//     round-trip through encoding/json, so numbers come back as float64.
//   - Amounts (decimal.Decimal) are stored as exact decimals (text in
//     SQLite, numeric in PostgreSQL), never as floating point, and read
//     back Equal to what was written, keeping the digits after the point:
//     4144.60 reads back as 4144.60 (exponent -2). Only a positive exponent
//     normalises (decimal.New(15, 2) reads back as 1500, exponent 0), and
//     the zero Decimal{} reads back as 0. Compare amounts with Equal,
//     never ==.
//   - Lists are newest first (created_at, then id, descending). Journals
//     are the exception: they are walked in creation order, by created_at
//     and then in the order they were appended.
//   - A page of a list (ListPayouts, ListCustomers, ListDeliveries,
//     ListBankAccounts) costs O(page), not O(history): an unfiltered
//     list's count is maintained (table list_counts, kept by triggers in
//     the inserting transaction), a filtered list's is counted up to
//     10,000 rows and reads 10,000, a lower bound, beyond; a page with an
//     offramp.PageCursor is read by keyset, one without skips its offset,
//     and one starting past an exact count is empty without a query. See
//     pageArgs in tx.go.
//   - Secret and personal fields are sealed with package vault, bound to
//     their table, column and row; lookups on them use blind indexes.
//     Neither plaintext nor ciphertext ever appears in an error.
//   - Strings are stored as given; PostgreSQL refuses a NUL character or
//     invalid UTF-8 in text (an error, never a silent change), SQLite does
//     not.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/sqlstore/stmtcache"
	"github.com/offramp/offramp/vault"
)

//go:embed migrations
var migrationsFS embed.FS

// readConns is the size of the read pool. Readers never block the writer
// in WAL mode, so a few suffice; more only add memory.
const readConns = 4

// Options tunes a Store.
type Options struct {
	// Clock fills timestamps the caller left zero. Nil means
	// offramp.SystemClock.
	Clock offramp.Clock
}

// Store is an offramp.Store backed by SQL.
type Store struct {
	d     dialect
	v     *vault.Vault
	clock offramp.Clock

	wdb *sql.DB // exactly one connection: the only writer
	rdb *sql.DB // read-only pool

	// writer is a one-slot semaphore held by the Update whose fn is
	// running (or whose group is committing): the single point every
	// write passes through. Group commit (groupcommit.go) hands it from
	// member to member of one open transaction.
	writer chan struct{}
	// gmu guards waiting and open.
	gmu sync.Mutex
	// waiting counts Updates waiting for the writer.
	waiting int
	// open is the group transaction handed on to the next waiter, if any.
	open *group
	// onWait, if set (tests), runs when an Update starts waiting.
	onWait  func()
	metrics storeMetrics
	closed  atomic.Bool

	// concurrent is set for engines with concurrent writers (PostgreSQL):
	// Update runs updateConcurrent, wdb and rdb are one pool.
	concurrent bool
	// retries counts the Update attempts run again (updateConcurrent), all
	// causes together.
	retries atomic.Int64
	// stmtStats counts prepared-statement cache hits and misses (SQLite;
	// pgx keeps its own per-connection statement cache on PostgreSQL).
	stmtStats *stmtcache.Stats
}

var _ offramp.Store = (*Store)(nil)

// Open connects to the database named by dsn: a postgres:// or
// postgresql:// URL for PostgreSQL (pgx's connection string, e.g.
// postgres://user:pass@host:5432/db?sslmode=require); otherwise a file
// path, a "file:" URI or "sqlite:path" for SQLite. PostgreSQL is pinged,
// so an unreachable server fails here. It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string, v *vault.Vault, opts Options) (*Store, error) {
	if v == nil {
		return nil, errors.New("sqlstore: a vault is required")
	}
	if opts.Clock == nil {
		opts.Clock = offramp.SystemClock{}
	}
	lower := strings.ToLower(dsn)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return openPostgres(ctx, dsn, v, opts)
	}
	return openSQLite(ctx, dsn, v, opts)
}

func openSQLite(ctx context.Context, dsn string, v *vault.Vault, opts Options) (*Store, error) {
	name, err := sqliteName(dsn)
	if err != nil {
		return nil, err
	}
	// Creating the file ourselves gives it (and so its -wal and -shm, which
	// SQLite creates with the database's permissions) mode 0600: it holds
	// personal data even if the sensitive columns are sealed.
	if path := sqlitePath(name); path != "" {
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("sqlstore: create database directory: %w", err)
			}
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open database file: %w", err)
		}
		f.Close()
	}

	// Pragmas go in the DSN so that every connection database/sql opens,
	// including replacements after an error, gets them.
	common := "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"
	wdsn := withParams(name, common+"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	rdsn := withParams(name, common+"&_query_only=1")

	s := &Store{
		d:       sqliteDialect{},
		v:       v,
		clock:   opts.Clock,
		writer:  make(chan struct{}, 1),
		metrics: newStoreMetrics(),
	}
	// Every connection keeps its prepared statements (stmtcache): SQL is
	// parsed and planned once per connection, not once per call.
	wconn := stmtcache.New(&sqlite.Driver{}, wdsn, 0)
	s.stmtStats = wconn.Stats
	s.wdb = sql.OpenDB(wconn)
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)

	// The write connection switches the file to WAL; open it before any
	// reader so that readers never see a rollback-journal database.
	if err := s.checkDurability(ctx); err != nil {
		s.wdb.Close()
		return nil, err
	}

	rconn := stmtcache.New(&sqlite.Driver{}, rdsn, 0)
	rconn.Stats = wconn.Stats
	s.rdb = sql.OpenDB(rconn)
	s.rdb.SetMaxOpenConns(readConns)
	s.rdb.SetMaxIdleConns(readConns)
	s.rdb.SetConnMaxLifetime(0)
	s.rdb.SetConnMaxIdleTime(0)
	if err := s.rdb.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlstore: open read pool: %w", err)
	}
	return s, nil
}

// checkDurability verifies that the write connection really runs in WAL
// mode with synchronous=FULL. A DSN may carry its own pragmas, and a
// filesystem may refuse WAL; either way an acknowledged payout could be
// lost, so Open fails instead.
func (s *Store) checkDurability(ctx context.Context) error {
	var mode string
	if err := s.wdb.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlstore: open database: %w", err)
	}
	var sync int
	if err := s.wdb.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return fmt.Errorf("sqlstore: open database: %w", err)
	}
	if !strings.EqualFold(mode, "wal") || sync < 2 {
		return fmt.Errorf("sqlstore: database must run with journal_mode=WAL and synchronous=FULL, got journal_mode=%s synchronous=%d", mode, sync)
	}
	return nil
}

// sqliteName turns the accepted DSN forms into a name for the driver.
func sqliteName(dsn string) (string, error) {
	name := strings.TrimSpace(dsn)
	if rest, ok := cutPrefixFold(name, "sqlite://"); ok {
		name = rest
	} else if rest, ok := cutPrefixFold(name, "sqlite:"); ok {
		name = rest
	}
	if name == "" {
		return "", &offramp.Error{Code: offramp.CodeInvalid, Message: "the database location is empty; give a SQLite file path"}
	}
	// Each connection to an in-memory database is a separate database, so
	// the read pool would never see what the writer wrote; and memory
	// cannot be durable.
	if name == ":memory:" || strings.HasPrefix(name, "file::memory:") || strings.Contains(name, "mode=memory") {
		return "", &offramp.Error{Code: offramp.CodeInvalid, Message: "an in-memory SQLite database is not supported; give a file path"}
	}
	return name, nil
}

// sqlitePath is the file behind name, or "" when it cannot be told (an
// unusual URI); SQLite then creates the file itself.
func sqlitePath(name string) string {
	if !strings.HasPrefix(name, "file:") {
		path, _, _ := strings.Cut(name, "?")
		return path
	}
	u, err := url.Parse(name)
	if err != nil {
		return ""
	}
	if u.Host != "" && u.Host != "localhost" {
		return ""
	}
	if u.Opaque != "" {
		p, err := url.PathUnescape(u.Opaque)
		if err != nil {
			return ""
		}
		return p
	}
	return u.Path
}

func withParams(name, params string) string {
	if strings.Contains(name, "?") {
		return name + "&" + params
	}
	return name + "?" + params
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// Migrate applies the embedded migrations that have not run yet. On SQLite
// it holds the writer, so it never interleaves with an Update; on
// PostgreSQL it holds a session advisory lock, so that server processes
// started together migrate one after the other. On SQLite the write
// connection has foreign keys on afterwards, whether a migration (some
// rebuild tables with them off) succeeded or failed.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.exclusive(ctx); err != nil {
		return err
	}
	defer s.releaseWriter()
	sub, err := fs.Sub(migrationsFS, s.d.migrationsDir())
	if err != nil {
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	popts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if s.concurrent {
		// Probe every second for up to five minutes.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("sqlstore: migrations: %w", err)
		}
		popts = append(popts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(s.d.gooseDialect(), s.wdb, sub, popts...)
	if err != nil {
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	_, err = p.Up(ctx)
	if !s.concurrent {
		// goose ran on the single write connection. A migration that
		// rebuilds a table (NO TRANSACTION: foreign keys off, BEGIN, ...,
		// COMMIT, foreign keys on) and failed half way leaves that
		// connection inside its transaction with foreign keys off: roll it
		// back and turn them on again, so every later Update has them.
		if ferr := s.restoreWriteConn(context.WithoutCancel(ctx), err != nil); ferr != nil {
			return errors.Join(wrapMigrate(err), ferr)
		}
	}
	if err == nil && s.concurrent {
		// Startup: link audit entries left unchained by a process that
		// stopped between a commit and its chaining (auditchain.go).
		s.chainPending(ctx)
	}
	return wrapMigrate(err)
}

func wrapMigrate(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlstore: migrate: %w", err)
}

// restoreWriteConn makes sure SQLite's write connection is out of any
// transaction (after a failed migration) and enforces foreign keys.
func (s *Store) restoreWriteConn(ctx context.Context, failed bool) error {
	if failed {
		// "no transaction is active" when the failure was outside one.
		s.wdb.ExecContext(ctx, "ROLLBACK")
	}
	if _, err := s.wdb.ExecContext(ctx, "PRAGMA foreign_keys = ON"); err != nil {
		return fmt.Errorf("sqlstore: migrate: enable foreign keys: %w", err)
	}
	var on int
	if err := s.wdb.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil {
		return fmt.Errorf("sqlstore: migrate: check foreign keys: %w", err)
	}
	if on != 1 {
		return errors.New("sqlstore: migrate: foreign keys are off on the write connection")
	}
	return nil
}

// Close closes the database. Updates and Views still running fail.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	var errs []error
	if s.rdb != nil && s.rdb != s.wdb {
		errs = append(errs, s.rdb.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	return errors.Join(errs...)
}

var errClosed = &offramp.Error{Code: offramp.CodeUnavailable, Message: "the store is closed"}

// View runs fn in a read-only transaction on a consistent snapshot.
func (s *Store) View(ctx context.Context, fn func(offramp.ReadTx) error) error {
	if s.closed.Load() {
		return errClosed
	}
	sqltx, err := s.rdb.BeginTx(ctx, s.d.readTx())
	if err != nil {
		return s.mapErr(ctx, "begin read", err)
	}
	// A read transaction has nothing to commit; rolling back just ends the
	// snapshot.
	defer sqltx.Rollback()
	return fn(&tx{s: s, q: sqltx})
}

// Update runs fn in a write transaction and commits if fn returns nil. If
// fn returns an error its work rolls back and the error is returned
// unchanged; if fn panics its work rolls back and the panic continues. fn
// must not call Update (on SQLite, where Updates run one at a time, it
// would wait for itself until ctx ends); it may call View. Update returns
// nil only once the work is durable.
//
// On SQLite concurrent Updates share one transaction and one fsync (group
// commit, see groupcommit.go): fn runs in a savepoint, its statements
// ignore ctx's cancellation once it runs, and if the shared commit fails
// every member gets the error. On PostgreSQL fn may run more than once: see
// the package documentation.
//
// If ctx carries an offramp.SignatureUse not yet recorded, the signature is
// recorded in this transaction first (one commit per API request), and a
// used signature fails the Update with its Replay error.
func (s *Store) Update(ctx context.Context, fn func(offramp.Tx) error) error {
	return s.updateAt(ctx, sql.LevelSerializable, fn)
}

// UpdateRowLocked is Update at READ COMMITTED on PostgreSQL, for
// transactions whose rules are kept by row locks, conditional writes and
// unique indexes (see offramp.Store). On SQLite it is Update: the single
// writer makes every transaction serializable.
func (s *Store) UpdateRowLocked(ctx context.Context, fn func(offramp.Tx) error) error {
	return s.updateAt(ctx, sql.LevelReadCommitted, fn)
}

func (s *Store) updateAt(ctx context.Context, level sql.IsolationLevel, fn func(offramp.Tx) error) error {
	if u := offramp.SignatureUseFrom(ctx); u.Claim() {
		// The request's signature is recorded in its first write: one
		// commit per request (offramp.SignatureUse).
		work := fn
		fn = func(tx offramp.Tx) error {
			fresh, err := tx.UseSignature(ctx, u.Record())
			if err != nil {
				return err
			}
			if !fresh {
				return u.Replay
			}
			return work(tx)
		}
		committed := false
		defer func() { u.Done(committed) }() // also when fn panics
		err := s.update(ctx, level, fn)
		committed = err == nil
		return err
	}
	return s.update(ctx, level, fn)
}

func (s *Store) update(ctx context.Context, level sql.IsolationLevel, fn func(offramp.Tx) error) error {
	if s.concurrent {
		return s.updateConcurrent(ctx, level, fn)
	}
	return s.updateGrouped(ctx, fn)
}

func (s *Store) acquireWriter(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	// Checked first because select picks at random among ready cases.
	if err := ctx.Err(); err != nil {
		return s.mapErr(ctx, "wait for writer", err)
	}
	select {
	case s.writer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return s.mapErr(ctx, "wait for writer", ctx.Err())
	}
}

func (s *Store) releaseWriter() { <-s.writer }
