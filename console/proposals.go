package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/engine"
	"github.com/offramp/offramp/service"
)

// Two-person actions. An operator (RoleOperator and up) proposes; an
// approver (RoleApprover and up) who is not the proposer approves, which
// carries the action out through the service (with its own event, journal,
// webhook and audit entry) and then records the decision; or rejects.
// Proposals are validated when made, so an approver never sees one the
// service would refuse for its form; the object's state is checked again
// when the action runs.

// proposalLimit bounds the proposals read at once.
const proposalLimit = 500

// The shapes engine.Resolve accepts: checked when proposing, so that a
// malformed proposal never reaches an approver. engine.Resolve checks them
// again.
var (
	utrPattern    = regexp.MustCompile(`^[A-Za-z0-9]{12,22}$`)
	reasonPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{2,63}$`)
)

// maxWhy bounds a proposer's or decider's explanation.
const maxWhy = 2000

// errForbidden is a refusal the operator's role or identity causes (403).
type errForbidden string

func (e errForbidden) Error() string { return string(e) }

// errProblems lists what is wrong with a form (400).
type errProblems []string

func (e errProblems) Error() string { return strings.Join(e, "; ") }

// errState is a refusal the object's current state causes (409).
type errState string

func (e errState) Error() string { return string(e) }

func (c *Console) failProposal(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var (
		fb errForbidden
		pr errProblems
		st errState
	)
	switch {
	case errors.As(err, &fb):
		c.failAs(w, r, s, http.StatusForbidden, string(fb))
	case errors.As(err, &pr):
		c.failAs(w, r, s, http.StatusBadRequest, "The proposal is incomplete.", pr...)
	case errors.As(err, &st):
		c.failAs(w, r, s, http.StatusConflict, string(st))
	default:
		c.failErr(w, r, s, err)
	}
}

// why reads the explanation every proposal and decision carries.
func why(r *http.Request, problems *errProblems) string {
	w := strings.TrimSpace(r.PostForm.Get("why"))
	switch {
	case w == "":
		*problems = append(*problems, "Why: say why; the decision is recorded with it.")
	case len(w) > maxWhy:
		*problems = append(*problems, fmt.Sprintf("Why: at most %d characters.", maxWhy))
	}
	return w
}

// proposePayout proposes settling an IN_REVIEW payout (paid with a UTR,
// failed with a reason, or asking the bank again) or refunding a FAILED
// one.
func (c *Console) proposePayout(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No payout has this id.")
		return
	}
	var problems errProblems
	reason := why(r, &problems)
	params := map[string]string{}
	var kind offramp.ProposalKind
	var need offramp.PayoutStatus
	switch r.PostForm.Get("action") {
	case "paid":
		kind, need = offramp.ProposalResolvePaid, offramp.PayoutInReview
		utr := strings.TrimSpace(r.PostForm.Get("utr"))
		if !utrPattern.MatchString(utr) {
			problems = append(problems, "UTR: the bank's UTR, 12 to 22 letters or digits.")
		}
		params["utr"] = utr
	case "failed":
		kind, need = offramp.ProposalResolveFailed, offramp.PayoutInReview
		fr := strings.ToUpper(strings.TrimSpace(r.PostForm.Get("reason")))
		if !reasonPattern.MatchString(fr) {
			problems = append(problems, "Failure reason: a reason in capitals, e.g. BENEFICIARY_BANK_REJECTED.")
		}
		params["failure_reason"] = fr
	case "reinquire":
		kind, need = offramp.ProposalReinquire, offramp.PayoutInReview
	case "refund":
		kind, need = offramp.ProposalRefund, offramp.PayoutFailed
	default:
		problems = append(problems, "Action: choose paid, failed, inquire again or refund.")
	}
	if len(problems) > 0 {
		c.failProposal(w, r, s, problems)
		return
	}
	ctx := r.Context()
	now := c.now()
	prop := offramp.Proposal{ID: uuid.New(), Kind: kind, ObjectType: offramp.ObjectPayout, ObjectID: id, Params: params,
		Reason: reason, ProposedBy: s.op.Email, Status: offramp.ProposalPending, CreatedAt: now}
	err = c.store.Update(ctx, func(tx offramp.Tx) error {
		p, err := tx.PayoutAnyOrg(ctx, id)
		if err != nil {
			return err
		}
		if p.Status != need {
			return errState(fmt.Sprintf("This payout is %s: only a %s payout can take this proposal.", p.Status, need))
		}
		prop.OrgID = p.OrgID
		params["bank_reference"] = p.RailReference
		return c.createProposal(ctx, tx, s, prop)
	})
	if err != nil {
		c.failProposal(w, r, s, err)
		return
	}
	c.log.InfoContext(ctx, "console: proposal made", "proposal_id", prop.ID.String(), "kind", string(kind), "by", s.op.Email)
	http.Redirect(w, r, "/payouts/"+id.String()+"?done=proposed", http.StatusSeeOther)
}

// proposeCustomer proposes a decision on a PROCESSING KYC submission.
func (c *Console) proposeCustomer(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No customer has this id.")
		return
	}
	var problems errProblems
	reason := why(r, &problems)
	params := decisionParams(r, service.CustomerFailureReasons, &problems)
	if len(problems) > 0 {
		c.failProposal(w, r, s, problems)
		return
	}
	ctx := r.Context()
	now := c.now()
	prop := offramp.Proposal{ID: uuid.New(), Kind: offramp.ProposalKYCDecide, ObjectType: offramp.ObjectCustomer, ObjectID: id,
		Params: params, Reason: reason, ProposedBy: s.op.Email, Status: offramp.ProposalPending, CreatedAt: now}
	err = c.store.Update(ctx, func(tx offramp.Tx) error {
		cu, err := tx.CustomerAnyOrg(ctx, id)
		if err != nil {
			return err
		}
		if cu.Status != offramp.CustomerProcessing {
			return errState(fmt.Sprintf("This customer's KYC is %s: only a PROCESSING submission can be decided.", cu.Status))
		}
		prop.OrgID = cu.OrgID
		if cu.KYC != nil {
			params["attempt"] = strconv.Itoa(cu.KYC.Attempt)
		}
		return c.createProposal(ctx, tx, s, prop)
	})
	if err != nil {
		c.failProposal(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/customers/"+id.String()+"?done=proposed", http.StatusSeeOther)
}

// proposeBank proposes a decision on a PROCESSING bank account.
func (c *Console) proposeBank(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No bank account has this id.")
		return
	}
	var problems errProblems
	reason := why(r, &problems)
	params := decisionParams(r, service.BankFailureReasons, &problems)
	if len(problems) > 0 {
		c.failProposal(w, r, s, problems)
		return
	}
	ctx := r.Context()
	now := c.now()
	prop := offramp.Proposal{ID: uuid.New(), Kind: offramp.ProposalBankDecide, ObjectType: offramp.ObjectBank, ObjectID: id,
		Params: params, Reason: reason, ProposedBy: s.op.Email, Status: offramp.ProposalPending, CreatedAt: now}
	var customerID uuid.UUID
	err = c.store.Update(ctx, func(tx offramp.Tx) error {
		b, err := tx.BankAccountAnyOrg(ctx, id)
		if err != nil {
			return err
		}
		if b.Status != offramp.BankProcessing {
			return errState(fmt.Sprintf("This bank account is %s: only a PROCESSING account can be decided.", b.Status))
		}
		prop.OrgID, customerID = b.OrgID, b.CustomerID
		params["customer_id"] = b.CustomerID.String()
		return c.createProposal(ctx, tx, s, prop)
	})
	if err != nil {
		c.failProposal(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/customers/"+customerID.String()+"?done=proposed", http.StatusSeeOther)
}

// decisionParams reads a verification decision: verified, or failed with
// one of reasons.
func decisionParams(r *http.Request, reasons []string, problems *errProblems) map[string]string {
	params := map[string]string{}
	switch r.PostForm.Get("decision") {
	case "verified":
		params["verified"] = "true"
	case "failed":
		params["verified"] = "false"
		fr := strings.ToUpper(strings.TrimSpace(r.PostForm.Get("reason")))
		if !slices.Contains(reasons, fr) {
			*problems = append(*problems, "Failure reason: one of "+strings.Join(reasons, ", ")+".")
		}
		params["failure_reason"] = fr
	default:
		*problems = append(*problems, "Decision: choose verified or failed.")
	}
	return params
}

// createProposal stores a proposal unless the object already has a
// pending one (two live proposals on one object could contradict each
// other), with its audit entry.
func (c *Console) createProposal(ctx context.Context, tx offramp.Tx, s *session, p offramp.Proposal) error {
	pending, err := pendingFor(ctx, tx, p.ObjectID)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return errState("This object already has a pending proposal (" + string(pending[0].Kind) + " by " + pending[0].ProposedBy +
			"): approve or reject it first.")
	}
	if err := tx.CreateProposal(ctx, p); err != nil {
		return err
	}
	details := map[string]string{"proposal_id": p.ID.String(), "kind": string(p.Kind)}
	for k, v := range p.Params {
		details[k] = v
	}
	return appendAudit(ctx, tx, s, p.CreatedAt, offramp.AuditEntry{OrgID: p.OrgID, Action: ActionProposalCreated,
		ObjectType: p.ObjectType, ObjectID: p.ObjectID, Reason: p.Reason, Details: details})
}

type proposalRow struct {
	P offramp.Proposal
	// Link is the page of the proposal's object.
	Link string
	// Mine: the signed-in operator proposed it (and so cannot decide it).
	Mine bool
	// Now is the object's current state, as an approver must see it; Stale
	// when that state no longer takes the proposal.
	Now   string
	Stale bool
}

type proposalsData struct {
	Pending []proposalRow
	Decided []proposalRow
}

// proposals lists the pending proposals, and the latest decided ones.
func (c *Console) proposals(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	var data proposalsData
	err := c.store.View(ctx, func(tx offramp.ReadTx) error {
		pending, err := tx.ListProposals(ctx, offramp.ProposalPending, proposalLimit)
		if err != nil {
			return err
		}
		recent, err := tx.ListProposals(ctx, "", 100)
		if err != nil {
			return err
		}
		for _, p := range pending {
			row := proposalRow{P: p, Link: objectLink(p), Mine: p.ProposedBy == s.op.Email}
			if row.Now, row.Stale, err = objectNow(ctx, tx, p); err != nil {
				return err
			}
			data.Pending = append(data.Pending, row)
		}
		for _, p := range recent {
			if p.Status != offramp.ProposalPending {
				data.Decided = append(data.Decided, proposalRow{P: p, Link: objectLink(p)})
			}
		}
		return nil
	})
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "proposals", s, data)
}

// objectNow describes the current state of a proposal's object, and
// whether it still takes the proposal.
func objectNow(ctx context.Context, tx offramp.ReadTx, p offramp.Proposal) (string, bool, error) {
	switch p.ObjectType {
	case offramp.ObjectPayout:
		po, err := tx.PayoutAnyOrg(ctx, p.ObjectID)
		if errors.Is(err, offramp.ErrNotFound) {
			return "payout not found", true, nil
		}
		if err != nil {
			return "", false, err
		}
		now := fmt.Sprintf("%s/%s · %s %s", po.Status, po.Phase, formatINR(po.ReceivingAmount), po.Fiat)
		if po.LastBankAnswer != "" {
			now += " · bank: " + po.LastBankAnswer
		}
		want := offramp.PayoutInReview
		if p.Kind == offramp.ProposalRefund {
			want = offramp.PayoutFailed
		}
		return now, po.Status != want, nil
	case offramp.ObjectCustomer:
		cu, err := tx.CustomerAnyOrg(ctx, p.ObjectID)
		if errors.Is(err, offramp.ErrNotFound) {
			return "customer not found", true, nil
		}
		if err != nil {
			return "", false, err
		}
		return cu.FullName + " · KYC " + string(cu.Status), cu.Status != offramp.CustomerProcessing, nil
	case offramp.ObjectBank:
		b, err := tx.BankAccountAnyOrg(ctx, p.ObjectID)
		if errors.Is(err, offramp.ErrNotFound) {
			return "bank account not found", true, nil
		}
		if err != nil {
			return "", false, err
		}
		return offramp.Mask(b.AccountNumber) + " " + b.IFSC + " · " + string(b.Status), b.Status != offramp.BankProcessing, nil
	}
	return "", false, nil
}

// objectLink is the console page of a proposal's object.
func objectLink(p offramp.Proposal) string {
	switch p.ObjectType {
	case offramp.ObjectPayout:
		return "/payouts/" + p.ObjectID.String()
	case offramp.ObjectCustomer:
		return "/customers/" + p.ObjectID.String()
	case offramp.ObjectBank:
		if id, err := uuid.Parse(p.Params["customer_id"]); err == nil {
			return "/customers/" + id.String()
		}
	}
	return ""
}

// decidable reads a pending proposal that s may decide: a proposal of
// somebody else (403 for one's own).
func (c *Console) decidable(ctx context.Context, s *session, id uuid.UUID) (offramp.Proposal, error) {
	var p offramp.Proposal
	err := c.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		p, err = tx.Proposal(ctx, id)
		return err
	})
	if err != nil {
		return p, err
	}
	if strings.EqualFold(p.ProposedBy, s.op.Email) {
		return p, errForbidden("You proposed this: a different approver must decide it.")
	}
	if p.Status != offramp.ProposalPending {
		return p, errState(fmt.Sprintf("This proposal was already %s by %s.", strings.ToLower(string(p.Status)), p.DecidedBy))
	}
	return p, nil
}

// approve carries a proposal out and records the approval in one
// transaction: the decision's compare-and-set on PENDING comes first, so
// two approvers racing on one proposal cannot both carry it out, and a
// proposal is never marked approved without its effect, nor the effect
// made without the approval on record.
func (c *Console) approve(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No proposal has this id.")
		return
	}
	ctx := r.Context()
	p, err := c.decidable(ctx, s, id)
	if err != nil {
		c.failProposal(w, r, s, err)
		return
	}
	var outcome string
	now := c.now()
	err = c.store.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.DecideProposal(ctx, p.ID, offramp.ProposalApproved, s.op.Email, now); err != nil {
			if errors.Is(err, offramp.ErrStale) {
				return errState("This proposal was decided by somebody else meanwhile.")
			}
			return err
		}
		var err error
		if outcome, err = c.carryOut(ctx, tx, s, p); err != nil {
			return err
		}
		details := map[string]string{"proposal_id": p.ID.String(), "kind": string(p.Kind), "proposed_by": p.ProposedBy, "outcome": outcome}
		return appendAudit(ctx, tx, s, now, offramp.AuditEntry{OrgID: p.OrgID, Action: ActionProposalApproved,
			ObjectType: p.ObjectType, ObjectID: p.ObjectID, Reason: p.Reason, Details: details})
	})
	if err != nil {
		c.log.WarnContext(ctx, "console: approval refused or failed; nothing was carried out", "proposal_id", p.ID.String(), "err", err)
		c.failProposal(w, r, s, err)
		return
	}
	c.log.InfoContext(ctx, "console: proposal approved and carried out", "proposal_id", p.ID.String(), "kind", string(p.Kind),
		"proposed_by", p.ProposedBy, "approved_by", s.op.Email, "outcome", outcome)
	http.Redirect(w, r, objectLinkOr(p, "/proposals")+"?done=approved", http.StatusSeeOther)
}

func objectLinkOr(p offramp.Proposal, def string) string {
	if l := objectLink(p); l != "" {
		return l
	}
	return def
}

// carryOut runs a proposal's action through the service inside the
// approval's transaction, as the approver, with both people named in the
// action's own audit entry.
func (c *Console) carryOut(ctx context.Context, tx offramp.Tx, s *session, p offramp.Proposal) (string, error) {
	why := fmt.Sprintf("%s (proposed by %s, approved by %s; proposal %s)", p.Reason, p.ProposedBy, s.op.Email, p.ID)
	by := s.op.Email
	switch p.Kind {
	case offramp.ProposalResolvePaid, offramp.ProposalResolveFailed, offramp.ProposalReinquire:
		res := engine.Resolution{PayoutID: p.ObjectID, Why: why, By: by}
		switch p.Kind {
		case offramp.ProposalResolvePaid:
			res.Paid, res.UTR = true, p.Params["utr"]
		case offramp.ProposalResolveFailed:
			res.Failed, res.Reason = true, p.Params["failure_reason"]
		default:
			res.Reinquire = true
		}
		out, err := c.svc.ResolvePayoutIn(ctx, tx, res)
		if err != nil {
			return "", err
		}
		if res.Reinquire {
			return "the bank is asked again; the payout stays " + string(out.Status) + " until it answers", nil
		}
		return "payout " + string(out.Status), nil
	case offramp.ProposalRefund:
		out, err := c.svc.RefundPayoutIn(ctx, tx, p.OrgID, p.ObjectID, by, why)
		if err != nil {
			return "", err
		}
		return "payout " + string(out.Status), nil
	case offramp.ProposalKYCDecide:
		out, err := c.svc.DecideKYCIn(ctx, tx, p.ObjectID, p.Params["verified"] == "true", p.Params["failure_reason"], why, by)
		if err != nil {
			return "", err
		}
		return "KYC " + string(out.Status), nil
	case offramp.ProposalBankDecide:
		out, err := c.svc.DecideBankIn(ctx, tx, p.ObjectID, p.Params["verified"] == "true", p.Params["failure_reason"], why, by)
		if err != nil {
			return "", err
		}
		return "bank account " + string(out.Status), nil
	}
	return "", errState("Unknown kind of proposal: " + string(p.Kind))
}

// reject records a rejection; nothing else changes.
func (c *Console) reject(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No proposal has this id.")
		return
	}
	ctx := r.Context()
	p, err := c.decidable(ctx, s, id)
	if err != nil {
		c.failProposal(w, r, s, err)
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("why"))
	if reason == "" {
		reason = "rejected"
	}
	if len(reason) > maxWhy {
		reason = reason[:maxWhy]
	}
	now := c.now()
	err = c.store.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.DecideProposal(ctx, p.ID, offramp.ProposalRejected, s.op.Email, now); err != nil {
			return err
		}
		return appendAudit(ctx, tx, s, now, offramp.AuditEntry{OrgID: p.OrgID, Action: ActionProposalRejected, ObjectType: p.ObjectType,
			ObjectID: p.ObjectID, Reason: reason, Details: map[string]string{"proposal_id": p.ID.String(), "kind": string(p.Kind), "proposed_by": p.ProposedBy}})
	})
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/proposals?done=rejected", http.StatusSeeOther)
}
