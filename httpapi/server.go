// Package httpapi serves Offramp's HTTP API, wire-compatible with DollarPe's
// exchange API: the same paths, the signed-request scheme, the
// {status, message, data} envelope and the documented error strings.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/service"
)

// Config is what a Server needs.
type Config struct {
	Service *service.Service
	Store   offramp.Store
	Log     *slog.Logger
	// Registry receives the HTTP metrics and is served at /metrics.
	Registry *prometheus.Registry
	// BaseURL is the public URL of the server, used for links it hands out
	// (hosted KYC). Empty: derived from each request's Host.
	BaseURL string
	// Routes are extra unsigned routes, pattern → handler: the payout
	// providers' webhooks (POST /rails/razorpayx/webhook), which verify
	// the provider's own signature.
	Routes map[string]http.Handler
	// RateLimit limits the signed routes' request rates per API key and
	// in all (ratelimit.go); the zero value limits nothing.
	RateLimit RateLimit
	// Ready, when set, is asked by /readyz after the storage check: a
	// non-nil error makes the answer 503 with the error's text as the
	// reason (no rail configured, no fresh rate source, ...). It must not
	// reveal secrets.
	Ready func(ctx context.Context) error
	// RepeatWait is how long a repeat of a signed request waits for the
	// first copy's answer before it gets 409 (default 10 s).
	RepeatWait time.Duration
}

// Server is the HTTP API.
type Server struct {
	svc      *service.Service
	store    offramp.Store
	log      *slog.Logger
	metrics  *metrics
	registry *prometheus.Registry
	baseURLs string
	draining atomic.Bool
	mux      *http.ServeMux
	extra    map[string]http.Handler
	readyFn  func(ctx context.Context) error
	limits   *limiter
	// repeats wakes requests waiting for an earlier copy's answer; reads
	// remembers the read signatures recorded (see signed).
	repeats    repeatWaiters
	reads      readSignatures
	repeatWait time.Duration
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Server{svc: cfg.Service, store: cfg.Store, log: cfg.Log, registry: cfg.Registry, baseURLs: cfg.BaseURL,
		extra: cfg.Routes, readyFn: cfg.Ready, repeatWait: cfg.RepeatWait}
	if s.repeatWait <= 0 {
		s.repeatWait = repeatWait
	}
	s.metrics = newMetrics(cfg.Registry)
	s.limits = newLimiter(cfg.RateLimit, cfg.Registry)
	s.mux = http.NewServeMux()
	s.routes()
	return s
}

// Handler is the root handler, with every middleware applied.
func (s *Server) Handler() http.Handler { return s.observe(http.HandlerFunc(s.dispatch)) }

// Drain marks the server as shutting down: /readyz answers 503 so a load
// balancer stops sending traffic while in-flight requests finish.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) routes() {
	sandbox := s.svc.Env() == offramp.EnvSandbox
	// Rate limits first: a refused request costs no body read, no lookup
	// and no HMAC. The IP allowlist, which needs the authenticated
	// organization, is checked in authenticate.
	api := func(pattern string, h handlerFunc) { s.mux.Handle(pattern, s.throttle(s.signed(h))) }

	// Customers (DollarPe §4).
	api("POST /cms/api/v1/customer/create", s.createCustomer)
	api("GET /cms/api/v1/customer/list", s.listCustomers)
	api("GET /cms/api/v1/customer/{customer_id}", s.getCustomer)

	// KYC (§5). The guides write POST where the reference says PATCH for
	// the update-* calls: both are served.
	api("GET /cms/api/v1/kyc/configuration/{customer_id}", s.kycConfiguration)
	api("POST /cms/api/v1/kyc/add-kyc-data", s.addKYC)
	for path, kind := range map[string]service.KYCUpdate{
		"update-tax-info":        service.UpdateTax,
		"update-document-info":   service.UpdateDocument,
		"update-selfie-info":     service.UpdateSelfie,
		"update-additional-info": service.UpdateAdditional,
	} {
		api("PATCH /cms/api/v1/kyc/"+path, s.updateKYC(kind))
		api("POST /cms/api/v1/kyc/"+path, s.updateKYC(kind))
	}
	api("POST /cms/api/v1/kyc/reset-kyc", s.resetKYC)
	api("POST /cms/api/v1/kyc/generate-link", s.generateKYCLink)

	// Bank accounts (§6). /bank/add-account is the older guides' path.
	api("POST /cms/api/v1/bank/create", s.createBank)
	api("POST /cms/api/v1/bank/add-account", s.createBank)
	api("GET /cms/api/v1/bank/list/{customer_id}", s.listBanks)
	api("GET /cms/api/v1/bank/{customer_id}/{bank_id}", s.getBank)

	// Payouts (§7) and limits (§8). Fixed segments win over
	// {payout_id} by ServeMux precedence.
	api("GET /pos/api/v1/payout/configuration", s.payoutConfiguration)
	api("GET /pos/api/v1/payout/fetch-rate", s.fetchRate)
	api("POST /pos/api/v1/payout/fetch-rate", s.fetchRate)
	api("POST /pos/api/v1/payout/quotation", s.createQuotation)
	api("GET /pos/api/v1/payout/quotation/{quotation_id}", s.getQuotation)
	api("POST /pos/api/v1/payout/initiate", s.initiatePayout)
	api("GET /pos/api/v1/payout/history", s.payoutHistory)
	api("PATCH /pos/api/v1/payout/update-transfer-id", s.updateTransferID)
	api("GET /pos/api/v1/payout/{payout_id}", s.getPayout)
	api("GET /ren/api/v1/payout/limits/{customer_id}", s.payoutLimits)
	api("POST /ren/api/v1/payout/edd/save", s.saveEDD)

	// Webhook configuration (§10).
	api("POST /org/api/v1/organizations/api-webhooks", s.configureWebhook)
	// Extensions: the delivery log and replay.
	api("GET /org/api/v1/organizations/api-webhooks", s.getWebhookConfig)
	api("GET /org/api/v1/webhooks/events", s.listWebhookEvents)
	api("GET /org/api/v1/webhooks/events/{webhook_id}", s.getWebhookEvent)
	api("POST /org/api/v1/webhooks/events/{webhook_id}/replay", s.replayWebhookEvent)
	api("POST /org/api/v1/webhooks/replay", s.replayFailedWebhooks)

	// Sandbox levers exist only in sandbox: in production these paths are
	// unknown routes, not forbidden ones.
	if sandbox {
		api("PATCH /cms/api/v1/kyc/mock-kyc-status", s.mockKYCStatus)
		api("POST /cms/api/v1/bank/mock-bank-verification", s.mockBankVerification)
		api("PATCH /pos/api/v1/payout/mock-payout-status", s.mockPayoutStatus)
		s.mux.HandleFunc("GET /sandbox/kyc/{token}", s.kycPage)
		s.mux.HandleFunc("POST /sandbox/kyc/{token}", s.kycDecision)
	}

	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	for pattern, h := range s.extra {
		s.mux.Handle(pattern, http.MaxBytesHandler(h, 1<<20))
	}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("GET /openapi.json", serveOpenAPI) // this API's OpenAPI document (httpapi/openapi), unsigned
}

// dispatch routes a request, answering unknown paths (404) and known paths
// with the wrong method (405) in the API envelope instead of ServeMux's
// plain text.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		// ServeHTTP, not the returned handler: it sets the path values.
		s.mux.ServeHTTP(w, r)
		return
	}
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		// Only a fixed path counts: "PATCH /payout/mock-payout-status"
		// in production must not look like a wrong method for
		// "GET /payout/{payout_id}".
		if _, p := s.mux.Handler(probe); p != "" && m != r.Method && !strings.Contains(p, "{") {
			writeError(w, r, s.log, offramp.Errorf(offramp.CodeMethodNotAllowed, "Method \"%s\" not allowed.", r.Method))
			return
		}
	}
	writeError(w, r, s.log, offramp.Errorf(offramp.CodeRouteNotFound, "Not found."))
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		_, err := tx.CountOrgs(ctx)
		return err
	})
	if err != nil {
		s.log.WarnContext(ctx, "readiness check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "storage unavailable"})
		return
	}
	if s.readyFn != nil {
		if err := s.readyFn(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// baseURL is the server's public URL for links it hands out.
func (s *Server) baseURL(r *http.Request) string {
	if s.baseURLs != "" {
		return s.baseURLs
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
