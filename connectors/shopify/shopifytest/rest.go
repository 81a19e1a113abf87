package shopifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Pagination limits of the REST lists.
const (
	defaultLimit = 50
	maxLimit     = 250
)

// listFilter is what a list request selects; a page_info carries it, since
// a page_info request may not repeat it.
type listFilter struct {
	Kind       string    `json:"k"`
	Status     string    `json:"s,omitempty"`
	UpdatedMin time.Time `json:"umin,omitzero"`
	UpdatedMax time.Time `json:"umax,omitzero"`
	CreatedMin time.Time `json:"cmin,omitzero"`
	CreatedMax time.Time `json:"cmax,omitzero"`
	SinceID    uint64    `json:"sid,omitempty"`
	IDs        []uint64  `json:"ids,omitempty"`
	Field      string    `json:"of"` // id, updated_at, created_at
	Desc       bool      `json:"od,omitempty"`
}

// pageCursor is a page_info: the filter, the direction, and the record the
// page starts after (next) or ends before (previous).
type pageCursor struct {
	F   listFilter `json:"f"`
	Dir string     `json:"d"`
	T   time.Time  `json:"t"`
	ID  uint64     `json:"i"`
}

func (s *Server) encodePageInfo(c pageCursor) string {
	b, _ := json.Marshal(c)
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

func (s *Server) decodePageInfo(pi, kind string) (pageCursor, error) {
	enc, sig, ok := strings.Cut(pi, ".")
	b, err1 := base64.RawURLEncoding.DecodeString(enc)
	got, err2 := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err1 != nil || err2 != nil {
		return pageCursor{}, errors.New("malformed")
	}
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	if !hmac.Equal(got, m.Sum(nil)[:12]) {
		return pageCursor{}, errors.New("not issued here")
	}
	var c pageCursor
	if err := json.Unmarshal(b, &c); err != nil || c.F.Kind != kind || (c.Dir != "next" && c.Dir != "prev") {
		return pageCursor{}, errors.New("not for this list")
	}
	return c, nil
}

// sortKey returns the value a record sorts by.
func (f *listFilter) sortKey(r *record) time.Time {
	switch f.Field {
	case "updated_at":
		return r.updatedAt
	case "created_at":
		return r.createdAt
	}
	return time.Time{}
}

// less orders records as the filter asks, ties by id.
func (f *listFilter) cmp(a, b *record) int {
	c := f.sortKey(a).Compare(f.sortKey(b))
	if c == 0 {
		c = cmpUint(a.id, b.id)
	}
	if f.Desc {
		return -c
	}
	return c
}

func (f *listFilter) cmpKey(r *record, t time.Time, id uint64) int {
	c := f.sortKey(r).Compare(t)
	if c == 0 {
		c = cmpUint(r.id, id)
	}
	if f.Desc {
		return -c
	}
	return c
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// match reports whether the filter selects the record.
func (f *listFilter) match(r *record) bool {
	switch f.Status {
	case "open":
		if r.cancelled || r.closed {
			return false
		}
	case "closed":
		if !r.closed {
			return false
		}
	case "cancelled":
		if !r.cancelled {
			return false
		}
	}
	between := func(t, lo, hi time.Time) bool {
		return (lo.IsZero() || !t.Before(lo)) && (hi.IsZero() || !t.After(hi))
	}
	if !between(r.updatedAt, f.UpdatedMin, f.UpdatedMax) || !between(r.createdAt, f.CreatedMin, f.CreatedMax) {
		return false
	}
	if f.SinceID != 0 && r.id <= f.SinceID {
		return false
	}
	if len(f.IDs) > 0 && !slices.Contains(f.IDs, r.id) {
		return false
	}
	return true
}

// paramError is a 400 about one query parameter.
func paramError(name, msg string) *answer {
	return errorAnswer(http.StatusBadRequest, map[string]string{name: msg})
}

// parseFilter reads a first page's filters.
func parseFilter(kind string, q url.Values) (listFilter, *answer) {
	f := listFilter{Kind: kind, Field: "id"}
	if kind == "orders" {
		f.Status = "open"
		if v := q.Get("status"); v != "" {
			if !slices.Contains([]string{"open", "closed", "cancelled", "any"}, v) {
				return f, paramError("status", "status must be one of open, closed, cancelled, any")
			}
			f.Status = v
		}
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{
		{"updated_at_min", &f.UpdatedMin}, {"updated_at_max", &f.UpdatedMax},
		{"created_at_min", &f.CreatedMin}, {"created_at_max", &f.CreatedMax},
	} {
		if v := q.Get(t.name); v != "" {
			tv, err := parseTimeParam(v)
			if err != nil {
				return f, paramError(t.name, t.name+" is not a valid date")
			}
			*t.dst = tv
		}
	}
	if v := q.Get("since_id"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return f, paramError("since_id", "since_id must be an integer")
		}
		f.SinceID = n
	}
	if v := q.Get("ids"); v != "" {
		for p := range strings.SplitSeq(v, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 64)
			if err != nil {
				return f, paramError("ids", "ids must be integers")
			}
			f.IDs = append(f.IDs, n)
		}
	}
	if v := q.Get("order"); v != "" {
		field, dir, _ := strings.Cut(strings.TrimSpace(v), " ")
		dir = strings.ToLower(strings.TrimSpace(dir))
		if !slices.Contains([]string{"id", "updated_at", "created_at"}, field) || (dir != "" && dir != "asc" && dir != "desc") {
			return f, paramError("order", "order must be id, created_at or updated_at, asc or desc")
		}
		f.Field, f.Desc = field, dir == "desc"
	}
	return f, nil
}

// parseTimeParam reads an ISO 8601 time, or a date (midnight in UTC).
func parseTimeParam(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", v)
}

// list serves a paginated list of records of kind.
func (s *Server) list(c *call, kind string, all map[uint64]*record, visible func(*record) bool, view func(*record) map[string]any) *answer {
	q := c.query
	limit := defaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return paramError("limit", "limit must be an integer greater than 0")
		}
		limit = min(n, maxLimit)
	}
	var cur pageCursor
	if pi := q.Get("page_info"); pi != "" {
		for k := range q {
			if k != "page_info" && k != "limit" && k != "fields" {
				return paramError(k, k+" cannot be passed when page_info is present. See https://help.shopify.com/api/guides/paginated-rest-results for more information.")
			}
		}
		var err error
		if cur, err = s.decodePageInfo(pi, kind); err != nil {
			return paramError("page_info", "Invalid value.")
		}
	} else {
		f, bad := parseFilter(kind, q)
		if bad != nil {
			return bad
		}
		cur.F = f
	}
	f := cur.F
	var recs []*record
	for _, r := range all {
		if f.match(r) && (visible == nil || visible(r)) {
			recs = append(recs, r)
		}
	}
	slices.SortFunc(recs, f.cmp)
	lo, hi := 0, min(limit, len(recs))
	switch cur.Dir {
	case "next":
		lo, _ = slices.BinarySearchFunc(recs, 0, func(r *record, _ int) int {
			if f.cmpKey(r, cur.T, cur.ID) <= 0 {
				return -1
			}
			return 1
		})
		hi = min(lo+limit, len(recs))
	case "prev":
		hi, _ = slices.BinarySearchFunc(recs, 0, func(r *record, _ int) int {
			if f.cmpKey(r, cur.T, cur.ID) < 0 {
				return -1
			}
			return 1
		})
		lo = max(0, hi-limit)
	}
	page := recs[lo:hi]
	fields := q.Get("fields")
	items := make([]any, 0, len(page))
	for _, r := range page {
		items = append(items, pick(view(r), fields))
	}
	a := jsonAnswer(http.StatusOK, map[string]any{kind: items})
	var links []string
	link := func(rel string, r *record) {
		pc := pageCursor{F: f, Dir: rel, T: f.sortKey(r), ID: r.id}
		if rel == "previous" {
			pc.Dir = "prev"
		}
		u := fmt.Sprintf("%s://%s%s?limit=%d&page_info=%s", scheme(c.r), c.r.Host, c.r.URL.Path, limit, s.encodePageInfo(pc))
		if fields != "" {
			// Shopify echoes fields with its commas as they are, which
			// breaks clients that split the header on commas.
			u += "&fields=" + fields
		}
		links = append(links, fmt.Sprintf("<%s>; rel=\"%s\"", u, rel))
	}
	if len(page) > 0 {
		if lo > 0 {
			link("previous", page[0])
		}
		if hi < len(recs) {
			link("next", page[len(page)-1])
		}
	}
	if len(links) > 0 {
		a.header.Set("Link", strings.Join(links, ", "))
	}
	return a
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// pick keeps the fields a fields= parameter names; all for none.
func pick(m map[string]any, fields string) map[string]any {
	if fields == "" {
		return m
	}
	out := map[string]any{}
	for f := range strings.SplitSeq(fields, ",") {
		if v, ok := m[strings.TrimSpace(f)]; ok {
			out[strings.TrimSpace(f)] = v
		}
	}
	return out
}

// scopeError is Shopify's answer to a call the token's scopes do not cover.
func scopeError(scope string) *answer {
	return errorAnswer(http.StatusForbidden, "[API] This action requires merchant approval for "+scope+" scope.")
}

// orderVisible hides orders older than 60 days without read_all_orders;
// the caller holds s.mu.
func (s *Server) orderVisible(r *record) bool {
	return s.hasScope("read_all_orders") || !r.createdAt.Before(s.opts.Now().AddDate(0, 0, -60))
}

func (s *Server) listOrders(c *call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasScope("read_orders") {
		return scopeError("read_orders")
	}
	return s.list(c, "orders", s.orders, s.orderVisible, s.orderView)
}

func (s *Server) getOrder(c *call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasScope("read_orders") {
		return scopeError("read_orders")
	}
	id, _ := restID(c.path[1])
	r, ok := s.orders[id]
	if !ok || !s.orderVisible(r) {
		return notFound()
	}
	return jsonAnswer(http.StatusOK, map[string]any{"order": pick(s.orderView(r), c.query.Get("fields"))})
}

func (s *Server) listCustomers(c *call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasScope("read_customers") {
		return scopeError("read_customers")
	}
	return s.list(c, "customers", s.customers, nil, func(r *record) map[string]any { return clone(r.body).(map[string]any) })
}

func (s *Server) getCustomer(c *call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasScope("read_customers") {
		return scopeError("read_customers")
	}
	id, _ := restID(c.path[1])
	r, ok := s.customers[id]
	if !ok {
		return notFound()
	}
	return jsonAnswer(http.StatusOK, map[string]any{"customer": pick(clone(r.body).(map[string]any), c.query.Get("fields"))})
}

func (s *Server) shopJSON() map[string]any {
	return map[string]any{
		"id": num(s.shopID), "name": s.opts.Shop, "domain": s.domain, "myshopify_domain": s.domain,
		"currency": s.opts.Currency, "enabled_presentment_currencies": []any{s.opts.Currency},
		"iana_timezone": s.opts.Location.String(), "plan_name": "basic", "plan_display_name": "Basic",
		"money_format": "${{amount}}", "country_code": "US", "created_at": s.fmtTime(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)),
	}
}

func (s *Server) getShop(c *call) *answer {
	return jsonAnswer(http.StatusOK, map[string]any{"shop": pick(s.shopJSON(), c.query.Get("fields"))})
}

func (s *Server) accessScopes(*call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []any
	for _, sc := range slices.Sorted(maps.Keys(s.scopes)) {
		out = append(out, map[string]string{"handle": sc})
	}
	return jsonAnswer(http.StatusOK, map[string]any{"access_scopes": orEmpty(out)})
}

func (s *Server) discountJSON(d *discountCode) map[string]any {
	return map[string]any{
		"id": num(d.id), "price_rule_id": num(d.ruleID), "code": d.code, "usage_count": 0,
		"created_at": s.fmtTime(d.createdAt), "updated_at": s.fmtTime(d.updatedAt),
	}
}

// lookupDiscount answers with a redirect to the code, as Shopify does.
func (s *Server) lookupDiscount(c *call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasScope("read_price_rules", "read_discounts") {
		return scopeError("read_price_rules")
	}
	code := c.query.Get("code")
	id, ok := s.codeByFold[strings.ToLower(code)]
	if code == "" || !ok {
		return notFound()
	}
	d := s.codes[id]
	loc := fmt.Sprintf("/admin/api/%s/price_rules/%d/discount_codes/%d.json", c.version, d.ruleID, d.id)
	a := &answer{status: http.StatusSeeOther, header: http.Header{}, body: []byte(`<html><body>You are being <a href="` + loc + `">redirected</a>.</body></html>`)}
	a.header.Set("Location", loc)
	a.header.Set("Content-Type", "text/html; charset=utf-8")
	return a
}

func (s *Server) getDiscountCode(c *call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasScope("read_price_rules", "read_discounts") {
		return scopeError("read_price_rules")
	}
	rid, _ := restID(c.path[1])
	cid, _ := restID(c.path[3])
	d, ok := s.codes[cid]
	if !ok || d.ruleID != rid {
		return notFound()
	}
	return jsonAnswer(http.StatusOK, map[string]any{"discount_code": s.discountJSON(d)})
}

// listPriceRules serves the first page of price rules by id, filtered by
// created_at_min and since_id; the fake gives no Link to further pages.
func (s *Server) listPriceRules(c *call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasScope("read_price_rules", "read_discounts") {
		return scopeError("read_price_rules")
	}
	limit := defaultLimit
	if v := c.query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return paramError("limit", "limit must be an integer greater than 0")
		}
		limit = min(n, maxLimit)
	}
	var since time.Time
	if v := c.query.Get("created_at_min"); v != "" {
		t, err := parseTimeParam(v)
		if err != nil {
			return paramError("created_at_min", "created_at_min is not a valid date")
		}
		since = t
	}
	sinceID, _ := strconv.ParseUint(c.query.Get("since_id"), 10, 64)
	out := []any{}
	for _, id := range slices.Sorted(maps.Keys(s.rules)) {
		r := s.rules[id]
		created, _ := timeOf(r.body["created_at"])
		if id <= sinceID || created.Before(since) || len(out) == limit {
			continue
		}
		out = append(out, clone(r.body))
	}
	return jsonAnswer(http.StatusOK, map[string]any{"price_rules": out})
}

func (s *Server) getPriceRule(c *call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasScope("read_price_rules", "read_discounts") {
		return scopeError("read_price_rules")
	}
	id, _ := restID(c.path[1])
	r, ok := s.rules[id]
	if !ok {
		return notFound()
	}
	return jsonAnswer(http.StatusOK, map[string]any{"price_rule": clone(r.body)})
}

func (s *Server) deletePriceRule(c *call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasScope("write_price_rules", "write_discounts") {
		return scopeError("write_price_rules")
	}
	id, _ := restID(c.path[1])
	r, ok := s.rules[id]
	if !ok {
		return notFound()
	}
	for _, cid := range r.codes {
		delete(s.codeByFold, strings.ToLower(s.codes[cid].code))
		delete(s.codes, cid)
	}
	delete(s.rules, id)
	s.record(OpDeletePriceRule, "price_rule/"+strconv.FormatUint(id, 10), "")
	return &answer{status: http.StatusNoContent, header: http.Header{}}
}

// createPriceRule validates as Shopify does what loyaltyd sends.
func (s *Server) createPriceRule(c *call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasScope("write_price_rules", "write_discounts") {
		return scopeError("write_price_rules")
	}
	env, err := decodeObject(c.body)
	in, _ := env["price_rule"].(map[string]any)
	if err != nil || in == nil {
		return errorAnswer(http.StatusBadRequest, map[string]any{"price_rule": "Required parameter missing or invalid"})
	}
	errs := map[string][]string{}
	bad := func(field, msg string) { errs[field] = append(errs[field], msg) }
	str := func(k string) string { v, _ := in[k].(string); return v }
	oneOf := func(k string, allowed ...string) {
		if !slices.Contains(allowed, str(k)) {
			bad(k, "is not included in the list")
		}
	}
	if str("title") == "" {
		bad("title", "can't be blank")
	}
	oneOf("value_type", "fixed_amount", "percentage")
	oneOf("customer_selection", "all", "prerequisite")
	oneOf("target_type", "line_item", "shipping_line")
	oneOf("target_selection", "all", "entitled")
	oneOf("allocation_method", "each", "across")
	value, err := strconv.ParseFloat(fmt.Sprint(in["value"]), 64)
	switch {
	case err != nil:
		bad("value", "is not a number")
	case value > 0:
		bad("value", "must be less than or equal to 0")
	case str("value_type") == "percentage" && value < -100:
		bad("value", "must be greater than or equal to -100")
	}
	starts, err := timeOf(in["starts_at"])
	if err != nil || starts.IsZero() {
		bad("starts_at", "can't be blank")
	}
	if ends, err := timeOf(in["ends_at"]); err != nil {
		bad("ends_at", "is invalid")
	} else if !ends.IsZero() && !ends.After(starts) {
		bad("ends_at", "must be after starts_at")
	}
	var customers []any
	if ids, ok := in["prerequisite_customer_ids"].([]any); ok {
		customers = ids
	}
	if str("customer_selection") == "prerequisite" {
		if len(customers) == 0 {
			bad("customer_selection", "must have at least one prerequisite customer")
		}
		for _, v := range customers {
			if id, ok := uintOf(v); !ok || s.customers[id] == nil {
				bad("prerequisite_customer_ids", "must exist")
			}
		}
	}
	if v, ok := in["usage_limit"]; ok && v != nil {
		if n, ok := uintOf(v); !ok || n == 0 {
			bad("usage_limit", "must be greater than 0")
		}
	}
	if len(errs) > 0 {
		return errorAnswer(http.StatusUnprocessableEntity, errs)
	}
	id := s.newID()
	now := s.opts.Now()
	body := clone(in).(map[string]any)
	body["id"] = num(id)
	body["admin_graphql_api_id"] = gid("PriceRule", id)
	body["created_at"], body["updated_at"] = s.fmtTime(now), s.fmtTime(now)
	body["value"] = strconv.FormatFloat(value, 'f', 1, 64)
	body["starts_at"] = s.fmtTime(starts)
	if ends, _ := timeOf(in["ends_at"]); !ends.IsZero() {
		body["ends_at"] = s.fmtTime(ends)
	} else {
		body["ends_at"] = nil
	}
	for _, k := range []string{"entitled_product_ids", "entitled_variant_ids", "entitled_collection_ids", "entitled_country_ids",
		"prerequisite_product_ids", "prerequisite_variant_ids", "prerequisite_collection_ids", "customer_segment_prerequisite_ids",
		"prerequisite_customer_ids"} {
		if body[k] == nil {
			body[k] = []any{}
		}
	}
	if _, ok := body["usage_limit"]; !ok {
		body["usage_limit"] = nil
	}
	s.rules[id] = &priceRule{id: id, body: body}
	s.record(OpCreatePriceRule, "price_rule/"+strconv.FormatUint(id, 10), str("title"))
	return jsonAnswer(http.StatusCreated, map[string]any{"price_rule": body})
}

func (s *Server) createDiscountCode(c *call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasScope("write_price_rules", "write_discounts") {
		return scopeError("write_price_rules")
	}
	rid, _ := restID(c.path[1])
	rule, ok := s.rules[rid]
	if !ok {
		return notFound()
	}
	env, err := decodeObject(c.body)
	in, _ := env["discount_code"].(map[string]any)
	if err != nil || in == nil {
		return errorAnswer(http.StatusBadRequest, map[string]any{"discount_code": "Required parameter missing or invalid"})
	}
	code, _ := in["code"].(string)
	code = strings.TrimSpace(code)
	switch {
	case code == "":
		return errorAnswer(http.StatusUnprocessableEntity, map[string][]string{"code": {"can't be blank"}})
	case len(code) > 255:
		return errorAnswer(http.StatusUnprocessableEntity, map[string][]string{"code": {"is too long (maximum is 255 characters)"}})
	}
	fold := strings.ToLower(code)
	if _, taken := s.codeByFold[fold]; taken {
		return errorAnswer(http.StatusUnprocessableEntity, map[string][]string{"code": {"must be unique. Please try a different code."}})
	}
	now := s.opts.Now()
	d := &discountCode{id: s.newID(), ruleID: rid, code: code, createdAt: now, updatedAt: now}
	s.codes[d.id] = d
	s.codeByFold[fold] = d.id
	s.creations[fold]++
	rule.codes = append(rule.codes, d.id)
	s.record(OpCreateDiscountCode, "price_rule/"+strconv.FormatUint(rid, 10), code)
	return jsonAnswer(http.StatusCreated, map[string]any{"discount_code": s.discountJSON(d)})
}

// webhookTopics are the topics a subscription may name through the API.
var webhookTopics = []string{
	"app/uninstalled", "carts/create", "carts/update", "checkouts/create", "checkouts/update",
	"customers/create", "customers/delete", "customers/disable", "customers/enable", "customers/update",
	"orders/cancelled", "orders/create", "orders/delete", "orders/edited", "orders/fulfilled", "orders/paid",
	"orders/partially_fulfilled", "orders/updated", "products/create", "products/delete", "products/update",
	"refunds/create", "shop/update",
}

func (s *Server) webhookJSON(w *subscription) map[string]any {
	return map[string]any{
		"id": num(w.id), "address": w.address, "topic": w.topic, "format": w.format,
		"created_at": s.fmtTime(w.createdAt), "updated_at": s.fmtTime(w.updatedAt),
		"fields": []any{}, "metafield_namespaces": []any{}, "private_metafield_namespaces": []any{},
		"api_version": w.apiVersion,
	}
}

func (s *Server) listWebhooks(c *call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit := defaultLimit
	if n, err := strconv.Atoi(c.query.Get("limit")); err == nil && n > 0 {
		limit = min(n, maxLimit)
	}
	var out []any
	for _, id := range slices.Sorted(maps.Keys(s.subs)) {
		w := s.subs[id]
		if a := c.query.Get("address"); a != "" && a != w.address {
			continue
		}
		if t := c.query.Get("topic"); t != "" && t != w.topic {
			continue
		}
		if len(out) < limit {
			out = append(out, s.webhookJSON(w))
		}
	}
	return jsonAnswer(http.StatusOK, map[string]any{"webhooks": orEmpty(out)})
}

func (s *Server) createWebhook(c *call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	env, err := decodeObject(c.body)
	in, _ := env["webhook"].(map[string]any)
	if err != nil || in == nil {
		return errorAnswer(http.StatusBadRequest, map[string]any{"webhook": "Required parameter missing or invalid"})
	}
	topic, _ := in["topic"].(string)
	address, _ := in["address"].(string)
	format, _ := in["format"].(string)
	if format == "" {
		format = "json"
	}
	errs := map[string][]string{}
	if !slices.Contains(webhookTopics, topic) {
		errs["topic"] = append(errs["topic"], "Invalid topic specified. Verify the topic and the API version.")
	}
	if u, err := url.Parse(address); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs["address"] = append(errs["address"], "is invalid")
	}
	for _, w := range s.subs {
		if w.topic == topic && w.address == address {
			errs["address"] = append(errs["address"], "for this topic has already been taken")
		}
	}
	if len(errs) > 0 {
		return errorAnswer(http.StatusUnprocessableEntity, errs)
	}
	now := s.opts.Now()
	w := &subscription{id: s.newID(), topic: topic, address: address, format: format, apiVersion: c.version, createdAt: now, updatedAt: now}
	s.subs[w.id] = w
	s.record(OpCreateWebhook, "webhook/"+strconv.FormatUint(w.id, 10), topic)
	return jsonAnswer(http.StatusCreated, map[string]any{"webhook": s.webhookJSON(w)})
}

func (s *Server) deleteWebhook(c *call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := restID(c.path[1])
	if _, ok := s.subs[id]; !ok {
		return notFound()
	}
	delete(s.subs, id)
	s.record(OpDeleteWebhook, "webhook/"+c.path[1], "")
	return jsonAnswer(http.StatusOK, map[string]any{})
}
