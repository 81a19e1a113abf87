package report

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Defaults of a Query.
const (
	// DefaultDays is the length of the default period, ending now: a year,
	// which is also what purchase frequency and the goals are stated over.
	DefaultDays = 365
	// DefaultPairs is how many co-purchase pairs a report lists.
	DefaultPairs = 10
	// DefaultMinSupport is the smallest share of orders a pair of products
	// must appear in to be listed.
	DefaultMinSupport = 0.01
)

// Query says what a report covers.
type Query struct {
	// From and To bound the period [From, To). Zero To means now; zero
	// From means DefaultDays before To.
	From, To time.Time
	// Pairs is how many co-purchase pairs to list; 0 means DefaultPairs.
	Pairs int
	// MinSupport is the smallest support (share of orders) of a listed
	// pair; 0 means DefaultMinSupport.
	MinSupport float64
}

// ParseDay reads a bound of a report's period: "2006-01-02" as the start
// of that day in loc (the start of the next day when end is set, so that
// the day is included), or an RFC 3339 time as it is; "" is the zero time.
func ParseDay(s string, loc *time.Location, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a day (2006-01-02) or a time (RFC 3339)", s)
	}
	return t.UTC(), nil
}

// Resolve fills in the defaults of q at now and checks it.
func (q Query) Resolve(now time.Time) (Query, error) {
	if q.To.IsZero() {
		q.To = now
	}
	if q.From.IsZero() {
		q.From = q.To.AddDate(0, 0, -DefaultDays)
	}
	q.From, q.To = q.From.UTC(), q.To.UTC()
	if q.Pairs == 0 {
		q.Pairs = DefaultPairs
	}
	if q.MinSupport == 0 {
		q.MinSupport = DefaultMinSupport
	}
	switch {
	case !q.From.Before(q.To):
		return q, fmt.Errorf("report: the period must end after it starts (from %s, to %s)", q.From.Format(time.DateOnly), q.To.Format(time.DateOnly))
	case q.Pairs < 0:
		return q, errors.New("report: the number of pairs must not be negative")
	case q.MinSupport < 0 || q.MinSupport > 1:
		return q, fmt.Errorf("report: minimum support is a share from 0 to 1, got %g", q.MinSupport)
	}
	return q, nil
}

// Period is the span a figure covers, [From, To). A figure taken at one
// moment (a balance, the tier mix) has no From: it is "as of To".
type Period struct {
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to"`
}

// AsOf reports whether the period is a moment rather than a span.
func (p Period) AsOf() bool { return p.From.IsZero() }

// String describes the period: "2025-06-01 to 2026-05-31 (365 days)", or
// "as of 2026-06-01 12:00 UTC". A period ending at midnight names its last
// whole day.
func (p Period) String() string {
	if p.AsOf() {
		return "as of " + p.To.UTC().Format("2006-01-02 15:04 MST")
	}
	last := p.To
	if last.Equal(last.Truncate(24 * time.Hour)) {
		last = last.Add(-time.Nanosecond)
	}
	days := int(math.Round(p.To.Sub(p.From).Hours() / 24))
	return fmt.Sprintf("%s to %s (%d days)", p.From.UTC().Format(time.DateOnly), last.UTC().Format(time.DateOnly), days)
}

// Unit says how to read a figure's value.
type Unit string

// Units.
const (
	// UnitCount: a number of things (members, orders, rewards).
	UnitCount Unit = "count"
	// UnitPoints: loyalty points; Money is their value at the point value.
	UnitPoints Unit = "points"
	// UnitMoney: an amount; Value is in major units, Money exact.
	UnitMoney Unit = "money"
	// UnitRatio: a share or a change, as a fraction (0.25 is 25 %).
	UnitRatio Unit = "ratio"
	// UnitNumber: a plain number (orders per buyer, ROI).
	UnitNumber Unit = "number"
)

// Figure is one number of a report, with what it means and the period it
// covers, so that every place that shows it (the command line, JSON, the
// dashboard) can say what it is.
type Figure struct {
	// Key names the figure in JSON and comparisons ("points_issued").
	Key string `json:"key"`
	// Label names it for people ("Points issued").
	Label string `json:"label"`
	// Unit says how to read Value.
	Unit Unit `json:"unit"`
	// Value is the figure: whole for counts and points, major units for
	// money, a fraction for ratios. It is 0 when NA is set.
	Value float64 `json:"value"`
	// Money is the exact amount of a money figure, and the value of a
	// points figure at the program's point value.
	Money commerce.Money `json:"money,omitzero"`
	// NA says why the figure has no value ("no holdout group"); empty
	// when it has one.
	NA string `json:"na,omitempty"`
	// Definition says in one line how the figure is computed.
	Definition string `json:"definition"`
	// Period is what the figure covers.
	Period Period `json:"period"`
}

// Comparison sets a figure of the members beside the same figure of the
// holdout (control) group, and the lift: members ÷ holdout − 1.
type Comparison struct {
	Key     string `json:"key"`
	Label   string `json:"label"`
	Member  Figure `json:"member"`
	Holdout Figure `json:"holdout"`
	Lift    Figure `json:"lift"`
}

// Table is a list of rows with the definition and period they share.
type Table[Row any] struct {
	Definition string `json:"definition"`
	Period     Period `json:"period"`
	Rows       []Row  `json:"rows"`
}

// TierRow is the members of one tier.
type TierRow struct {
	// Tier is the tier's name; "" for members without a tier.
	Tier    string  `json:"tier"`
	Members int     `json:"members"`
	Share   float64 `json:"share"`
}

// SegmentRow is one segment of buyers (an ABC class, or an RFM cell).
type SegmentRow struct {
	// Segment is "a", "b", "c", or an RFM cell "5-4-3" (recency,
	// frequency, monetary scores from 1 to 5).
	Segment string `json:"segment"`
	// Customers counts the segment's buyers and CustomerShare their share
	// of all buyers.
	Customers     int     `json:"customers"`
	CustomerShare float64 `json:"customer_share"`
	// Revenue is their eligible spend and RevenueShare its share of all.
	Revenue      commerce.Money `json:"revenue"`
	RevenueShare float64        `json:"revenue_share"`
}

// Product is a product as the co-purchase table names it.
type Product struct {
	// Key identifies it: the product id, else the SKU, else the title.
	Key   string `json:"key"`
	Title string `json:"title,omitempty"`
	// Orders counts the orders it is in.
	Orders int `json:"orders"`
}

// Pair is two products bought together in one order.
type Pair struct {
	A Product `json:"a"`
	B Product `json:"b"`
	// Orders counts the orders with both.
	Orders int `json:"orders"`
	// Support is Orders ÷ all orders with products.
	Support float64 `json:"support"`
	// ConfidenceAB is the share of the orders with A that also have B;
	// ConfidenceBA the other way round.
	ConfidenceAB float64 `json:"confidence_ab"`
	ConfidenceBA float64 `json:"confidence_ba"`
	// Lift is Support ÷ (support of A × support of B): above 1, the two
	// are bought together more often than chance.
	Lift float64 `json:"lift"`
}

// PairTable is the co-purchase table.
type PairTable struct {
	Table[Pair]
	// Orders counts the orders with products (the support's denominator).
	Orders int `json:"orders"`
	// MinSupport is the smallest support listed.
	MinSupport float64 `json:"min_support"`
}

// GoalRow is one goal and the progress toward it.
type GoalRow struct {
	// Key is the goal's key in the program's goals: block.
	Key    string  `json:"key"`
	Label  string  `json:"label"`
	Unit   Unit    `json:"unit"`
	Target float64 `json:"target"`
	// Actual is the figure the goal is measured by (its key is Figure).
	Actual float64 `json:"actual"`
	Figure string  `json:"figure"`
	// Progress is Actual ÷ Target (1 is the goal reached); 0 with NA set
	// when the figure has no value.
	Progress float64 `json:"progress"`
	Met      bool    `json:"met"`
	NA       string  `json:"na,omitempty"`
}

// BudgetMonth is the auto-redeem budget use of one month.
type BudgetMonth struct {
	// Month is "2026-03" in the program's time zone; Period is the part
	// of it inside the report's period.
	Month  string `json:"month"`
	Period Period `json:"period"`
	// Rewards counts the rewards issued automatically, Used their value.
	Rewards int            `json:"rewards"`
	Used    commerce.Money `json:"used"`
	// Budget is the monthly budget and Share is Used ÷ Budget; NA when
	// there is no budget.
	Budget commerce.Money `json:"budget,omitzero"`
	Share  float64        `json:"share"`
	NA     string         `json:"na,omitempty"`
}

// Report is how the program is doing in a store over a period: who takes
// part, the points and what they are worth, the members against the
// holdout group, what the rewards cost and return, the tiers and
// segments, the products bought together, the goals and the budget.
type Report struct {
	Store    string `json:"store"`
	Currency string `json:"currency"`
	// Program is the version of the program's rules.
	Program string `json:"program"`
	// PointValue and MarginPercent are the settings the money figures use.
	PointValue    float64 `json:"point_value,omitempty"`
	MarginPercent float64 `json:"margin_percent,omitempty"`
	// Period is the report's period; GeneratedAt when it was computed.
	Period      Period    `json:"period"`
	GeneratedAt time.Time `json:"generated_at"`
	// Figures are the report's single numbers, in the order shown.
	Figures []Figure `json:"figures"`
	// Comparison is the members against the holdout group.
	Comparison []Comparison `json:"comparison"`
	// Tiers is the tier mix of the members.
	Tiers Table[TierRow] `json:"tiers"`
	// ABC and RFM are the buyers' segments.
	ABC Table[SegmentRow] `json:"abc"`
	RFM Table[SegmentRow] `json:"rfm"`
	// Pairs are products bought together.
	Pairs PairTable `json:"pairs"`
	// Goals are the program's goals and their progress.
	Goals Table[GoalRow] `json:"goals"`
	// Budget is the auto-redeem budget use by month.
	Budget Table[BudgetMonth] `json:"budget"`
}

// Figure returns the figure with the key among the report's figures and
// the sides of its comparisons ("member.purchase_frequency",
// "holdout.…", "lift.…").
func (r *Report) Figure(key string) (Figure, bool) {
	for _, f := range r.AllFigures() {
		if f.Key == key {
			return f, true
		}
	}
	return Figure{}, false
}

// AllFigures returns the figures and the three figures of every
// comparison, in the order shown.
func (r *Report) AllFigures() []Figure {
	out := append([]Figure(nil), r.Figures...)
	for _, c := range r.Comparison {
		out = append(out, c.Member, c.Holdout, c.Lift)
	}
	return out
}

// TierMove is a customer whose tier at the end of the replay differs
// between the current program and the candidate.
type TierMove struct {
	CustomerID string `json:"customer_id"`
	// Current and Candidate are the tiers; "" for none.
	Current   string `json:"current"`
	Candidate string `json:"candidate"`
}

// TierFlow counts the customers that move from one tier to another.
type TierFlow struct {
	Current   string `json:"current"`
	Candidate string `json:"candidate"`
	Customers int    `json:"customers"`
}

// ReplayStats says what a simulation replayed.
type ReplayStats struct {
	Customers int `json:"customers"`
	Orders    int `json:"orders"`
	// Versions counts the order versions applied: an order placed, then
	// refunded, is two.
	Versions int `json:"versions"`
	// Batches counts the transactions the engine applied them in, and
	// Days the engine's passes run (the first sync's, then one a day).
	Batches int `json:"batches"`
	Days    int `json:"days"`
}

// Simulation is the same report for the stored order history replayed
// under the current program and under a candidate, side by side, with
// the customers who would be in another tier.
type Simulation struct {
	Store string `json:"store"`
	// CandidateFile names the candidate program, as given.
	CandidateFile string `json:"candidate_file,omitempty"`
	// Launch is when both replays start to credit orders (each program's
	// launch unless one was imposed).
	Launch time.Time `json:"launch"`
	// Period is the reports' period; the replays run up to its end.
	Period    Period      `json:"period"`
	Replayed  ReplayStats `json:"replayed"`
	Current   *Report     `json:"current"`
	Candidate *Report     `json:"candidate"`
	// TierMoves are the customers whose tier differs, by customer id;
	// TierFlows count them by pair of tiers.
	TierMoves []TierMove `json:"tier_moves"`
	TierFlows []TierFlow `json:"tier_flows"`
}

// Moves compares the members' tiers of two replays (customer id → tier,
// members only) and returns the customers who are members in both and
// whose tier differs, sorted by id, and the flows between tiers, largest
// first. A customer who is a member in one replay only (another holdout
// share, an invitation) shows in the member counts, not here.
func Moves(current, candidate map[string]string) ([]TierMove, []TierFlow) {
	moves := []TierMove{}
	flows := map[[2]string]int{}
	for id, a := range current {
		if b, ok := candidate[id]; ok && a != b {
			moves = append(moves, TierMove{CustomerID: id, Current: a, Candidate: b})
			flows[[2]string{a, b}]++
		}
	}
	sortBy(moves, func(a, b TierMove) bool { return a.CustomerID < b.CustomerID })
	out := []TierFlow{}
	for k, n := range flows {
		out = append(out, TierFlow{Current: k[0], Candidate: k[1], Customers: n})
	}
	sortBy(out, func(a, b TierFlow) bool {
		if a.Customers != b.Customers {
			return a.Customers > b.Customers
		}
		if a.Current != b.Current {
			return a.Current < b.Current
		}
		return a.Candidate < b.Candidate
	})
	return moves, out
}
