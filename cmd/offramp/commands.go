package main

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/offramp/offramp/client"
)

// clientCmds are the API commands: each calls the API through the SDK with
// the credentials of apiFlags.
func clientCmds() []*cobra.Command {
	f := &apiFlags{}
	cmds := []*cobra.Command{customersCmd(f), kycCmd(f), banksCmd(f), ratesCmd(f), quotationsCmd(f), payoutsCmd(f), listenCmd(f), triggerCmd(f)}
	for _, c := range cmds {
		f.register(c)
	}
	return cmds
}

func customerText(c *client.Customer) func(func(string, any)) {
	return func(kv func(string, any)) {
		kv("id", c.ID)
		kv("status", c.Status)
		kv("failure_reason", c.FailureReason)
		kv("full_name", c.FullName)
		kv("email", c.Email)
		kv("phone", c.Phone)
		kv("country", c.Country)
		kv("client_reference_id", c.ClientReferenceID)
		kv("document_type", c.DocumentType)
		kv("created_at", c.CreatedAt.Format(time.RFC3339))
	}
}

func customersCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "customers", Short: "Create, fetch and list customers"}
	var r client.CreateCustomerRequest
	create := &cobra.Command{
		Use: "create", Short: "Create a customer", Args: cobra.NoArgs,
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			cu, err := c.CreateCustomer(cmd.Context(), r)
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), cu, customerText(cu))
		}),
	}
	create.Flags().StringVar(&r.FullName, "name", "", "full name (required)")
	create.Flags().StringVar(&r.Email, "email", "", "email (required)")
	create.Flags().StringVar(&r.Phone, "phone", "", "phone; a 10-digit Indian number gets +91 (required)")
	create.Flags().StringVar(&r.Alpha3CountryCode, "country", "IND", "nationality, ISO 3166 alpha-3")
	create.Flags().StringVar(&r.ClientReferenceID, "ref", "", "your reference for the customer")
	for _, n := range []string{"name", "email", "phone"} {
		_ = create.MarkFlagRequired(n)
	}
	get := &cobra.Command{
		Use: "get CUSTOMER_ID", Short: "Fetch a customer", Args: cobra.ExactArgs(1),
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			cu, err := c.GetCustomer(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), cu, customerText(cu))
		}),
	}
	var lo client.ListOptions
	list := &cobra.Command{
		Use: "list", Short: "List customers, newest first", Args: cobra.NoArgs,
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			p, err := c.ListCustomers(cmd.Context(), lo)
			if err != nil {
				return err
			}
			rows := [][]string{}
			for _, cu := range p.Results {
				rows = append(rows, []string{cu.ID, cu.Status, cu.FullName, cu.Email, cu.CreatedAt.Format(time.RFC3339)})
			}
			return f.table(cmd.OutOrStdout(), p, []string{"ID", "STATUS", "NAME", "EMAIL", "CREATED"}, rows)
		}),
	}
	list.Flags().IntVar(&lo.Page, "page", 1, "page number")
	list.Flags().IntVar(&lo.PageSize, "page-size", 10, "results per page (at most 100)")
	cmd.AddCommand(create, get, list)
	return cmd
}

func kycCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "kyc", Short: "Submit KYC and follow it"}
	r := client.KYCRequest{SelfieVerificationStatus: true}
	submit := &cobra.Command{
		Use: "submit", Short: "Submit a customer's KYC (the image URLs default to sandbox samples)", Args: cobra.NoArgs,
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			st, err := c.AddKYC(cmd.Context(), r)
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), st, func(kv func(string, any)) { kv("customer_id", st.CustomerID); kv("status", st.Status) })
		}),
	}
	fl := submit.Flags()
	fl.StringVar(&r.CustomerID, "customer", "", "customer id (required)")
	fl.StringVar(&r.FullName, "name", "", "full name as on the documents (required)")
	fl.StringVar(&r.FullAddress, "address", "", "full address (required)")
	fl.StringVar(&r.DOB, "dob", "", "date of birth, DD-MM-YYYY (required)")
	fl.StringVar(&r.RegisteredDate, "registered", time.Now().Format("02-01-2006"), "date the customer registered at the exchange, DD-MM-YYYY")
	fl.StringVar(&r.TaxNumber, "pan", "", "PAN (required; sandbox: AAAAA0000A fails)")
	fl.StringVar(&r.DocumentType, "document-type", "AADHAAR", "AADHAAR, PASSPORT, VOTER_ID or DRIVING_LICENSE")
	fl.StringVar(&r.DocumentNumber, "document-number", "", "document number (required; sandbox: 000000000000 fails)")
	fl.StringVar(&r.DocumentFrontImageURL, "front-url", "https://sandbox.offramp.dev/test-images/aadhaar-front.jpg", "document front image URL")
	fl.StringVar(&r.DocumentBackImageURL, "back-url", "https://sandbox.offramp.dev/test-images/aadhaar-back.jpg", "document back image URL")
	fl.StringVar(&r.SelfieURL, "selfie-url", "https://sandbox.offramp.dev/test-images/selfie.jpg", "selfie URL (sandbox: containing \"fail\" fails)")
	for _, n := range []string{"customer", "name", "address", "dob", "pan", "document-number"} {
		_ = submit.MarkFlagRequired(n)
	}
	status := &cobra.Command{
		Use: "status CUSTOMER_ID", Short: "Show a customer's KYC status", Args: cobra.ExactArgs(1),
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			cu, err := c.GetCustomer(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), cu, func(kv func(string, any)) {
				kv("customer_id", cu.ID)
				kv("status", cu.Status)
				kv("failure_reason", cu.FailureReason)
			})
		}),
	}
	var redirect string
	link := &cobra.Command{
		Use: "link CUSTOMER_ID", Short: "Create a hosted KYC link", Args: cobra.ExactArgs(1),
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			l, err := c.GenerateKYCLink(cmd.Context(), args[0], redirect)
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), l, func(kv func(string, any)) { kv("url", l.URL); kv("expires", l.ExpiryTime.Format(time.RFC3339)) })
		}),
	}
	link.Flags().StringVar(&redirect, "redirect", "https://example.com/kyc-done", "where the page sends the customer afterwards")
	cmd.AddCommand(submit, status, link)
	return cmd
}

func bankText(b *client.Bank) func(func(string, any)) {
	return func(kv func(string, any)) {
		kv("id", b.ID)
		kv("customer_id", b.CustomerID)
		kv("status", b.BankAccountStatus)
		kv("failure_reason", b.FailureReason)
		kv("type", b.BankAccountType)
		kv("account_number", b.AccountNumber)
		kv("ifsc", b.IFSC)
		kv("vpa", b.VPA)
	}
}

func banksCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "banks", Short: "Add, fetch and list customers' bank accounts"}
	var r client.CreateBankRequest
	create := &cobra.Command{
		Use: "create", Short: "Add a bank account (account number and IFSC) or a UPI VPA", Args: cobra.NoArgs,
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			b, err := c.CreateBank(cmd.Context(), r)
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), b, bankText(b))
		}),
	}
	create.Flags().StringVar(&r.CustomerID, "customer", "", "customer id (required)")
	create.Flags().StringVar(&r.AccountNumber, "account", "", "account number (sandbox endings 0000, 1111, 2222 fail verification; 3333, 4444, 5555 choose payout outcomes)")
	create.Flags().StringVar(&r.IFSC, "ifsc", "", "IFSC")
	create.Flags().StringVar(&r.AccountName, "holder", "", "account holder name")
	create.Flags().StringVar(&r.VPA, "vpa", "", "UPI VPA instead of an account")
	_ = create.MarkFlagRequired("customer")
	get := &cobra.Command{
		Use: "get CUSTOMER_ID BANK_ID", Short: "Fetch a bank account", Args: cobra.ExactArgs(2),
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			b, err := c.GetBank(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), b, bankText(b))
		}),
	}
	list := &cobra.Command{
		Use: "list CUSTOMER_ID", Short: "List a customer's bank accounts", Args: cobra.ExactArgs(1),
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			p, err := c.ListBanks(cmd.Context(), args[0], client.ListOptions{Page: 1, PageSize: 100})
			if err != nil {
				return err
			}
			rows := [][]string{}
			for _, b := range p.Results {
				rows = append(rows, []string{b.ID, b.BankAccountStatus, b.BankAccountType, b.AccountNumber + b.VPA, b.IFSC, b.FailureReason})
			}
			return f.table(cmd.OutOrStdout(), p, []string{"ID", "STATUS", "TYPE", "ACCOUNT", "IFSC", "FAILURE"}, rows)
		}),
	}
	cmd.AddCommand(create, get, list)
	return cmd
}

func ratesCmd(f *apiFlags) *cobra.Command {
	var asset, fiat, amount string
	cmd := &cobra.Command{
		Use: "rates", Short: "Fetch the current rate of an asset", Args: cobra.NoArgs,
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			var amt decimal.Decimal
			if amount != "" {
				var err error
				if amt, err = decimal.NewFromString(amount); err != nil {
					return fmt.Errorf("--amount: %w", err)
				}
			}
			r, err := c.FetchRate(cmd.Context(), asset, fiat, amt)
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), r, func(kv func(string, any)) {
				kv("asset", r.Asset)
				kv("fiat", r.Fiat)
				kv("rate", r.Rate)
				if !r.Amount.IsZero() {
					kv("amount", r.Amount)
					kv("value", r.Amount.Mul(r.Rate).StringFixed(2))
				}
			})
		}),
	}
	cmd.Flags().StringVar(&asset, "asset", "USDT", "USDT or USDC")
	cmd.Flags().StringVar(&fiat, "fiat", "INR", "fiat currency")
	cmd.Flags().StringVar(&amount, "amount", "", "an amount of the asset, to see its value")
	return cmd
}

func quotationText(q *client.Quotation) func(func(string, any)) {
	return func(kv func(string, any)) {
		kv("id", q.ID)
		kv("status", q.Status)
		kv("sending_amount", q.SendingAmount.String()+" "+q.Asset)
		kv("rate", q.Rate)
		kv("receiving_amount", q.ReceivingAmount.String()+" "+q.Fiat)
		kv("fees", fmt.Sprintf("platform %s + GST %s, pg %s + GST %s, client %s + GST %s, TDS %s",
			q.Fees.PlatformFee, q.Fees.PlatformGST, q.Fees.PGFee, q.Fees.PGGST, q.Fees.ClientFeeFiat, q.Fees.ClientGSTFiat, q.Fees.TDS))
		kv("expiry_time", q.ExpiryTime.Format(time.RFC3339))
		kv("payout_id", q.OrderID)
	}
}

func quotationsCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "quotations", Short: "Lock a rate for a payout"}
	var (
		r      client.QuotationRequest
		amount string
	)
	create := &cobra.Command{
		Use: "create", Short: "Create a quotation", Args: cobra.NoArgs,
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			var err error
			if r.SendingAmount, err = decimal.NewFromString(amount); err != nil {
				return fmt.Errorf("--amount: %w", err)
			}
			q, err := c.CreateQuotation(cmd.Context(), r)
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), q, quotationText(q))
		}),
	}
	create.Flags().StringVar(&r.CustomerID, "customer", "", "customer id (required)")
	create.Flags().StringVar(&r.BankID, "bank", "", "bank account id (required)")
	create.Flags().StringVar(&amount, "amount", "", "amount of the asset to sell (required)")
	create.Flags().StringVar(&r.Asset, "asset", "USDT", "USDT or USDC")
	create.Flags().StringVar(&r.Fiat, "fiat", "INR", "fiat currency")
	for _, n := range []string{"customer", "bank", "amount"} {
		_ = create.MarkFlagRequired(n)
	}
	get := &cobra.Command{
		Use: "get QUOTATION_ID", Short: "Fetch a quotation", Args: cobra.ExactArgs(1),
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			q, err := c.GetQuotation(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), q, quotationText(q))
		}),
	}
	cmd.AddCommand(create, get)
	return cmd
}

func payoutText(p *client.Payout) func(func(string, any)) {
	return func(kv func(string, any)) {
		kv("id", p.ID)
		kv("status", p.Status)
		kv("status_detail", p.StatusDetail)
		kv("utr", p.UTR)
		kv("failure_reason", p.FailureReason)
		kv("sending_amount", p.SendingAmount.String()+" "+p.Asset)
		kv("receiving_amount", p.ReceivingAmount.String()+" "+p.Fiat)
		kv("exchange_order_id", p.ExchangeOrderID)
		kv("exchange_transfer_id", p.ExchangeTransferID)
		kv("client_reference_id", p.ClientReferenceID)
		kv("created_at", p.CreatedAt.Format(time.RFC3339))
	}
}

func payoutsCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "payouts", Short: "Initiate, fetch, list and watch payouts"}
	var r client.InitiateRequest
	create := &cobra.Command{
		Use: "create", Short: "Initiate a payout from a quotation (retries reuse one idempotency key)", Args: cobra.NoArgs,
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			p, err := c.InitiatePayout(cmd.Context(), r)
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), p, payoutText(p))
		}),
	}
	create.Flags().StringVar(&r.QuotationID, "quotation", "", "quotation id (required)")
	create.Flags().StringVar(&r.CustomerID, "customer", "", "customer id (required)")
	create.Flags().StringVar(&r.ExchangeOrderID, "order", "", "the exchange's order id (required)")
	create.Flags().StringVar(&r.ClientReferenceID, "ref", "", "your reference for the payout")
	create.Flags().StringVar(&r.IdempotencyKey, "idempotency-key", "", "Idempotency-Key (default: a new one)")
	for _, n := range []string{"quotation", "customer", "order"} {
		_ = create.MarkFlagRequired(n)
	}
	get := &cobra.Command{
		Use: "get PAYOUT_ID", Short: "Fetch a payout", Args: cobra.ExactArgs(1),
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			p, err := c.GetPayout(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), p, payoutText(p))
		}),
	}
	var h client.HistoryOptions
	list := &cobra.Command{
		Use: "list", Short: "List payouts, newest first", Args: cobra.NoArgs,
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			p, err := c.PayoutHistory(cmd.Context(), h)
			if err != nil {
				return err
			}
			rows := [][]string{}
			for _, po := range p.Results {
				rows = append(rows, []string{po.ID, po.Status, po.SendingAmount.String() + " " + po.Asset, po.ReceivingAmount.String() + " " + po.Fiat, po.UTR, po.ExchangeOrderID, po.CreatedAt.Format(time.RFC3339)})
			}
			return f.table(cmd.OutOrStdout(), p, []string{"ID", "STATUS", "SENT", "PAID", "UTR", "ORDER", "CREATED"}, rows)
		}),
	}
	list.Flags().StringVar(&h.Status, "status", "", "PROCESSING, SUCCESS, FAILED, REFUNDED or IN_REVIEW")
	list.Flags().StringVar(&h.CustomerID, "customer", "", "only this customer's payouts")
	list.Flags().StringVar(&h.StartDate, "from", "", "first day, YYYY-MM-DD (with --to)")
	list.Flags().StringVar(&h.EndDate, "to", "", "last day, YYYY-MM-DD (with --from)")
	list.Flags().IntVar(&h.Page, "page", 1, "page number")
	list.Flags().IntVar(&h.PageSize, "page-size", 10, "results per page")
	var every time.Duration
	watch := &cobra.Command{
		Use: "watch PAYOUT_ID", Short: "Show a payout's status live until it is final", Args: cobra.ExactArgs(1),
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			out := cmd.OutOrStdout()
			p, err := c.WaitPayout(cmd.Context(), args[0], every, func(p *client.Payout) {
				if !f.json {
					fmt.Fprintf(out, "%s  %-10s %s\n", time.Now().Format("15:04:05"), p.Status, p.StatusDetail)
				}
			})
			if err != nil {
				return err
			}
			return f.show(out, p, payoutText(p))
		}),
	}
	watch.Flags().DurationVar(&every, "every", time.Second, "how often to poll")
	cmd.AddCommand(create, get, list, watch)
	return cmd
}

func triggerCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "trigger", Short: "Sandbox: force outcomes through the mock status endpoints"}
	kyc := &cobra.Command{
		Use: "kyc CUSTOMER_ID STATUS", Short: "Set a customer's KYC status (VERIFIED, UNVERIFIED, TAX_VERIFICATION_FAILED, DOCUMENT_VERIFICATION_FAILED)", Args: cobra.ExactArgs(2),
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			st, err := c.MockKYCStatus(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), st, func(kv func(string, any)) {
				kv("customer_id", st.ID)
				kv("status", st.Status)
				kv("failure_reason", st.FailureReason)
			})
		}),
	}
	var reason string
	bank := &cobra.Command{
		Use: "bank CUSTOMER_ID BANK_ID STATUS", Short: "Decide a PROCESSING bank account (VERIFIED or FAILED)", Args: cobra.ExactArgs(3),
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			b, err := c.MockBankVerification(cmd.Context(), args[0], args[1], args[2], reason)
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), b, bankText(b))
		}),
	}
	bank.Flags().StringVar(&reason, "reason", "", "failure reason when FAILED (default PENNY_DROP_FAILED)")
	payout := &cobra.Command{
		Use: "payout PAYOUT_ID STATUS", Short: "Move a PROCESSING payout to SUCCESS or FAILED, or a FAILED one to REFUNDED", Args: cobra.ExactArgs(2),
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			m, err := c.MockPayoutStatus(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), m, func(kv func(string, any)) { kv("payout_id", m.PayoutID); kv("status", m.PayoutStatus) })
		}),
	}
	cmd.AddCommand(kyc, bank, payout)
	return cmd
}
