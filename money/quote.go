package money

import (
	"fmt"
	"strings"

	"github.com/offramp/offramp"
	"github.com/shopspring/decimal"
)

// rateScale bounds the decimal places of a fee or tax rate. 6 places is a
// ten-thousandth of a percent; anything finer in a configuration is a typo,
// not a pricing decision.
const rateScale = 6

// Schedule is the fee schedule. Rates are fractions (0.01 = 1 %).
type Schedule struct {
	PlatformFeeRate decimal.Decimal // Offramp's fee, fraction of gross fiat
	ClientFeeRate   decimal.Decimal // the exchange's fee, fraction of gross fiat
	PGFeeFlat       decimal.Decimal // payment-gateway (bank) fee per payout, INR
	GSTRate         decimal.Decimal // GST on each fee, 0.18
	TDSRate         decimal.Decimal // TDS under section 194S, 0.01 of gross fiat
}

// DefaultSchedule is platform 0.5 %, client 0 %, PG ₹5 flat, GST 18 % and
// TDS 1 %. GST at 18 % is the rate on financial services, and 1 % is the TDS
// section 194S of the Income-tax Act levies on transfers of virtual digital
// assets; the fees are Offramp's list prices.
func DefaultSchedule() Schedule {
	return Schedule{
		PlatformFeeRate: decimal.New(5, -3),  // 0.005
		ClientFeeRate:   decimal.Zero,        // 0
		PGFeeFlat:       decimal.New(5, 0),   // ₹5
		GSTRate:         decimal.New(18, -2), // 0.18
		TDSRate:         decimal.New(1, -2),  // 0.01
	}
}

// ParseSchedule parses a fee schedule such as
// "platform=0.005,client=0,pg=5,gst=0.18,tds=0.01". Keys are
// case-insensitive, may come in any order and each at most once; a missing
// key keeps its DefaultSchedule value, and an empty spec is the default
// schedule. Values are plain decimals (no sign, no exponent). Every rate
// must satisfy 0 <= rate < 1 with at most 6 decimal places, and pg must be a
// non-negative INR amount with at most 2 decimal places and 12 integer
// digits. Errors are CodeInvalid *offramp.Error.
func ParseSchedule(spec string) (Schedule, error) {
	s := DefaultSchedule()
	if strings.TrimSpace(spec) == "" {
		return s, nil
	}
	fields := map[string]*decimal.Decimal{
		"platform": &s.PlatformFeeRate,
		"client":   &s.ClientFeeRate,
		"pg":       &s.PGFeeFlat,
		"gst":      &s.GSTRate,
		"tds":      &s.TDSRate,
	}
	seen := map[string]bool{}
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		key, val, ok := strings.Cut(item, "=")
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		if !ok || key == "" || val == "" {
			return Schedule{}, scheduleErr("%q is not key=value", item)
		}
		dst, known := fields[key]
		if !known {
			return Schedule{}, scheduleErr("unknown key %q (want platform, client, pg, gst or tds)", key)
		}
		if seen[key] {
			return Schedule{}, scheduleErr("%s is given twice", key)
		}
		seen[key] = true
		d, err := parsePlain(val)
		if err != nil {
			return Schedule{}, scheduleErr("%s=%q is not a plain non-negative decimal", key, val)
		}
		*dst = d
	}
	if err := s.validate(); err != nil {
		return Schedule{}, err
	}
	return s, nil
}

// parsePlain parses digits [ "." digits ].
func parsePlain(s string) (decimal.Decimal, error) {
	if len(s) > maxAmountLen {
		return decimal.Decimal{}, fmt.Errorf("too long")
	}
	if _, _, ok := splitPlainDecimal(s); !ok {
		return decimal.Decimal{}, fmt.Errorf("not a plain decimal")
	}
	return decimal.NewFromString(s)
}

func scheduleErr(format string, args ...any) *offramp.Error {
	return offramp.Errorf(offramp.CodeInvalid, "fee schedule: "+format, args...)
}

// validate checks the limits ParseSchedule documents. Quote runs it too,
// because a Schedule can be built by hand, and a negative or >= 100 % rate
// would produce negative fees or a negative payout rather than an error.
func (s Schedule) validate() error {
	for _, r := range []struct {
		name string
		v    decimal.Decimal
	}{
		{"platform", s.PlatformFeeRate},
		{"client", s.ClientFeeRate},
		{"gst", s.GSTRate},
		{"tds", s.TDSRate},
	} {
		if r.v.IsNegative() || r.v.GreaterThanOrEqual(decimal.New(1, 0)) {
			return scheduleErr("%s rate %s must be at least 0 and less than 1 (rates are fractions: 0.01 is 1 %%)", r.name, minimal(r.v))
		}
		if !r.v.Equal(r.v.Truncate(rateScale)) {
			return scheduleErr("%s rate %s has more than %d decimal places", r.name, minimal(r.v), rateScale)
		}
	}
	if s.PGFeeFlat.IsNegative() {
		return scheduleErr("pg fee %s must not be negative", minimal(s.PGFeeFlat))
	}
	if !s.PGFeeFlat.Equal(s.PGFeeFlat.Truncate(fiatScale)) {
		return scheduleErr("pg fee %s has more than %d decimal places (it is in INR)", minimal(s.PGFeeFlat), fiatScale)
	}
	if s.PGFeeFlat.GreaterThanOrEqual(decimal.New(1, maxIntegerDigits)) {
		return scheduleErr("pg fee %s has more than %d integer digits", minimal(s.PGFeeFlat), maxIntegerDigits)
	}
	return nil
}

// Breakdown is a payout's fiat arithmetic.
type Breakdown struct {
	Gross     decimal.Decimal // sending × rate, exact (not rounded)
	Receiving decimal.Decimal // INR, rounded DOWN to the paisa
	Fees      offramp.Fees
}

// Quote computes the payout breakdown for sending units of asset at rate
// (INR per unit of asset) under schedule s.
//
// Gross = sending × rate, exactly. Every fee and tax is computed on Gross and
// rounded half-up to the paisa, because each is a separate line on an
// invoice or a tax certificate and each line is a whole number of paise:
//
//	PlatformFee   = Gross × PlatformFeeRate
//	ClientFeeFiat = Gross × ClientFeeRate
//	PGFee         = PGFeeFlat
//	PlatformGST, ClientGSTFiat, PGGST = (that fee, as rounded) × GSTRate
//	TDS           = Gross × TDSRate
//
// GST is charged on the fee as invoiced, i.e. on the rounded amount, so that
// fee × 18 % on the invoice matches the GST line.
//
// Receiving is what is left, rounded DOWN to the paisa: a bank transfer
// cannot carry fractions of a paisa, and rounding up would pay out money
// that does not exist. The sub-paisa remainder goes to Fees.Rounding
// (0 <= Rounding < 0.01), so that Receiving + every fee, GST and TDS +
// Rounding == Gross exactly; see Total.
//
// ClientFeeCrypto and ClientGSTCrypto restate the client's fee and its GST
// in the asset (divided by rate, rounded half-up to the asset's scale). They
// are informational and are not part of the sum.
//
// Errors: a non-positive sending or rate, or an unsupported asset, is
// CodeInvalid; an amount so small that nothing would be left to pay
// (Receiving <= 0) is CodeRejected "Entered amount is less than minimum
// limit"; a Schedule outside ParseSchedule's limits is a configuration bug
// and is CodeInternal.
func Quote(sending, rate decimal.Decimal, asset string, s Schedule) (Breakdown, error) {
	assetScale, err := Scale(asset)
	if err != nil || strings.EqualFold(asset, "INR") {
		return Breakdown{}, offramp.Errorf(offramp.CodeInvalid, "Unsupported asset")
	}
	if !sending.IsPositive() {
		return Breakdown{}, offramp.Errorf(offramp.CodeInvalid, "Sending amount must be greater than zero")
	}
	if !rate.IsPositive() {
		return Breakdown{}, offramp.Errorf(offramp.CodeInvalid, "Rate must be greater than zero")
	}
	if err := s.validate(); err != nil {
		return Breakdown{}, &offramp.Error{Code: offramp.CodeInternal, Message: offramp.MsgInternal, Err: err}
	}

	gross := sending.Mul(rate)
	var f offramp.Fees
	f.PlatformFee = paise(gross.Mul(s.PlatformFeeRate))
	f.ClientFeeFiat = paise(gross.Mul(s.ClientFeeRate))
	f.PGFee = paise(s.PGFeeFlat)
	f.PlatformGST = paise(f.PlatformFee.Mul(s.GSTRate))
	f.ClientGSTFiat = paise(f.ClientFeeFiat.Mul(s.GSTRate))
	f.PGGST = paise(f.PGFee.Mul(s.GSTRate))
	f.TDS = paise(gross.Mul(s.TDSRate))

	net := gross.Sub(deductions(f))
	// RoundFloor, not RoundDown: they agree for a positive net, and for a
	// negative one (fees above gross) floor keeps Rounding in [0, 0.01)
	// until the check below refuses the quote anyway.
	receiving := net.RoundFloor(fiatScale)
	if !receiving.IsPositive() {
		return Breakdown{}, offramp.FieldError(offramp.CodeRejected, "sending_amount", offramp.MsgAmountBelowMin)
	}
	f.Rounding = net.Sub(receiving)

	// DivRound rounds half away from zero, which for these non-negative
	// amounts is half-up, at exactly the asset's scale (no detour through
	// decimal.DivisionPrecision, a package global).
	f.ClientFeeCrypto = f.ClientFeeFiat.DivRound(rate, assetScale)
	f.ClientGSTCrypto = f.ClientGSTFiat.DivRound(rate, assetScale)

	// GrossEffectiveRate is the INR the customer effectively gets per unit
	// of asset before tax: (Receiving + TDS) / sending. TDS is added back
	// because it is not a cost to the customer: it is deposited with the
	// government against the customer's PAN and credited to them (Form 26AS),
	// so it is still theirs; only the fees and their GST are gone. It is
	// rounded down to 2 places so that the advertised rate never overstates
	// what the customer gets. QuoRem truncates toward zero, which for a
	// positive quotient is rounding down.
	f.GrossEffectiveRate, _ = receiving.Add(f.TDS).QuoRem(sending, fiatScale)

	return Breakdown{Gross: gross, Receiving: receiving, Fees: f}, nil
}

// paise rounds a non-negative INR amount half-up to the paisa. (Round rounds
// half away from zero; every amount passed here is >= 0.)
func paise(d decimal.Decimal) decimal.Decimal { return d.Round(fiatScale) }

// deductions is every fiat deduction except Rounding.
func deductions(f offramp.Fees) decimal.Decimal {
	return f.ClientFeeFiat.Add(f.ClientGSTFiat).
		Add(f.PlatformFee).Add(f.PlatformGST).
		Add(f.PGFee).Add(f.PGGST).
		Add(f.TDS)
}

// Total is the sum of all deductions from the gross fiat value: client fee
// and GST, platform fee and GST, PG fee and GST, TDS and Rounding. The crypto
// restatements and GrossEffectiveRate are not amounts deducted and are left
// out. For a Breakdown b, b.Receiving + Total(b.Fees) == b.Gross exactly.
func Total(f offramp.Fees) decimal.Decimal {
	return deductions(f).Add(f.Rounding)
}
