-- Offramp schema, SQLite flavour. migrations/postgres will carry the same
-- numbering with native types (uuid, timestamptz, boolean, jsonb).
--
-- Conventions:
--   * ids are UUID text; times are UTC text "YYYY-MM-DDTHH:MM:SS.ffffffZ"
--     (fixed width, so text order is time order); booleans are 0/1.
--   * every org-owned table has org_id, and child rows reference their
--     parent through (org_id, id), so a row can never point into another
--     organization.
--   * columns holding vault ciphertext ("v1:...") are marked "sealed"; they
--     are bound by AAD "<table>.<column>:<row id>" to their place. Their
--     *_index twins are HMAC blind indexes (NULL when the value is empty)
--     for equality lookups and uniqueness.
--   * STRICT tables: a wrong type is an error, not a silent conversion.

-- +goose Up
CREATE TABLE orgs (
    id                           TEXT    NOT NULL PRIMARY KEY,
    name                         TEXT    NOT NULL,
    env                          TEXT    NOT NULL,
    api_key                      TEXT    NOT NULL,
    api_secret                   TEXT    NOT NULL, -- sealed
    allow_js_replacer_signatures INTEGER NOT NULL DEFAULT 0,
    webhook_url                  TEXT    NOT NULL DEFAULT '',
    created_at                   TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX orgs_api_key_key ON orgs (api_key);

CREATE TABLE customers (
    id                   TEXT    NOT NULL PRIMARY KEY,
    org_id               TEXT    NOT NULL REFERENCES orgs (id),
    client_reference_id  TEXT    NOT NULL DEFAULT '',
    full_name            TEXT    NOT NULL, -- sealed
    email                TEXT    NOT NULL,
    phone                TEXT    NOT NULL,
    country              TEXT    NOT NULL DEFAULT '',
    non_residence_status INTEGER NOT NULL DEFAULT 0,
    residence_country    TEXT    NOT NULL DEFAULT '',
    status               TEXT    NOT NULL,
    failure_reason       TEXT    NOT NULL DEFAULT '',
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL,
    UNIQUE (org_id, id)
) STRICT;
CREATE UNIQUE INDEX customers_org_email_key ON customers (org_id, email);
CREATE UNIQUE INDEX customers_org_phone_key ON customers (org_id, phone);
CREATE UNIQUE INDEX customers_org_client_reference_id_key
    ON customers (org_id, client_reference_id) WHERE client_reference_id <> '';
CREATE INDEX customers_org_created_idx ON customers (org_id, created_at);

-- One row per customer who submitted KYC; no row means Customer.KYC == nil.
-- Identity numbers are indexed but not unique: the service decides, and a
-- customer may be reset and resubmit.
CREATE TABLE customer_kyc (
    customer_id                TEXT    NOT NULL PRIMARY KEY,
    org_id                     TEXT    NOT NULL,
    full_name                  TEXT    NOT NULL, -- sealed
    phone                      TEXT    NOT NULL DEFAULT '',
    full_address               TEXT    NOT NULL, -- sealed
    dob                        TEXT    NOT NULL, -- sealed
    registered_date            TEXT    NOT NULL DEFAULT '',
    tax_number                 TEXT    NOT NULL, -- sealed
    tax_number_index           TEXT,
    document_type              TEXT    NOT NULL DEFAULT '',
    document_front_image_url   TEXT    NOT NULL DEFAULT '',
    document_back_image_url    TEXT    NOT NULL DEFAULT '',
    document_number            TEXT    NOT NULL, -- sealed
    document_number_index      TEXT,
    document_additional_data   TEXT    NOT NULL, -- sealed JSON object
    selfie_url                 TEXT    NOT NULL DEFAULT '',
    selfie_verification_status INTEGER NOT NULL DEFAULT 0,
    additional_info            TEXT    NOT NULL, -- sealed JSON object
    update_count               INTEGER NOT NULL DEFAULT 0,
    attempt                    INTEGER NOT NULL DEFAULT 0,
    submitted_at               TEXT    NOT NULL,
    FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX customer_kyc_org_tax_number_idx ON customer_kyc (org_id, tax_number_index);
CREATE INDEX customer_kyc_org_document_number_idx ON customer_kyc (org_id, document_number_index);

CREATE TABLE bank_accounts (
    id                   TEXT NOT NULL PRIMARY KEY,
    org_id               TEXT NOT NULL,
    customer_id          TEXT NOT NULL,
    type                 TEXT NOT NULL,
    account_number       TEXT NOT NULL, -- sealed
    account_number_index TEXT,
    ifsc                 TEXT NOT NULL DEFAULT '',
    account_name         TEXT NOT NULL, -- sealed
    vpa                  TEXT NOT NULL, -- sealed
    vpa_index            TEXT,
    status               TEXT NOT NULL,
    failure_reason       TEXT NOT NULL DEFAULT '',
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id)
) STRICT;
-- NULL indexes (the value is empty) never collide, in SQLite and PostgreSQL.
CREATE UNIQUE INDEX bank_accounts_org_account_number_key ON bank_accounts (org_id, account_number_index);
CREATE UNIQUE INDEX bank_accounts_org_vpa_key ON bank_accounts (org_id, vpa_index);
CREATE INDEX bank_accounts_org_customer_idx ON bank_accounts (org_id, customer_id, type, created_at);

CREATE TABLE events (
    id                  TEXT    NOT NULL PRIMARY KEY,
    org_id              TEXT    NOT NULL REFERENCES orgs (id),
    object_type         TEXT    NOT NULL,
    object_id           TEXT    NOT NULL,
    event               TEXT    NOT NULL,
    sequence            INTEGER NOT NULL,
    client_reference_id TEXT    NOT NULL DEFAULT '',
    metadata            TEXT    NOT NULL DEFAULT '{}',
    created_at          TEXT    NOT NULL
) STRICT;
-- Also the backstop against two writers numbering the same event.
CREATE UNIQUE INDEX events_object_sequence_key ON events (org_id, object_type, object_id, sequence);

-- org_id has no foreign key: maintenance jobs may belong to no organization.
CREATE TABLE jobs (
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
CREATE INDEX jobs_run_at_idx ON jobs (run_at);

-- Single-use request signatures, stored as SHA-256 so the table is not a
-- list of valid signatures.
CREATE TABLE used_signatures (
    org_id         TEXT NOT NULL REFERENCES orgs (id),
    signature_hash TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    PRIMARY KEY (org_id, signature_hash)
) STRICT;
CREATE INDEX used_signatures_expires_at_idx ON used_signatures (expires_at);

-- +goose Down
DROP TABLE used_signatures;
DROP TABLE jobs;
DROP TABLE events;
DROP TABLE bank_accounts;
DROP TABLE customer_kyc;
DROP TABLE customers;
DROP TABLE orgs;
