package loyalty_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
)

func tiered(t *testing.T) *loyalty.Program {
	t.Helper()
	p := &loyalty.Program{Currency: "USD", Tiers: loyalty.Tiers{WindowDays: 30, GraceDays: 10, Levels: []loyalty.Level{
		{Name: "silver", MinSpend: amount(t, "100")},
		{Name: "gold", MinSpend: amount(t, "500"), MinOrders: 3, EarnFactor: loyalty.MustDecimal("1.5")},
	}}}
	p.SetDefaults()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

func amount(t *testing.T, s string) loyalty.Amount {
	t.Helper()
	var a loyalty.Amount
	if err := a.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestExplanationNamesEveryFactor(t *testing.T) {
	t.Parallel()
	o := paidOrder(line("a", "60.00", ""), line("b", "24.50", ""))
	o.Lines[0].SKU = "NW-1"
	snap := loyalty.Snapshot{PointsPerUnit: loyalty.One, TierFactor: loyalty.MustDecimal("1.5"), Tier: "gold",
		CampaignFactor: loyalty.MustDecimal("2"), Campaign: "double-days",
		Multipliers: []loyalty.Multiplier{{SKUPrefix: "NW-", Factor: loyalty.MustDecimal("2")}}}
	ent := loyalty.Entitle(&o, snap, "USD")
	// (60.00 × 2 + 24.50) × 1 × 1.5 × 2 = 433.5 → 433
	if ent.Earn != 433 {
		t.Errorf("earn = %d, want 433", ent.Earn)
	}
	want := "Order #1042: (60.00 USD × 2 (SKU NW-) + 24.50 USD) × 1 pt × 1.5 (gold) × 2 (double-days) = 433 pts"
	if ent.Reason(&o, snap) != want {
		t.Errorf("reason\n got %q\nwant %q", ent.Reason(&o, snap), want)
	}
	snap = loyalty.Snapshot{PointsPerUnit: loyalty.One, TierFactor: loyalty.MustDecimal("1.5"), Tier: "gold", CampaignFactor: loyalty.One}
	if got := loyalty.Entitle(&o, snap, "USD").Reason(&o, snap); got != "Order #1042: 84.50 USD × 1 pt × 1.5 (gold) = 126 pts" {
		t.Errorf("reason %q", got)
	}
}

func TestHighestMultiplierWins(t *testing.T) {
	t.Parallel()
	l := commerce.LineItem{ID: "a", SKU: "NW-LTD-1", Vendor: "Northwind", Quantity: 1, Subtotal: usd("10.00")}
	o := paidOrder(l)
	snap := loyalty.Snapshot{PointsPerUnit: loyalty.One, TierFactor: loyalty.One, CampaignFactor: loyalty.One, Multipliers: []loyalty.Multiplier{
		{SKUPrefix: "NW-", Factor: loyalty.MustDecimal("2")},
		{Vendor: "northwind", Factor: loyalty.MustDecimal("3")},
		{SKUPrefix: "NW-LTD", Factor: loyalty.MustDecimal("0.5")},
	}}
	if got := loyalty.Entitle(&o, snap, "USD").Earn; got != 30 {
		t.Errorf("earn = %d, want 30 (vendor factor 3 is the highest match)", got)
	}
}

func TestFirstOrderBonusIndependentOfArrival(t *testing.T) {
	t.Parallel()
	mk := func(id string, at time.Time, cancelled bool) loyalty.CreditedOrder {
		o := paidOrder(line("a", "10.00", ""))
		o.ID, o.Number, o.ProcessedAt = id, id, at
		if cancelled {
			o.CancelledAt = at.Add(time.Hour)
		}
		return loyalty.CreditedOrder{Order: &o, Snapshot: loyalty.Snapshot{Bonus: 50}}
	}
	a, b := mk("1", day0, false), mk("2", day0.Add(24*time.Hour), false)
	for _, list := range [][]loyalty.CreditedOrder{{a, b}, {b, a}} {
		if got := loyalty.FirstOrderBonus(list, "USD"); got.Points != 50 || got.OrderID != "1" {
			t.Errorf("bonus = %+v, want 50 on order 1", got)
		}
	}
	// The first order is cancelled: the bonus moves to the next one.
	if got := loyalty.FirstOrderBonus([]loyalty.CreditedOrder{mk("1", day0, true), b}, "USD"); got.Points != 50 || got.OrderID != "2" {
		t.Errorf("bonus = %+v, want 50 on order 2", got)
	}
	// None counts: withdrawn, naming the earliest order.
	if got := loyalty.FirstOrderBonus([]loyalty.CreditedOrder{mk("1", day0, true)}, "USD"); got.Points != 0 || got.OrderID != "1" || !strings.Contains(got.Reason, "withdrawn") {
		t.Errorf("bonus = %+v, want withdrawn", got)
	}
}

func TestTierUpAtOnceDownAfterGrace(t *testing.T) {
	t.Parallel()
	p := tiered(t)
	q := func(spend string, orders int) loyalty.Qualification {
		return loyalty.Qualification{Spend: usd(spend), Orders: orders}
	}
	s := loyalty.TierState{}
	steps := []struct {
		day  int
		q    loyalty.Qualification
		want string
	}{
		{0, q("99.99", 1), ""},
		{1, q("100.00", 1), "silver"},
		{2, q("600.00", 2), "silver"}, // spend is there, orders are not
		{3, q("600.00", 3), "gold"},
		{4, q("450.00", 2), "gold"},    // below: grace starts
		{13, q("450.00", 2), "gold"},   // still in grace
		{14, q("450.00", 2), "silver"}, // grace of 10 days over
		{15, q("0.00", 0), "silver"},
		{25, q("0.00", 0), ""},
	}
	for _, st := range steps {
		s = p.NextTierState(s, st.q, day0.AddDate(0, 0, st.day))
		if s.Tier != st.want {
			t.Errorf("day %d, %s in %d orders: tier %q, want %q", st.day, st.q.Spend, st.q.Orders, s.Tier, st.want)
		}
	}
	// Back above during the grace period: the grace ends.
	s = loyalty.TierState{Tier: "gold", Below: day0}
	if s = p.NextTierState(s, q("600.00", 3), day0.AddDate(0, 0, 5)); s.Tier != "gold" || !s.Below.IsZero() {
		t.Errorf("requalified during grace: %+v", s)
	}
}

func TestQualifyCountsTheWindow(t *testing.T) {
	t.Parallel()
	p := tiered(t)
	now := day0.AddDate(0, 0, 40)
	facts := []loyalty.OrderFact{
		{ProcessedAt: day0, Eligible: usd("300.00")},                   // 40 days ago: outside
		{ProcessedAt: now.AddDate(0, 0, -30), Eligible: usd("100.00")}, // exactly at the edge: inside
		{ProcessedAt: now.AddDate(0, 0, -1), Eligible: usd("0.00")},    // refunded in full: not an order
		{ProcessedAt: now.AddDate(0, 0, -1), Eligible: usd("50.00")},
	}
	got := p.Qualify(facts, []time.Time{now.AddDate(0, 0, -2)}, day0.AddDate(0, 0, -5), now)
	want := loyalty.Qualification{Spend: usd("150.00"), Orders: 2, Referrals: 1, TenureDays: 45}
	if got != want {
		t.Errorf("Qualify = %+v, want %+v", got, want)
	}
	if pr := p.Progress("silver", got); pr.Next != "gold" || pr.MissingSpend != usd("350.00") || pr.MissingOrders != 1 ||
		pr.String() != "350.00 USD and 1 order to gold" {
		t.Errorf("Progress = %+v %q", pr, pr.String())
	}
	if pr := p.Progress("gold", got); pr.Next != "" || pr.String() != "" {
		t.Errorf("Progress at the top = %+v", pr)
	}
}

func TestValidateProgramMistakes(t *testing.T) {
	t.Parallel()
	base := func() *loyalty.Program {
		return &loyalty.Program{Currency: "USD", Rewards: []loyalty.Reward{{ID: "five-off", Points: 500, Type: "fixed_amount", Value: loyalty.MustDecimal("5")}}}
	}
	for _, tc := range []struct {
		name string
		edit func(p *loyalty.Program)
		path string
	}{
		{"unknown reward in auto_redeem", func(p *loyalty.Program) { p.AutoRedeem.Reward = "ten-off" }, "auto_redeem.reward"},
		{"levels out of order", func(p *loyalty.Program) {
			p.Tiers.Levels = []loyalty.Level{{Name: "gold", MinSpend: amount(t, "500")}, {Name: "silver", MinSpend: amount(t, "100")}}
		}, "tiers.levels[1]"},
		{"two levels asking the same", func(p *loyalty.Program) {
			p.Tiers.Levels = []loyalty.Level{{Name: "a", MinOrders: 2}, {Name: "b", MinOrders: 2}}
		}, "tiers.levels[1]"},
		{"earn factor zero", func(p *loyalty.Program) {
			p.Tiers.Levels = []loyalty.Level{{Name: "a", MinOrders: 2, EarnFactor: loyalty.MustDecimal("0")}}
		}, "tiers.levels[0].earn_factor"},
		{"multiplier factor negative", func(p *loyalty.Program) {
			p.Earn.Multipliers = []loyalty.Multiplier{{SKUPrefix: "X", Factor: loyalty.MustDecimal("-1")}}
		}, "earn.multipliers[0].factor"},
		{"campaign for an unknown tier", func(p *loyalty.Program) {
			p.Earn.Campaigns = []loyalty.Campaign{{Name: "c", From: loyalty.DateOf(2026, 1, 1), To: loyalty.DateOf(2026, 1, 2), Factor: loyalty.One, Tiers: []string{"vip"}}}
		}, "earn.campaigns[0].tiers[0]"},
		{"campaign ends before it starts", func(p *loyalty.Program) {
			p.Earn.Campaigns = []loyalty.Campaign{{Name: "c", From: loyalty.DateOf(2026, 1, 3), To: loyalty.DateOf(2026, 1, 2), Factor: loyalty.One}}
		}, "earn.campaigns[0].to"},
		{"too many decimals for the currency", func(p *loyalty.Program) { p.Rewards[0].MinOrder = amount(t, "4.999") }, "rewards[0].min_order"},
		{"percentage over 100", func(p *loyalty.Program) {
			p.Rewards[0].Type, p.Rewards[0].Value = "percentage", loyalty.MustDecimal("120")
		}, "rewards[0].value"},
		{"referrals without a friend reward", func(p *loyalty.Program) { p.Referrals.ReferrerPoints = 100 }, "referrals.friend_reward.type"},
		{"non-fixed reward in a budget without budget_value", func(p *loyalty.Program) {
			p.Rewards[0].Type, p.Rewards[0].Value = "free_shipping", loyalty.Decimal{}
			p.AutoRedeem = loyalty.AutoRedeem{Reward: "five-off", MonthlyBudget: amount(t, "100")}
		}, "auto_redeem.reward"},
		{"unknown time zone", func(p *loyalty.Program) { p.TimeZone = "Mars/Olympus" }, "timezone"},
		{"holdout over half", func(p *loyalty.Program) { p.HoldoutPercent = loyalty.MustDecimal("60") }, "holdout_percent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := base()
			tc.edit(p)
			p.SetDefaults()
			err := p.Validate()
			var fe loyalty.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("Validate = %v, want FieldErrors", err)
			}
			var paths []string
			for _, e := range fe {
				paths = append(paths, e.Path)
			}
			if !slices.Contains(paths, tc.path) {
				t.Errorf("errors at %v, want one at %s (%v)", paths, tc.path, err)
			}
		})
	}
	p := base()
	p.SetDefaults()
	if err := p.Validate(); err != nil {
		t.Errorf("the base program is valid, got %v", err)
	}
}

func TestSegments(t *testing.T) {
	t.Parallel()
	now := day0
	var buyers []loyalty.Buyer
	for i := range 10 {
		buyers = append(buyers, loyalty.Buyer{CustomerID: fmt.Sprintf("c%02d", i), Spend: usd(fmt.Sprintf("%d.00", (i+1)*100)),
			Orders: 1 + i/3, LastOrder: now.AddDate(0, 0, -i*10)})
	}
	buyers = append(buyers, loyalty.Buyer{CustomerID: "none", Spend: usd("0.00")})
	got := loyalty.Segments(buyers, now)
	if _, ok := got["none"]; ok {
		t.Error("a customer without spend was segmented")
	}
	count := map[string]int{}
	for _, s := range got {
		count[s.ABC]++
	}
	if count["a"] != 2 || count["b"] != 3 || count["c"] != 5 {
		t.Errorf("ABC counts %v, want a 2, b 3, c 5", count)
	}
	if s := got["c09"]; s.ABC != "a" || s.Monetary != 5 || s.Recency != 1 || s.Frequency != 5 {
		t.Errorf("top spender, least recent: %+v", s)
	}
	if s := got["c00"]; s.ABC != "c" || s.Monetary != 1 || s.Recency != 5 || s.Frequency != 1 {
		t.Errorf("lowest spender, most recent: %+v", s)
	}
	// Independent of the input order.
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(buyers), func(i, j int) { buyers[i], buyers[j] = buyers[j], buyers[i] })
	again := loyalty.Segments(buyers, now)
	for id, s := range got {
		if again[id] != s {
			t.Errorf("%s: %+v after shuffling, %+v before", id, again[id], s)
		}
	}
}

func TestJudgeReferral(t *testing.T) {
	t.Parallel()
	addr := &commerce.Address{Address1: "1 Harbor Road", Zip: "10001", Country: "US"}
	order := func(customer, email string, a *commerce.Address) *commerce.Order {
		return &commerce.Order{ID: "9", CustomerID: customer, Email: email, ShippingAddress: a}
	}
	claim := loyalty.ReferralClaim{ReferrerID: "ann", ReferrerEmail: "Ann@Example.com",
		ReferrerAddresses: []commerce.Address{{Address1: "1 harbor road.", Zip: "10001", Country: "us"}}}
	for _, tc := range []struct {
		name   string
		order  *commerce.Order
		before int
		reason string
	}{
		{"a genuine friend", order("ben", "ben@example.com", &commerce.Address{Address1: "9 Elm St", Zip: "10001", Country: "US"}), 0, ""},
		{"the owner", order("ann", "other@example.com", nil), 0, "code's owner"},
		{"the same e-mail folded", order("eve", "ann+x@example.COM", nil), 0, "same e-mail"},
		{"the same address written differently", order("cat", "cat@example.com", addr), 0, "same shipping address"},
		{"not a first order", order("dan", "dan@example.com", nil), 2, "first order"},
	} {
		c := claim
		c.Order, c.FriendEmail, c.FriendPaidOrdersBefore = tc.order, tc.order.Email, tc.before
		ok, reason := loyalty.JudgeReferral(c)
		if ok != (tc.reason == "") || !strings.Contains(reason, tc.reason) {
			t.Errorf("%s: ok %v %q, want reason containing %q", tc.name, ok, reason, tc.reason)
		}
	}
}

func TestTagsAndFields(t *testing.T) {
	t.Parallel()
	p := tiered(t)
	p.Rewards = []loyalty.Reward{{ID: "r", Points: 100, Type: "free_shipping"}}
	p.Expiry = loyalty.Expiry{InactiveDays: 60, WarnDays: 5}
	s := loyalty.MemberState{Cohort: loyalty.CohortMember, Tier: "silver", Progress: loyalty.Progress{Next: "gold", Near: true},
		Balance: loyalty.Balance{Available: 120}, Expiry: loyalty.ExpiryState{Warn: true, At: day0}, Segment: loyalty.Segment{ABC: "b"}}
	want := []string{"loyalty-member", "loyalty-near-gold", "loyalty-points-expiring", "loyalty-reward-ready", "loyalty-segment-b", "loyalty-tier-silver"}
	if got := p.DesiredTags(s); !slices.Equal(got, want) {
		t.Errorf("tags %v, want %v", got, want)
	}
	hold := s
	hold.Cohort = loyalty.CohortHoldout
	if got := p.DesiredTags(hold); got != nil || p.Fields(hold) != nil {
		t.Errorf("holdout customers get tags %v", got)
	}
	add, remove := p.TagChanges([]string{"loyalty-member", "loyalty-tier-bronze", "vip"}, []string{"loyalty-member", "loyalty-tier-silver"})
	if !slices.Equal(add, []string{"loyalty-tier-silver"}) || !slices.Equal(remove, []string{"loyalty-tier-bronze"}) {
		t.Errorf("changes add %v remove %v; a store's own tag must never be removed", add, remove)
	}
	f := p.Fields(s)
	if f["points_available"] != "120" || f["tier"] != "silver" || f["next_tier"] != "gold" || f["points_expire_on"] != "2026-03-01" {
		t.Errorf("fields %v", f)
	}
	if ch := loyalty.FieldChanges(f, f); len(ch) != 0 {
		t.Errorf("unchanged fields reported changed: %v", ch)
	}
}

func TestCodesAreDeterministicAndDistinct(t *testing.T) {
	t.Parallel()
	p := &loyalty.Program{Currency: "USD"}
	p.SetDefaults()
	a, b := p.RewardCode("shop", "ann", 1), p.RewardCode("shop", "ann", 1)
	if a != b || !strings.HasPrefix(a, "LOY-") || len(a) != 14 {
		t.Errorf("codes %q %q", a, b)
	}
	seen := map[string]bool{}
	for i := range int64(1000) {
		c := p.RewardCode("shop", "ann", i)
		if seen[c] || strings.ContainsAny(c[4:], "01IO") {
			t.Fatalf("code %q repeats or has a confusable character", c)
		}
		seen[c] = true
	}
	if r := p.ReferralCode("shop", "ann"); !strings.HasPrefix(r, "REF-") || r == p.ReferralCode("shop", "ben") {
		t.Errorf("referral code %q", r)
	}
}

func TestHoldoutShare(t *testing.T) {
	t.Parallel()
	p := &loyalty.Program{Currency: "USD", HoldoutPercent: loyalty.MustDecimal("10")}
	n := 0
	for i := range 20000 {
		if p.InHoldout("shop", fmt.Sprint(i)) {
			n++
		}
	}
	if n < 1800 || n > 2200 {
		t.Errorf("%d of 20000 in a 10 %% holdout", n)
	}
	if p.InHoldout("shop", "42") != p.InHoldout("shop", "42") {
		t.Error("holdout is not stable")
	}
}

func TestExpiryOf(t *testing.T) {
	t.Parallel()
	p := &loyalty.Program{Expiry: loyalty.Expiry{InactiveDays: 30, WarnDays: 5}}
	for _, tc := range []struct {
		day        int
		avail      int64
		warn, due  bool
		expiresSet bool
	}{
		{10, 100, false, false, true},
		{25, 100, true, false, true},
		{30, 100, true, true, true},
		{30, 0, false, false, false},
	} {
		got := p.ExpiryOf(day0, tc.avail, day0.AddDate(0, 0, tc.day))
		if got.Warn != tc.warn || got.Due != tc.due || got.At.IsZero() == tc.expiresSet {
			t.Errorf("day %d with %d: %+v", tc.day, tc.avail, got)
		}
	}
}

func TestCanRedeem(t *testing.T) {
	t.Parallel()
	p := &loyalty.Program{Currency: "USD", Rewards: []loyalty.Reward{{ID: "r", Points: 100, Type: "free_shipping"}}}
	p.SetDefaults()
	for _, tc := range []struct {
		id   string
		b    loyalty.Balance
		want error
	}{
		{"r", loyalty.Balance{Available: 100}, nil},
		{"r", loyalty.Balance{Available: 99}, loyalty.ErrInsufficientPoints},
		{"r", loyalty.Balance{Available: -1}, loyalty.ErrNegativeBalance},
		{"x", loyalty.Balance{Available: 1000}, loyalty.ErrUnknownReward},
	} {
		if _, err := p.CanRedeem(tc.id, tc.b); !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
			t.Errorf("CanRedeem(%s, %+v) = %v, want %v", tc.id, tc.b, err, tc.want)
		}
	}
}

// BenchmarkEvaluate measures what crediting an order costs the engine: the
// eligible amount, the snapshot and the entitlement with its explanation.
func BenchmarkEvaluate(b *testing.B) {
	p := &loyalty.Program{Currency: "USD", Earn: loyalty.Earn{PointsPerUnit: loyalty.MustDecimal("1.5"), FirstOrderBonus: 50,
		Multipliers: []loyalty.Multiplier{{SKUPrefix: "NW-", Factor: loyalty.MustDecimal("2")}}}}
	p.SetDefaults()
	o := paidOrder(line("a", "60.00", "6.00"), line("b", "30.50", ""), line("c", "12.00", ""))
	o.Lines[0].SKU = "NW-1"
	o.State = commerce.StatePartiallyRefunded
	o.Refunds = []commerce.Refund{{ID: "r", Amount: usd("12.00"), Lines: []commerce.RefundLine{{LineID: "c", Amount: usd("12.00")}}}}
	standing := loyalty.Standing{Member: true}
	b.ReportAllocs()
	for b.Loop() {
		snap, _ := p.Snapshot(&o, standing)
		if loyalty.Entitle(&o, snap, "USD").Earn != 207 {
			b.Fatal("wrong points")
		}
	}
}

// BenchmarkEntitle measures re-evaluating an order under its frozen
// snapshot (what every refund or duplicate delivery costs).
func BenchmarkEntitle(b *testing.B) {
	o := paidOrder(line("a", "60.00", "6.00"), line("b", "30.50", ""))
	snap := loyalty.Snapshot{PointsPerUnit: loyalty.One, TierFactor: loyalty.One, CampaignFactor: loyalty.One}
	b.ReportAllocs()
	for b.Loop() {
		if loyalty.Entitle(&o, snap, "USD").Earn != 84 {
			b.Fatal("wrong points")
		}
	}
}
