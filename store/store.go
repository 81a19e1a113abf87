// Package store is loyaltyd's memory: stores, customers, orders with their
// platform payloads, the points ledger, sync cursors, the write-back outbox
// and the audit log, in one SQLite file.
//
// All SQL lives in this package, and its exported API speaks commerce types
// and plain Go values only, so that another backend (PostgreSQL, for
// several replicas) can take its place. Writes go through one connection
// (SQLite has one writer) in transactions opened with Update; reads use a
// small pool through View. Schema changes are numbered migrations embedded
// in the binary and applied on Open.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
)

// Errors returned by the store; test them with errors.Is.
var (
	// ErrNotFound: no such record.
	ErrNotFound = errors.New("not found")
	// ErrNotDatabase: the file exists but is not a SQLite database.
	ErrNotDatabase = errors.New("not a SQLite database")
	// ErrTooNew: the database was written by a newer loyaltyd.
	ErrTooNew = errors.New("database is newer than this loyaltyd")
	// ErrConflict: a write lost a race with another (a ledger entry that
	// no longer continues its stream); retrying the transaction is safe.
	ErrConflict = errors.New("conflicting write")
	// ErrFull: the database could not grow, because the disk holding it
	// is full (or the file reached its size limit). The transaction that
	// met it was rolled back whole, and what was stored before is intact;
	// retrying once space is freed is safe.
	ErrFull = errors.New("database or disk is full")
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("store: migration %s: name must start with its number", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: migration %s: expected number %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		panic(err)
	}
	return len(ms)
}

// DB is an open loyaltyd database.
type DB struct {
	path   string
	writer *sql.DB
	reader *sql.DB
	sync   string // the writer's synchronous level

	// Now is the clock used to stamp writes; it defaults to time.Now and
	// can be replaced before first use (tests).
	Now func() time.Time
}

// Options tune Open.
type Options struct {
	// ReadConns is the size of the read pool; default 4.
	ReadConns int
	// Synchronous is the SQLite synchronous level for the writer: "NORMAL"
	// (default: durable across process crashes, may lose the last commits
	// on power loss) or "FULL".
	Synchronous string
}

// sqliteHeader starts every SQLite database file.
const sqliteHeader = "SQLite format 3\x00"

// Open opens the database at path, creating it if needed, and brings its
// schema up to date. A file that is not a SQLite database (ErrNotDatabase)
// or that a newer loyaltyd wrote (ErrTooNew) is left untouched.
func Open(ctx context.Context, path string, o Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: no database path given")
	}
	existing, err := checkFile(path)
	if err != nil {
		return nil, err
	}
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	if existing {
		v, err := readVersion(ctx, path)
		if err != nil {
			return nil, err
		}
		if v > len(ms) {
			return nil, fmt.Errorf("store: %s: schema version %d, this loyaltyd knows up to %d: %w (upgrade loyaltyd; the file was not changed)",
				path, v, len(ms), ErrTooNew)
		}
	}
	syncMode := strings.ToUpper(o.Synchronous)
	if syncMode == "" {
		syncMode = "NORMAL"
	}
	if syncMode != "NORMAL" && syncMode != "FULL" {
		return nil, fmt.Errorf("store: synchronous %q: want NORMAL or FULL", o.Synchronous)
	}
	// The writer's page cache is 32 MiB (SQLite's default is 2 MiB): a
	// page of orders changes hundreds of pages of tables and indexes, and
	// with a small cache SQLite writes them to the WAL before the commit
	// and reads them back.
	writer, err := sql.Open("sqlite3", dsn(path, writerParams+"&_foreign_keys=on&_synchronous="+syncMode))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxIdleTime(0)
	db := &DB{path: path, writer: writer, sync: syncMode, Now: time.Now}
	if err := db.migrate(ctx, ms); err != nil {
		writer.Close()
		return nil, err
	}
	n := o.ReadConns
	if n <= 0 {
		n = 4
	}
	reader, err := sql.Open("sqlite3", dsn(path, "_busy_timeout=5000&_foreign_keys=on&_query_only=true&_txlock=deferred&_stmt_cache_size=128"))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	reader.SetMaxOpenConns(n)
	db.reader = reader
	return db, nil
}

// writerParams are the writer's settings but its durability and foreign
// keys: WAL, immediate write transactions, a statement cache and the
// page cache described in Open.
const writerParams = "_journal_mode=WAL&_busy_timeout=5000&_txlock=immediate&_stmt_cache_size=256&_cache_size=-32768"

func dsn(path, params string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + r.Replace(path) + "?" + params
}

// checkFile reports whether path holds data, and refuses a file that is not
// SQLite without opening it through SQLite (which could write to it).
func checkFile(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	if st.IsDir() {
		return false, fmt.Errorf("store: %s is a directory, want a database file", path)
	}
	if st.Size() == 0 {
		return false, nil
	}
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil || string(head) != sqliteHeader {
		return false, fmt.Errorf("store: %s: %w (the file was not changed)", path, ErrNotDatabase)
	}
	return true, nil
}

// readVersion reads the schema version of an existing file read-only.
func readVersion(ctx context.Context, path string) (int, error) {
	ro, err := sql.Open("sqlite3", dsn(path, "mode=ro&_busy_timeout=5000"))
	if err != nil {
		return 0, fmt.Errorf("store: open %s: %w", path, err)
	}
	defer ro.Close()
	var v int
	if err := ro.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		if isNotADB(err) {
			return 0, fmt.Errorf("store: %s: %w (the file was not changed)", path, ErrNotDatabase)
		}
		return 0, fmt.Errorf("store: read schema version of %s: %w", path, err)
	}
	return v, nil
}

func isNotADB(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrNotADB || se.Code == sqlite3.ErrCorrupt)
}

func (db *DB) migrate(ctx context.Context, ms []migration) error {
	var v int
	if err := db.writer.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		if isNotADB(err) {
			return fmt.Errorf("store: %s: %w", db.path, ErrNotDatabase)
		}
		return fmt.Errorf("store: read schema version: %w", err)
	}
	if v > len(ms) {
		return fmt.Errorf("store: schema version %d, this loyaltyd knows up to %d: %w", v, len(ms), ErrTooNew)
	}
	for _, m := range ms[v:] {
		tx, err := db.writer.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
	}
	return nil
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Close closes the database.
func (db *DB) Close() error {
	var errs []error
	if db.reader != nil {
		errs = append(errs, db.reader.Close())
	}
	errs = append(errs, db.writer.Close())
	return errors.Join(errs...)
}

// SetMaxPageCount caps the number of pages the database file may hold
// (PRAGMA max_page_count on the writer's connection), so that a write
// needing more fails with ErrFull exactly as on a full disk; 0 lifts the
// cap. It returns the cap now in force, which SQLite never sets below the
// file's current size: SetMaxPageCount(ctx, 1) leaves no room to grow.
// Tests use it to rehearse a full disk without a small filesystem. The cap
// lasts until Close.
func (db *DB) SetMaxPageCount(ctx context.Context, pages int) (int, error) {
	if pages < 0 {
		return 0, fmt.Errorf("store: max page count %d is negative", pages)
	}
	if pages == 0 {
		pages = maxPageCount
	}
	var got int
	// The writer pool has one connection and never closes it, so the
	// pragma holds for every later write.
	if err := db.writer.QueryRowContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages)).Scan(&got); err != nil {
		return 0, fmt.Errorf("store: set max page count: %w", err)
	}
	return got, nil
}

// maxPageCount is SQLite's own limit on a database's pages.
const maxPageCount = 4294967294

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.reader.PingContext(ctx)
}

// Tx is a transaction. Its methods are the store's queries; they use the
// transaction's context and its time, captured once when it began.
type Tx struct {
	db  *DB
	tx  *sql.Tx
	ctx context.Context
	now time.Time
	// cache remembers rows the transaction read or wrote (txcache.go).
	cache txCache
}

// Now returns the transaction's time.
func (tx *Tx) Now() time.Time { return tx.now }

// Update runs fn in a write transaction and commits it when fn returns nil;
// otherwise it rolls back and returns fn's error. Write transactions are
// serialized.
func (db *DB) Update(ctx context.Context, fn func(*Tx) error) error {
	return db.run(ctx, db.writer, false, fn)
}

// View runs fn in a read-only transaction.
func (db *DB) View(ctx context.Context, fn func(*Tx) error) error {
	return db.run(ctx, db.reader, true, fn)
}

func (db *DB) run(ctx context.Context, pool *sql.DB, readOnly bool, fn func(*Tx) error) error {
	// The transaction itself does not watch ctx: database/sql would then
	// watch it for every statement's rows too, a goroutine per read. The
	// statements check ctx themselves (execRow, queryKey, queryRow) or
	// watch it (exec, query: the long ones), fn's error rolls back, and a
	// transaction whose fn has finished commits even if ctx ends meanwhile.
	sqlTx, err := pool.BeginTx(context.WithoutCancel(ctx), &sql.TxOptions{ReadOnly: readOnly})
	if err != nil {
		return fmt.Errorf("store: begin: %w", db.classify(err))
	}
	tx := &Tx{db: db, tx: sqlTx, ctx: ctx, now: db.Now().UTC()}
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	if readOnly {
		return sqlTx.Rollback()
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", db.classify(err))
	}
	return nil
}

// classify maps SQLite errors onto the store's errors where callers act on
// them. A full disk says what the operator can do about it: the caller's
// wrapping says what was being written.
func (db *DB) classify(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) {
		if se.Code == sqlite3.ErrFull {
			return fmt.Errorf("%w: free space on the disk holding %s (or move the database to a larger one); "+
				"the write was rolled back, what was stored before is intact, and loyaltyd catches up once it can write again",
				ErrFull, db.path)
		}
		if se.Code == sqlite3.ErrConstraint && strings.Contains(se.Error(), "does not continue its stream") {
			return fmt.Errorf("%w: %v", ErrConflict, err)
		}
		if se.Code == sqlite3.ErrConstraint && se.ExtendedCode == sqlite3.ErrConstraintUnique {
			return fmt.Errorf("%w: %v", ErrConflict, err)
		}
	}
	return err
}

func (tx *Tx) exec(query string, args ...any) (sql.Result, error) {
	r, err := tx.tx.ExecContext(tx.ctx, query, args...)
	if err != nil {
		return nil, tx.db.classify(err)
	}
	return r, nil
}

// execRow is exec for a statement that writes one row found by its key,
// the writes of the apply path. Such a statement takes microseconds, so
// it runs without watching the context (the driver would start a
// goroutine per statement to do so, which costs more than the write);
// the context is checked before it instead, as exec does.
func (tx *Tx) execRow(query string, args ...any) (sql.Result, error) {
	if err := tx.ctx.Err(); err != nil {
		return nil, err
	}
	r, err := tx.tx.ExecContext(context.WithoutCancel(tx.ctx), query, args...)
	if err != nil {
		return nil, tx.db.classify(err)
	}
	return r, nil
}

// textArg is a text parameter compared in the WHERE clause of a statement
// that sorts (ORDER BY): write "store_id = "+textArg rather than
// "store_id = ?". Planning such a statement, SQLite looks at the values
// bound to plain parameters and marks the statement to be compiled again
// whenever they are bound anew, which the driver does on every run: each
// execution would parse and plan the statement again, which costs more
// than running it. A cast hides the value from the planner without
// changing what is compared (the columns and the values are text), and
// the index is used the same way.
const textArg = "CAST(? AS TEXT)"

func (tx *Tx) query(query string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(tx.ctx, query, args...)
}

// queryKey is query for a statement that reads the few rows of one key
// (a customer's ledger or orders), the reads of the apply path. Like
// execRow it checks the context before and does not watch it while the
// rows are read: watching costs a goroutine per statement (database/sql
// starts one to close the rows on cancellation), more than the read.
func (tx *Tx) queryKey(query string, args ...any) (*sql.Rows, error) {
	if err := tx.ctx.Err(); err != nil {
		return nil, err
	}
	return tx.tx.QueryContext(context.WithoutCancel(tx.ctx), query, args...)
}

// queryRow reads at most one row. It checks the context before, and does
// not watch it while the row is read (see queryKey).
func (tx *Tx) queryRow(query string, args ...any) *sql.Row {
	ctx := context.WithoutCancel(tx.ctx)
	if tx.ctx.Err() != nil {
		// A cancelled context makes the Row carry its error.
		ctx = tx.ctx
	}
	return tx.tx.QueryRowContext(ctx, query, args...)
}

// timeLayout is how times are stored: UTC, fixed width, sortable as text.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// ts formats a time for storage.
func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullTS formats a time for a nullable column: NULL for the zero time.
func nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

// parseTS reads a stored time; NULL and "" are the zero time.
func parseTS(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, s.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: bad stored time %q: %w", s.String, err)
	}
	return t, nil
}

// mustTS is parseTS for NOT NULL columns.
func mustTS(s string) (time.Time, error) {
	return parseTS(sql.NullString{String: s, Valid: true})
}

// Backup writes a consistent copy of the database to path (which must not
// exist), while loyaltyd keeps running: SQLite's VACUUM INTO reads one
// snapshot and writes a compact copy, without holding up writers.
func (db *DB) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("store: backup: %s exists; choose a new file", path)
	}
	conn, err := sql.Open("sqlite3", dsn(db.path, "_busy_timeout=5000"))
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return nil
}
