package engine

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offramp/offramp"
)

// metrics are what an operator pages on: bank call latency and outcomes,
// counted as calls happen, and a census of payouts (by status and phase,
// the oldest IN_REVIEW, the oldest transfer pending at the bank) read from
// the database at scrape time, so every instance reports the same truth.
type metrics struct {
	e        *Engine
	calls    *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	payouts  *prometheus.Desc
	review   *prometheus.Desc
	pending  *prometheus.Desc
	scrapeOK *prometheus.Desc
}

func newMetrics(e *Engine, reg prometheus.Registerer) *metrics {
	m := &metrics{
		e: e,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offramp_bank_calls_total",
			Help: "Calls to the bank rail by operation (submit, inquire) and outcome (the bank's status, not_sent, or error).",
		}, []string{"op", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "offramp_bank_call_duration_seconds",
			Help:    "Latency of calls to the bank rail.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"op"}),
		payouts: prometheus.NewDesc("offramp_payouts", "Payouts by wire status and engine phase.", []string{"status", "phase"}, nil),
		review: prometheus.NewDesc("offramp_payout_oldest_in_review_age_seconds",
			"Age of the oldest IN_REVIEW payout (0 when there is none): an operator must decide it.", nil, nil),
		pending: prometheus.NewDesc("offramp_payout_oldest_pending_transfer_age_seconds",
			"Time since submission of the oldest transfer the bank accepted and has not settled (0 when there is none).", nil, nil),
		scrapeOK: prometheus.NewDesc("offramp_payout_metrics_up", "1 if the payout census could be read at this scrape.", nil, nil),
	}
	if reg != nil {
		reg.MustRegister(m.calls, m.latency, m)
	}
	return m
}

func (m *metrics) observeCall(op string, res offramp.RailResult, err error, d time.Duration) {
	outcome := string(res.Status)
	switch {
	case err != nil && isNotSent(err):
		outcome = "not_sent"
	case err != nil:
		outcome = "error"
	}
	m.calls.WithLabelValues(op, outcome).Inc()
	m.latency.WithLabelValues(op).Observe(d.Seconds())
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.payouts
	ch <- m.review
	ch <- m.pending
	ch <- m.scrapeOK
}

// Collect implements prometheus.Collector: one read of the census.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var st offramp.PayoutStats
	err := m.e.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		st, err = tx.PayoutStats(ctx)
		return err
	})
	if err != nil {
		ch <- prometheus.MustNewConstMetric(m.scrapeOK, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(m.scrapeOK, prometheus.GaugeValue, 1)
	for _, c := range st.Counts {
		ch <- prometheus.MustNewConstMetric(m.payouts, prometheus.GaugeValue, float64(c.N), string(c.Status), string(c.Phase))
	}
	now := m.e.clock.Now()
	age := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return max(now.Sub(t).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(m.review, prometheus.GaugeValue, age(st.OldestReview))
	ch <- prometheus.MustNewConstMetric(m.pending, prometheus.GaugeValue, age(st.OldestPending))
}
