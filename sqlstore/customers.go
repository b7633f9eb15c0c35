package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

const customerSelect = `SELECT
	c.id, c.org_id, c.client_reference_id, c.full_name, c.email, c.phone, c.country,
	c.non_residence_status, c.residence_country, c.status, c.failure_reason, c.created_at, c.updated_at,
	k.customer_id, k.full_name, k.phone, k.full_address, k.dob, k.registered_date, k.tax_number,
	k.document_type, k.document_front_image_url, k.document_back_image_url, k.document_number,
	k.document_additional_data, k.selfie_url, k.selfie_verification_status, k.additional_info,
	k.update_count, k.attempt, k.submitted_at,
	EXISTS (SELECT 1 FROM edds e WHERE e.org_id = c.org_id AND e.customer_id = c.id AND e.status = 'VERIFIED')
FROM customers c LEFT JOIN customer_kyc k ON k.customer_id = c.id AND k.org_id = c.org_id`

// kycCols lists customer_kyc's columns in the order kycArgs gives values.
var kycCols = []string{
	"customer_id", "org_id", "full_name", "phone", "full_address", "dob", "registered_date",
	"tax_number", "tax_number_index", "document_type", "document_front_image_url",
	"document_back_image_url", "document_number", "document_number_index",
	"document_additional_data", "selfie_url", "selfie_verification_status", "additional_info",
	"update_count", "attempt", "submitted_at",
}

// kycUpsert writes a customer's KYC whether or not a row exists yet. ON
// CONFLICT ... DO UPDATE with excluded.* is the same in SQLite and
// PostgreSQL.
var kycUpsert = func() string {
	var set []string
	for _, c := range kycCols[2:] {
		set = append(set, c+" = excluded."+c)
	}
	return `INSERT INTO customer_kyc (` + strings.Join(kycCols, ", ") + `) VALUES (?` +
		strings.Repeat(", ?", len(kycCols)-1) + `) ON CONFLICT (customer_id) DO UPDATE SET ` +
		strings.Join(set, ", ")
}()

type rowScanner interface{ Scan(dest ...any) error }

func (t *tx) scanCustomer(r rowScanner) (offramp.Customer, error) {
	var c offramp.Customer
	var name string
	var k struct {
		customerID                             sql.Null[string]
		fullName, phone, address, dob, regDate sql.Null[string]
		tax, docType, docFront, docBack        sql.Null[string]
		docNumber, docData, selfieURL, info    sql.Null[string]
		selfieOK                               sql.Null[bool]
		updateCount, attempt                   sql.Null[int64]
	}
	kyc := new(offramp.KYC)
	err := r.Scan(&c.ID, &c.OrgID, &c.ClientReferenceID, &name, &c.Email, &c.Phone, &c.Country,
		&c.NonResidenceStatus, &c.ResidenceCountry, &c.Status, &c.FailureReason,
		timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt},
		&k.customerID, &k.fullName, &k.phone, &k.address, &k.dob, &k.regDate, &k.tax,
		&k.docType, &k.docFront, &k.docBack, &k.docNumber,
		&k.docData, &k.selfieURL, &k.selfieOK, &k.info,
		&k.updateCount, &k.attempt, timeCol{&kyc.SubmittedAt}, &c.EDDVerified)
	if err != nil {
		return offramp.Customer{}, err
	}
	cs := sealer{t: t, table: "customers", id: c.ID}
	c.FullName = cs.open("full_name", name)
	if cs.err != nil {
		return offramp.Customer{}, cs.err
	}
	if !k.customerID.Valid {
		return c, nil
	}
	ks := sealer{t: t, table: "customer_kyc", id: c.ID}
	kyc.FullName = ks.open("full_name", k.fullName.V)
	kyc.Phone = k.phone.V
	kyc.FullAddress = ks.open("full_address", k.address.V)
	kyc.DOB = ks.open("dob", k.dob.V)
	kyc.RegisteredDate = k.regDate.V
	kyc.TaxNumber = ks.open("tax_number", k.tax.V)
	kyc.DocumentType = k.docType.V
	kyc.DocumentFrontImageURL = k.docFront.V
	kyc.DocumentBackImageURL = k.docBack.V
	kyc.DocumentNumber = ks.open("document_number", k.docNumber.V)
	docData := ks.open("document_additional_data", k.docData.V)
	kyc.SelfieURL = k.selfieURL.V
	kyc.SelfieVerificationStatus = k.selfieOK.V
	info := ks.open("additional_info", k.info.V)
	kyc.UpdateCount = int(k.updateCount.V)
	kyc.Attempt = int(k.attempt.V)
	if ks.err != nil {
		return offramp.Customer{}, ks.err
	}
	if kyc.DocumentAdditionalData, err = decodeMap[any](docData); err != nil {
		return offramp.Customer{}, err
	}
	if kyc.AdditionalInfo, err = decodeMap[any](info); err != nil {
		return offramp.Customer{}, err
	}
	c.KYC = kyc
	return c, nil
}

func (t *tx) Customer(ctx context.Context, orgID, id uuid.UUID) (offramp.Customer, error) {
	const op = "get customer"
	c, err := t.scanCustomer(t.queryRow(ctx, customerSelect+` WHERE c.org_id = ? AND c.id = ?`, orgID, id))
	if err != nil {
		return offramp.Customer{}, t.mapErr(ctx, op, err)
	}
	return c, nil
}

// ListCustomers reads one page (see Page and the comment on pageArgs): the
// count from list_counts, the page by keyset or offset through
// customers_org_created_idx (org_id, created_at, id).
func (t *tx) ListCustomers(ctx context.Context, orgID uuid.UUID, page offramp.Page) ([]offramp.Customer, int, error) {
	const op = "list customers"
	pq, err := pageArgs(page)
	if err != nil {
		return nil, 0, err
	}
	total, err := t.listCount(ctx, op, orgID, listCustomers)
	if err != nil {
		return nil, 0, err
	}
	if pq.pastEnd(total, true) {
		return nil, total, nil
	}
	where, args := pq.where(t, `c.org_id = ?`, []any{orgID}, "c.created_at", "c.id", time.Time{}, time.Time{})
	tail, args := pq.tail(args, "c.created_at", "c.id")
	rows, err := t.query(ctx, op, customerSelect+` WHERE `+where+tail, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []offramp.Customer
	for rows.Next() {
		c, err := t.scanCustomer(rows)
		if err != nil {
			return nil, 0, t.mapErr(ctx, op, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, t.mapErr(ctx, op, err)
	}
	return pageRows(pq, out), total, nil
}

// customerLookups maps CustomerIDBy's fields to a query taking (org_id,
// value). Identity numbers are not unique (a customer can be reset and
// another submit the same number before the service notices), so those
// return the earliest submission.
var customerLookups = map[string]struct {
	query string
	index string // blind index kind, "" for a plaintext column
}{
	"email":               {`SELECT id FROM customers WHERE org_id = ? AND email = ?`, ""},
	"phone":               {`SELECT id FROM customers WHERE org_id = ? AND phone = ?`, ""},
	"client_reference_id": {`SELECT id FROM customers WHERE org_id = ? AND client_reference_id = ?`, ""},
	"tax_number": {`SELECT customer_id FROM customer_kyc WHERE org_id = ? AND tax_number_index = ?
		ORDER BY submitted_at, customer_id LIMIT 1`, "tax_number"},
	"document_number": {`SELECT customer_id FROM customer_kyc WHERE org_id = ? AND document_number_index = ?
		ORDER BY submitted_at, customer_id LIMIT 1`, "document_number"},
}

// CustomerIDBy finds a customer by a unique-ish field. An empty value never
// matches: it means "not given", not "the customer without one".
func (t *tx) CustomerIDBy(ctx context.Context, orgID uuid.UUID, field, value string) (uuid.UUID, error) {
	l, ok := customerLookups[field]
	if !ok {
		return uuid.Nil, fmt.Errorf("sqlstore: CustomerIDBy: unknown field %q", field)
	}
	op := "find customer by " + field
	if value == "" {
		return uuid.Nil, notFound(op)
	}
	var arg any = value
	if l.index != "" {
		arg = t.blindIndex(l.index, value)
	}
	var id uuid.UUID
	err := t.scanOne(ctx, op, l.query, []any{orgID, arg}, &id)
	return id, err
}

func (t *tx) CreateCustomer(ctx context.Context, c offramp.Customer) error {
	const op = "create customer"
	created := orNow(c.CreatedAt, t.now)
	updated := created
	if !c.UpdatedAt.IsZero() {
		updated = normTime(c.UpdatedAt)
	}
	name, err := t.seal("customers", "full_name", c.ID, c.FullName)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, op, `INSERT INTO customers (id, org_id, client_reference_id, full_name, email, phone,
		country, non_residence_status, residence_country, status, failure_reason, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.OrgID, c.ClientReferenceID, name, c.Email, c.Phone, c.Country, c.NonResidenceStatus,
		c.ResidenceCountry, string(c.Status), c.FailureReason, t.ts(created), t.ts(updated))
	if err != nil {
		return err
	}
	if c.KYC != nil {
		return t.putKYC(ctx, op, c.OrgID, c.ID, c.KYC)
	}
	return nil
}

func (t *tx) UpdateCustomer(ctx context.Context, c offramp.Customer, from offramp.CustomerStatus) error {
	const op = "update customer"
	name, err := t.seal("customers", "full_name", c.ID, c.FullName)
	if err != nil {
		return err
	}
	n, err := t.execAffected(ctx, op, `UPDATE customers SET client_reference_id = ?, full_name = ?,
		email = ?, phone = ?, country = ?, non_residence_status = ?, residence_country = ?,
		status = ?, failure_reason = ?, updated_at = ?
		WHERE id = ? AND org_id = ? AND status = ?`,
		c.ClientReferenceID, name, c.Email, c.Phone, c.Country, c.NonResidenceStatus,
		c.ResidenceCountry, string(c.Status), c.FailureReason, t.ts(orNow(c.UpdatedAt, t.now)),
		c.ID, c.OrgID, string(from))
	if err != nil {
		return err
	}
	if n == 0 {
		return t.staleOrNotFound(ctx, op, `SELECT COUNT(*) FROM customers WHERE id = ? AND org_id = ?`, c.ID, c.OrgID)
	}
	if c.KYC == nil {
		_, err := t.exec(ctx, op, `DELETE FROM customer_kyc WHERE customer_id = ? AND org_id = ?`, c.ID, c.OrgID)
		return err
	}
	return t.putKYC(ctx, op, c.OrgID, c.ID, c.KYC)
}

// staleOrNotFound explains a compare-and-set that changed nothing: the row
// is missing (ErrNotFound) or in another state (ErrStale).
func (t *tx) staleOrNotFound(ctx context.Context, op, countQuery string, args ...any) error {
	n, err := t.count(ctx, op, countQuery, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op)
	}
	return stale(op)
}

func (t *tx) putKYC(ctx context.Context, op string, orgID, customerID uuid.UUID, k *offramp.KYC) error {
	docData, err := encodeMap(k.DocumentAdditionalData)
	if err != nil {
		return err
	}
	info, err := encodeMap(k.AdditionalInfo)
	if err != nil {
		return err
	}
	s := sealer{t: t, table: "customer_kyc", id: customerID}
	args := []any{
		customerID, orgID,
		s.seal("full_name", k.FullName),
		k.Phone,
		s.seal("full_address", k.FullAddress),
		s.seal("dob", k.DOB),
		k.RegisteredDate,
		s.seal("tax_number", k.TaxNumber),
		t.blindIndex("tax_number", k.TaxNumber),
		k.DocumentType, k.DocumentFrontImageURL, k.DocumentBackImageURL,
		s.seal("document_number", k.DocumentNumber),
		t.blindIndex("document_number", k.DocumentNumber),
		s.seal("document_additional_data", docData),
		k.SelfieURL, k.SelfieVerificationStatus,
		s.seal("additional_info", info),
		k.UpdateCount, k.Attempt, t.ts(k.SubmittedAt),
	}
	if s.err != nil {
		return s.err
	}
	_, err = t.exec(ctx, op, kycUpsert, args...)
	return err
}
