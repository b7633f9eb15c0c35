package operator

import (
	"strings"
	"testing"
)

func TestHashPasswordRoundTrip(t *testing.T) {
	const pw = "correct horse battery staple"
	h, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id at OWASP's parameters in PHC form", h)
	}
	p, err := ParseHash(h)
	if err != nil || len(p.Salt) != 16 || len(p.Key) != 32 {
		t.Fatalf("ParseHash(%q) = %+v, %v", h, p, err)
	}
	if !CheckPassword(h, pw) {
		t.Fatal("the password does not check against its own hash")
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", pw + " "} {
		if CheckPassword(h, wrong) {
			t.Fatalf("%q checks against the hash of %q", wrong, pw)
		}
	}
	// A fresh salt every time.
	h2, err := HashPassword(pw)
	if err != nil || h2 == h || !CheckPassword(h2, pw) {
		t.Fatalf("second hash %q (%v) of the same password", h2, err)
	}
	if NeedsRehash(h) {
		t.Fatal("a current hash needs rehashing")
	}
}

// TestCheckPasswordOtherParameters: a hash made with other (in-bounds)
// parameters still checks, and asks to be rehashed.
func TestCheckPasswordOtherParameters(t *testing.T) {
	// argon2id with m=64 KiB, t=1, p=1 and the salt "somesalt".
	key := idKeyForTest("password", "somesalt", 1, 64, 1)
	full := "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$" + b64.EncodeToString(key)
	if !CheckPassword(full, "password") || CheckPassword(full, "Password") {
		t.Fatal("a hash with other parameters does not check")
	}
	if !NeedsRehash(full) {
		t.Fatal("an old-parameter hash does not ask for a rehash")
	}
}

func TestCheckPasswordMalformed(t *testing.T) {
	good, err := HashPassword("a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	for _, h := range []string{
		"",
		"plaintext",
		"$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,  // argon2i, not argon2id
		"$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key, // old version
		"$argon2id$v=19$m=19456,t=2$" + salt + "$" + key,     // no p
		"$argon2id$v=19$m=19456,t=2,p=1,x=3$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=99999999,t=2,p=1$" + salt + "$" + key, // 95 GiB: refused, not allocated
		"$argon2id$v=19$m=19456,t=1000,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$",
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "!$" + key, // not base64
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key[:10],
		"$argon2id$v=19$m=19456,t=2,p=1$$" + key,
		"$argon2id$v=19$m=+19456,t=2,p=1$" + salt + "$" + key,
		"x$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
	} {
		if CheckPassword(h, "a long enough password") {
			t.Errorf("malformed hash %q checks", h)
		}
		if _, err := ParseHash(h); err != ErrMalformedHash {
			t.Errorf("ParseHash(%q): %v, want ErrMalformedHash", h, err)
		}
		if !NeedsRehash(h) {
			t.Errorf("malformed hash %q does not need a rehash", h)
		}
	}
}
