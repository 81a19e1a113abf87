package importer

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// WooCommerce has no order export of its own that says who bought: the
// Analytics › Orders download lists customers by name only. Stores export
// orders with the Customer / Order / Coupon Export extension, whose
// "Default" format writes one row per order (the line items in one
// column, line_items) and whose "Default – one row per item" format
// writes one row per line item (item_* columns, the order's columns
// repeated on each). Both are read. Columns are found by their keys (as
// the extension writes them in its header; "Order ID" reads as order_id)
// and mapped so:
//
//	order_id           Order.ID: WooCommerce's order id, the one the REST
//	                   API and sync use (required, digits)
//	order_number_formatted, order_number
//	                   Order.Number ("#" and the number; the id without one)
//	order_date         Order.CreatedAt (required), in the site's time zone
//	                   (Options.Location): the export writes local times
//	paid_date          Order.ProcessedAt, when the file has it
//	status             Order.State, as the connector maps statuses:
//	                   processing and completed are paid; pending, on-hold
//	                   and checkout-draft pending; cancelled, failed and
//	                   trash voided (cancelled and trash also set
//	                   CancelledAt); refunded refunded. Any other status is
//	                   refused: map it on the platform first
//	order_currency     Order.Currency (required)
//	order_total, shipping_total, tax_total
//	                   Order.Total (required), Shipping, Tax
//	customer_id        Order.CustomerID for a registered customer; 0 is a
//	                   guest, whose id is "guest:" and the folded e-mail, as
//	                   the connector derives it
//	billing_email, billing_first_name, billing_last_name
//	                   Order.Email and the implied customer's record
//	shipping_address_1, shipping_address_2, shipping_city, shipping_postcode,
//	shipping_country   Order.ShippingAddress
//	coupon_items (or coupons)
//	                   Order.Codes: "code:…|amount:…" items joined by ";"
//	item_id, item_product_id, item_name, item_sku, item_quantity,
//	item_subtotal, item_total, item_refunded, item_refunded_qty
//	                   one LineItem per row (the one-row-per-item format):
//	                   Subtotal before discounts, Discount = subtotal − total
//	line_items         the same fields as "id:…|name:…|quantity:…|…" items
//	                   joined by ";" (the one-row-per-order format)
//	refunds, refunded_total
//	                   the refunds ("id:…|date:…|amount:…|reason:…"). When
//	                   the lines say what was refunded of them (item_refunded,
//	                   item_refunded_qty) the refunds are one refund with
//	                   those lines, as only lines then count; otherwise each
//	                   refund is an amount without lines, which the rules
//	                   spread over the order. A paid order with refunds is
//	                   partially refunded, or refunded when they reach its
//	                   total, as the connector has it.
//
// Times are "2006-01-02 15:04:05" (the extension's default) or carry their
// zone (RFC 3339). A leading apostrophe that the extension puts before a
// value starting with -, +, = or @ is dropped.
var wooRequired = []string{"order_id", "order_date", "status", "order_total", "order_currency"}

// wooOrderColumns are the order's columns, which every row of an order in
// the one-row-per-item format repeats.
var wooOrderColumns = []string{"order_id", "order_number", "order_number_formatted", "order_date", "paid_date",
	"status", "shipping_total", "tax_total", "order_total", "refunded_total", "order_currency", "customer_id",
	"billing_first_name", "billing_last_name", "billing_email", "shipping_address_1", "shipping_address_2",
	"shipping_postcode", "shipping_city", "shipping_country", "coupon_items", "refunds"}

// wooAliases are other spellings of column keys.
var wooAliases = map[string]string{
	"coupons":                "coupon_items",
	"item_refunded_quantity": "item_refunded_qty",
	"date":                   "order_date",
}

// wooStates maps WooCommerce's own order statuses to financial states, as
// the WooCommerce connector does.
var wooStates = map[string]commerce.FinancialState{
	"processing":     commerce.StatePaid,
	"completed":      commerce.StatePaid,
	"on-hold":        commerce.StatePending,
	"pending":        commerce.StatePending,
	"checkout-draft": commerce.StatePending,
	"cancelled":      commerce.StateVoided,
	"failed":         commerce.StateVoided,
	"trash":          commerce.StateVoided,
	"refunded":       commerce.StateRefunded,
}

// wooTime is how the extension writes times: the site's local time.
const wooTime = "2006-01-02 15:04:05"

// wooGuestPrefix starts a guest's id, as the WooCommerce connector
// derives it.
const wooGuestPrefix = "guest:"

// wooKey normalises a WooCommerce column name to its key.
func wooKey(s string) string {
	k := strings.ReplaceAll(normName(s), " ", "_")
	if a, ok := wooAliases[k]; ok {
		return a
	}
	return k
}

type wooCommerce struct {
	csvDecoder
	cols    map[string]int
	perItem bool
	loc     *time.Location
}

func newWooCommerce(r io.Reader, base int64, loc *time.Location) (decoder, error) {
	rows := newCSVRows(r, base, 0, 0)
	head, err := rows.next()
	if err != nil {
		return nil, fmt.Errorf("%w: no header: %v", ErrUnknownFormat, err)
	}
	if head.err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrUnknownFormat, head.err)
	}
	keys := make([]string, len(head.fields))
	for i, f := range head.fields {
		keys[i] = wooKey(f)
	}
	cols, err := columnIndex(keys)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrUnknownFormat, err)
	}
	for _, c := range wooRequired {
		if _, ok := cols[c]; !ok {
			return nil, fmt.Errorf("%w: the WooCommerce export has no column %q", ErrMissingColumn, c)
		}
	}
	d := &wooCommerce{cols: cols, loc: loc}
	_, d.perItem = cols["item_quantity"]
	_, hasItemTotal := cols["item_total"]
	_, hasItemSubtotal := cols["item_subtotal"]
	_, hasLineItems := cols["line_items"]
	switch {
	case d.perItem && !hasItemTotal && !hasItemSubtotal:
		return nil, fmt.Errorf("%w: the WooCommerce export has item_quantity but no item_total nor item_subtotal", ErrMissingColumn)
	case !d.perItem && !hasLineItems:
		return nil, fmt.Errorf("%w: the WooCommerce export has neither line_items (one row per order) nor item_quantity (one row per item)", ErrMissingColumn)
	}
	d.csvDecoder = csvDecoder{units: &units{rows: rows, keyCol: cols["order_id"]}, read: d.read, cols: len(head.fields)}
	return d, nil
}

// wooLine is a line item as the export writes it, before it is money.
type wooLine struct {
	id, productID, name, sku            string
	quantity, subtotal, total, refunded string
	refundedQty                         string
	line                                int
}

func (d *wooCommerce) read(u *unit) (Record, error) {
	first := rowReader{d.cols, u.rows[0].fields}
	id := first.get("order_id")
	fail := func(line int, err error) (Record, error) {
		return Record{}, &RowError{Line: line, Rows: u.count, Order: truncate(id, 40), Err: err}
	}
	if u.bad != nil {
		return fail(u.badLine, u.bad)
	}
	if !d.perItem && len(u.rows) > 1 {
		return fail(u.rows[1].line, fmt.Errorf("%w: the order is on %d rows, and the one-row-per-order format has one", ErrInconsistent, len(u.rows)))
	}
	for _, row := range u.rows[1:] {
		r := rowReader{d.cols, row.fields}
		for _, c := range wooOrderColumns {
			if v := r.get(c); v != first.get(c) {
				return fail(row.line, fmt.Errorf("%w: %s is %q here but %q on the order's first row (line %d)",
					ErrInconsistent, c, truncate(v, 40), truncate(first.get(c), 40), u.rows[0].line))
			}
		}
	}
	line := u.rows[0].line
	var lines []wooLine
	if d.perItem {
		for _, row := range u.rows {
			r := rowReader{d.cols, row.fields}
			lines = append(lines, wooLine{id: r.get("item_id"), productID: r.get("item_product_id"), name: r.get("item_name"),
				sku: r.get("item_sku"), quantity: r.get("item_quantity"), subtotal: r.get("item_subtotal"),
				total: r.get("item_total"), refunded: r.get("item_refunded"), refundedQty: r.get("item_refunded_qty"),
				line: row.line})
		}
	} else {
		items, err := pipeItems(first.get("line_items"))
		if err != nil {
			return fail(line, fmt.Errorf("line_items: %w", err))
		}
		for _, it := range items {
			lines = append(lines, wooLine{id: it["id"], productID: it["product_id"], name: it["name"], sku: it["sku"],
				quantity: it["quantity"], subtotal: it["subtotal"], total: it["total"], refunded: it["refunded"],
				refundedQty: it["refunded_qty"], line: line})
		}
	}
	if len(lines) == 0 {
		// The one-row-per-item format cannot hold such an order, and one
		// without lines earns nothing: it is more likely a row cut short.
		return fail(line, fmt.Errorf("%w: line_items is empty: the order has no line item", ErrMissing))
	}
	rec, errLine, err := d.order(first, lines)
	if err != nil {
		if errLine == 0 {
			errLine = line
		}
		return fail(errLine, err)
	}
	if err := check(&rec.Order); err != nil {
		return fail(line, err)
	}
	rec.Ref = u.ref()
	return rec, nil
}

// order reads an order from its first row and its lines. On error it
// returns the line at fault when it is a line item's.
func (d *wooCommerce) order(r rowReader, lines []wooLine) (Record, int, error) {
	id := r.get("order_id")
	if id == "" {
		return Record{}, 0, fmt.Errorf("%w: order_id is empty", ErrMissing)
	}
	if !isDigits(id) {
		return Record{}, 0, fmt.Errorf("%w: order_id %q is not a WooCommerce order id (digits)", ErrBadValue, truncate(id, 40))
	}
	if id = strings.TrimLeft(id, "0"); id == "" {
		return Record{}, 0, fmt.Errorf("%w: order_id 0 is no order", ErrBadValue)
	}
	cur, err := currency(r.get("order_currency"))
	if err != nil {
		return Record{}, 0, err
	}
	status := strings.TrimPrefix(strings.ToLower(r.get("status")), "wc-")
	state, ok := wooStates[status]
	if !ok {
		if status == "" {
			return Record{}, 0, fmt.Errorf("%w: status is empty", ErrMissing)
		}
		return Record{}, 0, fmt.Errorf("%w: status %q is none of WooCommerce's own (processing, completed, on-hold, pending, checkout-draft, cancelled, failed, trash, refunded)",
			ErrUnknownStatus, truncate(r.get("status"), 40))
	}
	number := r.get("order_number_formatted")
	if number == "" {
		number = r.get("order_number")
	}
	if number = strings.TrimPrefix(number, "#"); number == "" {
		number = id
	}
	o := commerce.Order{ID: id, Number: "#" + number, Email: r.get("billing_email"), Currency: cur, State: state}
	times := tr{layout: wooTime, extra: []string{"2006-01-02T15:04:05", time.RFC3339}, loc: d.loc}
	o.CreatedAt = times.read("order_date", r.get("order_date"), true)
	o.ProcessedAt = times.read("paid_date", r.get("paid_date"), false)
	m := mr{currency: cur}
	o.Shipping = m.read("shipping_total", r.get("shipping_total"), false)
	o.Tax = m.read("tax_total", r.get("tax_total"), false)
	o.Total = m.read("order_total", r.get("order_total"), true)
	if times.err != nil {
		return Record{}, 0, times.err
	}
	if m.err != nil {
		return Record{}, 0, m.err
	}
	codes, err := pipeItems(r.get("coupon_items"))
	if err != nil {
		return Record{}, 0, fmt.Errorf("coupon_items: %w", err)
	}
	for i, c := range codes {
		if c["code"] == "" {
			return Record{}, 0, fmt.Errorf("%w: coupon_items[%d] has no code", ErrMissing, i)
		}
		o.Codes = append(o.Codes, commerce.CodeUse{Code: c["code"], Amount: m.read(fmt.Sprintf("coupon_items[%d].amount", i), c["amount"], false)})
	}
	if m.err != nil {
		return Record{}, 0, m.err
	}
	// Line items, and what each says was refunded of it.
	var lineRefunds []commerce.RefundLine
	ids := make(map[string]bool, len(lines))
	for i, wl := range lines {
		l, rl, err := d.lineItem(wl, cur, i)
		if err != nil {
			return Record{}, wl.line, err
		}
		if ids[l.ID] {
			return Record{}, wl.line, fmt.Errorf("%w: item %q appears twice in the order", ErrInconsistent, truncate(l.ID, 40))
		}
		ids[l.ID] = true
		o.Lines = append(o.Lines, l)
		if rl != nil {
			lineRefunds = append(lineRefunds, *rl)
		}
	}
	refunds, err := d.refunds(r.get("refunds"), cur)
	if err != nil {
		return Record{}, 0, err
	}
	o.UpdatedAt = latest(o.CreatedAt, o.ProcessedAt)
	for _, rf := range refunds {
		o.UpdatedAt = latest(o.UpdatedAt, rf.CreatedAt)
	}
	refunded := m.read("refunded_total", r.get("refunded_total"), false)
	if m.err != nil {
		return Record{}, 0, m.err
	}
	var sum commerce.Money
	for _, rf := range refunds {
		sum = sum.Add(rf.Amount)
	}
	switch {
	case refunded.Sign() < 0:
		return Record{}, 0, fmt.Errorf("%w: refunded_total %s is negative", ErrBadValue, refunded.Decimal())
	case r.get("refunded_total") == "":
		refunded = commerce.NewMoney(sum.Minor, cur)
	case len(refunds) > 0 && sum.Minor != refunded.Minor:
		return Record{}, 0, fmt.Errorf("%w: the refunds add up to %s but refunded_total is %s", ErrInconsistent, sum.Decimal(), refunded.Decimal())
	}
	if refunded.Cmp(o.Total) > 0 {
		return Record{}, 0, fmt.Errorf("%w: refunded_total %s is more than order_total %s", ErrInconsistent, refunded.Decimal(), o.Total.Decimal())
	}
	switch {
	case len(lineRefunds) > 0:
		// Only refund lines count when a refund has them: the refunds
		// become one that carries them all.
		one := commerce.Refund{ID: "refunded", CreatedAt: o.UpdatedAt, Amount: refunded, Lines: lineRefunds}
		if len(refunds) > 0 {
			var ids, notes []string
			for _, rf := range refunds {
				ids = append(ids, rf.ID)
				if rf.Note != "" {
					notes = append(notes, rf.Note)
				}
			}
			one.ID = strings.Join(ids, "+")
			one.CreatedAt = latest(refundTimes(refunds)...)
			one.Note = strings.Join(notes, "; ")
		}
		o.Refunds = []commerce.Refund{one}
	case len(refunds) > 0:
		o.Refunds = refunds
	case refunded.Sign() > 0:
		o.Refunds = []commerce.Refund{{ID: "refunded", CreatedAt: o.UpdatedAt, Amount: refunded}}
	}
	cancelled := status == "cancelled" || status == "trash"
	o.State = o.State.AfterRefunds(cancelled, refunded, o.Total)
	if cancelled {
		// The export has no cancellation time; the order's last change
		// is the nearest it offers, as with the REST API.
		o.CancelledAt = o.UpdatedAt
	}
	o.ShippingAddress = address(r.get("shipping_address_1"), r.get("shipping_address_2"), r.get("shipping_city"),
		r.get("shipping_postcode"), r.get("shipping_country"))
	rec := Record{Order: o}
	customer := r.get("customer_id")
	switch {
	case customer != "" && !isDigits(customer):
		return Record{}, 0, fmt.Errorf("%w: customer_id %q is not a WooCommerce customer id (digits)", ErrBadValue, truncate(customer, 40))
	case strings.TrimLeft(customer, "0") != "":
		rec.Order.CustomerID = strings.TrimLeft(customer, "0")
	case commerce.FoldEmail(o.Email) != "":
		rec.Order.CustomerID = wooGuestPrefix + commerce.FoldEmail(o.Email)
	}
	if rec.Order.CustomerID != "" {
		rec.Customer = &commerce.Customer{ID: rec.Order.CustomerID, Email: o.Email,
			FirstName: r.get("billing_first_name"), LastName: r.get("billing_last_name"),
			CreatedAt: o.CreatedAt, Guest: strings.HasPrefix(rec.Order.CustomerID, wooGuestPrefix)}
	}
	return rec, 0, nil
}

func refundTimes(rs []commerce.Refund) []time.Time {
	ts := make([]time.Time, len(rs))
	for i, r := range rs {
		ts[i] = r.CreatedAt
	}
	return ts
}

// lineItem reads one line item, and what was refunded of it (nil when
// nothing).
func (d *wooCommerce) lineItem(wl wooLine, cur string, i int) (commerce.LineItem, *commerce.RefundLine, error) {
	field := "item_"
	if !d.perItem {
		field = fmt.Sprintf("line_items[%d].", i)
	}
	qty, err := quantity(field+"quantity", wl.quantity)
	if err != nil {
		return commerce.LineItem{}, nil, err
	}
	m := mr{currency: cur}
	total := m.read(field+"total", wl.total, wl.subtotal == "")
	subtotal := total
	if wl.subtotal != "" {
		subtotal = m.read(field+"subtotal", wl.subtotal, true)
		if wl.total == "" {
			total = subtotal
		}
	}
	refunded := m.read(field+"refunded", wl.refunded, false)
	if m.err != nil {
		return commerce.LineItem{}, nil, m.err
	}
	if total.Cmp(subtotal) > 0 {
		return commerce.LineItem{}, nil, fmt.Errorf("%w: %stotal %s is more than %ssubtotal %s", ErrInconsistent, field, total.Decimal(), field, subtotal.Decimal())
	}
	id := wl.id
	if id == "" {
		id = "line-" + strconv.Itoa(i+1)
	}
	l := commerce.LineItem{ID: id, Title: wl.name, SKU: wl.sku, Quantity: qty, Subtotal: subtotal, Discount: subtotal.Sub(total)}
	if l.SKU == "unknown_product" {
		// The extension's stand-in for a product deleted since: no SKU.
		l.SKU = ""
	}
	if p := strings.TrimLeft(wl.productID, "0"); p != "" {
		l.ProductID = p
	}
	// WooCommerce counts refunded quantities and amounts as negative; the
	// extension writes them either way.
	rq := strings.TrimPrefix(wl.refundedQty, "-")
	rqty := 0
	if rq != "" {
		if rqty, err = quantity(field+"refunded_qty", rq); err != nil {
			return commerce.LineItem{}, nil, err
		}
	}
	if refunded.Sign() < 0 {
		refunded = refunded.Neg()
	}
	if rqty == 0 && refunded.IsZero() {
		return l, nil, nil
	}
	return l, &commerce.RefundLine{LineID: id, Quantity: rqty, Amount: commerce.NewMoney(refunded.Minor, cur)}, nil
}

// refunds reads the refunds column: "id:…|date:…|amount:…|reason:…" items
// joined by ";".
func (d *wooCommerce) refunds(s, cur string) ([]commerce.Refund, error) {
	items, err := pipeItems(s)
	if err != nil {
		return nil, fmt.Errorf("refunds: %w", err)
	}
	var out []commerce.Refund
	for i, it := range items {
		field := fmt.Sprintf("refunds[%d]", i)
		times := tr{layout: wooTime, extra: []string{"2006-01-02T15:04:05", time.RFC3339}, loc: d.loc}
		m := mr{currency: cur}
		r := commerce.Refund{ID: it["id"], Note: it["reason"],
			CreatedAt: times.read(field+".date", it["date"], true),
			Amount:    m.read(field+".amount", it["amount"], true)}
		switch {
		case times.err != nil:
			return nil, times.err
		case m.err != nil:
			return nil, m.err
		case r.ID == "":
			return nil, fmt.Errorf("%w: %s has no id", ErrMissing, field)
		case r.Amount.Sign() < 0:
			return nil, fmt.Errorf("%w: %s.amount %s is negative", ErrBadValue, field, r.Amount.Decimal())
		}
		out = append(out, r)
	}
	return out, nil
}

// pipeItems reads the extension's item lists: items joined by ";", each
// "key:value" pairs joined by "|", with ":", "|", ";" (and "\") escaped by
// a backslash.
func pipeItems(s string) ([]map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []map[string]string
	for _, item := range splitEscaped(s, ';') {
		if strings.TrimSpace(item) == "" {
			continue
		}
		if len(out) >= maxLines {
			return nil, fmt.Errorf("%w: more than %d items", ErrBadValue, maxLines)
		}
		m := map[string]string{}
		for _, pair := range splitEscaped(item, '|') {
			kv := splitEscaped(pair, ':')
			if len(kv) < 2 {
				return nil, fmt.Errorf("%w: %q is not key:value", ErrBadValue, truncate(unescape(pair), 40))
			}
			key := strings.TrimSpace(unescape(kv[0]))
			if _, dup := m[key]; dup {
				return nil, fmt.Errorf("%w: %q appears twice in an item", ErrBadValue, truncate(key, 40))
			}
			m[key] = strings.TrimSpace(unescape(strings.Join(kv[1:], ":")))
		}
		out = append(out, m)
	}
	return out, nil
}

// splitEscaped splits s at each sep that no backslash escapes, leaving
// the escapes in the parts.
func splitEscaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && isEscapable(s[i+1]):
			i++
		case s[i] == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

func isEscapable(c byte) bool { return c == ':' || c == '|' || c == ';' || c == '\\' }

// unescape removes the backslashes that escape ":", "|", ";" and "\".
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isEscapable(s[i+1]) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// escape is unescape's inverse.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isEscapable(s[i]) {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// pipeItem writes one item of key:value pairs.
func pipeItem(kv ...string) string {
	parts := make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+":"+escape(kv[i+1]))
	}
	return strings.Join(parts, "|")
}

// wooHeader is the header a WooCommerceWriter writes: the columns of the
// extension's one-row-per-item format that loyaltyd reads.
var wooHeader = []string{"order_id", "order_number", "order_date", "paid_date", "status", "shipping_total",
	"tax_total", "order_total", "refunded_total", "order_currency", "customer_id", "billing_first_name",
	"billing_last_name", "billing_email", "shipping_address_1", "shipping_address_2", "shipping_postcode",
	"shipping_city", "shipping_country", "item_id", "item_product_id", "item_name", "item_sku", "item_quantity",
	"item_subtotal", "item_total", "item_refunded", "item_refunded_qty", "coupon_items", "refunds"}

// writeWooCommerce writes an order in the one-row-per-item format.
func writeWooCommerce(w *csvWriter, o *commerce.Order, c *commerce.Customer) error {
	cols := w.cols
	status := "completed"
	switch {
	case !o.CancelledAt.IsZero():
		status = "cancelled"
	case o.State == commerce.StateRefunded:
		status = "refunded"
	case o.State == commerce.StatePending:
		status = "pending"
	case o.State == commerce.StateVoided:
		status = "failed"
	}
	var refunded commerce.Money
	var refundItems, codeItems []string
	lineRefunds := map[string]commerce.RefundLine{}
	for _, r := range o.Refunds {
		refunded = refunded.Add(r.Amount)
		refundItems = append(refundItems, pipeItem("id", r.ID, "date", formatTime(r.CreatedAt, wooTime, w.loc),
			"amount", r.Amount.Decimal(), "reason", r.Note))
		for _, rl := range r.Lines {
			lineRefunds[rl.LineID] = rl
		}
	}
	for _, cu := range o.Codes {
		codeItems = append(codeItems, pipeItem("code", cu.Code, "amount", cu.Amount.Decimal()))
	}
	customer := o.CustomerID
	if customer == "" || strings.HasPrefix(customer, wooGuestPrefix) {
		customer = "0"
	}
	lines := o.Lines
	if len(lines) == 0 {
		lines = []commerce.LineItem{{}}
	}
	for _, l := range lines {
		row := w.row()
		row[cols["order_id"]] = o.ID
		row[cols["order_number"]] = o.Number
		row[cols["order_date"]] = formatTime(o.CreatedAt, wooTime, w.loc)
		row[cols["paid_date"]] = formatTime(o.ProcessedAt, wooTime, w.loc)
		row[cols["status"]] = status
		row[cols["shipping_total"]] = o.Shipping.Decimal()
		row[cols["tax_total"]] = o.Tax.Decimal()
		row[cols["order_total"]] = o.Total.Decimal()
		row[cols["refunded_total"]] = commerce.NewMoney(refunded.Minor, o.Currency).Decimal()
		row[cols["order_currency"]] = o.Currency
		row[cols["customer_id"]] = customer
		if c != nil {
			row[cols["billing_first_name"]] = c.FirstName
			row[cols["billing_last_name"]] = c.LastName
		}
		row[cols["billing_email"]] = o.Email
		if a := o.ShippingAddress; a != nil {
			row[cols["shipping_address_1"]] = a.Address1
			row[cols["shipping_address_2"]] = a.Address2
			row[cols["shipping_postcode"]] = a.Zip
			row[cols["shipping_city"]] = a.City
			row[cols["shipping_country"]] = a.Country
		}
		row[cols["coupon_items"]] = strings.Join(codeItems, ";")
		row[cols["refunds"]] = strings.Join(refundItems, ";")
		if len(o.Lines) > 0 {
			row[cols["item_id"]] = l.ID
			row[cols["item_product_id"]] = l.ProductID
			row[cols["item_name"]] = l.Title
			row[cols["item_sku"]] = l.SKU
			row[cols["item_quantity"]] = strconv.Itoa(l.Quantity)
			row[cols["item_subtotal"]] = l.Subtotal.Decimal()
			row[cols["item_total"]] = l.Net().Decimal()
			if rl, ok := lineRefunds[l.ID]; ok {
				row[cols["item_refunded"]] = rl.Amount.Decimal()
				row[cols["item_refunded_qty"]] = "-" + strconv.Itoa(rl.Quantity)
			}
		}
		if err := w.write(row); err != nil {
			return err
		}
	}
	return nil
}
