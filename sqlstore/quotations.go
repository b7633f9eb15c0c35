package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

const quotationCols = `id, org_id, customer_id, bank_id, asset, fiat, payment_method,
	sending_amount, rate, gross_fiat, receiving_amount, fees, risk_parameters, status, payout_id,
	created_at, expires_at`

// riskJSON is the sealed form of RiskParameters. The report flags are
// sealed with the address and device: that a report was filed is itself
// sensitive.
type riskJSON struct {
	IPAddress                  string `json:"ip_address"`
	DeviceID                   string `json:"device_id"`
	SuspiciousActivityReport   bool   `json:"suspicious_activity_report"`
	LawEnforcementAgencyReport bool   `json:"law_enforcement_agency_report"`
}

// nullID stores uuid.Nil as NULL ("none"); a NULL reads back as uuid.Nil.
func nullID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id
}

func (t *tx) scanQuotation(r rowScanner) (offramp.Quotation, error) {
	var q offramp.Quotation
	var fees, risk string
	err := r.Scan(&q.ID, &q.OrgID, &q.CustomerID, &q.BankID, &q.Asset, &q.Fiat, &q.PaymentMethod,
		decCol{&q.SendingAmount}, decCol{&q.Rate}, decCol{&q.GrossFiat}, decCol{&q.ReceivingAmount},
		&fees, &risk, &q.Status, &q.PayoutID, timeCol{&q.CreatedAt}, timeCol{&q.ExpiresAt})
	if err != nil {
		return offramp.Quotation{}, err
	}
	if q.Fees, err = decodeFees(fees); err != nil {
		return offramp.Quotation{}, err
	}
	plain, err := t.open("quotations", "risk_parameters", q.ID, risk)
	if err != nil {
		return offramp.Quotation{}, err
	}
	var rj riskJSON
	if err := json.Unmarshal([]byte(plain), &rj); err != nil {
		// Not wrapped: a JSON error quotes its (sealed) input.
		return offramp.Quotation{}, fmt.Errorf("sqlstore: decode risk parameters of quotation %s: malformed JSON", q.ID)
	}
	q.Risk = offramp.RiskParameters(rj)
	return q, nil
}

func (t *tx) Quotation(ctx context.Context, orgID, id uuid.UUID) (offramp.Quotation, error) {
	const op = "get quotation"
	q, err := t.scanQuotation(t.queryRow(ctx, `SELECT `+quotationCols+` FROM quotations WHERE org_id = ? AND id = ?`, orgID, id))
	if err != nil {
		return offramp.Quotation{}, t.mapErr(ctx, op, err)
	}
	return q, nil
}

// CreateQuotation stores q as given; a zero CreatedAt is filled from the
// clock, ExpiresAt is stored as given.
func (t *tx) CreateQuotation(ctx context.Context, q offramp.Quotation) error {
	const op = "create quotation"
	fees, err := encodeFees(q.Fees)
	if err != nil {
		return err
	}
	risk, err := json.Marshal(riskJSON(q.Risk))
	if err != nil {
		return fmt.Errorf("sqlstore: %s: encode risk parameters: %w", op, err)
	}
	sealedRisk, err := t.seal("quotations", "risk_parameters", q.ID, string(risk))
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, op, `INSERT INTO quotations (`+quotationCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		q.ID, q.OrgID, q.CustomerID, q.BankID, q.Asset, q.Fiat, q.PaymentMethod,
		decText(q.SendingAmount), decText(q.Rate), decText(q.GrossFiat), decText(q.ReceivingAmount),
		fees, sealedRisk, string(q.Status), nullID(q.PayoutID),
		t.ts(orNow(q.CreatedAt, t.now)), t.ts(q.ExpiresAt))
	return err
}

// LinkQuotation is a compare-and-set on status UNLINKED. Whether the
// quotation has expired is the service's question (it knows the time); a
// quotation a sweep already marked EXPIRED is stale here.
func (t *tx) LinkQuotation(ctx context.Context, orgID, id, payoutID uuid.UUID) error {
	const op = "link quotation"
	if payoutID == uuid.Nil {
		return fmt.Errorf("sqlstore: %s: no payout id", op)
	}
	n, err := t.execAffected(ctx, op, `UPDATE quotations SET status = ?, payout_id = ?
		WHERE org_id = ? AND id = ? AND status = ?`,
		string(offramp.QuotationLinked), payoutID, orgID, id, string(offramp.QuotationUnlinked))
	if err != nil {
		return err
	}
	if n == 0 {
		return t.staleOrNotFound(ctx, op, `SELECT COUNT(*) FROM quotations WHERE org_id = ? AND id = ?`, orgID, id)
	}
	return nil
}
