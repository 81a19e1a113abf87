package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/store"
)

// integrity runs SQLite's own check of the whole file on a connection of
// its own and returns its verdict ("ok" when the file is sound).
func integrity(t *testing.T, path string) string {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var lines []string
	rows, err := raw.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "; ")
}

// bulky is an order whose platform payload takes a few pages.
func bulky(id string) *commerce.Order {
	o := order(id, t0, commerce.StatePaid)
	o.Raw = []byte(fmt.Sprintf(`{"id":%s,"note":%q}`, id, strings.Repeat("x", 3000)))
	return o
}

// TestFullDisk fills the database to its cap: the transaction that meets
// the full disk fails whole with ErrFull and a message that says what to
// do, the group-committed inbox refuses deliveries the same way (so that
// the webhook handler can ask the platform to retry), nothing committed
// before is lost, the file stays sound, and once there is room again the
// same writes succeed.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpen(t)
	put := func(ids ...string) error {
		return db.Update(ctx, func(tx *store.Tx) error {
			for _, id := range ids {
				if _, err := tx.UpsertOrder("s1", bulky(id)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var before []string
	for i := range 10 {
		before = append(before, fmt.Sprint(i+1))
	}
	if err := put(before...); err != nil {
		t.Fatal(err)
	}
	pages, err := db.SetMaxPageCount(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if pages < 2 {
		t.Fatalf("cap in force %d pages: SQLite set it below the file's size", pages)
	}

	// One transaction of many orders: the first few may fit in free
	// space, but the transaction fails as a whole.
	var batch []string
	for i := range 20 {
		batch = append(batch, fmt.Sprint(100+i))
	}
	err = put(batch...)
	if !errors.Is(err, store.ErrFull) {
		t.Fatalf("writing past the cap: %v, want ErrFull", err)
	}
	for _, want := range []string{"upsert order s1/", "database or disk is full", "free space on the disk holding " + db.Path(), "intact"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}

	// The inbox, written durably and with group commit, refuses too.
	w := store.NewInboxWriter(db)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(wctx) }()
	defer func() { stop(); <-done }()
	delivery := func(key string) *store.InboxEvent {
		return &store.InboxEvent{StoreID: "s1", DedupeKey: key, Topic: "orders/updated", Kind: "order",
			Body: bytes.Repeat([]byte("b"), 8000), Event: []byte("{}")}
	}
	if _, err := w.Put(ctx, delivery("k1")); !errors.Is(err, store.ErrFull) {
		t.Errorf("inbox writer on a full disk: %v, want ErrFull", err)
	}
	if err := db.Durable(ctx, func(tx *store.Tx) error { _, err := tx.PutInbox(delivery("k2")); return err }); !errors.Is(err, store.ErrFull) {
		t.Errorf("durable inbox write on a full disk: %v, want ErrFull", err)
	}

	check := func(wantOrders, wantInbox int) {
		t.Helper()
		if got := integrity(t, db.Path()); got != "ok" {
			t.Errorf("integrity check: %s", got)
		}
		db.View(ctx, func(tx *store.Tx) error {
			c, err := tx.Counts("s1")
			if err != nil {
				t.Fatal(err)
			}
			if c.Orders != wantOrders {
				t.Errorf("%d orders stored, want %d", c.Orders, wantOrders)
			}
			for _, id := range before {
				o, err := tx.Order("s1", id)
				if err != nil || !bytes.Equal(o.Raw, bulky(id).Raw) {
					t.Errorf("order %s stored before the disk filled: %v", id, err)
				}
			}
			s, err := tx.InboxStats("s1")
			if err != nil {
				t.Fatal(err)
			}
			if n := s.ByStatus[store.InboxPending]; n != wantInbox {
				t.Errorf("%d deliveries in the inbox, want %d", n, wantInbox)
			}
			return nil
		})
	}
	check(len(before), 0)

	// Space returns: the same writes succeed, each once.
	if _, err := db.SetMaxPageCount(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := put(batch...); err != nil {
		t.Fatalf("after space returned: %v", err)
	}
	if dup, err := w.Put(ctx, delivery("k1")); err != nil || dup {
		t.Errorf("inbox after space returned: duplicate %v, %v", dup, err)
	}
	check(len(before)+len(batch), 1)
}

// TestFullDiskKeepsEarlierCommits writes one order per transaction until
// the cap stops it, at caps of 1 to 8 pages of headroom, so that the
// failure lands in different statements (the order, its index, the
// commit): every order reported committed is stored whole, none reported
// failed is stored at all, and the file stays sound.
func TestFullDiskKeepsEarlierCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for headroom := range 8 {
		db := mustOpen(t)
		pages, err := db.SetMaxPageCount(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetMaxPageCount(ctx, pages+headroom); err != nil {
			t.Fatal(err)
		}
		var committed []string
		failed := ""
		for i := range 1000 {
			id := fmt.Sprint(i + 1)
			err := db.Update(ctx, func(tx *store.Tx) error {
				_, err := tx.UpsertOrder("s1", bulky(id))
				return err
			})
			if err != nil {
				if !errors.Is(err, store.ErrFull) {
					t.Fatalf("headroom %d: order %s: %v, want ErrFull", headroom, id, err)
				}
				failed = id
				break
			}
			committed = append(committed, id)
		}
		if failed == "" {
			t.Fatalf("headroom %d: 1000 orders fit in %d pages", headroom, pages+headroom)
		}
		if got := integrity(t, db.Path()); got != "ok" {
			t.Errorf("headroom %d: integrity check: %s", headroom, got)
		}
		db.View(ctx, func(tx *store.Tx) error {
			for _, id := range committed {
				if o, err := tx.Order("s1", id); err != nil || !bytes.Equal(o.Raw, bulky(id).Raw) {
					t.Errorf("headroom %d: committed order %s: %v", headroom, id, err)
				}
			}
			if _, err := tx.Order("s1", failed); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("headroom %d: the failed order %s is stored: %v", headroom, failed, err)
			}
			return nil
		})
	}
}
