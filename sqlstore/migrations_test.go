package sqlstore

import (
	"context"
	"database/sql"
	"io/fs"
	"reflect"
	"slices"
	"testing"
)

// TestMigrationsInStep: SQLite and PostgreSQL have the same migration
// files (numbers and names) and, migrated, the same tables with the same
// columns in the same order, the same NOT NULL columns and the same index
// names. Types differ on purpose (text versus uuid, timestamptz, numeric,
// jsonb, boolean).
func TestMigrationsInStep(t *testing.T) {
	names := func(dir string) []string {
		entries, err := fs.ReadDir(migrationsFS, dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	lite, pg := names(sqliteDialect{}.migrationsDir()), names(postgresDialect{}.migrationsDir())
	if len(lite) == 0 || !slices.Equal(lite, pg) {
		t.Fatalf("migration files differ:\n sqlite   %v\n postgres %v", lite, pg)
	}

	ls, _ := openTemp(t)
	ps := openPGTemp(t)
	liteSchema := schemaOf(t, ls.wdb, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
		`SELECT name, "notnull" FROM pragma_table_info(?) ORDER BY cid`,
		`SELECT name FROM sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY name`)
	pgSchema := schemaOf(t, ps.wdb, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
		`SELECT column_name, is_nullable = 'NO' FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
		// Indexes the migrations name; PostgreSQL names those of PRIMARY
		// KEY and UNIQUE (...) constraints itself, as SQLite does.
		`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()
			AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))
			ORDER BY indexname`)
	if !reflect.DeepEqual(keys(liteSchema.columns), keys(pgSchema.columns)) {
		t.Fatalf("tables differ:\n sqlite   %v\n postgres %v", keys(liteSchema.columns), keys(pgSchema.columns))
	}
	for table, cols := range liteSchema.columns {
		if table == "goose_db_version" {
			continue // goose's own
		}
		if !slices.Equal(cols, pgSchema.columns[table]) {
			t.Errorf("columns of %s differ:\n sqlite   %v\n postgres %v", table, cols, pgSchema.columns[table])
		}
	}
	if !slices.Equal(liteSchema.indexes, pgSchema.indexes) {
		t.Errorf("indexes differ:\n sqlite   %v\n postgres %v", liteSchema.indexes, pgSchema.indexes)
	}
	if len(liteSchema.columns) < 16 || len(liteSchema.indexes) < 20 {
		t.Errorf("only %d tables and %d indexes found; is the schema read at all?", len(liteSchema.columns), len(liteSchema.indexes))
	}
	t.Logf("%d tables, %d named indexes alike", len(liteSchema.columns), len(liteSchema.indexes))
}

type schema struct {
	columns map[string][]string // table -> "column" or "column NOT NULL", in order
	indexes []string
}

func schemaOf(t *testing.T, db *sql.DB, tablesQuery, columnsQuery, indexesQuery string) schema {
	t.Helper()
	ctx := context.Background()
	s := schema{columns: map[string][]string{}}
	for _, table := range queryStrings(t, db, tablesQuery) {
		rows, err := db.QueryContext(ctx, columnsQuery, table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			var notNull bool
			if err := rows.Scan(&name, &notNull); err != nil {
				t.Fatal(err)
			}
			if notNull {
				name += " NOT NULL"
			}
			s.columns[table] = append(s.columns[table], name)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	s.indexes = queryStrings(t, db, indexesQuery)
	return s
}

func queryStrings(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
