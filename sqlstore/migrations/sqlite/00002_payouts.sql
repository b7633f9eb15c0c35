-- Payouts: quotations (rate locks), payouts, daily limit counters, EDD
-- submissions, idempotency records and the ledger. migrations/postgres will
-- carry the same numbering with native types (uuid, timestamptz, boolean,
-- numeric, jsonb).
--
-- Conventions, in addition to 00001's:
--   * amounts are exact decimal TEXT in plain notation ("4144.60",
--     "0.000001"), never REAL: written by sqlstore's decText, read back with
--     decimal.NewFromString. The digits after the point are kept as
--     written, as PostgreSQL's numeric keeps its scale.
--   * fees is a JSON object of such decimal strings, keyed by snake_case
--     field name ("client_fee_fiat", ...).
--   * a reference to a row written later in the same transaction (a
--     quotation's payout, an idempotency record's payout, a journal's
--     payout) is DEFERRABLE INITIALLY DEFERRED: it is checked at COMMIT,
--     so the service may write the rows in either order. A NULL reference
--     is "none" and not checked.

-- +goose Up

-- Composite foreign keys below point at (org_id, customer_id, id) of a
-- bank account, so that a quotation or payout can only use an account of
-- its own customer in its own organization. The parent key needs a unique
-- index; id alone is already unique, so this never rejects a row.
CREATE UNIQUE INDEX bank_accounts_org_customer_id_key ON bank_accounts (org_id, customer_id, id);

CREATE TABLE quotations (
    id               TEXT NOT NULL PRIMARY KEY,
    org_id           TEXT NOT NULL,
    customer_id      TEXT NOT NULL,
    bank_id          TEXT NOT NULL,
    asset            TEXT NOT NULL,
    fiat             TEXT NOT NULL,
    payment_method   TEXT NOT NULL,
    sending_amount   TEXT NOT NULL, -- decimal
    rate             TEXT NOT NULL, -- decimal
    gross_fiat       TEXT NOT NULL, -- decimal
    receiving_amount TEXT NOT NULL, -- decimal
    fees             TEXT NOT NULL, -- JSON object of decimals
    risk_parameters  TEXT NOT NULL, -- sealed JSON object (IP address, device id, reports)
    status           TEXT NOT NULL,
    payout_id        TEXT,          -- NULL until LINKED
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id),
    FOREIGN KEY (org_id, customer_id, bank_id) REFERENCES bank_accounts (org_id, customer_id, id),
    FOREIGN KEY (org_id, payout_id) REFERENCES payouts (org_id, id) DEFERRABLE INITIALLY DEFERRED
) STRICT;
-- A payout links at most one quotation (and LinkQuotation's compare-and-set
-- links a quotation at most once).
CREATE UNIQUE INDEX quotations_payout_id_key ON quotations (payout_id) WHERE payout_id IS NOT NULL;

CREATE TABLE payouts (
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
    -- The bank keys the transfer by it: unique across organizations, never
    -- empty, so a repeated submission cannot pay twice.
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
CREATE UNIQUE INDEX payouts_org_client_reference_id_key
    ON payouts (org_id, client_reference_id) WHERE client_reference_id <> '';
CREATE UNIQUE INDEX payouts_rail_reference_key ON payouts (rail_reference);
CREATE INDEX payouts_org_exchange_order_idx ON payouts (org_id, exchange_order_id);
CREATE INDEX payouts_org_created_idx ON payouts (org_id, created_at);
CREATE INDEX payouts_org_customer_created_idx ON payouts (org_id, customer_id, created_at);
-- The sweep for payouts still waiting for the exchange's transfer.
CREATE INDEX payouts_unlinked_idx ON payouts (created_at) WHERE exchange_transfer_id = '';

-- A running counter per customer and Asia/Kolkata day ("2006-01-02").
CREATE TABLE limit_usage (
    org_id      TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    day         TEXT NOT NULL,
    used        TEXT NOT NULL, -- decimal, never below zero
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (org_id, customer_id, day),
    FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id)
) STRICT;

CREATE TABLE edds (
    id                       TEXT    NOT NULL PRIMARY KEY,
    org_id                   TEXT    NOT NULL,
    customer_id              TEXT    NOT NULL,
    status                   TEXT    NOT NULL,
    source_of_income         TEXT    NOT NULL, -- sealed
    bank_statement_urls      TEXT    NOT NULL, -- sealed JSON array
    bank_statement_passwords TEXT    NOT NULL, -- sealed JSON array
    itr_report_urls          TEXT    NOT NULL, -- sealed JSON array
    itr_report_passwords     TEXT    NOT NULL, -- sealed JSON array
    declaration              INTEGER NOT NULL DEFAULT 0,
    failure_reason           TEXT    NOT NULL DEFAULT '',
    created_at               TEXT    NOT NULL,
    updated_at               TEXT    NOT NULL,
    FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id)
) STRICT;
CREATE INDEX edds_org_customer_created_idx ON edds (org_id, customer_id, created_at);

CREATE TABLE idempotency_keys (
    org_id       TEXT NOT NULL REFERENCES orgs (id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    payout_id    TEXT, -- NULL when the request created no payout
    err_code     TEXT NOT NULL DEFAULT '',
    err_message  TEXT NOT NULL DEFAULT '',
    err_fields   TEXT NOT NULL DEFAULT '{}', -- JSON object of string arrays
    created_at   TEXT NOT NULL,
    PRIMARY KEY (org_id, key),
    FOREIGN KEY (org_id, payout_id) REFERENCES payouts (org_id, id) DEFERRABLE INITIALLY DEFERRED
) STRICT;

-- Ledger. A journal is written once, with its postings, and never changed.
-- seq numbers journals in insertion order: journals are read ordered by
-- (created_at, seq), so journals with equal times keep their creation order.
CREATE TABLE journals (
    id         TEXT    NOT NULL PRIMARY KEY,
    org_id     TEXT    NOT NULL REFERENCES orgs (id),
    payout_id  TEXT, -- NULL for a journal of no payout
    kind       TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    created_at TEXT    NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, payout_id) REFERENCES payouts (org_id, id) DEFERRABLE INITIALLY DEFERRED
) STRICT;
CREATE UNIQUE INDEX journals_seq_key ON journals (seq);
CREATE INDEX journals_org_payout_idx ON journals (org_id, payout_id);
CREATE INDEX journals_created_idx ON journals (created_at, seq);

-- One line of a journal: positive amounts debit, negative ones credit.
CREATE TABLE postings (
    org_id     TEXT    NOT NULL,
    journal_id TEXT    NOT NULL,
    line       INTEGER NOT NULL, -- 1, 2, ... in the journal's order
    account    TEXT    NOT NULL,
    currency   TEXT    NOT NULL,
    amount     TEXT    NOT NULL, -- decimal
    PRIMARY KEY (journal_id, line),
    FOREIGN KEY (org_id, journal_id) REFERENCES journals (org_id, id)
) STRICT;
CREATE INDEX postings_account_idx ON postings (account, currency);

-- +goose Down
DROP TABLE postings;
DROP TABLE journals;
DROP TABLE idempotency_keys;
DROP TABLE edds;
DROP TABLE limit_usage;
-- payouts and quotations reference each other: cut the back reference
-- first, so that dropping payouts leaves no dangling one.
UPDATE quotations SET payout_id = NULL;
DROP TABLE payouts;
DROP TABLE quotations;
DROP INDEX bank_accounts_org_customer_id_key;
