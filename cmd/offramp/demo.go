package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/client"
	"github.com/offramp/offramp/server"
	"github.com/offramp/offramp/webhook"
)

func demoCmd() *cobra.Command {
	var (
		f       apiFlags
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Walk the nine steps of the payout integration guide against a sandbox",
		Long: `Walk the nine steps of the payout integration guide, showing what each call sent and got.

With no arguments it starts an embedded sandbox server in a temporary directory. With
--base-url (and credentials) it runs against that server instead. It receives the payout's
webhook on a local receiver, ends with SUCCESS and the UTR, and exits non-zero if any step fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			base, key, secret := f.baseURL, f.apiKey, f.apiSecret
			if !cmd.Flags().Changed("base-url") {
				srv, stop, err := embeddedSandbox(ctx)
				if err != nil {
					return err
				}
				defer stop()
				base, key, secret = srv.URL, srv.DefaultOrg.APIKey, srv.DefaultOrg.APISecret
			} else if key == "" || secret == "" {
				return errors.New("with --base-url, give --api-key and --api-secret (or OFFRAMP_API_KEY and OFFRAMP_API_SECRET)")
			}
			d := &demo{out: cmd.OutOrStdout(), start: time.Now()}
			d.c = client.New(strings.TrimRight(base, "/"), key, secret, client.WithObserver(d.observe), client.WithUserAgent("offramp-demo"))
			fmt.Fprintf(d.out, "Offramp demo against %s\n", base)
			utr, err := d.run(ctx, key, secret)
			if err != nil {
				fmt.Fprintf(d.out, "\nFAILED at step %s: %v\n", d.step, apiError(err))
				return fmt.Errorf("demo failed at step %s", d.step)
			}
			fmt.Fprintf(d.out, "\nSUCCESS: the payout was paid, UTR %s (%.1f s)\n", utr, time.Since(d.start).Seconds())
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	return cmd
}

// embeddedSandbox starts a sandbox server in a temporary directory with
// short sandbox delays, quiet logs and a fresh master key.
func embeddedSandbox(ctx context.Context) (*server.Server, func(), error) {
	dir, err := os.MkdirTemp("", "offramp-demo-")
	if err != nil {
		return nil, nil, err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	srv, err := server.Start(ctx, server.Config{
		DB: dir + "/offramp.db", Env: offramp.EnvSandbox, MasterKey: key, Addr: "127.0.0.1:0",
		VerifyDelay: time.Second, RailDelay: time.Second, ShutdownTimeout: 5 * time.Second,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return srv, func() {
		_ = srv.Shutdown(context.Background())
		os.RemoveAll(dir)
	}, nil
}

type demo struct {
	out   io.Writer
	c     *client.Client
	start time.Time
	step  string
}

// observe prints each call the SDK makes: what was sent, what came back.
func (d *demo) observe(x client.Exchange) {
	fmt.Fprintf(d.out, "    → %s %s", x.Method, x.Path)
	if len(x.RequestBody) > 0 {
		fmt.Fprintf(d.out, "  %s", clip(x.RequestBody))
	}
	fmt.Fprintf(d.out, "\n    ← %d  %s\n", x.StatusCode, clip(x.ResponseBody))
}

func clip(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 360 {
		s = s[:360] + "…"
	}
	return s
}

func (d *demo) begin(step, title string) {
	d.step = step
	fmt.Fprintf(d.out, "\n%s. %s\n", step, title)
}

func (d *demo) note(format string, args ...any) {
	fmt.Fprintf(d.out, "   "+format+"\n", args...)
}

// wait polls get until done says so, or ctx ends.
func wait[T any](ctx context.Context, get func() (T, error), done func(T) bool) (T, error) {
	for {
		v, err := get()
		if err != nil || done(v) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (d *demo) run(ctx context.Context, key, secret string) (string, error) {
	c := d.c
	d.begin("0", "Start a webhook receiver and point the organization's webhook URL at it")
	events, stop, url, err := startReceiver(key, secret)
	if err != nil {
		return "", err
	}
	defer stop()
	if _, err := c.SetWebhookURL(ctx, url); err != nil {
		return "", err
	}

	d.begin("1", "Fetch configurations")
	cfg, err := c.PayoutConfiguration(ctx)
	if err != nil {
		return "", err
	}
	d.note("assets %v, networks %v, fiats %v", cfg.SupportedAssets, cfg.SupportedNetworks, cfg.SupportedFiats)

	d.begin("2", "Validate the customer: KYC VERIFIED and a verified bank account")
	n := uuid.NewString()[:8]
	cu, err := c.CreateCustomer(ctx, client.CreateCustomerRequest{FullName: "Asha Verma", Email: "asha." + n + "@example.com",
		Phone: "98" + fmt.Sprintf("%08d", time.Now().UnixNano()%1e8), Alpha3CountryCode: "IND", ClientReferenceID: "demo-" + n})
	if err != nil {
		return "", err
	}
	if _, err := c.AddKYC(ctx, client.KYCRequest{
		CustomerID: cu.ID, FullName: "Asha Verma", FullAddress: "221 Park Street, Kolkata 700016", DOB: "02-03-1992",
		RegisteredDate: time.Now().Format("02-01-2006"), TaxNumber: fmt.Sprintf("ABCPV%04dK", time.Now().UnixNano()%10000), DocumentType: "AADHAAR",
		DocumentNumber: fmt.Sprintf("4%011d", time.Now().UnixNano()%1e11), DocumentFrontImageURL: "https://sandbox.offramp.dev/test-images/aadhaar-front.jpg",
		DocumentBackImageURL: "https://sandbox.offramp.dev/test-images/aadhaar-back.jpg", SelfieURL: "https://sandbox.offramp.dev/test-images/selfie.jpg",
		SelfieVerificationStatus: true,
	}); err != nil {
		return "", err
	}
	d.note("waiting for KYC…")
	cu, err = wait(ctx, func() (*client.Customer, error) { return c.GetCustomer(ctx, cu.ID) }, func(x *client.Customer) bool { return x.Status != "PROCESSING" })
	if err != nil {
		return "", err
	}
	if cu.Status != "VERIFIED" {
		return "", fmt.Errorf("KYC ended %s (%s)", cu.Status, cu.FailureReason)
	}
	b, err := c.CreateBank(ctx, client.CreateBankRequest{CustomerID: cu.ID, AccountNumber: fmt.Sprintf("50%08d", time.Now().UnixNano()%1e8) + "7", IFSC: "HDFC0001234"})
	if err != nil {
		return "", err
	}
	d.note("waiting for the bank account's penny drop…")
	b, err = wait(ctx, func() (*client.Bank, error) { return c.GetBank(ctx, cu.ID, b.ID) }, func(x *client.Bank) bool { return x.BankAccountStatus != "PROCESSING" })
	if err != nil {
		return "", err
	}
	if b.BankAccountStatus != "VERIFIED" {
		return "", fmt.Errorf("bank account ended %s (%s)", b.BankAccountStatus, b.FailureReason)
	}

	d.begin("3", "Fetch payout limits: is EDD required?")
	lim, err := c.PayoutLimits(ctx, cu.ID)
	if err != nil {
		return "", err
	}
	d.note("daily limit ₹%s, available ₹%s, EDD required: %t", lim.DailyLimit, lim.AvailableLimit, lim.IsEDDRequired)

	d.begin("4", "Fetch the exchange rate")
	amount := decimal.NewFromInt(51)
	rate, err := c.FetchRate(ctx, "USDT", "INR", amount)
	if err != nil {
		return "", err
	}
	d.note("1 USDT = ₹%s", rate.Rate)

	d.begin("5", "Create a quotation to lock the rate")
	q, err := c.CreateQuotation(ctx, client.QuotationRequest{Asset: "USDT", Fiat: "INR", SendingAmount: amount, CustomerID: cu.ID, BankID: b.ID,
		RiskParameters: &client.RiskParameters{IPAddress: "127.0.0.1", DeviceID: "demo-device"}})
	if err != nil {
		return "", err
	}
	d.note("%s USDT → ₹%s after fees and TDS, valid until %s", q.SendingAmount, q.ReceivingAmount, q.ExpiryTime.Format(time.TimeOnly))

	d.begin("6", "Initiate the payout with the exchange order id")
	order := "demo-order-" + n
	p, err := c.InitiatePayout(ctx, client.InitiateRequest{QuotationID: q.ID, CustomerID: cu.ID, ExchangeOrderID: order, ClientReferenceID: "demo-payout-" + n})
	if err != nil {
		return "", err
	}
	d.note("payout %s is %s", p.ID, p.Status)

	d.begin("7", "Link the exchange transfer id (the guide's step 9; the diagrams put it here)")
	if _, err := c.UpdateTransferID(ctx, order, "demo-transfer-"+n); err != nil {
		return "", err
	}

	d.begin("8", "Monitor the payout: webhook, with polling as the fallback")
	var got webhook.Envelope
	for got.ID == "" {
		select {
		case ev := <-events:
			if ev.Type == "PAYOUT" && ev.ID == p.ID {
				got = ev
			} else {
				d.note("webhook %s %s for %s (sequence %d)", ev.Type, ev.Event, ev.ID, ev.Sequence)
			}
		case <-time.After(3 * time.Second):
			if cur, err := c.GetPayout(ctx, p.ID); err == nil {
				d.note("polled: %s %s", cur.Status, cur.StatusDetail)
			}
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	d.note("webhook PAYOUT %s received and verified (webhook id %s)", got.Event, got.WebhookID)

	d.begin("9", "Handle completion")
	final, err := c.GetPayout(ctx, p.ID)
	if err != nil {
		return "", err
	}
	if final.Status != "SUCCESS" {
		return "", fmt.Errorf("payout ended %s (%s)", final.Status, final.FailureReason)
	}
	d.note("status %s, UTR %s, ₹%s paid to %s", final.Status, final.UTR, final.ReceivingAmount, b.AccountNumber)
	return final.UTR, nil
}

// startReceiver listens on 127.0.0.1 for webhooks and delivers the verified
// ones on the returned channel.
func startReceiver(key, secret string) (<-chan webhook.Envelope, func(), string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, "", err
	}
	events := make(chan webhook.Envelope, 64)
	var once sync.Once
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: receiverHandler(key, secret, func(env webhook.Envelope, _ []byte, err error) {
		if err == nil {
			select {
			case events <- env:
			default:
			}
		}
	})}
	go srv.Serve(ln)
	return events, func() { once.Do(func() { srv.Close() }) }, "http://" + ln.Addr().String() + "/webhooks", nil
}
