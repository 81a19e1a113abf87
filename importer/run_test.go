package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/loyaltyd/loyaltyd/importer"
)

// memSink stores orders in memory by id, as the engine would: a version
// with a later update time replaces the stored one, the same version
// changes nothing, an older one is stale.
type memSink struct {
	orders  map[string]importer.Record
	batches []int
	seen    []string // order ids, in the order stored
	failAt  int      // fail the nth call (1-based); 0 never
	calls   int
	// onCall, when set, is called before each Store with its number.
	onCall func(n int)
	refuse string // an order id to refuse
}

func orderJSON(o any) string {
	b, _ := json.Marshal(o)
	return string(b)
}

func newMemSink() *memSink { return &memSink{orders: map[string]importer.Record{}} }

func (s *memSink) Store(ctx context.Context, batch []importer.Record) ([]importer.Outcome, error) {
	s.calls++
	if s.onCall != nil {
		s.onCall(s.calls)
	}
	if s.calls == s.failAt {
		return nil, errors.New("disk full")
	}
	s.batches = append(s.batches, len(batch))
	out := make([]importer.Outcome, len(batch))
	for i, r := range batch {
		s.seen = append(s.seen, r.Order.ID)
		if r.Order.ID == s.refuse {
			out[i] = importer.Outcome{Result: importer.Refused, Err: errors.New("refused by the store")}
			continue
		}
		prev, ok := s.orders[r.Order.ID]
		switch {
		case !ok || r.Order.UpdatedAt.After(prev.Order.UpdatedAt):
			s.orders[r.Order.ID] = r
			out[i].Result = importer.Stored
		case r.Order.UpdatedAt.Before(prev.Order.UpdatedAt):
			out[i].Result = importer.Stale
		case orderJSON(r.Order) != orderJSON(prev.Order):
			s.orders[r.Order.ID] = r
			out[i].Result = importer.Stored
		default:
			out[i].Result = importer.Unchanged
		}
		out[i].NoCustomer = r.Order.CustomerID == ""
	}
	return out, nil
}

func runImport(t *testing.T, data []byte, cfg importer.Config, sink importer.Sink) (*importer.Summary, error) {
	t.Helper()
	if cfg.Location == nil {
		cfg.Location = tallinn
	}
	return importer.Import(context.Background(), bytes.NewReader(data), int64(len(data)), cfg, sink)
}

// TestImportOldestFirst: Shopify lists the newest order first; the import
// stores them oldest first, because an order's points depend on the
// orders credited before it. Re-importing stores nothing.
func TestImportOldestFirst(t *testing.T) {
	t.Parallel()
	data := testdata(t, "shopify_orders.csv")
	sink := newMemSink()
	var progress []importer.Progress
	sum, err := runImport(t, data, importer.Config{BatchSize: 4, Progress: func(p importer.Progress) { progress = append(progress, p) }}, sink)
	if err != nil {
		t.Fatal(err)
	}
	want := "5600000000001 5600000000002 5600000000003 5600000000004 5600000000005 5600000000006"
	if got := strings.Join(sink.seen, " "); got != want {
		t.Errorf("stored in the order %s, want %s", got, want)
	}
	if fmt.Sprint(sink.batches) != "[4 2]" {
		t.Errorf("batches %v, want [4 2]", sink.batches)
	}
	if sum.Format != importer.FormatShopifyCSV || sum.Rows != 9 || sum.Orders != 6 || sum.Stored != 6 || sum.Skipped() != 0 ||
		sum.Rejected != 0 || sum.OutOfOrder != 5 || sum.NoCustomer != 6 {
		t.Errorf("summary %+v", sum)
	}
	last := progress[len(progress)-1]
	if !last.Storing || last.Done != 6 || last.Total != 6 || progress[0].Storing {
		t.Errorf("progress %+v", progress)
	}

	again, err := runImport(t, data, importer.Config{}, sink)
	if err != nil || again.Stored != 0 || again.Unchanged != 6 {
		t.Errorf("import again: %+v %v", again, err)
	}
}

// TestImportRejections: rejected rows are counted and listed by line, the
// first MaxListed of them, and the rest is stored; test orders are skipped;
// a refusal by the store is a rejection too.
func TestImportRejections(t *testing.T) {
	t.Parallel()
	sink := newMemSink()
	sink.refuse = "7014"
	sum, err := runImport(t, testdata(t, "shopify_broken.csv"), importer.Config{MaxListed: 3}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Orders != 3 || sum.Stored != 2 || sum.Rejected != 12 || sum.RejectedRows != 14 || sum.Rows != 17 || len(sum.Rejections) != 3 {
		t.Errorf("summary %+v", sum)
	}
	for i, line := range []int{3, 4, 5} {
		if sum.Rejections[i].Line != line {
			t.Errorf("listed rejection %d at line %d, want %d", i, sum.Rejections[i].Line, line)
		}
	}
	if len(sink.orders) != 2 {
		t.Errorf("%d orders stored, want 2", len(sink.orders))
	}

	sum, err = runImport(t, testdata(t, "orders.jsonl"), importer.Config{}, newMemSink())
	if err != nil || sum.Tests != 1 || sum.Stored != 3 || sum.Skipped() != 1 {
		t.Errorf("JSON lines with a test order: %+v %v", sum, err)
	}
}

func TestImportDryRun(t *testing.T) {
	t.Parallel()
	sum, err := runImport(t, testdata(t, "woocommerce_broken.csv"), importer.Config{DryRun: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.DryRun || sum.Orders != 4 || sum.Stored != 0 || sum.Rejected != 12 || sum.Rejections[0].Line != 3 {
		t.Errorf("summary %+v", sum)
	}
}

// TestImportStops: an error of the store stops the import with what was
// stored before it kept; a file that is no export stores nothing.
func TestImportStops(t *testing.T) {
	t.Parallel()
	sink := newMemSink()
	sink.failAt = 2
	sum, err := runImport(t, testdata(t, "woocommerce_items.csv"), importer.Config{BatchSize: 3}, sink)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("error %v, want the store's", err)
	}
	if sum.Stored != 3 || len(sink.orders) != 3 {
		t.Errorf("stored %d (sink %d), want the first batch of 3", sum.Stored, len(sink.orders))
	}

	sum, err = runImport(t, []byte("sku,price\nA,1\n"), importer.Config{}, newMemSink())
	if sum != nil || !errors.Is(err, importer.ErrUnknownFormat) {
		t.Errorf("not an export: %+v %v", sum, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := testdata(t, "orders.jsonl")
	if _, err := importer.Import(ctx, bytes.NewReader(data), int64(len(data)), importer.Config{}, newMemSink()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestImportInterrupted: an import stopped midway keeps what it stored,
// and the same import afterwards stores the rest.
func TestImportInterrupted(t *testing.T) {
	t.Parallel()
	st := synthStore(t, 200, "USD")
	data := write(t, importer.Options{Format: importer.FormatJSONL}, st.Orders, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := newMemSink()
	sink.onCall = func(n int) {
		if n == 2 {
			cancel()
		}
	}
	sum, err := importer.Import(ctx, bytes.NewReader(data), int64(len(data)), importer.Config{BatchSize: 50}, sink)
	if !errors.Is(err, context.Canceled) || sum.Stored != 100 || len(sink.orders) != 100 {
		t.Fatalf("interrupted: %v, stored %d (sink %d), want 100", err, sum.Stored, len(sink.orders))
	}
	sink.onCall = nil
	sum, err = importer.Import(context.Background(), bytes.NewReader(data), int64(len(data)), importer.Config{BatchSize: 50}, sink)
	if err != nil || sum.Stored != len(st.Orders)-100 || sum.Unchanged != 100 || len(sink.orders) != len(st.Orders) {
		t.Errorf("import again: %+v %v", sum, err)
	}
}
