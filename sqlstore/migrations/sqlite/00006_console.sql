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
-- SQLite cannot add a CHECK or make a new column NOT NULL on an existing
-- table, so audit_log is rebuilt the documented way (create, copy, drop,
-- rename, index; no foreign key refers to audit_log, so none is touched).
-- The chain columns come last, as PostgreSQL's ALTER TABLE ADD COLUMN puts
-- them. Constraint and index names are those of migrations/postgres.

-- +goose Up
CREATE TABLE operators (
    id            TEXT    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL, -- argon2id, PHC string form
    totp_secret   TEXT    NOT NULL, -- sealed (empty plaintext: no second factor)
    disabled      INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,             -- NULL when not locked
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    CONSTRAINT operators_email_check CHECK (email = lower(email) AND email <> ''),
    CONSTRAINT operators_role_check CHECK (role IN ('viewer', 'operator', 'approver', 'admin')),
    CONSTRAINT operators_password_hash_check CHECK (password_hash <> ''),
    CONSTRAINT operators_failed_logins_check CHECK (failed_logins >= 0)
) STRICT;
CREATE UNIQUE INDEX operators_email_key ON operators (email);

-- A console login. The cookie carries a random token; only its SHA-256 is
-- stored, so a copy of the database opens no session.
CREATE TABLE operator_sessions (
    token_hash   TEXT NOT NULL PRIMARY KEY,
    operator_id  TEXT NOT NULL REFERENCES operators (id),
    csrf         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    CONSTRAINT operator_sessions_token_hash_check CHECK (token_hash <> ''),
    CONSTRAINT operator_sessions_csrf_check CHECK (csrf <> '')
) STRICT;
-- Ending every session of an operator (disable, password reset).
CREATE INDEX operator_sessions_operator_idx ON operator_sessions (operator_id);

-- An action proposed by one operator and carried out only when another
-- approves it. org_id has no foreign key, as in audit_log: an action may
-- concern no organization (uuid.Nil). proposed_by and decided_by are
-- operator e-mails, kept as written even if the operator is renamed.
CREATE TABLE proposals (
    id          TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    params      TEXT NOT NULL, -- sealed JSON object of strings
    reason      TEXT NOT NULL, -- sealed
    proposed_by TEXT NOT NULL,
    status      TEXT NOT NULL,
    decided_by  TEXT,          -- NULL while PENDING
    decided_at  TEXT,          -- NULL while PENDING
    created_at  TEXT NOT NULL,
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
) STRICT;
-- The queue of pending proposals, newest first, and every proposal.
CREATE INDEX proposals_status_created_idx ON proposals (status, created_at);
CREATE INDEX proposals_created_idx ON proposals (created_at);

CREATE TABLE audit_log_new (
    id          TEXT    NOT NULL PRIMARY KEY,
    org_id      TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    object_type TEXT    NOT NULL,
    object_id   TEXT    NOT NULL,
    reason      TEXT    NOT NULL, -- vault ciphertext, as since 00004
    details     TEXT    NOT NULL, -- vault ciphertext, as since 00004
    created_at  TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    prev_hash   TEXT    NOT NULL DEFAULT '',
    hash        TEXT    NOT NULL DEFAULT '',
    CONSTRAINT audit_log_actor_check CHECK (actor <> ''),
    CONSTRAINT audit_log_action_check CHECK (action <> ''),
    CONSTRAINT audit_log_reason_check CHECK (reason <> ''),
    CONSTRAINT audit_log_seq_check CHECK (seq > 0),
    -- A legacy row (hash = '') has no predecessor in the chain either.
    CONSTRAINT audit_log_chain_check CHECK (hash <> '' OR prev_hash = '')
) STRICT;
INSERT INTO audit_log_new (id, org_id, actor, action, object_type, object_id, reason, details, created_at, seq)
SELECT id, org_id, actor, action, object_type, object_id, reason, details, created_at,
       row_number() OVER (ORDER BY created_at, id)
FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, created_at);
-- The chain order, and at most one entry per link: two writers that read
-- the same last entry collide here (PostgreSQL runs the loser again).
CREATE UNIQUE INDEX audit_log_seq_key ON audit_log (seq);
-- The console's audit page, filtered by actor or by action, newest first.
CREATE INDEX audit_log_actor_seq_idx ON audit_log (actor, seq);
CREATE INDEX audit_log_action_seq_idx ON audit_log (action, seq);

-- +goose Down
CREATE TABLE audit_log_old (
    id          TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    details     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    CONSTRAINT audit_log_actor_check CHECK (actor <> ''),
    CONSTRAINT audit_log_action_check CHECK (action <> ''),
    CONSTRAINT audit_log_reason_check CHECK (reason <> '')
) STRICT;
INSERT INTO audit_log_old (id, org_id, actor, action, object_type, object_id, reason, details, created_at)
SELECT id, org_id, actor, action, object_type, object_id, reason, details, created_at FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_old RENAME TO audit_log;
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, created_at);

DROP TABLE proposals;
DROP TABLE operator_sessions;
DROP TABLE operators;
