package sqlstore

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// The audit log's reason and details are what an operator typed and may
// name people ("the customer called, UTR ... credited to ..."): both are
// sealed like the other personal columns. Actor, action and object are
// plain, so that entries can be found.
//
// The log is a hash chain (migration 00006): every entry has the next seq,
// the previous entry's hash as prev_hash, and hash = offramp.AuditHash(
// prev_hash, entry) over the plaintext, so editing or deleting a row
// breaks every later link. Rows older than 00006 are numbered but
// unchained (prev_hash = hash = ''); the first chained entry links to ''.

const auditCols = `id, org_id, actor, action, object_type, object_id, reason, details, created_at, seq, prev_hash, hash`

// AppendAudit records an operator action as the next link of the chain.
// The actor, action and reason are required (CodeInvalid; the schema
// refuses them empty too). A zero ID is assigned, a zero CreatedAt filled
// from the clock; CreatedAt is brought to the stored precision
// (microseconds, UTC) before it is hashed, so that the hash recomputed from
// the row read back is the same.
//
// It reads the last entry (audit_log_seq_key) and writes seq + 1. On
// PostgreSQL two transactions appending at once read the same last entry;
// the second to insert breaks audit_log_seq_key (or fails serialization),
// which is a numbering race (numberingTargets): Update runs it again, and
// the chain stays gapless and unforked.
func (t *tx) AppendAudit(ctx context.Context, a offramp.AuditEntry) error {
	const op = "append audit entry"
	var v offramp.Validation
	v.Required("actor", a.Actor)
	v.Required("action", a.Action)
	v.Required("reason", a.Reason)
	if err := v.Err(); err != nil {
		return err
	}
	if a.ID == uuid.Nil {
		a.ID = uuid.New()
	}
	a.CreatedAt = orNow(a.CreatedAt, t.now)
	details, err := encodeMap(a.Details)
	if err != nil {
		return err
	}
	s := sealer{t: t, table: "audit_log", id: a.ID}
	reason, sealedDetails := s.seal("reason", a.Reason), s.seal("details", details)
	if s.err != nil {
		return s.err
	}

	var last int64
	var lastHash string
	err = t.scanOne(ctx, op, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`, nil, &last, &lastHash)
	if err != nil && !errors.Is(err, offramp.ErrNotFound) {
		return err
	}
	a.Seq, a.PrevHash = last+1, lastHash
	a.Hash = offramp.AuditHash(a.PrevHash, a)

	_, err = t.exec(ctx, op, `INSERT INTO audit_log (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.OrgID, a.Actor, a.Action, string(a.ObjectType), a.ObjectID, reason, sealedDetails,
		t.ts(a.CreatedAt), a.Seq, a.PrevHash, a.Hash)
	return err
}

// AuditEntries lists the entries on one object oldest first (created_at,
// then seq), from audit_log_object_idx. Empty details read back as nil.
func (t *tx) AuditEntries(ctx context.Context, objectType offramp.ObjectType, objectID uuid.UUID) ([]offramp.AuditEntry, error) {
	return t.listAudit(ctx, "list audit entries", `SELECT `+auditCols+` FROM audit_log
		WHERE object_type = ? AND object_id = ? ORDER BY created_at, seq`, string(objectType), objectID)
}

// ListAudit lists newest first (seq descending), filtered by actor
// (audit_log_actor_seq_idx) and action (audit_log_action_seq_idx) when
// they are not empty, at most limit (CodeInvalid below 1).
func (t *tx) ListAudit(ctx context.Context, actor, action string, limit int) ([]offramp.AuditEntry, error) {
	if limit < 1 {
		return nil, offramp.Errorf(offramp.CodeInvalid, "limit must be at least 1")
	}
	query, args := `SELECT `+auditCols+` FROM audit_log WHERE 1 = 1`, []any{}
	if actor != "" {
		query += ` AND actor = ?`
		args = append(args, actor)
	}
	if action != "" {
		query += ` AND action = ?`
		args = append(args, action)
	}
	return t.listAudit(ctx, "list audit", query+` ORDER BY seq DESC LIMIT ?`, append(args, limit)...)
}

// auditBatch is how many entries ForEachAudit reads at a time.
const auditBatch = 500

// ForEachAudit walks the log in chain order, a batch at a time keyed on
// the last seq seen (audit_log_seq_key), so memory stays bounded and no
// result set is open while fn runs (fn may use the transaction).
func (t *tx) ForEachAudit(ctx context.Context, fn func(offramp.AuditEntry) error) error {
	var after int64
	for {
		batch, err := t.listAudit(ctx, "walk audit", `SELECT `+auditCols+` FROM audit_log
			WHERE seq > ? ORDER BY seq LIMIT ?`, after, auditBatch)
		if err != nil {
			return err
		}
		for _, a := range batch {
			if err := fn(a); err != nil {
				return err
			}
		}
		if len(batch) < auditBatch {
			return nil
		}
		after = batch[len(batch)-1].Seq
	}
}

// listAudit reads entries, opening reason and details.
func (t *tx) listAudit(ctx context.Context, op, query string, args ...any) ([]offramp.AuditEntry, error) {
	rows, err := t.query(ctx, op, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []offramp.AuditEntry
	for rows.Next() {
		var a offramp.AuditEntry
		var reason, details string
		if err := rows.Scan(&a.ID, &a.OrgID, &a.Actor, &a.Action, &a.ObjectType, &a.ObjectID,
			&reason, &details, timeCol{&a.CreatedAt}, &a.Seq, &a.PrevHash, &a.Hash); err != nil {
			return nil, t.mapErr(ctx, op, err)
		}
		s := sealer{t: t, table: "audit_log", id: a.ID}
		a.Reason, details = s.open("reason", reason), s.open("details", details)
		if s.err != nil {
			return nil, s.err
		}
		if a.Details, err = decodeMap[string](details); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	return out, nil
}
