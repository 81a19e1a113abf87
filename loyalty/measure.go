package loyalty

import (
	"math/big"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Goals are targets the owner sets for the program ("purchase frequency
// from 3.0 to 3.3 a year"). Reports measure each over the report's period
// (a year by default) and show the progress toward it. A goal left out is
// not measured; a goal given must be above zero.
type Goals struct {
	// Members is the number of members to reach by the end of the period.
	Members int `yaml:"members" json:"members,omitempty"`
	// PurchaseFrequency is the members' orders per member who bought in
	// the period.
	PurchaseFrequency Decimal `yaml:"purchase_frequency" json:"purchase_frequency,omitzero"`
	// RepeatRate is the share (0.4 = 40 %) of the members who bought in
	// the period that bought at least twice.
	RepeatRate Decimal `yaml:"repeat_rate" json:"repeat_rate,omitzero"`
	// AverageOrderValue is the members' revenue per order.
	AverageOrderValue Amount `yaml:"average_order_value" json:"average_order_value,omitzero"`
	// RedemptionRate is the share (0.3 = 30 %) of the points issued in the
	// period that were redeemed in it.
	RedemptionRate Decimal `yaml:"redemption_rate" json:"redemption_rate,omitzero"`
	// ROI is the return on the reward cost: (incremental gross margin −
	// reward cost) ÷ reward cost.
	ROI Decimal `yaml:"roi" json:"roi,omitzero"`
}

// setMeasureDefaults resolves the measuring settings: the goal amounts in
// the program's currency, and the point value from the catalogue when the
// owner gave none.
func (p *Program) setMeasureDefaults() {
	p.Goals.AverageOrderValue.resolve(p.Currency)
	if !p.PointValue.set {
		p.PointValue = p.catalogueValue()
	}
}

// catalogueValue is what a point buys in the fixed_amount reward that
// costs the fewest points (its value ÷ its points, to the micro-unit), or
// zero when the catalogue has none: the default point value. The cheapest
// reward is the one most members can reach, so it is what a point is
// worth to most of them.
func (p *Program) catalogueValue() Decimal {
	var best *Reward
	for i := range p.Rewards {
		r := &p.Rewards[i]
		if r.Type == RewardFixedAmount && r.Points > 0 && r.Value.Sign() > 0 && (best == nil || r.Points < best.Points) {
			best = r
		}
	}
	if best == nil {
		return Decimal{}
	}
	return Decimal{micro: best.Value.micro / best.Points}
}

// validateMeasures checks the measuring settings.
func (p *Program) validateMeasures(add func(path, format string, args ...any), amount func(path string, a Amount)) {
	if p.PointValue.set && p.PointValue.Sign() <= 0 {
		add("point_value", "must be greater than 0, got %s (leave it out to take it from the rewards)", p.PointValue)
	}
	if p.MarginPercent.set && (p.MarginPercent.Sign() <= 0 || p.MarginPercent.Cmp(DecimalFromInt(100)) > 0) {
		add("margin_percent", "must be greater than 0 and at most 100, got %s", p.MarginPercent)
	}
	g := p.Goals
	if g.Members < 0 {
		add("goals.members", "must be greater than 0, got %d (leave a goal out to not measure it)", g.Members)
	}
	for _, d := range []struct {
		key   string
		v     Decimal
		share bool
	}{{"purchase_frequency", g.PurchaseFrequency, false}, {"repeat_rate", g.RepeatRate, true},
		{"redemption_rate", g.RedemptionRate, true}, {"roi", g.ROI, false}} {
		switch {
		case d.v.set && d.v.Sign() <= 0:
			add("goals."+d.key, "must be greater than 0, got %s (leave a goal out to not measure it)", d.v)
		case d.share && d.v.Cmp(One) > 0:
			add("goals."+d.key, "is a share from 0 to 1 (0.4 is 40 %%), got %s", d.v)
		}
	}
	amount("goals.average_order_value", g.AverageOrderValue)
	if g.AverageOrderValue.Set() && g.AverageOrderValue.money.Currency != "" && g.AverageOrderValue.money.Sign() == 0 {
		add("goals.average_order_value", "must be greater than 0 (leave a goal out to not measure it)")
	}
}

// PointsValue is what points are worth in money at the program's point
// value, rounded to the currency's minor unit (halves away from zero);
// zero when the program has no point value.
func (p *Program) PointsValue(points int64) commerce.Money {
	exp, err := commerce.Exponent(p.Currency)
	if err != nil || p.PointValue.micro == 0 {
		return commerce.Money{Currency: p.Currency}
	}
	// points × value (in micro-units of the major unit) × 10^exp ÷ 10^6.
	n := new(big.Int).Mul(big.NewInt(points), big.NewInt(p.PointValue.micro))
	n.Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil))
	d := big.NewInt(decimalScale)
	q, r := new(big.Int).QuoRem(n, d, new(big.Int))
	if r.Sign() != 0 && new(big.Int).Mul(new(big.Int).Abs(r), big.NewInt(2)).Cmp(d) >= 0 {
		q.Add(q, big.NewInt(int64(n.Sign())))
	}
	return commerce.NewMoney(q.Int64(), p.Currency)
}

// Float64 returns d as a float, for ratios and display; the rules never
// compute with it.
func (d Decimal) Float64() float64 { return float64(d.micro) / decimalScale }
