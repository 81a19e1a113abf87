package importer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/importer"
)

// tallinn is the zone the WooCommerce samples were exported in.
var tallinn = mustZone("Europe/Tallinn")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// readAll reads every order of data, and every rejection.
func readAll(t testing.TB, data []byte, o importer.Options) ([]importer.Record, []*importer.RowError) {
	t.Helper()
	r, err := importer.NewReader(bytes.NewReader(data), o)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var recs []importer.Record
	var rejs []*importer.RowError
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return recs, rejs
		}
		var re *importer.RowError
		if errors.As(err, &re) {
			rejs = append(rejs, re)
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		recs = append(recs, rec)
	}
}

func readFile(t testing.TB, name string, o importer.Options) ([]importer.Record, []*importer.RowError) {
	t.Helper()
	return readAll(t, testdata(t, name), o)
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func usd(s string) commerce.Money { return commerce.MustParseMoney(s, "USD") }
func eur(s string) commerce.Money { return commerce.MustParseMoney(s, "EUR") }

// jsonOf is an order's (or customer's) JSON form, which says everything
// the store keeps of it.
func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// byNumber indexes records by order number.
func byNumber(recs []importer.Record) map[string]importer.Record {
	m := map[string]importer.Record{}
	for _, r := range recs {
		m[r.Order.Number] = r
	}
	return m
}

// wantRejection is a rejection a broken sample must produce.
type wantRejection struct {
	line  int
	order string
	err   error  // errors.Is target
	text  string // in the message
}

func checkRejections(t *testing.T, got []*importer.RowError, want []wantRejection) {
	t.Helper()
	if len(got) != len(want) {
		for _, g := range got {
			t.Logf("got: %v", g)
		}
		t.Fatalf("%d rejections, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Line != w.line || g.Order != w.order || !errors.Is(g, w.err) || !strings.Contains(g.Error(), w.text) {
			t.Errorf("rejection %d = %q (line %d, order %q), want line %d, order %q, %v, containing %q",
				i, g, g.Line, g.Order, w.line, w.order, w.err, w.text)
		}
	}
}

func TestDetectFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data string
		want       importer.Format
		err        error
		text       string
	}{
		{"shopify", "Name,Email,Financial Status,Currency,Total,Created at,Lineitem quantity,Lineitem price,Id\n", importer.FormatShopifyCSV, nil, ""},
		{"shopify with BOM and CRLF", "\ufeffName,Financial Status,Currency,Total,Created at,Lineitem quantity,Lineitem price,Id\r\n", importer.FormatShopifyCSV, nil, ""},
		{"woocommerce keys", "order_id,order_date,status,order_total,order_currency,line_items\n", importer.FormatWooCommerceCSV, nil, ""},
		{"woocommerce labels", "Order ID,Order Date,Status,Order Total,Order Currency,Line Items\n", importer.FormatWooCommerceCSV, nil, ""},
		{"json lines after a blank line", "\n  \n{\"id\":\"1\"}\n", importer.FormatJSONL, nil, ""},
		{"empty", "", "", importer.ErrUnknownFormat, "empty"},
		{"blank", "\n\n \n", "", importer.ErrUnknownFormat, "empty"},
		{"other csv", "sku,price\nA,1\n", "", importer.ErrUnknownFormat, "none of shopify-csv, woocommerce-csv, jsonl"},
		{"woocommerce analytics", "Date,Order #,Status,Customer,Customer type,Product(s),Items sold,Coupon(s),Net Sales\n", "", importer.ErrUnknownFormat, "Analytics"},
		{"shopify without Id", "Name,Financial Status,Currency,Total,Created at,Lineitem quantity,Lineitem price\n", "", importer.ErrMissingColumn, `"Id"`},
		{"woocommerce without items", "order_id,order_date,status,order_total,order_currency\n", "", importer.ErrMissingColumn, "line_items"},
		{"duplicate column", "Name,Name,Financial Status,Lineitem quantity\n", "", importer.ErrUnknownFormat, "twice"},
		{"first line too long", strings.Repeat("x", 70<<10), "", importer.ErrUnknownFormat, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := importer.NewReader(strings.NewReader(tt.data), importer.Options{Location: time.UTC})
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.text) {
					t.Fatalf("NewReader: %v, want %v containing %q", err, tt.err, tt.text)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			if r.Format() != tt.want {
				t.Errorf("format %s, want %s", r.Format(), tt.want)
			}
		})
	}
}

func TestFormatOptions(t *testing.T) {
	t.Parallel()
	if _, err := importer.ParseFormat("xlsx"); !errors.Is(err, importer.ErrUnknownFormat) {
		t.Errorf("ParseFormat(xlsx): %v", err)
	}
	for _, f := range importer.Formats {
		if got, err := importer.ParseFormat(string(f)); err != nil || got != f {
			t.Errorf("ParseFormat(%s) = %s, %v", f, got, err)
		}
	}
	// A format named overrides detection: a Shopify file read as JSON
	// lines is rows that are not orders, each refused.
	_, rejs := readFile(t, "shopify_orders.csv", importer.Options{Format: importer.FormatJSONL})
	if len(rejs) == 0 || !errors.Is(rejs[0], importer.ErrBadValue) || rejs[0].Line != 1 {
		t.Errorf("Shopify CSV read as JSON lines: %v", rejs)
	}
	// WooCommerce times have no zone: the reader needs one.
	if _, err := importer.NewReader(bytes.NewReader(testdata(t, "woocommerce_items.csv")), importer.Options{}); err == nil {
		t.Error("WooCommerce export read without a time zone")
	}
}

// TestReadAgain checks the second pass of an import: every order read
// again by its Ref is the order the first pass read.
func TestReadAgain(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"shopify_orders.csv", "shopify_broken.csv", "woocommerce_items.csv", "woocommerce_orders.csv",
		"woocommerce_broken.csv", "orders.jsonl", "broken.jsonl"} {
		data := testdata(t, name)
		r, err := importer.NewReader(bytes.NewReader(data), importer.Options{Location: tallinn})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				continue
			}
			again, err := r.ReadAgain(bytes.NewReader(data), rec.Ref)
			if err != nil {
				t.Fatalf("%s line %d: ReadAgain: %v", name, rec.Ref.Line, err)
			}
			if a, b := jsonOf(t, again), jsonOf(t, rec); a != b {
				t.Errorf("%s line %d: read again\n%s\nwant\n%s", name, rec.Ref.Line, a, b)
			}
			n++
			// A file changed since is an error, not another order.
			changed := bytes.Clone(data)
			copy(changed[rec.Ref.Offset:], "\"\"\"\"")
			if _, err := r.ReadAgain(bytes.NewReader(changed), rec.Ref); err == nil {
				t.Errorf("%s line %d: read again from a changed file without an error", name, rec.Ref.Line)
			}
		}
		if n == 0 {
			t.Errorf("%s: no orders", name)
		}
	}
}

// TestRowTooLong: a quote left open makes one row of the rest of a CSV
// file; the reader stops instead of holding it. A JSON line too long is
// refused, and reading goes on.
func TestRowTooLong(t *testing.T) {
	t.Parallel()
	var csv bytes.Buffer
	csv.WriteString("Name,Financial Status,Currency,Total,Created at,Lineitem quantity,Lineitem price,Id\n")
	csv.WriteString("#1,paid,USD,1.00,2026-01-01 10:00:00 +0000,1,1.00,1\n")
	csv.WriteString("#2,\"paid,USD\n")
	for csv.Len() < importer.MaxRecordBytes+(1<<20) {
		csv.WriteString("#3,paid,USD,1.00,2026-01-01 10:00:00 +0000,1,1.00,3\n")
	}
	r, err := importer.NewReader(&csv, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := r.Next(); err != nil || rec.Order.ID != "1" {
		t.Fatalf("first order: %v %v", rec.Order.ID, err)
	}
	if _, err := r.Next(); !errors.Is(err, importer.ErrRecordTooLong) {
		t.Fatalf("unclosed quote: %v, want ErrRecordTooLong", err)
	}

	line := `{"id":"1","currency":"USD","state":"paid","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","total":null}`
	data := strings.Repeat(" ", importer.MaxRecordBytes+10) + line + "\n" + line + "\n"
	recs, rejs := readAll(t, []byte("\n"+data), importer.Options{Format: importer.FormatJSONL})
	if len(rejs) != 1 || rejs[0].Line != 2 || !errors.Is(rejs[0], importer.ErrRecordTooLong) || len(recs) != 1 || recs[0].Ref.Line != 3 {
		t.Errorf("long JSON line: %v, %d orders", rejs, len(recs))
	}
}
