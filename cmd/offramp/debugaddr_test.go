package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestDebugAddrLoopbackOnly(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "10.0.0.1:6060", "example.com:6060", "nonsense"} {
		if stop, err := startDebug(addr, log); err == nil {
			stop()
			t.Errorf("--debug-addr %q accepted; want refused", addr)
		}
	}
	var buf strings.Builder
	stop, err := startDebug("127.0.0.1:0", slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	_, url, ok := strings.Cut(buf.String(), "addr=")
	if !ok {
		t.Fatalf("the profiler's address is not logged: %q", buf.String())
	}
	resp, err := http.Get(strings.TrimSpace(url) + "cmdline")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /debug/pprof/cmdline: %s", resp.Status)
	}
}
