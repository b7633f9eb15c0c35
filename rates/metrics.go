package rates

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offramp/offramp"
)

// sourceMetrics reports each price source at scrape time, from the tickers'
// own state, so the numbers never drift from what Rate decides on:
//
//	offramp_rate_source_price_age_seconds{source}  age of the last good price
//	                                               (+Inf before the first)
//	offramp_rate_source_up{source}                 1 if the last poll succeeded
//	offramp_rate_source_errors_total{source}       failed polls
//
// The age is measured on the injected clock from the exchange's own
// timestamp, exactly as Rate measures staleness; +Inf before the first
// price makes an alert such as "age > 60" fire for a source that never
// answered.
type sourceMetrics struct {
	tickers []*Ticker
	clock   offramp.Clock
	age     *prometheus.Desc
	up      *prometheus.Desc
	errors  *prometheus.Desc
}

func newSourceMetrics(tickers []*Ticker, clock offramp.Clock) *sourceMetrics {
	return &sourceMetrics{
		tickers: tickers,
		clock:   clock,
		age: prometheus.NewDesc("offramp_rate_source_price_age_seconds",
			"Age of the rate source's last good price by the exchange's timestamp (+Inf before the first); prices older than the maximum age are not quoted.",
			[]string{"source"}, nil),
		up: prometheus.NewDesc("offramp_rate_source_up",
			"1 if the rate source's last poll succeeded, 0 if it failed or none has ended yet.",
			[]string{"source"}, nil),
		errors: prometheus.NewDesc("offramp_rate_source_errors_total",
			"Failed polls of the rate source (transport errors, bad statuses, answers that are not the documented ticker).",
			[]string{"source"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *sourceMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.age
	ch <- m.up
	ch <- m.errors
}

// Collect implements prometheus.Collector.
func (m *sourceMetrics) Collect(ch chan<- prometheus.Metric) {
	now := m.clock.Now()
	for _, t := range m.tickers {
		s := t.Status()
		age := math.Inf(1)
		if !s.At.IsZero() {
			age = max(now.Sub(s.At).Seconds(), 0)
		}
		up := 0.0
		if s.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(m.age, prometheus.GaugeValue, age, s.Name)
		ch <- prometheus.MustNewConstMetric(m.up, prometheus.GaugeValue, up, s.Name)
		ch <- prometheus.MustNewConstMetric(m.errors, prometheus.CounterValue, float64(s.Errors), s.Name)
	}
}
