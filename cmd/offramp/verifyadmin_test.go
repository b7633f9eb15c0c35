package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/idcheck"
	"github.com/offramp/offramp/server"
	"github.com/offramp/offramp/service"
	"github.com/offramp/offramp/vault"
)

// An operator's turn on a KYC submission the verifier left to one: `admin
// kyc decide` finds it by its id alone and fails it with a reason;
// deciding again is refused; `admin kyc pending` says what the store
// cannot list.
func TestAdminKYCDecide(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "offramp.db")
	key := bytes.Repeat([]byte{3}, 32)
	t.Setenv("OFFRAMP_MASTER_KEY", vault.EncodeKey(key))

	clk := clock.NewFake(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	st, _, err := server.OpenStore(ctx, db, key, clk)
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Config{Store: st, Clock: clk, Env: offramp.EnvProduction, Verifier: idcheck.Manual{}})
	org, err := svc.CreateOrg(ctx, "Exchange", offramp.EnvProduction, "test")
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.CreateCustomer(ctx, org.ID, service.CreateCustomerInput{FullName: "Asha Verma", Email: "asha@example.com",
		Phone: "9876543210", Country: "IND"})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := svc.AddKYC(ctx, org.ID, service.KYCInput{CustomerID: c.ID.String(), FullName: "Asha Verma",
		FullAddress: "221 Park Street", DOB: "02-03-1992", RegisteredDate: "01-01-2024", TaxNumber: "ABCPV1234D",
		DocumentType: "AADHAAR", DocumentFrontImageURL: "https://x.example/f.png", DocumentBackImageURL: "https://x.example/b.png",
		DocumentNumber: "123412341234", SelfieURL: "https://x.example/s.png", SelfieVerificationStatus: &yes}); err != nil {
		t.Fatal(err)
	}
	var jobs []offramp.Job
	if err := st.View(ctx, func(tx offramp.ReadTx) error {
		jobs, err = tx.Jobs(ctx, offramp.JobVerifyKYC, c.ID)
		return err
	}); err != nil || len(jobs) != 1 {
		t.Fatalf("jobs %+v, %v", jobs, err)
	}
	if err := svc.RunJob(ctx, jobs[0]); err != nil { // the verifier leaves it to an operator
		t.Fatal(err)
	}
	st.Close()

	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		root := rootCmd()
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append(args, "--db", db, "--env", "production"))
		err := root.Execute()
		return out.String(), err
	}
	out, err := run("admin", "kyc", "decide", "--customer", c.ID.String(), "--failed", "--reason", "tax_verification_failed",
		"--why", "PAN registered to another person", "--by", "ops-anita", "--json")
	if err != nil {
		t.Fatalf("decide: %v\n%s", err, out)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got["status"] != "FAILED" || got["failure_reason"] != offramp.ReasonTaxVerificationFailed || got["org_id"] != org.ID.String() {
		t.Errorf("decide --json = %v", got)
	}
	if out, err := run("admin", "kyc", "decide", "--customer", c.ID.String(), "--verified", "--why", "again"); err == nil ||
		!strings.Contains(err.Error(), "Only a PROCESSING KYC submission can be decided") {
		t.Errorf("deciding twice: %v\n%s", err, out)
	}
	if _, err := run("admin", "kyc", "decide", "--customer", c.ID.String(), "--failed", "--why", "no reason"); err == nil ||
		!strings.Contains(err.Error(), "--failed needs --reason") {
		t.Errorf("--failed without --reason: %v", err)
	}
	if out, err := run("admin", "kyc", "pending", "--json"); err != nil || strings.Contains(out, c.ID.String()) {
		t.Errorf("kyc pending after the decision lists the customer: %v\n%s", err, out)
	}

	// The decision is in the audit log, with who and why.
	st, _, err = server.OpenStore(ctx, db, key, clk)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var entries []offramp.AuditEntry
	if err := st.View(ctx, func(tx offramp.ReadTx) error {
		entries, err = tx.AuditEntries(ctx, offramp.ObjectCustomer, c.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		found = found || (e.Action == service.ActionKYCDecide && e.Actor == "ops-anita" && e.Reason == "PAN registered to another person")
	}
	if !found {
		t.Errorf("audit = %+v", entries)
	}
}
