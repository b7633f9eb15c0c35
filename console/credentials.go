package console

import (
	"time"

	"github.com/offramp/offramp/operator"
)

// The console's use of package operator: checking a password hash and a
// TOTP code.

// checkPassword reports whether password matches the argon2id hash.
func (c *Console) checkPassword(hash, password string) bool {
	return operator.CheckPassword(hash, password)
}

// rehash is a fresh hash of a password that just checked against a hash
// made with older parameters ("" when the hash is current).
func (c *Console) rehash(hash, password string) string {
	if !operator.NeedsRehash(hash) {
		return ""
	}
	h, err := operator.HashPassword(password)
	if err != nil {
		return ""
	}
	return h
}

// checkTOTP reports whether code is the operator's TOTP code at now.
func (c *Console) checkTOTP(secret, code string, now time.Time) bool {
	return code != "" && operator.CheckTOTP(secret, code, now)
}

// dummy is a hash of nothing anybody types, checked for an unknown e-mail
// so that a login takes as long whether or not the operator exists.
func (c *Console) dummy() string {
	c.dummyOnce.Do(func() {
		h, err := operator.HashPassword(newToken())
		if err != nil {
			c.log.Error("console: hashing the dummy password", "err", err)
		}
		c.dummyHash = h
	})
	return c.dummyHash
}
