package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/store"
)

// BenchmarkCustomerReads runs the reads the apply path makes for each
// customer it touches (the tier's counting orders and referrals, the
// first-order bonus's order, the ledger, the redemptions), over a store of
// 2,000 customers with 3 credited orders and their ledger entries each,
// in one transaction as a page of orders is applied. An op is one
// customer's reads. A statement compiled again on every run (see textArg)
// shows here as a multiple of the time.
func BenchmarkCustomerReads(b *testing.B) {
	const customers = 2000
	db := mustOpen(b)
	cid := func(i int) string { return fmt.Sprintf("c%05d", i) }
	update(b, db, func(tx *store.Tx) error {
		for i := range customers {
			for k := range 3 {
				at := time.Date(2026, 1, 1+k, 12, 0, 0, 0, time.UTC)
				o := commerce.Order{ID: fmt.Sprintf("%d-%d", i, k), CustomerID: cid(i), Currency: "USD", State: commerce.StatePaid,
					CreatedAt: at, ProcessedAt: at, UpdatedAt: at,
					Lines: []commerce.LineItem{{ID: "l1", Quantity: 1, Subtotal: commerce.NewMoney(2500, "USD")}}}
				if _, err := tx.UpsertOrder("s1", &o); err != nil {
					return err
				}
				if err := tx.SetEligible("s1", o.ID, 2500); err != nil {
					return err
				}
				if _, err := tx.SetSnapshot("s1", o.ID, []byte(`{}`), false); err != nil {
					return err
				}
				if _, err := tx.Entitle(commerce.LedgerEntry{StoreID: "s1", CustomerID: o.CustomerID, Stream: "order:" + o.ID + ":earn",
					Kind: commerce.KindEarn, Total: 25, OrderID: o.ID, Reason: "bench"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	b.ReportAllocs()
	update(b, db, func(tx *store.Tx) error {
		i := 0
		for b.Loop() {
			c := cid(i % customers)
			i++
			if _, err := tx.CountingOrders("s1", c); err != nil {
				return err
			}
			if _, err := tx.Referrals("s1", c, store.ReferralRewarded); err != nil {
				return err
			}
			if _, err := tx.FirstCreditedOrder("s1", c); err != nil {
				return err
			}
			if _, err := tx.Ledger("s1", c); err != nil {
				return err
			}
			if _, err := tx.Redemptions("s1", c); err != nil {
				return err
			}
		}
		return nil
	})
}
