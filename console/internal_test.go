package console

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestFormatINR(t *testing.T) {
	for in, want := range map[string]string{
		"0": "₹0.00", "5": "₹5.00", "999.5": "₹999.50", "1000": "₹1,000.00", "4369.4": "₹4,369.40",
		"100000": "₹1,00,000.00", "1234567.89": "₹12,34,567.89", "123456789.01": "₹12,34,56,789.01", "-2500": "−₹2,500.00",
	} {
		if got := formatINR(decimal.RequireFromString(in)); got != want {
			t.Errorf("formatINR(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestLockoutFor(t *testing.T) {
	for n, want := range map[int]time.Duration{5: time.Minute, 6: 2 * time.Minute, 7: 4 * time.Minute, 11: time.Hour, 40: time.Hour} {
		if got := lockoutFor(n); got != want {
			t.Errorf("lockoutFor(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/payouts?q=1": "/payouts?q=1", "//evil.example": "/", "/\\evil.example": "/", "https://evil.example": "/",
		"payouts": "/", "/a\r\nSet-Cookie: x": "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{"ref-1": "ref-1", "=HYPERLINK(1)": "'=HYPERLINK(1)", "+1": "'+1", "-1": "'-1", "@x": "'@x", "": ""} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHourChart(t *testing.T) {
	var counts [24]int
	counts[0], counts[23], counts[10] = 4, 1, 2
	ch := hourChart(time.Date(2026, 11, 23, 5, 30, 0, 0, time.UTC), counts)
	if ch.Max != 4 || ch.Total != 7 || len(ch.Bars) != 24 || len(ch.Ticks) != 8 {
		t.Fatalf("chart: max %d total %d bars %d ticks %d", ch.Max, ch.Total, len(ch.Bars), len(ch.Ticks))
	}
	if ch.Bars[0].H != 140 || ch.Bars[10].H != 70 || ch.Bars[23].H != 35 || ch.Bars[1].H != 0 {
		t.Fatalf("heights: %d %d %d %d", ch.Bars[0].H, ch.Bars[10].H, ch.Bars[23].H, ch.Bars[1].H)
	}
	if ch.Bars[0].Label != "11:00–12:00 IST: 4 payouts" {
		t.Fatalf("label %q", ch.Bars[0].Label)
	}
}
