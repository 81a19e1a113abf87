// Package admin serves loyaltyd's HTTP surface for people and operators:
// the health checks and metrics, the staff API (api.go, described in
// openapi.yaml) and the customer-facing balance pages. It hands work over
// through the small interfaces it declares (Pinger, StatusSource,
// Backend, Customers), so it knows nothing of the database or the sync
// engine behind them.
package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Pinger checks that the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// StoreHealth is one store's sync health as /readyz reports it.
type StoreHealth struct {
	Store       string    `json:"store"`
	Healthy     bool      `json:"healthy"`
	Uninstalled bool      `json:"uninstalled,omitempty"`
	LastPass    time.Time `json:"last_pass,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	Failures    int       `json:"failures"`
	NextPass    time.Time `json:"next_pass,omitzero"`
}

// StatusSource reports every store's sync health.
type StatusSource interface {
	StoreHealth() []StoreHealth
}

// Health returns the handler of GET /healthz (the process answers) and
// GET /readyz (the database answers; each store's last pass and, when it
// failed, why and when the next attempt is). A store in backoff does not
// make the process unready: it is reported, with its reason, and retried.
func Health(db Pinger, status StatusSource) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		body := struct {
			Ready    bool          `json:"ready"`
			Database string        `json:"database"`
			Stores   []StoreHealth `json:"stores"`
		}{Ready: true, Database: "ok", Stores: status.StoreHealth()}
		if err := db.Ping(ctx); err != nil {
			body.Ready, body.Database = false, "unavailable"
		}
		code := http.StatusOK
		if !body.Ready {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, body)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// Metrics returns the handler of GET /metrics: the Prometheus text format
// of what g gathers.
func Metrics(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}
