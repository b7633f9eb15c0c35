// Package engine is Offramp's payout engine: it takes a payout from QUEUED
// to SUCCESS or FAILED through a bank rail, and keeps the books, the
// customer's daily limit, the webhooks and the audit trail in step with
// every change.
//
// # The state machine
//
// The phases and their allowed moves are the domain's table
// (offramp.PayoutPhase.CanMoveTo); every move goes through one helper,
// Engine.Move, which checks the table, writes the compare-and-set, the
// limit effect, the journals, the event with its webhook outbox row, the
// audit entry, and completes or reschedules the step's job — all in the
// caller's transaction.
//
// # One job per payout
//
// A payout that is not finished has exactly one live process_payout job.
// Each run of it takes one step and, in the same transaction as the
// step's phase change, reschedules itself (or completes itself when the
// payout is finished): a crash anywhere leaves a recorded phase and one job
// to resume from it, never two. The job table's unique index refuses a
// second one. A paid payout keeps its job during the reversal window: the
// job checks the bank now and then for a reversal.
//
// # What the engine does with each bank answer
//
// See the bank contract on offramp.Rail. In short:
//
//   - The bank account is read before SUBMITTING is recorded; SUBMITTING is
//     recorded before the bank call. Found on a later run (the process died
//     during the call) it means the outcome is unknown.
//   - ACCEPTED is pending, not unknown: the transfer is polled with
//     back-off (the delay grows with the time since submission, from
//     InquiryDelay up to MaxPollInterval) until SettlementDeadline after
//     the payout was created, and only then goes to IN_REVIEW
//     (SETTLEMENT_OVERDUE).
//   - A timeout, reset connection or 5xx is an unknown outcome: up to
//     MaxInquiries inquiries with back-off, then IN_REVIEW
//     (OUTCOME_UNKNOWN). The engine never submits blindly.
//   - NOT_FOUND for an unknown outcome is believed only after the rail's
//     posting delay; then, and only if the bank dedups references, the
//     transfer is submitted again under the same reference, at most
//     MaxSubmissions times in all (then IN_REVIEW, RESUBMISSIONS_EXHAUSTED).
//   - A definite "not sent" error (offramp.ErrRailNotSent) puts the payout
//     back in QUEUED to be sent later; one still not sent at the
//     settlement deadline fails with BANK_UNAVAILABLE (no money moved).
//   - SUCCESS pays (with the UTR), REJECTED fails (with the bank's
//     reason), REVERSED after SUCCESS fails with REVERSED_BY_BANK: the
//     reversing journals, the limit given back, a PAYOUT FAILED webhook
//     with the next sequence number.
//
// An IN_REVIEW payout is settled by an operator (Engine.Resolve): paid with
// the UTR the bank confirmed, failed with a reason, or asked about once more
// (a re-inquiry that settles it if the bank now gives a definite answer).
// Every decision records who made it and why.
package engine
