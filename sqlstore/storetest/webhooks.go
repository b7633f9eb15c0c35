package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// testWebhookDeliveries covers the outbox: a delivery per event, its
// compare-and-set on the attempt count, the attempt log, listings with
// filters, the org's disabled flag, and scoping to the organization.
func testWebhookDeliveries(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org, other := newOrg(t, s), newOrg(t, s)
	var events []offramp.Event
	err := s.Update(ctx, func(tx offramp.Tx) error {
		for i := range 3 {
			e, err := tx.AppendEvent(ctx, offramp.Event{OrgID: org.ID, ObjectType: offramp.ObjectPayout, ObjectID: uuid.New(),
				Event: "SUCCESS", Metadata: map[string]string{"utr": "123456789012"}, CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
			if err != nil {
				return err
			}
			events = append(events, e)
			if err := tx.CreateDelivery(ctx, offramp.Delivery{EventID: e.ID, OrgID: org.ID, State: offramp.DeliveryPending,
				NextAttemptAt: e.CreatedAt, CreatedAt: e.CreatedAt, UpdatedAt: e.CreatedAt}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	first := events[0]

	// One attempt recorded; the delivery moves on by compare-and-set.
	err = s.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.AddDeliveryAttempt(ctx, offramp.DeliveryAttempt{EventID: first.ID, OrgID: org.ID, Number: 1, At: t0,
			URL: "https://hooks.example/x", StatusCode: 500, Latency: 1500 * time.Microsecond, Error: "HTTP 500"}); err != nil {
			return err
		}
		d := offramp.Delivery{EventID: first.ID, OrgID: org.ID, State: offramp.DeliveryPending, Attempts: 1,
			NextAttemptAt: t0.Add(5 * time.Second), LastStatusCode: 500, LastError: "HTTP 500", UpdatedAt: t0}
		if err := tx.UpdateDelivery(ctx, d, 0); err != nil {
			return err
		}
		if err := tx.UpdateDelivery(ctx, d, 0); !errors.Is(err, offramp.ErrStale) {
			t.Errorf("second update from 0 attempts: %v, want ErrStale", err)
		}
		d.State, d.Attempts, d.DeliveredAt, d.LastStatusCode, d.LastError = offramp.DeliveryDelivered, 2, t0.Add(6*time.Second), 200, ""
		if err := tx.AddDeliveryAttempt(ctx, offramp.DeliveryAttempt{EventID: first.ID, OrgID: org.ID, Number: 2, At: t0.Add(6 * time.Second), URL: "https://hooks.example/x", StatusCode: 200}); err != nil {
			return err
		}
		return tx.UpdateDelivery(ctx, d, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx offramp.ReadTx) error {
		d, err := tx.Delivery(ctx, org.ID, first.ID)
		if err != nil {
			return err
		}
		if d.State != offramp.DeliveryDelivered || d.Attempts != 2 || !d.DeliveredAt.Equal(t0.Add(6*time.Second)) || d.LastStatusCode != 200 {
			t.Errorf("delivery: %+v", d)
		}
		att, err := tx.DeliveryAttempts(ctx, org.ID, first.ID)
		if err != nil {
			return err
		}
		if len(att) != 2 || att[0].StatusCode != 500 || att[0].Latency != 1500*time.Microsecond || att[1].Number != 2 {
			t.Errorf("attempts: %+v", att)
		}
		e, err := tx.Event(ctx, org.ID, first.ID)
		if err != nil || e.Metadata["utr"] != "123456789012" || e.Sequence != 1 {
			t.Errorf("event: %+v %v", e, err)
		}
		all, n, err := tx.ListDeliveries(ctx, org.ID, offramp.DeliveryFilter{}, offramp.Page{Number: 1, Size: 10})
		if err != nil {
			return err
		}
		if n != 3 || len(all) != 3 || all[0].Event.ID != events[2].ID {
			t.Errorf("list: %d %+v", n, all)
		}
		pending, n, err := tx.ListDeliveries(ctx, org.ID, offramp.DeliveryFilter{State: offramp.DeliveryPending, Since: t0.Add(2 * time.Minute)}, offramp.Page{Number: 1, Size: 10})
		if err != nil {
			return err
		}
		if n != 1 || pending[0].Event.ID != events[2].ID || pending[0].Delivery.State != offramp.DeliveryPending {
			t.Errorf("filtered list: %d %+v", n, pending)
		}
		// Another organization sees none of it.
		if _, err := tx.Delivery(ctx, other.ID, first.ID); !errors.Is(err, offramp.ErrNotFound) {
			t.Errorf("other org delivery: %v", err)
		}
		if _, err := tx.Event(ctx, other.ID, first.ID); !errors.Is(err, offramp.ErrNotFound) {
			t.Errorf("other org event: %v", err)
		}
		if _, n, _ := tx.ListDeliveries(ctx, other.ID, offramp.DeliveryFilter{}, offramp.Page{Number: 1, Size: 10}); n != 0 {
			t.Errorf("other org lists %d deliveries", n)
		}
		if att, _ := tx.DeliveryAttempts(ctx, other.ID, first.ID); len(att) != 0 {
			t.Errorf("other org sees attempts")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Another org cannot update this org's delivery.
	err = s.Update(ctx, func(tx offramp.Tx) error {
		return tx.UpdateDelivery(ctx, offramp.Delivery{EventID: first.ID, OrgID: other.ID, State: offramp.DeliveryFailed, Attempts: 3}, 2)
	})
	if !errors.Is(err, offramp.ErrNotFound) {
		t.Errorf("cross-org update: %v, want ErrNotFound", err)
	}

	// The disabled flag round-trips on the org.
	err = s.Update(ctx, func(tx offramp.Tx) error { return tx.SetOrgWebhookDisabled(ctx, org.ID, true) })
	if err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx offramp.ReadTx) error {
		o, err := tx.Org(ctx, org.ID)
		if err != nil || !o.WebhookDisabled {
			t.Errorf("org after disable: %+v %v", o, err)
		}
		return nil
	})
}
