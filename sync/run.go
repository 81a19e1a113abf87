package sync

import (
	"context"
	"sort"
	stdsync "sync"
	"time"
)

// StoreStatus is how a store's sync stands, for health checks and status.
type StoreStatus struct {
	Store    string    `json:"store"`
	Platform string    `json:"platform"`
	LastPass time.Time `json:"last_pass,omitzero"`
	// LastError is the error of the last pass; empty when it succeeded.
	LastError string `json:"last_error,omitempty"`
	// Failures counts the consecutive failed passes.
	Failures int `json:"failures"`
	// NextPass is when the next pass is due.
	NextPass time.Time `json:"next_pass,omitzero"`
	// Last is what the last successful pass did.
	Last Report `json:"last"`
}

// Healthy reports whether the last pass succeeded (or none ran yet).
func (s StoreStatus) Healthy() bool { return s.LastError == "" }

type statusBoard struct {
	mu     stdsync.Mutex
	stores map[string]StoreStatus
}

func (b *statusBoard) update(id string, fn func(*StoreStatus)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stores == nil {
		b.stores = map[string]StoreStatus{}
	}
	s := b.stores[id]
	fn(&s)
	b.stores[id] = s
}

// Status returns the sync status of every store, by store id.
func (e *Engine) Status() []StoreStatus {
	e.status.mu.Lock()
	defer e.status.mu.Unlock()
	out := make([]StoreStatus, 0, len(e.Stores))
	for _, st := range e.Stores {
		s := e.status.stores[st.ID]
		s.Store, s.Platform = st.ID, st.Platform
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Store < out[j].Store })
	return out
}

// Run keeps every store in sync until ctx ends: a pass per store every
// PollInterval, and after a failed pass a retry with exponential backoff
// (up to the poll interval). It returns nil when ctx ends, after every
// store's loop has stopped; a pass in progress stops at its next page and
// its committed pages stay.
func (e *Engine) Run(ctx context.Context) error {
	var wg stdsync.WaitGroup
	for _, st := range e.Stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.loop(ctx, st)
		}()
	}
	wg.Wait()
	return nil
}

func (e *Engine) loop(ctx context.Context, st *Store) {
	interval := st.PollInterval
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	failures := 0
	for {
		r, err := e.SyncStore(ctx, st)
		if ctx.Err() != nil {
			return
		}
		wait := interval
		if err != nil {
			failures++
			wait = min(time.Duration(1<<min(failures, 10))*5*time.Second, interval)
			e.storeLog(st).WithError(err).WithField("retry_in", wait.String()).Error("sync pass failed")
		} else {
			failures = 0
		}
		e.status.update(st.ID, func(s *StoreStatus) {
			s.LastPass = e.now()
			s.Failures = failures
			s.NextPass = s.LastPass.Add(wait)
			if err != nil {
				s.LastError = err.Error()
			} else {
				s.LastError = ""
				s.Last = r
			}
		})
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
