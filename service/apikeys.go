package service

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// Audit actions of organization changes.
const (
	ActionOrgCreated      = "org.created"
	ActionKeyCreated      = "org.key_created"
	ActionKeyRevoked      = "org.key_revoked"
	ActionWebhookURLSet   = "org.webhook_url_set"
	ActionJSSignaturesSet = "org.js_signatures_set"
)

// MaxKeyLabel is the longest key label, in characters (the schema's
// api_keys_label_check says the same).
const MaxKeyLabel = 100

// MsgOrgNotFound and MsgKeyNotFound answer a reference to an organization
// or a key that does not exist (or a key of another organization).
const (
	MsgOrgNotFound = "Organization not found"
	MsgKeyNotFound = "API key not found in this organization"
)

// CreateAPIKey adds a key to orgID; the returned key carries its plaintext
// secret, shown once: only its ciphertext is stored. label is trimmed; an
// empty one becomes "key <date>". by (required) is who creates it.
// Audited as ActionKeyCreated in the same transaction.
func (s *Service) CreateAPIKey(ctx context.Context, orgID uuid.UUID, label, by string) (offramp.APIKey, error) {
	now := s.now()
	label, by = strings.TrimSpace(label), strings.TrimSpace(by)
	if label == "" {
		label = "key " + now.Format(time.DateOnly)
	}
	var v offramp.Validation
	checkLabel(&v, label)
	v.Required("by", by)
	if err := v.Err(); err != nil {
		return offramp.APIKey{}, err
	}
	k := offramp.APIKey{
		ID: uuid.New(), OrgID: orgID, Key: uuid.NewString(), Secret: newSecret(),
		Label: label, CreatedBy: by, CreatedAt: now,
	}
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		if err := orgExists(ctx, tx, orgID); err != nil {
			return err
		}
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, orgAudit(orgID, by, ActionKeyCreated, "API key created", now, keyDetails(k)))
	})
	if err != nil {
		return offramp.APIKey{}, err
	}
	return k, nil
}

// RevokeAPIKey revokes a live key of orgID: requests signed with it fail
// from now on ("Invalid API key"). The organization's last live key is
// refused (CodeRejected): create its successor first. by and why are
// required and recorded; audited as ActionKeyRevoked in the same
// transaction.
func (s *Service) RevokeAPIKey(ctx context.Context, orgID, keyID uuid.UUID, by, why string) error {
	now := s.now()
	by, why = strings.TrimSpace(by), strings.TrimSpace(why)
	var v offramp.Validation
	v.Required("by", by)
	v.Required("why", why)
	if err := v.Err(); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx offramp.Tx) error {
		if err := orgExists(ctx, tx, orgID); err != nil {
			return err
		}
		keys, err := tx.APIKeys(ctx, orgID)
		if err != nil {
			return err
		}
		var k offramp.APIKey
		for _, c := range keys {
			if c.ID == keyID {
				k = c
			}
		}
		switch {
		case k.ID == uuid.Nil:
			return offramp.FieldError(offramp.CodeNotFound, "key_id", MsgKeyNotFound)
		case !k.Live():
			return offramp.Errorf(offramp.CodeRejected, "API key %s was already revoked on %s by %s",
				k.ID, k.RevokedAt.Format(time.RFC3339), k.RevokedBy)
		}
		if err := tx.RevokeAPIKey(ctx, orgID, keyID, by, now); err != nil {
			if errors.Is(err, offramp.ErrNotFound) {
				return offramp.FieldError(offramp.CodeNotFound, "key_id", MsgKeyNotFound)
			}
			return err
		}
		return tx.AppendAudit(ctx, orgAudit(orgID, by, ActionKeyRevoked, why, now, keyDetails(k)))
	})
}

// APIKeys lists orgID's keys, live and revoked, oldest first, without
// secrets.
func (s *Service) APIKeys(ctx context.Context, orgID uuid.UUID) ([]offramp.APIKey, error) {
	var keys []offramp.APIKey
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		if err := orgExists(ctx, tx, orgID); err != nil {
			return err
		}
		var err error
		keys, err = tx.APIKeys(ctx, orgID)
		return err
	})
	return keys, err
}

// SetJSReplacer switches the JavaScript-snippet signature form for orgID.
// by is required; why may be empty (a default reason is recorded).
// Audited as ActionJSSignaturesSet, with the value before and after, in
// the same transaction.
func (s *Service) SetJSReplacer(ctx context.Context, orgID uuid.UUID, allow bool, by, why string) error {
	now := s.now()
	by, why = strings.TrimSpace(by), strings.TrimSpace(why)
	var v offramp.Validation
	v.Required("by", by)
	if err := v.Err(); err != nil {
		return err
	}
	if why == "" {
		why = "JavaScript-snippet signatures " + map[bool]string{true: "allowed", false: "refused"}[allow]
	}
	return s.store.Update(ctx, func(tx offramp.Tx) error {
		o, err := tx.Org(ctx, orgID)
		if err != nil {
			return notFound(err, "org_id", MsgOrgNotFound)
		}
		if err := tx.SetOrgJSReplacer(ctx, orgID, allow); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, orgAudit(orgID, by, ActionJSSignaturesSet, why, now, map[string]string{
			"allow": strconv.FormatBool(allow), "was": strconv.FormatBool(o.AllowJSReplacerSignatures),
		}))
	})
}

// KeyUsed records that a request signed with org's key (org.KeyID, as
// Authenticate found it) authenticated. The store keeps the last use to
// offramp.KeyUseResolution, and so does this process: a key is written
// back at most once per resolution, so nearly every request pays no
// write. A failure is logged, not returned: the request itself is fine.
func (s *Service) KeyUsed(ctx context.Context, org offramp.Org) {
	if org.KeyID == uuid.Nil {
		return
	}
	now := s.now()
	if !s.keyUses.due(org.KeyID, now) {
		return
	}
	err := s.store.Update(ctx, func(tx offramp.Tx) error { return tx.TouchAPIKey(ctx, org.KeyID, now) })
	if err != nil {
		s.log.WarnContext(ctx, "could not record the use of an API key", "org_id", org.ID.String(),
			"key_id", org.KeyID.String(), "err", err)
	}
}

// keyUses remembers when this process last wrote each key's use. The
// zero value is ready.
type keyUses struct {
	mu   sync.Mutex
	last map[uuid.UUID]time.Time
}

// due reports whether a use at now must be written (the store would skip
// it otherwise: a use within the resolution is recorded), and if so
// counts it as written, so that concurrent requests write it once.
func (u *keyUses) due(id uuid.UUID, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if last, ok := u.last[id]; ok && now.Sub(last) <= offramp.KeyUseResolution {
		return false
	}
	if u.last == nil {
		u.last = map[uuid.UUID]time.Time{}
	}
	u.last[id] = now
	return true
}

// checkLabel bounds a key label: one line of printable text, at most
// MaxKeyLabel characters, as listings print it.
func checkLabel(v *offramp.Validation, label string) {
	switch {
	case !utf8.ValidString(label):
		v.Add("label", "Label must be valid UTF-8 text.")
	case utf8.RuneCountInString(label) > MaxKeyLabel:
		v.Add("label", "Ensure this field has no more than "+strconv.Itoa(MaxKeyLabel)+" characters.")
	case strings.ContainsFunc(label, func(r rune) bool { return !unicode.IsPrint(r) }):
		v.Add("label", "Label must be one line of printable text.")
	}
}

// orgExists answers an unknown organization with MsgOrgNotFound.
func orgExists(ctx context.Context, tx offramp.ReadTx, orgID uuid.UUID) error {
	_, err := tx.Org(ctx, orgID)
	return notFound(err, "org_id", MsgOrgNotFound)
}

// orgAudit is the audit entry of a change to organization orgID.
func orgAudit(orgID uuid.UUID, by, action, why string, at time.Time, details map[string]string) offramp.AuditEntry {
	return offramp.AuditEntry{
		ID: uuid.New(), OrgID: orgID, Actor: by, Action: action, ObjectType: offramp.ObjectOrg, ObjectID: orgID,
		Reason: why, Details: details, CreatedAt: at,
	}
}

// keyDetails names a key in an audit entry: never its secret.
func keyDetails(k offramp.APIKey) map[string]string {
	return map[string]string{"key_id": k.ID.String(), "api_key": k.Key, "label": k.Label}
}
