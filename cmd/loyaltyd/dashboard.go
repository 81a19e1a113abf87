package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/loyaltyd/loyaltyd/admin"
	"github.com/loyaltyd/loyaltyd/config"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/sync"
)

// dashboardReports gives the dashboard the engine's reports.
type dashboardReports struct{ e *sync.Engine }

func (d dashboardReports) served(storeID string) error {
	if d.e.Store(storeID) == nil {
		return fmt.Errorf("store %q: %w", storeID, admin.ErrNotFound)
	}
	return nil
}

func (d dashboardReports) Report(ctx context.Context, storeID string, q report.Query) (*report.Report, error) {
	if err := d.served(storeID); err != nil {
		return nil, err
	}
	r, err := d.e.ProgramReport(ctx, storeID, q)
	return r, apiErr(err)
}

func (d dashboardReports) Points(ctx context.Context, storeID string, bounds []time.Time) ([]report.SpanPoints, error) {
	if err := d.served(storeID); err != nil {
		return nil, err
	}
	pts, err := d.e.PointsBetween(ctx, storeID, bounds)
	return pts, apiErr(err)
}

func (d dashboardReports) Activity(ctx context.Context, storeID string) (*report.Activity, error) {
	if err := d.served(storeID); err != nil {
		return nil, err
	}
	act, err := d.e.Activity(ctx, storeID)
	return act, apiErr(err)
}

// dashboardSimulator replays a store's history under a candidate program
// from the dashboard: a file next to the configuration, or a program
// pasted or uploaded.
type dashboardSimulator struct {
	e *sync.Engine
	// cfgFile is the configuration file; the other YAML files of its
	// folder are the candidates offered.
	cfgFile string
	opts    config.Options
}

func (s dashboardSimulator) Candidates() []string {
	entries, err := os.ReadDir(filepath.Dir(s.cfgFile))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.Type().IsRegular() && (ext == ".yaml" || ext == ".yml") && name != filepath.Base(s.cfgFile) {
			out = append(out, name)
		}
	}
	return out
}

// sent returns the options for a program sent to the server, which must
// not read the server's environment.
func (s dashboardSimulator) sent() config.Options {
	o := s.opts
	o.NoEnv = true
	return o
}

func (s dashboardSimulator) Simulate(ctx context.Context, storeID, name string, text []byte) (*report.Simulation, error) {
	if s.e.Store(storeID) == nil {
		return nil, fmt.Errorf("store %q: %w", storeID, admin.ErrNotFound)
	}
	var (
		candidate = s.e.Program
		err       error
	)
	switch {
	case text != nil:
		candidate, err = config.ParseProgram(name, text, s.sent())
	case slices.Contains(s.Candidates(), name):
		candidate, err = config.LoadProgram(filepath.Join(filepath.Dir(s.cfgFile), name), s.opts)
	default:
		return nil, &admin.FieldError{Field: "program", Msg: fmt.Sprintf("no candidate file %q", name)}
	}
	if err != nil {
		return nil, &admin.FieldError{Field: "program", Msg: err.Error()}
	}
	if candidate.Currency != s.e.Program.Currency {
		return nil, &admin.FieldError{Field: "program", Msg: fmt.Sprintf("currency %s differs from the store's program (%s): its orders would earn nothing",
			candidate.Currency, s.e.Program.Currency)}
	}
	sim, err := s.e.Simulate(ctx, storeID, candidate, sync.SimulateOptions{})
	if err != nil {
		return nil, apiErr(err)
	}
	sim.CandidateFile = name
	return sim, nil
}

// dashboard returns the staff dashboard of an app, behind token.
func (m *Main) dashboard(a *app, token string) *admin.Dashboard {
	d := &admin.Dashboard{
		Backend:   staffBackend{a.engine},
		Reports:   dashboardReports{a.engine},
		Simulator: dashboardSimulator{e: a.engine, cfgFile: a.cfg.File, opts: config.Options{Platforms: connectors.Platforms(), LookupEnv: m.LookupEnv}},
		Program:   &a.cfg.Program,
		Stores:    storeRefs(a),
		Token:     token,
		Language:  a.cfg.Dashboard.Language,
		Title:     programName(a.cfg),
		Now:       m.Now,
		Log:       a.log,
	}
	return d
}

func storeRefs(a *app) []admin.StoreRef {
	var out []admin.StoreRef
	for _, s := range a.cfg.Stores {
		out = append(out, admin.StoreRef{ID: s.ID, Platform: s.Platform})
	}
	return out
}

// demoCandidate is a candidate program the demo writes next to its
// configuration, for `loyaltyd simulate` and the dashboard's simulation
// page: twice the points per dollar, an easier gold tier, dearer rewards.
const demoCandidate = `# A candidate program for the demo stores: try it with
#   loyaltyd simulate -c loyaltyd.yaml --store demo --program candidate.yaml
# or on the dashboard's Simulation page.
program:
  currency: USD
  enrollment: open
  holdout_percent: 10
  earn: {points_per_unit: 2, pending_days: 14, first_order_bonus: 100}
  tiers:
    window_days: 365
    grace_days: 30
    levels:
      - {name: silver, min_spend: 250}
      - {name: gold, min_spend: 700, min_orders: 3, earn_factor: 1.5}
  rewards:
    - {id: five-off, name: "$$5 off", points: 900, type: fixed_amount, value: 5, expires_after_days: 90}
    - {id: free-shipping, points: 600, type: free_shipping, budget_value: 6}
    - {id: ten-percent, points: 2500, type: percentage, value: 10, min_order: 50}
  auto_redeem: {reward: five-off, monthly_budget: 250}
  referrals:
    referrer_points: 400
    friend_reward: {type: fixed_amount, value: 10, min_order: 40}
  expiry: {inactive_days: 365, warn_days: 30}
  tags: {prefix: "loyalty-"}
  point_value: 0.01
  margin_percent: 45
`

// serveDemo serves the staff API and the dashboard on loopback while the
// demo runs (on the configuration's address, or any free port), behind an
// admin token made for this run alone, and prints where. stop shuts them.
func serveDemo(m *Main, a *app) (stop func(), err error) {
	b := make([]byte, 12)
	rand.Read(b) // never fails (crypto/rand panics instead)
	token := hex.EncodeToString(b)
	a.cfg.AdminToken = config.Secret(token)
	mux := http.NewServeMux()
	health := admin.Health(a.db, engineHealth{a.engine})
	mux.Handle("GET /healthz", health)
	mux.Handle("GET /readyz", health)
	dash := m.mountStaff(mux, a)
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	fmt.Fprintf(m.Stdout, "\nDashboard: http://%s/ — token: %s\n", ln.Addr(), token)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
		dash.Close()
	}, nil
}
