package loyalty_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
)

func TestMeasureSettingsMistakes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(p *loyalty.Program)
		path string
	}{
		{"point value zero", func(p *loyalty.Program) { p.PointValue = loyalty.MustDecimal("0") }, "point_value"},
		{"point value negative", func(p *loyalty.Program) { p.PointValue = loyalty.MustDecimal("-0.01") }, "point_value"},
		{"margin over 100", func(p *loyalty.Program) { p.MarginPercent = loyalty.MustDecimal("120") }, "margin_percent"},
		{"margin zero", func(p *loyalty.Program) { p.MarginPercent = loyalty.MustDecimal("0") }, "margin_percent"},
		{"negative members goal", func(p *loyalty.Program) { p.Goals.Members = -5 }, "goals.members"},
		{"frequency goal zero", func(p *loyalty.Program) { p.Goals.PurchaseFrequency = loyalty.MustDecimal("0") }, "goals.purchase_frequency"},
		{"repeat rate as a percentage", func(p *loyalty.Program) { p.Goals.RepeatRate = loyalty.MustDecimal("40") }, "goals.repeat_rate"},
		{"redemption rate over 1", func(p *loyalty.Program) { p.Goals.RedemptionRate = loyalty.MustDecimal("1.5") }, "goals.redemption_rate"},
		{"average order value with too many decimals", func(p *loyalty.Program) { p.Goals.AverageOrderValue = amount(t, "80.005") }, "goals.average_order_value"},
		{"average order value zero", func(p *loyalty.Program) { p.Goals.AverageOrderValue = amount(t, "0") }, "goals.average_order_value"},
		{"negative roi goal", func(p *loyalty.Program) { p.Goals.ROI = loyalty.MustDecimal("-1") }, "goals.roi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &loyalty.Program{Currency: "USD"}
			tc.edit(p)
			p.SetDefaults()
			var fe loyalty.FieldErrors
			if err := p.Validate(); !errors.As(err, &fe) {
				t.Fatalf("Validate = %v, want FieldErrors", err)
			}
			var paths []string
			for _, e := range fe {
				paths = append(paths, e.Path)
			}
			if !slices.Contains(paths, tc.path) {
				t.Errorf("errors at %v, want one at %s", paths, tc.path)
			}
		})
	}
}

func TestPointValue(t *testing.T) {
	t.Parallel()
	reward := func(id string, points int64, typ, value string) loyalty.Reward {
		r := loyalty.Reward{ID: id, Points: points, Type: typ}
		if value != "" {
			r.Value = loyalty.MustDecimal(value)
		}
		return r
	}
	for _, tc := range []struct {
		name    string
		p       loyalty.Program
		want    string
		points  int64
		valueOf string
	}{
		// The cheapest fixed_amount reward decides: 5.00 for 500 points.
		{"from the catalogue", loyalty.Program{Currency: "USD", Rewards: []loyalty.Reward{
			reward("ten-percent", 100, loyalty.RewardPercentage, "10"),
			reward("big", 2000, loyalty.RewardFixedAmount, "25"),
			reward("five-off", 500, loyalty.RewardFixedAmount, "5"),
		}}, "0.01", 12_345, "123.45"},
		{"given", loyalty.Program{Currency: "USD", PointValue: loyalty.MustDecimal("0.005"),
			Rewards: []loyalty.Reward{reward("five-off", 500, loyalty.RewardFixedAmount, "5")}}, "0.005", 333, "1.67"}, // 1.665 rounds up
		{"none", loyalty.Program{Currency: "USD"}, "0", 1_000, "0.00"},
		{"yen", loyalty.Program{Currency: "JPY", PointValue: loyalty.MustDecimal("1")}, "1", 250, "250"},
		{"dinar", loyalty.Program{Currency: "KWD", PointValue: loyalty.MustDecimal("0.0005")}, "0.0005", 3, "0.002"}, // 0.0015 → 0.002
		{"negative balance", loyalty.Program{Currency: "USD", PointValue: loyalty.MustDecimal("0.005")}, "0.005", -333, "-1.67"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := tc.p
			p.SetDefaults()
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := p.PointValue.String(); got != tc.want {
				t.Errorf("point value = %s, want %s", got, tc.want)
			}
			if got, want := p.PointsValue(tc.points), commerce.MustParseMoney(tc.valueOf, p.Currency); got != want {
				t.Errorf("PointsValue(%d) = %v, want %v", tc.points, got, want)
			}
		})
	}
}

// TestVersionIgnoresMeasures: goals, margin and point value measure the
// program; they are not its rules, and changing them must not look like a
// new version of the rules in every order's snapshot.
func TestVersionIgnoresMeasures(t *testing.T) {
	t.Parallel()
	a := &loyalty.Program{Currency: "USD"}
	b := &loyalty.Program{Currency: "USD", PointValue: loyalty.MustDecimal("0.02"), MarginPercent: loyalty.DecimalFromInt(30),
		Goals: loyalty.Goals{Members: 100, ROI: loyalty.DecimalFromInt(2)}}
	c := &loyalty.Program{Currency: "USD", Earn: loyalty.Earn{PointsPerUnit: loyalty.DecimalFromInt(2)}}
	for _, p := range []*loyalty.Program{a, b, c} {
		p.SetDefaults()
	}
	if a.Version() != b.Version() {
		t.Errorf("versions %s and %s differ for the same rules", a.Version(), b.Version())
	}
	if a.Version() == c.Version() {
		t.Errorf("a different earn rate has the same version %s", c.Version())
	}
}
