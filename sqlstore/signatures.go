package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/google/uuid"
)

// signatureHash is what used_signatures keeps: a signature's SHA-256, not
// the signature, so the table never becomes a list of valid signatures.
func signatureHash(signature string) string {
	sum := sha256.Sum256([]byte(signature))
	return hex.EncodeToString(sum[:])
}

func (t *tx) UseSignature(ctx context.Context, orgID uuid.UUID, signature string, expiresAt time.Time) (bool, error) {
	n, err := t.execAffected(ctx, "use signature", `INSERT INTO used_signatures (org_id, signature_hash, expires_at)
		VALUES (?, ?, ?) ON CONFLICT (org_id, signature_hash) DO NOTHING`,
		orgID, signatureHash(signature), t.ts(expiresAt))
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

func (t *tx) PurgeSignatures(ctx context.Context, now time.Time) (int, error) {
	n, err := t.execAffected(ctx, "purge signatures", `DELETE FROM used_signatures WHERE expires_at < ?`, t.ts(now))
	return int(n), err
}

func (t *tx) SignatureUsed(ctx context.Context, orgID uuid.UUID, signature string) (bool, error) {
	n, err := t.count(ctx, "check signature", `SELECT COUNT(*) FROM used_signatures
		WHERE org_id = ? AND signature_hash = ?`, orgID, signatureHash(signature))
	return n > 0, err
}
