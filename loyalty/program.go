package loyalty

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Program is a loyalty program as the owner describes it in the `program:`
// block of the configuration. Call SetDefaults, then Validate, before use.
type Program struct {
	// Name is the program's name as customers see it ("Acme Club").
	Name string `yaml:"name" json:"name,omitempty"`
	// Currency is the shop currency points are computed in.
	Currency string `yaml:"currency" json:"currency"`
	// TimeZone is the IANA zone of the program's days (campaign dates,
	// daily re-evaluation, monthly budgets); default UTC.
	TimeZone string `yaml:"timezone" json:"timezone,omitempty"`
	// Launch is when the program started: orders processed before it
	// (less BackdateDays) earn nothing. Zero means the time loyaltyd first
	// synced the store.
	Launch Date `yaml:"launch" json:"launch,omitzero"`
	// Enrollment is "open" (every customer is a member from first sight)
	// or "invite" (only customers tagged InviteTag: a pilot).
	Enrollment string `yaml:"enrollment" json:"enrollment"`
	// InviteTag is the customer tag that enrolls a customer when
	// Enrollment is "invite".
	InviteTag string `yaml:"invite_tag" json:"invite_tag,omitempty"`
	// BackdateDays credits a newly enrolled customer's orders of this many
	// days before enrollment (or before the launch).
	BackdateDays int `yaml:"backdate_days" json:"backdate_days,omitempty"`
	// HoldoutPercent puts a stable, hash-chosen share of customers in a
	// control group that is never enrolled or tagged, so that reports can
	// measure the program's lift.
	HoldoutPercent Decimal `yaml:"holdout_percent" json:"holdout_percent,omitzero"`
	// Earn says how orders earn points.
	Earn Earn `yaml:"earn" json:"earn"`
	// Tiers are the membership levels.
	Tiers Tiers `yaml:"tiers" json:"tiers,omitzero"`
	// Rewards is the catalogue of rewards points buy.
	Rewards []Reward `yaml:"rewards" json:"rewards,omitempty"`
	// AutoRedeem issues a reward whenever a member can afford it.
	AutoRedeem AutoRedeem `yaml:"auto_redeem" json:"auto_redeem,omitzero"`
	// Codes says how discount codes are named.
	Codes Codes `yaml:"codes" json:"codes"`
	// Referrals is the refer-a-friend program.
	Referrals Referrals `yaml:"referrals" json:"referrals,omitzero"`
	// Expiry expires the points of inactive members.
	Expiry Expiry `yaml:"expiry" json:"expiry,omitzero"`
	// Tags says how the program's tags are named on the platform.
	Tags Tags `yaml:"tags" json:"tags"`
	// PointValue is what one point is worth to the store in its currency
	// (0.01: a point is a cent), so that reports can put a money value on
	// outstanding points (the liability). Default: what a point buys in the
	// fixed_amount reward that costs the fewest points.
	PointValue Decimal `yaml:"point_value" json:"point_value,omitzero"`
	// MarginPercent is the store's gross margin on merchandise, which
	// turns the members' extra revenue into extra profit for the ROI.
	// Without it the ROI is not computed.
	MarginPercent Decimal `yaml:"margin_percent" json:"margin_percent,omitzero"`
	// Goals are the targets reports measure the program against.
	Goals Goals `yaml:"goals" json:"goals,omitzero"`

	loc     *time.Location
	version string
}

// Earn says how orders earn points.
type Earn struct {
	// PointsPerUnit is the points per major unit of the currency spent on
	// merchandise (per dollar, per yen). Default 1.
	PointsPerUnit Decimal `yaml:"points_per_unit" json:"points_per_unit"`
	// PendingDays is how long an order's points stay pending (not
	// spendable) after the order is processed, so that returns inside the
	// window take back pending points instead of spent ones.
	PendingDays int `yaml:"pending_days" json:"pending_days"`
	// FirstOrderBonus is added once to a member's first paid order.
	FirstOrderBonus int64 `yaml:"first_order_bonus" json:"first_order_bonus"`
	// Multipliers raise the points of matching lines; the highest matching
	// factor applies to a line.
	Multipliers []Multiplier `yaml:"multipliers" json:"multipliers,omitempty"`
	// Campaigns multiply the points of orders processed in a date window.
	Campaigns []Campaign `yaml:"campaigns" json:"campaigns,omitempty"`
}

// Multiplier raises the points of the lines it matches: by SKU prefix,
// product id or vendor (one of them).
type Multiplier struct {
	SKUPrefix string  `yaml:"sku_prefix" json:"sku_prefix,omitempty"`
	ProductID string  `yaml:"product_id" json:"product_id,omitempty"`
	Vendor    string  `yaml:"vendor" json:"vendor,omitempty"`
	Factor    Decimal `yaml:"factor" json:"factor"`
}

// Matches reports whether the multiplier applies to a line.
func (m Multiplier) Matches(l *commerce.LineItem) bool {
	switch {
	case m.SKUPrefix != "":
		return strings.HasPrefix(l.SKU, m.SKUPrefix)
	case m.ProductID != "":
		return l.ProductID == m.ProductID
	case m.Vendor != "":
		return strings.EqualFold(l.Vendor, m.Vendor)
	}
	return false
}

// Label names the multiplier in explanations ("SKU NW-").
func (m Multiplier) Label() string {
	switch {
	case m.SKUPrefix != "":
		return "SKU " + m.SKUPrefix
	case m.ProductID != "":
		return "product " + m.ProductID
	}
	return m.Vendor
}

// Campaign multiplies the points of orders processed from From to To
// (whole days in the program's time zone, both included), optionally only
// for members of some tiers.
type Campaign struct {
	Name   string   `yaml:"name" json:"name"`
	From   Date     `yaml:"from" json:"from"`
	To     Date     `yaml:"to" json:"to"`
	Factor Decimal  `yaml:"factor" json:"factor"`
	Tiers  []string `yaml:"tiers" json:"tiers,omitempty"`
}

// Tiers are the membership levels.
type Tiers struct {
	// WindowDays is the rolling window the qualifying values are counted
	// over; Lifetime counts everything instead. Default 365.
	WindowDays int  `yaml:"window_days" json:"window_days,omitempty"`
	Lifetime   bool `yaml:"lifetime" json:"lifetime,omitempty"`
	// GraceDays keeps a member in a tier this long after they stop
	// qualifying for it.
	GraceDays int `yaml:"grace_days" json:"grace_days,omitempty"`
	// NearPercent tags a member "near" the next tier when their
	// qualifying spend reaches this share of its min_spend. Default 80.
	NearPercent int `yaml:"near_percent" json:"near_percent,omitempty"`
	// Levels, from the lowest to the highest.
	Levels []Level `yaml:"levels" json:"levels,omitempty"`
}

// Level is one tier: a member is in the highest level whose criteria are
// all met.
type Level struct {
	Name          string  `yaml:"name" json:"name"`
	MinSpend      Amount  `yaml:"min_spend" json:"min_spend,omitzero"`
	MinOrders     int     `yaml:"min_orders" json:"min_orders,omitempty"`
	MinReferrals  int     `yaml:"min_referrals" json:"min_referrals,omitempty"`
	MinTenureDays int     `yaml:"min_tenure_days" json:"min_tenure_days,omitempty"`
	EarnFactor    Decimal `yaml:"earn_factor" json:"earn_factor,omitzero"`
}

// Reward types.
const (
	RewardFixedAmount  = string(commerce.DiscountFixedAmount)
	RewardPercentage   = string(commerce.DiscountPercentage)
	RewardFreeShipping = string(commerce.DiscountFreeShipping)
)

// Reward is something points buy: a single-use discount code for the
// member.
type Reward struct {
	ID     string `yaml:"id" json:"id"`
	Name   string `yaml:"name" json:"name,omitempty"`
	Points int64  `yaml:"points" json:"points"`
	// Type is fixed_amount, percentage or free_shipping.
	Type string `yaml:"type" json:"type"`
	// Value is the amount off (fixed_amount) or the percentage off.
	Value Decimal `yaml:"value" json:"value,omitzero"`
	// MinOrder is the order subtotal the code requires, if any.
	MinOrder Amount `yaml:"min_order" json:"min_order,omitzero"`
	// ExpiresAfterDays ends the code's validity; 0 means never.
	ExpiresAfterDays int `yaml:"expires_after_days" json:"expires_after_days,omitempty"`
	// BudgetValue is what the reward counts against the auto-redeem budget
	// when its value is not an amount (percentage, free shipping).
	BudgetValue Amount `yaml:"budget_value" json:"budget_value,omitzero"`
}

// AutoRedeem issues a reward automatically whenever a member's available
// balance covers it, within a monthly budget of reward value.
type AutoRedeem struct {
	Reward        string `yaml:"reward" json:"reward,omitempty"`
	MonthlyBudget Amount `yaml:"monthly_budget" json:"monthly_budget,omitzero"`
}

// Codes says how the program's discount codes are named.
type Codes struct {
	// Prefix starts every reward code; default "LOY-".
	Prefix string `yaml:"prefix" json:"prefix"`
}

// Referrals is the refer-a-friend program: every member has a personal
// code that gives a friend a discount on a first order; the member earns
// ReferrerPoints when that order is paid and its points become available.
type Referrals struct {
	ReferrerPoints int64 `yaml:"referrer_points" json:"referrer_points,omitempty"`
	// FriendReward is the discount the code gives the friend.
	FriendReward FriendReward `yaml:"friend_reward" json:"friend_reward,omitzero"`
	// CodePrefix starts every referral code; default "REF-".
	CodePrefix string `yaml:"code_prefix" json:"code_prefix,omitempty"`
}

// FriendReward is the discount a referral code gives.
type FriendReward struct {
	Type     string  `yaml:"type" json:"type,omitempty"`
	Value    Decimal `yaml:"value" json:"value,omitzero"`
	MinOrder Amount  `yaml:"min_order" json:"min_order,omitzero"`
}

// Enabled reports whether the program has referrals.
func (r Referrals) Enabled() bool { return r.ReferrerPoints > 0 || r.FriendReward.Type != "" }

// Expiry expires the available points of members who neither earned nor
// redeemed for InactiveDays, and tags them WarnDays before.
type Expiry struct {
	InactiveDays int `yaml:"inactive_days" json:"inactive_days,omitempty"`
	WarnDays     int `yaml:"warn_days" json:"warn_days,omitempty"`
}

// Tags says how the program's customer tags are named.
type Tags struct {
	// Prefix starts every tag the program writes ("loyalty-"); only tags
	// with it are ever removed.
	Prefix string `yaml:"prefix" json:"prefix"`
}

// Enrollment modes.
const (
	EnrollOpen   = "open"
	EnrollInvite = "invite"
)

// SetDefaults fills in what the owner left out and resolves amounts in the
// program's currency. Amounts that do not fit the currency are reported by
// Validate.
func (p *Program) SetDefaults() {
	if c, err := commerce.NormalizeCurrency(p.Currency); err == nil {
		p.Currency = c
	}
	if p.Enrollment == "" {
		p.Enrollment = EnrollOpen
	}
	if !p.Earn.PointsPerUnit.set {
		p.Earn.PointsPerUnit = One
	}
	if p.Tags.Prefix == "" {
		p.Tags.Prefix = "loyalty-"
	}
	if p.Codes.Prefix == "" {
		p.Codes.Prefix = "LOY-"
	}
	if p.Referrals.CodePrefix == "" {
		p.Referrals.CodePrefix = "REF-"
	}
	if !p.Tiers.Lifetime && p.Tiers.WindowDays == 0 {
		p.Tiers.WindowDays = 365
	}
	if p.Tiers.NearPercent == 0 {
		p.Tiers.NearPercent = 80
	}
	for i := range p.Tiers.Levels {
		l := &p.Tiers.Levels[i]
		if !l.EarnFactor.set {
			l.EarnFactor = One
		}
		l.MinSpend.resolve(p.Currency)
	}
	for i := range p.Rewards {
		p.Rewards[i].MinOrder.resolve(p.Currency)
		p.Rewards[i].BudgetValue.resolve(p.Currency)
	}
	p.AutoRedeem.MonthlyBudget.resolve(p.Currency)
	p.Referrals.FriendReward.MinOrder.resolve(p.Currency)
	p.setMeasureDefaults()
	p.loc = time.UTC
	if p.TimeZone != "" {
		if loc, err := time.LoadLocation(p.TimeZone); err == nil {
			p.loc = loc
		}
	}
	p.version = ""
	p.version = p.Version()
}

// Location returns the program's time zone.
func (p *Program) Location() *time.Location {
	if p.loc == nil {
		return time.UTC
	}
	return p.loc
}

// FieldError is a mistake in the program, at a key path relative to the
// program block ("earn.points_per_unit").
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// FieldErrors is every mistake Validate found, in the order of the keys.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Validate checks the program and returns FieldErrors naming every key at
// fault, or nil.
func (p *Program) Validate() error {
	var errs FieldErrors
	add := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	amount := func(path string, a Amount) {
		if a.Set() {
			if _, err := commerce.ParseMoney(a.text, p.Currency); err != nil {
				add(path, "%v", err)
			} else if a.money.Sign() < 0 {
				add(path, "must not be negative")
			}
		}
	}
	positive := func(path string, d Decimal) {
		if d.Sign() <= 0 {
			add(path, "must be greater than 0, got %s", d)
		}
	}
	if p.Currency == "" {
		add("currency", "required (the shop currency, such as USD)")
	} else if _, err := commerce.NormalizeCurrency(p.Currency); err != nil {
		add("currency", "%v", err)
	}
	if p.TimeZone != "" {
		if _, err := time.LoadLocation(p.TimeZone); err != nil {
			add("timezone", "unknown time zone %q (want an IANA name such as Europe/Tallinn)", p.TimeZone)
		}
	}
	switch p.Enrollment {
	case EnrollOpen:
	case EnrollInvite:
		if strings.TrimSpace(p.InviteTag) == "" {
			add("invite_tag", "required when enrollment is %q", EnrollInvite)
		}
	default:
		add("enrollment", "unknown mode %q (known: %s, %s)", p.Enrollment, EnrollOpen, EnrollInvite)
	}
	if p.BackdateDays < 0 {
		add("backdate_days", "must not be negative, got %d", p.BackdateDays)
	}
	if p.HoldoutPercent.Sign() < 0 || p.HoldoutPercent.Cmp(DecimalFromInt(50)) > 0 {
		add("holdout_percent", "must be between 0 and 50, got %s", p.HoldoutPercent)
	}
	positive("earn.points_per_unit", p.Earn.PointsPerUnit)
	if p.Earn.PendingDays < 0 {
		add("earn.pending_days", "must not be negative, got %d", p.Earn.PendingDays)
	}
	if p.Earn.FirstOrderBonus < 0 {
		add("earn.first_order_bonus", "must not be negative, got %d", p.Earn.FirstOrderBonus)
	}
	for i, m := range p.Earn.Multipliers {
		path := fmt.Sprintf("earn.multipliers[%d]", i)
		n := 0
		for _, s := range []string{m.SKUPrefix, m.ProductID, m.Vendor} {
			if s != "" {
				n++
			}
		}
		if n != 1 {
			add(path, "give exactly one of sku_prefix, product_id and vendor")
		}
		positive(path+".factor", m.Factor)
	}
	levels := map[string]bool{}
	for i, l := range p.Tiers.Levels {
		path := fmt.Sprintf("tiers.levels[%d]", i)
		switch {
		case l.Name == "":
			add(path+".name", "required")
		case !validName(l.Name):
			add(path+".name", "%q: use lower-case letters, digits, - and _ (it becomes a tag)", l.Name)
		case levels[l.Name]:
			add(path+".name", "%q is used by another level", l.Name)
		}
		levels[l.Name] = true
		amount(path+".min_spend", l.MinSpend)
		for _, f := range []struct {
			key string
			v   int
		}{{"min_orders", l.MinOrders}, {"min_referrals", l.MinReferrals}, {"min_tenure_days", l.MinTenureDays}} {
			if f.v < 0 {
				add(path+"."+f.key, "must not be negative, got %d", f.v)
			}
		}
		positive(path+".earn_factor", l.EarnFactor)
		if !l.MinSpend.Set() && l.MinOrders == 0 && l.MinReferrals == 0 && l.MinTenureDays == 0 {
			add(path, "a level needs at least one of min_spend, min_orders, min_referrals, min_tenure_days")
		}
		if i > 0 {
			prev := p.Tiers.Levels[i-1]
			if !stricter(prev, l) {
				add(path, "level %q must ask for more than level %q below it in every criterion they share, and more in at least one (levels go from the lowest to the highest)", l.Name, prev.Name)
			}
		}
	}
	if p.Tiers.WindowDays < 0 {
		add("tiers.window_days", "must not be negative, got %d", p.Tiers.WindowDays)
	}
	if p.Tiers.GraceDays < 0 {
		add("tiers.grace_days", "must not be negative, got %d", p.Tiers.GraceDays)
	}
	if p.Tiers.NearPercent < 1 || p.Tiers.NearPercent > 99 {
		add("tiers.near_percent", "must be between 1 and 99, got %d", p.Tiers.NearPercent)
	}
	for i, c := range p.Earn.Campaigns {
		path := fmt.Sprintf("earn.campaigns[%d]", i)
		if c.Name == "" {
			add(path+".name", "required")
		}
		if c.From.IsZero() {
			add(path+".from", "required")
		}
		if c.To.IsZero() {
			add(path+".to", "required")
		}
		if !c.From.IsZero() && !c.To.IsZero() && !c.From.Start(time.UTC).Before(c.To.End(time.UTC)) {
			add(path+".to", "must not be before from")
		}
		positive(path+".factor", c.Factor)
		for j, t := range c.Tiers {
			if !levels[t] {
				add(fmt.Sprintf("%s.tiers[%d]", path, j), "unknown tier %q (levels: %s)", t, strings.Join(p.levelNames(), ", "))
			}
		}
	}
	rewards := map[string]bool{}
	for i, r := range p.Rewards {
		path := fmt.Sprintf("rewards[%d]", i)
		switch {
		case r.ID == "":
			add(path+".id", "required")
		case !validName(r.ID):
			add(path+".id", "%q: use lower-case letters, digits, - and _", r.ID)
		case rewards[r.ID]:
			add(path+".id", "%q is used by another reward", r.ID)
		}
		rewards[r.ID] = true
		if r.Points <= 0 {
			add(path+".points", "must be greater than 0, got %d", r.Points)
		}
		p.checkDiscount(add, path, r.Type, r.Value)
		amount(path+".min_order", r.MinOrder)
		amount(path+".budget_value", r.BudgetValue)
		if r.ExpiresAfterDays < 0 {
			add(path+".expires_after_days", "must not be negative, got %d", r.ExpiresAfterDays)
		}
	}
	if a := p.AutoRedeem; a.Reward != "" {
		r := p.Reward(a.Reward)
		switch {
		case r == nil:
			add("auto_redeem.reward", "unknown reward %q (rewards: %s)", a.Reward, strings.Join(p.rewardIDs(), ", "))
		case r.Type != RewardFixedAmount && !r.BudgetValue.Set() && a.MonthlyBudget.Set():
			add("auto_redeem.reward", "reward %q is a %s reward: give it a budget_value so that it can count against the monthly budget", r.ID, r.Type)
		}
		amount("auto_redeem.monthly_budget", a.MonthlyBudget)
	} else if a.MonthlyBudget.Set() {
		add("auto_redeem.reward", "required with monthly_budget")
	}
	if r := p.Referrals; r.Enabled() {
		if r.ReferrerPoints < 0 {
			add("referrals.referrer_points", "must not be negative, got %d", r.ReferrerPoints)
		}
		if r.FriendReward.Type == "" {
			add("referrals.friend_reward.type", "required: the discount a referral code gives the friend")
		} else {
			p.checkDiscount(add, "referrals.friend_reward", r.FriendReward.Type, r.FriendReward.Value)
		}
		amount("referrals.friend_reward.min_order", r.FriendReward.MinOrder)
	}
	if p.Expiry.InactiveDays < 0 {
		add("expiry.inactive_days", "must not be negative, got %d", p.Expiry.InactiveDays)
	}
	if p.Expiry.WarnDays < 0 || (p.Expiry.InactiveDays > 0 && p.Expiry.WarnDays >= p.Expiry.InactiveDays) {
		add("expiry.warn_days", "must be between 0 and inactive_days, got %d", p.Expiry.WarnDays)
	}
	for _, pf := range []struct{ path, v string }{{"tags.prefix", p.Tags.Prefix}, {"codes.prefix", p.Codes.Prefix}, {"referrals.code_prefix", p.Referrals.CodePrefix}} {
		if strings.TrimSpace(pf.v) == "" {
			add(pf.path, "must not be empty")
		} else if strings.ContainsAny(pf.v, ", ") {
			add(pf.path, "must not contain commas or spaces, got %q", pf.v)
		}
	}
	if strings.EqualFold(p.Codes.Prefix, p.Referrals.CodePrefix) {
		add("referrals.code_prefix", "must differ from codes.prefix, so that referral codes and reward codes cannot be confused")
	}
	p.validateMeasures(add, amount)
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func (p *Program) checkDiscount(add func(string, string, ...any), path, typ string, value Decimal) {
	switch typ {
	case RewardFixedAmount:
		if value.Sign() <= 0 {
			add(path+".value", "must be greater than 0 for a fixed_amount reward")
		} else if _, err := commerce.ParseMoney(value.String(), p.Currency); err != nil {
			add(path+".value", "%v", err)
		}
	case RewardPercentage:
		if value.Sign() <= 0 || value.Cmp(DecimalFromInt(100)) > 0 {
			add(path+".value", "a percentage must be greater than 0 and at most 100, got %s", value)
		} else if value.micro%100 != 0 {
			add(path+".value", "a percentage has at most two decimals, got %s", value)
		}
	case RewardFreeShipping:
		if !value.IsZero() {
			add(path+".value", "a free_shipping reward has no value")
		}
	default:
		add(path+".type", "unknown type %q (known: fixed_amount, percentage, free_shipping)", typ)
	}
}

// stricter reports whether level hi asks for at least as much as lo in
// every criterion lo has, and for more in one.
func stricter(lo, hi Level) bool {
	more := false
	cmp := func(a, b int64, aSet, bSet bool) bool {
		switch {
		case aSet && !bSet:
			return false
		case !aSet && bSet:
			more = true
		case aSet && bSet:
			if b < a {
				return false
			}
			if b > a {
				more = true
			}
		}
		return true
	}
	ok := cmp(lo.MinSpend.money.Minor, hi.MinSpend.money.Minor, lo.MinSpend.Set(), hi.MinSpend.Set()) &&
		cmp(int64(lo.MinOrders), int64(hi.MinOrders), lo.MinOrders > 0, hi.MinOrders > 0) &&
		cmp(int64(lo.MinReferrals), int64(hi.MinReferrals), lo.MinReferrals > 0, hi.MinReferrals > 0) &&
		cmp(int64(lo.MinTenureDays), int64(hi.MinTenureDays), lo.MinTenureDays > 0, hi.MinTenureDays > 0)
	return ok && more
}

func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return s != ""
}

func (p *Program) levelNames() []string {
	var out []string
	for _, l := range p.Tiers.Levels {
		out = append(out, l.Name)
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

func (p *Program) rewardIDs() []string {
	var out []string
	for _, r := range p.Rewards {
		out = append(out, r.ID)
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

// Reward returns the reward with the id, or nil.
func (p *Program) Reward(id string) *Reward {
	for i := range p.Rewards {
		if p.Rewards[i].ID == id {
			return &p.Rewards[i]
		}
	}
	return nil
}

// Level returns the tier level with the name, or nil.
func (p *Program) Level(name string) *Level {
	for i := range p.Tiers.Levels {
		if p.Tiers.Levels[i].Name == name {
			return &p.Tiers.Levels[i]
		}
	}
	return nil
}

// Version identifies the program's rules: two programs with the same
// version compute the same points. It is recorded with every order's rule
// snapshot, and computed once, by SetDefaults (a program is not changed
// after it). The settings that only measure the program (point value,
// margin, goals) are left out, so that setting a goal is not a new
// version of the rules.
func (p *Program) Version() string {
	if p.version != "" {
		return p.version
	}
	rules := *p
	rules.PointValue, rules.MarginPercent, rules.Goals = Decimal{}, Decimal{}, Goals{}
	b, _ := json.Marshal(&rules)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// Tag returns the program's tag with the given name ("member" →
// "loyalty-member").
func (p *Program) Tag(name string) string { return p.Tags.Prefix + name }

// IsProgramTag reports whether a tag is one the program owns (and may
// remove).
func (p *Program) IsProgramTag(tag string) bool {
	return len(tag) >= len(p.Tags.Prefix) && strings.EqualFold(tag[:len(p.Tags.Prefix)], p.Tags.Prefix)
}

// cheapestReward returns the smallest points cost in the catalogue, or 0.
func (p *Program) cheapestReward() int64 {
	var c int64
	for _, r := range p.Rewards {
		if c == 0 || r.Points < c {
			c = r.Points
		}
	}
	return c
}
