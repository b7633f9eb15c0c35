package console_test

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/console"
	"github.com/offramp/offramp/operator"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	w := setup(t)
	email, pw := w.operator(offramp.RoleViewer)

	b := w.browser()
	if a := b.get("/login"); a.Status != http.StatusOK || !strings.Contains(a.Body, `name="email"`) || !strings.Contains(a.Body, `name="password"`) {
		t.Fatalf("login page: %d\n%s", a.Status, a.Body)
	}
	a := b.login(email, "not the password")
	if a.Status != http.StatusUnauthorized || !strings.Contains(a.Body, "Wrong e-mail, password or code.") {
		t.Fatalf("bad password: %d\n%s", a.Status, a.Body)
	}
	if a := b.get("/"); a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Location, "/login") {
		t.Fatalf("after a failed login the overview answers %d %q", a.Status, a.Location)
	}
	if a := b.login("nobody@offramp.example", pw); a.Status != http.StatusUnauthorized {
		t.Fatalf("unknown operator: %d", a.Status)
	}

	a = b.login(strings.ToUpper(email), pw) // e-mails are case-insensitive
	if a.Status != http.StatusSeeOther || a.Location != "/" {
		t.Fatalf("login: %d %q\n%s", a.Status, a.Location, a.Body)
	}
	ck := cookieOf(a.Header, console.CookieName)
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || len(ck.Value) < 43 {
		t.Fatalf("session cookie: %+v", ck)
	}
	if a := b.get("/"); a.Status != http.StatusOK || !strings.Contains(a.Body, email) {
		t.Fatalf("overview: %d\n%s", a.Status, a.Body)
	}
	// The store keeps the token's SHA-256, never the token.
	w.view(func(tx offramp.ReadTx) error {
		if _, err := tx.OperatorSession(w.ctx, ck.Value); !errors.Is(err, offramp.ErrNotFound) {
			t.Fatalf("a session is found by its raw token: %v", err)
		}
		sum := sha256.Sum256([]byte(ck.Value))
		sess, err := tx.OperatorSession(w.ctx, hex.EncodeToString(sum[:]))
		if err != nil {
			return err
		}
		if !sess.ExpiresAt.Equal(t0.Add(console.SessionLifetime)) || sess.CSRF == "" || !strings.Contains(a.Body+b.get("/").Body, sess.CSRF) {
			t.Fatalf("session: %+v", sess)
		}
		return nil
	})

	// Every login, failed or not, is in the audit log under the e-mail.
	got := w.auditActions(email)
	if n := countOf(got, console.ActionLoginFailed); n != 1 || countOf(got, console.ActionLogin) != 1 {
		t.Fatalf("audit of %s: %v", email, got)
	}
	if got := w.auditActions("nobody@offramp.example"); !slices.Equal(got, []string{console.ActionLoginFailed}) {
		t.Fatalf("audit of an unknown e-mail: %v", got)
	}

	// Logout ends the session: the old cookie opens nothing.
	if a := b.post("/logout", nil); a.Status != http.StatusSeeOther || a.Location != "/login" {
		t.Fatalf("logout: %d %q", a.Status, a.Location)
	}
	replay := w.browser()
	u, _ := url.Parse(w.srv.URL)
	replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: console.CookieName, Value: ck.Value}})
	if a := replay.get("/payouts"); a.Status != http.StatusSeeOther {
		t.Fatalf("the cookie of a closed session still opens the console: %d", a.Status)
	}
}

func TestLoginDisabledOperator(t *testing.T) {
	t.Parallel()
	w := setup(t)
	email, pw := w.operator(offramp.RoleAdmin)
	b := w.signIn(email, pw)
	op := w.operatorByEmail(email)
	op.Disabled = true
	w.update(func(tx offramp.Tx) error { return tx.UpdateOperator(w.ctx, op) })
	if a := b.get("/"); a.Status != http.StatusSeeOther {
		t.Fatalf("a disabled operator's session still works: %d", a.Status)
	}
	if a := w.browser().login(email, pw); a.Status != http.StatusUnauthorized {
		t.Fatalf("a disabled operator logs in: %d", a.Status)
	}
}

func TestLoginTOTP(t *testing.T) {
	t.Parallel()
	w := setup(t)
	email, pw := w.operator(offramp.RoleViewer)
	op := w.operatorByEmail(email)
	op.TOTPSecret = operator.NewTOTPSecret()
	w.update(func(tx offramp.Tx) error { return tx.UpdateOperator(w.ctx, op) })

	b := w.browser()
	if a := b.login(email, pw); a.Status != http.StatusUnauthorized {
		t.Fatalf("login without the second factor: %d", a.Status)
	}
	wrong := operator.TOTPCode(op.TOTPSecret, w.clk.Now().Add(time.Hour))
	if a := b.post("/login", url.Values{"email": {email}, "password": {pw}, "totp": {wrong}}); a.Status != http.StatusUnauthorized {
		t.Fatalf("login with a wrong code: %d", a.Status)
	}
	code := operator.TOTPCode(op.TOTPSecret, w.clk.Now())
	if a := b.post("/login", url.Values{"email": {email}, "password": {pw}, "totp": {code}}); a.Status != http.StatusSeeOther {
		t.Fatalf("login with the code: %d\n%s", a.Status, a.Body)
	}
	if got := w.operatorByEmail(email); got.FailedLogins != 0 {
		t.Fatalf("a successful login leaves %d failures counted", got.FailedLogins)
	}
}

// Five failures lock the operator for a minute, even against the right
// password; the lock doubles with each further failure; a login after the
// lock resets the count. Time moves on the fake clock.
func TestLockout(t *testing.T) {
	t.Parallel()
	w := setup(t)
	email, pw := w.operator(offramp.RoleOperator)
	b := w.browser()
	for i := range console.LockoutThreshold {
		if a := b.login(email, "wrong"); a.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, a.Status)
		}
	}
	op := w.operatorByEmail(email)
	if op.FailedLogins != 5 || !op.LockedUntil.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after 5 failures: %d failures, locked until %v", op.FailedLogins, op.LockedUntil)
	}
	a := b.login(email, pw)
	if a.Status != http.StatusUnauthorized || !strings.Contains(a.Body, "Too many failed attempts") {
		t.Fatalf("the right password while locked: %d\n%s", a.Status, a.Body)
	}
	if got := w.operatorByEmail(email); got.FailedLogins != 5 {
		t.Fatalf("an attempt while locked counted: %d", got.FailedLogins)
	}

	w.clk.Advance(time.Minute + time.Second)
	if a := b.login(email, "wrong again"); a.Status != http.StatusUnauthorized {
		t.Fatalf("sixth failure: %d", a.Status)
	}
	if got := w.operatorByEmail(email); got.FailedLogins != 6 || !got.LockedUntil.Equal(w.clk.Now().Add(2*time.Minute)) {
		t.Fatalf("after 6 failures: %d, locked until %v (now %v)", got.FailedLogins, got.LockedUntil, w.clk.Now())
	}
	w.clk.Advance(2*time.Minute + time.Second)
	if a := b.login(email, pw); a.Status != http.StatusSeeOther {
		t.Fatalf("login after the lock: %d\n%s", a.Status, a.Body)
	}
	if got := w.operatorByEmail(email); got.FailedLogins != 0 || !got.LockedUntil.IsZero() {
		t.Fatalf("after a login: %d failures, locked until %v", got.FailedLogins, got.LockedUntil)
	}
	if n := countOf(w.auditActions(email), console.ActionLoginFailed); n != 7 {
		t.Fatalf("%d failed logins audited, want 7", n)
	}
}

func TestPagesNeedASession(t *testing.T) {
	t.Parallel()
	w := setup(t)
	p := w.reviewPayout()
	b := w.browser()
	for _, path := range []string{"/", "/payouts", "/payouts.csv", "/payouts/" + p.ID.String(), "/proposals", "/audit",
		"/customers/" + p.CustomerID.String(), "/no-such-page"} {
		a := b.get(path)
		if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Location, "/login") {
			t.Errorf("GET %s without a session: %d %q", path, a.Status, a.Location)
		}
	}
	a := b.post("/payouts/"+p.ID.String()+"/proposals", url.Values{"action": {"reinquire"}, "why": {"x"}, "csrf": {"guess"}})
	if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Location, "/login") {
		t.Errorf("POST without a session: %d %q", a.Status, a.Location)
	}
	if len(w.proposals("")) != 0 {
		t.Fatal("a POST without a session made a proposal")
	}
	if a := b.get("/static/console.css"); a.Status != http.StatusOK || !strings.Contains(a.Header.Get("Content-Type"), "text/css") {
		t.Errorf("static asset: %d %s", a.Status, a.Header.Get("Content-Type"))
	}
	// After login, the page asked for first is where the login goes.
	email, pw := w.operator(offramp.RoleViewer)
	a = b.get("/audit?actor=x")
	if !strings.Contains(a.Location, "next=") {
		t.Fatalf("redirect forgets the page: %q", a.Location)
	}
	if a := b.post("/login", url.Values{"email": {email}, "password": {pw}, "next": {"/audit?actor=x"}}); a.Location != "/audit?actor=x" {
		t.Fatalf("login goes to %q", a.Location)
	}
	b.get("/audit?actor=x")
	if a := b.post("/logout", nil); a.Status != http.StatusSeeOther {
		t.Fatal(a.Status)
	}
	if a := b.post("/login", url.Values{"email": {email}, "password": {pw}, "next": {"//evil.example/"}}); a.Location != "/" {
		t.Fatalf("login follows an outside next: %q", a.Location)
	}
}

func TestIdleAndAbsoluteExpiry(t *testing.T) {
	t.Parallel()
	w := setup(t)
	email, pw := w.operator(offramp.RoleViewer)
	b := w.signIn(email, pw)

	// Activity keeps a session alive past the idle limit in total...
	for range 3 {
		w.clk.Advance(20 * time.Minute)
		if a := b.get("/payouts"); a.Status != http.StatusOK {
			t.Fatalf("active session refused after %v: %d", w.clk.Now().Sub(t0), a.Status)
		}
	}
	// ...but not one idle for longer than it.
	w.clk.Advance(console.DefaultIdleTimeout + time.Second)
	if a := b.get("/payouts"); a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Location, "/login") {
		t.Fatalf("idle session: %d %q", a.Status, a.Location)
	}

	// The absolute limit ends even a busy session.
	b = w.signIn(email, pw)
	for elapsed := time.Duration(0); elapsed < console.SessionLifetime-10*time.Minute; elapsed += 10 * time.Minute {
		w.clk.Advance(10 * time.Minute)
		if a := b.get("/"); a.Status != http.StatusOK {
			t.Fatalf("busy session refused after %v: %d", elapsed, a.Status)
		}
	}
	w.clk.Advance(10*time.Minute + time.Second)
	if a := b.get("/"); a.Status != http.StatusSeeOther {
		t.Fatalf("session past its absolute limit: %d", a.Status)
	}
}

func TestPostWithoutCSRF(t *testing.T) {
	t.Parallel()
	w := setup(t)
	p := w.reviewPayout()
	b, _ := w.as(offramp.RoleAdmin)
	path := "/payouts/" + p.ID.String() + "/proposals"
	form := func(csrf string) url.Values {
		return url.Values{"action": {"paid"}, "utr": {"412345678901"}, "why": {"bank confirmed"}, "csrf": {csrf}}
	}
	for _, csrf := range []string{"", "wrong", strings.Repeat("A", 43)} {
		if a := b.post(path, form(csrf)); a.Status != http.StatusForbidden {
			t.Fatalf("csrf %q: %d", csrf, a.Status)
		}
	}
	if a := b.post("/logout", url.Values{"csrf": {""}}); a.Status != http.StatusForbidden {
		t.Fatalf("logout without csrf: %d", a.Status)
	}
	if len(w.proposals("")) != 0 || w.payout(p.ID).Status != offramp.PayoutInReview {
		t.Fatal("a POST without the CSRF token changed something")
	}
	if a := b.get("/"); a.Status != http.StatusOK {
		t.Fatalf("the session ended on a forged logout: %d", a.Status)
	}
	// A cross-site form post is refused before anything else.
	req, _ := http.NewRequest(http.MethodPost, w.srv.URL+path, strings.NewReader(form(b.csrf).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if a := b.do(req); a.Status != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d", a.Status)
	}
	// The token of the page works.
	if a := b.post(path, form(b.csrf)); a.Status != http.StatusSeeOther {
		t.Fatalf("with the token: %d\n%s", a.Status, a.Body)
	}
	if len(w.proposals(offramp.ProposalPending)) != 1 {
		t.Fatal("no proposal")
	}
}

func TestSearch(t *testing.T) {
	t.Parallel()
	w := setup(t)
	p := w.reviewPayout()
	other := w.reviewPayout()
	b, _ := w.as(offramp.RoleViewer)

	for name, q := range map[string]string{
		"payout id":           p.ID.String(),
		"bank reference":      p.RailReference,
		"exchange order id":   p.ExchangeOrderID,
		"client reference id": p.ClientReferenceID,
		"customer id":         p.CustomerID.String(),
	} {
		a := b.get("/payouts?q=" + url.QueryEscape(q))
		if a.Status != http.StatusOK {
			t.Fatalf("search by %s: %d\n%s", name, a.Status, a.Body)
		}
		if !strings.Contains(a.Body, "/payouts/"+p.ID.String()) || strings.Contains(a.Body, "/payouts/"+other.ID.String()) {
			t.Errorf("search by %s (%s) does not find exactly the payout", name, q)
		}
	}
	if a := b.get("/payouts?q=nothing-like-this"); a.Status != http.StatusOK || strings.Contains(a.Body, "/payouts/"+p.ID.String()) {
		t.Fatalf("a search for nothing: %d", a.Status)
	}
	// The list, its filters and the CSV of the same filters.
	if a := b.get("/payouts?status=IN_REVIEW"); !strings.Contains(a.Body, p.RailReference) || !strings.Contains(a.Body, other.RailReference) {
		t.Fatalf("IN_REVIEW list:\n%s", a.Body)
	}
	if a := b.get("/payouts?status=SUCCESS"); strings.Contains(a.Body, p.RailReference) {
		t.Fatal("the SUCCESS list shows an IN_REVIEW payout")
	}
	if a := b.get("/payouts?status=BOGUS&from=yesterday"); a.Status != http.StatusBadRequest {
		t.Fatalf("bad filters: %d", a.Status)
	}
	a := b.get("/payouts.csv?status=IN_REVIEW&customer=" + p.CustomerID.String())
	if a.Status != http.StatusOK || !strings.HasPrefix(a.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", a.Status, a.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(a.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1][0] != p.ID.String() || rows[1][5] != "IN_REVIEW" || rows[1][13] != p.RailReference {
		t.Fatalf("csv rows: %v", rows)
	}
}

func TestPayoutPageAndOverview(t *testing.T) {
	t.Parallel()
	w := setup(t)
	p := w.reviewPayout()
	b, _ := w.as(offramp.RoleViewer)
	a := b.get("/payouts/" + p.ID.String())
	for _, want := range []string{p.RailReference, "SETTLEMENT_OVERDUE", "ACCEPTED", "payout_initiated", "IN_REVIEW", "₹4,369.40", "₹4,446.00"} {
		if !strings.Contains(a.Body, want) {
			t.Errorf("payout page lacks %q", want)
		}
	}
	if strings.Contains(a.Body, "Propose paid") {
		t.Error("a viewer is offered the proposal forms")
	}
	if a := b.get("/payouts/" + "00000000-0000-0000-0000-000000000001"); a.Status != http.StatusNotFound {
		t.Errorf("unknown payout: %d", a.Status)
	}
	a = b.get("/")
	for _, want := range []string{p.RailReference, `id="hourly"`, "<rect", "process_payout"} {
		if !strings.Contains(a.Body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if a := b.get("/customers/" + p.CustomerID.String()); a.Status != http.StatusOK || !strings.Contains(a.Body, p.RailReference) {
		t.Errorf("customer page: %d", a.Status)
	}
	if a := b.get("/audit?action=" + console.ActionLogin); a.Status != http.StatusOK || !strings.Contains(a.Body, console.ActionLogin) {
		t.Errorf("audit page: %d", a.Status)
	}
}

// The two-person rule on an IN_REVIEW payout: an operator proposes "paid",
// a different approver approves, and the payout is SUCCESS with the UTR;
// the audit log names both.
func TestProposeAndApprove(t *testing.T) {
	t.Parallel()
	w := setup(t)
	p := w.reviewPayout()
	op, opEmail := w.as(offramp.RoleOperator)
	ap, apEmail := w.as(offramp.RoleApprover)

	op.get("/payouts/" + p.ID.String())
	a := op.post("/payouts/"+p.ID.String()+"/proposals", url.Values{"action": {"paid"}, "utr": {"412345678901"}, "why": {"bank statement shows the credit"}})
	if a.Status != http.StatusSeeOther {
		t.Fatalf("propose: %d\n%s", a.Status, a.Body)
	}
	if w.payout(p.ID).Status != offramp.PayoutInReview {
		t.Fatal("a proposal alone changed the payout")
	}
	// One pending proposal per object.
	op.get("/payouts/" + p.ID.String())
	if a := op.post("/payouts/"+p.ID.String()+"/proposals", url.Values{"action": {"failed"}, "reason": {"BENEFICIARY_BANK_REJECTED"}, "why": {"x"}}); a.Status != http.StatusConflict {
		t.Fatalf("second proposal: %d", a.Status)
	}
	pending := w.proposals(offramp.ProposalPending)
	if len(pending) != 1 || pending[0].Kind != offramp.ProposalResolvePaid || pending[0].ProposedBy != opEmail || pending[0].Params["utr"] != "412345678901" {
		t.Fatalf("pending: %+v", pending)
	}
	if a := ap.get("/proposals"); !strings.Contains(a.Body, "/proposals/"+pending[0].ID.String()+"/approve") {
		t.Fatalf("the approver is not offered the approval:\n%s", a.Body)
	}
	a = ap.post("/proposals/"+pending[0].ID.String()+"/approve", nil)
	if a.Status != http.StatusSeeOther {
		t.Fatalf("approve: %d\n%s", a.Status, a.Body)
	}
	got := w.payout(p.ID)
	if got.Status != offramp.PayoutSuccess || got.UTR != "412345678901" {
		t.Fatalf("after approval: %s utr %q", got.Status, got.UTR)
	}
	var prop offramp.Proposal
	w.view(func(tx offramp.ReadTx) error {
		var err error
		prop, err = tx.Proposal(w.ctx, pending[0].ID)
		return err
	})
	if prop.Status != offramp.ProposalApproved || prop.DecidedBy != apEmail {
		t.Fatalf("proposal: %+v", prop)
	}
	if acts := w.auditActions(apEmail); !slices.Contains(acts, "payout.resolve_paid") || !slices.Contains(acts, console.ActionProposalApproved) {
		t.Fatalf("approver's audit: %v", acts)
	}
	if acts := w.auditActions(opEmail); !slices.Contains(acts, console.ActionProposalCreated) {
		t.Fatalf("proposer's audit: %v", acts)
	}
	// Approving again is refused: it is decided.
	if a := ap.post("/proposals/"+pending[0].ID.String()+"/approve", nil); a.Status != http.StatusConflict {
		t.Fatalf("second approval: %d", a.Status)
	}
}

func TestSelfApprovalForbidden(t *testing.T) {
	t.Parallel()
	w := setup(t)
	p := w.reviewPayout()
	ap, _ := w.as(offramp.RoleApprover)
	ap.get("/payouts/" + p.ID.String())
	if a := ap.post("/payouts/"+p.ID.String()+"/proposals", url.Values{"action": {"failed"}, "reason": {"BENEFICIARY_BANK_REJECTED"}, "why": {"bank says closed"}}); a.Status != http.StatusSeeOther {
		t.Fatalf("propose: %d\n%s", a.Status, a.Body)
	}
	prop := w.proposals(offramp.ProposalPending)[0]
	ap.get("/proposals")
	for _, action := range []string{"approve", "reject"} {
		if a := ap.post("/proposals/"+prop.ID.String()+"/"+action, nil); a.Status != http.StatusForbidden {
			t.Fatalf("self-%s: %d\n%s", action, a.Status, a.Body)
		}
	}
	if len(w.proposals(offramp.ProposalPending)) != 1 || w.payout(p.ID).Status != offramp.PayoutInReview {
		t.Fatal("a self-approval changed something")
	}
	// Another approver may reject it; nothing else changes.
	other, _ := w.as(offramp.RoleAdmin)
	other.get("/proposals")
	if a := other.post("/proposals/"+prop.ID.String()+"/reject", url.Values{"why": {"the bank has not confirmed"}}); a.Status != http.StatusSeeOther {
		t.Fatalf("reject: %d\n%s", a.Status, a.Body)
	}
	if w.payout(p.ID).Status != offramp.PayoutInReview || len(w.proposals(offramp.ProposalRejected)) != 1 {
		t.Fatal("rejection")
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	w := setup(t)
	p := w.reviewPayout()
	viewer, _ := w.as(offramp.RoleViewer)
	viewer.get("/payouts/" + p.ID.String())
	if a := viewer.post("/payouts/"+p.ID.String()+"/proposals", url.Values{"action": {"reinquire"}, "why": {"ask again"}}); a.Status != http.StatusForbidden {
		t.Fatalf("viewer proposes: %d", a.Status)
	}
	if len(w.proposals("")) != 0 {
		t.Fatal("a viewer made a proposal")
	}

	op, _ := w.as(offramp.RoleOperator)
	op.get("/payouts/" + p.ID.String())
	if a := op.post("/payouts/"+p.ID.String()+"/proposals", url.Values{"action": {"reinquire"}, "why": {"ask again"}}); a.Status != http.StatusSeeOther {
		t.Fatalf("operator proposes: %d\n%s", a.Status, a.Body)
	}
	prop := w.proposals(offramp.ProposalPending)[0]

	op2, _ := w.as(offramp.RoleOperator)
	op2.get("/proposals")
	if a := op2.post("/proposals/"+prop.ID.String()+"/approve", nil); a.Status != http.StatusForbidden {
		t.Fatalf("operator approves: %d", a.Status)
	}
	viewer.get("/proposals")
	if a := viewer.post("/proposals/"+prop.ID.String()+"/reject", nil); a.Status != http.StatusForbidden {
		t.Fatalf("viewer rejects: %d", a.Status)
	}
	if a := viewer.post("/payouts/"+p.ID.String()+"/events/"+p.ID.String()+"/replay", nil); a.Status != http.StatusForbidden {
		t.Fatalf("viewer replays a webhook: %d", a.Status)
	}
	if len(w.proposals(offramp.ProposalPending)) != 1 {
		t.Fatal("a refused decision changed the proposal")
	}
	// Bad proposals are refused with the reason, and make nothing.
	for _, form := range []url.Values{
		{"action": {"paid"}, "utr": {"12"}, "why": {"x"}},
		{"action": {"failed"}, "reason": {"bad reason!"}, "why": {"x"}},
		{"action": {"paid"}, "utr": {"412345678901"}},
		{"action": {"explode"}, "why": {"x"}},
	} {
		q := w.reviewPayout()
		op.get("/payouts/" + q.ID.String())
		if a := op.post("/payouts/"+q.ID.String()+"/proposals", form); a.Status != http.StatusBadRequest {
			t.Errorf("proposal %v: %d", form, a.Status)
		}
	}
	if len(w.proposals("")) != 1 {
		t.Fatal("a bad proposal was stored")
	}
}

// A FAILED payout is refunded by two people; a KYC submission waiting for
// an operator is decided by two people.
func TestRefundAndKYCProposals(t *testing.T) {
	t.Parallel()
	w := setup(t)
	p := w.reviewPayout()
	op, _ := w.as(offramp.RoleOperator)
	ap, _ := w.as(offramp.RoleApprover)
	approveLatest := func() {
		t.Helper()
		ps := w.proposals(offramp.ProposalPending)
		if len(ps) != 1 {
			t.Fatalf("%d pending proposals", len(ps))
		}
		ap.get("/proposals")
		if a := ap.post("/proposals/"+ps[0].ID.String()+"/approve", nil); a.Status != http.StatusSeeOther {
			t.Fatalf("approve %s: %d\n%s", ps[0].Kind, a.Status, a.Body)
		}
	}
	op.get("/payouts/" + p.ID.String())
	if a := op.post("/payouts/"+p.ID.String()+"/proposals", url.Values{"action": {"refund"}, "why": {"crypto returned"}}); a.Status != http.StatusConflict {
		t.Fatalf("refund of an IN_REVIEW payout: %d", a.Status)
	}
	op.post("/payouts/"+p.ID.String()+"/proposals", url.Values{"action": {"failed"}, "reason": {"BENEFICIARY_BANK_REJECTED"}, "why": {"bank: account closed"}})
	approveLatest()
	if got := w.payout(p.ID); got.Status != offramp.PayoutFailed || got.FailureReason != "BENEFICIARY_BANK_REJECTED" {
		t.Fatalf("after failed: %s %s", got.Status, got.FailureReason)
	}
	op.get("/payouts/" + p.ID.String())
	if a := op.post("/payouts/"+p.ID.String()+"/proposals", url.Values{"action": {"refund"}, "why": {"crypto returned to the exchange"}}); a.Status != http.StatusSeeOther {
		t.Fatalf("propose refund: %d\n%s", a.Status, a.Body)
	}
	approveLatest()
	if got := w.payout(p.ID); got.Status != offramp.PayoutRefunded {
		t.Fatalf("after refund: %s", got.Status)
	}
	// The FAILED webhook can be replayed from the payout page.
	a := op.get("/payouts/" + p.ID.String())
	if !strings.Contains(a.Body, "/replay") {
		t.Fatal("no replay button")
	}
	var failedEvent string
	w.view(func(tx offramp.ReadTx) error {
		es, err := tx.Events(w.ctx, p.OrgID, offramp.ObjectPayout, p.ID)
		for _, e := range es {
			if e.Event == "FAILED" {
				failedEvent = e.ID.String()
			}
		}
		return err
	})
	if a := op.post("/payouts/"+p.ID.String()+"/events/"+failedEvent+"/replay", nil); a.Status != http.StatusSeeOther {
		t.Fatalf("replay: %d\n%s", a.Status, a.Body)
	}

	c, _ := w.customer(offramp.CustomerProcessing)
	op.get("/customers/" + c.ID.String())
	if a := op.post("/customers/"+c.ID.String()+"/proposals", url.Values{"decision": {"failed"}, "reason": {"NOT_A_REASON"}, "why": {"x"}}); a.Status != http.StatusBadRequest {
		t.Fatalf("KYC proposal with a bad reason: %d", a.Status)
	}
	if a := op.post("/customers/"+c.ID.String()+"/proposals", url.Values{"decision": {"verified"}, "why": {"documents checked by hand"}}); a.Status != http.StatusSeeOther {
		t.Fatalf("KYC proposal: %d\n%s", a.Status, a.Body)
	}
	approveLatest()
	var got offramp.Customer
	w.view(func(tx offramp.ReadTx) error {
		var err error
		got, err = tx.CustomerAnyOrg(w.ctx, c.ID)
		return err
	})
	if got.Status != offramp.CustomerVerified {
		t.Fatalf("customer after the approved decision: %s", got.Status)
	}
}

func cookieOf(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func countOf(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}
