package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/store"
)

func reportOrder(id, customer string, at time.Time, eligible int64, lines ...commerce.LineItem) commerce.Order {
	return commerce.Order{ID: id, CustomerID: customer, Currency: "USD", State: commerce.StatePaid, CreatedAt: at, ProcessedAt: at,
		UpdatedAt: at, Total: commerce.NewMoney(eligible, "USD"), Lines: lines}
}

// TestOrdersProcessedAfterPages: a replay reads the history in pages by
// (processing time, id); orders sharing a moment are neither skipped nor
// read twice across a page boundary, and deleted orders are left out.
func TestOrdersProcessedAfterPages(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	update(t, db, func(tx *store.Tx) error {
		for i := range 7 {
			at := t0.Add(time.Duration(i/3) * time.Hour) // three orders per moment
			id := fmt.Sprintf("o%d", 9-i)                // ids against the time order
			if _, err := tx.UpsertOrder("s1", ptr(reportOrder(id, "c", at, 100))); err != nil {
				return err
			}
		}
		_, err := tx.DeleteOrder("s1", "o5", t0)
		return err
	})
	// By time, then id: t0 {o7 o8 o9}, an hour later {o4 o5 o6} without o5, then {o3}.
	want := []string{"o7", "o8", "o9", "o4", "o6", "o3"}
	var got []string
	at, id := time.Time{}, ""
	for range 10 {
		var page []*store.StoredOrder
		err := db.View(context.Background(), func(tx *store.Tx) (err error) {
			page, err = tx.OrdersProcessedAfter("s1", at, id, 2)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, o := range page {
			got = append(got, o.ID)
		}
		at, id = page[len(page)-1].ProcessedTime(), page[len(page)-1].ID
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("pages read %v, want %v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }

// TestOrderContentsAndProgramCodes: the report's pass over the orders
// gives each counting order's merchandise lines (no gift cards) keyed by
// product id, else SKU, else title, and its codes with their discounts;
// the program's codes are found whatever their case.
func TestOrderContentsAndProgramCodes(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	usd := func(s string) commerce.Money { return commerce.MustParseMoney(s, "USD") }
	update(t, db, func(tx *store.Tx) error {
		a := reportOrder("a", "c1", t0, 5000,
			commerce.LineItem{ID: "1", ProductID: "8001", SKU: "NW-1", Title: "Mug \"Trail\" <1>", Quantity: 1, Subtotal: usd("20.00")},
			commerce.LineItem{ID: "2", SKU: "NW-2", Title: "Socks", Quantity: 1, Subtotal: usd("20.00")},
			commerce.LineItem{ID: "3", Title: "Tote", Quantity: 1, Subtotal: usd("10.00")},
			commerce.LineItem{ID: "4", ProductID: "GC", Title: "Gift card", Quantity: 1, Subtotal: usd("25.00"), GiftCard: true})
		a.Codes = []commerce.CodeUse{{Code: "loy-abc", Amount: usd("5.00")}, {Code: "SPRING10", Amount: usd("2.00")}, {Code: "FREESHIP"}}
		b := reportOrder("b", "c2", t0, 0, commerce.LineItem{ID: "1", ProductID: "8001", Quantity: 1, Subtotal: usd("20.00")}) // does not count
		b.Codes = []commerce.CodeUse{{Code: "REF-C1", Amount: usd("10.00")}}
		for _, o := range []commerce.Order{a, b} {
			if _, err := tx.UpsertOrder("s1", &o); err != nil {
				return err
			}
			if err := tx.SetEligible("s1", o.ID, o.Total.Minor); err != nil {
				return err
			}
		}
		red := &store.Redemption{StoreID: "s1", CustomerID: "c1", RewardID: "five-off", Points: 500}
		if err := tx.CreateRedemption(red, func(int64) string { return "LOY-ABC" }); err != nil {
			return err
		}
		return tx.SaveMember(&store.Member{StoreID: "s1", CustomerID: "c1", Cohort: store.CohortMember, ReferralCode: "REF-C1"})
	})
	var lines, codes []string
	var program, used map[string]store.ProgramCode
	err := db.View(context.Background(), func(tx *store.Tx) error {
		if err := tx.ForEachOrderContents("s1", t0.Add(-time.Hour), t0.Add(time.Hour), func(order int64, product, title []byte) error {
			lines = append(lines, string(product)+"="+string(title))
			return nil
		}, func(order int64, code string, amount commerce.Money) error {
			codes = append(codes, code+"="+amount.String())
			return nil
		}); err != nil {
			return err
		}
		var err error
		if program, err = tx.ProgramCodes("s1", []string{"loy-abc", "SPRING10", "ref-c1"}); err != nil {
			return err
		}
		used, err = tx.ProgramCodesUsed("s1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := `8001=Mug "Trail" <1> NW-2=Socks Tote=Tote`; strings.Join(lines, " ") != want {
		t.Errorf("lines = %v, want %s", lines, want)
	}
	if want := "loy-abc=5.00 USD SPRING10=2.00 USD FREESHIP=0.00 USD"; strings.Join(codes, " ") != want {
		t.Errorf("codes = %v, want %s (order b does not count)", codes, want)
	}
	want := map[string]store.ProgramCode{"LOY-ABC": {Reward: true, CustomerID: "c1"}, "REF-C1": {Referrer: "c1"}}
	if fmt.Sprint(program) != fmt.Sprint(want) {
		t.Errorf("program codes = %+v, want %+v", program, want)
	}
	// Every order's codes, counting or not.
	if fmt.Sprint(used) != fmt.Sprint(want) {
		t.Errorf("program codes used = %+v, want %+v", used, want)
	}
}
