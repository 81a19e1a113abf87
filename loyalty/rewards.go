package loyalty

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Errors of redemption, tested with errors.Is.
var (
	// ErrUnknownReward: the catalogue has no such reward.
	ErrUnknownReward = errors.New("unknown reward")
	// ErrInsufficientPoints: the available balance does not cover the reward.
	ErrInsufficientPoints = errors.New("not enough points available")
	// ErrNegativeBalance: the balance is negative (points already spent
	// were taken back), which blocks redemption.
	ErrNegativeBalance = errors.New("the balance is negative")
	// ErrNotMember: only members redeem.
	ErrNotMember = errors.New("not a member")
)

// CanRedeem checks that a member with a balance can buy a reward.
func (p *Program) CanRedeem(rewardID string, b Balance) (*Reward, error) {
	r := p.Reward(rewardID)
	if r == nil {
		return nil, fmt.Errorf("%w %q (rewards: %s)", ErrUnknownReward, rewardID, strings.Join(p.rewardIDs(), ", "))
	}
	switch {
	case b.Available < 0:
		return r, fmt.Errorf("%w (%d points): it must be brought back above zero first", ErrNegativeBalance, b.Available)
	case b.Available < r.Points:
		return r, fmt.Errorf("%w: %q costs %d, %d available", ErrInsufficientPoints, r.ID, r.Points, b.Available)
	}
	return r, nil
}

// codeEncoding avoids characters a customer may confuse: no 0 or O, no 1 or I.
var codeEncoding = base32.NewEncoding("ABCDEFGHJKLMNPQRSTUVWXYZ23456789").WithPadding(base32.NoPadding)

// deriveCode returns prefix + 10 characters derived from the parts, the
// same every time for the same parts, so that writing a code twice writes
// the same code.
func deriveCode(prefix string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return prefix + codeEncoding.EncodeToString(sum[:])[:10]
}

// RewardCode is the discount code of a redemption, derived from the store,
// the customer and the redemption id.
func (p *Program) RewardCode(storeID, customerID string, redemptionID int64) string {
	return deriveCode(p.Codes.Prefix, "reward", storeID, customerID, strconv.FormatInt(redemptionID, 10))
}

// ReferralCode is a member's personal referral code.
func (p *Program) ReferralCode(storeID, customerID string) string {
	return deriveCode(p.Referrals.CodePrefix, "referral", storeID, customerID)
}

// RewardDiscount describes the discount code of a reward bought at.
func (p *Program) RewardDiscount(r *Reward, code string, customer *commerce.Customer, at time.Time) commerce.DiscountCode {
	d := commerce.DiscountCode{
		Code:         code,
		CustomerID:   customer.ID,
		Email:        customer.Email,
		Type:         commerce.DiscountType(r.Type),
		MinimumOrder: r.MinOrder.money,
		StartsAt:     at,
		Title:        "Loyalty reward: " + r.Title(p.Currency),
	}
	p.setValue(&d, r.Type, r.Value)
	if r.ExpiresAfterDays > 0 {
		d.ExpiresAt = at.AddDate(0, 0, r.ExpiresAfterDays)
	}
	return d
}

// ReferralDiscount describes a member's referral code: the friend's
// discount, usable once per customer by anyone but its owner.
func (p *Program) ReferralDiscount(code string, owner *commerce.Customer, at time.Time) commerce.DiscountCode {
	f := p.Referrals.FriendReward
	d := commerce.DiscountCode{
		Code:         code,
		Type:         commerce.DiscountType(f.Type),
		MinimumOrder: f.MinOrder.money,
		StartsAt:     at,
		Shared:       true,
		OwnerID:      owner.ID,
		Title:        "Referral from a member",
	}
	p.setValue(&d, f.Type, f.Value)
	return d
}

func (p *Program) setValue(d *commerce.DiscountCode, typ string, v Decimal) {
	switch typ {
	case RewardFixedAmount:
		m, _ := commerce.ParseMoney(v.String(), p.Currency)
		d.Amount = m
	case RewardPercentage:
		d.PercentBP = int(v.micro / 10_000)
	}
}

// Title names a reward for people: its Name, or what it gives.
func (r *Reward) Title(currency string) string {
	if r.Name != "" {
		return r.Name
	}
	switch r.Type {
	case RewardFixedAmount:
		m, _ := commerce.ParseMoney(r.Value.String(), currency)
		return m.String() + " off"
	case RewardPercentage:
		return r.Value.String() + " % off"
	}
	return "free shipping"
}

// BudgetValue is what a reward counts against the auto-redeem budget: its
// amount for a fixed-amount reward, its budget_value otherwise.
func (p *Program) BudgetValue(r *Reward) commerce.Money {
	if r.Type == RewardFixedAmount {
		m, _ := commerce.ParseMoney(r.Value.String(), p.Currency)
		return m
	}
	return r.BudgetValue.money
}

// AutoRedeemDue says whether the auto-redeem reward should be issued to a
// member with a balance, given the value already issued automatically this
// month. It returns the reward, or nil with the reason it is not due.
func (p *Program) AutoRedeemDue(b Balance, usedThisMonth commerce.Money) (*Reward, string) {
	if p.AutoRedeem.Reward == "" {
		return nil, "no auto_redeem reward"
	}
	r, err := p.CanRedeem(p.AutoRedeem.Reward, b)
	if err != nil {
		return nil, err.Error()
	}
	if budget := p.AutoRedeem.MonthlyBudget; budget.Set() {
		if usedThisMonth.Add(p.BudgetValue(r)).Minor > budget.money.Minor {
			return nil, fmt.Sprintf("monthly budget of %s reached (%s used)", budget.money, usedThisMonth)
		}
	}
	return r, ""
}

// MonthStart returns the first moment of at's month in the program's time
// zone: where the auto-redeem budget starts over.
func (p *Program) MonthStart(at time.Time) time.Time {
	t := at.In(p.Location())
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, p.Location())
}
