package sync_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
	"github.com/loyaltyd/loyaltyd/synth"
)

// BenchmarkApply applies synthetic orders through the whole apply path
// (upsert, rules, ledger, members' refresh, write-backs queued) into a
// fresh database, a page of 250 per transaction, as a first sync does.
// An op is one order.
func BenchmarkApply(b *testing.B) {
	const page = 250
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st, err := synth.NewStream(synth.Options{Seed: 1, Customers: max(1, b.N*2/5), Orders: b.N, Start: end.AddDate(-1, 0, 0), End: end})
	if err != nil {
		b.Fatal(err)
	}
	var customers []commerce.Customer
	for c := range st.Customers() {
		customers = append(customers, c)
	}
	orders := make([]commerce.Order, 0, b.N)
	for o := range st.Orders() {
		orders = append(orders, o)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "loyaltyd.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := func() time.Time { return end.Add(24 * time.Hour) }
	db.Now = now
	p := program("1", 14, 50)
	p.Launch = loyalty.DateOf(2024, 1, 1) // before every order: they all earn
	shop := &sync.Store{ID: "shop", Platform: "memory"}
	e := &sync.Engine{DB: db, Program: p, Stores: []*sync.Store{shop}, Now: now}
	if err := e.Prepare(ctx); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < len(customers); i += page {
		if _, err := e.Apply(ctx, shop, customers[i:min(i+page, len(customers))], nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	entries := 0
	for i := 0; i < len(orders); i += page {
		r, err := e.Apply(ctx, shop, nil, orders[i:min(i+page, len(orders))])
		if err != nil {
			b.Fatal(err)
		}
		entries += r.Entries
	}
	b.StopTimer()
	if b.N >= 100 && entries == 0 {
		b.Fatal("no ledger entry written")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}
