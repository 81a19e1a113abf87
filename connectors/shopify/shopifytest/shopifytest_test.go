package shopifytest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors/shopify/shopifytest"
)

var base = time.Date(2025, time.March, 1, 9, 0, 0, 0, time.UTC)

func start(t *testing.T, o shopifytest.Options) *shopifytest.Server {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return base.AddDate(0, 1, 0) }
	}
	s := shopifytest.NewServer(o)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// get sends an authenticated GET to the server.
func get(t *testing.T, s *shopifytest.Server, path string) (*http.Response, []byte) {
	t.Helper()
	return send(t, s, http.DefaultClient, "GET", path, "")
}

func send(t *testing.T, s *shopifytest.Server, c *http.Client, method, path, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Shopify-Access-Token", s.AccessToken())
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func order(i int, state commerce.FinancialState) commerce.Order {
	at := base.Add(time.Duration(i) * time.Minute)
	o := commerce.Order{
		ID: strconv.Itoa(5_000_000_000 + i), Currency: "USD", CreatedAt: at, UpdatedAt: at, State: state,
		Lines: []commerce.LineItem{{ID: "line-" + strconv.Itoa(i), Quantity: 2, Subtotal: commerce.NewMoney(2500, "USD")}},
		Total: commerce.NewMoney(2500, "USD"),
	}
	if state == commerce.StateVoided {
		o.CancelledAt = at
	}
	return o
}

func ids(t *testing.T, body []byte, key string) []string {
	t.Helper()
	var env map[string][]struct {
		ID json.Number `json:"id"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var out []string
	for _, r := range env[key] {
		out = append(out, r.ID.String())
	}
	return out
}

// TestStatusDefaultsToOpen: without status=any, cancelled and closed
// (refunded) orders are left out, as Shopify leaves them out.
func TestStatusDefaultsToOpen(t *testing.T) {
	t.Parallel()
	s := start(t, shopifytest.Options{})
	for i, st := range []commerce.FinancialState{commerce.StatePaid, commerce.StateRefunded, commerce.StateVoided, commerce.StatePending} {
		if err := s.PutOrder(order(i, st)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		query string
		want  int
	}{{"", 2}, {"?status=open", 2}, {"?status=any", 4}, {"?status=cancelled", 1}, {"?status=closed", 2}} {
		resp, body := get(t, s, "/admin/api/2025-07/orders.json"+tc.query)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", tc.query, resp.StatusCode, body)
		}
		if got := len(ids(t, body, "orders")); got != tc.want {
			t.Errorf("orders.json%s: %d orders, want %d", tc.query, got, tc.want)
		}
	}
}

// TestPagination: Link headers lead through the list; a page_info request
// carrying a filter is a 400; a page_info the server never issued is a
// 400; a second page links back.
func TestPagination(t *testing.T) {
	t.Parallel()
	s := start(t, shopifytest.Options{})
	for i := range 5 {
		if err := s.PutOrder(order(i, commerce.StatePaid)); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := get(t, s, "/admin/api/2025-07/orders.json?status=any&limit=2&order=updated_at+asc")
	if got := ids(t, body, "orders"); strings.Join(got, ",") != "5000000000,5000000001" {
		t.Fatalf("first page %v", got)
	}
	link := resp.Header.Get("Link")
	if !strings.Contains(link, `rel="next"`) || strings.Contains(link, `rel="previous"`) {
		t.Fatalf("first page Link %q", link)
	}
	next := between(link, "<", ">")
	u, _ := url.Parse(next)
	if q := u.Query(); len(q) != 2 || q.Get("limit") != "2" || q.Get("page_info") == "" {
		t.Errorf("next URL %s carries more than limit and page_info", next)
	}
	resp, body = get(t, s, u.RequestURI())
	if got := ids(t, body, "orders"); strings.Join(got, ",") != "5000000002,5000000003" {
		t.Errorf("second page %v", got)
	}
	if l := resp.Header.Get("Link"); !strings.Contains(l, `rel="previous"`) || !strings.Contains(l, `rel="next"`) {
		t.Errorf("second page Link %q", l)
	}
	resp, body = get(t, s, u.RequestURI()+"&status=any")
	if resp.StatusCode != 400 || !strings.Contains(string(body), "status cannot be passed when page_info is present") {
		t.Errorf("page_info with status: %d %s", resp.StatusCode, body)
	}
	resp, _ = get(t, s, "/admin/api/2025-07/orders.json?limit=2&page_info=eyJ4IjoxfQ.AAAA")
	if resp.StatusCode != 400 {
		t.Errorf("a forged page_info: %d", resp.StatusCode)
	}
}

func between(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	v, _, _ := strings.Cut(rest, b)
	return v
}

// TestFieldsBreakGoShopify: the fake echoes fields=a,b into the Link
// header with its comma, as Shopify does, and go-shopify v4.7.0's parser,
// which splits the header on commas, fails on it. The connector parses
// Link itself.
func TestFieldsBreakGoShopify(t *testing.T) {
	t.Parallel()
	s := start(t, shopifytest.Options{})
	for i := range 3 {
		if err := s.PutOrder(order(i, commerce.StatePaid)); err != nil {
			t.Fatal(err)
		}
	}
	resp, _ := get(t, s, "/admin/api/2025-07/orders.json?limit=1&fields=id,updated_at")
	if l := resp.Header.Get("Link"); !strings.Contains(l, "fields=id,updated_at") {
		t.Fatalf("Link %q does not echo the fields", l)
	}
	c := goshopify.MustNewClient(goshopify.App{}, "fake", s.AccessToken(), goshopify.WithVersion("2025-07"),
		goshopify.WithHTTPClient(&http.Client{Transport: rewrite{s.URL()}}))
	_, _, err := c.Order.ListWithPagination(context.Background(), goshopify.OrderListOptions{ListOptions: goshopify.ListOptions{Limit: 1, Fields: "id,updated_at"}})
	if err == nil {
		t.Error("go-shopify parsed a Link with fields=id,updated_at: the quirk is gone, or the fake no longer shows it")
	}
}

// rewrite sends requests to the fake instead of https://{shop}.
type rewrite struct{ base string }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	u, _ := url.Parse(r.base)
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = u.Scheme, u.Host
	return http.DefaultTransport.RoundTrip(req)
}

// TestBucket: requests beyond the bucket get 429 with Retry-After and the
// call-limit header, and the bucket leaks at its rate, sped up.
func TestBucket(t *testing.T) {
	t.Parallel()
	s := start(t, shopifytest.Options{BucketSize: 5, LeakRate: 1, TimeScale: 0.001})
	for i := 1; i <= 5; i++ {
		resp, _ := get(t, s, "/admin/api/2025-07/shop.json")
		// The level leaks continuously and the header shows it rounded
		// down, the harder case for a client: i, or i-1 once it leaked.
		got := resp.Header.Get("X-Shopify-Shop-Api-Call-Limit")
		if resp.StatusCode != 200 || (got != strconv.Itoa(i)+"/5" && got != strconv.Itoa(i-1)+"/5") {
			t.Fatalf("request %d: %d, call limit %q, want %d/5 or %d/5", i, resp.StatusCode, got, i, i-1)
		}
	}
	resp, body := get(t, s, "/admin/api/2025-07/shop.json")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2000.0" || resp.Header.Get("X-Shopify-Shop-Api-Call-Limit") != "5/5" {
		t.Errorf("over the bucket: %d, Retry-After %q (2s at 1/1000 speed), limit %q, %s", resp.StatusCode,
			resp.Header.Get("Retry-After"), resp.Header.Get("X-Shopify-Shop-Api-Call-Limit"), body)
	}
	if st := s.Stats(); st.Throttled != 1 || st.REST != 6 {
		t.Errorf("stats %+v", st)
	}
	fast := start(t, shopifytest.Options{BucketSize: 2, LeakRate: 2, TimeScale: 1000, RetryAfter: 500 * time.Millisecond})
	for range 2 {
		get(t, fast, "/admin/api/2025-07/shop.json")
	}
	time.Sleep(5 * time.Millisecond) // 5 platform seconds: the bucket is empty again
	if resp, _ := get(t, fast, "/admin/api/2025-07/shop.json"); resp.StatusCode != 200 {
		t.Errorf("after the bucket leaked: %d", resp.StatusCode)
	}
}

// TestDiscountLookup: a code is found without regard to case through a
// 303 to the code in its price rule, and a duplicate is a 422.
func TestDiscountLookup(t *testing.T) {
	t.Parallel()
	s := start(t, shopifytest.Options{})
	if err := s.PutCustomer(commerce.Customer{ID: "7000000001", UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	resp, body := send(t, s, http.DefaultClient, "POST", "/admin/api/2025-07/price_rules.json",
		`{"price_rule":{"title":"X","value_type":"fixed_amount","value":"-5.00","customer_selection":"prerequisite","prerequisite_customer_ids":[7000000001],"target_type":"line_item","target_selection":"all","allocation_method":"across","starts_at":"2025-03-01T00:00:00Z","usage_limit":1,"once_per_customer":true}}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create the price rule: %d %s", resp.StatusCode, body)
	}
	var rule struct {
		PriceRule struct{ ID json.Number } `json:"price_rule"`
	}
	_ = json.Unmarshal(body, &rule)
	codes := "/admin/api/2025-07/price_rules/" + rule.PriceRule.ID.String() + "/discount_codes.json"
	if resp, body := send(t, s, http.DefaultClient, "POST", codes, `{"discount_code":{"code":"Loyal-5"}}`); resp.StatusCode != 201 {
		t.Fatalf("create the code: %d %s", resp.StatusCode, body)
	}
	if resp, body := send(t, s, http.DefaultClient, "POST", codes, `{"discount_code":{"code":"LOYAL-5"}}`); resp.StatusCode != 422 || !strings.Contains(string(body), `"code":["must be unique`) {
		t.Errorf("a duplicate in another case: %d %s", resp.StatusCode, body)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ = send(t, s, noFollow, "GET", "/admin/api/2025-07/discount_codes/lookup.json?code=loyal-5", "")
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/api/2025-07/price_rules/"+rule.PriceRule.ID.String()+"/discount_codes/") {
		t.Errorf("lookup: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = get(t, s, "/admin/api/2025-07/discount_codes/lookup.json?code=loyal-5")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"code":"Loyal-5"`) {
		t.Errorf("lookup followed: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, s, "/admin/api/2025-07/discount_codes/lookup.json?code=nope"); resp.StatusCode != 404 {
		t.Errorf("an unknown code: %d", resp.StatusCode)
	}
	if n := s.DiscountCreations("LOYAL-5"); n != 1 {
		t.Errorf("DiscountCreations = %d", n)
	}
}

// TestAccessAndVersions: a wrong or revoked token is a 401; an unknown
// version is served by the oldest, which the header says.
func TestAccessAndVersions(t *testing.T) {
	t.Parallel()
	s := start(t, shopifytest.Options{APIVersions: []string{"2025-04", "2025-07"}})
	resp, _ := get(t, s, "/admin/api/2024-01/shop.json")
	if v := resp.Header.Get("X-Shopify-API-Version"); v != "2025-04" {
		t.Errorf("an unsupported version was served as %q, want the oldest", v)
	}
	resp, _ = get(t, s, "/admin/shop.json")
	if v := resp.Header.Get("X-Shopify-API-Version"); v != "2025-04" {
		t.Errorf("no version was served as %q, want the oldest", v)
	}
	s.RevokeAccess()
	if resp, _ := get(t, s, "/admin/api/2025-07/shop.json"); resp.StatusCode != 401 {
		t.Errorf("revoked: %d", resp.StatusCode)
	}
	s.RestoreAccess()
	req, _ := http.NewRequest("GET", s.URL()+"/admin/api/2025-07/shop.json", nil)
	req.Header.Set("X-Shopify-Access-Token", "shpat_wrong")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("a wrong token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestFaults: a dropped connection fails the request, a cut-off answer
// fails reading its body, and a slow answer still comes.
func TestFaults(t *testing.T) {
	t.Parallel()
	s := start(t, shopifytest.Options{TimeScale: 1000})
	do := func() (*http.Response, error) {
		req, _ := http.NewRequest("GET", s.URL()+"/admin/api/2025-07/shop.json", nil)
		req.Header.Set("X-Shopify-Access-Token", s.AccessToken())
		return http.DefaultClient.Do(req)
	}
	s.InjectFault(shopifytest.OpShop, 1, shopifytest.Fault{Drop: true})
	if resp, err := do(); err == nil {
		resp.Body.Close()
		t.Error("a dropped connection answered")
	}
	s.InjectFault(shopifytest.OpAny, 1, shopifytest.Fault{AfterWrite: true})
	resp, err := do()
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading a cut-off answer: %v, want unexpected EOF", err)
	}
	s.InjectFault(shopifytest.OpShop, 1, shopifytest.Fault{Delay: time.Second, Status: 503, RetryAfter: time.Second})
	resp, err = do()
	if err != nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "0.001" {
		t.Errorf("a slow 503: %v, %v", resp, err)
	}
	resp.Body.Close()
	if resp, err := do(); err != nil || resp.StatusCode != 200 {
		t.Errorf("after the faults: %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestPutOrderRefuses what Shopify cannot hold.
func TestPutOrderRefuses(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewServer(shopifytest.Options{})
	odd := order(1, commerce.StatePaid)
	odd.Lines[0].Quantity = 3
	noID := order(2, commerce.StatePaid)
	noID.ID = "A-1"
	for name, o := range map[string]commerce.Order{"indivisible subtotal": odd, "id not a number": noID} {
		if err := s.PutOrder(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := s.PutCustomer(commerce.Customer{ID: "guest:ann@example.com"}); err == nil {
		t.Error("a customer id that is not a number: no error")
	}
	if err := s.PutOrderJSON([]byte(`{"id": 1}`)); err == nil {
		t.Error("an order without updated_at: no error")
	}
}

// TestWebhookSigned: a delivery is signed over its exact bytes with the
// API secret and carries Shopify's headers.
func TestWebhookSigned(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewServer(shopifytest.Options{APISecret: "hush"})
	if err := s.PutOrder(order(1, commerce.StatePaid)); err != nil {
		t.Fatal(err)
	}
	h, body, err := s.Webhook("orders/updated", "5000000001")
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("X-Shopify-Hmac-Sha256"); got != shopifytest.SignWith("hush", body) {
		t.Errorf("signature %q does not sign the body", got)
	}
	for _, k := range []string{"X-Shopify-Topic", "X-Shopify-Event-Id", "X-Shopify-Webhook-Id", "X-Shopify-Triggered-At", "X-Shopify-Shop-Domain", "X-Shopify-API-Version"} {
		if h.Get(k) == "" {
			t.Errorf("no %s", k)
		}
	}
	if got := shopifytest.SignWith("hush", []byte(`"my secret message"`)); got != "hMTq0K2x7oyOjoBwGYeTj5oxfnaVYXzbanUG9aajpKI=" {
		t.Errorf("SignWith of the known vector = %s", got)
	}
	h2, _, _ := s.Webhook("orders/updated", "5000000001")
	if h2.Get("X-Shopify-Event-Id") == h.Get("X-Shopify-Event-Id") {
		t.Error("two events share an event id")
	}
	if _, _, err := s.Webhook("refunds/create", "5000000001"); err == nil {
		t.Error("refunds/create of an order without refunds: no error")
	}
}

// TestSettings: the settings open a connector's worth of keys, with the
// leak rate scaled.
func TestSettings(t *testing.T) {
	t.Parallel()
	s := start(t, shopifytest.Options{Shop: "demo", TimeScale: 50})
	got := s.Settings()
	if got["shop"] != "demo.myshopify.com" || got["base_url"] != s.URL() || got["leak_rate"] != 100.0 || got["access_token"] != s.AccessToken() {
		t.Errorf("Settings() = %v", got)
	}
}
