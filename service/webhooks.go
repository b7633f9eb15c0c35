package service

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/webhook"
)

// WebhookConfig configures webhook delivery.
type WebhookConfig struct {
	// Client sends deliveries. It must refuse internal addresses at dial
	// time in production and must not follow redirects: see
	// webhook.NewClient. Nil: webhook.NewClient with the options below.
	Client *http.Client
	// AllowPrivate lets an organization register and deliver to loopback
	// and private addresses (sandbox and local development).
	AllowPrivate bool
}

func (c WebhookConfig) withDefaults() WebhookConfig {
	if c.Client == nil {
		c.Client = webhook.NewClient(webhook.ClientOptions{AllowPrivate: c.AllowPrivate})
	}
	return c
}

// emit records a status change (see webhook.Emit): a deliverable one also
// gets its outbox row and delivery job in the same transaction.
func (s *Service) emit(ctx context.Context, tx offramp.Tx, e offramp.Event) (offramp.Event, error) {
	return webhook.Emit(ctx, tx, e, s.now())
}

// WebhookEvent is an event with its delivery and attempts.
type WebhookEvent struct {
	offramp.EventDelivery
	Attempts []offramp.DeliveryAttempt
}

// WebhookEvents lists the organization's webhook events with their delivery
// state, newest first. state is "" or PENDING, DELIVERED, FAILED.
func (s *Service) WebhookEvents(ctx context.Context, orgID uuid.UUID, state string, since string, page offramp.Page) ([]offramp.EventDelivery, int, error) {
	f, err := deliveryFilter(state, since)
	if err != nil {
		return nil, 0, err
	}
	var (
		list  []offramp.EventDelivery
		total int
	)
	err = s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		list, total, err = tx.ListDeliveries(ctx, orgID, f, page)
		return err
	})
	return list, total, err
}

func deliveryFilter(state, since string) (offramp.DeliveryFilter, error) {
	var (
		f offramp.DeliveryFilter
		v offramp.Validation
	)
	switch st := offramp.DeliveryState(state); st {
	case "", offramp.DeliveryPending, offramp.DeliveryDelivered, offramp.DeliveryFailed:
		f.State = st
	default:
		v.Add("delivery_status", "Must be PENDING, DELIVERED or FAILED.")
	}
	if since != "" {
		t, err := time.Parse(time.RFC3339, since)
		if err != nil {
			v.Add("since", "Enter a valid RFC 3339 time, e.g. 2026-11-24T00:00:00Z.")
		}
		f.Since = t
	}
	return f, v.Err()
}

// WebhookEvent returns one event with its delivery and every attempt.
func (s *Service) WebhookEvent(ctx context.Context, orgID uuid.UUID, rawID string) (WebhookEvent, error) {
	id, err := uuid.Parse(rawID)
	if err != nil {
		return WebhookEvent{}, offramp.FieldError(offramp.CodeNotFound, "webhook_id", offramp.MsgWebhookEventNotFound)
	}
	var out WebhookEvent
	err = s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		if out.Event, err = tx.Event(ctx, orgID, id); err != nil {
			return err
		}
		if out.Delivery, err = tx.Delivery(ctx, orgID, id); err != nil {
			return err
		}
		out.Attempts, err = tx.DeliveryAttempts(ctx, orgID, id)
		return err
	})
	if errors.Is(err, offramp.ErrNotFound) {
		return WebhookEvent{}, offramp.FieldError(offramp.CodeNotFound, "webhook_id", offramp.MsgWebhookEventNotFound)
	}
	return out, err
}

// ReplayWebhook sends an event again now. A delivery already waiting for
// its next attempt is left as it is (it will be sent); a delivered or
// failed one is queued once more, its attempts numbered on (see
// webhook.Replay).
func (s *Service) ReplayWebhook(ctx context.Context, orgID uuid.UUID, rawID string) (offramp.Delivery, error) {
	id, err := uuid.Parse(rawID)
	if err != nil {
		return offramp.Delivery{}, offramp.FieldError(offramp.CodeNotFound, "webhook_id", offramp.MsgWebhookEventNotFound)
	}
	var out offramp.Delivery
	err = s.store.Update(ctx, func(tx offramp.Tx) error {
		var err error
		out, err = s.replayIn(ctx, tx, orgID, id)
		return err
	})
	if errors.Is(err, offramp.ErrNotFound) {
		return offramp.Delivery{}, offramp.FieldError(offramp.CodeNotFound, "webhook_id", offramp.MsgWebhookEventNotFound)
	}
	return out, err
}

func (s *Service) replayIn(ctx context.Context, tx offramp.Tx, orgID, id uuid.UUID) (offramp.Delivery, error) {
	return webhook.Replay(ctx, tx, orgID, id, s.now())
}

// ReplayFailedWebhooks queues again every FAILED delivery of events since
// the given time and returns how many.
func (s *Service) ReplayFailedWebhooks(ctx context.Context, orgID uuid.UUID, since string) (int, error) {
	if since == "" {
		return 0, offramp.FieldError(offramp.CodeInvalid, "since", "since: This field is required.")
	}
	f, err := deliveryFilter(string(offramp.DeliveryFailed), since)
	if err != nil {
		return 0, err
	}
	n := 0
	// Page 1 every time: each replayed delivery leaves the FAILED filter.
	for {
		replayed := 0
		err := s.store.Update(ctx, func(tx offramp.Tx) error {
			replayed = 0 // fn may run again: count this run only
			list, _, err := tx.ListDeliveries(ctx, orgID, f, offramp.Page{Number: 1, Size: 100})
			if err != nil {
				return err
			}
			for _, ed := range list {
				if _, err := s.replayIn(ctx, tx, orgID, ed.Event.ID); err != nil {
					return err
				}
				replayed++
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += replayed
		if replayed == 0 {
			return n, nil
		}
	}
}
