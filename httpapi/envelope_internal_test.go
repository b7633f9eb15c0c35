package httpapi

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestInternalErrorsLeakNothing checks both ways a handler can fail
// unexpectedly, an error and a panic: the client gets only the documented
// 500 body, the log gets the cause with the request id.
func TestInternalErrorsLeakNothing(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewJSONHandler(&logs, nil)), metrics: newMetrics(nil)}
	const secret = "acct 7627389201 secret-cause"
	handlers := map[string]http.Handler{
		"error": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, s.log, errors.New(secret))
		}),
		"panic": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic(secret) }),
	}
	want := `{"status":false,"success":false,"message":"Internal Server Error","data":null,"errors":"Unexpected error occurred. Please try again later.","err_code":"internal_error"}`
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			logs.Reset()
			srv := httptest.NewServer(s.observe(h))
			defer srv.Close()
			res, err := http.Get(srv.URL + "/x")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 500 || strings.TrimSpace(string(body)) != want {
				t.Fatalf("got %d %s", res.StatusCode, body)
			}
			id := res.Header.Get("X-Request-ID")
			if id == "" || !strings.Contains(logs.String(), id) || !strings.Contains(logs.String(), "secret-cause") {
				t.Fatalf("cause not logged with request id %q:\n%s", id, logs.String())
			}
		})
	}
}
