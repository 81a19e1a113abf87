package sync_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
)

// reportStore is a store fed directly through the engine (Engine.Apply,
// as webhooks and imports feed it) on a clock the test moves, with no
// connector: nothing is written back.
type reportStore struct {
	t      *testing.T
	clock  *clock
	db     *store.DB
	engine *sync.Engine
	st     *sync.Store
}

func newReportStore(t *testing.T, p *loyalty.Program, start time.Time) *reportStore {
	t.Helper()
	rs := &reportStore{t: t, clock: &clock{t: start}}
	var err error
	rs.db, err = store.Open(context.Background(), filepath.Join(t.TempDir(), "loyaltyd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.db.Close() })
	rs.db.Now = rs.clock.Now
	rs.st = &sync.Store{ID: "shop", Platform: "memory"}
	rs.engine = &sync.Engine{DB: rs.db, Program: p, Stores: []*sync.Store{rs.st}, Now: rs.clock.Now}
	if err := rs.engine.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rs
}

// apply moves the clock to at and applies customers and orders, then
// settles the referrals that came due.
func (rs *reportStore) apply(at time.Time, customers []commerce.Customer, orders ...commerce.Order) {
	rs.t.Helper()
	rs.clock.Set(at)
	ctx := context.Background()
	if _, err := rs.engine.Apply(ctx, rs.st, customers, orders); err != nil {
		rs.t.Fatal(err)
	}
	var r sync.Report
	if err := rs.engine.Settle(ctx, rs.st, &r); err != nil {
		rs.t.Fatal(err)
	}
}

// line is "PRODUCT:AMOUNT" or "PRODUCT:AMOUNT-DISCOUNT".
func handOrder(id, customer string, at time.Time, lines ...string) commerce.Order {
	o := commerce.Order{ID: id, Number: id, CustomerID: customer, Email: customer + "@example.com", Currency: "USD",
		State: commerce.StatePaid, CreatedAt: at, ProcessedAt: at, UpdatedAt: at}
	total := usd("0")
	for i, l := range lines {
		product, amount, _ := strings.Cut(l, ":")
		sub, disc, _ := strings.Cut(amount, "-")
		li := commerce.LineItem{ID: fmt.Sprintf("%s-%d", id, i+1), ProductID: product, Title: "Product " + product,
			Quantity: 1, Subtotal: usd(sub)}
		if disc != "" {
			li.Discount = usd(disc)
		}
		o.Lines = append(o.Lines, li)
		total = total.Add(li.Net())
	}
	o.Total = total
	return o
}

func withCode(o commerce.Order, code, amount string) commerce.Order {
	o.Codes = []commerce.CodeUse{{Code: code, Amount: usd(amount)}}
	return o
}

// on is noon of a day of 2026.
func on(m time.Month, d int) time.Time { return time.Date(2026, m, d, 12, 0, 0, 0, time.UTC) }

const handProgram = `
currency: USD
launch: 2026-01-01
holdout_percent: 50            # hal and ned fall in it (a hash of store and id)
earn: {points_per_unit: 1, pending_days: 14}
tiers: {levels: [{name: silver, min_spend: 150}]}
rewards:
  - {id: five-off, points: 100, type: fixed_amount, value: 5}
referrals:
  referrer_points: 20
  friend_reward: {type: fixed_amount, value: 10}
point_value: 0.01
margin_percent: 50
goals: {members: 4, purchase_frequency: 2, repeat_rate: 0.5, roi: 1}
`

// TestReportFiguresByHand builds a small store whose every figure is
// worked out by hand below, and checks the report against it: the SQL
// that gathers the totals and the arithmetic that turns them into
// figures.
func TestReportFiguresByHand(t *testing.T) {
	t.Parallel()
	p := parseProgram(t, "hand", handProgram)
	rs := newReportStore(t, p, on(1, 1))
	for id, want := range map[string]bool{"ann": false, "ben": false, "fay": false, "gus": false, "hal": true, "ned": true} {
		if got := p.InHoldout("shop", id); got != want {
			t.Fatalf("%s in the holdout group: %v, want %v (the dataset below relies on it)", id, got, want)
		}
	}
	customer := func(id string, at time.Time) commerce.Customer {
		return commerce.Customer{ID: id, Email: id + "@example.com", CreatedAt: at, UpdatedAt: at}
	}
	var cs []commerce.Customer
	for _, id := range []string{"ann", "ben", "fay", "hal", "ned"} {
		cs = append(cs, customer(id, on(1, 1)))
	}
	rs.apply(on(1, 1), cs)
	// Before the period (February and March): fay earns 20.
	rs.apply(on(1, 15), nil, handOrder("o0", "fay", on(1, 15), "P1:20.00"))
	// In the period.
	rs.apply(on(2, 2), nil, handOrder("o1", "ann", on(2, 2), "P1:60.00", "P2:40.00"))
	o2 := handOrder("o2", "ben", on(2, 3), "P1:80.00")
	rs.apply(on(2, 3), nil, o2, handOrder("o3", "hal", on(2, 3), "P1:50.00", "P2:40.00"))
	rs.apply(on(2, 20), nil, handOrder("o4", "ann", on(2, 20), "P1:30.00", "P3:30.00"))
	rs.clock.Set(on(2, 21))
	red, err := rs.engine.Redeem(context.Background(), rs.st, "ann", "five-off", "dana")
	if err != nil {
		t.Fatal(err)
	}
	rs.apply(on(2, 25), nil, withCode(handOrder("o5", "ann", on(2, 25), "P2:55.00-5.00"), red.Code, "5.00"))
	rs.apply(on(2, 28), []commerce.Customer{customer("gus", on(2, 28))})
	rs.apply(on(3, 1), nil, withCode(handOrder("o6", "gus", on(3, 1), "P1:70.00-10.00"), p.ReferralCode("shop", "ben"), "10.00"))
	rs.apply(on(3, 5), nil, handOrder("o7", "ned", on(3, 5), "P3:40.00"))
	rs.apply(on(3, 10), nil, handOrder("o8", "hal", on(3, 10), "P1:30.00"))
	refunded := o2
	refunded.State, refunded.UpdatedAt = commerce.StatePartiallyRefunded, on(3, 15)
	refunded.Refunds = []commerce.Refund{{ID: "r1", CreatedAt: on(3, 15), Amount: usd("30.00"),
		Lines: []commerce.RefundLine{{LineID: "o2-1", Quantity: 1, Amount: usd("30.00")}}}}
	rs.apply(on(3, 15), nil, refunded) // and gus's first order is past its pending days: ben's referral is rewarded
	rs.apply(on(3, 20), nil, handOrder("o9", "fay", on(3, 20), "P1:100.00", "P2:100.00"))
	// After the period.
	rs.apply(on(4, 5), nil, handOrder("o10", "ann", on(4, 5), "P1:10.00"))
	rs.clock.Set(on(4, 10))

	r, err := rs.engine.ProgramReport(context.Background(), "shop", report.Query{From: on(2, 1).Add(-12 * time.Hour), To: on(4, 1).Add(-12 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// The ledger, entry by entry:
	//   ann: +100 (o1, Feb 2), +60 (o4), −100 (five-off, Feb 21), +50 (o5: 55 − 5), [+10 o10 on Apr 5, after]
	//   ben: +80 (o2), +20 (referral of gus, Mar 15), −30 (refund of o2, Mar 15)
	//   fay: [+20 o0 on Jan 15, before], +200 (o9, Mar 20, pending until Apr 3)
	//   gus: +60 (o6: 70 − 10)
	//   hal, ned: holdout, nothing
	// Orders that count in the period, by cohort:
	//   members: ann o1 100, o4 60, o5 50; ben o2 80−30 = 50; gus o6 60; fay o9 200
	//            4 customers, 4 buyers, 1 repeat buyer (ann), 6 orders, revenue 520
	//   holdout: hal o3 90, o8 30; ned o7 40: 2 customers, 2 buyers, 1 repeat (hal), 3 orders, revenue 160
	want := map[string]float64{
		"members":             4, // ann, ben, fay, gus
		"new_members":         1, // gus, enrolled Feb 28
		"holdout":             2, // hal, ned
		"enrollment_rate":     1, // 4 ÷ (4 members + 0 not invited)
		"active_members":      4,
		"points_issued":       540, // 100 + 60 + 50 + 80 + 20 − 30 + 60 + 200
		"points_redeemed":     100,
		"points_expired":      0,
		"points_outstanding":  460, // ann 110 + ben 70 + fay 220 + gus 60
		"points_pending":      200, // fay's o9, available Apr 3
		"liability":           4.60,
		"redemption_rate":     100.0 / 540,
		"rewards_issued":      1,
		"reward_value_issued": 5.00,
		"rewards_used":        1,
		"reward_cost":         15.00, // 5.00 (reward code on o5) + 10.00 (ben's referral code on o6)

		"member.customers":             4,
		"member.buyer_rate":            1,         // 4 ÷ 4
		"member.purchase_frequency":    1.5,       // 6 orders ÷ 4 buyers
		"member.repeat_rate":           0.25,      // 1 ÷ 4
		"member.average_order_value":   86.67,     // 520 ÷ 6 = 86.666…
		"member.revenue_per_customer":  130.00,    // 520 ÷ 4
		"holdout.customers":            2,         //
		"holdout.buyer_rate":           1,         // 2 ÷ 2
		"holdout.purchase_frequency":   1.5,       // 3 ÷ 2
		"holdout.repeat_rate":          0.5,       // 1 ÷ 2
		"holdout.average_order_value":  53.33,     // 160 ÷ 3 = 53.333…
		"holdout.revenue_per_customer": 80.00,     // 160 ÷ 2
		"lift.buyer_rate":              0,         // 1 ÷ 1 − 1
		"lift.purchase_frequency":      0,         // 1.5 ÷ 1.5 − 1
		"lift.repeat_rate":             -0.5,      // 0.25 ÷ 0.5 − 1
		"lift.average_order_value":     0.625,     // (520/6) ÷ (160/3) − 1 = 1.625 − 1
		"lift.revenue_per_customer":    0.625,     // 130 ÷ 80 − 1
		"incremental_revenue":          200.00,    // 520 − 4 × 160 ÷ 2
		"incremental_gross_margin":     100.00,    // 200 × 50 %
		"roi":                          85.0 / 15, // (100 − 15) ÷ 15
	}
	for key, w := range want {
		f, ok := r.Figure(key)
		if !ok {
			t.Errorf("no figure %s", key)
			continue
		}
		if f.NA != "" || math.Abs(f.Value-w) > 1e-9 {
			t.Errorf("%s = %v (na %q), want %v", key, f.Value, f.NA, w)
		}
		if f.Definition == "" || f.Period.To.IsZero() {
			t.Errorf("%s has no definition or period: %+v", key, f)
		}
	}
	if f, _ := r.Figure("liability"); f.Money != usd("4.60") {
		t.Errorf("liability = %v, want exactly 4.60 USD", f.Money)
	}
	if f, _ := r.Figure("points_outstanding"); f.Money != usd("4.60") || !f.Period.AsOf() {
		t.Errorf("outstanding points: worth %v as of %v; want 4.60 USD, as of the end", f.Money, f.Period)
	}
	if f, _ := r.Figure("reward_cost"); f.Money != usd("15.00") {
		t.Errorf("reward cost = %v, want 15.00 USD", f.Money)
	}

	// Tier mix now: ann (210 in the window) and fay (220) are silver.
	wantTiers := []report.TierRow{{Tier: "", Members: 2, Share: 0.5}, {Tier: "silver", Members: 2, Share: 0.5}}
	if fmt.Sprint(r.Tiers.Rows) != fmt.Sprint(wantTiers) {
		t.Errorf("tiers = %+v, want %+v", r.Tiers.Rows, wantTiers)
	}
	// ABC of the 6 buyers by spend: ann 210, fay 200 | hal 120 | gus 60, ben 50, ned 40 (of 680).
	wantABC := []report.SegmentRow{
		{Segment: "a", Customers: 2, CustomerShare: 2.0 / 6, Revenue: usd("410.00"), RevenueShare: 410.0 / 680},
		{Segment: "b", Customers: 1, CustomerShare: 1.0 / 6, Revenue: usd("120.00"), RevenueShare: 120.0 / 680},
		{Segment: "c", Customers: 3, CustomerShare: 3.0 / 6, Revenue: usd("150.00"), RevenueShare: 150.0 / 680},
	}
	if fmt.Sprint(r.ABC.Rows) != fmt.Sprint(wantABC) {
		t.Errorf("abc = %+v\nwant %+v", r.ABC.Rows, wantABC)
	}
	// RFM: 1 + (buyers with a lower value) × 5 ÷ 6 in each dimension.
	// ann: last order 2nd oldest (1 below: R 1), 3 orders (5 below: F 5), 210 (5 below: M 5).
	// fay: latest (R 5), 1 order (F 1), 200 (4 below: M 4). hal: 4-4-3.
	rfm := map[string]report.SegmentRow{}
	for _, s := range r.RFM.Rows {
		rfm[s.Segment] = s
	}
	for cell, revenue := range map[string]string{"1-5-5": "210.00", "5-1-4": "200.00", "4-4-3": "120.00"} {
		if s := rfm[cell]; s.Customers != 1 || s.Revenue != usd(revenue) {
			t.Errorf("RFM %s = %+v, want 1 buyer with %s", cell, s, revenue)
		}
	}
	// Baskets: o1 {P1 P2}, o2 {P1}, o3 {P1 P2}, o4 {P1 P3}, o5 {P2}, o6 {P1}, o7 {P3}, o8 {P1}, o9 {P1 P2}:
	// 9 orders; P1 in 7, P2 in 4; P1+P2 in 3 (P1+P3 in 1 only: below 2 orders).
	if r.Pairs.Orders != 9 || len(r.Pairs.Rows) != 1 {
		t.Fatalf("pairs: %d orders, %+v; want 9 orders and one pair", r.Pairs.Orders, r.Pairs.Rows)
	}
	pr := r.Pairs.Rows[0]
	if pr.A.Key != "P1" || pr.B.Key != "P2" || pr.Orders != 3 || pr.A.Title != "Product P1" ||
		!near(pr.Support, 3.0/9) || !near(pr.ConfidenceAB, 3.0/7) || !near(pr.ConfidenceBA, 3.0/4) ||
		!near(pr.Lift, (3.0/9)/((7.0/9)*(4.0/9))) { // 81 ÷ 84
		t.Errorf("pair = %+v", pr)
	}
	// Goals: members 4 of 4; frequency 1.5 of 2; repeat 0.25 of 0.5; ROI 5.67 of 1.
	wantGoals := map[string][2]float64{"members": {1, 1}, "purchase_frequency": {0.75, 0}, "repeat_rate": {0.5, 0},
		"roi": {85.0 / 15, 1}}
	if len(r.Goals.Rows) != len(wantGoals) {
		t.Errorf("goals = %+v, want %d", r.Goals.Rows, len(wantGoals))
	}
	for _, g := range r.Goals.Rows {
		w := wantGoals[g.Key]
		if !near(g.Progress, w[0]) || g.Met != (w[1] == 1) {
			t.Errorf("goal %s: progress %v met %v, want %v %v", g.Key, g.Progress, g.Met, w[0], w[1] == 1)
		}
	}
	// No auto_redeem: each month of the period says so.
	if len(r.Budget.Rows) != 2 || r.Budget.Rows[0].Month != "2026-02" || r.Budget.Rows[1].NA == "" {
		t.Errorf("budget = %+v", r.Budget.Rows)
	}

	// The dashboard's monthly points, by when each entry was made:
	//   February: ann 100 + 60 + 50, ben 80 issued; ann's 100 redeemed.
	//   March: ben 20 − 30, gus 60, fay 200 issued. (fay's 20 in January
	//   and ann's 10 in April fall outside.) 290 + 250 is the report's 540.
	pts, err := rs.engine.PointsBetween(context.Background(), "shop", []time.Time{on(2, 1).Add(-12 * time.Hour), on(3, 1).Add(-12 * time.Hour), on(4, 1).Add(-12 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []report.SpanPoints{{Issued: 290, Redeemed: 100}, {Issued: 250}}; fmt.Sprint(pts) != fmt.Sprint(want) {
		t.Errorf("points by month = %+v, want %+v", pts, want)
	}
	// What became of the codes and referrals: ann's five-off, issued by
	// staff and used on o5; ben's referral of gus, rewarded 20 points.
	act, err := rs.engine.Activity(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	wantAct := report.Activity{At: on(4, 10),
		Rewards:   []report.RewardActivity{{Reward: "five-off", Issued: 1, Used: 1, Points: 100, Value: usd("5.00")}},
		Referrals: report.ReferralActivity{Rewarded: 1, Points: 20}}
	if fmt.Sprint(*act) != fmt.Sprint(wantAct) {
		t.Errorf("activity = %+v\nwant %+v", *act, wantAct)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
