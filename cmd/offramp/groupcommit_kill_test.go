package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/offramp/offramp/signature"
)

// initiateResult is what one client saw of its initiate.
type initiateResult struct {
	order string
	code  int    // 0: no answer (the server died first)
	id    string // the payout id of a 201
}

// TestGroupCommitKillKeepsEveryAcknowledgedPayout fires 64 concurrent
// initiates, which SQLite's group commit runs in shared transactions, and
// kills the server (SIGKILL) as soon as the first answers arrive, while the
// rest are queued, running or committing. After a restart every payout
// that was answered 201 is there, and no payout exists twice.
func TestGroupCommitKillKeepsEveryAcknowledgedPayout(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	args := []string{"--verify-delay", "100ms", "--daily-limit", "100000000", "--edd-daily-limit", "100000000", "--key-rate-limit", "inf"}
	s := startServe(t, bin, dir, args...)
	key, secret := s.key, s.secret
	do := func(base, method, path string, body map[string]any) map[string]any {
		return signedDo(t, base, method, path, key, secret, body)
	}
	cust := do(s.base, "POST", "/cms/api/v1/customer/create", map[string]any{"full_name": "Group Commit", "email": "gc@example.com", "phone": "9876543210", "alpha_3_country_code": "IND"})["id"].(string)
	do(s.base, "POST", "/cms/api/v1/kyc/add-kyc-data", map[string]any{
		"customer_id": cust, "full_name": "Group Commit", "full_address": "1 Test Road", "dob": "01-01-1990",
		"registered_date": "01-01-2024", "tax_number": "ABCPK1234N", "document_type": "AADHAAR",
		"document_front_image_url": "https://x.example/f.jpg", "document_back_image_url": "https://x.example/b.jpg",
		"document_details": map[string]any{"document_number": "123412341234"}, "selfie_url": "https://x.example/s.jpg",
		"selfie_verification_status": true})
	s.eventually(t, "KYC to verify", func() (bool, string) {
		st := do(s.base, "GET", "/cms/api/v1/customer/"+cust, nil)["status"]
		return st == "VERIFIED", fmt.Sprintf("customer %v", st)
	})
	bank := do(s.base, "POST", "/cms/api/v1/bank/create", map[string]any{"customer_id": cust, "account_number": "123456789012", "ifsc": "SBIN0001829"})["id"].(string)
	s.eventually(t, "the bank account to verify", func() (bool, string) {
		st := do(s.base, "GET", "/cms/api/v1/bank/"+cust+"/"+bank, nil)["bank_account_status"]
		return st == "VERIFIED", fmt.Sprintf("bank %v", st)
	})

	const n = 64
	var acked []initiateResult
	for round := 1; ; round++ {
		quotes := make([]string, n)
		for i := range quotes {
			// Distinct amounts, in every round: identical bodies signed
			// within one second carry identical signatures, and the server
			// answers the second with the first's quotation (a repeat),
			// which the previous round's payout already took.
			amount := fmt.Sprintf("%d.%06d", 10+i, round)
			quotes[i] = do(s.base, "POST", "/pos/api/v1/payout/quotation", map[string]any{"asset": "USDT", "fiat": "INR", "sending_amount": amount, "customer_id": cust, "bank_id": bank})["id"].(string)
		}
		results := make([]initiateResult, n)
		answered := make(chan struct{}, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				order := fmt.Sprintf("gc-kill-%d-%d", round, i)
				<-start
				code, data := rawInitiate(s.base, key, secret, map[string]any{"quotation_id": quotes[i], "customer_id": cust, "exchange_order_id": order})
				results[i] = initiateResult{order: order, code: code}
				if m, ok := data.(map[string]any); ok && code == http.StatusCreated {
					results[i].id, _ = m["id"].(string)
				}
				if code != 0 {
					answered <- struct{}{}
				}
			}()
		}
		close(start)
		// Kill once a few have been acknowledged: the others are in the
		// queue, in the open group, or in its commit.
		for range 4 {
			<-answered
		}
		s.kill(t)
		wg.Wait()

		unanswered := 0
		for _, r := range results {
			switch r.code {
			case http.StatusCreated:
				if r.id == "" {
					t.Fatalf("%s: 201 without a payout id", r.order)
				}
				acked = append(acked, r)
			case 0:
				unanswered++
			default:
				t.Fatalf("%s answered %d before the kill", r.order, r.code)
			}
		}
		t.Logf("round %d: %d acknowledged, %d cut off by the kill", round, n-unanswered, unanswered)
		s = startServe(t, bin, dir, args...)
		if unanswered > 0 {
			break // the kill landed while initiates were in flight
		}
		if round == 5 {
			t.Fatal("in 5 rounds the server answered all 64 initiates before the kill landed")
		}
	}

	// Every acknowledged payout survived, exactly once.
	for _, r := range acked {
		p := do(s.base, "GET", "/pos/api/v1/payout/"+r.id, nil)
		if p["id"] != r.id || p["exchange_order_id"] != r.order {
			t.Fatalf("acknowledged payout %s (%s) after the restart: %v", r.id, r.order, p)
		}
	}
	seen := map[string]int{}
	listed := 0
	for page := 1; ; page++ {
		hist := do(s.base, "GET", fmt.Sprintf("/pos/api/v1/payout/history?page_size=100&page=%d", page), nil)
		results, _ := hist["results"].([]any)
		for _, x := range results {
			p, _ := x.(map[string]any)
			order, _ := p["exchange_order_id"].(string)
			seen[order]++
			listed++
		}
		if hist["next"] == nil {
			break
		}
	}
	for order, c := range seen {
		if c != 1 {
			t.Fatalf("exchange order %s has %d payouts", order, c)
		}
	}
	for _, r := range acked {
		if seen[r.order] != 1 {
			t.Fatalf("acknowledged %s missing from the history (%d payouts listed)", r.order, listed)
		}
	}
	s.stop(t)
}

// rawInitiate posts a signed initiate and returns the HTTP status (0 when
// no answer came: the connection died) and the envelope's data.
func rawInitiate(base, key, secret string, body map[string]any) (int, any) {
	raw, _ := json.Marshal(body)
	canon, err := signature.Canonicalize(raw, signature.FormCompactASCII)
	if err != nil {
		return -1, err.Error()
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, _ := http.NewRequest("POST", base+"/pos/api/v1/payout/initiate", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-KEY", key)
	req.Header.Set("X-TIMESTAMP", ts)
	req.Header.Set("X-SIGNATURE", signature.Sign(key, secret, ts, canon))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var env struct {
		Data any `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
		return 0, nil // cut off mid-answer: not an acknowledgement
	}
	return res.StatusCode, env.Data
}
