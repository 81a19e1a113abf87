package woocommerce

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

// Reading orders.
//
// WooCommerce pages by offset (page=N), which skips a record whenever one
// before it changes during the read: the changed record moves to the end
// and everything after it shifts one place forward. The connector therefore
// pages by key instead. Each request asks for the orders modified after a
// second (modified_after is exclusive and has one-second resolution) in
// ascending order of modification, page 1. Of a full page it returns only
// the orders of the seconds before the page's last one, whose orders may
// go on past the page, and asks next from that last second on: one second
// of overlap, and nothing repeated, because the last second is not
// returned until it is read whole. Only when a single second holds a full
// page does it fall back to page numbers, within that second alone (ordered
// by id): past seconds gain no orders, and an order that leaves the second
// (because it changed again) lowers X-WP-Total, which restarts the second
// from page 1 instead of skipping. The Token carries the second read up to,
// or the second, page and total of a fallback, so a cursor resumes after a
// restart exactly where it was.

// token is a cursor's Token, decoded.
type token struct {
	// V is the format's version; a token of another version is refused
	// with ErrBadCursor, and sync reads the window again.
	V int `json:"v"`
	// Stream is "orders" or "customers".
	Stream string `json:"s"`
	// After (orders): every order modified up to this second was returned.
	After time.Time `json:"a,omitzero"`
	// Second, Page and Total (orders): reading the orders of one second by
	// page; Total is X-WP-Total when the reading began.
	Second time.Time `json:"sec,omitzero"`
	Page   int       `json:"p,omitempty"`
	Total  int       `json:"t,omitempty"`
	// At and ID (customers): the last key returned.
	At time.Time `json:"at,omitzero"`
	ID string    `json:"id,omitempty"`
}

const tokenVersion = 1

const (
	streamOrders    = "orders"
	streamCustomers = "customers"
)

func encodeToken(t token) string {
	t.V = tokenVersion
	b, err := json.Marshal(t)
	if err != nil {
		// A struct of times, ints and strings always encodes.
		panic("woocommerce: encode cursor token: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken decodes a token of stream. Tokens come back from storage
// that another version of loyaltyd may have written, so anything
// unexpected is refused, never guessed at.
func decodeToken(stream, s string) (token, error) {
	if s == "" {
		return token{Stream: stream}, nil
	}
	bad := func(why string) error {
		// The token is not shown: a customer token holds a guest's
		// e-mail, and errors reach log lines.
		return fmt.Errorf("invalid cursor token (%d bytes): %s: %w", len(s), why, connectors.ErrBadCursor)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return token{}, bad("not base64url")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var t token
	if err := dec.Decode(&t); err != nil || dec.More() {
		return token{}, bad("not a woocommerce cursor")
	}
	switch {
	case t.V != tokenVersion:
		return token{}, bad(fmt.Sprintf("version %d, want %d", t.V, tokenVersion))
	case t.Stream != stream:
		return token{}, bad(fmt.Sprintf("a %q cursor, not a %s one", t.Stream, stream))
	}
	switch stream {
	case streamOrders:
		if t.After.IsZero() == t.Second.IsZero() {
			return token{}, bad("wants either a second read up to or a second being read")
		}
		if !t.Second.IsZero() && (t.Page < 1 || t.Total < 0) {
			return token{}, bad("bad page")
		}
		if !t.At.IsZero() || t.ID != "" {
			return token{}, bad("customer fields in an order cursor")
		}
	case streamCustomers:
		if t.At.IsZero() || t.ID == "" || !t.After.IsZero() || !t.Second.IsZero() || t.Page != 0 || t.Total != 0 {
			return token{}, bad("wants the last key returned")
		}
	}
	return t, nil
}

// second truncates t to the second, the resolution of WooCommerce dates.
func second(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// ceilSecond returns the first whole second at or after t.
func ceilSecond(t time.Time) time.Time {
	s := second(t)
	if s.Before(t) {
		s = s.Add(time.Second)
	}
	return s
}

// rawOrder is an order as read, with the fields paging needs.
type rawOrder struct {
	raw      json.RawMessage
	wire     wireOrder
	modified time.Time
}

// orderPage is one step of reading orders: the orders to return, and
// where to go on.
type orderPage struct {
	orders []rawOrder
	next   token
	done   bool
}

// orderQuery is what a read of orders asks for.
type orderQuery struct {
	after, before time.Time // exclusive bounds, whole seconds; before may be zero
	orderby       string
	page          int
	fields        string // _fields, to read less
}

// listOrders makes one request of GET /orders.
func (c *Connector) listOrders(ctx context.Context, q orderQuery) ([]rawOrder, int, int, bool, error) {
	v := url.Values{
		"modified_after": {formatWireTime(q.after)},
		"dates_are_gmt":  {"true"},
		"orderby":        {q.orderby},
		"order":          {"asc"},
		"per_page":       {strconv.Itoa(c.set.pageSize)},
		"page":           {strconv.Itoa(q.page)},
	}
	if !q.before.IsZero() {
		v.Set("modified_before", formatWireTime(q.before))
	}
	if q.fields != "" {
		v.Set("_fields", q.fields)
	}
	resp, err := c.api.do(ctx, request{method: "GET", path: "orders", query: v, idempotent: true})
	if err != nil {
		return nil, 0, 0, false, err
	}
	items, err := decodeList(resp.body)
	if err != nil {
		return nil, 0, 0, false, fmt.Errorf("GET orders: %w", err)
	}
	out := make([]rawOrder, 0, len(items))
	for _, it := range items {
		var w wireOrder
		if err := json.Unmarshal(it, &w); err != nil {
			return nil, 0, 0, false, fmt.Errorf("GET orders: decode an order: %w", err)
		}
		if w.ID == 0 {
			return nil, 0, 0, false, errors.New("GET orders: an order without an id")
		}
		if w.DateModifiedGMT.IsZero() {
			return nil, 0, 0, false, fmt.Errorf("GET orders: order %s has no date_modified_gmt", w.ID)
		}
		out = append(out, rawOrder{raw: slices.Clone(it), wire: w, modified: w.DateModifiedGMT.Time})
	}
	pages, total, ok := totalPages(resp.header)
	return out, pages, total, ok, nil
}

// readOrders takes one step through the orders of cur's window from tok:
// see the comment at the top of this file.
func (c *Connector) readOrders(ctx context.Context, cur connectors.Cursor, tok token, fields string) (orderPage, error) {
	// modified_after is exclusive: the second before Since's makes it
	// inclusive of Since's second; records before Since within it are
	// dropped below.
	floor := second(cur.Since).Add(-time.Second)
	var ceil time.Time
	if !cur.Until.IsZero() {
		ceil = ceilSecond(cur.Until)
	}
	inWindow := func(t time.Time) bool {
		return !t.Before(cur.Since) && (cur.Until.IsZero() || t.Before(cur.Until))
	}
	for range 1000 {
		if !tok.Second.IsZero() {
			got, pages, total, ok, err := c.listOrders(ctx, orderQuery{
				after: tok.Second.Add(-time.Second), before: tok.Second.Add(time.Second),
				orderby: "id", page: tok.Page, fields: fields,
			})
			if err != nil {
				return orderPage{}, err
			}
			var keep []rawOrder
			for _, o := range got {
				if second(o.modified).Equal(tok.Second) && inWindow(o.modified) {
					keep = append(keep, o)
				}
			}
			next := tok
			switch {
			case ok && tok.Total != 0 && total != tok.Total:
				// An order left the second while it was read by page:
				// the pages shifted, so read the second again.
				next.Page, next.Total = 1, total
			case ok && tok.Page >= pages, !ok && len(got) < c.set.pageSize:
				next = token{Stream: streamOrders, After: tok.Second}
			default:
				next.Page++
				if ok {
					next.Total = total
				}
			}
			if !next.After.IsZero() && !ceil.IsZero() && !next.After.Add(time.Second).Before(ceil) {
				// The second was the window's last.
				return orderPage{orders: keep, next: next, done: true}, nil
			}
			if len(keep) == 0 {
				tok = next
				continue
			}
			return orderPage{orders: keep, next: next}, nil
		}
		after := floor
		if tok.After.After(after) {
			after = tok.After
		}
		if !ceil.IsZero() && !after.Add(time.Second).Before(ceil) {
			return orderPage{next: token{Stream: streamOrders, After: after}, done: true}, nil
		}
		got, pages, _, ok, err := c.listOrders(ctx, orderQuery{after: after, before: ceil, orderby: "modified", page: 1, fields: fields})
		if err != nil {
			return orderPage{}, err
		}
		more := len(got) >= c.set.pageSize
		if ok {
			more = pages > 1
		}
		var keep []rawOrder
		if !more {
			for _, o := range got {
				if inWindow(o.modified) {
					keep = append(keep, o)
				}
			}
			return orderPage{orders: keep, next: token{Stream: streamOrders, After: after}, done: true}, nil
		}
		if len(got) == 0 {
			return orderPage{}, errors.New("GET orders: an empty page that says more pages follow")
		}
		last := got[0].modified
		for _, o := range got {
			if o.modified.After(last) {
				last = o.modified
			}
		}
		last = second(last)
		for _, o := range got {
			if second(o.modified).Before(last) && inWindow(o.modified) {
				keep = append(keep, o)
			}
		}
		if second(got[0].modified).Equal(last) {
			// A whole page in one second: read that second by page.
			tok = token{Stream: streamOrders, Second: last, Page: 1}
			continue
		}
		next := token{Stream: streamOrders, After: last.Add(-time.Second)}
		if len(keep) == 0 {
			tok = next
			continue
		}
		return orderPage{orders: keep, next: next}, nil
	}
	return orderPage{}, errors.New("GET orders: no progress after 1000 requests")
}

// Orders returns the next page of orders modified in the cursor's window,
// read by key over the modification second (see the comment at the top of
// read.go), so that no order is skipped however the store changes during
// the read. Refund details (lines, dates) are read from each refunded
// order's refunds endpoint. It returns an error wrapping
// connectors.ErrUnauthorized when the key is refused,
// connectors.ErrBadCursor for a token it did not issue, a
// *connectors.RateLimitError when the store keeps answering 429, ctx.Err()
// when ctx ends, and an error naming the order and its status when a status
// is neither built in nor mapped in status_map. On error the page is empty.
func (c *Connector) Orders(ctx context.Context, cur connectors.Cursor) (connectors.Page[commerce.Order], error) {
	fail := func(err error) (connectors.Page[commerce.Order], error) {
		return connectors.Page[commerce.Order]{}, fmt.Errorf("woocommerce: list orders: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	tok, err := decodeToken(streamOrders, cur.Token)
	if err != nil {
		return fail(err)
	}
	pg, err := c.readOrders(ctx, cur, tok, "")
	if err != nil {
		return fail(err)
	}
	orders := make([]commerce.Order, 0, len(pg.orders))
	for _, ro := range pg.orders {
		var refunds []wireRefund
		if len(ro.wire.Refunds) > 0 {
			if refunds, err = c.refunds(ctx, ro.wire.ID); err != nil {
				return fail(err)
			}
		}
		o, err := convertOrder(ro.wire, refunds, c.set.statusMap)
		if err != nil {
			return fail(err)
		}
		o.Raw = ro.raw
		orders = append(orders, o)
	}
	sortOrders(orders)
	next := cur
	next.Token = encodeToken(pg.next)
	return connectors.Page[commerce.Order]{Items: orders, Next: next, Done: pg.done}, nil
}

// refunds reads an order's refunds, with their lines and dates, which the
// order's own refunds list lacks.
func (c *Connector) refunds(ctx context.Context, orderID wireID) ([]wireRefund, error) {
	var all []wireRefund
	for page := 1; ; page++ {
		resp, err := c.api.do(ctx, request{method: "GET", path: "orders/" + orderID.String() + "/refunds",
			query: url.Values{"per_page": {"100"}, "page": {strconv.Itoa(page)}}, idempotent: true})
		if errors.Is(err, connectors.ErrNotFound) {
			// Deleted since it was listed: its own refund totals stand.
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("refunds of order %s: %w", orderID, err)
		}
		var rs []wireRefund
		if err := decodeStrict(resp.body, &rs); err != nil {
			return nil, fmt.Errorf("refunds of order %s: decode: %w", orderID, err)
		}
		all = append(all, rs...)
		pages, _, ok := totalPages(resp.header)
		if (ok && page >= pages) || (!ok && len(rs) < 100) || len(rs) == 0 {
			return all, nil
		}
	}
}

// sortOrders puts orders in the contract's order: ascending (UpdatedAt,
// ID), ids compared as strings. WooCommerce returns equal seconds by
// ascending numeric id, which differs from string order when ids differ in
// length ("99" after "100").
func sortOrders(os []commerce.Order) {
	slices.SortStableFunc(os, func(a, b commerce.Order) int {
		if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// Reading customers.
//
// WooCommerce cannot list customers by modification (modified_after is
// silently ignored on /customers), so the connector scans them all, cheaply
// (ids and dates only, through _fields), at most every
// customer_scan_interval, sorts the keys by (date_modified_gmt, id), and
// reads the page's customers by id. A customer whose date moved since the
// scan is left out of the page: it changed after the scan and comes with a
// later one. The stream is thus the store as of the scan; a window that
// reaches past the scan's start ends there, and sync's next pass, which
// starts from the last time it saw, continues from it. Guests, whom
// WooCommerce keeps no record of, are derived from the orders modified in
// the window: one customer per folded billing e-mail, updated when the
// latest of those orders was.

// custKey is a customer's place in the stream.
type custKey struct {
	at    time.Time
	id    string
	guest *commerce.Customer // nil for a registered customer
}

func compareKey(a, b custKey) int {
	if c := a.at.Compare(b.at); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

// customerScan is a full scan of registered customers.
type customerScan struct {
	began time.Time // on the connector's clock
	keys  []custKey
}

// guestScan is the guests of one window.
type guestScan struct {
	since, until time.Time
	began        time.Time
	keys         []custKey
}

// Customers returns the next page of customers modified in the cursor's
// window, registered and guests together in ascending (UpdatedAt, ID)
// order, by key over the full scan described at the top of this part of
// read.go. Its errors are those of Orders.
func (c *Connector) Customers(ctx context.Context, cur connectors.Cursor) (connectors.Page[commerce.Customer], error) {
	fail := func(err error) (connectors.Page[commerce.Customer], error) {
		return connectors.Page[commerce.Customer]{}, fmt.Errorf("woocommerce: list customers: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	tok, err := decodeToken(streamCustomers, cur.Token)
	if err != nil {
		return fail(err)
	}
	scan, err := c.customerScan(ctx)
	if err != nil {
		return fail(err)
	}
	window := cur
	if window.Until.IsZero() || scan.began.Before(window.Until) {
		window.Until = scan.began
	}
	guests, err := c.guestScan(ctx, window)
	if err != nil {
		return fail(err)
	}
	keys := mergeKeys(scan.keys, guests.keys)
	start := 0
	if tok.ID != "" {
		after := custKey{at: tok.At, id: tok.ID}
		start, _ = slices.BinarySearchFunc(keys, after, compareKey)
		for start < len(keys) && compareKey(keys[start], after) <= 0 {
			start++
		}
	}
	in := func(k custKey) bool {
		return !k.at.Before(window.Since) && (window.Until.IsZero() || k.at.Before(window.Until))
	}
	lo, _ := slices.BinarySearchFunc(keys, custKey{at: window.Since}, compareKey)
	start = max(start, lo)
	var out []commerce.Customer
	var last *custKey
	i := start
	for i < len(keys) && in(keys[i]) {
		var batch []custKey
		for i < len(keys) && in(keys[i]) && len(batch) < c.set.pageSize {
			batch = append(batch, keys[i])
			i++
		}
		got, err := c.fetchCustomers(ctx, batch)
		if err != nil {
			return fail(err)
		}
		last = &batch[len(batch)-1]
		out = got
		if len(out) > 0 {
			break
		}
	}
	done := i >= len(keys) || !in(keys[i])
	next := cur
	if last != nil {
		next.Token = encodeToken(token{Stream: streamCustomers, At: last.at, ID: last.id})
	}
	slices.SortStableFunc(out, func(a, b commerce.Customer) int {
		return compareKey(custKey{at: a.UpdatedAt, id: a.ID}, custKey{at: b.UpdatedAt, id: b.ID})
	})
	return connectors.Page[commerce.Customer]{Items: out, Next: next, Done: done}, nil
}

// mergeKeys merges two sorted key lists.
func mergeKeys(a, b []custKey) []custKey {
	out := make([]custKey, 0, len(a)+len(b))
	out = append(out, a...)
	out = append(out, b...)
	slices.SortFunc(out, compareKey)
	return out
}

// fetchCustomers reads the registered customers of batch by id, keeps those
// whose modification is still the scan's, and adds the guests.
func (c *Connector) fetchCustomers(ctx context.Context, batch []custKey) ([]commerce.Customer, error) {
	want := map[string]time.Time{}
	var ids []string
	var out []commerce.Customer
	for _, k := range batch {
		if k.guest != nil {
			out = append(out, *k.guest)
			continue
		}
		want[k.id] = k.at
		ids = append(ids, k.id)
	}
	if len(ids) == 0 {
		return out, nil
	}
	resp, err := c.api.do(ctx, request{method: "GET", path: "customers", idempotent: true, query: url.Values{
		"include":  {strings.Join(ids, ",")},
		"role":     {"all"},
		"orderby":  {"include"},
		"per_page": {strconv.Itoa(MaxPageSize)},
	}})
	if err != nil {
		return nil, err
	}
	items, err := decodeList(resp.body)
	if err != nil {
		return nil, fmt.Errorf("GET customers: %w", err)
	}
	for _, it := range items {
		var w wireCustomer
		if err := json.Unmarshal(it, &w); err != nil {
			return nil, fmt.Errorf("GET customers: decode a customer: %w", err)
		}
		cu, err := convertCustomer(w)
		if err != nil {
			return nil, err
		}
		at, ok := want[cu.ID]
		if !ok || !cu.UpdatedAt.Equal(at) {
			// Changed (or not asked for) since the scan: a later scan
			// returns it at its new place.
			continue
		}
		delete(want, cu.ID)
		cu.Raw = slices.Clone(it)
		out = append(out, cu)
	}
	return out, nil
}

// customerScan returns the full scan of registered customers, scanning
// again when the last one is older than customer_scan_interval.
func (c *Connector) customerScan(ctx context.Context) (*customerScan, error) {
	c.mu.Lock()
	s := c.scan
	c.mu.Unlock()
	now := c.now()
	if s != nil && now.Sub(s.began) < c.set.scanEvery && !now.Before(s.began) {
		return s, nil
	}
	s, err := c.scanCustomers(ctx, now)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.scan = s
	c.mu.Unlock()
	return s, nil
}

// maxScanRestarts bounds how often a scan starts again because the number
// of customers changed under it.
const maxScanRestarts = 5

func (c *Connector) scanCustomers(ctx context.Context, began time.Time) (*customerScan, error) {
restart:
	for attempt := 0; attempt <= maxScanRestarts; attempt++ {
		seen := map[string]bool{}
		var keys []custKey
		firstTotal := -1
		for page := 1; ; page++ {
			resp, err := c.api.do(ctx, request{method: "GET", path: "customers", idempotent: true, query: url.Values{
				"role":     {"all"},
				"orderby":  {"id"},
				"order":    {"asc"},
				"per_page": {strconv.Itoa(MaxPageSize)},
				"page":     {strconv.Itoa(page)},
				"_fields":  {"id,date_created_gmt,date_modified_gmt"},
			}})
			if err != nil {
				return nil, err
			}
			var got []struct {
				ID              wireID   `json:"id"`
				DateCreatedGMT  wireTime `json:"date_created_gmt"`
				DateModifiedGMT wireTime `json:"date_modified_gmt"`
			}
			if err := decodeStrict(resp.body, &got); err != nil {
				return nil, fmt.Errorf("GET customers: decode the answer: %w", err)
			}
			pages, total, ok := totalPages(resp.header)
			if ok {
				if firstTotal >= 0 && total != firstTotal {
					// A customer came or went during the scan: offset
					// pages shifted, so one may have been skipped.
					continue restart
				}
				firstTotal = total
			}
			for _, g := range got {
				id := g.ID.String()
				if g.ID == 0 || seen[id] {
					continue
				}
				seen[id] = true
				at := g.DateModifiedGMT.Time
				if at.IsZero() {
					// Users WooCommerce never saved have no
					// modification date: they are as old as their
					// registration.
					at = g.DateCreatedGMT.Time
				}
				if at.IsZero() {
					return nil, fmt.Errorf("GET customers: customer %s has neither date_modified_gmt nor date_created_gmt", id)
				}
				keys = append(keys, custKey{at: at, id: id})
			}
			if (ok && page >= pages) || (!ok && len(got) < MaxPageSize) || len(got) == 0 {
				break
			}
		}
		slices.SortFunc(keys, compareKey)
		return &customerScan{began: began, keys: keys}, nil
	}
	return nil, fmt.Errorf("GET customers: the number of customers kept changing during %d scans", maxScanRestarts+1)
}

// guestScan returns the guests derived from the orders of window, read
// again when the window differs from the last one or the read is older
// than customer_scan_interval.
func (c *Connector) guestScan(ctx context.Context, window connectors.Cursor) (*guestScan, error) {
	now := c.now()
	c.mu.Lock()
	g := c.guests
	c.mu.Unlock()
	if g != nil && g.since.Equal(window.Since) && g.until.Equal(window.Until) &&
		now.Sub(g.began) < c.set.scanEvery && !now.Before(g.began) {
		return g, nil
	}
	byID := map[string]*commerce.Customer{}
	tok := token{Stream: streamOrders}
	for {
		pg, err := c.readOrders(ctx, window, tok, guestFields)
		if err != nil {
			return nil, err
		}
		for _, o := range pg.orders {
			if o.wire.CustomerID != 0 {
				continue
			}
			gc, ok := guestFromOrder(o.wire)
			if !ok {
				continue
			}
			if prev, ok := byID[gc.ID]; ok {
				gc = mergeGuest(*prev, gc)
			}
			byID[gc.ID] = &gc
		}
		if pg.done {
			break
		}
		tok = pg.next
	}
	g = &guestScan{since: window.Since, until: window.Until, began: now}
	for id, gc := range byID {
		g.keys = append(g.keys, custKey{at: gc.UpdatedAt, id: id, guest: gc})
	}
	slices.SortFunc(g.keys, compareKey)
	c.mu.Lock()
	c.guests = g
	c.mu.Unlock()
	return g, nil
}

// guestFields are the order fields guests are derived from.
const guestFields = "id,customer_id,billing,date_created_gmt,date_modified_gmt"
