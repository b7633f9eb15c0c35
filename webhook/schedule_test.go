package webhook_test

import (
	"testing"
	"time"

	"github.com/offramp/offramp/webhook"
)

func TestScheduleTotal(t *testing.T) {
	var total time.Duration
	for _, d := range webhook.Schedule {
		total += d
	}
	if total < 72*time.Hour || total > 78*time.Hour {
		t.Fatalf("schedule spans %v, want between 72 h and 78 h", total)
	}
	// The package documentation's table.
	if want := 75*time.Hour + 42*time.Minute + 35*time.Second; total != want || len(webhook.Schedule) != 12 {
		t.Fatalf("schedule spans %v in %d delays, the documented table says %v in 12", total, len(webhook.Schedule), want)
	}
	for i := 1; i < len(webhook.Schedule); i++ {
		if webhook.Schedule[i] < webhook.Schedule[i-1] {
			t.Errorf("Schedule[%d] = %v is shorter than the delay before it", i, webhook.Schedule[i])
		}
	}
}

func TestNextDelay(t *testing.T) {
	if d, ok := webhook.NextDelay(0); d != 0 || !ok {
		t.Errorf("NextDelay(0) = %v, %v; want 0, true (first attempt is immediate)", d, ok)
	}
	if _, ok := webhook.NextDelay(len(webhook.Schedule) + 1); ok {
		t.Errorf("NextDelay(%d) still schedules an attempt", len(webhook.Schedule)+1)
	}
	var total, minTotal, maxTotal time.Duration
	for attempt := 1; attempt <= len(webhook.Schedule); attempt++ {
		base := webhook.Schedule[attempt-1]
		lo, hi := base-base/10, base+base/10
		minSeen, maxSeen := hi, lo
		for i := 0; i < 2000; i++ {
			d, ok := webhook.NextDelay(attempt)
			if !ok {
				t.Fatalf("NextDelay(%d) says the schedule is exhausted", attempt)
			}
			if d < lo || d > hi {
				t.Fatalf("NextDelay(%d) = %v, outside [%v, %v]", attempt, d, lo, hi)
			}
			minSeen, maxSeen = min(minSeen, d), max(maxSeen, d)
			if i == 0 {
				total += d
			}
		}
		// Jitter is applied and spreads over both sides of the base.
		if minSeen >= base-base/20 || maxSeen <= base+base/20 {
			t.Errorf("NextDelay(%d) ranged over [%v, %v] in 2000 draws; want roughly [%v, %v]", attempt, minSeen, maxSeen, lo, hi)
		}
		minTotal += lo
		maxTotal += hi
	}
	// Row 15: the jittered schedule stays within ±10 % of the plan.
	if total < minTotal || total > maxTotal {
		t.Errorf("jittered total %v outside [%v, %v]", total, minTotal, maxTotal)
	}
}
