package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// nullTime stores a zero time as NULL, which timeCol reads back as zero.
func (t *tx) nullTime(v time.Time) any {
	if v.IsZero() {
		return nil
	}
	return t.ts(v)
}

func (t *tx) SetOrgWebhookDisabled(ctx context.Context, orgID uuid.UUID, disabled bool) error {
	return t.updateOrg(ctx, "set org webhook disabled", `UPDATE orgs SET webhook_disabled = ? WHERE id = ?`, disabled, orgID)
}

func (t *tx) Event(ctx context.Context, orgID, id uuid.UUID) (offramp.Event, error) {
	const op = "get event"
	var e offramp.Event
	var meta string
	err := t.scanOne(ctx, op, `SELECT `+eventCols+` FROM events WHERE org_id = ? AND id = ?`, []any{orgID, id},
		&e.ID, &e.OrgID, &e.ObjectType, &e.ObjectID, &e.Event, &e.Sequence, &e.ClientReferenceID, &meta, timeCol{&e.CreatedAt})
	if err != nil {
		return offramp.Event{}, err
	}
	e.Metadata, err = decodeMap[string](meta)
	return e, err
}

const eventCols = `id, org_id, object_type, object_id, event, sequence, client_reference_id, metadata, created_at`

const deliveryCols = `event_id, org_id, state, attempts, next_attempt_at, last_status_code, last_error,
	delivered_at, created_at, updated_at`

func deliveryDest(d *offramp.Delivery) []any {
	return []any{&d.EventID, &d.OrgID, &d.State, &d.Attempts, timeCol{&d.NextAttemptAt}, &d.LastStatusCode,
		&d.LastError, timeCol{&d.DeliveredAt}, timeCol{&d.CreatedAt}, timeCol{&d.UpdatedAt}}
}

func (t *tx) Delivery(ctx context.Context, orgID, eventID uuid.UUID) (offramp.Delivery, error) {
	var d offramp.Delivery
	err := t.scanOne(ctx, "get delivery", `SELECT `+deliveryCols+` FROM webhook_deliveries
		WHERE org_id = ? AND event_id = ?`, []any{orgID, eventID}, deliveryDest(&d)...)
	return d, err
}

func (t *tx) CreateDelivery(ctx context.Context, d offramp.Delivery) error {
	now := t.now()
	_, err := t.exec(ctx, "create delivery", `INSERT INTO webhook_deliveries (`+deliveryCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.EventID, d.OrgID, string(d.State), d.Attempts, t.nullTime(d.NextAttemptAt), d.LastStatusCode, d.LastError,
		t.nullTime(d.DeliveredAt), t.ts(orNow(d.CreatedAt, func() time.Time { return now })), t.ts(orNow(d.UpdatedAt, func() time.Time { return now })))
	return err
}

// UpdateDelivery is a compare-and-set on the attempt count: two runners
// that both tried the same attempt cannot both record it.
func (t *tx) UpdateDelivery(ctx context.Context, d offramp.Delivery, fromAttempts int) error {
	const op = "update delivery"
	n, err := t.execAffected(ctx, op, `UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_at = ?,
		last_status_code = ?, last_error = ?, delivered_at = ?, updated_at = ?
		WHERE org_id = ? AND event_id = ? AND attempts = ?`,
		string(d.State), d.Attempts, t.nullTime(d.NextAttemptAt), d.LastStatusCode, d.LastError, t.nullTime(d.DeliveredAt),
		t.ts(orNow(d.UpdatedAt, t.now)), d.OrgID, d.EventID, fromAttempts)
	if err != nil {
		return err
	}
	if n == 0 {
		if _, err := t.Delivery(ctx, d.OrgID, d.EventID); err != nil {
			return err
		}
		return stale(op)
	}
	return nil
}

func (t *tx) AddDeliveryAttempt(ctx context.Context, a offramp.DeliveryAttempt) error {
	_, err := t.exec(ctx, "add delivery attempt", `INSERT INTO webhook_attempts (event_id, org_id, number, at, url,
		status_code, latency_us, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.EventID, a.OrgID, a.Number, t.ts(orNow(a.At, t.now)), a.URL, a.StatusCode, a.Latency.Microseconds(), a.Error)
	return err
}

func (t *tx) DeliveryAttempts(ctx context.Context, orgID, eventID uuid.UUID) ([]offramp.DeliveryAttempt, error) {
	const op = "list delivery attempts"
	rows, err := t.query(ctx, op, `SELECT event_id, org_id, number, at, url, status_code, latency_us, error
		FROM webhook_attempts WHERE org_id = ? AND event_id = ? ORDER BY number`, orgID, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []offramp.DeliveryAttempt
	for rows.Next() {
		var a offramp.DeliveryAttempt
		var us int64
		if err := rows.Scan(&a.EventID, &a.OrgID, &a.Number, timeCol{&a.At}, &a.URL, &a.StatusCode, &us, &a.Error); err != nil {
			return nil, t.mapErr(ctx, op, err)
		}
		a.Latency = time.Duration(us) * time.Microsecond
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	return out, nil
}

// ListDeliveries reads one page (see Page and the comment on pageArgs): the
// unfiltered count from list_counts, a filtered one capped; the page by
// keyset or offset through webhook_deliveries_org_created or, for a state,
// webhook_deliveries_org_state, each ending in (created_at, event_id).
func (t *tx) ListDeliveries(ctx context.Context, orgID uuid.UUID, f offramp.DeliveryFilter, page offramp.Page) ([]offramp.EventDelivery, int, error) {
	const op = "list deliveries"
	pq, err := pageArgs(page)
	if err != nil {
		return nil, 0, err
	}
	where, args := `d.org_id = ?`, []any{orgID}
	if f.State != "" {
		where, args = where+` AND d.state = ?`, append(args, string(f.State))
	}
	var total int
	exact := true
	if f.State == "" && f.Since.IsZero() {
		total, err = t.listCount(ctx, op, orgID, listDeliveries)
	} else {
		cw, cargs := pageQuery{}.where(t, where, args, "d.created_at", "d.event_id", f.Since, time.Time{})
		total, exact, err = t.cappedCount(ctx, op, `webhook_deliveries d WHERE `+cw, cargs)
	}
	if err != nil {
		return nil, 0, err
	}
	if pq.pastEnd(total, exact) {
		return nil, total, nil
	}
	where, args = pq.where(t, where, args, "d.created_at", "d.event_id", f.Since, time.Time{})
	tail, args := pq.tail(args, "d.created_at", "d.event_id")
	rows, err := t.query(ctx, op, `SELECT e.id, e.org_id, e.object_type, e.object_id, e.event, e.sequence,
		e.client_reference_id, e.metadata, e.created_at,
		d.event_id, d.org_id, d.state, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error,
		d.delivered_at, d.created_at, d.updated_at
		FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
		WHERE `+where+tail, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []offramp.EventDelivery
	for rows.Next() {
		var ed offramp.EventDelivery
		var meta string
		e := &ed.Event
		dest := append([]any{&e.ID, &e.OrgID, &e.ObjectType, &e.ObjectID, &e.Event, &e.Sequence, &e.ClientReferenceID,
			&meta, timeCol{&e.CreatedAt}}, deliveryDest(&ed.Delivery)...)
		if err := rows.Scan(dest...); err != nil {
			return nil, 0, t.mapErr(ctx, op, err)
		}
		if e.Metadata, err = decodeMap[string](meta); err != nil {
			return nil, 0, err
		}
		// The join is on the event's id alone: with e.org_id = d.org_id
		// too, PostgreSQL takes the two conditions for independent,
		// expects a join of few rows, and plans a hash join of the
		// organization's events and a sort instead of reading a page in
		// index order. A delivery and its event are written together for
		// one organization; one that is not is refused, never listed.
		if e.OrgID != orgID {
			return nil, 0, fmt.Errorf("sqlstore: %s: delivery %s carries an event of another organization", op, ed.Delivery.EventID)
		}
		out = append(out, ed)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, t.mapErr(ctx, op, err)
	}
	return pageRows(pq, out), total, nil
}
