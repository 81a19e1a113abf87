package loyalty

import (
	"sort"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Balance is a customer's points at a moment.
type Balance struct {
	// Available can be spent. It may be negative when points already spent
	// were taken back; a negative balance blocks redemption.
	Available int64 `json:"available"`
	// Pending is credited but not spendable yet.
	Pending int64 `json:"pending"`
	// LifetimeEarned is every point earned, net of refunds and
	// cancellations: orders, bonuses, referrals and manual adjustments.
	LifetimeEarned int64 `json:"lifetime_earned"`
	// Redeemed is the points spent on rewards, net of points given back.
	Redeemed int64 `json:"redeemed"`
	// Expired is the points lost to expiry.
	Expired int64 `json:"expired"`
}

// lot is a credit of one stream, spendable from availableAt.
type lot struct {
	points      int64
	availableAt time.Time
}

// ComputeBalance folds ledger entries into a balance as of at; entries
// recorded after at are ignored. Within a stream, a debit first takes back
// credits of that stream still pending when the debit was recorded (the
// latest first), so that a refund inside the pending period reduces pending
// points, not spendable ones; the rest of the debit reduces the available
// balance at once.
func ComputeBalance(entries []commerce.LedgerEntry, at time.Time) Balance {
	var b Balance
	byStream := map[string][]commerce.LedgerEntry{}
	var streams []string
	for _, e := range entries {
		if e.At.After(at) {
			continue
		}
		if _, ok := byStream[e.Stream]; !ok {
			streams = append(streams, e.Stream)
		}
		byStream[e.Stream] = append(byStream[e.Stream], e)
		switch e.Kind {
		case commerce.KindRedeem, commerce.KindRedeemReturn:
			b.Redeemed -= e.Points
		case commerce.KindExpire:
			b.Expired -= e.Points
		default:
			b.LifetimeEarned += e.Points
		}
	}
	for _, s := range streams {
		es := byStream[s]
		sort.SliceStable(es, func(i, j int) bool { return es[i].Seq < es[j].Seq })
		var lots []lot
		for _, e := range es {
			if e.Points >= 0 {
				avail := e.AvailableAt
				if avail.IsZero() {
					avail = e.At
				}
				lots = append(lots, lot{points: e.Points, availableAt: avail})
				continue
			}
			debt := -e.Points
			for i := len(lots) - 1; i >= 0 && debt > 0; i-- {
				if lots[i].points <= 0 || !lots[i].availableAt.After(e.At) {
					continue
				}
				take := min(debt, lots[i].points)
				lots[i].points -= take
				debt -= take
			}
			if debt > 0 {
				lots = append(lots, lot{points: -debt, availableAt: e.At})
			}
		}
		for _, l := range lots {
			if l.availableAt.After(at) {
				b.Pending += l.points
			} else {
				b.Available += l.points
			}
		}
	}
	return b
}
