package offramp

import (
	"net/netip"
	"time"

	"github.com/google/uuid"
)

// Env is the environment an organization's credentials belong to. A server
// runs in one environment and rejects the other's keys.
type Env string

const (
	EnvSandbox    Env = "sandbox"
	EnvProduction Env = "production"
)

// ParseEnv accepts "sandbox" or "production".
func ParseEnv(s string) (Env, error) {
	switch Env(s) {
	case EnvSandbox, EnvProduction:
		return Env(s), nil
	}
	return "", Errorf(CodeInvalid, "environment must be sandbox or production, not %q", s)
}

// Org is an exchange integrating with Offramp. APISecret is the HMAC key of
// its request signatures: it must be recoverable to verify them, so it is
// stored encrypted, never hashed, and never logged.
//
// An organization holds one or more API keys (APIKey rows); KeyID, APIKey
// and APISecret of an Org value are the key it was found or created with
// (OrgByAPIKey, CreateOrg). Read by id (Org, ListOrgs), they are its
// signing key: its oldest live key, which signs its webhooks.
type Org struct {
	ID        uuid.UUID
	Name      string
	Env       Env
	KeyID     uuid.UUID
	APIKey    string
	APISecret string
	// AllowJSReplacerSignatures opts the organization in to the signature
	// form produced by DollarPe's JavaScript snippet, which drops nested
	// keys and so leaves part of the body unsigned. Off by default.
	AllowJSReplacerSignatures bool
	WebhookURL                string
	// WebhookDisabled is set when the endpoint answered 410 Gone; setting
	// the URL again clears it.
	WebhookDisabled bool
	// IPAllowlist, when not empty, restricts the organization's API keys
	// to requests from these networks (see IPAllowed). Canonical as
	// CanonicalIPAllowlist returns it; nil: any address.
	IPAllowlist []netip.Prefix
	CreatedAt   time.Time
}

// APIKey is one credential of an organization: the public X-API-KEY and
// the secret its requests are signed with. An organization may hold
// several live keys at once, which is how keys rotate without downtime:
// create a new one, move the clients over, revoke the old one. A revoked
// key is kept (with who revoked it and when) and never authenticates again.
type APIKey struct {
	ID     uuid.UUID
	OrgID  uuid.UUID
	Key    string
	Secret string // sealed at rest; empty when listed
	// Label is the operator's name for the key ("primary", "rotation 2026-12").
	Label     string
	CreatedBy string
	CreatedAt time.Time
	// LastUsedAt is when a request signed with the key last authenticated,
	// to the minute (zero: never).
	LastUsedAt time.Time
	RevokedAt  time.Time // zero: live
	RevokedBy  string
}

// Live reports whether the key still authenticates.
func (k APIKey) Live() bool { return k.RevokedAt.IsZero() }

// ObjectOrg is the object type of audit entries about an organization
// (created, keys created and revoked, settings changed). It is no webhook
// type: organizations have no events.
const ObjectOrg ObjectType = "ORG"

// KeyUseResolution is how finely APIKey.LastUsedAt is kept: a key is
// written back at most once per this interval, so authenticating costs no
// write on the hot path.
const KeyUseResolution = time.Minute
