package offramp

import (
	"fmt"
	"testing"
)

// TestPhaseTransitions checks every ordered pair of phases against the
// state machine written out by hand: a move the table allows that is not
// listed here, or one listed here that the table refuses, fails.
func TestPhaseTransitions(t *testing.T) {
	allowed := map[[2]PayoutPhase]bool{}
	for _, m := range [][2]PayoutPhase{
		{PhaseQueued, PhaseSubmitting}, {PhaseQueued, PhasePaid}, {PhaseQueued, PhaseRejected},
		{PhaseSubmitting, PhaseSubmitted}, {PhaseSubmitting, PhaseOutcomeUnknown}, {PhaseSubmitting, PhaseQueued},
		{PhaseSubmitting, PhasePaid}, {PhaseSubmitting, PhaseRejected},
		{PhaseSubmitted, PhasePaid}, {PhaseSubmitted, PhaseRejected}, {PhaseSubmitted, PhaseManualReview},
		{PhaseOutcomeUnknown, PhaseSubmitted}, {PhaseOutcomeUnknown, PhasePaid}, {PhaseOutcomeUnknown, PhaseRejected},
		{PhaseOutcomeUnknown, PhaseQueued}, {PhaseOutcomeUnknown, PhaseManualReview},
		{PhaseManualReview, PhasePaid}, {PhaseManualReview, PhaseRejected},
		{PhasePaid, PhaseReversed},
		{PhaseRejected, PhaseCryptoReturned}, {PhaseReversed, PhaseCryptoReturned},
	} {
		allowed[m] = true
	}
	n := 0
	for _, from := range PayoutPhases {
		for _, to := range PayoutPhases {
			n++
			if got, want := from.CanMoveTo(to), allowed[[2]PayoutPhase{from, to}]; got != want {
				t.Errorf("%s -> %s: CanMoveTo = %v, want %v", from, to, got, want)
			}
		}
	}
	if n != 81 {
		t.Fatalf("checked %d pairs, want 9 × 9", n)
	}
	for _, to := range PayoutPhases {
		if PhaseCryptoReturned.CanMoveTo(to) {
			t.Errorf("REFUNDED is final, but CRYPTO_RETURNED -> %s is allowed", to)
		}
	}
}

// TestPhaseStatusAgree checks that every phase belongs to one wire status
// and that every phase move is a status move the status table allows (or
// stays in its status).
func TestPhaseStatusAgree(t *testing.T) {
	for _, ph := range PayoutPhases {
		if ph.Status() == "" {
			t.Errorf("phase %s has no wire status", ph)
		}
	}
	if PayoutPhase("BOGUS").Status() != "" {
		t.Error("an unknown phase has a wire status")
	}
	for _, from := range PayoutPhases {
		for _, to := range PayoutPhases {
			if !from.CanMoveTo(to) {
				continue
			}
			fs, ts := from.Status(), to.Status()
			if fs != ts && !fs.CanTransition(ts) {
				t.Errorf("phase move %s -> %s is status move %s -> %s, which the status table refuses", from, to, fs, ts)
			}
		}
	}
}

// TestStatusTransitionsExhaustive checks every ordered pair of wire
// statuses.
func TestStatusTransitionsExhaustive(t *testing.T) {
	allowed := map[string]bool{
		"PROCESSING->SUCCESS": true, "PROCESSING->FAILED": true, "PROCESSING->IN_REVIEW": true,
		"IN_REVIEW->SUCCESS": true, "IN_REVIEW->FAILED": true,
		"SUCCESS->FAILED":  true, // a bank reversal, the only way out of SUCCESS
		"FAILED->REFUNDED": true,
	}
	for _, from := range PayoutStatuses {
		for _, to := range PayoutStatuses {
			k := fmt.Sprintf("%s->%s", from, to)
			if got := from.CanTransition(to); got != allowed[k] {
				t.Errorf("%s: CanTransition = %v, want %v", k, got, allowed[k])
			}
		}
	}
	for _, s := range PayoutStatuses {
		want := s == PayoutProcessing || s == PayoutSuccess || s == PayoutInReview
		if s.UsesLimit() != want {
			t.Errorf("%s.UsesLimit() = %v", s, !want)
		}
	}
}
