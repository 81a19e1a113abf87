package loyalty

import (
	"fmt"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Amount is a sum of money in the program's currency as the owner writes
// it ("200", "4.99"). It is read as text and resolved against the
// program's currency by SetDefaults, so that "4.999" in a USD program is
// an error rather than a rounding.
type Amount struct {
	text  string
	money commerce.Money
}

// AmountOf returns a resolved Amount.
func AmountOf(m commerce.Money) Amount { return Amount{text: m.Decimal(), money: m} }

// UnmarshalText keeps the decimal text until the currency is known.
func (a *Amount) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if _, err := ParseDecimal(s); err != nil && s != "" {
		return fmt.Errorf("%q is not an amount of money", string(b))
	}
	a.text, a.money = s, commerce.Money{}
	return nil
}

// MarshalText writes the amount as written (or as resolved).
func (a Amount) MarshalText() ([]byte, error) {
	if a.money.Currency != "" {
		return []byte(a.money.Decimal()), nil
	}
	return []byte(a.text), nil
}

// IsZero reports whether no amount was given, or zero.
func (a Amount) IsZero() bool { return a.text == "" || a.money.Currency != "" && a.money.IsZero() }

// Set reports whether the owner gave an amount.
func (a Amount) Set() bool { return a.text != "" }

// Money returns the resolved amount; zero of no currency before SetDefaults.
func (a Amount) Money() commerce.Money { return a.money }

func (a *Amount) resolve(currency string) error {
	if a.text == "" {
		a.money = commerce.Money{Currency: currency}
		return nil
	}
	m, err := commerce.ParseMoney(a.text, currency)
	if err != nil {
		return err
	}
	a.money = m
	return nil
}

// Date is a day or a moment in the program's configuration: "2026-11-27"
// (a whole day in the program's time zone) or RFC 3339.
type Date struct {
	text string
	day  bool
	at   time.Time
}

// UnmarshalText reads "2006-01-02" or RFC 3339.
func (d *Date) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "" {
		*d = Date{}
		return nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		*d = Date{text: s, day: true, at: t}
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("%q is not a date (2006-01-02) or a time (RFC 3339)", s)
	}
	*d = Date{text: s, at: t}
	return nil
}

// MarshalText writes the date as given.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.text), nil }

// DateOf returns the Date of a whole day.
func DateOf(year int, month time.Month, day int) Date {
	t := time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
	return Date{text: t.Format("2006-01-02"), day: true, at: t}
}

// IsZero reports whether no date was given.
func (d Date) IsZero() bool { return d.text == "" }

// Start returns the first moment of the date in loc: midnight for a day.
func (d Date) Start(loc *time.Location) time.Time {
	if d.day {
		return time.Date(d.at.Year(), d.at.Month(), d.at.Day(), 0, 0, 0, 0, loc)
	}
	return d.at
}

// End returns the first moment after the date: the next midnight for a
// day, the moment itself for a time.
func (d Date) End(loc *time.Location) time.Time {
	if d.day {
		return d.Start(loc).AddDate(0, 0, 1)
	}
	return d.at
}
