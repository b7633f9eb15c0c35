package sqlstore

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// inState makes p a payout the schema accepts in status st, or in phase
// REVERSED for reversed.
func inState(p *offramp.Payout, st offramp.PayoutStatus, reversed bool) {
	p.Status = st
	p.UTR, p.FailureReason, p.PaidAt, p.ReviewReason = "", "", time.Time{}, ""
	switch st {
	case offramp.PayoutProcessing:
		p.Phase = offramp.PhaseQueued
	case offramp.PayoutSuccess:
		p.Phase, p.UTR, p.PaidAt = offramp.PhasePaid, "UTR0001", p.CreatedAt
	case offramp.PayoutFailed:
		p.Phase, p.FailureReason = offramp.PhaseRejected, offramp.ReasonBeneficiaryBankRejected
		if reversed {
			p.Phase, p.UTR, p.FailureReason = offramp.PhaseReversed, "UTR0001", offramp.ReasonReversedByBank
		}
	case offramp.PayoutRefunded:
		p.Phase, p.FailureReason = offramp.PhaseCryptoReturned, offramp.ReasonBeneficiaryBankRejected
	case offramp.PayoutInReview:
		p.Phase, p.ReviewReason = offramp.PhaseManualReview, offramp.ReviewOutcomeUnknown
	}
}

// wantCheck asserts that err is the refusal of the named CHECK: an
// internal error (no *offramp.Error) naming the constraint and quoting no
// value of the row.
func wantCheck(t *testing.T, what string, err error, constraint string, values ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: written, want %s to refuse it", what, constraint)
	}
	if !strings.Contains(err.Error(), "the row breaks the constraint "+constraint+":") {
		t.Fatalf("%s: got %v, want %s to refuse it", what, err, constraint)
	}
	var oe *offramp.Error
	if errors.As(err, &oe) || offramp.ErrorCode(err) != offramp.CodeInternal {
		t.Fatalf("%s: got a %s error, want an internal one", what, offramp.ErrorCode(err))
	}
	for _, v := range values {
		if v != "" && strings.Contains(fmt.Sprintf("%+v %#v", err, err), v) {
			t.Fatalf("%s: the error quotes %q: %v", what, v, err)
		}
	}
}

// wantRawRefused asserts that a raw statement failed on the named
// constraint (both engines name CHECKs in the message).
func wantRawRefused(t *testing.T, what string, err error, constraint string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: written, want %s to refuse it", what, constraint)
	}
	if !strings.Contains(err.Error(), constraint) {
		t.Fatalf("%s: got %v, want %s to refuse it", what, err, constraint)
	}
}

// testConstraints proves that every CHECK and unique index of migration
// 00004 fires: each bad row breaks that rule alone and is refused, naming
// it, while the same row without the fault is accepted. Payouts and jobs
// go through the Tx methods, as the service writes them; what no Tx
// method can write (a half lease, a blank audit field, a duplicate job
// behind EnqueueJob's ON CONFLICT) is written with raw SQL.
func testConstraints(t *testing.T, s *Store) {
	ctx := t.Context()
	org, c, bank := seedPayee(t, s)
	q := offramp.Quotation{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, BankID: bank.ID, Asset: "USDT", Fiat: "INR",
		PaymentMethod: "IMPS", SendingAmount: decimal.RequireFromString("50"), Rate: decimal.RequireFromString("88.92"),
		GrossFiat: decimal.RequireFromString("4446.00"), ReceivingAmount: decimal.RequireFromString("4144.60"),
		Status: offramp.QuotationUnlinked, ExpiresAt: time.Date(2025, 3, 14, 9, 1, 0, 0, time.UTC)}
	if err := s.Update(ctx, func(tx offramp.Tx) error { return tx.CreateQuotation(ctx, q) }); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	n := 0
	payout := func(st offramp.PayoutStatus, reversed bool) offramp.Payout {
		n++
		p := offramp.Payout{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, BankID: bank.ID, QuotationID: q.ID,
			ClientReferenceID: fmt.Sprintf("ref-%d", n), ExchangeOrderID: fmt.Sprintf("order-%d", n),
			Asset: q.Asset, Fiat: q.Fiat, PaymentMethod: q.PaymentMethod, SendingAmount: q.SendingAmount, Rate: q.Rate,
			GrossFiat: q.GrossFiat, ReceivingAmount: q.ReceivingAmount, RailReference: fmt.Sprintf("OFR%s", uuid.NewString()),
			LimitDay: "2025-03-14", CreatedAt: at, UpdatedAt: at}
		inState(&p, st, reversed)
		return p
	}
	create := func(p offramp.Payout) error {
		return s.Update(ctx, func(tx offramp.Tx) error { return tx.CreatePayout(ctx, p) })
	}

	const (
		processing = offramp.PayoutProcessing
		success    = offramp.PayoutSuccess
		failed     = offramp.PayoutFailed
		refunded   = offramp.PayoutRefunded
		inReview   = offramp.PayoutInReview
	)
	for _, tc := range []struct {
		constraint string
		status     offramp.PayoutStatus
		reversed   bool
		break_     func(p *offramp.Payout)
	}{
		{"payouts_rail_reference_check", processing, false, func(p *offramp.Payout) { p.RailReference = "" }},
		{"payouts_status_check", processing, false, func(p *offramp.Payout) { p.Status = "PENDING" }},
		{"payouts_phase_check", processing, false, func(p *offramp.Payout) { p.Phase = "AWAITING_FUNDS" }},
		{"payouts_status_phase_check", processing, false, func(p *offramp.Payout) { p.Phase = offramp.PhasePaid }},
		{"payouts_status_phase_check", failed, false, func(p *offramp.Payout) { p.Phase = offramp.PhaseCryptoReturned }},
		{"payouts_status_phase_check", inReview, false, func(p *offramp.Payout) { p.Phase = offramp.PhaseSubmitted }},
		{"payouts_success_utr_check", success, false, func(p *offramp.Payout) { p.UTR = "" }},
		{"payouts_unpaid_utr_check", processing, false, func(p *offramp.Payout) { p.UTR = "UTRLEAK0001" }},
		{"payouts_unpaid_utr_check", inReview, false, func(p *offramp.Payout) { p.UTR = "UTRLEAK0002" }},
		{"payouts_rejected_utr_check", failed, false, func(p *offramp.Payout) { p.UTR = "UTRLEAK0003" }},
		{"payouts_reversed_utr_check", failed, true, func(p *offramp.Payout) { p.UTR = "" }},
		{"payouts_failed_reason_check", failed, false, func(p *offramp.Payout) { p.FailureReason = "" }},
		{"payouts_failed_reason_check", failed, true, func(p *offramp.Payout) { p.FailureReason = "" }},
		{"payouts_failed_reason_check", refunded, false, func(p *offramp.Payout) { p.FailureReason = "" }},
		{"payouts_live_reason_check", processing, false, func(p *offramp.Payout) { p.FailureReason = "LEAKREASON" }},
		{"payouts_live_reason_check", success, false, func(p *offramp.Payout) { p.FailureReason = "LEAKREASON" }},
		{"payouts_live_reason_check", inReview, false, func(p *offramp.Payout) { p.FailureReason = "LEAKREASON" }},
		{"payouts_review_reason_check", inReview, false, func(p *offramp.Payout) { p.ReviewReason = "" }},
		{"payouts_paid_at_check", success, false, func(p *offramp.Payout) { p.PaidAt = time.Time{} }},
		{"payouts_inquiries_check", processing, false, func(p *offramp.Payout) { p.Inquiries = -1 }},
		{"payouts_submissions_check", processing, false, func(p *offramp.Payout) { p.Submissions = -1 }},
	} {
		what := fmt.Sprintf("%s payout", tc.status)
		if tc.reversed {
			what = "reversed payout"
		}
		bad := payout(tc.status, tc.reversed)
		tc.break_(&bad)
		wantCheck(t, what+" breaking "+tc.constraint, create(bad), tc.constraint, bad.UTR, bad.FailureReason, bad.RailReference, bad.ID.String())
		good := payout(tc.status, tc.reversed)
		if err := create(good); err != nil {
			t.Fatalf("%s beside the one breaking %s: %v", what, tc.constraint, err)
		}
	}

	// UpdatePayout meets the same rules.
	p := payout(processing, false)
	if err := create(p); err != nil {
		t.Fatal(err)
	}
	update := func(next offramp.Payout) error {
		return s.Update(ctx, func(tx offramp.Tx) error { return tx.UpdatePayout(ctx, next, p.Status, p.Phase) })
	}
	paid := p
	inState(&paid, success, false)
	paid.PaidAt = time.Time{}
	wantCheck(t, "update to SUCCESS without paid_at", update(paid), "payouts_paid_at_check")
	review := p
	inState(&review, inReview, false)
	review.ReviewReason = ""
	wantCheck(t, "update to IN_REVIEW without a reason", update(review), "payouts_review_reason_check")
	inState(&paid, success, false)
	if err := update(paid); err != nil {
		t.Fatalf("valid update: %v", err)
	}

	// payouts_org_exchange_order_live_key: one live payout per order.
	live := payout(processing, false)
	if err := create(live); err != nil {
		t.Fatal(err)
	}
	second := payout(inReview, false)
	second.ExchangeOrderID = live.ExchangeOrderID
	err := create(second)
	var oe *offramp.Error
	if !errors.As(err, &oe) || oe.Code != offramp.CodeConflict || oe.Fields["exchange_order_id"] == nil {
		t.Fatalf("second live payout of an order: %v, want a conflict on exchange_order_id", err)
	}
	if kind, target := s.d.classify(err); kind != errUnique || target != "payouts.exchange_order_id" {
		t.Fatalf("second live payout of an order: classified %v %q", kind, target)
	}
	retried := payout(failed, false)
	retried.ExchangeOrderID = live.ExchangeOrderID
	if err := create(retried); err != nil {
		t.Fatalf("failed payout of a live order: %v", err)
	}

	// Jobs through EnqueueJob.
	enqueue := func(j offramp.Job) error {
		return s.Update(ctx, func(tx offramp.Tx) error { return tx.EnqueueJob(ctx, j) })
	}
	job := func(kind offramp.JobKind, ref uuid.UUID) offramp.Job {
		return offramp.Job{ID: uuid.New(), OrgID: org.ID, Kind: kind, RefID: ref, RunAt: at}
	}
	wantCheck(t, "job of an unknown kind", enqueue(job("send_sms", uuid.New())), "jobs_kind_check")
	if err := enqueue(job(offramp.JobVerifyEDD, uuid.New())); err != nil {
		t.Fatal(err)
	}
	negative := job(offramp.JobVerifyKYC, uuid.New())
	negative.Attempts = -1
	wantCheck(t, "job with negative attempts", enqueue(negative), "jobs_attempts_check")
	negative.Attempts = 0
	if err := enqueue(negative); err != nil {
		t.Fatal(err)
	}

	// What no Tx method writes, written raw, one statement at a time.
	raw := func(query string, args ...any) error {
		_, err := s.wdb.ExecContext(ctx, s.d.rebind(query), args...)
		return err
	}
	ts := s.d.timeArg(at)
	pj := job(offramp.JobProcessPayout, uuid.New())
	if err := enqueue(pj); err != nil {
		t.Fatal(err)
	}
	wantRawRefused(t, "a lease owner without an end", raw(`UPDATE jobs SET lease_owner = ? WHERE id = ?`, "w", pj.ID), "jobs_lease_check")
	wantRawRefused(t, "a lease end without an owner", raw(`UPDATE jobs SET lease_until = ? WHERE id = ?`, ts, pj.ID), "jobs_lease_check")
	if err := raw(`UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id = ?`, "w", ts, pj.ID); err != nil {
		t.Fatalf("a whole lease: %v", err)
	}
	insertJob := func(kind offramp.JobKind, ref uuid.UUID) error {
		return raw(`INSERT INTO jobs (id, org_id, kind, ref_id, run_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			uuid.New(), org.ID, string(kind), ref, ts, ts)
	}
	for _, kind := range []offramp.JobKind{offramp.JobProcessPayout, offramp.JobDeliverWebhook} {
		ref := uuid.New()
		if err := insertJob(kind, ref); err != nil {
			t.Fatal(err)
		}
		err := insertJob(kind, ref)
		if ek, target := s.d.classify(err); ek != errUnique || target != "jobs.ref_id" {
			t.Fatalf("a second %s job for one object: %v (classified %v %q), want jobs_kind_ref_key to refuse it", kind, err, ek, target)
		}
		if err := insertJob(offramp.JobVerifyKYC, ref); err != nil {
			t.Fatalf("a job of another kind for the object: %v", err)
		}
	}
	kycRef := uuid.New()
	for range 2 {
		if err := insertJob(offramp.JobVerifyKYC, kycRef); err != nil {
			t.Fatalf("two KYC jobs for one customer: %v", err)
		}
	}

	// The audit log's required fields; AppendAudit refuses them blank
	// before the database sees them.
	auditSeq := int64(100)
	insertAudit := func(actor, action, reason string) error {
		auditSeq++
		return raw(`INSERT INTO audit_log (id, org_id, actor, action, object_type, object_id, reason, details, created_at, seq, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, uuid.New(), org.ID, actor, action, "payout", uuid.New(), reason, "v1:x", ts,
			auditSeq, "", "h")
	}
	wantRawRefused(t, "an audit entry without actor", insertAudit("", "payout.note", "v1:x"), "audit_log_actor_check")
	wantRawRefused(t, "an audit entry without action", insertAudit("ops", "", "v1:x"), "audit_log_action_check")
	wantRawRefused(t, "an audit entry without reason", insertAudit("ops", "payout.note", ""), "audit_log_reason_check")
	if err := insertAudit("ops", "payout.note", "v1:x"); err != nil {
		t.Fatalf("a whole audit entry: %v", err)
	}
	testConsoleConstraints(t, s, raw, ts)
	testAPIKeyConstraints(t, s, raw, org.ID, at)
}

// testAPIKeyConstraints: the CHECKs and unique index of migration 00008
// (api_keys), each bad row written raw next to the same row without the
// fault.
func testAPIKeyConstraints(t *testing.T, s *Store, raw func(string, ...any) error, orgID uuid.UUID, at time.Time) {
	ts := func(v time.Time) any { return s.d.timeArg(v) }
	insertKey := func(key, label string, revokedAt any, revokedBy string) error {
		return raw(`INSERT INTO api_keys (id, org_id, api_key, api_secret, label, created_by, created_at, revoked_at, revoked_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, uuid.New(), orgID, key, "v1:x", label, "ops", ts(at), revokedAt, revokedBy)
	}
	// Characters, not bytes: 100 two-byte letters are a label, 101 are not.
	long := strings.Repeat("é", 100)
	wantRawRefused(t, "a key without key", insertKey("", "l", nil, ""), "api_keys_api_key_check")
	wantRawRefused(t, "a key without label", insertKey("k-a", "", nil, ""), "api_keys_label_check")
	wantRawRefused(t, "a key with a 101-character label", insertKey("k-a", long+"é", nil, ""), "api_keys_label_check")
	wantRawRefused(t, "a revoked key naming nobody", insertKey("k-a", "l", ts(at), ""), "api_keys_revoked_by_check")
	wantRawRefused(t, "a live key naming a revoker", insertKey("k-a", "l", nil, "ops"), "api_keys_revoked_by_check")
	wantRawRefused(t, "a key revoked before it was created", insertKey("k-a", "l", ts(at.Add(-time.Second)), "ops"), "api_keys_revoked_at_check")
	for i, ok := range []error{
		insertKey("k-a", long, nil, ""),
		insertKey("k-b", "l", ts(at), "ops"),
	} {
		if ok != nil {
			t.Fatalf("a whole key (%d): %v", i, ok)
		}
	}
	err := insertKey("k-a", "again", nil, "")
	if ek, target := s.d.classify(err); ek != errUnique || target != "api_keys.api_key" {
		t.Fatalf("a second key k-a: %v (classified %v %q), want api_keys_api_key_key", err, ek, target)
	}
	if f := uniqueField["api_keys.api_key"]; f.field != "api_key" {
		t.Fatalf("a duplicate key maps to %+v", f)
	}
}

// testConsoleConstraints: the CHECKs and unique indexes of migration
// 00006 (operators, proposals, the audit chain), each bad row written raw
// (the Tx methods refuse or normalize it first) next to the same row
// without the fault.
func testConsoleConstraints(t *testing.T, s *Store, raw func(string, ...any) error, ts any) {
	insertOperator := func(email, role, hash string, failed int) error {
		return raw(`INSERT INTO operators (id, email, role, password_hash, totp_secret, disabled, failed_logins, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, uuid.New(), email, role, hash, "v1:x", false, failed, ts, ts)
	}
	wantRawRefused(t, "an operator with an upper-case e-mail", insertOperator("Asha@ops.example", "admin", "h", 0), "operators_email_check")
	wantRawRefused(t, "an operator without e-mail", insertOperator("", "admin", "h", 0), "operators_email_check")
	wantRawRefused(t, "an operator of an unknown role", insertOperator("asha@ops.example", "root", "h", 0), "operators_role_check")
	wantRawRefused(t, "an operator without password", insertOperator("asha@ops.example", "admin", "", 0), "operators_password_hash_check")
	wantRawRefused(t, "negative failed logins", insertOperator("asha@ops.example", "admin", "h", -1), "operators_failed_logins_check")
	if err := insertOperator("asha@ops.example", "admin", "h", 0); err != nil {
		t.Fatalf("a whole operator: %v", err)
	}
	err := insertOperator("asha@ops.example", "viewer", "h", 0)
	if ek, target := s.d.classify(err); ek != errUnique || target != "operators.email" {
		t.Fatalf("a second operator with one e-mail: %v (classified %v %q), want operators_email_key", err, ek, target)
	}

	insertProposal := func(kind, status, proposer string, decider any, decidedAt any) error {
		return raw(`INSERT INTO proposals (id, org_id, kind, object_type, object_id, params, reason, proposed_by, status, decided_by, decided_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, uuid.New(), uuid.Nil, kind, "PAYOUT", uuid.New(), "v1:x", "v1:x",
			proposer, status, decider, decidedAt, ts)
	}
	wantRawRefused(t, "a proposal of an unknown kind", insertProposal("payout.pay_twice", "PENDING", "a", nil, nil), "proposals_kind_check")
	wantRawRefused(t, "a proposal in an unknown status", insertProposal("payout.refund", "DONE", "a", "b", ts), "proposals_status_check")
	wantRawRefused(t, "a proposal without proposer", insertProposal("payout.refund", "PENDING", "", nil, nil), "proposals_proposed_by_check")
	wantRawRefused(t, "a proposal decided by its proposer", insertProposal("payout.refund", "APPROVED", "a", "a", ts), "proposals_decider_check")
	wantRawRefused(t, "a decided proposal without decider", insertProposal("payout.refund", "APPROVED", "a", nil, nil), "proposals_decided_check")
	wantRawRefused(t, "a pending proposal with a decider", insertProposal("payout.refund", "PENDING", "a", "b", ts), "proposals_decided_check")
	wantRawRefused(t, "a decision without a time", insertProposal("payout.refund", "REJECTED", "a", "b", nil), "proposals_decided_at_check")
	for _, ok := range []error{
		insertProposal("payout.refund", "PENDING", "a", nil, nil),
		insertProposal("kyc.decide", "APPROVED", "a", "b", ts),
		insertProposal("bank.decide", "REJECTED", "a", "b", ts),
	} {
		if ok != nil {
			t.Fatalf("a whole proposal: %v", ok)
		}
	}

	insertLink := func(seq int64, prev, hash string) error {
		return raw(`INSERT INTO audit_log (id, org_id, actor, action, object_type, object_id, reason, details, created_at, seq, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, uuid.New(), uuid.Nil, "ops", "payout.note", "PAYOUT", uuid.New(), "v1:x", "v1:x", ts,
			seq, prev, hash)
	}
	wantRawRefused(t, "an audit entry numbered 0", insertLink(0, "", "h"), "audit_log_seq_check")
	wantRawRefused(t, "an unchained entry with a predecessor", insertLink(1000, "p", ""), "audit_log_chain_check")
	if err := insertLink(1000, "p", "h"); err != nil {
		t.Fatalf("a whole link: %v", err)
	}
	// A numbering race on PostgreSQL: the losing transaction runs again.
	wantKind := errUnique
	if s.concurrent {
		wantKind = errRetry
	}
	err = insertLink(1000, "h", "h2")
	if ek, target := s.d.classify(err); ek != wantKind || target != "audit_log.seq" {
		t.Fatalf("a second entry numbered 1000: %v (classified %v %q), want audit_log_seq_key", err, ek, target)
	}
}

func TestSQLiteConstraints(t *testing.T) {
	s, _ := openTemp(t)
	testConstraints(t, s)
}

func TestPostgresConstraints(t *testing.T) {
	testConstraints(t, openPGTemp(t))
}
