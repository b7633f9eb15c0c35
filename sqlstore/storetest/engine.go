package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// engineTests are the subtests of what the payout engine, the job runner
// and the operator console need from a store: lookups across
// organizations, the payout census, fair job claims, rescheduling, one
// live job per object, one live payout per exchange order and the audit
// log. Run runs them after the others.
var engineTests = []struct {
	name string
	fn   func(t *testing.T, s offramp.Store)
}{
	{"PayoutAnyOrg", testPayoutAnyOrg},
	{"AdminPayouts", testAdminPayouts},
	{"ForEachPayout", testForEachPayout},
	{"PayoutStats", testPayoutStats},
	{"LivePayoutPerOrder", testLivePayoutPerOrder},
	{"JobsOfObject", testJobsOfObject},
	{"JobDepths", testJobDepths},
	{"ClaimKinds", testClaimKinds},
	{"ClaimPerOrg", testClaimPerOrg},
	{"ClaimRoundRobin", testClaimRoundRobin},
	{"RescheduleJob", testRescheduleJob},
	{"EnqueueJobConflict", testEnqueueJobConflict},
	{"AuditLog", testAuditLog},
}

// --- helpers ---

func claimWith(t *testing.T, s offramp.Store, c offramp.JobClaim) []offramp.Job {
	t.Helper()
	var jobs []offramp.Job
	update(t, s, func(tx offramp.Tx) error {
		var err error
		jobs, err = tx.ClaimJobs(t.Context(), c)
		return err
	})
	return jobs
}

func enqueue(t *testing.T, s offramp.Store, jobs ...offramp.Job) {
	t.Helper()
	update(t, s, func(tx offramp.Tx) error {
		for _, j := range jobs {
			if err := tx.EnqueueJob(t.Context(), j); err != nil {
				return err
			}
		}
		return nil
	})
}

func jobIDs(js []offramp.Job) []uuid.UUID {
	ids := []uuid.UUID{}
	for _, j := range js {
		ids = append(ids, j.ID)
	}
	return ids
}

func idsOfJobs(js ...offramp.Job) []uuid.UUID { return jobIDs(js) }

func newJob(org uuid.UUID, kind offramp.JobKind, runAt time.Time) offramp.Job {
	return offramp.Job{ID: uuid.New(), OrgID: org, Kind: kind, RefID: uuid.New(), RunAt: runAt}
}

func jobsOf(t *testing.T, s offramp.Store, kind offramp.JobKind, ref uuid.UUID) []offramp.Job {
	t.Helper()
	var js []offramp.Job
	view(t, s, func(tx offramp.ReadTx) error {
		var err error
		js, err = tx.Jobs(t.Context(), kind, ref)
		return err
	})
	return js
}

func wantCode(t *testing.T, what string, err error, code offramp.Code) {
	t.Helper()
	var e *offramp.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("%s: got %v (%T), want a %s *offramp.Error", what, err, err, code)
	}
}

// --- payouts across organizations ---

func testPayoutAnyOrg(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	a, b := newOrg(t, s), newOrg(t, s)
	ca, ba := newPayee(t, s, a, 1)
	cb, bb := newPayee(t, s, b, 1)
	pa := newPayout(t, s, ca, ba, 1, func(p *offramp.Payout) {
		inStatus(p, offramp.PayoutSuccess)
		p.Submissions, p.SubmittedAt, p.LastBankAnswer = 1, p.CreatedAt.Add(time.Second), "PAID"
	})
	pb := newPayout(t, s, cb, bb, 2, nil)
	view(t, s, func(tx offramp.ReadTx) error {
		for _, want := range []offramp.Payout{pa, pb} {
			got, err := tx.PayoutByRailReference(ctx, want.RailReference)
			if err != nil {
				return err
			}
			wantSame(t, "PayoutByRailReference", got, want)
			got, err = tx.PayoutAnyOrg(ctx, want.ID)
			if err != nil {
				return err
			}
			wantSame(t, "PayoutAnyOrg", got, want)
		}
		_, err := tx.PayoutByRailReference(ctx, "")
		wantIs(t, "PayoutByRailReference(empty)", err, offramp.ErrNotFound)
		_, err = tx.PayoutByRailReference(ctx, "OFR-unknown")
		wantIs(t, "PayoutByRailReference(unknown)", err, offramp.ErrNotFound)
		_, err = tx.PayoutByRailReference(ctx, pa.UTR)
		wantIs(t, "PayoutByRailReference(a UTR)", err, offramp.ErrNotFound)
		_, err = tx.PayoutAnyOrg(ctx, uuid.New())
		wantIs(t, "PayoutAnyOrg(unknown)", err, offramp.ErrNotFound)
		return nil
	})
}

func testAdminPayouts(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	a, b := newOrg(t, s), newOrg(t, s)
	ca1, ba1 := newPayee(t, s, a, 1)
	ca2, ba2 := newPayee(t, s, a, 2)
	cb, bb := newPayee(t, s, b, 1)
	// pN is created at t0 + N s; the organizations interleave.
	p1 := newPayout(t, s, ca1, ba1, 1, func(p *offramp.Payout) { inStatus(p, offramp.PayoutInReview) })
	p2 := newPayout(t, s, cb, bb, 2, nil)
	p3 := newPayout(t, s, ca2, ba2, 3, func(p *offramp.Payout) { inStatus(p, offramp.PayoutSuccess) })
	p4 := newPayout(t, s, cb, bb, 4, func(p *offramp.Payout) { inStatus(p, offramp.PayoutInReview) })
	p5 := newPayout(t, s, ca1, ba1, 5, nil)
	list := func(f offramp.PayoutFilter, limit int) ([]offramp.Payout, error) {
		var ps []offramp.Payout
		err := s.View(ctx, func(tx offramp.ReadTx) error {
			var err error
			ps, err = tx.AdminPayouts(ctx, f, limit)
			return err
		})
		return ps, err
	}
	for _, tc := range []struct {
		name  string
		f     offramp.PayoutFilter
		limit int
		want  []offramp.Payout
	}{
		{"everything, oldest first", offramp.PayoutFilter{}, 50, []offramp.Payout{p1, p2, p3, p4, p5}},
		{"at most limit", offramp.PayoutFilter{}, 2, []offramp.Payout{p1, p2}},
		{"organization A", offramp.PayoutFilter{OrgID: a.ID}, 50, []offramp.Payout{p1, p3, p5}},
		{"organization B", offramp.PayoutFilter{OrgID: b.ID}, 50, []offramp.Payout{p2, p4}},
		{"unknown organization", offramp.PayoutFilter{OrgID: uuid.New()}, 50, nil},
		{"the review queue", offramp.PayoutFilter{Status: offramp.PayoutInReview}, 50, []offramp.Payout{p1, p4}},
		{"B's review queue", offramp.PayoutFilter{OrgID: b.ID, Status: offramp.PayoutInReview}, 50, []offramp.Payout{p4}},
		{"a customer without its organization", offramp.PayoutFilter{CustomerID: ca1.ID}, 50, []offramp.Payout{p1, p5}},
		{"a customer with its organization", offramp.PayoutFilter{OrgID: a.ID, CustomerID: ca2.ID}, 50, []offramp.Payout{p3}},
		{"a customer with another organization", offramp.PayoutFilter{OrgID: b.ID, CustomerID: ca1.ID}, 50, nil},
		{"unknown customer", offramp.PayoutFilter{CustomerID: uuid.New()}, 50, nil},
		{"range", offramp.PayoutFilter{From: p2.CreatedAt, To: p4.CreatedAt}, 50, []offramp.Payout{p2, p3}},
		{"from just after", offramp.PayoutFilter{From: p4.CreatedAt.Add(time.Nanosecond)}, 50, []offramp.Payout{p5}},
		{"all filters", offramp.PayoutFilter{OrgID: a.ID, CustomerID: ca1.ID, Status: offramp.PayoutProcessing, From: p1.CreatedAt}, 50, []offramp.Payout{p5}},
	} {
		got, err := list(tc.f, tc.limit)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wantEqual(t, tc.name, payoutIDs(got), payoutIDs(tc.want))
	}
	got, err := list(offramp.PayoutFilter{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "listed payout", got[0], p1)

	// Equal times: id ascending.
	same := []offramp.Payout{
		newPayout(t, s, ca1, ba1, 100, nil),
		newPayout(t, s, cb, bb, 100, nil),
	}
	got, err = list(offramp.PayoutFilter{From: same[0].CreatedAt}, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID.String() > got[1].ID.String() {
		t.Fatalf("equal times not ordered by id ascending: %v", payoutIDs(got))
	}

	if _, err := list(offramp.PayoutFilter{}, 0); offramp.ErrorCode(err) != offramp.CodeInvalid {
		t.Fatalf("limit 0: got %v, want CodeInvalid", err)
	}
}

func testForEachPayout(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	walk := func(fn func(tx offramp.ReadTx, p offramp.Payout) error) ([]uuid.UUID, error) {
		var ids []uuid.UUID
		err := s.View(ctx, func(tx offramp.ReadTx) error {
			ids = nil
			return tx.ForEachPayout(ctx, func(p offramp.Payout) error {
				ids = append(ids, p.ID)
				return fn(tx, p)
			})
		})
		return ids, err
	}
	ids, err := walk(func(offramp.ReadTx, offramp.Payout) error { return nil })
	if err != nil || len(ids) != 0 {
		t.Fatalf("walk of an empty store: %v, %v", ids, err)
	}

	// More payouts than a batch of any sensible size, seven to a
	// timestamp, so that equal times straddle the batches; all on one
	// quotation (only a link makes a quotation single use).
	a, b := newOrg(t, s), newOrg(t, s)
	ca, ba := newPayee(t, s, a, 1)
	cb, bb := newPayee(t, s, b, 1)
	qa, qb := makeQuotation(ca, ba, 1), makeQuotation(cb, bb, 1)
	var want []offramp.Payout
	update(t, s, func(tx offramp.Tx) error {
		want = nil
		if err := tx.CreateQuotation(ctx, qa); err != nil {
			return err
		}
		if err := tx.CreateQuotation(ctx, qb); err != nil {
			return err
		}
		for i := range 1100 {
			q := qa
			if i%5 == 0 {
				q = qb
			}
			p := makePayout(q, i)
			p.ClientReferenceID, p.ExchangeOrderID = fmt.Sprintf("walk-%d", i), ""
			p.CreatedAt = t0.Add(time.Duration(i/7) * time.Second)
			p.UpdatedAt = p.CreatedAt
			if err := tx.CreatePayout(ctx, p); err != nil {
				return err
			}
			want = append(want, p)
		}
		return nil
	})
	slices.SortFunc(want, func(x, y offramp.Payout) int {
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		return slices.Compare(x.ID[:], y.ID[:])
	})

	// Every payout once, in creation order; fn may use the transaction.
	ids, err = walk(func(tx offramp.ReadTx, p offramp.Payout) error {
		got, err := tx.Payout(ctx, p.OrgID, p.ID)
		if err != nil {
			return err
		}
		if got.RailReference != p.RailReference {
			return fmt.Errorf("payout %s read %s", p.ID, got.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "ForEachPayout", ids, payoutIDs(want))

	// An error from fn stops the walk and comes back.
	stop := errors.New("stop")
	ids, err = walk(func(_ offramp.ReadTx, p offramp.Payout) error {
		if p.ID == want[2].ID {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || len(ids) != 3 {
		t.Fatalf("walk stopped after %d payouts with %v, want 3 and fn's error", len(ids), err)
	}
}

func testPayoutStats(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	stats := func() offramp.PayoutStats {
		t.Helper()
		var st offramp.PayoutStats
		view(t, s, func(tx offramp.ReadTx) error {
			var err error
			st, err = tx.PayoutStats(ctx)
			return err
		})
		return st
	}
	want := offramp.PayoutStats{}
	for _, ph := range offramp.PayoutPhases {
		want.Counts = append(want.Counts, offramp.PhaseCount{Status: ph.Status(), Phase: ph})
	}
	wantEqual(t, "PayoutStats of an empty store", stats(), want)

	a, b := newOrg(t, s), newOrg(t, s)
	ca, ba := newPayee(t, s, a, 1)
	cb, bb := newPayee(t, s, b, 1)
	submitted := func(at time.Time) func(*offramp.Payout) {
		return func(p *offramp.Payout) {
			p.Phase, p.Submissions, p.SubmittedAt = offramp.PhaseSubmitted, 1, at
		}
	}
	newPayout(t, s, ca, ba, 1, nil)
	newPayout(t, s, cb, bb, 2, nil)
	newPayout(t, s, ca, ba, 3, submitted(t0.Add(100*time.Second)))
	newPayout(t, s, cb, bb, 4, submitted(t0.Add(50*time.Second)))
	// Submitted before, but not pending at the bank now.
	newPayout(t, s, ca, ba, 5, func(p *offramp.Payout) {
		inStatus(p, offramp.PayoutSuccess)
		p.SubmittedAt = t0
	})
	r1 := newPayout(t, s, cb, bb, 6, func(p *offramp.Payout) { inStatus(p, offramp.PayoutInReview) })
	newPayout(t, s, ca, ba, 7, func(p *offramp.Payout) { inStatus(p, offramp.PayoutInReview) })
	newPayout(t, s, ca, ba, 8, func(p *offramp.Payout) {
		inStatus(p, offramp.PayoutFailed)
		p.Phase, p.UTR, p.FailureReason = offramp.PhaseReversed, "UTRREV", offramp.ReasonReversedByBank
	})
	newPayout(t, s, cb, bb, 9, func(p *offramp.Payout) { inStatus(p, offramp.PayoutRefunded) })

	n := map[offramp.PayoutPhase]int{
		offramp.PhaseQueued: 2, offramp.PhaseSubmitted: 2, offramp.PhasePaid: 1,
		offramp.PhaseManualReview: 2, offramp.PhaseReversed: 1, offramp.PhaseCryptoReturned: 1,
	}
	for i := range want.Counts {
		want.Counts[i].N = n[want.Counts[i].Phase]
	}
	want.OldestReview = r1.CreatedAt
	want.OldestPending = t0.Add(50 * time.Second)
	wantEqual(t, "PayoutStats", stats(), want)
}

// testLivePayoutPerOrder: an exchange order has at most one payout that is
// PROCESSING, SUCCESS or IN_REVIEW; failed ones may be retried.
func testLivePayoutPerOrder(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	q := makeQuotation(c, b, 1)
	update(t, s, func(tx offramp.Tx) error { return tx.CreateQuotation(ctx, q) })
	n := 0
	payout := func(order string, st offramp.PayoutStatus) offramp.Payout {
		n++
		p := makePayout(q, n)
		p.ExchangeOrderID = order
		inStatus(&p, st)
		return p
	}
	create := func(p offramp.Payout) error {
		return updateErr(t, s, func(tx offramp.Tx) error { return tx.CreatePayout(ctx, p) })
	}

	first := payout("ord-1", offramp.PayoutProcessing)
	if err := create(first); err != nil {
		t.Fatal(err)
	}
	for _, st := range []offramp.PayoutStatus{offramp.PayoutProcessing, offramp.PayoutSuccess, offramp.PayoutInReview} {
		wantConflict(t, "a second live payout ("+string(st)+")", create(payout("ord-1", st)),
			"exchange_order_id", offramp.MsgOrderInUse)
	}
	// Failed and refunded payouts of the order do not count.
	for _, st := range []offramp.PayoutStatus{offramp.PayoutFailed, offramp.PayoutRefunded, offramp.PayoutFailed} {
		if err := create(payout("ord-1", st)); err != nil {
			t.Fatalf("a %s payout of a live order: %v", st, err)
		}
	}
	// The first one fails: the order may be paid again.
	failed := first
	inStatus(&failed, offramp.PayoutFailed)
	update(t, s, func(tx offramp.Tx) error { return tx.UpdatePayout(ctx, failed, first.Status, first.Phase) })
	retry := payout("ord-1", offramp.PayoutProcessing)
	if err := create(retry); err != nil {
		t.Fatalf("retry of a failed order: %v", err)
	}
	// A failed payout cannot come back to life beside the retry.
	revived := failed
	inStatus(&revived, offramp.PayoutInReview)
	err := updateErr(t, s, func(tx offramp.Tx) error { return tx.UpdatePayout(ctx, revived, failed.Status, failed.Phase) })
	wantConflict(t, "reviving a failed payout of a paid order", err, "exchange_order_id", offramp.MsgOrderInUse)

	// Orders are per organization; payouts without an order do not share one.
	other := newOrg(t, s)
	oc, ob := newPayee(t, s, other, 1)
	newPayout(t, s, oc, ob, 1, func(p *offramp.Payout) { p.ExchangeOrderID = "ord-1" })
	for range 2 {
		if err := create(payout("", offramp.PayoutProcessing)); err != nil {
			t.Fatalf("payout without an order: %v", err)
		}
	}
}

// --- jobs ---

func testJobsOfObject(t *testing.T, s offramp.Store) {
	org := newOrg(t, s)
	payout, customer := uuid.New(), uuid.New()
	pj := offramp.Job{ID: uuid.New(), OrgID: org.ID, Kind: offramp.JobProcessPayout, RefID: payout, RunAt: t0}
	k1 := offramp.Job{ID: uuid.New(), OrgID: org.ID, Kind: offramp.JobVerifyKYC, RefID: customer, Seq: 1, RunAt: t0.Add(time.Minute)}
	k2 := offramp.Job{ID: uuid.New(), OrgID: org.ID, Kind: offramp.JobVerifyKYC, RefID: customer, Seq: 2, RunAt: t0}
	wj := offramp.Job{ID: uuid.New(), OrgID: org.ID, Kind: offramp.JobDeliverWebhook, RefID: payout, RunAt: t0}
	enqueue(t, s, pj, k1, k2, wj)

	wantEqual(t, "Jobs(process_payout)", jobsOf(t, s, offramp.JobProcessPayout, payout), []offramp.Job{pj})
	wantEqual(t, "Jobs(verify_kyc), in run order", jobsOf(t, s, offramp.JobVerifyKYC, customer), []offramp.Job{k2, k1})
	wantEqual(t, "Jobs(deliver_webhook)", jobsOf(t, s, offramp.JobDeliverWebhook, payout), []offramp.Job{wj})
	wantEqual(t, "Jobs of another kind", len(jobsOf(t, s, offramp.JobVerifyKYC, payout)), 0)
	wantEqual(t, "Jobs of another object", len(jobsOf(t, s, offramp.JobProcessPayout, uuid.New())), 0)

	// A claimed job shows its lease.
	got := claimWith(t, s, offramp.JobClaim{Now: t0, Owner: "runner-1", Lease: time.Minute, Limit: 10, Kinds: []offramp.JobKind{offramp.JobProcessPayout}})
	pj.Attempts, pj.Lease = 1, "runner-1"
	wantEqual(t, "claim", got, []offramp.Job{pj})
	wantEqual(t, "Jobs after the claim", jobsOf(t, s, offramp.JobProcessPayout, payout), []offramp.Job{pj})
	update(t, s, func(tx offramp.Tx) error { return tx.FinishJob(t.Context(), pj.ID, pj.Lease) })
	wantEqual(t, "Jobs after FinishJob", len(jobsOf(t, s, offramp.JobProcessPayout, payout)), 0)
}

func testJobDepths(t *testing.T, s offramp.Store) {
	depths := func(now time.Time) []offramp.JobDepth {
		t.Helper()
		var ds []offramp.JobDepth
		view(t, s, func(tx offramp.ReadTx) error {
			var err error
			ds, err = tx.JobDepths(t.Context(), now)
			return err
		})
		return ds
	}
	all := func(pp, kyc offramp.JobDepth) []offramp.JobDepth {
		pp.Kind, kyc.Kind = offramp.JobProcessPayout, offramp.JobVerifyKYC
		return []offramp.JobDepth{
			{Kind: offramp.JobDeliverWebhook}, pp, {Kind: offramp.JobVerifyBank}, {Kind: offramp.JobVerifyEDD}, kyc,
		}
	}
	wantEqual(t, "JobDepths of an empty store", depths(t0), all(offramp.JobDepth{}, offramp.JobDepth{}))

	org := newOrg(t, s)
	pp := offramp.JobProcessPayout
	p1, p2 := newJob(org.ID, pp, t0.Add(-10*time.Minute)), newJob(org.ID, pp, t0.Add(-5*time.Minute))
	p3, p4 := newJob(org.ID, pp, t0.Add(time.Hour)), newJob(org.ID, pp, t0.Add(-time.Minute))
	k1, k2, k3 := newJob(org.ID, offramp.JobVerifyKYC, t0.Add(-time.Minute)), newJob(org.ID, offramp.JobVerifyKYC, t0),
		newJob(org.ID, offramp.JobVerifyKYC, t0.Add(time.Hour))
	enqueue(t, s, p1, p2, p3, p4, k1, k2, k3)
	kinds := []offramp.JobKind{pp}
	// p1 and p2 leased until t0+58m; p4 leased until t0-30s, lapsed at t0.
	if got := claimWith(t, s, offramp.JobClaim{Now: t0.Add(-2 * time.Minute), Owner: "a", Lease: time.Hour, Limit: 2, Kinds: kinds}); len(got) != 2 {
		t.Fatalf("setup claim: %+v", got)
	}
	if got := claimWith(t, s, offramp.JobClaim{Now: t0.Add(-time.Minute), Owner: "b", Lease: 30 * time.Second, Limit: 5, Kinds: kinds}); len(got) != 1 || got[0].ID != p4.ID {
		t.Fatalf("setup claim of p4: %+v", got)
	}

	// k2 is due at its run time exactly.
	wantEqual(t, "JobDepths at t0", depths(t0), all(
		offramp.JobDepth{Due: 1, Leased: 2, Scheduled: 1},
		offramp.JobDepth{Due: 2, Scheduled: 1}))
	// A lease is held up to its end, inclusive.
	end := t0.Add(58 * time.Minute)
	wantEqual(t, "JobDepths at the end of the leases", depths(end), all(
		offramp.JobDepth{Due: 1, Leased: 2, Scheduled: 1},
		offramp.JobDepth{Due: 2, Scheduled: 1}))
	wantEqual(t, "JobDepths after the leases", depths(end.Add(time.Microsecond)), all(
		offramp.JobDepth{Due: 3, Scheduled: 1},
		offramp.JobDepth{Due: 2, Scheduled: 1}))
	wantEqual(t, "JobDepths later", depths(t0.Add(2*time.Hour)), all(
		offramp.JobDepth{Due: 4},
		offramp.JobDepth{Due: 3}))
	wantEqual(t, "JobDepths before anything", depths(t0.Add(-time.Hour)), all(
		offramp.JobDepth{Leased: 3, Scheduled: 1},
		offramp.JobDepth{Scheduled: 3}))
}

func testClaimKinds(t *testing.T, s offramp.Store) {
	org := newOrg(t, s)
	k := newJob(org.ID, offramp.JobVerifyKYC, t0.Add(-3*time.Minute))
	p := newJob(org.ID, offramp.JobProcessPayout, t0.Add(-2*time.Minute))
	w := newJob(org.ID, offramp.JobDeliverWebhook, t0.Add(-time.Minute))
	b := newJob(org.ID, offramp.JobVerifyBank, t0)
	enqueue(t, s, k, p, w, b)
	claimKinds := func(owner string, kinds ...offramp.JobKind) []offramp.Job {
		return claimWith(t, s, offramp.JobClaim{Now: t0, Owner: owner, Lease: time.Minute, Limit: 10, Kinds: kinds})
	}
	got := claimKinds("payouts-and-webhooks", offramp.JobProcessPayout, offramp.JobDeliverWebhook)
	wantEqual(t, "claim of two kinds", jobIDs(got), idsOfJobs(p, w))
	for _, j := range got {
		wantEqual(t, "lease token of "+string(j.Kind), j.Lease, "payouts-and-webhooks")
	}
	wantEqual(t, "claim of a kind with nothing due", len(claimKinds("edd", offramp.JobVerifyEDD)), 0)
	wantEqual(t, "claim of every kind", jobIDs(claimKinds("rest")), idsOfJobs(k, b))
}

func testClaimPerOrg(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	a, b := newOrg(t, s), newOrg(t, s)
	pp := offramp.JobProcessPayout
	// A has a backlog of ten payout jobs, B one job due after all of
	// them; A also holds a lease on a job of another kind.
	var backlog []offramp.Job
	for i := range 10 {
		backlog = append(backlog, newJob(a.ID, pp, t0.Add(time.Duration(i-10)*time.Minute)))
	}
	bj := newJob(b.ID, pp, t0)
	kyc := newJob(a.ID, offramp.JobVerifyKYC, t0.Add(-time.Hour))
	enqueue(t, s, append(backlog, bj, kyc)...)
	if got := claimWith(t, s, offramp.JobClaim{Now: t0, Owner: "kyc", Lease: time.Hour, Limit: 1, Kinds: []offramp.JobKind{offramp.JobVerifyKYC}}); len(got) != 1 {
		t.Fatalf("setup claim: %+v", got)
	}

	c := offramp.JobClaim{Now: t0, Owner: "w1", Lease: time.Hour, Limit: 10, Kinds: []offramp.JobKind{pp}, PerOrg: 3}
	got := claimWith(t, s, c)
	wantEqual(t, "capped claim", jobIDs(got), idsOfJobs(backlog[0], bj, backlog[1], backlog[2]))
	for _, j := range got {
		wantEqual(t, "lease token", j.Lease, "w1")
	}
	// A holds three leases: nothing more for it, and B has nothing due.
	c.Owner = "w2"
	wantEqual(t, "claim with the cap reached", len(claimWith(t, s, c)), 0)

	// A finishes one: one slot frees up.
	update(t, s, func(tx offramp.Tx) error { return tx.FinishJob(ctx, got[0].ID, got[0].Lease) })
	c.Owner = "w3"
	wantEqual(t, "claim after a job finished", jobIDs(claimWith(t, s, c)), idsOfJobs(backlog[3]))
	c.Owner = "w4"
	wantEqual(t, "claim with the cap reached again", len(claimWith(t, s, c)), 0)

	// Across every kind A holds four leases (three payouts, one KYC): a
	// cap of five leaves it one.
	wantEqual(t, "claim of every kind, cap 5", jobIDs(claimWith(t, s, offramp.JobClaim{
		Now: t0, Owner: "w5", Lease: time.Hour, Limit: 10, PerOrg: 5,
	})), idsOfJobs(backlog[4]))

	// Lapsed leases do not count: the jobs are due again, and A takes
	// turns with B again.
	later := t0.Add(time.Hour + time.Second)
	c.Now, c.Owner = later, "w6"
	got = claimWith(t, s, c)
	wantEqual(t, "claim after the leases lapsed", jobIDs(got), idsOfJobs(backlog[1], bj, backlog[2], backlog[3]))
}

func testClaimRoundRobin(t *testing.T, s offramp.Store) {
	a, b, c := newOrg(t, s), newOrg(t, s), newOrg(t, s)
	pp := offramp.JobProcessPayout
	var as []offramp.Job
	for i := range 4 {
		as = append(as, newJob(a.ID, pp, t0.Add(time.Duration(i-10)*time.Minute)))
	}
	b1, b2 := newJob(b.ID, pp, t0.Add(-2*time.Minute)), newJob(b.ID, pp, t0.Add(-time.Minute))
	c1 := newJob(c.ID, pp, t0)
	enqueue(t, s, append(as, b1, b2, c1)...)
	claim := func(owner string, limit int) []offramp.Job {
		return claimWith(t, s, offramp.JobClaim{Now: t0, Owner: owner, Lease: time.Hour, Limit: limit})
	}
	// Every organization's oldest due job before anyone's second,
	// although A's whole backlog is older than B's and C's jobs.
	wantEqual(t, "first turn", jobIDs(claim("w1", 2)), idsOfJobs(as[0], b1))
	wantEqual(t, "second turn", jobIDs(claim("w2", 4)), idsOfJobs(as[1], b2, c1, as[2]))
	wantEqual(t, "the rest", jobIDs(claim("w3", 10)), idsOfJobs(as[3]))
}

func testRescheduleJob(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	j := newJob(org.ID, offramp.JobProcessPayout, t0)
	enqueue(t, s, j)
	claimAt := func(now time.Time, owner string) []offramp.Job {
		return claimWith(t, s, offramp.JobClaim{Now: now, Owner: owner, Lease: time.Minute, Limit: 10})
	}
	first := claimAt(t0, "w1")
	update(t, s, func(tx offramp.Tx) error { return tx.RetryJob(ctx, j.ID, "w1", t0.Add(time.Minute), "bank timed out") })
	got := claimAt(t0.Add(time.Minute), "w2")
	if len(got) != 1 || got[0].Attempts != 2 || got[0].LastErr != "bank timed out" || got[0].Lease != "w2" {
		t.Fatalf("second claim: %+v", got)
	}
	held := got[0]

	reschedule := func(j offramp.Job, at time.Time) error {
		return updateErr(t, s, func(tx offramp.Tx) error { return tx.RescheduleJob(ctx, j, at) })
	}
	wantIs(t, "RescheduleJob under a lapsed lease", reschedule(first[0], t0.Add(time.Hour)), offramp.ErrStale)
	unclaimed := held
	unclaimed.Lease = ""
	wantIs(t, "RescheduleJob without a lease", reschedule(unclaimed, t0.Add(time.Hour)), offramp.ErrStale)
	other := held
	other.ID = uuid.New()
	wantIs(t, "RescheduleJob of an unknown job", reschedule(other, t0.Add(time.Hour)), offramp.ErrStale)

	// The step records its work and its next step in one transaction; a
	// stale reschedule before it did not spoil the transaction.
	next := t0.Add(5 * time.Minute)
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.RescheduleJob(ctx, first[0], next); !errors.Is(err, offramp.ErrStale) {
			return fmt.Errorf("stale reschedule in the step's transaction: %v", err)
		}
		if err := tx.AppendAudit(ctx, offramp.AuditEntry{OrgID: org.ID, Actor: "engine", Action: "payout.step",
			ObjectType: offramp.ObjectPayout, ObjectID: j.RefID, Reason: "polled"}); err != nil {
			return err
		}
		return tx.RescheduleJob(ctx, held, next)
	})
	want := j
	want.RunAt = next
	wantEqual(t, "rescheduled job", jobsOf(t, s, j.Kind, j.RefID), []offramp.Job{want})
	wantIs(t, "RescheduleJob twice", reschedule(held, next), offramp.ErrStale)
	wantIs(t, "FinishJob after RescheduleJob", updateErr(t, s, func(tx offramp.Tx) error { return tx.FinishJob(ctx, j.ID, "w2") }), offramp.ErrStale)

	if got := claimAt(next.Add(-time.Microsecond), "w3"); len(got) != 0 {
		t.Fatalf("claimed before the rescheduled time: %+v", got)
	}
	got = claimAt(next, "w3")
	want.Attempts, want.Lease = 1, "w3"
	wantEqual(t, "claim of the fresh step", got, []offramp.Job{want})

	update(t, s, func(tx offramp.Tx) error { return tx.FinishJob(ctx, j.ID, "w3") })
	wantIs(t, "RescheduleJob of a finished job", reschedule(got[0], next), offramp.ErrStale)
}

func testEnqueueJobConflict(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	payout, event, customer := uuid.New(), uuid.New(), uuid.New()
	pj := offramp.Job{ID: uuid.New(), OrgID: org.ID, Kind: offramp.JobProcessPayout, RefID: payout, RunAt: t0}
	wj := offramp.Job{ID: uuid.New(), OrgID: org.ID, Kind: offramp.JobDeliverWebhook, RefID: event, RunAt: t0}
	enqueue(t, s, pj, wj)

	for _, first := range []offramp.Job{pj, wj} {
		second := first
		second.ID, second.RunAt = uuid.New(), t0.Add(time.Hour)
		err := updateErr(t, s, func(tx offramp.Tx) error { return tx.EnqueueJob(ctx, second) })
		wantCode(t, "a second "+string(first.Kind)+" job for one object", err, offramp.CodeConflict)
		wantEqual(t, "jobs after the conflict", jobsOf(t, s, first.Kind, first.RefID), []offramp.Job{first})
	}
	dupID := pj
	dupID.RefID = uuid.New()
	wantCode(t, "a job id taken", updateErr(t, s, func(tx offramp.Tx) error { return tx.EnqueueJob(ctx, dupID) }), offramp.CodeConflict)

	// The conflict fails no statement: the transaction carries on and
	// commits on every engine.
	kyc := offramp.Job{ID: uuid.New(), OrgID: org.ID, Kind: offramp.JobVerifyKYC, RefID: customer, RunAt: t0}
	update(t, s, func(tx offramp.Tx) error {
		dup := pj
		dup.ID = uuid.New()
		if err := tx.EnqueueJob(ctx, dup); offramp.ErrorCode(err) != offramp.CodeConflict {
			return fmt.Errorf("duplicate in a transaction: %v", err)
		}
		return tx.EnqueueJob(ctx, kyc)
	})
	wantEqual(t, "job written after a conflict", jobsOf(t, s, kyc.Kind, kyc.RefID), []offramp.Job{kyc})

	// Other kinds may have several jobs per object; kinds do not collide.
	kyc2 := offramp.Job{ID: uuid.New(), OrgID: org.ID, Kind: offramp.JobVerifyKYC, RefID: customer, Seq: 1, RunAt: t0.Add(time.Minute)}
	pw := offramp.Job{ID: uuid.New(), OrgID: org.ID, Kind: offramp.JobDeliverWebhook, RefID: payout, RunAt: t0}
	enqueue(t, s, kyc2, pw)
	wantEqual(t, "two KYC jobs", jobsOf(t, s, kyc.Kind, customer), []offramp.Job{kyc, kyc2})

	// Once the job is finished, the object may have a new one.
	got := claimWith(t, s, offramp.JobClaim{Now: t0, Owner: "w", Lease: time.Minute, Limit: 10, Kinds: []offramp.JobKind{offramp.JobProcessPayout}})
	if len(got) != 1 {
		t.Fatalf("claim: %+v", got)
	}
	update(t, s, func(tx offramp.Tx) error { return tx.FinishJob(ctx, pj.ID, "w") })
	again := pj
	again.ID = uuid.New()
	enqueue(t, s, again)
	wantEqual(t, "a new job after the first finished", jobsOf(t, s, pj.Kind, payout), []offramp.Job{again})
}

func testAuditLog(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	obj := uuid.New()
	entries := func(typ offramp.ObjectType, id uuid.UUID) []offramp.AuditEntry {
		t.Helper()
		var as []offramp.AuditEntry
		view(t, s, func(tx offramp.ReadTx) error {
			var err error
			as, err = tx.AuditEntries(ctx, typ, id)
			return err
		})
		return as
	}
	wantEqual(t, "AuditEntries of a new object", len(entries(offramp.ObjectPayout, obj)), 0)

	a1 := offramp.AuditEntry{
		ID: uuid.New(), OrgID: org.ID, Actor: "asha@ops.example", Action: "payout.resolve_paid",
		ObjectType: offramp.ObjectPayout, ObjectID: obj, Reason: "Bank statement shows the credit to R. Kumar",
		Details: map[string]string{"utr": "UTR998877", "approver": "vikram@ops.example"}, CreatedAt: t0.Add(time.Minute),
	}
	// Appended first but older; no ID, no details.
	a2 := offramp.AuditEntry{OrgID: org.ID, Actor: "vikram@ops.example", Action: "payout.reinquire",
		ObjectType: offramp.ObjectPayout, ObjectID: obj, Reason: "asked the bank again", CreatedAt: t0}
	elsewhere := a1
	elsewhere.ID, elsewhere.ObjectID = uuid.New(), uuid.New()
	update(t, s, func(tx offramp.Tx) error {
		for _, a := range []offramp.AuditEntry{a2, a1, elsewhere} {
			if err := tx.AppendAudit(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	got := entries(offramp.ObjectPayout, obj)
	if len(got) != 2 || got[0].ID == uuid.Nil {
		t.Fatalf("AuditEntries: %+v", got)
	}
	a2.ID = got[0].ID
	// Links 1 and 2 of the chain, in append order.
	a2.Seq, a2.PrevHash = 1, ""
	a2.Hash = offramp.AuditHash(a2.PrevHash, a2)
	a1.Seq, a1.PrevHash = 2, a2.Hash
	a1.Hash = offramp.AuditHash(a1.PrevHash, a1)
	wantEqual(t, "AuditEntries, oldest first", got, []offramp.AuditEntry{a2, a1})
	wantEqual(t, "AuditEntries of another object type", len(entries(offramp.ObjectBank, obj)), 0)

	// A zero time comes from the clock.
	a3 := offramp.AuditEntry{OrgID: org.ID, Actor: "ops", Action: "payout.note", ObjectType: offramp.ObjectPayout, ObjectID: obj, Reason: "note"}
	update(t, s, func(tx offramp.Tx) error { return tx.AppendAudit(ctx, a3) })
	got = entries(offramp.ObjectPayout, obj)
	i := slices.IndexFunc(got, func(a offramp.AuditEntry) bool { return a.Action == a3.Action })
	if len(got) != 3 || i < 0 || got[i].CreatedAt.IsZero() || got[i].Reason != "note" {
		t.Fatalf("entry without a time: %+v", got)
	}

	// Who, what and why are required.
	for field, edit := range map[string]func(*offramp.AuditEntry){
		"actor":  func(a *offramp.AuditEntry) { a.Actor = "" },
		"action": func(a *offramp.AuditEntry) { a.Action = "" },
		"reason": func(a *offramp.AuditEntry) { a.Reason = "" },
	} {
		bad := a1
		bad.ID = uuid.New()
		edit(&bad)
		err := updateErr(t, s, func(tx offramp.Tx) error { return tx.AppendAudit(ctx, bad) })
		var e *offramp.Error
		if !errors.As(err, &e) || e.Code != offramp.CodeInvalid || len(e.Fields[field]) == 0 {
			t.Fatalf("entry without %s: got %v, want CodeInvalid on %s", field, err, field)
		}
	}
	wantEqual(t, "entries after refused ones", len(entries(offramp.ObjectPayout, obj)), 3)
}
