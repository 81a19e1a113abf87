package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
)

// Difference is a ledger stream whose total disagrees with what the stored
// orders say it should be.
type Difference struct {
	Store      string `json:"store"`
	Stream     string `json:"stream"`
	CustomerID string `json:"customer_id"`
	OrderID    string `json:"order_id"`
	Ledger     int64  `json:"ledger"`
	Rebuilt    int64  `json:"rebuilt"`
}

func (d Difference) String() string {
	return fmt.Sprintf("%s %s (customer %s): ledger %d, rebuilt from orders %d", d.Store, d.Stream, d.CustomerID, d.Ledger, d.Rebuilt)
}

// Check recomputes what every order of every store is worth from the
// stored orders and their frozen snapshots, and compares it with the
// ledger's stream totals. It writes nothing and returns every difference;
// none means the incremental ledger agrees with a rebuild to the point.
func (e *Engine) Check(ctx context.Context) ([]Difference, error) {
	var diffs []Difference
	err := e.DB.View(ctx, func(tx *store.Tx) error {
		for _, st := range e.Stores {
			totals, err := tx.StreamTotals(st.ID)
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			err = tx.ForEachOrder(st.ID, func(o *store.StoredOrder) error {
				want := map[string]int64{earnStream(o.ID): 0, bonusStream(o.ID): 0}
				if o.Snapshot != nil && o.CustomerID != "" {
					var snap loyalty.Snapshot
					if err := json.Unmarshal(o.Snapshot, &snap); err != nil {
						return fmt.Errorf("order %s: stored rule snapshot: %w", o.ID, err)
					}
					ent := loyalty.Entitle(&o.Order, snap, e.Program.Currency)
					want[earnStream(o.ID)], want[bonusStream(o.ID)] = ent.Earn, ent.Bonus
				}
				for stream, w := range want {
					seen[stream] = true
					if got := totals[stream]; got != w {
						diffs = append(diffs, Difference{Store: st.ID, Stream: stream, CustomerID: o.CustomerID,
							OrderID: o.ID, Ledger: got, Rebuilt: w})
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			for stream, total := range totals {
				if !seen[stream] && isOrderStream(stream) && total != 0 {
					diffs = append(diffs, Difference{Store: st.ID, Stream: stream, Ledger: total})
				}
			}
		}
		return nil
	})
	sort.Slice(diffs, func(i, j int) bool {
		if diffs[i].Store != diffs[j].Store {
			return diffs[i].Store < diffs[j].Store
		}
		return diffs[i].Stream < diffs[j].Stream
	})
	return diffs, err
}

func isOrderStream(s string) bool { return len(s) > 6 && s[:6] == "order:" }

// Rebuild brings every order's ledger streams to what the stored order is
// worth, appending corrective entries where they differ (the ledger is
// never rewritten). It returns the report of what it appended.
func (e *Engine) Rebuild(ctx context.Context) (Report, error) {
	var total Report
	for _, st := range e.Stores {
		var ids []string
		if err := e.DB.View(ctx, func(tx *store.Tx) error {
			return tx.ForEachOrder(st.ID, func(o *store.StoredOrder) error {
				ids = append(ids, o.ID)
				return nil
			})
		}); err != nil {
			return total, err
		}
		const batch = 500
		for i := 0; i < len(ids); i += batch {
			chunk := ids[i:min(i+batch, len(ids))]
			var r Report
			err := e.DB.Update(ctx, func(tx *store.Tx) error {
				r = Report{Store: st.ID}
				for _, id := range chunk {
					o, err := tx.Order(st.ID, id)
					if err != nil {
						return err
					}
					if err := e.credit(tx, st, o, &r); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return total, err
			}
			total.Add(r)
		}
	}
	return total, nil
}
