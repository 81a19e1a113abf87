package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/loyaltyd/loyaltyd/store"
)

// Events the program sends to notify endpoints.
const (
	EventTierChanged      = "tier_changed"
	EventRewardIssued     = "reward_issued"
	EventPointsExpiring   = "points_expiring"
	EventReferralRewarded = "referral_rewarded"
)

// OutboxNotify is the outbox kind of an event for a notify endpoint.
const OutboxNotify = "notify"

// NotifyEndpoint is where events go.
type NotifyEndpoint struct {
	URL string
	// Events are the events it takes; empty means all.
	Events []string
}

// Notifier delivers events to endpoints.
type Notifier interface {
	// Notify POSTs body to the endpoint at url, signed. It returns an
	// error wrapping connectors.ErrRejected when the endpoint refused the
	// event for good (a 4xx other than 408 and 429).
	Notify(ctx context.Context, url, event, deliveryID string, body []byte) error
}

// Event is what a notify endpoint receives.
type Event struct {
	// ID identifies the event: a redelivery carries the same id.
	ID         string         `json:"id"`
	Event      string         `json:"event"`
	Store      string         `json:"store"`
	CustomerID string         `json:"customer_id"`
	Email      string         `json:"email,omitempty"`
	At         time.Time      `json:"at"`
	Data       map[string]any `json:"data"`
}

// notifyPayload is the outbox payload of an event for one endpoint.
type notifyPayload struct {
	URL   string `json:"url"`
	Event Event  `json:"event"`
}

// emit queues an event for every endpoint that takes it, once per key.
func (e *Engine) emit(tx *store.Tx, b *batch, customerID, event, key string, data map[string]any) error {
	var targets []NotifyEndpoint
	for _, ep := range e.Notify {
		if len(ep.Events) == 0 || slices.Contains(ep.Events, event) {
			targets = append(targets, ep)
		}
	}
	if len(targets) == 0 {
		return nil
	}
	ev := Event{ID: fmt.Sprintf("%s:%s:%s", b.st.ID, event, key), Event: event, Store: b.st.ID, CustomerID: customerID, At: tx.Now(), Data: data}
	if c, err := tx.Customer(b.st.ID, customerID); err == nil {
		ev.Email = c.Email
	}
	for _, ep := range targets {
		payload, err := json.Marshal(notifyPayload{URL: ep.URL, Event: ev})
		if err != nil {
			return err
		}
		queued, err := tx.Enqueue(store.OutboxItem{StoreID: b.st.ID, Kind: OutboxNotify, CustomerID: customerID,
			Key: "notify:" + ep.URL + ":" + ev.ID, Payload: payload})
		if err != nil {
			return err
		}
		if queued {
			b.r.Queued++
		}
	}
	return nil
}

// deliverNotify sends a queued event.
func (e *Engine) deliverNotify(ctx context.Context, payload []byte) error {
	if e.Notifier == nil {
		return fmt.Errorf("no notifier configured for notify events")
	}
	var p notifyPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return err
	}
	body, err := json.Marshal(p.Event)
	if err != nil {
		return err
	}
	return e.Notifier.Notify(ctx, p.URL, p.Event.Event, p.Event.ID, body)
}
