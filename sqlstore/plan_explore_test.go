package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

type explainQ struct {
	q    querier
	t    *testing.T
}

func (e explainQ) explain(ctx context.Context, query string, args ...any) {
	rows, err := e.q.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		e.t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		rows.Scan(&id, &parent, &notused, &detail)
		fmt.Fprintf(&b, "  %s\n", detail)
	}
	fmt.Printf("QUERY %s\n%s", strings.Join(strings.Fields(query), " ")[:min(100, len(strings.Join(strings.Fields(query), " ")))], b.String())
}
func (e explainQ) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	e.explain(ctx, query, args...)
	return e.q.ExecContext(ctx, query, args...)
}
func (e explainQ) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	e.explain(ctx, query, args...)
	return e.q.QueryContext(ctx, query, args...)
}
func (e explainQ) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	e.explain(ctx, query, args...)
	return e.q.QueryRowContext(ctx, query, args...)
}

func TestExplorePlans(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	sqltx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sqltx.Rollback()
	x := &tx{s: s, q: explainQ{sqltx, t}}
	now := time.Now()
	x.PayoutByRailReference(ctx, "x")
	x.PayoutAnyOrg(ctx, uuid.New())
	x.AdminPayouts(ctx, offramp.PayoutFilter{}, 5)
	x.AdminPayouts(ctx, offramp.PayoutFilter{OrgID: uuid.New()}, 5)
	x.AdminPayouts(ctx, offramp.PayoutFilter{Status: offramp.PayoutInReview}, 5)
	x.AdminPayouts(ctx, offramp.PayoutFilter{CustomerID: uuid.New()}, 5)
	x.AdminPayouts(ctx, offramp.PayoutFilter{From: now}, 5)
	x.ForEachPayout(ctx, func(offramp.Payout) error { return nil })
	q := `SELECT ` + payoutCols + ` FROM payouts WHERE (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`
	explainQ{sqltx, t}.explain(ctx, q, "x", "y", 5)
	x.PayoutStats(ctx)
	x.Jobs(ctx, offramp.JobProcessPayout, uuid.New())
	x.JobDepths(ctx, now)
	x.ClaimJobs(ctx, offramp.JobClaim{Now: now, Owner: "o", Lease: time.Minute, Limit: 5})
	x.ClaimJobs(ctx, offramp.JobClaim{Now: now, Owner: "o", Lease: time.Minute, Limit: 5, PerOrg: 3})
	x.ClaimJobs(ctx, offramp.JobClaim{Now: now, Owner: "o", Lease: time.Minute, Limit: 5, PerOrg: 3, Kinds: []offramp.JobKind{"process_payout", "deliver_webhook"}})
	x.AuditEntries(ctx, offramp.ObjectPayout, uuid.New())
	x.RescheduleJob(ctx, offramp.Job{ID: uuid.New(), Lease: "x"}, now)
	x.EnqueueJob(ctx, offramp.Job{Kind: offramp.JobProcessPayout, RefID: uuid.New()})
	x.PayoutsByExchangeOrder(ctx, uuid.New(), "o")
}
