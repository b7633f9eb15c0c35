package webhook

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// Emit records a status change in tx. A deliverable one (see
// offramp.Event.Deliverable) also gets its outbox row, a PENDING
// offramp.Delivery due at now, and its delivery job, in the same
// transaction: the webhook cannot be lost between the change and its
// sending. It returns the event as stored (with its sequence number).
//
// now is the transaction's time; Emit does not read a clock.
func Emit(ctx context.Context, tx offramp.Tx, e offramp.Event, now time.Time) (offramp.Event, error) {
	e, err := tx.AppendEvent(ctx, e)
	if err != nil || !e.Deliverable() {
		return e, err
	}
	if err := tx.CreateDelivery(ctx, offramp.Delivery{EventID: e.ID, OrgID: e.OrgID, State: offramp.DeliveryPending,
		NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}); err != nil {
		return e, err
	}
	return e, enqueue(ctx, tx, e.OrgID, e.ID, now)
}

// Replay queues an event's delivery to be sent again, in tx, and returns
// the delivery as it now stands.
//
//   - A DELIVERED or FAILED delivery becomes PENDING again, its attempts
//     numbered on. If no delivery job is live for the event a new one is
//     enqueued, due at now; if one is (an event has at most one), it is
//     left to make the attempt.
//   - A PENDING delivery is already waiting for its next attempt and is
//     left as it is. Only if it has no live job (a chain broken before the
//     one-job-per-event rule) does it get one, due at now.
//
// Errors: offramp.ErrNotFound when the organization has no such
// deliverable event; offramp.ErrStale when the delivery changed
// concurrently.
func Replay(ctx context.Context, tx offramp.Tx, orgID, eventID uuid.UUID, now time.Time) (offramp.Delivery, error) {
	d, err := tx.Delivery(ctx, orgID, eventID)
	if err != nil {
		return offramp.Delivery{}, err
	}
	jobs, err := tx.Jobs(ctx, offramp.JobDeliverWebhook, eventID)
	if err != nil {
		return offramp.Delivery{}, err
	}
	if d.State == offramp.DeliveryPending && len(jobs) > 0 {
		return d, nil
	}
	from := d.Attempts
	d.State, d.NextAttemptAt, d.UpdatedAt = offramp.DeliveryPending, now, now
	if len(jobs) > 0 && jobs[0].RunAt.After(now) {
		d.NextAttemptAt = jobs[0].RunAt
	}
	if err := tx.UpdateDelivery(ctx, d, from); err != nil {
		return offramp.Delivery{}, err
	}
	if len(jobs) > 0 {
		return d, nil
	}
	return d, enqueue(ctx, tx, orgID, eventID, now)
}

// enqueue adds the delivery job of an event. The store allows one live
// delivery job per event: callers enqueue only when there is none.
func enqueue(ctx context.Context, tx offramp.Tx, orgID, eventID uuid.UUID, at time.Time) error {
	return tx.EnqueueJob(ctx, offramp.Job{ID: offramp.NewID(), OrgID: orgID, Kind: offramp.JobDeliverWebhook, RefID: eventID, RunAt: at})
}
