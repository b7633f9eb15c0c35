package offramp

import (
	"errors"
	"testing"
)

func TestMask(t *testing.T) {
	for in, want := range map[string]string{"7627389201": "XXXXXX9201", "1234": "1234", "": ""} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"ravikumar@oksbi": "ra*******@oksbi", "ab@ybl": "ab@ybl", "a.b.c@x@okhdfc": "a.*****@okhdfc"} {
		if got := MaskVPA(in); got != want {
			t.Errorf("MaskVPA(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatusTransitions(t *testing.T) {
	if !CustomerUnverified.CanTransition(CustomerProcessing) || CustomerUnverified.CanTransition(CustomerVerified) {
		t.Error("UNVERIFIED may only go to PROCESSING")
	}
	if CustomerVerified.CanTransition(CustomerFailed) || !CustomerVerified.CanTransition(CustomerUnverified) {
		t.Error("VERIFIED may only go back to UNVERIFIED")
	}
	if !BankProcessing.CanTransition(BankVerified) || !BankProcessing.CanTransition(BankFailed) {
		t.Error("PROCESSING bank must be decidable")
	}
	for _, from := range []BankStatus{BankVerified, BankFailed} {
		for _, to := range []BankStatus{BankProcessing, BankVerified, BankFailed} {
			if from.CanTransition(to) {
				t.Errorf("bank %s -> %s allowed", from, to)
			}
		}
	}
}

func TestValidation(t *testing.T) {
	var v Validation
	if v.Err() != nil {
		t.Fatal("empty validation is an error")
	}
	v.Required("email", "")
	err := v.Err()
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalid || e.Message != "email: This field is required." {
		t.Fatalf("one generic problem: %v", err)
	}
	v.Add("phone", "Phone already in use")
	if !errors.As(v.Err(), &e) || e.Message != "Bad Request" || len(e.Fields) != 2 {
		t.Fatalf("two problems: %v", v.Err())
	}
	var w Validation
	w.Add("alpha_3_country_code", MsgInvalidCountry)
	if !errors.As(w.Err(), &e) || e.Message != MsgInvalidCountry {
		t.Fatalf("a documented message is kept as is: %v", w.Err())
	}
	if ErrorCode(nil) != "" || ErrorCode(errors.New("x")) != CodeInternal || ErrorCode(FieldError(CodeConflict, "f", "m")) != CodeConflict {
		t.Fatal("ErrorCode")
	}
}
