// Package loyalty is the program's rules engine: what an order is worth in
// points, what a customer's balance is, and why.
//
// It is pure: no I/O, no clock, no database. Callers pass the program, the
// customer's standing, the order and the time, and get back numbers that can
// be explained in words and rebuilt from the same inputs. Points are
// computed as an entitlement (what the order is worth now, under the rules
// frozen when it was first credited), so that the ledger only ever records
// the difference between the entitlement and what was already credited.
package loyalty
