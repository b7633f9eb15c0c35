// Package service holds Offramp's business rules: who may do what to a
// customer, a KYC submission or a bank account, and in which order. It knows
// nothing of SQL or HTTP: it reads and writes through offramp.Store and
// reports failures as *offramp.Error with the documented messages.
package service

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/engine"
	"github.com/offramp/offramp/webhook"
)

// Config is what a Service needs.
type Config struct {
	Store offramp.Store
	Clock offramp.Clock
	Env   offramp.Env
	// Verifier checks KYC and bank accounts. Nil means no automatic
	// verification: submissions wait in PROCESSING for an operator.
	Verifier offramp.Verifier
	// VerifyDelay is how long after a submission its verification runs.
	VerifyDelay time.Duration
	// LinkKey signs hosted-KYC link tokens.
	LinkKey []byte
	// Payouts configures quotations, limits and the payout engine.
	Payouts PayoutConfig
	// Webhooks configures webhook delivery.
	Webhooks WebhookConfig
	Log      *slog.Logger
}

// Service implements Offramp's operations. It is safe for concurrent use.
type Service struct {
	store       offramp.Store
	clock       offramp.Clock
	env         offramp.Env
	verifier    offramp.Verifier
	verifyDelay time.Duration
	linkKey     []byte
	payouts     PayoutConfig
	webhooks    WebhookConfig
	engine      *engine.Engine
	deliverer   *webhook.Deliverer
	log         *slog.Logger
	// keyUses is when this process last recorded each API key's use
	// (KeyUsed, apikeys.go).
	keyUses keyUses
}

// New builds a Service from cfg.
func New(cfg Config) *Service {
	s := &Service{
		store:       cfg.Store,
		clock:       cfg.Clock,
		env:         cfg.Env,
		verifier:    cfg.Verifier,
		verifyDelay: cfg.VerifyDelay,
		linkKey:     cfg.LinkKey,
		payouts:     cfg.Payouts.withDefaults(),
		webhooks:    cfg.Webhooks.withDefaults(),
		log:         cfg.Log,
	}
	if s.clock == nil {
		s.clock = offramp.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	ec := s.payouts.Engine
	ec.Store, ec.Clock, ec.Rail, ec.Log = s.store, s.clock, s.payouts.Rail, s.log
	s.engine = engine.New(ec)
	s.deliverer = webhook.NewDeliverer(webhook.DelivererConfig{Store: s.store, Clock: s.clock, Client: s.webhooks.Client, Log: s.log})
	return s
}

// Engine is the payout engine the service runs payouts with.
func (s *Service) Engine() *engine.Engine { return s.engine }

// Env is the environment this service runs in.
func (s *Service) Env() offramp.Env { return s.env }

// Clock is the service's clock.
func (s *Service) Clock() offramp.Clock { return s.clock }

// now is the service time, truncated to what the store keeps so that values
// read back compare equal to values written.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// requireSandbox refuses sandbox-only operations in production. Production
// servers do not even route these endpoints; this is the second line.
func (s *Service) requireSandbox() error {
	if s.env != offramp.EnvSandbox {
		return offramp.Errorf(offramp.CodeRouteNotFound, "This endpoint is only available in sandbox")
	}
	return nil
}

// parseID parses a UUID field, reporting a field error when it is malformed.
func parseID(field, value string, notFoundMsg string) (uuid.UUID, error) {
	if value == "" {
		return uuid.Nil, offramp.FieldError(offramp.CodeInvalid, field, field+" is required")
	}
	id, err := uuid.Parse(value)
	if err != nil {
		// A malformed id cannot name an object of the caller: answer like
		// an unknown one, so ids are not probed by their format.
		return uuid.Nil, offramp.FieldError(offramp.CodeNotFound, field, notFoundMsg)
	}
	return id, nil
}

// notFound turns the store's ErrNotFound into the documented message.
func notFound(err error, field, msg string) error {
	if errors.Is(err, offramp.ErrNotFound) {
		return offramp.FieldError(offramp.CodeNotFound, field, msg)
	}
	return err
}

// customer loads a customer of org inside a transaction.
func customerIn(ctx context.Context, tx offramp.ReadTx, orgID uuid.UUID, rawID string) (offramp.Customer, error) {
	id, err := parseID("customer_id", rawID, offramp.MsgCustomerNotFound)
	if err != nil {
		return offramp.Customer{}, err
	}
	c, err := tx.Customer(ctx, orgID, id)
	if err != nil {
		return offramp.Customer{}, notFound(err, "customer_id", offramp.MsgCustomerNotFound)
	}
	return c, nil
}
