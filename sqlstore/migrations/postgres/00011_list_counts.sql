-- Lists in O(page), not O(history) (see sqlstore's pageArgs).
-- PostgreSQL flavour of migrations/sqlite/00011_list_counts.sql.
--
-- list_counts keeps the count of each unfiltered list of an organization
-- (list 'payouts', 'customers', 'deliveries': its webhook deliveries), so
-- that a page does not count the organization's whole history. A count is
-- the SUM of n over the list's rows, one per bucket. Triggers add 1 in the
-- transaction of every insert, whichever code path inserts; rows of these
-- tables are never deleted.
--
-- Updates are SERIALIZABLE and run concurrently: with one counter row per
-- organization, two transactions inserting payouts of one organization
-- would update the same row, and the second to commit would abort
-- (could not serialize access due to concurrent update). The bucket is the
-- last byte of the new row's id (random in a v4 or v7 UUID) modulo 32, so
-- concurrent inserts mostly update different rows; the rare collision is
-- retried by sqlstore like any serialization failure. Nothing that runs
-- SERIALIZABLE reads list_counts (Views are REPEATABLE READ), so the
-- counter rows take part in no read-write conflict. fillfactor leaves
-- room on each page for HOT updates of n.
--
-- The triggers are created before the backfill: CREATE TRIGGER waits for
-- the transactions inserting into the table to end and keeps new ones
-- waiting until this migration commits, so the backfill's count and the
-- triggers' together count every row exactly once.
--
-- The list indexes end in the sort key (created_at, id), so a page read by
-- keyset from a cursor, WHERE (created_at, id) < (?, ?) ORDER BY
-- created_at DESC, id DESC LIMIT ?, is one index range read in order,
-- without a sort: each is built anew with id (event_id) appended, then
-- takes the old one's name (reads go on during the build; writes to the
-- table wait). payouts_org_status_created_idx is new: the status filter of
-- the payout history had no index of its own.
--
-- Constraint and index names are those of migrations/sqlite.

-- +goose Up
CREATE TABLE list_counts (
    org_id uuid    NOT NULL REFERENCES orgs (id),
    list   text    NOT NULL,
    bucket integer NOT NULL,
    n      bigint  NOT NULL,
    PRIMARY KEY (org_id, list, bucket),
    CONSTRAINT list_counts_list_check CHECK (list IN ('payouts', 'customers', 'deliveries')),
    CONSTRAINT list_counts_bucket_check CHECK (bucket >= 0 AND bucket < 32),
    CONSTRAINT list_counts_n_check CHECK (n >= 0)
) WITH (fillfactor = 50);

-- TG_ARGV[0] names the list.
-- +goose StatementBegin
CREATE FUNCTION list_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key uuid;
BEGIN
    IF TG_TABLE_NAME = 'webhook_deliveries' THEN
        key := NEW.event_id;
    ELSE
        key := NEW.id;
    END IF;
    INSERT INTO list_counts AS c (org_id, list, bucket, n)
    VALUES (NEW.org_id, TG_ARGV[0], get_byte(uuid_send(key), 15) % 32, 1)
    ON CONFLICT (org_id, list, bucket) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER payouts_list_count AFTER INSERT ON payouts
    FOR EACH ROW EXECUTE FUNCTION list_counts_add('payouts');
CREATE TRIGGER customers_list_count AFTER INSERT ON customers
    FOR EACH ROW EXECUTE FUNCTION list_counts_add('customers');
CREATE TRIGGER webhook_deliveries_list_count AFTER INSERT ON webhook_deliveries
    FOR EACH ROW EXECUTE FUNCTION list_counts_add('deliveries');

INSERT INTO list_counts (org_id, list, bucket, n)
SELECT org_id, 'payouts', get_byte(uuid_send(id), 15) % 32, COUNT(*) FROM payouts GROUP BY 1, 3;
INSERT INTO list_counts (org_id, list, bucket, n)
SELECT org_id, 'customers', get_byte(uuid_send(id), 15) % 32, COUNT(*) FROM customers GROUP BY 1, 3;
INSERT INTO list_counts (org_id, list, bucket, n)
SELECT org_id, 'deliveries', get_byte(uuid_send(event_id), 15) % 32, COUNT(*) FROM webhook_deliveries GROUP BY 1, 3;

CREATE INDEX payouts_org_created_idx_new ON payouts (org_id, created_at, id);
CREATE INDEX payouts_org_customer_created_idx_new ON payouts (org_id, customer_id, created_at, id);
CREATE INDEX payouts_org_status_created_idx ON payouts (org_id, status, created_at, id);
CREATE INDEX customers_org_created_idx_new ON customers (org_id, created_at, id);
CREATE INDEX webhook_deliveries_org_created_new ON webhook_deliveries (org_id, created_at, event_id);
CREATE INDEX webhook_deliveries_org_state_new ON webhook_deliveries (org_id, state, created_at, event_id);
DROP INDEX payouts_org_created_idx;
ALTER INDEX payouts_org_created_idx_new RENAME TO payouts_org_created_idx;
DROP INDEX payouts_org_customer_created_idx;
ALTER INDEX payouts_org_customer_created_idx_new RENAME TO payouts_org_customer_created_idx;
DROP INDEX customers_org_created_idx;
ALTER INDEX customers_org_created_idx_new RENAME TO customers_org_created_idx;
DROP INDEX webhook_deliveries_org_created;
ALTER INDEX webhook_deliveries_org_created_new RENAME TO webhook_deliveries_org_created;
DROP INDEX webhook_deliveries_org_state;
ALTER INDEX webhook_deliveries_org_state_new RENAME TO webhook_deliveries_org_state;

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

DROP TRIGGER webhook_deliveries_list_count ON webhook_deliveries;
DROP TRIGGER customers_list_count ON customers;
DROP TRIGGER payouts_list_count ON payouts;
DROP FUNCTION list_counts_add();
DROP TABLE list_counts;
