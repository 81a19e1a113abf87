package commerce

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// Money is an exact amount: integer minor units (cents for USD, yen for JPY,
// fils for KWD) of an ISO 4217 currency. The zero value is zero of no
// currency, which adds to any currency.
type Money struct {
	// Minor is the amount in the currency's minor unit.
	Minor int64
	// Currency is the ISO 4217 code, upper case.
	Currency string
}

// NewMoney returns minor units of currency. It does not validate the code;
// ParseMoney and NormalizeCurrency do.
func NewMoney(minor int64, currency string) Money {
	return Money{Minor: minor, Currency: currency}
}

// ErrTooManyDecimals is wrapped by ParseMoney when an amount has more
// significant decimal digits than its currency allows: the amount is refused,
// never rounded.
var ErrTooManyDecimals = errors.New("too many decimals")

// ParseMoney parses a decimal amount such as "84.50", "-3" or "1.250" in the
// given ISO 4217 currency. It accepts an optional sign, digits, and an
// optional fraction; digits past the currency's exponent are accepted only
// when they are zeros ("84.500" USD is 8450 cents, "84.505" USD is an error
// wrapping ErrTooManyDecimals). Exponents, thousands separators and empty
// strings are errors.
func ParseMoney(amount, currency string) (Money, error) {
	cur, err := NormalizeCurrency(currency)
	if err != nil {
		return Money{}, err
	}
	exp := exponents[cur]
	minor, err := parseMinor(amount, exp)
	if err != nil {
		return Money{}, fmt.Errorf("amount %q %s: %w", amount, cur, err)
	}
	return Money{Minor: minor, Currency: cur}, nil
}

// MustParseMoney is ParseMoney for literals known to be valid; it panics on error.
func MustParseMoney(amount, currency string) Money {
	m, err := ParseMoney(amount, currency)
	if err != nil {
		panic(err)
	}
	return m
}

// parseMinor converts a decimal string to an integer scaled by 10^exp.
func parseMinor(s string, exp int) (int64, error) {
	if s == "" {
		return 0, errors.New("empty amount")
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if intPart == "" || (hasPoint && frac == "") {
		return 0, errors.New("not a decimal number")
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, errors.New("not a decimal number")
			}
		}
	}
	if len(frac) > exp {
		extra := frac[exp:]
		if strings.Trim(extra, "0") != "" {
			return 0, fmt.Errorf("%w: %d decimal places, the currency has %d", ErrTooManyDecimals, len(frac), exp)
		}
		frac = frac[:exp]
	}
	frac += strings.Repeat("0", exp-len(frac))
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return 0, nil
	}
	// Parse the magnitude unsigned: math.MinInt64 has no positive int64
	// counterpart, yet it is a valid amount (and Decimal writes it).
	u, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || u > math.MaxInt64 && !(neg && u == 1<<63) {
		return 0, errors.New("amount out of range")
	}
	return signed(u, neg), nil
}

// magnitude returns |v|, exact for math.MinInt64.
func magnitude(v int64) uint64 {
	if v < 0 {
		return uint64(-(v + 1)) + 1
	}
	return uint64(v)
}

// signed returns u, or −u when neg, for u ≤ 2⁶³ (2⁶³ only when neg).
func signed(u uint64, neg bool) int64 {
	if neg {
		return int64(-u) // two's complement: −2⁶³ stays math.MinInt64
	}
	return int64(u)
}

// Exponent returns the number of minor-unit digits of m's currency, or 2
// when the currency is empty or unknown (the zero Money).
func (m Money) Exponent() int {
	if e, ok := exponents[m.Currency]; ok {
		return e
	}
	return 2
}

// Decimal formats the amount without its currency, exactly, with as many
// decimals as the currency has: "84.50", "-0.05", "1500" (JPY), "1.250" (KWD).
func (m Money) Decimal() string {
	return formatMinor(m.Minor, m.Exponent())
}

func formatMinor(minor int64, exp int) string {
	sign := ""
	if minor < 0 {
		sign = "-"
	}
	digits := strconv.FormatUint(magnitude(minor), 10)
	if exp == 0 {
		return sign + digits
	}
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp-len(digits)+1) + digits
	}
	cut := len(digits) - exp
	return sign + digits[:cut] + "." + digits[cut:]
}

// String formats m as "84.50 USD".
func (m Money) String() string {
	if m.Currency == "" {
		return m.Decimal()
	}
	return m.Decimal() + " " + m.Currency
}

// IsZero reports whether the amount is zero, whatever the currency.
func (m Money) IsZero() bool { return m.Minor == 0 }

// Sign returns -1, 0 or +1.
func (m Money) Sign() int {
	switch {
	case m.Minor < 0:
		return -1
	case m.Minor > 0:
		return 1
	}
	return 0
}

func (m Money) currencyWith(o Money) string {
	switch {
	case m.Currency == o.Currency, o.Currency == "":
		return m.Currency
	case m.Currency == "":
		return o.Currency
	}
	panic(fmt.Sprintf("commerce: mixing currencies %s and %s", m.Currency, o.Currency))
}

// Add returns m + o. It panics when both carry different currencies: callers
// convert to one currency first, so mixing them is a programming error.
func (m Money) Add(o Money) Money {
	return Money{Minor: m.Minor + o.Minor, Currency: m.currencyWith(o)}
}

// Sub returns m − o, with the same currency rule as Add.
func (m Money) Sub(o Money) Money {
	return Money{Minor: m.Minor - o.Minor, Currency: m.currencyWith(o)}
}

// Neg returns −m.
func (m Money) Neg() Money { return Money{Minor: -m.Minor, Currency: m.Currency} }

// Mul returns m × n.
func (m Money) Mul(n int64) Money { return Money{Minor: m.Minor * n, Currency: m.Currency} }

// Cmp compares amounts: -1 if m < o, 0 if equal, +1 if m > o, with the same
// currency rule as Add.
func (m Money) Cmp(o Money) int {
	m.currencyWith(o)
	switch {
	case m.Minor < o.Minor:
		return -1
	case m.Minor > o.Minor:
		return 1
	}
	return 0
}

// Min returns the smaller of m and o.
func (m Money) Min(o Money) Money {
	if m.Cmp(o) <= 0 {
		return m
	}
	return o
}

// Allocate splits m over weights in proportion, exactly: the parts sum to m,
// each part is within one minor unit of its exact share, and the leftover
// units go to the largest remainders (ties to the earlier weight). Negative
// weights count as zero; when all weights are zero the whole amount goes to
// the first part. It returns nil for no weights.
func (m Money) Allocate(weights []int64) []Money {
	if len(weights) == 0 {
		return nil
	}
	parts := make([]Money, len(weights))
	for i := range parts {
		parts[i].Currency = m.Currency
	}
	// The positive weights can sum past 64 bits (three weights near
	// math.MaxInt64), so the sum is kept in 128: sumHi, sumLo.
	var sumHi, sumLo uint64
	for _, w := range weights {
		if w > 0 {
			var carry uint64
			sumLo, carry = bits.Add64(sumLo, uint64(w), 0)
			sumHi += carry
		}
	}
	if sumHi == 0 && sumLo == 0 {
		parts[0].Minor = m.Minor
		return parts
	}
	// Share out |m| by floor(|m|·w/sum), remembering each remainder (out
	// of sum, 128 bits wide), then hand the units left over, fewer than
	// the number of weights, to the largest remainders.
	total := magnitude(m.Minor)
	type share struct {
		i            int
		remHi, remLo uint64
	}
	shares := make([]share, 0, len(weights))
	quots := make([]uint64, len(weights))
	var given uint64
	var bigSum *big.Int
	for i, w := range weights {
		if w <= 0 {
			continue
		}
		s := share{i: i}
		hi, lo := bits.Mul64(total, uint64(w))
		if sumHi == 0 {
			// hi < sumLo because the quotient is at most total.
			quots[i], s.remLo = bits.Div64(hi, lo, sumLo)
		} else {
			if bigSum == nil {
				bigSum = new(big.Int).Lsh(new(big.Int).SetUint64(sumHi), 64)
				bigSum.Or(bigSum, new(big.Int).SetUint64(sumLo))
			}
			num := new(big.Int).Lsh(new(big.Int).SetUint64(hi), 64)
			num.Or(num, new(big.Int).SetUint64(lo))
			q, r := num.QuoRem(num, bigSum, new(big.Int))
			quots[i] = q.Uint64()
			s.remLo = r.Uint64()
			s.remHi = r.Rsh(r, 64).Uint64()
		}
		given += quots[i]
		shares = append(shares, s)
	}
	slices.SortStableFunc(shares, func(a, b share) int {
		// Larger remainders first; the stable sort keeps ties in order.
		if c := cmp.Compare(b.remHi, a.remHi); c != 0 {
			return c
		}
		return cmp.Compare(b.remLo, a.remLo)
	})
	for _, s := range shares[:total-given] {
		quots[s.i]++
	}
	neg := m.Minor < 0
	for i, q := range quots {
		parts[i].Minor = signed(q, neg)
	}
	return parts
}

// moneyJSON is the wire form of Money: the exact decimal string and the code.
type moneyJSON struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// MarshalJSON encodes m as {"amount":"84.50","currency":"USD"}; the zero
// Money without a currency encodes as null.
func (m Money) MarshalJSON() ([]byte, error) {
	if m.Currency == "" && m.Minor == 0 {
		return []byte("null"), nil
	}
	return json.Marshal(moneyJSON{Amount: m.Decimal(), Currency: m.Currency})
}

// UnmarshalJSON decodes the form written by MarshalJSON, exactly.
func (m *Money) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*m = Money{}
		return nil
	}
	var w moneyJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.Currency == "" {
		v, err := parseMinor(w.Amount, 2)
		if err != nil {
			return fmt.Errorf("amount %q: %w", w.Amount, err)
		}
		*m = Money{Minor: v}
		return nil
	}
	p, err := ParseMoney(w.Amount, w.Currency)
	if err != nil {
		return err
	}
	*m = p
	return nil
}
