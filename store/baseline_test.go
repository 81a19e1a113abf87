package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/store"
)

// plainOrders yields n orders, then err if it is not nil.
func plainOrders(n int, err error) iter.Seq2[commerce.Order, error] {
	return func(yield func(commerce.Order, error) bool) {
		for i := range n {
			if !yield(*order(fmt.Sprint(1000+i), t0.Add(time.Duration(i)*time.Minute), commerce.StatePaid), nil) {
				return
			}
		}
		if err != nil {
			yield(commerce.Order{}, err)
		}
	}
}

func TestPlainInsertOrders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct {
		name   string
		orders int
		batch  int
	}{
		{"batches-fill", 30, 10},
		{"last-batch-short", 25, 10},
		{"one-batch", 7, 1000},
		{"none", 0, 10},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, tt.name+".db")
		got, err := store.PlainInsertOrders(ctx, path, "s1", tt.batch, plainOrders(tt.orders, nil))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.orders {
			t.Errorf("%s: inserted %d, want %d", tt.name, got, tt.orders)
		}
		if n, err := store.PlainOrderCount(ctx, path); err != nil || n != tt.orders {
			t.Errorf("%s: %d rows in the table (%v), want %d", tt.name, n, err, tt.orders)
		}
	}
}

// TestPlainInsertSchema: the baseline is loyaltyd's own orders table with
// every index the migrations give it, and nothing else of the schema.
func TestPlainInsertSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "plain.db")
	if _, err := store.PlainInsertOrders(ctx, path, "s1", 10, plainOrders(3, nil)); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var typ, name string
		if err := rows.Scan(&typ, &name); err != nil {
			t.Fatal(err)
		}
		got = append(got, typ+" "+name)
	}
	want := []string{"index orders_counting", "index orders_customer", "index orders_processed", "index orders_updated", "table orders"}
	if !slices.Equal(got, want) {
		t.Errorf("schema %q, want %q", got, want)
	}
}

func TestPlainInsertOrdersStops(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	boom := errors.New("boom")
	path := filepath.Join(dir, "a.db")
	n, err := store.PlainInsertOrders(ctx, path, "s1", 10, plainOrders(25, boom))
	if !errors.Is(err, boom) || n != 25 {
		t.Errorf("got %d, %v; want 25 and the sequence's error", n, err)
	}
	// The two full batches were committed, the third rolled back.
	if got, err := store.PlainOrderCount(ctx, path); err != nil || got != 20 {
		t.Errorf("%d rows stored (%v), want 20", got, err)
	}
	// A file that exists is never written to.
	if _, err := store.PlainInsertOrders(ctx, path, "s1", 10, plainOrders(1, nil)); err == nil {
		t.Error("inserted into an existing file")
	}
	if _, err := store.PlainInsertOrders(ctx, filepath.Join(dir, "b.db"), "s1", 0, plainOrders(1, nil)); err == nil {
		t.Error("batch 0 accepted")
	}
	// Two orders with one id break the primary key.
	dup := func(yield func(commerce.Order, error) bool) {
		o := *order("1", t0, commerce.StatePaid)
		_ = yield(o, nil) && yield(o, nil)
	}
	if _, err := store.PlainInsertOrders(ctx, filepath.Join(dir, "c.db"), "s1", 10, dup); err == nil {
		t.Error("a duplicate id was inserted")
	}
}
