package commerce

import (
	"errors"
	"fmt"
	"time"
)

// FinancialState is an order's payment state, normalised across platforms.
type FinancialState string

// The financial states. Platforms' own states map onto these in the
// connectors; a state a connector cannot map is reported, not guessed.
const (
	// StatePending: not paid yet (Shopify pending, WooCommerce pending/on-hold).
	StatePending FinancialState = "pending"
	// StateAuthorized: payment authorised, not captured.
	StateAuthorized FinancialState = "authorized"
	// StatePartiallyPaid: some of the total captured.
	StatePartiallyPaid FinancialState = "partially_paid"
	// StatePaid: paid in full (WooCommerce processing/completed).
	StatePaid FinancialState = "paid"
	// StatePartiallyRefunded: paid, then part of it refunded.
	StatePartiallyRefunded FinancialState = "partially_refunded"
	// StateRefunded: paid, then refunded in full.
	StateRefunded FinancialState = "refunded"
	// StateVoided: the authorisation was voided, or the order failed.
	StateVoided FinancialState = "voided"
)

// Paid reports whether money was captured for the order: paid, or paid and
// then (partially) refunded.
func (s FinancialState) Paid() bool {
	return s == StatePaid || s == StatePartiallyRefunded || s == StateRefunded
}

// AfterRefunds is the state of an order in state s whose refunds total
// refunded, out of total: a paid order, or a cancelled one whose money was
// taken and given back, is partially refunded, or refunded once the
// refunds reach its total. Platforms that state only the order's status
// (WooCommerce) are read through it, by the connector and the importer
// alike.
func (s FinancialState) AfterRefunds(cancelled bool, refunded, total Money) FinancialState {
	if (s != StatePaid && !cancelled) || refunded.Sign() <= 0 {
		return s
	}
	if refunded.Cmp(total) >= 0 {
		return StateRefunded
	}
	return StatePartiallyRefunded
}

// Valid reports whether s is one of the defined states.
func (s FinancialState) Valid() bool {
	switch s {
	case StatePending, StateAuthorized, StatePartiallyPaid, StatePaid,
		StatePartiallyRefunded, StateRefunded, StateVoided:
		return true
	}
	return false
}

// Order is a store's order as loyaltyd needs it. All amounts are in the
// shop's currency (Currency); connectors take the shop-money amounts, never
// the presentment ones.
type Order struct {
	// ID is the platform's order id, unique within a store.
	ID string `json:"id"`
	// Number is the human order number ("#1042").
	Number string `json:"number,omitempty"`
	// CustomerID is the platform's customer id; empty for a guest order on
	// platforms that have no guest customers (WooCommerce derives one from
	// the e-mail).
	CustomerID string `json:"customer_id,omitempty"`
	// Email is the buyer's e-mail as given on the order.
	Email string `json:"email,omitempty"`
	// Currency is the shop currency all amounts are in.
	Currency string `json:"currency"`
	// CreatedAt is when the order was placed.
	CreatedAt time.Time `json:"created_at"`
	// ProcessedAt is when the order was processed (paid or imported); the
	// loyalty rules date an order by it. Zero means CreatedAt.
	ProcessedAt time.Time `json:"processed_at,omitzero"`
	// UpdatedAt is the platform's last modification time; sync orders
	// versions of an order by it.
	UpdatedAt time.Time `json:"updated_at"`
	// CancelledAt is when the order was cancelled; zero if it is not.
	CancelledAt time.Time `json:"cancelled_at,omitzero"`
	// State is the normalised financial state.
	State FinancialState `json:"state"`
	// Lines are the order's line items.
	Lines []LineItem `json:"lines,omitempty"`
	// Shipping is the shipping charged, after shipping discounts, without tax.
	Shipping Money `json:"shipping,omitzero"`
	// Tax is the total tax.
	Tax Money `json:"tax,omitzero"`
	// Tip is any tip or gratuity.
	Tip Money `json:"tip,omitzero"`
	// Duties are import duties charged.
	Duties Money `json:"duties,omitzero"`
	// Total is what the customer was charged, all included.
	Total Money `json:"total"`
	// Codes are the discount codes applied to the order.
	Codes []CodeUse `json:"codes,omitempty"`
	// Refunds are the refunds issued on the order so far.
	Refunds []Refund `json:"refunds,omitempty"`
	// ShippingAddress is where the order ships; used to refuse self-referrals.
	ShippingAddress *Address `json:"shipping_address,omitempty"`
	// Test marks a test order; it never earns points.
	Test bool `json:"test,omitempty"`
	// Tags are the platform's order tags.
	Tags []string `json:"tags,omitempty"`
	// Raw is the platform's payload as read, kept with the order so that
	// history can be re-read when a conversion improves. It is not part of
	// the order's JSON form.
	Raw []byte `json:"-"`
}

// ProcessedTime returns ProcessedAt, or CreatedAt when it is zero.
func (o *Order) ProcessedTime() time.Time {
	if o.ProcessedAt.IsZero() {
		return o.CreatedAt
	}
	return o.ProcessedAt
}

// Cancelled reports whether the order was cancelled.
func (o *Order) Cancelled() bool { return !o.CancelledAt.IsZero() }

// MaxOrderMinor bounds every amount of an order, in minor units: 10¹⁵,
// ten trillion dollars in cents, and still tens of millions of dollars in
// the currencies with the most units to the dollar. It keeps the sums the
// rules take (an order's lines less its refunds, a customer's spend over
// a tier's window) inside int64 (9.2 × 10¹⁸) whatever a platform sends:
// an order with a larger amount is refused, not summed into nonsense.
const MaxOrderMinor = 1_000_000_000_000_000

// Validate checks what every consumer of an order relies on: an id, a known
// currency in its canonical upper-case form that every amount shares, a
// known state, an update time, non-negative quantities, and amounts
// within MaxOrderMinor. The error names the field at fault.
func (o *Order) Validate() error {
	if o.ID == "" {
		return errors.New("order: id: required")
	}
	cur, err := NormalizeCurrency(o.Currency)
	if err != nil {
		return fmt.Errorf("order %s: currency: %w", o.ID, err)
	}
	if cur != o.Currency {
		// Money compares codes exactly and looks exponents up by the
		// canonical code: "usd" amounts would not add to "USD" ones, and
		// "jpy" would format with two decimals.
		return fmt.Errorf("order %s: currency: %q is not the canonical code %s", o.ID, o.Currency, cur)
	}
	if !o.State.Valid() {
		return fmt.Errorf("order %s: state: unknown financial state %q", o.ID, o.State)
	}
	if o.UpdatedAt.IsZero() {
		return fmt.Errorf("order %s: updated_at: required", o.ID)
	}
	check := func(field string, m Money) error {
		if m.Currency != "" && m.Currency != o.Currency {
			return fmt.Errorf("order %s: %s: currency %s differs from the order's %s", o.ID, field, m.Currency, o.Currency)
		}
		if m.Minor > MaxOrderMinor || m.Minor < -MaxOrderMinor {
			return fmt.Errorf("order %s: %s: %s is beyond the largest amount an order may carry (%s)",
				o.ID, field, Money{Minor: m.Minor, Currency: o.Currency}, Money{Minor: MaxOrderMinor, Currency: o.Currency})
		}
		return nil
	}
	for _, f := range []struct {
		name string
		m    Money
	}{{"shipping", o.Shipping}, {"tax", o.Tax}, {"tip", o.Tip}, {"duties", o.Duties}, {"total", o.Total}} {
		if err := check(f.name, f.m); err != nil {
			return err
		}
	}
	for i, l := range o.Lines {
		if l.Quantity < 0 {
			return fmt.Errorf("order %s: lines[%d].quantity: negative", o.ID, i)
		}
		if err := check(fmt.Sprintf("lines[%d].subtotal", i), l.Subtotal); err != nil {
			return err
		}
		if err := check(fmt.Sprintf("lines[%d].discount", i), l.Discount); err != nil {
			return err
		}
	}
	for i, c := range o.Codes {
		if err := check(fmt.Sprintf("codes[%d].amount", i), c.Amount); err != nil {
			return err
		}
	}
	for i, r := range o.Refunds {
		if err := check(fmt.Sprintf("refunds[%d].amount", i), r.Amount); err != nil {
			return err
		}
		if err := check(fmt.Sprintf("refunds[%d].shipping", i), r.Shipping); err != nil {
			return err
		}
		for j, rl := range r.Lines {
			if rl.Quantity < 0 {
				return fmt.Errorf("order %s: refunds[%d].lines[%d].quantity: negative", o.ID, i, j)
			}
			if err := check(fmt.Sprintf("refunds[%d].lines[%d].amount", i, j), rl.Amount); err != nil {
				return err
			}
		}
	}
	return nil
}

// LineItem is one line of an order.
type LineItem struct {
	// ID is the platform's line item id, unique within the order.
	ID string `json:"id"`
	// ProductID and VariantID identify what was bought.
	ProductID string `json:"product_id,omitempty"`
	VariantID string `json:"variant_id,omitempty"`
	// SKU is the stock-keeping unit, when the product has one.
	SKU string `json:"sku,omitempty"`
	// Vendor is the product's vendor or brand.
	Vendor string `json:"vendor,omitempty"`
	// Title is the product's name as shown on the order.
	Title string `json:"title,omitempty"`
	// Quantity is the number of units.
	Quantity int `json:"quantity"`
	// Subtotal is unit price × quantity, before discounts and without tax.
	Subtotal Money `json:"subtotal"`
	// Discount is every discount on this line: its own and its share of
	// order-level discounts.
	Discount Money `json:"discount,omitzero"`
	// GiftCard marks the sale of a gift card, which is not merchandise.
	GiftCard bool `json:"gift_card,omitempty"`
}

// Net returns the line's merchandise value after discounts.
func (l LineItem) Net() Money { return l.Subtotal.Sub(l.Discount) }

// Refund is money given back on an order.
type Refund struct {
	// ID is the platform's refund id.
	ID string `json:"id"`
	// CreatedAt is when the refund was made.
	CreatedAt time.Time `json:"created_at"`
	// Amount is the total refunded, all included, as a positive amount.
	Amount Money `json:"amount"`
	// Shipping is the part of Amount that refunds shipping.
	Shipping Money `json:"shipping,omitzero"`
	// Lines say which lines the refund covers; a refund without lines is an
	// amount that the rules spread over the order's lines.
	Lines []RefundLine `json:"lines,omitempty"`
	// Note is the reason given, if any.
	Note string `json:"note,omitempty"`
}

// RefundLine is the part of a refund that covers one line item.
type RefundLine struct {
	// LineID is the refunded LineItem's ID.
	LineID string `json:"line_id"`
	// Quantity is the number of units refunded.
	Quantity int `json:"quantity"`
	// Amount is the merchandise value refunded for the line, after
	// discounts and without tax, as a positive amount.
	Amount Money `json:"amount"`
}

// CodeUse is a discount code applied to an order.
type CodeUse struct {
	// Code is the code as the customer typed it.
	Code string `json:"code"`
	// Amount is the discount it gave.
	Amount Money `json:"amount,omitzero"`
}

// Address is a postal address.
type Address struct {
	Address1 string `json:"address1,omitempty"`
	Address2 string `json:"address2,omitempty"`
	City     string `json:"city,omitempty"`
	Zip      string `json:"zip,omitempty"`
	Country  string `json:"country,omitempty"`
}
