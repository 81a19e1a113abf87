package sync_test

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/memory"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
	"github.com/loyaltyd/loyaltyd/webhooks"
)

// faultsLong runs the long variants of the fault tests: every failure
// point instead of a few, and more seeds.
var faultsLong = flag.Bool("faults.long", false, "run the long variants of the fault tests (every failure point, more seeds)")

// integrity runs SQLite's check of the whole file on a connection of its
// own; "ok" when the file is sound.
func (h *harness) integrity() string {
	h.t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+h.db.Path()+"?mode=ro")
	if err != nil {
		h.t.Fatal(err)
	}
	defer raw.Close()
	var lines []string
	rows, err := raw.Query("PRAGMA integrity_check")
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			h.t.Fatal(err)
		}
		lines = append(lines, s)
	}
	return strings.Join(lines, "; ")
}

// entries returns the store's whole ledger, oldest first.
func (h *harness) entries() []commerce.LedgerEntry {
	h.t.Helper()
	var es []commerce.LedgerEntry
	err := h.db.View(context.Background(), func(tx *store.Tx) error {
		return tx.ForEachEntry("shop", func(e commerce.LedgerEntry) error { es = append(es, e); return nil })
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return es
}

// fill leaves the database room for headroom more pages, as a disk that
// is about to be full.
func (h *harness) fill(headroom int) {
	h.t.Helper()
	ctx := context.Background()
	pages, err := h.db.SetMaxPageCount(ctx, 1)
	if err == nil {
		_, err = h.db.SetMaxPageCount(ctx, pages+headroom)
	}
	if err != nil {
		h.t.Fatal(err)
	}
}

// brim leaves the database room for headroom more pages, then uses up
// the free space left in the file with rejected webhook deliveries (kept
// for inspection, never applied), as a disk that something else filled:
// after it, only a write that fits in place succeeds.
func (h *harness) brim(headroom int) {
	h.t.Helper()
	h.fill(headroom)
	n := 0
	for size := 1 << 16; size > 0; size /= 4 {
		for {
			n++
			err := h.db.Durable(context.Background(), func(tx *store.Tx) error {
				_, err := tx.PutInbox(&store.InboxEvent{StoreID: "shop", DedupeKey: fmt.Sprint("filler-", n), Kind: "unknown",
					Body: make([]byte, size), Status: store.InboxRejected, Error: "filler"})
				return err
			})
			if errors.Is(err, store.ErrFull) {
				break
			}
			if err != nil {
				h.t.Fatal(err)
			}
		}
	}
}

// room gives the database its space back.
func (h *harness) room() {
	h.t.Helper()
	if _, err := h.db.SetMaxPageCount(context.Background(), 0); err != nil {
		h.t.Fatal(err)
	}
}

// receiver hands the webhook handler's deliveries to the engine, as the
// daemon wires them.
type receiver struct{ e *sync.Engine }

func (r receiver) Receive(ctx context.Context, d webhooks.Delivery) (bool, error) {
	return r.e.Receive(ctx, d.StoreID, d.Event, d.Body, d.Rejected)
}

// post sends a signed delivery through the webhook handler, as the
// platform would, and returns the status it was answered.
func (h *harness) post(hd http.Header, body []byte) int {
	h.t.Helper()
	wh := &webhooks.Handler{Sources: map[string]connectors.WebhookSource{"shop": h.st.Conn.(connectors.WebhookSource)},
		Receiver: receiver{h.engine}}
	req := httptest.NewRequest(http.MethodPost, "/webhooks/shop", strings.NewReader(string(body)))
	maps.Copy(req.Header, hd)
	req.SetPathValue("store", "shop")
	rec := httptest.NewRecorder()
	wh.ServeHTTP(rec, req)
	return rec.Code
}

// checkCursor checks that the orders cursor has not moved past an order
// that is not stored: every order of the platform at or below the
// cursor's high-water mark is stored in the version the platform holds.
func (h *harness) checkCursor(ids []string) {
	h.t.Helper()
	h.db.View(context.Background(), func(tx *store.Tx) error {
		c, err := tx.Cursor("shop", sync.ResourceOrders)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, id := range ids {
			p, ok := h.platform.Order(id)
			if !ok || p.UpdatedAt.After(c.HighWater) || (p.UpdatedAt.Equal(c.HighWater) && p.ID > c.HighWaterID) {
				continue
			}
			s, err := tx.Order("shop", id)
			if err != nil || !s.UpdatedAt.Equal(p.UpdatedAt) {
				h.t.Errorf("the cursor (%s, %s) moved past order %s (updated %s), which is not stored in that version: %v",
					c.HighWater, c.HighWaterID, id, p.UpdatedAt, err)
			}
		}
		return nil
	})
}

// ledgerLines is the ledger as a sorted list of "stream kind points"
// lines: two runs that credited the same things the same number of times
// have the same lines.
func ledgerLines(es []commerce.LedgerEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = fmt.Sprintf("%s %s %+d", e.Stream, e.Kind, e.Points)
	}
	slices.Sort(out)
	return out
}

// TestFullDisk runs out of disk space in the middle of a store's life, at
// several points (the headroom left, in pages), and checks what an
// operator depends on: the pass fails with an error that names the cause
// and the remedy; webhooks the inbox cannot store are answered 503, so
// that the platform retries them, and those answered 200 are stored;
// the webhook processor leaves what it could not apply pending; nothing
// committed before is lost and the file stays sound; the cursor never
// moves past an order that is not stored; and once space returns, the
// next passes catch up to exactly the ledger and tags of a run that never
// ran out of space.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	headrooms := []int{0, 2, 5}
	seeds := uint64(2)
	if *faultsLong {
		headrooms, seeds = nil, 6
		for i := range 40 {
			headrooms = append(headrooms, i)
		}
	}
	for seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			vs := history(rand.New(rand.NewPCG(seed, 11)))
			// Odd seeds store webhooks with group commit, as the daemon does.
			groupCommit := seed%2 == 1
			clean := fullDiskRun(t, vs, -1, groupCommit)
			faults := 0
			for _, headroom := range headrooms {
				got := fullDiskRun(t, vs, headroom, groupCommit)
				if got.faulted {
					faults++
				}
				if !maps.Equal(got.totals, clean.totals) {
					t.Errorf("headroom %d: stream totals after the disk filled and emptied:\n  got  %v\n  want %v", headroom, got.totals, clean.totals)
				}
				if !slices.Equal(got.lines, clean.lines) {
					t.Errorf("headroom %d: ledger after the disk filled and emptied:\n  got  %q\n  want %q", headroom, got.lines, clean.lines)
				}
				if !maps.EqualFunc(got.tags, clean.tags, slices.Equal) {
					t.Errorf("headroom %d: tags %v, want %v", headroom, got.tags, clean.tags)
				}
				if !got.faulted {
					break // more headroom would not fill the disk either
				}
			}
			if faults == 0 {
				t.Fatal("the disk never filled: the test tests nothing")
			}
		})
	}
}

type diskOutcome struct {
	outcome
	lines   []string
	faulted bool
}

// fullDiskRun plays a history on a fresh store: half of it, a pass, the
// rest; then, unless headroom is negative, a few webhooks stored but not
// yet applied, the disk filled to headroom pages, the processor, a pass
// and a burst of webhooks on the full disk, checks, and space given back;
// then the processor and passes until everything is applied. With
// groupCommit, webhooks are stored through a store.InboxWriter.
func fullDiskRun(t *testing.T, vs []version, headroom int, groupCommit bool) diskOutcome {
	t.Helper()
	h := newHarness(t, parseProgram(t, "p", "currency: USD\nlaunch: 2026-01-01\nearn: {points_per_unit: 1.5, pending_days: 7, first_order_bonus: 25, multipliers: [{sku_prefix: NW-, factor: 2}]}\n"), 3)
	if groupCommit {
		w := store.NewInboxWriter(h.db)
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.Run(ctx) }()
		t.Cleanup(func() { stop(); <-done })
		h.engine.Inbox = w
	}
	customers := []string{"ann", "ben", "cat", "dan", "eve"}
	for _, c := range customers {
		h.customer(c, c+"@example.com")
	}
	half := len(vs) / 2
	var ids []string
	for i, v := range vs {
		h.clock.Set(v.order.UpdatedAt)
		h.platform.PutOrder(v.order)
		if !slices.Contains(ids, v.order.ID) {
			ids = append(ids, v.order.ID)
		}
		if i == half {
			h.clock.Set(v.order.UpdatedAt.Add(time.Minute))
			h.pass()
		}
	}
	end := vs[len(vs)-1].order.UpdatedAt.Add(time.Hour)
	h.clock.Set(end)
	var o diskOutcome
	if headroom >= 0 {
		o.faulted = h.runOutOfSpace(vs[half+1:], ids, headroom)
	}
	for i := range 3 {
		h.clock.Set(end.Add(24 * time.Hour * time.Duration(i)))
		h.process()
		h.pass()
	}
	if got := h.integrity(); got != "ok" {
		t.Errorf("integrity check at the end: %s", got)
	}
	es := h.entries()
	o.lines = ledgerLines(es)
	o.totals = map[string]int64{}
	for _, e := range es {
		o.totals[e.Stream] += e.Points
	}
	maps.DeleteFunc(o.totals, func(_ string, v int64) bool { return v == 0 })
	o.tags = map[string][]string{}
	for _, c := range customers {
		tags := h.platform.Tags(c)
		slices.Sort(tags)
		o.tags[c] = tags
	}
	if len(o.totals) == 0 {
		t.Fatal("nothing was credited")
	}
	return o
}

// runOutOfSpace is the faulty part of fullDiskRun; it reports whether the
// disk filled (with much headroom, the pass fits).
func (h *harness) runOutOfSpace(later []version, ids []string, headroom int) bool {
	t := h.t
	t.Helper()
	ctx := context.Background()
	webhook := func(id string) (http.Header, []byte) {
		hd, body, err := h.platform.Webhook(memory.TopicOrdersUpdated, id)
		if err != nil {
			t.Fatal(err)
		}
		return hd, body
	}
	// Deliveries stored while there was room, not applied yet.
	for _, v := range later[:3] {
		if code := h.post(webhook(v.order.ID)); code != http.StatusOK {
			t.Fatalf("webhook before the disk filled: %d", code)
		}
	}
	before := h.entries()
	h.fill(headroom)

	// The processor meets the full disk: what it could not apply stays
	// pending, nothing is half applied.
	r := sync.Report{Store: "shop"}
	if err := h.engine.ProcessInbox(ctx, h.st, &r); err != nil && !errors.Is(err, store.ErrFull) {
		t.Errorf("headroom %d: processing the inbox on a full disk: %v, want ErrFull", headroom, err)
	}
	h.checkRebuild()
	s := h.inboxStats()
	if n := s.ByStatus[store.InboxFailed]; n != 0 {
		t.Errorf("headroom %d: %d deliveries marked failed for a full disk; they should wait for space", headroom, n)
	}

	// The pass meets it too, and says so.
	_, err := h.engine.SyncOnce(ctx)
	if err == nil {
		h.room()
		return false
	}
	if !errors.Is(err, store.ErrFull) {
		t.Fatalf("headroom %d: pass on a full disk: %v, want ErrFull", headroom, err)
	}
	for _, want := range []string{"store shop: ", "database or disk is full", "free space on the disk holding " + h.db.Path()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("headroom %d: the error %q does not say %q", headroom, err, want)
		}
	}

	// A burst of webhooks on the full disk: each is stored (200) or
	// refused with 503 so that the platform sends it again.
	var refused []string
	stored := 0
	for _, v := range later {
		switch code := h.post(webhook(v.order.ID)); code {
		case http.StatusOK:
			stored++
		case http.StatusServiceUnavailable:
			refused = append(refused, v.order.ID)
		default:
			t.Errorf("headroom %d: webhook on a full disk answered %d, want 200 or 503", headroom, code)
		}
	}
	if len(refused) == 0 {
		t.Errorf("headroom %d: every webhook was stored on a full disk", headroom)
	}
	s2 := h.inboxStats()
	if got, want := s2.ByStatus[store.InboxPending]+s2.ByStatus[store.InboxProcessed], s.ByStatus[store.InboxPending]+s.ByStatus[store.InboxProcessed]+stored; got != want {
		t.Errorf("headroom %d: %d deliveries in the inbox, want the %d answered 200", headroom, got, want)
	}

	// Nothing committed before is lost or changed; what was committed on
	// the full disk is consistent, and the cursor is behind what is stored.
	if got := h.integrity(); got != "ok" {
		t.Errorf("headroom %d: integrity check on the full disk: %s", headroom, got)
	}
	after := h.entries()
	if len(after) < len(before) || !slices.Equal(after[:len(before)], before) {
		t.Errorf("headroom %d: ledger entries made before the disk filled changed", headroom)
	}
	h.checkRebuild()
	h.checkCursor(ids)

	// Space returns; the platform retries what was refused.
	h.room()
	for _, id := range refused {
		if code := h.post(webhook(id)); code != http.StatusOK {
			t.Errorf("headroom %d: a retried webhook after space returned: %d", headroom, code)
		}
	}
	return true
}

// TestInboxWaitsForSpace: webhook deliveries stored before the disk
// filled are applied once space returns. The processor neither marks them
// failed for want of space (they would never be applied) nor commits one
// half applied.
func TestInboxWaitsForSpace(t *testing.T) {
	t.Parallel()
	headrooms := 12
	if *faultsLong {
		headrooms = 60
	}
	run := func(t *testing.T, headroom int) (lines []string, faulted bool) {
		h := newHarness(t, program("1", 0, 50), 0)
		for _, c := range []string{"ann", "ben", "cat"} {
			h.customer(c, c+"@example.com")
		}
		h.clock.Set(day(1).Add(time.Minute))
		h.pass()
		for i := range 12 {
			h.order(fmt.Sprint(1001+i), []string{"ann", "ben", "cat"}[i%3], day(2).Add(time.Duration(i)*time.Minute), commerce.StatePaid,
				fmt.Sprintf("%d.00", 10+i), "20.00-2.00")
		}
		h.clock.Set(day(2).Add(time.Hour))
		for i := range 12 {
			h.deliver(memory.TopicOrdersCreate, fmt.Sprint(1001+i))
		}
		if headroom >= 0 {
			h.fill(headroom)
			r := sync.Report{Store: "shop"}
			err := h.engine.ProcessInbox(context.Background(), h.st, &r)
			if err != nil && !errors.Is(err, store.ErrFull) {
				t.Fatalf("headroom %d: %v, want ErrFull", headroom, err)
			}
			faulted = err != nil
			if s := h.inboxStats(); s.ByStatus[store.InboxFailed] != 0 {
				t.Errorf("headroom %d: %d deliveries marked failed for want of space", headroom, s.ByStatus[store.InboxFailed])
			}
			if got := h.integrity(); got != "ok" {
				t.Errorf("headroom %d: integrity check: %s", headroom, got)
			}
			h.checkRebuild()
			h.room()
		}
		h.process()
		if s := h.inboxStats(); s.ByStatus[store.InboxProcessed] != 12 {
			t.Errorf("headroom %d: inbox %+v, want 12 processed", headroom, s)
		}
		return ledgerLines(h.entries()), faulted
	}
	clean, _ := run(t, -1)
	faults := 0
	for headroom := range headrooms {
		got, faulted := run(t, headroom)
		if !slices.Equal(got, clean) {
			t.Errorf("headroom %d: ledger\n  got  %q\n  want %q", headroom, got, clean)
		}
		if faulted {
			faults++
		}
	}
	if faults == 0 {
		t.Fatal("the disk never filled: the test tests nothing")
	}
}

// TestSegmentChangeSurvivesAFailedDaily: the daily re-evaluation saves the
// new segments in one transaction and refreshes the members who moved in
// later ones. When those fail (a full disk here; a crash does the same),
// the members who moved must still get their new tags once the
// re-evaluation runs again.
func TestSegmentChangeSurvivesAFailedDaily(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var customers []string
	for i := range 40 {
		customers = append(customers, fmt.Sprintf("c%02d", i))
	}
	h := newHarness(t, program("1", 0, 0), 0)
	for i, c := range customers {
		h.customer(c, c+"@example.com")
		h.order(fmt.Sprint(1001+i), c, day(1).Add(time.Duration(i)*time.Minute), commerce.StatePaid, fmt.Sprintf("%d.00", 10*(i+1)))
	}
	h.clock.Set(day(1).Add(time.Hour))
	h.pass()
	h.clock.Set(day(1).Add(2 * time.Hour))
	h.pass()
	// The smaller half of the buyers become the bigger: most segments move.
	for i, c := range customers[:20] {
		h.order(fmt.Sprint(2001+i), c, day(1).Add(3*time.Hour), commerce.StatePaid, fmt.Sprintf("%d.00", 1000+10*i))
	}
	h.clock.Set(day(1).Add(4 * time.Hour))
	h.pass() // the same day: no re-evaluation yet

	// The next day's re-evaluation saves the segments (in place), then
	// cannot queue the members' new tags.
	h.clock.Set(day(2))
	h.brim(0)
	r := sync.Report{Store: "shop"}
	err := h.engine.Daily(ctx, h.st, &r)
	if !errors.Is(err, store.ErrFull) {
		t.Fatalf("re-evaluation on a full disk: %v, want ErrFull", err)
	}
	if strings.HasPrefix(err.Error(), "segments:") {
		t.Fatalf("the re-evaluation failed before it saved the segments (%v): the test tests nothing", err)
	}
	h.room()
	h.pass()
	h.pass()
	lagging := 0
	h.db.View(ctx, func(tx *store.Tx) error {
		for _, c := range customers {
			m, err := tx.Member("shop", c)
			if err != nil {
				t.Fatal(err)
			}
			if want := "loyalty-segment-" + m.ABC; m.ABC != "" && !slices.Contains(h.platform.Tags(c), want) {
				if lagging == 0 {
					t.Errorf("%s is in segment %s, but its tags %v lack %s", c, m.ABC, h.platform.Tags(c), want)
				}
				lagging++
			}
		}
		return nil
	})
	if lagging > 0 {
		t.Errorf("%d of %d members' tags do not follow their segment after the re-evaluation ran again", lagging, len(customers))
	}
}
