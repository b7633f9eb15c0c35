-- Several API keys per organization, so that a key rotates without
-- downtime: create a second key, move the clients over, revoke the first.
-- orgs.api_key and orgs.api_secret move into api_keys (one row per key,
-- live or revoked, never deleted) and leave orgs: a key lives in one place.
--
-- The sealed secrets move without being decrypted, since SQL cannot seal.
-- Every api_keys.api_secret is sealed under the AAD
-- "orgs.api_secret:<key id>" (sqlstore's sealedTables says so), and each
-- organization's existing key becomes the api_keys row whose id is the
-- organization's id: its ciphertext, sealed under "orgs.api_secret:<org
-- id>" when it lived in orgs, opens where it now lives, while a ciphertext
-- copied into any other row or column still fails to open.
--
-- SQLite cannot drop a column that an index covers, but orgs.api_key's
-- uniqueness is a separate index (orgs_api_key_key, from 00001), not a
-- column constraint: dropping that index first lets ALTER TABLE DROP
-- COLUMN (SQLite 3.35+) remove both columns without rebuilding orgs, which
-- half the schema references.
--
-- Down puts each organization's original key (the row whose id is the
-- organization's) back into orgs. An organization whose original key was
-- revoked cannot go down: its live keys are sealed under their own ids,
-- which the code before 00008 cannot open. The named CHECK
-- migration_00008_original_keys_live then refuses the Down, leaving the
-- database at 00008, rather than leave an organization unable to sign.
-- Keys created since 00008 are dropped by the Down.
--
-- Constraint and index names are those of migrations/postgres.

-- +goose Up
CREATE TABLE api_keys (
    id           TEXT NOT NULL PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id),
    api_key      TEXT NOT NULL,
    api_secret   TEXT NOT NULL, -- sealed, AAD "orgs.api_secret:<id>"
    label        TEXT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    last_used_at TEXT,          -- NULL: never used
    revoked_at   TEXT,          -- NULL: live
    revoked_by   TEXT NOT NULL DEFAULT '',
    CONSTRAINT api_keys_api_key_check CHECK (api_key <> ''),
    -- What an operator reads in a listing: a name, not an essay.
    CONSTRAINT api_keys_label_check CHECK (label <> '' AND length(label) <= 100),
    -- A revoked key says who revoked it; a live one names nobody.
    CONSTRAINT api_keys_revoked_by_check CHECK ((revoked_at IS NULL) = (revoked_by = '')),
    CONSTRAINT api_keys_revoked_at_check CHECK (revoked_at IS NULL OR revoked_at >= created_at)
) STRICT;
-- Authentication: one key names one organization, revoked keys included,
-- so a revoked key can never be issued again to anyone.
CREATE UNIQUE INDEX api_keys_api_key_key ON api_keys (api_key);
-- An organization's keys, oldest first (listing, the signing key).
CREATE INDEX api_keys_org_created_idx ON api_keys (org_id, created_at, id);

INSERT INTO api_keys (id, org_id, api_key, api_secret, label, created_by, created_at)
SELECT id, id, api_key, api_secret, 'primary', 'migration', created_at FROM orgs;

DROP INDEX orgs_api_key_key;
ALTER TABLE orgs DROP COLUMN api_key;
ALTER TABLE orgs DROP COLUMN api_secret;

-- +goose Down
CREATE TEMP TABLE migration_00008_down_check (
    orgs_without_original_key INTEGER NOT NULL
        CONSTRAINT migration_00008_original_keys_live CHECK (orgs_without_original_key = 0));
INSERT INTO migration_00008_down_check
SELECT COUNT(*) FROM orgs
WHERE NOT EXISTS (SELECT 1 FROM api_keys AS k WHERE k.id = orgs.id AND k.org_id = orgs.id AND k.revoked_at IS NULL);
DROP TABLE migration_00008_down_check;

-- ADD COLUMN needs a default for NOT NULL; every row gets its value below.
ALTER TABLE orgs ADD COLUMN api_key TEXT NOT NULL DEFAULT '';
ALTER TABLE orgs ADD COLUMN api_secret TEXT NOT NULL DEFAULT '';
UPDATE orgs SET (api_key, api_secret) = (SELECT k.api_key, k.api_secret FROM api_keys AS k WHERE k.id = orgs.id);
CREATE UNIQUE INDEX orgs_api_key_key ON orgs (api_key);
DROP TABLE api_keys;
