-- Payouts: quotations (rate locks), payouts, daily limit counters, EDD
-- submissions, idempotency records and the ledger. PostgreSQL flavour of
-- migrations/sqlite/00002_payouts.sql: same tables, columns, constraints
-- and index names.
--
-- Conventions, in addition to 00001's:
--   * amounts are numeric without a declared scale: exact, and numeric keeps
--     the scale it was given, so "4144.60" reads back as 4144.60 (what
--     sqlstore documents for both engines). sqlstore writes and reads them
--     as decimal text, never as floating point.
--   * fees is a jsonb object of decimal strings, keyed by snake_case field
--     name ("client_fee_fiat", ...).
--   * a reference to a row written later in the same transaction (a
--     quotation's payout, an idempotency record's payout, a journal's
--     payout) is DEFERRABLE INITIALLY DEFERRED: it is checked at COMMIT,
--     so the service may write the rows in either order. A NULL reference
--     is "none" and not checked (MATCH SIMPLE).
--   * journals.seq is an identity column: concurrent writers number
--     journals without reading each other's rows.

-- +goose Up

-- Composite foreign keys below point at (org_id, customer_id, id) of a
-- bank account, so that a quotation or payout can only use an account of
-- its own customer in its own organization. The parent key needs a unique
-- index; id alone is already unique, so this never rejects a row.
CREATE UNIQUE INDEX bank_accounts_org_customer_id_key ON bank_accounts (org_id, customer_id, id);

-- quotations and payouts reference each other: the quotation's reference
-- to its payout is added once payouts exists.
CREATE TABLE quotations (
    id               uuid        NOT NULL PRIMARY KEY,
    org_id           uuid        NOT NULL,
    customer_id      uuid        NOT NULL,
    bank_id          uuid        NOT NULL,
    asset            text        NOT NULL,
    fiat             text        NOT NULL,
    payment_method   text        NOT NULL,
    sending_amount   numeric     NOT NULL,
    rate             numeric     NOT NULL,
    gross_fiat       numeric     NOT NULL,
    receiving_amount numeric     NOT NULL,
    fees             jsonb       NOT NULL, -- object of decimals
    risk_parameters  text        NOT NULL, -- sealed JSON object (IP address, device id, reports)
    status           text        NOT NULL,
    payout_id        uuid,                 -- NULL until LINKED
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id),
    FOREIGN KEY (org_id, customer_id, bank_id) REFERENCES bank_accounts (org_id, customer_id, id)
);
-- A payout links at most one quotation (and LinkQuotation's compare-and-set
-- links a quotation at most once).
CREATE UNIQUE INDEX quotations_payout_id_key ON quotations (payout_id) WHERE payout_id IS NOT NULL;

CREATE TABLE payouts (
    id                   uuid        NOT NULL PRIMARY KEY,
    org_id               uuid        NOT NULL,
    customer_id          uuid        NOT NULL,
    bank_id              uuid        NOT NULL,
    quotation_id         uuid        NOT NULL,
    client_reference_id  text        NOT NULL DEFAULT '',
    exchange_order_id    text        NOT NULL DEFAULT '',
    exchange_transfer_id text        NOT NULL DEFAULT '',
    asset                text        NOT NULL,
    fiat                 text        NOT NULL,
    payment_method       text        NOT NULL,
    sending_amount       numeric     NOT NULL,
    rate                 numeric     NOT NULL,
    gross_fiat           numeric     NOT NULL,
    receiving_amount     numeric     NOT NULL,
    fees                 jsonb       NOT NULL, -- object of decimals
    status               text        NOT NULL,
    phase                text        NOT NULL,
    -- The bank keys the transfer by it: unique across organizations, never
    -- empty, so a repeated submission cannot pay twice.
    rail_reference       text        NOT NULL CHECK (rail_reference <> ''),
    utr                  text        NOT NULL DEFAULT '',
    failure_reason       text        NOT NULL DEFAULT '',
    limit_day            text        NOT NULL DEFAULT '',
    inquiries            integer     NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id),
    FOREIGN KEY (org_id, customer_id, bank_id) REFERENCES bank_accounts (org_id, customer_id, id),
    FOREIGN KEY (org_id, quotation_id) REFERENCES quotations (org_id, id)
);
CREATE UNIQUE INDEX payouts_org_client_reference_id_key
    ON payouts (org_id, client_reference_id) WHERE client_reference_id <> '';
CREATE UNIQUE INDEX payouts_rail_reference_key ON payouts (rail_reference);
CREATE INDEX payouts_org_exchange_order_idx ON payouts (org_id, exchange_order_id);
CREATE INDEX payouts_org_created_idx ON payouts (org_id, created_at);
CREATE INDEX payouts_org_customer_created_idx ON payouts (org_id, customer_id, created_at);
-- The sweep for payouts still waiting for the exchange's transfer.
CREATE INDEX payouts_unlinked_idx ON payouts (created_at) WHERE exchange_transfer_id = '';

ALTER TABLE quotations ADD CONSTRAINT quotations_org_id_payout_id_fkey
    FOREIGN KEY (org_id, payout_id) REFERENCES payouts (org_id, id) DEFERRABLE INITIALLY DEFERRED;

-- A running counter per customer and Asia/Kolkata day ("2006-01-02").
CREATE TABLE limit_usage (
    org_id      uuid        NOT NULL,
    customer_id uuid        NOT NULL,
    day         text        NOT NULL,
    used        numeric     NOT NULL, -- never below zero
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (org_id, customer_id, day),
    FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id)
);

CREATE TABLE edds (
    id                       uuid        NOT NULL PRIMARY KEY,
    org_id                   uuid        NOT NULL,
    customer_id              uuid        NOT NULL,
    status                   text        NOT NULL,
    source_of_income         text        NOT NULL, -- sealed
    bank_statement_urls      text        NOT NULL, -- sealed JSON array
    bank_statement_passwords text        NOT NULL, -- sealed JSON array
    itr_report_urls          text        NOT NULL, -- sealed JSON array
    itr_report_passwords     text        NOT NULL, -- sealed JSON array
    declaration              boolean     NOT NULL DEFAULT false,
    failure_reason           text        NOT NULL DEFAULT '',
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id)
);
CREATE INDEX edds_org_customer_created_idx ON edds (org_id, customer_id, created_at);

CREATE TABLE idempotency_keys (
    org_id       uuid        NOT NULL REFERENCES orgs (id),
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    payout_id    uuid, -- NULL when the request created no payout
    err_code     text        NOT NULL DEFAULT '',
    err_message  text        NOT NULL DEFAULT '',
    err_fields   jsonb       NOT NULL DEFAULT '{}', -- object of string arrays
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (org_id, key),
    FOREIGN KEY (org_id, payout_id) REFERENCES payouts (org_id, id) DEFERRABLE INITIALLY DEFERRED
);

-- Ledger. A journal is written once, with its postings, and never changed.
-- seq numbers journals in insertion order: journals are read ordered by
-- (created_at, seq), so journals with equal times keep their creation order.
CREATE TABLE journals (
    id         uuid        NOT NULL PRIMARY KEY,
    org_id     uuid        NOT NULL REFERENCES orgs (id),
    payout_id  uuid, -- NULL for a journal of no payout
    kind       text        NOT NULL,
    seq        bigint      GENERATED BY DEFAULT AS IDENTITY,
    created_at timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, payout_id) REFERENCES payouts (org_id, id) DEFERRABLE INITIALLY DEFERRED
);
CREATE UNIQUE INDEX journals_seq_key ON journals (seq);
CREATE INDEX journals_org_payout_idx ON journals (org_id, payout_id);
CREATE INDEX journals_created_idx ON journals (created_at, seq);

-- One line of a journal: positive amounts debit, negative ones credit.
CREATE TABLE postings (
    org_id     uuid        NOT NULL,
    journal_id uuid        NOT NULL,
    line       integer     NOT NULL, -- 1, 2, ... in the journal's order
    account    text        NOT NULL,
    currency   text        NOT NULL,
    amount     numeric     NOT NULL,
    PRIMARY KEY (journal_id, line),
    FOREIGN KEY (org_id, journal_id) REFERENCES journals (org_id, id)
);
CREATE INDEX postings_account_idx ON postings (account, currency);

-- +goose Down
DROP TABLE postings;
DROP TABLE journals;
DROP TABLE idempotency_keys;
DROP TABLE edds;
DROP TABLE limit_usage;
ALTER TABLE quotations DROP CONSTRAINT quotations_org_id_payout_id_fkey;
DROP TABLE payouts;
DROP TABLE quotations;
DROP INDEX bank_accounts_org_customer_id_key;
