package razorpayxfake

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/offramp/offramp"
)

// Defaults for zero Options.
const (
	DefaultKeyID         = "rzp_test_fakekey0001"
	DefaultKeySecret     = "fake-key-secret-0001"
	DefaultAccountNumber = "7878780080316316"
	DefaultSettle        = 2 * time.Second
	DefaultPendingFor    = 6 * time.Hour
	DefaultReverseAfter  = 24 * time.Hour
	DefaultQueueFor      = time.Hour
)

// Options configures a Fake.
type Options struct {
	// KeyID and KeySecret are the API key the fake accepts.
	KeyID, KeySecret string
	// AccountNumber is the business account payouts are made from.
	AccountNumber string
	// Clock is the fake's time; nil means the system clock. Tests pass a
	// clock.Fake.
	Clock offramp.Clock
	// Settle, PendingFor, ReverseAfter, QueueFor: see the magic values.
	Settle, PendingFor, ReverseAfter, QueueFor time.Duration
	// ValidationDelay is how long an ordinary validation stays created.
	ValidationDelay time.Duration
	// ListLag hides payouts younger than it from GET /v1/payouts.
	ListLag time.Duration
	// WebhookURL receives the events (none when empty), signed with
	// WebhookSecret, sent with WebhookClient (nil: a plain client).
	WebhookURL    string
	WebhookSecret string
	WebhookClient *http.Client
}

// Op is an API operation, for QueueFaults.
type Op string

// Operations.
const (
	OpCreateContact     Op = "POST /v1/contacts"
	OpCreateFundAccount Op = "POST /v1/fund_accounts"
	OpCreatePayout      Op = "POST /v1/payouts"
	OpListPayouts       Op = "GET /v1/payouts"
	OpFetchPayout       Op = "GET /v1/payouts/{id}"
	OpCreateValidation  Op = "POST /v1/fund_accounts/validations"
	OpFetchValidation   Op = "GET /v1/fund_accounts/validations/{id}"
)

// Fault is how one call misbehaves.
type Fault int

// Faults (see the package documentation).
const (
	Answer Fault = iota
	DropAfterCommit
	ErrorAfterCommit
	HangAfterCommit
	WebhookBeforeAnswer
	HangBeforeCommit
	ErrorBeforeCommit
	RateLimited
	Unauthorized
)

// Outcome is how a payout ends.
type Outcome int

// Outcomes.
const (
	// OutcomeDefault leaves it to the next rule (account script, magic).
	OutcomeDefault Outcome = iota
	Pays
	Fails
	Reverses
	StaysProcessing
)

// Fate is what happens to a payout (see the package documentation).
// After zero settles it at creation.
type Fate struct {
	Outcome          Outcome
	Queued           time.Duration
	After            time.Duration
	ReverseAfter     time.Duration
	Reason           string // failed/reversed status_details.reason
	ProcessingReason string // status_details.reason while processing
}

// Script scripts the creates under one idempotency key.
type Script struct {
	Fate   Fate
	Faults []Fault
}

// ValidationResult is how a fund account validation ends.
type ValidationResult int

// Validation results.
const (
	ValidationDefault ValidationResult = iota
	ValidationActive
	ValidationInvalid
	ValidationFailed
)

// ValidationFate scripts the validations of one account number.
type ValidationFate struct {
	Result ValidationResult
	// After is how long it stays created.
	After time.Duration
	// RegisteredName for an active account ("" : the fund account's name).
	RegisteredName string
}

// Counts are what the fake was asked for and created.
type Counts struct {
	ContactRequests, ContactsCreated         int
	FundAccountRequests, FundAccountsCreated int
	PayoutRequests, PayoutsCreated           int
	ValidationRequests, ValidationsCreated   int
	ListRequests                             int
}

// Payout is a payout's current state.
type Payout struct {
	ID, Reference, FundAccountID, AccountNumber, Mode string
	Amount                                            int64
	Status, Reason, UTR                               string
	Created                                           time.Time
}

// Fake is the fake RazorpayX API, an http.Handler. Safe for concurrent
// use.
type Fake struct {
	o     Options
	clock offramp.Clock
	mux   *http.ServeMux

	mu           sync.Mutex
	seq          int64
	utrSeq       int64
	counts       Counts
	contacts     []*contact
	contactByID  map[string]*contact
	fundAccounts map[string]*fundAccount
	faOrder      []*fundAccount
	payouts      []*payoutRec
	payoutByID   map[string]*payoutRec
	byKey        map[string]*payoutRec
	keyBody      map[string]string
	validations  map[string]*validationRec
	valOrder     []*validationRec
	refScripts   map[string]*Script
	acctFates    map[string]Fate
	valFates     map[string]ValidationFate
	queued       map[Op][]Fault
	outbox       []*outEvent
	deliveries   []Delivery

	hangs     int
	hangsMove chan struct{}
	onHang    func(key string, delta int)
	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// New returns a Fake.
func New(o Options) *Fake {
	if o.KeyID == "" {
		o.KeyID = DefaultKeyID
	}
	if o.KeySecret == "" {
		o.KeySecret = DefaultKeySecret
	}
	if o.AccountNumber == "" {
		o.AccountNumber = DefaultAccountNumber
	}
	if o.Settle == 0 {
		o.Settle = DefaultSettle
	}
	if o.PendingFor == 0 {
		o.PendingFor = DefaultPendingFor
	}
	if o.ReverseAfter == 0 {
		o.ReverseAfter = DefaultReverseAfter
	}
	if o.QueueFor == 0 {
		o.QueueFor = DefaultQueueFor
	}
	f := &Fake{o: o, clock: o.Clock, contactByID: map[string]*contact{}, fundAccounts: map[string]*fundAccount{},
		payoutByID: map[string]*payoutRec{}, byKey: map[string]*payoutRec{}, keyBody: map[string]string{},
		validations: map[string]*validationRec{}, refScripts: map[string]*Script{}, acctFates: map[string]Fate{},
		valFates: map[string]ValidationFate{}, queued: map[Op][]Fault{}, hangsMove: make(chan struct{}), closed: make(chan struct{})}
	if f.clock == nil {
		f.clock = offramp.SystemClock{}
	}
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/contacts", f.createContact)
	m.HandleFunc("POST /v1/fund_accounts", f.createFundAccount)
	m.HandleFunc("POST /v1/payouts", f.createPayout)
	m.HandleFunc("GET /v1/payouts", f.listPayouts)
	m.HandleFunc("GET /v1/payouts/{id}", f.fetchPayout)
	m.HandleFunc("POST /v1/fund_accounts/validations", f.createValidation)
	m.HandleFunc("GET /v1/fund_accounts/validations/{id}", f.fetchValidation)
	f.mux = m
	return f
}

// Options returns the options in effect (defaults filled in).
func (f *Fake) Options() Options { return f.o }

// Close releases hanging handlers; the fake answers nothing afterwards.
func (f *Fake) Close() {
	f.closeOnce.Do(func() { close(f.closed) })
}

// ServeHTTP serves the API.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.wg.Add(1)
	defer f.wg.Done()
	select {
	case <-f.closed:
		writeError(w, http.StatusServiceUnavailable, "SERVER_ERROR", "The service is temporarily unavailable.", "", "internal", "service_unavailable")
		return
	default:
	}
	if !f.authorized(r) {
		writeError(w, http.StatusUnauthorized, "BAD_REQUEST_ERROR", "Authentication failed", "", "business", "authentication_failed")
		return
	}
	if _, pattern := f.mux.Handler(r); pattern == "" {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST_ERROR", "The requested URL was not found on the server.", "", "NA", "NA")
		return
	}
	f.mux.ServeHTTP(w, r)
}

func (f *Fake) authorized(r *http.Request) bool {
	id, secret, ok := r.BasicAuth()
	return ok && subtle.ConstantTimeCompare([]byte(id), []byte(f.o.KeyID)) == 1 &&
		subtle.ConstantTimeCompare([]byte(secret), []byte(f.o.KeySecret)) == 1
}

// ---- scripting ----

// QueueFaults makes the next calls of op misbehave, one fault each.
func (f *Fake) QueueFaults(op Op, faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queued[op] = append(f.queued[op], faults...)
}

// ScriptReference scripts the payout created under idempotency key ref
// and the faults of the successive creates under it.
func (f *Fake) ScriptReference(ref string, s Script) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := s
	c.Faults = append([]Fault(nil), s.Faults...)
	f.refScripts[ref] = &c
}

// ScriptAccount fixes the fate of payouts to a beneficiary account number.
func (f *Fake) ScriptAccount(accountNumber string, fate Fate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acctFates[accountNumber] = fate
}

// ScriptValidation fixes the result of validations of an account number.
func (f *Fake) ScriptValidation(accountNumber string, v ValidationFate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valFates[accountNumber] = v
}

// SetStatus moves the payout under ref to status (any documented one)
// with status_details.reason reason, assigning a UTR if it becomes
// processed, queues its event, and freezes it there.
func (f *Fake) SetStatus(ref, status, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.byKey[ref]
	if p == nil {
		return fmt.Errorf("razorpayxfake: no payout under %q", ref)
	}
	f.catchUp(p, f.clock.Now())
	p.frozen = true
	f.enter(p, stage{status: status, reason: reason, source: sourceOf(reason)})
	return nil
}

// ---- observing ----

// Counts returns what the fake was asked for and created.
func (f *Fake) Counts() Counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts
}

// PayoutCount is how many payouts the books hold under reference_id ref,
// listed yet or not.
func (f *Fake) PayoutCount(ref string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, p := range f.payouts {
		if p.referenceID == ref {
			n++
		}
	}
	return n
}

// Payout returns the current state of the payout created under
// idempotency key ref.
func (f *Fake) Payout(ref string) (Payout, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.byKey[ref]
	if p == nil {
		return Payout{}, false
	}
	f.catchUp(p, f.clock.Now())
	fa := f.fundAccounts[p.fundAccountID]
	out := Payout{ID: p.id, Reference: p.referenceID, FundAccountID: p.fundAccountID, Mode: p.mode, Amount: p.amount,
		Status: p.status, Reason: p.reason, UTR: p.utr, Created: p.created}
	if fa != nil {
		out.AccountNumber = fa.accountNumber
	}
	return out, true
}

// FundAccountIDs lists the fund accounts in creation order.
func (f *Fake) FundAccountIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, fa := range f.faOrder {
		ids = append(ids, fa.id)
	}
	return ids
}

// WaitHanging returns once at least n handlers hang.
func (f *Fake) WaitHanging(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		hangs, ch := f.hangs, f.hangsMove
		f.mu.Unlock()
		if hangs >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ---- plumbing ----

func (f *Fake) nextID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s_%014d", prefix, f.seq)
}

// fault takes the next queued fault of op (Answer when none).
func (f *Fake) fault(op Op) Fault {
	q := f.queued[op]
	if len(q) == 0 {
		return Answer
	}
	f.queued[op] = q[1:]
	return q[0]
}

// connKey is the request context key of the connection's remote address
// (set by Server).
type connKey struct{}

// hang blocks until the request's context ends or the fake closes.
func (f *Fake) hang(r *http.Request) {
	key, _ := r.Context().Value(connKey{}).(string)
	f.setHang(key, 1)
	defer f.setHang(key, -1)
	select {
	case <-r.Context().Done():
	case <-f.closed:
	}
}

func (f *Fake) setHang(key string, delta int) {
	f.mu.Lock()
	f.hangs += delta
	close(f.hangsMove)
	f.hangsMove = make(chan struct{})
	hook := f.onHang
	f.mu.Unlock()
	if hook != nil && key != "" {
		hook(key, delta)
	}
}

// before applies a before-commit fault; it reports whether the call is
// over.
func (f *Fake) before(w http.ResponseWriter, r *http.Request, fault Fault) bool {
	switch fault {
	case HangBeforeCommit:
		f.hang(r)
	case ErrorBeforeCommit:
		writeError(w, http.StatusServiceUnavailable, "SERVER_ERROR", "The service is temporarily unavailable. Please try again shortly.", "", "internal", "service_unavailable")
	case RateLimited:
		writeError(w, http.StatusTooManyRequests, "BAD_REQUEST_ERROR", "Too many requests", "", "business", "rate_limit_exceeded")
	case Unauthorized:
		writeError(w, http.StatusUnauthorized, "BAD_REQUEST_ERROR", "Authentication failed", "", "business", "authentication_failed")
	default:
		return false
	}
	return true
}

// after answers a call whose work is done, under an after-commit fault.
func (f *Fake) after(w http.ResponseWriter, r *http.Request, fault Fault, status int, body any) {
	switch fault {
	case DropAfterCommit:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case ErrorAfterCommit:
		writeError(w, http.StatusInternalServerError, "SERVER_ERROR", "We are facing some trouble completing your request at the moment. Please try again shortly.", "", "internal", "server_error")
		return
	case HangAfterCommit:
		f.hang(r)
		return
	}
	writeJSON(w, status, body)
}

type apiError struct {
	Error struct {
		Code        string         `json:"code"`
		Description string         `json:"description"`
		Field       *string        `json:"field"`
		Source      string         `json:"source"`
		Step        string         `json:"step"`
		Reason      string         `json:"reason"`
		Metadata    map[string]any `json:"metadata"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, desc, field, source, reason string) {
	var e apiError
	e.Error.Code, e.Error.Description, e.Error.Source, e.Error.Step, e.Error.Reason = code, desc, source, "NA", reason
	e.Error.Metadata = map[string]any{}
	if field != "" {
		e.Error.Field = &field
	}
	writeJSON(w, status, e)
}

// badRequest is a validation error.
type badRequest struct{ desc, field string }

func (b *badRequest) write(w http.ResponseWriter) {
	writeError(w, http.StatusBadRequest, "BAD_REQUEST_ERROR", b.desc, b.field, "business", "input_validation_failed")
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, 1<<20))
}

// decode reads a JSON body into v; numbers stay json.Number.
func decode(b []byte, v any) *badRequest {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return &badRequest{desc: "The request body is not valid JSON.", field: ""}
	}
	return nil
}

// canonical is a JSON body compared as data, not as bytes.
func canonical(b []byte) string {
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

var (
	ifscPattern    = regexp.MustCompile(`^[A-Z]{4}0[A-Z0-9]{6}$`)
	accountPattern = regexp.MustCompile(`^[A-Za-z0-9]{5,35}$`)
	keyPattern     = regexp.MustCompile(`^[A-Za-z0-9_\- ]{4,36}$`)
)

// nameValid applies RazorpayX's name rule with a length range.
func nameValid(s string, min, max int) bool {
	r := []rune(s)
	if len(r) < min || len(r) > max {
		return false
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(" ’-_/(),.", c)) {
			return false
		}
	}
	last := r[len(r)-1]
	return last == '.' || last >= 'a' && last <= 'z' || last >= 'A' && last <= 'Z' || last >= '0' && last <= '9'
}

func suffix(s string) string {
	if len(s) < 4 {
		return s
	}
	return s[len(s)-4:]
}

// ---- contacts ----

type contact struct {
	id, name, email, phone, typ, referenceID string
	notes                                    map[string]any
	created                                  time.Time
}

type contactJSON struct {
	ID          string         `json:"id"`
	Entity      string         `json:"entity"`
	Name        string         `json:"name"`
	Contact     *string        `json:"contact"`
	Email       *string        `json:"email"`
	Type        *string        `json:"type"`
	ReferenceID *string        `json:"reference_id"`
	BatchID     *string        `json:"batch_id"`
	Active      bool           `json:"active"`
	Notes       map[string]any `json:"notes"`
	CreatedAt   int64          `json:"created_at"`
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (c *contact) json() contactJSON {
	notes := c.notes
	if notes == nil {
		notes = map[string]any{}
	}
	return contactJSON{ID: c.id, Entity: "contact", Name: c.name, Contact: nilIfEmpty(c.phone), Email: nilIfEmpty(c.email),
		Type: nilIfEmpty(c.typ), ReferenceID: nilIfEmpty(c.referenceID), Active: true, Notes: notes, CreatedAt: c.created.Unix()}
}

func (f *Fake) createContact(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(r)
	if err != nil {
		return
	}
	f.mu.Lock()
	f.counts.ContactRequests++
	fault := f.fault(OpCreateContact)
	f.mu.Unlock()
	if f.before(w, r, fault) {
		return
	}
	var req struct {
		Name        *string        `json:"name"`
		Email       *string        `json:"email"`
		Contact     *string        `json:"contact"`
		Type        *string        `json:"type"`
		ReferenceID *string        `json:"reference_id"`
		Notes       map[string]any `json:"notes"`
	}
	if bad := decode(b, &req); bad != nil {
		bad.write(w)
		return
	}
	var bad *badRequest
	switch {
	case str(req.Name) == "":
		bad = &badRequest{"The name field is required.", "name"}
	case !nameValid(str(req.Name), 3, 50):
		bad = &badRequest{"The name field is invalid.", "name"}
	case req.Type != nil && !map[string]bool{"vendor": true, "customer": true, "employee": true, "self": true}[*req.Type]:
		bad = &badRequest{"Invalid type: " + *req.Type, "type"}
	case len(str(req.ReferenceID)) > 40:
		bad = &badRequest{"The reference id may not be greater than 40 characters.", "reference_id"}
	}
	if bad != nil {
		bad.write(w)
		return
	}
	f.mu.Lock()
	status := http.StatusOK
	var c *contact
	for _, old := range f.contacts {
		if old.name == str(req.Name) && old.email == str(req.Email) && old.phone == str(req.Contact) && old.typ == str(req.Type) && old.referenceID == str(req.ReferenceID) {
			c = old
			break
		}
	}
	if c == nil {
		c = &contact{id: f.nextID("cont"), name: str(req.Name), email: str(req.Email), phone: str(req.Contact), typ: str(req.Type),
			referenceID: str(req.ReferenceID), notes: req.Notes, created: f.clock.Now()}
		f.contacts = append(f.contacts, c)
		f.contactByID[c.id] = c
		f.counts.ContactsCreated++
		status = http.StatusCreated
	}
	out := c.json()
	f.mu.Unlock()
	f.after(w, r, fault, status, out)
}

// ---- fund accounts ----

type fundAccount struct {
	id, contactID, name, ifsc, accountNumber string
	created                                  time.Time
}

type fundAccountJSON struct {
	ID          string  `json:"id"`
	Entity      string  `json:"entity"`
	ContactID   string  `json:"contact_id"`
	AccountType string  `json:"account_type"`
	BankAccount any     `json:"bank_account"`
	BatchID     *string `json:"batch_id"`
	Active      bool    `json:"active"`
	CreatedAt   int64   `json:"created_at"`
}

type bankAccountJSON struct {
	IFSC          string `json:"ifsc"`
	BankName      string `json:"bank_name"`
	Name          string `json:"name"`
	AccountNumber string `json:"account_number"`
	Notes         []any  `json:"notes"`
}

func (fa *fundAccount) json() fundAccountJSON {
	ba := bankAccountJSON{IFSC: fa.ifsc, BankName: fa.ifsc[:4] + " Bank", Name: fa.name, AccountNumber: fa.accountNumber, Notes: []any{}}
	return fundAccountJSON{ID: fa.id, Entity: "fund_account", ContactID: fa.contactID, AccountType: "bank_account",
		BankAccount: ba, Active: true, CreatedAt: fa.created.Unix()}
}

func (f *Fake) createFundAccount(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(r)
	if err != nil {
		return
	}
	f.mu.Lock()
	f.counts.FundAccountRequests++
	fault := f.fault(OpCreateFundAccount)
	f.mu.Unlock()
	if f.before(w, r, fault) {
		return
	}
	var req struct {
		ContactID   *string `json:"contact_id"`
		AccountType *string `json:"account_type"`
		BankAccount *struct {
			Name          *string `json:"name"`
			IFSC          *string `json:"ifsc"`
			AccountNumber *string `json:"account_number"`
		} `json:"bank_account"`
	}
	if bad := decode(b, &req); bad != nil {
		bad.write(w)
		return
	}
	f.mu.Lock()
	_, contactOK := f.contactByID[str(req.ContactID)]
	f.mu.Unlock()
	var bad *badRequest
	switch {
	case str(req.ContactID) == "":
		bad = &badRequest{"The contact id field is required.", "contact_id"}
	case !contactOK:
		bad = &badRequest{"The id provided does not exist", "contact_id"}
	case str(req.AccountType) != "bank_account":
		bad = &badRequest{"Invalid account type: " + str(req.AccountType), "account_type"}
	case req.BankAccount == nil:
		bad = &badRequest{"The bank account field is required.", "bank_account"}
	case !nameValid(str(req.BankAccount.Name), 3, 120):
		bad = &badRequest{"The name field is invalid.", "name"}
	case len(str(req.BankAccount.IFSC)) != 11:
		bad = &badRequest{"The ifsc must be 11 characters.", "ifsc"}
	case !ifscPattern.MatchString(str(req.BankAccount.IFSC)):
		bad = &badRequest{"The ifsc is invalid.", "ifsc"}
	case !accountPattern.MatchString(str(req.BankAccount.AccountNumber)):
		bad = &badRequest{"The account number format is invalid.", "account_number"}
	}
	if bad != nil {
		bad.write(w)
		return
	}
	ba := req.BankAccount
	f.mu.Lock()
	status := http.StatusOK
	var fa *fundAccount
	for _, old := range f.faOrder {
		if old.contactID == *req.ContactID && old.name == *ba.Name && old.ifsc == *ba.IFSC && old.accountNumber == *ba.AccountNumber {
			fa = old
			break
		}
	}
	if fa == nil {
		fa = &fundAccount{id: f.nextID("fa"), contactID: *req.ContactID, name: *ba.Name, ifsc: *ba.IFSC, accountNumber: *ba.AccountNumber, created: f.clock.Now()}
		f.fundAccounts[fa.id] = fa
		f.faOrder = append(f.faOrder, fa)
		f.counts.FundAccountsCreated++
		status = http.StatusCreated
	}
	out := fa.json()
	f.mu.Unlock()
	f.after(w, r, fault, status, out)
}

// ---- payouts ----

// stage is one status in a payout's life, at an offset from creation.
type stage struct {
	at             time.Duration
	status         string
	reason, source string
	description    string
}

type payoutRec struct {
	id, fundAccountID, mode, purpose, referenceID, currency, key, narration string
	amount                                                                  int64
	notes                                                                   map[string]any
	created                                                                 time.Time
	stages                                                                  []stage
	next                                                                    int
	frozen                                                                  bool
	status, reason, source, description, utr                                string
}

// descriptions of status_details reasons (paraphrased from RazorpayX's
// payout status details).
var descriptions = map[string]string{
	"low_balance":                           "Payout is queued: the business account balance is too low to process it.",
	"beneficiary_bank_confirmation_pending": "The beneficiary bank has not yet confirmed the credit.",
	"payout_processed":                      "Payout is processed and the money is credited to the beneficiary's account.",
	"beneficiary_bank_rejected":             "The beneficiary bank rejected the payout.",
	"bank_account_closed":                   "The beneficiary account is closed.",
	"bank_account_frozen":                   "The beneficiary account is frozen.",
	"bank_account_invalid":                  "The beneficiary account details are invalid.",
	"invalid_ifsc_code":                     "The IFSC is invalid.",
	"imps_not_allowed":                      "IMPS is not enabled on the beneficiary account.",
	"insufficient_funds":                    "The business account has insufficient funds.",
	"pending_approval":                      "The payout waits for approval.",
}

// sourceOf is a reason's status_details.source.
func sourceOf(reason string) string {
	switch {
	case reason == "":
		return ""
	case strings.HasPrefix(reason, "gateway"):
		return "gateway"
	case strings.HasPrefix(reason, "server_error"), reason == "partner_bank_pending":
		return "internal"
	case reason == "low_balance", reason == "insufficient_funds", reason == "pending_approval", reason == "amount_limit_exhausted_neft",
		reason == "beneficiary_account_invalid", reason == "invalid_beneficiary":
		return "business"
	}
	return "beneficiary_bank"
}

func describe(reason string) string {
	if d, ok := descriptions[reason]; ok {
		return d
	}
	if reason == "" {
		return ""
	}
	return "Payout status reason: " + reason + "."
}

// timeline turns a fate into stages.
func (f *Fake) timeline(fate Fate) []stage {
	var st []stage
	t := time.Duration(0)
	if fate.Queued > 0 {
		st = append(st, stage{at: 0, status: "queued", reason: "low_balance"})
		t = fate.Queued
	}
	st = append(st, stage{at: t, status: "processing", reason: fate.ProcessingReason})
	end := t + fate.After
	switch fate.Outcome {
	case Fails:
		reason := fate.Reason
		if reason == "" {
			reason = "beneficiary_bank_rejected"
		}
		st = append(st, stage{at: end, status: "failed", reason: reason})
	case Reverses:
		reason := fate.Reason
		if reason == "" {
			reason = "bank_account_closed"
		}
		st = append(st, stage{at: end, status: "processed", reason: "payout_processed"},
			stage{at: end + fate.ReverseAfter, status: "reversed", reason: reason})
	case StaysProcessing:
	default:
		st = append(st, stage{at: end, status: "processed", reason: "payout_processed"})
	}
	for i := range st {
		st[i].source = sourceOf(st[i].reason)
		st[i].description = describe(st[i].reason)
	}
	return st
}

// fateFor picks a payout's fate.
func (f *Fake) fateFor(key, accountNumber string) Fate {
	if s := f.refScripts[key]; s != nil && s.Fate.Outcome != OutcomeDefault {
		return s.Fate
	}
	if fate, ok := f.acctFates[accountNumber]; ok && fate.Outcome != OutcomeDefault {
		return fate
	}
	o := f.o
	switch suffix(accountNumber) {
	case "3333":
		return Fate{Outcome: Fails, After: o.Settle, Reason: "beneficiary_bank_rejected"}
	case "6666":
		return Fate{Outcome: Pays, After: o.PendingFor + o.Settle, ProcessingReason: "beneficiary_bank_confirmation_pending"}
	case "7777":
		return Fate{Outcome: Reverses, After: o.Settle, ReverseAfter: o.ReverseAfter, Reason: "bank_account_closed"}
	case "2222":
		return Fate{Outcome: Pays, Queued: o.QueueFor, After: o.Settle}
	}
	return Fate{Outcome: Pays, After: o.Settle}
}

// enter moves p into stage s and queues its event.
func (f *Fake) enter(p *payoutRec, s stage) {
	if s.description == "" {
		s.description = describe(s.reason)
	}
	if s.source == "" {
		s.source = sourceOf(s.reason)
	}
	changedUTR := false
	if s.status == "processed" && p.utr == "" {
		f.utrSeq++
		switch p.mode {
		case "NEFT":
			p.utr = fmt.Sprintf("RZPXN%011d", f.utrSeq)
		case "RTGS":
			p.utr = fmt.Sprintf("RZPXR%011d", f.utrSeq)
		default:
			p.utr = fmt.Sprintf("%012d", 412000000000+f.utrSeq)
		}
		changedUTR = true
	}
	if p.status == s.status && p.reason == s.reason && !changedUTR {
		return
	}
	p.status, p.reason, p.source, p.description = s.status, s.reason, s.source, s.description
	f.queueEvent(payoutEvent(s.status), p.referenceID, p.key, "payout", p.json())
}

// payoutEvent names the webhook event of a status.
func payoutEvent(status string) string {
	switch status {
	case "queued", "pending", "processed", "failed", "reversed", "rejected":
		return "payout." + status
	case "processing":
		return "payout.initiated"
	}
	return "payout.updated"
}

// catchUp applies every stage due at now.
func (f *Fake) catchUp(p *payoutRec, now time.Time) {
	for !p.frozen && p.next < len(p.stages) && !p.created.Add(p.stages[p.next].at).After(now) {
		f.enter(p, p.stages[p.next])
		p.next++
	}
}

type detailsJSON struct {
	Description string `json:"description"`
	Source      string `json:"source"`
	Reason      string `json:"reason"`
}

type payoutJSON struct {
	ID            string         `json:"id"`
	Entity        string         `json:"entity"`
	FundAccountID string         `json:"fund_account_id"`
	Amount        int64          `json:"amount"`
	Currency      string         `json:"currency"`
	Notes         map[string]any `json:"notes"`
	Fees          int64          `json:"fees"`
	Tax           int64          `json:"tax"`
	Status        string         `json:"status"`
	UTR           *string        `json:"utr"`
	Mode          string         `json:"mode"`
	Purpose       string         `json:"purpose"`
	ReferenceID   *string        `json:"reference_id"`
	Narration     *string        `json:"narration"`
	BatchID       *string        `json:"batch_id"`
	StatusDetails *detailsJSON   `json:"status_details"`
	CreatedAt     int64          `json:"created_at"`
	FeeType       string         `json:"fee_type"`
}

func (p *payoutRec) json() payoutJSON {
	notes := p.notes
	if notes == nil {
		notes = map[string]any{}
	}
	out := payoutJSON{ID: p.id, Entity: "payout", FundAccountID: p.fundAccountID, Amount: p.amount, Currency: p.currency, Notes: notes,
		Status: p.status, UTR: nilIfEmpty(p.utr), Mode: p.mode, Purpose: p.purpose, ReferenceID: nilIfEmpty(p.referenceID),
		Narration: nilIfEmpty(p.narration), CreatedAt: p.created.Unix()}
	if p.status != "queued" && p.status != "pending" {
		out.Fees, out.Tax = 500, 90
	}
	if p.reason != "" {
		out.StatusDetails = &detailsJSON{Description: p.description, Source: p.source, Reason: p.reason}
	}
	return out
}

func (f *Fake) createPayout(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(r)
	if err != nil {
		return
	}
	key := r.Header.Get("X-Payout-Idempotency")
	f.mu.Lock()
	f.counts.PayoutRequests++
	fault := Answer
	if s := f.refScripts[key]; s != nil && len(s.Faults) > 0 {
		fault, s.Faults = s.Faults[0], s.Faults[1:]
	} else {
		fault = f.fault(OpCreatePayout)
	}
	f.mu.Unlock()
	if f.before(w, r, fault) {
		return
	}
	if key == "" {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST_ERROR", "Idempotency key is missing. Include idempotency header and key in the request.", "X-Payout-Idempotency", "business", "null")
		return
	}
	if !keyPattern.MatchString(key) {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST_ERROR", "The idempotency key must be 4 to 36 letters, digits, hyphens, underscores or spaces.", "X-Payout-Idempotency", "business", "input_validation_failed")
		return
	}
	body := canonical(b)

	f.mu.Lock()
	if p := f.byKey[key]; p != nil {
		if f.keyBody[key] != body {
			f.mu.Unlock()
			writeError(w, http.StatusBadRequest, "BAD_REQUEST_ERROR", "Different request body sent for the same Idempotency Header.", "X-Payout-Idempotency", "business", "input_validation_failed")
			return
		}
		f.catchUp(p, f.clock.Now())
		out := p.json()
		f.mu.Unlock()
		f.afterPayout(w, r, fault, p, out)
		return
	}
	f.mu.Unlock()

	var req struct {
		AccountNumber     *string        `json:"account_number"`
		FundAccountID     *string        `json:"fund_account_id"`
		Amount            *json.Number   `json:"amount"`
		Currency          *string        `json:"currency"`
		Mode              *string        `json:"mode"`
		Purpose           *string        `json:"purpose"`
		QueueIfLowBalance *bool          `json:"queue_if_low_balance"`
		ReferenceID       *string        `json:"reference_id"`
		Narration         *string        `json:"narration"`
		Notes             map[string]any `json:"notes"`
	}
	if bad := decode(b, &req); bad != nil {
		bad.write(w)
		return
	}
	var amount int64
	if req.Amount != nil {
		amount, err = strconv.ParseInt(req.Amount.String(), 10, 64)
		if err != nil {
			amount = -1
		}
	}
	f.mu.Lock()
	fa := f.fundAccounts[str(req.FundAccountID)]
	f.mu.Unlock()
	var bad *badRequest
	switch {
	case str(req.AccountNumber) == "":
		bad = &badRequest{"The account number field is required", "account_number"}
	case str(req.AccountNumber) != f.o.AccountNumber:
		bad = &badRequest{"The account number is invalid.", "account_number"}
	case req.Amount == nil:
		bad = &badRequest{"The amount field is required.", "amount"}
	case amount < 100:
		bad = &badRequest{"The amount must be an integer of at least 100 (paise).", "amount"}
	case str(req.Currency) != "INR":
		bad = &badRequest{"The currency must be INR.", "currency"}
	case !map[string]bool{"NEFT": true, "RTGS": true, "IMPS": true, "UPI": true, "card": true}[str(req.Mode)]:
		bad = &badRequest{"The selected mode is invalid.", "mode"}
	case str(req.Mode) == "IMPS" && amount > 500000_00:
		bad = &badRequest{"IMPS payouts cannot exceed ₹5,00,000.", "amount"}
	case str(req.Mode) == "RTGS" && amount < 200000_00:
		bad = &badRequest{"RTGS payouts must be at least ₹2,00,000.", "amount"}
	case str(req.Purpose) == "":
		bad = &badRequest{"The purpose field is required.", "purpose"}
	case str(req.FundAccountID) == "":
		bad = &badRequest{"The fund account id field is required.", "fund_account_id"}
	case fa == nil:
		bad = &badRequest{"The id provided does not exist", "fund_account_id"}
	case len(str(req.ReferenceID)) > 40:
		bad = &badRequest{"The reference id may not be greater than 40 characters.", "reference_id"}
	}
	if bad != nil {
		bad.write(w)
		return
	}

	f.mu.Lock()
	p := f.byKey[key]
	if p != nil {
		// Another request under the key won while this one was checked.
		same := f.keyBody[key] == body
		f.catchUp(p, f.clock.Now())
		out := p.json()
		f.mu.Unlock()
		if !same {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST_ERROR", "Different request body sent for the same Idempotency Header.", "X-Payout-Idempotency", "business", "input_validation_failed")
			return
		}
		f.afterPayout(w, r, fault, p, out)
		return
	}
	now := f.clock.Now()
	p = &payoutRec{id: f.nextID("pout"), fundAccountID: fa.id, mode: str(req.Mode), purpose: str(req.Purpose), referenceID: str(req.ReferenceID),
		currency: "INR", key: key, narration: str(req.Narration), amount: amount, notes: req.Notes, created: now}
	p.stages = f.timeline(f.fateFor(key, fa.accountNumber))
	f.payouts = append(f.payouts, p)
	f.payoutByID[p.id] = p
	f.byKey[key] = p
	f.keyBody[key] = body
	f.counts.PayoutsCreated++
	f.catchUp(p, now)
	out := p.json()
	f.mu.Unlock()
	f.afterPayout(w, r, fault, p, out)
}

// afterPayout answers a create, delivering the payout's queued events
// first under WebhookBeforeAnswer; a payout to a silent account (magic
// 5555) is never answered.
func (f *Fake) afterPayout(w http.ResponseWriter, r *http.Request, fault Fault, p *payoutRec, out payoutJSON) {
	f.mu.Lock()
	if fa := f.fundAccounts[p.fundAccountID]; fault == Answer && fa != nil && suffix(fa.accountNumber) == "5555" {
		fault = HangAfterCommit
	}
	f.mu.Unlock()
	if fault == WebhookBeforeAnswer {
		f.deliverFor(r.Context(), p.key)
	}
	f.after(w, r, fault, http.StatusOK, out)
}

func (f *Fake) listPayouts(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.counts.ListRequests++
	fault := f.fault(OpListPayouts)
	f.mu.Unlock()
	if f.before(w, r, fault) {
		return
	}
	q := r.URL.Query()
	if q.Get("account_number") == "" {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST_ERROR", "The account number field is required", "account_number", "business", "input_validation_failed")
		return
	}
	count, skip := 10, 0
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST_ERROR", "The count must be between 1 and 100.", "count", "business", "input_validation_failed")
			return
		}
		count = n
	}
	if v := q.Get("skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST_ERROR", "The skip must be at least 0.", "skip", "business", "input_validation_failed")
			return
		}
		skip = n
	}
	f.mu.Lock()
	now := f.clock.Now()
	items := []payoutJSON{}
	if q.Get("account_number") == f.o.AccountNumber {
		var match []*payoutRec
		for _, p := range f.payouts {
			f.catchUp(p, now)
			fa := f.fundAccounts[p.fundAccountID]
			switch {
			case f.o.ListLag > 0 && now.Sub(p.created) < f.o.ListLag:
			case q.Has("reference_id") && p.referenceID != q.Get("reference_id"):
			case q.Has("fund_account_id") && p.fundAccountID != q.Get("fund_account_id"):
			case q.Has("contact_id") && (fa == nil || fa.contactID != q.Get("contact_id")):
			case q.Has("status") && p.status != q.Get("status"):
			case q.Has("mode") && p.mode != q.Get("mode"):
			default:
				match = append(match, p)
			}
		}
		sort.SliceStable(match, func(i, j int) bool { return match[i].created.After(match[j].created) })
		for i := skip; i < len(match) && len(items) < count; i++ {
			items = append(items, match[i].json())
		}
	}
	f.mu.Unlock()
	f.after(w, r, fault, http.StatusOK, map[string]any{"entity": "collection", "count": len(items), "items": items})
}

func (f *Fake) fetchPayout(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	fault := f.fault(OpFetchPayout)
	f.mu.Unlock()
	if f.before(w, r, fault) {
		return
	}
	f.mu.Lock()
	p := f.payoutByID[r.PathValue("id")]
	var out payoutJSON
	if p != nil {
		f.catchUp(p, f.clock.Now())
		out = p.json()
	}
	f.mu.Unlock()
	if p == nil {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST_ERROR", "The id provided does not exist", "id", "business", "input_validation_failed")
		return
	}
	f.after(w, r, fault, http.StatusOK, out)
}

// ---- fund account validations ----

type validationRec struct {
	id, fundAccountID string
	amount            int64
	notes             map[string]any
	created           time.Time
	fate              ValidationFate
	status            string
	accountStatus     string
	registeredName    string
	utr               string
}

type validationJSON struct {
	ID          string          `json:"id"`
	Entity      string          `json:"entity"`
	FundAccount fundAccountJSON `json:"fund_account"`
	Status      string          `json:"status"`
	Amount      int64           `json:"amount"`
	Currency    string          `json:"currency"`
	Notes       map[string]any  `json:"notes"`
	Results     struct {
		AccountStatus  *string `json:"account_status"`
		RegisteredName *string `json:"registered_name"`
	} `json:"results"`
	CreatedAt int64   `json:"created_at"`
	UTR       *string `json:"utr"`
}

func (f *Fake) validationJSON(v *validationRec) validationJSON {
	notes := v.notes
	if notes == nil {
		notes = map[string]any{}
	}
	out := validationJSON{ID: v.id, Entity: "fund_account.validation", FundAccount: f.fundAccounts[v.fundAccountID].json(), Status: v.status,
		Amount: v.amount, Currency: "INR", Notes: notes, CreatedAt: v.created.Unix(), UTR: nilIfEmpty(v.utr)}
	out.Results.AccountStatus = nilIfEmpty(v.accountStatus)
	out.Results.RegisteredName = nilIfEmpty(v.registeredName)
	return out
}

func (f *Fake) validationFate(accountNumber string) ValidationFate {
	if v, ok := f.valFates[accountNumber]; ok && v.Result != ValidationDefault {
		return v
	}
	switch suffix(accountNumber) {
	case "1111":
		return ValidationFate{Result: ValidationInvalid}
	case "1112":
		return ValidationFate{Result: ValidationFailed}
	case "1113":
		return ValidationFate{Result: ValidationActive, After: f.o.PendingFor}
	case "1114":
		return ValidationFate{Result: ValidationActive, RegisteredName: "Someone Else"}
	}
	return ValidationFate{Result: ValidationActive, After: f.o.ValidationDelay}
}

// catchUpValidation completes v when its time has come.
func (f *Fake) catchUpValidation(v *validationRec, now time.Time) {
	if v.status != "created" || v.created.Add(v.fate.After).After(now) {
		return
	}
	fa := f.fundAccounts[v.fundAccountID]
	event := "fund_account.validation.completed"
	switch v.fate.Result {
	case ValidationFailed:
		v.status = "failed"
		event = "fund_account.validation.failed"
	case ValidationInvalid:
		v.status, v.accountStatus = "completed", "invalid"
	default:
		v.status, v.accountStatus, v.registeredName = "completed", "active", v.fate.RegisteredName
		if v.registeredName == "" {
			v.registeredName = fa.name
		}
		f.utrSeq++
		v.utr = fmt.Sprintf("%012d", 512000000000+f.utrSeq)
	}
	f.queueEvent(event, "", "", "fund_account.validation", f.validationJSON(v))
}

func (f *Fake) createValidation(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(r)
	if err != nil {
		return
	}
	f.mu.Lock()
	f.counts.ValidationRequests++
	fault := f.fault(OpCreateValidation)
	f.mu.Unlock()
	if f.before(w, r, fault) {
		return
	}
	var req struct {
		AccountNumber *string `json:"account_number"`
		FundAccount   *struct {
			ID *string `json:"id"`
		} `json:"fund_account"`
		Amount   *json.Number   `json:"amount"`
		Currency *string        `json:"currency"`
		Notes    map[string]any `json:"notes"`
	}
	if bad := decode(b, &req); bad != nil {
		bad.write(w)
		return
	}
	var amount int64 = 100
	if req.Amount != nil {
		amount, err = strconv.ParseInt(req.Amount.String(), 10, 64)
		if err != nil {
			amount = -1
		}
	}
	f.mu.Lock()
	var fa *fundAccount
	if req.FundAccount != nil {
		fa = f.fundAccounts[str(req.FundAccount.ID)]
	}
	var bad *badRequest
	switch {
	case str(req.AccountNumber) != f.o.AccountNumber:
		bad = &badRequest{"The account number is invalid.", "account_number"}
	case fa == nil:
		bad = &badRequest{"The id provided does not exist", "fund_account.id"}
	case amount < 100:
		bad = &badRequest{"The amount must be at least 100.", "amount"}
	case req.Currency != nil && *req.Currency != "INR":
		bad = &badRequest{"The currency must be INR.", "currency"}
	}
	if bad != nil {
		f.mu.Unlock()
		bad.write(w)
		return
	}
	v := &validationRec{id: f.nextID("fav"), fundAccountID: fa.id, amount: amount, notes: req.Notes, created: f.clock.Now(),
		fate: f.validationFate(fa.accountNumber), status: "created"}
	f.validations[v.id] = v
	f.valOrder = append(f.valOrder, v)
	f.counts.ValidationsCreated++
	f.catchUpValidation(v, v.created)
	out := f.validationJSON(v)
	f.mu.Unlock()
	f.after(w, r, fault, http.StatusOK, out)
}

func (f *Fake) fetchValidation(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	fault := f.fault(OpFetchValidation)
	f.mu.Unlock()
	if f.before(w, r, fault) {
		return
	}
	f.mu.Lock()
	v := f.validations[r.PathValue("id")]
	var out validationJSON
	if v != nil {
		f.catchUpValidation(v, f.clock.Now())
		out = f.validationJSON(v)
	}
	f.mu.Unlock()
	if v == nil {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST_ERROR", "The id provided does not exist", "id", "business", "input_validation_failed")
		return
	}
	f.after(w, r, fault, http.StatusOK, out)
}

// errNoWebhookURL: the fake has nowhere to send events.
var errNoWebhookURL = errors.New("razorpayxfake: Options.WebhookURL is empty")
