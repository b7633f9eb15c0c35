// Command exchange is a minimal exchange-side integration with Offramp,
// written with the Go SDK (github.com/offramp/offramp/client).
//
// It starts a webhook receiver on 127.0.0.1, points the organization's
// webhook URL at it, onboards a customer (KYC, then a bank account), quotes
// a USDT sale, initiates the payout with an exchange order id, links the
// exchange's crypto transfer, and waits for the PAYOUT webhook, printing
// each step. It exits non-zero unless the payout ends SUCCESS with a UTR.
//
//	OFFRAMP_BASE_URL=http://127.0.0.1:8080 OFFRAMP_API_KEY=... OFFRAMP_API_SECRET=... \
//		go run ./examples/exchange
//
// Run it against a sandbox on the same machine (`offramp serve` prints the
// credentials on its first start): the server must be able to reach the
// receiver on 127.0.0.1, which a sandbox allows. On exit, the webhook URL
// is set back to what it was, if anything.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shopspring/decimal"

	"github.com/offramp/offramp/client"
	"github.com/offramp/offramp/webhook"
)

func main() {
	amount := flag.String("amount", "100", "USDT to sell for INR")
	timeout := flag.Duration("timeout", 3*time.Minute, "give up after this long")
	flag.Parse()

	cfg := config{
		BaseURL:   envOr("OFFRAMP_BASE_URL", "http://127.0.0.1:8080"),
		APIKey:    os.Getenv("OFFRAMP_API_KEY"),
		APISecret: os.Getenv("OFFRAMP_API_SECRET"),
	}
	var err error
	if cfg.Amount, err = decimal.NewFromString(*amount); err != nil {
		fmt.Fprintln(os.Stderr, "exchange: -amount:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if _, err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "exchange:", err)
		cancel()
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// config is what run needs.
type config struct {
	BaseURL, APIKey, APISecret string
	// Amount of USDT to sell (default 100).
	Amount decimal.Decimal
	// Options are extra client options (tests pass quick retries).
	Options []client.Option
}

// outcome is how the payout ended.
type outcome struct {
	CustomerID, BankID, QuotationID, PayoutID string
	Status, UTR, FailureReason                string
}

// run is the whole integration. It returns an error unless the payout ends
// SUCCESS with a UTR.
func run(ctx context.Context, cfg config, out io.Writer) (outcome, error) {
	var res outcome
	if cfg.APIKey == "" || cfg.APISecret == "" {
		return res, errors.New("set OFFRAMP_API_KEY and OFFRAMP_API_SECRET (a sandbox `offramp serve` prints them on its first start)")
	}
	if cfg.Amount.IsZero() {
		cfg.Amount = decimal.NewFromInt(100)
	}
	log := &printer{w: out}
	opts := append([]client.Option{client.WithUserAgent("offramp-example-exchange")}, cfg.Options...)
	c := client.New(cfg.BaseURL, cfg.APIKey, cfg.APISecret, opts...)
	tag := strings.ToLower(rand.Text()[:8]) // makes this run's ids unique

	// The webhook receiver.
	inbox := newInbox(cfg.APIKey, cfg.APISecret, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	hs := &http.Server{Handler: inbox, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	hookURL := "http://" + ln.Addr().String() + "/webhooks/offramp"

	log.step("Webhooks")
	prev, err := c.WebhookConfig(ctx)
	if err != nil {
		return res, fmt.Errorf("webhook configuration: %w", err)
	}
	if _, err := c.SetWebhookURL(ctx, hookURL); err != nil {
		return res, fmt.Errorf("set webhook URL: %w", err)
	}
	if prev.WebhookURL != "" && prev.WebhookURL != hookURL {
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if _, err := c.SetWebhookURL(rctx, prev.WebhookURL); err != nil {
				log.f("could not set the webhook URL back to %s: %v", prev.WebhookURL, err)
			}
		}()
	}
	log.f("receiving at %s", hookURL)

	log.step("1. Configuration")
	pc, err := c.PayoutConfiguration(ctx)
	if err != nil {
		return res, fmt.Errorf("configuration: %w", err)
	}
	usdt, ok := pc.CoinLimits["USDT"]
	if !ok || !slices.Contains(pc.SupportedFiats, "INR") {
		return res, fmt.Errorf("this server does not pay USDT out in INR (assets %v, fiats %v)", pc.SupportedAssets, pc.SupportedFiats)
	}
	log.f("assets %v, methods %v, USDT per payout %s..%s", pc.SupportedAssets, pc.SupportedPaymentMethods, usdt.Min, usdt.Max)

	log.step("2. Customer and KYC")
	name := "Meera Iyer"
	cust, err := c.CreateCustomer(ctx, client.CreateCustomerRequest{
		FullName: name, Email: "meera." + tag + "@example.com", Phone: "98" + randomDigits(8),
		Alpha3CountryCode: "IND", ClientReferenceID: "user-" + tag,
	})
	if err != nil {
		return res, fmt.Errorf("create customer: %w", err)
	}
	res.CustomerID = cust.ID
	log.f("customer %s %s", cust.ID, cust.Status)
	kyc, err := c.AddKYC(ctx, client.KYCRequest{
		CustomerID: cust.ID, FullName: name, FullAddress: "7 Marine Drive, Mumbai 400020",
		DOB: "21-06-1991", RegisteredDate: "01-01-2024", TaxNumber: randomPAN(),
		DocumentType: "AADHAAR", DocumentNumber: "2" + randomDigits(11),
		DocumentFrontImageURL: "https://files.example/kyc/" + tag + "/aadhaar-front.jpg",
		DocumentBackImageURL:  "https://files.example/kyc/" + tag + "/aadhaar-back.jpg",
		SelfieURL:             "https://files.example/kyc/" + tag + "/selfie.jpg", SelfieVerificationStatus: true,
	})
	if err != nil {
		return res, fmt.Errorf("add KYC: %w", err)
	}
	log.f("KYC submitted: %s; waiting for the CUSTOMER webhook", kyc.Status)
	env, err := inbox.wait(ctx, "CUSTOMER", cust.ID, "VERIFIED", "FAILED")
	if err != nil {
		return res, err
	}
	if env.Event != "VERIFIED" {
		return res, fmt.Errorf("KYC %s: %s", env.Event, env.Metadata["failure_reason"])
	}

	log.step("2. Bank account")
	bank, err := c.CreateBank(ctx, client.CreateBankRequest{
		CustomerID: cust.ID, AccountNumber: "5010" + randomDigits(6) + "97", IFSC: "HDFC0001234", AccountName: name,
	})
	if err != nil {
		return res, fmt.Errorf("add bank account: %w", err)
	}
	res.BankID = bank.ID
	log.f("bank account %s (%s, %s) %s; waiting for the BANK webhook", bank.ID, bank.AccountNumber, bank.IFSC, bank.BankAccountStatus)
	if env, err = inbox.wait(ctx, "BANK", bank.ID, "VERIFIED", "FAILED"); err != nil {
		return res, err
	}
	if env.Event != "VERIFIED" {
		return res, fmt.Errorf("bank account %s: %s", env.Event, env.Metadata["failure_reason"])
	}

	log.step("3. Limits")
	lim, err := c.PayoutLimits(ctx, cust.ID)
	if err != nil {
		return res, fmt.Errorf("limits: %w", err)
	}
	log.f("daily ₹%s, available ₹%s, EDD required: %t", lim.DailyLimit, lim.AvailableLimit, lim.IsEDDRequired)

	log.step("4. Rate")
	rate, err := c.FetchRate(ctx, "USDT", "INR", cfg.Amount)
	if err != nil {
		return res, fmt.Errorf("rate: %w", err)
	}
	gross := rate.Rate.Mul(cfg.Amount)
	log.f("1 USDT = ₹%s: %s USDT is ₹%s before fees", rate.Rate, cfg.Amount, gross.StringFixed(2))
	if gross.GreaterThan(lim.AvailableLimit) {
		return res, fmt.Errorf("₹%s is above the available limit ₹%s", gross.StringFixed(2), lim.AvailableLimit)
	}

	log.step("5. Quotation")
	q, err := c.CreateQuotation(ctx, client.QuotationRequest{
		Asset: "USDT", Fiat: "INR", SendingAmount: cfg.Amount, CustomerID: cust.ID, BankID: bank.ID, PaymentMethod: "IMPS",
		RiskParameters: &client.RiskParameters{IPAddress: "203.0.113.10", DeviceID: "device-" + tag},
	})
	if err != nil {
		return res, fmt.Errorf("quotation: %w", err)
	}
	res.QuotationID = q.ID
	f := q.Fees
	log.f("quotation %s: %s USDT → ₹%s (fee ₹%s + GST ₹%s, gateway ₹%s + GST ₹%s, TDS ₹%s), valid until %s",
		q.ID, q.SendingAmount, q.ReceivingAmount.StringFixed(2), f.PlatformFee.StringFixed(2), f.PlatformGST.StringFixed(2),
		f.PGFee.StringFixed(2), f.PGGST.StringFixed(2), f.TDS.StringFixed(2),
		q.ExpiryTime.Local().Format(time.TimeOnly))

	log.step("6. Initiate")
	order := "EX-ORD-" + tag
	p, err := c.InitiatePayout(ctx, client.InitiateRequest{
		QuotationID: q.ID, CustomerID: cust.ID, ExchangeOrderID: order, ClientReferenceID: "payout-" + tag,
	})
	if err != nil {
		return res, fmt.Errorf("initiate: %w", err)
	}
	res.PayoutID, res.Status = p.ID, p.Status
	log.f("payout %s for order %s: %s/%s", p.ID, order, p.Status, p.StatusDetail)

	log.step("9. Link the exchange transfer")
	transfer := "EX-TX-" + tag
	link, err := c.UpdateTransferID(ctx, order, transfer)
	if err != nil {
		return res, fmt.Errorf("update transfer id: %w", err)
	}
	log.f("order %s ↔ transfer %s (payout %s)", link.ExchangeOrderID, link.ExchangeTransferID, link.PayoutID)

	log.step("7, 8. Completion")
	log.f("waiting for the PAYOUT webhook")
	if env, err = inbox.wait(ctx, "PAYOUT", p.ID, "SUCCESS", "FAILED", "REFUNDED", "IN_REVIEW"); err != nil {
		return res, err
	}
	// The webhook says it; the API confirms it.
	final, err := c.GetPayout(ctx, p.ID)
	if err != nil {
		return res, fmt.Errorf("get payout: %w", err)
	}
	res.Status, res.UTR, res.FailureReason = final.Status, final.UTR, final.FailureReason
	if final.Status != env.Event {
		return res, fmt.Errorf("the webhook says %s but the payout is %s", env.Event, final.Status)
	}
	if final.Status != client.StatusSuccess || final.UTR == "" {
		return res, fmt.Errorf("payout %s ended %s %s", p.ID, final.Status, final.FailureReason)
	}
	log.f("payout %s SUCCESS: ₹%s paid, UTR %s", final.ID, final.ReceivingAmount.StringFixed(2), final.UTR)
	return res, nil
}

// printer writes progress lines; the receiver prints from its own
// goroutine.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) f(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "   "+format+"\n", args...)
}

func (p *printer) step(title string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\n%s\n", title)
}

// inbox receives webhooks: it verifies each, ignores duplicates (same
// webhook_id) and stale events (sequence not above the last applied to the
// object), and keeps the latest event per object.
type inbox struct {
	key, secret string
	log         *printer

	mu      sync.Mutex
	seen    map[string]bool
	latest  map[string]webhook.Envelope
	changed chan struct{} // closed and replaced on every change
}

func newInbox(key, secret string, log *printer) *inbox {
	return &inbox{key: key, secret: secret, log: log, seen: map[string]bool{}, latest: map[string]webhook.Envelope{}, changed: make(chan struct{})}
}

func (in *inbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	env, err := client.VerifyWebhook(r.Header, body, in.key, in.secret, 5*time.Minute, time.Now())
	if err != nil {
		in.log.f("webhook refused: %v", err)
		code := http.StatusUnauthorized
		if errors.Is(err, webhook.ErrMalformed) {
			code = http.StatusBadRequest
		}
		http.Error(w, http.StatusText(code), code)
		return
	}
	in.mu.Lock()
	note := ""
	switch prev, ok := in.latest[env.ID]; {
	case in.seen[env.WebhookID]:
		note = " (duplicate, ignored)"
	case ok && env.Sequence <= prev.Sequence:
		note = " (stale, ignored)"
		in.seen[env.WebhookID] = true
	default:
		in.seen[env.WebhookID] = true
		in.latest[env.ID] = env
		close(in.changed)
		in.changed = make(chan struct{})
	}
	in.mu.Unlock()
	extra := ""
	for _, k := range []string{"utr", "failure_reason"} {
		if v := env.Metadata[k]; v != "" {
			extra += " " + k + "=" + v
		}
	}
	in.log.f("⇠ webhook %s %s %s #%d%s%s", env.Type, env.ID, env.Event, env.Sequence, extra, note)
	w.WriteHeader(http.StatusNoContent)
}

// wait returns the object's latest event once it is of type typ and one of
// final.
func (in *inbox) wait(ctx context.Context, typ, id string, final ...string) (webhook.Envelope, error) {
	for {
		in.mu.Lock()
		env, ok := in.latest[id]
		ch := in.changed
		in.mu.Unlock()
		if ok && env.Type == typ && slices.Contains(final, env.Event) {
			return env, nil
		}
		select {
		case <-ctx.Done():
			return webhook.Envelope{}, fmt.Errorf("waiting for the %s webhook (%s) of %s: %w", typ, strings.Join(final, " or "), id, ctx.Err())
		case <-ch:
		}
	}
}

func randomDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err)
		}
		b[i] = byte('0' + d.Int64())
	}
	return string(b)
}

func randomLetters(n int) string {
	b := make([]byte, n)
	for i := range b {
		d, err := rand.Int(rand.Reader, big.NewInt(26))
		if err != nil {
			panic(err)
		}
		b[i] = byte('A' + d.Int64())
	}
	return string(b)
}

// randomPAN is a well-formed PAN unlikely to be in use (the sandbox refuses
// one PAN for two customers, and fails AAAAA0000A on purpose).
func randomPAN() string {
	return randomLetters(3) + "P" + randomLetters(1) + randomDigits(4) + randomLetters(1)
}
