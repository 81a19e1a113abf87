package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
)

// Difference is a ledger stream whose total disagrees with what the stored
// records say it should be.
type Difference struct {
	Store      string `json:"store"`
	Stream     string `json:"stream"`
	CustomerID string `json:"customer_id"`
	Ledger     int64  `json:"ledger"`
	Rebuilt    int64  `json:"rebuilt"`
}

func (d Difference) String() string {
	return fmt.Sprintf("%s %s (customer %s): ledger %d, rebuilt %d", d.Store, d.Stream, d.CustomerID, d.Ledger, d.Rebuilt)
}

// expected computes what every derivable stream of a store should hold:
// each order's earnings under its frozen snapshot, each customer's
// first-order bonus, each rewarded referral, each redemption not refused.
// Manual adjustments and expiries are decisions, not derivations, and are
// left out.
func (e *Engine) expected(tx *store.Tx, st *Store) (map[string]int64, map[string]string, error) {
	want := map[string]int64{}
	owner := map[string]string{}
	credited := map[string][]loyalty.CreditedOrder{}
	err := tx.ForEachOrder(st.ID, func(o *store.StoredOrder) error {
		stream := earnStream(o.ID)
		want[stream], owner[stream] = 0, o.CustomerID
		if o.Snapshot == nil || o.CustomerID == "" || !o.DeletedAt.IsZero() {
			return nil
		}
		var snap loyalty.Snapshot
		if err := json.Unmarshal(o.Snapshot, &snap); err != nil {
			return fmt.Errorf("order %s: stored rule snapshot: %w", o.ID, err)
		}
		want[stream] = loyalty.Entitle(&o.Order, snap, e.Program.Currency).Earn
		credited[o.CustomerID] = append(credited[o.CustomerID], loyalty.CreditedOrder{Order: &o.Order, Snapshot: snap})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for c, cos := range credited {
		want[bonusStream(c)], owner[bonusStream(c)] = loyalty.FirstOrderBonus(cos, e.Program.Currency).Points, c
	}
	refs, err := tx.Referrals(st.ID, "", "")
	if err != nil {
		return nil, nil, err
	}
	for _, r := range refs {
		s := referralStream(r.FriendOrderID)
		want[s], owner[s] = 0, r.ReferrerID
		if r.Status == store.ReferralRewarded {
			want[s] = r.Points
		}
	}
	reds, err := tx.Redemptions(st.ID, "")
	if err != nil {
		return nil, nil, err
	}
	for _, r := range reds {
		s := redeemStream(r.ID)
		want[s], owner[s] = -r.Points, r.CustomerID
		if r.Status == store.RedemptionFailed {
			want[s] = 0
		}
	}
	return want, owner, nil
}

// Check recomputes every derivable ledger stream from the stored orders,
// snapshots, referrals and redemptions and compares it with the ledger. It
// writes nothing and returns every difference; none means the incremental
// ledger agrees with a rebuild to the point.
func (e *Engine) Check(ctx context.Context) ([]Difference, error) {
	var diffs []Difference
	err := e.DB.View(ctx, func(tx *store.Tx) error {
		for _, st := range e.Stores {
			totals, err := tx.StreamTotals(st.ID)
			if err != nil {
				return err
			}
			want, owner, err := e.expected(tx, st)
			if err != nil {
				return err
			}
			for stream, w := range want {
				if got := totals[stream]; got != w {
					diffs = append(diffs, Difference{Store: st.ID, Stream: stream, CustomerID: owner[stream], Ledger: got, Rebuilt: w})
				}
			}
			for stream, got := range totals {
				if _, ok := want[stream]; !ok && got != 0 && derivable(stream) {
					diffs = append(diffs, Difference{Store: st.ID, Stream: stream, Ledger: got})
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

// derivable reports whether a stream is one Check recomputes.
func derivable(stream string) bool {
	for _, p := range []string{"order:", "bonus:", "referral:", "redeem:"} {
		if len(stream) > len(p) && stream[:len(p)] == p {
			return true
		}
	}
	return false
}

// Rebuild brings every derivable stream to what the stored records say,
// appending corrective entries where they differ (the ledger is never
// rewritten). With reprice, every credited order's snapshot is first
// taken again under today's program (rates, multipliers, campaigns, tier
// factors, bonus), keeping the tier the customer held when the order was
// first credited; a repricing is audited. It returns what it appended.
func (e *Engine) Rebuild(ctx context.Context, reprice bool, actor string) (Report, error) {
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
		const chunk = 500
		for i := 0; i < len(ids); i += chunk {
			part := ids[i:min(i+chunk, len(ids))]
			var r Report
			err := e.DB.Update(ctx, func(tx *store.Tx) error {
				r = Report{Store: st.ID}
				b := newBatch(st, &r)
				if reprice && i == 0 {
					if _, err := tx.Audit(store.AuditEntry{Actor: actor, Action: "reprice", StoreID: st.ID,
						Detail: "snapshots taken again under program " + e.Program.Version()}); err != nil {
						return err
					}
				}
				for _, id := range part {
					o, err := tx.Order(st.ID, id)
					if err != nil {
						return err
					}
					if reprice && o.Snapshot != nil {
						if err := e.resnapshot(tx, st.ID, o); err != nil {
							return err
						}
					}
					if err := e.credit(tx, b, o); err != nil {
						return err
					}
				}
				return e.finish(tx, b)
			})
			if err != nil {
				return total, err
			}
			total.Add(r)
		}
		err := e.DB.Update(ctx, func(tx *store.Tx) error {
			r := Report{Store: st.ID}
			b := newBatch(st, &r)
			want, owner, err := e.expected(tx, st)
			if err != nil {
				return err
			}
			for stream, w := range want {
				kind := commerce.KindReferral
				switch stream[:3] {
				case "red":
					kind = commerce.KindRedeem
					if w == 0 {
						kind = commerce.KindRedeemReturn
					}
				case "ord", "bon":
					continue // credited above
				}
				if _, err := e.entitleStream(tx, b, owner[stream], stream, kind, w, "", tx.Now(), "Rebuilt from the stored records"); err != nil {
					return err
				}
			}
			total.Add(r)
			return nil
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// resnapshot takes an order's snapshot again under today's program.
func (e *Engine) resnapshot(tx *store.Tx, storeID string, o *store.StoredOrder) error {
	var old loyalty.Snapshot
	if err := json.Unmarshal(o.Snapshot, &old); err != nil {
		return fmt.Errorf("order %s: stored rule snapshot: %w", o.ID, err)
	}
	snap, ok := e.Program.Snapshot(&o.Order, loyalty.Standing{Member: true, Tier: old.Tier})
	if !ok {
		return nil
	}
	raw, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	if _, err := tx.SetSnapshot(storeID, o.ID, raw, true); err != nil {
		return err
	}
	o.Snapshot = raw
	return nil
}
