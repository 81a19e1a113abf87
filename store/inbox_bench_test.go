package store_test

import (
	"bytes"
	"context"
	"strconv"
	stdsync "sync"
	"sync/atomic"
	"testing"

	"github.com/loyaltyd/loyaltyd/store"
)

// inboxBody is about the size of a Shopify order delivery.
var inboxBody = bytes.Repeat([]byte(`{"id":1001,"line_items":[{"title":"Trail mug","price":"12.50"}]},`), 64)

// BenchmarkInboxWriter stores deliveries from many concurrent senders
// through the group-commit writer, each durable (synchronous=FULL) before
// its Put returns: what a burst of webhooks costs the inbox.
func BenchmarkInboxWriter(b *testing.B) {
	db := mustOpen(b)
	w := store.NewInboxWriter(db)
	ctx, cancel := context.WithCancel(context.Background())
	var wg stdsync.WaitGroup
	wg.Go(func() { w.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	var n atomic.Int64
	b.SetParallelism(32)
	b.SetBytes(int64(len(inboxBody)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := strconv.FormatInt(n.Add(1), 10)
			dup, err := w.Put(ctx, &store.InboxEvent{StoreID: "s1", DedupeKey: "e" + k, Topic: "orders/updated",
				Kind: "order", ResourceID: k, Body: inboxBody, Event: []byte(`{}`)})
			if err != nil || dup {
				b.Fatalf("put %s: dup %v, %v", k, dup, err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkPutInboxDurable stores one delivery per durable transaction:
// the cost the group commit spreads over a batch.
func BenchmarkPutInboxDurable(b *testing.B) {
	db := mustOpen(b)
	ctx := context.Background()
	b.SetBytes(int64(len(inboxBody)))
	i := 0
	for b.Loop() {
		i++
		k := strconv.Itoa(i)
		if err := db.Durable(ctx, func(tx *store.Tx) error {
			_, err := tx.PutInbox(&store.InboxEvent{StoreID: "s1", DedupeKey: "e" + k, Topic: "orders/updated",
				Kind: "order", ResourceID: k, Body: inboxBody, Event: []byte(`{}`)})
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
