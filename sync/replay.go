package sync

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/store"
)

// History is a store's past as a replay reads it: customers in the order
// they were created, orders in their final state in the order they were
// processed, both in chunks, and what the discount codes on the orders
// meant to the program they were placed under.
type History interface {
	// Customers returns a reader of the customers, oldest created first
	// (then by id); each call returns the next ones, none at the end.
	Customers() func(context.Context) ([]commerce.Customer, error)
	// Orders returns a reader of the orders in their final state, oldest
	// processed first (then by id); each call returns the next ones, none
	// at the end.
	Orders() func(context.Context) ([]commerce.Order, error)
	// ProgramCode says what a code used on an order was: one of the
	// program's reward codes, or the referral code of a member (referrer);
	// neither for the store's other codes.
	ProgramCode(code string) (reward bool, referrer string)
}

// HistoryOf returns a history held in memory: the customers and the
// orders in their final state (sorted here, the slices are not changed),
// and code, which says what a code on an order meant (nil: no code was the
// program's).
func HistoryOf(customers []commerce.Customer, orders []commerce.Order, code func(string) (reward bool, referrer string)) History {
	h := &memoryHistory{customers: slices.Clone(customers), orders: slices.Clone(orders), code: code}
	slices.SortStableFunc(h.customers, func(a, b commerce.Customer) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	slices.SortStableFunc(h.orders, func(a, b commerce.Order) int {
		return cmp.Or(a.ProcessedTime().Compare(b.ProcessedTime()), cmp.Compare(a.ID, b.ID))
	})
	return h
}

type memoryHistory struct {
	customers []commerce.Customer
	orders    []commerce.Order
	code      func(string) (bool, string)
}

func (h *memoryHistory) Customers() func(context.Context) ([]commerce.Customer, error) {
	return chunks(h.customers)
}

func (h *memoryHistory) Orders() func(context.Context) ([]commerce.Order, error) {
	return chunks(h.orders)
}

func (h *memoryHistory) ProgramCode(code string) (bool, string) {
	if h.code == nil {
		return false, ""
	}
	return h.code(code)
}

// historyChunk is how many records a replay reads at a time.
const historyChunk = 500

func chunks[T any](all []T) func(context.Context) ([]T, error) {
	pos := 0
	return func(context.Context) ([]T, error) {
		part := all[pos:min(pos+historyChunk, len(all))]
		pos += len(part)
		return part, nil
	}
}

// storedHistory reads a store's history from the engine's database, a
// chunk per short read transaction, so that a long replay never holds
// the database's readers.
type storedHistory struct {
	db      *store.DB
	storeID string
	codes   map[string]store.ProgramCode

	once    stdsync.Once
	keys    []store.CustomerKey
	keysErr error
}

func (e *Engine) storedHistory(ctx context.Context, storeID string) (*storedHistory, error) {
	h := &storedHistory{db: e.DB, storeID: storeID}
	err := e.DB.View(ctx, func(tx *store.Tx) (err error) {
		h.codes, err = tx.ProgramCodesUsed(storeID)
		return err
	})
	return h, err
}

func (h *storedHistory) Customers() func(context.Context) ([]commerce.Customer, error) {
	pos := 0
	return func(ctx context.Context) ([]commerce.Customer, error) {
		h.once.Do(func() {
			h.keysErr = h.db.View(ctx, func(tx *store.Tx) (err error) {
				h.keys, err = tx.CustomerCreations(h.storeID)
				return err
			})
		})
		if h.keysErr != nil {
			return nil, h.keysErr
		}
		// An empty chunk means the end, so a chunk whose customers all
		// went away since the ids were read is passed over.
		var out []commerce.Customer
		for len(out) == 0 && pos < len(h.keys) {
			part := h.keys[pos:min(pos+historyChunk, len(h.keys))]
			pos += len(part)
			ids := make([]string, len(part))
			for i, k := range part {
				ids[i] = k.ID
			}
			err := h.db.View(ctx, func(tx *store.Tx) error {
				cs, err := tx.CustomersByID(h.storeID, ids)
				for _, c := range cs {
					c.Raw = nil
					out = append(out, c.Customer)
				}
				return err
			})
			if err != nil {
				return nil, err
			}
		}
		return out, nil
	}
}

func (h *storedHistory) Orders() func(context.Context) ([]commerce.Order, error) {
	var (
		at   time.Time
		id   string
		done bool
	)
	return func(ctx context.Context) ([]commerce.Order, error) {
		if done {
			return nil, nil
		}
		var out []commerce.Order
		err := h.db.View(ctx, func(tx *store.Tx) error {
			os, err := tx.OrdersProcessedAfter(h.storeID, at, id, historyChunk)
			for _, o := range os {
				o.Raw = nil
				out = append(out, o.Order)
			}
			return err
		})
		if n := len(out); n > 0 {
			at, id = out[n-1].ProcessedTime(), out[n-1].ID
		} else {
			done = true
		}
		return out, err
	}
}

func (h *storedHistory) ProgramCode(code string) (bool, string) {
	pc, ok := h.codes[strings.ToUpper(code)]
	if !ok {
		return false, ""
	}
	return pc.Reward, pc.Referrer
}

// ReplayOptions say how far a replay goes and how it moves the clock.
type ReplayOptions struct {
	// Until ends the replay: nothing at or after it is applied, and the
	// daily re-evaluations run up to it. Required.
	Until time.Time
	// SetNow moves the clock that the engine (Engine.Now) and its
	// database (DB.Now) read. Required: a replay is the past happening
	// again at the time it happened.
	SetNow func(time.Time)
	// Step is the longest stretch of time applied in one transaction, as
	// if a sync pass ran that often; default an hour.
	Step time.Duration
	// MaxBatch bounds the records applied in one transaction; default 500.
	MaxBatch int
}

// Replay applies a store's history to the engine as it happened: the
// clock moves through it chronologically, customers arrive when they
// were created, each order is placed when it was processed and refunded
// or cancelled when that happened, and every day (in the program's time
// zone) the engine's own pass runs (referrals settled, the daily
// re-evaluation: tiers falling with the window, pending points maturing,
// balances expiring, auto-redeem, segments). Everything before the store's
// first sync in the engine's database (its creation) arrives at once at
// that moment, as the backfill of a first sync does; the program's launch
// decides, as always, what of it earns. It is the engine doing what it
// always does (Apply, Settle, Daily); nothing here decides points.
//
// The engine's store should have no connector, so that no write-back is
// ever delivered: what it queues stays in its outbox.
//
// Codes the history says were the program's are given the meaning they
// have in the replay: a reward code becomes the customer's oldest reward
// code of the replay that is unused and valid (or is dropped, the
// discount kept, when the customer holds none: under another program
// they might have had no code to use), and a referral code becomes the
// same member's referral code under the engine's program.
func (e *Engine) Replay(ctx context.Context, st *Store, h History, o ReplayOptions) (report.ReplayStats, error) {
	if o.SetNow == nil || o.Until.IsZero() {
		return report.ReplayStats{}, errors.New("replay: Until and SetNow are required")
	}
	if o.Step <= 0 {
		o.Step = time.Hour
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 500
	}
	r := &replayer{e: e, st: st, h: h, o: o, customers: h.Customers(), orders: h.Orders(),
		codes: map[string]*mappedCodes{}, claimed: map[int64]bool{}}
	err := r.run(ctx)
	return r.stats, err
}

// replayer is one replay under way.
type replayer struct {
	e     *Engine
	st    *Store
	h     History
	o     ReplayOptions
	stats report.ReplayStats

	customers func(context.Context) ([]commerce.Customer, error)
	orders    func(context.Context) ([]commerce.Order, error)
	cbuf      []commerce.Customer
	obuf      []commerce.Order
	cdone     bool
	odone     bool
	later     versionHeap
	seq       int

	// codes are the codes given to each order with program codes, kept
	// for its later versions; claimed are the redemptions given out.
	codes   map[string]*mappedCodes
	claimed map[int64]bool

	// passed is the time of the last daily pass.
	passed time.Time
}

// mappedCodes are an order's codes as the replay gave them, and how many
// of its versions are still to come.
type mappedCodes struct {
	codes []commerce.CodeUse
	left  int
}

// event is a customer arriving or a version of an order.
type event struct {
	at       time.Time
	customer *commerce.Customer
	order    *commerce.Order
	// last is set on an order's last version; versions counts them.
	last     bool
	first    bool
	versions int
	// seq orders versions due at the same moment as they were queued.
	seq int
}

func (r *replayer) run(ctx context.Context) error {
	loc := r.e.Program.Location()
	// What happened before the store's first sync arrives with it, as the
	// backfill of a first sync does; whether it earns is the program's
	// launch's business, as always.
	var info *store.StoreInfo
	if err := r.e.DB.View(ctx, func(tx *store.Tx) (err error) { info, err = tx.Store(r.st.ID); return }); err != nil {
		return err
	}
	firstSync := info.CreatedAt
	if firstSync.After(r.o.Until) {
		firstSync = r.o.Until
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		next, ok, err := r.peek(ctx)
		if err != nil {
			return err
		}
		if !ok || !next.Before(r.o.Until) {
			break
		}
		end, clock := firstSync, firstSync
		if !next.Before(firstSync) {
			// The passes due before this moment run first: the first
			// sync's, and one at every midnight since.
			if err := r.passes(ctx, firstSync, next, loc); err != nil {
				return err
			}
			end = minTime(next.Truncate(r.o.Step).Add(r.o.Step), nextMidnight(next, loc), r.o.Until)
		}
		var (
			customers []commerce.Customer
			orders    []commerce.Order
		)
		for len(customers)+len(orders) < r.o.MaxBatch {
			ev, ok, err := r.take(ctx, end)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if !ev.at.Before(firstSync) {
				clock = ev.at
			}
			if ev.customer != nil {
				customers = append(customers, *ev.customer)
				r.stats.Customers++
				continue
			}
			if err := r.mapCodes(ctx, ev); err != nil {
				return err
			}
			orders = append(orders, *ev.order)
			r.stats.Versions++
			if ev.first {
				r.stats.Orders++
			}
		}
		r.o.SetNow(clock)
		var rep Report
		if _, err := r.e.Apply(ctx, r.st, customers, orders); err != nil {
			return err
		}
		if err := r.e.Settle(ctx, r.st, &rep); err != nil {
			return err
		}
		r.stats.Batches++
	}
	if err := r.passes(ctx, firstSync, r.o.Until, loc); err != nil {
		return err
	}
	if r.passed.Before(r.o.Until) {
		return r.pass(ctx, r.o.Until)
	}
	return nil
}

// passes runs the engine's pass at the first sync and at every midnight after
// it, up to and including until, that has not run yet.
func (r *replayer) passes(ctx context.Context, firstSync, until time.Time, loc *time.Location) error {
	if r.passed.IsZero() {
		if firstSync.After(until) {
			return nil
		}
		if err := r.pass(ctx, firstSync); err != nil {
			return err
		}
	}
	for m := nextMidnight(r.passed, loc); !m.After(until); m = nextMidnight(m, loc) {
		if err := r.pass(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// pass runs what a sync pass runs besides reading the platform:
// referrals settled, then the daily re-evaluation when the day changed.
func (r *replayer) pass(ctx context.Context, at time.Time) error {
	r.o.SetNow(at)
	r.passed = at
	var rep Report
	if err := r.e.Settle(ctx, r.st, &rep); err != nil {
		return err
	}
	if err := r.e.Daily(ctx, r.st, &rep); err != nil {
		return err
	}
	r.stats.Days++
	return nil
}

// peek returns the time of the next event.
func (r *replayer) peek(ctx context.Context) (time.Time, bool, error) {
	if err := r.fill(ctx); err != nil {
		return time.Time{}, false, err
	}
	var (
		at time.Time
		ok bool
	)
	consider := func(t time.Time) {
		if !ok || t.Before(at) {
			at, ok = t, true
		}
	}
	if len(r.cbuf) > 0 {
		consider(r.cbuf[0].CreatedAt)
	}
	if len(r.later) > 0 {
		consider(r.later[0].at)
	}
	if len(r.obuf) > 0 {
		consider(r.obuf[0].ProcessedTime())
	}
	return at, ok, nil
}

// take returns the next event if it comes before end: customers first,
// then later versions of orders already placed, then new orders, when
// they share a moment.
func (r *replayer) take(ctx context.Context, end time.Time) (event, bool, error) {
	at, ok, err := r.peek(ctx)
	if err != nil || !ok || !at.Before(end) {
		return event{}, false, err
	}
	switch {
	case len(r.cbuf) > 0 && r.cbuf[0].CreatedAt.Equal(at):
		c := r.cbuf[0]
		r.cbuf = r.cbuf[1:]
		return event{at: at, customer: &c}, true, nil
	case len(r.later) > 0 && r.later[0].at.Equal(at):
		return heap.Pop(&r.later).(event), true, nil
	}
	o := r.obuf[0]
	r.obuf = r.obuf[1:]
	vs := versions(o)
	for i := range vs[1:] {
		r.seq++
		heap.Push(&r.later, event{at: vs[i+1].at, order: &vs[i+1].order, last: i+2 == len(vs), versions: len(vs), seq: r.seq})
	}
	return event{at: vs[0].at, order: &vs[0].order, first: true, last: len(vs) == 1, versions: len(vs)}, true, nil
}

// fill reads the next chunk of a source whose buffer ran empty.
func (r *replayer) fill(ctx context.Context) error {
	if len(r.cbuf) == 0 && !r.cdone {
		cs, err := r.customers(ctx)
		if err != nil {
			return err
		}
		r.cbuf, r.cdone = cs, len(cs) == 0
	}
	if len(r.obuf) == 0 && !r.odone {
		os, err := r.orders(ctx)
		if err != nil {
			return err
		}
		r.obuf, r.odone = os, len(os) == 0
	}
	return nil
}

// mapCodes gives the program's codes on an order version their meaning in
// the replay (see Replay).
func (r *replayer) mapCodes(ctx context.Context, ev event) error {
	o := ev.order
	if m, ok := r.codes[o.ID]; ok {
		o.Codes = m.codes
		if m.left--; m.left <= 0 || ev.last {
			delete(r.codes, o.ID)
		}
		return nil
	}
	if len(o.Codes) == 0 {
		return nil
	}
	var out []commerce.CodeUse
	changed := false
	for _, cu := range o.Codes {
		reward, referrer := r.h.ProgramCode(cu.Code)
		switch {
		case reward:
			changed = true
			code, err := r.rewardCode(ctx, o.CustomerID, o.ProcessedTime())
			if err != nil {
				return err
			}
			if code == "" {
				continue
			}
			cu.Code = code
		case referrer != "" && r.e.Program.Referrals.Enabled():
			changed = true
			cu.Code = r.e.Program.ReferralCode(r.st.ID, referrer)
		}
		out = append(out, cu)
	}
	if !changed {
		return nil
	}
	o.Codes = out
	if !ev.last {
		r.codes[o.ID] = &mappedCodes{codes: out, left: ev.versions - 1}
	}
	return nil
}

// rewardCode returns the customer's oldest reward code of the replay that
// is not used, not given to another order, and valid at, claiming it; ""
// when there is none.
func (r *replayer) rewardCode(ctx context.Context, customerID string, at time.Time) (string, error) {
	if customerID == "" {
		return "", nil
	}
	var code string
	err := r.e.DB.View(ctx, func(tx *store.Tx) error {
		reds, err := tx.Redemptions(r.st.ID, customerID)
		if err != nil {
			return err
		}
		for _, red := range reds {
			usable := red.Status == store.RedemptionIssued || red.Status == store.RedemptionCreated
			if usable && !r.claimed[red.ID] && !red.CreatedAt.After(at) && (red.ExpiresAt.IsZero() || at.Before(red.ExpiresAt)) {
				r.claimed[red.ID], code = true, red.Code
				return nil
			}
		}
		return nil
	})
	return code, err
}

// version is one state of an order and when the platform showed it.
type version struct {
	at    time.Time
	order commerce.Order
}

// versions splits an order's final state into the states it went
// through: placed (paid, before any refund or cancellation) when it was
// processed, then one state per moment a refund or the cancellation
// happened, the last being the final state itself, unchanged. A state
// the platform could not have shown before the final one (its time not
// before the final update time) is left out, so that the final state
// always replaces the others.
func versions(o commerce.Order) []version {
	placed := o.ProcessedTime()
	if len(o.Refunds) == 0 && !o.Cancelled() {
		return []version{{at: placed, order: o}}
	}
	var times []time.Time
	for _, rf := range o.Refunds {
		times = append(times, maxTime(rf.CreatedAt, placed))
	}
	if o.Cancelled() {
		times = append(times, maxTime(o.CancelledAt, placed))
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	times = slices.CompactFunc(times, func(a, b time.Time) bool { return a.Equal(b) })
	last := times[len(times)-1]
	// The moments before the last show a state in between.
	moments := append([]time.Time{placed}, times[:len(times)-1]...)
	var out []version
	for _, t := range moments {
		if !t.Before(o.UpdatedAt) || !t.Before(last) || (len(out) > 0 && !out[len(out)-1].at.Before(t)) {
			continue
		}
		v := o
		v.UpdatedAt = t
		v.Refunds = nil
		for _, rf := range o.Refunds {
			if !maxTime(rf.CreatedAt, placed).After(t) {
				v.Refunds = append(v.Refunds, rf)
			}
		}
		if o.Cancelled() && maxTime(o.CancelledAt, placed).After(t) {
			v.CancelledAt = time.Time{}
		}
		switch {
		case !o.State.Paid(), len(v.Refunds) == len(o.Refunds):
		case len(v.Refunds) > 0:
			v.State = commerce.StatePartiallyRefunded
		default:
			v.State = commerce.StatePaid
		}
		out = append(out, version{at: t, order: v})
	}
	return append(out, version{at: last, order: o})
}

func nextMidnight(t time.Time, loc *time.Location) time.Time {
	d := t.In(loc)
	return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc).UTC()
}

func minTime(ts ...time.Time) time.Time {
	m := ts[0]
	for _, t := range ts[1:] {
		if t.Before(m) {
			m = t
		}
	}
	return m
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// versionHeap orders the versions still to come by time, then by when
// they were queued.
type versionHeap []event

func (h versionHeap) Len() int { return len(h) }
func (h versionHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h versionHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *versionHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *versionHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
