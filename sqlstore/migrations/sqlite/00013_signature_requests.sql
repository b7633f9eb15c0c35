-- +goose Up
-- A used signature is recorded with the request it authorised (method and
-- target: path and query) and, for a mutating request, its answer, so
-- that a repeat of the request gets the first answer again instead of a
-- second effect, and a signature borrowed by another request is refused.
--
-- state: legacy (recorded before this migration: any repeat is refused),
-- read (reads used it: every GET of one second signs the same {}, so a
-- read record names no one target, '*', and any read may use it again),
-- running (a mutating request recorded it with its work and has not
-- answered yet), done (it answered: status_code and the sealed response are
-- kept until expires_at). id is the row's id in the AAD of its sealed response, set
-- for every record but the legacy ones.
--
-- One column per statement: SQLite adds columns one at a time, and the
-- checks of each column may only name the columns added before it.
ALTER TABLE used_signatures ADD COLUMN method TEXT NOT NULL DEFAULT '';
ALTER TABLE used_signatures ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE used_signatures ADD COLUMN state TEXT NOT NULL DEFAULT 'legacy' CONSTRAINT used_signatures_state_check CHECK (
    state IN ('legacy', 'read', 'running', 'done')
    AND (state = 'legacy') = (method = '' AND target = '')
    AND (state = 'read') = (method IN ('GET', 'HEAD'))
    AND (state <> 'read' OR target = '*'));
ALTER TABLE used_signatures ADD COLUMN id TEXT CONSTRAINT used_signatures_id_check CHECK ((id IS NULL) = (state = 'legacy'));
ALTER TABLE used_signatures ADD COLUMN status_code INTEGER CONSTRAINT used_signatures_status_check CHECK (
    (status_code IS NOT NULL) = (state = 'done') AND (status_code IS NULL OR status_code BETWEEN 100 AND 599));
ALTER TABLE used_signatures ADD COLUMN response TEXT CONSTRAINT used_signatures_response_check CHECK ((response IS NOT NULL) = (state = 'done')); -- sealed

-- +goose Down
ALTER TABLE used_signatures DROP COLUMN response;
ALTER TABLE used_signatures DROP COLUMN status_code;
ALTER TABLE used_signatures DROP COLUMN id;
ALTER TABLE used_signatures DROP COLUMN state;
ALTER TABLE used_signatures DROP COLUMN target;
ALTER TABLE used_signatures DROP COLUMN method;
