-- The audit chain is linked after commit on PostgreSQL (see
-- migrations/postgres/00009): an entry may sit unchained, with seq,
-- prev_hash and hash all NULL, until sqlstore chains it.
--
-- SQLite has one writer, so AppendAudit keeps chaining inside the
-- appending transaction and no row here is ever unchained. The schema
-- still follows PostgreSQL's, so that both engines have the same versions
-- and the same tables, NOT NULL columns and index names
-- (TestMigrationsInStep): the chain columns become nullable, with the same
-- named CHECK (all three NULL or all three set) and the same partial
-- index, and append_order is added (PostgreSQL's chaining order, from a
-- sequence there; always NULL here, where rows are chained on insert). 00006's checks and the legacy convention (seq > 0, prev_hash =
-- hash = '') are unchanged.
--
-- SQLite cannot drop NOT NULL, so audit_log is rebuilt the documented way,
-- as in 00006 (no foreign key refers to audit_log). Down rebuilds it with
-- NOT NULL again, refused by the named CHECK migration_00009_all_chained
-- if a row is unchained (which SQLite never writes; a copy of a
-- PostgreSQL database might hold one).
--
-- Constraint and index names are those of migrations/postgres.

-- +goose Up
CREATE TABLE audit_log_new (
    id          TEXT    NOT NULL PRIMARY KEY,
    org_id      TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    object_type TEXT    NOT NULL,
    object_id   TEXT    NOT NULL,
    reason      TEXT    NOT NULL, -- vault ciphertext
    details     TEXT    NOT NULL, -- vault ciphertext
    created_at  TEXT    NOT NULL,
    seq         INTEGER,          -- NULL together with prev_hash and hash: unchained
    prev_hash   TEXT,
    hash        TEXT,
    append_order INTEGER,         -- PostgreSQL's chaining order; NULL here
    CONSTRAINT audit_log_actor_check CHECK (actor <> ''),
    CONSTRAINT audit_log_action_check CHECK (action <> ''),
    CONSTRAINT audit_log_reason_check CHECK (reason <> ''),
    CONSTRAINT audit_log_seq_check CHECK (seq > 0),
    -- A legacy row (hash = '') has no predecessor in the chain either.
    CONSTRAINT audit_log_chain_check CHECK (hash <> '' OR prev_hash = ''),
    CONSTRAINT audit_log_chain_fields_check
        CHECK ((seq IS NULL) = (prev_hash IS NULL) AND (seq IS NULL) = (hash IS NULL)
            AND (seq IS NOT NULL OR append_order IS NOT NULL))
) STRICT;
INSERT INTO audit_log_new (id, org_id, actor, action, object_type, object_id, reason, details, created_at, seq, prev_hash, hash)
SELECT id, org_id, actor, action, object_type, object_id, reason, details, created_at, seq, prev_hash, hash
FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, created_at);
CREATE UNIQUE INDEX audit_log_seq_key ON audit_log (seq);
CREATE INDEX audit_log_actor_seq_idx ON audit_log (actor, seq);
CREATE INDEX audit_log_action_seq_idx ON audit_log (action, seq);
CREATE INDEX audit_log_unchained_idx ON audit_log (append_order) WHERE seq IS NULL;

-- +goose Down
CREATE TEMP TABLE migration_00009_down_check (
    unchained INTEGER NOT NULL
        CONSTRAINT migration_00009_all_chained CHECK (unchained = 0));
INSERT INTO migration_00009_down_check SELECT COUNT(*) FROM audit_log WHERE seq IS NULL;
DROP TABLE migration_00009_down_check;

CREATE TABLE audit_log_old (
    id          TEXT    NOT NULL PRIMARY KEY,
    org_id      TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    object_type TEXT    NOT NULL,
    object_id   TEXT    NOT NULL,
    reason      TEXT    NOT NULL, -- vault ciphertext
    details     TEXT    NOT NULL, -- vault ciphertext
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
INSERT INTO audit_log_old (id, org_id, actor, action, object_type, object_id, reason, details, created_at, seq, prev_hash, hash)
SELECT id, org_id, actor, action, object_type, object_id, reason, details, created_at, seq, prev_hash, hash
FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_old RENAME TO audit_log;
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, created_at);
CREATE UNIQUE INDEX audit_log_seq_key ON audit_log (seq);
CREATE INDEX audit_log_actor_seq_idx ON audit_log (actor, seq);
CREATE INDEX audit_log_action_seq_idx ON audit_log (action, seq);
