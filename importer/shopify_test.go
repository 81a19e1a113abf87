package importer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/importer"
)

// TestShopifyExport reads a Shopify export as the admin writes it: newest
// order first, one row per line item, the order's fields on its first row.
func TestShopifyExport(t *testing.T) {
	t.Parallel()
	recs, rejs := readFile(t, "shopify_orders.csv", importer.Options{})
	if len(rejs) > 0 {
		t.Fatalf("rejections: %v", rejs)
	}
	if len(recs) != 6 {
		t.Fatalf("%d orders, want 6", len(recs))
	}
	orders := byNumber(recs)
	for _, tt := range []struct {
		number, id     string
		line, rows     int
		state          commerce.FinancialState
		created        time.Time
		updated        time.Time
		total          commerce.Money
		lines          int
		cancelled, tax bool
	}{
		{"#1006", "5600000000006", 2, 1, commerce.StatePending, time.Date(2026, 3, 20, 13, 0, 0, 0, time.UTC), time.Date(2026, 3, 20, 13, 0, 0, 0, time.UTC), usd("37.40"), 1, false, true},
		{"#1005", "5600000000005", 3, 1, commerce.StateVoided, time.Date(2026, 3, 15, 15, 30, 0, 0, time.UTC), time.Date(2026, 3, 15, 16, 0, 0, 0, time.UTC), usd("48.60"), 1, true, true},
		{"#1004", "5600000000004", 4, 1, commerce.StateRefunded, time.Date(2026, 3, 10, 20, 45, 10, 0, time.UTC), time.Date(2026, 3, 11, 14, 0, 0, 0, time.UTC), usd("32.00"), 1, false, true},
		{"#1003", "5600000000003", 5, 2, commerce.StatePartiallyRefunded, time.Date(2026, 2, 20, 15, 5, 0, 0, time.UTC), time.Date(2026, 2, 21, 14, 0, 0, 0, time.UTC), usd("129.60"), 2, false, true},
		{"#1002", "5600000000002", 7, 3, commerce.StatePaid, time.Date(2026, 2, 2, 13, 15, 0, 0, time.UTC), time.Date(2026, 2, 3, 17, 0, 0, 0, time.UTC), usd("86.40"), 3, false, true},
		{"#1001", "5600000000001", 10, 1, commerce.StatePaid, time.Date(2026, 1, 15, 19, 30, 0, 0, time.UTC), time.Date(2026, 1, 16, 14, 0, 0, 0, time.UTC), usd("63.32"), 1, false, true},
	} {
		rec, ok := orders[tt.number]
		if !ok {
			t.Errorf("order %s not read", tt.number)
			continue
		}
		o := rec.Order
		if o.ID != tt.id || rec.Ref.Line != tt.line || rec.Ref.Rows != tt.rows || o.State != tt.state ||
			!o.CreatedAt.Equal(tt.created) || o.CreatedAt.Location() != time.UTC || !o.UpdatedAt.Equal(tt.updated) ||
			o.Total != tt.total || len(o.Lines) != tt.lines || o.Cancelled() != tt.cancelled || o.Currency != "USD" {
			t.Errorf("%s: %s", tt.number, jsonOf(t, rec))
		}
		if rec.Customer != nil || o.CustomerID != "" {
			t.Errorf("%s: the Shopify export names no customer id, but the order has %q / %+v", tt.number, o.CustomerID, rec.Customer)
		}
		if !o.ProcessedAt.IsZero() {
			t.Errorf("%s: processed at %v: the rules date an order by its creation", tt.number, o.ProcessedAt)
		}
	}

	// #1002: three rows; the lines carry 5.00 of the 15.00 discount and
	// the Subtotal says 10.00 more came off the order, which is spread
	// over the lines by their value (40 : 45 : 5).
	o := orders["#1002"].Order
	for i, want := range []struct {
		title    string
		qty      int
		subtotal commerce.Money
		discount commerce.Money
	}{{"Canvas tote", 1, usd("40.00"), usd("4.44")}, {"Water bottle", 2, usd("50.00"), usd("10.00")}, {"Gift wrap", 1, usd("5.00"), usd("0.56")}} {
		l := o.Lines[i]
		if l.Title != want.title || l.Quantity != want.qty || l.Subtotal != want.subtotal || l.Discount != want.discount {
			t.Errorf("#1002 line %d: %+v, want %+v", i+1, l, want)
		}
	}
	if len(o.Codes) != 1 || o.Codes[0] != (commerce.CodeUse{Code: "SPRING10", Amount: usd("15.00")}) {
		t.Errorf("#1002 codes: %+v", o.Codes)
	}
	if a := o.ShippingAddress; a == nil || *a != (commerce.Address{Address1: "4 Harbor Rd", City: "Salem", Zip: "01970", Country: "US"}) {
		t.Errorf("#1002 address (the zip loses the apostrophe Shopify writes before it): %+v", a)
	}

	// #1003: a partial refund the export gives as an amount only.
	o = orders["#1003"].Order
	if len(o.Refunds) != 1 || o.Refunds[0].Amount != usd("21.60") || len(o.Refunds[0].Lines) != 0 || !o.Refunds[0].CreatedAt.Equal(o.UpdatedAt) {
		t.Errorf("#1003 refunds: %+v", o.Refunds)
	}
	if o.Email != "Ann@Example.com" || strings.Join(o.Tags, "|") != "wholesale|repeat" {
		t.Errorf("#1003: email %q tags %q", o.Email, o.Tags)
	}
	if l := o.Lines[0]; l.SKU != "KS-002" || l.Vendor != "Kestrel" || l.Subtotal != usd("40.00") || l.ID != "line-1" {
		t.Errorf("#1003 line 1: %+v", l)
	}
	// #1005: cancelled.
	if o := orders["#1005"].Order; !o.CancelledAt.Equal(time.Date(2026, 3, 15, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("#1005 cancelled at %v", o.CancelledAt)
	}
}

// TestShopifyBrokenRows: each broken order is refused whole, with the line
// at fault and why; the good orders around them are read.
func TestShopifyBrokenRows(t *testing.T) {
	t.Parallel()
	recs, rejs := readFile(t, "shopify_broken.csv", importer.Options{})
	checkRejections(t, rejs, []wantRejection{
		{3, "#2002", importer.ErrBadValue, `Total: amount "12.3.4" USD: not a decimal number`},
		{4, "#2003", commerce.ErrTooManyDecimals, `"19.999" USD: too many decimals`},
		{5, "#2004", importer.ErrUnknownCurrency, `"XYZ"`},
		{6, "#2005", importer.ErrMissing, "Id is empty"},
		{7, "#2006", importer.ErrBadValue, `Created at "2026-13-45 10:00:00 +0000" is not a time`},
		{8, "#2007", importer.ErrBadRow, "19 fields, the header has 22"},
		{9, "#2008", importer.ErrUnknownStatus, `Financial Status "bogus"`},
		{13, "#2010", importer.ErrBadValue, `Lineitem quantity "two" is not a whole number`},
		{15, "#2011", importer.ErrInconsistent, `Currency is "EUR" here but "USD" on the order's first row (line 14)`},
		{16, "#2012", importer.ErrMissing, "Refunded Amount is empty"},
		{17, "#2013", importer.ErrBadValue, `Created at "2026-01-05 10:00:00" is not a time`},
	})
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.Order.ID)
	}
	if strings.Join(ids, ",") != "7001,7009,7014" {
		t.Errorf("orders read: %v, want 7001, 7009, 7014", ids)
	}
	if r := byNumber(recs)["#2009"]; len(r.Order.Lines) != 2 || r.Ref.Rows != 2 || r.Ref.Line != 10 {
		t.Errorf("#2009 (two rows): %s", jsonOf(t, r))
	}
	// The rejected orders' rows are counted.
	if rejs[7].Rows != 2 || rejs[8].Rows != 2 || rejs[0].Rows != 1 {
		t.Errorf("rows of rejected orders: %d %d %d", rejs[7].Rows, rejs[8].Rows, rejs[0].Rows)
	}
}

// TestShopifyContinuationRows: rows after an order's first may leave its
// Name empty or repeat it; a row that cannot be read refuses the order it
// is in, and the order after it too when the row's own order cannot be
// told (rather than read that order without one of its lines).
func TestShopifyContinuationRows(t *testing.T) {
	t.Parallel()
	const head = "Name,Financial Status,Currency,Total,Created at,Lineitem quantity,Lineitem price,Id\n"
	data := head +
		"#1,paid,USD,30.00,2026-01-01 10:00:00 +0000,1,10.00,1\n" +
		",,,,,2,10.00,\n" + // continues #1
		"#2,paid,USD,10.00,2026-01-02 10:00:00 +0000,1,10.00,2\n" +
		"#\"3,paid,USD,10.00,2026-01-03 10:00:00 +0000,1,10.00,3\n" + // a bare quote: whose row is it?
		"#4,paid,USD,10.00,2026-01-04 10:00:00 +0000,1,10.00,4\n" +
		"#5,paid,USD,10.00,2026-01-05 10:00:00 +0000,1,10.00,5\n"
	recs, rejs := readAll(t, []byte(data), importer.Options{})
	if len(recs) != 2 || recs[0].Order.ID != "1" || len(recs[0].Order.Lines) != 2 || recs[0].Order.Lines[1].Subtotal != usd("20.00") || recs[1].Order.ID != "5" {
		for _, r := range recs {
			t.Logf("read %s", jsonOf(t, r.Order))
		}
		t.Errorf("%d orders read, want #1 and #5", len(recs))
	}
	checkRejections(t, rejs, []wantRejection{
		{5, "#2", importer.ErrBadRow, `a quote (") inside an unquoted field, line 5`},
		{6, "#4", importer.ErrBadRow, "follows an unreadable row (line 5)"},
	})
}
