package woocommerce

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/woocommerce/wootest"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// readAll reads a window to its end, calling between(page) after each
// page, and returns the pages.
func readAll[T any](t *testing.T, read func(context.Context, connectors.Cursor) (connectors.Page[T], error), cur connectors.Cursor, between func(int)) []connectors.Page[T] {
	t.Helper()
	var pages []connectors.Page[T]
	for i := 0; ; i++ {
		if i > 2000 {
			t.Fatal("no Done after 2000 pages")
		}
		pg, err := read(t.Context(), cur)
		if err != nil {
			t.Fatalf("page %d from %+v: %v", i, cur, err)
		}
		pages = append(pages, pg)
		if pg.Done {
			return pages
		}
		if between != nil {
			between(i)
		}
		cur = pg.Next
	}
}

func orderIDs(pages []connectors.Page[commerce.Order]) map[string]int {
	seen := map[string]int{}
	for _, p := range pages {
		for _, o := range p.Items {
			seen[o.ID]++
		}
	}
	return seen
}

// checkOrdering reports a page out of (UpdatedAt, ID) order, ids compared
// as strings, or a page that goes back in time.
func checkOrdering(t *testing.T, pages []connectors.Page[commerce.Order]) {
	t.Helper()
	var last time.Time
	for p, pg := range pages {
		for i, o := range pg.Items {
			if i > 0 {
				prev := pg.Items[i-1]
				if o.UpdatedAt.Before(prev.UpdatedAt) || o.UpdatedAt.Equal(prev.UpdatedAt) && o.ID < prev.ID {
					t.Errorf("page %d: order %s follows %s", p, o.ID, prev.ID)
				}
			} else if o.UpdatedAt.Before(last) {
				t.Errorf("page %d starts before the previous page's end", p)
			}
			last = o.UpdatedAt
		}
	}
}

// TestFullRead is the suite's Orders/FullRead with every check but the
// exact cancellation time, which WooCommerce does not record.
func TestFullRead(t *testing.T) {
	t.Parallel()
	srv := wootest.NewServer(wootest.Options{})
	defer srv.Close()
	want := map[string]commerce.Order{}
	for i := range 23 {
		o := commerce.Order{
			ID: strconv.Itoa(5000 + i), Number: "#" + strconv.Itoa(1000+i), CustomerID: "77", Email: "buyer@example.com",
			Currency: "USD", CreatedAt: t0.Add(-time.Hour), UpdatedAt: t0.Add(time.Duration(i/3) * time.Minute),
			State: commerce.StatePaid, Total: commerce.MustParseMoney("17.50", "USD"), Shipping: commerce.MustParseMoney("5.00", "USD"),
			Lines: []commerce.LineItem{{ID: strconv.Itoa(9000 + i), Title: "Tea", Quantity: 1, Subtotal: commerce.MustParseMoney("12.50", "USD")}},
		}
		switch i % 5 {
		case 1:
			o.State = commerce.StatePending
		case 2:
			o.State = commerce.StatePartiallyRefunded
			o.Refunds = []commerce.Refund{{ID: strconv.Itoa(8000 + i), CreatedAt: o.UpdatedAt.Add(-time.Minute), Amount: commerce.MustParseMoney("12.50", "USD"),
				Lines: []commerce.RefundLine{{LineID: o.Lines[0].ID, Quantity: 1, Amount: commerce.MustParseMoney("12.50", "USD")}}}}
		case 3:
			o.State = commerce.StateRefunded
			o.Refunds = []commerce.Refund{{ID: strconv.Itoa(8000 + i), CreatedAt: o.UpdatedAt, Amount: o.Total}}
		case 4:
			o.State, o.CancelledAt = commerce.StateVoided, o.UpdatedAt.Add(-10*time.Minute)
		}
		w, err := wootest.OrderFromCommerce(o)
		if err != nil {
			t.Fatal(err)
		}
		srv.PutOrder(w)
		want[o.ID] = o
	}
	c := open(t, srv, AuthOAuth1, "page_size: 4\n")
	pages := readAll(t, c.Orders, connectors.Cursor{}, nil)
	checkOrdering(t, pages)
	if len(pages) < 5 {
		t.Errorf("%d pages, want at least 5 of at most 4", len(pages))
	}
	seen := orderIDs(pages)
	for _, pg := range pages {
		for _, got := range pg.Items {
			w := want[got.ID]
			if got.State != w.State || got.Total != w.Total || got.CustomerID != w.CustomerID || got.Email != w.Email ||
				!got.UpdatedAt.Equal(w.UpdatedAt) || got.Cancelled() != w.Cancelled() || got.Currency != w.Currency ||
				len(got.Lines) != 1 || got.Lines[0].Subtotal != w.Lines[0].Subtotal || len(got.Raw) == 0 {
				t.Errorf("order %s: got %+v\nwant %+v", got.ID, got, w)
			}
			if len(got.Refunds) != len(w.Refunds) {
				t.Errorf("order %s: %d refunds, want %d", got.ID, len(got.Refunds), len(w.Refunds))
				continue
			}
			for i, r := range w.Refunds {
				g := got.Refunds[i]
				if g.Amount != r.Amount || !g.CreatedAt.Equal(r.CreatedAt) || len(g.Lines) != len(r.Lines) {
					t.Errorf("order %s refund %s: got %+v, want %+v", got.ID, r.ID, g, r)
				}
			}
			if err := got.Validate(); err != nil {
				t.Errorf("order %s: %v", got.ID, err)
			}
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("order %s returned %d times, want once", id, seen[id])
		}
	}
}

// TestReadWhileChanging changes orders between pages, as a busy store
// does: orders already read and orders not yet read move to the end of the
// stream. Offset paging would skip one order per change; nothing may be
// skipped.
func TestReadWhileChanging(t *testing.T) {
	t.Parallel()
	srv := wootest.NewServer(wootest.Options{})
	defer srv.Close()
	for i := range 40 {
		srv.PutOrder(wootest.Order{ID: int64(100 + i), Status: "processing", Currency: "USD", Total: "1.00", Modified: t0.Add(time.Duration(i) * time.Second)})
	}
	c := open(t, srv, AuthOAuth1, "page_size: 5\n")
	until := t0.Add(time.Hour)
	var touched []int64
	pages := readAll(t, c.Orders, connectors.Cursor{Since: t0, Until: until}, func(p int) {
		// Touch an order read already and one not yet read.
		for _, id := range []int64{int64(100 + p), int64(139 - p)} {
			o, _ := srv.Order(id)
			o.Modified = t0.Add(30*time.Minute + time.Duration(p)*time.Second)
			srv.PutOrder(o)
			touched = append(touched, id)
		}
	})
	checkOrdering(t, pages)
	seen := orderIDs(pages)
	for i := range 40 {
		if id := strconv.Itoa(100 + i); seen[id] == 0 {
			t.Errorf("order %s was never returned", id)
		}
	}
	for id, n := range seen {
		if n > 1 && !slices.Contains(touched, mustInt(id)) {
			t.Errorf("order %s returned %d times though it never changed", id, n)
		}
	}
}

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// TestSameSecond reads more orders than a page holds, all modified in one
// second, with ids of different lengths, while one of them changes: the
// connector falls back to page numbers within the second and starts the
// second again when its X-WP-Total drops.
func TestSameSecond(t *testing.T) {
	t.Parallel()
	srv := wootest.NewServer(wootest.Options{})
	defer srv.Close()
	var ids []int64
	for i := range 23 {
		id := int64(90 + i) // 90 … 112: "100" sorts before "99"
		ids = append(ids, id)
		srv.PutOrder(wootest.Order{ID: id, Status: "completed", Currency: "USD", Total: "1.00", Modified: t0.Add(500 * time.Millisecond)})
	}
	srv.PutOrder(wootest.Order{ID: 500, Status: "completed", Currency: "USD", Total: "1.00", Modified: t0.Add(time.Second)})
	c := open(t, srv, AuthOAuth1, "page_size: 4\n")
	pages := readAll(t, c.Orders, connectors.Cursor{Since: t0, Until: t0.Add(time.Hour)}, func(p int) {
		if p == 1 {
			// The first order of the second changes and leaves it.
			o, _ := srv.Order(90)
			o.Modified = t0.Add(10 * time.Minute)
			srv.PutOrder(o)
		}
	})
	checkOrdering(t, pages)
	seen := orderIDs(pages)
	for _, id := range append(ids, 500) {
		if seen[strconv.FormatInt(id, 10)] == 0 {
			t.Errorf("order %d was never returned", id)
		}
	}
	for _, pg := range pages {
		if len(pg.Items) > 4 {
			t.Errorf("a page of %d orders, want at most 4", len(pg.Items))
		}
	}
}

// TestWindowBounds: Since is inclusive and Until exclusive, with orders
// exactly on both, fractions of seconds included.
func TestWindowBounds(t *testing.T) {
	t.Parallel()
	srv := wootest.NewServer(wootest.Options{})
	defer srv.Close()
	for i := range 10 {
		srv.PutOrder(wootest.Order{ID: int64(10 + i), Status: "processing", Currency: "USD", Total: "1.00", Modified: t0.Add(time.Duration(i) * time.Second)})
	}
	c := open(t, srv, AuthOAuth1, "page_size: 3\n")
	for _, tc := range []struct {
		since, until time.Time
		want         []string
	}{
		{t0.Add(2 * time.Second), t0.Add(5 * time.Second), []string{"12", "13", "14"}},
		{t0.Add(2*time.Second + time.Millisecond), t0.Add(5*time.Second + time.Millisecond), []string{"13", "14", "15"}},
		{t0.Add(9 * time.Second), time.Time{}, []string{"19"}},
		{t0.Add(time.Hour), time.Time{}, nil},
	} {
		got := slices.Sorted(maps.Keys(orderIDs(readAll(t, c.Orders, connectors.Cursor{Since: tc.since, Until: tc.until}, nil))))
		if !slices.Equal(got, tc.want) {
			t.Errorf("[%s, %s): got %v, want %v", tc.since.Format(time.RFC3339Nano), tc.until.Format(time.RFC3339Nano), got, tc.want)
		}
	}
}

// TestStorm reads orders and customers through a storm of 5xx, 429,
// dropped connections and cut-off answers on every route: nothing is lost
// and nothing returned twice.
func TestStorm(t *testing.T) {
	t.Parallel()
	srv := wootest.NewServer(wootest.Options{})
	defer srv.Close()
	for i := range 60 {
		srv.PutOrder(wootest.Order{ID: int64(1000 + i), Status: "processing", Currency: "USD", Total: "1.00",
			Modified: t0.Add(time.Duration(i/4) * time.Second), Billing: wootest.Address{Email: fmt.Sprintf("g%d@example.com", i%7)}})
		srv.PutCustomer(wootest.Customer{ID: int64(5000 + i), Email: fmt.Sprintf("c%d@example.com", i), Modified: t0.Add(time.Duration(i/3) * time.Second)})
	}
	faults := []wootest.Fault{{Status: 503}, {Drop: true}, {AfterWork: true}, {Status: 429, RetryAfter: "0"}, {Status: 500}, {Status: 502}}
	for i := range 120 {
		f := faults[i%len(faults)]
		if i%3 == 2 {
			f = wootest.Fault{} // a request gets through
		}
		srv.InjectFault(wootest.RouteAny, 1, f)
	}
	c := open(t, srv, AuthOAuth1, "page_size: 7\nretries: 8\n")
	read := func(ctx context.Context, cur connectors.Cursor) (connectors.Page[commerce.Order], error) {
		for attempt := 0; ; attempt++ {
			pg, err := c.Orders(ctx, cur)
			if err == nil || attempt == 5 {
				return pg, err
			}
		}
	}
	seen := orderIDs(readAll(t, read, connectors.Cursor{}, nil))
	for i := range 60 {
		if n := seen[strconv.Itoa(1000+i)]; n != 1 {
			t.Errorf("order %d returned %d times, want once", 1000+i, n)
		}
	}
	readC := func(ctx context.Context, cur connectors.Cursor) (connectors.Page[commerce.Customer], error) {
		for attempt := 0; ; attempt++ {
			pg, err := c.Customers(ctx, cur)
			if err == nil || attempt == 5 {
				return pg, err
			}
		}
	}
	got := map[string]int{}
	for _, pg := range readAll(t, readC, connectors.Cursor{}, nil) {
		for _, cu := range pg.Items {
			got[cu.ID]++
		}
	}
	for i := range 60 {
		if n := got[strconv.Itoa(5000+i)]; n != 1 {
			t.Errorf("customer %d returned %d times, want once", 5000+i, n)
		}
	}
	for i := range 7 {
		if n := got[GuestID(fmt.Sprintf("g%d@example.com", i))]; n != 1 {
			t.Errorf("guest %d returned %d times, want once", i, n)
		}
	}
}

// TestCustomers covers the full scan: registered customers by window,
// guests derived from orders, the scan interval, and a customer that
// changes after the scan.
func TestCustomers(t *testing.T) {
	t.Parallel()
	now := t0.Add(24 * time.Hour)
	clock := now
	srv := wootest.NewServer(wootest.Options{Now: func() time.Time { return clock }})
	defer srv.Close()
	for i := range 12 {
		srv.PutCustomer(wootest.Customer{ID: int64(200 + i), Email: fmt.Sprintf("m%d@example.com", i), FirstName: "M",
			Created: t0.Add(-time.Hour), Modified: t0.Add(time.Duration(i) * time.Minute)})
	}
	// An administrator buys too: role=all finds them.
	srv.PutCustomer(wootest.Customer{ID: 300, Email: "owner@example.com", Role: "administrator", Modified: t0.Add(30 * time.Second)})
	// A guest with two orders under two spellings of one address, and a
	// guest outside the window.
	srv.PutOrder(wootest.Order{ID: 900, Status: "processing", Currency: "USD", Total: "1.00", Created: t0.Add(-time.Hour), Modified: t0.Add(90 * time.Second),
		Billing: wootest.Address{Email: "Gina@Example.com", FirstName: "Gina", LastName: "Old"}})
	srv.PutOrder(wootest.Order{ID: 901, Status: "processing", Currency: "USD", Total: "1.00", Created: t0, Modified: t0.Add(150 * time.Second),
		Billing: wootest.Address{Email: "gina+shop@example.com", FirstName: "Gina", LastName: "New"}})
	srv.PutOrder(wootest.Order{ID: 902, Status: "processing", Currency: "USD", Total: "1.00", Modified: t0.Add(2 * time.Hour),
		Billing: wootest.Address{Email: "late@example.com"}})
	srv.PutOrder(wootest.Order{ID: 903, Status: "processing", Currency: "USD", Total: "1.00", CustomerID: 201, Modified: t0.Add(100 * time.Second),
		Billing: wootest.Address{Email: "m1@example.com"}})
	c := open(t, srv, AuthOAuth1, "page_size: 3\ncustomer_scan_interval: 1h\n")
	c.now = func() time.Time { return clock }
	c.api.now = c.now
	window := connectors.Cursor{Since: t0.Add(time.Minute), Until: t0.Add(5 * time.Minute)}
	pages := readAll(t, c.Customers, window, nil)
	var got []string
	var guest commerce.Customer
	for _, pg := range pages {
		for i, cu := range pg.Items {
			got = append(got, cu.ID)
			if i > 0 && compareKey(custKey{at: cu.UpdatedAt, id: cu.ID}, custKey{at: pg.Items[i-1].UpdatedAt, id: pg.Items[i-1].ID}) < 0 {
				t.Errorf("customer %s out of order", cu.ID)
			}
			if cu.Guest {
				guest = cu
			}
		}
	}
	want := []string{"201", "202", "203", "204", "guest:gina@example.com"}
	if slices.Sort(got); !slices.Equal(got, want) {
		t.Errorf("window [1m, 5m): got %v, want %v", got, want)
	}
	if guest.ID != "guest:gina@example.com" || !guest.Guest || guest.LastName != "New" ||
		!guest.UpdatedAt.Equal(t0.Add(150*time.Second)) || !guest.CreatedAt.Equal(t0.Add(-time.Hour)) {
		t.Errorf("guest = %+v, want Gina New, updated with her latest order, created with her first", guest)
	}
	scans := func() int {
		n := 0
		for _, r := range srv.Requests() {
			if r.Path == "customers" && r.Query.Get("_fields") != "" {
				n++
			}
		}
		return n
	}
	before := scans()
	// A customer changes after the scan: within the interval the scan is
	// not repeated, and the changed customer is left out, not returned at
	// its old place.
	cu, _ := srv.Customer(203)
	cu.Modified = clock.Add(-time.Minute)
	srv.PutCustomer(cu)
	got = nil
	for _, pg := range readAll(t, c.Customers, window, nil) {
		for _, cu := range pg.Items {
			got = append(got, cu.ID)
		}
	}
	if scans() != before {
		t.Errorf("a read within customer_scan_interval scanned again")
	}
	if slices.Contains(got, "203") {
		t.Errorf("customer 203 returned at its old place after it changed: %v", got)
	}
	clock = clock.Add(2 * time.Hour)
	got = nil
	for _, pg := range readAll(t, c.Customers, connectors.Cursor{Since: now.Add(-2 * time.Minute)}, nil) {
		for _, cu := range pg.Items {
			got = append(got, cu.ID)
		}
	}
	if scans() == before || !slices.Contains(got, "203") {
		t.Errorf("after the interval: scans %d → %d, read %v; want a new scan that finds 203", before, scans(), got)
	}
}

// TestStatuses: an unknown custom status fails the read naming it and the
// order; status_map makes it known.
func TestStatuses(t *testing.T) {
	t.Parallel()
	srv := wootest.NewServer(wootest.Options{})
	defer srv.Close()
	srv.PutOrder(wootest.Order{ID: 77, Status: "awaiting-pickup", Currency: "USD", Total: "9.00", Modified: t0})
	_, err := open(t, srv, AuthOAuth1, "").Orders(t.Context(), connectors.Cursor{})
	if err == nil || !strings.Contains(err.Error(), `"awaiting-pickup"`) || !strings.Contains(err.Error(), "order 77") || !strings.Contains(err.Error(), "status_map") {
		t.Errorf("got %v, want an error naming the status, the order and status_map", err)
	}
	pg, err := open(t, srv, AuthOAuth1, "status_map:\n  awaiting-pickup: paid\n").Orders(t.Context(), connectors.Cursor{})
	if err != nil || len(pg.Items) != 1 || pg.Items[0].State != commerce.StatePaid {
		t.Errorf("with status_map: %+v, %v; want one paid order", pg.Items, err)
	}
}

func TestBadTokens(t *testing.T) {
	t.Parallel()
	good := encodeToken(token{Stream: streamOrders, After: t0})
	for _, tc := range []struct{ stream, tok string }{
		{streamOrders, "x"},
		{streamOrders, encodeToken(token{Stream: streamCustomers, At: t0, ID: "1"})},
		{streamCustomers, good},
		{streamOrders, encodeToken(token{Stream: streamOrders})},
		{streamOrders, encodeToken(token{Stream: streamOrders, After: t0, Second: t0, Page: 1})},
		{streamOrders, encodeToken(token{Stream: streamOrders, Second: t0})},
		{streamOrders, strings.TrimSuffix(good, "Q") + "Qx"},
	} {
		if _, err := decodeToken(tc.stream, tc.tok); !errors.Is(err, connectors.ErrBadCursor) {
			t.Errorf("decodeToken(%s, %q) = %v, want ErrBadCursor", tc.stream, tc.tok, err)
		}
	}
	if _, err := decodeToken(streamOrders, good); err != nil {
		t.Errorf("a good token: %v", err)
	}
}

// FuzzCursorToken: tokens come back from storage; any string either
// decodes to a usable token or fails with ErrBadCursor.
func FuzzCursorToken(f *testing.F) {
	f.Add(encodeToken(token{Stream: streamOrders, After: t0}))
	f.Add(encodeToken(token{Stream: streamOrders, Second: t0, Page: 2, Total: 150}))
	f.Add(encodeToken(token{Stream: streamCustomers, At: t0, ID: "guest:a@b.c"}))
	f.Fuzz(func(t *testing.T, s string) {
		for _, stream := range []string{streamOrders, streamCustomers} {
			tok, err := decodeToken(stream, s)
			if err != nil {
				if !errors.Is(err, connectors.ErrBadCursor) {
					t.Fatalf("error %v does not wrap ErrBadCursor", err)
				}
				continue
			}
			if s != "" && tok.Stream != stream {
				t.Fatalf("a %q token accepted as %q", tok.Stream, stream)
			}
		}
	})
}

// BenchmarkFullSync reads every order of a store of 2,000 orders (one in
// five refunded, so that refund details are read too) from the fake, as a
// first sync does, and reports pages and orders per second.
func BenchmarkFullSync(b *testing.B) {
	srv := wootest.NewServer(wootest.Options{})
	defer srv.Close()
	const n = 2000
	for i := range n {
		o := wootest.Order{ID: int64(10000 + i), Status: "completed", Currency: "USD", Total: "20.00", Modified: t0.Add(time.Duration(i/2) * time.Second),
			CustomerID: int64(1 + i%50), Billing: wootest.Address{Email: "b@example.com"},
			Lines: []wootest.LineItem{{ID: int64(50000 + i), Name: "Tea", Quantity: 2, Subtotal: "20.00", Total: "20.00"}}}
		if i%5 == 0 {
			o.Refunds = []wootest.Refund{{ID: int64(90000 + i), Amount: "5.00", Created: o.Modified}}
		}
		srv.PutOrder(o)
	}
	c := open(b, srv, AuthOAuth1, "")
	b.ResetTimer()
	pages, orders := 0, 0
	for b.Loop() {
		cur := connectors.Cursor{}
		for {
			pg, err := c.Orders(b.Context(), cur)
			if err != nil {
				b.Fatal(err)
			}
			pages++
			orders += len(pg.Items)
			if pg.Done {
				break
			}
			cur = pg.Next
		}
	}
	if orders != n*b.N {
		b.Fatalf("read %d orders, want %d", orders, n*b.N)
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(pages)/secs, "pages/s")
	b.ReportMetric(float64(orders)/secs, "orders/s")
}

// TestScanRestart deletes a customer while the full scan reads its first
// page: the later pages shift by one, and without starting again the scan
// would miss the customer that moved onto the page already read.
func TestScanRestart(t *testing.T) {
	t.Parallel()
	srv := wootest.NewServer(wootest.Options{})
	defer srv.Close()
	for i := range 250 {
		srv.PutCustomer(wootest.Customer{ID: int64(1000 + i), Email: fmt.Sprintf("c%d@example.com", i), Modified: t0.Add(time.Duration(i) * time.Second)})
	}
	var once stdsync.Once
	hc := srv.Client()
	base := hc.Transport
	hc.Transport = roundTrip(func(r *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(r)
		if r.URL.Query().Get("_fields") != "" && r.URL.Query().Get("page") == "1" {
			once.Do(func() { srv.DeleteCustomer(1000) })
		}
		return resp, err
	})
	c, err := connectors.Open(t.Context(), "woocommerce", connectors.Options{HTTPClient: hc, Decode: decodeYAML(
		"url: " + srv.URL + "\nconsumer_key: " + srv.ConsumerKey() + "\nconsumer_secret: " + srv.ConsumerSecret() + "\n")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, pg := range readAll(t, c.Customers, connectors.Cursor{}, nil) {
		for _, cu := range pg.Items {
			got[cu.ID] = true
		}
	}
	for i := 1; i < 250; i++ {
		if !got[strconv.Itoa(1000+i)] {
			t.Errorf("customer %d was never returned", 1000+i)
		}
	}
}
