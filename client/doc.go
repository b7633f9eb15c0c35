// Package client is the Go SDK of Offramp's HTTP API, which is
// wire-compatible with DollarPe's exchange API: the same client works
// against either.
//
//	c := client.New("http://127.0.0.1:8080", apiKey, apiSecret)
//	cust, err := c.CreateCustomer(ctx, client.CreateCustomerRequest{
//		FullName: "Ravi Kumar", Email: "ravi@example.com", Phone: "9876543210", Alpha3CountryCode: "IND",
//	})
//	...
//	q, err := c.CreateQuotation(ctx, client.QuotationRequest{
//		Asset: "USDT", Fiat: "INR", SendingAmount: decimal.RequireFromString("100"),
//		CustomerID: cust.ID, BankID: bankID,
//	})
//	p, err := c.InitiatePayout(ctx, client.InitiateRequest{
//		QuotationID: q.ID, CustomerID: cust.ID, ExchangeOrderID: "order-42",
//	})
//	p, err = c.WaitPayout(ctx, p.ID, 2*time.Second, nil) // or wait for the PAYOUT webhook
//
// # Signing
//
// Every request carries X-API-KEY, X-TIMESTAMP and X-SIGNATURE, the HMAC of
// the exact body sent (canonical JSON: sorted keys, compact, ASCII), or of
// "{}" without a body. The server refuses a POST or PATCH signature it has
// already seen, and timestamps count whole seconds, so the client never
// signs the same body twice with one timestamp: the second identical body
// within a second is stamped a second later (the server accepts timestamps
// up to 300 s ahead). This holds for every Client of the process; two
// processes sharing credentials and sending identical bodies within one
// second can still collide, and the later one gets a 401.
//
// # Retries
//
// Network errors (connection refused or reset, timeouts), 429 and 5xx
// answers are retried with exponential back-off and full jitter, honoring
// Retry-After; other 4xx answers are not. Each attempt is signed afresh.
// InitiatePayout sends one Idempotency-Key on every attempt, so a retry
// after a lost answer returns the payout already made, never a second one.
// Other calls have no such key: a retried CreateCustomer whose first
// attempt did reach the server answers "Email already in use". See
// [WithRetry].
//
// # Errors
//
// Every answer that is not a success is an [*Error] with the API's message,
// err_code, field errors and request id.
//
// # Amounts and times
//
// Amounts are [decimal.Decimal], decoded exactly whether the API sends a
// JSON number or a string; null strings decode to "". Times are RFC 3339.
//
// # Webhooks
//
// [VerifyWebhook] checks a received webhook's signature and timestamp and
// returns its envelope.
package client
