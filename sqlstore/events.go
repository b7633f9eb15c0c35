package sqlstore

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// AppendEvent numbers the event after the object's latest one. Under
// SQLite's single writer the read-then-insert cannot race. On PostgreSQL
// two Updates appending to one object at once conflict (a serialization
// failure, or a violation of the unique (org, object, sequence) index,
// never two events with one number) and the loser's Update runs again,
// reading the winner's number: sequences stay 1, 2, 3... without gaps.
//
// A caller that has just created the object passes Sequence 1 and saves
// the read, which on PostgreSQL would also take a predicate lock on the
// index page every new object's events go to; the unique index refuses a
// wrong guess.
func (t *tx) AppendEvent(ctx context.Context, e offramp.Event) (offramp.Event, error) {
	const op = "append event"
	if e.ID == uuid.Nil {
		e.ID = offramp.NewID()
	}
	e.CreatedAt = orNow(e.CreatedAt, t.now)
	meta, err := encodeMap(e.Metadata)
	if err != nil {
		return offramp.Event{}, err
	}
	if e.Sequence < 0 {
		return offramp.Event{}, fmt.Errorf("sqlstore: %s: sequence %d; refused", op, e.Sequence)
	}
	if e.Sequence == 0 {
		err = t.scanOne(ctx, op, `SELECT COALESCE(MAX(sequence), 0) + 1 FROM events
			WHERE org_id = ? AND object_type = ? AND object_id = ?`,
			[]any{e.OrgID, string(e.ObjectType), e.ObjectID}, &e.Sequence)
		if err != nil {
			return offramp.Event{}, err
		}
	}
	_, err = t.exec(ctx, op, `INSERT INTO events (id, org_id, object_type, object_id, event, sequence,
		client_reference_id, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.OrgID, string(e.ObjectType), e.ObjectID, e.Event, e.Sequence,
		e.ClientReferenceID, meta, t.ts(e.CreatedAt))
	if err != nil {
		return offramp.Event{}, err
	}
	if len(e.Metadata) == 0 {
		e.Metadata = nil // as it reads back
	}
	return e, nil
}

func (t *tx) Events(ctx context.Context, orgID uuid.UUID, objectType offramp.ObjectType, objectID uuid.UUID) ([]offramp.Event, error) {
	const op = "list events"
	rows, err := t.query(ctx, op, `SELECT id, org_id, object_type, object_id, event, sequence,
		client_reference_id, metadata, created_at FROM events
		WHERE org_id = ? AND object_type = ? AND object_id = ? ORDER BY sequence`,
		orgID, string(objectType), objectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []offramp.Event
	for rows.Next() {
		var e offramp.Event
		var meta string
		if err := rows.Scan(&e.ID, &e.OrgID, &e.ObjectType, &e.ObjectID, &e.Event, &e.Sequence,
			&e.ClientReferenceID, &meta, timeCol{&e.CreatedAt}); err != nil {
			return nil, t.mapErr(ctx, op, err)
		}
		if e.Metadata, err = decodeMap[string](meta); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	return out, nil
}
