package sync

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"sort"
	"strings"
	stdsync "sync"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/store"
)

// ProgramReport computes the program's report for a store over the
// query's period (by default the year ending now): it gathers the totals
// from the database in one read transaction, so that the figures agree
// with each other, and leaves the arithmetic to package report. What is
// inside the orders (the products bought together, the discounts of the
// program's codes), the longest part since it reads every order of the
// period, is read at the same time in a read transaction of its own, so
// that a second core halves the wait.
func (e *Engine) ProgramReport(ctx context.Context, storeID string, q report.Query) (*report.Report, error) {
	now := e.now()
	q, err := q.Resolve(now)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		contents    orderContents
		contentsErr error
		wg          stdsync.WaitGroup
	)
	wg.Go(func() { contents, contentsErr = e.orderContents(ctx, storeID, q) })
	var in report.Inputs
	err = e.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		in, err = e.gather(tx, storeID, q, now)
		return err
	})
	if err != nil {
		cancel()
	}
	wg.Wait()
	if err := errors.Join(err, contentsErr); err != nil {
		return nil, err
	}
	in.Baskets = contents.baskets
	in.Rewards.Cost, in.Rewards.CostOrders = contents.cost, contents.costOrders
	return report.Compute(in), nil
}

// orderContents is what the report reads inside the period's orders.
type orderContents struct {
	baskets *report.Baskets
	// cost sums the discounts of the program's codes, on costOrders orders.
	cost       int64
	costOrders int
}

// orderContents reads the products and the codes of every counting order
// of the period, and prices the codes that were the program's.
func (e *Engine) orderContents(ctx context.Context, storeID string, q report.Query) (orderContents, error) {
	oc := orderContents{baskets: report.NewBaskets()}
	type use struct {
		order  int64
		code   string
		amount int64
	}
	var (
		basket []int32
		cur    int64 = -1
		uses   []use
		codes  = map[string]bool{}
	)
	err := e.DB.View(ctx, func(tx *store.Tx) error {
		err := tx.ForEachOrderContents(storeID, q.From, q.To, func(order int64, product, title []byte) error {
			if order != cur {
				oc.baskets.Add(basket)
				basket, cur = basket[:0], order
			}
			basket = append(basket, oc.baskets.Product(product, title))
			return nil
		}, func(order int64, code string, amount commerce.Money) error {
			if amount.Currency == e.Program.Currency {
				code = strings.ToUpper(code)
				uses = append(uses, use{order: order, code: code, amount: amount.Minor})
				codes[code] = true
			}
			return nil
		})
		oc.baskets.Add(basket)
		if err != nil {
			return err
		}
		program, err := tx.ProgramCodes(storeID, slices.Sorted(maps.Keys(codes)))
		if err != nil {
			return err
		}
		orders := map[int64]bool{}
		for _, u := range uses {
			if _, ok := program[u.code]; ok {
				oc.cost += u.amount
				orders[u.order] = true
			}
		}
		oc.costOrders = len(orders)
		return nil
	})
	return oc, err
}

// gather reads what a report is computed from, but what is inside the
// orders (orderContents).
func (e *Engine) gather(tx *store.Tx, storeID string, q report.Query, now time.Time) (report.Inputs, error) {
	p := e.Program
	in := report.Inputs{Store: storeID, Program: p, Query: q, Now: now, Cohorts: map[loyalty.Cohort]report.CohortTotals{}}
	if _, err := tx.Store(storeID); err != nil {
		return in, err
	}
	var err error
	if in.Points.ByKind, err = tx.PointsByKind(storeID, q.From, q.To); err != nil {
		return in, err
	}
	if in.Points.Outstanding, err = tx.Outstanding(storeID, q.To); err != nil {
		return in, err
	}
	// Only customers with a credit still pending need their ledger worked
	// out; everyone else's balance is available.
	at := q.To.Add(-time.Nanosecond)
	err = tx.ForEachPendingLedger(storeID, q.To, func(_ string, entries []commerce.LedgerEntry) error {
		b := loyalty.ComputeBalance(entries, at)
		in.Points.Pending += min(b.Pending, max(0, b.Available+b.Pending))
		return nil
	})
	if err != nil {
		return in, err
	}
	rt, err := tx.RewardTotals(storeID, q.From, q.To)
	if err != nil {
		return in, err
	}
	in.Rewards = report.RewardTotals{Issued: rt.Issued, IssuedValue: rt.Value, Used: rt.Used}
	if in.Tiers, err = tx.TierCounts(storeID); err != nil {
		return in, err
	}
	buyers, err := tx.Buyers(storeID, q.From, q.To)
	if err != nil {
		return in, err
	}
	in.Buyers = make([]loyalty.Buyer, len(buyers))
	for i, b := range buyers {
		in.Buyers[i] = loyalty.Buyer{CustomerID: b.CustomerID, Spend: commerce.NewMoney(b.EligibleMinor, p.Currency),
			Orders: b.Orders, LastOrder: b.LastOrder}
	}
	// The cohorts' orders are the buyers' totals: both lists come by
	// customer id, so one pass joins them.
	j := 0
	err = tx.ForEachPlaced(storeID, func(pc store.PlacedCustomer) error {
		for j < len(in.Buyers) && in.Buyers[j].CustomerID < pc.CustomerID {
			j++
		}
		var bought *loyalty.Buyer
		if j < len(in.Buyers) && in.Buyers[j].CustomerID == pc.CustomerID {
			bought = &in.Buyers[j]
		}
		report.AddPlaced(in.Cohorts, report.Placed{CustomerID: pc.CustomerID, Cohort: loyalty.Cohort(pc.Cohort),
			EnrolledAt: pc.EnrolledAt, CreatedAt: pc.CreatedAt}, bought, q)
		return nil
	})
	if err != nil {
		return in, err
	}
	auto, err := tx.AutoRedemptions(storeID, q.From, q.To)
	if err != nil {
		return in, err
	}
	for _, a := range auto {
		in.AutoIssued = append(in.AutoIssued, report.AutoIssue{At: a.CreatedAt, Value: a.Value})
	}
	return in, nil
}

// PointsBetween returns the points issued, redeemed and expired between
// each two consecutive bounds (len(bounds)-1 totals, by the time each
// ledger entry was made). It sums the ledger in one pass over it and
// leaves the arithmetic of issued, redeemed and expired to the report, so
// that the dashboard's weekly numbers mean what the report's figures mean.
func (e *Engine) PointsBetween(ctx context.Context, storeID string, bounds []time.Time) ([]report.SpanPoints, error) {
	if len(bounds) < 2 {
		return nil, nil
	}
	byKind := make([]map[commerce.EntryKind]int64, len(bounds)-1)
	for i := range byKind {
		byKind[i] = map[commerce.EntryKind]int64{}
	}
	err := e.DB.View(ctx, func(tx *store.Tx) error {
		return tx.ForEachEntry(storeID, func(en commerce.LedgerEntry) error {
			i := sort.Search(len(bounds), func(i int) bool { return bounds[i].After(en.At) }) - 1
			if i >= 0 && i < len(byKind) {
				byKind[i][en.Kind] += en.Points
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	out := make([]report.SpanPoints, len(byKind))
	for i, kinds := range byKind {
		r := report.Compute(report.Inputs{Store: storeID, Program: e.Program, Now: bounds[i+1],
			Query:  report.Query{From: bounds[i], To: bounds[i+1], Pairs: report.DefaultPairs, MinSupport: report.DefaultMinSupport},
			Points: report.PointTotals{ByKind: kinds}})
		get := func(key string) int64 {
			f, _ := r.Figure(key)
			return int64(f.Value)
		}
		out[i] = report.SpanPoints{Issued: get("points_issued"), Redeemed: get("points_redeemed"), Expired: get("points_expired")}
	}
	return out, nil
}

// Activity counts what became of a store's reward codes (by reward, in
// the catalogue's order, then rewards the program no longer has) and of
// its referrals (refusals by reason, most frequent first), from the
// start, as of now.
func (e *Engine) Activity(ctx context.Context, storeID string) (*report.Activity, error) {
	p := e.Program
	act := &report.Activity{}
	err := e.DB.View(ctx, func(tx *store.Tx) error {
		act.At = tx.Now()
		reds, err := tx.Redemptions(storeID, "")
		if err != nil {
			return err
		}
		byReward := map[string]*report.RewardActivity{}
		for _, r := range reds {
			a := byReward[r.RewardID]
			if a == nil {
				a = &report.RewardActivity{Reward: r.RewardID, Value: commerce.NewMoney(0, p.Currency)}
				byReward[r.RewardID] = a
			}
			switch r.Status {
			case store.RedemptionFailed:
				a.Refused++
				continue
			case store.RedemptionUsed:
				a.Used++
			case store.RedemptionExpired:
				a.Expired++
			default:
				a.Unused++
			}
			a.Issued++
			if r.Auto {
				a.Auto++
			}
			a.Points += r.Points
			if r.Value.Currency == p.Currency {
				a.Value = a.Value.Add(r.Value)
			}
		}
		// The catalogue's order, then rewards the program no longer has.
		rank := func(id string) int {
			for i, r := range p.Rewards {
				if r.ID == id {
					return i
				}
			}
			return len(p.Rewards)
		}
		for _, a := range byReward {
			act.Rewards = append(act.Rewards, *a)
		}
		slices.SortFunc(act.Rewards, func(a, b report.RewardActivity) int {
			return cmp.Or(cmp.Compare(rank(a.Reward), rank(b.Reward)), cmp.Compare(a.Reward, b.Reward))
		})
		refs, err := tx.Referrals(storeID, "", "")
		if err != nil {
			return err
		}
		reasons := map[string]int{}
		ra := &act.Referrals
		for _, r := range refs {
			switch r.Status {
			case store.ReferralRewarded:
				ra.Rewarded++
				ra.Points += r.Points
			case store.ReferralPending:
				ra.Pending++
			case store.ReferralCancelled:
				ra.Cancelled++
			case store.ReferralRefused:
				ra.Refused++
				reasons[r.Reason]++
			}
		}
		for reason, n := range reasons {
			ra.Refusals = append(ra.Refusals, report.ReasonCount{Reason: reason, Count: n})
		}
		slices.SortFunc(ra.Refusals, func(a, b report.ReasonCount) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Reason, b.Reason))
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return act, nil
}
