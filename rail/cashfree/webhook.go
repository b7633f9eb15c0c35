package cashfree

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/offramp/offramp"
)

// Webhook headers and event types of Payouts webhooks v2.
const (
	HeaderSignature = "x-webhook-signature"
	HeaderTimestamp = "x-webhook-timestamp"

	EventTransferSuccess      = "TRANSFER_SUCCESS"
	EventTransferAcknowledged = "TRANSFER_ACKNOWLEDGED"
	EventTransferFailed       = "TRANSFER_FAILED"
	EventTransferReversed     = "TRANSFER_REVERSED"
	EventTransferRejected     = "TRANSFER_REJECTED"
	EventBulkTransferRejected = "BULK_TRANSFER_REJECTED"
	EventBeneficiaryIncident  = "BENEFICIARY_INCIDENT"
	EventCreditConfirmation   = "CREDIT_CONFIRMATION"
	EventLowBalanceAlert      = "LOW_BALANCE_ALERT"
)

// transferEvents are the events that carry a transfer's news, with the
// status each implies when the data object lacks one.
var transferEvents = map[string]string{
	EventTransferSuccess:      StatusSuccess,
	EventTransferAcknowledged: StatusSuccess,
	EventTransferFailed:       StatusFailed,
	EventTransferReversed:     StatusReversed,
	EventTransferRejected:     StatusRejected,
}

// Webhook errors. Nothing is applied after any of them.
var (
	// ErrBadSignature: the signature or timestamp header is missing, or
	// the signature does not match the body.
	ErrBadSignature = errors.New("cashfree: webhook signature does not verify")
	// ErrStaleWebhook: the timestamp is further from now than
	// Config.WebhookMaxAge.
	ErrStaleWebhook = errors.New("cashfree: webhook timestamp outside the accepted window")
	// ErrMalformedWebhook: the signed body is not a webhook this adapter
	// can read (not JSON, or a transfer event without a transfer_id).
	ErrMalformedWebhook = errors.New("cashfree: malformed webhook")
)

type webhookBody struct {
	Type      string          `json:"type"`
	EventTime string          `json:"event_time"`
	Data      json.RawMessage `json:"data"`
}

// ParseWebhook verifies a Payouts v2 webhook and reads it. The signature
// is base64(HMAC-SHA256(x-webhook-timestamp + raw body)) keyed with the
// webhook secret (the client secret by default), compared in constant time.
// ok is false, with no error, for an event that carries no transfer news
// (balance alerts, incidents, batch rejections). reference is the
// transfer_id, the transfer's Reference.
func (r *Rail) ParseWebhook(body []byte, hdr http.Header) (reference string, res offramp.RailResult, ok bool, err error) {
	sig := strings.TrimSpace(hdr.Get(HeaderSignature))
	ts := strings.TrimSpace(hdr.Get(HeaderTimestamp))
	if sig == "" || ts == "" {
		return "", offramp.RailResult{}, false, ErrBadSignature
	}
	got, derr := base64.StdEncoding.DecodeString(sig)
	mac := hmac.New(sha256.New, []byte(r.webhookSecret))
	mac.Write([]byte(ts))
	mac.Write(body)
	if derr != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return "", offramp.RailResult{}, false, ErrBadSignature
	}
	if r.maxAge > 0 {
		at, perr := parseTimestamp(ts)
		if perr != nil {
			return "", offramp.RailResult{}, false, ErrStaleWebhook
		}
		if d := r.clock.Now().Sub(at); d > r.maxAge || d < -r.maxAge {
			return "", offramp.RailResult{}, false, ErrStaleWebhook
		}
	}
	var wb webhookBody
	if err := json.Unmarshal(body, &wb); err != nil {
		return "", offramp.RailResult{}, false, fmt.Errorf("%w: not JSON", ErrMalformedWebhook)
	}
	implied, news := transferEvents[strings.ToUpper(strings.TrimSpace(wb.Type))]
	if !news {
		return "", offramp.RailResult{}, false, nil
	}
	var tr transfer
	if len(wb.Data) == 0 || json.Unmarshal(wb.Data, &tr) != nil {
		return "", offramp.RailResult{}, false, fmt.Errorf("%w: %s without a data object", ErrMalformedWebhook, wb.Type)
	}
	if !transferIDPattern.MatchString(tr.TransferID) {
		return "", offramp.RailResult{}, false, fmt.Errorf("%w: %s without a valid transfer_id", ErrMalformedWebhook, wb.Type)
	}
	if tr.Status == "" {
		tr.Status = implied
	}
	return tr.TransferID, r.result(tr), true, nil
}

// parseTimestamp reads x-webhook-timestamp: epoch milliseconds, as in
// Cashfree's samples (seconds are accepted too).
func parseTimestamp(ts string) (time.Time, error) {
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, errors.New("bad timestamp")
	}
	if n >= 1e12 {
		return time.UnixMilli(n).UTC(), nil
	}
	return time.Unix(n, 0).UTC(), nil
}

// WebhookHandler serves Cashfree's Payouts v2 webhooks (POST). It reads
// at most 1 MiB, verifies with r.ParseWebhook and applies transfer news
// with apply (the server passes engine.ApplyBankAnswer). Answers:
//
//	200  applied; or ignored: no transfer news, or apply says
//	     offramp.ErrNotFound (a transfer Offramp does not know)
//	401  bad or missing signature, or a stale timestamp: nothing applied
//	400  a verified body this adapter cannot read
//	413  a body over 1 MiB; 405 a method other than POST
//	500  apply failed otherwise: Cashfree retries the delivery
//
// apply must be idempotent: Cashfree delivers at least once. The log never
// receives the body, a header or a secret.
func WebhookHandler(r *Rail, apply func(ctx context.Context, reference string, res offramp.RailResult) error, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		ref, res, ok, err := r.ParseWebhook(body, req.Header)
		switch {
		case errors.Is(err, ErrBadSignature), errors.Is(err, ErrStaleWebhook):
			log.WarnContext(req.Context(), "cashfree webhook refused", "why", err.Error(), "remote", req.RemoteAddr)
			http.Error(w, "signature does not verify", http.StatusUnauthorized)
			return
		case err != nil:
			log.WarnContext(req.Context(), "cashfree webhook unreadable", "why", err.Error())
			http.Error(w, "malformed webhook", http.StatusBadRequest)
			return
		case !ok:
			log.DebugContext(req.Context(), "cashfree webhook ignored: no transfer news")
			writeOK(w, "ignored")
			return
		}
		if err := apply(req.Context(), ref, res); err != nil {
			if errors.Is(err, offramp.ErrNotFound) {
				log.InfoContext(req.Context(), "cashfree webhook ignored: unknown transfer", "transfer_id", ref, "bank_status", string(res.Status))
				writeOK(w, "ignored")
				return
			}
			log.ErrorContext(req.Context(), "cashfree webhook not applied", "transfer_id", ref, "bank_status", string(res.Status), "error", err.Error())
			http.Error(w, "not applied", http.StatusInternalServerError)
			return
		}
		log.InfoContext(req.Context(), "cashfree webhook applied", "transfer_id", ref, "bank_status", string(res.Status))
		writeOK(w, "applied")
	})
}

func writeOK(w http.ResponseWriter, what string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "{\"status\":%q}\n", what)
}
