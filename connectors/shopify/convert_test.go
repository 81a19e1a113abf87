package shopify

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata from the code's output")

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the code's output (go test -update rewrites it; review the diff):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func indent(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// payloads returns the payload files of a testdata folder, without the
// golden files.
func payloads(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".golden.json") {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no payloads in testdata/%s", dir)
	}
	return out
}

// TestConvertOrderGolden converts real-shaped REST orders (discounts,
// a partial refund, a multi-currency order, a cancellation, a test order
// with blank amounts) and compares the result with the golden files.
func TestConvertOrderGolden(t *testing.T) {
	t.Parallel()
	for _, path := range payloads(t, "orders") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			o, err := convertOrder(raw)
			if err != nil {
				t.Fatalf("convertOrder: %v", err)
			}
			if !bytes.Equal(o.Raw, raw) {
				t.Error("Raw is not the payload as given")
			}
			golden(t, strings.TrimSuffix(path, ".json")+".golden.json", indent(t, o))
		})
	}
}

// TestConvertCustomerGolden is TestConvertOrderGolden for customers.
func TestConvertCustomerGolden(t *testing.T) {
	t.Parallel()
	for _, path := range payloads(t, "customers") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c, err := convertCustomer(raw)
			if err != nil {
				t.Fatalf("convertCustomer: %v", err)
			}
			golden(t, strings.TrimSuffix(path, ".json")+".golden.json", indent(t, c))
		})
	}
}

// TestConvertOrderFacts pins the facts the golden files hold that matter
// most, so that a careless -update cannot bless a wrong amount.
func TestConvertOrderFacts(t *testing.T) {
	t.Parallel()
	read := func(name string) commerce.Order {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join("testdata", "orders", name))
		if err != nil {
			t.Fatal(err)
		}
		o, err := convertOrder(raw)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	usd := func(s string) commerce.Money { return commerce.MustParseMoney(s, "USD") }
	tests := []struct {
		name      string
		got, want any
	}{}
	add := func(name string, got, want any) {
		tests = append(tests, struct {
			name      string
			got, want any
		}{name, got, want})
	}
	d := read("discounts.json")
	add("discounts: line 0 subtotal is price × quantity", d.Lines[0].Subtotal, usd("37.50"))
	add("discounts: line 0 discount from its allocation", d.Lines[0].Discount, usd("3.75"))
	add("discounts: code amount", d.Codes[0].Amount, usd("6.00"))
	add("discounts: total", d.Total, usd("63.09"))
	add("discounts: customer id, 13 digits", d.CustomerID, "7012345678901")
	add("discounts: updated_at in UTC", d.UpdatedAt, time.Date(2025, 4, 2, 14, 16, 2, 0, time.UTC))
	add("discounts: gift card line", d.Lines[2].GiftCard, true)
	add("discounts: tags", strings.Join(d.Tags, "|"), "wholesale|VIP")
	p := read("partial_refund.json")
	add("partial refund: state", p.State, commerce.StatePartiallyRefunded)
	add("partial refund: amount is the successful transactions only", p.Refunds[0].Amount, usd("35.00"))
	add("partial refund: shipping from the shipping_refund adjustment", p.Refunds[0].Shipping, usd("8.00"))
	add("partial refund: line amount is the subtotal, without tax", p.Refunds[0].Lines[0].Amount, usd("25.00"))
	m := read("multi_currency.json")
	add("multi-currency: amounts in shop money", m.Total, usd("108.00"))
	add("multi-currency: line subtotal in shop money", m.Lines[0].Subtotal, usd("110.00"))
	add("multi-currency: line discount in shop money", m.Lines[0].Discount, usd("12.00"))
	add("multi-currency: code amount from its shop-money allocations", m.Codes[0].Amount, usd("10.00"))
	add("multi-currency: refund rebuilt in shop money", m.Refunds[0].Amount, usd("48.00"))
	c := read("cancelled.json")
	add("cancelled: state", c.State, commerce.StateVoided)
	add("cancelled: cancelled_at", c.CancelledAt, time.Date(2025, 5, 1, 19, 40, 9, 0, time.UTC))
	add("cancelled: JPY has no decimals", c.Total, commerce.NewMoney(3300, "JPY"))
	tst := read("test_order.json")
	add("test order: test", tst.Test, true)
	add("test order: currency made canonical", tst.Currency, "USD")
	add("test order: blank tax is zero", tst.Tax, usd("0.00"))
	add("test order: blank shop money falls back to the plain price", tst.Shipping, usd("2.50"))
	add("test order: e-mail from contact_email", tst.Email, "qa@example.com")
	add("test order: no customer", tst.CustomerID, "")
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestFinancialStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status string
		want   commerce.FinancialState
		ok     bool
	}{
		{"pending", commerce.StatePending, true},
		{"authorized", commerce.StateAuthorized, true},
		{"partially_paid", commerce.StatePartiallyPaid, true},
		{"paid", commerce.StatePaid, true},
		{"partially_refunded", commerce.StatePartiallyRefunded, true},
		{"refunded", commerce.StateRefunded, true},
		{"voided", commerce.StateVoided, true},
		{"expired", "", false},
		{"PAID", "", false},
		{"", "", false},
	} {
		t.Run(tc.status, func(t *testing.T) {
			t.Parallel()
			raw := `{"id": 1, "updated_at": "2025-01-01T00:00:00Z", "currency": "USD", "financial_status": "` + tc.status + `"}`
			o, err := convertOrder([]byte(raw))
			switch {
			case tc.ok && err != nil:
				t.Fatalf("convertOrder: %v", err)
			case tc.ok && o.State != tc.want:
				t.Errorf("State = %q, want %q", o.State, tc.want)
			case !tc.ok && !errors.Is(err, errUnknownStatus):
				t.Errorf("convertOrder of status %q: got %v, want an error wrapping errUnknownStatus", tc.status, err)
			case !tc.ok && !strings.Contains(err.Error(), "order 1"):
				t.Errorf("error %q does not name the order", err)
			}
		})
	}
}

func TestConvertOrderErrors(t *testing.T) {
	t.Parallel()
	base := `"updated_at": "2025-01-01T00:00:00Z", "currency": "USD", "financial_status": "paid"`
	for _, tc := range []struct {
		name, raw, want string
	}{
		{"no id", `{` + base + `}`, "no id"},
		{"id not a number", `{"id": "abc", ` + base + `}`, "not a whole number"},
		{"unknown currency", `{"id": 1, "updated_at": "2025-01-01T00:00:00Z", "currency": "XXX", "financial_status": "paid"}`, "currency"},
		{"no updated_at", `{"id": 1, "currency": "USD", "financial_status": "paid"}`, "updated_at"},
		{"time without zone", `{"id": 1, "updated_at": "2025-01-01T00:00:00", "currency": "USD", "financial_status": "paid"}`, "ISO 8601"},
		{"too many decimals", `{"id": 1, ` + base + `, "total_price": "1.005"}`, "total_price"},
		{"shop money in another currency", `{"id": 1, ` + base + `, "total_price_set": {"shop_money": {"amount": "1.00", "currency_code": "EUR"}}}`, "shop money in EUR"},
		{"line without id", `{"id": 1, ` + base + `, "line_items": [{"quantity": 1, "price": "1.00"}]}`, "line_items[0].id"},
		{"negative refund", `{"id": 1, ` + base + `, "refunds": [{"id": 2, "transactions": [{"kind": "refund", "status": "success", "amount": "-1.00"}]}]}`, "negative"},
		{"cut off", `{"id": 1, ` + base, "order"},
		{"trailing data", `{"id": 1, ` + base + `} {}`, "after the JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := convertOrder([]byte(tc.raw))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestAmount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in     string
		s      string
		set    bool
		failed bool
	}{
		{`"10.00"`, "10.00", true, false},
		{`10.5`, "10.5", true, false},
		{`null`, "", false, false},
		{`""`, "", false, false},
		{`" 1.00 "`, "1.00", true, false},
		{`true`, "", false, true},
	} {
		var a amount
		err := json.Unmarshal([]byte(tc.in), &a)
		if (err != nil) != tc.failed || a.s != tc.s || a.set != tc.set {
			t.Errorf("amount %s: got %+v, err %v; want %q set=%t failed=%t", tc.in, a, err, tc.s, tc.set, tc.failed)
		}
	}
}

func TestNumID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		failed   bool
	}{
		{`450789469`, "450789469", false},
		{`18446744073709551615`, "18446744073709551615", false},
		{`"7012345678901"`, "7012345678901", false},
		{`null`, "", false},
		{`""`, "", false},
		{`"007"`, "7", false},
		{`1.5`, "", true},
		{`-3`, "", true},
		{`"gid://shopify/Order/1"`, "", true},
	} {
		var id numID
		err := json.Unmarshal([]byte(tc.in), &id)
		if (err != nil) != tc.failed || (!tc.failed && string(id) != tc.want) {
			t.Errorf("numID %s: got %q, err %v; want %q failed=%t", tc.in, id, err, tc.want, tc.failed)
		}
	}
}

func TestSplitTags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"vip", "vip"},
		{"vip, gold", "vip|gold"},
		{" a ,, b,", "a|b"},
	} {
		if got := strings.Join(splitTags(tc.in), "|"); got != tc.want {
			t.Errorf("splitTags(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestConvertCustomerErrors(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{`{"updated_at": "2025-01-01T00:00:00Z"}`, `{"id": 5}`, `[]`, `{"id": 5, "updated_at": 7}`} {
		if _, err := convertCustomer([]byte(raw)); err == nil {
			t.Errorf("convertCustomer(%s): no error", raw)
		}
	}
}
