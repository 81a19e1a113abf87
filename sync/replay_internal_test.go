package sync

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

func TestVersions(t *testing.T) {
	t.Parallel()
	day := func(n int) time.Time { return time.Date(2026, 3, n, 12, 0, 0, 0, time.UTC) }
	usd := func(s string) commerce.Money { return commerce.MustParseMoney(s, "USD") }
	refund := func(id string, at time.Time) commerce.Refund {
		return commerce.Refund{ID: id, CreatedAt: at, Amount: usd("10.00")}
	}
	order := func(state commerce.FinancialState, updated time.Time, refunds ...commerce.Refund) commerce.Order {
		return commerce.Order{ID: "1", Currency: "USD", State: state, CreatedAt: day(1), ProcessedAt: day(1), UpdatedAt: updated,
			Lines: []commerce.LineItem{{ID: "l", Quantity: 1, Subtotal: usd("50.00")}}, Refunds: refunds}
	}
	cancelled := func(o commerce.Order, at time.Time) commerce.Order { o.CancelledAt = at; return o }
	// describe says what each version shows: when, state, refunds, cancelled.
	describe := func(vs []version) []string {
		var out []string
		for _, v := range vs {
			s := fmt.Sprintf("day %d %s refunds=%d", v.at.Day(), v.order.State, len(v.order.Refunds))
			if v.order.Cancelled() {
				s += " cancelled"
			}
			out = append(out, s)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		order commerce.Order
		want  []string
	}{
		{"paid", order(commerce.StatePaid, day(1)), []string{"day 1 paid refunds=0"}},
		{"paid, updated later for another reason", order(commerce.StatePaid, day(9)), []string{"day 1 paid refunds=0"}},
		{"partly refunded", order(commerce.StatePartiallyRefunded, day(4), refund("r1", day(4))),
			[]string{"day 1 paid refunds=0", "day 4 partially_refunded refunds=1"}},
		{"refunded in two steps", order(commerce.StateRefunded, day(6), refund("r2", day(6)), refund("r1", day(3))),
			[]string{"day 1 paid refunds=0", "day 3 partially_refunded refunds=1", "day 6 refunded refunds=2"}},
		{"cancelled and refunded at once", cancelled(order(commerce.StateRefunded, day(2), refund("r1", day(2))), day(2)),
			[]string{"day 1 paid refunds=0", "day 2 refunded refunds=1 cancelled"}},
		{"never paid, cancelled", cancelled(order(commerce.StatePending, day(5)), day(5)),
			[]string{"day 1 pending refunds=0", "day 5 pending refunds=0 cancelled"}},
		{"refund dated before the order", order(commerce.StateRefunded, day(1), refund("r1", day(1).Add(-time.Hour))),
			[]string{"day 1 refunded refunds=1"}},
		// The platform's last update is before the second refund's date:
		// no state between may come after it, or the final one would be
		// refused as older.
		{"last update before the last refund", order(commerce.StateRefunded, day(3), refund("r1", day(3)), refund("r2", day(5))),
			[]string{"day 1 paid refunds=0", "day 5 refunded refunds=2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vs := versions(tc.order)
			if got := describe(vs); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("versions = %q, want %q", got, tc.want)
			}
			if last := vs[len(vs)-1].order; !reflect.DeepEqual(last, tc.order) {
				t.Errorf("the last version is not the order itself: %+v", last)
			}
			// The store keeps a version only over an older one.
			for i := 1; i < len(vs); i++ {
				if !vs[i-1].order.UpdatedAt.Before(vs[i].order.UpdatedAt) {
					t.Errorf("version %d (updated %v) is not newer than the one before (%v)", i, vs[i].order.UpdatedAt, vs[i-1].order.UpdatedAt)
				}
			}
		})
	}
}
