-- Initiate's lookups go straight to their rows, whatever the size of the
-- organization's history.
--
-- PayoutsByExchangeOrder (WHERE org_id = ? AND exchange_order_id = ?
-- ORDER BY created_at DESC, id DESC): payouts_org_exchange_order_idx
-- (org_id, exchange_order_id, created_at) leaves the id of the ORDER BY
-- to a sort. Once payouts_org_created_idx ends in (created_at, id)
-- (00011), that index gives the order asked for, and SQLite's planner,
-- without statistics (nothing runs ANALYZE), prefers it: it read every
-- payout of the organization to check its order id (17 ms at 10,000
-- payouts, 200 ms at 100,000). With id appended, this index gives the
-- order too, matches both equalities, and is taken: a few rows, whatever
-- the history. It is rebuilt under its name.
--
-- PayoutIDByClientReference needs no index: its query repeats the
-- predicate of the partial unique index payouts_org_client_reference_id_key
-- (client_reference_id <> ''), which lets the planner use that index (a
-- bound parameter alone never proves the predicate).
--
-- payouts_exchange_order_idx and payouts_client_reference_idx (00007)
-- stay: they serve the operators' search across organizations, which
-- these, led by org_id, cannot.
--
-- Index names are those of migrations/postgres.

-- +goose Up
DROP INDEX payouts_org_exchange_order_idx;
CREATE INDEX payouts_org_exchange_order_idx ON payouts (org_id, exchange_order_id, created_at, id);

-- +goose Down
DROP INDEX payouts_org_exchange_order_idx;
CREATE INDEX payouts_org_exchange_order_idx ON payouts (org_id, exchange_order_id, created_at);
