package woocommerce

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

// The headers of a WooCommerce webhook delivery.
const (
	// HeaderSignature is the base64 HMAC-SHA256 of the raw body, keyed
	// with the webhook's secret.
	HeaderSignature = "X-WC-Webhook-Signature"
	// HeaderTopic names what happened ("order.updated").
	HeaderTopic = "X-WC-Webhook-Topic"
	// HeaderResource and HeaderEvent are the topic's two halves.
	HeaderResource = "X-WC-Webhook-Resource"
	HeaderEvent    = "X-WC-Webhook-Event"
	// HeaderWebhookID is the subscription's id.
	HeaderWebhookID = "X-WC-Webhook-ID"
	// HeaderDeliveryID is a hash of the subscription's id and the second
	// of delivery: two deliveries in one second share it, so it is no
	// event id.
	HeaderDeliveryID = "X-WC-Webhook-Delivery-ID"
	// HeaderSource is the site's address.
	HeaderSource = "X-WC-Webhook-Source"
)

// topicKinds maps the topics loyaltyd acts on to event kinds. The bodies
// of created, updated and restored events are the resource's REST form,
// built when the delivery runs (not when the event happened); deleted
// events carry only {"id": N}.
var topicKinds = map[string]commerce.EventKind{
	"order.created":    commerce.EventOrder,
	"order.updated":    commerce.EventOrder,
	"order.restored":   commerce.EventOrder,
	"order.deleted":    commerce.EventOrderDeleted,
	"customer.created": commerce.EventCustomer,
	"customer.updated": commerce.EventCustomer,
	"customer.deleted": commerce.EventCustomerDeleted,
}

// Sign returns the signature WooCommerce puts in X-WC-Webhook-Signature:
// the base64 HMAC-SHA256 of the raw body under the webhook's secret.
func Sign(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(mac(secret, body))
}

func mac(secret string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(body)
	return h.Sum(nil)
}

// verify checks sig against the body's MAC, in constant time.
func verify(secret, sig string, body []byte) error {
	switch {
	case secret == "":
		return fmt.Errorf("%w: no webhook_secret configured", connectors.ErrBadSignature)
	case sig == "":
		return fmt.Errorf("%w: no %s header", connectors.ErrBadSignature, HeaderSignature)
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil || !hmac.Equal(got, mac(secret, body)) {
		return fmt.Errorf("%w: %s does not match the body", connectors.ErrBadSignature, HeaderSignature)
	}
	return nil
}

// pingID returns N when body is WooCommerce's ping, the form-encoded
// "webhook_id=N" it sends, unsigned, when a subscription is created or
// activated.
func pingID(body []byte) (string, bool) {
	if len(body) > 64 {
		return "", false
	}
	v, err := url.ParseQuery(string(bytes.TrimSpace(body)))
	if err != nil || len(v) != 1 || len(v["webhook_id"]) != 1 {
		return "", false
	}
	id := v.Get("webhook_id")
	if _, ok := customerNumber(id); !ok {
		return "", false
	}
	return id, true
}

// DecodeWebhook decodes a WooCommerce delivery. The unsigned ping
// ("webhook_id=N", with no topic header) decodes to commerce.EventPing, which
// the caller answers 200 and does not store. Anything else must carry a
// signature over the raw body, checked in constant time before anything is
// parsed: bodies are PHP-style JSON ("\/", "\u20ac") that re-encoding would
// change. Topics of orders and customers decode to their kinds, carrying
// the order or customer; any other topic decodes to commerce.EventUnknown.
// DedupeKey is built from the subscription, the resource, its id and its
// date_modified_gmt (for deletions, the delivery id): WooCommerce's
// delivery id alone is not unique. Orders decoded from a webhook carry their
// refunds' amounts but not their lines, which only the refunds endpoint has:
// polling completes them.
//
// It returns an error wrapping connectors.ErrBadSignature when the
// signature is missing or wrong or no webhook_secret is set, and
// connectors.ErrBadPayload when a signed delivery lacks its topic or
// subscription id, or its body cannot be decoded.
func (c *Connector) DecodeWebhook(header http.Header, body []byte) (commerce.Event, error) {
	fail := func(err error) (commerce.Event, error) {
		return commerce.Event{}, fmt.Errorf("woocommerce: webhook: %w", err)
	}
	if header.Get(HeaderTopic) == "" && header.Get(HeaderSignature) == "" {
		if id, ok := pingID(body); ok {
			return commerce.Event{Kind: commerce.EventPing, Topic: "ping", DedupeKey: "woocommerce:ping:" + id}, nil
		}
	}
	if err := verify(c.set.webhookSecret, header.Get(HeaderSignature), body); err != nil {
		return fail(err)
	}
	return decodeEvent(header, body, c.set.statusMap)
}

// decodeEvent decodes a delivery whose signature was verified.
func decodeEvent(header http.Header, body []byte, custom map[string]commerce.FinancialState) (commerce.Event, error) {
	fail := func(err error) (commerce.Event, error) {
		return commerce.Event{}, fmt.Errorf("woocommerce: webhook: %w", err)
	}
	bad := func(format string, args ...any) (commerce.Event, error) {
		return fail(fmt.Errorf("%w: "+format, append([]any{connectors.ErrBadPayload}, args...)...))
	}
	topic := strings.TrimSpace(header.Get(HeaderTopic))
	if topic == "" {
		return bad("no %s header", HeaderTopic)
	}
	hook := strings.TrimSpace(header.Get(HeaderWebhookID))
	if _, ok := customerNumber(hook); !ok {
		return bad("%s is %q, want the subscription's id", HeaderWebhookID, truncate(hook, 24))
	}
	ev := commerce.Event{Topic: truncate(topic, 100)}
	kind, ok := topicKinds[topic]
	if !ok {
		ev.Kind = commerce.EventUnknown
		sum := sha256.Sum256(body)
		ev.DedupeKey = "woocommerce:" + hook + ":" + ev.Topic + ":" + hex.EncodeToString(sum[:12])
		return ev, nil
	}
	ev.Kind = kind
	resource, _, _ := strings.Cut(topic, ".")
	switch kind {
	case commerce.EventOrder:
		var w wireOrder
		if err := decodeStrict(body, &w); err != nil {
			return bad("order: %v", err)
		}
		o, err := convertOrder(w, nil, custom)
		if err != nil {
			return bad("%v", err)
		}
		o.Raw = bytes.Clone(body)
		ev.Order, ev.ResourceID, ev.OccurredAt = &o, o.ID, o.UpdatedAt
		ev.DedupeKey = dedupeKey(hook, resource, o.ID, formatWireTime(o.UpdatedAt))
	case commerce.EventCustomer:
		var w wireCustomer
		if err := decodeStrict(body, &w); err != nil {
			return bad("customer: %v", err)
		}
		cu, err := convertCustomer(w)
		if err != nil {
			return bad("%v", err)
		}
		cu.Raw = bytes.Clone(body)
		ev.Customer, ev.ResourceID, ev.OccurredAt = &cu, cu.ID, cu.UpdatedAt
		ev.DedupeKey = dedupeKey(hook, resource, cu.ID, formatWireTime(cu.UpdatedAt))
	default: // order.deleted, customer.deleted: {"id": N}
		var b struct {
			ID wireID `json:"id"`
		}
		if err := decodeStrict(body, &b); err != nil {
			return bad("%s: %v", topic, err)
		}
		if b.ID == 0 {
			return bad("%s without an id", topic)
		}
		ev.ResourceID = b.ID.String()
		delivery := strings.TrimSpace(header.Get(HeaderDeliveryID))
		if delivery == "" {
			sum := sha256.Sum256(body)
			delivery = hex.EncodeToString(sum[:12])
		}
		ev.DedupeKey = dedupeKey(hook, resource, ev.ResourceID, "deleted:"+truncate(delivery, 64))
	}
	return ev, nil
}

func dedupeKey(hook, resource, id, version string) string {
	return "woocommerce:" + hook + ":" + resource + ":" + id + ":" + version
}
