package webhooks_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/shopify"
	"github.com/loyaltyd/loyaltyd/connectors/shopify/shopifytest"
	"github.com/loyaltyd/loyaltyd/webhooks"
)

// counter is a Receiver that stores nothing: the handler's own cost.
type counter struct{ n atomic.Int64 }

func (c *counter) Receive(context.Context, webhooks.Delivery) (bool, error) {
	c.n.Add(1)
	return false, nil
}

// BenchmarkHandler posts signed Shopify orders/updated deliveries (a
// three-line order, about 4 KB) to the handler from concurrent senders,
// with a receiver that keeps nothing: reading the body, verifying the
// HMAC, decoding the order. The durable inbox is BenchmarkInboxWriter's.
func BenchmarkHandler(b *testing.B) {
	shop := shopifytest.NewServer(shopifytest.Options{})
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	usd := func(s string) commerce.Money { return commerce.MustParseMoney(s, "USD") }
	if err := shop.PutCustomer(commerce.Customer{ID: "5001", Email: "ann@example.com", FirstName: "Ann", CreatedAt: at, UpdatedAt: at}); err != nil {
		b.Fatal(err)
	}
	o := commerce.Order{ID: "1001", Number: "#1001", CustomerID: "5001", Email: "ann@example.com", Currency: "USD",
		State: commerce.StatePaid, CreatedAt: at, UpdatedAt: at, Shipping: usd("5.00"), Tax: usd("8.40"), Total: usd("118.40"),
		Lines: []commerce.LineItem{
			{ID: "1", SKU: "NW-1", Title: "Trail mug", Quantity: 2, Subtotal: usd("25.00")},
			{ID: "2", SKU: "AO-2", Title: "Wool socks", Quantity: 1, Subtotal: usd("30.00")},
			{ID: "3", SKU: "BH-3", Title: "Canvas tote", Quantity: 1, Subtotal: usd("50.00")},
		}}
	if err := shop.PutOrder(o); err != nil {
		b.Fatal(err)
	}
	header, body, err := shop.Webhook(shopify.TopicOrdersUpdated, "1001")
	if err != nil {
		b.Fatal(err)
	}
	settings := "shop: " + shop.Shop() + "\naccess_token: " + shop.AccessToken() + "\napi_secret: " + shop.APISecret() + "\n"
	conn, err := connectors.Open(context.Background(), "shopify", connectors.Options{StoreID: "shop", Decode: func(v any) error {
		if err := yaml.Unmarshal([]byte(settings), v); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		return nil
	}})
	if err != nil {
		b.Fatal(err)
	}
	recv := &counter{}
	h := &webhooks.Handler{Sources: map[string]connectors.WebhookSource{"shop": conn.(connectors.WebhookSource)}, Receiver: recv}
	mux := http.NewServeMux()
	h.Register(mux)
	var seq atomic.Int64
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/webhooks/shop", bytes.NewReader(body))
			for k, v := range header {
				req.Header[k] = v
			}
			req.Header.Set(shopify.HeaderEventID, strconv.FormatInt(seq.Add(1), 10))
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
	if recv.n.Load() != int64(b.N) {
		b.Fatalf("received %d of %d", recv.n.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
