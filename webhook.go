package offramp

import (
	"time"

	"github.com/google/uuid"
)

// deliverable lists the status changes that are sent to the organization's
// webhook URL (DollarPe §11.4); the others are kept as audit events only.
var deliverable = map[ObjectType][]string{
	ObjectCustomer: {string(CustomerVerified), string(CustomerFailed)},
	ObjectBank:     {string(BankVerified), string(BankFailed)},
	ObjectEDD:      {string(EDDVerified), string(EDDFailed)},
	ObjectPayout:   {string(PayoutSuccess), string(PayoutFailed), string(PayoutRefunded), string(PayoutInReview)},
}

// Deliverable reports whether the event is sent as a webhook.
func (e Event) Deliverable() bool {
	for _, ev := range deliverable[e.ObjectType] {
		if ev == e.Event {
			return true
		}
	}
	return false
}

// DeliveryState is where a webhook delivery stands.
type DeliveryState string

const (
	// DeliveryPending: not yet accepted by the receiver; an attempt is
	// scheduled.
	DeliveryPending DeliveryState = "PENDING"
	// DeliveryDelivered: the receiver answered 2xx.
	DeliveryDelivered DeliveryState = "DELIVERED"
	// DeliveryFailed: the retry schedule ran out, or the endpoint was
	// disabled (410 Gone); a replay can send it again.
	DeliveryFailed DeliveryState = "FAILED"
)

// Delivery is the outbox row of one deliverable event: it is written in the
// same transaction as the event, so an event can never be lost between the
// status change and its webhook.
type Delivery struct {
	EventID        uuid.UUID
	OrgID          uuid.UUID
	State          DeliveryState
	Attempts       int
	NextAttemptAt  time.Time
	LastStatusCode int
	LastError      string
	DeliveredAt    time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// DeliveryAttempt records one try at delivering an event.
type DeliveryAttempt struct {
	EventID    uuid.UUID
	OrgID      uuid.UUID
	Number     int // 1 for the first attempt
	At         time.Time
	URL        string
	StatusCode int // 0 when no response arrived
	Latency    time.Duration
	Error      string
}

// EventDelivery is an event with its delivery, for listings.
type EventDelivery struct {
	Event    Event
	Delivery Delivery
}

// DeliveryFilter narrows a listing of an organization's webhook events.
// Zero fields do not filter; Since bounds the event's creation time
// (inclusive).
type DeliveryFilter struct {
	State DeliveryState
	Since time.Time
}
