package connectortest

import (
	"strings"
	"testing"
	"time"
)

func TestNames(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, name := range Names() {
		group, test, ok := strings.Cut(name, "/")
		if !ok || group == "" || test == "" || strings.Contains(test, "/") {
			t.Errorf("name %q is not group/test", name)
		}
		if seen[name] {
			t.Errorf("name %q appears twice", name)
		}
		seen[name] = true
	}
	for _, want := range []string{"Orders/Resume", "Customers/Resume", "TagWriter/NotFound", "WebhookSource/Forged", "Checker/Unauthorized"} {
		if !seen[want] {
			t.Errorf("Names() lacks %q", want)
		}
	}
}

func TestCheckSkip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		skip map[string]string
		want []string // substrings of the errors, in order
	}{
		{"none", nil, nil},
		{"a subtest with a reason", map[string]string{"Orders/RateLimited": "the platform has no rate limit"}, nil},
		{"a group with a reason", map[string]string{"MetafieldWriter": "the platform has no customer fields"}, nil},
		{"an unknown name", map[string]string{"Orders/Nope": "typo"}, []string{`"Orders/Nope", which is no subtest`}},
		{"no reason", map[string]string{"Orders/FullRead": " "}, []string{`"Orders/FullRead" without a reason`}},
		{"both, sorted", map[string]string{"Z": "x", "Checker/Healthy": ""}, []string{`"Checker/Healthy" without`, `"Z", which is no subtest`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := checkSkip(tc.skip)
			if len(errs) != len(tc.want) {
				t.Fatalf("got errors %v, want %d", errs, len(tc.want))
			}
			for i, err := range errs {
				if !strings.Contains(err.Error(), tc.want[i]) {
					t.Errorf("error %d = %q, want it to contain %q", i, err, tc.want[i])
				}
			}
		})
	}
}

// TestSeeds checks the suite's own records: a failure they cause must be
// the connector's, never the suite's.
func TestSeeds(t *testing.T) {
	t.Parallel()
	for i, at := range spread(40) {
		o := newOrder(i, at)
		if err := o.Validate(); err != nil {
			t.Errorf("order %d: %v", i, err)
		}
		refunded := usd(0)
		for _, r := range o.Refunds {
			refunded = refunded.Add(r.Amount)
		}
		switch {
		case refunded.Cmp(o.Total) > 0:
			t.Errorf("order %d: refunds %s exceed the total %s", i, refunded, o.Total)
		case o.State.Paid() != (o.State != "pending" && o.State != "voided"):
			t.Errorf("order %d: state %s", i, o.State)
		case len(o.Refunds) > 0 && !o.State.Paid():
			t.Errorf("order %d: refunds on an unpaid order", i)
		case o.Cancelled() != (o.State == "voided"):
			t.Errorf("order %d: state %s, cancelled %t", i, o.State, o.Cancelled())
		}
		if at.Nanosecond() != 0 || at.Location() != time.UTC {
			t.Errorf("order %d: update time %s is not whole seconds in UTC", i, at)
		}
		if len(o.ID) != 10 || len(o.CustomerID) != 10 {
			t.Errorf("order %d: ids %q, %q are not ten digits", i, o.ID, o.CustomerID)
		}
	}
	ids := map[string]bool{}
	for i := range 40 {
		for _, id := range []string{orderID(i), customerID(i)} {
			if ids[id] {
				t.Errorf("id %s is used twice", id)
			}
			ids[id] = true
		}
	}
	if ids[memberID] || ids[guestID] || ids[missingID] {
		t.Error("a fixed customer id collides with a seeded one")
	}
}
