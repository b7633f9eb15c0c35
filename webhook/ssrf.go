package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrRefused is wrapped by every refusal of a destination: by the delivery
// client at dial time and by [CheckURL] for internal hosts.
var ErrRefused = errors.New("webhook: destination refused")

// DefaultTimeout bounds one delivery attempt (connect, TLS, request and
// response) when ClientOptions.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// ClientOptions configures [NewClient].
type ClientOptions struct {
	// AllowPrivate lets deliveries reach loopback, private and other
	// non-public addresses. For development only; never in production.
	AllowPrivate bool
	// Timeout bounds one attempt; DefaultTimeout when zero.
	Timeout time.Duration
}

// NewClient returns the http.Client for deliveries. It never follows
// redirects (a 3xx is returned as the response, so it counts as a non-2xx
// answer), uses no proxy from the environment and, unless AllowPrivate,
// refuses at dial time any connection to a non-public address (see
// [CheckAddr] for the list). The check runs in net.Dialer.Control on the
// resolved address being connected to, so DNS rebinding cannot get around
// it. Hosts written in non-standard IPv4 notation ("2130706433",
// "0x7f000001", "0177.0.0.1", "127.1") are refused before resolution in
// every mode. Refusals wrap ErrRefused and name the address.
func NewClient(o ClientOptions) *http.Client {
	return newClient(o, hooks{})
}

// hooks are test-only knobs.
type hooks struct {
	// resolver replaces the system resolver.
	resolver *net.Resolver
	// allow, if set, exempts the addresses it returns true for from the
	// guard (a test server on loopback).
	allow func(netip.AddrPort) bool
}

func newClient(o ClientOptions, hk hooks) *http.Client {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Resolver: hk.resolver}
	if !o.AllowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			return guard(network, address, hk.allow)
		}
	}
	tr := &http.Transport{
		Proxy: nil, // never HTTP(S)_PROXY: a proxy would dial for us, unguarded
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if nonStandardIPv4(host) {
				return nil, fmt.Errorf("%w: host %q is in non-standard IPv4 notation", ErrRefused, host)
			}
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// guard is the dial-time check: address is the resolved "ip:port" about to
// be connected to.
func guard(network, address string, allow func(netip.AddrPort) bool) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("%w: network %q", ErrRefused, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable address %q", ErrRefused, address)
	}
	if allow != nil && allow(ap) {
		return nil
	}
	if err := CheckAddr(ap.Addr()); err != nil {
		return fmt.Errorf("%w (connecting to %s)", err, address)
	}
	return nil
}

type rangeRule struct {
	prefix netip.Prefix
	reason string
}

func rules(pairs ...string) []rangeRule {
	out := make([]rangeRule, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, rangeRule{netip.MustParsePrefix(pairs[i]), pairs[i+1]})
	}
	return out
}

// blocked4 follows the IANA IPv4 special-purpose address registry: every
// range that is not globally reachable unicast. The first match names the
// reason.
var blocked4 = rules(
	"255.255.255.255/32", "broadcast",
	"0.0.0.0/8", "unspecified (\"this network\")",
	"10.0.0.0/8", "private",
	"100.64.0.0/10", "shared address space (CGNAT)",
	"127.0.0.0/8", "loopback",
	"169.254.0.0/16", "link-local",
	"172.16.0.0/12", "private",
	"192.0.0.0/24", "IETF protocol assignments",
	"192.0.2.0/24", "documentation",
	"192.88.99.0/24", "6to4 relay anycast",
	"192.168.0.0/16", "private",
	"198.18.0.0/15", "benchmarking",
	"198.51.100.0/24", "documentation",
	"203.0.113.0/24", "documentation",
	"224.0.0.0/4", "multicast",
	"240.0.0.0/4", "reserved",
)

// nat64 embeds an IPv4 address in its last 32 bits (RFC 6052); it is
// allowed exactly when the embedded address is.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// blocked6 lists the IPv6 ranges refused by name; anything else outside
// global unicast 2000::/3 is refused too.
var blocked6 = rules(
	"::/128", "unspecified",
	"::1/128", "loopback",
	"::/96", "IPv4-compatible",
	"64:ff9b:1::/48", "local-use NAT64",
	"100::/64", "discard-only",
	"2001::/23", "IETF protocol assignments (Teredo, ...)",
	"2001:db8::/32", "documentation",
	"2002::/16", "6to4",
	"3fff::/20", "documentation",
	"5f00::/16", "segment routing (SRv6)",
	"fc00::/7", "unique local (private)",
	"fe80::/10", "link-local",
	"fec0::/10", "site-local",
	"ff00::/8", "multicast",
)

var global6 = netip.MustParsePrefix("2000::/3")

// CheckAddr returns an error wrapping ErrRefused, with the reason, if a is
// not a public unicast address. Refused: loopback, unspecified, private
// (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16, which
// holds the cloud metadata address 169.254.169.254, and fe80::/10), CGNAT
// 100.64/10, multicast, broadcast, 192.0.0.0/24, benchmarking 198.18/15,
// documentation, reserved 240/4 and 0/8, every IPv6 range outside 2000::/3
// and the special ones inside it (6to4, Teredo, ...). IPv4-mapped
// (::ffff:a.b.c.d) and NAT64 (64:ff9b::/96) addresses are judged by the IPv4
// address they embed. This is the list NewClient's dial guard uses.
func CheckAddr(a netip.Addr) error {
	if why, bad := blockedReason(a); bad {
		return fmt.Errorf("%w: address %s is %s", ErrRefused, a, why)
	}
	return nil
}

func blockedReason(a netip.Addr) (string, bool) {
	if !a.IsValid() {
		return "invalid", true
	}
	a = a.WithZone("")
	if a.Is4In6() {
		if why, bad := blockedReason4(a.Unmap()); bad {
			return "IPv4-mapped " + why, true
		}
		return "", false
	}
	if a.Is4() {
		return blockedReason4(a)
	}
	if nat64.Contains(a) {
		b := a.As16()
		if why, bad := blockedReason4(netip.AddrFrom4([4]byte(b[12:16]))); bad {
			return "NAT64 of " + why, true
		}
		return "", false
	}
	for _, r := range blocked6 {
		if r.prefix.Contains(a) {
			return r.reason, true
		}
	}
	if !global6.Contains(a) {
		return "reserved (outside 2000::/3)", true
	}
	return "", false
}

func blockedReason4(a netip.Addr) (string, bool) {
	for _, r := range blocked4 {
		if r.prefix.Contains(a) {
			return r.reason, true
		}
	}
	return "", false
}

// nonStandardIPv4 reports whether host is not a standard IP literal but
// would be read as an IPv4 address by some resolver or URL parser:
// inet_aton's forms (one to three parts, octal "0177", hex "0x7f") and
// WHATWG's "ends in a number" rule. No real domain name has an all-numeric
// or hex last label, so such hosts are only ever ambiguous.
func nonStandardIPv4(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return false
	}
	h := strings.TrimSuffix(host, ".")
	last := h[strings.LastIndexByte(h, '.')+1:]
	if last == "" {
		return false
	}
	if allIn(last, "0123456789") {
		return true
	}
	return len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') &&
		allIn(last[2:], "0123456789abcdefABCDEF")
}

func allIn(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

// CheckURL is the registration-time check of a webhook URL. It requires an
// http or https URL (https only when requireHTTPS) with a host, no
// credentials and, when given, a port in 1-65535; non-default ports are
// allowed. It always refuses hosts in non-standard IPv4 notation
// ("2130706433", "0x7f000001", "0177.0.0.1", "127.1", "127.0.0.1."), which
// resolvers disagree on, and non-ASCII host names (register the xn--
// form). Unless allowPrivate it also refuses IP literals that [CheckAddr]
// refuses, "localhost" and names under .localhost, .local, .internal and
// .home.arpa, and single-label names (resolved through search domains).
// Destination refusals wrap ErrRefused.
//
// Names are not resolved here: what a name resolves to can change, so the
// delivery client checks the address at every dial.
func CheckURL(raw string, allowPrivate, requireHTTPS bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("webhook: invalid URL: %w", err)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && !requireHTTPS:
	case u.Scheme == "http":
		return errors.New("webhook: URL must use https")
	default:
		return fmt.Errorf("webhook: URL scheme %q is not http or https", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return errors.New("webhook: URL has no host")
	}
	if u.User != nil {
		return errors.New("webhook: URL must not contain credentials")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("webhook: URL port %q is out of range", p)
		}
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if allowPrivate {
			return nil
		}
		return CheckAddr(a)
	}
	if nonStandardIPv4(host) {
		return fmt.Errorf("%w: host %q is in non-standard IPv4 notation", ErrRefused, host)
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if !validHostname(name) {
		return fmt.Errorf("webhook: host %q is not a valid ASCII host name (use the xn-- form for international names)", host)
	}
	if allowPrivate {
		return nil
	}
	if name == "localhost" {
		return fmt.Errorf("%w: host %q is local", ErrRefused, host)
	}
	for _, suffix := range []string{".localhost", ".local", ".internal", ".home.arpa"} {
		if strings.HasSuffix(name, suffix) {
			return fmt.Errorf("%w: host %q is under %s, which is not public", ErrRefused, host, suffix)
		}
	}
	if !strings.Contains(name, ".") {
		return fmt.Errorf("%w: host %q is a single-label name; use a fully qualified domain name", ErrRefused, host)
	}
	return nil
}

// validHostname accepts dot-separated labels of ASCII letters, digits, '-'
// and '_' (some real hosts use it).
func validHostname(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || !allIn(label, "abcdefghijklmnopqrstuvwxyz0123456789-_") {
			return false
		}
	}
	return true
}
