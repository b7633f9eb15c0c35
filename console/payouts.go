package console

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// Limits of the payout list and its CSV export.
const (
	listLimit   = 500
	csvLimit    = 10_000
	searchLimit = 100
	// defaultDays is the window of the list when no date is given.
	defaultDays = 7
)

// payoutQuery is the payout list's filters as the form sent them, and as
// a store filter.
type payoutQuery struct {
	Org, Status, From, To, Customer, Q string
	Filter                             offramp.PayoutFilter
	Problems                           []string
}

// Encode is the query string of the same filters (the CSV link).
func (q payoutQuery) Encode() string {
	v := url.Values{}
	for k, val := range map[string]string{"org": q.Org, "status": q.Status, "from": q.From, "to": q.To, "customer": q.Customer, "q": q.Q} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v.Encode()
}

// parsePayoutQuery reads the filters. Dates are Asia/Kolkata days, both
// inclusive, like the API's history.
func (c *Console) parsePayoutQuery(r *http.Request) payoutQuery {
	v := r.URL.Query()
	q := payoutQuery{Org: strings.TrimSpace(v.Get("org")), Status: strings.ToUpper(strings.TrimSpace(v.Get("status"))),
		From: strings.TrimSpace(v.Get("from")), To: strings.TrimSpace(v.Get("to")),
		Customer: strings.TrimSpace(v.Get("customer")), Q: strings.TrimSpace(v.Get("q"))}
	if len(q.Q) > 200 {
		q.Q = q.Q[:200]
	}
	if q.Org != "" {
		id, err := uuid.Parse(q.Org)
		if err != nil {
			q.Problems = append(q.Problems, "Organization: enter an organization id (a UUID).")
		}
		q.Filter.OrgID = id
	}
	if q.Status != "" {
		st := offramp.PayoutStatus(q.Status)
		ok := false
		for _, s := range offramp.PayoutStatuses {
			ok = ok || s == st
		}
		if !ok {
			q.Problems = append(q.Problems, "Status: choose one of the listed statuses.")
		} else {
			q.Filter.Status = st
		}
	}
	if q.Customer != "" {
		id, err := uuid.Parse(q.Customer)
		if err != nil {
			q.Problems = append(q.Problems, "Customer: enter a customer id (a UUID).")
		}
		q.Filter.CustomerID = id
	}
	// A list by status (the IN_REVIEW or FAILED queue), customer or search
	// looks at every day; a bare list at the last defaultDays.
	if q.From == "" && q.To == "" && q.Q == "" && q.Customer == "" && q.Status == "" {
		q.From = c.clock.Now().In(ist).AddDate(0, 0, -(defaultDays - 1)).Format(time.DateOnly)
	}
	if q.From != "" {
		t, err := time.ParseInLocation(time.DateOnly, q.From, ist)
		if err != nil {
			q.Problems = append(q.Problems, "From: enter a date as YYYY-MM-DD.")
		}
		q.Filter.From = t.UTC()
	}
	if q.To != "" {
		t, err := time.ParseInLocation(time.DateOnly, q.To, ist)
		if err != nil {
			q.Problems = append(q.Problems, "To: enter a date as YYYY-MM-DD.")
		}
		q.Filter.To = t.AddDate(0, 0, 1).UTC()
	}
	if !q.Filter.From.IsZero() && !q.Filter.To.IsZero() && !q.Filter.To.After(q.Filter.From) {
		q.Problems = append(q.Problems, "To must not be before From.")
	}
	return q
}

type payoutsData struct {
	Query     payoutQuery
	Statuses  []offramp.PayoutStatus
	Payouts   []offramp.Payout
	Truncated bool
	// Hits are the payouts the search box found anywhere (outside the
	// filters' window too).
	Hits     []offramp.Payout
	Searched bool
	// SearchScope says what the search could look in.
	SearchScope string
	Orgs        []offramp.Org
}

// payouts lists payouts of every organization, newest first, filtered, and
// searches across them.
func (c *Console) payouts(w http.ResponseWriter, r *http.Request, s *session) {
	q := c.parsePayoutQuery(r)
	data := payoutsData{Query: q, Statuses: offramp.PayoutStatuses}
	if len(q.Problems) > 0 {
		c.render(w, r, http.StatusBadRequest, "payouts", s, data)
		return
	}
	ctx := r.Context()
	err := c.store.View(ctx, func(tx offramp.ReadTx) error {
		list, err := tx.AdminPayouts(ctx, q.Filter, listLimit+1)
		if err != nil {
			return err
		}
		if len(list) > listLimit {
			list, data.Truncated = list[:listLimit], true
		}
		if q.Q != "" {
			data.Searched = true
			hits, scope, err := search(ctx, tx, q.Q, q.Filter.OrgID)
			if err != nil {
				return err
			}
			data.SearchScope = scope
			data.Hits = mergePayouts(hits, matching(list, q.Q))
			list = nil
		}
		data.Payouts = newestFirst(list)
		data.Orgs, err = tx.ListOrgs(ctx)
		return err
	})
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "payouts", s, data)
}

// searchScope says what the search box looked at.
const searchScope = "every organization: payout id, bank reference, UTR, exchange order and transfer ids, client reference id, customer id"

// search finds payouts by what an operator may have in hand: the store's
// SearchPayouts (payout id, bank reference, UTR, exchange order and
// transfer ids, client reference id, across organizations) and, for a
// customer id, that customer's payouts.
func search(ctx context.Context, tx offramp.ReadTx, q string, _ uuid.UUID) ([]offramp.Payout, string, error) {
	out, err := tx.SearchPayouts(ctx, q, searchLimit)
	if err != nil {
		return nil, "", err
	}
	if id, err := uuid.Parse(q); err == nil && len(out) == 0 {
		if _, err := tx.CustomerAnyOrg(ctx, id); err == nil {
			list, err := tx.AdminPayouts(ctx, offramp.PayoutFilter{CustomerID: id}, searchLimit)
			if err != nil {
				return nil, "", err
			}
			out = append(out, list...)
		} else if !errors.Is(err, offramp.ErrNotFound) {
			return nil, "", err
		}
	}
	return mergePayouts(out), searchScope, nil
}

// matching keeps the payouts of list that q names exactly.
func matching(list []offramp.Payout, q string) []offramp.Payout {
	var out []offramp.Payout
	for _, p := range list {
		if p.UTR == q || p.ExchangeTransferID == q || p.ExchangeOrderID == q || p.ClientReferenceID == q ||
			p.RailReference == q || p.ID.String() == q {
			out = append(out, p)
		}
	}
	return out
}

// mergePayouts joins lists without duplicates, newest first.
func mergePayouts(lists ...[]offramp.Payout) []offramp.Payout {
	seen := map[uuid.UUID]bool{}
	var out []offramp.Payout
	for _, l := range lists {
		for _, p := range l {
			if !seen[p.ID] {
				seen[p.ID] = true
				out = append(out, p)
			}
		}
	}
	return newestFirst(out)
}

func newestFirst(list []offramp.Payout) []offramp.Payout {
	sort.SliceStable(list, func(i, j int) bool { return list[i].CreatedAt.After(list[j].CreatedAt) })
	return list
}

// csvHeader is the export's columns.
var csvHeader = []string{"payout_id", "org_id", "customer_id", "created_at", "updated_at", "status", "status_detail", "asset",
	"sending_amount", "rate", "gross_inr", "receiving_amount_inr", "utr", "bank_reference", "failure_reason", "review_reason",
	"exchange_order_id", "exchange_transfer_id", "client_reference_id"}

// payoutsCSV exports the filtered list (or the search's hits), oldest
// first, at most csvLimit rows.
func (c *Console) payoutsCSV(w http.ResponseWriter, r *http.Request, s *session) {
	q := c.parsePayoutQuery(r)
	if len(q.Problems) > 0 {
		c.failAs(w, r, s, http.StatusBadRequest, "Fix the filters first.", q.Problems...)
		return
	}
	ctx := r.Context()
	var list []offramp.Payout
	err := c.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		if list, err = tx.AdminPayouts(ctx, q.Filter, csvLimit); err != nil {
			return err
		}
		if q.Q != "" {
			hits, _, err := search(ctx, tx, q.Q, q.Filter.OrgID)
			if err != nil {
				return err
			}
			list = mergePayouts(hits, matching(list, q.Q))
			sort.SliceStable(list, func(i, j int) bool { return list[i].CreatedAt.Before(list[j].CreatedAt) })
		}
		return nil
	})
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="payouts-`+c.clock.Now().In(ist).Format("20060102-150405")+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	for _, p := range list {
		_ = cw.Write([]string{p.ID.String(), p.OrgID.String(), p.CustomerID.String(), rfc3339(p.CreatedAt), rfc3339(p.UpdatedAt),
			string(p.Status), string(p.Phase), p.Asset, p.SendingAmount.String(), p.Rate.String(), p.GrossFiat.StringFixed(2),
			p.ReceivingAmount.StringFixed(2), cell(p.UTR), cell(p.RailReference), cell(p.FailureReason), cell(p.ReviewReason),
			cell(p.ExchangeOrderID), cell(p.ExchangeTransferID), cell(p.ClientReferenceID)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		c.log.WarnContext(ctx, "console: writing the CSV export", "err", err)
	}
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// cell defuses a value an exchange chose (a client reference id) that a
// spreadsheet would run as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

type timelineRow struct {
	At     time.Time
	What   string
	Detail string
	Actor  string
	Kind   string // "event", "audit", "mark"
}

type deliveryRow struct {
	Event       offramp.Event
	Delivery    offramp.Delivery
	HasDelivery bool
	Attempts    []offramp.DeliveryAttempt
}

type feeRow struct {
	Name   string
	Amount decimal.Decimal
	Minus  bool
}

type payoutData struct {
	P          offramp.Payout
	Org        offramp.Org
	Customer   *offramp.Customer
	Bank       *offramp.BankAccount
	Timeline   []timelineRow
	Journals   []offramp.Journal
	Deliveries []deliveryRow
	Jobs       []offramp.Job
	Proposals  []offramp.Proposal
	Fees       []feeRow
	// What an operator may propose in the payout's status.
	CanResolve, CanRefund bool
	Reasons               []string
}

// payout shows one payout: its timeline, bank reference and answers, the
// ledger, the webhooks and what may be proposed.
func (c *Console) payout(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No payout has this id.")
		return
	}
	ctx := r.Context()
	var data payoutData
	err = c.store.View(ctx, func(tx offramp.ReadTx) error {
		p, err := tx.PayoutAnyOrg(ctx, id)
		if err != nil {
			return err
		}
		data.P = p
		if data.Org, err = tx.Org(ctx, p.OrgID); err != nil {
			return err
		}
		if cu, err := tx.Customer(ctx, p.OrgID, p.CustomerID); err == nil {
			data.Customer = &cu
		} else if !errors.Is(err, offramp.ErrNotFound) {
			return err
		}
		if b, err := tx.BankAccount(ctx, p.OrgID, p.BankID); err == nil {
			data.Bank = &b
		} else if !errors.Is(err, offramp.ErrNotFound) {
			return err
		}
		events, err := tx.Events(ctx, p.OrgID, offramp.ObjectPayout, p.ID)
		if err != nil {
			return err
		}
		entries, err := tx.AuditEntries(ctx, offramp.ObjectPayout, p.ID)
		if err != nil {
			return err
		}
		data.Timeline = timeline(p, events, entries)
		if data.Journals, err = tx.PayoutJournals(ctx, p.OrgID, p.ID); err != nil {
			return err
		}
		for _, e := range events {
			if !e.Deliverable() {
				continue
			}
			row := deliveryRow{Event: e}
			d, err := tx.Delivery(ctx, p.OrgID, e.ID)
			switch {
			case err == nil:
				row.Delivery, row.HasDelivery = d, true
				if row.Attempts, err = tx.DeliveryAttempts(ctx, p.OrgID, e.ID); err != nil {
					return err
				}
			case !errors.Is(err, offramp.ErrNotFound):
				return err
			}
			data.Deliveries = append(data.Deliveries, row)
		}
		if data.Jobs, err = tx.Jobs(ctx, offramp.JobProcessPayout, p.ID); err != nil {
			return err
		}
		data.Proposals, err = pendingFor(ctx, tx, p.ID)
		return err
	})
	if errors.Is(err, offramp.ErrNotFound) {
		c.failAs(w, r, s, http.StatusNotFound, "No payout has this id.")
		return
	}
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	data.Fees = fees(data.P)
	data.CanResolve = data.P.Status == offramp.PayoutInReview
	data.CanRefund = data.P.Status == offramp.PayoutFailed
	data.Reasons = []string{offramp.ReasonBeneficiaryBankRejected, "BANK_REJECTED", "INVALID_ACCOUNT_NUMBER", offramp.ReasonOutcomeUnknown}
	c.render(w, r, http.StatusOK, "payout", s, data)
}

// pendingFor lists the pending proposals on one object.
func pendingFor(ctx context.Context, tx offramp.ReadTx, objectID uuid.UUID) ([]offramp.Proposal, error) {
	all, err := tx.ListProposals(ctx, offramp.ProposalPending, proposalLimit)
	if err != nil {
		return nil, err
	}
	var out []offramp.Proposal
	for _, p := range all {
		if p.ObjectID == objectID {
			out = append(out, p)
		}
	}
	return out, nil
}

// timeline merges the payout's recorded moments, its status events and the
// operator actions on it, in time order. Events record the wire status;
// the phase of each step is not recorded, only the current one.
func timeline(p offramp.Payout, events []offramp.Event, entries []offramp.AuditEntry) []timelineRow {
	rows := []timelineRow{{At: p.CreatedAt, What: "Initiated", Detail: "order " + p.ExchangeOrderID, Kind: "mark"}}
	for _, e := range events {
		var parts []string
		for _, k := range sortedKeys(e.Metadata) {
			parts = append(parts, k+"="+e.Metadata[k])
		}
		rows = append(rows, timelineRow{At: e.CreatedAt, What: e.Event, Kind: "event",
			Detail: strings.TrimSpace("#" + strconv.FormatInt(e.Sequence, 10) + " " + strings.Join(parts, " "))})
	}
	if !p.SubmittedAt.IsZero() {
		rows = append(rows, timelineRow{At: p.SubmittedAt, What: "Submitted to the bank",
			Detail: "submission " + strconv.Itoa(p.Submissions) + " (the latest)", Kind: "mark"})
	}
	if !p.PaidAt.IsZero() {
		rows = append(rows, timelineRow{At: p.PaidAt, What: "Paid", Detail: "UTR " + p.UTR, Kind: "mark"})
	}
	for _, a := range entries {
		var parts []string
		for _, k := range sortedKeys(a.Details) {
			if a.Details[k] != "" {
				parts = append(parts, k+"="+a.Details[k])
			}
		}
		rows = append(rows, timelineRow{At: a.CreatedAt, What: a.Action, Actor: a.Actor, Kind: "audit",
			Detail: strings.TrimSpace(a.Reason + "  " + strings.Join(parts, " "))})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].At.Before(rows[j].At) })
	return rows
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fees is the breakdown from the gross to the receiving amount.
func fees(p offramp.Payout) []feeRow {
	f := p.Fees
	return []feeRow{
		{Name: "Gross (sending amount × rate)", Amount: p.GrossFiat},
		{Name: "Platform fee", Amount: f.PlatformFee, Minus: true},
		{Name: "GST on platform fee", Amount: f.PlatformGST, Minus: true},
		{Name: "Client fee", Amount: f.ClientFeeFiat, Minus: true},
		{Name: "GST on client fee", Amount: f.ClientGSTFiat, Minus: true},
		{Name: "Payment gateway fee", Amount: f.PGFee, Minus: true},
		{Name: "GST on payment gateway fee", Amount: f.PGGST, Minus: true},
		{Name: "TDS (194S)", Amount: f.TDS, Minus: true},
		{Name: "Rounding", Amount: f.Rounding, Minus: true},
		{Name: "Receiving amount", Amount: p.ReceivingAmount},
	}
}

// replayWebhook sends a payout's webhook event again (operator and up).
func (c *Console) replayWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	id, err1 := uuid.Parse(r.PathValue("id"))
	eventID, err2 := uuid.Parse(r.PathValue("event"))
	if err1 != nil || err2 != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No such payout or event.")
		return
	}
	var p offramp.Payout
	err := c.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		if p, err = tx.PayoutAnyOrg(ctx, id); err != nil {
			return err
		}
		e, err := tx.Event(ctx, p.OrgID, eventID)
		if err == nil && e.ObjectID != p.ID {
			return offramp.ErrNotFound
		}
		return err
	})
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	d, err := c.svc.ReplayWebhook(ctx, p.OrgID, eventID.String())
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	now := c.now()
	err = c.store.Update(ctx, func(tx offramp.Tx) error {
		return appendAudit(ctx, tx, s, now, offramp.AuditEntry{OrgID: p.OrgID, Action: ActionWebhookReplay, ObjectType: offramp.ObjectPayout,
			ObjectID: p.ID, Reason: "webhook replayed from the console",
			Details: map[string]string{"event_id": eventID.String(), "delivery_state": string(d.State)}})
	})
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/payouts/"+p.ID.String()+"?done=replayed", http.StatusSeeOther)
}
