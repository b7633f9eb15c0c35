package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/offramp/offramp/client"
	"github.com/offramp/offramp/rail"
	"github.com/offramp/offramp/sqlstore/pgtest"
)

// TestTwoInstancesOnePostgres runs two `offramp serve` processes on one
// PostgreSQL database, drives 1,000 payouts through both from 64 clients, kills one of them
// (SIGKILL) half way, and checks that every payout ends SUCCESS exactly
// once, the bank received exactly one transfer and one submission per
// payout, no webhook was delivered more often than its recorded attempts,
// and the ledger balances.
func TestTwoInstancesOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("long: 1,000 payouts through two processes")
	}
	// 64 clients over 32 customers: the load under which PostgreSQL's
	// serialization conflicts once turned most initiates into 503s.
	const payouts, customers, workers = 1000, 32, 64
	dbURL := pgtest.URL(t)
	t.Logf("database %s", dbURL)
	bin := binary(t)
	dir := t.TempDir()
	keyBytes := make([]byte, 32)
	_, _ = rand.Read(keyBytes)
	env := []string{"OFFRAMP_MASTER_KEY=" + base64.StdEncoding.EncodeToString(keyBytes)}
	bankDB := filepath.Join(dir, "sandbox-bank.db")
	args := []string{"--db", dbURL, "--sandbox-bank-db", bankDB, "--verify-delay", "100ms", "--rail-delay", "200ms",
		"--rail-timeout", "5s", "--job-lease", "12s", "--log-level", "info"}

	a := startServeEnv(t, bin, dir, env, args...)
	if a.key == "" {
		t.Fatal("first instance printed no credentials")
	}
	b := startServeEnv(t, bin, dir, env, args...)
	// The per-request timeout only keeps a request from hanging for ever:
	// minutes, far beyond any answer on a loaded machine, so it is not a
	// timing assertion. Redirects are answered, as client.New's default does.
	hc := &http.Client{Timeout: 5 * time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// Short retries: calls to the killed instance should fail over fast.
	ca := client.New(a.base, a.key, a.secret, client.WithHTTPClient(hc), client.WithRetry(3, 20*time.Millisecond, 200*time.Millisecond))
	cb := client.New(b.base, a.key, a.secret, client.WithHTTPClient(hc), client.WithRetry(1, 0, 0))
	// The requests' context ends where the test's waits give up (giveUpAt),
	// not after a fixed time.
	ctx := t.Context()
	if at, ok := giveUpAt(t); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, at)
		defer cancel()
	}

	var (
		mu        sync.Mutex
		delivered = map[string]int{}
		payoutHit = map[string]int{}
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		// 300 s is the documented tolerance for the X-TIMESTAMP of a
		// webhook, which is signed when it is sent, not a bound on the
		// test.
		env, err := client.VerifyWebhook(r.Header, body, a.key, a.secret, 300*time.Second, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		delivered[env.WebhookID]++
		if env.Type == "PAYOUT" {
			payoutHit[env.ID]++
		}
		mu.Unlock()
	}))
	defer rcv.Close()
	if _, err := ca.SetWebhookURL(ctx, rcv.URL); err != nil {
		t.Fatal(err)
	}

	// Customers with verified bank accounts, onboarded through both.
	type payee struct{ customer, bank string }
	var payees []payee
	for i := range customers {
		c := []*client.Client{ca, cb}[i%2]
		cu, err := c.CreateCustomer(ctx, client.CreateCustomerRequest{FullName: "Two Instances", Email: fmt.Sprintf("ti%d@example.com", i),
			Phone: fmt.Sprintf("98765%05d", i), Alpha3CountryCode: "IND"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AddKYC(ctx, client.KYCRequest{CustomerID: cu.ID, FullName: "Two Instances", FullAddress: "1 Cluster Road",
			DOB: "01-01-1990", RegisteredDate: "01-01-2024", TaxNumber: fmt.Sprintf("ABCPT%04dK", i), DocumentType: "AADHAAR",
			DocumentNumber: fmt.Sprintf("5%011d", i), DocumentFrontImageURL: "https://x.example/f.jpg", DocumentBackImageURL: "https://x.example/b.jpg",
			SelfieURL: "https://x.example/s.jpg", SelfieVerificationStatus: true}); err != nil {
			t.Fatal(err)
		}
		payees = append(payees, payee{customer: cu.ID})
	}
	for i := range payees {
		c := []*client.Client{ca, cb}[i%2]
		waitStatus(t, a, func() (string, error) { cu, err := c.GetCustomer(ctx, payees[i].customer); return statusOf(cu, err) }, "VERIFIED")
		bk, err := c.CreateBank(ctx, client.CreateBankRequest{CustomerID: payees[i].customer, AccountNumber: fmt.Sprintf("7%06d9876", i), IFSC: "SBIN0001829"})
		if err != nil {
			t.Fatal(err)
		}
		payees[i].bank = bk.ID
	}
	for i := range payees {
		waitStatus(t, a, func() (string, error) {
			bk, err := ca.GetBank(ctx, payees[i].customer, payees[i].bank)
			if err != nil {
				return "", err
			}
			return bk.BankAccountStatus, nil
		}, "VERIFIED")
	}

	// 1,000 payouts from 64 workers, alternating instances; B is killed
	// once half have been initiated. A call that fails against the dead
	// instance is repeated against A with the same Idempotency-Key.
	var (
		next, done atomic.Int64
		bDead      atomic.Bool
		killOnce   sync.Once
		ids        sync.Map
		wg         sync.WaitGroup
	)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= payouts {
					return
				}
				p := payees[i%customers]
				key := fmt.Sprintf("payout-%d", i)
				var (
					id string
					q  *client.Quotation
				)
				for attempt := 0; attempt < 4 && id == ""; attempt++ {
					c := ca
					if i%2 == 1 && !bDead.Load() && attempt == 0 {
						c = cb
					}
					if q == nil {
						var err error
						if q, err = c.CreateQuotation(ctx, client.QuotationRequest{Asset: "USDT", Fiat: "INR", SendingAmount: decimal.NewFromInt(10), CustomerID: p.customer, BankID: p.bank}); err != nil {
							q = nil
							continue
						}
					}
					// The same quotation and key on every attempt: if the
					// dead instance committed the payout, the survivor
					// answers with it instead of making another.
					po, err := c.InitiatePayout(ctx, client.InitiateRequest{QuotationID: q.ID, CustomerID: p.customer, ExchangeOrderID: key, IdempotencyKey: key})
					if err == nil {
						id = po.ID
					}
				}
				if id == "" {
					t.Errorf("payout %d could not be initiated", i)
					return
				}
				ids.Store(i, id)
				if done.Add(1) == payouts/2 {
					killOnce.Do(func() {
						bDead.Store(true)
						_ = b.cmd.Process.Kill()
					})
				}
			}
		})
	}
	wg.Wait()
	initiated := time.Since(start)
	if t.Failed() { // then B may not have been killed
		t.FailNow()
	}
	b.waitExit(t, "the killed instance to exit")

	// Every payout final, exactly once, through the survivor.
	var final map[string]string
	a.eventually(t, "every payout final", func() (bool, string) {
		final = map[string]string{}
		processing := 0
		for p, err := range ca.Payouts(ctx, client.HistoryOptions{ListOptions: client.ListOptions{PageSize: 100}}) {
			if err != nil {
				t.Fatal(err)
			}
			if _, dup := final[p.ID]; dup {
				t.Fatalf("payout %s listed twice", p.ID)
			}
			final[p.ID] = p.Status
			if p.Status == client.StatusProcessing {
				processing++
			}
		}
		return processing == 0, fmt.Sprintf("%d payouts still PROCESSING", processing)
	})
	settled := time.Since(start)
	if len(final) != payouts {
		t.Fatalf("%d payouts exist, want %d", len(final), payouts)
	}
	for id, st := range final {
		if st != client.StatusSuccess {
			t.Fatalf("payout %s ended %s", id, st)
		}
	}

	// One transfer and one submission per payout at the bank.
	a.stop(t)
	bank, err := rail.OpenSandbox(bankDB, rail.SandboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bank.Close()
	if n, _ := bank.TotalTransfers(ctx); n != payouts {
		t.Fatalf("the bank holds %d transfers for %d payouts", n, payouts)
	}
	multi := 0
	for id := range final {
		ref := "OFR" + strings.ReplaceAll(id, "-", "")
		calls, _ := bank.SubmitCalls(ctx, ref)
		transfers, _ := bank.Transfers(ctx, ref)
		if transfers != 1 {
			t.Fatalf("payout %s: %d transfers", id, transfers)
		}
		if calls != 1 {
			multi++
		}
	}
	if multi != 0 {
		t.Fatalf("%d payouts were submitted to the bank more than once", multi)
	}

	// Webhooks: every payout's SUCCESS arrived. Delivery is at least once:
	// an attempt whose runner died (the kill) or lost its lease between
	// sending and committing is sent again and recorded once
	// (webhook.Deliverer), so an event may arrive one time more than its
	// recorded attempts, never more.
	a2 := startServeEnv(t, bin, dir, env, args...)
	ca2 := client.New(a2.base, a.key, a.secret, client.WithHTTPClient(hc))
	a2.eventually(t, "a SUCCESS webhook for every payout", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(payoutHit) == payouts, fmt.Sprintf("SUCCESS webhooks for %d of %d payouts", len(payoutHit), payouts)
	})
	mu.Lock()
	dups := map[string]int{}
	for id, n := range delivered {
		if n > 1 {
			dups[id] = n
		}
	}
	mu.Unlock()
	for id, n := range dups {
		ev, err := ca2.WebhookEvent(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if n > ev.Delivery.Attempts+1 {
			t.Fatalf("webhook %s delivered %d times with %d attempts recorded", id, n, ev.Delivery.Attempts)
		}
	}
	a2.stop(t)

	check := exec.Command(bin, "admin", "ledger", "check", "--db", dbURL)
	check.Env = append(os.Environ(), env...)
	out, err := check.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ledger balanced") {
		t.Fatalf("ledger check: %v\n%s", err, out)
	}
	t.Logf("1,000 payouts through 2 instances (one killed at 500): initiated in %v, all SUCCESS after %v; bank: 1,000 transfers, 1 submission each; webhooks: %d events, %d delivered twice",
		initiated.Round(time.Millisecond), settled.Round(time.Millisecond), len(delivered), len(dups))
}

func statusOf(c *client.Customer, err error) (string, error) {
	if err != nil {
		return "", err
	}
	if c.FailureReason != "" {
		return c.Status + " (" + c.FailureReason + ")", nil
	}
	return c.Status, nil
}

// waitStatus waits (s.eventually) while get reports PROCESSING and fails
// unless the status it settles on is want.
func waitStatus(t *testing.T, s *serveProc, get func() (string, error), want string) {
	t.Helper()
	s.eventually(t, "status "+want, func() (bool, string) {
		st, err := get()
		if err != nil {
			t.Fatal(err)
		}
		if st != want && st != "PROCESSING" {
			t.Fatalf("status %s, want %s", st, want)
		}
		return st == want, "status " + st
	})
}
