package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/config"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/report"
)

// benchSub is one of bench's measurements.
type benchSub struct {
	name    string
	summary string
	run     func(ctx context.Context, m *Main, args []string) error
}

func benchSubs() []benchSub {
	return []benchSub{
		{"gen", "write a synthetic store (orders as JSON lines or as Shopify's REST JSON), streaming", runBenchGen},
		{"sync", "a full sync from the Shopify fake at Standard limits and from the WooCommerce fake", runBenchSync},
		{"webhooks", "signed webhooks on loopback: the durable rate, and latency at fixed rates, against a bare handler", runBenchWebhooks},
		{"engine", "order evaluations per second per core, and the whole pipeline's apply rate into SQLite", runBenchEngine},
		{"ingest", "an import of a synthetic store through the whole pipeline, beside a plain batched insert (the limit)", runBenchIngest},
	}
}

func runBench(ctx context.Context, m *Main, args []string) error {
	if len(args) == 0 {
		m.benchUsage(m.Stderr)
		return usagef("which benchmark? (gen, sync, webhooks, engine or ingest)")
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		m.benchUsage(m.Stdout)
		return flag.ErrHelp
	}
	for _, s := range benchSubs() {
		if s.name == args[0] {
			return s.run(ctx, m, args[1:])
		}
	}
	return usagef("unknown benchmark %q (want gen, sync, webhooks, engine or ingest)", args[0])
}

func (m *Main) benchUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: loyaltyd bench <benchmark> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Measures loyaltyd against the limits of its machine and of the platforms' APIs, on synthetic")
	fmt.Fprintln(w, "stores, fakes of the platforms on loopback and scratch databases; nothing touches a real store.")
	fmt.Fprintln(w, "Each prints a table (--json for JSON) with the machine and the peak memory of the process.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Benchmarks:")
	for _, s := range benchSubs() {
		fmt.Fprintf(w, "  %-9s %s\n", s.name, s.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every benchmark takes --json, --cpuprofile FILE, --growth FACTORS (the same measurement at")
	fmt.Fprintln(w, "sizes scaled by each factor, each in a process of its own) and --help.")
}

// benchCommon holds the flags every benchmark takes.
type benchCommon struct {
	json       bool
	cpuProfile string
	dir        string
	growth     string
}

func benchFlags(fs *flag.FlagSet) *benchCommon {
	c := &benchCommon{}
	fs.BoolVar(&c.json, "json", false, "print the result as JSON")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the measurement to `file` (go tool pprof)")
	fs.StringVar(&c.dir, "dir", "", "scratch `directory` for databases and files (default: a new temporary directory, removed after)")
	fs.StringVar(&c.growth, "growth", "", "run at the sizes scaled by each of these comma-separated `factors` (e.g. 0.01,0.1,1,10), each in a process of its own, and compare the cost per unit")
	return c
}

// begin does what a benchmark of a synthetic store does first: it defaults
// the customers to two for every five orders, runs the growth runs when
// --growth asks (grown: they were the measurement, err is theirs), or
// starts the CPU profile and makes the scratch directory, which end stops
// and removes.
func (c *benchCommon) begin(ctx context.Context, m *Main, fs *flag.FlagSet, name string, args []string, orders int, customers *int) (dir string, end func(), grown bool, err error) {
	if *customers == 0 {
		*customers = max(1, orders*2/5)
	}
	if c.growth != "" {
		sizes := []growthSize{{name: "orders", value: float64(orders)}}
		if explicit(fs, "customers") {
			sizes = append(sizes, growthSize{name: "customers", value: float64(*customers)})
		}
		return "", nil, true, runGrowth(ctx, m, c, name, args, sizes)
	}
	stop, err := c.profile()
	if err != nil {
		return "", nil, false, err
	}
	dir, cleanup, err := c.scratch()
	if err != nil {
		stop()
		return "", nil, false, err
	}
	return dir, func() { cleanup(); stop() }, false, nil
}

// scratch returns the directory to work in and a function that removes it
// when it was made here.
func (c *benchCommon) scratch() (string, func(), error) {
	if c.dir != "" {
		if err := os.MkdirAll(c.dir, 0o755); err != nil {
			return "", nil, err
		}
		return c.dir, func() {}, nil
	}
	d, err := os.MkdirTemp("", "loyaltyd-bench-")
	if err != nil {
		return "", nil, err
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// profile starts the CPU profile the flags ask for; the function returned
// stops it.
func (c *benchCommon) profile() (func() error, error) {
	if c.cpuProfile == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(c.cpuProfile)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// benchMachine says where a measurement ran.
type benchMachine struct {
	CPU        string `json:"cpu"`
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	Date       string `json:"date"`
	// Load is the system's load average over the minute before the
	// measurement, where the system says: other work on the machine skews
	// every figure.
	Load string `json:"load,omitempty"`
}

func machine(now time.Time) benchMachine {
	return benchMachine{CPU: cpuModel(), CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, Date: now.UTC().Format(time.DateOnly), Load: loadAverage()}
}

func (b benchMachine) String() string {
	s := fmt.Sprintf("%s, %d CPUs (GOMAXPROCS %d), %s %s, %s", b.CPU, b.CPUs, b.GOMAXPROCS, b.Go, b.OS, b.Date)
	if b.Load != "" {
		s += ", load " + b.Load
	}
	return s
}

// loadAverage returns the one-minute load average, "" where unknown.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return ""
}

// cpuModel names the processor, where the system says.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// benchPoint is one measurement as a growth series compares them: the work
// done, in how long, at what peak memory.
type benchPoint struct {
	// Size is the size asked for (orders, or seconds of load).
	Size float64 `json:"size"`
	// Units is the work done, in Unit.
	Units   float64 `json:"units"`
	Unit    string  `json:"unit"`
	Seconds float64 `json:"seconds"`
	PeakRSS int64   `json:"peak_rss_bytes"`
}

// table is a small text table: the first column left-aligned, the others
// right-aligned.
type table struct {
	head []string
	rows [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) {
	width := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			if i < len(width) {
				width[i] = max(width[i], len([]rune(c)))
			}
		}
	}
	line := func(r []string) {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			switch {
			case i == 0:
				b.WriteString(c + pad)
			default:
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(t.head)
	for _, r := range t.rows {
		line(r)
	}
}

// Number formats.

func fmtInt(n int) string { return report.Thousands(int64(n)) }

func fmtRate(v float64) string {
	switch {
	case math.IsInf(v, 0) || math.IsNaN(v):
		return "-"
	case v >= 100:
		return report.Thousands(int64(math.Round(v)))
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func fmtSeconds(s float64) string {
	switch {
	case s >= 100:
		return fmt.Sprintf("%.0f s", s)
	case s >= 1:
		return fmt.Sprintf("%.2f s", s)
	}
	return fmt.Sprintf("%.0f ms", s*1000)
}

func fmtLatency(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func fmtBytes(n int64) string {
	switch {
	case n <= 0:
		return "-"
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
}

func fmtPercent(v float64) string { return fmt.Sprintf("%.1f %%", 100*v) }

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// benchConfig is the configuration the benchmarks wire loyaltyd from: a
// program with tiers, a multiplier, a first-order bonus, a reward, expiry
// and a holdout group, launched at the start of the synthetic period so
// that every order earns. Auto-redeem and referrals are left out: their
// codes are write-backs, which the sync benchmark does not deliver.
const benchConfig = `database: %s
stores:
%s
program:
  currency: USD
  enrollment: open
  launch: %s
  holdout_percent: 10
  earn:
    points_per_unit: 1
    pending_days: 14
    first_order_bonus: 50
    multipliers:
      - {vendor: Kestrel, factor: 2}
  tiers:
    window_days: 365
    levels:
      - {name: silver, min_spend: 250}
      - {name: gold, min_spend: 1000, min_orders: 4, earn_factor: 1.25}
  rewards:
    - {id: five-off, points: 500, type: fixed_amount, value: 5, expires_after_days: 90}
  expiry: {inactive_days: 365, warn_days: 30}
  tags:
    prefix: "loyalty-"
`

// benchPeriod is the synthetic stores' year: fixed, so that a seed always
// gives the same store.
var (
	benchEnd   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	benchStart = benchEnd.AddDate(-1, 0, 0)
)

// benchClock is the clock loyaltyd and the fakes run on in a benchmark: a
// day after the synthetic year, moving at the wall clock's pace.
func benchClock() func() time.Time {
	base, began := benchEnd.Add(24*time.Hour), time.Now()
	return func() time.Time { return base.Add(time.Since(began)) }
}

// benchShop is the stores block of a benchmark that applies orders
// through the engine without reading them from a platform.
const benchShop = `  - id: shop
    platform: shopify
    shop: bench.myshopify.com
    access_token: shpat_bench
    api_secret: shpss_bench`

// benchApp wires loyaltyd as the daemon does, from a configuration whose
// stores block is given, on a database in dir, with the benchmark's clock.
func (m *Main) benchApp(ctx context.Context, dir, stores string, now func() time.Time) (*app, error) {
	text := fmt.Sprintf(benchConfig, filepath.Join(dir, "loyaltyd.db"), stores, benchStart.Format(time.DateOnly))
	cfg, err := config.Parse(filepath.Join(dir, "loyaltyd.yaml"), []byte(text), config.Options{
		Platforms: connectors.Platforms(),
		LookupEnv: func(string) (string, bool) { return "", false },
	})
	if err != nil {
		return nil, err
	}
	log := logrus.New()
	log.Out = m.Stderr
	log.Level = logrus.WarnLevel
	log.Formatter = &logrus.TextFormatter{FullTimestamp: true, DisableColors: true}
	bm := *m
	bm.Now = now
	return bm.wire(ctx, cfg, log, true)
}

// readOnly hides a connector's optional capabilities (write-back,
// webhooks, fetching single orders), so that a pass only reads: the
// benchmarks measure the read path, and write-back is a path of its own
// with limits of its own.
type readOnly struct{ c connectors.Connector }

func (r readOnly) Orders(ctx context.Context, c connectors.Cursor) (connectors.Page[commerce.Order], error) {
	return r.c.Orders(ctx, c)
}

func (r readOnly) Customers(ctx context.Context, c connectors.Cursor) (connectors.Page[commerce.Customer], error) {
	return r.c.Customers(ctx, c)
}

var _ connectors.Connector = readOnly{}

// benchChild runs loyaltyd with args in a process of its own and returns
// its standard output; growth series use it so that each size's peak
// memory is its own. Tests replace it.
var benchChild = func(ctx context.Context, m *Main, args []string) ([]byte, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stderr = m.Stderr
	return cmd.Output()
}

// growthSize is a flag that a growth series scales.
type growthSize struct {
	name  string
	value float64
	// seconds marks a duration flag, written back as seconds.
	seconds bool
}

// runGrowth runs the benchmark sub with args at each factor of its sizes,
// each in a child process, and prints the cost of each size and how it
// grows: the exponent of the time against the work between neighbouring
// sizes (1 is linear, below 1 better than linear).
func runGrowth(ctx context.Context, m *Main, c *benchCommon, sub string, args []string, sizes []growthSize) error {
	var factors []float64
	for f := range strings.SplitSeq(c.growth, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 {
			return usagef("--growth: %q is not a positive factor", f)
		}
		factors = append(factors, v)
	}
	slices.Sort(factors)
	// The child's flags: the parent's, without --growth and --json, with
	// the sizes scaled.
	var base []string
	skip := map[string]bool{"growth": true, "json": true, "cpuprofile": true}
	for _, s := range sizes {
		skip[s.name] = true
	}
	for i := 0; i < len(args); i++ {
		name := strings.TrimLeft(args[i], "-")
		name, _, hasValue := strings.Cut(name, "=")
		if skip[name] {
			if !hasValue && name != "json" && i+1 < len(args) {
				i++
			}
			continue
		}
		base = append(base, args[i])
	}
	type result struct {
		Factor float64    `json:"factor"`
		Point  benchPoint `json:"point"`
		// Exponent is log(time ratio)/log(work ratio) against the size
		// before; 0 for the first.
		Exponent float64 `json:"exponent"`
		// Result is the child's whole result, every figure it measured.
		Result json.RawMessage `json:"result"`
	}
	var results []result
	for _, f := range factors {
		child := append([]string{"bench", sub, "--json"}, base...)
		for _, s := range sizes {
			v := s.value * f
			if s.seconds {
				child = append(child, fmt.Sprintf("--%s=%gs", s.name, v))
			} else {
				child = append(child, fmt.Sprintf("--%s=%d", s.name, max(1, int(math.Round(v)))))
			}
		}
		if !c.json {
			fmt.Fprintf(m.Stderr, "loyaltyd %s\n", strings.Join(child, " "))
		}
		out, err := benchChild(ctx, m, child)
		if err != nil {
			return fmt.Errorf("growth at ×%g: %w", f, err)
		}
		var got struct {
			Point benchPoint `json:"point"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			return fmt.Errorf("growth at ×%g: reading the result: %w", f, err)
		}
		r := result{Factor: f, Point: got.Point, Result: json.RawMessage(out)}
		if n := len(results); n > 0 {
			prev := results[n-1].Point
			if prev.Units > 0 && r.Point.Units > prev.Units && prev.Seconds > 0 {
				r.Exponent = math.Log(r.Point.Seconds/prev.Seconds) / math.Log(r.Point.Units/prev.Units)
			}
		}
		results = append(results, r)
	}
	if c.json {
		return printJSON(m.Stdout, map[string]any{"benchmark": sub, "machine": machine(time.Now()), "growth": results})
	}
	fmt.Fprintf(m.Stdout, "loyaltyd bench %s --growth %s\nmachine: %s\n\n", sub, c.growth, machine(time.Now()))
	t := &table{head: []string{"factor", "size", "work", "time", "µs per unit", "exponent", "peak RSS"}}
	worst := 0.0
	for _, r := range results {
		p := r.Point
		per := "-"
		if p.Units > 0 {
			per = fmtRate(p.Seconds / p.Units * 1e6)
		}
		exp := "-"
		if r.Exponent != 0 {
			exp = fmt.Sprintf("%.2f", r.Exponent)
			worst = max(worst, r.Exponent)
		}
		t.add(fmt.Sprintf("×%g", r.Factor), fmtRate(p.Size), fmtInt(int(p.Units))+" "+p.Unit, fmtSeconds(p.Seconds), per, exp, fmtBytes(p.PeakRSS))
	}
	t.write(m.Stdout)
	verdict := "linear or better"
	if worst > 1.1 {
		verdict = "worse than linear"
	}
	fmt.Fprintf(m.Stdout, "\nexponent: log(time ratio) / log(work ratio) against the size before (1 = linear); worst %.2f: %s\n", worst, verdict)
	return nil
}

// percentile returns the q-quantile (0 ≤ q ≤ 1) of every sample, by the
// nearest rank; samples are sorted in place.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// errBenchCheck is wrapped when a benchmark's result fails its own check
// (an order missing from the database, an event not stored): the figures
// would not mean what they say.
var errBenchCheck = errors.New("benchmark check failed")
