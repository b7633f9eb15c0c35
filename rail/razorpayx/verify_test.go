package razorpayx_test

import (
	"errors"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/rail/razorpayx"
)

func (e *env) verifier() *razorpayx.BankVerifier {
	e.t.Helper()
	v, err := razorpayx.NewBankVerifier(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

func TestBankVerifier(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{store: openStore(t, clock.NewFake(t0))})
	v := e.verifier()
	for _, tc := range []struct {
		name, account string
		want          offramp.Verdict
	}{
		{"passed with the registered name", "50100077770001", offramp.Verdict{Passed: true, HolderName: "Asha Verma"}},
		{"another holder (the service compares names)", "50100077771114", offramp.Verdict{Passed: true, HolderName: "Someone Else"}},
		{"invalid account", "50100077771111", offramp.Verdict{FailureReason: offramp.ReasonInvalidAccountNumber}},
		{"validation failed", "50100077771112", offramp.Verdict{FailureReason: offramp.ReasonPennyDropFailed}},
	} {
		tr := e.beneficiary(tc.account)
		c, b := e.bankOf(tr)
		got, err := v.VerifyBank(e.ctx, c, b)
		if err != nil || got != tc.want {
			t.Errorf("%s: VerifyBank = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	if n := e.srv.Counts().ValidationsCreated; n != 4 {
		t.Fatalf("%d validations, want 4", n)
	}

	// RazorpayX refusing the IFSC: no validation is paid for.
	tr := e.beneficiary("50100077770002")
	c, b := e.bankOf(tr)
	b.IFSC = "HDFC1234567"
	if got, err := v.VerifyBank(e.ctx, c, b); err != nil || got.FailureReason != offramp.ReasonInvalidIFSC {
		t.Fatalf("VerifyBank(bad IFSC) = %+v, %v; want INVALID_IFSC", got, err)
	}

	// A UPI handle is not a bank account RazorpayX validates here.
	vpa := b
	vpa.Type = offramp.BankVPA
	if got, err := v.VerifyBank(e.ctx, c, vpa); err != nil || got.Passed {
		t.Fatalf("VerifyBank(VPA) = %+v, %v", got, err)
	}
}

// A validation the bank has not answered is a transient error; the retry
// fetches the same validation instead of paying for another.
func TestBankVerifierPending(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{store: openStore(t, clock.NewFake(t0))})
	v := e.verifier()
	tr := e.beneficiary("50100077771113")
	c, b := e.bankOf(tr)
	for range 2 {
		_, err := v.VerifyBank(e.ctx, c, b)
		if !errors.Is(err, razorpayx.ErrValidationPending) {
			t.Fatalf("VerifyBank = %v, want ErrValidationPending", err)
		}
	}
	e.advance(6 * time.Hour)
	got, err := v.VerifyBank(e.ctx, c, b)
	if err != nil || got != (offramp.Verdict{Passed: true, HolderName: "Asha Verma"}) {
		t.Fatalf("VerifyBank after the bank answered = %+v, %v", got, err)
	}
	cnt := e.srv.Counts()
	if cnt.ValidationsCreated != 1 || cnt.FundAccountsCreated != 1 || cnt.FundAccountRequests != 1 {
		t.Fatalf("counts %+v: want one validation of one fund account", cnt)
	}
	// The payout rail reuses the fund account the verifier created.
	tr.Reference = newRef()
	e.submit(tr)
	if after := e.srv.Counts(); after.FundAccountRequests != 1 || after.ContactRequests != 1 {
		t.Fatalf("counts %+v: the payout created its own beneficiary", after)
	}
	p, _ := e.srv.Payout(tr.Reference)
	if ids := e.srv.FundAccountIDs(); len(ids) != 1 || p.FundAccountID != ids[0] {
		t.Fatalf("payout to %s, fund accounts %v", p.FundAccountID, ids)
	}
}
