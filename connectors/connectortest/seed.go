package connectortest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// base is the update time of the suite's first records. It is fixed, so
// that failures are reproducible, and in the past, so that no platform
// refuses it.
var base = time.Date(2025, time.March, 1, 9, 0, 0, 0, time.UTC)

// The customers the writer and webhook subtests use.
const (
	memberID  = "7100000001"
	guestID   = "7100000002"
	missingID = "7199999999" // never seeded
)

// spread returns n update times in groups of three equal times a minute
// apart, so that every page boundary is likely to fall between records that
// share a time.
func spread(n int) []time.Time {
	ts := make([]time.Time, n)
	for i := range ts {
		ts[i] = base.Add(time.Duration(i/3) * time.Minute)
	}
	return ts
}

// same returns n copies of at.
func same(n int, at time.Time) []time.Time {
	ts := make([]time.Time, n)
	for i := range ts {
		ts[i] = at
	}
	return ts
}

// shuffled returns a copy of xs in a fixed pseudo-random order, so that a
// platform that returns records in the order they were created cannot pass
// for one that sorts them.
func shuffled[T any](xs []T) []T {
	out := slices.Clone(xs)
	r := rand.New(rand.NewPCG(20250301, uint64(len(xs))))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func orderID(i int) string    { return strconv.Itoa(5_000_000_000 + i) }
func customerID(i int) string { return strconv.Itoa(7_000_000_000 + i) }
func lineID(i, j int) string  { return strconv.Itoa(6_000_000_000 + 10*i + j) }
func refundID(i int) string   { return strconv.Itoa(8_000_000_000 + i) }

func usd(minor int64) commerce.Money { return commerce.NewMoney(minor, "USD") }

// buyer is the customer of the suite's order i: three buyers share all the
// orders, as customers share a store.
func buyer(i int) commerce.Customer {
	n := i % 3
	return commerce.Customer{
		ID:        customerID(n),
		Email:     fmt.Sprintf("buyer%d@example.com", n),
		FirstName: "Buyer",
		LastName:  strconv.Itoa(n),
		CreatedAt: base.AddDate(-1, 0, 0),
		UpdatedAt: base.AddDate(0, 0, -1),
	}
}

// newOrder returns the suite's order i, updated at at. Its state cycles
// through paid, pending, partially refunded, refunded, and cancelled
// (voided), so that states, refunds and cancellations all cross the
// connector.
func newOrder(i int, at time.Time) commerce.Order {
	qty := 1 + i%3
	lines := []commerce.LineItem{{
		ID: lineID(i, 0), ProductID: "4000000001", VariantID: "4100000001", SKU: "TEA-01",
		Title: "Sencha tea", Quantity: qty, Subtotal: usd(1250 * int64(qty)),
	}}
	if i%2 == 0 {
		lines = append(lines, commerce.LineItem{
			ID: lineID(i, 1), ProductID: "4000000002", VariantID: "4100000002", SKU: "MUG-01",
			Title: "Mug", Quantity: 1, Subtotal: usd(499),
		})
	}
	var sub int64
	for _, l := range lines {
		sub += l.Subtotal.Minor
	}
	shipping, tax := usd(500), usd(sub/10)
	b := buyer(i)
	o := commerce.Order{
		ID:         orderID(i),
		Number:     "#" + strconv.Itoa(1001+i),
		CustomerID: b.ID,
		Email:      b.Email,
		Currency:   "USD",
		CreatedAt:  at.Add(-time.Hour),
		UpdatedAt:  at,
		State:      commerce.StatePaid,
		Lines:      lines,
		Shipping:   shipping,
		Tax:        tax,
		Total:      usd(sub).Add(shipping).Add(tax),
	}
	switch i % 5 {
	case 1:
		o.State = commerce.StatePending
	case 2:
		o.State = commerce.StatePartiallyRefunded
		o.Refunds = []commerce.Refund{{
			ID: refundID(i), CreatedAt: at.Add(-time.Minute), Amount: usd(1375),
			Lines: []commerce.RefundLine{{LineID: lines[0].ID, Quantity: 1, Amount: usd(1250)}},
		}}
	case 3:
		o.State = commerce.StateRefunded
		o.Refunds = []commerce.Refund{{ID: refundID(i), CreatedAt: at.Add(-time.Minute), Amount: o.Total}}
	case 4:
		o.State = commerce.StateVoided
		o.CancelledAt = at.Add(-10 * time.Minute)
	}
	return o
}

// newCustomer returns the suite's customer i, updated at at.
func newCustomer(i int, at time.Time) commerce.Customer {
	c := commerce.Customer{
		ID:        customerID(i),
		Email:     fmt.Sprintf("member%d@example.com", i),
		FirstName: "Member",
		LastName:  strconv.Itoa(i),
		CreatedAt: base.AddDate(0, -1, 0),
		UpdatedAt: at,
	}
	if i%2 == 0 {
		c.Tags = []string{"newsletter"}
	}
	return c
}

// addMember seeds the customer the writer subtests write to.
func addMember(t *testing.T, f Fake, tags ...string) commerce.Customer {
	t.Helper()
	c := commerce.Customer{
		ID:        memberID,
		Email:     "ann@example.com",
		FirstName: "Ann",
		LastName:  "Member",
		Tags:      tags,
		CreatedAt: base.AddDate(0, -1, 0),
		UpdatedAt: base,
	}
	f.AddCustomers(t, c)
	return c
}

// countTag returns how many of tags equal tag as platforms compare tags.
func countTag(tags []string, tag string) int {
	n := 0
	for _, t := range tags {
		if strings.EqualFold(strings.TrimSpace(t), tag) {
			n++
		}
	}
	return n
}

// checkOrder reports the core fields in which got differs from want: what
// sync and the loyalty rules rely on.
func checkOrder(t *testing.T, got, want commerce.Order) {
	t.Helper()
	fail := func(field string, g, w any) {
		t.Helper()
		t.Errorf("order %s: %s = %v, want %v", want.ID, field, g, w)
	}
	if got.ID != want.ID {
		fail("ID", got.ID, want.ID)
	}
	if got.CustomerID != want.CustomerID {
		fail("CustomerID", got.CustomerID, want.CustomerID)
	}
	if got.Email != want.Email {
		fail("Email", got.Email, want.Email)
	}
	if got.Currency != want.Currency {
		fail("Currency", got.Currency, want.Currency)
	}
	if got.State != want.State {
		fail("State", got.State, want.State)
	}
	if got.Total != want.Total {
		fail("Total", got.Total, want.Total)
	}
	if !got.UpdatedAt.Equal(want.UpdatedAt) {
		fail("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	}
	// Whether an order was cancelled must come through; when, not every
	// platform records (WooCommerce has no cancellation time).
	if got.Cancelled() != want.Cancelled() {
		fail("Cancelled()", got.Cancelled(), want.Cancelled())
	}
	if len(got.Lines) != len(want.Lines) {
		fail("len(Lines)", len(got.Lines), len(want.Lines))
	} else {
		for i := range want.Lines {
			if got.Lines[i].Subtotal != want.Lines[i].Subtotal {
				fail(fmt.Sprintf("Lines[%d].Subtotal", i), got.Lines[i].Subtotal, want.Lines[i].Subtotal)
			}
		}
	}
	if len(got.Refunds) != len(want.Refunds) {
		fail("len(Refunds)", len(got.Refunds), len(want.Refunds))
	} else {
		for i := range want.Refunds {
			if got.Refunds[i].Amount != want.Refunds[i].Amount {
				fail(fmt.Sprintf("Refunds[%d].Amount", i), got.Refunds[i].Amount, want.Refunds[i].Amount)
			}
		}
	}
	if err := got.Validate(); err != nil {
		t.Errorf("order %s does not validate: %v", want.ID, err)
	}
}

// checkCustomer is checkOrder for customers; tags compare as a set, without
// regard to case.
func checkCustomer(t *testing.T, got, want commerce.Customer) {
	t.Helper()
	fail := func(field string, g, w any) {
		t.Helper()
		t.Errorf("customer %s: %s = %v, want %v", want.ID, field, g, w)
	}
	if got.ID != want.ID {
		fail("ID", got.ID, want.ID)
	}
	if got.Email != want.Email {
		fail("Email", got.Email, want.Email)
	}
	if got.FirstName != want.FirstName {
		fail("FirstName", got.FirstName, want.FirstName)
	}
	if got.LastName != want.LastName {
		fail("LastName", got.LastName, want.LastName)
	}
	if !got.UpdatedAt.Equal(want.UpdatedAt) {
		fail("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	}
	if !sameTags(got.Tags, want.Tags) {
		fail("Tags", got.Tags, want.Tags)
	}
}

// sameTags reports whether a and b hold the same tags, each once.
func sameTags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, t := range b {
		if countTag(a, t) != 1 {
			return false
		}
	}
	return true
}
