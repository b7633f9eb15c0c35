package rates

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// CoinDCX's public market data API (https://docs.coindcx.com/#ticker,
// "Public endpoints" → "Ticker"): GET https://api.coindcx.com/exchange/ticker,
// no key, at most 10 calls per second to api.coindcx.com in aggregate,
// answering a list with one entry per market:
//
//	[{"market": "REQBTC", "change_24_hour": "-1.621", "high": "0.00002799",
//	  "low": "0.00002626", "volume": "14.10", "last_price": "0.00002663",
//	  "bid": "0.00002663", "ask": "0.00002669", "timestamp": 1524211224}]
//
// "bid - Highest bid offer in the orderbook", "timestamp - Time when this
// ticker was generated" ("A ticker is generated once every second"). Prices
// are decimal strings; the documented timestamp has 10 digits, so seconds
// (a 13-digit value is read as milliseconds, as for WazirX). The market for
// USDT/INR is "USDTINR".
//
// There is no per-market query: every poll fetches every market, so the
// list is scanned for ours, and only our entry is held to the strict price
// rules. A malformed entry for some other market does not refuse the
// answer.

// CoinDCXBaseURL is CoinDCX's public REST API.
const CoinDCXBaseURL = "https://api.coindcx.com"

// coindcxMaxBody bounds a CoinDCX answer: the list of every market is a few
// hundred kilobytes; eight mebibytes leaves room to grow.
const coindcxMaxBody = 8 << 20

var coindcx = &exchange{
	name:    "coindcx",
	baseURL: CoinDCXBaseURL,
	symbol:  func(asset string) string { return strings.ToUpper(asset) + fiat },
	path:    func(string) string { return "/exchange/ticker" },
	maxBody: coindcxMaxBody,
	parse:   (*Ticker).parseCoinDCX,
}

// NewCoinDCX returns a Ticker following CoinDCX's public ticker (see
// CoinDCXBaseURL) for cfg.Asset/INR, filling in defaults as NewTicker does
// (BaseURL defaults to CoinDCXBaseURL, Name to "coindcx"). Like every
// Ticker it quotes the best bid (else the last price) and refuses a price
// older than MaxAge.
func NewCoinDCX(cfg TickerConfig) *Ticker { return newTicker(coindcx, cfg) }

// coindcxEntry is one market of the ticker list, undecoded: only our
// market's fields are parsed, so that another market's odd value cannot
// refuse the whole answer.
type coindcxEntry struct {
	Market    json.RawMessage `json:"market"`
	LastPrice json.RawMessage `json:"last_price"`
	Bid       json.RawMessage `json:"bid"`
	Timestamp json.RawMessage `json:"timestamp"`
}

// parseCoinDCX finds our market in a CoinDCX ticker list and picks its price
// and time.
func (t *Ticker) parseCoinDCX(body []byte, sent, received time.Time) (decimal.Decimal, time.Time, error) {
	var list []coindcxEntry
	if err := json.Unmarshal(body, &list); err != nil {
		return decimal.Decimal{}, time.Time{}, fmt.Errorf("response is not the documented ticker list: %w", err)
	}
	var (
		ours  *coindcxEntry
		count int
	)
	for i := range list {
		var m string
		if json.Unmarshal(list[i].Market, &m) != nil || !strings.EqualFold(m, t.symbol) {
			continue
		}
		count++
		ours = &list[i]
	}
	switch {
	case count == 0:
		return decimal.Decimal{}, time.Time{}, fmt.Errorf("response has no market %q (%d markets listed)", t.symbol, len(list))
	case count > 1:
		return decimal.Decimal{}, time.Time{}, fmt.Errorf("response lists market %q %d times", t.symbol, count)
	}
	var bid, last priceField
	if err := unmarshalOptional(ours.Bid, &bid); err != nil {
		return decimal.Decimal{}, time.Time{}, fmt.Errorf("%s bid: %w", t.symbol, err)
	}
	if err := unmarshalOptional(ours.LastPrice, &last); err != nil {
		return decimal.Decimal{}, time.Time{}, fmt.Errorf("%s last_price: %w", t.symbol, err)
	}
	price, ok := pickPrice(bid, last)
	if !ok {
		return decimal.Decimal{}, time.Time{}, fmt.Errorf("%s has no positive bid or last_price", t.symbol)
	}
	var ts json.Number
	if len(ours.Timestamp) > 0 && string(ours.Timestamp) != "null" {
		if err := json.Unmarshal(ours.Timestamp, &ts); err != nil {
			return decimal.Decimal{}, time.Time{}, fmt.Errorf("response has a malformed \"timestamp\": %s", truncate(string(ours.Timestamp)))
		}
	}
	at, err := tickerTime("timestamp", ts, sent, received)
	if err != nil {
		return decimal.Decimal{}, time.Time{}, err
	}
	return price, at, nil
}

// unmarshalOptional decodes a member that may be absent.
func unmarshalOptional(raw json.RawMessage, p *priceField) error {
	if len(raw) == 0 {
		return nil
	}
	return p.UnmarshalJSON(raw)
}
