package sandbox

import (
	"testing"

	"github.com/offramp/offramp"
)

func TestVerifyKYC(t *testing.T) {
	base := offramp.KYC{TaxNumber: "ABCPK1234N", DocumentNumber: "123412341234", SelfieURL: "https://x.example/s.jpg", SelfieVerificationStatus: true, FullName: "Ravi Kumar"}
	cases := []struct {
		name   string
		edit   func(k *offramp.KYC)
		reason string
	}{
		{"clean", func(k *offramp.KYC) {}, ""},
		{"tax", func(k *offramp.KYC) { k.TaxNumber = FailTaxNumber }, offramp.ReasonTaxVerificationFailed},
		{"document", func(k *offramp.KYC) { k.DocumentNumber = FailDocumentNumber }, offramp.ReasonDocumentVerificationFailed},
		{"selfie url", func(k *offramp.KYC) { k.SelfieURL = "https://x.example/FAIL.png" }, offramp.ReasonSelfieVerificationFailed},
		{"selfie check", func(k *offramp.KYC) { k.SelfieVerificationStatus = false }, offramp.ReasonSelfieVerificationFailed},
	}
	for _, tc := range cases {
		k := base
		tc.edit(&k)
		v, err := Verifier{}.VerifyKYC(t.Context(), offramp.Customer{KYC: &k})
		if err != nil || v.Passed != (tc.reason == "") || v.FailureReason != tc.reason {
			t.Errorf("%s: got %+v %v, want reason %q", tc.name, v, err, tc.reason)
		}
	}
}

func TestVerifyBank(t *testing.T) {
	c := offramp.Customer{FullName: "Ravi Kumar", KYC: &offramp.KYC{FullName: "Ravi Kumar"}}
	for acct, reason := range map[string]string{
		"7627389201": "", "5012340000": offramp.ReasonInvalidAccountNumber,
		"5012341111": offramp.ReasonNameMismatch, "5012342222": offramp.ReasonPennyDropFailed,
	} {
		v, err := Verifier{}.VerifyBank(t.Context(), c, offramp.BankAccount{Type: offramp.BankAccountDetails, AccountNumber: acct})
		if err != nil || v.Passed != (reason == "") || v.FailureReason != reason {
			t.Errorf("%s: got %+v, want %q", acct, v, reason)
		}
		if reason == "" && v.HolderName != "Ravi Kumar" {
			t.Errorf("holder name %q, want the KYC name", v.HolderName)
		}
	}
	v, _ := Verifier{}.VerifyBank(t.Context(), c, offramp.BankAccount{Type: offramp.BankAccountDetails, AccountNumber: "7627389201", AccountName: "Someone Else"})
	if v.HolderName != "Someone Else" {
		t.Errorf("holder name %q, want the account name sent", v.HolderName)
	}
}
