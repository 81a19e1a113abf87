package loyalty

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
)

// decimalScale is the fixed-point scale of Decimal: six decimal places.
const decimalScale = 1_000_000

// Decimal is an exact non-float number with up to six decimal places, used
// for rates and factors (points per unit, earn factors). It reads from and
// writes to YAML and JSON as a plain decimal ("1.5").
type Decimal struct {
	micro int64
	// set tells a value the owner wrote (even 0) from an absent one, so
	// that defaults apply only to what was left out.
	set bool
}

// One is the Decimal 1.
var One = Decimal{micro: decimalScale, set: true}

// DecimalFromInt returns n as a Decimal.
func DecimalFromInt(n int64) Decimal { return Decimal{micro: n * decimalScale, set: true} }

// ParseDecimal parses "1", "1.5", "-0.25"; more than six decimals, exponents
// and empty strings are errors.
func ParseDecimal(s string) (Decimal, error) {
	t := strings.TrimSpace(s)
	neg := strings.HasPrefix(t, "-")
	t = strings.TrimPrefix(strings.TrimPrefix(t, "-"), "+")
	ip, fp, hasPoint := strings.Cut(t, ".")
	if ip == "" || (hasPoint && fp == "") || len(fp) > 6 || !digits(ip) || !digits(fp) {
		return Decimal{}, fmt.Errorf("%q is not a decimal number with at most 6 decimals", s)
	}
	i, err := strconv.ParseInt(ip, 10, 64)
	if err != nil || i > (1<<62)/decimalScale {
		return Decimal{}, fmt.Errorf("%q is out of range", s)
	}
	f := int64(0)
	if fp != "" {
		f, _ = strconv.ParseInt(fp+strings.Repeat("0", 6-len(fp)), 10, 64)
	}
	v := i*decimalScale + f
	if neg {
		v = -v
	}
	return Decimal{micro: v, set: true}, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MustDecimal is ParseDecimal for literals; it panics on error.
func MustDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// String formats d with no trailing zeros: "1", "1.5", "0.000001".
func (d Decimal) String() string {
	v := d.micro
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	s := strconv.FormatInt(v/decimalScale, 10)
	if f := v % decimalScale; f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%06d", f), "0")
	}
	return sign + s
}

// IsZero reports whether d is zero; the zero value is zero.
func (d Decimal) IsZero() bool { return d.micro == 0 }

// Sign returns -1, 0 or +1.
func (d Decimal) Sign() int {
	switch {
	case d.micro < 0:
		return -1
	case d.micro > 0:
		return 1
	}
	return 0
}

// Cmp compares d and e.
func (d Decimal) Cmp(e Decimal) int {
	switch {
	case d.micro < e.micro:
		return -1
	case d.micro > e.micro:
		return 1
	}
	return 0
}

// Or returns d, or def when d is zero: the way defaults apply to factors.
func (d Decimal) Or(def Decimal) Decimal {
	if d.micro == 0 {
		return def
	}
	return d
}

// MarshalText writes the decimal form.
func (d Decimal) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads the decimal form.
func (d *Decimal) UnmarshalText(b []byte) error {
	v, err := ParseDecimal(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// mulFloor returns floor(a × Π factors ÷ (div × scale^len(factors))) for
// a ≥ 0 and div > 0, exactly. A factor ≤ 0 gives 0. The product is formed in
// 128-bit arithmetic, falling back to math/big in the rare case it does not
// fit; dividing step by step is exact because floor(floor(x/m)/n) equals
// floor(x/(m·n)) for positive integers.
func mulFloor(a uint64, div uint64, factors ...Decimal) uint64 {
	hi, lo := uint64(0), a
	for _, f := range factors {
		if f.micro <= 0 {
			return 0
		}
		p1, p0 := bits.Mul64(lo, uint64(f.micro))
		c1, c0 := bits.Mul64(hi, uint64(f.micro))
		var carry uint64
		p1, carry = bits.Add64(p1, c0, 0)
		if c1 != 0 || carry != 0 {
			return mulFloorBig(a, div, factors)
		}
		hi, lo = p1, p0
	}
	hi, lo = div128(hi, lo, div)
	for range factors {
		hi, lo = div128(hi, lo, decimalScale)
	}
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}

func div128(hi, lo, d uint64) (uint64, uint64) {
	qhi, rhi := hi/d, hi%d
	qlo, _ := bits.Div64(rhi, lo, d)
	return qhi, qlo
}

func mulFloorBig(a, div uint64, factors []Decimal) uint64 {
	n := new(big.Int).SetUint64(a)
	d := new(big.Int).SetUint64(div)
	for _, f := range factors {
		n.Mul(n, big.NewInt(f.micro))
		d.Mul(d, big.NewInt(decimalScale))
	}
	n.Quo(n, d)
	if !n.IsUint64() {
		return math.MaxUint64
	}
	return n.Uint64()
}
