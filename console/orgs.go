package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// Organizations: the exchanges integrating with Offramp, their API keys,
// their webhook endpoint and their signature options. Every operator may
// read them; every change is an admin's alone, not a two-person proposal:
// these are an exchange's connection settings, not money decisions, and a
// key rotation must not wait for a second person while an exchange is down.
//
// The service audits each change in the transaction that makes it (as the
// admin, with the why where there is one), so these handlers append no
// audit entry of their own: a second row would double every change.

// orgDeliveryPage is how many webhook deliveries the organization page
// lists at once.
const orgDeliveryPage = 50

// orgRoutes registers the organization pages.
func (c *Console) orgRoutes(route func(pattern string, need offramp.Role, h handler)) {
	route("GET /orgs", offramp.RoleViewer, c.orgList)
	route("POST /orgs", offramp.RoleAdmin, c.orgCreate)
	route("GET /orgs/{id}", offramp.RoleViewer, c.orgPage)
	route("POST /orgs/{id}/keys", offramp.RoleAdmin, c.orgKeyCreate)
	route("POST /orgs/{id}/keys/{key}/revoke", offramp.RoleAdmin, c.orgKeyRevoke)
	route("POST /orgs/{id}/webhook", offramp.RoleAdmin, c.orgWebhook)
	route("POST /orgs/{id}/js-signatures", offramp.RoleAdmin, c.orgJSSignatures)
}

type orgListRow struct {
	O              offramp.Org
	Keys, LiveKeys int
	// OtherEnv: the organization's keys belong to the other environment,
	// and this server refuses them.
	OtherEnv bool
}

type orgsData struct {
	Orgs []orgListRow
	// Env is the environment of this server, in which a new organization
	// is created.
	Env offramp.Env
}

// orgList lists every organization.
func (c *Console) orgList(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	data := orgsData{Env: c.svc.Env()}
	err := c.store.View(ctx, func(tx offramp.ReadTx) error {
		data.Orgs = nil
		orgs, err := tx.ListOrgs(ctx)
		if err != nil {
			return err
		}
		// One key listing per organization: organizations are exchanges,
		// a handful, not a table to paginate.
		for _, o := range orgs {
			keys, err := tx.APIKeys(ctx, o.ID)
			if err != nil {
				return err
			}
			row := orgListRow{O: o, Keys: len(keys), OtherEnv: o.Env != data.Env}
			for _, k := range keys {
				if k.Live() {
					row.LiveKeys++
				}
			}
			data.Orgs = append(data.Orgs, row)
		}
		return nil
	})
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "orgs", s, data)
}

// newKeyData is the one page that shows a secret.
type newKeyData struct {
	Org   offramp.Org
	Label string
	Key   string
	// Secret is shown on this response only: the store keeps it sealed,
	// and no page reads it back.
	Secret string
	// NewOrg: the key is the first of an organization just created.
	NewOrg bool
}

// orgCreate creates an organization in this server's environment (a key of
// the other one would be refused here) and shows its first key and secret,
// once. The page is rendered, not redirected to: a redirect would have to
// carry the secret in a URL or keep it somewhere to show it.
func (c *Console) orgCreate(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	o, err := c.svc.CreateOrg(ctx, r.PostForm.Get("name"), c.svc.Env(), s.op.Email)
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	// The API key is public (it travels in every request); the secret is
	// never logged.
	c.log.InfoContext(ctx, "console: organization created", "org_id", o.ID.String(), "env", string(o.Env),
		"api_key", o.APIKey, "by", s.op.Email)
	c.render(w, r, http.StatusOK, "orgkey", s, newKeyData{Org: o, Key: o.APIKey, Secret: o.APISecret, NewOrg: true})
}

// orgKeyCreate adds an API key to an organization and shows it with its
// secret, once: how a key is rotated (create, move the exchange over,
// revoke the old one).
func (c *Console) orgKeyCreate(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	// The organization is read first: once the key exists its secret must
	// reach the page, so nothing that can fail comes after.
	o, ok := c.orgOf(w, r, s)
	if !ok {
		return
	}
	k, err := c.svc.CreateAPIKey(ctx, o.ID, r.PostForm.Get("label"), s.op.Email)
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	c.log.InfoContext(ctx, "console: API key created", "org_id", o.ID.String(), "key_id", k.ID.String(), "api_key", k.Key, "by", s.op.Email)
	c.render(w, r, http.StatusOK, "orgkey", s, newKeyData{Org: o, Label: k.Label, Key: k.Key, Secret: k.Secret})
}

// orgKeyRevoke revokes a live key, with the admin's reason (required: a
// revocation can cut an exchange off, and the log must say why).
func (c *Console) orgKeyRevoke(w http.ResponseWriter, r *http.Request, s *session) {
	orgID, err1 := uuid.Parse(r.PathValue("id"))
	keyID, err2 := uuid.Parse(r.PathValue("key"))
	if err1 != nil || err2 != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No such organization or API key.")
		return
	}
	var problems errProblems
	reason := why(r, &problems)
	if len(problems) > 0 {
		c.failAs(w, r, s, http.StatusBadRequest, "Say why the key is revoked: the reason is kept in the audit log.", problems...)
		return
	}
	ctx := r.Context()
	// The service's refusals say what to do: the last live key (409:
	// create its successor first), a key already revoked (409), a key of
	// another organization (404).
	if err := c.svc.RevokeAPIKey(ctx, orgID, keyID, s.op.Email, reason); err != nil {
		c.failErr(w, r, s, err)
		return
	}
	c.log.InfoContext(ctx, "console: API key revoked", "org_id", orgID.String(), "key_id", keyID.String(), "by", s.op.Email)
	http.Redirect(w, r, "/orgs/"+orgID.String()+"?done=key_revoked", http.StatusSeeOther)
}

// orgWebhook sets the organization's webhook URL; the service validates it
// (and refuses private addresses) and re-enables an endpoint disabled by a
// 410.
func (c *Console) orgWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	orgID, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No organization has this id.")
		return
	}
	ctx := r.Context()
	if _, err := c.svc.SetWebhookURL(ctx, orgID, r.PostForm.Get("webhook_url"), s.op.Email); err != nil {
		c.failErr(w, r, s, err)
		return
	}
	// Not the URL itself: some receivers put a token in it (the audit
	// entry keeps it).
	c.log.InfoContext(ctx, "console: webhook URL set", "org_id", orgID.String(), "by", s.op.Email)
	http.Redirect(w, r, "/orgs/"+orgID.String()+"?done=webhook_set", http.StatusSeeOther)
}

// orgJSSignatures switches the JavaScript-snippet signature form on or
// off. The why is optional, as in the service (which records a default
// one, with the value before and after).
func (c *Console) orgJSSignatures(w http.ResponseWriter, r *http.Request, s *session) {
	orgID, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No organization has this id.")
		return
	}
	var problems errProblems
	var allow bool
	// Explicit values, not a checkbox: an absent checkbox would read as
	// "off", and a form that lost a field would switch the option.
	switch r.PostForm.Get("allow") {
	case "on":
		allow = true
	case "off":
	default:
		problems = append(problems, "Allow: on or off.")
	}
	reason := strings.TrimSpace(r.PostForm.Get("why"))
	if len(reason) > maxWhy {
		problems = append(problems, "Why: at most "+strconv.Itoa(maxWhy)+" characters.")
	}
	if len(problems) > 0 {
		c.failAs(w, r, s, http.StatusBadRequest, "The form is incomplete.", problems...)
		return
	}
	ctx := r.Context()
	if err := c.svc.SetJSReplacer(ctx, orgID, allow, s.op.Email, reason); err != nil {
		c.failErr(w, r, s, err)
		return
	}
	c.log.InfoContext(ctx, "console: JavaScript-snippet signatures switched", "org_id", orgID.String(), "allow", allow, "by", s.op.Email)
	done := "js_off"
	if allow {
		done = "js_on"
	}
	http.Redirect(w, r, "/orgs/"+orgID.String()+"?done="+done, http.StatusSeeOther)
}

// orgOf reads the organization of the request's path, answering 404 (and
// false) when there is none.
func (c *Console) orgOf(w http.ResponseWriter, r *http.Request, s *session) (offramp.Org, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No organization has this id.")
		return offramp.Org{}, false
	}
	ctx := r.Context()
	var o offramp.Org
	err = c.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		o, err = tx.Org(ctx, id)
		return err
	})
	if errors.Is(err, offramp.ErrNotFound) {
		c.failAs(w, r, s, http.StatusNotFound, "No organization has this id.")
		return o, false
	}
	if err != nil {
		c.internal(w, r, s, err)
		return o, false
	}
	return o, true
}

type orgDeliveryRow struct {
	E offramp.Event
	D offramp.Delivery
	// Attempts are the delivery's tries, oldest first.
	Attempts []offramp.DeliveryAttempt
	// Link is the console page of the event's object ("" when it has
	// none).
	Link string
}

type orgData struct {
	O        offramp.Org
	Keys     []offramp.APIKey
	LiveKeys int
	OtherEnv bool
	Env      offramp.Env

	// The webhook delivery log: one page of it, newest first, optionally
	// of one state.
	Deliveries       []orgDeliveryRow
	DeliveryTotal    int
	State            string
	States           []offramp.DeliveryState
	Page, Pages      int
	PrevURL, NextURL string

	// Changes are the audited changes to the organization, newest first.
	Changes []offramp.AuditEntry
}

// orgPage shows an organization: its keys, its webhook endpoint and the
// deliveries to it, and its signature option.
func (c *Console) orgPage(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No organization has this id.")
		return
	}
	q := r.URL.Query()
	data := orgData{Env: c.svc.Env(), States: []offramp.DeliveryState{offramp.DeliveryPending, offramp.DeliveryDelivered, offramp.DeliveryFailed},
		State: strings.ToUpper(strings.TrimSpace(q.Get("state"))), Page: 1}
	var problems []string
	switch offramp.DeliveryState(data.State) {
	case "", offramp.DeliveryPending, offramp.DeliveryDelivered, offramp.DeliveryFailed:
	default:
		problems = append(problems, "State: PENDING, DELIVERED or FAILED.")
	}
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 1_000_000 {
			problems = append(problems, "Page: a page number from 1.")
		}
		data.Page = n
	}
	if len(problems) > 0 {
		c.failAs(w, r, s, http.StatusBadRequest, "The delivery log's filters are wrong.", problems...)
		return
	}
	ctx := r.Context()
	err = c.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		if data.O, err = tx.Org(ctx, id); err != nil {
			return err
		}
		data.Deliveries, data.DeliveryTotal, err = orgDeliveryLog(ctx, tx, id, offramp.DeliveryState(data.State), data.Page)
		if err != nil {
			return err
		}
		data.Changes, err = tx.AuditEntries(ctx, offramp.ObjectOrg, id)
		slices.Reverse(data.Changes)
		return err
	})
	if errors.Is(err, offramp.ErrNotFound) {
		c.failAs(w, r, s, http.StatusNotFound, "No organization has this id.")
		return
	}
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	keys, err := c.svc.APIKeys(ctx, id)
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	for i := range keys {
		// The listing carries no secret; blanking it here as well keeps
		// this page from ever showing one, whatever a lister returns.
		keys[i].Secret = ""
		if keys[i].Live() {
			data.LiveKeys++
		}
	}
	data.Keys = keys
	data.OtherEnv = data.O.Env != data.Env
	data.Pages = max(1, (data.DeliveryTotal+orgDeliveryPage-1)/orgDeliveryPage)
	page := func(n int) string {
		v := url.Values{}
		if data.State != "" {
			v.Set("state", data.State)
		}
		if n > 1 {
			v.Set("page", strconv.Itoa(n))
		}
		u := "/orgs/" + id.String()
		if len(v) > 0 {
			u += "?" + v.Encode()
		}
		return u
	}
	if data.Page > 1 {
		data.PrevURL = page(min(data.Page-1, data.Pages))
	}
	if data.Page < data.Pages {
		data.NextURL = page(data.Page + 1)
	}
	c.render(w, r, http.StatusOK, "org", s, data)
}

// orgDeliveryLog reads one page of the organization's webhook deliveries
// with their attempts.
func orgDeliveryLog(ctx context.Context, tx offramp.ReadTx, orgID uuid.UUID, state offramp.DeliveryState, page int) ([]orgDeliveryRow, int, error) {
	list, total, err := tx.ListDeliveries(ctx, orgID, offramp.DeliveryFilter{State: state}, offramp.Page{Number: page, Size: orgDeliveryPage})
	if err != nil {
		return nil, 0, err
	}
	rows := make([]orgDeliveryRow, 0, len(list))
	for _, ed := range list {
		row := orgDeliveryRow{E: ed.Event, D: ed.Delivery}
		if row.Attempts, err = tx.DeliveryAttempts(ctx, orgID, ed.Event.ID); err != nil {
			return nil, 0, err
		}
		switch ed.Event.ObjectType {
		case offramp.ObjectPayout:
			row.Link = "/payouts/" + ed.Event.ObjectID.String()
		case offramp.ObjectCustomer:
			row.Link = "/customers/" + ed.Event.ObjectID.String()
		}
		rows = append(rows, row)
	}
	return rows, total, nil
}
