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
// points and every ledger entry with its reason.
type CustomerView struct {
	Store      string          `json:"store"`
	CustomerID string          `json:"customer_id"`
	Email      string          `json:"email"`
	Name       string          `json:"name,omitempty"`
	Enrolled   bool            `json:"enrolled"`
	EnrolledAt time.Time       `json:"enrolled_at,omitzero"`
	Tier       string          `json:"tier"`
	Points     loyalty.Balance `json:"points"`
	Orders     int             `json:"orders"`
	Ledger     []LedgerLine    `json:"ledger"`
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

// ErrAmbiguous is returned when an e-mail address matches several customers.
var ErrAmbiguous = errors.New("several customers match")

// Customer returns the view of a customer found by id, or by e-mail when id
// is empty (case and "+tag" ignored). It returns an error wrapping
// store.ErrNotFound when nobody matches and ErrAmbiguous, naming the ids,
// when an e-mail matches several customers.
func (e *Engine) Customer(ctx context.Context, storeID, id, email string) (*CustomerView, error) {
	var v *CustomerView
	err := e.DB.View(ctx, func(tx *store.Tx) error {
		var c *store.StoredCustomer
		if id != "" {
			var err error
			if c, err = tx.Customer(storeID, id); err != nil {
				return err
			}
		} else {
			cs, err := tx.CustomersByEmail(storeID, email)
			if err != nil {
				return err
			}
			switch len(cs) {
			case 0:
				return fmt.Errorf("no customer with that e-mail in store %s: %w", storeID, store.ErrNotFound)
			case 1:
				c = cs[0]
			default:
				ids := make([]string, len(cs))
				for i, c := range cs {
					ids[i] = c.ID
				}
				return fmt.Errorf("%w: ids %s; ask by id", ErrAmbiguous, strings.Join(ids, ", "))
			}
		}
		entries, err := tx.Ledger(storeID, c.ID)
		if err != nil {
			return err
		}
		enrolledAt, err := tx.EnrolledAt(storeID, c.ID)
		if err != nil {
			return err
		}
		orders, err := tx.CustomerOrders(storeID, c.ID)
		if err != nil {
			return err
		}
		v = &CustomerView{
			Store:      storeID,
			CustomerID: c.ID,
			Email:      c.Email,
			Name:       c.Name(),
			Enrolled:   !enrolledAt.IsZero(),
			EnrolledAt: enrolledAt,
			Points:     loyalty.ComputeBalance(entries, tx.Now()),
			Orders:     len(orders),
			Ledger:     make([]LedgerLine, len(entries)),
		}
		for i, en := range entries {
			v.Ledger[i] = LedgerLine{Time: en.At, Points: en.Points, Kind: en.Kind, Reason: en.Reason,
				OrderID: en.OrderID, AvailableAt: en.AvailableAt, Actor: en.Actor}
		}
		return nil
	})
	return v, err
}
