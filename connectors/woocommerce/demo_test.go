package woocommerce

import (
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/woocommerce/wootest"
	"github.com/loyaltyd/loyaltyd/synth"
)

// TestSyntheticStore puts a synthetic store, as `loyaltyd demo` generates
// it, on the fake through OrderFromCommerce and CustomerFromCommerce, and
// reads it back: what the demo will do. States, totals and refunds must
// survive the trip (cancellation times aside, which WooCommerce lacks).
func TestSyntheticStore(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	gen, err := synth.Generate(synth.Options{Seed: 7, Customers: 40, Start: end.AddDate(0, -6, 0), End: end})
	if err != nil {
		t.Fatal(err)
	}
	srv := wootest.NewServer(wootest.Options{})
	defer srv.Close()
	want := map[string]commerce.Order{}
	for _, c := range gen.Customers {
		w, err := wootest.CustomerFromCommerce(c, TagsMetaKey)
		if err != nil {
			t.Fatal(err)
		}
		srv.PutCustomer(w)
	}
	for _, o := range gen.Orders {
		w, err := wootest.OrderFromCommerce(o)
		if err != nil {
			t.Fatal(err)
		}
		srv.PutOrder(w)
		want[o.ID] = o
	}
	c := open(t, srv, AuthOAuth1, "")
	pages := readAll(t, c.Orders, connectors.Cursor{}, nil)
	got := 0
	for _, pg := range pages {
		for _, o := range pg.Items {
			got++
			w := want[o.ID]
			if o.State != w.State || o.Total != w.Total || o.CustomerID != w.CustomerID || o.Cancelled() != w.Cancelled() || len(o.Refunds) != len(w.Refunds) {
				t.Errorf("order %s: state %s total %v customer %s refunds %d; want %s %v %s %d",
					o.ID, o.State, o.Total, o.CustomerID, len(o.Refunds), w.State, w.Total, w.CustomerID, len(w.Refunds))
				continue
			}
			for i := range w.Refunds {
				if o.Refunds[i].Amount != w.Refunds[i].Amount || len(o.Refunds[i].Lines) != len(w.Refunds[i].Lines) {
					t.Errorf("order %s refund %d: %+v, want %+v", o.ID, i, o.Refunds[i], w.Refunds[i])
				}
			}
		}
	}
	if got != len(want) || got == 0 {
		t.Errorf("read %d orders, want %d", got, len(want))
	}
	customers := 0
	for _, pg := range readAll(t, c.Customers, connectors.Cursor{}, nil) {
		customers += len(pg.Items)
	}
	if customers < len(gen.Customers) {
		t.Errorf("read %d customers, want at least %d", customers, len(gen.Customers))
	}
}
