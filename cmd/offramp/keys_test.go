package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/service"
)

// TestAdminKeys: `offramp admin keys` rotates an organization's key
// without downtime: create prints a second key and its secret once, list
// shows both (never a secret), revoke retires the first, which no longer
// finds the organization while the second does; the refusals (an unknown
// organization, the last live key, no --why) change nothing; every change
// is in the audit log, the JavaScript-signature switch included.
func TestAdminKeys(t *testing.T) {
	e := newOperatorsEnv(t)
	var org map[string]string
	if err := json.Unmarshal([]byte(e.mustRun("", "admin", "create-org", "--name", "Rotating Exchange", "--by", "asha@ops.example", "--json")), &org); err != nil {
		t.Fatal(err)
	}
	orgID := org["org_id"]

	list := func() []keyJSON {
		t.Helper()
		var keys []keyJSON
		if err := json.Unmarshal([]byte(e.mustRun("", "admin", "keys", "list", "--org", orgID, "--json")), &keys); err != nil {
			t.Fatal(err)
		}
		return keys
	}
	keys := list()
	if len(keys) != 1 || keys[0].APIKey != org["api_key"] || keys[0].Label != "primary" || !keys[0].Live ||
		keys[0].LastUsedAt != nil || keys[0].RevokedAt != nil {
		t.Fatalf("keys of a new organization: %+v", keys)
	}
	first := keys[0]

	var created map[string]string
	out := e.mustRun("", "admin", "keys", "create", "--org", orgID, "--label", "rotation 2026-12", "--by", "ravi@ops.example", "--json")
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("keys create --json: %v\n%s", err, out)
	}
	if created["org_id"] != orgID || created["label"] != "rotation 2026-12" || created["api_key"] == "" || len(created["api_secret"]) != 64 {
		t.Fatalf("keys create --json printed %v", created)
	}
	// Without --json: the secret, once, said so; a default label.
	out = e.mustRun("", "admin", "keys", "create", "--org", orgID, "--by", "lina@ops.example")
	if !strings.Contains(out, "API secret") || !strings.Contains(out, "shown only this once") || !strings.Contains(out, `"key `) {
		t.Fatalf("keys create printed:\n%s", out)
	}
	third := list()[2]

	table := e.mustRun("", "admin", "keys", "list", "--org", orgID)
	for _, want := range []string{"KEY ID", "LAST USED", first.ID, org["api_key"], created["key_id"], created["api_key"], "rotation 2026-12", "primary", "ravi@ops.example"} {
		if !strings.Contains(table, want) {
			t.Fatalf("keys list lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, created["api_secret"]) || strings.Contains(table, org["api_secret"]) {
		t.Fatalf("keys list printed a secret:\n%s", table)
	}

	out = e.mustRun("", "admin", "keys", "revoke", "--org", orgID, "--key", first.ID, "--why", "rotated to the 2026-12 key", "--by", "ravi@ops.example")
	if !strings.Contains(out, "revoked") || !strings.Contains(out, "Invalid API key") {
		t.Fatalf("keys revoke printed:\n%s", out)
	}
	keys = list()
	if len(keys) != 3 || keys[0].Live || keys[0].RevokedBy != "ravi@ops.example" || keys[0].RevokedAt == nil || !keys[1].Live || !keys[2].Live {
		t.Fatalf("keys after the revocation: %+v", keys)
	}
	// --by defaults to the OS user (a machine without one needs --by).
	revoker, args := osUser(), []string{"admin", "keys", "revoke", "--org", orgID, "--key", third.ID, "--why", "not needed"}
	if revoker == "" {
		revoker = "nobody"
		args = append(args, "--by", revoker)
	}
	e.mustRun("", args...)

	// The refusals.
	unknown := uuid.NewString()
	for _, c := range []struct {
		what string
		args []string
		want string
	}{
		{"list of an unknown organization", []string{"admin", "keys", "list", "--org", unknown}, "Organization not found"},
		{"create in an unknown organization", []string{"admin", "keys", "create", "--org", unknown}, "Organization not found"},
		{"revoke in an unknown organization", []string{"admin", "keys", "revoke", "--org", unknown, "--key", created["key_id"], "--why", "x"}, "Organization not found"},
		{"revoke of the last live key", []string{"admin", "keys", "revoke", "--org", orgID, "--key", created["key_id"], "--why", "x"}, "last live API key"},
		{"revoke of a revoked key", []string{"admin", "keys", "revoke", "--org", orgID, "--key", first.ID, "--why", "x"}, "already revoked"},
		{"revoke of an unknown key", []string{"admin", "keys", "revoke", "--org", orgID, "--key", unknown, "--why", "x"}, "API key not found"},
		{"revoke without --why", []string{"admin", "keys", "revoke", "--org", orgID, "--key", created["key_id"]}, `required flag(s) "why" not set`},
		{"revoke with an empty --why", []string{"admin", "keys", "revoke", "--org", orgID, "--key", created["key_id"], "--why", " "}, "why: This field is required."},
		{"an --org that is no id", []string{"admin", "keys", "list", "--org", "acme"}, `--org "acme" is not an organization id`},
		{"a label of two lines", []string{"admin", "keys", "create", "--org", orgID, "--label", "a\nb"}, "one line of printable text"},
	} {
		out, err := e.run("", c.args...)
		if err == nil || !strings.Contains(err.Error()+out, c.want) {
			t.Fatalf("%s: %v\n%s\nwant an error saying %q", c.what, err, out, c.want)
		}
	}
	if keys := list(); len(keys) != 3 || !keys[1].Live || keys[1].ID != created["key_id"] {
		t.Fatalf("keys after the refusals: %+v", keys)
	}

	e.mustRun("", "admin", "js-signatures", "--org", orgID, "--allow=true", "--why", "their SDK signs the JavaScript way", "--by", "asha@ops.example")

	// What a server sees: the revoked key finds nothing, the new key finds
	// the organization with the secret create printed.
	st := e.store()
	ctx := context.Background()
	err := st.View(ctx, func(tx offramp.ReadTx) error {
		if _, err := tx.OrgByAPIKey(ctx, org["api_key"]); err == nil {
			t.Error("the revoked key still finds its organization")
		}
		o, err := tx.OrgByAPIKey(ctx, created["api_key"])
		if err != nil {
			return err
		}
		if o.ID.String() != orgID || o.APISecret != created["api_secret"] || !o.AllowJSReplacerSignatures {
			t.Errorf("the new key finds %+v", o)
		}
		entries, err := tx.AuditEntries(ctx, offramp.ObjectOrg, o.ID)
		if err != nil {
			return err
		}
		var got []string
		for _, a := range entries {
			got = append(got, a.Action+" by "+a.Actor)
			for _, secret := range []string{org["api_secret"], created["api_secret"]} {
				for _, v := range a.Details {
					if v == secret {
						t.Errorf("audit entry %s records a secret", a.Action)
					}
				}
			}
		}
		want := []string{
			service.ActionOrgCreated + " by asha@ops.example",
			service.ActionKeyCreated + " by ravi@ops.example",
			service.ActionKeyCreated + " by lina@ops.example",
			service.ActionKeyRevoked + " by ravi@ops.example",
			service.ActionKeyRevoked + " by " + revoker,
			service.ActionJSSignaturesSet + " by asha@ops.example",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("audit of the organization:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if r := entries[3].Reason; r != "rotated to the 2026-12 key" {
			t.Errorf("the revocation's reason: %q", r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
