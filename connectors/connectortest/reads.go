package connectortest

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

// stream describes one of the connector's two read methods to the read
// subtests, which are the same for orders and customers.
type stream[T any] struct {
	noun string // "order"
	op   Op
	read func(ctx context.Context, c connectors.Connector, cur connectors.Cursor) (connectors.Page[T], error)
	// seed creates one record per update time and returns them by id.
	seed  func(t *testing.T, f Fake, at []time.Time) map[string]T
	key   func(T) (time.Time, string)
	raw   func(T) []byte
	check func(t *testing.T, got, want T)
}

func orderStream() stream[commerce.Order] {
	return stream[commerce.Order]{
		noun: "order",
		op:   OpOrders,
		read: func(ctx context.Context, c connectors.Connector, cur connectors.Cursor) (connectors.Page[commerce.Order], error) {
			return c.Orders(ctx, cur)
		},
		seed: func(t *testing.T, f Fake, at []time.Time) map[string]commerce.Order {
			t.Helper()
			f.AddCustomers(t, buyer(0), buyer(1), buyer(2))
			os := make([]commerce.Order, len(at))
			byID := make(map[string]commerce.Order, len(at))
			for i, ts := range at {
				os[i] = newOrder(i, ts)
				byID[os[i].ID] = os[i]
			}
			f.AddOrders(t, shuffled(os)...)
			return byID
		},
		key:   func(o commerce.Order) (time.Time, string) { return o.UpdatedAt, o.ID },
		raw:   func(o commerce.Order) []byte { return o.Raw },
		check: checkOrder,
	}
}

func customerStream() stream[commerce.Customer] {
	return stream[commerce.Customer]{
		noun: "customer",
		op:   OpCustomers,
		read: func(ctx context.Context, c connectors.Connector, cur connectors.Cursor) (connectors.Page[commerce.Customer], error) {
			return c.Customers(ctx, cur)
		},
		seed: func(t *testing.T, f Fake, at []time.Time) map[string]commerce.Customer {
			t.Helper()
			cs := make([]commerce.Customer, len(at))
			byID := make(map[string]commerce.Customer, len(at))
			for i, ts := range at {
				cs[i] = newCustomer(i, ts)
				byID[cs[i].ID] = cs[i]
			}
			f.AddCustomers(t, shuffled(cs)...)
			return byID
		},
		key:   func(c commerce.Customer) (time.Time, string) { return c.UpdatedAt, c.ID },
		raw:   func(c commerce.Customer) []byte { return c.Raw },
		check: checkCustomer,
	}
}

func streamTests[T any](s *suite, st stream[T]) []test {
	r := reads[T]{suite: s, stream: st}
	return []test{
		{"FullRead", r.fullRead},
		{"Ordering", r.ordering},
		{"SameUpdatedAt", r.sameUpdatedAt},
		{"Resume", r.resume},
		{"CursorJSON", r.cursorJSON},
		{"Window", r.window},
		{"FarFuture", r.farFuture},
		{"BadToken", r.badToken},
		{"Empty", r.empty},
		{"Cancelled", r.cancelled},
		{"TransientFaults", r.transientFaults},
		{"RateLimited", r.rateLimited},
		{"Unauthorized", r.unauthorized},
	}
}

type reads[T any] struct {
	*suite
	stream[T]
}

// fullRead: a read of the whole history returns every record at least once,
// with the fields it was seeded with, over several pages.
func (r reads[T]) fullRead(t *testing.T) {
	f, c := r.open(t)
	n := 3*r.pageSize + 2
	want := r.seed(t, f, spread(n))
	pages := r.readAll(t, c, connectors.Cursor{}, n)
	if len(pages) < 4 {
		t.Errorf("%d %ss came in %d pages, want at least 4 pages of at most %d: is Options.PageSize the connector's page size on this fake?",
			n, r.noun, len(pages), r.pageSize)
	}
	got := r.items(pages)
	for _, it := range got {
		_, id := r.key(it)
		w, ok := want[id]
		if !ok {
			t.Errorf("read %s %s, which was never seeded", r.noun, id)
			continue
		}
		r.check(t, it, w)
		if len(r.raw(it)) == 0 {
			t.Errorf("%s %s: Raw is empty, want the platform's payload", r.noun, id)
		}
	}
	r.covers(t, "a full read", r.ids(got), keysOf(want))
}

// ordering: within a page records come in ascending (UpdatedAt, ID) order;
// across pages the update time never goes back, though a connector may
// return again records that share the previous page's last update time.
func (r reads[T]) ordering(t *testing.T) {
	f, c := r.open(t)
	n := 3*r.pageSize + 2
	r.seed(t, f, spread(n))
	var last time.Time
	for p, pg := range r.readAll(t, c, connectors.Cursor{}, n) {
		for i, it := range pg.Items {
			at, id := r.key(it)
			if i > 0 {
				pat, pid := r.key(pg.Items[i-1])
				if at.Before(pat) || at.Equal(pat) && id < pid {
					t.Errorf("page %d: %s %s (updated %s) follows %s (updated %s), want ascending (UpdatedAt, ID)",
						p, r.noun, id, at.Format(time.RFC3339), pid, pat.Format(time.RFC3339))
				}
			} else if at.Before(last) {
				t.Errorf("page %d starts with %s %s updated %s, before the previous page's last update time %s",
					p, r.noun, id, at.Format(time.RFC3339), last.Format(time.RFC3339))
			}
			last = at
		}
	}
}

// sameUpdatedAt: records that share one update time across page boundaries
// are all read; a cursor that remembers only the time loses them.
func (r reads[T]) sameUpdatedAt(t *testing.T) {
	f, c := r.open(t)
	n := 2*r.pageSize + 3
	want := r.seed(t, f, same(n, base))
	pages := r.readAll(t, c, connectors.Cursor{Since: base}, n)
	got := r.ids(r.items(pages))
	r.covers(t, "a read of records sharing one update time", got, keysOf(want))
	r.within(t, "a read of records sharing one update time", got, keysOf(want))
}

// resume: reading from any cursor a page returned, on a new connector as
// after a restart, yields with the pages before it every record of the
// window, and nothing outside it; and it continues where the page ended,
// repeating at most records that share the page's last update time.
func (r reads[T]) resume(t *testing.T) {
	f, c := r.open(t)
	n := 4*r.pageSize + 9
	at := spread(n)
	all := r.seed(t, f, at)
	window := connectors.Cursor{Since: at[3], Until: at[n-1]}
	in := r.inWindow(all, window)
	pages := r.readAll(t, c, window, n)
	if len(pages) < 3 {
		t.Fatalf("the window's %d %ss came in %d pages; resumption needs at least 3", len(in), r.noun, len(pages))
	}
	for i := 1; i < len(pages); i++ {
		cur := pages[i-1].Next
		before := r.items(pages[:i])
		rest := r.items(r.readAll(t, f.Connector(t), cur, n))
		what := "a read resumed from the cursor after page " + strconv.Itoa(i)
		r.within(t, what, r.ids(rest), in)
		r.covers(t, what+", with the pages before it,", union(r.ids(before), r.ids(rest)), in)
		var reached time.Time
		for _, it := range before {
			if at, _ := r.key(it); at.After(reached) {
				reached = at
			}
		}
		for _, it := range rest {
			if at, id := r.key(it); at.Before(reached) {
				t.Errorf("%s returned %s %s updated %s, before %s where the pages before it ended: the cursor does not carry the position",
					what, r.noun, id, at.Format(time.RFC3339), reached.Format(time.RFC3339))
				break
			}
		}
	}
}

// cursorJSON: a cursor saved as JSON and handed to a new connector
// continues the read.
func (r reads[T]) cursorJSON(t *testing.T) {
	f, _ := r.open(t)
	n := 3*r.pageSize + 2
	want := r.seed(t, f, spread(n))
	cur := connectors.Cursor{Since: base.Add(-time.Hour), Until: base.AddDate(1, 0, 0)}
	var got []T
	for p := 0; ; p++ {
		if p > maxPages(n) {
			t.Fatalf("no Done after %d pages", p)
		}
		pg, err := r.read(t.Context(), f.Connector(t), cur)
		if err != nil {
			t.Fatalf("page %d from a cursor restored from JSON: %v", p, err)
		}
		got = append(got, pg.Items...)
		if pg.Done {
			break
		}
		b, err := json.Marshal(pg.Next)
		if err != nil {
			t.Fatalf("page %d: encode cursor %+v: %v", p, pg.Next, err)
		}
		var back connectors.Cursor
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("page %d: decode cursor %s: %v", p, b, err)
		}
		if !back.Since.Equal(pg.Next.Since) || !back.Until.Equal(pg.Next.Until) || back.Token != pg.Next.Token {
			t.Errorf("page %d: cursor %+v came back from JSON as %+v", p, pg.Next, back)
		}
		cur = back
	}
	r.covers(t, "a read through cursors restored from JSON", r.ids(got), keysOf(want))
}

// window: Since is inclusive and Until exclusive, with records exactly on
// both bounds.
func (r reads[T]) window(t *testing.T) {
	f, c := r.open(t)
	n := 3*r.pageSize + 12
	at := spread(n)
	all := r.seed(t, f, at)
	window := connectors.Cursor{Since: at[3], Until: at[n-1]}
	in := r.inWindow(all, window)
	got := r.items(r.readAll(t, c, window, n))
	for _, it := range got {
		ts, id := r.key(it)
		if !in[id] {
			t.Errorf("read %s %s updated %s, outside the window [%s, %s)", r.noun, id,
				ts.Format(time.RFC3339), window.Since.Format(time.RFC3339), window.Until.Format(time.RFC3339))
		}
	}
	r.covers(t, "a read of the window ["+window.Since.Format(time.RFC3339)+", "+window.Until.Format(time.RFC3339)+")", r.ids(got), in)
}

// farFuture: a window after every record is done at once and empty.
func (r reads[T]) farFuture(t *testing.T) {
	f, c := r.open(t)
	r.seed(t, f, spread(r.pageSize+1))
	cur := connectors.Cursor{Since: base.AddDate(100, 0, 0)}
	pg, err := r.read(t.Context(), c, cur)
	if err != nil {
		t.Fatalf("read from %+v: %v", cur, err)
	}
	if len(pg.Items) != 0 || !pg.Done {
		t.Errorf("read from %+v: got %d %ss, Done=%t; want none, Done", cur, len(pg.Items), r.noun, pg.Done)
	}
}

// badToken: a token the connector never issued is refused with
// ErrBadCursor, so that sync can start the window again instead of being
// stuck on a cursor for ever; the same window without the token reads.
func (r reads[T]) badToken(t *testing.T) {
	f, c := r.open(t)
	r.seed(t, f, spread(r.pageSize+1))
	for _, tok := range []string{"not-a-token", "%%%", "eyJ4IjoxfQ"} {
		cur := connectors.Cursor{Since: base, Token: tok}
		pg, err := r.read(t.Context(), c, cur)
		if !errors.Is(err, connectors.ErrBadCursor) {
			t.Errorf("read with token %q: %v, %d %ss; want an error wrapping ErrBadCursor", tok, err, len(pg.Items), r.noun)
		}
	}
	if _, err := r.read(t.Context(), c, connectors.Cursor{Since: base}); err != nil {
		t.Errorf("read without a token after bad ones: %v", err)
	}
}

// empty: a platform without records is done at once and empty.
func (r reads[T]) empty(t *testing.T) {
	_, c := r.open(t)
	for _, cur := range []connectors.Cursor{{}, {Since: base, Until: base.Add(time.Hour)}} {
		pg, err := r.read(t.Context(), c, cur)
		if err != nil {
			t.Fatalf("read from %+v: %v", cur, err)
		}
		if len(pg.Items) != 0 || !pg.Done {
			t.Errorf("read from %+v on an empty platform: got %d %ss, Done=%t; want none, Done", cur, len(pg.Items), r.noun, pg.Done)
		}
	}
}

// cancelled: a read under an ended context fails with ctx.Err().
func (r reads[T]) cancelled(t *testing.T) {
	f, c := r.open(t)
	r.seed(t, f, spread(r.pageSize+1))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	pg, err := r.read(ctx, c, connectors.Cursor{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("read with a cancelled context: got error %v, want one wrapping context.Canceled", err)
	}
	checkNothing(t, pg, err)
}

// transientFaults: through a storm of passing failures, refused requests
// and answers cut off on the way alike, re-reading from the same cursor
// loses nothing, an error never comes with part of a page, and
// no failure is reported as one retrying cannot fix.
func (r reads[T]) transientFaults(t *testing.T) {
	f, c := r.open(t)
	inj := capability[FaultInjector](t, f)
	n := 3*r.pageSize + 2
	want := r.seed(t, f, spread(n))
	var got []T
	cur := connectors.Cursor{}
	for p := 0; ; p++ {
		if p > maxPages(n) {
			t.Fatalf("no Done after %d pages", p)
		}
		if p%2 == 0 {
			inj.FailNext(t, r.op, 2)
		} else {
			inj.FailAfterWrite(t, r.op, 1)
		}
		var pg connectors.Page[T]
		for attempt := 1; ; attempt++ {
			var err error
			pg, err = r.read(t.Context(), c, cur)
			if err == nil {
				break
			}
			checkNothing(t, pg, err)
			checkTransient(t, err)
			if attempt == maxAttempts {
				t.Fatalf("page %d still fails after %d attempts: %v", p, attempt, err)
			}
		}
		got = append(got, pg.Items...)
		if pg.Done {
			break
		}
		cur = pg.Next
	}
	r.covers(t, "a read through transient failures", r.ids(got), keysOf(want))
}

// rateLimited: when the platform keeps asking to slow down, the read fails
// with a *connectors.RateLimitError and nothing of the page.
func (r reads[T]) rateLimited(t *testing.T) {
	f, c := r.open(t)
	inj := capability[FaultInjector](t, f)
	r.seed(t, f, spread(r.pageSize+1))
	inj.RateLimitNext(t, r.op, 1000)
	pg, err := r.read(t.Context(), c, connectors.Cursor{})
	if _, ok := errors.AsType[*connectors.RateLimitError](err); !ok {
		t.Errorf("read while rate limited: got error %v, want one wrapping *connectors.RateLimitError", err)
	}
	checkNothing(t, pg, err)
}

// unauthorized: refused credentials fail the read with ErrUnauthorized.
func (r reads[T]) unauthorized(t *testing.T) {
	f, c := r.open(t)
	rev := capability[AccessRevoker](t, f)
	r.seed(t, f, spread(r.pageSize+1))
	rev.RevokeAccess(t)
	pg, err := r.read(t.Context(), c, connectors.Cursor{})
	if !errors.Is(err, connectors.ErrUnauthorized) {
		t.Errorf("read with revoked access: got error %v, want one wrapping connectors.ErrUnauthorized", err)
	}
	checkNothing(t, pg, err)
}

const maxAttempts = 10

// maxPages bounds a read of n records: one record a page, each returned
// twice, and some empty pages is more than any honest connector needs, so a
// connector that never says Done fails instead of hanging.
func maxPages(n int) int { return 2*n + 10 }

// readAll reads from cur until Done and returns the pages.
func (r reads[T]) readAll(t *testing.T, c connectors.Connector, cur connectors.Cursor, n int) []connectors.Page[T] {
	t.Helper()
	var pages []connectors.Page[T]
	for {
		if len(pages) > maxPages(n) {
			t.Fatalf("no Done after %d pages reading %d %ss from %+v", len(pages), n, r.noun, cur)
		}
		pg, err := r.read(t.Context(), c, cur)
		if err != nil {
			t.Fatalf("read page %d from %+v: %v", len(pages), cur, err)
		}
		pages = append(pages, pg)
		if pg.Done {
			return pages
		}
		cur = pg.Next
	}
}

func (r reads[T]) items(pages []connectors.Page[T]) []T {
	var out []T
	for _, p := range pages {
		out = append(out, p.Items...)
	}
	return out
}

func (r reads[T]) ids(items []T) map[string]bool {
	out := make(map[string]bool, len(items))
	for _, it := range items {
		_, id := r.key(it)
		out[id] = true
	}
	return out
}

// inWindow returns the ids of the records whose update time falls in the
// cursor's window.
func (r reads[T]) inWindow(all map[string]T, c connectors.Cursor) map[string]bool {
	in := map[string]bool{}
	for id, rec := range all {
		at, _ := r.key(rec)
		if !at.Before(c.Since) && (c.Until.IsZero() || at.Before(c.Until)) {
			in[id] = true
		}
	}
	return in
}

// covers reports every id of want that got lacks.
func (r reads[T]) covers(t *testing.T, what string, got, want map[string]bool) {
	t.Helper()
	for _, id := range slices.Sorted(maps.Keys(want)) {
		if !got[id] {
			t.Errorf("%s never returned %s %s", what, r.noun, id)
		}
	}
}

// within reports every id of got outside want.
func (r reads[T]) within(t *testing.T, what string, got, want map[string]bool) {
	t.Helper()
	for _, id := range slices.Sorted(maps.Keys(got)) {
		if !want[id] {
			t.Errorf("%s returned %s %s, outside the window", what, r.noun, id)
		}
	}
}

// checkNothing reports a failed read that returned part of a page: sync
// would apply it and lose the rest.
func checkNothing[T any](t *testing.T, pg connectors.Page[T], err error) {
	t.Helper()
	if err != nil && (len(pg.Items) > 0 || pg.Done || pg.Next != (connectors.Cursor{})) {
		t.Errorf("a read failing with %q returned %d items, Done=%t, Next=%+v; want nothing of the page",
			err, len(pg.Items), pg.Done, pg.Next)
	}
}

// checkTransient reports a passing failure that the connector reported as
// one retrying cannot fix: sync and the outbox would give up.
func checkTransient(t *testing.T, err error) {
	t.Helper()
	for _, permanent := range []error{
		connectors.ErrNotFound, connectors.ErrRejected, connectors.ErrUnsupported,
		connectors.ErrUnauthorized, connectors.ErrBadSignature, connectors.ErrBadPayload,
	} {
		if errors.Is(err, permanent) {
			t.Errorf("a transient failure came back as %q, which wraps %q: callers would give up instead of retrying", err, permanent)
		}
	}
}

// keysOf returns the set of m's keys.
func keysOf[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// union returns the ids in a or b.
func union(a, b map[string]bool) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	maps.Copy(out, a)
	maps.Copy(out, b)
	return out
}
