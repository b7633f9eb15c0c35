package sqlstore

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// SearchPayouts finds payouts of any organization by a reference someone
// quotes: payout id, bank reference, UTR, exchange order id, exchange
// transfer id or client reference id; each by its own index, newest first.
func (t *tx) SearchPayouts(ctx context.Context, q string, limit int) ([]offramp.Payout, error) {
	const op = "search payouts"
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, nil
	}
	if limit < 1 {
		return nil, offramp.Errorf(offramp.CodeInvalid, "limit must be positive")
	}
	seen := map[uuid.UUID]bool{}
	var out []offramp.Payout
	add := func(ps []offramp.Payout) {
		for _, p := range ps {
			if !seen[p.ID] && len(out) < limit {
				seen[p.ID] = true
				out = append(out, p)
			}
		}
	}
	if id, err := uuid.Parse(q); err == nil {
		ps, err := t.listPayouts(ctx, op, `SELECT `+payoutCols+` FROM payouts WHERE id = ?`, id)
		if err != nil {
			return nil, err
		}
		add(ps)
	}
	for _, col := range []string{"rail_reference", "utr", "exchange_order_id", "exchange_transfer_id", "client_reference_id"} {
		ps, err := t.listPayouts(ctx, op, `SELECT `+payoutCols+` FROM payouts WHERE `+col+` = ?
			ORDER BY created_at DESC, id DESC LIMIT ?`, q, limit)
		if err != nil {
			return nil, err
		}
		add(ps)
	}
	return out, nil
}

// ListOrgs lists every organization by name.
func (t *tx) ListOrgs(ctx context.Context) ([]offramp.Org, error) {
	const op = "list orgs"
	rows, err := t.query(ctx, op, `SELECT id FROM orgs ORDER BY name, id`)
	if err != nil {
		return nil, err
	}
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, t.mapErr(ctx, op, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	out := make([]offramp.Org, 0, len(ids))
	for _, id := range ids {
		o, err := t.Org(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}
