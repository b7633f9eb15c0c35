package service

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/engine"
	"github.com/offramp/offramp/ledger"
)

// InitiateInput is a payout/initiate request.
type InitiateInput struct {
	QuotationID       string
	CustomerID        string
	ExchangeOrderID   string
	ClientReferenceID string
	// IdempotencyKey and RequestHash come from the Idempotency-Key header
	// and the request's canonical body; empty key: no idempotency.
	IdempotencyKey string
	RequestHash    string
}

// InitiatePayout turns a quotation into a PROCESSING payout. Everything it
// decides happens in one transaction: the quotation is linked (once), the
// daily limit is used, the journal is written, the payout is queued for the
// engine and the idempotency key is recorded. A retry with the same
// Idempotency-Key and body returns the same payout (replayed = true).
func (s *Service) InitiatePayout(ctx context.Context, orgID uuid.UUID, in InitiateInput) (p offramp.Payout, replayed bool, err error) {
	in.ExchangeOrderID = strings.TrimSpace(in.ExchangeOrderID)
	in.ClientReferenceID = strings.TrimSpace(in.ClientReferenceID)
	in.IdempotencyKey = strings.TrimSpace(in.IdempotencyKey)
	var v offramp.Validation
	v.Required("quotation_id", in.QuotationID)
	v.Required("customer_id", in.CustomerID)
	if v.Required("exchange_order_id", in.ExchangeOrderID) {
		maxLen(&v, "exchange_order_id", in.ExchangeOrderID, 255)
	}
	maxLen(&v, "client_reference_id", in.ClientReferenceID, 255)
	if len(in.IdempotencyKey) > 255 {
		v.Add("Idempotency-Key", "Ensure this header has no more than 255 characters.")
	}
	if err := v.Err(); err != nil {
		return offramp.Payout{}, false, err
	}
	// Row-locked rather than SERIALIZABLE (offramp.Store.UpdateRowLocked):
	// every rule of an initiation is kept without reading an absence:
	//   - the daily limit: the customer's usage row is locked, checked and
	//     added to (LockLimitUsage, then a compare-and-set);
	//   - a quotation pays once: LinkQuotation is a compare-and-set on its
	//     status, and quotations_payout_id_key is unique;
	//   - one live payout per exchange order, one payout per client
	//     reference and per Idempotency-Key: unique indexes decide a race
	//     (the reads before them only choose the documented message);
	//   - the customer and the account are verified: the transactions that
	//     change those statuses read no payout and no usage, so an
	//     initiation that read the old status orders before them.
	// On PostgreSQL this keeps concurrent initiations from aborting each
	// other on the index pages their inserts share.
	err = s.store.UpdateRowLocked(ctx, func(tx offramp.Tx) error {
		p, replayed = offramp.Payout{}, false // fn may run again: start clean
		if in.IdempotencyKey != "" {
			rec, err := tx.Idempotency(ctx, orgID, in.IdempotencyKey)
			switch {
			case err == nil:
				if rec.RequestHash != in.RequestHash {
					return offramp.FieldError(offramp.CodeConflict, "Idempotency-Key", offramp.MsgIdempotencyMismatch)
				}
				p, err = tx.Payout(ctx, orgID, rec.PayoutID)
				replayed = true
				return err
			case !errors.Is(err, offramp.ErrNotFound):
				return err
			}
		}
		p, err = s.initiateIn(ctx, tx, orgID, in)
		if err != nil {
			return err
		}
		if in.IdempotencyKey != "" {
			return tx.PutIdempotency(ctx, offramp.IdempotencyRecord{
				OrgID: orgID, Key: in.IdempotencyKey, RequestHash: in.RequestHash, PayoutID: p.ID, CreatedAt: s.now(),
			})
		}
		return nil
	})
	if code := offramp.ErrorCode(err); err != nil && in.IdempotencyKey != "" && (code == offramp.CodeConflict || code == offramp.CodeRejected) {
		// On PostgreSQL a request racing another with the same key reads
		// no record for the key (the winner's is not committed yet) and
		// then loses on what the winner took: the payout's unique keys
		// (the live exchange order, the client reference: a conflict) or
		// the quotation, which the winner linked (rejected). The winner's
		// record commits with them: replay its payout.
		var rec offramp.IdempotencyRecord
		var won offramp.Payout
		if verr := s.store.View(ctx, func(tx offramp.ReadTx) error {
			var err error
			if rec, err = tx.Idempotency(ctx, orgID, in.IdempotencyKey); err != nil {
				return err
			}
			won, err = tx.Payout(ctx, orgID, rec.PayoutID)
			return err
		}); verr == nil {
			if rec.RequestHash != in.RequestHash {
				return offramp.Payout{}, false, offramp.FieldError(offramp.CodeConflict, "Idempotency-Key", offramp.MsgIdempotencyMismatch)
			}
			return won, true, nil
		}
	}
	if err != nil {
		// A refusal for a reference, order or quotation already taken
		// names the payout that took it (withExistingPayout).
		err = s.withExistingPayout(ctx, orgID, in, err)
	}
	return p, replayed, err
}

func (s *Service) initiateIn(ctx context.Context, tx offramp.Tx, orgID uuid.UUID, in InitiateInput) (offramp.Payout, error) {
	now := s.now()
	if in.ClientReferenceID != "" {
		if _, err := tx.PayoutIDByClientReference(ctx, orgID, in.ClientReferenceID); err == nil {
			return offramp.Payout{}, offramp.FieldError(offramp.CodeConflict, "client_reference_id", offramp.MsgClientRefExists)
		} else if !errors.Is(err, offramp.ErrNotFound) {
			return offramp.Payout{}, err
		}
	}
	qid, err := uuid.Parse(in.QuotationID)
	if err != nil {
		return offramp.Payout{}, offramp.FieldError(offramp.CodeNotFound, "quotation_id", offramp.MsgQuotationNotFound)
	}
	q, err := tx.Quotation(ctx, orgID, qid)
	if errors.Is(err, offramp.ErrNotFound) {
		return offramp.Payout{}, offramp.FieldError(offramp.CodeNotFound, "quotation_id", offramp.MsgQuotationNotFound)
	}
	if err != nil {
		return offramp.Payout{}, err
	}
	if q.CustomerID.String() != strings.ToLower(strings.TrimSpace(in.CustomerID)) {
		return offramp.Payout{}, offramp.FieldError(offramp.CodeRejected, "customer_id", offramp.MsgCustomerMismatch)
	}
	// Expiry is judged by the server's clock only.
	switch q.StatusAt(now) {
	case offramp.QuotationExpired:
		return offramp.Payout{}, offramp.FieldError(offramp.CodeRejected, "quotation_id", offramp.MsgQuotationExpired)
	case offramp.QuotationLinked:
		return offramp.Payout{}, offramp.FieldError(offramp.CodeRejected, "quotation_id", offramp.MsgQuotationLinked)
	}
	prior, err := tx.PayoutsByExchangeOrder(ctx, orgID, in.ExchangeOrderID)
	if err != nil {
		return offramp.Payout{}, err
	}
	for _, o := range prior {
		if o.Status.UsesLimit() {
			return offramp.Payout{}, offramp.FieldError(offramp.CodeConflict, "exchange_order_id", offramp.MsgOrderInUse)
		}
	}
	// The customer or the account may have changed since the quotation.
	c, b, err := s.payoutParties(ctx, tx, orgID, q.CustomerID.String(), q.BankID.String())
	if err != nil {
		return offramp.Payout{}, err
	}
	// The day's usage stays locked until the commit: a concurrent payout
	// of the same customer waits here and then sees this one's amount.
	used, err := tx.LockLimitUsage(ctx, orgID, c.ID, istDay(now))
	if err != nil {
		return offramp.Payout{}, err
	}
	l, err := s.limitsWith(ctx, tx, c, now, used)
	if err != nil {
		return offramp.Payout{}, err
	}
	if err := l.check(q.GrossFiat, s.payouts.PerTransactionLimit, s.payouts.EDDDailyLimit); err != nil {
		return offramp.Payout{}, err
	}

	id := offramp.NewID()
	p := offramp.Payout{
		ID: id, OrgID: orgID, CustomerID: c.ID, BankID: b.ID, QuotationID: q.ID,
		ClientReferenceID: in.ClientReferenceID, ExchangeOrderID: in.ExchangeOrderID,
		Asset: q.Asset, Fiat: q.Fiat, PaymentMethod: q.PaymentMethod,
		SendingAmount: q.SendingAmount, Rate: q.Rate, GrossFiat: q.GrossFiat, ReceivingAmount: q.ReceivingAmount, Fees: q.Fees,
		Status: offramp.PayoutProcessing, Phase: offramp.PhaseQueued,
		RailReference: "OFR" + strings.ReplaceAll(id.String(), "-", ""),
		LimitDay:      istDay(now), CreatedAt: now, UpdatedAt: now,
	}
	// The exchange order's live payout is checked above for the documented
	// message; the unique index on live payouts per order decides a race.
	if err := s.engine.Create(ctx, tx, p); err != nil {
		return offramp.Payout{}, err
	}
	if err := tx.LinkQuotation(ctx, orgID, q.ID, p.ID); err != nil {
		if errors.Is(err, offramp.ErrStale) {
			return offramp.Payout{}, offramp.FieldError(offramp.CodeRejected, "quotation_id", offramp.MsgQuotationLinked)
		}
		return offramp.Payout{}, err
	}
	err = tx.AddLimitUsage(ctx, orgID, c.ID, p.LimitDay, p.GrossFiat)
	return p, err
}

// Payout returns one of the organization's payouts.
func (s *Service) Payout(ctx context.Context, orgID uuid.UUID, rawID string) (offramp.Payout, error) {
	if strings.TrimSpace(rawID) == "" {
		return offramp.Payout{}, offramp.FieldError(offramp.CodeInvalid, "payout_id", offramp.MsgPayoutIDRequired)
	}
	id, err := uuid.Parse(rawID)
	if err != nil {
		return offramp.Payout{}, offramp.FieldError(offramp.CodeNotFound, "payout_id", offramp.MsgPayoutIDInvalid)
	}
	var p offramp.Payout
	err = s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		p, err = tx.Payout(ctx, orgID, id)
		return err
	})
	if errors.Is(err, offramp.ErrNotFound) {
		return offramp.Payout{}, offramp.FieldError(offramp.CodeNotFound, "payout_id", offramp.MsgPayoutIDInvalid)
	}
	return p, err
}

// HistoryFilter is the payout history query.
type HistoryFilter struct {
	Status     string
	CustomerID string
	StartDate  string // YYYY-MM-DD, Asia/Kolkata, inclusive
	EndDate    string // YYYY-MM-DD, Asia/Kolkata, inclusive
	// Extensions: the payout of a client reference, the payouts of an
	// exchange order (compared as initiate stored them, trimmed).
	ClientReferenceID string
	ExchangeOrderID   string
}

// PayoutHistory lists the organization's payouts, newest first.
func (s *Service) PayoutHistory(ctx context.Context, orgID uuid.UUID, h HistoryFilter, page offramp.Page) ([]offramp.Payout, int, error) {
	var (
		v offramp.Validation
		f offramp.PayoutFilter
	)
	if h.Status != "" {
		st := offramp.PayoutStatus(strings.ToUpper(h.Status))
		switch st {
		case offramp.PayoutProcessing, offramp.PayoutSuccess, offramp.PayoutFailed, offramp.PayoutRefunded, offramp.PayoutInReview:
			f.Status = st
		default:
			v.Add("payout_status", "Must be one of PROCESSING, SUCCESS, FAILED, REFUNDED, IN_REVIEW.")
		}
	}
	if h.CustomerID != "" {
		id, err := uuid.Parse(h.CustomerID)
		if err != nil {
			v.Add("customer_id", "Must be a valid UUID.")
		}
		f.CustomerID = id
	}
	if (h.StartDate == "") != (h.EndDate == "") {
		v.Add("date_range", "start_date and end_date must be used together")
	} else if h.StartDate != "" {
		from, err1 := time.ParseInLocation(time.DateOnly, h.StartDate, ist)
		to, err2 := time.ParseInLocation(time.DateOnly, h.EndDate, ist)
		switch {
		case err1 != nil:
			v.Add("start_date", "Enter a valid date in YYYY-MM-DD format.")
		case err2 != nil:
			v.Add("end_date", "Enter a valid date in YYYY-MM-DD format.")
		case to.Before(from):
			v.Add("date_range", "end_date must not be before start_date")
		default:
			f.From, f.To = from.UTC(), to.AddDate(0, 0, 1).UTC()
		}
	}
	f.ClientReferenceID = strings.TrimSpace(h.ClientReferenceID)
	f.ExchangeOrderID = strings.TrimSpace(h.ExchangeOrderID)
	if err := v.Err(); err != nil {
		return nil, 0, err
	}
	var (
		list  []offramp.Payout
		total int
	)
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		list, total, err = tx.ListPayouts(ctx, orgID, f, page)
		return err
	})
	return list, total, err
}

// LinkTransfer records the exchange's internal crypto transfer for an order
// and settles the receivable in the ledger. Linking the same pair again is
// a no-op; a different transfer id for an already linked order is refused.
func (s *Service) LinkTransfer(ctx context.Context, orgID uuid.UUID, orderID, transferID string) (offramp.Payout, error) {
	orderID, transferID = strings.TrimSpace(orderID), strings.TrimSpace(transferID)
	var v offramp.Validation
	v.Required("exchange_order_id", orderID)
	if v.Required("exchange_transfer_id", transferID) {
		maxLen(&v, "exchange_transfer_id", transferID, 255)
	}
	if err := v.Err(); err != nil {
		return offramp.Payout{}, err
	}
	var out offramp.Payout
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		list, err := tx.PayoutsByExchangeOrder(ctx, orgID, orderID)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return offramp.FieldError(offramp.CodeNotFound, "exchange_order_id", offramp.MsgOrderNotFound)
		}
		// The order's live payout if it has one, else its latest.
		p := list[0]
		for _, o := range list {
			if o.Status.UsesLimit() {
				p = o
				break
			}
		}
		switch p.ExchangeTransferID {
		case transferID:
			out = p
			return nil
		case "":
		default:
			return offramp.FieldError(offramp.CodeConflict, "exchange_transfer_id", offramp.MsgTransferIDLinked)
		}
		// A REFUNDED payout's crypto was settled without a transfer: a
		// transfer linked now would sit in the books with no payout to
		// settle it. (A FAILED one may be linked: the crypto is then owed
		// back to the exchange, and a refund settles it.)
		if p.Status == offramp.PayoutRefunded {
			return offramp.FieldError(offramp.CodeRejected, "exchange_order_id", offramp.MsgTransferOnRefunded)
		}
		p.ExchangeTransferID = transferID
		p.UpdatedAt = s.now()
		if err := tx.UpdatePayout(ctx, p, p.Status, p.Phase); err != nil {
			return err
		}
		out = p
		return tx.AppendJournal(ctx, ledger.Linked(p))
	})
	return out, err
}

// MockPayoutStatus forces a payout's outcome in sandbox: a PROCESSING payout
// may become SUCCESS or FAILED, a FAILED one REFUNDED. Anything else has no
// effect, as with DollarPe, and returns the payout unchanged.
func (s *Service) MockPayoutStatus(ctx context.Context, orgID uuid.UUID, payoutID, status string) (offramp.Payout, error) {
	if err := s.requireSandbox(); err != nil {
		return offramp.Payout{}, err
	}
	to := offramp.PayoutStatus(strings.ToUpper(strings.TrimSpace(status)))
	var v offramp.Validation
	v.Required("payout_id", payoutID)
	if v.Required("payout_status", string(to)) && to != offramp.PayoutSuccess && to != offramp.PayoutFailed && to != offramp.PayoutRefunded {
		v.Add("payout_status", "Must be SUCCESS, FAILED or REFUNDED.")
	}
	if err := v.Err(); err != nil {
		return offramp.Payout{}, err
	}
	p, err := s.Payout(ctx, orgID, payoutID)
	if err != nil {
		return offramp.Payout{}, err
	}
	var out offramp.Payout
	err = s.store.Update(ctx, func(tx offramp.Tx) error {
		cur, err := tx.Payout(ctx, orgID, p.ID)
		if err != nil {
			return err
		}
		out = cur
		actor, why := "api:"+orgID.String(), "sandbox mock-status "+string(to)
		switch {
		case cur.Status == offramp.PayoutProcessing && to == offramp.PayoutSuccess:
			out, err = s.engine.Move(ctx, tx, cur, offramp.PhasePaid, engine.Change{
				UTR: "MOCK" + strings.ToUpper(strings.ReplaceAll(cur.ID.String(), "-", ""))[:8], BankAnswer: "sandbox mock: SUCCESS",
				Actor: actor, Why: why,
			})
		case cur.Status == offramp.PayoutProcessing && to == offramp.PayoutFailed:
			out, err = s.engine.Move(ctx, tx, cur, offramp.PhaseRejected, engine.Change{Reason: "PAYOUT_FAILED", BankAnswer: "sandbox mock: FAILED",
				Actor: actor, Why: why})
		case cur.Status == offramp.PayoutFailed && to == offramp.PayoutRefunded:
			out, err = s.engine.Move(ctx, tx, cur, offramp.PhaseCryptoReturned, engine.Change{Actor: actor, Why: why})
		}
		return err
	})
	return out, err
}

// RefundPayout marks a FAILED payout REFUNDED once the exchange's crypto has
// been returned to it.
func (s *Service) RefundPayout(ctx context.Context, orgID uuid.UUID, payoutID string) (offramp.Payout, error) {
	p, err := s.Payout(ctx, orgID, payoutID)
	if err != nil {
		return offramp.Payout{}, err
	}
	var out offramp.Payout
	err = s.store.Update(ctx, func(tx offramp.Tx) error {
		var err error
		out, err = s.refundIn(ctx, tx, orgID, p.ID, engine.Change{Actor: "api:" + orgID.String(), Why: "the exchange reported the crypto returned"})
		return err
	})
	return out, err
}

// RefundPayoutBy is RefundPayout by an operator outside the console (the
// CLI), audited as ActionRefund with who and why.
func (s *Service) RefundPayoutBy(ctx context.Context, orgID uuid.UUID, payoutID, by, why string) (offramp.Payout, error) {
	p, err := s.Payout(ctx, orgID, payoutID)
	if err != nil {
		return offramp.Payout{}, err
	}
	var out offramp.Payout
	err = s.store.Update(ctx, func(tx offramp.Tx) error {
		var err error
		out, err = s.RefundPayoutIn(ctx, tx, orgID, p.ID, by, why)
		return err
	})
	return out, err
}

// ActionRefund is the audit action of a refund an operator made or
// approved.
const ActionRefund = "payout.refund"

// RefundPayoutIn marks a FAILED payout REFUNDED inside the caller's
// transaction, by an operator (by) for a reason (why), audited as
// ActionRefund.
func (s *Service) RefundPayoutIn(ctx context.Context, tx offramp.Tx, orgID, payoutID uuid.UUID, by, why string) (offramp.Payout, error) {
	var v offramp.Validation
	v.Required("by", strings.TrimSpace(by))
	v.Required("why", strings.TrimSpace(why))
	if err := v.Err(); err != nil {
		return offramp.Payout{}, err
	}
	return s.refundIn(ctx, tx, orgID, payoutID, engine.Change{Audit: &offramp.AuditEntry{
		Actor: strings.TrimSpace(by), Action: ActionRefund, Reason: strings.TrimSpace(why)}})
}

func (s *Service) refundIn(ctx context.Context, tx offramp.Tx, orgID, payoutID uuid.UUID, ch engine.Change) (offramp.Payout, error) {
	cur, err := tx.Payout(ctx, orgID, payoutID)
	if err != nil {
		return offramp.Payout{}, notFound(err, "payout_id", offramp.MsgPayoutIDInvalid)
	}
	if cur.Status != offramp.PayoutFailed {
		return offramp.Payout{}, offramp.Errorf(offramp.CodeRejected, "Only a FAILED payout can be refunded; this one is %s", cur.Status)
	}
	return s.engine.Move(ctx, tx, cur, offramp.PhaseCryptoReturned, ch)
}
