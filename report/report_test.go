package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func usd(s string) commerce.Money { return commerce.MustParseMoney(s, "USD") }

func program(t *testing.T, p loyalty.Program) *loyalty.Program {
	t.Helper()
	if p.Currency == "" {
		p.Currency = "USD"
	}
	p.SetDefaults()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return &p
}

func TestROI(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		margin, cost int64
		want         float64
		na           bool
	}{
		{margin: 150000, cost: 50000, want: 2},   // (1,500 − 500) ÷ 500
		{margin: 30000, cost: 50000, want: -0.4}, // (300 − 500) ÷ 500: the program lost 40 cents a dollar
		{margin: 50000, cost: 50000, want: 0},    // broke even
		{margin: -10000, cost: 20000, want: -1.5},
		{margin: 10000, cost: 0, na: true}, // nothing spent: no return to measure
	} {
		got, na := report.ROI(tt.margin, tt.cost)
		if (na != "") != tt.na || !near(got, tt.want) {
			t.Errorf("ROI(%d, %d) = %v %q, want %v (na %v)", tt.margin, tt.cost, got, na, tt.want, tt.na)
		}
	}
}

func TestLift(t *testing.T) {
	t.Parallel()
	if got, na := report.Lift(3.3, 3.0); na != "" || !near(got, 0.1) {
		t.Errorf("Lift(3.3, 3.0) = %v %q, want 0.1", got, na)
	}
	if got, na := report.Lift(0.2, 0.25); na != "" || !near(got, -0.2) {
		t.Errorf("Lift(0.2, 0.25) = %v %q, want −0.2", got, na)
	}
	if _, na := report.Lift(1, 0); na == "" {
		t.Error("Lift over a zero holdout figure has a value")
	}
}

// basket counts one order's products by key.
func basket(b *report.Baskets, keys ...string) {
	var ids []int32
	for _, k := range keys {
		ids = append(ids, b.Product([]byte(k), []byte("title "+k)))
	}
	b.Add(ids)
}

func TestCoPurchasePairs(t *testing.T) {
	t.Parallel()
	b := report.NewBaskets()
	basket(b, "A", "B")
	basket(b, "A", "B", "C")
	basket(b, "A", "C")
	basket(b, "B")
	basket(b, "A", "A", "B") // A on two lines counts once
	basket(b, "D")
	basket(b) // no products: not an order of the table
	// 6 orders; A in 4, B in 4, C in 2, D in 1; A+B in 3, A+C in 2, B+C in 1.
	if b.Orders() != 6 {
		t.Fatalf("orders = %d, want 6", b.Orders())
	}
	ab := report.Pair{A: report.Product{Key: "A", Title: "title A", Orders: 4}, B: report.Product{Key: "B", Title: "title B", Orders: 4},
		Orders: 3, Support: 3.0 / 6, ConfidenceAB: 3.0 / 4, ConfidenceBA: 3.0 / 4,
		Lift: (3.0 / 6) / ((4.0 / 6) * (4.0 / 6))} // 0.5 ÷ 0.444… = 1.125
	ac := report.Pair{A: report.Product{Key: "A", Title: "title A", Orders: 4}, B: report.Product{Key: "C", Title: "title C", Orders: 2},
		Orders: 2, Support: 2.0 / 6, ConfidenceAB: 2.0 / 4, ConfidenceBA: 2.0 / 2,
		Lift: (2.0 / 6) / ((4.0 / 6) * (2.0 / 6))} // 0.333… ÷ 0.222… = 1.5
	for _, tt := range []struct {
		minSupport float64
		top        int
		want       []report.Pair
	}{
		// At least 2 orders (30 % of 6 is 1.8): A+B and A+C, highest lift first; B+C (1 order) never.
		{0.3, 10, []report.Pair{ac, ab}},
		// However small the minimum, a pair seen once is no pattern: B+C is never listed.
		{0.01, 10, []report.Pair{ac, ab}},
		{0.3, 1, []report.Pair{ac}},
		// At least 40 % of 6 = 2.4, so 3 orders: A+B only.
		{0.4, 10, []report.Pair{ab}},
		{0.6, 10, []report.Pair{}},
	} {
		got := b.Pairs(tt.minSupport, tt.top)
		if len(got) != len(tt.want) {
			t.Errorf("Pairs(%v, %d) = %+v, want %+v", tt.minSupport, tt.top, got, tt.want)
			continue
		}
		for i := range got {
			g, w := got[i], tt.want[i]
			if g.A != w.A || g.B != w.B || g.Orders != w.Orders || !near(g.Support, w.Support) || !near(g.ConfidenceAB, w.ConfidenceAB) ||
				!near(g.ConfidenceBA, w.ConfidenceBA) || !near(g.Lift, w.Lift) {
				t.Errorf("Pairs(%v, %d)[%d] = %+v, want %+v", tt.minSupport, tt.top, i, g, w)
			}
		}
	}
}

// inputs is a small program's totals, worked out by hand in the tests.
func inputs(t *testing.T, p *loyalty.Program) report.Inputs {
	t.Helper()
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	q, err := report.Query{From: from, To: to}.Resolve(to)
	if err != nil {
		t.Fatal(err)
	}
	return report.Inputs{Store: "shop", Program: p, Query: q, Now: to,
		Cohorts: map[loyalty.Cohort]report.CohortTotals{
			// 900 members: 600 bought, 300 of them twice or more, 1,980 orders, 198,000.00 revenue.
			loyalty.CohortMember: {Customers: 900, Enrolled: 880, NewlyEnrolled: 200, Buyers: 600, RepeatBuyers: 300, Orders: 1980, Revenue: 19_800_000},
			// 100 holdout customers: 50 bought, 15 of them twice, 150 orders, 15,000.00 revenue.
			loyalty.CohortHoldout:    {Customers: 100, Buyers: 50, RepeatBuyers: 15, Orders: 150, Revenue: 1_500_000},
			loyalty.CohortNotInvited: {Customers: 120},
		},
		Points: report.PointTotals{ByKind: map[commerce.EntryKind]int64{
			commerce.KindEarn: 200_000, commerce.KindBonus: 5_000, commerce.KindReferral: 2_000, commerce.KindManual: 500,
			commerce.KindAdjustRefund: -6_000, commerce.KindAdjustCancel: -1_500,
			commerce.KindRedeem: -80_000, commerce.KindRedeemReturn: 500, commerce.KindExpire: -3_000,
		}, Outstanding: 117_500, Pending: 9_000},
		Rewards: report.RewardTotals{Issued: 160, IssuedValue: 80_000, Used: 120, Cost: 700_000, CostOrders: 130},
		Tiers:   map[string]int{"": 500, "gold": 100, "silver": 280, "bronze": 0},
	}
}

// TestComputeByHand checks every figure of a report against arithmetic
// done by hand on the inputs above.
func TestComputeByHand(t *testing.T) {
	t.Parallel()
	p := program(t, loyalty.Program{HoldoutPercent: loyalty.DecimalFromInt(10),
		Rewards:       []loyalty.Reward{{ID: "five-off", Points: 500, Type: loyalty.RewardFixedAmount, Value: loyalty.DecimalFromInt(5)}},
		Tiers:         loyalty.Tiers{Levels: []loyalty.Level{{Name: "silver", MinOrders: 2}, {Name: "gold", MinOrders: 5}}},
		MarginPercent: loyalty.DecimalFromInt(40)})
	r := report.Compute(inputs(t, p))
	want := map[string]float64{
		"members":         880,
		"new_members":     200,
		"holdout":         100,
		"enrollment_rate": 880.0 / 1000, // 880 ÷ (880 + 120 not invited)
		"active_members":  600,
		// 200,000 + 5,000 + 2,000 + 500 − 6,000 − 1,500
		"points_issued":      200_000,
		"points_redeemed":    79_500, // 80,000 − 500 returned
		"points_expired":     3_000,
		"points_outstanding": 117_500,
		"points_pending":     9_000,
		// A point is worth 5.00 ÷ 500 = 0.01 (the cheapest fixed reward): 117,500 × 0.01.
		"liability":           1175.00,
		"redemption_rate":     79_500.0 / 200_000,
		"rewards_issued":      160,
		"reward_value_issued": 800.00,
		"rewards_used":        120,
		"reward_cost":         7000.00,

		"member.customers":             900,
		"member.buyer_rate":            600.0 / 900,
		"member.purchase_frequency":    3.3, // 1,980 ÷ 600
		"member.repeat_rate":           0.5, // 300 ÷ 600
		"member.average_order_value":   100, // 198,000 ÷ 1,980
		"member.revenue_per_customer":  220, // 198,000 ÷ 900
		"holdout.customers":            100, //
		"holdout.buyer_rate":           0.5, // 50 ÷ 100
		"holdout.purchase_frequency":   3,   // 150 ÷ 50
		"holdout.repeat_rate":          0.3, // 15 ÷ 50
		"holdout.average_order_value":  100, // 15,000 ÷ 150
		"holdout.revenue_per_customer": 150, // 15,000 ÷ 100
		"lift.buyer_rate":              1.0/0.75 - 1,
		"lift.purchase_frequency":      0.1, // 3.3 ÷ 3 − 1
		"lift.repeat_rate":             0.5/0.3 - 1,
		"lift.average_order_value":     0,
		"lift.revenue_per_customer":    220.0/150 - 1,
		// (220 − 150) × 900 members = 63,000.00; × 40 % = 25,200.00
		"incremental_revenue":      63_000,
		"incremental_gross_margin": 25_200,
		"roi":                      (25_200.0 - 7_000) / 7_000, // 2.6
	}
	for key, w := range want {
		f, ok := r.Figure(key)
		if !ok || f.NA != "" || !near(f.Value, w) {
			t.Errorf("%s = %v (na %q, found %v), want %v", key, f.Value, f.NA, ok, w)
		}
	}
	if f, _ := r.Figure("points_outstanding"); f.Money != usd("1175.00") {
		t.Errorf("outstanding points worth %v, want 1,175.00 USD", f.Money)
	}
	if f, _ := r.Figure("incremental_gross_margin"); f.Money != usd("25200.00") {
		t.Errorf("incremental gross margin = %v, want 25,200.00 USD", f.Money)
	}
	if f, _ := r.Figure("lift.customers"); f.NA == "" {
		t.Error("the lift of the group sizes has a value; they are chosen, not measured")
	}
	// Tiers: none first, then the program's levels; a tier the program
	// no longer has after them.
	wantTiers := []report.TierRow{{Tier: "", Members: 500, Share: 500.0 / 880}, {Tier: "silver", Members: 280, Share: 280.0 / 880},
		{Tier: "gold", Members: 100, Share: 100.0 / 880}, {Tier: "bronze", Members: 0, Share: 0}}
	if fmt.Sprint(r.Tiers.Rows) != fmt.Sprint(wantTiers) {
		t.Errorf("tiers = %+v\nwant %+v", r.Tiers.Rows, wantTiers)
	}
	for _, f := range r.AllFigures() {
		if f.Definition == "" || f.Period.To.IsZero() || f.Label == "" {
			t.Errorf("figure %s lacks a definition, label or period: %+v", f.Key, f)
		}
	}
}

// TestHoldoutComparison: without a holdout group nothing is compared and
// nothing is claimed (no lift, no incremental margin, no ROI); a holdout
// that did not buy gives lifts only where they are defined.
func TestHoldoutComparison(t *testing.T) {
	t.Parallel()
	p := program(t, loyalty.Program{MarginPercent: loyalty.DecimalFromInt(40)})
	in := inputs(t, p)
	delete(in.Cohorts, loyalty.CohortHoldout)
	r := report.Compute(in)
	for _, key := range []string{"holdout.purchase_frequency", "lift.purchase_frequency", "lift.revenue_per_customer",
		"incremental_revenue", "incremental_gross_margin", "roi"} {
		if f, _ := r.Figure(key); f.NA == "" || f.Value != 0 {
			t.Errorf("without a holdout group %s = %v, want no value", key, f.Value)
		}
	}
	if f, _ := r.Figure("member.purchase_frequency"); !near(f.Value, 3.3) {
		t.Errorf("members' frequency = %v, want 3.3 with or without a holdout", f.Value)
	}

	in = inputs(t, p)
	in.Cohorts[loyalty.CohortHoldout] = report.CohortTotals{Customers: 100}
	r = report.Compute(in)
	if f, _ := r.Figure("holdout.purchase_frequency"); f.NA == "" {
		t.Errorf("a holdout without buyers has a purchase frequency: %+v", f)
	}
	if f, _ := r.Figure("lift.revenue_per_customer"); f.NA == "" {
		t.Errorf("lift over a holdout revenue of zero: %+v", f)
	}
	// All of the members' revenue is incremental: 198,000 − 900 × 0.
	if f, _ := r.Figure("incremental_revenue"); f.NA != "" || f.Money != usd("198000.00") {
		t.Errorf("incremental revenue = %+v, want 198,000.00", f)
	}
	// No margin configured: no profit, no ROI, and each says why.
	in = inputs(t, program(t, loyalty.Program{}))
	r = report.Compute(in)
	for _, key := range []string{"incremental_gross_margin", "roi"} {
		if f, _ := r.Figure(key); !strings.Contains(f.NA, "margin_percent") {
			t.Errorf("%s without a margin: %+v, want a pointer to margin_percent", key, f)
		}
	}
	if f, _ := r.Figure("liability"); !strings.Contains(f.NA, "point_value") {
		t.Errorf("liability without a point value or fixed reward: %+v", f)
	}
}

func TestGoals(t *testing.T) {
	t.Parallel()
	p := program(t, loyalty.Program{MarginPercent: loyalty.DecimalFromInt(40), Goals: loyalty.Goals{
		Members: 1000, PurchaseFrequency: loyalty.MustDecimal("3.3"), RepeatRate: loyalty.MustDecimal("0.4"),
		AverageOrderValue: loyalty.AmountOf(usd("125.00")), RedemptionRate: loyalty.MustDecimal("0.5"), ROI: loyalty.DecimalFromInt(2)}})
	r := report.Compute(inputs(t, p))
	want := []struct {
		key              string
		target, progress float64
		met              bool
	}{
		{"members", 1000, 0.88, false},                // 880 ÷ 1,000
		{"purchase_frequency", 3.3, 1, true},          // 3.3 ÷ 3.3
		{"repeat_rate", 0.4, 1.25, true},              // 0.5 ÷ 0.4
		{"average_order_value", 125, 0.8, false},      // 100 ÷ 125
		{"redemption_rate", 0.5, 0.3975 / 0.5, false}, // (79,500 ÷ 200,000) ÷ 0.5
		{"roi", 2, 2.6 / 2, true},                     // 2.6 ÷ 2
	}
	if len(r.Goals.Rows) != len(want) {
		t.Fatalf("goals = %+v, want %d", r.Goals.Rows, len(want))
	}
	for i, w := range want {
		g := r.Goals.Rows[i]
		if g.Key != w.key || !near(g.Target, w.target) || !near(g.Progress, w.progress) || g.Met != w.met || g.NA != "" {
			t.Errorf("goal %d = %+v, want %s %v progress %v met %v", i, g, w.key, w.target, w.progress, w.met)
		}
	}
	// A goal measured by a figure without a value has no progress.
	in := inputs(t, p)
	delete(in.Cohorts, loyalty.CohortHoldout)
	for _, g := range report.Compute(in).Goals.Rows {
		if g.Key == "roi" && (g.NA == "" || g.Met) {
			t.Errorf("ROI goal without a holdout group: %+v", g)
		}
	}
}

func TestBudgetByMonthInTheProgramsZone(t *testing.T) {
	t.Parallel()
	p := program(t, loyalty.Program{TimeZone: "Europe/Tallinn",
		Rewards:    []loyalty.Reward{{ID: "five-off", Points: 500, Type: loyalty.RewardFixedAmount, Value: loyalty.DecimalFromInt(5)}},
		AutoRedeem: loyalty.AutoRedeem{Reward: "five-off", MonthlyBudget: loyalty.AmountOf(usd("20.00"))}})
	in := inputs(t, p)
	tallinn := p.Location()
	in.Query.From, in.Query.To = time.Date(2026, 1, 15, 0, 0, 0, 0, tallinn).UTC(), time.Date(2026, 3, 1, 0, 0, 0, 0, tallinn).UTC()
	in.AutoIssued = []report.AutoIssue{
		{At: time.Date(2026, 1, 20, 10, 0, 0, 0, time.UTC), Value: 500},
		// 23:30 UTC on January 31 is already February 1 in Tallinn.
		{At: time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC), Value: 500},
		{At: time.Date(2026, 2, 10, 10, 0, 0, 0, time.UTC), Value: 500},
		{At: time.Date(2026, 2, 11, 10, 0, 0, 0, time.UTC), Value: 500},
	}
	rows := report.Compute(in).Budget.Rows
	want := []struct {
		month   string
		rewards int
		used    commerce.Money
		share   float64
	}{{"2026-01", 1, usd("5.00"), 0.25}, {"2026-02", 3, usd("15.00"), 0.75}}
	if len(rows) != len(want) {
		t.Fatalf("budget = %+v, want %d months", rows, len(want))
	}
	for i, w := range want {
		if g := rows[i]; g.Month != w.month || g.Rewards != w.rewards || g.Used != w.used || !near(g.Share, w.share) || g.Budget != usd("20.00") {
			t.Errorf("month %d = %+v, want %+v", i, g, w)
		}
	}
	if !rows[0].Period.From.Equal(in.Query.From) {
		t.Errorf("January starts at %v, want the period's start %v", rows[0].Period.From, in.Query.From)
	}
}

func TestMoves(t *testing.T) {
	t.Parallel()
	cur := map[string]string{"a": "silver", "b": "", "c": "gold", "d": "silver", "e": "silver"}
	cand := map[string]string{"a": "gold", "b": "silver", "c": "gold", "d": "gold", "f": "gold"}
	moves, flows := report.Moves(cur, cand)
	wantMoves := []report.TierMove{{"a", "silver", "gold"}, {"b", "", "silver"}, {"d", "silver", "gold"}}
	wantFlows := []report.TierFlow{{"silver", "gold", 2}, {"", "silver", 1}}
	if fmt.Sprint(moves) != fmt.Sprint(wantMoves) || fmt.Sprint(flows) != fmt.Sprint(wantFlows) {
		t.Errorf("Moves = %+v %+v, want %+v %+v", moves, flows, wantMoves, wantFlows)
	}
}

func TestQueryResolve(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	q, err := report.Query{}.Resolve(now)
	if err != nil || !q.To.Equal(now) || !q.From.Equal(now.AddDate(0, 0, -365)) || q.Pairs != report.DefaultPairs || q.MinSupport != report.DefaultMinSupport {
		t.Errorf("defaults = %+v, %v", q, err)
	}
	for _, bad := range []report.Query{{From: now, To: now}, {From: now.Add(time.Hour), To: now}, {MinSupport: 2}, {Pairs: -1}} {
		if _, err := bad.Resolve(now); err == nil {
			t.Errorf("%+v resolved without an error", bad)
		}
	}
	if got := (report.Period{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}).String(); got != "2026-01-01 to 2026-12-31 (365 days)" {
		t.Errorf("period = %q", got)
	}
}

// TestTextAndJSON: the text names the figures with their values, side by
// side for members and holdout, and the JSON carries every figure with
// its definition and period.
func TestTextAndJSON(t *testing.T) {
	t.Parallel()
	p := program(t, loyalty.Program{HoldoutPercent: loyalty.DecimalFromInt(10), MarginPercent: loyalty.DecimalFromInt(40),
		Rewards: []loyalty.Reward{{ID: "five-off", Points: 500, Type: loyalty.RewardFixedAmount, Value: loyalty.DecimalFromInt(5)}}})
	in := inputs(t, p)
	in.Baskets = report.NewBaskets()
	basket(in.Baskets, "A", "B")
	basket(in.Baskets, "A", "B")
	r := report.Compute(in)
	var b bytes.Buffer
	if err := report.WriteText(&b, r, true); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"Program report for store shop, 2026-01-01 to 2026-12-31 (365 days)",
		"Points issued", "200,000", "worth 2,000.00 USD",
		"Liability", "1,175.00 USD",
		"Purchase frequency", "3.30", "3.00", "+10.0 %",
		"ROI", "2.60",
		"title A (A)",
		"roi: (incremental gross margin − reward cost) ÷ reward cost",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the text lacks %q:\n%s", want, text)
		}
	}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Figures []struct {
			Key, Definition string
			Value           float64
			Period          struct{ From, To time.Time }
		}
		Comparison []struct {
			Key  string
			Lift struct{ Value float64 }
		}
	}
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range back.Figures {
		if f.Definition == "" || f.Period.To.IsZero() {
			t.Errorf("JSON figure %s lacks its definition or period", f.Key)
		}
		if f.Key == "points_issued" && f.Value == 200_000 && f.Period.From.Equal(in.Query.From) {
			found = true
		}
	}
	if !found || len(back.Comparison) != len(r.Comparison) {
		t.Errorf("JSON = %s", raw)
	}
}
