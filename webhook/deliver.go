package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/offramp/offramp"
)

// DelivererConfig configures a [Deliverer].
type DelivererConfig struct {
	Store offramp.Store
	// Clock stamps attempts, signs them (X-TIMESTAMP) and schedules
	// retries. Nil: offramp.SystemClock.
	Clock offramp.Clock
	// Client sends the requests. It should come from [NewClient]: it
	// refuses internal addresses at dial time and follows no redirect.
	// Nil: NewClient(ClientOptions{}), which refuses every non-public
	// address.
	Client *http.Client
	// Log receives warnings (an endpoint disabled by 410 Gone). Nil:
	// slog.Default().
	Log *slog.Logger
}

// Deliverer runs the deliver_webhook jobs: each run is one delivery attempt
// of one event. It is safe for concurrent use.
//
// An event has at most one delivery job (the store enforces it), and a run
// ends its own job in the transaction that records its work: the attempt,
// the delivery's new state and either the job rescheduled to the next
// attempt ([NextDelay]) or the job finished (delivered, or failed for good)
// commit together, under the lease the job was claimed with. So:
//
//   - a crash between the request and that commit leaves the job untouched:
//     its lease lapses, it is claimed again and the attempt is sent again
//     (at least once; the body and X-WEBHOOK-ID are the same, so receivers
//     deduplicate);
//   - a runner whose lease lapsed during the request commits nothing
//     (offramp.ErrStale abandons the whole transaction): the runner that
//     claimed the job since owns it, and its attempt is the one recorded;
//   - the delivery chain cannot fork: there is never a second job to run.
type Deliverer struct {
	store  offramp.Store
	clock  offramp.Clock
	client *http.Client
	log    *slog.Logger
}

// NewDeliverer returns a Deliverer; see DelivererConfig for the defaults.
func NewDeliverer(cfg DelivererConfig) *Deliverer {
	d := &Deliverer{store: cfg.Store, clock: cfg.Clock, client: cfg.Client, log: cfg.Log}
	if d.clock == nil {
		d.clock = offramp.SystemClock{}
	}
	if d.client == nil {
		d.client = NewClient(ClientOptions{})
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	return d
}

// maxResponseBody bounds what is read of a receiver's answer: only the
// status matters, the body is drained so the connection can be reused.
const maxResponseBody = 64 << 10

// Reasons recorded on a delivery or an attempt.
const (
	reasonDisabled = "endpoint disabled after 410 Gone; set the webhook URL again to enable it"
	reasonGone     = "410 Gone: the endpoint is disabled"
	reasonNoURL    = "no webhook URL is configured"
)

// Run makes one delivery attempt of the event j refers to and records it,
// completing or rescheduling j in the same transaction (j.Lease must be the
// lease j was claimed with):
//
//   - a 2xx answer: the delivery is DELIVERED and j finished;
//   - 410 Gone: the delivery is FAILED, the organization's endpoint is
//     disabled until its URL is set again, and j finished;
//   - any other answer, or none: j is rescheduled by [NextDelay], or, once
//     the schedule is exhausted, the delivery is FAILED and j finished;
//   - no URL configured counts as a failed attempt (it may be set later); a
//     disabled endpoint ends the delivery FAILED without an attempt;
//   - an event or delivery that is gone, or a delivery no longer PENDING,
//     needs no attempt: j is finished.
//
// Run returns nil when the lease was lost (another runner owns j). It
// returns an error, leaving j to the caller's retry, only when nothing
// could be sent or recorded (the store failed, or the organization has no
// API credentials to sign with).
func (d *Deliverer) Run(ctx context.Context, j offramp.Job) error {
	o, err := d.attempt(ctx, j)
	if err != nil {
		return err
	}
	return d.record(ctx, j, o)
}

// outcome is what an attempt found or did, to be recorded.
type outcome struct {
	// skip: nothing to deliver; only the job is finished.
	skip bool
	// delivery is the delivery as read before the attempt.
	delivery offramp.Delivery
	// attempt is the attempt made; nil when none was.
	attempt *offramp.DeliveryAttempt
	// fail, when set, ends the delivery FAILED with this reason (no
	// attempt was made).
	fail string
}

// attempt reads the event, its delivery and the organization and, when
// the delivery is due, sends the event once. It writes nothing.
func (d *Deliverer) attempt(ctx context.Context, j offramp.Job) (outcome, error) {
	var (
		ev  offramp.Event
		dl  offramp.Delivery
		org offramp.Org
	)
	err := d.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		if ev, err = tx.Event(ctx, j.OrgID, j.RefID); err != nil {
			return err
		}
		if dl, err = tx.Delivery(ctx, j.OrgID, j.RefID); err != nil {
			return err
		}
		org, err = tx.Org(ctx, j.OrgID)
		return err
	})
	switch {
	case errors.Is(err, offramp.ErrNotFound):
		return outcome{skip: true}, nil
	case err != nil:
		return outcome{}, err
	case dl.State != offramp.DeliveryPending:
		return outcome{skip: true}, nil
	case org.WebhookDisabled:
		return outcome{delivery: dl, fail: reasonDisabled}, nil
	}
	start := d.now()
	began := time.Now() // latency is measured on the monotonic clock, not the service clock
	a := &offramp.DeliveryAttempt{EventID: ev.ID, OrgID: ev.OrgID, Number: dl.Attempts + 1, At: start, URL: org.WebhookURL}
	o := outcome{delivery: dl, attempt: a}
	if org.WebhookURL == "" {
		a.Error = reasonNoURL
		return o, nil
	}
	body, hdr, err := Message(ev, org.APIKey, org.APISecret, start)
	if err != nil {
		return outcome{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, org.WebhookURL, bytes.NewReader(body))
	if err != nil {
		a.Error = "bad webhook URL: " + err.Error()
		return o, nil
	}
	req.Header = hdr
	res, err := d.client.Do(req)
	a.Latency = time.Since(began)
	if err != nil {
		a.Error = err.Error()
		return o, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxResponseBody))
	_ = res.Body.Close()
	a.StatusCode = res.StatusCode
	if !success(res.StatusCode) {
		a.Error = fmt.Sprintf("HTTP %d", res.StatusCode)
	}
	return o, nil
}

func success(code int) bool { return code >= 200 && code <= 299 }

// record commits an outcome in one transaction: the attempt, the
// delivery's next state, and j rescheduled or finished under j.Lease.
func (d *Deliverer) record(ctx context.Context, j offramp.Job, o outcome) error {
	now := d.now()
	// Decide outside the transaction: Update may run fn again, and the
	// jittered delay must not change between runs.
	next, retryAt, gone := step(o, now)
	err := d.store.Update(ctx, func(tx offramp.Tx) error {
		if o.skip {
			return d.skip(ctx, tx, j, now)
		}
		if !retryAt.IsZero() {
			if err := tx.RescheduleJob(ctx, j, retryAt); err != nil {
				return err
			}
		} else if err := tx.FinishJob(ctx, j.ID, j.Lease); err != nil {
			return err
		}
		if err := tx.UpdateDelivery(ctx, next, o.delivery.Attempts); err != nil {
			return err
		}
		if o.attempt != nil {
			if err := tx.AddDeliveryAttempt(ctx, *o.attempt); err != nil {
				return err
			}
		}
		if gone {
			return tx.SetOrgWebhookDisabled(ctx, next.OrgID, true)
		}
		return nil
	})
	if errors.Is(err, offramp.ErrStale) {
		// The lease lapsed and another runner claimed the job (or
		// recorded this attempt first): it owns the delivery now.
		return nil
	}
	if err == nil && gone {
		d.log.WarnContext(ctx, "webhook endpoint answered 410 Gone; disabled until its URL is set again", "org_id", next.OrgID.String())
	}
	return err
}

// skip ends a job that found nothing to send. It looks again inside the
// transaction: a replay may have made the delivery PENDING since it was
// read, leaving this job to send it, so the job then runs again at once
// instead of being finished.
func (d *Deliverer) skip(ctx context.Context, tx offramp.Tx, j offramp.Job, now time.Time) error {
	dl, err := tx.Delivery(ctx, j.OrgID, j.RefID)
	switch {
	case err == nil && dl.State == offramp.DeliveryPending:
		return tx.RescheduleJob(ctx, j, now)
	case err != nil && !errors.Is(err, offramp.ErrNotFound):
		return err
	}
	return tx.FinishJob(ctx, j.ID, j.Lease)
}

// step is the delivery's state after an outcome, the time of the next
// attempt (zero: the job is finished) and whether the endpoint answered
// 410 Gone.
func step(o outcome, now time.Time) (next offramp.Delivery, retryAt time.Time, gone bool) {
	if o.skip {
		return offramp.Delivery{}, time.Time{}, false
	}
	d := o.delivery
	d.UpdatedAt = now
	if o.attempt == nil {
		d.State, d.LastError, d.NextAttemptAt = offramp.DeliveryFailed, o.fail, time.Time{}
		return d, time.Time{}, false
	}
	a := o.attempt
	d.Attempts++
	d.LastStatusCode = a.StatusCode
	switch {
	case success(a.StatusCode):
		d.State, d.LastError, d.DeliveredAt, d.NextAttemptAt = offramp.DeliveryDelivered, "", now, time.Time{}
	case a.StatusCode == http.StatusGone:
		d.State, d.LastError, d.NextAttemptAt = offramp.DeliveryFailed, reasonGone, time.Time{}
		return d, time.Time{}, true
	default:
		d.LastError = a.Error
		if delay, ok := NextDelay(d.Attempts); ok {
			retryAt = now.Add(delay)
			d.State, d.NextAttemptAt = offramp.DeliveryPending, retryAt
		} else {
			d.State, d.NextAttemptAt = offramp.DeliveryFailed, time.Time{}
		}
	}
	return d, retryAt, false
}

// now is the clock's time truncated to what the store keeps, so values
// read back compare equal to values written.
func (d *Deliverer) now() time.Time { return d.clock.Now().UTC().Truncate(time.Microsecond) }
