package sync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/memory"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
)

// deliver sends the platform's webhook for a resource through the
// engine's inbox, as the HTTP handler would after verifying it.
func (h *harness) deliver(topic, id string) (duplicate bool) {
	h.t.Helper()
	hd, body, err := h.platform.Webhook(topic, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.redeliver(hd, body)
}

func (h *harness) redeliver(hd map[string][]string, body []byte) bool {
	h.t.Helper()
	ev, err := h.st.Conn.(connectors.WebhookSource).DecodeWebhook(hd, body)
	if err != nil {
		h.t.Fatal(err)
	}
	dup, err := h.engine.Receive(context.Background(), h.st.ID, ev, body, "")
	if err != nil {
		h.t.Fatal(err)
	}
	return dup
}

func (h *harness) process() sync.Report {
	h.t.Helper()
	r := sync.Report{Store: h.st.ID}
	if err := h.engine.ProcessInbox(context.Background(), h.st, &r); err != nil {
		h.t.Fatal(err)
	}
	h.checkRebuild()
	return r
}

func (h *harness) inboxStats() store.InboxStats {
	var s store.InboxStats
	h.db.View(context.Background(), func(tx *store.Tx) (err error) { s, err = tx.InboxStats("shop"); return })
	return s
}

func TestWebhooksAndPollsConverge(t *testing.T) {
	t.Parallel()
	h := newHarness(t, program("1", 0, 50), 0)
	h.customer("ann", "ann@example.com")
	h.clock.Set(day(1).Add(time.Minute))
	h.pass()
	h.order("1001", "ann", day(2), commerce.StatePaid, "40.00")
	h.clock.Set(day(2).Add(time.Minute))

	// The webhook arrives first: the order is credited before any poll.
	h.deliver(memory.TopicOrdersCreate, "1001")
	h.process()
	h.wantLedger("ann", "earn +40 1001", "bonus +50 1001")

	// The poll that follows reads the same order: nothing changes.
	if r := h.pass(); r.Entries != 0 {
		t.Errorf("the poll after the webhook appended %d entries", r.Entries)
	}
	// A refund, delivered twice, applied once.
	if err := h.platform.Refund("1001", commerce.Refund{ID: "r1", CreatedAt: day(2), Amount: usd("10.00")}); err != nil {
		t.Fatal(err)
	}
	hd, body, _ := h.platform.Webhook(memory.TopicOrdersUpdated, "1001")
	if h.redeliver(hd, body) || !h.redeliver(hd, body) {
		t.Error("the second delivery of the same event was not recognised as a duplicate")
	}
	h.process()
	h.wantLedger("ann", "earn +40 1001", "bonus +50 1001", "adjust_refund -10 1001")
	// An unknown topic is kept and ignored.
	h.deliver("products/update", "")
	h.process()
	s := h.inboxStats()
	if s.ByStatus[store.InboxProcessed] != 2 || s.ByStatus[store.InboxIgnored] != 1 || s.Duplicates != 1 || s.Unknown != 1 {
		t.Errorf("inbox stats %+v", s)
	}
}

func TestDeletedOrderGivesItsPointsBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t, program("1", 0, 50), 0)
	h.customer("ann", "ann@example.com")
	h.order("1001", "ann", day(1), commerce.StatePaid, "40.00")
	h.order("1002", "ann", day(1).Add(time.Hour), commerce.StatePaid, "20.00")
	h.clock.Set(day(2))
	h.pass()
	hd, body, err := h.platform.Webhook(memory.TopicOrdersDelete, "1001")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.platform.DeleteOrder("1001"); err != nil {
		t.Fatal(err)
	}
	h.redeliver(hd, body)
	h.process()
	// #1001 goes; the first-order bonus moves to #1002, which still counts.
	h.wantLedger("ann", "earn +40 1001", "bonus +50 1001", "earn +20 1002", "adjust_cancel -40 1001")
}

func TestRedactKeepsTotalsAndDataRequestExports(t *testing.T) {
	t.Parallel()
	h := newHarness(t, program("1", 0, 0), 0)
	h.customer("ann", "ann@example.com")
	h.order("1001", "ann", day(1), commerce.StatePaid, "40.00")
	h.clock.Set(day(2))
	h.pass()
	before := h.balance("ann")

	h.deliver(memory.TopicCustomersDataRequest, "ann")
	h.process()
	var export []byte
	h.db.View(context.Background(), func(tx *store.Tx) error {
		xs, err := tx.Exports("shop")
		if err != nil || len(xs) != 1 {
			t.Fatalf("exports %v %v", xs, err)
		}
		x, err := tx.ExportData("shop", xs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		export = x.Data
		return nil
	})
	var x sync.Export
	if err := json.Unmarshal(export, &x); err != nil || x.Customer == nil || x.Customer.Email != "ann@example.com" || len(x.Orders) != 1 || x.Balance.Available != 40 {
		t.Errorf("export %s (%v)", export, err)
	}

	h.deliver(memory.TopicCustomersRedact, "ann")
	h.process()
	if got := h.balance("ann"); got != before {
		t.Errorf("balance after redaction %+v, want %+v", got, before)
	}
	h.db.View(context.Background(), func(tx *store.Tx) error {
		c, err := tx.Customer("shop", "ann")
		if err != nil || c.Email != "" || c.FirstName != "" || c.Raw != nil {
			t.Errorf("customer after redaction: %+v %v", c, err)
		}
		o, err := tx.Order("shop", "1001")
		if err != nil || o.Email != "" || o.ShippingAddress != nil || o.Raw != nil || o.Total != usd("45.00") {
			t.Errorf("order after redaction: email %q address %v raw %d bytes total %v, %v", o.Email, o.ShippingAddress, len(o.Raw), o.Total, err)
		}
		xs, _ := tx.Exports("shop")
		if len(xs) != 0 {
			t.Errorf("the export survived the redaction")
		}
		log, _ := tx.AuditLog("shop", "ann", 10)
		if len(log) < 2 || log[0].Action != "customer_redact" {
			t.Errorf("audit log %+v", log)
		}
		return nil
	})
}

func TestUninstalledStoreIsNotCalled(t *testing.T) {
	t.Parallel()
	h := newHarness(t, program("1", 0, 0), 0)
	h.customer("ann", "ann@example.com")
	h.clock.Set(day(2))
	h.deliver(memory.TopicAppUninstalled, "")
	h.process()
	h.platform.RevokeAccess()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	h.st.PollInterval = time.Hour
	go func() { defer close(done); h.engine.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := h.engine.Status()
		if len(st) == 1 && st[0].Uninstalled {
			if !strings.Contains(st[0].LastError, "uninstalled") || st[0].Healthy() {
				t.Errorf("status %+v", st[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store never showed as uninstalled: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if w := h.platform.Writes(); len(w) != 0 {
		t.Errorf("an uninstalled store was written to: %v", w)
	}
}

// TestExactlyOnceThroughCrashes is the daemon's exactly-once property on
// the memory platform: random interleavings of platform changes, polls
// (some cut short, as by a crash after a few pages), webhook deliveries
// (duplicated, late, out of order, some left in the inbox across a
// restart), write-backs whose answer is lost after the platform wrote,
// and restarts of the engine between any two steps, end with the same
// ledger and the same tags on the platform as a clean run, each write done
// once.
func TestExactlyOnceThroughCrashes(t *testing.T) {
	t.Parallel()
	for seed := range uint64(10) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 7))
			vs := history(rng)
			clean := crashRun(t, vs, rand.New(rand.NewPCG(seed, 8)), false)
			noisy := crashRun(t, vs, rand.New(rand.NewPCG(seed, 9)), true)
			if !maps.Equal(clean.totals, noisy.totals) {
				for _, k := range slices.Sorted(maps.Keys(clean.totals)) {
					if clean.totals[k] != noisy.totals[k] {
						t.Errorf("stream %s: %d after crashes, %d clean", k, noisy.totals[k], clean.totals[k])
					}
				}
				for k, v := range noisy.totals {
					if _, ok := clean.totals[k]; !ok {
						t.Errorf("extra stream %s = %d after crashes", k, v)
					}
				}
			}
			if !maps.EqualFunc(clean.tags, noisy.tags, slices.Equal) {
				t.Errorf("tags after crashes %v, clean %v", noisy.tags, clean.tags)
			}
		})
	}
}

type outcome struct {
	totals map[string]int64
	tags   map[string][]string
}

// crashRun plays a history on a fresh store. Clean: each version on the
// platform, then a full poll. Noisy: the steps above, at random.
func crashRun(t *testing.T, vs []version, rng *rand.Rand, noisy bool) outcome {
	t.Helper()
	h := newHarness(t, parseProgram(t, "p", "currency: USD\nlaunch: 2026-01-01\nearn: {points_per_unit: 1.5, pending_days: 7, first_order_bonus: 25, multipliers: [{sku_prefix: NW-, factor: 2}]}\n"), 3)
	for _, c := range []string{"ann", "ben", "cat", "dan", "eve"} {
		h.customer(c, c+"@example.com")
	}
	ctx := context.Background()
	restart := func() {
		h.engine = h.newEngine(h.engine.Program)
		h.st = &sync.Store{ID: h.st.ID, Platform: h.st.Platform, Conn: h.st.Conn, Overlap: h.st.Overlap}
		h.engine.Stores = []*sync.Store{h.st}
		if err := h.engine.Prepare(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var late []struct {
		hd   map[string][]string
		body []byte
	}
	for _, v := range vs {
		h.clock.Set(v.order.UpdatedAt)
		h.platform.PutOrder(v.order)
		if !noisy {
			continue
		}
		for range rng.IntN(3) {
			switch rng.IntN(7) {
			case 0: // a webhook now, maybe twice
				hd, body, _ := h.platform.Webhook(memory.TopicOrdersUpdated, v.order.ID)
				for range 1 + rng.IntN(2) {
					h.redeliver(hd, body)
				}
			case 1: // a webhook kept for later: late and out of order
				hd, body, _ := h.platform.Webhook(memory.TopicOrdersUpdated, v.order.ID)
				late = append(late, struct {
					hd   map[string][]string
					body []byte
				}{hd, body})
			case 2: // the late ones arrive, shuffled
				rng.Shuffle(len(late), func(i, j int) { late[i], late[j] = late[j], late[i] })
				for _, d := range late {
					h.redeliver(d.hd, d.body)
				}
				late = late[:0]
			case 3: // the processor runs
				h.process()
			case 4: // a poll cut short after a page or two, then a restart
				h.clock.Set(v.order.UpdatedAt.Add(time.Minute))
				h.engine.PageLimit = 1 + rng.IntN(2)
				h.engine.SyncOnce(ctx)
				restart()
			case 5: // a write-back whose answer is lost after the platform wrote
				h.platform.FailAfterWrite(memory.OpAddTags, 1)
				h.platform.FailAfterWrite(memory.OpSetMetafields, 1)
			case 6: // a poll that fails half way, then a restart
				h.platform.FailNext(memory.OpOrders, 1, errors.Join(memory.ErrInjected))
				h.clock.Set(v.order.UpdatedAt.Add(time.Minute))
				h.engine.SyncOnce(ctx)
				restart()
			}
		}
	}
	// The end: whatever is late arrives, the inbox is processed, and polls
	// run until the outbox is empty (retries are due a day later).
	for _, d := range late {
		h.redeliver(d.hd, d.body)
	}
	end := vs[len(vs)-1].order.UpdatedAt.Add(30 * 24 * time.Hour)
	for i := range 3 {
		h.clock.Set(end.Add(time.Duration(i) * 24 * time.Hour))
		h.process()
		h.engine.PageLimit = 0
		h.pass()
	}
	var o outcome
	h.db.View(ctx, func(tx *store.Tx) (err error) { o.totals, err = tx.StreamTotals("shop"); return })
	for k, v := range o.totals {
		if v == 0 {
			delete(o.totals, k)
		}
	}
	o.tags = map[string][]string{}
	for _, c := range []string{"ann", "ben", "cat", "dan", "eve"} {
		tags := h.platform.Tags(c)
		slices.Sort(tags)
		o.tags[c] = tags
	}
	if n := len(o.totals); n == 0 {
		t.Fatal("nothing was credited")
	}
	return o
}

// TestRefusedCodeIsNotRetried: a reward code the platform refused for good
// gave its points back; retrying it by hand would give the code away on
// top, so a named retry is refused and a retry of all leaves it dead, while
// other dead write-backs go back in the queue.
func TestRefusedCodeIsNotRetried(t *testing.T) {
	t.Parallel()
	p := parseProgram(t, "p", "currency: USD\nlaunch: 2026-01-01\nearn: {points_per_unit: 1}\n"+
		"rewards: [{id: five-off, points: 500, type: fixed_amount, value: 5}]\n")
	h := newHarness(t, p, 0)
	h.customer("ann", "ann@example.com")
	h.order("1001", "ann", day(2), commerce.StatePaid, "600.00")
	h.clock.Set(day(3))
	h.pass()
	ctx := context.Background()
	h.platform.FailNext(memory.OpEnsureDiscount, 1, fmt.Errorf("price rule invalid: %w", connectors.ErrRejected))
	h.platform.FailNext(memory.OpAddTags, 1, fmt.Errorf("tag too long: %w", connectors.ErrRejected))
	if _, err := h.engine.Redeem(ctx, h.st, "ann", "five-off", "dana"); err != nil {
		t.Fatal(err)
	}
	h.customer("ann", "ann@example.com", "vip") // the merchant replaces ann's tags
	h.clock.Set(day(4))
	h.pass()
	if tags := h.platform.Tags("ann"); !slices.Equal(tags, []string{"vip"}) {
		t.Fatalf("tags while the tag write is dead: %v, want the merchant's only", tags)
	}
	if got := h.balance("ann").Available; got != 600 {
		t.Fatalf("available after the refused code = %d, want the 600 points back", got)
	}
	dead, err := h.engine.DeadLetters(ctx, "shop")
	if err != nil || len(dead) != 2 {
		t.Fatalf("dead letters %+v %v, want the code and the tags", dead, err)
	}
	var code int64
	for _, d := range dead {
		if d.Kind == sync.OutboxDiscount {
			code = d.ID
		}
	}
	if _, err := h.engine.RetryDead(ctx, "shop", []int64{code}, "dana"); !errors.Is(err, sync.ErrPointsReturned) {
		t.Errorf("retrying the refused code: %v, want ErrPointsReturned", err)
	}
	if _, err := h.engine.RetryDead(ctx, "shop", []int64{99999}, "dana"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("retrying an unknown write-back: %v, want ErrNotFound", err)
	}
	if n, err := h.engine.RetryDead(ctx, "shop", nil, "dana"); err != nil || n != 1 {
		t.Errorf("retry all = %d %v, want the tags only", n, err)
	}
	h.pass()
	if d := h.platform.Discounts(); len(d) != 0 {
		t.Errorf("the refused code reached the platform after its points were returned: %v", d)
	}
	if tags := h.platform.Tags("ann"); !slices.Contains(tags, "loyalty-reward-ready") {
		t.Errorf("the retried tags were not written: %v", tags)
	}
	if dead, _ := h.engine.DeadLetters(ctx, "shop"); len(dead) != 1 || dead[0].ID != code {
		t.Errorf("dead letters after the retry %+v, want the code only", dead)
	}
}
