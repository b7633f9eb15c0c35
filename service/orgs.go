package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/webhook"
)

// CreateOrg creates an organization with fresh credentials for env: its
// first API key, labelled "primary". The returned Org carries the
// plaintext secret: show it once, then forget it. by (required) is who
// creates it; audited as ActionOrgCreated in the same transaction.
func (s *Service) CreateOrg(ctx context.Context, name string, env offramp.Env, by string) (offramp.Org, error) {
	name, by = strings.TrimSpace(name), strings.TrimSpace(by)
	var v offramp.Validation
	v.Required("name", name)
	v.Required("by", by)
	if err := v.Err(); err != nil {
		return offramp.Org{}, err
	}
	if _, err := offramp.ParseEnv(string(env)); err != nil {
		return offramp.Org{}, err
	}
	o := s.newOrg(name, env)
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		return s.createOrgIn(ctx, tx, o, by, "organization created")
	})
	if err != nil {
		return offramp.Org{}, err
	}
	return o, nil
}

// EnsureDefaultOrg creates a first organization when the database has none
// and reports whether it did, so a newcomer can call the API at once. The
// audit log names "system" as its creator.
func (s *Service) EnsureDefaultOrg(ctx context.Context) (offramp.Org, bool, error) {
	var (
		o       offramp.Org
		created bool
	)
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		o, created = offramp.Org{}, false // fn may run again: start clean
		n, err := tx.CountOrgs(ctx)
		if err != nil || n > 0 {
			return err
		}
		o = s.newOrg("Default sandbox organization", s.env)
		created = true
		return s.createOrgIn(ctx, tx, o, "system", "first start: a default organization to call the API with")
	})
	return o, created, err
}

// newOrg is a new organization with a new key and secret.
func (s *Service) newOrg(name string, env offramp.Env) offramp.Org {
	return offramp.Org{
		ID:        uuid.New(),
		Name:      name,
		Env:       env,
		KeyID:     uuid.New(),
		APIKey:    uuid.NewString(),
		APISecret: newSecret(),
		CreatedAt: s.now(),
	}
}

// createOrgIn writes o with its first key and the audit entry.
func (s *Service) createOrgIn(ctx context.Context, tx offramp.Tx, o offramp.Org, by, why string) error {
	if err := tx.CreateOrg(ctx, o); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, orgAudit(o.ID, by, ActionOrgCreated, why, o.CreatedAt, map[string]string{
		"name": o.Name, "env": string(o.Env), "key_id": o.KeyID.String(), "api_key": o.APIKey,
	}))
}

// newSecret returns 32 random bytes as hex: printable, and as strong as the
// HMAC-SHA256 key it becomes.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// Authenticate finds the organization owning apiKey. Keys of the other
// environment are treated as unknown.
func (s *Service) Authenticate(ctx context.Context, apiKey string) (offramp.Org, error) {
	var o offramp.Org
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		o, err = tx.OrgByAPIKey(ctx, apiKey)
		return err
	})
	if err != nil {
		return offramp.Org{}, err
	}
	if o.Env != s.env {
		return offramp.Org{}, offramp.ErrNotFound
	}
	return o, nil
}

// RecordSignature records a used request signature on its own, for a
// request whose own writes did not record it (offramp.SignatureUse): a
// read (SignatureRead), or a mutating request that wrote nothing that
// committed, with its answer (SignatureDone). It reports false, recording
// nothing, when the signature was recorded already.
func (s *Service) RecordSignature(ctx context.Context, rec offramp.SignatureRecord) (bool, error) {
	// Without the request's SignatureUse: Store.Update would record that
	// first, as running.
	ctx = offramp.WithSignatureUse(ctx, nil)
	var fresh bool
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		var err error
		fresh, err = tx.UseSignature(ctx, rec)
		return err
	})
	return fresh, err
}

// FinishSignature stores the answer of the mutating request whose work
// recorded its signature as running (u.Recorded), for repeats of it.
func (s *Service) FinishSignature(ctx context.Context, u *offramp.SignatureUse, status int, response []byte) error {
	ctx = offramp.WithSignatureUse(ctx, nil)
	return s.store.Update(ctx, func(tx offramp.Tx) error {
		return tx.FinishSignature(ctx, u.OrgID, u.Signature, status, response)
	})
}

// SignatureRecord returns what was recorded of a request signature.
func (s *Service) SignatureRecord(ctx context.Context, orgID uuid.UUID, sig string) (offramp.SignatureRecord, error) {
	var rec offramp.SignatureRecord
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		rec, err = tx.SignatureRecord(ctx, orgID, sig)
		return err
	})
	return rec, err
}

// SetWebhookURL stores the organization's webhook endpoint and returns it as
// stored. Delivery validates the target again at dial time. by (required)
// is who sets it ("api:<api key>" from the API); audited as
// ActionWebhookURLSet, with the URL before and after, in the same
// transaction.
func (s *Service) SetWebhookURL(ctx context.Context, orgID uuid.UUID, raw, by string) (string, error) {
	raw, by = strings.TrimSpace(raw), strings.TrimSpace(by)
	if by == "" {
		return "", offramp.FieldError(offramp.CodeInvalid, "by", offramp.MsgRequired)
	}
	if raw == "" {
		return "", offramp.FieldError(offramp.CodeInvalid, "webhook_url", offramp.MsgWebhookURLRequired)
	}
	if len(raw) > 2048 {
		return "", offramp.FieldError(offramp.CodeInvalid, "webhook_url", "Ensure this field has no more than 2048 characters.")
	}
	// DollarPe's own example omits the scheme ("www.example.com/w1"):
	// accept that and store it as https.
	candidate := raw
	if !strings.Contains(candidate, "://") {
		candidate = "https://" + candidate
	}
	u, err := url.Parse(candidate)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", offramp.FieldError(offramp.CodeInvalid, "webhook_url", "Enter a valid URL.")
	}
	if u.User != nil {
		return "", offramp.FieldError(offramp.CodeInvalid, "webhook_url", "Webhook URL must not contain credentials")
	}
	// Checked here for a clear answer; delivery checks the address again
	// at dial time, which is what stops DNS rebinding.
	if err := webhook.CheckURL(candidate, s.webhooks.AllowPrivate, s.env == offramp.EnvProduction); err != nil {
		return "", offramp.FieldError(offramp.CodeInvalid, "webhook_url", "Webhook URL refused: "+err.Error())
	}
	stored := u.String()
	now := s.now()
	err = s.store.Update(ctx, func(tx offramp.Tx) error {
		o, err := tx.Org(ctx, orgID)
		if err != nil {
			return notFound(err, "org_id", MsgOrgNotFound)
		}
		if err := tx.SetOrgWebhookURL(ctx, orgID, stored); err != nil {
			return err
		}
		// Setting the URL again is how an endpoint disabled by a 410
		// comes back.
		if err := tx.SetOrgWebhookDisabled(ctx, orgID, false); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, orgAudit(orgID, by, ActionWebhookURLSet, "webhook URL set", now, map[string]string{
			"url": stored, "was": o.WebhookURL, "was_disabled": strconv.FormatBool(o.WebhookDisabled),
		}))
	})
	if err != nil {
		return "", err
	}
	return stored, nil
}
