package commerce

import "time"

// DiscountType is the kind of value a discount code gives.
type DiscountType string

// The discount types a reward can be.
const (
	// DiscountFixedAmount takes Amount off the order.
	DiscountFixedAmount DiscountType = "fixed_amount"
	// DiscountPercentage takes PercentBP basis points of the order off.
	DiscountPercentage DiscountType = "percentage"
	// DiscountFreeShipping makes shipping free.
	DiscountFreeShipping DiscountType = "free_shipping"
)

// DiscountCode is a single-use code loyaltyd issues for a reward and writes
// to the platform. Codes are deterministic, so writing one twice is harmless.
type DiscountCode struct {
	// Code is what the customer types at checkout.
	Code string `json:"code"`
	// CustomerID restricts the code to one customer; empty for a Shared
	// code.
	CustomerID string `json:"customer_id,omitempty"`
	// Email restricts the code to one e-mail, on platforms that restrict by
	// e-mail (WooCommerce).
	Email string `json:"email,omitempty"`
	// Type says what the code gives.
	Type DiscountType `json:"type"`
	// Amount is the value of a fixed-amount code.
	Amount Money `json:"amount,omitzero"`
	// PercentBP is the value of a percentage code in basis points
	// (1,000 = 10 %).
	PercentBP int `json:"percent_bp,omitempty"`
	// MinimumOrder is the order subtotal the code requires, if any.
	MinimumOrder Money `json:"minimum_order,omitzero"`
	// StartsAt is when the code becomes usable.
	StartsAt time.Time `json:"starts_at"`
	// ExpiresAt is when the code stops being usable; zero means never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Title names the code in the platform's admin ("Loyalty: $5 off").
	Title string `json:"title,omitempty"`
	// Shared marks a code anyone may use once (a member's referral code):
	// no customer restriction, once per customer, no overall limit.
	// OwnerID is the member it belongs to; platforms that can exclude a
	// customer from a code exclude the owner, and loyaltyd refuses the
	// referral when the owner uses it anyway.
	Shared  bool   `json:"shared,omitempty"`
	OwnerID string `json:"owner_id,omitempty"`
}
