package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
)

// Receive stores a verified webhook delivery in the inbox, durably, under
// its dedupe key, and wakes the store's processor. A delivery whose body
// could not be decoded (rejected is the reason) is kept for inspection
// and not applied. It reports whether the delivery was a duplicate.
func (e *Engine) Receive(ctx context.Context, storeID string, event commerce.Event, body []byte, rejected string) (bool, error) {
	ev := &store.InboxEvent{StoreID: storeID, DedupeKey: event.DedupeKey, Topic: event.Topic,
		Kind: string(event.Kind), ResourceID: event.ResourceID, Body: body}
	if rejected != "" {
		ev.Status, ev.Error = store.InboxRejected, rejected
	} else {
		b, err := json.Marshal(event)
		if err != nil {
			return false, err
		}
		ev.Event = b
	}
	if ev.DedupeKey == "" {
		return false, fmt.Errorf("delivery without a dedupe key from the connector")
	}
	var dup bool
	var err error
	if e.Inbox != nil {
		dup, err = e.Inbox.Put(ctx, ev)
	} else {
		err = e.DB.Durable(ctx, func(tx *store.Tx) (err error) { dup, err = tx.PutInbox(ev); return })
	}
	if err == nil && !dup {
		e.wake(storeID, wakeInbox)
	}
	return dup, err
}

// ProcessInbox applies a store's pending webhook deliveries, in the order
// they arrived, each through the same path as polled records and marked
// done in the same transaction. A delivery that cannot be applied is
// marked failed with the reason (polling brings the truth anyway).
func (e *Engine) ProcessInbox(ctx context.Context, st *Store, r *Report) error {
	for {
		var pending []store.InboxEvent
		if err := e.DB.View(ctx, func(tx *store.Tx) (err error) { pending, err = tx.PendingInbox(st.ID, 100); return }); err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		for _, in := range pending {
			fetched := e.fetch(ctx, st, in)
			var pr Report
			err := e.DB.Update(ctx, func(tx *store.Tx) error {
				pr = Report{Store: st.ID}
				b := newBatch(st, &pr)
				status, why, err := e.applyEvent(tx, b, in, fetched)
				if err != nil {
					// Roll back what the delivery half applied.
					return err
				}
				if err := tx.InboxDone(in.ID, status, why); err != nil {
					return err
				}
				return e.finish(tx, b)
			})
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if errors.Is(err, store.ErrFull) {
					// Nothing can be applied until there is space: the
					// delivery stays pending, and is applied then.
					return err
				}
				// A transaction that failed for this delivery is recorded
				// and left to polling; the next delivery is not held up.
				e.storeLog(st).WithError(err).WithField("inbox_id", in.ID).Error("webhook delivery could not be applied")
				if err := e.DB.Update(ctx, func(tx *store.Tx) error {
					return tx.InboxDone(in.ID, store.InboxFailed, err.Error())
				}); err != nil {
					return err
				}
				continue
			}
			pr.WebhooksApplied++
			r.Add(pr)
		}
	}
}

// fetch reads the order a delivery names without its state, when the
// connector can read one order; nil otherwise (or when it fails: polling
// brings it).
func (e *Engine) fetch(ctx context.Context, st *Store, in store.InboxEvent) *commerce.Order {
	if in.Kind != string(commerce.EventOrder) || in.ResourceID == "" {
		return nil
	}
	var ev commerce.Event
	if json.Unmarshal(in.Event, &ev) != nil || ev.Order != nil {
		return nil
	}
	f, ok := st.Conn.(connectors.OrderFetcher)
	if !ok {
		return nil
	}
	o, err := f.Order(ctx, in.ResourceID)
	if err != nil {
		e.storeLog(st).WithError(err).WithField(fieldOrderID, in.ResourceID).Warn("could not read the order a webhook named; the next poll will")
		return nil
	}
	return &o
}

// applyEvent applies one delivery (with the order fetched for it, if any)
// and says what became of it. An error means the delivery could not be
// applied, and what it wrote must be rolled back.
func (e *Engine) applyEvent(tx *store.Tx, b *batch, in store.InboxEvent, fetched *commerce.Order) (status, why string, err error) {
	var ev commerce.Event
	if err := json.Unmarshal(in.Event, &ev); err != nil {
		return store.InboxFailed, "stored event: " + err.Error(), nil
	}
	if ev.Order == nil {
		ev.Order = fetched
	}
	now := tx.Now()
	switch ev.Kind {
	case commerce.EventOrder:
		if ev.Order == nil {
			// The delivery names the order without its state (a refund
			// notice): the next poll reads it; ask for one now.
			e.wake(b.st.ID, wakePoll)
			return store.InboxProcessed, "order state left to polling", nil
		}
		err = e.applyOrder(tx, b, ev.Order)
	case commerce.EventCustomer:
		if ev.Customer == nil {
			e.wake(b.st.ID, wakePoll)
			return store.InboxProcessed, "customer left to polling", nil
		}
		err = e.applyCustomer(tx, b, ev.Customer)
	case commerce.EventOrderDeleted:
		err = e.deleteOrder(tx, b, ev.ResourceID, now)
	case commerce.EventCustomerDeleted:
		_, err = tx.DeleteCustomer(b.st.ID, ev.ResourceID, now)
	case commerce.EventCustomerRedact:
		err = e.redactCustomer(tx, b, ev)
	case commerce.EventCustomerDataRequest:
		err = e.exportCustomer(tx, b, ev)
	case commerce.EventShopRedact:
		var n int
		if n, err = tx.RedactStore(b.st.ID); err == nil {
			_, err = tx.Audit(store.AuditEntry{Actor: "platform", Action: "shop_redact", StoreID: b.st.ID,
				Detail: fmt.Sprintf("personal data erased from %d records", n)})
		}
	case commerce.EventUninstalled:
		if err = tx.SetUninstalled(b.st.ID, now); err == nil {
			_, err = tx.Audit(store.AuditEntry{Actor: "platform", Action: "uninstalled", StoreID: b.st.ID,
				Detail: "the store removed loyaltyd's access: calls to it stop; its data stays"})
		}
	default:
		return store.InboxIgnored, "topic " + ev.Topic + " is not acted on", nil
	}
	if err != nil {
		return "", "", err
	}
	return store.InboxProcessed, "", nil
}

// deleteOrder marks an order deleted; it stops counting, and what it
// earned is taken back.
func (e *Engine) deleteOrder(tx *store.Tx, b *batch, orderID string, now time.Time) error {
	changed, err := tx.DeleteOrder(b.st.ID, orderID, now)
	if err != nil || !changed {
		return err
	}
	o, err := tx.Order(b.st.ID, orderID)
	if err != nil {
		return err
	}
	return e.credit(tx, b, o)
}

// redactCustomer erases a customer's personal data, keeping the ledger.
func (e *Engine) redactCustomer(tx *store.Tx, b *batch, ev commerce.Event) error {
	id := ev.ResourceID
	if id == "" && ev.Customer != nil {
		id = ev.Customer.ID
	}
	if id == "" {
		return fmt.Errorf("redact request names no customer")
	}
	n, err := tx.RedactCustomer(b.st.ID, id)
	if err != nil {
		return err
	}
	_, err = tx.Audit(store.AuditEntry{Actor: "platform", Action: "customer_redact", StoreID: b.st.ID, CustomerID: id,
		Detail: fmt.Sprintf("personal data erased from %d records; the ledger keeps its totals", n)})
	return err
}

// Export is what loyaltyd holds about a customer, handed over on a data
// request.
type Export struct {
	Store       string                 `json:"store"`
	CustomerID  string                 `json:"customer_id"`
	RequestedAt time.Time              `json:"requested_at"`
	Customer    *commerce.Customer     `json:"customer,omitempty"`
	Orders      []commerce.Order       `json:"orders"`
	Ledger      []commerce.LedgerEntry `json:"ledger"`
	Balance     loyalty.Balance        `json:"balance"`
	Cohort      string                 `json:"cohort,omitempty"`
	Tier        string                 `json:"tier,omitempty"`
	Redemptions []*store.Redemption    `json:"redemptions"`
	Referrals   []*store.Referral      `json:"referrals"`
}

// exportCustomer gathers a customer's data into an export the operator
// hands over (`loyaltyd export`).
func (e *Engine) exportCustomer(tx *store.Tx, b *batch, ev commerce.Event) error {
	id := ev.ResourceID
	if id == "" && ev.Customer != nil {
		id = ev.Customer.ID
	}
	x := Export{Store: b.st.ID, CustomerID: id, RequestedAt: tx.Now(), Orders: []commerce.Order{}}
	if c, err := tx.Customer(b.st.ID, id); err == nil {
		x.Customer = &c.Customer
	} else if !isNotFound(err) {
		return err
	}
	orders, err := tx.CustomerOrders(b.st.ID, id)
	if err != nil {
		return err
	}
	for _, o := range orders {
		x.Orders = append(x.Orders, o.Order)
	}
	if x.Ledger, err = tx.Ledger(b.st.ID, id); err != nil {
		return err
	}
	x.Balance = loyalty.ComputeBalance(x.Ledger, tx.Now())
	if m, err := tx.Member(b.st.ID, id); err == nil {
		x.Cohort, x.Tier = m.Cohort, m.Tier
	}
	if x.Redemptions, err = tx.Redemptions(b.st.ID, id); err != nil {
		return err
	}
	if x.Referrals, err = tx.Referrals(b.st.ID, id, ""); err != nil {
		return err
	}
	data, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		return err
	}
	exportID, err := tx.SaveExport(store.Export{StoreID: b.st.ID, CustomerID: id, Data: data})
	if err != nil {
		return err
	}
	_, err = tx.Audit(store.AuditEntry{Actor: "platform", Action: "customer_data_request", StoreID: b.st.ID, CustomerID: id,
		Detail: fmt.Sprintf("export %d ready: loyaltyd export --store %s --id %d", exportID, b.st.ID, exportID)})
	return err
}
