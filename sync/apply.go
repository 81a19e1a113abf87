package sync

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
)

// batch is one transaction's worth of work: what it did, and the
// customers whose standing must be brought up to date before it commits.
type batch struct {
	st      *Store
	r       *Report
	touched map[string]bool
}

func newBatch(st *Store, r *Report) *batch {
	return &batch{st: st, r: r, touched: map[string]bool{}}
}

// touch marks a customer for a refresh at the end of the batch.
func (b *batch) touch(customerID string) {
	if customerID != "" {
		b.touched[customerID] = true
	}
}

// finish refreshes every touched customer: tier, expiry, auto-redeem,
// tags and fields. Refreshing may touch more customers (a referrer), so
// it runs until nothing is left.
func (e *Engine) finish(tx *store.Tx, b *batch) error {
	for len(b.touched) > 0 {
		ids := make([]string, 0, len(b.touched))
		for id := range b.touched {
			ids = append(ids, id)
		}
		clear(b.touched)
		slices.Sort(ids)
		for _, id := range ids {
			if err := e.refresh(tx, b, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyCustomer stores a customer and places it in the program.
func (e *Engine) applyCustomer(tx *store.Tx, b *batch, c *commerce.Customer) error {
	b.r.CustomersRead++
	if c.ID == "" {
		return fmt.Errorf("customer without an id from the connector")
	}
	changed, err := tx.UpsertCustomer(b.st.ID, c)
	if err != nil {
		return err
	}
	if changed {
		b.r.CustomersChanged++
	}
	stored, err := tx.Customer(b.st.ID, c.ID)
	if err != nil {
		return err
	}
	// Placing touches the customer when its place changes; otherwise a
	// customer update (often the echo of our own tag write) changes
	// nothing the program derives.
	_, err = e.place(tx, b, c.ID, &stored.Customer)
	return err
}

// applyOrders stores a page of orders and credits each.
func (e *Engine) applyOrders(tx *store.Tx, b *batch, orders []commerce.Order) error {
	for i := range orders {
		if err := e.applyOrder(tx, b, &orders[i]); err != nil {
			return err
		}
	}
	return nil
}

// applyOrder stores one order (unless a newer version is stored) and
// brings the ledger to what the newest stored version is worth.
func (e *Engine) applyOrder(tx *store.Tx, b *batch, o *commerce.Order) error {
	b.r.OrdersRead++
	if err := o.Validate(); err != nil {
		b.r.OrdersRejected++
		e.storeLog(b.st).WithField(fieldOrderID, o.ID).WithError(err).Warn("order refused: the connector sent an order that does not validate")
		return nil
	}
	res, err := tx.UpsertOrder(b.st.ID, o)
	if err != nil {
		return err
	}
	if res.Changed {
		b.r.OrdersChanged++
	}
	if res.Stale {
		b.r.OrdersStale++
	}
	stored := res.Stored
	if stored == nil {
		// The stored version is the same or newer: credit that one.
		if stored, err = tx.Order(b.st.ID, o.ID); err != nil {
			return err
		}
	}
	if err := tx.SetEligible(b.st.ID, o.ID, loyalty.Eligible(&stored.Order, e.Program.Currency).Amount.Minor); err != nil {
		return err
	}
	if err := e.credit(tx, b, stored); err != nil {
		return err
	}
	return e.codesUsed(tx, b, stored)
}

// Apply stores customers and orders that arrived outside a pass (a
// webhook, an import) through the same path as polled pages, in one
// transaction, without moving the cursor: a later poll that reads the same
// records changes nothing.
func (e *Engine) Apply(ctx context.Context, st *Store, customers []commerce.Customer, orders []commerce.Order) (Report, error) {
	var r Report
	err := e.DB.Update(ctx, func(tx *store.Tx) error {
		r = Report{Store: st.ID}
		b := newBatch(st, &r)
		for i := range customers {
			if err := e.applyCustomer(tx, b, &customers[i]); err != nil {
				return err
			}
		}
		if err := e.applyOrders(tx, b, orders); err != nil {
			return err
		}
		return e.finish(tx, b)
	})
	return r, err
}

// codesUsed records what the discount codes on an order mean to the
// program: a reward code used, or a referral code bringing a friend.
func (e *Engine) codesUsed(tx *store.Tx, b *batch, o *store.StoredOrder) error {
	for _, cu := range o.Codes {
		red, err := tx.RedemptionByCode(b.st.ID, cu.Code)
		switch {
		case err == nil:
			if err := e.rewardCodeUsed(tx, b, red, o); err != nil {
				return err
			}
			continue
		case !isNotFound(err):
			return err
		}
		if !e.Program.Referrals.Enabled() {
			continue
		}
		owner, err := tx.MemberByReferralCode(b.st.ID, cu.Code)
		switch {
		case isNotFound(err):
			continue
		case err != nil:
			return err
		}
		if err := e.referralClaim(tx, b, owner, cu.Code, o); err != nil {
			return err
		}
	}
	return nil
}

// rewardCodeUsed marks a redemption used by a paid order.
func (e *Engine) rewardCodeUsed(tx *store.Tx, b *batch, red *store.Redemption, o *store.StoredOrder) error {
	if !o.State.Paid() || o.Cancelled() {
		return nil
	}
	if red.Status != store.RedemptionIssued && red.Status != store.RedemptionCreated && red.Status != store.RedemptionExpired {
		return nil
	}
	red.Status, red.UsedAt, red.UsedOrderID = store.RedemptionUsed, o.ProcessedTime(), o.ID
	b.touch(red.CustomerID)
	return tx.UpdateRedemption(red)
}

// referralClaim judges a friend's order that used a member's referral code
// and records the referral as pending (rewarded once the order's points
// become available) or refused, with the reason.
func (e *Engine) referralClaim(tx *store.Tx, b *batch, owner *store.Member, code string, o *store.StoredOrder) error {
	if _, err := tx.ReferralOf(b.st.ID, o.ID); err == nil || !isNotFound(err) {
		return err // already judged (or a real error)
	}
	if !o.State.Paid() || o.Cancelled() || o.Test {
		return nil // judged when it is paid
	}
	referrer, err := tx.Customer(b.st.ID, owner.CustomerID)
	if err != nil && !isNotFound(err) {
		return err
	}
	claim := loyalty.ReferralClaim{ReferrerID: owner.CustomerID, Order: &o.Order, FriendEmail: o.Email}
	if referrer != nil {
		claim.ReferrerEmail = referrer.Email
	}
	referrerOrders, err := tx.CustomerOrders(b.st.ID, owner.CustomerID)
	if err != nil {
		return err
	}
	for _, ro := range referrerOrders {
		if ro.ShippingAddress != nil {
			claim.ReferrerAddresses = append(claim.ReferrerAddresses, *ro.ShippingAddress)
		}
	}
	if o.CustomerID != "" {
		friendOrders, err := tx.CustomerOrders(b.st.ID, o.CustomerID)
		if err != nil {
			return err
		}
		for _, fo := range friendOrders {
			if fo.ID != o.ID && fo.State.Paid() && fo.ProcessedTime().Before(o.ProcessedTime()) {
				claim.FriendPaidOrdersBefore++
			}
		}
	}
	ok, reason := loyalty.JudgeReferral(claim)
	ref := &store.Referral{StoreID: b.st.ID, FriendOrderID: o.ID, ReferrerID: owner.CustomerID, FriendID: o.CustomerID,
		Code: code, Points: e.Program.Referrals.ReferrerPoints, Status: store.ReferralPending,
		AvailableAt: o.ProcessedTime().AddDate(0, 0, e.Program.Earn.PendingDays)}
	if !ok {
		ref.Status, ref.Reason = store.ReferralRefused, reason
		b.r.ReferralsRefused++
		e.storeLog(b.st).WithField(fieldOrderID, o.ID).WithField("reason", reason).Info("referral refused")
	}
	return tx.SaveReferral(ref)
}

// Settle rewards the referrals that came due: their friend's order is past
// its pending period and still counts. It is part of every pass.
func (e *Engine) Settle(ctx context.Context, st *Store, r *Report) error {
	if !e.Program.Referrals.Enabled() {
		return nil
	}
	var pr Report
	err := e.DB.Update(ctx, func(tx *store.Tx) error {
		pr = Report{Store: st.ID}
		b := newBatch(st, &pr)
		if err := e.settleReferrals(tx, b, tx.Now()); err != nil {
			return err
		}
		return e.finish(tx, b)
	})
	r.Add(pr)
	return err
}

// settleReferrals rewards the pending referrals whose friend's order is
// past its pending period and still counts, and cancels those whose order
// stopped counting first.
func (e *Engine) settleReferrals(tx *store.Tx, b *batch, now time.Time) error {
	pending, err := tx.Referrals(b.st.ID, "", store.ReferralPending)
	if err != nil {
		return err
	}
	for _, ref := range pending {
		o, err := tx.Order(b.st.ID, ref.FriendOrderID)
		if err != nil {
			return err
		}
		if loyalty.Eligible(&o.Order, e.Program.Currency).Amount.Sign() <= 0 {
			ref.Status, ref.Reason = store.ReferralCancelled, "the friend's order was cancelled or refunded before its points became available"
			if err := tx.SaveReferral(ref); err != nil {
				return err
			}
			continue
		}
		if now.Before(ref.AvailableAt) {
			continue
		}
		ref.Status, ref.RewardedAt = store.ReferralRewarded, now
		if err := tx.SaveReferral(ref); err != nil {
			return err
		}
		points := ref.Points
		reason := fmt.Sprintf("Referral: %s, a friend's first order, paid and past its pending period = %d pts",
			loyalty.OrderLabel(&o.Order), points)
		if _, err := e.entitleStream(tx, b, ref.ReferrerID, referralStream(ref.FriendOrderID), commerce.KindReferral,
			points, ref.FriendOrderID, now, reason); err != nil {
			return err
		}
		b.r.ReferralsRewarded++
		if err := e.emit(tx, b, ref.ReferrerID, EventReferralRewarded, ref.FriendOrderID,
			map[string]any{"friend_order_id": ref.FriendOrderID, "points": points}); err != nil {
			return err
		}
		b.touch(ref.ReferrerID)
	}
	return nil
}
