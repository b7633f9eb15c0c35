package money

import (
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/offramp/offramp"
	"github.com/shopspring/decimal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func mustSchedule(t testing.TB, spec string) Schedule {
	t.Helper()
	s, err := ParseSchedule(spec)
	if err != nil {
		t.Fatalf("ParseSchedule(%q): %v", spec, err)
	}
	return s
}

// want is a breakdown written as wire strings, so a failure reads like the
// hand calculation in the comment above it.
type want struct {
	gross, receiving                                string
	platformFee, platformGST, clientFee, clientGST  string
	pgFee, pgGST, tds, rounding                     string
	clientFeeCrypto, clientGSTCrypto, effectiveRate string
}

func TestQuoteHandChecked(t *testing.T) {
	for _, tc := range []struct {
		name          string
		sending, rate string
		asset         string
		schedule      string
		want          want
	}{
		{
			// 51 USDT at ₹82.5, default schedule.
			//   gross        = 51 × 82.5              = 4207.5
			//   platform fee = 4207.5 × 0.005         = 21.0375 → 21.04
			//   platform GST = 21.04 × 0.18           = 3.7872  → 3.79
			//   client fee   = 0, client GST = 0
			//   PG fee       = 5.00, PG GST = 5 × 0.18 = 0.90
			//   TDS          = 4207.5 × 0.01          = 42.075  → 42.08 (half-up)
			//   deductions   = 21.04 + 3.79 + 5 + 0.90 + 42.08 = 72.81
			//   receiving    = 4207.5 − 72.81 = 4134.69, rounding 0
			//   effective    = (4134.69 + 42.08) / 51 = 4176.77 / 51 = 81.8974… → 81.89
			name: "51 USDT at 82.5, default schedule", sending: "51", rate: "82.5", asset: "USDT",
			want: want{
				gross: "4207.5", receiving: "4134.69",
				platformFee: "21.04", platformGST: "3.79", clientFee: "0", clientGST: "0",
				pgFee: "5", pgGST: "0.9", tds: "42.08", rounding: "0",
				clientFeeCrypto: "0", clientGSTCrypto: "0", effectiveRate: "81.89",
			},
		},
		{
			// 100.000001 USDT at ₹88.5, client fee 1 %.
			//   gross        = 100.000001 × 88.5      = 8850.0000885
			//   platform fee = × 0.005                = 44.2500004425 → 44.25
			//   platform GST = 44.25 × 0.18           = 7.965         → 7.97 (half-up)
			//   client fee   = × 0.01                 = 88.500000885  → 88.50
			//   client GST   = 88.50 × 0.18           = 15.93
			//   PG fee 5, PG GST 0.90
			//   TDS          = × 0.01                 = 88.500000885  → 88.50
			//   deductions   = 44.25 + 7.97 + 88.50 + 15.93 + 5 + 0.90 + 88.50 = 251.05
			//   net          = 8850.0000885 − 251.05  = 8598.9500885
			//   receiving    = 8598.95 (down), rounding = 0.0000885
			//   client fee in USDT = 88.50 / 88.5 = 1; its GST = 15.93 / 88.5 = 0.18
			//   effective    = (8598.95 + 88.50) / 100.000001 = 86.8744991… → 86.87
			name: "sub-paisa remainder and client fee", sending: "100.000001", rate: "88.5", asset: "USDT",
			schedule: "platform=0.005,client=0.01",
			want: want{
				gross: "8850.0000885", receiving: "8598.95",
				platformFee: "44.25", platformGST: "7.97", clientFee: "88.5", clientGST: "15.93",
				pgFee: "5", pgGST: "0.9", tds: "88.5", rounding: "0.0000885",
				clientFeeCrypto: "1", clientGSTCrypto: "0.18", effectiveRate: "86.87",
			},
		},
		{
			// 10 USDT at ₹87.2 (the rate in DollarPe's example), client fee 2 %.
			//   gross 872; platform 4.36, GST 0.7848 → 0.78; client 17.44, GST 3.1392 → 3.14
			//   PG 5 + 0.90; TDS 8.72; deductions 40.34; receiving 831.66, rounding 0
			//   client fee in USDT = 17.44 / 87.2 = 0.2
			//   client GST in USDT = 3.14 / 87.2 = 0.0360091743… → 0.036009
			//   effective = (831.66 + 8.72) / 10 = 84.038 → 84.03
			name: "client fee restated in crypto", sending: "10", rate: "87.2", asset: "usdt",
			schedule: "client=0.02",
			want: want{
				gross: "872", receiving: "831.66",
				platformFee: "4.36", platformGST: "0.78", clientFee: "17.44", clientGST: "3.14",
				pgFee: "5", pgGST: "0.9", tds: "8.72", rounding: "0",
				clientFeeCrypto: "0.2", clientGSTCrypto: "0.036009", effectiveRate: "84.03",
			},
		},
		{
			// 1.5 USDC at ₹83.3333, default schedule: rounding just under a paisa.
			//   gross 124.99995; platform 0.62499975 → 0.62, GST 0.1116 → 0.11
			//   PG 5 + 0.90; TDS 1.2499995 → 1.25; deductions 7.88
			//   net 117.11995 → receiving 117.11, rounding 0.00995
			//   effective = (117.11 + 1.25) / 1.5 = 78.9066… → 78.90
			name: "rounding just under a paisa", sending: "1.5", rate: "83.3333", asset: "USDC",
			want: want{
				gross: "124.99995", receiving: "117.11",
				platformFee: "0.62", platformGST: "0.11", clientFee: "0", clientGST: "0",
				pgFee: "5", pgGST: "0.9", tds: "1.25", rounding: "0.00995",
				clientFeeCrypto: "0", clientGSTCrypto: "0", effectiveRate: "78.9",
			},
		},
		{
			// 0.07 USDT at ₹100: small but payable.
			//   gross 7; platform 0.035 → 0.04 (half-up), GST 0.0072 → 0.01
			//   PG 5 + 0.90; TDS 0.07; deductions 6.02; receiving 0.98
			//   effective = (0.98 + 0.07) / 0.07 = 15
			name: "small but payable", sending: "0.07", rate: "100", asset: "USDT",
			want: want{
				gross: "7", receiving: "0.98",
				platformFee: "0.04", platformGST: "0.01", clientFee: "0", clientGST: "0",
				pgFee: "5", pgGST: "0.9", tds: "0.07", rounding: "0",
				clientFeeCrypto: "0", clientGSTCrypto: "0", effectiveRate: "15",
			},
		},
		{
			// No fees, no tax: everything but the sub-paisa goes to the customer.
			//   gross = 2.5 × 88.1234 = 220.3085 → receiving 220.30, rounding 0.0085
			//   effective = 220.30 / 2.5 = 88.12
			name: "zero schedule", sending: "2.5", rate: "88.1234", asset: "USDT",
			schedule: "platform=0,client=0,pg=0,gst=0,tds=0",
			want: want{
				gross: "220.3085", receiving: "220.3",
				platformFee: "0", platformGST: "0", clientFee: "0", clientGST: "0",
				pgFee: "0", pgGST: "0", tds: "0", rounding: "0.0085",
				clientFeeCrypto: "0", clientGSTCrypto: "0", effectiveRate: "88.12",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Quote(d(tc.sending), d(tc.rate), tc.asset, mustSchedule(t, tc.schedule))
			if err != nil {
				t.Fatalf("Quote: %v", err)
			}
			f := b.Fees
			got := want{
				gross: Fiat(b.Gross), receiving: Fiat(b.Receiving),
				platformFee: Fiat(f.PlatformFee), platformGST: Fiat(f.PlatformGST),
				clientFee: Fiat(f.ClientFeeFiat), clientGST: Fiat(f.ClientGSTFiat),
				pgFee: Fiat(f.PGFee), pgGST: Fiat(f.PGGST), tds: Fiat(f.TDS), rounding: Fiat(f.Rounding),
				clientFeeCrypto: Crypto(f.ClientFeeCrypto, tc.asset), clientGSTCrypto: Crypto(f.ClientGSTCrypto, tc.asset),
				effectiveRate: Fiat(f.GrossEffectiveRate),
			}
			if got != tc.want {
				t.Errorf("Quote(%s %s at %s):\n got %+v\nwant %+v", tc.sending, tc.asset, tc.rate, got, tc.want)
			}
			if !b.Receiving.Add(Total(f)).Equal(b.Gross) {
				t.Errorf("receiving %s + total %s != gross %s", Fiat(b.Receiving), Fiat(Total(f)), Fiat(b.Gross))
			}
		})
	}
}

func TestQuoteErrors(t *testing.T) {
	def := DefaultSchedule()
	for _, tc := range []struct {
		name          string
		sending, rate string
		asset         string
		s             Schedule
		code          offramp.Code
		msg           string
	}{
		// gross 5: platform 0.025 → 0.03, GST 0.01, PG 5 + 0.90, TDS 0.05: nothing left.
		{"fees exceed gross", "1", "5", "USDT", def, offramp.CodeRejected, "Entered amount is less than minimum limit"},
		// gross 0.01 with no fees: net 0.01 → receiving 0.01 is payable, but 0.009 is not.
		{"less than a paisa", "0.000009", "1000", "USDT", Schedule{}, offramp.CodeRejected, "Entered amount is less than minimum limit"},
		{"zero sending", "0", "88", "USDT", def, offramp.CodeInvalid, "Sending amount must be greater than zero"},
		{"negative sending", "-1", "88", "USDT", def, offramp.CodeInvalid, "Sending amount must be greater than zero"},
		{"zero rate", "1", "0", "USDT", def, offramp.CodeInvalid, "Rate must be greater than zero"},
		{"negative rate", "1", "-88", "USDT", def, offramp.CodeInvalid, "Rate must be greater than zero"},
		{"unknown asset", "1", "88", "BTC", def, offramp.CodeInvalid, "Unsupported asset"},
		{"fiat as asset", "1", "88", "INR", def, offramp.CodeInvalid, "Unsupported asset"},
		{"negative rate in schedule", "1", "88", "USDT", Schedule{TDSRate: d("-0.01")}, offramp.CodeInternal, offramp.MsgInternal},
		{"100 % rate in schedule", "1", "88", "USDT", Schedule{PlatformFeeRate: d("1")}, offramp.CodeInternal, offramp.MsgInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Quote(d(tc.sending), d(tc.rate), tc.asset, tc.s)
			if offramp.ErrorCode(err) != tc.code {
				t.Fatalf("error = %v, want code %s", err, tc.code)
			}
			if e := err.(*offramp.Error); e.Message != tc.msg {
				t.Errorf("message = %q, want %q", e.Message, tc.msg)
			}
		})
	}
	// The smallest payable amount with no fees: exactly one paisa.
	b, err := Quote(d("0.00001"), d("1000"), "USDT", Schedule{})
	if err != nil || Fiat(b.Receiving) != "0.01" {
		t.Errorf("one paisa: receiving %s, err %v; want 0.01", Fiat(b.Receiving), err)
	}
}

func TestParseSchedule(t *testing.T) {
	def := DefaultSchedule()
	same := func(a, b Schedule) bool {
		return a.PlatformFeeRate.Equal(b.PlatformFeeRate) && a.ClientFeeRate.Equal(b.ClientFeeRate) &&
			a.PGFeeFlat.Equal(b.PGFeeFlat) && a.GSTRate.Equal(b.GSTRate) && a.TDSRate.Equal(b.TDSRate)
	}
	if !same(def, Schedule{PlatformFeeRate: d("0.005"), ClientFeeRate: d("0"), PGFeeFlat: d("5"), GSTRate: d("0.18"), TDSRate: d("0.01")}) {
		t.Fatalf("DefaultSchedule = %+v", def)
	}
	for _, tc := range []struct {
		spec string
		want Schedule
	}{
		{"", def},
		{"   ", def},
		{"platform=0.005,client=0,pg=5,gst=0.18,tds=0.01", def},
		{"client=0.0025", Schedule{PlatformFeeRate: d("0.005"), ClientFeeRate: d("0.0025"), PGFeeFlat: d("5"), GSTRate: d("0.18"), TDSRate: d("0.01")}},
		{" PG = 10.50 , Platform=0.000001 ", Schedule{PlatformFeeRate: d("0.000001"), ClientFeeRate: d("0"), PGFeeFlat: d("10.5"), GSTRate: d("0.18"), TDSRate: d("0.01")}},
		{"platform=0,client=0,pg=0,gst=0,tds=0", Schedule{PlatformFeeRate: d("0"), ClientFeeRate: d("0"), PGFeeFlat: d("0"), GSTRate: d("0"), TDSRate: d("0")}},
		{"gst=0.999999", Schedule{PlatformFeeRate: d("0.005"), ClientFeeRate: d("0"), PGFeeFlat: d("5"), GSTRate: d("0.999999"), TDSRate: d("0.01")}},
		{"pg=999999999999.99", Schedule{PlatformFeeRate: d("0.005"), ClientFeeRate: d("0"), PGFeeFlat: d("999999999999.99"), GSTRate: d("0.18"), TDSRate: d("0.01")}},
	} {
		got, err := ParseSchedule(tc.spec)
		if err != nil {
			t.Errorf("ParseSchedule(%q): %v", tc.spec, err)
			continue
		}
		if !same(got, tc.want) {
			t.Errorf("ParseSchedule(%q) = %+v, want %+v", tc.spec, got, tc.want)
		}
	}
	for _, tc := range []struct{ spec, msg string }{
		{"platform", "not key=value"},
		{"platform=", "not key=value"},
		{"=0.1", "not key=value"},
		{"platform=0.005,", "not key=value"},
		{"fee=0.1", `unknown key "fee"`},
		{"platform=0.1,platform=0.2", "platform is given twice"},
		{"platform=-0.1", "not a plain non-negative decimal"},
		{"platform=1e-3", "not a plain non-negative decimal"},
		{"platform=abc", "not a plain non-negative decimal"},
		{"platform=1", "platform rate 1 must be at least 0 and less than 1"},
		{"tds=5", "tds rate 5 must be at least 0 and less than 1"},
		{"gst=18", "gst rate 18 must be at least 0 and less than 1"},
		{"client=0.0000001", "client rate 0.0000001 has more than 6 decimal places"},
		{"pg=5.001", "pg fee 5.001 has more than 2 decimal places"},
		{"pg=1000000000000", "pg fee 1000000000000 has more than 12 integer digits"},
	} {
		_, err := ParseSchedule(tc.spec)
		if offramp.ErrorCode(err) != offramp.CodeInvalid {
			t.Errorf("ParseSchedule(%q) error = %v, want CodeInvalid", tc.spec, err)
			continue
		}
		if msg := err.(*offramp.Error).Message; !strings.Contains(msg, tc.msg) {
			t.Errorf("ParseSchedule(%q) message = %q, want it to contain %q", tc.spec, msg, tc.msg)
		}
	}
}

// --- property test ---------------------------------------------------------

// propertyCases is how many random quotes TestQuoteProperties checks.
const propertyCases = 50_000

// TestQuoteProperties checks Quote on random amounts, rates and schedules
// against the invariants the ledger relies on, and against an independent
// re-implementation of the rounding rules in exact rational arithmetic
// (math/big.Rat), so that a rounding slip in Quote cannot hide behind an
// invariant it happens to preserve.
func TestQuoteProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(20260102, 42)) // seeded: a failure reproduces
	paisa := d("0.01")
	var quoted, rejected int
	for i := range propertyCases {
		sending := randAmount(rng, 6, 1_000_000) // 0.000001 … 1,000,000, up to 6 places
		rate := randRate(rng)                    // 1 … 200, up to 4 places
		s := randSchedule(rng)

		b, err := Quote(sending, rate, "USDT", s)
		o := oracle(sending, rate, s)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("case %d: sending %s, rate %s, schedule %+v: "+format,
				append([]any{i, Fiat(sending), Fiat(rate), s}, args...)...)
		}
		if err != nil {
			if offramp.ErrorCode(err) != offramp.CodeRejected {
				fail("unexpected error %v", err)
			}
			if o.receiving.Sign() > 0 {
				fail("rejected, but the oracle pays %s", o.receiving.FloatString(2))
			}
			rejected++
			continue
		}
		quoted++
		f := b.Fees

		// The exact sum identity, written out rather than via Total.
		sum := b.Receiving.Add(f.ClientFeeFiat).Add(f.ClientGSTFiat).Add(f.PlatformFee).Add(f.PlatformGST).
			Add(f.PGFee).Add(f.PGGST).Add(f.TDS).Add(f.Rounding)
		if !sum.Equal(b.Gross) {
			fail("receiving + fees + rounding = %s, gross = %s", Fiat(sum), Fiat(b.Gross))
		}
		if !b.Receiving.Add(Total(f)).Equal(b.Gross) {
			fail("receiving + Total = %s, gross %s", Fiat(b.Receiving.Add(Total(f))), Fiat(b.Gross))
		}
		if !b.Gross.Equal(sending.Mul(rate)) {
			fail("gross %s != sending × rate", Fiat(b.Gross))
		}
		if !b.Receiving.Equal(b.Receiving.Truncate(2)) {
			fail("receiving %s has more than 2 decimal places", Fiat(b.Receiving))
		}
		if b.Receiving.IsNegative() || b.Receiving.IsZero() {
			fail("receiving %s is not positive", Fiat(b.Receiving))
		}
		if b.Receiving.GreaterThan(b.Gross) {
			fail("receiving %s > gross %s", Fiat(b.Receiving), Fiat(b.Gross))
		}
		for name, v := range map[string]decimal.Decimal{
			"client fee": f.ClientFeeFiat, "client GST": f.ClientGSTFiat, "platform fee": f.PlatformFee,
			"platform GST": f.PlatformGST, "PG fee": f.PGFee, "PG GST": f.PGGST, "TDS": f.TDS,
			"client fee crypto": f.ClientFeeCrypto, "client GST crypto": f.ClientGSTCrypto,
			"effective rate": f.GrossEffectiveRate,
		} {
			if v.IsNegative() {
				fail("%s %s is negative", name, Fiat(v))
			}
		}
		if f.Rounding.IsNegative() || !f.Rounding.LessThan(paisa) {
			fail("rounding %s is outside [0, 0.01)", Fiat(f.Rounding))
		}

		// Every figure agrees with the oracle.
		for _, c := range []struct {
			name string
			got  decimal.Decimal
			want *big.Rat
		}{
			{"receiving", b.Receiving, o.receiving},
			{"client fee", f.ClientFeeFiat, o.clientFee}, {"client GST", f.ClientGSTFiat, o.clientGST},
			{"platform fee", f.PlatformFee, o.platformFee}, {"platform GST", f.PlatformGST, o.platformGST},
			{"PG fee", f.PGFee, o.pgFee}, {"PG GST", f.PGGST, o.pgGST}, {"TDS", f.TDS, o.tds},
			{"rounding", f.Rounding, o.rounding},
			{"client fee crypto", f.ClientFeeCrypto, o.clientFeeCrypto},
			{"client GST crypto", f.ClientGSTCrypto, o.clientGSTCrypto},
			{"effective rate", f.GrossEffectiveRate, o.effectiveRate},
		} {
			if c.got.Rat().Cmp(c.want) != 0 {
				fail("%s = %s, oracle says %s", c.name, Fiat(c.got), c.want.FloatString(10))
			}
		}
	}
	t.Logf("%d cases: %d quoted, %d rejected as below the minimum", propertyCases, quoted, rejected)
	// Guard against a generator that only produces rejections (or none).
	if quoted < propertyCases/2 || rejected == 0 {
		t.Errorf("poor coverage: %d quoted, %d rejected", quoted, rejected)
	}
}

// randAmount returns a random amount in [10^-places, max] with up to places
// decimal places. The number of digits is drawn first so that small amounts
// (where the flat fee and rounding matter most) are as common as large ones.
func randAmount(rng *rand.Rand, places int32, max int64) decimal.Decimal {
	p := rng.Int32N(places + 1) // decimal places actually used
	limit := max
	for range p {
		limit *= 10
	}
	digits := 1 + rng.IntN(len(decimal.NewFromInt(limit).String()))
	n := int64(1)
	for range digits {
		n *= 10
	}
	n = 1 + rng.Int64N(min(n, limit))
	return decimal.New(n, -p)
}

// randRate returns a rate in [1, 200] with up to 4 decimal places.
func randRate(rng *rand.Rand) decimal.Decimal {
	p := rng.Int32N(5)
	scale := int64(1)
	for range p {
		scale *= 10
	}
	return decimal.New(scale+rng.Int64N(199*scale+1), -p)
}

// randSchedule returns a valid random schedule: each rate is zero a fifth of
// the time and otherwise up to 10 % (GST up to 28 %, the highest GST slab)
// with up to 6 places; the PG fee is 0 … ₹50 in paise.
func randSchedule(rng *rand.Rand) Schedule {
	r := func(maxMicro int64) decimal.Decimal {
		if rng.IntN(5) == 0 {
			return decimal.Zero
		}
		return decimal.New(rng.Int64N(maxMicro+1), -6)
	}
	return Schedule{
		PlatformFeeRate: r(100_000),
		ClientFeeRate:   r(100_000),
		PGFeeFlat:       decimal.New(rng.Int64N(5001), -2),
		GSTRate:         r(280_000),
		TDSRate:         r(100_000),
	}
}

type oracleResult struct {
	receiving, rounding                             *big.Rat
	clientFee, clientGST, platformFee, platformGST  *big.Rat
	pgFee, pgGST, tds                               *big.Rat
	clientFeeCrypto, clientGSTCrypto, effectiveRate *big.Rat
}

// oracle is Quote's rules restated in exact rationals, with rounding done by
// integer floor division: halfUp(x, p) = floor(x·10^p + 1/2) / 10^p and
// down(x, p) = floor(x·10^p) / 10^p.
func oracle(sending, rate decimal.Decimal, s Schedule) oracleResult {
	mul := func(a, b *big.Rat) *big.Rat { return new(big.Rat).Mul(a, b) }
	floorAt := func(x *big.Rat, places int, half bool) *big.Rat {
		scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
		y := mul(x, new(big.Rat).SetInt(scale))
		if half {
			y.Add(y, big.NewRat(1, 2))
		}
		q := new(big.Int).Div(y.Num(), y.Denom()) // Euclidean = floor for a positive denominator
		return new(big.Rat).SetFrac(q, scale)
	}
	halfUp2 := func(x *big.Rat) *big.Rat { return floorAt(x, 2, true) }

	gross := mul(sending.Rat(), rate.Rat())
	var o oracleResult
	o.platformFee = halfUp2(mul(gross, s.PlatformFeeRate.Rat()))
	o.clientFee = halfUp2(mul(gross, s.ClientFeeRate.Rat()))
	o.pgFee = halfUp2(s.PGFeeFlat.Rat())
	o.platformGST = halfUp2(mul(o.platformFee, s.GSTRate.Rat()))
	o.clientGST = halfUp2(mul(o.clientFee, s.GSTRate.Rat()))
	o.pgGST = halfUp2(mul(o.pgFee, s.GSTRate.Rat()))
	o.tds = halfUp2(mul(gross, s.TDSRate.Rat()))
	net := new(big.Rat).Set(gross)
	for _, x := range []*big.Rat{o.platformFee, o.clientFee, o.pgFee, o.platformGST, o.clientGST, o.pgGST, o.tds} {
		net.Sub(net, x)
	}
	o.receiving = floorAt(net, 2, false)
	o.rounding = new(big.Rat).Sub(net, o.receiving)
	inv := new(big.Rat).Inv(rate.Rat())
	o.clientFeeCrypto = floorAt(mul(o.clientFee, inv), 6, true)
	o.clientGSTCrypto = floorAt(mul(o.clientGST, inv), 6, true)
	o.effectiveRate = floorAt(mul(new(big.Rat).Add(o.receiving, o.tds), new(big.Rat).Inv(sending.Rat())), 2, false)
	return o
}

func BenchmarkQuote(b *testing.B) {
	sending, rate, s := d("100.000001"), d("88.5"), DefaultSchedule()
	s.ClientFeeRate = d("0.01")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Quote(sending, rate, "USDT", s); err != nil {
			b.Fatal(err)
		}
	}
}
