// Package commerce is loyaltyd's vocabulary: money, customers, orders, refunds,
// discount codes and platform events, as every other package speaks of them.
//
// It imports only the standard library. Connectors translate platform payloads
// into these types; the loyalty engine decides on them; the store remembers them.
//
// Money never passes through a float: amounts are integer minor units of an
// ISO 4217 currency, parsed from and formatted to exact decimal strings.
package commerce
