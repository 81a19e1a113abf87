package connectortest

import (
	"bytes"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

func (s *suite) webhookTests() []test {
	return []test{
		{"Decode", s.webhookDecode},
		{"Redelivery", s.webhookRedelivery},
		{"NewEvent", s.webhookNewEvent},
		{"Forged", s.webhookForged},
		{"Unsigned", s.webhookUnsigned},
		{"Tampered", s.webhookTampered},
		{"BadPayload", s.webhookBadPayload},
		{"UnknownTopic", s.webhookUnknownTopic},
	}
}

// webhooks is a fake with an order and its customer, the connector's
// WebhookSource and the fake's WebhookSigner.
type webhooks struct {
	f        Fake
	src      connectors.WebhookSource
	sign     WebhookSigner
	order    commerce.Order
	customer commerce.Customer
}

func (s *suite) webhooks(t *testing.T) webhooks {
	t.Helper()
	f, c := s.open(t)
	w := webhooks{
		f:        f,
		src:      capability[connectors.WebhookSource](t, c),
		sign:     capability[WebhookSigner](t, f),
		customer: addMember(t, f),
	}
	w.order = newOrder(1, base) // pending, so that NewEvent can pay it
	w.order.CustomerID, w.order.Email = w.customer.ID, w.customer.Email
	f.AddOrders(t, w.order)
	return w
}

// delivery returns a genuine delivery, skipping the test when the platform
// sends no event of the kind.
func (w webhooks) delivery(t *testing.T, kind commerce.EventKind, resourceID string) (http.Header, []byte) {
	t.Helper()
	h, body, ok := w.sign.Webhook(t, kind, resourceID)
	if !ok {
		t.Skipf("the platform sends no %s event", kind)
	}
	return h, body
}

// decode decodes a delivery that must succeed.
func (w webhooks) decode(t *testing.T, h http.Header, body []byte) commerce.Event {
	t.Helper()
	ev, err := w.src.DecodeWebhook(h, body)
	if err != nil {
		t.Fatalf("DecodeWebhook of a genuine delivery: %v", err)
	}
	if ev.Topic == "" {
		t.Errorf("event %+v has no Topic", ev)
	}
	if ev.DedupeKey == "" {
		t.Errorf("event %+v has no DedupeKey: the inbox could not tell a redelivery from a new event", ev)
	}
	return ev
}

// receive decodes a new genuine delivery of kind about resourceID.
func (w webhooks) receive(t *testing.T, kind commerce.EventKind, resourceID string) commerce.Event {
	t.Helper()
	h, body := w.delivery(t, kind, resourceID)
	return w.decode(t, h, body)
}

// webhookDecode: a genuine delivery of each kind decodes to that kind,
// naming its resource and, for orders and customers, carrying it.
func (s *suite) webhookDecode(t *testing.T) {
	w := s.webhooks(t)
	for _, tc := range []struct {
		kind     commerce.EventKind
		resource string
	}{
		{commerce.EventOrder, w.order.ID},
		{commerce.EventOrderDeleted, w.order.ID},
		{commerce.EventCustomer, w.customer.ID},
		{commerce.EventCustomerDeleted, w.customer.ID},
		{commerce.EventCustomerRedact, w.customer.ID},
		{commerce.EventCustomerDataRequest, w.customer.ID},
		{commerce.EventShopRedact, ""},
		{commerce.EventUninstalled, ""},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			ev := w.receive(t, tc.kind, tc.resource)
			if ev.Kind != tc.kind {
				t.Errorf("Kind = %q, want %q", ev.Kind, tc.kind)
			}
			if ev.ResourceID != tc.resource {
				t.Errorf("ResourceID = %q, want %q", ev.ResourceID, tc.resource)
			}
			switch tc.kind {
			case commerce.EventOrder:
				if ev.Order == nil {
					t.Fatal("Order is nil, want the order's state")
				}
				checkOrder(t, *ev.Order, w.order)
			case commerce.EventCustomer:
				if ev.Customer == nil {
					t.Fatal("Customer is nil, want the customer")
				}
				checkCustomer(t, *ev.Customer, w.customer)
			}
		})
	}
}

// webhookRedelivery: the same delivery decoded twice has the same
// DedupeKey, so the inbox stores it once.
func (s *suite) webhookRedelivery(t *testing.T) {
	w := s.webhooks(t)
	h, body := w.delivery(t, commerce.EventOrder, w.order.ID)
	first := w.decode(t, h, body)
	again := w.decode(t, h.Clone(), bytes.Clone(body))
	if again.DedupeKey != first.DedupeKey {
		t.Errorf("a redelivery has DedupeKey %q, want the first delivery's %q", again.DedupeKey, first.DedupeKey)
	}
}

// webhookNewEvent: an event about a changed order has a new DedupeKey and
// carries the change, so the inbox does not drop it as a duplicate.
func (s *suite) webhookNewEvent(t *testing.T) {
	w := s.webhooks(t)
	first := w.receive(t, commerce.EventOrder, w.order.ID)
	paid := w.order
	paid.State, paid.UpdatedAt = commerce.StatePaid, w.order.UpdatedAt.Add(time.Hour)
	w.f.AddOrders(t, paid)
	second := w.receive(t, commerce.EventOrder, w.order.ID)
	if second.DedupeKey == first.DedupeKey {
		t.Errorf("the events before and after the order changed share DedupeKey %q", first.DedupeKey)
	}
	if second.Order == nil {
		t.Fatal("Order is nil, want the order's new state")
	}
	checkOrder(t, *second.Order, paid)
}

// webhookForged: a delivery signed with another secret fails with
// ErrBadSignature, even when its body is not JSON: the signature is checked
// before anything is parsed.
func (s *suite) webhookForged(t *testing.T) {
	w := s.webhooks(t)
	h, body := w.delivery(t, commerce.EventOrder, w.order.ID)
	wantBadSignature(t, "a forged delivery", w.src, w.sign.Sign(t, h, body, Forged), body)
	garbage := []byte(`{"id": `)
	wantBadSignature(t, "a forged delivery of a broken body", w.src, w.sign.Sign(t, h, garbage, Forged), garbage)
}

// webhookUnsigned: a delivery without a signature fails with
// ErrBadSignature.
func (s *suite) webhookUnsigned(t *testing.T) {
	w := s.webhooks(t)
	h, body := w.delivery(t, commerce.EventOrder, w.order.ID)
	wantBadSignature(t, "an unsigned delivery", w.src, w.sign.Sign(t, h, body, Unsigned), body)
}

// webhookTampered: a genuine signature over a changed body fails with
// ErrBadSignature, even when the change leaves the JSON's meaning intact:
// the signature covers the raw bytes.
func (s *suite) webhookTampered(t *testing.T) {
	w := s.webhooks(t)
	h, body := w.delivery(t, commerce.EventOrder, w.order.ID)
	spaced := append(bytes.Clone(body), ' ')
	wantBadSignature(t, "a delivery with a space appended to its body", w.src, h, spaced)
	wantBadSignature(t, "a delivery with a digit changed in its body", w.src, h, changeDigit(body))
}

// webhookBadPayload: a genuinely signed body that cannot be decoded fails
// with ErrBadPayload, not ErrBadSignature, so that it is not mistaken for
// an attack.
func (s *suite) webhookBadPayload(t *testing.T) {
	w := s.webhooks(t)
	h, _ := w.delivery(t, commerce.EventOrder, w.order.ID)
	garbage := []byte(`{"id": `)
	_, err := w.src.DecodeWebhook(w.sign.Sign(t, h, garbage, Genuine), garbage)
	if !errors.Is(err, connectors.ErrBadPayload) || errors.Is(err, connectors.ErrBadSignature) {
		t.Errorf("DecodeWebhook of a signed broken body: got error %v, want one wrapping connectors.ErrBadPayload only", err)
	}
}

// webhookUnknownTopic: a topic loyaltyd does not act on decodes to
// EventUnknown, without an error, so that it is acknowledged and counted.
func (s *suite) webhookUnknownTopic(t *testing.T) {
	w := s.webhooks(t)
	ev := w.receive(t, commerce.EventUnknown, w.order.ID)
	if ev.Kind != commerce.EventUnknown {
		t.Errorf("Kind = %q, want %q", ev.Kind, commerce.EventUnknown)
	}
}

func wantBadSignature(t *testing.T, what string, src connectors.WebhookSource, h http.Header, body []byte) {
	t.Helper()
	ev, err := src.DecodeWebhook(h, body)
	if !errors.Is(err, connectors.ErrBadSignature) {
		t.Errorf("DecodeWebhook of %s: got event %+v, error %v; want an error wrapping connectors.ErrBadSignature", what, ev, err)
	}
}

// changeDigit returns body with its first digit changed, or its first byte
// when it has no digit.
func changeDigit(body []byte) []byte {
	out := bytes.Clone(body)
	for i, b := range out {
		if b >= '0' && b <= '9' {
			out[i] = '0' + (b-'0'+1)%10
			return out
		}
	}
	if len(out) > 0 {
		out[0] ^= 1
	}
	return out
}
