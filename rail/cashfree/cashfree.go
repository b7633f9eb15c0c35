package cashfree

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// Documented values (see the package documentation for the sources).
const (
	// DefaultBaseURL is Cashfree's production Payouts v2 host.
	DefaultBaseURL = "https://api.cashfree.com/payout"
	// SandboxBaseURL is Cashfree's test environment.
	SandboxBaseURL = "https://sandbox.cashfree.com/payout"
	// DefaultAPIVersion is the x-api-version the v2 reference documents
	// as the current default.
	DefaultAPIVersion = "2024-01-01"
	// DefaultPostingDelay: see Capabilities.
	DefaultPostingDelay = time.Minute
)

// DefaultIMPSLimit is the largest amount sent by IMPS (₹5,00,000, IMPS's
// per-transfer cap); larger transfers go by Config.LargeMode.
var DefaultIMPSLimit = decimal.NewFromInt(500000)

// maxBody bounds what is read from Cashfree and from a webhook.
const maxBody = 1 << 20

// Config configures a Rail.
type Config struct {
	// BaseURL is the Payouts v2 base, without a trailing slash (default
	// DefaultBaseURL; SandboxBaseURL for Cashfree's test environment).
	BaseURL string
	// ClientID and ClientSecret are the Payouts API keys, sent as
	// x-client-id and x-client-secret on every call. Required.
	ClientID     string
	ClientSecret string
	// WebhookSecret verifies webhooks. Cashfree signs Payouts v2 webhooks
	// with the client secret (its docs: the oldest active one), so the
	// default is ClientSecret; set it when the keys used for API calls
	// are not the oldest active pair.
	WebhookSecret string
	// APIVersion is sent as x-api-version (default DefaultAPIVersion).
	APIVersion string
	// HTTPClient makes the calls (default: a client with a 30 s timeout).
	// The caller's context bounds every call as well.
	HTTPClient *http.Client
	// Clock is used for webhook freshness (default offramp.SystemClock).
	Clock offramp.Clock
	// IMPSLimit is the largest amount sent by IMPS (default
	// DefaultIMPSLimit); above it, LargeMode.
	IMPSLimit decimal.Decimal
	// LargeMode is "neft" (default) or "rtgs".
	LargeMode string
	// FundsourceID, when set, is sent as fundsource_id.
	FundsourceID string
	// Remarks, when set, is sent as transfer_remarks (letters, digits and
	// spaces are kept, at most 70).
	Remarks string
	// WebhookMaxAge, when positive, refuses webhooks whose
	// x-webhook-timestamp is further than this from Clock. Zero (the
	// default) checks only the signature: see the package documentation.
	WebhookMaxAge time.Duration
	// Logger receives warnings (unknown statuses) and webhook outcomes;
	// nothing it receives carries a secret, a header or a full account
	// number. Default: discard.
	Logger *slog.Logger
}

// Rail is the Cashfree Payouts v2 adapter: an offramp.Rail. It is safe for
// concurrent use.
type Rail struct {
	base          string
	clientID      string
	clientSecret  string
	webhookSecret string
	apiVersion    string
	hc            *http.Client
	clock         offramp.Clock
	impsLimit     decimal.Decimal
	largeMode     string
	fundsource    string
	remarks       string
	maxAge        time.Duration
	log           *slog.Logger
}

var _ offramp.Rail = (*Rail)(nil)

// New checks cfg and returns a Rail. Its error never contains a secret.
func New(cfg Config) (*Rail, error) {
	r := &Rail{
		base:          strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/"),
		clientID:      cfg.ClientID,
		clientSecret:  cfg.ClientSecret,
		webhookSecret: cfg.WebhookSecret,
		apiVersion:    cfg.APIVersion,
		hc:            cfg.HTTPClient,
		clock:         cfg.Clock,
		impsLimit:     cfg.IMPSLimit,
		largeMode:     strings.ToLower(strings.TrimSpace(cfg.LargeMode)),
		fundsource:    cfg.FundsourceID,
		remarks:       remarks(cfg.Remarks),
		maxAge:        cfg.WebhookMaxAge,
		log:           cfg.Logger,
	}
	if r.base == "" {
		r.base = DefaultBaseURL
	}
	if u, err := url.Parse(r.base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, errors.New("cashfree: BaseURL must be an http(s) URL without credentials")
	}
	if r.clientID == "" || r.clientSecret == "" {
		return nil, errors.New("cashfree: ClientID and ClientSecret are required")
	}
	if r.webhookSecret == "" {
		r.webhookSecret = r.clientSecret
	}
	if r.apiVersion == "" {
		r.apiVersion = DefaultAPIVersion
	}
	if !apiVersionPattern.MatchString(r.apiVersion) {
		return nil, errors.New("cashfree: APIVersion must be a date, YYYY-MM-DD")
	}
	if r.hc == nil {
		r.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if r.clock == nil {
		r.clock = offramp.SystemClock{}
	}
	if r.impsLimit.IsZero() {
		r.impsLimit = DefaultIMPSLimit
	}
	if r.impsLimit.IsNegative() {
		return nil, errors.New("cashfree: IMPSLimit must not be negative")
	}
	switch r.largeMode {
	case "":
		r.largeMode = "neft"
	case "neft", "rtgs":
	default:
		return nil, errors.New(`cashfree: LargeMode must be "neft" or "rtgs"`)
	}
	if r.maxAge < 0 {
		return nil, errors.New("cashfree: WebhookMaxAge must not be negative")
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

var (
	apiVersionPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	// transferIDPattern: Cashfree's transfer_id is at most 40 letters,
	// digits and underscores.
	transferIDPattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,40}$`)
)

// Capabilities: Cashfree keeps one transfer per transfer_id and refuses a
// second create under it, so references are deduplicated. PostingDelay is
// DefaultPostingDelay: see the package documentation.
func (r *Rail) Capabilities() offramp.RailCapabilities {
	return offramp.RailCapabilities{DedupsReferences: true, PostingDelay: DefaultPostingDelay}
}

// createRequest is the Standard Transfer V2 body.
type createRequest struct {
	TransferID         string             `json:"transfer_id"`
	TransferAmount     json.Number        `json:"transfer_amount"`
	TransferCurrency   string             `json:"transfer_currency"`
	TransferMode       string             `json:"transfer_mode"`
	BeneficiaryDetails beneficiaryDetails `json:"beneficiary_details"`
	TransferRemarks    string             `json:"transfer_remarks,omitempty"`
	FundsourceID       string             `json:"fundsource_id,omitempty"`
}

type beneficiaryDetails struct {
	BeneficiaryName              string            `json:"beneficiary_name"`
	BeneficiaryInstrumentDetails instrumentDetails `json:"beneficiary_instrument_details"`
}

type instrumentDetails struct {
	BankAccountNumber string `json:"bank_account_number"`
	BankIFSC          string `json:"bank_ifsc"`
}

// minAmount is Cashfree's documented minimum transfer_amount.
var minAmount = decimal.RequireFromString("1.00")

// Submit creates a standard transfer with transfer_id = t.Reference and
// the beneficiary inline. See the package documentation for what each
// Cashfree answer becomes.
func (r *Rail) Submit(ctx context.Context, t offramp.RailTransfer) (offramp.RailResult, error) {
	if res, refused := r.refuse(t); refused {
		return res, nil
	}
	if err := ctx.Err(); err != nil {
		return offramp.RailResult{}, offramp.RailNotSent(fmt.Errorf("cashfree: create transfer %s: %w", t.Reference, err))
	}
	body := createRequest{
		TransferID:       t.Reference,
		TransferAmount:   json.Number(t.Amount.StringFixed(2)),
		TransferCurrency: "INR",
		TransferMode:     r.mode(t),
		BeneficiaryDetails: beneficiaryDetails{
			BeneficiaryName: beneficiaryName(t.AccountName),
			BeneficiaryInstrumentDetails: instrumentDetails{
				BankAccountNumber: strings.TrimSpace(t.AccountNumber),
				BankIFSC:          strings.ToUpper(strings.TrimSpace(t.IFSC)),
			},
		},
		TransferRemarks: r.remarks,
		FundsourceID:    r.fundsource,
	}
	op := "create transfer " + t.Reference
	resp, err := r.do(ctx, op, http.MethodPost, "/transfers", nil, body)
	if err != nil {
		return offramp.RailResult{}, err
	}
	switch {
	case resp.status >= 200 && resp.status < 300:
		var tr transfer
		if err := json.Unmarshal(resp.body, &tr); err != nil || tr.Status == "" {
			// Cashfree took the request; what it holds is unknown.
			return offramp.RailResult{}, fmt.Errorf("cashfree: %s: HTTP %d with an unreadable transfer", op, resp.status)
		}
		if tr.TransferID != "" && tr.TransferID != t.Reference {
			return offramp.RailResult{}, fmt.Errorf("cashfree: %s: answer names another transfer_id", op)
		}
		return r.result(tr), nil
	case resp.duplicate():
		// The reference is taken: answer the existing transfer's status,
		// never a rejection of this request.
		res, err := r.Inquire(ctx, t.Reference)
		if err != nil {
			return offramp.RailResult{}, fmt.Errorf("cashfree: %s: transfer_id already exists and its status could not be fetched: %w", op, err)
		}
		if res.Status == offramp.RailNotFound {
			return offramp.RailResult{}, fmt.Errorf("cashfree: %s: refused as a duplicate, yet the status fetch does not find it", op)
		}
		return res, nil
	}
	apiErr := resp.apiError(op)
	switch {
	case resp.status >= 500, resp.status == http.StatusRequestTimeout:
		// Cashfree's docs: after a 5XX, do not send again; check the
		// status. The outcome is unknown.
		return offramp.RailResult{}, apiErr
	case resp.status == http.StatusUnauthorized, resp.status == http.StatusForbidden, resp.status == http.StatusTooManyRequests:
		return offramp.RailResult{}, offramp.RailNotSent(apiErr)
	case resp.status >= 400:
		if reason, ok := beneficiaryErrorReason(apiErr.Code); ok {
			return offramp.RailResult{Status: offramp.RailRejected, Reason: reason}, nil
		}
		// Validation, insufficient balance and the like: refused before
		// anything was created.
		return offramp.RailResult{}, offramp.RailNotSent(apiErr)
	}
	return offramp.RailResult{}, apiErr // 1xx/3xx: unexpected, outcome unknown
}

// refuse answers REJECTED, without calling Cashfree, a transfer Cashfree
// would certainly refuse: nothing is created under its reference.
func (r *Rail) refuse(t offramp.RailTransfer) (offramp.RailResult, bool) {
	rej := func(reason string) (offramp.RailResult, bool) {
		return offramp.RailResult{Status: offramp.RailRejected, Reason: reason}, true
	}
	switch {
	case !transferIDPattern.MatchString(t.Reference):
		return rej(ReasonInvalidRequest)
	case t.Amount.LessThan(minAmount), !t.Amount.Equal(t.Amount.Truncate(2)):
		// Below Cashfree's minimum of 1.00, or finer than the paisa:
		// never rounded silently.
		return rej(ReasonInvalidAmount)
	case t.Currency != "" && !strings.EqualFold(t.Currency, "INR"):
		return rej(ReasonUnsupportedCurrency)
	case beneficiaryName(t.AccountName) == "":
		return rej(ReasonInvalidBeneficiaryName)
	}
	return offramp.RailResult{}, false
}

// mode is the transfer_mode: the transfer's Method when it names NEFT or
// RTGS, otherwise imps up to IMPSLimit and LargeMode above it.
func (r *Rail) mode(t offramp.RailTransfer) string {
	switch strings.ToUpper(strings.TrimSpace(t.Method)) {
	case "NEFT":
		return "neft"
	case "RTGS":
		return "rtgs"
	}
	if t.Amount.GreaterThan(r.impsLimit) {
		return r.largeMode
	}
	return "imps"
}

// beneficiaryName keeps what Cashfree accepts in beneficiary_name (letters
// and whitespace, at most 100), collapsing spaces.
func beneficiaryName(s string) string {
	var b strings.Builder
	space := false
	for _, c := range s {
		switch {
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(c)
		default:
			space = true
		}
	}
	out := b.String()
	if len(out) > 100 {
		out = strings.TrimSpace(out[:100])
	}
	return out
}

// remarks keeps what Cashfree accepts in transfer_remarks (letters,
// digits and spaces, at most 70).
func remarks(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == ' ' {
			b.WriteRune(c)
		}
	}
	out := strings.TrimSpace(b.String())
	if len(out) > 70 {
		out = strings.TrimSpace(out[:70])
	}
	return out
}

// Inquire fetches the transfer by transfer_id. Cashfree's
// transfer_id_not_found answers NOT_FOUND; any other failure is an error.
func (r *Rail) Inquire(ctx context.Context, reference string) (offramp.RailResult, error) {
	op := "get transfer " + reference
	if reference == "" {
		return offramp.RailResult{}, errors.New("cashfree: get transfer: empty reference")
	}
	if !transferIDPattern.MatchString(reference) {
		// Cashfree could never have accepted it as a transfer_id.
		return offramp.RailResult{Status: offramp.RailNotFound}, nil
	}
	resp, err := r.do(ctx, op, http.MethodGet, "/transfers", url.Values{"transfer_id": {reference}}, nil)
	if err != nil {
		return offramp.RailResult{}, err
	}
	if resp.status >= 200 && resp.status < 300 {
		var tr transfer
		if err := json.Unmarshal(resp.body, &tr); err != nil || tr.Status == "" {
			return offramp.RailResult{}, fmt.Errorf("cashfree: %s: HTTP %d with an unreadable transfer", op, resp.status)
		}
		if tr.TransferID != "" && tr.TransferID != reference {
			return offramp.RailResult{}, fmt.Errorf("cashfree: %s: answer names another transfer_id", op)
		}
		return r.result(tr), nil
	}
	apiErr := resp.apiError(op)
	if resp.status == http.StatusNotFound && apiErr.Code == "transfer_id_not_found" {
		return offramp.RailResult{Status: offramp.RailNotFound}, nil
	}
	return offramp.RailResult{}, apiErr
}

// result maps a transfer and logs a status the docs do not list.
func (r *Rail) result(tr transfer) offramp.RailResult {
	res, known := resultOf(tr)
	if !known {
		r.log.Warn("cashfree: undocumented transfer status, treated as not settled",
			"transfer_id", tr.TransferID, "status", token(strings.ToUpper(tr.Status)))
	}
	if strings.EqualFold(tr.Status, StatusSuccess) && res.Status == offramp.RailAccepted {
		r.log.Warn("cashfree: SUCCESS without transfer_utr, treated as not settled", "transfer_id", tr.TransferID)
	}
	return res
}

// probeTransferID is the transfer_id Check asks about: well formed, and
// never one Offramp creates (Offramp's references start with "OFR").
const probeTransferID = "offramp_credentials_check"

// Check makes one cheap authenticated call, a status fetch of a transfer_id
// that does not exist, to prove that the base URL answers and the keys are
// accepted: Cashfree's transfer_id_not_found (or a transfer) is success.
// The balance API would do too, but Cashfree documents it only in v1, with
// a bearer token this adapter does not otherwise need. The error names the
// base URL and Cashfree's error code, never a key.
func (r *Rail) Check(ctx context.Context) error {
	op := "credentials check"
	resp, err := r.do(ctx, op, http.MethodGet, "/transfers", url.Values{"transfer_id": {probeTransferID}}, nil)
	if err != nil {
		return fmt.Errorf("cashfree: cannot reach %s: %w", r.base, err)
	}
	if resp.status >= 200 && resp.status < 300 {
		return nil
	}
	apiErr := resp.apiError(op)
	switch {
	case resp.status == http.StatusNotFound && apiErr.Code == "transfer_id_not_found":
		return nil
	case resp.status == http.StatusUnauthorized || resp.status == http.StatusForbidden:
		return fmt.Errorf("cashfree: %s refused the credentials (client id %s): %w", r.base, maskID(r.clientID), apiErr)
	}
	return fmt.Errorf("cashfree: %s: %w", r.base, apiErr)
}

// APIError is a non-2xx answer from Cashfree: the HTTP status and
// Cashfree's error type and code ({"type", "code", "message"} in v2). The
// message is not kept: Cashfree echoes request values in it (account
// numbers among them).
type APIError struct {
	Op         string
	HTTPStatus int
	Type       string
	Code       string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("cashfree: %s: HTTP %d", e.Op, e.HTTPStatus)
	if e.Type != "" || e.Code != "" {
		s += fmt.Sprintf(" (%s/%s)", e.Type, e.Code)
	}
	return s
}

type response struct {
	status int
	body   []byte
}

// errorBody is Cashfree's v2 error shape; the v1 shape ({"status",
// "subCode", "message"}) is read too, for the subCode.
type errorBody struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	SubCode string `json:"subCode"`
}

func (r *response) apiError(op string) *APIError {
	var eb errorBody
	_ = json.Unmarshal(r.body, &eb)
	code := eb.Code
	if code == "" {
		code = eb.SubCode
	}
	return &APIError{Op: op, HTTPStatus: r.status, Type: safeWord(eb.Type), Code: safeWord(code)}
}

// duplicate reports Cashfree refusing a transfer_id it already holds: HTTP
// 409 (resource conflict), or a code saying so.
func (r *response) duplicate() bool {
	if r.status == http.StatusConflict {
		return true
	}
	if r.status < 400 || r.status >= 500 {
		return false
	}
	var eb errorBody
	_ = json.Unmarshal(r.body, &eb)
	return strings.Contains(strings.ToLower(eb.Code), "transfer_id_already_exists")
}

// safeWord keeps an error type or code only if it is a plain identifier
// (letters, digits, '_', '.', '[', ']', '-'), at most 120 long, so that
// nothing Cashfree echoes can reach an error string.
func safeWord(s string) string {
	if len(s) > 120 {
		return "?"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.[]-", c) >= 0) {
			return "?"
		}
	}
	return s
}

// do makes one call. An error means no HTTP answer; it wraps
// offramp.ErrRailNotSent when the request was certainly not written to the
// connection in full (Cashfree cannot have acted on it).
func (r *Rail) do(ctx context.Context, op, method, path string, query url.Values, payload any) (*response, error) {
	u := r.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return nil, offramp.RailNotSent(fmt.Errorf("cashfree: %s: encode: %w", op, err))
		}
		body = bytes.NewReader(b)
	}
	// What reached the connection: nothing (no connection yet), perhaps
	// some of it (connection taken, write not finished), all of it, or a
	// write that failed part way (Cashfree cannot act on half a request).
	var sent atomic.Int32
	trace := &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { sent.Store(sentMaybe) }, // each attempt, retries included
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err != nil {
				sent.Store(sentPartly)
			} else {
				sent.Store(sentAll)
			}
		},
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, u, body)
	if err != nil {
		return nil, offramp.RailNotSent(fmt.Errorf("cashfree: %s: %w", op, err))
	}
	req.Header.Set("x-client-id", r.clientID)
	req.Header.Set("x-client-secret", r.clientSecret)
	req.Header.Set("x-api-version", r.apiVersion)
	req.Header.Set("x-request-id", requestID())
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		err = fmt.Errorf("cashfree: %s: %w", op, scrub(err))
		if s := sent.Load(); s == sentNothing || s == sentPartly {
			return nil, offramp.RailNotSent(err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("cashfree: %s: HTTP %d, reading the answer: %w", op, resp.StatusCode, scrub(err))
	}
	return &response{status: resp.StatusCode, body: b}, nil
}

// States of a request's write, for do.
const (
	sentNothing int32 = iota
	sentMaybe
	sentAll
	sentPartly
)

// scrub drops the URL a *url.Error carries (it is the base URL and the
// reference, already named by the caller) and keeps the cause.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func requestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "offramp-" + hex.EncodeToString(b[:])
}

// maskID shows the first four characters of a client id.
func maskID(s string) string {
	if len(s) <= 4 {
		return "****"
	}
	return s[:4] + "****"
}
