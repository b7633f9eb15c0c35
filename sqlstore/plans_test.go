package sqlstore

import (
	"context"
	"database/sql"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// planQuerier runs every statement of a tx twice: first under EXPLAIN,
// recording the plan, then for real.
type planQuerier struct {
	t      *testing.T
	q      querier
	sqlite bool
	plans  *[]plan
}

type plan struct{ query, text string }

func (p planQuerier) explain(ctx context.Context, query string, args ...any) {
	p.t.Helper()
	prefix := "EXPLAIN "
	if p.sqlite {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := p.q.QueryContext(ctx, prefix+query, args...)
	if err != nil {
		p.t.Fatalf("explain %s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		dest := make([]any, len(cols))
		var line string
		for i := range dest {
			dest[i] = new(any)
		}
		dest[len(dest)-1] = &line // SQLite's detail, PostgreSQL's only column
		if err := rows.Scan(dest...); err != nil {
			p.t.Fatal(err)
		}
		b.WriteString(strings.TrimSpace(line) + "\n")
	}
	if err := rows.Err(); err != nil {
		p.t.Fatal(err)
	}
	*p.plans = append(*p.plans, plan{strings.Join(strings.Fields(query), " "), b.String()})
}

func (p planQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	p.explain(ctx, query, args...)
	return p.q.ExecContext(ctx, query, args...)
}

func (p planQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	p.explain(ctx, query, args...)
	return p.q.QueryContext(ctx, query, args...)
}

func (p planQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	p.explain(ctx, query, args...)
	return p.q.QueryRowContext(ctx, query, args...)
}

// testQueryPlans: every query of the methods migration 00004 serves reads
// payouts, jobs and the audit log through an index, never by a scan of
// the table, and so does every query of organizations and their API keys
// (00008), which authentication runs on each request. On PostgreSQL sequential scans are disabled for the check, so
// the planner takes an index wherever one can serve the query (on tables
// this small it would rightly prefer a scan otherwise).
func testQueryPlans(t *testing.T, s *Store) {
	ctx := t.Context()
	sqlite := !s.concurrent
	sqltx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sqltx.Rollback()
	if !sqlite {
		if _, err := sqltx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			t.Fatal(err)
		}
	}
	var plans []plan
	x := &tx{s: s, q: planQuerier{t: t, q: sqltx, sqlite: sqlite, plans: &plans}}
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	kinds := []offramp.JobKind{offramp.JobProcessPayout, offramp.JobDeliverWebhook}
	for name, call := range map[string]func() error{
		"PayoutByRailReference": func() error { _, err := x.PayoutByRailReference(ctx, "OFR1"); return err },
		"PayoutAnyOrg":          func() error { _, err := x.PayoutAnyOrg(ctx, uuid.New()); return err },
		"PayoutsByExchangeOrder": func() error {
			_, err := x.PayoutsByExchangeOrder(ctx, uuid.New(), "order-1")
			return err
		},
		"AdminPayouts": func() error {
			for _, f := range []offramp.PayoutFilter{
				{}, {OrgID: uuid.New()}, {Status: offramp.PayoutInReview}, {CustomerID: uuid.New()},
				{From: now, To: now.Add(time.Hour)}, {OrgID: uuid.New(), CustomerID: uuid.New(), Status: offramp.PayoutSuccess},
			} {
				if _, err := x.AdminPayouts(ctx, f, 10); err != nil {
					return err
				}
			}
			return nil
		},
		"ForEachPayout": func() error { return x.ForEachPayout(ctx, func(offramp.Payout) error { return nil }) },
		"ForEachPayout after": func() error {
			// The keyset query of a second batch.
			_, err := x.listPayouts(ctx, "walk", `SELECT `+payoutCols+` FROM payouts
				WHERE (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`, x.ts(now), uuid.New(), payoutBatch)
			return err
		},
		"PayoutStats":  func() error { _, err := x.PayoutStats(ctx); return err },
		"Jobs":         func() error { _, err := x.Jobs(ctx, offramp.JobVerifyKYC, uuid.New()); return err },
		"JobDepths":    func() error { _, err := x.JobDepths(ctx, now); return err },
		"AuditEntries": func() error { _, err := x.AuditEntries(ctx, offramp.ObjectPayout, uuid.New()); return err },
		"Org":          func() error { _, err := x.Org(ctx, uuid.New()); return err },
		"OrgByAPIKey":  func() error { _, err := x.OrgByAPIKey(ctx, "key"); return err },
		"APIKeys":      func() error { _, err := x.APIKeys(ctx, uuid.New()); return err },
		"RevokeAPIKey": func() error { return x.RevokeAPIKey(ctx, uuid.New(), uuid.New(), "ops", now) },
		"TouchAPIKey":  func() error { return x.TouchAPIKey(ctx, uuid.New(), now) },
		"ClaimJobs": func() error {
			for _, c := range []offramp.JobClaim{
				{Now: now, Owner: "o", Lease: time.Minute, Limit: 5},
				{Now: now, Owner: "o", Lease: time.Minute, Limit: 5, PerOrg: 3},
				{Now: now, Owner: "o", Lease: time.Minute, Limit: 5, PerOrg: 3, Kinds: kinds},
			} {
				if _, err := x.ClaimJobs(ctx, c); err != nil {
					return err
				}
			}
			return nil
		},
		"RescheduleJob": func() error {
			x.RescheduleJob(ctx, offramp.Job{ID: uuid.New(), Lease: "o"}, now) // ErrStale
			return nil
		},
	} {
		if err := call(); err != nil && !strings.Contains(err.Error(), "not found") {
			t.Fatalf("%s: %v", name, err)
		}
	}
	scan := regexp.MustCompile(`(?m)^SCAN (payouts|jobs|audit_log|customers|j|api_keys|orgs|o|k|s)$`)
	if !sqlite {
		scan = regexp.MustCompile(`Seq Scan on (payouts|jobs|audit_log|customers|api_keys|orgs)\b`)
	}
	if len(plans) < 20 {
		t.Fatalf("only %d queries explained", len(plans))
	}
	for _, p := range plans {
		if m := scan.FindString(p.text); m != "" {
			t.Errorf("%s in the plan of\n  %s\n%s", m, p.query, p.text)
		}
	}
}

func TestSQLiteQueryPlans(t *testing.T) {
	s, _ := openTemp(t)
	testQueryPlans(t, s)
}

func TestPostgresQueryPlans(t *testing.T) {
	testQueryPlans(t, openPGTemp(t))
}
