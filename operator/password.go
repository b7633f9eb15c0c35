// Package operator holds the credentials of the people who run Offramp
// through its console: password hashes (argon2id) and second-factor
// codes (TOTP).
//
// Passwords are hashed with argon2id, the variant RFC 9106 recommends, at
// OWASP's Password Storage Cheat Sheet minimum: m = 19 MiB, t = 2, p = 1.
// That costs some tens of milliseconds per login on a server core and
// 19 MiB for that long, which a console with a handful of operators
// affords, while RFC 9106's first recommended option (2 GiB) would not fit
// a small instance. Hashes are stored in the PHC string format
// ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash", unpadded standard base64),
// so parameters can be raised later and old hashes still check.
//
// TOTP is RFC 6238 with the parameters every authenticator app supports:
// HMAC-SHA-1, 30-second steps, 6 digits, a 160-bit secret in base32.
package operator

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// The argon2id parameters of new hashes (OWASP's minimum for argon2id).
const (
	argonMemory  = 19 * 1024 // KiB: 19 MiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Bounds on the parameters CheckPassword accepts from a stored hash, so
// that a corrupt or hostile hash cannot make a login allocate gigabytes
// or spin for minutes.
const (
	maxMemory  = 1024 * 1024 // KiB: 1 GiB
	maxTime    = 16
	maxThreads = 16
	minKeyLen  = 16
	maxKeyLen  = 64
)

// ErrMalformedHash is returned by ParseHash for a string that is not an
// argon2id hash in PHC form, or whose parameters are out of bounds.
var ErrMalformedHash = errors.New("operator: malformed argon2id hash")

var b64 = base64.RawStdEncoding

// HashPassword hashes pw with argon2id and a fresh random salt, returning
// the PHC string form. It fails only when the system's random source does.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("operator: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches hash, a string HashPassword
// made (or any argon2id PHC hash within bounds). A malformed hash matches
// nothing. The final comparison is constant-time.
func CheckPassword(hash, pw string) bool {
	p, err := ParseHash(hash)
	if err != nil {
		return false
	}
	key := argon2.IDKey([]byte(pw), p.Salt, p.Time, p.Memory, p.Threads, uint32(len(p.Key)))
	return subtle.ConstantTimeCompare(key, p.Key) == 1
}

// Params are the parts of an argon2id PHC hash.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	Salt    []byte
	Key     []byte
}

// NeedsRehash reports whether hash was made with parameters other than
// HashPassword's current ones (or is malformed): a login that checked the
// password may then store a fresh hash.
func NeedsRehash(hash string) bool {
	p, err := ParseHash(hash)
	return err != nil || p.Memory != argonMemory || p.Time != argonTime || p.Threads != argonThreads ||
		len(p.Salt) != argonSaltLen || len(p.Key) != argonKeyLen
}

// ParseHash reads "$argon2id$v=19$m=M,t=T,p=P$salt$key". Only version 19
// (0x13) is accepted; the parameters must be within bounds.
func ParseHash(hash string) (Params, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || parts[2] != fmt.Sprintf("v=%d", version) ||
		version != argon2.Version {
		return Params{}, ErrMalformedHash
	}
	var p Params
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, threads) {
		return Params{}, ErrMalformedHash
	}
	if threads < 1 || threads > maxThreads || p.Time < 1 || p.Time > maxTime ||
		p.Memory < 8*threads || p.Memory > maxMemory {
		return Params{}, ErrMalformedHash
	}
	p.Threads = uint8(threads)
	var err error
	if p.Salt, err = b64.DecodeString(parts[4]); err != nil || len(p.Salt) < 8 {
		return Params{}, ErrMalformedHash
	}
	if p.Key, err = b64.DecodeString(parts[5]); err != nil || len(p.Key) < minKeyLen || len(p.Key) > maxKeyLen {
		return Params{}, ErrMalformedHash
	}
	return p, nil
}
