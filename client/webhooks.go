package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/offramp/offramp/webhook"
)

// SetWebhookURL points the organization's webhooks at url and returns the
// URL as stored. Setting it again re-enables an endpoint disabled by a 410.
func (c *Client) SetWebhookURL(ctx context.Context, url string) (string, error) {
	body := struct {
		WebhookURL string `json:"webhook_url"`
	}{url}
	var out string
	if err := c.do(ctx, call{method: http.MethodPost, path: "/org/api/v1/organizations/api-webhooks", body: body, out: &out}); err != nil {
		return "", err
	}
	return out, nil
}

// WebhookConfig is the organization's webhook endpoint. Enabled is false
// without a URL, or after the endpoint answered 410 Gone.
type WebhookConfig struct {
	WebhookURL string `json:"webhook_url"`
	Enabled    bool   `json:"enabled"`
}

// WebhookConfig fetches the organization's webhook endpoint.
func (c *Client) WebhookConfig(ctx context.Context) (*WebhookConfig, error) {
	var out WebhookConfig
	if err := c.do(ctx, call{method: http.MethodGet, path: "/org/api/v1/organizations/api-webhooks", out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// WebhookEvent is an event as its receiver gets it (the signed envelope),
// with where its delivery stands and, from WebhookEvent, every attempt.
type WebhookEvent struct {
	webhook.Envelope
	Delivery WebhookDelivery  `json:"delivery"`
	Attempts []WebhookAttempt `json:"attempts,omitempty"`
}

// WebhookDelivery is where an event's delivery stands. Status is PENDING,
// DELIVERED or FAILED (after every retry).
type WebhookDelivery struct {
	Status         string    `json:"status"`
	Attempts       int       `json:"attempts"`
	NextAttemptAt  time.Time `json:"next_attempt_at"`
	LastStatusCode int       `json:"last_status_code"`
	LastError      string    `json:"last_error"`
	DeliveredAt    time.Time `json:"delivered_at"`
}

// UnmarshalJSON reads a delivery as the API sends it (null times are zero).
func (d *WebhookDelivery) UnmarshalJSON(b []byte) error {
	type plain WebhookDelivery
	w := struct {
		*plain
		NextAttemptAt jsonTime `json:"next_attempt_at"`
		DeliveredAt   jsonTime `json:"delivered_at"`
	}{plain: (*plain)(d)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	d.NextAttemptAt, d.DeliveredAt = w.NextAttemptAt.Time, w.DeliveredAt.Time
	return nil
}

// WebhookAttempt is one delivery attempt. StatusCode is 0 when the
// receiver gave no answer (Error says why).
type WebhookAttempt struct {
	Number     int       `json:"number"`
	At         time.Time `json:"at"`
	URL        string    `json:"url"`
	StatusCode int       `json:"status_code"`
	LatencyMS  float64   `json:"latency_ms"`
	Error      string    `json:"error"`
}

// UnmarshalJSON reads an attempt as the API sends it.
func (a *WebhookAttempt) UnmarshalJSON(b []byte) error {
	type plain WebhookAttempt
	w := struct {
		*plain
		At jsonTime `json:"at"`
	}{plain: (*plain)(a)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	a.At = w.At.Time
	return nil
}

// WebhookEvents fetches one page of the organization's webhook events,
// newest first: all of them, or those whose delivery status is status
// (PENDING, DELIVERED, FAILED), since a time if not zero.
func (c *Client) WebhookEvents(ctx context.Context, status string, since time.Time, o ListOptions) (*Page[WebhookEvent], error) {
	q := url.Values{}
	if status != "" {
		q.Set("delivery_status", status)
	}
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339))
	}
	var out Page[WebhookEvent]
	if err := c.do(ctx, call{method: http.MethodGet, path: "/org/api/v1/webhooks/events", query: o.values(q), out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// WebhookEvent fetches one webhook event with every delivery attempt.
func (c *Client) WebhookEvent(ctx context.Context, webhookID string) (*WebhookEvent, error) {
	seg, err := pathSeg("webhook id", webhookID)
	if err != nil {
		return nil, err
	}
	var out WebhookEvent
	if err := c.do(ctx, call{method: http.MethodGet, path: "/org/api/v1/webhooks/events/" + seg, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReplayWebhook sends a webhook event again now.
func (c *Client) ReplayWebhook(ctx context.Context, webhookID string) error {
	seg, err := pathSeg("webhook id", webhookID)
	if err != nil {
		return err
	}
	// The body names the event: the server requires it, so that this
	// call's signature authorises the replay of this event only.
	body := struct {
		WebhookID string `json:"webhook_id"`
	}{webhookID}
	return c.do(ctx, call{method: http.MethodPost, path: "/org/api/v1/webhooks/events/" + seg + "/replay", body: body})
}

// ReplayFailedWebhooks sends again every event whose delivery FAILED since
// a time (zero: since ever) and returns how many.
func (c *Client) ReplayFailedWebhooks(ctx context.Context, since time.Time) (int, error) {
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	body := struct {
		Since string `json:"since"`
	}{since.UTC().Format(time.RFC3339)}
	var out struct {
		Replayed int `json:"replayed"`
	}
	if err := c.do(ctx, call{method: http.MethodPost, path: "/org/api/v1/webhooks/replay", body: body, out: &out}); err != nil {
		return 0, err
	}
	return out.Replayed, nil
}

// VerifyWebhook is webhook.Verify, for receivers: it checks X-TIMESTAMP
// (within ±tolerance of now; 300 s if tolerance <= 0) and X-SIGNATURE over
// the raw body with the organization's API key and secret, and returns the
// envelope. Errors wrap webhook.ErrStale, webhook.ErrSignature (answer
// 401) or webhook.ErrMalformed (answer 400). Deduplicate on WebhookID and
// drop an event whose Sequence is not above the last one applied to its
// object.
func VerifyWebhook(h http.Header, body []byte, apiKey, apiSecret string, tolerance time.Duration, now time.Time) (webhook.Envelope, error) {
	return webhook.Verify(h, body, apiKey, apiSecret, tolerance, now)
}
