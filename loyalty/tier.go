package loyalty

import (
	"fmt"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Qualification is what a member has done in the tier window.
type Qualification struct {
	// Spend is the eligible spend of the member's orders processed in the
	// window, net of refunds.
	Spend commerce.Money `json:"spend"`
	// Orders counts the orders in the window that still earn.
	Orders int `json:"orders"`
	// Referrals counts the referrals rewarded in the window.
	Referrals int `json:"referrals"`
	// TenureDays is the number of whole days since enrollment.
	TenureDays int `json:"tenure_days"`
}

// OrderFact is what qualification needs of an order.
type OrderFact struct {
	ProcessedAt time.Time
	Eligible    commerce.Money
}

// Qualify counts a member's qualifying values at now: orders and rewarded
// referrals within the window (or lifetime), and tenure since enrollment.
func (p *Program) Qualify(orders []OrderFact, referrals []time.Time, enrolledAt, now time.Time) Qualification {
	q := Qualification{Spend: commerce.Money{Currency: p.Currency}}
	from := time.Time{}
	if !p.Tiers.Lifetime {
		from = now.AddDate(0, 0, -p.Tiers.WindowDays)
	}
	for _, o := range orders {
		if o.Eligible.Sign() <= 0 || o.ProcessedAt.Before(from) || o.ProcessedAt.After(now) {
			continue
		}
		q.Spend = q.Spend.Add(o.Eligible)
		q.Orders++
	}
	for _, at := range referrals {
		if !at.Before(from) && !at.After(now) {
			q.Referrals++
		}
	}
	if !enrolledAt.IsZero() && now.After(enrolledAt) {
		q.TenureDays = int(now.Sub(enrolledAt) / (24 * time.Hour))
	}
	return q
}

// meets reports whether a qualification meets a level's criteria.
func (l *Level) meets(q Qualification) bool {
	return (!l.MinSpend.Set() || q.Spend.Minor >= l.MinSpend.money.Minor) &&
		q.Orders >= l.MinOrders && q.Referrals >= l.MinReferrals && q.TenureDays >= l.MinTenureDays
}

// QualifiedTier returns the highest level whose criteria are all met, or
// "" for none.
func (p *Program) QualifiedTier(q Qualification) string {
	name := ""
	for i := range p.Tiers.Levels {
		if p.Tiers.Levels[i].meets(q) {
			name = p.Tiers.Levels[i].Name
		}
	}
	return name
}

// tierRank returns the position of a tier, -1 for none or unknown.
func (p *Program) tierRank(name string) int {
	for i, l := range p.Tiers.Levels {
		if l.Name == name {
			return i
		}
	}
	return -1
}

// TierState is a member's tier and what grace they are in.
type TierState struct {
	// Tier is the tier held; "" for none.
	Tier string `json:"tier"`
	// Since is when the member entered the tier.
	Since time.Time `json:"since,omitzero"`
	// Below is when the member stopped qualifying for Tier; the tier is
	// kept until Below + grace_days. Zero while they qualify.
	Below time.Time `json:"below,omitzero"`
}

// NextTierState moves a member's tier for their qualification at now: up
// at once; down only after grace_days without qualifying (then to the
// level they qualify for).
func (p *Program) NextTierState(cur TierState, q Qualification, now time.Time) TierState {
	want := p.QualifiedTier(q)
	wr, cr := p.tierRank(want), p.tierRank(cur.Tier)
	switch {
	case cr < 0 && cur.Tier != "":
		// The tier no longer exists in the program.
		return TierState{Tier: want, Since: now}
	case wr > cr:
		return TierState{Tier: want, Since: now}
	case wr == cr:
		cur.Below = time.Time{}
		return cur
	}
	if cur.Below.IsZero() {
		cur.Below = now
	}
	if now.Before(cur.Below.AddDate(0, 0, p.Tiers.GraceDays)) {
		return cur
	}
	return TierState{Tier: want, Since: now}
}

// Progress is how far a member is from the next tier.
type Progress struct {
	// Next is the next tier's name; "" at the top.
	Next string `json:"next,omitempty"`
	// Missing says what is missing in each criterion not yet met.
	MissingSpend     commerce.Money `json:"missing_spend,omitzero"`
	MissingOrders    int            `json:"missing_orders,omitempty"`
	MissingReferrals int            `json:"missing_referrals,omitempty"`
	MissingDays      int            `json:"missing_days,omitempty"`
	// SpendPercent is the share of the next tier's min_spend reached.
	SpendPercent int `json:"spend_percent,omitempty"`
	// Near is set when the spend reached near_percent of the next level.
	Near bool `json:"near"`
}

// Progress describes what is missing for the tier above the current one.
func (p *Program) Progress(tier string, q Qualification) Progress {
	rank := p.tierRank(tier)
	if rank+1 >= len(p.Tiers.Levels) {
		return Progress{}
	}
	next := &p.Tiers.Levels[rank+1]
	pr := Progress{Next: next.Name}
	if next.MinSpend.Set() {
		need := next.MinSpend.money
		if q.Spend.Minor < need.Minor {
			pr.MissingSpend = need.Sub(q.Spend)
		}
		if need.Minor > 0 {
			pr.SpendPercent = int(min(q.Spend.Minor*100/need.Minor, 100))
			pr.Near = pr.SpendPercent >= p.Tiers.NearPercent && pr.SpendPercent < 100
		}
	}
	pr.MissingOrders = max(next.MinOrders-q.Orders, 0)
	pr.MissingReferrals = max(next.MinReferrals-q.Referrals, 0)
	pr.MissingDays = max(next.MinTenureDays-q.TenureDays, 0)
	return pr
}

// String says in words what is missing: "120.00 USD and 2 orders to gold".
func (pr Progress) String() string {
	if pr.Next == "" {
		return ""
	}
	var parts []string
	if pr.MissingSpend.Sign() > 0 {
		parts = append(parts, pr.MissingSpend.String())
	}
	if pr.MissingOrders > 0 {
		parts = append(parts, plural(pr.MissingOrders, "order"))
	}
	if pr.MissingReferrals > 0 {
		parts = append(parts, plural(pr.MissingReferrals, "referral"))
	}
	if pr.MissingDays > 0 {
		parts = append(parts, plural(pr.MissingDays, "day")+" of membership")
	}
	if len(parts) == 0 {
		return "qualifies for " + pr.Next
	}
	return strings.Join(parts, " and ") + " to " + pr.Next
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
