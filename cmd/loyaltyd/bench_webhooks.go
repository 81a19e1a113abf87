package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/shopify"
	"github.com/loyaltyd/loyaltyd/connectors/shopify/shopifytest"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/synth"
	"github.com/loyaltyd/loyaltyd/webhooks"
)

// webhookResult is what bench webhooks measured.
type webhookResult struct {
	Benchmark   string       `json:"benchmark"`
	Machine     benchMachine `json:"machine"`
	Bodies      int          `json:"bodies"`
	BodyBytes   int          `json:"body_bytes_average"`
	Concurrency int          `json:"concurrency"`
	Duration    float64      `json:"duration_seconds"`
	Runs        []webhookRun `json:"runs"`
	PeakRSS     int64        `json:"peak_rss_bytes"`
	Point       benchPoint   `json:"point"`
}

// webhookRun is one load on one handler.
type webhookRun struct {
	// Handler is "loyaltyd" (verify, decode, store durably in the inbox)
	// or "bare" (read the body, answer 200).
	Handler string `json:"handler"`
	// Rate is the rate offered, deliveries a second; 0 for the closed
	// loop that finds the maximum.
	Rate     float64 `json:"rate"`
	Sent     int     `json:"sent"`
	OK       int     `json:"ok"`
	Failed   int     `json:"failed"`
	Seconds  float64 `json:"seconds"`
	Achieved float64 `json:"achieved_per_second"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	// CPU is the process's CPU time a delivery, in microseconds: the
	// handler's, and the load generator's, which runs in the process.
	CPU float64 `json:"cpu_us_per_delivery"`
	// Stored counts the deliveries of the run found in the inbox
	// afterwards (loyaltyd only).
	Stored int `json:"stored"`
}

// signedDelivery is a webhook to send again and again under new event
// ids: the signature covers the body only.
type signedDelivery struct {
	header http.Header
	body   []byte
}

func runBenchWebhooks(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("bench webhooks", "[--rate R[,R…]] [--duration D] [--concurrency N]",
		"Signed Shopify webhooks (orders/updated, each under a new event id) posted on loopback to\n"+
			"loyaltyd's webhook handler, which verifies the signature, decodes the order and stores the\n"+
			"delivery durably (fsync'd, group commit) in the inbox of a scratch database before it answers;\n"+
			"and, side by side, to a bare handler that reads the body and answers 200 (the limit). First a\n"+
			"closed loop of --concurrency senders finds the highest rate; then an open-loop generator sends\n"+
			"at each --rate on schedule, whether or not answers came, and measures each delivery's latency\n"+
			"from when it was due. Every delivery answered 200 is looked for in the inbox afterwards.\n"+
			"The load generator runs in the same process, on the same cores.")
	c := benchFlags(fs)
	rates := fs.String("rate", "1000,2000", "open-loop rates, deliveries a second, comma-separated")
	duration := fs.Duration("duration", 10*time.Second, "length of each run")
	concurrency := fs.Int("concurrency", 64, "senders of the closed loop")
	bodies := fs.Int("orders", 200, "distinct orders whose bodies are sent")
	seed := fs.Uint64("seed", 1, "seed of the synthetic orders")
	if err := parse(fs, args); err != nil {
		return err
	}
	var offered []float64
	for r := range strings.SplitSeq(*rates, ",") {
		if strings.TrimSpace(r) == "" {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || v <= 0 {
			return usagef("--rate %q: want positive numbers", r)
		}
		offered = append(offered, v)
	}
	if *duration <= 0 || *concurrency < 1 || *bodies < 1 {
		return usagef("want a positive --duration, --concurrency and --orders")
	}
	if c.growth != "" {
		return runGrowth(ctx, m, c, "webhooks", args, []growthSize{{name: "duration", value: duration.Seconds(), seconds: true}})
	}
	stop, err := c.profile()
	if err != nil {
		return err
	}
	defer stop()
	dir, cleanup, err := c.scratch()
	if err != nil {
		return err
	}
	defer cleanup()

	now := benchClock()
	shop := shopifytest.NewServer(shopifytest.Options{Shop: "bench", Now: now})
	st, err := synth.NewStream(synth.Options{Seed: *seed, Customers: max(1, *bodies/2), Orders: *bodies, Start: benchStart, End: benchEnd})
	if err != nil {
		return err
	}
	for cu := range st.Customers() {
		if err := shop.PutCustomer(cu); err != nil {
			return err
		}
	}
	var dels []signedDelivery
	size := 0
	for o := range st.Orders() {
		if err := shop.PutOrder(o); err != nil {
			return err
		}
		h, b, err := shop.Webhook(shopify.TopicOrdersUpdated, o.ID)
		if err != nil {
			return err
		}
		dels = append(dels, signedDelivery{header: h, body: b})
		size += len(b)
	}
	set := shop.Settings()
	a, err := m.benchApp(ctx, dir, fmt.Sprintf(`  - id: shop
    platform: shopify
    shop: %s
    access_token: %s
    api_secret: %s`, set["shop"], set["access_token"], set["api_secret"]), now)
	if err != nil {
		return err
	}
	defer a.Close()
	a.engine.Inbox = store.NewInboxWriter(a.db)
	inboxCtx, stopInbox := context.WithCancel(context.WithoutCancel(ctx))
	inboxDone := make(chan struct{})
	go func() {
		defer close(inboxDone)
		a.engine.Inbox.Run(inboxCtx)
	}()
	defer func() { stopInbox(); <-inboxDone }()

	src, ok := a.engine.Stores[0].Conn.(connectors.WebhookSource)
	if !ok {
		return fmt.Errorf("the shopify connector takes no webhooks")
	}
	real := &webhooks.Handler{Sources: map[string]connectors.WebhookSource{"shop": src}, Receiver: receiver{a.engine},
		Log: a.log, Metrics: webhooks.NewMetrics(prometheus.NewRegistry())}
	realMux := http.NewServeMux()
	real.Register(realMux)
	bareMux := http.NewServeMux()
	bareMux.HandleFunc("POST /webhooks/{store}", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "OK\n")
	})
	realURL, stopReal, err := serveLoopback(realMux)
	if err != nil {
		return err
	}
	defer stopReal()
	bareURL, stopBare, err := serveLoopback(bareMux)
	if err != nil {
		return err
	}
	defer stopBare()

	res := webhookResult{Benchmark: "webhooks", Machine: machine(time.Now()), Bodies: len(dels), BodyBytes: size / len(dels),
		Concurrency: *concurrency, Duration: duration.Seconds()}
	gen := &loadGen{
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute, DisableCompression: true,
		}},
		deliveries: dels,
	}
	defer gen.client.CloseIdleConnections()
	inbox := func() (int, error) {
		var s store.InboxStats
		err := a.db.View(ctx, func(tx *store.Tx) (err error) { s, err = tx.InboxStats("shop"); return })
		n := 0
		for _, v := range s.ByStatus {
			n += v
		}
		return n, err
	}
	for _, h := range []struct{ name, url string }{{"bare", bareURL}, {"loyaltyd", realURL}} {
		loads := append([]float64{0}, offered...)
		for _, rate := range loads {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			before, err := inbox()
			if err != nil {
				return err
			}
			var run webhookRun
			cpu := processCPU()
			if rate == 0 {
				run = gen.closed(ctx, h.url+"/webhooks/shop", *concurrency, *duration)
			} else {
				run = gen.open(ctx, h.url+"/webhooks/shop", rate, *duration)
			}
			run.Handler = h.name
			if run.Sent > 0 {
				run.CPU = float64(processCPU()-cpu) / float64(time.Microsecond) / float64(run.Sent)
			}
			if h.name == "loyaltyd" {
				after, err := inbox()
				if err != nil {
					return err
				}
				run.Stored = after - before
				if run.Stored < run.OK {
					return fmt.Errorf("%w: %d deliveries answered 200, %d in the inbox", errBenchCheck, run.OK, run.Stored)
				}
			}
			res.Runs = append(res.Runs, run)
		}
	}
	res.PeakRSS = peakRSS()
	for _, r := range res.Runs {
		if r.Handler == "loyaltyd" && r.Rate == 0 {
			res.Point = benchPoint{Size: duration.Seconds(), Units: float64(r.Stored), Unit: "events", Seconds: r.Seconds, PeakRSS: res.PeakRSS}
		}
	}
	if c.json {
		return printJSON(m.Stdout, res)
	}
	w := m.Stdout
	fmt.Fprintf(w, "loyaltyd bench webhooks: signed orders/updated deliveries of %s on average (%d distinct orders), %s a run\nmachine: %s\n\n",
		fmtBytes(int64(res.BodyBytes)), res.Bodies, fmtSeconds(res.Duration), res.Machine)
	t := &table{head: []string{"handler", "load", "sent", "ok", "failed", "achieved/s", "p50", "p99", "max", "in the inbox", "CPU each"}}
	for _, r := range res.Runs {
		load := fmt.Sprintf("max (%d senders)", res.Concurrency)
		if r.Rate > 0 {
			load = fmtRate(r.Rate) + "/s open loop"
		}
		stored := "-"
		if r.Handler == "loyaltyd" {
			stored = fmtInt(r.Stored)
		}
		name := r.Handler
		if name == "bare" {
			name = "bare (the limit)"
		}
		t.add(name, load, fmtInt(r.Sent), fmtInt(r.OK), fmtInt(r.Failed), fmtRate(r.Achieved),
			fmtLatency(ms(r.P50)), fmtLatency(ms(r.P99)), fmtLatency(ms(r.Max)), stored, fmt.Sprintf("%.0f µs", r.CPU))
	}
	t.write(w)
	fmt.Fprintf(w, "\nlatency: from when a delivery was due to its answer, over every delivery of the run;\n"+
		"CPU each: the process's CPU time a delivery, the load generator's included\n")
	fmt.Fprintf(w, "peak RSS %s (the process: loyaltyd, the bare server and the load generator)\n", fmtBytes(res.PeakRSS))
	return nil
}

func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// serveLoopback serves h on a free loopback port, with the daemon's
// timeouts, and returns its URL and a function that stops it.
func serveLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	return "http://" + ln.Addr().String(), func() { srv.Close(); <-done }, nil
}

// loadGen posts deliveries, each under an event id of its own.
type loadGen struct {
	client     *http.Client
	deliveries []signedDelivery
	runs       atomic.Int64
}

// post sends the k'th delivery of a run and reports whether it was
// answered 200.
func (g *loadGen) post(ctx context.Context, url, run string, k int) bool {
	d := g.deliveries[k%len(g.deliveries)]
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.body))
	if err != nil {
		return false
	}
	for key, vs := range d.header {
		req.Header[key] = vs
	}
	id := run + "-" + strconv.Itoa(k)
	req.Header.Set(shopify.HeaderEventID, id)
	req.Header.Set(shopify.HeaderWebhookID, id)
	resp, err := g.client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (g *loadGen) runID() string {
	return fmt.Sprintf("bench-%d-%d", os.Getpid(), g.runs.Add(1))
}

// open sends at a fixed rate for d, each delivery at its due time whether
// or not earlier ones were answered, and measures latency from the due
// time, so that a slow answer cannot hide the deliveries queued behind it.
func (g *loadGen) open(ctx context.Context, url string, rate float64, d time.Duration) webhookRun {
	run := g.runID()
	n := max(1, int(rate*d.Seconds()))
	lat := make([]time.Duration, n)
	ok := make([]bool, n)
	var wg stdsync.WaitGroup
	start := time.Now()
	for k := range n {
		due := start.Add(time.Duration(float64(k) / rate * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		if ctx.Err() != nil {
			n = k
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok[k] = g.post(ctx, url, run, k)
			lat[k] = time.Since(due)
		}()
	}
	wg.Wait()
	return summarize(rate, lat[:n], ok[:n], time.Since(start))
}

// closed keeps senders busy for d, each sending as soon as its previous
// delivery was answered: the highest rate the handler sustains.
func (g *loadGen) closed(ctx context.Context, url string, senders int, d time.Duration) webhookRun {
	run := g.runID()
	var next atomic.Int64
	type sample struct {
		lat time.Duration
		ok  bool
	}
	per := make([][]sample, senders)
	var wg stdsync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				k := int(next.Add(1) - 1)
				t0 := time.Now()
				ok := g.post(ctx, url, run, k)
				per[i] = append(per[i], sample{time.Since(t0), ok})
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var lat []time.Duration
	var oks []bool
	for _, ss := range per {
		for _, s := range ss {
			lat = append(lat, s.lat)
			oks = append(oks, s.ok)
		}
	}
	return summarize(0, lat, oks, elapsed)
}

func summarize(rate float64, lat []time.Duration, ok []bool, elapsed time.Duration) webhookRun {
	r := webhookRun{Rate: rate, Sent: len(lat), Seconds: elapsed.Seconds()}
	for _, v := range ok {
		if v {
			r.OK++
		} else {
			r.Failed++
		}
	}
	r.Achieved = float64(r.OK) / elapsed.Seconds()
	slices.Sort(lat)
	toMS := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r.P50, r.P99 = toMS(percentile(lat, 0.50)), toMS(percentile(lat, 0.99))
	if len(lat) > 0 {
		r.Max = toMS(lat[len(lat)-1])
	}
	return r
}
