package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/offramp/offramp/vault"
)

// signedTry is signedDo for a request that may fail: it returns the
// envelope's status flag and message instead of failing the test.
func signedTry(t *testing.T, base, method, path, key, secret string, body map[string]any) (bool, string) {
	t.Helper()
	ok, msg, _ := signedCall(t, base, method, path, key, secret, body)
	return ok, msg
}

func readKey(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := vault.ParseKey(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func wantMode0600(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
}

// TestRotateMasterKey: data created through a real server on SQLite with a
// sandbox key file, the server stopped, the key rotated, the server
// started again on the rotated key file: the same API credentials read
// the same customer and bank account, and the account number's blind index
// still enforces uniqueness.
func TestRotateMasterKey(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "offramp.db")
	keyFile := filepath.Join(dir, "master.key")

	s := startServe(t, bin, dir, "--verify-delay", "200ms")
	if s.key == "" || s.secret == "" {
		t.Fatalf("no credentials printed:\n%s", s.stdout)
	}
	do := func(base, method, path string, body map[string]any) map[string]any {
		return signedDo(t, base, method, path, s.key, s.secret, body)
	}
	waitFor := func(base, path, field, want string) map[string]any {
		var got map[string]any
		s.eventually(t, path+" "+field+" "+want, func() (bool, string) {
			got = do(base, "GET", path, nil)
			return got[field] == want, fmt.Sprintf("%s: %s still %v", path, field, got[field])
		})
		return got
	}
	cust := do(s.base, "POST", "/cms/api/v1/customer/create", map[string]any{
		"full_name": "Rotate Test", "email": "rotate@example.com", "phone": "9876543210", "alpha_3_country_code": "IND"})["id"].(string)
	do(s.base, "POST", "/cms/api/v1/kyc/add-kyc-data", map[string]any{
		"customer_id": cust, "full_name": "Rotate Test", "full_address": "1 Key Road", "dob": "01-01-1990",
		"registered_date": "01-01-2024", "tax_number": "ABCPR1234K", "document_type": "AADHAAR",
		"document_front_image_url": "https://x.example/f.jpg", "document_back_image_url": "https://x.example/b.jpg",
		"document_details": map[string]any{"document_number": "123412341234"}, "selfie_url": "https://x.example/s.jpg",
		"selfie_verification_status": true})
	customerPath := "/cms/api/v1/customer/" + cust
	customer := waitFor(s.base, customerPath, "status", "VERIFIED")
	bankBody := map[string]any{"customer_id": cust, "account_number": "123456789012", "ifsc": "SBIN0001829"}
	bankID := do(s.base, "POST", "/cms/api/v1/bank/create", bankBody)["id"].(string)
	bankPath := "/cms/api/v1/bank/" + cust + "/" + bankID
	bank := waitFor(s.base, bankPath, "bank_account_status", "VERIFIED")
	s.stop(t)

	oldKey := readKey(t, keyFile)
	newKey := make([]byte, vault.KeySize)
	rand.Read(newKey)
	rotate := func(env ...string) (string, error) {
		cmd := exec.Command(bin, "admin", "rotate-master-key", "--db", db)
		cmd.Env = append(os.Environ(), append([]string{"OFFRAMP_MASTER_KEY=", "OFFRAMP_NEW_MASTER_KEY="}, env...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// Refusals change nothing.
	if out, err := rotate(); err == nil || !strings.Contains(out, "OFFRAMP_NEW_MASTER_KEY is not set") {
		t.Fatalf("without a new key: %v\n%s", err, out)
	}
	if out, err := rotate("OFFRAMP_NEW_MASTER_KEY=" + vault.EncodeKey(oldKey)); err == nil || !strings.Contains(out, "is the current master key") {
		t.Fatalf("new key equal to the current one: %v\n%s", err, out)
	}
	if out, err := rotate("OFFRAMP_NEW_MASTER_KEY=c2hvcnQ="); err == nil || !strings.Contains(out, "must decode to 32 bytes") {
		t.Fatalf("short new key: %v\n%s", err, out)
	}
	wrong := bytes.Repeat([]byte{9}, vault.KeySize)
	if out, err := rotate("OFFRAMP_MASTER_KEY="+vault.EncodeKey(wrong), "OFFRAMP_NEW_MASTER_KEY="+vault.EncodeKey(newKey)); err == nil || !strings.Contains(out, "does not decrypt") {
		t.Fatalf("wrong current key: %v\n%s", err, out)
	}
	if !bytes.Equal(readKey(t, keyFile), oldKey) {
		t.Fatal("a refused rotation changed the key file")
	}
	if _, err := os.Stat(keyFile + ".old"); err == nil {
		t.Fatal("a refused rotation wrote master.key.old")
	}

	out, err := rotate("OFFRAMP_NEW_MASTER_KEY=" + vault.EncodeKey(newKey))
	if err != nil {
		t.Fatalf("rotate-master-key: %v\n%s", err, out)
	}
	for _, want := range []string{"api_keys.api_secret", "bank_accounts.account_number_index", "customer_kyc.tax_number",
		"restart every instance with OFFRAMP_MASTER_KEY set to the new key"} {
		if !strings.Contains(out, want) {
			t.Fatalf("rotate output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, s.secret) || strings.Contains(out, vault.EncodeKey(newKey)) || strings.Contains(out, vault.EncodeKey(oldKey)) {
		t.Fatalf("rotate printed a secret:\n%s", out)
	}
	t.Logf("rotate-master-key:\n%s", out)
	if !bytes.Equal(readKey(t, keyFile), newKey) {
		t.Fatal("master.key does not hold the new key")
	}
	if !bytes.Equal(readKey(t, keyFile+".old"), oldKey) {
		t.Fatal("master.key.old does not hold the old key")
	}
	wantMode0600(t, keyFile)
	wantMode0600(t, keyFile+".old")

	// The server reads the rotated key file: the same credentials work
	// (the API secret is sealed), and the stored data reads back the same.
	s2 := startServe(t, bin, dir)
	if got := do(s2.base, "GET", customerPath, nil); !reflect.DeepEqual(got, customer) {
		t.Fatalf("customer after rotation:\n%v\nwant\n%v", got, customer)
	}
	if got := do(s2.base, "GET", bankPath, nil); !reflect.DeepEqual(got, bank) {
		t.Fatalf("bank after rotation:\n%v\nwant\n%v", got, bank)
	}
	// The account number's blind index was recomputed: a second account
	// with the same number is still refused.
	dup := map[string]any{"customer_id": cust, "account_number": bankBody["account_number"], "ifsc": "HDFC0001234"}
	if ok, msg := signedTry(t, s2.base, "POST", "/cms/api/v1/bank/create", s.key, s.secret, dup); ok || !strings.Contains(msg, "Account number already in use") {
		t.Fatalf("duplicate account after rotation: status %t, %q", ok, msg)
	}
	s2.stop(t)
}
