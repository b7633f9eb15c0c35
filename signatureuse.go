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
	ExpiresAt time.Time
	// Replay is the error an Update returns for a used signature.
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
