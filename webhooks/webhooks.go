// Package webhooks receives the platforms' webhooks: it caps the body,
// has the store's connector verify the signature over the raw bytes,
// hands the delivery to a Receiver that stores it durably, and only then
// answers the platform. Applying a delivery happens later, elsewhere: a
// webhook is a hint, polling is the truth.
package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

// Delivery is a webhook whose signature was verified.
type Delivery struct {
	StoreID string
	// Event is the decoded event; its Kind is empty when Rejected is set.
	Event commerce.Event
	// Body is the raw body as received.
	Body []byte
	// Rejected says why a correctly signed body could not be decoded; the
	// delivery is kept for inspection and not applied.
	Rejected string
}

// Receiver takes verified deliveries.
type Receiver interface {
	// Receive stores a delivery durably before the platform is answered,
	// and reports whether the same delivery (by its dedupe key) was stored
	// before. An error makes the handler answer 503, so that platforms that
	// retry deliver again.
	Receive(ctx context.Context, d Delivery) (duplicate bool, err error)
}

// Handler serves POST /webhooks/{store}.
type Handler struct {
	// Sources are the stores' webhook sources, by store id.
	Sources map[string]connectors.WebhookSource
	// Receiver stores deliveries.
	Receiver Receiver
	// MaxBody caps a delivery's size; default 1 MiB.
	MaxBody int64
	// Log receives a line per refused delivery; nil discards.
	Log logrus.FieldLogger
	// Metrics counts deliveries; nil counts nothing.
	Metrics *Metrics
}

// Results of a delivery, as counted and logged.
const (
	ResultAccepted     = "accepted"
	ResultDuplicate    = "duplicate"
	ResultPing         = "ping"
	ResultUnknownTopic = "unknown_topic"
	ResultBadSignature = "bad_signature"
	ResultBadPayload   = "bad_payload"
	ResultTooLarge     = "too_large"
	ResultUnknownStore = "unknown_store"
	ResultError        = "error"
)

// statusOf is the one table of the handler's answers.
var statusOf = map[string]int{
	ResultAccepted:     http.StatusOK,
	ResultDuplicate:    http.StatusOK,
	ResultPing:         http.StatusOK,
	ResultUnknownTopic: http.StatusOK,
	ResultBadSignature: http.StatusUnauthorized,
	ResultBadPayload:   http.StatusBadRequest,
	ResultTooLarge:     http.StatusRequestEntityTooLarge,
	ResultUnknownStore: http.StatusNotFound,
	ResultError:        http.StatusServiceUnavailable,
}

// Register adds the webhook route to a mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST /webhooks/{store}", h)
}

func (h *Handler) log() logrus.FieldLogger {
	if h.Log != nil {
		return h.Log
	}
	l := logrus.New()
	l.Out = io.Discard
	return l
}

// ServeHTTP handles one delivery.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	storeID := r.PathValue("store")
	result, reason := h.handle(w, r, storeID)
	code := statusOf[result]
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, http.StatusText(code)+"\n")
	h.Metrics.observe(storeID, result, time.Since(start))
	if code != http.StatusOK {
		// The reason names what failed, never the body: it can hold
		// personal data.
		h.log().WithFields(logrus.Fields{"store": storeID, "result": result, "status": code}).WithField("reason", reason).Warn("webhook refused")
	}
}

func (h *Handler) handle(w http.ResponseWriter, r *http.Request, storeID string) (result, reason string) {
	src, ok := h.Sources[storeID]
	if !ok {
		return ResultUnknownStore, "no store with that id takes webhooks"
	}
	max := h.MaxBody
	if max <= 0 {
		max = 1 << 20
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return ResultTooLarge, "body over the limit"
	case err != nil:
		return ResultBadPayload, "reading the body: " + err.Error()
	}
	ev, err := src.DecodeWebhook(r.Header, body)
	d := Delivery{StoreID: storeID, Event: ev, Body: body}
	switch {
	case errors.Is(err, connectors.ErrBadSignature):
		return ResultBadSignature, err.Error()
	case errors.Is(err, connectors.ErrBadPayload):
		// Signed by the platform but unreadable: keep it for inspection
		// under a key of its body, and tell the platform it was bad.
		sum := sha256.Sum256(body)
		d.Event = commerce.Event{Kind: commerce.EventUnknown, DedupeKey: "rejected:" + hex.EncodeToString(sum[:16])}
		d.Rejected = err.Error()
		if _, rerr := h.Receiver.Receive(r.Context(), d); rerr != nil {
			return ResultError, "storing a rejected delivery: " + rerr.Error()
		}
		return ResultBadPayload, err.Error()
	case err != nil:
		return ResultBadPayload, err.Error()
	}
	if ev.Kind == commerce.EventPing {
		return ResultPing, ""
	}
	dup, err := h.Receiver.Receive(r.Context(), d)
	switch {
	case err != nil:
		return ResultError, "storing the delivery: " + err.Error()
	case dup:
		return ResultDuplicate, ""
	case ev.Kind == commerce.EventUnknown:
		return ResultUnknownTopic, ""
	}
	return ResultAccepted, ""
}

// Metrics are the handler's Prometheus collectors.
type Metrics struct {
	deliveries *prometheus.CounterVec
	latency    *prometheus.HistogramVec
}

// NewMetrics registers the handler's collectors with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loyaltyd_webhooks_total",
			Help: "Webhook deliveries by store and result (accepted, duplicate, ping, unknown_topic, bad_signature, bad_payload, too_large, unknown_store, error).",
		}, []string{"store", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "loyaltyd_webhook_seconds",
			Help:    "Time from a delivery's arrival to its answer, durably stored included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"store"}),
	}
	reg.MustRegister(m.deliveries, m.latency)
	return m
}

func (m *Metrics) observe(store, result string, d time.Duration) {
	if m == nil {
		return
	}
	if result == ResultUnknownStore {
		store = "" // do not let strangers create label values
	}
	m.deliveries.WithLabelValues(store, result).Inc()
	m.latency.WithLabelValues(store).Observe(d.Seconds())
}

// Counter returns the delivery counter of a store and result, for tests
// and status pages.
func (m *Metrics) Counter(store, result string) prometheus.Counter {
	return m.deliveries.WithLabelValues(store, result)
}
