package sqlstore

import (
	"context"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

const railAccountCols = `provider, org_id, bank_id, contact_id, account_id, created_at`

// RailAccount reads one remembered beneficiary by its primary key.
func (t *tx) RailAccount(ctx context.Context, provider string, orgID, bankID uuid.UUID) (offramp.RailAccount, error) {
	const op = "get rail account"
	var a offramp.RailAccount
	err := t.queryRow(ctx, `SELECT `+railAccountCols+` FROM rail_accounts WHERE provider = ? AND org_id = ? AND bank_id = ?`,
		provider, orgID, bankID).Scan(&a.Provider, &a.OrgID, &a.BankID, &a.ContactID, &a.AccountID, timeCol{&a.CreatedAt})
	if err != nil {
		return offramp.RailAccount{}, t.mapErr(ctx, op, err)
	}
	return a, nil
}

// PutRailAccount inserts unless the key is taken (ON CONFLICT DO NOTHING,
// so no statement fails and the transaction stays usable on PostgreSQL),
// then returns the stored row: the first writer's ids win.
func (t *tx) PutRailAccount(ctx context.Context, a offramp.RailAccount) (offramp.RailAccount, error) {
	const op = "put rail account"
	var v offramp.Validation
	v.Required("provider", a.Provider)
	v.Required("account_id", a.AccountID)
	if err := v.Err(); err != nil {
		return offramp.RailAccount{}, err
	}
	if _, err := t.exec(ctx, op, `INSERT INTO rail_accounts (`+railAccountCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (provider, org_id, bank_id) DO NOTHING`,
		a.Provider, a.OrgID, a.BankID, a.ContactID, a.AccountID, t.ts(orNow(a.CreatedAt, t.now))); err != nil {
		return offramp.RailAccount{}, err
	}
	return t.RailAccount(ctx, a.Provider, a.OrgID, a.BankID)
}
