package sync_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	stdsync "sync"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/config"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
	"github.com/loyaltyd/loyaltyd/synth"
)

var benchOrders = flag.Int("report-orders", 50_000, "orders of the store BenchmarkProgramReport reports on (1000000 for the figure in BENCHMARKS.md)")

// benchStores keeps the stores built for benchmarks, by size, for the
// process: building a million orders takes longer than reporting on them.
var benchStores = struct {
	stdsync.Mutex
	m map[int]*sync.Engine
}{m: map[int]*sync.Engine{}}

// benchStore builds a store of n orders over a year directly through the
// store's API (not the engine, which would take an hour for a million):
// customers with a few buyers buying a lot, members and a 10 % holdout
// group, 1 to 4 lines from 500 products, refunds and cancellations,
// discount codes (the store's own, reward codes and referral codes), and
// a ledger with an earn entry per member order and redemptions.
func benchStore(b *testing.B, n int) *sync.Engine {
	benchStores.Lock()
	defer benchStores.Unlock()
	if e, ok := benchStores.m[n]; ok {
		return e
	}
	p := &loyalty.Program{Currency: "USD", HoldoutPercent: loyalty.DecimalFromInt(10), MarginPercent: loyalty.DecimalFromInt(40),
		Earn:    loyalty.Earn{PendingDays: 14},
		Tiers:   loyalty.Tiers{Levels: []loyalty.Level{{Name: "silver", MinOrders: 3}, {Name: "gold", MinOrders: 8}}},
		Rewards: []loyalty.Reward{{ID: "five-off", Points: 500, Type: loyalty.RewardFixedAmount, Value: loyalty.DecimalFromInt(5)}}}
	p.SetDefaults()
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	start := end.AddDate(-1, 0, 0)
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	// The database outlives this benchmark: it is reused by the next ones
	// of the process, and removed with the temporary folder.
	db.Now = func() time.Time { return start }
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 9))
	customers := max(n*2/5, 1)
	cid := func(i int) string { return fmt.Sprintf("c%07d", i) }
	usd := func(minor int64) commerce.Money { return commerce.NewMoney(minor, "USD") }
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.EnsureStore("shop", "memory"); err != nil {
			return err
		}
		for i := range customers {
			id := cid(i)
			c := commerce.Customer{ID: id, Email: id + "@example.com", CreatedAt: start.AddDate(0, 0, -rng.IntN(400)), UpdatedAt: start}
			if _, err := tx.UpsertCustomer("shop", &c); err != nil {
				return err
			}
			m := &store.Member{StoreID: "shop", CustomerID: id, Cohort: string(p.Cohort("shop", &c)), EnrolledAt: start}
			if m.Cohort == store.CohortMember {
				m.ReferralCode = p.ReferralCode("shop", id)
				m.Tier = []string{"", "", "silver", "gold"}[rng.IntN(4)]
			} else {
				m.EnrolledAt = time.Time{}
			}
			if err := tx.SaveMember(m); err != nil {
				return err
			}
		}
		return nil
	}))
	var codes []string // reward codes not used yet
	const chunk = 5000
	for from := 0; from < n; from += chunk {
		must(db.Update(ctx, func(tx *store.Tx) error {
			for i := from; i < min(from+chunk, n); i++ {
				at := start.Add(time.Duration(float64(end.Sub(start)) * float64(i) / float64(n)))
				c := cid(int(float64(customers) * math.Pow(rng.Float64(), 2))) // a few customers buy a lot
				o := commerce.Order{ID: fmt.Sprintf("%d", 100000+i), CustomerID: c, Currency: "USD", State: commerce.StatePaid,
					CreatedAt: at, ProcessedAt: at, UpdatedAt: at}
				for l := range 1 + rng.IntN(4) {
					pid := 8000 + int(500*math.Pow(rng.Float64(), 2)) // a few products sell most
					o.Lines = append(o.Lines, commerce.LineItem{ID: fmt.Sprintf("%s-%d", o.ID, l), ProductID: fmt.Sprint(pid),
						SKU: fmt.Sprintf("SKU-%d", pid), Title: fmt.Sprintf("Product %d", pid), Quantity: 1, Subtotal: usd(int64(500 + rng.IntN(15000)))})
				}
				switch r := rng.IntN(100); {
				case r < 10:
					o.Codes = []commerce.CodeUse{{Code: "SPRING10", Amount: usd(500)}}
				case r < 13 && len(codes) > 0:
					o.Codes = []commerce.CodeUse{{Code: codes[0], Amount: usd(500)}}
					codes = codes[1:]
				case r < 14:
					o.Codes = []commerce.CodeUse{{Code: p.ReferralCode("shop", cid(rng.IntN(customers))), Amount: usd(1000)}}
				}
				switch r := rng.IntN(100); {
				case r < 2:
					o.State, o.CancelledAt = commerce.StateVoided, at.Add(time.Hour)
				case r < 5:
					o.State = commerce.StatePartiallyRefunded
					o.Refunds = []commerce.Refund{{ID: "r", CreatedAt: at.Add(48 * time.Hour), Amount: o.Lines[0].Subtotal,
						Lines: []commerce.RefundLine{{LineID: o.Lines[0].ID, Quantity: 1, Amount: o.Lines[0].Subtotal}}}}
				}
				if _, err := tx.UpsertOrder("shop", &o); err != nil {
					return err
				}
				elig := loyalty.Eligible(&o, "USD").Amount.Minor
				if err := tx.SetEligible("shop", o.ID, elig); err != nil {
					return err
				}
				if p.InHoldout("shop", c) || elig == 0 {
					continue
				}
				if _, err := tx.Entitle(commerce.LedgerEntry{StoreID: "shop", CustomerID: c, Stream: "order:" + o.ID + ":earn",
					Kind: commerce.KindEarn, Total: elig / 100, OrderID: o.ID, At: at, AvailableAt: at.AddDate(0, 0, 14), Reason: "bench"}); err != nil {
					return err
				}
				if i%30 == 0 {
					red := &store.Redemption{StoreID: "shop", CustomerID: c, RewardID: "five-off", Points: 500, Value: usd(500),
						Auto: i%60 == 0, CreatedAt: at}
					if err := tx.CreateRedemption(red, func(id int64) string { return p.RewardCode("shop", c, id) }); err != nil {
						return err
					}
					codes = append(codes, red.Code)
					if _, err := tx.Entitle(commerce.LedgerEntry{StoreID: "shop", CustomerID: c, Stream: fmt.Sprintf("redeem:%d", red.ID),
						Kind: commerce.KindRedeem, Total: -500, At: at, Reason: "bench"}); err != nil {
						return err
					}
				}
			}
			return nil
		}))
	}
	e := &sync.Engine{DB: db, Program: p, Stores: []*sync.Store{{ID: "shop", Platform: "memory"}}, Now: func() time.Time { return end }}
	benchStores.m[n] = e
	return e
}

// BenchmarkProgramReport reports on a year of a store's orders
// (-report-orders, 50,000 by default; BENCHMARKS.md has a million): the
// SQL aggregates and streams, and the pure computation.
func BenchmarkProgramReport(b *testing.B) {
	e := benchStore(b, *benchOrders)
	ctx := context.Background()
	cpu, n := cpuTime(), 0
	for b.Loop() {
		r, err := e.ProgramReport(ctx, "shop", report.Query{MinSupport: 0.001})
		if err != nil {
			b.Fatal(err)
		}
		if f, _ := r.Figure("points_issued"); f.Value == 0 || len(r.Pairs.Rows) == 0 {
			b.Fatalf("an empty report: %+v", f)
		}
		n++
	}
	b.ReportMetric(float64(*benchOrders), "orders")
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(n), "cpu-s/op")
}

// BenchmarkSimulate replays a year of a 300-customer store (about 750
// orders) under two programs: the engine's own work, order by order and
// day by day, which is what a simulation costs.
func BenchmarkSimulate(b *testing.B) {
	p, err := config.ParseProgram("sim", []byte(simProgram), config.Options{})
	if err != nil {
		b.Fatal(err)
	}
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	start := end.AddDate(-1, 0, 0)
	gen, err := synth.Generate(synth.Options{Seed: 5, Customers: 300, Start: start, End: end})
	if err != nil {
		b.Fatal(err)
	}
	clk := &clock{t: start}
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "sim.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.Now = clk.Now
	st := &sync.Store{ID: "shop", Platform: "memory"}
	e := &sync.Engine{DB: db, Program: p, Stores: []*sync.Store{st}, Now: clk.Now}
	ctx := context.Background()
	if err := e.Prepare(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := e.Replay(ctx, st, sync.HistoryOf(gen.Customers, gen.Orders, nil), sync.ReplayOptions{Until: end, SetNow: clk.Set}); err != nil {
		b.Fatal(err)
	}
	clk.Set(end)
	cpu, n := cpuTime(), 0
	for b.Loop() {
		sim, err := e.Simulate(ctx, "shop", p, sync.SimulateOptions{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(sim.Replayed.Orders), "orders")
		n++
	}
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(n), "cpu-s/op")
}
