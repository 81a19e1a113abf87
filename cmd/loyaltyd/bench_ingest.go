package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/importer"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/synth"
)

// ingestResult is what bench ingest measured.
type ingestResult struct {
	Benchmark string       `json:"benchmark"`
	Machine   benchMachine `json:"machine"`
	Seed      uint64       `json:"seed"`
	Customers int          `json:"customers"`
	Orders    int          `json:"orders"`
	Batch     int          `json:"batch"`
	FileBytes int64        `json:"file_bytes"`
	// Generate writes the synthetic orders as JSON lines; Parse is
	// `loyaltyd import --dry-run` on them (the check pass and the time
	// index); Plain the plain insert of the same orders, the limit;
	// Pipeline `loyaltyd import`; Report the program's report over the
	// imported year.
	Generate ingestPhase  `json:"generate"`
	Parse    ingestPhase  `json:"parse"`
	Plain    ingestPhase  `json:"plain"`
	Pipeline *ingestPhase `json:"pipeline,omitempty"`
	Report   *ingestPhase `json:"report,omitempty"`
	// PlainDecodeSeconds is the part of the plain insert spent reading
	// and decoding the file, rather than in SQLite.
	PlainDecodeSeconds float64 `json:"plain_decode_seconds"`
	// Ratio and CPURatio are the pipeline's wall and CPU time over the
	// plain insert's (the target is 3 at most).
	Ratio    float64 `json:"ratio,omitempty"`
	CPURatio float64 `json:"cpu_ratio,omitempty"`
	// LedgerEntries and Queued are what the pipeline wrote besides the
	// orders: ledger entries, and write-backs queued in the outbox.
	LedgerEntries int `json:"ledger_entries,omitempty"`
	Queued        int `json:"write_backs_queued,omitempty"`
	// PeakRSS is the whole process's peak; each phase has its own where
	// the kernel can reset the count.
	PeakRSS int64      `json:"peak_rss_bytes"`
	Point   benchPoint `json:"point"`
}

// ingestPhase is one measured phase.
type ingestPhase struct {
	Orders     int     `json:"orders"`
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// PerSecond is orders a second of wall time; PerCPUSecond orders a
	// second of the process's CPU time (every thread), which other work
	// on the machine lowers less.
	PerSecond    float64 `json:"orders_per_second"`
	PerCPUSecond float64 `json:"orders_per_cpu_second"`
	// PeakRSS is the phase's peak resident memory, 0 where unknown.
	PeakRSS int64 `json:"peak_rss_bytes"`
}

// phase measures fn: wall time, CPU time and, where the kernel allows, the
// peak memory from a collected heap.
func phase(orders int, fn func() error) (ingestPhase, error) {
	runtime.GC()
	debug.FreeOSMemory()
	reset := resetPeakRSS()
	began, cpu := time.Now(), processCPU()
	err := fn()
	p := ingestPhase{Orders: orders, Seconds: time.Since(began).Seconds(), CPUSeconds: (processCPU() - cpu).Seconds()}
	if reset {
		p.PeakRSS = phasePeakRSS()
	}
	if p.Seconds > 0 {
		p.PerSecond = float64(orders) / p.Seconds
	}
	if p.CPUSeconds > 0 {
		p.PerCPUSecond = float64(orders) / p.CPUSeconds
	}
	return p, err
}

const ingestDesc = `Import a synthetic store through the whole pipeline, exactly as ` + "`loyaltyd import`" + ` does, beside
the limit. The store's orders are generated (one at a time) as JSON lines of loyaltyd's order form
into the scratch directory; then, in turn, measured apart, each from a collected heap:

  parse     ` + "`loyaltyd import --dry-run`" + `: the first pass, that checks every order and indexes
            the file by time;
  plain     the limit: the same file read once, and each order's row inserted into a bare
            orders table (loyaltyd's columns, primary key and indexes, nothing else) with one
            prepared INSERT, in transactions of --batch orders;
  pipeline  ` + "`loyaltyd import`" + ` into a new database: both passes over the file, the guarded upsert,
            the program's rules, the ledger, the members' refresh, write-backs queued in the
            outbox, in transactions of --batch orders (skip it with --pipeline=false where it
            would take too long);
  report    the program's report over the imported year (` + "`loyaltyd report`" + `), after the pipeline.

Each says orders a second of wall time and of the process's CPU time, and its peak memory.`

func runBenchIngest(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("bench ingest", "[--orders N] [--customers N] [--batch N] [--pipeline=false] [--report=false]", ingestDesc)
	c := benchFlags(fs)
	orders := fs.Int("orders", 100_000, "number of orders")
	customers := fs.Int("customers", 0, "number of customers (default: two for every five orders)")
	batch := fs.Int("batch", 1000, "orders a transaction (import's --batch)")
	seed := fs.Uint64("seed", 1, "seed of the synthetic store")
	pipeline := fs.Bool("pipeline", true, "import through the whole pipeline too")
	withReport := fs.Bool("report", true, "compute the program's report after the pipeline")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *orders < 1 || *customers < 0 || *batch < 1 || *batch > 100_000 {
		return usagef("want --orders ≥ 1, --customers ≥ 0 and --batch from 1 to 100000")
	}
	dir, end, grown, err := c.begin(ctx, m, fs, "ingest", args, *orders, customers)
	if grown || err != nil {
		return err
	}
	defer end()
	say := func(format string, a ...any) {
		if !c.json {
			fmt.Fprintf(m.Stderr, "bench ingest: "+format+"\n", a...)
		}
	}

	res := ingestResult{Benchmark: "ingest", Machine: machine(time.Now()), Seed: *seed, Batch: *batch}
	st, err := synth.NewStream(synth.Options{Seed: *seed, Customers: *customers, Orders: *orders, Start: benchStart, End: benchEnd})
	if err != nil {
		return err
	}
	res.Customers, res.Orders = st.CustomerCount(), st.OrderCount()
	path := filepath.Join(dir, "orders.jsonl")
	say("generating %s orders into %s", fmtInt(res.Orders), path)
	res.Generate, err = phase(res.Orders, func() error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if res.FileBytes, _, err = writeStore(ctx, f, st, genJSONL, "USD"); err != nil {
			return err
		}
		return f.Close()
	})
	if err != nil {
		return err
	}
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	icfg := importer.Config{Options: importer.Options{Format: importer.FormatJSONL}, BatchSize: *batch}

	say("parse (import --dry-run)")
	res.Parse, err = phase(res.Orders, func() error {
		cfg := icfg
		cfg.DryRun = true
		sum, err := importer.Import(ctx, file, res.FileBytes, cfg, nil)
		if err != nil {
			return err
		}
		if sum.Orders != res.Orders || sum.Rejected != 0 {
			return fmt.Errorf("%w: the dry run read %d orders and rejected %d, want %d and none", errBenchCheck, sum.Orders, sum.Rejected, res.Orders)
		}
		return nil
	})
	if err != nil {
		return err
	}

	say("plain insert")
	var decode time.Duration
	plainDB := filepath.Join(dir, "plain.db")
	res.Plain, err = phase(res.Orders, func() error {
		n, err := store.PlainInsertOrders(ctx, plainDB, "shop", *batch, fileOrders(file, &decode))
		if err != nil {
			return err
		}
		if n != res.Orders {
			return fmt.Errorf("%w: the plain insert stored %d orders, want %d", errBenchCheck, n, res.Orders)
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.PlainDecodeSeconds = decode.Seconds()
	if n, err := store.PlainOrderCount(ctx, plainDB); err != nil || n != res.Orders {
		return fmt.Errorf("%w: %d rows in the plain table (%v), want %d", errBenchCheck, n, err, res.Orders)
	}
	res.Point = benchPoint{Size: float64(*orders), Units: float64(res.Orders), Unit: "orders", Seconds: res.Plain.Seconds}

	if *pipeline {
		say("pipeline (loyaltyd import)")
		if err := ingestPipeline(ctx, m, &res, filepath.Join(dir, "pipeline"), file, icfg, *withReport); err != nil {
			return err
		}
		res.Point.Seconds = res.Pipeline.Seconds
	}
	// Resetting the phases' count lowers the kernel's figure for the
	// process too: the process's peak is the largest it saw.
	res.PeakRSS = max(peakRSS(), res.Generate.PeakRSS, res.Parse.PeakRSS, res.Plain.PeakRSS)
	for _, p := range []*ingestPhase{res.Pipeline, res.Report} {
		if p != nil {
			res.PeakRSS = max(res.PeakRSS, p.PeakRSS)
		}
	}
	res.Point.PeakRSS = res.PeakRSS
	if c.json {
		return printJSON(m.Stdout, res)
	}
	printIngest(m.Stdout, &res)
	return nil
}

// ingestPipeline imports the file as `loyaltyd import` does, into a new
// database in dir, and computes the report after it if asked.
func ingestPipeline(ctx context.Context, m *Main, res *ingestResult, dir string, file *os.File, icfg importer.Config, withReport bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	a, err := m.benchApp(ctx, dir, benchShop, benchClock())
	if err != nil {
		return err
	}
	defer a.Close()
	sid := a.engine.Stores[0].ID
	sink := &engineSink{engine: a.engine, st: a.engine.Store(sid), currency: a.cfg.Program.Currency}
	var sum *importer.Summary
	p, err := phase(res.Orders, func() error {
		var err error
		sum, err = importer.Import(ctx, file, res.FileBytes, icfg, sink)
		return err
	})
	if err != nil {
		return err
	}
	res.Pipeline = &p
	if sum.Stored != res.Orders || sum.Rejected != 0 {
		return fmt.Errorf("%w: the import stored %d orders and rejected %d, want %d and none", errBenchCheck, sum.Stored, sum.Rejected, res.Orders)
	}
	counts, err := benchCounts(ctx, a, sid)
	if err != nil {
		return err
	}
	if counts.Orders != res.Orders {
		return fmt.Errorf("%w: %d orders in the database, want %d", errBenchCheck, counts.Orders, res.Orders)
	}
	res.LedgerEntries, res.Queued = counts.LedgerEntries, sink.report.Queued
	res.Ratio = p.Seconds / res.Plain.Seconds
	res.CPURatio = p.CPUSeconds / res.Plain.CPUSeconds
	if !withReport {
		return nil
	}
	var r *report.Report
	rp, err := phase(res.Orders, func() error {
		var err error
		r, err = a.engine.ProgramReport(ctx, sid, report.Query{})
		return err
	})
	if err != nil {
		return err
	}
	if r == nil {
		return fmt.Errorf("%w: no report", errBenchCheck)
	}
	res.Report = &rp
	return nil
}

// fileOrders reads the orders of a JSON lines file from its start, with
// importer's reader (the decoding the import's passes do), adding the time
// spent reading to decode.
func fileOrders(f *os.File, decode *time.Duration) iter.Seq2[commerce.Order, error] {
	return func(yield func(commerce.Order, error) bool) {
		began := time.Now()
		rd, err := importer.NewReader(io.NewSectionReader(f, 0, 1<<62), importer.Options{Format: importer.FormatJSONL})
		for err == nil {
			var rec importer.Record
			rec, err = rd.Next()
			*decode += time.Since(began)
			if err != nil {
				break
			}
			if !yield(rec.Order, nil) {
				return
			}
			began = time.Now()
		}
		if !errors.Is(err, io.EOF) {
			yield(commerce.Order{}, err)
		}
	}
}

func printIngest(w io.Writer, r *ingestResult) {
	fmt.Fprintf(w, "loyaltyd bench ingest: %s orders of %s customers (seed %d), JSON lines (%s), %s a transaction\nmachine: %s\n\n",
		fmtInt(r.Orders), fmtInt(r.Customers), r.Seed, fmtBytes(r.FileBytes), fmtInt(r.Batch), r.Machine)
	t := &table{head: []string{"", "orders", "time", "CPU time", "orders/s", "per CPU-second", "CPU per order", "peak RSS"}}
	row := func(name string, p ingestPhase) {
		t.add(name, fmtInt(p.Orders), fmtSeconds(p.Seconds), fmtSeconds(p.CPUSeconds), fmtRate(p.PerSecond), fmtRate(p.PerCPUSecond),
			fmt.Sprintf("%.1f µs", p.CPUSeconds/float64(max(1, p.Orders))*1e6), fmtBytes(p.PeakRSS))
	}
	row("generate the file", r.Generate)
	row("parse (import --dry-run)", r.Parse)
	row("plain insert (the limit)", r.Plain)
	if r.Pipeline != nil {
		row("pipeline (loyaltyd import)", *r.Pipeline)
	}
	if r.Report != nil {
		row("program report after it", *r.Report)
	}
	t.write(w)
	fmt.Fprintf(w, "\nplain insert: %s of its time reading and decoding the file, the rest in SQLite\n",
		fmtPercent(r.PlainDecodeSeconds/r.Plain.Seconds))
	if p := r.Pipeline; p != nil {
		fmt.Fprintf(w, "pipeline: %s ledger entries, %s write-backs queued\n", fmtInt(r.LedgerEntries), fmtInt(r.Queued))
		fmt.Fprintf(w, "pipeline / plain insert: %.1f× the wall time, %.1f× the CPU time (target: 3× at most)\n", r.Ratio, r.CPURatio)
		fmt.Fprintf(w, "pipeline: %s orders/s (target: 25,000), peak RSS %s (target: under 200 MB)\n", fmtRate(p.PerSecond), fmtBytes(p.PeakRSS))
	}
	fmt.Fprintf(w, "peak RSS of the whole process %s\n", fmtBytes(r.PeakRSS))
}
