package sqlstore

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/sqlstore/pgtest"
	"github.com/offramp/offramp/sqlstore/storetest"
)

// openPG opens a store on url, closed when the test ends.
func openPG(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(t.Context(), url, testVault(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openPGTemp opens and migrates a store on a fresh PostgreSQL database.
func openPGTemp(t *testing.T) *Store {
	t.Helper()
	s := openPG(t, pgtest.URL(t))
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPostgresConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) offramp.Store { return openPGTemp(t) })
}

func TestPostgresMigrateIdempotent(t *testing.T) {
	url := pgtest.URL(t)
	for range 2 {
		s := openPG(t, url)
		for range 2 {
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
	}
	// Down to nothing and up again: the Down sections work.
	s := openPG(t, url)
	p := provider(t, s)
	if _, err := p.DownTo(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	if v := dbVersion(t, p); v != 0 {
		t.Fatalf("version after DownTo(0): %d", v)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestPostgresConcurrentMigrate: server processes started together migrate
// one after the other (a session advisory lock), without errors.
func TestPostgresConcurrentMigrate(t *testing.T) {
	url := pgtest.URL(t)
	stores := []*Store{openPG(t, url), openPG(t, url), openPG(t, url)}
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			if err := s.Migrate(t.Context()); err != nil {
				t.Errorf("store %d: Migrate: %v", i, err)
			}
		})
	}
	wg.Wait()
	p := provider(t, stores[0])
	srcs := p.ListSources()
	if v, want := dbVersion(t, p), srcs[len(srcs)-1].Version; v != want {
		t.Fatalf("version %d after concurrent migrations, want %d", v, want)
	}
}

// TestPostgresConcurrentClaims: eight stores (eight pools, as eight server
// processes would have) drain 500 jobs; every job runs exactly once and no
// error reaches a worker.
func TestPostgresConcurrentClaims(t *testing.T) {
	const jobs, workers = 500, 8
	url := pgtest.URL(t)
	s0 := openPG(t, url)
	if err := s0.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	err := s0.Update(ctx, func(tx offramp.Tx) error {
		for i := range jobs {
			j := offramp.Job{Kind: offramp.JobVerifyKYC, RefID: uuid.New(), RunAt: now.Add(-time.Duration(i) * time.Millisecond)}
			if err := tx.EnqueueJob(ctx, j); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		runs = map[uuid.UUID]int{}
		wg   sync.WaitGroup
	)
	stores := make([]*Store, workers)
	for w := range workers {
		stores[w] = openPG(t, url)
	}
	start := time.Now()
	for w := range workers {
		s, owner := stores[w], fmt.Sprintf("worker-%d", w)
		wg.Go(func() {
			for {
				var got []offramp.Job
				err := s.Update(ctx, func(tx offramp.Tx) error {
					var err error
					got, err = tx.ClaimJobs(ctx, offramp.JobClaim{Now: now, Owner: owner, Lease: time.Hour, Limit: 5})
					return err
				})
				if err != nil {
					t.Errorf("%s: ClaimJobs: %v", owner, err)
					return
				}
				if len(got) == 0 {
					return
				}
				for _, j := range got {
					mu.Lock()
					runs[j.ID]++ // "executing" the job
					mu.Unlock()
					if err := s.Update(ctx, func(tx offramp.Tx) error { return tx.FinishJob(ctx, j.ID, owner) }); err != nil {
						t.Errorf("%s: FinishJob: %v", owner, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	var retries int64
	for _, s := range stores {
		retries += s.retries.Load()
	}
	t.Logf("%d jobs, %d workers: %v, %d Update retries", jobs, workers, time.Since(start), retries)
	if len(runs) != jobs {
		t.Fatalf("%d distinct jobs ran, want %d", len(runs), jobs)
	}
	for id, n := range runs {
		if n != 1 {
			t.Fatalf("job %s ran %d times", id, n)
		}
	}
	if got := claimAll(t, s0, now.Add(48*time.Hour)); got != 0 {
		t.Fatalf("%d jobs left after every job finished", got)
	}
}

func claimAll(t *testing.T, s *Store, at time.Time) int {
	var n int
	err := s.Update(t.Context(), func(tx offramp.Tx) error {
		jobs, err := tx.ClaimJobs(t.Context(), offramp.JobClaim{Now: at, Owner: "probe", Lease: time.Minute, Limit: 1000})
		n = len(jobs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// seedOrg creates an organization.
func seedOrg(t *testing.T, s *Store) offramp.Org {
	t.Helper()
	org := offramp.Org{ID: uuid.New(), Name: "Exchange", Env: offramp.EnvSandbox, APIKey: "key_" + uuid.NewString(), APISecret: "s"}
	if err := s.Update(t.Context(), func(tx offramp.Tx) error { return tx.CreateOrg(t.Context(), org) }); err != nil {
		t.Fatal(err)
	}
	return org
}

func eventSequences(t *testing.T, s *Store, orgID, objectID uuid.UUID) []int64 {
	t.Helper()
	var seqs []int64
	err := s.View(t.Context(), func(tx offramp.ReadTx) error {
		evs, err := tx.Events(t.Context(), orgID, offramp.ObjectPayout, objectID)
		for _, e := range evs {
			seqs = append(seqs, e.Sequence)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return seqs
}

// TestPostgresConcurrentAppendEvent: two stores append 200 events to one
// object at once. Both read the same "next" sequence number time and
// again; the loser's Update runs again and numbers after the winner, so
// the sequences are 1..200 with no gap and no duplicate, and no error
// reaches a caller.
func TestPostgresConcurrentAppendEvent(t *testing.T) {
	const total, writers = 200, 2
	url := pgtest.URL(t)
	a := openPG(t, url)
	if err := a.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	stores := []*Store{a, openPG(t, url)}
	org := seedOrg(t, a)
	object := uuid.New()
	ctx := t.Context()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		s := stores[w]
		wg.Go(func() {
			<-start
			for i := range total / writers {
				err := s.Update(ctx, func(tx offramp.Tx) error {
					_, err := tx.AppendEvent(ctx, offramp.Event{OrgID: org.ID, ObjectType: offramp.ObjectPayout, ObjectID: object,
						Event: fmt.Sprintf("W%d-%d", w, i)})
					return err
				})
				if err != nil {
					t.Errorf("writer %d, append %d: %v", w, i, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	seqs := eventSequences(t, a, org.ID, object)
	if len(seqs) != total {
		t.Fatalf("%d events, want %d", len(seqs), total)
	}
	for i, seq := range seqs {
		if seq != int64(i+1) {
			t.Fatalf("event %d has sequence %d: %v", i, seq, seqs)
		}
	}
	t.Logf("Update retries: %d + %d", stores[0].retries.Load(), stores[1].retries.Load())
}

// TestPostgresAppendEventRetry forces the race of two writers numbering
// one object's event: A takes its snapshot, B appends and commits, then A
// appends. A's first run reads the old maximum and collides with B; its
// Update runs fn again, which numbers after B.
func TestPostgresAppendEventRetry(t *testing.T) {
	url := pgtest.URL(t)
	a := openPG(t, url)
	if err := a.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	b := openPG(t, url)
	org := seedOrg(t, a)
	object := uuid.New()
	ctx := t.Context()
	var runs atomic.Int32
	var got offramp.Event
	err := a.Update(ctx, func(tx offramp.Tx) error {
		if runs.Add(1) == 1 {
			// Take the snapshot, then let B commit its event.
			if _, err := tx.Events(ctx, org.ID, offramp.ObjectPayout, object); err != nil {
				return err
			}
			err := b.Update(ctx, func(tx offramp.Tx) error {
				_, err := tx.AppendEvent(ctx, offramp.Event{OrgID: org.ID, ObjectType: offramp.ObjectPayout, ObjectID: object, Event: "B"})
				return err
			})
			if err != nil {
				return fmt.Errorf("B: %w", err)
			}
		}
		var err error
		got, err = tx.AppendEvent(ctx, offramp.Event{OrgID: org.ID, ObjectType: offramp.ObjectPayout, ObjectID: object, Event: "A"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := runs.Load(); n != 2 {
		t.Errorf("fn ran %d times, want 2 (one retry)", n)
	}
	if got.Sequence != 2 {
		t.Errorf("A's event got sequence %d, want 2", got.Sequence)
	}
	if seqs := eventSequences(t, a, org.ID, object); len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 2 {
		t.Errorf("sequences %v, want [1 2]", seqs)
	}
}

// TestPostgresConcurrentLinkQuotation: two stores each create a payout
// and link it to one quotation at once; exactly one wins, the other gets
// ErrStale and leaves nothing behind.
func TestPostgresConcurrentLinkQuotation(t *testing.T) {
	url := pgtest.URL(t)
	a := openPG(t, url)
	if err := a.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	stores := []*Store{a, openPG(t, url)}
	org, c, bank := seedPayee(t, a)
	ctx := t.Context()
	for round := range 10 {
		q := offramp.Quotation{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, BankID: bank.ID, Asset: "USDT", Fiat: "INR",
			PaymentMethod: "IMPS", SendingAmount: decimal.RequireFromString("50"), Rate: decimal.RequireFromString("88.92"),
			GrossFiat: decimal.RequireFromString("4446.00"), ReceivingAmount: decimal.RequireFromString("4144.60"),
			Status: offramp.QuotationUnlinked, ExpiresAt: time.Now().Add(time.Minute)}
		if err := a.Update(ctx, func(tx offramp.Tx) error { return tx.CreateQuotation(ctx, q) }); err != nil {
			t.Fatal(err)
		}
		var (
			wg      sync.WaitGroup
			errs    [2]error
			payouts [2]offramp.Payout
		)
		start := make(chan struct{})
		for i, s := range stores {
			payouts[i] = offramp.Payout{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, BankID: bank.ID, QuotationID: q.ID,
				ClientReferenceID: fmt.Sprintf("r%d-%d", round, i), Asset: q.Asset, Fiat: q.Fiat, PaymentMethod: q.PaymentMethod,
				SendingAmount: q.SendingAmount, Rate: q.Rate, GrossFiat: q.GrossFiat, ReceivingAmount: q.ReceivingAmount,
				Status: offramp.PayoutProcessing, Phase: offramp.PhaseQueued, RailReference: "OFR" + uuid.NewString()}
			wg.Go(func() {
				<-start
				errs[i] = s.Update(ctx, func(tx offramp.Tx) error {
					if _, err := tx.Quotation(ctx, org.ID, q.ID); err != nil {
						return err
					}
					if err := tx.CreatePayout(ctx, payouts[i]); err != nil {
						return err
					}
					return tx.LinkQuotation(ctx, org.ID, q.ID, payouts[i].ID)
				})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("round %d: both links succeeded", round)
				}
				winner = i
			case !errors.Is(err, offramp.ErrStale):
				t.Fatalf("round %d, store %d: %v, want nil or ErrStale", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no link succeeded: %v", round, errs)
		}
		err := a.View(ctx, func(tx offramp.ReadTx) error {
			got, err := tx.Quotation(ctx, org.ID, q.ID)
			if err != nil {
				return err
			}
			if got.PayoutID != payouts[winner].ID {
				t.Errorf("round %d: quotation linked to %s, want the winner %s", round, got.PayoutID, payouts[winner].ID)
			}
			if _, err := tx.Payout(ctx, org.ID, payouts[1-winner].ID); !errors.Is(err, offramp.ErrNotFound) {
				t.Errorf("round %d: the loser's payout: %v, want ErrNotFound", round, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestPostgresConflictMapping: a unique violation maps to the documented
// conflict, as on SQLite, is not retried, and its error quotes no value
// (PostgreSQL's detail names the duplicate key).
func TestPostgresConflictMapping(t *testing.T) {
	s := openPGTemp(t)
	ctx := t.Context()
	org := seedOrg(t, s)
	c := offramp.Customer{ID: uuid.New(), OrgID: org.ID, FullName: "A", Email: "dup@example.com", Phone: "+911", Status: offramp.CustomerUnverified}
	if err := s.Update(ctx, func(tx offramp.Tx) error { return tx.CreateCustomer(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	var runs int
	c2 := c
	c2.ID, c2.Phone = uuid.New(), "+912"
	err := s.Update(ctx, func(tx offramp.Tx) error { runs++; return tx.CreateCustomer(ctx, c2) })
	var oe *offramp.Error
	if !errors.As(err, &oe) || oe.Code != offramp.CodeConflict || oe.Message != offramp.MsgEmailInUse {
		t.Fatalf("duplicate email: %v, want the documented conflict", err)
	}
	if runs != 1 {
		t.Errorf("a documented conflict ran fn %d times, want 1", runs)
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != pgUniqueViolation {
		t.Fatalf("the conflict does not wrap the server error: %v", err)
	}
	if pe.Detail != "" || pe.Hint != "" || pe.Where != "" {
		t.Errorf("server error not redacted: detail %q", pe.Detail)
	}
	if s := fmt.Sprintf("%+v %#v", err, err); strings.Contains(s, "dup@example.com") {
		t.Errorf("error quotes the duplicate value: %s", s)
	}

	// A write through a View fails: the transaction is read only.
	err = s.View(ctx, func(rtx offramp.ReadTx) error {
		return rtx.(offramp.Tx).CreateOrg(ctx, offramp.Org{ID: uuid.New(), APIKey: "k", APISecret: "s", Env: offramp.EnvSandbox})
	})
	if err == nil {
		t.Fatal("write through a View succeeded")
	}
}

func TestPostgresClassify(t *testing.T) {
	d := postgresDialect{}
	for _, c := range []struct {
		err    error
		kind   errKind
		target string
	}{
		{&pgconn.PgError{Code: "23505", ConstraintName: "customers_org_email_key"}, errUnique, "customers.email"},
		{&pgconn.PgError{Code: "23505", ConstraintName: "bank_accounts_org_vpa_key"}, errUnique, "bank_accounts.vpa_index"},
		{&pgconn.PgError{Code: "23505", ConstraintName: "payouts_org_client_reference_id_key"}, errUnique, "payouts.client_reference_id"},
		{&pgconn.PgError{Code: "23505", ConstraintName: "events_object_sequence_key"}, errRetry, "events.sequence"},
		{&pgconn.PgError{Code: "23505", ConstraintName: "journals_seq_key"}, errRetry, "journals.seq"},
		{&pgconn.PgError{Code: "23505", TableName: "x", ConstraintName: "x_new_key"}, errUnique, "x.x_new_key"},
		{&pgconn.PgError{Code: "23503"}, errForeignKey, ""},
		{&pgconn.PgError{Code: "23514", ConstraintName: "payouts_status_phase_check"}, errCheck, "payouts_status_phase_check"},
		{&pgconn.PgError{Code: "23505", ConstraintName: "jobs_kind_ref_key"}, errUnique, "jobs.ref_id"},
		{&pgconn.PgError{Code: "23505", ConstraintName: "payouts_org_exchange_order_live_key"}, errUnique, "payouts.exchange_order_id"},
		{&pgconn.PgError{Code: "40001"}, errRetry, ""},
		{&pgconn.PgError{Code: "40P01"}, errRetry, ""},
		{&pgconn.PgError{Code: "57014"}, errInterrupted, ""},
		{&pgconn.PgError{Code: "57P01"}, errBusy, ""},
		{&pgconn.PgError{Code: "08006"}, errBusy, ""},
		{&pgconn.PgError{Code: "42P01"}, errOther, ""},
		{&pgconn.PgError{Code: "0A000", Message: "cached plan must not change result type"}, errRetry, ""},
		{&pgconn.PgError{Code: "0A000", Message: "something else"}, errOther, ""},
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40001"}), errRetry, ""},
		{errors.New("plain"), errOther, ""},
	} {
		kind, target := d.classify(c.err)
		if kind != c.kind || target != c.target {
			t.Errorf("classify(%v) = %v %q, want %v %q", c.err, kind, target, c.kind, c.target)
		}
	}
}

// TestPostgresUniqueIndexes: pgUniqueIndexes names every unique index of
// the migrated schema with the table and last column it covers, so a new
// migration cannot add a unique index the conflict mapping does not know.
func TestPostgresUniqueIndexes(t *testing.T) {
	s := openPGTemp(t)
	rows, err := s.wdb.QueryContext(t.Context(), `
		SELECT i.relname, t.relname, a.attname
		FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[x.indnkeyatts - 1]
		WHERE x.indisunique AND n.nspname = current_schema() AND t.relname <> 'goose_db_version'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var index, table, column string
		if err := rows.Scan(&index, &table, &column); err != nil {
			t.Fatal(err)
		}
		seen[index] = true
		if want := table + "." + column; pgUniqueIndexes[index] != want {
			t.Errorf("unique index %s covers %s; pgUniqueIndexes says %q", index, want, pgUniqueIndexes[index])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for index := range pgUniqueIndexes {
		if !seen[index] {
			t.Errorf("pgUniqueIndexes names %s, which the schema does not have", index)
		}
	}
	// Every documented conflict is reachable from some index.
	targets := map[string]bool{}
	for _, target := range pgUniqueIndexes {
		targets[target] = true
	}
	for target := range uniqueField {
		if !targets[target] {
			t.Errorf("uniqueField maps %s, which no PostgreSQL unique index covers", target)
		}
	}
}

// TestPostgresConcurrentClaimsPerOrg: eight stores claim at once, with a
// cap of three leases per organization, from three organizations with
// long backlogs. Claimers rank from their own snapshots and skip each
// other's locked rows, yet no organization ends up holding more than three
// leases, no job is handed out twice and no claim fails.
func TestPostgresConcurrentClaimsPerOrg(t *testing.T) {
	const orgs, perOrg, workers, rounds = 3, 3, 8, 6
	url := pgtest.URL(t)
	s0 := openPG(t, url)
	if err := s0.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	err := s0.Update(ctx, func(tx offramp.Tx) error {
		for o := range orgs {
			org := uuid.New()
			for i := range 40 {
				j := offramp.Job{OrgID: org, Kind: offramp.JobProcessPayout, RefID: uuid.New(),
					RunAt: now.Add(-time.Duration(o*40+i) * time.Second)}
				if err := tx.EnqueueJob(ctx, j); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		owners = map[uuid.UUID]string{}
		wg     sync.WaitGroup
		start  = make(chan struct{})
	)
	for w := range workers {
		s := openPG(t, url)
		wg.Go(func() {
			<-start
			for r := range rounds {
				owner := fmt.Sprintf("worker-%d-%d", w, r)
				var got []offramp.Job
				err := s.Update(ctx, func(tx offramp.Tx) error {
					var err error
					got, err = tx.ClaimJobs(ctx, offramp.JobClaim{Now: now, Owner: owner, Lease: time.Hour, Limit: 2,
						Kinds: []offramp.JobKind{offramp.JobProcessPayout}, PerOrg: perOrg})
					return err
				})
				if err != nil {
					t.Errorf("%s: ClaimJobs: %v", owner, err)
					return
				}
				mu.Lock()
				for _, j := range got {
					if prev, ok := owners[j.ID]; ok {
						t.Errorf("job %s handed to %s and %s", j.ID, prev, owner)
					}
					owners[j.ID] = owner
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	rows, err := s0.wdb.QueryContext(ctx, `SELECT org_id, COUNT(*) FROM jobs WHERE lease_until >= $1 GROUP BY org_id`, now)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	total := 0
	for rows.Next() {
		var org uuid.UUID
		var n int
		if err := rows.Scan(&org, &n); err != nil {
			t.Fatal(err)
		}
		if n > perOrg {
			t.Errorf("organization %s holds %d leases, cap %d", org, n, perOrg)
		}
		total += n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// 48 claims of up to two jobs were enough to fill every organization.
	if total != orgs*perOrg || len(owners) != total {
		t.Fatalf("%d leases held, %d jobs handed out; want %d", total, len(owners), orgs*perOrg)
	}
}
