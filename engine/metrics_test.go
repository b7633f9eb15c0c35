package engine_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/offramp/offramp/engine"
	"github.com/offramp/offramp/rail/fakebank"
)

// The metrics an operator pages on: payouts by status and phase, the
// oldest IN_REVIEW, the oldest pending transfer, bank calls by outcome.
func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	h, bank := bankHarness(t, fakebank.Options{}, engine.Config{Registerer: reg, SettlementDeadline: time.Hour})
	pending, stuck, paid := h.newPayout("9001"), h.newPayout("9002"), h.newPayout("9003")
	bank.ScriptReference(pending.RailReference, fakebank.Script{Fate: fakebank.Pay(10 * time.Hour)})
	bank.ScriptReference(stuck.RailReference, fakebank.Script{Submits: []fakebank.SubmitFault{fakebank.ServerError}, InquiriesThen: fakebank.InquireError})
	_ = paid
	h.runFor(10*time.Minute, time.Minute)

	got := gather(t, reg)
	want := map[string]float64{
		`offramp_payouts{phase="SUBMITTED",status="PROCESSING"}`:    1,
		`offramp_payouts{phase="MANUAL_REVIEW",status="IN_REVIEW"}`: 1,
		`offramp_payouts{phase="PAID",status="SUCCESS"}`:            1,
		`offramp_payouts{phase="QUEUED",status="PROCESSING"}`:       0,
		`offramp_payout_oldest_in_review_age_seconds`:               600,
		`offramp_payout_oldest_pending_transfer_age_seconds`:        600,
		`offramp_bank_calls_total{op="submit",outcome="error"}`:     1,
		`offramp_bank_calls_total{op="inquire",outcome="error"}`:    float64(engine.DefaultMaxInquiries),
		`offramp_bank_calls_total{op="submit",outcome="ACCEPTED"}`:  2,
		`offramp_payout_metrics_up`:                                 1,
		`offramp_bank_call_duration_seconds_count{op="submit"}`:     3,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}

// gather flattens a registry into "name{labels}" → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			if len(m.GetLabel()) > 0 {
				name += "{"
				for i, l := range m.GetLabel() {
					if i > 0 {
						name += ","
					}
					name += l.GetName() + `="` + l.GetValue() + `"`
				}
				name += "}"
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[name] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[name] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[mf.GetName()+"_count"+name[len(mf.GetName()):]] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}
