package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/httpapi"
	"github.com/offramp/offramp/service"
	"github.com/offramp/offramp/vault"
)

// TestServeRateLimitFlags: serve's rate-limit flags have their documented
// names and defaults, read OFFRAMP_* variables, and refuse values that
// mean nothing (a rate that is not positive, a burst below 1) with an
// error naming the flag, before anything starts; inf turns a limit off.
func TestServeRateLimitFlags(t *testing.T) {
	defaults := map[string]string{
		"key-rate-limit": "100", "key-rate-burst": "200", "global-rate-limit": "1000", "global-rate-burst": "2000",
	}
	flags := serveCmd().Flags()
	for name, want := range defaults {
		f := flags.Lookup(name)
		if f == nil || f.DefValue != want {
			t.Fatalf("--%s: %+v, want the default %s", name, f, want)
		}
	}

	t.Setenv("OFFRAMP_KEY_RATE_LIMIT", "2.5")
	t.Setenv("OFFRAMP_KEY_RATE_BURST", "7")
	t.Setenv("OFFRAMP_GLOBAL_RATE_LIMIT", "inf")
	t.Setenv("OFFRAMP_GLOBAL_RATE_BURST", "9")
	cmd := serveCmd()
	for name, want := range map[string]string{"key-rate-limit": "2.5", "key-rate-burst": "7", "global-rate-limit": "+Inf", "global-rate-burst": "9"} {
		if f := cmd.Flags().Lookup(name); f.DefValue != want {
			t.Fatalf("--%s from the environment: %s, want %s", name, f.DefValue, want)
		}
	}
	var f serveFlags
	f.rateLimits = rateLimitFlags{keyRate: 2.5, keyBurst: 7, globalRate: math.Inf(1), globalBurst: 9}
	got, err := f.rateLimits.resolve()
	if err != nil || got != (httpapi.RateLimit{KeyRate: 2.5, KeyBurst: 7, GlobalRate: math.Inf(1), GlobalBurst: 9}) {
		t.Fatalf("resolve: %+v, %v", got, err)
	}
	for _, name := range []string{"OFFRAMP_KEY_RATE_LIMIT", "OFFRAMP_KEY_RATE_BURST", "OFFRAMP_GLOBAL_RATE_LIMIT", "OFFRAMP_GLOBAL_RATE_BURST"} {
		t.Setenv(name, "")
	}

	t.Setenv("OFFRAMP_MASTER_KEY", vault.EncodeKey(bytes.Repeat([]byte{7}, 32)))
	db := filepath.Join(t.TempDir(), "offramp.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--key-rate-limit", "0"}, "--key-rate-limit must be a positive number of requests per second (or inf for no limit), got 0"},
		{[]string{"--key-rate-limit", "-5"}, "--key-rate-limit must be a positive number"},
		{[]string{"--key-rate-limit", "NaN"}, "--key-rate-limit must be a positive number"},
		{[]string{"--key-rate-limit", "-inf"}, "--key-rate-limit must be a positive number"},
		{[]string{"--key-rate-limit", "fast"}, `invalid argument "fast" for "--key-rate-limit"`},
		{[]string{"--key-rate-burst", "0"}, "--key-rate-burst must be at least 1, got 0"},
		{[]string{"--key-rate-burst", "-1"}, "--key-rate-burst must be at least 1, got -1"},
		{[]string{"--global-rate-limit", "0"}, "--global-rate-limit must be a positive number"},
		{[]string{"--global-rate-limit", "-0.5"}, "--global-rate-limit must be a positive number"},
		{[]string{"--global-rate-burst", "0"}, "--global-rate-burst must be at least 1, got 0"},
	} {
		var out bytes.Buffer
		root := rootCmd()
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append([]string{"serve", "--db", db, "--env", "sandbox", "--addr", "127.0.0.1:0", "--admin-addr="}, c.args...))
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // should a value be taken, serve stops at once instead of serving
		err := root.ExecuteContext(ctx)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("serve %v: %v\n%s\nwant an error saying %q", c.args, err, out.String(), c.want)
		}
	}
}

// TestAdminIPAllowlist: `offramp admin ip-allowlist` shows no allowlist on
// a new organization; set stores the networks given (repeated or
// comma-separated, single addresses as /32 and /128) canonically, sorted
// and without duplicates, and show prints them; every bad entry is named
// with what is wrong, and nothing is stored; clear lifts the restriction;
// an unknown organization is refused; each change is in the audit log
// with who made it and the list before and after.
func TestAdminIPAllowlist(t *testing.T) {
	e := newOperatorsEnv(t)
	var org map[string]string
	if err := json.Unmarshal([]byte(e.mustRun("", "admin", "create-org", "--name", "Allowlisted Exchange", "--by", "asha@ops.example", "--json")), &org); err != nil {
		t.Fatal(err)
	}
	orgID := org["org_id"]
	show := func() []string {
		t.Helper()
		var v allowlistJSON
		if err := json.Unmarshal([]byte(e.mustRun("", "admin", "ip-allowlist", "show", "--org", orgID, "--json")), &v); err != nil {
			t.Fatal(err)
		}
		if v.OrgID != orgID || v.IPAllowlist == nil {
			t.Fatalf("show --json: %+v", v)
		}
		return v.IPAllowlist
	}
	if out := e.mustRun("", "admin", "ip-allowlist", "show", "--org", orgID); !strings.Contains(out, "no IP allowlist") {
		t.Fatalf("show of a new organization:\n%s", out)
	}
	if got := show(); len(got) != 0 {
		t.Fatalf("a new organization's allowlist: %v", got)
	}

	out := e.mustRun("", "admin", "ip-allowlist", "set", "--org", orgID, "--cidr", "2001:db8::/32", "--cidr", "203.0.113.0/24,198.51.100.7",
		"--cidr", " 203.0.113.0/24 ", "--cidr", "2001:db8::1", "--why", "ticket 42", "--by", "ravi@ops.example")
	want := []string{"198.51.100.7/32", "203.0.113.0/24", "2001:db8::/32", "2001:db8::1/128"}
	for _, w := range want {
		if !strings.Contains(out, "  "+w+"\n") {
			t.Fatalf("set printed:\n%s\nwant %s listed", out, w)
		}
	}
	if got := show(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("after set: %v, want %v", got, want)
	}

	unknown := uuid.NewString()
	for _, c := range []struct {
		what string
		args []string
		want []string
	}{
		{"host bits", []string{"set", "--org", orgID, "--cidr", "203.0.113.5/24"}, []string{"203.0.113.5/24 has host bits set; the network is 203.0.113.0/24"}},
		{"not an address", []string{"set", "--org", orgID, "--cidr", "10.0.0.0/8", "--cidr", "intranet"}, []string{`"intranet" is not a CIDR`}},
		{"two at once", []string{"set", "--org", orgID, "--cidr", "10.0.0.256/8", "--cidr", "::ffff:192.0.2.1"},
			[]string{`"10.0.0.256/8" is not a CIDR`, "::ffff:192.0.2.1/128 is an IPv4-mapped IPv6 network; list its IPv4 form (192.0.2.1/32)"}},
		{"a prefix too long", []string{"set", "--org", orgID, "--cidr", "10.0.0.0/33"}, []string{`"10.0.0.0/33" is not a CIDR`}},
		{"a zone", []string{"set", "--org", orgID, "--cidr", "fe80::1%eth0"}, []string{`"fe80::1%eth0" is not a CIDR`}},
		{"an empty entry", []string{"set", "--org", orgID, "--cidr", "10.0.0.0/8,,192.0.2.0/24"}, []string{"An empty entry is not a network."}},
		{"no --cidr", []string{"set", "--org", orgID}, []string{`required flag(s) "cidr" not set`}},
		{"an unknown organization", []string{"set", "--org", unknown, "--cidr", "10.0.0.0/8"}, []string{"Organization not found"}},
		{"clear of an unknown organization", []string{"clear", "--org", unknown}, []string{"Organization not found"}},
		{"show of an unknown organization", []string{"show", "--org", unknown}, []string{"Organization not found"}},
		{"an --org that is no id", []string{"show", "--org", "acme"}, []string{`--org "acme" is not an organization id`}},
	} {
		out, err := e.run("", append([]string{"admin", "ip-allowlist"}, c.args...)...)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error()+out, w) {
				t.Fatalf("%s: %v\n%s\nwant an error saying %q", c.what, err, out, w)
			}
		}
	}
	var many []string
	for i := range offramp.MaxIPAllowlist + 1 {
		many = append(many, "10.0."+strconv.Itoa(i)+".0/24")
	}
	if _, err := e.run("", "admin", "ip-allowlist", "set", "--org", orgID, "--cidr", strings.Join(many, ",")); err == nil || !strings.Contains(err.Error(), "at most 64 networks, not 65") {
		t.Fatalf("65 networks: %v", err)
	}
	if got := show(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("the refusals changed the allowlist: %v", got)
	}

	if out := e.mustRun("", "admin", "ip-allowlist", "clear", "--org", orgID, "--by", "lina@ops.example"); !strings.Contains(out, "no IP allowlist") {
		t.Fatalf("clear printed:\n%s", out)
	}
	if got := show(); len(got) != 0 {
		t.Fatalf("after clear: %v", got)
	}

	st := e.store()
	ctx := context.Background()
	err := st.View(ctx, func(tx offramp.ReadTx) error {
		entries, err := tx.AuditEntries(ctx, offramp.ObjectOrg, uuid.MustParse(orgID))
		if err != nil {
			return err
		}
		var got []string
		for _, a := range entries {
			if a.Action == service.ActionIPAllowlistSet {
				got = append(got, a.Actor+": "+a.Details["was"]+" -> "+a.Details["allowlist"]+" ("+a.Reason+")")
			}
		}
		want := []string{
			"ravi@ops.example:  -> 198.51.100.7/32,203.0.113.0/24,2001:db8::/32,2001:db8::1/128 (ticket 42)",
			"lina@ops.example: 198.51.100.7/32,203.0.113.0/24,2001:db8::/32,2001:db8::1/128 ->  (IP allowlist cleared)",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("audit:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
