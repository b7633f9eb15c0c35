package service

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// The payout engine. Each run of a process_payout job takes one step and,
// in the same transaction as the step's phase change, schedules the next
// job, so a crash at any point leaves a recorded phase and a job to resume
// from it:
//
//	QUEUED --record SUBMITTING--> Submit --ACCEPTED--> SUBMITTED --inquire--> PAID | REJECTED
//	                                     --error/timeout--> OUTCOME_UNKNOWN --inquire-->
//	SUBMITTING found on a run (crash mid-call) --> OUTCOME_UNKNOWN
//
// The engine never submits a transfer whose outcome is unknown. It asks the
// bank; only if the bank has no transfer under the payout's reference, and
// the bank refuses duplicate references, does it submit again under the
// same reference. After MaxInquiries open answers the payout goes to
// IN_REVIEW for an operator.

// runPayoutJob takes a payout one step further.
func (s *Service) runPayoutJob(ctx context.Context, j offramp.Job) error {
	if s.payouts.Rail == nil {
		return errors.New("no bank rail is configured")
	}
	var p offramp.Payout
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		p, err = tx.Payout(ctx, j.OrgID, j.RefID)
		return err
	})
	if errors.Is(err, offramp.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if p.Status != offramp.PayoutProcessing {
		return nil // decided meanwhile (a mock, an operator, an earlier run)
	}
	switch p.Phase {
	case offramp.PhaseQueued:
		return s.submit(ctx, p)
	case offramp.PhaseSubmitting:
		// A run died between recording the submission and recording its
		// result: the bank may have the transfer. Ask, never resend.
		return s.update(ctx, p, func(tx offramp.Tx, p offramp.Payout) error {
			return s.setPhase(ctx, tx, p, offramp.PhaseOutcomeUnknown, 0)
		})
	case offramp.PhaseSubmitted, offramp.PhaseOutcomeUnknown:
		return s.inquire(ctx, p)
	}
	return nil
}

// submit records the submission, then sends the transfer to the bank.
func (s *Service) submit(ctx context.Context, p offramp.Payout) error {
	recorded := false
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		recorded = false // fn may run again on PostgreSQL: start clean
		cur, err := tx.Payout(ctx, p.OrgID, p.ID)
		if err != nil || cur.Status != offramp.PayoutProcessing || cur.Phase != offramp.PhaseQueued {
			return err // moved on concurrently: not ours to send
		}
		// Recorded before the call: if this process dies during it, the
		// job's lease lapses and the next run finds SUBMITTING, an unknown
		// outcome to inquire about.
		cur.Phase, cur.UpdatedAt = offramp.PhaseSubmitting, s.now()
		if err := tx.UpdatePayout(ctx, cur, offramp.PayoutProcessing, offramp.PhaseQueued); err != nil {
			return err
		}
		recorded = true
		return nil
	})
	if err != nil || !recorded {
		return err
	}
	var b offramp.BankAccount
	err = s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		b, err = tx.BankAccount(ctx, p.OrgID, p.BankID)
		return err
	})
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, s.payouts.RailTimeout)
	res, rerr := s.payouts.Rail.Submit(cctx, offramp.RailTransfer{
		Reference: p.RailReference, AccountNumber: b.AccountNumber, IFSC: b.IFSC, AccountName: b.AccountName,
		Amount: p.ReceivingAmount, Currency: p.Fiat, Method: p.PaymentMethod,
	})
	cancel()
	p.Phase = offramp.PhaseSubmitting
	return s.update(ctx, p, func(tx offramp.Tx, cur offramp.Payout) error {
		if rerr != nil {
			s.log.WarnContext(ctx, "bank submission outcome unknown; will inquire", "payout_id", p.ID.String(), "err", rerr)
			return s.setPhase(ctx, tx, cur, offramp.PhaseOutcomeUnknown, s.payouts.InquiryDelay)
		}
		return s.apply(ctx, tx, cur, res, offramp.PhaseSubmitted)
	})
}

// inquire asks the bank what became of a submitted transfer.
func (s *Service) inquire(ctx context.Context, p offramp.Payout) error {
	cctx, cancel := context.WithTimeout(ctx, s.payouts.RailTimeout)
	res, rerr := s.payouts.Rail.Inquire(cctx, p.RailReference)
	cancel()
	if rerr == nil && res.Status == offramp.RailNotFound && p.Phase == offramp.PhaseOutcomeUnknown && s.payouts.Rail.DedupsReferences() {
		// The bank never received it (the process died before the call
		// went out, or the request was lost). The bank refuses duplicate
		// references, so sending again under the same one cannot pay
		// twice.
		s.log.InfoContext(ctx, "bank has no transfer for an unknown-outcome payout; submitting again under the same reference", "payout_id", p.ID.String())
		err := s.update(ctx, p, func(tx offramp.Tx, cur offramp.Payout) error {
			cur.Phase, cur.UpdatedAt = offramp.PhaseQueued, s.now()
			return tx.UpdatePayout(ctx, cur, offramp.PayoutProcessing, offramp.PhaseOutcomeUnknown)
		})
		if err != nil {
			return err
		}
		p.Phase = offramp.PhaseQueued
		return s.submit(ctx, p)
	}
	return s.update(ctx, p, func(tx offramp.Tx, cur offramp.Payout) error {
		if rerr != nil || res.Status == offramp.RailAccepted || res.Status == offramp.RailNotFound {
			cur.Inquiries++
			if cur.Inquiries >= s.payouts.MaxInquiries {
				_, err := s.markInReview(ctx, tx, cur)
				return err
			}
			return s.setPhase(ctx, tx, cur, cur.Phase, s.inquiryBackoff(cur.Inquiries))
		}
		return s.apply(ctx, tx, cur, res, cur.Phase)
	})
}

// apply records a definite answer from the bank, or an acceptance.
func (s *Service) apply(ctx context.Context, tx offramp.Tx, p offramp.Payout, res offramp.RailResult, acceptedPhase offramp.PayoutPhase) error {
	switch res.Status {
	case offramp.RailSuccess:
		_, err := s.finishPaid(ctx, tx, p, res.UTR)
		return err
	case offramp.RailRejected:
		reason := res.Reason
		if reason == "" {
			reason = offramp.ReasonBeneficiaryBankRejected
		}
		_, err := s.finishFailed(ctx, tx, p, reason)
		return err
	case offramp.RailAccepted:
		return s.setPhase(ctx, tx, p, acceptedPhase, s.payouts.InquiryDelay)
	}
	// NOT_FOUND in answer to a submission: treat as unknown.
	return s.setPhase(ctx, tx, p, offramp.PhaseOutcomeUnknown, s.payouts.InquiryDelay)
}

// setPhase moves a PROCESSING payout to phase and schedules its next step.
func (s *Service) setPhase(ctx context.Context, tx offramp.Tx, p offramp.Payout, phase offramp.PayoutPhase, after time.Duration) error {
	from := p.Phase
	p.Phase, p.UpdatedAt = phase, s.now()
	if err := tx.UpdatePayout(ctx, p, offramp.PayoutProcessing, from); err != nil {
		return err
	}
	return tx.EnqueueJob(ctx, offramp.Job{ID: uuid.New(), OrgID: p.OrgID, Kind: offramp.JobProcessPayout, RefID: p.ID, RunAt: s.now().Add(after)})
}

// inquiryBackoff doubles the wait after each open answer.
func (s *Service) inquiryBackoff(n int) time.Duration {
	d := s.payouts.InquiryDelay
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return d
}

// update runs fn on the current payout in a write transaction, provided it
// is still PROCESSING in the phase p was read in; otherwise someone else
// moved it and there is nothing to do.
func (s *Service) update(ctx context.Context, p offramp.Payout, fn func(offramp.Tx, offramp.Payout) error) error {
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		cur, err := tx.Payout(ctx, p.OrgID, p.ID)
		if err != nil {
			return err
		}
		if cur.Status != offramp.PayoutProcessing || cur.Phase != p.Phase {
			return offramp.ErrStale
		}
		return fn(tx, cur)
	})
	if errors.Is(err, offramp.ErrStale) {
		s.log.DebugContext(ctx, "payout moved on concurrently; step dropped", "payout_id", p.ID.String())
		return nil
	}
	return err
}
