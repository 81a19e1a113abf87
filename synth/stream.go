package synth

import (
	"cmp"
	"errors"
	"fmt"
	"iter"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Stream generates a store one order at a time, in processing-time order,
// without holding the orders: what it keeps is four bytes a customer and
// the plans of one slice of the period, so that a store of millions of
// orders can be written to a file or served with little memory. Every
// customer and every order draws from a random sequence of its own, derived
// from the seed, so the same options always give the same store, and any
// customer can be rebuilt alone. Its shapes are Generate's (how many orders
// a customer places, baskets, discount codes, refunds, cancellations), but
// not its sequence: the same seed gives another store than Generate's.
type Stream struct {
	o      Options
	m      *maker
	counts []uint32 // orders of each customer
	total  int
	slices int // the period is generated in this many slices of time
}

// ErrNoBuyers is returned by NewStream when orders are asked for but no
// customer can place one (none exists before the end of the period).
var ErrNoBuyers = errors.New("synth: orders asked for, but no customer exists before the end of the period")

// sliceOrders is about how many orders one slice of the period holds;
// maxSlices bounds the passes over the customers.
const (
	sliceOrders = 25_000
	maxSlices   = 64
)

// Kinds of random sequences, one of each per customer or per order.
const (
	seqCatalog = iota + 1
	seqPlan
	seqName
	seqOrder
)

// NewStream plans a store: how many orders each customer places. With
// Options.Orders set, the orders are shared among the customers in
// proportion to their habits, exactly that many in all.
func NewStream(o Options) (*Stream, error) {
	o.defaults()
	exp, err := commerce.Exponent(o.Currency)
	if err != nil {
		return nil, err
	}
	if o.Customers < 0 || o.Orders < 0 || !o.Start.Before(o.End) {
		return nil, fmt.Errorf("synth: want customers ≥ 0, orders ≥ 0 and start before end")
	}
	if o.Customers > 1<<31-1 {
		return nil, fmt.Errorf("synth: %d customers is too many", o.Customers)
	}
	s := &Stream{o: o, counts: make([]uint32, o.Customers)}
	s.m = newMaker(o, exp, s.rand(seqCatalog, 0, 0).Rand)
	var weight uint64
	rng := s.rand(seqPlan, 0, 0)
	for i := range s.counts {
		s.reseed(rng, seqPlan, i, 0)
		d := s.draw(rng.Rand)
		if d.from.Before(o.End) {
			s.counts[i] = uint32(d.habit)
			weight += uint64(d.habit)
		}
	}
	if o.Orders > 0 {
		if weight == 0 {
			// Nobody's habits place an order (a tiny store): share them
			// evenly among those who can.
			for i := range s.counts {
				s.reseed(rng, seqPlan, i, 0)
				if s.draw(rng.Rand).from.Before(o.End) {
					s.counts[i] = 1
					weight++
				}
			}
		}
		if weight == 0 {
			return nil, ErrNoBuyers
		}
		// Cumulative rounding: customer i gets round(M·C(i+1)/W) −
		// round(M·C(i)/W) orders, where C is the running sum of habits,
		// which adds up to exactly M and keeps each share within one order
		// of proportional.
		var acc, prev uint64
		m := uint64(o.Orders)
		for i, w := range s.counts {
			acc += uint64(w)
			hi, lo := bits.Mul64(m, acc)
			lo, carry := bits.Add64(lo, weight/2, 0)
			q, _ := bits.Div64(hi+carry, lo, weight)
			n := q - prev
			if n > 1<<32-1 {
				return nil, fmt.Errorf("synth: %d orders among %d customers is too many for one customer", o.Orders, o.Customers)
			}
			s.counts[i] = uint32(n)
			prev = q
		}
	}
	for _, n := range s.counts {
		s.total += int(n)
	}
	s.slices = min(max(1, (s.total+sliceOrders-1)/sliceOrders), maxSlices)
	return s, nil
}

// CustomerCount returns the number of customers.
func (s *Stream) CustomerCount() int { return len(s.counts) }

// OrderCount returns the number of orders Orders yields.
func (s *Stream) OrderCount() int { return s.total }

// OrdersOf returns how many orders the i'th customer places.
func (s *Stream) OrdersOf(i int) int { return int(s.counts[i]) }

// splitmix64 scrambles a seed, so that neighbouring customers' sequences
// do not start from neighbouring states.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (s *Stream) seeds(kind uint64, i, k int) (uint64, uint64) {
	a := splitmix64(s.o.Seed ^ splitmix64(kind))
	b := splitmix64(splitmix64(a^uint64(i)) ^ uint64(k))
	return a, b
}

// seq is a random sequence that can be reseeded without allocating.
type seq struct {
	*rand.Rand
	src *rand.PCG
}

// rand returns the random sequence of a kind for customer i's k'th order.
func (s *Stream) rand(kind uint64, i, k int) *seq {
	a, b := s.seeds(kind, i, k)
	src := rand.NewPCG(a, b)
	return &seq{rand.New(src), src}
}

// reseed starts q over as the sequence of a kind for customer i's k'th
// order.
func (s *Stream) reseed(q *seq, kind uint64, i, k int) {
	q.src.Seed(s.seeds(kind, i, k))
}

// customerDraw is what a customer's plan sequence says first.
type customerDraw struct {
	created   time.Time
	from      time.Time // when the customer can first order
	wholesale bool
	habit     int // the orders the customer's habits place
	big       bool
}

// draw reads a customer's first draws from its plan sequence, as Generate
// draws them.
func (s *Stream) draw(rng *rand.Rand) customerDraw {
	o := &s.o
	span := o.End.Sub(o.Start)
	var d customerDraw
	d.created = o.Start.Add(-time.Duration(rng.Int64N(int64(span)))/2 + time.Duration(rng.Int64N(int64(span))))
	d.wholesale = rng.Float64() < 0.03
	switch r := rng.Float64(); {
	case r < 0.12:
		d.habit = 0
	case r < 0.62:
		d.habit = 1
	case r < 0.87:
		d.habit = 2 + rng.IntN(2)
	case r < 0.97:
		d.habit = 4 + rng.IntN(7)
	default:
		d.habit, d.big = 12+rng.IntN(25), true
	}
	d.from = o.Start
	if d.created.After(d.from) {
		d.from = d.created
	}
	return d
}

// What became of an order after it was placed.
const (
	fatePaid = iota
	fateUnpaid
	fateCancelled
	fateRefunded
)

// plan is an order before it is built: who, when, and what happens to it.
type plan struct {
	customer, k int32
	big         bool
	fate        uint8
	at, fateAt  time.Time
}

// plans calls fn with each order the i'th customer places, drawn from the
// customer's plan sequence (reseeding rng), and returns the customer's
// first draws.
func (s *Stream) plans(rng *seq, i int, fn func(p plan)) customerDraw {
	o := &s.o
	s.reseed(rng, seqPlan, i, 0)
	d := s.draw(rng.Rand)
	n := int(s.counts[i])
	if n == 0 {
		return d
	}
	window := int64(o.End.Sub(d.from))
	for k := range n {
		p := plan{customer: int32(i), k: int32(k), big: d.big}
		p.at = d.from.Add(time.Duration(rng.Int64N(window))).Truncate(time.Second)
		r := rng.Float64()
		switch {
		case r < o.UnpaidRate:
			p.fate = fateUnpaid
		case r < o.UnpaidRate+o.CancelRate:
			if t, ok := laterTime(rng.Rand, p.at, 0, 3, o.End); ok {
				p.fate, p.fateAt = fateCancelled, t
			}
		case r < o.UnpaidRate+o.CancelRate+o.RefundRate:
			if t, ok := laterTime(rng.Rand, p.at, 2, 40, o.End); ok {
				p.fate, p.fateAt = fateRefunded, t
			}
		}
		fn(p)
	}
	return d
}

// identity returns the i'th customer's id, names and e-mail.
func (s *Stream) identity(rng *seq, i int) commerce.Customer {
	s.reseed(rng, seqName, i, 0)
	first := firstNames[rng.IntN(len(firstNames))]
	last := lastNames[rng.IntN(len(lastNames))]
	return commerce.Customer{
		ID:        strconv.Itoa(firstCustomerID + i),
		Email:     strings.ToLower(first) + "." + strings.ToLower(last) + strconv.Itoa(i+1) + "@example.com",
		FirstName: first,
		LastName:  last,
	}
}

// firstCustomerID is the id of the first customer; the others follow.
const firstCustomerID = 5001

// CustomerIndex returns the index of the customer with the id (the i of
// Customer), and false for an id that is none of the store's customers
// (a guest's empty one).
func (s *Stream) CustomerIndex(id string) (int, bool) {
	n, err := strconv.Atoi(id)
	if err != nil || n < firstCustomerID || n-firstCustomerID >= s.CustomerCount() {
		return 0, false
	}
	return n - firstCustomerID, true
}

// Customer returns the i'th customer (0 ≤ i < CustomerCount): created
// before or during the period, last updated when their last order was.
func (s *Stream) Customer(i int) commerce.Customer {
	rng := s.rand(seqPlan, 0, 0)
	c := s.identity(rng, i)
	updated := time.Time{}
	d := s.plans(rng, i, func(p plan) {
		t := p.at
		if p.fate == fateCancelled || p.fate == fateRefunded {
			t = p.fateAt
		}
		if t.After(updated) {
			updated = t
		}
	})
	c.CreatedAt = d.created.Truncate(time.Second)
	c.UpdatedAt = c.CreatedAt
	if updated.After(c.UpdatedAt) {
		c.UpdatedAt = updated
	}
	if d.wholesale {
		c.Tags = append(c.Tags, "wholesale")
	}
	if d.big {
		c.Tags = append(c.Tags, "vip")
	}
	return c
}

// Customers yields every customer, in id order.
func (s *Stream) Customers() iter.Seq[commerce.Customer] {
	return func(yield func(commerce.Customer) bool) {
		for i := range s.counts {
			if !yield(s.Customer(i)) {
				return
			}
		}
	}
}

// Orders yields every order in processing-time order (ties by customer),
// numbered from Options.FirstOrderID in that order. Each order is in its
// final state: refunded or cancelled if that happened before the end of
// the period (History gives the earlier version).
func (s *Stream) Orders() iter.Seq[commerce.Order] {
	return func(yield func(commerce.Order) bool) {
		o := &s.o
		span := o.End.Sub(o.Start)
		slice := func(t time.Time) int {
			k := int(int64(s.slices) * int64(t.Sub(o.Start)) / int64(span))
			return min(max(k, 0), s.slices-1)
		}
		planRng := s.rand(seqPlan, 0, 0)
		orderRng := s.rand(seqOrder, 0, 0)
		nameRng := s.rand(seqName, 0, 0)
		id := o.FirstOrderID
		var todo []plan
		for w := range s.slices {
			todo = todo[:0]
			for i, n := range s.counts {
				if n == 0 {
					continue
				}
				s.plans(planRng, i, func(p plan) {
					if slice(p.at) == w {
						todo = append(todo, p)
					}
				})
			}
			slices.SortFunc(todo, func(a, b plan) int {
				if c := a.at.Compare(b.at); c != 0 {
					return c
				}
				if c := cmp.Compare(a.customer, b.customer); c != 0 {
					return c
				}
				return cmp.Compare(a.k, b.k)
			})
			for _, p := range todo {
				i := int(p.customer)
				c := s.identity(nameRng, i)
				s.reseed(orderRng, seqOrder, i, int(p.k))
				ord := s.m.order(orderRng.Rand, id, &c, i, p.at, p.big)
				switch p.fate {
				case fateUnpaid:
					ord.State = commerce.StatePending
				case fateCancelled:
					cancelOrder(&ord, p.fateAt)
				case fateRefunded:
					full := orderRng.Float64() < 0.3
					line := 0
					if !full {
						line = orderRng.IntN(len(ord.Lines))
					}
					refundOrder(&ord, p.fateAt, full, line)
				}
				id++
				if !yield(ord) {
					return
				}
			}
		}
	}
}

// collect is Generate for a fixed number of orders: the stream, held.
func collect(o Options) (Store, error) {
	s, err := NewStream(o)
	if err != nil {
		return Store{}, err
	}
	st := Store{Customers: make([]commerce.Customer, 0, s.CustomerCount()), Orders: make([]commerce.Order, 0, s.OrderCount())}
	for c := range s.Customers() {
		st.Customers = append(st.Customers, c)
	}
	for ord := range s.Orders() {
		st.Orders = append(st.Orders, ord)
	}
	return st, nil
}
