package sqlstore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/sqlstore/pgtest"
	"github.com/offramp/offramp/vault"
)

func vaultOf(t *testing.T, b byte) *vault.Vault {
	t.Helper()
	v, err := vault.New(bytes.Repeat([]byte{b}, vault.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// rekeyFixture is what fillRekey stored.
type rekeyFixture struct {
	orgs      []offramp.Org
	key       offramp.APIKey     // a second key of orgs[0]
	customers []offramp.Customer // [0..2] with KYC numbers, [3] KYC without, [4] no KYC
	banks     []offramp.BankAccount
	edds      []offramp.EDD
	quotation offramp.Quotation
	audit     offramp.AuditEntry
	operator  offramp.Operator
	proposal  offramp.Proposal
	// answered is a signature whose stored answer is sealed; running is a
	// record without one.
	answered, running offramp.SignatureRecord
}

// fillRekey stores two organizations and, in the first, a second API key,
// customers with and without KYC, bank accounts and VPAs, two EDDs, a quotation, an
// audit entry, a console operator with a TOTP secret and a proposal: every
// sealed column and blind index, empty values (NULL indexes) included.
func fillRekey(t *testing.T, s *Store) rekeyFixture {
	t.Helper()
	ctx := t.Context()
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	var fx rekeyFixture
	for i := range 2 {
		fx.orgs = append(fx.orgs, offramp.Org{
			ID: uuid.New(), KeyID: uuid.New(), Name: fmt.Sprintf("Rekey Exchange %d", i), Env: offramp.EnvSandbox,
			APIKey: "key_rekey_" + uuid.NewString()[:8], APISecret: "sk_" + uuid.NewString(), CreatedAt: at,
		})
	}
	org := fx.orgs[0]
	fx.key = offramp.APIKey{ID: uuid.New(), OrgID: org.ID, Key: "key_rekey_" + uuid.NewString()[:8], Secret: "sk_" + uuid.NewString(),
		Label: "rotation", CreatedBy: "ops", CreatedAt: at.Add(time.Hour)}
	for i := range 5 {
		c := offramp.Customer{
			ID: uuid.New(), OrgID: org.ID, FullName: fmt.Sprintf("Rekey Customer %d", i),
			Email: fmt.Sprintf("rekey%d@example.com", i), Phone: fmt.Sprintf("+91987650000%d", i),
			Country: "IND", Status: offramp.CustomerVerified, CreatedAt: at, UpdatedAt: at,
		}
		if i < 4 {
			c.KYC = &offramp.KYC{
				FullName: c.FullName, Phone: c.Phone, FullAddress: fmt.Sprintf("%d MG Road, Bengaluru", i+1),
				DOB: "01-02-1990", RegisteredDate: "03-04-2020", DocumentType: "PASSPORT",
				DocumentAdditionalData:   map[string]any{"issuer": "MEA", "nested": map[string]any{"n": 3.0}},
				AdditionalInfo:           map[string]any{"occupation": "engineer"},
				SelfieVerificationStatus: true, SubmittedAt: at,
			}
			if i < 3 {
				c.KYC.TaxNumber = fmt.Sprintf("ABCPK%04dN", i)
				c.KYC.DocumentNumber = fmt.Sprintf("12341234%04d", i)
			}
		}
		fx.customers = append(fx.customers, c)
	}
	c0, c1, c2 := fx.customers[0], fx.customers[1], fx.customers[2]
	bank := func(c offramp.Customer, number, vpa string) offramp.BankAccount {
		typ := offramp.BankAccountDetails
		if vpa != "" {
			typ = offramp.BankVPA
		}
		return offramp.BankAccount{
			ID: uuid.New(), OrgID: c.OrgID, CustomerID: c.ID, Type: typ, AccountNumber: number,
			IFSC: "HDFC0001234", AccountName: c.FullName, VPA: vpa, Status: offramp.BankVerified,
			CreatedAt: at, UpdatedAt: at,
		}
	}
	fx.banks = []offramp.BankAccount{
		bank(c0, "501000000001", ""), bank(c0, "", "rekey0@okhdfc"),
		bank(c1, "501000000002", ""), bank(c2, "", "rekey2@okhdfc"),
	}
	for i := range 2 {
		fx.edds = append(fx.edds, offramp.EDD{
			ID: uuid.New(), OrgID: org.ID, CustomerID: c0.ID, Status: offramp.EDDProcessing,
			SourceOfIncome:         fmt.Sprintf("Salary %d", i),
			BankStatementURLs:      []string{"https://docs.example/bs.pdf?sig=abc"},
			BankStatementPasswords: []string{"hunter2"},
			ITRReportURLs:          []string{"https://docs.example/itr.pdf"},
			ITRReportPasswords:     []string{fmt.Sprintf("PAN%d", i)},
			Declaration:            true, CreatedAt: at.Add(time.Duration(i) * time.Second),
		})
	}
	dec := decimal.RequireFromString
	fx.quotation = offramp.Quotation{
		ID: uuid.New(), OrgID: org.ID, CustomerID: c0.ID, BankID: fx.banks[0].ID,
		Asset: "USDT", Fiat: "INR", PaymentMethod: "IMPS",
		SendingAmount: dec("50"), Rate: dec("88.92"), GrossFiat: dec("4446.00"), ReceivingAmount: dec("4144.60"),
		Fees: offramp.Fees{ClientFeeFiat: dec("44.46")},
		Risk: offramp.RiskParameters{
			IPAddress: "203.0.113.77", DeviceID: "device-rekey",
			SuspiciousActivityReport: true, LawEnforcementAgencyReport: false,
		},
		Status: offramp.QuotationUnlinked, CreatedAt: at, ExpiresAt: at.Add(30 * time.Second),
	}
	fx.audit = offramp.AuditEntry{
		ID: uuid.New(), OrgID: org.ID, Actor: "ops@exchange.example", Action: "payout.resolve_paid",
		ObjectType: offramp.ObjectPayout, ObjectID: uuid.New(), Reason: "Rekey Customer 0 called: credited",
		Details: map[string]string{"utr": "UTR0001", "note": "second approver agreed"}, CreatedAt: at,
	}
	fx.operator = offramp.Operator{
		ID: uuid.New(), Email: "rekey-ops@exchange.example", Role: offramp.RoleApprover,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		TOTPSecret:   "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", CreatedAt: at, UpdatedAt: at,
	}
	fx.proposal = offramp.Proposal{
		ID: uuid.New(), OrgID: org.ID, Kind: offramp.ProposalResolvePaid, ObjectType: offramp.ObjectPayout,
		ObjectID: uuid.New(), Params: map[string]string{"utr": "UTR0002"}, Reason: "Rekey Customer 0's bank confirmed",
		ProposedBy: "ops@exchange.example", Status: offramp.ProposalPending, CreatedAt: at,
	}
	exp := at.Add(6 * time.Minute)
	fx.answered = offramp.SignatureRecord{OrgID: org.ID, Signature: "sig-answered", Method: "POST", Target: "/cms/api/v1/customer/create",
		State: offramp.SignatureDone, StatusCode: 200, Response: []byte(`{"status":true,"data":{"full_name":"Rekey Customer 0"}}`), ExpiresAt: exp}
	fx.running = offramp.SignatureRecord{OrgID: org.ID, Signature: "sig-running", Method: "POST", Target: "/pos/api/v1/payout/initiate",
		State: offramp.SignatureRunning, ExpiresAt: exp}
	err := s.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.AppendAudit(ctx, fx.audit); err != nil {
			return err
		}
		if err := tx.CreateOperator(ctx, fx.operator); err != nil {
			return err
		}
		if err := tx.CreateProposal(ctx, fx.proposal); err != nil {
			return err
		}
		for _, o := range fx.orgs {
			if err := tx.CreateOrg(ctx, o); err != nil {
				return err
			}
		}
		if err := tx.CreateAPIKey(ctx, fx.key); err != nil {
			return err
		}
		for _, c := range fx.customers {
			if err := tx.CreateCustomer(ctx, c); err != nil {
				return err
			}
		}
		for _, b := range fx.banks {
			if err := tx.CreateBankAccount(ctx, b); err != nil {
				return err
			}
		}
		for _, e := range fx.edds {
			if err := tx.CreateEDD(ctx, e); err != nil {
				return err
			}
		}
		for _, rec := range []offramp.SignatureRecord{fx.answered, fx.running} {
			if _, err := tx.UseSignature(ctx, rec); err != nil {
				return err
			}
		}
		return tx.CreateQuotation(ctx, fx.quotation)
	})
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// rekeySnapshot is everything of the fixture as read back through the
// store, and what the blind-index lookups find.
type rekeySnapshot struct {
	orgs      []offramp.Org
	keys      []offramp.APIKey // of orgs[0], as listed
	keyOrg    offramp.Org      // orgs[0] found by fx.key
	customers []offramp.Customer
	banks     []offramp.BankAccount
	edds      []offramp.EDD
	quotation offramp.Quotation
	audit     []offramp.AuditEntry
	operator  offramp.Operator
	proposal  offramp.Proposal
	lookups   map[string]uuid.UUID
	answered  offramp.SignatureRecord
}

func readRekey(ctx context.Context, s *Store, fx rekeyFixture) (rekeySnapshot, error) {
	var snap rekeySnapshot
	err := s.View(ctx, func(tx offramp.ReadTx) error {
		snap = rekeySnapshot{lookups: map[string]uuid.UUID{}}
		for _, o := range fx.orgs {
			got, err := tx.Org(ctx, o.ID)
			if err != nil {
				return err
			}
			byKey, err := tx.OrgByAPIKey(ctx, o.APIKey)
			if err != nil {
				return err
			}
			if byKey.ID != o.ID || byKey.APISecret != got.APISecret {
				return fmt.Errorf("OrgByAPIKey(%s) = %s", o.APIKey, byKey.ID)
			}
			snap.orgs = append(snap.orgs, got)
		}
		org := fx.orgs[0].ID
		var err error
		if snap.keys, err = tx.APIKeys(ctx, org); err != nil {
			return err
		}
		if snap.keyOrg, err = tx.OrgByAPIKey(ctx, fx.key.Key); err != nil {
			return err
		}
		for _, c := range fx.customers {
			got, err := tx.Customer(ctx, org, c.ID)
			if err != nil {
				return err
			}
			snap.customers = append(snap.customers, got)
			if c.KYC == nil {
				continue
			}
			for _, f := range []struct{ field, value string }{{"tax_number", c.KYC.TaxNumber}, {"document_number", c.KYC.DocumentNumber}} {
				if f.value == "" {
					continue
				}
				id, err := tx.CustomerIDBy(ctx, org, f.field, f.value)
				if err != nil {
					return fmt.Errorf("CustomerIDBy %s of customer %s: %w", f.field, c.ID, err)
				}
				snap.lookups[f.field+":"+f.value] = id
			}
		}
		for _, b := range fx.banks {
			got, err := tx.BankAccount(ctx, org, b.ID)
			if err != nil {
				return err
			}
			snap.banks = append(snap.banks, got)
			for _, f := range []struct{ field, value string }{{"account_number", b.AccountNumber}, {"vpa", b.VPA}} {
				if f.value == "" {
					continue
				}
				id, err := tx.BankAccountIDBy(ctx, org, f.field, f.value)
				if err != nil {
					return fmt.Errorf("BankAccountIDBy %s of bank %s: %w", f.field, b.ID, err)
				}
				snap.lookups[f.field+":"+f.value] = id
			}
		}
		for _, e := range fx.edds {
			got, err := tx.EDD(ctx, org, e.ID)
			if err != nil {
				return err
			}
			snap.edds = append(snap.edds, got)
		}
		if snap.audit, err = tx.AuditEntries(ctx, fx.audit.ObjectType, fx.audit.ObjectID); err != nil {
			return err
		}
		if snap.operator, err = tx.Operator(ctx, fx.operator.ID); err != nil {
			return err
		}
		if snap.proposal, err = tx.Proposal(ctx, fx.proposal.ID); err != nil {
			return err
		}
		if snap.answered, err = tx.SignatureRecord(ctx, org, fx.answered.Signature); err != nil {
			return err
		}
		snap.quotation, err = tx.Quotation(ctx, org, fx.quotation.ID)
		return err
	})
	return snap, err
}

// rawCol reads one stored column of one row, bypassing the vault.
func rawCol(t *testing.T, s *Store, table, column, key string, id uuid.UUID) string {
	t.Helper()
	var v *string
	q := s.d.rebind(`SELECT ` + column + ` FROM ` + table + ` WHERE ` + key + ` = ?`)
	if err := s.rdb.QueryRowContext(t.Context(), q, id).Scan(&v); err != nil {
		t.Fatalf("read %s.%s: %v", table, column, err)
	}
	if v == nil {
		return ""
	}
	return *v
}

func setRawCol(t *testing.T, s *Store, table, column, key string, id uuid.UUID, value string) {
	t.Helper()
	q := s.d.rebind(`UPDATE ` + table + ` SET ` + column + ` = ? WHERE ` + key + ` = ?`)
	if _, err := s.wdb.ExecContext(t.Context(), q, value, id); err != nil {
		t.Fatalf("write %s.%s: %v", table, column, err)
	}
}

func openRekey(t *testing.T, dsn string, v *vault.Vault) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn, v, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testRekey runs the rotation scenario on the database dsn (empty).
func testRekey(t *testing.T, dsn string) {
	ctx := t.Context()
	oldV, newV, wrongV := vaultOf(t, 1), vaultOf(t, 2), vaultOf(t, 3)

	s := openRekey(t, dsn, oldV)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.VerifyKey(ctx); err != nil || n != 0 {
		t.Fatalf("VerifyKey on an empty database: %d, %v", n, err)
	}
	fx := fillRekey(t, s)
	before, err := readRekey(ctx, s, fx)
	if err != nil {
		t.Fatal(err)
	}
	// The first link of the chain: its hash covers the plaintext, so a
	// rekey (which only re-seals) leaves it valid.
	wantAudit := fx.audit
	wantAudit.Seq = 1
	wantAudit.Hash = offramp.AuditHash("", wantAudit)
	if !reflect.DeepEqual(before.audit, []offramp.AuditEntry{wantAudit}) {
		t.Fatalf("audit entries read back %+v, want %+v", before.audit, wantAudit)
	}
	if !reflect.DeepEqual(before.operator, fx.operator) || !reflect.DeepEqual(before.proposal, fx.proposal) {
		t.Fatalf("operator and proposal read back %+v %+v, want %+v %+v", before.operator, before.proposal, fx.operator, fx.proposal)
	}
	if n, err := s.VerifyKey(ctx); err != nil || n != len(sealedTables) {
		t.Fatalf("VerifyKey with the right key: %d, %v; want %d rows", n, err, len(sealedTables))
	}
	org := fx.orgs[0]
	oldSecretCT := rawCol(t, s, "api_keys", "api_secret", "id", org.KeyID)
	oldTaxIndex := rawCol(t, s, "customer_kyc", "tax_number_index", "customer_id", fx.customers[0].ID)
	if oldTaxIndex != oldV.BlindIndex("tax_number", fx.customers[0].KYC.TaxNumber) {
		t.Fatal("stored tax_number_index is not the old key's blind index")
	}

	// A value that does not open (here an EDD ciphertext moved into another
	// row) aborts the whole rekey, after the earlier tables were rewritten
	// in the transaction: nothing is written.
	e0, e1 := fx.edds[0], fx.edds[1]
	good := rawCol(t, s, "edds", "source_of_income", "id", e0.ID)
	setRawCol(t, s, "edds", "source_of_income", "id", e0.ID, rawCol(t, s, "edds", "source_of_income", "id", e1.ID))
	counts, err := s.rekey(ctx, newV, 2)
	if err == nil || counts != nil {
		t.Fatalf("rekey over a corrupt value: %v, %v; want an error", counts, err)
	}
	if !errors.Is(err, vault.ErrDecrypt) || !strings.Contains(err.Error(), "edds.source_of_income") || !strings.Contains(err.Error(), e0.ID.String()) {
		t.Fatalf("rekey error %q does not name edds.source_of_income of row %s", err, e0.ID)
	}
	for _, secret := range []string{e1.SourceOfIncome, good, org.APISecret} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("rekey error %q quotes a value", err)
		}
	}
	setRawCol(t, s, "edds", "source_of_income", "id", e0.ID, good)
	if got := rawCol(t, s, "api_keys", "api_secret", "id", org.KeyID); got != oldSecretCT {
		t.Fatal("the failed rekey changed api_keys.api_secret")
	}
	if got, err := readRekey(ctx, s, fx); err != nil || !reflect.DeepEqual(got, before) {
		t.Fatalf("after the failed rekey the old key reads %v:\n%+v\nwant\n%+v", err, got, before)
	}

	// The rotation, two rows at a time.
	counts, err = s.rekey(ctx, newV, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := Rekeyed{
		"api_keys.api_secret":    3,
		"customers.full_name":    5,
		"customer_kyc.full_name": 4, "customer_kyc.full_address": 4, "customer_kyc.dob": 4,
		"customer_kyc.tax_number": 4, "customer_kyc.document_number": 4,
		"customer_kyc.document_additional_data": 4, "customer_kyc.additional_info": 4,
		"customer_kyc.tax_number_index": 3, "customer_kyc.document_number_index": 3,
		"bank_accounts.account_number": 4, "bank_accounts.account_name": 4, "bank_accounts.vpa": 4,
		"bank_accounts.account_number_index": 2, "bank_accounts.vpa_index": 2,
		"quotations.risk_parameters": 1,
		"edds.source_of_income":      2, "edds.bank_statement_urls": 2, "edds.bank_statement_passwords": 2,
		"edds.itr_report_urls": 2, "edds.itr_report_passwords": 2,
		"audit_log.reason": 1, "audit_log.details": 1,
		"operators.totp_secret": 1,
		"proposals.params":      1, "proposals.reason": 1,
		"used_signatures.response": 1,
	}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("Rekey counts\n%v\nwant\n%v", counts, want)
	}
	if got := rawCol(t, s, "api_keys", "api_secret", "id", org.KeyID); got == oldSecretCT {
		t.Fatal("api_keys.api_secret was not sealed again")
	}
	if got := rawCol(t, s, "customer_kyc", "tax_number_index", "customer_id", fx.customers[0].ID); got != newV.BlindIndex("tax_number", fx.customers[0].KYC.TaxNumber) {
		t.Fatal("tax_number_index is not the new key's blind index")
	}
	if got := rawCol(t, s, "customer_kyc", "tax_number_index", "customer_id", fx.customers[3].ID); got != "" {
		t.Fatal("an empty tax number got a blind index")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened with the new key, everything reads back the same and every
	// blind-index lookup finds its row.
	s2 := openRekey(t, dsn, newV)
	after, err := readRekey(ctx, s2, fx)
	if err != nil {
		t.Fatalf("read with the new key: %v", err)
	}
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("read with the new key:\n%+v\nwant\n%+v", after, before)
	}
	wantLookups := map[string]uuid.UUID{}
	for _, c := range fx.customers[:3] {
		wantLookups["tax_number:"+c.KYC.TaxNumber] = c.ID
		wantLookups["document_number:"+c.KYC.DocumentNumber] = c.ID
	}
	for _, b := range fx.banks {
		if b.AccountNumber != "" {
			wantLookups["account_number:"+b.AccountNumber] = b.ID
		}
		if b.VPA != "" {
			wantLookups["vpa:"+b.VPA] = b.ID
		}
	}
	if !reflect.DeepEqual(after.lookups, wantLookups) {
		t.Fatalf("blind-index lookups with the new key:\n%v\nwant\n%v", after.lookups, wantLookups)
	}
	if n, err := s2.VerifyKey(ctx); err != nil || n != len(sealedTables) {
		t.Fatalf("VerifyKey with the new key: %d, %v", n, err)
	}

	// The old key decrypts nothing any more, and finds nothing by index.
	s3 := openRekey(t, dsn, oldV)
	if _, err := s3.VerifyKey(ctx); !errors.Is(err, vault.ErrDecrypt) {
		t.Fatalf("VerifyKey with the old key: %v, want ErrDecrypt", err)
	}
	if _, err := readRekey(ctx, s3, fx); !errors.Is(err, vault.ErrDecrypt) {
		t.Fatalf("read with the old key: %v, want ErrDecrypt", err)
	}
	err = s3.View(ctx, func(tx offramp.ReadTx) error {
		_, err := tx.CustomerIDBy(ctx, org.ID, "tax_number", fx.customers[0].KYC.TaxNumber)
		return err
	})
	if !errors.Is(err, offramp.ErrNotFound) {
		t.Fatalf("lookup with the old key's index: %v, want ErrNotFound", err)
	}

	// A rekey from a store holding the wrong key aborts; the data still
	// reads with the real key.
	s4 := openRekey(t, dsn, wrongV)
	if counts, err := s4.Rekey(ctx, oldV); err == nil || !errors.Is(err, vault.ErrDecrypt) || counts != nil {
		t.Fatalf("Rekey with the wrong current key: %v, %v; want ErrDecrypt", counts, err)
	} else if !strings.Contains(err.Error(), "api_keys.api_secret") {
		t.Fatalf("wrong-key error %q does not name the column", err)
	}
	if got, err := readRekey(ctx, s2, fx); err != nil || !reflect.DeepEqual(got, before) {
		t.Fatalf("after the wrong-key rekey the new key reads %v", err)
	}
	if _, err := s4.Rekey(ctx, nil); err == nil {
		t.Fatal("Rekey to a nil vault succeeded")
	}
}

func TestRekeySQLite(t *testing.T) {
	testRekey(t, t.TempDir()+"/offramp.db")
}

func TestRekeyPostgres(t *testing.T) {
	testRekey(t, pgtest.URL(t))
}

// TestRekeyCoversSchema: every column the migrations of either engine mark
// "sealed", and every *_index column, is in sealedTables, and nothing else.
func TestRekeyCoversSchema(t *testing.T) {
	want := map[string]bool{}
	for _, tb := range sealedTables {
		sealed := map[string]bool{}
		for _, c := range tb.sealed {
			want[tb.name+"."+c] = true
			sealed[c] = true
		}
		for _, ix := range tb.indexes {
			want[tb.name+"."+ix.column] = true
			if !sealed[ix.source] {
				t.Errorf("%s.%s indexes %s, which is not sealed", tb.name, ix.column, ix.source)
			}
		}
	}
	var (
		createTable = regexp.MustCompile(`(?i)^\s*CREATE TABLE (\w+)`)
		addColumn   = regexp.MustCompile(`(?i)^\s*ALTER TABLE (\w+) ADD COLUMN (\w+)`)
		// A column dropped later (orgs.api_secret, moved to api_keys by
		// 00008) is sealed no more.
		alterTable = regexp.MustCompile(`(?i)^\s*ALTER TABLE (\w+) DROP COLUMN`)
		dropColumn = regexp.MustCompile(`(?i)DROP COLUMN (\w+)`)
		column     = regexp.MustCompile(`^\s+(\w+)\s+\w+`)
	)
	for _, dir := range []string{"migrations/sqlite", "migrations/postgres"} {
		got := map[string]bool{}
		err := fs.WalkDir(migrationsFS, dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := migrationsFS.ReadFile(path)
			if err != nil {
				return err
			}
			table, up := "", false
			sc := bufio.NewScanner(bytes.NewReader(b))
			for sc.Scan() {
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, "-- +goose Up"):
					up = true
					continue
				case strings.HasPrefix(line, "-- +goose Down"):
					up = false
					continue
				case !up || strings.HasPrefix(strings.TrimSpace(line), "--"):
					continue
				}
				code, comment, _ := strings.Cut(line, "--")
				name := ""
				if m := alterTable.FindStringSubmatch(code); m != nil {
					for _, d := range dropColumn.FindAllStringSubmatch(code, -1) {
						delete(got, m[1]+"."+d[1])
					}
					continue
				}
				if m := createTable.FindStringSubmatch(code); m != nil {
					table = m[1]
					continue
				} else if m := addColumn.FindStringSubmatch(code); m != nil {
					table, name = m[1], m[2]
				} else if m := column.FindStringSubmatch(code); m != nil && table != "" {
					name = m[1]
				}
				if strings.HasPrefix(strings.TrimSpace(code), ")") {
					table = ""
				}
				if name == "" {
					continue
				}
				if strings.HasPrefix(strings.TrimSpace(comment), "sealed") || strings.HasSuffix(name, "_index") {
					got[table+"."+name] = true
				}
			}
			return sc.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: sealed and index columns\n%v\nsealedTables has\n%v", dir, keys(got), keys(want))
		}
	}
}

// TestRekeyPostgresRetry: a concurrent writer makes PostgreSQL abort the
// rekey transaction (serialization failure); Update runs it again and the
// second run's counts are what Rekey returns, not the sum of both.
func TestRekeyPostgresRetry(t *testing.T) {
	ctx := t.Context()
	url := pgtest.URL(t)
	oldV, newV := vaultOf(t, 1), vaultOf(t, 2)
	s := openRekey(t, url, oldV)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	fx := fillRekey(t, s)
	before, err := readRekey(ctx, s, fx)
	if err != nil {
		t.Fatal(err)
	}

	// Hold a row lock on an API key, so that the rekey, once it has its
	// snapshot, waits for it and then finds the row changed.
	blocker, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback()
	if _, err := blocker.ExecContext(ctx, `UPDATE api_keys SET label = $1 WHERE id = $2`, "renamed", fx.orgs[0].KeyID); err != nil {
		t.Fatal(err)
	}
	var (
		counts Rekeyed
		rerr   error
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		counts, rerr = s.Rekey(ctx, newV)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rekey never waited for the locked row")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := blocker.Commit(); err != nil {
		t.Fatal(err)
	}
	<-done
	if rerr != nil {
		t.Fatal(rerr)
	}
	if s.retries.Load() < 1 {
		t.Fatal("the rekey was not run again")
	}
	if counts["api_keys.api_secret"] != 3 || counts["customers.full_name"] != 5 || counts["bank_accounts.vpa_index"] != 2 {
		t.Fatalf("counts after a retry: %v", counts)
	}
	s.Close()

	s2 := openRekey(t, url, newV)
	after, err := readRekey(ctx, s2, fx)
	if err != nil {
		t.Fatal(err)
	}
	if after.keys[0].Label != "renamed" {
		t.Fatalf("the concurrent write was lost: %q", after.keys[0].Label)
	}
	after.keys[0].Label = before.keys[0].Label
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("read with the new key after a retried rekey:\n%+v\nwant\n%+v", after, before)
	}
}
