package httpapi

import (
	"bytes"
	"context"
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
// canonical body, and one request per signature.
//
// DollarPe's signature covers the key, the timestamp and the body, not the
// method or the path, and timestamps count whole seconds: two identical
// requests in one second carry one signature. So a signature is recorded
// with the request it authorised (method and target), and:
//   - a repeat of a mutating request (same signature, method and target:
//     a double click, two workers sending one body, a library retrying
//     after a timeout) gets the first request's answer again, with
//     Idempotent-Replayed: true, and has no second effect; while the first
//     still runs, the repeat waits for its answer (409 with Retry-After
//     if it takes too long);
//   - a signature used by a mutating request never authorises another
//     method or target, a GET included, and a signature used by a read
//     never authorises a write (401 "Signature already used"). All GETs of
//     one second sign {} and carry one signature, so a read's record names
//     no target: any read of that second may use it again, as DollarPe's
//     clients need. Offramp's own body-less extension (an event's webhook
//     replay) requires a body naming its target, so that no read's
//     signature could authorise it in any case.
//
// A mutating request's signature is recorded as running in the same
// transaction as the request's work (offramp.SignatureUse), so a crash
// cannot leave the work without the record; its answer is stored once it
// is known, before it is sent. A request that wrote nothing records its
// signature with its answer in one write; one that failed for want of the
// database (5xx) records nothing and may be sent again as it was.
func (s *Server) signed(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r)
		var use *offramp.SignatureUse
		if err == nil {
			use, err = s.authenticate(r, body)
		}
		if errors.Is(err, errRepeat) {
			s.answerRepeat(w, r, use)
			return
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if use == nil { // a read, its signature recorded already
			status, data, err := h(r, body)
			s.write(w, r, status, data, err)
			return
		}
		r = r.WithContext(offramp.WithSignatureUse(r.Context(), use))
		status, data, err := h(r, body)
		if info(r.Context()).readSignature {
			// Its writes failed on the read's record: nothing was done,
			// and nothing may be (401). Otherwise it only read or was
			// refused: its own answer, unrecorded.
			if errors.Is(err, errRepeat) {
				err = signatureUsed()
			}
			s.write(w, r, status, data, err)
			return
		}
		if errors.Is(err, errRepeat) {
			// An identical request recorded the signature first; this
			// one's work rolled back.
			s.answerRepeat(w, r, use)
			return
		}
		var out bufferedResponse
		s.write(&out, r, status, data, err)
		// The answer is stored even if the client has gone (a timeout is
		// exactly when it will send the request again).
		ctx := context.WithoutCancel(r.Context())
		switch {
		case use.Recorded():
			if ferr := s.svc.FinishSignature(ctx, use, out.status, out.body.Bytes()); ferr != nil {
				// The work is committed: answer it. A repeat of this
				// request finds the record running and gets a 409.
				s.log.WarnContext(ctx, "storing the answer of a signed request failed", "request_id", requestID(ctx), "err", ferr)
			}
		case out.status < http.StatusInternalServerError:
			rec := use.Record()
			rec.State, rec.StatusCode, rec.Response = offramp.SignatureDone, out.status, out.body.Bytes()
			fresh, rerr := s.svc.RecordSignature(ctx, rec)
			if rerr != nil {
				writeError(w, r, s.log, rerr)
				return
			}
			if !fresh {
				s.answerRepeat(w, r, use)
				return
			}
		}
		s.repeats.done(use.OrgID, use.Signature)
		out.copyTo(w)
	})
}

// write answers a handler's result.
func (s *Server) write(w http.ResponseWriter, r *http.Request, status int, data any, err error) {
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if info(r.Context()).replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeData(w, status, data)
}

// signatureUsed answers a request whose signature authorised another
// request.
func signatureUsed() error {
	return unauthenticated("Signature already used", "signature", "This signature was already used by another request; sign each request with a new timestamp.")
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
	// After the signature: without the secret a caller learns nothing of
	// the allowlist; before any record or key use: a refusal writes nothing.
	if err := s.checkIPAllowed(r, org); err != nil {
		return nil, err
	}
	info(ctx).org = org
	// Keep the record until the timestamp can no longer pass the window
	// check, plus a margin for clock steps.
	use := &offramp.SignatureUse{OrgID: org.ID, Signature: sig, Method: r.Method, Target: r.URL.RequestURI(),
		ExpiresAt: sent.Add(TimestampWindow + time.Minute), Replay: errRepeat}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if err := s.useReadSignature(ctx, use); err != nil {
			return nil, err
		}
		use = nil
	} else {
		rec, err := s.svc.SignatureRecord(ctx, org.ID, sig)
		switch {
		case err == nil && rec.Same(use.Method, use.Target):
			return use, errRepeat
		case err == nil && rec.State == offramp.SignatureRead && len(bytes.TrimSpace(body)) > 0:
			// A body of {} signs what every GET of its second signs: the
			// client's own request (DollarPe's error rows send {}) or a
			// read's headers with a body added. It is answered, but it
			// cannot write: its signature cannot be recorded, and every
			// write of the request fails on it (see signed).
			info(ctx).readSignature = true
		case err == nil:
			// Another request's signature, or a read's headers sent
			// without a body.
			return nil, signatureUsed()
		case !errors.Is(err, offramp.ErrNotFound):
			return nil, err
		}
	}
	// Only now, with the signature verified (the key alone is public) and
	// the request not a repeat, does the request count as a use of the
	// key: written back at most once a minute per key.
	s.svc.KeyUsed(ctx, org)
	return use, nil
}
