package sqlstore

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is everything that differs between the SQL engines Offramp runs
// on: SQLite (sqliteDialect) and PostgreSQL over pgx (postgresDialect, in
// postgres.go). Queries are written once, with ? placeholders and SQL that
// SQLite 3.35+ and PostgreSQL 15 both accept (ON CONFLICT ... DO
// NOTHING/UPDATE, RETURNING, partial indexes, LIMIT/OFFSET, COALESCE;
// booleans, times and amounts only ever compared with bound arguments,
// never with literals); the dialect adapts the rest. Each engine has its
// migrations, numbered alike, under migrations/<engine>.
type dialect interface {
	// gooseDialect and migrationsDir select the embedded migrations.
	gooseDialect() goose.Dialect
	migrationsDir() string

	// readTx is how View begins. A View must be one snapshot: SQLite's
	// deferred read transaction is; PostgreSQL needs REPEATABLE READ.
	readTx() *sql.TxOptions

	// rebind turns ? placeholders into the engine's style ($1, $2, ...).
	rebind(query string) string

	// args adapts a statement's arguments, in place, to what the driver
	// encodes best.
	args(args []any)

	// timeArg encodes a time for a query argument. Times are always UTC and
	// truncated to microseconds before they get here.
	timeArg(t time.Time) any

	// skipLocked ends the SELECT that locks the jobs a claim takes, whose
	// FROM names the jobs table as alias. PostgreSQL needs FOR UPDATE OF
	// alias SKIP LOCKED so that concurrent claimers in different
	// transactions take different rows; SQLite has a single writer, so the
	// claiming transaction already excludes every other one.
	skipLocked(alias string) string

	// journalSeqGenerated tells that the engine numbers journals itself
	// (an identity column) instead of AppendJournal reading MAX(seq) + 1,
	// which on an engine with concurrent writers would make every two
	// transactions that write a journal conflict.
	journalSeqGenerated() bool

	// classify tells constraint violations and transient conditions apart.
	// For a unique violation, target is "table.column" of the column that
	// distinguishes the index (the last one), e.g. "customers.email"; for a
	// CHECK violation it is the constraint's name, e.g.
	// "payouts_status_phase_check" (migrations name every CHECK alike on
	// both engines).
	classify(err error) (kind errKind, target string)

	// redact strips from a driver error what may quote stored values, before
	// it is wrapped into an error a caller sees.
	redact(err error) error
}

type errKind int

const (
	errOther errKind = iota
	errUnique
	errForeignKey
	// errCheck: a CHECK constraint refused the row. The schema's CHECKs
	// encode invariants the service keeps, so this is a bug, never a
	// caller's mistake.
	errCheck
	errBusy
	errInterrupted
	// errRetry: the transaction lost a race with a concurrent one
	// (serialization failure, deadlock, a numbering index taken) and running
	// it again from the start will do. Only engines with concurrent writers
	// report it.
	errRetry
)

type sqliteDialect struct{}

func (sqliteDialect) gooseDialect() goose.Dialect { return goose.DialectSQLite3 }
func (sqliteDialect) migrationsDir() string       { return "migrations/sqlite" }
func (sqliteDialect) rebind(q string) string      { return q }
func (sqliteDialect) args([]any)                  {}
func (sqliteDialect) readTx() *sql.TxOptions      { return &sql.TxOptions{ReadOnly: true} }
func (sqliteDialect) skipLocked(string) string    { return "" }
func (sqliteDialect) journalSeqGenerated() bool   { return false }
func (sqliteDialect) redact(err error) error      { return err }

// sqliteTimeLayout is fixed width, so that text comparison (run_at <= ?) is
// time order, and readable in the sqlite3 shell. The trailing Z is literal:
// every stored time is UTC.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

func (sqliteDialect) timeArg(t time.Time) any { return t.Format(sqliteTimeLayout) }

func (sqliteDialect) classify(err error) (errKind, string) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return errOther, ""
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return errUnique, uniqueTarget(se.Error())
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return errForeignKey, ""
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		return errCheck, checkTarget(se.Error())
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return errBusy, ""
	case sqlite3.SQLITE_INTERRUPT:
		return errInterrupted, ""
	}
	return errOther, ""
}

// uniqueTarget extracts the last column from SQLite's message, e.g.
// "constraint failed: UNIQUE constraint failed: customers.org_id,
// customers.email (2067)" gives "customers.email".
func uniqueTarget(msg string) string {
	const marker = "UNIQUE constraint failed: "
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return ""
	}
	cols := msg[i+len(marker):]
	if j := strings.LastIndex(cols, " ("); j >= 0 {
		cols = cols[:j] // the result code
	}
	if j := strings.LastIndex(cols, ", "); j >= 0 {
		cols = cols[j+2:]
	}
	return strings.TrimSpace(cols)
}

// checkTarget extracts the constraint name from SQLite's message, e.g.
// "constraint failed: CHECK constraint failed: payouts_status_check (275)"
// gives "payouts_status_check". An unnamed CHECK gives its expression.
func checkTarget(msg string) string {
	const marker = "CHECK constraint failed: "
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return ""
	}
	name := msg[i+len(marker):]
	if j := strings.LastIndex(name, " ("); j >= 0 {
		name = name[:j] // the result code
	}
	return strings.TrimSpace(name)
}

// rebindDollar rewrites ? placeholders as $1, $2, ... outside quoted
// strings and identifiers; it is the rebind of PostgreSQL-style engines.
func rebindDollar(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
