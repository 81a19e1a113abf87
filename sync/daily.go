package sync

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
)

// inboxRetention is how long the body of an applied webhook delivery is
// kept, for inspection, before it is emptied.
const inboxRetention = 7 * 24 * time.Hour

// Today returns the program's current day ("2006-01-02") in its time zone.
func (e *Engine) Today() string {
	return e.now().In(e.Program.Location()).Format(time.DateOnly)
}

// Daily runs the once-a-day re-evaluation of a store, when the program's
// day changed since it last ran: segments are recomputed, expired reward
// codes marked, and every member refreshed (tiers fall as the window rolls
// past old orders, inactive balances expire, tags and fields follow). It
// is part of every pass, so `sync --once` and `run` both keep it.
func (e *Engine) Daily(ctx context.Context, st *Store, r *Report) error {
	today := e.Today()
	var info *store.StoreInfo
	if err := e.DB.View(ctx, func(tx *store.Tx) (err error) { info, err = tx.Store(st.ID); return }); err != nil {
		return err
	}
	if info.LastDaily == today {
		return nil
	}
	started := time.Now()
	moved, err := e.segment(ctx, st)
	if err != nil {
		return fmt.Errorf("segments: %w", err)
	}
	var ids []string
	if err := e.DB.View(ctx, func(tx *store.Tx) (err error) { ids, err = tx.MembersDue(st.ID, e.now()); return }); err != nil {
		return err
	}
	ids = append(ids, moved...)
	var expired Report
	if err := e.DB.Update(ctx, func(tx *store.Tx) error {
		expired = Report{Store: st.ID}
		b := newBatch(st, &expired)
		if err := e.expireCodes(tx, b); err != nil {
			return err
		}
		for id := range b.touched {
			ids = append(ids, id)
		}
		return nil
	}); err != nil {
		return err
	}
	r.Add(expired)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	const chunk = 200
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		var pr Report
		err := e.DB.Update(ctx, func(tx *store.Tx) error {
			pr = Report{Store: st.ID}
			b := newBatch(st, &pr)
			for _, id := range part {
				b.touch(id)
			}
			return e.finish(tx, b)
		})
		if err != nil {
			return err
		}
		r.Add(pr)
	}
	if err := e.DB.Update(ctx, func(tx *store.Tx) error {
		// Applied webhook bodies hold personal data that the orders and
		// the ledger no longer need once a week has passed.
		if _, err := tx.PruneInbox(e.now().Add(-inboxRetention)); err != nil {
			return err
		}
		return tx.SetLastDaily(st.ID, today)
	}); err != nil {
		return err
	}
	e.storeLog(st).WithFields(map[string]any{"day": today, "members_reviewed": len(ids),
		"took": time.Since(started).Round(time.Millisecond).String()}).Info("daily re-evaluation done")
	return nil
}

// expireCodes marks reward codes past their expiry unused as expired.
func (e *Engine) expireCodes(tx *store.Tx, b *batch) error {
	reds, err := tx.Redemptions(b.st.ID, "")
	if err != nil {
		return err
	}
	for _, red := range reds {
		if (red.Status == store.RedemptionIssued || red.Status == store.RedemptionCreated) &&
			!red.ExpiresAt.IsZero() && !tx.Now().Before(red.ExpiresAt) {
			red.Status = store.RedemptionExpired
			if err := tx.UpdateRedemption(red); err != nil {
				return err
			}
			b.touch(red.CustomerID)
		}
	}
	return nil
}

// segment recomputes the ABC and RFM segments of every placed customer
// from the trailing 365 days of orders, and returns the members whose ABC
// segment changed (their tags follow).
func (e *Engine) segment(ctx context.Context, st *Store) ([]string, error) {
	now := e.now()
	from := now.AddDate(-1, 0, 0)
	var moved []string
	err := e.DB.Update(ctx, func(tx *store.Tx) error {
		moved = moved[:0]
		totals, err := tx.Buyers(st.ID, from, now.Add(time.Nanosecond))
		if err != nil {
			return err
		}
		list := make([]loyalty.Buyer, len(totals))
		for i, t := range totals {
			list[i] = loyalty.Buyer{CustomerID: t.CustomerID, Spend: commerce.NewMoney(t.EligibleMinor, e.Program.Currency),
				Orders: t.Orders, LastOrder: t.LastOrder}
		}
		segs := loyalty.Segments(list, now)
		members, err := tx.Segments(st.ID)
		if err != nil {
			return err
		}
		for _, m := range members {
			s := segs[m.CustomerID]
			abc, rfm := s.ABC, ""
			if s.ABC != "" {
				rfm = fmt.Sprintf("%d-%d-%d", s.Recency, s.Frequency, s.Monetary)
			}
			if m.ABC == abc && m.RFM == rfm {
				continue
			}
			var review time.Time
			if m.ABC != abc && m.Cohort == store.CohortMember {
				moved = append(moved, m.CustomerID)
				// Due for a refresh now, saved with the new segment: if
				// the refresh that follows fails (a crash, a full disk),
				// the next run finds the member due, although its
				// segment no longer moves.
				review = now
			}
			if err := tx.SetSegment(st.ID, m.CustomerID, abc, rfm, review); err != nil {
				return err
			}
		}
		return nil
	})
	return moved, err
}
