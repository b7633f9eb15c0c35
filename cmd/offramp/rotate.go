package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/server"
	"github.com/offramp/offramp/vault"
)

// envNewMasterKey holds the key rotate-master-key moves the database to.
const envNewMasterKey = "OFFRAMP_NEW_MASTER_KEY"

func rotateMasterKeyCmd() *cobra.Command {
	var f dbFlags
	cmd := &cobra.Command{
		Use:   "rotate-master-key --db DSN",
		Short: "Re-encrypt every sealed field and blind index under a new master key (stop every offramp serve first)",
		Long: `Re-encrypt every sealed field (API secrets, customer names, KYC identity
numbers and documents, bank account numbers and VPAs, EDD documents, quotation
risk parameters) and recompute every blind index under a new master key. It
runs in one database transaction: it either completes or changes nothing.

STOP EVERY ` + "`offramp serve`" + ` (and every other offramp command) using this database
first. rotate-master-key cannot tell whether one is still running; one that is
keeps writing with the old key, and what it writes after the rotation cannot
be read with the new key.

The current key is found as for serve: OFFRAMP_MASTER_KEY, else the key file
(--master-key-file, by default master.key beside the SQLite file); a missing
key file is an error, never generated. The new key is read from
OFFRAMP_NEW_MASTER_KEY: base64 of 32 random bytes, e.g. from
"openssl rand -base64 32". Keep it safe before you start.

After the rotation the database is reopened with the new key and one row of
every table with sealed data is read back. When the current key came from a
key file, that file is then replaced atomically with the new key and the old
key kept as <file>.old (mode 0600).

Then restart every instance with OFFRAMP_MASTER_KEY set to the new key
(instances that read the key file get it from there).

Keep the old key as long as you keep backups taken before the rotation: they
are sealed with it. Hosted-KYC links issued before the rotation stop working
(they are signed with a key derived from the master key); issue new ones.`,
		Example: `  export OFFRAMP_NEW_MASTER_KEY="$(openssl rand -base64 32)"   # save it in your secret store
  offramp admin rotate-master-key --db data/offramp.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return rotateMasterKey(cmd.Context(), &f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.register(cmd)
	return cmd
}

// keyFilePath is the key file masterKey reads when OFFRAMP_MASTER_KEY is
// not set; "" for PostgreSQL without --master-key-file.
func (f *dbFlags) keyFilePath() string {
	if f.keyFile != "" {
		return f.keyFile
	}
	if server.IsPostgres(f.db) {
		return ""
	}
	return filepath.Join(filepath.Dir(server.SQLitePath(f.db)), "master.key")
}

func rotateMasterKey(ctx context.Context, f *dbFlags, out, errOut io.Writer) error {
	log := slog.New(slog.NewTextHandler(errOut, nil))
	environment, err := offramp.ParseEnv(f.env)
	if err != nil {
		return err
	}
	if !server.IsPostgres(f.db) {
		if _, err := os.Stat(server.SQLitePath(f.db)); err != nil {
			return fmt.Errorf("no database to rotate at %s: %w", server.SQLitePath(f.db), err)
		}
	}

	// The current key. masterKey would generate a sandbox key file that
	// does not exist: here that can only be a mistake.
	keyFile := ""
	if os.Getenv("OFFRAMP_MASTER_KEY") == "" {
		keyFile = f.keyFilePath()
		if keyFile != "" {
			if _, err := os.Stat(keyFile); err != nil {
				return fmt.Errorf("OFFRAMP_MASTER_KEY is not set and the key file cannot be read: %w", err)
			}
		}
	}
	current, err := f.masterKey(log, environment)
	if err != nil {
		return err
	}

	s := os.Getenv(envNewMasterKey)
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("%s is not set: put the new master key in it (base64 of 32 random bytes, e.g. from \"openssl rand -base64 32\")", envNewMasterKey)
	}
	next, err := vault.ParseKey(s)
	if err != nil {
		return fmt.Errorf("%s: %w", envNewMasterKey, err)
	}
	if subtle.ConstantTimeCompare(current, next) == 1 {
		return fmt.Errorf("%s is the current master key: nothing to rotate", envNewMasterKey)
	}
	nextVault, err := vault.New(next)
	if err != nil {
		return err
	}

	clock := offramp.SystemClock{}
	st, _, err := server.OpenStore(ctx, f.db, current, clock)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.VerifyKey(ctx); err != nil {
		return fmt.Errorf("the current master key does not decrypt this database; nothing was changed: %w", err)
	}
	counts, err := st.Rekey(ctx, nextVault)
	if err != nil {
		return fmt.Errorf("rotation failed; nothing was changed: %w", err)
	}
	// The store still holds the old key: it must not be used any more.
	st.Close()
	fmt.Fprintln(out, "Master key rotated: every sealed field and blind index is now under the new key.")
	cols := make([]string, 0, len(counts))
	for c := range counts {
		cols = append(cols, c)
	}
	slices.Sort(cols)
	for _, c := range cols {
		fmt.Fprintf(out, "  %-40s %d\n", c, counts[c])
	}

	// The rotation has committed: from now on only the new key reads the
	// database, so the key file must hold it whatever happens next.
	if keyFile != "" {
		oldFile, err := replaceKeyFile(keyFile, current, next)
		if err != nil {
			return fmt.Errorf("the database is now sealed with the NEW key, but the key file %s could not be updated: %w; write the new key (%s) into it yourself before starting offramp", keyFile, err, envNewMasterKey)
		}
		fmt.Fprintf(out, "Key file %s now holds the new key; the old key is kept in %s.\n", keyFile, oldFile)
	} else if p := f.keyFilePath(); p != "" {
		if _, err := os.Stat(p); err == nil {
			fmt.Fprintf(out, "Note: the current key came from OFFRAMP_MASTER_KEY; the key file %s was not changed.\n", p)
		}
	}

	st2, _, err := server.OpenStore(ctx, f.db, next, clock)
	if err != nil {
		return fmt.Errorf("the database was rotated to the new key, but reopening it failed: %w", err)
	}
	defer st2.Close()
	n, err := st2.VerifyKey(ctx)
	if err != nil {
		return fmt.Errorf("the database was rotated to the new key, but reading it back with the new key failed: %w", err)
	}
	fmt.Fprintf(out, "Verified: %d rows read back with the new key.\n", n)
	step := "Next: restart every instance with OFFRAMP_MASTER_KEY set to the new key"
	if keyFile != "" {
		step += " (instances that read the key file get it from there)"
	}
	fmt.Fprintln(out, step+".")
	fmt.Fprintln(out, "Keep the old key as long as you keep backups taken before the rotation.")
	return nil
}

// replaceKeyFile keeps the old key in <path>.old and puts the new key in
// path, each written aside, synced and renamed into place (mode 0600), so
// that neither file is ever empty or half written. A symbolic link at
// path is followed: the file it points to is replaced.
func replaceKeyFile(path string, old, next []byte) (oldPath string, err error) {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	oldPath = path + ".old"
	if err := writeFileAtomic(oldPath, []byte(vault.EncodeKey(old)+"\n")); err != nil {
		return "", err
	}
	if err := writeFileAtomic(path, []byte(vault.EncodeKey(next)+"\n")); err != nil {
		return "", err
	}
	return oldPath, nil
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	// CreateTemp creates the file 0600, before any byte is written.
	tmp, err := os.CreateTemp(dir, ".offramp-key-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name) // after a successful rename, a no-op
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return err
	}
	if err := os.Chmod(name, 0o600); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	// Make the rename durable; best effort, as vault does.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
