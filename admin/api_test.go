package admin_test

import (
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

func apiServer(t *testing.T, stores ...string) (*httptest.Server, *backend) {
	t.Helper()
	p := &loyalty.Program{Currency: "USD", Earn: loyalty.Earn{PointsPerUnit: loyalty.MustDecimal("1")},
		Rewards: []loyalty.Reward{
			{ID: "five-off", Points: 300, Type: "fixed_amount", Value: loyalty.MustDecimal("5")},
			{ID: "big", Points: 5000, Type: "percentage", Value: loyalty.MustDecimal("20")},
		}}
	p.SetDefaults()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	b := &backend{}
	api := &admin.API{Backend: b, Program: p, Token: token}
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
