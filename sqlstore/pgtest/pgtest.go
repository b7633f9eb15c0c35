// Package pgtest gives tests a fresh, empty PostgreSQL database.
//
// With OFFRAMP_TEST_POSTGRES_URL set (e.g.
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable), every URL
// call creates a uniquely named database on that server and drops it when
// the test ends. Without it, the first call starts a throwaway cluster
// shared by every test of the test binary: initdb into a temporary
// directory (as the postgres user when running as root, since initdb
// refuses root), a postgres server listening on 127.0.0.1 on a free port
// with fsync=on, and one database per test. A package that uses URL should
// stop that cluster when its tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Without Main the server still dies with the test process (it is started
// with a parent-death signal on Linux); the next run removes the directory
// left behind.
//
// When no server can be had, URL skips the test with the reason, or fails
// it when CI=true: CI must not silently test one engine only.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// EnvURL names the variable that points the tests at an existing server.
const EnvURL = "OFFRAMP_TEST_POSTGRES_URL"

// EnvBinDir may name the directory of initdb and postgres; otherwise they
// are looked up under /usr/lib/postgresql/*/bin (newest first), with
// pg_config and in PATH.
const EnvBinDir = "OFFRAMP_TEST_POSTGRES_BINDIR"

type stopper interface{ stop() error }

// server is where test databases are created.
type server struct {
	base  *url.URL // a URL of the server; the database is replaced per test
	admin *sql.DB  // connected to base's database, for CREATE/DROP DATABASE
	c     stopper  // the throwaway cluster, nil for an external server
}

var (
	mu       sync.Mutex
	srv      *server
	srvErr   error
	explicit bool // the server came from EnvURL
	dbSeq    atomic.Int64
)

// URL returns the URL of a new, empty database that exists until t ends.
func URL(t testing.TB) string {
	t.Helper()
	s, err := get()
	if err != nil {
		if explicit || ci() {
			t.Fatalf("pgtest: %v", err)
		}
		t.Skipf("pgtest: no PostgreSQL to test against: %v (set %s to use a running server)", err, EnvURL)
	}
	name := fmt.Sprintf("offramp_test_%d_%d_%s", os.Getpid(), dbSeq.Add(1), randHex(3))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE: a connection the test leaked must not keep the database.
		if _, err := s.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u := *s.base
	u.Path = "/" + name
	return u.String()
}

// Main runs the tests, stops the throwaway cluster (if one was started)
// and exits with the tests' status.
func Main(m *testing.M) {
	code := m.Run()
	if err := Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
	}
	os.Exit(code)
}

// Stop stops the throwaway cluster and removes its directory; URL starts a
// new one if called again. It does nothing for an external server.
func Stop() error {
	mu.Lock()
	defer mu.Unlock()
	s := srv
	srv, srvErr = nil, nil
	if s == nil {
		return nil
	}
	s.admin.Close()
	if s.c == nil {
		return nil
	}
	return s.c.stop()
}

func ci() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// get returns the server, connecting or starting it on first use. A failure
// is remembered: the tests after the first skip at once.
func get() (*server, error) {
	mu.Lock()
	defer mu.Unlock()
	if srv != nil || srvErr != nil {
		return srv, srvErr
	}
	if raw := os.Getenv(EnvURL); raw != "" {
		explicit = true
		srv, srvErr = external(raw)
	} else {
		srv, srvErr = throwaway()
	}
	return srv, srvErr
}

func external(raw string) (*server, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("%s is not a postgres:// URL", EnvURL)
	}
	admin, err := connect(u.String(), 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("connect to %s (%s): %w", EnvURL, u.Redacted(), err)
	}
	return &server{base: u, admin: admin}, nil
}

func connect(dsn string, timeout time.Duration) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	db.SetMaxOpenConns(4)
	return db, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
