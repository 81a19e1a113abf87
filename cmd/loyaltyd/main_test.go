package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors/memory"
)

// run runs the program with args and returns its exit code and output.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &Main{
		Stdout: &stdout, Stderr: &stderr,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Now:       func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) },
	}
	code := m.Run(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// memoryStore attaches a memory platform with two customers and three
// orders under a unique instance name and writes a config naming it.
func memoryStore(t *testing.T) (cfg string, p *memory.Platform) {
	t.Helper()
	name := strings.ReplaceAll(t.Name(), "/", "-")
	p = memory.NewPlatform(memory.PlatformOptions{Now: func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }})
	memory.Attach(name, p)
	t.Cleanup(func() { memory.Detach(name) })
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	p.PutCustomer(commerce.Customer{ID: "c1", Email: "ann@example.com", FirstName: "Ann", CreatedAt: at, UpdatedAt: at})
	p.PutCustomer(commerce.Customer{ID: "c2", Email: "ben@example.com", FirstName: "Ben", CreatedAt: at, UpdatedAt: at})
	for i, c := range []string{"c1", "c1", "c2"} {
		amount := commerce.MustParseMoney(fmt.Sprintf("%d.50", 40+10*i), "USD")
		t := at.Add(time.Duration(i) * time.Hour)
		p.PutOrder(commerce.Order{ID: fmt.Sprint(1001 + i), Number: fmt.Sprint(1001 + i), CustomerID: c, Currency: "USD",
			State: commerce.StatePaid, CreatedAt: t, UpdatedAt: t, Total: amount,
			Lines: []commerce.LineItem{{ID: "l", Quantity: 1, Subtotal: amount}}})
	}
	dir := t.TempDir()
	cfg = writeFile(t, dir, "loyaltyd.yaml", `database: ./l.db
listen: 127.0.0.1:0
stores:
  - id: shop
    platform: memory
    instance: `+name+`
program:
  currency: USD
  launch: 2026-01-01
  earn: {points_per_unit: 1, pending_days: 14, first_order_bonus: 100}
  rewards:
    - {id: five-off, points: 500, type: fixed_amount, value: 5, expires_after_days: 30}
`)
	return cfg, p
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := run(t, nil, "version")
	if code != 0 || !regexp.MustCompile(`^loyaltyd \S+.*go1\.\d+.*schema \d+\n$`).MatchString(out) {
		t.Errorf("version: %d %q", code, out)
	}
	code, out, _ = run(t, nil, "help")
	if code != 0 || !strings.Contains(out, "demo") || !strings.Contains(out, "check-config") {
		t.Errorf("help: %d %q", code, out)
	}
	if code, _, errOut := run(t, nil, "sync", "--help"); code != 0 || !strings.Contains(errOut, "--once") {
		t.Errorf("sync --help: %d %q", code, errOut)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"sync"},
		{"sync", "--once", "--bogus"},
		{"customer", "-c", "x.yaml"},
		{"check-config", "-c", filepath.Join(t.TempDir(), "missing.yaml")},
	} {
		if code, _, errOut := run(t, nil, args...); code != 2 || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
}

func TestCheckConfigNamesFileLineAndKey(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "loyaltyd.yaml", `database: ./l.db
stores:
  - id: acme
    platform: shopfy
program:
  currency: USD
`)
	code, _, errOut := run(t, nil, "check-config", "-c", bad)
	want := bad + `:4: stores[0].platform: unknown platform "shopfy" (known: memory`
	if code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, want)
	}

	// A platform's own unknown key is found when its connector reads its settings.
	unknown := writeFile(t, dir, "unknown.yaml", `database: ./l.db
stores:
  - id: acme
    platform: memory
    instanse: x
program:
  currency: USD
`)
	code, _, errOut = run(t, nil, "check-config", "-c", unknown)
	if code != 2 || !strings.Contains(errOut, unknown+":5:") || !strings.Contains(errOut, "instanse") {
		t.Errorf("exit %d, stderr %q; want 2 naming line 5 and the key", code, errOut)
	}

	// Secrets given through the environment never come back in errors.
	secret := writeFile(t, dir, "secret.yaml", `admin_token: ${TOKEN}
database: ./l.db
listen: nonsense
stores: []
program:
  currency: USD
`)
	code, _, errOut = run(t, map[string]string{"TOKEN": "s3cr3t-value"}, "check-config", "-c", secret)
	if code != 2 || strings.Contains(errOut, "s3cr3t-value") {
		t.Errorf("exit %d, stderr %q: want 2 without the secret", code, errOut)
	}
}

func TestSyncCustomerRebuild(t *testing.T) {
	cfg, p := memoryStore(t)
	code, out, errOut := run(t, nil, "sync", "--once", "-c", cfg, "--log-level", "warn")
	if code != 0 {
		t.Fatalf("sync: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "shop: 2 customers and 3 orders read") {
		t.Errorf("sync output %q", out)
	}
	if got := p.Tags("c1"); !slices.Contains(got, "loyalty-member") {
		t.Errorf("tags of c1 on the platform: %v", got)
	}
	// A second pass changes nothing.
	_, out, _ = run(t, nil, "sync", "--once", "-c", cfg, "--log-level", "warn")
	if !strings.Contains(out, "0 ledger entries") {
		t.Errorf("second sync: %q", out)
	}

	code, out, errOut = run(t, nil, "customer", "-c", cfg, "--email", "ANN@example.com", "--json")
	if code != 0 {
		t.Fatalf("customer: exit %d: %s", code, errOut)
	}
	var v struct {
		Store    string `json:"store"`
		Email    string `json:"email"`
		Enrolled bool   `json:"enrolled"`
		Tier     *string
		Points   map[string]int64 `json:"points"`
		Ledger   []struct {
			Time    time.Time `json:"time"`
			Points  int64     `json:"points"`
			Kind    string    `json:"kind"`
			Reason  string    `json:"reason"`
			OrderID string    `json:"order_id"`
		} `json:"ledger"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("customer --json: %v\n%s", err, out)
	}
	if v.Store != "shop" || v.Email != "ann@example.com" || !v.Enrolled || v.Tier == nil {
		t.Errorf("customer: %+v", v)
	}
	// 40.50 + 50.50 earn 40 + 50 points, and the first order a bonus of
	// 100; pending until 14 days after the orders (May 15), so available
	// on June 1.
	want := map[string]int64{"available": 190, "pending": 0, "lifetime_earned": 190, "redeemed": 0, "expired": 0}
	for k, w := range want {
		if got, ok := v.Points[k]; !ok || got != w {
			t.Errorf("points.%s = %d (present %v), want %d", k, got, ok, w)
		}
	}
	if len(v.Ledger) != 3 || v.Ledger[0].Reason != "Order #1001: 40.50 USD × 1 pt = 40 pts" || v.Ledger[0].OrderID != "1001" {
		t.Errorf("ledger: %+v", v.Ledger)
	}

	code, out, _ = run(t, nil, "customer", "-c", cfg, "--id", "c2")
	if code != 0 || !strings.Contains(out, "Order #1003: 60.50 USD × 1 pt = 60 pts") {
		t.Errorf("customer card: %d %q", code, out)
	}
	if code, _, errOut := run(t, nil, "customer", "-c", cfg, "--email", "nobody@example.com"); code != 1 || !strings.Contains(errOut, "no customer") {
		t.Errorf("unknown customer: %d %q", code, errOut)
	}

	code, out, _ = run(t, nil, "rebuild", "--check", "-c", cfg)
	if code != 0 || !strings.Contains(out, "agrees") {
		t.Errorf("rebuild --check: %d %q", code, out)
	}
}

func TestDatabaseThatIsNotSQLiteIsLeftAlone(t *testing.T) {
	cfg, _ := memoryStore(t)
	dbPath := filepath.Join(filepath.Dir(cfg), "l.db")
	content := "not a database\n"
	writeFile(t, filepath.Dir(cfg), "l.db", content)
	code, _, errOut := run(t, nil, "sync", "--once", "-c", cfg)
	if code != 1 || !strings.Contains(errOut, "not a SQLite database") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if got, _ := os.ReadFile(dbPath); string(got) != content {
		t.Errorf("the file was changed: %q", got)
	}
}

func TestDemoOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo replays a year of orders")
	}
	dir := t.TempDir()
	code, out, errOut := run(t, nil, "demo", "--once", "--dir", dir, "--customers", "60")
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`Outstanding\s+([\d,]+) points`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" {
		t.Fatalf("demo summary has no points:\n%s", out)
	}
	for _, want := range []string{"Top customers by points", "member 55", "Tiers ", "Rewards ", "Referrals ", "Segments ", "loyaltyd customer -c"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo summary lacks %q:\n%s", want, out)
		}
	}
	// The demo leaves a configuration and database that the other
	// commands read, and its ledger agrees with a rebuild.
	if code, out, _ := run(t, nil, "rebuild", "--check", "-c", filepath.Join(dir, "loyaltyd.yaml")); code != 0 {
		t.Errorf("rebuild --check after the demo: %d %s", code, out)
	}
	// Deterministic: the same seed gives the same store.
	_, out2, _ := run(t, nil, "demo", "--once", "--dir", t.TempDir(), "--customers", "60")
	if m2 := regexp.MustCompile(`Outstanding\s+([\d,]+) points`).FindStringSubmatch(out2); m2 == nil || m2[1] != m[1] {
		t.Errorf("second demo outstanding %v, first %v", m2, m[1])
	}
}

// daemon is `loyaltyd run` in this process, on a free loopback port.
type daemon struct {
	addr   string
	cancel context.CancelFunc
	done   chan int
	stderr bytes.Buffer
}

// startDaemon runs the daemon on cfg (its listen address replaced by a
// free port) and waits until it answers /readyz.
func startDaemon(t *testing.T, cfg string) *daemon {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{addr: ln.Addr().String(), done: make(chan int)}
	ln.Close()
	content, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(content, []byte("127.0.0.1:0"), []byte(d.addr), 1), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() {
		m := &Main{Stdout: &bytes.Buffer{}, Stderr: &d.stderr, LookupEnv: func(string) (string, bool) { return "", false }, Now: time.Now}
		d.done <- m.Run(ctx, []string{"run", "-c", cfg, "--log-format", "json"})
	}()
	for i := 0; i < 100; i++ {
		if resp, err := http.Get("http://" + d.addr + "/readyz"); err == nil {
			resp.Body.Close()
			return d
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	t.Fatalf("daemon never answered: %s", d.stop(t))
	return nil
}

// stop cancels the daemon, fails the test unless it exits 0 in time, and
// returns what it logged.
func (d *daemon) stop(t *testing.T) string {
	t.Helper()
	d.cancel()
	select {
	case code := <-d.done:
		if code != 0 {
			t.Errorf("run exited %d: %s", code, d.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop after cancellation")
	}
	return d.stderr.String()
}

func TestRunServesHealthAndStopsOnCancel(t *testing.T) {
	cfg, _ := memoryStore(t)
	d := startDaemon(t, cfg)
	resp, err := http.Get("http://" + d.addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Ready  bool `json:"ready"`
		Stores []struct {
			Store string `json:"store"`
		} `json:"stores"`
	}
	json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if !ready.Ready || len(ready.Stores) != 1 || ready.Stores[0].Store != "shop" {
		t.Errorf("readyz = %+v", ready)
	}
	if code, out, _ := run(t, nil, "healthcheck", "--url", "http://"+d.addr+"/healthz"); code != 0 || out != "healthy\n" {
		t.Errorf("healthcheck: %d %q", code, out)
	}
	if resp, err := http.Get("http://" + d.addr + "/api/stores"); err != nil {
		t.Error(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusNotFound {
		t.Errorf("without an admin_token the staff API must not be served: %d", resp.StatusCode)
	}
	logged := d.stop(t)
	if code, _, _ := run(t, nil, "healthcheck", "--url", "http://"+d.addr+"/healthz", "--timeout", "1s"); code != 1 {
		t.Errorf("healthcheck against a stopped daemon: exit %d, want 1", code)
	}
	if strings.Contains(logged, "ann@example.com") {
		t.Errorf("an e-mail address reached the log")
	}
	if !strings.Contains(logged, "no admin_token configured") {
		t.Errorf("the log does not say why the staff API is off:\n%s", logged)
	}
}

func TestAdjustAndRedeem(t *testing.T) {
	cfg, p := memoryStore(t)
	if code, _, errOut := run(t, nil, "sync", "--once", "-c", cfg); code != 0 {
		t.Fatalf("sync: %s", errOut)
	}
	env := map[string]string{"LOYALTYD_STAFF": "dana"}
	code, out, errOut := run(t, env, "adjust", "-c", cfg, "--email", "ann@example.com", "--points", "400", "--reason", "parcel lost")
	if code != 0 || !strings.Contains(out, "+400 points") || !strings.Contains(out, "590 available") {
		t.Fatalf("adjust: %d %q %q", code, out, errOut)
	}
	code, out, errOut = run(t, env, "redeem", "-c", cfg, "--email", "ann@example.com", "--reward", "five-off")
	if code != 0 || !strings.Contains(out, "code LOY-") || !strings.Contains(out, "Written to the store") {
		t.Fatalf("redeem: %d %q %q", code, out, errOut)
	}
	if n := len(p.Discounts()); n != 1 {
		t.Errorf("the platform has %d discount codes, want 1", n)
	}
	if code, _, errOut := run(t, env, "redeem", "-c", cfg, "--email", "ann@example.com", "--reward", "five-off"); code != 1 || !strings.Contains(errOut, "not enough points") {
		t.Errorf("second redeem: %d %q, want exit 1 and the reason", code, errOut)
	}
	if code, _, errOut := run(t, env, "redeem", "-c", cfg, "--email", "ann@example.com", "--reward", "ten-off"); code != 2 || !strings.Contains(errOut, "five-off") {
		t.Errorf("unknown reward: %d %q, want exit 2 listing the rewards", code, errOut)
	}
	if code, _, errOut := run(t, nil, "adjust", "-c", cfg, "--email", "ann@example.com", "--points", "5", "--reason", "x", "--staff", ""); code != 2 {
		t.Errorf("adjust without staff: %d %q", code, errOut)
	}
	_, out, _ = run(t, nil, "customer", "-c", cfg, "--email", "ann@example.com")
	for _, want := range []string{"parcel lost (by dana)", "Unused reward five-off: code LOY-", "90 available"} {
		if !strings.Contains(out, want) {
			t.Errorf("customer card lacks %q:\n%s", want, out)
		}
	}
	if code, out, _ := run(t, nil, "rebuild", "--check", "-c", cfg); code != 0 {
		t.Errorf("rebuild --check: %s", out)
	}
	if code, _, errOut := run(t, nil, "rebuild", "--reprice", "-c", cfg); code != 2 || !strings.Contains(errOut, "--staff") {
		t.Errorf("reprice without staff: %d %q", code, errOut)
	}
}

// TestSyncOnceAppliesTheInbox: a webhook the daemon took but had not
// applied when it stopped is applied by the next `sync --once`, as `run`
// would have applied it.
func TestSyncOnceAppliesTheInbox(t *testing.T) {
	cfg, p := memoryStore(t)
	if code, _, errOut := run(t, nil, "sync", "--once", "-c", cfg, "--log-level", "warn"); code != 0 {
		t.Fatalf("sync: exit %d: %s", code, errOut)
	}
	at := time.Date(2026, 5, 20, 9, 0, 0, 0, time.UTC)
	amount := commerce.MustParseMoney("80.00", "USD")
	o := commerce.Order{ID: "1004", Number: "1004", CustomerID: "c2", Currency: "USD", State: commerce.StatePaid,
		CreatedAt: at, UpdatedAt: at, Total: amount, Lines: []commerce.LineItem{{ID: "l", Quantity: 1, Subtotal: amount}}}
	p.PutOrder(o)
	m := &Main{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, LookupEnv: func(string) (string, bool) { return "", false },
		Now: func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }}
	a, err := m.openApp(context.Background(), &common{config: cfg, logLevel: "warn"}, false)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(o)
	ev := commerce.Event{Kind: commerce.EventOrder, Topic: memory.TopicOrdersCreate, DedupeKey: "event-1", ResourceID: o.ID, Order: &o}
	if _, err := a.engine.Receive(context.Background(), "shop", ev, body, ""); err != nil {
		t.Fatal(err)
	}
	a.Close()

	code, out, errOut := run(t, nil, "sync", "--once", "-c", cfg, "--log-level", "warn")
	if code != 0 {
		t.Fatalf("sync: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "shop: 1 webhook deliveries applied from the inbox") {
		t.Errorf("sync output %q: the pending delivery was not applied", out)
	}
	_, out, _ = run(t, nil, "customer", "-c", cfg, "--id", "c2", "--json")
	if !strings.Contains(out, `"order_id": "1004"`) {
		t.Errorf("c2's ledger lacks order 1004:\n%s", out)
	}
}

// TestStopDuringStartUp: SIGTERM while the daemon is still starting (the
// database opening, the stores being checked) is a clean stop, exit 0.
func TestStopDuringStartUp(t *testing.T) {
	cfg, _ := memoryStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr bytes.Buffer
	m := &Main{Stdout: &bytes.Buffer{}, Stderr: &stderr, LookupEnv: func(string) (string, bool) { return "", false }, Now: time.Now}
	if code := m.Run(ctx, []string{"run", "-c", cfg}); code != 0 {
		t.Errorf("stopped during start-up: exit %d, want 0:\n%s", code, stderr.String())
	}
	if strings.Contains(stderr.String(), "loyaltyd running") {
		t.Errorf("the daemon started serving after it was asked to stop:\n%s", stderr.String())
	}
}
