package shopify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"gopkg.in/yaml.v3"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/connectortest"
	"github.com/loyaltyd/loyaltyd/connectors/shopify"
	"github.com/loyaltyd/loyaltyd/connectors/shopify/shopifytest"
)

// TestConformance runs the suite, without waivers, against the fake at a
// page size of one (every record on a page boundary), two small ones, and
// Shopify's largest, which the connector asks for by default.
func TestConformance(t *testing.T) {
	for _, pageSize := range []int{1, 4, 50, 0} {
		t.Run(fmt.Sprintf("page_size=%d", pageSize), func(t *testing.T) {
			suitePageSize := pageSize
			if pageSize == 0 {
				suitePageSize = shopify.MaxPageSize
			}
			connectortest.Run(t, func(t *testing.T) connectortest.Fake {
				return newFake(t, fakeConfig{pageSize: pageSize})
			}, connectortest.Options{PageSize: suitePageSize})
		})
	}
}

// testNow is the platform clock of the tests: fixed, after the suite's
// records (which are more than 60 days older: the fake grants
// read_all_orders).
var testNow = time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)

// fakeConfig adapts the fake and the connector's settings for a test.
type fakeConfig struct {
	pageSize int
	// timeScale speeds up the fake's clock; zero means 1000, so that the
	// suite's retries after 429s take milliseconds.
	timeScale float64
	// bucket and leak are the fake's REST bucket; zero means Standard.
	bucket int
	leak   float64
	// scopes, if set, are the scopes the fake grants.
	scopes []string
	// extra is YAML appended to the connector's settings.
	extra string
	// log receives the connector's log lines; nil discards them.
	log logrus.FieldLogger
	// opts, if set, adjusts the fake's options.
	opts func(*shopifytest.Options)
}

// fake adapts a shopifytest.Server to connectortest.Fake and its optional
// interfaces.
type fake struct {
	s   *shopifytest.Server
	cfg fakeConfig
}

var (
	_ connectortest.Fake          = (*fake)(nil)
	_ connectortest.FaultInjector = (*fake)(nil)
	_ connectortest.AccessRevoker = (*fake)(nil)
	_ connectortest.WebhookSigner = (*fake)(nil)
)

func newFake(t testing.TB, cfg fakeConfig) *fake {
	t.Helper()
	if cfg.timeScale == 0 {
		cfg.timeScale = 1000
	}
	if cfg.bucket == 0 {
		cfg.bucket, cfg.leak = 40, 2
	}
	o := shopifytest.Options{
		Shop:       "conformance",
		Now:        func() time.Time { return testNow },
		TimeScale:  cfg.timeScale,
		BucketSize: cfg.bucket,
		LeakRate:   cfg.leak,
		Scopes:     cfg.scopes,
	}
	if cfg.opts != nil {
		cfg.opts(&o)
	}
	s := shopifytest.NewServer(o)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close the fake: %v", err)
		}
	})
	return &fake{s: s, cfg: cfg}
}

// settings is the store's platform block, as an owner would write it,
// pointed at the fake. The pacer is told the fake's scaled leak rate.
func (f *fake) settings() string {
	return fmt.Sprintf(`shop: %s
access_token: %q
api_secret: %q
api_version: "2025-07"
base_url: %s
page_size: %d
leak_rate: %g
retry_wait: 1ms
retry_wait_max: 20ms
timeout: 10s
%s`, f.s.Shop(), f.s.AccessToken(), f.s.APISecret(), f.s.URL(), f.cfg.pageSize, f.cfg.leak*f.cfg.timeScale, f.cfg.extra)
}

// Connector opens the connector through the registry, from settings in
// YAML decoded strictly, as loyaltyd's configuration does.
func (f *fake) Connector(t testing.TB) connectors.Connector {
	t.Helper()
	c, err := connectors.Open(context.Background(), "shopify", connectors.Options{
		StoreID: "test",
		Decode:  yamlDecoder(f.settings()),
		Now:     f.s.Now,
		Log:     f.cfg.log,
	})
	if err != nil {
		t.Fatalf("open shopify connector: %v", err)
	}
	return c
}

// open is Connector as the concrete type.
func (f *fake) open(t testing.TB) *shopify.Connector {
	t.Helper()
	return f.Connector(t).(*shopify.Connector)
}

// yamlDecoder returns an Options.Decode that decodes src strictly.
func yamlDecoder(src string) func(any) error {
	return func(v any) error {
		dec := yaml.NewDecoder(strings.NewReader(src))
		dec.KnownFields(true)
		if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		return nil
	}
}

func (f *fake) AddCustomers(t testing.TB, cs ...commerce.Customer) {
	t.Helper()
	for _, c := range cs {
		if err := f.s.PutCustomer(c); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fake) AddOrders(t testing.TB, os ...commerce.Order) {
	t.Helper()
	for _, o := range os {
		if err := f.s.PutOrder(o); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fake) Tags(t testing.TB, customerID string) []string { return f.s.Tags(customerID) }

func (f *fake) DiscountCreations(t testing.TB, code string) int { return f.s.DiscountCreations(code) }

func (f *fake) Metafields(t testing.TB, customerID string) map[string]string {
	return f.s.Metafields(customerID)
}

// ops maps the suite's operations onto the fake's requests: the call that
// does the work, not the look-ups before it.
var ops = map[connectortest.Op]shopifytest.Op{
	connectortest.OpOrders:         shopifytest.OpOrders,
	connectortest.OpCustomers:      shopifytest.OpCustomers,
	connectortest.OpAddTags:        shopifytest.OpTagsAdd,
	connectortest.OpRemoveTags:     shopifytest.OpTagsRemove,
	connectortest.OpEnsureDiscount: shopifytest.OpCreateDiscountCode,
	connectortest.OpSetMetafields:  shopifytest.OpMetafieldsSet,
}

func (f *fake) op(t testing.TB, op connectortest.Op) shopifytest.Op {
	t.Helper()
	o, ok := ops[op]
	if !ok {
		t.Fatalf("no shopifytest op for %q", op)
	}
	return o
}

// outages are the passing failures FailNext cycles through.
var outages = []shopifytest.Fault{{Status: http.StatusServiceUnavailable}, {Status: http.StatusInternalServerError}, {Drop: true}, {Status: http.StatusBadGateway}}

func (f *fake) FailNext(t testing.TB, op connectortest.Op, n int) {
	for i := range n {
		f.s.InjectFault(f.op(t, op), 1, outages[i%len(outages)])
	}
}

func (f *fake) RateLimitNext(t testing.TB, op connectortest.Op, n int) {
	f.s.InjectFault(f.op(t, op), n, shopifytest.Fault{Status: http.StatusTooManyRequests})
}

func (f *fake) FailAfterWrite(t testing.TB, op connectortest.Op, n int) {
	f.s.InjectFault(f.op(t, op), n, shopifytest.Fault{AfterWrite: true})
}

func (f *fake) RevokeAccess(t testing.TB) { f.s.RevokeAccess() }

// topics maps each kind to the topic the fake sends for it; the unknown
// kind gets a topic Shopify sends and loyaltyd ignores.
var topics = map[commerce.EventKind]string{
	commerce.EventOrder:               shopify.TopicOrdersUpdated,
	commerce.EventOrderDeleted:        shopify.TopicOrdersDelete,
	commerce.EventCustomer:            shopify.TopicCustomersUpdate,
	commerce.EventCustomerDeleted:     shopify.TopicCustomersDelete,
	commerce.EventCustomerRedact:      shopify.TopicCustomersRedact,
	commerce.EventCustomerDataRequest: shopify.TopicCustomersDataRequest,
	commerce.EventShopRedact:          shopify.TopicShopRedact,
	commerce.EventUninstalled:         shopify.TopicAppUninstalled,
	commerce.EventUnknown:             "products/update",
}

func (f *fake) Webhook(t testing.TB, kind commerce.EventKind, resourceID string) (http.Header, []byte, bool) {
	t.Helper()
	topic, ok := topics[kind]
	if !ok {
		return nil, nil, false
	}
	h, body, err := f.s.Webhook(topic, resourceID)
	if err != nil {
		t.Fatalf("build %s webhook: %v", topic, err)
	}
	return h, body, true
}

func (f *fake) Sign(t testing.TB, h http.Header, body []byte, s connectortest.Signature) http.Header {
	h = h.Clone()
	switch s {
	case connectortest.Genuine:
		h.Set(shopify.HeaderHmac, f.s.Sign(body))
	case connectortest.Forged:
		h.Set(shopify.HeaderHmac, shopifytest.SignWith("forged-"+f.s.APISecret(), body))
	case connectortest.Unsigned:
		h.Del(shopify.HeaderHmac)
	default:
		t.Fatalf("unknown signature %d", s)
	}
	return h
}
