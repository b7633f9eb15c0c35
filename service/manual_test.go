package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/idcheck"
	"github.com/offramp/offramp/idcheck/cashfree"
	"github.com/offramp/offramp/idcheck/cashfree/cashfreeidfake"
	"github.com/offramp/offramp/service"
	"github.com/offramp/offramp/sqlstore"
	"github.com/offramp/offramp/vault"
)

// bundle is one test's world: a real SQLite store, a fake clock, a service
// with the given verifier, and one organization.
type bundle struct {
	t     *testing.T
	ctx   context.Context
	store *sqlstore.Store
	clock *clock.Fake
	svc   *service.Service
	org   offramp.Org
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// setup opens the store and a production service with verifier v.
func setup(t *testing.T, v offramp.Verifier) *bundle {
	t.Helper()
	ctx := context.Background()
	vlt, err := vault.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "offramp.db"), vlt, sqlstore.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var s offramp.Store = st
	logs := &syncBuffer{}
	svc := service.New(service.Config{Store: s, Clock: clk, Env: offramp.EnvProduction, Verifier: v,
		Log: slog.New(slog.NewJSONHandler(logs, nil))})
	org, err := svc.CreateOrg(ctx, "Test Exchange", offramp.EnvProduction, "test")
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{t: t, ctx: ctx, store: st, clock: clk, svc: svc, org: org, logs: logs}
}

// serial makes emails, phones, PANs and document numbers unique.
var serial atomic.Int64

// customer creates a customer and submits KYC with pan.
func (b *bundle) customer(name, pan string) offramp.Customer {
	b.t.Helper()
	n := serial.Add(1)
	c, err := b.svc.CreateCustomer(b.ctx, b.org.ID, service.CreateCustomerInput{
		FullName: name, Email: fmt.Sprintf("customer%d@example.com", n), Phone: fmt.Sprintf("+9198%08d", n), Country: "IND",
	})
	if err != nil {
		b.t.Fatal(err)
	}
	yes := true
	c, err = b.svc.AddKYC(b.ctx, b.org.ID, service.KYCInput{
		CustomerID: c.ID.String(), FullName: name, FullAddress: "221 Park Street, Kolkata", DOB: "02-03-1992",
		RegisteredDate: "01-01-2024", TaxNumber: pan, DocumentType: "AADHAAR",
		DocumentFrontImageURL: "https://exchange.example/front.png", DocumentBackImageURL: "https://exchange.example/back.png",
		DocumentNumber: fmt.Sprintf("1234%08d", n), SelfieURL: "https://exchange.example/selfie.png", SelfieVerificationStatus: &yes,
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return c
}

// runJobs runs the due jobs of kind as the worker does: claim, run, then
// finish on success or release for a retry on error. It returns the jobs'
// errors.
func (b *bundle) runJobs(kind offramp.JobKind) []error {
	b.t.Helper()
	var jobs []offramp.Job
	err := b.store.Update(b.ctx, func(tx offramp.Tx) error {
		var err error
		jobs, err = tx.ClaimJobs(b.ctx, offramp.JobClaim{Now: b.clock.Now(), Owner: "test-" + uuid.NewString(),
			Lease: time.Minute, Limit: 100, Kinds: []offramp.JobKind{kind}})
		return err
	})
	if err != nil {
		b.t.Fatal(err)
	}
	var errs []error
	for _, j := range jobs {
		runErr := b.svc.RunJob(b.ctx, j)
		err := b.store.Update(b.ctx, func(tx offramp.Tx) error {
			if runErr == nil {
				return tx.FinishJob(b.ctx, j.ID, j.Lease)
			}
			return tx.RetryJob(b.ctx, j.ID, j.Lease, b.clock.Now().Add(time.Second), runErr.Error())
		})
		if err != nil {
			b.t.Fatal(err)
		}
		if runErr != nil {
			errs = append(errs, runErr)
		}
	}
	if len(jobs) == 0 {
		b.t.Fatalf("no %s job was due", kind)
	}
	return errs
}

func (b *bundle) reload(c offramp.Customer) offramp.Customer {
	b.t.Helper()
	c, err := b.svc.Customer(b.ctx, b.org.ID, c.ID.String())
	if err != nil {
		b.t.Fatal(err)
	}
	return c
}

func (b *bundle) audit(typ offramp.ObjectType, id uuid.UUID) []offramp.AuditEntry {
	b.t.Helper()
	var out []offramp.AuditEntry
	if err := b.store.View(b.ctx, func(tx offramp.ReadTx) error {
		var err error
		out, err = tx.AuditEntries(b.ctx, typ, id)
		return err
	}); err != nil {
		b.t.Fatal(err)
	}
	return out
}

func (b *bundle) liveJobs(kind offramp.JobKind, id uuid.UUID) []offramp.Job {
	b.t.Helper()
	var out []offramp.Job
	if err := b.store.View(b.ctx, func(tx offramp.ReadTx) error {
		var err error
		out, err = tx.Jobs(b.ctx, kind, id)
		return err
	}); err != nil {
		b.t.Fatal(err)
	}
	return out
}

// lastEvent is the object's newest event, and whether a webhook delivery
// was queued for it.
func (b *bundle) lastEvent(typ offramp.ObjectType, id uuid.UUID) (offramp.Event, bool) {
	b.t.Helper()
	var (
		ev        offramp.Event
		delivered bool
	)
	if err := b.store.View(b.ctx, func(tx offramp.ReadTx) error {
		evs, err := tx.Events(b.ctx, b.org.ID, typ, id)
		if err != nil || len(evs) == 0 {
			return err
		}
		ev = evs[len(evs)-1]
		_, err = tx.Delivery(b.ctx, b.org.ID, ev.ID)
		delivered = err == nil
		if errors.Is(err, offramp.ErrNotFound) {
			return nil
		}
		return err
	}); err != nil {
		b.t.Fatal(err)
	}
	return ev, delivered
}

func code(err error) offramp.Code { return offramp.ErrorCode(err) }

// entry is the audit entry with action (entries recorded in one clock tick
// have no order among them).
func entry(t *testing.T, entries []offramp.AuditEntry, action string) offramp.AuditEntry {
	t.Helper()
	for _, e := range entries {
		if e.Action == action {
			return e
		}
	}
	t.Fatalf("no %s entry in %+v", action, entries)
	return offramp.AuditEntry{}
}

func TestManualKYCDecision(t *testing.T) {
	t.Parallel()
	b := setup(t, idcheck.Manual{})
	c := b.customer("Asha Verma", "ABCPV1234D")

	// The verifier leaves it to an operator: the job completes without an
	// error (no retry), the customer stays PROCESSING, the audit log and
	// the log say so.
	if errs := b.runJobs(offramp.JobVerifyKYC); len(errs) != 0 {
		t.Fatalf("job errors: %v", errs)
	}
	if got := b.reload(c); got.Status != offramp.CustomerProcessing || got.FailureReason != "" {
		t.Fatalf("after the job: %s %q", got.Status, got.FailureReason)
	}
	if jobs := b.liveJobs(offramp.JobVerifyKYC, c.ID); len(jobs) != 0 {
		t.Fatalf("a job is still live: %+v", jobs)
	}
	entries := b.audit(offramp.ObjectCustomer, c.ID)
	if len(entries) != 1 || entries[0].Action != service.ActionKYCAwaiting || entries[0].Actor != service.VerifierActor ||
		entries[0].OrgID != b.org.ID || entries[0].Details["attempt"] != fmt.Sprint(c.KYC.Attempt) ||
		!strings.Contains(entries[0].Reason, "no automatic KYC check") {
		t.Fatalf("audit = %+v", entries)
	}
	if !strings.Contains(b.logs.String(), "left to an operator") || !strings.Contains(b.logs.String(), c.ID.String()) {
		t.Errorf("no log line asks for an operator: %s", b.logs.String())
	}

	// The operator decides, by customer id alone.
	got, err := b.svc.DecideKYC(b.ctx, c.ID, true, "", "documents checked by hand against the exchange's file", "ops-anita")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != offramp.CustomerVerified || got.FailureReason != "" || b.reload(c).Status != offramp.CustomerVerified {
		t.Fatalf("decided: %+v", got)
	}
	ev, delivered := b.lastEvent(offramp.ObjectCustomer, c.ID)
	if ev.Event != "VERIFIED" || !delivered {
		t.Errorf("event %+v, webhook queued %v", ev, delivered)
	}
	entries = b.audit(offramp.ObjectCustomer, c.ID)
	last := entry(t, entries, service.ActionKYCDecide)
	if len(entries) != 2 || last.Action != service.ActionKYCDecide || last.Actor != "ops-anita" ||
		last.Reason != "documents checked by hand against the exchange's file" || last.Details["decision"] != "VERIFIED" {
		t.Errorf("audit = %+v", entries)
	}

	// A decided submission cannot be decided again.
	if _, err := b.svc.DecideKYC(b.ctx, c.ID, false, offramp.ReasonKYCFailed, "second thoughts", "ops-anita"); code(err) != offramp.CodeRejected {
		t.Errorf("deciding twice: %v", err)
	}
}

func TestManualKYCFailed(t *testing.T) {
	t.Parallel()
	b := setup(t, idcheck.Manual{})
	c := b.customer("Asha Verma", "ABCPV1234D")
	b.runJobs(offramp.JobVerifyKYC)

	got, err := b.svc.DecideKYC(b.ctx, c.ID, false, " tax_verification_failed ", "PAN belongs to someone else", "ops-ravi")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != offramp.CustomerFailed || got.FailureReason != offramp.ReasonTaxVerificationFailed {
		t.Fatalf("decided: %s %q", got.Status, got.FailureReason)
	}
	ev, delivered := b.lastEvent(offramp.ObjectCustomer, c.ID)
	if ev.Event != "FAILED" || ev.Metadata["failure_reason"] != offramp.ReasonTaxVerificationFailed || !delivered {
		t.Errorf("event %+v, webhook queued %v", ev, delivered)
	}
	entries := b.audit(offramp.ObjectCustomer, c.ID)
	if last := entry(t, entries, service.ActionKYCDecide); last.Details["failure_reason"] != offramp.ReasonTaxVerificationFailed {
		t.Errorf("audit = %+v", last)
	}
}

// A job that runs twice (a lapsed lease) records that it waits once.
func TestManualAwaitRecordedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, idcheck.Manual{})
	c := b.customer("Asha Verma", "ABCPV1234D")
	jobs := b.liveJobs(offramp.JobVerifyKYC, c.ID)
	for range 2 {
		if err := b.svc.RunJob(b.ctx, jobs[0]); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(b.audit(offramp.ObjectCustomer, c.ID)); n != 1 {
		t.Errorf("%d audit entries, want 1", n)
	}
}

func TestDecideValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, idcheck.Manual{})
	c := b.customer("Asha Verma", "ABCPV1234D")
	b.runJobs(offramp.JobVerifyKYC)
	cases := []struct {
		name                string
		verified            bool
		reason, why, by     string
		wantField, wantCode string
	}{
		{"no why", true, "", " ", "ops", "why", string(offramp.CodeInvalid)},
		{"no by", true, "", "ok", "", "by", string(offramp.CodeInvalid)},
		{"verified with a reason", true, offramp.ReasonKYCFailed, "ok", "ops", "reason", string(offramp.CodeInvalid)},
		{"failed without a reason", false, "", "ok", "ops", "reason", string(offramp.CodeInvalid)},
		{"failed with a bank reason", false, offramp.ReasonNameMismatch, "ok", "ops", "reason", string(offramp.CodeInvalid)},
	}
	for _, tc := range cases {
		_, err := b.svc.DecideKYC(b.ctx, c.ID, tc.verified, tc.reason, tc.why, tc.by)
		var e *offramp.Error
		if !errors.As(err, &e) || string(e.Code) != tc.wantCode || e.Fields[tc.wantField] == nil {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
	if _, err := b.svc.DecideBank(b.ctx, uuid.New(), false, offramp.ReasonTaxVerificationFailed, "ok", "ops"); code(err) != offramp.CodeInvalid {
		t.Errorf("bank with a KYC reason: %v", err)
	}
	if got := b.reload(c); got.Status != offramp.CustomerProcessing {
		t.Errorf("a refused decision changed the customer: %s", got.Status)
	}
	if _, err := b.svc.DecideKYC(b.ctx, uuid.New(), true, "", "ok", "ops"); code(err) != offramp.CodeNotFound {
		t.Errorf("unknown customer: %v", err)
	}
	if _, err := b.svc.DecideBank(b.ctx, uuid.New(), true, "", "ok", "ops"); code(err) != offramp.CodeNotFound {
		t.Errorf("unknown bank account: %v", err)
	}
}

// passKYC verifies every KYC: for bank account tests.
type passKYC struct{}

func (passKYC) VerifyKYC(context.Context, offramp.Customer) (offramp.Verdict, error) {
	return offramp.Verdict{Passed: true}, nil
}

func (b *bundle) verifiedCustomer(name string) offramp.Customer {
	b.t.Helper()
	c := b.customer(name, fmt.Sprintf("ABCPV%04dK", serial.Add(1)%10000))
	b.runJobs(offramp.JobVerifyKYC)
	if c = b.reload(c); c.Status != offramp.CustomerVerified {
		b.t.Fatalf("customer is %s", c.Status)
	}
	return c
}

func (b *bundle) bank(c offramp.Customer, account string) offramp.BankAccount {
	b.t.Helper()
	ba, err := b.svc.CreateBank(b.ctx, b.org.ID, service.CreateBankInput{CustomerID: c.ID.String(), AccountNumber: account, IFSC: "YESB0000262"})
	if err != nil {
		b.t.Fatal(err)
	}
	return ba
}

func TestManualBankDecision(t *testing.T) {
	t.Parallel()
	b := setup(t, idcheck.Combine(passKYC{}, idcheck.Manual{}))
	c := b.verifiedCustomer("Asha Verma")
	ba := b.bank(c, "7627389201")

	if errs := b.runJobs(offramp.JobVerifyBank); len(errs) != 0 {
		t.Fatalf("job errors: %v", errs)
	}
	cur, err := b.svc.Bank(b.ctx, b.org.ID, c.ID.String(), ba.ID.String())
	if err != nil || cur.Status != offramp.BankProcessing {
		t.Fatalf("after the job: %+v %v", cur, err)
	}
	if jobs := b.liveJobs(offramp.JobVerifyBank, ba.ID); len(jobs) != 0 {
		t.Fatalf("a job is still live: %+v", jobs)
	}
	entries := b.audit(offramp.ObjectBank, ba.ID)
	if len(entries) != 1 || entries[0].Action != service.ActionBankAwaiting {
		t.Fatalf("audit = %+v", entries)
	}
	if !strings.Contains(b.logs.String(), "offramp admin banks decide") {
		t.Errorf("no log line asks for an operator")
	}

	got, err := b.svc.DecideBank(b.ctx, ba.ID, false, offramp.ReasonNameMismatch, "statement shows another holder", "ops-ravi")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != offramp.BankFailed || got.FailureReason != offramp.ReasonNameMismatch {
		t.Fatalf("decided: %+v", got)
	}
	ev, delivered := b.lastEvent(offramp.ObjectBank, ba.ID)
	if ev.Event != "FAILED" || ev.Metadata["failure_reason"] != offramp.ReasonNameMismatch || !delivered {
		t.Errorf("event %+v, webhook queued %v", ev, delivered)
	}
	entries = b.audit(offramp.ObjectBank, ba.ID)
	if last := entry(t, entries, service.ActionBankDecide); len(entries) != 2 || last.Action != service.ActionBankDecide || last.Actor != "ops-ravi" ||
		last.Reason != "statement shows another holder" || last.Details["customer_id"] != c.ID.String() {
		t.Errorf("audit = %+v", entries)
	}
	if _, err := b.svc.DecideBank(b.ctx, ba.ID, true, "", "changed my mind", "ops-ravi"); code(err) != offramp.CodeRejected {
		t.Errorf("deciding twice: %v", err)
	}

	// A verification of another account, decided VERIFIED.
	ba2 := b.bank(c, "7627389202")
	b.runJobs(offramp.JobVerifyBank)
	if got, err := b.svc.DecideBank(b.ctx, ba2.ID, true, "", "cancelled cheque matches", "ops-ravi"); err != nil || got.Status != offramp.BankVerified {
		t.Fatalf("verify: %+v %v", got, err)
	}
	if ev, delivered := b.lastEvent(offramp.ObjectBank, ba2.ID); ev.Event != "VERIFIED" || !delivered {
		t.Errorf("event %+v, webhook queued %v", ev, delivered)
	}
}

// While a verification job is live (not yet run, or retrying an error),
// the operator can find the submission by its job and decide it; the job
// then finds it decided and does nothing.
func TestDecideWhileVerifying(t *testing.T) {
	t.Parallel()
	b := setup(t, idcheck.Manual{})
	c := b.customer("Asha Verma", "ABCPV1234D")
	if _, err := b.svc.DecideKYC(b.ctx, c.ID, false, offramp.ReasonDocumentVerificationFailed, "blurred scan", "ops"); err != nil {
		t.Fatal(err)
	}
	if errs := b.runJobs(offramp.JobVerifyKYC); len(errs) != 0 {
		t.Fatal(errs)
	}
	if got := b.reload(c); got.Status != offramp.CustomerFailed || got.FailureReason != offramp.ReasonDocumentVerificationFailed {
		t.Errorf("the job overturned the decision: %s %q", got.Status, got.FailureReason)
	}
	if n := len(b.audit(offramp.ObjectCustomer, c.ID)); n != 1 {
		t.Errorf("%d audit entries, want only the decision", n)
	}
}

// Cashfree's adapter against its fake, through the service: decisions,
// an operator's turn, and a retried outage.
func TestCashfreeThroughTheService(t *testing.T) {
	t.Parallel()
	fake := cashfreeidfake.New("id", "secret")
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cf, err := cashfree.New(cashfree.Config{BaseURL: srv.URL, ClientID: "id", ClientSecret: "secret", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, idcheck.Combine(cashfree.KYCVerifier{Client: cf}, cashfree.BankVerifier{Client: cf}))

	ok := b.customer("John Doe", cashfreeidfake.PANValid)
	bad := b.customer("John Doe", cashfreeidfake.PANNameMismatch)
	moderate := b.customer("John Doe", cashfreeidfake.PANModerateMatch)
	down := b.customer("John Doe", cashfreeidfake.PANServerError)
	errs := b.runJobs(offramp.JobVerifyKYC)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "HTTP 500") {
		t.Fatalf("job errors = %v, want the 500 only", errs)
	}
	for _, tc := range []struct {
		c      offramp.Customer
		status offramp.CustomerStatus
		reason string
	}{
		{ok, offramp.CustomerVerified, ""},
		{bad, offramp.CustomerFailed, offramp.ReasonTaxVerificationFailed},
		{moderate, offramp.CustomerProcessing, ""},
		{down, offramp.CustomerProcessing, ""},
	} {
		if got := b.reload(tc.c); got.Status != tc.status || got.FailureReason != tc.reason {
			t.Errorf("%s: %s %q, want %s %q", got.KYC.TaxNumber, got.Status, got.FailureReason, tc.status, tc.reason)
		}
	}
	if jobs := b.liveJobs(offramp.JobVerifyKYC, down.ID); len(jobs) != 1 || !strings.Contains(jobs[0].LastErr, "HTTP 500") {
		t.Errorf("the outage is not being retried: %+v", jobs)
	}
	if jobs := b.liveJobs(offramp.JobVerifyKYC, moderate.ID); len(jobs) != 0 {
		t.Errorf("the partial match is retried: %+v", jobs)
	}
	if e := b.audit(offramp.ObjectCustomer, moderate.ID); len(e) != 1 || !strings.Contains(e[0].Reason, "MODERATE_PARTIAL_MATCH") {
		t.Errorf("audit = %+v", e)
	}
	if _, err := b.svc.DecideKYC(b.ctx, moderate.ID, true, "", "middle name missing on KYC; PAN card image matches", "ops"); err != nil {
		t.Fatal(err)
	}
	// The outage is over: the retry decides.
	b.clock.Advance(time.Minute)
	fake.ScriptPAN(cashfreeidfake.PANServerError, 200, map[string]any{"valid": true, "type": "Individual",
		"registered_name": "JOHN DOE", "name_match_result": "DIRECT_MATCH", "pan_status": "VALID"})
	if errs := b.runJobs(offramp.JobVerifyKYC); len(errs) != 0 {
		t.Fatal(errs)
	}
	if got := b.reload(down); got.Status != offramp.CustomerVerified {
		t.Errorf("after the outage: %s", got.Status)
	}

	// Bank accounts of the verified customer.
	holder := b.bank(ok, "7627389201")
	other := b.bank(ok, "762738"+cashfreeidfake.AccountOtherHolder)
	noName := b.bank(ok, "762738"+cashfreeidfake.AccountNoName)
	if errs := b.runJobs(offramp.JobVerifyBank); len(errs) != 0 {
		t.Fatal(errs)
	}
	for _, tc := range []struct {
		ba     offramp.BankAccount
		status offramp.BankStatus
		reason string
	}{
		{holder, offramp.BankVerified, ""},
		{other, offramp.BankFailed, offramp.ReasonNameMismatch},
		{noName, offramp.BankProcessing, ""},
	} {
		got, err := b.svc.Bank(b.ctx, b.org.ID, ok.ID.String(), tc.ba.ID.String())
		if err != nil || got.Status != tc.status || got.FailureReason != tc.reason {
			t.Errorf("%s: %s %q (%v), want %s %q", got.AccountNumber, got.Status, got.FailureReason, err, tc.status, tc.reason)
		}
	}
	if _, err := b.svc.DecideBank(b.ctx, noName.ID, true, "", "bank letter confirms the holder", "ops"); err != nil {
		t.Fatal(err)
	}
}

// Without a verifier (production before any is configured) no job and no
// audit entry name the organization: the store's cross-organization
// lookup still finds the customer and the bank account.
func TestDecideWithoutVerifier(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	c := b.customer("Asha Verma", "ABCPV1234D")
	got, err := b.svc.DecideKYC(b.ctx, c.ID, true, "", "checked by hand", "ops")
	if err != nil || got.Status != offramp.CustomerVerified {
		t.Fatalf("DecideKYC = %+v, %v", got, err)
	}
	ba := b.bank(got, "7627389201")
	if got, err := b.svc.DecideBank(b.ctx, ba.ID, true, "", "checked by hand", "ops"); err != nil || got.Status != offramp.BankVerified {
		t.Fatalf("DecideBank = %+v, %v", got, err)
	}
	if _, err := b.svc.DecideKYC(b.ctx, uuid.New(), true, "", "x", "ops"); code(err) != offramp.CodeNotFound {
		t.Fatalf("unknown customer: %v", err)
	}
}

func TestPendingLists(t *testing.T) {
	t.Parallel()
	b := setup(t, idcheck.Combine(passKYC{}, idcheck.Manual{}))
	verified := b.verifiedCustomer("Asha Verma")
	ba := b.bank(verified, "7627389201")
	b.runJobs(offramp.JobVerifyBank) // left to an operator
	queued := b.bank(verified, "7627389202")

	banks, err := b.svc.PendingBanks(b.ctx, 10, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(banks) != 1 || banks[0].Bank.ID != ba.ID || !strings.Contains(banks[0].Why, "no automatic bank account check") || banks[0].Verifying {
		t.Fatalf("pending banks = %+v", banks)
	}
	all, err := b.svc.PendingBanks(b.ctx, 10, true)
	if err != nil || len(all) != 2 {
		t.Fatalf("with the ones verifying: %+v %v", all, err)
	}
	for _, p := range all {
		if p.Bank.ID == queued.ID && (!p.Verifying || p.Why != "") {
			t.Errorf("queued account: %+v", p)
		}
	}
	kyc, err := b.svc.PendingKYC(b.ctx, 10, true)
	if err != nil || len(kyc) != 0 {
		t.Errorf("pending KYC = %+v %v", kyc, err)
	}
}
