// Package storetest is the conformance suite of offramp.Store. It is written
// only against the interface, so every engine (SQLite, PostgreSQL) runs the
// same checks and behaves the same for the service above it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// Run runs the suite, but for the console's part (RunConsole). open must
// return a fresh, migrated, empty store for each call and arrange for it
// to be closed when t ends (t.Cleanup).
//
// Beyond the interface's doc comments, the suite pins down the behaviour
// documented by package sqlstore: times truncated to microseconds and read
// back in UTC, empty maps and lists read back as nil, lists newest first, an
// empty lookup value never matching, a View being one snapshot, amounts
// read back Equal with their decimal places, and journals walked in
// (created_at, append) order.
func Run(t *testing.T, open func(t *testing.T) offramp.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s offramp.Store)
	}{
		{"Orgs", testOrgs},
		{"OrgConflict", testOrgConflict},
		{"CustomerRoundTrip", testCustomerRoundTrip},
		{"CustomerKYCRoundTrip", testCustomerKYCRoundTrip},
		{"UpdateCustomer", testUpdateCustomer},
		{"UpdateCustomerCAS", testUpdateCustomerCAS},
		{"CustomerIDBy", testCustomerIDBy},
		{"ListCustomers", testListCustomers},
		{"OrgScoping", testOrgScoping},
		{"CustomerConflicts", testCustomerConflicts},
		{"BankAccounts", testBankAccounts},
		{"BankConflicts", testBankConflicts},
		{"SetBankStatus", testSetBankStatus},
		{"Events", testEvents},
		{"Jobs", testJobs},
		{"JobsOrder", testJobsOrder},
		{"ConcurrentClaims", testConcurrentClaims},
		{"Signatures", testSignatures},
		{"TimePrecision", testTimePrecision},
		{"TxSeesOwnWrites", testTxSeesOwnWrites},
		{"Rollback", testRollback},
		{"CancelledContext", testCancelledContext},
		{"ViewIsolation", testViewIsolation},
		{"ViewSnapshot", testViewSnapshot},
		{"WebhookDeliveries", testWebhookDeliveries},
		{"RailAccounts", testRailAccounts},
		{"SearchPayouts", testSearchPayouts},
	}
	for _, tc := range slices.Concat(tests, payoutTests, engineTests, apiKeyTests, listTests, ipAllowTests) {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// t0 has microsecond precision, so it survives storage unchanged.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

// --- helpers ---

func update(t *testing.T, s offramp.Store, fn func(tx offramp.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, s offramp.Store, fn func(tx offramp.ReadTx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// updateErr runs fn and returns its error, for checks on failing writes.
func updateErr(t *testing.T, s offramp.Store, fn func(tx offramp.Tx) error) error {
	t.Helper()
	return s.Update(t.Context(), fn)
}

var orgSeq struct {
	sync.Mutex
	n int
}

func makeOrg() offramp.Org {
	orgSeq.Lock()
	orgSeq.n++
	n := orgSeq.n
	orgSeq.Unlock()
	return offramp.Org{
		ID:         uuid.New(),
		KeyID:      uuid.New(),
		Name:       fmt.Sprintf("Exchange %d", n),
		Env:        offramp.EnvSandbox,
		APIKey:     fmt.Sprintf("key_%d_%s", n, uuid.NewString()[:8]),
		APISecret:  "sk_" + uuid.NewString(),
		WebhookURL: "https://exchange.example/hooks",
		CreatedAt:  t0,
	}
}

func newOrg(t *testing.T, s offramp.Store) offramp.Org {
	t.Helper()
	o := makeOrg()
	update(t, s, func(tx offramp.Tx) error { return tx.CreateOrg(t.Context(), o) })
	return o
}

func makeCustomer(org offramp.Org, n int) offramp.Customer {
	return offramp.Customer{
		ID:                uuid.New(),
		OrgID:             org.ID,
		ClientReferenceID: fmt.Sprintf("ref-%d", n),
		FullName:          fmt.Sprintf("Customer Number %d", n),
		Email:             fmt.Sprintf("c%d@example.com", n),
		Phone:             fmt.Sprintf("+9198765%05d", n),
		Country:           "IND",
		Status:            offramp.CustomerUnverified,
		CreatedAt:         t0.Add(time.Duration(n) * time.Second),
		UpdatedAt:         t0.Add(time.Duration(n) * time.Second),
	}
}

func makeKYC(n int) *offramp.KYC {
	return &offramp.KYC{
		FullName:              fmt.Sprintf("Customer Number %d", n),
		Phone:                 fmt.Sprintf("+9198765%05d", n),
		FullAddress:           "12 MG Road, Bengaluru 560001",
		DOB:                   "01-02-1990",
		RegisteredDate:        "03-04-2020",
		TaxNumber:             fmt.Sprintf("ABCDE%04dF", n),
		DocumentType:          "PASSPORT",
		DocumentFrontImageURL: "https://img.example/front.jpg",
		DocumentBackImageURL:  "https://img.example/back.jpg",
		DocumentNumber:        fmt.Sprintf("P%07d", n),
		DocumentAdditionalData: map[string]any{
			"issuer":   "MEA",
			"verified": true,
			"score":    0.97,
			"nested":   map[string]any{"a": "b", "n": 3.0},
			"list":     []any{"x", 1.0, false, nil},
		},
		SelfieURL:                "https://img.example/selfie.jpg",
		SelfieVerificationStatus: true,
		AdditionalInfo:           map[string]any{"occupation": "engineer"},
		UpdateCount:              1,
		Attempt:                  2,
		SubmittedAt:              t0.Add(time.Minute),
	}
}

func newCustomer(t *testing.T, s offramp.Store, org offramp.Org, n int) offramp.Customer {
	t.Helper()
	c := makeCustomer(org, n)
	update(t, s, func(tx offramp.Tx) error { return tx.CreateCustomer(t.Context(), c) })
	return c
}

func makeBank(c offramp.Customer, n int) offramp.BankAccount {
	return offramp.BankAccount{
		ID:            uuid.New(),
		OrgID:         c.OrgID,
		CustomerID:    c.ID,
		Type:          offramp.BankAccountDetails,
		AccountNumber: fmt.Sprintf("50100%07d", n),
		IFSC:          "HDFC0001234",
		AccountName:   c.FullName,
		Status:        offramp.BankProcessing,
		CreatedAt:     t0.Add(time.Duration(n) * time.Second),
		UpdatedAt:     t0.Add(time.Duration(n) * time.Second),
	}
}

func makeVPA(c offramp.Customer, n int) offramp.BankAccount {
	return offramp.BankAccount{
		ID:          uuid.New(),
		OrgID:       c.OrgID,
		CustomerID:  c.ID,
		Type:        offramp.BankVPA,
		VPA:         fmt.Sprintf("user%d@okhdfc", n),
		AccountName: c.FullName,
		Status:      offramp.BankProcessing,
		CreatedAt:   t0.Add(time.Duration(n) * time.Second),
		UpdatedAt:   t0.Add(time.Duration(n) * time.Second),
	}
}

func getCustomer(t *testing.T, s offramp.Store, orgID, id uuid.UUID) (offramp.Customer, error) {
	t.Helper()
	var c offramp.Customer
	err := s.View(t.Context(), func(tx offramp.ReadTx) error {
		var err error
		c, err = tx.Customer(t.Context(), orgID, id)
		return err
	})
	return c, err
}

func getBank(t *testing.T, s offramp.Store, orgID, id uuid.UUID) (offramp.BankAccount, error) {
	t.Helper()
	var b offramp.BankAccount
	err := s.View(t.Context(), func(tx offramp.ReadTx) error {
		var err error
		b, err = tx.BankAccount(t.Context(), orgID, id)
		return err
	})
	return b, err
}

func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %#v\n want %#v", what, got, want)
	}
}

func wantIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func wantConflict(t *testing.T, what string, err error, field, msg string) {
	t.Helper()
	var e *offramp.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: got %v (%T), want *offramp.Error", what, err, err)
	}
	if e.Code != offramp.CodeConflict || e.Message != msg {
		t.Fatalf("%s: got code %q message %q, want %q %q", what, e.Code, e.Message, offramp.CodeConflict, msg)
	}
	if !reflect.DeepEqual(e.Fields, map[string][]string{field: {msg}}) {
		t.Fatalf("%s: got fields %v, want {%s: [%s]}", what, e.Fields, field, msg)
	}
}

// --- orgs ---

func testOrgs(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	view(t, s, func(tx offramp.ReadTx) error {
		n, err := tx.CountOrgs(ctx)
		if err != nil {
			return err
		}
		wantEqual(t, "CountOrgs on empty store", n, 0)
		return nil
	})
	o := newOrg(t, s)
	o2 := newOrg(t, s)
	view(t, s, func(tx offramp.ReadTx) error {
		n, err := tx.CountOrgs(ctx)
		if err != nil {
			return err
		}
		wantEqual(t, "CountOrgs", n, 2)
		got, err := tx.Org(ctx, o.ID)
		if err != nil {
			return err
		}
		wantEqual(t, "Org", got, o)
		got, err = tx.OrgByAPIKey(ctx, o2.APIKey)
		if err != nil {
			return err
		}
		wantEqual(t, "OrgByAPIKey", got, o2)
		_, err = tx.Org(ctx, uuid.New())
		wantIs(t, "Org(unknown)", err, offramp.ErrNotFound)
		_, err = tx.OrgByAPIKey(ctx, "no-such-key")
		wantIs(t, "OrgByAPIKey(unknown)", err, offramp.ErrNotFound)
		return nil
	})

	update(t, s, func(tx offramp.Tx) error {
		if err := tx.SetOrgWebhookURL(ctx, o.ID, "https://new.example/wh"); err != nil {
			return err
		}
		return tx.SetOrgJSReplacer(ctx, o.ID, true)
	})
	o.WebhookURL = "https://new.example/wh"
	o.AllowJSReplacerSignatures = true
	view(t, s, func(tx offramp.ReadTx) error {
		got, err := tx.OrgByAPIKey(ctx, o.APIKey)
		if err != nil {
			return err
		}
		wantEqual(t, "Org after settings", got, o)
		got, err = tx.Org(ctx, o2.ID)
		if err != nil {
			return err
		}
		wantEqual(t, "other Org after settings", got, o2)
		return nil
	})
	update(t, s, func(tx offramp.Tx) error { return tx.SetOrgJSReplacer(ctx, o.ID, false) })
	view(t, s, func(tx offramp.ReadTx) error {
		got, err := tx.Org(ctx, o.ID)
		if err != nil {
			return err
		}
		wantEqual(t, "AllowJSReplacerSignatures reset", got.AllowJSReplacerSignatures, false)
		return nil
	})

	err := updateErr(t, s, func(tx offramp.Tx) error { return tx.SetOrgWebhookURL(ctx, uuid.New(), "https://x.example") })
	wantIs(t, "SetOrgWebhookURL(unknown org)", err, offramp.ErrNotFound)
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.SetOrgJSReplacer(ctx, uuid.New(), true) })
	wantIs(t, "SetOrgJSReplacer(unknown org)", err, offramp.ErrNotFound)
}

func testOrgConflict(t *testing.T, s offramp.Store) {
	o := newOrg(t, s)
	dup := makeOrg()
	dup.APIKey = o.APIKey
	err := updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateOrg(t.Context(), dup) })
	if offramp.ErrorCode(err) != offramp.CodeConflict {
		t.Fatalf("duplicate API key: got %v, want a conflict", err)
	}
}

// --- customers ---

func testCustomerRoundTrip(t *testing.T, s offramp.Store) {
	org := newOrg(t, s)
	c := makeCustomer(org, 1)
	c.NonResidenceStatus = true
	c.ResidenceCountry = "ARE"
	update(t, s, func(tx offramp.Tx) error { return tx.CreateCustomer(t.Context(), c) })
	got, err := getCustomer(t, s, org.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "Customer", got, c)

	_, err = getCustomer(t, s, org.ID, uuid.New())
	wantIs(t, "Customer(unknown)", err, offramp.ErrNotFound)
}

func testCustomerKYCRoundTrip(t *testing.T, s offramp.Store) {
	org := newOrg(t, s)
	c := makeCustomer(org, 1)
	c.Status = offramp.CustomerProcessing
	c.KYC = makeKYC(1)
	update(t, s, func(tx offramp.Tx) error { return tx.CreateCustomer(t.Context(), c) })
	got, err := getCustomer(t, s, org.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "Customer with KYC", got, c)

	// Empty maps and zero values survive too (maps come back nil).
	c2 := makeCustomer(org, 2)
	c2.KYC = &offramp.KYC{DocumentAdditionalData: map[string]any{}, SubmittedAt: t0}
	update(t, s, func(tx offramp.Tx) error { return tx.CreateCustomer(t.Context(), c2) })
	got, err = getCustomer(t, s, org.ID, c2.ID)
	if err != nil {
		t.Fatal(err)
	}
	c2.KYC.DocumentAdditionalData = nil
	wantEqual(t, "Customer with empty KYC", got, c2)
}

func testUpdateCustomer(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c := newCustomer(t, s, org, 1)

	// Submit KYC.
	c.Status = offramp.CustomerProcessing
	c.KYC = makeKYC(1)
	c.UpdatedAt = t0.Add(time.Hour)
	update(t, s, func(tx offramp.Tx) error { return tx.UpdateCustomer(ctx, c, offramp.CustomerUnverified) })
	got, err := getCustomer(t, s, org.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "after KYC submission", got, c)

	// Every mutable field and the KYC change.
	c.Status = offramp.CustomerFailed
	c.FailureReason = offramp.ReasonTaxVerificationFailed
	c.FullName = "Renamed Person"
	c.Email = "renamed@example.com"
	c.Phone = "+919999999999"
	c.ClientReferenceID = "ref-renamed"
	c.Country = "USA"
	c.NonResidenceStatus = true
	c.ResidenceCountry = "SGP"
	c.KYC.TaxNumber = "ZZZZZ0000Z"
	c.KYC.DocumentNumber = "NEWDOC1"
	c.KYC.AdditionalInfo = nil
	c.KYC.UpdateCount = 2
	c.KYC.Attempt = 3
	c.UpdatedAt = t0.Add(2 * time.Hour)
	update(t, s, func(tx offramp.Tx) error { return tx.UpdateCustomer(ctx, c, offramp.CustomerProcessing) })
	got, err = getCustomer(t, s, org.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "after update", got, c)
	view(t, s, func(tx offramp.ReadTx) error {
		id, err := tx.CustomerIDBy(ctx, org.ID, "tax_number", "ZZZZZ0000Z")
		if err != nil {
			return err
		}
		wantEqual(t, "lookup by new tax number", id, c.ID)
		_, err = tx.CustomerIDBy(ctx, org.ID, "tax_number", makeKYC(1).TaxNumber)
		wantIs(t, "lookup by old tax number", err, offramp.ErrNotFound)
		_, err = tx.CustomerIDBy(ctx, org.ID, "email", "c1@example.com")
		wantIs(t, "lookup by old email", err, offramp.ErrNotFound)
		return nil
	})

	// A reset clears the KYC.
	c.Status = offramp.CustomerUnverified
	c.FailureReason = ""
	c.KYC = nil
	update(t, s, func(tx offramp.Tx) error { return tx.UpdateCustomer(ctx, c, offramp.CustomerFailed) })
	got, err = getCustomer(t, s, org.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "after reset", got, c)
	view(t, s, func(tx offramp.ReadTx) error {
		_, err := tx.CustomerIDBy(ctx, org.ID, "tax_number", "ZZZZZ0000Z")
		wantIs(t, "lookup by cleared tax number", err, offramp.ErrNotFound)
		return nil
	})
}

func testUpdateCustomerCAS(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c := newCustomer(t, s, org, 1)
	orig := c

	c.Status = offramp.CustomerVerified
	c.FullName = "Should Not Be Written"
	err := updateErr(t, s, func(tx offramp.Tx) error { return tx.UpdateCustomer(ctx, c, offramp.CustomerProcessing) })
	wantIs(t, "UpdateCustomer from wrong status", err, offramp.ErrStale)
	got, err := getCustomer(t, s, org.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "customer after stale update", got, orig)

	// Two writers read UNVERIFIED; the second compare-and-set loses.
	a, b := orig, orig
	a.Status, b.Status = offramp.CustomerProcessing, offramp.CustomerProcessing
	a.KYC, b.KYC = makeKYC(1), makeKYC(2)
	update(t, s, func(tx offramp.Tx) error { return tx.UpdateCustomer(ctx, a, offramp.CustomerUnverified) })
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.UpdateCustomer(ctx, b, offramp.CustomerUnverified) })
	wantIs(t, "second UpdateCustomer", err, offramp.ErrStale)
	got, err = getCustomer(t, s, org.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "winner's KYC kept", got.KYC, a.KYC)

	missing := makeCustomer(org, 2)
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.UpdateCustomer(ctx, missing, offramp.CustomerUnverified) })
	wantIs(t, "UpdateCustomer(unknown)", err, offramp.ErrNotFound)
}

func testCustomerIDBy(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c1 := makeCustomer(org, 1)
	c1.KYC = makeKYC(1)
	c2 := makeCustomer(org, 2)
	c2.KYC = makeKYC(2)
	c3 := makeCustomer(org, 3) // no KYC, no client reference
	c3.ClientReferenceID = ""
	update(t, s, func(tx offramp.Tx) error {
		for _, c := range []offramp.Customer{c1, c2, c3} {
			if err := tx.CreateCustomer(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx offramp.ReadTx) error {
		for _, c := range []offramp.Customer{c1, c2} {
			for field, value := range map[string]string{
				"email":               c.Email,
				"phone":               c.Phone,
				"client_reference_id": c.ClientReferenceID,
				"tax_number":          c.KYC.TaxNumber,
				"document_number":     c.KYC.DocumentNumber,
			} {
				id, err := tx.CustomerIDBy(ctx, org.ID, field, value)
				if err != nil {
					t.Fatalf("CustomerIDBy(%s): %v", field, err)
				}
				wantEqual(t, "CustomerIDBy("+field+")", id, c.ID)
			}
		}
		id, err := tx.CustomerIDBy(ctx, org.ID, "email", c3.Email)
		if err != nil {
			return err
		}
		wantEqual(t, "CustomerIDBy(email) without KYC", id, c3.ID)
		for _, field := range []string{"email", "phone", "client_reference_id", "tax_number", "document_number"} {
			_, err := tx.CustomerIDBy(ctx, org.ID, field, "no-such-value")
			wantIs(t, "CustomerIDBy("+field+", unknown)", err, offramp.ErrNotFound)
			_, err = tx.CustomerIDBy(ctx, org.ID, field, "")
			wantIs(t, "CustomerIDBy("+field+", empty)", err, offramp.ErrNotFound)
		}
		// The tax number is not looked up as a document number: indexes are
		// kept apart per field.
		_, err = tx.CustomerIDBy(ctx, org.ID, "document_number", c1.KYC.TaxNumber)
		wantIs(t, "CustomerIDBy(document_number, a tax number)", err, offramp.ErrNotFound)
		if _, err := tx.CustomerIDBy(ctx, org.ID, "full_name", c1.FullName); err == nil || errors.Is(err, offramp.ErrNotFound) {
			t.Fatalf("CustomerIDBy(unknown field): got %v, want an error other than ErrNotFound", err)
		}
		return nil
	})
}

func testListCustomers(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	other := newOrg(t, s)
	var all []offramp.Customer
	for i := 1; i <= 5; i++ {
		c := makeCustomer(org, i)
		if i == 3 {
			c.KYC = makeKYC(i)
		}
		all = append(all, c)
	}
	update(t, s, func(tx offramp.Tx) error {
		for _, c := range all {
			if err := tx.CreateCustomer(ctx, c); err != nil {
				return err
			}
		}
		return tx.CreateCustomer(ctx, makeCustomer(other, 99))
	})
	// Newest first.
	want := []offramp.Customer{all[4], all[3], all[2], all[1], all[0]}
	view(t, s, func(tx offramp.ReadTx) error {
		var got []offramp.Customer
		for page := 1; page <= 3; page++ {
			cs, total, err := tx.ListCustomers(ctx, org.ID, offramp.Page{Number: page, Size: 2})
			if err != nil {
				return err
			}
			wantEqual(t, "total", total, 5)
			wantEqual(t, fmt.Sprintf("page %d length", page), len(cs), []int{2, 2, 1}[page-1])
			got = append(got, cs...)
		}
		wantEqual(t, "all pages", got, want)
		cs, total, err := tx.ListCustomers(ctx, org.ID, offramp.Page{Number: 4, Size: 2})
		if err != nil {
			return err
		}
		wantEqual(t, "total past the end", total, 5)
		wantEqual(t, "page past the end", len(cs), 0)
		cs, total, err = tx.ListCustomers(ctx, uuid.New(), offramp.Page{Number: 1, Size: 10})
		if err != nil {
			return err
		}
		wantEqual(t, "unknown org total", total, 0)
		wantEqual(t, "unknown org page", len(cs), 0)
		return nil
	})
}

func testOrgScoping(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	a := newOrg(t, s)
	b := newOrg(t, s)
	c := makeCustomer(a, 1)
	c.KYC = makeKYC(1)
	bank := makeBank(c, 1)
	vpa := makeVPA(c, 1)
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.CreateCustomer(ctx, c); err != nil {
			return err
		}
		if err := tx.CreateBankAccount(ctx, bank); err != nil {
			return err
		}
		if err := tx.CreateBankAccount(ctx, vpa); err != nil {
			return err
		}
		_, err := tx.AppendEvent(ctx, offramp.Event{OrgID: a.ID, ObjectType: offramp.ObjectCustomer, ObjectID: c.ID, Event: "PROCESSING"})
		return err
	})
	view(t, s, func(tx offramp.ReadTx) error {
		_, err := tx.Customer(ctx, b.ID, c.ID)
		wantIs(t, "org B reads org A's customer", err, offramp.ErrNotFound)
		_, err = tx.BankAccount(ctx, b.ID, bank.ID)
		wantIs(t, "org B reads org A's bank account", err, offramp.ErrNotFound)
		for field, value := range map[string]string{
			"email": c.Email, "phone": c.Phone, "client_reference_id": c.ClientReferenceID,
			"tax_number": c.KYC.TaxNumber, "document_number": c.KYC.DocumentNumber,
		} {
			_, err = tx.CustomerIDBy(ctx, b.ID, field, value)
			wantIs(t, "org B finds org A's customer by "+field, err, offramp.ErrNotFound)
		}
		_, err = tx.BankAccountIDBy(ctx, b.ID, "account_number", bank.AccountNumber)
		wantIs(t, "org B finds org A's account number", err, offramp.ErrNotFound)
		_, err = tx.BankAccountIDBy(ctx, b.ID, "vpa", vpa.VPA)
		wantIs(t, "org B finds org A's VPA", err, offramp.ErrNotFound)
		cs, n, err := tx.ListCustomers(ctx, b.ID, offramp.Page{Number: 1, Size: 10})
		if err != nil {
			return err
		}
		wantEqual(t, "org B customer count", n, 0)
		wantEqual(t, "org B customers", len(cs), 0)
		bs, n, err := tx.ListBankAccounts(ctx, b.ID, c.ID, offramp.Page{Number: 1, Size: 10})
		if err != nil {
			return err
		}
		wantEqual(t, "org B bank count", n, 0)
		wantEqual(t, "org B banks", len(bs), 0)
		n, err = tx.CountBankAccounts(ctx, b.ID, c.ID, offramp.BankAccountDetails)
		if err != nil {
			return err
		}
		wantEqual(t, "org B CountBankAccounts", n, 0)
		evs, err := tx.Events(ctx, b.ID, offramp.ObjectCustomer, c.ID)
		if err != nil {
			return err
		}
		wantEqual(t, "org B events", len(evs), 0)
		return nil
	})

	// Writes through org B do not touch org A's rows.
	hijack := c
	hijack.OrgID = b.ID
	hijack.Status = offramp.CustomerVerified
	err := updateErr(t, s, func(tx offramp.Tx) error { return tx.UpdateCustomer(ctx, hijack, offramp.CustomerUnverified) })
	wantIs(t, "org B updates org A's customer", err, offramp.ErrNotFound)
	err = updateErr(t, s, func(tx offramp.Tx) error {
		return tx.SetBankStatus(ctx, b.ID, bank.ID, offramp.BankProcessing, offramp.BankVerified, "", t0)
	})
	wantIs(t, "org B sets org A's bank status", err, offramp.ErrNotFound)
	got, err := getCustomer(t, s, a.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "org A's customer untouched", got, c)
	gotBank, err := getBank(t, s, a.ID, bank.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "org A's bank untouched", gotBank, bank)

	// A bank account cannot hang off another organization's customer.
	cross := makeBank(c, 2)
	cross.OrgID = b.ID
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateBankAccount(ctx, cross) })
	if err == nil {
		t.Fatal("bank account of org B for org A's customer was created")
	}

	// Uniqueness is per organization: org B may reuse every value.
	cb := c
	cb.ID = uuid.New()
	cb.OrgID = b.ID
	bankB := makeBank(cb, 1)
	vpaB := makeVPA(cb, 1)
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.CreateCustomer(ctx, cb); err != nil {
			return err
		}
		if err := tx.CreateBankAccount(ctx, bankB); err != nil {
			return err
		}
		return tx.CreateBankAccount(ctx, vpaB)
	})
	view(t, s, func(tx offramp.ReadTx) error {
		for _, org := range []struct {
			id       uuid.UUID
			customer uuid.UUID
			bank     uuid.UUID
		}{{a.ID, c.ID, bank.ID}, {b.ID, cb.ID, bankB.ID}} {
			id, err := tx.CustomerIDBy(ctx, org.id, "tax_number", c.KYC.TaxNumber)
			if err != nil {
				return err
			}
			wantEqual(t, "per-org tax lookup", id, org.customer)
			id, err = tx.BankAccountIDBy(ctx, org.id, "account_number", bank.AccountNumber)
			if err != nil {
				return err
			}
			wantEqual(t, "per-org account lookup", id, org.bank)
		}
		return nil
	})
}

func testCustomerConflicts(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c := newCustomer(t, s, org, 1)
	create := func(d offramp.Customer) error {
		return updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateCustomer(ctx, d) })
	}

	d := makeCustomer(org, 2)
	d.Email = c.Email
	wantConflict(t, "duplicate email", create(d), "email", offramp.MsgEmailInUse)

	d = makeCustomer(org, 2)
	d.Phone = c.Phone
	wantConflict(t, "duplicate phone", create(d), "phone", offramp.MsgPhoneInUse)

	d = makeCustomer(org, 2)
	d.ClientReferenceID = c.ClientReferenceID
	wantConflict(t, "duplicate client reference", create(d), "client_reference_id", offramp.MsgClientRefExists)

	// An empty client reference is "none", not a value to be unique.
	for i := 3; i <= 4; i++ {
		d = makeCustomer(org, i)
		d.ClientReferenceID = ""
		if err := create(d); err != nil {
			t.Fatalf("customer %d without client reference: %v", i, err)
		}
	}

	// The failed inserts left nothing behind.
	view(t, s, func(tx offramp.ReadTx) error {
		_, n, err := tx.ListCustomers(ctx, org.ID, offramp.Page{Number: 1, Size: 10})
		if err != nil {
			return err
		}
		wantEqual(t, "customers after conflicts", n, 3)
		return nil
	})

	// Updates hit the same rules.
	e := newCustomer(t, s, org, 5)
	e.Email = c.Email
	err := updateErr(t, s, func(tx offramp.Tx) error { return tx.UpdateCustomer(ctx, e, e.Status) })
	wantConflict(t, "update to a used email", err, "email", offramp.MsgEmailInUse)
}

// --- bank accounts ---

func testBankAccounts(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c := newCustomer(t, s, org, 1)
	other := newCustomer(t, s, org, 2)
	b1, b2 := makeBank(c, 1), makeBank(c, 2)
	v1 := makeVPA(c, 3)
	ob := makeBank(other, 4)
	update(t, s, func(tx offramp.Tx) error {
		for _, b := range []offramp.BankAccount{b1, b2, v1, ob} {
			if err := tx.CreateBankAccount(ctx, b); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := getBank(t, s, org.ID, b1.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "BankAccount", got, b1)
	got, err = getBank(t, s, org.ID, v1.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "VPA", got, v1)
	_, err = getBank(t, s, org.ID, uuid.New())
	wantIs(t, "BankAccount(unknown)", err, offramp.ErrNotFound)

	view(t, s, func(tx offramp.ReadTx) error {
		bs, n, err := tx.ListBankAccounts(ctx, org.ID, c.ID, offramp.Page{Number: 1, Size: 10})
		if err != nil {
			return err
		}
		wantEqual(t, "ListBankAccounts total", n, 3)
		wantEqual(t, "ListBankAccounts newest first", bs, []offramp.BankAccount{v1, b2, b1})
		bs, n, err = tx.ListBankAccounts(ctx, org.ID, c.ID, offramp.Page{Number: 2, Size: 2})
		if err != nil {
			return err
		}
		wantEqual(t, "ListBankAccounts page 2 total", n, 3)
		wantEqual(t, "ListBankAccounts page 2", bs, []offramp.BankAccount{b1})

		for typ, want := range map[offramp.BankAccountType]int{offramp.BankAccountDetails: 2, offramp.BankVPA: 1} {
			n, err := tx.CountBankAccounts(ctx, org.ID, c.ID, typ)
			if err != nil {
				return err
			}
			wantEqual(t, "CountBankAccounts("+string(typ)+")", n, want)
		}
		n, err = tx.CountBankAccounts(ctx, org.ID, other.ID, offramp.BankVPA)
		if err != nil {
			return err
		}
		wantEqual(t, "CountBankAccounts(other customer, VPA)", n, 0)

		id, err := tx.BankAccountIDBy(ctx, org.ID, "account_number", b2.AccountNumber)
		if err != nil {
			return err
		}
		wantEqual(t, "BankAccountIDBy(account_number)", id, b2.ID)
		id, err = tx.BankAccountIDBy(ctx, org.ID, "vpa", v1.VPA)
		if err != nil {
			return err
		}
		wantEqual(t, "BankAccountIDBy(vpa)", id, v1.ID)
		_, err = tx.BankAccountIDBy(ctx, org.ID, "account_number", "000")
		wantIs(t, "BankAccountIDBy(unknown)", err, offramp.ErrNotFound)
		_, err = tx.BankAccountIDBy(ctx, org.ID, "vpa", "")
		wantIs(t, "BankAccountIDBy(empty)", err, offramp.ErrNotFound)
		_, err = tx.BankAccountIDBy(ctx, org.ID, "vpa", b1.AccountNumber)
		wantIs(t, "BankAccountIDBy(vpa, an account number)", err, offramp.ErrNotFound)
		if _, err := tx.BankAccountIDBy(ctx, org.ID, "ifsc", b1.IFSC); err == nil || errors.Is(err, offramp.ErrNotFound) {
			t.Fatalf("BankAccountIDBy(unknown field): got %v, want an error other than ErrNotFound", err)
		}
		return nil
	})

	// A bank account needs an existing customer.
	orphan := makeBank(makeCustomer(org, 9), 9)
	if err := updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateBankAccount(ctx, orphan) }); err == nil {
		t.Fatal("bank account for a missing customer was created")
	}
}

func testBankConflicts(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c := newCustomer(t, s, org, 1)
	c2 := newCustomer(t, s, org, 2)
	b, v := makeBank(c, 1), makeVPA(c, 2)
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.CreateBankAccount(ctx, b); err != nil {
			return err
		}
		return tx.CreateBankAccount(ctx, v)
	})
	dupB := makeBank(c2, 3)
	dupB.AccountNumber = b.AccountNumber
	err := updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateBankAccount(ctx, dupB) })
	wantConflict(t, "duplicate account number", err, "account_number", offramp.MsgAccountInUse)
	dupV := makeVPA(c2, 4)
	dupV.VPA = v.VPA
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateBankAccount(ctx, dupV) })
	wantConflict(t, "duplicate VPA", err, "vpa", offramp.MsgVPAInUse)

	// Accounts without a VPA (and VPAs without an account number) do not
	// collide on the empty value.
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.CreateBankAccount(ctx, makeBank(c2, 5)); err != nil {
			return err
		}
		return tx.CreateBankAccount(ctx, makeVPA(c2, 6))
	})
}

func testSetBankStatus(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c := newCustomer(t, s, org, 1)
	b := makeBank(c, 1)
	update(t, s, func(tx offramp.Tx) error { return tx.CreateBankAccount(ctx, b) })

	at := t0.Add(time.Hour)
	update(t, s, func(tx offramp.Tx) error {
		return tx.SetBankStatus(ctx, org.ID, b.ID, offramp.BankProcessing, offramp.BankFailed, offramp.ReasonPennyDropFailed, at)
	})
	got, err := getBank(t, s, org.ID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	b.Status, b.FailureReason, b.UpdatedAt = offramp.BankFailed, offramp.ReasonPennyDropFailed, at
	wantEqual(t, "after SetBankStatus", got, b)

	err = updateErr(t, s, func(tx offramp.Tx) error {
		return tx.SetBankStatus(ctx, org.ID, b.ID, offramp.BankProcessing, offramp.BankVerified, "", at.Add(time.Hour))
	})
	wantIs(t, "SetBankStatus from wrong status", err, offramp.ErrStale)
	got, err = getBank(t, s, org.ID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "after stale SetBankStatus", got, b)

	err = updateErr(t, s, func(tx offramp.Tx) error {
		return tx.SetBankStatus(ctx, org.ID, uuid.New(), offramp.BankProcessing, offramp.BankVerified, "", at)
	})
	wantIs(t, "SetBankStatus(unknown)", err, offramp.ErrNotFound)

	// A FAILED account does not use up one of the customer's slots, but
	// its number stays taken.
	b2 := makeBank(c, 2)
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.CreateBankAccount(ctx, b2); err != nil {
			return err
		}
		return tx.SetBankStatus(ctx, org.ID, b2.ID, offramp.BankProcessing, offramp.BankVerified, "", at)
	})
	view(t, s, func(tx offramp.ReadTx) error {
		n, err := tx.CountBankAccounts(ctx, org.ID, c.ID, offramp.BankAccountDetails)
		if err != nil {
			return err
		}
		wantEqual(t, "CountBankAccounts without the FAILED one", n, 1)
		_, total, err := tx.ListBankAccounts(ctx, org.ID, c.ID, offramp.Page{Number: 1, Size: 10})
		if err != nil {
			return err
		}
		wantEqual(t, "ListBankAccounts keeps the FAILED one", total, 2)
		id, err := tx.BankAccountIDBy(ctx, org.ID, "account_number", b.AccountNumber)
		if err != nil {
			return err
		}
		wantEqual(t, "FAILED account found by number", id, b.ID)
		return nil
	})
}

// --- events ---

func testEvents(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	objA, objB := uuid.New(), uuid.New()
	var evA []offramp.Event
	update(t, s, func(tx offramp.Tx) error {
		for i, name := range []string{"PROCESSING", "FAILED", "PROCESSING"} {
			e, err := tx.AppendEvent(ctx, offramp.Event{
				OrgID: org.ID, ObjectType: offramp.ObjectCustomer, ObjectID: objA, Event: name,
				ClientReferenceID: "ref-a", Metadata: map[string]string{"i": fmt.Sprint(i)},
			})
			if err != nil {
				return err
			}
			if e.ID == uuid.Nil || e.CreatedAt.IsZero() {
				t.Errorf("AppendEvent did not assign ID and CreatedAt: %+v", e)
			}
			wantEqual(t, "sequence", e.Sequence, int64(i+1))
			evA = append(evA, e)
		}
		return nil
	})
	// Numbering is per object (and per type), continuing across
	// transactions.
	id := uuid.New()
	var evB offramp.Event
	update(t, s, func(tx offramp.Tx) error {
		var err error
		evB, err = tx.AppendEvent(ctx, offramp.Event{ID: id, OrgID: org.ID, ObjectType: offramp.ObjectBank, ObjectID: objB, Event: "VERIFIED", CreatedAt: t0})
		if err != nil {
			return err
		}
		wantEqual(t, "first event of another object", evB.Sequence, int64(1))
		wantEqual(t, "given ID kept", evB.ID, id)
		wantEqual(t, "given CreatedAt kept", evB.CreatedAt, t0)
		e, err := tx.AppendEvent(ctx, offramp.Event{OrgID: org.ID, ObjectType: offramp.ObjectBank, ObjectID: objA, Event: "VERIFIED"})
		if err != nil {
			return err
		}
		wantEqual(t, "same id, other type", e.Sequence, int64(1))
		e, err = tx.AppendEvent(ctx, offramp.Event{OrgID: org.ID, ObjectType: offramp.ObjectCustomer, ObjectID: objA, Event: "VERIFIED"})
		if err != nil {
			return err
		}
		wantEqual(t, "continues across transactions", e.Sequence, int64(4))
		evA = append(evA, e)
		return nil
	})
	view(t, s, func(tx offramp.ReadTx) error {
		got, err := tx.Events(ctx, org.ID, offramp.ObjectCustomer, objA)
		if err != nil {
			return err
		}
		wantEqual(t, "Events(A)", got, evA)
		got, err = tx.Events(ctx, org.ID, offramp.ObjectBank, objB)
		if err != nil {
			return err
		}
		wantEqual(t, "Events(B)", got, []offramp.Event{evB})
		got, err = tx.Events(ctx, org.ID, offramp.ObjectPayout, objA)
		if err != nil {
			return err
		}
		wantEqual(t, "Events(none)", len(got), 0)
		return nil
	})
}

// --- jobs ---

func claim(t *testing.T, s offramp.Store, now time.Time, owner string, lease time.Duration, limit int) []offramp.Job {
	t.Helper()
	var jobs []offramp.Job
	update(t, s, func(tx offramp.Tx) error {
		var err error
		jobs, err = tx.ClaimJobs(t.Context(), offramp.JobClaim{Now: now, Owner: owner, Lease: lease, Limit: limit})
		return err
	})
	return jobs
}

func testJobs(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	j := offramp.Job{ID: uuid.New(), OrgID: org.ID, Kind: offramp.JobVerifyKYC, RefID: uuid.New(), Seq: 3, RunAt: t0}
	update(t, s, func(tx offramp.Tx) error { return tx.EnqueueJob(ctx, j) })

	if got := claim(t, s, t0.Add(-time.Second), "w1", time.Minute, 10); len(got) != 0 {
		t.Fatalf("claimed a job before its time: %+v", got)
	}
	got := claim(t, s, t0, "w1", time.Minute, 10)
	j.Attempts, j.Lease = 1, "w1"
	wantEqual(t, "first claim", got, []offramp.Job{j})

	// Leased: nobody else gets it, not even at the lease's last instant.
	if got := claim(t, s, t0.Add(30*time.Second), "w2", time.Minute, 10); len(got) != 0 {
		t.Fatalf("claimed a leased job: %+v", got)
	}
	if got := claim(t, s, t0.Add(time.Minute), "w2", time.Minute, 10); len(got) != 0 {
		t.Fatalf("claimed a job whose lease ends now: %+v", got)
	}
	// The lease lapsed (w1 crashed): w2 takes over.
	later := t0.Add(time.Minute + time.Microsecond)
	got = claim(t, s, later, "w2", time.Minute, 10)
	j.Attempts, j.Lease = 2, "w2"
	wantEqual(t, "reclaim after lease expiry", got, []offramp.Job{j})

	err := updateErr(t, s, func(tx offramp.Tx) error { return tx.FinishJob(ctx, j.ID, "w1") })
	wantIs(t, "FinishJob by the previous owner", err, offramp.ErrStale)
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.RetryJob(ctx, j.ID, "w1", t0, "late") })
	wantIs(t, "RetryJob by the previous owner", err, offramp.ErrStale)

	retryAt := later.Add(10 * time.Minute)
	update(t, s, func(tx offramp.Tx) error { return tx.RetryJob(ctx, j.ID, "w2", retryAt, "verifier timed out") })
	if got := claim(t, s, retryAt.Add(-time.Microsecond), "w3", time.Minute, 10); len(got) != 0 {
		t.Fatalf("claimed a job before its retry time: %+v", got)
	}
	got = claim(t, s, retryAt, "w3", time.Minute, 10)
	j.Attempts, j.RunAt, j.LastErr, j.Lease = 3, retryAt, "verifier timed out", "w3"
	wantEqual(t, "claim after retry", got, []offramp.Job{j})

	// The retry released w2's lease: w2 no longer owns it.
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.FinishJob(ctx, j.ID, "w2") })
	wantIs(t, "FinishJob by a released owner", err, offramp.ErrStale)
	update(t, s, func(tx offramp.Tx) error { return tx.FinishJob(ctx, j.ID, "w3") })
	if got := claim(t, s, retryAt.Add(24*time.Hour), "w4", time.Minute, 10); len(got) != 0 {
		t.Fatalf("finished job claimed again: %+v", got)
	}
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.FinishJob(ctx, j.ID, "w3") })
	wantIs(t, "FinishJob twice", err, offramp.ErrStale)
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.RetryJob(ctx, j.ID, "w3", t0, "") })
	wantIs(t, "RetryJob of a finished job", err, offramp.ErrStale)

	// A zero ID is assigned by the store.
	update(t, s, func(tx offramp.Tx) error {
		return tx.EnqueueJob(ctx, offramp.Job{OrgID: org.ID, Kind: offramp.JobVerifyBank, RefID: uuid.New(), RunAt: t0})
	})
	got = claim(t, s, t0, "w5", time.Minute, 10)
	if len(got) != 1 || got[0].ID == uuid.Nil || got[0].Kind != offramp.JobVerifyBank {
		t.Fatalf("job enqueued without ID: %+v", got)
	}
}

func testJobsOrder(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	var jobs []offramp.Job
	for i := range 5 {
		// Enqueued out of order; due in order 4, 3, 2, 1, 0 minutes ago.
		jobs = append(jobs, offramp.Job{ID: uuid.New(), Kind: offramp.JobVerifyBank, RefID: uuid.New(), RunAt: t0.Add(-time.Duration(i) * time.Minute)})
	}
	future := offramp.Job{ID: uuid.New(), Kind: offramp.JobVerifyBank, RefID: uuid.New(), RunAt: t0.Add(time.Hour)}
	update(t, s, func(tx offramp.Tx) error {
		for _, j := range append(jobs, future) {
			if err := tx.EnqueueJob(ctx, j); err != nil {
				return err
			}
		}
		return nil
	})
	got := claim(t, s, t0, "w", time.Minute, 3)
	if len(got) != 3 {
		t.Fatalf("claimed %d jobs with limit 3", len(got))
	}
	for i, want := range []offramp.Job{jobs[4], jobs[3], jobs[2]} {
		if got[i].ID != want.ID {
			t.Fatalf("claim %d: got job due %v, want the oldest due first (%v)", i, got[i].RunAt, want.RunAt)
		}
	}
	got = claim(t, s, t0, "w", time.Minute, 10)
	if len(got) != 2 || got[0].ID != jobs[1].ID || got[1].ID != jobs[0].ID {
		t.Fatalf("second claim: got %+v", got)
	}
	if got := claim(t, s, t0, "w", time.Minute, 0); len(got) != 0 {
		t.Fatalf("claim with limit 0 returned %d jobs", len(got))
	}
}

func testConcurrentClaims(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	const jobs, workers = 200, 8
	update(t, s, func(tx offramp.Tx) error {
		for i := range jobs {
			if err := tx.EnqueueJob(ctx, offramp.Job{Kind: offramp.JobVerifyKYC, RefID: uuid.New(), RunAt: t0.Add(time.Duration(i) * time.Millisecond)}); err != nil {
				return err
			}
		}
		return nil
	})
	var mu sync.Mutex
	owners := map[uuid.UUID][]string{}
	var wg sync.WaitGroup
	for w := range workers {
		owner := fmt.Sprintf("worker-%d", w)
		wg.Go(func() {
			for {
				var got []offramp.Job
				err := s.Update(ctx, func(tx offramp.Tx) error {
					var err error
					got, err = tx.ClaimJobs(ctx, offramp.JobClaim{Now: t0.Add(time.Second), Owner: owner, Lease: time.Hour, Limit: 7})
					return err
				})
				if err != nil {
					t.Errorf("%s: ClaimJobs: %v", owner, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, j := range got {
					owners[j.ID] = append(owners[j.ID], owner)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(owners) != jobs {
		t.Fatalf("%d distinct jobs claimed, want %d", len(owners), jobs)
	}
	for id, o := range owners {
		if len(o) != 1 {
			t.Fatalf("job %s handed to %v", id, o)
		}
	}
}

// --- signatures ---

func testSignatures(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	a, b := newOrg(t, s), newOrg(t, s)
	use := func(org uuid.UUID, sig string, exp time.Time) bool {
		t.Helper()
		var ok bool
		update(t, s, func(tx offramp.Tx) error {
			var err error
			ok, err = tx.UseSignature(ctx, running(org, sig, exp))
			return err
		})
		return ok
	}
	purge := func(now time.Time) int {
		t.Helper()
		var n int
		update(t, s, func(tx offramp.Tx) error {
			var err error
			n, err = tx.PurgeSignatures(ctx, now)
			return err
		})
		return n
	}
	sig := "q1w2e3r4t5y6u7i8o9p0+/=="
	exp := t0.Add(5 * time.Minute)
	if !use(a.ID, sig, exp) {
		t.Fatal("first use of a signature reported as a replay")
	}
	if use(a.ID, sig, exp) {
		t.Fatal("replayed signature accepted")
	}
	if !use(b.ID, sig, exp) {
		t.Fatal("another organization's identical signature reported as a replay")
	}
	if !use(a.ID, sig+"x", t0.Add(time.Hour)) {
		t.Fatal("different signature reported as a replay")
	}

	// Replays are detected inside one transaction too.
	update(t, s, func(tx offramp.Tx) error {
		first, err := tx.UseSignature(ctx, running(a.ID, "in-tx", exp))
		if err != nil {
			return err
		}
		second, err := tx.UseSignature(ctx, running(a.ID, "in-tx", exp))
		if err != nil {
			return err
		}
		if !first || second {
			t.Errorf("same transaction: first=%v second=%v, want true false", first, second)
		}
		return nil
	})

	wantEqual(t, "purge before expiry", purge(exp), 0)
	wantEqual(t, "purge after expiry", purge(exp.Add(time.Microsecond)), 3)
	if use(a.ID, sig+"x", t0.Add(time.Hour)) {
		t.Fatal("unexpired signature forgotten by purge")
	}
	if !use(a.ID, sig, exp) {
		t.Fatal("purged signature still remembered")
	}
	testSignatureRecords(t, s)
}

// running is the record of a mutating request that has not answered yet.
func running(org uuid.UUID, sig string, exp time.Time) offramp.SignatureRecord {
	return offramp.SignatureRecord{OrgID: org, Signature: sig, Method: "POST", Target: "/pos/api/v1/payout/initiate",
		State: offramp.SignatureRunning, ExpiresAt: exp}
}

// testSignatureRecords: a record keeps its request and, once finished, its
// answer; a record is written once whatever its state.
func testSignatureRecords(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	exp := t0.Add(5 * time.Minute)
	get := func(sig string) (offramp.SignatureRecord, error) {
		var rec offramp.SignatureRecord
		err := s.View(ctx, func(tx offramp.ReadTx) error {
			var err error
			rec, err = tx.SignatureRecord(ctx, org.ID, sig)
			return err
		})
		return rec, err
	}
	use := func(rec offramp.SignatureRecord) bool {
		t.Helper()
		var ok bool
		update(t, s, func(tx offramp.Tx) error {
			var err error
			ok, err = tx.UseSignature(ctx, rec)
			return err
		})
		return ok
	}
	if _, err := get("never"); !errors.Is(err, offramp.ErrNotFound) {
		t.Fatalf("unknown signature: %v, want ErrNotFound", err)
	}

	// Running, then finished with its answer.
	if !use(running(org.ID, "run", exp)) {
		t.Fatal("first use refused")
	}
	rec, err := get("run")
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != offramp.SignatureRunning || rec.Method != "POST" || rec.Target != "/pos/api/v1/payout/initiate" || rec.Response != nil || !rec.ExpiresAt.Equal(exp) {
		t.Fatalf("running record: %+v", rec)
	}
	if !rec.Same("POST", "/pos/api/v1/payout/initiate") || rec.Same("GET", "/pos/api/v1/payout/initiate") || rec.Same("POST", "/cms/api/v1/customer/create") {
		t.Fatal("Same does not tell the request apart")
	}
	answer := []byte(`{"status":true,"message":"Success","data":{"id":"p1","full_name":"Canary Name"}}`)
	update(t, s, func(tx offramp.Tx) error { return tx.FinishSignature(ctx, org.ID, "run", 201, answer) })
	rec, err = get("run")
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != offramp.SignatureDone || rec.StatusCode != 201 || string(rec.Response) != string(answer) {
		t.Fatalf("finished record: %+v", rec)
	}
	// Finished once: a second answer is stale.
	err = s.Update(ctx, func(tx offramp.Tx) error { return tx.FinishSignature(ctx, org.ID, "run", 400, []byte("{}")) })
	if !errors.Is(err, offramp.ErrStale) {
		t.Fatalf("second FinishSignature: %v, want ErrStale", err)
	}
	if use(offramp.SignatureRecord{OrgID: org.ID, Signature: "run", Method: "PATCH", Target: "/x", State: offramp.SignatureDone,
		StatusCode: 200, Response: []byte("{}"), ExpiresAt: exp}) {
		t.Fatal("a recorded signature was recorded again")
	}

	// Done in one write.
	if !use(offramp.SignatureRecord{OrgID: org.ID, Signature: "done", Method: "POST", Target: "/cms/api/v1/customer/create",
		State: offramp.SignatureDone, StatusCode: 400, Response: []byte(`{"status":false}`), ExpiresAt: exp}) {
		t.Fatal("done record refused")
	}
	if rec, err := get("done"); err != nil || rec.State != offramp.SignatureDone || rec.StatusCode != 400 || string(rec.Response) != `{"status":false}` {
		t.Fatalf("done record: %+v %v", rec, err)
	}
	// A done record cannot be finished again, nor a GET recorded, nor a
	// record of another state made up.
	if err := s.Update(ctx, func(tx offramp.Tx) error { return tx.FinishSignature(ctx, org.ID, "done", 200, []byte("{}")) }); !errors.Is(err, offramp.ErrStale) {
		t.Fatalf("FinishSignature of a done record: %v, want ErrStale", err)
	}
	err = s.Update(ctx, func(tx offramp.Tx) error {
		_, err := tx.UseSignature(ctx, offramp.SignatureRecord{OrgID: org.ID, Signature: "get", Method: "GET", Target: "/x", State: offramp.SignatureRunning, ExpiresAt: exp})
		return err
	})
	if err == nil {
		t.Fatal("a GET was recorded")
	}
	err = s.Update(ctx, func(tx offramp.Tx) error {
		_, err := tx.UseSignature(ctx, offramp.SignatureRecord{OrgID: org.ID, Signature: "bad", State: offramp.SignatureLegacy, ExpiresAt: exp})
		return err
	})
	if err == nil {
		t.Fatal("a legacy record was written")
	}
}

// --- time, transactions ---

func testTimePrecision(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	ist := time.FixedZone("IST", 5*3600+1800)
	org := newOrg(t, s)
	// Nanoseconds and a non-UTC zone: stored truncated to microseconds,
	// read back in UTC.
	in := time.Date(2025, 6, 1, 23, 59, 59, 999999999, ist)
	want := time.Date(2025, 6, 1, 18, 29, 59, 999999000, time.UTC)
	c := makeCustomer(org, 1)
	c.CreatedAt, c.UpdatedAt = in, in
	c.KYC = makeKYC(1)
	c.KYC.SubmittedAt = in
	update(t, s, func(tx offramp.Tx) error { return tx.CreateCustomer(ctx, c) })
	got, err := getCustomer(t, s, org.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt, "SubmittedAt": got.KYC.SubmittedAt} {
		if v != want {
			t.Errorf("%s: got %v (%v), want %v", name, v, v.Location(), want)
		}
	}
	// Times before 1970 and far ahead survive too.
	j := offramp.Job{ID: uuid.New(), Kind: offramp.JobVerifyKYC, RefID: uuid.New(), RunAt: time.Date(1969, 7, 20, 20, 17, 40, 123456000, time.UTC)}
	update(t, s, func(tx offramp.Tx) error { return tx.EnqueueJob(ctx, j) })
	jobs := claim(t, s, time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC), "w", time.Hour, 1)
	if len(jobs) != 1 || jobs[0].RunAt != j.RunAt {
		t.Fatalf("job RunAt: got %+v, want %v", jobs, j.RunAt)
	}
}

func testTxSeesOwnWrites(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c := makeCustomer(org, 1)
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.CreateCustomer(ctx, c); err != nil {
			return err
		}
		got, err := tx.Customer(ctx, org.ID, c.ID)
		if err != nil {
			return err
		}
		wantEqual(t, "own write", got, c)
		id, err := tx.CustomerIDBy(ctx, org.ID, "email", c.Email)
		if err != nil {
			return err
		}
		wantEqual(t, "own write by email", id, c.ID)
		return nil
	})
}

func testRollback(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	o2 := makeOrg()
	c := makeCustomer(org, 1)
	c.KYC = makeKYC(1)
	b := makeBank(c, 1)
	job := offramp.Job{ID: uuid.New(), Kind: offramp.JobVerifyKYC, RefID: c.ID, RunAt: t0}
	boom := &offramp.Error{Code: offramp.CodeRejected, Message: "boom"}
	err := s.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.CreateOrg(ctx, o2); err != nil {
			return err
		}
		if err := tx.CreateCustomer(ctx, c); err != nil {
			return err
		}
		if err := tx.CreateBankAccount(ctx, b); err != nil {
			return err
		}
		if _, err := tx.AppendEvent(ctx, offramp.Event{OrgID: org.ID, ObjectType: offramp.ObjectCustomer, ObjectID: c.ID, Event: "PROCESSING"}); err != nil {
			return err
		}
		if err := tx.EnqueueJob(ctx, job); err != nil {
			return err
		}
		if ok, err := tx.UseSignature(ctx, running(org.ID, "sig", t0.Add(time.Hour))); err != nil || !ok {
			return fmt.Errorf("UseSignature: %v %v", ok, err)
		}
		if err := tx.SetOrgWebhookURL(ctx, org.ID, "https://changed.example"); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("Update returned %v (%T), want fn's error unchanged", err, err)
	}
	var oe *offramp.Error
	if !errors.As(err, &oe) || oe.Code != offramp.CodeRejected {
		t.Fatalf("errors.As lost the code: %v", err)
	}
	plain := errors.New("plain")
	if err := s.Update(ctx, func(tx offramp.Tx) error { return plain }); err != plain {
		t.Fatalf("Update returned %v, want fn's error unchanged", err)
	}

	view(t, s, func(tx offramp.ReadTx) error {
		if n, _ := tx.CountOrgs(ctx); n != 1 {
			t.Errorf("CountOrgs after rollback: %d", n)
		}
		if _, err := tx.OrgByAPIKey(ctx, o2.APIKey); !errors.Is(err, offramp.ErrNotFound) {
			t.Errorf("rolled-back org: %v", err)
		}
		if o, err := tx.Org(ctx, org.ID); err != nil || o.WebhookURL != org.WebhookURL {
			t.Errorf("rolled-back webhook URL: %v %v", o.WebhookURL, err)
		}
		if _, err := tx.Customer(ctx, org.ID, c.ID); !errors.Is(err, offramp.ErrNotFound) {
			t.Errorf("rolled-back customer: %v", err)
		}
		if _, err := tx.CustomerIDBy(ctx, org.ID, "tax_number", c.KYC.TaxNumber); !errors.Is(err, offramp.ErrNotFound) {
			t.Errorf("rolled-back KYC: %v", err)
		}
		if _, err := tx.BankAccount(ctx, org.ID, b.ID); !errors.Is(err, offramp.ErrNotFound) {
			t.Errorf("rolled-back bank account: %v", err)
		}
		if evs, _ := tx.Events(ctx, org.ID, offramp.ObjectCustomer, c.ID); len(evs) != 0 {
			t.Errorf("rolled-back events: %v", evs)
		}
		return nil
	})
	if got := claim(t, s, t0.Add(time.Hour), "w", time.Minute, 10); len(got) != 0 {
		t.Errorf("rolled-back job claimed: %+v", got)
	}
	update(t, s, func(tx offramp.Tx) error {
		ok, err := tx.UseSignature(ctx, running(org.ID, "sig", t0.Add(time.Hour)))
		if !ok {
			t.Error("rolled-back signature remembered")
		}
		return err
	})

	// The same writes succeed afterwards: nothing was left half done.
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.CreateCustomer(ctx, c); err != nil {
			return err
		}
		return tx.CreateBankAccount(ctx, b)
	})
	_, err = getCustomer(t, s, org.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
}

func testCancelledContext(t *testing.T, s offramp.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	org := makeOrg()
	err := s.Update(ctx, func(tx offramp.Tx) error { return tx.CreateOrg(ctx, org) })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update with a cancelled context: %v, want context.Canceled", err)
	}
	err = s.View(ctx, func(tx offramp.ReadTx) error { _, err := tx.CountOrgs(ctx); return err })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("View with a cancelled context: %v, want context.Canceled", err)
	}
	view(t, s, func(tx offramp.ReadTx) error {
		_, err := tx.Org(t.Context(), org.ID)
		wantIs(t, "org written under a cancelled context", err, offramp.ErrNotFound)
		return nil
	})
}

// testViewIsolation: a View never sees what an Update has not committed.
func testViewIsolation(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c := makeCustomer(org, 1)
	written := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		var once sync.Once
		signal := func() { once.Do(func() { close(written) }) }
		defer signal()
		done <- s.Update(ctx, func(tx offramp.Tx) error {
			if err := tx.CreateCustomer(ctx, c); err != nil {
				return err
			}
			signal()
			<-release
			return nil
		})
	}()
	<-written
	view(t, s, func(tx offramp.ReadTx) error {
		_, err := tx.Customer(ctx, org.ID, c.ID)
		wantIs(t, "uncommitted customer", err, offramp.ErrNotFound)
		_, err = tx.CustomerIDBy(ctx, org.ID, "email", c.Email)
		wantIs(t, "uncommitted customer by email", err, offramp.ErrNotFound)
		_, n, err := tx.ListCustomers(ctx, org.ID, offramp.Page{Number: 1, Size: 10})
		if err != nil {
			return err
		}
		wantEqual(t, "uncommitted customer count", n, 0)
		return nil
	})
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := getCustomer(t, s, org.ID, c.ID); err != nil {
		t.Fatalf("committed customer: %v", err)
	}
}

// testViewSnapshot: a View that has started reading keeps its snapshot
// while an Update commits (repeatable read, not read committed).
func testViewSnapshot(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	err := s.View(ctx, func(tx offramp.ReadTx) error {
		_, before, err := tx.ListCustomers(ctx, org.ID, offramp.Page{Number: 1, Size: 10})
		if err != nil {
			return err
		}
		wantEqual(t, "count before", before, 0)
		c := makeCustomer(org, 1)
		if err := s.Update(ctx, func(tx offramp.Tx) error { return tx.CreateCustomer(ctx, c) }); err != nil {
			return fmt.Errorf("concurrent Update: %w", err)
		}
		_, after, err := tx.ListCustomers(ctx, org.ID, offramp.Page{Number: 1, Size: 10})
		if err != nil {
			return err
		}
		wantEqual(t, "count within the same View after a commit", after, 0)
		_, err = tx.Customer(ctx, org.ID, c.ID)
		wantIs(t, "customer committed after the View began", err, offramp.ErrNotFound)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	view(t, s, func(tx offramp.ReadTx) error {
		_, n, err := tx.ListCustomers(ctx, org.ID, offramp.Page{Number: 1, Size: 10})
		if err != nil {
			return err
		}
		wantEqual(t, "count in a new View", n, 1)
		return nil
	})
}
