// Package vault encrypts individual fields before they reach storage, so a
// copy of the database file, a WAL segment or a backup does not reveal API
// secrets, account numbers or identity documents.
//
// One 32-byte master key feeds HKDF-SHA256, which derives independent
// subkeys: an AES-256-GCM key for ciphertexts and an HMAC-SHA256 key for
// blind indexes. Keeping them apart means an index value can never help an
// attacker with a ciphertext, and either use can change without the other.
//
// Ciphertexts are text, "v1:" followed by base64(nonce || sealed). The
// version prefix is where key rotation will hook in: a later key version gets
// its own prefix and Open picks the key by prefix.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a master key in bytes.
const KeySize = 32

const (
	prefixV1  = "v1:"
	nonceSize = 12
	// HKDF info strings name what a subkey is for; changing one changes
	// every ciphertext or index derived from it, so they are frozen.
	infoDataKey  = "offramp/vault/v1/aes-256-gcm data key"
	infoIndexKey = "offramp/vault/v1/hmac-sha256 blind index key"
)

// ErrDecrypt is returned by Open for any ciphertext that does not
// authenticate: tampered, truncated, sealed under another key or another
// AAD. The cause is deliberately not more specific, so the error cannot be
// used as an oracle.
var ErrDecrypt = errors.New("vault: ciphertext cannot be decrypted (tampered, wrong key or wrong location)")

// Vault seals and opens field values and computes blind indexes. It is safe
// for concurrent use.
type Vault struct {
	aead     cipher.AEAD
	indexKey []byte
}

// New derives the vault's subkeys from a 32-byte master key.
func New(masterKey []byte) (*Vault, error) {
	if len(masterKey) != KeySize {
		return nil, fmt.Errorf("vault: master key must be %d bytes, got %d", KeySize, len(masterKey))
	}
	dataKey, err := hkdf.Key(sha256.New, masterKey, nil, infoDataKey, 32)
	if err != nil {
		return nil, fmt.Errorf("vault: derive data key: %w", err)
	}
	indexKey, err := hkdf.Key(sha256.New, masterKey, nil, infoIndexKey, 32)
	if err != nil {
		return nil, fmt.Errorf("vault: derive index key: %w", err)
	}
	block, err := aes.NewCipher(dataKey)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return &Vault{aead: aead, indexKey: indexKey}, nil
}

// Seal encrypts plaintext, bound to aad. Callers pass where the value is
// stored ("bank_accounts.account_number:<row id>") as aad, so a ciphertext
// copied into another row or column fails to open instead of silently
// yielding the other row's value.
func (v *Vault) Seal(plaintext, aad string) (string, error) {
	buf := make([]byte, nonceSize, nonceSize+len(plaintext)+v.aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("vault: read nonce: %w", err)
	}
	buf = v.aead.Seal(buf, buf[:nonceSize], []byte(plaintext), []byte(aad))
	return prefixV1 + base64.StdEncoding.EncodeToString(buf), nil
}

// Open decrypts a value produced by Seal with the same aad. Any tampering
// yields ErrDecrypt, never partial or garbage plaintext.
func (v *Vault) Open(ciphertext, aad string) (string, error) {
	body, ok := strings.CutPrefix(ciphertext, prefixV1)
	if !ok {
		return "", fmt.Errorf("vault: unknown ciphertext version: %w", ErrDecrypt)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(body)
	if err != nil || len(raw) < nonceSize+v.aead.Overhead() {
		return "", ErrDecrypt
	}
	pt, err := v.aead.Open(nil, raw[:nonceSize], raw[nonceSize:], []byte(aad))
	if err != nil {
		return "", ErrDecrypt
	}
	return string(pt), nil
}

// BlindIndex returns a keyed hash of value for equality lookups and unique
// indexes over encrypted columns. kind separates the domains, so the same
// number used as an account number and as a tax number gives unrelated
// indexes. The index is deterministic by design: it reveals which rows hold
// equal values, and nothing else without the key.
func (v *Vault) BlindIndex(kind, value string) string {
	m := hmac.New(sha256.New, v.indexKey)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}
