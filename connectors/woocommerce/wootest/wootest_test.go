package wootest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors/woocommerce/wootest"
)

var t0 = time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)

// call makes a request with Basic auth over the fake's TLS; in is the
// query (url.Values) or the JSON body.
func call(t *testing.T, srv *wootest.Server, method, path string, in any, _ any) (int, http.Header, []byte) {
	t.Helper()
	q, _ := in.(url.Values)
	var body any
	if q == nil {
		body = in
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	u := srv.URL + "/wp-json/wc/v3/" + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(srv.ConsumerKey(), srv.ConsumerSecret())
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func code(b []byte) string {
	var e struct {
		Code string `json:"code"`
	}
	json.Unmarshal(b, &e)
	return e.Code
}

func ids(t *testing.T, b []byte) []int64 {
	t.Helper()
	var list []struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	var out []int64
	for _, x := range list {
		out = append(out, x.ID)
	}
	return out
}

func newTLS(t *testing.T) *wootest.Server {
	srv := wootest.NewServer(wootest.Options{TLS: true, Now: func() time.Time { return t0.Add(time.Hour) }})
	t.Cleanup(srv.Close)
	return srv
}

func TestPaging(t *testing.T) {
	t.Parallel()
	srv := newTLS(t)
	for i := range 5 {
		srv.PutOrder(wootest.Order{ID: int64(10 + i), Status: "processing", Currency: "USD", Total: "1.00", Modified: t0})
		srv.PutCustomer(wootest.Customer{ID: int64(20 + i), Email: "c" + strconv.Itoa(i) + "@example.com"})
	}
	if st, _, b := call(t, srv, "GET", "orders", url.Values{"per_page": {"101"}}, nil); st != 400 || code(b) != "rest_invalid_param" {
		t.Errorf("per_page=101: %d %s, want 400 rest_invalid_param", st, b)
	}
	st, h, b := call(t, srv, "GET", "orders", url.Values{"per_page": {"2"}, "page": {"2"}, "orderby": {"modified"}, "order": {"desc"}}, nil)
	if st != 200 || h.Get("X-WP-Total") != "5" || h.Get("X-WP-TotalPages") != "3" {
		t.Errorf("page 2: %d, totals %s/%s, want 200 5/3", st, h.Get("X-WP-Total"), h.Get("X-WP-TotalPages"))
	}
	// Equal seconds come back by ascending id, whatever the direction.
	if got := ids(t, b); len(got) != 2 || got[0] != 12 || got[1] != 13 {
		t.Errorf("page 2 of equal seconds, desc: %v, want [12 13]", got)
	}
	if !strings.Contains(h.Get("Link"), `rel="next"`) || !strings.Contains(h.Get("Link"), `rel="prev"`) {
		t.Errorf("Link = %q, want next and prev", h.Get("Link"))
	}
	_, h, b = call(t, srv, "GET", "orders", url.Values{"per_page": {"2"}, "page": {"9"}}, nil)
	if string(b) != "[]" || h.Get("X-WP-Total") != "0" {
		t.Errorf("orders past the end: %s with X-WP-Total %s, want [] and 0", b, h.Get("X-WP-Total"))
	}
	_, h, b = call(t, srv, "GET", "customers", url.Values{"per_page": {"2"}, "page": {"9"}}, nil)
	if string(b) != "[]" || h.Get("X-WP-Total") != "5" {
		t.Errorf("customers past the end: %s with X-WP-Total %s, want [] and the real 5", b, h.Get("X-WP-Total"))
	}
	_, _, b = call(t, srv, "GET", "orders", url.Values{"_fields": {"id,date_modified_gmt"}, "per_page": {"1"}}, nil)
	var one []map[string]any
	json.Unmarshal(b, &one)
	if len(one) != 1 || len(one[0]) != 2 {
		t.Errorf("_fields=id,date_modified_gmt: %s", b)
	}
}

// TestPagingSeesChanges: the pages of a listing come from the orders as
// they are when each page is asked for, as on a real store, so that an
// order changed between two pages moves in the listing.
func TestPagingSeesChanges(t *testing.T) {
	t.Parallel()
	srv := newTLS(t)
	for i := range 3 {
		srv.PutOrder(wootest.Order{ID: int64(10 + i), Status: "processing", Currency: "USD", Total: "1.00", Modified: t0.Add(time.Duration(i) * time.Minute)})
	}
	page := func(n int) []int64 {
		t.Helper()
		q := url.Values{"per_page": {"2"}, "page": {strconv.Itoa(n)}, "orderby": {"modified"}, "order": {"asc"}}
		_, _, b := call(t, srv, "GET", "orders", q, nil)
		return ids(t, b)
	}
	if got := page(1); len(got) != 2 || got[0] != 10 || got[1] != 11 {
		t.Fatalf("page 1: %v, want [10 11]", got)
	}
	srv.PutOrder(wootest.Order{ID: 10, Status: "processing", Currency: "USD", Total: "2.00", Modified: t0.Add(time.Hour)})
	if got := page(2); len(got) != 1 || got[0] != 10 {
		t.Errorf("page 2 after order 10 changed: %v, want [10]", got)
	}
	srv.TrashOrder(12)
	if got := page(1); len(got) != 2 || got[0] != 11 || got[1] != 10 {
		t.Errorf("page 1 after order 12 went to the trash: %v, want [11 10]", got)
	}
}

// TestListingByModified: a listing bounded by GMT modification times is
// answered from the orders kept sorted by modification time; it holds the
// same orders in the same order, page after page, as the same listing
// filtered from every order (by site time, which is GMT on this site).
func TestListingByModified(t *testing.T) {
	t.Parallel()
	srv := wootest.NewServer(wootest.Options{TLS: true, TimeZone: time.UTC, Now: func() time.Time { return t0.Add(time.Hour) }})
	t.Cleanup(srv.Close)
	for i := range 60 {
		// Orders share seconds, and ids do not follow times.
		status := "processing"
		if i%7 == 0 {
			status = "trash"
		}
		srv.PutOrder(wootest.Order{ID: int64(1000 - i*13%997), Status: status, Currency: "USD", Total: "1.00",
			Modified: t0.Add(time.Duration(i*37%20) * time.Second).Add(time.Duration(i) * time.Millisecond)})
	}
	list := func(gmt bool, after, before string, page int) ([]int64, string) {
		t.Helper()
		q := url.Values{"orderby": {"modified"}, "order": {"asc"}, "per_page": {"7"}, "page": {strconv.Itoa(page)},
			"dates_are_gmt": {strconv.FormatBool(gmt)}, "modified_after": {after}}
		if before != "" {
			q.Set("modified_before", before)
		}
		_, h, b := call(t, srv, "GET", "orders", q, nil)
		return ids(t, b), h.Get("X-WP-Total")
	}
	at := func(s int) string { return t0.Add(time.Duration(s) * time.Second).Format("2006-01-02T15:04:05") }
	for _, w := range []struct{ after, before string }{{at(-1), ""}, {at(3), ""}, {at(5), at(12)}, {at(19), ""}, {at(8), at(8)}} {
		for page := 1; page <= 9; page++ {
			got, gotTotal := list(true, w.after, w.before, page)
			want, wantTotal := list(false, w.after, w.before, page)
			if !slices.Equal(got, want) || gotTotal != wantTotal {
				t.Errorf("after %s before %q page %d: %v (of %s), want %v (of %s)", w.after, w.before, page, got, gotTotal, want, wantTotal)
			}
		}
	}
}

func TestDates(t *testing.T) {
	t.Parallel()
	srv := newTLS(t)                                                                                       // site zone UTC+2
	srv.PutOrder(wootest.Order{ID: 1, Status: "processing", Currency: "USD", Total: "1.00", Modified: t0}) // 10:30 GMT
	list := func(q url.Values) (int, []int64) {
		st, _, b := call(t, srv, "GET", "orders", q, nil)
		if st != 200 {
			return st, nil
		}
		return st, ids(t, b)
	}
	for _, tc := range []struct {
		after, gmt string
		status     int
		found      bool
	}{
		{"2026-03-01T10:00:00", "true", 200, true},
		{"2026-03-01T10:30:00", "true", 200, false}, // exclusive
		{"2026-03-01T10:29:59.900", "true", 200, true},
		{"2026-03-01T10:00:00Z", "true", 200, false}, // shifted to 12:00
		{"2026-03-01T10:00:00+00:00", "1", 200, false},
		{"2026-03-01T12:00:00", "false", 200, true}, // site time 12:30
		{"2026-03-01T12:30:00", "", 200, false},
		{"2026-03-01T10:00:00", "yes", 400, false},
		{"2026-03-01", "true", 400, false},
	} {
		st, got := list(url.Values{"modified_after": {tc.after}, "dates_are_gmt": {tc.gmt}})
		if st != tc.status || (len(got) == 1) != tc.found {
			t.Errorf("modified_after=%s dates_are_gmt=%s: %d %v, want %d found=%t", tc.after, tc.gmt, st, got, tc.status, tc.found)
		}
	}
	_, _, b := call(t, srv, "GET", "orders/1", nil, nil)
	var o map[string]any
	json.Unmarshal(b, &o)
	if o["date_modified_gmt"] != "2026-03-01T10:30:00" || o["date_modified"] != "2026-03-01T12:30:00" {
		t.Errorf("dates %v / %v, want GMT and site time without a zone", o["date_modified_gmt"], o["date_modified"])
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	plain := wootest.NewServer(wootest.Options{Now: func() time.Time { return time.Unix(1772445600, 0) },
		ConsumerKey: "ck_7f0b8a", ConsumerSecret: "cs_4e2d", SiteURL: "http://shop.example:8080"})
	defer plain.Close()
	get := func(srv *wootest.Server, rawQuery string, basic bool) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/wp-json/wc/v3/orders?"+rawQuery, nil)
		if basic {
			req.SetBasicAuth(srv.ConsumerKey(), srv.ConsumerSecret())
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var e struct{ Code, Message string }
		json.Unmarshal(b, &e)
		return resp.StatusCode, e.Code + ": " + e.Message
	}
	if st, msg := get(plain, "", true); st != 401 || !strings.HasPrefix(msg, "woocommerce_rest_cannot_view") {
		t.Errorf("Basic over plain HTTP: %d %s, want 401 woocommerce_rest_cannot_view", st, msg)
	}
	if st, _ := get(plain, "consumer_key=ck_7f0b8a&consumer_secret=cs_4e2d", false); st != 401 {
		t.Errorf("query keys over plain HTTP: %d, want 401", st)
	}
	// The vector of the connector's TestOAuthSignatureVectors, derived by
	// hand and signed with OpenSSL, against the site URL WordPress knows.
	vector := "per_page=100&modified_after=2026-03-02T10%3A00%3A00&dates_are_gmt=true&oauth_consumer_key=ck_7f0b8a" +
		"&oauth_nonce=3c9d&oauth_signature_method=HMAC-SHA256&oauth_timestamp=1772445600"
	sig := "&oauth_signature=" + url.QueryEscape("SD3FcghYfFeNRk/yjn5e+d3bww3e4U+Ac7r00yP5wb8=")
	if st, msg := get(plain, vector+sig, false); st != 200 {
		t.Errorf("the hand-made OAuth vector: %d %s, want 200", st, msg)
	}
	if st, msg := get(plain, vector+sig, false); st != 401 || !strings.Contains(msg, "nonce") {
		t.Errorf("the vector replayed: %d %s, want 401 about the nonce", st, msg)
	}
	if st, msg := get(plain, strings.Replace(vector, "3c9d", "3c9e", 1)+sig, false); st != 401 || !strings.Contains(msg, "signature") {
		t.Errorf("a changed nonce under the old signature: %d %s, want 401 about the signature", st, msg)
	}
	late := wootest.NewServer(wootest.Options{Now: func() time.Time { return time.Unix(1772445600+16*60, 0) },
		ConsumerKey: "ck_7f0b8a", ConsumerSecret: "cs_4e2d", SiteURL: "http://shop.example:8080"})
	defer late.Close()
	if st, msg := get(late, vector+sig, false); st != 401 || !strings.Contains(msg, "timestamp") {
		t.Errorf("a 16-minute-old timestamp: %d %s, want 401 about the timestamp", st, msg)
	}
	tls := wootest.NewServer(wootest.Options{TLS: true})
	defer tls.Close()
	if st, msg := get(tls, "", true); st != 200 {
		t.Errorf("Basic over HTTPS: %d %s", st, msg)
	}
	hidden := wootest.NewServer(wootest.Options{TLS: true, ProxyHidesHTTPS: true})
	defer hidden.Close()
	if st, _ := get(hidden, "", true); st != 401 {
		t.Errorf("Basic behind a proxy that hides HTTPS: %d, want 401", st)
	}
	tls.RevokeAccess()
	if st, msg := get(tls, "", true); st != 401 || !strings.HasPrefix(msg, "woocommerce_rest_cannot_view") {
		t.Errorf("a revoked key over HTTPS: %d %s, want the same 401 as any unknown key", st, msg)
	}
}

func TestCoupons(t *testing.T) {
	t.Parallel()
	srv := newTLS(t)
	st, _, b := call(t, srv, "POST", "coupons", map[string]any{"code": " Summer-10 ", "amount": "10", "discount_type": "percent",
		"date_expires_gmt": "2026-12-31T23:59:59"}, nil)
	if st != 201 {
		t.Fatalf("create: %d %s", st, b)
	}
	var cp map[string]any
	json.Unmarshal(b, &cp)
	if cp["code"] != "summer-10" || cp["date_expires"] != nil || cp["date_expires_gmt"] != nil {
		t.Errorf("created %v: want the code lower-cased and trimmed, and date_expires_gmt ignored", cp)
	}
	st, _, b = call(t, srv, "POST", "coupons", map[string]any{"code": "SUMMER-10"}, nil)
	if want := `{"code":"woocommerce_rest_coupon_code_already_exists","data":{"status":400},"message":"The coupon code already exists"}`; st != 400 || string(b) != want {
		t.Errorf("duplicate: %d %s, want 400 %s", st, b, want)
	}
	_, _, b = call(t, srv, "GET", "coupons", url.Values{"code": {"SUMMER-10"}}, nil)
	if len(ids(t, b)) != 1 {
		t.Errorf("GET ?code=SUMMER-10: %s, want the coupon", b)
	}
	_, _, b = call(t, srv, "GET", "coupons", url.Values{"code": {"summer"}}, nil)
	if len(ids(t, b)) != 0 {
		t.Errorf("GET ?code=summer: %s, want nothing (exact match)", b)
	}
	for zone, want := range map[string]string{"Z": "2026-12-31T23:59:59", "": "2026-12-31T21:59:59"} {
		_, _, b = call(t, srv, "POST", "coupons", map[string]any{"code": "exp" + zone, "date_expires": "2026-12-31T23:59:59" + zone}, nil)
		json.Unmarshal(b, &cp)
		if cp["date_expires_gmt"] != want {
			t.Errorf("date_expires with zone %q: GMT %v, want %s", zone, cp["date_expires_gmt"], want)
		}
	}
	if st, _, b := call(t, srv, "POST", "coupons", map[string]any{"code": " "}, nil); st != 400 || code(b) != "woocommerce_rest_empty_coupon_code" {
		t.Errorf("empty code: %d %s", st, b)
	}
	if n := srv.CouponCreations("SUMMER-10"); n != 1 {
		t.Errorf("CouponCreations = %d, want 1", n)
	}
	items := make([]map[string]any, 101)
	for i := range items {
		items[i] = map[string]any{"code": "b" + strconv.Itoa(i)}
	}
	if st, _, b := call(t, srv, "POST", "coupons/batch", map[string]any{"create": items}, nil); st != 413 || code(b) != "woocommerce_rest_request_entity_too_large" {
		t.Errorf("a batch of 101: %d %s, want 413", st, b)
	}
	if st, _, _ := call(t, srv, "POST", "coupons/batch", map[string]any{"create": items[:100]}, nil); st != 200 {
		t.Errorf("a batch of 100: %d, want 200", st)
	}
}

func TestCustomerMeta(t *testing.T) {
	t.Parallel()
	srv := newTLS(t)
	srv.PutCustomer(wootest.Customer{ID: 5, Email: "a@example.com", Meta: []wootest.Meta{{ID: 900, Key: "keep", Value: "k"}, {ID: 901, Key: "gone", Value: "g"}}})
	st, _, b := call(t, srv, "PUT", "customers/5", map[string]any{"meta_data": []any{
		map[string]any{"key": "_secret", "value": "x"},
		map[string]any{"key": "points", "value": 340},
		map[string]any{"key": "keep", "value": "k2"},
		map[string]any{"key": "gone", "value": nil},
	}}, nil)
	if st != 200 {
		t.Fatalf("PUT: %d %s", st, b)
	}
	var c struct {
		Meta []struct {
			ID    int64  `json:"id"`
			Key   string `json:"key"`
			Value any    `json:"value"`
		} `json:"meta_data"`
	}
	json.Unmarshal(b, &c)
	got := map[string]any{}
	for _, m := range c.Meta {
		got[m.Key] = m.Value
		if m.Key == "keep" && m.ID != 900 {
			t.Errorf("keep changed id %d → %d", 900, m.ID)
		}
	}
	if len(got) != 2 || got["keep"] != "k2" || got["points"] != "340" {
		t.Errorf("meta %v: want keep=k2 (same id), points=\"340\" (a string), _secret dropped, gone deleted", got)
	}
	if st, _, b := call(t, srv, "PUT", "customers/6", map[string]any{}, nil); st != 400 || code(b) != "woocommerce_rest_invalid_id" {
		t.Errorf("PUT to an unknown customer: %d %s", st, b)
	}
	if st, _, b := call(t, srv, "GET", "customers/6", nil, nil); st != 404 || code(b) != "woocommerce_rest_invalid_id" {
		t.Errorf("GET an unknown customer: %d %s", st, b)
	}
	_, _, b = call(t, srv, "GET", "customers", url.Values{"modified_after": {"2030-01-01T00:00:00"}}, nil)
	if len(ids(t, b)) != 1 {
		t.Errorf("modified_after on customers: %s; want it silently ignored", b)
	}
}

func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	var mu stdsync.Mutex
	var got []*http.Request
	var bodies [][]byte
	status := http.StatusOK
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got, bodies = append(got, r), append(bodies, b)
		w.WriteHeader(status)
	}))
	defer recv.Close()
	srv := newTLS(t)
	st, _, b := call(t, srv, "POST", "webhooks", map[string]any{"topic": "order.updated", "delivery_url": recv.URL, "secret": "s3cret"}, nil)
	if st != 201 {
		t.Fatalf("create: %d %s", st, b)
	}
	hook := ids(t, []byte("["+string(b)+"]"))[0]
	mu.Lock()
	if len(got) != 1 || string(bodies[0]) != "webhook_id="+strconv.FormatInt(hook, 10) || got[0].Header.Get("X-WC-Webhook-Signature") != "" ||
		got[0].Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("ping: %d requests, body %q, want one unsigned form webhook_id=%d", len(got), bodies, hook)
	}
	got, bodies = nil, nil
	mu.Unlock()
	srv.PutOrder(wootest.Order{ID: 70, Status: "processing", Currency: "EUR", Total: "1.00", Billing: wootest.Address{FirstName: "Zoë", Email: "z@example.com"}})
	srv.PutOrder(wootest.Order{ID: 70, Status: "completed", Currency: "EUR", Total: "1.00", Billing: wootest.Address{FirstName: "Zoë", Email: "z@example.com"}})
	res := srv.DeliverPending(t.Context())
	mu.Lock()
	if len(res) != 1 || len(got) != 1 {
		t.Fatalf("deliveries %v, want one: two changes before delivery are coalesced", res)
	}
	body, h := bodies[0], got[0].Header
	mu.Unlock()
	if h.Get("X-WC-Webhook-Signature") != wootest.Sign("s3cret", body) || h.Get("X-WC-Webhook-Topic") != "order.updated" ||
		h.Get("X-WC-Webhook-ID") != strconv.FormatInt(hook, 10) || h.Get("X-WC-Webhook-Delivery-ID") == "" {
		t.Errorf("headers %v", h)
	}
	if !bytes.Contains(body, []byte(`Zo\u00eb`)) || !bytes.Contains(body, []byte(`\/`)) || !bytes.Contains(body, []byte(`"completed"`)) {
		t.Errorf("body %s: want PHP escapes and the state at delivery time", body)
	}
	mu.Lock()
	status = http.StatusInternalServerError
	mu.Unlock()
	for i := range 7 {
		srv.PutOrder(wootest.Order{ID: int64(80 + i), Status: "pending", Currency: "EUR", Total: "1.00"})
	}
	srv.DeliverPending(t.Context())
	w := srv.Webhooks()[0]
	if w.Status != "disabled" {
		t.Errorf("after 7 failures: %s with %d failures, want disabled", w.Status, w.FailureCount)
	}
	call(t, srv, "PUT", "webhooks/"+strconv.FormatInt(hook, 10), map[string]any{"status": "active"}, nil)
	srv.PutOrder(wootest.Order{ID: 99, Status: "pending", Currency: "EUR", Total: "1.00"})
	srv.DeliverPending(t.Context())
	if w := srv.Webhooks()[0]; w.Status != "disabled" {
		t.Errorf("one failure after re-activation: %s, want disabled again (the count is not reset)", w.Status)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	srv := newTLS(t)
	srv.PutCustomer(wootest.Customer{ID: 5, Email: "a@example.com"})
	srv.InjectFault(wootest.RouteUpdateCustomer, 1, wootest.Fault{AfterWork: true})
	req, _ := http.NewRequestWithContext(t.Context(), "PUT", srv.URL+"/wp-json/wc/v3/customers/5", strings.NewReader(`{"first_name":"Ann"}`))
	req.SetBasicAuth(srv.ConsumerKey(), srv.ConsumerSecret())
	resp, err := srv.Client().Do(req)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("an answer cut off after the work read whole")
	}
	if c, _ := srv.Customer(5); c.FirstName != "Ann" {
		t.Errorf("the work was not done: %+v", c)
	}
	srv.InjectFault(wootest.RouteListOrders, 1, wootest.Fault{Drop: true})
	req, _ = http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/wp-json/wc/v3/orders", nil)
	if _, err := srv.Client().Do(req); err == nil {
		t.Error("a dropped connection answered")
	}
	srv.InjectFault(wootest.RouteListOrders, 1, wootest.Fault{Status: 429, RetryAfter: "7"})
	st, h, _ := call(t, srv, "GET", "orders", nil, nil)
	if st != 429 || h.Get("Retry-After") != "7" {
		t.Errorf("429 fault: %d, Retry-After %q", st, h.Get("Retry-After"))
	}
	if st, _, _ := call(t, srv, "GET", "orders", nil, nil); st != 200 {
		t.Errorf("after the faults: %d", st)
	}
}

func TestFromCommerceErrors(t *testing.T) {
	t.Parallel()
	if _, err := wootest.CustomerFromCommerce(commerce.Customer{ID: "1", Guest: true}, "loyalty_tags"); err == nil || !strings.Contains(err.Error(), "guest") {
		t.Errorf("a guest: %v, want an error saying guests have no record", err)
	}
	if _, err := wootest.OrderFromCommerce(commerce.Order{ID: "A-1", Currency: "USD", State: commerce.StatePaid}); err == nil {
		t.Error("an order id that is no number was accepted")
	}
}
