package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/console"
)

// withHealth is w with a second console over the same store, answering
// health from fn, on a listener of its own.
func (w *world) withHealth(fn func(context.Context) []console.ProviderHealth) *world {
	w.t.Helper()
	con := console.New(console.Config{Store: w.store, Service: w.svc, Clock: w.clk,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Health: fn})
	srv := httptest.NewServer(con.Handler())
	w.t.Cleanup(srv.Close)
	other := *w
	other.srv = srv
	return &other
}

// providerRowOf is the overview's row for one provider.
func providerRowOf(t *testing.T, body, name string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<tr data-provider="` + regexp.QuoteMeta(name) + `">.*?</tr>`)
	row := re.FindString(body)
	if row == "" {
		t.Fatalf("the overview has no row for provider %q", name)
	}
	return row
}

func TestOverviewProviders(t *testing.T) {
	t.Parallel()
	base := setup(t)

	// Without a Health function the overview says so.
	b, _ := base.as(offramp.RoleViewer)
	if a := b.get("/"); a.Status != http.StatusOK || !strings.Contains(a.Body, "Provider health: not reported") {
		t.Fatalf("overview without health: %d\n%s", a.Status, a.Body)
	}

	var (
		mu    sync.Mutex
		calls int
		rows  []console.ProviderHealth
	)
	set := func(r ...console.ProviderHealth) {
		mu.Lock()
		defer mu.Unlock()
		rows = r
	}
	w := base.withHealth(func(context.Context) []console.ProviderHealth {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return rows
	})
	checked := w.clk.Now().Add(-40 * time.Second)
	set(
		console.ProviderHealth{Name: "razorpayx payouts", Kind: console.KindRail, OK: true, Detail: "answered", PriceAge: -1, CheckedAt: checked},
		console.ProviderHealth{Name: "wazirx (api.wazirx.com)", Kind: console.KindRates, OK: true, Detail: "USDT/INR 88.41",
			PriceAge: 95 * time.Second, CheckedAt: checked},
		console.ProviderHealth{Name: "coindcx (api.coindcx.com)", Kind: console.KindRates, OK: false, Detail: "not polled yet", PriceAge: -1},
		console.ProviderHealth{Name: "cashfree verification", Kind: console.KindKYC, OK: false,
			Detail: "answered 401 <Unauthorized>", PriceAge: -1, CheckedAt: checked},
	)
	b, _ = w.as(offramp.RoleViewer)
	a := b.get("/")
	if a.Status != http.StatusOK || strings.Contains(a.Body, "not reported") || !strings.Contains(a.Body, "2 failing") {
		t.Fatalf("overview with health: %d\n%s", a.Status, a.Body)
	}
	rail := providerRowOf(t, a.Body, "razorpayx payouts")
	if !strings.Contains(rail, ">OK<") || !strings.Contains(rail, ">rail<") || !strings.Contains(rail, "40s ago") ||
		!strings.Contains(rail, `<td class="price-age">—</td>`) {
		t.Errorf("rail row:\n%s", rail)
	}
	wazirx := providerRowOf(t, a.Body, "wazirx (api.wazirx.com)")
	if !strings.Contains(wazirx, ">OK<") || !strings.Contains(wazirx, `<td class="price-age">1m 35s</td>`) || !strings.Contains(wazirx, "USDT/INR 88.41") {
		t.Errorf("rate source row:\n%s", wazirx)
	}
	coindcx := providerRowOf(t, a.Body, "coindcx (api.coindcx.com)")
	if !strings.Contains(coindcx, ">failing<") || !strings.Contains(coindcx, "no price yet") || !strings.Contains(coindcx, "not checked yet") {
		t.Errorf("unpolled rate source row:\n%s", coindcx)
	}
	kyc := providerRowOf(t, a.Body, "cashfree verification")
	if !strings.Contains(kyc, ">failing<") || !strings.Contains(kyc, "answered 401 &lt;Unauthorized&gt;") {
		t.Errorf("failing verifier row (escaped detail):\n%s", kyc)
	}

	// The page shows what the function says now: the rail fails, the
	// clock moved on.
	w.clk.Advance(time.Minute)
	set(console.ProviderHealth{Name: "razorpayx payouts", Kind: console.KindRail, OK: false, Detail: "connection refused", PriceAge: -1, CheckedAt: checked})
	a = b.get("/")
	rail = providerRowOf(t, a.Body, "razorpayx payouts")
	if !strings.Contains(rail, ">failing<") || !strings.Contains(rail, "connection refused") || !strings.Contains(rail, "1m 40s ago") {
		t.Errorf("failing rail row:\n%s", rail)
	}
	mu.Lock()
	n := calls
	mu.Unlock()
	if n < 2 {
		t.Errorf("Health called %d times for two overviews", n)
	}
}
