package sqlstore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/sqlstore/storetest"
	"github.com/offramp/offramp/vault"
)

func testVault(t *testing.T) *vault.Vault {
	t.Helper()
	v, err := vault.New(bytes.Repeat([]byte{42}, vault.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// openTemp opens and migrates a store on a fresh file; it is closed when
// the test ends.
func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "offramp.db")
	s, err := Open(t.Context(), path, testVault(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s, path
}

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) offramp.Store {
		s, _ := openTemp(t)
		return s
	})
}

func TestSQLitePragmas(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	for name, want := range map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2",
		"foreign_keys": "1",
		"busy_timeout": "5000",
		"query_only":   "0",
	} {
		var got string
		if err := s.wdb.QueryRowContext(ctx, "PRAGMA "+name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(got, want) {
			t.Errorf("write connection: PRAGMA %s = %s, want %s", name, got, want)
		}
	}
	for name, want := range map[string]string{
		"journal_mode": "wal",
		"query_only":   "1",
		"busy_timeout": "5000",
	} {
		var got string
		if err := s.rdb.QueryRowContext(ctx, "PRAGMA "+name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(got, want) {
			t.Errorf("read connection: PRAGMA %s = %s, want %s", name, got, want)
		}
	}
	if got := s.wdb.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("write pool allows %d connections, want 1", got)
	}

	// The read pool refuses writes even through a type assertion on the
	// ReadTx, because its connections are query_only.
	err := s.View(ctx, func(rtx offramp.ReadTx) error {
		return rtx.(offramp.Tx).CreateOrg(ctx, offramp.Org{ID: uuid.New(), APIKey: "k", APISecret: "s", Env: offramp.EnvSandbox})
	})
	if err == nil {
		t.Fatal("write through a View succeeded")
	}
}

func TestDatabaseFileMode(t *testing.T) {
	_, path := openTemp(t)
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}

func TestOpenDSNs(t *testing.T) {
	ctx := t.Context()
	v := testVault(t)
	// PostgreSQL URLs go to PostgreSQL: a server that is not there is
	// unavailable, a malformed URL invalid (and not quoted: it may hold a
	// password).
	for _, dsn := range []string{"postgres://u:pw@127.0.0.1:1/db?connect_timeout=5", "postgresql://127.0.0.1:1/db?connect_timeout=5", "POSTGRES://127.0.0.1:1/x?connect_timeout=5"} {
		_, err := Open(ctx, dsn, v, Options{})
		if offramp.ErrorCode(err) != offramp.CodeUnavailable {
			t.Errorf("Open(%q): %v, want CodeUnavailable", dsn, err)
		}
	}
	if _, err := Open(ctx, "postgres://u:s3cret@127.0.0.1:1/db?sslmode=bogus", v, Options{}); offramp.ErrorCode(err) != offramp.CodeInvalid || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open(malformed PostgreSQL URL): %v, want CodeInvalid without the password", err)
	}
	for _, dsn := range []string{"", ":memory:", "file::memory:", "sqlite::memory:", "file:x?mode=memory"} {
		if _, err := Open(ctx, dsn, v, Options{}); offramp.ErrorCode(err) != offramp.CodeInvalid {
			t.Errorf("Open(%q): %v, want CodeInvalid", dsn, err)
		}
	}
	if _, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"), nil, Options{}); err == nil {
		t.Error("Open without a vault: want error")
	}

	dir := t.TempDir()
	for name, dsn := range map[string]string{
		"plain":          filepath.Join(dir, "a.db"),
		"nested dir":     filepath.Join(dir, "sub", "dir", "b.db"),
		"sqlite: prefix": "sqlite:" + filepath.Join(dir, "c.db"),
		"sqlite://":      "sqlite://" + filepath.Join(dir, "d.db"),
		"file: URI":      "file:" + filepath.Join(dir, "e.db"),
		"file: + params": "file:" + filepath.Join(dir, "f.db") + "?cache=private",
	} {
		s, err := Open(ctx, dsn, v, Options{})
		if err != nil {
			t.Errorf("%s: Open(%q): %v", name, dsn, err)
			continue
		}
		if err := s.Migrate(ctx); err != nil {
			t.Errorf("%s: Migrate: %v", name, err)
		}
		org := offramp.Org{ID: uuid.New(), Name: "x", Env: offramp.EnvSandbox, APIKey: "k", APISecret: "s"}
		if err := s.Update(ctx, func(tx offramp.Tx) error { return tx.CreateOrg(ctx, org) }); err != nil {
			t.Errorf("%s: write: %v", name, err)
		}
		s.Close()
	}
	for _, f := range []string{"a.db", "sub/dir/b.db", "c.db", "d.db", "e.db", "f.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("database %s not created where expected: %v", f, err)
		}
	}

	// A DSN asking for weaker durability is refused, not silently obeyed.
	for _, params := range []string{"?_pragma=synchronous(OFF)", "?_synchronous=NORMAL", "?_journal_mode=DELETE"} {
		if s, err := Open(ctx, filepath.Join(dir, "weak.db")+params, v, Options{}); err == nil {
			s.Close()
			t.Errorf("Open with %s succeeded", params)
		}
	}
}

func TestMigrateIdempotentAndReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	v := testVault(t)
	s, err := Open(ctx, path, v, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	org := offramp.Org{ID: uuid.New(), Name: "x", Env: offramp.EnvSandbox, APIKey: "k", APISecret: "s3cret"}
	if err := s.Update(ctx, func(tx offramp.Tx) error { return tx.CreateOrg(ctx, org) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx offramp.Tx) error { return nil }); offramp.ErrorCode(err) != offramp.CodeUnavailable {
		t.Fatalf("Update after Close: %v", err)
	}

	s, err = Open(ctx, path, v, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx offramp.ReadTx) error {
		got, err := tx.OrgByAPIKey(ctx, "k")
		if err == nil && got.APISecret != "s3cret" {
			t.Errorf("secret after reopen: %q", got.APISecret)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// Another key cannot read the data: an error, not garbage.
	other, _ := vault.New(bytes.Repeat([]byte{1}, vault.KeySize))
	s2, err := Open(ctx, path, other, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	err = s2.View(ctx, func(tx offramp.ReadTx) error { _, err := tx.OrgByAPIKey(ctx, "k"); return err })
	if !errors.Is(err, vault.ErrDecrypt) {
		t.Fatalf("read with the wrong key: %v, want vault.ErrDecrypt", err)
	}
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func TestClockFillsZeroTimes(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2030, 1, 2, 3, 4, 5, 6007008, time.UTC)
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db"), testVault(t), Options{Clock: fixedClock{now}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	org := offramp.Org{ID: uuid.New(), Env: offramp.EnvSandbox, APIKey: "k", APISecret: "s"}
	var ev offramp.Event
	err = s.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.CreateOrg(ctx, org); err != nil {
			return err
		}
		var err error
		ev, err = tx.AppendEvent(ctx, offramp.Event{OrgID: org.ID, ObjectType: offramp.ObjectBank, ObjectID: uuid.New(), Event: "VERIFIED"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := now.Truncate(time.Microsecond)
	if ev.CreatedAt != want {
		t.Errorf("event CreatedAt %v, want %v", ev.CreatedAt, want)
	}
	err = s.View(ctx, func(tx offramp.ReadTx) error {
		o, err := tx.Org(ctx, org.ID)
		if err == nil && o.CreatedAt != want {
			t.Errorf("org CreatedAt %v, want %v", o.CreatedAt, want)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Canary values: if any of them shows up in the database files, a secret
// or personal field is stored in clear.
var canaries = []string{
	"CANARY1234567890",    // account number
	"ZZZZZ9999Z",          // tax number (PAN)
	"CANARYDOC77777",      // document number
	"canaryvpa@okcanary",  // VPA
	"sk_CANARYSECRET4242", // API secret
	"Canaryname Holder",   // names
	"42 Canary Street",    // address
	"31-12-1999",          // date of birth
	"CANARYPASSPORTDATA",  // inside KYC additional data
}

func TestPIICanary(t *testing.T) {
	ctx := t.Context()
	s, path := openTemp(t)
	org := offramp.Org{ID: uuid.New(), Name: "Exchange", Env: offramp.EnvSandbox, APIKey: "key_canary", APISecret: "sk_CANARYSECRET4242"}
	c := offramp.Customer{
		ID: uuid.New(), OrgID: org.ID, FullName: "Canaryname Holder", Email: "c@example.com", Phone: "+911111111111",
		Country: "IND", Status: offramp.CustomerProcessing,
		KYC: &offramp.KYC{
			FullName: "Canaryname Holder", FullAddress: "42 Canary Street", DOB: "31-12-1999",
			TaxNumber: "ZZZZZ9999Z", DocumentType: "PASSPORT", DocumentNumber: "CANARYDOC77777",
			DocumentAdditionalData: map[string]any{"mrz": "CANARYPASSPORTDATA"},
			AdditionalInfo:         map[string]any{"note": "CANARYPASSPORTDATA"},
		},
	}
	bank := offramp.BankAccount{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, Type: offramp.BankAccountDetails,
		AccountNumber: "CANARY1234567890", IFSC: "HDFC0001234", AccountName: "Canaryname Holder", Status: offramp.BankProcessing}
	vpa := offramp.BankAccount{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, Type: offramp.BankVPA,
		VPA: "canaryvpa@okcanary", AccountName: "Canaryname Holder", Status: offramp.BankProcessing}
	err := s.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.CreateOrg(ctx, org); err != nil {
			return err
		}
		if err := tx.CreateCustomer(ctx, c); err != nil {
			return err
		}
		// Update too, so the WAL holds more than one version of the rows.
		c.KYC.UpdateCount = 1
		if err := tx.UpdateCustomer(ctx, c, c.Status); err != nil {
			return err
		}
		if err := tx.CreateBankAccount(ctx, bank); err != nil {
			return err
		}
		return tx.CreateBankAccount(ctx, vpa)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The values are readable through the store...
	err = s.View(ctx, func(tx offramp.ReadTx) error {
		got, err := tx.BankAccount(ctx, org.ID, bank.ID)
		if err == nil && got.AccountNumber != bank.AccountNumber {
			t.Errorf("account number round trip: %q", got.AccountNumber)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// ...but not in the files: check the WAL while open (the commits live
	// there until a checkpoint), then everything after Close checkpoints.
	check := func(when string) {
		t.Helper()
		files, _ := filepath.Glob(path + "*")
		if len(files) == 0 {
			t.Fatalf("%s: no database files", when)
		}
		var sawWAL bool
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(f, "-wal") && len(b) > 0 {
				sawWAL = true
			}
			for _, canary := range canaries {
				if bytes.Contains(b, []byte(canary)) {
					t.Errorf("%s: %s contains canary %q in clear", when, filepath.Base(f), canary)
				}
			}
			// Guard against a vacuous pass: the plaintext API key and email
			// must be found, or the files were not the ones holding the data.
			if f == path && when == "after close" && (!bytes.Contains(b, []byte("key_canary")) || !bytes.Contains(b, []byte("c@example.com"))) {
				t.Errorf("%s: plaintext columns missing from %s; the test is not reading the data", when, filepath.Base(f))
			}
		}
		if when == "while open" && !sawWAL {
			t.Errorf("%s: no WAL content to check", when)
		}
	}
	check("while open")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check("after close")
}

func TestSwappedCiphertextFails(t *testing.T) {
	ctx := t.Context()
	s, _ := openTemp(t)
	org := offramp.Org{ID: uuid.New(), KeyID: uuid.New(), Env: offramp.EnvSandbox, APIKey: "k", APISecret: "s"}
	c := offramp.Customer{ID: uuid.New(), OrgID: org.ID, Email: "e", Phone: "p", Status: offramp.CustomerUnverified}
	a := offramp.BankAccount{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, Type: offramp.BankAccountDetails, AccountNumber: "111111111111", Status: offramp.BankProcessing}
	b := a
	b.ID, b.AccountNumber = uuid.New(), "222222222222"
	err := s.Update(ctx, func(tx offramp.Tx) error {
		for _, f := range []func() error{
			func() error { return tx.CreateOrg(ctx, org) },
			func() error { return tx.CreateCustomer(ctx, c) },
			func() error { return tx.CreateBankAccount(ctx, a) },
			func() error { return tx.CreateBankAccount(ctx, b) },
		} {
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// An attacker with write access to the file swaps the two ciphertexts.
	var ctA, ctB string
	if err := s.wdb.QueryRowContext(ctx, `SELECT account_number FROM bank_accounts WHERE id = ?`, a.ID).Scan(&ctA); err != nil {
		t.Fatal(err)
	}
	if err := s.wdb.QueryRowContext(ctx, `SELECT account_number FROM bank_accounts WHERE id = ?`, b.ID).Scan(&ctB); err != nil {
		t.Fatal(err)
	}
	for id, ct := range map[uuid.UUID]string{a.ID: ctB, b.ID: ctA} {
		if _, err := s.wdb.ExecContext(ctx, `UPDATE bank_accounts SET account_number = ? WHERE id = ?`, ct, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []uuid.UUID{a.ID, b.ID} {
		err := s.View(ctx, func(tx offramp.ReadTx) error {
			got, err := tx.BankAccount(ctx, org.ID, id)
			if err == nil {
				t.Errorf("read of a swapped row returned account number %q", got.AccountNumber)
			}
			return err
		})
		if !errors.Is(err, vault.ErrDecrypt) {
			t.Fatalf("read of a swapped row: %v, want vault.ErrDecrypt", err)
		}
		if strings.Contains(err.Error(), "111111111111") || strings.Contains(err.Error(), "222222222222") {
			t.Errorf("error leaks an account number: %v", err)
		}
	}
	// API secrets are bound to their key: swapping the secrets of two keys
	// of one organization fails both.
	k2 := offramp.APIKey{ID: uuid.New(), OrgID: org.ID, Key: "k2", Secret: "s2", Label: "second"}
	if err := s.Update(ctx, func(tx offramp.Tx) error { return tx.CreateAPIKey(ctx, k2) }); err != nil {
		t.Fatal(err)
	}
	var sk1, sk2 string
	if err := s.wdb.QueryRowContext(ctx, `SELECT (SELECT api_secret FROM api_keys WHERE id = ?), (SELECT api_secret FROM api_keys WHERE id = ?)`,
		org.KeyID, k2.ID).Scan(&sk1, &sk2); err != nil {
		t.Fatal(err)
	}
	for id, ct := range map[uuid.UUID]string{org.KeyID: sk2, k2.ID: sk1} {
		if _, err := s.wdb.ExecContext(ctx, `UPDATE api_keys SET api_secret = ? WHERE id = ?`, ct, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{org.APIKey, k2.Key} {
		err = s.View(ctx, func(tx offramp.ReadTx) error { _, err := tx.OrgByAPIKey(ctx, key); return err })
		if !errors.Is(err, vault.ErrDecrypt) {
			t.Errorf("read of a swapped API secret: %v, want vault.ErrDecrypt", err)
		}
	}
	// Moving a ciphertext to another column fails too.
	_, err = s.wdb.ExecContext(ctx, `UPDATE api_keys SET api_secret = (SELECT account_number FROM bank_accounts WHERE id = ?)`, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx offramp.ReadTx) error { _, err := tx.Org(ctx, org.ID); return err })
	if !errors.Is(err, vault.ErrDecrypt) {
		t.Errorf("read of a moved ciphertext: %v, want vault.ErrDecrypt", err)
	}
}

func TestCancelledUpdateReleasesWriter(t *testing.T) {
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	err := s.Update(ctx, func(tx offramp.Tx) error {
		cancel()
		_, err := tx.CountOrgs(ctx)
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	// The next Update gets the writer at once.
	ctx2, cancel2 := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel2()
	if err := s.Update(ctx2, func(tx offramp.Tx) error { _, err := tx.CountOrgs(ctx2); return err }); err != nil {
		t.Fatal(err)
	}
}

func TestPanicInUpdateRollsBack(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	org := offramp.Org{ID: uuid.New(), Env: offramp.EnvSandbox, APIKey: "k", APISecret: "s"}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic swallowed")
			}
		}()
		s.Update(ctx, func(tx offramp.Tx) error {
			if err := tx.CreateOrg(ctx, org); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	err := s.Update(ctx, func(tx offramp.Tx) error {
		n, err := tx.CountOrgs(ctx)
		if n != 0 {
			t.Errorf("org written by a panicking Update: %d", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRebindDollar(t *testing.T) {
	for _, q := range []struct{ in, want string }{
		{"SELECT ? , '?' , ?", "SELECT $1 , '?' , $2"},
		{`a = ? AND "we?ird" = ?`, `a = $1 AND "we?ird" = $2`},
	} {
		if got := rebindDollar(q.in); got != q.want {
			t.Errorf("rebindDollar(%q) = %q, want %q", q.in, got, q.want)
		}
	}
}

func TestUniqueTarget(t *testing.T) {
	for msg, want := range map[string]string{
		"constraint failed: UNIQUE constraint failed: customers.org_id, customers.email (2067)": "customers.email",
		"constraint failed: UNIQUE constraint failed: orgs.id (1555)":                           "orgs.id",
		"UNIQUE constraint failed: bank_accounts.org_id, bank_accounts.vpa_index":               "bank_accounts.vpa_index",
		"something else": "",
	} {
		if got := uniqueTarget(msg); got != want {
			t.Errorf("uniqueTarget(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestCheckTarget(t *testing.T) {
	for msg, want := range map[string]string{
		"constraint failed: CHECK constraint failed: payouts_status_phase_check (275)": "payouts_status_phase_check",
		"CHECK constraint failed: jobs_lease_check":                                    "jobs_lease_check",
		"constraint failed: CHECK constraint failed: rail_reference <> '' (275)":       "rail_reference <> ''",
		"something else": "",
	} {
		if got := checkTarget(msg); got != want {
			t.Errorf("checkTarget(%q) = %q, want %q", msg, got, want)
		}
	}
}
