package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	stdsync "sync"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors/memory"
	"github.com/loyaltyd/loyaltyd/sync"
	"github.com/loyaltyd/loyaltyd/synth"
)

// demoConfig is the configuration the demo writes next to its database:
// the same file format a real installation uses.
const demoConfig = `# loyaltyd demo: a synthetic store on the in-process memory platform.
# A real installation names a shopify or woocommerce store here instead.
database: ./loyaltyd.db
listen: 127.0.0.1:8380
stores:
  - id: demo
    platform: memory
    instance: demo
program:
  currency: USD
  enrollment: open
  earn:
    points_per_unit: 1        # 1 point per dollar of merchandise
    pending_days: 14          # points become spendable 14 days after the order
    first_order_bonus: 50
  tags:
    prefix: "loyalty-"
`

func runDemo(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("demo", "[--once] [--dir DIR] [--customers N] [--seed N]",
		"Run loyaltyd on a synthetic store with a year of history: no configuration and no\nnetwork needed. It writes a configuration and a database into DIR, syncs the store,\napplies the program, prints a summary, and then keeps taking new orders until you\nstop it (Ctrl-C), unless --once.")
	once := fs.Bool("once", false, "exit after the summary")
	dir := fs.String("dir", "", "directory for the demo's configuration and database (default: a new temporary directory)")
	customers := fs.Int("customers", 500, "number of customers")
	seed := fs.Uint64("seed", 1, "seed of the synthetic store: the same seed gives the same store")
	every := fs.Duration("every", 3*time.Second, "time between new orders after the summary")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *customers < 1 || *customers > 1_000_000 {
		return usagef("--customers %d: want 1 to 1000000", *customers)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "loyaltyd-demo-")
		if err != nil {
			return err
		}
		*dir = d
	} else if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	cfgPath := filepath.Join(*dir, "loyaltyd.yaml")
	if err := os.WriteFile(cfgPath, []byte(demoConfig), 0o644); err != nil {
		return err
	}

	end := m.Now().UTC().Truncate(24 * time.Hour)
	start := end.AddDate(-1, 0, 0)
	gen, err := synth.Generate(synth.Options{Seed: *seed, Customers: *customers, Start: start, End: end})
	if err != nil {
		return err
	}
	// The demo replays the year: the platform and loyaltyd run on a clock
	// that moves a week at a time, so that orders are credited when placed
	// and refunds taken back when they come, as in a real installation.
	clock := &demoClock{t: start, real: m.Now}
	platform := memory.NewPlatform(memory.PlatformOptions{Now: clock.Now})
	memory.Attach("demo", platform)
	defer memory.Detach("demo")
	dm := *m
	dm.Now = clock.Now
	a, err := dm.openApp(ctx, &common{config: cfgPath, logLevel: *logLevel}, true)
	if err != nil {
		return err
	}
	defer a.Close()

	w := m.Stdout
	fmt.Fprintf(w, "loyaltyd demo: a synthetic store with %d customers and a year of orders, on the in-process memory platform\n", *customers)
	fmt.Fprintf(w, "  config    %s\n  database  %s\n  program   %s\n\n", cfgPath, a.cfg.Database, programSummary(&a.cfg.Program))
	began := time.Now()
	r, err := replayYear(ctx, a, platform, clock, gen, start, end)
	if err != nil {
		return err
	}
	clock.live()
	fmt.Fprintf(w, "Replayed the year week by week in %s: %d sync passes read %d customer and %d order versions,\n"+
		"wrote %d ledger entries and delivered %d tags to the store.\n\n",
		time.Since(began).Round(time.Millisecond), r.passes, r.CustomersRead, r.OrdersRead, r.Entries, r.Delivered)
	if err := printSummary(ctx, m, a, platform); err != nil {
		return err
	}
	if *once {
		return nil
	}
	fmt.Fprintf(w, "\nNew orders arrive every %s; each is synced and credited as it comes. Ctrl-C stops.\n", *every)
	return demoLive(ctx, m, a, platform, gen, *seed, *every)
}

func printSummary(ctx context.Context, m *Main, a *app, platform *memory.Platform) error {
	w := m.Stdout
	s, err := a.engine.Summarize(ctx, "demo", 5)
	if err != nil {
		return err
	}
	earned := s.PointsBy[commerce.KindEarn]
	bonus := s.PointsBy[commerce.KindBonus]
	back := -(s.PointsBy[commerce.KindAdjustRefund] + s.PointsBy[commerce.KindAdjustCancel])
	fmt.Fprintf(w, "Customers     %s, of whom %s members\n", thousands(int64(s.Counts.Customers)), thousands(int64(s.Counts.Members)))
	fmt.Fprintf(w, "Orders        %s: %s paid, %s partly refunded, %s refunded, %s cancelled, %s unpaid\n",
		thousands(int64(s.Counts.Orders)), thousands(int64(s.Orders.Paid)), thousands(int64(s.Orders.PartlyRefunded)),
		thousands(int64(s.Orders.Refunded)), thousands(int64(s.Orders.Cancelled)), thousands(int64(s.Orders.Unpaid)))
	fmt.Fprintf(w, "Points        %s earned on orders + %s first-order bonuses, %s taken back on refunds and cancellations\n",
		thousands(earned), thousands(bonus), thousands(back))
	fmt.Fprintf(w, "Outstanding   %s points: %s available, %s pending (not spendable until 14 days after their order)\n\n",
		thousands(s.Available+s.Pending), thousands(s.Available), thousands(s.Pending))
	fmt.Fprintln(w, "Top customers by points")
	fmt.Fprintf(w, "  %-20s %6s %7s %16s %10s %8s\n", "Customer", "Id", "Orders", "Eligible spend", "Available", "Pending")
	for _, t := range s.Top {
		fmt.Fprintf(w, "  %-20s %6s %7d %16s %10s %8s\n", t.Name, t.CustomerID, t.Orders, money(t.Eligible),
			thousands(t.Balance.Available), thousands(t.Balance.Pending))
	}
	tags := 0
	for _, wr := range platform.Writes() {
		if wr.Op == memory.OpAddTags {
			tags++
		}
	}
	fmt.Fprintf(w, "\nWritten back to the store: the %q tag on %s customers; no discount codes (the demo program has no rewards yet).\n",
		a.cfg.Program.Tag("member"), thousands(int64(tags)))
	if len(s.Top) > 0 {
		fmt.Fprintf(w, "\nAsk why a customer has their points:\n  loyaltyd customer -c %s --email %s\n", a.cfg.File, s.Top[0].Email)
	}
	return nil
}

// demoClock is the demo's clock: it replays the past, then follows real time.
type demoClock struct {
	mu     stdsync.Mutex
	t      time.Time
	real   func() time.Time
	isLive bool
}

func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isLive {
		return c.real()
	}
	return c.t
}

func (c *demoClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *demoClock) live() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.isLive = true
}

type replayReport struct {
	sync.Report
	passes int
}

// replayYear puts the generated store on the platform as it happened, one
// week at a time, and runs a sync pass after each week.
func replayYear(ctx context.Context, a *app, platform *memory.Platform, clock *demoClock, gen synth.Store, start, end time.Time) (replayReport, error) {
	var total replayReport
	var versions []commerce.Order
	for _, o := range gen.Orders {
		versions = append(versions, synth.History(o)...)
	}
	sort.SliceStable(versions, func(i, j int) bool { return versions[i].UpdatedAt.Before(versions[j].UpdatedAt) })
	customers := append([]commerce.Customer(nil), gen.Customers...)
	sort.SliceStable(customers, func(i, j int) bool { return customers[i].CreatedAt.Before(customers[j].CreatedAt) })
	for t := start.AddDate(0, 0, 7); ; t = t.AddDate(0, 0, 7) {
		if t.After(end) {
			t = end
		}
		for len(customers) > 0 && !customers[0].CreatedAt.After(t) {
			c := customers[0]
			c.UpdatedAt = c.CreatedAt
			platform.PutCustomer(c)
			customers = customers[1:]
		}
		for len(versions) > 0 && !versions[0].UpdatedAt.After(t) {
			platform.PutOrder(versions[0])
			versions = versions[1:]
		}
		clock.set(t.Add(time.Hour))
		reports, err := a.engine.SyncOnce(ctx)
		if err != nil {
			return total, err
		}
		total.Add(reports[0])
		total.passes++
		if !t.Before(end) {
			return total, nil
		}
	}
}

// demoLive places a new order every so often and syncs it, until ctx ends.
func demoLive(ctx context.Context, m *Main, a *app, platform *memory.Platform, gen synth.Store, seed uint64, every time.Duration) error {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	next := 1001 + len(gen.Orders)
	tick := time.NewTicker(every)
	defer tick.Stop()
	// The demo's passes read up to "now": no safety lag for an in-process platform.
	a.engine.SafetyLag = time.Nanosecond
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(m.Stdout, "\nStopped. The database and configuration stay in", filepath.Dir(a.cfg.File))
			return nil
		case <-tick.C:
		}
		c := gen.Customers[rng.IntN(len(gen.Customers))]
		src := gen.Orders[rng.IntN(len(gen.Orders))]
		at := m.Now().UTC().Add(-time.Second).Truncate(time.Second)
		o := commerce.Order{
			ID: strconv.Itoa(next), Number: "#" + strconv.Itoa(next), CustomerID: c.ID, Email: c.Email,
			Currency: src.Currency, CreatedAt: at, ProcessedAt: at, UpdatedAt: at, State: commerce.StatePaid,
			Shipping: src.Shipping, Tax: src.Tax, Total: src.Total, Codes: src.Codes,
		}
		for i, l := range src.Lines {
			l.ID = fmt.Sprintf("%d-%d", next, i+1)
			o.Lines = append(o.Lines, l)
		}
		next++
		platform.PutOrder(o)
		if _, err := a.engine.SyncOnce(ctx); err != nil {
			if ctx.Err() != nil {
				continue
			}
			return err
		}
		v, err := a.engine.Customer(ctx, "demo", c.ID, "")
		if err != nil {
			return err
		}
		gained := int64(0)
		for _, l := range v.Ledger {
			if l.OrderID == o.ID {
				gained += l.Points
			}
		}
		fmt.Fprintf(m.Stdout, "%s  order %s by %s %s.: %s → +%d pts pending; %s now has %d available, %d pending\n",
			at.Local().Format("15:04:05"), o.Number, c.FirstName, c.LastName[:1], o.Total, gained,
			c.FirstName, v.Points.Available, v.Points.Pending)
	}
}

// money formats an amount with thousands separators: "18,112.74 USD".
func money(m commerce.Money) string {
	d := m.Decimal()
	whole, frac, hasFrac := strings.Cut(strings.TrimPrefix(d, "-"), ".")
	n, _ := strconv.ParseInt(whole, 10, 64)
	out := thousands(n)
	if hasFrac {
		out += "." + frac
	}
	if strings.HasPrefix(d, "-") {
		out = "-" + out
	}
	return out + " " + m.Currency
}

// thousands formats n with thousands separators: 12,345.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
