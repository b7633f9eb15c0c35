package cashfreefake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// Magic account numbers: the last four digits choose a transfer's fate
// (any other valid account pays like AccountPays). See the package
// documentation.
const (
	AccountPays         = "026291801111"
	AccountFails        = "026291802222"
	AccountRejected     = "026291803333"
	AccountPendingLong  = "026291804444"
	AccountReverses     = "026291805555"
	AccountStaysPending = "026291806666"
	AccountSilent       = "026291807777"
	AccountInstant      = "026291808888"
	AccountApproval     = "026291809999"
)

// Defaults for zero Options durations.
const (
	DefaultSettle       = 2 * time.Second
	DefaultPending      = 3 * time.Hour
	DefaultReverseAfter = 24 * time.Hour
)

// Status codes the fake gives (from Cashfree's documented vocabulary).
const (
	CodeCompleted         = "COMPLETED"
	CodeSentToBeneficiary = "SENT_TO_BENEFICIARY"
	CodeBankDeclined      = "BENE_BANK_DECLINED"
	CodeBlacklisted       = "BENE_BLACKLISTED"
	CodeInvalidAccount    = "INVALID_ACCOUNT_FAIL"
	CodeVelocityCheck     = "VELOCITY_CHECK_FAILED"
)

// Fault is how one API call misbehaves. Faults are queued with FailCreates
// and FailFetches and consumed one per call, in order.
type Fault int

const (
	// Answer: behave normally.
	Answer Fault = iota
	// DropAfterCommit: record the transfer (a create), then hijack the
	// connection and close it without an answer.
	DropAfterCommit
	// ServerErrorAfterCommit: record, then answer 500 (Cashfree's
	// api_error shape).
	ServerErrorAfterCommit
	// HangAfterCommit: record, then answer nothing until the request's
	// context ends (the client gives up) or Close.
	HangAfterCommit
	// ServerError: answer 500 without recording anything.
	ServerError
	// RateLimited: answer 429 without recording anything.
	RateLimited
	// InsufficientBalance: refuse the create with 400
	// insufficient_balance before anything is recorded.
	InsufficientBalance
)

func (f Fault) String() string {
	switch f {
	case Answer:
		return "answer"
	case DropAfterCommit:
		return "drop-after-commit"
	case ServerErrorAfterCommit:
		return "server-error-after-commit"
	case HangAfterCommit:
		return "hang-after-commit"
	case ServerError:
		return "server-error"
	case RateLimited:
		return "rate-limited"
	case InsufficientBalance:
		return "insufficient-balance"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Options configures a Fake.
type Options struct {
	// ClientID and ClientSecret are the keys the fake accepts; the
	// secret also signs its webhooks, as Cashfree's does. Required.
	ClientID, ClientSecret string
	// Clock drives every transfer's state (default offramp.SystemClock);
	// tests pass a clock.Fake and move it.
	Clock offramp.Clock
	// Settle is how long an ordinary transfer stays RECEIVED/PENDING
	// (default DefaultSettle).
	Settle time.Duration
	// Pending is how long AccountPendingLong stays PENDING (default
	// DefaultPending).
	Pending time.Duration
	// ReverseAfter is how long AccountReverses stays SUCCESS before it is
	// REVERSED (default DefaultReverseAfter).
	ReverseAfter time.Duration
	// WebhookURL receives signed webhooks v2. Empty: none are sent (they
	// are still recorded, see Events).
	WebhookURL string
	// WebhookClient posts them (default: a client of its own).
	WebhookClient *http.Client
	// DeliverOnChange sends the webhooks a call gives rise to within that
	// call, before its answer is written (so a create's webhook reaches
	// the receiver before the create's answer reaches the client).
	// Otherwise webhooks wait for Deliver.
	DeliverOnChange bool
}

// Transfer is a transfer in the fake's books.
type Transfer struct {
	TransferID    string
	CFTransferID  string
	Status        string
	StatusCode    string
	UTR           string
	Amount        string // as sent, e.g. "1234.56"
	Currency      string
	Mode          string // as sent, e.g. "imps"
	Name          string
	AccountNumber string
	IFSC          string
	AddedOn       time.Time
	UpdatedOn     time.Time
}

// Event is a webhook the fake emitted.
type Event struct {
	Type       string
	TransferID string
	Body       []byte
}

// Delivery is one webhook POST.
type Delivery struct {
	Type       string
	TransferID string
	Body       []byte
	Timestamp  string // x-webhook-timestamp
	Signature  string // x-webhook-signature
	HTTPStatus int    // 0 when the POST failed
	Err        error
}

// Fake is the fake Cashfree Payouts v2 API: an http.Handler serving
// /payout/transfers. All methods are safe for concurrent use.
type Fake struct {
	opts  Options
	clock offramp.Clock
	hc    *http.Client

	mu           sync.Mutex
	transfers    map[string]*record
	byCF         map[string]*record
	order        []*record
	creates      map[string]int
	createFaults []Fault
	fetchFaults  []Fault
	emitted      []Event
	outbox       []Event
	cfSeq        int64
	utrSeq       int64
	handled      int64
	hanging      int
	moved        chan struct{} // closed and replaced when handled or hanging changes
	closed       chan struct{}
	isClosed     bool
	deliveries   []Delivery

	deliverMu sync.Mutex // one delivery run at a time, in order
}

type fate int

const (
	fatePays fate = iota
	fateFails
	fateRejected
	fatePendingLong
	fateReverses
	fateStaysPending
	fateSilent
	fateInstant
	fateApproval
)

type record struct {
	t      Transfer
	fate   fate
	at     time.Time
	forced bool // SetStatus froze the state machine
}

// New returns a Fake. It panics on options no fake could honour (missing
// keys, negative durations): they are mistakes in a test.
func New(opts Options) *Fake {
	if opts.ClientID == "" || opts.ClientSecret == "" {
		panic("cashfreefake: Options.ClientID and ClientSecret are required")
	}
	if opts.Settle < 0 || opts.Pending < 0 || opts.ReverseAfter < 0 {
		panic("cashfreefake: negative duration in Options")
	}
	if opts.Settle == 0 {
		opts.Settle = DefaultSettle
	}
	if opts.Pending == 0 {
		opts.Pending = DefaultPending
	}
	if opts.ReverseAfter == 0 {
		opts.ReverseAfter = DefaultReverseAfter
	}
	f := &Fake{
		opts:      opts,
		clock:     opts.Clock,
		hc:        opts.WebhookClient,
		transfers: map[string]*record{},
		byCF:      map[string]*record{},
		creates:   map[string]int{},
		cfSeq:     100000,
		utrSeq:    0,
		moved:     make(chan struct{}),
		closed:    make(chan struct{}),
	}
	if f.clock == nil {
		f.clock = offramp.SystemClock{}
	}
	if f.hc == nil {
		f.hc = &http.Client{Transport: &http.Transport{}}
	}
	return f
}

// FailCreates queues faults for the next create calls, one per call.
func (f *Fake) FailCreates(faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.createFaults = append(f.createFaults, faults...)
}

// FailFetches queues faults for the next status fetches, one per call
// (DropAfterCommit and HangAfterCommit drop or hang the answer; note that
// Go's client may retry a GET whose reused connection drops).
func (f *Fake) FailFetches(faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetchFaults = append(f.fetchFaults, faults...)
}

// Close releases every hanging call (its connection is closed without an
// answer) and makes later hangs end at once. Idempotent.
func (f *Fake) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.isClosed {
		f.isClosed = true
		close(f.closed)
	}
}

// Transfers returns how many transfers the fake holds under transferID:
// 0 or 1, since it refuses a second create.
func (f *Fake) Transfers(transferID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.transfers[transferID]; ok {
		return 1
	}
	return 0
}

// Creates returns how many well-formed create calls named transferID,
// whatever became of them (refused duplicates and faults included).
func (f *Fake) Creates(transferID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.creates[transferID]
}

// Transfer returns the transfer under transferID as of the clock's now.
func (f *Fake) Transfer(transferID string) (Transfer, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec, ok := f.transfers[transferID]
	if !ok {
		return Transfer{}, false
	}
	f.observe(rec)
	return rec.t, true
}

// SetStatus forces a transfer into status (with statusCode), freezing its
// scripted fate, and emits the matching webhook: a test's way to script
// FAILED, REJECTED, REVERSED (or anything else) by hand. SUCCESS assigns a
// UTR if the transfer has none.
func (f *Fake) SetStatus(transferID, status, statusCode string) error {
	f.mu.Lock()
	rec, ok := f.transfers[transferID]
	if !ok {
		f.mu.Unlock()
		return fmt.Errorf("cashfreefake: no transfer %q", transferID)
	}
	f.observe(rec)
	rec.forced = true
	f.move(rec, status, statusCode)
	f.mu.Unlock()
	if f.opts.DeliverOnChange {
		f.maybeDeliver(context.Background())
	}
	return nil
}

// Events returns every webhook the fake emitted, in order, delivered or
// not.
func (f *Fake) Events() []Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Event(nil), f.emitted...)
}

// Deliveries returns every webhook POST the fake made, in order.
func (f *Fake) Deliveries() []Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Delivery(nil), f.deliveries...)
}

// Handled returns how many API calls the fake has decided: a call counts
// once its effect on the books is done, before its answer (or its fault)
// is written.
func (f *Fake) Handled() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.handled
}

// WaitHandled blocks until at least n calls are Handled, or ctx ends. A
// test that counts the requests its client wrote waits with it for calls
// still in flight, instead of sleeping.
func (f *Fake) WaitHandled(ctx context.Context, n int64) error {
	return f.wait(ctx, func() bool { return f.handled >= n })
}

// WaitHanging blocks until at least n calls hang, or ctx ends.
func (f *Fake) WaitHanging(ctx context.Context, n int) error {
	return f.wait(ctx, func() bool { return f.hanging >= n })
}

func (f *Fake) wait(ctx context.Context, done func() bool) error {
	for {
		f.mu.Lock()
		if done() {
			f.mu.Unlock()
			return nil
		}
		moved := f.moved
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-moved:
		}
	}
}

// signal wakes waiters. f.mu is held.
func (f *Fake) signal() {
	close(f.moved)
	f.moved = make(chan struct{})
}

// ServeHTTP serves POST and GET /payout/transfers.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	act := f.handle(r)
	f.mu.Lock()
	f.handled++
	f.signal()
	f.mu.Unlock()
	if f.opts.DeliverOnChange {
		f.maybeDeliver(context.WithoutCancel(r.Context()))
	}
	act(w, r)
}

// action writes a call's answer (or its fault).
type action func(w http.ResponseWriter, r *http.Request)

// apiError is Cashfree's v2 error shape.
type apiError struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func reply(status int, body any) action {
	return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, status, body) }
}

func fail(status int, typ, code, msg string) action {
	return reply(status, apiError{Type: typ, Code: code, Message: msg})
}

func invalid(code, msg string) action {
	return fail(http.StatusBadRequest, "invalid_request_error", code, msg)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-api-version", "2024-01-01")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

var (
	apiVersionPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	transferIDPattern = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	namePattern       = regexp.MustCompile(`^[A-Za-z][A-Za-z\s]*$`)
	accountPattern    = regexp.MustCompile(`^[A-Za-z0-9]{9,18}$`)
	ifscPattern       = regexp.MustCompile(`^[A-Z]{4}0[A-Z0-9]{6}$`)
	minAmount         = decimal.RequireFromString("1.00")
)

func (f *Fake) handle(r *http.Request) action {
	if r.URL.Path != "/payout/transfers" {
		return fail(http.StatusNotFound, "invalid_request_error", "url_not_found", "requested url does not exist")
	}
	if !hmac.Equal([]byte(r.Header.Get("x-client-id")), []byte(f.opts.ClientID)) ||
		!hmac.Equal([]byte(r.Header.Get("x-client-secret")), []byte(f.opts.ClientSecret)) {
		return fail(http.StatusUnauthorized, "authentication_error", "authentication_failed", "Invalid clientId and clientSecret combination")
	}
	switch v := r.Header.Get("x-api-version"); {
	case v == "":
		return invalid("x_api_version_missing", "x-api-version is missing in the request")
	case !apiVersionPattern.MatchString(v):
		return invalid("x_api_version_invalid", "x-api-version should be in the format YYYY-MM-DD")
	}
	switch r.Method {
	case http.MethodPost:
		return f.create(r)
	case http.MethodGet:
		return f.fetch(r)
	}
	return fail(http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed", "method not allowed")
}

// createBody is the Standard Transfer V2 request.
type createBody struct {
	TransferID         *string         `json:"transfer_id"`
	TransferAmount     json.RawMessage `json:"transfer_amount"`
	TransferCurrency   *string         `json:"transfer_currency"`
	TransferMode       *string         `json:"transfer_mode"`
	BeneficiaryDetails *struct {
		BeneficiaryID                *string `json:"beneficiary_id"`
		BeneficiaryName              *string `json:"beneficiary_name"`
		BeneficiaryInstrumentDetails *struct {
			BankAccountNumber *string `json:"bank_account_number"`
			BankIFSC          *string `json:"bank_ifsc"`
		} `json:"beneficiary_instrument_details"`
	} `json:"beneficiary_details"`
	TransferRemarks *string `json:"transfer_remarks"`
	FundsourceID    *string `json:"fundsource_id"`
}

const (
	benePrefix = "beneficiary_details."
	instPrefix = "beneficiary_details.beneficiary_instrument_details."
)

func (f *Fake) create(r *http.Request) action {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return invalid("request_body_invalid", "request body could not be read")
	}
	var b createBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&b); err != nil {
		return invalid("request_body_invalid", "request body is not valid JSON")
	}
	t, act := validate(b)
	if act != nil {
		return act
	}

	f.mu.Lock()
	fault := Answer
	if len(f.createFaults) > 0 {
		fault, f.createFaults = f.createFaults[0], f.createFaults[1:]
	}
	f.creates[t.TransferID]++
	switch fault {
	case ServerError:
		f.mu.Unlock()
		return serverError()
	case RateLimited:
		f.mu.Unlock()
		return rateLimited()
	case InsufficientBalance:
		f.mu.Unlock()
		return invalid("insufficient_balance", "Not enough available balance in the account")
	}
	if _, dup := f.transfers[t.TransferID]; dup {
		f.mu.Unlock()
		return fail(http.StatusConflict, "invalid_request_error", "transfer_id_already_exists",
			"transfer_id already exists. please pass unique id in each request")
	}
	now := f.clock.Now().UTC()
	f.cfSeq++
	t.CFTransferID = strconv.FormatInt(f.cfSeq, 10)
	t.Status, t.StatusCode = "RECEIVED", "RECEIVED"
	t.AddedOn, t.UpdatedOn = now, now
	rec := &record{t: t, fate: fateOf(t.AccountNumber), at: now}
	f.transfers[t.TransferID] = rec
	f.byCF[t.CFTransferID] = rec
	f.order = append(f.order, rec)
	switch rec.fate {
	case fateRejected:
		f.move(rec, "REJECTED", CodeBlacklisted)
	case fateInstant:
		f.move(rec, "SUCCESS", CodeCompleted)
	case fateApproval:
		f.move(rec, "APPROVAL_PENDING", CodeVelocityCheck)
	}
	f.observe(rec)
	body := transferJSON(rec.t)
	hangs := rec.fate == fateSilent
	f.mu.Unlock()

	switch {
	case fault == DropAfterCommit:
		return drop
	case fault == ServerErrorAfterCommit:
		return serverError()
	case fault == HangAfterCommit, hangs:
		return f.hangAction
	}
	return reply(http.StatusOK, body)
}

// validate checks a create request as Cashfree documents it; the fake
// supports bank-account transfers with inline beneficiary details only.
func validate(b createBody) (Transfer, action) {
	var t Transfer
	switch {
	case b.TransferID == nil || *b.TransferID == "":
		return t, invalid("transfer_id_missing", "transfer_id is missing in the request")
	case len(*b.TransferID) > 40 || !transferIDPattern.MatchString(*b.TransferID):
		return t, invalid("transfer_id_invalid", "transfer_id should be alphanumeric")
	}
	t.TransferID = *b.TransferID
	if len(b.TransferAmount) == 0 || string(b.TransferAmount) == "null" {
		return t, invalid("transfer_amount_missing", "transfer_amount is missing in the request")
	}
	var n json.Number
	if err := json.Unmarshal(b.TransferAmount, &n); err != nil || strings.HasPrefix(string(b.TransferAmount), `"`) {
		return t, invalid("transfer_amount_invalid", "transfer_amount should be a number")
	}
	amt, err := decimal.NewFromString(n.String())
	if err != nil || amt.LessThan(minAmount) || !amt.Equal(amt.Truncate(2)) {
		return t, invalid("transfer_amount_invalid", "transfer_amount should be greater then 1.00")
	}
	t.Amount = n.String()
	t.Currency = "INR"
	if b.TransferCurrency != nil {
		if *b.TransferCurrency != "INR" {
			return t, invalid("transfer_currency_invalid", "transfer_currency should be INR")
		}
	}
	t.Mode = "banktransfer"
	if b.TransferMode != nil {
		switch *b.TransferMode {
		case "banktransfer", "imps", "neft", "rtgs":
			t.Mode = *b.TransferMode
		default:
			return t, invalid("transfer_mode_invalid", "transfer_mode is invalid allowed values are : bank, imps, neft, rtgs, upi, paytm, amazonpay, card and cardupi")
		}
	}
	bd := b.BeneficiaryDetails
	if bd == nil {
		return t, invalid("beneficiary_details_missing", "beneficiary_details is missing in the request")
	}
	if bd.BeneficiaryID != nil && *bd.BeneficiaryID != "" {
		// The fake keeps no beneficiaries.
		return t, fail(http.StatusNotFound, "invalid_request_error", "beneficiary_not_found", "Beneficiary does not exist")
	}
	if bd.BeneficiaryName == nil || len(*bd.BeneficiaryName) > 100 || !namePattern.MatchString(*bd.BeneficiaryName) {
		return t, invalid(benePrefix+"beneficiary_name_invalid", "beneficiary_name is invalid. only alphabets and whitespaces are allowed")
	}
	t.Name = *bd.BeneficiaryName
	inst := bd.BeneficiaryInstrumentDetails
	if inst == nil || inst.BankAccountNumber == nil || !accountPattern.MatchString(*inst.BankAccountNumber) {
		return t, invalid(instPrefix+"bank_account_number_invalid", "bank_account_number should be alphanumeric, 9 to 18 characters")
	}
	t.AccountNumber = *inst.BankAccountNumber
	if inst.BankIFSC == nil || !ifscPattern.MatchString(*inst.BankIFSC) {
		return t, invalid(instPrefix+"bank_ifsc_invalid", "bank_ifsc should be in standard ifsc format")
	}
	t.IFSC = *inst.BankIFSC
	return t, nil
}

func fateOf(account string) fate {
	switch {
	case strings.HasSuffix(account, "2222"):
		return fateFails
	case strings.HasSuffix(account, "3333"):
		return fateRejected
	case strings.HasSuffix(account, "4444"):
		return fatePendingLong
	case strings.HasSuffix(account, "5555"):
		return fateReverses
	case strings.HasSuffix(account, "6666"):
		return fateStaysPending
	case strings.HasSuffix(account, "7777"):
		return fateSilent
	case strings.HasSuffix(account, "8888"):
		return fateInstant
	case strings.HasSuffix(account, "9999"):
		return fateApproval
	}
	return fatePays
}

func (f *Fake) fetch(r *http.Request) action {
	q := r.URL.Query()
	id, cf := q.Get("transfer_id"), q.Get("cf_transfer_id")
	if id == "" && cf == "" {
		return invalid("transfer_id_missing", "either transfer_id or cf_transfer_id is required")
	}
	f.mu.Lock()
	fault := Answer
	if len(f.fetchFaults) > 0 {
		fault, f.fetchFaults = f.fetchFaults[0], f.fetchFaults[1:]
	}
	var rec *record
	if id != "" {
		rec = f.transfers[id]
	} else {
		rec = f.byCF[cf]
	}
	var body any
	if rec != nil {
		f.observe(rec)
		body = transferJSON(rec.t)
	}
	f.mu.Unlock()
	switch fault {
	case ServerError, ServerErrorAfterCommit:
		return serverError()
	case RateLimited:
		return rateLimited()
	case DropAfterCommit:
		return drop
	case HangAfterCommit:
		return f.hangAction
	}
	switch {
	case rec != nil:
		return reply(http.StatusOK, body)
	case id != "":
		return fail(http.StatusNotFound, "invalid_request_error", "transfer_id_not_found", "transfer_id does not exist")
	}
	return fail(http.StatusNotFound, "invalid_request_error", "cf_transfer_id_not_found", "cf_transfer_id does not exist")
}

func serverError() action {
	return fail(http.StatusInternalServerError, "api_error", "internal_server_error", "Error at cashfree's server")
}

func rateLimited() action {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("x-ratelimit-limit", "200")
		w.Header().Set("x-ratelimit-remaining", "0")
		w.Header().Set("x-ratelimit-retry", "1")
		writeJSON(w, http.StatusTooManyRequests, apiError{Type: "rate_limit_error", Code: "rate_limit_exceeded", Message: "Too many requests"})
	}
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter, _ *http.Request) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// hangAction answers nothing until the request's context ends or Close,
// then drops the connection.
func (f *Fake) hangAction(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hanging++
	f.signal()
	closed := f.closed
	f.mu.Unlock()
	select {
	case <-r.Context().Done():
	case <-closed:
	}
	f.mu.Lock()
	f.hanging--
	f.signal()
	f.mu.Unlock()
	drop(w, r)
}

// rank orders statuses so that a transfer's state only moves forward.
func rank(status string) int {
	switch status {
	case "RECEIVED":
		return 0
	case "PENDING", "APPROVAL_PENDING", "QUEUED", "SCHEDULED":
		return 1
	case "SUCCESS", "FAILED", "REJECTED", "MANUALLY_REJECTED":
		return 2
	case "REVERSED":
		return 3
	}
	return 1
}

// observe catches a transfer up with the clock, emitting a webhook for
// every transition it passes. f.mu is held.
func (f *Fake) observe(rec *record) {
	if rec.forced {
		return
	}
	age := f.clock.Now().Sub(rec.at)
	s := f.opts.Settle
	type step struct {
		at           time.Duration
		status, code string
	}
	var path []step
	switch rec.fate {
	case fatePays, fateSilent:
		path = []step{{1, "PENDING", "PENDING"}, {s, "SUCCESS", CodeCompleted}}
	case fateFails:
		path = []step{{1, "PENDING", "PENDING"}, {s, "FAILED", CodeBankDeclined}}
	case fatePendingLong:
		path = []step{{1, "PENDING", "PENDING"}, {f.opts.Pending, "SUCCESS", CodeCompleted}}
	case fateReverses:
		path = []step{{1, "PENDING", "PENDING"}, {s, "SUCCESS", CodeCompleted}, {s + f.opts.ReverseAfter, "REVERSED", CodeInvalidAccount}}
	case fateStaysPending:
		path = []step{{1, "PENDING", "PENDING"}}
	}
	for _, st := range path {
		if age >= st.at && rank(st.status) > rank(rec.t.Status) {
			f.move(rec, st.status, st.code)
		}
	}
}

// move puts a transfer in a status and emits its webhook. f.mu is held.
func (f *Fake) move(rec *record, status, code string) {
	prev := rec.t.Status
	rec.t.Status, rec.t.StatusCode = status, code
	rec.t.UpdatedOn = f.clock.Now().UTC()
	if status == "SUCCESS" && rec.t.UTR == "" {
		f.utrSeq++
		rec.t.UTR = fmt.Sprintf("%012d", 512000000000+f.utrSeq)
	}
	switch status {
	case "SUCCESS":
		if prev != "SUCCESS" {
			// Debited and sent, then the beneficiary bank's credit
			// confirmation: Cashfree sends both.
			f.emit(rec, "TRANSFER_SUCCESS", CodeSentToBeneficiary)
			f.emit(rec, "TRANSFER_ACKNOWLEDGED", CodeCompleted)
		}
	case "FAILED":
		f.emit(rec, "TRANSFER_FAILED", code)
	case "REJECTED", "MANUALLY_REJECTED":
		f.emit(rec, "TRANSFER_REJECTED", code)
	case "REVERSED":
		f.emit(rec, "TRANSFER_REVERSED", code)
	}
}

// emit records a webhook with the transfer as it is now. f.mu is held.
func (f *Fake) emit(rec *record, typ, code string) {
	t := rec.t
	t.StatusCode = code
	body, _ := json.Marshal(map[string]any{
		"type":       typ,
		"event_time": f.clock.Now().UTC().Format("2006-01-02T15:04:05"),
		"data":       transferJSON(t),
	})
	ev := Event{Type: typ, TransferID: t.TransferID, Body: body}
	f.emitted = append(f.emitted, ev)
	if f.opts.WebhookURL != "" {
		f.outbox = append(f.outbox, ev)
	}
}

// transferJSON is the v2 transfer object.
func transferJSON(t Transfer) map[string]any {
	m := map[string]any{
		"transfer_id":        t.TransferID,
		"cf_transfer_id":     t.CFTransferID,
		"status":             t.Status,
		"status_code":        t.StatusCode,
		"status_description": describe(t.Status),
		"beneficiary_details": map[string]any{
			"beneficiary_instrument_details": map[string]any{
				"bank_account_number": t.AccountNumber,
				"bank_ifsc":           t.IFSC,
			},
		},
		"transfer_amount":   json.Number(t.Amount),
		"transfer_currency": t.Currency,
		"transfer_mode":     strings.ToUpper(t.Mode),
		"added_on":          t.AddedOn.Format("2006-01-02T15:04:05Z"),
		"updated_on":        t.UpdatedOn.Format("2006-01-02T15:04:05Z"),
	}
	if t.UTR != "" {
		m["transfer_utr"] = t.UTR
	}
	return m
}

func describe(status string) string {
	switch status {
	case "RECEIVED":
		return "The transfer has been received by Cashfree successfully for further processing."
	case "PENDING":
		return "The transfer is currently in a Pending state, as Cashfree is awaiting a final confirmation from the partner bank."
	case "APPROVAL_PENDING":
		return "The transfer requires approval."
	case "SUCCESS":
		return "The transfer has been credited to the end beneficiary."
	case "FAILED":
		return "The transfer has failed."
	case "REJECTED":
		return "The transfer has been rejected."
	case "REVERSED":
		return "The transfer has been reversed by the beneficiary bank."
	}
	return ""
}

// Sign is Cashfree's webhook signature: base64(HMAC-SHA256(timestamp +
// body)) keyed with the client secret.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Deliver catches every transfer up with the clock and POSTs the webhooks
// waiting, in order, to Options.WebhookURL. A webhook the receiver does not
// answer 2xx stays queued for the next Deliver (Cashfree retries). It
// returns this run's deliveries.
func (f *Fake) Deliver(ctx context.Context) ([]Delivery, error) {
	if f.opts.WebhookURL == "" {
		return nil, errors.New("cashfreefake: no WebhookURL")
	}
	f.mu.Lock()
	for _, rec := range f.order {
		f.observe(rec)
	}
	f.mu.Unlock()
	return f.deliver(ctx), nil
}

// maybeDeliver delivers what is queued, if there is a WebhookURL.
func (f *Fake) maybeDeliver(ctx context.Context) {
	if f.opts.WebhookURL != "" {
		f.deliver(ctx)
	}
}

func (f *Fake) deliver(ctx context.Context) []Delivery {
	f.deliverMu.Lock()
	defer f.deliverMu.Unlock()
	f.mu.Lock()
	queue := f.outbox
	f.outbox = nil
	f.mu.Unlock()
	var out, failed = []Delivery{}, []Event{}
	for _, ev := range queue {
		d := f.post(ctx, ev.Type, ev.TransferID, ev.Body, f.timestamp(), false)
		out = append(out, d)
		if d.Err != nil || d.HTTPStatus < 200 || d.HTTPStatus > 299 {
			failed = append(failed, ev)
		}
	}
	if len(failed) > 0 {
		f.mu.Lock()
		f.outbox = append(failed, f.outbox...)
		f.mu.Unlock()
	}
	return out
}

func (f *Fake) timestamp() string {
	return strconv.FormatInt(f.clock.Now().UnixMilli(), 10)
}

// SendOptions shape a hand-made webhook.
type SendOptions struct {
	// BadSignature signs with a wrong key.
	BadSignature bool
	// Timestamp overrides x-webhook-timestamp (zero: the clock's now).
	Timestamp time.Time
}

// SendWebhook POSTs a webhook of type typ about transferID, with the
// transfer as it is now, outside the state machine: a test's way to send
// one by hand (before a create's answer, with a bad signature, ...).
func (f *Fake) SendWebhook(ctx context.Context, transferID, typ string, o SendOptions) (Delivery, error) {
	if f.opts.WebhookURL == "" {
		return Delivery{}, errors.New("cashfreefake: no WebhookURL")
	}
	f.mu.Lock()
	rec, ok := f.transfers[transferID]
	if !ok {
		f.mu.Unlock()
		return Delivery{}, fmt.Errorf("cashfreefake: no transfer %q", transferID)
	}
	f.observe(rec)
	body, _ := json.Marshal(map[string]any{
		"type":       typ,
		"event_time": f.clock.Now().UTC().Format("2006-01-02T15:04:05"),
		"data":       transferJSON(rec.t),
	})
	f.mu.Unlock()
	ts := f.timestamp()
	if !o.Timestamp.IsZero() {
		ts = strconv.FormatInt(o.Timestamp.UnixMilli(), 10)
	}
	return f.post(ctx, typ, transferID, body, ts, o.BadSignature), nil
}

// Resend POSTs a delivery again, byte for byte (same timestamp and
// signature): Cashfree's at-least-once delivery.
func (f *Fake) Resend(ctx context.Context, d Delivery) Delivery {
	return f.postSigned(ctx, d.Type, d.TransferID, d.Body, d.Timestamp, d.Signature)
}

func (f *Fake) post(ctx context.Context, typ, id string, body []byte, ts string, bad bool) Delivery {
	secret := f.opts.ClientSecret
	if bad {
		secret = "not-" + secret
	}
	return f.postSigned(ctx, typ, id, body, ts, Sign(secret, ts, body))
}

func (f *Fake) postSigned(ctx context.Context, typ, id string, body []byte, ts, sig string) Delivery {
	d := Delivery{Type: typ, TransferID: id, Body: body, Timestamp: ts, Signature: sig}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.opts.WebhookURL, bytes.NewReader(body))
	if err != nil {
		d.Err = err
	} else {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-webhook-timestamp", ts)
		req.Header.Set("x-webhook-signature", sig)
		req.Header.Set("x-webhook-version", "2024-01-01")
		req.Header.Set("x-webhook-attempt", "1")
		resp, err := f.hc.Do(req)
		if err != nil {
			d.Err = err
		} else {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			d.HTTPStatus = resp.StatusCode
		}
	}
	f.mu.Lock()
	f.deliveries = append(f.deliveries, d)
	f.mu.Unlock()
	return d
}
