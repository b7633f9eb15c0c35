package stmtcache_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"modernc.org/sqlite"

	"github.com/offramp/offramp/sqlstore/stmtcache"
)

func open(t *testing.T, size int) (*sql.DB, *stmtcache.Connector) {
	t.Helper()
	c := stmtcache.New(&sqlite.Driver{}, filepath.Join(t.TempDir(), "c.db"), size)
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE n (v INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if _, err := db.Exec(`INSERT INTO n (v) VALUES (?)`, i); err != nil {
			t.Fatal(err)
		}
	}
	return db, c
}

// A text run again reuses the statement prepared the first time, in and
// out of transactions on the same connection.
func TestReuse(t *testing.T) {
	db, c := open(t, 0)
	h0, m0 := c.Stats.Hits.Load(), c.Stats.Misses.Load()
	for i := 0; i < 10; i++ {
		var v int
		if err := db.QueryRow(`SELECT v FROM n WHERE v = ?`, 3).Scan(&v); err != nil || v != 3 {
			t.Fatalf("got %d, %v", v, err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := tx.QueryRow(`SELECT v FROM n WHERE v = ?`, 4).Scan(&v); err != nil || v != 4 {
		t.Fatalf("in tx: got %d, %v", v, err)
	}
	tx.Rollback()
	if h, m := c.Stats.Hits.Load()-h0, c.Stats.Misses.Load()-m0; m != 1 || h != 10 {
		t.Fatalf("11 runs of one text: %d hits, %d misses; want 10 and 1", h, m)
	}
}

// The same text run while its rows are open gets a statement of its own:
// the outer loop still sees every row.
func TestNestedSameText(t *testing.T) {
	db, c := open(t, 0)
	const q = `SELECT v FROM n WHERE v >= ? ORDER BY v`
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rows, err := tx.Query(q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var outer, inner int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		outer++
		in, err := tx.Query(q, v)
		if err != nil {
			t.Fatal(err)
		}
		for in.Next() {
			inner++
		}
		if err := in.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if outer != 5 || inner != 5+4+3+2+1 {
		t.Fatalf("outer %d inner %d rows; want 5 and 15", outer, inner)
	}
	// The cached statement is idle again: the next run hits.
	h := c.Stats.Hits.Load()
	if err := tx.QueryRow(q, 5).Scan(new(int)); err != nil {
		t.Fatal(err)
	}
	if c.Stats.Hits.Load() != h+1 {
		t.Fatal("the statement was not handed back after its rows closed")
	}
}

// Past Size, new texts run with statements of their own, correctly.
func TestBounded(t *testing.T) {
	db, c := open(t, 2)
	queries := []string{`SELECT count(*) FROM n`, `SELECT max(v) FROM n`, `SELECT min(v) FROM n`}
	want := []int{5, 5, 1}
	h0, m0 := c.Stats.Hits.Load(), c.Stats.Misses.Load()
	for round := 0; round < 2; round++ {
		for i, q := range queries {
			var v int
			if err := db.QueryRow(q).Scan(&v); err != nil || v != want[i] {
				t.Fatalf("%s: %d, %v", q, v, err)
			}
		}
	}
	// open's CREATE and INSERT took both slots: every select is prepared
	// and finalized per call, and none is cached.
	if h, m := c.Stats.Hits.Load()-h0, c.Stats.Misses.Load()-m0; h != 0 || m != 6 {
		t.Fatalf("%d hits, %d misses; want 0 and 6", h, m)
	}
	if _, err := db.Exec(`INSERT INTO n (v) VALUES (6)`); err != nil {
		t.Fatal(err)
	}
}

// A failing statement leaves its cached statement usable.
func TestErrorKeepsStatementUsable(t *testing.T) {
	db, _ := open(t, 0)
	const ins = `INSERT INTO n (v) VALUES (?)`
	if _, err := db.Exec(ins, 1); err == nil {
		t.Fatal("duplicate key accepted")
	}
	if _, err := db.Exec(ins, 7); err != nil {
		t.Fatalf("after a failure: %v", err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM n`).Scan(&n); err != nil || n != 6 {
		t.Fatalf("count %d, %v", n, err)
	}
}
