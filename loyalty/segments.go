package loyalty

import (
	"sort"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Buyer is what segmentation needs of a customer's recent orders.
type Buyer struct {
	CustomerID string
	// Spend is the eligible spend of the trailing 365 days.
	Spend commerce.Money
	// Orders counts the orders of the trailing 365 days.
	Orders int
	// LastOrder is the processing time of the latest order.
	LastOrder time.Time
}

// Segment is a customer's place in the ABC and RFM segmentations.
type Segment struct {
	// ABC is "a" for the top 20 % of buyers by spend, "b" for the next
	// 30 %, "c" for the rest.
	ABC string `json:"abc"`
	// Recency, Frequency and Monetary are RFM scores from 1 (lowest) to 5.
	Recency   int `json:"recency"`
	Frequency int `json:"frequency"`
	Monetary  int `json:"monetary"`
}

// RFM returns the scores as "RFM 5-4-3".
func (s Segment) RFM() string {
	return "RFM " + string(rune('0'+s.Recency)) + "-" + string(rune('0'+s.Frequency)) + "-" + string(rune('0'+s.Monetary))
}

// Segments ranks the buyers of the trailing 365 days (buyers with no
// spend are left out): ABC by spend, and RFM quintiles of recency,
// frequency and spend. Ties share the better score; the result is
// independent of the input order.
func Segments(buyers []Buyer, now time.Time) map[string]Segment {
	var bs []Buyer
	for _, b := range buyers {
		if b.Spend.Sign() > 0 && b.Orders > 0 {
			bs = append(bs, b)
		}
	}
	out := make(map[string]Segment, len(bs))
	n := len(bs)
	if n == 0 {
		return out
	}
	// ABC by spend, descending; ties broken by id for stability.
	sort.Slice(bs, func(i, j int) bool {
		if bs[i].Spend.Minor != bs[j].Spend.Minor {
			return bs[i].Spend.Minor > bs[j].Spend.Minor
		}
		return bs[i].CustomerID < bs[j].CustomerID
	})
	for i, b := range bs {
		s := Segment{ABC: "c"}
		switch {
		case i < ceilShare(n, 20):
			s.ABC = "a"
		case i < ceilShare(n, 50):
			s.ABC = "b"
		}
		out[b.CustomerID] = s
	}
	score := func(value func(Buyer) int64, set func(*Segment, int)) {
		vals := make([]int64, n)
		for i, b := range bs {
			vals[i] = value(b)
		}
		sorted := append([]int64(nil), vals...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		for i, b := range bs {
			// The share of buyers strictly below this value decides the
			// quintile, so equal values get equal scores.
			below := sort.Search(n, func(k int) bool { return sorted[k] >= vals[i] })
			s := out[b.CustomerID]
			set(&s, 1+below*5/n)
			out[b.CustomerID] = s
		}
	}
	score(func(b Buyer) int64 { return b.LastOrder.Unix() }, func(s *Segment, v int) { s.Recency = v })
	score(func(b Buyer) int64 { return int64(b.Orders) }, func(s *Segment, v int) { s.Frequency = v })
	score(func(b Buyer) int64 { return b.Spend.Minor }, func(s *Segment, v int) { s.Monetary = v })
	return out
}

// ceilShare returns ceil(n × percent / 100).
func ceilShare(n, percent int) int { return (n*percent + 99) / 100 }
