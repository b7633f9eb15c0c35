package engine

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// Resolution is an operator's decision on an IN_REVIEW payout: exactly one
// of Paid (with the UTR the bank confirmed), Failed (with a reason) or
// Reinquire (ask the bank once more).
type Resolution struct {
	PayoutID  uuid.UUID
	Paid      bool
	UTR       string
	Failed    bool
	Reason    string
	Reinquire bool
	// Why is the operator's explanation; By names who decided.
	Why string
	By  string
}

// utrPattern accepts the bank references payouts carry: a 12-digit IMPS
// RRN, a 16 to 22 character NEFT/RTGS UTR.
var utrPattern = regexp.MustCompile(`^[A-Za-z0-9]{12,22}$`)

// reasonPattern is the shape of a failure reason on the wire: an upper-case
// token such as BENEFICIARY_BANK_REJECTED.
var reasonPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{2,63}$`)

// Audit actions of Resolve.
const (
	ActionResolvePaid   = "payout.resolve_paid"
	ActionResolveFailed = "payout.resolve_failed"
	ActionReinquire     = "payout.reinquire"
)

// Resolve settles an IN_REVIEW payout by an operator's decision, with its
// event, journal, limit effect, webhook and audit entry in one transaction.
// A re-inquiry records the request and schedules one inquiry now; its
// answer settles the payout if it is definite.
func (e *Engine) Resolve(ctx context.Context, r Resolution) (offramp.Payout, error) {
	r, err := r.check()
	if err != nil {
		return offramp.Payout{}, err
	}
	var out offramp.Payout
	err = e.store.Update(ctx, func(tx offramp.Tx) error {
		var err error
		out, err = e.ResolveIn(ctx, tx, r)
		return err
	})
	if err == nil {
		e.log.InfoContext(ctx, "IN_REVIEW payout resolved by an operator", "payout_id", out.ID.String(), "by", r.By,
			"paid", r.Paid, "failed", r.Failed, "reinquire", r.Reinquire, "status", string(out.Status))
	}
	return out, err
}

// check trims r and reports what is wrong with it.
func (r Resolution) check() (Resolution, error) {
	r.UTR, r.Reason, r.Why, r.By = strings.TrimSpace(r.UTR), strings.TrimSpace(r.Reason), strings.TrimSpace(r.Why), strings.TrimSpace(r.By)
	var v offramp.Validation
	n := 0
	for _, b := range []bool{r.Paid, r.Failed, r.Reinquire} {
		if b {
			n++
		}
	}
	if n != 1 {
		v.Add("decision", "Choose exactly one of paid, failed or reinquire.")
	}
	if r.Paid && !utrPattern.MatchString(r.UTR) {
		v.Add("utr", "A paid payout needs the bank's UTR: 12 to 22 letters or digits.")
	}
	if r.Failed && !reasonPattern.MatchString(r.Reason) {
		v.Add("reason", "A failed payout needs a reason in capitals, e.g. BENEFICIARY_BANK_REJECTED.")
	}
	if r.Why == "" {
		v.Add("why", "Say why: the decision is recorded with it.")
	}
	if r.By == "" {
		v.Add("by", "Say who decides.")
	}
	return r, v.Err()
}

// ResolveIn is Resolve inside the caller's transaction, so that an
// operator's approval and its effect commit together.
func (e *Engine) ResolveIn(ctx context.Context, tx offramp.Tx, r Resolution) (offramp.Payout, error) {
	r, err := r.check()
	if err != nil {
		return offramp.Payout{}, err
	}
	var out offramp.Payout
	err = func() error {
		cur, err := tx.PayoutAnyOrg(ctx, r.PayoutID)
		if errors.Is(err, offramp.ErrNotFound) {
			return offramp.FieldError(offramp.CodeNotFound, "payout_id", offramp.MsgPayoutIDInvalid)
		}
		if err != nil {
			return err
		}
		if cur.Status != offramp.PayoutInReview {
			return offramp.Errorf(offramp.CodeRejected, "Only an IN_REVIEW payout can be resolved; payout %s is %s", cur.ID, cur.Status)
		}
		audit := &offramp.AuditEntry{Actor: r.By, Reason: r.Why, Details: map[string]string{
			"bank_reference": cur.RailReference, "last_bank_answer": cur.LastBankAnswer, "review_reason": cur.ReviewReason,
		}}
		switch {
		case r.Paid:
			audit.Action, audit.Details["utr"] = ActionResolvePaid, r.UTR
			out, err = e.Move(ctx, tx, cur, offramp.PhasePaid, Change{UTR: r.UTR, Audit: audit, Next: e.watchDelay(e.now())})
		case r.Failed:
			audit.Action, audit.Details["failure_reason"] = ActionResolveFailed, r.Reason
			out, err = e.Move(ctx, tx, cur, offramp.PhaseRejected, Change{Reason: r.Reason, Audit: audit})
		default:
			audit.Action = ActionReinquire
			audit.ID, audit.OrgID, audit.ObjectType, audit.ObjectID, audit.CreatedAt = uuid.New(), cur.OrgID, offramp.ObjectPayout, cur.ID, e.now()
			if err := tx.AppendAudit(ctx, *audit); err != nil {
				return err
			}
			live, err := tx.Jobs(ctx, offramp.JobProcessPayout, cur.ID)
			if err != nil {
				return err
			}
			out = cur
			if len(live) > 0 {
				return nil // an inquiry is already on its way
			}
			return tx.EnqueueJob(ctx, payoutJob(cur, e.now()))
		}
		return err
	}()
	return out, err
}

// ApplyBankAnswer records what a bank reported about a transfer on its own
// initiative (a provider's webhook). It is idempotent and safe out of
// order: an answer that is not news (SUCCESS for a payout already paid, a
// pending status for one already settled, anything after a reversal) is
// ignored, and a definite answer the state machine does not allow from
// where the payout is (REJECTED after SUCCESS) is logged and ignored.
func (e *Engine) ApplyBankAnswer(ctx context.Context, reference string, res offramp.RailResult) (offramp.Payout, error) {
	var out offramp.Payout
	err := e.store.Update(ctx, func(tx offramp.Tx) error {
		cur, err := tx.PayoutByRailReference(ctx, reference)
		if err != nil {
			return err
		}
		out = cur
		switch res.Status {
		case offramp.RailAccepted:
			if cur.Phase == offramp.PhaseOutcomeUnknown {
				out, err = e.Move(ctx, tx, cur, offramp.PhaseSubmitted, Change{BankAnswer: answer(res), Hold: true})
			}
			return err
		case offramp.RailSuccess:
			if cur.Phase.Unfinished() && cur.Phase != offramp.PhaseQueued || cur.Phase == offramp.PhaseManualReview {
				return e.applyDefinite(ctx, tx, cur, res, &out)
			}
		case offramp.RailRejected:
			if cur.Phase.Unfinished() && cur.Phase != offramp.PhaseQueued || cur.Phase == offramp.PhaseManualReview {
				return e.applyDefinite(ctx, tx, cur, res, &out)
			}
		case offramp.RailReversed:
			if cur.Phase != offramp.PhaseQueued && (cur.Phase.Unfinished() || cur.Phase == offramp.PhasePaid || cur.Phase == offramp.PhaseManualReview) {
				return e.applyDefinite(ctx, tx, cur, res, &out)
			}
		}
		if cur.Phase != offramp.PhaseQueued {
			e.log.InfoContext(ctx, "bank report ignored: not news for the payout", "payout_id", cur.ID.String(),
				"phase", string(cur.Phase), "bank_status", string(res.Status))
		}
		return nil
	})
	return out, err
}

// applyDefinite settles from a report outside any job: the payout's own
// live job (if any) stays and finds the payout settled on its next run.
func (e *Engine) applyDefinite(ctx context.Context, tx offramp.Tx, cur offramp.Payout, res offramp.RailResult, out *offramp.Payout) error {
	if err := e.settle(ctx, tx, cur, res, nil); err != nil {
		return err
	}
	p, err := tx.Payout(ctx, cur.OrgID, cur.ID)
	*out = p
	return err
}
