package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
)

// CohortTotals are one cohort's customers and their orders in the period.
// Amounts are in minor units of the program's currency.
type CohortTotals struct {
	// Customers counts the cohort's customers known by the end of the
	// period (created before it, or known only from orders): the
	// population the holdout comparison divides by. Because the holdout
	// group is a random share of all customers, comparing whole cohorts is
	// fair; comparing buyers only would not be.
	Customers int
	// Enrolled counts the members enrolled before the end of the period,
	// NewlyEnrolled those enrolled during it (members only).
	Enrolled, NewlyEnrolled int
	// Buyers counts the Customers with a counting order in the period,
	// RepeatBuyers those with two or more.
	Buyers, RepeatBuyers int
	// Orders counts the Customers' counting orders processed in the
	// period, and Revenue sums their eligible amounts.
	Orders  int
	Revenue int64
}

// Placed is a customer the program placed in a cohort, as the cohort
// totals count them.
type Placed struct {
	CustomerID string
	Cohort     loyalty.Cohort
	// EnrolledAt is when a member was enrolled; CreatedAt when the
	// customer was created on the platform, zero for one known only from
	// orders.
	EnrolledAt, CreatedAt time.Time
}

// AddPlaced counts a placed customer into the cohort totals of the
// query's period, with what they bought in it (nil for nothing).
func AddPlaced(totals map[loyalty.Cohort]CohortTotals, p Placed, bought *loyalty.Buyer, q Query) {
	t := totals[p.Cohort]
	if p.Cohort == loyalty.CohortMember && !p.EnrolledAt.IsZero() && p.EnrolledAt.Before(q.To) {
		t.Enrolled++
		if !p.EnrolledAt.Before(q.From) {
			t.NewlyEnrolled++
		}
	}
	if p.CreatedAt.IsZero() || p.CreatedAt.Before(q.To) {
		t.Customers++
		if bought != nil && bought.Orders > 0 {
			t.Buyers++
			if bought.Orders >= 2 {
				t.RepeatBuyers++
			}
			t.Orders += bought.Orders
			t.Revenue += bought.Spend.Minor
		}
	}
	totals[p.Cohort] = t
}

// PointTotals are the ledger's sums.
type PointTotals struct {
	// ByKind sums the points of the entries recorded in the period, by kind.
	ByKind map[commerce.EntryKind]int64
	// Outstanding sums the balances (available and pending) at the end of
	// the period, a negative balance counting as zero; Pending is the
	// part of it still pending.
	Outstanding, Pending int64
}

// RewardTotals are the rewards of the period. Amounts are in minor units.
type RewardTotals struct {
	// Issued counts the rewards issued in the period that the platform did
	// not refuse, and IssuedValue sums their value (the amount off, or the
	// reward's budget_value).
	Issued      int
	IssuedValue int64
	// Used counts the reward codes used on orders processed in the period.
	Used int
	// Cost sums the discounts the program's codes (reward codes and
	// members' referral codes) gave on counting orders processed in the
	// period, and CostOrders counts those orders.
	Cost       int64
	CostOrders int
}

// AutoIssue is a reward issued automatically: what counts against the
// monthly budget.
type AutoIssue struct {
	At    time.Time
	Value int64
}

// Inputs are what a report is computed from, as the engine gathers them
// from the store: totals and lists, no records.
type Inputs struct {
	Store   string
	Program *loyalty.Program
	// Query is the resolved query (Query.Resolve).
	Query Query
	// Now is when the report is made: the tier mix is as of now, since
	// tiers are not kept historically.
	Now time.Time
	// Cohorts are the totals of each cohort (member, holdout, not_invited).
	Cohorts map[loyalty.Cohort]CohortTotals
	Points  PointTotals
	Rewards RewardTotals
	// Tiers counts the members per tier now ("" for none).
	Tiers map[string]int
	// Buyers are every customer's counting orders in the period, summed.
	Buyers []loyalty.Buyer
	// Baskets are the products of the period's counting orders; nil for
	// none.
	Baskets *Baskets
	// AutoIssued are the rewards issued automatically in the period.
	AutoIssued []AutoIssue
}

// Definitions shared by several figures.
const (
	defCounting = "counting orders are paid, not cancelled, voided, fully refunded or test orders, in the program's currency"
	defRevenue  = "revenue is the eligible amount: merchandise after discounts and refunds, without shipping, taxes and gift cards"
)

// Compute computes a report from its inputs.
func Compute(in Inputs) *Report {
	p, q := in.Program, in.Query
	span := Period{From: q.From, To: q.To}
	end := Period{To: q.To}
	exp, _ := commerce.Exponent(p.Currency)
	c := &computer{p: p, exp: exp}
	r := &Report{Store: in.Store, Currency: p.Currency, Program: p.Version(), Period: span, GeneratedAt: in.Now,
		PointValue: p.PointValue.Float64(), MarginPercent: p.MarginPercent.Float64()}

	m, h, ni := in.Cohorts[loyalty.CohortMember], in.Cohorts[loyalty.CohortHoldout], in.Cohorts[loyalty.CohortNotInvited]
	noHoldout := ""
	if h.Customers == 0 {
		noHoldout = "no holdout group to compare with (set program.holdout_percent)"
	}

	// Who takes part.
	r.Figures = append(r.Figures,
		c.count("members", "Members", m.Enrolled, "customers enrolled in the program at the end of the period", end),
		c.count("new_members", "New members", m.NewlyEnrolled, "customers enrolled during the period", span),
		c.count("holdout", "Holdout group", h.Customers, "customers in the holdout (control) group: never enrolled, never tagged", end),
		c.ratio("enrollment_rate", "Enrollment rate", float64(m.Enrolled), float64(m.Enrolled+ni.Customers), "no customers outside the holdout group",
			"members ÷ customers outside the holdout group (members and customers not invited)", end),
		c.count("active_members", "Active members", m.Buyers, "members with a counting order processed in the period; "+defCounting, span),
	)

	// Points and what they are worth.
	by := in.Points.ByKind
	issued := by[commerce.KindEarn] + by[commerce.KindBonus] + by[commerce.KindReferral] + by[commerce.KindManual] +
		by[commerce.KindAdjustRefund] + by[commerce.KindAdjustCancel]
	redeemed := -(by[commerce.KindRedeem] + by[commerce.KindRedeemReturn])
	expired := -by[commerce.KindExpire]
	valued := " (value at the point value)"
	r.Figures = append(r.Figures,
		c.points("points_issued", "Points issued", issued,
			"points credited in the period for orders, first-order bonuses, referrals and staff adjustments, less points taken back on refunds and cancellations"+valued, span),
		c.points("points_redeemed", "Points redeemed", redeemed, "points spent on rewards in the period, less points returned for codes the store refused"+valued, span),
		c.points("points_expired", "Points expired", expired, "points that expired in the period after members were inactive"+valued, span),
		c.points("points_outstanding", "Points outstanding", in.Points.Outstanding,
			"points members hold at the end of the period, available and pending (a negative balance counts as zero)"+valued, end),
		c.points("points_pending", "of which pending", in.Points.Pending, "outstanding points not spendable yet (within their order's pending days)"+valued, end),
	)
	liability := c.money("liability", "Liability", p.PointsValue(in.Points.Outstanding).Minor,
		fmt.Sprintf("outstanding points × the point value (%s %s a point): what the store owes members in rewards", p.PointValue, p.Currency), end)
	if p.PointValue.IsZero() {
		liability = c.na(liability, "no point value: set program.point_value or add a fixed_amount reward")
	}
	r.Figures = append(r.Figures, liability,
		c.ratio("redemption_rate", "Redemption rate", float64(redeemed), float64(issued), "no points issued in the period",
			"points redeemed ÷ points issued, both in the period", span),
	)

	// Rewards and what they cost.
	rw := in.Rewards
	r.Figures = append(r.Figures,
		c.count("rewards_issued", "Rewards issued", rw.Issued, "rewards issued in the period, by staff or automatically, that the store did not refuse", span),
		c.money("reward_value_issued", "Value of rewards issued", rw.IssuedValue,
			"what the rewards issued in the period are worth: the amount off, or the reward's budget_value", span),
		c.count("rewards_used", "Reward codes used", rw.Used, "reward codes used on orders processed in the period", span),
		c.money("reward_cost", "Reward cost", rw.Cost,
			fmt.Sprintf("discounts given by the program's codes (reward codes and members' referral codes) on counting orders processed in the period (%d orders)", rw.CostOrders), span),
	)

	// Members against the holdout group.
	r.Comparison = c.compare(m, h, noHoldout, span, end)

	// What the program returns.
	incRev := c.money("incremental_revenue", "Incremental revenue", 0,
		"(members' revenue per customer − holdout's) × members compared: the revenue the program added; "+defRevenue, span)
	if noHoldout != "" || m.Customers == 0 {
		incRev = c.na(incRev, cmp.Or(noHoldout, "no members to compare"))
	} else {
		incRev = c.moneyFloat(incRev, float64(m.Revenue)-float64(m.Customers)*float64(h.Revenue)/float64(h.Customers))
	}
	margin := c.money("incremental_gross_margin", "Incremental gross margin", 0,
		fmt.Sprintf("incremental revenue × the gross margin (%s %%)", p.MarginPercent), span)
	switch {
	case incRev.NA != "":
		margin = c.na(margin, incRev.NA)
	case p.MarginPercent.IsZero():
		margin = c.na(margin, "no gross margin: set program.margin_percent")
	default:
		margin = c.moneyFloat(margin, float64(incRev.Money.Minor)*p.MarginPercent.Float64()/100)
	}
	roi := Figure{Key: "roi", Label: "ROI", Unit: UnitNumber, Period: span,
		Definition: "(incremental gross margin − reward cost) ÷ reward cost; revenue is already net of the discounts, so the cost counts once more: a cautious figure"}
	roiValue, roiNA := ROI(margin.Money.Minor, rw.Cost)
	switch {
	case margin.NA != "":
		roi = c.na(roi, margin.NA)
	case roiNA != "":
		roi = c.na(roi, roiNA)
	default:
		roi.Value = roiValue
	}
	r.Figures = append(r.Figures, incRev, margin, roi)

	r.Tiers = tierMix(p, in.Tiers, Period{To: in.Now})
	r.ABC, r.RFM = segments(p, in.Buyers, span, exp)
	r.Pairs = PairTable{Table: Table[Pair]{Rows: []Pair{}, Period: span,
		Definition: fmt.Sprintf("products bought together in one counting order of the period: support = orders with both ÷ orders with products; confidence A→B = orders with both ÷ orders with A; lift = support ÷ (support of A × support of B); pairs in at least 2 orders and %s of them, highest lift first", percent(q.MinSupport))},
		MinSupport: q.MinSupport}
	if in.Baskets != nil {
		r.Pairs.Orders = in.Baskets.Orders()
		r.Pairs.Rows = in.Baskets.Pairs(q.MinSupport, q.Pairs)
	}
	r.Goals = goals(p, r, span)
	r.Budget = budget(p, in.AutoIssued, span, exp)
	return r
}

// ROI is the return on the program: (incremental gross margin − reward
// cost) ÷ reward cost, both in minor units. It has no value (the reason
// is returned) when nothing was spent.
func ROI(incrementalMargin, rewardCost int64) (float64, string) {
	if rewardCost <= 0 {
		return 0, "no reward cost in the period"
	}
	return float64(incrementalMargin-rewardCost) / float64(rewardCost), ""
}

// Lift is members ÷ holdout − 1: how much higher the members' figure is.
// It has no value (the reason is returned) when the holdout's is zero.
func Lift(member, holdout float64) (float64, string) {
	if holdout == 0 {
		return 0, "the holdout group's figure is zero"
	}
	return member/holdout - 1, ""
}

// computer builds figures in one currency.
type computer struct {
	p   *loyalty.Program
	exp int
}

func (c *computer) major(minor int64) float64 { return float64(minor) / math.Pow10(c.exp) }

func (c *computer) count(key, label string, n int, def string, per Period) Figure {
	return Figure{Key: key, Label: label, Unit: UnitCount, Value: float64(n), Definition: def, Period: per}
}

func (c *computer) points(key, label string, n int64, def string, per Period) Figure {
	f := Figure{Key: key, Label: label, Unit: UnitPoints, Value: float64(n), Definition: def, Period: per}
	if !c.p.PointValue.IsZero() {
		f.Money = c.p.PointsValue(n)
	}
	return f
}

func (c *computer) money(key, label string, minor int64, def string, per Period) Figure {
	return Figure{Key: key, Label: label, Unit: UnitMoney, Value: c.major(minor), Money: commerce.NewMoney(minor, c.p.Currency),
		Definition: def, Period: per}
}

// moneyFloat sets a money figure from an amount in minor units that may
// have a fraction, rounded half away from zero.
func (c *computer) moneyFloat(f Figure, minor float64) Figure {
	m := int64(math.Round(minor))
	f.Value, f.Money = c.major(m), commerce.NewMoney(m, c.p.Currency)
	return f
}

func (c *computer) ratio(key, label string, num, den float64, na, def string, per Period) Figure {
	f := Figure{Key: key, Label: label, Unit: UnitRatio, Definition: def, Period: per}
	if den == 0 {
		return c.na(f, na)
	}
	f.Value = num / den
	return f
}

func (c *computer) na(f Figure, why string) Figure {
	f.Value, f.Money, f.NA = 0, commerce.Money{}, why
	return f
}

// compare builds the member-against-holdout rows.
func (c *computer) compare(m, h CohortTotals, noHoldout string, span, end Period) []Comparison {
	type side struct {
		v  float64
		na string
	}
	div := func(num, den float64, na string) side {
		if den == 0 {
			return side{na: na}
		}
		return side{v: num / den}
	}
	rows := []struct {
		key, label, def string
		unit            Unit
		per             Period
		get             func(CohortTotals) side
	}{
		{"customers", "Customers", "the group's customers known by the end of the period (created before it, or known from orders)",
			UnitCount, end, func(t CohortTotals) side { return side{v: float64(t.Customers)} }},
		{"buyer_rate", "Buyer rate", "customers with a counting order in the period ÷ customers; " + defCounting,
			UnitRatio, span, func(t CohortTotals) side { return div(float64(t.Buyers), float64(t.Customers), "no customers") }},
		{"purchase_frequency", "Purchase frequency", "counting orders processed in the period ÷ customers who placed one (orders per buyer)",
			UnitNumber, span, func(t CohortTotals) side { return div(float64(t.Orders), float64(t.Buyers), "no buyers") }},
		{"repeat_rate", "Repeat-purchase rate", "buyers with two or more counting orders in the period ÷ buyers",
			UnitRatio, span, func(t CohortTotals) side { return div(float64(t.RepeatBuyers), float64(t.Buyers), "no buyers") }},
		{"average_order_value", "Average order value", "revenue ÷ counting orders in the period; " + defRevenue,
			UnitMoney, span, func(t CohortTotals) side { return div(float64(t.Revenue), float64(t.Orders), "no orders") }},
		{"revenue_per_customer", "Revenue per customer", "revenue in the period ÷ customers (buyers or not), the figure the program's added revenue is measured by; " + defRevenue,
			UnitMoney, span, func(t CohortTotals) side { return div(float64(t.Revenue), float64(t.Customers), "no customers") }},
	}
	out := make([]Comparison, 0, len(rows))
	for _, row := range rows {
		fig := func(who, whoLabel string, s side, na string) Figure {
			f := Figure{Key: who + "." + row.key, Label: row.label + " (" + whoLabel + ")", Unit: row.unit,
				Definition: row.def, Period: row.per}
			switch {
			case na != "":
				return c.na(f, na)
			case s.na != "":
				return c.na(f, s.na)
			case row.unit == UnitMoney:
				return c.moneyFloat(f, s.v)
			}
			f.Value = s.v
			return f
		}
		ms, hs := row.get(m), row.get(h)
		cmpRow := Comparison{Key: row.key, Label: row.label,
			Member:  fig("member", "members", ms, ""),
			Holdout: fig("holdout", "holdout", hs, noHoldout),
			Lift: Figure{Key: "lift." + row.key, Label: row.label + " lift", Unit: UnitRatio, Period: row.per,
				Definition: "members ÷ holdout − 1: how much higher the members' " + strings.ToLower(row.label) + " is than the holdout group's"}}
		switch {
		case row.key == "customers":
			cmpRow.Lift = c.na(cmpRow.Lift, "group sizes are chosen, not measured")
		case cmpRow.Member.NA != "":
			cmpRow.Lift = c.na(cmpRow.Lift, cmpRow.Member.NA)
		case cmpRow.Holdout.NA != "":
			cmpRow.Lift = c.na(cmpRow.Lift, cmpRow.Holdout.NA)
		default:
			v, na := Lift(ms.v, hs.v)
			if na != "" {
				cmpRow.Lift = c.na(cmpRow.Lift, na)
			} else {
				cmpRow.Lift.Value = v
			}
		}
		out = append(out, cmpRow)
	}
	return out
}

// tierMix lists the members per tier: no tier first, then the program's
// levels from the lowest, then tiers the program no longer has.
func tierMix(p *loyalty.Program, counts map[string]int, at Period) Table[TierRow] {
	t := Table[TierRow]{Period: at, Rows: []TierRow{},
		Definition: "members per tier and their share of all members, as of when the report was made (tiers are not kept historically)"}
	total := 0
	for _, n := range counts {
		total += n
	}
	names := []string{""}
	for _, l := range p.Tiers.Levels {
		names = append(names, l.Name)
	}
	var extra []string
	for name := range counts {
		if !slices.Contains(names, name) {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	for _, name := range append(names, extra...) {
		row := TierRow{Tier: name, Members: counts[name]}
		if total > 0 {
			row.Share = float64(row.Members) / float64(total)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// segments ranks the period's buyers ABC and RFM (as the daily
// segmentation does, over the report's period) and sums each segment.
func segments(p *loyalty.Program, buyers []loyalty.Buyer, span Period, exp int) (abc, rfm Table[SegmentRow]) {
	abc = Table[SegmentRow]{Period: span, Rows: []SegmentRow{},
		Definition: "buyers of the period ranked by eligible spend: A the top 20 %, B the next 30 %, C the rest; customer and revenue shares of all buyers"}
	rfm = Table[SegmentRow]{Period: span, Rows: []SegmentRow{},
		Definition: "buyers of the period by RFM cell recency-frequency-monetary, each scored 1 to 5 by quintile (5 best); largest revenue first"}
	segs := loyalty.Segments(buyers, span.To)
	type sum struct {
		n   int
		rev int64
	}
	abcSum, rfmSum := map[string]sum{}, map[string]sum{}
	var total sum
	for _, b := range buyers {
		s, ok := segs[b.CustomerID]
		if !ok {
			continue
		}
		cell := fmt.Sprintf("%d-%d-%d", s.Recency, s.Frequency, s.Monetary)
		for _, a := range []struct {
			m   map[string]sum
			key string
		}{{abcSum, s.ABC}, {rfmSum, cell}} {
			x := a.m[a.key]
			x.n++
			x.rev += b.Spend.Minor
			a.m[a.key] = x
		}
		total.n++
		total.rev += b.Spend.Minor
	}
	row := func(key string, x sum) SegmentRow {
		r := SegmentRow{Segment: key, Customers: x.n, Revenue: commerce.NewMoney(x.rev, p.Currency)}
		if total.n > 0 {
			r.CustomerShare = float64(x.n) / float64(total.n)
		}
		if total.rev > 0 {
			r.RevenueShare = float64(x.rev) / float64(total.rev)
		}
		return r
	}
	for _, k := range []string{"a", "b", "c"} {
		abc.Rows = append(abc.Rows, row(k, abcSum[k]))
	}
	for k, x := range rfmSum {
		rfm.Rows = append(rfm.Rows, row(k, x))
	}
	slices.SortFunc(rfm.Rows, func(a, b SegmentRow) int {
		return cmp.Or(cmp.Compare(b.Revenue.Minor, a.Revenue.Minor), cmp.Compare(a.Segment, b.Segment))
	})
	return abc, rfm
}

// goals measures the program's goals with the report's figures.
func goals(p *loyalty.Program, r *Report, span Period) Table[GoalRow] {
	t := Table[GoalRow]{Period: span, Rows: []GoalRow{},
		Definition: "each goal of the program's goals: block, measured by a figure of this report over its period; progress = figure ÷ goal, met at 1 or more"}
	g := p.Goals
	add := func(key, label, figure string, target float64) {
		f, _ := r.Figure(figure)
		row := GoalRow{Key: key, Label: label, Unit: f.Unit, Target: target, Figure: figure, Actual: f.Value, NA: f.NA}
		if row.NA == "" {
			row.Progress = row.Actual / row.Target
			row.Met = row.Actual >= row.Target
		}
		t.Rows = append(t.Rows, row)
	}
	if g.Members > 0 {
		add("members", "Members", "members", float64(g.Members))
	}
	if !g.PurchaseFrequency.IsZero() {
		add("purchase_frequency", "Members' purchase frequency", "member.purchase_frequency", g.PurchaseFrequency.Float64())
	}
	if !g.RepeatRate.IsZero() {
		add("repeat_rate", "Members' repeat-purchase rate", "member.repeat_rate", g.RepeatRate.Float64())
	}
	if m := g.AverageOrderValue.Money(); m.Sign() > 0 {
		exp, _ := commerce.Exponent(p.Currency)
		add("average_order_value", "Members' average order value", "member.average_order_value", float64(m.Minor)/math.Pow10(exp))
	}
	if !g.RedemptionRate.IsZero() {
		add("redemption_rate", "Redemption rate", "redemption_rate", g.RedemptionRate.Float64())
	}
	if !g.ROI.IsZero() {
		add("roi", "ROI", "roi", g.ROI.Float64())
	}
	return t
}

// budget sums the rewards issued automatically per month of the
// program's time zone, against the monthly budget.
func budget(p *loyalty.Program, issued []AutoIssue, span Period, exp int) Table[BudgetMonth] {
	t := Table[BudgetMonth]{Period: span, Rows: []BudgetMonth{},
		Definition: "value of the rewards issued automatically (auto_redeem) per month of the program's time zone ÷ the monthly budget; months cut by the period count only their part in it"}
	b := p.AutoRedeem.MonthlyBudget.Money()
	for start := p.MonthStart(span.From); start.Before(span.To); start = start.AddDate(0, 1, 0) {
		end := start.AddDate(0, 1, 0)
		per := Period{From: maxTime(start, span.From).UTC(), To: minTime(end, span.To).UTC()}
		row := BudgetMonth{Month: start.Format("2006-01"), Period: per, Used: commerce.NewMoney(0, p.Currency)}
		for _, is := range issued {
			if !is.At.Before(per.From) && is.At.Before(per.To) {
				row.Rewards++
				row.Used.Minor += is.Value
			}
		}
		switch {
		case p.AutoRedeem.Reward == "":
			row.NA = "no auto_redeem in the program"
		case !p.AutoRedeem.MonthlyBudget.Set() || b.Minor == 0:
			row.NA = "no monthly_budget"
		default:
			row.Budget = b
			row.Share = float64(row.Used.Minor) / float64(b.Minor)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func sortBy[T any](s []T, less func(a, b T) bool) {
	slices.SortFunc(s, func(a, b T) int {
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		}
		return 0
	})
}
