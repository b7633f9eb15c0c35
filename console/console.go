// Package console is Offramp's operator console: server-rendered HTML pages
// for the people who run the service, on a listener of their own (never
// mounted on the API server, whose callers are exchanges).
//
// Everything is html/template and plain forms: every asset is embedded, no
// CDN, no script framework. Pages are read-only for a viewer; anything that
// moves money or decides a customer is a proposal by one operator that a
// different approver must approve (two-person rule), and every action lands
// in the hash-chained audit log.
//
// Security, in the order a request meets it:
//   - cross-origin unsafe requests are refused (http.CrossOriginProtection,
//     from Sec-Fetch-Site and Origin), which covers the login form too;
//   - a session is a 32-byte random token in an HttpOnly, SameSite=Strict
//     cookie; the store keeps only its SHA-256, with an idle and an absolute
//     expiry;
//   - every form of a session carries the session's CSRF token, and a POST
//     without it is answered 403 before anything is read or changed;
//   - each route names the least role it needs (offramp.Role.Allows).
package console

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/service"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Defaults of Config.
const (
	DefaultIdleTimeout = 30 * time.Minute
	// SessionLifetime is the absolute life of a session, however active.
	SessionLifetime = 12 * time.Hour
	// CookieName is the session cookie.
	CookieName = "offramp_console"
)

// Lockout: after LockoutThreshold consecutive failed logins an operator is
// locked for LockoutBase, doubling with each further failure up to
// LockoutMax. A successful login resets the count.
const (
	LockoutThreshold = 5
	LockoutBase      = time.Minute
	LockoutMax       = time.Hour
)

// Config is what a Console needs.
type Config struct {
	// Store and Service are required: pages read the store, actions go
	// through the service.
	Store   offramp.Store
	Service *service.Service
	// Clock tells the time of sessions, lockouts and ages; nil: the
	// service's clock.
	Clock offramp.Clock
	Log   *slog.Logger
	// SecureCookies marks the session cookie Secure even on plain HTTP (the
	// console behind a TLS-terminating proxy). A request that came over
	// TLS always gets a Secure cookie.
	SecureCookies bool
	// IdleTimeout ends a session not used for this long (default 30 min).
	IdleTimeout time.Duration
	// Registry, when set, is read for the overview's process numbers (bank
	// calls, worker pools).
	Registry *prometheus.Registry
	// Health, when set, reports the outside providers (bank rail, rate
	// sources, verifiers) for the overview. It is called on every view of
	// the overview, so it must answer from what its owner already knows
	// (the server's periodic checks and the rate tickers' last prices),
	// never by calling a provider. Nil: the overview says "not reported".
	Health func(ctx context.Context) []ProviderHealth
}

// Console serves the operator pages.
type Console struct {
	store     offramp.Store
	svc       *service.Service
	clock     offramp.Clock
	log       *slog.Logger
	secure    bool
	idle      time.Duration
	registry  *prometheus.Registry
	health    func(ctx context.Context) []ProviderHealth
	pages     map[string]*pageTemplate
	mux       *http.ServeMux
	dummyOnce sync.Once
	dummyHash string
}

// New builds a console.
func New(cfg Config) *Console {
	c := &Console{store: cfg.Store, svc: cfg.Service, clock: cfg.Clock, log: cfg.Log,
		secure: cfg.SecureCookies, idle: cfg.IdleTimeout, registry: cfg.Registry, health: cfg.Health}
	if c.clock == nil && c.svc != nil {
		c.clock = c.svc.Clock()
	}
	if c.clock == nil {
		c.clock = offramp.SystemClock{}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.idle <= 0 {
		c.idle = DefaultIdleTimeout
	}
	c.pages = c.parsePages()
	c.mux = http.NewServeMux()
	c.routes()
	return c
}

// Handler is the console's root handler. Serve it on its own listener.
func (c *Console) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusForbidden, "Cross-origin request refused.")
	}))
	return securityHeaders(cop.Handler(c.mux))
}

func (c *Console) routes() {
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	c.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET /login", c.loginPage)
	c.mux.HandleFunc("POST /login", c.login)

	view := func(pattern string, h handler) { c.mux.Handle(pattern, c.authed(offramp.RoleViewer, h)) }
	act := func(pattern string, need offramp.Role, h handler) { c.mux.Handle(pattern, c.authed(need, h)) }

	act("POST /logout", offramp.RoleViewer, c.logout)
	view("GET /{$}", c.overview)
	view("GET /payouts", c.payouts)
	view("GET /payouts.csv", c.payoutsCSV)
	view("GET /payouts/{id}", c.payout)
	act("POST /payouts/{id}/proposals", offramp.RoleOperator, c.proposePayout)
	act("POST /payouts/{id}/events/{event}/replay", offramp.RoleOperator, c.replayWebhook)
	view("GET /customers/{id}", c.customer)
	act("POST /customers/{id}/reveal", offramp.RoleOperator, c.revealCustomer)
	act("POST /customers/{id}/proposals", offramp.RoleOperator, c.proposeCustomer)
	act("POST /banks/{id}/proposals", offramp.RoleOperator, c.proposeBank)
	view("GET /proposals", c.proposals)
	act("POST /proposals/{id}/approve", offramp.RoleApprover, c.approve)
	act("POST /proposals/{id}/reject", offramp.RoleApprover, c.reject)
	view("GET /audit", c.audit)
	c.orgRoutes(act)
	c.ledgerRoutes(act)
	c.operatorRoutes(act)
	// Anything else: a 404 page for a signed-in operator, the login page
	// for anybody else.
	view("/", func(w http.ResponseWriter, r *http.Request, s *session) {
		c.fail(w, r, http.StatusNotFound, "No such page.")
	})
}

// securityHeaders forbids framing, sniffing, referrers, caching and any
// script or style not served by the console itself.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "+
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// now is the console's time, truncated to what the store keeps.
func (c *Console) now() time.Time { return c.clock.Now().UTC().Truncate(time.Microsecond) }
