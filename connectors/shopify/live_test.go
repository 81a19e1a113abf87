package shopify_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/shopify"
)

var live = flag.Bool("live", false, "also run the tests against a real store: SHOPIFY_SHOP, SHOPIFY_ACCESS_TOKEN and SHOPIFY_API_SECRET name it (README.md)")

// liveConnector opens the connector on the store the environment names,
// or skips the test without -live.
func liveConnector(t *testing.T) *shopify.Connector {
	t.Helper()
	if !*live {
		t.Skip("live tests run with -live and SHOPIFY_SHOP, SHOPIFY_ACCESS_TOKEN, SHOPIFY_API_SECRET")
	}
	env := map[string]string{}
	for _, k := range []string{"SHOPIFY_SHOP", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_API_SECRET"} {
		if env[k] = os.Getenv(k); env[k] == "" {
			t.Fatalf("-live needs %s", k)
		}
	}
	version := os.Getenv("SHOPIFY_API_VERSION")
	if version == "" {
		version = shopify.DefaultAPIVersion
	}
	settings := fmt.Sprintf("shop: %q\naccess_token: %q\napi_secret: %q\napi_version: %q\npage_size: 50\n",
		env["SHOPIFY_SHOP"], env["SHOPIFY_ACCESS_TOKEN"], env["SHOPIFY_API_SECRET"], version)
	log := logrus.New()
	log.SetLevel(logrus.InfoLevel)
	c, err := connectors.Open(context.Background(), "shopify", connectors.Options{StoreID: "live", Decode: yamlDecoder(settings), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return c.(*shopify.Connector)
}

// TestLive checks the connector against a real store: the scopes, and
// three pages of the last 90 days' orders and customers, in the order the
// contract promises. That customers come in updated_at order is the one
// assumption about Shopify the fake cannot prove (the customers list does
// not document the order parameter); this test does. With
// SHOPIFY_LIVE_CUSTOMER_ID set it also writes to that customer (a tag and
// a metafield, then removes them); with SHOPIFY_LIVE_DISCOUNT=1 it creates
// a code for that customer, twice, and checks it exists once.
func TestLive(t *testing.T) {
	c := liveConnector(t)
	ctx := context.Background()
	t.Run("Check", func(t *testing.T) {
		if err := c.Check(ctx); err != nil {
			t.Fatal(err)
		}
	})
	cur := connectors.Cursor{Since: time.Now().AddDate(0, 0, -90), Until: time.Now().Add(-time.Minute)}
	t.Run("Orders", func(t *testing.T) {
		livePages(t, cur, func(cur connectors.Cursor) ([]keyed, connectors.Cursor, bool, error) {
			pg, err := c.Orders(ctx, cur)
			ks := make([]keyed, len(pg.Items))
			for i, o := range pg.Items {
				ks[i] = keyed{o.UpdatedAt, o.ID}
			}
			return ks, pg.Next, pg.Done, err
		})
	})
	t.Run("Customers", func(t *testing.T) {
		livePages(t, cur, func(cur connectors.Cursor) ([]keyed, connectors.Cursor, bool, error) {
			pg, err := c.Customers(ctx, cur)
			ks := make([]keyed, len(pg.Items))
			for i, cu := range pg.Items {
				ks[i] = keyed{cu.UpdatedAt, cu.ID}
			}
			return ks, pg.Next, pg.Done, err
		})
	})
	customer := os.Getenv("SHOPIFY_LIVE_CUSTOMER_ID")
	t.Run("Writes", func(t *testing.T) {
		if customer == "" {
			t.Skip("set SHOPIFY_LIVE_CUSTOMER_ID to a test customer to write to")
		}
		const tag = "loyaltyd-live-test"
		if err := c.AddTags(ctx, customer, []string{tag}); err != nil {
			t.Fatal(err)
		}
		if err := c.RemoveTags(ctx, customer, []string{tag}); err != nil {
			t.Fatal(err)
		}
		if err := c.SetMetafields(ctx, customer, map[string]string{"live_test": time.Now().UTC().Format(time.RFC3339)}); err != nil {
			t.Fatal(err)
		}
		if err := c.SetMetafields(ctx, customer, map[string]string{"live_test": ""}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Discount", func(t *testing.T) {
		if customer == "" || os.Getenv("SHOPIFY_LIVE_DISCOUNT") != "1" {
			t.Skip("set SHOPIFY_LIVE_CUSTOMER_ID and SHOPIFY_LIVE_DISCOUNT=1 to create a 1 % code for that customer")
		}
		d := commerce.DiscountCode{
			Code: "LOYALTYD-LIVE-" + time.Now().UTC().Format("20060102"), CustomerID: customer,
			Type: commerce.DiscountPercentage, PercentBP: 100, StartsAt: time.Now(), ExpiresAt: time.Now().Add(24 * time.Hour),
		}
		first, err := c.EnsureDiscount(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := c.EnsureDiscount(ctx, d); err != nil || again != first {
			t.Errorf("EnsureDiscount again: %q, %v; want %q", again, err, first)
		}
	})
}

type keyed struct {
	at time.Time
	id string
}

// livePages reads up to three pages and checks the contract's order.
func livePages(t *testing.T, cur connectors.Cursor, read func(connectors.Cursor) ([]keyed, connectors.Cursor, bool, error)) {
	t.Helper()
	var last time.Time
	for p := range 3 {
		items, next, done, err := read(cur)
		if err != nil {
			t.Fatalf("page %d: %v", p, err)
		}
		for i, it := range items {
			if i > 0 && (it.at.Before(items[i-1].at) || it.at.Equal(items[i-1].at) && it.id < items[i-1].id) {
				t.Errorf("page %d: %s after %s: not ascending (UpdatedAt, ID)", p, it.id, items[i-1].id)
			}
			if i == 0 && it.at.Before(last) {
				t.Errorf("page %d starts at %s, before the previous page's end %s", p, it.at, last)
			}
			last = it.at
		}
		t.Logf("page %d: %d records", p, len(items))
		if done {
			return
		}
		cur = next
	}
}
