package sqlstore

import (
	"context"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// EDD's source of income, document URLs (pre-signed links to bank
// statements and tax returns) and the passwords of those documents are all
// sealed; the lists as JSON arrays, empty ones reading back as nil.
const eddCols = `id, org_id, customer_id, status, source_of_income, bank_statement_urls,
	bank_statement_passwords, itr_report_urls, itr_report_passwords, declaration, failure_reason,
	created_at, updated_at`

func (t *tx) scanEDD(r rowScanner) (offramp.EDD, error) {
	var e offramp.EDD
	var income, bsURLs, bsPasswords, itrURLs, itrPasswords string
	err := r.Scan(&e.ID, &e.OrgID, &e.CustomerID, &e.Status, &income, &bsURLs,
		&bsPasswords, &itrURLs, &itrPasswords, &e.Declaration, &e.FailureReason,
		timeCol{&e.CreatedAt}, timeCol{&e.UpdatedAt})
	if err != nil {
		return offramp.EDD{}, err
	}
	s := sealer{t: t, table: "edds", id: e.ID}
	e.SourceOfIncome = s.open("source_of_income", income)
	lists := []struct {
		column, sealed string
		dst            *[]string
	}{
		{"bank_statement_urls", bsURLs, &e.BankStatementURLs},
		{"bank_statement_passwords", bsPasswords, &e.BankStatementPasswords},
		{"itr_report_urls", itrURLs, &e.ITRReportURLs},
		{"itr_report_passwords", itrPasswords, &e.ITRReportPasswords},
	}
	for _, l := range lists {
		plain := s.open(l.column, l.sealed)
		if s.err != nil {
			return offramp.EDD{}, s.err
		}
		if *l.dst, err = decodeList(plain); err != nil {
			return offramp.EDD{}, err
		}
	}
	if s.err != nil {
		return offramp.EDD{}, s.err
	}
	return e, nil
}

func (t *tx) EDD(ctx context.Context, orgID, id uuid.UUID) (offramp.EDD, error) {
	const op = "get edd"
	e, err := t.scanEDD(t.queryRow(ctx, `SELECT `+eddCols+` FROM edds WHERE org_id = ? AND id = ?`, orgID, id))
	if err != nil {
		return offramp.EDD{}, t.mapErr(ctx, op, err)
	}
	return e, nil
}

// LatestEDD is the customer's newest submission (created_at, then id).
func (t *tx) LatestEDD(ctx context.Context, orgID, customerID uuid.UUID) (offramp.EDD, error) {
	const op = "get latest edd"
	e, err := t.scanEDD(t.queryRow(ctx, `SELECT `+eddCols+` FROM edds WHERE org_id = ? AND customer_id = ?
		ORDER BY created_at DESC, id DESC LIMIT 1`, orgID, customerID))
	if err != nil {
		return offramp.EDD{}, t.mapErr(ctx, op, err)
	}
	return e, nil
}

// CreateEDD inserts e. Zero CreatedAt is filled from the clock and a zero
// UpdatedAt from CreatedAt.
func (t *tx) CreateEDD(ctx context.Context, e offramp.EDD) error {
	const op = "create edd"
	created := orNow(e.CreatedAt, t.now)
	updated := created
	if !e.UpdatedAt.IsZero() {
		updated = normTime(e.UpdatedAt)
	}
	s := sealer{t: t, table: "edds", id: e.ID}
	sealList := func(column string, l []string) string {
		if s.err != nil {
			return ""
		}
		plain, err := encodeList(l)
		if err != nil {
			s.err = err
			return ""
		}
		return s.seal(column, plain)
	}
	income := s.seal("source_of_income", e.SourceOfIncome)
	bsURLs := sealList("bank_statement_urls", e.BankStatementURLs)
	bsPasswords := sealList("bank_statement_passwords", e.BankStatementPasswords)
	itrURLs := sealList("itr_report_urls", e.ITRReportURLs)
	itrPasswords := sealList("itr_report_passwords", e.ITRReportPasswords)
	if s.err != nil {
		return s.err
	}
	_, err := t.exec(ctx, op, `INSERT INTO edds (`+eddCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.OrgID, e.CustomerID, string(e.Status), income, bsURLs,
		bsPasswords, itrURLs, itrPasswords, e.Declaration, e.FailureReason,
		t.ts(created), t.ts(updated))
	return err
}

// UpdateEDD is a compare-and-set on status; it writes the status, failure
// reason and updated_at (from the clock when zero). The submission itself
// never changes: a new one is a new EDD.
func (t *tx) UpdateEDD(ctx context.Context, e offramp.EDD, from offramp.EDDStatus) error {
	const op = "update edd"
	n, err := t.execAffected(ctx, op, `UPDATE edds SET status = ?, failure_reason = ?, updated_at = ?
		WHERE org_id = ? AND id = ? AND status = ?`,
		string(e.Status), e.FailureReason, t.ts(orNow(e.UpdatedAt, t.now)), e.OrgID, e.ID, string(from))
	if err != nil {
		return err
	}
	if n == 0 {
		return t.staleOrNotFound(ctx, op, `SELECT COUNT(*) FROM edds WHERE org_id = ? AND id = ?`, e.OrgID, e.ID)
	}
	return nil
}
