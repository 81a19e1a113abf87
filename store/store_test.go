package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/store"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// mustOpen opens a fresh database in a temporary directory with a fixed clock.
func mustOpen(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "loyaltyd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Now = func() time.Time { return t0 }
	t.Cleanup(func() { db.Close() })
	if err := db.Update(context.Background(), func(tx *store.Tx) error { return tx.EnsureStore("s1", "memory") }); err != nil {
		t.Fatal(err)
	}
	return db
}

func update(t testing.TB, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := db.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func TestOpenFreshAndExisting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "l.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	update(t, db, func(tx *store.Tx) error { return tx.EnsureStore("s1", "memory") })
	db.Close()

	// Reopening an existing file keeps its data and migrates nothing twice.
	db, err = store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if err := db.View(ctx, func(tx *store.Tx) error {
		_, err := tx.Counts("s1")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var v int
	var mode string
	if err := raw.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if got, want := v, store.SchemaVersion(); got != want {
		t.Errorf("user_version = %d, want %d", got, want)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

func TestOpenRefusesNonSQLiteFileAndLeavesIt(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "notes.txt")
	content := []byte("these are my notes, not a database\n")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open(context.Background(), path, store.Options{})
	if !errors.Is(err, store.ErrNotDatabase) {
		t.Fatalf("Open = %v, want ErrNotDatabase", err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, content) {
		t.Errorf("file changed: %q", got)
	}
	if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
		t.Errorf("a -wal file was created next to it")
	}
}

func TestOpenRefusesNewerSchemaAndLeavesIt(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "future.db")
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("CREATE TABLE t (x); PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	before, _ := os.ReadFile(path)
	_, err = store.Open(context.Background(), path, store.Options{})
	if !errors.Is(err, store.ErrTooNew) {
		t.Fatalf("Open = %v, want ErrTooNew", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Errorf("file changed")
	}
}

func order(id string, updated time.Time, state commerce.FinancialState) *commerce.Order {
	return &commerce.Order{
		ID: id, Number: "#" + id, CustomerID: "c1", Currency: "USD", CreatedAt: t0, UpdatedAt: updated, State: state,
		Lines: []commerce.LineItem{{ID: "l1", Quantity: 1, Subtotal: commerce.MustParseMoney("10.00", "USD")}},
		Total: commerce.MustParseMoney("10.00", "USD"), Raw: []byte(`{"id":` + id + `}`),
	}
}

// checkStored checks that an upsert's Stored is what reading the order
// back gives, and that it is there exactly when the upsert changed it.
func checkStored(t *testing.T, tx *store.Tx, r store.UpsertResult) {
	t.Helper()
	if (r.Stored != nil) != r.Changed {
		t.Fatalf("upsert %+v: Stored must be set exactly when Changed", r)
	}
	if r.Stored == nil {
		return
	}
	back, err := tx.Order("s1", r.Stored.ID)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(r.Stored.Order)
	b, _ := json.Marshal(back.Order)
	if string(a) != string(b) || string(r.Stored.Raw) != string(back.Raw) || string(r.Stored.Snapshot) != string(back.Snapshot) ||
		!r.Stored.FirstSeenAt.Equal(back.FirstSeenAt) || !r.Stored.DeletedAt.Equal(back.DeletedAt) {
		t.Errorf("Stored = %+v\nread back %+v", r.Stored, back)
	}
}

// TestUpsertOrderStored: a replaced order keeps its frozen snapshot and
// its first sighting, and is no longer deleted, in Stored as in the row.
func TestUpsertOrderStored(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	update(t, db, func(tx *store.Tx) error {
		r, err := tx.UpsertOrder("s1", order("1", t0, commerce.StatePaid))
		if err != nil {
			return err
		}
		checkStored(t, tx, r)
		if _, err := tx.SetSnapshot("s1", "1", []byte(`{"rate":1}`), false); err != nil {
			return err
		}
		if _, err := tx.DeleteOrder("s1", "1", t0.Add(time.Minute)); err != nil {
			return err
		}
		r, err = tx.UpsertOrder("s1", order("1", t0.Add(time.Hour), commerce.StatePartiallyRefunded))
		if err != nil {
			return err
		}
		checkStored(t, tx, r)
		if r.Stored == nil || string(r.Stored.Snapshot) != `{"rate":1}` || !r.Stored.DeletedAt.IsZero() || r.Stored.FirstSeenAt.IsZero() {
			t.Errorf("replaced order: Stored = %+v", r.Stored)
		}
		return nil
	})
}

func TestUpsertOrderNeverRegresses(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	newer := order("1", t0.Add(time.Hour), commerce.StateRefunded)
	older := order("1", t0, commerce.StatePaid)
	var results []store.UpsertResult
	update(t, db, func(tx *store.Tx) error {
		for _, o := range []*commerce.Order{newer, older, newer} {
			r, err := tx.UpsertOrder("s1", o)
			if err != nil {
				return err
			}
			checkStored(t, tx, r)
			r.Stored = nil
			results = append(results, r)
		}
		return nil
	})
	want := []store.UpsertResult{{Inserted: true, Changed: true}, {Stale: true}, {}}
	for i := range want {
		if results[i] != want[i] {
			t.Errorf("upsert %d = %+v, want %+v", i, results[i], want[i])
		}
	}
	db.View(context.Background(), func(tx *store.Tx) error {
		o, err := tx.Order("s1", "1")
		if err != nil {
			t.Fatal(err)
		}
		if o.State != commerce.StateRefunded || !o.UpdatedAt.Equal(newer.UpdatedAt) {
			t.Errorf("stored %s at %v, want the newer version", o.State, o.UpdatedAt)
		}
		if string(o.Raw) != `{"id":1}` {
			t.Errorf("raw = %q", o.Raw)
		}
		if got, want := o.Total, newer.Total; got != want {
			t.Errorf("total = %v, want %v", got, want)
		}
		return nil
	})
}

func TestUpsertCustomerGuarded(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	c := commerce.Customer{ID: "c1", Email: "Ann+shop@Example.com", FirstName: "Ann", Tags: []string{"vip"}, CreatedAt: t0, UpdatedAt: t0.Add(time.Hour)}
	old := c
	old.UpdatedAt, old.FirstName = t0, "Old"
	var changed []bool
	update(t, db, func(tx *store.Tx) error {
		for _, x := range []commerce.Customer{c, old, c} {
			ch, err := tx.UpsertCustomer("s1", &x)
			if err != nil {
				return err
			}
			changed = append(changed, ch)
		}
		return nil
	})
	if want := []bool{true, false, false}; !equalBools(changed, want) {
		t.Errorf("changed = %v, want %v", changed, want)
	}
	db.View(context.Background(), func(tx *store.Tx) error {
		cs, err := tx.CustomersByEmail("s1", "ann@example.com")
		if err != nil || len(cs) != 1 {
			t.Fatalf("by folded e-mail: %v, %v", cs, err)
		}
		if cs[0].FirstName != "Ann" || len(cs[0].Tags) != 1 {
			t.Errorf("stored %+v", cs[0].Customer)
		}
		_, err = tx.Customer("s1", "nobody")
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing customer: %v, want ErrNotFound", err)
		}
		return nil
	})
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEntitleAppendsOnlyDifferences(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	var got []*commerce.LedgerEntry
	update(t, db, func(tx *store.Tx) error {
		for _, total := range []int64{84, 84, 64, 64, 0} {
			e, err := tx.Entitle(commerce.LedgerEntry{StoreID: "s1", CustomerID: "c1", Stream: "order:1:earn",
				Kind: commerce.KindEarn, Total: total, OrderID: "1", Reason: "test", AvailableAt: t0.Add(48 * time.Hour)})
			if err != nil {
				return err
			}
			got = append(got, e)
		}
		return nil
	})
	var points []int64
	for _, e := range got {
		if e != nil {
			points = append(points, e.Points)
		}
	}
	if want := []int64{84, -20, -64}; len(points) != len(want) || points[0] != want[0] || points[1] != want[1] || points[2] != want[2] {
		t.Fatalf("appended %v, want %v", points, want)
	}
	if got[2].AvailableAt != got[2].At {
		t.Errorf("a debit is effective at once: available_at %v, at %v", got[2].AvailableAt, got[2].At)
	}
	db.View(context.Background(), func(tx *store.Tx) error {
		seq, total, err := tx.StreamTotal("s1", "order:1:earn")
		if err != nil || seq != 3 || total != 0 {
			t.Errorf("stream = seq %d total %d (%v), want 3, 0", seq, total, err)
		}
		es, _ := tx.Ledger("s1", "c1")
		if len(es) != 3 {
			t.Errorf("ledger has %d entries, want 3", len(es))
		}
		return nil
	})
}

// TestLedgerRefusesEntriesThatDoNotContinueTheirStream shows the database
// itself, not only the code, enforcing the entitlement-delta invariant.
func TestLedgerRefusesEntriesThatDoNotContinueTheirStream(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	update(t, db, func(tx *store.Tx) error {
		_, err := tx.Entitle(commerce.LedgerEntry{StoreID: "s1", CustomerID: "c1", Stream: "order:1:earn", Kind: commerce.KindEarn, Total: 50, Reason: "x"})
		return err
	})
	raw, err := sql.Open("sqlite3", db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	const ins = `INSERT INTO ledger (store_id, customer_id, stream, seq, kind, points, total, at, available_at, reason)
		VALUES ('s1', 'c1', 'order:1:earn', ?, 'earn', ?, ?, 'x', 'x', 'x')`
	for _, tc := range []struct {
		name             string
		seq, points, tot int
	}{
		{"duplicate seq (a replay)", 1, 50, 50},
		{"skipped seq", 3, 10, 60},
		{"total that does not add up", 2, 10, 70},
	} {
		if _, err := raw.Exec(ins, tc.seq, tc.points, tc.tot); err == nil {
			t.Errorf("%s: insert accepted, want refused", tc.name)
		}
	}
	if _, err := raw.Exec(`UPDATE ledger SET points = 500`); err == nil {
		t.Errorf("update accepted: the ledger must be append-only")
	}
	if _, err := raw.Exec(`DELETE FROM ledger`); err == nil {
		t.Errorf("delete accepted: the ledger must be append-only")
	}
	if _, err := raw.Exec(ins, 2, 10, 60); err != nil {
		t.Errorf("a valid continuation was refused: %v", err)
	}
}

func TestSnapshotFrozenOnce(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	update(t, db, func(tx *store.Tx) error {
		if _, err := tx.UpsertOrder("s1", order("1", t0, commerce.StatePaid)); err != nil {
			return err
		}
		for i, s := range []string{`{"v":1}`, `{"v":2}`} {
			wrote, err := tx.SetSnapshot("s1", "1", []byte(s), false)
			if err != nil {
				return err
			}
			if wrote != (i == 0) {
				t.Errorf("snapshot %d wrote = %v", i, wrote)
			}
		}
		o, err := tx.Order("s1", "1")
		if err != nil {
			return err
		}
		if string(o.Snapshot) != `{"v":1}` {
			t.Errorf("snapshot = %s, want the first", o.Snapshot)
		}
		n, err := tx.CreditedOrders("s1", "c1", "other")
		if n != 1 || err != nil {
			t.Errorf("credited orders = %d, %v; want 1", n, err)
		}
		return nil
	})
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	want := store.Cursor{Since: t0, Until: t0.Add(time.Hour), Token: "abc", HighWater: t0.Add(time.Minute), HighWaterID: "42", PassStartedAt: t0}
	update(t, db, func(tx *store.Tx) error { return tx.SetCursor("s1", "orders", want) })
	db.View(context.Background(), func(tx *store.Tx) error {
		got, err := tx.Cursor("s1", "orders")
		if err != nil {
			t.Fatal(err)
		}
		want.UpdatedAt = t0
		if got != want {
			t.Errorf("cursor = %+v, want %+v", got, want)
		}
		none, _ := tx.Cursor("s1", "customers")
		if none != (store.Cursor{}) {
			t.Errorf("unsaved cursor = %+v, want zero", none)
		}
		return nil
	})
}

func TestOutboxLifecycle(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	update(t, db, func(tx *store.Tx) error {
		for i := 0; i < 2; i++ {
			added, err := tx.Enqueue(store.OutboxItem{StoreID: "s1", Kind: "tags_add", CustomerID: "c1", Key: "member:c1", Payload: []byte(`{}`)})
			if err != nil {
				return err
			}
			if added != (i == 0) {
				t.Errorf("enqueue %d added = %v", i, added)
			}
		}
		_, err := tx.Enqueue(store.OutboxItem{StoreID: "s1", Kind: "tags_add", CustomerID: "c2", Payload: []byte(`{}`)})
		return err
	})
	var due []store.OutboxItem
	db.View(ctx, func(tx *store.Tx) (err error) { due, err = tx.DueOutbox("s1", t0, 10); return })
	if len(due) != 2 {
		t.Fatalf("due = %d items, want 2", len(due))
	}
	update(t, db, func(tx *store.Tx) error {
		if err := tx.OutboxDelivered(due[0].ID, "ok"); err != nil {
			return err
		}
		return tx.OutboxFailed(due[1].ID, "boom", t0.Add(time.Minute), true)
	})
	db.View(ctx, func(tx *store.Tx) error {
		counts, _ := tx.OutboxCounts("s1")
		if counts["delivered"] != 1 || counts["dead"] != 1 || counts["pending"] != 0 {
			t.Errorf("counts = %v", counts)
		}
		dead, _ := tx.OutboxItems("s1", store.OutboxDead, 10)
		if len(dead) != 1 || dead[0].LastError != "boom" || dead[0].Attempts != 1 {
			t.Errorf("dead = %+v", dead)
		}
		return nil
	})
	update(t, db, func(tx *store.Tx) error { return tx.RetryDead("s1", due[1].ID) })
	if err := db.Update(ctx, func(tx *store.Tx) error { return tx.RetryDead("s1", due[0].ID) }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("retrying a delivered item: %v, want ErrNotFound", err)
	}
	db.View(ctx, func(tx *store.Tx) (err error) { due, err = tx.DueOutbox("s1", t0, 10); return })
	if len(due) != 1 || due[0].Attempts != 0 {
		t.Errorf("after retry, due = %+v", due)
	}
}

func TestAudit(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	update(t, db, func(tx *store.Tx) error {
		_, err := tx.Audit(store.AuditEntry{Actor: "dana", Action: "adjust", StoreID: "s1", CustomerID: "c1", Detail: "+50: goodwill"})
		return err
	})
	db.View(context.Background(), func(tx *store.Tx) error {
		log, err := tx.AuditLog("s1", "c1", 10)
		if err != nil || len(log) != 1 || log[0].Actor != "dana" || !log[0].At.Equal(t0) {
			t.Errorf("audit log = %+v, %v", log, err)
		}
		return nil
	})
}

func TestTransactionRollsBackOnError(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	boom := errors.New("boom")
	err := db.Update(context.Background(), func(tx *store.Tx) error {
		if _, err := tx.UpsertOrder("s1", order("1", t0, commerce.StatePaid)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	db.View(context.Background(), func(tx *store.Tx) error {
		if _, err := tx.Order("s1", "1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("order survived a rolled-back transaction: %v", err)
		}
		return nil
	})
}

func TestBackupWhileOpen(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	update(t, db, func(tx *store.Tx) error {
		_, err := tx.UpsertOrder("s1", order("1", t0, commerce.StatePaid))
		return err
	})
	dst := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Backup(context.Background(), dst); err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(context.Background(), dst); err == nil {
		t.Error("a backup overwrote an existing file")
	}
	copy, err := store.Open(context.Background(), dst, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer copy.Close()
	copy.View(context.Background(), func(tx *store.Tx) error {
		if _, err := tx.Order("s1", "1"); err != nil {
			t.Errorf("the backup lacks the order: %v", err)
		}
		return nil
	})
}

func TestInboxWriterGroupsDeliveries(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	w := store.NewInboxWriter(db)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	const n = 200
	dups := make(chan bool, 2*n)
	errs := make(chan error, 2*n)
	var wg stdsync.WaitGroup
	for i := range 2 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every key is delivered twice, concurrently.
			dup, err := w.Put(context.Background(), &store.InboxEvent{StoreID: "s1", DedupeKey: fmt.Sprint("k", i%n),
				Topic: "orders/updated", Kind: "order", Body: []byte("{}"), Event: []byte("{}")})
			dups <- dup
			errs <- err
		}()
	}
	wg.Wait()
	close(dups)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	d := 0
	for dup := range dups {
		if dup {
			d++
		}
	}
	if d != n {
		t.Errorf("%d duplicates, want %d", d, n)
	}
	cancel()
	<-done
	if _, err := w.Put(context.Background(), &store.InboxEvent{StoreID: "s1", DedupeKey: "late"}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Put after Run ended: %v, want ErrClosed", err)
	}
	db.View(context.Background(), func(tx *store.Tx) error {
		s, err := tx.InboxStats("s1")
		if err != nil || s.ByStatus[store.InboxPending] != n || s.Duplicates != n {
			t.Errorf("stats %+v %v", s, err)
		}
		return nil
	})
}

func TestPruneInboxEmptiesOldBodies(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	update(t, db, func(tx *store.Tx) error {
		for _, k := range []string{"old", "pending"} {
			if _, err := tx.PutInbox(&store.InboxEvent{StoreID: "s1", DedupeKey: k, Topic: "t", Kind: "order", Body: []byte(`{"email":"ann@example.com"}`)}); err != nil {
				return err
			}
		}
		pending, _ := tx.PendingInbox("s1", 10)
		return tx.InboxDone(pending[0].ID, store.InboxProcessed, "")
	})
	var n int
	update(t, db, func(tx *store.Tx) (err error) { n, err = tx.PruneInbox(t0.Add(time.Second)); return })
	if n != 1 {
		t.Errorf("pruned %d, want 1 (the processed one)", n)
	}
	db.View(context.Background(), func(tx *store.Tx) error {
		done, _ := tx.InboxEvents("s1", store.InboxProcessed, 10)
		pending, _ := tx.InboxEvents("s1", store.InboxPending, 10)
		if len(done) != 1 || len(done[0].Body) != 0 || len(pending) != 1 || len(pending[0].Body) == 0 {
			t.Errorf("after pruning: processed %+v, pending %+v", done, pending)
		}
		return nil
	})
}

func TestSearchCustomers(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	update(t, db, func(tx *store.Tx) error {
		for _, c := range []commerce.Customer{
			{ID: "100", Email: "Ann.Lee@Example.com", FirstName: "Ann", LastName: "Lee"},
			{ID: "101", Email: "annie@example.com", FirstName: "Annie", LastName: "Marsh"},
			{ID: "102", Email: "bob_100%@example.com", FirstName: "Bob", LastName: "Annan"},
		} {
			c.CreatedAt, c.UpdatedAt = t0, t0
			if _, err := tx.UpsertCustomer("s1", &c); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		q    string
		want string
	}{
		{"100", "100 102"},                  // an exact id first, then e-mails containing it
		{"ann.lee+news@example.COM", "100"}, // a folded e-mail
		{"ann", "102 100 101"},              // names and e-mails containing it, by last name
		{"annie marsh", "101"},              // a full name
		{"100%", "102"},                     // LIKE's wildcards are literal
		{"nobody", ""},
	} {
		var got []string
		db.View(context.Background(), func(tx *store.Tx) error {
			cs, err := tx.SearchCustomers("s1", tc.q, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				got = append(got, c.ID)
			}
			return nil
		})
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("search %q = %q, want %q", tc.q, g, tc.want)
		}
	}
}

// TestUpdateContext: a transaction's statements stop at a cancelled
// context and the transaction rolls back whole; a transaction whose
// function has returned commits, even when the context ends meanwhile.
func TestUpdateContext(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx, cancel := context.WithCancel(context.Background())
	err := db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.UpsertOrder("s1", order("1", t0, commerce.StatePaid)); err != nil {
			return err
		}
		cancel()
		// A read of one row, a read of one key's rows and a write.
		if _, err := tx.Order("s1", "1"); !errors.Is(err, context.Canceled) {
			t.Errorf("Order after cancel: %v, want context.Canceled", err)
		}
		if _, err := tx.Ledger("s1", "c1"); !errors.Is(err, context.Canceled) {
			t.Errorf("Ledger after cancel: %v, want context.Canceled", err)
		}
		_, err := tx.UpsertOrder("s1", order("2", t0, commerce.StatePaid))
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update = %v, want context.Canceled", err)
	}
	count := func() int {
		t.Helper()
		var n int
		if err := db.View(context.Background(), func(tx *store.Tx) error {
			c, err := tx.Counts("s1")
			n = c.Orders
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Errorf("%d orders stored by the cancelled transaction, want none", n)
	}

	ctx, cancel = context.WithCancel(context.Background())
	if err := db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.UpsertOrder("s1", order("3", t0, commerce.StatePaid))
		cancel() // after the last statement
		return err
	}); err != nil {
		t.Fatalf("Update whose function finished: %v", err)
	}
	if n := count(); n != 1 {
		t.Errorf("%d orders stored, want the one of the finished transaction", n)
	}
}
