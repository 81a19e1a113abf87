package report_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
)

// BenchmarkBaskets counts the products of a million orders of 1 to 4
// lines from a catalogue of 500: the co-purchase table's work for a
// million-order store, without the database.
func BenchmarkBaskets(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([][]byte, 500)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "%d", 8000+i)
	}
	orders := make([][][]byte, 1_000_000)
	for i := range orders {
		for range 1 + rng.IntN(4) {
			orders[i] = append(orders[i], keys[rng.IntN(len(keys))])
		}
	}
	title := []byte("a product")
	for b.Loop() {
		bs := report.NewBaskets()
		var ids []int32
		for _, o := range orders {
			ids = ids[:0]
			for _, k := range o {
				ids = append(ids, bs.Product(k, title))
			}
			bs.Add(ids)
		}
		if len(bs.Pairs(0.00001, 10)) == 0 {
			b.Fatal("no pairs")
		}
	}
	b.ReportMetric(float64(len(orders)), "orders/op")
}

// BenchmarkCompute turns the totals of a store with 300,000 buyers into a
// report: the segments (a sort of the buyers) are most of it.
func BenchmarkCompute(b *testing.B) {
	p := &loyalty.Program{Currency: "USD", HoldoutPercent: loyalty.DecimalFromInt(10), MarginPercent: loyalty.DecimalFromInt(40)}
	p.SetDefaults()
	to := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	q, _ := report.Query{To: to}.Resolve(to)
	rng := rand.New(rand.NewPCG(3, 4))
	buyers := make([]loyalty.Buyer, 300_000)
	for i := range buyers {
		buyers[i] = loyalty.Buyer{CustomerID: fmt.Sprintf("c%07d", i), Spend: commerce.NewMoney(int64(1000+rng.IntN(500_000)), "USD"),
			Orders: 1 + rng.IntN(8), LastOrder: to.Add(-time.Duration(rng.IntN(365*24)) * time.Hour)}
	}
	in := report.Inputs{Store: "shop", Program: p, Query: q, Now: to, Buyers: buyers,
		Cohorts: map[loyalty.Cohort]report.CohortTotals{loyalty.CohortMember: {Customers: 270_000, Buyers: 200_000, Orders: 900_000, Revenue: 9e9},
			loyalty.CohortHoldout: {Customers: 30_000, Buyers: 20_000, Orders: 80_000, Revenue: 8e8}}}
	for b.Loop() {
		report.Compute(in)
	}
}
