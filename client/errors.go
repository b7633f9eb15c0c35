package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Error is every error the API answers: the envelope's message, its
// err_code and the problems per field. Use errors.As to get it:
//
//	var e *client.Error
//	if errors.As(err, &e) && e.Code == "conflict" { ... }
//
// Codes are Offramp's stable err_code values: invalid_request, not_found,
// conflict, rejected, unauthenticated, signature_mismatch_nested_unsigned,
// ip_not_allowed, route_not_found, method_not_allowed, payload_too_large,
// throttled, unavailable, internal_error. Code is empty when the answer was
// not the API's JSON envelope (a proxy's error page, say); Message then
// holds the HTTP status and the start of the body.
type Error struct {
	StatusCode int
	Message    string
	Code       string
	// Fields lists the problems per field ("email": ["Email already in
	// use"]). The string errors of a 500 are under "detail".
	Fields map[string][]string
	// RequestID is the X-Request-ID of the answer: quote it to the
	// operator.
	RequestID string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("offramp: ")
	b.WriteString(e.Message)
	fmt.Fprintf(&b, " (HTTP %d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(", ")
		b.WriteString(e.Code)
	}
	b.WriteString(")")
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, m := range e.Fields[k] {
			if m != e.Message && m != k+": "+e.Message {
				fmt.Fprintf(&b, "; %s: %s", k, m)
			}
		}
	}
	return b.String()
}

// newError builds the Error of an answer that is not a success.
func newError(status int, header http.Header, body []byte) *Error {
	e := &Error{StatusCode: status, RequestID: header.Get("X-Request-ID")}
	var env envelope
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &env) != nil {
		e.Message = "unexpected answer: HTTP " + strconv.Itoa(status) + " " + http.StatusText(status)
		if x := excerpt(body, 200); x != "" {
			e.Message += ": " + x
		}
		return e
	}
	e.Message, e.Code = env.Message, env.ErrCode
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	e.Fields = fieldErrors(env.Errors)
	return e
}

// fieldErrors reads the envelope's "errors": normally {"field": ["msg"]},
// a string for a 500 (kept under "detail"), and tolerantly anything else.
func fieldErrors(raw json.RawMessage) map[string][]string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return nil
		}
		return map[string][]string{"detail": {s}}
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return map[string][]string{"detail": {string(raw)}}
	}
	if len(m) == 0 {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		var list []string
		if json.Unmarshal(v, &list) == nil {
			out[k] = list
		} else if json.Unmarshal(v, &s) == nil {
			out[k] = []string{s}
		} else {
			out[k] = []string{string(v)}
		}
	}
	return out
}

// excerpt is the start of a body, on one line, for an error message.
func excerpt(b []byte, n int) string {
	s := strings.ToValidUTF8(string(b[:min(len(b), 4*n)]), "")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}
