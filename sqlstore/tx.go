package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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
	// retryErr records the first failure after which the whole Update must
	// run again (errRetry); the transaction is aborted by then.
	retryErr error
	// unchained is set by AppendAudit on PostgreSQL: the entries are
	// committed unchained, and the Update chains them after its commit
	// (only then: an extra transaction after every Update would be waste).
	unchained bool
}

var _ offramp.Tx = (*tx)(nil)

// conn returns the querier, beginning a lazy transaction as SERIALIZABLE.
func (t *tx) conn(ctx context.Context) (querier, error) {
	if t.q == nil {
		return t.begin(ctx, sql.LevelSerializable)
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
			t.retryErr = m
		}
	}
	return m
}

func (t *tx) exec(ctx context.Context, op, query string, args ...any) (sql.Result, error) {
	q, err := t.conn(ctx)
	if err != nil {
		return nil, err
	}
	res, err := q.ExecContext(ctx, t.s.d.rebind(query), args...)
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
	rows, err := q.QueryContext(ctx, t.s.d.rebind(query), args...)
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
	return q.QueryRowContext(ctx, t.s.d.rebind(query), args...)
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

// pageArgs validates a page and returns LIMIT and OFFSET.
func pageArgs(p offramp.Page) (limit, offset int, err error) {
	if p.Size < 1 {
		return 0, 0, offramp.Errorf(offramp.CodeInvalid, "page size must be at least 1")
	}
	if p.Number < 1 {
		p.Number = 1
	}
	return p.Size, p.Offset(), nil
}

func orNow(v time.Time, now func() time.Time) time.Time {
	if v.IsZero() {
		return now()
	}
	return normTime(v)
}
