package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Inbox statuses.
const (
	InboxPending   = "pending"
	InboxProcessed = "processed"
	InboxRejected  = "rejected"
	InboxIgnored   = "ignored"
	InboxFailed    = "failed"
)

// InboxEvent is a webhook delivery as stored.
type InboxEvent struct {
	ID         int64
	StoreID    string
	DedupeKey  string
	Topic      string
	Kind       string
	ResourceID string
	ReceivedAt time.Time
	// Body is the raw body as received.
	Body []byte
	// Event is the decoded commerce.Event, JSON; nil for a rejected one.
	Event       []byte
	Status      string
	Error       string
	ProcessedAt time.Time
	Duplicates  int
}

// PutInbox stores a delivery under its dedupe key. A delivery whose key is
// stored already is a duplicate: it is counted, and PutInbox reports true.
func (tx *Tx) PutInbox(e *InboxEvent) (duplicate bool, err error) {
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = tx.now
	}
	if e.Status == "" {
		e.Status = InboxPending
	}
	var event any
	if e.Event != nil {
		event = string(e.Event)
	}
	res, err := tx.exec(`INSERT INTO inbox (store_id, dedupe_key, topic, kind, resource_id, received_at, body, event, status, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (store_id, dedupe_key) DO NOTHING`,
		e.StoreID, e.DedupeKey, e.Topic, e.Kind, e.ResourceID, ts(e.ReceivedAt), e.Body, event, e.Status, e.Error)
	if err != nil {
		return false, fmt.Errorf("store: inbox: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		e.ID, _ = res.LastInsertId()
		return false, nil
	}
	if _, err := tx.exec(`UPDATE inbox SET duplicates = duplicates + 1 WHERE store_id = ? AND dedupe_key = ?`,
		e.StoreID, e.DedupeKey); err != nil {
		return true, fmt.Errorf("store: inbox: %w", err)
	}
	return true, nil
}

const inboxCols = `id, store_id, dedupe_key, topic, kind, resource_id, received_at, body, event, status, error, processed_at, duplicates`

func scanInbox(sc interface{ Scan(...any) error }) (InboxEvent, error) {
	var (
		e                InboxEvent
		received         string
		event, processed sql.NullString
	)
	if err := sc.Scan(&e.ID, &e.StoreID, &e.DedupeKey, &e.Topic, &e.Kind, &e.ResourceID, &received, &e.Body, &event,
		&e.Status, &e.Error, &processed, &e.Duplicates); err != nil {
		return e, err
	}
	if event.Valid {
		e.Event = []byte(event.String)
	}
	var err error
	if e.ReceivedAt, err = mustTS(received); err != nil {
		return e, err
	}
	e.ProcessedAt, err = parseTS(processed)
	return e, err
}

// PendingInbox returns up to limit deliveries of the store waiting to be
// applied, in the order they arrived.
func (tx *Tx) PendingInbox(storeID string, limit int) ([]InboxEvent, error) {
	return tx.inbox(`SELECT `+inboxCols+` FROM inbox WHERE store_id = ? AND status = 'pending' ORDER BY id LIMIT ?`, storeID, limit)
}

// InboxEvents returns the store's deliveries in a status, newest first.
func (tx *Tx) InboxEvents(storeID, status string, limit int) ([]InboxEvent, error) {
	return tx.inbox(`SELECT `+inboxCols+` FROM inbox WHERE store_id = ? AND status = ? ORDER BY id DESC LIMIT ?`, storeID, status, limit)
}

func (tx *Tx) inbox(q string, args ...any) ([]InboxEvent, error) {
	rows, err := tx.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: inbox: %w", err)
	}
	defer rows.Close()
	var out []InboxEvent
	for rows.Next() {
		e, err := scanInbox(rows)
		if err != nil {
			return nil, fmt.Errorf("store: inbox: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// InboxDone records what became of a delivery.
func (tx *Tx) InboxDone(id int64, status, errMsg string) error {
	_, err := tx.exec(`UPDATE inbox SET status = ?, error = ?, processed_at = ? WHERE id = ?`, status, errMsg, ts(tx.now), id)
	if err != nil {
		return fmt.Errorf("store: inbox %d: %w", id, err)
	}
	return nil
}

// InboxStats counts a store's deliveries per status, and the duplicates.
type InboxStats struct {
	ByStatus   map[string]int
	Duplicates int
	// Unknown counts the deliveries of topics loyaltyd does not act on.
	Unknown int
}

// InboxStats returns the store's delivery counts.
func (tx *Tx) InboxStats(storeID string) (InboxStats, error) {
	s := InboxStats{ByStatus: map[string]int{}}
	rows, err := tx.query(`SELECT status, count(*), coalesce(sum(duplicates), 0), coalesce(sum(kind = 'unknown'), 0)
		FROM inbox WHERE store_id = ? GROUP BY status`, storeID)
	if err != nil {
		return s, fmt.Errorf("store: inbox stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n, dup, unknown int
		if err := rows.Scan(&status, &n, &dup, &unknown); err != nil {
			return s, err
		}
		s.ByStatus[status] = n
		s.Duplicates += dup
		s.Unknown += unknown
	}
	return s, rows.Err()
}

// PruneInbox empties the bodies of deliveries processed before a time:
// they hold personal data, and the applied state is in the orders and the
// ledger. It returns how many were pruned.
func (tx *Tx) PruneInbox(before time.Time) (int, error) {
	res, err := tx.exec(`UPDATE inbox SET body = x'', event = NULL
		WHERE status IN ('processed', 'ignored') AND processed_at < ? AND length(body) > 0`, ts(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune inbox: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Durable runs fn in a write transaction committed with synchronous=FULL,
// so that what it writes survives a power cut, not only a crash: for the
// inbox, whose deliveries were acknowledged to a platform that will not
// send them again.
func (db *DB) Durable(ctx context.Context, fn func(*Tx) error) error {
	conn, err := db.writer.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = FULL"); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = "+db.sync)
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", db.classify(err))
	}
	tx := &Tx{db: db, tx: sqlTx, ctx: ctx, now: db.Now().UTC()}
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", db.classify(err))
	}
	return nil
}

// ErrClosed is returned by an InboxWriter that has stopped.
var ErrClosed = errors.New("inbox writer stopped")

// InboxWriter stores deliveries with group commit: concurrent Puts wait a
// moment to share one durable transaction, which keeps the inbox's
// throughput far above one fsync per delivery.
type InboxWriter struct {
	db   *DB
	reqs chan inboxReq
	// MaxBatch bounds the deliveries of one transaction; MaxWait how long
	// the first one waits for company.
	MaxBatch int
	MaxWait  time.Duration
	done     chan struct{}
}

type inboxReq struct {
	e     *InboxEvent
	reply chan inboxReply
}

type inboxReply struct {
	dup bool
	err error
}

// NewInboxWriter returns a writer; call Run to start it.
func NewInboxWriter(db *DB) *InboxWriter {
	return &InboxWriter{db: db, reqs: make(chan inboxReq), MaxBatch: 256, MaxWait: 2 * time.Millisecond, done: make(chan struct{})}
}

// Put stores a delivery durably and reports whether it was a duplicate.
func (w *InboxWriter) Put(ctx context.Context, e *InboxEvent) (bool, error) {
	req := inboxReq{e: e, reply: make(chan inboxReply, 1)}
	select {
	case w.reqs <- req:
	case <-w.done:
		return false, ErrClosed
	case <-ctx.Done():
		return false, ctx.Err()
	}
	select {
	case r := <-req.reply:
		return r.dup, r.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// Run writes batches until ctx ends, then answers what is queued and
// returns nil.
func (w *InboxWriter) Run(ctx context.Context) error {
	defer close(w.done)
	for {
		var first inboxReq
		select {
		case <-ctx.Done():
			return nil
		case first = <-w.reqs:
		}
		batch := []inboxReq{first}
		timer := time.NewTimer(w.MaxWait)
	collect:
		for len(batch) < w.MaxBatch {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			case <-timer.C:
				break collect
			}
		}
		timer.Stop()
		replies := make([]inboxReply, len(batch))
		err := w.db.Durable(context.WithoutCancel(ctx), func(tx *Tx) error {
			for i, r := range batch {
				dup, err := tx.PutInbox(r.e)
				if err != nil {
					return err
				}
				replies[i].dup = dup
			}
			return nil
		})
		for i, r := range batch {
			if err != nil {
				replies[i] = inboxReply{err: err}
			}
			r.reply <- replies[i]
		}
	}
}
