package woocommerce

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Conversion from WooCommerce's JSON to commerce: a translation and
// nothing else. It never guesses: a status it does not know, a currency
// that is no ISO 4217 code or an amount with more decimals than its
// currency has is an error naming the order and the field.

// builtinStatuses maps WooCommerce's own order statuses to financial
// states. Paid statuses with refunds become (partially) refunded in
// convertOrder.
var builtinStatuses = map[string]commerce.FinancialState{
	"processing": commerce.StatePaid,
	"completed":  commerce.StatePaid,
	"on-hold":    commerce.StatePending,
	"pending":    commerce.StatePending,
	// The block checkout's order before payment; status=any lists it.
	"checkout-draft": commerce.StatePending,
	"cancelled":      commerce.StateVoided,
	"failed":         commerce.StateVoided,
	"trash":          commerce.StateVoided,
	"refunded":       commerce.StateRefunded,
}

// statusState returns the state of an order status: status_map first, so
// that a store can override a built-in status too, then the built-in ones.
func statusState(status string, custom map[string]commerce.FinancialState) (commerce.FinancialState, bool) {
	s := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(status)), "wc-")
	if st, ok := custom[s]; ok {
		return st, true
	}
	st, ok := builtinStatuses[s]
	return st, ok
}

// convertOrder converts an order, with the details of its refunds when they
// were read (refunds may be nil: a webhook carries only the order).
func convertOrder(w wireOrder, refunds []wireRefund, custom map[string]commerce.FinancialState) (commerce.Order, error) {
	id := w.ID.String()
	fail := func(field string, err error) (commerce.Order, error) {
		return commerce.Order{}, fmt.Errorf("order %s: %s: %w", id, field, err)
	}
	if w.ID == 0 {
		return commerce.Order{}, fmt.Errorf("order without an id")
	}
	state, ok := statusState(w.Status, custom)
	if !ok {
		return commerce.Order{}, fmt.Errorf("order %s has status %q, which loyaltyd does not know: map it to paid, pending, voided or refunded under status_map in the store's settings",
			id, truncate(w.Status, 40))
	}
	cur, err := commerce.NormalizeCurrency(w.Currency)
	if err != nil {
		return fail("currency", err)
	}
	if w.DateModifiedGMT.IsZero() {
		return fail("date_modified_gmt", fmt.Errorf("missing"))
	}
	money := func(field string, v wireDecimal) (commerce.Money, error) {
		if v == "" {
			return commerce.NewMoney(0, cur), nil
		}
		m, err := commerce.ParseMoney(string(v), cur)
		if err != nil {
			return commerce.Money{}, fmt.Errorf("%s: %w", field, err)
		}
		if m.Minor == math.MinInt64 {
			// Refunds come negative and are turned around: this one
			// cannot be.
			return commerce.Money{}, fmt.Errorf("%s: %s is out of range", field, truncate(string(v), 32))
		}
		return m, nil
	}
	o := commerce.Order{
		ID:          id,
		Number:      "#" + strings.TrimPrefix(strings.TrimSpace(w.Number), "#"),
		Email:       w.Billing.email(),
		Currency:    cur,
		CreatedAt:   w.DateCreatedGMT.Time,
		ProcessedAt: w.DatePaidGMT.Time,
		UpdatedAt:   w.DateModifiedGMT.Time,
		State:       state,
	}
	if strings.TrimSpace(w.Number) == "" {
		o.Number = "#" + id
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = o.UpdatedAt
	}
	switch {
	case w.CustomerID != 0:
		o.CustomerID = w.CustomerID.String()
	default:
		o.CustomerID = GuestID(o.Email)
	}
	if o.Shipping, err = money("shipping_total", w.ShippingTotal); err != nil {
		return fail("amounts", err)
	}
	if o.Tax, err = money("total_tax", w.TotalTax); err != nil {
		return fail("amounts", err)
	}
	if w.Total == "" {
		return fail("total", fmt.Errorf("missing"))
	}
	if o.Total, err = money("total", w.Total); err != nil {
		return fail("amounts", err)
	}
	for i, l := range w.LineItems {
		if l.Quantity < 0 {
			return fail(fmt.Sprintf("line_items[%d].quantity", i), fmt.Errorf("negative"))
		}
		sub, err := money(fmt.Sprintf("line_items[%d].subtotal", i), l.Subtotal)
		if err != nil {
			return fail("amounts", err)
		}
		total := sub
		if l.Total != "" {
			if total, err = money(fmt.Sprintf("line_items[%d].total", i), l.Total); err != nil {
				return fail("amounts", err)
			}
		}
		li := commerce.LineItem{
			ID:       l.ID.String(),
			SKU:      l.SKU,
			Title:    l.Name,
			Quantity: int(l.Quantity),
			Subtotal: sub,
			Discount: sub.Sub(total),
		}
		if l.ProductID != 0 {
			li.ProductID = l.ProductID.String()
		}
		if l.VariationID != 0 {
			li.VariantID = l.VariationID.String()
		}
		o.Lines = append(o.Lines, li)
	}
	for i, cl := range w.CouponLines {
		d, err := money(fmt.Sprintf("coupon_lines[%d].discount", i), cl.Discount)
		if err != nil {
			return fail("amounts", err)
		}
		o.Codes = append(o.Codes, commerce.CodeUse{Code: cl.Code, Amount: d})
	}
	details := make(map[wireID]wireRefund, len(refunds))
	for _, r := range refunds {
		details[r.ID] = r
	}
	var refunded commerce.Money
	for i, r := range w.Refunds {
		rid := r.ID.String()
		// The order lists refunds with a negative total ("-10.00");
		// loyaltyd's amounts are positive.
		amt, err := money(fmt.Sprintf("refunds[%d].total", i), r.Total)
		if err != nil {
			return fail("amounts", err)
		}
		if amt.Sign() > 0 {
			return fail(fmt.Sprintf("refunds[%d].total", i), fmt.Errorf("%s is positive; WooCommerce lists refunds on an order as negative totals", r.Total))
		}
		rf := commerce.Refund{ID: rid, Amount: amt.Neg(), Note: r.Reason, CreatedAt: o.UpdatedAt}
		if d, ok := details[r.ID]; ok {
			if err := refundDetails(&rf, d, money); err != nil {
				return fail(fmt.Sprintf("refund %s", rid), err)
			}
		}
		refunded = refunded.Add(rf.Amount)
		o.Refunds = append(o.Refunds, rf)
	}
	cancelled := strings.EqualFold(strings.TrimPrefix(w.Status, "wc-"), "cancelled") || strings.EqualFold(w.Status, "trash")
	o.State = o.State.AfterRefunds(cancelled, refunded, o.Total)
	if cancelled {
		// WooCommerce records no cancellation time: the last
		// modification of a cancelled order is the nearest it offers.
		o.CancelledAt = o.UpdatedAt
	}
	if a := w.Shipping; a.Address1 != "" || a.City != "" || a.Postcode != "" || a.Country != "" {
		o.ShippingAddress = &commerce.Address{Address1: a.Address1, Address2: a.Address2, City: a.City, Zip: a.Postcode, Country: a.Country}
	}
	if err := o.Validate(); err != nil {
		return commerce.Order{}, err
	}
	return o, nil
}

// refundDetails completes a refund from the refunds endpoint: its date, its
// lines (each names the order line in the meta key _refunded_item_id, with
// a negative quantity and total) and the shipping it gave back.
func refundDetails(rf *commerce.Refund, d wireRefund, money func(string, wireDecimal) (commerce.Money, error)) error {
	if d.Amount != "" {
		amt, err := money("amount", d.Amount)
		if err != nil {
			return err
		}
		if amt != rf.Amount {
			return fmt.Errorf("amount %s on the refunds endpoint, %s on the order", amt.Decimal(), rf.Amount.Decimal())
		}
	}
	if !d.DateCreatedGMT.IsZero() {
		rf.CreatedAt = d.DateCreatedGMT.Time
	}
	for j, l := range d.LineItems {
		line := ""
		for _, m := range l.MetaData {
			if m.Key == "_refunded_item_id" {
				line = strings.TrimSpace(m.text())
			}
		}
		total, err := money(fmt.Sprintf("line_items[%d].total", j), l.Total)
		if err != nil {
			return err
		}
		qty := int(l.Quantity)
		if qty < 0 {
			qty = -qty
		}
		if total.Sign() < 0 {
			total = total.Neg()
		}
		if qty == 0 && total.IsZero() {
			continue
		}
		if line == "" {
			return fmt.Errorf("line_items[%d]: no _refunded_item_id names the order line it refunds", j)
		}
		rf.Lines = append(rf.Lines, commerce.RefundLine{LineID: line, Quantity: qty, Amount: total})
	}
	for j, s := range d.ShippingLines {
		amt, err := money(fmt.Sprintf("shipping_lines[%d].total", j), s.Total)
		if err != nil {
			return err
		}
		if amt.Sign() < 0 {
			amt = amt.Neg()
		}
		rf.Shipping = rf.Shipping.Add(amt)
	}
	return nil
}

// convertCustomer converts a registered customer. Its tags are the list
// in the meta key loyalty_tags.
func convertCustomer(w wireCustomer) (commerce.Customer, error) {
	if w.ID == 0 {
		return commerce.Customer{}, fmt.Errorf("customer without an id")
	}
	c := commerce.Customer{
		ID:        w.ID.String(),
		Email:     strings.TrimSpace(w.Email),
		FirstName: w.FirstName,
		LastName:  w.LastName,
		CreatedAt: w.DateCreatedGMT.Time,
		UpdatedAt: w.DateModifiedGMT.Time,
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	if c.UpdatedAt.IsZero() {
		return commerce.Customer{}, fmt.Errorf("customer %s: no date_modified_gmt nor date_created_gmt", c.ID)
	}
	if c.FirstName == "" && c.LastName == "" {
		c.FirstName, c.LastName = w.Billing.FirstName, w.Billing.LastName
	}
	for _, m := range w.MetaData {
		if m.Key == TagsMetaKey {
			c.Tags = parseTags(m.Value)
		}
	}
	return c, nil
}

// parseTags reads the tag list meta value: a comma-separated string, or a
// JSON list of strings (a plugin may have written one).
func parseTags(v json.RawMessage) []string {
	var list []string
	var s string
	if json.Unmarshal(v, &s) == nil {
		list = strings.Split(s, ",")
	} else if json.Unmarshal(v, &list) != nil {
		return nil
	} else {
		// The list is written back as one comma-separated string, where a
		// comma inside an element separates two tags: read it so now.
		list = strings.Split(strings.Join(list, ","), ",")
	}
	var out []string
	for _, t := range list {
		t = strings.TrimSpace(t)
		if t == "" || hasTag(out, t) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// formatTags writes a tag list as the meta value.
func formatTags(tags []string) string { return strings.Join(tags, ",") }

// hasTag reports whether tags holds tag, compared as platforms compare
// tags: without regard to case or surrounding space.
func hasTag(tags []string, tag string) bool {
	for _, t := range tags {
		if strings.EqualFold(strings.TrimSpace(t), strings.TrimSpace(tag)) {
			return true
		}
	}
	return false
}

// guestFromOrder derives the guest customer of an order without a
// customer_id, keyed by its folded billing e-mail; ok is false when the
// order has no e-mail.
func guestFromOrder(w wireOrder) (commerce.Customer, bool) {
	email := w.Billing.email()
	id := GuestID(email)
	if id == "" || w.DateModifiedGMT.IsZero() {
		return commerce.Customer{}, false
	}
	raw, _ := json.Marshal(struct {
		Source  string      `json:"source"`
		OrderID wireID      `json:"order_id"`
		Billing wireAddress `json:"billing"`
	}{"order", w.ID, w.Billing})
	c := commerce.Customer{
		ID:        id,
		Email:     email,
		FirstName: w.Billing.FirstName,
		LastName:  w.Billing.LastName,
		CreatedAt: w.DateCreatedGMT.Time,
		UpdatedAt: w.DateModifiedGMT.Time,
		Guest:     true,
		Raw:       raw,
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = c.UpdatedAt
	}
	return c, true
}

// mergeGuest combines two orders' views of one guest: the latest order's
// names and address, the earliest order's creation.
func mergeGuest(a, b commerce.Customer) commerce.Customer {
	first := a.CreatedAt
	if b.CreatedAt.Before(first) {
		first = b.CreatedAt
	}
	latest := a
	if b.UpdatedAt.After(a.UpdatedAt) || b.UpdatedAt.Equal(a.UpdatedAt) && string(b.Raw) > string(a.Raw) {
		latest = b
	}
	latest.CreatedAt = first
	return latest
}

// formatDecimal writes an amount for WooCommerce: a plain decimal.
func formatDecimal(m commerce.Money) string { return m.Decimal() }

// formatPercent writes basis points as a percentage: 1250 → "12.5".
func formatPercent(bp int) string {
	s := fmt.Sprintf("%d.%02d", bp/100, bp%100)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// expiryValue writes an expiry for date_expires: UTC with an explicit zone,
// which WooCommerce honours; date_expires_gmt it ignores on create.
func expiryValue(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
