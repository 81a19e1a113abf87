package importer

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Shopify's order export (Orders › Export › CSV) has one row per line
// item. The order's own fields are on the first row of the order; every
// row repeats the order's Name, which is how rows are grouped. Columns are
// read by name (case and surrounding space ignored) and are mapped so:
//
//	Id                 Order.ID: the numeric order id, the one the Admin API
//	                   and sync use, so that an imported order and a synced
//	                   one are the same order (required, digits)
//	Name               Order.Number ("#1001")
//	Email              Order.Email; the order's customer is the stored
//	                   customer with this e-mail (see Record.Customer)
//	Financial Status   Order.State: pending, authorized, partially_paid,
//	                   paid, partially_refunded, refunded, voided (any other
//	                   is refused, as the connector refuses it)
//	Currency           Order.Currency, the currency of every amount
//	Created at         Order.CreatedAt ("2006-01-02 15:04:05 -0700", or
//	                   RFC 3339: a time must carry its zone); the rules
//	                   date the order by it, as Shopify's processed_at is
//	                   the time an online order is placed
//	Paid at, Fulfilled at
//	                   only Order.UpdatedAt: the latest of these, Created at
//	                   and Cancelled at (the export has no update time)
//	Cancelled at       Order.CancelledAt
//	Subtotal           merchandise after every discount: when the lines
//	                   after their own discounts come to more, the rest is
//	                   an order-level discount, spread over the lines by
//	                   their value
//	Shipping, Taxes, Total, Duties
//	                   Order.Shipping, Tax, Total (required), Duties
//	Discount Code, Discount Amount
//	                   Order.Codes (one code and the discount it gave)
//	Refunded Amount    one refund without lines (the export does not say
//	                   which lines nor how much of it was tax or shipping),
//	                   which the rules spread over the lines; required for a
//	                   partially refunded order
//	Tags               Order.Tags (comma-separated)
//	Shipping Address1, Shipping Address2, Shipping City, Shipping Zip,
//	Shipping Country   Order.ShippingAddress
//	Lineitem quantity, Lineitem name, Lineitem price (unit price), Lineitem
//	sku, Lineitem discount, Vendor
//	                   one LineItem per row (quantity and price required);
//	                   line ids are the row's place in the order ("line-1")
//
// The export has no test flag, no gift card flag and no customer id; a
// gift card sold in an order counts as merchandise.
var shopifyRequired = []string{"name", "id", "financial status", "currency", "total", "created at",
	"lineitem quantity", "lineitem price"}

// shopifyOrderColumns are the order's own columns: on the first row of an
// order, and empty or the same on its other rows.
var shopifyOrderColumns = []string{"id", "email", "financial status", "paid at", "fulfilled at", "currency",
	"subtotal", "shipping", "taxes", "total", "discount code", "discount amount", "created at", "cancelled at",
	"refunded amount", "tags", "duties", "shipping address1", "shipping address2", "shipping city",
	"shipping zip", "shipping country"}

// shopifyStates maps Financial Status onto commerce's states, as the
// Shopify connector maps financial_status.
var shopifyStates = map[string]commerce.FinancialState{
	"pending":            commerce.StatePending,
	"authorized":         commerce.StateAuthorized,
	"partially_paid":     commerce.StatePartiallyPaid,
	"paid":               commerce.StatePaid,
	"partially_refunded": commerce.StatePartiallyRefunded,
	"refunded":           commerce.StateRefunded,
	"voided":             commerce.StateVoided,
}

// shopifyTime is how the export writes times.
const shopifyTime = "2006-01-02 15:04:05 -0700"

type shopify struct {
	csvDecoder
	cols map[string]int
}

func newShopify(r io.Reader, base int64) (decoder, error) {
	rows := newCSVRows(r, base, 0, 0)
	head, err := rows.next()
	if err != nil {
		return nil, fmt.Errorf("%w: no header: %v", ErrUnknownFormat, err)
	}
	if head.err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrUnknownFormat, head.err)
	}
	cols, err := columnIndex(head.fields)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrUnknownFormat, err)
	}
	for _, c := range shopifyRequired {
		if _, ok := cols[c]; !ok {
			return nil, fmt.Errorf("%w: the Shopify export has no column %q", ErrMissingColumn, shopifyHeaderName(c))
		}
	}
	d := &shopify{cols: cols}
	d.csvDecoder = csvDecoder{units: &units{rows: rows, keyCol: cols["name"], emptyContinues: true}, read: d.read, cols: len(head.fields)}
	return d, nil
}

// shopifyHeaderName returns the export's spelling of a normalised column
// name, for messages.
func shopifyHeaderName(c string) string {
	for _, h := range shopifyHeader {
		if normName(h) == c {
			return h
		}
	}
	return c
}

// rowReader reads named cells of one row.
type rowReader struct {
	cols   map[string]int
	fields []string
}

func (r rowReader) get(col string) string {
	i, ok := r.cols[col]
	if !ok || i >= len(r.fields) {
		return ""
	}
	return cell(r.fields[i])
}

func (d *shopify) read(u *unit) (Record, error) {
	first := rowReader{d.cols, u.rows[0].fields}
	name := first.get("name")
	fail := func(line int, err error) (Record, error) {
		return Record{}, &RowError{Line: line, Rows: u.count, Order: truncate(name, 40), Err: err}
	}
	if u.bad != nil {
		return fail(u.badLine, u.bad)
	}
	// The order's own fields are on its first row; another row may
	// repeat them, but not contradict them.
	for _, row := range u.rows[1:] {
		r := rowReader{d.cols, row.fields}
		for _, c := range shopifyOrderColumns {
			if v := r.get(c); v != "" && v != first.get(c) {
				return fail(row.line, fmt.Errorf("%w: %s is %q here but %q on the order's first row (line %d)",
					ErrInconsistent, shopifyHeaderName(c), truncate(v, 40), truncate(first.get(c), 40), u.rows[0].line))
			}
		}
	}
	line := u.rows[0].line
	if name == "" {
		return fail(line, fmt.Errorf("%w: Name is empty", ErrMissing))
	}
	o, err := d.order(first)
	if err != nil {
		return fail(line, err)
	}
	for i, row := range u.rows {
		l, err := d.lineItem(rowReader{d.cols, row.fields}, o.Currency, i)
		if err != nil {
			return fail(row.line, err)
		}
		o.Lines = append(o.Lines, l)
	}
	if err := d.finish(&o, first); err != nil {
		return fail(line, err)
	}
	if err := check(&o); err != nil {
		return fail(line, err)
	}
	return Record{Order: o, Ref: u.ref()}, nil
}

// order reads the order's own fields from its first row.
func (d *shopify) order(r rowReader) (commerce.Order, error) {
	id := r.get("id")
	if id == "" {
		return commerce.Order{}, fmt.Errorf("%w: Id is empty: it is the order's id, which loyaltyd needs to know the order when sync reads it too", ErrMissing)
	}
	if !isDigits(id) {
		return commerce.Order{}, fmt.Errorf("%w: Id %q is not a Shopify order id (digits)", ErrBadValue, truncate(id, 40))
	}
	if id = strings.TrimLeft(id, "0"); id == "" {
		id = "0"
	}
	cur, err := currency(r.get("currency"))
	if err != nil {
		return commerce.Order{}, err
	}
	status := r.get("financial status")
	state, ok := shopifyStates[strings.ToLower(status)]
	if !ok {
		if status == "" {
			return commerce.Order{}, fmt.Errorf("%w: Financial Status is empty", ErrMissing)
		}
		return commerce.Order{}, fmt.Errorf("%w: Financial Status %q (want pending, authorized, partially_paid, paid, partially_refunded, refunded or voided)",
			ErrUnknownStatus, truncate(status, 40))
	}
	o := commerce.Order{ID: id, Number: r.get("name"), Email: r.get("email"), Currency: cur, State: state}
	times := tr{layout: shopifyTime, extra: []string{time.RFC3339}}
	o.CreatedAt = times.read("Created at", r.get("created at"), true)
	o.CancelledAt = times.read("Cancelled at", r.get("cancelled at"), false)
	o.UpdatedAt = latest(o.CreatedAt, o.CancelledAt,
		times.read("Paid at", r.get("paid at"), false),
		times.read("Fulfilled at", r.get("fulfilled at"), false))
	if times.err != nil {
		return commerce.Order{}, times.err
	}
	m := mr{currency: cur}
	o.Shipping = m.read("Shipping", r.get("shipping"), false)
	o.Tax = m.read("Taxes", r.get("taxes"), false)
	o.Total = m.read("Total", r.get("total"), true)
	o.Duties = m.read("Duties", r.get("duties"), false)
	if code := r.get("discount code"); code != "" {
		o.Codes = []commerce.CodeUse{{Code: code, Amount: m.read("Discount Amount", r.get("discount amount"), false)}}
	}
	if m.err != nil {
		return commerce.Order{}, m.err
	}
	o.Tags = splitList(r.get("tags"))
	o.ShippingAddress = address(r.get("shipping address1"), r.get("shipping address2"), r.get("shipping city"),
		zip(r.get("shipping zip")), r.get("shipping country"))
	return o, nil
}

// lineItem reads the line item on one row.
func (d *shopify) lineItem(r rowReader, cur string, i int) (commerce.LineItem, error) {
	qty, err := quantity("Lineitem quantity", r.get("lineitem quantity"))
	if err != nil {
		return commerce.LineItem{}, err
	}
	m := mr{currency: cur}
	price := m.read("Lineitem price", r.get("lineitem price"), true)
	l := commerce.LineItem{
		ID:       "line-" + strconv.Itoa(i+1),
		SKU:      r.get("lineitem sku"),
		Vendor:   r.get("vendor"),
		Title:    r.get("lineitem name"),
		Quantity: qty,
		Discount: m.read("Lineitem discount", r.get("lineitem discount"), false),
	}
	if m.err != nil {
		return commerce.LineItem{}, m.err
	}
	if l.Subtotal, err = times(price, qty); err != nil {
		return commerce.LineItem{}, fmt.Errorf("Lineitem price × quantity: %w", err)
	}
	return l, nil
}

// finish completes an order from its lines: the order-level discount the
// lines do not carry, and the refund.
func (d *shopify) finish(o *commerce.Order, r rowReader) error {
	m := mr{currency: o.Currency}
	if s := r.get("subtotal"); s != "" {
		subtotal := m.read("Subtotal", s, true)
		if m.err != nil {
			return m.err
		}
		net := commerce.NewMoney(0, o.Currency)
		weights := make([]int64, len(o.Lines))
		for i, l := range o.Lines {
			if n := l.Net(); n.Sign() > 0 {
				net = net.Add(n)
				weights[i] = n.Minor
			}
		}
		// A discount on the whole order that the export did not
		// allocate to the lines is theirs in proportion to their value.
		if extra := net.Sub(subtotal); extra.Sign() > 0 {
			for i, part := range extra.Allocate(weights) {
				o.Lines[i].Discount = o.Lines[i].Discount.Add(part)
			}
		}
	}
	refunded := m.read("Refunded Amount", r.get("refunded amount"), false)
	if m.err != nil {
		return m.err
	}
	switch {
	case refunded.Sign() < 0:
		return fmt.Errorf("%w: Refunded Amount %s is negative", ErrBadValue, refunded.Decimal())
	case refunded.Sign() > 0:
		if refunded.Cmp(o.Total) > 0 {
			return fmt.Errorf("%w: Refunded Amount %s is more than the Total %s", ErrInconsistent, refunded.Decimal(), o.Total.Decimal())
		}
		o.Refunds = []commerce.Refund{{ID: "refunded", CreatedAt: o.UpdatedAt, Amount: refunded}}
	case o.State == commerce.StatePartiallyRefunded:
		return fmt.Errorf("%w: Refunded Amount is empty, and a partially refunded order needs it to know what still earns", ErrMissing)
	}
	return nil
}

// shopifyHeader is the header Shopify's export writes (2024 on), and the
// one a ShopifyWriter writes.
var shopifyHeader = []string{"Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
	"Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code", "Discount Amount",
	"Shipping Method", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price",
	"Lineitem sku", "Lineitem requires shipping", "Lineitem taxable", "Lineitem fulfillment status", "Billing Name",
	"Billing Street", "Billing Address1", "Billing Address2", "Billing Company", "Billing City", "Billing Zip",
	"Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street", "Shipping Address1",
	"Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip", "Shipping Province", "Shipping Country",
	"Shipping Phone", "Notes", "Note Attributes", "Cancelled at", "Payment Method", "Payment Reference",
	"Refunded Amount", "Vendor", "Outstanding Balance", "Employee", "Location", "Device ID", "Id", "Tags",
	"Risk Level", "Source", "Lineitem discount", "Tax 1 Name", "Tax 1 Value", "Tax 2 Name", "Tax 2 Value",
	"Tax 3 Name", "Tax 3 Value", "Tax 4 Name", "Tax 4 Value", "Tax 5 Name", "Tax 5 Value", "Phone",
	"Receipt Number", "Duties", "Billing Province Name", "Shipping Province Name", "Payment ID",
	"Payment Terms Name", "Next Payment Due At", "Payment References"}

// writeShopify writes an order as the export does: a row per line, the
// order's own fields on the first.
func writeShopify(w *csvWriter, o *commerce.Order, _ *commerce.Customer) error {
	cols := w.cols
	// The reader takes the update time from the latest of the order's
	// times; Paid at carries it when it is none of the others.
	paid := time.Time{}
	if o.UpdatedAt.After(latest(o.CreatedAt, o.CancelledAt)) {
		paid = o.UpdatedAt
	}
	var refunded commerce.Money
	for _, r := range o.Refunds {
		refunded = refunded.Add(r.Amount)
	}
	subtotal := commerce.NewMoney(0, o.Currency)
	for _, l := range o.Lines {
		if n := l.Net(); n.Sign() > 0 {
			subtotal = subtotal.Add(n)
		}
	}
	lines := o.Lines
	if len(lines) == 0 {
		lines = []commerce.LineItem{{}}
	}
	for i, l := range lines {
		row := w.row()
		row[cols["name"]] = o.Number
		if i == 0 {
			row[cols["id"]] = o.ID
			row[cols["email"]] = o.Email
			row[cols["financial status"]] = string(o.State)
			row[cols["paid at"]] = formatTime(paid, shopifyTime, time.UTC)
			row[cols["currency"]] = o.Currency
			row[cols["subtotal"]] = subtotal.Decimal()
			row[cols["shipping"]] = o.Shipping.Decimal()
			row[cols["taxes"]] = o.Tax.Decimal()
			row[cols["total"]] = o.Total.Decimal()
			if len(o.Codes) > 0 {
				row[cols["discount code"]] = o.Codes[0].Code
				row[cols["discount amount"]] = o.Codes[0].Amount.Decimal()
			}
			row[cols["created at"]] = formatTime(o.CreatedAt, shopifyTime, time.UTC)
			row[cols["cancelled at"]] = formatTime(o.CancelledAt, shopifyTime, time.UTC)
			if !refunded.IsZero() {
				row[cols["refunded amount"]] = refunded.Decimal()
			}
			if !o.Duties.IsZero() {
				row[cols["duties"]] = o.Duties.Decimal()
			}
			row[cols["tags"]] = strings.Join(o.Tags, ", ")
			if a := o.ShippingAddress; a != nil {
				row[cols["shipping address1"]] = a.Address1
				row[cols["shipping address2"]] = a.Address2
				row[cols["shipping city"]] = a.City
				if a.Zip != "" {
					// As Shopify writes it, so that a spreadsheet keeps
					// its leading zeros.
					row[cols["shipping zip"]] = "'" + a.Zip
				}
				row[cols["shipping country"]] = a.Country
			}
		}
		if len(o.Lines) > 0 {
			unit := l.Subtotal
			if l.Quantity > 0 {
				unit.Minor /= int64(l.Quantity)
			}
			row[cols["lineitem quantity"]] = strconv.Itoa(l.Quantity)
			row[cols["lineitem name"]] = l.Title
			row[cols["lineitem price"]] = unit.Decimal()
			row[cols["lineitem sku"]] = l.SKU
			row[cols["lineitem discount"]] = l.Discount.Decimal()
			row[cols["vendor"]] = l.Vendor
		}
		if err := w.write(row); err != nil {
			return err
		}
	}
	return nil
}

// isDigits reports whether s is a non-empty string of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// zip returns a zip code without the apostrophe Shopify writes before it
// so that spreadsheets keep its leading zeros.
func zip(s string) string { return strings.TrimPrefix(s, "'") }

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for t := range strings.SplitSeq(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// address returns a shipping address, or nil when every part is empty.
func address(a1, a2, city, zip, country string) *commerce.Address {
	if a1 == "" && a2 == "" && city == "" && zip == "" && country == "" {
		return nil
	}
	return &commerce.Address{Address1: a1, Address2: a2, City: city, Zip: zip, Country: country}
}
