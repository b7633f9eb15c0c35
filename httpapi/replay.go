package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// errRepeat is the SignatureUse.Replay of every signed request: the
// signature was recorded already, by an earlier copy of the request (which
// the repeat then answers like) or by another request (refused).
var errRepeat = errors.New("httpapi: the request signature was recorded already")

const (
	// repeatWait is how long a repeat waits, by default, for the first
	// copy's answer before it gets 409 with Retry-After: far beyond any
	// write, short of the server's write timeout.
	repeatWait = 10 * time.Second
	// repeatPoll is how often a waiting repeat reads the record again: the
	// first copy may run on another instance, whose answer no signal
	// announces here.
	repeatPoll = 100 * time.Millisecond
)

// answerRepeat answers a repeat of a mutating request: the first copy's
// stored answer, marked Idempotent-Replayed, once there is one; 401 if the
// signature was recorded by another request; 409 with Retry-After if the
// first copy has not answered within repeatWait.
func (s *Server) answerRepeat(w http.ResponseWriter, r *http.Request, use *offramp.SignatureUse) {
	ctx := r.Context()
	deadline := time.NewTimer(s.repeatWait)
	defer deadline.Stop()
	for {
		// Registered before the read: an answer stored between the two
		// still wakes this loop.
		woken := s.repeats.wait(use.OrgID, use.Signature)
		rec, err := s.svc.SignatureRecord(ctx, use.OrgID, use.Signature)
		switch {
		case errors.Is(err, offramp.ErrNotFound):
			// Purged under our feet: nothing to answer with.
			s.inProgress(w, r)
			return
		case err != nil:
			writeError(w, r, s.log, err)
			return
		case !rec.Same(use.Method, use.Target):
			writeError(w, r, s.log, signatureUsed())
			return
		case rec.State == offramp.SignatureDone:
			s.metrics.repeats.Inc()
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(rec.StatusCode)
			_, _ = w.Write(rec.Response)
			return
		}
		poll := time.NewTimer(repeatPoll)
		select {
		case <-woken:
		case <-poll.C:
		case <-deadline.C:
			poll.Stop()
			s.inProgress(w, r)
			return
		case <-ctx.Done():
			poll.Stop()
			writeError(w, r, s.log, ctx.Err())
			return
		}
		poll.Stop()
	}
}

// inProgress answers a repeat whose first copy has not answered yet.
func (s *Server) inProgress(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "1")
	writeError(w, r, s.log, &offramp.Error{Code: offramp.CodeInProgress,
		Message: "A request with this signature is still being processed; send it again shortly to get its answer.",
		Fields:  map[string][]string{"signature": {"The first request with this signature has not answered yet."}}})
}

// repeatWaiters wakes, within this process, the repeats waiting for a
// signed request's answer once it is stored.
type repeatWaiters struct {
	mu sync.Mutex
	m  map[repeatKey]chan struct{}
}

type repeatKey struct {
	org uuid.UUID
	sig string
}

// wait returns a channel closed when the answer of (org, sig) is stored.
func (rw *repeatWaiters) wait(org uuid.UUID, sig string) <-chan struct{} {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.m == nil {
		rw.m = map[repeatKey]chan struct{}{}
	}
	k := repeatKey{org, sig}
	ch, ok := rw.m[k]
	if !ok {
		ch = make(chan struct{})
		rw.m[k] = ch
	}
	return ch
}

// done wakes the waiters of (org, sig).
func (rw *repeatWaiters) done(org uuid.UUID, sig string) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	k := repeatKey{org, sig}
	if ch, ok := rw.m[k]; ok {
		close(ch)
		delete(rw.m, k)
	}
}

// readSignatures remembers the read signatures this process recorded:
// every GET of one second carries the same signature, so a busy client
// costs one record per second, not one per read. Bounded: at
// readCacheMax entries the expired ones go, and if too few have, the
// cache starts over (the database holds every record).
type readSignatures struct {
	mu sync.Mutex
	m  map[repeatKey]time.Time // expiry
}

const readCacheMax = 10000

func (rs *readSignatures) has(k repeatKey, now time.Time) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	exp, ok := rs.m[k]
	return ok && now.Before(exp)
}

func (rs *readSignatures) add(k repeatKey, exp, now time.Time) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.m == nil || len(rs.m) >= readCacheMax {
		kept := make(map[repeatKey]time.Time, readCacheMax/2)
		for k, e := range rs.m {
			if now.Before(e) && len(kept) < readCacheMax/2 {
				kept[k] = e
			}
		}
		rs.m = kept
	}
	rs.m[k] = exp
}

// useReadSignature records the signature of a GET or HEAD as used by
// reads (once per signature: the cache skips the write after that), or
// refuses it if a mutating request used it.
func (s *Server) useReadSignature(ctx context.Context, use *offramp.SignatureUse) error {
	k := repeatKey{use.OrgID, use.Signature}
	now := s.svc.Clock().Now()
	if s.reads.has(k, now) {
		return nil
	}
	rec := use.Record()
	rec.State, rec.Target = offramp.SignatureRead, offramp.ReadTarget
	fresh, err := s.svc.RecordSignature(ctx, rec)
	if err != nil {
		return err
	}
	if !fresh {
		got, err := s.svc.SignatureRecord(ctx, use.OrgID, use.Signature)
		if errors.Is(err, offramp.ErrNotFound) {
			return signatureUsed() // purged meanwhile: refuse rather than guess
		}
		if err != nil {
			return err
		}
		if !got.Same(use.Method, use.Target) {
			return signatureUsed()
		}
	}
	s.reads.add(k, use.ExpiresAt, now)
	return nil
}

// bufferedResponse holds an answer until its signature record has it.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header {
	if b.header == nil {
		b.header = http.Header{}
	}
	return b.header
}

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// copyTo sends the answer.
func (b *bufferedResponse) copyTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.Header().Set("Content-Length", strconv.Itoa(b.body.Len()))
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}
