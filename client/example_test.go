package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/client"
	"github.com/offramp/offramp/server"
	"github.com/offramp/offramp/webhook"
)

func ExampleNew() {
	// A sandbox Offramp for the example; use your server's URL and your
	// organization's credentials.
	baseURL, apiKey, apiSecret, stop := startSandbox()
	defer stop()

	c := client.New(baseURL, apiKey, apiSecret, client.WithUserAgent("acme-exchange/2.3"))
	ctx := context.Background()
	cust, err := c.CreateCustomer(ctx, client.CreateCustomerRequest{
		FullName:          "Ravi Kumar",
		Email:             "ravi@example.com",
		Phone:             "9876543210",
		Alpha3CountryCode: "IND",
		ClientReferenceID: "user-1001",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(cust.Status, cust.Email, cust.Phone, cust.ClientReferenceID)

	// Errors are *client.Error, with the API's message, code and fields.
	_, err = c.CreateCustomer(ctx, client.CreateCustomerRequest{
		FullName: "Ravi K", Email: "ravi@example.com", Phone: "9876543211", Alpha3CountryCode: "IND",
	})
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, apiErr.Fields["email"])
	}
	// Output:
	// UNVERIFIED ravi@example.com +919876543210 user-1001
	// 400 conflict [Email already in use]
}

func ExampleClient_InitiatePayout() {
	baseURL, apiKey, apiSecret, stop := startSandbox()
	defer stop()
	c := client.New(baseURL, apiKey, apiSecret)
	ctx := context.Background()
	// A KYC-verified customer with a verified bank account.
	customerID, bankID := onboard(ctx, c)

	q, err := c.CreateQuotation(ctx, client.QuotationRequest{
		Asset: "USDT", Fiat: "INR", SendingAmount: decimal.RequireFromString("100"),
		CustomerID: customerID, BankID: bankID, PaymentMethod: "IMPS",
		RiskParameters: &client.RiskParameters{IPAddress: "203.0.113.7", DeviceID: "device-42"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("100 USDT at %s: %s INR after fees (TDS %s), until %s\n",
		q.Rate, q.ReceivingAmount.StringFixed(2), q.Fees.TDS.StringFixed(2), q.ExpiryTime.Sub(q.CreatedAt))

	// One Idempotency-Key is made for the call and sent on every attempt:
	// retries cannot make a second payout.
	p, err := c.InitiatePayout(ctx, client.InitiateRequest{
		QuotationID: q.ID, CustomerID: customerID, ExchangeOrderID: "EX-ORDER-1001", ClientReferenceID: "payout-1001",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Status, p.StatusDetail, p.ReceivingAmount.StringFixed(2), p.ExchangeOrderID)
	// Output:
	// 100 USDT at 88.5: 8703.38 INR after fees (TDS 88.50), until 5m0s
	// PROCESSING QUEUED 8703.38 EX-ORDER-1001
}

func ExampleClient_WaitPayout() {
	baseURL, apiKey, apiSecret, stop := startSandbox()
	defer stop()
	c := client.New(baseURL, apiKey, apiSecret)
	ctx := context.Background()
	customerID, bankID := onboard(ctx, c)
	q, err := c.CreateQuotation(ctx, client.QuotationRequest{
		Asset: "USDT", Fiat: "INR", SendingAmount: decimal.RequireFromString("25"), CustomerID: customerID, BankID: bankID,
	})
	if err != nil {
		panic(err)
	}
	p, err := c.InitiatePayout(ctx, client.InitiateRequest{QuotationID: q.ID, CustomerID: customerID, ExchangeOrderID: "EX-ORDER-7"})
	if err != nil {
		panic(err)
	}
	if _, err := c.UpdateTransferID(ctx, "EX-ORDER-7", "EX-TRANSFER-7"); err != nil {
		panic(err)
	}

	// Webhooks are the better way to learn the outcome; polling works too.
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	p, err = c.WaitPayout(ctx, p.ID, 100*time.Millisecond, func(p *client.Payout) {
		// Called on every change of status or status_detail, e.g.
		// PROCESSING/QUEUED, PROCESSING/SUBMITTED, SUCCESS/PAID.
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Status, len(p.UTR), p.ExchangeTransferID)
	// Output:
	// SUCCESS 12 EX-TRANSFER-7
}

func ExampleVerifyWebhook() {
	const apiKey, apiSecret = "your-api-key", "your-api-secret"

	// The receiver: read the raw body (bounded), verify it, answer 2xx
	// quickly. Deduplicate on WebhookID; drop an event whose Sequence is not
	// above the last one applied to its object.
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		env, err := client.VerifyWebhook(r.Header, body, apiKey, apiSecret, 5*time.Minute, time.Now())
		switch {
		case errors.Is(err, webhook.ErrMalformed):
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		case err != nil: // webhook.ErrStale, webhook.ErrSignature
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		fmt.Println(env.Type, env.Event, env.Metadata["utr"], env.ClientReferenceID, env.Sequence)
		w.WriteHeader(http.StatusNoContent)
	})

	// What Offramp sends when a payout succeeds.
	body, header, err := webhook.Message(offramp.Event{
		ID: uuid.New(), ObjectType: offramp.ObjectPayout, ObjectID: uuid.New(), Event: "SUCCESS", Sequence: 3,
		ClientReferenceID: "payout-1001", Metadata: map[string]string{"utr": "027975914065"}, CreatedAt: time.Now(),
	}, apiKey, apiSecret, time.Now())
	if err != nil {
		panic(err)
	}
	for _, b := range [][]byte{body, bytes.Replace(body, []byte("SUCCESS"), []byte("FAILED"), 1)} {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/offramp", bytes.NewReader(b))
		req.Header = header.Clone()
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// PAYOUT SUCCESS 027975914065 payout-1001 3
	// 204
	// 401
}

// startSandbox runs a sandbox Offramp on 127.0.0.1 for an example and
// returns its URL and default organization's credentials.
func startSandbox() (baseURL, apiKey, apiSecret string, stop func()) {
	dir, err := os.MkdirTemp("", "offramp-example-")
	if err != nil {
		panic(err)
	}
	srv, err := server.Start(context.Background(), server.Config{
		DB: filepath.Join(dir, "offramp.db"), Env: offramp.EnvSandbox, MasterKey: bytes.Repeat([]byte{1}, 32),
		Addr: "127.0.0.1:0", VerifyDelay: 200 * time.Millisecond, RailDelay: 300 * time.Millisecond,
		Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	return srv.URL, srv.DefaultOrg.APIKey, srv.DefaultOrg.APISecret, func() {
		_ = srv.Shutdown(context.Background())
		os.RemoveAll(dir)
	}
}

// onboard creates a customer, submits its KYC, adds a bank account and
// waits until both are VERIFIED (in production, wait for the CUSTOMER and
// BANK webhooks instead).
func onboard(ctx context.Context, c *client.Client) (customerID, bankID string) {
	cust, err := c.CreateCustomer(ctx, client.CreateCustomerRequest{
		FullName: "Asha Verma", Email: "asha@example.com", Phone: "9812345678", Alpha3CountryCode: "IND",
	})
	if err != nil {
		panic(err)
	}
	_, err = c.AddKYC(ctx, client.KYCRequest{
		CustomerID: cust.ID, FullName: "Asha Verma", FullAddress: "4 Park Street, Kolkata 700016",
		DOB: "02-03-1988", RegisteredDate: "01-01-2024", TaxNumber: "ABCPV1234Q",
		DocumentType: "AADHAAR", DocumentNumber: "234567890123",
		DocumentFrontImageURL: "https://files.example/aadhaar-front.jpg", DocumentBackImageURL: "https://files.example/aadhaar-back.jpg",
		SelfieURL: "https://files.example/selfie.jpg", SelfieVerificationStatus: true,
	})
	if err != nil {
		panic(err)
	}
	for cust.Status != "VERIFIED" {
		time.Sleep(50 * time.Millisecond)
		if cust, err = c.GetCustomer(ctx, cust.ID); err != nil || cust.Status == "FAILED" {
			panic(fmt.Sprint("KYC: ", cust, err))
		}
	}
	bank, err := c.CreateBank(ctx, client.CreateBankRequest{
		CustomerID: cust.ID, AccountNumber: "50100123456789", IFSC: "HDFC0001234", AccountName: "Asha Verma",
	})
	if err != nil {
		panic(err)
	}
	for bank.BankAccountStatus != "VERIFIED" {
		time.Sleep(50 * time.Millisecond)
		if bank, err = c.GetBank(ctx, cust.ID, bank.ID); err != nil || bank.BankAccountStatus == "FAILED" {
			panic(fmt.Sprint("bank: ", bank, err))
		}
	}
	return cust.ID, bank.ID
}
