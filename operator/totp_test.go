package operator

import (
	"encoding/base32"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rfcSecret is the SHA-1 seed of RFC 6238 Appendix B: the ASCII string
// "12345678901234567890".
var rfcSecret = []byte("12345678901234567890")

// TestHOTPRFC6238: the SHA-1 rows of RFC 6238 Appendix B, 8 digits as
// printed there.
func TestHOTPRFC6238(t *testing.T) {
	for _, tc := range []struct {
		unix int64
		step uint64 // T, as printed in the RFC (hex there)
		code string
	}{
		{59, 0x1, "94287082"},
		{1111111109, 0x23523EC, "07081804"},
		{1111111111, 0x23523ED, "14050471"},
		{1234567890, 0x273EF07, "89005924"},
		{2000000000, 0x3F940AA, "69279037"},
		{20000000000, 0x27BC86AA, "65353130"},
	} {
		tm := time.Unix(tc.unix, 0)
		if c := counter(tm); c != tc.step {
			t.Errorf("T at %d = %#x, want %#x", tc.unix, c, tc.step)
		}
		if got := hotp(rfcSecret, counter(tm), 8); got != tc.code {
			t.Errorf("8-digit code at %d = %s, want %s", tc.unix, got, tc.code)
		}
		// The 6-digit code is the low 6 digits (the same value mod 10^6).
		secret := base32.StdEncoding.EncodeToString(rfcSecret) // GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
		if got := TOTPCode(secret, tm); got != tc.code[2:] {
			t.Errorf("TOTPCode at %d = %s, want %s", tc.unix, got, tc.code[2:])
		}
		if !CheckTOTP(secret, tc.code[2:], tm) {
			t.Errorf("CheckTOTP refuses the code at %d", tc.unix)
		}
	}
}

// TestCheckTOTPWindow: the codes of the step before and after are
// accepted, two steps away are not; a code of the wrong length, a wrong
// code and a bad secret are refused.
func TestCheckTOTPWindow(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString(rfcSecret)
	at := time.Unix(1111111111, 0) // step 0x23523ED, 1 s into it
	step := func(d int) string { return TOTPCode(secret, at.Add(time.Duration(d*totpStep)*time.Second)) }
	for _, d := range []int{-1, 0, 1} {
		if !CheckTOTP(secret, step(d), at) {
			t.Errorf("code of step %+d refused", d)
		}
	}
	for _, d := range []int{-3, -2, 2, 3} {
		if c := step(d); c != step(0) && c != step(-1) && c != step(1) && CheckTOTP(secret, c, at) {
			t.Errorf("code of step %+d accepted", d)
		}
	}
	cur := step(0)
	wrong := []byte(cur)
	wrong[5] = '0' + (wrong[5]-'0'+1)%10
	for _, c := range []string{"", "12345", "1234567", string(wrong), " " + cur[1:], cur + " "} {
		if c != step(-1) && c != step(1) && CheckTOTP(secret, c, at) {
			t.Errorf("code %q accepted", c)
		}
	}
	if CheckTOTP("not base32!", cur, at) || TOTPCode("not base32!", at) != "" || CheckTOTP("", cur, at) {
		t.Error("a malformed secret checks")
	}
	// A secret as people copy it: lower case, spaced, padded.
	messy := strings.ToLower(secret[:4] + " " + secret[4:])
	if TOTPCode(messy, at) != cur {
		t.Error("a lower-case, spaced secret gives another code")
	}
	// Step 0 has no step before it.
	if !CheckTOTP(secret, TOTPCode(secret, time.Unix(0, 0)), time.Unix(5, 0)) {
		t.Error("code at the epoch refused")
	}
}

func TestNewTOTPSecret(t *testing.T) {
	a, b := NewTOTPSecret(), NewTOTPSecret()
	if a == b || len(a) != 32 {
		t.Fatalf("secrets %q %q", a, b)
	}
	key, ok := decodeSecret(a)
	if !ok || len(key) != 20 {
		t.Fatalf("secret %q decodes to %d bytes", a, len(key))
	}
	if c := TOTPCode(a, time.Unix(1700000000, 0)); len(c) != 6 {
		t.Fatalf("code %q", c)
	}
}

func TestTOTPURI(t *testing.T) {
	u, err := url.Parse(TOTPURI("Offramp", "asha@ops.example", "JBSWY3DPEHPK3PXP"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Offramp:asha@ops.example" ||
		q.Get("secret") != "JBSWY3DPEHPK3PXP" || q.Get("issuer") != "Offramp" || q.Get("digits") != "6" ||
		q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Fatalf("otpauth URI %s", u)
	}
}
