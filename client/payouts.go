package client

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Payout statuses.
const (
	StatusProcessing = "PROCESSING"
	StatusSuccess    = "SUCCESS"
	StatusFailed     = "FAILED"
	StatusRefunded   = "REFUNDED"
	StatusInReview   = "IN_REVIEW"
)

// PayoutConfiguration is what payouts support. Fiats, assets and payment
// methods are upper-cased ("INR", "USDT", "IMPS"), as the other calls take
// them; networks are as the server names them ("tron", "eth"...).
type PayoutConfiguration struct {
	SupportedFiats          []string `json:"supported_fiats"`
	SupportedAssets         []string `json:"supported_assets"`
	SupportedNetworks       []string `json:"supported_networks"`
	SupportedPaymentMethods []string `json:"supported_payment_methods"`
	// CoinLimits bounds a quotation's sending amount per asset ("USDT"),
	// in units of the asset.
	CoinLimits map[string]CoinLimit `json:"coin_limits"`
	// RequiredRiskParameters are the RiskParameters a quotation should
	// carry (ip_address, device_id...).
	RequiredRiskParameters []string `json:"required_risk_parameters"`
}

// CoinLimit is an asset's sending amount range, overall and per payment
// method ("IMPS").
type CoinLimit struct {
	Min       decimal.Decimal        `json:"min"`
	Max       decimal.Decimal        `json:"max"`
	PerMethod map[string]MethodLimit `json:"per_method,omitempty"`
}

// MethodLimit is an asset's sending amount range for one payment method.
type MethodLimit struct {
	Min decimal.Decimal `json:"min"`
	Max decimal.Decimal `json:"max"`
}

// UnmarshalJSON reads the configuration as the API sends it: the flat shape
// of the integration guide ({"coin_limits": {"usdt": {"min", "max", "imps":
// {"min", "max"}}}}), falling back to the fiat-keyed block ("inr") of
// DollarPe's India guide for anything the flat shape lacks.
func (p *PayoutConfiguration) UnmarshalJSON(b []byte) error {
	type block struct {
		Fiats      []string                              `json:"supported_fiats"`
		Assets     []string                              `json:"supported_assets"`
		Networks   []string                              `json:"supported_networks"`
		Methods    []string                              `json:"supported_payment_methods"`
		CoinLimits map[string]map[string]json.RawMessage `json:"coin_limits"`
		Risk       []string                              `json:"required_risk_parameters"`
	}
	var w struct {
		block
		INR *block `json:"inr"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if in := w.INR; in != nil {
		if len(w.Fiats) == 0 {
			w.Fiats = []string{"INR"}
		}
		w.Assets = cmpOr(w.Assets, in.Assets)
		w.Networks = cmpOr(w.Networks, in.Networks)
		w.Methods = cmpOr(w.Methods, in.Methods)
		w.Risk = cmpOr(w.Risk, in.Risk)
		if len(w.CoinLimits) == 0 {
			w.CoinLimits = in.CoinLimits
		}
	}
	*p = PayoutConfiguration{
		SupportedFiats: upper(w.Fiats), SupportedAssets: upper(w.Assets), SupportedNetworks: w.Networks,
		SupportedPaymentMethods: upper(w.Methods), RequiredRiskParameters: w.Risk,
	}
	if w.CoinLimits != nil {
		p.CoinLimits = make(map[string]CoinLimit, len(w.CoinLimits))
	}
	for asset, fields := range w.CoinLimits {
		if slices.ContainsFunc(w.Fiats, func(f string) bool { return strings.EqualFold(f, asset) }) {
			// DollarPe's OpenAPI layout, beside the assets
			// (coin_limits.inr.usdt.bank_transfer): the same limits.
			continue
		}
		var l CoinLimit
		for k, v := range fields {
			var err error
			switch strings.ToLower(k) {
			case "min":
				err = json.Unmarshal(v, &l.Min)
			case "max":
				err = json.Unmarshal(v, &l.Max)
			case "per_method":
				var m map[string]MethodLimit
				err = json.Unmarshal(v, &m)
				for method, ml := range m {
					l.perMethod(method, ml)
				}
			default:
				var ml MethodLimit
				if err = json.Unmarshal(v, &ml); err == nil {
					l.perMethod(k, ml)
				}
			}
			if err != nil {
				return errors.New("coin_limits." + asset + "." + k + ": " + err.Error())
			}
		}
		// DollarPe's fiat-keyed block has only per-method ranges.
		if l.Min.IsZero() && l.Max.IsZero() && len(l.PerMethod) == 1 {
			for _, ml := range l.PerMethod {
				l.Min, l.Max = ml.Min, ml.Max
			}
		}
		p.CoinLimits[strings.ToUpper(asset)] = l
	}
	return nil
}

func (l *CoinLimit) perMethod(method string, ml MethodLimit) {
	if l.PerMethod == nil {
		l.PerMethod = map[string]MethodLimit{}
	}
	l.PerMethod[strings.ToUpper(method)] = ml
}

func cmpOr(a, b []string) []string {
	if len(a) > 0 {
		return a
	}
	return b
}

func upper(in []string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = strings.ToUpper(v)
	}
	return out
}

// PayoutConfiguration fetches the supported fiats, assets, networks,
// payment methods and per-asset limits.
func (c *Client) PayoutConfiguration(ctx context.Context) (*PayoutConfiguration, error) {
	var out PayoutConfiguration
	if err := c.do(ctx, call{method: http.MethodGet, path: "/pos/api/v1/payout/configuration", out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Rate is the price of one unit of Asset in Fiat. Amount echoes the amount
// asked about, zero if none was.
type Rate struct {
	Asset  string          `json:"asset"`
	Fiat   string          `json:"fiat"`
	Rate   decimal.Decimal `json:"rate"`
	Amount decimal.Decimal `json:"amount"`
}

// FetchRate fetches the current rate of asset ("USDT") in fiat ("INR").
// A non-zero amount is sent along and echoed.
func (c *Client) FetchRate(ctx context.Context, asset, fiat string, amount decimal.Decimal) (*Rate, error) {
	q := url.Values{"asset": {asset}, "fiat": {fiat}}
	if !amount.IsZero() {
		q.Set("amount", amount.String())
	}
	var out Rate
	if err := c.do(ctx, call{method: http.MethodGet, path: "/pos/api/v1/payout/fetch-rate", query: q, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// RiskParameters describe the customer's session, for AML screening.
type RiskParameters struct {
	IPAddress                  string `json:"ip_address"`
	DeviceID                   string `json:"device_id"`
	SuspiciousActivityReport   bool   `json:"suspicious_activity_report"`
	LawEnforcementAgencyReport bool   `json:"law_enforcement_agency_report"`
}

// QuotationRequest asks for a quotation: SendingAmount units of Asset
// ("USDT") paid out in Fiat ("INR") to a VERIFIED customer's VERIFIED bank
// account. PaymentMethod defaults to IMPS.
type QuotationRequest struct {
	Asset          string          `json:"asset"`
	Fiat           string          `json:"fiat"`
	SendingAmount  decimal.Decimal `json:"sending_amount"`
	CustomerID     string          `json:"customer_id"`
	BankID         string          `json:"bank_id"`
	PaymentMethod  string          `json:"payment_method,omitempty"`
	RiskParameters *RiskParameters `json:"risk_parameters,omitempty"`
}

// Fees is a payout's fee breakdown, in the fiat currency except the
// *Crypto fees. PlatformFee and PlatformGST are DollarPe's dollarpe_fee and
// dollarpe_gst. ReceivingAmount plus every deduction (fees, GST, TDS and
// RoundingAdjustment) is SendingAmount × Rate.
type Fees struct {
	ClientFeeFiat              decimal.Decimal `json:"client_fee_fiat"`
	ClientFeeCrypto            decimal.Decimal `json:"client_fee_crypto"`
	PlatformFee                decimal.Decimal `json:"dollarpe_fee"`
	PGFee                      decimal.Decimal `json:"pg_fee"`
	ClientGSTFiat              decimal.Decimal `json:"client_gst_fiat"`
	ClientGSTCrypto            decimal.Decimal `json:"client_gst_crypto"`
	PlatformGST                decimal.Decimal `json:"dollarpe_gst"`
	PGGST                      decimal.Decimal `json:"pg_gst"`
	TDS                        decimal.Decimal `json:"tds"`
	RoundingAdjustment         decimal.Decimal `json:"rounding_adjustment"`
	GrossEffectiveExchangeRate decimal.Decimal `json:"gross_effective_exchange_rate"`
}

// Quotation locks a rate until ExpiryTime. Status is UNLINKED, LINKED
// (OrderID is then the payout's id) or EXPIRED.
type Quotation struct {
	ID              string          `json:"id"`
	OrderID         string          `json:"order_id"`
	CustomerID      string          `json:"customer_id"`
	BankID          string          `json:"bank_id"`
	Status          string          `json:"status"`
	Asset           string          `json:"asset"`
	Fiat            string          `json:"fiat"`
	PaymentMethod   string          `json:"payment_method"`
	SendingAmount   decimal.Decimal `json:"sending_amount"`
	Rate            decimal.Decimal `json:"rate"`
	ReceivingAmount decimal.Decimal `json:"receiving_amount"`
	Fees            Fees            `json:"fees"`
	CreatedAt       time.Time       `json:"created_at"`
	ExpiryTime      time.Time       `json:"expiry_time"`
}

// UnmarshalJSON reads a quotation as the API sends it.
func (q *Quotation) UnmarshalJSON(b []byte) error {
	type plain Quotation
	w := struct {
		*plain
		CreatedAt  jsonTime `json:"created_at"`
		ExpiryTime jsonTime `json:"expiry_time"`
	}{plain: (*plain)(q)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	q.CreatedAt, q.ExpiryTime = w.CreatedAt.Time, w.ExpiryTime.Time
	return nil
}

// CreateQuotation quotes a payout and locks its rate (5 minutes by
// default). The amount is sent as a string, with its exact digits.
func (c *Client) CreateQuotation(ctx context.Context, r QuotationRequest) (*Quotation, error) {
	body := struct {
		Asset          string          `json:"asset"`
		Fiat           string          `json:"fiat"`
		SendingAmount  string          `json:"sending_amount"`
		CustomerID     string          `json:"customer_id"`
		BankID         string          `json:"bank_id"`
		PaymentMethod  string          `json:"payment_method,omitempty"`
		RiskParameters *RiskParameters `json:"risk_parameters,omitempty"`
	}{r.Asset, r.Fiat, r.SendingAmount.String(), r.CustomerID, r.BankID, r.PaymentMethod, r.RiskParameters}
	var out Quotation
	if err := c.do(ctx, call{method: http.MethodPost, path: "/pos/api/v1/payout/quotation", body: body, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetQuotation fetches a quotation.
func (c *Client) GetQuotation(ctx context.Context, id string) (*Quotation, error) {
	seg, err := pathSeg("quotation id", id)
	if err != nil {
		return nil, err
	}
	var out Quotation
	if err := c.do(ctx, call{method: http.MethodGet, path: "/pos/api/v1/payout/quotation/" + seg, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// InitiateRequest starts the payout of a quotation. ExchangeOrderID is the
// exchange's order for the crypto; ClientReferenceID, optional, is unique
// per organization.
type InitiateRequest struct {
	QuotationID       string `json:"quotation_id"`
	CustomerID        string `json:"customer_id"`
	ExchangeOrderID   string `json:"exchange_order_id"`
	ClientReferenceID string `json:"client_reference_id,omitempty"`
	// IdempotencyKey is sent as the Idempotency-Key header. Empty: the
	// SDK makes one (a random UUID) per call. Keep your own (say, derived
	// from the exchange order) to make retries across processes safe too.
	IdempotencyKey string `json:"-"`
}

// Payout is a payout. Status is PROCESSING, SUCCESS (with the bank's UTR),
// FAILED (with FailureReason), REFUNDED or IN_REVIEW; StatusDetail is the
// engine's step (QUEUED, SUBMITTING, SUBMITTED, OUTCOME_UNKNOWN, PAID,
// REJECTED, MANUAL_REVIEW, CRYPTO_RETURNED).
type Payout struct {
	ID                 string          `json:"id"`
	QuotationID        string          `json:"quotation_id"`
	CustomerID         string          `json:"customer_id"`
	ClientReferenceID  string          `json:"client_reference_id"`
	BankID             string          `json:"bank_id"`
	Asset              string          `json:"asset"`
	Fiat               string          `json:"fiat"`
	PaymentMethod      string          `json:"payment_method"`
	SendingAmount      decimal.Decimal `json:"sending_amount"`
	Rate               decimal.Decimal `json:"rate"`
	ReceivingAmount    decimal.Decimal `json:"receiving_amount"`
	Fees               Fees            `json:"fees"`
	ExchangeOrderID    string          `json:"exchange_order_id"`
	ExchangeTransferID string          `json:"exchange_transfer_id"`
	Status             string          `json:"status"`
	StatusDetail       string          `json:"status_detail"`
	// BankReference is the transfer's reference at the bank, to quote
	// when chasing a payout with it (an Offramp extension).
	BankReference string    `json:"bank_reference"`
	FailureReason string    `json:"failure_reason"`
	UTR           string    `json:"utr"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// UnmarshalJSON reads a payout as the API sends it: amounts as numbers or
// strings, the receiving amount under receiving_amount or DollarPe's
// receiveing_amount.
func (p *Payout) UnmarshalJSON(b []byte) error {
	type plain Payout
	w := struct {
		*plain
		Receiveing *decimal.Decimal `json:"receiveing_amount"`
		CreatedAt  jsonTime         `json:"created_at"`
		UpdatedAt  jsonTime         `json:"updated_at"`
	}{plain: (*plain)(p)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if p.ReceivingAmount.IsZero() && w.Receiveing != nil {
		p.ReceivingAmount = *w.Receiveing
	}
	p.CreatedAt, p.UpdatedAt = w.CreatedAt.Time, w.UpdatedAt.Time
	return nil
}

// InitiatePayout starts the payout of a quotation (201). It sends an
// Idempotency-Key, the same on every attempt, so a retry after a lost
// answer gets the payout already made (the server replays its 201)
// instead of making a second one.
func (c *Client) InitiatePayout(ctx context.Context, r InitiateRequest) (*Payout, error) {
	key := r.IdempotencyKey
	if key == "" {
		key = uuid.NewString()
	}
	var out Payout
	err := c.do(ctx, call{
		method: http.MethodPost, path: "/pos/api/v1/payout/initiate", body: r,
		header: http.Header{"Idempotency-Key": {key}}, out: &out,
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetPayout fetches a payout.
func (c *Client) GetPayout(ctx context.Context, id string) (*Payout, error) {
	seg, err := pathSeg("payout id", id)
	if err != nil {
		return nil, err
	}
	var out Payout
	if err := c.do(ctx, call{method: http.MethodGet, path: "/pos/api/v1/payout/" + seg, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// HistoryOptions filters the payout history. StartDate and EndDate
// (YYYY-MM-DD, Asia/Kolkata, inclusive) go together or not at all.
type HistoryOptions struct {
	Status     string
	CustomerID string
	StartDate  string
	EndDate    string
	ListOptions
}

// PayoutHistory fetches one page of payouts, newest first.
func (c *Client) PayoutHistory(ctx context.Context, o HistoryOptions) (*Page[Payout], error) {
	q := url.Values{}
	for k, v := range map[string]string{"payout_status": o.Status, "customer_id": o.CustomerID, "start_date": o.StartDate, "end_date": o.EndDate} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out Page[Payout]
	if err := c.do(ctx, call{method: http.MethodGet, path: "/pos/api/v1/payout/history", query: o.values(q), out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Payouts iterates over every payout matching o, newest first, from page
// o.Page (default 1) on, with pages of o.PageSize. It stops at the first
// error, which it yields.
func (c *Client) Payouts(ctx context.Context, o HistoryOptions) iter.Seq2[Payout, error] {
	return all(ctx, o.ListOptions, func(ctx context.Context, lo ListOptions) (*Page[Payout], error) {
		o.ListOptions = lo
		return c.PayoutHistory(ctx, o)
	})
}

// TransferLink is an exchange order linked to the exchange's crypto
// transfer.
type TransferLink struct {
	ExchangeOrderID    string `json:"exchange_order_id"`
	ExchangeTransferID string `json:"exchange_transfer_id"`
	PayoutID           string `json:"payout_id"`
}

// UpdateTransferID links the exchange's crypto transfer to the payout of an
// exchange order. Linking the same pair again is a no-op.
func (c *Client) UpdateTransferID(ctx context.Context, exchangeOrderID, exchangeTransferID string) (*TransferLink, error) {
	body := struct {
		ExchangeOrderID    string `json:"exchange_order_id"`
		ExchangeTransferID string `json:"exchange_transfer_id"`
	}{exchangeOrderID, exchangeTransferID}
	var out TransferLink
	if err := c.do(ctx, call{method: http.MethodPatch, path: "/pos/api/v1/payout/update-transfer-id", body: body, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// MockPayoutStatus is the answer of the sandbox's mock-payout-status.
type MockPayoutStatus struct {
	PayoutID     string `json:"payout_id"`
	PayoutStatus string `json:"payout_status"`
}

// MockPayoutStatus (sandbox only) moves a PROCESSING payout to SUCCESS or
// FAILED, or a FAILED one to REFUNDED; on any other state it has no effect.
func (c *Client) MockPayoutStatus(ctx context.Context, payoutID, status string) (*MockPayoutStatus, error) {
	body := MockPayoutStatus{PayoutID: payoutID, PayoutStatus: status}
	var out MockPayoutStatus
	if err := c.do(ctx, call{method: http.MethodPatch, path: "/pos/api/v1/payout/mock-payout-status", body: body, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// WaitPayout polls the payout every interval (default 2 s) until its status
// is no longer PROCESSING, and returns it. onChange, if not nil, is called
// with the first state seen and then on every change of status or
// status_detail. If ctx ends first, WaitPayout returns the last state seen
// (nil if none) with ctx's error.
func (c *Client) WaitPayout(ctx context.Context, id string, interval time.Duration, onChange func(*Payout)) (*Payout, error) {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	var last *Payout
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		p, err := c.GetPayout(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return last, ctx.Err()
			}
			return last, err
		}
		if onChange != nil && (last == nil || last.Status != p.Status || last.StatusDetail != p.StatusDetail) {
			onChange(p)
		}
		last = p
		if p.Status != StatusProcessing {
			return p, nil
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-t.C:
		}
	}
}
