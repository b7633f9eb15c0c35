package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp/client"
)

var utrPattern = regexp.MustCompile(`^[0-9]{12}$`)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// The integration guide, step by step, through the SDK.
func TestGuideFlow(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newClient(srv)
	ctx := t.Context()

	// 1. Configuration.
	cfg, err := c.PayoutConfiguration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cfg.SupportedAssets, "USDT") || !slices.Contains(cfg.SupportedFiats, "INR") ||
		!slices.Contains(cfg.SupportedPaymentMethods, "IMPS") || len(cfg.SupportedNetworks) == 0 || len(cfg.RequiredRiskParameters) == 0 {
		t.Fatalf("configuration: %+v", cfg)
	}
	usdt := cfg.CoinLimits["USDT"]
	if !usdt.Min.Equal(dec("10")) || !usdt.Max.Equal(dec("5600")) || !usdt.PerMethod["IMPS"].Max.Equal(dec("5600")) {
		t.Fatalf("USDT limits: %+v", usdt)
	}
	if _, ok := cfg.CoinLimits["INR"]; ok || len(cfg.CoinLimits) != len(cfg.SupportedAssets) {
		t.Fatalf("coin limits of other than the assets: %+v", cfg.CoinLimits)
	}

	// 2. A verified customer and bank account.
	cust := verifiedCustomer(t, c)
	if cust.DocumentType != "AADHAAR" || cust.Country != "IND" || cust.CreatedAt.IsZero() || cust.FailureReason != "" {
		t.Fatalf("customer: %+v", cust)
	}
	bank := verifiedBank(t, c, cust.ID, "7777")
	if !strings.HasSuffix(bank.AccountNumber, "7777") || !strings.HasPrefix(bank.AccountNumber, "X") || bank.IFSC != "HDFC0001234" {
		t.Fatalf("bank: %+v", bank)
	}
	banks, err := c.ListBanks(ctx, cust.ID, client.ListOptions{})
	if err != nil || banks.Count != 1 || banks.Results[0].ID != bank.ID {
		t.Fatalf("ListBanks: %+v, %v", banks, err)
	}

	// 3. Limits.
	lim, err := c.PayoutLimits(ctx, cust.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !lim.DailyLimit.Equal(dec("200000")) || !lim.AvailableLimit.Equal(dec("200000")) ||
		!lim.PerTransactionLimit["IMPS"].IsPositive() || lim.IsEDDRequired || lim.EDDStatus != "" ||
		lim.FullLimitResetTimestamp.Unix() != lim.LimitResetTimestamp || !lim.FullLimitResetTimestamp.After(time.Now()) {
		t.Fatalf("limits: %+v", lim)
	}

	// 4. Rate.
	rate, err := c.FetchRate(ctx, "USDT", "INR", dec("100"))
	if err != nil {
		t.Fatal(err)
	}
	if rate.Asset != "USDT" || rate.Fiat != "INR" || !rate.Rate.Equal(dec("88.5")) || !rate.Amount.Equal(dec("100")) {
		t.Fatalf("rate: %+v", rate)
	}
	if r, err := c.FetchRate(ctx, "USDC", "INR", decimal.Zero); err != nil || !r.Amount.IsZero() || !r.Rate.Equal(dec("88.4")) {
		t.Fatalf("rate without amount: %+v, %v", r, err)
	}

	// 5. Quotation.
	q, err := c.CreateQuotation(ctx, client.QuotationRequest{
		Asset: "USDT", Fiat: "INR", SendingAmount: dec("100"), CustomerID: cust.ID, BankID: bank.ID, PaymentMethod: "IMPS",
		RiskParameters: &client.RiskParameters{IPAddress: "203.0.113.7", DeviceID: "device-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := q.Fees
	deductions := decimal.Sum(f.ClientFeeFiat, f.PlatformFee, f.PGFee, f.ClientGSTFiat, f.PlatformGST, f.PGGST, f.TDS, f.RoundingAdjustment)
	if q.Status != "UNLINKED" || !q.Rate.Equal(dec("88.5")) || !q.SendingAmount.Equal(dec("100")) ||
		!q.ReceivingAmount.Add(deductions).Equal(dec("8850")) || !f.PlatformFee.Equal(dec("44.25")) || !f.TDS.Equal(dec("88.5")) ||
		q.ExpiryTime.Sub(q.CreatedAt) != 5*time.Minute || q.OrderID != "" {
		t.Fatalf("quotation: %+v", q)
	}

	// 6. Initiate.
	p, err := c.InitiatePayout(ctx, client.InitiateRequest{
		QuotationID: q.ID, CustomerID: cust.ID, ExchangeOrderID: "order-1", ClientReferenceID: "ref-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != "PROCESSING" || p.StatusDetail != "QUEUED" || p.QuotationID != q.ID || p.BankID != bank.ID ||
		!p.ReceivingAmount.Equal(q.ReceivingAmount) || p.ClientReferenceID != "ref-1" || p.ExchangeOrderID != "order-1" || p.CreatedAt.IsZero() {
		t.Fatalf("initiate: %+v", p)
	}

	// 9. Link the transfer (the exchange's crypto).
	link, err := c.UpdateTransferID(ctx, "order-1", "transfer-1")
	if err != nil {
		t.Fatal(err)
	}
	if link.PayoutID != p.ID || link.ExchangeOrderID != "order-1" || link.ExchangeTransferID != "transfer-1" {
		t.Fatalf("link: %+v", link)
	}

	// 7, 8. Status until completion.
	final, err := c.WaitPayout(ctx, p.ID, 50*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != "SUCCESS" || !utrPattern.MatchString(final.UTR) || final.FailureReason != "" ||
		final.ExchangeTransferID != "transfer-1" || !final.ReceivingAmount.Equal(q.ReceivingAmount) || final.UpdatedAt.IsZero() {
		t.Fatalf("final: %+v", final)
	}

	gq, err := c.GetQuotation(ctx, q.ID)
	if err != nil || gq.Status != "LINKED" || gq.OrderID != p.ID {
		t.Fatalf("quotation after initiate: %+v, %v", gq, err)
	}
	h, err := c.PayoutHistory(ctx, client.HistoryOptions{CustomerID: cust.ID, Status: "SUCCESS"})
	if err != nil || h.Count != 1 || h.Results[0].ID != p.ID || h.Results[0].UTR != final.UTR {
		t.Fatalf("history: %+v, %v", h, err)
	}
	today := time.Now().In(time.FixedZone("IST", 5*3600+1800)).Format(time.DateOnly)
	h, err = c.PayoutHistory(ctx, client.HistoryOptions{StartDate: today, EndDate: today})
	if err != nil || h.Count != 1 {
		t.Fatalf("history by date: %+v, %v", h, err)
	}
	lim, err = c.PayoutLimits(ctx, cust.ID)
	if err != nil || !lim.AvailableLimit.Equal(dec("191150")) {
		t.Fatalf("limits after a payout of 8850: %+v, %v", lim, err)
	}
}

// An account ending 3333 is rejected by the beneficiary's bank.
func TestPayoutRejectedByBank(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newClient(srv)
	ctx := t.Context()
	cust := verifiedCustomer(t, c)
	bank := verifiedBank(t, c, cust.ID, "3333")
	q, err := c.CreateQuotation(ctx, client.QuotationRequest{Asset: "USDC", Fiat: "INR", SendingAmount: dec("25.5"), CustomerID: cust.ID, BankID: bank.ID})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.InitiatePayout(ctx, client.InitiateRequest{QuotationID: q.ID, CustomerID: cust.ID, ExchangeOrderID: "order-3333"})
	if err != nil {
		t.Fatal(err)
	}
	final, err := c.WaitPayout(ctx, p.ID, 50*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != "FAILED" || final.FailureReason != "BENEFICIARY_BANK_REJECTED" || final.UTR != "" || final.ClientReferenceID != "" {
		t.Fatalf("final: %+v", final)
	}
	// A failed payout gives the limit back.
	if lim, err := c.PayoutLimits(ctx, cust.ID); err != nil || !lim.AvailableLimit.Equal(dec("200000")) {
		t.Fatalf("limits: %+v, %v", lim, err)
	}
	// The order can be paid again once its payout FAILED.
	q, err = c.CreateQuotation(ctx, client.QuotationRequest{Asset: "USDC", Fiat: "INR", SendingAmount: dec("25.5"), CustomerID: cust.ID, BankID: bank.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.InitiatePayout(ctx, client.InitiateRequest{QuotationID: q.ID, CustomerID: cust.ID, ExchangeOrderID: "order-3333"}); err != nil {
		t.Fatal(err)
	}
}

// WaitPayout reports the first state seen and every change, and stops at
// the end of its context.
func TestWaitPayoutReportsChanges(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newClient(srv)
	ctx := t.Context()
	cust := verifiedCustomer(t, c)
	bank := verifiedBank(t, c, cust.ID, "8888")
	initiate := func(order string) *client.Payout {
		t.Helper()
		q, err := c.CreateQuotation(ctx, client.QuotationRequest{Asset: "USDT", Fiat: "INR", SendingAmount: dec("12.345678"), CustomerID: cust.ID, BankID: bank.ID})
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.InitiatePayout(ctx, client.InitiateRequest{QuotationID: q.ID, CustomerID: cust.ID, ExchangeOrderID: order})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	p := initiate("order-a")
	var seen []string
	final, err := c.WaitPayout(ctx, p.ID, 10*time.Millisecond, func(p *client.Payout) {
		seen = append(seen, p.Status+"/"+p.StatusDetail)
	})
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != "SUCCESS" || len(seen) < 2 || !strings.HasPrefix(seen[0], "PROCESSING/") || seen[len(seen)-1] != "SUCCESS/PAID" {
		t.Fatalf("final %+v, changes %v", final, seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] == seen[i-1] {
			t.Fatalf("a change reported twice: %v", seen)
		}
	}
	t.Logf("changes: %v", seen)

	p = initiate("order-b")
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	last, err := c.WaitPayout(short, p.ID, 20*time.Millisecond, nil)
	if !errors.Is(err, context.DeadlineExceeded) || last == nil || last.Status != "PROCESSING" {
		t.Fatalf("WaitPayout past its deadline: %+v, %v", last, err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	var exchanges []client.Exchange
	c := newClient(srv, client.WithObserver(func(e client.Exchange) { exchanges = append(exchanges, e) }))
	ctx := t.Context()

	req := customerRequest()
	if _, err := c.CreateCustomer(ctx, req); err != nil {
		t.Fatal(err)
	}
	dup := customerRequest()
	dup.Email = req.Email
	_, err := c.CreateCustomer(ctx, dup)
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("duplicate email: %v", err)
	}
	if e.StatusCode != 400 || e.Message != "Email already in use" || e.Code != "conflict" ||
		!slices.Contains(e.Fields["email"], "Email already in use") || e.RequestID == "" {
		t.Fatalf("duplicate email: %#v", e)
	}
	if !strings.Contains(e.Error(), "Email already in use") || !strings.Contains(e.Error(), "conflict") {
		t.Fatalf("Error(): %s", e.Error())
	}

	_, err = c.CreateCustomer(ctx, client.CreateCustomerRequest{})
	if !errors.As(err, &e) || e.Code != "invalid_request" || len(e.Fields["full_name"]) == 0 || len(e.Fields["email"]) == 0 {
		t.Fatalf("empty customer: %v", err)
	}
	_, err = c.GetCustomer(ctx, uuid.NewString())
	if !errors.As(err, &e) || e.Code != "not_found" || e.Message != "Customer not found or access denied" {
		t.Fatalf("unknown customer: %v", err)
	}
	_, err = c.GetPayout(ctx, "")
	if err == nil || errors.As(err, &e) {
		t.Fatalf("empty payout id: %v", err)
	}

	// Wrong credentials: 401, not retried.
	exchanges = nil
	bad := client.New(srv.URL, srv.DefaultOrg.APIKey, "wrong-secret", client.WithRetry(3, time.Millisecond, time.Millisecond),
		client.WithObserver(func(e client.Exchange) { exchanges = append(exchanges, e) }))
	_, err = bad.ListCustomers(ctx, client.ListOptions{})
	if !errors.As(err, &e) || e.StatusCode != 401 || e.Code != "unauthenticated" || e.Message != "Invalid Signature" || len(exchanges) != 1 {
		t.Fatalf("wrong secret: %v (%d attempts)", err, len(exchanges))
	}
	if ex := exchanges[0]; ex.Method != "GET" || ex.Path != "/cms/api/v1/customer/list" || ex.StatusCode != 401 || ex.Attempt != 1 || ex.RequestBody != nil {
		t.Fatalf("exchange: %+v", ex)
	}
}

// Answers that are not the API's envelope, and the 500 body.
func TestErrorShapes(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch r.URL.Path {
		case "/cms/api/v1/customer/list":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>\n<body>502 Bad Gateway</body>\n</html>")
		case "/pos/api/v1/payout/configuration":
			w.Header().Set("X-Request-ID", "req-500")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"status": false, "success": false, "message": "Internal Server Error", "data": null, "errors": "Unexpected error occurred. Please try again later.", "err_code": "internal_error"}`)
		default:
			fmt.Fprint(w, "ok")
		}
	})
	c := client.New(srv.URL, "k", "s", client.WithRetry(2, time.Millisecond, time.Millisecond))
	ctx := t.Context()

	_, err := c.ListCustomers(ctx, client.ListOptions{})
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 502 || e.Code != "" || !strings.Contains(e.Message, "502 Bad Gateway</body>") || calls.Load() != 2 {
		t.Fatalf("HTML 502: %#v (%d calls)", err, calls.Load())
	}
	calls.Store(0)
	_, err = c.PayoutConfiguration(ctx)
	if !errors.As(err, &e) || e.StatusCode != 500 || e.Code != "internal_error" || e.Message != "Internal Server Error" ||
		e.Fields["detail"][0] != "Unexpected error occurred. Please try again later." || e.RequestID != "req-500" || calls.Load() != 2 {
		t.Fatalf("500: %#v (%d calls)", err, calls.Load())
	}
	// A 200 that is not JSON.
	_, err = c.GetCustomer(ctx, "x")
	if !errors.As(err, &e) || e.StatusCode != 200 || !strings.Contains(e.Message, "ok") {
		t.Fatalf("plain 200: %v", err)
	}
}

// Identical mutating requests within one second must not share a
// signature: the server would refuse the second as a replay.
func TestIdenticalRequestsGetFreshSignatures(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	rec := &recorder{}
	c := newClient(srv, client.WithHTTPClient(&http.Client{Transport: rec}))
	ctx := t.Context()

	// Five replays of one event: five identical bodies.
	for i := range 5 {
		err := c.ReplayWebhook(ctx, "00000000-0000-0000-0000-000000000000")
		var e *client.Error
		if !errors.As(err, &e) || e.StatusCode != 400 || e.Message != "Webhook event not found or access denied" {
			t.Fatalf("replay %d: %v", i, err)
		}
	}
	if err := c.ReplayWebhook(ctx, "not-an-id"); err == nil || !strings.Contains(err.Error(), "Webhook event not found") {
		t.Fatalf("replay of a malformed id: %v", err)
	}
	ts := rec.all("X-TIMESTAMP")
	if len(ts) != 6 || len(slices.Compact(slices.Sorted(slices.Values(ts[:5])))) != 5 {
		t.Fatalf("timestamps of five identical POSTs (and another): %v", ts)
	}

	cust := verifiedCustomer(t, c)
	bank := verifiedBank(t, c, cust.ID, "6666")
	rec.reset()
	ids := map[string]bool{}
	for i := range 3 {
		q, err := c.CreateQuotation(ctx, client.QuotationRequest{Asset: "USDT", Fiat: "INR", SendingAmount: dec("50"), CustomerID: cust.ID, BankID: bank.ID})
		if err != nil {
			t.Fatalf("quotation %d: %v", i, err)
		}
		ids[q.ID] = true
	}
	if len(ids) != 3 {
		t.Fatalf("quotations: %v", ids)
	}
	ts = rec.all("X-TIMESTAMP")
	if len(slices.Compact(slices.Sorted(slices.Values(ts)))) != 3 {
		t.Fatalf("timestamps of three identical quotations: %v", ts)
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	var lists int
	c := newClient(srv, client.WithObserver(func(e client.Exchange) {
		if strings.HasPrefix(e.Path, "/cms/api/v1/customer/list") {
			lists++
		}
	}))
	ctx := t.Context()
	var created []string
	for range 25 {
		cust, err := c.CreateCustomer(ctx, customerRequest())
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, cust.ID)
	}

	var got []string
	for cust, err := range c.Customers(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, cust.ID)
	}
	slices.Reverse(created) // newest first
	if !slices.Equal(got, created) || lists != 3 {
		t.Fatalf("iterated %d customers in %d pages, want the 25 created, newest first, in 3", len(got), lists)
	}

	p, err := c.ListCustomers(ctx, client.ListOptions{Page: 3, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if p.Count != 25 || len(p.Results) != 5 || p.Next != "" || !strings.Contains(p.Previous, "page=2") {
		t.Fatalf("page 3: count %d, %d results, next %q, previous %q", p.Count, len(p.Results), p.Next, p.Previous)
	}
	p, err = c.ListCustomers(ctx, client.ListOptions{PageSize: 20})
	if err != nil || len(p.Results) != 20 || p.Next == "" || p.Previous != "" {
		t.Fatalf("page 1 of 20: %+v, %v", p, err)
	}

	// Breaking out of the loop stops fetching.
	lists = 0
	n := 0
	for _, err := range c.Customers(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 12 {
			break
		}
	}
	if lists != 2 {
		t.Fatalf("12 customers took %d pages", lists)
	}

	// An error ends the iteration.
	_, err = c.ListCustomers(ctx, client.ListOptions{PageSize: 1000})
	var e *client.Error
	if !errors.As(err, &e) || len(e.Fields["page_size"]) == 0 {
		t.Fatalf("page_size 1000: %v", err)
	}
	n = 0
	for _, err := range c.Payouts(ctx, client.HistoryOptions{StartDate: "2026-01-01"}) {
		n++
		if !errors.As(err, &e) {
			t.Fatalf("want an API error, got %v", err)
		}
	}
	if n != 1 {
		t.Fatalf("an erroring iteration yielded %d times", n)
	}
}
