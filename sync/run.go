package sync

import (
	"context"
	"errors"
	"fmt"
	"sort"
	stdsync "sync"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/store"
)

// StoreStatus is how a store's sync stands, for health checks and status.
type StoreStatus struct {
	Store    string    `json:"store"`
	Platform string    `json:"platform"`
	LastPass time.Time `json:"last_pass,omitzero"`
	// LastError is the error of the last pass; empty when it succeeded.
	LastError string `json:"last_error,omitempty"`
	// Failures counts the consecutive failed passes.
	Failures int `json:"failures"`
	// NextPass is when the next pass is due.
	NextPass time.Time `json:"next_pass,omitzero"`
	// Uninstalled is set when the store removed loyaltyd's access.
	Uninstalled bool `json:"uninstalled,omitempty"`
	// Last is what the last successful pass did.
	Last Report `json:"last"`
}

// Healthy reports whether the last pass succeeded (or none ran yet).
func (s StoreStatus) Healthy() bool { return s.LastError == "" && !s.Uninstalled }

type statusBoard struct {
	mu     stdsync.Mutex
	stores map[string]StoreStatus
}

func (b *statusBoard) update(id string, fn func(*StoreStatus)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stores == nil {
		b.stores = map[string]StoreStatus{}
	}
	s := b.stores[id]
	fn(&s)
	b.stores[id] = s
}

// Status returns the sync status of every store, by store id, as the
// running engine sees it.
func (e *Engine) Status() []StoreStatus {
	e.status.mu.Lock()
	defer e.status.mu.Unlock()
	out := make([]StoreStatus, 0, len(e.Stores))
	for _, st := range e.Stores {
		s := e.status.stores[st.ID]
		s.Store, s.Platform = st.ID, st.Platform
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Store < out[j].Store })
	return out
}

// What wakes a store's workers before their time.
type wakeKind int

const (
	wakePoll wakeKind = iota
	wakeInbox
	wakeOutbox
)

// wakers are a store's wake-up channels, one slot each, so that many
// wake-ups while a worker is busy make one more round, not many.
type wakers [3]chan struct{}

func (e *Engine) wakersOf(storeID string) *wakers {
	e.wakeMu.Lock()
	defer e.wakeMu.Unlock()
	if e.wakes == nil {
		e.wakes = map[string]*wakers{}
	}
	w := e.wakes[storeID]
	if w == nil {
		w = &wakers{make(chan struct{}, 1), make(chan struct{}, 1), make(chan struct{}, 1)}
		e.wakes[storeID] = w
	}
	return w
}

// wake asks a store's worker to run now.
func (e *Engine) wake(storeID string, k wakeKind) {
	select {
	case e.wakersOf(storeID)[k] <- struct{}{}:
	default:
	}
}

// Run keeps every store in sync until ctx ends. Each store has four
// workers: polling every PollInterval (retried with backoff after a
// failure), the inbox processor (woken by each webhook), the outbox
// (woken by new write-backs, or when the next retry is due), and
// reconciliation every ReconcileInterval. The inbox writer runs too. Run
// returns nil when ctx ends, after every worker has stopped; work in
// progress stops at a transaction boundary and what committed stays.
func (e *Engine) Run(ctx context.Context) error {
	var wg stdsync.WaitGroup
	start := func(fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
		}()
	}
	if e.Inbox != nil {
		start(func() { e.Inbox.Run(ctx) })
	}
	for _, st := range e.Stores {
		start(func() { e.pollLoop(ctx, st) })
		start(func() { e.inboxLoop(ctx, st) })
		start(func() { e.outboxLoop(ctx, st) })
		start(func() { e.reconcileLoop(ctx, st) })
	}
	wg.Wait()
	return nil
}

// sleep waits for d, a wake-up, or the end of ctx; it reports false when
// ctx ended.
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}

// ErrUninstalled is returned for a store that removed loyaltyd's access.
var ErrUninstalled = errors.New("the store removed loyaltyd's access (app uninstalled)")

func (e *Engine) pollLoop(ctx context.Context, st *Store) {
	interval := st.PollInterval
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	failures := 0
	wake := e.wakersOf(st.ID)[wakePoll]
	for {
		r, err := e.pass(ctx, st)
		if ctx.Err() != nil {
			return
		}
		wait := interval
		switch {
		case errors.Is(err, ErrUninstalled):
			failures = 0
		case err != nil:
			failures++
			wait = min(time.Duration(1<<min(failures, 10))*5*time.Second, interval)
			e.storeLog(st).WithError(err).WithField("retry_in", wait.String()).Error("sync pass failed")
		default:
			failures = 0
		}
		e.recordPass(ctx, st, r, err, failures, wait)
		// A store in backoff is not woken early: every webhook that asks
		// for a poll would start another failing pass, and an outage
		// with deliveries coming in would become a stream of them.
		woken := wake
		if failures > 0 {
			woken = nil
		}
		if !sleep(ctx, wait, woken) {
			return
		}
	}
}

// pass runs one poll pass, unless the store removed loyaltyd's access; an
// uninstalled store is checked again (its credentials may be back) at
// most hourly.
func (e *Engine) pass(ctx context.Context, st *Store) (Report, error) {
	var info *store.StoreInfo
	if err := e.DB.View(ctx, func(tx *store.Tx) (err error) { info, err = tx.Store(st.ID); return }); err != nil {
		return Report{Store: st.ID}, err
	}
	if !info.UninstalledAt.IsZero() {
		ck, ok := st.Conn.(connectors.Checker)
		if !ok || e.now().Sub(info.UninstalledAt) < time.Hour {
			return Report{Store: st.ID}, ErrUninstalled
		}
		if err := ck.Check(ctx); err != nil {
			return Report{Store: st.ID}, fmt.Errorf("%w; checked again: %v", ErrUninstalled, err)
		}
		if err := e.DB.Update(ctx, func(tx *store.Tx) error { return tx.SetUninstalled(st.ID, time.Time{}) }); err != nil {
			return Report{Store: st.ID}, err
		}
		e.storeLog(st).Info("the store gave loyaltyd access again: syncing resumes")
	}
	return e.SyncStore(ctx, st)
}

// recordPass keeps the outcome of a pass in memory, the database and the
// metrics.
func (e *Engine) recordPass(ctx context.Context, st *Store, r Report, err error, failures int, wait time.Duration) {
	now := e.now()
	e.status.update(st.ID, func(s *StoreStatus) {
		s.LastPass, s.Failures, s.NextPass = now, failures, now.Add(wait)
		s.Uninstalled = errors.Is(err, ErrUninstalled)
		if err != nil {
			s.LastError = err.Error()
		} else {
			s.LastError, s.Last = "", r
		}
	})
	e.Metrics.report(r)
	if e.Metrics != nil {
		result := "ok"
		if err != nil {
			result = "error"
		} else {
			e.Metrics.lastSuccess.WithLabelValues(st.ID).Set(float64(now.Unix()))
		}
		e.Metrics.passes.WithLabelValues(st.ID, result).Inc()
	}
	dbErr := e.DB.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		s, err2 := tx.SyncStatus(st.ID)
		if err2 != nil {
			return err2
		}
		s.LastPassAt, s.Failures = now, failures
		if err != nil {
			s.LastError = err.Error()
		} else {
			s.LastError, s.LastSuccessAt = "", now
		}
		if e.Metrics != nil {
			for _, res := range []string{ResourceOrders, ResourceCustomers} {
				if c, err := tx.Cursor(st.ID, res); err == nil && !c.HighWater.IsZero() {
					e.Metrics.cursorLag.WithLabelValues(st.ID, res).Set(now.Sub(c.HighWater).Seconds())
				}
			}
			if counts, err := tx.OutboxCounts(st.ID); err == nil {
				for _, state := range []string{store.OutboxPending, store.OutboxDead} {
					e.Metrics.outbox.WithLabelValues(st.ID, state).Set(float64(counts[state]))
				}
			}
		}
		return tx.SaveSyncStatus(s)
	})
	if dbErr != nil && ctx.Err() == nil {
		e.storeLog(st).WithError(dbErr).Error("saving the sync status failed")
	}
}

func (e *Engine) inboxLoop(ctx context.Context, st *Store) {
	wake := e.wakersOf(st.ID)[wakeInbox]
	for {
		var r Report
		if err := e.ProcessInbox(ctx, st, &r); err != nil && ctx.Err() == nil {
			e.storeLog(st).WithError(err).Error("processing the webhook inbox failed")
		}
		e.Metrics.report(r)
		if r.Queued > 0 {
			e.wake(st.ID, wakeOutbox)
		}
		// Deliveries wake the processor; the timer only catches what a
		// lost wake-up (a restart) left behind.
		if !sleep(ctx, 30*time.Second, wake) {
			return
		}
	}
}

func (e *Engine) outboxLoop(ctx context.Context, st *Store) {
	wake := e.wakersOf(st.ID)[wakeOutbox]
	for {
		r := Report{Store: st.ID}
		if err := e.DeliverOutbox(ctx, st, &r); err != nil && ctx.Err() == nil {
			e.storeLog(st).WithError(err).Error("delivering write-backs failed")
		}
		e.Metrics.report(r)
		wait := 15 * time.Second
		var next time.Time
		if err := e.DB.View(ctx, func(tx *store.Tx) (err error) { next, err = tx.NextOutboxAttempt(st.ID); return }); err == nil && !next.IsZero() {
			wait = min(max(next.Sub(e.now()), time.Second), wait)
		}
		if !sleep(ctx, wait, wake) {
			return
		}
	}
}

func (e *Engine) reconcileLoop(ctx context.Context, st *Store) {
	interval := st.ReconcileInterval
	if interval <= 0 {
		interval = 24 * time.Hour
	}
	// The first reconciliation comes one interval after the last one
	// (across restarts), so that a restart does not re-read the platform.
	var s store.SyncStatus
	e.DB.View(ctx, func(tx *store.Tx) (err error) { s, err = tx.SyncStatus(st.ID); return })
	wait := interval
	if !s.LastReconcileAt.IsZero() {
		wait = max(s.LastReconcileAt.Add(interval).Sub(e.now()), time.Minute)
	}
	for {
		if !sleep(ctx, wait, nil) {
			return
		}
		if _, err := e.Reconcile(ctx, st); err != nil && ctx.Err() == nil {
			e.storeLog(st).WithError(err).Error("reconciliation failed")
		}
		wait = interval
	}
}

// Reconcile re-reads the platform's records of the recent period (twice
// the reconcile interval, at least a day) and applies what is missing or
// newer than what is stored, without moving the cursors. What it finds is
// what webhooks and polling missed: it is counted in the sync status and
// the metrics, and logged.
func (e *Engine) Reconcile(ctx context.Context, st *Store) (Report, error) {
	r := Report{Store: st.ID}
	interval := st.ReconcileInterval
	if interval <= 0 {
		interval = 24 * time.Hour
	}
	lookback := max(2*interval, 24*time.Hour)
	now := e.now()
	window := connectors.Cursor{Since: now.Add(-lookback), Until: now.Add(-e.safetyLag())}
	if window.Since.Before(st.BackfillFrom) {
		window.Since = st.BackfillFrom
	}
	// Customers are re-read too, but only orders count as found: a
	// customer record changes whenever loyaltyd writes its tags.
	found := 0
	err := reread(ctx, e, st, window, st.Conn.Customers, func(tx *store.Tx, b *batch, cs []commerce.Customer) error {
		for i := range cs {
			if err := e.applyCustomer(tx, b, &cs[i]); err != nil {
				return err
			}
		}
		return nil
	}, &r)
	if err == nil {
		err = reread(ctx, e, st, window, st.Conn.Orders, func(tx *store.Tx, b *batch, os []commerce.Order) error {
			for i := range os {
				before := b.r.OrdersChanged
				if err := e.applyOrder(tx, b, &os[i]); err != nil {
					return err
				}
				found += b.r.OrdersChanged - before
			}
			return nil
		}, &r)
	}
	if err != nil {
		return r, fmt.Errorf("reconcile: %w", err)
	}
	r.ReconcileFound = found
	if e.Metrics != nil {
		e.Metrics.reconcile.WithLabelValues(st.ID).Add(float64(found))
	}
	err = e.DB.Update(ctx, func(tx *store.Tx) error {
		s, err := tx.SyncStatus(st.ID)
		if err != nil {
			return err
		}
		s.LastReconcileAt, s.LastReconcileFound = now, found
		s.ReconcileFoundTotal += found
		return tx.SaveSyncStatus(s)
	})
	log := e.storeLog(st).WithField("found", found).WithField("since", window.Since.Format(time.RFC3339))
	if found > 0 {
		log.Warn("reconciliation found records that webhooks and polling missed")
	} else {
		log.Info("reconciliation found nothing missing")
	}
	if r.Queued > 0 {
		e.wake(st.ID, wakeOutbox)
	}
	return r, err
}

// reread reads a window to its end and applies each page in a
// transaction, without touching the cursor.
func reread[T any](ctx context.Context, e *Engine, st *Store, cur connectors.Cursor,
	read func(context.Context, connectors.Cursor) (connectors.Page[T], error),
	apply func(tx *store.Tx, b *batch, items []T) error, r *Report) error {
	for {
		page, err := read(ctx, cur)
		if err != nil {
			return err
		}
		err = e.DB.Update(ctx, func(tx *store.Tx) error {
			b := newBatch(st, r)
			if err := apply(tx, b, page.Items); err != nil {
				return err
			}
			return e.finish(tx, b)
		})
		if err != nil || page.Done {
			return err
		}
		cur = page.Next
	}
}
