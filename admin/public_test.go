package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/admin"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/shopify"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
)

var now = time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)

type customers map[string]*report.CustomerView

func (c customers) Customer(_ context.Context, storeID, id string) (*report.CustomerView, error) {
	if v, ok := c[storeID+"/"+id]; ok {
		return v, nil
	}
	return nil, errors.New("no such customer")
}

func ann() *report.CustomerView {
	return &report.CustomerView{Store: "acme", CustomerID: "42", Email: "ann@example.com", Enrolled: true, Tier: "gold",
		NextTierNeeds: "120.00 USD to platinum", Points: loyalty.Balance{Available: 340, Pending: 56}, ReferralCode: "REF-ABCDEFGHJK",
		Rewards: []report.RewardLine{{Reward: "five-off", Code: "LOY-UNUSED2345", Status: "created"}, {Reward: "five-off", Code: "LOY-USEDCODE23", Status: "used"}},
		Ledger:  []report.LedgerLine{{Time: now, Points: 84, Kind: "earn", Reason: "Order #1042: 84.50 USD × 1 pt = 84 pts"}}}
}

func TestLinks(t *testing.T) {
	t.Parallel()
	l := &admin.Links{Secret: []byte("0123456789abcdef"), BaseURL: "https://loyalty.example/"}
	tok := l.Token("acme", "42", now.Add(time.Hour))
	if s, c, err := l.Verify(tok, now); err != nil || s != "acme" || c != "42" {
		t.Fatalf("Verify = %q %q %v", s, c, err)
	}
	bad := []string{
		"",
		tok[:len(tok)-2] + "AA",
		(&admin.Links{Secret: []byte("0123456789abcdef")}).Token("acme", "43", now.Add(time.Hour))[:20] + tok[20:],
		(&admin.Links{Secret: []byte("another secret!!")}).Token("acme", "42", now.Add(time.Hour)),
	}
	for _, b := range bad {
		if _, _, err := l.Verify(b, now); !errors.Is(err, admin.ErrBadLink) {
			t.Errorf("Verify(%q) = %v, want ErrBadLink", b, err)
		}
	}
	if _, _, err := l.Verify(tok, now.Add(time.Hour)); !errors.Is(err, admin.ErrBadLink) {
		t.Errorf("an expired link passed: %v", err)
	}
	// The link written to a customer's record stays the same within a
	// quarter and is valid for at least three months.
	u1, u2 := l.URL("acme", "42", now), l.URL("acme", "42", now.AddDate(0, 0, 20))
	if u1 != u2 || !strings.HasPrefix(u1, "https://loyalty.example/me/") {
		t.Errorf("links %q and %q", u1, u2)
	}
	if _, _, err := l.Verify(strings.TrimPrefix(u1, "https://loyalty.example/me/"), now.AddDate(0, 3, 0)); err != nil {
		t.Errorf("a link died within three months: %v", err)
	}
}

func public(t *testing.T) (*admin.Public, *http.ServeMux) {
	t.Helper()
	conn, err := connectors.Open(context.Background(), "shopify", connectors.Options{StoreID: "acme", Now: func() time.Time { return now },
		Decode: func(v any) error {
			o := v.(*shopify.Options)
			o.Shop, o.AccessToken, o.APISecret = "acme", "shpat_x", "hush"
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	p := &admin.Public{Customers: customers{"acme/42": ann()}, ProgramName: "Acme Club",
		Proxies: map[string]connectors.ProxyVerifier{"acme": conn.(connectors.ProxyVerifier)},
		Links:   &admin.Links{Secret: []byte("0123456789abcdef"), BaseURL: "https://loyalty.example"}, Now: func() time.Time { return now }}
	mux := http.NewServeMux()
	p.Register(mux)
	return p, mux
}

func get(mux *http.ServeMux, target string, h http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range h {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func signedProxy(q url.Values) string {
	q.Set("signature", shopify.ProxySignature("hush", q))
	return "/proxy/loyalty?" + q.Encode()
}

func TestAppProxy(t *testing.T) {
	t.Parallel()
	_, mux := public(t)
	q := url.Values{"shop": {"acme.myshopify.com"}, "path_prefix": {"/apps/loyalty"}, "timestamp": {strconv.FormatInt(now.Unix(), 10)},
		"logged_in_customer_id": {"42"}}
	rec := get(mux, signedProxy(q), nil)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "<strong>340</strong> points") || !strings.Contains(body, "LOY-UNUSED2345") ||
		strings.Contains(body, "LOY-USEDCODE23") || !strings.Contains(body, "REF-ABCDEFGHJK") || strings.Contains(body, "ann@example.com") {
		t.Errorf("proxy page %d:\n%s", rec.Code, body)
	}
	// The proxy signs every query parameter, so a theme asks for JSON with
	// the Accept header.
	rec = get(mux, signedProxy(q), http.Header{"Accept": {"application/json"}})
	var j struct {
		Member bool            `json:"member"`
		Points loyalty.Balance `json:"points"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &j) != nil || !j.Member || j.Points.Available != 340 {
		t.Errorf("proxy JSON %d %s", rec.Code, rec.Body.String())
	}
	// Nobody logged in: nothing about anybody.
	out := url.Values{"shop": {"acme.myshopify.com"}, "timestamp": {strconv.FormatInt(now.Unix(), 10)}}
	if rec := get(mux, signedProxy(out), nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), "Sign in") {
		t.Errorf("signed out: %d %s", rec.Code, rec.Body.String())
	}
	// Unsigned, forged, or another customer id after signing: refused.
	forged := signedProxy(q) + "&logged_in_customer_id=43"
	for _, target := range []string{"/proxy/loyalty?shop=acme.myshopify.com&logged_in_customer_id=42", forged} {
		if rec := get(mux, target, nil); rec.Code != http.StatusUnauthorized || strings.Contains(rec.Body.String(), "340") {
			t.Errorf("%s: %d %s", target, rec.Code, rec.Body.String())
		}
	}
	old := url.Values{"shop": {"acme.myshopify.com"}, "timestamp": {strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)}, "logged_in_customer_id": {"42"}}
	if rec := get(mux, signedProxy(old), nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("an hour-old signature: %d", rec.Code)
	}
}

func TestBalanceLink(t *testing.T) {
	t.Parallel()
	p, mux := public(t)
	tok := p.Links.Token("acme", "42", now.Add(time.Hour))
	rec := get(mux, "/me/"+tok, nil)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "<title>Acme Club</title>") || !strings.Contains(body, "Order #1042") ||
		!strings.Contains(body, "gold") || strings.Contains(body, "ann@example.com") {
		t.Errorf("link page %d:\n%s", rec.Code, body)
	}
	if rec := get(mux, "/me/"+tok, http.Header{"Accept": {"application/json"}}); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"available": 340`) {
		t.Errorf("link JSON %d %s", rec.Code, rec.Body.String())
	}
	for _, bad := range []string{"/me/nonsense", "/me/" + p.Links.Token("acme", "42", now.Add(-time.Second)), "/me/" + tok + "x"} {
		if rec := get(mux, bad, nil); rec.Code != http.StatusUnauthorized || strings.Contains(rec.Body.String(), "340") {
			t.Errorf("%s: %d", bad, rec.Code)
		}
	}
	// A valid link for a customer the store does not know shows nothing.
	if rec := get(mux, "/me/"+p.Links.Token("acme", "99", now.Add(time.Hour)), nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), "not open to your account") {
		t.Errorf("unknown customer: %d %s", rec.Code, rec.Body.String())
	}
}
