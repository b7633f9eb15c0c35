package cashfree

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/service"
)

// PANRequest is the body of POST /pan.
type PANRequest struct {
	PAN  string `json:"pan"`
	Name string `json:"name,omitempty"`
}

// PANResult is the part of POST /pan's answer Offramp reads.
type PANResult struct {
	PAN             string     `json:"pan"`
	Type            string     `json:"type"`
	ReferenceID     flexString `json:"reference_id"`
	NameProvided    string     `json:"name_provided"`
	RegisteredName  string     `json:"registered_name"`
	Valid           bool       `json:"valid"`
	Message         string     `json:"message"`
	NameMatchScore  flexString `json:"name_match_score"`
	NameMatchResult string     `json:"name_match_result"`
	PANStatus       string     `json:"pan_status"`
}

// Name-match results, shared by the PAN and the bank account answers.
const (
	DirectMatch          = "DIRECT_MATCH"
	GoodPartialMatch     = "GOOD_PARTIAL_MATCH"
	ModeratePartialMatch = "MODERATE_PARTIAL_MATCH"
	PoorPartialMatch     = "POOR_PARTIAL_MATCH"
	NoMatch              = "NO_MATCH"
)

// VerifyPAN calls POST /pan. name may be empty.
func (c *Client) VerifyPAN(ctx context.Context, pan, name string) (PANResult, error) {
	var r PANResult
	err := c.do(ctx, http.MethodPost, "/pan", PANRequest{PAN: pan, Name: name}, &r)
	return r, err
}

// panName is what the documented name field accepts: letters and digits,
// and of special characters only space, dot, hyphen, slash and ampersand
// (at most 40 characters on the older page). A KYC name outside it is not
// sent: the registered name is then compared by Offramp's own rule.
var panName = regexp.MustCompile(`^[A-Za-z0-9 ./&-]{1,40}$`)

// KYCVerifier verifies a customer's KYC: the document and selfie as
// attested by the exchange, the PAN and its holder's name at Cashfree (see
// the package documentation for every answer).
type KYCVerifier struct {
	Client *Client
}

var _ offramp.KYCVerifier = KYCVerifier{}

// VerifyKYC checks c's KYC submission.
func (v KYCVerifier) VerifyKYC(ctx context.Context, c offramp.Customer) (offramp.Verdict, error) {
	k := c.KYC
	if k == nil {
		return failed(offramp.ReasonKYCFailed), nil
	}
	if strings.TrimSpace(k.DocumentType) == "" || strings.TrimSpace(k.DocumentNumber) == "" {
		return failed(offramp.ReasonDocumentVerificationFailed), nil
	}
	if strings.TrimSpace(k.SelfieURL) == "" || !k.SelfieVerificationStatus {
		return failed(offramp.ReasonSelfieVerificationFailed), nil
	}
	pan := strings.ToUpper(strings.TrimSpace(k.TaxNumber))
	if pan == "" {
		return failed(offramp.ReasonTaxVerificationFailed), nil
	}
	name := strings.TrimSpace(k.FullName)
	if name == "" {
		name = strings.TrimSpace(c.FullName)
	}
	sent := ""
	if panName.MatchString(name) {
		sent = name
	}
	r, err := v.Client.VerifyPAN(ctx, pan, sent)
	var e *Error
	if errors.As(err, &e) && e.HTTPStatus == http.StatusBadRequest && strings.HasPrefix(e.Code, "pan_") {
		// pan_length_short ("Enter valid PAN."), pan_missing: Cashfree
		// refuses the PAN itself.
		return failed(offramp.ReasonTaxVerificationFailed), nil
	}
	if err != nil {
		return offramp.Verdict{}, err
	}
	return judgePAN(r, sent, name)
}

// judgePAN turns a PAN answer into a verdict. sent is the name sent with
// the request ("" when none was), name the KYC name.
func judgePAN(r PANResult, sent, name string) (offramp.Verdict, error) {
	switch strings.ToUpper(r.PANStatus) {
	case "", "VALID":
	default: // INVALID, DELETED, DEACTIVATED, FAKE, ...
		return failed(offramp.ReasonTaxVerificationFailed), nil
	}
	if !r.Valid {
		return failed(offramp.ReasonTaxVerificationFailed), nil
	}
	if t := strings.ToLower(r.Type); t != "" && !strings.Contains(t, "individual") && !strings.Contains(t, "person") {
		// A company's or a trust's PAN: a payout customer is a person.
		return failed(offramp.ReasonTaxVerificationFailed), nil
	}
	if sent != "" {
		switch strings.ToUpper(r.NameMatchResult) {
		case DirectMatch, GoodPartialMatch:
			return offramp.Verdict{Passed: true}, nil
		case PoorPartialMatch, NoMatch:
			return failed(offramp.ReasonTaxVerificationFailed), nil
		case ModeratePartialMatch:
			return offramp.Verdict{}, fmt.Errorf("%w: the PAN's registered name only partly matches the KYC name (Cashfree %s, score %s)",
				offramp.ErrManualDecision, ModeratePartialMatch, r.NameMatchScore)
		}
	}
	// No usable name-match result: compare the registered name with the
	// KYC name as the service compares bank holder names.
	if strings.TrimSpace(r.RegisteredName) == "" {
		return offramp.Verdict{}, fmt.Errorf("%w: Cashfree found the PAN valid but returned no registered name to compare", offramp.ErrManualDecision)
	}
	if !service.NamesMatch(r.RegisteredName, name) {
		return failed(offramp.ReasonTaxVerificationFailed), nil
	}
	return offramp.Verdict{Passed: true}, nil
}

func failed(reason string) offramp.Verdict { return offramp.Verdict{FailureReason: reason} }
