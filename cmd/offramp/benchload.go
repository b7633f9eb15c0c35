package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp/client"
	"github.com/offramp/offramp/signature"
)

// loadClient sends DollarPe-signed requests with as little client-side work
// as possible (no retries, a minimal decode), so that the clients take
// little of the CPU they share with a local server.
type loadClient struct {
	base, key, secret string
	hc                *http.Client
}

func newLoadClient(base, key, secret string, conns int) *loadClient {
	tr := &http.Transport{
		MaxIdleConns: 2 * conns, MaxIdleConnsPerHost: 2 * conns, IdleConnTimeout: 90 * time.Second,
		DisableCompression: true, ForceAttemptHTTP2: false,
	}
	return &loadClient{base: base, key: key, secret: secret, hc: &http.Client{
		Transport: tr, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// envelope is the API's answer.
type benchEnvelope struct {
	Status  bool            `json:"status"`
	Message string          `json:"message"`
	ErrCode string          `json:"err_code"`
	Data    json.RawMessage `json:"data"`
}

// callResult is one request as the client saw it.
type callResult struct {
	status int
	header http.Header
	env    benchEnvelope
	dur    time.Duration
	err    error // transport error, or an answer that is not the envelope
}

// call sends one signed request. body is the canonical JSON to send and
// sign (nil: no body, and "{}" is signed, as for a GET). The duration runs
// from sending to having read the whole answer.
func (c *loadClient) call(ctx context.Context, method, path string, body []byte, hdr http.Header) callResult {
	var rd io.Reader
	signed := body
	if body != nil {
		rd = bytes.NewReader(body)
	} else {
		signed = []byte("{}")
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return callResult{err: err}
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("X-API-KEY", c.key)
	req.Header.Set("X-TIMESTAMP", ts)
	req.Header.Set("X-SIGNATURE", signature.Sign(c.key, c.secret, ts, signed))
	req.Header.Set("User-Agent", "offramp-bench")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	res, err := c.hc.Do(req)
	if err != nil {
		return callResult{err: err, dur: time.Since(start)}
	}
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	r := callResult{status: res.StatusCode, header: res.Header, dur: time.Since(start)}
	if err != nil {
		r.err = err
		return r
	}
	if err := json.Unmarshal(raw, &r.env); err != nil {
		r.err = fmt.Errorf("HTTP %d with an answer that is not the API's envelope: %.80q", res.StatusCode, raw)
	}
	return r
}

// callRetrying is call, sent again (signed afresh) after a 503 or 429 as
// the Go SDK does: after the Retry-After the server gives (the API sends 1
// s with a 503: the storage is busy), at most retries times. The result
// is the last attempt's, its duration that of every attempt and wait; the
// failures of the attempts sent again are counted in retried.
func (c *loadClient) callRetrying(ctx context.Context, op, method, path string, body []byte, hdr http.Header, retries int, retried map[string]int) callResult {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		r := c.call(ctx, method, path, body, hdr)
		if r.err != nil || (r.status != http.StatusServiceUnavailable && r.status != http.StatusTooManyRequests) || attempt >= retries {
			r.dur = time.Since(start)
			return r
		}
		retried[r.failure(op, 0)]++
		wait := time.Second
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err == nil && s >= 0 {
			wait = time.Duration(min(s, 30)) * time.Second
		}
		if body != nil {
			// The server may have recorded the failed attempt's signature:
			// the next one must carry a later timestamp (whole seconds).
			wait = max(wait, time.Second)
		}
		select {
		case <-ctx.Done():
			r.dur = time.Since(start)
			return r
		case <-time.After(wait):
		}
	}
}

// failure names a failed call: call, HTTP status, err_code and message, so
// that equal failures count together.
func (r callResult) failure(op string, want int) string {
	switch {
	case r.err != nil:
		return op + ": " + r.err.Error()
	case r.status == want && r.env.Status:
		return ""
	}
	msg := r.env.Message
	if msg == "" {
		msg = http.StatusText(r.status)
	}
	if r.env.ErrCode != "" {
		return fmt.Sprintf("%s: HTTP %d %s: %s", op, r.status, r.env.ErrCode, msg)
	}
	return fmt.Sprintf("%s: HTTP %d: %s", op, r.status, msg)
}

// id reads data.id of an answer.
func (r callResult) id() string {
	var d struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(r.env.Data, &d)
	return d.ID
}

// historyCount reads the count of the organization's payout history.
func (c *loadClient) historyCount(ctx context.Context) (int, error) {
	r := c.call(ctx, http.MethodGet, "/pos/api/v1/payout/history?page=1&page_size=1", nil, nil)
	if f := r.failure("history", http.StatusOK); f != "" {
		return 0, errors.New(f)
	}
	var d struct {
		Count *int `json:"count"`
	}
	if err := json.Unmarshal(r.env.Data, &d); err != nil || d.Count == nil {
		return 0, fmt.Errorf("history: no count in %.80q", r.env.Data)
	}
	return *d.Count, nil
}

// metrics reads the server's /metrics (unsigned).
func (c *loadClient) metrics(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/metrics", nil)
	if err != nil {
		return "", err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("/metrics: HTTP %d", res.StatusCode)
	}
	return string(b), nil
}

// party is a customer with a verified bank account.
type party struct{ customer, bank string }

// onboard makes n customers ready for payouts through the API, as an
// exchange does in the sandbox: create, KYC, mock-kyc-status VERIFIED, a
// bank account, mock-bank-verification VERIFIED. Identity numbers are
// random (a running server may hold earlier runs' customers); one that is
// already in use is drawn again.
func onboard(ctx context.Context, lc *loadClient, n, workers int, runID string) ([]party, onboardResult, error) {
	counter := &statusCounter{next: lc.hc.Transport}
	hc := *lc.hc
	hc.Transport = counter
	c := client.New(lc.base, lc.key, lc.secret, client.WithHTTPClient(&hc), client.WithRetry(3, 100*time.Millisecond, time.Second),
		client.WithUserAgent("offramp-bench"))
	res := onboardResult{Customers: n, Concurrency: max(1, min(workers, n))}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	parties := make([]party, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range res.Concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				p, err := onboardOne(ctx, c, fmt.Sprintf("bench-%s-%d", runID, i))
				if err != nil {
					cancel(fmt.Errorf("customer %d: %w", i, apiError(err)))
					return
				}
				parties[i] = p
			}
		})
	}
	wg.Wait()
	res.Answers5xx, res.Answers503 = counter.n5xx.Load(), counter.n503.Load()
	if err := context.Cause(ctx); err != nil {
		return nil, res, err
	}
	return parties, res, nil
}

// onboardResult is what the onboarding before the run saw.
type onboardResult struct {
	Customers   int     `json:"customers"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	// Answers503 counts the 503 answers (each retried by the client),
	// Answers5xx every 5xx answer, 503 included.
	Answers503 int64 `json:"answers_503"`
	Answers5xx int64 `json:"answers_5xx"`
}

// statusCounter counts the server's 5xx answers that pass through it.
type statusCounter struct {
	next       http.RoundTripper
	n5xx, n503 atomic.Int64
}

func (c *statusCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil && resp.StatusCode >= 500 {
		c.n5xx.Add(1)
		if resp.StatusCode == http.StatusServiceUnavailable {
			c.n503.Add(1)
		}
	}
	return resp, err
}

const benchName = "Bench Customer"

func onboardOne(ctx context.Context, c *client.Client, ref string) (party, error) {
	var cu *client.Customer
	err := redrawOnConflict(func() error {
		var err error
		cu, err = c.CreateCustomer(ctx, client.CreateCustomerRequest{FullName: benchName, Email: ref + "@example.com",
			Phone: "9" + randomDigits(9), Alpha3CountryCode: "IND", ClientReferenceID: ref})
		return err
	})
	if err != nil {
		return party{}, err
	}
	err = redrawOnConflict(func() error {
		_, err := c.AddKYC(ctx, client.KYCRequest{CustomerID: cu.ID, FullName: benchName, FullAddress: "1 Bench Road, Mumbai 400001",
			DOB: "01-01-1990", RegisteredDate: "01-01-2024", TaxNumber: randomPAN(), DocumentType: "AADHAAR",
			DocumentNumber: "4" + randomDigits(11), DocumentFrontImageURL: "https://sandbox.offramp.dev/test-images/aadhaar-front.jpg",
			DocumentBackImageURL: "https://sandbox.offramp.dev/test-images/aadhaar-back.jpg",
			SelfieURL:            "https://sandbox.offramp.dev/test-images/selfie.jpg", SelfieVerificationStatus: true})
		return err
	})
	if err != nil {
		return party{}, err
	}
	if _, err := c.MockKYCStatus(ctx, cu.ID, "VERIFIED"); err != nil {
		// The server's own verifier may have decided first.
		st, werr := waitFor(ctx, func() (string, error) {
			x, err := c.GetCustomer(ctx, cu.ID)
			if err != nil {
				return "", err
			}
			return x.Status, nil
		})
		if werr != nil || st != "VERIFIED" {
			return party{}, fmt.Errorf("KYC not verified (%s; mock-kyc-status: %w)", st, err)
		}
	}
	var bk *client.Bank
	err = redrawOnConflict(func() error {
		var err error
		// Ends in 89: no sandbox magic ending (0000 ... 7777).
		bk, err = c.CreateBank(ctx, client.CreateBankRequest{CustomerID: cu.ID, AccountNumber: "5" + randomDigits(7) + "89", IFSC: "HDFC0001234"})
		return err
	})
	if err != nil {
		return party{}, err
	}
	if _, err := c.MockBankVerification(ctx, cu.ID, bk.ID, "VERIFIED", ""); err != nil {
		st, werr := waitFor(ctx, func() (string, error) {
			x, err := c.GetBank(ctx, cu.ID, bk.ID)
			if err != nil {
				return "", err
			}
			return x.BankAccountStatus, nil
		})
		if werr != nil || st != "VERIFIED" {
			return party{}, fmt.Errorf("bank account not verified (%s; mock-bank-verification: %w)", st, err)
		}
	}
	return party{customer: cu.ID, bank: bk.ID}, nil
}

// redrawOnConflict runs fn again (with new random identity numbers) while
// the server says one is already in use.
func redrawOnConflict(fn func() error) error {
	var err error
	for range 5 {
		err = fn()
		var e *client.Error
		if !errors.As(err, &e) || e.Code != "conflict" {
			return err
		}
	}
	return err
}

// waitFor polls get while it answers PROCESSING, for at most a minute.
func waitFor(ctx context.Context, get func() (string, error)) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		st, err := get()
		if err != nil || st != "PROCESSING" {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func randomDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0' + byte(randInt(10))
	}
	return string(b)
}

// randomPAN is a random, well-formed PAN that no sandbox magic value uses.
func randomPAN() string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 0, 10)
	for range 5 {
		b = append(b, letters[1+randInt(25)]) // never AAAAA0000A
	}
	b = append(b, randomDigits(4)...)
	return string(append(b, letters[randInt(26)]))
}

func randInt(n int) int {
	v, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
	return int(v.Int64())
}

// loadConfig is what the client loop runs.
type loadConfig struct {
	clients     int
	retries     int
	duration    time.Duration
	pairs       int // > 0: stop after this many pairs, not after duration
	mix         bool
	idempotency bool
	amount      decimal.Decimal
	runID       string
	parties     []party
	progress    io.Writer
}

// Call names, in the order the report shows them.
const (
	opInitiate  = "initiate"
	opQuotation = "quotation"
	opGetPayout = "get_payout"
	opHistory   = "history"
)

var benchOps = []string{opInitiate, opQuotation, opGetPayout, opHistory}

// loadResult is what the clients measured.
type loadResult struct {
	elapsed  time.Duration
	ok       int64 // pairs completed
	failed   int64 // pairs with a failed quotation or initiate
	lat      map[string][]time.Duration
	failures map[string]int
	retried  map[string]int
}

// clientStats is one client's own record, merged at the end.
type clientStats struct {
	lat      map[string][]time.Duration
	failures map[string]int
	retried  map[string]int
}

func (s *clientStats) record(op string, r callResult, want int) bool {
	if f := r.failure(op, want); f != "" {
		s.failures[f]++
		return false
	}
	s.lat[op] = append(s.lat[op], r.dur)
	return true
}

// runLoad runs the clients: each takes the next pair number (a unique
// exchange order id and amount) until the pairs or the duration are used
// up, and runs the quotation and the initiate of that pair.
func runLoad(ctx context.Context, lc *loadClient, cfg loadConfig) (loadResult, error) {
	if len(cfg.parties) == 0 {
		return loadResult{}, errors.New("no customers to pay")
	}
	var (
		next       atomic.Int64
		ok, failed atomic.Int64
		wg         sync.WaitGroup
		stats      = make([]*clientStats, cfg.clients)
	)
	start := time.Now()
	deadline := start.Add(cfg.duration)
	stopProgress := startProgress(cfg.progress, start, &ok, &failed)
	for w := range cfg.clients {
		st := &clientStats{lat: map[string][]time.Duration{}, failures: map[string]int{}, retried: map[string]int{}}
		stats[w] = st
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if cfg.pairs > 0 && i >= int64(cfg.pairs) || cfg.pairs == 0 && !time.Now().Before(deadline) {
					return
				}
				p := cfg.parties[int(i)%len(cfg.parties)]
				payout, done := pair(ctx, lc, st, cfg, p, i)
				if !done {
					failed.Add(1)
					continue
				}
				ok.Add(1)
				if cfg.mix {
					st.record(opGetPayout, lc.callRetrying(ctx, opGetPayout, http.MethodGet, "/pos/api/v1/payout/"+payout, nil, nil, cfg.retries, st.retried), http.StatusOK)
					st.record(opHistory, lc.callRetrying(ctx, opHistory, http.MethodGet, "/pos/api/v1/payout/history?page=1", nil, nil, cfg.retries, st.retried), http.StatusOK)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()
	if err := ctx.Err(); err != nil {
		return loadResult{}, err
	}
	res := loadResult{elapsed: elapsed, ok: ok.Load(), failed: failed.Load(), lat: map[string][]time.Duration{}, failures: map[string]int{},
		retried: map[string]int{}}
	for _, st := range stats {
		for op, l := range st.lat {
			res.lat[op] = append(res.lat[op], l...)
		}
		for f, n := range st.failures {
			res.failures[f] += n
		}
		for f, n := range st.retried {
			res.retried[f] += n
		}
	}
	for _, l := range res.lat {
		slices.Sort(l)
	}
	return res, nil
}

// pair runs one quotation and its initiate; it returns the payout id.
func pair(ctx context.Context, lc *loadClient, st *clientStats, cfg loadConfig, p party, i int64) (string, bool) {
	// A distinct amount per pair keeps every quotation body, and so every
	// signature, unique even for one customer within one second.
	amount := cfg.amount.Add(decimal.New(i%1_000_000, -6))
	qbody, err := signature.CanonicalJSON(map[string]any{
		"asset": "USDT", "fiat": "INR", "sending_amount": amount.StringFixed(6), "customer_id": p.customer, "bank_id": p.bank,
		"payment_method": "IMPS",
		"risk_parameters": map[string]any{"ip_address": "127.0.0.1", "device_id": "bench-device", "suspicious_activity_report": false,
			"law_enforcement_agency_report": false},
	})
	if err != nil {
		st.failures["quotation: "+err.Error()]++
		return "", false
	}
	q := lc.callRetrying(ctx, opQuotation, http.MethodPost, "/pos/api/v1/payout/quotation", qbody, nil, cfg.retries, st.retried)
	if !st.record(opQuotation, q, http.StatusOK) {
		return "", false
	}
	ibody, err := signature.CanonicalJSON(map[string]any{
		"quotation_id": q.id(), "customer_id": p.customer, "exchange_order_id": fmt.Sprintf("bench-%s-%d", cfg.runID, i),
	})
	if err != nil {
		st.failures["initiate: "+err.Error()]++
		return "", false
	}
	var hdr http.Header
	if cfg.idempotency {
		hdr = http.Header{"Idempotency-Key": {uuid.NewString()}}
	}
	r := lc.callRetrying(ctx, opInitiate, http.MethodPost, "/pos/api/v1/payout/initiate", ibody, hdr, cfg.retries, st.retried)
	if !st.record(opInitiate, r, http.StatusCreated) {
		return "", false
	}
	return r.id(), true
}

// startProgress prints a line on w about once a second: pairs so far, the
// rate over the last second, failures. The returned func stops it.
func startProgress(w io.Writer, start time.Time, ok, failed *atomic.Int64) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last, lastAt := int64(0), start
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				n, f := ok.Load(), failed.Load()
				rate := float64(n-last) / now.Sub(lastAt).Seconds()
				fmt.Fprintf(w, "bench: %6.1fs  %8d pairs  %7.1f pairs/s now  %d failed\n", now.Sub(start).Seconds(), n, rate, f)
				last, lastAt = n, now
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
