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
}
