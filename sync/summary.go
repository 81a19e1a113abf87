package sync

import (
	"context"
	"sort"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
)

// Summary is a store's program at a glance.
type Summary struct {
	Store     string       `json:"store"`
	Counts    store.Counts `json:"counts"`
	Orders    OrderCounts  `json:"orders"`
	PointsBy  map[commerce.EntryKind]int64
	Available int64 `json:"available"`
	Pending   int64 `json:"pending"`
	Top       []TopCustomer
	// Tiers counts members per tier ("" for none), Segments placed
	// customers per ABC segment.
	Tiers    map[string]int
	Segments map[string]int
	// Redemptions counts redemptions per status, Referrals per status.
	Redemptions map[string]int
	Referrals   map[string]int
}

// OrderCounts sorts a store's orders by what happened to them.
type OrderCounts struct {
	Paid, Refunded, PartlyRefunded, Cancelled, Unpaid, Test int
}

// TopCustomer is a customer among those with the most points.
type TopCustomer struct {
	CustomerID string
	Name       string
	Email      string
	Orders     int
	Eligible   commerce.Money
	Balance    loyalty.Balance
}

// Summarize computes the summary of a store, with the top customers by
// points available and pending.
func (e *Engine) Summarize(ctx context.Context, storeID string, top int) (*Summary, error) {
	s := &Summary{Store: storeID, PointsBy: map[commerce.EntryKind]int64{}, Tiers: map[string]int{},
		Segments: map[string]int{}, Redemptions: map[string]int{}, Referrals: map[string]int{}}
	err := e.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		if s.Counts, err = tx.Counts(storeID); err != nil {
			return err
		}
		entries := map[string][]commerce.LedgerEntry{}
		if err := tx.ForEachEntry(storeID, func(en commerce.LedgerEntry) error {
			s.PointsBy[en.Kind] += en.Points
			entries[en.CustomerID] = append(entries[en.CustomerID], en)
			return nil
		}); err != nil {
			return err
		}
		orders := map[string]int{}
		spent := map[string]commerce.Money{}
		if err := tx.ForEachOrder(storeID, func(o *store.StoredOrder) error {
			switch {
			case o.Test:
				s.Orders.Test++
			case o.Cancelled():
				s.Orders.Cancelled++
			case o.State == commerce.StateRefunded:
				s.Orders.Refunded++
			case o.State == commerce.StatePartiallyRefunded:
				s.Orders.PartlyRefunded++
			case o.State.Paid():
				s.Orders.Paid++
			default:
				s.Orders.Unpaid++
			}
			orders[o.CustomerID]++
			spent[o.CustomerID] = spent[o.CustomerID].Add(loyalty.Eligible(&o.Order, e.Program.Currency).Amount)
			return nil
		}); err != nil {
			return err
		}
		var all []TopCustomer
		for id, es := range entries {
			b := loyalty.ComputeBalance(es, tx.Now())
			s.Available += b.Available
			s.Pending += b.Pending
			all = append(all, TopCustomer{CustomerID: id, Orders: orders[id], Eligible: spent[id], Balance: b})
		}
		sort.Slice(all, func(i, j int) bool {
			pi, pj := all[i].Balance.Available+all[i].Balance.Pending, all[j].Balance.Available+all[j].Balance.Pending
			if pi != pj {
				return pi > pj
			}
			return all[i].CustomerID < all[j].CustomerID
		})
		if len(all) > top {
			all = all[:top]
		}
		for i := range all {
			if c, err := tx.Customer(storeID, all[i].CustomerID); err == nil {
				all[i].Name, all[i].Email = c.Name(), c.Email
			}
		}
		s.Top = all
		if err := tx.ForEachMember(storeID, func(m *store.Member) error {
			if m.Cohort == store.CohortMember {
				s.Tiers[m.Tier]++
			}
			if m.ABC != "" {
				s.Segments[m.ABC]++
			}
			return nil
		}); err != nil {
			return err
		}
		reds, err := tx.Redemptions(storeID, "")
		if err != nil {
			return err
		}
		for _, r := range reds {
			s.Redemptions[r.Status]++
		}
		refs, err := tx.Referrals(storeID, "", "")
		if err != nil {
			return err
		}
		for _, r := range refs {
			s.Referrals[r.Status]++
		}
		return nil
	})
	return s, err
}
