package pgtest

import (
	"database/sql"
	"os"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

func TestURL(t *testing.T) {
	a, b := URL(t), URL(t)
	if a == b {
		t.Fatalf("two calls returned the same database %s", a)
	}
	for _, u := range []string{a, b} {
		db, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var tables int
		if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("%s: a fresh database has %d tables", u, tables)
		}
		if _, err := db.ExecContext(t.Context(), `CREATE TABLE t (x int)`); err != nil {
			t.Fatal(err)
		}
		if os.Getenv(EnvURL) == "" {
			var fsync string
			if err := db.QueryRowContext(t.Context(), `SHOW fsync`).Scan(&fsync); err != nil {
				t.Fatal(err)
			}
			if fsync != "on" {
				t.Errorf("throwaway cluster runs with fsync=%s", fsync)
			}
		}
	}
}
