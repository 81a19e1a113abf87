package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// The bench tests run each measurement at a tiny size and check that it
// did what it says (every order stored, every webhook in the inbox, 429s
// counted); they never assert a speed.

// benchJSON runs a bench command with --json and decodes its result.
func benchJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	code, out, errOut := run(t, nil, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("loyaltyd %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("loyaltyd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestBenchGenJSONL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(name string) string { return filepath.Join(dir, name) }
	var res genResult
	benchJSON(t, &res, "bench", "gen", "--orders", "300", "--customers", "90", "--seed", "4", "--currency", "KWD", "--out", file("a.jsonl"))
	if res.Orders != 300 || res.Customers != 90 || res.Exponent != 3 || res.Point.Units != 300 {
		t.Errorf("result %+v: want 300 orders of 90 customers in a 3-decimal currency", res)
	}
	f, err := os.Open(file("a.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	lines, refunded := 0, 0
	for sc.Scan() {
		var o commerce.Order
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("line %d: %v", lines+1, err)
		}
		if err := o.Validate(); err != nil {
			t.Fatalf("line %d: %v", lines+1, err)
		}
		if o.Currency != "KWD" || !strings.Contains(sc.Text(), `"currency":"KWD"`) {
			t.Fatalf("line %d: currency %s", lines+1, o.Currency)
		}
		if len(o.Refunds) > 0 {
			refunded++
		}
		lines++
	}
	if lines != 300 {
		t.Errorf("%d lines, want 300", lines)
	}
	if refunded == 0 {
		t.Error("no order refunded or cancelled among 300")
	}
	if res.Bytes != fileSize(t, file("a.jsonl")) {
		t.Errorf("reported %d bytes, the file has %d", res.Bytes, fileSize(t, file("a.jsonl")))
	}
	// The same seed writes the same file; another seed another one.
	benchJSON(t, &res, "bench", "gen", "--orders", "300", "--customers", "90", "--seed", "4", "--currency", "KWD", "--out", file("b.jsonl"))
	benchJSON(t, &res, "bench", "gen", "--orders", "300", "--customers", "90", "--seed", "5", "--currency", "KWD", "--out", file("c.jsonl"))
	a, b, c := readBytes(t, file("a.jsonl")), readBytes(t, file("b.jsonl")), readBytes(t, file("c.jsonl"))
	if !bytes.Equal(a, b) {
		t.Error("the same seed wrote different files")
	}
	if bytes.Equal(a, c) {
		t.Error("another seed wrote the same file")
	}
}

func TestBenchGenShopify(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "orders.json")
	var res genResult
	benchJSON(t, &res, "bench", "gen", "--orders", "40", "--format", "shopify-json", "--currency", "JPY", "--out", out)
	var doc struct {
		Orders []struct {
			ID       json.Number `json:"id"`
			Currency string      `json:"currency"`
			Total    string      `json:"total_price"`
			Customer struct {
				ID    json.Number `json:"id"`
				Email string      `json:"email"`
			} `json:"customer"`
		} `json:"orders"`
	}
	dec := json.NewDecoder(bytes.NewReader(readBytes(t, out)))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Orders) != 40 || res.Orders != 40 {
		t.Fatalf("%d orders in the file, %d reported, want 40", len(doc.Orders), res.Orders)
	}
	for _, o := range doc.Orders {
		if o.ID == "" || o.Currency != "JPY" || strings.Contains(o.Total, ".") || o.Customer.Email == "" {
			t.Fatalf("order %+v: want an id, a whole yen total and its customer's e-mail", o)
		}
	}
}

func TestBenchSync(t *testing.T) {
	t.Parallel()
	// Pages of 20 from a bucket of 5, on a platform clock 200 times the
	// wall clock's: the bucket limits the sync, quickly.
	var res syncResult
	benchJSON(t, &res, "bench", "sync", "--orders", "400", "--customers", "120", "--page-size", "20", "--bucket", "5",
		"--time-scale", "200", "--dir", t.TempDir())
	sh, wo := res.Shopify, res.WooCommerce
	if sh == nil || wo == nil {
		t.Fatalf("result %+v: want both platforms", res)
	}
	if sh.OrdersStored != 400 || sh.CustomersStored != 120 {
		t.Errorf("shopify: stored %d orders and %d customers, want 400 and 120", sh.OrdersStored, sh.CustomersStored)
	}
	// 20 pages of orders, 6 of customers, and one more each that finds
	// the end or not, depending on the connector.
	if sh.Requests < 26 || sh.Throttled != 0 || sh.Failed != 0 {
		t.Errorf("shopify: %d requests, %d throttled, %d failed: want at least 26, none throttled or failed", sh.Requests, sh.Throttled, sh.Failed)
	}
	if sh.MinWindowSeconds <= 0 || sh.Share <= 0 {
		t.Errorf("shopify: the bucket set no limit (%+v)", sh)
	}
	if wo.Stored != 400 || wo.Read.Orders < 400 || wo.Sync.Failed != 0 || wo.Sync.OrderPages < 4 {
		t.Errorf("woocommerce: %+v", wo)
	}
	if res.Point.Units != 800 {
		t.Errorf("growth point %+v: want 800 orders synced", res.Point)
	}
}

// TestBenchSyncCounts429s tells the connector a leak rate 160 times the
// fake's, so that it sends too fast whenever crediting a page takes less
// than the fake's leak interval (200 ms): the fake answers 429s, the
// connector retries, every order still arrives, and the 429s the bucket
// answered are the 429s the server counted.
func TestBenchSyncCounts429s(t *testing.T) {
	t.Parallel()
	var res syncResult
	benchJSON(t, &res, "bench", "sync", "--platform", "shopify", "--orders", "100", "--customers", "20", "--page-size", "5",
		"--bucket", "4", "--leak", "0.25", "--connector-leak", "40", "--time-scale", "20")
	sh := res.Shopify
	if sh == nil || res.WooCommerce != nil {
		t.Fatalf("result %+v: want Shopify only", res)
	}
	failed := 0
	for code, n := range sh.Statuses {
		if code != "200" {
			failed += n
		}
	}
	if sh.Statuses["429"] != sh.Throttled || sh.Failed != failed {
		t.Errorf("throttled %d, statuses %v, failed %d: want the 429s and failures counted alike", sh.Throttled, sh.Statuses, sh.Failed)
	}
	if sh.OrdersStored != 100 {
		t.Errorf("stored %d orders, want 100", sh.OrdersStored)
	}
	if sh.Throttled == 0 {
		t.Log("no 429 this time: crediting each page took longer than the fake's leak interval")
	}
}

// TestRequestLog checks the counting of answers on a handler that
// throttles every third request.
func TestRequestLog(t *testing.T) {
	t.Parallel()
	n := 0
	log := &requestLog{statuses: map[int]int{}, next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if n%3 == 0 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, "ok") // an implicit 200
	})}
	for range 9 {
		log.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}
	statuses, failed := statusCounts(log.statuses)
	if statuses["200"] != 6 || statuses["429"] != 3 || failed != 3 {
		t.Errorf("statuses %v, failed %d: want 6 ok and 3 throttled", statuses, failed)
	}
	if log.first.IsZero() || log.last.Before(log.first) {
		t.Errorf("first %v, last %v", log.first, log.last)
	}
}

func TestBenchWebhooks(t *testing.T) {
	t.Parallel()
	var res webhookResult
	benchJSON(t, &res, "bench", "webhooks", "--duration", "300ms", "--rate", "40,80", "--concurrency", "4", "--orders", "6")
	if len(res.Runs) != 6 {
		t.Fatalf("%d runs, want 3 loads on 2 handlers", len(res.Runs))
	}
	stored := 0
	for _, r := range res.Runs {
		if r.Sent == 0 || r.OK != r.Sent || r.Failed != 0 {
			t.Errorf("%s at %g/s: sent %d, ok %d, failed %d", r.Handler, r.Rate, r.Sent, r.OK, r.Failed)
		}
		if r.Rate > 0 && r.Sent != int(r.Rate*0.3) {
			t.Errorf("%s at %g/s for 300ms: sent %d", r.Handler, r.Rate, r.Sent)
		}
		if r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 {
			t.Errorf("%s at %g/s: p50 %g, p99 %g, max %g", r.Handler, r.Rate, r.P50, r.P99, r.Max)
		}
		switch r.Handler {
		case "loyaltyd":
			if r.Stored != r.OK {
				t.Errorf("loyaltyd at %g/s: %d answered 200, %d in the inbox", r.Rate, r.OK, r.Stored)
			}
			stored += r.Stored
		case "bare":
			if r.Stored != 0 {
				t.Errorf("the bare handler stored %d", r.Stored)
			}
		default:
			t.Errorf("handler %q", r.Handler)
		}
	}
	if stored == 0 || res.Point.Units == 0 {
		t.Errorf("nothing stored (%+v)", res.Point)
	}
}

func TestBenchEngine(t *testing.T) {
	t.Parallel()
	var res engineResult
	benchJSON(t, &res, "bench", "engine", "--orders", "200", "--eval-orders", "50", "--eval-time", "20ms")
	e, p := res.Evaluate, res.Pipeline
	if e.Orders != 50 || e.PerCore <= 0 || e.AllCores <= 0 || e.PointsTotal <= 0 {
		t.Errorf("evaluate %+v", e)
	}
	if p.Orders != 200 || p.Customers != 80 || p.LedgerEntries < 150 || p.WriteBacksQueued == 0 {
		t.Errorf("pipeline %+v: want 200 orders of 80 customers credited, write-backs queued", p)
	}
}

func TestBenchGrowth(t *testing.T) {
	// Not parallel: it replaces how children run.
	old := benchChild
	t.Cleanup(func() { benchChild = old })
	var calls [][]string
	benchChild = func(ctx context.Context, m *Main, args []string) ([]byte, error) {
		calls = append(calls, args)
		var out, errOut bytes.Buffer
		child := *m
		child.Stdout, child.Stderr = &out, &errOut
		if code := child.Run(ctx, args); code != 0 {
			t.Fatalf("child %v: exit %d: %s", args, code, errOut.String())
		}
		return out.Bytes(), nil
	}
	var res struct {
		Growth []struct {
			Factor float64    `json:"factor"`
			Point  benchPoint `json:"point"`
		} `json:"growth"`
	}
	benchJSON(t, &res, "bench", "gen", "--orders", "500", "--seed", "3", "--growth", "1,0.1")
	if len(res.Growth) != 2 || res.Growth[0].Factor != 0.1 || res.Growth[0].Point.Units != 50 || res.Growth[1].Point.Units != 500 {
		t.Fatalf("growth %+v: want 50 then 500 orders", res.Growth)
	}
	for _, c := range calls {
		joined := strings.Join(c, " ")
		if strings.Contains(joined, "growth") || !strings.Contains(joined, "--seed 3") {
			t.Errorf("child %q: want the parent's flags without --growth", joined)
		}
	}
}

func TestBenchUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"bench"},
		{"bench", "nope"},
		{"bench", "gen", "--format", "xml"},
		{"bench", "gen", "--growth", "x"},
		{"bench", "sync", "--platform", "magento"},
		{"bench", "webhooks", "--rate", "fast"},
		{"bench", "engine", "--batch", "0"},
		{"bench", "ingest", "--orders", "0"},
		{"bench", "ingest", "--batch", "0"},
	} {
		if code, _, _ := run(t, nil, args...); code != exitUsage {
			t.Errorf("loyaltyd %s: exit %d, want %d", strings.Join(args, " "), code, exitUsage)
		}
	}
	if code, out, _ := run(t, nil, "bench", "help"); code != 0 || !strings.Contains(out, "webhooks") {
		t.Errorf("bench help: exit %d\n%s", code, out)
	}
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func readBytes(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBenchIngest(t *testing.T) {
	t.Parallel()
	var res ingestResult
	benchJSON(t, &res, "bench", "ingest", "--orders", "300", "--customers", "90", "--batch", "64", "--dir", t.TempDir())
	if res.Orders != 300 || res.Customers != 90 || res.FileBytes == 0 {
		t.Fatalf("result %+v: want a file of 300 orders of 90 customers", res)
	}
	for name, p := range map[string]*ingestPhase{"generate": &res.Generate, "parse": &res.Parse, "plain": &res.Plain,
		"pipeline": res.Pipeline, "report": res.Report} {
		if p == nil {
			t.Errorf("%s: not measured", name)
			continue
		}
		if p.Orders != 300 || p.Seconds <= 0 || p.PerSecond <= 0 {
			t.Errorf("%s: %+v", name, *p)
		}
	}
	// Every order earns, and the first order of each buyer a bonus.
	if res.LedgerEntries < 300 || res.Queued == 0 {
		t.Errorf("pipeline wrote %d ledger entries and queued %d write-backs: want one entry an order at least, and write-backs", res.LedgerEntries, res.Queued)
	}
	if res.Ratio <= 0 || res.PlainDecodeSeconds <= 0 || res.PlainDecodeSeconds > res.Plain.Seconds {
		t.Errorf("ratio %g, plain decode %gs of %gs", res.Ratio, res.PlainDecodeSeconds, res.Plain.Seconds)
	}
	if res.Point.Units != 300 || res.Point.Seconds != res.Pipeline.Seconds {
		t.Errorf("growth point %+v: want the pipeline's 300 orders", res.Point)
	}

	// Without the pipeline, the plain insert is the growth point.
	res = ingestResult{}
	benchJSON(t, &res, "bench", "ingest", "--orders", "50", "--pipeline=false")
	if res.Pipeline != nil || res.Report != nil || res.Plain.Orders != 50 || res.Point.Seconds != res.Plain.Seconds {
		t.Errorf("--pipeline=false: %+v", res)
	}
}
