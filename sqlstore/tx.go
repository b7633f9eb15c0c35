package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// querier is what tx needs from *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx implements offramp.Tx. A View gets one too (as a ReadTx); its
// connection is query_only (SQLite) or its transaction READ ONLY
// (PostgreSQL), so the write methods fail there.
type tx struct {
	s *Store
	q querier

	// lazy is set, and q nil, for an Update on an engine with concurrent
	// writers until the first statement: the transaction begins then (see
	// begin), so the first call can choose its isolation level.
	lazy  *sql.DB
	sqltx *sql.Tx
	// level is the isolation a lazy transaction begins at: SERIALIZABLE
	// for Update, READ COMMITTED for UpdateRowLocked.
	level sql.IsolationLevel
	// retryErr records the first failure after which the whole Update must
	// run again (errRetry); the transaction is aborted by then.
	retryErr   error
	retryCause string // its kind, for the retries metric
	// unchained is set by AppendAudit on PostgreSQL: the entries are
	// committed unchained, and the Update chains them after its commit
	// (only then: an extra transaction after every Update would be waste).
	unchained bool
	// detached is set for a member of a SQLite group commit: its
	// statements ignore the caller's cancellation, because SQLite answers
	// an interrupted write by rolling back the whole shared transaction.
	detached bool
}

var _ offramp.Tx = (*tx)(nil)

// stmtCtx is the context a statement runs with: see detached.
func (t *tx) stmtCtx(ctx context.Context) context.Context {
	if t.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// conn returns the querier, beginning a lazy transaction at t.level.
func (t *tx) conn(ctx context.Context) (querier, error) {
	if t.detached {
		// A group member's statements ignore cancellation (see detached),
		// so its own cancellation is honoured here, between statements:
		// the member fails and its savepoint alone is rolled back.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if t.q == nil {
		return t.begin(ctx, t.level)
	}
	return t.q, nil
}

// begin starts a lazy transaction at the given isolation level, if it has
// not begun yet. Updates on PostgreSQL are SERIALIZABLE, so that the
// service's read-check-write transactions stay correct with several
// server processes; ClaimJobs alone asks for READ COMMITTED when it is the
// first call (see there).
func (t *tx) begin(ctx context.Context, level sql.IsolationLevel) (querier, error) {
	if t.q != nil {
		return t.q, nil
	}
	if t.lazy == nil {
		return nil, fmt.Errorf("sqlstore: transaction without a connection")
	}
	sqltx, err := t.lazy.BeginTx(ctx, &sql.TxOptions{Isolation: level})
	if err != nil {
		return nil, t.mapErr(ctx, "begin", err)
	}
	t.sqltx, t.q = sqltx, sqltx
	return sqltx, nil
}

// mapErr is Store.mapErr, recording a failure that makes the Update run
// again.
func (t *tx) mapErr(ctx context.Context, op string, err error) error {
	m := t.s.mapErr(ctx, op, err)
	if t.lazy != nil && t.retryErr == nil && err != nil && ctx.Err() == nil {
		if kind, _ := t.s.d.classify(err); kind == errRetry {
			t.retryErr, t.retryCause = m, retryCause(err)
		}
	}
	return m
}

func (t *tx) exec(ctx context.Context, op, query string, args ...any) (sql.Result, error) {
	q, err := t.conn(ctx)
	if err != nil {
		return nil, err
	}
	res, err := q.ExecContext(t.stmtCtx(ctx), t.s.d.rebind(query), t.bindArgs(args)...)
	if err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	return res, nil
}

// execAffected runs a write and reports how many rows it changed.
func (t *tx) execAffected(ctx context.Context, op, query string, args ...any) (int64, error) {
	res, err := t.exec(ctx, op, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, t.mapErr(ctx, op, err)
	}
	return n, nil
}

func (t *tx) query(ctx context.Context, op, query string, args ...any) (*sql.Rows, error) {
	q, err := t.conn(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(t.stmtCtx(ctx), t.s.d.rebind(query), t.bindArgs(args)...)
	if err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	return rows, nil
}

// queryRow runs a single-row query; its error shows at Scan, where callers
// pass it through mapErr.
func (t *tx) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	q, err := t.conn(ctx)
	if err != nil {
		return errRow{err}
	}
	return q.QueryRowContext(t.stmtCtx(ctx), t.s.d.rebind(query), t.bindArgs(args)...)
}

// bindArgs is the dialect's adaptation of args (see dialect.args).
func (t *tx) bindArgs(args []any) []any {
	t.s.d.args(args)
	return args
}

// errRow is a row that failed before the query ran.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// scanOne scans a single-row query; no row is offramp.ErrNotFound.
func (t *tx) scanOne(ctx context.Context, op, query string, args []any, dest ...any) error {
	if err := t.queryRow(ctx, query, args...).Scan(dest...); err != nil {
		return t.mapErr(ctx, op, err)
	}
	return nil
}

func (t *tx) count(ctx context.Context, op, query string, args ...any) (int, error) {
	var n int
	err := t.scanOne(ctx, op, query, args, &n)
	return n, err
}

// now is the clock's time in the stored precision.
func (t *tx) now() time.Time { return normTime(t.s.clock.Now()) }

// ts encodes a time argument.
func (t *tx) ts(v time.Time) any { return t.s.d.timeArg(normTime(v)) }

func normTime(v time.Time) time.Time { return v.UTC().Truncate(time.Microsecond) }

// aad names where a sealed value lives. Binding a ciphertext to its table,
// column and row makes a ciphertext moved anywhere else undecryptable.
func aad(table, column string, id uuid.UUID) string {
	return table + "." + column + ":" + id.String()
}

func (t *tx) seal(table, column string, id uuid.UUID, plaintext string) (string, error) {
	ct, err := t.s.v.Seal(plaintext, aad(table, column, id))
	if err != nil {
		return "", fmt.Errorf("sqlstore: seal %s.%s: %w", table, column, err)
	}
	return ct, nil
}

func (t *tx) open(table, column string, id uuid.UUID, ciphertext string) (string, error) {
	pt, err := t.s.v.Open(ciphertext, aad(table, column, id))
	if err != nil {
		return "", fmt.Errorf("sqlstore: decrypt %s.%s of row %s: %w", table, column, id, err)
	}
	return pt, nil
}

// sealer collects several seals or opens of one row, keeping the first
// error, so row mapping code stays linear.
type sealer struct {
	t     *tx
	table string
	id    uuid.UUID
	err   error
}

func (s *sealer) seal(column, plaintext string) string {
	if s.err != nil {
		return ""
	}
	ct, err := s.t.seal(s.table, column, s.id, plaintext)
	s.err = err
	return ct
}

func (s *sealer) open(column, ciphertext string) string {
	if s.err != nil {
		return ""
	}
	pt, err := s.t.open(s.table, column, s.id, ciphertext)
	s.err = err
	return pt
}

// blindIndex is the lookup value for an encrypted column; NULL for an empty
// value, which unique indexes then ignore.
func (t *tx) blindIndex(kind, value string) any {
	if value == "" {
		return nil
	}
	return t.s.v.BlindIndex(kind, value)
}

// timeCol scans a stored time: text in SQLite, a time.Time from drivers
// with a native timestamp type.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case time.Time:
		*c.t = normTime(v)
	case string:
		return c.parse(v)
	case []byte:
		return c.parse(string(v))
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
	}
	return nil
}

func (c timeCol) parse(s string) error {
	v, err := time.Parse(sqliteTimeLayout, s)
	if err != nil {
		// Tolerate other RFC 3339 forms, e.g. written by hand in a shell.
		v, err = time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("sqlstore: bad stored time %q", s)
		}
	}
	*c.t = normTime(v)
	return nil
}

// encodeMap stores a map as a JSON object; nil and empty become "{}".
func encodeMap[V any](m map[string]V) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encode map: %w", err)
	}
	return string(b), nil
}

// decodeMap reads encodeMap's output; an empty object reads back as nil.
func decodeMap[V any](s string) (map[string]V, error) {
	if s == "" || s == "{}" || s == "null" {
		return nil, nil
	}
	var m map[string]V
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("sqlstore: decode stored map: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// Lists (ListPayouts, ListCustomers, ListDeliveries, ListBankAccounts)
// cost O(page), not O(history):
//
//   - The count of an unfiltered list is kept, not counted: list_counts
//     holds it per (organization, list) spread over buckets, and triggers
//     of migration 00011 add to it in the transaction of every insert
//     (rows of these tables are never deleted). On PostgreSQL the bucket
//     is a byte of the new row's id, so concurrent SERIALIZABLE inserts of
//     one organization update different rows instead of one hot counter,
//     which would make them abort each other; the count is the SUM over
//     at most 32 rows.
//   - The count of a filtered list (a status, customer or date range of
//     payouts, a state or start of deliveries, a customer's bank accounts)
//     would cost O(matching rows) exactly. It is counted up to
//     listCountCap+1 rows through the filter's index and stops there: up
//     to the cap it is exact, above it the answer is the cap, a lower
//     bound. Callers that need more must not rely on it.
//   - A page with a cursor is read by keyset from its boundary row's
//     (created_at, id): WHERE (created_at, id) < (?, ?) ORDER BY
//     created_at DESC, id DESC LIMIT size+1 (> and ascending for a
//     previous page), a range of an index ending in (created_at, id), so
//     O(page) at any depth. A page by number alone (a client jumping to
//     page N) skips its offset through the same index: O(offset).
//   - A page by number whose offset is at or past an exact count is empty
//     without running the list query; Page.Offset never overflows.

// listCountCap is how many matching rows the count of a filtered list
// counts at most; above it the count answered is the cap, a lower bound.
// A variable so that tests can lower it; nothing else writes it.
var listCountCap = 10000

// The lists whose counts list_counts keeps (its list column).
const (
	listPayouts    = "payouts"
	listCustomers  = "customers"
	listDeliveries = "deliveries"
)

// pageQuery is a validated page, for a list query ordered by (created_at,
// id) descending.
type pageQuery struct {
	p      offramp.Page
	limit  int // Size, plus one with Peek
	offset int // 0 with a cursor
}

// pageArgs validates a page.
func pageArgs(p offramp.Page) (pageQuery, error) {
	if p.Size < 1 {
		return pageQuery{}, offramp.Errorf(offramp.CodeInvalid, "page size must be at least 1")
	}
	q := pageQuery{p: p, limit: p.Size}
	if p.Peek && p.Size < math.MaxInt {
		q.limit++
	}
	if p.Cursor == nil {
		q.offset = p.Offset()
	}
	return q, nil
}

// pastEnd tells that a page by number starts at or past the end of a list
// whose count is exact: it is empty, and the list query need not run.
func (q pageQuery) pastEnd(total int, exact bool) bool {
	return q.p.Cursor == nil && exact && q.offset >= total
}

// where adds to a list query's condition the page's keyset condition on
// the columns created and id, and the list's bounds on created: from
// (inclusive) and to (exclusive), zero for none. Of a bound and the
// keyset condition on the same side only the tighter is written, as it
// implies the other: the query then has one range per side, which both
// engines read as one index range.
func (q pageQuery) where(t *tx, where string, args []any, created, id string, from, to time.Time) (string, []any) {
	args = slices.Clip(args)
	keyset := func(op string, c *offramp.PageCursor) {
		where += ` AND (` + created + `, ` + id + `) ` + op + ` (?, ?)`
		args = append(args, t.ts(c.CreatedAt), c.ID)
	}
	if !from.IsZero() {
		from = ceilMicro(from)
	}
	if !to.IsZero() {
		to = ceilMicro(to)
	}
	// Otherwise the bound is the tighter one and the keyset condition is
	// left out: created >= from > at, or created < to <= at.
	if c := q.p.Cursor; c != nil {
		at := normTime(c.CreatedAt)
		if c.Before {
			// (created, id) > (at, id) implies created >= at >= from.
			if from.IsZero() || !at.Before(from) {
				keyset(">", c)
				from = time.Time{}
			}
		} else {
			// (created, id) < (at, id) implies created <= at < to.
			if to.IsZero() || at.Before(to) {
				keyset("<", c)
				to = time.Time{}
			}
		}
	}
	// Stored times are whole microseconds, so for a bound with a finer
	// fraction "created >= from" (or "< to") holds exactly when it does
	// against the bound rounded up to the next microsecond.
	if !from.IsZero() {
		where, args = where+` AND `+created+` >= ?`, append(args, t.ts(from))
	}
	if !to.IsZero() {
		where, args = where+` AND `+created+` < ?`, append(args, t.ts(to))
	}
	return where, args
}

// tail ends a list query: its order, (created, id) descending (ascending
// from the key for a previous page), LIMIT and OFFSET.
func (q pageQuery) tail(args []any, created, id string) (string, []any) {
	dir := " DESC"
	if q.p.Cursor != nil && q.p.Cursor.Before {
		dir = " ASC"
	}
	return ` ORDER BY ` + created + dir + `, ` + id + dir + ` LIMIT ? OFFSET ?`,
		append(slices.Clip(args), q.limit, q.offset)
}

// pageRows puts the rows a list query read for q in list order, newest
// first, with the Peek row (if read) last. A previous page was read
// ascending from its key: its page rows are reversed in place.
func pageRows[T any](q pageQuery, rows []T) []T {
	if c := q.p.Cursor; c != nil && c.Before {
		slices.Reverse(rows[:min(len(rows), q.p.Size)])
	}
	return rows
}

// listCount is the maintained count of an unfiltered list: the sum of its
// buckets in list_counts.
func (t *tx) listCount(ctx context.Context, op string, orgID uuid.UUID, list string) (int, error) {
	return t.count(ctx, op, `SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM list_counts
		WHERE org_id = ? AND list = ?`, orgID, list)
}

// cappedCount counts the rows of from (a FROM clause with its WHERE) up to
// listCountCap. Up to the cap the count is exact; above it the count is
// the cap and exact is false.
func (t *tx) cappedCount(ctx context.Context, op, from string, args []any) (n int, exact bool, err error) {
	limit := listCountCap
	n, err = t.count(ctx, op, `SELECT COUNT(*) FROM (SELECT 1 FROM `+from+` LIMIT ?) capped`,
		append(slices.Clip(args), limit+1)...)
	if err != nil {
		return 0, false, err
	}
	if n > limit {
		return limit, false, nil
	}
	return n, true, nil
}

func orNow(v time.Time, now func() time.Time) time.Time {
	if v.IsZero() {
		return now()
	}
	return normTime(v)
}
