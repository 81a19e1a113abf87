package importer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/loyaltyd/loyaltyd/importer"
)

// The fuzz targets read any bytes as one format. A reader must never
// panic, must stop (each call reads something or ends), must give every
// rejection a line, and must accept only orders it can round-trip: an
// accepted order validates, reads the same again from its Ref, and, written
// back in the format by a Writer, reads back as the same order and
// customer. Findings are kept under testdata/fuzz.

func FuzzImportShopifyCSV(f *testing.F) {
	f.Add(testdata(f, "shopify_orders.csv"))
	f.Add(testdata(f, "shopify_broken.csv"))
	head := "Name,Email,Financial Status,Paid at,Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Lineitem discount,Vendor,Id,Refunded Amount,Cancelled at,Tags,Shipping Zip\n"
	f.Add([]byte(head + "#1,a@example.com,partially_refunded,,JPY,900,0,0,1000,C,100,2026-01-01 10:00:00 +0900,2,\"x, \"\"y\"\"\",500,S,100,V,00012,10,,,'0123\n,,,,,,,,,,,,1,z,0,,,,,,,,\n"))
	f.Add([]byte(head + "#2,,paid,2026-01-02T10:00:00Z,KWD,1.000,0,0,1.000,,,2026-01-01T10:00:00+03:00,1,a,1.000,,0.001,,2,,2026-01-03 10:00:00 +0000,\"a,b\",\n"))
	fuzzFormat(f, importer.FormatShopifyCSV)
}

func FuzzImportWooCommerceCSV(f *testing.F) {
	f.Add(testdata(f, "woocommerce_items.csv"))
	f.Add(testdata(f, "woocommerce_orders.csv"))
	f.Add(testdata(f, "woocommerce_broken.csv"))
	f.Add([]byte("order_id,order_date,status,order_total,order_currency,customer_id,billing_email,line_items,coupons,refunds\n" +
		`7,2026-01-01 10:00:00,wc-completed,10.00,EUR,0,A+b@X.com,id:1|name:a\|b\:c|quantity:1|subtotal:12|total:10|refunded:5|refunded_qty:'-1,code:x\;y|amount:2,id:9|date:2026-01-02 10:00:00|amount:5|reason:r` + "\n"))
	fuzzFormat(f, importer.FormatWooCommerceCSV)
}

func FuzzImportJSONL(f *testing.F) {
	f.Add(testdata(f, "orders.jsonl"))
	f.Add(testdata(f, "broken.jsonl"))
	f.Add([]byte(`{"id":"1","currency":"jpy","state":"paid","created_at":"2026-01-01T00:00:00+09:00","updated_at":"2026-01-01T00:00:00Z","total":{"amount":"1","currency":"JPY"}}` + "\n\n"))
	fuzzFormat(f, importer.FormatJSONL)
}

func fuzzFormat(f *testing.F, format importer.Format) {
	o := importer.Options{Format: format, Location: tallinn}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := importer.NewReader(bytes.NewReader(data), o)
		if err != nil {
			return
		}
		for calls := 0; ; calls++ {
			if calls > len(data)+2 {
				t.Fatalf("%d calls to Next on %d bytes: the reader does not stop", calls, len(data))
			}
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			var re *importer.RowError
			if errors.As(err, &re) {
				if re.Line < 1 || re.Rows < 1 || re.Err == nil {
					t.Fatalf("rejection without its place: %+v", re)
				}
				continue
			}
			if err != nil {
				return // the file cannot be read further
			}
			roundTrip(t, o, data, r, rec)
		}
	})
}

// roundTrip checks an accepted order.
func roundTrip(t *testing.T, o importer.Options, data []byte, r *importer.Reader, rec importer.Record) {
	t.Helper()
	if err := rec.Order.Validate(); err != nil {
		t.Fatalf("accepted an order that does not validate: %v\n%s", err, jsonOf(t, rec.Order))
	}
	if _, err := json.Marshal(rec.Order); err != nil {
		t.Fatalf("accepted an order the store cannot keep: %v", err)
	}
	if rec.Ref.Line < 1 || rec.Ref.Rows < 1 || rec.Ref.Length < 1 || rec.Ref.Offset+rec.Ref.Length > int64(len(data)) {
		t.Fatalf("bad ref %+v for %d bytes", rec.Ref, len(data))
	}
	again, err := r.ReadAgain(bytes.NewReader(data), rec.Ref)
	if err != nil {
		t.Fatalf("cannot read the order again: %v", err)
	}
	if a, b := jsonOf(t, again), jsonOf(t, rec); a != b {
		t.Fatalf("read again differs:\n%s\n%s", a, b)
	}
	var buf bytes.Buffer
	w, err := importer.NewWriter(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&rec.Order, rec.Customer); err != nil {
		t.Fatalf("cannot write the order back: %v", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	back, rejs := readAll(t, buf.Bytes(), o)
	if len(rejs) > 0 || len(back) != 1 {
		t.Fatalf("written back, the order reads as %d orders and %v:\n%s", len(back), rejs, buf.String())
	}
	if a, b := jsonOf(t, back[0].Order), jsonOf(t, rec.Order); a != b {
		t.Fatalf("written back, the order reads differently:\n%s\nwant\n%s\nfile:\n%s", a, b, buf.String())
	}
	if a, b := jsonOf(t, back[0].Customer), jsonOf(t, rec.Customer); a != b {
		t.Fatalf("written back, the customer reads differently:\n%s\nwant\n%s", a, b)
	}
	if strings.ContainsRune(rec.Order.ID, '\n') {
		t.Fatalf("an order id with a newline: %q", rec.Order.ID)
	}
}
