package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/console"
	"github.com/offramp/offramp/operator"
)

// auditByAction lists the audit entries of one action, newest first.
func (w *world) auditByAction(action string) []offramp.AuditEntry {
	w.t.Helper()
	var out []offramp.AuditEntry
	w.view(func(tx offramp.ReadTx) error {
		var err error
		out, err = tx.ListAudit(w.ctx, "", action, 100)
		return err
	})
	return out
}

// noSecrets fails the test if an audit entry carries a password or a hash.
func noSecrets(t *testing.T, a offramp.AuditEntry, passwords ...string) {
	t.Helper()
	all := a.Reason
	for k, v := range a.Details {
		all += " " + k + "=" + v
	}
	for _, pw := range passwords {
		if strings.Contains(all, pw) {
			t.Errorf("audit entry %s carries a password: %q", a.Action, all)
		}
	}
	if strings.Contains(all, "argon2") {
		t.Errorf("audit entry %s carries a hash: %q", a.Action, all)
	}
}

// operatorRow is the row of the operators page for one e-mail.
func operatorRow(t *testing.T, body, email string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<tr data-email="` + regexp.QuoteMeta(email) + `">.*?</tr>`)
	row := re.FindString(body)
	if row == "" {
		t.Fatalf("no row for %s on the operators page", email)
	}
	return row
}

func TestOperatorsAdmin(t *testing.T) {
	t.Parallel()
	w := setup(t)
	admin, adminEmail := w.as(offramp.RoleAdmin)
	a := admin.get("/operators")
	if a.Status != http.StatusOK || !strings.Contains(a.Body, `id="create-operator"`) || !strings.Contains(a.Body, `href="/operators"`) {
		t.Fatalf("operators page: %d\n%s", a.Status, a.Body)
	}
	self := operatorRow(t, a.Body, adminEmail)
	if strings.Contains(self, `class="disable`) || !strings.Contains(self, `class="reset`) || !strings.Contains(self, "(you)") {
		t.Errorf("the admin's own row offers to disable them:\n%s", self)
	}
	if !strings.Contains(self, "2026-11-24 10:00:00") {
		t.Errorf("the admin's last login is not shown:\n%s", self)
	}

	// Creation: the CLI's rules for the e-mail, role and password.
	const email, pw = "new.person@ops.example", "a long enough password"
	for _, form := range []url.Values{
		{"email": {email}, "role": {"approver"}, "password": {"too short"}},
		{"email": {email}, "role": {"approver"}, "password": {"two\nlines of a long password"}},
		{"email": {"not-an-address"}, "role": {"approver"}, "password": {pw}},
		{"email": {email}, "role": {"root"}, "password": {pw}},
	} {
		if a := admin.post("/operators", form); a.Status != http.StatusBadRequest {
			t.Errorf("create %v: %d", form, a.Status)
		}
	}
	a = admin.post("/operators", url.Values{"email": {"New.Person@Ops.Example "}, "role": {"approver"}, "password": {pw}, "why": {"joins the night shift"}})
	if a.Status != http.StatusSeeOther || a.Location != "/operators?done=created" {
		t.Fatalf("create: %d %q\n%s", a.Status, a.Location, a.Body)
	}
	created := w.operatorByEmail(email)
	if created.Role != offramp.RoleApprover || created.Disabled || created.TOTPSecret != "" || !operator.CheckPassword(created.PasswordHash, pw) {
		t.Fatalf("created operator: %+v", created)
	}
	if a := admin.post("/operators", url.Values{"email": {email}, "role": {"viewer"}, "password": {pw}}); a.Status != http.StatusConflict {
		t.Errorf("the same e-mail again: %d", a.Status)
	}
	entries := w.auditByAction(console.ActionOperatorCreate)
	if len(entries) != 1 || entries[0].Actor != adminEmail || entries[0].ObjectID != created.ID || entries[0].Details["email"] != email ||
		entries[0].Details["role"] != "approver" || entries[0].Reason != "joins the night shift" {
		t.Fatalf("creation audit: %+v", entries)
	}
	noSecrets(t, entries[0], pw)
	a = admin.get("/operators?done=created")
	if !strings.Contains(a.Body, `id="flash"`) || !strings.Contains(operatorRow(t, a.Body, email), "never") {
		t.Errorf("after creation:\n%s", a.Body)
	}

	// The new operator signs in; a reset ends their session, clears a
	// lockout, and only the new password works.
	person := w.signIn(email, pw)
	locked := w.operatorByEmail(email)
	locked.FailedLogins, locked.LockedUntil = 7, w.clk.Now().Add(time.Hour)
	w.update(func(tx offramp.Tx) error { return tx.UpdateOperator(w.ctx, locked) })
	const pw2 = "another long password"
	admin.get("/operators")
	if a := admin.post("/operators/"+created.ID.String()+"/reset", url.Values{"password": {"short"}}); a.Status != http.StatusBadRequest {
		t.Errorf("reset to a short password: %d", a.Status)
	}
	if a := admin.post("/operators/"+created.ID.String()+"/reset", url.Values{"password": {pw2}}); a.Status != http.StatusSeeOther {
		t.Fatalf("reset: %d\n%s", a.Status, a.Body)
	}
	if a := person.get("/"); a.Status != http.StatusSeeOther {
		t.Errorf("the operator's session survived the reset: %d", a.Status)
	}
	if got := w.operatorByEmail(email); got.FailedLogins != 0 || !got.LockedUntil.IsZero() {
		t.Errorf("after the reset: %d failures, locked until %v", got.FailedLogins, got.LockedUntil)
	}
	if a := w.browser().login(email, pw); a.Status != http.StatusUnauthorized {
		t.Errorf("the old password after the reset: %d", a.Status)
	}
	person = w.signIn(email, pw2)
	entries = w.auditByAction(console.ActionOperatorReset)
	if len(entries) != 1 || entries[0].Actor != adminEmail || entries[0].ObjectID != created.ID || entries[0].Details["failed_logins"] != "7" {
		t.Fatalf("reset audit: %+v", entries)
	}
	noSecrets(t, entries[0], pw, pw2)

	// Disabling needs a why, ends the session and stops logins.
	admin.get("/operators")
	if a := admin.post("/operators/"+created.ID.String()+"/disable", nil); a.Status != http.StatusBadRequest {
		t.Errorf("disable without a why: %d", a.Status)
	}
	if w.operatorByEmail(email).Disabled {
		t.Fatal("disabled without a why")
	}
	if a := admin.post("/operators/"+created.ID.String()+"/disable", url.Values{"why": {"left the company"}}); a.Status != http.StatusSeeOther || a.Location != "/operators?done=disabled" {
		t.Fatalf("disable: %d %q\n%s", a.Status, a.Location, a.Body)
	}
	if !w.operatorByEmail(email).Disabled {
		t.Fatal("not disabled")
	}
	if a := person.get("/"); a.Status != http.StatusSeeOther {
		t.Errorf("a disabled operator's session still works: %d", a.Status)
	}
	if a := w.browser().login(email, pw2); a.Status != http.StatusUnauthorized {
		t.Errorf("a disabled operator logs in: %d", a.Status)
	}
	entries = w.auditByAction(console.ActionOperatorDisable)
	if len(entries) != 1 || entries[0].Actor != adminEmail || entries[0].ObjectID != created.ID || entries[0].Reason != "left the company" ||
		entries[0].Details["email"] != email {
		t.Fatalf("disable audit: %+v", entries)
	}
	// Disabling again changes nothing and records nothing.
	if a := admin.post("/operators/"+created.ID.String()+"/disable", url.Values{"why": {"again"}}); a.Location != "/operators?done=already" {
		t.Errorf("second disable: %d %q", a.Status, a.Location)
	}
	if n := len(w.auditByAction(console.ActionOperatorDisable)); n != 1 {
		t.Errorf("%d disable entries after a no-op", n)
	}
	if row := operatorRow(t, admin.get("/operators").Body, email); !strings.Contains(row, "disabled") || strings.Contains(row, `class="disable`) {
		t.Errorf("disabled row:\n%s", row)
	}

	// An admin cannot disable themself.
	me := w.operatorByEmail(adminEmail)
	if a := admin.post("/operators/"+me.ID.String()+"/disable", url.Values{"why": {"testing"}}); a.Status != http.StatusForbidden {
		t.Errorf("self-disable: %d", a.Status)
	}
	if w.operatorByEmail(adminEmail).Disabled || admin.get("/").Status != http.StatusOK {
		t.Error("the admin disabled themself")
	}
	if a := admin.post("/operators/00000000-0000-0000-0000-000000000001/disable", url.Values{"why": {"x"}}); a.Status != http.StatusNotFound {
		t.Errorf("unknown operator: %d", a.Status)
	}
}

func TestOperatorsCreateWithTOTP(t *testing.T) {
	t.Parallel()
	w := setup(t)
	admin, _ := w.as(offramp.RoleAdmin)
	admin.get("/operators")
	const email, pw = "second.factor@ops.example", "a long enough password"
	a := admin.post("/operators", url.Values{"email": {email}, "role": {"viewer"}, "password": {pw}, "totp": {"1"}})
	if a.Status != http.StatusOK || !strings.Contains(a.Body, `id="totp-uri"`) || !strings.Contains(a.Body, "otpauth://totp/") {
		t.Fatalf("create with TOTP: %d\n%s", a.Status, a.Body)
	}
	o := w.operatorByEmail(email)
	if o.TOTPSecret == "" || !strings.Contains(a.Body, o.TOTPSecret) || !strings.Contains(operatorRow(t, a.Body, email), "TOTP on") {
		t.Fatal("the second factor is not set or not shown")
	}
	// Shown once: the list never shows it again.
	if again := admin.get("/operators"); strings.Contains(again.Body, o.TOTPSecret) || strings.Contains(again.Body, "otpauth://") {
		t.Fatal("the TOTP secret is shown again")
	}
	noSecrets(t, w.auditByAction(console.ActionOperatorCreate)[0], pw, o.TOTPSecret)
	b := w.browser()
	if a := b.login(email, pw); a.Status != http.StatusUnauthorized {
		t.Errorf("login without the code: %d", a.Status)
	}
	if a := b.post("/login", url.Values{"email": {email}, "password": {pw}, "totp": {operator.TOTPCode(o.TOTPSecret, w.clk.Now())}}); a.Status != http.StatusSeeOther {
		t.Errorf("login with the code: %d", a.Status)
	}
}

func TestOperatorsNeedAdmin(t *testing.T) {
	t.Parallel()
	w := setup(t)
	victimEmail, _ := w.operator(offramp.RoleViewer)
	victim := w.operatorByEmail(victimEmail)
	for _, role := range []offramp.Role{offramp.RoleViewer, offramp.RoleOperator, offramp.RoleApprover} {
		b, _ := w.as(role)
		if a := b.get("/"); strings.Contains(a.Body, `href="/operators"`) {
			t.Errorf("%s is shown the operators link", role)
		}
		if a := b.get("/operators"); a.Status != http.StatusForbidden || strings.Contains(a.Body, victimEmail) {
			t.Errorf("%s GET /operators: %d", role, a.Status)
		}
		b.get("/") // a page with the session's CSRF token
		for path, form := range map[string]url.Values{
			"/operators": {"email": {"sneaky@ops.example"}, "role": {"admin"}, "password": {"a long enough password"}},
			"/operators/" + victim.ID.String() + "/disable": {"why": {"x"}},
			"/operators/" + victim.ID.String() + "/reset":   {"password": {"a long enough password"}},
		} {
			if a := b.post(path, form); a.Status != http.StatusForbidden {
				t.Errorf("%s POST %s: %d", role, path, a.Status)
			}
		}
	}
	got := w.operatorByEmail(victimEmail)
	if got.Disabled || got.PasswordHash != victim.PasswordHash {
		t.Fatal("a non-admin changed an operator")
	}
	w.view(func(tx offramp.ReadTx) error {
		if _, err := tx.OperatorByEmail(w.ctx, "sneaky@ops.example"); err == nil {
			t.Fatal("a non-admin created an operator")
		}
		return nil
	})
}
