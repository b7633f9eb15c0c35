package sqlstore

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// Idempotency finds a request's recorded outcome. An empty key never
// matches: it means "no Idempotency-Key".
func (t *tx) Idempotency(ctx context.Context, orgID uuid.UUID, key string) (offramp.IdempotencyRecord, error) {
	const op = "get idempotency record"
	if key == "" {
		return offramp.IdempotencyRecord{}, notFound(op)
	}
	var r offramp.IdempotencyRecord
	var fields string
	err := t.scanOne(ctx, op, `SELECT org_id, key, request_hash, payout_id, err_code, err_message, err_fields,
		created_at FROM idempotency_keys WHERE org_id = ? AND key = ?`, []any{orgID, key},
		&r.OrgID, &r.Key, &r.RequestHash, &r.PayoutID, &r.ErrCode, &r.ErrMessage, &fields, timeCol{&r.CreatedAt})
	if err != nil {
		return offramp.IdempotencyRecord{}, err
	}
	if r.ErrFields, err = decodeMap[[]string](fields); err != nil {
		return offramp.IdempotencyRecord{}, err
	}
	return r, nil
}

// PutIdempotency records an outcome once; a second record for the key is
// ErrStale (another request with the key got there first). ErrFields is
// stored as JSON; an empty map reads back as nil. A zero CreatedAt is
// filled from the clock.
func (t *tx) PutIdempotency(ctx context.Context, r offramp.IdempotencyRecord) error {
	const op = "put idempotency record"
	if r.Key == "" {
		return fmt.Errorf("sqlstore: %s: empty key", op)
	}
	fields, err := encodeMap(r.ErrFields)
	if err != nil {
		return err
	}
	n, err := t.execAffected(ctx, op, `INSERT INTO idempotency_keys (org_id, key, request_hash, payout_id,
		err_code, err_message, err_fields, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id, key) DO NOTHING`,
		r.OrgID, r.Key, r.RequestHash, nullID(r.PayoutID), string(r.ErrCode), r.ErrMessage, fields,
		t.ts(orNow(r.CreatedAt, t.now)))
	if err != nil {
		return err
	}
	if n == 0 {
		return stale(op)
	}
	return nil
}
