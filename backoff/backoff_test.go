package backoff

import (
	"testing"
	"time"
)

func TestNominalDoublesToMax(t *testing.T) {
	p := Policy{Base: time.Second, Max: 5 * time.Minute}
	// 1 s, 2 s, 4 s, ... 256 s, then the 300 s cap.
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300}
	for i, w := range want {
		got, ok := p.Nominal(i + 1)
		if !ok || got != w*time.Second {
			t.Errorf("Nominal(%d) = %v, %v; want %v", i+1, got, ok, w*time.Second)
		}
	}
	if got, _ := p.Nominal(10_000); got != 5*time.Minute {
		t.Errorf("Nominal(10000) = %v, want the cap", got)
	}
	if got, _ := (Policy{Base: time.Hour}).Nominal(200); got <= 0 {
		t.Errorf("uncapped doubling overflowed to %v", got)
	}
}

func TestSteps(t *testing.T) {
	p := Policy{Steps: []time.Duration{5 * time.Second, time.Minute}}
	if d, ok := p.Nominal(2); !ok || d != time.Minute {
		t.Errorf("Nominal(2) = %v, %v", d, ok)
	}
	if _, ok := p.Nominal(3); ok {
		t.Error("a third attempt after two steps is allowed")
	}
	if _, ok := p.Delay(3); ok {
		t.Error("Delay past the steps is allowed")
	}
}

func TestJitterBounds(t *testing.T) {
	p := Policy{Base: 10 * time.Second, Jitter: 0.1}
	for _, c := range []struct {
		u    float64
		want time.Duration
	}{{0, 9 * time.Second}, {0.5, 10 * time.Second}, {0.999999, 10*time.Second + 999998*time.Microsecond}} {
		got, _ := p.DelayAt(1, c.u)
		if got.Round(time.Microsecond) != c.want {
			t.Errorf("DelayAt(1, %v) = %v, want %v", c.u, got, c.want)
		}
	}
	for range 1000 {
		d, _ := p.Delay(1)
		if d < 9*time.Second || d >= 11*time.Second {
			t.Fatalf("Delay(1) = %v outside ±10 %%", d)
		}
	}
}
