package store

import (
	"database/sql"
	"fmt"
	"time"
)

// Outbox states.
const (
	OutboxPending   = "pending"
	OutboxDelivered = "delivered"
	OutboxDead      = "dead"
)

// OutboxItem is a write-back waiting for, or done with, delivery.
type OutboxItem struct {
	ID      int64
	StoreID string
	Kind    string
	// Lane, with CustomerID, orders writes that must land in order: an
	// item is not delivered while an earlier item of the same customer and
	// lane is undelivered (pending or dead). Empty means no ordering.
	Lane       string
	CustomerID string
	// Key, when set, makes the item unique in its store: enqueueing an
	// item with a key already present does nothing.
	Key string
	// Payload is the item's data, JSON, as the sender wrote it.
	Payload       []byte
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	// Result is what delivery returned (a platform id).
	Result      string
	CreatedAt   time.Time
	DeliveredAt time.Time
}

// Enqueue adds an item to the outbox, due at once. It reports false, and
// adds nothing, when an item with the same Key exists in the store.
func (tx *Tx) Enqueue(it OutboxItem) (bool, error) {
	var key any
	if it.Key != "" {
		key = it.Key
	}
	res, err := tx.execRow(`INSERT INTO outbox (store_id, kind, lane, customer_id, key, payload, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (store_id, key) DO NOTHING`,
		it.StoreID, it.Kind, it.Lane, it.CustomerID, key, string(it.Payload), ts(tx.now), ts(tx.now))
	if err != nil {
		return false, fmt.Errorf("store: enqueue %s: %w", it.Kind, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

const outboxCols = `id, store_id, kind, lane, customer_id, coalesce(key, ''), payload, state, attempts, next_attempt_at,
	last_error, result, created_at, delivered_at`

func scanOutbox(sc interface{ Scan(...any) error }) (OutboxItem, error) {
	var (
		it             OutboxItem
		payload        string
		next, created  string
		delivered      sql.NullString
		err1, err2, e3 error
	)
	if err := sc.Scan(&it.ID, &it.StoreID, &it.Kind, &it.Lane, &it.CustomerID, &it.Key, &payload, &it.State, &it.Attempts,
		&next, &it.LastError, &it.Result, &created, &delivered); err != nil {
		return it, err
	}
	it.Payload = []byte(payload)
	it.NextAttemptAt, err1 = mustTS(next)
	it.CreatedAt, err2 = mustTS(created)
	it.DeliveredAt, e3 = parseTS(delivered)
	for _, err := range []error{err1, err2, e3} {
		if err != nil {
			return it, err
		}
	}
	return it, nil
}

func (tx *Tx) outbox(q string, args ...any) ([]OutboxItem, error) {
	rows, err := tx.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	defer rows.Close()
	var items []OutboxItem
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("store: outbox: %w", err)
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// DueOutbox returns up to limit pending items of the store whose next
// attempt is due at now, oldest first, leaving out items that wait for an
// earlier undelivered item of their lane.
func (tx *Tx) DueOutbox(storeID string, now time.Time, limit int) ([]OutboxItem, error) {
	return tx.outbox(`SELECT `+outboxCols+` FROM outbox o
		WHERE store_id = ? AND state = 'pending' AND next_attempt_at <= ?
		  AND (lane = '' OR NOT EXISTS (SELECT 1 FROM outbox e WHERE e.store_id = o.store_id
		       AND e.customer_id = o.customer_id AND e.lane = o.lane AND e.state IN ('pending', 'dead') AND e.id < o.id))
		ORDER BY id LIMIT ?`,
		storeID, ts(now), limit)
}

// OutboxItems returns the store's items in a state, newest first, up to limit.
func (tx *Tx) OutboxItems(storeID, state string, limit int) ([]OutboxItem, error) {
	return tx.outbox(`SELECT `+outboxCols+` FROM outbox WHERE store_id = ? AND state = ? ORDER BY id DESC LIMIT ?`,
		storeID, state, limit)
}

// OutboxDelivered marks an item delivered, with what delivery returned.
func (tx *Tx) OutboxDelivered(id int64, result string) error {
	_, err := tx.exec(`UPDATE outbox SET state = 'delivered', attempts = attempts + 1, result = ?, last_error = '',
		delivered_at = ? WHERE id = ?`, result, ts(tx.now), id)
	if err != nil {
		return fmt.Errorf("store: outbox %d delivered: %w", id, err)
	}
	return nil
}

// OutboxFailed records a failed attempt: the item is retried at next, or,
// when dead is set, moves to the dead-letter state until retried by hand.
func (tx *Tx) OutboxFailed(id int64, errMsg string, next time.Time, dead bool) error {
	state := OutboxPending
	if dead {
		state = OutboxDead
	}
	_, err := tx.exec(`UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ?
		WHERE id = ?`, state, errMsg, ts(next), id)
	if err != nil {
		return fmt.Errorf("store: outbox %d failed: %w", id, err)
	}
	return nil
}

// RetryDead puts a dead item back in the queue, due at once, with a fresh
// retry budget. It returns ErrNotFound when the store has no dead item
// with that id.
func (tx *Tx) RetryDead(storeID string, id int64) error {
	res, err := tx.exec(`UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?
		WHERE store_id = ? AND id = ? AND state = 'dead'`, ts(tx.now), storeID, id)
	if err != nil {
		return fmt.Errorf("store: retry outbox %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: dead outbox item %s/%d: %w", storeID, id, ErrNotFound)
	}
	return nil
}

// OutboxCounts returns how many of the store's items are in each state.
func (tx *Tx) OutboxCounts(storeID string) (map[string]int, error) {
	rows, err := tx.query(`SELECT state, count(*) FROM outbox WHERE store_id = ? GROUP BY state`, storeID)
	if err != nil {
		return nil, fmt.Errorf("store: outbox counts: %w", err)
	}
	defer rows.Close()
	counts := map[string]int{OutboxPending: 0, OutboxDelivered: 0, OutboxDead: 0}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		counts[s] = n
	}
	return counts, rows.Err()
}

// NextOutboxAttempt returns when the store's next pending item is due;
// zero when nothing is pending.
func (tx *Tx) NextOutboxAttempt(storeID string) (time.Time, error) {
	var s sql.NullString
	if err := tx.queryRow(`SELECT min(next_attempt_at) FROM outbox WHERE store_id = ? AND state = 'pending'`, storeID).Scan(&s); err != nil {
		return time.Time{}, fmt.Errorf("store: next outbox attempt: %w", err)
	}
	return parseTS(s)
}
