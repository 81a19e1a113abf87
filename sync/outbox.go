package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/store"
)

func (p OutboxPolicy) withDefaults() OutboxPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 8
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 10 * time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = time.Hour
	}
	if p.Batch <= 0 {
		p.Batch = 100
	}
	return p
}

// DeliverOutbox delivers the store's due write-backs through its
// connector, each item at least once. A failed item is retried later with
// exponential backoff and jitter; after the retry budget, or at once when
// the platform refuses it for good, it goes to the dead-letter state.
func (e *Engine) DeliverOutbox(ctx context.Context, st *Store, r *Report) error {
	// One delivery at a time per store: the poll pass and the outbox loop
	// both deliver, and an item must not be sent by both at once.
	st.deliver.Lock()
	defer st.deliver.Unlock()
	pol := e.Outbox.withDefaults()
	log := e.storeLog(st)
	for {
		var items []store.OutboxItem
		if err := e.DB.View(ctx, func(tx *store.Tx) error {
			var err error
			items, err = tx.DueOutbox(st.ID, e.now(), pol.Batch)
			return err
		}); err != nil {
			return err
		}
		if len(items) == 0 {
			return nil
		}
		progress := false
		for _, it := range items {
			result, err := e.deliver(ctx, st, it)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			err2 := e.DB.Update(ctx, func(tx *store.Tx) error {
				b := newBatch(st, r)
				if err == nil {
					if err := e.delivered(tx, it); err != nil {
						return err
					}
					return tx.OutboxDelivered(it.ID, result)
				}
				dead := permanent(err) || it.Attempts+1 >= pol.MaxAttempts
				if err := tx.OutboxFailed(it.ID, err.Error(), e.now().Add(e.backoff(pol, it.Attempts, err)), dead); err != nil {
					return err
				}
				if dead && it.Kind == OutboxDiscount {
					var p discountPayload
					if json.Unmarshal(it.Payload, &p) == nil && p.RedemptionID > 0 {
						if err := e.returnPoints(tx, b, p.RedemptionID, err.Error()); err != nil {
							return err
						}
					}
				}
				return e.finish(tx, b)
			})
			if err2 != nil {
				return err2
			}
			ilog := log.WithFields(logrus.Fields{fieldOutboxID: it.ID, "kind": it.Kind, "attempt": it.Attempts + 1})
			switch {
			case err == nil:
				r.Delivered++
				progress = true
			case permanent(err) || it.Attempts+1 >= pol.MaxAttempts:
				r.Dead++
				ilog.WithError(err).Error("write-back dead: it needs a look, then a retry by hand")
			default:
				r.DeliveryFailures++
				ilog.WithError(err).Warn("write-back failed, will retry")
			}
		}
		if !progress {
			// Everything due failed: the rest waits for its next attempt.
			return nil
		}
	}
}

// permanent reports whether retrying cannot help.
func permanent(err error) bool {
	return errors.Is(err, connectors.ErrRejected) || errors.Is(err, connectors.ErrNotFound) ||
		errors.Is(err, connectors.ErrUnsupported)
}

// backoff is the delay before the next attempt: the platform's Retry-After
// when it gave one, otherwise exponential from BaseDelay with full jitter
// over its upper half.
func (e *Engine) backoff(pol OutboxPolicy, attempts int, err error) time.Duration {
	var rl *connectors.RateLimitError
	if errors.As(err, &rl) && rl.RetryAfter > 0 {
		return rl.RetryAfter
	}
	d := pol.BaseDelay << min(attempts, 30)
	if d <= 0 || d > pol.MaxDelay {
		d = pol.MaxDelay
	}
	rnd := e.Rand
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	half := int64(d / 2)
	return time.Duration(half + rnd.Int64N(half+1))
}

// delivered records what a delivered item changes locally: a reward code
// now exists on the platform.
func (e *Engine) delivered(tx *store.Tx, it store.OutboxItem) error {
	if it.Kind != OutboxDiscount {
		return nil
	}
	var p discountPayload
	if err := json.Unmarshal(it.Payload, &p); err != nil || p.RedemptionID == 0 {
		return nil
	}
	red, err := tx.Redemption(it.StoreID, p.RedemptionID)
	if err != nil {
		return err
	}
	if red.Status == store.RedemptionIssued {
		red.Status, red.DeliveredAt = store.RedemptionCreated, tx.Now()
		return tx.UpdateRedemption(red)
	}
	return nil
}

// deliver performs one outbox item through the connector.
func (e *Engine) deliver(ctx context.Context, st *Store, it store.OutboxItem) (string, error) {
	bad := func(err error) error {
		return fmt.Errorf("outbox %d: bad payload: %v: %w", it.ID, err, connectors.ErrRejected)
	}
	switch it.Kind {
	case OutboxNotify:
		return "", e.deliverNotify(ctx, it.Payload)
	case OutboxDiscount:
		dw, ok := st.Conn.(connectors.DiscountWriter)
		if !ok {
			return "", fmt.Errorf("%s cannot create discount codes: %w", st.Platform, connectors.ErrUnsupported)
		}
		var p discountPayload
		if err := json.Unmarshal(it.Payload, &p); err != nil {
			return "", bad(err)
		}
		return dw.EnsureDiscount(ctx, p.Discount)
	case OutboxFields:
		mw, ok := st.Conn.(connectors.MetafieldWriter)
		if !ok {
			return "", fmt.Errorf("%s cannot hold customer fields: %w", st.Platform, connectors.ErrUnsupported)
		}
		var p fieldsPayload
		if err := json.Unmarshal(it.Payload, &p); err != nil {
			return "", bad(err)
		}
		return "", mw.SetMetafields(ctx, it.CustomerID, p.Fields)
	case OutboxAddTags, OutboxRemoveTags:
		tw, ok := st.Conn.(connectors.TagWriter)
		if !ok {
			return "", fmt.Errorf("%s cannot hold customer tags: %w", st.Platform, connectors.ErrUnsupported)
		}
		var p tagsPayload
		if err := json.Unmarshal(it.Payload, &p); err != nil {
			return "", bad(err)
		}
		if it.Kind == OutboxAddTags {
			return "", tw.AddTags(ctx, it.CustomerID, p.Tags)
		}
		return "", tw.RemoveTags(ctx, it.CustomerID, p.Tags)
	}
	return "", fmt.Errorf("outbox %d: unknown kind %q: %w", it.ID, it.Kind, connectors.ErrUnsupported)
}

// DeadLetters returns a store's dead write-backs, newest first.
func (e *Engine) DeadLetters(ctx context.Context, storeID string) ([]report.DeadLetter, error) {
	out := []report.DeadLetter{}
	err := e.DB.View(ctx, func(tx *store.Tx) error {
		items, err := tx.OutboxItems(storeID, store.OutboxDead, 1000)
		for _, it := range items {
			out = append(out, report.DeadLetter{ID: it.ID, Store: it.StoreID, Kind: it.Kind, CustomerID: it.CustomerID,
				Attempts: it.Attempts, LastError: it.LastError, CreatedAt: it.CreatedAt})
		}
		return err
	})
	return out, err
}

// ErrPointsReturned refuses to retry a dead reward code whose points were
// given back when it died: delivering it now would give the code away.
var ErrPointsReturned = errors.New("the reward's points were given back when its code was refused; redeem the reward again instead")

// RetryDead puts dead write-backs back in the queue (all of the store's
// when ids is empty), audited under the staff member's name, and wakes the
// store's outbox. A reward code whose points were returned is not retried:
// named, it is refused with ErrPointsReturned; in a retry of all, it is
// left dead. It returns how many it retried.
func (e *Engine) RetryDead(ctx context.Context, storeID string, ids []int64, staff string) (int, error) {
	if strings.TrimSpace(staff) == "" {
		return 0, errors.New("retry: the staff member's name is required")
	}
	var retried []int64
	err := e.DB.Update(ctx, func(tx *store.Tx) error {
		retried = retried[:0]
		dead, err := tx.OutboxItems(storeID, store.OutboxDead, math.MaxInt32)
		if err != nil {
			return err
		}
		byID := make(map[int64]store.OutboxItem, len(dead))
		for _, it := range dead {
			byID[it.ID] = it
		}
		want, all := ids, len(ids) == 0
		if all {
			want = slices.Collect(maps.Keys(byID))
			slices.Sort(want)
		}
		for _, id := range want {
			it, ok := byID[id]
			if !ok {
				return fmt.Errorf("dead write-back %s/%d: %w", storeID, id, store.ErrNotFound)
			}
			returned, err := pointsReturned(tx, it)
			switch {
			case err != nil:
				return err
			case returned && all:
				continue
			case returned:
				return fmt.Errorf("write-back %d: %w", id, ErrPointsReturned)
			}
			if err := tx.RetryDead(storeID, id); err != nil {
				return err
			}
			retried = append(retried, id)
		}
		if len(retried) == 0 {
			return nil
		}
		_, err = tx.Audit(store.AuditEntry{Actor: staff, Action: "outbox_retry", StoreID: storeID,
			Detail: fmt.Sprintf("retried %d dead write-backs: %s", len(retried), strings.Trim(fmt.Sprint(retried), "[]"))})
		return err
	})
	if err != nil {
		return 0, err
	}
	if len(retried) > 0 {
		e.wake(storeID, wakeOutbox)
	}
	return len(retried), nil
}

// pointsReturned reports whether a write-back is the code of a redemption
// whose points were given back.
func pointsReturned(tx *store.Tx, it store.OutboxItem) (bool, error) {
	if it.Kind != OutboxDiscount {
		return false, nil
	}
	var p discountPayload
	if err := json.Unmarshal(it.Payload, &p); err != nil || p.RedemptionID == 0 {
		return false, nil
	}
	red, err := tx.Redemption(it.StoreID, p.RedemptionID)
	if err != nil {
		return false, err
	}
	return red.Status == store.RedemptionFailed, nil
}
