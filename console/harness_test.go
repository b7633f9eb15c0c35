package console_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/console"
	"github.com/offramp/offramp/engine"
	"github.com/offramp/offramp/operator"
	"github.com/offramp/offramp/service"
	"github.com/offramp/offramp/sqlstore"
	"github.com/offramp/offramp/vault"
)

// t0 is 10:00 IST.
var t0 = time.Date(2026, 11, 24, 4, 30, 0, 0, time.UTC)

// world is one test's console: a real SQLite store, a fake clock, a
// production service (no rail: nothing moves unless the test moves it), one
// organization, and the console on an httptest listener on 127.0.0.1.
type world struct {
	t     *testing.T
	ctx   context.Context
	store *sqlstore.Store
	clk   *clock.Fake
	svc   *service.Service
	org   offramp.Org
	srv   *httptest.Server
	n     int
}

func setup(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	vlt, err := vault.New(bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "offramp.db"), vlt, sqlstore.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := service.New(service.Config{Store: st, Clock: clk, Env: offramp.EnvProduction, Log: log})
	org, err := svc.CreateOrg(ctx, "Test Exchange", offramp.EnvProduction, "console test")
	if err != nil {
		t.Fatal(err)
	}
	con := console.New(console.Config{Store: st, Service: svc, Clock: clk, Log: log})
	srv := httptest.NewServer(con.Handler())
	t.Cleanup(srv.Close)
	return &world{t: t, ctx: ctx, store: st, clk: clk, svc: svc, org: org, srv: srv}
}

var serial atomic.Int64

// operator creates an operator and returns its e-mail and password.
func (w *world) operator(role offramp.Role) (email, password string) {
	w.t.Helper()
	n := serial.Add(1)
	email = fmt.Sprintf("%s%d@offramp.example", role, n)
	password = fmt.Sprintf("correct horse battery %d", n)
	hash, err := operator.HashPassword(password)
	if err != nil {
		w.t.Fatal(err)
	}
	now := w.clk.Now()
	w.update(func(tx offramp.Tx) error {
		return tx.CreateOperator(w.ctx, offramp.Operator{ID: uuid.New(), Email: email, Role: role, PasswordHash: hash, CreatedAt: now, UpdatedAt: now})
	})
	return email, password
}

func (w *world) update(fn func(offramp.Tx) error) {
	w.t.Helper()
	if err := w.store.Update(w.ctx, fn); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) view(fn func(offramp.ReadTx) error) {
	w.t.Helper()
	if err := w.store.View(w.ctx, fn); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) operatorByEmail(email string) offramp.Operator {
	w.t.Helper()
	var o offramp.Operator
	w.view(func(tx offramp.ReadTx) error {
		var err error
		o, err = tx.OperatorByEmail(w.ctx, email)
		return err
	})
	return o
}

func (w *world) payout(id uuid.UUID) offramp.Payout {
	w.t.Helper()
	var p offramp.Payout
	w.view(func(tx offramp.ReadTx) error {
		var err error
		p, err = tx.PayoutAnyOrg(w.ctx, id)
		return err
	})
	return p
}

func (w *world) proposals(status offramp.ProposalStatus) []offramp.Proposal {
	w.t.Helper()
	var ps []offramp.Proposal
	w.view(func(tx offramp.ReadTx) error {
		var err error
		ps, err = tx.ListProposals(w.ctx, status, 100)
		return err
	})
	return ps
}

func (w *world) auditActions(actor string) []string {
	w.t.Helper()
	var out []string
	w.view(func(tx offramp.ReadTx) error {
		list, err := tx.ListAudit(w.ctx, actor, "", 1000)
		for _, a := range list {
			out = append(out, a.Action)
		}
		return err
	})
	return out
}

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// customer makes a verified customer with a verified bank account.
func (w *world) customer(status offramp.CustomerStatus) (offramp.Customer, offramp.BankAccount) {
	w.t.Helper()
	w.n++
	n := w.n
	now := w.clk.Now()
	c := offramp.Customer{ID: uuid.New(), OrgID: w.org.ID, ClientReferenceID: fmt.Sprintf("cust-%d", n), FullName: fmt.Sprintf("Customer %d", n),
		Email: fmt.Sprintf("c%d@example.com", n), Phone: fmt.Sprintf("+9198765%05d", n), Country: "IND",
		Status: status, CreatedAt: now, UpdatedAt: now}
	b := offramp.BankAccount{ID: uuid.New(), OrgID: w.org.ID, CustomerID: c.ID, Type: offramp.BankAccountDetails,
		AccountNumber: fmt.Sprintf("50%06d1234", n), IFSC: "HDFC0001234", AccountName: c.FullName,
		Status: offramp.BankVerified, CreatedAt: now, UpdatedAt: now}
	w.update(func(tx offramp.Tx) error {
		if err := tx.CreateCustomer(w.ctx, c); err != nil {
			return err
		}
		return tx.CreateBankAccount(w.ctx, b)
	})
	return c, b
}

// reviewPayout makes a payout of ₹4,369.40 the way the service does, then
// takes it through the bank phases to IN_REVIEW (the settlement deadline
// passed with the transfer still pending), as the engine would.
func (w *world) reviewPayout() offramp.Payout {
	w.t.Helper()
	c, b := w.customer(offramp.CustomerVerified)
	n := w.n
	now := w.clk.Now()
	fees := offramp.Fees{ClientFeeFiat: decimal.Zero, PlatformFee: d("22.23"), PlatformGST: d("4.00"), PGFee: d("5.00"), PGGST: d("0.90"),
		TDS: d("44.46"), Rounding: d("0.01"), GrossEffectiveRate: d("83.79")}
	q := offramp.Quotation{ID: uuid.New(), OrgID: w.org.ID, CustomerID: c.ID, BankID: b.ID, Asset: "USDT", Fiat: "INR", PaymentMethod: "IMPS",
		SendingAmount: d("50"), Rate: d("88.92"), GrossFiat: d("4446.00"), ReceivingAmount: d("4369.40"), Fees: fees,
		Status: offramp.QuotationUnlinked, CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
	p := offramp.Payout{ID: uuid.New(), OrgID: w.org.ID, CustomerID: c.ID, BankID: b.ID, QuotationID: q.ID,
		ExchangeOrderID: fmt.Sprintf("order-%d", n), ClientReferenceID: fmt.Sprintf("ref-%d", n), Asset: q.Asset, Fiat: q.Fiat, PaymentMethod: q.PaymentMethod,
		SendingAmount: q.SendingAmount, Rate: q.Rate, GrossFiat: q.GrossFiat, ReceivingAmount: q.ReceivingAmount, Fees: fees,
		Status: offramp.PayoutProcessing, Phase: offramp.PhaseQueued, RailReference: fmt.Sprintf("OFR%032d", n),
		LimitDay: now.In(time.FixedZone("IST", 5*3600+1800)).Format(time.DateOnly), CreatedAt: now, UpdatedAt: now}
	eng := w.svc.Engine()
	w.update(func(tx offramp.Tx) error {
		if err := tx.CreateQuotation(w.ctx, q); err != nil {
			return err
		}
		if err := eng.Create(w.ctx, tx, p); err != nil {
			return err
		}
		if err := tx.LinkQuotation(w.ctx, w.org.ID, q.ID, p.ID); err != nil {
			return err
		}
		if err := tx.AddLimitUsage(w.ctx, w.org.ID, c.ID, p.LimitDay, p.GrossFiat); err != nil {
			return err
		}
		cur := p
		one := 1
		var err error
		if cur, err = eng.Move(w.ctx, tx, cur, offramp.PhaseSubmitting, engine.Change{Submitted: true, Submissions: &one, Hold: true}); err != nil {
			return err
		}
		if cur, err = eng.Move(w.ctx, tx, cur, offramp.PhaseSubmitted, engine.Change{BankAnswer: "ACCEPTED", Hold: true}); err != nil {
			return err
		}
		_, err = eng.Move(w.ctx, tx, cur, offramp.PhaseManualReview, engine.Change{ReviewReason: offramp.ReviewSettlementOverdue})
		return err
	})
	got := w.payout(p.ID)
	if got.Status != offramp.PayoutInReview {
		w.t.Fatalf("payout is %s/%s, want IN_REVIEW", got.Status, got.Phase)
	}
	return got
}

// browser is one person at the console: a cookie jar, no automatic
// redirects (the tests look at them), and the CSRF token of the last page.
type browser struct {
	t    *testing.T
	w    *world
	c    *http.Client
	csrf string
}

func (w *world) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return &browser{t: w.t, w: w, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	Status   int
	Body     string
	Location string
	Header   http.Header
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) answer {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return answer{Status: resp.StatusCode, Body: string(body), Location: resp.Header.Get("Location"), Header: resp.Header}
}

func (b *browser) get(path string) answer {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.w.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form; the page's CSRF token is added unless form has one
// (an empty "csrf" value sends none at all).
func (b *browser) post(path string, form url.Values) answer {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok && b.csrf != "" {
		form.Set("csrf", b.csrf)
	} else if form.Get("csrf") == "" {
		form.Del("csrf")
	}
	req, err := http.NewRequest(http.MethodPost, b.w.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) login(email, password string) answer {
	b.t.Helper()
	return b.post("/login", url.Values{"email": {email}, "password": {password}})
}

// signIn logs in and fails the test unless it worked.
func (w *world) signIn(email, password string) *browser {
	w.t.Helper()
	b := w.browser()
	if a := b.login(email, password); a.Status != http.StatusSeeOther || a.Location != "/" {
		w.t.Fatalf("login as %s: %d %q\n%s", email, a.Status, a.Location, a.Body)
	}
	if a := b.get("/"); a.Status != http.StatusOK {
		w.t.Fatalf("overview after login: %d\n%s", a.Status, a.Body)
	}
	return b
}

// as makes an operator of role and signs them in.
func (w *world) as(role offramp.Role) (*browser, string) {
	w.t.Helper()
	email, pw := w.operator(role)
	return w.signIn(email, pw), email
}

// Client is the browser's HTTP client (its cookie jar holds the session),
// CSRF the token of the last page it read, URL the console's address: for
// requests a test sends from its own goroutines.
func (b *browser) Client() *http.Client { return b.c }
func (b *browser) CSRF() string         { return b.csrf }
func (w *world) URL() string            { return w.srv.URL }
