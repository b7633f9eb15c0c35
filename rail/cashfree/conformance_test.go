package cashfree_test

import (
	"testing"

	"github.com/offramp/offramp/rail/cashfree/cashfreefake"
	"github.com/offramp/offramp/rail/railtest"
)

func account(number string) railtest.Account {
	return railtest.Account{Number: number, IFSC: testIFSC, Name: testName}
}

// harness is the conformance suite's view of one env; rejects names the
// account the bank refuses.
func harness(t *testing.T, rejects string) railtest.Harness {
	e := newEnv(t, envOptions{})
	return railtest.Harness{
		Rail:         e.rail,
		Advance:      e.advance,
		Pays:         account(cashfreefake.AccountPays),
		Rejects:      account(rejects),
		Pending:      account(cashfreefake.AccountPendingLong),
		Reverses:     account(cashfreefake.AccountReverses),
		Silent:       account(cashfreefake.AccountSilent),
		Settle:       settle,
		PendingFor:   pendingFor,
		ReverseAfter: reverseAfter,
		Transfers:    e.transfers,
	}
}

// TestConformance runs the bank contract's suite on the adapter against
// the fake, with a beneficiary bank that fails the transfer after
// accepting it (FAILED, BENE_BANK_DECLINED).
func TestConformance(t *testing.T) {
	t.Parallel()
	railtest.Run(t, func(t *testing.T) railtest.Harness { return harness(t, cashfreefake.AccountFails) })
}

// TestConformanceRejectedAtCreate runs it again with a transfer Cashfree
// rejects in the create's answer (REJECTED, BENE_BLACKLISTED).
func TestConformanceRejectedAtCreate(t *testing.T) {
	t.Parallel()
	railtest.Run(t, func(t *testing.T) railtest.Harness { return harness(t, cashfreefake.AccountRejected) })
}
