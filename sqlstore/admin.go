package sqlstore

import (
	"context"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// Lookups across organizations, for operator commands only: an API caller's
// lookups are always scoped to its organization.

func (t *tx) CustomerAnyOrg(ctx context.Context, id uuid.UUID) (offramp.Customer, error) {
	const op = "get customer (any organization)"
	c, err := t.scanCustomer(t.queryRow(ctx, customerSelect+` WHERE c.id = ?`, id))
	if err != nil {
		return offramp.Customer{}, t.mapErr(ctx, op, err)
	}
	return c, nil
}

func (t *tx) BankAccountAnyOrg(ctx context.Context, id uuid.UUID) (offramp.BankAccount, error) {
	const op = "get bank account (any organization)"
	b, err := t.scanBank(t.queryRow(ctx, `SELECT `+bankCols+` FROM bank_accounts WHERE id = ?`, id))
	if err != nil {
		return offramp.BankAccount{}, t.mapErr(ctx, op, err)
	}
	return b, nil
}

// AdminCustomers lists customers in status, least recently updated first
// (customers_status_updated_idx).
func (t *tx) AdminCustomers(ctx context.Context, status offramp.CustomerStatus, limit int) ([]offramp.Customer, error) {
	const op = "list customers (every organization)"
	if limit < 1 {
		return nil, offramp.Errorf(offramp.CodeInvalid, "limit must be positive")
	}
	rows, err := t.query(ctx, op, customerSelect+` WHERE c.status = ? ORDER BY c.updated_at, c.id LIMIT ?`, string(status), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []offramp.Customer
	for rows.Next() {
		c, err := t.scanCustomer(rows)
		if err != nil {
			return nil, t.mapErr(ctx, op, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	return out, nil
}

// AdminBankAccounts lists bank accounts in status, least recently updated
// first (bank_accounts_status_updated_idx).
func (t *tx) AdminBankAccounts(ctx context.Context, status offramp.BankStatus, limit int) ([]offramp.BankAccount, error) {
	const op = "list bank accounts (every organization)"
	if limit < 1 {
		return nil, offramp.Errorf(offramp.CodeInvalid, "limit must be positive")
	}
	rows, err := t.query(ctx, op, `SELECT `+bankCols+` FROM bank_accounts WHERE status = ? ORDER BY updated_at, id LIMIT ?`, string(status), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []offramp.BankAccount
	for rows.Next() {
		b, err := t.scanBank(rows)
		if err != nil {
			return nil, t.mapErr(ctx, op, err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	return out, nil
}
