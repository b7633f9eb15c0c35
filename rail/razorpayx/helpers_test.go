package razorpayx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/rail/razorpayx"
	"github.com/offramp/offramp/rail/razorpayx/razorpayxfake"
	"github.com/offramp/offramp/sqlstore"
	"github.com/offramp/offramp/vault"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

const (
	keySecret     = "rzp-key-secret-Zq81XkT0"
	webhookSecret = "rzp-webhook-secret-9vLm2P"
	businessAcct  = "2323230099887766"
	ifsc          = "HDFC0001234"
)

// openStore opens a migrated SQLite store in a fresh directory.
func openStore(t *testing.T, clk offramp.Clock) *sqlstore.Store {
	t.Helper()
	v, err := vault.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "offramp-razorpayx-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			dir = d
		}
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "offramp.db"), v, sqlstore.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// env is one fake RazorpayX, an adapter on it, and a webhook receiver.
type env struct {
	t     *testing.T
	ctx   context.Context
	clk   *clock.Fake
	srv   *razorpayxfake.Server
	rail  *razorpayx.Rail
	store *sqlstore.Store
	hook  *receiver
	cfg   razorpayx.Config
}

type envOpts struct {
	store *sqlstore.Store
	fake  razorpayxfake.Options
	// keySecret overrides the secret the adapter uses (a wrong key).
	keySecret string
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	clk := clock.NewFake(t0)
	hook := newReceiver(t)
	fo := o.fake
	fo.KeyID, fo.KeySecret, fo.AccountNumber = "rzp_test_offramp01", keySecret, businessAcct
	fo.Clock = clk
	fo.WebhookURL, fo.WebhookSecret = hook.url, webhookSecret
	srv, err := razorpayxfake.NewServer(fo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	secret := keySecret
	if o.keySecret != "" {
		secret = o.keySecret
	}
	cfg := razorpayx.Config{BaseURL: srv.URL, KeyID: "rzp_test_offramp01", KeySecret: secret, AccountNumber: businessAcct,
		WebhookSecret: webhookSecret, HTTPClient: srv.Client(), Clock: clk, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if o.store != nil {
		cfg.Store = o.store
	}
	r, err := razorpayx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: context.Background(), clk: clk, srv: srv, rail: r, store: o.store, hook: hook, cfg: cfg}
	hook.set(razorpayx.WebhookHandler(r, hook.apply, slog.New(slog.NewTextHandler(io.Discard, nil))))
	return e
}

// idle waits until the fake has handled every request sent to it.
func (e *env) idle() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.srv.WaitIdle(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// advance moves the bank's clock once nothing is in flight.
func (e *env) advance(d time.Duration) {
	e.t.Helper()
	e.idle()
	e.clk.Advance(d)
}

func (e *env) submit(tr offramp.RailTransfer) offramp.RailResult {
	e.t.Helper()
	res, err := e.rail.Submit(e.ctx, tr)
	if err != nil {
		e.t.Fatalf("Submit(%s) = %v", tr.Reference, err)
	}
	return res
}

func (e *env) inquire(ref string) offramp.RailResult {
	e.t.Helper()
	res, err := e.rail.Inquire(e.ctx, ref)
	if err != nil {
		e.t.Fatalf("Inquire(%s) = %v", ref, err)
	}
	return res
}

// flush delivers the fake's queued webhooks and checks they were taken.
func (e *env) flush() []razorpayxfake.Delivery {
	e.t.Helper()
	e.idle()
	ds, err := e.srv.Flush(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, d := range ds {
		if !d.OK() {
			e.t.Fatalf("webhook %s %s: status %d, %v", d.Event, d.Reference, d.Status, d.Err)
		}
	}
	return ds
}

// newRef returns a reference shaped like Offramp's: OFR + 32 hex digits.
func newRef() string {
	return "OFR" + strings.ReplaceAll(uuid.NewString(), "-", "")
}

func transfer(ref, account string, amount string) offramp.RailTransfer {
	return offramp.RailTransfer{Reference: ref, AccountNumber: account, IFSC: ifsc, AccountName: "Asha Verma",
		Amount: decimal.RequireFromString(amount), Currency: "INR", Method: "IMPS"}
}

// beneficiary creates an organization, a verified customer and a bank
// account in the store (rail_accounts refer to them) and returns a
// transfer to it.
func (e *env) beneficiary(account string) offramp.RailTransfer {
	e.t.Helper()
	now := e.clk.Now()
	org := offramp.Org{ID: uuid.New(), Name: "Exchange", Env: offramp.EnvSandbox, APIKey: "key_" + uuid.NewString()[:8],
		APISecret: "sk_" + uuid.NewString(), CreatedAt: now}
	c := offramp.Customer{ID: uuid.New(), OrgID: org.ID, ClientReferenceID: "cust-" + uuid.NewString()[:8], FullName: "Asha Verma",
		Email: uuid.NewString()[:8] + "@example.com", Phone: "+9198765" + fmt.Sprintf("%05d", time.Now().UnixNano()%100000), Country: "IND",
		Status: offramp.CustomerVerified, CreatedAt: now, UpdatedAt: now}
	b := offramp.BankAccount{ID: uuid.New(), OrgID: org.ID, CustomerID: c.ID, Type: offramp.BankAccountDetails, AccountNumber: account,
		IFSC: ifsc, AccountName: "Asha Verma", Status: offramp.BankVerified, CreatedAt: now, UpdatedAt: now}
	err := e.store.Update(e.ctx, func(tx offramp.Tx) error {
		if err := tx.CreateOrg(e.ctx, org); err != nil {
			return err
		}
		if err := tx.CreateCustomer(e.ctx, c); err != nil {
			return err
		}
		return tx.CreateBankAccount(e.ctx, b)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	tr := transfer("", account, "1234.56")
	tr.OrgID, tr.CustomerID, tr.BankID = org.ID, c.ID, b.ID
	return tr
}

// bankOf reads back the customer and bank account of a transfer.
func (e *env) bankOf(tr offramp.RailTransfer) (offramp.Customer, offramp.BankAccount) {
	e.t.Helper()
	var c offramp.Customer
	var b offramp.BankAccount
	err := e.store.View(e.ctx, func(tx offramp.ReadTx) error {
		var err error
		if c, err = tx.Customer(e.ctx, tr.OrgID, tr.CustomerID); err != nil {
			return err
		}
		b, err = tx.BankAccount(e.ctx, tr.OrgID, tr.BankID)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c, b
}

// applied is one call of the receiver's apply.
type applied struct {
	ref string
	res offramp.RailResult
}

// receiver serves WebhookHandler on 127.0.0.1 and records what it applies.
type receiver struct {
	url string

	mu      sync.Mutex
	h       http.Handler
	calls   []applied
	fail    error // returned by apply when set
	onApply func(applied)
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		h := r.h
		r.mu.Unlock()
		if h == nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(s.Close)
	r.url = s.URL + "/rails/razorpayx/webhook"
	return r
}

func (r *receiver) set(h http.Handler) {
	r.mu.Lock()
	r.h = h
	r.mu.Unlock()
}

func (r *receiver) apply(_ context.Context, ref string, res offramp.RailResult) error {
	r.mu.Lock()
	fail, hook := r.fail, r.onApply
	if fail == nil {
		r.calls = append(r.calls, applied{ref, res})
	}
	r.mu.Unlock()
	if hook != nil {
		hook(applied{ref, res})
	}
	return fail
}

func (r *receiver) applied() []applied {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]applied(nil), r.calls...)
}

func (r *receiver) setOnApply(f func(applied)) {
	r.mu.Lock()
	r.onApply = f
	r.mu.Unlock()
}

func (r *receiver) setFail(err error) {
	r.mu.Lock()
	r.fail = err
	r.mu.Unlock()
}

// isNotSent reports whether err wraps offramp.ErrRailNotSent.
func isNotSent(err error) bool { return errors.Is(err, offramp.ErrRailNotSent) }
