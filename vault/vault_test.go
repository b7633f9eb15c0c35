package vault

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func newVault(t *testing.T) *Vault {
	t.Helper()
	v, err := New(testKey(7))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNewRejectsBadKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New with %d-byte key: want error", n)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	v := newVault(t)
	for _, pt := range []string{"", "1234567890", "ABCDE1234F", "ünïcødé ✓", strings.Repeat("x", 10000)} {
		ct, err := v.Seal(pt, "bank_accounts.account_number:1")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(ct, "v1:") {
			t.Fatalf("ciphertext %q lacks version prefix", ct)
		}
		if pt != "" && strings.Contains(ct, pt) {
			t.Fatalf("ciphertext contains plaintext")
		}
		got, err := v.Open(ct, "bank_accounts.account_number:1")
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if got != pt {
			t.Fatalf("round trip: got %q, want %q", got, pt)
		}
	}
}

func TestWrongAADFails(t *testing.T) {
	v := newVault(t)
	ct, err := v.Seal("1234567890", "bank_accounts.account_number:row-a")
	if err != nil {
		t.Fatal(err)
	}
	for _, aad := range []string{"bank_accounts.account_number:row-b", "bank_accounts.vpa:row-a", ""} {
		if got, err := v.Open(ct, aad); !errors.Is(err, ErrDecrypt) || got != "" {
			t.Errorf("Open with aad %q = %q, %v; want ErrDecrypt", aad, got, err)
		}
	}
}

func TestOtherKeyFails(t *testing.T) {
	v := newVault(t)
	w, err := New(testKey(8))
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := v.Seal("secret", "a")
	if _, err := w.Open(ct, "a"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open under another key: %v, want ErrDecrypt", err)
	}
}

func TestTamperingFails(t *testing.T) {
	v := newVault(t)
	ct, err := v.Seal("1234567890", "aad")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(ct, "v1:"))
	if err != nil {
		t.Fatal(err)
	}
	// Flip every bit of nonce, ciphertext and tag in turn.
	for i := range raw {
		for bit := range 8 {
			mod := bytes.Clone(raw)
			mod[i] ^= 1 << bit
			got, err := v.Open("v1:"+base64.StdEncoding.EncodeToString(mod), "aad")
			if !errors.Is(err, ErrDecrypt) || got != "" {
				t.Fatalf("flipped byte %d bit %d: got %q, %v", i, bit, got, err)
			}
		}
	}
	bad := []string{
		"",
		"v1:",
		"v2:" + strings.TrimPrefix(ct, "v1:"),
		strings.TrimPrefix(ct, "v1:"),
		ct[:len(ct)-4],
		"v1:!!!not-base64!!!",
		"v1:" + base64.StdEncoding.EncodeToString(raw[:nonceSize+15]),
		ct + "AA==",
	}
	for _, c := range bad {
		if got, err := v.Open(c, "aad"); err == nil || got != "" {
			t.Errorf("Open(%q) = %q, %v; want error", c, got, err)
		}
	}
}

func TestNoncesDiffer(t *testing.T) {
	v := newVault(t)
	seen := map[string]bool{}
	nonces := map[string]bool{}
	for range 1000 {
		ct, err := v.Seal("same", "same")
		if err != nil {
			t.Fatal(err)
		}
		if seen[ct] {
			t.Fatal("two seals of the same value gave the same ciphertext")
		}
		seen[ct] = true
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(ct, "v1:"))
		n := string(raw[:nonceSize])
		if nonces[n] {
			t.Fatal("nonce reused")
		}
		nonces[n] = true
	}
}

func TestBlindIndex(t *testing.T) {
	v := newVault(t)
	a := v.BlindIndex("account_number", "1234567890")
	if a != v.BlindIndex("account_number", "1234567890") {
		t.Fatal("blind index is not deterministic")
	}
	if len(a) != 64 {
		t.Fatalf("blind index %q is not hex SHA-256", a)
	}
	if a == v.BlindIndex("tax_number", "1234567890") {
		t.Fatal("blind index does not separate kinds")
	}
	if a == v.BlindIndex("account_number", "1234567891") {
		t.Fatal("different values share an index")
	}
	// The separator keeps ("ab","c") and ("a","bc") apart.
	if v.BlindIndex("ab", "c") == v.BlindIndex("a", "bc") {
		t.Fatal("kind/value boundary is ambiguous")
	}
	w, _ := New(testKey(8))
	if a == w.BlindIndex("account_number", "1234567890") {
		t.Fatal("blind index does not depend on the key")
	}
	if strings.Contains(a, "1234567890") {
		t.Fatal("blind index leaks the value")
	}
}

func TestParseKey(t *testing.T) {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(250 - i) // produces '+', '/', '-', '_' in encodings
	}
	for name, s := range map[string]string{
		"std":        base64.StdEncoding.EncodeToString(key),
		"raw std":    base64.RawStdEncoding.EncodeToString(key),
		"url":        base64.URLEncoding.EncodeToString(key),
		"raw url":    base64.RawURLEncoding.EncodeToString(key),
		"whitespace": "  " + base64.StdEncoding.EncodeToString(key) + "\n",
	} {
		got, err := ParseKey(s)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, key) {
			t.Errorf("%s: wrong key", name)
		}
	}
	secret := "c2VjcmV0LXNlY3JldC1zZWNyZXQ" // 20 bytes: valid base64, wrong size
	for _, s := range []string{"", "   ", "not base64 at all!", secret, base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		_, err := ParseKey(s)
		if err == nil {
			t.Errorf("ParseKey(%q): want error", s)
			continue
		}
		if s != "" && strings.TrimSpace(s) != "" && strings.Contains(err.Error(), strings.TrimSpace(s)) {
			t.Errorf("error %q echoes the key", err)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "keys")
	path := filepath.Join(dir, "master.key")

	key, created, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !created || len(key) != KeySize {
		t.Fatalf("first call: created=%v len=%d", created, len(key))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("key dir mode %v, want 0700", di.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}

	again, created, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if created || !bytes.Equal(again, key) {
		t.Fatalf("second call: created=%v, same key=%v", created, bytes.Equal(again, key))
	}

	// A key written by an operator by hand is read, not replaced.
	manual := filepath.Join(t.TempDir(), "manual.key")
	want := testKey(9)
	if err := os.WriteFile(manual, []byte(base64.RawURLEncoding.EncodeToString(want)), 0o600); err != nil {
		t.Fatal(err)
	}
	got, created, err := LoadOrCreateKeyFile(manual)
	if err != nil || created || !bytes.Equal(got, want) {
		t.Fatalf("manual key: %v %v %v", err, created, bytes.Equal(got, want))
	}

	// A corrupt key file is an error, never silently replaced: replacing
	// it would orphan every value sealed under the old key.
	bad := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(bad, []byte("garbage"), 0o600)
	if _, _, err := LoadOrCreateKeyFile(bad); err == nil {
		t.Fatal("corrupt key file: want error")
	}
	if b, _ := os.ReadFile(bad); string(b) != "garbage" {
		t.Fatal("corrupt key file was overwritten")
	}
}

func TestLoadOrCreateKeyFileRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k", "master.key")
	const n = 16
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, _, err := LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for i := range keys {
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatal("concurrent creators disagree on the key")
		}
	}
}
