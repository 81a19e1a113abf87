package sync_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
)

// importedOrder is an order as an export file gives it: no platform
// payload, the customer by id or only by e-mail.
func importedOrder(id, customer, email string) commerce.Order {
	return commerce.Order{ID: id, Number: "#" + id, CustomerID: customer, Email: email, Currency: "USD",
		State: commerce.StatePaid, CreatedAt: day(2), UpdatedAt: day(2), Total: usd("40.00"),
		Lines: []commerce.LineItem{{ID: "1", Quantity: 1, Subtotal: usd("40.00")}}}
}

// TestImport checks what Import adds to Apply: customers an export implies
// never replace stored ones, an order known only by e-mail goes to the one
// customer with it, and each order's outcome is told.
func TestImport(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, 0)
	h.customer("ann", "ann@example.com", "vip")
	h.customer("bo1", "bo@example.com")
	h.customer("bo2", "BO@example.com")
	h.clock.Set(day(4))
	h.pass()
	ctx := context.Background()

	invalid := importedOrder("5", "cat", "")
	invalid.Currency = "usd"
	older := importedOrder("1", "", "ann@example.com")
	older.UpdatedAt = day(1)
	items := []sync.ImportItem{
		// Only an e-mail (as in Shopify's export), case and +tag aside.
		{Order: importedOrder("1", "", "Ann+shop@Example.com")},
		// A customer the store does not know: stored from the file.
		{Order: importedOrder("2", "cat", "cat@example.com"), Customer: &commerce.Customer{ID: "cat", Email: "cat@example.com", FirstName: "Cat", CreatedAt: day(2), UpdatedAt: day(2)}},
		// A customer the store knows: the file's record is not stored.
		{Order: importedOrder("3", "ann", "ann@example.com"), Customer: &commerce.Customer{ID: "ann", Email: "other@example.com", CreatedAt: day(3), UpdatedAt: day(3)}},
		// An e-mail two customers share, and one nobody has.
		{Order: importedOrder("4", "", "bo@example.com")},
		{Order: importedOrder("6", "", "nobody@example.com")},
		{Order: invalid},
		// Order 1 again, older than what the batch stored.
		{Order: older},
	}
	r, out, err := h.engine.Import(ctx, h.st, items)
	if err != nil {
		t.Fatal(err)
	}
	want := []sync.ImportOutcome{{Changed: true}, {Changed: true}, {Changed: true}, {Changed: true, NoCustomer: true},
		{Changed: true, NoCustomer: true}, {}, {Stale: true}}
	for i, w := range want {
		got := out[i]
		if got.Changed != w.Changed || got.Stale != w.Stale || got.NoCustomer != w.NoCustomer || (got.Refused != nil) != (i == 5) {
			t.Errorf("outcome %d: %+v, want %+v", i, got, w)
		}
	}
	if r.OrdersRead != 7 || r.OrdersChanged != 5 || r.OrdersRejected != 1 || r.OrdersStale != 1 || r.CustomersChanged != 1 {
		t.Errorf("report %+v", r)
	}
	h.db.View(ctx, func(tx *store.Tx) error {
		ann, err := tx.Customer("shop", "ann")
		if err != nil || ann.Email != "ann@example.com" || !slices.Equal(ann.Tags, []string{"vip"}) {
			t.Errorf("ann was replaced by the file's record: %+v %v", ann, err)
		}
		cat, err := tx.Customer("shop", "cat")
		if err != nil || cat.FirstName != "Cat" {
			t.Errorf("cat: %+v %v", cat, err)
		}
		for id, want := range map[string]string{"1": "ann", "4": "", "6": ""} {
			o, err := tx.Order("shop", id)
			if err != nil || o.CustomerID != want {
				t.Errorf("order %s belongs to %q (%v), want %q", id, o.CustomerID, err, want)
			}
		}
		return nil
	})
	h.wantLedger("ann", "earn +40 1", "bonus +50 1", "earn +40 3")

	// The same batch again changes nothing.
	r, out, err = h.engine.Import(ctx, h.st, items)
	if err != nil {
		t.Fatal(err)
	}
	if r.OrdersChanged != 0 || r.Entries != 0 || r.CustomersChanged != 0 || fmt.Sprint(out[0], out[1]) != "{false false <nil> false} {false false <nil> false}" {
		t.Errorf("again: report %+v, outcomes %+v", r, out)
	}
	h.checkRebuild()
}
