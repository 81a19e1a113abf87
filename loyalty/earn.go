package loyalty

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Standing is what the engine needs to know about a customer when one of
// their orders is first credited.
type Standing struct {
	// Enrolled says whether the customer is a member.
	Enrolled bool
	// PaidOrdersBefore counts the customer's other orders already credited
	// as paid; zero makes this order the first.
	PaidOrdersBefore int
}

// Snapshot is the part of the program an order is credited under, frozen
// when the order is first credited. Later refunds and cancellations of the
// order are computed with it, not with whatever the program says by then.
type Snapshot struct {
	// Program is the Version of the program the snapshot was taken from.
	Program string `json:"program"`
	// Enrolled says whether the customer was a member; orders of
	// non-members earn nothing.
	Enrolled bool `json:"enrolled"`
	// PointsPerUnit is the earn rate.
	PointsPerUnit Decimal `json:"points_per_unit"`
	// Bonus is the first-order bonus the order carries, if it was the
	// customer's first paid order.
	Bonus int64 `json:"bonus,omitempty"`
	// PendingDays is how long the order's points stay pending.
	PendingDays int `json:"pending_days"`
}

// Snapshot freezes the rules for an order being credited for the first time.
func (p *Program) Snapshot(o *commerce.Order, s Standing) Snapshot {
	snap := Snapshot{
		Program:       p.Version(),
		Enrolled:      s.Enrolled,
		PointsPerUnit: p.Earn.PointsPerUnit,
		PendingDays:   p.Earn.PendingDays,
	}
	if s.Enrolled && s.PaidOrdersBefore == 0 {
		snap.Bonus = p.Earn.FirstOrderBonus
	}
	return snap
}

// Entitlement is what an order is worth now, under its snapshot.
type Entitlement struct {
	// Eligible is the merchandise amount that earns points.
	Eligible commerce.Money
	// Earn is the points the eligible amount earns.
	Earn int64
	// Bonus is the bonus the order carries while it counts.
	Bonus int64
	// EarnReason and BonusReason explain the two numbers in words.
	EarnReason  string
	BonusReason string
	// AvailableAt is when the order's points stop being pending.
	AvailableAt time.Time
}

// Entitle computes what an order is worth under its snapshot. It is a pure
// function of the order's current state and the snapshot, so computing it
// again for the same information gives the same answer.
func Entitle(o *commerce.Order, snap Snapshot, programCurrency string) Entitlement {
	ent := Entitlement{AvailableAt: o.ProcessedTime().AddDate(0, 0, snap.PendingDays)}
	label := orderLabel(o)
	elig := Eligible(o, programCurrency)
	ent.Eligible = elig.Amount
	switch {
	case !snap.Enrolled:
		ent.EarnReason = label + ": customer not enrolled: 0 pts"
		ent.BonusReason = ent.EarnReason
		return ent
	case elig.Why != "":
		ent.EarnReason = label + ": " + elig.Why + ": 0 pts"
		ent.BonusReason = ent.EarnReason
		return ent
	}
	exp, _ := commerce.Exponent(o.Currency)
	ent.Earn = int64(min(mulFloor(uint64(elig.Amount.Minor), pow10(exp), snap.PointsPerUnit), math.MaxInt64))
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", label)
	if !elig.Refunded.IsZero() {
		fmt.Fprintf(&b, "%s − %s refunded = ", elig.Gross, elig.Refunded.Decimal())
	}
	fmt.Fprintf(&b, "%s × %s pt = %d pts", elig.Amount, snap.PointsPerUnit, ent.Earn)
	ent.EarnReason = b.String()
	if snap.Bonus > 0 {
		if elig.Amount.Sign() > 0 {
			ent.Bonus = snap.Bonus
			ent.BonusReason = fmt.Sprintf("%s: first-order bonus = %d pts", label, snap.Bonus)
		} else {
			ent.BonusReason = fmt.Sprintf("%s: first-order bonus withdrawn, nothing left of the order: 0 pts", label)
		}
	}
	return ent
}

func orderLabel(o *commerce.Order) string {
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

// DeltaKind names the ledger entry that moves an order's stream by delta
// points: more points are earnings (or a bonus), fewer are a refund
// adjustment, or a cancellation adjustment when the order stopped counting
// altogether.
func DeltaKind(o *commerce.Order, bonus bool, delta int64) commerce.EntryKind {
	switch {
	case delta > 0 && bonus:
		return commerce.KindBonus
	case delta > 0:
		return commerce.KindEarn
	case o.Cancelled() || o.Test || !o.State.Paid() || o.State == commerce.StateVoided:
		return commerce.KindAdjustCancel
	}
	return commerce.KindAdjustRefund
}
