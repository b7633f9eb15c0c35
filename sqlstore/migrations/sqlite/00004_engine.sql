-- +goose NO TRANSACTION
-- The payout engine: payout phases with their own bookkeeping (submissions,
-- submission and payment times, the bank's last answer, why a payout is
-- in review), CHECK constraints that encode the payout invariants, one
-- live payout per exchange order, one live job per payout or webhook
-- event, claims by kind, and the audit log of operator actions.
--
-- SQLite cannot add a CHECK constraint to an existing table, so payouts
-- and jobs are rebuilt the documented way ("Making Other Kinds Of Table
-- Schema Changes", https://www.sqlite.org/lang_altertable.html): foreign
-- keys off, one transaction that creates the new table, copies the rows,
-- drops the old table, renames the new one and recreates every index,
-- a foreign key check, commit, foreign keys on again. Hence NO TRANSACTION:
-- PRAGMA foreign_keys is a no-op inside a transaction. goose runs these
-- statements on the store's single write connection, so the pragmas apply
-- to the connection that runs them; Store.Migrate rolls back and turns
-- foreign keys on again if a statement fails half way.
--
-- The foreign key check fails the migration (a named CHECK on a temporary
-- table) instead of only listing violations. Rows that break a new CHECK
-- (a SUCCESS payout without UTR, ...) or two live payouts of one exchange
-- order make the copy fail, naming the constraint, and leave the database
-- at 00003: payouts are money, and the migration does not invent values
-- for them.
--
-- Constraint and index names are those of migrations/postgres, so that a
-- violation names the same rule on both engines.

-- +goose Up
PRAGMA foreign_keys = OFF;

BEGIN IMMEDIATE;

CREATE TABLE payouts_new (
    id                   TEXT    NOT NULL PRIMARY KEY,
    org_id               TEXT    NOT NULL,
    customer_id          TEXT    NOT NULL,
    bank_id              TEXT    NOT NULL,
    quotation_id         TEXT    NOT NULL,
    client_reference_id  TEXT    NOT NULL DEFAULT '',
    exchange_order_id    TEXT    NOT NULL DEFAULT '',
    exchange_transfer_id TEXT    NOT NULL DEFAULT '',
    asset                TEXT    NOT NULL,
    fiat                 TEXT    NOT NULL,
    payment_method       TEXT    NOT NULL,
    sending_amount       TEXT    NOT NULL, -- decimal
    rate                 TEXT    NOT NULL, -- decimal
    gross_fiat           TEXT    NOT NULL, -- decimal
    receiving_amount     TEXT    NOT NULL, -- decimal
    fees                 TEXT    NOT NULL, -- JSON object of decimals
    status               TEXT    NOT NULL,
    phase                TEXT    NOT NULL,
    rail_reference       TEXT    NOT NULL,
    utr                  TEXT    NOT NULL DEFAULT '',
    failure_reason       TEXT    NOT NULL DEFAULT '',
    limit_day            TEXT    NOT NULL DEFAULT '',
    inquiries            INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL,
    submissions          INTEGER NOT NULL DEFAULT 0,
    submitted_at         TEXT,                      -- NULL before the first submission
    paid_at              TEXT,                      -- NULL until SUCCESS
    last_bank_answer     TEXT    NOT NULL DEFAULT '',
    review_reason        TEXT    NOT NULL DEFAULT '',
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id),
    FOREIGN KEY (org_id, customer_id, bank_id) REFERENCES bank_accounts (org_id, customer_id, id),
    FOREIGN KEY (org_id, quotation_id) REFERENCES quotations (org_id, id),
    -- The bank keys the transfer by it: unique across organizations, never
    -- empty, so a repeated submission cannot pay twice.
    CONSTRAINT payouts_rail_reference_check CHECK (rail_reference <> ''),
    CONSTRAINT payouts_status_check
        CHECK (status IN ('PROCESSING', 'SUCCESS', 'FAILED', 'REFUNDED', 'IN_REVIEW')),
    CONSTRAINT payouts_phase_check
        CHECK (phase IN ('QUEUED', 'SUBMITTING', 'SUBMITTED', 'OUTCOME_UNKNOWN', 'PAID',
                         'REJECTED', 'REVERSED', 'MANUAL_REVIEW', 'CRYPTO_RETURNED')),
    -- Every phase belongs to one wire status (offramp.PayoutPhase.Status).
    -- An unknown status or phase is for the two checks above to report:
    -- each rule fires alone, so its name says what is wrong.
    CONSTRAINT payouts_status_phase_check CHECK (
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
        END),
    -- A paid payout carries the bank's UTR; one the bank has not paid
    -- does not; a reversed one keeps the UTR of the credit it reversed.
    CONSTRAINT payouts_success_utr_check CHECK (status <> 'SUCCESS' OR utr <> ''),
    CONSTRAINT payouts_unpaid_utr_check CHECK (status NOT IN ('PROCESSING', 'IN_REVIEW') OR utr = ''),
    CONSTRAINT payouts_rejected_utr_check CHECK (phase <> 'REJECTED' OR utr = ''),
    CONSTRAINT payouts_reversed_utr_check CHECK (phase <> 'REVERSED' OR utr <> ''),
    -- A failed (or refunded) payout says why; no other one has a reason.
    CONSTRAINT payouts_failed_reason_check
        CHECK (status NOT IN ('FAILED', 'REFUNDED') OR failure_reason <> ''),
    CONSTRAINT payouts_live_reason_check
        CHECK (status NOT IN ('PROCESSING', 'SUCCESS', 'IN_REVIEW') OR failure_reason = ''),
    CONSTRAINT payouts_review_reason_check CHECK (status <> 'IN_REVIEW' OR review_reason <> ''),
    -- The reversal window runs from paid_at.
    CONSTRAINT payouts_paid_at_check CHECK (status <> 'SUCCESS' OR paid_at IS NOT NULL),
    CONSTRAINT payouts_inquiries_check CHECK (inquiries >= 0),
    CONSTRAINT payouts_submissions_check CHECK (submissions >= 0)
) STRICT;

-- Backfill: a SUCCESS payout was paid when it last changed; an IN_REVIEW
-- one went there because inquiries could not establish the outcome (the
-- only way in before 00004). A payout the bank may have (SUBMITTING,
-- SUBMITTED, OUTCOME_UNKNOWN, MANUAL_REVIEW) was submitted once, no
-- earlier than its last change as far as anyone can tell: the engine then
-- gives the bank its posting delay from that time before it believes a
-- NOT_FOUND, instead of resubmitting at once.
INSERT INTO payouts_new (
    id, org_id, customer_id, bank_id, quotation_id, client_reference_id,
    exchange_order_id, exchange_transfer_id, asset, fiat, payment_method,
    sending_amount, rate, gross_fiat, receiving_amount, fees, status, phase, rail_reference,
    utr, failure_reason, limit_day, inquiries, created_at, updated_at,
    submissions, submitted_at, paid_at, last_bank_answer, review_reason)
SELECT
    id, org_id, customer_id, bank_id, quotation_id, client_reference_id,
    exchange_order_id, exchange_transfer_id, asset, fiat, payment_method,
    sending_amount, rate, gross_fiat, receiving_amount, fees, status, phase, rail_reference,
    utr, failure_reason, limit_day, inquiries, created_at, updated_at,
    CASE WHEN phase IN ('SUBMITTING', 'SUBMITTED', 'OUTCOME_UNKNOWN', 'MANUAL_REVIEW') THEN 1 ELSE 0 END,
    CASE WHEN phase IN ('SUBMITTING', 'SUBMITTED', 'OUTCOME_UNKNOWN', 'MANUAL_REVIEW') THEN updated_at END,
    CASE WHEN status = 'SUCCESS' THEN updated_at END,
    '',
    CASE WHEN status = 'IN_REVIEW' THEN 'OUTCOME_UNKNOWN' ELSE '' END
FROM payouts;

DROP TABLE payouts;
ALTER TABLE payouts_new RENAME TO payouts;

CREATE UNIQUE INDEX payouts_org_client_reference_id_key
    ON payouts (org_id, client_reference_id) WHERE client_reference_id <> '';
CREATE UNIQUE INDEX payouts_rail_reference_key ON payouts (rail_reference);
-- With created_at since 00004: PayoutsByExchangeOrder lists newest first,
-- and without it SQLite's planner walks the organization's payouts by
-- payouts_org_created_idx instead.
CREATE INDEX payouts_org_exchange_order_idx ON payouts (org_id, exchange_order_id, created_at);
CREATE INDEX payouts_org_created_idx ON payouts (org_id, created_at);
CREATE INDEX payouts_org_customer_created_idx ON payouts (org_id, customer_id, created_at);
CREATE INDEX payouts_unlinked_idx ON payouts (created_at) WHERE exchange_transfer_id = '';
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

-- org_id has no foreign key: maintenance jobs may belong to no organization.
CREATE TABLE jobs_new (
    id          TEXT    NOT NULL PRIMARY KEY,
    org_id      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    ref_id      TEXT    NOT NULL,
    seq         INTEGER NOT NULL DEFAULT 0,
    run_at      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT '',
    lease_owner TEXT,
    lease_until TEXT,
    created_at  TEXT    NOT NULL,
    CONSTRAINT jobs_kind_check
        CHECK (kind IN ('verify_kyc', 'verify_bank', 'process_payout', 'verify_edd', 'deliver_webhook')),
    CONSTRAINT jobs_attempts_check CHECK (attempts >= 0),
    -- A lease is an owner and an end, or neither.
    CONSTRAINT jobs_lease_check CHECK ((lease_owner IS NULL) = (lease_until IS NULL))
) STRICT;
INSERT INTO jobs_new (id, org_id, kind, ref_id, seq, run_at, attempts, last_error, lease_owner, lease_until, created_at)
SELECT id, org_id, kind, ref_id, seq, run_at, attempts, last_error, lease_owner, lease_until, created_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;

CREATE INDEX jobs_run_at_idx ON jobs (run_at);
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
    id          TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    reason      TEXT NOT NULL, -- sealed
    details     TEXT NOT NULL, -- sealed JSON object of strings
    created_at  TEXT NOT NULL,
    CONSTRAINT audit_log_actor_check CHECK (actor <> ''),
    CONSTRAINT audit_log_action_check CHECK (action <> ''),
    CONSTRAINT audit_log_reason_check CHECK (reason <> '')
) STRICT;
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, created_at);

-- The rebuild broke no reference (to or from payouts).
CREATE TEMP TABLE migration_00004_fk_check (
    violations INTEGER NOT NULL CONSTRAINT migration_00004_foreign_keys_intact CHECK (violations = 0));
INSERT INTO migration_00004_fk_check SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE migration_00004_fk_check;

COMMIT;

PRAGMA foreign_keys = ON;

-- +goose Down
PRAGMA foreign_keys = OFF;

BEGIN IMMEDIATE;

DROP TABLE audit_log;

CREATE TABLE jobs_old (
    id          TEXT    NOT NULL PRIMARY KEY,
    org_id      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    ref_id      TEXT    NOT NULL,
    seq         INTEGER NOT NULL DEFAULT 0,
    run_at      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT '',
    lease_owner TEXT,
    lease_until TEXT,
    created_at  TEXT    NOT NULL
) STRICT;
INSERT INTO jobs_old (id, org_id, kind, ref_id, seq, run_at, attempts, last_error, lease_owner, lease_until, created_at)
SELECT id, org_id, kind, ref_id, seq, run_at, attempts, last_error, lease_owner, lease_until, created_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_old RENAME TO jobs;
CREATE INDEX jobs_run_at_idx ON jobs (run_at);

CREATE TABLE payouts_old (
    id                   TEXT    NOT NULL PRIMARY KEY,
    org_id               TEXT    NOT NULL,
    customer_id          TEXT    NOT NULL,
    bank_id              TEXT    NOT NULL,
    quotation_id         TEXT    NOT NULL,
    client_reference_id  TEXT    NOT NULL DEFAULT '',
    exchange_order_id    TEXT    NOT NULL DEFAULT '',
    exchange_transfer_id TEXT    NOT NULL DEFAULT '',
    asset                TEXT    NOT NULL,
    fiat                 TEXT    NOT NULL,
    payment_method       TEXT    NOT NULL,
    sending_amount       TEXT    NOT NULL,
    rate                 TEXT    NOT NULL,
    gross_fiat           TEXT    NOT NULL,
    receiving_amount     TEXT    NOT NULL,
    fees                 TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    phase                TEXT    NOT NULL,
    rail_reference       TEXT    NOT NULL CHECK (rail_reference <> ''),
    utr                  TEXT    NOT NULL DEFAULT '',
    failure_reason       TEXT    NOT NULL DEFAULT '',
    limit_day            TEXT    NOT NULL DEFAULT '',
    inquiries            INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id),
    FOREIGN KEY (org_id, customer_id, bank_id) REFERENCES bank_accounts (org_id, customer_id, id),
    FOREIGN KEY (org_id, quotation_id) REFERENCES quotations (org_id, id)
) STRICT;
INSERT INTO payouts_old (
    id, org_id, customer_id, bank_id, quotation_id, client_reference_id,
    exchange_order_id, exchange_transfer_id, asset, fiat, payment_method,
    sending_amount, rate, gross_fiat, receiving_amount, fees, status, phase, rail_reference,
    utr, failure_reason, limit_day, inquiries, created_at, updated_at)
SELECT
    id, org_id, customer_id, bank_id, quotation_id, client_reference_id,
    exchange_order_id, exchange_transfer_id, asset, fiat, payment_method,
    sending_amount, rate, gross_fiat, receiving_amount, fees, status, phase, rail_reference,
    utr, failure_reason, limit_day, inquiries, created_at, updated_at
FROM payouts;
DROP TABLE payouts;
ALTER TABLE payouts_old RENAME TO payouts;
CREATE UNIQUE INDEX payouts_org_client_reference_id_key
    ON payouts (org_id, client_reference_id) WHERE client_reference_id <> '';
CREATE UNIQUE INDEX payouts_rail_reference_key ON payouts (rail_reference);
CREATE INDEX payouts_org_exchange_order_idx ON payouts (org_id, exchange_order_id);
CREATE INDEX payouts_org_created_idx ON payouts (org_id, created_at);
CREATE INDEX payouts_org_customer_created_idx ON payouts (org_id, customer_id, created_at);
CREATE INDEX payouts_unlinked_idx ON payouts (created_at) WHERE exchange_transfer_id = '';

CREATE TEMP TABLE migration_00004_fk_check (
    violations INTEGER NOT NULL CONSTRAINT migration_00004_foreign_keys_intact CHECK (violations = 0));
INSERT INTO migration_00004_fk_check SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE migration_00004_fk_check;

COMMIT;

PRAGMA foreign_keys = ON;
