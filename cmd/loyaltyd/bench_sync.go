package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	stdsync "sync"
	"time"

	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/shopify/shopifytest"
	"github.com/loyaltyd/loyaltyd/connectors/woocommerce"
	"github.com/loyaltyd/loyaltyd/connectors/woocommerce/wootest"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/synth"
)

// syncResult is what bench sync measured.
type syncResult struct {
	Benchmark   string       `json:"benchmark"`
	Machine     benchMachine `json:"machine"`
	Seed        uint64       `json:"seed"`
	Orders      int          `json:"orders"`
	Customers   int          `json:"customers"`
	Shopify     *shopifySync `json:"shopify,omitempty"`
	WooCommerce *wooSync     `json:"woocommerce,omitempty"`
	PeakRSS     int64        `json:"peak_rss_bytes"`
	Point       benchPoint   `json:"point"`
}

// shopifySync is a full sync from the Shopify fake under its REST bucket.
type shopifySync struct {
	Bucket    int     `json:"bucket"`
	LeakRate  float64 `json:"leak_rate"`
	TimeScale float64 `json:"time_scale"`
	PageSize  int     `json:"page_size"`
	// Requests counts the REST requests the bucket counted; Throttled the
	// 429s it answered; Failed every answer that was not a 200.
	Requests  int            `json:"requests"`
	Throttled int            `json:"throttled"`
	Failed    int            `json:"failed"`
	Statuses  map[string]int `json:"statuses"`
	// Window is the platform time from the first request to the last;
	// MinWindow the least the bucket allows for that many requests from an
	// empty bucket: (requests − bucket) / leak rate.
	WindowSeconds    float64 `json:"window_seconds"`
	MinWindowSeconds float64 `json:"min_window_seconds"`
	// AchievedRate and AllowedRate are requests per second of platform
	// time over the window, and over the least window; Share is their
	// ratio. Zero when every request fits in the bucket's burst.
	AchievedRate float64 `json:"achieved_rate"`
	AllowedRate  float64 `json:"allowed_rate"`
	Share        float64 `json:"share"`
	// Seconds is the whole pass, wall time: reading, crediting, the
	// members' refresh and the daily review.
	Seconds         float64 `json:"seconds"`
	OrdersPerSecond float64 `json:"orders_per_second"`
	// CPUSeconds is the process's CPU time during the pass: loyaltyd's
	// and the fake's, which serves from the same process.
	CPUSeconds      float64 `json:"cpu_seconds"`
	LoadSeconds     float64 `json:"load_seconds"`
	OrdersStored    int     `json:"orders_stored"`
	CustomersStored int     `json:"customers_stored"`
	LedgerEntries   int     `json:"ledger_entries"`
}

// wooSync is a full sync from the WooCommerce fake, which has no limit of
// its own: the limit is how fast the connector alone reads its pages.
type wooSync struct {
	PageSize int       `json:"page_size"`
	Read     wooPhase  `json:"read"`
	Sync     wooPhase  `json:"sync"`
	Stored   int       `json:"orders_stored"`
	Ledger   int       `json:"ledger_entries"`
	Load     float64   `json:"load_seconds"`
	Statuses wooStatus `json:"statuses"`
}

type wooPhase struct {
	Requests        int     `json:"requests"`
	OrderPages      int     `json:"order_pages"`
	Orders          int     `json:"orders"`
	Customers       int     `json:"customers"`
	Failed          int     `json:"failed"`
	Seconds         float64 `json:"seconds"`
	CPUSeconds      float64 `json:"cpu_seconds"`
	PagesPerSecond  float64 `json:"pages_per_second"`
	OrdersPerSecond float64 `json:"orders_per_second"`
}

type wooStatus map[string]int

func runBenchSync(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("bench sync", "[--orders N] [--customers N] [--platform shopify,woocommerce] [--time-scale X]",
		"A first, full sync of a synthetic store through the real connector and engine into a scratch\n"+
			"database (customers, then orders: upsert, rules, ledger, members' refresh), from fakes of the\n"+
			"platforms on loopback. Shopify's fake limits REST calls with its leaky bucket (Standard plan:\n"+
			"40, leaking 2 a second, 250 orders a page): the table compares the request rate reached with\n"+
			"the rate the bucket allows for that many requests from an empty bucket, and counts 429s and\n"+
			"failed requests. WooCommerce has no API limit: its table sets the sync beside the connector\n"+
			"alone reading the same pages. Write-backs are not delivered (a path of its own, with limits of\n"+
			"its own). --time-scale makes the platform's time run faster, for large stores.")
	c := benchFlags(fs)
	orders := fs.Int("orders", 50_000, "number of orders")
	customers := fs.Int("customers", 0, "number of customers (default: two for every five orders)")
	seed := fs.Uint64("seed", 1, "seed of the synthetic store")
	platforms := fs.String("platform", "shopify,woocommerce", "platforms to sync from: shopify, woocommerce, or both")
	scale := fs.Float64("time-scale", 1, "the Shopify fake's time runs this many times faster than the wall clock (1 = real time)")
	bucket := fs.Int("bucket", 40, "Shopify REST bucket size")
	leak := fs.Float64("leak", 2, "Shopify REST leak rate, requests a second")
	pageSize := fs.Int("page-size", 250, "Shopify page size (1 to 250)")
	told := fs.Float64("connector-leak", 0, "leak rate the connector is told (default: the fake's); a higher one provokes 429s")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *told == 0 {
		*told = *leak
	}
	if *orders < 1 || *customers < 0 || *scale <= 0 || *bucket < 1 || *leak <= 0 || *told < 0 || *pageSize < 1 || *pageSize > 250 {
		return usagef("want --orders ≥ 1, --customers ≥ 0, a positive --time-scale, --bucket and --leak, and --page-size 1 to 250")
	}
	var doShopify, doWoo bool
	for p := range strings.SplitSeq(*platforms, ",") {
		switch strings.TrimSpace(p) {
		case "shopify":
			doShopify = true
		case "woocommerce":
			doWoo = true
		default:
			return usagef("--platform %q: want shopify, woocommerce or both", p)
		}
	}
	dir, end, grown, err := c.begin(ctx, m, fs, "sync", args, *orders, customers)
	if grown || err != nil {
		return err
	}
	defer end()
	st, err := synth.NewStream(synth.Options{Seed: *seed, Customers: *customers, Orders: *orders, Start: benchStart, End: benchEnd})
	if err != nil {
		return err
	}
	res := syncResult{Benchmark: "sync", Machine: machine(time.Now()), Seed: *seed, Orders: st.OrderCount(), Customers: st.CustomerCount()}
	var synced int
	var seconds float64
	if doShopify {
		sh, err := benchShopifySync(ctx, m, filepath.Join(dir, "shopify"), st, *bucket, *leak, *told, *scale, *pageSize)
		if err != nil {
			return fmt.Errorf("shopify: %w", err)
		}
		res.Shopify = sh
		synced += sh.OrdersStored
		seconds += sh.Seconds
	}
	if doWoo {
		wo, err := benchWooSync(ctx, m, filepath.Join(dir, "woocommerce"), st)
		if err != nil {
			return fmt.Errorf("woocommerce: %w", err)
		}
		res.WooCommerce = wo
		synced += wo.Stored
		seconds += wo.Sync.Seconds
	}
	res.PeakRSS = peakRSS()
	res.Point = benchPoint{Size: float64(*orders), Units: float64(synced), Unit: "orders", Seconds: seconds, PeakRSS: res.PeakRSS}
	if c.json {
		return printJSON(m.Stdout, res)
	}
	m.printSync(&res)
	return nil
}

func (m *Main) printSync(res *syncResult) {
	w := m.Stdout
	fmt.Fprintf(w, "loyaltyd bench sync: a full sync of %s orders and %s customers (seed %d)\nmachine: %s\n",
		fmtInt(res.Orders), fmtInt(res.Customers), res.Seed, res.Machine)
	if sh := res.Shopify; sh != nil {
		fmt.Fprintf(w, "\nShopify fake: REST bucket %d, leaking %g/s, %d orders a page, platform time ×%g; write-back off\n",
			sh.Bucket, sh.LeakRate, sh.PageSize, sh.TimeScale)
		t := &table{head: []string{"", "requests", "429s", "failed", "window", "req/s", "orders/s", "elapsed", "CPU time"}}
		rate, allowed, share := "-", "-", "-"
		if sh.MinWindowSeconds > 0 {
			rate, allowed, share = fmtRate(sh.AchievedRate), fmtRate(sh.AllowedRate), fmtPercent(sh.Share)
		}
		t.add("full sync (connector + engine)", fmtInt(sh.Requests), fmtInt(sh.Throttled), fmtInt(sh.Failed),
			fmtSeconds(sh.WindowSeconds), rate, fmtRate(sh.OrdersPerSecond), fmtSeconds(sh.Seconds), fmtSeconds(sh.CPUSeconds))
		t.add("the bucket's limit", fmtInt(sh.Requests), "0", "0", fmtSeconds(sh.MinWindowSeconds), allowed, "", "", "")
		t.write(w)
		if sh.MinWindowSeconds > 0 {
			fmt.Fprintf(w, "request rate: %s of what the bucket allows for %d requests from an empty bucket: the first %d\n"+
				"go at once, then %g a second, so at least %s from the first request to the last (platform time)\n",
				share, sh.Requests, sh.Bucket, sh.LeakRate, fmtSeconds(sh.MinWindowSeconds))
		} else {
			fmt.Fprintf(w, "every request fitted in the bucket's burst of %d: the bucket set no limit\n", sh.Bucket)
		}
		fmt.Fprintf(w, "stored %s orders, %s customers, %s ledger entries; filling the fake took %s\n",
			fmtInt(sh.OrdersStored), fmtInt(sh.CustomersStored), fmtInt(sh.LedgerEntries), fmtSeconds(sh.LoadSeconds))
	}
	if wo := res.WooCommerce; wo != nil {
		fmt.Fprintf(w, "\nWooCommerce fake: %d orders a page, no API limit; write-back off\n", wo.PageSize)
		t := &table{head: []string{"", "requests", "order pages", "failed", "elapsed", "pages/s", "orders/s", "CPU time"}}
		t.add("connector alone (the limit)", fmtInt(wo.Read.Requests), fmtInt(wo.Read.OrderPages), fmtInt(wo.Read.Failed),
			fmtSeconds(wo.Read.Seconds), fmtRate(wo.Read.PagesPerSecond), fmtRate(wo.Read.OrdersPerSecond), fmtSeconds(wo.Read.CPUSeconds))
		t.add("full sync (connector + engine)", fmtInt(wo.Sync.Requests), fmtInt(wo.Sync.OrderPages), fmtInt(wo.Sync.Failed),
			fmtSeconds(wo.Sync.Seconds), fmtRate(wo.Sync.PagesPerSecond), fmtRate(wo.Sync.OrdersPerSecond), fmtSeconds(wo.Sync.CPUSeconds))
		t.write(w)
		fmt.Fprintf(w, "stored %s orders, %s ledger entries; filling the fake took %s\n", fmtInt(wo.Stored), fmtInt(wo.Ledger), fmtSeconds(wo.Load))
	}
	fmt.Fprintf(w, "\npeak RSS %s (the process: the fakes with every order in memory, and loyaltyd)\n", fmtBytes(res.PeakRSS))
}

// requestLog counts a server's answers and when the requests came.
type requestLog struct {
	next http.Handler

	mu          stdsync.Mutex
	first, last time.Time
	statuses    map[int]int
}

func (l *requestLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	l.mu.Lock()
	if l.first.IsZero() {
		l.first = now
	}
	l.last = now
	l.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	l.next.ServeHTTP(sw, r)
	l.mu.Lock()
	l.statuses[sw.status]++
	l.mu.Unlock()
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.first, l.last, l.statuses = time.Time{}, time.Time{}, map[int]int{}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// statusCounts names status codes for JSON, and counts the failures.
func statusCounts(m map[int]int) (map[string]int, int) {
	out := map[string]int{}
	failed := 0
	for code, n := range m {
		out[strconv.Itoa(code)] += n
		if code != http.StatusOK {
			failed += n
		}
	}
	return out, failed
}

func benchShopifySync(ctx context.Context, m *Main, dir string, st *synth.Stream, bucket int, leak, told, scale float64, pageSize int) (*shopifySync, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	now := benchClock()
	shop := shopifytest.NewServer(shopifytest.Options{Shop: "bench", Now: now, BucketSize: bucket, LeakRate: leak, TimeScale: scale})
	res := &shopifySync{Bucket: bucket, LeakRate: leak, TimeScale: scale, PageSize: pageSize}
	began := time.Now()
	for c := range st.Customers() {
		if err := shop.PutCustomer(c); err != nil {
			return nil, err
		}
	}
	for o := range st.Orders() {
		if err := shop.PutOrder(o); err != nil {
			return nil, err
		}
	}
	res.LoadSeconds = time.Since(began).Seconds()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	log := &requestLog{next: shop.Handler(), statuses: map[int]int{}}
	srv := &http.Server{Handler: log, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	set := shop.Settings()
	stores := fmt.Sprintf(`  - id: shop
    platform: shopify
    shop: %s
    base_url: http://%s
    access_token: %s
    api_secret: %s
    bucket_size: %d
    leak_rate: %g
    page_size: %d`, set["shop"], ln.Addr(), set["access_token"], set["api_secret"], bucket, told*scale, pageSize)
	a, err := m.benchApp(ctx, dir, stores, now)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	s := a.engine.Stores[0]
	s.Conn = readOnly{s.Conn}
	// A fresh bucket: nothing was asked of the shop yet.
	shop.ResetStats()
	log.reset()
	began, cpu := time.Now(), processCPU()
	if _, err := a.engine.SyncOnce(ctx); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(began).Seconds()
	res.CPUSeconds = (processCPU() - cpu).Seconds()
	stats := shop.Stats()
	res.Requests, res.Throttled = stats.REST, stats.Throttled
	log.mu.Lock()
	res.Statuses, res.Failed = statusCounts(log.statuses)
	res.WindowSeconds = log.last.Sub(log.first).Seconds() * scale
	log.mu.Unlock()
	if over := res.Requests - bucket; over > 0 {
		res.MinWindowSeconds = float64(over) / leak
		res.AchievedRate = float64(res.Requests) / res.WindowSeconds
		res.AllowedRate = float64(res.Requests) / res.MinWindowSeconds
		res.Share = res.MinWindowSeconds / res.WindowSeconds
	}
	counts, err := benchCounts(ctx, a, s.ID)
	if err != nil {
		return nil, err
	}
	res.OrdersStored, res.CustomersStored, res.LedgerEntries = counts.Orders, counts.Customers, counts.LedgerEntries
	res.OrdersPerSecond = float64(res.OrdersStored) / res.Seconds
	if res.OrdersStored != st.OrderCount() || res.CustomersStored != st.CustomerCount() {
		return res, fmt.Errorf("%w: stored %d orders and %d customers, want %d and %d", errBenchCheck,
			res.OrdersStored, res.CustomersStored, st.OrderCount(), st.CustomerCount())
	}
	return res, nil
}

// benchCounts returns a store's totals in the database.
func benchCounts(ctx context.Context, a *app, storeID string) (store.Counts, error) {
	var c store.Counts
	err := a.db.View(ctx, func(tx *store.Tx) (err error) { c, err = tx.Counts(storeID); return })
	return c, err
}

func benchWooSync(ctx context.Context, m *Main, dir string, st *synth.Stream) (*wooSync, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	now := benchClock()
	woo := wootest.NewServer(wootest.Options{Now: now})
	defer woo.Close()
	res := &wooSync{PageSize: woocommerce.MaxPageSize}
	began := time.Now()
	for c := range st.Customers() {
		w, err := wootest.CustomerFromCommerce(c, woocommerce.TagsMetaKey)
		if err != nil {
			return nil, err
		}
		woo.PutCustomer(w)
	}
	for o := range st.Orders() {
		w, err := wootest.OrderFromCommerce(o)
		if err != nil {
			return nil, err
		}
		woo.PutOrder(w)
	}
	res.Load = time.Since(began).Seconds()
	stores := fmt.Sprintf(`  - id: corner
    platform: woocommerce
    url: %s
    auth: oauth1
    consumer_key: %s
    consumer_secret: %s`, woo.URL, woo.ConsumerKey(), woo.ConsumerSecret())
	a, err := m.benchApp(ctx, dir, stores, now)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	s := a.engine.Stores[0]
	conn := s.Conn

	// The limit: the connector alone reads every page of customers and
	// orders, one after the other, as the sync does, and keeps nothing.
	seen := len(woo.Requests())
	began, cpu := time.Now(), processCPU()
	read := wooPhase{}
	for cur := (connectors.Cursor{}); ; {
		pg, err := conn.Customers(ctx, cur)
		if err != nil {
			return nil, err
		}
		read.Customers += len(pg.Items)
		if pg.Done {
			break
		}
		cur = pg.Next
	}
	for cur := (connectors.Cursor{Until: now().Add(-30 * time.Second)}); ; {
		pg, err := conn.Orders(ctx, cur)
		if err != nil {
			return nil, err
		}
		read.Orders += len(pg.Items)
		if pg.Done {
			break
		}
		cur = pg.Next
	}
	read.Seconds = time.Since(began).Seconds()
	read.CPUSeconds = (processCPU() - cpu).Seconds()
	reqs := woo.Requests()
	read.Requests, read.Failed = wooCount(reqs[seen:])
	read.OrderPages = wooOrderPages(reqs[seen:])
	seen = len(reqs)
	res.Read = read

	s.Conn = readOnly{conn}
	began, cpu = time.Now(), processCPU()
	reports, err := a.engine.SyncOnce(ctx)
	if err != nil {
		return nil, err
	}
	sy := wooPhase{Seconds: time.Since(began).Seconds(), CPUSeconds: (processCPU() - cpu).Seconds()}
	reqs = woo.Requests()
	sy.Requests, sy.Failed = wooCount(reqs[seen:])
	sy.OrderPages = wooOrderPages(reqs[seen:])
	for _, r := range reports {
		sy.Orders += r.OrdersRead
		sy.Customers += r.CustomersRead
	}
	res.Sync = sy
	res.Statuses = wooStatus{}
	for _, r := range reqs {
		res.Statuses[strconv.Itoa(r.Status)]++
	}
	for _, p := range []*wooPhase{&res.Read, &res.Sync} {
		p.PagesPerSecond = float64(p.OrderPages) / p.Seconds
		p.OrdersPerSecond = float64(p.Orders) / p.Seconds
	}
	counts, err := benchCounts(ctx, a, s.ID)
	if err != nil {
		return nil, err
	}
	res.Stored, res.Ledger = counts.Orders, counts.LedgerEntries
	if res.Stored != st.OrderCount() || read.Orders < st.OrderCount() {
		return res, fmt.Errorf("%w: the connector read %d orders and the sync stored %d, want %d", errBenchCheck,
			read.Orders, res.Stored, st.OrderCount())
	}
	if sy.Failed > 0 || read.Failed > 0 {
		return res, fmt.Errorf("%w: %d requests failed", errBenchCheck, sy.Failed+read.Failed)
	}
	return res, nil
}

// wooCount counts requests and the failed ones among them.
func wooCount(reqs []wootest.Request) (n, failed int) {
	for _, r := range reqs {
		n++
		if r.Status < 200 || r.Status > 299 {
			failed++
		}
	}
	return n, failed
}

// wooOrderPages counts the requests for pages of the order list.
func wooOrderPages(reqs []wootest.Request) int {
	n := 0
	for _, r := range reqs {
		if r.Method == http.MethodGet && r.Path == "orders" {
			n++
		}
	}
	return n
}
