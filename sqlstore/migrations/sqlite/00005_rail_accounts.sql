-- What a payout provider calls a beneficiary (a RazorpayX contact and fund
-- account), created once per bank account and remembered, so that every
-- payout to the account reuses it. The ids are the provider's, not
-- personal data; the bank account they stand for is sealed in
-- bank_accounts.

-- +goose Up
-- The parent key of rail_accounts' foreign key; id alone is already
-- unique, so this never refuses a row.
CREATE UNIQUE INDEX bank_accounts_org_id_key ON bank_accounts (org_id, id);

CREATE TABLE rail_accounts (
    provider   TEXT NOT NULL,
    org_id     TEXT NOT NULL,
    bank_id    TEXT NOT NULL,
    contact_id TEXT NOT NULL DEFAULT '',
    account_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (provider, org_id, bank_id),
    FOREIGN KEY (org_id, bank_id) REFERENCES bank_accounts (org_id, id),
    CONSTRAINT rail_accounts_provider_check CHECK (provider <> ''),
    CONSTRAINT rail_accounts_account_check CHECK (account_id <> '')
) STRICT;

-- Operators list the submissions waiting for a decision across
-- organizations (offramp admin kyc pending, admin banks pending).
CREATE INDEX customers_status_updated_idx ON customers (status, updated_at, id);
CREATE INDEX bank_accounts_status_updated_idx ON bank_accounts (status, updated_at, id);

-- +goose Down
DROP INDEX bank_accounts_status_updated_idx;
DROP INDEX customers_status_updated_idx;
DROP TABLE rail_accounts;
DROP INDEX bank_accounts_org_id_key;
