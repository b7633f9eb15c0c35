package razorpayxfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// outEvent is a webhook event waiting for delivery.
type outEvent struct {
	id, name  string
	reference string // the payout's reference_id ("" for validations)
	key       string // the payout's idempotency key
	body      []byte
}

// Delivery is one attempt to deliver an event.
type Delivery struct {
	EventID, Event, Reference string
	// Status is the receiver's HTTP status (0 when no answer came).
	Status int
	Err    error
}

// OK reports whether the receiver accepted the event (2xx).
func (d Delivery) OK() bool { return d.Err == nil && d.Status >= 200 && d.Status <= 299 }

// queueEvent records an event of entity (contained under name in the
// payload) for delivery; called with f.mu held.
func (f *Fake) queueEvent(event, reference, key, contains string, entity any) {
	if f.o.WebhookURL == "" {
		return
	}
	body, err := json.Marshal(map[string]any{
		"entity":     "event",
		"account_id": "acc_fake0000000001",
		"event":      event,
		"contains":   []string{contains},
		"payload":    map[string]any{contains: map[string]any{"entity": entity}},
		"created_at": f.clock.Now().Unix(),
	})
	if err != nil {
		panic(err)
	}
	f.outbox = append(f.outbox, &outEvent{id: f.nextID("evt"), name: event, reference: reference, key: key, body: body})
}

// Sign is RazorpayX's webhook signature of body under secret.
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// post delivers one event; signature overrides the correct one when set.
func (f *Fake) post(ctx context.Context, ev *outEvent, signature string) Delivery {
	d := Delivery{EventID: ev.id, Event: ev.name, Reference: ev.reference}
	if signature == "" {
		signature = Sign(ev.body, f.o.WebhookSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.o.WebhookURL, bytes.NewReader(ev.body))
	if err != nil {
		d.Err = err
		return d
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Razorpay-Signature", signature)
	req.Header.Set("X-Razorpay-Event-Id", ev.id)
	client := f.o.WebhookClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		d.Err = err
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d.Status = resp.StatusCode
	}
	f.mu.Lock()
	f.deliveries = append(f.deliveries, d)
	f.mu.Unlock()
	return d
}

// Flush catches every payout and validation up with the clock and delivers
// the queued events in order, one attempt each; events the receiver does
// not accept (non-2xx) stay queued for the next Flush, as RazorpayX
// retries.
func (f *Fake) Flush(ctx context.Context) ([]Delivery, error) {
	if f.o.WebhookURL == "" {
		return nil, errNoWebhookURL
	}
	f.mu.Lock()
	now := f.clock.Now()
	for _, p := range f.payouts {
		f.catchUp(p, now)
	}
	for _, v := range f.valOrder {
		f.catchUpValidation(v, now)
	}
	batch := f.outbox
	f.outbox = nil
	f.mu.Unlock()
	return f.deliver(ctx, batch), nil
}

// deliver posts batch in order and queues again what was not accepted.
func (f *Fake) deliver(ctx context.Context, batch []*outEvent) []Delivery {
	var out []Delivery
	var again []*outEvent
	for _, ev := range batch {
		d := f.post(ctx, ev, "")
		out = append(out, d)
		if !d.OK() {
			again = append(again, ev)
		}
	}
	if len(again) > 0 {
		f.mu.Lock()
		f.outbox = append(again, f.outbox...)
		f.mu.Unlock()
	}
	return out
}

// deliverFor delivers now the queued events of the payout under key.
func (f *Fake) deliverFor(ctx context.Context, key string) []Delivery {
	if f.o.WebhookURL == "" {
		return nil
	}
	f.mu.Lock()
	var mine, rest []*outEvent
	for _, ev := range f.outbox {
		if ev.key == key && key != "" {
			mine = append(mine, ev)
		} else {
			rest = append(rest, ev)
		}
	}
	f.outbox = rest
	f.mu.Unlock()
	return f.deliver(ctx, mine)
}

// PendingWebhooks is how many events wait for delivery.
func (f *Fake) PendingWebhooks() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.outbox)
}

// Deliveries lists every delivery attempt so far.
func (f *Fake) Deliveries() []Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Delivery(nil), f.deliveries...)
}

// SendOptions tune SendWebhook.
type SendOptions struct {
	// Event names the event; empty: the one for the payout's status.
	Event string
	// BadSignature signs the body with a wrong secret.
	BadSignature bool
}

// SendWebhook sends, now, an event carrying the current state of the
// payout created under idempotency key ref, outside the queue (call it
// twice to deliver twice).
func (f *Fake) SendWebhook(ctx context.Context, ref string, o SendOptions) (Delivery, error) {
	if f.o.WebhookURL == "" {
		return Delivery{}, errNoWebhookURL
	}
	f.mu.Lock()
	p := f.byKey[ref]
	if p == nil {
		f.mu.Unlock()
		return Delivery{}, fmt.Errorf("razorpayxfake: no payout under %q", ref)
	}
	f.catchUp(p, f.clock.Now())
	name := o.Event
	if name == "" {
		name = payoutEvent(p.status)
	}
	// Build the event without queueing it.
	saved := f.outbox
	f.outbox = nil
	f.queueEvent(name, p.referenceID, p.key, "payout", p.json())
	ev := f.outbox[0]
	f.outbox = saved
	f.mu.Unlock()
	sig := ""
	if o.BadSignature {
		sig = Sign(ev.body, f.o.WebhookSecret+"-wrong")
	}
	return f.post(ctx, ev, sig), nil
}
