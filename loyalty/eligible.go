package loyalty

import "github.com/loyaltyd/loyaltyd/commerce"

// EligibleAmount is the part of an order that earns points, and how it was
// reached.
type EligibleAmount struct {
	// Amount is the eligible merchandise amount, never negative.
	Amount commerce.Money
	// Gross is the merchandise after discounts, before refunds.
	Gross commerce.Money
	// Refunded is the merchandise refunded.
	Refunded commerce.Money
	// Lines is the eligible amount of each line, in order.
	Lines []commerce.Money
	// Why says, when Amount is zero because the order does not count, why
	// not ("not paid yet"); empty otherwise.
	Why string
}

// Eligible computes an order's eligible amount in the program's currency:
// merchandise after line- and order-level discounts, without shipping,
// taxes, tips, duties and gift cards, minus refunded merchandise (per
// refunded line, or spread over the lines in proportion when a refund names
// no lines). It is zero while the order is unpaid, and when it is
// cancelled, voided, refunded in full, a test order, or in another currency.
func Eligible(o *commerce.Order, programCurrency string) EligibleAmount {
	lines := make([]commerce.Money, len(o.Lines))
	e := eligibleInto(o, programCurrency, lines)
	if e.Why == "" {
		e.Lines = lines
	}
	return e
}

// eligibleInto is Eligible writing the per-line amounts into lines (of
// the order's length) instead of allocating them, so that a caller can
// keep them on its stack; the result's Lines is nil.
func eligibleInto(o *commerce.Order, programCurrency string, lines []commerce.Money) EligibleAmount {
	zero := commerce.Money{Currency: o.Currency}
	e := EligibleAmount{Amount: zero, Gross: zero, Refunded: zero}
	switch {
	case o.Test:
		e.Why = "test order"
	case o.Cancelled():
		e.Why = "cancelled"
	case o.State == commerce.StateVoided:
		e.Why = "voided"
	case o.State == commerce.StateRefunded:
		e.Why = "refunded in full"
	case !o.State.Paid():
		e.Why = "not paid yet"
	case programCurrency != "" && o.Currency != programCurrency:
		e.Why = "in " + o.Currency + ", the program counts " + programCurrency
	}
	if e.Why != "" {
		return e
	}
	for i, l := range o.Lines {
		lines[i] = zero
		if l.GiftCard {
			continue
		}
		if n := l.Net(); n.Sign() > 0 {
			lines[i] = n
		}
		e.Gross = e.Gross.Add(lines[i])
	}
	for _, r := range o.Refunds {
		if len(r.Lines) > 0 {
			for _, rl := range r.Lines {
				i := lineIndex(o.Lines, rl.LineID)
				if i < 0 {
					continue
				}
				take := rl.Amount.Min(lines[i])
				if take.Sign() > 0 {
					lines[i] = lines[i].Sub(take)
					e.Refunded = e.Refunded.Add(take)
				}
			}
			continue
		}
		// A refund without lines: what it refunds beyond shipping comes off
		// the merchandise in proportion to what is left of each line.
		merch := r.Amount.Sub(r.Shipping)
		left := zero
		weights := make([]int64, len(lines))
		for i, m := range lines {
			weights[i] = m.Minor
			left = left.Add(m)
		}
		merch = merch.Min(left)
		if merch.Sign() <= 0 {
			continue
		}
		for i, part := range merch.Allocate(weights) {
			lines[i] = lines[i].Sub(part)
		}
		e.Refunded = e.Refunded.Add(merch)
	}
	e.Amount = e.Gross.Sub(e.Refunded)
	return e
}

// lineIndex finds a line by id; orders have few lines, so a scan beats a map.
func lineIndex(lines []commerce.LineItem, id string) int {
	for i := range lines {
		if lines[i].ID == id {
			return i
		}
	}
	return -1
}
