package razorpayx_test

import (
	"context"
	"encoding/base64"
	"net"
	"strings"
	"testing"

	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/rail/razorpayx"
	"github.com/offramp/offramp/rail/razorpayx/razorpayxfake"
)

// No error the adapter returns carries a secret, the Authorization header
// or an account number in full.
func TestNoSecretsInErrors(t *testing.T) {
	t.Parallel()
	const beneficiaryAcct = "50100088881234"
	var errs []error
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	e := newEnv(t, envOpts{store: openStore(t, clock.NewFake(t0))})
	tr := transfer(newRef(), beneficiaryAcct, "100")
	for _, f := range []razorpayxfake.Fault{razorpayxfake.DropAfterCommit, razorpayxfake.ErrorAfterCommit, razorpayxfake.RateLimited,
		razorpayxfake.Unauthorized, razorpayxfake.ErrorBeforeCommit} {
		e.srv.QueueFaults(razorpayxfake.OpCreatePayout, f)
		tr.Reference = newRef()
		_, err := e.rail.Submit(e.ctx, tr)
		collect(err)
		e.srv.QueueFaults(razorpayxfake.OpListPayouts, f)
		_, err = e.rail.Inquire(e.ctx, tr.Reference)
		collect(err)
	}
	e.srv.QueueFaults(razorpayxfake.OpCreateFundAccount, razorpayxfake.ErrorAfterCommit)
	_, err := e.rail.Submit(e.ctx, transfer(newRef(), beneficiaryAcct+"9", "100"))
	collect(err)
	// A hang ended by the caller.
	e.srv.QueueFaults(razorpayxfake.OpCreatePayout, razorpayxfake.HangAfterCommit)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.rail.Submit(ctx, transfer(newRef(), beneficiaryAcct, "100"))
		done <- err
	}()
	e.srv.WaitHanging(context.Background(), 1)
	cancel()
	collect(<-done)
	// Webhooks.
	_, _, _, err = e.rail.ParseWebhook([]byte(`{"event":"payout.processed"}`), "00")
	collect(err)
	_, _, _, err = e.rail.ParseWebhook([]byte(`nope`), razorpayxfake.Sign([]byte(`nope`), webhookSecret))
	collect(err)
	// Validations refused.
	e.srv.QueueFaults(razorpayxfake.OpCreateValidation, razorpayxfake.ErrorBeforeCommit)
	btr := e.beneficiary(beneficiaryAcct)
	c, b := e.bankOf(btr)
	_, err = e.verifier().VerifyBank(e.ctx, c, b)
	collect(err)

	// The wrong key, everywhere.
	const wrongSecret = "wrong-key-secret-Pz55"
	bad := newEnv(t, envOpts{keySecret: wrongSecret})
	_, err = bad.rail.Submit(bad.ctx, transfer(newRef(), beneficiaryAcct, "100"))
	collect(err)
	_, err = bad.rail.Inquire(bad.ctx, newRef())
	collect(err)
	collect(bad.rail.Check(bad.ctx))
	bv, _ := razorpayx.NewBankVerifier(bad.cfg)
	collect(bv.Check(bad.ctx))

	// Nobody listening.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cfg := e.cfg
	cfg.BaseURL, cfg.HTTPClient = "http://"+addr, nil
	down, _ := razorpayx.New(cfg)
	_, err = down.Submit(e.ctx, transfer(newRef(), beneficiaryAcct, "100"))
	collect(err)
	_, err = down.Inquire(e.ctx, newRef())
	collect(err)
	collect(down.Check(e.ctx))

	if len(errs) < 20 {
		t.Fatalf("only %d errors collected", len(errs))
	}
	forbidden := []string{keySecret, wrongSecret, webhookSecret, businessAcct, beneficiaryAcct, "Basic ", "Authorization",
		base64.StdEncoding.EncodeToString([]byte("rzp_test_offramp01:" + keySecret)),
		base64.StdEncoding.EncodeToString([]byte("rzp_test_offramp01:" + wrongSecret))}
	for _, err := range errs {
		msg := err.Error()
		t.Log(msg)
		for _, f := range forbidden {
			if strings.Contains(msg, f) {
				t.Errorf("error %q contains %q", msg, f)
			}
		}
	}
}
