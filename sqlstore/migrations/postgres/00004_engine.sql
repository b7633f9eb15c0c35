-- The payout engine: PostgreSQL flavour of
-- migrations/sqlite/00004_engine.sql. Same columns (appended, in the same
-- order), constraint and index names; PostgreSQL adds CHECK constraints to
-- an existing table, so nothing is rebuilt. One transaction: rows that
-- break a new constraint make it fail, naming the constraint, and leave
-- the database at 00003 (payouts are money; the migration does not invent
-- values for them).
--
-- jobs_lease_idx indexes lease_until, so a claim (which sets it) is no
-- longer a HOT update: the price of counting an organization's leases
-- without reading every job.

-- +goose Up
ALTER TABLE payouts ADD COLUMN submissions integer NOT NULL DEFAULT 0;
ALTER TABLE payouts ADD COLUMN submitted_at timestamptz; -- NULL before the first submission
ALTER TABLE payouts ADD COLUMN paid_at timestamptz; -- NULL until SUCCESS
ALTER TABLE payouts ADD COLUMN last_bank_answer text NOT NULL DEFAULT '';
ALTER TABLE payouts ADD COLUMN review_reason text NOT NULL DEFAULT '';

-- Backfill (as SQLite's): a SUCCESS payout was paid when it last changed;
-- an IN_REVIEW one went there because inquiries could not establish the
-- outcome; a payout the bank may have was submitted once, at its last
-- change as far as anyone can tell.
UPDATE payouts SET paid_at = updated_at WHERE status = 'SUCCESS';
UPDATE payouts SET review_reason = 'OUTCOME_UNKNOWN' WHERE status = 'IN_REVIEW';
UPDATE payouts SET submissions = 1, submitted_at = updated_at
    WHERE phase IN ('SUBMITTING', 'SUBMITTED', 'OUTCOME_UNKNOWN', 'MANUAL_REVIEW');

-- payouts_rail_reference_check exists since 00002 (PostgreSQL's name for
-- its unnamed CHECK, which SQLite's rebuilt table now spells out).
ALTER TABLE payouts ADD CONSTRAINT payouts_status_check
    CHECK (status IN ('PROCESSING', 'SUCCESS', 'FAILED', 'REFUNDED', 'IN_REVIEW'));
ALTER TABLE payouts ADD CONSTRAINT payouts_phase_check
    CHECK (phase IN ('QUEUED', 'SUBMITTING', 'SUBMITTED', 'OUTCOME_UNKNOWN', 'PAID',
                     'REJECTED', 'REVERSED', 'MANUAL_REVIEW', 'CRYPTO_RETURNED'));
-- Every phase belongs to one wire status (offramp.PayoutPhase.Status).
-- An unknown status or phase is for the two checks above to report:
-- each rule fires alone, so its name says what is wrong.
ALTER TABLE payouts ADD CONSTRAINT payouts_status_phase_check CHECK (
    status NOT IN ('PROCESSING', 'SUCCESS', 'FAILED', 'REFUNDED', 'IN_REVIEW') OR
    CASE phase
        WHEN 'QUEUED' THEN status = 'PROCESSING'
        WHEN 'SUBMITTING' THEN status = 'PROCESSING'
        WHEN 'SUBMITTED' THEN status = 'PROCESSING'
        WHEN 'OUTCOME_UNKNOWN' THEN status = 'PROCESSING'
        WHEN 'PAID' THEN status = 'SUCCESS'
        WHEN 'REJECTED' THEN status = 'FAILED'
        WHEN 'REVERSED' THEN status = 'FAILED'
        WHEN 'MANUAL_REVIEW' THEN status = 'IN_REVIEW'
        WHEN 'CRYPTO_RETURNED' THEN status = 'REFUNDED'
        ELSE TRUE
    END);
-- A paid payout carries the bank's UTR; one the bank has not paid does
-- not; a reversed one keeps the UTR of the credit it reversed.
ALTER TABLE payouts ADD CONSTRAINT payouts_success_utr_check CHECK (status <> 'SUCCESS' OR utr <> '');
ALTER TABLE payouts ADD CONSTRAINT payouts_unpaid_utr_check CHECK (status NOT IN ('PROCESSING', 'IN_REVIEW') OR utr = '');
ALTER TABLE payouts ADD CONSTRAINT payouts_rejected_utr_check CHECK (phase <> 'REJECTED' OR utr = '');
ALTER TABLE payouts ADD CONSTRAINT payouts_reversed_utr_check CHECK (phase <> 'REVERSED' OR utr <> '');
-- A failed (or refunded) payout says why; no other one has a reason.
ALTER TABLE payouts ADD CONSTRAINT payouts_failed_reason_check
    CHECK (status NOT IN ('FAILED', 'REFUNDED') OR failure_reason <> '');
ALTER TABLE payouts ADD CONSTRAINT payouts_live_reason_check
    CHECK (status NOT IN ('PROCESSING', 'SUCCESS', 'IN_REVIEW') OR failure_reason = '');
ALTER TABLE payouts ADD CONSTRAINT payouts_review_reason_check CHECK (status <> 'IN_REVIEW' OR review_reason <> '');
-- The reversal window runs from paid_at.
ALTER TABLE payouts ADD CONSTRAINT payouts_paid_at_check CHECK (status <> 'SUCCESS' OR paid_at IS NOT NULL);
ALTER TABLE payouts ADD CONSTRAINT payouts_inquiries_check CHECK (inquiries >= 0);
ALTER TABLE payouts ADD CONSTRAINT payouts_submissions_check CHECK (submissions >= 0);

-- With created_at: PayoutsByExchangeOrder lists newest first (as on
-- SQLite, whose planner otherwise walks the organization's payouts).
DROP INDEX payouts_org_exchange_order_idx;
CREATE INDEX payouts_org_exchange_order_idx ON payouts (org_id, exchange_order_id, created_at);

-- One live payout per exchange order: a FAILED or REFUNDED one may be
-- retried, a PROCESSING, SUCCESS or IN_REVIEW one may not.
CREATE UNIQUE INDEX payouts_org_exchange_order_live_key ON payouts (org_id, exchange_order_id)
    WHERE exchange_order_id <> '' AND status IN ('PROCESSING', 'SUCCESS', 'IN_REVIEW');
-- Operator listings across organizations and the census: every payout in
-- creation order; by status (the IN_REVIEW queue); by phase (the oldest
-- transfer pending at the bank, counts per phase).
CREATE INDEX payouts_created_idx ON payouts (created_at, id);
CREATE INDEX payouts_status_created_idx ON payouts (status, created_at);
CREATE INDEX payouts_phase_submitted_idx ON payouts (phase, submitted_at);

-- Older databases may hold two jobs for one payout or event (a forked
-- chain of steps); keep the one due first.
DELETE FROM jobs
WHERE kind IN ('process_payout', 'deliver_webhook') AND EXISTS (
    SELECT 1 FROM jobs AS k
    WHERE k.kind = jobs.kind AND k.ref_id = jobs.ref_id
      AND (k.run_at < jobs.run_at OR (k.run_at = jobs.run_at AND k.id < jobs.id)));

ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('verify_kyc', 'verify_bank', 'process_payout', 'verify_edd', 'deliver_webhook'));
ALTER TABLE jobs ADD CONSTRAINT jobs_attempts_check CHECK (attempts >= 0);
-- A lease is an owner and an end, or neither.
ALTER TABLE jobs ADD CONSTRAINT jobs_lease_check CHECK ((lease_owner IS NULL) = (lease_until IS NULL));

-- Claims restricted to some kinds.
CREATE INDEX jobs_kind_run_at_idx ON jobs (kind, run_at);
-- The jobs of one object (Jobs), and at most one live job per payout or
-- webhook event.
CREATE INDEX jobs_kind_ref_idx ON jobs (kind, ref_id, run_at);
CREATE UNIQUE INDEX jobs_kind_ref_key ON jobs (kind, ref_id)
    WHERE kind IN ('process_payout', 'deliver_webhook');
-- The leases held (or lapsed and not yet taken over): a claim's cap per
-- organization counts them.
CREATE INDEX jobs_lease_idx ON jobs (kind, lease_until) WHERE lease_until IS NOT NULL;

-- Operator actions. org_id has no foreign key: an action may concern no
-- organization (uuid.Nil). The reason and details may name people.
CREATE TABLE audit_log (
    id          uuid        NOT NULL PRIMARY KEY,
    org_id      uuid        NOT NULL,
    actor       text        NOT NULL,
    action      text        NOT NULL,
    object_type text        NOT NULL,
    object_id   uuid        NOT NULL,
    reason      text        NOT NULL, -- sealed
    details     text        NOT NULL, -- sealed JSON object of strings
    created_at  timestamptz NOT NULL,
    CONSTRAINT audit_log_actor_check CHECK (actor <> ''),
    CONSTRAINT audit_log_action_check CHECK (action <> ''),
    CONSTRAINT audit_log_reason_check CHECK (reason <> '')
);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, created_at);

-- +goose Down
DROP TABLE audit_log;

DROP INDEX jobs_lease_idx;
DROP INDEX jobs_kind_ref_key;
DROP INDEX jobs_kind_ref_idx;
DROP INDEX jobs_kind_run_at_idx;
ALTER TABLE jobs DROP CONSTRAINT jobs_lease_check;
ALTER TABLE jobs DROP CONSTRAINT jobs_attempts_check;
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;

DROP INDEX payouts_phase_submitted_idx;
DROP INDEX payouts_status_created_idx;
DROP INDEX payouts_created_idx;
DROP INDEX payouts_org_exchange_order_live_key;
DROP INDEX payouts_org_exchange_order_idx;
CREATE INDEX payouts_org_exchange_order_idx ON payouts (org_id, exchange_order_id);
ALTER TABLE payouts DROP CONSTRAINT payouts_submissions_check;
ALTER TABLE payouts DROP CONSTRAINT payouts_inquiries_check;
ALTER TABLE payouts DROP CONSTRAINT payouts_paid_at_check;
ALTER TABLE payouts DROP CONSTRAINT payouts_review_reason_check;
ALTER TABLE payouts DROP CONSTRAINT payouts_live_reason_check;
ALTER TABLE payouts DROP CONSTRAINT payouts_failed_reason_check;
ALTER TABLE payouts DROP CONSTRAINT payouts_reversed_utr_check;
ALTER TABLE payouts DROP CONSTRAINT payouts_rejected_utr_check;
ALTER TABLE payouts DROP CONSTRAINT payouts_unpaid_utr_check;
ALTER TABLE payouts DROP CONSTRAINT payouts_success_utr_check;
ALTER TABLE payouts DROP CONSTRAINT payouts_status_phase_check;
ALTER TABLE payouts DROP CONSTRAINT payouts_phase_check;
ALTER TABLE payouts DROP CONSTRAINT payouts_status_check;
ALTER TABLE payouts DROP COLUMN review_reason;
ALTER TABLE payouts DROP COLUMN last_bank_answer;
ALTER TABLE payouts DROP COLUMN paid_at;
ALTER TABLE payouts DROP COLUMN submitted_at;
ALTER TABLE payouts DROP COLUMN submissions;
