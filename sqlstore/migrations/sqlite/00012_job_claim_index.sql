-- +goose Up
-- A claim walks each organization's due jobs of a kind in (run_at, id)
-- order and finds the organizations with jobs by a skip scan: both read
-- this index, so a claim costs the same with ten due jobs or a million.
CREATE INDEX jobs_kind_org_run_at_idx ON jobs (kind, org_id, run_at, id);

-- +goose Down
DROP INDEX jobs_kind_org_run_at_idx;
