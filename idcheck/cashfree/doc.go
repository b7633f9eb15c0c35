// Package cashfree verifies KYC and bank accounts with Cashfree's
// Verification API ("Secure ID"): a PAN check for a customer's KYC and a
// synchronous penny drop for a bank account. It was written from Cashfree's
// public documentation, since no provider can be reached from where Offramp
// is developed; cashfreeidfake is a fake of the same API, written from the
// same pages, that the tests run against.
//
// # The API
//
// Base URL https://api.cashfree.com/verification (production) or
// https://sandbox.cashfree.com/verification (test), authenticated by the
// x-client-id and x-client-secret headers; in production Cashfree also
// requires the caller's IP address to be whitelisted (or a public-key
// signature, which this package does not send):
//
//   - https://www.cashfree.com/docs/api-reference/vrs/getting-started
//   - https://www.cashfree.com/docs/api-reference/vrs/v2/end-point
//   - https://www.cashfree.com/docs/secure-id/get-started/integration/ip-whitelisting-verification
//
// Errors are JSON {"type", "code", "message"}: 400 validation_error, 401
// authentication_error/authentication_failed ("Invalid clientId and
// clientSecret combination"), 403 ip_validation_failed, 422
// insufficient_balance, 429 rate_limit_error, 500/502 internal_error.
//
// PAN: POST /pan {"pan", "name"} answers 200 with valid, registered_name,
// type, pan_status (VALID, INVALID, DELETED, DEACTIVATED; FAKE on the older
// page) and, when the name-match feature is enabled on the account and a name
// was sent, name_match_result (DIRECT_MATCH, GOOD_PARTIAL_MATCH,
// MODERATE_PARTIAL_MATCH, POOR_PARTIAL_MATCH, NO_MATCH) and name_match_score
// (a number or a string). An unknown PAN is a 200 with valid false and
// message "Invalid PAN"; a malformed one a 400 with code pan_length_short.
// GET /pan/{reference_id} reads a past result back and answers 404
// referenceId_not_found for an id it never issued:
//
//   - https://www.cashfree.com/docs/api-reference/vrs/v2/pan/verify-pan-sync
//   - https://www.cashfree.com/docs/api-reference/vrs/v2/pan/get-status-of-verify-pan-sync
//   - https://www.cashfree.com/docs/api-reference/vrs/v2/pan/pan-status-descriptions
//   - https://docs.cashfree.com/v2/reference/verify-pan-sync (pan_status to valid mapping; the
//     name-match feature must be activated by Cashfree)
//
// Bank account: POST /bank-account/sync {"bank_account", "ifsc"} answers 200
// with account_status (VALID, INVALID, and the in-flight or failed statuses
// RECEIVED, IN_PROCESS, PROCESSING, APPROVAL_PENDING, FAILED, REJECTED, ...),
// account_status_code (ACCOUNT_IS_VALID, INVALID_ACCOUNT_FAIL,
// INVALID_IFSC_FAIL, NRE_ACCOUNT_FAIL, ACCOUNT_BLOCKED, FRAUD_ACCOUNT,
// BAV_BLOCKED, FAILED_AT_BANK, NPCI_UNAVAILABLE, CONNECTION_TIMEOUT, ...) and
// name_at_bank, the holder's name as the bank reports it, which the IMPS
// rails sometimes cannot return:
//
//   - https://www.cashfree.com/docs/api-reference/vrs/v2/bav-v2/bank-account-verification-sync-v2
//   - https://www.cashfree.com/docs/api-reference/vrs/v2/bav-v2/bav-response-description
//   - https://www.cashfree.com/docs/api-reference/vrs/v2/bav-v2/get-bav-status-v2
//   - https://www.cashfree.com/docs/secure-id/get-started/integration/sample-responses-from-bank
//   - https://www.cashfree.com/docs/api-reference/integration-troubleshooting/secureid-ts
//
// # KYC: what is checked, and the answers
//
// KYCVerifier checks the submission in this order, so that nothing is paid
// for a submission that fails for free:
//
//   - no KYC at all: KYC_FAILED.
//   - Document: accepted as attested by the exchange when a document type
//     and number are present (their format was validated at submission),
//     else DOCUMENT_VERIFICATION_FAILED.
//   - Selfie: accepted as attested by the exchange when selfie_url is set
//     and selfie_verification_status is true, else
//     SELFIE_VERIFICATION_FAILED.
//   - PAN (tax_number) with the KYC full name, at Cashfree. Not valid, or a
//     pan_status other than VALID, or a type that is not an individual's, or
//     a malformed PAN (400 pan_*): TAX_VERIFICATION_FAILED. The name:
//     DIRECT_MATCH and GOOD_PARTIAL_MATCH pass; POOR_PARTIAL_MATCH and
//     NO_MATCH are TAX_VERIFICATION_FAILED (DollarPe's customer reasons have
//     no name mismatch of their own; TAX_VERIFICATION_FAILED is "PAN or tax
//     info failed or mismatched"); MODERATE_PARTIAL_MATCH (typically a
//     missing middle name) is left to an operator (offramp.ErrManualDecision).
//     Without a name-match result (feature not enabled, or a name Cashfree
//     would refuse, which is then not sent) the registered name is compared
//     with the KYC name by service.NamesMatch, the rule the service applies
//     to bank holder names; with no registered name either, an operator
//     decides.
//
// Why the document and selfie are not re-verified: the exchange is the
// party that met the customer. DollarPe's add-kyc-data carries the
// exchange's own liveness result (selfie_verification_status) and the
// document it collected, and an exchange operating in India already runs
// KYC for its own obligations. Re-checking them at a provider would need the
// customer present (Aadhaar OTP, DigiLocker consent) or a face match between
// images Offramp would have to fetch from the exchange's URLs, which Offramp
// has no session with. The PAN, in contrast, is checked against the Income
// Tax Department's records, and the bank account by a penny drop, with
// nothing but the submitted data. A deployment that must verify documents
// itself combines this package's BankVerifier with idcheck.Manual (an
// operator reviews every KYC) or with its own document verifier.
//
// # Bank accounts: the answers
//
//   - VALID / ACCOUNT_IS_VALID: passed, with HolderName = name_at_bank; the
//     service compares it with the KYC name (NAME_MISMATCH when the words
//     differ). A VALID answer without name_at_bank cannot prove ownership:
//     it is left to an operator (offramp.ErrManualDecision), never passed.
//   - INVALID_ACCOUNT_FAIL (or INVALID without a known code):
//     INVALID_ACCOUNT_NUMBER. INVALID_IFSC_FAIL: INVALID_IFSC.
//     NRE_ACCOUNT_FAIL: ACCOUNT_TYPE_NRE. FRAUD_ACCOUNT, BAV_BLOCKED:
//     BANK_RISK_CHECK_FAILED. ACCOUNT_BLOCKED, FAILED_AT_BANK,
//     BENE_BANK_DECLINED, IMPS_MODE_FAIL and any other definite failure:
//     PENNY_DROP_FAILED.
//   - Still in flight (RECEIVED, IN_PROCESS, PROCESSING, APPROVAL_PENDING,
//     VALIDATION_IN_PROGRESS, VERIFICATION_ALREADY_UNDER_PROCESS) or failed
//     for a reason on the rails rather than the account (NPCI_UNAVAILABLE,
//     CONNECTION_TIMEOUT, SOURCE_BANK_DECLINED, BENEFICIARY_BANK_OFFLINE,
//     INSUFFICIENT_BALANCE of the merchant's Cashfree balance): an error,
//     and the job is retried.
//   - A VPA: left to an operator (this package does not call Cashfree's UPI
//     validation).
//
// # Errors
//
// Anything that is not a decision is an error, and the service retries the
// job with back-off: transport failures and timeouts, 5xx, 429, and also
// 401/403/422 (wrong keys, IP not whitelisted, no balance), which an operator
// fixes while the submissions wait in PROCESSING. Errors are *Error values
// (HTTPStatus, Type, Code, Message) or wrap the transport's error; Temporary
// tells the transient ones apart. The client secret never appears in an
// error, a log line or a formatted Config.
//
// Client.Check proves the keys, the base URL and the IP whitelisting with a
// free read, GET /pan/0: Cashfree answers 404 referenceId_not_found once it
// has authenticated the caller, 401 or 403 when it has not. (The getting
// started page also names /api/v1/credentials/verify, but the same sentence
// appears on Cashfree's payments and payouts pages and no such path is
// documented under the verification base URL.)
package cashfree
