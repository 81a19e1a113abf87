package shopifytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

// record is an order or a customer as the shop holds it: the REST object,
// and the fields the server filters and sorts by.
type record struct {
	id         uint64
	createdAt  time.Time
	updatedAt  time.Time
	cancelled  bool
	closed     bool
	customerID uint64
	body       map[string]any // numbers as json.Number, so that ids keep 64 bits
}

// decodeObject decodes a JSON object keeping numbers exact.
func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

// newRecord indexes a REST object.
func newRecord(body map[string]any) (*record, error) {
	id, ok := uintOf(body["id"])
	if !ok || id == 0 {
		return nil, errors.New("id: want a positive whole number")
	}
	r := &record{id: id, body: body}
	var err error
	if r.createdAt, err = timeOf(body["created_at"]); err != nil {
		return nil, fmt.Errorf("created_at: %w", err)
	}
	if r.updatedAt, err = timeOf(body["updated_at"]); err != nil || r.updatedAt.IsZero() {
		return nil, fmt.Errorf("updated_at: want an ISO 8601 time (%v)", err)
	}
	if r.createdAt.IsZero() {
		r.createdAt = r.updatedAt
	}
	r.cancelled = body["cancelled_at"] != nil
	r.closed = body["closed_at"] != nil
	if c, ok := body["customer"].(map[string]any); ok {
		r.customerID, _ = uintOf(c["id"])
	}
	return r, nil
}

func uintOf(v any) (uint64, bool) {
	switch n := v.(type) {
	case json.Number:
		u, err := strconv.ParseUint(n.String(), 10, 64)
		return u, err == nil
	case string:
		u, err := strconv.ParseUint(n, 10, 64)
		return u, err == nil
	case uint64:
		return n, true
	}
	return 0, false
}

func timeOf(v any) (time.Time, error) {
	s, _ := v.(string)
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// clone deep-copies a JSON value.
func clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = clone(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = clone(e)
		}
		return out
	}
	return v
}

// PutOrderJSON stores a REST order object (without its envelope), as
// Shopify would return it, replacing any order with its id. It needs an id
// and an updated_at; the rest is served as given.
func (s *Server) PutOrderJSON(raw []byte) error {
	body, err := decodeObject(raw)
	if err != nil {
		return fmt.Errorf("shopifytest: order: %w", err)
	}
	r, err := newRecord(body)
	if err != nil {
		return fmt.Errorf("shopifytest: order: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders[r.id] = r
	return nil
}

// PutCustomerJSON is PutOrderJSON for customers.
func (s *Server) PutCustomerJSON(raw []byte) error {
	body, err := decodeObject(raw)
	if err != nil {
		return fmt.Errorf("shopifytest: customer: %w", err)
	}
	r, err := newRecord(body)
	if err != nil {
		return fmt.Errorf("shopifytest: customer: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customers[r.id] = r
	return nil
}

// PutCustomer stores a customer, replacing any with its id, in Shopify's
// shape. The id must be a whole number; a zero UpdatedAt becomes the
// platform's time. A Guest becomes a customer without an account
// (state "disabled"), which is what Shopify keeps for guest checkouts.
func (s *Server) PutCustomer(c commerce.Customer) error {
	id, ok := restID(c.ID)
	if !ok {
		return fmt.Errorf("shopifytest: customer id %q is not a whole number, as Shopify's are", c.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = s.opts.Now()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = c.UpdatedAt
	}
	state := "enabled"
	if c.Guest {
		state = "disabled"
	}
	body := map[string]any{
		"id":                   json.Number(strconv.FormatUint(id, 10)),
		"email":                nullable(c.Email),
		"created_at":           s.fmtTime(c.CreatedAt),
		"updated_at":           s.fmtTime(c.UpdatedAt),
		"first_name":           nullable(c.FirstName),
		"last_name":            nullable(c.LastName),
		"state":                state,
		"note":                 nil,
		"verified_email":       c.Email != "",
		"multipass_identifier": nil,
		"tax_exempt":           false,
		"tags":                 joinTags(c.Tags),
		"currency":             s.opts.Currency,
		"phone":                nil,
		"addresses":            []any{},
		"tax_exemptions":       []any{},
		"email_marketing_consent": map[string]any{
			"state": "not_subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": nil,
		},
		"sms_marketing_consent": nil,
		"admin_graphql_api_id":  gid("Customer", id),
	}
	r, err := newRecord(body)
	if err != nil {
		return fmt.Errorf("shopifytest: customer %s: %w", c.ID, err)
	}
	s.customers[id] = r
	return nil
}

// PutOrder stores an order, replacing any with its id, in Shopify's REST
// shape: amounts as strings with *_set values (presentment equal to shop
// money), line discounts as discount_allocations of the first code's
// discount application (or a manual one), shipping as one shipping line,
// refunds with their refund line items, a successful refund transaction
// and, for refunded shipping, a shipping_refund adjustment. A refunded or
// cancelled order is closed, so that a list without status=any misses
// it. Order and customer ids must be whole numbers; line and refund ids
// that are not get a stable number derived from them. A line's subtotal
// must divide by its quantity, as Shopify stores unit prices.
func (s *Server) PutOrder(o commerce.Order) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = s.opts.Now()
	}
	body, err := s.orderJSON(o)
	if err != nil {
		return fmt.Errorf("shopifytest: order %s: %w", o.ID, err)
	}
	r, err := newRecord(body)
	if err != nil {
		return fmt.Errorf("shopifytest: order %s: %w", o.ID, err)
	}
	s.orders[r.id] = r
	return nil
}

// DeleteOrder removes an order; it reports whether there was one.
func (s *Server) DeleteOrder(id string) bool {
	n, _ := restID(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.orders[n]
	delete(s.orders, n)
	return ok
}

// DeleteCustomer removes a customer and its metafields; it reports whether
// there was one.
func (s *Server) DeleteCustomer(id string) bool {
	n, _ := restID(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.customers[n]
	delete(s.customers, n)
	delete(s.metafields, n)
	return ok
}

// Tags returns the customer's tags as the shop holds them; nil for an
// unknown customer.
func (s *Server) Tags(customerID string) []string {
	n, _ := restID(customerID)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.customers[n]
	if !ok {
		return nil
	}
	return parseTags(r.body["tags"])
}

// Metafields returns the customer's metafields in the "loyalty" namespace
// by key.
func (s *Server) Metafields(customerID string) map[string]string {
	n, _ := restID(customerID)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, mf := range s.metafields[n] {
		if mf.namespace == "loyalty" {
			out[mf.key] = mf.value
		}
	}
	return out
}

// Metafield returns one of the customer's metafields and its type.
func (s *Server) Metafield(customerID, namespace, key string) (value, typ string, ok bool) {
	n, _ := restID(customerID)
	s.mu.Lock()
	defer s.mu.Unlock()
	mf, ok := s.metafields[n][namespace+"."+key]
	if !ok {
		return "", "", false
	}
	return mf.value, mf.typ, true
}

// Order returns the REST JSON of an order as the API serves it.
func (s *Server) Order(id string) ([]byte, bool) {
	n, _ := restID(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.orders[n]
	if !ok {
		return nil, false
	}
	b, _ := json.Marshal(s.orderView(r))
	return b, true
}

// Customer returns the REST JSON of a customer.
func (s *Server) Customer(id string) ([]byte, bool) {
	n, _ := restID(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.customers[n]
	if !ok {
		return nil, false
	}
	b, _ := json.Marshal(r.body)
	return b, true
}

// orderView is the order as served: with the customer as it is now. The
// caller holds s.mu.
func (s *Server) orderView(r *record) map[string]any {
	body := clone(r.body).(map[string]any)
	if r.customerID != 0 {
		if c, ok := s.customers[r.customerID]; ok {
			cu := map[string]any{}
			for _, k := range []string{"id", "email", "created_at", "updated_at", "first_name", "last_name", "state", "note",
				"verified_email", "tax_exempt", "tags", "currency", "phone", "admin_graphql_api_id"} {
				cu[k] = clone(c.body[k])
			}
			body["customer"] = cu
		}
	}
	return body
}

func (s *Server) fmtTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.In(s.opts.Location).Truncate(time.Second).Format(time.RFC3339)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func gid(kind string, id uint64) string {
	return "gid://shopify/" + kind + "/" + strconv.FormatUint(id, 10)
}

func restID(s string) (uint64, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n > 0
}

// subID returns a line's or refund's Shopify id: its own when it is a
// number, else a stable one derived from it.
func subID(s string) uint64 {
	if n, ok := restID(s); ok {
		return n
	}
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()&(1<<52-1) | 1<<52
}

func num(n uint64) json.Number { return json.Number(strconv.FormatUint(n, 10)) }

// parseTags splits Shopify's tag string.
func parseTags(v any) []string {
	s, _ := v.(string)
	var out []string
	for t := range strings.SplitSeq(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// joinTags writes tags as Shopify does: sorted, comma and space.
func joinTags(tags []string) string {
	out := slices.Clone(tags)
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return strings.Join(out, ", ")
}

func (s *Server) orderJSON(o commerce.Order) (map[string]any, error) {
	id, ok := restID(o.ID)
	if !ok {
		return nil, errors.New("id: not a whole number, as Shopify's are")
	}
	cur := o.Currency
	if cur == "" {
		cur = s.opts.Currency
	}
	amt := func(m commerce.Money) string {
		if m.Currency == "" {
			m.Currency = cur
		}
		return m.Decimal()
	}
	set := func(m commerce.Money) map[string]any {
		e := map[string]any{"amount": amt(m), "currency_code": cur}
		return map[string]any{"shop_money": e, "presentment_money": maps.Clone(e)}
	}
	zero := commerce.NewMoney(0, cur)
	var apps []any
	codeApp := -1
	for _, c := range o.Codes {
		if codeApp < 0 {
			codeApp = len(apps)
		}
		apps = append(apps, map[string]any{
			"type": "discount_code", "code": c.Code, "value": amt(c.Amount), "value_type": "fixed_amount",
			"allocation_method": "across", "target_selection": "all", "target_type": "line_item",
		})
	}
	lineApp := codeApp
	var lines []any
	sub, merch, discounts := zero, zero, zero
	for i, l := range o.Lines {
		if l.Quantity <= 0 {
			return nil, fmt.Errorf("lines[%d]: quantity %d (Shopify lines have at least one unit)", i, l.Quantity)
		}
		if l.Subtotal.Minor%int64(l.Quantity) != 0 {
			return nil, fmt.Errorf("lines[%d]: subtotal %s does not divide by quantity %d", i, l.Subtotal, l.Quantity)
		}
		unit := commerce.NewMoney(l.Subtotal.Minor/int64(l.Quantity), cur)
		var allocs []any
		if l.Discount.Sign() != 0 {
			if lineApp < 0 {
				lineApp = len(apps)
				apps = append(apps, map[string]any{
					"type": "manual", "title": "Discount", "description": "Discount", "value": "0.00", "value_type": "fixed_amount",
					"allocation_method": "across", "target_selection": "all", "target_type": "line_item",
				})
			}
			allocs = append(allocs, map[string]any{"amount": amt(l.Discount), "amount_set": set(l.Discount), "discount_application_index": lineApp})
		}
		lid := subID(l.ID)
		lines = append(lines, map[string]any{
			"id": num(lid), "admin_graphql_api_id": gid("LineItem", lid),
			"product_id": idOrNull(l.ProductID), "variant_id": idOrNull(l.VariantID),
			"sku": nullable(l.SKU), "vendor": nullable(l.Vendor), "title": l.Title, "name": l.Title,
			"quantity": l.Quantity, "current_quantity": l.Quantity, "fulfillable_quantity": l.Quantity,
			"price": amt(unit), "price_set": set(unit),
			"total_discount": amt(zero), "total_discount_set": set(zero),
			"discount_allocations": orEmpty(allocs),
			"gift_card":            l.GiftCard, "taxable": !l.GiftCard, "requires_shipping": !l.GiftCard,
			"grams": 0, "properties": []any{}, "tax_lines": []any{}, "duties": []any{}, "fulfillment_status": nil,
		})
		sub = sub.Add(l.Net())
		merch = merch.Add(l.Subtotal)
		discounts = discounts.Add(l.Discount)
	}
	var codes []any
	for _, c := range o.Codes {
		codes = append(codes, map[string]any{"code": c.Code, "amount": amt(c.Amount), "type": "fixed_amount"})
	}
	var shipping []any
	if o.Shipping.Sign() != 0 {
		sid := subID(o.ID + "-shipping")
		shipping = append(shipping, map[string]any{
			"id": num(sid), "title": "Standard", "code": "Standard", "source": "shopify",
			"price": amt(o.Shipping), "price_set": set(o.Shipping),
			"discounted_price": amt(o.Shipping), "discounted_price_set": set(o.Shipping),
			"discount_allocations": []any{}, "tax_lines": []any{},
		})
	}
	var refunds []any
	for i, rf := range o.Refunds {
		rid := subID(rf.ID)
		var rls []any
		for j, rl := range rf.Lines {
			rls = append(rls, map[string]any{
				"id": num(subID(fmt.Sprintf("%s-%d", rf.ID, j))), "line_item_id": num(subID(rl.LineID)), "quantity": rl.Quantity,
				"restock_type": "no_restock", "location_id": nil,
				"subtotal": amt(rl.Amount), "subtotal_set": set(rl.Amount), "total_tax": amt(zero), "total_tax_set": set(zero),
			})
		}
		var adjs []any
		if rf.Shipping.Sign() != 0 {
			adjs = append(adjs, map[string]any{
				"id": num(subID(rf.ID + "-shipping")), "order_id": num(id), "refund_id": num(rid), "kind": "shipping_refund",
				"reason": "Shipping refund", "amount": amt(rf.Shipping.Neg()), "amount_set": set(rf.Shipping.Neg()),
				"tax_amount": amt(zero), "tax_amount_set": set(zero),
			})
		}
		created := rf.CreatedAt
		if created.IsZero() {
			created = o.UpdatedAt
		}
		refunds = append(refunds, map[string]any{
			"id": num(rid), "order_id": num(id), "created_at": s.fmtTime(created), "processed_at": s.fmtTime(created),
			"note": nullable(rf.Note), "restock": false, "user_id": nil, "admin_graphql_api_id": gid("Refund", rid),
			"refund_line_items": orEmpty(rls), "order_adjustments": orEmpty(adjs), "duties": []any{},
			"transactions": []any{map[string]any{
				"id": num(subID(fmt.Sprintf("%s-tx-%d", rf.ID, i))), "order_id": num(id), "kind": "refund", "status": "success",
				"amount": amt(rf.Amount), "currency": cur, "gateway": "manual", "created_at": s.fmtTime(created),
				"test": o.Test, "parent_id": nil, "message": nil,
			}},
		})
	}
	var cancelledAt, cancelReason, closedAt any
	if o.Cancelled() {
		cancelledAt, cancelReason = s.fmtTime(o.CancelledAt), "other"
	}
	if o.Cancelled() || o.State == commerce.StateRefunded {
		closedAt = s.fmtTime(o.UpdatedAt)
	}
	name := o.Number
	if name == "" {
		name = "#" + o.ID
	}
	orderNumber, _ := strconv.Atoi(strings.TrimLeft(name, "#"))
	processed := o.ProcessedAt
	if processed.IsZero() {
		processed = o.CreatedAt
	}
	created := o.CreatedAt
	if created.IsZero() {
		created = o.UpdatedAt
	}
	body := map[string]any{
		"id": num(id), "admin_graphql_api_id": gid("Order", id),
		"name": name, "order_number": orderNumber, "number": orderNumber - 1000,
		"email": o.Email, "contact_email": nullable(o.Email),
		"created_at": s.fmtTime(created), "updated_at": s.fmtTime(o.UpdatedAt), "processed_at": s.fmtTime(processed),
		"cancelled_at": cancelledAt, "cancel_reason": cancelReason, "closed_at": closedAt,
		"financial_status": string(o.State), "fulfillment_status": nil, "confirmed": true,
		"currency": cur, "presentment_currency": cur, "test": o.Test, "tags": joinTags(o.Tags),
		"source_name": "web", "taxes_included": false, "estimated_taxes": false,
		"total_price": amt(o.Total), "total_price_set": set(o.Total),
		"subtotal_price": amt(sub), "subtotal_price_set": set(sub),
		"total_line_items_price": amt(merch), "total_line_items_price_set": set(merch),
		"total_discounts": amt(discounts), "total_discounts_set": set(discounts),
		"total_tax": amt(o.Tax), "total_tax_set": set(o.Tax),
		"total_shipping_price_set":  set(o.Shipping),
		"total_tip_received":        amt(o.Tip),
		"original_total_duties_set": nil, "current_total_duties_set": nil,
		"line_items": orEmpty(lines), "shipping_lines": orEmpty(shipping), "refunds": orEmpty(refunds),
		"discount_codes": orEmpty(codes), "discount_applications": orEmpty(apps),
		"tax_lines": []any{}, "note": nil, "note_attributes": []any{},
	}
	if o.Duties.Sign() != 0 {
		body["original_total_duties_set"] = set(o.Duties)
		body["current_total_duties_set"] = set(o.Duties)
	}
	if o.CustomerID != "" {
		cid, ok := restID(o.CustomerID)
		if !ok {
			return nil, fmt.Errorf("customer id %q: not a whole number", o.CustomerID)
		}
		body["customer"] = map[string]any{"id": num(cid), "admin_graphql_api_id": gid("Customer", cid)}
	}
	if a := o.ShippingAddress; a != nil {
		body["shipping_address"] = map[string]any{
			"address1": nullable(a.Address1), "address2": nullable(a.Address2), "city": nullable(a.City),
			"zip": nullable(a.Zip), "country": nullable(a.Country), "country_code": nullable(a.Country),
		}
	}
	return body, nil
}

func idOrNull(s string) any {
	if n, ok := restID(s); ok {
		return num(n)
	}
	if s == "" {
		return nil
	}
	return num(subID(s))
}

func orEmpty(xs []any) []any {
	if xs == nil {
		return []any{}
	}
	return xs
}

// metafield is a customer metafield.
type metafield struct {
	id                   uint64
	namespace, key, typ  string
	value                string
	createdAt, updatedAt time.Time
}

// priceRule is a REST price rule and its codes.
type priceRule struct {
	id    uint64
	body  map[string]any
	codes []uint64
}

// discountCode is a REST discount code.
type discountCode struct {
	id, ruleID           uint64
	code                 string
	createdAt, updatedAt time.Time
}

// PriceRule is a price rule as a test reads it back.
type PriceRule struct {
	ID                      string
	Title                   string
	ValueType               string
	Value                   string
	CustomerSelection       string
	PrerequisiteCustomerIDs []string
	TargetType              string
	TargetSelection         string
	AllocationMethod        string
	OncePerCustomer         bool
	// UsageLimit is zero for no limit.
	UsageLimit int
	StartsAt   time.Time
	EndsAt     time.Time
	// MinimumSubtotal is the prerequisite subtotal, "" for none.
	MinimumSubtotal string
	// Codes are the rule's discount codes.
	Codes []string
}

// PriceRules returns the shop's price rules, by id.
func (s *Server) PriceRules() []PriceRule {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PriceRule
	for _, id := range slices.Sorted(maps.Keys(s.rules)) {
		r := s.rules[id]
		b := r.body
		str := func(k string) string { v, _ := b[k].(string); return v }
		pr := PriceRule{
			ID: strconv.FormatUint(id, 10), Title: str("title"), ValueType: str("value_type"), Value: str("value"),
			CustomerSelection: str("customer_selection"), TargetType: str("target_type"),
			TargetSelection: str("target_selection"), AllocationMethod: str("allocation_method"),
		}
		pr.OncePerCustomer, _ = b["once_per_customer"].(bool)
		if n, ok := b["usage_limit"].(json.Number); ok {
			v, _ := n.Int64()
			pr.UsageLimit = int(v)
		}
		pr.StartsAt, _ = timeOf(b["starts_at"])
		pr.EndsAt, _ = timeOf(b["ends_at"])
		if ids, ok := b["prerequisite_customer_ids"].([]any); ok {
			for _, v := range ids {
				if n, ok := uintOf(v); ok {
					pr.PrerequisiteCustomerIDs = append(pr.PrerequisiteCustomerIDs, strconv.FormatUint(n, 10))
				}
			}
		}
		if rng, ok := b["prerequisite_subtotal_range"].(map[string]any); ok {
			pr.MinimumSubtotal, _ = rng["greater_than_or_equal_to"].(string)
		}
		for _, cid := range r.codes {
			pr.Codes = append(pr.Codes, s.codes[cid].code)
		}
		out = append(out, pr)
	}
	return out
}

// DiscountCreations returns how many times the API created the code,
// compared without regard to case.
func (s *Server) DiscountCreations(code string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creations[strings.ToLower(code)]
}

// subscription is a webhook subscription.
type subscription struct {
	id                   uint64
	topic, address       string
	format, apiVersion   string
	createdAt, updatedAt time.Time
	failures             int
}

// Subscription is a webhook subscription as a test reads it back.
type Subscription struct {
	ID      string
	Topic   string
	Address string
	Format  string
	// Failures counts consecutive failed deliveries.
	Failures int
}

// Subscriptions returns the webhook subscriptions, by id.
func (s *Server) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Subscription
	for _, id := range slices.Sorted(maps.Keys(s.subs)) {
		w := s.subs[id]
		out = append(out, Subscription{ID: strconv.FormatUint(id, 10), Topic: w.topic, Address: w.address, Format: w.format, Failures: w.failures})
	}
	return out
}

// DeleteSubscription removes a webhook subscription, as Shopify does after
// repeated failed deliveries or a merchant in the admin; it reports
// whether there was one.
func (s *Server) DeleteSubscription(id string) bool {
	n, _ := restID(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.subs[n]
	delete(s.subs, n)
	return ok
}

// errNoResource is wrapped when a webhook names a record the shop lacks.
var errNoResource = connectors.ErrNotFound
