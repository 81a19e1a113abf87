package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// EnsureStore records a configured store; it is idempotent.
func (tx *Tx) EnsureStore(id, platform string) error {
	_, err := tx.exec(`INSERT INTO stores (id, platform, created_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET platform = excluded.platform`, id, platform, ts(tx.now))
	if err != nil {
		return fmt.Errorf("store: ensure store %s: %w", id, err)
	}
	return nil
}

// UpsertCustomer stores a customer unless a version at least as new is
// stored already: a stored customer is replaced only by one with a later
// UpdatedAt, or the same UpdatedAt and different content. It reports
// whether the stored row changed.
func (tx *Tx) UpsertCustomer(storeID string, c *commerce.Customer) (bool, error) {
	tags, err := json.Marshal(nonNil(c.Tags))
	if err != nil {
		return false, err
	}
	res, err := tx.execRow(`INSERT INTO customers (store_id, id, email, email_folded, first_name, last_name, tags, guest,
			created_at, updated_at, first_seen_at, raw)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (store_id, id) DO UPDATE SET
			email = excluded.email, email_folded = excluded.email_folded,
			first_name = excluded.first_name, last_name = excluded.last_name,
			tags = excluded.tags, guest = excluded.guest, created_at = excluded.created_at,
			updated_at = excluded.updated_at, raw = excluded.raw, deleted_at = NULL
		WHERE excluded.updated_at > customers.updated_at
		   OR (excluded.updated_at = customers.updated_at AND (
		       excluded.email <> customers.email OR excluded.first_name <> customers.first_name OR
		       excluded.last_name <> customers.last_name OR excluded.tags <> customers.tags OR
		       excluded.guest <> customers.guest))`,
		storeID, c.ID, c.Email, commerce.FoldEmail(c.Email), c.FirstName, c.LastName, string(tags), c.Guest,
		ts(c.CreatedAt), ts(c.UpdatedAt), ts(tx.now), c.Raw)
	if err != nil {
		return false, fmt.Errorf("store: upsert customer %s/%s: %w", storeID, c.ID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// StoredCustomer is a customer as stored, with what the store adds.
type StoredCustomer struct {
	commerce.Customer
	// FirstSeenAt is when loyaltyd first stored the customer.
	FirstSeenAt time.Time
	// DeletedAt is when the platform deleted the customer; zero if not.
	DeletedAt time.Time
}

const customerCols = `id, email, first_name, last_name, tags, guest, created_at, updated_at, first_seen_at, deleted_at, raw`

func scanCustomer(sc interface{ Scan(...any) error }) (*StoredCustomer, error) {
	var (
		c                             StoredCustomer
		tags, created, updated, first string
		deleted                       sql.NullString
	)
	if err := sc.Scan(&c.ID, &c.Email, &c.FirstName, &c.LastName, &tags, &c.Guest, &created, &updated, &first, &deleted, &c.Raw); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
		return nil, fmt.Errorf("store: customer %s: tags: %w", c.ID, err)
	}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	var err error
	if c.CreatedAt, err = mustTS(created); err != nil {
		return nil, err
	}
	if c.UpdatedAt, err = mustTS(updated); err != nil {
		return nil, err
	}
	if c.FirstSeenAt, err = mustTS(first); err != nil {
		return nil, err
	}
	if c.DeletedAt, err = parseTS(deleted); err != nil {
		return nil, err
	}
	return &c, nil
}

// Customer returns a stored customer, or an error wrapping ErrNotFound.
func (tx *Tx) Customer(storeID, id string) (*StoredCustomer, error) {
	c, err := scanCustomer(tx.queryRow(`SELECT `+customerCols+` FROM customers WHERE store_id = ? AND id = ?`, storeID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: customer %s/%s: %w", storeID, id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: customer %s/%s: %w", storeID, id, err)
	}
	return c, nil
}

// CustomersByEmail returns the customers whose e-mail folds to the same
// address as email (case and "+tag" ignored), oldest first.
func (tx *Tx) CustomersByEmail(storeID, email string) ([]*StoredCustomer, error) {
	rows, err := tx.query(`SELECT `+customerCols+` FROM customers WHERE store_id = `+textArg+` AND email_folded = `+textArg+`
		ORDER BY created_at, id`, storeID, commerce.FoldEmail(email))
	if err != nil {
		return nil, fmt.Errorf("store: customers by e-mail: %w", err)
	}
	defer rows.Close()
	var cs []*StoredCustomer
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// ForEachCustomer calls fn for every stored customer of the store, by id.
func (tx *Tx) ForEachCustomer(storeID string, fn func(*StoredCustomer) error) error {
	rows, err := tx.query(`SELECT `+customerCols+` FROM customers WHERE store_id = ? ORDER BY id`, storeID)
	if err != nil {
		return fmt.Errorf("store: customers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Counts are a store's totals.
type Counts struct {
	Customers, Members, Holdout, Orders, LedgerEntries int
}

// Counts returns the store's totals.
func (tx *Tx) Counts(storeID string) (Counts, error) {
	var c Counts
	err := tx.queryRow(`SELECT
		(SELECT count(*) FROM customers WHERE store_id = ?1),
		(SELECT count(*) FROM members WHERE store_id = ?1 AND cohort = 'member'),
		(SELECT count(*) FROM members WHERE store_id = ?1 AND cohort = 'holdout'),
		(SELECT count(*) FROM orders WHERE store_id = ?1),
		(SELECT count(*) FROM ledger WHERE store_id = ?1)`, storeID).
		Scan(&c.Customers, &c.Members, &c.Holdout, &c.Orders, &c.LedgerEntries)
	if err != nil {
		return c, fmt.Errorf("store: counts: %w", err)
	}
	return c, nil
}

// UpsertResult says what UpsertOrder did.
type UpsertResult struct {
	// Inserted: the order was new.
	Inserted bool
	// Changed: the stored order changed (inserted or replaced by a newer
	// version). False when the same or an older version arrived.
	Changed bool
	// Stale: the version offered was older than the stored one and was
	// refused.
	Stale bool
	// Stored is the order as now stored when Changed (the version offered,
	// sharing its slices, with what the store keeps beside it), so that
	// the caller need not read back what it just wrote; nil otherwise.
	Stored *StoredOrder
}

// insertOrder inserts an order's row, orderRow's values.
const insertOrder = `INSERT INTO orders (store_id, id, number, customer_id, currency, state, total_minor, test,
		created_at, processed_at, updated_at, cancelled_at, data, raw, first_seen_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// orderRow returns the values of insertOrder for an order first seen at
// seen: its columns and its JSON.
func orderRow(storeID string, o *commerce.Order, seen time.Time) ([]any, error) {
	data, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("store: order %s: %w", o.ID, err)
	}
	return []any{storeID, o.ID, o.Number, o.CustomerID, o.Currency, string(o.State), o.Total.Minor, o.Test,
		ts(o.CreatedAt), ts(o.ProcessedTime()), ts(o.UpdatedAt), nullTS(o.CancelledAt), string(data), o.Raw, ts(seen)}, nil
}

// UpsertOrder stores an order unless a version at least as new is stored
// already: a stored order is replaced only by one with a later UpdatedAt,
// or the same UpdatedAt and different content, so that an older version
// delivered late never replaces a newer one.
func (tx *Tx) UpsertOrder(storeID string, o *commerce.Order) (UpsertResult, error) {
	row, err := orderRow(storeID, o, tx.now)
	if err != nil {
		return UpsertResult{}, err
	}
	var prevUpdated sql.NullString
	err = tx.queryRow(`SELECT updated_at FROM orders WHERE store_id = ? AND id = ?`, storeID, o.ID).Scan(&prevUpdated)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return UpsertResult{}, fmt.Errorf("store: order %s: %w", o.ID, err)
	}
	// RETURNING answers a row only when the statement wrote one: the
	// snapshot and the first sighting it kept (deleted_at is cleared).
	var (
		snap  sql.NullString
		first string
	)
	err = tx.queryRow(insertOrder+`
		ON CONFLICT (store_id, id) DO UPDATE SET
			number = excluded.number, customer_id = excluded.customer_id, currency = excluded.currency,
			state = excluded.state, total_minor = excluded.total_minor, test = excluded.test,
			created_at = excluded.created_at, processed_at = excluded.processed_at,
			updated_at = excluded.updated_at, cancelled_at = excluded.cancelled_at,
			data = excluded.data, raw = excluded.raw, deleted_at = NULL
		WHERE excluded.updated_at > orders.updated_at
		   OR (excluded.updated_at = orders.updated_at AND excluded.data <> orders.data)
		RETURNING snapshot, first_seen_at`, row...).Scan(&snap, &first)
	changed := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return UpsertResult{}, fmt.Errorf("store: upsert order %s/%s: %w", storeID, o.ID, tx.db.classify(err))
	}
	r := UpsertResult{Inserted: !exists, Changed: changed}
	if changed {
		r.Stored = &StoredOrder{Order: *o}
		if snap.Valid {
			r.Stored.Snapshot = []byte(snap.String)
		}
		if r.Stored.FirstSeenAt, err = mustTS(first); err != nil {
			return UpsertResult{}, fmt.Errorf("store: order %s/%s: %w", storeID, o.ID, err)
		}
	}
	if exists && !changed && prevUpdated.String > ts(o.UpdatedAt) {
		r.Stale = true
	}
	return r, nil
}

// StoredOrder is an order as stored, with what the store adds.
type StoredOrder struct {
	commerce.Order
	// Snapshot is the rule snapshot frozen when the order was first
	// credited; nil until then. The store keeps it as opaque JSON.
	Snapshot []byte
	// FirstSeenAt is when loyaltyd first stored the order.
	FirstSeenAt time.Time
	// DeletedAt is when the platform deleted the order; zero if not.
	DeletedAt time.Time
}

const orderCols = `data, raw, snapshot, first_seen_at, deleted_at`

func scanOrder(sc interface{ Scan(...any) error }) (*StoredOrder, error) {
	var (
		o        StoredOrder
		data     string
		snap     sql.NullString
		first    string
		deleted  sql.NullString
		raw      []byte
		parseErr error
	)
	if err := sc.Scan(&data, &raw, &snap, &first, &deleted); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(data), &o.Order); err != nil {
		return nil, fmt.Errorf("store: stored order: %w", err)
	}
	o.Raw = raw
	if snap.Valid {
		o.Snapshot = []byte(snap.String)
	}
	if o.FirstSeenAt, parseErr = mustTS(first); parseErr != nil {
		return nil, parseErr
	}
	if o.DeletedAt, parseErr = parseTS(deleted); parseErr != nil {
		return nil, parseErr
	}
	return &o, nil
}

// Order returns a stored order, or an error wrapping ErrNotFound.
func (tx *Tx) Order(storeID, id string) (*StoredOrder, error) {
	o, err := scanOrder(tx.queryRow(`SELECT `+orderCols+` FROM orders WHERE store_id = ? AND id = ?`, storeID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: order %s/%s: %w", storeID, id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: order %s/%s: %w", storeID, id, err)
	}
	return o, nil
}

// SetSnapshot freezes an order's rule snapshot. It never replaces one
// already frozen (unless replace is set, for a deliberate repricing) and
// reports whether it wrote.
func (tx *Tx) SetSnapshot(storeID, orderID string, snapshot []byte, replace bool) (bool, error) {
	q := `UPDATE orders SET snapshot = ? WHERE store_id = ? AND id = ? AND snapshot IS NULL`
	if replace {
		q = `UPDATE orders SET snapshot = ? WHERE store_id = ? AND id = ?`
	}
	res, err := tx.execRow(q, string(snapshot), storeID, orderID)
	if err != nil {
		return false, fmt.Errorf("store: snapshot of order %s/%s: %w", storeID, orderID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// SetEligible records what an order counts for (the rules' eligible
// amount in minor units), so that tiers and segments can sum it.
func (tx *Tx) SetEligible(storeID, orderID string, minor int64) error {
	_, err := tx.execRow(`UPDATE orders SET eligible_minor = ? WHERE store_id = ? AND id = ? AND eligible_minor <> ?`,
		minor, storeID, orderID, minor)
	if err != nil {
		return fmt.Errorf("store: eligible amount of order %s/%s: %w", storeID, orderID, err)
	}
	return nil
}

// Counted is an order that counts, as tiers and segments see it.
type Counted struct {
	CustomerID    string
	ProcessedAt   time.Time
	EligibleMinor int64
}

// CountingOrders returns the customer's credited orders (with a snapshot)
// that still count (eligible amount above zero), oldest first.
func (tx *Tx) CountingOrders(storeID, customerID string) ([]Counted, error) {
	rows, err := tx.queryKey(`SELECT customer_id, processed_at, eligible_minor FROM orders
		WHERE store_id = `+textArg+` AND customer_id = `+textArg+` AND snapshot IS NOT NULL AND deleted_at IS NULL AND eligible_minor > 0
		ORDER BY processed_at, id`, storeID, customerID)
	if err != nil {
		return nil, fmt.Errorf("store: counting orders: %w", err)
	}
	return scanCounted(rows)
}

func scanCounted(rows *sql.Rows) ([]Counted, error) {
	defer rows.Close()
	var out []Counted
	for rows.Next() {
		var c Counted
		var at string
		if err := rows.Scan(&c.CustomerID, &at, &c.EligibleMinor); err != nil {
			return nil, err
		}
		var err error
		if c.ProcessedAt, err = mustTS(at); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// BuyerTotals is a customer's counting orders over a period, summed.
type BuyerTotals struct {
	CustomerID    string
	EligibleMinor int64
	Orders        int
	LastOrder     time.Time
}

// Buyers sums the store's counting orders (every customer's, credited or
// not) processed in [from, to), per customer.
func (tx *Tx) Buyers(storeID string, from, to time.Time) ([]BuyerTotals, error) {
	rows, err := tx.query(`SELECT customer_id, sum(eligible_minor), count(*), max(processed_at) FROM orders
		WHERE store_id = ? AND customer_id <> '' AND deleted_at IS NULL AND eligible_minor > 0
		  AND processed_at >= ? AND processed_at < ? GROUP BY customer_id ORDER BY customer_id`,
		storeID, ts(from), ts(to))
	if err != nil {
		return nil, fmt.Errorf("store: buyers: %w", err)
	}
	defer rows.Close()
	var out []BuyerTotals
	for rows.Next() {
		var b BuyerTotals
		var last string
		if err := rows.Scan(&b.CustomerID, &b.EligibleMinor, &b.Orders, &last); err != nil {
			return nil, err
		}
		var err error
		if b.LastOrder, err = mustTS(last); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// FirstCreditedOrder returns the customer's earliest credited order that
// still counts or, when none does, the earliest credited one; an error
// wrapping ErrNotFound when the customer has no credited order.
func (tx *Tx) FirstCreditedOrder(storeID, customerID string) (*StoredOrder, error) {
	// Two statements rather than one ordered by "eligible_minor > 0 DESC":
	// the first is answered from orders_counting, and the second is only
	// needed when no credited order counts.
	o, err := scanOrder(tx.queryRow(`SELECT `+orderCols+` FROM orders
		WHERE store_id = `+textArg+` AND customer_id = `+textArg+` AND snapshot IS NOT NULL AND deleted_at IS NULL AND eligible_minor > 0
		ORDER BY processed_at, id LIMIT 1`, storeID, customerID))
	if errors.Is(err, sql.ErrNoRows) {
		o, err = scanOrder(tx.queryRow(`SELECT `+orderCols+` FROM orders
			WHERE store_id = `+textArg+` AND customer_id = `+textArg+` AND snapshot IS NOT NULL AND deleted_at IS NULL
			ORDER BY processed_at, id LIMIT 1`, storeID, customerID))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: first credited order of %s: %w", customerID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: first credited order of %s: %w", customerID, err)
	}
	return o, nil
}

// CreditedOrders counts the customer's orders other than exceptOrderID
// that have a frozen snapshot and still count as paid (not cancelled, not
// a test, not fully refunded or voided).
func (tx *Tx) CreditedOrders(storeID, customerID, exceptOrderID string) (int, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM orders WHERE store_id = ? AND customer_id = ? AND id <> ?
		AND snapshot IS NOT NULL AND cancelled_at IS NULL AND test = 0 AND deleted_at IS NULL
		AND state IN ('paid', 'partially_refunded')`, storeID, customerID, exceptOrderID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: credited orders: %w", err)
	}
	return n, nil
}

// CustomerOrders returns the customer's orders, oldest processed first.
func (tx *Tx) CustomerOrders(storeID, customerID string) ([]*StoredOrder, error) {
	return tx.orders(tx.queryKey, `SELECT `+orderCols+` FROM orders WHERE store_id = `+textArg+` AND customer_id = `+textArg+`
		ORDER BY processed_at, id`, storeID, customerID)
}

// ForEachOrder calls fn for every stored order of the store, oldest
// processed first: the order in which history is replayed.
func (tx *Tx) ForEachOrder(storeID string, fn func(*StoredOrder) error) error {
	rows, err := tx.query(`SELECT `+orderCols+` FROM orders WHERE store_id = ? ORDER BY processed_at, id`, storeID)
	if err != nil {
		return fmt.Errorf("store: orders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return err
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

// orders reads the orders q selects, through read (tx.query, or
// tx.queryKey for one customer's).
func (tx *Tx) orders(read func(string, ...any) (*sql.Rows, error), q string, args ...any) ([]*StoredOrder, error) {
	rows, err := read(q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: orders: %w", err)
	}
	defer rows.Close()
	var os []*StoredOrder
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		os = append(os, o)
	}
	return os, rows.Err()
}

// SearchCustomers finds a store's customers by id, by e-mail (folded; a
// part of it matches too) or by name (a part of the first or last name,
// without regard to case), best matches first: exact id, exact e-mail,
// then the rest by name. It returns at most limit customers.
func (tx *Tx) SearchCustomers(storeID, query string, limit int) ([]*StoredCustomer, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return nil, nil
	}
	folded := commerce.FoldEmail(q)
	like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(q)) + "%"
	rows, err := tx.query(`SELECT `+customerCols+` FROM customers WHERE store_id = ?1 AND (
			id = ?2 OR email_folded = ?3 OR email_folded LIKE ?4 ESCAPE '\' OR lower(first_name) LIKE ?4 ESCAPE '\'
			OR lower(last_name) LIKE ?4 ESCAPE '\' OR lower(first_name || ' ' || last_name) LIKE ?4 ESCAPE '\')
		ORDER BY (id = ?2) DESC, (email_folded = ?3) DESC, last_name, first_name, id LIMIT ?5`,
		storeID, q, folded, like, limit)
	if err != nil {
		return nil, fmt.Errorf("store: search customers: %w", err)
	}
	defer rows.Close()
	var out []*StoredCustomer
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
