-- Lists in O(page), not O(history) (see sqlstore's pageArgs).
--
-- list_counts keeps the count of each unfiltered list of an organization
-- (list 'payouts', 'customers', 'deliveries': its webhook deliveries), so
-- that a page does not count the organization's whole history. A count is
-- the SUM of n over the list's rows, one per bucket. Triggers add 1 in the
-- transaction of every insert, whichever code path inserts; rows of these
-- tables are never deleted. SQLite has a single writer, so every insert
-- adds to bucket 0; PostgreSQL spreads concurrent inserts over 32 buckets
-- (see migrations/postgres). The backfill counts the existing rows.
--
-- A migration that rebuilds payouts, customers or webhook_deliveries (the
-- CREATE ..._new, copy, DROP, RENAME way) drops the table's trigger with
-- the table: it must create it again, and its copy must not count twice.
--
-- The list indexes end in the sort key (created_at, id), so a page read by
-- keyset from a cursor, WHERE (created_at, id) < (?, ?) ORDER BY
-- created_at DESC, id DESC LIMIT ?, is one index range read in order,
-- without a sort: they are rebuilt with id (event_id) appended, under
-- their names. payouts_org_status_created_idx is new: the status filter of
-- the payout history had no index of its own.
--
-- Constraint and index names are those of migrations/postgres.

-- +goose Up
CREATE TABLE list_counts (
    org_id TEXT    NOT NULL REFERENCES orgs (id),
    list   TEXT    NOT NULL,
    bucket INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (org_id, list, bucket),
    CONSTRAINT list_counts_list_check CHECK (list IN ('payouts', 'customers', 'deliveries')),
    CONSTRAINT list_counts_bucket_check CHECK (bucket >= 0 AND bucket < 32),
    CONSTRAINT list_counts_n_check CHECK (n >= 0)
) STRICT, WITHOUT ROWID;

-- +goose StatementBegin
CREATE TRIGGER payouts_list_count AFTER INSERT ON payouts BEGIN
    INSERT INTO list_counts (org_id, list, bucket, n) VALUES (NEW.org_id, 'payouts', 0, 1)
    ON CONFLICT (org_id, list, bucket) DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER customers_list_count AFTER INSERT ON customers BEGIN
    INSERT INTO list_counts (org_id, list, bucket, n) VALUES (NEW.org_id, 'customers', 0, 1)
    ON CONFLICT (org_id, list, bucket) DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER webhook_deliveries_list_count AFTER INSERT ON webhook_deliveries BEGIN
    INSERT INTO list_counts (org_id, list, bucket, n) VALUES (NEW.org_id, 'deliveries', 0, 1)
    ON CONFLICT (org_id, list, bucket) DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd

INSERT INTO list_counts (org_id, list, bucket, n)
SELECT org_id, 'payouts', 0, COUNT(*) FROM payouts GROUP BY org_id;
INSERT INTO list_counts (org_id, list, bucket, n)
SELECT org_id, 'customers', 0, COUNT(*) FROM customers GROUP BY org_id;
INSERT INTO list_counts (org_id, list, bucket, n)
SELECT org_id, 'deliveries', 0, COUNT(*) FROM webhook_deliveries GROUP BY org_id;

DROP INDEX payouts_org_created_idx;
CREATE INDEX payouts_org_created_idx ON payouts (org_id, created_at, id);
DROP INDEX payouts_org_customer_created_idx;
CREATE INDEX payouts_org_customer_created_idx ON payouts (org_id, customer_id, created_at, id);
CREATE INDEX payouts_org_status_created_idx ON payouts (org_id, status, created_at, id);
DROP INDEX customers_org_created_idx;
CREATE INDEX customers_org_created_idx ON customers (org_id, created_at, id);
DROP INDEX webhook_deliveries_org_created;
CREATE INDEX webhook_deliveries_org_created ON webhook_deliveries (org_id, created_at, event_id);
DROP INDEX webhook_deliveries_org_state;
CREATE INDEX webhook_deliveries_org_state ON webhook_deliveries (org_id, state, created_at, event_id);

-- +goose Down
DROP INDEX webhook_deliveries_org_state;
CREATE INDEX webhook_deliveries_org_state ON webhook_deliveries (org_id, state, created_at);
DROP INDEX webhook_deliveries_org_created;
CREATE INDEX webhook_deliveries_org_created ON webhook_deliveries (org_id, created_at);
DROP INDEX customers_org_created_idx;
CREATE INDEX customers_org_created_idx ON customers (org_id, created_at);
DROP INDEX payouts_org_status_created_idx;
DROP INDEX payouts_org_customer_created_idx;
CREATE INDEX payouts_org_customer_created_idx ON payouts (org_id, customer_id, created_at);
DROP INDEX payouts_org_created_idx;
CREATE INDEX payouts_org_created_idx ON payouts (org_id, created_at);

DROP TRIGGER webhook_deliveries_list_count;
DROP TRIGGER customers_list_count;
DROP TRIGGER payouts_list_count;
DROP TABLE list_counts;
