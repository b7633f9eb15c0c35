package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/vault"
)

func provider(t *testing.T, s *Store) *goose.Provider {
	t.Helper()
	sub, err := fs.Sub(migrationsFS, s.d.migrationsDir())
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(s.d.gooseDialect(), s.wdb, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func dbVersion(t *testing.T, p *goose.Provider) int64 {
	t.Helper()
	v, err := p.GetDBVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMigrateOverExistingData: a database created by 00001 and holding
// data gets 00002 without losing or breaking anything, and the new tables
// work with the rows that were already there. 00002 also goes down and up
// again with data in its tables.
func TestMigrateOverExistingData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(ctx, path, testVault(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := provider(t, s)
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if v := dbVersion(t, p); v != 1 {
		t.Fatalf("version after UpTo(1): %d", v)
	}

	// Data of every 00001 table.
	org := offramp.Org{ID: uuid.New(), Name: "Old", Env: offramp.EnvSandbox, APIKey: "key_old", APISecret: "sk_old", CreatedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := offramp.Customer{ID: uuid.New(), OrgID: org.ID, ClientReferenceID: "cust-1", FullName: "Old Customer", Email: "old@example.com",
		Phone: "+911234567890", Country: "IND", Status: offramp.CustomerVerified, CreatedAt: org.CreatedAt, UpdatedAt: org.CreatedAt,
		KYC: &offramp.KYC{FullName: "Old Customer", TaxNumber: "ABCDE1234F", DocumentNumber: "P1234567", SubmittedAt: org.CreatedAt}}
	bank := offramp.BankAccount{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, Type: offramp.BankAccountDetails,
		AccountNumber: "501000000001", IFSC: "HDFC0001234", AccountName: "Old Customer", Status: offramp.BankVerified,
		CreatedAt: org.CreatedAt, UpdatedAt: org.CreatedAt}
	vpa := offramp.BankAccount{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, Type: offramp.BankVPA,
		VPA: "old@okhdfc", AccountName: "Old Customer", Status: offramp.BankProcessing, CreatedAt: org.CreatedAt, UpdatedAt: org.CreatedAt}
	// The org row is written with 00001's columns directly: the current
	// CreateOrg writes its key into api_keys (00008).
	insertOrg00007(t, s, org)
	err = s.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.CreateCustomer(ctx, c); err != nil {
			return err
		}
		if err := tx.CreateBankAccount(ctx, bank); err != nil {
			return err
		}
		if err := tx.CreateBankAccount(ctx, vpa); err != nil {
			return err
		}
		if _, err := tx.AppendEvent(ctx, offramp.Event{OrgID: org.ID, ObjectType: offramp.ObjectBank, ObjectID: bank.ID, Event: "VERIFIED"}); err != nil {
			return err
		}
		if err := tx.EnqueueJob(ctx, offramp.Job{OrgID: org.ID, Kind: offramp.JobVerifyBank, RefID: vpa.ID, RunAt: org.CreatedAt}); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// 00001's used_signatures: a record without its request.
	if _, err := s.wdb.ExecContext(ctx, s.d.rebind(`INSERT INTO used_signatures (org_id, signature_hash, expires_at) VALUES (?, ?, ?)`),
		org.ID.String(), signatureHash("sig"), s.d.timeArg(org.CreatedAt.Add(time.Hour).UTC())); err != nil {
		t.Fatal(err)
	}

	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate over 00001 with data: %v", err)
	}
	if v := dbVersion(t, p); v < 2 {
		t.Fatalf("version after Migrate: %d", v)
	}

	checkOld := func(when string) {
		t.Helper()
		err := s.View(ctx, func(tx offramp.ReadTx) error {
			got, err := tx.Customer(ctx, org.ID, c.ID)
			if err != nil {
				return err
			}
			if got.FullName != c.FullName || got.KYC == nil || got.KYC.TaxNumber != c.KYC.TaxNumber {
				t.Errorf("%s: customer changed: %+v", when, got)
			}
			gb, err := tx.BankAccount(ctx, org.ID, bank.ID)
			if err != nil {
				return err
			}
			if gb != bank {
				t.Errorf("%s: bank account changed: %+v", when, gb)
			}
			if id, err := tx.BankAccountIDBy(ctx, org.ID, "vpa", vpa.VPA); err != nil || id != vpa.ID {
				t.Errorf("%s: VPA lookup: %v %v", when, id, err)
			}
			evs, err := tx.Events(ctx, org.ID, offramp.ObjectBank, bank.ID)
			if err != nil {
				return err
			}
			if len(evs) != 1 {
				t.Errorf("%s: events: %+v", when, evs)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	checkOld("after 00002")

	// The new tables take rows referring to the old ones.
	q := offramp.Quotation{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, BankID: bank.ID, Asset: "USDT", Fiat: "INR", PaymentMethod: "IMPS",
		SendingAmount: decimal.RequireFromString("50"), Rate: decimal.RequireFromString("88.92"), GrossFiat: decimal.RequireFromString("4446.00"),
		ReceivingAmount: decimal.RequireFromString("4144.60"), Status: offramp.QuotationUnlinked, ExpiresAt: time.Now().Add(time.Minute)}
	po := offramp.Payout{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, BankID: bank.ID, QuotationID: q.ID, ClientReferenceID: c.ClientReferenceID,
		Asset: "USDT", Fiat: "INR", PaymentMethod: "IMPS", SendingAmount: q.SendingAmount, Rate: q.Rate, GrossFiat: q.GrossFiat,
		ReceivingAmount: q.ReceivingAmount, Status: offramp.PayoutProcessing, Phase: offramp.PhaseQueued, RailReference: "OFR1", LimitDay: "2025-03-14"}
	j := offramp.Journal{OrgID: org.ID, PayoutID: po.ID, Kind: "payout_initiated", Postings: []offramp.Posting{
		{Account: offramp.AccountCustomerPayable, Currency: "INR", Amount: decimal.RequireFromString("-4144.60")},
		{Account: offramp.AccountFXConversion, Currency: "INR", Amount: decimal.RequireFromString("4144.60")},
	}}
	writeNew := func() error {
		return s.Update(ctx, func(tx offramp.Tx) error {
			if err := tx.CreateQuotation(ctx, q); err != nil {
				return err
			}
			if err := tx.CreatePayout(ctx, po); err != nil {
				return err
			}
			if err := tx.LinkQuotation(ctx, org.ID, q.ID, po.ID); err != nil {
				return err
			}
			if err := tx.AddLimitUsage(ctx, org.ID, c.ID, po.LimitDay, po.ReceivingAmount); err != nil {
				return err
			}
			if err := tx.CreateEDD(ctx, offramp.EDD{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, Status: offramp.EDDProcessing}); err != nil {
				return err
			}
			if err := tx.PutIdempotency(ctx, offramp.IdempotencyRecord{OrgID: org.ID, Key: "k", RequestHash: "h", PayoutID: po.ID}); err != nil {
				return err
			}
			return tx.AppendJournal(ctx, j)
		})
	}
	if err := writeNew(); err != nil {
		t.Fatalf("new tables with old rows: %v", err)
	}
	// The unique index 00002 adds to bank_accounts does not stand in the
	// way of new accounts.
	err = s.Update(ctx, func(tx offramp.Tx) error {
		b2 := bank
		b2.ID, b2.AccountNumber = uuid.New(), "501000000002"
		return tx.CreateBankAccount(ctx, b2)
	})
	if err != nil {
		t.Fatal(err)
	}

	// Down to 00001 with data in the new tables, and up again.
	if _, err := p.DownTo(ctx, 1); err != nil {
		t.Fatalf("down to 00001: %v", err)
	}
	if v := dbVersion(t, p); v != 1 {
		t.Fatalf("version after DownTo(1): %d", v)
	}
	var n int
	if err := s.wdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE name IN
		('quotations', 'payouts', 'limit_usage', 'edds', 'idempotency_keys', 'journals', 'postings',
		 'bank_accounts_org_customer_id_key')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d objects of 00002 left after going down", n)
	}
	// The store's code reads the current schema (a customer now carries
	// its EDD state), so at 00001 the old rows are counted directly.
	var customers, banks int
	if err := s.wdb.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM bank_accounts)`).Scan(&customers, &banks); err != nil {
		t.Fatal(err)
	}
	if customers != 1 || banks < 2 {
		t.Fatalf("after 00002 down: %d customers and %d bank accounts", customers, banks)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	checkOld("after 00002 up again")
	if err := writeNew(); err != nil {
		t.Fatalf("new tables after down and up: %v", err)
	}
	if err := s.wdb.QueryRowContext(ctx, `PRAGMA foreign_key_check`).Scan(); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("foreign_key_check: %v", err)
	}
}

// TestDecimalsStoredAsText: amounts are exact text in plain notation, in
// the columns and in the fees JSON, whatever package decimal's global
// formatting switches say.
func TestDecimalsStoredAsText(t *testing.T) {
	defer func(trim, sci bool) { decimal.TrimTrailingZeros, decimal.UseScientificNotation = trim, sci }(decimal.TrimTrailingZeros, decimal.UseScientificNotation)
	decimal.TrimTrailingZeros, decimal.UseScientificNotation = true, true

	for in, want := range map[string]string{
		"4144.60": "4144.60", "0.000001": "0.000001", "12345678901.23": "12345678901.23", "0": "0", "0.00": "0.00",
		"-0.50": "-0.50", "1e3": "1000", "1.5E-7": "0.00000015", "1500": "1500",
	} {
		if got := decText(decimal.RequireFromString(in)); got != want {
			t.Errorf("decText(%s) = %q, want %q", in, got, want)
		}
	}
	if got := decText(decimal.New(15, 2)); got != "1500" {
		t.Errorf("decText(15e2) = %q", got)
	}
	if got := decText(decimal.Decimal{}); got != "0" {
		t.Errorf("decText(zero value) = %q", got)
	}

	s, _ := openTemp(t)
	ctx := t.Context()
	org, c, bank := seedPayee(t, s)
	q := offramp.Quotation{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, BankID: bank.ID, Asset: "USDT", Fiat: "INR", PaymentMethod: "IMPS",
		SendingAmount: decimal.RequireFromString("1500"), Rate: decimal.RequireFromString("88.92"), GrossFiat: decimal.RequireFromString("133380.00"),
		ReceivingAmount: decimal.RequireFromString("12345678901.23"), Fees: offramp.Fees{Rounding: decimal.RequireFromString("0.000001"), TDS: decimal.RequireFromString("4144.60")},
		Status: offramp.QuotationUnlinked, ExpiresAt: time.Now()}
	err := s.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.CreateQuotation(ctx, q); err != nil {
			return err
		}
		return tx.AddLimitUsage(ctx, org.ID, c.ID, "2025-03-14", decimal.RequireFromString("4144.60"))
	})
	if err != nil {
		t.Fatal(err)
	}
	var types, sending, gross, receiving, fees, used string
	err = s.wdb.QueryRowContext(ctx, `SELECT typeof(sending_amount) || typeof(rate) || typeof(gross_fiat) || typeof(receiving_amount),
		sending_amount, gross_fiat, receiving_amount, fees, (SELECT used FROM limit_usage) FROM quotations`).
		Scan(&types, &sending, &gross, &receiving, &fees, &used)
	if err != nil {
		t.Fatal(err)
	}
	if types != "texttexttexttext" || sending != "1500" || gross != "133380.00" || receiving != "12345678901.23" || used != "4144.60" {
		t.Fatalf("stored amounts: %s %q %q %q %q", types, sending, gross, receiving, used)
	}
	for _, frag := range []string{`"rounding":"0.000001"`, `"tds":"4144.60"`, `"pg_fee":"0"`} {
		if !strings.Contains(fees, frag) {
			t.Errorf("fees JSON %s lacks %s", fees, frag)
		}
	}
	// A float (from a driver or a column that is not text) is an error on
	// read, not a rounded amount.
	var sc decimal.Decimal
	if err := (decCol{&sc}).Scan(4144.6); err == nil {
		t.Fatal("a float scanned into a decimal")
	}
}

// seedPayee creates an organization, a customer and a bank account.
func seedPayee(t *testing.T, s *Store) (offramp.Org, offramp.Customer, offramp.BankAccount) {
	t.Helper()
	org := offramp.Org{ID: uuid.New(), Name: "Exchange", Env: offramp.EnvSandbox, APIKey: "key_" + uuid.NewString(), APISecret: "s"}
	if err := s.Update(t.Context(), func(tx offramp.Tx) error { return tx.CreateOrg(t.Context(), org) }); err != nil {
		t.Fatal(err)
	}
	c, b := seedPayeeOf(t, s, org)
	return org, c, b
}

// seedPayeeOf creates a customer and a bank account of org.
func seedPayeeOf(t *testing.T, s *Store, org offramp.Org) (offramp.Customer, offramp.BankAccount) {
	t.Helper()
	ctx := t.Context()
	c := offramp.Customer{ID: uuid.New(), OrgID: org.ID, FullName: "Payee", Email: "p@example.com", Phone: "+910000000000", Status: offramp.CustomerVerified}
	b := offramp.BankAccount{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, Type: offramp.BankAccountDetails, AccountNumber: "5010099",
		IFSC: "HDFC0001234", AccountName: "Payee", Status: offramp.BankVerified}
	err := s.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.CreateCustomer(ctx, c); err != nil {
			return err
		}
		return tx.CreateBankAccount(ctx, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, b
}

// Canaries of the payout tables' sealed fields.
var payoutCanaries = []string{
	"198.51.100.217",            // IP address
	"CANARYDEVICE-5150",         // device id
	"CANARYINCOMESOURCE",        // EDD source of income
	"canary-statement-7c1e.pdf", // EDD bank statement URL
	"CanaryStmtPassw0rd",        // EDD bank statement password
	"canary-itr-91ab.pdf",       // EDD ITR URL
	"CanaryItrPassw0rd",         // EDD ITR password
	"Canary Auditreason",        // audit log reason
	"CANARYAUDITDETAIL",         // audit log details
}

func TestPayoutPIICanary(t *testing.T) {
	s, path := openTemp(t)
	ctx := t.Context()
	org, c, bank := seedPayee(t, s)
	q := offramp.Quotation{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, BankID: bank.ID, Asset: "USDT", Fiat: "INR", PaymentMethod: "IMPS",
		SendingAmount: decimal.RequireFromString("50"), Rate: decimal.RequireFromString("88.92"), Status: offramp.QuotationUnlinked, ExpiresAt: time.Now(),
		Risk: offramp.RiskParameters{IPAddress: payoutCanaries[0], DeviceID: payoutCanaries[1], SuspiciousActivityReport: true}}
	e := offramp.EDD{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, Status: offramp.EDDProcessing, SourceOfIncome: payoutCanaries[2],
		BankStatementURLs: []string{"https://docs.example/" + payoutCanaries[3]}, BankStatementPasswords: []string{payoutCanaries[4]},
		ITRReportURLs: []string{"https://docs.example/" + payoutCanaries[5]}, ITRReportPasswords: []string{payoutCanaries[6]}, Declaration: true}
	err := s.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.CreateQuotation(ctx, q); err != nil {
			return err
		}
		if err := tx.CreateEDD(ctx, e); err != nil {
			return err
		}
		e.Status = offramp.EDDVerified
		if err := tx.UpdateEDD(ctx, e, offramp.EDDProcessing); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, offramp.AuditEntry{OrgID: org.ID, Actor: "ops@example.com", Action: "payout.resolve_paid",
			ObjectType: offramp.ObjectPayout, ObjectID: uuid.New(), Reason: "called " + payoutCanaries[7],
			Details: map[string]string{"account_holder": payoutCanaries[8]}})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx offramp.ReadTx) error {
		gq, err := tx.Quotation(ctx, org.ID, q.ID)
		if err != nil {
			return err
		}
		if gq.Risk != q.Risk {
			t.Errorf("risk parameters round trip: %+v", gq.Risk)
		}
		ge, err := tx.EDD(ctx, org.ID, e.ID)
		if err != nil {
			return err
		}
		if ge.ITRReportPasswords[0] != payoutCanaries[6] || ge.SourceOfIncome != payoutCanaries[2] {
			t.Errorf("EDD round trip: %+v", ge)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		files, _ := filepath.Glob(path + "*")
		var sawData bool
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, canary := range payoutCanaries {
				if bytes.Contains(b, []byte(canary)) {
					t.Errorf("%s: %s contains canary %q in clear", when, filepath.Base(f), canary)
				}
			}
			// Guard against a vacuous pass: a plaintext column of the rows.
			if bytes.Contains(b, []byte("88.92")) {
				sawData = true
			}
		}
		if !sawData {
			t.Errorf("%s: the files hold no quotation; the test is not reading the data", when)
		}
	}
	check("while open")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check("after close")
}

// TestPayoutSwappedCiphertextFails: sealed payout-table values are bound to
// their row and column.
func TestPayoutSwappedCiphertextFails(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	org, c, _ := seedPayee(t, s)
	a := offramp.EDD{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, Status: offramp.EDDProcessing, BankStatementPasswords: []string{"pw-a"}}
	b := a
	b.ID, b.BankStatementPasswords = uuid.New(), []string{"pw-b"}
	err := s.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.CreateEDD(ctx, a); err != nil {
			return err
		}
		return tx.CreateEDD(ctx, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Row a gets row b's passwords; row b gets its own URLs as passwords.
	if _, err := s.wdb.ExecContext(ctx, `UPDATE edds SET bank_statement_passwords =
		(SELECT bank_statement_passwords FROM edds WHERE id = ?) WHERE id = ?`, b.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.wdb.ExecContext(ctx, `UPDATE edds SET bank_statement_passwords = bank_statement_urls WHERE id = ?`, b.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []uuid.UUID{a.ID, b.ID} {
		err := s.View(ctx, func(tx offramp.ReadTx) error { _, err := tx.EDD(ctx, org.ID, id); return err })
		if !errors.Is(err, vault.ErrDecrypt) {
			t.Fatalf("read of a tampered EDD: %v, want vault.ErrDecrypt", err)
		}
		if strings.Contains(err.Error(), "pw-") {
			t.Errorf("error leaks a password: %v", err)
		}
	}
}

func TestCeilMicro(t *testing.T) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 5000, time.UTC)
	for in, want := range map[time.Time]time.Time{
		base:                        base,
		base.Add(1):                 base.Add(time.Microsecond),
		base.Add(999):               base.Add(time.Microsecond),
		base.Add(time.Microsecond):  base.Add(time.Microsecond),
		time.Unix(-1, 1).UTC():      time.Unix(-1, 1000).UTC(),
		time.Unix(0, 0).UTC():       time.Unix(0, 0).UTC(),
		base.Add(-1).In(time.Local): base,
	} {
		if got := ceilMicro(in); !got.Equal(want) {
			t.Errorf("ceilMicro(%v) = %v, want %v", in, got, want)
		}
	}
}

// TestLimitUsageLostUpdate: the limit counter's write is a compare-and-set
// on what was read, so a change made in between (impossible under SQLite's
// single writer, possible on an engine with concurrent writers) is
// ErrStale, not a lost update.
func TestLimitUsageLostUpdate(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	org, c, _ := seedPayee(t, s)
	err := s.Update(ctx, func(otx offramp.Tx) error {
		wt := otx.(*tx)
		if err := wt.AddLimitUsage(ctx, org.ID, c.ID, "2025-03-14", decimal.RequireFromString("10")); err != nil {
			return err
		}
		// Simulate the race: read, then somebody else writes, then write.
		racer := &racingQuerier{querier: wt.q, before: "UPDATE limit_usage", run: func(q querier) error {
			_, err := q.ExecContext(ctx, `UPDATE limit_usage SET used = '15'`)
			return err
		}}
		racy := &tx{s: wt.s, q: racer}
		err := racy.AddLimitUsage(ctx, org.ID, c.ID, "2025-03-14", decimal.RequireFromString("1"))
		if !errors.Is(err, offramp.ErrStale) {
			return fmt.Errorf("racing AddLimitUsage: %v, want ErrStale", err)
		}
		used, err := wt.LimitUsage(ctx, org.ID, c.ID, "2025-03-14")
		if err == nil && !used.Equal(decimal.RequireFromString("15")) {
			return fmt.Errorf("usage %s, want the racer's 15", used)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// racingQuerier runs run once, just before the first statement containing
// before.
type racingQuerier struct {
	querier
	before string
	run    func(querier) error
	done   bool
}

func (r *racingQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if !r.done && strings.Contains(query, r.before) {
		r.done = true
		if err := r.run(r.querier); err != nil {
			return nil, err
		}
	}
	return r.querier.ExecContext(ctx, query, args...)
}
