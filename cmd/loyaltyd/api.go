package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/loyaltyd/loyaltyd/admin"
	"github.com/loyaltyd/loyaltyd/config"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
)

// staffBackend gives the staff API the engine, and turns the engine's
// errors into the API's kinds of error.
type staffBackend struct{ e *sync.Engine }

// apiErr maps an engine error to what the API answers: not found, a
// refusal by the program's state, a field at fault, or (unchanged) an
// internal error.
func apiErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %v", admin.ErrNotFound, err)
	case errors.Is(err, loyalty.ErrUnknownReward):
		return &admin.FieldError{Field: "reward", Msg: err.Error()}
	case errors.Is(err, loyalty.ErrInsufficientPoints), errors.Is(err, loyalty.ErrNegativeBalance),
		errors.Is(err, loyalty.ErrNotMember), errors.Is(err, sync.ErrPointsReturned):
		return fmt.Errorf("%w: %v", admin.ErrConflict, err)
	}
	return err
}

func (b staffBackend) store(id string) (*sync.Store, error) {
	if st := b.e.Store(id); st != nil {
		return st, nil
	}
	return nil, fmt.Errorf("store %q: %w", id, admin.ErrNotFound)
}

func (b staffBackend) SearchCustomers(ctx context.Context, storeID, query string, limit int) ([]report.CustomerHit, error) {
	hits, err := b.e.SearchCustomers(ctx, storeID, query, limit)
	return hits, apiErr(err)
}

func (b staffBackend) Customer(ctx context.Context, storeID, customerID string) (*report.CustomerView, error) {
	v, err := b.e.Customer(ctx, storeID, customerID, "")
	return v, apiErr(err)
}

func (b staffBackend) Adjust(ctx context.Context, storeID, customerID string, points int64, reason, staff string) (*report.LedgerLine, error) {
	st, err := b.store(storeID)
	if err != nil {
		return nil, err
	}
	en, err := b.e.Adjust(ctx, st, customerID, points, reason, staff)
	if err != nil {
		return nil, apiErr(err)
	}
	return &report.LedgerLine{Time: en.At, Points: en.Points, Kind: en.Kind, Reason: en.Reason, AvailableAt: en.AvailableAt, Actor: en.Actor}, nil
}

func (b staffBackend) Redeem(ctx context.Context, storeID, customerID, rewardID, staff string) (*report.RewardLine, error) {
	st, err := b.store(storeID)
	if err != nil {
		return nil, err
	}
	r, err := b.e.Redeem(ctx, st, customerID, rewardID, staff)
	if err != nil {
		return nil, apiErr(err)
	}
	return &report.RewardLine{ID: r.ID, Reward: r.RewardID, Points: r.Points, Code: r.Code, Status: r.Status,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}, nil
}

func (b staffBackend) Status(ctx context.Context) ([]report.StoreReport, error) {
	return b.e.Report(ctx)
}

func (b staffBackend) DeadLetters(ctx context.Context, storeID string) ([]report.DeadLetter, error) {
	d, err := b.e.DeadLetters(ctx, storeID)
	return d, apiErr(err)
}

func (b staffBackend) RetryDead(ctx context.Context, storeID string, ids []int64, staff string) (int, error) {
	n, err := b.e.RetryDead(ctx, storeID, ids, staff)
	return n, apiErr(err)
}

// apiSimulator is the dashboard's simulator for the staff API, where the
// candidate is a request's body: a mistake in it names the key at fault
// (the dashboard's page shows the message only), or the body when the
// mistake is the document's as a whole.
type apiSimulator struct{ dashboardSimulator }

func (s apiSimulator) Simulate(ctx context.Context, storeID, name string, text []byte) (*report.Simulation, error) {
	candidate, err := config.ParseProgram(name, text, s.sent())
	if err != nil {
		return nil, programError(err)
	}
	if candidate.Currency != s.e.Program.Currency {
		return nil, &admin.FieldError{Field: "currency", Msg: fmt.Sprintf("currency %s differs from the store's program (%s): its orders would earn nothing",
			candidate.Currency, s.e.Program.Currency)}
	}
	return s.dashboardSimulator.Simulate(ctx, storeID, name, text)
}

// programError turns the mistakes of a candidate program into a field
// error: every mistake with its line, under the key path of the first.
func programError(err error) error {
	field := "body"
	if e, ok := errors.AsType[*config.Error](err); ok && e.Path != "" {
		field = e.Path
	}
	return &admin.FieldError{Field: field, Msg: err.Error()}
}

// mountStaff adds the staff API and the dashboard to mux when an admin
// token is configured; without one neither is served at all, and the log
// says why. It returns the dashboard, to be closed once the server has
// stopped, or nil.
func (m *Main) mountStaff(mux *http.ServeMux, a *app) *admin.Dashboard {
	token := a.cfg.AdminToken.Reveal()
	if token == "" {
		a.log.Warn("no admin_token configured: the staff API and the dashboard are not served")
		return nil
	}
	api := &admin.API{Backend: staffBackend{a.engine}, Program: &a.cfg.Program, Stores: storeRefs(a), Token: token, Now: m.Now, Log: a.log,
		Reports:   dashboardReports{a.engine},
		Simulator: apiSimulator{dashboardSimulator{e: a.engine, cfgFile: a.cfg.File, opts: config.Options{Platforms: connectors.Platforms(), LookupEnv: m.LookupEnv}}},
	}
	api.Register(mux)
	d := m.dashboard(a, token)
	d.Register(mux)
	return d
}
