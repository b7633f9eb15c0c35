-- An optional IP allowlist per organization: the networks its API keys may
-- be used from, as Indian payout providers require of exchanges in
-- production. '' means no restriction, which every existing organization
-- keeps.
--
-- The list is text, the canonical CIDRs separated by commas
-- ("203.0.113.0/24,2001:db8::/32"), as netip.Prefix writes them: the same
-- value on both engines, one column read with the organization on every
-- request, no join. (cidr[] would check each address, but a cast error is
-- not a CHECK violation naming its constraint, and SQLite has no such
-- type.) The service parses and canonicalizes every entry
-- (offramp.ParseIPAllowlist); the CHECK is the backstop against a value no
-- parser wrote: entries of the characters of lower-case IPv4 and IPv6
-- addresses, each followed by "/" and a length of 1 to 3 digits, separated
-- by single commas, and a length bound of offramp.MaxIPAllowlist (64)
-- entries of at most 43 characters ("ffff:...:ffff/128") and 63 commas:
-- 2,815.
--
-- Down drops every allowlist: the code before 00014 enforces none.
--
-- Constraint names are those of migrations/sqlite.

-- +goose Up
ALTER TABLE orgs ADD COLUMN ip_allowlist text NOT NULL DEFAULT ''
    CONSTRAINT orgs_ip_allowlist_check CHECK (ip_allowlist = '' OR (
        length(ip_allowlist) <= 2815
        AND ip_allowlist ~ '^[0-9a-f.:]+/[0-9]{1,3}(,[0-9a-f.:]+/[0-9]{1,3})*$'));

-- +goose Down
ALTER TABLE orgs DROP COLUMN ip_allowlist;
