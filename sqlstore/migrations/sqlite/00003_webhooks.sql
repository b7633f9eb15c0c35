-- Webhooks: the delivery outbox and its attempt log. A delivery row is
-- written in the same transaction as the deliverable event it carries, so
-- no status change can commit without its webhook being queued.

-- +goose Up
ALTER TABLE orgs ADD COLUMN webhook_disabled INTEGER NOT NULL DEFAULT 0;

CREATE TABLE webhook_deliveries (
    event_id         TEXT    NOT NULL PRIMARY KEY REFERENCES events (id),
    org_id           TEXT    NOT NULL REFERENCES orgs (id),
    state            TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT    NOT NULL DEFAULT '',
    delivered_at     TEXT,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
) STRICT;
CREATE INDEX webhook_deliveries_org_created ON webhook_deliveries (org_id, created_at);
CREATE INDEX webhook_deliveries_org_state ON webhook_deliveries (org_id, state, created_at);

CREATE TABLE webhook_attempts (
    event_id    TEXT    NOT NULL REFERENCES webhook_deliveries (event_id),
    org_id      TEXT    NOT NULL,
    number      INTEGER NOT NULL,
    at          TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    latency_us  INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (event_id, number)
) STRICT;

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
ALTER TABLE orgs DROP COLUMN webhook_disabled;
