package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/store"
)

// Resource names, as cursors are saved under.
const (
	ResourceOrders    = "orders"
	ResourceCustomers = "customers"
)

// resource is what pull needs to know about one kind of record.
type resource[T any] struct {
	name  string
	read  func(context.Context, connectors.Cursor) (connectors.Page[T], error)
	key   func(*T) (time.Time, string)
	apply func(tx *store.Tx, b *batch, items []T) error
}

func (e *Engine) pullCustomers(ctx context.Context, st *Store, r *Report) error {
	return pull(ctx, e, st, r, resource[commerce.Customer]{
		name: ResourceCustomers,
		read: st.Conn.Customers,
		key:  func(c *commerce.Customer) (time.Time, string) { return c.UpdatedAt, c.ID },
		apply: func(tx *store.Tx, b *batch, cs []commerce.Customer) error {
			for i := range cs {
				if err := e.applyCustomer(tx, b, &cs[i]); err != nil {
					return err
				}
			}
			return nil
		},
	})
}

func (e *Engine) pullOrders(ctx context.Context, st *Store, r *Report) error {
	return pull(ctx, e, st, r, resource[commerce.Order]{
		name:  ResourceOrders,
		read:  st.Conn.Orders,
		key:   func(o *commerce.Order) (time.Time, string) { return o.UpdatedAt, o.ID },
		apply: e.applyOrders,
	})
}

// pull reads one resource of a store from its saved cursor to the end of
// the pass's window, applying each page with the cursor in one
// transaction. A pass interrupted by an error or a crash resumes from the
// last page applied.
func pull[T any](ctx context.Context, e *Engine, st *Store, r *Report, res resource[T]) error {
	log := e.storeLog(st).WithField(fieldResource, res.name)
	var saved store.Cursor
	if err := e.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		saved, err = tx.Cursor(st.ID, res.name)
		return err
	}); err != nil {
		return err
	}
	cur := connectors.Cursor{Since: saved.Since, Until: saved.Until, Token: saved.Token}
	if saved.PassStartedAt.IsZero() {
		// A new pass: from a little before the high-water mark (or the
		// backfill date) to a little before now.
		started := e.now()
		saved.PassStartedAt = started
		cur = connectors.Cursor{Since: st.BackfillFrom, Until: started.Add(-e.safetyLag())}
		if !saved.HighWater.IsZero() {
			cur.Since = saved.HighWater.Add(-st.Overlap)
			if cur.Since.Before(st.BackfillFrom) {
				cur.Since = st.BackfillFrom
			}
		}
		if !cur.Since.Before(cur.Until) {
			return nil
		}
	} else {
		log.WithField("since", cur.Since.Format(time.RFC3339)).Info("resuming an interrupted pass")
	}
	for pages := 0; e.PageLimit == 0 || pages < e.PageLimit; pages++ {
		page, err := res.read(ctx, cur)
		if errors.Is(err, connectors.ErrBadCursor) && cur.Token != "" {
			// The saved continuation no longer means anything to the
			// connector (it was upgraded, a platform page token expired):
			// read the window again from its start. Re-reading is free.
			log.WithError(err).Warn("saved cursor cannot be continued: reading its window again from the start")
			cur.Token = ""
			page, err = res.read(ctx, cur)
		}
		if err != nil {
			return err
		}
		if !page.Done && len(page.Items) == 0 && page.Next == cur {
			return fmt.Errorf("connector returned an empty page that does not move the cursor (%s)", cur.Since.Format(time.RFC3339))
		}
		next := saved
		for i := range page.Items {
			at, id := res.key(&page.Items[i])
			if at.After(next.HighWater) || (at.Equal(next.HighWater) && id > next.HighWaterID) {
				next.HighWater, next.HighWaterID = at, id
			}
		}
		if page.Done {
			next.Since, next.Until, next.Token = time.Time{}, time.Time{}, ""
			next.PassStartedAt, next.LastPassAt = time.Time{}, e.now()
		} else {
			next.Since, next.Until, next.Token = page.Next.Since, page.Next.Until, page.Next.Token
		}
		var pr Report
		err = e.DB.Update(ctx, func(tx *store.Tx) error {
			pr = Report{}
			b := newBatch(st, &pr)
			if err := res.apply(tx, b, page.Items); err != nil {
				return err
			}
			if err := e.finish(tx, b); err != nil {
				return err
			}
			return tx.SetCursor(st.ID, res.name, next)
		})
		if err != nil {
			return err
		}
		r.Add(pr)
		saved = next
		if pages > 0 && pages%20 == 0 {
			log.WithFields(logrus.Fields{"pages": pages, "high_water": saved.HighWater.Format(time.RFC3339)}).Info("sync progress")
		}
		if page.Done {
			return nil
		}
		cur = page.Next
	}
	return nil
}
