package commerce

import "time"

// EventKind says what a platform event is about, across platforms.
type EventKind string

// The kinds of platform events loyaltyd acts on.
const (
	// EventOrder: an order was created or changed (paid, refunded,
	// cancelled, edited); Order holds its new state, or is nil when the
	// delivery names the order without it (a refund notice): the order is
	// then read from the platform.
	EventOrder EventKind = "order"
	// EventOrderDeleted: an order was deleted; ResourceID names it.
	EventOrderDeleted EventKind = "order_deleted"
	// EventCustomer: a customer was created or changed; Customer holds it.
	EventCustomer EventKind = "customer"
	// EventCustomerDeleted: a customer was deleted; ResourceID names it.
	EventCustomerDeleted EventKind = "customer_deleted"
	// EventCustomerRedact: the platform asks to erase a customer's personal data.
	EventCustomerRedact EventKind = "customer_redact"
	// EventCustomerDataRequest: the platform asks for an export of a customer's data.
	EventCustomerDataRequest EventKind = "customer_data_request"
	// EventShopRedact: the platform asks to erase the store's personal data.
	EventShopRedact EventKind = "shop_redact"
	// EventUninstalled: the store removed loyaltyd's access.
	EventUninstalled EventKind = "uninstalled"
	// EventPing: a delivery test with nothing to apply.
	EventPing EventKind = "ping"
	// EventUnknown: a topic loyaltyd does not act on; acknowledged and counted.
	EventUnknown EventKind = "unknown"
)

// Event is a verified platform notification (a webhook), decoded.
type Event struct {
	// Kind says what the event is about.
	Kind EventKind `json:"kind"`
	// Topic is the platform's own name for it ("orders/updated", "order.updated").
	Topic string `json:"topic"`
	// DedupeKey identifies the event across redeliveries; two events with
	// the same key are the same event.
	DedupeKey string `json:"dedupe_key"`
	// ResourceID is the id of the order or customer concerned, if any.
	ResourceID string `json:"resource_id,omitempty"`
	// OccurredAt is when the platform says the event happened; zero if it
	// does not say.
	OccurredAt time.Time `json:"occurred_at,omitzero"`
	// Order is the order's state carried by an EventOrder.
	Order *Order `json:"order,omitempty"`
	// Customer is the customer carried by an EventCustomer, or the customer
	// concerned by a redact or data request (id and e-mail only).
	Customer *Customer `json:"customer,omitempty"`
}
