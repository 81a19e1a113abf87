package shopify

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/loyaltyd/loyaltyd/connectors"
)

// The fuzz targets of the parsers that read what Shopify (or whoever poses
// as Shopify) sends: orders and customers as every read decodes them,
// cursor tokens read back from the database, the webhook signature header,
// app-proxy queries, Link headers and the rate-limit headers. Webhook
// bodies are FuzzDecodeWebhook's (webhook_test.go).

// seedFiles adds every payload of a testdata folder (golden files aside).
func seedFiles(f *testing.F, dir string) {
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		if strings.HasSuffix(p, ".golden.json") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// roundTrip checks that v survives the JSON encoding the webhook inbox
// stores events in: encoded, decoded and encoded again, it is the same.
func roundTrip[T any](t *testing.T, v T) {
	t.Helper()
	a, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("an accepted record does not encode: %v", err)
	}
	var back T
	if err := json.Unmarshal(a, &back); err != nil {
		t.Fatalf("an accepted record does not decode from its own encoding: %v\n%s", err, a)
	}
	b, err := json.Marshal(back)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("an accepted record changes through JSON (%v):\n%s\n%s", err, a, b)
	}
}

// FuzzDecodeOrder feeds arbitrary bytes to the order conversion every read
// and webhook runs. It must not panic; an order it accepts validates,
// keeps the payload as given, has a numeric id, survives the inbox's JSON,
// and has each line's subtotal exactly its price times its quantity.
func FuzzDecodeOrder(f *testing.F) {
	seedFiles(f, "orders")
	f.Add([]byte(`{"id":1,"financial_status":"paid","currency":"usd","updated_at":"2026-01-01T00:00:00+01:00",` +
		`"line_items":[{"id":2,"quantity":3,"price":"1.50","discount_allocations":[{"amount":"0.50"}]}],` +
		`"refunds":[{"id":3,"transactions":[{"kind":"refund","status":"success","amount":"1.00"}]}]}`))
	f.Add([]byte(`{"id":"0","financial_status":"paid","currency":"JPY","updated_at":"0001-01-01T00:00:01Z","line_items":[{"id":1,"quantity":9223372036854775807,"price":"2"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, err := convertOrder(raw)
		if err != nil {
			return
		}
		if err := o.Validate(); err != nil {
			t.Fatalf("accepted order does not validate: %v", err)
		}
		if !bytes.Equal(o.Raw, raw) {
			t.Fatal("Raw is not the payload as given")
		}
		if !isDigits(o.ID) {
			t.Fatalf("order id %q is not a number", o.ID)
		}
		roundTrip(t, o)
		var w wireOrder
		if err := decodeStrict(raw, &w); err != nil {
			t.Fatalf("accepted, but the payload does not decode: %v", err)
		}
		m := moneyReader{currency: o.Currency}
		for i, l := range w.LineItems {
			unit := m.read("", l.Price, l.PriceSet)
			want := new(big.Int).Mul(big.NewInt(unit.Minor), big.NewInt(int64(l.Quantity)))
			if got := o.Lines[i].Subtotal.Minor; want.Cmp(big.NewInt(got)) != 0 {
				t.Fatalf("line %d: subtotal %d minor units, but %d × %d is %s", i, got, unit.Minor, l.Quantity, want)
			}
		}
		for i, r := range o.Refunds {
			if r.Amount.Sign() < 0 {
				t.Fatalf("refund %d: negative amount %s", i, r.Amount)
			}
		}
	})
}

// FuzzDecodeCustomer is FuzzDecodeOrder for customers: an accepted
// customer has a numeric id and an update time, keeps the payload, has
// tags that are trimmed, non-empty and comma-free, and survives JSON.
func FuzzDecodeCustomer(f *testing.F) {
	seedFiles(f, "customers")
	f.Add([]byte(`{"id":7,"email":null,"tags":" vip,, gold ,","updated_at":"2026-01-01T00:00:00-05:00"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := convertCustomer(raw)
		if err != nil {
			return
		}
		if !isDigits(c.ID) || c.UpdatedAt.IsZero() || !bytes.Equal(c.Raw, raw) {
			t.Fatalf("accepted customer id %q, updated %v, raw kept %t", c.ID, c.UpdatedAt, bytes.Equal(c.Raw, raw))
		}
		for _, tag := range c.Tags {
			if tag == "" || tag != strings.TrimSpace(tag) || strings.Contains(tag, ",") {
				t.Fatalf("tag %q", tag)
			}
		}
		roundTrip(t, c)
	})
}

// FuzzCursorToken: tokens come back from the database, which another
// version may have written. Any string either yields a page_info for
// exactly one stream and the window it was made for, or fails with
// ErrBadCursor; a token the connector made reads back as made.
func FuzzCursorToken(f *testing.F) {
	since, until := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 0, 0, 0, 5, time.UTC)
	cur := connectors.Cursor{Since: since, Until: until}
	f.Add(encodeToken("orders", cur, "eyJsYXN0X2lkIjo0fQ"), since.Unix(), until.UnixNano(), "eyJsYXN0X2lkIjo0fQ")
	f.Add(encodeToken("customers", connectors.Cursor{}, "x"), int64(0), int64(0), "")
	f.Add("shopify1.e30", int64(1), int64(2), "a b")
	f.Fuzz(func(t *testing.T, tok string, sinceSec, untilNano int64, pageInfo string) {
		c := connectors.Cursor{Since: time.Unix(sinceSec, 0).UTC(), Until: time.Unix(0, untilNano).UTC(), Token: tok}
		accepted := 0
		for _, stream := range []string{"orders", "customers"} {
			pi, err := decodeToken(stream, c)
			if err != nil {
				if !errors.Is(err, connectors.ErrBadCursor) {
					t.Fatalf("error %v does not wrap ErrBadCursor", err)
				}
				continue
			}
			if tok != "" {
				accepted++
				if pi == "" {
					t.Fatal("a token accepted without a page_info")
				}
			}
		}
		if accepted > 1 {
			t.Fatalf("token %q accepted for both streams", tok)
		}
		if pageInfo == "" || !utf8.ValidString(pageInfo) {
			return // nextPageInfo gives only text (FuzzNextPageInfo)
		}
		c.Token = encodeToken("orders", c, pageInfo)
		if pi, err := decodeToken("orders", c); err != nil || pi != pageInfo {
			t.Fatalf("own token read back as %q, %v; want %q", pi, err, pageInfo)
		}
		c.Until = c.Until.Add(time.Nanosecond)
		if _, err := decodeToken("orders", c); !errors.Is(err, connectors.ErrBadCursor) {
			t.Fatalf("a token used for another window: %v, want ErrBadCursor", err)
		}
	})
}

// FuzzVerifyWebhook fuzzes the signature header against bodies. A header
// is accepted only when it is the base64 MAC of the body (around
// whitespace); the genuine signature is always accepted; a changed body
// never is; every refusal is ErrBadSignature.
func FuzzVerifyWebhook(f *testing.F) {
	body := []byte(`{"id":1}`)
	f.Add(body, sign(webhookSecret, body))
	f.Add(body, " "+sign(webhookSecret, body)+"\t")
	f.Add([]byte{}, "")
	f.Add([]byte("x"), "====")
	f.Add(body, strings.TrimRight(sign(webhookSecret, body), "="))
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		h := http.Header{}
		h.Set(HeaderHmac, header)
		err := VerifyWebhook(webhookSecret, h, body)
		if err != nil && !errors.Is(err, connectors.ErrBadSignature) {
			t.Fatalf("error %v does not wrap ErrBadSignature", err)
		}
		if err == nil {
			got, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(h.Get(HeaderHmac)))
			if derr != nil || !hmac.Equal(got, webhookMAC(webhookSecret, body)) {
				t.Fatalf("header %q accepted for a body it is not the MAC of", header)
			}
		}
		h.Set(HeaderHmac, sign(webhookSecret, body))
		if err := VerifyWebhook(webhookSecret, h, body); err != nil {
			t.Fatalf("the genuine signature refused: %v", err)
		}
		if err := VerifyWebhook("", h, body); !errors.Is(err, connectors.ErrBadSignature) {
			t.Fatalf("no secret: %v, want ErrBadSignature", err)
		}
		changed := append([]byte("x"), body...)
		if err := VerifyWebhook(webhookSecret, h, changed); !errors.Is(err, connectors.ErrBadSignature) {
			t.Fatalf("a changed body accepted: %v", err)
		}
	})
}

// FuzzVerifyProxy fuzzes app-proxy queries, as a storefront visitor can
// send any. A query is accepted only with the signature Shopify would
// compute for it; once signed it is accepted; a changed parameter is
// refused; the timestamp is held to the maximum age either way; every
// refusal is ErrBadSignature.
func FuzzVerifyProxy(f *testing.F) {
	f.Add(proxyQuery, int64(1317327555), int64(1317327555))
	f.Add("shop=a.myshopify.com&logged_in_customer_id=7&timestamp=100&signature=00", int64(100), int64(400))
	f.Add("signature=1&signature=2&a=%zz", int64(0), int64(-1))
	f.Add("a=1,2&a=3&a", int64(math.MaxInt64), int64(math.MinInt64))
	const secret = "hush"
	const maxAge = 5 * time.Minute
	f.Fuzz(func(t *testing.T, raw string, ts, now int64) {
		// loyaltyd's clock is the machine's: some time this century or
		// the next, whatever the request says.
		now = 1e9 + (now%4e9+4e9)%4e9
		q, _ := url.ParseQuery(raw) // a server reads what parses, as r.URL.Query does
		err := VerifyProxySignature(secret, q)
		if err != nil && !errors.Is(err, connectors.ErrBadSignature) {
			t.Fatalf("error %v does not wrap ErrBadSignature", err)
		}
		if err == nil && !strings.EqualFold(q.Get("signature"), ProxySignature(secret, q)) {
			t.Fatalf("query %q accepted with a signature that is not its own", raw)
		}
		q.Set("timestamp", strconv.FormatInt(ts, 10))
		q.Set("signature", ProxySignature(secret, q))
		if err := VerifyProxySignature(secret, q); err != nil {
			t.Fatalf("a signed query refused: %v", err)
		}
		shop, customer, err := VerifyProxyRequest(secret, q, time.Unix(now, 0), maxAge)
		age := new(big.Int).Sub(big.NewInt(now), big.NewInt(ts))
		fresh := age.CmpAbs(big.NewInt(int64(maxAge/time.Second))) <= 0
		switch {
		case fresh && err != nil:
			t.Fatalf("a fresh signed request (%s s old) refused: %v", age, err)
		case !fresh && err == nil:
			t.Fatalf("a request %s s old accepted", age)
		case err == nil && (shop != q.Get("shop") || customer != q.Get("logged_in_customer_id")):
			t.Fatalf("got shop %q customer %q from %v", shop, customer, q)
		case err != nil && !errors.Is(err, connectors.ErrBadSignature):
			t.Fatalf("error %v does not wrap ErrBadSignature", err)
		}
		for k, vs := range q {
			if k == "signature" {
				continue
			}
			changed := url.Values{}
			for k2, vs2 := range q {
				changed[k2] = vs2
			}
			changed[k] = append(append([]string(nil), vs...), "x")
			if VerifyProxySignature(secret, changed) == nil {
				t.Fatalf("a query with %s changed still verifies", k)
			}
			break
		}
	})
}

// FuzzNextPageInfo fuzzes the Link header of list answers: no panic, a
// page_info only from a next link, and a page_info written into a next
// link (beside a previous one) reads back as written.
func FuzzNextPageInfo(f *testing.F) {
	f.Add(`<https://s.myshopify.com/admin/api/2025-07/orders.json?limit=2&page_info=abc>; rel="next"`, "abc")
	f.Add(`<https://s/a.json?page_info=p&fields=id,updated_at>; rel="previous", <https://s/a.json?page_info=n&fields=id,updated_at>; rel=next`, "n")
	f.Add(`<>; rel="next"`, "")
	f.Add(`<%zz>; rel="next"`, "a b&c=d")
	f.Add(`<https://s/a.json?page_info=%bb>; rel="next"`, "\u00bb")
	f.Fuzz(func(t *testing.T, link, pageInfo string) {
		pi, err := nextPageInfo(http.Header{"Link": {link}})
		if err == nil && pi != "" && (!strings.Contains(link, "next") || !utf8.ValidString(pi)) {
			t.Fatalf("page_info %q from %q", pi, link)
		}
		if pageInfo == "" || !utf8.ValidString(pageInfo) {
			return
		}
		u := "https://s.myshopify.com/admin/api/2025-07/orders.json?limit=250&fields=id,updated_at&page_info=" + url.QueryEscape(pageInfo)
		h := http.Header{"Link": {`<https://s.myshopify.com/x.json?page_info=prev>; rel="previous", <` + u + `>; rel="next"`}}
		if got, err := nextPageInfo(h); err != nil || got != pageInfo {
			t.Fatalf("page_info %q read back as %q, %v", pageInfo, got, err)
		}
	})
}

// FuzzRateHeaders fuzzes Retry-After and X-Shopify-Shop-Api-Call-Limit,
// which decide how long loyaltyd waits: a wait read from Retry-After is
// never negative nor longer than an hour, and a call limit has a positive
// bucket and reads back as written.
func FuzzRateHeaders(f *testing.F) {
	f.Add("2.0", "32/40")
	f.Add("Wed, 21 Oct 2015 07:28:00 GMT", " 0 / 80 ")
	f.Add("-1", "40/0")
	f.Add("NaN", "1/2/3")
	f.Fuzz(func(t *testing.T, retryAfter, callLimit string) {
		if d, ok := parseRetryAfter(retryAfter); ok && (d < 0 || d > time.Hour) {
			t.Fatalf("Retry-After %q read as a wait of %s", retryAfter, d)
		}
		used, size, ok := parseCallLimit(callLimit)
		if !ok {
			return
		}
		if size <= 0 || used < 0 {
			t.Fatalf("call limit %q read as %v/%v", callLimit, used, size)
		}
		u2, s2, ok := parseCallLimit(strconv.FormatFloat(used, 'f', -1, 64) + "/" + strconv.FormatFloat(size, 'f', -1, 64))
		if !ok || u2 != used || s2 != size {
			t.Fatalf("call limit %v/%v does not read back: %v/%v %t", used, size, u2, s2, ok)
		}
	})
}
