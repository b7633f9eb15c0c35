package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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

// emit records a status change. A deliverable one also gets its outbox row
// and a delivery job, in the same transaction: the webhook cannot be lost
// between the change and its sending.
func (s *Service) emit(ctx context.Context, tx offramp.Tx, e offramp.Event) (offramp.Event, error) {
	e, err := tx.AppendEvent(ctx, e)
	if err != nil || !e.Deliverable() {
		return e, err
	}
	now := s.now()
	if err := tx.CreateDelivery(ctx, offramp.Delivery{EventID: e.ID, OrgID: e.OrgID, State: offramp.DeliveryPending,
		NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}); err != nil {
		return e, err
	}
	return e, s.scheduleDelivery(ctx, tx, e.OrgID, e.ID, now)
}

func (s *Service) scheduleDelivery(ctx context.Context, tx offramp.Tx, orgID, eventID uuid.UUID, at time.Time) error {
	return tx.EnqueueJob(ctx, offramp.Job{ID: uuid.New(), OrgID: orgID, Kind: offramp.JobDeliverWebhook, RefID: eventID, RunAt: at})
}

// maxResponseBody bounds what is read of a receiver's answer: only the
// status matters, the body is drained so the connection can be reused.
const maxResponseBody = 64 << 10

// runWebhookJob makes one delivery attempt and records it. A failed
// attempt schedules the next one by webhook.Schedule; a 410 Gone disables
// the organization's endpoint until its URL is set again.
func (s *Service) runWebhookJob(ctx context.Context, j offramp.Job) error {
	var (
		ev  offramp.Event
		d   offramp.Delivery
		org offramp.Org
	)
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		if ev, err = tx.Event(ctx, j.OrgID, j.RefID); err != nil {
			return err
		}
		if d, err = tx.Delivery(ctx, j.OrgID, j.RefID); err != nil {
			return err
		}
		org, err = tx.Org(ctx, j.OrgID)
		return err
	})
	if errors.Is(err, offramp.ErrNotFound) {
		return nil
	}
	if err != nil || d.State != offramp.DeliveryPending {
		return err
	}
	if org.WebhookDisabled {
		return s.recordAttempt(ctx, d, nil, "endpoint disabled after 410 Gone; set the webhook URL again to enable it", true)
	}
	start := s.clock.Now()
	began := time.Now() // latency is measured on the monotonic clock, not the service clock
	attempt := offramp.DeliveryAttempt{EventID: ev.ID, OrgID: ev.OrgID, Number: d.Attempts + 1, At: start, URL: org.WebhookURL}
	if org.WebhookURL == "" {
		attempt.Error = "no webhook URL is configured"
		return s.recordAttempt(ctx, d, &attempt, "", false)
	}
	body, hdr, err := webhook.Message(ev, org.APIKey, org.APISecret, start)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, org.WebhookURL, bytes.NewReader(body))
	if err != nil {
		attempt.Error = "bad webhook URL: " + err.Error()
		return s.recordAttempt(ctx, d, &attempt, "", false)
	}
	req.Header = hdr
	res, err := s.webhooks.Client.Do(req)
	attempt.Latency = time.Since(began)
	if err != nil {
		attempt.Error = err.Error()
	} else {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxResponseBody))
		res.Body.Close()
		attempt.StatusCode = res.StatusCode
		if res.StatusCode < 200 || res.StatusCode > 299 {
			attempt.Error = fmt.Sprintf("HTTP %d", res.StatusCode)
		}
	}
	return s.recordAttempt(ctx, d, &attempt, "", false)
}

// recordAttempt stores an attempt (when one was made) and the delivery's
// next state, and schedules the next attempt. fail ends the delivery with
// reason without an attempt.
func (s *Service) recordAttempt(ctx context.Context, d offramp.Delivery, a *offramp.DeliveryAttempt, reason string, fail bool) error {
	from := d.Attempts
	now := s.now()
	d.UpdatedAt = now
	err := s.store.Update(ctx, func(tx offramp.Tx) error {
		d := d // fn may run again on PostgreSQL: change a copy
		var next time.Time
		switch {
		case fail:
			d.State, d.LastError, d.NextAttemptAt = offramp.DeliveryFailed, reason, time.Time{}
		case a.StatusCode >= 200 && a.StatusCode <= 299:
			d.Attempts++
			d.State, d.LastStatusCode, d.LastError, d.DeliveredAt, d.NextAttemptAt = offramp.DeliveryDelivered, a.StatusCode, "", now, time.Time{}
		case a.StatusCode == http.StatusGone:
			d.Attempts++
			d.State, d.LastStatusCode, d.LastError, d.NextAttemptAt = offramp.DeliveryFailed, a.StatusCode, "410 Gone: the endpoint is disabled", time.Time{}
			if err := tx.SetOrgWebhookDisabled(ctx, d.OrgID, true); err != nil {
				return err
			}
			s.log.WarnContext(ctx, "webhook endpoint answered 410 Gone; disabled until its URL is set again", "org_id", d.OrgID.String())
		default:
			d.Attempts++
			d.LastStatusCode, d.LastError = a.StatusCode, a.Error
			if delay, ok := webhook.NextDelay(d.Attempts); ok {
				next = now.Add(delay)
				d.State, d.NextAttemptAt = offramp.DeliveryPending, next
			} else {
				d.State, d.NextAttemptAt = offramp.DeliveryFailed, time.Time{}
			}
		}
		if a != nil {
			if err := tx.AddDeliveryAttempt(ctx, *a); err != nil {
				return err
			}
		}
		if err := tx.UpdateDelivery(ctx, d, from); err != nil {
			return err
		}
		if !next.IsZero() {
			return s.scheduleDelivery(ctx, tx, d.OrgID, d.EventID, next)
		}
		return nil
	})
	if errors.Is(err, offramp.ErrStale) {
		return nil // another runner recorded this attempt first
	}
	return err
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
// failed one is queued once more, its attempts numbered on.
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
	d, err := tx.Delivery(ctx, orgID, id)
	if err != nil || d.State == offramp.DeliveryPending {
		return d, err
	}
	now := s.now()
	from := d.Attempts
	d.State, d.NextAttemptAt, d.UpdatedAt = offramp.DeliveryPending, now, now
	if err := tx.UpdateDelivery(ctx, d, from); err != nil {
		return offramp.Delivery{}, err
	}
	return d, s.scheduleDelivery(ctx, tx, orgID, id, now)
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
