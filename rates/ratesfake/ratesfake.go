// Package ratesfake fakes the public market-data APIs that package rates
// follows, serving the documented response shapes on 127.0.0.1 with prices,
// timestamps and failures a test sets:
//
//   - WazirX: GET /sapi/v1/ticker/24hr?symbol=usdtinr answers one object
//     {"symbol", "baseAsset", "quoteAsset", "openPrice", "lowPrice",
//     "highPrice", "lastPrice", "volume", "bidPrice", "askPrice", "at"},
//     prices as strings, "at" in milliseconds (https://docs.wazirx.com/,
//     "24hr ticker price change statistics"); an unknown symbol is a 400
//     with {"code", "message"}.
//   - CoinDCX: GET /exchange/ticker answers a list of every market
//     [{"market", "change_24_hour", "high", "low", "volume", "last_price",
//     "bid", "ask", "timestamp"}], prices as strings, "timestamp" in
//     seconds (https://docs.coindcx.com/#ticker); the list always holds the
//     documentation's REQBTC example besides the markets set.
//
// Timestamps come from the clock the fake is given, less a settable lag, so
// a test decides how old a price looks without sleeping. No network beyond
// the loopback interface is used.
package ratesfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/offramp/offramp"
)

// Market is a fake of one exchange's public ticker. Its setters are safe to
// call while it serves.
type Market struct {
	kind  string // "wazirx" or "coindcx"
	clock offramp.Clock
	srv   *httptest.Server

	mu     sync.Mutex
	prices map[string]quote // upper-case asset → quote
	lag    time.Duration
	status int    // non-zero: answer this status
	body   string // with a status: its body; alone: served verbatim with 200
	raw    bool
	hits   int
}

type quote struct{ bid, last string }

// NewWazirX returns an unstarted fake of WazirX's ticker stamping prices
// with clock's time.
func NewWazirX(clock offramp.Clock) *Market { return newMarket("wazirx", clock) }

// NewCoinDCX returns an unstarted fake of CoinDCX's ticker stamping prices
// with clock's time.
func NewCoinDCX(clock offramp.Clock) *Market { return newMarket("coindcx", clock) }

func newMarket(kind string, clock offramp.Clock) *Market {
	if clock == nil {
		clock = offramp.SystemClock{}
	}
	m := &Market{kind: kind, clock: clock, prices: map[string]quote{}}
	m.srv = httptest.NewUnstartedServer(http.HandlerFunc(m.serve))
	return m
}

// Start serves plain HTTP on 127.0.0.1 and returns the base URL
// ("http://127.0.0.1:port"), which rates accepts for a loopback host.
func (m *Market) Start() string {
	m.srv.Start()
	return m.srv.URL
}

// StartTLS serves HTTPS on 127.0.0.1 with a test certificate and returns
// the base URL; Client trusts it.
func (m *Market) StartTLS() string {
	m.srv.StartTLS()
	return m.srv.URL
}

// URL is the base URL once started.
func (m *Market) URL() string { return m.srv.URL }

// Client is an HTTP client that trusts the fake's certificate.
func (m *Market) Client() *http.Client { return m.srv.Client() }

// Close stops the fake.
func (m *Market) Close() { m.srv.Close() }

// SetPrice sets asset/INR's best bid and last price, as the decimal text
// the exchange would send ("88.41"). An empty string leaves the member out.
func (m *Market) SetPrice(asset, bid, last string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prices[strings.ToUpper(asset)] = quote{bid, last}
}

// RemovePrice stops listing asset/INR.
func (m *Market) RemovePrice(asset string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.prices, strings.ToUpper(asset))
}

// SetLag makes every timestamp the clock's time less d: the exchange's
// ticker is d old when served.
func (m *Market) SetLag(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lag = d
}

// Fail makes every request answer status with an error body in the
// exchange's style; Fail(0) recovers.
func (m *Market) Fail(status int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status, m.raw = status, false
	m.body = fmt.Sprintf(`{"code":%d,"message":"fake failure"}`, status)
}

// SetBody makes every request answer 200 with body verbatim (to test
// malformed answers); SetBody("") goes back to the documented shape.
func (m *Market) SetBody(body string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status, m.body, m.raw = 0, body, body != ""
}

// Requests is how many requests the fake has received.
func (m *Market) Requests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hits
}

func (m *Market) serve(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	m.hits++
	status, body, raw, lag := m.status, m.body, m.raw, m.lag
	prices := make(map[string]quote, len(m.prices))
	for k, v := range m.prices {
		prices[k] = v
	}
	m.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method != http.MethodGet:
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"code": 405, "message": "method not allowed"})
		return
	case status != 0:
		w.WriteHeader(status)
		w.Write([]byte(body))
		return
	case raw:
		w.Write([]byte(body))
		return
	}
	at := m.clock.Now().Add(-lag)
	switch m.kind {
	case "wazirx":
		m.serveWazirX(w, r, prices, at)
	default:
		m.serveCoinDCX(w, r, prices, at)
	}
}

func (m *Market) serveWazirX(w http.ResponseWriter, r *http.Request, prices map[string]quote, at time.Time) {
	if r.URL.Path != "/sapi/v1/ticker/24hr" {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 404, "message": "Not found"})
		return
	}
	symbol := strings.ToLower(r.URL.Query().Get("symbol"))
	asset, ok := strings.CutSuffix(symbol, "inr")
	q, listed := prices[strings.ToUpper(asset)]
	if !ok || !listed {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 1121, "message": "Invalid symbol."})
		return
	}
	obj := map[string]any{
		"symbol": symbol, "baseAsset": asset, "quoteAsset": "inr",
		"openPrice": "88.1", "lowPrice": "87.9", "highPrice": "88.9", "volume": "1523412.12",
		"askPrice": "88.6", "at": at.UnixMilli(),
	}
	if q.bid != "" {
		obj["bidPrice"] = q.bid
	}
	if q.last != "" {
		obj["lastPrice"] = q.last
	}
	writeJSON(w, http.StatusOK, obj)
}

func (m *Market) serveCoinDCX(w http.ResponseWriter, r *http.Request, prices map[string]quote, at time.Time) {
	if r.URL.Path != "/exchange/ticker" {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 404, "message": "Not found"})
		return
	}
	// The documentation's own example entry, so that a client must find
	// its market among others.
	list := []map[string]any{{
		"market": "REQBTC", "change_24_hour": "-1.621", "high": "0.00002799", "low": "0.00002626",
		"volume": "14.10", "last_price": "0.00002663", "bid": "0.00002663", "ask": "0.00002669",
		"timestamp": at.Unix(),
	}}
	assets := make([]string, 0, len(prices))
	for a := range prices {
		assets = append(assets, a)
	}
	sort.Strings(assets)
	for _, a := range assets {
		q := prices[a]
		e := map[string]any{
			"market": a + "INR", "change_24_hour": "0.12", "high": "88.9", "low": "87.9",
			"volume": "2034512.5", "ask": "88.6", "timestamp": at.Unix(),
		}
		if q.bid != "" {
			e["bid"] = q.bid
		}
		if q.last != "" {
			e["last_price"] = q.last
		}
		list = append(list, e)
	}
	writeJSON(w, http.StatusOK, list)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	w.Write(b)
}
