package razorpayx

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/offramp/offramp"
)

// SignatureHeader carries a webhook's signature.
const SignatureHeader = "X-Razorpay-Signature"

// MaxWebhookBody bounds what WebhookHandler reads of a request.
const MaxWebhookBody = 1 << 20

// Webhook errors. A webhook refused with either changed nothing.
var (
	// ErrBadSignature: the signature is missing or wrong, or no webhook
	// secret is configured to check it.
	ErrBadSignature = errors.New("razorpayx: webhook signature invalid")
	// ErrMalformedWebhook: a correctly signed body that is not an event.
	ErrMalformedWebhook = errors.New("razorpayx: webhook body is not a RazorpayX event")
)

// event is a RazorpayX webhook event.
type event struct {
	Entity   string   `json:"entity"`
	Event    string   `json:"event"`
	Contains []string `json:"contains"`
	Payload  struct {
		Payout *struct {
			Entity payout `json:"entity"`
		} `json:"payout"`
	} `json:"payload"`
	CreatedAt int64 `json:"created_at"`
}

// news is what a verified webhook says.
type news struct {
	event     string
	reference string
	res       offramp.RailResult
	ok        bool
	// dedup identifies the news itself (payout, status, UTR), as RazorpayX
	// recommends deduplicating on.
	dedup string
}

// ParseWebhook verifies a webhook body against its X-Razorpay-Signature
// (hex HMAC-SHA256 of the raw body under the webhook secret, compared in
// constant time) and reads it. ok is true when the event is news about a
// payout: reference is the payout's reference_id and res its status mapped
// as Inquire maps it. Events that carry no payout news (fund account
// validations, downtime, unknown events) return ok false and no error. A
// bad signature returns an error wrapping ErrBadSignature, a correctly
// signed body that is no event one wrapping ErrMalformedWebhook.
func (r *Rail) ParseWebhook(body []byte, signature string) (reference string, res offramp.RailResult, ok bool, err error) {
	n, err := r.parseWebhook(body, signature)
	return n.reference, n.res, n.ok, err
}

func (r *Rail) parseWebhook(body []byte, signature string) (news, error) {
	if len(r.webhookSecret) == 0 {
		return news{}, fmt.Errorf("%w: no webhook secret is configured", ErrBadSignature)
	}
	got, err := hex.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(got) != sha256.Size {
		return news{}, ErrBadSignature
	}
	mac := hmac.New(sha256.New, r.webhookSecret)
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), got) {
		return news{}, ErrBadSignature
	}
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil || ev.Event == "" {
		return news{}, ErrMalformedWebhook
	}
	n := news{event: ev.Event}
	if !strings.HasPrefix(ev.Event, "payout.") || ev.Payload.Payout == nil {
		return n, nil // validations, downtime, others: no payout news
	}
	p := ev.Payload.Payout.Entity
	if p.ReferenceID == "" || p.Status == "" {
		return n, nil
	}
	res, err := result(p)
	if err != nil {
		r.c.log.Warn("razorpayx webhook ignored: undocumented payout status", "event", ev.Event, "payout_id", p.ID, "status", p.Status)
		return n, nil
	}
	n.reference, n.res, n.ok = p.ReferenceID, res, true
	n.dedup = p.ID + "|" + p.Status + "|" + p.UTR
	return n, nil
}

// WebhookHandler serves RazorpayX's webhook (mounted at POST
// /rails/razorpayx/webhook). It reads at most MaxWebhookBody bytes,
// verifies the signature (401, nothing applied, when it is wrong; 400 for
// a signed body that is no event), and gives payout news to apply (the
// server passes engine.ApplyBankAnswer). It answers 200 for applied news,
// for events without payout news and for references apply does not know
// (offramp.ErrNotFound), so that RazorpayX stops retrying; 500 when apply
// fails otherwise, so that it retries. News already applied (the same
// payout, status and UTR; RazorpayX may deliver twice) is not applied
// again.
func WebhookHandler(r *Rail, apply func(ctx context.Context, reference string, res offramp.RailResult) error, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	seen := newRecent(4096)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeStatus(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxWebhookBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeStatus(w, http.StatusRequestEntityTooLarge, "body too large")
				return
			}
			writeStatus(w, http.StatusBadRequest, "unreadable body")
			return
		}
		ctx := req.Context()
		n, err := r.parseWebhook(body, req.Header.Get(SignatureHeader))
		switch {
		case errors.Is(err, ErrBadSignature):
			log.WarnContext(ctx, "razorpayx webhook refused: bad signature", "remote", req.RemoteAddr, "why", err.Error())
			writeStatus(w, http.StatusUnauthorized, "invalid signature")
			return
		case err != nil:
			log.WarnContext(ctx, "razorpayx webhook refused: not an event", "remote", req.RemoteAddr)
			writeStatus(w, http.StatusBadRequest, "not an event")
			return
		case !n.ok:
			log.InfoContext(ctx, "razorpayx webhook without payout news", "event", n.event)
			writeStatus(w, http.StatusOK, "ignored")
			return
		case seen.has(n.dedup):
			log.InfoContext(ctx, "razorpayx webhook already applied", "event", n.event, "reference", n.reference)
			writeStatus(w, http.StatusOK, "duplicate")
			return
		}
		err = apply(ctx, n.reference, n.res)
		switch {
		case errors.Is(err, offramp.ErrNotFound):
			log.InfoContext(ctx, "razorpayx webhook for an unknown reference", "event", n.event, "reference", n.reference)
			writeStatus(w, http.StatusOK, "unknown reference")
		case err != nil:
			log.ErrorContext(ctx, "razorpayx webhook not applied", "event", n.event, "reference", n.reference, "err", err.Error())
			writeStatus(w, http.StatusInternalServerError, "not applied")
		default:
			seen.add(n.dedup)
			log.InfoContext(ctx, "razorpayx webhook applied", "event", n.event, "reference", n.reference, "bank_status", string(n.res.Status))
			writeStatus(w, http.StatusOK, "applied")
		}
	})
}

func writeStatus(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"status\":%q}\n", status)
}

// recent remembers the last n keys.
type recent struct {
	mu   sync.Mutex
	keys map[string]struct{}
	ring []string
	next int
}

func newRecent(n int) *recent {
	return &recent{keys: make(map[string]struct{}, n), ring: make([]string, n)}
}

func (r *recent) has(k string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.keys[k]
	return ok
}

func (r *recent) add(k string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.keys[k]; ok {
		return
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.keys, old)
	}
	r.ring[r.next] = k
	r.keys[k] = struct{}{}
	r.next = (r.next + 1) % len(r.ring)
}

// ApplyWith adapts an apply function that also returns what it changed,
// such as engine.ApplyBankAnswer (which returns the payout), to
// WebhookHandler:
//
//	razorpayx.WebhookHandler(rail, razorpayx.ApplyWith(eng.ApplyBankAnswer), log)
func ApplyWith[T any](f func(ctx context.Context, reference string, res offramp.RailResult) (T, error)) func(context.Context, string, offramp.RailResult) error {
	return func(ctx context.Context, reference string, res offramp.RailResult) error {
		_, err := f(ctx, reference, res)
		return err
	}
}
