package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
)

// redeem buys a reward for a member inside a transaction: it checks the
// balance, records the redemption, takes the points, queues the discount
// code for the platform, and (for staff) writes the audit log.
func (e *Engine) redeem(tx *store.Tx, b *batch, customerID string, r *loyalty.Reward, actor string, auto bool) (*store.Redemption, error) {
	now := tx.Now()
	m, err := e.place(tx, b, customerID, nil)
	if err != nil {
		return nil, err
	}
	if m.Cohort != store.CohortMember {
		return nil, fmt.Errorf("customer %s: %w (%s)", customerID, loyalty.ErrNotMember, m.Cohort)
	}
	entries, err := tx.Ledger(b.st.ID, customerID)
	if err != nil {
		return nil, err
	}
	if _, err := e.Program.CanRedeem(r.ID, loyalty.ComputeBalance(entries, now)); err != nil {
		return nil, err
	}
	cust := &commerce.Customer{ID: customerID}
	if c, err := tx.Customer(b.st.ID, customerID); err == nil {
		cust = &c.Customer
	} else if !isNotFound(err) {
		return nil, err
	}
	red := &store.Redemption{StoreID: b.st.ID, CustomerID: customerID, RewardID: r.ID, Points: r.Points,
		Value: e.Program.BudgetValue(r), Auto: auto, Actor: actor}
	if r.ExpiresAfterDays > 0 {
		red.ExpiresAt = now.AddDate(0, 0, r.ExpiresAfterDays)
	}
	if err := tx.CreateRedemption(red, func(id int64) string { return e.Program.RewardCode(b.st.ID, customerID, id) }); err != nil {
		return nil, err
	}
	how := "Redeemed"
	if auto {
		how = "Issued automatically"
	}
	reason := fmt.Sprintf("%s %q (%s): code %s", how, r.Title(e.Program.Currency), r.ID, red.Code)
	if _, err := e.entitleStream(tx, b, customerID, redeemStream(red.ID), commerce.KindRedeem, -r.Points, "", now, reason); err != nil {
		return nil, err
	}
	if err := e.queueDiscount(tx, b, customerID, red.ID, e.Program.RewardDiscount(r, red.Code, cust, now)); err != nil {
		return nil, err
	}
	data := map[string]any{"reward": r.ID, "title": r.Title(e.Program.Currency), "code": red.Code, "points": r.Points, "automatic": auto}
	if !red.ExpiresAt.IsZero() {
		data["expires_at"] = red.ExpiresAt
	}
	if err := e.emit(tx, b, customerID, EventRewardIssued, fmt.Sprint(red.ID), data); err != nil {
		return nil, err
	}
	if actor != "" {
		if _, err := tx.Audit(store.AuditEntry{Actor: actor, Action: "redeem", StoreID: b.st.ID, CustomerID: customerID,
			Detail: fmt.Sprintf("%s for %d points, code %s", r.ID, r.Points, red.Code)}); err != nil {
			return nil, err
		}
	}
	b.r.Redeemed++
	b.touch(customerID)
	return red, nil
}

// Redeem buys a reward with a member's points on behalf of staff (actor):
// the points are taken at once and the discount code is queued for the
// platform. It returns loyalty.ErrUnknownReward, ErrInsufficientPoints,
// ErrNegativeBalance or ErrNotMember (wrapped) when the redemption is not
// possible.
func (e *Engine) Redeem(ctx context.Context, st *Store, customerID, rewardID, actor string) (*store.Redemption, error) {
	if strings.TrimSpace(actor) == "" {
		return nil, errors.New("redeem: the staff member's name is required")
	}
	var red *store.Redemption
	err := e.DB.Update(ctx, func(tx *store.Tx) error {
		b := newBatch(st, &Report{Store: st.ID})
		r := e.Program.Reward(rewardID)
		if r == nil {
			_, err := e.Program.CanRedeem(rewardID, loyalty.Balance{})
			return err
		}
		var err error
		if red, err = e.redeem(tx, b, customerID, r, actor, false); err != nil {
			return err
		}
		return e.finish(tx, b)
	})
	if err == nil {
		// The code is written to the store while the customer waits.
		e.wake(st.ID, wakeOutbox)
	}
	return red, err
}

// Adjust changes a member's points by hand: points (positive or negative)
// with a reason and the staff member's name, both required, written to the
// ledger and the audit log.
func (e *Engine) Adjust(ctx context.Context, st *Store, customerID string, points int64, reason, actor string) (*commerce.LedgerEntry, error) {
	switch {
	case points == 0:
		return nil, errors.New("adjust: points must not be 0")
	case strings.TrimSpace(reason) == "":
		return nil, errors.New("adjust: a reason is required: it is shown to staff and kept in the audit log")
	case strings.TrimSpace(actor) == "":
		return nil, errors.New("adjust: the staff member's name is required")
	}
	var entry *commerce.LedgerEntry
	err := e.DB.Update(ctx, func(tx *store.Tx) error {
		b := newBatch(st, &Report{Store: st.ID})
		if _, err := tx.Customer(st.ID, customerID); err != nil {
			return err
		}
		m, err := e.place(tx, b, customerID, nil)
		if err != nil {
			return err
		}
		if m.Cohort != store.CohortMember {
			return fmt.Errorf("customer %s: %w (%s): points would blur the program's measurement", customerID, loyalty.ErrNotMember, m.Cohort)
		}
		id, err := tx.Audit(store.AuditEntry{Actor: actor, Action: "adjust", StoreID: st.ID, CustomerID: customerID,
			Detail: fmt.Sprintf("%+d points: %s", points, reason)})
		if err != nil {
			return err
		}
		if entry, err = tx.Entitle(commerce.LedgerEntry{StoreID: st.ID, CustomerID: customerID, Stream: manualStream(id),
			Kind: commerce.KindManual, Total: points, Reason: reason, Actor: actor}); err != nil {
			return err
		}
		b.touch(customerID)
		return e.finish(tx, b)
	})
	if err == nil {
		e.wake(st.ID, wakeOutbox)
	}
	return entry, err
}

// returnPoints gives back the points of a redemption whose code the
// platform refused for good, with a compensating entry, and marks it
// failed.
func (e *Engine) returnPoints(tx *store.Tx, b *batch, redemptionID int64, why string) error {
	red, err := tx.Redemption(b.st.ID, redemptionID)
	if err != nil {
		return err
	}
	if red.Status == store.RedemptionFailed {
		return nil
	}
	red.Status, red.Reason = store.RedemptionFailed, why
	if err := tx.UpdateRedemption(red); err != nil {
		return err
	}
	reason := fmt.Sprintf("Code %s refused by the platform (%s): %d points returned", red.Code, why, red.Points)
	if _, err := e.entitleStream(tx, b, red.CustomerID, redeemStream(red.ID), commerce.KindRedeemReturn, 0, "", tx.Now(), reason); err != nil {
		return err
	}
	b.r.RedeemReturned++
	b.touch(red.CustomerID)
	return nil
}
