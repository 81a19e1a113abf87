package report

import (
	"cmp"
	"math"
	"slices"
)

// Baskets counts the products bought together in orders, one order at a
// time, so that the co-purchase table of a million orders is computed
// while they stream by: it keeps one counter per product and per pair of
// products seen together, never the orders.
type Baskets struct {
	index   map[string]int32
	keys    []string
	titles  []string
	orders  []int
	pairs   map[uint64]int
	baskets int
	scratch []int32
}

// NewBaskets returns an empty counter.
func NewBaskets() *Baskets {
	return &Baskets{index: map[string]int32{}, pairs: map[uint64]int{}}
}

// Product returns the number of the product with the key, adding it with
// its title the first time. The bytes are copied only for a new product,
// so that a caller may pass a buffer it reuses.
func (b *Baskets) Product(key, title []byte) int32 {
	if i, ok := b.index[string(key)]; ok {
		return i
	}
	i := int32(len(b.keys))
	k := string(key)
	b.index[k] = i
	b.keys = append(b.keys, k)
	b.titles = append(b.titles, string(title))
	b.orders = append(b.orders, 0)
	return i
}

// Add counts one order's products (numbers from Product); a product that
// appears on several lines counts once. An order without products is not
// counted.
func (b *Baskets) Add(products []int32) {
	s := append(b.scratch[:0], products...)
	slices.Sort(s)
	s = slices.Compact(s)
	b.scratch = s
	if len(s) == 0 {
		return
	}
	b.baskets++
	for i, x := range s {
		b.orders[x]++
		for _, y := range s[i+1:] {
			b.pairs[uint64(x)<<32|uint64(y)]++
		}
	}
}

// Orders returns the number of orders counted.
func (b *Baskets) Orders() int { return b.baskets }

// Pairs returns the pairs bought together in at least two orders and in
// at least minSupport of all orders, highest lift first (then most
// orders, then by key), at most top of them. The two products of a pair
// are in the order of their keys.
func (b *Baskets) Pairs(minSupport float64, top int) []Pair {
	out := []Pair{}
	if b.baskets == 0 {
		return out
	}
	n := float64(b.baskets)
	least := max(2, int(math.Ceil(minSupport*n-1e-9)))
	for k, both := range b.pairs {
		if both < least {
			continue
		}
		x, y := int32(k>>32), int32(k&math.MaxUint32)
		if b.keys[y] < b.keys[x] {
			x, y = y, x
		}
		pa, pb := Product{Key: b.keys[x], Title: b.titles[x], Orders: b.orders[x]}, Product{Key: b.keys[y], Title: b.titles[y], Orders: b.orders[y]}
		sa, sb, s := float64(pa.Orders)/n, float64(pb.Orders)/n, float64(both)/n
		out = append(out, Pair{A: pa, B: pb, Orders: both, Support: s,
			ConfidenceAB: float64(both) / float64(pa.Orders), ConfidenceBA: float64(both) / float64(pb.Orders),
			Lift: s / (sa * sb)})
	}
	slices.SortFunc(out, func(p, q Pair) int {
		return cmp.Or(cmp.Compare(q.Lift, p.Lift), cmp.Compare(q.Orders, p.Orders), cmp.Compare(p.A.Key, q.A.Key), cmp.Compare(p.B.Key, q.B.Key))
	})
	if top >= 0 && len(out) > top {
		out = out[:top]
	}
	return out
}
