package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// signatureHash is what used_signatures keeps: a signature's SHA-256, not
// the signature, so the table never becomes a list of valid signatures.
func signatureHash(signature string) string {
	sum := sha256.Sum256([]byte(signature))
	return hex.EncodeToString(sum[:])
}

// signatureRowID is a record's id in the AAD of its sealed response:
// derived from the organization and the signature's hash, so that it needs
// no read to find and a ciphertext cannot be moved to another record.
func signatureRowID(orgID uuid.UUID, hash string) uuid.UUID {
	return uuid.NewSHA1(orgID, []byte(hash))
}

const signaturesTable, signatureResponseColumn = "used_signatures", "response"

func (t *tx) UseSignature(ctx context.Context, rec offramp.SignatureRecord) (bool, error) {
	const op = "use signature"
	switch rec.State {
	case offramp.SignatureRead, offramp.SignatureRunning, offramp.SignatureDone:
	default:
		return false, fmt.Errorf("sqlstore: %s: state %q; refused", op, rec.State)
	}
	hash := signatureHash(rec.Signature)
	id := signatureRowID(rec.OrgID, hash)
	var status, response any
	if rec.State == offramp.SignatureDone {
		sealed, err := t.seal(signaturesTable, signatureResponseColumn, id, string(rec.Response))
		if err != nil {
			return false, err
		}
		status, response = rec.StatusCode, sealed
	}
	n, err := t.execAffected(ctx, op, `INSERT INTO used_signatures (org_id, signature_hash, expires_at,
		method, target, state, id, status_code, response) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id, signature_hash) DO NOTHING`,
		rec.OrgID, hash, t.ts(rec.ExpiresAt), rec.Method, rec.Target, string(rec.State), id, status, response)
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

func (t *tx) FinishSignature(ctx context.Context, orgID uuid.UUID, signature string, status int, response []byte) error {
	const op = "finish signature"
	hash := signatureHash(signature)
	sealed, err := t.seal(signaturesTable, signatureResponseColumn, signatureRowID(orgID, hash), string(response))
	if err != nil {
		return err
	}
	n, err := t.execAffected(ctx, op, `UPDATE used_signatures SET state = ?, status_code = ?, response = ?
		WHERE org_id = ? AND signature_hash = ? AND state = ?`,
		string(offramp.SignatureDone), status, sealed, orgID, hash, string(offramp.SignatureRunning))
	if err != nil {
		return err
	}
	if n == 0 {
		return stale(op)
	}
	return nil
}

func (t *tx) SignatureRecord(ctx context.Context, orgID uuid.UUID, signature string) (offramp.SignatureRecord, error) {
	const op = "get signature"
	hash := signatureHash(signature)
	rec := offramp.SignatureRecord{OrgID: orgID}
	var (
		state    string
		status   sql.NullInt64
		response sql.NullString
	)
	err := t.scanOne(ctx, op, `SELECT method, target, state, expires_at, status_code, response
		FROM used_signatures WHERE org_id = ? AND signature_hash = ?`, []any{orgID, hash},
		&rec.Method, &rec.Target, &state, timeCol{&rec.ExpiresAt}, &status, &response)
	if err != nil {
		return offramp.SignatureRecord{}, err
	}
	rec.State = offramp.SignatureState(state)
	if response.Valid {
		pt, err := t.open(signaturesTable, signatureResponseColumn, signatureRowID(orgID, hash), response.String)
		if err != nil {
			return offramp.SignatureRecord{}, err
		}
		rec.StatusCode, rec.Response = int(status.Int64), []byte(pt)
	}
	return rec, nil
}

func (t *tx) PurgeSignatures(ctx context.Context, now time.Time) (int, error) {
	n, err := t.execAffected(ctx, "purge signatures", `DELETE FROM used_signatures WHERE expires_at < ?`, t.ts(now))
	return int(n), err
}
