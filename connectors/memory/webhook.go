package memory

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

// The headers of a webhook delivery. Like Shopify's, only the body is
// signed; the headers say how to read it.
const (
	// HeaderTopic names what happened ("orders/updated").
	HeaderTopic = "X-Memory-Topic"
	// HeaderEventID identifies the event; a redelivery carries the same id.
	HeaderEventID = "X-Memory-Event-Id"
	// HeaderSignature is Sign(secret, body).
	HeaderSignature = "X-Memory-Signature"
	// HeaderTriggeredAt is when the event happened, in RFC 3339.
	HeaderTriggeredAt = "X-Memory-Triggered-At"
)

// The topics a Platform sends, named as Shopify names them. A body carries
// the order or customer as the platform holds it for create and update
// topics, {"id": …} for deletions, {"customer": {"id": …, "email": …}} for
// redact and data requests, and {} for shop/redact and app/uninstalled.
const (
	// TopicOrdersCreate: an order was placed (commerce.EventOrder).
	TopicOrdersCreate = "orders/create"
	// TopicOrdersUpdated: an order changed (commerce.EventOrder).
	TopicOrdersUpdated = "orders/updated"
	// TopicOrdersDelete: an order was deleted (commerce.EventOrderDeleted).
	TopicOrdersDelete = "orders/delete"
	// TopicCustomersCreate: a customer signed up (commerce.EventCustomer).
	TopicCustomersCreate = "customers/create"
	// TopicCustomersUpdate: a customer changed (commerce.EventCustomer).
	TopicCustomersUpdate = "customers/update"
	// TopicCustomersDelete: a customer was deleted
	// (commerce.EventCustomerDeleted).
	TopicCustomersDelete = "customers/delete"
	// TopicCustomersRedact: erase a customer's personal data
	// (commerce.EventCustomerRedact).
	TopicCustomersRedact = "customers/redact"
	// TopicCustomersDataRequest: export a customer's data
	// (commerce.EventCustomerDataRequest).
	TopicCustomersDataRequest = "customers/data_request"
	// TopicShopRedact: erase the store's personal data
	// (commerce.EventShopRedact).
	TopicShopRedact = "shop/redact"
	// TopicAppUninstalled: the store removed loyaltyd
	// (commerce.EventUninstalled).
	TopicAppUninstalled = "app/uninstalled"
)

var topicKinds = map[string]commerce.EventKind{
	TopicOrdersCreate:         commerce.EventOrder,
	TopicOrdersUpdated:        commerce.EventOrder,
	TopicOrdersDelete:         commerce.EventOrderDeleted,
	TopicCustomersCreate:      commerce.EventCustomer,
	TopicCustomersUpdate:      commerce.EventCustomer,
	TopicCustomersDelete:      commerce.EventCustomerDeleted,
	TopicCustomersRedact:      commerce.EventCustomerRedact,
	TopicCustomersDataRequest: commerce.EventCustomerDataRequest,
	TopicShopRedact:           commerce.EventShopRedact,
	TopicAppUninstalled:       commerce.EventUninstalled,
}

// idBody is the body of a deletion.
type idBody struct {
	ID string `json:"id"`
}

// subjectBody is the body of a redact or data request.
type subjectBody struct {
	Customer struct {
		ID    string `json:"id"`
		Email string `json:"email,omitempty"`
	} `json:"customer"`
}

// Sign returns the signature of a webhook body: the base64 HMAC-SHA256 of
// the raw bytes under secret, as Shopify computes X-Shopify-Hmac-Sha256.
func Sign(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(mac(secret, body))
}

func mac(secret string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(body)
	return h.Sum(nil)
}

// Webhook builds the delivery the platform would send now for topic about
// the order or customer resourceID: headers and raw body, signed with the
// platform's secret, under a new event id. The body is built from the
// record's current state, so a delivery made after a change carries the
// change. A topic the platform does not know is sent with {"id": …}, so
// that tests can deliver topics loyaltyd ignores. It returns an error
// wrapping connectors.ErrNotFound when a create or update topic names a
// record that does not exist, and an error when the platform has no webhook
// secret.
func (p *Platform) Webhook(topic, resourceID string) (http.Header, []byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.secret == "" {
		return nil, nil, fmt.Errorf("memory: webhook %s: the platform has no webhook secret", topic)
	}
	var body any
	switch topic {
	case TopicOrdersCreate, TopicOrdersUpdated:
		o, ok := p.orders[resourceID]
		if !ok {
			return nil, nil, fmt.Errorf("memory: webhook %s: order %s: %w", topic, resourceID, connectors.ErrNotFound)
		}
		body = o
	case TopicCustomersCreate, TopicCustomersUpdate:
		c, ok := p.customers[resourceID]
		if !ok {
			return nil, nil, fmt.Errorf("memory: webhook %s: customer %s: %w", topic, resourceID, connectors.ErrNotFound)
		}
		body = c
	case TopicCustomersRedact, TopicCustomersDataRequest:
		// Redact requests typically follow a deletion, so the customer may
		// be gone: the request still names it.
		var s subjectBody
		s.Customer.ID = resourceID
		s.Customer.Email = p.customers[resourceID].Email
		body = s
	case TopicShopRedact, TopicAppUninstalled:
		body = struct{}{}
	default:
		body = idBody{ID: resourceID}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, nil, fmt.Errorf("memory: webhook %s: %w", topic, err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderTopic, topic)
	h.Set(HeaderEventID, p.nextID("event"))
	h.Set(HeaderTriggeredAt, p.now().UTC().Format(time.RFC3339Nano))
	h.Set(HeaderSignature, Sign(p.secret, b))
	return h, b, nil
}

// DecodeWebhook verifies a delivery's signature over the raw body, in
// constant time, before it reads anything else, then decodes the event.
// It returns an error wrapping connectors.ErrBadSignature when the signature
// is missing or wrong or no secret is configured (failing closed), and
// connectors.ErrBadPayload when a correctly signed delivery lacks its topic
// or event id or its body cannot be decoded. A topic loyaltyd does not act
// on decodes, without its body being read, to an event of kind
// commerce.EventUnknown. DedupeKey is the event id.
func (c *Connector) DecodeWebhook(header http.Header, body []byte) (commerce.Event, error) {
	fail := func(err error) (commerce.Event, error) {
		return commerce.Event{}, fmt.Errorf("memory: webhook: %w", err)
	}
	if err := verify(c.secret, header.Get(HeaderSignature), body); err != nil {
		return fail(err)
	}
	ev := commerce.Event{Topic: header.Get(HeaderTopic), DedupeKey: header.Get(HeaderEventID)}
	if ev.Topic == "" {
		return fail(fmt.Errorf("%w: no %s header", connectors.ErrBadPayload, HeaderTopic))
	}
	if ev.DedupeKey == "" {
		return fail(fmt.Errorf("%w: no %s header", connectors.ErrBadPayload, HeaderEventID))
	}
	if at := header.Get(HeaderTriggeredAt); at != "" {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return fail(fmt.Errorf("%w: %s: %w", connectors.ErrBadPayload, HeaderTriggeredAt, err))
		}
		ev.OccurredAt = t
	}
	kind, ok := topicKinds[ev.Topic]
	if !ok {
		ev.Kind = commerce.EventUnknown
		return ev, nil
	}
	ev.Kind = kind
	var err error
	switch kind {
	case commerce.EventOrder:
		var o commerce.Order
		if err = decodeBody(body, &o); err == nil {
			if o.ID == "" {
				err = fmt.Errorf("%w: order without an id", connectors.ErrBadPayload)
			}
			o.Raw = bytes.Clone(body)
			ev.Order, ev.ResourceID = &o, o.ID
		}
	case commerce.EventCustomer:
		var cu commerce.Customer
		if err = decodeBody(body, &cu); err == nil {
			if cu.ID == "" {
				err = fmt.Errorf("%w: customer without an id", connectors.ErrBadPayload)
			}
			cu.Raw = bytes.Clone(body)
			ev.Customer, ev.ResourceID = &cu, cu.ID
		}
	case commerce.EventOrderDeleted, commerce.EventCustomerDeleted:
		var b idBody
		if err = decodeBody(body, &b); err == nil {
			if b.ID == "" {
				err = fmt.Errorf("%w: no id", connectors.ErrBadPayload)
			}
			ev.ResourceID = b.ID
		}
	case commerce.EventCustomerRedact, commerce.EventCustomerDataRequest:
		var b subjectBody
		if err = decodeBody(body, &b); err == nil {
			if b.Customer.ID == "" {
				err = fmt.Errorf("%w: no customer id", connectors.ErrBadPayload)
			}
			ev.Customer = &commerce.Customer{ID: b.Customer.ID, Email: b.Customer.Email}
			ev.ResourceID = b.Customer.ID
		}
	default: // shop/redact, app/uninstalled: nothing to read but well-formed JSON
		var b struct{}
		err = decodeBody(body, &b)
	}
	if err != nil {
		return fail(err)
	}
	return ev, nil
}

// verify checks sig against the body's MAC under secret.
func verify(secret, sig string, body []byte) error {
	switch {
	case secret == "":
		return fmt.Errorf("%w: no webhook secret configured", connectors.ErrBadSignature)
	case sig == "":
		return fmt.Errorf("%w: no %s header", connectors.ErrBadSignature, HeaderSignature)
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(secret, body)) {
		return fmt.Errorf("%w: %s does not match the body", connectors.ErrBadSignature, HeaderSignature)
	}
	return nil
}

func decodeBody(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %w", connectors.ErrBadPayload, err)
	}
	return nil
}
