package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/operator"
	"github.com/offramp/offramp/server"
	"github.com/offramp/offramp/vault"
)

// operatorsEnv is a SQLite database under a fixed master key and a way to
// run the CLI on it with some standard input.
type operatorsEnv struct {
	t   *testing.T
	db  string
	key []byte
}

func newOperatorsEnv(t *testing.T) *operatorsEnv {
	key := bytes.Repeat([]byte{7}, 32)
	t.Setenv("OFFRAMP_MASTER_KEY", vault.EncodeKey(key))
	return &operatorsEnv{t: t, db: filepath.Join(t.TempDir(), "offramp.db"), key: key}
}

func (e *operatorsEnv) run(stdin string, args ...string) (string, error) {
	var out bytes.Buffer
	root := rootCmd()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append(args, "--db", e.db, "--env", "production"))
	err := root.Execute()
	return out.String(), err
}

func (e *operatorsEnv) mustRun(stdin string, args ...string) string {
	e.t.Helper()
	out, err := e.run(stdin, args...)
	if err != nil {
		e.t.Fatalf("offramp %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// store opens the database directly (closed when the test ends).
func (e *operatorsEnv) store() offramp.Store {
	e.t.Helper()
	st, _, err := server.OpenStore(context.Background(), e.db, e.key, offramp.SystemClock{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	return st
}

func (e *operatorsEnv) operator(st offramp.Store, email string) offramp.Operator {
	e.t.Helper()
	var o offramp.Operator
	err := st.View(context.Background(), func(tx offramp.ReadTx) error {
		var err error
		o, err = tx.OperatorByEmail(context.Background(), email)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// TestAdminOperators: create (with and without a second factor), list,
// reset and disable, each recorded in the audit log under --by; what is
// refused is refused before anything is written.
func TestAdminOperators(t *testing.T) {
	ctx := context.Background()
	e := newOperatorsEnv(t)
	const pw = "correct horse battery staple"

	out := e.mustRun(pw+"\n", "admin", "operators", "create", "--email", "Asha@Ops.Example", "--role", "admin",
		"--password-stdin", "--totp", "--by", "root-ops")
	i := strings.Index(out, "otpauth://")
	if !strings.Contains(out, "operator asha@ops.example created: role admin") || i < 0 {
		t.Fatalf("create output:\n%s", out)
	}
	uri, err := url.Parse(strings.Fields(out[i:])[0])
	if err != nil {
		t.Fatal(err)
	}
	secret := uri.Query().Get("secret")
	out = e.mustRun(pw, "admin", "operators", "create", "--email", "vikram@ops.example", "--role", "viewer",
		"--password-stdin", "--by", "root-ops", "--json")
	var created map[string]string
	if err := json.Unmarshal([]byte(out), &created); err != nil || created["email"] != "vikram@ops.example" ||
		created["role"] != "viewer" || created["totp_uri"] != "" {
		t.Fatalf("create --json: %v\n%s", err, out)
	}

	st := e.store()
	asha := e.operator(st, "asha@ops.example")
	if asha.Role != offramp.RoleAdmin || asha.TOTPSecret != secret || len(secret) != 32 ||
		!operator.CheckPassword(asha.PasswordHash, pw) || operator.CheckPassword(asha.PasswordHash, pw+"\n") {
		t.Fatalf("stored operator %+v (URI secret %q)", asha, secret)
	}
	if code := operator.TOTPCode(secret, time.Unix(1700000000, 0)); !operator.CheckTOTP(asha.TOTPSecret, code, time.Unix(1700000000, 0)) {
		t.Fatal("the printed secret is not the stored one")
	}
	if vikram := e.operator(st, "vikram@ops.example"); vikram.TOTPSecret != "" || vikram.Role != offramp.RoleViewer {
		t.Fatalf("vikram: %+v", vikram)
	}

	// Refused before anything is written.
	for what, tc := range map[string]struct {
		stdin string
		args  []string
		want  string
	}{
		"a short password":      {"elevenchars", []string{"--email", "x@ops.example", "--role", "viewer", "--password-stdin"}, "at least 12 characters"},
		"no --password-stdin":   {pw, []string{"--email", "x@ops.example", "--role", "viewer"}, "--password-stdin is required"},
		"two lines":             {pw + "\nmore\n", []string{"--email", "x@ops.example", "--role", "viewer", "--password-stdin"}, "several lines"},
		"an unknown role":       {pw, []string{"--email", "x@ops.example", "--role", "root", "--password-stdin"}, "--role"},
		"a malformed e-mail":    {pw, []string{"--email", "ops.example", "--role", "viewer", "--password-stdin"}, "not an e-mail"},
		"a taken e-mail (case)": {pw, []string{"--email", "ASHA@ops.example", "--role", "viewer", "--password-stdin"}, "already exists"},
	} {
		out, err := e.run(tc.stdin, append([]string{"admin", "operators", "create", "--by", "root-ops"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("create with %s: %v, want %q\n%s", what, err, tc.want, out)
		}
	}

	// The listing never shows a hash or a secret.
	out = e.mustRun("", "admin", "operators", "list")
	if !strings.Contains(out, "asha@ops.example") || !strings.Contains(out, "vikram@ops.example") ||
		strings.Contains(out, "argon2") || strings.Contains(out, secret) {
		t.Fatalf("list:\n%s", out)
	}
	out = e.mustRun("", "admin", "operators", "list", "--json")
	var listed []map[string]any
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 2 {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if strings.Contains(out, "argon2") || strings.Contains(out, secret) || listed[0]["email"] != "asha@ops.example" ||
		listed[0]["totp"] != true || listed[1]["totp"] != false {
		t.Fatalf("list --json:\n%s", out)
	}

	// A locked-out operator with a session: reset sets the password, lifts
	// the lock and ends the session.
	locked := asha
	locked.FailedLogins, locked.LockedUntil = 7, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	session := offramp.OperatorSession{TokenHash: strings.Repeat("a", 64), OperatorID: asha.ID, CSRF: "csrf",
		ExpiresAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := st.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.UpdateOperator(ctx, locked); err != nil {
			return err
		}
		return tx.PutOperatorSession(ctx, session)
	}); err != nil {
		t.Fatal(err)
	}
	const pw2 = "another long passphrase"
	out = e.mustRun(pw2+"\r\n", "admin", "operators", "reset", "--email", "asha@ops.example", "--password-stdin", "--by", "root-ops",
		"--why", "lost her phone")
	if !strings.Contains(out, "password reset") {
		t.Fatalf("reset: %s", out)
	}
	asha = e.operator(st, "asha@ops.example")
	if !operator.CheckPassword(asha.PasswordHash, pw2) || operator.CheckPassword(asha.PasswordHash, pw) ||
		asha.FailedLogins != 0 || !asha.LockedUntil.IsZero() || asha.TOTPSecret != secret || asha.Disabled {
		t.Fatalf("after reset: %+v", asha)
	}
	sessionGone := func(what string) {
		t.Helper()
		err := st.View(ctx, func(tx offramp.ReadTx) error {
			_, err := tx.OperatorSession(ctx, session.TokenHash)
			return err
		})
		if err == nil {
			t.Fatalf("the session survived %s", what)
		}
	}
	sessionGone("the reset")
	if _, err := e.run(pw2, "admin", "operators", "reset", "--email", "nobody@ops.example", "--password-stdin", "--by", "root-ops"); err == nil ||
		!strings.Contains(err.Error(), "no operator") {
		t.Fatalf("reset of an unknown operator: %v", err)
	}

	if err := st.Update(ctx, func(tx offramp.Tx) error { return tx.PutOperatorSession(ctx, session) }); err != nil {
		t.Fatal(err)
	}
	out = e.mustRun("", "admin", "operators", "disable", "--email", "asha@ops.example", "--by", "root-ops")
	if !strings.Contains(out, "disabled") || !e.operator(st, "asha@ops.example").Disabled {
		t.Fatalf("disable: %s", out)
	}
	sessionGone("disable")
	if out := e.mustRun("", "admin", "operators", "disable", "--email", "asha@ops.example", "--by", "root-ops"); !strings.Contains(out, "already disabled") {
		t.Fatalf("second disable: %s", out)
	}

	// Every change, and only the changes, in the audit log under --by.
	var entries []offramp.AuditEntry
	if err := st.View(ctx, func(tx offramp.ReadTx) error {
		entries, err = tx.ListAudit(ctx, "", "", 100)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range entries {
		if a.Actor != "root-ops" || a.ObjectType != objectOperator || a.ObjectID == uuid.Nil {
			t.Fatalf("audit entry %+v", a)
		}
		got = append(got, a.Action+" "+a.Details["email"])
	}
	want := []string{"operator.disable asha@ops.example", "operator.reset_password asha@ops.example",
		"operator.create vikram@ops.example", "operator.create asha@ops.example"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("audit log, newest first:\n %v\nwant\n %v", got, want)
	}
	if entries[1].Reason != "lost her phone" || entries[1].Details["failed_logins"] != "7" {
		t.Fatalf("reset's audit entry: %+v", entries[1])
	}
}

// TestAdminAuditVerify: verify passes on the chain the CLI wrote, then
// names the first entry whose row was edited behind the store's back
// (seq 2), exits non-zero, and names an entry deleted from the middle.
func TestAdminAuditVerify(t *testing.T) {
	e := newOperatorsEnv(t)
	out, err := e.run("", "admin", "audit", "verify")
	if err != nil || !strings.Contains(out, "audit chain intact: 0 entries") {
		t.Fatalf("verify of an empty log: %v\n%s", err, out)
	}
	for _, email := range []string{"a@ops.example", "b@ops.example", "c@ops.example"} {
		e.mustRun("a long enough password", "admin", "operators", "create", "--email", email, "--role", "operator",
			"--password-stdin", "--by", "root-ops")
	}
	out = e.mustRun("", "admin", "audit", "verify")
	if !strings.Contains(out, "audit chain intact: 3 entries") || !strings.Contains(out, "head: seq 3 hash ") {
		t.Fatalf("verify: %s", out)
	}

	db, err := sql.Open("sqlite", e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id2 string
	if err := db.QueryRow(`SELECT id FROM audit_log WHERE seq = 2`).Scan(&id2); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_log SET actor = 'x' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	out, err = e.run("", "admin", "audit", "verify")
	if err == nil || !strings.Contains(out, "audit chain broken at seq 2 (id "+id2+")") ||
		!strings.Contains(out, "was changed") || !strings.Contains(out, "1 entries before it are intact") {
		t.Fatalf("verify after editing seq 2: %v\n%s", err, out)
	}
	out, _ = e.run("", "admin", "audit", "verify", "--json")
	var v struct {
		Intact bool
		Broken struct {
			Seq int64
			ID  string
		}
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Intact || v.Broken.Seq != 2 || v.Broken.ID != id2 {
		t.Fatalf("verify --json: %v\n%s", err, out)
	}

	// Deleting the edited entry leaves a gap, named at the entry after it.
	if _, err := db.Exec(`DELETE FROM audit_log WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	out, err = e.run("", "admin", "audit", "verify")
	if err == nil || !strings.Contains(out, "broken at seq 3") || !strings.Contains(out, "seq 3 follows seq 1") {
		t.Fatalf("verify after deleting seq 2: %v\n%s", err, out)
	}
}
