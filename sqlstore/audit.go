package sqlstore

import (
	"context"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// The audit log's reason and details are what an operator typed and may
// name people ("the customer called, UTR ... credited to ..."): both are
// sealed like the other personal columns. Actor, action and object are
// plain, so that entries can be found.

const auditCols = `id, org_id, actor, action, object_type, object_id, reason, details, created_at`

// AppendAudit records an operator action. The actor, action and reason are
// required (CodeInvalid; the schema refuses them empty too). A zero ID is
// assigned, a zero CreatedAt filled from the clock.
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
	details, err := encodeMap(a.Details)
	if err != nil {
		return err
	}
	s := sealer{t: t, table: "audit_log", id: a.ID}
	reason, sealedDetails := s.seal("reason", a.Reason), s.seal("details", details)
	if s.err != nil {
		return s.err
	}
	_, err = t.exec(ctx, op, `INSERT INTO audit_log (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.OrgID, a.Actor, a.Action, string(a.ObjectType), a.ObjectID, reason, sealedDetails,
		t.ts(orNow(a.CreatedAt, t.now)))
	return err
}

// AuditEntries lists the entries on one object oldest first (created_at,
// then id), from audit_log_object_idx. Empty details read back as nil.
func (t *tx) AuditEntries(ctx context.Context, objectType offramp.ObjectType, objectID uuid.UUID) ([]offramp.AuditEntry, error) {
	const op = "list audit entries"
	rows, err := t.query(ctx, op, `SELECT `+auditCols+` FROM audit_log
		WHERE object_type = ? AND object_id = ? ORDER BY created_at, id`, string(objectType), objectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []offramp.AuditEntry
	for rows.Next() {
		var a offramp.AuditEntry
		var reason, details string
		if err := rows.Scan(&a.ID, &a.OrgID, &a.Actor, &a.Action, &a.ObjectType, &a.ObjectID,
			&reason, &details, timeCol{&a.CreatedAt}); err != nil {
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
