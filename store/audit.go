package store

import (
	"fmt"
	"time"
)

// AuditEntry records something a person did: a manual adjustment, a
// redemption by staff, a retried dead letter.
type AuditEntry struct {
	ID         int64
	At         time.Time
	Actor      string
	Action     string
	StoreID    string
	CustomerID string
	Detail     string
}

// Audit appends an entry to the audit log and returns its id; At
// defaults to the transaction's time.
func (tx *Tx) Audit(a AuditEntry) (int64, error) {
	if a.At.IsZero() {
		a.At = tx.now
	}
	res, err := tx.exec(`INSERT INTO audit (at, actor, action, store_id, customer_id, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		ts(a.At), a.Actor, a.Action, a.StoreID, a.CustomerID, a.Detail)
	if err != nil {
		return 0, fmt.Errorf("store: audit: %w", err)
	}
	id, _ := res.LastInsertId()
	return id, nil
}

// AuditLog returns the store's audit entries, newest first, optionally for
// one customer, up to limit.
func (tx *Tx) AuditLog(storeID, customerID string, limit int) ([]AuditEntry, error) {
	rows, err := tx.query(`SELECT id, at, actor, action, store_id, customer_id, detail FROM audit
		WHERE store_id = ? AND (? = '' OR customer_id = ?) ORDER BY id DESC LIMIT ?`,
		storeID, customerID, customerID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var a AuditEntry
		var at string
		if err := rows.Scan(&a.ID, &at, &a.Actor, &a.Action, &a.StoreID, &a.CustomerID, &a.Detail); err != nil {
			return nil, err
		}
		if a.At, err = mustTS(at); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
