package sync

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
)

// Ledger streams. Each is one thing worth points; its entries carry the
// difference between what it is worth now and what it was credited.
func earnStream(orderID string) string     { return "order:" + orderID + ":earn" }
func bonusStream(customerID string) string { return "bonus:" + customerID }
func referralStream(orderID string) string { return "referral:" + orderID }
func redeemStream(id int64) string         { return fmt.Sprintf("redeem:%d", id) }
func manualStream(auditID int64) string    { return fmt.Sprintf("manual:%d", auditID) }
func expireStream(c string, at time.Time) string {
	return "expire:" + c + ":" + at.UTC().Format("2006-01-02")
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// credit brings an order's ledger stream to its entitlement: what the
// order is worth now under the rules frozen when it was first credited,
// and the customer's first-order bonus with it. It only ever appends the
// difference, so crediting the same order state again appends nothing.
func (e *Engine) credit(tx *store.Tx, b *batch, o *store.StoredOrder) error {
	if o.CustomerID == "" {
		return nil
	}
	if !o.DeletedAt.IsZero() {
		return e.creditDeleted(tx, b, o)
	}
	snap, ok, err := e.snapshot(tx, b, o)
	if err != nil || !ok {
		return err
	}
	ent := loyalty.Entitle(&o.Order, snap, e.Program.Currency)
	_, total, err := tx.StreamTotal(b.st.ID, earnStream(o.ID))
	if err != nil {
		return err
	}
	if total == ent.Earn {
		// Nothing changed for the order itself (the common case of a
		// duplicate delivery); an order that earns no points can still
		// hold or lose the first-order bonus.
		if snap.Bonus > 0 {
			return e.creditBonus(tx, b, o.CustomerID)
		}
		return nil
	}
	reason := ent.Reason(&o.Order, snap)
	if total != 0 {
		reason = fmt.Sprintf("%s (was %d pts)", reason, total)
	}
	if _, err := e.entitleStream(tx, b, o.CustomerID, earnStream(o.ID), loyalty.DeltaKind(&o.Order, ent.Earn-total),
		ent.Earn, o.ID, ent.AvailableAt, reason); err != nil {
		return err
	}
	b.touch(o.CustomerID)
	return e.creditBonus(tx, b, o.CustomerID)
}

// creditDeleted takes back what an order deleted on the platform earned.
func (e *Engine) creditDeleted(tx *store.Tx, b *batch, o *store.StoredOrder) error {
	_, total, err := tx.StreamTotal(b.st.ID, earnStream(o.ID))
	if err != nil {
		return err
	}
	if total != 0 {
		reason := fmt.Sprintf("%s deleted on the platform: 0 pts (was %d pts)", loyalty.OrderLabel(&o.Order), total)
		if _, err := e.entitleStream(tx, b, o.CustomerID, earnStream(o.ID), commerce.KindAdjustCancel, 0, o.ID, tx.Now(), reason); err != nil {
			return err
		}
		b.touch(o.CustomerID)
	}
	return e.creditBonus(tx, b, o.CustomerID)
}

// snapshot returns the order's frozen rules, freezing them now if the
// order earns for the first time. It reports false when the order does not
// earn (the customer is not a member, the order predates the program, or
// it has nothing eligible yet).
func (e *Engine) snapshot(tx *store.Tx, b *batch, o *store.StoredOrder) (loyalty.Snapshot, bool, error) {
	var snap loyalty.Snapshot
	if o.Snapshot != nil {
		if err := json.Unmarshal(o.Snapshot, &snap); err != nil {
			return snap, false, fmt.Errorf("order %s: stored rule snapshot: %w", o.ID, err)
		}
		return snap, true, nil
	}
	if loyalty.Eligible(&o.Order, e.Program.Currency).Amount.Sign() <= 0 {
		// Nothing to credit yet (unpaid, say): the rules are frozen when
		// the order first earns.
		return snap, false, nil
	}
	m, err := e.place(tx, b, o.CustomerID, nil)
	if err != nil {
		return snap, false, err
	}
	if m.Cohort == store.CohortMember {
		// The tier held before this order is the tier earned by every
		// order credited before it, whether they came in this batch or
		// earlier, so that how orders are batched never changes points.
		if err := e.updateTier(tx, b, m); err != nil {
			return snap, false, err
		}
	}
	standing := loyalty.Standing{
		Member:     m.Cohort == store.CohortMember,
		CountsFrom: e.Program.CountsFrom(b.st.launch, m.EnrolledAt),
		Tier:       m.Tier,
	}
	snap, ok := e.Program.Snapshot(&o.Order, standing)
	if !ok {
		if standing.Member {
			b.r.OrdersBeforeLaunch++
		}
		return snap, false, nil
	}
	raw, err := json.Marshal(snap)
	if err != nil {
		return snap, false, err
	}
	if _, err := tx.SetSnapshot(b.st.ID, o.ID, raw, false); err != nil {
		return snap, false, err
	}
	o.Snapshot = raw
	return snap, true, nil
}

// creditBonus brings the customer's first-order bonus stream to what their
// credited orders entitle them to.
func (e *Engine) creditBonus(tx *store.Tx, b *batch, customerID string) error {
	// The bonus follows the earliest counting order, so that one is all it
	// needs to see (or the earliest credited one, when none counts).
	first, err := tx.FirstCreditedOrder(b.st.ID, customerID)
	if err != nil && !isNotFound(err) {
		return err
	}
	var credited []loyalty.CreditedOrder
	if first != nil {
		var snap loyalty.Snapshot
		if err := json.Unmarshal(first.Snapshot, &snap); err != nil {
			return fmt.Errorf("order %s: stored rule snapshot: %w", first.ID, err)
		}
		credited = append(credited, loyalty.CreditedOrder{Order: &first.Order, Snapshot: snap})
	}
	bonus := loyalty.FirstOrderBonus(credited, e.Program.Currency)
	_, total, err := tx.StreamTotal(b.st.ID, bonusStream(customerID))
	if err != nil || total == bonus.Points {
		return err
	}
	kind := commerce.KindBonus
	at := time.Time{}
	for _, co := range credited {
		if co.Order.ID == bonus.OrderID {
			at = co.Order.ProcessedTime().AddDate(0, 0, co.Snapshot.PendingDays)
			if bonus.Points < total {
				kind = loyalty.DeltaKind(co.Order, bonus.Points-total)
			}
		}
	}
	if bonus.Points < total && kind == commerce.KindBonus {
		kind = commerce.KindAdjustCancel
	}
	_, err = e.entitleStream(tx, b, customerID, bonusStream(customerID), kind, bonus.Points, bonus.OrderID, at, bonus.Reason)
	b.touch(customerID)
	return err
}

// creditedOrders returns the customer's orders with a frozen snapshot.
func (e *Engine) creditedOrders(tx *store.Tx, st *Store, customerID string) ([]loyalty.CreditedOrder, error) {
	orders, err := tx.CustomerOrders(st.ID, customerID)
	if err != nil {
		return nil, err
	}
	var out []loyalty.CreditedOrder
	for _, o := range orders {
		if o.Snapshot == nil || !o.DeletedAt.IsZero() {
			continue
		}
		var snap loyalty.Snapshot
		if err := json.Unmarshal(o.Snapshot, &snap); err != nil {
			return nil, fmt.Errorf("order %s: stored rule snapshot: %w", o.ID, err)
		}
		out = append(out, loyalty.CreditedOrder{Order: &o.Order, Snapshot: snap})
	}
	return out, nil
}

// entitleStream records that a stream is now worth total points, appending
// the difference if there is one, and counts it.
func (e *Engine) entitleStream(tx *store.Tx, b *batch, customerID, stream string, kind commerce.EntryKind,
	total int64, orderID string, availableAt time.Time, reason string) (*commerce.LedgerEntry, error) {
	entry, err := tx.Entitle(commerce.LedgerEntry{
		StoreID:     b.st.ID,
		CustomerID:  customerID,
		Stream:      stream,
		Kind:        kind,
		Total:       total,
		OrderID:     orderID,
		AvailableAt: availableAt,
		Reason:      reason,
	})
	if err != nil || entry == nil {
		return entry, err
	}
	b.r.Entries++
	if entry.Points > 0 {
		b.r.PointsCredited += entry.Points
	} else {
		b.r.PointsDebited -= entry.Points
	}
	return entry, nil
}
