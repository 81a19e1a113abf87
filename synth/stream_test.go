package synth_test

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/synth"
)

func stream(t *testing.T, o synth.Options) *synth.Stream {
	t.Helper()
	s, err := synth.NewStream(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStreamShapes(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o := synth.Options{Seed: 1, Customers: 2000, Orders: 5000, End: end}
	st := generate(t, o)
	if len(st.Customers) != 2000 || len(st.Orders) != 5000 {
		t.Fatalf("%d customers and %d orders, want 2000 and 5000", len(st.Customers), len(st.Orders))
	}
	checkShapes(t, st, end)
	byID := map[string]commerce.Customer{}
	for _, c := range st.Customers {
		byID[c.ID] = c
	}
	for i, ord := range st.Orders {
		if want := 1001 + i; ord.ID != strconv.Itoa(want) {
			t.Fatalf("order %d has id %s, want %d", i, ord.ID, want)
		}
		c, ok := byID[ord.CustomerID]
		if !ok {
			t.Fatalf("order %s names customer %s, who is not in the store", ord.ID, ord.CustomerID)
		}
		if ord.Email != c.Email {
			t.Fatalf("order %s: e-mail %s, its customer's is %s", ord.ID, ord.Email, c.Email)
		}
		if ord.ProcessedTime().Before(c.CreatedAt) || ord.UpdatedAt.After(c.UpdatedAt) {
			t.Fatalf("order %s (%s, updated %s) outside its customer's life (created %s, updated %s)",
				ord.ID, ord.ProcessedTime(), ord.UpdatedAt, c.CreatedAt, c.UpdatedAt)
		}
	}
}

func TestStreamDeterministic(t *testing.T) {
	t.Parallel()
	o := synth.Options{Seed: 7, Customers: 300, Orders: 1000}
	a, b := generate(t, o), generate(t, o)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same options gave different stores")
	}
	o.Seed = 8
	if c := generate(t, o); reflect.DeepEqual(a.Orders, c.Orders) {
		t.Error("another seed gave the same orders")
	}
	// A customer rebuilt alone is the customer of the whole store.
	s := stream(t, synth.Options{Seed: 7, Customers: 300, Orders: 1000})
	for _, i := range []int{0, 17, 299} {
		if got := s.Customer(i); !reflect.DeepEqual(got, a.Customers[i]) {
			t.Errorf("customer %d alone: %+v, in the store: %+v", i, got, a.Customers[i])
		}
		// And it is found again by its id.
		if j, ok := s.CustomerIndex(a.Customers[i].ID); !ok || j != i {
			t.Errorf("CustomerIndex(%s) = %d, %v; want %d", a.Customers[i].ID, j, ok, i)
		}
	}
	for _, id := range []string{"", "5000", "5301", "x"} {
		if j, ok := s.CustomerIndex(id); ok {
			t.Errorf("CustomerIndex(%q) = %d: want none of the 300 customers", id, j)
		}
	}
}

// TestStreamExactCounts asks for orders far beyond and far below what the
// customers' habits would place, and for the smallest stores.
func TestStreamExactCounts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ customers, orders int }{
		{1, 10}, {3, 1}, {10, 1000}, {1000, 50}, {500, 30_000}, {2, 0},
	} {
		s := stream(t, synth.Options{Seed: 5, Customers: tc.customers, Orders: tc.orders})
		if s.OrderCount() != tc.orders && tc.orders > 0 {
			t.Errorf("%d customers, %d orders: OrderCount %d", tc.customers, tc.orders, s.OrderCount())
		}
		n, sum := 0, 0
		var last time.Time
		for ord := range s.Orders() {
			if ord.ProcessedTime().Before(last) {
				t.Fatalf("%d customers, %d orders: order %s out of time order", tc.customers, tc.orders, ord.ID)
			}
			if err := ord.Validate(); err != nil {
				t.Fatal(err)
			}
			last = ord.ProcessedTime()
			n++
		}
		for i := range s.CustomerCount() {
			sum += s.OrdersOf(i)
		}
		if n != s.OrderCount() || sum != n {
			t.Errorf("%d customers, %d orders: yielded %d, OrderCount %d, per customer %d", tc.customers, tc.orders, n, s.OrderCount(), sum)
		}
	}
}

func TestStreamConcentration(t *testing.T) {
	t.Parallel()
	s := stream(t, synth.Options{Seed: 9, Customers: 4000, Orders: 10_000})
	spend := map[string]int64{}
	var total int64
	for ord := range s.Orders() {
		spend[ord.CustomerID] += ord.Total.Minor
		total += ord.Total.Minor
	}
	var top []int64
	for _, v := range spend {
		top = append(top, v)
	}
	// The top fifth of the customers spend most of the money.
	slices.Sort(top)
	slices.Reverse(top)
	var head int64
	for _, v := range top[:len(top)/5] {
		head += v
	}
	if share := float64(head) / float64(total); share < 0.5 {
		t.Errorf("the top fifth of the buyers spend %.0f %% of the total, want most of it", 100*share)
	}
}

func TestStreamExponents(t *testing.T) {
	t.Parallel()
	for _, cur := range []string{"JPY", "KWD", "USD"} {
		for ord := range stream(t, synth.Options{Seed: 3, Customers: 50, Orders: 200, Currency: cur}).Orders() {
			if ord.Currency != cur || ord.Total.Currency != cur {
				t.Fatalf("%s store: order in %s/%s", cur, ord.Currency, ord.Total.Currency)
			}
		}
	}
}

func TestStreamErrors(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := synth.NewStream(synth.Options{Customers: 0, Orders: 5}); !errors.Is(err, synth.ErrNoBuyers) {
		t.Errorf("orders without customers: %v, want ErrNoBuyers", err)
	}
	for _, o := range []synth.Options{
		{Customers: -1},
		{Customers: 5, Orders: -1},
		{Customers: 5, Currency: "XXX"},
		{Customers: 5, Start: start, End: start},
	} {
		if _, err := synth.NewStream(o); err == nil {
			t.Errorf("%+v was accepted", o)
		}
	}
}

// TestStreamStops checks that a consumer can stop the iteration.
func TestStreamStops(t *testing.T) {
	t.Parallel()
	s := stream(t, synth.Options{Seed: 1, Customers: 100, Orders: 500})
	n := 0
	for range s.Orders() {
		n++
		if n == 10 {
			break
		}
	}
	m := 0
	for range s.Customers() {
		m++
		if m == 3 {
			break
		}
	}
	if n != 10 || m != 3 {
		t.Errorf("stopped after %d orders and %d customers, want 10 and 3", n, m)
	}
}
