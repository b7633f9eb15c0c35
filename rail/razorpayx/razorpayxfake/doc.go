// Package razorpayxfake is a fake of the RazorpayX Payouts HTTP API, for
// testing the razorpayx adapter (and anything built on it) over a real
// listener on 127.0.0.1, deterministically: time is an injected clock,
// nothing sleeps, and every fault is switched on by the test.
//
// It implements, from RazorpayX's public documentation (links below):
//
//   - HTTP basic auth with Options.KeyID and KeySecret; anything else is
//     401 with RazorpayX's error object.
//   - POST /v1/contacts (name 3–50 characters of a-z A-Z 0-9 space ’ - _ /
//     ( ) , . not ending in a special character but '.', type vendor,
//     customer, employee or self, reference_id ≤ 40): a contact whose name,
//     email, contact, type and reference_id all match an existing one
//     returns that one (200) instead of a new one (201).
//   - POST /v1/fund_accounts (account_type bank_account; name 3–120, ifsc
//     four letters, 0, six letters or digits, account_number 5–35 letters
//     or digits): the same contact_id, name, ifsc and account_number return
//     the existing fund account (200).
//   - POST /v1/payouts with X-Payout-Idempotency (4–36 letters, digits, -,
//     _ or space; required). The same key and body (compared as JSON)
//     return the existing payout with its current status; the same key and
//     another body is 400 "Different request body sent for the same
//     Idempotency Header." Required fields are checked (account_number must
//     be Options.AccountNumber; amount ≥ 100 paise; currency INR; mode NEFT,
//     RTGS, IMPS, UPI or card; purpose; an existing active fund_account_id;
//     reference_id ≤ 40). The fake also refuses IMPS above ₹5,00,000 and
//     RTGS below ₹2,00,000 (the rails' limits; RazorpayX's exact wording for
//     them is not documented). The fake keeps no balance:
//     queue_if_low_balance is accepted, and a payout is queued only when its
//     fate says so. Validation errors use RazorpayX's shape:
//     {"error":{"code":"BAD_REQUEST_ERROR","description":…,"field":…,
//     "source":"business","step":"NA","reason":"input_validation_failed",
//     "metadata":{}}}.
//   - GET /v1/payouts?account_number=…[&reference_id=…&fund_account_id=…
//     &status=…&mode=…&count=…&skip=…] (newest first, count ≤ 100) and GET
//     /v1/payouts/{id}. Options.ListLag hides payouts younger than it from
//     the list (posting lag).
//   - POST /v1/fund_accounts/validations (₹1 penny drop from the business
//     account) and GET /v1/fund_accounts/validations/{id}.
//   - Webhooks: each status change queues a signed event (entity "event",
//     payload.payout.entity or payload["fund_account.validation"].entity,
//     X-Razorpay-Signature = hex HMAC-SHA256 of the body under
//     Options.WebhookSecret, X-Razorpay-Event-Id), delivered to
//     Options.WebhookURL by Flush; SendWebhook sends one by hand (twice if
//     called twice, with a bad signature if asked); the WebhookBeforeAnswer
//     fault delivers a payout's events before the create call's answer.
//     Events: payout.queued, payout.initiated (processing), payout.pending,
//     payout.processed, payout.failed, payout.reversed, payout.rejected,
//     payout.updated (cancelled, scheduled), and
//     fund_account.validation.completed / .failed.
//
// # Payouts over time
//
// A payout's fate is fixed when it is created and its status is a function
// of the fate and the clock, caught up whenever someone looks (an API call,
// Flush, an inspection method). A fate is: Queued (status queued, reason
// low_balance) for Fate.Queued, then processing for Fate.After (with
// Fate.ProcessingReason as status_details.reason), then the outcome:
// processed with a UTR (12 digits for IMPS/UPI, "RZPXN"/"RZPXR" + 11 digits
// for NEFT/RTGS), failed with Fate.Reason, processed and then reversed
// Fate.ReverseAfter later (same UTR), or processing for ever. SetStatus
// moves a payout to any documented status by hand (pending, rejected,
// cancelled, scheduled…) and freezes it there.
//
// The fate comes from ScriptReference (by idempotency key), else
// ScriptAccount (by the beneficiary's account number), else the magic
// account numbers below, else: processing, processed after Options.Settle.
//
// # Magic values
//
// The last four digits of the beneficiary's account number:
//
//	3333  processing, then failed after Settle (beneficiary_bank_rejected)
//	6666  processing (beneficiary_bank_confirmation_pending) for PendingFor
//	      (default 6 h), processed PendingFor+Settle after creation
//	7777  processed after Settle, reversed ReverseAfter (default 24 h)
//	      later (bank_account_closed), UTR kept
//	2222  queued (low_balance) for QueueFor (default 1 h), then processing,
//	      processed Settle later
//	5555  silent: a create records the payout and never answers (the
//	      handler waits for the request's context; a repeated create too);
//	      the payout settles like an ordinary one
//	any   processing, processed after Settle (default 2 s)
//
// and for fund account validations:
//
//	1111  completed, account_status invalid, no registered name
//	1112  failed
//	1113  created (pending) for PendingFor, then completed active
//	1114  completed active, registered_name "Someone Else"
//	any   completed active after ValidationDelay (default 0), registered
//	      name = the fund account's name
//
// # Faults
//
// QueueFaults(op, …) makes the next calls of an operation misbehave, and a
// Script's Faults do it for the successive creates under one idempotency
// key (which come first):
//
//	DropAfterCommit      do the work, then hijack and close the connection
//	ErrorAfterCommit     do the work, then answer 500 SERVER_ERROR
//	HangAfterCommit      do the work, then hang until the request's context
//	                     ends (or the fake closes)
//	WebhookBeforeAnswer  do the work, deliver the payout's queued events,
//	                     then answer
//	HangBeforeCommit     hang without doing anything
//	ErrorBeforeCommit    answer 503 without doing anything
//	RateLimited          answer 429 without doing anything
//	Unauthorized         answer 401 without doing anything
//
// # Observing
//
// Counts tells how many contacts, fund accounts, payouts and validations
// were asked for and created; PayoutCount(ref) how many payouts the books
// hold under a reference; Payout(ref) one's current state. Server runs the
// fake on 127.0.0.1 and knows every connection of the client it hands out
// (Server.Client): WaitIdle returns once every request sent has been
// handled (a hanging handler excepted), so a test can move the clock
// without racing a request still on its way; WaitHanging returns once n
// handlers hang.
//
// # Sources
//
//   - https://razorpay.com/docs/api/x/contacts/create
//   - https://razorpay.com/docs/api/x/fund-accounts/create/bank-account
//   - https://razorpay.com/docs/api/x/payout-idempotency/make-request
//   - https://razorpay.com/docs/api/x/payouts/ , https://razorpay.com/docs/api/x/payouts/fetch-all
//   - https://razorpay.com/docs/x/payouts/states-life-cycle , https://razorpay.com/docs/razorpayx/queued-payouts
//   - https://razorpay.com/docs/errors/x/payout-status-details , https://razorpay.com/docs/errors/x
//   - https://razorpay.com/docs/api/x/account-validation/ , https://razorpay.com/docs/api/x/account-validation/entity
//   - https://razorpay.com/docs/webhooks/payouts , https://razorpay.com/docs/webhooks/account-validation ,
//     https://razorpay.com/docs/webhooks/validate-test/
package razorpayxfake
