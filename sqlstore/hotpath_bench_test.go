package sqlstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/sqlstore/pgtest"
	"github.com/offramp/offramp/vault"
)

// The two lookups of initiate as they were before migration 00010, for
// BenchmarkInitiateLookups to compare against.
const (
	clientRefQuery00009 = `SELECT id FROM payouts WHERE org_id = ? AND client_reference_id = ?`
	orderQuery00009     = `SELECT ` + payoutCols + ` FROM payouts
		WHERE org_id = ? AND exchange_order_id = ? ORDER BY created_at DESC, id DESC`
)

// BenchmarkInitiateLookups times initiate's two payout lookups,
// PayoutIDByClientReference and PayoutsByExchangeOrder, in one
// organization of 10,000 and of 100,000 payouts, on SQLite (without
// statistics, as in production) and PostgreSQL (after VACUUM ANALYZE),
// for a reference that exists (hit) and one that does not (miss: every
// new payout's), in three states of the schema, each with its queries:
//
//	00009    the schema at migration 00009 and the queries as they were;
//	no00010  every migration but 00010 (undone by its Down) and the
//	         queries as they were: the tree before 00010, whose later
//	         migrations rebuilt payouts_org_created_idx with id;
//	now      every migration and today's queries.
//
// The plans are logged. Each lookup runs in one read transaction held
// over the iterations, so the time is the statement's.
//
//	go test -run '^$' -bench InitiateLookups ./sqlstore/
func BenchmarkInitiateLookups(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		for _, n := range []int{10_000, 100_000} {
			for _, schema := range []string{"00009", "no00010", "now"} {
				b.Run(fmt.Sprintf("%s/%dk/%s", engine, n/1000, schema), func(b *testing.B) {
					benchLookups(b, openBench(b, engine, schema), n, schema != "now")
				})
			}
		}
	}
}

// openBench opens a store on a new database with the schema of
// BenchmarkInitiateLookups.
func openBench(b *testing.B, engine, schema string) *Store {
	b.Helper()
	ctx := context.Background()
	v, err := vault.New(bytes.Repeat([]byte{42}, vault.KeySize))
	if err != nil {
		b.Fatal(err)
	}
	dsn := filepath.Join(b.TempDir(), "offramp.db")
	if engine == "postgres" {
		dsn = pgtest.URL(b)
	}
	s, err := Open(ctx, dsn, v, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	switch schema {
	case "00009":
		sub, err := fs.Sub(migrationsFS, s.d.migrationsDir())
		if err != nil {
			b.Fatal(err)
		}
		p, err := goose.NewProvider(s.d.gooseDialect(), s.wdb, sub, goose.WithDisableGlobalRegistry(true))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.UpTo(ctx, 9); err != nil {
			b.Fatal(err)
		}
	case "no00010":
		if err := s.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		// 00010's Down, on either engine.
		for _, q := range []string{`DROP INDEX payouts_org_exchange_order_idx`,
			`CREATE INDEX payouts_org_exchange_order_idx ON payouts (org_id, exchange_order_id, created_at)`} {
			if _, err := s.wdb.ExecContext(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	default:
		if err := s.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// benchLookups fills s with n payouts of one organization and times the
// lookups, with the queries before 00010 (old) or today's.
func benchLookups(b *testing.B, s *Store, n int, old bool) {
	ctx := context.Background()
	fx := fillHot(b, s, fillSpec{payouts: [2]int{n, 0}, customers: 50, lean: true})
	if s.concurrent {
		analyze(b, s) // autovacuum's; SQLite stays without statistics, as in production
	}
	// Existing references of org: payout k has "ref-0-k" unless k%4 ==
	// 3, and "order-0-k" (a retry, k%10 == 7, is on k-1's order).
	ref := func(i int) string { return fmt.Sprintf("ref-0-%d", (i*7919%n)&^3) }
	order := func(i int) string { return fmt.Sprintf("order-0-%d", i*7919%n) }
	miss := func(i int) string { return fmt.Sprintf("new-%d", i) }

	byRef := func(x *tx, r string) error {
		if !old {
			_, err := x.PayoutIDByClientReference(ctx, fx.org.ID, r)
			return err
		}
		var id uuid.UUID
		return x.scanOne(ctx, "find payout by client reference", clientRefQuery00009, []any{fx.org.ID, r}, &id)
	}
	byOrder := func(x *tx, o string) error {
		if !old {
			_, err := x.PayoutsByExchangeOrder(ctx, fx.org.ID, o)
			return err
		}
		_, err := x.listPayouts(ctx, "list payouts by exchange order", orderQuery00009, fx.org.ID, o)
		return err
	}

	// The plans, as the lookups run them.
	var plans []plan
	var call string
	sqltx, err := s.rdb.BeginTx(ctx, s.d.readTx())
	if err != nil {
		b.Fatal(err)
	}
	x := &tx{s: s, q: planQuerier{t: b, q: sqltx, sqlite: !s.concurrent, plans: &plans, call: &call}}
	call = "PayoutIDByClientReference"
	if err := byRef(x, ref(1)); err != nil {
		b.Fatal(err)
	}
	call = "PayoutsByExchangeOrder"
	if err := byOrder(x, order(1)); err != nil {
		b.Fatal(err)
	}
	sqltx.Rollback()
	for _, p := range plans {
		b.Logf("%s: %s\n%s", p.call, p.query, strings.TrimRight(p.text, "\n"))
	}

	run := func(name string, lookup func(x *tx, key string) error, key func(i int) string) {
		b.Run(name, func(b *testing.B) {
			err := s.View(ctx, func(rtx offramp.ReadTx) error {
				x := rtx.(*tx)
				b.ResetTimer()
				for i := range b.N {
					if err := lookup(x, key(i)); err != nil && !errors.Is(err, offramp.ErrNotFound) {
						return err
					}
				}
				b.StopTimer()
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
	run("PayoutIDByClientReference/hit", byRef, ref)
	run("PayoutIDByClientReference/miss", byRef, miss)
	run("PayoutsByExchangeOrder/hit", byOrder, order)
	run("PayoutsByExchangeOrder/miss", byOrder, miss)
}
