package shopify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/shopify"
	"github.com/loyaltyd/loyaltyd/connectors/shopify/shopifytest"
)

// TestOpenOptions: settings are checked in Open, without calling Shopify,
// and every error names its key and never shows a secret.
func TestOpenOptions(t *testing.T) {
	t.Parallel()
	const good = "shop: acme\naccess_token: shpat_SECRET1\napi_secret: shpss_SECRET2\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"no shop", "access_token: a\napi_secret: b\n", "shop: required"},
		{"custom domain", "shop: acme.com\naccess_token: a\napi_secret: b\n", "shop: \"acme.com\" is not a myshopify name"},
		{"URL", "shop: https://acme.myshopify.com\naccess_token: a\napi_secret: b\n", "shop:"},
		{"no token", "shop: acme\napi_secret: b\n", "access_token: required"},
		{"no secret", "shop: acme\naccess_token: a\n", "api_secret: required"},
		{"bad version", good + "api_version: 2025-05\n", "api_version: \"2025-05\""},
		{"unstable", good + "api_version: unstable\n", "api_version:"},
		{"old version", good + "api_version: 2023-10\n", "api_version: 2023-10 is older"},
		{"http base_url", good + "base_url: http://proxy.example\n", "base_url: plain http"},
		{"relative base_url", good + "base_url: /x\n", "base_url:"},
		{"webhook_url with credentials", good + "webhook_url: https://u:p@hooks.example/x\n", "webhook_url:"},
		{"page size", good + "page_size: 251\n", "page_size: 251"},
		{"retries", good + "max_retries: 99\n", "max_retries: 99"},
		{"duration", good + "timeout: soon\n", "invalid duration"},
		{"retry bounds", good + "retry_wait: 2m\nretry_wait_max: 1m\n", "retry_wait_max"},
		{"unknown key", good + "shopp: x\n", "shopp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := connectors.Open(context.Background(), "shopify", connectors.Options{Decode: yamlDecoder(tc.yaml)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			for _, secret := range []string{"SECRET1", "SECRET2"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows a secret: %v", err)
				}
			}
		})
	}
	// Open calls nothing: a base_url where nobody listens opens fine.
	nowhere := "shop: Acme.myshopify.com\naccess_token: a\napi_secret: b\nbase_url: http://127.0.0.1:1\n"
	c, err := connectors.Open(context.Background(), "shopify", connectors.Options{Decode: yamlDecoder(nowhere)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got := c.(*shopify.Connector).Shop(); got != "acme.myshopify.com" {
		t.Errorf("Shop() = %q", got)
	}
}

// TestCheckScopes: each missing scope is named; a token without
// read_all_orders passes with a warning that says what will be missed.
func TestCheckScopes(t *testing.T) {
	t.Parallel()
	all := shopifytest.DefaultScopes()
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(s string) bool { return slices.Contains(drop, s) })
	}
	for _, tc := range []struct {
		name    string
		scopes  []string
		missing []string
		warn    bool
	}{
		{"all", all, nil, false},
		{"write implies read", []string{"read_all_orders", "write_orders", "write_customers", "write_discounts"}, nil, false},
		{"no read_all_orders", without("read_all_orders"), nil, true},
		{"no orders", without("read_orders"), []string{"read_orders"}, false},
		{"no customers", without("read_customers", "write_customers"), []string{"read_customers", "write_customers"}, false},
		{"no discounts", without("write_price_rules", "write_discounts"), []string{"write_price_rules or write_discounts"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logger, hook := logtest.NewNullLogger()
			f := newFake(t, fakeConfig{scopes: tc.scopes, log: logger})
			err := f.Connector(t).(connectors.Checker).Check(context.Background())
			if tc.missing == nil && err != nil {
				t.Fatalf("Check: %v", err)
			}
			if tc.missing != nil {
				if !errors.Is(err, connectors.ErrUnauthorized) {
					t.Fatalf("Check: %v, want ErrUnauthorized", err)
				}
				for _, s := range tc.missing {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("the error %q does not name %s", err, s)
					}
				}
			}
			warned := slices.ContainsFunc(hook.AllEntries(), func(e *logrus.Entry) bool {
				return e.Level == logrus.WarnLevel && strings.Contains(e.Message, "60 days")
			})
			if warned != tc.warn {
				t.Errorf("warned about orders older than 60 days: %t, want %t", warned, tc.warn)
			}
		})
	}
}

// TestAPIVersionLogged: the version the shop served is logged, a fall-back
// to another version and a deprecation reason are warned about once, and no
// secret reaches a log line.
func TestAPIVersionLogged(t *testing.T) {
	t.Parallel()
	logger, hook := logtest.NewNullLogger()
	f := newFake(t, fakeConfig{log: logger, extra: "", opts: func(o *shopifytest.Options) {
		o.APIVersions = []string{"2025-10", "2026-01"}
		o.DeprecatedReason = "https://shopify.dev/api/usage/versioning#deprecation-practices"
	}})
	c := f.Connector(t)
	for range 3 {
		if err := c.(connectors.Checker).Check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var versionWarnings, deprecations int
	for _, e := range hook.AllEntries() {
		line, _ := e.String()
		for _, secret := range []string{f.s.AccessToken(), f.s.APISecret()} {
			if strings.Contains(line, secret) {
				t.Errorf("a log line shows a secret: %s", line)
			}
		}
		if e.Level == logrus.WarnLevel && e.Data["api_version"] == "2025-10" && e.Data["requested_version"] == "2025-07" && strings.Contains(e.Message, "another API version") {
			versionWarnings++
		}
		if strings.Contains(e.Message, "deprecated") && e.Data["reason"] != nil {
			deprecations++
		}
	}
	if versionWarnings != 1 || deprecations != 1 {
		t.Errorf("warned %d times about the version and %d times about the deprecation, want once each", versionWarnings, deprecations)
	}
}

// TestNoVersionWarningWhenSupported: the unversioned access-scopes call is
// answered in a version of the shop's choosing; that alone must not make
// the connector warn that the configured version is unsupported.
func TestNoVersionWarningWhenSupported(t *testing.T) {
	t.Parallel()
	logger, hook := logtest.NewNullLogger()
	f := newFake(t, fakeConfig{log: logger, opts: func(o *shopifytest.Options) {
		o.APIVersions = []string{"2025-04", "2025-07"}
	}})
	if err := f.Connector(t).(connectors.Checker).Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "another API version") {
			t.Errorf("warned although the shop serves the configured version: %s %v", e.Message, e.Data)
		}
	}
}

// TestChecked60Days: without read_all_orders the shop hides older orders,
// and the connector reads what it is given.
func TestHiddenOlderOrders(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{pageSize: 50, scopes: []string{"read_orders", "read_customers", "write_customers", "write_price_rules"}})
	seedOrders(t, f, 3) // March: more than 60 days before testNow
	recent := commerce.Order{ID: "5100000001", Currency: "USD", CreatedAt: testNow.AddDate(0, 0, -5), UpdatedAt: testNow.AddDate(0, 0, -5), State: commerce.StatePaid, Total: commerce.NewMoney(100, "USD")}
	if err := f.s.PutOrder(recent); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, f.Connector(t), connectors.Cursor{})
	if len(got) != 1 || got[recent.ID] != 1 {
		t.Errorf("read %v, want only the recent order", got)
	}
}

// TestStringOrder: Shopify sorts ids as numbers; the contract compares
// them as strings. Within a page of equal update times the connector
// returns "10000000000" before "9999999999".
func TestStringOrder(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{pageSize: 10})
	ids := []string{"9999999999", "10000000000", "9999999998", "123"}
	for _, id := range ids {
		o := commerce.Order{ID: id, Currency: "USD", CreatedAt: seedBase, UpdatedAt: seedBase, State: commerce.StatePaid, Total: commerce.NewMoney(100, "USD")}
		if err := f.s.PutOrder(o); err != nil {
			t.Fatal(err)
		}
	}
	pg, err := f.Connector(t).Orders(context.Background(), connectors.Cursor{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range pg.Items {
		got = append(got, o.ID)
	}
	want := slices.Clone(ids)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("page order %v, want %v", got, want)
	}
}

// TestRefusedPageInfo: a token of the connector's own format whose
// page_info the shop refuses (expired, say) is ErrBadCursor, and the
// window read again from its start works.
func TestRefusedPageInfo(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{pageSize: 2})
	seedOrders(t, f, 5)
	c := f.Connector(t)
	cur := connectors.Cursor{Since: seedBase}
	pg, err := c.Orders(context.Background(), cur)
	if err != nil || pg.Done {
		t.Fatalf("first page: %v, done %t", err, pg.Done)
	}
	// Swap the page_info for one the shop never issued, keeping the rest.
	enc := strings.TrimPrefix(pg.Next.Token, "shopify1.")
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]string
	if err := json.Unmarshal(raw, &tok); err != nil {
		t.Fatal(err)
	}
	tok["p"] = "eyJsYXN0X2lkIjo0fQ.expired"
	raw, _ = json.Marshal(tok)
	bad := pg.Next
	bad.Token = "shopify1." + base64.RawURLEncoding.EncodeToString(raw)
	if _, err := c.Orders(context.Background(), bad); !errors.Is(err, connectors.ErrBadCursor) || errors.Is(err, connectors.ErrRejected) {
		t.Errorf("a refused page_info: %v, want ErrBadCursor only", err)
	}
	// The same token for another window is refused without a call.
	other := pg.Next
	other.Since = other.Since.Add(time.Second)
	if _, err := c.Orders(context.Background(), other); !errors.Is(err, connectors.ErrBadCursor) {
		t.Errorf("a token for another window: %v, want ErrBadCursor", err)
	}
	if got := readAll(t, c, cur); len(got) != 5 {
		t.Errorf("the window read again has %d orders, want 5", len(got))
	}
}

// TestOrderRefetch reads one order, as after a refunds/create webhook.
func TestOrderRefetch(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{})
	seedOrders(t, f, 1)
	c := f.open(t)
	o, err := c.Order(context.Background(), "5000000000")
	if err != nil || o.ID != "5000000000" || o.Total != commerce.NewMoney(1250, "USD") {
		t.Errorf("Order: %+v, %v", o, err)
	}
	for _, id := range []string{"5999999999", "not-a-number"} {
		if _, err := c.Order(context.Background(), id); !errors.Is(err, connectors.ErrNotFound) {
			t.Errorf("Order(%s): %v, want ErrNotFound", id, err)
		}
	}
}

// TestTagsCase: the shop holds "Loyalty-Gold"; removing "loyalty-gold"
// removes it, and adding "LOYALTY-GOLD" sends nothing.
func TestTagsCase(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{})
	addMember(t, f, "Loyalty-Gold", "vip")
	c := f.open(t)
	if err := c.AddTags(context.Background(), member, []string{"LOYALTY-GOLD", "loyalty-gold"}); err != nil {
		t.Fatal(err)
	}
	if n := f.s.Stats().ByOp[shopifytest.OpTagsAdd]; n != 0 {
		t.Errorf("adding a tag the customer has sent %d tagsAdd", n)
	}
	if err := c.RemoveTags(context.Background(), member, []string{"loyalty-gold"}); err != nil {
		t.Fatal(err)
	}
	if got := f.s.Tags(member); !slices.Equal(got, []string{"vip"}) {
		t.Errorf("tags %q, want [vip]", got)
	}
	for _, bad := range [][]string{{""}, {"a,b"}, {strings.Repeat("x", 256)}} {
		if err := c.AddTags(context.Background(), member, bad); !errors.Is(err, connectors.ErrRejected) {
			t.Errorf("AddTags(%q): %v, want ErrRejected", bad, err)
		}
	}
}

// TestGraphQLThrottled: a THROTTLED answer is waited out and retried.
func TestGraphQLThrottled(t *testing.T) {
	t.Parallel()
	// Real time: a 25-point bucket restoring 20 points a second throttles
	// the third tag, for less than a second.
	f := newFake(t, fakeConfig{timeScale: 1, opts: func(o *shopifytest.Options) { o.GraphQLBucket, o.GraphQLRestoreRate = 25, 20 }})
	addMember(t, f)
	c := f.open(t)
	for i := range 4 {
		if err := c.AddTags(context.Background(), member, []string{fmt.Sprintf("loyalty-t%d", i)}); err != nil {
			t.Fatalf("AddTags %d: %v", i, err)
		}
	}
	if st := f.s.Stats(); st.GraphQLThrottled == 0 {
		t.Error("the cost bucket never throttled: the test proves nothing")
	}
	if got := len(f.s.Tags(member)); got != 4 {
		t.Errorf("%d tags, want 4", got)
	}
}

// TestMetafields: values are single-line text in the loyalty namespace,
// more than 25 go in several calls, and "" deletes.
func TestMetafields(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{})
	addMember(t, f)
	c := f.open(t)
	fields := map[string]string{}
	for i := range 30 {
		fields[fmt.Sprintf("field_%02d", i)] = fmt.Sprint(i)
	}
	if err := c.SetMetafields(context.Background(), member, fields); err != nil {
		t.Fatal(err)
	}
	if n := f.s.Stats().ByOp[shopifytest.OpMetafieldsSet]; n != 2 {
		t.Errorf("%d metafieldsSet calls for 30 fields, want 2", n)
	}
	if v, typ, ok := f.s.Metafield(member, "loyalty", "field_07"); !ok || v != "7" || typ != "single_line_text_field" {
		t.Errorf("field_07 = %q (%s, present %t)", v, typ, ok)
	}
	if err := c.SetMetafields(context.Background(), member, map[string]string{"field_07": ""}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := f.s.Metafield(member, "loyalty", "field_07"); ok {
		t.Error("field_07 set to \"\" is still there")
	}
	if got := len(f.s.Metafields(member)); got != 29 {
		t.Errorf("%d fields left, want 29", got)
	}
	if err := c.SetMetafields(context.Background(), member, map[string]string{"bad key!": "1"}); !errors.Is(err, connectors.ErrRejected) {
		t.Errorf("a bad key: %v, want ErrRejected", err)
	}
}

// TestEnsureWebhooks subscribes every topic once, does nothing the second
// time, and re-creates a subscription that disappeared.
func TestEnsureWebhooks(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{extra: "webhook_url: https://loyalty.example/webhooks/acme\n"})
	c := f.open(t)
	created, err := c.EnsureWebhooksAt(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(created, shopify.WebhookTopics()) {
		t.Errorf("created %v, want %v", created, shopify.WebhookTopics())
	}
	if created, err := c.EnsureWebhooksAt(context.Background(), ""); err != nil || len(created) != 0 {
		t.Errorf("the second time: created %v, %v; want nothing", created, err)
	}
	subs := f.s.Subscriptions()
	if len(subs) != len(shopify.WebhookTopics()) {
		t.Fatalf("%d subscriptions", len(subs))
	}
	f.s.DeleteSubscription(subs[3].ID)
	created, err = c.EnsureWebhooksAt(context.Background(), "")
	if err != nil || !slices.Equal(created, []string{subs[3].Topic}) {
		t.Errorf("after a deletion: created %v, %v; want [%s]", created, err, subs[3].Topic)
	}
	if created, err := c.EnsureWebhooksAt(context.Background(), "http://example.com/x"); err == nil {
		t.Errorf("a plain-http address: created %v, no error", created)
	}
}

// TestWebhookDelivery: the fake delivers signed webhooks to a subscribed
// URL, where the connector decodes them; a subscription that keeps
// failing is deleted, as Shopify does, and EnsureWebhooks brings it back.
func TestWebhookDelivery(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{})
	seedOrders(t, f, 1)
	c := f.open(t)
	got := make(chan commerce.Event, 1)
	failing := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ev, err := c.DecodeWebhook(r.Header, body)
		if err != nil || failing {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		got <- ev
	}))
	t.Cleanup(srv.Close)
	if _, err := c.EnsureWebhooksAt(context.Background(), srv.URL); err != nil {
		t.Fatal(err)
	}
	if n, err := f.s.Deliver(context.Background(), shopify.TopicOrdersPaid, "5000000000"); n != 1 || err != nil {
		t.Fatalf("Deliver: %d, %v", n, err)
	}
	if ev := <-got; ev.Kind != commerce.EventOrder || ev.Order == nil || ev.Order.ID != "5000000000" {
		t.Errorf("decoded %+v", ev)
	}
	failing = true
	for range 8 {
		_, _ = f.s.Deliver(context.Background(), shopify.TopicOrdersPaid, "5000000000")
	}
	if slices.ContainsFunc(f.s.Subscriptions(), func(s shopifytest.Subscription) bool { return s.Topic == shopify.TopicOrdersPaid }) {
		t.Error("the subscription survived 8 failed deliveries")
	}
	if created, err := c.EnsureWebhooksAt(context.Background(), srv.URL); err != nil || !slices.Equal(created, []string{shopify.TopicOrdersPaid}) {
		t.Errorf("EnsureWebhooks after the deletion: %v, %v", created, err)
	}
}

// TestWriteWithoutScope: a GraphQL write the token's scopes do not allow
// is ErrUnauthorized, not a failure to retry.
func TestWriteWithoutScope(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{scopes: []string{"read_orders", "read_customers"}})
	addMember(t, f)
	c := f.open(t)
	if err := c.AddTags(context.Background(), member, []string{"loyalty-gold"}); !errors.Is(err, connectors.ErrUnauthorized) {
		t.Errorf("AddTags without write_customers: %v, want ErrUnauthorized", err)
	}
	if err := c.SetMetafields(context.Background(), member, map[string]string{"points": "1"}); !errors.Is(err, connectors.ErrUnauthorized) {
		t.Errorf("SetMetafields without write_customers: %v, want ErrUnauthorized", err)
	}
	if _, err := c.EnsureDiscount(context.Background(), fiveOff("LOYALTY-NOSCOPE-1")); !errors.Is(err, connectors.ErrUnauthorized) {
		t.Errorf("EnsureDiscount without write_price_rules: %v, want ErrUnauthorized", err)
	}
}
