package client_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/client"
	"github.com/offramp/offramp/server"
)

// startServer runs a real sandbox Offramp on 127.0.0.1 with short delays.
func startServer(t testing.TB) *server.Server {
	t.Helper()
	dir := t.TempDir()
	srv, err := server.Start(context.Background(), server.Config{
		DB:              filepath.Join(dir, "offramp.db"),
		Env:             offramp.EnvSandbox,
		MasterKey:       bytes.Repeat([]byte{1}, 32),
		Addr:            "127.0.0.1:0",
		VerifyDelay:     200 * time.Millisecond,
		RailDelay:       300 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second,
		Log:             slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if srv.DefaultOrg == nil {
		t.Fatal("no default organization on a fresh sandbox")
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv
}

// newClient is a client of the server's default organization with quick
// retries.
func newClient(srv *server.Server, opts ...client.Option) *client.Client {
	opts = append([]client.Option{client.WithRetry(3, 10*time.Millisecond, 50*time.Millisecond)}, opts...)
	return client.New(srv.URL, srv.DefaultOrg.APIKey, srv.DefaultOrg.APISecret, opts...)
}

var seq atomic.Int64

// customerRequest is a valid, unique customer.
func customerRequest() client.CreateCustomerRequest {
	n := seq.Add(1)
	return client.CreateCustomerRequest{
		FullName:          "Ravi Kumar",
		Email:             fmt.Sprintf("ravi%d@example.com", n),
		Phone:             fmt.Sprint(9000000000 + n),
		Alpha3CountryCode: "IND",
		ClientReferenceID: fmt.Sprintf("cust-%d", n),
	}
}

// kycRequest is a valid KYC submission with a unique PAN and Aadhaar.
func kycRequest(customerID string) client.KYCRequest {
	n := seq.Add(1)
	return client.KYCRequest{
		CustomerID:               customerID,
		FullName:                 "Ravi Kumar",
		Phone:                    "9911002211",
		FullAddress:              "12 MG Road, Bengaluru 560001",
		DOB:                      "15-08-1990",
		RegisteredDate:           "01-01-2024",
		TaxNumber:                fmt.Sprintf("ABCPK%04dN", n%10000),
		DocumentType:             "AADHAAR",
		DocumentFrontImageURL:    "https://sandbox.example/aadhaar-front.jpg",
		DocumentBackImageURL:     "https://sandbox.example/aadhaar-back.jpg",
		DocumentNumber:           fmt.Sprint(100000000000 + n),
		SelfieURL:                "https://sandbox.example/selfie.jpg",
		SelfieVerificationStatus: true,
		AdditionalInfo:           map[string]string{"income_range": "10-25L", "profession": "Engineer"},
	}
}

// eventually polls fn every 20 ms for up to 10 s.
func eventually(t testing.TB, what string, fn func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := fn()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// verifiedCustomer creates a customer and takes it through sandbox KYC.
func verifiedCustomer(t testing.TB, c *client.Client) *client.Customer {
	t.Helper()
	ctx := context.Background()
	cust, err := c.CreateCustomer(ctx, customerRequest())
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.AddKYC(ctx, kycRequest(cust.ID))
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "PROCESSING" || st.CustomerID != cust.ID {
		t.Fatalf("AddKYC: %+v", st)
	}
	eventually(t, "KYC to be decided", func() (bool, error) {
		cust, err = c.GetCustomer(ctx, cust.ID)
		return err == nil && cust.Status != "PROCESSING", err
	})
	if cust.Status != "VERIFIED" {
		t.Fatalf("customer ended %s (%s), want VERIFIED", cust.Status, cust.FailureReason)
	}
	return cust
}

// verifiedBank adds an account whose number ends with ending and waits for
// the penny drop to verify it.
func verifiedBank(t testing.TB, c *client.Client, customerID, ending string) *client.Bank {
	t.Helper()
	ctx := context.Background()
	b, err := c.CreateBank(ctx, client.CreateBankRequest{
		CustomerID:    customerID,
		AccountNumber: fmt.Sprintf("5010%06d%s", seq.Add(1), ending),
		IFSC:          "HDFC0001234",
		AccountName:   "Ravi Kumar",
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "bank verification", func() (bool, error) {
		b, err = c.GetBank(ctx, customerID, b.ID)
		return err == nil && b.BankAccountStatus != "PROCESSING", err
	})
	if b.BankAccountStatus != "VERIFIED" {
		t.Fatalf("bank ended %s (%s), want VERIFIED", b.BankAccountStatus, b.FailureReason)
	}
	return b
}

// recorder is an http.RoundTripper that remembers the headers of every
// request it sends.
type recorder struct {
	mu      sync.Mutex
	headers []http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.headers = append(r.headers, req.Header.Clone())
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) all(name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, h := range r.headers {
		out = append(out, h.Get(name))
	}
	return out
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.headers = nil
	r.mu.Unlock()
}
