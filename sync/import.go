package sync

import (
	"context"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/store"
)

// ImportItem is an order read from an export file, and the customer the
// file says it implies (nil when it names none).
type ImportItem struct {
	// Order is the order as the file gives it.
	Order commerce.Order
	// Customer is the customer the file implies, stored only when the
	// store has none with its id.
	Customer *commerce.Customer
}

// ImportOutcome says what Import did with one order.
type ImportOutcome struct {
	// Changed: the order was stored, new or newer than the stored
	// version.
	Changed bool
	// Stale: a newer version of the order is stored and stays.
	Stale bool
	// Refused is why the order was refused (it does not validate); nil
	// otherwise.
	Refused error
	// NoCustomer: the order has no customer id and its e-mail names no
	// single stored customer, so it was stored without one and earns
	// nothing.
	NoCustomer bool
}

// Import stores a batch of orders read from an export file through the
// same path as polled pages and webhooks (Apply): in one transaction, with
// the guarded upsert and the entitlement ledger, so that importing a file
// twice, or importing orders that sync reads too, appends nothing. An
// export needs three things beyond Apply, which Import does:
//
//   - the customers the file implies are stored only when the store has
//     no customer with their id: what the platform said about a customer
//     (tags, names) is never replaced by what an order row says;
//   - an order without a customer id (Shopify's export names the buyer by
//     e-mail only) is given the id of the one stored customer with its
//     e-mail, case and "+tag" ignored; with none or several it is stored
//     without a customer and earns nothing;
//   - each order's outcome is reported, outcomes[i] being items[i]'s.
//
// The Report counts as Apply's does.
func (e *Engine) Import(ctx context.Context, st *Store, items []ImportItem) (Report, []ImportOutcome, error) {
	var (
		r        Report
		outcomes []ImportOutcome
	)
	err := e.DB.Update(ctx, func(tx *store.Tx) error {
		r = Report{Store: st.ID}
		outcomes = make([]ImportOutcome, len(items))
		b := newBatch(st, &r)
		seen := map[string]bool{}
		for i := range items {
			c := items[i].Customer
			if c == nil || c.ID == "" || seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			_, err := tx.Customer(st.ID, c.ID)
			switch {
			case err == nil:
				continue
			case !isNotFound(err):
				return err
			}
			if err := e.applyCustomer(tx, b, c); err != nil {
				return err
			}
		}
		for i := range items {
			o := items[i].Order
			out := &outcomes[i]
			if o.CustomerID == "" {
				id, err := customerByEmail(tx, st.ID, o.Email)
				if err != nil {
					return err
				}
				o.CustomerID, out.NoCustomer = id, id == ""
			}
			if err := o.Validate(); err != nil {
				// Refused here rather than in applyOrder, whose warning
				// is about connectors; the caller reports it with its
				// line.
				r.OrdersRead++
				r.OrdersRejected++
				out.Refused = err
				continue
			}
			changed, stale := r.OrdersChanged, r.OrdersStale
			if err := e.applyOrder(tx, b, &o); err != nil {
				return err
			}
			out.Changed, out.Stale = r.OrdersChanged > changed, r.OrdersStale > stale
		}
		return e.finish(tx, b)
	})
	return r, outcomes, err
}

// customerByEmail returns the id of the one stored customer whose e-mail
// folds to email's, or "" when none or several do.
func customerByEmail(tx *store.Tx, storeID, email string) (string, error) {
	if commerce.FoldEmail(email) == "" {
		return "", nil
	}
	cs, err := tx.CustomersByEmail(storeID, email)
	if err != nil || len(cs) != 1 {
		return "", err
	}
	return cs[0].ID, nil
}
