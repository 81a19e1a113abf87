package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
)

// Outbox item kinds.
const (
	OutboxAddTags    = "tags_add"
	OutboxRemoveTags = "tags_remove"
)

// tagsPayload is the payload of tag items.
type tagsPayload struct {
	Tags []string `json:"tags"`
}

// applyCustomer stores a customer and enrolls it when the program says so.
func (e *Engine) applyCustomer(tx *store.Tx, st *Store, c *commerce.Customer, r *Report) error {
	r.CustomersRead++
	if c.ID == "" {
		return fmt.Errorf("customer without an id from the connector")
	}
	changed, err := tx.UpsertCustomer(st.ID, c)
	if err != nil {
		return err
	}
	if changed {
		r.CustomersChanged++
	}
	if e.Program.Enrolled(c) {
		return e.enroll(tx, st, c.ID, r)
	}
	return nil
}

// enroll makes a customer a member and queues the member tag.
func (e *Engine) enroll(tx *store.Tx, st *Store, customerID string, r *Report) error {
	added, err := tx.Enroll(st.ID, customerID, tx.Now())
	if err != nil || !added {
		return err
	}
	r.Enrolled++
	return e.queueTags(tx, st, customerID, OutboxAddTags, e.Program.Tag("member"), r)
}

// queueTags queues adding or removing program tags on a customer, when the
// store's platform can hold tags.
func (e *Engine) queueTags(tx *store.Tx, st *Store, customerID, kind, tag string, r *Report) error {
	if _, ok := st.Conn.(connectors.TagWriter); !ok {
		return nil
	}
	payload, err := json.Marshal(tagsPayload{Tags: []string{tag}})
	if err != nil {
		return err
	}
	queued, err := tx.Enqueue(store.OutboxItem{
		StoreID:    st.ID,
		Kind:       kind,
		CustomerID: customerID,
		Key:        fmt.Sprintf("%s:%s:%s", kind, customerID, tag),
		Payload:    payload,
	})
	if queued {
		r.Queued++
	}
	return err
}

// applyOrders stores a page of orders and credits each.
func (e *Engine) applyOrders(tx *store.Tx, st *Store, orders []commerce.Order, r *Report) error {
	for i := range orders {
		if err := e.applyOrder(tx, st, &orders[i], r); err != nil {
			return err
		}
	}
	return nil
}

// applyOrder stores one order (unless a newer version is stored) and
// brings its ledger streams to what the newest stored version is worth.
func (e *Engine) applyOrder(tx *store.Tx, st *Store, o *commerce.Order, r *Report) error {
	r.OrdersRead++
	if err := o.Validate(); err != nil {
		r.OrdersRejected++
		e.storeLog(st).WithField(fieldOrderID, o.ID).WithError(err).Warn("order refused: the connector sent an order that does not validate")
		return nil
	}
	res, err := tx.UpsertOrder(st.ID, o)
	if err != nil {
		return err
	}
	if res.Changed {
		r.OrdersChanged++
	}
	if res.Stale {
		r.OrdersStale++
	}
	stored, err := tx.Order(st.ID, o.ID)
	if err != nil {
		return err
	}
	return e.credit(tx, st, stored, r)
}

// Streams of an order in the ledger.
func earnStream(orderID string) string  { return "order:" + orderID + ":earn" }
func bonusStream(orderID string) string { return "order:" + orderID + ":bonus" }

// credit brings an order's ledger streams to its entitlement: what the
// order is worth now under the rules frozen when it was first credited.
// It only ever appends the difference, so crediting the same order state
// again appends nothing.
func (e *Engine) credit(tx *store.Tx, st *Store, o *store.StoredOrder, r *Report) error {
	if o.CustomerID == "" {
		return nil
	}
	var snap loyalty.Snapshot
	if o.Snapshot != nil {
		if err := json.Unmarshal(o.Snapshot, &snap); err != nil {
			return fmt.Errorf("order %s: stored rule snapshot: %w", o.ID, err)
		}
	} else {
		standing, err := e.standing(tx, st, o)
		if err != nil {
			return err
		}
		snap = e.Program.Snapshot(&o.Order, standing)
		ent := loyalty.Entitle(&o.Order, snap, e.Program.Currency)
		if ent.Earn == 0 && ent.Bonus == 0 {
			// Nothing to credit yet (unpaid, say): the rules are frozen
			// when the order first earns.
			return nil
		}
		b, err := json.Marshal(snap)
		if err != nil {
			return err
		}
		if _, err := tx.SetSnapshot(st.ID, o.ID, b, false); err != nil {
			return err
		}
	}
	ent := loyalty.Entitle(&o.Order, snap, e.Program.Currency)
	if err := e.entitle(tx, st, o, earnStream(o.ID), false, ent.Earn, ent.EarnReason, ent.AvailableAt, r); err != nil {
		return err
	}
	return e.entitle(tx, st, o, bonusStream(o.ID), true, ent.Bonus, ent.BonusReason, ent.AvailableAt, r)
}

// standing is what the rules need to know of the customer when an order is
// first credited.
func (e *Engine) standing(tx *store.Tx, st *Store, o *store.StoredOrder) (loyalty.Standing, error) {
	var s loyalty.Standing
	enrolledAt, err := tx.EnrolledAt(st.ID, o.CustomerID)
	if err != nil {
		return s, err
	}
	if enrolledAt.IsZero() && e.Program.Enrollment == loyalty.EnrollOpen {
		// Open enrollment: a customer is a member from first sight, even
		// when the order arrives before the customer record.
		if err := e.enroll(tx, st, o.CustomerID, &Report{}); err != nil {
			return s, err
		}
		enrolledAt = tx.Now()
	}
	s.Enrolled = !enrolledAt.IsZero()
	s.PaidOrdersBefore, err = tx.CreditedOrders(st.ID, o.CustomerID, o.ID)
	return s, err
}

// entitle records a stream's entitlement, naming the entry after the
// direction of the change.
func (e *Engine) entitle(tx *store.Tx, st *Store, o *store.StoredOrder, stream string, bonus bool,
	points int64, reason string, availableAt time.Time, r *Report) error {
	_, total, err := tx.StreamTotal(st.ID, stream)
	if err != nil || total == points {
		return err
	}
	if total != 0 {
		reason = fmt.Sprintf("%s (was %d pts)", reason, total)
	}
	entry, err := tx.Entitle(commerce.LedgerEntry{
		StoreID:     st.ID,
		CustomerID:  o.CustomerID,
		Stream:      stream,
		Kind:        loyalty.DeltaKind(&o.Order, bonus, points-total),
		Total:       points,
		OrderID:     o.ID,
		AvailableAt: availableAt,
		Reason:      reason,
	})
	if err != nil || entry == nil {
		return err
	}
	r.Entries++
	if entry.Points > 0 {
		r.PointsCredited += entry.Points
	} else {
		r.PointsDebited -= entry.Points
	}
	return nil
}

// Apply stores customers and orders that arrived outside a pass (a
// webhook, an import) through the same path as polled pages, in one
// transaction, without moving the cursor: a later poll that reads the same
// records changes nothing.
func (e *Engine) Apply(ctx context.Context, st *Store, customers []commerce.Customer, orders []commerce.Order) (Report, error) {
	r := Report{Store: st.ID}
	err := e.DB.Update(ctx, func(tx *store.Tx) error {
		r = Report{Store: st.ID}
		for i := range customers {
			if err := e.applyCustomer(tx, st, &customers[i], &r); err != nil {
				return err
			}
		}
		return e.applyOrders(tx, st, orders, &r)
	})
	return r, err
}
