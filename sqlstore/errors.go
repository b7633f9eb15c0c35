package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/offramp/offramp"
)

// uniqueField maps a unique index, named by the column that distinguishes
// it, to the request field and the documented message a caller reports. The
// service checks these rules before writing; this is the backstop for a
// race between two requests.
var uniqueField = map[string]struct{ field, msg string }{
	"customers.email":                    {"email", offramp.MsgEmailInUse},
	"customers.phone":                    {"phone", offramp.MsgPhoneInUse},
	"customers.client_reference_id":      {"client_reference_id", offramp.MsgClientRefExists},
	"bank_accounts.account_number_index": {"account_number", offramp.MsgAccountInUse},
	"bank_accounts.vpa_index":            {"vpa", offramp.MsgVPAInUse},
	"api_keys.api_key":                   {"api_key", "API key already in use"},
	"payouts.client_reference_id":        {"client_reference_id", offramp.MsgClientRefExists},
	// One live payout per exchange order (payouts_org_exchange_order_live_key).
	"payouts.exchange_order_id": {"exchange_order_id", offramp.MsgOrderInUse},
	"operators.email":           {"email", "an operator with this e-mail already exists"},
}

// mapErr turns a database error into what callers of offramp.Store expect:
// ErrNotFound, a CodeConflict *offramp.Error for a unique violation, an
// internal error naming the constraint for a CHECK violation, a
// CodeUnavailable one (wrapping the context error) when ctx ended or when
// the database is busy or unreachable, or an internal error. op names the operation for the log; it never carries a
// value, so no secret reaches an error message.
func (s *Store) mapErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*offramp.Error); ok {
		return err // mapped already (a failed lazy begin, seen again at Scan)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlstore: %s: %w", op, offramp.ErrNotFound)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &offramp.Error{Code: offramp.CodeUnavailable, Message: "the request was cancelled or timed out", Err: ctxErr}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &offramp.Error{Code: offramp.CodeUnavailable, Message: "the request was cancelled or timed out", Err: err}
	}
	if errors.Is(err, sql.ErrConnDone) || s.closed.Load() {
		return &offramp.Error{Code: offramp.CodeUnavailable, Message: "the store is closed", Err: err}
	}
	kind, target := s.d.classify(err)
	err = s.d.redact(err)
	switch kind {
	case errUnique:
		if f, ok := uniqueField[target]; ok {
			e := offramp.FieldError(offramp.CodeConflict, f.field, f.msg)
			e.Err = err
			return e
		}
		return &offramp.Error{Code: offramp.CodeConflict, Message: "the object already exists", Err: err}
	case errForeignKey:
		return fmt.Errorf("sqlstore: %s: a referenced object does not exist: %w", op, offramp.ErrNotFound)
	case errCheck:
		// An internal error (no *offramp.Error): the caller broke an
		// invariant of the schema. The name says which; the message never
		// quotes the row.
		return fmt.Errorf("sqlstore: %s: the row breaks the constraint %s: %w", op, target, err)
	case errBusy, errRetry:
		return &offramp.Error{Code: offramp.CodeUnavailable, Message: "the database is busy; try again", Err: err}
	case errInterrupted:
		return &offramp.Error{Code: offramp.CodeUnavailable, Message: "the request was cancelled or timed out", Err: err}
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

func notFound(op string) error {
	return fmt.Errorf("sqlstore: %s: %w", op, offramp.ErrNotFound)
}

func stale(op string) error {
	return fmt.Errorf("sqlstore: %s: %w", op, offramp.ErrStale)
}
