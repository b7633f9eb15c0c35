package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/google/uuid"
)

// UseSignature records a signature's SHA-256, not the signature: the table
// must not become a list of signatures that were valid.
func (t *tx) UseSignature(ctx context.Context, orgID uuid.UUID, signature string, expiresAt time.Time) (bool, error) {
	sum := sha256.Sum256([]byte(signature))
	n, err := t.execAffected(ctx, "use signature", `INSERT INTO used_signatures (org_id, signature_hash, expires_at)
		VALUES (?, ?, ?) ON CONFLICT (org_id, signature_hash) DO NOTHING`,
		orgID, hex.EncodeToString(sum[:]), t.ts(expiresAt))
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

func (t *tx) PurgeSignatures(ctx context.Context, now time.Time) (int, error) {
	n, err := t.execAffected(ctx, "purge signatures", `DELETE FROM used_signatures WHERE expires_at < ?`, t.ts(now))
	return int(n), err
}
