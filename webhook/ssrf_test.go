package webhook

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingListener counts accepted connections: the SSRF pass criterion is
// that a loopback canary accepts none.
type countingListener struct {
	net.Listener
	accepted *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// startCanary serves 200 on a listener for network/address and counts its
// connections into n.
func startCanary(t *testing.T, network, address string, n *atomic.Int64, h http.Handler) (*httptest.Server, bool) {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, false
	}
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusOK)
		})
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = countingListener{ln, n}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, true
}

func post(c *http.Client, url string) (*http.Response, error) {
	resp, err := c.Post(url, "application/json", strings.NewReader(`{}`))
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

// TestSSRFDelivery is test-plan row 17 at delivery time: every request
// aimed at loopback, however spelled or resolved, fails before a connection
// is made, and the loopback canary accepts nothing.
func TestSSRFDelivery(t *testing.T) {
	var accepted atomic.Int64
	canary, _ := startCanary(t, "tcp4", "127.0.0.1:0", &accepted, nil)
	port := strconv.Itoa(canary.Listener.Addr().(*net.TCPAddr).Port)
	canary6, have6 := startCanary(t, "tcp6", "[::1]:0", &accepted, nil)

	loop4, loop6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	dns := startFakeDNS(t, map[string][]netip.Addr{
		"localhost.":          {loop4, loop6},
		"rebind.example.com.": {loop4, loop6},
		"mapped.example.com.": {netip.MustParseAddr("::ffff:127.0.0.1")},
		"zero.example.com.":   {netip.MustParseAddr("0.0.0.0")},
	})
	guarded := newClient(ClientOptions{}, hooks{resolver: dns.resolver()})
	// Every name and address here stays on this machine even if the guard
	// were broken; off-machine ranges (169.254.169.254, 10/8, ...) are
	// covered by TestGuard and TestCheckURL without dialing.

	type row struct {
		name, url string
		skip      bool
	}
	cases := []row{
		{"loopback", "http://127.0.0.1:" + port, false},
		{"localhost", "http://localhost:" + port, false},
		{"localhost dot", "http://localhost.:" + port, false},
		{"ipv6 loopback", "", !have6},
		{"unspecified", "http://0.0.0.0:" + port, false},
		{"ipv4-mapped", "http://[::ffff:127.0.0.1]:" + port, false},
		{"ipv4-mapped hex", "http://[::ffff:7f00:1]:" + port, false},
		{"decimal", "http://2130706433:" + port, false},
		{"hex", "http://0x7f000001:" + port, false},
		{"octal", "http://0177.0.0.1:" + port, false},
		{"short", "http://127.1:" + port, false},
		{"trailing dot literal", "http://127.0.0.1.:" + port, false},
		{"name resolving to loopback (rebinding)", "http://rebind.example.com:" + port, false},
		{"name resolving to ipv4-mapped loopback", "http://mapped.example.com:" + port, false},
		{"name resolving to 0.0.0.0", "http://zero.example.com:" + port, false},
	}
	if have6 {
		cases[3].url = "http://[::1]:" + strconv.Itoa(canary6.Listener.Addr().(*net.TCPAddr).Port)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.skip {
				t.Skip("no IPv6 loopback")
			}
			resp, err := post(guarded, c.url)
			if err == nil {
				t.Fatalf("POST %s: status %d, want a refusal", c.url, resp.StatusCode)
			}
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("POST %s: %v, want an error wrapping ErrRefused", c.url, err)
			}
			t.Log(err)
		})
	}
	if n := dns.queries.Load(); n == 0 {
		t.Error("the fake DNS server saw no query: the names were not resolved through it")
	}
	// The rebinding name passes the registration check; only the dial-time
	// guard stops it.
	if err := CheckURL("https://rebind.example.com/hook", false, true); err != nil {
		t.Errorf("CheckURL(rebind.example.com): %v", err)
	}

	// A 302 from an allowed server to the canary is returned, not followed.
	var redirAccepted atomic.Int64
	redirector, _ := startCanary(t, "tcp4", "127.0.0.1:0", &redirAccepted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, canary.URL+"/internal", http.StatusFound)
	}))
	redirAddr := netip.MustParseAddrPort(redirector.Listener.Addr().String())
	onlyRedirector := newClient(ClientOptions{}, hooks{
		resolver: dns.resolver(),
		allow:    func(ap netip.AddrPort) bool { return ap == redirAddr },
	})
	for name, c := range map[string]*http.Client{"guarded": onlyRedirector, "AllowPrivate": NewClient(ClientOptions{AllowPrivate: true})} {
		resp, err := post(c, redirector.URL+"/hook")
		if err != nil {
			t.Fatalf("%s: POST to the redirector: %v", name, err)
		}
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != canary.URL+"/internal" {
			t.Errorf("%s: got %d Location %q, want the 302 itself", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if redirAccepted.Load() == 0 {
		t.Error("the redirector was never reached")
	}

	if n := accepted.Load(); n != 0 {
		t.Fatalf("the loopback canary accepted %d connections, want 0", n)
	}

	// Development mode reaches loopback.
	resp, err := post(NewClient(ClientOptions{AllowPrivate: true}), canary.URL)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("AllowPrivate POST to the canary: %v", err)
	}
	if accepted.Load() == 0 {
		t.Fatal("AllowPrivate: the canary saw no connection")
	}
	// Non-standard notation stays refused even then.
	if _, err := post(NewClient(ClientOptions{AllowPrivate: true}), "http://2130706433:"+port); !errors.Is(err, ErrRefused) {
		t.Errorf("AllowPrivate, decimal host: %v, want ErrRefused", err)
	}
}

func TestNewClientSettings(t *testing.T) {
	c := NewClient(ClientOptions{})
	if c.Timeout != 10*time.Second {
		t.Errorf("default timeout %v, want 10s", c.Timeout)
	}
	if c := NewClient(ClientOptions{Timeout: 3 * time.Second}); c.Timeout != 3*time.Second {
		t.Errorf("timeout %v, want 3s", c.Timeout)
	}
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport %T", c.Transport)
	}
	if tr.Proxy != nil {
		t.Error("the transport takes a proxy (from the environment?)")
	}
	if c.CheckRedirect == nil || c.CheckRedirect(nil, nil) != http.ErrUseLastResponse {
		t.Error("redirects are followed")
	}
	if c.Jar != nil {
		t.Error("cookie jar set")
	}
}

// TestGuard drives the dial-time check directly with the addresses the
// dialer would hand it; nothing is dialed.
func TestGuard(t *testing.T) {
	refused := []string{
		"127.0.0.1:80", "127.255.255.254:443", "[::1]:80", "0.0.0.0:80", "[::]:80",
		"10.0.0.1:443", "172.16.5.4:443", "172.31.255.255:443", "192.168.1.1:443",
		"100.64.0.1:443", "100.127.255.255:443", "169.254.169.254:80", "[fd00::1]:443",
		"[fc00::1]:443", "[fe80::1]:443", "[fe80::1%eth0]:443", "[::ffff:127.0.0.1]:80",
		"[::ffff:10.1.2.3]:80", "[::127.0.0.1]:80", "[64:ff9b::7f00:1]:80",
		"[64:ff9b::a9fe:a9fe]:80", "[64:ff9b:1::1]:80", "[2002:7f00:1::1]:80",
		"[2001::1]:80", "[2001:db8::1]:80", "224.0.0.1:80", "239.255.255.250:1900",
		"255.255.255.255:80", "192.0.0.8:80", "192.0.2.1:80", "198.18.0.1:80",
		"198.51.100.7:80", "203.0.113.9:80", "240.0.0.1:80", "[ff02::1]:80",
		"[fec0::1]:80", "[100::1]:80", "[::1.2.3.4]:80",
	}
	for _, a := range refused {
		err := guard("tcp", a, nil)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("guard(%s) = %v, want a refusal", a, err)
		}
	}
	allowed := []string{
		"8.8.8.8:443", "1.1.1.1:80", "93.184.215.14:8443", "172.32.0.1:443", "100.128.0.1:443",
		"192.169.0.1:443", "[2606:4700:4700::1111]:443", "[2a00:1450:4001::200e]:443",
		"[::ffff:8.8.8.8]:443", "[64:ff9b::808:808]:443",
	}
	for _, a := range allowed {
		if err := guard("tcp", a, nil); err != nil {
			t.Errorf("guard(%s) = %v, want allowed", a, err)
		}
	}
	if err := guard("udp", "8.8.8.8:53", nil); err == nil {
		t.Error("guard allows udp")
	}
	if err := guard("tcp", "127.0.0.1:9", func(ap netip.AddrPort) bool { return ap.Port() == 9 }); err != nil {
		t.Errorf("allow hook ignored: %v", err)
	}
	err := guard("tcp4", "169.254.169.254:80", nil)
	if err == nil || !strings.Contains(err.Error(), "169.254.169.254") || !strings.Contains(err.Error(), "link-local") {
		t.Errorf("refusal %v does not name the address and the reason", err)
	}
}

func TestCheckURL(t *testing.T) {
	accept := []struct {
		url            string
		private, https bool
	}{
		{url: "https://hooks.example.com/x", https: true},
		{url: "https://hooks.example.com:8443/x?y=1", https: true},
		{url: "https://HOOKS.Example.COM./x", https: true},
		{url: "http://hooks.example.com/x"},
		{url: "https://8.8.8.8/x", https: true},
		{url: "https://[2606:4700:4700::1111]/x", https: true},
		{url: "https://my_host.example.com/x", https: true},
		{url: "https://xn--bcher-kva.example/x", https: true},
		{url: "http://127.0.0.1:8080/x", private: true},
		{url: "http://localhost:8080/x", private: true},
		{url: "http://[::1]:8080/x", private: true},
		{url: "http://receiver/x", private: true},
	}
	for _, c := range accept {
		if err := CheckURL(c.url, c.private, c.https); err != nil {
			t.Errorf("CheckURL(%q, private=%v, https=%v) = %v, want accepted", c.url, c.private, c.https, err)
		}
	}
	refuse := []struct {
		url     string
		https   bool
		private bool
		refused bool // wraps ErrRefused
	}{
		{url: "http://127.0.0.1/x", refused: true},
		{url: "http://127.0.0.1:8080/x", refused: true},
		{url: "http://localhost/x", refused: true},
		{url: "http://localhost./x", refused: true},
		{url: "http://LOCALHOST/x", refused: true},
		{url: "http://api.localhost/x", refused: true},
		{url: "http://printer.local/x", refused: true},
		{url: "http://metadata.google.internal/x", refused: true},
		{url: "http://router.home.arpa/x", refused: true},
		{url: "http://intranet/x", refused: true},
		{url: "http://[::1]/x", refused: true},
		{url: "http://0.0.0.0/x", refused: true},
		{url: "http://[::]/x", refused: true},
		{url: "http://[::ffff:127.0.0.1]/x", refused: true},
		{url: "http://[0:0:0:0:0:ffff:7f00:1]/x", refused: true},
		{url: "http://[::ffff:a9fe:a9fe]/x", refused: true},
		{url: "http://0/x", refused: true},
		{url: "http://2130706433/x", refused: true},
		{url: "http://0x7f000001/x", refused: true},
		{url: "http://0X7F000001/x", refused: true},
		{url: "http://0177.0.0.1/x", refused: true},
		{url: "http://127.1/x", refused: true},
		{url: "http://127.0.0.1./x", refused: true},
		{url: "http://0x7f.1/x", refused: true},
		{url: "http://2130706433/x", private: true, refused: true},
		{url: "http://10.0.0.1/x", refused: true},
		{url: "http://172.16.5.4/x", refused: true},
		{url: "http://192.168.1.1/x", refused: true},
		{url: "http://100.64.0.1/x", refused: true},
		{url: "http://169.254.169.254/latest/meta-data/", refused: true},
		{url: "http://[fd00::1]/x", refused: true},
		{url: "http://[fe80::1]/x", refused: true},
		{url: "http://[fe80::1%25eth0]/x", refused: true},
		{url: "http://[64:ff9b::7f00:1]/x", refused: true},
		{url: "http://224.0.0.1/x", refused: true},
		{url: "http://255.255.255.255/x", refused: true},
		{url: "ftp://hooks.example.com/x"},
		{url: "javascript:alert(1)"},
		{url: "file:///etc/passwd"},
		{url: "gopher://hooks.example.com/"},
		{url: "hooks.example.com/x"},
		{url: "https://"},
		{url: "https:///x"},
		{url: "https://:443/x"},
		{url: "https:hooks.example.com"},
		{url: "http://hooks.example.com/x", https: true},
		{url: "https://user:pass@hooks.example.com/x"},
		{url: "https://hooks.example.com:0/x"},
		{url: "https://hooks.example.com:65536/x"},
		{url: "https://bücher.example/x"},
		{url: "https://a..example.com/x"},
		{url: "https://hooks example.com/x"},
		{url: "https://hooks.example.com\x00/x"},
	}
	for _, c := range refuse {
		err := CheckURL(c.url, c.private, c.https)
		if err == nil {
			t.Errorf("CheckURL(%q, private=%v, https=%v) accepted", c.url, c.private, c.https)
			continue
		}
		if c.refused && !errors.Is(err, ErrRefused) {
			t.Errorf("CheckURL(%q) = %v, want ErrRefused", c.url, err)
		}
	}
}

func TestNonStandardIPv4(t *testing.T) {
	for host, want := range map[string]bool{
		"2130706433": true, "0x7f000001": true, "0177.0.0.1": true, "127.1": true, "127.0.1": true,
		"127.0.0.1.": true, "0x7f.0.0.1": true, "1.2.3.0x4": true, "example.123": true, "0x": true,
		"127.0.0.1": false, "::1": false, "example.com": false, "0x7f.example.com": false,
		"1e100.net": false, "123.example": false, "a.0xg": false, "": false,
	} {
		if got := nonStandardIPv4(host); got != want {
			t.Errorf("nonStandardIPv4(%q) = %v, want %v", host, got, want)
		}
	}
}
