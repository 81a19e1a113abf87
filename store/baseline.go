package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"os"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// baselineSchema returns the statements of the migrations that create the
// orders table and its indexes, and nothing else of the schema: what
// storing an order's row costs at the least. (The table's reference to
// stores is not enforced: the baseline does not turn foreign keys on.)
func baselineSchema() (string, error) {
	ms, err := migrations()
	if err != nil {
		return "", err
	}
	var stmts []string
	for _, m := range ms {
		// A piece of a trigger's body never starts with CREATE, so
		// splitting at every semicolon is enough to find these.
		for _, stmt := range strings.Split(m.sql, ";") {
			stmt = stripComments(stmt)
			if strings.HasPrefix(stmt, "CREATE TABLE orders ") ||
				strings.HasPrefix(stmt, "CREATE INDEX orders_") && strings.Contains(stmt, " ON orders ") {
				stmts = append(stmts, stmt+";")
			}
		}
	}
	if len(stmts) < 2 || !strings.HasPrefix(stmts[0], "CREATE TABLE orders ") {
		return "", errors.New("store: plain insert: the migrations do not create the orders table and its indexes")
	}
	return strings.Join(stmts, "\n"), nil
}

// stripComments drops the SQL comment lines of a statement and the space
// around it.
func stripComments(stmt string) string {
	var lines []string
	for _, l := range strings.Split(stmt, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// PlainInsertOrders is the limit an import is measured against: it creates
// a new database at path holding one bare orders table (the columns,
// primary key and indexes of loyaltyd's, nothing else) and inserts each
// order's row (its columns and its JSON, as UpsertOrder writes them) with
// one prepared INSERT, in transactions of batch orders, on the pragmas
// Open uses. No rules, no ledger, no upsert guard, no other table. The
// sequence stops at its first error, which is returned, as is a file that
// exists at path already. It returns the number of orders inserted; the
// database is left at path.
func PlainInsertOrders(ctx context.Context, path, storeID string, batch int, orders iter.Seq2[commerce.Order, error]) (int, error) {
	if batch < 1 {
		return 0, fmt.Errorf("store: plain insert: batch %d, want 1 or more", batch)
	}
	if _, err := os.Stat(path); err == nil {
		return 0, fmt.Errorf("store: plain insert: %s exists, want a new file", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("store: plain insert: %w", err)
	}
	// The writer's settings, at Open's default durability; foreign keys
	// stay off, as the table's store is not there.
	db, err := sql.Open("sqlite3", dsn(path, writerParams+"&_synchronous=NORMAL"))
	if err != nil {
		return 0, fmt.Errorf("store: plain insert: open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	schema, err := baselineSchema()
	if err != nil {
		return 0, err
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return 0, fmt.Errorf("store: plain insert: create the table: %w", err)
	}
	seen := time.Now()
	var (
		n    int
		tx   *sql.Tx
		stmt *sql.Stmt
	)
	commit := func() error {
		if tx == nil {
			return nil
		}
		err := tx.Commit()
		tx, stmt = nil, nil
		return err
	}
	defer func() {
		if tx != nil {
			tx.Rollback()
		}
	}()
	for o, err := range orders {
		if err != nil {
			return n, err
		}
		if tx == nil {
			if tx, err = db.BeginTx(ctx, nil); err != nil {
				return n, fmt.Errorf("store: plain insert: %w", err)
			}
			if stmt, err = tx.PrepareContext(ctx, insertOrder); err != nil {
				return n, fmt.Errorf("store: plain insert: %w", err)
			}
		}
		row, err := orderRow(storeID, &o, seen)
		if err != nil {
			return n, fmt.Errorf("store: plain insert: %w", err)
		}
		if _, err := stmt.ExecContext(ctx, row...); err != nil {
			return n, fmt.Errorf("store: plain insert: order %s: %w", o.ID, err)
		}
		n++
		if n%batch == 0 {
			if err := commit(); err != nil {
				return n, fmt.Errorf("store: plain insert: %w", err)
			}
		}
	}
	if err := commit(); err != nil {
		return n, fmt.Errorf("store: plain insert: %w", err)
	}
	return n, nil
}

// PlainOrderCount returns the number of rows in the orders table of a
// database PlainInsertOrders wrote.
func PlainOrderCount(ctx context.Context, path string) (int, error) {
	db, err := sql.Open("sqlite3", dsn(path, "mode=ro&_busy_timeout=5000"))
	if err != nil {
		return 0, fmt.Errorf("store: plain count: open %s: %w", path, err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM orders`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: plain count: %w", err)
	}
	return n, nil
}
