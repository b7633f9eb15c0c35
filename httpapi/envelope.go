package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// httpStatus maps every error code to its HTTP status: the one table. Like
// DollarPe, business errors and unknown ids are 400, not 404 or 409.
var httpStatus = map[offramp.Code]int{
	offramp.CodeInvalid:          http.StatusBadRequest,
	offramp.CodeNotFound:         http.StatusBadRequest,
	offramp.CodeConflict:         http.StatusBadRequest,
	offramp.CodeRejected:         http.StatusBadRequest,
	offramp.CodeUnauthenticated:  http.StatusUnauthorized,
	offramp.CodeNestedUnsigned:   http.StatusUnauthorized,
	offramp.CodeRouteNotFound:    http.StatusNotFound,
	offramp.CodeMethodNotAllowed: http.StatusMethodNotAllowed,
	offramp.CodeTooLarge:         http.StatusRequestEntityTooLarge,
	offramp.CodeInProgress:       http.StatusConflict,
	offramp.CodeIPNotAllowed:     http.StatusForbidden,
	offramp.CodeThrottled:        http.StatusTooManyRequests,
	offramp.CodeUnavailable:      http.StatusServiceUnavailable,
	offramp.CodeInternal:         http.StatusInternalServerError,
}

// envelope is DollarPe's response shape. ErrCode is Offramp's stable code,
// an addition older clients ignore; the error's extensions (typed fields of
// offramp.Error) go beside it at the top level, each only when set.
type envelope struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
	Data    any    `json:"data"`
	Errors  any    `json:"errors,omitempty"`
	ErrCode string `json:"err_code,omitempty"`
	// ExistingPayoutID is offramp.Error.ExistingPayoutID.
	ExistingPayoutID string `json:"existing_payout_id,omitempty"`
}

// internalBody is the documented 500 body. Both "status" and "success" are
// sent because DollarPe's own documents use both spellings.
type internalBody struct {
	Status  bool   `json:"status"`
	Success bool   `json:"success"`
	Message string `json:"message"`
	Data    any    `json:"data"`
	Errors  string `json:"errors"`
	ErrCode string `json:"err_code"`
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"status":false,"message":"Internal Server Error","data":null}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeData answers a success with the standard envelope.
func writeData(w http.ResponseWriter, status int, data any) {
	writeJSON(w, status, envelope{Status: true, Message: "Success", Data: data})
}

// writeError answers with err in the envelope. Anything that is not an
// *offramp.Error is an internal error: it is logged with the request id and
// the client sees only the documented 500 body.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *offramp.Error
	if !errors.As(err, &e) {
		switch {
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			e = &offramp.Error{Code: offramp.CodeUnavailable, Message: "The request could not be completed in time; retry it.", Err: err}
		case errors.Is(err, offramp.ErrStale):
			e = &offramp.Error{Code: offramp.CodeUnavailable, Message: "The object changed while the request ran; retry it.", Err: err}
		default:
			e = &offramp.Error{Code: offramp.CodeInternal, Err: err}
		}
	}
	status, ok := httpStatus[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusInternalServerError {
		log.ErrorContext(r.Context(), "internal error", "request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, status, internalBody{Message: offramp.MsgInternal, Errors: offramp.MsgInternalDetail, ErrCode: string(offramp.CodeInternal)})
		return
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	var fields any = e.Fields
	if e.Fields == nil {
		fields = map[string][]string{}
	}
	env := envelope{Status: false, Message: e.Message, Data: nil, Errors: fields, ErrCode: string(e.Code)}
	if e.ExistingPayoutID != uuid.Nil {
		env.ExistingPayoutID = e.ExistingPayoutID.String()
	}
	writeJSON(w, status, env)
}

// timeFormat is DollarPe's timestamp shape: RFC 3339, UTC, microseconds.
const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

// nullable returns nil for "" so it is sent as JSON null.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
