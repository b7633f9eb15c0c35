package razorpayx

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// PostingDelay is how long after a create RazorpayX may not yet list a
// payout under its reference_id (see the package documentation).
const PostingDelay = 5 * time.Minute

// IMPSLimitPaise is the largest payout sent by IMPS (₹5,00,000); larger
// ones go by RTGS.
const IMPSLimitPaise = 500000_00

// minPaise is RazorpayX's minimum payout amount (₹1).
const minPaise = 100

// Rail is the RazorpayX payout rail. It is safe for concurrent use.
type Rail struct {
	c             *client
	webhookSecret []byte
}

var _ offramp.Rail = (*Rail)(nil)

// New returns a Rail for cfg.
func New(cfg Config) (*Rail, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Rail{c: c, webhookSecret: []byte(cfg.WebhookSecret)}, nil
}

// Capabilities: RazorpayX deduplicates by idempotency key; a payout may
// take PostingDelay to be listed.
func (r *Rail) Capabilities() offramp.RailCapabilities {
	return offramp.RailCapabilities{DedupsReferences: true, PostingDelay: PostingDelay}
}

// ValidReference reports whether ref can be a RazorpayX idempotency key
// and reference_id: 4 to 36 letters, digits, hyphens, underscores or
// spaces.
func ValidReference(ref string) bool {
	if len(ref) < 4 || len(ref) > 36 {
		return false
	}
	for _, r := range ref {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == ' ':
		default:
			return false
		}
	}
	return true
}

// Mode is the payout mode for an amount in paise: IMPS up to
// IMPSLimitPaise, RTGS above.
func Mode(paise int64) string {
	if paise <= IMPSLimitPaise {
		return "IMPS"
	}
	return "RTGS"
}

// paise converts an INR amount exactly, or returns the reason it cannot be
// paid.
func paise(t offramp.RailTransfer) (int64, string) {
	if t.Currency != "" && !strings.EqualFold(t.Currency, "INR") {
		return 0, ReasonUnsupportedCurrency
	}
	p := t.Amount.Mul(decimal.NewFromInt(100))
	if !p.IsInteger() || p.LessThan(decimal.NewFromInt(minPaise)) || p.GreaterThan(decimal.NewFromInt(math.MaxInt64/2)) {
		return 0, ReasonInvalidAmount
	}
	return p.IntPart(), ""
}

// Submit sends t as a RazorpayX payout (see the package documentation).
func (r *Rail) Submit(ctx context.Context, t offramp.RailTransfer) (offramp.RailResult, error) {
	if err := ctx.Err(); err != nil {
		return offramp.RailResult{}, offramp.RailNotSent(fmt.Errorf("razorpayx: %w", err))
	}
	if !ValidReference(t.Reference) {
		// RazorpayX refuses such a key, so it can hold nothing under it.
		return offramp.RailResult{Status: offramp.RailRejected, Reason: ReasonInvalidReference}, nil
	}
	amount, reason := paise(t)
	if reason != "" {
		return r.rejectUnlessHeld(ctx, t.Reference, reason)
	}
	fa, err := r.c.fundAccount(ctx, beneficiary{OrgID: t.OrgID, CustomerID: t.CustomerID, BankID: t.BankID,
		Name: t.AccountName, IFSC: t.IFSC, AccountNumber: t.AccountNumber})
	var be *beneficiaryError
	switch {
	case errors.As(err, &be):
		return r.rejectUnlessHeld(ctx, t.Reference, be.reason)
	case err != nil:
		// Nothing was asked of the payouts API yet.
		return offramp.RailResult{}, offramp.RailNotSent(err)
	}
	body := payoutRequest{AccountNumber: r.c.account, FundAccountID: fa, Amount: amount, Currency: "INR",
		Mode: Mode(amount), Purpose: "payout", QueueIfLowBalance: true, ReferenceID: t.Reference}
	var p payout
	err = r.c.do(ctx, request{method: http.MethodPost, path: "/v1/payouts", body: body, idempotencyKey: t.Reference}, &p)
	if err == nil {
		return r.answer(t.Reference, p)
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		if notSent(err) {
			return offramp.RailResult{}, offramp.RailNotSent(err)
		}
		return offramp.RailResult{}, err // sent, unanswered: unknown
	}
	switch {
	case ae.HTTPStatus >= 500:
		return offramp.RailResult{}, err
	case ae.HTTPStatus == http.StatusUnauthorized || ae.HTTPStatus == http.StatusForbidden || ae.HTTPStatus == http.StatusTooManyRequests:
		return offramp.RailResult{}, offramp.RailNotSent(err)
	}
	// A 4xx created nothing, but the reference may hold an earlier payout
	// (another body under the same key is refused): that payout's status
	// is the answer.
	held, found, lerr := r.find(ctx, t.Reference)
	switch {
	case lerr != nil && idempotencyConflict(ae):
		// RazorpayX holds a payout under the key: unknown, not "not sent".
		return offramp.RailResult{}, fmt.Errorf("%w (and looking the reference up failed: %v)", err, lerr)
	case lerr != nil:
		return offramp.RailResult{}, offramp.RailNotSent(fmt.Errorf("%w (and looking the reference up failed: %v)", err, lerr))
	case found:
		return r.answer(t.Reference, held)
	}
	return classifyCreate(ae)
}

// idempotencyConflict reports whether a 4xx says the key already holds a
// payout with another body.
func idempotencyConflict(ae *APIError) bool {
	desc := strings.ToLower(ae.Description)
	return strings.Contains(desc, "different request body") || strings.Contains(desc, "same idempotency")
}

// classifyCreate decides what a 4xx to a payout create means when the
// reference holds nothing.
func classifyCreate(ae *APIError) (offramp.RailResult, error) {
	field := strings.ToLower(ae.Field)
	desc := strings.ToLower(ae.Description)
	switch {
	case idempotencyConflict(ae):
		// RazorpayX holds a payout under the key that it does not list
		// yet: unknown, the engine inquires.
		return offramp.RailResult{}, ae
	case field == "x-payout-idempotency", field == "account_number", field == "purpose", field == "currency", field == "mode",
		strings.HasPrefix(field, "fund_account"), strings.Contains(desc, "balance"), strings.Contains(desc, " ip"):
		// The business's configuration or the request, not the
		// beneficiary: fix and send again. A fund account RazorpayX does
		// not know is ours (say, remembered under test keys and used
		// with live ones), not the customer's.
		return offramp.RailResult{}, offramp.RailNotSent(ae)
	case field == "amount":
		return offramp.RailResult{Status: offramp.RailRejected, Reason: ReasonInvalidAmount}, nil
	}
	if reason := beneficiaryReason(ae); reason != "" {
		return offramp.RailResult{Status: offramp.RailRejected, Reason: reason}, nil
	}
	return offramp.RailResult{}, offramp.RailNotSent(ae)
}

// rejectUnlessHeld answers REJECTED with reason for a transfer this call
// could not send, unless RazorpayX already holds a payout under ref.
func (r *Rail) rejectUnlessHeld(ctx context.Context, ref, reason string) (offramp.RailResult, error) {
	p, found, err := r.find(ctx, ref)
	switch {
	case err != nil:
		return offramp.RailResult{}, offramp.RailNotSent(fmt.Errorf("razorpayx: %s refused (%s), and the reference could not be looked up: %w", ref, reason, err))
	case found:
		return r.answer(ref, p)
	}
	return offramp.RailResult{Status: offramp.RailRejected, Reason: reason}, nil
}

// answer maps a payout RazorpayX returned for ref.
func (r *Rail) answer(ref string, p payout) (offramp.RailResult, error) {
	if p.ReferenceID != "" && p.ReferenceID != ref {
		return offramp.RailResult{}, fmt.Errorf("razorpayx: asked about %s, answered with payout %s of reference %s", ref, p.ID, p.ReferenceID)
	}
	return result(p)
}

// Inquire finds the payout under reference.
func (r *Rail) Inquire(ctx context.Context, reference string) (offramp.RailResult, error) {
	if !ValidReference(reference) {
		return offramp.RailResult{Status: offramp.RailNotFound}, nil
	}
	p, found, err := r.find(ctx, reference)
	if err != nil {
		return offramp.RailResult{}, err
	}
	if !found {
		return offramp.RailResult{Status: offramp.RailNotFound}, nil
	}
	return r.answer(reference, p)
}

// find lists the business account's payouts under reference_id ref and
// returns the oldest.
func (r *Rail) find(ctx context.Context, ref string) (payout, bool, error) {
	if !ValidReference(ref) {
		return payout{}, false, nil
	}
	q := url.Values{"account_number": {r.c.account}, "reference_id": {ref}, "count": {"100"}}
	var list collection[payout]
	if err := r.c.do(ctx, request{method: http.MethodGet, path: "/v1/payouts", query: q}, &list); err != nil {
		return payout{}, false, err
	}
	var mine []payout
	for _, p := range list.Items {
		if p.ReferenceID == ref {
			mine = append(mine, p)
		}
	}
	if len(mine) == 0 {
		return payout{}, false, nil
	}
	sort.SliceStable(mine, func(i, j int) bool {
		if mine[i].CreatedAt != mine[j].CreatedAt {
			return mine[i].CreatedAt < mine[j].CreatedAt
		}
		return mine[i].ID < mine[j].ID
	})
	if len(mine) > 1 {
		r.c.log.WarnContext(ctx, "razorpayx holds several payouts under one reference; answering the oldest",
			"reference", ref, "payouts", strconv.Itoa(len(mine)), "payout_id", mine[0].ID)
	}
	return mine[0], true, nil
}

// Check proves that the credentials, base URL and business account work
// with one cheap authenticated call (listing one payout), for
// `offramp admin check-providers`.
func (r *Rail) Check(ctx context.Context) error {
	return r.c.check(ctx)
}

func (c *client) check(ctx context.Context) error {
	q := url.Values{"account_number": {c.account}, "count": {"1"}}
	var list collection[payout]
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/payouts", query: q}, &list)
	var ae *APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae) && (ae.HTTPStatus == http.StatusUnauthorized || ae.HTTPStatus == http.StatusForbidden):
		return fmt.Errorf("razorpayx: the API key %s was refused: %w", c.keyID, err)
	}
	return fmt.Errorf("razorpayx: check against %s failed: %w", c.base.Host, err)
}
