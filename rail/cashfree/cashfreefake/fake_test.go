package cashfreefake_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/rail/cashfree/cashfreefake"
)

const (
	id     = "CF_CLIENT"
	secret = "cf_secret"
)

var epoch = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

type rig struct {
	t    *testing.T
	clk  *clock.Fake
	fake *cashfreefake.Fake
	srv  *httptest.Server
	hook *recorder
}

// recorder is a webhook receiver that keeps what it got.
type recorder struct {
	mu   sync.Mutex
	got  []http.Header
	body [][]byte
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, r.Header.Clone())
	rc.body = append(rc.body, b)
	rc.mu.Unlock()
}

func newRig(t *testing.T, deliverOnChange bool) *rig {
	t.Helper()
	rg := &rig{t: t, clk: clock.NewFake(epoch), hook: &recorder{}}
	hooks := httptest.NewServer(rg.hook)
	t.Cleanup(hooks.Close)
	rg.fake = cashfreefake.New(cashfreefake.Options{ClientID: id, ClientSecret: secret, Clock: rg.clk,
		WebhookURL: hooks.URL, DeliverOnChange: deliverOnChange})
	rg.srv = httptest.NewServer(rg.fake)
	t.Cleanup(rg.srv.Close)
	t.Cleanup(rg.fake.Close)
	return rg
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (rg *rig) call(method, path string, hdr map[string]string, body string) answer {
	rg.t.Helper()
	req, err := http.NewRequest(method, rg.srv.URL+path, strings.NewReader(body))
	if err != nil {
		rg.t.Fatal(err)
	}
	req.Header.Set("x-client-id", id)
	req.Header.Set("x-client-secret", secret)
	req.Header.Set("x-api-version", "2024-01-01")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := rg.srv.Client().Do(req)
	if err != nil {
		rg.t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	d := json.NewDecoder(resp.Body)
	d.UseNumber()
	_ = d.Decode(&a.body)
	return a
}

func create(ref, amount, account string) string {
	return `{"transfer_id":"` + ref + `","transfer_amount":` + amount + `,"transfer_currency":"INR","transfer_mode":"imps",
	"beneficiary_details":{"beneficiary_name":"Asha Rao","beneficiary_instrument_details":{"bank_account_number":"` + account + `","bank_ifsc":"HDFC0001234"}}}`
}

func (a answer) want(t *testing.T, status int, code string) {
	t.Helper()
	if a.status != status || (code != "" && a.body["code"] != code) {
		t.Fatalf("HTTP %d %v, want %d %s", a.status, a.body, status, code)
	}
	if status >= 400 && (a.body["type"] == nil || a.body["message"] == nil) {
		t.Fatalf("error body %v lacks Cashfree's {type, code, message}", a.body)
	}
}

func TestAuthAndVersion(t *testing.T) {
	rg := newRig(t, false)
	body := create("T1", "10", cashfreefake.AccountPays)
	rg.call("POST", "/payout/transfers", map[string]string{"x-client-secret": "nope"}, body).want(t, 401, "authentication_failed")
	rg.call("POST", "/payout/transfers", map[string]string{"x-client-id": ""}, body).want(t, 401, "authentication_failed")
	rg.call("POST", "/payout/transfers", map[string]string{"x-api-version": ""}, body).want(t, 400, "x_api_version_missing")
	rg.call("POST", "/payout/transfers", map[string]string{"x-api-version": "v2"}, body).want(t, 400, "x_api_version_invalid")
	rg.call("POST", "/payout/v1/requestTransfer", nil, body).want(t, 404, "url_not_found")
	if rg.fake.Transfers("T1") != 0 {
		t.Fatal("refused calls created a transfer")
	}
	rg.call("DELETE", "/payout/transfers", nil, "").want(t, 405, "")
}

func TestCreateValidation(t *testing.T) {
	rg := newRig(t, false)
	for _, tc := range []struct{ body, code string }{
		{`{`, "request_body_invalid"},
		{`{"transfer_amount":10}`, "transfer_id_missing"},
		{create("T-1", "10", cashfreefake.AccountPays), "transfer_id_invalid"},
		{create(strings.Repeat("T", 41), "10", cashfreefake.AccountPays), "transfer_id_invalid"},
		{`{"transfer_id":"T1"}`, "transfer_amount_missing"},
		{create("T1", "0.99", cashfreefake.AccountPays), "transfer_amount_invalid"},
		{create("T1", "1.005", cashfreefake.AccountPays), "transfer_amount_invalid"},
		{create("T1", `"10.00"`, cashfreefake.AccountPays), "transfer_amount_invalid"},
		{strings.Replace(create("T1", "10", cashfreefake.AccountPays), `"imps"`, `"upi"`, 1), "transfer_mode_invalid"},
		{strings.Replace(create("T1", "10", cashfreefake.AccountPays), `"INR"`, `"USD"`, 1), "transfer_currency_invalid"},
		{`{"transfer_id":"T1","transfer_amount":10}`, "beneficiary_details_missing"},
		{strings.Replace(create("T1", "10", cashfreefake.AccountPays), "Asha Rao", "Asha R.", 1), "beneficiary_details.beneficiary_name_invalid"},
		{create("T1", "10", "12-34"), "beneficiary_details.beneficiary_instrument_details.bank_account_number_invalid"},
		{strings.Replace(create("T1", "10", cashfreefake.AccountPays), "HDFC0001234", "HDFC1001234", 1), "beneficiary_details.beneficiary_instrument_details.bank_ifsc_invalid"},
	} {
		rg.call("POST", "/payout/transfers", nil, tc.body).want(t, 400, tc.code)
	}
	rg.call("POST", "/payout/transfers", nil, `{"transfer_id":"T1","transfer_amount":10,"beneficiary_details":{"beneficiary_id":"JOHN18011"}}`).want(t, 404, "beneficiary_not_found")
	if rg.fake.Transfers("T1") != 0 {
		t.Fatal("an invalid create was recorded")
	}
}

// Create, duplicate, fetch, and the state machine on the clock.
func TestLifecycle(t *testing.T) {
	rg := newRig(t, false)
	a := rg.call("POST", "/payout/transfers", nil, create("T1", "1234.56", cashfreefake.AccountReverses))
	a.want(t, 200, "")
	if a.body["status"] != "RECEIVED" || a.body["transfer_amount"] != json.Number("1234.56") || a.body["cf_transfer_id"] == "" {
		t.Fatalf("create answer %v", a.body)
	}
	rg.call("POST", "/payout/transfers", nil, create("T1", "99", cashfreefake.AccountPays)).want(t, 409, "transfer_id_already_exists")
	if rg.fake.Creates("T1") != 2 || rg.fake.Transfers("T1") != 1 {
		t.Fatal("duplicate changed the books")
	}
	rg.call("GET", "/payout/transfers?transfer_id=NOPE", nil, "").want(t, 404, "transfer_id_not_found")
	rg.call("GET", "/payout/transfers?cf_transfer_id=1", nil, "").want(t, 404, "cf_transfer_id_not_found")
	rg.call("GET", "/payout/transfers", nil, "").want(t, 400, "transfer_id_missing")

	step := func(d time.Duration, status string) map[string]any {
		t.Helper()
		rg.clk.Advance(d)
		a := rg.call("GET", "/payout/transfers?transfer_id=T1", nil, "")
		a.want(t, 200, "")
		if a.body["status"] != status || a.body["transfer_amount"] != json.Number("1234.56") {
			t.Fatalf("after %v: %v, want %s", rg.clk.Now().Sub(epoch), a.body, status)
		}
		return a.body
	}
	step(time.Second, "PENDING")
	paid := step(cashfreefake.DefaultSettle, "SUCCESS")
	byCF := rg.call("GET", "/payout/transfers?cf_transfer_id="+paid["cf_transfer_id"].(string), nil, "")
	if byCF.body["transfer_utr"] != paid["transfer_utr"] || len(paid["transfer_utr"].(string)) != 12 {
		t.Fatalf("UTR %v / %v", paid["transfer_utr"], byCF.body["transfer_utr"])
	}
	rev := step(cashfreefake.DefaultReverseAfter, "REVERSED")
	if rev["transfer_utr"] != paid["transfer_utr"] || rev["status_code"] != cashfreefake.CodeInvalidAccount {
		t.Fatalf("reversal %v", rev)
	}
	rg.clk.Advance(-48 * time.Hour)
	step(0, "REVERSED") // a clock set back does not undo anything

	var types []string
	for _, ev := range rg.fake.Events() {
		types = append(types, ev.Type)
	}
	if got := strings.Join(types, ","); got != "TRANSFER_SUCCESS,TRANSFER_ACKNOWLEDGED,TRANSFER_REVERSED" {
		t.Fatalf("events %s", got)
	}
}

func TestMagicAccounts(t *testing.T) {
	rg := newRig(t, false)
	for _, tc := range []struct {
		account, atCreate, later string
	}{
		{cashfreefake.AccountPays, "RECEIVED", "SUCCESS"},
		{cashfreefake.AccountFails, "RECEIVED", "FAILED"},
		{cashfreefake.AccountRejected, "REJECTED", "REJECTED"},
		{cashfreefake.AccountPendingLong, "RECEIVED", "PENDING"},
		{cashfreefake.AccountStaysPending, "RECEIVED", "PENDING"},
		{cashfreefake.AccountInstant, "SUCCESS", "SUCCESS"},
		{cashfreefake.AccountApproval, "APPROVAL_PENDING", "APPROVAL_PENDING"},
		{"123456789", "RECEIVED", "SUCCESS"},
	} {
		ref := "M" + tc.account
		a := rg.call("POST", "/payout/transfers", nil, create(ref, "10", tc.account))
		if a.status != 200 || a.body["status"] != tc.atCreate {
			t.Fatalf("%s: create %d %v, want %s", tc.account, a.status, a.body, tc.atCreate)
		}
		rg.clk.Advance(time.Minute)
		if got, _ := rg.fake.Transfer(ref); got.Status != tc.later {
			t.Fatalf("%s: a minute later %s, want %s", tc.account, got.Status, tc.later)
		}
	}
	rg.clk.Advance(cashfreefake.DefaultPending)
	if got, _ := rg.fake.Transfer("M" + cashfreefake.AccountPendingLong); got.Status != "SUCCESS" {
		t.Fatalf("pending-long after %v: %s", cashfreefake.DefaultPending, got.Status)
	}
	if got, _ := rg.fake.Transfer("M" + cashfreefake.AccountStaysPending); got.Status != "PENDING" {
		t.Fatalf("stays-pending: %s", got.Status)
	}
}

func TestFaults(t *testing.T) {
	rg := newRig(t, false)
	rg.fake.FailCreates(cashfreefake.DropAfterCommit)
	req, _ := http.NewRequest("POST", rg.srv.URL+"/payout/transfers", strings.NewReader(create("F1", "10", cashfreefake.AccountPays)))
	req.Header.Set("x-client-id", id)
	req.Header.Set("x-client-secret", secret)
	req.Header.Set("x-api-version", "2024-01-01")
	if resp, err := rg.srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped create answered HTTP %d", resp.StatusCode)
	}
	if rg.fake.Transfers("F1") != 1 {
		t.Fatal("DropAfterCommit did not commit")
	}
	rg.fake.FailCreates(cashfreefake.ServerErrorAfterCommit, cashfreefake.ServerError, cashfreefake.RateLimited, cashfreefake.InsufficientBalance)
	rg.call("POST", "/payout/transfers", nil, create("F2", "10", cashfreefake.AccountPays)).want(t, 500, "internal_server_error")
	rg.call("POST", "/payout/transfers", nil, create("F3", "10", cashfreefake.AccountPays)).want(t, 500, "internal_server_error")
	rl := rg.call("POST", "/payout/transfers", nil, create("F4", "10", cashfreefake.AccountPays))
	rl.want(t, 429, "rate_limit_exceeded")
	if rl.header.Get("x-ratelimit-retry") == "" {
		t.Fatal("429 without x-ratelimit-retry")
	}
	rg.call("POST", "/payout/transfers", nil, create("F5", "10", cashfreefake.AccountPays)).want(t, 400, "insufficient_balance")
	for ref, want := range map[string]int{"F2": 1, "F3": 0, "F4": 0, "F5": 0} {
		if got := rg.fake.Transfers(ref); got != want {
			t.Fatalf("%s: %d transfers, want %d", ref, got, want)
		}
	}

	// A hang ends when the client gives up; the transfer is recorded.
	rg.fake.FailCreates(cashfreefake.HangAfterCommit)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ = http.NewRequestWithContext(ctx, "POST", rg.srv.URL+"/payout/transfers", strings.NewReader(create("F6", "10", cashfreefake.AccountPays)))
	req.Header.Set("x-client-id", id)
	req.Header.Set("x-client-secret", secret)
	req.Header.Set("x-api-version", "2024-01-01")
	errc := make(chan error, 1)
	go func() {
		resp, err := rg.srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	if err := rg.fake.WaitHanging(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("hung create answered")
	}
	if rg.fake.Transfers("F6") != 1 {
		t.Fatal("HangAfterCommit did not commit")
	}
	if err := rg.fake.WaitHanging(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}

// Webhooks are signed as Cashfree documents: base64(HMAC-SHA256(timestamp
// + body)) with the client secret.
func TestWebhooks(t *testing.T) {
	rg := newRig(t, true)
	rg.call("POST", "/payout/transfers", nil, create("W1", "10", cashfreefake.AccountInstant)).want(t, 200, "")
	rg.hook.mu.Lock()
	n := len(rg.hook.got)
	rg.hook.mu.Unlock()
	if n != 2 {
		t.Fatalf("DeliverOnChange: %d webhooks before the answer, want 2", n)
	}
	if err := rg.fake.SetStatus("W1", "REVERSED", "ACCOUNT_BLOCKED"); err != nil {
		t.Fatal(err)
	}
	d, err := rg.fake.SendWebhook(context.Background(), "W1", "TRANSFER_REVERSED", cashfreefake.SendOptions{BadSignature: true})
	if err != nil || d.HTTPStatus != 200 {
		t.Fatalf("SendWebhook: %d %v", d.HTTPStatus, err)
	}
	rg.fake.Resend(context.Background(), d)
	rg.hook.mu.Lock()
	defer rg.hook.mu.Unlock()
	if len(rg.hook.got) != 5 {
		t.Fatalf("%d webhooks, want 5", len(rg.hook.got))
	}
	wantTypes := []string{"TRANSFER_SUCCESS", "TRANSFER_ACKNOWLEDGED", "TRANSFER_REVERSED", "TRANSFER_REVERSED", "TRANSFER_REVERSED"}
	for i, h := range rg.hook.got {
		body := rg.hook.body[i]
		var ev struct {
			Type string `json:"type"`
			Data struct {
				TransferID string `json:"transfer_id"`
				Status     string `json:"status"`
				UTR        string `json:"transfer_utr"`
			} `json:"data"`
			EventTime string `json:"event_time"`
		}
		if err := json.Unmarshal(body, &ev); err != nil || ev.Type != wantTypes[i] || ev.Data.TransferID != "W1" || ev.Data.UTR == "" || ev.EventTime == "" {
			t.Fatalf("webhook %d: %s (%v)", i, body, err)
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(h.Get("x-webhook-timestamp")))
		mac.Write(body)
		valid := h.Get("x-webhook-signature") == base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if valid != (i < 3) {
			t.Fatalf("webhook %d: signature valid %v", i, valid)
		}
		if h.Get("x-webhook-timestamp") != "1772359200000" {
			t.Fatalf("webhook %d: timestamp %q, want the clock's epoch milliseconds", i, h.Get("x-webhook-timestamp"))
		}
	}
	if !bytes.Equal(rg.hook.body[3], rg.hook.body[4]) || rg.hook.got[3].Get("x-webhook-signature") != rg.hook.got[4].Get("x-webhook-signature") {
		t.Fatal("Resend is not byte for byte")
	}
}
