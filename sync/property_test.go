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
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
)

// version is one state of an order as the platform showed it at a time.
type version struct {
	order commerce.Order
	// credits marks the version that first makes the order earn.
	credits bool
}

// history generates a small store's orders and every version of each:
// placed (paid or pending), paid later, partly refunded, cancelled.
func history(rng *rand.Rand) []version {
	var vs []version
	customers := []string{"ann", "ben", "cat", "dan", "eve"}
	skus := []string{"NW-1", "AO-2", "BH-3"}
	for i := range 25 {
		at := day(1).Add(time.Duration(rng.IntN(60*24)) * time.Hour)
		o := commerce.Order{ID: fmt.Sprint(1001 + i), Number: fmt.Sprint(1001 + i), CustomerID: customers[rng.IntN(len(customers))],
			Currency: "USD", CreatedAt: at, ProcessedAt: at, UpdatedAt: at, State: commerce.StatePaid}
		total := commerce.Money{Currency: "USD"}
		for l := range 1 + rng.IntN(3) {
			sub := usd(fmt.Sprintf("%d.%02d", 5+rng.IntN(120), rng.IntN(100)))
			line := commerce.LineItem{ID: fmt.Sprintf("%s-%d", o.ID, l+1), Quantity: 1, Subtotal: sub, SKU: skus[rng.IntN(len(skus))]}
			o.Lines = append(o.Lines, line)
			total = total.Add(sub)
		}
		o.Total = total
		paid := true
		if rng.IntN(6) == 0 {
			o.State, paid = commerce.StatePending, false
		}
		vs = append(vs, version{order: o, credits: paid})
		next := func(d time.Duration) commerce.Order {
			o.UpdatedAt = o.UpdatedAt.Add(d)
			o.Refunds = slices.Clone(o.Refunds)
			return o
		}
		if !paid {
			o = next(time.Duration(1+rng.IntN(72)) * time.Hour)
			o.State = commerce.StatePaid
			vs = append(vs, version{order: o, credits: true})
		}
		if rng.IntN(3) == 0 {
			o = next(time.Duration(1+rng.IntN(240)) * time.Hour)
			l := o.Lines[rng.IntN(len(o.Lines))]
			o.Refunds = append(o.Refunds, commerce.Refund{ID: o.ID + "-r", CreatedAt: o.UpdatedAt, Amount: l.Net(),
				Lines: []commerce.RefundLine{{LineID: l.ID, Quantity: 1, Amount: l.Net()}}})
			o.State = commerce.StatePartiallyRefunded
			vs = append(vs, version{order: o})
		}
		if rng.IntN(8) == 0 {
			o = next(time.Duration(1+rng.IntN(240)) * time.Hour)
			o.CancelledAt = o.UpdatedAt
			vs = append(vs, version{order: o})
		}
	}
	slices.SortStableFunc(vs, func(a, b version) int { return a.order.UpdatedAt.Compare(b.order.UpdatedAt) })
	return vs
}

type delivery struct {
	at    time.Time
	order commerce.Order
}

// replay applies deliveries in time order on a fresh store and returns
// its stream totals, after checking that the ledger agrees with a rebuild.
func replay(t *testing.T, p *loyalty.Program, ds []delivery) map[string]int64 {
	t.Helper()
	h := newHarness(t, p, 0)
	for _, c := range []string{"ann", "ben", "cat", "dan", "eve"} {
		h.customer(c, c+"@example.com")
	}
	ctx := context.Background()
	for _, d := range ds {
		h.clock.Set(d.at)
		if _, err := h.engine.Apply(ctx, h.st, nil, []commerce.Order{d.order}); err != nil {
			t.Fatal(err)
		}
	}
	h.checkRebuild()
	var totals map[string]int64
	h.db.View(ctx, func(tx *store.Tx) (err error) { totals, err = tx.StreamTotals("shop"); return })
	for k, v := range totals {
		if v == 0 {
			delete(totals, k)
		}
	}
	return totals
}

// noisy turns a clean history into what webhooks and polls deliver: every
// version one to three times, late by up to five days, in any order, with
// stale versions arriving after newer ones, and a final poll of every
// order's last version. When keepCredits is set, the tier an order earns
// at depends on what was known when it was first credited, so the version
// that first makes an order earn arrives on time, and every other version
// before the next such version: noise within the poll interval, not
// across credits.
func noisy(rng *rand.Rand, vs []version, keepCredits bool) []delivery {
	var ds []delivery
	last := map[string]commerce.Order{}
	var end time.Time
	var credits []time.Time
	for _, v := range vs {
		if v.credits {
			credits = append(credits, v.order.UpdatedAt)
		}
	}
	for _, v := range vs {
		last[v.order.ID] = v.order
		if v.order.UpdatedAt.After(end) {
			end = v.order.UpdatedAt
		}
		if keepCredits && v.credits {
			ds = append(ds, delivery{at: v.order.UpdatedAt, order: v.order})
			continue
		}
		for k := range 1 + rng.IntN(3) {
			if rng.IntN(5) == 0 && (!keepCredits || k > 0) {
				continue // this delivery is lost (with tiers, a poll still brings one copy in time)
			}
			late := time.Duration(rng.IntN(5*24)) * time.Hour
			if keepCredits {
				at := v.order.UpdatedAt
				if i, _ := slices.BinarySearchFunc(credits, at, time.Time.Compare); i < len(credits) {
					for i < len(credits) && !credits[i].After(at) {
						i++
					}
					if i < len(credits) {
						late = min(late, credits[i].Sub(at)-time.Second)
					}
				}
			}
			ds = append(ds, delivery{at: v.order.UpdatedAt.Add(late), order: v.order})
		}
	}
	rng.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	slices.SortStableFunc(ds, func(a, b delivery) int { return a.at.Compare(b.at) })
	// Reconciliation: a poll reads every order's newest version at the end.
	poll := end.Add(10 * 24 * time.Hour)
	for _, id := range slices.Sorted(maps.Keys(last)) {
		ds = append(ds, delivery{at: poll, order: last[id]})
	}
	return ds
}

func clean(vs []version) []delivery {
	ds := make([]delivery, len(vs))
	for i, v := range vs {
		ds[i] = delivery{at: v.order.UpdatedAt, order: v.order}
	}
	return ds
}

func propertyProgram(t *testing.T, tiers bool) *loyalty.Program {
	src := `
currency: USD
launch: 2026-01-01
earn:
  points_per_unit: 1.5
  pending_days: 7
  first_order_bonus: 25
  multipliers: [{sku_prefix: "NW-", factor: 2}]
  campaigns: [{name: spring, from: 2026-03-20, to: 2026-03-31, factor: 2}]
`
	if tiers {
		src += `tiers:
  window_days: 30
  levels:
    - {name: silver, min_spend: 150}
    - {name: gold, min_spend: 400, min_orders: 3, earn_factor: 2}
`
	}
	return parseProgram(t, "property", src)
}

// TestDeliveryOrderDoesNotMatter is the exactly-once property: whatever
// webhooks and polls do (duplicates, losses, late and out-of-order
// deliveries, stale versions after newer ones), the ledger ends where the
// clean, chronological sequence ends, and agrees with a rebuild.
func TestDeliveryOrderDoesNotMatter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		tiers bool
	}{{"without tiers, any order", false}, {"with tiers, credits in order", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(15) {
				rng := rand.New(rand.NewPCG(seed, 99))
				vs := history(rng)
				p := propertyProgram(t, tc.tiers)
				want := replay(t, p, clean(vs))
				if len(want) == 0 {
					t.Fatalf("seed %d: the clean history credited nothing", seed)
				}
				got := replay(t, p, noisy(rng, vs, tc.tiers))
				if !maps.Equal(got, want) {
					for _, k := range slices.Sorted(maps.Keys(want)) {
						if got[k] != want[k] {
							t.Errorf("seed %d: stream %s = %d, want %d", seed, k, got[k], want[k])
						}
					}
					for k, v := range got {
						if _, ok := want[k]; !ok {
							t.Errorf("seed %d: extra stream %s = %d", seed, k, v)
						}
					}
				}
			}
		})
	}
}
