// Package connectortest is the conformance suite for connectors: the
// contract of package connectors, written as tests that any connector and
// the fake of its platform can run.
//
// A connector's tests call Run with a function that starts a fresh fake of
// the platform for each subtest:
//
//	func TestConformance(t *testing.T) {
//		connectortest.Run(t, func(t *testing.T) connectortest.Fake {
//			return newFakeShop(t) // an httptest.Server that behaves like the platform
//		}, connectortest.Options{PageSize: 50})
//	}
//
// The suite seeds the fake through Fake, reads and writes through the
// connector the fake opens, and reads the platform's state back through
// Fake. Subtests of optional capabilities (connectors.TagWriter, …) skip
// themselves when the connector lacks the capability, and those that need
// more of the fake (FaultInjector, AccessRevoker, WebhookSigner) skip when
// the fake lacks it. A connector waives a subtest only with a written
// reason, in Options.Skip.
//
// Every error the contract documents has a subtest that checks it with
// errors.Is or errors.As: ErrUnauthorized (Orders, Customers and Checker
// "Unauthorized"), *RateLimitError ("RateLimited"), ctx.Err() ("Cancelled"
// in every group), ErrNotFound (each writer's "NotFound"), ErrRejected
// (DiscountWriter/Rejected), ErrUnsupported (MetafieldWriter/Guest),
// ErrBadSignature (WebhookSource "Forged", "Unsigned", "Tampered") and
// ErrBadPayload (WebhookSource/BadPayload).
//
// The suite's records carry ids of ten decimal digits, which sort the same
// as strings and as numbers, and update times in whole seconds, which every
// platform can store.
package connectortest

import (
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

// DefaultPageSize is the page size Run assumes when Options.PageSize is zero.
const DefaultPageSize = 50

// Fake is a fake of a platform that the suite can drive: seed data, and
// read back what the connector wrote. Run starts one per subtest, and
// subtests run in parallel, so fakes must not share state.
type Fake interface {
	// Connector opens a connector on this fake as loyaltyd would open it:
	// through the registry, with the fake's address and secrets as the
	// store's settings. Every call returns a new connector, as after a
	// restart, on the same platform.
	Connector(t testing.TB) connectors.Connector
	// AddCustomers creates the customers on the platform, or replaces those
	// with the same id, with the given ids, tags and update times.
	AddCustomers(t testing.TB, cs ...commerce.Customer)
	// AddOrders creates the orders on the platform, or replaces those with
	// the same id, with the given ids, states, refunds and update times.
	AddOrders(t testing.TB, os ...commerce.Order)
	// Tags returns the customer's tags as the platform holds them.
	Tags(t testing.TB, customerID string) []string
	// DiscountCreations returns how many times the platform created the
	// code, compared without regard to case.
	DiscountCreations(t testing.TB, code string) int
	// Metafields returns the customer's fields as the platform holds them
	// (Shopify metafields, WooCommerce meta data), under the keys given to
	// SetMetafields.
	Metafields(t testing.TB, customerID string) map[string]string
}

// Op names a platform operation a FaultInjector can make fail: the
// platform's side of a connector call (the request, for an HTTP platform).
type Op string

// The operations a FaultInjector must understand.
const (
	// OpOrders is the platform's list of orders.
	OpOrders Op = "orders"
	// OpCustomers is the platform's list of customers.
	OpCustomers Op = "customers"
	// OpAddTags is the platform's call that adds tags.
	OpAddTags Op = "add_tags"
	// OpRemoveTags is the platform's call that removes tags.
	OpRemoveTags Op = "remove_tags"
	// OpEnsureDiscount is the platform's call that creates a discount code.
	OpEnsureDiscount Op = "ensure_discount"
	// OpSetMetafields is the platform's call that writes customer fields.
	OpSetMetafields Op = "set_metafields"
)

// FaultInjector is implemented by fakes that can fail on demand. Without it
// the subtests about failures skip.
type FaultInjector interface {
	// FailNext makes the platform's next n calls of op fail as a passing
	// outage does (a 500 or 503, a dropped connection) before they do
	// anything. Retrying later succeeds.
	FailNext(t testing.TB, op Op, n int)
	// RateLimitNext makes the platform's next n calls of op answer that the
	// caller must slow down (a 429 with Retry-After).
	RateLimitNext(t testing.TB, op Op, n int)
	// FailAfterWrite makes the platform's next n calls of op do their work
	// and then fail before the connector learns the outcome, as a timeout
	// after the platform committed a write does; for a read, the answer is
	// cut off on the way (a connection reset halfway through the body).
	FailAfterWrite(t testing.TB, op Op, n int)
}

// AccessRevoker is implemented by fakes that can withdraw the connector's
// access, as an uninstalled app or a rotated token does.
type AccessRevoker interface {
	// RevokeAccess makes the platform refuse the connector's credentials
	// from now on.
	RevokeAccess(t testing.TB)
}

// Signature says how WebhookSigner.Sign signs a delivery.
type Signature int

// The ways to sign a delivery.
const (
	// Genuine signs with the secret the connector was opened with.
	Genuine Signature = iota
	// Forged signs with another secret.
	Forged
	// Unsigned removes the signature.
	Unsigned
)

// WebhookSigner is implemented by fakes that can build webhook deliveries
// as the platform sends them.
type WebhookSigner interface {
	// Webhook returns a genuine delivery (headers and raw body) of an event
	// of the given kind about the order or customer resourceID, built from
	// the platform's current state under a new event id; resourceID is
	// empty for shop-wide kinds. For commerce.EventUnknown it uses a topic
	// the platform sends and loyaltyd does not act on. ok is false when the
	// platform sends no such event.
	Webhook(t testing.TB, kind commerce.EventKind, resourceID string) (header http.Header, body []byte, ok bool)
	// Sign returns a copy of header with the signature of body replaced as
	// s says.
	Sign(t testing.TB, header http.Header, body []byte, s Signature) http.Header
}

// Options adapts the suite to a connector.
type Options struct {
	// Skip waives subtests: it maps a subtest's name under Run ("Orders",
	// "TagWriter/NotFound") to the reason it cannot pass. A name that is no
	// subtest, or a reason left empty, fails the run, so that waivers
	// cannot outlive their cause unnoticed.
	Skip map[string]string
	// PageSize is the number of records the connector reads per page on
	// this fake; the suite seeds more than three pages' worth. Zero means
	// DefaultPageSize.
	PageSize int
}

// Run runs the conformance suite as subtests of t, grouped as Names lists
// them. newFake is called once per subtest, from parallel subtests, and must
// return a fake with an empty platform. Waivers in opt.Skip that name no
// subtest or give no reason fail t.
func Run(t *testing.T, newFake func(t *testing.T) Fake, opt Options) {
	t.Helper()
	if opt.PageSize < 0 {
		t.Fatalf("connectortest: Options.PageSize is %d, want 0 or more", opt.PageSize)
	}
	if opt.PageSize == 0 {
		opt.PageSize = DefaultPageSize
	}
	for _, err := range checkSkip(opt.Skip) {
		t.Error(err)
	}
	s := &suite{newFake: newFake, pageSize: opt.PageSize}
	for _, g := range s.groups() {
		t.Run(g.name, func(t *testing.T) {
			if reason, ok := opt.Skip[g.name]; ok {
				t.Skip(reason)
			}
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					if reason, ok := opt.Skip[g.name+"/"+tc.name]; ok {
						t.Skip(reason)
					}
					t.Parallel()
					tc.run(t)
				})
			}
		})
	}
}

// Names returns the names of the suite's subtests ("Orders/Resume"), in the
// order Run starts them. Options.Skip takes these names, and the group
// names before the slash.
func Names() []string {
	var names []string
	for _, g := range (&suite{}).groups() {
		for _, tc := range g.tests {
			names = append(names, g.name+"/"+tc.name)
		}
	}
	return names
}

// checkSkip returns an error for each waiver that names no group or
// subtest, or gives no reason.
func checkSkip(skip map[string]string) []error {
	known := map[string]bool{}
	for _, name := range Names() {
		group, _, _ := strings.Cut(name, "/")
		known[group], known[name] = true, true
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(skip)) {
		switch {
		case !known[name]:
			errs = append(errs, fmt.Errorf("connectortest: Options.Skip names %q, which is no subtest of the suite", name))
		case strings.TrimSpace(skip[name]) == "":
			errs = append(errs, fmt.Errorf("connectortest: Options.Skip waives %q without a reason", name))
		}
	}
	return errs
}

type suite struct {
	newFake  func(t *testing.T) Fake
	pageSize int
}

type group struct {
	name  string
	tests []test
}

type test struct {
	name string
	run  func(t *testing.T)
}

func (s *suite) groups() []group {
	return []group{
		{"Orders", streamTests(s, orderStream())},
		{"Customers", streamTests(s, customerStream())},
		{"TagWriter", s.tagTests()},
		{"DiscountWriter", s.discountTests()},
		{"MetafieldWriter", s.metafieldTests()},
		{"WebhookSource", s.webhookTests()},
		{"Checker", s.checkerTests()},
	}
}

// open starts a fake and opens a connector on it.
func (s *suite) open(t *testing.T) (Fake, connectors.Connector) {
	t.Helper()
	f := s.newFake(t)
	return f, f.Connector(t)
}

// capability returns v as an I, or skips the test when v is none.
func capability[I any](t *testing.T, v any) I {
	t.Helper()
	i, ok := v.(I)
	if !ok {
		t.Skipf("%T does not implement %v", v, reflect.TypeFor[I]())
	}
	return i
}
