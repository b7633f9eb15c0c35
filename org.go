package offramp

import (
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
type Org struct {
	ID        uuid.UUID
	Name      string
	Env       Env
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
	CreatedAt       time.Time
}
