package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// at00003 opens a SQLite store migrated to 00003 only, with an
// organization, a customer, a bank account and a quotation.
func at00003(t *testing.T) (*Store, offramp.Quotation) {
	t.Helper()
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "old.db"), testVault(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := provider(t, s).UpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	// CreateOrg writes 00008's api_keys: the organization is written as
	// 00003 had it.
	org := offramp.Org{ID: uuid.New(), Name: "Exchange", Env: offramp.EnvSandbox, APIKey: "key_" + uuid.NewString(), APISecret: "s",
		CreatedAt: time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC)}
	insertOrg00007(t, s, org)
	c, bank := seedPayeeOf(t, s, org)
	q := offramp.Quotation{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, BankID: bank.ID, Asset: "USDT", Fiat: "INR",
		PaymentMethod: "IMPS", SendingAmount: decimal.RequireFromString("50"), Rate: decimal.RequireFromString("88.92"),
		GrossFiat: decimal.RequireFromString("4446.00"), ReceivingAmount: decimal.RequireFromString("4144.60"),
		Status: offramp.QuotationUnlinked, ExpiresAt: time.Date(2025, 3, 14, 9, 1, 0, 0, time.UTC)}
	if err := s.Update(ctx, func(tx offramp.Tx) error { return tx.CreateQuotation(ctx, q) }); err != nil {
		t.Fatal(err)
	}
	return s, q
}

// insertPayout00003 writes p with 00003's columns (the store's own
// CreatePayout writes 00004's).
func insertPayout00003(t *testing.T, s *Store, p offramp.Payout) {
	t.Helper()
	fees, err := encodeFees(p.Fees)
	if err != nil {
		t.Fatal(err)
	}
	ts := func(v time.Time) string { return v.UTC().Format(sqliteTimeLayout) }
	_, err = s.wdb.ExecContext(t.Context(), `INSERT INTO payouts (id, org_id, customer_id, bank_id, quotation_id,
		client_reference_id, exchange_order_id, exchange_transfer_id, asset, fiat, payment_method, sending_amount, rate,
		gross_fiat, receiving_amount, fees, status, phase, rail_reference, utr, failure_reason, limit_day, inquiries,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.OrgID, p.CustomerID, p.BankID, p.QuotationID, p.ClientReferenceID, p.ExchangeOrderID, p.ExchangeTransferID,
		p.Asset, p.Fiat, p.PaymentMethod, decText(p.SendingAmount), decText(p.Rate), decText(p.GrossFiat),
		decText(p.ReceivingAmount), fees, string(p.Status), string(p.Phase), p.RailReference, p.UTR, p.FailureReason,
		p.LimitDay, p.Inquiries, ts(p.CreatedAt), ts(p.UpdatedAt))
	if err != nil {
		t.Fatal(err)
	}
}

func payoutOf(q offramp.Quotation, n int, st offramp.PayoutStatus, ph offramp.PayoutPhase) offramp.Payout {
	created := time.Date(2025, 3, 14, 9, 0, n, 0, time.UTC)
	return offramp.Payout{ID: uuid.New(), OrgID: q.OrgID, CustomerID: q.CustomerID, BankID: q.BankID, QuotationID: q.ID,
		ClientReferenceID: fmt.Sprintf("ref-%d", n), ExchangeOrderID: fmt.Sprintf("order-%d", n), Asset: q.Asset, Fiat: q.Fiat,
		PaymentMethod: q.PaymentMethod, SendingAmount: q.SendingAmount, Rate: q.Rate, GrossFiat: q.GrossFiat,
		ReceivingAmount: q.ReceivingAmount, Status: st, Phase: ph, RailReference: fmt.Sprintf("OFR-%d-%s", n, uuid.NewString()[:8]),
		LimitDay: "2025-03-14", Inquiries: n % 3, CreatedAt: created, UpdatedAt: created.Add(time.Duration(n) * time.Minute)}
}

func pragmaInt(t *testing.T, s *Store, pragma string) int {
	t.Helper()
	var v int
	if err := s.wdb.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func wantNoForeignKeyViolations(t *testing.T, s *Store) {
	t.Helper()
	if err := s.wdb.QueryRowContext(t.Context(), `PRAGMA foreign_key_check`).Scan(); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("foreign_key_check: %v", err)
	}
}

// TestMigrate00004OverData: a database at 00003 holding payouts in every
// status and forked job chains gets 00004 (a rebuild of payouts and jobs on
// SQLite) keeping every payout, with the new columns backfilled, one job
// per payout and event, foreign keys on and still pointing at the rebuilt
// tables, and the new rules in force.
func TestMigrate00004OverData(t *testing.T) {
	ctx := t.Context()
	s, q := at00003(t)
	ps := []offramp.Payout{
		payoutOf(q, 1, offramp.PayoutProcessing, offramp.PhaseQueued),
		payoutOf(q, 2, offramp.PayoutProcessing, offramp.PhaseSubmitted),
		payoutOf(q, 3, offramp.PayoutInReview, offramp.PhaseManualReview),
		payoutOf(q, 4, offramp.PayoutSuccess, offramp.PhasePaid),
		payoutOf(q, 5, offramp.PayoutFailed, offramp.PhaseRejected),
		payoutOf(q, 6, offramp.PayoutRefunded, offramp.PhaseCryptoReturned),
		payoutOf(q, 7, offramp.PayoutProcessing, offramp.PhaseOutcomeUnknown),
	}
	ps[3].UTR, ps[3].ExchangeTransferID = "UTR000004", "tr-4"
	ps[4].FailureReason = offramp.ReasonBeneficiaryBankRejected
	ps[5].FailureReason = offramp.ReasonAMLScreeningFailed
	for _, p := range ps {
		insertPayout00003(t, s, p)
	}
	// The quotation linked, a journal and an idempotency record: rows that
	// reference payouts across the rebuild.
	j := offramp.Journal{ID: uuid.New(), OrgID: q.OrgID, PayoutID: ps[3].ID, Kind: "payout_paid", CreatedAt: ps[3].UpdatedAt,
		Postings: []offramp.Posting{
			{Account: offramp.AccountCustomerPayable, Currency: "INR", Amount: decimal.RequireFromString("4144.60")},
			{Account: offramp.AccountBankFloat, Currency: "INR", Amount: decimal.RequireFromString("-4144.60")},
		}}
	pay, event, customer := ps[1].ID, uuid.New(), q.CustomerID
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	jid := func(b byte) uuid.UUID { return uuid.UUID{b, 1, 2, 3, 4, 5, 0x40, 7, 0x80, 9, 10, 11, 12, 13, 14, 15} }
	jobs := []offramp.Job{
		// A forked payout chain: two due at t0 (the lower id is kept), one later.
		{ID: jid(0x30), OrgID: q.OrgID, Kind: offramp.JobProcessPayout, RefID: pay, RunAt: t0},
		{ID: jid(0x10), OrgID: q.OrgID, Kind: offramp.JobProcessPayout, RefID: pay, RunAt: t0},
		{ID: jid(0x05), OrgID: q.OrgID, Kind: offramp.JobProcessPayout, RefID: pay, RunAt: t0.Add(time.Minute)},
		{ID: jid(0x50), OrgID: q.OrgID, Kind: offramp.JobDeliverWebhook, RefID: event, RunAt: t0.Add(time.Hour)},
		{ID: jid(0x60), OrgID: q.OrgID, Kind: offramp.JobDeliverWebhook, RefID: event, RunAt: t0.Add(time.Minute)},
		// Several KYC jobs for one customer are allowed and kept.
		{ID: jid(0x70), OrgID: q.OrgID, Kind: offramp.JobVerifyKYC, RefID: customer, Seq: 1, RunAt: t0},
		{ID: jid(0x71), OrgID: q.OrgID, Kind: offramp.JobVerifyKYC, RefID: customer, Seq: 2, RunAt: t0.Add(time.Second)},
		// Another payout's single job, held under a lease.
		{ID: jid(0x80), OrgID: q.OrgID, Kind: offramp.JobProcessPayout, RefID: ps[6].ID, RunAt: t0},
	}
	err := s.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.LinkQuotation(ctx, q.OrgID, q.ID, ps[3].ID); err != nil {
			return err
		}
		if err := tx.AppendJournal(ctx, j); err != nil {
			return err
		}
		if err := tx.PutIdempotency(ctx, offramp.IdempotencyRecord{OrgID: q.OrgID, Key: "k", RequestHash: "h", PayoutID: ps[3].ID}); err != nil {
			return err
		}
		for _, j := range jobs {
			if err := tx.EnqueueJob(ctx, j); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.wdb.ExecContext(ctx, `UPDATE jobs SET lease_owner = 'runner', lease_until = ?, attempts = 2 WHERE id = ?`,
		t0.Add(time.Minute).Format(sqliteTimeLayout), jid(0x80)); err != nil {
		t.Fatal(err)
	}

	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate over 00003 with data: %v", err)
	}
	if v := dbVersion(t, provider(t, s)); v < 4 {
		t.Fatalf("version after Migrate: %d", v)
	}
	if fk := pragmaInt(t, s, "foreign_keys"); fk != 1 {
		t.Fatalf("PRAGMA foreign_keys = %d after the migration, want 1", fk)
	}
	wantNoForeignKeyViolations(t, s)
	if left := queryStrings(t, s.wdb, `SELECT name FROM sqlite_schema WHERE name LIKE '%_new' OR name LIKE '%_old'`); len(left) != 0 {
		t.Fatalf("tables of the rebuild left behind: %v", left)
	}
	indexes := queryStrings(t, s.wdb, `SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('payouts', 'jobs')
		AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY name`)
	wantIndexes := []string{
		"jobs_kind_ref_idx", "jobs_kind_ref_key", "jobs_kind_run_at_idx", "jobs_lease_idx", "jobs_run_at_idx",
		"payouts_created_idx", "payouts_org_client_reference_id_key", "payouts_org_created_idx",
		"payouts_org_customer_created_idx", "payouts_org_exchange_order_idx", "payouts_org_exchange_order_live_key",
		"payouts_phase_submitted_idx", "payouts_rail_reference_key", "payouts_status_created_idx", "payouts_unlinked_idx",
	}
	// Migrate runs the later migrations too, which may add indexes of
	// their own (00007's payout search): every index of 00004 must be
	// there, rebuilt.
	for _, ix := range wantIndexes {
		if !slices.Contains(indexes, ix) {
			t.Fatalf("indexes after the rebuild:\n %v\nwant at least\n %v", indexes, wantIndexes)
		}
	}
	var strict int
	if err := s.wdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_list WHERE name IN ('payouts', 'jobs', 'audit_log') AND strict`).Scan(&strict); err != nil {
		t.Fatal(err)
	}
	if strict != 3 {
		t.Fatalf("%d of payouts, jobs and audit_log are STRICT, want 3", strict)
	}

	// Every payout, as it was, with the new columns backfilled.
	want := slices.Clone(ps)
	for i, p := range want {
		switch p.Phase {
		case offramp.PhaseSubmitted, offramp.PhaseOutcomeUnknown, offramp.PhaseManualReview:
			want[i].Submissions, want[i].SubmittedAt = 1, p.UpdatedAt
		}
	}
	want[2].ReviewReason = offramp.ReviewOutcomeUnknown
	want[3].PaidAt = ps[3].UpdatedAt
	err = s.View(ctx, func(tx offramp.ReadTx) error {
		for _, w := range want {
			got, err := tx.Payout(ctx, w.OrgID, w.ID)
			if err != nil {
				return err
			}
			if !got.SendingAmount.Equal(w.SendingAmount) || !got.ReceivingAmount.Equal(w.ReceivingAmount) {
				t.Errorf("payout %d amounts: %+v", w.Inquiries, got)
			}
			got.SendingAmount, got.Rate, got.GrossFiat, got.ReceivingAmount = w.SendingAmount, w.Rate, w.GrossFiat, w.ReceivingAmount
			got.Fees = w.Fees
			if got != w {
				t.Errorf("payout %s after the migration:\n got  %+v\n want %+v", w.ClientReferenceID, got, w)
			}
		}
		gq, err := tx.Quotation(ctx, q.OrgID, q.ID)
		if err != nil {
			return err
		}
		if gq.PayoutID != ps[3].ID {
			t.Errorf("quotation linked to %s, want %s", gq.PayoutID, ps[3].ID)
		}
		js, err := tx.PayoutJournals(ctx, q.OrgID, ps[3].ID)
		if err != nil {
			return err
		}
		if len(js) != 1 || js[0].ID != j.ID {
			t.Errorf("journals of the paid payout: %+v", js)
		}
		// One job per payout and event: the earliest, the lower id on a tie.
		for _, c := range []struct {
			kind offramp.JobKind
			ref  uuid.UUID
			want []uuid.UUID
		}{
			{offramp.JobProcessPayout, pay, []uuid.UUID{jid(0x10)}},
			{offramp.JobDeliverWebhook, event, []uuid.UUID{jid(0x60)}},
			{offramp.JobVerifyKYC, customer, []uuid.UUID{jid(0x70), jid(0x71)}},
			{offramp.JobProcessPayout, ps[6].ID, []uuid.UUID{jid(0x80)}},
		} {
			got, err := tx.Jobs(ctx, c.kind, c.ref)
			if err != nil {
				return err
			}
			var ids []uuid.UUID
			for _, j := range got {
				ids = append(ids, j.ID)
			}
			if !slices.Equal(ids, c.want) {
				t.Errorf("%s jobs of %s: %v, want %v", c.kind, c.ref, ids, c.want)
			}
		}
		leased, err := tx.Jobs(ctx, offramp.JobProcessPayout, ps[6].ID)
		if err != nil {
			return err
		}
		if leased[0].Lease != "runner" || leased[0].Attempts != 2 {
			t.Errorf("the leased job lost its lease: %+v", leased[0])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Foreign keys are enforced, against the rebuilt payouts; the new
	// rules hold.
	err = s.Update(ctx, func(tx offramp.Tx) error {
		return tx.AppendJournal(ctx, offramp.Journal{ID: uuid.New(), OrgID: q.OrgID, PayoutID: uuid.New(), Kind: "payout_paid",
			CreatedAt: t0, Postings: j.Postings})
	})
	if !errors.Is(err, offramp.ErrNotFound) {
		t.Fatalf("journal of a missing payout: %v, want a foreign key refusal", err)
	}
	err = s.Update(ctx, func(tx offramp.Tx) error {
		return tx.AppendJournal(ctx, offramp.Journal{ID: uuid.New(), OrgID: q.OrgID, PayoutID: ps[0].ID, Kind: "payout_initiated",
			CreatedAt: t0, Postings: j.Postings})
	})
	if err != nil {
		t.Fatalf("journal of a migrated payout: %v", err)
	}
	paid := want[0]
	paid.Status, paid.Phase, paid.UTR = offramp.PayoutSuccess, offramp.PhasePaid, "UTR000001"
	err = s.Update(ctx, func(tx offramp.Tx) error { return tx.UpdatePayout(ctx, paid, want[0].Status, want[0].Phase) })
	wantCheck(t, "SUCCESS without paid_at after the migration", err, "payouts_paid_at_check")
	dup := jobs[0]
	dup.ID = uuid.New()
	err = s.Update(ctx, func(tx offramp.Tx) error { return tx.EnqueueJob(ctx, dup) })
	if offramp.ErrorCode(err) != offramp.CodeConflict {
		t.Fatalf("a second payout job after the migration: %v, want a conflict", err)
	}

	// Down to 00003 with data and up again.
	if _, err := provider(t, s).DownTo(ctx, 3); err != nil {
		t.Fatalf("down to 00003: %v", err)
	}
	if fk := pragmaInt(t, s, "foreign_keys"); fk != 1 {
		t.Fatalf("PRAGMA foreign_keys = %d after going down, want 1", fk)
	}
	wantNoForeignKeyViolations(t, s)
	var n int
	if err := s.wdb.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM payouts) + (SELECT COUNT(*) FROM sqlite_schema WHERE name = 'audit_log')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ps) {
		t.Fatalf("after going down: %d payouts (and audit_log), want %d payouts and no audit_log", n, len(ps))
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if got, err := s.VerifyKey(ctx); err != nil || got == 0 {
		t.Fatalf("VerifyKey after down and up: %d, %v", got, err)
	}
}

// TestMigrate00004Refuses: a payout that breaks a rule of 00004 (here a
// SUCCESS without its UTR) stops the migration, which names the rule and
// leaves the database at 00003, unchanged, with the write connection out
// of the migration's transaction and foreign keys on. Once the row is
// repaired, the migration runs.
func TestMigrate00004Refuses(t *testing.T) {
	ctx := t.Context()
	s, q := at00003(t)
	good := payoutOf(q, 1, offramp.PayoutProcessing, offramp.PhaseQueued)
	bad := payoutOf(q, 2, offramp.PayoutSuccess, offramp.PhasePaid)
	insertPayout00003(t, s, good)
	insertPayout00003(t, s, bad)

	err := s.Migrate(ctx)
	if err == nil || !strings.Contains(err.Error(), "payouts_success_utr_check") {
		t.Fatalf("Migrate over a SUCCESS payout without UTR: %v, want payouts_success_utr_check to refuse it", err)
	}
	if v := dbVersion(t, provider(t, s)); v != 3 {
		t.Fatalf("version after the failed migration: %d", v)
	}
	if fk := pragmaInt(t, s, "foreign_keys"); fk != 1 {
		t.Fatalf("PRAGMA foreign_keys = %d after the failed migration, want 1", fk)
	}
	if left := queryStrings(t, s.wdb, `SELECT name FROM sqlite_schema WHERE name LIKE '%_new' OR name = 'audit_log'`); len(left) != 0 {
		t.Fatalf("the failed migration left %v", left)
	}
	var n int
	if err := s.wdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM payouts`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("payouts after the failed migration: %d, %v", n, err)
	}
	// The connection is not stuck in the migration's transaction: a write
	// commits (a reader on another connection sees it).
	if _, err := s.wdb.ExecContext(ctx, `UPDATE payouts SET utr = 'UTR000002' WHERE id = ?`, bad.ID); err != nil {
		t.Fatal(err)
	}
	var utr string
	if err := s.rdb.QueryRowContext(ctx, `SELECT utr FROM payouts WHERE id = ?`, bad.ID).Scan(&utr); err != nil || utr != "UTR000002" {
		t.Fatalf("repair not committed: %q, %v", utr, err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate after the repair: %v", err)
	}
	if fk := pragmaInt(t, s, "foreign_keys"); fk != 1 {
		t.Fatalf("PRAGMA foreign_keys = %d after the migration, want 1", fk)
	}
	err = s.View(ctx, func(tx offramp.ReadTx) error {
		got, err := tx.Payout(ctx, bad.OrgID, bad.ID)
		if err == nil && (got.UTR != "UTR000002" || got.PaidAt != bad.UpdatedAt) {
			t.Errorf("repaired payout after the migration: %+v", got)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
