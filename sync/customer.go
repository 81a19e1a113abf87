package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
)

// CustomerView is what staff read to a customer: who they are, their
// points, tier and progress, codes, referrals, and every ledger entry with
// its reason.
type CustomerView struct {
	Store         string                `json:"store"`
	CustomerID    string                `json:"customer_id"`
	Email         string                `json:"email"`
	Name          string                `json:"name,omitempty"`
	Enrolled      bool                  `json:"enrolled"`
	Cohort        string                `json:"cohort"`
	EnrolledAt    time.Time             `json:"enrolled_at,omitzero"`
	Tier          string                `json:"tier"`
	TierSince     time.Time             `json:"tier_since,omitzero"`
	Progress      loyalty.Progress      `json:"progress"`
	NextTierNeeds string                `json:"next_tier_needs,omitempty"`
	Qualification loyalty.Qualification `json:"qualification"`
	Segment       string                `json:"segment,omitempty"`
	RFM           string                `json:"rfm,omitempty"`
	ReferralCode  string                `json:"referral_code,omitempty"`
	Points        loyalty.Balance       `json:"points"`
	ExpiresAt     time.Time             `json:"points_expire_at,omitzero"`
	Orders        int                   `json:"orders"`
	Rewards       []RewardLine          `json:"rewards"`
	Referrals     []ReferralLine        `json:"referrals"`
	Tags          []string              `json:"tags"`
	Ledger        []LedgerLine          `json:"ledger"`
}

// LedgerLine is one ledger entry as staff see it.
type LedgerLine struct {
	Time        time.Time          `json:"time"`
	Points      int64              `json:"points"`
	Kind        commerce.EntryKind `json:"kind"`
	Reason      string             `json:"reason"`
	OrderID     string             `json:"order_id,omitempty"`
	AvailableAt time.Time          `json:"available_at"`
	Actor       string             `json:"actor,omitempty"`
}

// RewardLine is a redemption as staff see it.
type RewardLine struct {
	ID        int64     `json:"id"`
	Reward    string    `json:"reward"`
	Points    int64     `json:"points"`
	Code      string    `json:"code"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	UsedOrder string    `json:"used_order_id,omitempty"`
}

// ReferralLine is a referral the customer made.
type ReferralLine struct {
	FriendOrderID string    `json:"friend_order_id"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

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
func (e *Engine) Customer(ctx context.Context, storeID, id, email string) (*CustomerView, error) {
	id, err := e.FindCustomer(ctx, storeID, id, email)
	if err != nil {
		return nil, err
	}
	st := e.Store(storeID)
	if st == nil {
		st = &Store{ID: storeID}
	}
	var v *CustomerView
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
		v = &CustomerView{Store: storeID, CustomerID: id, Email: c.Email, Name: c.Name(), Orders: len(orders),
			Rewards: []RewardLine{}, Referrals: []ReferralLine{}, Tags: []string{}, Ledger: []LedgerLine{}}
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
			v.Rewards = append(v.Rewards, RewardLine{ID: r.ID, Reward: r.RewardID, Points: r.Points, Code: r.Code,
				Status: r.Status, Reason: r.Reason, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, UsedOrder: r.UsedOrderID})
		}
		refs, err := tx.Referrals(storeID, id, "")
		if err != nil {
			return err
		}
		for _, r := range refs {
			v.Referrals = append(v.Referrals, ReferralLine{FriendOrderID: r.FriendOrderID, Status: r.Status, Reason: r.Reason, CreatedAt: r.CreatedAt})
		}
		for _, en := range mv.entries {
			v.Ledger = append(v.Ledger, LedgerLine{Time: en.At, Points: en.Points, Kind: en.Kind, Reason: en.Reason,
				OrderID: en.OrderID, AvailableAt: en.AvailableAt, Actor: en.Actor})
		}
		return nil
	})
	return v, err
}
