package importer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/importer"
)

func TestJSONLines(t *testing.T) {
	t.Parallel()
	recs, rejs := readFile(t, "orders.jsonl", importer.Options{})
	if len(rejs) > 0 || len(recs) != 4 {
		t.Fatalf("%d orders, rejections %v", len(recs), rejs)
	}
	o := recs[0].Order
	if o.ID != "9001" || o.CustomerID != "c1" || o.Lines[0].Discount != usd("5.00") || o.Codes[0].Code != "WELCOME10" || o.Total != usd("53.60") {
		t.Errorf("9001: %s", jsonOf(t, o))
	}
	if c := recs[0].Customer; c == nil || c.ID != "c1" || c.Email != "ann@example.com" || !c.CreatedAt.Equal(o.CreatedAt) || !c.UpdatedAt.IsZero() {
		t.Errorf("9001 customer: %+v", c)
	}
	// Times are kept in UTC: 12:00 at +02:00 is 10:00.
	o = recs[1].Order
	if !o.CreatedAt.Equal(time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC)) || o.CreatedAt.Location() != time.UTC ||
		o.State != commerce.StatePartiallyRefunded || o.Refunds[0].Lines[0].LineID != "9002-2" {
		t.Errorf("9002: %s", jsonOf(t, o))
	}
	if o := recs[2].Order; !o.Cancelled() {
		t.Errorf("9003 is cancelled: %s", jsonOf(t, o))
	}
	if o := recs[3].Order; !o.Test {
		t.Errorf("9004 is a test order: %s", jsonOf(t, o))
	}
	if recs[3].Ref.Line != 4 || recs[3].Ref.Rows != 1 {
		t.Errorf("9004 ref %+v", recs[3].Ref)
	}
}

func TestJSONLinesBroken(t *testing.T) {
	t.Parallel()
	recs, rejs := readFile(t, "broken.jsonl", importer.Options{})
	checkRejections(t, rejs, []wantRejection{
		{2, "8002", importer.ErrBadValue, `amount "12.3.4" USD: not a decimal number`},
		{3, "8003", commerce.ErrTooManyDecimals, `amount "53.605" USD: too many decimals`},
		{4, "8004", importer.ErrUnknownCurrency, `"USDX"`},
		{5, "", importer.ErrMissing, "no id"},
		{6, "8006", importer.ErrBadValue, "day out of range"},
		{7, "8007", importer.ErrUnknownStatus, `"shipped"`},
		{8, "8008", importer.ErrBadValue, `unknown field "customerid"`},
		{10, "8010", importer.ErrBadValue, "data after the order"},
		{11, "", importer.ErrBadValue, "invalid character"},
		{12, "8012", importer.ErrBadValue, "currency EUR differs from the order's USD"},
		{13, "8013", importer.ErrInconsistent, "total: 5.00 is not in the order's currency USD"},
	})
	if len(recs) != 2 || recs[0].Order.ID != "8001" || recs[1].Order.ID != "8014" || recs[1].Ref.Line != 14 {
		t.Errorf("orders read: %d", len(recs))
	}
}

// TestBounds: amounts, quantities and times beyond what any order holds are
// refused, so that no sum the rules make can overflow and every time can
// be written back as JSON.
func TestBounds(t *testing.T) {
	t.Parallel()
	line := func(s string) string {
		return `{"id":"1","currency":"USD","state":"paid","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z",` + s + "}\n"
	}
	for _, tt := range []struct{ name, data, text string }{
		{"huge amount", line(`"total":{"amount":"90000000000000.00","currency":"USD"}`), "beyond the largest amount"},
		{"huge quantity", line(`"lines":[{"id":"a","quantity":2000000,"subtotal":{"amount":"1.00","currency":"USD"}}]`), "out of range"},
		{"negative line", line(`"lines":[{"id":"a","quantity":1,"subtotal":{"amount":"-1.00","currency":"USD"}}]`), "negative"},
		{"negative refund", line(`"refunds":[{"id":"r","created_at":"2026-01-01T00:00:00Z","amount":{"amount":"-1.00","currency":"USD"}}]`), "negative"},
		{"year 9999", strings.Replace(line(`"total":null`), `"updated_at":"2026-01-01T00:00:00Z"`, `"updated_at":"9999-12-31T23:00:00-05:00"`, 1), "out of range"},
		{"no creation time", strings.Replace(line(`"total":null`), `"created_at":"2026-01-01T00:00:00Z",`, "", 1), "no creation time"},
	} {
		_, rejs := readAll(t, []byte(tt.data), importer.Options{})
		if len(rejs) != 1 || !strings.Contains(rejs[0].Error(), tt.text) {
			t.Errorf("%s: %v, want one rejection saying %q", tt.name, rejs, tt.text)
		}
	}
	// CSV amounts and line totals are bounded too.
	const head = "Name,Financial Status,Currency,Total,Created at,Lineitem quantity,Lineitem price,Id\n"
	_, rejs := readAll(t, []byte(head+"#1,paid,USD,1.00,2026-01-01 10:00:00 +0000,1000000,9000000000.00,1\n"), importer.Options{})
	if len(rejs) != 1 || !strings.Contains(rejs[0].Error(), "out of range") {
		t.Errorf("price × quantity beyond bounds: %v", rejs)
	}
}
