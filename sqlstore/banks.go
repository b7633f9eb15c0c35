package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

const bankCols = `id, org_id, customer_id, type, account_number, ifsc, account_name, vpa,
	status, failure_reason, created_at, updated_at`

func (t *tx) scanBank(r rowScanner) (offramp.BankAccount, error) {
	var b offramp.BankAccount
	var number, name, vpa string
	err := r.Scan(&b.ID, &b.OrgID, &b.CustomerID, &b.Type, &number, &b.IFSC, &name, &vpa,
		&b.Status, &b.FailureReason, timeCol{&b.CreatedAt}, timeCol{&b.UpdatedAt})
	if err != nil {
		return offramp.BankAccount{}, err
	}
	s := sealer{t: t, table: "bank_accounts", id: b.ID}
	b.AccountNumber = s.open("account_number", number)
	b.AccountName = s.open("account_name", name)
	b.VPA = s.open("vpa", vpa)
	if s.err != nil {
		return offramp.BankAccount{}, s.err
	}
	return b, nil
}

func (t *tx) BankAccount(ctx context.Context, orgID, id uuid.UUID) (offramp.BankAccount, error) {
	const op = "get bank account"
	b, err := t.scanBank(t.queryRow(ctx, `SELECT `+bankCols+` FROM bank_accounts WHERE org_id = ? AND id = ?`, orgID, id))
	if err != nil {
		return offramp.BankAccount{}, t.mapErr(ctx, op, err)
	}
	return b, nil
}

// ListBankAccounts lists a customer's accounts, or with customerID ==
// uuid.Nil every account of the organization (see Page and the comment on
// pageArgs). A customer has a few accounts (limited slots), so the capped
// count is exact for a customer's.
func (t *tx) ListBankAccounts(ctx context.Context, orgID, customerID uuid.UUID, page offramp.Page) ([]offramp.BankAccount, int, error) {
	const op = "list bank accounts"
	pq, err := pageArgs(page)
	if err != nil {
		return nil, 0, err
	}
	where, args := `org_id = ?`, []any{orgID}
	if customerID != uuid.Nil {
		where, args = where+` AND customer_id = ?`, append(args, customerID)
	}
	total, exact, err := t.cappedCount(ctx, op, `bank_accounts WHERE `+where, args)
	if err != nil {
		return nil, 0, err
	}
	if pq.pastEnd(total, exact) {
		return nil, total, nil
	}
	where, args = pq.where(t, where, args, "created_at", "id", time.Time{}, time.Time{})
	tail, args := pq.tail(args, "created_at", "id")
	rows, err := t.query(ctx, op, `SELECT `+bankCols+` FROM bank_accounts WHERE `+where+tail, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []offramp.BankAccount
	for rows.Next() {
		b, err := t.scanBank(rows)
		if err != nil {
			return nil, 0, t.mapErr(ctx, op, err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, t.mapErr(ctx, op, err)
	}
	return pageRows(pq, out), total, nil
}

// CountBankAccounts counts a customer's accounts of one type (of every
// type when typ is "") that are not FAILED: a failed verification does not
// use up one of the customer's slots.
func (t *tx) CountBankAccounts(ctx context.Context, orgID, customerID uuid.UUID, typ offramp.BankAccountType) (int, error) {
	const op = "count bank accounts"
	query := `SELECT COUNT(*) FROM bank_accounts WHERE org_id = ? AND customer_id = ? AND status <> ?`
	args := []any{orgID, customerID, string(offramp.BankFailed)}
	if typ != "" {
		query, args = query+` AND type = ?`, append(args, string(typ))
	}
	return t.count(ctx, op, query, args...)
}

var bankLookups = map[string]string{
	"account_number": `SELECT id FROM bank_accounts WHERE org_id = ? AND account_number_index = ?`,
	"vpa":            `SELECT id FROM bank_accounts WHERE org_id = ? AND vpa_index = ?`,
}

// BankAccountIDBy finds an account by its number or VPA through the blind
// index. An empty value never matches.
func (t *tx) BankAccountIDBy(ctx context.Context, orgID uuid.UUID, field, value string) (uuid.UUID, error) {
	query, ok := bankLookups[field]
	if !ok {
		return uuid.Nil, fmt.Errorf("sqlstore: BankAccountIDBy: unknown field %q", field)
	}
	op := "find bank account by " + field
	if value == "" {
		return uuid.Nil, notFound(op)
	}
	var id uuid.UUID
	err := t.scanOne(ctx, op, query, []any{orgID, t.blindIndex(field, value)}, &id)
	return id, err
}

func (t *tx) CreateBankAccount(ctx context.Context, b offramp.BankAccount) error {
	created := orNow(b.CreatedAt, t.now)
	updated := created
	if !b.UpdatedAt.IsZero() {
		updated = normTime(b.UpdatedAt)
	}
	s := sealer{t: t, table: "bank_accounts", id: b.ID}
	number := s.seal("account_number", b.AccountNumber)
	name := s.seal("account_name", b.AccountName)
	vpa := s.seal("vpa", b.VPA)
	if s.err != nil {
		return s.err
	}
	_, err := t.exec(ctx, "create bank account", `INSERT INTO bank_accounts (id, org_id, customer_id, type,
		account_number, account_number_index, ifsc, account_name, vpa, vpa_index, status, failure_reason,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.OrgID, b.CustomerID, string(b.Type),
		number, t.blindIndex("account_number", b.AccountNumber), b.IFSC, name,
		vpa, t.blindIndex("vpa", b.VPA), string(b.Status), b.FailureReason,
		t.ts(created), t.ts(updated))
	return err
}

func (t *tx) SetBankStatus(ctx context.Context, orgID, id uuid.UUID, from, to offramp.BankStatus, reason string, at time.Time) error {
	const op = "set bank status"
	n, err := t.execAffected(ctx, op, `UPDATE bank_accounts SET status = ?, failure_reason = ?, updated_at = ?
		WHERE id = ? AND org_id = ? AND status = ?`,
		string(to), reason, t.ts(orNow(at, t.now)), id, orgID, string(from))
	if err != nil {
		return err
	}
	if n == 0 {
		return t.staleOrNotFound(ctx, op, `SELECT COUNT(*) FROM bank_accounts WHERE id = ? AND org_id = ?`, id, orgID)
	}
	return nil
}
