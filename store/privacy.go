package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// DeleteOrder marks an order deleted on the platform; it stays stored (the
// ledger refers to it) and stops counting. It reports whether it changed.
func (tx *Tx) DeleteOrder(storeID, orderID string, at time.Time) (bool, error) {
	res, err := tx.exec(`UPDATE orders SET deleted_at = ?, eligible_minor = 0 WHERE store_id = ? AND id = ? AND deleted_at IS NULL`,
		ts(at), storeID, orderID)
	if err != nil {
		return false, fmt.Errorf("store: delete order %s/%s: %w", storeID, orderID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeleteCustomer marks a customer deleted on the platform; their ledger
// and orders stay. It reports whether it changed.
func (tx *Tx) DeleteCustomer(storeID, customerID string, at time.Time) (bool, error) {
	res, err := tx.exec(`UPDATE customers SET deleted_at = ? WHERE store_id = ? AND id = ? AND deleted_at IS NULL`,
		ts(at), storeID, customerID)
	if err != nil {
		return false, fmt.Errorf("store: delete customer %s/%s: %w", storeID, customerID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// SetUninstalled records that the store removed loyaltyd's access (at) or,
// with the zero time, that it has it again.
func (tx *Tx) SetUninstalled(storeID string, at time.Time) error {
	_, err := tx.exec(`UPDATE stores SET uninstalled_at = ? WHERE id = ?`, nullTS(at), storeID)
	if err != nil {
		return fmt.Errorf("store: uninstalled %s: %w", storeID, err)
	}
	return nil
}

// RedactCustomer erases a customer's personal data: the e-mail, names and
// raw payload of the customer, the e-mail, shipping address and raw
// payload of their orders, and the bodies of their webhook deliveries. The
// ids, amounts and the ledger stay, so that balances and reports keep
// adding up. It returns the number of records changed.
func (tx *Tx) RedactCustomer(storeID, customerID string) (int, error) {
	n := 0
	res, err := tx.exec(`UPDATE customers SET email = '', email_folded = '', first_name = '', last_name = '', raw = NULL,
		tags = '[]' WHERE store_id = ? AND id = ?`, storeID, customerID)
	if err != nil {
		return 0, fmt.Errorf("store: redact customer: %w", err)
	}
	c, _ := res.RowsAffected()
	n += int(c)
	orders, err := tx.CustomerOrders(storeID, customerID)
	if err != nil {
		return n, err
	}
	for _, o := range orders {
		if err := tx.redactOrder(storeID, &o.Order); err != nil {
			return n, err
		}
		n++
		if _, err := tx.exec(`UPDATE inbox SET body = x'', event = NULL WHERE store_id = ? AND resource_id = ?`, storeID, o.ID); err != nil {
			return n, fmt.Errorf("store: redact inbox: %w", err)
		}
	}
	if _, err := tx.exec(`UPDATE inbox SET body = x'', event = NULL WHERE store_id = ? AND resource_id = ?`, storeID, customerID); err != nil {
		return n, fmt.Errorf("store: redact inbox: %w", err)
	}
	if _, err := tx.exec(`DELETE FROM exports WHERE store_id = ? AND customer_id = ?`, storeID, customerID); err != nil {
		return n, fmt.Errorf("store: redact exports: %w", err)
	}
	return n, nil
}

func (tx *Tx) redactOrder(storeID string, o *commerce.Order) error {
	o.Email, o.ShippingAddress = "", nil
	data, err := json.Marshal(o)
	if err != nil {
		return err
	}
	if _, err := tx.exec(`UPDATE orders SET data = ?, raw = NULL WHERE store_id = ? AND id = ?`, string(data), storeID, o.ID); err != nil {
		return fmt.Errorf("store: redact order %s: %w", o.ID, err)
	}
	return nil
}

// RedactStore erases the personal data of every customer and order of a
// store (shop/redact), keeping ids, amounts and the ledger.
func (tx *Tx) RedactStore(storeID string) (int, error) {
	var ids []string
	if err := tx.ForEachCustomer(storeID, func(c *StoredCustomer) error { ids = append(ids, c.ID); return nil }); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		k, err := tx.RedactCustomer(storeID, id)
		if err != nil {
			return n, err
		}
		n += k
	}
	// Orders without a customer (guests unknown as customers).
	var guests []*StoredOrder
	if err := tx.ForEachOrder(storeID, func(o *StoredOrder) error {
		if o.Email != "" || o.ShippingAddress != nil || o.Raw != nil {
			guests = append(guests, o)
		}
		return nil
	}); err != nil {
		return n, err
	}
	for _, o := range guests {
		if err := tx.redactOrder(storeID, &o.Order); err != nil {
			return n, err
		}
		n++
	}
	if _, err := tx.exec(`UPDATE inbox SET body = x'', event = NULL WHERE store_id = ?`, storeID); err != nil {
		return n, fmt.Errorf("store: redact inbox: %w", err)
	}
	if _, err := tx.exec(`DELETE FROM exports WHERE store_id = ?`, storeID); err != nil {
		return n, fmt.Errorf("store: redact exports: %w", err)
	}
	return n, nil
}

// Export is a customer's data gathered for a data request.
type Export struct {
	ID          int64
	StoreID     string
	CustomerID  string
	RequestedAt time.Time
	// Data is the JSON document handed over.
	Data []byte
}

// SaveExport stores an export and returns its id.
func (tx *Tx) SaveExport(e Export) (int64, error) {
	res, err := tx.exec(`INSERT INTO exports (store_id, customer_id, requested_at, data) VALUES (?, ?, ?, ?)`,
		e.StoreID, e.CustomerID, ts(tx.now), string(e.Data))
	if err != nil {
		return 0, fmt.Errorf("store: export: %w", err)
	}
	return res.LastInsertId()
}

// Exports returns the store's exports, newest first (without their data).
func (tx *Tx) Exports(storeID string) ([]Export, error) {
	rows, err := tx.query(`SELECT id, store_id, customer_id, requested_at FROM exports WHERE store_id = ? ORDER BY id DESC`, storeID)
	if err != nil {
		return nil, fmt.Errorf("store: exports: %w", err)
	}
	defer rows.Close()
	var out []Export
	for rows.Next() {
		var e Export
		var at string
		if err := rows.Scan(&e.ID, &e.StoreID, &e.CustomerID, &at); err != nil {
			return nil, err
		}
		if e.RequestedAt, err = mustTS(at); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ExportData returns one export with its data, or an error wrapping
// ErrNotFound.
func (tx *Tx) ExportData(storeID string, id int64) (*Export, error) {
	var e Export
	var at, data string
	err := tx.queryRow(`SELECT id, store_id, customer_id, requested_at, data FROM exports WHERE store_id = ? AND id = ?`, storeID, id).
		Scan(&e.ID, &e.StoreID, &e.CustomerID, &at, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: export %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: export %d: %w", id, err)
	}
	e.Data = []byte(data)
	e.RequestedAt, err = mustTS(at)
	return &e, err
}

// SyncStatus is how a store's sync stands.
type SyncStatus struct {
	StoreID             string
	LastPassAt          time.Time
	LastSuccessAt       time.Time
	LastError           string
	Failures            int
	LastReconcileAt     time.Time
	LastReconcileFound  int
	ReconcileFoundTotal int
}

// SyncStatus returns a store's sync status; the zero status when none was
// saved.
func (tx *Tx) SyncStatus(storeID string) (SyncStatus, error) {
	s := SyncStatus{StoreID: storeID}
	var pass, success, recon sql.NullString
	err := tx.queryRow(`SELECT last_pass_at, last_success_at, last_error, failures, last_reconcile_at, last_reconcile_found,
		reconcile_found_total FROM sync_status WHERE store_id = ?`, storeID).
		Scan(&pass, &success, &s.LastError, &s.Failures, &recon, &s.LastReconcileFound, &s.ReconcileFoundTotal)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("store: sync status %s: %w", storeID, err)
	}
	for _, f := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&s.LastPassAt, pass}, {&s.LastSuccessAt, success}, {&s.LastReconcileAt, recon}} {
		if *f.dst, err = parseTS(f.src); err != nil {
			return s, err
		}
	}
	return s, nil
}

// SaveSyncStatus saves a store's sync status.
func (tx *Tx) SaveSyncStatus(s SyncStatus) error {
	_, err := tx.exec(`INSERT INTO sync_status (store_id, last_pass_at, last_success_at, last_error, failures, last_reconcile_at,
			last_reconcile_found, reconcile_found_total, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (store_id) DO UPDATE SET last_pass_at = excluded.last_pass_at, last_success_at = excluded.last_success_at,
			last_error = excluded.last_error, failures = excluded.failures, last_reconcile_at = excluded.last_reconcile_at,
			last_reconcile_found = excluded.last_reconcile_found, reconcile_found_total = excluded.reconcile_found_total,
			updated_at = excluded.updated_at`,
		s.StoreID, nullTS(s.LastPassAt), nullTS(s.LastSuccessAt), s.LastError, s.Failures, nullTS(s.LastReconcileAt),
		s.LastReconcileFound, s.ReconcileFoundTotal, ts(tx.now))
	if err != nil {
		return fmt.Errorf("store: sync status %s: %w", s.StoreID, err)
	}
	return nil
}
