package console_test

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/service"
)

var (
	newKeyRE    = regexp.MustCompile(`id="new-key">([^<]+)<`)
	newSecretRE = regexp.MustCompile(`id="new-secret">([^<]+)<`)
)

// shownCredentials reads the key and secret a creation page shows.
func shownCredentials(t *testing.T, a answer) (key, secret string) {
	t.Helper()
	k, s := newKeyRE.FindStringSubmatch(a.Body), newSecretRE.FindStringSubmatch(a.Body)
	if k == nil || s == nil || k[1] == "" || s[1] == "" {
		t.Fatalf("no key and secret on the page: %d\n%s", a.Status, a.Body)
	}
	if !strings.Contains(a.Body, "it is not shown again") {
		t.Fatal("the page does not say the secret is shown once")
	}
	if cc := a.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("the page of a secret may be cached: Cache-Control %q", cc)
	}
	return k[1], s[1]
}

// keyRow is the table row of the API key on an organization page.
func keyRow(t *testing.T, page, key string) string {
	t.Helper()
	row := regexp.MustCompile(`(?s)<tr id="key-` + regexp.QuoteMeta(key) + `"[^>]*>.*?</tr>`).FindString(page)
	if row == "" {
		t.Fatalf("no row of key %s on the page:\n%s", key, page)
	}
	return row
}

var revokeActionRE = regexp.MustCompile(`<form class="revoke" method="post" action="([^"]+)"`)

// revokePath is the action of the revoke form of a key's row.
func revokePath(t *testing.T, page, key string) string {
	t.Helper()
	m := revokeActionRE.FindStringSubmatch(keyRow(t, page, key))
	if m == nil {
		t.Fatalf("the row of key %s has no revoke form", key)
	}
	return m[1]
}

func (w *world) orgByID(id uuid.UUID) offramp.Org {
	w.t.Helper()
	var o offramp.Org
	w.view(func(tx offramp.ReadTx) error {
		var err error
		o, err = tx.Org(w.ctx, id)
		return err
	})
	return o
}

func (w *world) keysOf(orgID uuid.UUID) []offramp.APIKey {
	w.t.Helper()
	var keys []offramp.APIKey
	w.view(func(tx offramp.ReadTx) error {
		var err error
		keys, err = tx.APIKeys(w.ctx, orgID)
		return err
	})
	return keys
}

func (w *world) orgCount() int {
	w.t.Helper()
	var n int
	w.view(func(tx offramp.ReadTx) error {
		var err error
		n, err = tx.CountOrgs(w.ctx)
		return err
	})
	return n
}

// auditOf lists the audit entries of one actor and action.
func (w *world) auditOf(actor, action string) []offramp.AuditEntry {
	w.t.Helper()
	var list []offramp.AuditEntry
	w.view(func(tx offramp.ReadTx) error {
		var err error
		list, err = tx.ListAudit(w.ctx, actor, action, 100)
		return err
	})
	return list
}

// Every operator reads the organization pages; only an admin changes
// anything, and the forms are offered to nobody else.
func TestOrgPagesRoles(t *testing.T) {
	t.Parallel()
	w := setup(t)
	orgPath := "/orgs/" + w.org.ID.String()
	keys := w.keysOf(w.org.ID)
	if len(keys) != 1 {
		t.Fatalf("the test organization has %d keys", len(keys))
	}
	posts := []struct {
		path string
		form url.Values
	}{
		{"/orgs", url.Values{"name": {"Sneaky Exchange"}}},
		{orgPath + "/keys", url.Values{"label": {"sneaky"}}},
		{orgPath + "/keys/" + keys[0].ID.String() + "/revoke", url.Values{"why": {"because"}}},
		{orgPath + "/webhook", url.Values{"webhook_url": {"https://hooks.sneaky.example/x"}}},
		{orgPath + "/js-signatures", url.Values{"allow": {"on"}, "why": {"because"}}},
	}
	for _, role := range []offramp.Role{offramp.RoleViewer, offramp.RoleOperator, offramp.RoleApprover} {
		b, _ := w.as(role)
		a := b.get("/orgs")
		if a.Status != http.StatusOK || !strings.Contains(a.Body, "Test Exchange") || !strings.Contains(a.Body, `href="`+orgPath+`"`) {
			t.Fatalf("%s: /orgs: %d\n%s", role, a.Status, a.Body)
		}
		if strings.Contains(a.Body, `id="create-org"`) {
			t.Errorf("%s is offered the create form", role)
		}
		a = b.get(orgPath)
		if a.Status != http.StatusOK || !strings.Contains(a.Body, `id="key-`+w.org.APIKey+`"`) {
			t.Fatalf("%s: %s: %d\n%s", role, orgPath, a.Status, a.Body)
		}
		for _, form := range []string{`class="revoke"`, `id="create-key"`, `id="webhook"`, `id="js-signatures"`} {
			if strings.Contains(a.Body, form) {
				t.Errorf("%s is offered %s", role, form)
			}
		}
		if strings.Contains(a.Body, w.org.APISecret) {
			t.Fatalf("the organization page shows the secret")
		}
		for _, p := range posts {
			if a := b.post(p.path, p.form); a.Status != http.StatusForbidden {
				t.Errorf("%s: POST %s: %d", role, p.path, a.Status)
			}
		}
	}
	o := w.orgByID(w.org.ID)
	if w.orgCount() != 1 || len(w.keysOf(w.org.ID)) != 1 || !w.keysOf(w.org.ID)[0].Live() || o.WebhookURL != "" || o.AllowJSReplacerSignatures {
		t.Fatalf("a refused POST changed something: %+v", o)
	}
}

// An admin creates an organization (its secret shown once), rotates its
// key, and cannot revoke the last live one.
func TestOrgKeys(t *testing.T) {
	t.Parallel()
	w := setup(t)
	b, email := w.as(offramp.RoleAdmin)
	if a := b.get("/orgs"); !strings.Contains(a.Body, `id="create-org"`) {
		t.Fatalf("the admin is not offered the create form:\n%s", a.Body)
	}
	if a := b.post("/orgs", url.Values{"name": {"  "}}); a.Status != http.StatusBadRequest {
		t.Fatalf("an organization without a name: %d\n%s", a.Status, a.Body)
	}
	// Without the session's CSRF token nothing is created.
	if a := b.post("/orgs", url.Values{"name": {"Forged Exchange"}, "csrf": {""}}); a.Status != http.StatusForbidden {
		t.Fatalf("create without csrf: %d", a.Status)
	}
	if a := b.post("/orgs", url.Values{"name": {"Forged Exchange"}, "csrf": {"forged"}}); a.Status != http.StatusForbidden {
		t.Fatalf("create with a wrong csrf: %d", a.Status)
	}
	if n := w.orgCount(); n != 1 {
		t.Fatalf("%d organizations after refused creations", n)
	}

	a := b.post("/orgs", url.Values{"name": {"Acme <Exchange>"}})
	if a.Status != http.StatusOK {
		t.Fatalf("create: %d\n%s", a.Status, a.Body)
	}
	key1, secret1 := shownCredentials(t, a)
	if !strings.Contains(a.Body, "Acme &lt;Exchange&gt;") {
		t.Fatal("the organization's name is not escaped")
	}
	// The credentials shown are the ones that authenticate.
	o, err := w.svc.Authenticate(w.ctx, key1)
	if err != nil {
		t.Fatalf("the shown key does not authenticate: %v", err)
	}
	if o.Name != "Acme <Exchange>" || o.Env != offramp.EnvProduction || o.APISecret != secret1 {
		t.Fatalf("created %+v", o)
	}
	if got := w.auditOf(email, service.ActionOrgCreated); len(got) != 1 || got[0].Actor != email {
		t.Fatalf("creation audit: %+v", got)
	}
	orgPath := "/orgs/" + o.ID.String()

	// Not shown again: neither on the organization page nor in the list.
	page := b.get(orgPath)
	if page.Status != http.StatusOK || strings.Contains(page.Body, secret1) || !strings.Contains(keyRow(t, page.Body, key1), "status live") {
		t.Fatalf("organization page: %d\n%s", page.Status, page.Body)
	}
	if !strings.Contains(keyRow(t, page.Body, key1), ">never<") {
		t.Error("an unused key does not say never")
	}
	w.svc.KeyUsed(w.ctx, o) // as the API does for a request the key signed
	if page := b.get(orgPath); strings.Contains(keyRow(t, page.Body, key1), ">never<") || !strings.Contains(keyRow(t, page.Body, key1), "2026-11-24 10:00:00") {
		t.Errorf("the used key's row:\n%s", keyRow(t, page.Body, key1))
	}
	if !strings.Contains(page.Body, `href="/payouts?org=`+o.ID.String()+`"`) {
		t.Error("no link to the organization's payouts")
	}
	if a := b.get("/orgs"); !strings.Contains(a.Body, "Acme &lt;Exchange&gt;") || strings.Contains(a.Body, secret1) {
		t.Fatalf("list: %d\n%s", a.Status, a.Body)
	}

	// A key without the CSRF token is not created.
	if a := b.post(orgPath+"/keys", url.Values{"label": {"forged"}, "csrf": {""}}); a.Status != http.StatusForbidden {
		t.Fatalf("key without csrf: %d", a.Status)
	}
	b.get(orgPath)
	a = b.post(orgPath+"/keys", url.Values{"label": {"rotation 2026-12"}})
	if a.Status != http.StatusOK || !strings.Contains(a.Body, "rotation 2026-12") {
		t.Fatalf("second key: %d\n%s", a.Status, a.Body)
	}
	key2, secret2 := shownCredentials(t, a)
	if key2 == key1 || secret2 == secret1 {
		t.Fatal("the second key repeats the first")
	}
	if o2, err := w.svc.Authenticate(w.ctx, key2); err != nil || o2.ID != o.ID || o2.APISecret != secret2 {
		t.Fatalf("the second key: %+v, %v", o2, err)
	}
	page = b.get(orgPath)
	for _, k := range []string{key1, key2} {
		if row := keyRow(t, page.Body, k); !strings.Contains(row, "status live") || strings.Contains(row, "status revoked") {
			t.Fatalf("key %s is not listed live:\n%s", k, row)
		}
	}
	if strings.Contains(page.Body, secret1) || strings.Contains(page.Body, secret2) {
		t.Fatal("the organization page shows a secret")
	}
	if !strings.Contains(keyRow(t, page.Body, key2), "rotation 2026-12") || !strings.Contains(keyRow(t, page.Body, key2), email) {
		t.Error("the second key's row lacks its label or creator")
	}
	if n := len(w.keysOf(o.ID)); n != 2 {
		t.Fatalf("%d keys after a forged and a real creation", n)
	}

	// Revoking needs a reason.
	revoke1 := revokePath(t, page.Body, key1)
	if a := b.post(revoke1, url.Values{"why": {"  "}}); a.Status != http.StatusBadRequest {
		t.Fatalf("revoke without why: %d\n%s", a.Status, a.Body)
	}
	if _, err := w.svc.Authenticate(w.ctx, key1); err != nil {
		t.Fatalf("a refused revocation revoked: %v", err)
	}
	a = b.post(revoke1, url.Values{"why": {"the exchange moved to the rotation key"}})
	if a.Status != http.StatusSeeOther || a.Location != orgPath+"?done=key_revoked" {
		t.Fatalf("revoke: %d %q\n%s", a.Status, a.Location, a.Body)
	}
	if _, err := w.svc.Authenticate(w.ctx, key1); !errors.Is(err, offramp.ErrNotFound) {
		t.Fatalf("the revoked key still authenticates: %v", err)
	}
	page = b.get(a.Location)
	if !strings.Contains(page.Body, `id="flash"`) {
		t.Error("no flash after the revocation")
	}
	row1 := keyRow(t, page.Body, key1)
	if !strings.Contains(row1, "status revoked") || !strings.Contains(row1, email) || strings.Contains(row1, `class="revoke"`) {
		t.Fatalf("the revoked key's row:\n%s", row1)
	}
	if !strings.Contains(keyRow(t, page.Body, key2), "status live") {
		t.Fatal("the other key is no longer live")
	}
	if !strings.Contains(page.Body, "the exchange moved to the rotation key") {
		t.Error("the organization's changes do not show the revocation's reason")
	}
	revoked := w.auditOf(email, service.ActionKeyRevoked)
	if len(revoked) != 1 || revoked[0].Actor != email || revoked[0].Reason != "the exchange moved to the rotation key" || revoked[0].OrgID != o.ID {
		t.Fatalf("revocation audit: %+v", revoked)
	}
	if got := w.auditOf("", service.ActionKeyRevoked); len(got) != 1 {
		t.Fatalf("the revocation is audited %d times", len(got))
	}

	// The last live key stays: 409, and it still authenticates.
	a = b.post(revokePath(t, page.Body, key2), url.Values{"why": {"tidying up"}})
	if a.Status != http.StatusConflict || !strings.Contains(a.Body, "last live API key") {
		t.Fatalf("revoking the last live key: %d\n%s", a.Status, a.Body)
	}
	if _, err := w.svc.Authenticate(w.ctx, key2); err != nil {
		t.Fatalf("the last key was revoked: %v", err)
	}
	// A revoked key cannot be revoked again; an unknown one is not found.
	b.get(orgPath)
	if a := b.post(revoke1, url.Values{"why": {"again"}}); a.Status != http.StatusConflict || !strings.Contains(a.Body, "already revoked") {
		t.Fatalf("revoking a revoked key: %d\n%s", a.Status, a.Body)
	}
	if a := b.post(orgPath+"/keys/"+uuid.NewString()+"/revoke", url.Values{"why": {"x"}}); a.Status != http.StatusNotFound {
		t.Fatalf("revoking an unknown key: %d", a.Status)
	}
	if a := b.post("/orgs/"+uuid.NewString()+"/keys", url.Values{"label": {"x"}}); a.Status != http.StatusNotFound {
		t.Fatalf("a key for an unknown organization: %d", a.Status)
	}
}

// The webhook URL is validated by the service (a field error is a 400 that
// names the field); the JS-signature switch toggles, with a reason.
func TestOrgWebhookAndJSSignatures(t *testing.T) {
	t.Parallel()
	w := setup(t)
	b, email := w.as(offramp.RoleAdmin)
	orgPath := "/orgs/" + w.org.ID.String()
	if a := b.get(orgPath); !strings.Contains(a.Body, `id="webhook"`) || !strings.Contains(a.Body, `id="js-signatures"`) {
		t.Fatalf("the admin is not offered the forms:\n%s", a.Body)
	}

	for _, bad := range []string{"ftp://hooks.acme.example/x", "http://hooks.acme.example/x", "https://localhost/x", ""} {
		a := b.post(orgPath+"/webhook", url.Values{"webhook_url": {bad}})
		if a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "webhook_url: ") {
			t.Errorf("webhook URL %q: %d\n%s", bad, a.Status, a.Body)
		}
	}
	if a := b.post(orgPath+"/webhook", url.Values{"webhook_url": {"ftp://x.example"}}); !strings.Contains(a.Body, "webhook_url: Enter a valid URL.") {
		t.Errorf("the field error is not shown:\n%s", a.Body)
	}
	if got := w.orgByID(w.org.ID).WebhookURL; got != "" {
		t.Fatalf("a refused URL was stored: %q", got)
	}
	a := b.post(orgPath+"/webhook", url.Values{"webhook_url": {"hooks.acme-exchange.example/offramp"}})
	if a.Status != http.StatusSeeOther || a.Location != orgPath+"?done=webhook_set" {
		t.Fatalf("webhook URL: %d %q\n%s", a.Status, a.Location, a.Body)
	}
	const stored = "https://hooks.acme-exchange.example/offramp"
	if got := w.orgByID(w.org.ID).WebhookURL; got != stored {
		t.Fatalf("stored %q", got)
	}
	if a := b.get(a.Location); !strings.Contains(a.Body, stored) || !strings.Contains(a.Body, `id="flash"`) || !strings.Contains(a.Body, "status delivered") {
		t.Fatalf("page after setting the URL:\n%s", a.Body)
	}
	if got := w.auditOf(email, service.ActionWebhookURLSet); len(got) != 1 {
		t.Fatalf("webhook audit: %+v", got)
	}
	// An endpoint disabled by a 410 shows so; saving the URL again enables it.
	w.update(func(tx offramp.Tx) error { return tx.SetOrgWebhookDisabled(w.ctx, w.org.ID, true) })
	if a := b.get(orgPath); !strings.Contains(a.Body, "410 Gone") {
		t.Fatal("the disabled endpoint is not shown")
	}
	if a := b.get("/orgs"); !strings.Contains(a.Body, "disabled (410)") {
		t.Fatal("the list does not flag the disabled endpoint")
	}
	if a := b.post(orgPath+"/webhook", url.Values{"webhook_url": {stored}}); a.Status != http.StatusSeeOther {
		t.Fatalf("setting the URL again: %d", a.Status)
	}
	if w.orgByID(w.org.ID).WebhookDisabled {
		t.Fatal("setting the URL again left the endpoint disabled")
	}

	// The JS-signature switch: explicit on/off and a reason.
	b.get(orgPath)
	for _, form := range []url.Values{{"allow": {"maybe"}, "why": {"x"}}, {"allow": {""}, "why": {"x"}}, {"why": {"x"}}} {
		if a := b.post(orgPath+"/js-signatures", form); a.Status != http.StatusBadRequest {
			t.Errorf("switch %v: %d", form, a.Status)
		}
	}
	if w.orgByID(w.org.ID).AllowJSReplacerSignatures {
		t.Fatal("a refused switch switched")
	}
	a = b.post(orgPath+"/js-signatures", url.Values{"allow": {"on"}, "why": {"their client cannot sign nested keys until January"}})
	if a.Status != http.StatusSeeOther || a.Location != orgPath+"?done=js_on" {
		t.Fatalf("switch on: %d %q\n%s", a.Status, a.Location, a.Body)
	}
	if !w.orgByID(w.org.ID).AllowJSReplacerSignatures {
		t.Fatal("not switched on")
	}
	page := b.get(a.Location)
	if !strings.Contains(page.Body, `id="js-state">allowed`) || !strings.Contains(page.Body, `name="allow" value="off"`) {
		t.Fatalf("page after switching on:\n%s", page.Body)
	}
	if a := b.post(orgPath+"/js-signatures", url.Values{"allow": {"off"}, "why": {"client fixed"}}); a.Status != http.StatusSeeOther || a.Location != orgPath+"?done=js_off" {
		t.Fatalf("switch off: %d %q", a.Status, a.Location)
	}
	if w.orgByID(w.org.ID).AllowJSReplacerSignatures {
		t.Fatal("not switched off")
	}
	if page := b.get(orgPath); !strings.Contains(page.Body, `id="js-state">refused`) || !strings.Contains(page.Body, `name="allow" value="on"`) {
		t.Fatalf("page after switching off:\n%s", page.Body)
	}
	// The why is optional: the service records a default one.
	if a := b.post(orgPath+"/js-signatures", url.Values{"allow": {"on"}}); a.Status != http.StatusSeeOther || !w.orgByID(w.org.ID).AllowJSReplacerSignatures {
		t.Fatalf("switch on without a why: %d\n%s", a.Status, a.Body)
	}
	switches := w.auditOf(email, service.ActionJSSignaturesSet)
	if len(switches) != 3 || switches[2].Reason != "their client cannot sign nested keys until January" || switches[0].Reason == "" {
		t.Fatalf("switch audit: %+v", switches)
	}
	// The page lists the organization's changes, with their reasons.
	if page := b.get(orgPath); !strings.Contains(page.Body, service.ActionJSSignaturesSet) || !strings.Contains(page.Body, "client fixed") ||
		!strings.Contains(page.Body, service.ActionWebhookURLSet) {
		t.Fatalf("the changes are not listed:\n%s", page.Body)
	}
	if a := b.post("/orgs/"+uuid.NewString()+"/js-signatures", url.Values{"allow": {"on"}, "why": {"x"}}); a.Status != http.StatusNotFound {
		t.Fatalf("switch of an unknown organization: %d", a.Status)
	}
}

// The organization page lists its webhook deliveries, each linking to its
// payout, filtered by state.
func TestOrgDeliveryLog(t *testing.T) {
	t.Parallel()
	w := setup(t)
	p := w.reviewPayout()
	b, _ := w.as(offramp.RoleViewer)
	orgPath := "/orgs/" + w.org.ID.String()
	link := `href="/payouts/` + p.ID.String() + `"`
	a := b.get(orgPath)
	if a.Status != http.StatusOK || !strings.Contains(a.Body, link) || !strings.Contains(a.Body, "IN_REVIEW") || !strings.Contains(a.Body, "status pending") {
		t.Fatalf("delivery log: %d\n%s", a.Status, a.Body)
	}
	if a := b.get(orgPath + "?state=pending"); a.Status != http.StatusOK || !strings.Contains(a.Body, link) {
		t.Fatalf("PENDING deliveries: %d", a.Status)
	}
	if a := b.get(orgPath + "?state=DELIVERED"); a.Status != http.StatusOK || strings.Contains(a.Body, link) {
		t.Fatalf("DELIVERED deliveries: %d", a.Status)
	}
	if a := b.get(orgPath + "?page=2"); a.Status != http.StatusOK || strings.Contains(a.Body, link) || !strings.Contains(a.Body, `rel="prev"`) {
		t.Fatalf("a page past the end: %d\n%s", a.Status, a.Body)
	}
	for _, q := range []string{"?state=BOGUS", "?page=0", "?page=x"} {
		if a := b.get(orgPath + q); a.Status != http.StatusBadRequest {
			t.Errorf("%s: %d", q, a.Status)
		}
	}
	for _, path := range []string{"/orgs/" + uuid.NewString(), "/orgs/not-an-id"} {
		if a := b.get(path); a.Status != http.StatusNotFound {
			t.Errorf("%s: %d", path, a.Status)
		}
	}
}
