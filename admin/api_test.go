package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/loyaltyd/loyaltyd/admin"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
)

const token = "s3cret-admin-token"

// backend is a staff backend over one customer, ann (acme/42), who has
// 340 points: it refuses what the engine refuses, with the engine's kinds
// of error, and records what it was asked.
type backend struct {
	calls []string
	// started is closed when a slow simulation has begun; release ends it.
	started, release chan struct{}
}

func (b *backend) find(storeID, id string) (*report.CustomerView, error) {
	if storeID != "acme" || id != "42" {
		return nil, fmt.Errorf("customer %s/%s: %w", storeID, id, admin.ErrNotFound)
	}
	return ann(), nil
}

func (b *backend) SearchCustomers(_ context.Context, storeID, q string, limit int) ([]report.CustomerHit, error) {
	b.calls = append(b.calls, fmt.Sprintf("search %s %q %d", storeID, q, limit))
	if q == "boom" {
		return nil, errors.New("database is locked at /var/lib/loyaltyd/loyaltyd.db")
	}
	return []report.CustomerHit{{Store: storeID, CustomerID: "42", Email: "ann@example.com", Available: 340}}, nil
}

func (b *backend) Customer(_ context.Context, storeID, id string) (*report.CustomerView, error) {
	return b.find(storeID, id)
}

func (b *backend) Adjust(_ context.Context, storeID, id string, points int64, reason, staff string) (*report.LedgerLine, error) {
	b.calls = append(b.calls, fmt.Sprintf("adjust %s/%s %+d %q by %s", storeID, id, points, reason, staff))
	v, err := b.find(storeID, id)
	if err != nil {
		return nil, err
	}
	if v.Points.Available+points < 0 {
		return nil, fmt.Errorf("%w: %v", admin.ErrConflict, loyalty.ErrNegativeBalance)
	}
	return &report.LedgerLine{Points: points, Kind: "manual", Reason: reason, Actor: staff}, nil
}

func (b *backend) Redeem(_ context.Context, storeID, id, reward, staff string) (*report.RewardLine, error) {
	b.calls = append(b.calls, fmt.Sprintf("redeem %s/%s %s by %s", storeID, id, reward, staff))
	if _, err := b.find(storeID, id); err != nil {
		return nil, err
	}
	if reward == "big" {
		return nil, fmt.Errorf("%w: %v", admin.ErrConflict, loyalty.ErrInsufficientPoints)
	}
	return &report.RewardLine{ID: 7, Reward: reward, Points: 300, Code: "LOY-ABCDEFGH23", Status: "created"}, nil
}

func (b *backend) Status(context.Context) ([]report.StoreReport, error) {
	return []report.StoreReport{{Store: "acme", Platform: "shopify"}}, nil
}

func (b *backend) DeadLetters(_ context.Context, storeID string) ([]report.DeadLetter, error) {
	return []report.DeadLetter{{ID: 3, Store: storeID, Kind: "discount", LastError: "422 Unprocessable Entity"}}, nil
}

func (b *backend) RetryDead(_ context.Context, storeID string, ids []int64, staff string) (int, error) {
	b.calls = append(b.calls, fmt.Sprintf("retry %s %v by %s", storeID, ids, staff))
	if len(ids) == 0 {
		return 1, nil
	}
	return len(ids), nil
}

// Report answers an empty report of the store over the query (resolved
// at the tests' now), which has every part a real one has.
func (b *backend) Report(_ context.Context, storeID string, q report.Query) (*report.Report, error) {
	b.calls = append(b.calls, fmt.Sprintf("report %s %s..%s pairs %d support %g", storeID,
		q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), q.Pairs, q.MinSupport))
	return emptyReport(storeID, q)
}

func emptyReport(storeID string, q report.Query) (*report.Report, error) {
	p := &loyalty.Program{Currency: "USD"}
	p.SetDefaults()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	q, err := q.Resolve(now)
	if err != nil {
		return nil, err
	}
	return report.Compute(report.Inputs{Store: storeID, Program: p, Query: q, Now: now}), nil
}

// Simulate answers two empty reports and one member moving to gold; it
// refuses a negative earn rate as the configuration does, and a program
// that says "slow" waits for release.
func (b *backend) Simulate(ctx context.Context, storeID, name string, text []byte) (*report.Simulation, error) {
	b.calls = append(b.calls, fmt.Sprintf("simulate %s %s %q", storeID, name, text))
	if bytes.Contains(text, []byte("points_per_unit: -1")) {
		return nil, &admin.FieldError{Field: "earn.points_per_unit", Msg: name + ":2: earn.points_per_unit: must be above 0, got -1"}
	}
	if bytes.Contains(text, []byte("slow")) {
		close(b.started)
		select {
		case <-b.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	cur, err := emptyReport(storeID, report.Query{})
	if err != nil {
		return nil, err
	}
	cand, _ := emptyReport(storeID, report.Query{})
	return &report.Simulation{Store: storeID, CandidateFile: name, Period: cur.Period, Current: cur, Candidate: cand,
		TierMoves: []report.TierMove{{CustomerID: "42", Candidate: "gold"}},
		TierFlows: []report.TierFlow{{Candidate: "gold", Customers: 1}}}, nil
}

func apiServer(t *testing.T, stores ...string) (*httptest.Server, *backend) {
	t.Helper()
	p := &loyalty.Program{Currency: "USD", TimeZone: "Europe/Tallinn", Earn: loyalty.Earn{PointsPerUnit: loyalty.MustDecimal("1")},
		Rewards: []loyalty.Reward{
			{ID: "five-off", Points: 300, Type: "fixed_amount", Value: loyalty.MustDecimal("5")},
			{ID: "big", Points: 5000, Type: "percentage", Value: loyalty.MustDecimal("20")},
		}}
	p.SetDefaults()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	b := &backend{}
	api := &admin.API{Backend: b, Reports: b, Simulator: b, Program: p, Token: token,
		Now: func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }}
	for _, s := range stores {
		api.Stores = append(api.Stores, admin.StoreRef{ID: s, Platform: "shopify"})
	}
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, b
}

// call sends a request with the admin token (or the given Authorization
// header) and returns the status and the body.
func call(t *testing.T, srv *httptest.Server, method, path, body string, auth ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if path == "/api/simulate" || strings.HasPrefix(path, "/api/simulate?") {
		req.Header.Set("Content-Type", "application/yaml")
	}
	if len(auth) > 0 {
		req.Header.Set("Authorization", auth[0])
	} else {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s %s: Cache-Control %q: customer data must not be cached", method, path, cc)
	}
	return resp.StatusCode, string(b)
}

func TestAPIRefusesWithoutTheToken(t *testing.T) {
	t.Parallel()
	srv, b := apiServer(t, "acme")
	for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer wrong", "Basic " + token, "bearer " + token, "Bearer " + token + "x"} {
		for _, r := range []struct{ method, path, body string }{
			{"GET", "/api/customers/acme/42", ""},
			{"GET", "/api/customers?q=ann", ""},
			{"POST", "/api/customers/acme/42/adjust", `{"points":5,"reason":"x","staff":"dana"}`},
			{"POST", "/api/customers/acme/42/redeem", `{"reward":"five-off","staff":"dana"}`},
			{"POST", "/api/outbox/acme/retry", `{"staff":"dana"}`},
			{"GET", "/api/reports", ""},
			{"POST", "/api/simulate", "currency: USD\n"},
			{"GET", "/api/nowhere", ""},
		} {
			code, body := call(t, srv, r.method, r.path, r.body, auth)
			if code != http.StatusUnauthorized || strings.Contains(body, "ann@") || !strings.Contains(body, "admin token") {
				t.Errorf("%s %s with %q: %d %s", r.method, r.path, auth, code, body)
			}
		}
	}
	if len(b.calls) != 0 {
		t.Errorf("the backend was called without the token: %v", b.calls)
	}
}

func TestAPIWithoutAConfiguredTokenRefusesEverything(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	(&admin.API{Backend: &backend{}, Program: &loyalty.Program{}}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if code, _ := call(t, srv, "GET", "/api/stores", "", "Bearer "); code != http.StatusUnauthorized {
		t.Errorf("an empty token opened the API: %d", code)
	}
}

func TestAPIAnswers(t *testing.T) {
	t.Parallel()
	srv, b := apiServer(t, "acme", "beta")
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     []string
	}{
		{"stores", "GET", "/api/stores", "", 200, []string{`"id": "acme"`, `"id": "beta"`}},
		{"rewards", "GET", "/api/rewards", "", 200, []string{`"id": "five-off"`, `"points": 300`, `"value": "5"`}},
		{"search", "GET", "/api/customers?store=acme&q=ann", "", 200, []string{`"customer_id": "42"`, `"available": 340`}},
		{"customer", "GET", "/api/customers/acme/42", "", 200, []string{`"tier": "gold"`, `"available": 340`, `"LOY-UNUSED2345"`}},
		{"adjust", "POST", "/api/customers/acme/42/adjust", `{"points":-40,"reason":"parcel found","staff":"dana"}`, 200,
			[]string{`"points": -40`, `"actor": "dana"`}},
		{"redeem", "POST", "/api/customers/acme/42/redeem", `{"reward":"five-off","staff":"dana"}`, 200, []string{`"code": "LOY-ABCDEFGH23"`}},
		{"status", "GET", "/api/status", "", 200, []string{`"platform": "shopify"`}},
		{"dead letters", "GET", "/api/outbox/acme/dead", "", 200, []string{`"last_error": "422 Unprocessable Entity"`}},
		{"retry all", "POST", "/api/outbox/acme/retry", `{"staff":"dana"}`, 200, []string{`"retried": 1`}},
		{"retry some", "POST", "/api/outbox/acme/retry", `{"ids":[3,4],"staff":"dana"}`, 200, []string{`"retried": 2`}},

		{"unknown store", "GET", "/api/customers/zeta/42", "", 404, []string{`zeta`, `not found`}},
		{"unknown customer", "GET", "/api/customers/acme/99", "", 404, []string{`acme/99`}},
		{"unknown route", "GET", "/api/nowhere", "", 404, []string{`no such route`}},
		{"wrong method", "GET", "/api/customers/acme/42/adjust", "", 404, nil},
		{"search needs a query", "GET", "/api/customers?store=acme", "", 400, []string{`"field": "q"`}},
		{"search needs a store of several", "GET", "/api/customers?q=ann", "", 400, []string{`"field": "store"`}},
		{"limit out of range", "GET", "/api/customers?store=acme&q=ann&limit=5000", "", 400, []string{`"field": "limit"`, `1 to 200`}},
		{"adjust by 0", "POST", "/api/customers/acme/42/adjust", `{"reason":"x","staff":"dana"}`, 400, []string{`"field": "points"`}},
		{"adjust without reason", "POST", "/api/customers/acme/42/adjust", `{"points":5,"reason":" ","staff":"dana"}`, 400, []string{`"field": "reason"`}},
		{"adjust without staff", "POST", "/api/customers/acme/42/adjust", `{"points":5,"reason":"x"}`, 400, []string{`"field": "staff"`}},
		{"points of the wrong type", "POST", "/api/customers/acme/42/adjust", `{"points":"5","reason":"x","staff":"dana"}`, 400,
			[]string{`"field": "points"`, `int64`}},
		{"a misspelt field", "POST", "/api/customers/acme/42/adjust", `{"point":5,"reason":"x","staff":"dana"}`, 400,
			[]string{`"field": "point"`, `unknown field`}},
		{"not JSON", "POST", "/api/customers/acme/42/adjust", `points=5`, 400, []string{`"field": "body"`}},
		{"taking more than the balance", "POST", "/api/customers/acme/42/adjust", `{"points":-400,"reason":"x","staff":"dana"}`, 409,
			[]string{`balance is negative`}},
		{"unknown reward", "POST", "/api/customers/acme/42/redeem", `{"reward":"ten-off","staff":"dana"}`, 400,
			[]string{`"field": "reward"`, `ten-off`}},
		{"not enough points", "POST", "/api/customers/acme/42/redeem", `{"reward":"big","staff":"dana"}`, 409, []string{`not enough points`}},
		{"retry without staff", "POST", "/api/outbox/acme/retry", `{"ids":[3]}`, 400, []string{`"field": "staff"`}},
	}
	for _, tt := range tests {
		code, body := call(t, srv, tt.method, tt.path, tt.body)
		if code != tt.code {
			t.Errorf("%s: %s %s = %d %s, want %d", tt.name, tt.method, tt.path, code, body, tt.code)
			continue
		}
		if code >= 400 && !json.Valid([]byte(body)) {
			t.Errorf("%s: the error is not JSON: %s", tt.name, body)
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: body lacks %s:\n%s", tt.name, w, body)
			}
		}
	}
	want := []string{
		`search acme "ann" 20`,
		`adjust acme/42 -40 "parcel found" by dana`,
		`redeem acme/42 five-off by dana`,
		`retry acme [] by dana`,
		`retry acme [3 4] by dana`,
		`adjust acme/42 -400 "x" by dana`,
		`redeem acme/42 big by dana`,
	}
	if fmt.Sprint(b.calls) != fmt.Sprint(want) {
		t.Errorf("backend calls:\n%q\nwant\n%q", b.calls, want)
	}
}

func TestAPIDefaultsToTheOnlyStore(t *testing.T) {
	t.Parallel()
	srv, b := apiServer(t, "acme")
	if code, body := call(t, srv, "GET", "/api/customers?q=ann&limit=5", ""); code != 200 {
		t.Fatalf("search in the only store: %d %s", code, body)
	}
	if len(b.calls) != 1 || b.calls[0] != `search acme "ann" 5` {
		t.Errorf("calls = %q", b.calls)
	}
}

func TestAPIHidesInternalErrors(t *testing.T) {
	t.Parallel()
	srv, _ := apiServer(t, "acme")
	code, body := call(t, srv, "GET", "/api/customers?q=boom", "")
	if code != http.StatusInternalServerError || strings.Contains(body, "/var/lib") || !strings.Contains(body, "see the log") {
		t.Errorf("internal error: %d %s", code, body)
	}
}

// TestOpenAPIDescribesEveryRoute keeps openapi.yaml and the routes the
// API serves the same.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(documented)
	served := (&admin.API{}).Routes()
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("openapi.yaml describes\n%s\nthe API serves\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
}

func TestAPIReports(t *testing.T) {
	t.Parallel()
	srv, b := apiServer(t, "acme", "beta")
	tests := []struct {
		name, query string
		code        int
		want        string // in the body
		call        string // the backend's call, if any
	}{
		{"the default period", "store=acme", 200, `"store": "acme"`,
			"report acme 0001-01-01T00:00:00Z..0001-01-01T00:00:00Z pairs 0 support 0"},
		// Whole days in the program's zone (Tallinn: +02:00 in winter,
		// +03:00 from the end of March), the last one included.
		{"days", "store=beta&from=2026-01-01&to=2026-03-31&pairs=5&min_support=0.02", 200, `"store": "beta"`,
			"report beta 2025-12-31T22:00:00Z..2026-03-31T21:00:00Z pairs 5 support 0.02"},
		{"times", "store=acme&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00%2B01:00", 200, `"figures"`,
			"report acme 2026-01-01T00:00:00Z..2026-01-31T23:00:00Z pairs 0 support 0"},
		{"only the end", "store=acme&to=2026-05-31", 200, `"figures"`,
			"report acme 0001-01-01T00:00:00Z..2026-05-31T21:00:00Z pairs 0 support 0"},

		{"not a day", "store=acme&from=May+1st", 400, `"field": "from"`, ""},
		{"not a day either", "store=acme&to=2026-13-01", 400, `"field": "to"`, ""},
		{"the end before the start", "store=acme&from=2026-05-01&to=2026-04-01", 400, `from 2026-05-01 is not before to 2026-04-01`, ""},
		{"a start after now", "store=acme&from=2026-07-01", 400, `2026-07-01 is not before now`, ""},
		{"no pairs", "store=acme&pairs=0", 400, `"field": "pairs"`, ""},
		{"pairs not a number", "store=acme&pairs=ten", 400, `"field": "pairs"`, ""},
		{"support above 1", "store=acme&min_support=2", 400, `"field": "min_support"`, ""},
		{"support of 0", "store=acme&min_support=0", 400, `"field": "min_support"`, ""},
		{"a misspelt parameter", "store=acme&form=2026-01-01", 400, `"field": "form"`, ""},
		{"a store of several", "", 400, `"field": "store"`, ""},
		{"an unknown store", "store=zeta", 404, `zeta`, ""},
	}
	for _, tt := range tests {
		b.calls = nil
		code, body := call(t, srv, "GET", "/api/reports?"+tt.query, "")
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want %d with %s", tt.name, code, body, tt.code, tt.want)
			continue
		}
		if got := strings.Join(b.calls, "; "); got != tt.call {
			t.Errorf("%s: backend calls %q, want %q", tt.name, got, tt.call)
		}
		if code >= 400 && !strings.Contains(body, `"error": "`) {
			t.Errorf("%s: the error has no message: %s", tt.name, body)
		}
	}
}

// TestAPIReportsShape checks that the report comes whole, as `loyaltyd
// report --json` prints it: every figure with its definition and period,
// and every table.
func TestAPIReportsShape(t *testing.T) {
	t.Parallel()
	srv, _ := apiServer(t, "acme")
	code, body := call(t, srv, "GET", "/api/reports?to=2026-05-31", "")
	if code != 200 {
		t.Fatalf("report: %d %s", code, body)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"store", "currency", "program", "period", "generated_at", "figures", "comparison", "tiers", "abc", "rfm", "pairs", "goals", "budget"} {
		if _, ok := got[key]; !ok {
			t.Errorf("the report lacks %q", key)
		}
	}
	var r report.Report
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Figures) == 0 || len(r.Comparison) == 0 {
		t.Fatalf("figures %d, comparisons %d", len(r.Figures), len(r.Comparison))
	}
	for _, f := range r.AllFigures() {
		if f.Key == "" || f.Definition == "" || f.Period.To.IsZero() {
			t.Errorf("figure %+v lacks its key, definition or period", f)
		}
	}
	want, _ := emptyReport("acme", report.Query{To: time.Date(2026, 5, 31, 21, 0, 0, 0, time.UTC)})
	if f, _ := want.Figure("points_issued"); !slices.ContainsFunc(r.Figures, func(g report.Figure) bool {
		return g.Key == f.Key && g.Period.From.Equal(f.Period.From) && g.Period.To.Equal(f.Period.To)
	}) {
		t.Errorf("points_issued over %v is not in the answer", f.Period)
	}
}

// simulate posts a candidate program with a content type.
func simulate(t *testing.T, srv *httptest.Server, query, contentType, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/api/simulate"+query, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("simulate: Content-Type %q", ct)
	}
	return resp.StatusCode, string(b)
}

func TestAPISimulate(t *testing.T) {
	t.Parallel()
	srv, b := apiServer(t, "acme")
	const program = "currency: USD\nearn: {points_per_unit: 2}\n"
	tests := []struct {
		name, query, contentType, body string
		code                           int
		want                           []string
		call                           string
	}{
		{"a program", "", "application/yaml", program, 200,
			[]string{`"candidate_file": "candidate"`, `"current": {`, `"candidate": {`, `"tier_moves": [`, `"candidate": "gold"`},
			`simulate acme candidate "currency: USD\nearn: {points_per_unit: 2}\n"`},
		{"text/yaml with a charset", "?store=acme", "text/yaml; charset=utf-8", program, 200, []string{`"figures"`},
			`simulate acme candidate "currency: USD\nearn: {points_per_unit: 2}\n"`},
		{"a bad program", "", "application/yaml", "currency: USD\nearn: {points_per_unit: -1}\n", 400,
			[]string{`"error": "candidate:2: earn.points_per_unit: must be above 0, got -1"`, `"field": "earn.points_per_unit"`},
			`simulate acme candidate "currency: USD\nearn: {points_per_unit: -1}\n"`},
		{"JSON", "", "application/json", `{"program": "currency: USD"}`, 415, []string{`"field": "Content-Type"`, `application/yaml`}, ""},
		{"no content type", "", "", program, 415, []string{`"field": "Content-Type"`}, ""},
		{"a form", "", "application/x-www-form-urlencoded", program, 415, []string{`"field": "Content-Type"`}, ""},
		{"an empty body", "", "application/yaml", " \n", 400, []string{`"field": "body"`, `empty`}, ""},
		{"too large", "", "application/yaml", "# " + strings.Repeat("x", 300<<10) + "\n" + program, 413,
			[]string{`"field": "body"`, `256 KiB`}, ""},
		{"a parameter it does not read", "?launch=2026-01-01", "application/yaml", program, 400, []string{`"field": "launch"`}, ""},
		{"an unknown store", "?store=zeta", "application/yaml", program, 404, []string{`zeta`}, ""},
	}
	for _, tt := range tests {
		b.calls = nil
		code, body := simulate(t, srv, tt.query, tt.contentType, tt.body)
		if code != tt.code {
			t.Errorf("%s: %d %s, want %d", tt.name, code, body, tt.code)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: body lacks %s:\n%s", tt.name, w, body)
			}
		}
		if got := strings.Join(b.calls, "; "); got != tt.call {
			t.Errorf("%s: backend calls %q, want %q", tt.name, got, tt.call)
		}
	}

	b.calls = nil
	code, body := simulate(t, srv, "", "application/yaml", program)
	var sim report.Simulation
	if err := json.Unmarshal([]byte(body), &sim); code != 200 || err != nil {
		t.Fatalf("simulation: %d %v %s", code, err, body)
	}
	if sim.Current == nil || sim.Candidate == nil || len(sim.Current.Figures) == 0 || len(sim.Candidate.Figures) != len(sim.Current.Figures) {
		t.Errorf("the simulation lacks a side: %s", body)
	}
	if len(sim.TierMoves) != 1 || sim.TierMoves[0] != (report.TierMove{CustomerID: "42", Candidate: "gold"}) || len(sim.TierFlows) != 1 {
		t.Errorf("tier moves %+v, flows %+v", sim.TierMoves, sim.TierFlows)
	}
}

// TestAPISimulatesOneAtATime refuses a second simulation while one runs,
// and takes the next once it has ended.
func TestAPISimulatesOneAtATime(t *testing.T) {
	t.Parallel()
	srv, b := apiServer(t, "acme")
	b.started, b.release = make(chan struct{}), make(chan struct{})
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest("POST", srv.URL+"/api/simulate", strings.NewReader("currency: USD # slow\n"))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/yaml")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-b.started
	if code, body := simulate(t, srv, "", "application/yaml", "currency: USD\n"); code != http.StatusConflict || !strings.Contains(body, "already running") {
		t.Errorf("a second simulation: %d %s", code, body)
	}
	close(b.release)
	if code := <-done; code != 200 {
		t.Errorf("the first simulation: %d", code)
	}
	if code, body := simulate(t, srv, "", "application/yaml", "currency: USD\n"); code != 200 {
		t.Errorf("the next simulation: %d %s", code, body)
	}
}

func TestAPIWithoutReportsOrSimulator(t *testing.T) {
	t.Parallel()
	p := &loyalty.Program{Currency: "USD"}
	p.SetDefaults()
	mux := http.NewServeMux()
	(&admin.API{Backend: &backend{}, Program: p, Token: token, Stores: []admin.StoreRef{{ID: "acme"}}}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if code, body := call(t, srv, "GET", "/api/reports", ""); code != 404 {
		t.Errorf("reports: %d %s", code, body)
	}
	if code, body := simulate(t, srv, "", "application/yaml", "currency: USD\n"); code != 404 {
		t.Errorf("simulate: %d %s", code, body)
	}
}
