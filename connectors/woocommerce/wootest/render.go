package wootest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The REST forms of the store's records, as WooCommerce writes them: every
// date twice, in site time and GMT, both without a zone (null when unset);
// amounts as decimal strings; refunds negative on the order.

func (s *Server) date(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.In(s.zone).Format("2006-01-02T15:04:05")
}

func dateGMT(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

func addressJSON(a Address, withEmail, nullEmail bool) map[string]any {
	m := map[string]any{
		"first_name": a.FirstName, "last_name": a.LastName, "company": a.Company,
		"address_1": a.Address1, "address_2": a.Address2, "city": a.City,
		"state": a.State, "postcode": a.Postcode, "country": a.Country, "phone": a.Phone,
	}
	if withEmail {
		m["email"] = a.Email
		if a.Email == "" && nullEmail {
			m["email"] = nil
		}
	}
	return m
}

func metaJSON(ms []Meta) []any {
	out := make([]any, 0, len(ms))
	for _, m := range ms {
		out = append(out, map[string]any{"id": m.ID, "key": m.Key, "value": m.Value})
	}
	return out
}

func orEmpty(s, zero string) string {
	if s == "" {
		return zero
	}
	return s
}

// negate writes a positive decimal string as WooCommerce writes refunds on
// orders: "-" prepended.
func negate(s string) string {
	if s == "" {
		return "0.00"
	}
	if strings.HasPrefix(s, "-") {
		return s[1:]
	}
	return "-" + s
}

func (s *Server) orderJSON(o *Order) map[string]any {
	lines := make([]any, 0, len(o.Lines))
	for _, l := range o.Lines {
		price := 0.0
		if f, err := strconv.ParseFloat(l.Total, 64); err == nil && l.Quantity > 0 {
			price = f / float64(l.Quantity)
		}
		lines = append(lines, map[string]any{
			"id": l.ID, "name": l.Name, "product_id": l.ProductID, "variation_id": l.VariationID,
			"quantity": l.Quantity, "tax_class": "", "subtotal": orEmpty(l.Subtotal, "0.00"),
			"subtotal_tax": orEmpty(l.SubtotalTax, "0.00"), "total": orEmpty(l.Total, "0.00"),
			"total_tax": orEmpty(l.TotalTax, "0.00"), "taxes": []any{}, "meta_data": []any{},
			"sku": l.SKU, "price": price, "image": map[string]any{"id": "", "src": ""}, "parent_name": nil,
		})
	}
	var shipping []any
	if st := orEmpty(o.ShippingTotal, "0.00"); st != "0.00" && st != "0" {
		shipping = append(shipping, map[string]any{"id": o.ID*10 + 1, "method_title": "Flat rate", "method_id": "flat_rate",
			"instance_id": "1", "total": st, "total_tax": "0.00", "taxes": []any{}, "meta_data": []any{}})
	}
	coupons := make([]any, 0, len(o.Coupons))
	for i, c := range o.Coupons {
		id := c.ID
		if id == 0 {
			id = o.ID*10 + 2 + int64(i)
		}
		coupons = append(coupons, map[string]any{"id": id, "code": c.Code, "discount": orEmpty(c.Discount, "0.00"),
			"discount_tax": "0.00", "meta_data": []any{}})
	}
	refunds := make([]any, 0, len(o.Refunds))
	for _, r := range o.Refunds {
		refunds = append(refunds, map[string]any{"id": r.ID, "reason": r.Reason, "total": negate(r.Amount)})
	}
	if shipping == nil {
		shipping = []any{}
	}
	return map[string]any{
		"id": o.ID, "parent_id": o.ParentID, "status": o.Status, "currency": o.Currency,
		"version": s.opts.Version, "prices_include_tax": false,
		"date_created": s.date(o.Created), "date_modified": s.date(o.Modified),
		"discount_total": orEmpty(o.DiscountTotal, "0.00"), "discount_tax": "0.00",
		"shipping_total": orEmpty(o.ShippingTotal, "0.00"), "shipping_tax": "0.00",
		"cart_tax": orEmpty(o.TotalTax, "0.00"), "total": orEmpty(o.Total, "0.00"),
		"total_tax": orEmpty(o.TotalTax, "0.00"), "customer_id": o.CustomerID,
		"order_key": fmt.Sprintf("wc_order_%d", o.ID), "billing": addressJSON(o.Billing, true, true),
		"shipping": addressJSON(o.Shipping, false, false), "payment_method": "bacs",
		"payment_method_title": "Direct bank transfer", "transaction_id": "",
		"customer_ip_address": "", "customer_user_agent": "", "created_via": o.CreatedVia,
		"customer_note": "", "date_completed": s.date(o.Completed), "date_paid": s.date(o.Paid),
		"cart_hash": "", "number": o.Number, "meta_data": metaJSON(o.Meta),
		"line_items": lines, "tax_lines": []any{}, "shipping_lines": shipping, "fee_lines": []any{},
		"coupon_lines": coupons, "refunds": refunds, "payment_url": "", "is_editable": o.Status == "pending",
		"needs_payment": o.Status == "pending", "needs_processing": true,
		"date_created_gmt": dateGMT(o.Created), "date_modified_gmt": dateGMT(o.Modified),
		"date_completed_gmt": dateGMT(o.Completed), "date_paid_gmt": dateGMT(o.Paid),
		"currency_symbol": "$",
		"_links": map[string]any{
			"self":       []any{map[string]any{"href": fmt.Sprintf("%s%sorders/%d", s.URL, apiPrefix, o.ID)}},
			"collection": []any{map[string]any{"href": s.URL + apiPrefix + "orders"}},
		},
	}
}

func (s *Server) refundJSON(o *Order, r *Refund) map[string]any {
	lines := make([]any, 0, len(r.Lines))
	for _, l := range r.Lines {
		var orig LineItem
		for _, ol := range o.Lines {
			if ol.ID == l.LineID {
				orig = ol
			}
		}
		lines = append(lines, map[string]any{
			"id": l.ID, "name": orig.Name, "product_id": orig.ProductID, "variation_id": orig.VariationID,
			"quantity": -l.Quantity, "tax_class": "", "subtotal": negate(l.Total), "subtotal_tax": "0.00",
			"total": negate(l.Total), "total_tax": "0.00", "taxes": []any{}, "sku": orig.SKU, "price": 0,
			"meta_data": []any{map[string]any{"id": l.ID + 1, "key": "_refunded_item_id",
				"value": strconv.FormatInt(l.LineID, 10), "display_key": "_refunded_item_id",
				"display_value": strconv.FormatInt(l.LineID, 10)}},
		})
	}
	shipping := []any{}
	if r.Shipping != "" {
		shipping = append(shipping, map[string]any{"id": r.ID*10 + 1, "method_title": "Flat rate", "method_id": "flat_rate",
			"total": negate(r.Shipping), "total_tax": "0.00", "taxes": []any{}, "meta_data": []any{}})
	}
	return map[string]any{
		"id": r.ID, "date_created": s.date(r.Created), "date_created_gmt": dateGMT(r.Created),
		"amount": r.Amount, "reason": r.Reason, "refunded_by": 1, "refunded_payment": false,
		"meta_data": []any{}, "line_items": lines, "shipping_lines": shipping, "tax_lines": []any{}, "fee_lines": []any{},
	}
}

func (s *Server) customerJSON(c *Customer) map[string]any {
	return map[string]any{
		"id": c.ID, "date_created": s.date(c.Created), "date_created_gmt": dateGMT(c.Created),
		"date_modified": s.date(c.Modified), "date_modified_gmt": dateGMT(c.Modified),
		"email": c.Email, "first_name": c.FirstName, "last_name": c.LastName, "role": c.Role,
		"username": c.Username, "billing": addressJSON(c.Billing, true, false),
		"shipping": addressJSON(c.Shipping, false, false), "is_paying_customer": false,
		"avatar_url": "https://secure.gravatar.com/avatar/?s=96&d=mm&r=g", "meta_data": metaJSON(c.Meta),
	}
}

func intOrNil(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func (s *Server) couponJSON(c *Coupon) map[string]any {
	emails := c.EmailRestrictions
	if emails == nil {
		emails = []string{}
	}
	return map[string]any{
		"id": c.ID, "code": c.Code, "amount": orEmpty(c.Amount, "0.00"), "status": c.Status,
		"date_created": s.date(c.Created), "date_created_gmt": dateGMT(c.Created),
		"date_modified": s.date(c.Modified), "date_modified_gmt": dateGMT(c.Modified),
		"discount_type": c.DiscountType, "description": c.Description,
		"date_expires": s.date(c.Expires), "date_expires_gmt": dateGMT(c.Expires),
		"usage_count": c.UsageCount, "individual_use": c.IndividualUse,
		"product_ids": []any{}, "excluded_product_ids": []any{},
		"usage_limit": intOrNil(c.UsageLimit), "usage_limit_per_user": intOrNil(c.UsagePerUser),
		"limit_usage_to_x_items": nil, "free_shipping": c.FreeShipping,
		"product_categories": []any{}, "excluded_product_categories": []any{},
		"exclude_sale_items": false, "minimum_amount": orEmpty(c.MinimumAmount, "0.00"),
		"maximum_amount": "0.00", "email_restrictions": emails, "used_by": []any{},
		"meta_data": metaJSON(c.Meta),
	}
}

func (s *Server) webhookJSON(w *Webhook) map[string]any {
	resource, event, _ := strings.Cut(w.Topic, ".")
	return map[string]any{
		"id": w.ID, "name": w.Name, "status": w.Status, "topic": w.Topic,
		"resource": resource, "event": event, "hooks": []any{}, "delivery_url": w.DeliveryURL,
		"date_created": s.date(w.Created), "date_created_gmt": dateGMT(w.Created),
		"date_modified": s.date(w.Modified), "date_modified_gmt": dateGMT(w.Modified),
	}
}

// phpJSON encodes v as WordPress's wp_json_encode does: "/" escaped as
// "\/", and every character beyond ASCII as \uXXXX. A receiver that
// verifies a signature on re-encoded JSON instead of the raw bytes fails.
func phpJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("wootest: encode JSON: " + err.Error())
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	var out bytes.Buffer
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == '/':
			out.WriteString(`\/`)
		case r < utf8.RuneSelf:
			out.WriteByte(b[0])
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&out, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
		b = b[n:]
	}
	return out.Bytes()
}

// metaText is a meta value as text.
func metaText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
