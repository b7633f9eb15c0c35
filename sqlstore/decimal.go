package sqlstore

import (
	"encoding/json"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// decText encodes an amount as exact decimal text in plain notation,
// keeping the digits after the point as written: 4144.60 stays "4144.60"
// and reads back with two decimal places, as PostgreSQL's numeric keeps its
// scale. A decimal with a positive exponent (decimal.New(15, 2)) is written
// as the integer it is ("1500"). Unlike Decimal.String, the result does not
// depend on package decimal's global formatting switches
// (TrimTrailingZeros, UseScientificNotation).
func decText(d decimal.Decimal) string {
	if exp := d.Exponent(); exp < 0 {
		// Rounding to exactly the places the value has is a no-op.
		return d.StringFixed(-exp)
	}
	return d.StringFixed(0)
}

// decCol scans an amount stored as decimal text. Anything else (a REAL
// that found its way in) is an error, never a rounded number.
type decCol struct{ d *decimal.Decimal }

func (c decCol) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a decimal", src)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return fmt.Errorf("sqlstore: bad stored decimal %q", s)
	}
	*c.d = d
	return nil
}

// feeFields names Fees' amounts in the stored JSON object. New fields go at
// the end; a field missing from an older row reads back as zero.
func feeFields(f *offramp.Fees) []struct {
	name string
	d    *decimal.Decimal
} {
	return []struct {
		name string
		d    *decimal.Decimal
	}{
		{"client_fee_fiat", &f.ClientFeeFiat},
		{"client_fee_crypto", &f.ClientFeeCrypto},
		{"client_gst_fiat", &f.ClientGSTFiat},
		{"client_gst_crypto", &f.ClientGSTCrypto},
		{"platform_fee", &f.PlatformFee},
		{"platform_gst", &f.PlatformGST},
		{"pg_fee", &f.PGFee},
		{"pg_gst", &f.PGGST},
		{"tds", &f.TDS},
		{"rounding", &f.Rounding},
		{"gross_effective_rate", &f.GrossEffectiveRate},
	}
}

// encodeFees stores Fees as a JSON object of decimal strings: exact, and
// independent of how package decimal marshals JSON.
func encodeFees(f offramp.Fees) (string, error) {
	m := map[string]string{}
	for _, fld := range feeFields(&f) {
		m[fld.name] = decText(*fld.d)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encode fees: %w", err)
	}
	return string(b), nil
}

func decodeFees(s string) (offramp.Fees, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return offramp.Fees{}, fmt.Errorf("sqlstore: decode stored fees: %w", err)
	}
	var f offramp.Fees
	for _, fld := range feeFields(&f) {
		v, ok := m[fld.name]
		if !ok {
			*fld.d = decimal.Zero
			continue
		}
		d, err := decimal.NewFromString(v)
		if err != nil {
			return offramp.Fees{}, fmt.Errorf("sqlstore: bad stored fee %s", fld.name)
		}
		*fld.d = d
	}
	return f, nil
}

// encodeList stores a list of strings as a JSON array; nil and empty
// become "[]".
func encodeList(l []string) (string, error) {
	if len(l) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encode list: %w", err)
	}
	return string(b), nil
}

// decodeList reads encodeList's output; an empty list reads back as nil.
func decodeList(s string) ([]string, error) {
	if s == "" || s == "[]" || s == "null" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		// Not wrapped: the lists are sealed, and a JSON error quotes input.
		return nil, fmt.Errorf("sqlstore: decode stored list: malformed JSON array")
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}
