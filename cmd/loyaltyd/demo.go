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
	"github.com/loyaltyd/loyaltyd/connectors/shopify/shopifytest"
	"github.com/loyaltyd/loyaltyd/connectors/woocommerce"
	"github.com/loyaltyd/loyaltyd/connectors/woocommerce/wootest"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
	"github.com/loyaltyd/loyaltyd/synth"
)

// demoConfig is the configuration the demo writes next to its database:
// the same file format a real installation uses. Its stores are the
// demo's fakes of Shopify and WooCommerce, served on loopback while the
// demo runs; the campaign's dates fall in the year the demo replays.
const demoConfig = `# loyaltyd demo: two synthetic stores, served by in-process fakes of the
# Shopify Admin API and the WooCommerce REST API while the demo runs.
# A real installation names real stores here (see the README).
database: ./loyaltyd.db
listen: 127.0.0.1:8380
stores:
  - id: demo
    platform: shopify
    shop: %s
    base_url: %s               # the fake; omit for a real store
    access_token: %s           # the fake's token
    api_secret: %s
    bucket_size: %d
    leak_rate: %g
  - id: corner
    platform: woocommerce
    url: %s
    auth: oauth1               # plain HTTP on loopback: OAuth 1.0a, as WooCommerce wants
    consumer_key: %s
    consumer_secret: %s
    webhook_secret: demo-webhook-secret
program:
  currency: USD
  enrollment: open
  holdout_percent: 10          # a control group, to measure the program's lift
  earn:
    points_per_unit: 1         # 1 point per dollar of merchandise
    pending_days: 14           # points become spendable 14 days after the order
    first_order_bonus: 50
    multipliers:
      - {vendor: Kestrel, factor: 2}
    campaigns:
      - {name: double-days, from: %s, to: %s, factor: 2}
  tiers:
    window_days: 365
    grace_days: 30
    levels:
      - {name: silver, min_spend: 250}
      - {name: gold, min_spend: 1000, min_orders: 4, earn_factor: 1.25}
  rewards:
    - {id: five-off, name: "$$5 off", points: 500, type: fixed_amount, value: 5, expires_after_days: 90}
    - {id: free-shipping, points: 300, type: free_shipping, budget_value: 6}
    - {id: ten-percent, name: "10 %% off", points: 1500, type: percentage, value: 10, min_order: 50}
  auto_redeem: {reward: five-off, monthly_budget: 250}
  referrals:
    referrer_points: 250
    friend_reward: {type: fixed_amount, value: 10, min_order: 40}
  expiry: {inactive_days: 365, warn_days: 30}
  tags:
    prefix: "loyalty-"
  point_value: 0.01            # what a point is worth to the store: values the liability
  margin_percent: 45           # gross margin on merchandise: turns extra revenue into ROI
  goals: {members: 500, purchase_frequency: 3, repeat_rate: 0.5, roi: 2}
`

// demoStore is one of the demo's stores: its synthetic history and its
// fake platform.
type demoStore struct {
	id, platform string
	gen          synth.Store
	putCustomer  func(commerce.Customer) error
	putOrder     func(commerce.Order) error
	tags         func(customerID string) []string
	codes        func() int
}

// demoPlatforms starts the fakes and fills in the stores' ways to them.
func demoPlatforms(clock *demoClock, main, corner *demoStore) (shop *shopifytest.Server, woo *wootest.Server, err error) {
	shop = shopifytest.NewServer(shopifytest.Options{Shop: "demo", Now: clock.Now, TimeScale: 2000})
	if err := shop.Start(); err != nil {
		return nil, nil, err
	}
	main.putCustomer, main.putOrder = shop.PutCustomer, shop.PutOrder
	main.tags = shop.Tags
	main.codes = func() int { return len(shop.PriceRules()) }
	woo = wootest.NewServer(wootest.Options{Now: clock.Now})
	corner.putCustomer = func(c commerce.Customer) error {
		w, err := wootest.CustomerFromCommerce(c, woocommerce.TagsMetaKey)
		if err == nil {
			woo.PutCustomer(w)
		}
		return err
	}
	corner.putOrder = func(o commerce.Order) error {
		w, err := wootest.OrderFromCommerce(o)
		if err == nil {
			woo.PutOrder(w)
		}
		return err
	}
	corner.tags = func(id string) []string {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil
		}
		v := woo.CustomerMeta(n)[woocommerce.TagsMetaKey]
		if v == "" {
			return nil
		}
		return strings.Split(v, ",")
	}
	corner.codes = func() int { return len(woo.Coupons()) }
	return shop, woo, nil
}

func runDemo(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("demo", "[--once] [--dir DIR] [--customers N] [--seed N]",
		"Run loyaltyd on two synthetic stores with a year of history, one on a fake of Shopify and one\n"+
			"on a fake of WooCommerce, served on loopback: no configuration and no network needed. It\n"+
			"writes a configuration and a database into DIR, replays the year through the connectors,\n"+
			"applies the program, prints a summary, and then keeps taking new orders until you stop it\n"+
			"(Ctrl-C), unless --once.")
	once := fs.Bool("once", false, "exit after the summary")
	dir := fs.String("dir", "", "directory for the demo's configuration and database (default: a new temporary directory)")
	customers := fs.Int("customers", 500, "number of customers of the Shopify store (the WooCommerce store has a third as many)")
	seed := fs.Uint64("seed", 1, "seed of the synthetic stores: the same seed gives the same stores")
	every := fs.Duration("every", 3*time.Second, "time between new orders after the summary")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *customers < 3 || *customers > 1_000_000 {
		return usagef("--customers %d: want 3 to 1000000", *customers)
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
	end := m.Now().UTC().Truncate(24 * time.Hour)
	start := end.AddDate(-1, 0, 0)
	main := &demoStore{id: "demo", platform: "Shopify"}
	corner := &demoStore{id: "corner", platform: "WooCommerce"}
	var err error
	if main.gen, err = synth.Generate(synth.Options{Seed: *seed, Customers: *customers, Start: start, End: end}); err != nil {
		return err
	}
	if corner.gen, err = synth.Generate(synth.Options{Seed: *seed + 1, Customers: *customers / 3, Start: start, End: end, FirstOrderID: 20001}); err != nil {
		return err
	}
	// The demo replays the year: the platforms and loyaltyd run on a clock
	// that moves a week at a time, so that orders are credited when placed
	// and refunds taken back when they come, as in a real installation.
	clock := &demoClock{t: start, real: m.Now}
	shop, woo, err := demoPlatforms(clock, main, corner)
	if err != nil {
		return err
	}
	defer shop.Close()
	defer woo.Close()
	set := shop.Settings()
	campaign := end.AddDate(0, 0, -60)
	cfgPath := filepath.Join(*dir, "loyaltyd.yaml")
	cfgText := fmt.Sprintf(demoConfig, set["shop"], set["base_url"], set["access_token"], set["api_secret"],
		set["bucket_size"], set["leak_rate"], woo.URL, woo.ConsumerKey(), woo.ConsumerSecret(),
		campaign.Format(time.DateOnly), campaign.AddDate(0, 0, 2).Format(time.DateOnly))
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, "candidate.yaml"), []byte(demoCandidate), 0o600); err != nil {
		return err
	}
	dm := *m
	dm.Now = clock.Now
	a, err := dm.openApp(ctx, &common{config: cfgPath, logLevel: *logLevel}, true)
	if err != nil {
		return err
	}
	defer a.Close()

	w := m.Stdout
	fmt.Fprintf(w, "loyaltyd demo: two synthetic stores with a year of orders, on fakes of the platforms' APIs\n")
	fmt.Fprintf(w, "  demo      Shopify store, %d customers, served at %s\n", len(main.gen.Customers), set["base_url"])
	fmt.Fprintf(w, "  corner    WooCommerce store, %d customers, served at %s\n", len(corner.gen.Customers), woo.URL)
	fmt.Fprintf(w, "  config    %s\n  database  %s\n  program   %s\n\n", cfgPath, a.cfg.Database, programSummary(&a.cfg.Program))
	began := time.Now()
	progress := func(week int) {}
	if m.IsTerminal != nil && m.IsTerminal(m.Stdout) {
		progress = func(week int) { fmt.Fprintf(w, "\rReplaying the year: week %d of 53…", week) }
	}
	r, err := replayYear(ctx, a, clock, []*demoStore{main, corner}, start, end, progress)
	if err != nil {
		return err
	}
	if m.IsTerminal != nil && m.IsTerminal(m.Stdout) {
		fmt.Fprint(w, "\r\033[K")
	}
	clock.live()
	fmt.Fprintf(w, "Replayed the year week by week in %s: %d sync passes read %s customer and %s order versions through\n"+
		"the connectors, wrote %s ledger entries and delivered %s write-backs (tags, fields, codes) to the stores.\n\n",
		time.Since(began).Round(100*time.Millisecond), r.passes, report.Thousands(int64(r.CustomersRead)), report.Thousands(int64(r.OrdersRead)),
		report.Thousands(int64(r.Entries)), report.Thousands(int64(r.Delivered)))
	for _, st := range []*demoStore{main, corner} {
		if err := printSummary(ctx, m, a, st, st == main); err != nil {
			return err
		}
	}
	if *once {
		return nil
	}
	// The demo's passes read up to "now": no safety lag for a platform on
	// the same clock.
	a.engine.SafetyLag = time.Nanosecond
	stop, err := serveDemo(m, a)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(w, "\nThe stores stay up while the demo runs. New orders arrive on the Shopify store every %s;\n"+
		"each is synced and credited as it comes. Ctrl-C stops.\n", *every)
	return demoLive(ctx, m, a, main, *seed, *every)
}

// printSummary prints what the program did in a store; full gives the
// top customers and the way to ask about one.
func printSummary(ctx context.Context, m *Main, a *app, st *demoStore, full bool) error {
	w := m.Stdout
	s, err := a.engine.Summarize(ctx, st.id, 5)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Store %s (%s)\n", st.id, st.platform)
	n := func(v int) string { return report.Thousands(int64(v)) }
	p := func(v int64) string { return report.Thousands(v) }
	fmt.Fprintf(w, "Customers     %s: %s members, %s in the holdout group (never enrolled: the control that measures the program's lift)\n",
		n(s.Counts.Customers), n(s.Counts.Members), n(s.Counts.Holdout))
	fmt.Fprintf(w, "Orders        %s: %s paid, %s partly refunded, %s refunded, %s cancelled, %s unpaid\n",
		n(s.Counts.Orders), n(s.Orders.Paid), n(s.Orders.PartlyRefunded), n(s.Orders.Refunded), n(s.Orders.Cancelled), n(s.Orders.Unpaid))
	by := s.PointsBy
	fmt.Fprintf(w, "Points        %s earned on orders, %s first-order bonuses, %s for referrals, %s by staff;\n",
		p(by[commerce.KindEarn]), p(by[commerce.KindBonus]), p(by[commerce.KindReferral]), p(by[commerce.KindManual]))
	fmt.Fprintf(w, "              %s taken back on refunds and cancellations, %s spent on rewards, %s expired\n",
		p(-(by[commerce.KindAdjustRefund] + by[commerce.KindAdjustCancel])), p(-(by[commerce.KindRedeem] + by[commerce.KindRedeemReturn])),
		p(-by[commerce.KindExpire]))
	fmt.Fprintf(w, "Outstanding   %s points: %s available, %s pending (spendable 14 days after their order)\n",
		p(s.Available+s.Pending), p(s.Available), p(s.Pending))
	var tiers []string
	for _, l := range a.cfg.Program.Tiers.Levels {
		tiers = append(tiers, fmt.Sprintf("%s %s", n(s.Tiers[l.Name]), l.Name))
	}
	fmt.Fprintf(w, "Tiers         %s members without a tier, %s\n", n(s.Tiers[""]), strings.Join(tiers, ", "))
	r := s.Redemptions
	issued := 0
	for _, v := range r {
		issued += v
	}
	fmt.Fprintf(w, "Rewards       %s codes issued (%s used, %s not used yet, %s expired, %s refused by the store)\n",
		n(issued), n(r["used"]), n(r["created"]+r["issued"]), n(r["expired"]), n(r["failed"]))
	f := s.Referrals
	fmt.Fprintf(w, "Referrals     %s rewarded, %s pending, %s cancelled, %s refused (self-referrals and repeat buyers)\n",
		n(f["rewarded"]), n(f["pending"]), n(f["cancelled"]), n(f["refused"]))
	fmt.Fprintf(w, "Segments      A %s · B %s · C %s buyers of the last 365 days (A: the top 20 %% by spend)\n\n",
		n(s.Segments["a"]), n(s.Segments["b"]), n(s.Segments["c"]))

	if full {
		fmt.Fprintln(w, "Top customers by points")
		fmt.Fprintf(w, "  %-20s %6s %7s %16s %10s %8s\n", "Customer", "Id", "Orders", "Eligible spend", "Available", "Pending")
		for _, t := range s.Top {
			fmt.Fprintf(w, "  %-20s %6s %7d %16s %10s %8s\n", t.Name, t.CustomerID, t.Orders, report.FormatMoney(t.Eligible),
				report.Thousands(t.Balance.Available), report.Thousands(t.Balance.Pending))
		}
	}

	tagged, tags := 0, map[string]int{}
	for _, c := range st.gen.Customers {
		ours := false
		for _, t := range st.tags(c.ID) {
			if !a.cfg.Program.IsProgramTag(t) {
				continue
			}
			ours = true
			name := strings.TrimPrefix(t, a.cfg.Program.Tags.Prefix)
			if i := strings.IndexByte(name, '-'); i > 0 && name != "reward-ready" && name != "points-expiring" {
				name = name[:i] + "-…"
			}
			tags[name]++
		}
		if ours {
			tagged++
		}
	}
	var names []string
	for k, v := range tags {
		names = append(names, fmt.Sprintf("%s %s", k, n(v)))
	}
	sort.Strings(names)
	fmt.Fprintf(w, "On the store now: program tags on %s customers (%s),\n", n(tagged), strings.Join(names, ", "))
	fmt.Fprintf(w, "loyalty fields (balance, tier, codes) on their records, and %s discount codes (rewards and referral codes).\n\n",
		n(st.codes()))
	if full && len(s.Top) > 0 {
		fmt.Fprintf(w, "Ask why a customer has their points:\n  loyaltyd customer -c %s --store %s --email %s\n\n", a.cfg.File, st.id, s.Top[0].Email)
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

// replayYear puts the generated stores on their platforms as it happened,
// one week at a time, and runs a sync pass after each week. Along the way
// some first orders use a member's referral code (a few of them the
// referrer's own, which the program refuses), and members use the reward
// codes they were issued.
func replayYear(ctx context.Context, a *app, clock *demoClock, stores []*demoStore, start, end time.Time, progress func(week int)) (replayReport, error) {
	var total replayReport
	type queue struct {
		versions  []commerce.Order
		customers []commerce.Customer
		used      map[string]bool
	}
	qs := make([]*queue, len(stores))
	rng := rand.New(rand.NewPCG(7, 11))
	prog := &a.cfg.Program
	for i, st := range stores {
		q := &queue{used: map[string]bool{}}
		seen := map[string]bool{}
		var referrers []string
		for _, o := range st.gen.Orders {
			hist := synth.History(o)
			if !seen[o.CustomerID] && len(referrers) > 0 && rng.IntN(100) < 12 {
				referrer := referrers[rng.IntN(len(referrers))]
				if rng.IntN(8) == 0 {
					referrer = o.CustomerID // a customer trying their own code
				}
				for i := range hist {
					hist[i].Codes = append(hist[i].Codes, commerce.CodeUse{Code: prog.ReferralCode(st.id, referrer)})
				}
			}
			if !seen[o.CustomerID] && !prog.InHoldout(st.id, o.CustomerID) {
				referrers = append(referrers, o.CustomerID)
			}
			seen[o.CustomerID] = true
			q.versions = append(q.versions, hist...)
		}
		sort.SliceStable(q.versions, func(i, j int) bool { return q.versions[i].UpdatedAt.Before(q.versions[j].UpdatedAt) })
		q.customers = append([]commerce.Customer(nil), st.gen.Customers...)
		sort.SliceStable(q.customers, func(i, j int) bool { return q.customers[i].CreatedAt.Before(q.customers[j].CreatedAt) })
		qs[i] = q
	}
	for t := start.AddDate(0, 0, 7); ; t = t.AddDate(0, 0, 7) {
		if t.After(end) {
			t = end
		}
		for i, st := range stores {
			q := qs[i]
			for len(q.customers) > 0 && !q.customers[0].CreatedAt.After(t) {
				c := q.customers[0]
				c.UpdatedAt = c.CreatedAt
				if err := st.putCustomer(c); err != nil {
					return total, err
				}
				q.customers = q.customers[1:]
			}
			unused, err := unusedCodes(ctx, a, st.id)
			if err != nil {
				return total, err
			}
			for len(q.versions) > 0 && !q.versions[0].UpdatedAt.After(t) {
				o := q.versions[0]
				q.versions = q.versions[1:]
				if code, ok := unused[o.CustomerID]; ok && !q.used[code] && o.State == commerce.StatePaid && len(o.Refunds) == 0 && rng.IntN(2) == 0 {
					useCode(&o, code, commerce.MustParseMoney("5.00", "USD"))
					q.used[code] = true
				}
				if err := st.putOrder(o); err != nil {
					return total, err
				}
			}
		}
		clock.set(t.Add(time.Hour))
		progress(total.passes + 1)
		reports, err := a.engine.SyncOnce(ctx)
		if err != nil {
			return total, err
		}
		for _, r := range reports {
			total.Add(r)
		}
		total.passes++
		if !t.Before(end) {
			return total, nil
		}
	}
}

// unusedCodes returns, per customer, one reward code issued and not used.
func unusedCodes(ctx context.Context, a *app, storeID string) (map[string]string, error) {
	out := map[string]string{}
	err := a.db.View(ctx, func(tx *store.Tx) error {
		reds, err := tx.Redemptions(storeID, "")
		if err != nil {
			return err
		}
		for _, r := range reds {
			if r.Status == store.RedemptionCreated && r.RewardID == "five-off" {
				out[r.CustomerID] = r.Code
			}
		}
		return nil
	})
	return out, err
}

// useCode applies a fixed-amount code to an order's first line.
func useCode(o *commerce.Order, code string, value commerce.Money) {
	if len(o.Lines) == 0 || o.Lines[0].Net().Cmp(value) < 0 {
		return
	}
	o.Lines = append([]commerce.LineItem(nil), o.Lines...)
	o.Lines[0].Discount = o.Lines[0].Discount.Add(value)
	o.Total = o.Total.Sub(value)
	o.Codes = append(append([]commerce.CodeUse(nil), o.Codes...), commerce.CodeUse{Code: code, Amount: value})
}

// demoLive places a new order every so often and syncs it, until ctx ends.
func demoLive(ctx context.Context, m *Main, a *app, st *demoStore, seed uint64, every time.Duration) error {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	gen := st.gen
	next := 1001 + len(gen.Orders)
	tick := time.NewTicker(every)
	defer tick.Stop()
	live := a.engine.Store(st.id)
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
		if err := st.putOrder(o); err != nil {
			return err
		}
		if _, err := a.engine.SyncStore(ctx, live); err != nil {
			if ctx.Err() != nil {
				continue
			}
			return err
		}
		v, err := a.engine.Customer(ctx, st.id, c.ID, "")
		if err != nil {
			return err
		}
		gained := int64(0)
		for _, l := range v.Ledger {
			if l.OrderID == o.ID {
				gained += l.Points
			}
		}
		who := fmt.Sprintf("%s  order %s by %s %s.: %s", at.Local().Format("15:04:05"), o.Number, c.FirstName, c.LastName[:1], o.Total)
		if v.Cohort == string(loyalty.CohortHoldout) {
			fmt.Fprintf(m.Stdout, "%s → no points: %s is in the holdout group, the control that measures the program's lift\n", who, c.FirstName)
			continue
		}
		if !v.Enrolled {
			fmt.Fprintf(m.Stdout, "%s → no points: %s is not a member\n", who, c.FirstName)
			continue
		}
		fmt.Fprintf(m.Stdout, "%s → +%s pts pending; %s now has %s available, %s pending\n", who, report.Thousands(gained),
			c.FirstName, report.Thousands(v.Points.Available), report.Thousands(v.Points.Pending))
	}
}
