package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// Two-person proposals. The params and reason are what an operator typed
// and may name people: both are sealed. The schema holds a decision to its
// rules (proposals_decider_check: the decider is not the proposer;
// proposals_decided_check: a decided proposal has a decider and a pending
// one has none).

const proposalCols = `id, org_id, kind, object_type, object_id, params, reason, proposed_by, status, decided_by, decided_at, created_at`

// proposalKinds are the kinds proposals_kind_check accepts.
var proposalKinds = []offramp.ProposalKind{
	offramp.ProposalResolvePaid, offramp.ProposalResolveFailed, offramp.ProposalReinquire,
	offramp.ProposalRefund, offramp.ProposalKYCDecide, offramp.ProposalBankDecide,
}

func (t *tx) Proposal(ctx context.Context, id uuid.UUID) (offramp.Proposal, error) {
	const op = "get proposal"
	row, err := t.readProposal(t.queryRow(ctx, `SELECT `+proposalCols+` FROM proposals WHERE id = ?`, id))
	if err != nil {
		return offramp.Proposal{}, t.mapErr(ctx, op, err)
	}
	return t.openProposal(row)
}

// ListProposals lists newest first (created_at, then id), from
// proposals_status_created_idx when status is set, proposals_created_idx
// otherwise. limit < 1 is CodeInvalid.
func (t *tx) ListProposals(ctx context.Context, status offramp.ProposalStatus, limit int) ([]offramp.Proposal, error) {
	const op = "list proposals"
	if limit < 1 {
		return nil, offramp.Errorf(offramp.CodeInvalid, "limit must be at least 1")
	}
	query, args := `SELECT `+proposalCols+` FROM proposals`, []any{}
	if status != "" {
		query += ` WHERE status = ?`
		args = append(args, string(status))
	}
	rows, err := t.query(ctx, op, query+` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var stored []proposalRow
	for rows.Next() {
		row, err := t.readProposal(rows)
		if err != nil {
			return nil, t.mapErr(ctx, op, err)
		}
		stored = append(stored, row)
	}
	if err := rows.Err(); err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	out := make([]offramp.Proposal, 0, len(stored))
	for _, row := range stored {
		p, err := t.openProposal(row)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// proposalRow is a proposal as stored: reason and params still sealed.
type proposalRow struct {
	p      offramp.Proposal
	params string
}

func (t *tx) readProposal(r rowScanner) (proposalRow, error) {
	var row proposalRow
	p := &row.p
	var decidedBy sql.NullString
	err := r.Scan(&p.ID, &p.OrgID, &p.Kind, &p.ObjectType, &p.ObjectID, &row.params, &p.Reason, &p.ProposedBy,
		&p.Status, &decidedBy, timeCol{&p.DecidedAt}, timeCol{&p.CreatedAt})
	p.DecidedBy = decidedBy.String
	return row, err
}

// openProposal opens the sealed reason and params; empty params read back
// as nil.
func (t *tx) openProposal(row proposalRow) (offramp.Proposal, error) {
	p := row.p
	s := sealer{t: t, table: "proposals", id: p.ID}
	params := s.open("params", row.params)
	p.Reason = s.open("reason", p.Reason)
	if s.err != nil {
		return offramp.Proposal{}, s.err
	}
	m, err := decodeMap[string](params)
	if err != nil {
		return offramp.Proposal{}, err
	}
	p.Params = m
	return p, nil
}

// CreateProposal stores p as PENDING (an empty status is PENDING, another
// one CodeInvalid). Kind, object type, reason and proposer are required;
// a zero ID is assigned, a zero CreatedAt filled from the clock.
func (t *tx) CreateProposal(ctx context.Context, p offramp.Proposal) error {
	const op = "create proposal"
	var v offramp.Validation
	v.Required("kind", string(p.Kind))
	v.Required("object_type", string(p.ObjectType))
	v.Required("reason", p.Reason)
	v.Required("proposed_by", p.ProposedBy)
	if err := v.Err(); err != nil {
		return err
	}
	if !slices.Contains(proposalKinds, p.Kind) {
		return offramp.FieldError(offramp.CodeInvalid, "kind", "unknown proposal kind")
	}
	if p.Status != "" && p.Status != offramp.ProposalPending {
		return offramp.FieldError(offramp.CodeInvalid, "status", "a new proposal is PENDING")
	}
	if p.ID == uuid.Nil {
		p.ID = uuid.New()
	}
	params, err := encodeMap(p.Params)
	if err != nil {
		return err
	}
	s := sealer{t: t, table: "proposals", id: p.ID}
	sealedParams, reason := s.seal("params", params), s.seal("reason", p.Reason)
	if s.err != nil {
		return s.err
	}
	_, err = t.exec(ctx, op, `INSERT INTO proposals (`+proposalCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)`,
		p.ID, p.OrgID, string(p.Kind), string(p.ObjectType), p.ObjectID, sealedParams, reason, p.ProposedBy,
		string(offramp.ProposalPending), t.ts(orNow(p.CreatedAt, t.now)))
	return err
}

// DecideProposal is a compare-and-set from PENDING. to must be APPROVED or
// REJECTED (CodeInvalid otherwise) and by not empty. ErrNotFound when no
// proposal has id, ErrStale when it is no longer PENDING. A decider equal
// to the proposer breaks proposals_decider_check: an internal error naming
// it, since the caller must refuse that before.
func (t *tx) DecideProposal(ctx context.Context, id uuid.UUID, to offramp.ProposalStatus, by string, at time.Time) error {
	const op = "decide proposal"
	if to != offramp.ProposalApproved && to != offramp.ProposalRejected {
		return offramp.FieldError(offramp.CodeInvalid, "status", "a proposal is decided APPROVED or REJECTED")
	}
	var v offramp.Validation
	v.Required("decided_by", by)
	if err := v.Err(); err != nil {
		return err
	}
	n, err := t.execAffected(ctx, op, `UPDATE proposals SET status = ?, decided_by = ?, decided_at = ?
		WHERE id = ? AND status = ?`, string(to), by, t.ts(orNow(at, t.now)), id, string(offramp.ProposalPending))
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	exists, err := t.count(ctx, op, `SELECT COUNT(*) FROM proposals WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if exists == 0 {
		return notFound(op)
	}
	return stale(op)
}
