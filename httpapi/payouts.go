package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/service"
	"github.com/offramp/offramp/signature"
)

// num puts a decimal on the wire as a JSON number with its exact digits
// (never through float64), where DollarPe's examples show numbers.
func num(d decimal.Decimal) json.Number { return json.Number(d.String()) }

type feesJSON struct {
	ClientFeeFiat      json.Number `json:"client_fee_fiat"`
	ClientFeeCrypto    json.Number `json:"client_fee_crypto"`
	PlatformFee        json.Number `json:"dollarpe_fee"`
	PGFee              json.Number `json:"pg_fee"`
	ClientGSTFiat      json.Number `json:"client_gst_fiat"`
	ClientGSTCrypto    json.Number `json:"client_gst_crypto"`
	PlatformGST        json.Number `json:"dollarpe_gst"`
	PGGST              json.Number `json:"pg_gst"`
	TDS                json.Number `json:"tds"`
	GrossEffectiveRate json.Number `json:"gross_effective_exchange_rate"`
	// Offramp's names for the platform's fee and GST, and the sub-paisa
	// remainder of rounding the receiving amount down.
	OfframpFee json.Number `json:"platform_fee"`
	OfframpGST json.Number `json:"platform_gst"`
	Rounding   json.Number `json:"rounding_adjustment"`
}

func feesWire(f offramp.Fees) feesJSON {
	return feesJSON{
		ClientFeeFiat: num(f.ClientFeeFiat), ClientFeeCrypto: num(f.ClientFeeCrypto), PlatformFee: num(f.PlatformFee),
		PGFee: num(f.PGFee), ClientGSTFiat: num(f.ClientGSTFiat), ClientGSTCrypto: num(f.ClientGSTCrypto),
		PlatformGST: num(f.PlatformGST), PGGST: num(f.PGGST), TDS: num(f.TDS), GrossEffectiveRate: num(f.GrossEffectiveRate),
		OfframpFee: num(f.PlatformFee), OfframpGST: num(f.PlatformGST), Rounding: num(f.Rounding),
	}
}

type quotationJSON struct {
	ID              string      `json:"id"`
	OrderID         *string     `json:"order_id"`
	CustomerID      string      `json:"customer_id"`
	BankID          string      `json:"bank_id"`
	Status          string      `json:"status"`
	Asset           string      `json:"asset"`
	Fiat            string      `json:"fiat"`
	PaymentMethod   string      `json:"payment_method"`
	SendingAmount   json.Number `json:"sending_amount"`
	Rate            json.Number `json:"rate"`
	ReceivingAmount json.Number `json:"receiving_amount"`
	Fees            feesJSON    `json:"fees"`
	CreatedAt       string      `json:"created_at"`
	ExpiryTime      string      `json:"expiry_time"`
}

func quotationWire(q offramp.Quotation) quotationJSON {
	out := quotationJSON{
		ID: q.ID.String(), CustomerID: q.CustomerID.String(), BankID: q.BankID.String(), Status: string(q.Status),
		Asset: q.Asset, Fiat: q.Fiat, PaymentMethod: q.PaymentMethod, SendingAmount: num(q.SendingAmount), Rate: num(q.Rate),
		ReceivingAmount: num(q.ReceivingAmount), Fees: feesWire(q.Fees), CreatedAt: fmtTime(q.CreatedAt), ExpiryTime: fmtTime(q.ExpiresAt),
	}
	if q.Status == offramp.QuotationLinked {
		out.OrderID = nullable(q.PayoutID.String())
	}
	return out
}

// initiatedJSON answers payout/initiate: amounts as numbers, as in
// DollarPe's example.
type initiatedJSON struct {
	ID                string      `json:"id"`
	QuotationID       string      `json:"quotation_id"`
	CustomerID        string      `json:"customer_id"`
	ClientReferenceID *string     `json:"client_reference_id"`
	BankID            string      `json:"bank_id"`
	Asset             string      `json:"asset"`
	Fiat              string      `json:"fiat"`
	PaymentMethod     string      `json:"payment_method"`
	Rate              json.Number `json:"rate"`
	SendingAmount     json.Number `json:"sending_amount"`
	ReceivingAmount   json.Number `json:"receiving_amount"`
	Fees              feesJSON    `json:"fees"`
	ExchangeOrderID   string      `json:"exchange_order_id"`
	CreatedAt         string      `json:"created_at"`
	Status            string      `json:"status"`
	StatusDetail      string      `json:"status_detail"`
	BankReference     string      `json:"bank_reference"`
}

func initiatedWire(p offramp.Payout) initiatedJSON {
	return initiatedJSON{
		ID: p.ID.String(), QuotationID: p.QuotationID.String(), CustomerID: p.CustomerID.String(),
		ClientReferenceID: nullable(p.ClientReferenceID), BankID: p.BankID.String(), Asset: p.Asset, Fiat: p.Fiat,
		PaymentMethod: p.PaymentMethod, Rate: num(p.Rate), SendingAmount: num(p.SendingAmount), ReceivingAmount: num(p.ReceivingAmount),
		Fees: feesWire(p.Fees), ExchangeOrderID: p.ExchangeOrderID, CreatedAt: fmtTime(p.CreatedAt),
		// The answer to initiate is always the payout as created, so a
		// replay under the same Idempotency-Key is the same response.
		Status: string(offramp.PayoutProcessing), StatusDetail: string(offramp.PhaseQueued), BankReference: p.RailReference,
	}
}

// payoutJSON is a payout as fetch and history show it: amounts as strings
// (as in DollarPe's reference), and the amount under both its documented
// spelling "receiveing_amount" and the guide's "receiving_amount".
type payoutJSON struct {
	ID                 string   `json:"id"`
	QuotationID        string   `json:"quotation_id"`
	CustomerID         string   `json:"customer_id"`
	ClientReferenceID  *string  `json:"client_reference_id"`
	BankID             string   `json:"bank_id"`
	Asset              string   `json:"asset"`
	Fiat               string   `json:"fiat"`
	PaymentMethod      string   `json:"payment_method"`
	SendingAmount      string   `json:"sending_amount"`
	Rate               string   `json:"rate"`
	ReceiveingAmount   string   `json:"receiveing_amount"`
	ReceivingAmount    string   `json:"receiving_amount"`
	Fees               feesJSON `json:"fees"`
	ExchangeOrderID    string   `json:"exchange_order_id"`
	ExchangeTransferID string   `json:"exchange_transfer_id"`
	Status             string   `json:"status"`
	StatusDetail       string   `json:"status_detail"`
	BankReference      string   `json:"bank_reference"`
	FailureReason      *string  `json:"failure_reason"`
	UTR                *string  `json:"utr"`
	CreatedAt          string   `json:"created_at"`
	UpdatedAt          string   `json:"updated_at"`
}

func payoutWire(p offramp.Payout) payoutJSON {
	return payoutJSON{
		ID: p.ID.String(), QuotationID: p.QuotationID.String(), CustomerID: p.CustomerID.String(),
		ClientReferenceID: nullable(p.ClientReferenceID), BankID: p.BankID.String(), Asset: p.Asset, Fiat: p.Fiat,
		PaymentMethod: p.PaymentMethod, SendingAmount: p.SendingAmount.String(), Rate: p.Rate.String(),
		ReceiveingAmount: p.ReceivingAmount.String(), ReceivingAmount: p.ReceivingAmount.String(), Fees: feesWire(p.Fees),
		ExchangeOrderID: p.ExchangeOrderID, ExchangeTransferID: p.ExchangeTransferID, Status: string(p.Status),
		StatusDetail: string(p.Phase), BankReference: p.RailReference, FailureReason: nullable(p.FailureReason), UTR: nullable(p.UTR),
		CreatedAt: fmtTime(p.CreatedAt), UpdatedAt: fmtTime(p.UpdatedAt),
	}
}

func (s *Server) payoutConfiguration(_ *http.Request, _ []byte) (int, any, error) {
	cfg := s.svc.PayoutConfiguration()
	lower := func(in []string) []string {
		out := make([]string, len(in))
		for i, v := range in {
			out[i] = strings.ToLower(v)
		}
		return out
	}
	// Three shapes at once: the flat one of the integration guide (keys
	// supported_fiats, supported_assets, supported_networks, coin_limits
	// by asset), the fiat-keyed block of DollarPe's current India guide,
	// and, inside coin_limits beside the assets, DollarPe's OpenAPI layout
	// coin_limits[fiat][asset]["bank_transfer"] (its name for what Offramp
	// pays by, IMPS; no "upi": UPI payouts are not supported). Fiat and
	// asset codes never coincide, so the keys do not collide.
	coin := map[string]any{}
	fiatCoin := map[string]any{}
	byFiat := map[string]any{}
	for _, a := range cfg.Assets {
		l := cfg.CoinLimits[a]
		limit := func() map[string]any { return map[string]any{"min": num(l.Min), "max": num(l.Max)} }
		perMethod := map[string]any{}
		for _, m := range cfg.Methods {
			perMethod[strings.ToLower(m)] = limit()
		}
		flat := limit()
		for k, v := range perMethod {
			flat[k] = v
		}
		coin[strings.ToLower(a)] = flat
		fiatCoin[strings.ToLower(a)] = perMethod
		dp := map[string]any{"bank_transfer": limit()}
		for k, v := range perMethod {
			dp[k] = v
		}
		byFiat[strings.ToLower(a)] = dp
	}
	for _, f := range cfg.Fiats {
		coin[strings.ToLower(f)] = byFiat
	}
	return http.StatusOK, map[string]any{
		"supported_fiats":           lower(cfg.Fiats),
		"supported_assets":          lower(cfg.Assets),
		"supported_networks":        lower(cfg.Networks),
		"supported_payment_methods": cfg.Methods,
		"coin_limits":               coin,
		"required_risk_parameters":  cfg.RequiredRiskParameters,
		"inr": map[string]any{
			"supported_assets":          lower(cfg.Assets),
			"supported_networks":        lower(cfg.Networks),
			"supported_payment_methods": lower(cfg.Methods),
			"coin_limits":               fiatCoin,
			"required_risk_parameters":  cfg.RequiredRiskParameters,
		},
	}, nil
}

type rateRequest struct {
	Asset  flexString `json:"asset"`
	Fiat   flexString `json:"fiat"`
	Amount flexString `json:"amount"`
}

// fetchRate takes asset and fiat from the query string, or from a JSON body
// (some guides send one with GET, older ones POST).
func (s *Server) fetchRate(r *http.Request, body []byte) (int, any, error) {
	var req rateRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	pick := func(query string, b flexString) string {
		if v := q.Get(query); v != "" {
			return v
		}
		return string(b)
	}
	asset, fiat, amount := pick("asset", req.Asset), pick("fiat", req.Fiat), pick("amount", req.Amount)
	rate, err := s.svc.FetchRate(r.Context(), asset, fiat)
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{"asset": rate.Asset, "fiat": rate.Fiat, "rate": num(rate.Value)}
	if amount != "" {
		d, err := decimal.NewFromString(amount)
		if err != nil || !d.IsPositive() {
			return 0, nil, offramp.FieldError(offramp.CodeInvalid, "amount", "amount: Enter a positive number.")
		}
		out["amount"] = num(d)
	}
	return http.StatusOK, out, nil
}

type riskJSON struct {
	IPAddress                  flexString `json:"ip_address"`
	DeviceID                   flexString `json:"device_id"`
	SuspiciousActivityReport   flexBool   `json:"suspicious_activity_report"`
	LawEnforcementAgencyReport flexBool   `json:"law_enforcement_agency_report"`
}

type quotationRequest struct {
	Asset         flexString `json:"asset"`
	Fiat          flexString `json:"fiat"`
	SendingAmount flexString `json:"sending_amount"`
	CustomerID    flexString `json:"customer_id"`
	BankID        flexString `json:"bank_id"`
	BankAccountID flexString `json:"bank_account_id"` // older guide name
	PaymentMethod flexString `json:"payment_method"`
	Risk          riskJSON   `json:"risk_parameters"`
}

func (s *Server) createQuotation(r *http.Request, body []byte) (int, any, error) {
	var req quotationRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	bank := req.BankID
	if bank == "" {
		bank = req.BankAccountID
	}
	q, err := s.svc.CreateQuotation(r.Context(), orgFrom(r.Context()).ID, service.QuotationInput{
		Asset: string(req.Asset), Fiat: string(req.Fiat), SendingAmount: string(req.SendingAmount),
		CustomerID: string(req.CustomerID), BankID: string(bank), PaymentMethod: string(req.PaymentMethod),
		Risk: offramp.RiskParameters{
			IPAddress: string(req.Risk.IPAddress), DeviceID: string(req.Risk.DeviceID),
			SuspiciousActivityReport: req.Risk.SuspiciousActivityReport.Value, LawEnforcementAgencyReport: req.Risk.LawEnforcementAgencyReport.Value,
		},
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, quotationWire(q), nil
}

func (s *Server) getQuotation(r *http.Request, _ []byte) (int, any, error) {
	q, err := s.svc.Quotation(r.Context(), orgFrom(r.Context()).ID, r.PathValue("quotation_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, quotationWire(q), nil
}

type initiateRequest struct {
	QuotationID       flexString `json:"quotation_id"`
	CustomerID        flexString `json:"customer_id"`
	ExchangeOrderID   flexString `json:"exchange_order_id"`
	ClientReferenceID flexString `json:"client_reference_id"`
}

// IdempotencyHeader is the optional header that makes initiate safe to
// retry, with Stripe's semantics.
const IdempotencyHeader = "Idempotency-Key"

func (s *Server) initiatePayout(r *http.Request, body []byte) (int, any, error) {
	var req initiateRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	// The request's identity for idempotency: path and canonical body, so
	// key order and whitespace do not make two equal requests differ.
	canon, err := signature.Canonicalize(body, signature.FormCompactASCII)
	if err != nil {
		return 0, nil, err
	}
	h := sha256.Sum256(append([]byte(r.URL.Path+"\n"), canon...))
	p, replayed, err := s.svc.InitiatePayout(r.Context(), orgFrom(r.Context()).ID, service.InitiateInput{
		QuotationID: string(req.QuotationID), CustomerID: string(req.CustomerID), ExchangeOrderID: string(req.ExchangeOrderID),
		ClientReferenceID: string(req.ClientReferenceID), IdempotencyKey: r.Header.Get(IdempotencyHeader), RequestHash: hex.EncodeToString(h[:]),
	})
	if err != nil {
		return 0, nil, err
	}
	if replayed {
		info(r.Context()).replayed = true
	}
	return http.StatusCreated, initiatedWire(p), nil
}

func (s *Server) getPayout(r *http.Request, _ []byte) (int, any, error) {
	p, err := s.svc.Payout(r.Context(), orgFrom(r.Context()).ID, r.PathValue("payout_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, payoutWire(p), nil
}

func (s *Server) payoutHistory(r *http.Request, _ []byte) (int, any, error) {
	page, err := pageParams(r)
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	list, total, err := s.svc.PayoutHistory(r.Context(), orgFrom(r.Context()).ID, service.HistoryFilter{
		Status: q.Get("payout_status"), CustomerID: q.Get("customer_id"), StartDate: q.Get("start_date"), EndDate: q.Get("end_date"),
		// Extensions: what a client that lost an answer finds its payout by.
		ClientReferenceID: q.Get("client_reference_id"), ExchangeOrderID: q.Get("exchange_order_id"),
	}, page)
	if err != nil {
		return 0, nil, err
	}
	out := make([]payoutJSON, 0, len(list))
	for _, p := range list {
		out = append(out, payoutWire(p))
	}
	return http.StatusOK, pageOf(r, page, total, list, out), nil
}

type transferRequest struct {
	ExchangeOrderID    flexString `json:"exchange_order_id"`
	ExchangeTransferID flexString `json:"exchange_transfer_id"`
	PayoutID           flexString `json:"payout_id"`
	PayoutStatus       flexString `json:"payout_status"`
}

func (s *Server) updateTransferID(r *http.Request, body []byte) (int, any, error) {
	var req transferRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	p, err := s.svc.LinkTransfer(r.Context(), orgFrom(r.Context()).ID, string(req.ExchangeOrderID), string(req.ExchangeTransferID))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"exchange_order_id": p.ExchangeOrderID, "exchange_transfer_id": p.ExchangeTransferID, "payout_id": p.ID.String()}, nil
}

func (s *Server) mockPayoutStatus(r *http.Request, body []byte) (int, any, error) {
	var req transferRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	p, err := s.svc.MockPayoutStatus(r.Context(), orgFrom(r.Context()).ID, string(req.PayoutID), string(req.PayoutStatus))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"payout_id": p.ID.String(), "payout_status": string(p.Status)}, nil
}

func (s *Server) payoutLimits(r *http.Request, _ []byte) (int, any, error) {
	l, err := s.svc.PayoutLimits(r.Context(), orgFrom(r.Context()).ID, r.PathValue("customer_id"))
	if err != nil {
		return 0, nil, err
	}
	methods := s.svc.PayoutConfiguration().Methods
	perTx, total := map[string]json.Number{}, map[string]json.Number{}
	for _, m := range methods {
		perTx[m] = num(l.PerTransactionLimit)
		total[m] = num(l.Available)
	}
	var edd *string
	if l.EDDStatus != "" {
		edd = nullable(string(l.EDDStatus))
	}
	return http.StatusOK, map[string]any{
		"daily_limit":     num(l.DailyLimit),
		"available_limit": num(l.Available),
		"payment_method_limits": map[string]any{
			"per_transaction_limit": perTx,
			"total_available_limit": total,
		},
		"limit_reset_timestamp":       l.ResetAt.Unix(),
		"full_limit_reset_timestamp":  fmtTime(l.ResetAt),
		"is_edd_required":             l.EDDRequired,
		"is_limit_increase_available": l.LimitIncrease,
		"edd_status":                  edd,
	}, nil
}

// stringList accepts a JSON array of strings or a single string.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

type eddRequest struct {
	CustomerID             flexString `json:"customer_id"`
	SourceOfIncome         flexString `json:"source_of_income"`
	BankStatementURL       stringList `json:"bank_statement_url"`
	BankStatementPasswords stringList `json:"bank_statement_passwords"`
	ITRReportURL           stringList `json:"itr_report_url"`
	ITRReportPasswords     stringList `json:"itr_report_passwords"`
	Declaration            flexBool   `json:"declaration"`
}

func (s *Server) saveEDD(r *http.Request, body []byte) (int, any, error) {
	var req eddRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	e, err := s.svc.SaveEDD(r.Context(), orgFrom(r.Context()).ID, service.EDDInput{
		CustomerID: string(req.CustomerID), SourceOfIncome: string(req.SourceOfIncome),
		BankStatementURLs: req.BankStatementURL, BankStatementPasswords: req.BankStatementPasswords,
		ITRReportURLs: req.ITRReportURL, ITRReportPasswords: req.ITRReportPasswords, Declaration: req.Declaration.Value,
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"id": e.ID.String(), "customer_id": e.CustomerID.String(), "status": string(e.Status)}, nil
}
