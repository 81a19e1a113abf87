package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	stdsync "sync"
	"time"

	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/store"
)

// SimulateOptions tune a simulation.
type SimulateOptions struct {
	// Query is the reports' period and options; the replays run up to
	// its end (by default now).
	Query report.Query
	// Dir is where the scratch databases are made (in a new folder that
	// is removed afterwards); default the system's temporary folder.
	Dir string
	// Launch, when set, replays both programs as if they had launched
	// then (to see the whole history under a program not launched yet);
	// by default each program's launch, or the store's first sync.
	Launch time.Time
	// Step is the longest stretch of time applied in one transaction;
	// default an hour (see ReplayOptions).
	Step time.Duration
}

// Simulate replays a store's stored order history under the current
// program and under a candidate, and returns the same report for both
// side by side, with the members whose tier would differ.
//
// It writes nothing to the engine's database: each program replays into
// its own scratch SQLite database (a temporary file, removed afterwards),
// through the engine's own code (Replay: Apply, Settle, Daily) on a store
// without a connector, so that nothing is delivered to the platform. The
// two replays run at once, each reading the history in short read
// transactions.
func (e *Engine) Simulate(ctx context.Context, storeID string, candidate *loyalty.Program, o SimulateOptions) (*report.Simulation, error) {
	q, err := o.Query.Resolve(e.now())
	if err != nil {
		return nil, err
	}
	var info *store.StoreInfo
	if err := e.DB.View(ctx, func(tx *store.Tx) (err error) { info, err = tx.Store(storeID); return }); err != nil {
		return nil, err
	}
	hist, err := e.storedHistory(ctx, storeID)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(o.Dir, "loyaltyd-simulate-")
	if err != nil {
		return nil, fmt.Errorf("simulate: scratch folder: %w", err)
	}
	defer os.RemoveAll(dir)

	start := info.CreatedAt
	if !o.Launch.IsZero() {
		start = o.Launch
	}
	sides := []struct {
		program *loyalty.Program
		res     *replayResult
		err     error
	}{{program: e.Program}, {program: candidate}}
	var wg stdsync.WaitGroup
	for i := range sides {
		s := &sides[i]
		p := s.program
		if !o.Launch.IsZero() {
			// The imposed launch replaces the program's own.
			cp := *p
			cp.Launch = loyalty.Date{}
			p = &cp
		}
		path := filepath.Join(dir, fmt.Sprintf("replay-%d.db", i))
		wg.Go(func() {
			s.res, s.err = e.replayScratch(ctx, path, storeID, info.Platform, p, start, hist, q, o.Step)
		})
	}
	wg.Wait()
	if err := errors.Join(sides[0].err, sides[1].err); err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	cur, cand := sides[0].res, sides[1].res
	sim := &report.Simulation{Store: storeID, Launch: cur.launch, Period: cur.report.Period, Replayed: cur.stats,
		Current: cur.report, Candidate: cand.report}
	sim.TierMoves, sim.TierFlows = report.Moves(cur.tiers, cand.tiers)
	return sim, nil
}

// replayResult is what one side of a simulation found.
type replayResult struct {
	report *report.Report
	tiers  map[string]string
	stats  report.ReplayStats
	launch time.Time
}

// replayScratch replays the history under a program into a new database
// at path, starting the store's clock at start, and reports on it.
func (e *Engine) replayScratch(ctx context.Context, path, storeID, platform string, p *loyalty.Program, start time.Time,
	h History, q report.Query, step time.Duration) (*replayResult, error) {
	db, err := store.Open(ctx, path, store.Options{ReadConns: 2})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	clock := &replayClock{t: minTime(start, q.To)}
	db.Now = clock.Now
	st := &Store{ID: storeID, Platform: platform}
	se := &Engine{DB: db, Program: p, Stores: []*Store{st}, Now: clock.Now}
	if err := se.Prepare(ctx); err != nil {
		return nil, err
	}
	res := &replayResult{launch: st.Launch(), tiers: map[string]string{}}
	if res.stats, err = se.Replay(ctx, st, h, ReplayOptions{Until: q.To, SetNow: clock.Set, Step: step}); err != nil {
		return nil, err
	}
	clock.Set(q.To)
	if res.report, err = se.ProgramReport(ctx, storeID, q); err != nil {
		return nil, err
	}
	err = db.View(ctx, func(tx *store.Tx) error {
		return tx.ForEachMember(storeID, func(m *store.Member) error {
			if m.Cohort == store.CohortMember {
				res.tiers[m.CustomerID] = m.Tier
			}
			return nil
		})
	})
	return res, err
}

// replayClock is the time of a replay.
type replayClock struct {
	mu stdsync.Mutex
	t  time.Time
}

func (c *replayClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *replayClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
