// Package connectors is the contract between loyaltyd and the e-commerce
// platforms it serves.
//
// A connector translates: it reads a platform's orders and customers page by
// page and turns them into commerce types, and it writes tags, discount codes
// and customer fields back. It holds no loyalty rules and touches no
// database. The required interface is Connector; everything else a platform
// may or may not offer is an optional interface (TagWriter, DiscountWriter,
// MetafieldWriter, WebhookSource, Checker) found by type assertion.
//
// Each platform lives in its own folder under connectors/ and registers a
// Factory in its init function:
//
//	func init() { connectors.Register("shopify", Open) }
//
// connectors/all imports every connector for the binary; the conformance
// suite in connectors/connectortest keeps them honest.
package connectors

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Cursor marks a position in a platform's stream of changed records.
//
// Sync chooses the window, [Since, Until), from its saved high-water mark
// and the time the pass began; the connector moves Token, its own
// continuation inside the window (a page_info, a page number, a last key),
// which the caller treats as opaque and saves as it is. A cursor returned in
// Page.Next can be saved and handed back to the connector after a restart.
type Cursor struct {
	// Since is the inclusive lower bound of the records' update time.
	Since time.Time `json:"since"`
	// Until, unless zero, is the exclusive upper bound of the update time.
	Until time.Time `json:"until,omitzero"`
	// Token is the connector's continuation within the window; empty at the
	// start of a window.
	Token string `json:"token,omitempty"`
}

// Page is one page of records read from a cursor.
type Page[T any] struct {
	// Items are the page's records, in ascending order of update time (and
	// of id among equal times) within one window.
	Items []T
	// Next continues the read after this page. It is meaningful only when
	// Done is false.
	Next Cursor
	// Done is true when the window holds nothing after this page.
	Done bool
}

// Connector reads a store's orders and customers. Sync calls a connector
// from one goroutine at a time; a connector that is also used by a webhook
// handler or an outbox worker must be safe for concurrent use.
//
// Every method honours ctx: when it ends, the method returns an error
// wrapping ctx.Err() promptly.
type Connector interface {
	// Orders returns the next page of orders updated in the cursor's
	// window. Across the pages of a window every order is returned at
	// least once. Within a page, orders are in strictly ascending
	// (UpdatedAt, ID) order; across pages UpdatedAt never goes back, and a
	// page may repeat only orders that share the previous page's last
	// UpdatedAt (an overlap for platforms whose time filter is exclusive
	// or coarse). IDs compare as strings. It returns an error wrapping
	// ErrUnauthorized when the platform refuses the credentials,
	// ErrBadCursor when it cannot continue from c.Token, a
	// *RateLimitError when the platform asks to slow down and the
	// connector's own retries are exhausted, and ctx.Err() when ctx ends.
	// On error nothing of the page is returned.
	Orders(ctx context.Context, c Cursor) (Page[commerce.Order], error)
	// Customers is Orders for customers.
	Customers(ctx context.Context, c Cursor) (Page[commerce.Customer], error)
}

// OrderFetcher is implemented by connectors that can read one order by
// id, so that a webhook naming an order without its state (a Shopify
// refund notice) is applied at once instead of at the next poll.
type OrderFetcher interface {
	// Order returns the order's current state. It returns an error
	// wrapping ErrNotFound when the platform has no such order.
	Order(ctx context.Context, id string) (commerce.Order, error)
}

// TagWriter adds and removes customer tags one by one, never replacing the
// customer's whole tag list.
type TagWriter interface {
	// AddTags adds tags to the customer and keeps its other tags; adding a
	// tag the customer has (in any letter case) is success. It returns an
	// error wrapping ErrNotFound if the customer does not exist, and
	// ErrRejected when the platform refuses the tags for good.
	AddTags(ctx context.Context, customerID string, tags []string) error
	// RemoveTags removes tags from the customer and keeps its other tags;
	// tags compare without regard to case, and removing a tag the customer
	// lacks is success. It returns an error wrapping ErrNotFound if the
	// customer does not exist.
	RemoveTags(ctx context.Context, customerID string, tags []string) error
}

// DiscountWriter creates discount codes.
type DiscountWriter interface {
	// EnsureDiscount makes sure the code exists on the platform: it looks
	// the code up first (codes compare without regard to case, as the
	// platforms compare them) and creates it only when absent, so calling
	// it again after a crash or a timeout never creates a second code. It
	// returns the platform's id of the code. It returns an error wrapping ErrRejected
	// when the platform refuses the code for a reason retrying cannot fix,
	// and ErrNotFound when the customer does not exist.
	EnsureDiscount(ctx context.Context, d commerce.DiscountCode) (id string, err error)
}

// MetafieldWriter writes the program's fields onto a customer record, where
// the store's theme and e-mails can show them (Shopify metafields in the
// "loyalty" namespace, WooCommerce customer meta data).
type MetafieldWriter interface {
	// SetMetafields sets each key to its value and leaves other keys as they
	// are. It returns an error wrapping ErrNotFound if the customer does not
	// exist, and ErrUnsupported when the platform cannot store fields for
	// this customer (a WooCommerce guest).
	SetMetafields(ctx context.Context, customerID string, fields map[string]string) error
}

// WebhookSource verifies and decodes the platform's webhooks.
type WebhookSource interface {
	// DecodeWebhook checks the request's signature over the raw body, in
	// constant time and before parsing anything, then decodes the event. It
	// returns an error wrapping ErrBadSignature when the signature is
	// missing or wrong, and ErrBadPayload when the signature is right but
	// the body cannot be decoded. A topic the connector does not act on is
	// not an error: it decodes to an Event of kind commerce.EventUnknown.
	DecodeWebhook(header http.Header, body []byte) (commerce.Event, error)
}

// WebhookSubscriber is implemented by connectors that can subscribe the
// store's platform to loyaltyd's webhook endpoint (Options.WebhookURL).
type WebhookSubscriber interface {
	// EnsureWebhooks makes sure the platform delivers every topic the
	// connector acts on to the webhook URL: it creates what is missing and
	// re-activates what the platform disabled after failed deliveries. It
	// is safe to call again at any time. It returns ErrUnsupported when no
	// webhook URL is configured.
	EnsureWebhooks(ctx context.Context) (WebhookReport, error)
}

// WebhookReport says what EnsureWebhooks changed, by topic.
type WebhookReport struct {
	// Created lists the topics subscribed to.
	Created []string
	// Reactivated lists the topics whose subscription the platform had
	// disabled and that are active again.
	Reactivated []string
	// Unchanged lists the topics already subscribed and active.
	Unchanged []string
}

// ProxyVerifier is implemented by connectors whose platform can forward a
// shopper's request to loyaltyd with a signature naming the logged-in
// customer (Shopify's app proxy), so that a theme can show the customer
// their balance.
type ProxyVerifier interface {
	// VerifyProxy checks a forwarded request's query (signature, age, the
	// store it was signed for) and returns the logged-in customer's id,
	// empty when nobody is logged in. It returns an error wrapping
	// ErrBadSignature when the request was not signed by the platform for
	// this store.
	VerifyProxy(query url.Values) (shop, customerID string, err error)
}

// Checker is implemented by connectors that can verify, before sync starts,
// that the platform is reachable and the credentials carry what loyaltyd
// needs.
type Checker interface {
	// Check returns an error wrapping ErrUnauthorized for refused
	// credentials, and an error naming each missing permission.
	Check(ctx context.Context) error
}
