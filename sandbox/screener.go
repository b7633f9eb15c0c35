package sandbox

import (
	"context"
	"strings"

	"github.com/offramp/offramp"
)

// SanctionedMarker in a customer's name makes the sandbox AML screening
// refuse them.
const SanctionedMarker = "SANCTIONED"

// Screener is the sandbox AML screening: it refuses customers whose name
// (as created, or as submitted for KYC) contains SANCTIONED.
type Screener struct{}

var _ offramp.Screener = Screener{}

// Screen checks one customer.
func (Screener) Screen(_ context.Context, c offramp.Customer) (offramp.Verdict, error) {
	names := []string{c.FullName}
	if c.KYC != nil {
		names = append(names, c.KYC.FullName)
	}
	for _, n := range names {
		if strings.Contains(strings.ToUpper(n), SanctionedMarker) {
			return offramp.Verdict{FailureReason: offramp.ReasonAMLScreeningFailed}, nil
		}
	}
	return offramp.Verdict{Passed: true}, nil
}
