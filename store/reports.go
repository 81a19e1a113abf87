package store

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// The queries behind the program's reports. They aggregate in SQL what is
// a sum or a count, so that a store of a million orders reports in
// seconds, and stream what has to be looked at row by row. An order that
// counts is one with an eligible amount above zero that the platform has
// not deleted; orders are dated by their processing time.
//
// The ledger is read NOT INDEXED: its only index starts with the store, so
// the planner would otherwise walk it and fetch every entry by rowid in
// customer order, several times slower than reading the table through.

// PlacedCustomer is a customer the program placed in a cohort.
type PlacedCustomer struct {
	CustomerID string
	// Cohort is member, holdout or not_invited.
	Cohort string
	// EnrolledAt is when a member was enrolled; CreatedAt when the
	// customer was created on the platform, zero for a customer known
	// only from orders.
	EnrolledAt, CreatedAt time.Time
}

// ForEachPlaced calls fn for every customer the program placed, by id:
// the same order as Buyers, so that the two merge in one pass.
func (tx *Tx) ForEachPlaced(storeID string, fn func(PlacedCustomer) error) error {
	rows, err := tx.query(`SELECT m.customer_id, m.cohort, m.enrolled_at, c.created_at FROM members m
		LEFT JOIN customers c ON c.store_id = m.store_id AND c.id = m.customer_id
		WHERE m.store_id = ? ORDER BY m.customer_id`, storeID)
	if err != nil {
		return fmt.Errorf("store: placed customers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			p                 PlacedCustomer
			enrolled, created sql.NullString
		)
		if err := rows.Scan(&p.CustomerID, &p.Cohort, &enrolled, &created); err != nil {
			return fmt.Errorf("store: placed customers: %w", err)
		}
		if p.EnrolledAt, err = parseTS(enrolled); err != nil {
			return err
		}
		if p.CreatedAt, err = parseTS(created); err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return rows.Err()
}

// PointsByKind sums the points of the ledger entries recorded in
// [from, to), by kind.
func (tx *Tx) PointsByKind(storeID string, from, to time.Time) (map[commerce.EntryKind]int64, error) {
	rows, err := tx.query(`SELECT kind, sum(points) FROM ledger NOT INDEXED WHERE store_id = ? AND at >= ? AND at < ? GROUP BY kind`,
		storeID, ts(from), ts(to))
	if err != nil {
		return nil, fmt.Errorf("store: points by kind: %w", err)
	}
	defer rows.Close()
	out := map[commerce.EntryKind]int64{}
	for rows.Next() {
		var kind string
		var sum int64
		if err := rows.Scan(&kind, &sum); err != nil {
			return nil, fmt.Errorf("store: points by kind: %w", err)
		}
		out[commerce.EntryKind(kind)] = sum
	}
	return out, rows.Err()
}

// Outstanding sums the customers' balances (every entry recorded before
// at) with a negative balance counting as zero: the points the store owes.
func (tx *Tx) Outstanding(storeID string, at time.Time) (int64, error) {
	var n int64
	err := tx.queryRow(`SELECT coalesce(sum(max(b, 0)), 0) FROM (
		SELECT sum(points) AS b FROM ledger NOT INDEXED WHERE store_id = ? AND at < ? GROUP BY customer_id)`, storeID, ts(at)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: outstanding points: %w", err)
	}
	return n, nil
}

// ForEachPendingLedger calls fn with the ledger entries recorded before at
// of each customer who holds a credit still pending at at (available at
// or after it), in the order they were made: the only customers whose
// pending points need the ledger's lots worked out.
func (tx *Tx) ForEachPendingLedger(storeID string, at time.Time, fn func(customerID string, entries []commerce.LedgerEntry) error) error {
	rows, err := tx.query(`SELECT `+ledgerCols+` FROM ledger WHERE store_id = ?1 AND at < ?2 AND customer_id IN (
			SELECT DISTINCT customer_id FROM ledger NOT INDEXED WHERE store_id = ?1 AND points > 0 AND at < ?2 AND available_at >= ?2)
		ORDER BY customer_id, id`, storeID, ts(at))
	if err != nil {
		return fmt.Errorf("store: pending ledger: %w", err)
	}
	defer rows.Close()
	var (
		cur     string
		entries []commerce.LedgerEntry
	)
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return fmt.Errorf("store: pending ledger: %w", err)
		}
		if e.CustomerID != cur && len(entries) > 0 {
			if err := fn(cur, entries); err != nil {
				return err
			}
			entries = entries[:0]
		}
		cur = e.CustomerID
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: pending ledger: %w", err)
	}
	if len(entries) > 0 {
		return fn(cur, entries)
	}
	return nil
}

// RewardTotals are the redemptions of a period. Amounts are in minor units.
type RewardTotals struct {
	// Issued counts the redemptions made in the period and not refused by
	// the platform, Value sums their value.
	Issued int
	Value  int64
	// Used counts the codes used on orders processed in the period.
	Used int
}

// RewardTotals sums the redemptions of [from, to).
func (tx *Tx) RewardTotals(storeID string, from, to time.Time) (RewardTotals, error) {
	var t RewardTotals
	err := tx.queryRow(`SELECT
			coalesce(sum(status <> 'failed' AND created_at >= ?2 AND created_at < ?3), 0),
			coalesce(sum(CASE WHEN status <> 'failed' AND created_at >= ?2 AND created_at < ?3 THEN value_minor END), 0),
			coalesce(sum(used_at >= ?2 AND used_at < ?3), 0)
		FROM redemptions WHERE store_id = ?1`, storeID, ts(from), ts(to)).Scan(&t.Issued, &t.Value, &t.Used)
	if err != nil {
		return t, fmt.Errorf("store: reward totals: %w", err)
	}
	return t, nil
}

// AutoRedemption is a reward issued automatically.
type AutoRedemption struct {
	CreatedAt time.Time
	Value     int64
}

// AutoRedemptions returns the rewards issued automatically in [from, to)
// and not refused by the platform, oldest first: what counts against the
// monthly budget.
func (tx *Tx) AutoRedemptions(storeID string, from, to time.Time) ([]AutoRedemption, error) {
	rows, err := tx.query(`SELECT created_at, value_minor FROM redemptions
		WHERE store_id = ? AND auto = 1 AND status <> 'failed' AND created_at >= ? AND created_at < ? ORDER BY created_at, id`,
		storeID, ts(from), ts(to))
	if err != nil {
		return nil, fmt.Errorf("store: auto redemptions: %w", err)
	}
	defer rows.Close()
	var out []AutoRedemption
	for rows.Next() {
		var a AutoRedemption
		var at string
		if err := rows.Scan(&at, &a.Value); err != nil {
			return nil, fmt.Errorf("store: auto redemptions: %w", err)
		}
		if a.CreatedAt, err = mustTS(at); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ForEachOrderContents reads what is inside the counting orders processed
// in [from, to), one order after another (order numbers them): line is
// called for every merchandise line (gift cards left out) with the
// product's key (its id, else its SKU, else its title) and title, and code
// for every discount code used, with the discount it gave. The byte slices
// are valid only during the call. The stored JSON is read once, with
// gjson, skipping what it does not need: a million orders take a second
// or two, not the many that decoding them would.
func (tx *Tx) ForEachOrderContents(storeID string, from, to time.Time, line func(order int64, product, title []byte) error,
	code func(order int64, code string, amount commerce.Money) error) error {
	rows, err := tx.query(`SELECT rowid, id, currency, data FROM orders
		WHERE store_id = ? AND deleted_at IS NULL AND eligible_minor > 0 AND processed_at >= ? AND processed_at < ?`,
		storeID, ts(from), ts(to))
	if err != nil {
		return fmt.Errorf("store: order contents: %w", err)
	}
	defer rows.Close()
	var (
		order    int64
		id, cur  string
		data     sql.RawBytes
		firstErr error
	)
	for rows.Next() {
		if err := rows.Scan(&order, &id, &cur, &data); err != nil {
			return fmt.Errorf("store: order contents: %w", err)
		}
		err := orderParts(data, func(pid, sku, title []byte, gift bool) {
			key := pid
			if len(key) == 0 {
				key = sku
			}
			if len(key) == 0 {
				key = title
			}
			if gift || len(key) == 0 || firstErr != nil {
				return
			}
			firstErr = line(order, key, title)
		}, func(c, amount []byte) {
			if len(c) == 0 || firstErr != nil {
				return
			}
			m := commerce.Money{Currency: cur}
			if len(amount) > 0 {
				var err error
				if m, err = commerce.ParseMoney(string(amount), cur); err != nil {
					firstErr = fmt.Errorf("store: order %s: code %s: %w", id, c, err)
					return
				}
			}
			firstErr = code(order, string(c), m)
		})
		if err != nil {
			return fmt.Errorf("store: order %s: %w", id, err)
		}
		if firstErr != nil {
			return firstErr
		}
	}
	return rows.Err()
}

// ProgramCodes says which of codes (compared in upper case) are the
// program's: reward codes of redemptions, or members' referral codes. The
// map is keyed by the code in upper case.
func (tx *Tx) ProgramCodes(storeID string, codes []string) (map[string]ProgramCode, error) {
	out := map[string]ProgramCode{}
	const chunk = 500
	for i := 0; i < len(codes); i += chunk {
		part := codes[i:min(i+chunk, len(codes))]
		args := []any{storeID}
		for _, c := range part {
			args = append(args, strings.ToUpper(c))
		}
		in := "?" + strings.Repeat(", ?", len(part)-1)
		for _, q := range []struct {
			sql    string
			reward bool
		}{
			{`SELECT code, customer_id FROM redemptions WHERE store_id = ? AND code IN (` + in + `)`, true},
			{`SELECT referral_code, customer_id FROM members WHERE store_id = ? AND referral_code IN (` + in + `)`, false},
		} {
			rows, err := tx.query(q.sql, args...)
			if err != nil {
				return nil, fmt.Errorf("store: program codes: %w", err)
			}
			for rows.Next() {
				var code, customer string
				if err := rows.Scan(&code, &customer); err != nil {
					rows.Close()
					return nil, fmt.Errorf("store: program codes: %w", err)
				}
				pc := out[code]
				if q.reward {
					pc.Reward, pc.CustomerID = true, customer
				} else {
					pc.Referrer = customer
				}
				out[code] = pc
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return nil, fmt.Errorf("store: program codes: %w", err)
			}
		}
	}
	return out, nil
}

// TierCounts counts the store's members per tier ("" for none).
func (tx *Tx) TierCounts(storeID string) (map[string]int, error) {
	rows, err := tx.query(`SELECT tier, count(*) FROM members WHERE store_id = ? AND cohort = 'member' GROUP BY tier`, storeID)
	if err != nil {
		return nil, fmt.Errorf("store: tier counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var tier string
		var n int
		if err := rows.Scan(&tier, &n); err != nil {
			return nil, fmt.Errorf("store: tier counts: %w", err)
		}
		out[tier] = n
	}
	return out, rows.Err()
}

// CustomerKey is a customer's id and creation time: what a replay orders
// customers by.
type CustomerKey struct {
	ID        string
	CreatedAt time.Time
}

// CustomerCreations returns the ids of the store's customers, oldest
// created first (then by id): the order a replay meets them in.
func (tx *Tx) CustomerCreations(storeID string) ([]CustomerKey, error) {
	rows, err := tx.query(`SELECT id, created_at FROM customers WHERE store_id = ? ORDER BY created_at, id`, storeID)
	if err != nil {
		return nil, fmt.Errorf("store: customer creations: %w", err)
	}
	defer rows.Close()
	var out []CustomerKey
	for rows.Next() {
		var k CustomerKey
		var at string
		if err := rows.Scan(&k.ID, &at); err != nil {
			return nil, fmt.Errorf("store: customer creations: %w", err)
		}
		if k.CreatedAt, err = mustTS(at); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// CustomersByID returns the stored customers with the ids, in the order
// of the ids; ids not stored are left out.
func (tx *Tx) CustomersByID(storeID string, ids []string) ([]*StoredCustomer, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, storeID)
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := tx.query(`SELECT `+customerCols+` FROM customers WHERE store_id = ? AND id IN (?`+
		strings.Repeat(", ?", len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: customers by id: %w", err)
	}
	defer rows.Close()
	byID := make(map[string]*StoredCustomer, len(ids))
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, err
		}
		byID[c.ID] = c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*StoredCustomer, 0, len(ids))
	for _, id := range ids {
		if c, ok := byID[id]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// OrdersProcessedAfter returns up to limit orders of the store that the
// platform has not deleted, processed after the order (at, id) in the
// order (processing time, id): a page of the history, read without
// holding a transaction open for all of it.
func (tx *Tx) OrdersProcessedAfter(storeID string, at time.Time, id string, limit int) ([]*StoredOrder, error) {
	return tx.orders(tx.query, `SELECT `+orderCols+` FROM orders WHERE store_id = ? AND deleted_at IS NULL
		AND processed_at >= ? AND (processed_at > ? OR id > ?) ORDER BY processed_at, id LIMIT ?`,
		storeID, ts(at), ts(at), id, limit)
}

// ProgramCode is what a discount code used on the store's orders was to
// the program: a reward code of a redemption, or a member's referral code.
type ProgramCode struct {
	// Reward is set for a reward code; CustomerID is then the member it
	// was issued to.
	Reward     bool
	CustomerID string
	// Referrer is the member whose referral code it is, for a referral
	// code.
	Referrer string
}

// ProgramCodesUsed returns the program's codes that orders of the store
// used, by code in upper case.
func (tx *Tx) ProgramCodesUsed(storeID string) (map[string]ProgramCode, error) {
	rows, err := tx.query(`WITH used AS (
			SELECT DISTINCT upper(json_extract(c.value, '$.code')) AS code FROM orders o, json_each(o.data, '$.codes') c
			WHERE o.store_id = ?1 AND instr(o.data, '"codes":') > 0)
		SELECT used.code, coalesce(r.customer_id, ''), r.id IS NOT NULL, coalesce(m.customer_id, '') FROM used
		LEFT JOIN redemptions r ON r.store_id = ?1 AND r.code = used.code
		LEFT JOIN members m ON m.store_id = ?1 AND m.referral_code = used.code
		WHERE used.code IS NOT NULL AND (r.id IS NOT NULL OR m.customer_id IS NOT NULL)`, storeID)
	if err != nil {
		return nil, fmt.Errorf("store: program codes used: %w", err)
	}
	defer rows.Close()
	out := map[string]ProgramCode{}
	for rows.Next() {
		var code string
		var pc ProgramCode
		if err := rows.Scan(&code, &pc.CustomerID, &pc.Reward, &pc.Referrer); err != nil {
			return nil, fmt.Errorf("store: program codes used: %w", err)
		}
		out[code] = pc
	}
	return out, rows.Err()
}
