package httpapi

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/signature"
)

// TimestampWindow is how far X-TIMESTAMP may be from the server's clock.
const TimestampWindow = 300 * time.Second

// maxBody is the largest request body accepted. Documented bodies are a
// few KiB (images travel as URLs); a small cap also bounds what a hostile
// body costs the canonicalizer before its signature is checked.
const maxBody = 64 << 10

func unauthenticated(msg, field, detail string) *offramp.Error {
	return &offramp.Error{Code: offramp.CodeUnauthenticated, Message: msg, Fields: map[string][]string{field: {detail}}}
}

// readBody reads a request body up to maxBody, answering 413 beyond it
// without reading the rest.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > maxBody {
		return nil, offramp.Errorf(offramp.CodeTooLarge, "Request body is larger than %d bytes", maxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, offramp.Errorf(offramp.CodeTooLarge, "Request body is larger than %d bytes", maxBody)
	}
	if err != nil {
		return nil, offramp.Errorf(offramp.CodeInvalid, "Could not read the request body")
	}
	return body, nil
}

// handlerFunc is an API handler: it gets the verified body and returns the
// status and data of a success, or an error.
type handlerFunc func(r *http.Request, body []byte) (int, any, error)

// signed wraps an API handler with DollarPe's request authentication: API
// key, timestamp within ±300 s of the server clock, HMAC signature over the
// canonical body, and single use for signatures of mutating requests.
//
// A mutating request's signature is recorded in the same transaction as
// the request's work (offramp.SignatureUse): one commit per request. A
// replay is refused before the handler by a read; two copies racing past
// that read are told apart by the record, and the loser's work rolls back.
func (s *Server) signed(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r)
		var use *offramp.SignatureUse
		if err == nil {
			use, err = s.authenticate(r, body)
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if use != nil {
			r = r.WithContext(offramp.WithSignatureUse(r.Context(), use))
		}
		status, data, err := h(r, body)
		if use != nil && !use.Recorded() && !errors.Is(err, use.Replay) {
			// The handler wrote nothing that committed (it only read, or
			// its work failed): record the signature on its own.
			if rerr := s.svc.RecordSignature(r.Context()); rerr != nil {
				err = rerr
			}
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if info(r.Context()).replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		writeData(w, status, data)
	})
}

// signatureUsed answers a replayed mutating request.
func signatureUsed() error {
	return unauthenticated("Signature already used", "signature", "This signature was already used; sign each request with a new timestamp.")
}

// authenticate checks a request's credentials; for a mutating request it
// returns the signature to record with the request's work.
func (s *Server) authenticate(r *http.Request, body []byte) (*offramp.SignatureUse, error) {
	ctx := r.Context()
	key, ts, sig := r.Header.Get("X-API-KEY"), r.Header.Get("X-TIMESTAMP"), r.Header.Get("X-SIGNATURE")
	for _, h := range []struct{ name, value string }{{"X-API-KEY", key}, {"X-TIMESTAMP", ts}, {"X-SIGNATURE", sig}} {
		if h.value == "" {
			return nil, unauthenticated("Authentication credentials were not provided.", h.name, "This header is required.")
		}
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, unauthenticated("Invalid timestamp", "X-TIMESTAMP", "X-TIMESTAMP must be Unix time in seconds.")
	}
	now := s.svc.Clock().Now()
	sent := time.Unix(secs, 0)
	if d := now.Sub(sent); d > TimestampWindow || d < -TimestampWindow {
		return nil, unauthenticated("Timestamp expired", "X-TIMESTAMP", "X-TIMESTAMP must be within 300 seconds of the server time.")
	}
	org, err := s.svc.Authenticate(ctx, key)
	if errors.Is(err, offramp.ErrNotFound) {
		return nil, unauthenticated("Invalid API key", "X-API-KEY", "Invalid API key")
	}
	if err != nil {
		return nil, err
	}
	form, err := signature.Verify(key, org.APISecret, ts, body, sig, org.AllowJSReplacerSignatures)
	switch {
	case errors.Is(err, signature.ErrMalformed):
		return nil, &offramp.Error{Code: offramp.CodeInvalid, Message: "JSON parse error", Fields: map[string][]string{"non_field_errors": {err.Error()}}}
	case errors.Is(err, signature.ErrNestedUnsigned):
		return nil, &offramp.Error{Code: offramp.CodeNestedUnsigned, Message: "Invalid Signature", Fields: map[string][]string{"signature": {
			"The signature leaves nested keys unsigned (JSON.stringify with a key list). Sign a recursively sorted canonical body: see the signing section of the README."}}}
	case err != nil:
		return nil, unauthenticated("Invalid Signature", "signature", "Invalid Signature")
	}
	if form == signature.FormJSReplacer {
		s.metrics.jsForm.Inc()
		s.log.WarnContext(ctx, "accepted JavaScript-snippet signature with unsigned nested keys", "request_id", requestID(ctx), "org_id", org.ID.String())
	}
	var use *offramp.SignatureUse
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		used, err := s.svc.SignatureUsed(ctx, org.ID, sig)
		if err != nil {
			return nil, err
		}
		if used {
			return nil, signatureUsed()
		}
		// Keep the record until the timestamp can no longer pass the
		// window check, plus a margin for clock steps.
		use = &offramp.SignatureUse{OrgID: org.ID, Signature: sig, ExpiresAt: sent.Add(TimestampWindow + time.Minute), Replay: signatureUsed()}
	}
	// Only now, with the signature verified (the key alone is public) and
	// the request not a replay, does the request count as a use of the
	// key: written back at most once a minute per key.
	s.svc.KeyUsed(ctx, org)
	info(ctx).org = org
	return use, nil
}
