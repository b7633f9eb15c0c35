// Package cashfreeidfake is a fake of Cashfree's Verification API ("Secure
// ID") for tests: the PAN check, its read-back, and the synchronous bank
// account verification, with the documented authentication headers and
// error shapes. It is an http.Handler; serve it on 127.0.0.1 (for example
// with httptest.NewServer) and point cashfree.Config.BaseURL at it. It is
// deterministic: answers depend only on the request and on what a test
// scripted, reference ids count up from 1001, and nothing sleeps.
//
// Written from these pages (see package cashfree for what each field
// means to Offramp):
//
//   - https://www.cashfree.com/docs/api-reference/vrs/getting-started
//   - https://www.cashfree.com/docs/api-reference/vrs/v2/pan/verify-pan-sync
//   - https://www.cashfree.com/docs/api-reference/vrs/v2/pan/get-status-of-verify-pan-sync
//   - https://www.cashfree.com/docs/api-reference/vrs/v2/bav-v2/bank-account-verification-sync-v2
//   - https://www.cashfree.com/docs/api-reference/vrs/v2/bav-v2/bav-response-description
//   - https://www.cashfree.com/docs/secure-id/get-started/integration/sample-responses-from-bank
//
// # Authentication
//
// Every request needs x-client-id and x-client-secret. A missing id is 400
// {"type":"validation_error","code":"x-client-id_missing","message":"x-client-id
// is missing in the request."} (documented; a missing secret is answered
// the same way with x-client-secret_missing, by analogy); a wrong pair is
// 401 {"type":"authentication_error","code":"authentication_failed",
// "message":"Invalid clientId and clientSecret combination"}.
//
// # Magic PANs (POST /pan)
//
// Any other well-formed PAN is valid, of an individual, registered to the
// name sent (upper-cased; RegisteredName when none is sent) with
// DIRECT_MATCH. A malformed PAN is 400 validation_error pan_length_short
// ("Enter valid PAN."), a missing one 400 pan_missing, a name with a
// character the API refuses 400 name_invalid (the fake's own code; the
// message is the documented one).
//
//	PANValid          ABCPV1234D  valid, "JOHN DOE"; DIRECT_MATCH if the name sent is that name, else NO_MATCH
//	PANInvalid        ABCPV0000F  200, valid false, message "Invalid PAN", name_match_result "-"
//	PANNameMismatch   ABCPM1111M  valid, "RAHUL SHARMA", NO_MATCH
//	PANGoodMatch      ABCPG2222G  valid, "JOHN DOE", GOOD_PARTIAL_MATCH (85)
//	PANModerateMatch  ABCPM3333M  valid, "JOHN KUMAR DOE", MODERATE_PARTIAL_MATCH (60)
//	PANNoNameMatch    ABCPN4444N  valid, "JOHN DOE", no name-match fields (feature not enabled)
//	PANDeactivated    ABCPD5555D  valid false, pan_status DEACTIVATED
//	PANCompany        AAOCS4553K  valid, type Company, "SAANCHI ENERGY PRIVATE LIMITED"
//	PANServerError    ABCPE5000E  500 internal_error verification_failed
//	PANBadGateway     ABCPE5020E  502 internal_error verification_failed (authorised source down)
//	PANRateLimited    ABCPR4290R  429 rate_limit_error too_many_requests_per_operation
//
// GET /pan/{reference_id} returns the answer a POST /pan gave under that
// reference id, and 404 not_found_error referenceId_not_found otherwise.
//
// # Magic bank accounts (POST /bank-account/sync), by the last four digits
//
// Any other account is VALID / ACCOUNT_IS_VALID held by HolderName ("JOHN
// DOE"). A missing or malformed bank_account or ifsc is 400 validation_error
// with the documented message (codes bank_account_invalid and ifsc_invalid
// are the fake's own).
//
//	0000  INVALID  INVALID_ACCOUNT_FAIL
//	1111  VALID    ACCOUNT_IS_VALID, held by OtherHolderName ("RAHUL SHARMA")
//	2222  FAILED   FAILED_AT_BANK
//	3333  INVALID  INVALID_IFSC_FAIL
//	4444  INVALID  NRE_ACCOUNT_FAIL
//	5555  RECEIVED VALIDATION_IN_PROGRESS (pending)
//	6666  VALID    ACCOUNT_IS_VALID, name_at_bank empty (the bank returned no name)
//	7777  INVALID  ACCOUNT_BLOCKED
//	8888  FAILED   FRAUD_ACCOUNT
//	9999  500      internal_error
//	9429  429      rate_limit_error
//
// ScriptPAN and ScriptBank replace the answer for one PAN or account
// number, so a test can reach any documented answer.
package cashfreeidfake

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Magic PANs.
const (
	PANValid         = "ABCPV1234D"
	PANInvalid       = "ABCPV0000F"
	PANNameMismatch  = "ABCPM1111M"
	PANGoodMatch     = "ABCPG2222G"
	PANModerateMatch = "ABCPM3333M"
	PANNoNameMatch   = "ABCPN4444N"
	PANDeactivated   = "ABCPD5555D"
	PANCompany       = "AAOCS4553K"
	PANServerError   = "ABCPE5000E"
	PANBadGateway    = "ABCPE5020E"
	PANRateLimited   = "ABCPR4290R"
)

// Names the fake reports.
const (
	RegisteredName  = "JOHN DOE"
	HolderName      = "JOHN DOE"
	OtherHolderName = "RAHUL SHARMA"
)

// Magic bank account endings (the last four digits of bank_account).
const (
	AccountInvalid      = "0000"
	AccountOtherHolder  = "1111"
	AccountFailedAtBank = "2222"
	AccountInvalidIFSC  = "3333"
	AccountNRE          = "4444"
	AccountPending      = "5555"
	AccountNoName       = "6666"
	AccountBlocked      = "7777"
	AccountFraud        = "8888"
	AccountServerError  = "9999"
	AccountRateLimited  = "9429"
)

// Call is one request the fake received: enough for a test to check what
// was sent, never the credentials.
type Call struct {
	Method, Path string
	Body         string
	Authorized   bool
}

// Fake is the fake API. The zero value is not usable; call New.
type Fake struct {
	id, secret string

	mu      sync.Mutex
	nextRef int64
	results map[string]answer // reference id -> PAN answer
	pans    map[string]answer // scripted
	banks   map[string]answer // scripted
	calls   []Call
}

type answer struct {
	status int
	body   any
}

// New returns a fake that accepts the given client id and secret.
func New(clientID, clientSecret string) *Fake {
	return &Fake{id: clientID, secret: clientSecret, nextRef: 1000,
		results: map[string]answer{}, pans: map[string]answer{}, banks: map[string]answer{}}
}

// ScriptPAN makes POST /pan answer status and body (marshalled as JSON) for
// pan. A 200 body gets a reference_id if it has none.
func (f *Fake) ScriptPAN(pan string, status int, body map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pans[strings.ToUpper(pan)] = answer{status, body}
}

// ScriptBank makes POST /bank-account/sync answer status and body for the
// account number.
func (f *Fake) ScriptBank(account string, status int, body map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.banks[account] = answer{status, body}
}

// Calls returns the requests received so far, oldest first.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

func errBody(typ, code, msg string) map[string]any {
	return map[string]any{"type": typ, "code": code, "message": msg}
}

var (
	panPattern  = regexp.MustCompile(`^[A-Z]{5}[0-9]{4}[A-Z]$`)
	namePattern = regexp.MustCompile(`^[A-Za-z0-9 ./&-]*$`)
	ifscPattern = regexp.MustCompile(`^[A-Z]{4}0[A-Z0-9]{6}$`)
	acctPattern = regexp.MustCompile(`^[A-Za-z0-9]{6,40}$`)
)

// ServeHTTP implements the API. Paths are accepted with or without the
// documented /verification prefix.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	path := strings.TrimPrefix(r.URL.Path, "/verification")
	a := f.serve(r, path, raw)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_ = json.NewEncoder(w).Encode(a.body)
}

func (f *Fake) serve(r *http.Request, path string, raw []byte) answer {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := Call{Method: r.Method, Path: path, Body: string(raw)}
	defer func() { f.calls = append(f.calls, call) }()

	id, secret := r.Header.Get("x-client-id"), r.Header.Get("x-client-secret")
	switch {
	case id == "":
		return answer{http.StatusBadRequest, errBody("validation_error", "x-client-id_missing", "x-client-id is missing in the request.")}
	case secret == "":
		return answer{http.StatusBadRequest, errBody("validation_error", "x-client-secret_missing", "x-client-secret is missing in the request.")}
	case id != f.id || secret != f.secret:
		return answer{http.StatusUnauthorized, errBody("authentication_error", "authentication_failed", "Invalid clientId and clientSecret combination")}
	}
	call.Authorized = true

	switch {
	case path == "/pan" && r.Method == http.MethodPost:
		return f.pan(raw)
	case strings.HasPrefix(path, "/pan/") && r.Method == http.MethodGet:
		if a, ok := f.results[strings.TrimPrefix(path, "/pan/")]; ok {
			return a
		}
		return answer{http.StatusNotFound, errBody("not_found_error", "referenceId_not_found", "Incorrect referenceId")}
	case path == "/bank-account/sync" && r.Method == http.MethodPost:
		return f.bank(raw)
	case path == "/pan" || strings.HasPrefix(path, "/pan/") || path == "/bank-account/sync":
		return answer{http.StatusMethodNotAllowed, errBody("invalid_request_error", "method_not_allowed", "method not allowed")}
	}
	return answer{http.StatusNotFound, errBody("invalid_request_error", "route_not_found", "no such endpoint in the fake")}
}

func (f *Fake) ref() int64 {
	f.nextRef++
	return f.nextRef
}

func (f *Fake) pan(raw []byte) answer {
	var in struct {
		PAN  *string `json:"pan"`
		Name string  `json:"name"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return answer{http.StatusBadRequest, errBody("validation_error", "request_invalid", "request body is not valid JSON")}
	}
	if in.PAN == nil || *in.PAN == "" {
		return answer{http.StatusBadRequest, errBody("validation_error", "pan_missing", "pan is missing in the request.")}
	}
	pan := strings.ToUpper(*in.PAN)
	if !panPattern.MatchString(pan) {
		return answer{http.StatusBadRequest, errBody("validation_error", "pan_length_short", "Enter valid PAN.")}
	}
	if !namePattern.MatchString(in.Name) {
		return answer{http.StatusBadRequest, errBody("validation_error", "name_invalid", "Name should not include special characters.")}
	}
	provided := strings.ToUpper(strings.Join(strings.Fields(in.Name), " "))
	if a, ok := f.pans[pan]; ok {
		return f.remember(a)
	}
	valid := func(typ, registered, match string, score any) answer {
		body := map[string]any{
			"pan": pan, "type": typ, "name_provided": provided, "registered_name": registered,
			"valid": true, "message": "PAN verified successfully", "pan_status": "VALID",
			"aadhaar_seeding_status": "Y", "aadhaar_seeding_status_desc": "Aadhaar is linked to PAN",
			"name_pan_card": registered, "last_updated_at": "01/01/2019",
		}
		if provided != "" && match != "" {
			body["name_match_result"], body["name_match_score"] = match, score
		}
		return answer{http.StatusOK, body}
	}
	var a answer
	switch pan {
	case PANValid:
		if provided == RegisteredName {
			a = valid("Individual", RegisteredName, "DIRECT_MATCH", 100)
		} else {
			a = valid("Individual", RegisteredName, "NO_MATCH", "0.00")
		}
	case PANInvalid:
		a = answer{http.StatusOK, map[string]any{"pan": pan, "name_provided": nil, "valid": false,
			"message": "Invalid PAN", "name_match_score": 0, "name_match_result": "-"}}
	case PANNameMismatch:
		a = valid("Individual", OtherHolderName, "NO_MATCH", "0.00")
	case PANGoodMatch:
		a = valid("Individual", RegisteredName, "GOOD_PARTIAL_MATCH", "85.00")
	case PANModerateMatch:
		a = valid("Individual", "JOHN KUMAR DOE", "MODERATE_PARTIAL_MATCH", 60)
	case PANNoNameMatch:
		a = valid("Individual", RegisteredName, "", nil)
	case PANDeactivated:
		a = answer{http.StatusOK, map[string]any{"pan": pan, "type": "Individual", "name_provided": provided,
			"registered_name": RegisteredName, "valid": false, "message": "PAN is deactivated", "pan_status": "DEACTIVATED"}}
	case PANCompany:
		a = valid("Company", "SAANCHI ENERGY PRIVATE LIMITED", "MODERATE_PARTIAL_MATCH", 60)
	case PANServerError:
		return answer{http.StatusInternalServerError, map[string]any{"type": "internal_error", "code": "verification_failed",
			"message": "Unable to validate, please retry later", "error": map[string]any{"refId": 209}}}
	case PANBadGateway:
		return answer{http.StatusBadGateway, errBody("internal_error", "verification_failed",
			"Authorised source is temporarily unavailable, please try again shortly")}
	case PANRateLimited:
		return answer{http.StatusTooManyRequests, errBody("rate_limit_error", "too_many_requests_per_operation",
			"Too many requests for this operation, rate limit reached")}
	default:
		registered := provided
		if registered == "" {
			registered = RegisteredName
		}
		a = valid("Individual", registered, "DIRECT_MATCH", 100)
	}
	return f.remember(a)
}

// remember gives a 200 PAN answer a reference id and keeps it for GET
// /pan/{reference_id}.
func (f *Fake) remember(a answer) answer {
	body, ok := a.body.(map[string]any)
	if a.status != http.StatusOK || !ok {
		return a
	}
	cp := make(map[string]any, len(body)+1)
	for k, v := range body {
		cp[k] = v
	}
	if _, has := cp["reference_id"]; !has {
		cp["reference_id"] = f.ref()
	}
	a.body = cp
	f.results[refKey(cp["reference_id"])] = a
	return a
}

func refKey(v any) string {
	switch r := v.(type) {
	case int64:
		return strconv.FormatInt(r, 10)
	case int:
		return strconv.Itoa(r)
	case float64:
		return strconv.FormatInt(int64(r), 10)
	case string:
		return r
	}
	return ""
}

func (f *Fake) bank(raw []byte) answer {
	var in struct {
		BankAccount string `json:"bank_account"`
		IFSC        string `json:"ifsc"`
		Name        string `json:"name"`
		Phone       string `json:"phone"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return answer{http.StatusBadRequest, errBody("validation_error", "request_invalid", "request body is not valid JSON")}
	}
	switch {
	case in.BankAccount == "":
		return answer{http.StatusBadRequest, errBody("validation_error", "bank_account_missing", "bank_account is missing in the request.")}
	case !acctPattern.MatchString(in.BankAccount):
		return answer{http.StatusBadRequest, errBody("validation_error", "bank_account_invalid", "bank_account should be alphanumeric.")}
	case in.IFSC == "":
		return answer{http.StatusBadRequest, errBody("validation_error", "ifsc_missing", "ifsc is missing in the request.")}
	case !ifscPattern.MatchString(in.IFSC):
		return answer{http.StatusBadRequest, errBody("validation_error", "ifsc_invalid", "ifsc should be of 11 characters and 5th character should be 0.")}
	}
	if a, ok := f.banks[in.BankAccount]; ok {
		return a
	}
	result := func(status, code, holder string) answer {
		body := map[string]any{
			"reference_id": f.ref(), "name_at_bank": holder, "bank_name": "YES BANK", "city": "MUMBAI",
			"branch": "SANTACRUZ, MUMBAI", "micr": 400532038, "account_status": status, "account_status_code": code,
		}
		if status == "VALID" {
			body["utr"] = "404223241811"
		}
		if in.Name != "" && holder != "" {
			match := "NO_MATCH"
			if strings.EqualFold(strings.Join(strings.Fields(in.Name), " "), holder) {
				match = "DIRECT_MATCH"
			}
			body["name_match_result"], body["name_match_score"] = match, "0.00"
			if match == "DIRECT_MATCH" {
				body["name_match_score"] = "100.00"
			}
		}
		return answer{http.StatusOK, body}
	}
	last4 := in.BankAccount[len(in.BankAccount)-4:]
	switch last4 {
	case AccountInvalid:
		return result("INVALID", "INVALID_ACCOUNT_FAIL", "")
	case AccountOtherHolder:
		return result("VALID", "ACCOUNT_IS_VALID", OtherHolderName)
	case AccountFailedAtBank:
		return result("FAILED", "FAILED_AT_BANK", "")
	case AccountInvalidIFSC:
		return result("INVALID", "INVALID_IFSC_FAIL", "")
	case AccountNRE:
		return result("INVALID", "NRE_ACCOUNT_FAIL", "")
	case AccountPending:
		return result("RECEIVED", "VALIDATION_IN_PROGRESS", "")
	case AccountNoName:
		return result("VALID", "ACCOUNT_IS_VALID", "")
	case AccountBlocked:
		return result("INVALID", "ACCOUNT_BLOCKED", "")
	case AccountFraud:
		return result("FAILED", "FRAUD_ACCOUNT", "")
	case AccountServerError:
		return answer{http.StatusInternalServerError, errBody("internal_error", "api_error", "something went wrong, please try after some time")}
	case AccountRateLimited:
		return answer{http.StatusTooManyRequests, errBody("rate_limit_error", "too_many_requests_per_ip", "Too many requests from the IP, rate limit reached")}
	}
	return result("VALID", "ACCOUNT_IS_VALID", HolderName)
}
