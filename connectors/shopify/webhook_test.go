package shopify

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

// webhookSecret is the secret every case under testdata/webhooks is signed
// with: the one of the known vector.
const webhookSecret = "hush"

// webhookResult is what want.json holds: the event, or the sentinel the
// error wraps.
type webhookResult struct {
	Error string          `json:"error,omitempty"`
	Event *commerce.Event `json:"event,omitempty"`
}

func resultOf(ev commerce.Event, err error) webhookResult {
	switch {
	case err == nil:
		return webhookResult{Event: &ev}
	case errors.Is(err, connectors.ErrBadSignature):
		return webhookResult{Error: connectors.ErrBadSignature.Error()}
	case errors.Is(err, connectors.ErrBadPayload):
		return webhookResult{Error: connectors.ErrBadPayload.Error()}
	}
	return webhookResult{Error: "unexpected: " + err.Error()}
}

func readCase(t *testing.T, dir string) (http.Header, []byte) {
	t.Helper()
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
	return h, body
}

// TestDecodeWebhookGolden decodes each delivery under testdata/webhooks
// (headers.json and the raw body.json, signed with "hush") and compares
// the event, or the error, with want.json: good deliveries of every
// topic, the known vector, forged, missing, malformed and re-encoded
// signatures, and genuine deliveries that cannot be decoded.
func TestDecodeWebhookGolden(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob(filepath.Join("testdata", "webhooks", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no webhook cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			h, body := readCase(t, dir)
			got := indent(t, resultOf(decodeWebhook(webhookSecret, h, body)))
			golden(t, filepath.Join(dir, "want.json"), got)
		})
	}
}

// TestKnownVector is Shopify's documented example: secret "hush", body
// "my secret message" with its quotes (the JSON encoding of the string).
func TestKnownVector(t *testing.T) {
	t.Parallel()
	body := []byte(`"my secret message"`)
	const sig = "hMTq0K2x7oyOjoBwGYeTj5oxfnaVYXzbanUG9aajpKI="
	h := http.Header{}
	h.Set(HeaderHmac, sig)
	if err := VerifyWebhook("hush", h, body); err != nil {
		t.Errorf("VerifyWebhook of the known vector: %v", err)
	}
	for _, tc := range []struct {
		name   string
		secret string
		body   []byte
	}{
		{"without the quotes", "hush", []byte(`my secret message`)},
		{"another secret", "Hush", body},
		{"no secret", "", body},
	} {
		if err := VerifyWebhook(tc.secret, h, tc.body); !errors.Is(err, connectors.ErrBadSignature) {
			t.Errorf("VerifyWebhook %s: got %v, want ErrBadSignature", tc.name, err)
		}
	}
}

// TestWebhookHeaderCase: Shopify says to treat header names as
// case-insensitive; a proxy may pass them in lower case.
func TestWebhookHeaderCase(t *testing.T) {
	t.Parallel()
	h := http.Header{
		"x-shopify-hmac-sha256": {"hMTq0K2x7oyOjoBwGYeTj5oxfnaVYXzbanUG9aajpKI="},
		"x-shopify-topic":       {"products/update"},
		"x-shopify-event-id":    {"e1"},
	}
	// http.Header.Get canonicalises the key it looks up, not the stored
	// ones: a handler gets canonical keys from net/http, so rebuild as it
	// would.
	canon := http.Header{}
	for k, vs := range h {
		for _, v := range vs {
			canon.Add(k, v)
		}
	}
	ev, err := decodeWebhook("hush", canon, []byte(`"my secret message"`))
	if err != nil || ev.Kind != commerce.EventUnknown || ev.DedupeKey != "e1" {
		t.Errorf("got %+v, %v; want an unknown event with DedupeKey e1", ev, err)
	}
}

// TestDedupeKey: the event id wins, then the delivery id, then a digest
// that a redelivery of the same body shares.
func TestDedupeKey(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":1}`)
	both := http.Header{HeaderEventID: {"ev"}, HeaderWebhookID: {"wh"}}
	if got := dedupeKey(both, "orders/delete", body); got != "ev" {
		t.Errorf("with both ids: %q, want ev", got)
	}
	if got := dedupeKey(http.Header{HeaderWebhookID: {"wh"}}, "orders/delete", body); got != "webhook:wh" {
		t.Errorf("with the delivery id: %q, want webhook:wh", got)
	}
	a := dedupeKey(http.Header{}, "orders/delete", body)
	if b := dedupeKey(http.Header{}, "orders/delete", body); a != b || a == "" {
		t.Errorf("digest keys %q and %q of one body differ", a, b)
	}
	if c := dedupeKey(http.Header{}, "customers/delete", body); c == a {
		t.Error("the digest ignores the topic")
	}
}

// FuzzDecodeWebhook feeds arbitrary topics and bodies, genuinely signed or
// not. Whatever comes, the decoder must not panic, must refuse an
// unsigned body as a bad signature, must refuse a signed one only as a bad
// payload, and must return only valid events.
func FuzzDecodeWebhook(f *testing.F) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "webhooks", "*"))
	for _, dir := range dirs {
		body, err := os.ReadFile(filepath.Join(dir, "body.json"))
		if err != nil {
			continue
		}
		for _, topic := range []string{TopicOrdersUpdated, TopicRefundsCreate, TopicCustomersUpdate, TopicCustomersRedact, TopicOrdersDelete, TopicShopRedact} {
			f.Add(topic, body, true)
		}
	}
	orders, _ := filepath.Glob(filepath.Join("testdata", "orders", "*.json"))
	for _, p := range orders {
		if body, err := os.ReadFile(p); err == nil {
			f.Add(TopicOrdersCreate, body, true)
		}
	}
	f.Add("products/update", []byte(`"my secret message"`), false)
	f.Fuzz(func(t *testing.T, topic string, body []byte, signed bool) {
		h := http.Header{}
		h.Set(HeaderTopic, topic)
		h.Set(HeaderEventID, "fuzz")
		if signed {
			h.Set(HeaderHmac, sign(webhookSecret, body))
		} else {
			h.Set(HeaderHmac, sign("other", body))
		}
		ev, err := decodeWebhook(webhookSecret, h, body)
		if !signed {
			if !errors.Is(err, connectors.ErrBadSignature) {
				t.Fatalf("a forged delivery gave %+v, %v", ev, err)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, connectors.ErrBadPayload) || errors.Is(err, connectors.ErrBadSignature) {
				t.Fatalf("a signed delivery failed with %v, not only ErrBadPayload", err)
			}
			return
		}
		if ev.Kind == "" || ev.DedupeKey == "" || ev.Topic == "" {
			t.Fatalf("event %+v lacks its kind, topic or key", ev)
		}
		if ev.Order != nil {
			if err := ev.Order.Validate(); err != nil {
				t.Fatalf("the event's order does not validate: %v", err)
			}
			if ev.ResourceID != ev.Order.ID {
				t.Fatalf("ResourceID %q is not the order's id %q", ev.ResourceID, ev.Order.ID)
			}
		}
		if ev.Kind != commerce.EventUnknown && ev.Kind != commerce.EventShopRedact && ev.Kind != commerce.EventUninstalled && ev.ResourceID == "" {
			t.Fatalf("a %s event without a resource", ev.Kind)
		}
	})
}

func sign(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(webhookMAC(secret, body))
}
