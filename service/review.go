package service

import (
	"context"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/engine"
)

// ResolvePayout settles an IN_REVIEW payout by an operator's decision (see
// engine.Engine.Resolve). The CLI and the operator console both call it.
func (s *Service) ResolvePayout(ctx context.Context, r engine.Resolution) (offramp.Payout, error) {
	return s.engine.Resolve(ctx, r)
}

// ResolvePayoutIn is ResolvePayout inside the caller's transaction (an
// approval that commits with its effect).
func (s *Service) ResolvePayoutIn(ctx context.Context, tx offramp.Tx, r engine.Resolution) (offramp.Payout, error) {
	return s.engine.ResolveIn(ctx, tx, r)
}

// AdminPayouts lists payouts across organizations, oldest first, for
// operators (never for an API caller).
func (s *Service) AdminPayouts(ctx context.Context, f offramp.PayoutFilter, limit int) ([]offramp.Payout, error) {
	if limit <= 0 || limit > 10_000 {
		limit = 1000
	}
	var out []offramp.Payout
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		out, err = tx.AdminPayouts(ctx, f, limit)
		return err
	})
	return out, err
}
