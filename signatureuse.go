package offramp

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// SignatureUse is a mutating API request's signature, to be recorded as
// used (single use, see Tx.UseSignature) in the same transaction as the
// request's work: one commit per request, and a request whose work rolled
// back leaves no record behind it. The API layer puts it in the request's
// context; Store.Update records it in the first write transaction run with
// that context and fails that transaction with Replay when the signature
// was used already. If no Update recorded it (a request that wrote
// nothing, or whose writes failed), the API layer records it on its own
// after the handler.
type SignatureUse struct {
	OrgID     uuid.UUID
	Signature string
	// Method and Target (path and query) are the request's: a signature
	// authorises one request, and is recorded with it.
	Method, Target string
	ExpiresAt      time.Time
	// Replay is the error an Update returns for a signature already
	// recorded (by a repeat of this request, or by another request).
	Replay error

	claimed  atomic.Bool // an Update is recording it now
	recorded atomic.Bool // an Update that recorded it committed
}

type signatureUseKey struct{}

// WithSignatureUse returns ctx carrying u.
func WithSignatureUse(ctx context.Context, u *SignatureUse) context.Context {
	return context.WithValue(ctx, signatureUseKey{}, u)
}

// SignatureUseFrom returns the SignatureUse ctx carries, or nil.
func SignatureUseFrom(ctx context.Context) *SignatureUse {
	u, _ := ctx.Value(signatureUseKey{}).(*SignatureUse)
	return u
}

// Claim reserves the record for one Update: it reports false when it is
// recorded already or another Update (run concurrently with the same
// context) is recording it. A successful Claim must be followed by Done.
func (u *SignatureUse) Claim() bool {
	if u == nil || u.recorded.Load() {
		return false
	}
	return u.claimed.CompareAndSwap(false, true)
}

// Done ends a Claim: committed reports whether the Update that recorded the
// signature committed.
func (u *SignatureUse) Done(committed bool) {
	if committed {
		u.recorded.Store(true)
	}
	u.claimed.Store(false)
}

// Recorded reports whether an Update recorded the signature and committed.
func (u *SignatureUse) Recorded() bool { return u != nil && u.recorded.Load() }

// Record is the record an Update writes for u: the request is running.
func (u *SignatureUse) Record() SignatureRecord {
	return SignatureRecord{OrgID: u.OrgID, Signature: u.Signature, Method: u.Method, Target: u.Target,
		State: SignatureRunning, ExpiresAt: u.ExpiresAt}
}

// SignatureState is how far the request that used a signature got.
type SignatureState string

const (
	// SignatureLegacy: recorded before records named their request; any
	// repeat is refused.
	SignatureLegacy SignatureState = "legacy"
	// SignatureRead: reads used it (Target "*"): every GET of one second
	// signs {} and carries the same signature, so any read may use it
	// again; a mutating request may not.
	SignatureRead SignatureState = "read"
	// SignatureRunning: a mutating request used it and has not answered
	// yet; a repeat waits for its answer.
	SignatureRunning SignatureState = "running"
	// SignatureDone: a mutating request used it and answered; a repeat
	// gets that answer.
	SignatureDone SignatureState = "done"
)

// SignatureRecord is what the store keeps of a used request signature,
// until ExpiresAt (after which the timestamp it signed is refused anyway).
type SignatureRecord struct {
	OrgID     uuid.UUID
	Signature string // given to the store; it keeps a hash, and returns ""
	Method    string
	Target    string
	State     SignatureState
	ExpiresAt time.Time
	// StatusCode and Response are the answer of a SignatureDone request.
	StatusCode int
	Response   []byte
}

// Same reports whether the record is of a request with this method and
// target: a repeat, rather than a signature borrowed by another request.
func (r SignatureRecord) Same(method, target string) bool {
	switch r.State {
	case SignatureLegacy:
		return false
	case SignatureRead:
		return method == "GET" || method == "HEAD"
	}
	return r.Method == method && r.Target == target
}

// ReadTarget is the Target of a SignatureRead record: any read.
const ReadTarget = "*"
