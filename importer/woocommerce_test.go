package importer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/importer"
)

// TestWooCommerceExport reads the same seven orders exported in both of
// the extension's layouts (one row per order, one row per item): they
// must read the same, and as the connector would have them.
func TestWooCommerceExport(t *testing.T) {
	t.Parallel()
	items, rejs := readFile(t, "woocommerce_items.csv", importer.Options{Location: tallinn})
	if len(rejs) > 0 {
		t.Fatalf("one row per item: %v", rejs)
	}
	orders, rejs := readFile(t, "woocommerce_orders.csv", importer.Options{Location: tallinn})
	if len(rejs) > 0 {
		t.Fatalf("one row per order: %v", rejs)
	}
	if len(items) != 7 || len(orders) != 7 {
		t.Fatalf("%d and %d orders, want 7", len(items), len(orders))
	}
	for i := range items {
		a, b := items[i], orders[i]
		if jsonOf(t, a.Order) != jsonOf(t, b.Order) || jsonOf(t, a.Customer) != jsonOf(t, b.Customer) {
			t.Errorf("order %s differs between the layouts:\n%s\n%s", a.Order.ID, jsonOf(t, a), jsonOf(t, b))
		}
	}
	if items[0].Ref.Rows != 2 || orders[0].Ref.Rows != 1 || items[2].Ref.Line != 5 || orders[2].Ref.Line != 4 {
		t.Errorf("refs: %+v %+v %+v %+v", items[0].Ref, orders[0].Ref, items[2].Ref, orders[2].Ref)
	}
	byID := map[string]importer.Record{}
	for _, r := range items {
		byID[r.Order.ID] = r
	}

	// 2001: a registered customer, a coupon that took 5.00 off a line.
	r := byID["2001"]
	o := r.Order
	if o.Number != "#2001" || o.CustomerID != "17" || o.State != commerce.StatePaid || o.Currency != "EUR" ||
		o.Total != eur("48.90") || o.Shipping != eur("3.90") || len(o.Lines) != 2 ||
		o.Lines[0] != (commerce.LineItem{ID: "101", ProductID: "55", SKU: "WM-01", Title: "Wool mittens", Quantity: 1, Subtotal: eur("30.00"), Discount: eur("5.00")}) ||
		len(o.Codes) != 1 || o.Codes[0] != (commerce.CodeUse{Code: "welcome5", Amount: eur("5.00")}) {
		t.Errorf("2001: %s", jsonOf(t, o))
	}
	// Tallinn is two hours ahead of UTC in winter.
	if !o.CreatedAt.Equal(time.Date(2026, 1, 10, 10, 0, 0, 0, time.UTC)) || o.CreatedAt.Location() != time.UTC {
		t.Errorf("2001 created at %v", o.CreatedAt)
	}
	if c := r.Customer; c == nil || jsonOf(t, c) != jsonOf(t, commerce.Customer{ID: "17", Email: "mari.tamm@example.com", FirstName: "Mari", LastName: "Tamm",
		CreatedAt: o.CreatedAt}) {
		t.Errorf("2001 customer: %+v", c)
	}
	// 2002: a guest, known by the folded e-mail as the connector knows
	// guests.
	r = byID["2002"]
	if r.Order.CustomerID != "guest:jaan.kask@example.com" || r.Customer == nil || !r.Customer.Guest || r.Customer.Email != "Jaan.Kask+shop@Example.com" {
		t.Errorf("2002: %s", jsonOf(t, r))
	}
	// 2003: one of two cups refunded: one refund with that line, so that
	// only the line counts.
	o = byID["2003"].Order
	if o.State != commerce.StatePartiallyRefunded || len(o.Refunds) != 1 {
		t.Fatalf("2003: %s", jsonOf(t, o))
	}
	if rf := o.Refunds[0]; rf.ID != "2101" || rf.Amount != eur("12.00") || rf.Note != "Too small: size L" ||
		!rf.CreatedAt.Equal(time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC)) || len(rf.Lines) != 1 ||
		rf.Lines[0] != (commerce.RefundLine{LineID: "104", Quantity: 1, Amount: eur("12.00")}) {
		t.Errorf("2003 refund: %+v", rf)
	}
	if !o.UpdatedAt.Equal(o.Refunds[0].CreatedAt) {
		t.Errorf("2003 updated at %v, want the refund's time", o.UpdatedAt)
	}
	// 2004: a refund of an amount, no line: the rules spread it.
	o = byID["2004"].Order
	if o.State != commerce.StatePartiallyRefunded || len(o.Refunds) != 1 || o.Refunds[0].Amount != eur("5.00") || len(o.Refunds[0].Lines) != 0 || o.Refunds[0].ID != "2102" {
		t.Errorf("2004: %s", jsonOf(t, o))
	}
	// 2005 refunded, 2006 cancelled, 2007 on hold.
	if o := byID["2005"].Order; o.State != commerce.StateRefunded || o.Refunds[0].Lines[0].Quantity != 2 {
		t.Errorf("2005: %s", jsonOf(t, o))
	}
	if o := byID["2006"].Order; o.State != commerce.StateVoided || !o.Cancelled() || !o.CancelledAt.Equal(o.UpdatedAt) {
		t.Errorf("2006: %s", jsonOf(t, o))
	}
	if o := byID["2007"].Order; o.State != commerce.StatePending || o.Cancelled() {
		t.Errorf("2007: %s", jsonOf(t, o))
	}
}

// TestWooCommerceZone: the export's local times are read in the zone
// given, across a change to summer time.
func TestWooCommerceZone(t *testing.T) {
	t.Parallel()
	const head = "order_id,order_date,status,order_total,order_currency,item_quantity,item_total\n"
	data := head + "1,2026-03-29 02:59:59,completed,1.00,EUR,1,1.00\n" + "2,2026-03-29 04:00:00,completed,1.00,EUR,1,1.00\n" +
		"3,2026-03-29T04:00:00Z,completed,1.00,EUR,1,1.00\n"
	recs, rejs := readAll(t, []byte(data), importer.Options{Location: tallinn})
	if len(rejs) > 0 || len(recs) != 3 {
		t.Fatalf("%v %d", rejs, len(recs))
	}
	for i, want := range []time.Time{time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC), time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 4, 0, 0, 0, time.UTC)} {
		if got := recs[i].Order.CreatedAt; !got.Equal(want) {
			t.Errorf("order %d created at %v, want %v", i+1, got, want)
		}
	}
	// An order without an e-mail or customer is nobody's.
	if recs[0].Order.CustomerID != "" || recs[0].Customer != nil {
		t.Errorf("order without a buyer: %q %+v", recs[0].Order.CustomerID, recs[0].Customer)
	}
}

func TestWooCommerceBrokenRows(t *testing.T) {
	t.Parallel()
	recs, rejs := readFile(t, "woocommerce_broken.csv", importer.Options{Location: tallinn})
	checkRejections(t, rejs, []wantRejection{
		{3, "3002", importer.ErrBadValue, `order_total: amount "abc" EUR: not a decimal number`},
		{4, "3003", commerce.ErrTooManyDecimals, `item_total: amount "9.999" EUR: too many decimals`},
		{5, "3004", importer.ErrUnknownCurrency, `"EURO"`},
		{6, "", importer.ErrMissing, "order_id is empty"},
		{7, "3006", importer.ErrBadValue, `order_date "31/01/2026 10:00" is not a time`},
		{8, "3007", importer.ErrBadRow, "19 fields, the header has 23"},
		{9, "3008", importer.ErrUnknownStatus, `status "wc-shipped"`},
		{13, "3010", importer.ErrInconsistent, `order_total is "25.00" here but "20.00" on the order's first row (line 12)`},
		{14, "3011", importer.ErrInconsistent, "the refunds add up to 4.00 but refunded_total is 5.00"},
		{15, "3012", importer.ErrInconsistent, "item_total 12.00 is more than item_subtotal 10.00"},
		{16, "3013", importer.ErrMissing, "refunds[0].amount is empty"},
		{19, "3016", commerce.ErrTooManyDecimals, `"1500.50" JPY`},
	})
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.Order.ID)
	}
	if strings.Join(ids, ",") != "3001,3009,3014,3015" {
		t.Errorf("orders read: %v", ids)
	}
	if o := recs[3].Order; o.Currency != "JPY" || o.Total != commerce.MustParseMoney("1500", "JPY") {
		t.Errorf("JPY order: %s", jsonOf(t, o))
	}
}
