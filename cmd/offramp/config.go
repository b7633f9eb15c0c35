package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/server"
	"github.com/offramp/offramp/service"
	"github.com/offramp/offramp/sqlstore"
	"github.com/offramp/offramp/vault"
)

// env returns the OFFRAMP_* environment variable name, or def when unset, so
// every flag can also be set from the environment.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// envOr is env for a setting whose variable may be set to the empty
// string on purpose (OFFRAMP_ADMIN_ADDR= disables the console).
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// dbFlags are the storage flags shared by every command that opens the
// database.
type dbFlags struct {
	db      string
	env     string
	keyFile string
}

const defaultDB = "data/offramp.db"

func (f *dbFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.db, "db", env("OFFRAMP_DB", defaultDB), "database: a SQLite file path, or a postgres:// URL [OFFRAMP_DB]")
	cmd.Flags().StringVar(&f.env, "env", env("OFFRAMP_ENV", "sandbox"), "environment: sandbox or production [OFFRAMP_ENV]")
	cmd.Flags().StringVar(&f.keyFile, "master-key-file", env("OFFRAMP_MASTER_KEY_FILE", ""), "file holding the base64 master key when OFFRAMP_MASTER_KEY is not set (default: master.key beside the SQLite file) [OFFRAMP_MASTER_KEY_FILE]")
}

// masterKey finds the key that encrypts secrets at rest: OFFRAMP_MASTER_KEY,
// else the key file. Only a sandbox may generate one, and says so loudly: a
// lost key makes every encrypted field unreadable.
func (f *dbFlags) masterKey(log *slog.Logger, environment offramp.Env) ([]byte, error) {
	if s := os.Getenv("OFFRAMP_MASTER_KEY"); s != "" {
		return vault.ParseKey(s)
	}
	path := f.keyFile
	if path == "" {
		if server.IsPostgres(f.db) {
			return nil, errors.New("OFFRAMP_MASTER_KEY is required with a PostgreSQL database")
		}
		path = filepath.Join(filepath.Dir(server.SQLitePath(f.db)), "master.key")
	}
	if _, err := os.Stat(path); err == nil || environment == offramp.EnvSandbox {
		key, created, err := vault.LoadOrCreateKeyFile(path)
		if err != nil {
			return nil, err
		}
		if created {
			log.Warn("OFFRAMP_MASTER_KEY is not set: generated a sandbox master key; keep this file, it decrypts the database's secrets", "key_file", path)
		}
		return key, nil
	}
	return nil, fmt.Errorf("OFFRAMP_MASTER_KEY is required in %s (or point --master-key-file at an existing key)", environment)
}

// opened is an open, migrated store and what was derived from its key.
type opened struct {
	store   *sqlstore.Store
	linkKey []byte
	env     offramp.Env
}

func (f *dbFlags) ensureDataDir() error {
	if dir := filepath.Dir(server.SQLitePath(f.db)); dir != "" && !server.IsPostgres(f.db) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create data directory: %w", err)
		}
	}
	return nil
}

// open validates the flags, opens the database and runs migrations.
func (f *dbFlags) open(ctx context.Context, log *slog.Logger, clock offramp.Clock) (*opened, error) {
	environment, err := offramp.ParseEnv(f.env)
	if err != nil {
		return nil, err
	}
	if err := f.ensureDataDir(); err != nil {
		return nil, err
	}
	key, err := f.masterKey(log, environment)
	if err != nil {
		return nil, err
	}
	st, linkKey, err := server.OpenStore(ctx, f.db, key, clock)
	if err != nil {
		return nil, err
	}
	return &opened{store: st, linkKey: linkKey, env: environment}, nil
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: use json or text", format)
}

// openAdmin opens the database for an operator command: logs go to
// standard error as text, standard output stays for the command's answer.
func (f *dbFlags) openAdmin(ctx context.Context) (*opened, *service.Service, error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	db, err := f.open(ctx, log, offramp.SystemClock{})
	if err != nil {
		return nil, nil, err
	}
	return db, service.New(service.Config{Store: db.store, Env: db.env, Log: log}), nil
}
