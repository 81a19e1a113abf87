package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/loyaltyd/loyaltyd/config"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/sync"
)

// periodFlags are the flags that choose a report's period and pairs.
type periodFlags struct {
	from, to    string
	pairs       int
	minSupport  float64
	asJSON      bool
	definitions bool
}

func (m *Main) periodFlags(fs *flag.FlagSet) *periodFlags {
	pf := &periodFlags{}
	fs.StringVar(&pf.from, "from", "", "first `day` of the period (2006-01-02 in the program's time zone, or an RFC 3339 time); default 365 days before --to")
	fs.StringVar(&pf.to, "to", "", "last `day` of the period, included (or an RFC 3339 time, excluded); default: up to now")
	fs.IntVar(&pf.pairs, "pairs", report.DefaultPairs, "how many co-purchase pairs to list")
	fs.Float64Var(&pf.minSupport, "min-support", report.DefaultMinSupport, "smallest share of orders a listed pair appears in (0.01 is 1 %)")
	fs.BoolVar(&pf.asJSON, "json", false, "print JSON: every figure with its definition and period")
	fs.BoolVar(&pf.definitions, "definitions", false, "print every figure's definition and period after the report")
	return pf
}

// query turns the flags into a report query; dates are whole days in the
// program's time zone, the last one included.
func (pf *periodFlags) query(p *loyalty.Program) (report.Query, error) {
	q := report.Query{Pairs: pf.pairs, MinSupport: pf.minSupport}
	if pf.pairs <= 0 {
		return q, usagef("--pairs %d: want 1 or more", pf.pairs)
	}
	if pf.minSupport <= 0 || pf.minSupport > 1 {
		return q, usagef("--min-support %g: want a share above 0 and at most 1", pf.minSupport)
	}
	var err error
	if q.From, err = report.ParseDay(pf.from, p.Location(), false); err != nil {
		return q, usagef("--from: %v", err)
	}
	if q.To, err = report.ParseDay(pf.to, p.Location(), true); err != nil {
		return q, usagef("--to: %v", err)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, usagef("--from %s is not before --to %s", pf.from, pf.to)
	}
	return q, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runReport(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("report", "[--store ID] [--from DAY] [--to DAY] [--json] [--definitions] [-c FILE]",
		"Report how the program does in a store over a period (default: the year up to now): members and\n"+
			"enrollment, points issued, redeemed, expired and outstanding with their value (the liability),\n"+
			"the members against the holdout group (purchase frequency, repeat-purchase rate, average order\n"+
			"value, revenue per customer, and the lift of each), reward cost, incremental gross margin and\n"+
			"ROI, tier mix, ABC and RFM segments, products bought together, goals and the auto-redeem budget.\n"+
			"Every figure states its period and definition (--definitions, --json). It only reads the database.")
	c := m.commonFlags(fs)
	storeID := fs.String("store", "", "the store (optional when there is one)")
	pf := m.periodFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	a, sid, err := m.openAppFor(ctx, c, *storeID)
	if err != nil {
		return err
	}
	defer a.Close()
	q, err := pf.query(&a.cfg.Program)
	if err != nil {
		return err
	}
	r, err := a.engine.ProgramReport(ctx, sid, q)
	if err != nil {
		return err
	}
	if pf.asJSON {
		return writeJSON(m.Stdout, r)
	}
	return report.WriteText(m.Stdout, r, pf.definitions)
}

func runSimulate(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("simulate", "--program CANDIDATE.yaml [--store ID] [--from DAY] [--to DAY] [--launch DAY] [--json] [-c FILE]",
		"Replay the store's order history under a candidate program and under the current one, and show\n"+
			"the same report for both side by side: points issued, liability, rewards issued and their cost,\n"+
			"tier mix, and who would move tier. The candidate is a program: block, or a whole configuration\n"+
			"of which only the program is read. Nothing is written to the database or the store: each program\n"+
			"replays into its own temporary database, removed afterwards.")
	c := m.commonFlags(fs)
	storeID := fs.String("store", "", "the store (optional when there is one)")
	programFile := fs.String("program", "", "the candidate program `file` (required)")
	launch := fs.String("launch", "", "replay both programs as if launched on this `day` (default: each program's launch, or the store's first sync)")
	pf := m.periodFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *programFile == "" {
		return usagef("--program is required: the candidate program file")
	}
	candidate, err := config.LoadProgram(*programFile, config.Options{Platforms: connectors.Platforms(), LookupEnv: m.LookupEnv})
	if err != nil {
		return usageError{err}
	}
	a, sid, err := m.openAppFor(ctx, c, *storeID)
	if err != nil {
		return err
	}
	defer a.Close()
	if candidate.Currency != a.cfg.Program.Currency {
		return usagef("%s: currency %s differs from the store's program (%s): its orders would earn nothing", *programFile, candidate.Currency, a.cfg.Program.Currency)
	}
	q, err := pf.query(&a.cfg.Program)
	if err != nil {
		return err
	}
	opts := sync.SimulateOptions{Query: q}
	if opts.Launch, err = report.ParseDay(*launch, a.cfg.Program.Location(), false); err != nil {
		return usagef("--launch: %v", err)
	}
	if m.IsTerminal != nil && m.IsTerminal(m.Stderr) {
		fmt.Fprintf(m.Stderr, "Replaying the history of store %s under both programs…\n", sid)
	}
	sim, err := a.engine.Simulate(ctx, sid, candidate, opts)
	if err != nil {
		return err
	}
	sim.CandidateFile = *programFile
	if pf.asJSON {
		return writeJSON(m.Stdout, sim)
	}
	return report.WriteSimulationText(m.Stdout, sim, pf.definitions)
}
