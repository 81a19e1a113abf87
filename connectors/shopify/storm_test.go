package shopify_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/shopify/shopifytest"
)

// storm is a random mix of the failures Shopify and the network produce.
func storm(r *rand.Rand) shopifytest.Fault {
	switch r.IntN(7) {
	case 0:
		return shopifytest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 300 * time.Millisecond}
	case 1:
		return shopifytest.Fault{Status: http.StatusTooManyRequests}
	case 2:
		return shopifytest.Fault{Status: http.StatusServiceUnavailable}
	case 3:
		return shopifytest.Fault{Status: http.StatusBadGateway}
	case 4:
		return shopifytest.Fault{Drop: true}
	case 5:
		return shopifytest.Fault{AfterWrite: true} // a GET cut off halfway
	}
	return shopifytest.Fault{Delay: 50 * time.Millisecond}
}

// TestReadStorm reads a window through storms of 429s, 5xx, dropped
// connections and answers cut off halfway, before every page, and checks
// that every order comes exactly once and no read fails: the connector's
// own retries absorb the storm.
func TestReadStorm(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{pageSize: 7})
	const n = 150
	seedOrders(t, f, n)
	c := f.Connector(t)
	r := rand.New(rand.NewPCG(4, 4))
	seen := map[string]int{}
	cur := connectors.Cursor{Since: seedBase, Until: seedBase.Add(time.Hour)}
	for pages := 0; ; pages++ {
		if pages > 2*n {
			t.Fatal("no Done")
		}
		for range r.IntN(5) { // fewer than the connector's five retries
			f.s.InjectFault(shopifytest.OpOrders, 1, storm(r))
		}
		pg, err := c.Orders(context.Background(), cur)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, o := range pg.Items {
			seen[o.ID]++
		}
		if pg.Done {
			break
		}
		cur = pg.Next
	}
	if len(seen) != n {
		t.Errorf("read %d orders, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("order %s came %d times", id, k)
		}
	}
	if st := f.s.Stats(); st.Faults == 0 {
		t.Error("no fault was injected: the test proves nothing")
	}
}

// TestReadStormExhausted: a storm longer than the retries fails the read
// with nothing of the page, and as a failure retrying fixes; the same
// cursor then reads.
func TestReadStormExhausted(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{pageSize: 5})
	seedOrders(t, f, 12)
	c := f.Connector(t)
	f.s.InjectFault(shopifytest.OpOrders, 6, shopifytest.Fault{Status: http.StatusServiceUnavailable})
	pg, err := c.Orders(context.Background(), connectors.Cursor{})
	if err == nil || len(pg.Items) > 0 {
		t.Fatalf("got %d orders, %v; want an error and nothing", len(pg.Items), err)
	}
	for _, permanent := range []error{connectors.ErrNotFound, connectors.ErrRejected, connectors.ErrUnauthorized, connectors.ErrBadCursor} {
		if errors.Is(err, permanent) {
			t.Errorf("a passing outage came back as %v", err)
		}
	}
	if pg, err = c.Orders(context.Background(), connectors.Cursor{}); err != nil || len(pg.Items) != 5 {
		t.Errorf("after the storm: %d orders, %v", len(pg.Items), err)
	}
	f.s.InjectFault(shopifytest.OpOrders, 6, shopifytest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})
	_, err = c.Orders(context.Background(), connectors.Cursor{})
	if rl, ok := errors.AsType[*connectors.RateLimitError](err); !ok || rl.RetryAfter != 1500*time.Millisecond/1000 {
		t.Errorf("after six 429s: %v, want a RateLimitError with the fake's Retry-After (1.5s at 1000x)", err)
	}
}

const member = "7100000001"

func addMember(t testing.TB, f *fake, tags ...string) {
	t.Helper()
	err := f.s.PutCustomer(commerce.Customer{ID: member, Email: "ann@example.com", FirstName: "Ann", Tags: tags, CreatedAt: seedBase, UpdatedAt: seedBase})
	if err != nil {
		t.Fatal(err)
	}
}

func fiveOff(code string) commerce.DiscountCode {
	return commerce.DiscountCode{
		Code: code, CustomerID: member, Type: commerce.DiscountFixedAmount, Amount: commerce.NewMoney(500, "USD"),
		StartsAt: seedBase, ExpiresAt: seedBase.AddDate(0, 3, 0), Title: "Loyalty: $5 off",
	}
}

// wantOneRule checks that the shop holds exactly one price rule, with the
// code once, created once.
func wantOneRule(t *testing.T, f *fake, code string) shopifytest.PriceRule {
	t.Helper()
	rules := f.s.PriceRules()
	if len(rules) != 1 {
		t.Fatalf("the shop has %d price rules, want 1: %+v", len(rules), rules)
	}
	if len(rules[0].Codes) != 1 || rules[0].Codes[0] != code {
		t.Errorf("the rule's codes are %q, want [%s]", rules[0].Codes, code)
	}
	if n := f.s.DiscountCreations(code); n != 1 {
		t.Errorf("the code was created %d times, want 1", n)
	}
	return rules[0]
}

// TestDiscountStorm creates a code through 429s on the price rule (which
// Shopify refuses before doing anything, so they are retried even for a
// create) and 5xx, a dropped connection and a lost answer on the code: one
// rule, one code.
func TestDiscountStorm(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{})
	addMember(t, f)
	c := f.open(t)
	f.s.InjectFault(shopifytest.OpLookupDiscount, 2, shopifytest.Fault{Status: http.StatusTooManyRequests})
	f.s.InjectFault(shopifytest.OpCreatePriceRule, 2, shopifytest.Fault{Status: http.StatusTooManyRequests})
	f.s.InjectFault(shopifytest.OpCreateDiscountCode, 1, shopifytest.Fault{Status: http.StatusServiceUnavailable})
	f.s.InjectFault(shopifytest.OpCreateDiscountCode, 1, shopifytest.Fault{Drop: true})
	f.s.InjectFault(shopifytest.OpCreateDiscountCode, 1, shopifytest.Fault{AfterWrite: true})
	id, err := c.EnsureDiscount(context.Background(), fiveOff("LOYALTY-STORM-0001"))
	if err != nil {
		t.Fatalf("EnsureDiscount: %v", err)
	}
	wantOneRule(t, f, "LOYALTY-STORM-0001")
	again, err := c.EnsureDiscount(context.Background(), fiveOff("LOYALTY-STORM-0001"))
	if err != nil || again != id {
		t.Errorf("EnsureDiscount again: %q, %v; want %q", again, err, id)
	}
	if n := f.s.PendingFaults(shopifytest.OpCreateDiscountCode); n != 0 {
		t.Errorf("%d faults were never met: the test did not go where it meant to", n)
	}
}

// TestDiscountAfterCrash: the code is created, but every answer is lost
// until the connector gives up, as when the process dies between the API
// call and the outbox's record of it. A new connector, as after a
// restart, finds the code and returns its id; nothing is created twice.
func TestDiscountAfterCrash(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{})
	addMember(t, f)
	d := fiveOff("LOYALTY-CRASH-0001")
	f.s.InjectFault(shopifytest.OpCreateDiscountCode, 10, shopifytest.Fault{AfterWrite: true})
	if _, err := f.open(t).EnsureDiscount(context.Background(), d); err == nil {
		t.Fatal("EnsureDiscount succeeded although every answer was lost")
	}
	f.s.ClearFaults()
	id, err := f.open(t).EnsureDiscount(context.Background(), d)
	if err != nil || id == "" {
		t.Fatalf("EnsureDiscount after the restart: %q, %v", id, err)
	}
	wantOneRule(t, f, d.Code)
}

// TestDiscountRuleAnswerLost: the price rule is created but its answer is
// lost. The retry finds the rule by its title and customer instead of
// making a second one.
func TestDiscountRuleAnswerLost(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{})
	addMember(t, f)
	d := fiveOff("LOYALTY-LOST-RULE-01")
	f.s.InjectFault(shopifytest.OpCreatePriceRule, 1, shopifytest.Fault{AfterWrite: true})
	if _, err := f.open(t).EnsureDiscount(context.Background(), d); err == nil {
		t.Fatal("EnsureDiscount succeeded although the rule's answer was lost")
	}
	if _, err := f.open(t).EnsureDiscount(context.Background(), d); err != nil {
		t.Fatalf("the retry: %v", err)
	}
	wantOneRule(t, f, d.Code)
}

// TestDiscountRule checks the price rule's fields for each kind of reward.
func TestDiscountRule(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{})
	addMember(t, f)
	c := f.open(t)
	ten := fiveOff("LOYALTY-PCT-0001")
	ten.Type, ten.Amount, ten.PercentBP, ten.ExpiresAt = commerce.DiscountPercentage, commerce.Money{}, 1250, time.Time{}
	ship := fiveOff("LOYALTY-SHIP-0001")
	ship.Type, ship.Amount, ship.MinimumOrder = commerce.DiscountFreeShipping, commerce.Money{}, commerce.NewMoney(5000, "USD")
	ref := fiveOff("ANN-FRIENDS")
	ref.Shared, ref.OwnerID, ref.CustomerID = true, member, ""
	for _, d := range []commerce.DiscountCode{fiveOff("LOYALTY-FIVE-0001"), ten, ship, ref} {
		if _, err := c.EnsureDiscount(context.Background(), d); err != nil {
			t.Fatalf("EnsureDiscount(%s): %v", d.Code, err)
		}
	}
	rules := map[string]shopifytest.PriceRule{}
	for _, r := range f.s.PriceRules() {
		rules[r.Title] = r
	}
	type want struct {
		valueType, value, target, allocation, selection string
		customers                                       int
		usageLimit                                      int
		ends                                            bool
		minimum                                         string
	}
	for code, w := range map[string]want{
		"LOYALTY-FIVE-0001": {"fixed_amount", "-5.0", "line_item", "across", "prerequisite", 1, 1, true, ""},
		"LOYALTY-PCT-0001":  {"percentage", "-12.5", "line_item", "across", "prerequisite", 1, 1, false, ""},
		"LOYALTY-SHIP-0001": {"percentage", "-100.0", "shipping_line", "each", "prerequisite", 1, 1, true, "50.00"},
		"ANN-FRIENDS":       {"fixed_amount", "-5.0", "line_item", "across", "all", 0, 0, true, ""},
	} {
		r, ok := rules[code]
		if !ok {
			t.Errorf("no price rule titled %s", code)
			continue
		}
		got := want{r.ValueType, r.Value, r.TargetType, r.AllocationMethod, r.CustomerSelection, len(r.PrerequisiteCustomerIDs), r.UsageLimit, !r.EndsAt.IsZero(), r.MinimumSubtotal}
		if got != w {
			t.Errorf("rule %s: got %+v, want %+v", code, got, w)
		}
		if !r.OncePerCustomer {
			t.Errorf("rule %s: not once per customer", code)
		}
		if !r.StartsAt.Equal(seedBase) {
			t.Errorf("rule %s: starts %s, want %s", code, r.StartsAt, seedBase)
		}
		if w.customers == 1 && r.PrerequisiteCustomerIDs[0] != member {
			t.Errorf("rule %s: for customers %v, want %s", code, r.PrerequisiteCustomerIDs, member)
		}
	}
}

// TestDiscountTakenByAnother: a code that exists on another customer's
// rule is refused for good, not handed out.
func TestDiscountTakenByAnother(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeConfig{})
	addMember(t, f)
	if err := f.s.PutCustomer(commerce.Customer{ID: "7100000009", UpdatedAt: seedBase}); err != nil {
		t.Fatal(err)
	}
	c := f.open(t)
	d := fiveOff("LOYALTY-MINE-0001")
	d.CustomerID = "7100000009"
	if _, err := c.EnsureDiscount(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnsureDiscount(context.Background(), fiveOff("loyalty-mine-0001")); !errors.Is(err, connectors.ErrRejected) {
		t.Errorf("EnsureDiscount of another customer's code: %v, want ErrRejected", err)
	}
}
