package console

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// Limits of what the overview reads at once.
const (
	overviewPayoutLimit = 20_000
	reviewQueueLimit    = 200
	pendingScanLimit    = 500
)

type statusRow struct {
	Status    offramp.PayoutStatus
	N         int
	Gross     decimal.Decimal
	Receiving decimal.Decimal
}

type orgDeliveries struct {
	Org             offramp.Org
	Failed, Pending int
	Recent          []offramp.EventDelivery
}

type webhookSummary struct {
	Backlog offramp.JobDepth
	Orgs    []orgDeliveries
	// Complete is false when the store cannot list organizations: then
	// only the organizations with a payout in the last 24 hours or in the
	// review queue are counted.
	Complete bool
}

// ProviderHealth is one outside provider as the server last saw it, for
// the overview (Config.Health).
type ProviderHealth struct {
	// Name says which provider ("razorpayx payouts", "wazirx").
	Name string
	// Kind is "rail", "rates", "kyc" or "bank-verify".
	Kind string
	OK   bool
	// Detail is why it is failing, or what it last answered; never a
	// secret.
	Detail string
	// PriceAge is, for a rate source, how old its last good price is
	// when Health answers; negative when it has no price yet. Ignored for
	// other kinds.
	PriceAge time.Duration
	// CheckedAt is when the server last checked it; zero: not yet.
	CheckedAt time.Time
}

// Provider kinds.
const (
	KindRail       = "rail"
	KindRates      = "rates"
	KindKYC        = "kyc"
	KindBankVerify = "bank-verify"
)

// providerRow is a ProviderHealth with what the page shows of its times.
type providerRow struct {
	ProviderHealth
	// Price is the price age as shown ("" for a kind without prices).
	Price string
	// Checked is how long ago the check was, as shown.
	Checked string
}

type providersSummary struct {
	// Reported is false when the console has no Health function (a
	// console started without a server's providers).
	Reported bool
	Rows     []providerRow
	Failing  int
}

type metricRow struct {
	Name, Labels string
	Value        float64
}

type overviewData struct {
	Day            string
	Today          []statusRow
	Total          statusRow
	TodayTruncated bool
	Chart          chart
	Review         []offramp.Payout
	ReviewMore     bool
	Stats          offramp.PayoutStats
	Phases         []offramp.PhaseCount
	OldestPending  *offramp.Payout
	Jobs           []offramp.JobDepth
	Webhooks       webhookSummary
	Proposals      int
	Metrics        []metricRow
	Providers      providersSummary
}

// overview is the operator's first page: today's payouts (Asia/Kolkata
// day) by status and INR volume, payouts per hour over the last 24 hours,
// the IN_REVIEW queue, the oldest transfer pending at the bank, webhook
// backlog and failures, and the job queues. One read transaction, so the
// numbers agree with each other.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	now := c.now()
	y, m, d := now.In(ist).Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, ist).UTC()
	hourStart := time.Date(y, m, d, now.In(ist).Hour(), 0, 0, 0, ist).UTC()
	chartFrom := hourStart.Add(-23 * time.Hour)
	from := chartFrom
	if midnight.Before(from) {
		from = midnight
	}
	data := overviewData{Day: now.In(ist).Format("Monday 2 January 2006")}
	err := c.store.View(ctx, func(tx offramp.ReadTx) error {
		recent, err := tx.AdminPayouts(ctx, offramp.PayoutFilter{From: from}, overviewPayoutLimit)
		if err != nil {
			return err
		}
		data.TodayTruncated = len(recent) == overviewPayoutLimit
		byStatus := map[offramp.PayoutStatus]*statusRow{}
		for _, st := range offramp.PayoutStatuses {
			byStatus[st] = &statusRow{Status: st}
		}
		var perHour [24]int
		seen := map[uuid.UUID]bool{}
		for _, p := range recent {
			seen[p.OrgID] = true
			if !p.CreatedAt.Before(midnight) {
				row := byStatus[p.Status]
				if row == nil {
					row = &statusRow{Status: p.Status}
					byStatus[p.Status] = row
				}
				row.N++
				row.Gross = row.Gross.Add(p.GrossFiat)
				row.Receiving = row.Receiving.Add(p.ReceivingAmount)
			}
			if !p.CreatedAt.Before(chartFrom) {
				if i := int(p.CreatedAt.Sub(chartFrom) / time.Hour); i >= 0 && i < 24 {
					perHour[i]++
				}
			}
		}
		for _, st := range offramp.PayoutStatuses {
			row := *byStatus[st]
			data.Today = append(data.Today, row)
			data.Total.N += row.N
			data.Total.Gross = data.Total.Gross.Add(row.Gross)
			data.Total.Receiving = data.Total.Receiving.Add(row.Receiving)
		}
		data.Chart = hourChart(chartFrom, perHour)

		review, err := tx.AdminPayouts(ctx, offramp.PayoutFilter{Status: offramp.PayoutInReview}, reviewQueueLimit+1)
		if err != nil {
			return err
		}
		if len(review) > reviewQueueLimit {
			review, data.ReviewMore = review[:reviewQueueLimit], true
		}
		data.Review = review
		for _, p := range review {
			seen[p.OrgID] = true
		}

		if data.Stats, err = tx.PayoutStats(ctx); err != nil {
			return err
		}
		for _, pc := range data.Stats.Counts {
			if pc.N > 0 {
				data.Phases = append(data.Phases, pc)
			}
		}
		if !data.Stats.OldestPending.IsZero() {
			data.OldestPending, err = oldestPending(ctx, tx, data.Stats.OldestPending)
			if err != nil {
				return err
			}
		}
		if data.Jobs, err = tx.JobDepths(ctx, now); err != nil {
			return err
		}
		for _, j := range data.Jobs {
			if j.Kind == offramp.JobDeliverWebhook {
				data.Webhooks.Backlog = j
			}
		}
		data.Webhooks.Backlog.Kind = offramp.JobDeliverWebhook
		if data.Webhooks.Orgs, data.Webhooks.Complete, err = deliverySummary(ctx, tx, seen); err != nil {
			return err
		}
		pending, err := tx.ListProposals(ctx, offramp.ProposalPending, 1000)
		if err != nil {
			return err
		}
		data.Proposals = len(pending)
		return nil
	})
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	data.Metrics = c.processMetrics()
	data.Providers = c.providers(r.Context())
	c.render(w, r, http.StatusOK, "overview", s, data)
}

// providers asks Config.Health for the providers' last known state. The
// function answers from the server's cached checks (see Config.Health), so
// a page view never reaches a provider.
func (c *Console) providers(ctx context.Context) providersSummary {
	if c.health == nil {
		return providersSummary{}
	}
	now := c.clock.Now()
	out := providersSummary{Reported: true}
	for _, h := range c.health(ctx) {
		row := providerRow{ProviderHealth: h, Checked: "not checked yet"}
		if !h.CheckedAt.IsZero() {
			row.Checked = formatAge(now.Sub(h.CheckedAt)) + " ago"
		}
		if h.Kind == KindRates {
			row.Price = "no price yet"
			if h.PriceAge >= 0 {
				row.Price = formatAge(h.PriceAge)
			}
		}
		if !h.OK {
			out.Failing++
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}

// oldestPending finds the payout whose submission is the oldest pending
// at the bank (PayoutStats gives only its time): among the oldest
// PROCESSING payouts, the SUBMITTED one submitted then. Nil when it is not
// among them.
func oldestPending(ctx context.Context, tx offramp.ReadTx, at time.Time) (*offramp.Payout, error) {
	list, err := tx.AdminPayouts(ctx, offramp.PayoutFilter{Status: offramp.PayoutProcessing}, pendingScanLimit)
	if err != nil {
		return nil, err
	}
	var best *offramp.Payout
	for i, p := range list {
		if p.Phase == offramp.PhaseSubmitted && (best == nil || p.SubmittedAt.Before(best.SubmittedAt)) {
			best = &list[i]
		}
	}
	if best != nil && !best.SubmittedAt.Equal(at) {
		return nil, nil
	}
	return best, nil
}

// orgsOf lists every organization (the seen set is kept for the callers'
// signature; every organization is listed, so the summary is complete).
func orgsOf(ctx context.Context, tx offramp.ReadTx, _ map[uuid.UUID]bool) ([]offramp.Org, bool, error) {
	orgs, err := tx.ListOrgs(ctx)
	return orgs, err == nil, err
}

// deliverySummary counts FAILED and PENDING webhook deliveries per
// organization (two counted list queries each: organizations are
// exchanges, a handful) and keeps the latest failures.
func deliverySummary(ctx context.Context, tx offramp.ReadTx, seen map[uuid.UUID]bool) ([]orgDeliveries, bool, error) {
	orgs, complete, err := orgsOf(ctx, tx, seen)
	if err != nil {
		return nil, false, err
	}
	var out []orgDeliveries
	for _, o := range orgs {
		failed, nFailed, err := tx.ListDeliveries(ctx, o.ID, offramp.DeliveryFilter{State: offramp.DeliveryFailed}, offramp.Page{Number: 1, Size: 5})
		if err != nil {
			return nil, false, err
		}
		_, nPending, err := tx.ListDeliveries(ctx, o.ID, offramp.DeliveryFilter{State: offramp.DeliveryPending}, offramp.Page{Number: 1, Size: 1})
		if err != nil {
			return nil, false, err
		}
		if nFailed > 0 || nPending > 0 || o.WebhookDisabled {
			out = append(out, orgDeliveries{Org: o, Failed: nFailed, Pending: nPending, Recent: failed})
		}
	}
	return out, complete, nil
}

// processMetrics reads this process's bank call counts and busy worker
// slots from the registry, when there is one.
func (c *Console) processMetrics() []metricRow {
	if c.registry == nil {
		return nil
	}
	families, err := c.registry.Gather()
	if err != nil {
		c.log.Warn("console: gathering metrics", "err", err)
	}
	var out []metricRow
	for _, f := range families {
		switch f.GetName() {
		case "offramp_bank_calls_total", "offramp_worker_busy_slots", "offramp_jobs_total":
		default:
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := m.GetCounter().GetValue()
			if m.Gauge != nil {
				v = m.GetGauge().GetValue()
			}
			out = append(out, metricRow{Name: f.GetName(), Labels: strings.Join(labels, " "), Value: v})
		}
	}
	return out
}

// chart is a bar chart drawn on the server as SVG.
type chart struct {
	Width, Height int
	Bars          []bar
	Max           int
	Total         int
	Ticks         []tick
}

type bar struct {
	X, Y, W, H int
	N          int
	Label      string
}

type tick struct {
	X     int
	Label string
}

// hourChart draws payouts per hour: 24 bars from the hour starting at from.
func hourChart(from time.Time, counts [24]int) chart {
	const width, height, top, bottom, left = 720, 170, 10, 20, 0
	ch := chart{Width: width, Height: height}
	for _, n := range counts {
		ch.Max = max(ch.Max, n)
		ch.Total += n
	}
	slot := (width - left) / 24
	plot := height - top - bottom
	for i, n := range counts {
		h := 0
		if ch.Max > 0 {
			h = n * plot / ch.Max
		}
		if n > 0 && h < 2 {
			h = 2
		}
		start := from.Add(time.Duration(i) * time.Hour).In(ist)
		ch.Bars = append(ch.Bars, bar{X: left + i*slot + 2, Y: top + plot - h, W: slot - 4, H: h, N: n,
			Label: fmt.Sprintf("%s–%s IST: %d payouts", start.Format("15:04"), start.Add(time.Hour).Format("15:04"), n)})
		if i%3 == 0 {
			ch.Ticks = append(ch.Ticks, tick{X: left + i*slot + 2, Label: start.Format("15h")})
		}
	}
	return ch
}
