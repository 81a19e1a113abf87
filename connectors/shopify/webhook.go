package shopify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

// The headers of a webhook delivery that loyaltyd reads. Only the body is
// signed: the headers say how to read it.
const (
	// HeaderHmac is the base64 HMAC-SHA256 of the raw body under the app's
	// API secret.
	HeaderHmac = "X-Shopify-Hmac-Sha256"
	// HeaderTopic names what happened ("orders/updated").
	HeaderTopic = "X-Shopify-Topic"
	// HeaderEventID identifies the event; two deliveries with the same id
	// are the same event.
	HeaderEventID = "X-Shopify-Event-Id"
	// HeaderWebhookID identifies the delivery, and stays the same on its
	// retries.
	HeaderWebhookID = "X-Shopify-Webhook-Id"
	// HeaderTriggeredAt is when the event happened.
	HeaderTriggeredAt = "X-Shopify-Triggered-At"
	// HeaderShopDomain is the shop's myshopify domain.
	HeaderShopDomain = "X-Shopify-Shop-Domain"
	// HeaderAPIVersion is the API version the payload is written in.
	HeaderAPIVersion = "X-Shopify-API-Version"
)

// The topics DecodeWebhook acts on, named as Shopify names them.
const (
	// TopicOrdersCreate: an order was placed (commerce.EventOrder).
	TopicOrdersCreate = "orders/create"
	// TopicOrdersUpdated: an order changed (commerce.EventOrder).
	TopicOrdersUpdated = "orders/updated"
	// TopicOrdersPaid: an order was paid (commerce.EventOrder).
	TopicOrdersPaid = "orders/paid"
	// TopicOrdersCancelled: an order was cancelled (commerce.EventOrder).
	TopicOrdersCancelled = "orders/cancelled"
	// TopicOrdersDelete: an order was deleted (commerce.EventOrderDeleted).
	TopicOrdersDelete = "orders/delete"
	// TopicRefundsCreate: a refund was made (commerce.EventOrder without
	// the order).
	TopicRefundsCreate = "refunds/create"
	// TopicCustomersCreate: a customer was created (commerce.EventCustomer).
	TopicCustomersCreate = "customers/create"
	// TopicCustomersUpdate: a customer changed (commerce.EventCustomer).
	TopicCustomersUpdate = "customers/update"
	// TopicCustomersDelete: a customer was deleted
	// (commerce.EventCustomerDeleted).
	TopicCustomersDelete = "customers/delete"
	// TopicAppUninstalled: the store removed the app
	// (commerce.EventUninstalled).
	TopicAppUninstalled = "app/uninstalled"
	// TopicCustomersDataRequest: the mandatory request for a customer's
	// data (commerce.EventCustomerDataRequest).
	TopicCustomersDataRequest = "customers/data_request"
	// TopicCustomersRedact: the mandatory request to erase a customer's
	// data (commerce.EventCustomerRedact).
	TopicCustomersRedact = "customers/redact"
	// TopicShopRedact: the mandatory request to erase the shop's data, 48
	// hours after an uninstall (commerce.EventShopRedact).
	TopicShopRedact = "shop/redact"
)

var topicKinds = map[string]commerce.EventKind{
	TopicOrdersCreate:         commerce.EventOrder,
	TopicOrdersUpdated:        commerce.EventOrder,
	TopicOrdersPaid:           commerce.EventOrder,
	TopicOrdersCancelled:      commerce.EventOrder,
	TopicRefundsCreate:        commerce.EventOrder,
	TopicOrdersDelete:         commerce.EventOrderDeleted,
	TopicCustomersCreate:      commerce.EventCustomer,
	TopicCustomersUpdate:      commerce.EventCustomer,
	TopicCustomersDelete:      commerce.EventCustomerDeleted,
	TopicAppUninstalled:       commerce.EventUninstalled,
	TopicCustomersDataRequest: commerce.EventCustomerDataRequest,
	TopicCustomersRedact:      commerce.EventCustomerRedact,
	TopicShopRedact:           commerce.EventShopRedact,
}

// VerifyWebhook checks a delivery's X-Shopify-Hmac-Sha256 against the raw
// body, in constant time, before anything is parsed. It returns an error
// wrapping connectors.ErrBadSignature when the header is missing or does
// not match, or when secret is empty (failing closed).
func VerifyWebhook(secret string, header http.Header, body []byte) error {
	if secret == "" {
		return fmt.Errorf("%w: no api_secret to verify with", connectors.ErrBadSignature)
	}
	sig := header.Get(HeaderHmac)
	if sig == "" {
		return fmt.Errorf("%w: no %s header", connectors.ErrBadSignature, HeaderHmac)
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil || !hmac.Equal(got, webhookMAC(secret, body)) {
		return fmt.Errorf("%w: %s does not match the body", connectors.ErrBadSignature, HeaderHmac)
	}
	return nil
}

func webhookMAC(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// DecodeWebhook verifies a delivery (VerifyWebhook, with the store's
// api_secret) and then decodes it:
//
//   - orders/create, orders/updated, orders/paid, orders/cancelled: an
//     EventOrder carrying the order, converted as Orders converts it;
//   - refunds/create: an EventOrder whose ResourceID is the refund's order
//     and whose Order is nil, since the payload is the refund alone: the
//     consumer refetches the order (Connector.Order) or waits for the poll,
//     which sees the order's new updated_at;
//   - orders/delete, customers/delete: EventOrderDeleted,
//     EventCustomerDeleted with the id;
//   - customers/create, customers/update: an EventCustomer with the
//     customer;
//   - customers/redact, customers/data_request: the customer's id and
//     e-mail; shop/redact and app/uninstalled: no resource;
//   - any other topic: EventUnknown, without reading the body.
//
// DedupeKey is X-Shopify-Event-Id, else X-Shopify-Webhook-Id, else a
// digest of topic and body. It returns an error wrapping
// connectors.ErrBadSignature as VerifyWebhook does, and
// connectors.ErrBadPayload when a genuine delivery has no topic or a body
// that cannot be decoded.
func (c *Connector) DecodeWebhook(header http.Header, body []byte) (commerce.Event, error) {
	return decodeWebhook(c.opts.APISecret.Reveal(), header, body)
}

func decodeWebhook(secret string, header http.Header, body []byte) (commerce.Event, error) {
	fail := func(err error) (commerce.Event, error) {
		return commerce.Event{}, fmt.Errorf("shopify: webhook: %w", err)
	}
	if err := VerifyWebhook(secret, header, body); err != nil {
		return fail(err)
	}
	ev := commerce.Event{Topic: strings.TrimSpace(header.Get(HeaderTopic))}
	if ev.Topic == "" {
		return fail(fmt.Errorf("%w: no %s header", connectors.ErrBadPayload, HeaderTopic))
	}
	ev.DedupeKey = dedupeKey(header, ev.Topic, body)
	// The header is not signed: a value that does not parse is left out
	// rather than failing a genuine body.
	if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(header.Get(HeaderTriggeredAt))); err == nil {
		ev.OccurredAt = t.UTC()
	}
	kind, ok := topicKinds[ev.Topic]
	if !ok {
		ev.Kind = commerce.EventUnknown
		return ev, nil
	}
	ev.Kind = kind
	if err := decodeBody(&ev, body); err != nil {
		return fail(fmt.Errorf("%w: %s: %w", connectors.ErrBadPayload, ev.Topic, err))
	}
	return ev, nil
}

// dedupeKey is the event id, else the delivery id (the same on Shopify's
// retries), else a digest, which a redelivery of the same body shares.
func dedupeKey(h http.Header, topic string, body []byte) string {
	if id := strings.TrimSpace(h.Get(HeaderEventID)); id != "" {
		return id
	}
	if id := strings.TrimSpace(h.Get(HeaderWebhookID)); id != "" {
		return "webhook:" + id
	}
	sum := sha256.Sum256(append([]byte(topic+"\n"), body...))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// subject is the body of a redact or data request.
type subject struct {
	Customer *struct {
		ID    numID     `json:"id"`
		Email optString `json:"email"`
	} `json:"customer"`
}

// decodeBody fills the event from the body of a topic in topicKinds.
func decodeBody(ev *commerce.Event, body []byte) error {
	switch ev.Topic {
	case TopicRefundsCreate:
		var r struct {
			OrderID numID `json:"order_id"`
		}
		if err := decodeStrict(body, &r); err != nil {
			return err
		}
		if r.OrderID == "" {
			return errors.New("refund without an order_id")
		}
		ev.ResourceID = string(r.OrderID)
		return nil
	}
	switch ev.Kind {
	case commerce.EventOrder:
		o, err := convertOrder(body)
		if err != nil {
			return err
		}
		ev.Order, ev.ResourceID = &o, o.ID
	case commerce.EventCustomer:
		cu, err := convertCustomer(body)
		if err != nil {
			return err
		}
		ev.Customer, ev.ResourceID = &cu, cu.ID
	case commerce.EventOrderDeleted, commerce.EventCustomerDeleted:
		var r struct {
			ID numID `json:"id"`
		}
		if err := decodeStrict(body, &r); err != nil {
			return err
		}
		if r.ID == "" {
			return errors.New("no id")
		}
		ev.ResourceID = string(r.ID)
	case commerce.EventCustomerRedact, commerce.EventCustomerDataRequest:
		var s subject
		if err := decodeStrict(body, &s); err != nil {
			return err
		}
		if s.Customer == nil || s.Customer.ID == "" {
			return errors.New("no customer id")
		}
		ev.ResourceID = string(s.Customer.ID)
		ev.Customer = &commerce.Customer{ID: ev.ResourceID, Email: string(s.Customer.Email)}
	default: // shop/redact, app/uninstalled: nothing to read, but it must be JSON
		var v map[string]json.RawMessage
		if err := decodeStrict(body, &v); err != nil {
			return err
		}
	}
	return nil
}
