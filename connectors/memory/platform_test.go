package memory_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/memory"
)

// clock is a settable clock for one platform.
type clock struct {
	mu  stdsync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newPlatform returns a platform on a settable clock, and a connector on
// it opened through the registry.
func newPlatform(t *testing.T) (*memory.Platform, *memory.Connector, *clock) {
	t.Helper()
	clk := &clock{now: testNow}
	p := memory.NewPlatform(memory.PlatformOptions{Now: clk.Now, WebhookSecret: "s3cret"})
	memory.Attach(t.Name(), p)
	t.Cleanup(func() { memory.Detach(t.Name()) })
	c, err := connectors.Open(t.Context(), "memory", connectors.Options{StoreID: t.Name()})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return p, c.(*memory.Connector), clk
}

func usd(minor int64) commerce.Money { return commerce.NewMoney(minor, "USD") }

// sampleOrder returns an order with every reference field set, so that
// copies can be checked for sharing.
func sampleOrder(id string, state commerce.FinancialState) commerce.Order {
	return commerce.Order{
		ID:         id,
		Number:     "#1001",
		CustomerID: "c1",
		Email:      "ann@example.com",
		Currency:   "USD",
		CreatedAt:  testNow.Add(-48 * time.Hour),
		UpdatedAt:  testNow.Add(-24 * time.Hour),
		State:      state,
		Lines:      []commerce.LineItem{{ID: "l1", Quantity: 2, Subtotal: usd(8000)}},
		Shipping:   usd(1000),
		Tax:        usd(1000),
		Total:      usd(10000),
		Codes:      []commerce.CodeUse{{Code: "WELCOME", Amount: usd(0)}},
		Refunds: []commerce.Refund{{
			ID: "r0", CreatedAt: testNow.Add(-time.Hour), Amount: usd(0),
			Lines: []commerce.RefundLine{{LineID: "l1", Quantity: 0, Amount: usd(0)}},
		}},
		ShippingAddress: &commerce.Address{City: "Lyon", Country: "FR"},
		Tags:            []string{"wholesale"},
	}
}

func TestRefund(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		state     commerce.FinancialState
		refunds   []commerce.Money // all but the last must succeed
		wantErr   error            // of the last refund
		wantState commerce.FinancialState
		wantCount int
	}{
		{"part", commerce.StatePaid, []commerce.Money{usd(3000)}, nil, commerce.StatePartiallyRefunded, 1},
		{"all at once", commerce.StatePaid, []commerce.Money{usd(10000)}, nil, commerce.StateRefunded, 1},
		{"all in two", commerce.StatePaid, []commerce.Money{usd(3000), usd(7000)}, nil, commerce.StateRefunded, 2},
		{"currency taken from the order", commerce.StatePaid, []commerce.Money{{Minor: 500}}, nil, commerce.StatePartiallyRefunded, 1},
		{"more than is left", commerce.StatePaid, []commerce.Money{usd(3000), usd(7001)}, connectors.ErrRejected, commerce.StatePartiallyRefunded, 1},
		{"after a full refund", commerce.StatePaid, []commerce.Money{usd(10000), usd(1)}, connectors.ErrRejected, commerce.StateRefunded, 1},
		{"zero", commerce.StatePaid, []commerce.Money{usd(0)}, connectors.ErrRejected, commerce.StatePaid, 0},
		{"negative", commerce.StatePaid, []commerce.Money{usd(-100)}, connectors.ErrRejected, commerce.StatePaid, 0},
		{"other currency", commerce.StatePaid, []commerce.Money{commerce.NewMoney(100, "EUR")}, connectors.ErrRejected, commerce.StatePaid, 0},
		{"unpaid order", commerce.StatePending, []commerce.Money{usd(100)}, connectors.ErrRejected, commerce.StatePending, 0},
		{"voided order", commerce.StateVoided, []commerce.Money{usd(100)}, connectors.ErrRejected, commerce.StateVoided, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, _, clk := newPlatform(t)
			o := sampleOrder("o1", tc.state)
			o.Refunds = nil
			p.PutOrder(o)
			for i, amount := range tc.refunds {
				clk.Advance(time.Minute)
				err := p.Refund("o1", commerce.Refund{Amount: amount})
				last := i == len(tc.refunds)-1
				switch {
				case !last && err != nil:
					t.Fatalf("refund %d: %v", i, err)
				case last && tc.wantErr == nil && err != nil:
					t.Fatalf("refund %d: %v", i, err)
				case last && tc.wantErr != nil && !errors.Is(err, tc.wantErr):
					t.Fatalf("refund %d: got error %v, want one wrapping %v", i, err, tc.wantErr)
				}
			}
			got, _ := p.Order("o1")
			if got.State != tc.wantState {
				t.Errorf("State = %s, want %s", got.State, tc.wantState)
			}
			if len(got.Refunds) != tc.wantCount {
				t.Fatalf("%d refunds, want %d", len(got.Refunds), tc.wantCount)
			}
			for i, r := range got.Refunds {
				if r.ID == "" || r.CreatedAt.IsZero() || r.Amount.Currency != "USD" {
					t.Errorf("refund %d = %+v, want an id, a time and USD from the platform", i, r)
				}
			}
			if tc.wantCount > 0 && !got.UpdatedAt.Equal(got.Refunds[tc.wantCount-1].CreatedAt) {
				t.Errorf("UpdatedAt = %s, want the last refund's time %s", got.UpdatedAt, got.Refunds[tc.wantCount-1].CreatedAt)
			}
			if tc.wantCount == 0 && !got.UpdatedAt.Equal(o.UpdatedAt) {
				t.Errorf("a refused refund changed UpdatedAt to %s, want %s", got.UpdatedAt, o.UpdatedAt)
			}
		})
	}
}

func TestRefundKeepsGivenIDAndTime(t *testing.T) {
	t.Parallel()
	p, _, _ := newPlatform(t)
	p.PutOrder(sampleOrder("o1", commerce.StatePaid))
	at := testNow.Add(-time.Minute)
	if err := p.Refund("o1", commerce.Refund{ID: "r9", CreatedAt: at, Amount: usd(100)}); err != nil {
		t.Fatal(err)
	}
	o, _ := p.Order("o1")
	got := o.Refunds[len(o.Refunds)-1]
	if got.ID != "r9" || !got.CreatedAt.Equal(at) {
		t.Errorf("refund = %s at %s, want r9 at %s", got.ID, got.CreatedAt, at)
	}
	if !o.UpdatedAt.Equal(testNow) {
		t.Errorf("UpdatedAt = %s, want the platform's time %s", o.UpdatedAt, testNow)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		state, want commerce.FinancialState
	}{
		{commerce.StatePending, commerce.StateVoided},
		{commerce.StateAuthorized, commerce.StateVoided},
		{commerce.StatePartiallyPaid, commerce.StatePartiallyPaid},
		{commerce.StatePaid, commerce.StatePaid},
		{commerce.StateRefunded, commerce.StateRefunded},
	} {
		t.Run(string(tc.state), func(t *testing.T) {
			t.Parallel()
			p, _, _ := newPlatform(t)
			p.PutOrder(sampleOrder("o1", tc.state))
			if err := p.Cancel("o1"); err != nil {
				t.Fatal(err)
			}
			o, _ := p.Order("o1")
			if o.State != tc.want {
				t.Errorf("State = %s, want %s", o.State, tc.want)
			}
			if !o.CancelledAt.Equal(testNow) || !o.UpdatedAt.Equal(testNow) {
				t.Errorf("CancelledAt, UpdatedAt = %s, %s, want both %s", o.CancelledAt, o.UpdatedAt, testNow)
			}
			if err := p.Cancel("o1"); !errors.Is(err, connectors.ErrRejected) {
				t.Errorf("second Cancel: got error %v, want one wrapping ErrRejected", err)
			}
		})
	}
}

func TestMarkPaid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		state   commerce.FinancialState
		cancel  bool
		wantErr error
	}{
		{state: commerce.StatePending},
		{state: commerce.StateAuthorized},
		{state: commerce.StatePartiallyPaid},
		{state: commerce.StatePaid, wantErr: connectors.ErrRejected},
		{state: commerce.StateRefunded, wantErr: connectors.ErrRejected},
		{state: commerce.StateVoided, wantErr: connectors.ErrRejected},
		{state: commerce.StatePaid, cancel: true, wantErr: connectors.ErrRejected},
	} {
		t.Run(fmt.Sprintf("%s/cancelled=%t", tc.state, tc.cancel), func(t *testing.T) {
			t.Parallel()
			p, _, _ := newPlatform(t)
			p.PutOrder(sampleOrder("o1", tc.state))
			if tc.cancel {
				if err := p.Cancel("o1"); err != nil {
					t.Fatal(err)
				}
			}
			err := p.MarkPaid("o1")
			o, _ := p.Order("o1")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("got error %v, want one wrapping %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.State != commerce.StatePaid || !o.UpdatedAt.Equal(testNow) {
				t.Errorf("State, UpdatedAt = %s, %s, want paid, %s", o.State, o.UpdatedAt, testNow)
			}
		})
	}
}

func TestUnknownOrder(t *testing.T) {
	t.Parallel()
	p, _, _ := newPlatform(t)
	for name, err := range map[string]error{
		"Refund":      p.Refund("nope", commerce.Refund{Amount: usd(1)}),
		"Cancel":      p.Cancel("nope"),
		"MarkPaid":    p.MarkPaid("nope"),
		"DeleteOrder": p.DeleteOrder("nope"),
		"DeleteCust":  p.DeleteCustomer("nope"),
	} {
		if !errors.Is(err, connectors.ErrNotFound) {
			t.Errorf("%s: got error %v, want one wrapping ErrNotFound", name, err)
		}
	}
	if _, ok := p.Order("nope"); ok {
		t.Error("Order(nope) reports an order")
	}
	if _, ok := p.Customer("nope"); ok {
		t.Error("Customer(nope) reports a customer")
	}
	if got := p.Tags("nope"); got != nil {
		t.Errorf("Tags(nope) = %q, want nil", got)
	}
	if got := p.Metafields("nope"); got != nil {
		t.Errorf("Metafields(nope) = %v, want nil", got)
	}
}

func TestPutOrderCopies(t *testing.T) {
	t.Parallel()
	p, _, _ := newPlatform(t)
	in := sampleOrder("o1", commerce.StatePaid)
	in.Raw = []byte(`{"from":"the caller"}`)
	want := sampleOrder("o1", commerce.StatePaid)
	p.PutOrder(in)
	scribble := func(o *commerce.Order) {
		o.Lines[0].Subtotal = usd(1)
		o.Codes[0].Code = "X"
		o.Refunds[0].Lines[0].LineID = "X"
		o.Refunds[0].Amount = usd(1)
		o.ShippingAddress.City = "X"
		o.Tags[0] = "X"
	}
	scribble(&in)
	got, ok := p.Order("o1")
	if !ok {
		t.Fatal("order o1 not stored")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after the caller changed its order, the platform holds\n%+v\nwant\n%+v", got, want)
	}
	scribble(&got)
	if again, _ := p.Order("o1"); !reflect.DeepEqual(again, want) {
		t.Errorf("after a reader changed its copy, the platform holds\n%+v\nwant\n%+v", again, want)
	}
}

func TestPutStampsZeroUpdatedAt(t *testing.T) {
	t.Parallel()
	p, _, _ := newPlatform(t)
	p.PutOrder(commerce.Order{ID: "o1", Currency: "USD", State: commerce.StatePaid})
	p.PutCustomer(commerce.Customer{ID: "c1"})
	given := testNow.Add(-time.Hour)
	p.PutOrder(commerce.Order{ID: "o2", Currency: "USD", State: commerce.StatePaid, UpdatedAt: given})
	o1, _ := p.Order("o1")
	c1, _ := p.Customer("c1")
	o2, _ := p.Order("o2")
	if !o1.UpdatedAt.Equal(testNow) || !c1.UpdatedAt.Equal(testNow) {
		t.Errorf("zero UpdatedAt became %s (order), %s (customer), want %s", o1.UpdatedAt, c1.UpdatedAt, testNow)
	}
	if !o2.UpdatedAt.Equal(given) {
		t.Errorf("given UpdatedAt became %s, want %s", o2.UpdatedAt, given)
	}
}

func TestPutPanicsWithoutID(t *testing.T) {
	t.Parallel()
	p, _, _ := newPlatform(t)
	for name, put := range map[string]func(){
		"PutOrder":    func() { p.PutOrder(commerce.Order{}) },
		"PutCustomer": func() { p.PutCustomer(commerce.Customer{}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s without an id did not panic", name)
				}
			}()
			put()
		}()
	}
}

func TestDeleteCustomer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	p, c, _ := newPlatform(t)
	p.PutCustomer(commerce.Customer{ID: "c1", Tags: []string{"vip"}})
	if err := c.SetMetafields(ctx, "c1", map[string]string{"points": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteCustomer("c1"); err != nil {
		t.Fatal(err)
	}
	p.PutCustomer(commerce.Customer{ID: "c1"})
	if got := p.Metafields("c1"); got != nil {
		t.Errorf("a customer created again under a deleted id has fields %v, want none", got)
	}
}

func TestPutCustomerKeepsFields(t *testing.T) {
	t.Parallel()
	p, c, _ := newPlatform(t)
	p.PutCustomer(commerce.Customer{ID: "c1"})
	if err := c.SetMetafields(t.Context(), "c1", map[string]string{"points": "5"}); err != nil {
		t.Fatal(err)
	}
	p.PutCustomer(commerce.Customer{ID: "c1", Email: "new@example.com"})
	if got := p.Metafields("c1")["points"]; got != "5" {
		t.Errorf("after PutCustomer, field points = %q, want 5", got)
	}
}

func TestTags(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	p, c, clk := newPlatform(t)
	p.PutCustomer(commerce.Customer{ID: "c1", Tags: []string{"VIP"}, UpdatedAt: testNow.Add(-time.Hour)})

	clk.Advance(time.Minute)
	if err := c.AddTags(ctx, "c1", []string{"vip", " loyalty-gold "}); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Tags("c1"), []string{"VIP", "loyalty-gold"}; !slices.Equal(got, want) {
		t.Errorf("tags = %q, want %q", got, want)
	}
	cu, _ := p.Customer("c1")
	if want := testNow.Add(time.Minute); !cu.UpdatedAt.Equal(want) {
		t.Errorf("after a tag change UpdatedAt = %s, want %s", cu.UpdatedAt, want)
	}

	clk.Advance(time.Minute)
	if err := c.AddTags(ctx, "c1", []string{"LOYALTY-GOLD"}); err != nil {
		t.Fatal(err)
	}
	if again, _ := p.Customer("c1"); !again.UpdatedAt.Equal(cu.UpdatedAt) {
		t.Errorf("adding a tag the customer has moved UpdatedAt to %s, want %s kept", again.UpdatedAt, cu.UpdatedAt)
	}

	if err := c.RemoveTags(ctx, "c1", []string{"Loyalty-Gold"}); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Tags("c1"), []string{"VIP"}; !slices.Equal(got, want) {
		t.Errorf("after removal tags = %q, want %q", got, want)
	}

	for _, bad := range [][]string{{""}, {"  "}, {"a,b"}, {"ok", ""}} {
		if err := c.AddTags(ctx, "c1", bad); !errors.Is(err, connectors.ErrRejected) {
			t.Errorf("AddTags(%q): got error %v, want one wrapping ErrRejected", bad, err)
		}
	}
	if got, want := p.Tags("c1"), []string{"VIP"}; !slices.Equal(got, want) {
		t.Errorf("refused writes changed the tags to %q, want %q", got, want)
	}
}

func TestMetafields(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	p, c, clk := newPlatform(t)
	p.PutCustomer(commerce.Customer{ID: "c1", UpdatedAt: testNow.Add(-time.Hour)})
	p.PutCustomer(commerce.Customer{ID: "g1", Guest: true})

	if err := c.SetMetafields(ctx, "c1", map[string]string{"points": "340", "tier": "silver"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if err := c.SetMetafields(ctx, "c1", map[string]string{"points": "340"}); err != nil {
		t.Fatal(err)
	}
	if cu, _ := p.Customer("c1"); !cu.UpdatedAt.Equal(testNow) {
		t.Errorf("an unchanged write moved UpdatedAt to %s, want %s kept", cu.UpdatedAt, testNow)
	}
	if err := c.SetMetafields(ctx, "c1", map[string]string{"tier": "gold"}); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Metafields("c1"), map[string]string{"points": "340", "tier": "gold"}; !reflect.DeepEqual(got, want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
	if err := c.SetMetafields(ctx, "g1", map[string]string{"points": "1"}); !errors.Is(err, connectors.ErrUnsupported) {
		t.Errorf("fields on a guest: got error %v, want one wrapping ErrUnsupported", err)
	}
	if err := c.SetMetafields(ctx, "c1", map[string]string{" ": "1"}); !errors.Is(err, connectors.ErrRejected) {
		t.Errorf("an empty key: got error %v, want one wrapping ErrRejected", err)
	}
}

func TestEnsureDiscount(t *testing.T) {
	t.Parallel()
	valid := commerce.DiscountCode{
		Code: "LOYALTY-1", CustomerID: "c1", Type: commerce.DiscountFixedAmount, Amount: usd(500),
		StartsAt: testNow, ExpiresAt: testNow.AddDate(0, 3, 0),
	}
	for _, tc := range []struct {
		name    string
		edit    func(*commerce.DiscountCode)
		wantErr error
	}{
		{"fixed amount", func(*commerce.DiscountCode) {}, nil},
		{"percentage", func(d *commerce.DiscountCode) {
			d.Type, d.Amount, d.PercentBP = commerce.DiscountPercentage, commerce.Money{}, 1000
		}, nil},
		{"free shipping", func(d *commerce.DiscountCode) { d.Type, d.Amount = commerce.DiscountFreeShipping, commerce.Money{} }, nil},
		{"no expiry", func(d *commerce.DiscountCode) { d.ExpiresAt = time.Time{} }, nil},
		{"empty code", func(d *commerce.DiscountCode) { d.Code = "" }, connectors.ErrRejected},
		{"blank code", func(d *commerce.DiscountCode) { d.Code = "  " }, connectors.ErrRejected},
		{"unknown type", func(d *commerce.DiscountCode) { d.Type = "bogus" }, connectors.ErrRejected},
		{"no type", func(d *commerce.DiscountCode) { d.Type = "" }, connectors.ErrRejected},
		{"zero amount", func(d *commerce.DiscountCode) { d.Amount = usd(0) }, connectors.ErrRejected},
		{"amount without currency", func(d *commerce.DiscountCode) { d.Amount = commerce.Money{Minor: 500} }, connectors.ErrRejected},
		{"zero percent", func(d *commerce.DiscountCode) { d.Type, d.PercentBP = commerce.DiscountPercentage, 0 }, connectors.ErrRejected},
		{"over 100 percent", func(d *commerce.DiscountCode) { d.Type, d.PercentBP = commerce.DiscountPercentage, 10001 }, connectors.ErrRejected},
		{"negative minimum", func(d *commerce.DiscountCode) { d.MinimumOrder = usd(-1) }, connectors.ErrRejected},
		{"expires before it starts", func(d *commerce.DiscountCode) { d.ExpiresAt = d.StartsAt }, connectors.ErrRejected},
		{"no customer", func(d *commerce.DiscountCode) { d.CustomerID = "" }, connectors.ErrRejected},
		{"unknown customer", func(d *commerce.DiscountCode) { d.CustomerID = "nobody" }, connectors.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, c, _ := newPlatform(t)
			p.PutCustomer(commerce.Customer{ID: "c1"})
			d := valid
			tc.edit(&d)
			id, err := c.EnsureDiscount(t.Context(), d)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("got id %q, error %v; want an error wrapping %v", id, err, tc.wantErr)
				}
				if n := len(p.Discounts()); n != 0 {
					t.Errorf("a refused code left %d codes on the platform", n)
				}
				return
			}
			if err != nil || id == "" {
				t.Fatalf("got id %q, error %v; want an id", id, err)
			}
			if got, ok := p.Discount(strings.ToLower(d.Code)); !ok || !reflect.DeepEqual(got, d) {
				t.Errorf("Discount(%s) = %+v, %t; want %+v", d.Code, got, ok, d)
			}
			if w := p.Writes(); len(w) != 1 || w[0].Op != memory.OpEnsureDiscount || w[0].CustomerID != "c1" || w[0].Detail != d.Code {
				t.Errorf("Writes() = %+v, want one creation of %s for c1", w, d.Code)
			}
		})
	}
}

// TestEnsureDiscountLooksUpFirst: an existing code is success whatever the
// request says, since the request is a retry of the one that created it.
func TestEnsureDiscountLooksUpFirst(t *testing.T) {
	t.Parallel()
	p, c, _ := newPlatform(t)
	p.PutCustomer(commerce.Customer{ID: "c1"})
	d := commerce.DiscountCode{Code: "LOYALTY-2", CustomerID: "c1", Type: commerce.DiscountFreeShipping}
	id, err := c.EnsureDiscount(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteCustomer("c1"); err != nil {
		t.Fatal(err)
	}
	d.Code = "loyalty-2"
	again, err := c.EnsureDiscount(t.Context(), d)
	if err != nil || again != id {
		t.Errorf("EnsureDiscount of an existing code: got %q, %v; want %q, nil", again, err, id)
	}
	if n := p.DiscountCreations("LOYALTY-2"); n != 1 {
		t.Errorf("DiscountCreations = %d, want 1", n)
	}
	if ds := p.Discounts(); len(ds) != 1 || ds[0].Code != "LOYALTY-2" {
		t.Errorf("Discounts() = %+v, want the one code as first written", ds)
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	p, c, _ := newPlatform(t)
	p.PutCustomer(commerce.Customer{ID: "c1"})
	outage := errors.New("503 service unavailable")
	p.FailNext(memory.OpAddTags, 2, outage)
	p.FailNext(memory.OpAddTags, 1, nil)
	for i, want := range []error{outage, outage, memory.ErrInjected} {
		if err := c.AddTags(ctx, "c1", []string{"a"}); !errors.Is(err, want) {
			t.Errorf("call %d: got error %v, want one wrapping %v", i, err, want)
		}
	}
	if got := p.Tags("c1"); got != nil {
		t.Errorf("failed calls wrote tags %q", got)
	}
	if err := c.RemoveTags(ctx, "c1", []string{"a"}); err != nil {
		t.Errorf("a fault for add_tags failed remove_tags: %v", err)
	}
	if err := c.AddTags(ctx, "c1", []string{"a"}); err != nil {
		t.Errorf("after the faults: %v", err)
	}
	if w := p.Writes(); len(w) != 2 {
		t.Errorf("Writes() = %+v, want the two calls that got through", w)
	}
	p.FailNext(memory.OpOrders, 1, nil)
	if pg, err := c.Orders(ctx, connectors.Cursor{}); !errors.Is(err, memory.ErrInjected) || len(pg.Items) != 0 {
		t.Errorf("Orders: got %d items, error %v; want none and ErrInjected", len(pg.Items), err)
	}
	p.FailNext(memory.OpCustomers, 1, &connectors.RateLimitError{RetryAfter: time.Second})
	if _, err := c.Customers(ctx, connectors.Cursor{}); !isRateLimit(err) {
		t.Errorf("Customers: got error %v, want a *RateLimitError", err)
	}
}

func isRateLimit(err error) bool {
	_, ok := errors.AsType[*connectors.RateLimitError](err)
	return ok
}

func TestFailAfterWrite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	p, c, _ := newPlatform(t)
	p.PutCustomer(commerce.Customer{ID: "c1"})
	p.PutOrder(sampleOrder("o1", commerce.StatePaid))

	p.FailAfterWrite(memory.OpAddTags, 1)
	if err := c.AddTags(ctx, "c1", []string{"a"}); !errors.Is(err, memory.ErrInjected) {
		t.Errorf("AddTags: got error %v, want ErrInjected", err)
	}
	if got := p.Tags("c1"); !slices.Equal(got, []string{"a"}) {
		t.Errorf("tags = %q, want the write done despite the error", got)
	}

	d := commerce.DiscountCode{Code: "L-1", CustomerID: "c1", Type: commerce.DiscountFreeShipping}
	p.FailAfterWrite(memory.OpEnsureDiscount, 2)
	for i := range 2 {
		if _, err := c.EnsureDiscount(ctx, d); !errors.Is(err, memory.ErrInjected) {
			t.Errorf("EnsureDiscount %d: got error %v, want ErrInjected", i, err)
		}
	}
	if _, ok := p.Discount("L-1"); !ok {
		t.Error("the code was not created despite the lost answer")
	}
	if _, err := c.EnsureDiscount(ctx, d); err != nil {
		t.Errorf("retry: %v", err)
	}
	if n := p.DiscountCreations("L-1"); n != 1 {
		t.Errorf("DiscountCreations = %d after a lost answer and retries, want 1", n)
	}

	p.FailAfterWrite(memory.OpOrders, 1)
	if pg, err := c.Orders(ctx, connectors.Cursor{}); !errors.Is(err, memory.ErrInjected) || len(pg.Items) != 0 || pg.Done {
		t.Errorf("Orders with a lost answer: got %d items, Done=%t, error %v; want nothing and ErrInjected", len(pg.Items), pg.Done, err)
	}
}

func TestFaultOnUnknownOpPanics(t *testing.T) {
	t.Parallel()
	p, _, _ := newPlatform(t)
	for name, inject := range map[string]func(){
		"FailNext":       func() { p.FailNext("typo", 1, nil) },
		"FailAfterWrite": func() { p.FailAfterWrite("typo", 1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s on an unknown op did not panic", name)
				}
			}()
			inject()
		}()
	}
}

func TestRevokeAccess(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	p, c, _ := newPlatform(t)
	p.PutCustomer(commerce.Customer{ID: "c1"})
	p.RevokeAccess()
	calls := map[string]func() error{
		"Orders":         func() error { _, err := c.Orders(ctx, connectors.Cursor{}); return err },
		"Customers":      func() error { _, err := c.Customers(ctx, connectors.Cursor{}); return err },
		"AddTags":        func() error { return c.AddTags(ctx, "c1", []string{"a"}) },
		"RemoveTags":     func() error { return c.RemoveTags(ctx, "c1", []string{"a"}) },
		"SetMetafields":  func() error { return c.SetMetafields(ctx, "c1", map[string]string{"a": "1"}) },
		"Check":          func() error { return c.Check(ctx) },
		"EnsureDiscount": func() error { _, err := c.EnsureDiscount(ctx, commerce.DiscountCode{Code: "X"}); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, connectors.ErrUnauthorized) {
			t.Errorf("%s with access revoked: got error %v, want one wrapping ErrUnauthorized", name, err)
		}
	}
	p.RestoreAccess()
	for _, name := range []string{"Orders", "Customers", "Check"} {
		if err := calls[name](); err != nil {
			t.Errorf("%s with access restored: %v", name, err)
		}
	}
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	p, c, _ := newPlatform(t)
	p.PutCustomer(commerce.Customer{ID: "c1"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.AddTags(ctx, "c1", []string{"a"}); !errors.Is(err, context.Canceled) {
		t.Errorf("AddTags: got error %v, want context.Canceled", err)
	}
	if got := p.Tags("c1"); got != nil {
		t.Errorf("a cancelled call wrote tags %q", got)
	}
}

// TestConcurrentUse drives the platform from both sides at once; run with
// -race it shows the platform guards all its state.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	p, c, _ := newPlatform(t)
	const n = 20
	for i := range n {
		p.PutCustomer(commerce.Customer{ID: fmt.Sprintf("c%02d", i)})
	}
	var wg stdsync.WaitGroup
	for i := range n {
		id := fmt.Sprintf("c%02d", i)
		wg.Go(func() {
			p.PutOrder(sampleOrder("o-"+id, commerce.StatePaid))
			if err := c.AddTags(ctx, id, []string{"a", "b"}); err != nil {
				t.Error(err)
			}
			if _, err := c.EnsureDiscount(ctx, commerce.DiscountCode{Code: "SHARED", CustomerID: id, Type: commerce.DiscountFreeShipping}); err != nil {
				t.Error(err)
			}
			if err := p.Refund("o-"+id, commerce.Refund{Amount: usd(100)}); err != nil {
				t.Error(err)
			}
			if _, _, err := p.Webhook(memory.TopicOrdersUpdated, "o-"+id); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			cur := connectors.Cursor{}
			for {
				pg, err := c.Orders(ctx, cur)
				if err != nil {
					t.Error(err)
					return
				}
				for i := range pg.Items {
					pg.Items[i].Lines = nil // readers own their copies
				}
				if pg.Done {
					return
				}
				cur = pg.Next
			}
		})
	}
	wg.Wait()
	if got := p.DiscountCreations("SHARED"); got != 1 {
		t.Errorf("DiscountCreations(SHARED) = %d after concurrent ensures, want 1", got)
	}
	if got := len(p.Writes()); got != n+1 {
		t.Errorf("%d writes recorded, want %d tag writes and one creation", got, n)
	}
}

// TestRefundOnOddOrder: PutOrder stores what it is given, so Refund must
// not panic on an order whose amounts are in another currency than its own.
func TestRefundOnOddOrder(t *testing.T) {
	t.Parallel()
	p, _, _ := newPlatform(t)
	o := sampleOrder("o1", commerce.StatePaid)
	o.Total = commerce.NewMoney(10000, "EUR")
	o.Refunds = []commerce.Refund{{ID: "r0", Amount: commerce.NewMoney(100, "GBP")}}
	p.PutOrder(o)
	if err := p.Refund("o1", commerce.Refund{Amount: usd(100)}); err != nil {
		t.Errorf("Refund: %v", err)
	}
}

// TestDefaultClock: a platform without a clock stamps records with
// time.Now, whose monotonic readings tokens cannot carry, and still pages
// through them whole.
func TestDefaultClock(t *testing.T) {
	t.Parallel()
	p := memory.NewPlatform(memory.PlatformOptions{PageSize: 1})
	memory.Attach(t.Name(), p)
	t.Cleanup(func() { memory.Detach(t.Name()) })
	const n = 50
	for i := range n {
		p.PutCustomer(commerce.Customer{ID: fmt.Sprintf("c%02d", i)}) // stamped now
		p.PutCustomer(commerce.Customer{ID: fmt.Sprintf("d%02d", i), UpdatedAt: time.Now()})
	}
	c := mustOpen(t, t.Name(), "")
	seen := map[string]bool{}
	for cur, pages := (connectors.Cursor{}), 0; ; pages++ {
		if pages > 2*n+1 {
			t.Fatal("no Done")
		}
		pg, err := c.Customers(t.Context(), cur)
		if err != nil {
			t.Fatal(err)
		}
		for _, cu := range pg.Items {
			seen[cu.ID] = true
		}
		if pg.Done {
			break
		}
		cur = pg.Next
	}
	if len(seen) != 2*n {
		t.Errorf("read %d customers, want %d", len(seen), 2*n)
	}
}
