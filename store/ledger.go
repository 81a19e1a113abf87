package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// StreamTotal returns the last sequence number and the total of a ledger
// stream; zero for a stream with no entries.
func (tx *Tx) StreamTotal(storeID, stream string) (seq int, total int64, err error) {
	if h, ok := tx.cache.stream(storeID, stream); ok {
		return h.seq, h.total, nil
	}
	defer func() {
		if err == nil {
			tx.cache.setStream(storeID, stream, seq, total)
		}
	}()
	err = tx.queryRow(`SELECT seq, total FROM ledger WHERE store_id = `+textArg+` AND stream = `+textArg+`
		ORDER BY seq DESC LIMIT 1`, storeID, stream).Scan(&seq, &total)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: stream %s: %w", stream, err)
	}
	return seq, total, nil
}

// Entitle records that a ledger stream is now worth e.Total points. When
// that differs from what the stream holds, it appends an entry carrying the
// difference and returns it (with ID, Seq and Points filled in); when it is
// the same, it appends nothing and returns nil. Recording the same
// entitlement twice therefore changes nothing. e.At defaults to the
// transaction's time and e.AvailableAt to e.At.
func (tx *Tx) Entitle(e commerce.LedgerEntry) (*commerce.LedgerEntry, error) {
	seq, total, err := tx.StreamTotal(e.StoreID, e.Stream)
	if err != nil {
		return nil, err
	}
	if e.Total == total {
		return nil, nil
	}
	e.Seq = seq + 1
	e.Points = e.Total - total
	if e.At.IsZero() {
		e.At = tx.now
	}
	if e.AvailableAt.IsZero() || e.Points < 0 {
		e.AvailableAt = e.At
	}
	res, err := tx.execRow(`INSERT INTO ledger (store_id, customer_id, stream, seq, kind, points, total, order_id,
			at, available_at, reason, actor)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.StoreID, e.CustomerID, e.Stream, e.Seq, string(e.Kind), e.Points, e.Total, e.OrderID,
		ts(e.At), ts(e.AvailableAt), e.Reason, e.Actor)
	if err != nil {
		return nil, fmt.Errorf("store: ledger %s: %w", e.Stream, err)
	}
	e.ID, _ = res.LastInsertId()
	tx.cache.setStream(e.StoreID, e.Stream, e.Seq, e.Total)
	return &e, nil
}

const ledgerCols = `id, store_id, customer_id, stream, seq, kind, points, total, order_id, at, available_at, reason, actor`

func scanEntry(sc interface{ Scan(...any) error }) (commerce.LedgerEntry, error) {
	var (
		e         commerce.LedgerEntry
		kind      string
		at, avail string
	)
	if err := sc.Scan(&e.ID, &e.StoreID, &e.CustomerID, &e.Stream, &e.Seq, &kind, &e.Points, &e.Total,
		&e.OrderID, &at, &avail, &e.Reason, &e.Actor); err != nil {
		return e, err
	}
	e.Kind = commerce.EntryKind(kind)
	var err error
	if e.At, err = mustTS(at); err != nil {
		return e, err
	}
	e.AvailableAt, err = mustTS(avail)
	return e, err
}

// Ledger returns a customer's ledger entries in the order they were made.
func (tx *Tx) Ledger(storeID, customerID string) ([]commerce.LedgerEntry, error) {
	rows, err := tx.queryKey(`SELECT `+ledgerCols+` FROM ledger WHERE store_id = `+textArg+` AND customer_id = `+textArg+` ORDER BY id`,
		storeID, customerID)
	if err != nil {
		return nil, fmt.Errorf("store: ledger: %w", err)
	}
	defer rows.Close()
	var es []commerce.LedgerEntry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("store: ledger: %w", err)
		}
		es = append(es, e)
	}
	return es, rows.Err()
}

// ForEachEntry calls fn for every ledger entry of the store, in the order
// they were made.
func (tx *Tx) ForEachEntry(storeID string, fn func(commerce.LedgerEntry) error) error {
	rows, err := tx.query(`SELECT `+ledgerCols+` FROM ledger WHERE store_id = ? ORDER BY id`, storeID)
	if err != nil {
		return fmt.Errorf("store: ledger: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return fmt.Errorf("store: ledger: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// StreamTotals returns the total of every ledger stream of the store.
func (tx *Tx) StreamTotals(storeID string) (map[string]int64, error) {
	rows, err := tx.query(`SELECT l.stream, l.total FROM ledger l
		JOIN (SELECT stream, max(seq) AS seq FROM ledger WHERE store_id = ?1 GROUP BY stream) last
		  ON last.stream = l.stream AND last.seq = l.seq
		WHERE l.store_id = ?1`, storeID)
	if err != nil {
		return nil, fmt.Errorf("store: stream totals: %w", err)
	}
	defer rows.Close()
	totals := map[string]int64{}
	for rows.Next() {
		var s string
		var t int64
		if err := rows.Scan(&s, &t); err != nil {
			return nil, err
		}
		totals[s] = t
	}
	return totals, rows.Err()
}

// PointsIssued returns the sum of all credits and of all debits recorded
// in the store's ledger up to at.
func (tx *Tx) PointsIssued(storeID string, at time.Time) (credits, debits int64, err error) {
	err = tx.queryRow(`SELECT coalesce(sum(CASE WHEN points > 0 THEN points END), 0),
		coalesce(sum(CASE WHEN points < 0 THEN points END), 0)
		FROM ledger WHERE store_id = ? AND at <= ?`, storeID, ts(at)).Scan(&credits, &debits)
	if err != nil {
		return 0, 0, fmt.Errorf("store: points issued: %w", err)
	}
	return credits, debits, nil
}
