package importer_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/importer"
	"github.com/loyaltyd/loyaltyd/synth"
)

// synthStore is a small generated store: refunds, cancellations, codes,
// several lines an order.
func synthStore(t testing.TB, customers int, currency string) synth.Store {
	t.Helper()
	st, err := synth.Generate(synth.Options{Seed: 7, Customers: customers, Currency: currency,
		Start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func write(t testing.TB, o importer.Options, orders []commerce.Order, customers map[string]*commerce.Customer) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := importer.NewWriter(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range orders {
		if err := w.Write(&orders[i], customers[orders[i].CustomerID]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestWriterRoundTrip: what a Writer writes, a Reader reads back; and an
// order read from a file, written and read again, is the same order. JSON
// lines keep an order whole.
func TestWriterRoundTrip(t *testing.T) {
	t.Parallel()
	for _, cur := range []string{"USD", "JPY", "KWD"} {
		st := synthStore(t, 150, cur)
		customers := map[string]*commerce.Customer{}
		for i := range st.Customers {
			customers[st.Customers[i].ID] = &st.Customers[i]
		}
		for _, f := range importer.Formats {
			o := importer.Options{Format: f, Location: tallinn}
			first := write(t, o, st.Orders, customers)
			recs, rejs := readAll(t, first, o)
			if len(rejs) > 0 || len(recs) != len(st.Orders) {
				t.Fatalf("%s %s: %d of %d orders read back, rejections %v", cur, f, len(recs), len(st.Orders), rejs)
			}
			orders := make([]commerce.Order, len(recs))
			again := map[string]*commerce.Customer{}
			for i, r := range recs {
				orders[i] = r.Order
				if r.Customer != nil {
					again[r.Customer.ID] = r.Customer
				}
			}
			second := write(t, o, orders, again)
			recs2, _ := readAll(t, second, o)
			for i := range recs {
				if a, b := jsonOf(t, recs2[i].Order), jsonOf(t, recs[i].Order); a != b {
					t.Fatalf("%s %s: order read, written and read again differs:\n%s\n%s", cur, f, a, b)
				}
				if a, b := jsonOf(t, recs2[i].Customer), jsonOf(t, recs[i].Customer); a != b {
					t.Fatalf("%s %s: customer read, written and read again differs:\n%s\n%s", cur, f, a, b)
				}
			}
			if third := write(t, o, orders, again); !bytes.Equal(second, third) {
				t.Errorf("%s %s: writing the same orders twice differs", cur, f)
			}
			if f == importer.FormatJSONL {
				for i := range st.Orders {
					if a, b := jsonOf(t, recs[i].Order), jsonOf(t, st.Orders[i]); a != b {
						t.Fatalf("%s: JSON lines lost something:\n%s\n%s", cur, a, b)
					}
				}
			}
		}
	}
}
