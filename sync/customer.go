package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/store"
)

// ErrAmbiguous is returned when an e-mail address matches several customers.
var ErrAmbiguous = errors.New("several customers match")

// FindCustomer returns the id of a customer found by id, or by e-mail when
// id is empty (case and "+tag" ignored). It returns an error wrapping
// store.ErrNotFound when nobody matches and ErrAmbiguous, naming the ids,
// when an e-mail matches several customers.
func (e *Engine) FindCustomer(ctx context.Context, storeID, id, email string) (string, error) {
	err := e.DB.View(ctx, func(tx *store.Tx) error {
		if id != "" {
			_, err := tx.Customer(storeID, id)
			return err
		}
		cs, err := tx.CustomersByEmail(storeID, email)
		if err != nil {
			return err
		}
		switch len(cs) {
		case 0:
			return fmt.Errorf("no customer with that e-mail in store %s: %w", storeID, store.ErrNotFound)
		case 1:
			id = cs[0].ID
			return nil
		}
		ids := make([]string, len(cs))
		for i, c := range cs {
			ids[i] = c.ID
		}
		return fmt.Errorf("%w: ids %s; ask by id", ErrAmbiguous, strings.Join(ids, ", "))
	})
	return id, err
}

// Customer returns the view of a customer found as FindCustomer finds one.
func (e *Engine) Customer(ctx context.Context, storeID, id, email string) (*report.CustomerView, error) {
	id, err := e.FindCustomer(ctx, storeID, id, email)
	if err != nil {
		return nil, err
	}
	st := e.Store(storeID)
	if st == nil {
		st = &Store{ID: storeID}
	}
	var v *report.CustomerView
	err = e.DB.View(ctx, func(tx *store.Tx) error {
		c, err := tx.Customer(storeID, id)
		if err != nil {
			return err
		}
		now := tx.Now()
		orders, err := tx.CustomerOrders(storeID, id)
		if err != nil {
			return err
		}
		v = &report.CustomerView{Store: storeID, CustomerID: id, Email: c.Email, Name: c.Name(), Orders: len(orders),
			Rewards: []report.RewardLine{}, Referrals: []report.ReferralLine{}, Tags: []string{}, Ledger: []report.LedgerLine{}}
		mv, err := e.view(tx, st, id, now)
		if isNotFound(err) {
			// Not placed yet: nothing has been synced for this customer
			// since it was stored.
			return nil
		}
		if err != nil {
			return err
		}
		m := mv.member
		v.Cohort, v.Enrolled, v.EnrolledAt = m.Cohort, m.Cohort == store.CohortMember, m.EnrolledAt
		v.Tier, v.TierSince, v.Qualification = m.Tier, m.TierSince, mv.qual
		v.Progress = mv.progress
		v.NextTierNeeds = mv.progress.String()
		v.Segment, v.RFM, v.ReferralCode = m.ABC, m.RFM, m.ReferralCode
		v.Points, v.ExpiresAt = mv.balance, mv.expiry.At
		v.Tags = append(v.Tags, m.TagsWritten...)
		for _, r := range mv.redemptions {
			v.Rewards = append(v.Rewards, report.RewardLine{ID: r.ID, Reward: r.RewardID, Points: r.Points, Code: r.Code,
				Status: r.Status, Reason: r.Reason, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, UsedOrder: r.UsedOrderID})
		}
		refs, err := tx.Referrals(storeID, id, "")
		if err != nil {
			return err
		}
		for _, r := range refs {
			v.Referrals = append(v.Referrals, report.ReferralLine{FriendOrderID: r.FriendOrderID, Status: r.Status, Reason: r.Reason, CreatedAt: r.CreatedAt})
		}
		for _, en := range mv.entries {
			v.Ledger = append(v.Ledger, report.LedgerLine{Time: en.At, Points: en.Points, Kind: en.Kind, Reason: en.Reason,
				OrderID: en.OrderID, AvailableAt: en.AvailableAt, Actor: en.Actor})
		}
		return nil
	})
	return v, err
}

// SearchCustomers finds a store's customers by id, e-mail or name, with
// their balance and tier, best matches first.
func (e *Engine) SearchCustomers(ctx context.Context, storeID, query string, limit int) ([]report.CustomerHit, error) {
	out := []report.CustomerHit{}
	err := e.DB.View(ctx, func(tx *store.Tx) error {
		cs, err := tx.SearchCustomers(storeID, query, limit)
		if err != nil {
			return err
		}
		for _, c := range cs {
			h := report.CustomerHit{Store: storeID, CustomerID: c.ID, Email: c.Email, Name: c.Name()}
			if m, err := tx.Member(storeID, c.ID); err == nil {
				h.Cohort, h.Tier = m.Cohort, m.Tier
			}
			entries, err := tx.Ledger(storeID, c.ID)
			if err != nil {
				return err
			}
			b := loyalty.ComputeBalance(entries, tx.Now())
			h.Available, h.Pending = b.Available, b.Pending
			out = append(out, h)
		}
		return nil
	})
	return out, err
}
