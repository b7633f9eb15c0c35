package operator

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"net/url"
	"strings"
	"time"
)

// TOTP parameters (RFC 6238 defaults, which authenticator apps assume).
const (
	totpStep      = 30 // seconds
	totpDigits    = 6
	totpSecretLen = 20 // bytes: 160 bits, RFC 4226's recommended length
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a fresh secret: 20 random bytes in unpadded
// base32 (32 characters), the form authenticator apps take. It panics
// only if the system's random source fails, which crypto/rand does not
// return as an error on supported platforms.
func NewTOTPSecret() string {
	b := make([]byte, totpSecretLen)
	if _, err := rand.Read(b); err != nil {
		panic("operator: random source failed: " + err.Error())
	}
	return b32.EncodeToString(b)
}

// decodeSecret reads a base32 secret as people copy it: any case, with or
// without padding and spaces.
func decodeSecret(secret string) ([]byte, bool) {
	s := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(secret), " ", ""))
	s = strings.TrimRight(s, "=")
	key, err := b32.DecodeString(s)
	if err != nil || len(key) == 0 {
		return nil, false
	}
	return key, true
}

// TOTPCode is the 6-digit code of secret for the 30-second step holding
// t. A secret that is not base32 has no code: "".
func TOTPCode(secret string, t time.Time) string {
	key, ok := decodeSecret(secret)
	if !ok {
		return ""
	}
	return hotp(key, counter(t), totpDigits)
}

// CheckTOTP reports whether code is secret's code for the step holding t
// or the step before or after it (clock drift between phone and server,
// and a code typed as it rolled over). Every candidate is compared in
// constant time, and all three are computed, so the time taken does not
// tell which step matched.
func CheckTOTP(secret, code string, t time.Time) bool {
	key, ok := decodeSecret(secret)
	if !ok || len(code) != totpDigits {
		return false
	}
	c := counter(t)
	match := 0
	for _, d := range []int64{-1, 0, 1} {
		if d < 0 && c == 0 {
			continue
		}
		want := hotp(key, uint64(int64(c)+d), totpDigits)
		match |= subtle.ConstantTimeCompare([]byte(want), []byte(code))
	}
	return match == 1
}

// TOTPURI is the otpauth:// URI that authenticator apps import (usually as
// a QR code) for account at issuer.
func TOTPURI(issuer, account, secret string) string {
	q := url.Values{}
	q.Set("secret", secret)
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", "6")
	q.Set("period", "30")
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	return "otpauth://totp/" + label + "?" + q.Encode()
}

// counter is RFC 6238's T = floor((unix time - T0) / X) with T0 = 0 and
// X = 30 s. Times before 1970 are step 0.
func counter(t time.Time) uint64 {
	u := t.Unix()
	if u < 0 {
		return 0
	}
	return uint64(u) / totpStep
}

// hotp is RFC 4226's HOTP with HMAC-SHA-1: the HMAC of the 8-byte
// big-endian counter, dynamic truncation to 31 bits, the low digits in
// decimal, zero-padded.
func hotp(key []byte, c uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], c)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	s := make([]byte, digits)
	v %= mod
	for i := digits - 1; i >= 0; i-- {
		s[i] = byte('0' + v%10)
		v /= 10
	}
	return string(s)
}
