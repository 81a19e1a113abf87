package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors/memory"
	"github.com/loyaltyd/loyaltyd/importer"
	"github.com/loyaltyd/loyaltyd/synth"
)

// importSample is a sample export of package importer.
func importSample(name string) string { return filepath.Join("..", "..", "importer", "testdata", name) }

// importStore writes a configuration of one memory store (its platform
// attached under the test's name) in a program of currency, and returns
// its path and the platform.
func importStore(t *testing.T, currency, extra string) (string, *memory.Platform) {
	t.Helper()
	name := "import-" + strings.ReplaceAll(t.Name(), "/", "-")
	p := memory.NewPlatform(memory.PlatformOptions{Now: func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }})
	memory.Attach(name, p)
	t.Cleanup(func() { memory.Detach(name) })
	cfg := writeFile(t, t.TempDir(), "loyaltyd.yaml", `database: ./l.db
listen: 127.0.0.1:0
stores:
  - id: shop
    platform: memory
    instance: `+name+`
program:
  currency: `+currency+`
  launch: 2026-01-01
  earn: {points_per_unit: 1, pending_days: 14, first_order_bonus: 100}
`+extra)
	return cfg, p
}

// points returns a customer's available points, found by e-mail.
func points(t *testing.T, cfg, email string) int64 {
	t.Helper()
	code, out, errOut := run(t, nil, "customer", "-c", cfg, "--email", email, "--json")
	if code != 0 {
		t.Fatalf("customer %s: exit %d: %s", email, code, errOut)
	}
	var v struct {
		Points map[string]int64 `json:"points"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("customer --json: %v", err)
	}
	return v.Points["available"]
}

func mustContain(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not say %q:\n%s", what, w, s)
		}
	}
}

func rebuildAgrees(t *testing.T, cfg string) {
	t.Helper()
	if code, out, errOut := run(t, nil, "rebuild", "--check", "-c", cfg); code != 0 || !strings.Contains(out, "agrees") {
		t.Errorf("rebuild --check: exit %d: %s%s", code, out, errOut)
	}
}

// TestImportShopifyCSV imports Shopify's export after a sync has read the
// store's customers: each order goes to the customer with its e-mail and
// earns as a synced order would; importing again changes nothing.
func TestImportShopifyCSV(t *testing.T) {
	cfg, p := importStore(t, "USD", "")
	at := time.Date(2025, 12, 1, 10, 0, 0, 0, time.UTC)
	p.PutCustomer(commerce.Customer{ID: "701", Email: "ann@example.com", FirstName: "Ann", CreatedAt: at, UpdatedAt: at})
	p.PutCustomer(commerce.Customer{ID: "702", Email: "ben@example.com", FirstName: "Ben", CreatedAt: at, UpdatedAt: at})
	if code, _, errOut := run(t, nil, "sync", "--once", "-c", cfg, "--log-level", "warn"); code != 0 {
		t.Fatalf("sync: %d %s", code, errOut)
	}
	code, out, errOut := run(t, nil, "import", "-c", cfg, "--log-level", "warn", "--store", "shop", importSample("shopify_orders.csv"))
	if code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	mustContain(t, "the summary", out,
		"(shopify-csv) imported into store shop: 6 orders in 9 rows",
		"accepted        6",
		"rejected        0",
		"1 order name no customer the store knows", // cara@ has no customer
		"not oldest first")
	// Ann: #1001 earns 54 and the first-order bonus; #1003 is 120.00 less
	// a 21.60 refund the export gives as an amount (98); #1004 was
	// refunded. Ben: #1002 is 80.00 after every discount (80, and the
	// bonus); #1005 was cancelled.
	if got := points(t, cfg, "ann@example.com"); got != 54+100+98 {
		t.Errorf("Ann has %d points, want 252", got)
	}
	if got := points(t, cfg, "ben@example.com"); got != 80+100 {
		t.Errorf("Ben has %d points, want 180", got)
	}
	rebuildAgrees(t, cfg)

	code, out, _ = run(t, nil, "import", "-c", cfg, "--log-level", "warn", importSample("shopify_orders.csv"))
	if code != 0 {
		t.Fatalf("import again: exit %d", code)
	}
	mustContain(t, "the second summary", out, "accepted        0", "skipped         6 (6 already stored as they are)", "ledger: 0 entries")
}

// TestImportWooCommerceCSV imports one layout of the WooCommerce export,
// then the other: the same orders, so the second import stores nothing.
// Guests become customers known by e-mail, as the connector knows them.
func TestImportWooCommerceCSV(t *testing.T) {
	cfg, _ := importStore(t, "EUR", "")
	code, out, errOut := run(t, nil, "import", "-c", cfg, "--log-level", "warn", "--timezone", "Europe/Tallinn", importSample("woocommerce_items.csv"))
	if code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	mustContain(t, "the summary", out, "(woocommerce-csv) imported into store shop: 7 orders in 9 rows",
		"times without a zone read in Europe/Tallinn", "accepted        7", "2 customers added")
	// Mari: 45, the bonus, and 36 of order 2003 (one cup of two was
	// refunded); 2005 was refunded, 2006 cancelled. Jaan (a guest): 15,
	// the bonus, and 55 of order 2004 (5.00 refunded); 2007 is on hold.
	if got := points(t, cfg, "mari.tamm@example.com"); got != 45+100+36 {
		t.Errorf("Mari has %d points, want 181", got)
	}
	if got := points(t, cfg, "jaan.kask@example.com"); got != 15+100+55 {
		t.Errorf("Jaan has %d points, want 170", got)
	}
	code, out, _ = run(t, nil, "import", "-c", cfg, "--log-level", "warn", "--timezone", "Europe/Tallinn", importSample("woocommerce_orders.csv"))
	if code != 0 {
		t.Fatalf("import the other layout: exit %d", code)
	}
	mustContain(t, "the second summary", out, "accepted        0", "7 already stored as they are", "ledger: 0 entries")
	// Read in another zone, the same file has other times: newer
	// versions of the orders, which change no points.
	code, out, _ = run(t, nil, "import", "-c", cfg, "--log-level", "warn", "--timezone", "UTC", importSample("woocommerce_orders.csv"))
	if code != 0 || !strings.Contains(out, "ledger: 0 entries") {
		t.Errorf("import in UTC: exit %d\n%s", code, out)
	}
	rebuildAgrees(t, cfg)
}

// TestImportRejectedRows: rejected rows are listed with their line and
// reason, the rest is imported, and the exit status is 1.
func TestImportRejectedRows(t *testing.T) {
	cfg, _ := importStore(t, "USD", "")
	code, out, errOut := run(t, nil, "import", "-c", cfg, "--log-level", "warn", "--show", "3", importSample("shopify_broken.csv"))
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	mustContain(t, "the summary", out, "14 orders in 17 rows", "accepted        3", "rejected       11 (13 rows)",
		`line 3: order #2002: bad value: Total: amount "12.3.4" USD`, "line 4: order #2003", "line 5: order #2004", "… and 8 more")
	if strings.Contains(out, "line 6:") {
		t.Errorf("more rejections listed than --show 3:\n%s", out)
	}
	mustContain(t, "stderr", errOut, "loyaltyd import: 11 orders or rows rejected (listed above); the rest was imported")

	code, out, _ = run(t, nil, "import", "-c", cfg, "--log-level", "warn", importSample("broken.jsonl"))
	if code != 1 {
		t.Fatalf("JSON lines: exit %d, want 1", code)
	}
	mustContain(t, "the JSON lines summary", out, "accepted        2", "rejected       11", "line 5: missing: the order has no id",
		`line 8: order 8008: bad value: not an order in loyaltyd's JSON form: json: unknown field "customerid"`)
	rebuildAgrees(t, cfg)
}

func TestImportUsage(t *testing.T) {
	cfg, _ := importStore(t, "USD", "")
	dir := t.TempDir()
	analytics := writeFile(t, dir, "analytics.csv", "Date,Order #,Status,Customer,Customer type,Product(s),Items sold,Coupon(s),Net Sales\n")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "-c", cfg}, "give the file to import"},
		{[]string{"import", "-c", cfg, "a.csv", "b.csv"}, "give one file to import, not 2"},
		{[]string{"import", "-c", cfg, "--format", "xlsx", importSample("orders.jsonl")}, "--format"},
		{[]string{"import", "-c", cfg, "--store", "nope", importSample("orders.jsonl")}, `--store "nope": no such store`},
		{[]string{"import", "-c", cfg, filepath.Join(dir, "missing.csv")}, "no such file"},
		{[]string{"import", "-c", cfg, cfg}, "unknown format"},
		{[]string{"import", "-c", cfg, analytics}, "Analytics › Orders download"},
		{[]string{"import", "-c", cfg, "--timezone", "Mars/Olympus", importSample("orders.jsonl")}, "--timezone"},
		{[]string{"import", "-c", cfg, "--batch", "0", importSample("orders.jsonl")}, "--batch 0"},
	} {
		code, out, errOut := run(t, nil, tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
		if out != "" {
			t.Errorf("%q: stdout %q, want nothing", tt.args, out)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), "l.db")); err == nil {
		t.Error("a failed import created the database")
	}
	// Flags may follow the file.
	if code, out, errOut := run(t, nil, "import", importSample("orders.jsonl"), "-c", cfg, "--format", "jsonl", "--log-level", "warn"); code != 0 || !strings.Contains(out, "accepted        3") {
		t.Errorf("flags after the file: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := run(t, nil, "import", "--help"); code != 0 || !strings.Contains(errOut, "Exit status") {
		t.Errorf("--help: %d %q", code, errOut)
	}
}

// TestImportDryRun checks a file and stores nothing.
func TestImportDryRun(t *testing.T) {
	cfg, _ := importStore(t, "USD", "")
	code, out, _ := run(t, nil, "import", "-c", cfg, "--dry-run", importSample("broken.jsonl"))
	if code != 1 {
		t.Fatalf("exit %d, want 1 (rows rejected)", code)
	}
	mustContain(t, "the dry run", out, "checked for store shop", "valid           2 (dry run: nothing was stored)", "rejected       11")
	if strings.Contains(out, "ledger") {
		t.Errorf("a dry run reports ledger entries:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), "l.db")); err == nil {
		t.Error("a dry run created the database")
	}
}

// TestImportBeforeLaunch: orders placed before the program's launch earn
// nothing, as in sync, and the summary says how to credit them.
func TestImportBeforeLaunch(t *testing.T) {
	cfg, _ := importStore(t, "USD", "")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cfg, bytes.Replace(data, []byte("launch: 2026-01-01"), []byte("launch: 2026-03-01"), 1), 0o600)
	code, out, errOut := run(t, nil, "import", "-c", cfg, "--log-level", "warn", importSample("orders.jsonl"))
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	mustContain(t, "the summary", out, "accepted        3", "ledger: 0 entries",
		"2 orders placed before the program's launch (2026-03-01) earn nothing; set program.launch or program.backdate_days")
	if got := points(t, cfg, "ann@example.com"); got != 0 {
		t.Errorf("Ann has %d points, want 0", got)
	}
}

// TestImportThenSync: orders imported from JSON lines and then read by a
// sync from the platform are the same orders: the sync appends nothing.
func TestImportThenSync(t *testing.T) {
	cfg, p := importStore(t, "USD", "")
	st, err := synth.Generate(synth.Options{Seed: 3, Customers: 40, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		End: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := importer.NewWriter(&buf, importer.Options{Format: importer.FormatJSONL})
	if err != nil {
		t.Fatal(err)
	}
	for i := range st.Orders {
		w.Write(&st.Orders[i], nil)
		p.PutOrder(st.Orders[i])
	}
	w.Flush()
	for _, c := range st.Customers {
		p.PutCustomer(c)
	}
	file := writeFile(t, t.TempDir(), "orders.jsonl", buf.String())
	code, out, errOut := run(t, nil, "import", "-c", cfg, "--log-level", "warn", "--batch", "7", file)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	mustContain(t, "the summary", out, fmt.Sprintf("accepted  %7d", len(st.Orders)))
	code, out, errOut = run(t, nil, "sync", "--once", "-c", cfg, "--log-level", "warn")
	if code != 0 {
		t.Fatalf("sync: exit %d: %s", code, errOut)
	}
	mustContain(t, "the sync", out, fmt.Sprintf("%d orders read (0 changed); 0 ledger entries", len(st.Orders)))
	rebuildAgrees(t, cfg)
}

// BenchmarkImport imports a generated store's orders (JSON lines, about
// 5,000 orders of 2,000 customers over 2025) through the whole command:
// read, check, order by time, store, credit, queue write-backs, in a new
// database each time. "earning" has every order earn (launched before the
// history); "before-launch" has none earn (launched after it), as when an
// owner loads history before starting the program.
func BenchmarkImport(b *testing.B) {
	st, err := synth.Generate(synth.Options{Seed: 11, Customers: 2000, Start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		End: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	w, _ := importer.NewWriter(&buf, importer.Options{Format: importer.FormatJSONL})
	for i := range st.Orders {
		w.Write(&st.Orders[i], nil)
	}
	w.Flush()
	dir := b.TempDir()
	file := filepath.Join(dir, "orders.jsonl")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, launch string }{{"earning", "2024-01-01"}, {"before-launch", "2026-03-01"}} {
		b.Run(bc.name, func(b *testing.B) {
			orders := 0
			cpu := importCPU()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				cfg := filepath.Join(dir, fmt.Sprintf("%s-%d.yaml", bc.name, i))
				os.WriteFile(cfg, []byte(`database: ./`+bc.name+fmt.Sprint(i)+`.db
stores: [{id: shop, platform: memory, instance: bench}]
program:
  currency: USD
  launch: `+bc.launch+`
  earn: {points_per_unit: 1, pending_days: 14, first_order_bonus: 100}
  tiers: {window_days: 365, levels: [{name: silver, min_spend: 200}, {name: gold, min_spend: 1000, earn_factor: 1.5}]}
`), 0o600)
				var out, errOut bytes.Buffer
				m := &Main{Stdout: &out, Stderr: &errOut, LookupEnv: func(string) (string, bool) { return "", false },
					Now: func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }}
				b.StartTimer()
				if code := m.Run(context.Background(), []string{"import", "-c", cfg, "--log-level", "error", file}); code != 0 {
					b.Fatalf("exit %d: %s%s", code, out.String(), errOut.String())
				}
				orders += len(st.Orders)
			}
			b.ReportMetric(float64(orders)/b.Elapsed().Seconds(), "orders/s")
			b.ReportMetric(float64(orders)/(importCPU()-cpu).Seconds(), "orders/cpu-s")
		})
	}
}

// importCPU returns the processor time the process has used: on a shared
// machine, orders per processor second say what an import costs.
func importCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
