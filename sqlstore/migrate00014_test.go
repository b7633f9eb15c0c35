package sqlstore

import (
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/sqlstore/pgtest"
)

// longestEntry is the longest CIDR netip writes: 43 characters.
const longestEntry = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"

func allowlistOf(n int) string {
	return strings.TrimSuffix(strings.Repeat(longestEntry+",", n), ",")
}

// testMigrate00014 checks orgs.ip_allowlist: an organization that existed
// before 00014 reads back with no allowlist; orgs_ip_allowlist_check
// refuses what no allowlist parser writes (separators, spaces, JSON, upper
// case, a missing or malformed prefix length, more than
// offramp.MaxIPAllowlist entries) and accepts canonical lists up to the
// longest; Down drops the column with every allowlist and keeps the
// organizations; Up again gives them an empty one.
func testMigrate00014(t *testing.T, s *Store) {
	ctx := t.Context()
	p := provider(t, s)
	if _, err := p.UpTo(ctx, 13); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(orgColumns(t, s), "ip_allowlist") {
		t.Fatalf("orgs has ip_allowlist before 00014: %v", orgColumns(t, s))
	}
	// An organization written before 00014 (CreateOrg of today writes the
	// column, so raw SQL; its key, in api_keys, is not needed here).
	old := uuid.New()
	if _, err := s.wdb.ExecContext(ctx, s.d.rebind(`INSERT INTO orgs (id, name, env, created_at) VALUES (?, ?, ?, ?)`),
		old, "Before 00014", string(offramp.EnvProduction), s.d.timeArg(normTime(time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)))); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 14); err != nil {
		t.Fatalf("00014 over an organization: %v", err)
	}
	allowlist := func(id uuid.UUID) []netip.Prefix {
		t.Helper()
		var got offramp.Org
		err := s.View(ctx, func(tx offramp.ReadTx) error {
			var err error
			got, err = tx.Org(ctx, id)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return got.IPAllowlist
	}
	if got := allowlist(old); got != nil {
		t.Fatalf("an organization from before 00014 has the allowlist %v", got)
	}

	set := func(v string) error {
		_, err := s.wdb.ExecContext(ctx, s.d.rebind(`UPDATE orgs SET ip_allowlist = ? WHERE id = ?`), v, old)
		return err
	}
	for _, bad := range []string{
		"203.0.113.0/24,",                       // a trailing comma
		",203.0.113.0/24",                       // a leading one
		"203.0.113.0/24,,10.0.0.0/8",            // an empty entry
		"203.0.113.0/24, 10.0.0.0/8",            // a space
		"203.0.113.0/24;10.0.0.0/8",             // another separator
		`["203.0.113.0/24"]`,                    // JSON
		"203.0.113.0",                           // no prefix length
		"203.0.113.0/",                          // an empty one
		"203.0.113.0/24,10.0.0.0",               // an entry without one
		"203.0.113.0/24/8",                      // two
		"/24",                                   // no address
		"203.0.113.0/1234",                      // four digits
		"2001:DB8::/32",                         // upper case: netip writes lower
		"fe80::1%eth0/128",                      // a zone
		allowlistOf(offramp.MaxIPAllowlist + 1), // too many
	} {
		wantRawRefused(t, "ip_allowlist "+trunc(bad), set(bad), "orgs_ip_allowlist_check")
	}
	for _, good := range []string{
		"",
		"203.0.113.0/24",
		"0.0.0.0/0,::/0",
		"198.51.100.7/32,203.0.113.0/24,2001:db8::/32,::ffff:203.0.113.0/120",
		allowlistOf(offramp.MaxIPAllowlist), // 2,815 characters, the bound
	} {
		if err := set(good); err != nil {
			t.Fatalf("ip_allowlist %s refused: %v", trunc(good), err)
		}
		want, err := parseIPAllowlist("test", good)
		if err != nil {
			t.Fatal(err)
		}
		if got := allowlist(old); !reflect.DeepEqual(got, want) {
			t.Fatalf("ip_allowlist %s read back as %v", trunc(good), got)
		}
	}

	// What the CHECK cannot see on SQLite (GLOB has no "digits up to the
	// next comma") PostgreSQL's regular expression refuses; on SQLite the
	// organization then fails to read rather than read as unrestricted.
	const sly = "203.0.113.0/2a4,10.0.0.0/8"
	if err := set(sly); s.concurrent {
		wantRawRefused(t, "ip_allowlist "+sly, err, "orgs_ip_allowlist_check")
	} else {
		if err != nil {
			t.Fatalf("SQLite refused %s: %v (the test's premise changed: tighten the comment of 00014)", sly, err)
		}
		err := s.View(ctx, func(tx offramp.ReadTx) error { _, err := tx.Org(ctx, old); return err })
		if err == nil || !strings.Contains(err.Error(), "is not a CIDR") || strings.Contains(err.Error(), sly) {
			t.Fatalf("reading an organization whose stored allowlist does not parse: %v", err)
		}
	}

	if err := set("203.0.113.0/24"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 13); err != nil {
		t.Fatalf("down to 00013: %v", err)
	}
	if slices.Contains(orgColumns(t, s), "ip_allowlist") {
		t.Fatalf("orgs still has ip_allowlist after the down: %v", orgColumns(t, s))
	}
	var n int
	if err := s.wdb.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM orgs WHERE id = ?`), old).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the organization after the down: %d, %v", n, err)
	}
	if !s.concurrent {
		wantNoForeignKeyViolations(t, s)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := allowlist(old); got != nil {
		t.Fatalf("after down and up the allowlist is %v, want none", got)
	}
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func TestMigrate00014SQLite(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "old.db"), testVault(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	testMigrate00014(t, s)
}

func TestMigrate00014Postgres(t *testing.T) {
	testMigrate00014(t, openPG(t, pgtest.URL(t)))
}
