package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// checkDay refuses a day that is not "2006-01-02": a malformed one would
// silently read as an unused day and let a limit through.
func checkDay(op, day string) error {
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return fmt.Errorf("sqlstore: %s: day must be YYYY-MM-DD", op)
	}
	return nil
}

// LimitUsage reads the counter; no row is zero.
func (t *tx) LimitUsage(ctx context.Context, orgID, customerID uuid.UUID, day string) (decimal.Decimal, error) {
	const op = "get limit usage"
	if err := checkDay(op, day); err != nil {
		return decimal.Decimal{}, err
	}
	used, _, err := t.limitUsage(ctx, op, orgID, customerID, day)
	return used, err
}

// LockLimitUsage reads the counter and holds it until the transaction
// ends. SQLite's single writer holds it anyway. On PostgreSQL the row is
// locked FOR UPDATE, created first (as zero, which reads the same as no
// row) when the customer has not used the day yet, so that two
// transactions adding to one customer's day queue on the row at any
// isolation level: under READ COMMITTED the second reads the first's sum
// once it commits, and its compare-and-set in AddLimitUsage holds.
func (t *tx) LockLimitUsage(ctx context.Context, orgID, customerID uuid.UUID, day string) (decimal.Decimal, error) {
	const op = "lock limit usage"
	if err := checkDay(op, day); err != nil {
		return decimal.Decimal{}, err
	}
	if !t.s.concurrent {
		used, _, err := t.limitUsage(ctx, op, orgID, customerID, day)
		return used, err
	}
	const lock = `SELECT used FROM limit_usage WHERE org_id = ? AND customer_id = ? AND day = ? FOR UPDATE`
	var text string
	err := t.scanOne(ctx, op, lock, []any{orgID, customerID, day}, &text)
	if errors.Is(err, offramp.ErrNotFound) {
		// A concurrent creator makes this INSERT wait for its outcome;
		// either way the row exists afterwards, and the second read locks it.
		if _, err = t.exec(ctx, op, `INSERT INTO limit_usage (org_id, customer_id, day, used, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (org_id, customer_id, day) DO NOTHING`,
			orgID, customerID, day, "0", t.ts(t.now())); err != nil {
			return decimal.Decimal{}, err
		}
		err = t.scanOne(ctx, op, lock, []any{orgID, customerID, day}, &text)
	}
	if err != nil {
		return decimal.Decimal{}, err
	}
	var used decimal.Decimal
	if err := (decCol{&used}).Scan(text); err != nil {
		return decimal.Decimal{}, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return used, nil
}

// limitUsage returns the counter and its stored text, "" when there is no
// row.
func (t *tx) limitUsage(ctx context.Context, op string, orgID, customerID uuid.UUID, day string) (decimal.Decimal, string, error) {
	var text string
	err := t.scanOne(ctx, op, `SELECT used FROM limit_usage WHERE org_id = ? AND customer_id = ? AND day = ?`,
		[]any{orgID, customerID, day}, &text)
	if errors.Is(err, offramp.ErrNotFound) {
		return decimal.Zero, "", nil
	}
	if err != nil {
		return decimal.Decimal{}, "", err
	}
	var used decimal.Decimal
	if err := (decCol{&used}).Scan(text); err != nil {
		return decimal.Decimal{}, "", fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return used, text, nil
}

// AddLimitUsage adds delta in Go, exactly, rather than in SQL, where
// SQLite's TEXT amounts would be converted to floating point. The read and
// the write are one transaction; the write is also a compare-and-set on the
// amount read (or on the row still being absent), so on an engine with
// concurrent writers a lost update becomes ErrStale instead (PostgreSQL's
// SERIALIZABLE Update usually catches it first, and runs fn again). A
// result below zero is a bug upstream (giving back more than was taken) and
// is refused, leaving the counter unchanged.
func (t *tx) AddLimitUsage(ctx context.Context, orgID, customerID uuid.UUID, day string, delta decimal.Decimal) error {
	const op = "add limit usage"
	if err := checkDay(op, day); err != nil {
		return err
	}
	old, oldText, err := t.limitUsage(ctx, op, orgID, customerID, day)
	if err != nil {
		return err
	}
	used := old.Add(delta)
	if used.IsNegative() {
		return fmt.Errorf("sqlstore: %s: the usage of the day would go below zero; refused", op)
	}
	var n int64
	if oldText == "" {
		// No row was read: insert one, unless one appeared since (a race).
		n, err = t.execAffected(ctx, op, `INSERT INTO limit_usage (org_id, customer_id, day, used, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (org_id, customer_id, day) DO NOTHING`,
			orgID, customerID, day, decText(used), t.ts(t.now()))
	} else {
		// Update the row if it still holds the amount read.
		n, err = t.execAffected(ctx, op, `UPDATE limit_usage SET used = ?, updated_at = ?
			WHERE org_id = ? AND customer_id = ? AND day = ? AND used = ?`,
			decText(used), t.ts(t.now()), orgID, customerID, day, oldText)
	}
	if err != nil {
		return err
	}
	if n == 0 {
		return stale(op)
	}
	return nil
}
