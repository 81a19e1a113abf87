package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/loyaltyd/loyaltyd/admin"
	"github.com/loyaltyd/loyaltyd/sync"
)

// shutdownGrace bounds how long a stopping daemon waits for requests and
// passes in progress.
const shutdownGrace = 10 * time.Second

func runDaemon(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("run", "[-c FILE]",
		"Run the daemon: a sync pass for every store every poll_interval, write-backs delivered\nas they are queued, and GET /healthz and /readyz on the listen address. Stops cleanly\non SIGTERM or SIGINT.")
	c := m.commonFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	a, err := m.openApp(ctx, c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	for i, s := range a.cfg.Stores {
		a.engine.Stores[i].PollInterval = s.PollInterval.Duration
	}
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", a.cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           admin.Health(a.db, engineHealth{a.engine}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	a.log.WithField("listen", ln.Addr().String()).WithField("stores", len(a.engine.Stores)).Info("loyaltyd running")
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		a.engine.Run(runCtx)
	}()

	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	a.log.Info("stopping: finishing the work in progress")
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	stopRun()
	shutErr := srv.Shutdown(shutCtx)
	select {
	case <-runDone:
	case <-shutCtx.Done():
		return errors.New("stopping: sync did not stop within " + shutdownGrace.String())
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.log.Info("stopped")
	return shutErr
}

// engineHealth adapts the engine's status to what the health handler reads.
type engineHealth struct{ e *sync.Engine }

func (h engineHealth) StoreHealth() []admin.StoreHealth {
	var out []admin.StoreHealth
	for _, s := range h.e.Status() {
		out = append(out, admin.StoreHealth{Store: s.Store, Healthy: s.Healthy(), LastPass: s.LastPass,
			LastError: s.LastError, Failures: s.Failures, NextPass: s.NextPass})
	}
	return out
}
