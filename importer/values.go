package importer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// currency returns the canonical ISO 4217 code s names.
func currency(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: Currency is empty", ErrMissing)
	}
	cur, err := commerce.NormalizeCurrency(s)
	if err != nil {
		return "", fmt.Errorf("%w %q (want an ISO 4217 code such as USD, EUR, JPY)", ErrUnknownCurrency, truncate(s, 40))
	}
	return cur, nil
}

// mr reads amounts in one currency and keeps the first error, so that the
// formats read straight through.
type mr struct {
	currency string
	err      error
}

// read parses an amount exactly in the reader's currency. An empty value
// is zero, or an error wrapping ErrMissing when required.
func (m *mr) read(field, s string, required bool) commerce.Money {
	zero := commerce.NewMoney(0, m.currency)
	if m.err != nil {
		return zero
	}
	if s == "" {
		if required {
			m.err = fmt.Errorf("%w: %s is empty", ErrMissing, field)
		}
		return zero
	}
	v, err := commerce.ParseMoney(s, m.currency)
	switch {
	case errors.Is(err, commerce.ErrTooManyDecimals):
		m.err = fmt.Errorf("%s: %w", field, err)
	case err != nil:
		m.err = fmt.Errorf("%w: %s: %v", ErrBadValue, field, err)
	case v.Minor > maxMinor || v.Minor < -maxMinor:
		m.err = fmt.Errorf("%w: %s %q is out of range", ErrBadValue, field, truncate(s, 40))
	default:
		return v
	}
	return zero
}

// times returns price × quantity, or an error when it is out of range.
func times(price commerce.Money, qty int) (commerce.Money, error) {
	if price.Minor != 0 && qty != 0 && (price.Minor > maxMinor/int64(qty) || price.Minor < -maxMinor/int64(qty)) {
		return commerce.Money{}, fmt.Errorf("%w: %s × %d is out of range", ErrBadValue, price.Decimal(), qty)
	}
	return price.Mul(int64(qty)), nil
}

// quantity parses a line's quantity: a whole number from 0 to maxQuantity.
func quantity(field, s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: %s is empty", ErrMissing, field)
	}
	neg := strings.HasPrefix(s, "-")
	if !isDigits(strings.TrimPrefix(s, "-")) {
		return 0, fmt.Errorf("%w: %s %q is not a whole number", ErrBadValue, field, truncate(s, 40))
	}
	if neg {
		return 0, fmt.Errorf("%w: %s %s is negative", ErrBadValue, field, truncate(s, 40))
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > maxQuantity {
		return 0, fmt.Errorf("%w: %s %s is out of range", ErrBadValue, field, truncate(s, 40))
	}
	return n, nil
}

// Times before 1970 or from the year 3000 on are refused: no order was
// placed then, and a time near the year 10000 could not be written as JSON
// once moved to UTC.
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// tr reads times in a format's layouts and keeps the first error. Layouts
// without a zone are read in loc.
type tr struct {
	layout string   // the format's own layout
	extra  []string // other layouts accepted
	loc    *time.Location
	err    error
}

// read parses a time, returned in UTC. An empty value is the zero time,
// or an error wrapping ErrMissing when required.
func (t *tr) read(field, s string, required bool) time.Time {
	if t.err != nil {
		return time.Time{}
	}
	if s == "" {
		if required {
			t.err = fmt.Errorf("%w: %s is empty", ErrMissing, field)
		}
		return time.Time{}
	}
	loc := t.loc
	if loc == nil {
		loc = time.UTC
	}
	for _, layout := range append([]string{t.layout}, t.extra...) {
		v, err := time.ParseInLocation(layout, s, loc)
		if err != nil {
			continue
		}
		v = v.UTC()
		if v.Before(minTime) || !v.Before(maxTime) {
			t.err = fmt.Errorf("%w: %s %q is out of range (1970 to 2999)", ErrBadValue, field, truncate(s, 40))
			return time.Time{}
		}
		return v
	}
	example := time.Date(2026, 5, 1, 10, 30, 0, 0, time.FixedZone("", 2*3600)).Format(t.layout)
	t.err = fmt.Errorf("%w: %s %q is not a time like %q", ErrBadValue, field, truncate(s, 40), example)
	return time.Time{}
}

// latest returns the latest of the times.
func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

// formatTime writes t in layout in loc, or "" for the zero time.
func formatTime(t time.Time, layout string, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(layout)
}

// check is what every format's order must satisfy before it is handed
// on: what commerce.Order.Validate checks, a creation time, amounts in the
// order's currency and within bounds, and no negative merchandise.
func check(o *commerce.Order) error {
	if o.ID == "" {
		return fmt.Errorf("%w: the order has no id", ErrMissing)
	}
	if o.CreatedAt.IsZero() {
		return fmt.Errorf("%w: created_at: the order has no creation time", ErrMissing)
	}
	if cur, err := currency(o.Currency); err != nil {
		return err
	} else if cur != o.Currency {
		return fmt.Errorf("%w: currency %q is written %s", ErrBadValue, o.Currency, cur)
	}
	if !o.State.Valid() {
		return fmt.Errorf("%w: state %q (want pending, authorized, partially_paid, paid, partially_refunded, refunded or voided)", ErrUnknownStatus, truncate(string(o.State), 40))
	}
	if err := o.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	if len(o.Lines) > maxLines || len(o.Refunds) > maxLines || len(o.Codes) > maxLines {
		return fmt.Errorf("%w: more than %d lines, refunds or codes", ErrBadValue, maxLines)
	}
	for _, t := range []time.Time{o.CreatedAt, o.ProcessedAt, o.UpdatedAt, o.CancelledAt} {
		if !t.IsZero() && (t.Before(minTime) || !t.Before(maxTime)) {
			return fmt.Errorf("%w: time %s is out of range (1970 to 2999)", ErrBadValue, t.Format(time.RFC3339))
		}
	}
	amount := func(field string, m commerce.Money, nonNegative bool) error {
		switch {
		case m.Minor != 0 && m.Currency != o.Currency:
			return fmt.Errorf("%w: %s: %s is not in the order's currency %s", ErrInconsistent, field, m, o.Currency)
		case nonNegative && m.Minor < 0:
			return fmt.Errorf("%w: %s: %s is negative", ErrBadValue, field, m)
		}
		return nil
	}
	for _, f := range []struct {
		name string
		m    commerce.Money
	}{{"shipping", o.Shipping}, {"tax", o.Tax}, {"tip", o.Tip}, {"duties", o.Duties}, {"total", o.Total}} {
		if err := amount(f.name, f.m, false); err != nil {
			return err
		}
	}
	for i, l := range o.Lines {
		if l.Quantity > maxQuantity {
			return fmt.Errorf("%w: lines[%d].quantity %d is out of range", ErrBadValue, i, l.Quantity)
		}
		if err := amount(fmt.Sprintf("lines[%d].subtotal", i), l.Subtotal, true); err != nil {
			return err
		}
		if err := amount(fmt.Sprintf("lines[%d].discount", i), l.Discount, true); err != nil {
			return err
		}
	}
	for i, c := range o.Codes {
		if err := amount(fmt.Sprintf("codes[%d].amount", i), c.Amount, false); err != nil {
			return err
		}
	}
	for i, r := range o.Refunds {
		if err := amount(fmt.Sprintf("refunds[%d].amount", i), r.Amount, true); err != nil {
			return err
		}
		if err := amount(fmt.Sprintf("refunds[%d].shipping", i), r.Shipping, true); err != nil {
			return err
		}
		if len(r.Lines) > maxLines {
			return fmt.Errorf("%w: refunds[%d]: more than %d lines", ErrBadValue, i, maxLines)
		}
		for j, rl := range r.Lines {
			if rl.Quantity > maxQuantity {
				return fmt.Errorf("%w: refunds[%d].lines[%d].quantity %d is out of range", ErrBadValue, i, j, rl.Quantity)
			}
			if err := amount(fmt.Sprintf("refunds[%d].lines[%d].amount", i, j), rl.Amount, true); err != nil {
				return err
			}
		}
	}
	return nil
}
