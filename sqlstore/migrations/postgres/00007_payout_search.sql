-- Operators find a payout by any reference an exchange, a customer or a
-- bank quotes (offramp admin console search): across organizations, by
-- UTR, exchange order id, exchange transfer id or client reference id.
-- Plain (not partial) indexes: SQLite can use a partial index only when
-- the query's WHERE implies its condition, which a bound parameter never
-- does.

-- +goose Up
CREATE INDEX payouts_utr_idx ON payouts (utr);
CREATE INDEX payouts_exchange_order_idx ON payouts (exchange_order_id);
CREATE INDEX payouts_exchange_transfer_idx ON payouts (exchange_transfer_id);
CREATE INDEX payouts_client_reference_idx ON payouts (client_reference_id);

-- +goose Down
DROP INDEX payouts_client_reference_idx;
DROP INDEX payouts_exchange_transfer_idx;
DROP INDEX payouts_exchange_order_idx;
DROP INDEX payouts_utr_idx;
