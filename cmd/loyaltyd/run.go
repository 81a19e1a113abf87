package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/loyaltyd/loyaltyd/admin"
	"github.com/loyaltyd/loyaltyd/config"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
	"github.com/loyaltyd/loyaltyd/webhooks"
)

// shutdownGrace bounds how long a stopping daemon waits for requests and
// work in progress.
const shutdownGrace = 10 * time.Second

func runDaemon(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("run", "[-c FILE]",
		"Run the daemon: webhooks on POST /webhooks/{store}, a sync pass for every store every\npoll_interval, write-backs delivered as they are queued, reconciliation every\nreconcile_interval, GET /healthz, /readyz and /metrics on the listen address, the\nstaff API under /api/ and the dashboard at / when admin_token is set. Stops cleanly on\nSIGTERM or SIGINT.")
	c := m.commonFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	a, err := m.openApp(ctx, c, true)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			// Asked to stop while opening: nothing was started.
			return nil
		}
		return err
	}
	defer a.Close()
	for i, s := range a.cfg.Stores {
		a.engine.Stores[i].PollInterval = s.PollInterval.Duration
		a.engine.Stores[i].ReconcileInterval = s.ReconcileInterval.Duration
	}
	_, errs := a.checkStores(ctx)
	if ctx.Err() != nil {
		a.log.Info("stopped during start-up")
		return nil
	}
	if len(errs) > 0 {
		for _, err := range errs {
			a.log.WithError(err).Error("store check failed at start; its passes will retry with backoff")
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.engine.Metrics = sync.NewMetrics(reg)
	a.engine.Inbox = store.NewInboxWriter(a.db)

	mux := http.NewServeMux()
	health := admin.Health(a.db, engineHealth{a.engine})
	mux.Handle("GET /healthz", health)
	mux.Handle("GET /readyz", health)
	mux.Handle("GET /metrics", admin.Metrics(reg))
	wh := &webhooks.Handler{Sources: map[string]connectors.WebhookSource{}, Receiver: receiver{a.engine},
		Log: a.log, Metrics: webhooks.NewMetrics(reg)}
	for _, st := range a.engine.Stores {
		if src, ok := st.Conn.(connectors.WebhookSource); ok {
			wh.Sources[st.ID] = src
		}
	}
	wh.Register(mux)
	pub := &admin.Public{Customers: publicCustomers{a.engine}, Proxies: map[string]connectors.ProxyVerifier{},
		Links: a.links, ProgramName: programName(a.cfg), Now: m.Now, Log: a.log}
	for _, st := range a.engine.Stores {
		if v, ok := st.Conn.(connectors.ProxyVerifier); ok {
			pub.Proxies[st.ID] = v
		}
	}
	pub.Register(mux)
	if dash := m.mountStaff(mux, a); dash != nil {
		defer dash.Close()
	}

	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", a.cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	a.log.WithField("listen", ln.Addr().String()).WithField("stores", len(a.engine.Stores)).Info("loyaltyd running")
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		a.engine.Run(runCtx)
	}()
	subscribeDone := make(chan struct{})
	go func() {
		defer close(subscribeDone)
		m.subscribe(runCtx, a)
	}()

	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	a.log.Info("stopping: answering the requests in progress, then finishing the work under way")
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	// The listener stops first, so that every delivery already answered
	// is in the inbox before its writer stops.
	shutErr := srv.Shutdown(shutCtx)
	stopRun()
	for _, done := range []chan struct{}{runDone, subscribeDone} {
		select {
		case <-done:
		case <-shutCtx.Done():
			return errors.New("stopping: work did not stop within " + shutdownGrace.String())
		}
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.log.Info("stopped")
	return shutErr
}

// subscribe points each store's platform at loyaltyd's webhook endpoint,
// when a webhook_url is configured, at start and then hourly: platforms
// delete (Shopify) or disable (WooCommerce) subscriptions whose deliveries
// failed, and polling covers what was lost in between.
func (m *Main) subscribe(ctx context.Context, a *app) {
	for {
		for i, st := range a.engine.Stores {
			ws, ok := st.Conn.(connectors.WebhookSubscriber)
			if !ok || a.cfg.Stores[i].WebhookURL == "" {
				continue
			}
			rep, err := ws.EnsureWebhooks(ctx)
			log := a.log.WithField("store", st.ID).WithField("platform", st.Platform)
			switch {
			case err != nil && ctx.Err() == nil:
				log.WithError(err).Error("could not subscribe the platform's webhooks; polling goes on")
			case len(rep.Created)+len(rep.Reactivated) > 0:
				log.WithField("created", rep.Created).WithField("reactivated", rep.Reactivated).Warn("webhook subscriptions repaired")
			}
		}
		t := time.NewTimer(time.Hour)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// publicCustomers gives the customer-facing pages the engine's views.
type publicCustomers struct{ e *sync.Engine }

func (p publicCustomers) Customer(ctx context.Context, storeID, customerID string) (*report.CustomerView, error) {
	return p.e.Customer(ctx, storeID, customerID, "")
}

// programName titles customer pages: the program's name, or a plain one.
func programName(cfg *config.Config) string {
	if cfg.Program.Name != "" {
		return cfg.Program.Name
	}
	return "Loyalty program"
}

// receiver hands verified webhook deliveries to the engine's inbox.
type receiver struct{ e *sync.Engine }

func (r receiver) Receive(ctx context.Context, d webhooks.Delivery) (bool, error) {
	return r.e.Receive(ctx, d.StoreID, d.Event, d.Body, d.Rejected)
}

// engineHealth adapts the engine's status to what the health handler reads.
type engineHealth struct{ e *sync.Engine }

func (h engineHealth) StoreHealth() []admin.StoreHealth {
	var out []admin.StoreHealth
	for _, s := range h.e.Status() {
		out = append(out, admin.StoreHealth{Store: s.Store, Healthy: s.Healthy(), Uninstalled: s.Uninstalled,
			LastPass: s.LastPass, LastError: s.LastError, Failures: s.Failures, NextPass: s.NextPass})
	}
	return out
}
