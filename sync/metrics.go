package sync

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the engine's Prometheus collectors. A nil *Metrics counts
// nothing, so that tests and one-shot commands need none.
type Metrics struct {
	passes        *prometheus.CounterVec
	lastSuccess   *prometheus.GaugeVec
	cursorLag     *prometheus.GaugeVec
	records       *prometheus.CounterVec
	reconcile     *prometheus.CounterVec
	outbox        *prometheus.GaugeVec
	delivered     *prometheus.CounterVec
	deliveryFails *prometheus.CounterVec
	points        *prometheus.CounterVec
	webhooks      *prometheus.CounterVec
}

// NewMetrics registers the engine's collectors with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loyaltyd_sync_passes_total",
			Help: "Sync passes by store and result (ok, error)."}, []string{"store", "result"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "loyaltyd_sync_last_success_timestamp_seconds",
			Help: "When the store's last successful sync pass ended (Unix time)."}, []string{"store"}),
		cursorLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "loyaltyd_sync_cursor_lag_seconds",
			Help: "How far behind now the newest record applied is, by store and resource."}, []string{"store", "resource"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loyaltyd_records_synced_total",
			Help: "Orders and customers read from the platforms, by store and resource."}, []string{"store", "resource"}),
		reconcile: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loyaltyd_reconcile_found_total",
			Help: "Records reconciliation found missing or out of date: what webhooks and polling missed."}, []string{"store"}),
		outbox: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "loyaltyd_outbox_items",
			Help: "Write-backs by store and state (pending, dead)."}, []string{"store", "state"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loyaltyd_outbox_delivered_total",
			Help: "Write-backs delivered to the platforms."}, []string{"store"}),
		deliveryFails: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loyaltyd_outbox_failures_total",
			Help: "Failed write-back attempts, by store and outcome (retry, dead)."}, []string{"store", "outcome"}),
		points: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loyaltyd_points_total",
			Help: "Points written to the ledger, by store and direction (credited, debited)."}, []string{"store", "direction"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loyaltyd_webhooks_applied_total",
			Help: "Webhook deliveries applied from the inbox."}, []string{"store"}),
	}
	reg.MustRegister(m.passes, m.lastSuccess, m.cursorLag, m.records, m.reconcile, m.outbox, m.delivered,
		m.deliveryFails, m.points, m.webhooks)
	return m
}

// report adds what a pass or a batch did.
func (m *Metrics) report(r Report) {
	if m == nil {
		return
	}
	m.records.WithLabelValues(r.Store, ResourceOrders).Add(float64(r.OrdersRead))
	m.records.WithLabelValues(r.Store, ResourceCustomers).Add(float64(r.CustomersRead))
	m.points.WithLabelValues(r.Store, "credited").Add(float64(r.PointsCredited))
	m.points.WithLabelValues(r.Store, "debited").Add(float64(r.PointsDebited))
	m.delivered.WithLabelValues(r.Store).Add(float64(r.Delivered))
	m.deliveryFails.WithLabelValues(r.Store, "retry").Add(float64(r.DeliveryFailures))
	m.deliveryFails.WithLabelValues(r.Store, "dead").Add(float64(r.Dead))
	m.webhooks.WithLabelValues(r.Store).Add(float64(r.WebhooksApplied))
}
