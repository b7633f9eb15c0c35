-- Offramp schema, PostgreSQL flavour: the same tables, columns, constraints
-- and index names as migrations/sqlite, numbered alike, with native types.
--
-- Conventions (as 00001 of SQLite, with these types):
--   * ids are uuid; times are timestamptz (sqlstore writes UTC, truncated to
--     microseconds, PostgreSQL's precision); booleans are boolean; JSON that
--     is not sealed is jsonb.
--   * every org-owned table has org_id, and child rows reference their
--     parent through (org_id, id), so a row can never point into another
--     organization.
--   * columns holding vault ciphertext ("v1:...") are marked "sealed"; they
--     are text, bound by AAD "<table>.<column>:<row id>" to their place.
--     Their *_index twins are HMAC blind indexes (NULL when the value is
--     empty) for equality lookups and uniqueness.
--   * index names are the SQLite ones: sqlstore maps a unique violation to
--     the documented conflict by the index name (dialect postgres).

-- +goose Up
CREATE TABLE orgs (
    id                           uuid        NOT NULL PRIMARY KEY,
    name                         text        NOT NULL,
    env                          text        NOT NULL,
    api_key                      text        NOT NULL,
    api_secret                   text        NOT NULL, -- sealed
    allow_js_replacer_signatures boolean     NOT NULL DEFAULT false,
    webhook_url                  text        NOT NULL DEFAULT '',
    created_at                   timestamptz NOT NULL
);
CREATE UNIQUE INDEX orgs_api_key_key ON orgs (api_key);

CREATE TABLE customers (
    id                   uuid        NOT NULL PRIMARY KEY,
    org_id               uuid        NOT NULL REFERENCES orgs (id),
    client_reference_id  text        NOT NULL DEFAULT '',
    full_name            text        NOT NULL, -- sealed
    email                text        NOT NULL,
    phone                text        NOT NULL,
    country              text        NOT NULL DEFAULT '',
    non_residence_status boolean     NOT NULL DEFAULT false,
    residence_country    text        NOT NULL DEFAULT '',
    status               text        NOT NULL,
    failure_reason       text        NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    UNIQUE (org_id, id)
);
CREATE UNIQUE INDEX customers_org_email_key ON customers (org_id, email);
CREATE UNIQUE INDEX customers_org_phone_key ON customers (org_id, phone);
CREATE UNIQUE INDEX customers_org_client_reference_id_key
    ON customers (org_id, client_reference_id) WHERE client_reference_id <> '';
CREATE INDEX customers_org_created_idx ON customers (org_id, created_at);

-- One row per customer who submitted KYC; no row means Customer.KYC == nil.
-- Identity numbers are indexed but not unique: the service decides, and a
-- customer may be reset and resubmit.
CREATE TABLE customer_kyc (
    customer_id                uuid        NOT NULL PRIMARY KEY,
    org_id                     uuid        NOT NULL,
    full_name                  text        NOT NULL, -- sealed
    phone                      text        NOT NULL DEFAULT '',
    full_address               text        NOT NULL, -- sealed
    dob                        text        NOT NULL, -- sealed
    registered_date            text        NOT NULL DEFAULT '',
    tax_number                 text        NOT NULL, -- sealed
    tax_number_index           text,
    document_type              text        NOT NULL DEFAULT '',
    document_front_image_url   text        NOT NULL DEFAULT '',
    document_back_image_url    text        NOT NULL DEFAULT '',
    document_number            text        NOT NULL, -- sealed
    document_number_index      text,
    document_additional_data   text        NOT NULL, -- sealed JSON object
    selfie_url                 text        NOT NULL DEFAULT '',
    selfie_verification_status boolean     NOT NULL DEFAULT false,
    additional_info            text        NOT NULL, -- sealed JSON object
    update_count               integer     NOT NULL DEFAULT 0,
    attempt                    integer     NOT NULL DEFAULT 0,
    submitted_at               timestamptz NOT NULL,
    FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_kyc_org_tax_number_idx ON customer_kyc (org_id, tax_number_index);
CREATE INDEX customer_kyc_org_document_number_idx ON customer_kyc (org_id, document_number_index);

CREATE TABLE bank_accounts (
    id                   uuid        NOT NULL PRIMARY KEY,
    org_id               uuid        NOT NULL,
    customer_id          uuid        NOT NULL,
    type                 text        NOT NULL,
    account_number       text        NOT NULL, -- sealed
    account_number_index text,
    ifsc                 text        NOT NULL DEFAULT '',
    account_name         text        NOT NULL, -- sealed
    vpa                  text        NOT NULL, -- sealed
    vpa_index            text,
    status               text        NOT NULL,
    failure_reason       text        NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id)
);
-- NULL indexes (the value is empty) never collide, in SQLite and PostgreSQL.
CREATE UNIQUE INDEX bank_accounts_org_account_number_key ON bank_accounts (org_id, account_number_index);
CREATE UNIQUE INDEX bank_accounts_org_vpa_key ON bank_accounts (org_id, vpa_index);
CREATE INDEX bank_accounts_org_customer_idx ON bank_accounts (org_id, customer_id, type, created_at);

CREATE TABLE events (
    id                  uuid        NOT NULL PRIMARY KEY,
    org_id              uuid        NOT NULL REFERENCES orgs (id),
    object_type         text        NOT NULL,
    object_id           uuid        NOT NULL,
    event               text        NOT NULL,
    sequence            bigint      NOT NULL,
    client_reference_id text        NOT NULL DEFAULT '',
    metadata            jsonb       NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL
);
-- Also the backstop against two writers numbering the same event: on
-- PostgreSQL a violation of it makes Update run its function again.
CREATE UNIQUE INDEX events_object_sequence_key ON events (org_id, object_type, object_id, sequence);

-- org_id has no foreign key: maintenance jobs may belong to no organization.
-- Claims update the lease in place: leave room on each page for the new
-- row version (a HOT update, which touches no index).
CREATE TABLE jobs (
    id          uuid        NOT NULL PRIMARY KEY,
    org_id      uuid        NOT NULL,
    kind        text        NOT NULL,
    ref_id      uuid        NOT NULL,
    seq         bigint      NOT NULL DEFAULT 0,
    run_at      timestamptz NOT NULL,
    attempts    integer     NOT NULL DEFAULT 0,
    last_error  text        NOT NULL DEFAULT '',
    lease_owner text,
    lease_until timestamptz,
    created_at  timestamptz NOT NULL
) WITH (fillfactor = 70);
CREATE INDEX jobs_run_at_idx ON jobs (run_at);

-- Single-use request signatures, stored as SHA-256 so the table is not a
-- list of valid signatures.
CREATE TABLE used_signatures (
    org_id         uuid        NOT NULL REFERENCES orgs (id),
    signature_hash text        NOT NULL,
    expires_at     timestamptz NOT NULL,
    PRIMARY KEY (org_id, signature_hash)
);
CREATE INDEX used_signatures_expires_at_idx ON used_signatures (expires_at);

-- +goose Down
DROP TABLE used_signatures;
DROP TABLE jobs;
DROP TABLE events;
DROP TABLE bank_accounts;
DROP TABLE customer_kyc;
DROP TABLE customers;
DROP TABLE orgs;
