package console

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestMaskEmail(t *testing.T) {
	for in, want := range map[string]string{
		"priya.sharma@example.com": "p***@example.com", "a@b.in": "a***@b.in", "ä.x@example.com": "ä***@example.com",
		"no-at-sign-here": "XXXXXXXXXXXhere", "@example.com": "XXXXXXXX.com",
	} {
		if got := maskEmail(in); got != want {
			t.Errorf("maskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSignedAmount(t *testing.T) {
	for _, tc := range []struct{ cur, in, want string }{
		{"INR", "-8738.8", "−₹8,738.80"}, {"USDT", "100", "100 USDT"}, {"USDT", "-0.000001", "−0.000001 USDT"}, {"USDT", "0", "0 USDT"},
	} {
		if got := signedAmount(tc.cur, decimal.RequireFromString(tc.in)); got != tc.want {
			t.Errorf("signedAmount(%s, %s) = %q, want %q", tc.cur, tc.in, got, tc.want)
		}
	}
}

// The console asks what `offramp admin operators` asks of a password.
func TestCheckPasswordRules(t *testing.T) {
	for pw, ok := range map[string]bool{
		"correct horse battery staple": true, "twelve chars": true, "eleven char": false, "ünïcödé pässwörd": true,
		"ab\ncdefghijklmn": false, "ab\rcdefghijklmn": false, "\xff\xfe not utf-8 at all": false,
		strings.Repeat("x", 1024): true, strings.Repeat("x", 1025): false,
	} {
		if got := checkPasswordRules(pw) == ""; got != ok {
			t.Errorf("checkPasswordRules(%.20q): ok %v, want %v", pw, got, ok)
		}
	}
}
