package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/offramp/offramp"
)

// maxStaleRetries bounds how often one run re-reads a payout that moved
// under it (a webhook or an operator got there first) before giving up
// and letting the worker retry the job later.
const maxStaleRetries = 3

// RunJob takes the payout of a process_payout job one step further. The
// step completes or reschedules j in the transaction that records it.
func (e *Engine) RunJob(ctx context.Context, j offramp.Job) error {
	for range maxStaleRetries {
		err := e.step(ctx, j)
		switch {
		case errors.Is(err, ErrLeaseLost):
			e.log.InfoContext(ctx, "payout step dropped: its job is held by another runner", "payout_id", j.RefID.String())
			return nil
		case errors.Is(err, offramp.ErrStale):
			continue // the payout moved on: look again
		}
		return err
	}
	return fmt.Errorf("engine: payout %s kept moving under its step", j.RefID)
}

func (e *Engine) step(ctx context.Context, j offramp.Job) error {
	var p offramp.Payout
	err := e.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		p, err = tx.Payout(ctx, j.OrgID, j.RefID)
		return err
	})
	if errors.Is(err, offramp.ErrNotFound) {
		return e.finish(ctx, j)
	}
	if err != nil {
		return err
	}
	switch p.Phase {
	case offramp.PhaseQueued:
		return e.submit(ctx, j, p)
	case offramp.PhaseSubmitting:
		// A run died between recording the submission and recording its
		// answer: the bank may have the transfer. Ask, never resend.
		return e.update(ctx, p, func(tx offramp.Tx, cur offramp.Payout) error {
			_, err := e.Move(ctx, tx, cur, offramp.PhaseOutcomeUnknown, Change{
				Job: &j, Next: e.cfg.InquiryDelay, BankAnswer: "no answer recorded: the process stopped during the bank call",
			})
			return err
		})
	case offramp.PhaseSubmitted:
		return e.pollPending(ctx, j, p)
	case offramp.PhaseOutcomeUnknown:
		return e.inquireUnknown(ctx, j, p)
	case offramp.PhasePaid:
		return e.watchReversal(ctx, j, p)
	case offramp.PhaseManualReview:
		return e.reinquire(ctx, j, p)
	}
	return e.finish(ctx, j)
}

// finish completes a job whose payout needs nothing more.
func (e *Engine) finish(ctx context.Context, j offramp.Job) error {
	err := e.store.Update(ctx, func(tx offramp.Tx) error { return tx.FinishJob(ctx, j.ID, j.Lease) })
	if errors.Is(err, offramp.ErrStale) {
		return nil
	}
	return err
}

// update runs fn on the current payout, provided it is still in the phase
// p was read in; otherwise it returns offramp.ErrStale.
func (e *Engine) update(ctx context.Context, p offramp.Payout, fn func(offramp.Tx, offramp.Payout) error) error {
	return e.store.Update(ctx, func(tx offramp.Tx) error {
		cur, err := tx.Payout(ctx, p.OrgID, p.ID)
		if err != nil {
			return err
		}
		if cur.Phase != p.Phase {
			return offramp.ErrStale
		}
		return fn(tx, cur)
	})
}

// submit sends a queued payout to the bank. Everything the call needs is
// read first; then SUBMITTING is recorded; then the bank is called.
func (e *Engine) submit(ctx context.Context, j offramp.Job, p offramp.Payout) error {
	if e.cfg.Rail == nil {
		return errors.New("no bank rail is configured")
	}
	now := e.now()
	if !now.Before(p.CreatedAt.Add(e.cfg.SettlementDeadline)) {
		// Never sent in time (the bank kept refusing before creating
		// anything): fail it, no money moved.
		return e.update(ctx, p, func(tx offramp.Tx, cur offramp.Payout) error {
			_, err := e.Move(ctx, tx, cur, offramp.PhaseRejected, Change{Job: &j, Reason: ReasonBankUnavailable})
			return err
		})
	}
	var b offramp.BankAccount
	err := e.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		b, err = tx.BankAccount(ctx, p.OrgID, p.BankID)
		return err
	})
	if err != nil {
		return err // nothing recorded, nothing sent: the worker retries
	}
	t := offramp.RailTransfer{
		Reference: p.RailReference, OrgID: p.OrgID, CustomerID: p.CustomerID, BankID: p.BankID, AccountNumber: b.AccountNumber, IFSC: b.IFSC, AccountName: b.AccountName,
		Amount: p.ReceivingAmount, Currency: p.Fiat, Method: p.PaymentMethod,
	}
	// Recorded before the call: if this process dies during it, the job's
	// lease lapses and the next run finds SUBMITTING, an unknown outcome.
	err = e.update(ctx, p, func(tx offramp.Tx, cur offramp.Payout) error {
		var err error
		p, err = e.Move(ctx, tx, cur, offramp.PhaseSubmitting, Change{Hold: true, Submitted: true, Submissions: ptr(cur.Submissions + 1)})
		return err
	})
	if err != nil {
		return err
	}
	res, rerr := e.call(ctx, "submit", func(ctx context.Context) (offramp.RailResult, error) { return e.cfg.Rail.Submit(ctx, t) })
	return e.update(ctx, p, func(tx offramp.Tx, cur offramp.Payout) error {
		switch {
		case errors.Is(rerr, offramp.ErrRailNotSent):
			// The bank certainly holds nothing: send again later, and do
			// not count this call against the resubmission bound.
			// The wait grows with the payout's age, as for a pending
			// transfer: a bank down for hours is asked rarely.
			_, err := e.Move(ctx, tx, cur, offramp.PhaseQueued, Change{
				Job: &j, Next: e.pollDelay(cur.CreatedAt, e.deadline(cur)), BankAnswer: "not sent: " + rerr.Error(), Submissions: ptr(cur.Submissions - 1),
			})
			return err
		case rerr != nil:
			e.log.WarnContext(ctx, "bank submission outcome unknown; will inquire", "payout_id", p.ID.String(), "bank_reference", p.RailReference, "err", rerr)
			_, err := e.Move(ctx, tx, cur, offramp.PhaseOutcomeUnknown, Change{Job: &j, Next: e.cfg.InquiryDelay, BankAnswer: "error: " + rerr.Error()})
			return err
		case res.Status == offramp.RailAccepted:
			_, err := e.Move(ctx, tx, cur, offramp.PhaseSubmitted, Change{Job: &j, Next: e.pollDelay(cur.SubmittedAt, e.deadline(cur)), BankAnswer: answer(res)})
			return err
		case res.Status == offramp.RailNotFound:
			// Not a valid answer to a submission: treat it as unknown.
			_, err := e.Move(ctx, tx, cur, offramp.PhaseOutcomeUnknown, Change{Job: &j, Next: e.cfg.InquiryDelay, BankAnswer: answer(res)})
			return err
		}
		return e.settle(ctx, tx, cur, res, &j)
	})
}

// settle records a definite answer: SUCCESS, REJECTED or REVERSED.
func (e *Engine) settle(ctx context.Context, tx offramp.Tx, cur offramp.Payout, res offramp.RailResult, j *offramp.Job) error {
	ch := Change{Job: j, BankAnswer: answer(res), UTR: res.UTR, Reason: res.Reason}
	switch res.Status {
	case offramp.RailSuccess:
		_, err := e.Move(ctx, tx, cur, offramp.PhasePaid, withNext(ch, e.watchDelay(e.now())))
		return err
	case offramp.RailRejected:
		if ch.Reason == "" {
			ch.Reason = offramp.ReasonBeneficiaryBankRejected
		}
		_, err := e.Move(ctx, tx, cur, offramp.PhaseRejected, ch)
		return err
	case offramp.RailReversed:
		if cur.Phase == offramp.PhaseManualReview {
			// Paid and returned while nobody knew: no money stayed out.
			ch.Reason = offramp.ReasonReversedByBank
			_, err := e.Move(ctx, tx, cur, offramp.PhaseRejected, ch)
			return err
		}
		if cur.Phase != offramp.PhasePaid {
			// The payment and its reversal are both news: record both, so
			// the books and the webhooks show what happened.
			paid := ch
			paid.Job, paid.Hold = nil, true
			var err error
			if cur, err = e.Move(ctx, tx, cur, offramp.PhasePaid, paid); err != nil {
				return err
			}
		}
		_, err := e.Move(ctx, tx, cur, offramp.PhaseReversed, ch)
		return err
	}
	return fmt.Errorf("engine: %s is not a definite bank answer", res.Status)
}

func withNext(ch Change, d time.Duration) Change { ch.Next = d; return ch }

// pollPending asks about a transfer the bank accepted.
func (e *Engine) pollPending(ctx context.Context, j offramp.Job, p offramp.Payout) error {
	res, rerr := e.call(ctx, "inquire", func(ctx context.Context) (offramp.RailResult, error) {
		return e.cfg.Rail.Inquire(ctx, p.RailReference)
	})
	return e.update(ctx, p, func(tx offramp.Tx, cur offramp.Payout) error {
		if rerr == nil && res.Status != offramp.RailAccepted && res.Status != offramp.RailNotFound {
			return e.settle(ctx, tx, cur, res, &j)
		}
		ans := answerOrErr(res, rerr)
		deadline := e.deadline(cur)
		if !e.now().Before(deadline) {
			e.log.WarnContext(ctx, "payout still pending at the bank at its settlement deadline; needs manual review",
				"payout_id", p.ID.String(), "bank_reference", p.RailReference, "last_bank_answer", ans)
			_, err := e.Move(ctx, tx, cur, offramp.PhaseManualReview, Change{Job: &j, ReviewReason: offramp.ReviewSettlementOverdue, BankAnswer: ans})
			return err
		}
		_, err := e.Move(ctx, tx, cur, cur.Phase, Change{Job: &j, Next: e.pollDelay(cur.SubmittedAt, deadline), BankAnswer: ans})
		return err
	})
}

// inquireUnknown asks about a transfer whose submission has no recorded
// answer.
func (e *Engine) inquireUnknown(ctx context.Context, j offramp.Job, p offramp.Payout) error {
	res, rerr := e.call(ctx, "inquire", func(ctx context.Context) (offramp.RailResult, error) {
		return e.cfg.Rail.Inquire(ctx, p.RailReference)
	})
	caps := e.cfg.Rail.Capabilities()
	return e.update(ctx, p, func(tx offramp.Tx, cur offramp.Payout) error {
		ans := answerOrErr(res, rerr)
		switch {
		case rerr == nil && res.Status == offramp.RailAccepted:
			_, err := e.Move(ctx, tx, cur, offramp.PhaseSubmitted, Change{Job: &j, Next: e.pollDelay(cur.SubmittedAt, e.deadline(cur)), BankAnswer: ans})
			return err
		case rerr == nil && res.Status == offramp.RailNotFound:
			now := e.now()
			if grace := cur.SubmittedAt.Add(caps.PostingDelay); now.Before(grace) {
				// The bank may not have posted it yet: ask again once
				// the grace period is over, without counting this.
				_, err := e.Move(ctx, tx, cur, cur.Phase, Change{Job: &j, Next: grace.Sub(now), BankAnswer: ans + " (within the posting delay)"})
				return err
			}
			if caps.DedupsReferences && cur.Submissions < e.cfg.MaxSubmissions {
				// The bank never received it and refuses duplicate
				// references: sending again under the same one cannot pay
				// twice.
				e.log.InfoContext(ctx, "bank has no transfer for an unknown-outcome payout; submitting again under the same reference",
					"payout_id", p.ID.String(), "bank_reference", p.RailReference, "submissions", cur.Submissions)
				_, err := e.Move(ctx, tx, cur, offramp.PhaseQueued, Change{Job: &j, BankAnswer: ans})
				return err
			}
			if caps.DedupsReferences {
				return e.review(ctx, tx, cur, &j, offramp.ReviewResubmissionsExhausted, ans)
			}
		case rerr == nil:
			return e.settle(ctx, tx, cur, res, &j)
		}
		n := cur.Inquiries + 1
		if n >= e.cfg.MaxInquiries {
			return e.review(ctx, tx, cur, &j, offramp.ReviewOutcomeUnknown, ans, n)
		}
		_, err := e.Move(ctx, tx, cur, cur.Phase, Change{Job: &j, Next: e.unknownDelay(n), BankAnswer: ans, Inquiries: ptr(n)})
		return err
	})
}

func (e *Engine) review(ctx context.Context, tx offramp.Tx, cur offramp.Payout, j *offramp.Job, why, ans string, inquiries ...int) error {
	ch := Change{Job: j, ReviewReason: why, BankAnswer: ans}
	if len(inquiries) > 0 {
		ch.Inquiries = ptr(inquiries[0])
	}
	e.log.WarnContext(ctx, "payout needs manual review", "payout_id", cur.ID.String(), "org_id", cur.OrgID.String(),
		"bank_reference", cur.RailReference, "review_reason", why, "last_bank_answer", ans)
	_, err := e.Move(ctx, tx, cur, offramp.PhaseManualReview, ch)
	return err
}

// watchReversal checks a paid transfer for a reversal until the window
// closes.
func (e *Engine) watchReversal(ctx context.Context, j offramp.Job, p offramp.Payout) error {
	if !e.needsJob(p, e.now()) || e.cfg.Rail == nil {
		return e.finish(ctx, j)
	}
	res, rerr := e.call(ctx, "inquire", func(ctx context.Context) (offramp.RailResult, error) {
		return e.cfg.Rail.Inquire(ctx, p.RailReference)
	})
	return e.update(ctx, p, func(tx offramp.Tx, cur offramp.Payout) error {
		if rerr == nil && res.Status == offramp.RailReversed {
			return e.settle(ctx, tx, cur, res, &j)
		}
		// Anything else changes nothing: the money stays paid. The job is
		// rescheduled without touching the payout row.
		return e.scheduleNext(ctx, tx, cur, &j, e.watchDelay(cur.PaidAt))
	})
}

// reinquire asks the bank once about an IN_REVIEW payout, on an operator's
// request: a definite answer settles it, anything else leaves it IN_REVIEW
// with the answer recorded.
func (e *Engine) reinquire(ctx context.Context, j offramp.Job, p offramp.Payout) error {
	if e.cfg.Rail == nil {
		return errors.New("no bank rail is configured")
	}
	res, rerr := e.call(ctx, "inquire", func(ctx context.Context) (offramp.RailResult, error) {
		return e.cfg.Rail.Inquire(ctx, p.RailReference)
	})
	return e.update(ctx, p, func(tx offramp.Tx, cur offramp.Payout) error {
		if rerr == nil && (res.Status == offramp.RailSuccess || res.Status == offramp.RailRejected || res.Status == offramp.RailReversed) {
			return e.settle(ctx, tx, cur, res, &j)
		}
		_, err := e.Move(ctx, tx, cur, cur.Phase, Change{Job: &j, BankAnswer: answerOrErr(res, rerr)})
		return err
	})
}

// deadline is when a payout still pending at the bank goes to IN_REVIEW.
func (e *Engine) deadline(p offramp.Payout) time.Time {
	return p.CreatedAt.Add(e.cfg.SettlementDeadline)
}

// call makes one bank call under RailTimeout and measures it.
func (e *Engine) call(ctx context.Context, op string, fn func(context.Context) (offramp.RailResult, error)) (offramp.RailResult, error) {
	if e.cfg.Rail == nil {
		return offramp.RailResult{}, errors.New("no bank rail is configured")
	}
	cctx, cancel := context.WithTimeout(ctx, e.cfg.RailTimeout)
	defer cancel()
	began := time.Now() // latency on the monotonic clock, not the service clock
	res, err := fn(cctx)
	e.metrics.observeCall(op, res, err, time.Since(began))
	return res, err
}

func answer(res offramp.RailResult) string {
	s := string(res.Status)
	if res.UTR != "" {
		s += " utr=" + res.UTR
	}
	if res.Reason != "" {
		s += " reason=" + res.Reason
	}
	return s
}

func answerOrErr(res offramp.RailResult, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return answer(res)
}
