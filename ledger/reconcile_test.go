package ledger

import (
	"testing"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

func payout(status offramp.PayoutStatus, phase offramp.PayoutPhase, linked bool) offramp.Payout {
	p := offramp.Payout{
		ID: uuid.New(), OrgID: uuid.New(), Asset: "USDT", Fiat: "INR",
		SendingAmount: decimal.RequireFromString("50"), GrossFiat: decimal.RequireFromString("4446.00"),
		ReceivingAmount: decimal.RequireFromString("4369.40"), Status: status, Phase: phase,
		Fees: offramp.Fees{PlatformFee: decimal.RequireFromString("22.23"), PlatformGST: decimal.RequireFromString("4.00"),
			PGFee: decimal.RequireFromString("5.00"), PGGST: decimal.RequireFromString("0.90"), TDS: decimal.RequireFromString("44.46"),
			Rounding: decimal.RequireFromString("0.01")},
	}
	if linked {
		p.ExchangeTransferID = "tx-1"
	}
	return p
}

// Every life a payout can have, journal by journal as the engine writes
// them, reconciles at each end state; a missing or extra journal does not.
func TestReconcileLives(t *testing.T) {
	type step struct {
		status offramp.PayoutStatus
		phase  offramp.PayoutPhase
	}
	lives := map[string][]step{
		"paid":              {{offramp.PayoutSuccess, offramp.PhasePaid}},
		"rejected":          {{offramp.PayoutFailed, offramp.PhaseRejected}},
		"rejected-refunded": {{offramp.PayoutFailed, offramp.PhaseRejected}, {offramp.PayoutRefunded, offramp.PhaseCryptoReturned}},
		"reversed":          {{offramp.PayoutSuccess, offramp.PhasePaid}, {offramp.PayoutFailed, offramp.PhaseReversed}},
		"reversed-refunded": {{offramp.PayoutSuccess, offramp.PhasePaid}, {offramp.PayoutFailed, offramp.PhaseReversed}, {offramp.PayoutRefunded, offramp.PhaseCryptoReturned}},
		"in-review":         {{offramp.PayoutInReview, offramp.PhaseManualReview}},
		"review-paid":       {{offramp.PayoutInReview, offramp.PhaseManualReview}, {offramp.PayoutSuccess, offramp.PhasePaid}},
	}
	for name, life := range lives {
		for _, linked := range []bool{false, true} {
			p := payout(offramp.PayoutProcessing, offramp.PhaseQueued, linked)
			b := Books{}
			b.Add(Initiated(p))
			if linked {
				b.Add(Linked(p))
			}
			if m := b.Reconcile(p); len(m) != 0 {
				t.Fatalf("%s: a new payout does not reconcile: %v", name, m)
			}
			for _, s := range life {
				from := p.Phase
				p.Status, p.Phase = s.status, s.phase
				for _, j := range ForMove(from, p) {
					if !j.Balanced() {
						t.Fatalf("%s: journal %s does not balance", name, j.Kind)
					}
					b.Add(j)
				}
				if m := b.Reconcile(p); len(m) != 0 {
					t.Fatalf("%s (linked %v) at %s: %v", name, linked, p.Phase, m)
				}
			}
		}
	}
}

func TestReconcileFindsMissingJournal(t *testing.T) {
	p := payout(offramp.PayoutSuccess, offramp.PhasePaid, false)
	b := Books{}
	b.Add(Initiated(p)) // the payout_paid journal is missing
	m := b.Reconcile(p)
	if len(m) != 2 || m[0].Key.Account != offramp.AccountBankFloat || m[1].Key.Account != offramp.AccountCustomerPayable {
		t.Fatalf("mismatches %v, want the float and the customer liability", m)
	}
	b.Add(Paid(p))
	b.Add(Paid(p)) // paid twice
	if m := b.Reconcile(p); len(m) != 2 {
		t.Fatalf("a payout paid twice in the books reconciles: %v", m)
	}
}
