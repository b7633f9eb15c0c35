package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the "sqlite" driver
)

// rawResult is the disk's raw durable commit rate, without Offramp.
type rawResult struct {
	Engine      string  `json:"engine"`
	Commits     int64   `json:"commits"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	Connections int     `json:"connections"`
	// Where is the directory of the scratch SQLite file, or the scratch
	// database.
	Where string `json:"where"`
	// Settings are the durability settings in force, as the database
	// reports them.
	Settings string `json:"settings"`
}

// rawSQLite measures sequential one-row INSERT commits in a scratch SQLite
// file in dir, opened as the server opens its database (WAL,
// synchronous=FULL): for count commits, or for d when count is 0. The file
// is removed afterwards.
func rawSQLite(ctx context.Context, dir string, d time.Duration, count int) (*rawResult, error) {
	path := filepath.Join(dir, fmt.Sprintf("raw-commits-%s.db", randHex(4)))
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(path + suffix)
		}
	}()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var mode string
	var sync int
	if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return nil, err
	}
	if err := conn.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
		return nil, err
	}
	if mode != "wal" || sync != 2 {
		return nil, fmt.Errorf("scratch SQLite file opened with journal_mode=%s synchronous=%d, not wal and 2 (FULL)", mode, sync)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE raw_commits (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		return nil, err
	}
	stmt, err := conn.PrepareContext(ctx, `INSERT INTO raw_commits (v) VALUES (?)`)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	const row = "a payout-sized row is larger, but one fsync is one fsync"
	for range 10 { // warm up: file growth, first WAL frames
		if _, err := stmt.ExecContext(ctx, row); err != nil {
			return nil, err
		}
	}
	var n int64
	start := time.Now()
	deadline := start.Add(d)
	for count > 0 && n < int64(count) || count == 0 && time.Now().Before(deadline) {
		if _, err := stmt.ExecContext(ctx, row); err != nil {
			return nil, err
		}
		n++
	}
	el := time.Since(start)
	return &rawResult{Engine: "sqlite", Commits: n, Seconds: el.Seconds(), PerSecond: float64(n) / el.Seconds(), Connections: 1,
		Where: dir, Settings: "journal_mode=wal synchronous=FULL"}, nil
}

// rawPostgres measures one-row INSERT autocommits into a regular (logged)
// scratch table from conns connections at once, as pgbench would: for
// count commits in all, or for d when count is 0. The table is dropped
// afterwards.
func rawPostgres(ctx context.Context, dsn string, conns int, d time.Duration, count int) (*rawResult, error) {
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	table := "offramp_bench_raw_" + randHex(4)
	if _, err := admin.Exec(ctx, `CREATE TABLE `+table+` (id bigserial PRIMARY KEY, conn int NOT NULL, v text NOT NULL)`); err != nil {
		return nil, err
	}
	defer admin.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS `+table)
	var settings []string
	for _, name := range []string{"synchronous_commit", "fsync", "wal_sync_method", "commit_delay"} {
		var v string
		if err := admin.QueryRow(ctx, `SELECT current_setting($1)`, name).Scan(&v); err == nil {
			settings = append(settings, name+"="+v)
		}
	}

	cs := make([]*pgx.Conn, conns)
	defer func() {
		for _, c := range cs {
			if c != nil {
				_ = c.Close(context.WithoutCancel(ctx))
			}
		}
	}()
	insert := `INSERT INTO ` + table + ` (conn, v) VALUES ($1, 'a payout-sized row is larger, but one commit is one commit')`
	for i := range cs {
		if cs[i], err = pgx.Connect(ctx, dsn); err != nil {
			return nil, err
		}
		if _, err := cs[i].Exec(ctx, insert, i); err != nil { // warm up; prepares the statement
			return nil, err
		}
	}
	var (
		n     atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	start := time.Now()
	deadline := start.Add(d)
	for i, c := range cs {
		wg.Go(func() {
			for ctx.Err() == nil {
				if count > 0 {
					if n.Add(1) > int64(count) {
						n.Add(-1)
						return
					}
				} else if !time.Now().Before(deadline) {
					return
				}
				if _, err := c.Exec(ctx, insert, i); err != nil {
					mu.Lock()
					first = cmpOr(first, err)
					mu.Unlock()
					return
				}
				if count == 0 {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(dsn)
	where := dsn
	if u != nil {
		where = u.Host + u.Path
	}
	return &rawResult{Engine: "postgres", Commits: n.Load(), Seconds: el.Seconds(), PerSecond: float64(n.Load()) / el.Seconds(),
		Connections: conns, Where: where, Settings: strings.Join(settings, " ")}, nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// scratchDB is a database the bench created on a PostgreSQL server.
type scratchDB struct {
	name  string
	url   string // the scratch database
	admin string // the URL it was created from
}

// createScratchDB creates offramp_bench_<random> on the server adminURL
// points at (its user needs CREATEDB).
func createScratchDB(ctx context.Context, adminURL string) (*scratchDB, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return nil, errors.New("not a postgres:// URL")
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	name := "offramp_bench_" + randHex(5)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return &scratchDB{name: name, url: u.String(), admin: adminURL}, nil
}

// drop drops the scratch database, closing whatever still uses it.
func (s *scratchDB) drop(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+s.name+` WITH (FORCE)`)
	return err
}

// pgBackendCPU reads the CPU time of the PostgreSQL backends connected to
// the database dsn names, by process id, from /proc: it works when the
// server runs on this machine (as a local bench's does) and reports an
// error otherwise.
func pgBackendCPU(ctx context.Context, dsn string) (map[int]float64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		return nil, err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, err
	}
	out := map[int]float64{}
	for _, pid := range pids {
		v, err := procCPU(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return nil, fmt.Errorf("the PostgreSQL server is not on this machine: %w", err)
		}
		out[int(pid)] = v
	}
	return out, nil
}

// pgCPUUsed is the CPU the backends used between two readings; a backend
// that started meanwhile counts whole.
func pgCPUUsed(before, after map[int]float64) float64 {
	var sum float64
	for pid, v := range after {
		sum += v - before[pid]
	}
	return sum
}
