package commerce_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/loyaltyd/loyaltyd/commerce"
)

func TestParseMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		amount, currency string
		wantMinor        int64
		wantCurrency     string
		wantDecimal      string
	}{
		// Exponent 0.
		{"1500", "JPY", 1500, "JPY", "1500"},
		{"-1500", "JPY", -1500, "JPY", "-1500"},
		{"+7", "KRW", 7, "KRW", "7"},
		{"0", "JPY", 0, "JPY", "0"},
		{"1500.0", "JPY", 1500, "JPY", "1500"},
		{"1500.000", "KRW", 1500, "KRW", "1500"},
		// Exponent 2.
		{"84.50", "USD", 8450, "USD", "84.50"},
		{"84.5", "USD", 8450, "USD", "84.50"},
		{"84", "USD", 8400, "USD", "84.00"},
		{"84.500", "USD", 8450, "USD", "84.50"},
		{"84.50000000000000000000000000", "USD", 8450, "USD", "84.50"},
		{"-3", "EUR", -300, "EUR", "-3.00"},
		{"+3.01", "EUR", 301, "EUR", "3.01"},
		{"0.05", "USD", 5, "USD", "0.05"},
		{"-0.05", "USD", -5, "USD", "-0.05"},
		{"0", "USD", 0, "USD", "0.00"},
		{"0.00", "USD", 0, "USD", "0.00"},
		{"-0", "USD", 0, "USD", "0.00"},
		{"-0.00", "EUR", 0, "EUR", "0.00"},
		{"+0", "EUR", 0, "EUR", "0.00"},
		{"007.50", "USD", 750, "USD", "7.50"},
		{"000000000000000000000000000001.00", "USD", 100, "USD", "1.00"},
		// Exponent 3.
		{"1.250", "KWD", 1250, "KWD", "1.250"},
		{"1.25", "KWD", 1250, "KWD", "1.250"},
		{"0.001", "KWD", 1, "KWD", "0.001"},
		{"-0.001", "BHD", -1, "BHD", "-0.001"},
		{"12.3450", "BHD", 12345, "BHD", "12.345"},
		// Exponent 4.
		{"1.2345", "CLF", 12345, "CLF", "1.2345"},
		{"0.0001", "CLF", 1, "CLF", "0.0001"},
		{"-2", "CLF", -20000, "CLF", "-2.0000"},
		// Currency normalisation.
		{"1", "usd", 100, "USD", "1.00"},
		{"1", "Jpy", 1, "JPY", "1"},
		{"1", " eur ", 100, "EUR", "1.00"},
		// The int64 limits.
		{"92233720368547758.07", "USD", math.MaxInt64, "USD", "92233720368547758.07"},
		{"-92233720368547758.08", "USD", math.MinInt64, "USD", "-92233720368547758.08"},
		{"9223372036854775807", "JPY", math.MaxInt64, "JPY", "9223372036854775807"},
		{"-9223372036854775808", "JPY", math.MinInt64, "JPY", "-9223372036854775808"},
		{"922337203685477.5807", "CLF", math.MaxInt64, "CLF", "922337203685477.5807"},
	}
	for _, tt := range tests {
		t.Run(tt.amount+" "+tt.currency, func(t *testing.T) {
			t.Parallel()
			got, err := commerce.ParseMoney(tt.amount, tt.currency)
			if err != nil {
				t.Fatalf("ParseMoney(%q, %q): %v", tt.amount, tt.currency, err)
			}
			want := commerce.Money{Minor: tt.wantMinor, Currency: tt.wantCurrency}
			if got != want {
				t.Errorf("ParseMoney(%q, %q) = %#v, want %#v", tt.amount, tt.currency, got, want)
			}
			if got, want := got.Decimal(), tt.wantDecimal; got != want {
				t.Errorf("Decimal() = %q, want %q", got, want)
			}
		})
	}
}

func TestParseMoneyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		amount, currency string
		// wantIs, when set, must be in the error's chain.
		wantIs error
	}{
		// Too many significant decimals: refused, not rounded.
		{"84.505", "USD", commerce.ErrTooManyDecimals},
		{"84.5000001", "USD", commerce.ErrTooManyDecimals},
		{"-0.001", "EUR", commerce.ErrTooManyDecimals},
		{"1.5", "JPY", commerce.ErrTooManyDecimals},
		{"0.1", "KRW", commerce.ErrTooManyDecimals},
		{"1.2345", "KWD", commerce.ErrTooManyDecimals},
		{"1.00001", "CLF", commerce.ErrTooManyDecimals},
		// Not a plain decimal number.
		{"", "USD", nil},
		{".", "USD", nil},
		{"5.", "USD", nil},
		{".5", "USD", nil},
		{"-.5", "USD", nil},
		{"-", "USD", nil},
		{"+", "USD", nil},
		{"1e3", "USD", nil},
		{"1E3", "JPY", nil},
		{"1,000.00", "USD", nil},
		{"1_000", "USD", nil},
		{" 1", "USD", nil},
		{"1 ", "USD", nil},
		{"--1", "USD", nil},
		{"+-1", "USD", nil},
		{"-+1", "USD", nil},
		{"abc", "USD", nil},
		{"0x10", "USD", nil},
		{"1.2.3", "USD", nil},
		{"1..2", "USD", nil},
		{"NaN", "USD", nil},
		{"Inf", "USD", nil},
		{"١٢", "USD", nil}, // Arabic-Indic digits
		{"$5", "USD", nil},
		{"5 USD", "USD", nil},
		// Out of the int64 range.
		{"92233720368547758.08", "USD", nil},
		{"-92233720368547758.09", "USD", nil},
		{"9223372036854775808", "JPY", nil},
		{"-9223372036854775809", "JPY", nil},
		{"18446744073709551616", "JPY", nil},
		{"100000000000000000000000000000", "USD", nil},
		{"922337203685477.5808", "CLF", nil},
		// Unknown currencies.
		{"1", "XXX", nil},
		{"1", "", nil},
		{"1", "US", nil},
		{"1", "USDD", nil},
		{"1", "US D", nil},
		{"1", "XAU", nil},
	}
	for _, tt := range tests {
		t.Run(tt.amount+" "+tt.currency, func(t *testing.T) {
			t.Parallel()
			got, err := commerce.ParseMoney(tt.amount, tt.currency)
			if err == nil {
				t.Fatalf("ParseMoney(%q, %q) = %#v, want an error", tt.amount, tt.currency, got)
			}
			if got != (commerce.Money{}) {
				t.Errorf("ParseMoney(%q, %q) returned %#v with its error, want the zero Money", tt.amount, tt.currency, got)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("ParseMoney(%q, %q) error = %v, want one wrapping %v", tt.amount, tt.currency, err, tt.wantIs)
			}
			if tt.wantIs == nil && errors.Is(err, commerce.ErrTooManyDecimals) {
				t.Errorf("ParseMoney(%q, %q) error = %v, wrongly wraps ErrTooManyDecimals", tt.amount, tt.currency, err)
			}
		})
	}
}

func TestMustParseMoney(t *testing.T) {
	t.Parallel()
	if got, want := commerce.MustParseMoney("84.50", "USD"), commerce.NewMoney(8450, "USD"); got != want {
		t.Errorf("MustParseMoney(84.50, USD) = %#v, want %#v", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustParseMoney(84.505, USD) did not panic")
		}
	}()
	commerce.MustParseMoney("84.505", "USD")
}

func TestExponentAndNormalizeCurrency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code    string
		wantExp int
		wantCur string
	}{
		{"JPY", 0, "JPY"}, {"KRW", 0, "KRW"}, {"CLP", 0, "CLP"}, {"ISK", 0, "ISK"}, {"VND", 0, "VND"},
		{"USD", 2, "USD"}, {"EUR", 2, "EUR"}, {"GBP", 2, "GBP"},
		{"KWD", 3, "KWD"}, {"BHD", 3, "BHD"}, {"JOD", 3, "JOD"}, {"OMR", 3, "OMR"}, {"TND", 3, "TND"},
		{"CLF", 4, "CLF"}, {"UYW", 4, "UYW"},
		{"usd", 2, "USD"}, {" kwd\t", 3, "KWD"},
	}
	for _, tt := range tests {
		gotExp, err := commerce.Exponent(tt.code)
		if err != nil {
			t.Errorf("Exponent(%q): %v", tt.code, err)
		} else if gotExp != tt.wantExp {
			t.Errorf("Exponent(%q) = %d, want %d", tt.code, gotExp, tt.wantExp)
		}
		gotCur, err := commerce.NormalizeCurrency(tt.code)
		if err != nil {
			t.Errorf("NormalizeCurrency(%q): %v", tt.code, err)
		} else if gotCur != tt.wantCur {
			t.Errorf("NormalizeCurrency(%q) = %q, want %q", tt.code, gotCur, tt.wantCur)
		}
	}
	for _, code := range []string{"", "XXX", "XAU", "XDR", "US", "USDX", "HRK", "€"} {
		if got, err := commerce.Exponent(code); err == nil {
			t.Errorf("Exponent(%q) = %d, want an error", code, got)
		}
		if got, err := commerce.NormalizeCurrency(code); err == nil {
			t.Errorf("NormalizeCurrency(%q) = %q, want an error", code, got)
		}
	}
}

func TestMoneyFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m           commerce.Money
		wantDecimal string
		wantString  string
		wantExp     int
	}{
		{commerce.NewMoney(8450, "USD"), "84.50", "84.50 USD", 2},
		{commerce.NewMoney(5, "USD"), "0.05", "0.05 USD", 2},
		{commerce.NewMoney(-5, "USD"), "-0.05", "-0.05 USD", 2},
		{commerce.NewMoney(50, "EUR"), "0.50", "0.50 EUR", 2},
		{commerce.NewMoney(-100, "EUR"), "-1.00", "-1.00 EUR", 2},
		{commerce.NewMoney(0, "USD"), "0.00", "0.00 USD", 2},
		{commerce.NewMoney(1500, "JPY"), "1500", "1500 JPY", 0},
		{commerce.NewMoney(-1, "KRW"), "-1", "-1 KRW", 0},
		{commerce.NewMoney(0, "JPY"), "0", "0 JPY", 0},
		{commerce.NewMoney(1, "KWD"), "0.001", "0.001 KWD", 3},
		{commerce.NewMoney(-10, "KWD"), "-0.010", "-0.010 KWD", 3},
		{commerce.NewMoney(1250, "BHD"), "1.250", "1.250 BHD", 3},
		{commerce.NewMoney(1, "CLF"), "0.0001", "0.0001 CLF", 4},
		{commerce.NewMoney(123456, "CLF"), "12.3456", "12.3456 CLF", 4},
		{commerce.NewMoney(math.MaxInt64, "USD"), "92233720368547758.07", "92233720368547758.07 USD", 2},
		{commerce.NewMoney(math.MinInt64, "USD"), "-92233720368547758.08", "-92233720368547758.08 USD", 2},
		{commerce.NewMoney(math.MaxInt64, "JPY"), "9223372036854775807", "9223372036854775807 JPY", 0},
		{commerce.NewMoney(math.MinInt64, "JPY"), "-9223372036854775808", "-9223372036854775808 JPY", 0},
		{commerce.NewMoney(math.MinInt64, "KWD"), "-9223372036854775.808", "-9223372036854775.808 KWD", 3},
		{commerce.NewMoney(math.MinInt64, "CLF"), "-922337203685477.5808", "-922337203685477.5808 CLF", 4},
		// Without a (known) currency, two decimals.
		{commerce.Money{}, "0.00", "0.00", 2},
		{commerce.Money{Minor: -5}, "-0.05", "-0.05", 2},
	}
	for _, tt := range tests {
		if got := tt.m.Decimal(); got != tt.wantDecimal {
			t.Errorf("%#v.Decimal() = %q, want %q", tt.m, got, tt.wantDecimal)
		}
		if got := tt.m.String(); got != tt.wantString {
			t.Errorf("%#v.String() = %q, want %q", tt.m, got, tt.wantString)
		}
		if got := fmt.Sprint(tt.m); got != tt.wantString {
			t.Errorf("fmt.Sprint(%#v) = %q, want %q", tt.m, got, tt.wantString)
		}
		if got := tt.m.Exponent(); got != tt.wantExp {
			t.Errorf("%#v.Exponent() = %d, want %d", tt.m, got, tt.wantExp)
		}
	}
}

func TestMoneyIsZeroSign(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m        commerce.Money
		wantZero bool
		wantSign int
	}{
		{commerce.Money{}, true, 0},
		{commerce.NewMoney(0, "USD"), true, 0},
		{commerce.NewMoney(1, "USD"), false, 1},
		{commerce.NewMoney(-1, "JPY"), false, -1},
		{commerce.NewMoney(math.MinInt64, "JPY"), false, -1},
		{commerce.NewMoney(math.MaxInt64, "JPY"), false, 1},
	}
	for _, tt := range tests {
		if got := tt.m.IsZero(); got != tt.wantZero {
			t.Errorf("%v.IsZero() = %t, want %t", tt.m, got, tt.wantZero)
		}
		if got := tt.m.Sign(); got != tt.wantSign {
			t.Errorf("%v.Sign() = %d, want %d", tt.m, got, tt.wantSign)
		}
	}
}

func usd(minor int64) commerce.Money { return commerce.NewMoney(minor, "USD") }

func TestMoneyArithmetic(t *testing.T) {
	t.Parallel()
	zero := commerce.Money{}
	tests := []struct {
		name string
		got  commerce.Money
		want commerce.Money
	}{
		{"add", usd(150).Add(usd(275)), usd(425)},
		{"add negative", usd(150).Add(usd(-275)), usd(-125)},
		{"add zero money", usd(150).Add(zero), usd(150)},
		{"zero money add", zero.Add(usd(150)), usd(150)},
		{"zero money add jpy", zero.Add(commerce.NewMoney(7, "JPY")), commerce.NewMoney(7, "JPY")},
		{"zero add zero", zero.Add(zero), zero},
		{"sub", usd(150).Sub(usd(275)), usd(-125)},
		{"sub zero money", usd(150).Sub(zero), usd(150)},
		{"zero money sub", zero.Sub(usd(150)), usd(-150)},
		{"neg", usd(150).Neg(), usd(-150)},
		{"neg negative", usd(-150).Neg(), usd(150)},
		{"neg zero", usd(0).Neg(), usd(0)},
		{"mul", usd(250).Mul(3), usd(750)},
		{"mul negative", usd(250).Mul(-2), usd(-500)},
		{"mul zero", usd(250).Mul(0), usd(0)},
		{"min smaller first", usd(1).Min(usd(2)), usd(1)},
		{"min smaller second", usd(2).Min(usd(1)), usd(1)},
		{"min equal", usd(2).Min(usd(2)), usd(2)},
		{"min negative", usd(-2).Min(usd(1)), usd(-2)},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestMoneyCmp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b commerce.Money
		want int
	}{
		{usd(1), usd(2), -1},
		{usd(2), usd(1), 1},
		{usd(2), usd(2), 0},
		{usd(-2), usd(1), -1},
		{usd(math.MinInt64), usd(math.MaxInt64), -1},
		{usd(math.MaxInt64), usd(math.MinInt64), 1},
		{commerce.Money{}, usd(1), -1},
		{usd(-1), commerce.Money{}, -1},
		{commerce.Money{}, usd(0), 0},
	}
	for _, tt := range tests {
		if got := tt.a.Cmp(tt.b); got != tt.want {
			t.Errorf("%v.Cmp(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestMoneyMixingCurrenciesPanics(t *testing.T) {
	t.Parallel()
	a, b := usd(100), commerce.NewMoney(100, "EUR")
	ops := map[string]func(){
		"Add": func() { a.Add(b) },
		"Sub": func() { a.Sub(b) },
		"Cmp": func() { a.Cmp(b) },
		"Min": func() { a.Min(b) },
		// Zero amounts still carry their currency.
		"Add zero": func() { usd(0).Add(commerce.NewMoney(0, "JPY")) },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				r := recover()
				if r == nil {
					t.Fatalf("%s of USD and another currency did not panic", name)
				}
				if msg := fmt.Sprint(r); !strings.Contains(msg, "USD") {
					t.Errorf("panic %q does not name the currencies", msg)
				}
			}()
			op()
		})
	}
}

func TestAllocate(t *testing.T) {
	t.Parallel()
	const maxI, minI = math.MaxInt64, math.MinInt64
	tests := []struct {
		name    string
		total   int64
		weights []int64
		want    []int64
	}{
		{"thirds", 100, []int64{1, 1, 1}, []int64{34, 33, 33}},
		{"negative thirds", -100, []int64{1, 1, 1}, []int64{-34, -33, -33}},
		{"halves", 100, []int64{1, 1}, []int64{50, 50}},
		{"exact", 700, []int64{2, 2, 3}, []int64{200, 200, 300}},
		{"largest remainder wins", 1, []int64{1, 2}, []int64{0, 1}},
		{"largest remainder wins negative", -1, []int64{1, 2}, []int64{0, -1}},
		{"ties to earlier", 2, []int64{1, 1, 1}, []int64{1, 1, 0}},
		{"ties to earlier among equals", 5, []int64{1, 1, 1, 1, 1, 1}, []int64{1, 1, 1, 1, 1, 0}},
		{"ties skip smaller remainder", 2, []int64{1, 3, 1, 3}, []int64{0, 1, 0, 1}},
		{"order matters for ties", 1, []int64{2, 1, 2}, []int64{1, 0, 0}},
		{"single", 12345, []int64{9}, []int64{12345}},
		{"zero total", 0, []int64{1, 2, 3}, []int64{0, 0, 0}},
		{"zero weights", 10, []int64{3, 0, 7}, []int64{3, 0, 7}},
		{"negative weights count as zero", 10, []int64{3, -5, 7}, []int64{3, 0, 7}},
		{"first weight zero", 10, []int64{0, 1}, []int64{0, 10}},
		{"all zero weights", 10, []int64{0, 0, 0}, []int64{10, 0, 0}},
		{"all negative weights", -10, []int64{-1, -5}, []int64{-10, 0}},
		{"max total halves", maxI, []int64{1, 1}, []int64{1 << 62, 1<<62 - 1}},
		{"min total halves", minI, []int64{1, 1}, []int64{-1 << 62, -1 << 62}},
		{"min total single", minI, []int64{5}, []int64{minI}},
		{"max total max weights", maxI, []int64{maxI, maxI}, []int64{1 << 62, 1<<62 - 1}},
		{"max weight and one", 100, []int64{maxI, 1}, []int64{100, 0}},
		// The sum of the weights exceeds 64 bits.
		{"three max weights", maxI, []int64{maxI, maxI, maxI}, []int64{3074457345618258603, 3074457345618258602, 3074457345618258602}},
		{"weights sum to 2^64", 100, []int64{maxI, maxI, 2}, []int64{50, 50, 0}},
		{"weights sum past 2^64", -100, []int64{maxI, maxI, maxI, maxI}, []int64{-25, -25, -25, -25}},
		{"min total max weights", minI, []int64{maxI, maxI, maxI, maxI}, []int64{-1 << 61, -1 << 61, -1 << 61, -1 << 61}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := commerce.NewMoney(tt.total, "USD").Allocate(tt.weights)
			want := make([]commerce.Money, len(tt.want))
			for i, w := range tt.want {
				want[i] = usd(w)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%v.Allocate(%v) = %v, want %v", usd(tt.total), tt.weights, got, want)
			}
		})
	}
}

func TestAllocateNoWeights(t *testing.T) {
	t.Parallel()
	if got := usd(100).Allocate(nil); got != nil {
		t.Errorf("Allocate(nil) = %v, want nil", got)
	}
	if got := usd(100).Allocate([]int64{}); got != nil {
		t.Errorf("Allocate([]) = %v, want nil", got)
	}
}

// checkAllocation checks what Allocate promises about parts = total.Allocate(weights).
func checkAllocation(t *testing.T, total commerce.Money, weights []int64, parts []commerce.Money) {
	t.Helper()
	if len(parts) != len(weights) {
		t.Fatalf("%v.Allocate(%v) has %d parts, want %d", total, weights, len(parts), len(weights))
	}
	sumW := new(big.Int)
	for _, w := range weights {
		if w > 0 {
			sumW.Add(sumW, big.NewInt(w))
		}
	}
	sum := new(big.Int)
	for i, p := range parts {
		if p.Currency != total.Currency {
			t.Errorf("%v.Allocate(%v)[%d] = %v, want currency %q", total, weights, i, p, total.Currency)
		}
		sum.Add(sum, big.NewInt(p.Minor))
		if p.Minor != 0 && (p.Sign() != total.Sign()) {
			t.Errorf("%v.Allocate(%v)[%d] = %v, has the wrong sign", total, weights, i, p)
		}
	}
	if sum.Cmp(big.NewInt(total.Minor)) != 0 {
		t.Fatalf("%v.Allocate(%v) = %v, sums to %v, want %d", total, weights, parts, sum, total.Minor)
	}
	if sumW.Sign() == 0 {
		for i, p := range parts[1:] {
			if p.Minor != 0 {
				t.Errorf("%v.Allocate(%v)[%d] = %v with all weights zero, want 0", total, weights, i+1, p)
			}
		}
		return
	}
	// Each part is within one minor unit of its exact share; the ones that
	// got an extra unit have remainders at least as large as those that did
	// not (ties to the earlier weight).
	type rem struct {
		i     int
		r     *big.Int // |exact share| - floor(|exact share|), times sumW
		extra bool
	}
	var rems []rem
	absTotal := new(big.Int).Abs(big.NewInt(total.Minor))
	for i, w := range weights {
		if w <= 0 {
			if parts[i].Minor != 0 {
				t.Errorf("%v.Allocate(%v)[%d] = %v for weight %d, want 0", total, weights, i, parts[i], w)
			}
			continue
		}
		num := new(big.Int).Mul(absTotal, big.NewInt(w))
		q, r := new(big.Int).QuoRem(num, sumW, new(big.Int))
		got := new(big.Int).Abs(big.NewInt(parts[i].Minor))
		switch d := new(big.Int).Sub(got, q); {
		case d.Sign() == 0:
			rems = append(rems, rem{i, r, false})
		case d.Cmp(big.NewInt(1)) == 0 && r.Sign() > 0:
			rems = append(rems, rem{i, r, true})
		default:
			t.Errorf("%v.Allocate(%v)[%d] = %v, exact share is %v/%v, more than one unit away",
				total, weights, i, parts[i], new(big.Int).Mul(num, big.NewInt(int64(total.Sign()))), sumW)
		}
	}
	for _, a := range rems {
		for _, b := range rems {
			if !a.extra || b.extra {
				continue
			}
			// a got an extra unit and b did not.
			if c := a.r.Cmp(b.r); c < 0 || (c == 0 && a.i > b.i) {
				t.Errorf("%v.Allocate(%v): part %d got the leftover unit over part %d (remainders %v and %v over %v)",
					total, weights, a.i, b.i, a.r, b.r, sumW)
			}
		}
	}
}

func TestAllocateProperties(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(20240611))
	for n := 0; n < 5000; n++ {
		total := commerce.NewMoney(randomMinor(rng), randomCurrency(rng))
		weights := make([]int64, 1+rng.Intn(8))
		for i := range weights {
			switch rng.Intn(6) {
			case 0:
				weights[i] = 0
			case 1:
				weights[i] = -rng.Int63n(100)
			case 2:
				weights[i] = math.MaxInt64 - rng.Int63n(3)
			case 3:
				weights[i] = rng.Int63()
			default:
				weights[i] = 1 + rng.Int63n(10)
			}
		}
		parts := total.Allocate(weights)
		checkAllocation(t, total, weights, parts)
		if again := total.Allocate(weights); !slices.Equal(again, parts) {
			t.Fatalf("%v.Allocate(%v) = %v, then %v: not deterministic", total, weights, parts, again)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

// currencies cover every exponent.
var currencies = []string{"JPY", "KRW", "USD", "EUR", "GBP", "KWD", "BHD", "TND", "CLF", "UYW"}

func randomCurrency(rng *rand.Rand) string { return currencies[rng.Intn(len(currencies))] }

// randomMinor returns amounts of every size, the int64 limits included.
func randomMinor(rng *rand.Rand) int64 {
	switch rng.Intn(8) {
	case 0:
		return math.MinInt64 + rng.Int63n(3)
	case 1:
		return math.MaxInt64 - rng.Int63n(3)
	case 2:
		return rng.Int63n(2001) - 1000
	case 3:
		return 0
	}
	v := rng.Int63() >> rng.Intn(63)
	if rng.Intn(2) == 0 {
		v = -v
	}
	return v
}

func TestParseFormatRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 20000; n++ {
		m := commerce.NewMoney(randomMinor(rng), randomCurrency(rng))
		s := m.Decimal()
		got, err := commerce.ParseMoney(s, m.Currency)
		if err != nil {
			t.Fatalf("ParseMoney(%q, %q) of %#v: %v", s, m.Currency, m, err)
		}
		if got != m {
			t.Fatalf("ParseMoney(%q, %q) = %#v, want %#v", s, m.Currency, got, m)
		}
		if want := s + " " + m.Currency; m.String() != want {
			t.Fatalf("%#v.String() = %q, want %q", m, m.String(), want)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("json.Marshal(%#v): %v", m, err)
		}
		var back commerce.Money
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", b, err)
		}
		if back != m {
			t.Fatalf("json round trip of %#v via %s = %#v", m, b, back)
		}
	}
}

func TestMoneyMarshalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m    commerce.Money
		want string
	}{
		{usd(8450), `{"amount":"84.50","currency":"USD"}`},
		{usd(-5), `{"amount":"-0.05","currency":"USD"}`},
		{usd(0), `{"amount":"0.00","currency":"USD"}`},
		{commerce.NewMoney(1500, "JPY"), `{"amount":"1500","currency":"JPY"}`},
		{commerce.NewMoney(1, "KWD"), `{"amount":"0.001","currency":"KWD"}`},
		{commerce.Money{}, `null`},
		{commerce.Money{Minor: 5}, `{"amount":"0.05","currency":""}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.m)
		if err != nil {
			t.Errorf("json.Marshal(%#v): %v", tt.m, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("json.Marshal(%#v) = %s, want %s", tt.m, got, tt.want)
		}
		var back commerce.Money
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("json.Unmarshal(%s): %v", got, err)
		} else if back != tt.m {
			t.Errorf("json.Unmarshal(%s) = %#v, want %#v", got, back, tt.m)
		}
	}
}

func TestMoneyUnmarshalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want commerce.Money
	}{
		{`{"amount":"84.50","currency":"USD"}`, usd(8450)},
		{`{"currency":"USD","amount":"84.5"}`, usd(8450)},
		{`{"amount":"84.500","currency":"usd"}`, usd(8450)},
		{`{"amount":"-1500","currency":"JPY"}`, commerce.NewMoney(-1500, "JPY")},
		{`{"amount":"1.25","currency":"KWD"}`, commerce.NewMoney(1250, "KWD")},
		{`{"amount":"-92233720368547758.08","currency":"USD"}`, usd(math.MinInt64)},
		// An amount without a currency is the form MarshalJSON writes for
		// Money without one.
		{`{"amount":"1.00"}`, commerce.Money{Minor: 100}},
		{`{"amount":"-0.05","currency":""}`, commerce.Money{Minor: -5}},
		{` null `, commerce.Money{}},
	}
	for _, tt := range tests {
		// Start from a non-zero value: null must reset it.
		got := commerce.NewMoney(99, "EUR")
		if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
			t.Errorf("json.Unmarshal(%s): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("json.Unmarshal(%s) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestMoneyUnmarshalJSONErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		wantIs error
	}{
		{`{"amount":"84.505","currency":"USD"}`, commerce.ErrTooManyDecimals},
		{`{"amount":"1.5","currency":"JPY"}`, commerce.ErrTooManyDecimals},
		{`{"amount":"0.005","currency":""}`, commerce.ErrTooManyDecimals},
		{`{"amount":84.50,"currency":"USD"}`, nil},
		{`{"amount":"1e3","currency":"USD"}`, nil},
		{`{"amount":"1,000.00","currency":"USD"}`, nil},
		{`{"amount":"","currency":"USD"}`, nil},
		{`{"currency":"USD"}`, nil},
		{`{"amount":"1.00","currency":"XXX"}`, nil},
		{`{"amount":"99999999999999999999","currency":"USD"}`, nil},
		{`{"amount":null,"currency":"USD"}`, nil},
		{`{}`, nil},
		{`"84.50"`, nil},
		{`84.50`, nil},
		{`[]`, nil},
		{`true`, nil},
	}
	for _, tt := range tests {
		var got commerce.Money
		err := json.Unmarshal([]byte(tt.in), &got)
		if err == nil {
			t.Errorf("json.Unmarshal(%s) = %#v, want an error", tt.in, got)
			continue
		}
		if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
			t.Errorf("json.Unmarshal(%s) error = %v, want one wrapping %v", tt.in, err, tt.wantIs)
		}
	}
}

func TestMoneyJSONInStruct(t *testing.T) {
	t.Parallel()
	type doc struct {
		Price commerce.Money  `json:"price"`
		Opt   commerce.Money  `json:"opt"`
		Ptr   *commerce.Money `json:"ptr"`
	}
	in := doc{Price: usd(8450)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"price":{"amount":"84.50","currency":"USD"},"opt":null,"ptr":null}`; got != want {
		t.Errorf("json.Marshal = %s, want %s", got, want)
	}
	var back doc
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != in {
		t.Errorf("round trip = %#v, want %#v", back, in)
	}
}

// plainDecimal is the grammar ParseMoney documents: an optional sign,
// digits, and an optional fraction of at least one digit.
var plainDecimal = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)

func FuzzParseMoney(f *testing.F) {
	for _, s := range []struct{ amount, currency string }{
		{"84.50", "USD"}, {"84.500", "USD"}, {"84.505", "USD"}, {"-0.05", "usd"}, {"+3", "EUR"},
		{"-0", "JPY"}, {"1500", "JPY"}, {"1.5", "JPY"}, {"1.250", "KWD"}, {"0.0001", "CLF"},
		{"", "USD"}, {".", "USD"}, {"5.", "USD"}, {".5", "USD"}, {"1e3", "USD"}, {"1,000.00", "USD"},
		{"--1", "USD"}, {"0x10", "USD"}, {" 1", " usd "}, {"1", "XXX"}, {"1", ""},
		{"92233720368547758.07", "USD"}, {"-92233720368547758.08", "USD"}, {"92233720368547758.08", "USD"},
		{"-9223372036854775808", "JPY"}, {"000000000000000000000000000000001", "KRW"},
	} {
		f.Add(s.amount, s.currency)
	}
	f.Fuzz(func(t *testing.T, amount, currency string) {
		m, err := commerce.ParseMoney(amount, currency)
		if err != nil {
			if m != (commerce.Money{}) {
				t.Fatalf("ParseMoney(%q, %q) = %#v with error %v, want the zero Money", amount, currency, m, err)
			}
			return
		}
		exp, err := commerce.Exponent(m.Currency)
		if err != nil {
			t.Fatalf("ParseMoney(%q, %q) = %#v, an unknown currency: %v", amount, currency, m, err)
		}
		if want, _ := commerce.NormalizeCurrency(currency); m.Currency != want {
			t.Fatalf("ParseMoney(%q, %q) currency = %q, want %q", amount, currency, m.Currency, want)
		}
		// Only plain decimals parse.
		if !plainDecimal.MatchString(amount) {
			t.Fatalf("ParseMoney(%q, %q) = %#v, want an error: not a plain decimal", amount, currency, m)
		}
		// The value is the exact value of the input.
		in, ok := new(big.Rat).SetString(amount)
		if !ok {
			t.Fatalf("ParseMoney(%q, %q) = %#v, but big.Rat cannot read the amount", amount, currency, m)
		}
		scaled := in.Mul(in, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
		if !scaled.IsInt() || scaled.Num().Cmp(big.NewInt(m.Minor)) != 0 {
			t.Fatalf("ParseMoney(%q, %q) = %#v, want %v minor units", amount, currency, m, scaled.RatString())
		}
		s := m.Decimal()
		_, frac, hasPoint := strings.Cut(s, ".")
		if exp == 0 && hasPoint || exp > 0 && len(frac) != exp {
			t.Fatalf("%#v.Decimal() = %q, want %d decimals", m, s, exp)
		}
		again, err := commerce.ParseMoney(s, m.Currency)
		if err != nil {
			t.Fatalf("ParseMoney(%q, %q) of formatted %#v: %v", s, m.Currency, m, err)
		}
		if again != m {
			t.Fatalf("ParseMoney(%q, %q) = %#v, want %#v", s, m.Currency, again, m)
		}
	})
}
