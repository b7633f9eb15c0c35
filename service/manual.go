package service

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// Manual verification. A verifier that cannot decide a KYC submission or a
// bank account returns offramp.ErrManualDecision; the job then completes
// without a retry, the submission stays PROCESSING, and an audit entry
// (actor VerifierActor, action kyc.awaiting_decision or
// bank.awaiting_decision, reason: what the verifier said) records that it
// waits for an operator. An operator decides with DecideKYC or DecideBank,
// which have the effects of an automatic decision (status, event, webhook,
// failure reason) and record who decided and why.

// Audit actions of manual verification.
const (
	ActionKYCAwaiting  = "kyc.awaiting_decision"
	ActionKYCDecide    = "kyc.decide"
	ActionBankAwaiting = "bank.awaiting_decision"
	ActionBankDecide   = "bank.decide"
)

// VerifierActor is the audit actor of what a verifier did by itself.
const VerifierActor = "offramp verifier"

// CustomerFailureReasons and BankFailureReasons are the reasons an
// operator may give when failing a submission: DollarPe's documented ones.
var (
	CustomerFailureReasons = []string{
		offramp.ReasonDocumentVerificationFailed, offramp.ReasonTaxVerificationFailed,
		offramp.ReasonSelfieVerificationFailed, offramp.ReasonKYCFailed,
	}
	BankFailureReasons = []string{
		offramp.ReasonInvalidIFSC, offramp.ReasonInvalidAccountNumber, offramp.ReasonAccountTypeNRE,
		offramp.ReasonPennyDropFailed, offramp.ReasonNameMismatch, offramp.ReasonBankRiskCheckFailed,
	}
)

// awaitKYCDecision completes a KYC job whose verifier left the decision to
// an operator: if the customer still waits on that attempt, the audit log
// records why, once per attempt, and a log line asks for an operator.
func (s *Service) awaitKYCDecision(ctx context.Context, j offramp.Job, cause error) error {
	attempt := strconv.Itoa(j.Seq)
	var waiting offramp.Customer
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		waiting = offramp.Customer{}
		cur, err := tx.Customer(ctx, j.OrgID, j.RefID)
		if errors.Is(err, offramp.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if cur.Status != offramp.CustomerProcessing || cur.KYC == nil || cur.KYC.Attempt != j.Seq {
			return nil // decided or superseded meanwhile
		}
		waiting = cur
		return s.auditOnce(ctx, tx, offramp.AuditEntry{
			OrgID: cur.OrgID, Actor: VerifierActor, Action: ActionKYCAwaiting,
			ObjectType: offramp.ObjectCustomer, ObjectID: cur.ID, Reason: cause.Error(),
			Details: map[string]string{"attempt": attempt},
		})
	})
	if err != nil || waiting.ID == uuid.Nil {
		return err
	}
	s.log.WarnContext(ctx, "KYC verification left to an operator: the customer stays PROCESSING until one decides (offramp admin kyc decide)",
		"customer_id", waiting.ID.String(), "org_id", waiting.OrgID.String(), "attempt", j.Seq, "why", cause.Error())
	return nil
}

// awaitBankDecision is awaitKYCDecision for a bank account.
func (s *Service) awaitBankDecision(ctx context.Context, j offramp.Job, cause error) error {
	var waiting offramp.BankAccount
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		waiting = offramp.BankAccount{}
		cur, err := tx.BankAccount(ctx, j.OrgID, j.RefID)
		if errors.Is(err, offramp.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if cur.Status != offramp.BankProcessing {
			return nil
		}
		waiting = cur
		return s.auditOnce(ctx, tx, offramp.AuditEntry{
			OrgID: cur.OrgID, Actor: VerifierActor, Action: ActionBankAwaiting,
			ObjectType: offramp.ObjectBank, ObjectID: cur.ID, Reason: cause.Error(),
		})
	})
	if err != nil || waiting.ID == uuid.Nil {
		return err
	}
	s.log.WarnContext(ctx, "bank account verification left to an operator: the account stays PROCESSING until one decides (offramp admin banks decide)",
		"bank_id", waiting.ID.String(), "org_id", waiting.OrgID.String(), "customer_id", waiting.CustomerID.String(), "why", cause.Error())
	return nil
}

// auditOnce appends a unless an entry with the same action and details is
// already recorded on the object: a job that runs twice (a lapsed lease)
// records its outcome once.
func (s *Service) auditOnce(ctx context.Context, tx offramp.Tx, a offramp.AuditEntry) error {
	prior, err := tx.AuditEntries(ctx, a.ObjectType, a.ObjectID)
	if err != nil {
		return err
	}
	for _, p := range prior {
		if p.Action == a.Action && p.Details["attempt"] == a.Details["attempt"] {
			return nil
		}
	}
	a.ID, a.CreatedAt = uuid.New(), s.now()
	return tx.AppendAudit(ctx, a)
}

// checkDecision validates an operator's decision: why and by are required;
// a failure needs one of reasons, a verification none.
func checkDecision(verified bool, reason, why, by string, reasons []string) (string, error) {
	reason = strings.ToUpper(strings.TrimSpace(reason))
	var v offramp.Validation
	switch {
	case verified && reason != "":
		v.Add("reason", "A verified submission has no failure reason.")
	case !verified && !slices.Contains(reasons, reason):
		v.Add("reason", "A failed submission needs one of the reasons "+strings.Join(reasons, ", ")+".")
	}
	if strings.TrimSpace(why) == "" {
		v.Add("why", "Say why: the decision is recorded with it.")
	}
	if strings.TrimSpace(by) == "" {
		v.Add("by", "Say who decides.")
	}
	return reason, v.Err()
}

// DecideKYC is an operator's decision on a PROCESSING KYC submission,
// found by the customer id alone: verified, or failed with one of
// CustomerFailureReasons. It has the effects of an automatic decision (the
// status change, the CUSTOMER event and its webhook, the failure reason)
// and records an audit entry (action kyc.decide, actor by, reason why) in
// the same transaction. A submission in any other status is refused
// (CodeRejected); an unknown customer is CodeNotFound.
func (s *Service) DecideKYC(ctx context.Context, customerID uuid.UUID, verified bool, reason, why, by string) (offramp.Customer, error) {
	var out offramp.Customer
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		var err error
		out, err = s.DecideKYCIn(ctx, tx, customerID, verified, reason, why, by)
		return err
	})
	if err != nil {
		return offramp.Customer{}, err
	}
	s.log.InfoContext(ctx, "KYC decided by an operator", "customer_id", out.ID.String(), "org_id", out.OrgID.String(),
		"by", by, "status", string(out.Status), "failure_reason", out.FailureReason)
	return out, nil
}

// DecideKYCIn is DecideKYC inside the caller's transaction.
func (s *Service) DecideKYCIn(ctx context.Context, tx offramp.Tx, customerID uuid.UUID, verified bool, reason, why, by string) (offramp.Customer, error) {
	reason, err := checkDecision(verified, reason, why, by, CustomerFailureReasons)
	if err != nil {
		return offramp.Customer{}, err
	}
	why, by = strings.TrimSpace(why), strings.TrimSpace(by)
	to := offramp.CustomerVerified
	if !verified {
		to = offramp.CustomerFailed
	}
	cur, err := customerAnyOrgIn(ctx, tx, customerID)
	if err != nil {
		return offramp.Customer{}, err
	}
	if cur.Status != offramp.CustomerProcessing {
		return offramp.Customer{}, offramp.Errorf(offramp.CodeRejected, "Only a PROCESSING KYC submission can be decided; customer %s is %s", cur.ID, cur.Status)
	}
	details := map[string]string{"decision": string(to)}
	if reason != "" {
		details["failure_reason"] = reason
	}
	if cur.KYC != nil {
		details["attempt"] = strconv.Itoa(cur.KYC.Attempt)
	}
	out, err := s.setCustomerStatus(ctx, tx, cur, to, reason)
	if err != nil {
		return offramp.Customer{}, err
	}
	return out, tx.AppendAudit(ctx, offramp.AuditEntry{
		ID: uuid.New(), OrgID: cur.OrgID, Actor: by, Action: ActionKYCDecide,
		ObjectType: offramp.ObjectCustomer, ObjectID: cur.ID, Reason: why, Details: details, CreatedAt: s.now(),
	})
}

// DecideBank is DecideKYC for a PROCESSING bank account, found by its id
// alone: verified, or failed with one of BankFailureReasons. Its audit
// action is bank.decide.
func (s *Service) DecideBank(ctx context.Context, bankID uuid.UUID, verified bool, reason, why, by string) (offramp.BankAccount, error) {
	var out offramp.BankAccount
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		var err error
		out, err = s.DecideBankIn(ctx, tx, bankID, verified, reason, why, by)
		return err
	})
	if err != nil {
		return offramp.BankAccount{}, err
	}
	s.log.InfoContext(ctx, "bank account decided by an operator", "bank_id", out.ID.String(), "org_id", out.OrgID.String(),
		"by", by, "status", string(out.Status), "failure_reason", out.FailureReason)
	return out, nil
}

// DecideBankIn is DecideBank inside the caller's transaction.
func (s *Service) DecideBankIn(ctx context.Context, tx offramp.Tx, bankID uuid.UUID, verified bool, reason, why, by string) (offramp.BankAccount, error) {
	reason, err := checkDecision(verified, reason, why, by, BankFailureReasons)
	if err != nil {
		return offramp.BankAccount{}, err
	}
	why, by = strings.TrimSpace(why), strings.TrimSpace(by)
	to := offramp.BankVerified
	if !verified {
		to = offramp.BankFailed
	}
	cur, err := bankAnyOrgIn(ctx, tx, bankID)
	if err != nil {
		return offramp.BankAccount{}, err
	}
	if cur.Status != offramp.BankProcessing {
		return offramp.BankAccount{}, offramp.Errorf(offramp.CodeRejected, "Only a PROCESSING bank account can be decided; bank account %s is %s", cur.ID, cur.Status)
	}
	details := map[string]string{"decision": string(to), "customer_id": cur.CustomerID.String()}
	if reason != "" {
		details["failure_reason"] = reason
	}
	out, err := s.setBankStatus(ctx, tx, cur, to, reason)
	if err != nil {
		return offramp.BankAccount{}, err
	}
	return out, tx.AppendAudit(ctx, offramp.AuditEntry{
		ID: uuid.New(), OrgID: cur.OrgID, Actor: by, Action: ActionBankDecide,
		ObjectType: offramp.ObjectBank, ObjectID: cur.ID, Reason: why, Details: details, CreatedAt: s.now(),
	})
}

// customerAnyOrgIn finds a customer by id in any organization.
func customerAnyOrgIn(ctx context.Context, tx offramp.ReadTx, id uuid.UUID) (offramp.Customer, error) {
	c, err := tx.CustomerAnyOrg(ctx, id)
	return c, notFound(err, "customer_id", offramp.MsgCustomerNotFound)
}

// bankAnyOrgIn finds a bank account by id in any organization.
func bankAnyOrgIn(ctx context.Context, tx offramp.ReadTx, id uuid.UUID) (offramp.BankAccount, error) {
	b, err := tx.BankAccountAnyOrg(ctx, id)
	return b, notFound(err, "bank_id", offramp.MsgBankNotFound)
}

// Pending is why a PROCESSING submission waits.
type Pending struct {
	// Why is what the verifier said when it left the submission to an
	// operator; empty when no verifier has (none is configured, or it is
	// still verifying).
	Why string
	// Since is when the verifier left it to an operator, else when the
	// submission was last changed.
	Since time.Time
	// Verifying is true while an automatic verification job is live for
	// it; Attempts and LastError are that job's (a job retrying an error
	// shows the error here).
	Verifying bool
	Attempts  int
	LastError string
}

// PendingKYCSubmission is a PROCESSING customer and why it waits.
type PendingKYCSubmission struct {
	Customer offramp.Customer
	Pending
}

// PendingBankAccount is a PROCESSING bank account and why it waits.
type PendingBankAccount struct {
	Bank offramp.BankAccount
	Pending
}

// PendingKYC lists PROCESSING KYC submissions of every organization that
// wait for an operator, least recently changed first, at most limit
// (1..10000, default 1000). With verifying, submissions an automatic
// verification job is still working on are listed too.
func (s *Service) PendingKYC(ctx context.Context, limit int, verifying bool) ([]PendingKYCSubmission, error) {
	if limit <= 0 || limit > 10_000 {
		limit = 1000
	}
	var out []PendingKYCSubmission
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		out = nil
		list, err := tx.AdminCustomers(ctx, offramp.CustomerProcessing, limit)
		if err != nil {
			return err
		}
		for _, c := range list {
			attempt := ""
			if c.KYC != nil {
				attempt = strconv.Itoa(c.KYC.Attempt)
			}
			p, err := pendingOf(ctx, tx, offramp.ObjectCustomer, offramp.JobVerifyKYC, c.ID, ActionKYCAwaiting, attempt, c.UpdatedAt)
			if err != nil {
				return err
			}
			if p.Verifying && !verifying {
				continue
			}
			out = append(out, PendingKYCSubmission{Customer: c, Pending: p})
		}
		return nil
	})
	return out, err
}

// PendingBanks is PendingKYC for bank accounts.
func (s *Service) PendingBanks(ctx context.Context, limit int, verifying bool) ([]PendingBankAccount, error) {
	if limit <= 0 || limit > 10_000 {
		limit = 1000
	}
	var out []PendingBankAccount
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		out = nil
		list, err := tx.AdminBankAccounts(ctx, offramp.BankProcessing, limit)
		if err != nil {
			return err
		}
		for _, b := range list {
			p, err := pendingOf(ctx, tx, offramp.ObjectBank, offramp.JobVerifyBank, b.ID, ActionBankAwaiting, "", b.UpdatedAt)
			if err != nil {
				return err
			}
			if p.Verifying && !verifying {
				continue
			}
			out = append(out, PendingBankAccount{Bank: b, Pending: p})
		}
		return nil
	})
	return out, err
}

// pendingOf reads why an object waits: its live verification job, and the
// latest awaiting entry of the current attempt in its audit trail.
func pendingOf(ctx context.Context, tx offramp.ReadTx, typ offramp.ObjectType, kind offramp.JobKind, id uuid.UUID,
	action, attempt string, changed time.Time) (Pending, error) {
	p := Pending{Since: changed}
	jobs, err := tx.Jobs(ctx, kind, id)
	if err != nil {
		return Pending{}, err
	}
	for _, j := range jobs {
		if attempt == "" || strconv.Itoa(j.Seq) == attempt {
			p.Verifying, p.Attempts, p.LastError = true, j.Attempts, j.LastErr
		}
	}
	entries, err := tx.AuditEntries(ctx, typ, id)
	if err != nil {
		return Pending{}, err
	}
	for _, e := range entries {
		if e.Action == action && e.Details["attempt"] == attempt {
			p.Why, p.Since = e.Reason, e.CreatedAt
		}
	}
	return p, nil
}
