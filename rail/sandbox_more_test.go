package rail

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offramp/offramp"
)

const testPending = 10 * time.Minute

func TestPending6666PaysAfterPending(t *testing.T) {
	clk := newFakeClock()
	s, _ := openTest(t, SandboxOptions{Settle: testSettle, Pending: testPending, Clock: clk})
	tr := transfer("ref-pending", "1234566666")
	if res := mustSubmit(t, s, tr); res != (offramp.RailResult{Status: offramp.RailAccepted}) {
		t.Fatalf("Submit = %+v, want ACCEPTED", res)
	}
	// Settle means nothing to it: it stays ACCEPTED for Pending.
	for _, step := range []time.Duration{testSettle, time.Minute, testPending - time.Minute - testSettle - time.Nanosecond} {
		clk.Advance(step)
		if res := mustInquire(t, s, tr.Reference); res != (offramp.RailResult{Status: offramp.RailAccepted}) {
			t.Fatalf("Inquire before Pending = %+v, want ACCEPTED", res)
		}
	}
	if res := mustSubmit(t, s, tr); res.Status != offramp.RailAccepted {
		t.Fatalf("repeated Submit while pending = %+v, want ACCEPTED", res)
	}
	clk.Advance(time.Nanosecond)
	paid := mustInquire(t, s, tr.Reference)
	if paid.Status != offramp.RailSuccess || !utrPattern.MatchString(paid.UTR) {
		t.Fatalf("Inquire at Pending = %+v, want SUCCESS with a 12-digit UTR", paid)
	}
	clk.Advance(24 * time.Hour)
	if again := mustInquire(t, s, tr.Reference); again != paid {
		t.Fatalf("Inquire a day later = %+v, want %+v", again, paid)
	}
	wantCount(t, "Transfers", s.Transfers, tr.Reference, 1)
}

func TestDefaultPendingIsTenMinutes(t *testing.T) {
	clk := newFakeClock()
	s, _ := openTest(t, SandboxOptions{Clock: clk})
	mustSubmit(t, s, transfer("ref-pending", "6666"))
	clk.Advance(10*time.Minute - time.Nanosecond)
	if res := mustInquire(t, s, "ref-pending"); res.Status != offramp.RailAccepted {
		t.Fatalf("Inquire just before 10 min = %+v, want ACCEPTED", res)
	}
	clk.Advance(time.Nanosecond)
	if res := mustInquire(t, s, "ref-pending"); res.Status != offramp.RailSuccess {
		t.Fatalf("Inquire at 10 min = %+v, want SUCCESS", res)
	}
}

func TestReversed7777(t *testing.T) {
	clk := newFakeClock()
	s, _ := openTest(t, SandboxOptions{Settle: testSettle, Pending: testPending, Clock: clk})
	tr := transfer("ref-reverse", "1234567777")
	if res := mustSubmit(t, s, tr); res.Status != offramp.RailAccepted {
		t.Fatalf("Submit = %+v, want ACCEPTED", res)
	}
	clk.Advance(testSettle)
	paid := mustInquire(t, s, tr.Reference)
	if paid.Status != offramp.RailSuccess || !utrPattern.MatchString(paid.UTR) {
		t.Fatalf("Inquire at Settle = %+v, want SUCCESS with a UTR", paid)
	}
	clk.Advance(testPending - time.Nanosecond)
	if res := mustInquire(t, s, tr.Reference); res != paid {
		t.Fatalf("Inquire just before the reversal = %+v, want %+v", res, paid)
	}
	clk.Advance(time.Nanosecond)
	want := offramp.RailResult{Status: offramp.RailReversed, UTR: paid.UTR, Reason: ReasonAccountClosed}
	if res := mustInquire(t, s, tr.Reference); res != want {
		t.Fatalf("Inquire at Settle+Pending = %+v, want %+v", res, want)
	}
	clk.Advance(30 * 24 * time.Hour)
	if res := mustInquire(t, s, tr.Reference); res != want {
		t.Fatalf("Inquire a month later = %+v, want %+v", res, want)
	}
	if res := mustSubmit(t, s, transfer(tr.Reference, "123456789")); res != want {
		t.Fatalf("repeated Submit = %+v, want %+v", res, want)
	}
	wantCount(t, "Transfers", s.Transfers, tr.Reference, 1)

	var settledAt, reversedAt sql.NullInt64
	if err := s.r.QueryRow(`SELECT settled_at, reversed_at FROM transfers WHERE reference = ?`, tr.Reference).Scan(&settledAt, &reversedAt); err != nil {
		t.Fatal(err)
	}
	if !settledAt.Valid || !reversedAt.Valid || reversedAt.Int64 <= settledAt.Int64 {
		t.Fatalf("settled_at %v, reversed_at %v: want both, the reversal later", settledAt, reversedAt)
	}
}

// TestReversed7777FirstSeenLate: a transfer nobody looked at until after
// its reversal is paid and reversed in one step, with a UTR.
func TestReversed7777FirstSeenLate(t *testing.T) {
	clk := newFakeClock()
	s, _ := openTest(t, SandboxOptions{Settle: testSettle, Pending: testPending, Clock: clk})
	mustSubmit(t, s, transfer("ref-late", "7777"))
	clk.Advance(testSettle + testPending)
	res := mustInquire(t, s, "ref-late")
	if res.Status != offramp.RailReversed || !utrPattern.MatchString(res.UTR) || res.Reason != ReasonAccountClosed {
		t.Fatalf("Inquire = %+v, want REVERSED with a UTR and %s", res, ReasonAccountClosed)
	}
	if again := mustInquire(t, s, "ref-late"); again != res {
		t.Fatalf("second Inquire = %+v, want %+v", again, res)
	}
}

// TestSchemaChecks: the books refuse rows that break the bank's
// invariants, whatever code writes them.
func TestSchemaChecks(t *testing.T) {
	s, _ := openTest(t, SandboxOptions{})
	insert := `INSERT INTO transfers (reference, account_number, ifsc, account_name, amount, currency, method, behaviour, status, reason, utr, accepted_at, settled_at, reversed_at)
		VALUES ('r', '1', 'HDFC0001234', 'A', '1.00', 'INR', 'IMPS', ?, ?, ?, ?, 0, ?, ?)`
	for name, args := range map[string][]any{
		"reversed without UTR":    {"REVERSES", "REVERSED", "X", nil, 1, 2},
		"reversed without reason": {"REVERSES", "REVERSED", "", "123456789012", 1, 2},
		"reversed without time":   {"REVERSES", "REVERSED", "X", "123456789012", 1, nil},
		"rejected without reason": {"REJECTED", "REJECTED", "", nil, nil, nil},
		"success without settled": {"ORDINARY", "SUCCESS", "", "123456789012", nil, nil},
		"accepted with reason":    {"ORDINARY", "ACCEPTED", "X", nil, nil, nil},
		"unknown status":          {"ORDINARY", "PAID", "", nil, nil, nil},
		"unknown behaviour":       {"ODD", "ACCEPTED", "", nil, nil, nil},
	} {
		if _, err := s.w.Exec(insert, args...); err == nil {
			t.Errorf("%s: insert accepted, want a CHECK violation", name)
			s.w.Exec(`DELETE FROM transfers`)
		}
	}
	if _, err := s.w.Exec(insert, "REVERSES", "REVERSED", "X", "123456789012", 1, 2); err != nil {
		t.Fatalf("a valid REVERSED row: %v", err)
	}
}

// schemaV0 is the books' first layout, as released before REVERSED, with
// no user_version.
const schemaV0 = `
CREATE TABLE IF NOT EXISTS transfers (
	reference      TEXT PRIMARY KEY,
	account_number TEXT NOT NULL,
	ifsc           TEXT NOT NULL,
	account_name   TEXT NOT NULL,
	amount         TEXT NOT NULL,  -- exact decimal text, never a float
	currency       TEXT NOT NULL,
	method         TEXT NOT NULL,
	behaviour      TEXT NOT NULL,
	status         TEXT NOT NULL CHECK (status IN ('ACCEPTED', 'SUCCESS', 'REJECTED')),
	reason         TEXT NOT NULL DEFAULT '',
	utr            TEXT UNIQUE CHECK (utr IS NULL OR (length(utr) = 12 AND utr NOT GLOB '*[^0-9]*')),
	accepted_at    INTEGER NOT NULL, -- Unix nanoseconds on the sandbox clock
	settled_at     INTEGER,
	CHECK ((status = 'SUCCESS') = (utr IS NOT NULL))
) STRICT;
CREATE TABLE IF NOT EXISTS submit_calls (
	reference TEXT PRIMARY KEY,
	calls     INTEGER NOT NULL
) STRICT;
`

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

func userVersion(t *testing.T, db *sql.DB) int {
	t.Helper()
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigratesVersion0Books(t *testing.T) {
	clk := newFakeClock()
	path := filepath.Join(t.TempDir(), "bank.db")
	at := clk.Now().UnixNano()

	old := rawDB(t, path)
	if _, err := old.Exec(schemaV0); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`INSERT INTO transfers VALUES ('old-accepted', '123456789', 'HDFC0001234', 'Asha Rao', '10.00', 'INR', 'IMPS', 'ORDINARY', 'ACCEPTED', '', NULL, ?, NULL)`,
		`INSERT INTO transfers VALUES ('old-paid', '123456789', 'HDFC0001234', 'Asha Rao', '99999999999.99', 'INR', 'IMPS', 'ORDINARY', 'SUCCESS', '', '000011112222', ?, ?)`,
		`INSERT INTO transfers VALUES ('old-rejected', '9876543333', 'HDFC0001234', 'Asha Rao', '1.00', 'INR', 'IMPS', 'REJECTED', 'REJECTED', 'BENEFICIARY_BANK_REJECTED', NULL, ?, NULL)`,
		`INSERT INTO transfers VALUES ('old-5555', '2222225555', 'HDFC0001234', 'Asha Rao', '1.00', 'INR', 'IMPS', 'NO_ANSWER_NEVER_SETTLES', 'ACCEPTED', '', NULL, ?, NULL)`,
		`INSERT INTO submit_calls VALUES ('old-paid', 3)`,
	} {
		args := []any{}
		for range strings.Count(stmt, "?") {
			args = append(args, at)
		}
		if _, err := old.Exec(stmt, args...); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	// The old layout could not hold a reversal: that is why it migrates.
	if _, err := old.Exec(`UPDATE transfers SET status = 'REVERSED', reason = 'X' WHERE reference = 'old-paid'`); err == nil {
		t.Fatal("version 0 books accepted REVERSED; the test's old schema is wrong")
	}
	if v := userVersion(t, old); v != 0 {
		t.Fatalf("old books user_version = %d, want 0", v)
	}
	old.Close()

	s, err := OpenSandbox(path, SandboxOptions{Settle: testSettle, Pending: testPending, Clock: clk})
	if err != nil {
		t.Fatalf("OpenSandbox on version 0 books: %v", err)
	}
	defer s.Close()
	if v := userVersion(t, s.r); v != schemaVersion {
		t.Fatalf("user_version after migration = %d, want %d", v, schemaVersion)
	}
	if total, err := s.TotalTransfers(context.Background()); err != nil || total != 4 {
		t.Fatalf("TotalTransfers after migration = %d, %v; want 4", total, err)
	}
	for ref, want := range map[string]offramp.RailResult{
		"old-accepted": {Status: offramp.RailAccepted},
		"old-paid":     {Status: offramp.RailSuccess, UTR: "000011112222"},
		"old-rejected": {Status: offramp.RailRejected, Reason: offramp.ReasonBeneficiaryBankRejected},
		"old-5555":     {Status: offramp.RailAccepted},
	} {
		if res := mustInquire(t, s, ref); res != want {
			t.Errorf("Inquire(%s) after migration = %+v, want %+v", ref, res, want)
		}
	}
	wantCount(t, "SubmitCalls", s.SubmitCalls, "old-paid", 3)
	var amount string
	if err := s.r.QueryRow(`SELECT amount FROM transfers WHERE reference = 'old-paid'`).Scan(&amount); err != nil || amount != "99999999999.99" {
		t.Fatalf("amount after migration = %q, %v; want 99999999999.99", amount, err)
	}
	// The migrated books settle old transfers and hold reversals.
	clk.Advance(testSettle)
	if res := mustInquire(t, s, "old-accepted"); res.Status != offramp.RailSuccess {
		t.Fatalf("old ACCEPTED transfer after Settle = %+v, want SUCCESS", res)
	}
	mustSubmit(t, s, transfer("new-reverse", "7777"))
	clk.Advance(testSettle + testPending)
	if res := mustInquire(t, s, "new-reverse"); res.Status != offramp.RailReversed {
		t.Fatalf("7777 on migrated books = %+v, want REVERSED", res)
	}
	if res := mustSubmit(t, s, transfer("old-paid", "123456789")); res != (offramp.RailResult{Status: offramp.RailSuccess, UTR: "000011112222"}) {
		t.Fatalf("resubmit of a migrated transfer = %+v, want its SUCCESS", res)
	}
	wantCount(t, "Transfers", s.Transfers, "old-paid", 1)

	// Opening again does not migrate again.
	s.Close()
	s2, err := OpenSandbox(path, SandboxOptions{Settle: testSettle, Pending: testPending, Clock: clk})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	if total, err := s2.TotalTransfers(context.Background()); err != nil || total != 5 {
		t.Fatalf("TotalTransfers after reopen = %d, %v; want 5", total, err)
	}
}

func TestFreshBooksHaveCurrentVersion(t *testing.T) {
	s, _ := openTest(t, SandboxOptions{})
	if v := userVersion(t, s.r); v != schemaVersion {
		t.Fatalf("user_version = %d, want %d", v, schemaVersion)
	}
}

func TestRefusesNewerBooks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bank.db")
	s, err := OpenSandbox(path, SandboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustSubmit(t, s, transfer("ref-kept", "123456789"))
	s.Close()
	db := rawDB(t, path)
	if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := OpenSandbox(path, SandboxOptions{}); err == nil {
		s.Close()
		t.Fatal("OpenSandbox on books from a newer version succeeded, want an error")
	}
	db = rawDB(t, path)
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM transfers`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("transfers after the refused open = %d, %v; want 1", n, err)
	}
}
