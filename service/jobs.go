package service

import (
	"context"
	"fmt"

	"github.com/offramp/offramp"
)

// RunJob does the work of one background job. It is idempotent: running a
// job twice (after a crash, or when a lease lapsed) changes nothing the
// second time, because every status change is a compare-and-set.
func (s *Service) RunJob(ctx context.Context, j offramp.Job) error {
	switch j.Kind {
	case offramp.JobVerifyKYC:
		if s.verifier == nil {
			return nil
		}
		return s.runKYCJob(ctx, j)
	case offramp.JobVerifyBank:
		if s.verifier == nil {
			return nil
		}
		return s.runBankJob(ctx, j)
	case offramp.JobProcessPayout:
		return s.engine.RunJob(ctx, j)
	case offramp.JobDeliverWebhook:
		return s.deliverer.Run(ctx, j)
	case offramp.JobVerifyEDD:
		if s.verifier == nil {
			return nil
		}
		return s.runEDDJob(ctx, j)
	}
	return fmt.Errorf("unknown job kind %q", j.Kind)
}

// FinishesOwnJobs reports whether RunJob completes or reschedules every
// job of kind in the transaction that records its work (payout steps and
// webhook deliveries do), so that a worker need not finish it after a
// success: see worker.Pool.HandlerFinishes.
func FinishesOwnJobs(kind offramp.JobKind) bool {
	return kind == offramp.JobProcessPayout || kind == offramp.JobDeliverWebhook
}
