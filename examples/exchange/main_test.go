package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/client"
	"github.com/offramp/offramp/server"
)

func startServer(t *testing.T) *server.Server {
	t.Helper()
	srv, err := server.Start(context.Background(), server.Config{
		DB:              filepath.Join(t.TempDir(), "offramp.db"),
		Env:             offramp.EnvSandbox,
		MasterKey:       bytes.Repeat([]byte{1}, 32),
		Addr:            "127.0.0.1:0",
		VerifyDelay:     200 * time.Millisecond,
		RailDelay:       300 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second,
		Log:             slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv
}

func TestRun(t *testing.T) {
	srv := startServer(t)
	org := srv.DefaultOrg
	quick := []client.Option{client.WithRetry(3, 10*time.Millisecond, 100*time.Millisecond)}

	// The organization already has a webhook URL: run borrows it and
	// puts it back.
	c := client.New(srv.URL, org.APIKey, org.APISecret, quick...)
	const previous = "http://127.0.0.1:9/previous-receiver"
	if _, err := c.SetWebhookURL(t.Context(), previous); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := run(ctx, config{BaseURL: srv.URL, APIKey: org.APIKey, APISecret: org.APISecret, Options: quick}, &out)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "SUCCESS" || !regexp.MustCompile(`^[0-9]{12}$`).MatchString(res.UTR) || res.PayoutID == "" || res.FailureReason != "" {
		t.Fatalf("outcome: %+v", res)
	}
	for _, want := range []string{
		"webhook CUSTOMER " + res.CustomerID + " VERIFIED",
		"webhook BANK " + res.BankID + " VERIFIED",
		"webhook PAYOUT " + res.PayoutID + " SUCCESS",
		"utr=" + res.UTR,
		"payout " + res.PayoutID + " SUCCESS: ₹8703.38 paid, UTR " + res.UTR,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}

	p, err := c.GetPayout(t.Context(), res.PayoutID)
	if err != nil || p.Status != "SUCCESS" || p.UTR != res.UTR || !strings.HasPrefix(p.ExchangeTransferID, "EX-TX-") {
		t.Fatalf("payout: %+v, %v", p, err)
	}
	cfg, err := c.WebhookConfig(t.Context())
	if err != nil || cfg.WebhookURL != previous {
		t.Fatalf("webhook URL after run: %+v, %v", cfg, err)
	}
}

func TestRunFailures(t *testing.T) {
	srv := startServer(t)
	org := srv.DefaultOrg
	ctx := t.Context()
	if _, err := run(ctx, config{BaseURL: srv.URL}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "OFFRAMP_API_KEY") {
		t.Fatalf("no credentials: %v", err)
	}
	_, err := run(ctx, config{BaseURL: srv.URL, APIKey: org.APIKey, APISecret: "wrong"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "Invalid Signature") {
		t.Fatalf("wrong secret: %v", err)
	}
}
