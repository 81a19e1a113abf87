package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/importer"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
)

// Exit codes of import: 0 when every order in the file was stored or
// skipped (already stored, older than the stored version, a test order);
// 1 when some rows were rejected (the others are stored: fix the rows and
// import the file again, which stores only what is missing), or when the
// import stopped on an error or an interrupt (what was committed stays);
// 2 for a usage mistake, a file that is none of the formats, or a header
// without a column the format needs (nothing is stored).

const importDesc = `Import order history from an export file: Shopify's order CSV (Orders › Export),
WooCommerce's order CSV (the Customer / Order / Coupon Export extension, one row per
order or per item) or JSON lines of loyaltyd's own order form. The format is told from
the first line unless --format names it.

Orders go through the same path as sync: stored with the guarded upsert, credited by
the program's rules (orders placed before the program's launch earn nothing unless
program.launch or program.backdate_days say so), write-backs queued for the daemon.
Importing a file again changes nothing. The file is checked first, then stored oldest
order first, in batches of --batch orders per transaction. Rows that cannot be read are
reported with their line and reason and the rest is imported.

Exit status: 0 when every order was stored or skipped, 1 when rows were rejected or the
import stopped (what was stored stays), 2 for a usage error or a file that is no export.`

func runImport(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("import", "[--store ID] [--format F] [--timezone TZ] [--batch N] [--dry-run] [-c FILE] FILE", importDesc)
	c := m.commonFlags(fs)
	storeID := fs.String("store", "", "the store the orders belong to (optional when there is one)")
	format := fs.String("format", "", "shopify-csv, woocommerce-csv or jsonl (default: told from the first line)")
	tz := fs.String("timezone", "", "IANA zone of times the file writes without one (WooCommerce: the site's zone; default program.timezone)")
	batch := fs.Int("batch", 1000, "orders per transaction")
	dryRun := fs.Bool("dry-run", false, "check the file and say what it holds; store nothing")
	show := fs.Int("show", 20, "list the first `N` rejected rows (all are counted)")
	path, err := parseWithFile(fs, args)
	if err != nil {
		return err
	}
	if *batch < 1 || *batch > 100_000 {
		return usagef("--batch %d: want 1 to 100000", *batch)
	}
	if *show < 0 {
		return usagef("--show %d: want 0 or more", *show)
	}
	var f importer.Format
	if *format != "" {
		if f, err = importer.ParseFormat(*format); err != nil {
			return usagef("--format: %v", err)
		}
	}
	cfg, err := m.loadConfig(c)
	if err != nil {
		return err
	}
	sid, err := pickStore(cfg, *storeID)
	if err != nil {
		return err
	}
	loc := cfg.Program.Location()
	if *tz != "" {
		if loc, err = time.LoadLocation(*tz); err != nil {
			return usagef("--timezone %q: %v (want an IANA name such as Europe/Tallinn)", *tz, err)
		}
	}
	file, err := os.Open(path)
	if err != nil {
		return usageError{err}
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return err
	}
	if info.IsDir() {
		return usagef("%s is a directory, want an export file", path)
	}
	icfg := importer.Config{
		Options:   importer.Options{Format: f, Location: loc},
		BatchSize: *batch,
		MaxListed: max(*show, 1),
		DryRun:    *dryRun,
	}
	// A file that is no export is a mistake to say before the database
	// is opened (or created).
	if _, err := importer.NewReader(io.NewSectionReader(file, 0, info.Size()), icfg.Options); err != nil {
		return usageError{fmt.Errorf("%s: %w", path, err)}
	}
	var bar *progressLine
	if m.IsTerminal != nil && m.IsTerminal(m.Stderr) {
		bar = &progressLine{w: m.Stderr, name: filepath.Base(path), now: time.Now}
		icfg.Progress = bar.update
	}
	var sink *engineSink
	var a *app
	if !*dryRun {
		if a, err = m.openApp(ctx, c, true); err != nil {
			return err
		}
		defer a.Close()
		sink = &engineSink{engine: a.engine, st: a.engine.Store(sid), currency: cfg.Program.Currency}
	}
	var s importer.Sink
	if sink != nil {
		s = sink
	}
	sum, err := importer.Import(ctx, file, info.Size(), icfg, s)
	bar.clear()
	if sum == nil {
		// The file could not be read as an export at all: nothing was
		// stored.
		return usageError{fmt.Errorf("%s: %w", path, err)}
	}
	printImport(m.Stdout, path, sid, loc, sum, *show, sink, a)
	switch {
	case err != nil:
		return err
	case sum.Rejected > 0 && *dryRun:
		return fmt.Errorf("%s %s would be rejected (listed above)", report.Thousands(int64(sum.Rejected)), plural(sum.Rejected, "order or row", "orders or rows"))
	case sum.Rejected > 0:
		return fmt.Errorf("%s %s rejected (listed above); the rest was imported", report.Thousands(int64(sum.Rejected)), plural(sum.Rejected, "order or row", "orders or rows"))
	}
	return nil
}

// parseWithFile parses flags given before or after the one file argument.
func parseWithFile(fs *flag.FlagSet, args []string) (string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", err
			}
			return "", usageError{err}
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(files) {
	case 0:
		return "", usagef("give the file to import (see --help)")
	case 1:
		return files[0], nil
	}
	return "", usagef("give one file to import, not %d (%s)", len(files), strings.Join(files, ", "))
}

// engineSink stores imported orders through the sync engine.
type engineSink struct {
	engine   *sync.Engine
	st       *sync.Store
	currency string
	// report sums the engine's reports; otherCurrency counts orders in a
	// currency the program does not count.
	report        sync.Report
	otherCurrency int
}

// Store hands a batch to the engine. A batch that lost a race with the
// daemon writing the same ledger stream is retried: the transaction
// rolled back whole, and the engine appends only differences.
func (s *engineSink) Store(ctx context.Context, batch []importer.Record) ([]importer.Outcome, error) {
	items := make([]sync.ImportItem, len(batch))
	for i := range batch {
		items[i] = sync.ImportItem{Order: batch[i].Order, Customer: batch[i].Customer}
	}
	var (
		r   sync.Report
		res []sync.ImportOutcome
		err error
	)
	for attempt := 0; ; attempt++ {
		r, res, err = s.engine.Import(ctx, s.st, items)
		if !errors.Is(err, store.ErrConflict) || attempt == 2 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	s.report.Add(r)
	out := make([]importer.Outcome, len(res))
	for i, o := range res {
		switch {
		case o.Refused != nil:
			out[i] = importer.Outcome{Result: importer.Refused, Err: o.Refused}
			continue
		case o.Changed:
			out[i].Result = importer.Stored
		case o.Stale:
			out[i].Result = importer.Stale
		default:
			out[i].Result = importer.Unchanged
		}
		out[i].NoCustomer = o.NoCustomer
		if batch[i].Order.Currency != s.currency && o.Changed {
			s.otherCurrency++
		}
	}
	return out, nil
}

// printImport writes the import's summary.
func printImport(w io.Writer, path, storeID string, loc *time.Location, s *importer.Summary, show int, sink *engineSink, a *app) {
	verb := "imported into"
	if s.DryRun {
		verb = "checked for"
	}
	fmt.Fprintf(w, "%s (%s) %s store %s: %s in %s\n", path, s.Format, verb, storeID,
		count(s.Orders+s.Rejected, "order"), count(s.Rows, "row"))
	if s.Format == importer.FormatWooCommerceCSV {
		fmt.Fprintf(w, "  times without a zone read in %s\n", loc)
	}
	if s.DryRun {
		fmt.Fprintf(w, "  valid     %7s (dry run: nothing was stored)\n", report.Thousands(int64(s.Orders-s.Tests)))
	} else {
		fmt.Fprintf(w, "  accepted  %7s (stored: new, or newer than the stored version)\n", report.Thousands(int64(s.Stored)))
	}
	var skipped []string
	for _, k := range []struct {
		n    int
		what string
	}{{s.Unchanged, "already stored as they are"}, {s.Stale, "older than the stored version"}, {s.Tests, "test " + plural(s.Tests, "order", "orders")}} {
		if k.n > 0 {
			skipped = append(skipped, fmt.Sprintf("%s %s", report.Thousands(int64(k.n)), k.what))
		}
	}
	if len(skipped) > 0 {
		fmt.Fprintf(w, "  skipped   %7s (%s)\n", report.Thousands(int64(s.Skipped())), strings.Join(skipped, ", "))
	} else {
		fmt.Fprintf(w, "  skipped   %7s\n", "0")
	}
	fmt.Fprintf(w, "  rejected  %7s", report.Thousands(int64(s.Rejected)))
	if s.Rejected > 0 {
		fmt.Fprintf(w, " (%s)", count(s.RejectedRows, "row"))
	}
	fmt.Fprintln(w)
	listed := s.Rejections
	if len(listed) > show {
		listed = listed[:show]
	}
	for _, e := range listed {
		fmt.Fprintf(w, "    %s\n", e)
	}
	if more := s.Rejected - len(listed); more > 0 && len(listed) > 0 {
		fmt.Fprintf(w, "    … and %s more\n", report.Thousands(int64(more)))
	}
	if s.OutOfOrder > 0 && !s.DryRun {
		fmt.Fprintf(w, "  the file is not oldest first (%s listed after a later one): its orders were stored oldest first, as points depend on the orders credited before\n",
			count(s.OutOfOrder, "order"))
	}
	if sink == nil {
		return
	}
	r := sink.report
	fmt.Fprintf(w, "  ledger: %s, +%s/−%s points; %s added; %s queued for the store (the daemon or `loyaltyd sync --once` delivers them)\n",
		count(r.Entries, "entry"), report.Thousands(r.PointsCredited), report.Thousands(r.PointsDebited),
		count(r.CustomersChanged, "customer"), count(r.Queued, "write-back"))
	if r.OrdersBeforeLaunch > 0 {
		launch := a.engine.Store(storeID).Launch()
		fmt.Fprintf(w, "  %s placed before the program's launch (%s) earn nothing; set program.launch or program.backdate_days to credit them, then import again\n",
			count(r.OrdersBeforeLaunch, "order"), launch.Format("2006-01-02"))
	}
	if sink.otherCurrency > 0 {
		fmt.Fprintf(w, "  %s in another currency than the program's %s earn nothing\n", count(sink.otherCurrency, "order"), sink.currency)
	}
	if s.NoCustomer > 0 {
		fmt.Fprintf(w, "  %s name no customer the store knows (the export gives only an e-mail): stored without one, they earn nothing; run `loyaltyd sync --once` so that the store's customers are known, then import again\n",
			count(s.NoCustomer, "order"))
	}
}

// count writes n and a noun, plural when n is not 1: "1 order", "2,400 orders".
func count(n int, noun string) string {
	pl := noun + "s"
	if strings.HasSuffix(noun, "y") {
		pl = strings.TrimSuffix(noun, "y") + "ies"
	}
	return report.Thousands(int64(n)) + " " + plural(n, noun, pl)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// progressLine draws one line on a terminal, rewritten in place, saying
// how far an import is. A simple line rather than a progress-bar library:
// the module takes no new dependencies for it.
type progressLine struct {
	w       io.Writer
	name    string
	now     func() time.Time
	started time.Time
	last    time.Time
	storing bool
	width   int
}

func (p *progressLine) update(pr importer.Progress) {
	now := p.now()
	if pr.Storing != p.storing || p.started.IsZero() {
		p.storing, p.started = pr.Storing, now
	}
	if now.Sub(p.last) < 200*time.Millisecond && pr.Done < pr.Total {
		return
	}
	p.last = now
	pct := 100.0
	if pr.Total > 0 {
		pct = 100 * float64(pr.Done) / float64(pr.Total)
	}
	const cells = 24
	filled := int(pct / 100 * cells)
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", cells-filled)
	var line string
	if !pr.Storing {
		line = fmt.Sprintf("checking %s [%s] %3.0f%%", p.name, bar, pct)
	} else {
		line = fmt.Sprintf("importing %s [%s] %3.0f%% %s/%s orders", p.name, bar, pct, report.Thousands(pr.Done), report.Thousands(pr.Total))
		if el := now.Sub(p.started).Seconds(); el > 1 && pr.Done > 0 {
			rate := float64(pr.Done) / el
			eta := time.Duration(float64(pr.Total-pr.Done)/rate) * time.Second
			line += fmt.Sprintf(" %.0f/s, %s left", rate, eta.Round(time.Second))
		}
	}
	pad := ""
	if n := p.width - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.width = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
}

// clear removes the line, so that what follows starts on a clean line.
func (p *progressLine) clear() {
	if p == nil || p.width == 0 {
		return
	}
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
	p.width = 0
}
