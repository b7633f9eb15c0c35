package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// API keys (migration 00008): an organization holds one or more, live or
// revoked; revoked keys are kept, never deleted, so that a key is never
// issued twice (api_keys_api_key_key covers revoked keys too) and a
// listing shows who revoked what.
//
// A key's secret is sealed under the AAD "orgs.api_secret:<key id>", not
// "api_keys.api_secret:...": the keys 00008 moved out of orgs kept their
// ciphertexts (sealed under "orgs.api_secret:<org id>") and got their
// organization's id as key id, so that SQL could move them without the
// vault. Every later key is sealed the same way, so one rule opens them
// all, and a ciphertext still opens only in the row it was sealed for.
const (
	apiSecretAADTable  = "orgs"
	apiSecretAADColumn = "api_secret"
)

func (t *tx) sealAPISecret(keyID uuid.UUID, secret string) (string, error) {
	return t.seal(apiSecretAADTable, apiSecretAADColumn, keyID, secret)
}

func (t *tx) openAPISecret(keyID uuid.UUID, ciphertext string) (string, error) {
	return t.open(apiSecretAADTable, apiSecretAADColumn, keyID, ciphertext)
}

const apiKeyCols = `id, org_id, api_key, label, created_by, created_at, last_used_at, revoked_at, revoked_by`

// APIKeys lists the organization's keys oldest first, from
// api_keys_org_created_idx, without their secrets (nothing is decrypted).
// An unknown organization has no keys.
func (t *tx) APIKeys(ctx context.Context, orgID uuid.UUID) ([]offramp.APIKey, error) {
	const op = "list api keys"
	rows, err := t.query(ctx, op, `SELECT `+apiKeyCols+` FROM api_keys WHERE org_id = ? ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []offramp.APIKey
	for rows.Next() {
		var k offramp.APIKey
		if err := rows.Scan(&k.ID, &k.OrgID, &k.Key, &k.Label, &k.CreatedBy, timeCol{&k.CreatedAt},
			timeCol{&k.LastUsedAt}, timeCol{&k.RevokedAt}, &k.RevokedBy); err != nil {
			return nil, t.mapErr(ctx, op, err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	return out, nil
}

// CreateAPIKey adds a live, unused key: LastUsedAt, RevokedAt and
// RevokedBy of k are not written. A nil ID gets a new one, a zero
// CreatedAt the clock's time. The key and the organization are required
// (CodeInvalid); an unknown organization is ErrNotFound, a key already
// issued (to anyone, revoked or not) a CodeConflict on api_key. The label
// is the caller's to bound: the schema refuses an empty one or one over
// 100 characters (api_keys_label_check).
func (t *tx) CreateAPIKey(ctx context.Context, k offramp.APIKey) error {
	const op = "create api key"
	var v offramp.Validation
	v.Required("api_key", k.Key)
	if k.OrgID == uuid.Nil {
		v.Add("org_id", offramp.MsgRequired)
	}
	if err := v.Err(); err != nil {
		return err
	}
	if k.ID == uuid.Nil {
		k.ID = uuid.New()
	}
	secret, err := t.sealAPISecret(k.ID, k.Secret)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, op, `INSERT INTO api_keys (id, org_id, api_key, api_secret, label, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.OrgID, k.Key, secret, k.Label, k.CreatedBy, t.ts(orNow(k.CreatedAt, t.now)))
	return err
}

// msgLastLiveKey is why RevokeAPIKey refuses an organization's last live
// key.
const msgLastLiveKey = "This is the organization's last live API key: create its successor before revoking it."

// RevokeAPIKey revokes a live key of orgID at `at` (zero: the clock's
// time), recording by (required, CodeInvalid).
//
// The refusal of the last live key is a read-check-write: SQLite runs
// Updates one at a time, and on PostgreSQL the SERIALIZABLE transaction
// makes two revocations racing for an organization's last two keys
// conflict, so one runs again, sees a single live key and is refused.
func (t *tx) RevokeAPIKey(ctx context.Context, orgID, keyID uuid.UUID, by string, at time.Time) error {
	const op = "revoke api key"
	by = strings.TrimSpace(by)
	var v offramp.Validation
	v.Required("by", by)
	if err := v.Err(); err != nil {
		return err
	}
	// One read for both facts: whether the key is a live key of the
	// organization, and how many live keys the organization has.
	var mine, live int
	err := t.scanOne(ctx, op, `SELECT COALESCE(SUM(CASE WHEN id = ? THEN 1 ELSE 0 END), 0), COUNT(*)
		FROM api_keys WHERE org_id = ? AND revoked_at IS NULL`, []any{keyID, orgID}, &mine, &live)
	if err != nil {
		return err
	}
	if mine == 0 {
		return notFound(op)
	}
	if live <= 1 {
		return offramp.Errorf(offramp.CodeRejected, msgLastLiveKey)
	}
	n, err := t.execAffected(ctx, op, `UPDATE api_keys SET revoked_at = ?, revoked_by = ?
		WHERE id = ? AND org_id = ? AND revoked_at IS NULL`, t.ts(orNow(at, t.now)), by, keyID, orgID)
	if err != nil {
		return err
	}
	if n != 1 {
		return notFound(op) // cannot happen inside the transaction that just read it live
	}
	return nil
}

// TouchAPIKey moves the key's last use to at (zero: the clock's time),
// unless a use at or after at - offramp.KeyUseResolution is recorded, so
// last_used_at never moves back either. An unknown key is ErrNotFound; a
// revoked one is touched like any other (a request it signed may finish
// after the revocation).
func (t *tx) TouchAPIKey(ctx context.Context, keyID uuid.UUID, at time.Time) error {
	const op = "touch api key"
	at = orNow(at, t.now)
	n, err := t.execAffected(ctx, op, `UPDATE api_keys SET last_used_at = ?
		WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
		t.ts(at), keyID, t.ts(at.Add(-offramp.KeyUseResolution)))
	if err != nil || n == 1 {
		return err
	}
	// Nothing written: a recent use (another process recorded it), or no
	// such key. The service touches a key at most once a minute per
	// process, so this read is rare too.
	var one int
	return t.scanOne(ctx, op, `SELECT 1 FROM api_keys WHERE id = ?`, []any{keyID}, &one)
}
