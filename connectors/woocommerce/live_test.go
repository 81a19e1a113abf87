package woocommerce

import (
	"flag"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

// live runs TestLive against a real store. It is off by default: the
// default test run stays hermetic.
var live = flag.Bool("live", false, "run TestLive against the store named by WOOCOMMERCE_URL, WOOCOMMERCE_CONSUMER_KEY and WOOCOMMERCE_CONSUMER_SECRET")

// TestLive reads from a real store and, with WOOCOMMERCE_LIVE_WRITES=1,
// writes a coupon and meta data to it:
//
//	WOOCOMMERCE_URL=https://shop.example WOOCOMMERCE_CONSUMER_KEY=ck_… \
//	WOOCOMMERCE_CONSUMER_SECRET=cs_… go test -run TestLive -live ./connectors/woocommerce/
//
// Optional: WOOCOMMERCE_AUTH (basic, oauth1, query), WOOCOMMERCE_LIVE_WRITES=1
// and WOOCOMMERCE_LIVE_CUSTOMER (a registered customer's id to write
// meta data to).
func TestLive(t *testing.T) {
	if !*live {
		t.Skip("-live not set")
	}
	o := Options{
		URL:            os.Getenv("WOOCOMMERCE_URL"),
		ConsumerKey:    connectors.Secret(os.Getenv("WOOCOMMERCE_CONSUMER_KEY")),
		ConsumerSecret: connectors.Secret(os.Getenv("WOOCOMMERCE_CONSUMER_SECRET")),
		Auth:           os.Getenv("WOOCOMMERCE_AUTH"),
	}
	c, err := connectors.Open(t.Context(), "woocommerce", connectors.Options{StoreID: "live", Decode: func(v any) error {
		*(v.(*Options)) = o
		return nil
	}})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	wc := c.(*Connector)
	if err := wc.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	since := time.Now().AddDate(0, 0, -30)
	pg, err := wc.Orders(t.Context(), connectors.Cursor{Since: since})
	if err != nil {
		t.Fatalf("Orders: %v", err)
	}
	t.Logf("orders modified in the last 30 days, first page: %d, done: %t", len(pg.Items), pg.Done)
	for _, ord := range pg.Items {
		if ord.UpdatedAt.Before(since.Truncate(time.Second)) {
			t.Errorf("order %s modified %s, before the window: is the zone trap back?", ord.ID, ord.UpdatedAt)
		}
	}
	cs, err := wc.Customers(t.Context(), connectors.Cursor{Since: since})
	if err != nil {
		t.Fatalf("Customers: %v", err)
	}
	t.Logf("customers changed in the last 30 days, first page: %d", len(cs.Items))
	if os.Getenv("WOOCOMMERCE_LIVE_WRITES") != "1" {
		return
	}
	code := "loyaltyd-live-" + strconv.FormatInt(time.Now().Unix(), 10)
	d := commerce.DiscountCode{Code: code, Shared: true, Type: commerce.DiscountFixedAmount,
		Amount: commerce.MustParseMoney("1.00", "USD"), ExpiresAt: time.Now().Add(24 * time.Hour).Truncate(time.Second), Title: "loyaltyd live test"}
	id, err := wc.EnsureDiscount(t.Context(), d)
	if err != nil {
		t.Fatalf("EnsureDiscount: %v", err)
	}
	if again, err := wc.EnsureDiscount(t.Context(), d); err != nil || again != id {
		t.Errorf("EnsureDiscount again: %q, %v; want %q", again, err, id)
	}
	t.Logf("coupon %s (id %s) created; delete it in the store", code, id)
	if cust := os.Getenv("WOOCOMMERCE_LIVE_CUSTOMER"); cust != "" {
		if err := wc.SetMetafields(t.Context(), cust, map[string]string{"loyalty_live_test": code}); err != nil {
			t.Errorf("SetMetafields: %v", err)
		}
		if err := wc.AddTags(t.Context(), cust, []string{"loyalty-live-test"}); err != nil {
			t.Errorf("AddTags: %v", err)
		}
		if err := wc.RemoveTags(t.Context(), cust, []string{"loyalty-live-test"}); err != nil {
			t.Errorf("RemoveTags: %v", err)
		}
	}
}
