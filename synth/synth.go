// Package synth generates synthetic stores: customers and a period of
// orders with believable shapes (spend concentrated in a few customers,
// many one-time buyers, repeat buyers, refunds, cancellations, discount
// codes, gift cards), deterministically from a seed. The demo, tests and
// benchmarks run on it.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Options describe the store to generate.
type Options struct {
	// Seed makes the output deterministic: the same options give the same
	// store.
	Seed uint64
	// Customers is the number of customers.
	Customers int
	// Start and End bound the orders' processing times.
	Start, End time.Time
	// Currency is the shop currency; default USD.
	Currency string
	// RefundRate, CancelRate and UnpaidRate are the shares of orders
	// refunded (partly or fully), cancelled, and still unpaid; defaults
	// 5 %, 2 % and 1 %.
	RefundRate, CancelRate, UnpaidRate float64
	// DiscountRate is the share of orders using a discount code; default 15 %.
	DiscountRate float64
	// FirstOrderID numbers the orders; default 1001.
	FirstOrderID int
	// Orders, when positive, is the exact number of orders: each
	// customer's habits then say how the orders are shared among the
	// customers, and the store is the one NewStream generates. Zero lets
	// the habits decide how many orders there are.
	Orders int
}

// Store is a generated store.
type Store struct {
	Customers []commerce.Customer
	// Orders are sorted by processing time.
	Orders []commerce.Order
}

type product struct {
	id, sku, vendor, title string
	price                  int64 // in major units × 100, scaled to the currency below
	giftCard               bool
}

var (
	firstNames = []string{"Ada", "Ben", "Chloe", "Dan", "Eva", "Finn", "Gia", "Hugo", "Iris", "Jon", "Kai", "Lena",
		"Mia", "Noah", "Omar", "Pia", "Quinn", "Rosa", "Sam", "Tara", "Uri", "Vera", "Will", "Yara", "Zoe"}
	lastNames = []string{"Adler", "Baker", "Cohen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
		"Kim", "Levi", "Martin", "Nowak", "Okafor", "Petrov", "Rossi", "Saar", "Tamm", "Varga", "Weber", "Young"}
	vendors = []string{"Northwind", "Acme Outdoor", "Blue Harbor", "Kestrel"}
	items   = []string{"Trail mug", "Wool socks", "Canvas tote", "Field notebook", "Rain shell", "Camp lantern",
		"Merino beanie", "Water bottle", "Day pack", "Hiking poles", "Thermal flask", "Fleece jacket"}
)

func (o *Options) defaults() {
	if o.Currency == "" {
		o.Currency = "USD"
	}
	if o.RefundRate == 0 {
		o.RefundRate = 0.05
	}
	if o.CancelRate == 0 {
		o.CancelRate = 0.02
	}
	if o.UnpaidRate == 0 {
		o.UnpaidRate = 0.01
	}
	if o.DiscountRate == 0 {
		o.DiscountRate = 0.15
	}
	if o.FirstOrderID == 0 {
		o.FirstOrderID = 1001
	}
	if o.End.IsZero() {
		o.End = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.Start.IsZero() {
		o.Start = o.End.AddDate(-1, 0, 0)
	}
}

// Generate builds a store. With Options.Orders set it collects what
// NewStream generates.
func Generate(o Options) (Store, error) {
	if o.Orders != 0 {
		return collect(o)
	}
	o.defaults()
	exp, err := commerce.Exponent(o.Currency)
	if err != nil {
		return Store{}, err
	}
	if o.Customers < 0 || !o.Start.Before(o.End) {
		return Store{}, fmt.Errorf("synth: want customers ≥ 0 and start before end")
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	m := newMaker(o, exp, rng)
	span := o.End.Sub(o.Start)
	st := Store{Customers: make([]commerce.Customer, o.Customers)}
	type plan struct {
		customer int
		at       time.Time
		big      bool
	}
	var plans []plan
	for i := range st.Customers {
		first := firstNames[rng.IntN(len(firstNames))]
		last := lastNames[rng.IntN(len(lastNames))]
		created := o.Start.Add(-time.Duration(rng.Int64N(int64(span)))/2 + time.Duration(rng.Int64N(int64(span))))
		c := commerce.Customer{
			ID:        strconv.Itoa(firstCustomerID + i),
			Email:     fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(first), strings.ToLower(last), i+1),
			FirstName: first,
			LastName:  last,
			CreatedAt: created.Truncate(time.Second),
			UpdatedAt: created.Truncate(time.Second),
		}
		if rng.Float64() < 0.03 {
			c.Tags = append(c.Tags, "wholesale")
		}
		// Order counts: most buy once, some come back, a few buy a lot.
		var n int
		big := false
		switch r := rng.Float64(); {
		case r < 0.12:
			n = 0
		case r < 0.62:
			n = 1
		case r < 0.87:
			n = 2 + rng.IntN(2)
		case r < 0.97:
			n = 4 + rng.IntN(7)
		default:
			n, big = 12+rng.IntN(25), true
			c.Tags = append(c.Tags, "vip")
		}
		st.Customers[i] = c
		from := o.Start
		if created.After(from) {
			from = created
		}
		if !from.Before(o.End) {
			continue
		}
		for range n {
			at := from.Add(time.Duration(rng.Int64N(int64(o.End.Sub(from))))).Truncate(time.Second)
			plans = append(plans, plan{customer: i, at: at, big: big})
		}
	}
	sort.SliceStable(plans, func(i, j int) bool { return plans[i].at.Before(plans[j].at) })

	for k, p := range plans {
		c := &st.Customers[p.customer]
		ord := m.order(rng, o.FirstOrderID+k, c, p.customer, p.at, p.big)
		r := rng.Float64()
		later := func(minDays, maxDays int) (time.Time, bool) {
			return laterTime(rng, p.at, minDays, maxDays, o.End)
		}
		switch {
		case r < o.UnpaidRate:
			ord.State = commerce.StatePending
		case r < o.UnpaidRate+o.CancelRate:
			if t, ok := later(0, 3); ok {
				cancelOrder(&ord, t)
			}
		case r < o.UnpaidRate+o.CancelRate+o.RefundRate:
			if t, ok := later(2, 40); ok {
				full := rng.Float64() < 0.3
				line := 0
				if !full {
					line = rng.IntN(len(ord.Lines))
				}
				refundOrder(&ord, t, full, line)
			}
		}
		if ord.UpdatedAt.After(c.UpdatedAt) {
			c.UpdatedAt = ord.UpdatedAt
		}
		st.Orders = append(st.Orders, ord)
	}
	return st, nil
}

// History returns the successive versions of a generated order as the
// platform showed them: an order later refunded or cancelled was first
// paid, and changed when the refund or cancellation came. The last version
// is the order itself.
func History(o commerce.Order) []commerce.Order {
	if len(o.Refunds) == 0 && o.CancelledAt.IsZero() {
		return []commerce.Order{o}
	}
	first := o
	first.State = commerce.StatePaid
	first.Refunds = nil
	first.CancelledAt = time.Time{}
	first.UpdatedAt = o.ProcessedTime()
	return []commerce.Order{first, o}
}

// maker builds orders: the catalog and the currency's scale.
type maker struct {
	o       Options
	exp     int
	catalog []product
}

// newMaker prices the catalog with draws from rng.
func newMaker(o Options, exp int, rng *rand.Rand) *maker {
	m := &maker{o: o, exp: exp}
	m.catalog = make([]product, 0, len(items)+1)
	for i, name := range items {
		m.catalog = append(m.catalog, product{
			id:     strconv.Itoa(8001 + i),
			sku:    fmt.Sprintf("%s-%03d", []string{"NW", "AO", "BH", "KS"}[i%len(vendors)], i+1),
			vendor: vendors[i%len(vendors)],
			title:  name,
			price:  m.scale(int64(900 + rng.IntN(15000))),
		})
	}
	m.catalog = append(m.catalog, product{id: "8999", sku: "GIFT-25", vendor: "Store", title: "Gift card", price: m.scale(2500), giftCard: true})
	return m
}

// scale converts an amount chosen in cents to the currency's minor units,
// so that a JPY store has believable yen prices.
func (m *maker) scale(cents int64) int64 {
	switch {
	case m.exp == 0:
		return cents // ¥ prices: 2,500 for a "25.00" item reads believably
	case m.exp >= 2:
		return cents * int64(math.Pow10(m.exp-2))
	}
	return cents / 10
}

// order builds a paid order of customer c (the customer'th) placed at at,
// with lines, a discount code now and then, shipping, tax and an address.
// big customers buy more lines and more units.
func (m *maker) order(rng *rand.Rand, id int, c *commerce.Customer, customer int, at time.Time, big bool) commerce.Order {
	cur := m.o.Currency
	ord := commerce.Order{
		ID:          strconv.Itoa(id),
		Number:      "#" + strconv.Itoa(id),
		CustomerID:  c.ID,
		Email:       c.Email,
		Currency:    cur,
		CreatedAt:   at,
		ProcessedAt: at,
		UpdatedAt:   at,
		State:       commerce.StatePaid,
	}
	money := func(minor int64) commerce.Money { return commerce.NewMoney(minor, cur) }
	nlines := 1 + rng.IntN(3)
	if big {
		nlines += rng.IntN(3)
	}
	merch := money(0)
	for l := range nlines {
		pr := m.catalog[rng.IntN(len(m.catalog)-1)]
		if rng.Float64() < 0.02 {
			pr = m.catalog[len(m.catalog)-1]
		}
		qty := 1 + rng.IntN(2)
		if big && rng.Float64() < 0.4 {
			qty += 1 + rng.IntN(3)
		}
		line := commerce.LineItem{
			ID: ord.ID + "-" + strconv.Itoa(l+1), ProductID: pr.id, VariantID: pr.id + "01", SKU: pr.sku,
			Vendor: pr.vendor, Title: pr.title, Quantity: qty, Subtotal: money(pr.price * int64(qty)),
			GiftCard: pr.giftCard,
		}
		ord.Lines = append(ord.Lines, line)
		if !pr.giftCard {
			merch = merch.Add(line.Subtotal)
		}
	}
	discount := money(0)
	if rng.Float64() < m.o.DiscountRate && merch.Sign() > 0 {
		code := []string{"WELCOME10", "SPRING10", "FRIENDS10"}[rng.IntN(3)]
		discount = money(merch.Minor / 10)
		weights := make([]int64, len(ord.Lines))
		for i, l := range ord.Lines {
			if !l.GiftCard {
				weights[i] = l.Subtotal.Minor
			}
		}
		for i, part := range discount.Allocate(weights) {
			ord.Lines[i].Discount = part
		}
		ord.Codes = []commerce.CodeUse{{Code: code, Amount: discount}}
	}
	sub := money(0)
	for _, l := range ord.Lines {
		sub = sub.Add(l.Net())
	}
	if merch.Sub(discount).Minor < m.scale(5000) {
		ord.Shipping = money(m.scale(500))
	} else {
		ord.Shipping = money(0)
	}
	ord.Tax = money(merch.Sub(discount).Minor * 8 / 100)
	ord.Total = sub.Add(ord.Shipping).Add(ord.Tax)
	ord.ShippingAddress = &commerce.Address{Address1: fmt.Sprintf("%d Harbor Road", 1+customer), City: "Springfield", Zip: fmt.Sprintf("%05d", 10000+customer), Country: "US"}
	return ord
}

// laterTime draws a time between minDays and maxDays after at, and reports
// whether it falls before end.
func laterTime(rng *rand.Rand, at time.Time, minDays, maxDays int, end time.Time) (time.Time, bool) {
	t := at.Add(time.Duration(minDays)*24*time.Hour + time.Duration(rng.Int64N(int64(maxDays-minDays)*int64(24*time.Hour))))
	return t.Truncate(time.Second), t.Before(end)
}

// cancelOrder cancels an order at t, refunding it whole.
func cancelOrder(ord *commerce.Order, t time.Time) {
	ord.CancelledAt, ord.UpdatedAt = t, t
	ord.State = commerce.StateRefunded
	ord.Refunds = []commerce.Refund{{ID: ord.ID + "-r1", CreatedAt: t, Amount: ord.Total, Shipping: ord.Shipping, Note: "order cancelled"}}
}

// refundOrder refunds an order at t: whole (returned), or one line and its
// tax.
func refundOrder(ord *commerce.Order, t time.Time, full bool, line int) {
	ord.UpdatedAt = t
	if full {
		ord.State = commerce.StateRefunded
		ord.Refunds = []commerce.Refund{{ID: ord.ID + "-r1", CreatedAt: t, Amount: ord.Total, Shipping: ord.Shipping, Note: "returned"}}
		return
	}
	l := ord.Lines[line]
	ord.State = commerce.StatePartiallyRefunded
	amt := l.Net()
	ord.Refunds = []commerce.Refund{{ID: ord.ID + "-r1", CreatedAt: t, Amount: amt.Add(commerce.NewMoney(amt.Minor*8/100, ord.Currency)), Note: "item returned",
		Lines: []commerce.RefundLine{{LineID: l.ID, Quantity: l.Quantity, Amount: amt}}}}
}
