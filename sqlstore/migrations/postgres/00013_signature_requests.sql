-- PostgreSQL flavour of migrations/sqlite/00013_signature_requests.sql: a
-- used signature is recorded with the request it authorised and, for a
-- mutating request, its sealed answer. See there for the states.

-- +goose Up
ALTER TABLE used_signatures ADD COLUMN method text NOT NULL DEFAULT '';
ALTER TABLE used_signatures ADD COLUMN target text NOT NULL DEFAULT '';
ALTER TABLE used_signatures ADD COLUMN state text NOT NULL DEFAULT 'legacy';
ALTER TABLE used_signatures ADD COLUMN id uuid;
ALTER TABLE used_signatures ADD COLUMN status_code integer;
ALTER TABLE used_signatures ADD COLUMN response text; -- sealed
ALTER TABLE used_signatures ADD CONSTRAINT used_signatures_state_check CHECK (
    state IN ('legacy', 'read', 'running', 'done')
    AND (state = 'legacy') = (method = '' AND target = '')
    AND (state = 'read') = (method IN ('GET', 'HEAD'))
    AND (state <> 'read' OR target = '*'));
ALTER TABLE used_signatures ADD CONSTRAINT used_signatures_id_check CHECK ((id IS NULL) = (state = 'legacy'));
ALTER TABLE used_signatures ADD CONSTRAINT used_signatures_status_check CHECK (
    (status_code IS NOT NULL) = (state = 'done') AND (status_code IS NULL OR status_code BETWEEN 100 AND 599));
ALTER TABLE used_signatures ADD CONSTRAINT used_signatures_response_check CHECK ((response IS NOT NULL) = (state = 'done'));

-- +goose Down
ALTER TABLE used_signatures DROP COLUMN response;
ALTER TABLE used_signatures DROP COLUMN status_code;
ALTER TABLE used_signatures DROP COLUMN id;
ALTER TABLE used_signatures DROP COLUMN state;
ALTER TABLE used_signatures DROP COLUMN target;
ALTER TABLE used_signatures DROP COLUMN method;
