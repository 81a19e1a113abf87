package woocommerce

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

// goldenSecret is the webhook secret the deliveries under
// testdata/webhooks were signed with.
const goldenSecret = "whsec_golden_2026"

// webhookWant is a want.json: the event, or the class of the error.
type webhookWant struct {
	Event *commerce.Event `json:"event,omitempty"`
	Error string          `json:"error,omitempty"` // bad_signature, bad_payload
}

func testConnector(t testing.TB, edit func(*Options)) *Connector {
	t.Helper()
	o := Options{URL: "https://shop.example", ConsumerKey: "ck_test", ConsumerSecret: "cs_test", WebhookSecret: goldenSecret}
	if edit != nil {
		edit(&o)
	}
	s, err := o.validate()
	if err != nil {
		t.Fatal(err)
	}
	c := &Connector{set: s, log: connectors.Options{}.Logger(), now: connectors.Options{}.Clock()}
	c.api = newClient(s, nil, c.now, c.log)
	return c
}

// TestWebhookGolden decodes each delivery under testdata/webhooks/<case>
// (headers.json, the raw body.json) and compares the outcome with
// want.json; -update rewrites want.json.
func TestWebhookGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "webhooks", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no webhook cases: %v", err)
	}
	c := testConnector(t, nil)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			hb, err := os.ReadFile(filepath.Join(dir, "headers.json"))
			if err != nil {
				t.Fatal(err)
			}
			var hm map[string]string
			if err := json.Unmarshal(hb, &hm); err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			for k, v := range hm {
				h.Set(k, v)
			}
			body, err := os.ReadFile(filepath.Join(dir, "body.json"))
			if err != nil {
				t.Fatal(err)
			}
			ev, err := c.DecodeWebhook(h, body)
			var got webhookWant
			switch {
			case errors.Is(err, connectors.ErrBadSignature):
				got.Error = "bad_signature"
			case errors.Is(err, connectors.ErrBadPayload):
				got.Error = "bad_payload"
			case err != nil:
				t.Fatalf("DecodeWebhook: %v, which is neither ErrBadSignature nor ErrBadPayload", err)
			default:
				got.Event = &ev
			}
			golden(t, filepath.Join(dir, "want.json"), got)
		})
	}
}

// TestWebhookRules checks, independently of the golden files, what they
// show.
func TestWebhookRules(t *testing.T) {
	t.Parallel()
	c := testConnector(t, nil)
	read := func(name string) (http.Header, []byte) {
		t.Helper()
		hb, _ := os.ReadFile(filepath.Join("testdata", "webhooks", name, "headers.json"))
		var hm map[string]string
		if err := json.Unmarshal(hb, &hm); err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		for k, v := range hm {
			h.Set(k, v)
		}
		b, err := os.ReadFile(filepath.Join("testdata", "webhooks", name, "body.json"))
		if err != nil {
			t.Fatal(err)
		}
		return h, b
	}
	t.Run("ping", func(t *testing.T) {
		ev, err := c.DecodeWebhook(read("ping"))
		if err != nil || ev.Kind != commerce.EventPing || ev.DedupeKey == "" {
			t.Errorf("ping: got %+v, %v; want an EventPing with a dedupe key", ev, err)
		}
	})
	t.Run("the raw bytes are signed", func(t *testing.T) {
		h, b := read("order_updated")
		if !strings.Contains(string(b), `\/`) {
			t.Fatal("the golden body lost its PHP escapes")
		}
		if _, err := c.DecodeWebhook(h, b); err != nil {
			t.Fatalf("genuine: %v", err)
		}
		_, reenc := read("reencoded_body")
		if _, err := c.DecodeWebhook(h, reenc); !errors.Is(err, connectors.ErrBadSignature) {
			t.Errorf("the same JSON re-encoded: got %v, want ErrBadSignature", err)
		}
	})
	t.Run("dedupe keys", func(t *testing.T) {
		h, b := read("order_updated")
		e1, _ := c.DecodeWebhook(h, b)
		h2 := h.Clone()
		h2.Set(HeaderDeliveryID, "another-delivery-same-state")
		e2, _ := c.DecodeWebhook(h2, b)
		if e1.DedupeKey != e2.DedupeKey || e1.DedupeKey == "" {
			t.Errorf("two deliveries of one state: keys %q and %q, want equal: the delivery id is not the event", e1.DedupeKey, e2.DedupeKey)
		}
		var o map[string]any
		json.Unmarshal(b, &o)
		o["date_modified_gmt"] = "2026-03-09T08:00:00"
		b3, _ := json.Marshal(o)
		h3 := h.Clone()
		h3.Set(HeaderSignature, Sign(goldenSecret, b3))
		e3, err := c.DecodeWebhook(h3, b3)
		if err != nil || e3.DedupeKey == e1.DedupeKey {
			t.Errorf("a later state: key %q, %v; want a key other than %q", e3.DedupeKey, err, e1.DedupeKey)
		}
		hc, bc := read("order_created")
		ec, _ := c.DecodeWebhook(hc, bc)
		if ec.DedupeKey == e1.DedupeKey {
			t.Errorf("order.created and order.updated of one state share key %q; the subscription is part of the key", ec.DedupeKey)
		}
	})
	t.Run("no secret fails closed", func(t *testing.T) {
		c := testConnector(t, func(o *Options) { o.WebhookSecret = "" })
		if _, err := c.DecodeWebhook(read("order_updated")); !errors.Is(err, connectors.ErrBadSignature) {
			t.Errorf("got %v, want ErrBadSignature", err)
		}
	})
	t.Run("errors carry no personal data", func(t *testing.T) {
		h, b := read("customer_updated")
		var m map[string]any
		json.Unmarshal(b, &m)
		m["date_modified_gmt"] = "not a date"
		b2, _ := json.Marshal(m)
		h.Set(HeaderSignature, Sign(goldenSecret, b2))
		_, err := c.DecodeWebhook(h, b2)
		if !errors.Is(err, connectors.ErrBadPayload) {
			t.Fatalf("got %v, want ErrBadPayload", err)
		}
		if strings.Contains(err.Error(), "anne") || strings.Contains(err.Error(), goldenSecret) {
			t.Errorf("error %q shows personal data or the secret", err)
		}
	})
}

// FuzzDecodeWebhook feeds arbitrary bodies, signed and not, to the
// decoder: it must not panic, must refuse unsigned non-pings, and must
// return only the documented errors.
func FuzzDecodeWebhook(f *testing.F) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "webhooks", "*"))
	for _, dir := range dirs {
		if b, err := os.ReadFile(filepath.Join(dir, "body.json")); err == nil {
			f.Add(b, "order.updated", true)
		}
	}
	f.Add([]byte("webhook_id=1"), "", false)
	f.Add([]byte(`{"id":1}`), "customer.deleted", true)
	c := testConnector(f, nil)
	f.Fuzz(func(t *testing.T, body []byte, topic string, signed bool) {
		h := http.Header{}
		if topic != "" {
			h.Set(HeaderTopic, topic)
		}
		h.Set(HeaderWebhookID, "12")
		if signed {
			h.Set(HeaderSignature, Sign(goldenSecret, body))
		}
		ev, err := c.DecodeWebhook(h, body)
		if err != nil {
			if !errors.Is(err, connectors.ErrBadSignature) && !errors.Is(err, connectors.ErrBadPayload) {
				t.Fatalf("undocumented error %v", err)
			}
			if signed && errors.Is(err, connectors.ErrBadSignature) {
				t.Fatalf("a genuine signature refused: %v", err)
			}
			return
		}
		if !signed && ev.Kind != commerce.EventPing {
			t.Fatalf("an unsigned delivery decoded to %q", ev.Kind)
		}
		if ev.DedupeKey == "" {
			t.Fatalf("event %+v without a dedupe key", ev)
		}
		if ev.Kind == commerce.EventOrder {
			if ev.Order == nil || ev.Order.Validate() != nil {
				t.Fatalf("an order event with an invalid order: %+v", ev.Order)
			}
		}
	})
}

// FuzzDecodeOrder feeds arbitrary JSON to the order decoding and
// conversion that every read runs: no panic, and any order it accepts
// validates.
func FuzzDecodeOrder(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "orders", "*.json"))
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.json") {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var c struct {
			Order json.RawMessage `json:"order"`
		}
		if json.Unmarshal(b, &c) == nil {
			f.Add([]byte(c.Order))
		}
	}
	f.Add([]byte(`{"id":1,"status":"processing","currency":"USD","total":"1","date_modified_gmt":"2026-01-01T00:00:00","refunds":[{"id":2,"total":"-1"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var w wireOrder
		if err := decodeStrict(b, &w); err != nil {
			return
		}
		o, err := convertOrder(w, nil, nil)
		if err != nil {
			return
		}
		if err := o.Validate(); err != nil {
			t.Fatalf("converted order does not validate: %v", err)
		}
		for _, r := range o.Refunds {
			if r.Amount.Sign() < 0 {
				t.Fatalf("negative refund amount %v", r.Amount)
			}
		}
		if w.CustomerID == 0 && o.CustomerID != "" && !strings.HasPrefix(o.CustomerID, guestPrefix) {
			t.Fatalf("guest order with customer id %q", o.CustomerID)
		}
	})
}
