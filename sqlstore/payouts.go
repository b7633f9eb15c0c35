package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

const payoutCols = `id, org_id, customer_id, bank_id, quotation_id, client_reference_id,
	exchange_order_id, exchange_transfer_id, asset, fiat, payment_method,
	sending_amount, rate, gross_fiat, receiving_amount, fees, status, phase, rail_reference,
	utr, failure_reason, limit_day, inquiries, created_at, updated_at,
	submissions, submitted_at, paid_at, last_bank_answer, review_reason`

func (t *tx) scanPayout(r rowScanner) (offramp.Payout, error) {
	var p offramp.Payout
	var fees string
	err := r.Scan(&p.ID, &p.OrgID, &p.CustomerID, &p.BankID, &p.QuotationID, &p.ClientReferenceID,
		&p.ExchangeOrderID, &p.ExchangeTransferID, &p.Asset, &p.Fiat, &p.PaymentMethod,
		decCol{&p.SendingAmount}, decCol{&p.Rate}, decCol{&p.GrossFiat}, decCol{&p.ReceivingAmount},
		&fees, &p.Status, &p.Phase, &p.RailReference,
		&p.UTR, &p.FailureReason, &p.LimitDay, &p.Inquiries, timeCol{&p.CreatedAt}, timeCol{&p.UpdatedAt},
		&p.Submissions, timeCol{&p.SubmittedAt}, timeCol{&p.PaidAt}, &p.LastBankAnswer, &p.ReviewReason)
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
//
// The query repeats, literally, the predicate of the partial unique index
// payouts_org_client_reference_id_key (a reference that is not empty): a
// planner uses a partial index only when the WHERE clause implies its
// predicate, which a bound parameter never does (nor a generic plan of a
// prepared statement). So the lookup is one probe of that index, not a
// walk of the organization's payouts.
func (t *tx) PayoutIDByClientReference(ctx context.Context, orgID uuid.UUID, ref string) (uuid.UUID, error) {
	const op = "find payout by client reference"
	if ref == "" {
		return uuid.Nil, notFound(op)
	}
	var id uuid.UUID
	err := t.scanOne(ctx, op, `SELECT id FROM payouts
		WHERE org_id = ? AND client_reference_id = ? AND client_reference_id <> ''`,
		[]any{orgID, ref}, &id)
	return id, err
}

// PayoutsByExchangeOrder lists newest first. An empty order id matches
// nothing: payouts made without an order id do not share one. The rows
// come from payouts_org_exchange_order_idx (org_id, exchange_order_id,
// created_at, id), read backwards in the order asked for (migration
// 00010): the order's few payouts, whatever the organization's history.
func (t *tx) PayoutsByExchangeOrder(ctx context.Context, orgID uuid.UUID, orderID string) ([]offramp.Payout, error) {
	if orderID == "" {
		return nil, nil
	}
	return t.listPayouts(ctx, "list payouts by exchange order", `SELECT `+payoutCols+` FROM payouts
		WHERE org_id = ? AND exchange_order_id = ? ORDER BY created_at DESC, id DESC`, orgID, orderID)
}

// ListPayouts reads one page (see Page and the comment on pageArgs): the
// unfiltered count from list_counts, a filtered one capped; the page by
// keyset or offset through payouts_org_created_idx, or the status's
// (payouts_org_status_created_idx) or customer's
// (payouts_org_customer_created_idx) index, each ending in (created_at,
// id). A client reference is found through its partial unique index
// (payouts_org_client_reference_id_key: one row at most), an exchange
// order's payouts through payouts_org_exchange_order_idx (org_id,
// exchange_order_id, created_at, id): a few rows whatever the
// organization's history, with any other filter checked on them.
func (t *tx) ListPayouts(ctx context.Context, orgID uuid.UUID, f offramp.PayoutFilter, page offramp.Page) ([]offramp.Payout, int, error) {
	const op = "list payouts"
	pq, err := pageArgs(page)
	if err != nil {
		return nil, 0, err
	}
	where, args := `org_id = ?`, []any{orgID}
	// With a client reference or an exchange order, its index finds the
	// few rows and every other filter is checked on them, written as an
	// expression of its column (col || '', the same value as text) that no
	// index serves. Otherwise a planner that expects a row or so either way
	// (SQLite without statistics, PostgreSQL's generic plan) may walk the
	// status's or the customer's index over the organization's history
	// instead. A client reference, unique, also wins over an exchange
	// order. (plans_test.go holds both engines to this.)
	keyed := f.ClientReferenceID != "" || f.ExchangeOrderID != ""
	filter := func(col string) string {
		if keyed {
			return `(` + col + ` || '')`
		}
		return col
	}
	if f.ClientReferenceID != "" {
		// The index's predicate, repeated: see PayoutIDByClientReference.
		where, args = where+` AND client_reference_id = ? AND client_reference_id <> ''`, append(args, f.ClientReferenceID)
	}
	if f.ExchangeOrderID != "" {
		col := `exchange_order_id`
		if f.ClientReferenceID != "" {
			col = filter(col)
		}
		where, args = where+` AND `+col+` = ?`, append(args, f.ExchangeOrderID)
	}
	if f.Status != "" {
		where, args = where+` AND `+filter(`status`)+` = ?`, append(args, string(f.Status))
	}
	if f.CustomerID != uuid.Nil {
		var id any = f.CustomerID
		if keyed {
			id = f.CustomerID.String() // compared as text
		}
		where, args = where+` AND `+filter(`customer_id`)+` = ?`, append(args, id)
	}
	var total int
	exact := true
	if f.Status == "" && f.CustomerID == uuid.Nil && f.From.IsZero() && f.To.IsZero() &&
		f.ClientReferenceID == "" && f.ExchangeOrderID == "" {
		total, err = t.listCount(ctx, op, orgID, listPayouts)
	} else {
		cw, cargs := pageQuery{}.where(t, where, args, "created_at", "id", f.From, f.To)
		total, exact, err = t.cappedCount(ctx, op, `payouts WHERE `+cw, cargs)
	}
	if err != nil {
		return nil, 0, err
	}
	if pq.pastEnd(total, exact) {
		return nil, total, nil
	}
	where, args = pq.where(t, where, args, "created_at", "id", f.From, f.To)
	tail, args := pq.tail(args, "created_at", "id")
	out, err := t.listPayouts(ctx, op, `SELECT `+payoutCols+` FROM payouts WHERE `+where+tail, args...)
	if err != nil {
		return nil, 0, err
	}
	return pageRows(pq, out), total, nil
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
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.OrgID, p.CustomerID, p.BankID, p.QuotationID, p.ClientReferenceID,
		p.ExchangeOrderID, p.ExchangeTransferID, p.Asset, p.Fiat, p.PaymentMethod,
		decText(p.SendingAmount), decText(p.Rate), decText(p.GrossFiat), decText(p.ReceivingAmount),
		fees, string(p.Status), string(p.Phase), p.RailReference,
		p.UTR, p.FailureReason, p.LimitDay, p.Inquiries, t.ts(created), t.ts(updated),
		p.Submissions, t.nullTime(p.SubmittedAt), t.nullTime(p.PaidAt), p.LastBankAnswer, p.ReviewReason)
	return err
}

// UpdatePayout is a compare-and-set on (status, phase). Only the mutable
// fields are written; amounts, references, the limit day and created_at
// never change. A zero SubmittedAt or PaidAt is stored as NULL (and reads
// back zero).
func (t *tx) UpdatePayout(ctx context.Context, p offramp.Payout, from offramp.PayoutStatus, fromPhase offramp.PayoutPhase) error {
	const op = "update payout"
	n, err := t.execAffected(ctx, op, `UPDATE payouts SET status = ?, phase = ?, utr = ?, failure_reason = ?,
		exchange_transfer_id = ?, inquiries = ?, submissions = ?, submitted_at = ?, paid_at = ?,
		last_bank_answer = ?, review_reason = ?, updated_at = ?
		WHERE org_id = ? AND id = ? AND status = ? AND phase = ?`,
		string(p.Status), string(p.Phase), p.UTR, p.FailureReason,
		p.ExchangeTransferID, p.Inquiries, p.Submissions, t.nullTime(p.SubmittedAt), t.nullTime(p.PaidAt),
		p.LastBankAnswer, p.ReviewReason, t.ts(orNow(p.UpdatedAt, t.now)),
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

// PayoutByRailReference finds a payout of any organization by its bank
// reference (payouts_rail_reference_key). An empty reference never
// matches.
func (t *tx) PayoutByRailReference(ctx context.Context, ref string) (offramp.Payout, error) {
	const op = "get payout by rail reference"
	if ref == "" {
		return offramp.Payout{}, notFound(op)
	}
	p, err := t.scanPayout(t.queryRow(ctx, `SELECT `+payoutCols+` FROM payouts WHERE rail_reference = ?`, ref))
	if err != nil {
		return offramp.Payout{}, t.mapErr(ctx, op, err)
	}
	return p, nil
}

// PayoutAnyOrg finds a payout of any organization by id.
func (t *tx) PayoutAnyOrg(ctx context.Context, id uuid.UUID) (offramp.Payout, error) {
	const op = "get payout of any organization"
	p, err := t.scanPayout(t.queryRow(ctx, `SELECT `+payoutCols+` FROM payouts WHERE id = ?`, id))
	if err != nil {
		return offramp.Payout{}, t.mapErr(ctx, op, err)
	}
	return p, nil
}

// AdminPayouts lists payouts oldest first (created_at, then id), at most
// limit (which must be positive). Each filter has its index: the
// organization's (payouts_org_created_idx, payouts_org_customer_created_idx),
// the status's (payouts_status_created_idx), or creation order
// (payouts_created_idx). A customer without an organization is looked up
// through the customer's own organization, so it uses the organization's
// index too.
func (t *tx) AdminPayouts(ctx context.Context, f offramp.PayoutFilter, limit int) ([]offramp.Payout, error) {
	const op = "list payouts for operators"
	if limit < 1 {
		return nil, offramp.Errorf(offramp.CodeInvalid, "limit must be at least 1")
	}
	var where []string
	var args []any
	switch {
	case f.OrgID != uuid.Nil:
		where, args = append(where, `org_id = ?`), append(args, f.OrgID)
	case f.CustomerID != uuid.Nil:
		where, args = append(where, `org_id = (SELECT org_id FROM customers WHERE id = ?)`), append(args, f.CustomerID)
	}
	if f.CustomerID != uuid.Nil {
		where, args = append(where, `customer_id = ?`), append(args, f.CustomerID)
	}
	if f.Status != "" {
		where, args = append(where, `status = ?`), append(args, string(f.Status))
	}
	if !f.From.IsZero() {
		where, args = append(where, `created_at >= ?`), append(args, t.ts(ceilMicro(f.From)))
	}
	if !f.To.IsZero() {
		where, args = append(where, `created_at < ?`), append(args, t.ts(ceilMicro(f.To)))
	}
	query := `SELECT ` + payoutCols + ` FROM payouts`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	return t.listPayouts(ctx, op, query+` ORDER BY created_at, id LIMIT ?`, append(args, limit)...)
}

// payoutBatch is how many payouts ForEachPayout reads at a time.
const payoutBatch = 500

// ForEachPayout walks every payout in creation order (created_at, then
// id), a batch at a time keyed on the last payout seen
// (payouts_created_idx), so memory stays bounded and no result set is
// open while fn runs (fn may use the transaction).
func (t *tx) ForEachPayout(ctx context.Context, fn func(offramp.Payout) error) error {
	const op = "walk payouts"
	var last *offramp.Payout
	for {
		query, args := `SELECT `+payoutCols+` FROM payouts`, []any{}
		if last != nil {
			query += ` WHERE (created_at, id) > (?, ?)`
			args = append(args, t.ts(last.CreatedAt), last.ID)
		}
		ps, err := t.listPayouts(ctx, op, query+` ORDER BY created_at, id LIMIT ?`, append(args, payoutBatch)...)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if err := fn(p); err != nil {
				return err
			}
		}
		if len(ps) < payoutBatch {
			return nil
		}
		last = &ps[len(ps)-1]
	}
}

// PayoutStats counts payouts per phase (an index-only count over
// payouts_phase_submitted_idx; the status of each phase is
// PayoutPhase.Status, which payouts_status_phase_check holds every row to)
// and reads the two oldest times from their indexes. Every phase is
// listed, in the order of offramp.PayoutPhases, with zeros.
func (t *tx) PayoutStats(ctx context.Context) (offramp.PayoutStats, error) {
	const op = "count payouts"
	counts := map[offramp.PayoutPhase]int{}
	rows, err := t.query(ctx, op, `SELECT phase, COUNT(*) FROM payouts GROUP BY phase`)
	if err != nil {
		return offramp.PayoutStats{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var ph offramp.PayoutPhase
		var n int
		if err := rows.Scan(&ph, &n); err != nil {
			return offramp.PayoutStats{}, t.mapErr(ctx, op, err)
		}
		counts[ph] = n
	}
	if err := rows.Err(); err != nil {
		return offramp.PayoutStats{}, t.mapErr(ctx, op, err)
	}
	rows.Close()
	var st offramp.PayoutStats
	for _, ph := range offramp.PayoutPhases {
		st.Counts = append(st.Counts, offramp.PhaseCount{Status: ph.Status(), Phase: ph, N: counts[ph]})
	}
	if err := t.scanOne(ctx, op, `SELECT MIN(created_at) FROM payouts WHERE status = ?`,
		[]any{string(offramp.PayoutInReview)}, timeCol{&st.OldestReview}); err != nil {
		return offramp.PayoutStats{}, err
	}
	if err := t.scanOne(ctx, op, `SELECT MIN(submitted_at) FROM payouts WHERE phase = ?`,
		[]any{string(offramp.PhaseSubmitted)}, timeCol{&st.OldestPending}); err != nil {
		return offramp.PayoutStats{}, err
	}
	return st, nil
}
