package loyalty_test

import (
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
)

var day0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func usd(s string) commerce.Money { return commerce.MustParseMoney(s, "USD") }

func paidOrder(lines ...commerce.LineItem) commerce.Order {
	return commerce.Order{ID: "1", Number: "#1042", CustomerID: "c1", Currency: "USD", State: commerce.StatePaid,
		CreatedAt: day0, UpdatedAt: day0, Lines: lines, Shipping: usd("5.00"), Tax: usd("7.00")}
}

func line(id, subtotal, discount string) commerce.LineItem {
	l := commerce.LineItem{ID: id, Quantity: 1, Subtotal: usd(subtotal)}
	if discount != "" {
		l.Discount = usd(discount)
	}
	return l
}

func TestEligible(t *testing.T) {
	t.Parallel()
	gift := line("g", "25.00", "")
	gift.GiftCard = true
	for _, tc := range []struct {
		name  string
		order func() commerce.Order
		want  string
		why   string
	}{
		{"merchandise after discounts, no shipping or tax", func() commerce.Order {
			return paidOrder(line("a", "60.00", "6.00"), line("b", "30.50", ""))
		}, "84.50", ""},
		{"gift card lines excluded", func() commerce.Order { return paidOrder(line("a", "40.00", ""), gift) }, "40.00", ""},
		{"refund of one line", func() commerce.Order {
			o := paidOrder(line("a", "60.00", ""), line("b", "40.00", ""))
			o.State = commerce.StatePartiallyRefunded
			o.Refunds = []commerce.Refund{{ID: "r", Amount: usd("43.20"), Lines: []commerce.RefundLine{{LineID: "b", Quantity: 1, Amount: usd("40.00")}}}}
			return o
		}, "60.00", ""},
		{"refund without lines spread over what is left, shipping excluded", func() commerce.Order {
			o := paidOrder(line("a", "60.00", ""), line("b", "40.00", ""))
			o.State = commerce.StatePartiallyRefunded
			o.Refunds = []commerce.Refund{{ID: "r", Amount: usd("25.00"), Shipping: usd("5.00")}}
			return o
		}, "80.00", ""},
		{"refund larger than the merchandise stops at zero", func() commerce.Order {
			o := paidOrder(line("a", "10.00", ""))
			o.State = commerce.StatePartiallyRefunded
			o.Refunds = []commerce.Refund{{ID: "r", Amount: usd("50.00")}}
			return o
		}, "0.00", ""},
		{"unpaid", func() commerce.Order {
			o := paidOrder(line("a", "10.00", ""))
			o.State = commerce.StatePending
			return o
		}, "0.00", "not paid yet"},
		{"cancelled", func() commerce.Order { o := paidOrder(line("a", "10.00", "")); o.CancelledAt = day0; return o }, "0.00", "cancelled"},
		{"voided", func() commerce.Order {
			o := paidOrder(line("a", "10.00", ""))
			o.State = commerce.StateVoided
			return o
		}, "0.00", "voided"},
		{"test order", func() commerce.Order { o := paidOrder(line("a", "10.00", "")); o.Test = true; return o }, "0.00", "test order"},
		{"refunded in full", func() commerce.Order {
			o := paidOrder(line("a", "10.00", ""))
			o.State = commerce.StateRefunded
			return o
		}, "0.00", "refunded in full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := tc.order()
			got := loyalty.Eligible(&o, "USD")
			if got.Amount.Decimal() != tc.want || got.Why != tc.why {
				t.Errorf("Eligible = %s (%q), want %s (%q)", got.Amount.Decimal(), got.Why, tc.want, tc.why)
			}
			var sum commerce.Money
			for _, l := range got.Lines {
				sum = sum.Add(l)
			}
			if tc.why == "" && sum.Minor != got.Amount.Minor {
				t.Errorf("lines sum to %s, amount is %s", sum, got.Amount)
			}
		})
	}
}

func TestEligibleOtherCurrency(t *testing.T) {
	t.Parallel()
	o := paidOrder(line("a", "10.00", ""))
	if got := loyalty.Eligible(&o, "EUR"); got.Amount.Minor != 0 || !strings.Contains(got.Why, "EUR") {
		t.Errorf("Eligible in another currency = %v %q", got.Amount, got.Why)
	}
}

func program(t *testing.T, ppu string, pending int, bonus int64) *loyalty.Program {
	t.Helper()
	p := &loyalty.Program{Currency: "USD", Earn: loyalty.Earn{PointsPerUnit: loyalty.MustDecimal(ppu), PendingDays: pending, FirstOrderBonus: bonus}}
	p.SetDefaults()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEntitleExplainsItsArithmetic(t *testing.T) {
	t.Parallel()
	p := program(t, "1.5", 14, 100)
	o := paidOrder(line("a", "60.00", "6.00"), line("b", "30.50", ""))
	snap, ok := p.Snapshot(&o, loyalty.Standing{Member: true})
	if !ok {
		t.Fatal("a member's order did not earn")
	}
	ent := loyalty.Entitle(&o, snap, "USD")
	if ent.Earn != 126 || snap.Bonus != 100 {
		t.Errorf("earn %d bonus %d, want 126 and 100", ent.Earn, snap.Bonus)
	}
	if want := "Order #1042: 84.50 USD × 1.5 pt = 126 pts"; ent.Reason(&o, snap) != want {
		t.Errorf("reason %q, want %q", ent.Reason(&o, snap), want)
	}
	if want := day0.AddDate(0, 0, 14); !ent.AvailableAt.Equal(want) {
		t.Errorf("available at %v, want %v", ent.AvailableAt, want)
	}

	// The same order refunded in part, under the frozen snapshot, after the
	// program's rate changed: the old rate still applies.
	p.Earn.PointsPerUnit = loyalty.MustDecimal("10")
	o.State = commerce.StatePartiallyRefunded
	o.Refunds = []commerce.Refund{{ID: "r", Amount: usd("30.50"), Lines: []commerce.RefundLine{{LineID: "b", Amount: usd("30.50")}}}}
	ent = loyalty.Entitle(&o, snap, "USD")
	if ent.Earn != 81 {
		t.Errorf("after refund earn %d, want 81 (54.00 × 1.5)", ent.Earn)
	}
	if want := "Order #1042: 84.50 USD − 30.50 refunded = 54.00 USD × 1.5 pt = 81 pts"; ent.Reason(&o, snap) != want {
		t.Errorf("reason %q, want %q", ent.Reason(&o, snap), want)
	}
	o.CancelledAt = day0.Add(time.Hour)
	ent = loyalty.Entitle(&o, snap, "USD")
	if ent.Earn != 0 || ent.Reason(&o, snap) != "Order #1042: cancelled: 0 pts" {
		t.Errorf("cancelled: earn %d %q, want 0", ent.Earn, ent.Reason(&o, snap))
	}
}

func TestSnapshotOnlyForMembersAfterTheLaunch(t *testing.T) {
	t.Parallel()
	p := program(t, "1", 0, 50)
	o := paidOrder(line("a", "10.00", ""))
	for _, tc := range []struct {
		s    loyalty.Standing
		want bool
	}{
		{loyalty.Standing{Member: true}, true},
		{loyalty.Standing{Member: true, CountsFrom: day0}, true},
		{loyalty.Standing{Member: true, CountsFrom: day0.Add(time.Second)}, false},
		{loyalty.Standing{}, false},
	} {
		if _, ok := p.Snapshot(&o, tc.s); ok != tc.want {
			t.Errorf("standing %+v: earns = %v, want %v", tc.s, ok, tc.want)
		}
	}
}

func TestPointsFloorExactlyInEveryExponent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		amount, cur, ppu string
		want             int64
	}{
		{"84.99", "USD", "1", 84},
		{"0.99", "USD", "1", 0},
		{"1500", "JPY", "0.01", 15},
		{"1.999", "KWD", "3", 5},
		{"33.33", "USD", "0.333333", 11},
		{"92233720368547.75", "USD", "1000", 92233720368547750},
	} {
		m := commerce.MustParseMoney(tc.amount, tc.cur)
		o := commerce.Order{ID: "1", Currency: tc.cur, State: commerce.StatePaid, CreatedAt: day0, UpdatedAt: day0,
			Lines: []commerce.LineItem{{ID: "a", Quantity: 1, Subtotal: m}}}
		snap := loyalty.Snapshot{PointsPerUnit: loyalty.MustDecimal(tc.ppu), TierFactor: loyalty.One, CampaignFactor: loyalty.One}
		if got := loyalty.Entitle(&o, snap, tc.cur).Earn; got != tc.want {
			t.Errorf("%s %s × %s = %d, want %d", tc.amount, tc.cur, tc.ppu, got, tc.want)
		}
	}
}

func TestDecimal(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"1", "1.5", "0.000001", "-2.25", "100"} {
		d, err := loyalty.ParseDecimal(s)
		if err != nil || d.String() != s {
			t.Errorf("ParseDecimal(%q) = %v, %v", s, d, err)
		}
	}
	for _, s := range []string{"", "1.", ".5", "1e3", "0.0000001", "abc", "1,5"} {
		if _, err := loyalty.ParseDecimal(s); err == nil {
			t.Errorf("ParseDecimal(%q) accepted", s)
		}
	}
}

func TestValidateNamesEveryKey(t *testing.T) {
	t.Parallel()
	p := &loyalty.Program{Currency: "XXX", Enrollment: "invite", Earn: loyalty.Earn{PointsPerUnit: loyalty.MustDecimal("-1"), PendingDays: -1}, Tags: loyalty.Tags{Prefix: "a b"},
		Codes: loyalty.Codes{Prefix: "LOY-"}, Referrals: loyalty.Referrals{CodePrefix: "REF-"}, Tiers: loyalty.Tiers{NearPercent: 80}}
	err := p.Validate()
	fe, ok := err.(loyalty.FieldErrors)
	if !ok {
		t.Fatalf("Validate = %v, want FieldErrors", err)
	}
	var paths []string
	for _, e := range fe {
		paths = append(paths, e.Path)
	}
	want := "currency invite_tag earn.points_per_unit earn.pending_days tags.prefix"
	if got := strings.Join(paths, " "); got != want {
		t.Errorf("paths %q, want %q", got, want)
	}
}

func entry(stream string, seq int, kind commerce.EntryKind, points int64, at, avail time.Time) commerce.LedgerEntry {
	return commerce.LedgerEntry{Stream: stream, Seq: seq, Kind: kind, Points: points, At: at, AvailableAt: avail}
}

func TestBalancePendingThenAvailable(t *testing.T) {
	t.Parallel()
	d := func(n int) time.Time { return day0.AddDate(0, 0, n) }
	es := []commerce.LedgerEntry{
		entry("order:1:earn", 1, commerce.KindEarn, 100, d(0), d(14)),
		entry("order:2:earn", 1, commerce.KindEarn, 50, d(1), d(15)),
		// A refund of order 1 inside its pending period takes back pending points.
		entry("order:1:earn", 2, commerce.KindAdjustRefund, -40, d(3), d(3)),
		// A refund of order 2 after it became available takes back available points.
		entry("order:2:earn", 2, commerce.KindAdjustRefund, -20, d(20), d(20)),
		entry("redeem:1", 1, commerce.KindRedeem, -30, d(16), d(16)),
	}
	for _, tc := range []struct {
		at   time.Time
		want loyalty.Balance
	}{
		{d(2), loyalty.Balance{Pending: 150, LifetimeEarned: 150}},
		{d(5), loyalty.Balance{Pending: 110, LifetimeEarned: 110}},
		{d(14), loyalty.Balance{Available: 60, Pending: 50, LifetimeEarned: 110}},
		{d(16), loyalty.Balance{Available: 80, LifetimeEarned: 110, Redeemed: 30}},
		{d(21), loyalty.Balance{Available: 60, LifetimeEarned: 90, Redeemed: 30}},
	} {
		got := loyalty.ComputeBalance(es, tc.at)
		if got != tc.want {
			t.Errorf("at day %d: %+v, want %+v", int(tc.at.Sub(day0).Hours()/24), got, tc.want)
		}
		if got.Available+got.Pending != got.LifetimeEarned-got.Redeemed-got.Expired {
			t.Errorf("at %v: balance does not add up: %+v", tc.at, got)
		}
	}
}

func TestBalanceMayGoNegative(t *testing.T) {
	t.Parallel()
	es := []commerce.LedgerEntry{
		entry("order:1:earn", 1, commerce.KindEarn, 500, day0, day0),
		entry("redeem:1", 1, commerce.KindRedeem, -500, day0.Add(time.Hour), day0.Add(time.Hour)),
		entry("order:1:earn", 2, commerce.KindAdjustCancel, -500, day0.Add(2*time.Hour), day0.Add(2*time.Hour)),
	}
	if got := loyalty.ComputeBalance(es, day0.Add(3*time.Hour)); got.Available != -500 {
		t.Errorf("available = %d, want -500 (spent points taken back)", got.Available)
	}
}
