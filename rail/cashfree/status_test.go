package cashfree

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// The documented status table, row by row.
func TestResultOf(t *testing.T) {
	acc := offramp.RailResult{Status: offramp.RailAccepted}
	for _, tc := range []struct {
		tr    transfer
		want  offramp.RailResult
		known bool
	}{
		{transfer{Status: "RECEIVED"}, acc, true},
		{transfer{Status: "PENDING", TransferUTR: "512000000001"}, acc, true},
		{transfer{Status: "APPROVAL_PENDING", StatusCode: "VELOCITY_CHECK_FAILED"}, acc, true},
		{transfer{Status: "SCHEDULED", StatusCode: "SCHEDULED_FOR_NEXT_WORKINGDAY"}, acc, true},
		{transfer{Status: "QUEUED"}, acc, true},
		{transfer{Status: "SUCCESS", StatusCode: "COMPLETED", TransferUTR: "512000000001"}, offramp.RailResult{Status: offramp.RailSuccess, UTR: "512000000001"}, true},
		{transfer{Status: "success", StatusCode: "SENT_TO_BENEFICIARY", TransferUTR: " N351200478962883 "}, offramp.RailResult{Status: offramp.RailSuccess, UTR: "N351200478962883"}, true},
		{transfer{Status: "SUCCESS"}, acc, true},
		{transfer{Status: "FAILED", StatusCode: "BENE_BANK_DECLINED"}, offramp.RailResult{Status: offramp.RailRejected, Reason: offramp.ReasonBeneficiaryBankRejected}, true},
		{transfer{Status: "FAILED", StatusCode: "INVALID_IFSC_FAIL"}, offramp.RailResult{Status: offramp.RailRejected, Reason: offramp.ReasonInvalidIFSC}, true},
		{transfer{Status: "FAILED", StatusCode: "SOME_NEW_CODE"}, offramp.RailResult{Status: offramp.RailRejected, Reason: "SOME_NEW_CODE"}, true},
		{transfer{Status: "FAILED", StatusCode: "bad code!"}, offramp.RailResult{Status: offramp.RailRejected, Reason: offramp.ReasonBeneficiaryBankRejected}, true},
		{transfer{Status: "FAILED", StatusDescription: "Beneficiary name does not match 918273645500"}, offramp.RailResult{Status: offramp.RailRejected, Reason: offramp.ReasonNameMismatch}, true},
		{transfer{Status: "REJECTED", StatusCode: "INSUFFICIENT_BALANCE"}, offramp.RailResult{Status: offramp.RailRejected, Reason: ReasonInsufficientBalance}, true},
		{transfer{Status: "MANUALLY_REJECTED"}, offramp.RailResult{Status: offramp.RailRejected, Reason: ReasonManuallyRejected}, true},
		{transfer{Status: "REVERSED", StatusCode: "INVALID_ACCOUNT_FAIL", TransferUTR: "512000000001"}, offramp.RailResult{Status: offramp.RailReversed, UTR: "512000000001", Reason: offramp.ReasonInvalidAccountNumber}, true},
		{transfer{Status: "REVERSED", TransferUTR: "512000000001"}, offramp.RailResult{Status: offramp.RailReversed, UTR: "512000000001", Reason: offramp.ReasonReversedByBank}, true},
		{transfer{Status: "REVERSED", StatusCode: "ACCOUNT_BLOCKED"}, offramp.RailResult{Status: offramp.RailRejected, Reason: ReasonAccountBlocked}, true},
		{transfer{Status: "ON_HOLD"}, acc, false},
		{transfer{Status: ""}, acc, false},
	} {
		got, known := resultOf(tc.tr)
		if got != tc.want || known != tc.known {
			t.Errorf("resultOf(%+v) = %+v, %v; want %+v, %v", tc.tr, got, known, tc.want, tc.known)
		}
		if got.Reason != "" && token(got.Reason) == "" {
			t.Errorf("resultOf(%+v): reason %q is not a token", tc.tr, got.Reason)
		}
	}
	for code, reason := range statusCodeReasons {
		if token(code) == "" || token(reason) == "" {
			t.Errorf("statusCodeReasons[%q] = %q: not tokens", code, reason)
		}
	}
}

func TestBeneficiaryErrorReason(t *testing.T) {
	for code, want := range map[string]string{
		"beneficiary_details.beneficiary_instrument_details.bank_account_number_invalid": offramp.ReasonInvalidAccountNumber,
		"beneficiary_details.beneficiary_instrument_details.bank_ifsc_invalid":           offramp.ReasonInvalidIFSC,
		"bank_ifsc_missing":                                              offramp.ReasonInvalidIFSC,
		"beneficiary_details.beneficiary_name_invalid":                   ReasonInvalidBeneficiaryName,
		"bank_account_number_same_as_source":                             ReasonBeneficiarySameAsSource,
		"beneficiary_account_same_as_source":                             ReasonBeneficiarySameAsSource,
		"vba_bene_not_allowed":                                           ReasonBeneficiaryNotAllowed,
		"beneficiary_not_found":                                          ReasonBeneficiaryNotFound,
		"beneficiary_blacklisted":                                        ReasonBeneficiaryBlacklisted,
		"beneficiary_details.beneficiary_instrument_details.vpa_invalid": "VPA_INVALID",
	} {
		if got, ok := beneficiaryErrorReason(code); !ok || got != want {
			t.Errorf("beneficiaryErrorReason(%q) = %q, %v; want %q", code, got, ok, want)
		}
	}
	for _, code := range []string{"transfer_amount_invalid", "transfer_id_invalid", "transfer_mode_invalid", "insufficient_balance", "apis_not_enabled", "", "internal_server_error"} {
		if got, ok := beneficiaryErrorReason(code); ok {
			t.Errorf("beneficiaryErrorReason(%q) = %q: not about the beneficiary", code, got)
		}
	}
}

func TestBeneficiaryName(t *testing.T) {
	for in, want := range map[string]string{
		"Asha Rao":             "Asha Rao",
		"  Asha  K. Rao-Iyer ": "Asha K Rao Iyer",
		"O'Brien, Mary":        "O Brien Mary",
		"１２３":                  "",
		"123":                  "",
	} {
		if got := beneficiaryName(in); got != want {
			t.Errorf("beneficiaryName(%q) = %q, want %q", in, got, want)
		}
	}
	long := ""
	for range 30 {
		long += "Abcd "
	}
	if got := beneficiaryName(long); len(got) > 100 || got[len(got)-1] == ' ' {
		t.Errorf("beneficiaryName(150 chars) = %q (%d)", got, len(got))
	}
	if got := remarks("Payout #42 for Asha! " + long); len(got) > 70 || got[:19] != "Payout 42 for Asha " {
		t.Errorf("remarks = %q", got)
	}
}

func TestNewValidates(t *testing.T) {
	ok := Config{ClientID: "id", ClientSecret: "secret"}
	r, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	if r.base != DefaultBaseURL || r.apiVersion != DefaultAPIVersion || r.webhookSecret != "secret" || r.largeMode != "neft" || !r.impsLimit.Equal(DefaultIMPSLimit) {
		t.Fatalf("defaults: %+v", r)
	}
	if got := r.Capabilities(); !got.DedupsReferences || got.PostingDelay != DefaultPostingDelay {
		t.Fatalf("Capabilities = %+v", got)
	}
	for name, mutate := range map[string]func(*Config){
		"no id":        func(c *Config) { c.ClientID = "" },
		"no secret":    func(c *Config) { c.ClientSecret = "" },
		"bad url":      func(c *Config) { c.BaseURL = "ftp://x" },
		"url userinfo": func(c *Config) { c.BaseURL = "https://a:b@api.cashfree.com/payout" },
		"bad version":  func(c *Config) { c.APIVersion = "v2" },
		"bad mode":     func(c *Config) { c.LargeMode = "upi" },
		"neg limit":    func(c *Config) { c.IMPSLimit = decimal.NewFromInt(-1) },
		"neg max age":  func(c *Config) { c.WebhookMaxAge = -1 },
	} {
		c := ok
		mutate(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted %+v", name, c)
		}
	}
}
