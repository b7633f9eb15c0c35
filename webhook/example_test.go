package webhook_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/webhook"
)

// A receiver: read the raw body (bounded), verify it, deduplicate on
// webhook_id, answer 2xx quickly and process asynchronously.
func ExampleVerify() {
	const apiKey, apiSecret = "your-api-key", "your-api-secret"

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		env, err := webhook.Verify(r.Header, body, apiKey, apiSecret, 5*time.Minute, time.Now())
		switch {
		case errors.Is(err, webhook.ErrMalformed):
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		case err != nil: // ErrStale or ErrSignature
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		// Here: skip env.WebhookID if already seen, skip the event if
		// env.Sequence is not above the last one applied to env.ID, then
		// queue it for processing.
		fmt.Println(env.Type, env.Event, env.Metadata["utr"], env.ClientReferenceID, env.Sequence)
		w.WriteHeader(http.StatusNoContent)
	})

	// What Offramp sends.
	event := offramp.Event{
		ID:                uuid.New(),
		ObjectType:        offramp.ObjectPayout,
		ObjectID:          uuid.New(),
		Event:             "SUCCESS",
		Sequence:          3,
		ClientReferenceID: "order-42",
		Metadata:          map[string]string{"utr": "RATN12341234XYZ"},
		CreatedAt:         time.Now(),
	}
	body, header, err := webhook.Message(event, apiKey, apiSecret, time.Now())
	if err != nil {
		panic(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/webhooks/offramp", bytes.NewReader(body))
	req.Header = header
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code)

	// A forged one.
	req = httptest.NewRequest(http.MethodPost, "/webhooks/offramp", bytes.NewReader(bytes.Replace(body, []byte("SUCCESS"), []byte("FAILED"), 1)))
	req.Header = header
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output:
	// PAYOUT SUCCESS RATN12341234XYZ order-42 3
	// 204
	// 401
}
