package main

import (
	"context"
	"fmt"
	"runtime"
	stdsync "sync"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/synth"
)

// engineResult is what bench engine measured.
type engineResult struct {
	Benchmark string         `json:"benchmark"`
	Machine   benchMachine   `json:"machine"`
	Seed      uint64         `json:"seed"`
	Evaluate  engineEvaluate `json:"evaluate"`
	Pipeline  enginePipeline `json:"pipeline"`
	PeakRSS   int64          `json:"peak_rss_bytes"`
	Point     benchPoint     `json:"point"`
}

// engineEvaluate is the rules alone: an order's rule snapshot and its
// points, what crediting an order costs the engine.
type engineEvaluate struct {
	// Orders are the distinct synthetic orders evaluated in turn.
	Orders  int     `json:"orders"`
	Seconds float64 `json:"seconds"`
	// PerCore is the evaluations a second of one goroutine, wall time;
	// PerCPUSecond the evaluations per second of CPU time its thread got,
	// which other work on the machine does not lower.
	PerCore      float64 `json:"per_second_one_core"`
	PerCPUSecond float64 `json:"per_cpu_second_one_core"`
	// AllCores is every goroutine's evaluations a second together.
	AllCores   float64 `json:"per_second_all_cores"`
	Goroutines int     `json:"goroutines"`
	// NsPerOrder is the CPU time of one evaluation.
	NsPerOrder  float64 `json:"ns_per_order"`
	PointsTotal int64   `json:"points_total"`
}

// enginePipeline is the whole apply path into SQLite: upsert, rules,
// ledger, members' refresh (tiers, expiry, tags and fields queued for the
// outbox), in transactions of a page.
type enginePipeline struct {
	Customers        int     `json:"customers"`
	Orders           int     `json:"orders"`
	Batch            int     `json:"batch"`
	CustomerSeconds  float64 `json:"customer_seconds"`
	Seconds          float64 `json:"seconds"`
	CPUSeconds       float64 `json:"cpu_seconds"`
	OrdersPerSecond  float64 `json:"orders_per_second"`
	LedgerEntries    int     `json:"ledger_entries"`
	WriteBacksQueued int     `json:"write_backs_queued"`
}

func runBenchEngine(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("bench engine", "[--orders N] [--eval-time D]",
		"The rules engine alone: the rule snapshot and the points of synthetic orders, one after\n"+
			"another, on one goroutine (per core) and on one goroutine per core. Then, for comparison, the\n"+
			"whole apply path of the sync engine into a scratch SQLite database: customers, then orders\n"+
			"in transactions of --batch (upsert, rules, ledger, members' refresh, write-backs queued).")
	c := benchFlags(fs)
	orders := fs.Int("orders", 50_000, "orders applied through the pipeline")
	customers := fs.Int("customers", 0, "customers (default: two for every five orders)")
	evalOrders := fs.Int("eval-orders", 10_000, "distinct orders the rules evaluate in turn")
	evalTime := fs.Duration("eval-time", 3*time.Second, "how long each evaluation run lasts")
	batch := fs.Int("batch", 250, "orders a transaction (a page of a sync)")
	seed := fs.Uint64("seed", 1, "seed of the synthetic store")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *orders < 0 || *customers < 0 || *evalOrders < 1 || *evalTime <= 0 || *batch < 1 {
		return usagef("want --orders ≥ 0, --eval-orders ≥ 1, a positive --eval-time and --batch")
	}
	dir, end, grown, err := c.begin(ctx, m, fs, "engine", args, *orders, customers)
	if grown || err != nil {
		return err
	}
	defer end()
	now := benchClock()
	a, err := m.benchApp(ctx, dir, benchShop, now)
	if err != nil {
		return err
	}
	defer a.Close()
	res := engineResult{Benchmark: "engine", Machine: machine(time.Now()), Seed: *seed}

	// The rules alone.
	es, err := synth.NewStream(synth.Options{Seed: *seed + 1, Customers: max(1, *evalOrders*2/5), Orders: *evalOrders, Start: benchStart, End: benchEnd})
	if err != nil {
		return err
	}
	pool := make([]commerce.Order, 0, es.OrderCount())
	for o := range es.Orders() {
		pool = append(pool, o)
	}
	prog := &a.cfg.Program
	one := evaluate(ctx, prog, pool, 1, *evalTime)
	all := evaluate(ctx, prog, pool, runtime.GOMAXPROCS(0), *evalTime)
	res.Evaluate = engineEvaluate{Orders: len(pool), Seconds: evalTime.Seconds(), PerCore: one.rate, PerCPUSecond: one.perCPU,
		AllCores: all.rate, Goroutines: runtime.GOMAXPROCS(0), PointsTotal: one.points}
	if one.perCPU > 0 {
		res.Evaluate.NsPerOrder = 1e9 / one.perCPU
	}

	// The whole pipeline.
	st, err := synth.NewStream(synth.Options{Seed: *seed, Customers: *customers, Orders: *orders, Start: benchStart, End: benchEnd})
	if err != nil {
		return err
	}
	p := enginePipeline{Customers: st.CustomerCount(), Orders: st.OrderCount(), Batch: *batch}
	s := a.engine.Stores[0]
	began := time.Now()
	var cs []commerce.Customer
	flushCustomers := func() error {
		if len(cs) == 0 {
			return nil
		}
		r, err := a.engine.Apply(ctx, s, cs, nil)
		p.WriteBacksQueued += r.Queued
		cs = cs[:0]
		return err
	}
	for cu := range st.Customers() {
		cs = append(cs, cu)
		if len(cs) == *batch {
			if err := flushCustomers(); err != nil {
				return err
			}
		}
	}
	if err := flushCustomers(); err != nil {
		return err
	}
	p.CustomerSeconds = time.Since(began).Seconds()
	began, cpu := time.Now(), processCPU()
	var page []commerce.Order
	flushOrders := func() error {
		if len(page) == 0 {
			return nil
		}
		r, err := a.engine.Apply(ctx, s, nil, page)
		p.WriteBacksQueued += r.Queued
		page = page[:0]
		return err
	}
	for o := range st.Orders() {
		page = append(page, o)
		if len(page) == *batch {
			if err := flushOrders(); err != nil {
				return err
			}
		}
	}
	if err := flushOrders(); err != nil {
		return err
	}
	p.Seconds = time.Since(began).Seconds()
	p.CPUSeconds = (processCPU() - cpu).Seconds()
	p.OrdersPerSecond = float64(p.Orders) / p.Seconds
	counts, err := benchCounts(ctx, a, s.ID)
	if err != nil {
		return err
	}
	p.LedgerEntries = counts.LedgerEntries
	if counts.Orders != p.Orders || counts.Customers != p.Customers {
		return fmt.Errorf("%w: stored %d orders and %d customers, want %d and %d", errBenchCheck, counts.Orders, counts.Customers, p.Orders, p.Customers)
	}
	res.Pipeline = p
	res.PeakRSS = peakRSS()
	res.Point = benchPoint{Size: float64(*orders), Units: float64(p.Orders), Unit: "orders", Seconds: p.Seconds, PeakRSS: res.PeakRSS}
	if c.json {
		return printJSON(m.Stdout, res)
	}
	w := m.Stdout
	fmt.Fprintf(w, "loyaltyd bench engine (seed %d)\nmachine: %s\n\n", res.Seed, res.Machine)
	e := res.Evaluate
	t := &table{head: []string{"", "orders", "time", "CPU time", "orders/s", "per CPU-second", "CPU per order"}}
	t.add("rules: snapshot + points, 1 goroutine (one core)", fmtInt(e.Orders)+" in turn", fmtSeconds(e.Seconds), "",
		fmtRate(e.PerCore), fmtRate(e.PerCPUSecond), fmt.Sprintf("%.0f ns", e.NsPerOrder))
	t.add(fmt.Sprintf("rules: %d goroutines (all cores)", e.Goroutines), fmtInt(e.Orders)+" in turn", fmtSeconds(e.Seconds), "",
		fmtRate(e.AllCores), "", "")
	t.add(fmt.Sprintf("pipeline: apply into SQLite, %d a transaction", p.Batch), fmtInt(p.Orders), fmtSeconds(p.Seconds), fmtSeconds(p.CPUSeconds),
		fmtRate(p.OrdersPerSecond), fmtRate(float64(p.Orders)/p.CPUSeconds), fmt.Sprintf("%.0f µs", p.CPUSeconds/float64(max(1, p.Orders))*1e6))
	t.write(w)
	fmt.Fprintf(w, "\npipeline: %s customers first (%s), then the orders: %s ledger entries, %s write-backs queued\n",
		fmtInt(p.Customers), fmtSeconds(p.CustomerSeconds), fmtInt(p.LedgerEntries), fmtInt(p.WriteBacksQueued))
	fmt.Fprintf(w, "peak RSS %s\n", fmtBytes(res.PeakRSS))
	return nil
}

type evalRate struct {
	rate   float64 // evaluations a second, wall time, all goroutines
	perCPU float64 // evaluations a second of CPU time
	points int64
}

// evaluate runs the rules over the orders in turn on n goroutines, each on
// a thread of its own, for d and returns the evaluations a second of wall
// time and of CPU time.
func evaluate(ctx context.Context, p *loyalty.Program, orders []commerce.Order, n int, d time.Duration) evalRate {
	standing := loyalty.Standing{Member: true, CountsFrom: benchStart}
	var (
		mu     stdsync.Mutex
		total  int
		points int64
		cpu    time.Duration
		wg     stdsync.WaitGroup
	)
	start := time.Now()
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			began := threadCPU()
			done, sum := 0, int64(0)
			for i := g * 7919; ; i++ {
				if i&1023 == 0 && (time.Since(start) >= d || ctx.Err() != nil) {
					break
				}
				o := &orders[i%len(orders)]
				if snap, ok := p.Snapshot(o, standing); ok {
					sum += loyalty.Entitle(o, snap, p.Currency).Earn
				}
				done++
			}
			used := threadCPU() - began
			mu.Lock()
			total += done
			points += sum
			cpu += used
			mu.Unlock()
		}()
	}
	wg.Wait()
	r := evalRate{rate: float64(total) / time.Since(start).Seconds(), points: points}
	if cpu > 0 {
		r.perCPU = float64(total) / cpu.Seconds()
	}
	return r
}
