-- Webhooks: the delivery outbox and its attempt log. A delivery row is
-- written in the same transaction as the deliverable event it carries, so
-- no status change can commit without its webhook being queued.
-- PostgreSQL flavour of migrations/sqlite/00003_webhooks.sql.

-- +goose Up
ALTER TABLE orgs ADD COLUMN webhook_disabled boolean NOT NULL DEFAULT false;

CREATE TABLE webhook_deliveries (
    event_id         uuid        NOT NULL PRIMARY KEY REFERENCES events (id),
    org_id           uuid        NOT NULL REFERENCES orgs (id),
    state            text        NOT NULL,
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    last_status_code integer     NOT NULL DEFAULT 0,
    last_error       text        NOT NULL DEFAULT '',
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX webhook_deliveries_org_created ON webhook_deliveries (org_id, created_at);
CREATE INDEX webhook_deliveries_org_state ON webhook_deliveries (org_id, state, created_at);

CREATE TABLE webhook_attempts (
    event_id    uuid        NOT NULL REFERENCES webhook_deliveries (event_id),
    org_id      uuid        NOT NULL,
    number      integer     NOT NULL,
    at          timestamptz NOT NULL,
    url         text        NOT NULL,
    status_code integer     NOT NULL DEFAULT 0,
    latency_us  bigint      NOT NULL DEFAULT 0,
    error       text        NOT NULL DEFAULT '',
    PRIMARY KEY (event_id, number)
);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
ALTER TABLE orgs DROP COLUMN webhook_disabled;
