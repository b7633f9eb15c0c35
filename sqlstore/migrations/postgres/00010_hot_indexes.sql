-- Initiate's lookups go straight to their rows, whatever the size of the
-- organization's history. PostgreSQL flavour of
-- migrations/sqlite/00010_hot_indexes.sql.
--
-- PayoutsByExchangeOrder (WHERE org_id = $1 AND exchange_order_id = $2
-- ORDER BY created_at DESC, id DESC): payouts_org_exchange_order_idx
-- (org_id, exchange_order_id, created_at) leaves the id of the ORDER BY
-- to a sort. Once payouts_org_created_idx ends in (created_at, id)
-- (00011), SQLite's planner preferred that index and read every payout of
-- the organization. With id appended, this index gives the rows in the
-- order asked for, read backwards, on both engines. It is built anew,
-- then takes the old one's name (reads go on during the build; writes to
-- payouts wait).
--
-- PayoutIDByClientReference needs no index: its query repeats the
-- predicate of the partial unique index payouts_org_client_reference_id_key
-- (client_reference_id <> ''), which lets the planner use that index,
-- generic plans of the prepared statement included (a parameter alone
-- never proves the predicate).
--
-- payouts_exchange_order_idx and payouts_client_reference_idx (00007)
-- stay: they serve the operators' search across organizations, which
-- these, led by org_id, cannot.
--
-- Index names are those of migrations/sqlite.

-- +goose Up
CREATE INDEX payouts_org_exchange_order_idx_new ON payouts (org_id, exchange_order_id, created_at, id);
DROP INDEX payouts_org_exchange_order_idx;
ALTER INDEX payouts_org_exchange_order_idx_new RENAME TO payouts_org_exchange_order_idx;

-- +goose Down
CREATE INDEX payouts_org_exchange_order_idx_old ON payouts (org_id, exchange_order_id, created_at);
DROP INDEX payouts_org_exchange_order_idx;
ALTER INDEX payouts_org_exchange_order_idx_old RENAME TO payouts_org_exchange_order_idx;
