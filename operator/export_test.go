package operator

import "golang.org/x/crypto/argon2"

func idKeyForTest(pw, salt string, time, memory uint32, threads uint8) []byte {
	return argon2.IDKey([]byte(pw), []byte(salt), time, memory, threads, 32)
}
