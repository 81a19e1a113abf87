package synth_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/synth"
)

func generate(t *testing.T, o synth.Options) synth.Store {
	t.Helper()
	st, err := synth.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	o := synth.Options{Seed: 7, Customers: 200}
	a, b := generate(t, o), generate(t, o)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same options gave different stores")
	}
	o.Seed = 8
	if c := generate(t, o); reflect.DeepEqual(a.Orders, c.Orders) {
		t.Error("another seed gave the same orders")
	}
}

func TestShapes(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := generate(t, synth.Options{Seed: 1, Customers: 2000, End: end})
	if len(st.Customers) != 2000 {
		t.Fatalf("%d customers", len(st.Customers))
	}
	checkShapes(t, st, end)
}

// checkShapes checks that a generated store looks like a store: valid
// orders in time order within the period, totals that add up, and the
// shares of refunds, cancellations, codes and repeat buyers asked for.
func checkShapes(t *testing.T, st synth.Store, end time.Time) {
	t.Helper()
	var refunded, cancelled, coded int
	perCustomer := map[string]int{}
	for i, o := range st.Orders {
		if err := o.Validate(); err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
		if i > 0 && o.ProcessedTime().Before(st.Orders[i-1].ProcessedTime()) {
			t.Fatalf("orders not sorted by processing time at %d", i)
		}
		if o.ProcessedTime().After(end) || o.UpdatedAt.After(end) {
			t.Fatalf("order %s after the end of the period", o.ID)
		}
		// The total is exactly the lines after discounts, shipping and tax.
		sum := o.Shipping.Add(o.Tax)
		for _, l := range o.Lines {
			sum = sum.Add(l.Net())
		}
		if sum != o.Total {
			t.Fatalf("order %s: total %s, parts %s", o.ID, o.Total, sum)
		}
		if len(o.Refunds) > 0 {
			refunded++
		}
		if o.Cancelled() {
			cancelled++
		}
		if len(o.Codes) > 0 {
			coded++
		}
		perCustomer[o.CustomerID]++
	}
	n := len(st.Orders)
	share := func(k int) float64 { return float64(k) / float64(n) }
	if s := share(refunded); s < 0.04 || s > 0.09 {
		t.Errorf("refunded share %.3f, want about 5–7 %% (refunds and cancellations)", s)
	}
	if s := share(cancelled); s < 0.01 || s > 0.04 {
		t.Errorf("cancelled share %.3f, want about 2 %%", s)
	}
	if s := share(coded); s < 0.10 || s > 0.20 {
		t.Errorf("discount code share %.3f, want about 15 %%", s)
	}
	once, many := 0, 0
	for _, k := range perCustomer {
		if k == 1 {
			once++
		}
		if k >= 12 {
			many++
		}
	}
	if once < len(perCustomer)/3 || many == 0 {
		t.Errorf("%d one-time buyers and %d big buyers among %d: want many of the first and a few of the second", once, many, len(perCustomer))
	}
}

func TestExponents(t *testing.T) {
	t.Parallel()
	for _, cur := range []string{"JPY", "KWD", "EUR"} {
		st := generate(t, synth.Options{Seed: 3, Customers: 50, Currency: cur})
		for _, o := range st.Orders {
			if o.Currency != cur || o.Total.Currency != cur {
				t.Fatalf("%s store: order in %s/%s", cur, o.Currency, o.Total.Currency)
			}
		}
	}
	if _, err := synth.Generate(synth.Options{Currency: "XXX"}); err == nil {
		t.Error("an unknown currency was accepted")
	}
}

func TestHistory(t *testing.T) {
	t.Parallel()
	st := generate(t, synth.Options{Seed: 2, Customers: 300})
	for _, o := range st.Orders {
		h := synth.History(o)
		last := h[len(h)-1]
		if !reflect.DeepEqual(last, o) {
			t.Fatalf("order %s: the last version is not the order", o.ID)
		}
		if len(h) == 2 {
			if h[0].State != commerce.StatePaid || len(h[0].Refunds) != 0 || h[0].Cancelled() || !h[0].UpdatedAt.Before(h[1].UpdatedAt) {
				t.Fatalf("order %s: first version %+v", o.ID, h[0])
			}
		}
	}
}
