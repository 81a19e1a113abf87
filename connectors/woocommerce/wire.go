package woocommerce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The connector's own view of WooCommerce's REST v3 JSON. Only the fields
// loyaltyd reads are declared; decoding ignores the rest, so that a plugin
// adding fields cannot break a sync.

// wireTimeLayout is how WooCommerce writes every date: no zone, for the
// site-time fields and the *_gmt ones alike.
const wireTimeLayout = "2006-01-02T15:04:05"

// wireTime is a *_gmt date. WooCommerce writes it without a zone; it is
// UTC by name, so it is read as UTC, and never the site-time twin, whose
// zone the API does not say.
type wireTime struct{ time.Time }

func (t *wireTime) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date: want a string, got %.32s", b)
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := parseWireTime(s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

func (t wireTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(wireTimeLayout))
}

// parseWireTime reads a GMT date as WooCommerce writes it. A value with a
// zone (a plugin may add one) is honoured rather than misread; one that
// its zone moves out of the years 0 to 9999 is refused, as neither a
// query nor loyaltyd's records could hold it.
func parseWireTime(s string) (time.Time, error) {
	v, err := time.ParseInLocation(wireTimeLayout, s, time.UTC)
	if err != nil {
		if v, err = time.Parse(time.RFC3339, s); err == nil {
			v = v.UTC()
		}
	}
	if err != nil || v.Year() < 0 || v.Year() > 9999 {
		return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DDTHH:MM:SS", truncate(s, 40))
	}
	return v, nil
}

// formatWireTime writes t as a GMT date for a query: whole seconds, no
// zone. A zone would make WooCommerce convert the value to site time first
// even with dates_are_gmt=true.
func formatWireTime(t time.Time) string {
	return t.UTC().Format(wireTimeLayout)
}

// wireDecimal is an amount. WooCommerce writes amounts as strings, but a
// few fields (and some plugins) write numbers; both are kept as the
// decimal text, never as a float.
type wireDecimal string

func (d *wireDecimal) UnmarshalJSON(b []byte) error {
	switch {
	case bytes.Equal(b, []byte("null")):
		*d = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = wireDecimal(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("amount: want a string or a number, got %.32s", b)
	}
	*d = wireDecimal(n.String())
	return nil
}

// wireID is a record id. WooCommerce writes numbers; a string of digits is
// accepted too, as some plugins and proxies write them so.
type wireID int64

func (id *wireID) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*id = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("id: want a non-negative integer, got %.32s", b)
	}
	*id = wireID(v)
	return nil
}

func (id wireID) String() string { return strconv.FormatInt(int64(id), 10) }

// wireQuantity is a quantity: an integer, negative on refunds. Some stores
// sell fractional quantities through plugins; those are refused with an
// error rather than rounded.
type wireQuantity int

func (q *wireQuantity) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*q = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int(f)) || f > 1e9 || f < -1e9 {
		return fmt.Errorf("quantity: want an integer, got %.32s", b)
	}
	*q = wireQuantity(int(f))
	return nil
}

// wireMeta is one meta_data entry. Values are any JSON: strings mostly,
// but plugins store numbers, arrays and objects.
type wireMeta struct {
	ID    wireID          `json:"id,omitempty"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// text returns the meta value as text: a string as it is, anything else as
// its JSON.
func (m wireMeta) text() string {
	var s string
	if err := json.Unmarshal(m.Value, &s); err == nil {
		return s
	}
	return string(m.Value)
}

type wireAddress struct {
	FirstName string  `json:"first_name"`
	LastName  string  `json:"last_name"`
	Company   string  `json:"company"`
	Address1  string  `json:"address_1"`
	Address2  string  `json:"address_2"`
	City      string  `json:"city"`
	State     string  `json:"state"`
	Postcode  string  `json:"postcode"`
	Country   string  `json:"country"`
	Email     *string `json:"email,omitempty"` // null on orders without one
	Phone     string  `json:"phone,omitempty"`
}

func (a wireAddress) email() string {
	if a.Email == nil {
		return ""
	}
	return strings.TrimSpace(*a.Email)
}

type wireOrder struct {
	ID               wireID             `json:"id"`
	ParentID         wireID             `json:"parent_id"`
	Number           string             `json:"number"`
	Status           string             `json:"status"`
	Currency         string             `json:"currency"`
	CreatedVia       string             `json:"created_via"`
	DateCreatedGMT   wireTime           `json:"date_created_gmt"`
	DateModifiedGMT  wireTime           `json:"date_modified_gmt"`
	DatePaidGMT      wireTime           `json:"date_paid_gmt"`
	DateCompletedGMT wireTime           `json:"date_completed_gmt"`
	DiscountTotal    wireDecimal        `json:"discount_total"`
	ShippingTotal    wireDecimal        `json:"shipping_total"`
	TotalTax         wireDecimal        `json:"total_tax"`
	Total            wireDecimal        `json:"total"`
	CustomerID       wireID             `json:"customer_id"`
	Billing          wireAddress        `json:"billing"`
	Shipping         wireAddress        `json:"shipping"`
	LineItems        []wireLineItem     `json:"line_items"`
	ShippingLines    []wireShippingLine `json:"shipping_lines"`
	CouponLines      []wireCouponLine   `json:"coupon_lines"`
	Refunds          []wireOrderRefund  `json:"refunds"`
	MetaData         []wireMeta         `json:"meta_data"`
}

type wireLineItem struct {
	ID          wireID       `json:"id"`
	Name        string       `json:"name"`
	ProductID   wireID       `json:"product_id"`
	VariationID wireID       `json:"variation_id"`
	Quantity    wireQuantity `json:"quantity"`
	Subtotal    wireDecimal  `json:"subtotal"`
	Total       wireDecimal  `json:"total"`
	TotalTax    wireDecimal  `json:"total_tax"`
	SKU         string       `json:"sku"`
	MetaData    []wireMeta   `json:"meta_data"`
}

type wireShippingLine struct {
	ID       wireID      `json:"id"`
	MethodID string      `json:"method_id"`
	Total    wireDecimal `json:"total"`
	MetaData []wireMeta  `json:"meta_data"`
}

type wireCouponLine struct {
	ID       wireID      `json:"id"`
	Code     string      `json:"code"`
	Discount wireDecimal `json:"discount"`
}

// wireOrderRefund is a refund as the order lists it: its total is
// negative ("-10.00").
type wireOrderRefund struct {
	ID     wireID      `json:"id"`
	Reason string      `json:"reason"`
	Total  wireDecimal `json:"total"`
}

// wireRefund is a refund as /orders/<id>/refunds returns it: its amount is
// positive, its lines' quantities and totals negative, and each line names
// the order line it refunds in the meta key _refunded_item_id.
type wireRefund struct {
	ID             wireID             `json:"id"`
	DateCreatedGMT wireTime           `json:"date_created_gmt"`
	Amount         wireDecimal        `json:"amount"`
	Reason         string             `json:"reason"`
	LineItems      []wireLineItem     `json:"line_items"`
	ShippingLines  []wireShippingLine `json:"shipping_lines"`
}

type wireCustomer struct {
	ID              wireID      `json:"id"`
	DateCreatedGMT  wireTime    `json:"date_created_gmt"`
	DateModifiedGMT wireTime    `json:"date_modified_gmt"`
	Email           string      `json:"email"`
	FirstName       string      `json:"first_name"`
	LastName        string      `json:"last_name"`
	Role            string      `json:"role"`
	Billing         wireAddress `json:"billing"`
	MetaData        []wireMeta  `json:"meta_data"`
}

// wireCustomerKey is a customer as a full scan reads it (_fields keeps the
// scan cheap).
type wireCustomerKey struct {
	ID              wireID   `json:"id"`
	DateModifiedGMT wireTime `json:"date_modified_gmt"`
}

type wireCoupon struct {
	ID                wireID      `json:"id"`
	Code              string      `json:"code"`
	Amount            wireDecimal `json:"amount"`
	DiscountType      string      `json:"discount_type"`
	Description       string      `json:"description,omitempty"`
	DateExpires       *string     `json:"date_expires"`
	DateExpiresGMT    *string     `json:"date_expires_gmt"`
	IndividualUse     bool        `json:"individual_use"`
	UsageLimit        *int        `json:"usage_limit"`
	UsageLimitPerUser *int        `json:"usage_limit_per_user"`
	FreeShipping      bool        `json:"free_shipping"`
	MinimumAmount     wireDecimal `json:"minimum_amount"`
	EmailRestrictions []string    `json:"email_restrictions"`
	MetaData          []wireMeta  `json:"meta_data"`
}

// couponCreate is the body of POST /coupons. The expiry goes in
// date_expires with an explicit zone: date_expires_gmt is silently
// ignored on create, and the coupon would never expire.
type couponCreate struct {
	Code              string    `json:"code"`
	DiscountType      string    `json:"discount_type"`
	Amount            string    `json:"amount"`
	Description       string    `json:"description,omitempty"`
	DateExpires       string    `json:"date_expires,omitempty"`
	IndividualUse     bool      `json:"individual_use"`
	UsageLimit        *int      `json:"usage_limit,omitempty"`
	UsageLimitPerUser int       `json:"usage_limit_per_user"`
	FreeShipping      bool      `json:"free_shipping"`
	MinimumAmount     string    `json:"minimum_amount,omitempty"`
	EmailRestrictions []string  `json:"email_restrictions,omitempty"`
	MetaData          []metaSet `json:"meta_data,omitempty"`
	Status            string    `json:"status,omitempty"`
}

// metaSet is a meta_data entry to write: WooCommerce merges by key.
type metaSet struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type wireWebhook struct {
	ID           wireID `json:"id"`
	Name         string `json:"name"`
	Status       string `json:"status"`
	Topic        string `json:"topic"`
	DeliveryURL  string `json:"delivery_url"`
	Secret       string `json:"secret,omitempty"`
	FailureCount int    `json:"failure_count,omitempty"`
}

// apiError is WooCommerce's (WordPress's) error body:
// {"code":"woocommerce_rest_…","message":"…","data":{"status":400}}.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    struct {
		Status int `json:"status"`
	} `json:"data"`
}

// decodeStrict decodes one JSON value and refuses trailing data, so that a
// body cut off by a proxy or concatenated by a plugin's stray output is an
// error, not a half-read page.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
