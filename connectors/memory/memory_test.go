package memory_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/connectortest"
	"github.com/loyaltyd/loyaltyd/connectors/memory"
)

// TestConformance runs the suite, without waivers, at a page size of one
// (every record on a page boundary), a small one, and the platform's
// default.
func TestConformance(t *testing.T) {
	for _, pageSize := range []int{1, 4, 0} {
		name := fmt.Sprintf("page_size=%d", pageSize)
		t.Run(name, func(t *testing.T) {
			suitePageSize := pageSize
			if pageSize == 0 {
				suitePageSize = memory.DefaultPageSize
			}
			connectortest.Run(t, func(t *testing.T) connectortest.Fake {
				return newFake(t, pageSize)
			}, connectortest.Options{PageSize: suitePageSize})
		})
	}
}

// fake adapts a Platform to connectortest.Fake and its optional
// interfaces.
type fake struct {
	p        *memory.Platform
	instance string
	secret   string
	pageSize int
}

var (
	_ connectortest.Fake          = (*fake)(nil)
	_ connectortest.FaultInjector = (*fake)(nil)
	_ connectortest.AccessRevoker = (*fake)(nil)
	_ connectortest.WebhookSigner = (*fake)(nil)
)

// testNow is the platform clock of the tests: fixed, after the suite's
// records.
var testNow = time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)

// newFake attaches a new platform under the test's name and returns a fake
// that opens connectors on it at pageSize.
func newFake(t *testing.T, pageSize int) *fake {
	t.Helper()
	f := &fake{
		instance: t.Name(),
		secret:   "whsec-" + t.Name(),
		pageSize: pageSize,
	}
	f.p = memory.NewPlatform(memory.PlatformOptions{Now: func() time.Time { return testNow }, WebhookSecret: f.secret})
	memory.Attach(f.instance, f.p)
	t.Cleanup(func() { memory.Detach(f.instance) })
	return f
}

// Connector opens the connector through the registry, from settings in
// YAML decoded strictly, as loyaltyd's configuration does.
func (f *fake) Connector(t testing.TB) connectors.Connector {
	t.Helper()
	settings := fmt.Sprintf("instance: %q\nwebhook_secret: %q\npage_size: %d\n", f.instance, f.secret, f.pageSize)
	c, err := connectors.Open(t.Context(), "memory", connectors.Options{StoreID: "test", Decode: yamlDecoder(settings)})
	if err != nil {
		t.Fatalf("open memory connector: %v", err)
	}
	return c
}

// yamlDecoder returns an Options.Decode that decodes src strictly.
func yamlDecoder(src string) func(any) error {
	return func(v any) error {
		dec := yaml.NewDecoder(strings.NewReader(src))
		dec.KnownFields(true)
		if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) { // io.EOF: no settings at all
			return err
		}
		return nil
	}
}

func (f *fake) AddCustomers(t testing.TB, cs ...commerce.Customer) {
	for _, c := range cs {
		f.p.PutCustomer(c)
	}
}

func (f *fake) AddOrders(t testing.TB, os ...commerce.Order) {
	for _, o := range os {
		f.p.PutOrder(o)
	}
}

func (f *fake) Tags(t testing.TB, customerID string) []string { return f.p.Tags(customerID) }

func (f *fake) DiscountCreations(t testing.TB, code string) int { return f.p.DiscountCreations(code) }

func (f *fake) Metafields(t testing.TB, customerID string) map[string]string {
	return f.p.Metafields(customerID)
}

var ops = map[connectortest.Op]memory.Op{
	connectortest.OpOrders:         memory.OpOrders,
	connectortest.OpCustomers:      memory.OpCustomers,
	connectortest.OpAddTags:        memory.OpAddTags,
	connectortest.OpRemoveTags:     memory.OpRemoveTags,
	connectortest.OpEnsureDiscount: memory.OpEnsureDiscount,
	connectortest.OpSetMetafields:  memory.OpSetMetafields,
}

func (f *fake) op(t testing.TB, op connectortest.Op) memory.Op {
	t.Helper()
	m, ok := ops[op]
	if !ok {
		t.Fatalf("no memory op for %q", op)
	}
	return m
}

func (f *fake) FailNext(t testing.TB, op connectortest.Op, n int) {
	f.p.FailNext(f.op(t, op), n, fmt.Errorf("%w: 503 service unavailable", memory.ErrInjected))
}

func (f *fake) RateLimitNext(t testing.TB, op connectortest.Op, n int) {
	f.p.FailNext(f.op(t, op), n, &connectors.RateLimitError{RetryAfter: 2 * time.Second})
}

func (f *fake) FailAfterWrite(t testing.TB, op connectortest.Op, n int) {
	f.p.FailAfterWrite(f.op(t, op), n)
}

func (f *fake) RevokeAccess(t testing.TB) { f.p.RevokeAccess() }

// topics maps each kind to the topic the fake sends for it; the unknown
// kind gets a topic memory sends and loyaltyd ignores.
var topics = map[commerce.EventKind]string{
	commerce.EventOrder:               memory.TopicOrdersUpdated,
	commerce.EventOrderDeleted:        memory.TopicOrdersDelete,
	commerce.EventCustomer:            memory.TopicCustomersUpdate,
	commerce.EventCustomerDeleted:     memory.TopicCustomersDelete,
	commerce.EventCustomerRedact:      memory.TopicCustomersRedact,
	commerce.EventCustomerDataRequest: memory.TopicCustomersDataRequest,
	commerce.EventShopRedact:          memory.TopicShopRedact,
	commerce.EventUninstalled:         memory.TopicAppUninstalled,
	commerce.EventUnknown:             "products/update",
}

func (f *fake) Webhook(t testing.TB, kind commerce.EventKind, resourceID string) (http.Header, []byte, bool) {
	t.Helper()
	topic, ok := topics[kind]
	if !ok {
		return nil, nil, false
	}
	h, body, err := f.p.Webhook(topic, resourceID)
	if err != nil {
		t.Fatalf("build %s webhook: %v", topic, err)
	}
	return h, body, true
}

func (f *fake) Sign(t testing.TB, h http.Header, body []byte, s connectortest.Signature) http.Header {
	h = h.Clone()
	switch s {
	case connectortest.Genuine:
		h.Set(memory.HeaderSignature, memory.Sign(f.secret, body))
	case connectortest.Forged:
		h.Set(memory.HeaderSignature, memory.Sign("forged-"+f.secret, body))
	case connectortest.Unsigned:
		h.Del(memory.HeaderSignature)
	default:
		t.Fatalf("unknown signature %d", s)
	}
	return h
}
