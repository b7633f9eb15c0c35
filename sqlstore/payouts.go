package sqlstore

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

const payoutCols = `id, org_id, customer_id, bank_id, quotation_id, client_reference_id,
	exchange_order_id, exchange_transfer_id, asset, fiat, payment_method,
	sending_amount, rate, gross_fiat, receiving_amount, fees, status, phase, rail_reference,
	utr, failure_reason, limit_day, inquiries, created_at, updated_at`

func (t *tx) scanPayout(r rowScanner) (offramp.Payout, error) {
	var p offramp.Payout
	var fees string
	err := r.Scan(&p.ID, &p.OrgID, &p.CustomerID, &p.BankID, &p.QuotationID, &p.ClientReferenceID,
		&p.ExchangeOrderID, &p.ExchangeTransferID, &p.Asset, &p.Fiat, &p.PaymentMethod,
		decCol{&p.SendingAmount}, decCol{&p.Rate}, decCol{&p.GrossFiat}, decCol{&p.ReceivingAmount},
		&fees, &p.Status, &p.Phase, &p.RailReference,
		&p.UTR, &p.FailureReason, &p.LimitDay, &p.Inquiries, timeCol{&p.CreatedAt}, timeCol{&p.UpdatedAt})
	if err != nil {
		return offramp.Payout{}, err
	}
	if p.Fees, err = decodeFees(fees); err != nil {
		return offramp.Payout{}, err
	}
	return p, nil
}

func (t *tx) Payout(ctx context.Context, orgID, id uuid.UUID) (offramp.Payout, error) {
	const op = "get payout"
	p, err := t.scanPayout(t.queryRow(ctx, `SELECT `+payoutCols+` FROM payouts WHERE org_id = ? AND id = ?`, orgID, id))
	if err != nil {
		return offramp.Payout{}, t.mapErr(ctx, op, err)
	}
	return p, nil
}

// PayoutIDByClientReference finds a payout by client reference. An empty
// reference never matches: it means "not given".
func (t *tx) PayoutIDByClientReference(ctx context.Context, orgID uuid.UUID, ref string) (uuid.UUID, error) {
	const op = "find payout by client reference"
	if ref == "" {
		return uuid.Nil, notFound(op)
	}
	var id uuid.UUID
	err := t.scanOne(ctx, op, `SELECT id FROM payouts WHERE org_id = ? AND client_reference_id = ?`,
		[]any{orgID, ref}, &id)
	return id, err
}

// PayoutsByExchangeOrder lists newest first. An empty order id matches
// nothing: payouts made without an order id do not share one.
func (t *tx) PayoutsByExchangeOrder(ctx context.Context, orgID uuid.UUID, orderID string) ([]offramp.Payout, error) {
	if orderID == "" {
		return nil, nil
	}
	return t.listPayouts(ctx, "list payouts by exchange order", `SELECT `+payoutCols+` FROM payouts
		WHERE org_id = ? AND exchange_order_id = ? ORDER BY created_at DESC, id DESC`, orgID, orderID)
}

func (t *tx) ListPayouts(ctx context.Context, orgID uuid.UUID, f offramp.PayoutFilter, page offramp.Page) ([]offramp.Payout, int, error) {
	const op = "list payouts"
	limit, offset, err := pageArgs(page)
	if err != nil {
		return nil, 0, err
	}
	where, args := `org_id = ?`, []any{orgID}
	if f.Status != "" {
		where, args = where+` AND status = ?`, append(args, string(f.Status))
	}
	if f.CustomerID != uuid.Nil {
		where, args = where+` AND customer_id = ?`, append(args, f.CustomerID)
	}
	// Stored times are whole microseconds, so for a bound with a finer
	// fraction "created_at >= From" (or "< To") holds exactly when it does
	// against the bound rounded up to the next microsecond.
	if !f.From.IsZero() {
		where, args = where+` AND created_at >= ?`, append(args, t.ts(ceilMicro(f.From)))
	}
	if !f.To.IsZero() {
		where, args = where+` AND created_at < ?`, append(args, t.ts(ceilMicro(f.To)))
	}
	total, err := t.count(ctx, op, `SELECT COUNT(*) FROM payouts WHERE `+where, args...)
	if err != nil {
		return nil, 0, err
	}
	out, err := t.listPayouts(ctx, op, `SELECT `+payoutCols+` FROM payouts WHERE `+where+`
		ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// UnlinkedPayouts lists, across organizations and newest first, the payouts
// still waiting for the exchange's transfer.
func (t *tx) UnlinkedPayouts(ctx context.Context) ([]offramp.Payout, error) {
	return t.listPayouts(ctx, "list unlinked payouts", `SELECT `+payoutCols+` FROM payouts
		WHERE exchange_transfer_id = '' AND status NOT IN (?, ?)
		ORDER BY created_at DESC, id DESC`, string(offramp.PayoutFailed), string(offramp.PayoutRefunded))
}

func (t *tx) listPayouts(ctx context.Context, op, query string, args ...any) ([]offramp.Payout, error) {
	rows, err := t.query(ctx, op, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []offramp.Payout
	for rows.Next() {
		p, err := t.scanPayout(rows)
		if err != nil {
			return nil, t.mapErr(ctx, op, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	return out, nil
}

// CreatePayout inserts p. Zero CreatedAt is filled from the clock and a
// zero UpdatedAt from CreatedAt.
func (t *tx) CreatePayout(ctx context.Context, p offramp.Payout) error {
	const op = "create payout"
	created := orNow(p.CreatedAt, t.now)
	updated := created
	if !p.UpdatedAt.IsZero() {
		updated = normTime(p.UpdatedAt)
	}
	fees, err := encodeFees(p.Fees)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, op, `INSERT INTO payouts (`+payoutCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.OrgID, p.CustomerID, p.BankID, p.QuotationID, p.ClientReferenceID,
		p.ExchangeOrderID, p.ExchangeTransferID, p.Asset, p.Fiat, p.PaymentMethod,
		decText(p.SendingAmount), decText(p.Rate), decText(p.GrossFiat), decText(p.ReceivingAmount),
		fees, string(p.Status), string(p.Phase), p.RailReference,
		p.UTR, p.FailureReason, p.LimitDay, p.Inquiries, t.ts(created), t.ts(updated))
	return err
}

// UpdatePayout is a compare-and-set on (status, phase). Only the mutable
// fields are written; amounts, references and the limit day never change.
func (t *tx) UpdatePayout(ctx context.Context, p offramp.Payout, from offramp.PayoutStatus, fromPhase offramp.PayoutPhase) error {
	const op = "update payout"
	n, err := t.execAffected(ctx, op, `UPDATE payouts SET status = ?, phase = ?, utr = ?, failure_reason = ?,
		exchange_transfer_id = ?, inquiries = ?, updated_at = ?
		WHERE org_id = ? AND id = ? AND status = ? AND phase = ?`,
		string(p.Status), string(p.Phase), p.UTR, p.FailureReason,
		p.ExchangeTransferID, p.Inquiries, t.ts(orNow(p.UpdatedAt, t.now)),
		p.OrgID, p.ID, string(from), string(fromPhase))
	if err != nil {
		return err
	}
	if n == 0 {
		return t.staleOrNotFound(ctx, op, `SELECT COUNT(*) FROM payouts WHERE org_id = ? AND id = ?`, p.OrgID, p.ID)
	}
	return nil
}

// ceilMicro rounds v up to a whole microsecond.
func ceilMicro(v time.Time) time.Time {
	tr := v.Truncate(time.Microsecond)
	if tr.Before(v) {
		return tr.Add(time.Microsecond)
	}
	return tr
}
