package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	stdsync "sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
)

// Log field keys, shared by every log line of the engine.
const (
	fieldStore    = "store"
	fieldPlatform = "platform"
	fieldResource = "resource"
	fieldOrderID  = "order_id"
	fieldOutboxID = "outbox_id"
)

// Store is one configured store the engine serves.
type Store struct {
	// ID is the store's id in the configuration.
	ID string
	// Platform is the store's platform name.
	Platform string
	// Conn is the store's connector.
	Conn connectors.Connector
	// BackfillFrom is the oldest update time the first pass reads; zero
	// reads everything the platform has.
	BackfillFrom time.Time
	// Overlap is how far behind its high-water mark each pass starts
	// reading again, to catch records whose update became visible late.
	Overlap time.Duration
	// PollInterval is the time between passes when the engine runs.
	PollInterval time.Duration
	// ReconcileInterval is the time between reconciliations (default
	// 24h); each re-reads twice that period from the platform.
	ReconcileInterval time.Duration

	// deliver serializes outbox delivery for the store.
	deliver stdsync.Mutex

	// launch is when the program started for this store (Prepare).
	launch time.Time
}

// Engine runs the data flow for a set of stores. Set the exported fields
// before the first call; an Engine is safe for one pass at a time.
type Engine struct {
	// DB is the database.
	DB *store.DB
	// Program is the loyalty program in force.
	Program *loyalty.Program
	// Stores are the stores served.
	Stores []*Store
	// Log receives log lines; nil discards them.
	Log logrus.FieldLogger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand draws the jitter of retry delays; nil uses a random source.
	Rand *rand.Rand
	// SafetyLag keeps each pass's ceiling this far before the pass began,
	// so that records still being written on the platform are read by the
	// next pass instead of being skipped. Default 30s.
	SafetyLag time.Duration
	// PageLimit bounds the pages read per resource in one pass; 0 means no
	// bound. A pass cut short resumes from its saved cursor.
	PageLimit int
	// Outbox tunes write-back delivery.
	Outbox OutboxPolicy
	// Inbox stores webhook deliveries with group commit; nil stores each
	// in its own durable transaction.
	Inbox *store.InboxWriter
	// Metrics counts what the engine does; nil counts nothing.
	Metrics *Metrics
	// Notify are the endpoints that receive the program's events, sent
	// through the outbox by Notifier.
	Notify   []NotifyEndpoint
	Notifier Notifier
	// Link returns a member's signed balance link, written to their
	// record; nil writes none.
	Link func(storeID, customerID string, now time.Time) string

	status statusBoard
	wakeMu stdsync.Mutex
	wakes  map[string]*wakers
}

// OutboxPolicy says how write-backs are retried.
type OutboxPolicy struct {
	// MaxAttempts is the retry budget; after it an item is dead. Default 8.
	MaxAttempts int
	// BaseDelay is the first retry delay, doubled on each attempt with
	// jitter, up to MaxDelay. Defaults 10s and 1h.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// Batch is how many due items are delivered per round. Default 100.
	Batch int
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

func (e *Engine) log() logrus.FieldLogger {
	if e.Log != nil {
		return e.Log
	}
	l := logrus.New()
	l.Out = io.Discard
	return l
}

func (e *Engine) storeLog(st *Store) logrus.FieldLogger {
	return e.log().WithFields(logrus.Fields{fieldStore: st.ID, fieldPlatform: st.Platform})
}

func (e *Engine) safetyLag() time.Duration {
	if e.SafetyLag > 0 {
		return e.SafetyLag
	}
	return 30 * time.Second
}

// Store returns the served store with the id, or nil.
func (e *Engine) Store(id string) *Store {
	for _, s := range e.Stores {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Report counts what a pass did, per store.
type Report struct {
	Store              string
	CustomersRead      int
	CustomersChanged   int
	OrdersRead         int
	OrdersChanged      int
	OrdersStale        int
	OrdersRejected     int
	Enrolled           int
	OrdersBeforeLaunch int
	Entries            int
	PointsCredited     int64
	PointsDebited      int64
	Queued             int
	Delivered          int
	DeliveryFailures   int
	Dead               int
	TierChanges        int
	Expired            int
	Redeemed           int
	RedeemReturned     int
	ReferralsRewarded  int
	ReferralsRefused   int
	WebhooksApplied    int
	ReconcileFound     int
}

// Add adds the counts of o to r.
func (r *Report) Add(o Report) {
	r.CustomersRead += o.CustomersRead
	r.CustomersChanged += o.CustomersChanged
	r.OrdersRead += o.OrdersRead
	r.OrdersChanged += o.OrdersChanged
	r.OrdersStale += o.OrdersStale
	r.OrdersRejected += o.OrdersRejected
	r.Enrolled += o.Enrolled
	r.OrdersBeforeLaunch += o.OrdersBeforeLaunch
	r.Entries += o.Entries
	r.PointsCredited += o.PointsCredited
	r.PointsDebited += o.PointsDebited
	r.Queued += o.Queued
	r.Delivered += o.Delivered
	r.DeliveryFailures += o.DeliveryFailures
	r.Dead += o.Dead
	r.TierChanges += o.TierChanges
	r.Expired += o.Expired
	r.Redeemed += o.Redeemed
	r.RedeemReturned += o.RedeemReturned
	r.ReferralsRewarded += o.ReferralsRewarded
	r.ReferralsRefused += o.ReferralsRefused
	r.WebhooksApplied += o.WebhooksApplied
	r.ReconcileFound += o.ReconcileFound
}

// Prepare records the configured stores in the database and learns when
// the program started for each. Call it once before anything else.
func (e *Engine) Prepare(ctx context.Context) error {
	return e.DB.Update(ctx, func(tx *store.Tx) error {
		for _, st := range e.Stores {
			if err := tx.EnsureStore(st.ID, st.Platform); err != nil {
				return err
			}
			info, err := tx.Store(st.ID)
			if err != nil {
				return err
			}
			st.launch = info.CreatedAt
			if !e.Program.Launch.IsZero() {
				st.launch = e.Program.Launch.Start(e.Program.Location())
			}
		}
		return nil
	})
}

// Launch returns when the program started for a store: the configured
// launch, or the store's first sync.
func (st *Store) Launch() time.Time { return st.launch }

// SyncOnce runs one full pass over every store: customers, then orders,
// then the outbox. A store that fails does not stop the others; the errors
// are returned together, with the reports of every store.
func (e *Engine) SyncOnce(ctx context.Context) ([]Report, error) {
	var (
		reports []Report
		errs    []error
	)
	for _, st := range e.Stores {
		// Webhooks the daemon took but had not applied when it stopped
		// are applied first, as run's inbox processor would.
		inbox := Report{Store: st.ID}
		inboxErr := e.ProcessInbox(ctx, st, &inbox)
		r, err := e.SyncStore(ctx, st)
		r.Add(inbox)
		reports = append(reports, r)
		if err = errors.Join(inboxErr, err); err != nil {
			if ctx.Err() != nil {
				return reports, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("store %s: %w", st.ID, err))
		}
	}
	return reports, errors.Join(errs...)
}

// SyncStore runs one pass over one store: customers, orders, outbox.
func (e *Engine) SyncStore(ctx context.Context, st *Store) (Report, error) {
	r := Report{Store: st.ID}
	log := e.storeLog(st)
	start := time.Now()
	if err := e.pullCustomers(ctx, st, &r); err != nil {
		return r, fmt.Errorf("customers: %w", err)
	}
	if err := e.pullOrders(ctx, st, &r); err != nil {
		return r, fmt.Errorf("orders: %w", err)
	}
	if err := e.Settle(ctx, st, &r); err != nil {
		return r, fmt.Errorf("referrals: %w", err)
	}
	if err := e.Daily(ctx, st, &r); err != nil {
		return r, fmt.Errorf("daily re-evaluation: %w", err)
	}
	if err := e.DeliverOutbox(ctx, st, &r); err != nil {
		return r, fmt.Errorf("outbox: %w", err)
	}
	log.WithFields(logrus.Fields{
		"customers_read": r.CustomersRead, "orders_read": r.OrdersRead, "orders_changed": r.OrdersChanged,
		"entries": r.Entries, "points_credited": r.PointsCredited, "points_debited": r.PointsDebited,
		"delivered": r.Delivered, "delivery_failures": r.DeliveryFailures,
		"took": time.Since(start).Round(time.Millisecond).String(),
	}).Info("sync pass done")
	return r, nil
}
