-- An optional IP allowlist per organization: the networks its API keys may
-- be used from, as Indian payout providers require of exchanges in
-- production. '' means no restriction, which every existing organization
-- keeps.
--
-- The list is text, the canonical CIDRs separated by commas
-- ("203.0.113.0/24,2001:db8::/32"), as netip.Prefix writes them: one
-- column read with the organization on every request, no join. The
-- service parses and canonicalizes every entry (offramp.ParseIPAllowlist);
-- the CHECK is the backstop against a value no parser wrote: only the
-- characters of lower-case IPv4 and IPv6 CIDRs and commas, each entry
-- starting with an address and ending in a "/length", no empty entry, and
-- a length bound of offramp.MaxIPAllowlist (64) entries of at most 43
-- characters ("ffff:...:ffff/128") and 63 commas: 2,815. GLOB cannot tell
-- that only digits follow each "/" up to the next comma (it can for the
-- last entry); the PostgreSQL twin's regular expression can, and sqlstore
-- refuses to read an organization whose list does not parse.
--
-- SQLite adds a column with its own CHECK without rebuilding orgs, and
-- drops it again (3.35+) since the CHECK is the column's own.
-- Down drops every allowlist: the code before 00014 enforces none.
--
-- Constraint names are those of migrations/postgres.

-- +goose Up
ALTER TABLE orgs ADD COLUMN ip_allowlist TEXT NOT NULL DEFAULT ''
    CONSTRAINT orgs_ip_allowlist_check CHECK (ip_allowlist = '' OR (
        length(ip_allowlist) <= 2815
        AND ip_allowlist NOT GLOB '*[^0-9a-f.:/,]*'
        AND ip_allowlist GLOB '[0-9a-f:]*'
        AND ip_allowlist NOT GLOB '*,[^0-9a-f:]*'
        AND ip_allowlist NOT GLOB '*/[^0-9]*'
        AND ip_allowlist NOT GLOB '*[^0-9],*'
        AND (ip_allowlist GLOB '*/[0-9]' OR ip_allowlist GLOB '*/[0-9][0-9]' OR ip_allowlist GLOB '*/[0-9][0-9][0-9]')
        -- One "/" per entry: as many as commas, plus one.
        AND length(ip_allowlist) - length(replace(ip_allowlist, '/', ''))
            = length(ip_allowlist) - length(replace(ip_allowlist, ',', '')) + 1));

-- +goose Down
ALTER TABLE orgs DROP COLUMN ip_allowlist;
