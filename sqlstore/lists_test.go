package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/sqlstore/pgtest"
	"github.com/offramp/offramp/sqlstore/storetest"
)

// withCountCap lowers listCountCap for the test. Tests of this package
// do not run in parallel, so nothing else reads it meanwhile.
func withCountCap(t *testing.T, n int) {
	old := listCountCap
	listCountCap = n
	t.Cleanup(func() { listCountCap = old })
}

func TestSQLiteListCountCap(t *testing.T) {
	withCountCap(t, 4)
	storetest.RunCountCap(t, func(t *testing.T) offramp.Store { s, _ := openTemp(t); return s }, 4)
}

func TestPostgresListCountCap(t *testing.T) {
	withCountCap(t, 4)
	storetest.RunCountCap(t, func(t *testing.T) offramp.Store { return openPGTemp(t) }, 4)
}

// listFixture is an organization's history: payouts of many customers,
// one in ten IN_REVIEW, each with a delivered webhook event (every
// seventh still pending), a payout a minute from t0.
type listFixture struct {
	org       offramp.Org
	customers []offramp.Customer
	payouts   []offramp.Payout // oldest first
	t0        time.Time
}

// fillLists writes n payouts (with their quotations, events and
// deliveries) of a new organization over nCustomers customers, in
// Updates of a few hundred.
func fillLists(t *testing.T, s *Store, n, nCustomers int) listFixture {
	t.Helper()
	ctx := t.Context()
	fx := listFixture{t0: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	fx.org = offramp.Org{ID: uuid.New(), Name: "Exchange", Env: offramp.EnvSandbox, APIKey: "key_" + uuid.NewString(), APISecret: "s", CreatedAt: fx.t0}
	var banks []offramp.BankAccount
	err := s.Update(ctx, func(tx offramp.Tx) error {
		fx.customers, banks = nil, nil
		if err := tx.CreateOrg(ctx, fx.org); err != nil {
			return err
		}
		for i := range nCustomers {
			at := fx.t0.Add(time.Duration(i) * time.Second)
			c := offramp.Customer{ID: uuid.New(), OrgID: fx.org.ID, FullName: "Payee", Email: fmt.Sprintf("p%d@example.com", i),
				Phone: fmt.Sprintf("+9198%08d", i), Country: "IND", Status: offramp.CustomerVerified, CreatedAt: at}
			b := offramp.BankAccount{ID: uuid.New(), OrgID: c.OrgID, CustomerID: c.ID, Type: offramp.BankAccountDetails,
				AccountNumber: fmt.Sprintf("5010%08d", i), IFSC: "HDFC0001234", AccountName: "Payee", Status: offramp.BankVerified, CreatedAt: at}
			if err := tx.CreateCustomer(ctx, c); err != nil {
				return err
			}
			if err := tx.CreateBankAccount(ctx, b); err != nil {
				return err
			}
			fx.customers, banks = append(fx.customers, c), append(banks, b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	amount := decimal.RequireFromString("50.000000")
	const batch = 300
	for start := 0; start < n; start += batch {
		var made []offramp.Payout
		err := s.Update(ctx, func(tx offramp.Tx) error {
			made = nil
			for i := start; i < min(start+batch, n); i++ {
				c, b := fx.customers[i%nCustomers], banks[i%nCustomers]
				at := fx.t0.Add(time.Hour + time.Duration(i)*time.Minute)
				q := offramp.Quotation{ID: uuid.New(), OrgID: c.OrgID, CustomerID: c.ID, BankID: b.ID, Asset: "USDT", Fiat: "INR",
					PaymentMethod: "IMPS", SendingAmount: amount, Rate: decimal.RequireFromString("88.92"),
					GrossFiat: decimal.RequireFromString("4446.00"), ReceivingAmount: decimal.RequireFromString("4144.60"),
					Status: offramp.QuotationUnlinked, CreatedAt: at, ExpiresAt: at.Add(time.Minute)}
				p := offramp.Payout{ID: uuid.New(), OrgID: q.OrgID, CustomerID: c.ID, BankID: b.ID, QuotationID: q.ID,
					ClientReferenceID: fmt.Sprintf("ref-%d", i), ExchangeOrderID: fmt.Sprintf("order-%d", i),
					Asset: q.Asset, Fiat: q.Fiat, PaymentMethod: q.PaymentMethod, SendingAmount: q.SendingAmount, Rate: q.Rate,
					GrossFiat: q.GrossFiat, ReceivingAmount: q.ReceivingAmount, Status: offramp.PayoutSuccess, Phase: offramp.PhasePaid,
					UTR: fmt.Sprintf("UTR%09d", i), PaidAt: at.Add(time.Minute), RailReference: "OFR" + uuid.NewString(),
					LimitDay: at.Format(time.DateOnly), CreatedAt: at, UpdatedAt: at}
				if i%10 == 7 {
					p.Phase, p.UTR, p.PaidAt, p.Status, p.ReviewReason = offramp.PhaseManualReview, "", time.Time{}, offramp.PayoutInReview, offramp.ReviewOutcomeUnknown
				}
				if err := tx.CreateQuotation(ctx, q); err != nil {
					return err
				}
				if err := tx.CreatePayout(ctx, p); err != nil {
					return err
				}
				e, err := tx.AppendEvent(ctx, offramp.Event{OrgID: p.OrgID, ObjectType: offramp.ObjectPayout, ObjectID: p.ID,
					Event: string(p.Status), CreatedAt: at})
				if err != nil {
					return err
				}
				d := offramp.Delivery{EventID: e.ID, OrgID: e.OrgID, State: offramp.DeliveryDelivered, Attempts: 1,
					LastStatusCode: 200, DeliveredAt: at, CreatedAt: at, UpdatedAt: at}
				if i%7 == 3 {
					d = offramp.Delivery{EventID: e.ID, OrgID: e.OrgID, State: offramp.DeliveryPending, NextAttemptAt: at, CreatedAt: at, UpdatedAt: at}
				}
				if err := tx.CreateDelivery(ctx, d); err != nil {
					return err
				}
				made = append(made, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		fx.payouts = append(fx.payouts, made...)
	}
	return fx
}

// listCall is a list method called on a tx.
type listCall struct {
	name string
	fn   func(x *tx) error
	// index is the index the page query must read the listed table
	// through; keyset tells that its page has a cursor.
	table, index string
	keyset       bool
}

// listCalls are the list methods, by number and by cursor, with every
// filter, against fx.
//
// deep is the number of a page read by number: a page by number skips its
// offset, through the index; with statistics a planner rightly prefers to
// scan a small table than to skip most of it, so deep is small there.
func listCalls(ctx context.Context, fx listFixture, deep int) []listCall {
	org := fx.org.ID
	page := offramp.Page{Number: 1, Size: 10, Peek: true}
	mid := fx.payouts[len(fx.payouts)/2]
	after := offramp.Page{Number: 7, Size: 10, Peek: true, Cursor: &offramp.PageCursor{CreatedAt: mid.CreatedAt, ID: mid.ID}}
	before := offramp.Page{Number: 7, Size: 10, Peek: true, Cursor: &offramp.PageCursor{CreatedAt: mid.CreatedAt, ID: mid.ID, Before: true}}
	byNumber := offramp.Page{Number: deep, Size: 10, Peek: true}
	from, to := mid.CreatedAt.Add(-6*time.Hour), mid.CreatedAt.Add(6*time.Hour)
	payouts := func(f offramp.PayoutFilter, p offramp.Page) func(x *tx) error {
		return func(x *tx) error {
			ps, _, err := x.ListPayouts(ctx, org, f, p)
			if err == nil && len(ps) == 0 {
				err = fmt.Errorf("no payouts listed")
			}
			return err
		}
	}
	deliveries := func(f offramp.DeliveryFilter, p offramp.Page) func(x *tx) error {
		return func(x *tx) error {
			ds, _, err := x.ListDeliveries(ctx, org, f, p)
			if err == nil && len(ds) == 0 {
				err = fmt.Errorf("no deliveries listed")
			}
			return err
		}
	}
	customer := fx.customers[3].ID
	return []listCall{
		{"ListPayouts", payouts(offramp.PayoutFilter{}, page), "payouts", "payouts_org_created_idx", false},
		{"ListPayouts by number", payouts(offramp.PayoutFilter{}, byNumber), "payouts", "payouts_org_created_idx", false},
		{"ListPayouts after a key", payouts(offramp.PayoutFilter{}, after), "payouts", "payouts_org_created_idx", true},
		{"ListPayouts before a key", payouts(offramp.PayoutFilter{}, before), "payouts", "payouts_org_created_idx", true},
		{"ListPayouts by status after a key", payouts(offramp.PayoutFilter{Status: offramp.PayoutInReview}, after), "payouts", "payouts_org_status_created_idx", true},
		{"ListPayouts by customer after a key", payouts(offramp.PayoutFilter{CustomerID: customer}, after), "payouts", "payouts_org_customer_created_idx", true},
		{"ListPayouts by time after a key", payouts(offramp.PayoutFilter{From: from, To: to}, after), "payouts", "payouts_org_created_idx", true},
		{"ListPayouts by time before a key", payouts(offramp.PayoutFilter{From: from, To: to}, before), "payouts", "payouts_org_created_idx", true},
		{"ListCustomers after a key", func(x *tx) error {
			c := fx.customers[len(fx.customers)/2]
			cs, _, err := x.ListCustomers(ctx, org, offramp.Page{Number: 3, Size: 10, Peek: true, Cursor: &offramp.PageCursor{CreatedAt: c.CreatedAt, ID: c.ID}})
			if err == nil && len(cs) == 0 {
				err = fmt.Errorf("no customers listed")
			}
			return err
		}, "customers", "customers_org_created_idx", true},
		// A payout's key is a position in the deliveries too (each payout's
		// event is delivered from its creation time).
		{"ListDeliveries after a key", deliveries(offramp.DeliveryFilter{}, after), "webhook_deliveries", "webhook_deliveries_org_created", true},
		{"ListDeliveries by state after a key", deliveries(offramp.DeliveryFilter{State: offramp.DeliveryPending}, after), "webhook_deliveries", "webhook_deliveries_org_state", true},
	}
}

var (
	sqliteSort   = regexp.MustCompile(`USE TEMP B-TREE`)
	sqliteSearch = regexp.MustCompile(`(?m)^\W*(SEARCH|SCAN) (\w+)(?: USING (?:COVERING )?INDEX (\w+))?(.*)$`)
	// A full sort and the rows the planner expects it to sort; an
	// Incremental Sort, under a Limit, stops after a page.
	pgSort      = regexp.MustCompile(`(?m)^\W*Sort  \(cost=\S+ rows=(\d+)`)
	pgSeqScanOf = regexp.MustCompile(`Seq Scan on (payouts|customers|webhook_deliveries|events)\b`)
	pgIndexScan = regexp.MustCompile(`(Index (?:Only )?Scan(?: Backward)?|Bitmap Index Scan) (?:using|on) (\w+)`)
	pgTableScan = regexp.MustCompile(`(?:Index (?:Only )?Scan(?: Backward)? using \w+|Bitmap Heap Scan) on (\w+)`)
)

// planRules are what checkListPlans asks of a plan.
type planRules struct {
	// index: the page and the filtered count read the listed table by a
	// range of the call's index (with a cursor, on the key too); else
	// through any index. list_counts read by its key.
	index bool
	// sortRows bounds the rows a full sort may sort (PostgreSQL, where a
	// planner that expects a few rows to match may fetch them and sort
	// them rather than read an index in order: a page's worth is as
	// cheap either way); 0: no sort at all.
	sortRows int
}

// checkListPlans explains calls, each in a transaction rolled back, and
// checks their plans: no statement scans payouts, customers,
// webhook_deliveries or events; each reads the listed table through an
// index (with rules.index, by a range of the call's index, on (created_at,
// id) with a cursor); the page query sorts nothing, or (rules.sortRows) a
// page's worth of rows at most, so it stops after a page; the count of an
// unfiltered list reads list_counts only.
func checkListPlans(t *testing.T, s *Store, what string, rules planRules, calls []listCall, setup ...string) {
	t.Helper()
	ctx := t.Context()
	sqlite := !s.concurrent
	for _, c := range calls {
		sqltx, err := s.wdb.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		generic := false
		for _, q := range setup {
			if _, err := sqltx.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
			generic = generic || strings.Contains(q, "force_generic_plan")
		}
		var plans []plan
		name := c.name
		x := &tx{s: s, q: planQuerier{t: t, q: sqltx, sqlite: sqlite, generic: generic, plans: &plans, call: &name}}
		err = c.fn(x)
		sqltx.Rollback()
		if err != nil {
			t.Fatalf("%s: %s: %v", what, c.name, err)
		}
		var pages, counts int
		for _, p := range plans {
			if os.Getenv("OFFRAMP_PRINT_PLANS") != "" {
				t.Logf("%s: %s: %s\n%s", what, c.name, p.query, p.text)
			}
			fail := func(format string, args ...any) {
				t.Helper()
				t.Errorf("%s: %s: %s in the plan of\n  %s\n%s", what, c.name, fmt.Sprintf(format, args...), p.query, p.text)
			}
			isPage := strings.Contains(p.query, "ORDER BY")
			if isPage {
				pages++
			} else {
				counts++
			}
			if sqlite {
				for _, m := range sqliteSearch.FindAllStringSubmatch(p.text, -1) {
					if m[1] == "SCAN" && m[2] != "capped" && !strings.HasPrefix(m[2], "subquery") {
						fail("a scan of %s", m[2])
					}
				}
				if isPage && sqliteSort.MatchString(p.text) {
					fail("a sort")
				}
			} else {
				if m := pgSeqScanOf.FindString(p.text); m != "" {
					fail("%s", m)
				}
				for _, m := range pgSort.FindAllStringSubmatch(p.text, -1) {
					if n, _ := strconv.Atoi(m[1]); isPage && n > rules.sortRows {
						fail("a sort of %d rows", n)
					}
				}
			}
			table := c.table
			if !isPage && strings.Contains(p.query, "list_counts") {
				if strings.Contains(p.query, "payouts") || strings.Contains(p.query, "customers") || strings.Contains(p.query, "webhook_deliveries") {
					fail("the count reads a list table")
				}
				if !rules.index {
					continue
				}
				table = "list_counts"
			}
			index := c.index
			if table == "list_counts" {
				index = ""
			}
			switch {
			case rules.index && !usesIndex(sqlite, p.text, table, index):
				fail("no range of %s", cmp.Or(index, table+"'s key"))
			case !rules.index && !sqlite && !slices.ContainsFunc(pgTableScan.FindAllStringSubmatch(p.text, -1), func(m []string) bool { return m[1] == table }):
				fail("no index read of %s", table)
			}
			if isPage && rules.index && c.keyset && !strings.Contains(p.text, "(created_at,id)") &&
				!strings.Contains(p.text, "(created_at,event_id)") && !strings.Contains(p.text, "ROW(") {
				fail("no keyset range on (created_at, id)")
			}
		}
		if pages != 1 || counts != 1 {
			t.Errorf("%s: %s ran %d page and %d count statements, want 1 and 1", what, c.name, pages, counts)
		}
	}
}

// usesIndex tells whether the plan reads table by a search of index
// ("" for its primary key), with a condition on org_id.
func usesIndex(sqlite bool, text, table, index string) bool {
	if sqlite {
		for _, m := range sqliteSearch.FindAllStringSubmatch(text, -1) {
			alias := map[string]string{"c": "customers", "d": "webhook_deliveries"}[m[2]]
			if m[2] != table && alias != table {
				continue
			}
			if m[1] != "SEARCH" || !strings.Contains(m[4], "org_id=?") {
				return false
			}
			if index == "" {
				return strings.Contains(m[4], "PRIMARY KEY")
			}
			return m[3] == index
		}
		return false
	}
	if index == "" {
		index = table + "_pkey"
	}
	for _, m := range pgIndexScan.FindAllStringSubmatch(text, -1) {
		if m[2] == index {
			return strings.Contains(text, "org_id =")
		}
	}
	return false
}

// testListPlans: on a populated database (organizations of a hundred or
// so payouts and one with most of them, sharing the tables), the count and
// page queries of every list read indexes, never a table whole. SQLite
// plans without statistics (as in production: nothing runs ANALYZE), then
// with them, and must read each list by a range of its index, in order.
// PostgreSQL plans after ANALYZE: with sequential scans off, which shows
// an index serves each query as SQLite's does; with statistics for an
// organization of the many, which must be read alike. For the large
// organization, and for PostgreSQL's generic plans of prepared
// statements (with a LIMIT the planner does not know), any index read in
// the list's order will do.
func testListPlans(t *testing.T, s *Store) {
	ctx := t.Context()
	// PostgreSQL's planner weighs statistics: it needs the many
	// organizations and the rows to plan as it would in production.
	// SQLite's needs fewer (it is slow to fill under the race detector).
	orgs, payouts, customers, largePayouts, largeCustomers := 8, 150, 30, 1500, 300
	if !s.concurrent {
		orgs, payouts, customers, largePayouts, largeCustomers = 4, 80, 20, 600, 100
	}
	var small []listFixture
	for range orgs {
		small = append(small, fillLists(t, s, payouts, customers))
	}
	large := fillLists(t, s, largePayouts, largeCustomers)
	strict := planRules{index: true}
	if !s.concurrent {
		checkListPlans(t, s, "no statistics", strict, listCalls(ctx, small[0], 5))
		analyze(t, s)
		checkListPlans(t, s, "with statistics", strict, listCalls(ctx, small[1], 3))
		// Most of the rows are the large organization's: another index in
		// the list's order (payouts_created_idx), filtered, can be as good.
		checkListPlans(t, s, "large organization", planRules{}, listCalls(ctx, large, 3))
		return
	}
	analyze(t, s)
	// A page's worth: at most maxPageSize+1 rows.
	pg := planRules{index: true, sortRows: 101}
	checkListPlans(t, s, "sequential scans off", pg, listCalls(ctx, small[0], 3), "SET LOCAL enable_seqscan = off")
	checkListPlans(t, s, "with statistics", pg, listCalls(ctx, small[1], 3))
	lenient := planRules{sortRows: 101}
	checkListPlans(t, s, "large organization", lenient, listCalls(ctx, large, 3))
	checkListPlans(t, s, "generic plans", lenient, listCalls(ctx, small[2], 3), "SET LOCAL plan_cache_mode = force_generic_plan")
	checkListPlans(t, s, "large organization, generic plans", lenient, listCalls(ctx, large, 3), "SET LOCAL plan_cache_mode = force_generic_plan")
}

func TestSQLiteListPlans(t *testing.T) {
	s, _ := openTemp(t)
	testListPlans(t, s)
}

func TestPostgresListPlans(t *testing.T) {
	testListPlans(t, openPGTemp(t))
}

// testListCountsMigration: 00011 counts the rows already there (backfill),
// per organization and list; the triggers count what comes after; its
// Down drops it all, and Up again counts afresh.
func testListCountsMigration(t *testing.T, s *Store) {
	ctx := t.Context()
	p := provider(t, s)
	if _, err := p.UpTo(ctx, 10); err != nil {
		t.Fatal(err)
	}
	small := fillLists(t, s, 25, 3)
	large := fillLists(t, s, 70, 5)
	want := func(fx listFixture, payouts, customers, deliveries int) {
		t.Helper()
		err := s.View(ctx, func(tx offramp.ReadTx) error {
			page := offramp.Page{Number: 1, Size: 1}
			_, np, err := tx.ListPayouts(ctx, fx.org.ID, offramp.PayoutFilter{}, page)
			if err != nil {
				return err
			}
			_, nc, err := tx.ListCustomers(ctx, fx.org.ID, page)
			if err != nil {
				return err
			}
			_, nd, err := tx.ListDeliveries(ctx, fx.org.ID, offramp.DeliveryFilter{}, page)
			if err != nil {
				return err
			}
			if np != payouts || nc != customers || nd != deliveries {
				t.Errorf("counts %d payouts, %d customers, %d deliveries; want %d, %d, %d", np, nc, nd, payouts, customers, deliveries)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := p.UpTo(ctx, 11); err != nil {
			t.Fatalf("00011 over existing rows: %v", err)
		}
		want(small, 25, 3, 25)
		want(large, 70, 5, 70)
		if _, err := p.DownTo(ctx, 10); err != nil {
			t.Fatalf("00011 down: %v", err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	more := fillLists(t, s, 3, 2)
	want(small, 25, 3, 25)
	want(more, 3, 2, 3)
	// The buckets add up: on PostgreSQL the backfill spread the rows over
	// them as the triggers do.
	var buckets int
	if err := s.wdb.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM list_counts WHERE org_id = ? AND list = 'payouts'`), large.org.ID).Scan(&buckets); err != nil {
		t.Fatal(err)
	}
	if s.concurrent && buckets < 10 {
		t.Errorf("70 payouts counted in %d buckets", buckets)
	}
	if !s.concurrent && buckets != 1 {
		t.Errorf("SQLite counts in %d buckets, want 1", buckets)
	}
}

func TestSQLiteListCountsMigration(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "offramp.db"), testVault(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	testListCountsMigration(t, s)
}

func TestPostgresListCountsMigration(t *testing.T) {
	testListCountsMigration(t, openPG(t, pgtest.URL(t)))
}
