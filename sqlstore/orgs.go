package sqlstore

import (
	"context"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

const orgCols = `id, name, env, api_key, api_secret, allow_js_replacer_signatures, webhook_url, webhook_disabled, created_at`

func (t *tx) CountOrgs(ctx context.Context) (int, error) {
	return t.count(ctx, "count orgs", `SELECT COUNT(*) FROM orgs`)
}

func (t *tx) Org(ctx context.Context, id uuid.UUID) (offramp.Org, error) {
	return t.scanOrg(ctx, "get org", `SELECT `+orgCols+` FROM orgs WHERE id = ?`, id)
}

func (t *tx) OrgByAPIKey(ctx context.Context, apiKey string) (offramp.Org, error) {
	return t.scanOrg(ctx, "get org by api key", `SELECT `+orgCols+` FROM orgs WHERE api_key = ?`, apiKey)
}

func (t *tx) scanOrg(ctx context.Context, op, query string, arg any) (offramp.Org, error) {
	var o offramp.Org
	var secret string
	err := t.scanOne(ctx, op, query, []any{arg},
		&o.ID, &o.Name, &o.Env, &o.APIKey, &secret, &o.AllowJSReplacerSignatures, &o.WebhookURL, &o.WebhookDisabled, timeCol{&o.CreatedAt})
	if err != nil {
		return offramp.Org{}, err
	}
	if o.APISecret, err = t.open("orgs", "api_secret", o.ID, secret); err != nil {
		return offramp.Org{}, err
	}
	return o, nil
}

func (t *tx) CreateOrg(ctx context.Context, o offramp.Org) error {
	secret, err := t.seal("orgs", "api_secret", o.ID, o.APISecret)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, "create org",
		`INSERT INTO orgs (`+orgCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.Name, string(o.Env), o.APIKey, secret, o.AllowJSReplacerSignatures, o.WebhookURL, o.WebhookDisabled,
		t.ts(orNow(o.CreatedAt, t.now)))
	return err
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
