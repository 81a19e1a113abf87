package woocommerce

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

// The fuzz targets of the parsers that read what a WooCommerce site (or
// whoever poses as one) sends, beside FuzzDecodeWebhook, FuzzDecodeOrder
// and FuzzCursorToken: customers, orders with their refunds' details, the
// webhook signature and the unsigned ping, the list headers and bodies,
// and dates.

// testdataCases returns the "order" and "refunds" (or "customer") parts of
// the payload files of a testdata folder.
func testdataCases(f *testing.F, dir string) []map[string]json.RawMessage {
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	var out []map[string]json.RawMessage
	for _, p := range files {
		if strings.HasSuffix(p, ".golden.json") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var c map[string]json.RawMessage
		if json.Unmarshal(b, &c) == nil {
			out = append(out, c)
		}
	}
	return out
}

// jsonRoundTrip checks that v survives the JSON encoding the webhook
// inbox stores events in.
func jsonRoundTrip[T any](t *testing.T, v T) {
	t.Helper()
	a, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("an accepted record does not encode: %v", err)
	}
	var back T
	if err := json.Unmarshal(a, &back); err != nil {
		t.Fatalf("an accepted record does not decode from its own encoding: %v\n%s", err, a)
	}
	if b, err := json.Marshal(back); err != nil || !bytes.Equal(a, b) {
		t.Fatalf("an accepted record changes through JSON (%v):\n%s\n%s", err, a, b)
	}
}

// FuzzDecodeCustomer feeds arbitrary JSON to the customer decoding and
// conversion: no panic; an accepted customer has its id and an update
// time, clean tags that write back and read again unchanged, and survives
// JSON.
func FuzzDecodeCustomer(f *testing.F) {
	for _, c := range testdataCases(f, "customers") {
		if b, ok := c["customer"]; ok {
			f.Add([]byte(b))
		}
	}
	f.Add([]byte(`{"id":"12","date_created_gmt":"2026-01-01T00:00:00","meta_data":[{"key":"loyalty_tags","value":["a,b"," a ",""]}]}`))
	f.Add([]byte(`{"id":1,"date_modified_gmt":"2026-01-01T00:00:00+02:00","meta_data":[{"key":"loyalty_tags","value":"x, X ,y"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var w wireCustomer
		if err := decodeStrict(b, &w); err != nil {
			return
		}
		c, err := convertCustomer(w)
		if err != nil {
			return
		}
		if c.ID != strconv.FormatInt(int64(w.ID), 10) || c.ID == "0" || c.UpdatedAt.IsZero() {
			t.Fatalf("accepted customer id %q updated %v", c.ID, c.UpdatedAt)
		}
		for _, tag := range c.Tags {
			if tag == "" || tag != strings.TrimSpace(tag) {
				t.Fatalf("tag %q", tag)
			}
		}
		raw, _ := json.Marshal(formatTags(c.Tags))
		if again := parseTags(raw); strings.Join(again, "\x00") != strings.Join(c.Tags, "\x00") {
			t.Fatalf("tags %q written back read as %q", c.Tags, again)
		}
		jsonRoundTrip(t, c)
	})
}

// FuzzDecodeRefunds feeds an order and a refunds answer, as a read of
// one order with refunds gets them: no panic; an accepted order validates,
// every refund and refund line is non-negative, the refunds never exceed
// what the order lists, and the order survives JSON.
func FuzzDecodeRefunds(f *testing.F) {
	for _, c := range testdataCases(f, "orders") {
		if o, ok := c["order"]; ok {
			f.Add([]byte(o), []byte(c["refunds"]))
		}
	}
	f.Add([]byte(`{"id":1,"status":"completed","currency":"USD","total":"10.00","date_modified_gmt":"2026-01-01T00:00:00","line_items":[{"id":2,"quantity":1,"subtotal":"10.00"}],"refunds":[{"id":3,"total":"-92233720368547758.08"}]}`),
		[]byte(`[{"id":3,"amount":"92233720368547758.08","line_items":[{"quantity":-1,"total":"-92233720368547758.08","meta_data":[{"key":"_refunded_item_id","value":"2"}]}]}]`))
	f.Add([]byte(`{"id":1,"status":"completed","currency":"USD","total":"10.00","date_modified_gmt":"2026-01-01T00:00:00","refunds":[{"id":3,"total":"-92233720368547758.08"}]}`), []byte(`[]`))
	f.Add([]byte(`{"id":1,"status":"completed","currency":"USD","total":"10.00","date_modified_gmt":"2026-01-01T00:00:00","refunds":[{"id":3,"total":"-1.00"}]}`),
		[]byte(`[{"id":3,"amount":"1.00","line_items":[{"quantity":-1,"total":"-92233720368547758.08","meta_data":[{"key":"_refunded_item_id","value":"2"}]}],"shipping_lines":[{"total":"-92233720368547758.08"}]}]`))
	f.Fuzz(func(t *testing.T, order, refunds []byte) {
		var w wireOrder
		if err := decodeStrict(order, &w); err != nil {
			return
		}
		var rs []wireRefund
		if len(refunds) > 0 {
			items, err := decodeList(refunds)
			if err != nil {
				return
			}
			for _, it := range items {
				var r wireRefund
				if err := decodeStrict(it, &r); err != nil {
					return
				}
				rs = append(rs, r)
			}
		}
		o, err := convertOrder(w, rs, nil)
		if err != nil {
			return
		}
		if err := o.Validate(); err != nil {
			t.Fatalf("converted order does not validate: %v", err)
		}
		for _, r := range o.Refunds {
			if r.Amount.Sign() < 0 || r.Shipping.Sign() < 0 {
				t.Fatalf("refund %s: amount %v, shipping %v", r.ID, r.Amount, r.Shipping)
			}
			for _, l := range r.Lines {
				if l.Quantity < 0 || l.Amount.Sign() < 0 {
					t.Fatalf("refund %s: line %+v", r.ID, l)
				}
			}
		}
		if len(o.Refunds) != len(w.Refunds) {
			t.Fatalf("%d refunds from an order listing %d", len(o.Refunds), len(w.Refunds))
		}
		jsonRoundTrip(t, o)
	})
}

// FuzzVerifyWebhook fuzzes the signature header and the unsigned ping. A
// header is accepted only when it is the base64 MAC of the body; the
// genuine one always is; a changed body never is; refusals are
// ErrBadSignature. A ping is exactly "webhook_id=N" with a positive N.
func FuzzVerifyWebhook(f *testing.F) {
	body := []byte(`{"id":1}`)
	f.Add(body, Sign(goldenSecret, body))
	f.Add(body, "\n"+Sign(goldenSecret, body)+" ")
	f.Add([]byte("webhook_id=42"), "")
	f.Add([]byte(" webhook_id=007&"), "x")
	f.Add([]byte("webhook_id=1&webhook_id=2"), "")
	f.Add([]byte("webhook_id=%31"), "")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		err := verify(goldenSecret, sig, body)
		if err != nil && !errors.Is(err, connectors.ErrBadSignature) {
			t.Fatalf("error %v does not wrap ErrBadSignature", err)
		}
		if err == nil {
			got, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
			if derr != nil || !hmac.Equal(got, mac(goldenSecret, body)) {
				t.Fatalf("signature %q accepted for a body it is not the MAC of", sig)
			}
		}
		if err := verify(goldenSecret, Sign(goldenSecret, body), body); err != nil {
			t.Fatalf("the genuine signature refused: %v", err)
		}
		if err := verify("", Sign("", body), body); !errors.Is(err, connectors.ErrBadSignature) {
			t.Fatalf("no secret: %v, want ErrBadSignature", err)
		}
		if err := verify(goldenSecret, Sign(goldenSecret, body), append([]byte("x"), body...)); !errors.Is(err, connectors.ErrBadSignature) {
			t.Fatalf("a changed body accepted: %v", err)
		}
		if id, ok := pingID(body); ok {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil || n <= 0 || len(body) > 64 {
				t.Fatalf("ping %q read as webhook %q", body, id)
			}
			if again, ok := pingID([]byte("webhook_id=" + id)); !ok || again != id {
				t.Fatalf("ping of webhook %s read back as %q, %t", id, again, ok)
			}
		}
	})
}

// FuzzListAnswer fuzzes what a list answer brings: X-WP-TotalPages and
// X-WP-Total, Retry-After, and the body. Counts read are not negative and
// read back as written; a wait is not negative; a list's elements are
// each one JSON value.
func FuzzListAnswer(f *testing.F) {
	f.Add("3", "250", "2", []byte(`[{"id":1},{"id":2}]`))
	f.Add(" 0 ", "0", "Wed, 21 Oct 2015 07:28:00 GMT", []byte(`[]`))
	f.Add("-1", "x", "1e9", []byte(`[1] [2]`))
	f.Add("", "", "", []byte(`null`))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, pages, total, retry string, body []byte) {
		h := http.Header{}
		h.Set("X-WP-TotalPages", pages)
		h.Set("X-WP-Total", total)
		if p, n, ok := totalPages(h); ok {
			if p < 0 || n < 0 {
				t.Fatalf("totals %q %q read as %d %d", pages, total, p, n)
			}
			h.Set("X-WP-TotalPages", strconv.Itoa(p))
			h.Set("X-WP-Total", strconv.Itoa(n))
			if p2, n2, ok := totalPages(h); !ok || p2 != p || n2 != n {
				t.Fatalf("totals %d %d read back as %d %d %t", p, n, p2, n2, ok)
			}
		}
		resp := &http.Response{Header: http.Header{"Retry-After": {retry}}}
		if d, ok := retryAfter(resp, now); ok && d < 0 {
			t.Fatalf("Retry-After %q read as %s", retry, d)
		}
		items, err := decodeList(body)
		if err != nil {
			return
		}
		for i, it := range items {
			if !json.Valid(it) {
				t.Fatalf("element %d %q is not one JSON value", i, it)
			}
		}
	})
}

// FuzzWireTime fuzzes dates as WooCommerce writes them: an accepted date
// is UTC, and written for a query and read again it is the same second.
func FuzzWireTime(f *testing.F) {
	f.Add("2026-03-02T11:20:40")
	f.Add("2026-03-02T11:20:40+02:00")
	f.Add("2026-03-02T11:20:40.999999999Z")
	f.Add("0000-01-01T00:30:00+01:00")
	f.Add("9999-12-31T23:59:59-01:00")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseWireTime(s)
		if err != nil {
			return
		}
		if v.Location() != time.UTC {
			t.Fatalf("%q read in %v", s, v.Location())
		}
		again, err := parseWireTime(formatWireTime(v))
		if err != nil || !again.Equal(v.Truncate(time.Second)) {
			t.Fatalf("%q read as %v, written as %q, read again as %v (%v)", s, v, formatWireTime(v), again, err)
		}
		b, err := json.Marshal(commerce.Customer{ID: "1", UpdatedAt: v})
		if err != nil {
			t.Fatalf("a date read from WooCommerce does not encode: %v", err)
		}
		var c commerce.Customer
		if err := json.Unmarshal(b, &c); err != nil || !c.UpdatedAt.Equal(v) {
			t.Fatalf("%v through JSON: %v, %v", v, c.UpdatedAt, err)
		}
	})
}
