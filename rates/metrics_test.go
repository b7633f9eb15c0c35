package rates

import (
	"context"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gather reads metric name's value for each source label.
func gather(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var source string
			for _, l := range m.GetLabel() {
				if l.GetName() == "source" {
					source = l.GetValue()
				}
			}
			switch {
			case m.GetGauge() != nil:
				out[source] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[source] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

func wantMetric(t *testing.T, reg *prometheus.Registry, name string, want map[string]float64) {
	t.Helper()
	got := gather(t, reg, name)
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", name, got, want)
		return
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s{source=%q} = %v, want %v", name, k, got[k], w)
		}
	}
}

func TestMetrics(t *testing.T) {
	f := newMarketsFixture(t, Config{})
	const (
		age  = "offramp_rate_source_price_age_seconds"
		up   = "offramp_rate_source_up"
		errs = "offramp_rate_source_errors_total"
	)
	inf := math.Inf(1)

	// Before any poll: no price (age +Inf), not up, no errors.
	wantMetric(t, f.reg, age, map[string]float64{"wazirx": inf, "coindcx": inf})
	wantMetric(t, f.reg, up, map[string]float64{"wazirx": 0, "coindcx": 0})
	wantMetric(t, f.reg, errs, map[string]float64{"wazirx": 0, "coindcx": 0})

	// WazirX answers with a ticker 2 s old; CoinDCX is down.
	f.wazirx.SetPrice("USDT", "88.41", "")
	f.wazirx.SetLag(2 * time.Second)
	f.coindcx.Fail(http.StatusServiceUnavailable)
	f.rates.Check(context.Background())
	wantMetric(t, f.reg, age, map[string]float64{"wazirx": 2, "coindcx": inf})
	wantMetric(t, f.reg, up, map[string]float64{"wazirx": 1, "coindcx": 0})
	wantMetric(t, f.reg, errs, map[string]float64{"wazirx": 0, "coindcx": 1})

	// The age grows with the clock between polls.
	f.clock.Advance(30 * time.Second)
	wantMetric(t, f.reg, age, map[string]float64{"wazirx": 32, "coindcx": inf})

	// CoinDCX fails again: counted. WazirX is polled again: 2 s old again.
	f.rates.Check(context.Background())
	wantMetric(t, f.reg, age, map[string]float64{"wazirx": 2, "coindcx": inf})
	wantMetric(t, f.reg, errs, map[string]float64{"wazirx": 0, "coindcx": 2})

	// CoinDCX recovers; WazirX answers garbage once.
	f.coindcx.Fail(0)
	f.coindcx.SetPrice("USDT", "88.46", "")
	f.wazirx.SetBody("<html>maintenance</html>")
	f.clock.Advance(500 * time.Millisecond)
	f.rates.Check(context.Background())
	// CoinDCX's timestamp is in whole seconds: 0.5 s old. WazirX keeps its
	// last good price, now 2.5 s old, and counts the failure.
	wantMetric(t, f.reg, age, map[string]float64{"wazirx": 2.5, "coindcx": 0.5})
	wantMetric(t, f.reg, up, map[string]float64{"wazirx": 0, "coindcx": 1})
	wantMetric(t, f.reg, errs, map[string]float64{"wazirx": 1, "coindcx": 2})

	// Registering the same metrics twice is an error, not a panic.
	if _, err := FromConfig(Config{Sources: []string{"wazirx"}, Registerer: f.reg}); err == nil {
		t.Error("second registration: nil error")
	}
}
