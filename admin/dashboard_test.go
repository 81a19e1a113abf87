package admin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/loyaltyd/loyaltyd/admin"
	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/config"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
)

const deskToken = "dashboard-admin-token-0123"

// desk is the engine behind the dashboard in these tests: one store, acme,
// whose customer ann (42) starts with 340 points. It refuses what the
// engine refuses, with the engine's kinds of error, keeps the balance the
// forms change, and records every change it was asked for.
type desk struct {
	program *loyalty.Program
	mu      stdsync.Mutex
	points  int64
	calls   []string
	// simulated receives the candidates simulations were asked for.
	simulated chan string
}

func newDesk(t *testing.T) *desk {
	t.Helper()
	p, err := config.ParseProgram("desk.yaml", []byte(`program:
  currency: USD
  earn: {points_per_unit: 1}
  tiers: {window_days: 365, levels: [{name: silver, min_spend: 200}, {name: gold, min_spend: 1000}]}
  rewards:
    - {id: five-off, points: 300, type: fixed_amount, value: 5}
    - {id: big, points: 5000, type: percentage, value: 20}
  auto_redeem: {reward: five-off, monthly_budget: 100}
  point_value: 0.01
  margin_percent: 40
  goals: {members: 100, purchase_frequency: 3}
`), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &desk{program: p, points: 340, simulated: make(chan string, 4)}
}

func (d *desk) record(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, fmt.Sprintf(format, args...))
}

func (d *desk) changes() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.calls)
}

func (d *desk) SearchCustomers(_ context.Context, storeID, q string, limit int) ([]report.CustomerHit, error) {
	if strings.Contains(q, "boom") {
		return nil, errors.New("database is locked while searching for " + q)
	}
	if !strings.Contains("ann@example.com ann kowalski 42", strings.ToLower(q)) {
		return nil, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return []report.CustomerHit{{Store: storeID, CustomerID: "42", Email: "ann@example.com", Name: "Ann Kowalski", Tier: "silver", Available: d.points}}, nil
}

func (d *desk) Customer(_ context.Context, storeID, id string) (*report.CustomerView, error) {
	switch {
	case strings.HasPrefix(id, "guest:"):
		return nil, fmt.Errorf("reading customer %s: disk I/O error", id)
	case storeID != "acme" || id != "42":
		return nil, fmt.Errorf("customer %s/%s: %w", storeID, id, admin.ErrNotFound)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	at := time.Date(2026, 5, 2, 10, 0, 0, 0, time.UTC)
	return &report.CustomerView{Store: "acme", CustomerID: "42", Email: "ann@example.com", Name: "Ann Kowalski", Enrolled: true,
		Cohort: "member", Tier: "silver", TierSince: at, Segment: "a", RFM: "5-4-5", ReferralCode: "REF-ANNANNANN2",
		Progress: loyalty.Progress{Next: "gold", MissingSpend: commerce.MustParseMoney("120.00", "USD"), SpendPercent: 88},
		Points:   loyalty.Balance{Available: d.points, Pending: 56, LifetimeEarned: d.points + 56},
		Rewards:  []report.RewardLine{{Reward: "five-off", Code: "LOY-UNUSED2345", Status: "created", Points: 300, CreatedAt: at}},
		Ledger: []report.LedgerLine{{Time: at, Points: 340, Kind: "earn", Reason: "Order #1042: 340.50 USD × 1 pt = 340 pts", AvailableAt: at.AddDate(0, 0, 14)},
			{Time: at.AddDate(0, 0, 1), Points: -10, Kind: "adjust_refund", Reason: "Order #1042: refunded 10.00 USD"}}}, nil
}

func (d *desk) Adjust(_ context.Context, storeID, id string, points int64, reason, staff string) (*report.LedgerLine, error) {
	if storeID != "acme" || id != "42" {
		return nil, fmt.Errorf("customer %s/%s: %w", storeID, id, admin.ErrNotFound)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.points+points < 0 {
		return nil, fmt.Errorf("%w: %v", admin.ErrConflict, loyalty.ErrNegativeBalance)
	}
	d.points += points
	d.calls = append(d.calls, fmt.Sprintf("adjust %s/%s %+d %q by %s", storeID, id, points, reason, staff))
	return &report.LedgerLine{Points: points, Kind: "manual", Reason: reason, Actor: staff}, nil
}

func (d *desk) Redeem(_ context.Context, storeID, id, reward, staff string) (*report.RewardLine, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.program.Reward(reward)
	if d.points < r.Points {
		return nil, fmt.Errorf("%w: %v", admin.ErrConflict, loyalty.ErrInsufficientPoints)
	}
	d.points -= r.Points
	d.calls = append(d.calls, fmt.Sprintf("redeem %s/%s %s by %s", storeID, id, reward, staff))
	return &report.RewardLine{ID: 7, Reward: reward, Points: r.Points, Code: "LOY-NEWCODE234", Status: "issued",
		ExpiresAt: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}, nil
}

func (d *desk) Status(context.Context) ([]report.StoreReport, error) {
	at := time.Date(2026, 6, 1, 11, 55, 0, 0, time.UTC)
	return []report.StoreReport{{Store: "acme", Platform: "shopify", LastPass: at, LastSuccess: at,
		Cursors:  map[string]report.CursorReport{"orders": {HighWater: at.Add(-time.Minute), LagSeconds: 60, LastPass: at}},
		Webhooks: map[string]int{"processed": 120, "duplicates": 4}, Outbox: map[string]int{"delivered": 300, "dead": 1},
		Orders: 40, Customers: 12, Members: 10, PointsCredited: 5000, PointsDebited: 800}}, nil
}

func (d *desk) DeadLetters(_ context.Context, storeID string) ([]report.DeadLetter, error) {
	return []report.DeadLetter{{ID: 3, Store: storeID, Kind: "discount", CustomerID: "42", Attempts: 8, LastError: "422 Unprocessable Entity: code taken"}}, nil
}

func (d *desk) RetryDead(_ context.Context, storeID string, ids []int64, staff string) (int, error) {
	d.record("retry %s %v by %s", storeID, ids, staff)
	return max(1, len(ids)), nil
}

// Report computes a real report over a small, made-up store.
func (d *desk) Report(_ context.Context, storeID string, q report.Query) (*report.Report, error) {
	if storeID != "acme" {
		return nil, fmt.Errorf("store %q: %w", storeID, admin.ErrNotFound)
	}
	q, err := q.Resolve(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	if err != nil {
		return nil, err
	}
	usd := func(s string) commerce.Money { return commerce.MustParseMoney(s, "USD") }
	b := report.NewBaskets()
	mug, socks, hat := b.Product([]byte("8001"), []byte("Trail mug")), b.Product([]byte("8002"), []byte("Wool socks")), b.Product([]byte("8003"), []byte("Beanie"))
	for range 6 {
		b.Add([]int32{mug, socks})
	}
	b.Add([]int32{hat})
	b.Add([]int32{mug, hat})
	in := report.Inputs{Store: storeID, Program: d.program, Query: q, Now: q.To, Baskets: b,
		Cohorts: map[loyalty.Cohort]report.CohortTotals{
			loyalty.CohortMember:  {Customers: 90, Enrolled: 90, NewlyEnrolled: 20, Buyers: 60, RepeatBuyers: 30, Orders: 180, Revenue: 1800000},
			loyalty.CohortHoldout: {Customers: 10, Buyers: 6, RepeatBuyers: 2, Orders: 14, Revenue: 120000},
		},
		Points:     report.PointTotals{ByKind: map[commerce.EntryKind]int64{"earn": 18000, "bonus": 900, "redeem": -6000, "expire": -300}, Outstanding: 12600, Pending: 1200},
		Rewards:    report.RewardTotals{Issued: 20, IssuedValue: 10000, Used: 12, Cost: 6000, CostOrders: 12},
		Tiers:      map[string]int{"": 50, "silver": 30, "gold": 10},
		AutoIssued: []report.AutoIssue{{At: q.To.AddDate(0, 0, -3), Value: 500}},
	}
	for i := range 20 {
		in.Buyers = append(in.Buyers, loyalty.Buyer{CustomerID: fmt.Sprint(i), Spend: usd(fmt.Sprintf("%d.00", 50+i*40)), Orders: 1 + i%5,
			LastOrder: q.To.AddDate(0, 0, -i*9)})
	}
	return report.Compute(in), nil
}

func (d *desk) Points(_ context.Context, storeID string, bounds []time.Time) ([]report.SpanPoints, error) {
	out := make([]report.SpanPoints, len(bounds)-1)
	for i := range out {
		out[i] = report.SpanPoints{Issued: int64(300 + 25*i), Redeemed: int64(100 * (i % 4)), Expired: int64(10 * (i % 7))}
	}
	return out, nil
}

func (d *desk) Activity(context.Context, string) (*report.Activity, error) {
	return &report.Activity{At: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC),
		Rewards: []report.RewardActivity{{Reward: "five-off", Issued: 20, Auto: 15, Used: 12, Unused: 5, Expired: 3, Refused: 1,
			Points: 6000, Value: commerce.MustParseMoney("100.00", "USD")}},
		Referrals: report.ReferralActivity{Rewarded: 4, Pending: 1, Refused: 2, Points: 1000,
			Refusals: []report.ReasonCount{{Reason: "self-referral: the code's owner used it", Count: 2}}}}, nil
}

func (d *desk) Candidates() []string { return []string{"richer.yaml"} }

func (d *desk) Simulate(ctx context.Context, storeID, name string, text []byte) (*report.Simulation, error) {
	d.simulated <- name + ":" + string(text)
	if strings.Contains(string(text), "currency: EUR") {
		return nil, &admin.FieldError{Field: "program", Msg: "currency EUR differs from the store's program (USD)"}
	}
	cur, err := d.Report(ctx, storeID, report.Query{})
	if err != nil {
		return nil, err
	}
	cand, _ := d.Report(ctx, storeID, report.Query{})
	cand.Figures[5].Value *= 2 // points issued
	moves, flows := report.Moves(map[string]string{"1": "silver", "2": "silver", "3": ""}, map[string]string{"1": "gold", "2": "silver", "3": "silver"})
	return &report.Simulation{Store: storeID, Period: cur.Period, Current: cur, Candidate: cand, TierMoves: moves, TierFlows: flows}, nil
}

// deskServer serves a dashboard over d; now is its clock.
func deskServer(t *testing.T, d *desk, now *time.Time, log io.Writer) (*httptest.Server, *admin.Dashboard) {
	t.Helper()
	l := logrus.New()
	l.Out = io.Discard
	if log != nil {
		l.Out = log
	}
	dash := &admin.Dashboard{Backend: d, Reports: d, Simulator: d, Program: d.program, Token: deskToken, Title: "Acme Club",
		Stores: []admin.StoreRef{{ID: "acme", Platform: "shopify"}}, Log: l}
	if now != nil {
		dash.Now = func() time.Time { return *now }
	}
	mux := http.NewServeMux()
	dash.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		dash.Close()
	})
	return srv, dash
}

// browser is a client with cookies that does not follow redirects, so
// that tests see them.
type browser struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

func newBrowser(t *testing.T, srv *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, srv: srv, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, html.UnescapeString(string(body))
}

func (b *browser) get(path string, header ...string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values, header ...string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

func (b *browser) login() {
	b.t.Helper()
	resp, _ := b.post("/login", url.Values{"token": {deskToken}})
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("login: %s", resp.Status)
	}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the forms of a page.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	_, body := b.get(path)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("%s has no CSRF token", path)
	}
	return m[1]
}

func TestDashboardLogin(t *testing.T) {
	t.Parallel()
	srv, _ := deskServer(t, newDesk(t), nil, nil)
	b := newBrowser(t, srv)

	for _, path := range []string{"/", "/customers?q=ann", "/customers/acme/42", "/rewards", "/segments", "/stores", "/simulate"} {
		resp, _ := b.get(path)
		if got, want := resp.Header.Get("Location"), "/login?next="+url.QueryEscape(path); resp.StatusCode != http.StatusSeeOther || got != want {
			t.Errorf("GET %s logged out = %s to %q, want 303 to %q", path, resp.Status, got, want)
		}
	}
	resp, body := b.get("/login")
	if resp.StatusCode != 200 || !strings.Contains(body, `name="token"`) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("login form: %s %s", resp.Status, resp.Header)
	}

	resp, body = b.post("/login", url.Values{"token": {"wrong"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "That is not the admin token.") || len(resp.Cookies()) != 0 {
		t.Errorf("a wrong token: %s, cookies %v", resp.Status, resp.Cookies())
	}
	if resp, _ := b.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after a wrong token, GET / = %s", resp.Status)
	}

	resp, _ = b.post("/login", url.Values{"token": {deskToken}, "next": {"/stores"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/stores" {
		t.Fatalf("login: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies", len(cookies))
	}
	c := cookies[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure || len(c.Value) < 40 || strings.Contains(c.Value, deskToken) {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP, a random id", c)
	}
	if resp, body := b.get("/"); resp.StatusCode != 200 || !strings.Contains(body, "Acme Club") {
		t.Errorf("GET / logged in: %s", resp.Status)
	}
	// Already logged in, the login form sends the browser on.
	if resp, _ := b.get("/login"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /login logged in = %s", resp.Status)
	}

	// Through a TLS proxy the cookie is Secure; a next outside the site
	// is ignored.
	b2 := newBrowser(t, srv)
	resp, _ = b2.post("/login", url.Values{"token": {deskToken}, "next": {"//evil.example/"}}, "X-Forwarded-Proto", "https")
	if len(resp.Cookies()) != 1 || !resp.Cookies()[0].Secure || resp.Header.Get("Location") != "/" {
		t.Errorf("login behind TLS: cookies %v, to %q", resp.Cookies(), resp.Header.Get("Location"))
	}
}

func TestDashboardWithoutATokenLetsNobodyIn(t *testing.T) {
	t.Parallel()
	dash := &admin.Dashboard{Backend: newDesk(t), Stores: []admin.StoreRef{{ID: "acme"}}}
	mux := http.NewServeMux()
	dash.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	b := newBrowser(t, srv)
	for _, tok := range []string{"", "anything"} {
		if resp, _ := b.post("/login", url.Values{"token": {tok}}); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) > 0 {
			t.Errorf("token %q: %s", tok, resp.Status)
		}
	}
}

func TestDashboardLimitsFailedLogins(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	srv, _ := deskServer(t, newDesk(t), &now, nil)
	b := newBrowser(t, srv)
	for i := range 5 {
		if resp, _ := b.post("/login", url.Values{"token": {"guess"}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %s", i+1, resp.Status)
		}
	}
	// Now even the right token is refused, unchecked, for a while.
	resp, body := b.post("/login", url.Values{"token": {deskToken}})
	if resp.StatusCode != http.StatusTooManyRequests || len(resp.Cookies()) > 0 || !strings.Contains(body, "Try again in 15 minutes") {
		t.Fatalf("after 5 failures: %s %v", resp.Status, resp.Cookies())
	}
	now = now.Add(16 * time.Minute)
	if resp, _ := b.post("/login", url.Values{"token": {deskToken}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the window: %s", resp.Status)
	}
}

func TestDashboardSessionsExpire(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	srv, _ := deskServer(t, newDesk(t), &now, nil)
	b := newBrowser(t, srv)
	b.login()
	now = now.Add(11 * time.Hour)
	if resp, _ := b.get("/stores"); resp.StatusCode != 200 {
		t.Fatalf("after 11 idle hours: %s", resp.Status)
	}
	now = now.Add(12*time.Hour + time.Minute)
	if resp, _ := b.get("/stores"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after 12 idle hours: %s, want the login form", resp.Status)
	}
}

func TestDashboardLogout(t *testing.T) {
	t.Parallel()
	srv, _ := deskServer(t, newDesk(t), nil, nil)
	b := newBrowser(t, srv)
	b.login()
	csrf := b.csrf("/")
	if resp, _ := b.post("/logout", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without the CSRF token: %s", resp.Status)
	}
	if resp, _ := b.get("/"); resp.StatusCode != 200 {
		t.Fatalf("a refused logout logged out: %s", resp.Status)
	}
	resp, _ := b.post("/logout", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("logout: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	if resp, _ := b.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout GET / = %s", resp.Status)
	}
}

// TestDashboardRefusesFormsWithoutTheCSRFToken posts every form without
// the session's token and with another session's: each is refused with
// 403 and nothing changes.
func TestDashboardRefusesFormsWithoutTheCSRFToken(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	srv, _ := deskServer(t, d, nil, nil)
	b := newBrowser(t, srv)
	b.login()
	other := newBrowser(t, srv)
	other.login()
	foreign := other.csrf("/")
	forms := []struct {
		path string
		form url.Values
	}{
		{"/customers/acme/42/adjust", url.Values{"points": {"400"}, "reason": {"parcel lost"}, "staff": {"dana"}}},
		{"/customers/acme/42/redeem", url.Values{"reward": {"five-off"}, "staff": {"dana"}}},
		{"/stores/acme/retry", url.Values{"all": {"1"}, "staff": {"dana"}}},
		{"/simulate", url.Values{"store": {"acme"}, "candidate": {"richer.yaml"}}},
		{"/logout", url.Values{}},
	}
	for _, f := range forms {
		for _, tok := range []string{"", "not-the-token", foreign} {
			form := url.Values{}
			for k, v := range f.form {
				form[k] = v
			}
			if tok != "" {
				form.Set("csrf", tok)
			}
			resp, body := b.post(f.path, form)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Reload the page") {
				t.Errorf("POST %s with CSRF %q: %s", f.path, tok, resp.Status)
			}
		}
	}
	if calls := d.changes(); len(calls) > 0 {
		t.Errorf("refused forms changed things: %q", calls)
	}
	if len(d.simulated) > 0 {
		t.Errorf("a refused form started a simulation")
	}
	if _, body := b.get("/customers/acme/42"); !strings.Contains(body, `id="available"><bdi dir="ltr">340</bdi>`) {
		t.Errorf("the balance changed")
	}
}

func TestDashboardAdjustAndRedeem(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	srv, _ := deskServer(t, d, nil, nil)
	b := newBrowser(t, srv)
	b.login()
	card := "/customers/acme/42"
	csrf := b.csrf(card)
	post := func(action string, form url.Values) string {
		t.Helper()
		form.Set("csrf", csrf)
		resp, _ := b.post(card+"/"+action, form)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != card {
			t.Fatalf("POST %s: %s to %q, want 303 to the card", action, resp.Status, resp.Header.Get("Location"))
		}
		_, body := b.get(card)
		return body
	}

	body := post("adjust", url.Values{"points": {"+400"}, "reason": {"parcel lost"}, "staff": {"dana"}})
	for _, want := range []string{`class="flash ok"`, "Done: +400 points, “parcel lost”, by dana.", `id="available"><bdi dir="ltr">740</bdi>`, `value="dana"`} {
		if !strings.Contains(body, want) {
			t.Errorf("after adjusting, the card lacks %q", want)
		}
	}
	// The message shows once.
	if _, body := b.get(card); strings.Contains(body, "Done:") {
		t.Error("the message showed twice")
	}

	body = post("redeem", url.Values{"reward": {"five-off"}, "staff": {"dana"}})
	for _, want := range []string{"Done: 5.00 USD off for 300 points, code LOY-NEWCODE234. Valid until 2026-09-01.", `id="available"><bdi dir="ltr">440</bdi>`} {
		if !strings.Contains(body, want) {
			t.Errorf("after redeeming, the card lacks %q", want)
		}
	}

	refusals := []struct {
		action string
		form   url.Values
		want   string
	}{
		{"redeem", url.Values{"reward": {"big"}, "staff": {"dana"}}, "Not done: the program refuses it now (not possible now: not enough points available)."},
		{"redeem", url.Values{"reward": {"nope"}, "staff": {"dana"}}, "Not done: reward: choose a reward of the catalogue"},
		{"redeem", url.Values{"reward": {"five-off"}}, "Not done: your name: required"},
		{"adjust", url.Values{"points": {"-1000"}, "reason": {"typo"}, "staff": {"dana"}}, "Not done: the program refuses it now"},
		{"adjust", url.Values{"points": {"0"}, "reason": {"typo"}, "staff": {"dana"}}, "Not done: points: a whole number of points, not 0"},
		{"adjust", url.Values{"points": {"12.5"}, "reason": {"typo"}, "staff": {"dana"}}, "Not done: points:"},
		{"adjust", url.Values{"points": {"5"}, "reason": {" "}, "staff": {"dana"}}, "Not done: reason: required"},
	}
	for _, r := range refusals {
		body := post(r.action, r.form)
		if !strings.Contains(body, r.want) || !strings.Contains(body, `class="flash bad"`) {
			t.Errorf("%s %v: the card lacks %q", r.action, r.form, r.want)
		}
	}
	want := []string{`adjust acme/42 +400 "parcel lost" by dana`, "redeem acme/42 five-off by dana"}
	if got := d.changes(); !slices.Equal(got, want) {
		t.Errorf("changes = %q, want %q", got, want)
	}

	// Retrying a dead letter, from the stores page.
	csrf = b.csrf("/stores")
	resp, _ := b.post("/stores/acme/retry", url.Values{"csrf": {csrf}, "id": {"3"}, "staff": {"dana"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/stores" {
		t.Fatalf("retry: %s", resp.Status)
	}
	if _, body := b.get("/stores"); !strings.Contains(body, "Done: 1 write-backs of store acme queued again.") {
		t.Error("the stores page does not say the write-back was retried")
	}
	if got := d.changes(); got[len(got)-1] != "retry acme [3] by dana" {
		t.Errorf("retry: %q", got)
	}
}

// pageChecks are what each page must show with the desk's data.
var pageChecks = []struct {
	path string
	want []string
}{
	{"/", []string{"Points per week", `<svg class="chart"`, "<title", "Members against the holdout group", "Tier mix", "Goals", "Auto-redeem budget",
		"Liability", "ROI", "Definition"}},
	{"/?days=30", []string{`aria-current="page">30 days</a>`}},
	{"/customers?q=ann@example.com", []string{"Ann Kowalski", `href="/customers/acme/42"`, "ann@example.com"}},
	{"/customers?q=nobody", []string{"Nobody matches"}},
	{"/customers/acme/42", []string{"Ann Kowalski", "REF-ANNANNANN2", "LOY-UNUSED2345", "Order #1042", "\u2068gold\u2069 needs \u2066120.00 USD\u2069 more spend",
		`name="reward"`, `action="/customers/acme/42/adjust"`}},
	{"/rewards", []string{"The catalogue", "five-off", "self-referral", "Reward codes since the launch"}},
	{"/segments", []string{"ABC: buyers ranked by spend", "RFM: recency and frequency", "Trail mug", "Wool socks"}},
	{"/stores", []string{"acme", "422 Unprocessable Entity", `name="id" value="3"`, "Retry all"}},
	{"/simulate", []string{"richer.yaml", `enctype="multipart/form-data"`}},
}

func TestDashboardPagesRender(t *testing.T) {
	t.Parallel()
	srv, _ := deskServer(t, newDesk(t), nil, nil)
	b := newBrowser(t, srv)
	b.login()
	for _, lang := range []string{"en", "et", "he", "ar"} {
		for _, p := range pageChecks {
			path := p.path
			if strings.Contains(path, "?") {
				path += "&lang=" + lang
			} else {
				path += "?lang=" + lang
			}
			resp, body := b.get(path)
			if resp.StatusCode != 200 {
				t.Errorf("GET %s: %s", path, resp.Status)
				continue
			}
			if strings.Contains(body, "ZgotmplZ") || strings.Contains(body, "%!") {
				t.Errorf("GET %s: a value was escaped away or misformatted", path)
			}
			dir := "ltr"
			if lang == "he" || lang == "ar" {
				dir = "rtl"
			}
			if want := fmt.Sprintf(`<html lang="%s" dir="%s">`, lang, dir); !strings.Contains(body, want) {
				t.Errorf("GET %s lacks %s", path, want)
			}
			if lang != "en" {
				continue
			}
			for _, w := range p.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s lacks %q", path, w)
				}
			}
		}
	}
	resp, _ := b.get("/customers/acme/7")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown customer: %s", resp.Status)
	}
}

// TestDashboardLanguage chooses the language: ?lang= and what the session
// remembers of it, then the language the browser prefers most among
// those the dashboard speaks, then the configured one.
func TestDashboardLanguage(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	dash := &admin.Dashboard{Backend: d, Reports: d, Program: d.program, Token: deskToken, Language: "et",
		Stores: []admin.StoreRef{{ID: "acme"}}}
	mux := http.NewServeMux()
	dash.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tests := []struct {
		accept, query, want string
	}{
		{"", "", `lang="et" dir="ltr"`},
		{"de-DE,de;q=0.9,en;q=0.8", "", `lang="en" dir="ltr"`},
		{"de-DE,de;q=0.9", "", `lang="et" dir="ltr"`},
		{"he-IL,he;q=0.9,en;q=0.8", "", `lang="he" dir="rtl"`},
		{"en;q=0.5, ar;q=0.9", "", `lang="ar" dir="rtl"`},
		{"en-GB", "", `lang="en" dir="ltr"`},
		{"he", "?lang=en", `lang="en" dir="ltr"`},
	}
	for _, tt := range tests {
		b := newBrowser(t, srv)
		_, body := b.get("/login"+tt.query, "Accept-Language", tt.accept)
		if !strings.Contains(body, tt.want) {
			t.Errorf("Accept-Language %q, %q: want %s", tt.accept, tt.query, tt.want)
		}
	}
	// A language chosen on the login form stays after logging in.
	b := newBrowser(t, srv)
	if _, body := b.get("/login?lang=he"); !strings.Contains(body, `action="/login?lang=he"`) {
		t.Error("the login form drops the language")
	}
	b.post("/login?lang=he", url.Values{"token": {deskToken}})
	if _, body := b.get("/stores"); !strings.Contains(body, `lang="he" dir="rtl"`) {
		t.Error("the language chosen on the login form was lost")
	}
	b = newBrowser(t, srv)
	b.login()
	b.get("/stores?lang=ar")
	if _, body := b.get("/stores", "Accept-Language", "en"); !strings.Contains(body, `lang="ar" dir="rtl"`) || !strings.Contains(body, "المتاجر") {
		t.Error("the session did not keep the language chosen with ?lang=")
	}
}

// TestDashboardLogsNoPersonalData makes internal errors happen on a
// search by e-mail and on a guest's card (whose id holds the e-mail), and
// checks that the log has the error but no e-mail address.
func TestDashboardLogsNoPersonalData(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	srv, _ := deskServer(t, newDesk(t), nil, &log)
	b := newBrowser(t, srv)
	b.login()
	for _, path := range []string{"/customers?q=" + url.QueryEscape("boom.ann@example.com"), "/customers/acme/" + url.PathEscape("guest:ann@example.com")} {
		resp, body := b.get(path)
		if resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "disk I/O") || strings.Contains(body, "locked") {
			t.Errorf("GET %s: %s; the page must not show what failed inside", path, resp.Status)
		}
	}
	b.post("/login", url.Values{"token": {"guess-1234"}})
	out := log.String()
	if !strings.Contains(out, "dashboard") || !strings.Contains(out, "GET /customers/{store}/{id}") {
		t.Errorf("the log lacks the errors:\n%s", out)
	}
	for _, secret := range []string{"ann@example.com", deskToken, "guess-1234"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q:\n%s", secret, out)
		}
	}
}

func TestDashboardSimulation(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	srv, _ := deskServer(t, d, nil, nil)
	b := newBrowser(t, srv)
	b.login()
	csrf := b.csrf("/simulate")

	run := func(form url.Values, upload string) string {
		t.Helper()
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		form.Set("csrf", csrf)
		for k, v := range form {
			w.WriteField(k, v[0])
		}
		if upload != "" {
			f, _ := w.CreateFormFile("upload", "mine.yaml")
			f.Write([]byte(upload))
		}
		w.Close()
		req, _ := http.NewRequest("POST", srv.URL+"/simulate", &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		resp, _ := b.do(req)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/simulate?job=") {
			t.Fatalf("POST /simulate: %s to %q", resp.Status, loc)
		}
		for deadline := time.Now().Add(10 * time.Second); ; {
			_, page := b.get(loc)
			if !strings.Contains(page, "Replaying the history") {
				return page
			}
			if !strings.Contains(page, `http-equiv="refresh"`) {
				t.Fatal("a running simulation's page does not reload itself")
			}
			if time.Now().After(deadline) {
				t.Fatal("the simulation never ended")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	page := run(url.Values{"store": {"acme"}, "candidate": {"richer.yaml"}}, "")
	for _, want := range []string{"Candidate richer.yaml, store acme", "Who would move tier: 2 customers", "silver → gold", "no tier → silver", "Points issued"} {
		if !strings.Contains(page, want) {
			t.Errorf("the simulation page lacks %q", want)
		}
	}
	if got := <-d.simulated; got != "richer.yaml:" {
		t.Errorf("simulated %q, want the candidate file", got)
	}
	run(url.Values{"store": {"acme"}, "program": {"program: {currency: USD}"}}, "")
	if got := <-d.simulated; got != "the pasted program:program: {currency: USD}" {
		t.Errorf("simulated %q, want the pasted program", got)
	}
	page = run(url.Values{"store": {"acme"}, "program": {"pasted, but the upload goes first"}}, "program: {currency: EUR}")
	if got := <-d.simulated; got != "mine.yaml:program: {currency: EUR}" {
		t.Errorf("simulated %q, want the upload", got)
	}
	if !strings.Contains(page, "currency EUR differs") {
		t.Error("a mistake in the candidate is not shown")
	}
	resp, _ := b.post("/simulate", url.Values{"csrf": {csrf}, "store": {"acme"}, "candidate": {"../../etc/passwd"}})
	if _, body := b.get(resp.Header.Get("Location")); !strings.Contains(body, "Not done: choose a candidate file") {
		t.Error("a candidate not offered was accepted")
	}
	if len(d.simulated) > 0 {
		t.Error("a candidate not offered was simulated")
	}
}

// TestCataloguesAreComplete finds every message the templates and the code
// show and checks that each language has it, with the same formatting
// verbs in the same order.
func TestCataloguesAreComplete(t *testing.T) {
	t.Parallel()
	if got, want := admin.Languages(), config.DashboardLanguages; !slices.Equal(got, want) {
		t.Errorf("the dashboard speaks %v, the configuration accepts %v", got, want)
	}
	keys := map[string]bool{}
	tmpl := regexp.MustCompile(`[{(]-?\s*t\s+"((?:[^"\\]|\\.)*)"`)
	code := regexp.MustCompile(`\.T\("((?:[^"\\]|\\.)*)"`)
	files, _ := filepath.Glob("dashboard/*.html")
	gofiles, _ := filepath.Glob("*.go")
	for _, f := range append(files, gofiles...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		re := tmpl
		if strings.HasSuffix(f, ".go") {
			re = code
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			keys[strings.ReplaceAll(m[1], `\"`, `"`)] = true
		}
	}
	if len(keys) < 200 {
		t.Fatalf("found only %d messages: the patterns are out of date", len(keys))
	}
	verbs := regexp.MustCompile(`%[+]?[dsvq%]`)
	for _, lang := range admin.Languages()[1:] {
		for k := range keys {
			tr, ok := admin.Message(lang, k)
			if !ok {
				t.Errorf("%s lacks %q", lang, k)
				continue
			}
			if got, want := verbs.FindAllString(tr, -1), verbs.FindAllString(k, -1); !slices.Equal(got, want) {
				t.Errorf("%s %q = %q: verbs %q, want %q", lang, k, tr, got, want)
			}
		}
	}
}
