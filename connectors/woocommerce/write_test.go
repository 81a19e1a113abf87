package woocommerce

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/woocommerce/wootest"
)

func reward(code string) commerce.DiscountCode {
	return commerce.DiscountCode{
		Code: code, CustomerID: "7", Type: commerce.DiscountFixedAmount,
		Amount: commerce.MustParseMoney("5.00", "USD"), StartsAt: t0, Title: "Loyalty: $5 off",
		ExpiresAt: time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC),
	}
}

func seedMember(srv *wootest.Server) {
	srv.PutCustomer(wootest.Customer{ID: 7, Email: "Ann@Example.com", FirstName: "Ann", Modified: t0,
		Meta: []wootest.Meta{{Key: "wc_last_active", Value: "1772323200"}, {Key: "loyalty_tags", Value: "vip"}}})
}

func TestEnsureDiscount(t *testing.T) {
	t.Parallel()
	t.Run("the coupon WooCommerce holds", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		seedMember(srv)
		c := open(t, srv, AuthOAuth1, "")
		d := reward("LOYALTY-A-0001")
		id, err := c.EnsureDiscount(t.Context(), d)
		if err != nil {
			t.Fatal(err)
		}
		cp, ok := srv.Coupon("loyalty-a-0001")
		if !ok || cp.Code != "loyalty-a-0001" || id == "" {
			t.Fatalf("coupon %+v (found %t), id %q", cp, ok, id)
		}
		if cp.DiscountType != "fixed_cart" || cp.Amount != "5.00" || !cp.IndividualUse || cp.UsageLimit == nil || *cp.UsageLimit != 1 ||
			cp.UsagePerUser == nil || *cp.UsagePerUser != 1 || strings.Join(cp.EmailRestrictions, ",") != "ann@example.com" {
			t.Errorf("coupon %+v: want fixed_cart 5.00, individual use, used once, once per user, for ann@example.com", cp)
		}
		if !cp.Expires.Equal(d.ExpiresAt) {
			t.Errorf("coupon expires %v, want %v", cp.Expires, d.ExpiresAt)
		}
		var body map[string]any
		for _, w := range srv.Writes() {
			if w.Route == wootest.RouteCreateCoupon {
				json.Unmarshal(w.Body, &body)
			}
		}
		if body["date_expires"] != "2026-12-31T23:59:59Z" || body["date_expires_gmt"] != nil {
			t.Errorf("create sent date_expires=%v date_expires_gmt=%v; want the expiry in date_expires with a Z, and no date_expires_gmt",
				body["date_expires"], body["date_expires_gmt"])
		}
	})
	t.Run("percent and free shipping", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		seedMember(srv)
		c := open(t, srv, AuthOAuth1, "")
		p := reward("PCT-1")
		p.Type, p.Amount, p.PercentBP = commerce.DiscountPercentage, commerce.Money{}, 1250
		f := reward("SHIP-1")
		f.Type, f.Amount = commerce.DiscountFreeShipping, commerce.Money{}
		for _, d := range []commerce.DiscountCode{p, f} {
			if _, err := c.EnsureDiscount(t.Context(), d); err != nil {
				t.Fatal(err)
			}
		}
		if cp, _ := srv.Coupon("pct-1"); cp.DiscountType != "percent" || cp.Amount != "12.5" {
			t.Errorf("percent coupon %+v, want percent 12.5", cp)
		}
		if cp, _ := srv.Coupon("ship-1"); !cp.FreeShipping || cp.Amount != "0" {
			t.Errorf("free-shipping coupon %+v", cp)
		}
	})
	t.Run("a crash between the call and the local record", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		seedMember(srv)
		srv.InjectFault(wootest.RouteCreateCoupon, 1, wootest.Fault{AfterWork: true})
		d := reward("LOYALTY-CRASH-1")
		if _, err := open(t, srv, AuthOAuth1, "").EnsureDiscount(t.Context(), d); err == nil {
			t.Fatal("EnsureDiscount whose answer was cut off succeeded")
		} else if errors.Is(err, connectors.ErrRejected) {
			t.Fatalf("a lost answer reported as ErrRejected: %v", err)
		}
		// loyaltyd restarts and the outbox tries again.
		id, err := open(t, srv, AuthOAuth1, "").EnsureDiscount(t.Context(), d)
		cp, _ := srv.Coupon(d.Code)
		if err != nil || id != strconv.FormatInt(cp.ID, 10) {
			t.Errorf("retry: %q, %v; want the coupon made before the crash, %s", id, err, strconv.FormatInt(cp.ID, 10))
		}
		if n := srv.CouponCreations(d.Code); n != 1 {
			t.Errorf("%d coupons created, want 1", n)
		}
	})
	t.Run("already exists answered for our own code", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		seedMember(srv)
		// Another worker creates the code between our look-up and our
		// create.
		var once stdsync.Once
		hc := srv.Client()
		base := hc.Transport
		hc.Transport = roundTrip(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/coupons") {
				once.Do(func() {
					srv.PutCoupon(wootest.Coupon{Code: "loyalty-race-1", Meta: []wootest.Meta{{Key: "loyaltyd", Value: "1"}}})
				})
			}
			return base.RoundTrip(r)
		})
		c, err := connectors.Open(t.Context(), "woocommerce", connectors.Options{HTTPClient: hc, Decode: decodeYAML(
			"url: " + srv.URL + "\nconsumer_key: " + srv.ConsumerKey() + "\nconsumer_secret: " + srv.ConsumerSecret() + "\n")})
		if err != nil {
			t.Fatal(err)
		}
		d := reward("LOYALTY-RACE-1")
		d.ExpiresAt = time.Time{}
		id, err := c.(*Connector).EnsureDiscount(t.Context(), d)
		cp, _ := srv.Coupon(d.Code)
		if err != nil || id != strconv.FormatInt(cp.ID, 10) {
			t.Errorf("got %q, %v; want the existing coupon %s", id, err, strconv.FormatInt(cp.ID, 10))
		}
	})
	t.Run("a code that is not ours", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		seedMember(srv)
		srv.PutCoupon(wootest.Coupon{Code: "summer"})
		_, err := open(t, srv, AuthOAuth1, "").EnsureDiscount(t.Context(), reward("SUMMER"))
		if !errors.Is(err, connectors.ErrRejected) {
			t.Errorf("got %v, want ErrRejected", err)
		}
	})
	t.Run("an expiry the store lost is set again", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		seedMember(srv)
		// As an older loyaltyd would have made it, with date_expires_gmt.
		srv.PutCoupon(wootest.Coupon{Code: "loyalty-old-1", Meta: []wootest.Meta{{Key: "loyaltyd", Value: "1"}}})
		d := reward("LOYALTY-OLD-1")
		if _, err := open(t, srv, AuthOAuth1, "").EnsureDiscount(t.Context(), d); err != nil {
			t.Fatal(err)
		}
		if cp, _ := srv.Coupon(d.Code); !cp.Expires.Equal(d.ExpiresAt) {
			t.Errorf("coupon expires %v, want %v", cp.Expires, d.ExpiresAt)
		}
	})
	t.Run("shared referral code", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		d := commerce.DiscountCode{Code: "REF-ANN", Type: commerce.DiscountFixedAmount, Amount: commerce.MustParseMoney("10.00", "USD"), Shared: true, OwnerID: "7"}
		if _, err := open(t, srv, AuthOAuth1, "").EnsureDiscount(t.Context(), d); err != nil {
			t.Fatal(err)
		}
		cp, _ := srv.Coupon("ref-ann")
		if cp.UsageLimit != nil || cp.UsagePerUser == nil || *cp.UsagePerUser != 1 || len(cp.EmailRestrictions) != 0 {
			t.Errorf("shared coupon %+v: want no overall limit, once per customer, no e-mail restriction", cp)
		}
	})
	t.Run("a guest's code", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		d := reward("G-1")
		d.CustomerID = GuestID("Gina+x@Example.com")
		if _, err := open(t, srv, AuthOAuth1, "").EnsureDiscount(t.Context(), d); err != nil {
			t.Fatal(err)
		}
		if cp, _ := srv.Coupon("g-1"); strings.Join(cp.EmailRestrictions, ",") != "gina@example.com" {
			t.Errorf("guest coupon restricted to %v, want the guest's address", cp.EmailRestrictions)
		}
	})
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestMetaWrites: tags and fields go to meta data, merged by key, and
// what WooCommerce would drop silently is refused.
func TestMetaWrites(t *testing.T) {
	t.Parallel()
	srv := wootest.NewServer(wootest.Options{})
	defer srv.Close()
	seedMember(srv)
	c := open(t, srv, AuthOAuth1, "")
	if err := c.AddTags(t.Context(), "7", []string{"loyalty-gold", "VIP"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetMetafields(t.Context(), "7", map[string]string{"loyalty_points": "340"}); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveTags(t.Context(), "7", []string{"vip"}); err != nil {
		t.Fatal(err)
	}
	got := srv.CustomerMeta(7)
	want := map[string]string{"wc_last_active": "1772323200", "loyalty_tags": "loyalty-gold", "loyalty_points": "340"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("meta %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	writes := len(srv.Writes())
	if err := c.AddTags(t.Context(), "7", []string{"LOYALTY-GOLD"}); err != nil {
		t.Fatal(err)
	}
	if len(srv.Writes()) != writes {
		t.Error("adding a tag the customer has wrote to the store")
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"key starting with _", c.SetMetafields(t.Context(), "7", map[string]string{"_loyalty": "1"}), connectors.ErrRejected},
		{"the tags key", c.SetMetafields(t.Context(), "7", map[string]string{TagsMetaKey: "x"}), connectors.ErrRejected},
		{"a tag with a comma", c.AddTags(t.Context(), "7", []string{"a,b"}), connectors.ErrRejected},
		{"fields on a guest", c.SetMetafields(t.Context(), GuestID("g@example.com"), map[string]string{"loyalty_points": "1"}), connectors.ErrUnsupported},
		{"tags on a guest", c.AddTags(t.Context(), GuestID("g@example.com"), []string{"x"}), connectors.ErrUnsupported},
		{"an unknown customer", c.AddTags(t.Context(), "99", []string{"x"}), connectors.ErrNotFound},
		{"an id that is no number", c.SetMetafields(t.Context(), "abc", map[string]string{"a": "1"}), connectors.ErrNotFound},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.err, tc.want)
		}
		if tc.err != nil && strings.Contains(tc.err.Error(), "g@example.com") {
			t.Errorf("%s: error %q shows the guest's e-mail", tc.name, tc.err)
		}
	}
}

// TestEnsureWebhooks subscribes, lets WooCommerce disable a subscription
// after failed deliveries, and re-activates it; deliveries and the ping
// reach a receiver that decodes them with DecodeWebhook.
func TestEnsureWebhooks(t *testing.T) {
	t.Parallel()
	var mu stdsync.Mutex
	var events []commerce.Event
	fail := false
	var c *Connector
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		ev, err := c.DecodeWebhook(r.Header, body)
		if err != nil {
			t.Errorf("receiver: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		events = append(events, ev)
	}))
	defer recv.Close()
	srv := wootest.NewServer(wootest.Options{})
	defer srv.Close()
	c = open(t, srv, AuthOAuth1, "webhook_url: "+recv.URL+"\n")
	rep, err := c.EnsureWebhooks(t.Context())
	if err != nil || len(rep.Created) != len(WebhookTopics) {
		t.Fatalf("first EnsureWebhooks: %+v, %v; want every topic created", rep, err)
	}
	mu.Lock()
	pings := 0
	for _, ev := range events {
		if ev.Kind == commerce.EventPing {
			pings++
		}
	}
	mu.Unlock()
	if pings != len(WebhookTopics) {
		t.Errorf("%d pings received, want %d", pings, len(WebhookTopics))
	}
	if rep, err := c.EnsureWebhooks(t.Context()); err != nil || len(rep.Unchanged) != len(WebhookTopics) {
		t.Errorf("second EnsureWebhooks: %+v, %v; want nothing changed", rep, err)
	}
	seedMember(srv)
	srv.PutOrder(wootest.Order{ID: 50, Status: "processing", Currency: "USD", Total: "3.00", CustomerID: 7, Billing: wootest.Address{Email: "ann@example.com"}})
	srv.DeliverPending(t.Context())
	mu.Lock()
	kinds := map[commerce.EventKind]int{}
	for _, ev := range events {
		kinds[ev.Kind]++
	}
	fail = true
	mu.Unlock()
	if kinds[commerce.EventOrder] != 2 || kinds[commerce.EventCustomer] != 1 {
		t.Errorf("events %v, want 2 order events (created, updated) and 1 customer event", kinds)
	}
	// Seven failed deliveries in a row disable order.updated.
	for i := range 7 {
		srv.PutOrder(wootest.Order{ID: int64(60 + i), Status: "pending", Currency: "USD", Total: "1.00"})
	}
	srv.DeliverPending(t.Context())
	disabled := ""
	for _, w := range srv.Webhooks() {
		if w.Topic == "order.updated" {
			disabled = w.Status
		}
	}
	if disabled != "disabled" {
		t.Fatalf("order.updated is %q after 7 failures, want disabled", disabled)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	rep, err = c.EnsureWebhooks(t.Context())
	if err != nil || len(rep.Reactivated) != 2 || rep.Reactivated[0] != "order.created" {
		t.Errorf("EnsureWebhooks after failures: %+v, %v; want order.created and order.updated re-activated", rep, err)
	}
	for _, w := range srv.Webhooks() {
		if w.Topic == "order.updated" && (w.Status != "active" || w.FailureCount == 0) {
			t.Errorf("order.updated: %s with %d failures; want active, failures not reset (as WooCommerce does)", w.Status, w.FailureCount)
		}
	}
}

// TestCheck: Check reads what sync reads, and the webhooks when
// webhook_url is set.
func TestCheck(t *testing.T) {
	t.Parallel()
	srv := wootest.NewServer(wootest.Options{TLS: true})
	defer srv.Close()
	c := open(t, srv, AuthBasic, "webhook_url: https://loyalty.example/wh\n")
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, r := range srv.Requests() {
		paths = append(paths, r.Path)
	}
	if got, want := strings.Join(paths, ","), "orders,customers,coupons,webhooks"; got != want {
		t.Errorf("Check read %s, want %s", got, want)
	}
}
