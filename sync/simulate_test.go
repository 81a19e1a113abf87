package sync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
	"github.com/loyaltyd/loyaltyd/synth"
)

// simProgram exercises every rule that depends on time: pending points,
// a rolling tier window with grace, auto-redeem within a monthly budget,
// expiring codes and balances, referrals settled after the pending
// period, a campaign.
const simProgram = `
currency: USD
launch: 2026-01-01
holdout_percent: 20
earn:
  points_per_unit: 1
  pending_days: 14
  first_order_bonus: 50
  multipliers: [{vendor: Kestrel, factor: 2}]
  campaigns: [{name: spring, from: 2026-03-01, to: 2026-03-07, factor: 2}]
tiers:
  window_days: 90
  grace_days: 14
  levels:
    - {name: silver, min_spend: 200}
    - {name: gold, min_spend: 600, min_orders: 3, earn_factor: 1.5}
rewards:
  - {id: five-off, points: 300, type: fixed_amount, value: 5, expires_after_days: 45}
auto_redeem: {reward: five-off, monthly_budget: 60}
referrals: {referrer_points: 100, friend_reward: {type: fixed_amount, value: 10}}
expiry: {inactive_days: 60, warn_days: 10}
point_value: 0.01
margin_percent: 40
goals: {members: 100, purchase_frequency: 2}
`

// placeholderCode stands, in a generated history, for "the customer used
// one of their reward codes here"; the replay gives it the code the
// customer holds at the time.
const placeholderCode = "LOY-USED"

// syntheticHistory is half a year of a generated store, with reward codes
// used on some paid orders and members' referral codes on some first
// orders.
func syntheticHistory(t *testing.T, p *loyalty.Program, start, end time.Time) sync.History {
	t.Helper()
	gen, err := synth.Generate(synth.Options{Seed: 42, Customers: 150, Start: start, End: end})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 5))
	referrers := map[string]string{}
	var members []string
	seen := map[string]bool{}
	for i := range gen.Orders {
		o := &gen.Orders[i]
		switch {
		case !seen[o.CustomerID] && len(members) > 0 && rng.IntN(100) < 20:
			owner := members[rng.IntN(len(members))]
			code := p.ReferralCode("shop", owner)
			referrers[code] = owner
			o.Codes = append(o.Codes, commerce.CodeUse{Code: code})
		case seen[o.CustomerID] && o.State == commerce.StatePaid && len(o.Refunds) == 0 && rng.IntN(100) < 40 &&
			len(o.Lines) > 0 && o.Lines[0].Net().Cmp(usd("5.00")) >= 0:
			o.Lines[0].Discount = o.Lines[0].Discount.Add(usd("5.00"))
			o.Total = o.Total.Sub(usd("5.00"))
			o.Codes = append(o.Codes, commerce.CodeUse{Code: placeholderCode, Amount: usd("5.00")})
		}
		if !seen[o.CustomerID] && !p.InHoldout("shop", o.CustomerID) {
			members = append(members, o.CustomerID)
		}
		seen[o.CustomerID] = true
	}
	return sync.HistoryOf(gen.Customers, gen.Orders, func(code string) (bool, string) {
		return strings.HasPrefix(code, "LOY-"), referrers[code]
	})
}

// replayStore builds a store by replaying a history through the engine up
// to until: the same replay a simulation runs, so that its report is what
// an unchanged simulation must reproduce.
func replayStore(t *testing.T, p *loyalty.Program, launch, until time.Time, h sync.History) *reportStore {
	t.Helper()
	rs := newReportStore(t, p, launch)
	if _, err := rs.engine.Replay(context.Background(), rs.st, h, sync.ReplayOptions{Until: until, SetNow: rs.clock.Set}); err != nil {
		t.Fatal(err)
	}
	rs.clock.Set(until)
	return rs
}

func reportJSON(t *testing.T, r *report.Report) []byte {
	t.Helper()
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSimulateUnchangedEqualsCurrent is the simulation's done-when: a
// store built by replaying its history, simulated with its own program,
// gives back the very report of the store, both as "current" and as
// "candidate". Every figure and table is compared exactly (the whole
// report as JSON): the replay is deterministic, redemption ids and hence
// reward codes come out the same, and the reports are taken at the same
// moment.
func TestSimulateUnchangedEqualsCurrent(t *testing.T) {
	t.Parallel()
	p := parseProgram(t, "sim", simProgram)
	launch, until := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	rs := replayStore(t, p, launch, until, syntheticHistory(t, p, launch, until))
	ctx := context.Background()
	cur, err := rs.engine.ProgramReport(ctx, "shop", report.Query{})
	if err != nil {
		t.Fatal(err)
	}
	// The dataset exercises what the comparison is about.
	for _, key := range []string{"members", "holdout", "points_issued", "points_redeemed", "points_expired", "points_pending",
		"rewards_used", "reward_cost", "roi"} {
		if f, _ := cur.Figure(key); f.Value == 0 || f.NA != "" {
			t.Errorf("the store's %s is %v (%s): the dataset should exercise it", key, f.Value, f.NA)
		}
	}
	budgetUsed := 0
	for _, m := range cur.Budget.Rows {
		budgetUsed += m.Rewards
	}
	if cur.Tiers.Rows[2].Members == 0 || len(cur.Pairs.Rows) == 0 || budgetUsed == 0 {
		t.Errorf("the dataset should reach gold, pairs and the budget: %+v %+v %+v", cur.Tiers.Rows, cur.Pairs.Rows, cur.Budget.Rows)
	}
	scratch := t.TempDir()
	sim, err := rs.engine.Simulate(ctx, "shop", p, sync.SimulateOptions{Dir: scratch})
	if err != nil {
		t.Fatal(err)
	}
	want := reportJSON(t, cur)
	for _, side := range []struct {
		name string
		r    *report.Report
	}{{"current", sim.Current}, {"candidate", sim.Candidate}} {
		if got := reportJSON(t, side.r); !bytes.Equal(got, want) {
			for _, f := range cur.AllFigures() {
				g, _ := side.r.Figure(f.Key)
				if g.Value != f.Value || g.NA != f.NA {
					t.Errorf("%s %s = %v %s, the store's = %v %s", side.name, f.Key, g.Value, g.NA, f.Value, f.NA)
				}
			}
			t.Errorf("the %s replay's report differs from the store's", side.name)
		}
	}
	if len(sim.TierMoves) != 0 || sim.Replayed.Orders == 0 || sim.Replayed.Versions <= sim.Replayed.Orders {
		t.Errorf("tier moves %v, replayed %+v; want none, and orders with later versions", sim.TierMoves, sim.Replayed)
	}
	if entries, _ := os.ReadDir(scratch); len(entries) != 0 {
		t.Errorf("scratch databases left behind: %v", entries)
	}
}

// doublingProgram earns on whole dollars only, so that doubling the rate
// doubles every order's points exactly (no flooring, no bonus).
const doublingProgram = `
currency: USD
launch: 2026-01-01
earn: {points_per_unit: %s, pending_days: 7}
tiers: {levels: [{name: silver, min_spend: 100}]}
rewards: [{id: five-off, points: 100, type: fixed_amount, value: 5}]
`

// TestSimulateDoubledRateDoublesPointsIssued simulates a candidate that
// gives two points per dollar: every order's points, and hence the points
// issued, double, while the tiers (by spend) stay; the current side is
// the store's own report.
func TestSimulateDoubledRateDoublesPointsIssued(t *testing.T) {
	t.Parallel()
	p := parseProgram(t, "one", strings.Replace(doublingProgram, "%s", "1", 1))
	double := parseProgram(t, "two", strings.Replace(doublingProgram, "%s", "2", 1))
	launch, until := on(1, 1).Add(-12*time.Hour), on(3, 1)
	var customers []commerce.Customer
	for _, id := range []string{"ann", "ben", "fay"} {
		customers = append(customers, commerce.Customer{ID: id, Email: id + "@example.com", CreatedAt: on(1, 1), UpdatedAt: on(1, 1)})
	}
	refunded := handOrder("3", "ben", on(1, 20), "P1:40.00", "P2:25.00")
	refunded.State, refunded.UpdatedAt = commerce.StatePartiallyRefunded, on(1, 28)
	refunded.Refunds = []commerce.Refund{{ID: "r", CreatedAt: on(1, 28), Amount: usd("25.00"),
		Lines: []commerce.RefundLine{{LineID: "3-2", Quantity: 1, Amount: usd("25.00")}}}}
	orders := []commerce.Order{
		handOrder("1", "ann", on(1, 5), "P1:70.00", "P2:45.00"), // 115 → 230
		handOrder("2", "ann", on(1, 25), "P3:12.00"),            // 12 → 24
		refunded, // 65, then 40 → 80
		handOrder("4", "fay", on(2, 10), "P1:90.00"), // 90 → 180
	}
	rs := replayStore(t, p, launch, until, sync.HistoryOf(customers, orders, nil))
	ctx := context.Background()
	cur, err := rs.engine.ProgramReport(ctx, "shop", report.Query{})
	if err != nil {
		t.Fatal(err)
	}
	sim, err := rs.engine.Simulate(ctx, "shop", double, sync.SimulateOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	value := func(r *report.Report, key string) float64 {
		f, _ := r.Figure(key)
		return f.Value
	}
	// 115 + 12 + 40 + 90 = 257 points under the current program.
	if got := value(cur, "points_issued"); got != 257 {
		t.Errorf("the store's points issued = %v, want 257", got)
	}
	if got, want := value(sim.Current, "points_issued"), value(cur, "points_issued"); got != want {
		t.Errorf("simulated current points issued = %v, the store's = %v", got, want)
	}
	if got, want := value(sim.Candidate, "points_issued"), 2*value(cur, "points_issued"); got != want {
		t.Errorf("candidate points issued = %v, want twice the current = %v", got, want)
	}
	if fmt.Sprint(sim.Current.Tiers.Rows) != fmt.Sprint(sim.Candidate.Tiers.Rows) || len(sim.TierMoves) != 0 {
		t.Errorf("tiers by spend moved: %+v → %+v (%v)", sim.Current.Tiers.Rows, sim.Candidate.Tiers.Rows, sim.TierMoves)
	}
}

// TestSimulateWritesNothing: the real database is the same after a
// simulation, and a candidate with other tiers shows who would move.
func TestSimulateWritesNothing(t *testing.T) {
	t.Parallel()
	p := parseProgram(t, "one", strings.Replace(doublingProgram, "%s", "1", 1))
	higher := parseProgram(t, "higher", strings.Replace(strings.Replace(doublingProgram, "%s", "1", 1), "min_spend: 100", "min_spend: 150", 1))
	customers := []commerce.Customer{{ID: "ann", CreatedAt: on(1, 1), UpdatedAt: on(1, 1)}, {ID: "ben", CreatedAt: on(1, 1), UpdatedAt: on(1, 1)}}
	orders := []commerce.Order{handOrder("1", "ann", on(1, 5), "P1:120.00"), handOrder("2", "ben", on(1, 6), "P1:200.00")}
	rs := replayStore(t, p, on(1, 1).Add(-12*time.Hour), on(2, 1), sync.HistoryOf(customers, orders, nil))
	ctx := context.Background()
	snapshot := func() string {
		var b strings.Builder
		rs.db.View(ctx, func(tx *store.Tx) error {
			c, err := tx.Counts("shop")
			fmt.Fprintf(&b, "%+v %v\n", c, err)
			tx.ForEachEntry("shop", func(e commerce.LedgerEntry) error { fmt.Fprintf(&b, "%+v\n", e); return nil })
			tx.ForEachMember("shop", func(m *store.Member) error { fmt.Fprintf(&b, "%+v\n", *m); return nil })
			oc, err := tx.OutboxCounts("shop")
			fmt.Fprintf(&b, "%v %v\n", oc, err)
			return nil
		})
		return b.String()
	}
	before := snapshot()
	sim, err := rs.engine.Simulate(ctx, "shop", higher, sync.SimulateOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(); after != before {
		t.Errorf("the database changed:\nbefore %s\nafter  %s", before, after)
	}
	// ann's 120 is silver at 100, not at 150; ben's 200 is silver either way.
	want := []report.TierMove{{CustomerID: "ann", Current: "silver", Candidate: ""}}
	if fmt.Sprint(sim.TierMoves) != fmt.Sprint(want) {
		t.Errorf("tier moves = %+v, want %+v", sim.TierMoves, want)
	}
	if want := []report.TierFlow{{Current: "silver", Candidate: "", Customers: 1}}; fmt.Sprint(sim.TierFlows) != fmt.Sprint(want) {
		t.Errorf("tier flows = %+v, want %+v", sim.TierFlows, want)
	}
}

// TestReplayGivesCodesTheirMeaning: a reward code in the history becomes
// the code the customer holds in the replay (used, and costed), or goes
// when they hold none (the discount stays: it was given); a referral code
// becomes the same member's code under the replayed program.
func TestReplayGivesCodesTheirMeaning(t *testing.T) {
	t.Parallel()
	p := parseProgram(t, "codes", `
currency: USD
launch: 2026-01-01
earn: {points_per_unit: 1}
rewards: [{id: five-off, points: 100, type: fixed_amount, value: 5}]
auto_redeem: {reward: five-off}
referrals: {referrer_points: 10, friend_reward: {type: fixed_amount, value: 10}, code_prefix: "NEW-"}
`)
	customers := []commerce.Customer{}
	for _, id := range []string{"ann", "ben", "gus"} {
		customers = append(customers, commerce.Customer{ID: id, Email: id + "@example.com", CreatedAt: on(1, 1), UpdatedAt: on(1, 1)})
	}
	orders := []commerce.Order{
		handOrder("1", "ann", on(1, 5), "P1:150.00"), // 150 points: one five-off issued at once
		withCode(handOrder("2", "ann", on(1, 10), "P1:50.00-5.00"), "OLD-REWARD", "5.00"),
		withCode(handOrder("3", "ben", on(1, 10), "P1:50.00-5.00"), "OLD-REWARD", "5.00"), // ben holds no code
		withCode(handOrder("4", "gus", on(1, 12), "P1:60.00-10.00"), "OLD-ANN", "10.00"),
	}
	meaning := func(code string) (bool, string) {
		switch code {
		case "OLD-REWARD":
			return true, ""
		case "OLD-ANN":
			return false, "ann"
		}
		return false, ""
	}
	rs := replayStore(t, p, on(1, 1).Add(-12*time.Hour), on(2, 1), sync.HistoryOf(customers, orders, meaning))
	ctx := context.Background()
	rs.db.View(ctx, func(tx *store.Tx) error {
		reds, err := tx.Redemptions("shop", "ann")
		if err != nil || len(reds) == 0 {
			t.Fatalf("ann's redemptions: %+v, %v; want her first code", reds, err)
		}
		o2, _ := tx.Order("shop", "2")
		if want := []commerce.CodeUse{{Code: reds[0].Code, Amount: usd("5.00")}}; fmt.Sprint(o2.Codes) != fmt.Sprint(want) {
			t.Errorf("order 2 codes = %v, want ann's code %v", o2.Codes, want)
		}
		if reds[0].Status != store.RedemptionUsed || reds[0].UsedOrderID != "2" {
			t.Errorf("ann's code: %s by %q, want used by order 2", reds[0].Status, reds[0].UsedOrderID)
		}
		o3, _ := tx.Order("shop", "3")
		if len(o3.Codes) != 0 || o3.Lines[0].Discount != usd("5.00") {
			t.Errorf("order 3: codes %v, discount %v; want no code and the discount kept", o3.Codes, o3.Lines[0].Discount)
		}
		o4, _ := tx.Order("shop", "4")
		if len(o4.Codes) != 1 || o4.Codes[0].Code != p.ReferralCode("shop", "ann") {
			t.Errorf("order 4 codes = %v, want ann's referral code %s", o4.Codes, p.ReferralCode("shop", "ann"))
		}
		if ref, err := tx.ReferralOf("shop", "4"); err != nil || ref.ReferrerID != "ann" {
			t.Errorf("referral of order 4: %+v, %v", ref, err)
		}
		return nil
	})
	r, err := rs.engine.ProgramReport(ctx, "shop", report.Query{})
	if err != nil {
		t.Fatal(err)
	}
	// 5.00 for ann's reward code, 10.00 for her referral code; ben's code was no program's.
	if f, _ := r.Figure("reward_cost"); f.Money != usd("15.00") {
		t.Errorf("reward cost = %v, want 15.00", f.Money)
	}
}
