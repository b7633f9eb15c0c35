package service

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/money"
)

// FetchRate prices an asset in a fiat currency.
func (s *Service) FetchRate(ctx context.Context, asset, fiat string) (offramp.Rate, error) {
	var v offramp.Validation
	asset, fiat = strings.ToUpper(strings.TrimSpace(asset)), strings.ToUpper(strings.TrimSpace(fiat))
	if v.Required("asset", asset) {
		if _, ok := s.payouts.supportedAsset(asset); !ok {
			v.Add("asset", offramp.MsgUnsupportedAsset)
		}
	}
	if v.Required("fiat", fiat) && fiat != "INR" {
		v.Add("fiat", offramp.MsgUnsupportedFiat)
	}
	if err := v.Err(); err != nil {
		return offramp.Rate{}, err
	}
	if s.payouts.Rates == nil {
		return offramp.Rate{}, offramp.Errorf(offramp.CodeUnavailable, "Rate unavailable: no rate source is configured")
	}
	return s.payouts.Rates.Rate(ctx, asset, fiat)
}

// QuotationInput is a quotation request.
type QuotationInput struct {
	Asset, Fiat, SendingAmount string
	CustomerID, BankID         string
	PaymentMethod              string
	Risk                       offramp.RiskParameters
}

// CreateQuotation locks a rate for a verified customer and bank account,
// after checking the amount, the customer's limits and AML screening.
func (s *Service) CreateQuotation(ctx context.Context, orgID uuid.UUID, in QuotationInput) (offramp.Quotation, error) {
	in.Fiat = strings.ToUpper(strings.TrimSpace(in.Fiat))
	in.PaymentMethod = strings.ToUpper(strings.TrimSpace(in.PaymentMethod))
	if in.PaymentMethod == "" || in.PaymentMethod == "BANK_TRANSFER" {
		in.PaymentMethod = "IMPS"
	}
	var v offramp.Validation
	asset, assetOK := s.payouts.supportedAsset(in.Asset)
	if v.Required("asset", asset) && !assetOK {
		v.Add("asset", offramp.MsgUnsupportedAsset)
	}
	if v.Required("fiat", in.Fiat) && in.Fiat != "INR" {
		v.Add("fiat", offramp.MsgUnsupportedFiat)
	}
	var sending decimal.Decimal
	if v.Required("sending_amount", in.SendingAmount) && assetOK {
		var err error
		if sending, err = money.ParseAmount(in.SendingAmount, asset); err != nil {
			var e *offramp.Error
			errors.As(err, &e)
			v.Add("sending_amount", e.Message)
		}
	}
	v.Required("customer_id", in.CustomerID)
	v.Required("bank_id", in.BankID)
	if err := v.Err(); err != nil {
		return offramp.Quotation{}, err
	}
	if s.payouts.Rail == nil {
		return offramp.Quotation{}, offramp.Errorf(offramp.CodeUnavailable, "Payouts are unavailable: no bank rail is configured")
	}
	if in.PaymentMethod == "UPI" {
		return offramp.Quotation{}, offramp.FieldError(offramp.CodeRejected, "payment_method", offramp.MsgUPINotSupported)
	}
	if !slices.Contains(s.payouts.Methods, in.PaymentMethod) {
		return offramp.Quotation{}, offramp.FieldError(offramp.CodeInvalid, "payment_method", "Must be one of "+strings.Join(s.payouts.Methods, ", ")+".")
	}

	// Read what the quotation depends on; the rate source and the AML
	// screener are called outside any transaction.
	var (
		c offramp.Customer
		b offramp.BankAccount
	)
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		c, b, err = s.payoutParties(ctx, tx, orgID, in.CustomerID, in.BankID)
		return err
	})
	if err != nil {
		return offramp.Quotation{}, err
	}
	lim := s.payouts.CoinLimits[asset]
	if sending.LessThan(lim.Min) {
		return offramp.Quotation{}, offramp.FieldError(offramp.CodeRejected, "sending_amount", offramp.MsgAmountBelowMin)
	}
	if sending.GreaterThan(lim.Max) {
		return offramp.Quotation{}, offramp.FieldError(offramp.CodeRejected, "sending_amount", offramp.MsgAmountAboveMax)
	}
	if s.payouts.Screener != nil {
		verdict, err := s.payouts.Screener.Screen(ctx, c)
		if err != nil {
			return offramp.Quotation{}, err
		}
		if !verdict.Passed {
			s.log.WarnContext(ctx, "AML screening refused a quotation", "org_id", orgID.String(), "customer_id", c.ID.String(), "reason", verdict.FailureReason)
			return offramp.Quotation{}, offramp.FieldError(offramp.CodeRejected, "customer_id", offramp.MsgAMLFailed)
		}
	}
	rate, err := s.FetchRate(ctx, asset, in.Fiat)
	if err != nil {
		return offramp.Quotation{}, err
	}
	br, err := money.Quote(sending, rate.Value, asset, s.payouts.Fees)
	if err != nil {
		return offramp.Quotation{}, err
	}
	now := s.now()
	q := offramp.Quotation{
		ID: offramp.NewID(), OrgID: orgID, CustomerID: c.ID, BankID: b.ID, Asset: asset, Fiat: in.Fiat,
		PaymentMethod: in.PaymentMethod, SendingAmount: sending, Rate: rate.Value, GrossFiat: br.Gross,
		ReceivingAmount: br.Receiving, Fees: br.Fees, Risk: in.Risk, Status: offramp.QuotationUnlinked,
		CreatedAt: now, ExpiresAt: now.Add(s.payouts.QuoteTTL),
	}
	// A quotation holds no rule that needs more than row locks: it promises
	// nothing the initiation does not check again (offramp.Store.UpdateRowLocked).
	err = s.store.UpdateRowLocked(ctx, func(tx offramp.Tx) error {
		// Limits are read in the write transaction so that they are
		// current; the payout re-checks them when it is initiated.
		l, err := s.limitsIn(ctx, tx, c, now)
		if err != nil {
			return err
		}
		if err := l.check(br.Gross, s.payouts.PerTransactionLimit, s.payouts.EDDDailyLimit); err != nil {
			return err
		}
		return tx.CreateQuotation(ctx, q)
	})
	if err != nil {
		return offramp.Quotation{}, err
	}
	return q, nil
}

// payoutParties loads and checks the customer and bank account of a
// quotation: both must be VERIFIED and the account the customer's own.
func (s *Service) payoutParties(ctx context.Context, tx offramp.ReadTx, orgID uuid.UUID, customerID, bankID string) (offramp.Customer, offramp.BankAccount, error) {
	unverified := offramp.FieldError(offramp.CodeRejected, "customer_id", offramp.MsgCustomerUnverified)
	cid, err := uuid.Parse(customerID)
	if err != nil {
		return offramp.Customer{}, offramp.BankAccount{}, unverified
	}
	c, err := tx.Customer(ctx, orgID, cid)
	if errors.Is(err, offramp.ErrNotFound) || (err == nil && c.Status != offramp.CustomerVerified) {
		return offramp.Customer{}, offramp.BankAccount{}, unverified
	}
	if err != nil {
		return offramp.Customer{}, offramp.BankAccount{}, err
	}
	bankUnverified := offramp.FieldError(offramp.CodeRejected, "bank_id", offramp.MsgBankUnverified)
	bid, err := uuid.Parse(bankID)
	if err != nil {
		return offramp.Customer{}, offramp.BankAccount{}, bankUnverified
	}
	b, err := tx.BankAccount(ctx, orgID, bid)
	if errors.Is(err, offramp.ErrNotFound) || (err == nil && (b.CustomerID != c.ID || b.Status != offramp.BankVerified)) {
		return offramp.Customer{}, offramp.BankAccount{}, bankUnverified
	}
	if err != nil {
		return offramp.Customer{}, offramp.BankAccount{}, err
	}
	if b.Type == offramp.BankVPA {
		return offramp.Customer{}, offramp.BankAccount{}, offramp.FieldError(offramp.CodeRejected, "bank_id", offramp.MsgUPINotSupported)
	}
	return c, b, nil
}

// Quotation returns one of the organization's quotations, with its status
// as of now (an unlinked quotation past its expiry is EXPIRED).
func (s *Service) Quotation(ctx context.Context, orgID uuid.UUID, rawID string) (offramp.Quotation, error) {
	if strings.TrimSpace(rawID) == "" {
		return offramp.Quotation{}, offramp.FieldError(offramp.CodeInvalid, "quotation_id", offramp.MsgQuotationIDRequired)
	}
	id, err := uuid.Parse(rawID)
	if err != nil {
		return offramp.Quotation{}, offramp.FieldError(offramp.CodeNotFound, "quotation_id", offramp.MsgQuotationIDInvalid)
	}
	var q offramp.Quotation
	err = s.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		q, err = tx.Quotation(ctx, orgID, id)
		return err
	})
	if errors.Is(err, offramp.ErrNotFound) {
		return offramp.Quotation{}, offramp.FieldError(offramp.CodeNotFound, "quotation_id", offramp.MsgQuotationIDInvalid)
	}
	if err != nil {
		return offramp.Quotation{}, err
	}
	q.Status = q.StatusAt(s.clock.Now())
	return q, nil
}
