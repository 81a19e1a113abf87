package sync

import (
	"context"
	"time"

	"github.com/loyaltyd/loyaltyd/store"
)

// StoreReport is the persisted state of one store's sync, as `loyaltyd
// status` and the dashboard show it: it reads the database, so it works
// while the daemon runs elsewhere.
type StoreReport struct {
	Store       string    `json:"store"`
	Platform    string    `json:"platform"`
	Uninstalled time.Time `json:"uninstalled_at,omitzero"`
	// LastPass, LastSuccess, LastError and Failures describe the polling.
	LastPass    time.Time `json:"last_pass,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	Failures    int       `json:"failures"`
	// Cursors are where each resource's sync stands.
	Cursors map[string]CursorReport `json:"cursors"`
	// Webhooks counts deliveries by inbox status, and duplicates.
	Webhooks map[string]int `json:"webhooks"`
	// Reconciliation is what the last reconciliations found.
	LastReconcile       time.Time `json:"last_reconcile,omitzero"`
	LastReconcileFound  int       `json:"last_reconcile_found"`
	ReconcileFoundTotal int       `json:"reconcile_found_total"`
	// Outbox counts write-backs by state.
	Outbox map[string]int `json:"outbox"`
	// Orders, Customers and Members are what is stored.
	Orders    int `json:"orders"`
	Customers int `json:"customers"`
	Members   int `json:"members"`
	// PointsCredited and PointsDebited sum the ledger.
	PointsCredited int64 `json:"points_credited"`
	PointsDebited  int64 `json:"points_debited"`
}

// CursorReport is where one resource's sync stands.
type CursorReport struct {
	HighWater  time.Time `json:"high_water,omitzero"`
	LagSeconds float64   `json:"lag_seconds"`
	LastPass   time.Time `json:"last_pass,omitzero"`
	InPass     bool      `json:"in_pass"`
}

// Report gathers the sync state of every store from the database.
func (e *Engine) Report(ctx context.Context) ([]StoreReport, error) {
	var out []StoreReport
	err := e.DB.View(ctx, func(tx *store.Tx) error {
		now := tx.Now()
		for _, st := range e.Stores {
			r := StoreReport{Store: st.ID, Platform: st.Platform, Cursors: map[string]CursorReport{}, Webhooks: map[string]int{}}
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
				cr := CursorReport{HighWater: c.HighWater, LastPass: c.LastPassAt, InPass: !c.PassStartedAt.IsZero()}
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
