package razorpayx_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/rail/razorpayx"
	"github.com/offramp/offramp/rail/razorpayx/razorpayxfake"
)

// RazorpayX's payout.processed webhook reaches Offramp before the create
// call's answer does: it is applied, and the answer agrees with it.
func TestWebhookBeforeCreateAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	ref := newRef()
	e.srv.ScriptReference(ref, razorpayxfake.Script{
		Fate:   razorpayxfake.Fate{Outcome: razorpayxfake.Pays, After: 0}, // paid at once
		Faults: []razorpayxfake.Fault{razorpayxfake.WebhookBeforeAnswer},
	})
	var returned atomic.Bool
	var early atomic.Int32
	e.hook.setOnApply(func(applied) {
		if !returned.Load() {
			early.Add(1)
		}
	})
	res := e.submit(transfer(ref, "50100099990000", "100"))
	returned.Store(true)
	if res.Status != offramp.RailSuccess {
		t.Fatalf("Submit = %+v, want SUCCESS", res)
	}
	got := e.hook.applied()
	if early.Load() != 2 || len(got) != 2 || got[1] != (applied{ref, res}) {
		t.Fatalf("applied %+v (%d before Submit returned), want initiated and processed (%+v) before the answer", got, early.Load(), res)
	}
	if n := e.srv.PendingWebhooks(); n != 0 {
		t.Fatalf("%d events still queued", n)
	}
}

// A webhook with a bad signature is refused (401) and changes nothing.
func TestWebhookBadSignature(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	ref := newRef()
	e.submit(transfer(ref, "50100099990000", "100"))
	e.advance(2 * time.Second)
	d, err := e.srv.SendWebhook(e.ctx, ref, razorpayxfake.SendOptions{BadSignature: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != http.StatusUnauthorized {
		t.Fatalf("bad signature answered %d, want 401", d.Status)
	}
	if got := e.hook.applied(); len(got) != 0 {
		t.Fatalf("applied %+v, want nothing", got)
	}

	body := []byte(`{"entity":"event","event":"payout.processed","payload":{"payout":{"entity":{"id":"pout_1","status":"processed","utr":"412345678901","reference_id":"OFR0001"}}}}`)
	good := razorpayxfake.Sign(body, webhookSecret)
	if ref, res, ok, err := e.rail.ParseWebhook(body, good); err != nil || !ok || ref != "OFR0001" || res.Status != offramp.RailSuccess {
		t.Fatalf("ParseWebhook(signed) = %q %+v %v %v", ref, res, ok, err)
	}
	tampered := bytes.Replace(body, []byte("processed"), []byte("reversed!"), 1)
	for name, c := range map[string]struct {
		body []byte
		sig  string
	}{
		"tampered":  {tampered, good},
		"empty":     {body, ""},
		"not hex":   {body, "zz" + good[2:]},
		"truncated": {body, good[:32]},
		"upper":     {body, strings.ToUpper(good[:10]) + "00" + good[12:]},
		"other key": {body, razorpayxfake.Sign(body, "another-secret")},
	} {
		if _, _, ok, err := e.rail.ParseWebhook(c.body, c.sig); !errors.Is(err, razorpayx.ErrBadSignature) || ok {
			t.Errorf("%s: ParseWebhook = ok %v, %v; want ErrBadSignature", name, ok, err)
		}
	}
	// Without a configured secret nothing verifies.
	cfg := e.cfg
	cfg.WebhookSecret = ""
	bare, _ := razorpayx.New(cfg)
	if _, _, _, err := bare.ParseWebhook(body, good); !errors.Is(err, razorpayx.ErrBadSignature) {
		t.Fatalf("ParseWebhook without a secret = %v", err)
	}
}

// RazorpayX delivering the same event twice: both answered 200, applied
// once.
func TestWebhookTwiceAppliedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	ref := newRef()
	e.submit(transfer(ref, "50100099990000", "100"))
	e.advance(2 * time.Second)
	for range 2 {
		d, err := e.srv.SendWebhook(e.ctx, ref, razorpayxfake.SendOptions{})
		if err != nil || d.Status != http.StatusOK {
			t.Fatalf("delivery = %+v, %v; want 200", d, err)
		}
	}
	got := e.hook.applied()
	if len(got) != 1 || got[0].res.Status != offramp.RailSuccess {
		t.Fatalf("applied %+v, want one SUCCESS", got)
	}
}

// Events with no payout news, references the engine does not know, and
// failures to apply.
func TestWebhookOutcomes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})

	// A fund account validation's event is no payout news.
	r := httpPost(t, e.hook.url, []byte(`{"entity":"event","event":"fund_account.validation.completed","contains":["fund_account.validation"],"payload":{"fund_account.validation":{"entity":{"id":"fav_1","status":"completed"}}}}`), webhookSecret)
	if r != http.StatusOK || len(e.hook.applied()) != 0 {
		t.Fatalf("validation event: %d, applied %+v; want 200 and nothing applied", r, e.hook.applied())
	}
	// A signed body that is no event.
	if r := httpPost(t, e.hook.url, []byte(`[1,2,3]`), webhookSecret); r != http.StatusBadRequest {
		t.Fatalf("non-event answered %d, want 400", r)
	}
	// Too large.
	big := bytes.Repeat([]byte("x"), razorpayx.MaxWebhookBody+1)
	if r := httpPost(t, e.hook.url, big, webhookSecret); r != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body answered %d, want 413", r)
	}
	// Not a POST.
	resp, err := http.Get(e.hook.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET answered %d, want 405", resp.StatusCode)
	}

	// A reference the engine does not know: 200, so RazorpayX stops.
	ref := newRef()
	e.submit(transfer(ref, "50100099990000", "100"))
	e.hook.setFail(offramp.ErrNotFound)
	if d, _ := e.srv.SendWebhook(e.ctx, ref, razorpayxfake.SendOptions{}); d.Status != http.StatusOK {
		t.Fatalf("unknown reference answered %d, want 200", d.Status)
	}
	// The engine failing: 500, so RazorpayX retries; the retry applies.
	e.hook.setFail(errors.New("database is locked"))
	if d, _ := e.srv.SendWebhook(e.ctx, ref, razorpayxfake.SendOptions{}); d.Status != http.StatusInternalServerError {
		t.Fatalf("failed apply answered %d, want 500", d.Status)
	}
	e.hook.setFail(nil)
	if d, _ := e.srv.SendWebhook(e.ctx, ref, razorpayxfake.SendOptions{}); d.Status != http.StatusOK {
		t.Fatalf("retry answered %d, want 200", d.Status)
	}
	if got := e.hook.applied(); len(got) != 1 || got[0] != (applied{ref, offramp.RailResult{Status: offramp.RailAccepted}}) {
		t.Fatalf("applied %+v, want the retry's ACCEPTED once", got)
	}

	// Flush retries what the receiver refused.
	e.hook.setFail(errors.New("busy"))
	e.advance(2 * time.Second)
	ds, err := e.srv.Flush(e.ctx)
	if err != nil || len(ds) != 2 || !ds[0].OK() || ds[1].OK() {
		// payout.initiated was applied already (200 without applying it
		// again); payout.processed meets the failure.
		t.Fatalf("Flush = %+v, %v; want the initiated event taken and the processed one refused", ds, err)
	}
	e.hook.setFail(nil)
	e.flush()
	if n := e.srv.PendingWebhooks(); n != 0 {
		t.Fatalf("%d events still queued", n)
	}
}

func httpPost(t *testing.T, url string, body []byte, secret string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(razorpayx.SignatureHeader, razorpayxfake.Sign(body, secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
