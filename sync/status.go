package sync

import (
	"context"

	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/store"
)

// Report gathers the sync state of every store from the database.
func (e *Engine) Report(ctx context.Context) ([]report.StoreReport, error) {
	var out []report.StoreReport
	err := e.DB.View(ctx, func(tx *store.Tx) error {
		now := tx.Now()
		for _, st := range e.Stores {
			r := report.StoreReport{Store: st.ID, Platform: st.Platform, Cursors: map[string]report.CursorReport{}, Webhooks: map[string]int{}}
			info, err := tx.Store(st.ID)
			if err != nil {
				return err
			}
			r.Uninstalled = info.UninstalledAt
			s, err := tx.SyncStatus(st.ID)
			if err != nil {
				return err
			}
			r.LastPass, r.LastSuccess, r.LastError, r.Failures = s.LastPassAt, s.LastSuccessAt, s.LastError, s.Failures
			r.LastReconcile, r.LastReconcileFound, r.ReconcileFoundTotal = s.LastReconcileAt, s.LastReconcileFound, s.ReconcileFoundTotal
			for _, res := range []string{ResourceCustomers, ResourceOrders} {
				c, err := tx.Cursor(st.ID, res)
				if err != nil {
					return err
				}
				cr := report.CursorReport{HighWater: c.HighWater, LastPass: c.LastPassAt, InPass: !c.PassStartedAt.IsZero()}
				if !c.HighWater.IsZero() {
					cr.LagSeconds = now.Sub(c.HighWater).Seconds()
				}
				r.Cursors[res] = cr
			}
			stats, err := tx.InboxStats(st.ID)
			if err != nil {
				return err
			}
			for k, v := range stats.ByStatus {
				r.Webhooks[k] = v
			}
			r.Webhooks["duplicates"], r.Webhooks["unknown_topic"] = stats.Duplicates, stats.Unknown
			if r.Outbox, err = tx.OutboxCounts(st.ID); err != nil {
				return err
			}
			counts, err := tx.Counts(st.ID)
			if err != nil {
				return err
			}
			r.Orders, r.Customers, r.Members = counts.Orders, counts.Customers, counts.Members
			if r.PointsCredited, r.PointsDebited, err = tx.PointsIssued(st.ID, now); err != nil {
				return err
			}
			r.PointsDebited = -r.PointsDebited
			out = append(out, r)
		}
		return nil
	})
	return out, err
}
