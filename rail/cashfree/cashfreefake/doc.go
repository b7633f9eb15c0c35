// Package cashfreefake is a fake of Cashfree's Payouts v2 HTTP API, for
// testing the rail/cashfree adapter (and anything else that speaks
// Payouts v2) on 127.0.0.1 with no outside service.
//
// It is written from Cashfree's public documentation, not from anyone's
// client code:
//
//   - Standard Transfer V2 (POST /payout/transfers): fields, limits,
//     error examples, the "after a 5XX, check the status, never send
//     again" rule.
//     https://www.cashfree.com/docs/api-reference/payouts/v2/transfers-v2/standard-transfer-v2
//   - Get Transfer Status V2 (GET /payout/transfers?transfer_id= or
//     ?cf_transfer_id=), 404 transfer_id_not_found.
//     https://www.cashfree.com/docs/api-reference/payouts/v2/transfers-v2/get-transfer-status-v2
//   - Payouts v2 overview and hosts; authentication with x-client-id,
//     x-client-secret and x-api-version.
//     https://www.cashfree.com/docs/api-reference/payouts/v2/payouts-api-v2-new
//     https://www.cashfree.com/docs/api-reference/authentication
//   - Response codes and the error sub-codes (401, 403, 404, 409
//     conflict, 422, 429, 5xx).
//     https://www.cashfree.com/docs/api-reference/payouts/v2/response-codes
//     https://www.cashfree.com/docs/payouts/payouts/integrations/error-handling
//   - Transfer lifecycle and status codes.
//     https://www.cashfree.com/docs/payouts/payouts/make-payouts/lifecycle
//     https://www.cashfree.com/docs/payments/split/settlements/failure-reasons
//   - Webhooks v2: events, payload {type, event_time, data}, headers
//     x-webhook-timestamp (epoch milliseconds) and x-webhook-signature =
//     base64(HMAC-SHA256(timestamp + raw body)) keyed with the client
//     secret; at-least-once delivery with retries.
//     https://www.cashfree.com/docs/api-reference/payouts/v2/webhooks/webhooks-v2
//     https://www.cashfree.com/docs/api-reference/webhooks/payloads-and-signatures
//     https://www.cashfree.com/docs/api-reference/webhooks/reliability-and-operations
//   - Cashfree's published Payouts OpenAPI document (request and response
//     schemas, the v2 error object {type, code, message} and its
//     examples), in github.com/cashfree/cashfree-mcp,
//     src/openapi/openapi-PO.json; and Cashfree's own integration notes
//     (status table, webhook payloads), github.com/cashfree/agent-skills,
//     src/templates/payouts.md and payouts-reference.md.
//
// Where the documentation was silent the fake makes a choice, named here
// so that nobody mistakes it for Cashfree's word: the code of a duplicate
// create (409 transfer_id_already_exists, named after the documented v2
// codes beneficiary_id_already_exists and batch_transfer_id_already_exists;
// v1 documents 409 "Transfer Id already exists"); the 401 body (v2's
// authentication_error type with v1's documented message); the 429 body;
// x_api_version_missing/_invalid; beneficiary_details_missing;
// transfer_currency_invalid; a 400 insufficient_balance refusal (v1.2
// documents "Not enough available balance in the account" as a 400).
//
// # What it serves
//
// POST /payout/transfers and GET /payout/transfers, behind the documented
// headers: a wrong or missing x-client-id/x-client-secret is 401
// {"type":"authentication_error",...}; a missing or malformed
// x-api-version is 400. Point a client's base URL at server URL +
// "/payout".
//
// A create is validated as documented (transfer_id: 1 to 40 letters,
// digits, underscores; transfer_amount: a JSON number, at least 1.00, at
// most two decimals; transfer_mode among banktransfer, imps, neft, rtgs;
// beneficiary_name: letters and spaces, at most 100; bank_account_number:
// 9 to 18 letters or digits; bank_ifsc: the standard 11-character format)
// and refused with Cashfree's error shape. Beneficiaries are inline only:
// a beneficiary_id is answered 404 beneficiary_not_found. A transfer_id
// the fake holds is refused with 409 transfer_id_already_exists, whatever
// the new request carries; the first transfer is untouched.
//
// # Magic account numbers
//
// The last four digits of bank_account_number choose the transfer's fate,
// measured on Options.Clock from the create:
//
//	1111 (and any other)  RECEIVED, PENDING, then SUCCESS with a 12-digit UTR
//	                      once Settle has passed
//	2222  PENDING, then FAILED (BENE_BANK_DECLINED) once Settle has passed
//	3333  REJECTED (BENE_BLACKLISTED) in the create's answer
//	4444  PENDING for Options.Pending (hours by default), then SUCCESS
//	5555  SUCCESS once Settle has passed, then REVERSED (INVALID_ACCOUNT_FAIL,
//	      UTR kept) ReverseAfter later
//	6666  PENDING forever
//	7777  the create is recorded and never answered (it hangs until the
//	      request's context ends); the transfer then pays like 1111
//	8888  SUCCESS in the create's answer (an instant IMPS)
//	9999  APPROVAL_PENDING (VELOCITY_CHECK_FAILED) forever
//
// SetStatus forces any transfer into any status by hand.
//
// # Faults
//
// FailCreates and FailFetches queue faults, one per call: DropAfterCommit
// (record, then hijack and close the connection with no answer),
// ServerErrorAfterCommit (record, then 500), HangAfterCommit (record, then
// hang until the request's context ends), ServerError (500, nothing
// recorded), RateLimited (429 with x-ratelimit-* headers, nothing
// recorded), InsufficientBalance (400 insufficient_balance, nothing
// recorded). Close releases hanging calls.
//
// # Webhooks
//
// Every status change emits the documented event (TRANSFER_SUCCESS and
// then TRANSFER_ACKNOWLEDGED on SUCCESS, TRANSFER_FAILED,
// TRANSFER_REJECTED, TRANSFER_REVERSED), signed with the client secret.
// With Options.WebhookURL they are POSTed: by Deliver (which first catches
// every transfer up with the clock), or, with Options.DeliverOnChange,
// inside the API call that caused them, before its answer is written. A
// delivery not answered 2xx stays queued for the next Deliver. SendWebhook
// sends one by hand (optionally with a bad signature or another
// timestamp), Resend sends a delivery again byte for byte.
//
// # Determinism
//
// No timers and no sleeps: state is a function of the transfer's fate and
// the injected clock, caught up when someone looks. Handled counts the
// calls the fake has decided (books updated) and WaitHandled waits for a
// count, so that a test which counts the requests its client wrote can
// wait for those still in flight; WaitHanging waits for hanging calls.
package cashfreefake
