package service

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// ist is Asia/Kolkata: UTC+5:30 all year (India has no daylight saving), so
// a fixed zone is exact and needs no time zone database.
var ist = time.FixedZone("IST", 5*3600+30*60)

// istDay is the Asia/Kolkata calendar day of t, the key of the daily limit.
func istDay(t time.Time) string { return t.In(ist).Format(time.DateOnly) }

// nextISTMidnight is when the day of t ends in Asia/Kolkata.
func nextISTMidnight(t time.Time) time.Time {
	y, m, d := t.In(ist).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, ist).UTC()
}

// Limits is a customer's payout limit position.
type Limits struct {
	DailyLimit          decimal.Decimal
	Available           decimal.Decimal
	PerTransactionLimit decimal.Decimal
	ResetAt             time.Time
	EDDRequired         bool
	LimitIncrease       bool
	EDDStatus           offramp.EDDStatus // "" when none was submitted
}

// limitsIn computes a customer's limits inside a transaction: one usage row
// and the latest EDD, whatever the number of payouts.
func (s *Service) limitsIn(ctx context.Context, tx offramp.ReadTx, c offramp.Customer, now time.Time) (Limits, error) {
	used, err := tx.LimitUsage(ctx, c.OrgID, c.ID, istDay(now))
	if err != nil {
		return Limits{}, err
	}
	return s.limitsWith(ctx, tx, c, now, used)
}

// limitsWith is limitsIn with the day's usage already read (and locked, by
// a transaction about to add to it).
func (s *Service) limitsWith(ctx context.Context, tx offramp.ReadTx, c offramp.Customer, now time.Time, used decimal.Decimal) (Limits, error) {
	var eddStatus offramp.EDDStatus
	edd, err := tx.LatestEDD(ctx, c.OrgID, c.ID)
	switch {
	case err == nil:
		eddStatus = edd.Status
	case !errors.Is(err, offramp.ErrNotFound):
		return Limits{}, err
	}
	cfg := s.payouts
	daily := cfg.DailyLimit
	if eddStatus == offramp.EDDVerified {
		daily = cfg.EDDDailyLimit
	}
	avail := decimal.Max(daily.Sub(used), decimal.Zero)
	canApply := eddStatus == "" || eddStatus == offramp.EDDFailed
	return Limits{
		DailyLimit:          daily,
		Available:           avail,
		PerTransactionLimit: decimal.Min(cfg.PerTransactionLimit, daily),
		ResetAt:             nextISTMidnight(now),
		// EDD is required once the limit without it is used up and EDD
		// could still raise it.
		EDDRequired:   canApply && avail.IsZero(),
		LimitIncrease: canApply,
		EDDStatus:     eddStatus,
	}, nil
}

// check refuses a payout of gross INR that the limits do not allow, and
// says "EDD required" when a verified EDD would allow it.
func (l Limits) check(gross, methodMax, eddLimit decimal.Decimal) error {
	used := l.DailyLimit.Sub(l.Available)
	eddWouldAllow := l.LimitIncrease && used.Add(gross).LessThanOrEqual(eddLimit) && gross.LessThanOrEqual(methodMax)
	switch {
	case gross.LessThanOrEqual(l.Available) && gross.LessThanOrEqual(l.PerTransactionLimit):
		return nil
	case eddWouldAllow:
		return offramp.FieldError(offramp.CodeRejected, "sending_amount", offramp.MsgEDDRequired)
	case gross.GreaterThan(l.PerTransactionLimit):
		return offramp.FieldError(offramp.CodeRejected, "sending_amount", offramp.MsgAmountAboveMax)
	}
	return offramp.FieldError(offramp.CodeRejected, "sending_amount", offramp.MsgDailyLimitExceeded)
}

// PayoutLimits returns a customer's limits.
func (s *Service) PayoutLimits(ctx context.Context, orgID uuid.UUID, customerID string) (Limits, error) {
	var l Limits
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		c, err := customerIn(ctx, tx, orgID, customerID)
		if err != nil {
			return err
		}
		l, err = s.limitsIn(ctx, tx, c, s.now())
		return err
	})
	return l, err
}

// EDDInput is a payout EDD submission.
type EDDInput struct {
	CustomerID             string
	SourceOfIncome         string
	BankStatementURLs      []string
	BankStatementPasswords []string
	ITRReportURLs          []string
	ITRReportPasswords     []string
	Declaration            bool
}

var sourcesOfIncome = []string{"SALARY", "BUSINESS_INCOME", "OTHERS"}

// SaveEDD records a customer's EDD submission and schedules its review.
func (s *Service) SaveEDD(ctx context.Context, orgID uuid.UUID, in EDDInput) (offramp.EDD, error) {
	in.SourceOfIncome = strings.ToUpper(strings.TrimSpace(in.SourceOfIncome))
	var v offramp.Validation
	v.Required("customer_id", in.CustomerID)
	if v.Required("source_of_income", in.SourceOfIncome) && !slices.Contains(sourcesOfIncome, in.SourceOfIncome) {
		v.Add("source_of_income", "Must be one of SALARY, BUSINESS_INCOME, OTHERS.")
	}
	if len(in.BankStatementURLs) == 0 {
		v.Add("bank_statement_url", offramp.MsgRequired)
	}
	for _, u := range in.BankStatementURLs {
		checkURL(&v, "bank_statement_url", u)
	}
	for _, u := range in.ITRReportURLs {
		checkURL(&v, "itr_report_url", u)
	}
	if len(in.BankStatementPasswords) > len(in.BankStatementURLs) {
		v.Add("bank_statement_passwords", "There are more passwords than statements.")
	}
	if err := v.Err(); err != nil {
		return offramp.EDD{}, err
	}
	var out offramp.EDD
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		id, err := parseID("customer_id", in.CustomerID, offramp.MsgCustomerUnverified)
		if err != nil {
			return err
		}
		c, err := tx.Customer(ctx, orgID, id)
		if err != nil || c.Status != offramp.CustomerVerified {
			if err != nil && !errors.Is(err, offramp.ErrNotFound) {
				return err
			}
			return offramp.FieldError(offramp.CodeRejected, "customer_id", offramp.MsgCustomerUnverified)
		}
		l, err := s.limitsIn(ctx, tx, c, s.now())
		if err != nil {
			return err
		}
		if !l.LimitIncrease {
			return offramp.FieldError(offramp.CodeRejected, "customer_id", offramp.MsgEDDNotRequired)
		}
		now := s.now()
		out = offramp.EDD{
			ID: uuid.New(), OrgID: orgID, CustomerID: c.ID, Status: offramp.EDDProcessing,
			SourceOfIncome: in.SourceOfIncome, BankStatementURLs: in.BankStatementURLs, BankStatementPasswords: in.BankStatementPasswords,
			ITRReportURLs: in.ITRReportURLs, ITRReportPasswords: in.ITRReportPasswords, Declaration: in.Declaration,
			CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.CreateEDD(ctx, out); err != nil {
			return err
		}
		if err := s.eddEvent(ctx, tx, out, c); err != nil {
			return err
		}
		if s.verifier == nil {
			return nil
		}
		return tx.EnqueueJob(ctx, offramp.Job{ID: uuid.New(), OrgID: orgID, Kind: offramp.JobVerifyEDD, RefID: out.ID, RunAt: now.Add(s.verifyDelay)})
	})
	return out, err
}

func (s *Service) eddEvent(ctx context.Context, tx offramp.Tx, e offramp.EDD, c offramp.Customer) error {
	md := map[string]string{"customer_id": c.ID.String()}
	if e.FailureReason != "" {
		md["failure_reason"] = e.FailureReason
	}
	_, err := s.emit(ctx, tx, offramp.Event{
		ID: uuid.New(), OrgID: e.OrgID, ObjectType: offramp.ObjectEDD, ObjectID: e.ID, Event: string(e.Status),
		ClientReferenceID: c.ClientReferenceID, Metadata: md, CreatedAt: s.now(),
	})
	return err
}

// EDDFailMarker in a bank statement URL makes the sandbox reject the EDD.
const EDDFailMarker = "fail"

// runEDDJob decides an EDD submission. The sandbox approves unless a bank
// statement URL contains "fail".
func (s *Service) runEDDJob(ctx context.Context, j offramp.Job) error {
	return s.store.Update(ctx, func(tx offramp.Tx) error {
		e, err := tx.EDD(ctx, j.OrgID, j.RefID)
		if errors.Is(err, offramp.ErrNotFound) {
			return nil
		}
		if err != nil || e.Status != offramp.EDDProcessing {
			return err
		}
		from := e.Status
		e.Status, e.UpdatedAt = offramp.EDDVerified, s.now()
		for _, u := range e.BankStatementURLs {
			if strings.Contains(strings.ToLower(u), EDDFailMarker) {
				e.Status, e.FailureReason = offramp.EDDFailed, "EDD_DOCUMENTS_REJECTED"
			}
		}
		if err := tx.UpdateEDD(ctx, e, from); err != nil {
			return err
		}
		c, err := tx.Customer(ctx, j.OrgID, e.CustomerID)
		if err != nil {
			return err
		}
		return s.eddEvent(ctx, tx, e, c)
	})
}
