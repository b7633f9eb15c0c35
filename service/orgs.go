package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/webhook"
)

// CreateOrg creates an organization with fresh credentials for env. The
// returned Org carries the plaintext secret: show it once, then forget it.
func (s *Service) CreateOrg(ctx context.Context, name string, env offramp.Env) (offramp.Org, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return offramp.Org{}, offramp.FieldError(offramp.CodeInvalid, "name", offramp.MsgRequired)
	}
	if _, err := offramp.ParseEnv(string(env)); err != nil {
		return offramp.Org{}, err
	}
	o := offramp.Org{
		ID:        uuid.New(),
		Name:      name,
		Env:       env,
		APIKey:    uuid.NewString(),
		APISecret: newSecret(),
		CreatedAt: s.now(),
	}
	err := s.store.Update(ctx, func(tx offramp.Tx) error { return tx.CreateOrg(ctx, o) })
	return o, err
}

// EnsureDefaultOrg creates a first organization when the database has none
// and reports whether it did, so a newcomer can call the API at once.
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
		o = offramp.Org{
			ID:        uuid.New(),
			Name:      "Default sandbox organization",
			Env:       s.env,
			APIKey:    uuid.NewString(),
			APISecret: newSecret(),
			CreatedAt: s.now(),
		}
		created = true
		return tx.CreateOrg(ctx, o)
	})
	return o, created, err
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

// UseSignature records a mutating request's signature so it cannot be
// replayed; it reports false for a replay. The record is kept until the
// signature's timestamp has left the acceptance window.
func (s *Service) UseSignature(ctx context.Context, orgID uuid.UUID, sig string, expiresAt time.Time) (bool, error) {
	var fresh bool
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		var err error
		fresh, err = tx.UseSignature(ctx, orgID, sig, expiresAt)
		return err
	})
	return fresh, err
}

// SetWebhookURL stores the organization's webhook endpoint and returns it as
// stored. Delivery validates the target again at dial time.
func (s *Service) SetWebhookURL(ctx context.Context, orgID uuid.UUID, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
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
	err = s.store.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.SetOrgWebhookURL(ctx, orgID, stored); err != nil {
			return err
		}
		// Setting the URL again is how an endpoint disabled by a 410
		// comes back.
		return tx.SetOrgWebhookDisabled(ctx, orgID, false)
	})
	return stored, err
}
