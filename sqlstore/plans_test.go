package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// planQuerier runs every statement of a tx twice: first under EXPLAIN,
// recording the plan, then for real.
type planQuerier struct {
	t      testing.TB
	q      querier
	sqlite bool
	// generic (PostgreSQL) explains the generic plan of the statement
	// prepared, as a prepared statement may run it after five executions
	// (pgx prepares every statement): PREPARE, then EXPLAIN EXECUTE under
	// plan_cache_mode = force_generic_plan, which the caller sets.
	generic bool
	plans   *[]plan
	call    *string // the Tx method running, recorded with each plan
}

type plan struct{ call, query, text string }

func (p planQuerier) explain(ctx context.Context, query string, args ...any) {
	p.t.Helper()
	prefix := "EXPLAIN "
	if p.sqlite {
		prefix = "EXPLAIN QUERY PLAN "
	}
	explained := query
	if p.generic {
		if _, err := p.q.ExecContext(ctx, "PREPARE offramp_plan AS "+query); err != nil {
			p.t.Fatalf("prepare %s: %v", query, err)
		}
		defer func() {
			if _, err := p.q.ExecContext(ctx, "DEALLOCATE offramp_plan"); err != nil {
				p.t.Fatal(err)
			}
		}()
		// EXPLAIN takes no parameters: the values go in as literals, of
		// the types the statement's parameters were given.
		params := make([]string, len(args))
		for i, a := range args {
			params[i] = sqlLiteral(p.t, a)
		}
		explained = "EXECUTE offramp_plan(" + strings.Join(params, ", ") + ")"
		args = nil
	}
	rows, err := p.q.QueryContext(ctx, prefix+explained, args...)
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
		b.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		p.t.Fatal(err)
	}
	*p.plans = append(*p.plans, plan{*p.call, strings.Join(strings.Fields(query), " "), b.String()})
}

// sqlLiteral writes a query argument as a PostgreSQL literal of unknown
// type (the context gives it its type), or NULL.
func sqlLiteral(t testing.TB, a any) string {
	if v, ok := a.(driver.Valuer); ok {
		var err error
		if a, err = v.Value(); err != nil {
			t.Fatal(err)
		}
	}
	var s string
	switch v := a.(type) {
	case nil:
		return "NULL"
	case time.Time:
		s = v.Format(time.RFC3339Nano)
	case string:
		s = v
	default:
		s = fmt.Sprint(v)
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
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

// tableAliases maps the names a statement gives the tables it reads (a
// table's own name, or an alias: "FROM jobs j") to the table, for reading
// SQLite's plans, which name a table by its alias.
func tableAliases(query string, tables map[string]bool) map[string]string {
	out := map[string]string{}
	re := regexp.MustCompile(`(?i)\b(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?`)
	for _, m := range re.FindAllStringSubmatch(query, -1) {
		table := strings.ToLower(m[1])
		if !tables[table] {
			continue
		}
		out[table] = table
		if alias := strings.ToLower(m[2]); alias != "" && !slices.Contains(sqlWords, alias) {
			out[alias] = table
		}
	}
	return out
}

// sqlWords may follow a table name without being its alias.
var sqlWords = []string{"where", "on", "join", "left", "inner", "order", "group", "set", "values", "limit",
	"using", "natural", "cross", "returning", "default", "select", "union", "for"}

var (
	// SQLite: "SCAN payouts" reads the table whole, "SCAN payouts USING
	// [COVERING] INDEX x" all of an index, "SEARCH payouts USING INDEX x
	// (org_id=? AND ...)" the part of one its constraints select.
	sqliteScan   = regexp.MustCompile(`(?m)^\W*SCAN (\w+)(?: USING (?:COVERING )?INDEX (\w+))?`)
	sqliteAccess = regexp.MustCompile(`(?m)^\W*(SEARCH|SCAN) (\w+)\b(.*)$`)
	// PostgreSQL: a node that reads a table; its Index Cond (Recheck Cond
	// for a bitmap scan), if any, follows on a line of its own, before
	// the next node ("->").
	pgSeqScan = regexp.MustCompile(`Seq Scan on (\w+)`)
	pgAccess  = regexp.MustCompile(`(Seq Scan|Index (?:Only )?Scan(?: Backward)? using (\w+)|Bitmap Heap Scan) on (\w+)`)
)

// planCheck tells which plans read a table whole.
type planCheck struct {
	sqlite bool
	tables map[string]bool // every table of the schema
	// large are the tables a plan must not read whole: those with enough
	// rows that it matters (or every one).
	large map[string]bool
	// partial are the partial indexes: walking one reads only the rows of
	// its predicate (the leased jobs, the unlinked payouts), which is
	// what it is for.
	partial map[string]bool
}

func newPlanCheck(t *testing.T, s *Store, minRows int) planCheck {
	t.Helper()
	c := planCheck{sqlite: !s.concurrent, tables: map[string]bool{}, large: map[string]bool{}, partial: map[string]bool{}}
	tablesQuery := `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	partialQuery := `SELECT name FROM sqlite_schema WHERE type = 'index' AND sql LIKE '% WHERE %'`
	if !c.sqlite {
		tablesQuery = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
		partialQuery = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexdef LIKE '% WHERE %'`
	}
	var counts []string
	for _, table := range queryStrings(t, s.wdb, tablesQuery) {
		c.tables[table] = true
		var n int
		if err := s.wdb.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= minRows {
			c.large[table] = true
			counts = append(counts, fmt.Sprintf("%s %d", table, n))
		}
	}
	slices.Sort(counts)
	if minRows > 0 {
		t.Logf("tables of at least %d rows: %s", minRows, strings.Join(counts, ", "))
	}
	for _, ix := range queryStrings(t, s.wdb, partialQuery) {
		c.partial[ix] = true
	}
	if len(c.tables) < 20 || len(c.partial) < 5 {
		t.Fatalf("only %d tables and %d partial indexes found", len(c.tables), len(c.partial))
	}
	return c
}

// pgNodeProps returns the property lines of the plan node on lines[i]:
// those after it, up to the next node.
func pgNodeProps(lines []string, i int) []string {
	var out []string
	for _, line := range lines[i+1:] {
		if strings.Contains(line, "->") {
			break
		}
		out = append(out, line)
	}
	return out
}

// pgUnderLimit tells whether the plan node on lines[i] is the child of a
// Limit: the planner expects to stop early, after a few rows in index
// order.
func pgUnderLimit(lines []string, i int) bool {
	indent := func(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }
	for j := i - 1; j >= 0; j-- {
		if indent(lines[j]) < indent(lines[i]) && (j == 0 || strings.Contains(lines[j], "->")) {
			return strings.HasPrefix(strings.TrimLeft(strings.TrimSpace(lines[j]), "-> "), "Limit")
		}
	}
	return false
}

// unkeyed returns the first step of a plan that reads table other than by
// an index search on all of columns (column=? in SQLite's SEARCH, column =
// in PostgreSQL's Index Cond), "" when every step that reads it does: the
// lookup goes straight to its rows, however many others the table or the
// organization holds.
func (c planCheck) unkeyed(p plan, table string, columns []string) string {
	keyed := func(cond string) bool {
		for _, col := range columns {
			if !regexp.MustCompile(`\b` + col + ` ?(=|>|<|IN\b)`).MatchString(cond) {
				return false
			}
		}
		return true
	}
	if c.sqlite {
		aliases := tableAliases(p.query, c.tables)
		for _, m := range sqliteAccess.FindAllStringSubmatch(p.text, -1) {
			if aliases[strings.ToLower(m[2])] != table {
				continue
			}
			if m[1] == "SCAN" || !keyed(m[3]) {
				return strings.TrimSpace(m[0])
			}
		}
		return ""
	}
	lines := strings.Split(p.text, "\n")
	for i, line := range lines {
		m := pgAccess.FindStringSubmatch(line)
		if m == nil || m[3] != table {
			continue
		}
		if !slices.ContainsFunc(pgNodeProps(lines, i), func(prop string) bool {
			return (strings.Contains(prop, "Index Cond:") || strings.Contains(prop, "Recheck Cond:")) && keyed(prop)
		}) {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "->"))
		}
	}
	return ""
}

// scanOf returns what in a plan reads a large table whole, and the
// table, "" when nothing does: on SQLite a SCAN of the table, on
// PostgreSQL a Seq Scan; with fullIndex also a walk of all of one of its
// indexes (SQLite's SCAN ... USING INDEX, PostgreSQL's index scan without
// an Index Cond, unless a Limit stops it early), unless the index is
// partial.
func (c planCheck) scanOf(p plan, fullIndex bool) (string, string) {
	if c.sqlite {
		aliases := tableAliases(p.query, c.tables)
		for _, m := range sqliteScan.FindAllStringSubmatch(p.text, -1) {
			table, ok := aliases[strings.ToLower(m[1])]
			if !ok || !c.large[table] || (m[2] != "" && (!fullIndex || c.partial[m[2]])) {
				continue
			}
			return strings.TrimSpace(m[0]) + " (" + table + ")", table
		}
		return "", ""
	}
	for _, m := range pgSeqScan.FindAllStringSubmatch(p.text, -1) {
		if c.large[m[1]] {
			return m[0], m[1]
		}
	}
	if !fullIndex {
		return "", ""
	}
	lines := strings.Split(p.text, "\n")
	for i, line := range lines {
		m := pgAccess.FindStringSubmatch(line)
		if m == nil || m[2] == "" || !c.large[m[3]] || c.partial[m[2]] || pgUnderLimit(lines, i) {
			continue
		}
		if !slices.ContainsFunc(pgNodeProps(lines, i), func(l string) bool { return strings.Contains(l, "Index Cond:") }) {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "->")) + " (no Index Cond)", m[3]
		}
	}
	return "", ""
}

// hotFixture is a populated database: two organizations with a history of
// payouts (each with its quotation, journal, events, webhook delivery and
// attempts, idempotency record, used signature and limit counter), their
// customers and bank accounts, jobs (a few due, a few leased), EDDs and
// audit entries; and the rows of org that the hot statements look up.
type hotFixture struct {
	org, other offramp.Org
	customer   offramp.Customer    // of org, VERIFIED, with KYC and an EDD
	bank       offramp.BankAccount // the customer's, VERIFIED
	quotation  offramp.Quotation   // of org, UNLINKED: the next initiate's
	payout     offramp.Payout      // of org, FAILED, with a client reference; retried as retry
	retry      offramp.Payout      // of org, IN_REVIEW, on payout's exchange order
	event      uuid.UUID           // retry's deliverable event, PENDING with its job
	idemKey    string              // payout's Idempotency-Key
	day        string              // the limit day of now
	now        time.Time           // just after the last payout
}

// fillSpec sizes a hotFixture.
type fillSpec struct {
	payouts   [2]int // of org, of other
	customers int    // per organization
	// lean writes only payouts and their quotations (for benchmarks of
	// the payout lookups at sizes where the rest would only take time).
	lean bool
}

// istZone is Asia/Kolkata, whose day is the limit day.
var istZone = time.FixedZone("IST", 5*3600+30*60)

// fillHot populates s through its own Tx methods, the way the service
// writes, in batches of payouts per Update.
func fillHot(tb testing.TB, s *Store, spec fillSpec) hotFixture {
	tb.Helper()
	ctx := context.Background()
	t0 := time.Date(2025, 1, 6, 3, 30, 0, 0, time.UTC)
	var fx hotFixture
	update := func(fn func(tx offramp.Tx) error) {
		tb.Helper()
		if err := s.Update(ctx, fn); err != nil {
			tb.Fatal(err)
		}
	}
	dec := decimal.RequireFromString
	type payee struct {
		c offramp.Customer
		b offramp.BankAccount
	}
	payees := make([][]payee, 2)
	orgs := make([]offramp.Org, 2)
	for o := range orgs {
		orgs[o] = offramp.Org{ID: uuid.New(), KeyID: uuid.New(), Name: fmt.Sprintf("Exchange %d", o), Env: offramp.EnvProduction,
			APIKey: "key_" + uuid.NewString(), APISecret: "secret", WebhookURL: "https://example.com/hook", CreatedAt: t0}
		update(func(tx offramp.Tx) error {
			payees[o] = nil // fn may run again (PostgreSQL): start afresh
			if err := tx.CreateOrg(ctx, orgs[o]); err != nil {
				return err
			}
			for i := range spec.customers {
				at := t0.Add(time.Duration(i) * time.Second)
				c := offramp.Customer{ID: uuid.New(), OrgID: orgs[o].ID, ClientReferenceID: fmt.Sprintf("cust-%d-%d", o, i),
					FullName: "Payee", Email: fmt.Sprintf("payee%d-%d@example.com", o, i), Phone: fmt.Sprintf("+9198%08d", o*1000+i),
					Country: "IND", Status: offramp.CustomerVerified, CreatedAt: at,
					KYC: &offramp.KYC{FullName: "Payee", FullAddress: "Mumbai", DOB: "01-01-1990", TaxNumber: fmt.Sprintf("ABCDE%04dF", o*1000+i),
						DocumentType: "PAN", DocumentNumber: fmt.Sprintf("DOC%d-%d", o, i), SubmittedAt: at}}
				b := offramp.BankAccount{ID: uuid.New(), OrgID: c.OrgID, CustomerID: c.ID, Type: offramp.BankAccountDetails,
					AccountNumber: fmt.Sprintf("5010%08d", o*1000+i), IFSC: "HDFC0001234", AccountName: "Payee",
					Status: offramp.BankVerified, CreatedAt: at}
				if err := tx.CreateCustomer(ctx, c); err != nil {
					return err
				}
				if err := tx.CreateBankAccount(ctx, b); err != nil {
					return err
				}
				if i%3 != 2 {
					// Two customers in three went past the daily limit
					// and submitted EDD: one verified, one failed.
					e := offramp.EDD{ID: uuid.New(), OrgID: c.OrgID, CustomerID: c.ID, Status: offramp.EDDVerified,
						SourceOfIncome: "salary", Declaration: true, CreatedAt: at}
					if i%3 == 1 {
						e.Status, e.FailureReason = offramp.EDDFailed, "unreadable statement"
					}
					if err := tx.CreateEDD(ctx, e); err != nil {
						return err
					}
				}
				payees[o] = append(payees[o], payee{c, b})
			}
			return nil
		})
	}
	fx.org, fx.other = orgs[0], orgs[1]
	fx.customer, fx.bank = payees[0][0].c, payees[0][0].b

	// The payouts of both organizations, interleaved in time, one a minute.
	total := spec.payouts[0] + spec.payouts[1]
	end := t0.Add(time.Hour + time.Duration(total)*time.Minute)
	// Jobs come due over the hour around end: at end, one in twenty is due.
	runAt := func(i int) time.Time { return end.Add(time.Duration(i%60-3) * time.Minute) }
	const batch = 250
	n := [2]int{}
	for start := 0; start < total; start += batch {
		from := n
		update(func(tx offramp.Tx) error {
			n = from // fn may run again (PostgreSQL): start from the batch's first payout
			for i := start; i < min(start+batch, total); i++ {
				o := 0
				if n[1] < spec.payouts[1] && (n[0] >= spec.payouts[0] || n[1]*total < (i+1)*spec.payouts[1]) {
					o = 1
				}
				k := n[o]
				n[o]++
				pe := payees[o][k%len(payees[o])]
				if o == 0 && (k == spec.payouts[0]/2-4 || k == spec.payouts[0]/2-3) {
					pe = payees[0][0] // the fixture's payout and its retry are the customer's
				}
				created := t0.Add(time.Hour + time.Duration(i)*time.Minute)
				q := offramp.Quotation{ID: uuid.New(), OrgID: orgs[o].ID, CustomerID: pe.c.ID, BankID: pe.b.ID,
					Asset: "USDT", Fiat: "INR", PaymentMethod: "IMPS", SendingAmount: dec("50.000000"), Rate: dec("88.92"),
					GrossFiat: dec("4446.00"), ReceivingAmount: dec("4144.60"),
					Risk:   offramp.RiskParameters{IPAddress: "203.0.113.7", DeviceID: "device"},
					Status: offramp.QuotationUnlinked, CreatedAt: created.Add(-30 * time.Second), ExpiresAt: created.Add(time.Minute)}
				p := offramp.Payout{ID: uuid.New(), OrgID: q.OrgID, CustomerID: q.CustomerID, BankID: q.BankID, QuotationID: q.ID,
					ClientReferenceID: fmt.Sprintf("ref-%d-%d", o, k), ExchangeOrderID: fmt.Sprintf("order-%d-%d", o, k),
					Asset: q.Asset, Fiat: q.Fiat, PaymentMethod: q.PaymentMethod, SendingAmount: q.SendingAmount, Rate: q.Rate,
					GrossFiat: q.GrossFiat, ReceivingAmount: q.ReceivingAmount,
					RailReference: "OFR" + strings.ReplaceAll(uuid.NewString(), "-", ""),
					LimitDay:      created.In(istZone).Format(time.DateOnly), CreatedAt: created, UpdatedAt: created}
				if k%4 == 3 {
					p.ClientReferenceID = "" // not every client sends one
				}
				// Mostly paid; every tenth failed and retried (IN_REVIEW) on
				// the same exchange order; some refunded, some still going.
				st := offramp.PayoutSuccess
				switch k % 10 {
				case 6:
					st = offramp.PayoutFailed
				case 7:
					st = offramp.PayoutInReview
					p.ExchangeOrderID = fmt.Sprintf("order-%d-%d", o, k-1)
				case 8:
					st = offramp.PayoutRefunded
				case 5, 9:
					st = offramp.PayoutProcessing
				}
				inState(&p, st, false)
				if st == offramp.PayoutSuccess {
					p.UTR = fmt.Sprintf("UTR%d%09d", o, k)
				}
				if err := tx.CreateQuotation(ctx, q); err != nil {
					return err
				}
				if err := tx.CreatePayout(ctx, p); err != nil {
					return err
				}
				if err := tx.LinkQuotation(ctx, q.OrgID, q.ID, p.ID); err != nil {
					return err
				}
				if o == 0 && k == spec.payouts[0]/2-4 {
					// A payout in the middle of org's history, FAILED (k%10
					// == 6 when spec.payouts[0]/2 % 10 == 0), and its retry.
					fx.payout = p
				}
				if o == 0 && k == spec.payouts[0]/2-3 {
					fx.retry = p
				}
				if spec.lean {
					continue
				}
				if err := tx.AppendJournal(ctx, offramp.Journal{OrgID: p.OrgID, PayoutID: p.ID, Kind: "payout_initiated",
					Postings: []offramp.Posting{
						{Account: "customer_payable", Currency: "INR", Amount: p.GrossFiat},
						{Account: "payouts_in_flight", Currency: "INR", Amount: p.GrossFiat.Neg()},
					}, CreatedAt: created}); err != nil {
					return err
				}
				if _, err := tx.AppendEvent(ctx, offramp.Event{OrgID: p.OrgID, ObjectType: offramp.ObjectPayout, ObjectID: p.ID,
					Event: string(offramp.PayoutProcessing), ClientReferenceID: p.ClientReferenceID, CreatedAt: created}); err != nil {
					return err
				}
				if st != offramp.PayoutProcessing {
					at := created.Add(time.Minute)
					e, err := tx.AppendEvent(ctx, offramp.Event{OrgID: p.OrgID, ObjectType: offramp.ObjectPayout, ObjectID: p.ID,
						Event: string(st), ClientReferenceID: p.ClientReferenceID, CreatedAt: at})
					if err != nil {
						return err
					}
					d := offramp.Delivery{EventID: e.ID, OrgID: e.OrgID, State: offramp.DeliveryDelivered, Attempts: 1,
						LastStatusCode: 200, DeliveredAt: at.Add(time.Second), CreatedAt: at, UpdatedAt: at.Add(time.Second)}
					pending := k%10 == 7
					if pending {
						d = offramp.Delivery{EventID: e.ID, OrgID: e.OrgID, State: offramp.DeliveryPending, Attempts: 1,
							LastStatusCode: 503, NextAttemptAt: runAt(i), CreatedAt: at, UpdatedAt: at}
					}
					if err := tx.CreateDelivery(ctx, d); err != nil {
						return err
					}
					if err := tx.AddDeliveryAttempt(ctx, offramp.DeliveryAttempt{EventID: e.ID, OrgID: e.OrgID, Number: 1,
						At: at, URL: orgs[o].WebhookURL, StatusCode: d.LastStatusCode, Latency: 80 * time.Millisecond}); err != nil {
						return err
					}
					if pending {
						if err := tx.EnqueueJob(ctx, offramp.Job{OrgID: e.OrgID, Kind: offramp.JobDeliverWebhook, RefID: e.ID,
							RunAt: d.NextAttemptAt}); err != nil {
							return err
						}
						if p.ID == fx.retry.ID {
							fx.event = e.ID
						}
					}
				}
				if st == offramp.PayoutProcessing {
					if err := tx.EnqueueJob(ctx, offramp.Job{OrgID: p.OrgID, Kind: offramp.JobProcessPayout, RefID: p.ID,
						RunAt: runAt(i)}); err != nil {
						return err
					}
				}
				key := fmt.Sprintf("idem-%d-%d", o, k)
				if p.ID == fx.payout.ID {
					fx.idemKey = key
				}
				if err := tx.PutIdempotency(ctx, offramp.IdempotencyRecord{OrgID: p.OrgID, Key: key, RequestHash: "h",
					PayoutID: p.ID, CreatedAt: created}); err != nil {
					return err
				}
				if _, err := tx.UseSignature(ctx, testSignature(p.OrgID, "sig-"+key, created.Add(5*time.Minute))); err != nil {
					return err
				}
				if st.UsesLimit() {
					if err := tx.AddLimitUsage(ctx, p.OrgID, p.CustomerID, p.LimitDay, p.GrossFiat); err != nil {
						return err
					}
				}
				if k%5 == 0 {
					if err := tx.AppendAudit(ctx, offramp.AuditEntry{OrgID: p.OrgID, Actor: "ops@example.com",
						Action: "payout.reinquire", ObjectType: offramp.ObjectPayout, ObjectID: p.ID,
						Reason: "customer asked", CreatedAt: created}); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	fx.now = end
	fx.day = fx.now.In(istZone).Format(time.DateOnly)
	fx.quotation = offramp.Quotation{ID: uuid.New(), OrgID: fx.org.ID, CustomerID: fx.customer.ID, BankID: fx.bank.ID,
		Asset: "USDT", Fiat: "INR", PaymentMethod: "IMPS", SendingAmount: dec("50.000000"), Rate: dec("88.92"),
		GrossFiat: dec("4446.00"), ReceivingAmount: dec("4144.60"), Status: offramp.QuotationUnlinked,
		CreatedAt: fx.now.Add(-10 * time.Second), ExpiresAt: fx.now.Add(time.Minute)}
	update(func(tx offramp.Tx) error { return tx.CreateQuotation(ctx, fx.quotation) })
	if !spec.lean {
		// A few leases held.
		update(func(tx offramp.Tx) error {
			_, err := tx.ClaimJobs(ctx, offramp.JobClaim{Now: fx.now, Owner: "fill", Lease: time.Hour, Limit: 3})
			return err
		})
	}
	if fx.payout.Status != offramp.PayoutFailed || fx.retry.ExchangeOrderID != fx.payout.ExchangeOrderID {
		tb.Fatalf("fixture: payout %s on %q, retry on %q", fx.payout.Status, fx.payout.ExchangeOrderID, fx.retry.ExchangeOrderID)
	}
	return fx
}

// explainCalls runs each call in a transaction that explains every
// statement before running it, and is rolled back.
func explainCalls(t *testing.T, s *Store, setup string, generic bool, calls []planCall) []plan {
	t.Helper()
	ctx := t.Context()
	sqlite := !s.concurrent
	sqltx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sqltx.Rollback()
	if setup != "" {
		if _, err := sqltx.ExecContext(ctx, setup); err != nil {
			t.Fatal(err)
		}
	}
	var plans []plan
	var current string
	x := &tx{s: s, q: planQuerier{t: t, q: sqltx, sqlite: sqlite, generic: generic, plans: &plans, call: &current}}
	for _, c := range calls {
		current = c.name
		before := len(plans)
		if err := c.fn(x); err != nil && !errors.Is(err, offramp.ErrNotFound) && !errors.Is(err, offramp.ErrStale) {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(plans) == before {
			t.Fatalf("%s ran no statement", c.name)
		}
	}
	return plans
}

type planCall struct {
	name string
	fn   func(x *tx) error
}

// payoutsOf is a ListPayouts call that must list want payouts of the
// fixture's organization.
func payoutsOf(ctx context.Context, fx hotFixture, want int, f offramp.PayoutFilter, page offramp.Page) func(x *tx) error {
	return func(x *tx) error {
		ps, _, err := x.ListPayouts(ctx, fx.org.ID, f, page)
		if err == nil && len(ps) != want {
			err = fmt.Errorf("%d payouts listed, want %d", len(ps), want)
		}
		return err
	}
}

// hotCalls are the statements of the hot paths, run against the fixture:
// a signed request's authentication and signature, a quotation, initiate
// (idempotency record, payout lookups by client reference and exchange
// order, quotation, customer and bank account, limit counter and EDD, and
// the writes: payout, journal, event, job, quotation link, limit counter,
// idempotency record), a payout by id, history pages (payouts with and
// without filters, deliveries, customers), job claims and a claimed job's
// end, and webhook delivery (event, delivery, organization, the attempt
// recorded, a delivery queued).
func hotCalls(ctx context.Context, fx hotFixture) []planCall {
	now := fx.now
	kinds := []offramp.JobKind{offramp.JobProcessPayout, offramp.JobDeliverWebhook}
	page := offramp.Page{Number: 1, Size: 10}
	next := offramp.Payout{ID: uuid.New(), OrgID: fx.org.ID, CustomerID: fx.customer.ID, BankID: fx.bank.ID,
		QuotationID: fx.quotation.ID, ClientReferenceID: "ref-new", ExchangeOrderID: "order-new",
		Asset: "USDT", Fiat: "INR", PaymentMethod: "IMPS", SendingAmount: fx.quotation.SendingAmount, Rate: fx.quotation.Rate,
		GrossFiat: fx.quotation.GrossFiat, ReceivingAmount: fx.quotation.ReceivingAmount,
		Status: offramp.PayoutProcessing, Phase: offramp.PhaseQueued, RailReference: "OFRNEW" + uuid.NewString(),
		LimitDay: fx.day, CreatedAt: now, UpdatedAt: now}
	var job offramp.Job
	return []planCall{
		// Authentication and the signature of a signed request.
		{"OrgByAPIKey", func(x *tx) error { _, err := x.OrgByAPIKey(ctx, fx.org.APIKey); return err }},
		{"TouchAPIKey", func(x *tx) error { return x.TouchAPIKey(ctx, fx.org.KeyID, now) }},
		{"UseSignature", func(x *tx) error {
			_, err := x.UseSignature(ctx, testSignature(fx.org.ID, "sig-new", now.Add(5*time.Minute)))
			return err
		}},
		{"SignatureRecord", func(x *tx) error { _, err := x.SignatureRecord(ctx, fx.org.ID, "sig-new"); return err }},
		{"FinishSignature", func(x *tx) error { return x.FinishSignature(ctx, fx.org.ID, "sig-new", 201, []byte("{}")) }},
		// A quotation (after the customer, bank account, limit and EDD
		// reads initiate repeats below).
		{"CreateQuotation", func(x *tx) error {
			q := fx.quotation
			q.ID, q.CreatedAt = uuid.New(), now
			return x.CreateQuotation(ctx, q)
		}},
		// Initiate, in the service's order.
		{"Idempotency", func(x *tx) error { _, err := x.Idempotency(ctx, fx.org.ID, fx.idemKey); return err }},
		{"Idempotency (new key)", func(x *tx) error { _, err := x.Idempotency(ctx, fx.org.ID, "idem-new"); return err }},
		{"PayoutIDByClientReference", func(x *tx) error {
			_, err := x.PayoutIDByClientReference(ctx, fx.org.ID, fx.payout.ClientReferenceID)
			return err
		}},
		{"PayoutIDByClientReference (new)", func(x *tx) error { _, err := x.PayoutIDByClientReference(ctx, fx.org.ID, "ref-new"); return err }},
		{"Quotation", func(x *tx) error { _, err := x.Quotation(ctx, fx.org.ID, fx.quotation.ID); return err }},
		{"PayoutsByExchangeOrder", func(x *tx) error {
			ps, err := x.PayoutsByExchangeOrder(ctx, fx.org.ID, fx.payout.ExchangeOrderID)
			if err == nil && len(ps) != 2 {
				err = fmt.Errorf("%d payouts of the order, want 2", len(ps))
			}
			return err
		}},
		{"PayoutsByExchangeOrder (new)", func(x *tx) error { _, err := x.PayoutsByExchangeOrder(ctx, fx.org.ID, "order-new"); return err }},
		{"Customer", func(x *tx) error { _, err := x.Customer(ctx, fx.org.ID, fx.customer.ID); return err }},
		{"BankAccount", func(x *tx) error { _, err := x.BankAccount(ctx, fx.org.ID, fx.bank.ID); return err }},
		{"LimitUsage", func(x *tx) error {
			_, err := x.LimitUsage(ctx, fx.org.ID, fx.customer.ID, fx.retry.LimitDay)
			return err
		}},
		{"LatestEDD", func(x *tx) error { _, err := x.LatestEDD(ctx, fx.org.ID, fx.customer.ID); return err }},
		{"CreatePayout", func(x *tx) error { return x.CreatePayout(ctx, next) }},
		{"AppendJournal", func(x *tx) error {
			return x.AppendJournal(ctx, offramp.Journal{OrgID: next.OrgID, PayoutID: next.ID, Kind: "payout_initiated",
				Postings: []offramp.Posting{
					{Account: "customer_payable", Currency: "INR", Amount: next.GrossFiat},
					{Account: "payouts_in_flight", Currency: "INR", Amount: next.GrossFiat.Neg()},
				}, CreatedAt: now})
		}},
		{"AppendEvent", func(x *tx) error {
			_, err := x.AppendEvent(ctx, offramp.Event{OrgID: next.OrgID, ObjectType: offramp.ObjectPayout, ObjectID: next.ID,
				Event: string(offramp.PayoutProcessing), CreatedAt: now})
			return err
		}},
		{"EnqueueJob", func(x *tx) error {
			return x.EnqueueJob(ctx, offramp.Job{OrgID: next.OrgID, Kind: offramp.JobProcessPayout, RefID: next.ID, RunAt: now})
		}},
		{"LinkQuotation", func(x *tx) error { return x.LinkQuotation(ctx, fx.org.ID, fx.quotation.ID, next.ID) }},
		{"LinkQuotation (linked)", func(x *tx) error { return x.LinkQuotation(ctx, fx.org.ID, fx.quotation.ID, next.ID) }},
		{"AddLimitUsage (first of the day)", func(x *tx) error {
			return x.AddLimitUsage(ctx, fx.org.ID, fx.customer.ID, fx.day, next.GrossFiat)
		}},
		{"LockLimitUsage", func(x *tx) error {
			_, err := x.LockLimitUsage(ctx, fx.org.ID, fx.customer.ID, fx.day)
			return err
		}},
		{"AddLimitUsage", func(x *tx) error { return x.AddLimitUsage(ctx, fx.org.ID, fx.customer.ID, fx.day, next.GrossFiat) }},
		{"PutIdempotency", func(x *tx) error {
			return x.PutIdempotency(ctx, offramp.IdempotencyRecord{OrgID: fx.org.ID, Key: "idem-new", RequestHash: "h",
				PayoutID: next.ID, CreatedAt: now})
		}},
		// A payout by id, and history pages.
		{"Payout", func(x *tx) error { _, err := x.Payout(ctx, fx.org.ID, fx.payout.ID); return err }},
		{"ListPayouts", func(x *tx) error {
			_, _, err := x.ListPayouts(ctx, fx.org.ID, offramp.PayoutFilter{}, page)
			return err
		}},
		{"ListPayouts by status", func(x *tx) error {
			_, _, err := x.ListPayouts(ctx, fx.org.ID, offramp.PayoutFilter{Status: offramp.PayoutInReview}, page)
			return err
		}},
		{"ListPayouts by customer", func(x *tx) error {
			_, _, err := x.ListPayouts(ctx, fx.org.ID, offramp.PayoutFilter{CustomerID: fx.customer.ID}, page)
			return err
		}},
		{"ListPayouts by time", func(x *tx) error {
			_, _, err := x.ListPayouts(ctx, fx.org.ID, offramp.PayoutFilter{From: now.Add(-2 * time.Hour), To: now}, page)
			return err
		}},
		{"ListPayouts by every filter", func(x *tx) error {
			_, _, err := x.ListPayouts(ctx, fx.org.ID, offramp.PayoutFilter{Status: offramp.PayoutSuccess,
				CustomerID: fx.customer.ID, From: now.Add(-24 * time.Hour), To: now}, page)
			return err
		}},
		// History by a client reference or an exchange order (a retry
		// looking for what its lost first attempt made), alone and with
		// every other filter: by its own index, whatever else is asked.
		{"ListPayouts by client reference", payoutsOf(ctx, fx, 1, offramp.PayoutFilter{ClientReferenceID: fx.payout.ClientReferenceID}, page)},
		{"ListPayouts by client reference (every filter)", payoutsOf(ctx, fx, 1, offramp.PayoutFilter{ClientReferenceID: fx.payout.ClientReferenceID,
			Status: offramp.PayoutFailed, CustomerID: fx.customer.ID, From: fx.payout.CreatedAt.Add(-24 * time.Hour), To: now}, page)},
		{"ListPayouts by client reference (unknown)", payoutsOf(ctx, fx, 0, offramp.PayoutFilter{ClientReferenceID: "ref-unknown"}, page)},
		{"ListPayouts by exchange order", payoutsOf(ctx, fx, 2, offramp.PayoutFilter{ExchangeOrderID: fx.payout.ExchangeOrderID}, page)},
		{"ListPayouts by exchange order (every filter)", payoutsOf(ctx, fx, 1, offramp.PayoutFilter{ExchangeOrderID: fx.payout.ExchangeOrderID,
			Status: offramp.PayoutInReview, CustomerID: fx.customer.ID, From: fx.payout.CreatedAt.Add(-24 * time.Hour), To: now}, page)},
		{"ListPayouts by exchange order (after a key)", payoutsOf(ctx, fx, 1, offramp.PayoutFilter{ExchangeOrderID: fx.payout.ExchangeOrderID},
			offramp.Page{Number: 2, Size: 1, Peek: true, Cursor: &offramp.PageCursor{CreatedAt: fx.retry.CreatedAt, ID: fx.retry.ID}})},
		{"ListPayouts by client reference (and exchange order)", payoutsOf(ctx, fx, 1, offramp.PayoutFilter{ExchangeOrderID: fx.payout.ExchangeOrderID,
			ClientReferenceID: fx.retry.ClientReferenceID}, page)},
		{"ListDeliveries", func(x *tx) error {
			_, _, err := x.ListDeliveries(ctx, fx.org.ID, offramp.DeliveryFilter{}, page)
			return err
		}},
		{"ListDeliveries by state", func(x *tx) error {
			_, _, err := x.ListDeliveries(ctx, fx.org.ID, offramp.DeliveryFilter{State: offramp.DeliveryPending}, page)
			return err
		}},
		{"ListDeliveries since", func(x *tx) error {
			_, _, err := x.ListDeliveries(ctx, fx.org.ID, offramp.DeliveryFilter{Since: now.Add(-time.Hour)}, page)
			return err
		}},
		{"ListCustomers", func(x *tx) error { _, _, err := x.ListCustomers(ctx, fx.org.ID, page); return err }},
		// Job claims, and a claimed job's end.
		{"ClaimJobs", func(x *tx) error {
			for _, c := range []offramp.JobClaim{
				{Now: now, Owner: "w1", Lease: time.Minute, Limit: 5},
				{Now: now, Owner: "w2", Lease: time.Minute, Limit: 5, PerOrg: 3},
				{Now: now, Owner: "w3", Lease: time.Minute, Limit: 5, PerOrg: 3, Kinds: kinds},
			} {
				jobs, err := x.ClaimJobs(ctx, c)
				if err != nil {
					return err
				}
				if len(jobs) > 0 && job.ID == uuid.Nil {
					job = jobs[0]
				}
			}
			if job.ID == uuid.Nil {
				return fmt.Errorf("no job claimed")
			}
			return nil
		}},
		{"Jobs", func(x *tx) error { _, err := x.Jobs(ctx, offramp.JobDeliverWebhook, fx.event); return err }},
		{"RetryJob", func(x *tx) error { return x.RetryJob(ctx, job.ID, job.Lease, now.Add(time.Minute), "timeout") }},
		{"RescheduleJob", func(x *tx) error { return x.RescheduleJob(ctx, job, now.Add(time.Minute)) }},
		{"FinishJob", func(x *tx) error { return x.FinishJob(ctx, job.ID, job.Lease) }},
		// Webhook delivery: the worker's reads, its record of the attempt,
		// and an event's delivery queued.
		{"Event", func(x *tx) error { _, err := x.Event(ctx, fx.org.ID, fx.event); return err }},
		{"Delivery", func(x *tx) error { _, err := x.Delivery(ctx, fx.org.ID, fx.event); return err }},
		{"Org", func(x *tx) error { _, err := x.Org(ctx, fx.org.ID); return err }},
		{"UpdateDelivery", func(x *tx) error {
			d := offramp.Delivery{EventID: fx.event, OrgID: fx.org.ID, State: offramp.DeliveryDelivered, Attempts: 2,
				LastStatusCode: 200, DeliveredAt: now, UpdatedAt: now}
			return x.UpdateDelivery(ctx, d, 1)
		}},
		{"UpdateDelivery (stale)", func(x *tx) error {
			return x.UpdateDelivery(ctx, offramp.Delivery{EventID: fx.event, OrgID: fx.org.ID, State: offramp.DeliveryFailed, Attempts: 3}, 1)
		}},
		{"AddDeliveryAttempt", func(x *tx) error {
			return x.AddDeliveryAttempt(ctx, offramp.DeliveryAttempt{EventID: fx.event, OrgID: fx.org.ID, Number: 2, At: now,
				URL: "https://example.com/hook", StatusCode: 200, Latency: time.Millisecond})
		}},
		{"DeliveryAttempts", func(x *tx) error { _, err := x.DeliveryAttempts(ctx, fx.org.ID, fx.event); return err }},
		{"CreateDelivery", func(x *tx) error {
			e, err := x.AppendEvent(ctx, offramp.Event{OrgID: next.OrgID, ObjectType: offramp.ObjectPayout, ObjectID: next.ID,
				Event: string(offramp.PayoutInReview), CreatedAt: now})
			if err != nil {
				return err
			}
			return x.CreateDelivery(ctx, offramp.Delivery{EventID: e.ID, OrgID: e.OrgID, State: offramp.DeliveryPending,
				NextAttemptAt: now, CreatedAt: now, UpdatedAt: now})
		}},
	}
}

// hotKeys are the lookups among hotCalls (by name, before any " (...)"),
// with the table.column (or columns, joined by +) each of their
// statements must find its rows of the table by: an index search on
// them, not a walk of every row of the organization (or of the table)
// that checks them.
var hotKeys = map[string][]string{
	"OrgByAPIKey":               {"api_keys.api_key"},
	"TouchAPIKey":               {"api_keys.id"},
	"SignatureRecord":           {"used_signatures.org_id+signature_hash"},
	"FinishSignature":           {"used_signatures.org_id+signature_hash"},
	"Idempotency":               {"idempotency_keys.org_id+key"},
	"PayoutIDByClientReference": {"payouts.org_id+client_reference_id"},
	"Quotation":                 {"quotations.id"},
	"PayoutsByExchangeOrder":    {"payouts.org_id+exchange_order_id"},
	"Customer":                  {"customers.id", "customer_kyc.customer_id", "edds.customer_id"},
	"BankAccount":               {"bank_accounts.id"},
	"LimitUsage":                {"limit_usage.day"},
	"LatestEDD":                 {"edds.customer_id"},
	"AppendEvent":               {"events.object_id"},
	"LinkQuotation":             {"quotations.id"},
	"LockLimitUsage":            {"limit_usage.day"},
	"AddLimitUsage":             {"limit_usage.day"},
	"Payout":                    {"payouts.id"},
	"Jobs":                      {"jobs.ref_id"},
	"RetryJob":                  {"jobs.id"},
	"RescheduleJob":             {"jobs.id"},
	"FinishJob":                 {"jobs.id"},
	"Event":                     {"events.id"},
	"Delivery":                  {"webhook_deliveries.event_id"},
	"UpdateDelivery":            {"webhook_deliveries.event_id"},
	"DeliveryAttempts":          {"webhook_attempts.event_id"},

	// Every statement of these, the capped count and the page.
	"ListPayouts by client reference": {"payouts.org_id+client_reference_id"},
	"ListPayouts by exchange order":   {"payouts.org_id+exchange_order_id"},
}

// operatorCalls are the statements of migration 00004's operator and
// engine methods and of 00008's keys. Several of them walk or count a
// whole table by design (ForEachPayout, PayoutStats, JobDepths), which a
// planner with statistics rightly does by a sequential scan: they are
// checked for an index that can serve them, with sequential scans off on
// PostgreSQL.
func operatorCalls(ctx context.Context, fx hotFixture) []planCall {
	now := fx.now
	return []planCall{
		{"PayoutByRailReference", func(x *tx) error { _, err := x.PayoutByRailReference(ctx, fx.payout.RailReference); return err }},
		{"PayoutAnyOrg", func(x *tx) error { _, err := x.PayoutAnyOrg(ctx, fx.payout.ID); return err }},
		{"AdminPayouts", func(x *tx) error {
			for _, f := range []offramp.PayoutFilter{
				{}, {OrgID: fx.other.ID}, {Status: offramp.PayoutInReview}, {CustomerID: fx.customer.ID},
				{From: now.Add(-time.Hour), To: now}, {OrgID: fx.org.ID, CustomerID: fx.customer.ID, Status: offramp.PayoutSuccess},
			} {
				if _, err := x.AdminPayouts(ctx, f, 10); err != nil {
					return err
				}
			}
			return nil
		}},
		{"ForEachPayout", func(x *tx) error { return x.ForEachPayout(ctx, func(offramp.Payout) error { return nil }) }},
		{"ForEachPayout after", func(x *tx) error {
			// The keyset query of a later batch.
			_, err := x.listPayouts(ctx, "walk", `SELECT `+payoutCols+` FROM payouts
				WHERE (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`, x.ts(now.Add(-time.Hour)), uuid.New(), payoutBatch)
			return err
		}},
		{"PayoutStats", func(x *tx) error { _, err := x.PayoutStats(ctx); return err }},
		{"UnlinkedPayouts", func(x *tx) error { _, err := x.UnlinkedPayouts(ctx); return err }},
		{"JobDepths", func(x *tx) error { _, err := x.JobDepths(ctx, now); return err }},
		{"AuditEntries", func(x *tx) error { _, err := x.AuditEntries(ctx, offramp.ObjectPayout, fx.payout.ID); return err }},
		{"APIKeys", func(x *tx) error { _, err := x.APIKeys(ctx, fx.org.ID); return err }},
		{"RevokeAPIKey", func(x *tx) error { return x.RevokeAPIKey(ctx, fx.org.ID, uuid.New(), "ops", now) }},
		{"Events", func(x *tx) error { _, err := x.Events(ctx, fx.org.ID, offramp.ObjectPayout, fx.payout.ID); return err }},
		{"PayoutJournals", func(x *tx) error { _, err := x.PayoutJournals(ctx, fx.org.ID, fx.payout.ID); return err }},
	}
}

// knownScans are whole-table reads of hot statements that testQueryPlans
// reports without failing: found, and left to the code's owner. Keyed by
// "engine call table" (engine "sqlite" or "postgres").
var knownScans = map[string]string{
	// customerSelect's EXISTS over the customer's VERIFIED EDD is planned
	// by PostgreSQL as a hashed SubPlan: every ListCustomers page hashes
	// the VERIFIED EDDs of every organization (a Seq Scan on edds), as
	// long as that costs less than one index probe per customer of the
	// organization (the LIMIT is not counted). Customer (one row) probes
	// edds_org_customer_created_idx. ListCustomers is not this test's to
	// change: a per-row form (a scalar subquery with LIMIT 1, or LEFT JOIN
	// LATERAL) would keep the page O(page).
	"postgres ListCustomers edds": "EXISTS over edds hashed: every VERIFIED EDD read per page",
}

// testQueryPlans populates the database (fillHot) and checks the plans of
// the hot statements (hotCalls), and of the operators' (operatorCalls),
// as the planner makes them in each setting that matters:
//
//   - An index serves every statement, as the old check on empty tables
//     had it: no SCAN of a table on SQLite without statistics (as in
//     production: nothing runs ANALYZE), no Seq Scan on PostgreSQL with
//     sequential scans off (on statistics of the populated tables).
//   - With statistics (SQLite after ANALYZE; PostgreSQL after VACUUM
//     ANALYZE, sequential scans allowed), no hot statement reads a table
//     of many rows whole: no SCAN or Seq Scan of it, nor a walk of all of
//     one of its indexes (unless partial, or, on PostgreSQL, under a
//     Limit). Such a plan makes the statement's cost grow with the table.
//     The operator statements are not held to this: several walk or count
//     a whole table by design (ForEachPayout, PayoutStats, JobDepths),
//     and a planner with statistics rightly scans for them.
//     A whole-table read listed in knownScans is logged, not failed.
//   - In every setting, and also in the generic plan PostgreSQL may cache
//     for a prepared statement (pgx prepares every statement), each
//     lookup of hotKeys finds its rows by an index search on its key. The
//     generic plans are held to this rule only: PostgreSQL runs a generic
//     plan only when it costs no more than the custom ones, which holds
//     for a lookup by key, not for a range (ClaimJobs's leases, whose
//     generic plan reads jobs whole).
//
// OFFRAMP_PRINT_PLANS=1 logs every plan.
func testQueryPlans(t *testing.T, s *Store) {
	ctx := t.Context()
	fx := fillHot(t, s, fillSpec{payouts: [2]int{2000, 1000}, customers: 400})
	type rules struct{ scans, fullIndex, keys bool }
	seen := map[string]bool{} // knownScans found
	defer func() {
		for key := range knownScans {
			if strings.HasPrefix(key, map[bool]string{true: "sqlite ", false: "postgres "}[!s.concurrent]) && !seen[key] && !t.Failed() {
				t.Logf("the known scan %q no longer occurs: remove it from knownScans", key)
			}
		}
	}()
	check := func(what string, c planCheck, plans []plan, r rules) {
		t.Helper()
		for _, p := range plans {
			if os.Getenv("OFFRAMP_PRINT_PLANS") != "" {
				t.Logf("%s: %s: %s\n%s", what, p.call, p.query, p.text)
			}
			if m, table := c.scanOf(p, r.fullIndex); r.scans && m != "" {
				engine := map[bool]string{true: "sqlite", false: "postgres"}[c.sqlite]
				if known, ok := knownScans[engine+" "+p.call+" "+table]; ok {
					t.Logf("%s: %s reads a table whole, %s: known (%s), not failed", what, p.call, m, known)
					seen[engine+" "+p.call+" "+table] = true
					continue
				}
				t.Errorf("%s: %s reads a table whole, %s, in the plan of\n  %s\n%s", what, p.call, m, p.query, p.text)
			}
			if !r.keys {
				continue
			}
			name, _, _ := strings.Cut(p.call, " (")
			for _, key := range hotKeys[name] {
				table, columns, _ := strings.Cut(key, ".")
				if !c.large[table] {
					continue // a handful of rows, which a planner with statistics rightly scans
				}
				if m := c.unkeyed(p, table, strings.Split(columns, "+")); m != "" {
					t.Errorf("%s: %s reads %s without an index search on %s, %s, in the plan of\n  %s\n%s",
						what, p.call, table, columns, m, p.query, p.text)
				}
			}
		}
	}
	// Mode "seqscan off" (PostgreSQL): sequential scans off, where a walk
	// of a whole index is how the planner replaces a scan of a small
	// table, so such walks are not reported. Mode "generic" (PostgreSQL):
	// the generic plans of the hot statements prepared.
	run := func(what, mode string, c planCheck, operator bool) {
		t.Helper()
		setup := map[string]string{
			"seqscan off": "SET LOCAL enable_seqscan = off",
			"generic":     "SET LOCAL plan_cache_mode = force_generic_plan",
		}[mode]
		hot := explainCalls(t, s, setup, mode == "generic", hotCalls(ctx, fx))
		if len(hot) < 60 {
			t.Fatalf("only %d hot statements explained", len(hot))
		}
		check(what, c, hot, rules{scans: mode != "generic", fullIndex: mode == "", keys: true})
		if operator {
			check(what, c, explainCalls(t, s, setup, false, operatorCalls(ctx, fx)), rules{scans: true})
		}
	}
	if s.concurrent {
		analyze(t, s)
		run("index (sequential scans off)", "seqscan off", newPlanCheck(t, s, 0), true)
		large := newPlanCheck(t, s, 500)
		run("with statistics", "", large, false)
		run("generic plan", "generic", large, false)
		return
	}
	run("index (no statistics)", "", newPlanCheck(t, s, 0), true)
	analyze(t, s)
	run("with statistics", "", newPlanCheck(t, s, 500), false)
}

// analyze gathers the planner's statistics, as autovacuum does on
// PostgreSQL (with VACUUM, which lets index-only scans skip the table) and
// an operator's ANALYZE would on SQLite.
func analyze(tb testing.TB, s *Store) {
	tb.Helper()
	query := "ANALYZE"
	if s.concurrent {
		query = "VACUUM ANALYZE"
	}
	if _, err := s.wdb.ExecContext(context.Background(), query); err != nil {
		tb.Fatal(err)
	}
}

func TestSQLiteQueryPlans(t *testing.T) {
	s, _ := openTemp(t)
	testQueryPlans(t, s)
}

func TestPostgresQueryPlans(t *testing.T) {
	testQueryPlans(t, openPGTemp(t))
}
