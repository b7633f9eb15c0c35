-- The audit chain is linked after commit (sqlstore ChainAudit), not inside
-- the transaction that appends the entry.
--
-- Until now AppendAudit read the last entry and inserted seq + 1 in the
-- appending transaction. On PostgreSQL every SERIALIZABLE transaction that
-- appended read the same head and collided with every other (unique seq or
-- a serialization failure): one hot spot for all payout status changes,
-- which each append an entry. Now the entry is inserted unchained (seq,
-- prev_hash and hash all NULL), which reads nothing; after the commit a
-- short READ COMMITTED transaction under an advisory lock numbers and
-- hashes the unchained rows in append_order. Rows whose chaining failed
-- stay NULL until the next run (after any later Update that appends, at
-- Migrate, or `offramp admin audit verify`).
--
-- append_order is taken from a sequence when a row is inserted (the
-- column default): the order the entries were appended in, within a
-- transaction too, as SQLite chains them. A sequence is not
-- transactional, so appenders do not conflict on it. Rows from before
-- 00009 keep NULL; they are chained already.
--
-- Three states a row can be in:
--   - chained: seq > 0, prev_hash and hash set (hash <> '');
--   - legacy (from before 00006, see its header): seq > 0, prev_hash =
--     hash = '', always before the first chained row;
--   - unchained (new here): seq, prev_hash and hash all NULL.
-- audit_log_chain_fields_check allows exactly these: the three columns are
-- NULL together or set together, and an unchained row has an
-- append_order (the chainer's order). 00006's checks still hold as written:
-- audit_log_seq_check (seq > 0) and audit_log_chain_check (hash <> '' OR
-- prev_hash = '') pass on NULL, and keep the legacy convention for set
-- rows. The defaults ('') go, so a row inserted without chain fields is
-- unchained rather than a malformed legacy row. audit_log_seq_key stays:
-- NULLs do not collide in a unique index.
--
-- Down restores NOT NULL, which needs every row chained; SQL cannot chain
-- (the hash covers the sealed reason and details). The named CHECK
-- migration_00009_all_chained then refuses the Down, leaving the database
-- at 00009: run `offramp admin audit verify` (which chains first) and try
-- again.
--
-- Constraint and index names are those of migrations/sqlite.

-- +goose Up
ALTER TABLE audit_log
    ALTER COLUMN seq DROP NOT NULL,
    ALTER COLUMN prev_hash DROP NOT NULL,
    ALTER COLUMN prev_hash DROP DEFAULT,
    ALTER COLUMN hash DROP NOT NULL,
    ALTER COLUMN hash DROP DEFAULT;
-- Added without a default, so the rows already here stay NULL (and the
-- table is not rewritten); the default applies to new rows.
ALTER TABLE audit_log ADD COLUMN append_order bigint;
CREATE SEQUENCE audit_log_append_order_seq OWNED BY audit_log.append_order;
ALTER TABLE audit_log ALTER COLUMN append_order SET DEFAULT nextval('audit_log_append_order_seq');
ALTER TABLE audit_log ADD CONSTRAINT audit_log_chain_fields_check
    CHECK ((seq IS NULL) = (prev_hash IS NULL) AND (seq IS NULL) = (hash IS NULL)
        AND (seq IS NOT NULL OR append_order IS NOT NULL));
-- The chainer's queue, in chain order; empty but for the moment between a
-- commit and its chaining.
CREATE INDEX audit_log_unchained_idx ON audit_log (append_order) WHERE seq IS NULL;

-- +goose Down
CREATE TEMP TABLE migration_00009_down_check (
    unchained integer NOT NULL
        CONSTRAINT migration_00009_all_chained CHECK (unchained = 0));
INSERT INTO migration_00009_down_check SELECT COUNT(*) FROM audit_log WHERE seq IS NULL;
DROP TABLE migration_00009_down_check;

DROP INDEX audit_log_unchained_idx;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_chain_fields_check;
ALTER TABLE audit_log DROP COLUMN append_order; -- drops its sequence too
ALTER TABLE audit_log
    ALTER COLUMN seq SET NOT NULL,
    ALTER COLUMN prev_hash SET DEFAULT '',
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN hash SET DEFAULT '',
    ALTER COLUMN hash SET NOT NULL;
