// Package cashfree is the Cashfree Payouts v2 bank rail: an offramp.Rail
// that pays INR through Cashfree's Standard Transfer V2 API, reads
// transfer status, verifies Cashfree's webhooks v2, and proves its
// credentials for `offramp admin check-providers`.
//
// # Sources
//
// Everything here is written from Cashfree's public documentation (read
// for this package; no other project's client code):
//
//   - Payouts v2 overview, hosts (https://api.cashfree.com/payout,
//     https://sandbox.cashfree.com/payout):
//     https://www.cashfree.com/docs/api-reference/payouts/v2/payouts-api-v2-new
//   - Authentication, x-client-id and x-client-secret on every call:
//     https://www.cashfree.com/docs/api-reference/authentication
//   - Standard Transfer V2, POST /transfers: transfer_id (at most 40
//     letters, digits, underscores), transfer_amount (a number, at least
//     1.00), transfer_currency (INR), transfer_mode (banktransfer, imps,
//     neft, rtgs, ...), beneficiary_details with beneficiary_name and
//     beneficiary_instrument_details {bank_account_number, bank_ifsc} or a
//     beneficiary_id; x-api-version, default 2024-01-01; "when you get a
//     5XX response, do not initiate another transaction", check the
//     status:
//     https://www.cashfree.com/docs/api-reference/payouts/v2/transfers-v2/standard-transfer-v2
//   - Get Transfer Status V2, GET /transfers?transfer_id=, 404
//     transfer_id_not_found:
//     https://www.cashfree.com/docs/api-reference/payouts/v2/transfers-v2/get-transfer-status-v2
//   - Response and error codes (v2 error object {type, code, message};
//     401 authentication, 403 forbidden, 409 resource conflict, 422, 429
//     too many requests, 5xx):
//     https://www.cashfree.com/docs/api-reference/payouts/v2/response-codes
//     https://www.cashfree.com/docs/payouts/payouts/integrations/error-handling
//     and, for a duplicate transfer id (409 "Transfer Id already exists")
//     and insufficient balance refused before creation, the v1.2 transfer
//     reference: https://docs.cashfree.com/reference/standard-transfer-sync-v-1-2
//   - Lifecycle and status codes:
//     https://www.cashfree.com/docs/payouts/payouts/make-payouts/lifecycle
//     https://www.cashfree.com/docs/payments/split/settlements/failure-reasons
//   - Webhooks v2 (events, payloads) and their signature, shared by
//     Payouts v2: signedPayload = x-webhook-timestamp + rawBody,
//     signature = Base64(HMAC-SHA256(signedPayload, clientSecret)):
//     https://www.cashfree.com/docs/api-reference/payouts/v2/webhooks/webhooks-v2
//     https://www.cashfree.com/docs/api-reference/webhooks/payloads-and-signatures
//     https://www.cashfree.com/docs/api-reference/payouts/v2/webhooks/webhooks-v1
//     (verify with the oldest active API key)
//   - Delivery: at-least-once, retried, endpoint disabled after five
//     consecutive failures; de-duplicate on transfer_id:
//     https://www.cashfree.com/docs/api-reference/webhooks/reliability-and-operations
//   - Balance (v1 only, bearer token):
//     https://www.cashfree.com/docs/api-reference/payouts/v2/get-balance
//   - Cashfree's published Payouts OpenAPI document (schemas, examples,
//     the ErrorV2 object): github.com/cashfree/cashfree-mcp,
//     src/openapi/openapi-PO.json; Cashfree's integration notes (status
//     table, webhook payloads, IMPS up to ₹5 lakh per payout):
//     github.com/cashfree/agent-skills, src/templates/payouts.md and
//     payouts-reference.md.
//
// # Submit
//
// One Standard Transfer V2 call, transfer_id = the transfer's Reference
// (Offramp's bank reference, "OFR" and 32 hex digits, fits Cashfree's 40).
// transfer_amount is the exact decimal with two places, written as a JSON
// number literal (never a float). transfer_currency is INR.
//
// The beneficiary goes inline (beneficiary_name and
// beneficiary_instrument_details), which the v2 reference supports for
// accounts not added beforehand. Creating a Cashfree beneficiary first
// would add a second write that can itself be lost, a beneficiary id to
// keep in step with Offramp's verified bank account, and (in v1, at least)
// a waiting period after adding one. The name is reduced to what Cashfree
// accepts (letters and spaces, at most 100).
//
// transfer_mode: the transfer's Method when it is NEFT or RTGS; otherwise
// imps up to Config.IMPSLimit (default ₹5,00,000, IMPS's per-transfer cap)
// and Config.LargeMode above it (default neft: no upper limit, 24x7).
//
// Before calling, Submit answers REJECTED (nothing sent, nothing created)
// a reference Cashfree could not take (INVALID_REQUEST), an amount below
// Cashfree's 1.00 minimum or finer than the paisa (INVALID_AMOUNT, never
// rounded), a currency other than INR (UNSUPPORTED_CURRENCY) and a name
// with no letters (INVALID_BENEFICIARY_NAME).
//
// What Cashfree's answer becomes:
//
//	2xx with a transfer              its status, mapped (table below)
//	409, or code transfer_id_already_exists
//	                                 the existing transfer: fetched by
//	                                 transfer_id and answered with ITS status,
//	                                 never a rejection; a failed fetch is an
//	                                 error (outcome unknown)
//	4xx about the beneficiary        REJECTED, reason from the code
//	(bank_account_number_*, bank_ifsc_*, beneficiary_name_*, ...)
//	401, 403, 429, other 4xx (validation, insufficient_balance)
//	                                 error wrapping offramp.ErrRailNotSent
//	5xx, 408                         error: outcome unknown (the engine
//	                                 inquires, as Cashfree's docs ask)
//	no answer, request not (fully) written to the connection
//	                                 error wrapping offramp.ErrRailNotSent
//	no answer after the request was written (timeout, reset, dropped)
//	                                 error: outcome unknown
//
// # Inquire
//
// GET /transfers?transfer_id=. 200: the status, mapped; 404 with code
// transfer_id_not_found: NOT_FOUND; anything else: an error.
//
// # Status mapping
//
//	Cashfree status                      contract
//	RECEIVED, PENDING, APPROVAL_PENDING,
//	SCHEDULED, QUEUED                    ACCEPTED
//	SUCCESS with transfer_utr            SUCCESS, UTR = transfer_utr
//	SUCCESS without transfer_utr         ACCEPTED (cannot vouch without a UTR)
//	FAILED, REJECTED                     REJECTED, Reason from status_code
//	MANUALLY_REJECTED                    REJECTED, Reason from status_code,
//	                                     else MANUALLY_REJECTED
//	REVERSED with transfer_utr           REVERSED, UTR kept, Reason from status_code
//	REVERSED without transfer_utr        REJECTED (no credit ever reported)
//	anything else                        ACCEPTED, logged
//
// SUCCESS covers both SENT_TO_BENEFICIARY and COMPLETED: Cashfree reports
// the account debited and the credit sent; a failed credit comes back as
// REVERSED, which the engine handles after SUCCESS.
//
// Reasons come from status_code, never from the free-text
// status_description (it can echo request values):
//
//	INVALID_ACCOUNT_FAIL, INVALID_BENE_ACCOUNT_OR_IFSC,
//	INVALID_OR_NO_SUCH_ACCOUNT_TYPE, BENEFICIARY_NOT_EXIST  INVALID_ACCOUNT_NUMBER
//	INVALID_IFSC_FAIL                                  INVALID_IFSC
//	NRE_ACCOUNT_FAIL                                   ACCOUNT_TYPE_NRE
//	BENE_NAME_DIFFERS, BENEFICIARY_NAME_DIFFERS        NAME_MISMATCH
//	ACCOUNT_BLOCKED                                    BENEFICIARY_ACCOUNT_BLOCKED
//	BENE_BLACKLISTED, BENEFICIARY_BLACKLISTED          BENEFICIARY_BLACKLISTED
//	BENE_BANK_DECLINED, RETURNED_FROM_BENEFICIARY,
//	ANY_OTHER_REASON, FAILED                           BENEFICIARY_BANK_REJECTED
//	IMPS_MODE_FAIL, RTGS_MODE_FAIL, INVALID_MODE_FAIL,
//	INVALID_MODE_FOR_PYID, BENEFICIARY_INVALID_MODE,
//	DISABLED_MODE                                      TRANSFER_MODE_NOT_SUPPORTED
//	DEST_LIMIT_REACHED                                 BENEFICIARY_LIMIT_EXCEEDED
//	BANK_GATEWAY_ERROR, NPCI_UNAVAILABLE,
//	BENEFICIARY_BANK_OFFLINE, REINITIALIZE_TRANSFER_LATER,
//	WAIT_TIME_EXCEEDED                                 BENEFICIARY_BANK_UNAVAILABLE
//	INSUFFICIENT_BALANCE                               INSUFFICIENT_BALANCE
//	INVALID_AMOUNT_FAIL, INVALID_TRANSFER_AMOUNT       INVALID_AMOUNT
//	SUSPECTED_TRANSFER                                 SUSPECTED_TRANSFER
//	any other well-formed code                         the code itself
//	no code                                            keywords of the description
//	                                                   (IFSC, account number, NRE,
//	                                                   name, blocked, ...), else
//	                                                   BENEFICIARY_BANK_REJECTED
//	                                                   (REVERSED_BY_BANK for REVERSED)
//
// 4xx create errors about the beneficiary: bank_account_number_*
// INVALID_ACCOUNT_NUMBER, bank_ifsc_* INVALID_IFSC, beneficiary_name_*
// INVALID_BENEFICIARY_NAME, *_same_as_source BENEFICIARY_SAME_AS_SOURCE,
// vba_bene_not_allowed BENEFICIARY_NOT_ALLOWED, beneficiary_not_found
// BENEFICIARY_NOT_FOUND, other beneficiary codes as tokens.
//
// # Capabilities
//
// DedupsReferences: true. Cashfree keys a transfer by transfer_id and
// refuses a second create under it (409); Submit then answers the
// existing transfer.
//
// PostingDelay: one minute. The docs describe no posting lag: a create
// that returns has RECEIVED the transfer, fetchable at once by
// transfer_id. But a create whose answer was lost (5xx, timeout) may still
// be in Cashfree's hands, and the docs' advice is to check status before
// doing anything else; a minute is the margin in which a NOT_FOUND is not
// trusted. Resubmitting after it is safe in any case, since Cashfree
// refuses a duplicate transfer_id.
//
// # Webhooks
//
// ParseWebhook verifies x-webhook-signature = base64(HMAC-SHA256(
// x-webhook-timestamp + raw body)) with hmac.Equal. The key is
// Config.WebhookSecret, which defaults to the client secret: Cashfree
// signs Payouts v2 webhooks with the client secret (the docs say the
// oldest active one, hence the separate setting). Events:
//
//	TRANSFER_SUCCESS, TRANSFER_ACKNOWLEDGED   the data object's status, mapped
//	TRANSFER_FAILED, TRANSFER_REJECTED         (SUCCESS, FAILED, REJECTED,
//	TRANSFER_REVERSED                           REVERSED as the table above)
//	BULK_TRANSFER_REJECTED, BENEFICIARY_INCIDENT,
//	CREDIT_CONFIRMATION, LOW_BALANCE_ALERT,
//	anything else                             ok=false: no transfer news
//
// The docs found advise no freshness window for x-webhook-timestamp, and
// Cashfree retries deliveries, so by default only the signature is
// checked: a replayed genuine event is harmless, because
// engine.ApplyBankAnswer is idempotent and ignores anything that is not
// news. Config.WebhookMaxAge turns a window on.
//
// WebhookHandler is the HTTP endpoint (the server mounts it at POST
// /rails/cashfree/webhook with engine.ApplyBankAnswer): 200 when applied
// or ignored (no transfer news, or offramp.ErrNotFound from apply), 401
// for a bad signature or stale timestamp, 400 for an unreadable verified
// body, 413 above 1 MiB, 500 when apply fails (Cashfree retries).
//
// # Secrets
//
// No error or log line carries the client secret, the webhook secret, a
// request header, Cashfree's free-text error message (it echoes request
// values) or a full account number. APIError keeps the HTTP status and
// Cashfree's error type and code only.
package cashfree
