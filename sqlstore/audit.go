package sqlstore

import (
	"context"
	"database/sql"
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
//
// On PostgreSQL the link is made after commit (migration 00009,
// auditchain.go): AppendAudit inserts the entry with seq, prev_hash and
// hash NULL, and Update chains it once the transaction committed. Reading
// the head inside the appending transaction made every concurrent
// SERIALIZABLE append collide with every other. SQLite has one writer and
// still chains inside the transaction.

const auditCols = `id, org_id, actor, action, object_type, object_id, reason, details, created_at, seq, prev_hash, hash`

// AppendAudit records an operator action. The actor, action and reason
// are required (CodeInvalid; the schema refuses them empty too). A zero ID
// is assigned, a zero CreatedAt filled from the clock; CreatedAt is brought
// to the stored precision (microseconds, UTC) before it is hashed, so that
// the hash recomputed from the row read back is the same.
//
// On SQLite it reads the last entry (audit_log_seq_key) and writes the next
// link, seq + 1. On PostgreSQL it writes the entry unchained and reads
// nothing, so concurrent appends do not conflict; the Update chains it
// after its commit (ChainAudit, auditchain.go), in append order: the
// column append_order, filled from a sequence by its default.
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

	var seq, prevHash, hash any // NULL: unchained
	if !t.s.concurrent {
		head, err := t.auditHead(ctx, op)
		if err != nil {
			return err
		}
		a.Seq, a.PrevHash = head.seq+1, head.hash
		seq, prevHash, hash = a.Seq, a.PrevHash, offramp.AuditHash(a.PrevHash, a)
	}
	_, err = t.exec(ctx, op, `INSERT INTO audit_log (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.OrgID, a.Actor, a.Action, string(a.ObjectType), a.ObjectID, reason, sealedDetails,
		t.ts(a.CreatedAt), seq, prevHash, hash)
	if err == nil && t.s.concurrent {
		t.unchained = true
	}
	return err
}

// auditLink is the last link of the chain: seq 0 and hash "" when there is
// none.
type auditLink struct {
	seq  int64
	hash string
}

// auditHead reads the chain's last link. Unchained rows (seq NULL, which
// PostgreSQL sorts first in descending order) are not links.
func (t *tx) auditHead(ctx context.Context, op string) (auditLink, error) {
	var head auditLink
	err := t.scanOne(ctx, op, `SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1`,
		nil, &head.seq, &head.hash)
	if err != nil && !errors.Is(err, offramp.ErrNotFound) {
		return auditLink{}, err
	}
	return head, nil
}

// AuditEntries lists the entries on one object oldest first (created_at,
// then seq), from audit_log_object_idx. Empty details read back as nil.
func (t *tx) AuditEntries(ctx context.Context, objectType offramp.ObjectType, objectID uuid.UUID) ([]offramp.AuditEntry, error) {
	return t.listAudit(ctx, "list audit entries", `SELECT `+auditCols+` FROM audit_log
		WHERE object_type = ? AND object_id = ? ORDER BY created_at, seq`, string(objectType), objectID)
}

// ListAudit lists newest first (seq descending; unchained entries, the
// newest, first of all, last appended first), filtered by actor
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
	return t.listAudit(ctx, "list audit", query+` ORDER BY seq DESC NULLS FIRST, append_order DESC LIMIT ?`, append(args, limit)...)
}

// auditBatch is how many entries ForEachAudit reads at a time.
const auditBatch = 500

// ForEachAudit walks the log in chain order, a batch at a time keyed on
// the last seq seen (audit_log_seq_key), so memory stays bounded and no
// result set is open while fn runs (fn may use the transaction). Entries
// not chained yet (PostgreSQL, between a commit and its chaining) come
// last, in the order they will be chained (append_order), with Seq 0 and
// no hashes: a verifier tells them from the chain by Seq 0.
func (t *tx) ForEachAudit(ctx context.Context, fn func(offramp.AuditEntry) error) error {
	each := func(batch []offramp.AuditEntry) error {
		for _, a := range batch {
			if err := fn(a); err != nil {
				return err
			}
		}
		return nil
	}
	var after int64
	for {
		batch, err := t.listAudit(ctx, "walk audit", `SELECT `+auditCols+` FROM audit_log
			WHERE seq > ? ORDER BY seq LIMIT ?`, after, auditBatch)
		if err != nil {
			return err
		}
		if err := each(batch); err != nil {
			return err
		}
		if len(batch) < auditBatch {
			break
		}
		after = batch[len(batch)-1].Seq
	}
	// Asked first so that the walk also works on a schema before 00009
	// (migration tests walk the log between migrations), where no row is
	// unchained and append_order does not exist.
	var unchained bool
	if err := t.scanOne(ctx, "walk audit", `SELECT EXISTS (SELECT 1 FROM audit_log WHERE seq IS NULL)`, nil, &unchained); err != nil || !unchained {
		return err
	}
	var last *offramp.AuditEntry
	for {
		batch, err := t.unchainedAudit(ctx, "walk unchained audit", last)
		if err != nil {
			return err
		}
		if err := each(batch); err != nil {
			return err
		}
		if len(batch) < auditBatch {
			return nil
		}
		last = &batch[len(batch)-1]
	}
}

// unchainedAudit reads the next batch of unchained entries in chain order
// (append_order, audit_log_unchained_idx), after the entry last when it is
// not nil. AuditEntry does not carry append_order, so the key is looked up
// by last's id (in a View's snapshot it is still unchained).
func (t *tx) unchainedAudit(ctx context.Context, op string, last *offramp.AuditEntry) ([]offramp.AuditEntry, error) {
	if last == nil {
		return t.listAudit(ctx, op, `SELECT `+auditCols+` FROM audit_log
			WHERE seq IS NULL ORDER BY append_order LIMIT ?`, auditBatch)
	}
	return t.listAudit(ctx, op, `SELECT `+auditCols+` FROM audit_log
		WHERE seq IS NULL AND append_order > (SELECT append_order FROM audit_log WHERE id = ?)
		ORDER BY append_order LIMIT ?`, last.ID, auditBatch)
}

// listAudit reads entries, opening reason and details. An unchained
// entry's NULL chain fields read as Seq 0 and empty hashes.
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
		var seq sql.NullInt64
		var prevHash, hash sql.NullString
		if err := rows.Scan(&a.ID, &a.OrgID, &a.Actor, &a.Action, &a.ObjectType, &a.ObjectID,
			&reason, &details, timeCol{&a.CreatedAt}, &seq, &prevHash, &hash); err != nil {
			return nil, t.mapErr(ctx, op, err)
		}
		a.Seq, a.PrevHash, a.Hash = seq.Int64, prevHash.String, hash.String
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
