package commerce_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

var (
	created   = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	processed = time.Date(2024, 3, 1, 10, 5, 0, 0, time.UTC)
	updated   = time.Date(2024, 3, 2, 8, 0, 0, 0, time.UTC)
)

// validOrder returns an order that passes Validate, with every amount set.
func validOrder() *commerce.Order {
	return &commerce.Order{
		ID:        "1042",
		Number:    "#1042",
		Currency:  "USD",
		CreatedAt: created,
		UpdatedAt: updated,
		State:     commerce.StatePartiallyRefunded,
		Lines: []commerce.LineItem{
			{ID: "l1", Quantity: 2, Subtotal: usd(5000), Discount: usd(500)},
			{ID: "l2", Quantity: 0, Subtotal: usd(1000)}, // zero Discount: no currency
		},
		Shipping: usd(499),
		Tax:      usd(300),
		Tip:      usd(100),
		Duties:   usd(50),
		Total:    usd(6449),
		Codes:    []commerce.CodeUse{{Code: "SAVE5", Amount: usd(500)}, {Code: "FREESHIP"}},
		Refunds: []commerce.Refund{{
			ID:       "r1",
			Amount:   usd(1499),
			Shipping: usd(499),
			Lines: []commerce.RefundLine{
				{LineID: "l1", Quantity: 1, Amount: usd(1000)},
				{LineID: "l2", Quantity: 0, Amount: usd(0)},
			},
		}},
	}
}

func TestOrderValidate(t *testing.T) {
	t.Parallel()
	eur := commerce.NewMoney(100, "EUR")
	tests := []struct {
		name   string
		change func(o *commerce.Order)
		// wantField is the field the error must name; "" means valid.
		wantField string
	}{
		{"valid", func(o *commerce.Order) {}, ""},
		{"zero amounts without currency", func(o *commerce.Order) {
			o.Shipping, o.Tax, o.Tip, o.Duties, o.Total = commerce.Money{}, commerce.Money{}, commerce.Money{}, commerce.Money{}, commerce.Money{}
		}, ""},
		{"no lines, refunds or codes", func(o *commerce.Order) { o.Lines, o.Refunds, o.Codes = nil, nil, nil }, ""},
		{"zero-decimal currency", func(o *commerce.Order) {
			*o = commerce.Order{ID: "1", Currency: "JPY", State: commerce.StatePaid, UpdatedAt: updated, Total: commerce.NewMoney(1500, "JPY")}
		}, ""},
		{"every state", func(o *commerce.Order) { o.State = commerce.StateVoided }, ""},

		{"missing id", func(o *commerce.Order) { o.ID = "" }, "id"},
		{"missing currency", func(o *commerce.Order) { o.Currency = "" }, "currency"},
		{"unknown currency", func(o *commerce.Order) { o.Currency = "XXX" }, "currency"},
		{"lower-case currency", func(o *commerce.Order) { o.Currency = "usd" }, "currency"},
		{"padded currency", func(o *commerce.Order) { o.Currency = " USD" }, "currency"},
		{"missing state", func(o *commerce.Order) { o.State = "" }, "state"},
		{"unknown state", func(o *commerce.Order) { o.State = "processing" }, "state"},
		{"upper-case state", func(o *commerce.Order) { o.State = "PAID" }, "state"},
		{"missing updated_at", func(o *commerce.Order) { o.UpdatedAt = time.Time{} }, "updated_at"},
		{"shipping currency", func(o *commerce.Order) { o.Shipping = eur }, "shipping"},
		{"tax currency", func(o *commerce.Order) { o.Tax = eur }, "tax"},
		{"tip currency", func(o *commerce.Order) { o.Tip = eur }, "tip"},
		{"duties currency", func(o *commerce.Order) { o.Duties = eur }, "duties"},
		{"total currency", func(o *commerce.Order) { o.Total = eur }, "total"},
		{"zero total in another currency", func(o *commerce.Order) { o.Total = commerce.NewMoney(0, "EUR") }, "total"},
		{"line subtotal currency", func(o *commerce.Order) { o.Lines[1].Subtotal = eur }, "lines[1].subtotal"},
		{"line discount currency", func(o *commerce.Order) { o.Lines[0].Discount = eur }, "lines[0].discount"},
		{"line quantity negative", func(o *commerce.Order) { o.Lines[1].Quantity = -1 }, "lines[1].quantity"},
		{"code amount currency", func(o *commerce.Order) { o.Codes[1].Amount = eur }, "codes[1].amount"},
		{"refund amount currency", func(o *commerce.Order) { o.Refunds[0].Amount = eur }, "refunds[0].amount"},
		{"refund shipping currency", func(o *commerce.Order) { o.Refunds[0].Shipping = eur }, "refunds[0].shipping"},
		{"refund line amount currency", func(o *commerce.Order) { o.Refunds[0].Lines[1].Amount = eur }, "refunds[0].lines[1].amount"},
		{"refund line quantity negative", func(o *commerce.Order) { o.Refunds[0].Lines[0].Quantity = -1 }, "refunds[0].lines[0].quantity"},

		// Amounts stay within MaxOrderMinor, so that no sum overflows.
		{"largest amounts", func(o *commerce.Order) {
			o.Total = commerce.NewMoney(commerce.MaxOrderMinor, "USD")
			o.Lines[0].Subtotal = commerce.NewMoney(commerce.MaxOrderMinor, "USD")
			o.Codes[0].Amount = commerce.NewMoney(-commerce.MaxOrderMinor, "USD")
		}, ""},
		{"total beyond", func(o *commerce.Order) { o.Total = commerce.NewMoney(commerce.MaxOrderMinor+1, "USD") }, "total"},
		{"line subtotal beyond", func(o *commerce.Order) { o.Lines[1].Subtotal = commerce.NewMoney(math.MaxInt64, "USD") }, "lines[1].subtotal"},
		{"code amount beyond", func(o *commerce.Order) { o.Codes[1].Amount = commerce.NewMoney(math.MinInt64, "USD") }, "codes[1].amount"},
		{"refund line beyond", func(o *commerce.Order) {
			o.Refunds[0].Lines[1].Amount = commerce.NewMoney(-commerce.MaxOrderMinor-1, "USD")
		}, "refunds[0].lines[1].amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := validOrder()
			tt.change(o)
			err := o.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error naming %s", tt.wantField)
			}
			// The error names the field at fault, after the order.
			if got, want := err.Error(), tt.wantField+":"; !strings.Contains(got, want) {
				t.Errorf("Validate() = %q, want it to name %q", got, tt.wantField)
			}
			if o.ID != "" && !strings.Contains(err.Error(), o.ID) {
				t.Errorf("Validate() = %q, want it to name order %s", err, o.ID)
			}
		})
	}
}

func TestFinancialState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s                   commerce.FinancialState
		wantPaid, wantValid bool
	}{
		{commerce.StatePending, false, true},
		{commerce.StateAuthorized, false, true},
		{commerce.StatePartiallyPaid, false, true},
		{commerce.StatePaid, true, true},
		{commerce.StatePartiallyRefunded, true, true},
		{commerce.StateRefunded, true, true},
		{commerce.StateVoided, false, true},
		{"", false, false},
		{"PAID", false, false},
		{"processing", false, false},
		{"paid ", false, false},
	}
	for _, tt := range tests {
		if got := tt.s.Paid(); got != tt.wantPaid {
			t.Errorf("FinancialState(%q).Paid() = %t, want %t", tt.s, got, tt.wantPaid)
		}
		if got := tt.s.Valid(); got != tt.wantValid {
			t.Errorf("FinancialState(%q).Valid() = %t, want %t", tt.s, got, tt.wantValid)
		}
	}
}

func TestOrderProcessedTime(t *testing.T) {
	t.Parallel()
	o := commerce.Order{CreatedAt: created}
	if got, want := o.ProcessedTime(), created; !got.Equal(want) {
		t.Errorf("ProcessedTime() without ProcessedAt = %v, want CreatedAt %v", got, want)
	}
	o.ProcessedAt = processed
	if got, want := o.ProcessedTime(), processed; !got.Equal(want) {
		t.Errorf("ProcessedTime() = %v, want ProcessedAt %v", got, want)
	}
}

func TestOrderCancelled(t *testing.T) {
	t.Parallel()
	o := commerce.Order{CreatedAt: created}
	if o.Cancelled() {
		t.Errorf("Cancelled() = true with zero CancelledAt, want false")
	}
	o.CancelledAt = updated
	if !o.Cancelled() {
		t.Errorf("Cancelled() = false with CancelledAt %v, want true", o.CancelledAt)
	}
}

func TestLineItemNet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		l    commerce.LineItem
		want commerce.Money
	}{
		{"discounted", commerce.LineItem{Subtotal: usd(5000), Discount: usd(1250)}, usd(3750)},
		{"no discount", commerce.LineItem{Subtotal: usd(5000)}, usd(5000)},
		{"fully discounted", commerce.LineItem{Subtotal: usd(5000), Discount: usd(5000)}, usd(0)},
		{"free line with discount currency", commerce.LineItem{Discount: usd(100)}, usd(-100)},
		{"zero-decimal currency", commerce.LineItem{Subtotal: commerce.NewMoney(1500, "JPY"), Discount: commerce.NewMoney(1, "JPY")}, commerce.NewMoney(1499, "JPY")},
	}
	for _, tt := range tests {
		if got := tt.l.Net(); got != tt.want {
			t.Errorf("%s: Net() = %#v, want %#v", tt.name, got, tt.want)
		}
	}
}

func TestLineItemNetMixedCurrenciesPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("Net() of a USD subtotal and a EUR discount did not panic")
		}
	}()
	commerce.LineItem{Subtotal: usd(5000), Discount: commerce.NewMoney(100, "EUR")}.Net()
}

func TestOrderJSONRoundTrip(t *testing.T) {
	t.Parallel()
	o := validOrder()
	o.ProcessedAt = processed
	o.Raw = []byte(`{"platform":"payload"}`)
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "platform") {
		t.Errorf("json.Marshal(order) = %s, includes Raw", b)
	}
	if !strings.Contains(string(b), `"total":{"amount":"64.49","currency":"USD"}`) {
		t.Errorf("json.Marshal(order) = %s, want the total as an exact decimal", b)
	}
	var back commerce.Order
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Errorf("decoded order: Validate() = %v", err)
	}
	if got, want := back.Total, o.Total; got != want {
		t.Errorf("decoded Total = %v, want %v", got, want)
	}
	if got, want := back.Refunds[0].Lines[0].Amount, o.Refunds[0].Lines[0].Amount; got != want {
		t.Errorf("decoded refund line amount = %v, want %v", got, want)
	}
	if got, want := back.Lines[0].Net(), o.Lines[0].Net(); got != want {
		t.Errorf("decoded line net = %v, want %v", got, want)
	}
	if !back.ProcessedTime().Equal(processed) {
		t.Errorf("decoded ProcessedTime() = %v, want %v", back.ProcessedTime(), processed)
	}
	if back.Cancelled() {
		t.Errorf("decoded order is cancelled, want not")
	}
}

func TestAfterRefunds(t *testing.T) {
	usd := func(s string) commerce.Money { return commerce.MustParseMoney(s, "USD") }
	for _, tc := range []struct {
		state     commerce.FinancialState
		cancelled bool
		refunded  string
		want      commerce.FinancialState
	}{
		{commerce.StatePaid, false, "0.00", commerce.StatePaid},
		{commerce.StatePaid, false, "10.00", commerce.StatePartiallyRefunded},
		{commerce.StatePaid, false, "50.00", commerce.StateRefunded},
		{commerce.StatePaid, false, "60.00", commerce.StateRefunded},
		{commerce.StateVoided, true, "50.00", commerce.StateRefunded}, // cancelled, money given back
		{commerce.StatePending, true, "0.00", commerce.StatePending},
		{commerce.StatePending, false, "10.00", commerce.StatePending}, // nothing was taken
	} {
		if got := tc.state.AfterRefunds(tc.cancelled, usd(tc.refunded), usd("50.00")); got != tc.want {
			t.Errorf("%s (cancelled %v) after %s of 50.00 refunded = %s, want %s", tc.state, tc.cancelled, tc.refunded, got, tc.want)
		}
	}
}
