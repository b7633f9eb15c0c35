package client_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/client"
	"github.com/offramp/offramp/webhook"
)

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	const key, secret = "key-1", "secret-1"
	now := time.Now()
	ev := offramp.Event{
		ID: uuid.New(), ObjectType: offramp.ObjectPayout, ObjectID: uuid.New(), Event: "SUCCESS", Sequence: 4,
		ClientReferenceID: "ref-9", Metadata: map[string]string{"utr": "027975914065"}, CreatedAt: now,
	}
	body, h, err := webhook.Message(ev, key, secret, now)
	if err != nil {
		t.Fatal(err)
	}
	env, err := client.VerifyWebhook(h, body, key, secret, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	if env.Type != "PAYOUT" || env.ID != ev.ObjectID.String() || env.Event != "SUCCESS" || env.Metadata["utr"] != "027975914065" ||
		env.Sequence != 4 || env.WebhookID != ev.ID.String() || env.ClientReferenceID != "ref-9" {
		t.Fatalf("envelope: %+v", env)
	}
	if _, err := client.VerifyWebhook(h, bytes.Replace(body, []byte("SUCCESS"), []byte("FAILED"), 1), key, secret, 0, now); !errors.Is(err, webhook.ErrSignature) {
		t.Fatalf("tampered body: %v", err)
	}
	if _, err := client.VerifyWebhook(h, body, key, "other", 0, now); !errors.Is(err, webhook.ErrSignature) {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := client.VerifyWebhook(h, body, key, secret, time.Minute, now.Add(2*time.Minute)); !errors.Is(err, webhook.ErrStale) {
		t.Fatalf("stale: %v", err)
	}
}

// Webhooks from a real server to a receiver verifying them with the SDK,
// and the delivery log and replay.
func TestWebhooks(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newClient(srv)
	ctx := t.Context()
	key, secret := srv.DefaultOrg.APIKey, srv.DefaultOrg.APISecret

	got := make(chan webhook.Envelope, 16)
	receiver := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		env, err := client.VerifyWebhook(r.Header, body, key, secret, 5*time.Minute, time.Now())
		if err != nil {
			t.Errorf("received webhook does not verify: %v", err)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		got <- env
		w.WriteHeader(http.StatusNoContent)
	})

	stored, err := c.SetWebhookURL(ctx, receiver.URL+"/hooks/offramp")
	if err != nil || stored != receiver.URL+"/hooks/offramp" {
		t.Fatalf("SetWebhookURL: %q, %v", stored, err)
	}
	cfg, err := c.WebhookConfig(ctx)
	if err != nil || !cfg.Enabled || cfg.WebhookURL != stored {
		t.Fatalf("WebhookConfig: %+v, %v", cfg, err)
	}

	cust := verifiedCustomer(t, c)
	wait := func() webhook.Envelope {
		t.Helper()
		for {
			select {
			case env := <-got:
				if env.Type == "CUSTOMER" && env.ID == cust.ID && env.Event == "VERIFIED" {
					return env
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no CUSTOMER VERIFIED webhook")
			}
		}
	}
	env := wait()
	if env.ClientReferenceID != cust.ClientReferenceID || env.Sequence < 2 {
		t.Fatalf("webhook: %+v", env)
	}

	var listed *client.WebhookEvent
	eventually(t, "the delivery to be logged", func() (bool, error) {
		page, err := c.WebhookEvents(ctx, "DELIVERED", time.Now().Add(-time.Hour), client.ListOptions{PageSize: 50})
		if err != nil {
			return false, err
		}
		for i, e := range page.Results {
			if e.WebhookID == env.WebhookID {
				listed = &page.Results[i]
				return true, nil
			}
		}
		return false, nil
	})
	if d := listed.Delivery; d.Status != "DELIVERED" || d.Attempts != 1 || d.LastStatusCode != 204 || d.DeliveredAt.IsZero() ||
		!d.NextAttemptAt.IsZero() || listed.Type != "CUSTOMER" || listed.Metadata == nil {
		t.Fatalf("listed event: %+v", listed)
	}
	one, err := c.WebhookEvent(ctx, env.WebhookID)
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Attempts) != 1 || one.Attempts[0].StatusCode != 204 || one.Attempts[0].At.IsZero() || one.Attempts[0].URL != stored || one.WebhookID != env.WebhookID {
		t.Fatalf("event: %+v", one)
	}

	if err := c.ReplayWebhook(ctx, env.WebhookID); err != nil {
		t.Fatal(err)
	}
	if again := wait(); again.WebhookID != env.WebhookID || again.Sequence != env.Sequence {
		t.Fatalf("replayed webhook: %+v", again)
	}
	if n, err := c.ReplayFailedWebhooks(ctx, time.Time{}); err != nil || n != 0 {
		t.Fatalf("ReplayFailedWebhooks: %d, %v", n, err)
	}
	if page, err := c.WebhookEvents(ctx, "", time.Now().Add(time.Hour), client.ListOptions{}); err != nil || page.Count != 0 {
		t.Fatalf("events since the future: %+v, %v", page, err)
	}
}
