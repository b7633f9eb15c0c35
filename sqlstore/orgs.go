package sqlstore

import (
	"context"
	"database/sql"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// orgCols are the organization's own columns; its keys live in api_keys
// (migration 00008), read with the organization as keyCols of alias k.
const orgCols = `o.id, o.name, o.env, o.allow_js_replacer_signatures, o.webhook_url, o.webhook_disabled, o.ip_allowlist, o.created_at`

const keyCols = `k.id, k.api_key, k.api_secret`

func (t *tx) CountOrgs(ctx context.Context) (int, error) {
	return t.count(ctx, "count orgs", `SELECT COUNT(*) FROM orgs`)
}

// Org reads an organization with its signing key: the oldest live key,
// whose key and secret sign the organization's webhooks (webhook.Deliverer
// reads the organization by id). Creating a new key changes nothing for a
// webhook receiver; revoking the old one moves the signatures to the next.
// Every organization holds a live key (RevokeAPIKey refuses the last one);
// should one not, it reads with an empty key rather than not at all.
func (t *tx) Org(ctx context.Context, id uuid.UUID) (offramp.Org, error) {
	return t.scanOrg(ctx, "get org", `SELECT `+orgCols+`, `+keyCols+` FROM orgs o
		LEFT JOIN api_keys k ON k.id = (
			SELECT s.id FROM api_keys s WHERE s.org_id = o.id AND s.revoked_at IS NULL
			ORDER BY s.created_at, s.id LIMIT 1)
		WHERE o.id = ?`, id)
}

// OrgByAPIKey finds the organization of a live key, with that key.
func (t *tx) OrgByAPIKey(ctx context.Context, apiKey string) (offramp.Org, error) {
	return t.scanOrg(ctx, "get org by api key", `SELECT `+orgCols+`, `+keyCols+` FROM api_keys k
		JOIN orgs o ON o.id = k.org_id
		WHERE k.api_key = ? AND k.revoked_at IS NULL`, apiKey)
}

func (t *tx) scanOrg(ctx context.Context, op, query string, arg any) (offramp.Org, error) {
	var o offramp.Org
	var keyID uuid.NullUUID
	var key, secret sql.NullString
	var allowlist string
	err := t.scanOne(ctx, op, query, []any{arg},
		&o.ID, &o.Name, &o.Env, &o.AllowJSReplacerSignatures, &o.WebhookURL, &o.WebhookDisabled, &allowlist, timeCol{&o.CreatedAt},
		&keyID, &key, &secret)
	if err != nil {
		return offramp.Org{}, err
	}
	if o.IPAllowlist, err = parseIPAllowlist(op, allowlist); err != nil {
		return offramp.Org{}, err
	}
	if !keyID.Valid {
		return o, nil
	}
	o.KeyID, o.APIKey = keyID.UUID, key.String
	if o.APISecret, err = t.openAPISecret(o.KeyID, secret.String); err != nil {
		return offramp.Org{}, err
	}
	return o, nil
}

// CreateOrg creates the organization and its first key, labelled
// "primary" like the keys migration 00008 moved out of orgs.
func (t *tx) CreateOrg(ctx context.Context, o offramp.Org) error {
	created := orNow(o.CreatedAt, t.now)
	_, err := t.exec(ctx, "create org",
		`INSERT INTO orgs (id, name, env, allow_js_replacer_signatures, webhook_url, webhook_disabled, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.Name, string(o.Env), o.AllowJSReplacerSignatures, o.WebhookURL, o.WebhookDisabled, t.ts(created))
	if err != nil {
		return err
	}
	// An allowlist given at creation (rare: the service sets none) is
	// written as a later change would be, so that the INSERT names only
	// the columns every schema since 00008 has: migration tests create
	// organizations at older versions.
	if len(o.IPAllowlist) > 0 {
		if err := t.SetOrgIPAllowlist(ctx, o.ID, o.IPAllowlist); err != nil {
			return err
		}
	}
	return t.CreateAPIKey(ctx, offramp.APIKey{
		ID: o.KeyID, OrgID: o.ID, Key: o.APIKey, Secret: o.APISecret, Label: "primary", CreatedAt: created,
	})
}

func (t *tx) SetOrgWebhookURL(ctx context.Context, orgID uuid.UUID, url string) error {
	return t.updateOrg(ctx, "set org webhook url", `UPDATE orgs SET webhook_url = ? WHERE id = ?`, url, orgID)
}

func (t *tx) SetOrgJSReplacer(ctx context.Context, orgID uuid.UUID, allow bool) error {
	return t.updateOrg(ctx, "set org js replacer", `UPDATE orgs SET allow_js_replacer_signatures = ? WHERE id = ?`, allow, orgID)
}

func (t *tx) updateOrg(ctx context.Context, op, query string, args ...any) error {
	n, err := t.execAffected(ctx, op, query, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op)
	}
	return nil
}
