package clock

import (
	"testing"
	"time"
)

func TestFake(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("IST", 19800))
	f := NewFake(start)
	if got := f.Now(); !got.Equal(start) || got.Location() != time.UTC {
		t.Fatalf("Now() = %v, want %v in UTC", got, start)
	}
	f.Advance(90 * time.Second)
	if got := f.Now().Sub(start); got != 90*time.Second {
		t.Fatalf("after Advance: moved %v, want 90s", got)
	}
	later := start.Add(time.Hour)
	f.Set(later)
	if !f.Now().Equal(later) {
		t.Fatalf("after Set: %v, want %v", f.Now(), later)
	}
}
