package offramp

import (
	"time"

	"github.com/google/uuid"
)

// ObjectType names the kind of object an event is about; the values are the
// webhook "type" field.
type ObjectType string

const (
	ObjectCustomer ObjectType = "CUSTOMER"
	ObjectBank     ObjectType = "BANK"
	ObjectEDD      ObjectType = "EDD"
	ObjectPayout   ObjectType = "PAYOUT"
)

// Event records one status change. It is written in the same transaction as
// the change itself, so the audit trail (and the webhook outbox built on it)
// can never disagree with the data.
type Event struct {
	ID         uuid.UUID
	OrgID      uuid.UUID
	ObjectType ObjectType
	ObjectID   uuid.UUID
	// Event is the status the object moved to ("VERIFIED", "FAILED", ...).
	Event string
	// Sequence increases per object, so a receiver can drop a stale event.
	Sequence          int64
	ClientReferenceID string
	Metadata          map[string]string
	CreatedAt         time.Time
}
