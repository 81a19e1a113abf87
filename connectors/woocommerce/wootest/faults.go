package wootest

import "time"

// Fault is a failure the server produces instead of (or after) answering a
// request, as hosts, proxies and overloaded PHP workers do.
type Fault struct {
	// Status, if set, is answered at once, before any work: a 5xx with
	// an error body, or a 429.
	Status int
	// RetryAfter is the Retry-After header of the answer, in seconds or
	// as an HTTP date; empty sends none.
	RetryAfter string
	// Drop closes the connection before any work, with no answer.
	Drop bool
	// AfterWork does the request's work, then cuts the answer off
	// halfway through its body: the store committed, the client learns
	// nothing.
	AfterWork bool
	// Delay waits before anything else, for slow answers.
	Delay time.Duration
}

// InjectFault makes the next n requests of route fail with f, after any
// faults already queued for it. A zero Fault lets its request through, to
// leave gaps in a burst. RouteAny queues faults that every route takes
// from, after its own.
func (s *Server) InjectFault(route Route, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[route] = append(s.faults[route], f)
	}
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[Route][]Fault{}
}

// takeFault takes the next fault queued for route, if any.
func (s *Server) takeFault(route Route) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range []Route{route, RouteAny} {
		if q := s.faults[r]; len(q) > 0 {
			s.faults[r] = q[1:]
			return q[0], q[0] != Fault{}
		}
	}
	return Fault{}, false
}
