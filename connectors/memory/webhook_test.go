package memory_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/memory"
)

func TestSign(t *testing.T) {
	t.Parallel()
	// HMAC-SHA256("secret", "hello"), as any HMAC implementation computes it.
	if got, want := memory.Sign("secret", []byte("hello")), "iKqz7ejTrflNJquQ07r9SiCDBww7zOnAFO4EpEOEfAs="; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestWebhookTopics(t *testing.T) {
	t.Parallel()
	p, c, _ := newPlatform(t)
	p.PutCustomer(commerce.Customer{ID: "c1", Email: "ann@example.com", Tags: []string{"vip"}})
	p.PutOrder(sampleOrder("o1", commerce.StatePaid))
	for _, tc := range []struct {
		topic, resource string
		kind            commerce.EventKind
		wantResource    string
	}{
		{memory.TopicOrdersCreate, "o1", commerce.EventOrder, "o1"},
		{memory.TopicOrdersUpdated, "o1", commerce.EventOrder, "o1"},
		{memory.TopicOrdersDelete, "o1", commerce.EventOrderDeleted, "o1"},
		{memory.TopicCustomersCreate, "c1", commerce.EventCustomer, "c1"},
		{memory.TopicCustomersUpdate, "c1", commerce.EventCustomer, "c1"},
		{memory.TopicCustomersDelete, "c1", commerce.EventCustomerDeleted, "c1"},
		{memory.TopicCustomersRedact, "c1", commerce.EventCustomerRedact, "c1"},
		{memory.TopicCustomersDataRequest, "c1", commerce.EventCustomerDataRequest, "c1"},
		{memory.TopicShopRedact, "", commerce.EventShopRedact, ""},
		{memory.TopicAppUninstalled, "", commerce.EventUninstalled, ""},
		{"products/update", "p1", commerce.EventUnknown, ""},
	} {
		t.Run(tc.topic, func(t *testing.T) {
			h, body, err := p.Webhook(tc.topic, tc.resource)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := c.DecodeWebhook(h, body)
			if err != nil {
				t.Fatalf("DecodeWebhook(%s): %v", body, err)
			}
			if ev.Kind != tc.kind || ev.Topic != tc.topic || ev.ResourceID != tc.wantResource {
				t.Errorf("event = %s %s %q, want %s %s %q", ev.Kind, ev.Topic, ev.ResourceID, tc.kind, tc.topic, tc.wantResource)
			}
			if ev.DedupeKey != h.Get(memory.HeaderEventID) || ev.DedupeKey == "" {
				t.Errorf("DedupeKey = %q, want the event id %q", ev.DedupeKey, h.Get(memory.HeaderEventID))
			}
			if !ev.OccurredAt.Equal(testNow) {
				t.Errorf("OccurredAt = %s, want the platform's time %s", ev.OccurredAt, testNow)
			}
			switch tc.kind {
			case commerce.EventOrder:
				if ev.Order == nil || ev.Order.Total != usd(10000) || string(ev.Order.Raw) != string(body) {
					t.Errorf("Order = %+v, want o1 with the body as Raw", ev.Order)
				}
			case commerce.EventCustomer:
				if ev.Customer == nil || !ev.Customer.HasTag("vip") || string(ev.Customer.Raw) != string(body) {
					t.Errorf("Customer = %+v, want c1 with its tags and the body as Raw", ev.Customer)
				}
			case commerce.EventCustomerRedact, commerce.EventCustomerDataRequest:
				if ev.Customer == nil || ev.Customer.ID != "c1" || ev.Customer.Email != "ann@example.com" {
					t.Errorf("Customer = %+v, want c1's id and e-mail", ev.Customer)
				}
			default:
				if ev.Order != nil || ev.Customer != nil {
					t.Errorf("event carries %+v, %+v; want no record", ev.Order, ev.Customer)
				}
			}
		})
	}
}

func TestWebhookBuild(t *testing.T) {
	t.Parallel()
	p, _, _ := newPlatform(t)
	p.PutOrder(sampleOrder("o1", commerce.StatePaid))
	h1, _, err := p.Webhook(memory.TopicOrdersUpdated, "o1")
	if err != nil {
		t.Fatal(err)
	}
	h2, _, err := p.Webhook(memory.TopicOrdersUpdated, "o1")
	if err != nil {
		t.Fatal(err)
	}
	if h1.Get(memory.HeaderEventID) == h2.Get(memory.HeaderEventID) {
		t.Errorf("two deliveries share event id %q", h1.Get(memory.HeaderEventID))
	}
	for _, topic := range []string{memory.TopicOrdersCreate, memory.TopicOrdersUpdated} {
		if _, _, err := p.Webhook(topic, "nope"); !errors.Is(err, connectors.ErrNotFound) {
			t.Errorf("%s of an unknown order: got error %v, want ErrNotFound", topic, err)
		}
	}
	for _, topic := range []string{memory.TopicCustomersCreate, memory.TopicCustomersUpdate} {
		if _, _, err := p.Webhook(topic, "nope"); !errors.Is(err, connectors.ErrNotFound) {
			t.Errorf("%s of an unknown customer: got error %v, want ErrNotFound", topic, err)
		}
	}
	// A deleted record can still be the subject of a deletion or a redact.
	for _, topic := range []string{memory.TopicOrdersDelete, memory.TopicCustomersDelete, memory.TopicCustomersRedact} {
		if _, _, err := p.Webhook(topic, "gone"); err != nil {
			t.Errorf("%s of a deleted record: %v", topic, err)
		}
	}
	unsigned := memory.NewPlatform(memory.PlatformOptions{})
	if _, _, err := unsigned.Webhook(memory.TopicAppUninstalled, ""); err == nil {
		t.Error("a platform without a secret built a webhook")
	}
}

func TestDecodeWebhookErrors(t *testing.T) {
	t.Parallel()
	const secret = "s3cret" // newPlatform's
	p, c, _ := newPlatform(t)
	p.PutOrder(sampleOrder("o1", commerce.StatePaid))
	good, body, err := p.Webhook(memory.TopicOrdersUpdated, "o1")
	if err != nil {
		t.Fatal(err)
	}
	// signed returns a delivery of body under topic, correctly signed.
	signed := func(topic, body string) (http.Header, []byte) {
		h := good.Clone()
		h.Set(memory.HeaderTopic, topic)
		h.Set(memory.HeaderSignature, memory.Sign(secret, []byte(body)))
		return h, []byte(body)
	}
	// edited returns the good headers, edited; the signature covers only
	// the body, so it stays right.
	edited := func(edit func(http.Header)) http.Header {
		h := good.Clone()
		edit(h)
		return h
	}
	for _, tc := range []struct {
		name    string
		header  http.Header
		body    []byte
		wantErr error
	}{
		{"no signature", edited(func(h http.Header) { h.Del(memory.HeaderSignature) }), body, connectors.ErrBadSignature},
		{"signature not base64", edited(func(h http.Header) { h.Set(memory.HeaderSignature, "%%%") }), body, connectors.ErrBadSignature},
		{"hex signature", edited(func(h http.Header) { h.Set(memory.HeaderSignature, "88aab3ede8d3adf94d26ab90d3bafd4a") }), body, connectors.ErrBadSignature},
		{"signature of another body", good, append(append([]byte{}, body...), '\n'), connectors.ErrBadSignature},
		{"no topic", edited(func(h http.Header) { h.Del(memory.HeaderTopic) }), body, connectors.ErrBadPayload},
		{"no event id", edited(func(h http.Header) { h.Del(memory.HeaderEventID) }), body, connectors.ErrBadPayload},
		{"bad time", edited(func(h http.Header) { h.Set(memory.HeaderTriggeredAt, "noon") }), body, connectors.ErrBadPayload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.DecodeWebhook(tc.header, tc.body); !errors.Is(err, tc.wantErr) {
				t.Errorf("got error %v, want one wrapping %v", err, tc.wantErr)
			}
		})
	}
	for _, tc := range []struct {
		name, topic, body string
	}{
		{"order not JSON", memory.TopicOrdersUpdated, `{"id":`},
		{"order without id", memory.TopicOrdersUpdated, `{"currency":"USD"}`},
		{"order in an unknown currency", memory.TopicOrdersUpdated, `{"id":"o1","total":{"amount":"1.00","currency":"XXX"}}`},
		{"order null", memory.TopicOrdersCreate, `null`},
		{"customer without id", memory.TopicCustomersUpdate, `{"email":"a@example.com"}`},
		{"deletion without id", memory.TopicOrdersDelete, `{}`},
		{"deletion with a numeric id", memory.TopicCustomersDelete, `{"id":5}`},
		{"redact without customer", memory.TopicCustomersRedact, `{}`},
		{"shop redact not JSON", memory.TopicShopRedact, `shop`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, b := signed(tc.topic, tc.body)
			_, err := c.DecodeWebhook(h, b)
			if !errors.Is(err, connectors.ErrBadPayload) || errors.Is(err, connectors.ErrBadSignature) {
				t.Errorf("got error %v, want one wrapping ErrBadPayload only", err)
			}
		})
	}
	t.Run("unknown topic with any body", func(t *testing.T) {
		h, b := signed("carts/update", "not json at all")
		ev, err := c.DecodeWebhook(h, b)
		if err != nil || ev.Kind != commerce.EventUnknown {
			t.Errorf("got %+v, %v; want an unknown event", ev, err)
		}
	})
}

// TestDecodeWebhookWithoutSecret: a connector with no secret at all fails
// closed rather than accept a MAC anyone can compute.
func TestDecodeWebhookWithoutSecret(t *testing.T) {
	t.Parallel()
	t.Cleanup(func() { memory.Detach(t.Name()) })
	c := mustOpen(t, t.Name(), "")
	body := []byte(`{}`)
	h := http.Header{}
	h.Set(memory.HeaderTopic, memory.TopicAppUninstalled)
	h.Set(memory.HeaderEventID, "e1")
	h.Set(memory.HeaderSignature, memory.Sign("", body))
	if _, err := c.DecodeWebhook(h, body); !errors.Is(err, connectors.ErrBadSignature) {
		t.Errorf("got error %v, want one wrapping ErrBadSignature", err)
	}
}

func FuzzDecodeWebhook(f *testing.F) {
	const secret = "fuzz"
	p := memory.NewPlatform(memory.PlatformOptions{WebhookSecret: secret})
	memory.Attach(f.Name(), p)
	f.Cleanup(func() { memory.Detach(f.Name()) })
	c, err := connectors.Open(f.Context(), "memory", connectors.Options{StoreID: f.Name()})
	if err != nil {
		f.Fatal(err)
	}
	src := c.(connectors.WebhookSource)
	p.PutOrder(sampleOrder("o1", commerce.StatePaid))
	p.PutCustomer(commerce.Customer{ID: "c1", Email: "a@example.com"})
	for _, seed := range []struct{ topic, id string }{
		{memory.TopicOrdersUpdated, "o1"}, {memory.TopicCustomersUpdate, "c1"}, {memory.TopicOrdersDelete, "o1"},
		{memory.TopicCustomersRedact, "c1"}, {memory.TopicShopRedact, ""}, {"carts/update", "x"},
	} {
		h, body, err := p.Webhook(seed.topic, seed.id)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(h.Get(memory.HeaderTopic), body)
	}
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		h := http.Header{}
		h.Set(memory.HeaderTopic, topic)
		h.Set(memory.HeaderEventID, "e1")
		h.Set(memory.HeaderSignature, memory.Sign(secret, body))
		ev, err := src.DecodeWebhook(h, body)
		if err != nil {
			if !errors.Is(err, connectors.ErrBadPayload) {
				t.Fatalf("a correctly signed delivery failed with %v, want nil or ErrBadPayload", err)
			}
			return
		}
		switch {
		case ev.Kind == commerce.EventOrder && (ev.Order == nil || ev.Order.ID == "" || ev.ResourceID != ev.Order.ID):
			t.Errorf("order event %+v without its order", ev)
		case ev.Kind == commerce.EventCustomer && (ev.Customer == nil || ev.Customer.ID == "" || ev.ResourceID != ev.Customer.ID):
			t.Errorf("customer event %+v without its customer", ev)
		case ev.DedupeKey != "e1":
			t.Errorf("DedupeKey = %q, want e1", ev.DedupeKey)
		}
		h.Set(memory.HeaderSignature, memory.Sign("not-"+secret, body))
		if _, err := src.DecodeWebhook(h, body); !errors.Is(err, connectors.ErrBadSignature) {
			t.Errorf("a forged delivery: got error %v, want ErrBadSignature", err)
		}
	})
}
