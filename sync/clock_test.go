package sync_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
)

// newClockHarness is newHarness with two clocks: the platform keeps its
// own time, and loyaltyd (engine and database) the harness's. The engine
// runs with the production defaults of the overlap and the safety lag.
func newClockHarness(t *testing.T, platform *clock, pageSize int) *harness {
	t.Helper()
	h := harnessAt(t, platform.Now(), platform.Now, pageSize)
	h.engine = h.newEngine(program("1", 0, 50))
	h.engine.SafetyLag = 0 // the default, 30s
	if err := h.engine.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h
}

// checkNoneSkipped checks the cursor rule: the next pass starts reading at
// the high-water mark less the overlap, so every order whose current
// version is older than that must be stored in that version already, or
// polling would never read it.
func (h *harness) checkNoneSkipped(ids []string) {
	h.t.Helper()
	h.db.View(context.Background(), func(tx *store.Tx) error {
		c, err := tx.Cursor("shop", sync.ResourceOrders)
		if err != nil {
			h.t.Fatal(err)
		}
		from := c.HighWater.Add(-h.st.Overlap)
		stored := map[string]time.Time{}
		if err := tx.ForEachOrder("shop", func(o *store.StoredOrder) error { stored[o.ID] = o.UpdatedAt; return nil }); err != nil {
			h.t.Fatal(err)
		}
		for _, id := range ids {
			p, ok := h.platform.Order(id)
			if !ok || !p.UpdatedAt.Before(from) {
				continue
			}
			if got := stored[id]; !got.Equal(p.UpdatedAt) {
				h.t.Errorf("at %s (loyaltyd's clock): order %s, updated %s on the platform, is behind the cursor (from %s) but stored as of %s",
					h.clock.Now().Format(time.RFC3339), id, p.UpdatedAt.Format(time.RFC3339), from.Format(time.RFC3339), got.Format(time.RFC3339))
			}
		}
		return nil
	})
}

// clockStep is the real time between two passes.
const clockStep = 3 * time.Minute

// clockRun plays a store for some hours, in steps of real time. The platform's
// clock is real time plus skew; loyaltyd's is real time plus what offset
// says for the step. Each step the platform takes orders and pays, refunds
// and cancels earlier ones, on its own clock, some of them becoming visible
// up to nine minutes after their update time (a slow platform write, which
// the overlap is there for); then a pass runs, one in five cut short after
// a page. After every pass no order may be skipped by the cursor. At the
// end, with both clocks right, passes run until nothing is left, and the
// ledger's stream totals are returned.
func clockRun(t *testing.T, seed uint64, steps int, skew time.Duration, offset func(step int) time.Duration) map[string]int64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 21))
	real := day(1)
	pclock := &clock{t: real.Add(skew)}
	h := newClockHarness(t, pclock, 4)
	customers := []string{"ann", "ben", "cat", "dan", "eve", "fay"}
	for _, c := range customers {
		h.platform.PutCustomer(commerce.Customer{ID: c, Email: c + "@example.com", CreatedAt: real.Add(skew - time.Hour),
			UpdatedAt: real.Add(skew - time.Hour)})
	}
	var ids []string
	ctx := context.Background()
	for step := range steps {
		real = real.Add(clockStep)
		pnow := real.Add(skew)
		pclock.Set(pnow)
		// New orders, some visible late.
		for range rng.IntN(3) {
			at := pnow.Add(-time.Duration(rng.IntN(9*60)) * time.Second)
			id := fmt.Sprint(1001 + len(ids))
			state := commerce.StatePaid
			if rng.IntN(4) == 0 {
				state = commerce.StatePending
			}
			total := usd(fmt.Sprintf("%d.%02d", 5+rng.IntN(200), rng.IntN(100)))
			h.platform.PutOrder(commerce.Order{ID: id, Number: "#" + id, CustomerID: customers[rng.IntN(len(customers))],
				Currency: "USD", State: state, CreatedAt: at, ProcessedAt: at, UpdatedAt: at, Total: total,
				Lines: []commerce.LineItem{{ID: id + "-1", Quantity: 1, Subtotal: total}}})
			ids = append(ids, id)
		}
		// A change to an earlier order, also possibly visible late (but
		// never stamped before its previous version).
		if len(ids) > 0 && rng.IntN(2) == 0 {
			o, _ := h.platform.Order(ids[rng.IntN(len(ids))])
			since := pnow.Sub(o.UpdatedAt)
			late := min(time.Duration(rng.IntN(9*60))*time.Second, since-time.Second)
			changed := since > time.Second && !o.Cancelled() && o.State != commerce.StateRefunded
			switch {
			case !changed:
			case o.State == commerce.StatePending:
				o.State = commerce.StatePaid
			case rng.IntN(3) == 0:
				o.CancelledAt = pnow.Add(-late) // a paid order keeps its state: the refund is separate
			default:
				o.Refunds = append(o.Refunds, commerce.Refund{ID: fmt.Sprintf("%s-r%d", o.ID, len(o.Refunds)+1),
					CreatedAt: pnow.Add(-late), Amount: commerce.NewMoney(o.Total.Minor/2, "USD")})
				o.State = commerce.StatePartiallyRefunded
				if len(o.Refunds) == 2 {
					o.State = commerce.StateRefunded
				}
			}
			if changed {
				o.UpdatedAt = pnow.Add(-late)
				h.platform.PutOrder(o)
			}
		}
		h.clock.Set(real.Add(offset(step)))
		h.engine.PageLimit = 0
		if rng.IntN(5) == 0 {
			h.engine.PageLimit = 1
		}
		if _, err := h.engine.SyncOnce(ctx); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		h.checkNoneSkipped(ids)
	}
	h.engine.PageLimit = 0
	for range 3 {
		real = real.Add(time.Hour)
		pclock.Set(real.Add(skew))
		h.clock.Set(real)
		h.pass()
	}
	h.db.View(ctx, func(tx *store.Tx) error {
		for _, id := range ids {
			p, _ := h.platform.Order(id)
			if s, err := tx.Order("shop", id); err != nil || !s.UpdatedAt.Equal(p.UpdatedAt) {
				t.Errorf("order %s is not stored in its last version: %v", id, err)
			}
		}
		return nil
	})
	if len(ids) < steps/2 {
		t.Fatalf("only %d orders: the run tests little", len(ids))
	}
	totals := map[string]int64{}
	for _, e := range h.entries() {
		totals[e.Stream] += e.Points
	}
	// A stream at zero is the same as none: one run may have seen an
	// order paid and then cancelled where another saw it cancelled only.
	maps.DeleteFunc(totals, func(_ string, v int64) bool { return v == 0 })
	return totals
}

// TestClockJumps: loyaltyd's clock jumps backwards and forwards by hours
// and days between passes, and the platform's clock runs minutes ahead of
// or behind loyaltyd's. The cursor's high-water mark is the platform's own
// time and the overlap covers late writes, so no order is skipped at any
// point, and the ledger ends exactly where a run with right clocks ends:
// no order missed, none counted twice.
func TestClockJumps(t *testing.T) {
	t.Parallel()
	const (
		hour = time.Hour
		day  = 24 * time.Hour
	)
	// A run is steps passes, three minutes of real time apart; the
	// schedules are in tenths of it.
	steps, seeds := 40, uint64(1)
	if *faultsLong {
		steps, seeds = 120, 10
	}
	tenth := func(n int) int { return n * steps / 10 }
	between := func(from, to int, d time.Duration) func(int) time.Duration {
		return func(step int) time.Duration {
			if step >= tenth(from) && step < tenth(to) {
				return d
			}
			return 0
		}
	}
	right := between(0, 0, 0)
	cases := []struct {
		name   string
		long   bool // only with -faults.long
		skew   time.Duration
		offset func(int) time.Duration
	}{
		{"back 3 hours", true, 0, between(2, 5, -3*hour)},
		{"back 2 days", false, 0, between(2, 6, -2*day)},
		{"forward 5 hours", true, 0, between(2, 5, 5*hour)},
		{"forward 3 days", false, 0, between(2, 6, 3*day)},
		{"back and forth", false, 0, func(step int) time.Duration {
			return []time.Duration{0, day, -day, 2 * hour, -2 * hour, 3 * day, -3 * hour, 0}[min(step*8/steps, 7)]
		}},
		{"every pass elsewhere", false, 0, func(step int) time.Duration {
			if step >= tenth(8) {
				return 0
			}
			return []time.Duration{-2 * day, 6 * hour, 0, -30 * time.Minute, day, -hour}[step%6]
		}},
		{"platform 5 minutes ahead", false, 5 * time.Minute, right},
		{"platform 5 minutes behind", true, -5 * time.Minute, right},
		{"platform 2 minutes ahead, jumps", true, 2 * time.Minute, between(2, 6, -day)},
		{"platform 9 minutes behind, jumps", false, -9 * time.Minute, between(2, 6, 4*hour)},
	}
	for seed := range seeds {
		want := clockRun(t, seed, steps, 0, right)
		for _, tc := range cases {
			if tc.long && !*faultsLong {
				continue
			}
			t.Run(fmt.Sprintf("%s, seed %d", tc.name, seed), func(t *testing.T) {
				t.Parallel()
				got := clockRun(t, seed, steps, tc.skew, tc.offset)
				for _, k := range slices.Sorted(maps.Keys(want)) {
					if got[k] != want[k] {
						t.Errorf("stream %s = %d after the clocks moved, %d with right clocks", k, got[k], want[k])
					}
				}
				for k, v := range got {
					if _, ok := want[k]; !ok {
						t.Errorf("extra stream %s = %d after the clocks moved", k, v)
					}
				}
			})
		}
	}
}
