-- The operator console: the people who run Offramp (operators), their
-- logins (operator_sessions), actions that need two people (proposals),
-- and a hash chain over the audit log.
--
-- The audit chain. Every entry gets seq (1, 2, ... in append order),
-- prev_hash (the previous entry's hash) and hash = offramp.AuditHash(
-- prev_hash, entry), so that editing or deleting a row breaks every later
-- link and `offramp admin audit verify` finds the first broken one. The
-- hash covers the plaintext reason and details, which are sealed with the
-- vault: SQL cannot compute it. So the rows already in the log when this
-- migration runs are numbered by (created_at, id) and stay unchained
-- ("legacy": prev_hash = hash = ''). AppendAudit chains the first new
-- entry to '' (the hash of a legacy predecessor) and every later one to
-- its predecessor; verify counts the legacy rows, which must come before
-- every chained row, and checks the chain from the first chained row.
--
-- Constraint and index names are those of migrations/sqlite.

-- +goose Up
CREATE TABLE operators (
    id            uuid        NOT NULL PRIMARY KEY,
    email         text        NOT NULL,
    role          text        NOT NULL,
    password_hash text        NOT NULL, -- argon2id, PHC string form
    totp_secret   text        NOT NULL, -- sealed (empty plaintext: no second factor)
    disabled      boolean     NOT NULL DEFAULT false,
    failed_logins integer     NOT NULL DEFAULT 0,
    locked_until  timestamptz,          -- NULL when not locked
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT operators_email_check CHECK (email = lower(email) AND email <> ''),
    CONSTRAINT operators_role_check CHECK (role IN ('viewer', 'operator', 'approver', 'admin')),
    CONSTRAINT operators_password_hash_check CHECK (password_hash <> ''),
    CONSTRAINT operators_failed_logins_check CHECK (failed_logins >= 0)
);
CREATE UNIQUE INDEX operators_email_key ON operators (email);

-- A console login. The cookie carries a random token; only its SHA-256 is
-- stored, so a copy of the database opens no session.
CREATE TABLE operator_sessions (
    token_hash   text        NOT NULL PRIMARY KEY,
    operator_id  uuid        NOT NULL REFERENCES operators (id),
    csrf         text        NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    CONSTRAINT operator_sessions_token_hash_check CHECK (token_hash <> ''),
    CONSTRAINT operator_sessions_csrf_check CHECK (csrf <> '')
);
-- Ending every session of an operator (disable, password reset).
CREATE INDEX operator_sessions_operator_idx ON operator_sessions (operator_id);

-- An action proposed by one operator and carried out only when another
-- approves it. org_id has no foreign key, as in audit_log: an action may
-- concern no organization (uuid.Nil). proposed_by and decided_by are
-- operator e-mails, kept as written even if the operator is renamed.
CREATE TABLE proposals (
    id          uuid        NOT NULL PRIMARY KEY,
    org_id      uuid        NOT NULL,
    kind        text        NOT NULL,
    object_type text        NOT NULL,
    object_id   uuid        NOT NULL,
    params      text        NOT NULL, -- sealed JSON object of strings
    reason      text        NOT NULL, -- sealed
    proposed_by text        NOT NULL,
    status      text        NOT NULL,
    decided_by  text,                 -- NULL while PENDING
    decided_at  timestamptz,          -- NULL while PENDING
    created_at  timestamptz NOT NULL,
    CONSTRAINT proposals_kind_check CHECK (kind IN ('payout.resolve_paid', 'payout.resolve_failed',
        'payout.reinquire', 'payout.refund', 'kyc.decide', 'bank.decide')),
    CONSTRAINT proposals_status_check CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
    CONSTRAINT proposals_reason_check CHECK (reason <> ''),
    CONSTRAINT proposals_proposed_by_check CHECK (proposed_by <> ''),
    -- Two people: whoever decides is not whoever proposed.
    CONSTRAINT proposals_decider_check CHECK (decided_by IS NULL OR (decided_by <> proposed_by AND decided_by <> '')),
    -- A decision has a decider and a time; a pending proposal neither.
    CONSTRAINT proposals_decided_check CHECK ((status = 'PENDING') = (decided_by IS NULL)),
    CONSTRAINT proposals_decided_at_check CHECK ((decided_by IS NULL) = (decided_at IS NULL))
);
-- The queue of pending proposals, newest first, and every proposal.
CREATE INDEX proposals_status_created_idx ON proposals (status, created_at);
CREATE INDEX proposals_created_idx ON proposals (created_at);

ALTER TABLE audit_log ADD COLUMN seq bigint;
ALTER TABLE audit_log ADD COLUMN prev_hash text NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN hash text NOT NULL DEFAULT '';
UPDATE audit_log SET seq = n.seq
FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS seq FROM audit_log) AS n
WHERE audit_log.id = n.id;
ALTER TABLE audit_log ALTER COLUMN seq SET NOT NULL;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_seq_check CHECK (seq > 0);
-- A legacy row (hash = '') has no predecessor in the chain either.
ALTER TABLE audit_log ADD CONSTRAINT audit_log_chain_check CHECK (hash <> '' OR prev_hash = '');
-- The chain order, and at most one entry per link: two writers that read
-- the same last entry collide here, and the loser runs again
-- (numberingTargets).
CREATE UNIQUE INDEX audit_log_seq_key ON audit_log (seq);
-- The console's audit page, filtered by actor or by action, newest first.
CREATE INDEX audit_log_actor_seq_idx ON audit_log (actor, seq);
CREATE INDEX audit_log_action_seq_idx ON audit_log (action, seq);

-- +goose Down
DROP INDEX audit_log_action_seq_idx;
DROP INDEX audit_log_actor_seq_idx;
DROP INDEX audit_log_seq_key;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_chain_check;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_seq_check;
ALTER TABLE audit_log DROP COLUMN hash;
ALTER TABLE audit_log DROP COLUMN prev_hash;
ALTER TABLE audit_log DROP COLUMN seq;

DROP TABLE proposals;
DROP TABLE operator_sessions;
DROP TABLE operators;
