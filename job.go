package offramp

import (
	"time"

	"github.com/google/uuid"
)

// JobKind names a kind of background work.
type JobKind string

const (
	// JobVerifyKYC runs KYC verification for a customer's submission.
	JobVerifyKYC JobKind = "verify_kyc"
	// JobVerifyBank runs verification (penny drop) of a bank account.
	JobVerifyBank JobKind = "verify_bank"
	// JobProcessPayout moves a payout through the bank rail, one phase per
	// run.
	JobProcessPayout JobKind = "process_payout"
	// JobVerifyEDD decides an EDD submission.
	JobVerifyEDD JobKind = "verify_edd"
	// JobDeliverWebhook makes one delivery attempt of an event.
	JobDeliverWebhook JobKind = "deliver_webhook"
)

// JobKinds lists every kind, in the order of the schema's CHECK.
func JobKinds() []JobKind {
	return []JobKind{JobVerifyKYC, JobVerifyBank, JobProcessPayout, JobVerifyEDD, JobDeliverWebhook}
}

// Job is durable background work: it survives restarts because it is a row,
// and several workers can share the table because a worker must hold a
// lease on a job to run it.
type Job struct {
	ID    uuid.UUID
	OrgID uuid.UUID
	Kind  JobKind
	// RefID is the object the job works on.
	RefID uuid.UUID
	// Seq lets a job detect that it was superseded (for KYC, the attempt
	// number it was scheduled for).
	Seq      int
	RunAt    time.Time
	Attempts int
	LastErr  string
	// Lease is the token of the claim that handed the job out (empty for
	// a job not claimed). Completing or rescheduling a job requires it,
	// so a runner whose lease lapsed cannot touch a job another runner
	// has claimed since: its whole transaction fails with ErrStale.
	Lease string
}

// JobClaim asks for due jobs.
type JobClaim struct {
	Now time.Time
	// Owner is the lease token written on every job claimed; it must be
	// unique per claim (a runner adds a fresh suffix each time).
	Owner string
	Lease time.Duration
	Limit int
	// Kinds restricts the claim to these kinds (nil: every kind).
	Kinds []JobKind
	// PerOrg, when positive, caps the jobs of these kinds one
	// organization may hold leased at once, this claim's included: a slow
	// bank or a dead webhook receiver of one organization cannot take
	// every slot. Among the due jobs, organizations take turns (each
	// organization's oldest first), so one with a long backlog does not
	// starve the others.
	PerOrg int
}

// JobDepth is how many jobs of a kind wait.
type JobDepth struct {
	Kind JobKind
	// Due have reached their run time and are not leased; Leased are
	// running; Scheduled wait for a later run time.
	Due, Leased, Scheduled int
}
