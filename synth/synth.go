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

// Generate builds a store.
func Generate(o Options) (Store, error) {
	o.defaults()
	exp, err := commerce.Exponent(o.Currency)
	if err != nil {
		return Store{}, err
	}
	if o.Customers < 0 || !o.Start.Before(o.End) {
		return Store{}, fmt.Errorf("synth: want customers ≥ 0 and start before end")
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	// Prices are chosen in cents and scaled to the currency's exponent, so
	// that a JPY store has believable yen prices.
	scale := func(cents int64) int64 {
		switch {
		case exp == 0:
			return cents // ¥ prices: 2,500 for a "25.00" item reads believably
		case exp >= 2:
			return cents * int64(math.Pow10(exp-2))
		}
		return cents / 10
	}
	catalog := make([]product, 0, len(items)+1)
	for i, name := range items {
		catalog = append(catalog, product{
			id:     strconv.Itoa(8001 + i),
			sku:    fmt.Sprintf("%s-%03d", []string{"NW", "AO", "BH", "KS"}[i%len(vendors)], i+1),
			vendor: vendors[i%len(vendors)],
			title:  name,
			price:  scale(int64(900 + rng.IntN(15000))),
		})
	}
	catalog = append(catalog, product{id: "8999", sku: "GIFT-25", vendor: "Store", title: "Gift card", price: scale(2500), giftCard: true})

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
			ID:        strconv.Itoa(5001 + i),
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
		ord := commerce.Order{
			ID:          strconv.Itoa(o.FirstOrderID + k),
			Number:      "#" + strconv.Itoa(o.FirstOrderID+k),
			CustomerID:  c.ID,
			Email:       c.Email,
			Currency:    o.Currency,
			CreatedAt:   p.at,
			ProcessedAt: p.at,
			UpdatedAt:   p.at,
			State:       commerce.StatePaid,
		}
		money := func(minor int64) commerce.Money { return commerce.NewMoney(minor, o.Currency) }
		nlines := 1 + rng.IntN(3)
		if p.big {
			nlines += rng.IntN(3)
		}
		merch := money(0)
		for l := range nlines {
			pr := catalog[rng.IntN(len(catalog)-1)]
			if rng.Float64() < 0.02 {
				pr = catalog[len(catalog)-1]
			}
			qty := 1 + rng.IntN(2)
			if p.big && rng.Float64() < 0.4 {
				qty += 1 + rng.IntN(3)
			}
			line := commerce.LineItem{
				ID: fmt.Sprintf("%s-%d", ord.ID, l+1), ProductID: pr.id, VariantID: pr.id + "01", SKU: pr.sku,
				Vendor: pr.vendor, Title: pr.title, Quantity: qty, Subtotal: money(pr.price * int64(qty)),
				GiftCard: pr.giftCard,
			}
			ord.Lines = append(ord.Lines, line)
			if !pr.giftCard {
				merch = merch.Add(line.Subtotal)
			}
		}
		discount := money(0)
		if rng.Float64() < o.DiscountRate && merch.Sign() > 0 {
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
		if merch.Sub(discount).Minor < scale(5000) {
			ord.Shipping = money(scale(500))
		} else {
			ord.Shipping = money(0)
		}
		ord.Tax = money(merch.Sub(discount).Minor * 8 / 100)
		ord.Total = sub.Add(ord.Shipping).Add(ord.Tax)
		ord.ShippingAddress = &commerce.Address{Address1: fmt.Sprintf("%d Harbor Road", 1+p.customer), City: "Springfield", Zip: fmt.Sprintf("%05d", 10000+p.customer), Country: "US"}

		r := rng.Float64()
		later := func(minDays, maxDays int) (time.Time, bool) {
			t := p.at.Add(time.Duration(minDays)*24*time.Hour + time.Duration(rng.Int64N(int64(maxDays-minDays)*int64(24*time.Hour))))
			return t.Truncate(time.Second), t.Before(o.End)
		}
		switch {
		case r < o.UnpaidRate:
			ord.State = commerce.StatePending
		case r < o.UnpaidRate+o.CancelRate:
			if t, ok := later(0, 3); ok {
				ord.CancelledAt, ord.UpdatedAt = t, t
				ord.State = commerce.StateRefunded
				ord.Refunds = []commerce.Refund{{ID: ord.ID + "-r1", CreatedAt: t, Amount: ord.Total, Shipping: ord.Shipping, Note: "order cancelled"}}
			}
		case r < o.UnpaidRate+o.CancelRate+o.RefundRate:
			if t, ok := later(2, 40); ok {
				ord.UpdatedAt = t
				if rng.Float64() < 0.3 {
					ord.State = commerce.StateRefunded
					ord.Refunds = []commerce.Refund{{ID: ord.ID + "-r1", CreatedAt: t, Amount: ord.Total, Shipping: ord.Shipping, Note: "returned"}}
				} else {
					l := ord.Lines[rng.IntN(len(ord.Lines))]
					ord.State = commerce.StatePartiallyRefunded
					amt := l.Net()
					ord.Refunds = []commerce.Refund{{ID: ord.ID + "-r1", CreatedAt: t, Amount: amt.Add(money(amt.Minor * 8 / 100)), Note: "item returned",
						Lines: []commerce.RefundLine{{LineID: l.ID, Quantity: l.Quantity, Amount: amt}}}}
				}
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
