package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// findChromium returns the path of a Chromium (or Chrome) to drive, or "".
func findChromium() string {
	// Debian's /usr/bin/chromium is a shell script around this binary.
	if _, err := os.Stat("/usr/lib/chromium/chromium"); err == nil {
		return "/usr/lib/chromium/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestDashboardInABrowser drives the dashboard of a running daemon (a
// memory store with Ann and Ben) in headless Chromium: it logs in with
// the admin token, finds Ann, adds points to her through the form and
// sees the new balance, and renders the overview with its charts, left to
// right and right to left. It skips only when no Chromium is installed
// (apt-get install chromium), and not even then in CI, which installs it
// and sets LOYALTYD_BROWSER_TEST=required. With LOYALTYD_SCREENSHOTS
// set to a folder it leaves its screenshots there.
func TestDashboardInABrowser(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		if os.Getenv("LOYALTYD_BROWSER_TEST") == "required" {
			t.Fatal("no Chromium found, and LOYALTYD_BROWSER_TEST=required (as in CI): install it (apt-get install chromium)")
		}
		t.Skip("no Chromium found (apt-get install chromium): the browser test needs one")
	}
	const token = "browser-test-admin-token-42"
	cfg, _ := memoryStore(t)
	content, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append(content, []byte("admin_token: "+token+"\n")...), 0o600)
	base, logs, stop := serveConfig(t, cfg)
	defer stop()
	// The first pass has synced Ann.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		req, _ := http.NewRequest("GET", base+"/api/customers?q=ann@example.com", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			if strings.Contains(b.String(), `"customer_id": "c1"`) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not sync Ann in time: %v\n%s", err, logs.String())
		}
	}
	ctx := context.Background()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	bctx, cancelTimeout := context.WithTimeout(bctx, 90*time.Second)
	defer cancelTimeout()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	points := func(sel string) int64 {
		t.Helper()
		s := strings.Trim(strings.ReplaceAll(text(sel), ",", ""), "\u2066\u2069")
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s shows %q, not a number of points", sel, s)
		}
		return n
	}
	shots := os.Getenv("LOYALTYD_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	screenshot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 10_000 {
			t.Fatalf("screenshot %s: %d bytes, not a picture of a page", name, len(png))
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Logged out, the dashboard sends the browser to the login form.
	do("open the dashboard", chromedp.Navigate(base+"/customers"), chromedp.WaitVisible("#token"))
	if loc, _ := chromedp.Run(bctx, chromedp.Location()); !strings.Contains(loc, "/login?next=") {
		t.Fatalf("logged out, /customers went to %s", loc)
	}
	do("log in with a wrong token", chromedp.SendKeys("#token", "not-the-token"), chromedp.Submit("#token"), chromedp.WaitVisible(".flash.bad"))
	do("log in", chromedp.SendKeys("#token", token), chromedp.Submit("#token"), chromedp.WaitVisible("#q"))

	do("search", chromedp.SendKeys("#q", "ann@example.com"), chromedp.Submit("#q"), chromedp.WaitVisible("table.hits a"))
	if got := text("table.hits"); !strings.Contains(got, "ann@example.com") || strings.Contains(got, "ben@example.com") {
		t.Fatalf("search for ann: %q", got)
	}
	do("open Ann's card", chromedp.Click("table.hits a"), chromedp.WaitVisible("#available"))
	before := points("#available")

	do("adjust", chromedp.SendKeys("#points", "400"), chromedp.SendKeys("#reason", "parcel lost"),
		chromedp.SendKeys("#staff-a", "dana"), chromedp.Submit("#points"), chromedp.WaitVisible(".flash.ok"))
	if got := text(".flash.ok"); !strings.Contains(got, "+400 points") || !strings.Contains(got, "parcel lost") {
		t.Errorf("after adjusting the page says %q", got)
	}
	if after := points("#available"); after != before+400 {
		t.Errorf("available: %d before, %d after adding 400", before, after)
	}
	if got := text("table.ledger"); !strings.Contains(got, "parcel lost") || !strings.Contains(got, "by dana") {
		t.Errorf("the history lacks the adjustment: %q", got)
	}
	// The staff name is remembered for the next form.
	if v, _ := chromedp.Run(bctx, chromedp.Value("#staff-r")); v != "dana" {
		t.Errorf("the redeem form's name is %q, want dana remembered", v)
	}
	screenshot("customer")

	do("overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible("svg.chart"))
	if got := text("main"); !strings.Contains(got, "Points per week") || !strings.Contains(got, "Members") || !strings.Contains(got, "Tier mix") {
		t.Errorf("the overview shows %q", got)
	}
	screenshot("overview")
	do("overview in Hebrew", chromedp.Navigate(base+"/?lang=he"), chromedp.WaitVisible("svg.chart"))
	if dir, _ := chromedp.Run(bctx, chromedp.Evaluate[string]("document.documentElement.dir")); dir != "rtl" {
		t.Errorf("the Hebrew overview's direction is %q", dir)
	}
	// Right to left, the first key figure is at the right.
	x, err := chromedp.Run(bctx, chromedp.Evaluate[float64](`document.querySelector(".card").getBoundingClientRect().left`))
	if err != nil || x < 400 {
		t.Errorf("right to left, the first card starts %gpx from the left (%v)", x, err)
	}
	screenshot("overview-he")
	do("log out", chromedp.Navigate(base+"/stores"), chromedp.Click("form.logout button"), chromedp.WaitVisible("#token"))

	cancelTimeout()
	cancelBrowser()
	if code := stop(); code != 0 {
		t.Errorf("run exited %d", code)
	}
	out := logs.String()
	for _, secret := range []string{token, "ann@example.com", "not-the-token"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
	if !regexp.MustCompile(`"msg":"dashboard: a login with a wrong token"`).MatchString(out) {
		t.Errorf("the wrong token was not logged:\n%s", out)
	}
}

// serveConfig runs the daemon on a configuration whose listen address is
// 127.0.0.1:0 (memoryStore's), on a free port, and returns its address,
// its log, and a stop that returns its exit code.
func serveConfig(t *testing.T, cfg string) (base string, logs *lockedBuffer, stop func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	content, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(content, []byte("127.0.0.1:0"), []byte(addr), 1), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	logs = &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		m := &Main{Stdout: &bytes.Buffer{}, Stderr: logs, LookupEnv: func(string) (string, bool) { return "", false }, Now: time.Now}
		done <- m.Run(ctx, []string{"run", "-c", cfg, "--log-format", "json"})
	}()
	base = "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the daemon never answered:\n%s", logs.String())
		}
	}
	stopped, code := false, 0
	return base, logs, func() int {
		if stopped {
			return code
		}
		stopped = true
		cancel()
		select {
		case code = <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("the daemon did not stop")
		}
		return code
	}
}

// TestNoDashboardWithoutAToken runs the daemon without admin_token: there
// is no login form, no dashboard page and no API, and the log says why.
func TestNoDashboardWithoutAToken(t *testing.T) {
	cfg, _ := memoryStore(t)
	base, logs, stop := serveConfig(t, cfg)
	defer stop()
	for _, path := range []string{"/login", "/", "/customers", "/static/dashboard.css", "/api/stores"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s without an admin token = %s, want 404", path, resp.Status)
		}
	}
	if code := stop(); code != 0 {
		t.Errorf("run exited %d", code)
	}
	if !strings.Contains(logs.String(), "no admin_token configured: the staff API and the dashboard are not served") {
		t.Errorf("the log does not say why there is no dashboard:\n%s", logs.String())
	}
}

// TestDemoServesTheDashboard serves a demo's app as the demo does after
// its summary: on loopback, behind a token made for the run, which it
// prints with the address.
func TestDemoServesTheDashboard(t *testing.T) {
	cfg, _ := memoryStore(t)
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &bytes.Buffer{}, LookupEnv: func(string) (string, bool) { return "", false }, Now: time.Now}
	a, err := m.openApp(context.Background(), &common{config: cfg}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	stop, err := serveDemo(m, a)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	match := regexp.MustCompile(`Dashboard: (http://127\.0\.0\.1:\d+/) — token: ([0-9a-f]{24})\n`).FindStringSubmatch(out.String())
	if match == nil {
		t.Fatalf("the demo printed %q", out.String())
	}
	base, token := match[1], match[2]
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.PostForm(base+"login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/" || resp.StatusCode != 200 {
		t.Errorf("logging in with the printed token ended on %s: %s", resp.Request.URL, resp.Status)
	}
	req, _ := http.NewRequest("GET", base+"api/stores", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("the staff API with the printed token: %v %v", resp, err)
	}
}
