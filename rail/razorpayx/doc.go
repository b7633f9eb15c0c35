// Package razorpayx pays INR through RazorpayX Payouts: Rail implements the
// bank contract (offramp.Rail) over RazorpayX's REST API, WebhookHandler
// applies RazorpayX's payout webhooks, and BankVerifier checks a bank
// account with RazorpayX Fund Account Validation (a ₹1 penny drop). The
// fake of the API it is tested against lives in razorpayxfake.
//
// Everything here is written from RazorpayX's public documentation (cited
// below); nothing could be tried against the real service from where it was
// written, so where the documentation is silent or contradicts itself the
// choice made is stated.
//
// # Beneficiaries
//
// A payout goes to a fund account, which belongs to a contact. For each
// (organization, bank account) the adapter creates once a contact (name =
// the account holder's name, type "customer", reference_id = the Offramp
// customer id) and a fund account of type bank_account (name, ifsc,
// account_number), and remembers their ids in the Store as an
// offramp.RailAccount with Provider "razorpayx". Two payouts racing to
// create the same beneficiary both create (RazorpayX returns the existing
// contact or fund account when every detail matches), and PutRailAccount's
// first writer wins, so both use one fund account. A transfer without
// Offramp ids (OrgID or BankID zero, as in rail/railtest) or a Rail without
// a Store is not remembered: it relies on RazorpayX's duplicate handling
// alone. Names are cut to the characters RazorpayX accepts.
//
// # Submit
//
// POST /v1/payouts with the header X-Payout-Idempotency = the transfer's
// Reference and reference_id = Reference (so a reference must be 4 to 36
// letters, digits, '-', '_' or spaces: Offramp's are "OFR" + 32 hex digits),
// account_number = Config.AccountNumber (the RazorpayX business account the
// money leaves), fund_account_id, amount in paise (the decimal × 100 exactly;
// a fraction of a paisa, less than ₹1 or another currency than INR is
// REJECTED with INVALID_AMOUNT or UNSUPPORTED_CURRENCY before anything is
// sent), currency INR, purpose "payout", queue_if_low_balance true (a payout
// the balance cannot cover waits "queued" instead of failing).
//
// Mode: IMPS up to and including ₹5,00,000 (the IMPS per-transaction cap),
// RTGS above it (RTGS settles each transfer individually and has a ₹2,00,000
// minimum, which such an amount always meets). The mode depends on the amount
// alone, so a resubmission sends the same body, which RazorpayX requires of
// a retry under one idempotency key.
//
// A duplicate Submit is never a rejection. The same body under the same key
// returns the existing payout (RazorpayX: "Subsequent requests using the same
// key will return the saved result"; its error guide: "you get the created
// payout details along with the current status"); another body under the
// same key is refused ("Different request body sent for the same Idempotency
// Header"). On any 4xx answer the adapter first looks the reference up and,
// if RazorpayX holds a payout under it, answers that payout's status.
//
// Errors. A 4xx creates nothing: about the beneficiary (the holder's name,
// the IFSC, the account number, source beneficiary_bank) it is REJECTED
// with a reason; about the amount REJECTED INVALID_AMOUNT; anything else
// (authentication 401/403, rate limit 429, the business account, balance,
// IP allowlist, the idempotency header, a fund_account_id RazorpayX does
// not know, which is Offramp's mistake and not the customer's) is an error
// wrapping offramp.ErrRailNotSent. So is any failure before the payout
// request was written (creating the beneficiary, a refused connection, a
// context already done). A 5xx, a timeout or a connection lost after the
// request was written is a plain error: the outcome is unknown and the
// engine inquires. So is an idempotency conflict that the lookup cannot
// explain (the payout is not listed yet, or the lookup failed): RazorpayX
// holds something under the key.
//
// # Inquire
//
// GET /v1/payouts?account_number=…&reference_id=… (the documented list
// filter; RazorpayX's error guide recommends exactly this lookup after a
// 5xx). No payout: NOT_FOUND. Several (only possible if someone else used
// the reference): the oldest.
//
// # Statuses
//
//	queued, pending, scheduled, processing  ACCEPTED
//	processed                               SUCCESS, UTR = the payout's utr
//	                                        (ACCEPTED while utr is still null)
//	failed, rejected, cancelled             REJECTED, Reason below
//	reversed                                REVERSED with the UTR and Reason;
//	                                        REJECTED if it never had a UTR
//	                                        (reversed before it was paid)
//	anything else                           an error: nothing learnt
//
// Reasons, from status_details.reason (the deprecated failure_reason is not
// read):
//
//	bank_account_closed                      BENEFICIARY_ACCOUNT_CLOSED
//	bank_account_frozen                      BENEFICIARY_ACCOUNT_FROZEN
//	beneficiary_account_dormant              BENEFICIARY_ACCOUNT_DORMANT
//	bank_account_invalid,
//	beneficiary_account_invalid,
//	beneficiary_vpa_invalid,
//	invalid_beneficiary                      INVALID_BENEFICIARY_DETAILS
//	invalid_ifsc_code                        INVALID_IFSC
//	beneficiary_bank_rejected                BENEFICIARY_BANK_REJECTED
//	beneficiary_bank_failure,
//	beneficiary_bank_offline,
//	beneficiary_bank_technical_error,
//	beneficiary_psp_offline,
//	npci_beneficiary_timeout                 BENEFICIARY_BANK_UNAVAILABLE
//	imps_not_allowed                         MODE_NOT_SUPPORTED
//	transaction_limit_exceeded               BENEFICIARY_LIMIT_EXCEEDED
//	amount_limit_exhausted_neft              PAYOUT_LIMIT_EXHAUSTED
//	insufficient_funds                       INSUFFICIENT_BALANCE
//	gateway_down, gateway_technical_error,
//	gateway_timeout                          PARTNER_BANK_UNAVAILABLE
//	server_error, server_error_temporary     PROVIDER_ERROR
//	any other reason r                       upper-case r (e.g. FOO_BAR)
//	none, status failed                      BENEFICIARY_BANK_REJECTED
//	none, status rejected                    REJECTED_BY_APPROVER
//	none, status cancelled                   PAYOUT_CANCELLED
//	none, status reversed                    REVERSED_BY_BANK
//
// # Capabilities
//
// DedupsReferences is true: RazorpayX never creates a second payout under an
// idempotency key (retries are safe for 7 days). PostingDelay is 5 minutes:
// RazorpayX's error guide says to look a payout up by reference_id 5
// minutes after an unanswered (5xx) create, which is the only statement it
// makes about how soon a payout is visible. The engine resubmits only after
// it, and a resubmission is harmless anyway (the idempotency key).
//
// # Webhooks
//
// RazorpayX POSTs events signed with X-Razorpay-Signature = hex
// HMAC-SHA256(raw body, webhook secret); ParseWebhook verifies it with
// hmac.Equal before reading anything. Payout events (payout.queued,
// payout.pending, payout.initiated, payout.processed, payout.updated,
// payout.reversed, payout.failed, payout.rejected) carry the payout entity
// and map like Inquire; the reference is its reference_id. Fund account
// validation events (fund_account.validation.completed/failed), downtime
// events and anything else carry no payout news (ok false). RazorpayX may
// deliver an event more than once and out of order; WebhookHandler drops a
// repeat of (payout id, status, utr) it has already applied, as RazorpayX
// recommends, and engine.ApplyBankAnswer is idempotent and ignores stale
// news anyway.
//
// # Fund Account Validation
//
// BankVerifier reuses the remembered fund account, then POST
// /v1/fund_accounts/validations (the business account, ₹1 = 100 paise).
// Completed with account_status active: passed, HolderName =
// registered_name (the service compares it with the KYC name); invalid:
// INVALID_ACCOUNT_NUMBER; failed: PENNY_DROP_FAILED. Still "created" (the
// bank has not answered): an error wrapping ErrValidationPending, so the
// verification job retries with back-off; the validation's id is kept in
// memory and the retry fetches it instead of paying another rupee (after a
// process restart a new validation is made).
//
// # Secrets
//
// Requests use HTTP basic auth (key id, key secret). No error or log line
// carries the key secret, the webhook secret, the Authorization header, a
// request URL's query (it holds the business account number) or an account
// number: provider descriptions are quoted with long digit runs masked.
//
// # Sources
//
//   - Payouts and idempotency: https://razorpay.com/docs/api/x/payouts/ ,
//     https://razorpay.com/docs/api/x/payout-idempotency/make-request ,
//     https://razorpay.com/docs/api/x/payouts/fetch-all
//   - States: https://razorpay.com/docs/x/payouts/states-life-cycle ,
//     https://razorpay.com/docs/razorpayx/queued-payouts
//   - Status details and reasons: https://razorpay.com/docs/errors/x/payout-status-details
//   - API errors, 5xx handling: https://razorpay.com/docs/errors/x ,
//     https://razorpay.com/docs/errors/x/contacts ,
//     https://razorpay.com/docs/api/errors/x/fund-account
//   - Contacts: https://razorpay.com/docs/api/x/contacts/create
//   - Fund accounts: https://razorpay.com/docs/api/x/fund-accounts/create/bank-account
//   - Fund Account Validation: https://razorpay.com/docs/api/x/account-validation/ ,
//     https://razorpay.com/docs/api/x/account-validation/entity ,
//     https://razorpay.com/docs/x/fund-account-validation
//   - Webhooks: https://razorpay.com/docs/webhooks/payouts ,
//     https://razorpay.com/docs/webhooks/account-validation ,
//     https://razorpay.com/docs/webhooks/validate-test/ ,
//     https://razorpay.com/docs/webhooks/best-practices ,
//     https://razorpay.com/docs/x/webhooks/subscribe/
//   - Best practices: https://razorpay.com/docs/razorpayx/best-practices/
package razorpayx
