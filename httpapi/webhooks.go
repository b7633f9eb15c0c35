package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/webhook"
)

// deliveryJSON is where a webhook event's delivery stands.
type deliveryJSON struct {
	Status         string  `json:"status"`
	Attempts       int     `json:"attempts"`
	NextAttemptAt  *string `json:"next_attempt_at"`
	LastStatusCode *int    `json:"last_status_code"`
	LastError      *string `json:"last_error"`
	DeliveredAt    *string `json:"delivered_at"`
}

type attemptJSON struct {
	Number     int     `json:"number"`
	At         string  `json:"at"`
	URL        string  `json:"url"`
	StatusCode *int    `json:"status_code"`
	LatencyMS  float64 `json:"latency_ms"`
	Error      *string `json:"error"`
}

// webhookEventJSON is an event as its receiver gets it (the signed
// envelope) plus its delivery, and, for one event, every attempt.
type webhookEventJSON struct {
	webhook.Envelope
	Delivery deliveryJSON  `json:"delivery"`
	Attempts []attemptJSON `json:"attempts,omitempty"`
}

// nullTime sends a zero time as null.
func nullTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := fmtTime(t)
	return &s
}

func nonZero(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

func webhookEventWire(ed offramp.EventDelivery, attempts []offramp.DeliveryAttempt) webhookEventJSON {
	d := ed.Delivery
	out := webhookEventJSON{
		Envelope: webhook.EnvelopeOf(ed.Event),
		Delivery: deliveryJSON{
			Status: string(d.State), Attempts: d.Attempts, NextAttemptAt: nullTime(d.NextAttemptAt),
			LastStatusCode: nonZero(d.LastStatusCode), LastError: nullable(d.LastError), DeliveredAt: nullTime(d.DeliveredAt),
		},
	}
	for _, a := range attempts {
		out.Attempts = append(out.Attempts, attemptJSON{
			Number: a.Number, At: fmtTime(a.At), URL: a.URL, StatusCode: nonZero(a.StatusCode),
			LatencyMS: float64(a.Latency.Microseconds()) / 1000, Error: nullable(a.Error),
		})
	}
	return out
}

// getWebhookConfig reads the configured URL: an extension, DollarPe
// documents no GET.
func (s *Server) getWebhookConfig(r *http.Request, _ []byte) (int, any, error) {
	o := orgFrom(r.Context())
	return http.StatusOK, map[string]any{"webhook_url": nullable(o.WebhookURL), "enabled": o.WebhookURL != "" && !o.WebhookDisabled}, nil
}

func (s *Server) listWebhookEvents(r *http.Request, _ []byte) (int, any, error) {
	p, err := pageParams(r)
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	list, total, err := s.svc.WebhookEvents(r.Context(), orgFrom(r.Context()).ID, q.Get("delivery_status"), q.Get("since"), p)
	if err != nil {
		return 0, nil, err
	}
	out := make([]webhookEventJSON, 0, len(list))
	for _, ed := range list {
		out = append(out, webhookEventWire(ed, nil))
	}
	return http.StatusOK, pageOf(r, p, total, list, out), nil
}

func (s *Server) getWebhookEvent(r *http.Request, _ []byte) (int, any, error) {
	ev, err := s.svc.WebhookEvent(r.Context(), orgFrom(r.Context()).ID, r.PathValue("webhook_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, webhookEventWire(ev.EventDelivery, ev.Attempts), nil
}

// replayWebhookRequest names the event a replay is for. The path names it
// too, but DollarPe's signature covers the body and not the path: a body
// that names its target keeps the signature of a GET (which signs {}) or
// of another event's replay from authorising this one.
type replayWebhookRequest struct {
	WebhookID flexString `json:"webhook_id"`
}

func (s *Server) replayWebhookEvent(r *http.Request, body []byte) (int, any, error) {
	var req replayWebhookRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	id := r.PathValue("webhook_id")
	switch {
	case req.WebhookID == "":
		return 0, nil, offramp.FieldError(offramp.CodeInvalid, "webhook_id", offramp.MsgRequired)
	case !strings.EqualFold(strings.TrimSpace(string(req.WebhookID)), id):
		return 0, nil, offramp.FieldError(offramp.CodeInvalid, "webhook_id", "Must be the webhook_id of the path.")
	}
	d, err := s.svc.ReplayWebhook(r.Context(), orgFrom(r.Context()).ID, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"webhook_id": d.EventID.String(), "status": string(d.State)}, nil
}

type replayRequest struct {
	Since flexString `json:"since"`
}

func (s *Server) replayFailedWebhooks(r *http.Request, body []byte) (int, any, error) {
	var req replayRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	n, err := s.svc.ReplayFailedWebhooks(r.Context(), orgFrom(r.Context()).ID, string(req.Since))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"replayed": n}, nil
}
