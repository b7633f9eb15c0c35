package offramp_test

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/offramp/offramp"
)

func TestParseIPAllowlist(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string // FormatIPAllowlist of the result
		err  string // a part of the error, "" for none
	}{
		{nil, "", ""},
		{[]string{"203.0.113.0/24"}, "203.0.113.0/24", ""},
		// Sorted IPv4 first, then by address and length; duplicates go;
		// spaces around an entry are ignored.
		{[]string{"2001:db8::/32", " 10.0.0.0/8 ", "10.0.0.0/16", "10.0.0.0/8", "192.0.2.1"}, "10.0.0.0/8,10.0.0.0/16,192.0.2.1/32,2001:db8::/32", ""},
		{[]string{"2001:DB8::1"}, "2001:db8::1/128", ""},
		{[]string{"0.0.0.0/0", "::/0"}, "0.0.0.0/0,::/0", ""},
		{[]string{"203.0.113.7/24"}, "", "203.0.113.7/24 has host bits set; the network is 203.0.113.0/24 (or list the single address 203.0.113.7/32)"},
		{[]string{"::ffff:203.0.113.0/120"}, "", "list its IPv4 form (203.0.113.0/24)"},
		{[]string{"::ffff:0:0/96"}, "", "list its IPv4 form (0.0.0.0/0)"},
		{[]string{"::ffff:0:0/90"}, "", "list IPv4 networks in their IPv4 form"},
		{[]string{"fe80::1%eth0"}, "", `"fe80::1%eth0" is not a CIDR`},
		{[]string{"fe80::%eth0/64"}, "", `"fe80::%eth0/64" is not a CIDR`},
		{[]string{"10.0.0.0/8", ""}, "", "An empty entry is not a network."},
		{[]string{"example.com"}, "", `"example.com" is not a CIDR`},
		{[]string{"10.0.0.0/8/8"}, "", `"10.0.0.0/8/8" is not a CIDR`},
	} {
		got, err := offramp.ParseIPAllowlist(c.in)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q: %v", c.in, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || offramp.ErrorCode(err) != offramp.CodeInvalid):
			t.Errorf("%q: %v, want an invalid_request saying %q", c.in, err, c.err)
		case c.err == "" && offramp.FormatIPAllowlist(got) != c.want:
			t.Errorf("%q: %q, want %q", c.in, offramp.FormatIPAllowlist(got), c.want)
		case c.err == "" && c.want == "" && got != nil:
			t.Errorf("%q: %#v, want nil", c.in, got)
		}
	}
	many := make([]string, offramp.MaxIPAllowlist+1)
	for i := range many {
		many[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16).String()
	}
	if _, err := offramp.ParseIPAllowlist(many[:offramp.MaxIPAllowlist]); err != nil {
		t.Errorf("%d networks: %v", offramp.MaxIPAllowlist, err)
	}
	if _, err := offramp.ParseIPAllowlist(many); err == nil {
		t.Errorf("%d networks accepted", len(many))
	}
	// Duplicates do not count against the cap.
	if _, err := offramp.ParseIPAllowlist(append(many[:offramp.MaxIPAllowlist:offramp.MaxIPAllowlist], many[0])); err != nil {
		t.Errorf("%d networks and a duplicate: %v", offramp.MaxIPAllowlist, err)
	}
	if _, err := offramp.CanonicalIPAllowlist([]netip.Prefix{{}}); err == nil {
		t.Error("the zero Prefix accepted")
	}
}

func TestIPAllowed(t *testing.T) {
	org := offramp.Org{}
	for _, a := range []string{"203.0.113.9", "2001:db8::1", "127.0.0.1"} {
		if !org.IPAllowed(netip.MustParseAddr(a)) {
			t.Errorf("without an allowlist %s is refused", a)
		}
	}
	if !org.IPAllowed(netip.Addr{}) {
		t.Error("without an allowlist the zero address is refused")
	}
	list, err := offramp.ParseIPAllowlist([]string{"203.0.113.0/24", "2001:db8::/32", "198.51.100.7"})
	if err != nil {
		t.Fatal(err)
	}
	org.IPAllowlist = list
	for a, want := range map[string]bool{
		"203.0.113.0": true, "203.0.113.255": true, "203.0.114.0": false, "203.0.112.255": false,
		"198.51.100.7": true, "198.51.100.8": false,
		"2001:db8::1": true, "2001:db8:ffff::1": true, "2001:db9::": false,
		"::ffff:203.0.113.9":  true, // an IPv4 peer on an IPv6 socket
		"::ffff:198.51.100.8": false,
		"2001:db8::1%eth0":    true, // a zone does not matter
		"::1":                 false, "127.0.0.1": false,
	} {
		if got := org.IPAllowed(netip.MustParseAddr(a)); got != want {
			t.Errorf("IPAllowed(%s) = %v, want %v", a, got, want)
		}
	}
	if org.IPAllowed(netip.Addr{}) {
		t.Error("an allowlist admits the zero address")
	}
	// The list is what ParseIPAllowlist made; reading it back from its
	// format gives the same.
	var back []netip.Prefix
	for _, s := range strings.Split(offramp.FormatIPAllowlist(list), ",") {
		back = append(back, netip.MustParsePrefix(s))
	}
	if !reflect.DeepEqual(back, list) {
		t.Errorf("format and parse: %v, want %v", back, list)
	}
}
