package loyalty

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"sort"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Cohort says where a customer stands in the program.
type Cohort string

// Cohorts.
const (
	// CohortMember: enrolled; earns and is tagged.
	CohortMember Cohort = "member"
	// CohortHoldout: in the control group; never enrolled or tagged.
	CohortHoldout Cohort = "holdout"
	// CohortNotInvited: the program is invite-only and the customer lacks
	// the invite tag.
	CohortNotInvited Cohort = "not_invited"
)

// Cohort places a customer: the holdout group first (a stable share chosen
// by a hash of the store and customer ids, so that a customer never moves
// in or out of it), then the invitation when enrollment is by invite.
func (p *Program) Cohort(storeID string, c *commerce.Customer) Cohort {
	if p.InHoldout(storeID, c.ID) {
		return CohortHoldout
	}
	if p.Enrollment == EnrollInvite && !c.HasTag(p.InviteTag) {
		return CohortNotInvited
	}
	return CohortMember
}

// InHoldout reports whether a customer falls in the holdout group.
func (p *Program) InHoldout(storeID, customerID string) bool {
	if p.HoldoutPercent.Sign() <= 0 {
		return false
	}
	sum := sha256.Sum256([]byte("holdout\x00" + storeID + "\x00" + customerID))
	bucket := binary.BigEndian.Uint64(sum[:8]) % 1_000_000 // millionths
	return int64(bucket) < p.HoldoutPercent.micro/100
}

// CountsFrom returns the earliest processing time at which a member's
// orders earn: the launch (or, for a member who joined later by
// invitation, the enrollment), less BackdateDays.
func (p *Program) CountsFrom(launch, enrolledAt time.Time) time.Time {
	from := launch
	if p.Enrollment == EnrollInvite && enrolledAt.After(from) {
		from = enrolledAt
	}
	return from.AddDate(0, 0, -p.BackdateDays)
}

// Standing is what the engine needs to know about a customer when one of
// their orders is first credited.
type Standing struct {
	// Member says whether the customer is enrolled.
	Member bool
	// CountsFrom is the earliest processing time that earns (CountsFrom).
	CountsFrom time.Time
	// Tier is the tier the customer holds before this order.
	Tier string
}

// Snapshot is the part of the program an order is credited under, frozen
// when the order is first credited. Later refunds and cancellations of the
// order are computed with it, not with whatever the program says by then.
type Snapshot struct {
	// Program is the Version of the program the snapshot was taken from.
	Program string `json:"program"`
	// PointsPerUnit is the earn rate.
	PointsPerUnit Decimal `json:"points_per_unit"`
	// Multipliers are the line multipliers in force.
	Multipliers []Multiplier `json:"multipliers,omitempty"`
	// Tier and TierFactor are the tier held before the order and its factor.
	Tier       string  `json:"tier,omitempty"`
	TierFactor Decimal `json:"tier_factor"`
	// Campaign and CampaignFactor are the campaign the order fell in.
	Campaign       string  `json:"campaign,omitempty"`
	CampaignFactor Decimal `json:"campaign_factor"`
	// Bonus is the first-order bonus of the program at the time.
	Bonus int64 `json:"bonus,omitempty"`
	// PendingDays is how long the order's points stay pending.
	PendingDays int `json:"pending_days"`
}

// Snapshot freezes the rules for an order being credited for the first
// time. It reports false when the order does not earn at all for this
// customer (not a member, or processed before the program counts).
func (p *Program) Snapshot(o *commerce.Order, s Standing) (Snapshot, bool) {
	if !s.Member || o.ProcessedTime().Before(s.CountsFrom) {
		return Snapshot{}, false
	}
	snap := Snapshot{
		Program:        p.Version(),
		PointsPerUnit:  p.Earn.PointsPerUnit,
		Multipliers:    p.Earn.Multipliers,
		TierFactor:     One,
		CampaignFactor: One,
		Bonus:          p.Earn.FirstOrderBonus,
		PendingDays:    p.Earn.PendingDays,
	}
	if l := p.Level(s.Tier); l != nil {
		snap.Tier, snap.TierFactor = l.Name, l.EarnFactor
	}
	at := o.ProcessedTime()
	for _, c := range p.Earn.Campaigns {
		if at.Before(c.From.Start(p.Location())) || !at.Before(c.To.End(p.Location())) {
			continue
		}
		if len(c.Tiers) > 0 && !contains(c.Tiers, s.Tier) {
			continue
		}
		if c.Factor.Cmp(snap.CampaignFactor) > 0 {
			snap.Campaign, snap.CampaignFactor = c.Name, c.Factor
		}
	}
	return snap, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Entitlement is what an order is worth now, under its snapshot.
type Entitlement struct {
	// Eligible is the merchandise amount that earns points.
	Eligible commerce.Money
	// Earn is the points the eligible amount earns.
	Earn int64
	// AvailableAt is when the order's points stop being pending.
	AvailableAt time.Time

	// currency is the program's, which Reason computes again with.
	currency string
}

// lineGroup is the eligible amount of the lines that share a multiplier
// (multiplier is its index in the snapshot, -1 for none).
type lineGroup struct {
	factor     Decimal
	multiplier int
	amount     commerce.Money
}

// Entitle computes what an order is worth under its snapshot: floor(Σ over
// lines of eligible × points per unit × line factor, × tier factor ×
// campaign factor). It is a pure function of the order's current state and
// the snapshot, so computing it again for the same information gives the
// same answer. Reason explains the result; it is built only when asked,
// since most re-evaluations (duplicates, polls) change nothing.
func Entitle(o *commerce.Order, snap Snapshot, programCurrency string) Entitlement {
	ent := Entitlement{AvailableAt: o.ProcessedTime().AddDate(0, 0, snap.PendingDays), currency: programCurrency}
	var buf [8]commerce.Money
	lines := buf[:]
	if len(o.Lines) > len(buf) {
		lines = make([]commerce.Money, len(o.Lines))
	}
	lines = lines[:len(o.Lines)]
	elig := eligibleInto(o, programCurrency, lines)
	ent.Eligible = elig.Amount
	if elig.Why != "" {
		return ent
	}
	var gbuf [4]lineGroup
	groups := group(o, lines, snap, gbuf[:0])
	exp, _ := commerce.Exponent(o.Currency)
	var sum points128
	for _, g := range groups {
		sum.addProduct(uint64(g.amount.Minor), snap.PointsPerUnit, g.factor)
	}
	ent.Earn = sum.floor(pow10(exp), snap.TierFactor.Or(One), snap.CampaignFactor.Or(One))
	return ent
}

// group sums the eligible amounts of lines that share a multiplier.
func group(o *commerce.Order, lines []commerce.Money, snap Snapshot, groups []lineGroup) []lineGroup {
	for i, amount := range lines {
		if amount.Sign() <= 0 {
			continue
		}
		f, m := lineFactor(&o.Lines[i], snap.Multipliers)
		found := false
		for g := range groups {
			if groups[g].multiplier == m {
				groups[g].amount = groups[g].amount.Add(amount)
				found = true
				break
			}
		}
		if !found {
			groups = append(groups, lineGroup{factor: f, multiplier: m, amount: amount})
		}
	}
	return groups
}

// Reason explains the entitlement of order o under snap in words, with its
// arithmetic: "Order #1042: 84.50 USD × 1 pt × 1.5 (gold) = 126 pts".
func (ent Entitlement) Reason(o *commerce.Order, snap Snapshot) string {
	label := OrderLabel(o)
	elig := Eligible(o, ent.currency)
	if elig.Why != "" {
		return label + ": " + elig.Why + ": 0 pts"
	}
	groups := group(o, elig.Lines, snap, nil)
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].factor.Cmp(groups[j].factor) > 0 })
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", label)
	if !elig.Refunded.IsZero() {
		fmt.Fprintf(&b, "%s − %s refunded = ", elig.Gross, elig.Refunded.Decimal())
	}
	if len(groups) > 1 || len(groups) == 1 && groups[0].multiplier >= 0 {
		b.WriteString("(")
		for i, g := range groups {
			if i > 0 {
				b.WriteString(" + ")
			}
			b.WriteString(g.amount.String())
			if g.multiplier >= 0 {
				fmt.Fprintf(&b, " × %s (%s)", g.factor, snap.Multipliers[g.multiplier].Label())
			}
		}
		b.WriteString(")")
	} else {
		b.WriteString(elig.Amount.String())
	}
	fmt.Fprintf(&b, " × %s pt", snap.PointsPerUnit)
	if snap.Tier != "" && snap.TierFactor.Cmp(One) != 0 {
		fmt.Fprintf(&b, " × %s (%s)", snap.TierFactor, snap.Tier)
	}
	if snap.Campaign != "" {
		fmt.Fprintf(&b, " × %s (%s)", snap.CampaignFactor, snap.Campaign)
	}
	fmt.Fprintf(&b, " = %d pts", ent.Earn)
	return b.String()
}

// lineFactor returns the highest factor among the multipliers matching
// the line, and the multiplier's index; 1 and -1 when none matches.
func lineFactor(l *commerce.LineItem, ms []Multiplier) (Decimal, int) {
	best, which := One, -1
	for i, m := range ms {
		if m.Matches(l) && (which < 0 || m.Factor.Cmp(best) > 0) {
			best, which = m.Factor, i
		}
	}
	return best, which
}

// OrderLabel names an order in explanations: "Order #1042".
func OrderLabel(o *commerce.Order) string {
	if o.Number != "" {
		if strings.HasPrefix(o.Number, "#") {
			return "Order " + o.Number
		}
		return "Order #" + o.Number
	}
	return "Order " + o.ID
}

func pow10(n int) uint64 {
	v := uint64(1)
	for range n {
		v *= 10
	}
	return v
}

// points128 accumulates Σ amount × rate × factor exactly in 128 bits,
// falling back to math/big if a sum ever outgrows them.
type points128 struct {
	hi, lo uint64
	big    *big.Int
}

func (s *points128) addProduct(amount uint64, rate, factor Decimal) {
	if rate.micro <= 0 || factor.micro <= 0 {
		return
	}
	if s.big == nil {
		// amount × rate fits in 128 bits; × factor may not.
		h1, l1 := bits.Mul64(amount, uint64(rate.micro))
		h2, l2 := bits.Mul64(l1, uint64(factor.micro))
		c1, c0 := bits.Mul64(h1, uint64(factor.micro))
		var carry uint64
		h2, carry = bits.Add64(h2, c0, 0)
		if c1 == 0 && carry == 0 {
			lo, c := bits.Add64(s.lo, l2, 0)
			hi, c2 := bits.Add64(s.hi, h2, c)
			if c2 == 0 {
				s.hi, s.lo = hi, lo
				return
			}
		}
		s.big = new(big.Int).Lsh(new(big.Int).SetUint64(s.hi), 64)
		s.big.Or(s.big, new(big.Int).SetUint64(s.lo))
	}
	t := new(big.Int).SetUint64(amount)
	t.Mul(t, big.NewInt(rate.micro))
	t.Mul(t, big.NewInt(factor.micro))
	s.big.Add(s.big, t)
}

// floor returns floor(sum × tier × campaign ÷ (div × scale⁴)), saturated
// at math.MaxInt64.
func (s *points128) floor(div uint64, tier, campaign Decimal) int64 {
	if tier.micro <= 0 || campaign.micro <= 0 {
		return 0
	}
	if s.big == nil {
		if tier.micro == decimalScale && campaign.micro == decimalScale {
			// Both factors are 1: the common case, without math/big.
			hi, lo := s.hi, s.lo
			for _, d := range []uint64{div, decimalScale, decimalScale} {
				hi, lo = div128(hi, lo, d)
			}
			if hi != 0 || lo > math.MaxInt64 {
				return math.MaxInt64
			}
			return int64(lo)
		}
		s.big = new(big.Int).Lsh(new(big.Int).SetUint64(s.hi), 64)
		s.big.Or(s.big, new(big.Int).SetUint64(s.lo))
	}
	n := new(big.Int).Mul(s.big, big.NewInt(tier.micro))
	n.Mul(n, big.NewInt(campaign.micro))
	d := new(big.Int).SetUint64(div)
	for range 4 {
		d.Mul(d, big.NewInt(decimalScale))
	}
	n.Quo(n, d)
	if !n.IsInt64() {
		return math.MaxInt64
	}
	return n.Int64()
}

// Bonus is the first-order bonus a customer is entitled to: the bonus
// frozen with their earliest counting order, as long as one of their
// credited orders still counts. It is a function of the set of orders, not
// of the order they arrived in.
type Bonus struct {
	Points  int64
	OrderID string
	Reason  string
}

// CreditedOrder is an order with its frozen snapshot, as the bonus and
// the reports need it.
type CreditedOrder struct {
	Order    *commerce.Order
	Snapshot Snapshot
}

// FirstOrderBonus computes the bonus from a customer's credited orders.
// When no order counts any more, the bonus is zero and OrderID names the
// earliest credited order, whose loss withdrew it.
func FirstOrderBonus(orders []CreditedOrder, programCurrency string) Bonus {
	earlier := func(a, b *CreditedOrder) bool {
		return b == nil || a.Order.ProcessedTime().Before(b.Order.ProcessedTime()) ||
			a.Order.ProcessedTime().Equal(b.Order.ProcessedTime()) && a.Order.ID < b.Order.ID
	}
	var first, earliest *CreditedOrder
	for i := range orders {
		co := &orders[i]
		if earlier(co, earliest) {
			earliest = co
		}
		if Eligible(co.Order, programCurrency).Amount.Sign() > 0 && earlier(co, first) {
			first = co
		}
	}
	if first == nil {
		if earliest == nil {
			return Bonus{Reason: "no credited order: 0 pts"}
		}
		return Bonus{OrderID: earliest.Order.ID,
			Reason: OrderLabel(earliest.Order) + ": no longer counts, and no other order does: first-order bonus withdrawn: 0 pts"}
	}
	if first.Snapshot.Bonus <= 0 {
		return Bonus{OrderID: first.Order.ID, Reason: OrderLabel(first.Order) + ": no first-order bonus in the program: 0 pts"}
	}
	return Bonus{
		Points:  first.Snapshot.Bonus,
		OrderID: first.Order.ID,
		Reason:  fmt.Sprintf("%s: first-order bonus = %d pts", OrderLabel(first.Order), first.Snapshot.Bonus),
	}
}

// DeltaKind names the ledger entry that moves an order's stream by delta
// points: more points are earnings, fewer are a refund adjustment, or a
// cancellation adjustment when the order stopped counting altogether.
func DeltaKind(o *commerce.Order, delta int64) commerce.EntryKind {
	switch {
	case delta > 0:
		return commerce.KindEarn
	case o.Cancelled() || o.Test || !o.State.Paid() || o.State == commerce.StateVoided:
		return commerce.KindAdjustCancel
	}
	return commerce.KindAdjustRefund
}
