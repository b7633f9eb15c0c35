package service

import (
	"context"
	"errors"
	"slices"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// withExistingPayout adds to a refused initiate's error the payout that
// already holds what the request asked for (offramp.Error.ExistingPayoutID):
// the payout of the client reference, the live payout of the exchange
// order, or the payout the quotation is linked to. An exchange that retries
// without an Idempotency-Key after losing the first answer (the 201 timed
// out on the way back) learns which payout its first attempt made, instead
// of only that something is in the way.
//
// The payout is read after the initiate's transaction, which rolled back:
// the conflict was decided by a committed payout (a read in the
// transaction, or a unique index that waited for the other transaction's
// commit), so a fresh read finds it. The lookups are those of initiate, by
// their indexes. When the read fails or finds nothing (the holder has moved
// on since: the order's payout FAILED meanwhile), err is returned as it was:
// the refusal is right either way, the id is a courtesy.
func (s *Service) withExistingPayout(ctx context.Context, orgID uuid.UUID, in InitiateInput, err error) error {
	var e *offramp.Error
	if !errors.As(err, &e) || e.ExistingPayoutID != uuid.Nil {
		return err
	}
	refused := func(field, msg string) bool { return e.Message == msg && slices.Contains(e.Fields[field], msg) }
	var find func(tx offramp.ReadTx) (uuid.UUID, error)
	switch {
	case refused("client_reference_id", offramp.MsgClientRefExists):
		find = func(tx offramp.ReadTx) (uuid.UUID, error) {
			return tx.PayoutIDByClientReference(ctx, orgID, in.ClientReferenceID)
		}
	case refused("exchange_order_id", offramp.MsgOrderInUse):
		find = func(tx offramp.ReadTx) (uuid.UUID, error) {
			list, err := tx.PayoutsByExchangeOrder(ctx, orgID, in.ExchangeOrderID)
			if err != nil {
				return uuid.Nil, err
			}
			for _, p := range list {
				if p.Status.UsesLimit() { // the order's live payout: at most one
					return p.ID, nil
				}
			}
			return uuid.Nil, nil
		}
	case refused("quotation_id", offramp.MsgQuotationLinked):
		qid, perr := uuid.Parse(in.QuotationID)
		if perr != nil {
			return err
		}
		find = func(tx offramp.ReadTx) (uuid.UUID, error) {
			q, err := tx.Quotation(ctx, orgID, qid)
			if err != nil || q.Status != offramp.QuotationLinked {
				return uuid.Nil, err
			}
			return q.PayoutID, nil
		}
	default:
		return err
	}
	var id uuid.UUID
	if verr := s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		id, err = find(tx)
		return err
	}); verr != nil || id == uuid.Nil {
		return err
	}
	out := *e // e may be shared: the copy carries the id
	out.ExistingPayoutID = id
	return &out
}
