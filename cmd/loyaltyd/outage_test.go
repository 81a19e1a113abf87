package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/connectors/shopify/shopifytest"
	"github.com/loyaltyd/loyaltyd/connectors/woocommerce/wootest"
)

// The outage tests run the daemon (in this process, through Main.Run)
// against the fakes while the platforms misbehave: answering 503 for a
// while, throttling with 429 storms, cutting connections. The daemon must
// back off, say so in /readyz and `status`, and catch up without losing or
// doubling anything once the platforms are well.

// runMain runs the program in this process on the real clock.
func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, LookupEnv: func(string) (string, bool) { return "", false }, Now: time.Now}
	code = m.Run(context.Background(), args)
	return code, out.String(), errOut.String()
}

// liveDaemon is `loyaltyd run` in this process, on the harness's address.
type liveDaemon struct {
	cancel context.CancelFunc
	done   chan int
	log    *lockedBuffer
	code   int
	ended  bool
}

func startLiveDaemon(t *testing.T, cfg string) *liveDaemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &liveDaemon{cancel: cancel, done: make(chan int, 1), log: &lockedBuffer{}}
	go func() {
		m := &Main{Stdout: io.Discard, Stderr: d.log, LookupEnv: func(string) (string, bool) { return "", false }, Now: time.Now}
		d.done <- m.Run(ctx, []string{"run", "-c", cfg})
	}()
	t.Cleanup(func() { d.stop(t) })
	return d
}

// running fails the test if the daemon ended.
func (d *liveDaemon) running(t *testing.T) {
	t.Helper()
	select {
	case d.code = <-d.done:
		d.ended = true
		t.Fatalf("the daemon ended with exit %d:\n%s", d.code, tail(d.log.String(), 40))
	default:
	}
}

// stop stops the daemon as SIGTERM would and returns its exit code.
func (d *liveDaemon) stop(t *testing.T) int {
	t.Helper()
	if d.ended {
		return d.code
	}
	d.cancel()
	select {
	case d.code = <-d.done:
		d.ended = true
	case <-time.After(30 * time.Second):
		t.Fatalf("the daemon did not stop within 30s:\n%s", tail(d.log.String(), 40))
	}
	return d.code
}

// outage describes one way a platform misbehaves.
type outage struct {
	// shopify and woo are extra settings of the stores.
	shopify, woo []string
	// begin injects the faults: before the daemon starts or, when midway
	// is set, a moment after, while it backfills.
	begin  func(t *testing.T, h *harness)
	midway bool
	// during checks what the daemon reports while they last; it returns
	// when the outage may end.
	during func(t *testing.T, h *harness, d *liveDaemon, mutate func())
	// check runs after recovery, to show the faults were met.
	check func(t *testing.T, h *harness)
}

// runOutage starts the fakes, injects the outage, runs the daemon through
// it while the stores take orders and send webhooks, ends the outage, and
// checks that everything arrived exactly once.
func runOutage(t *testing.T, o outage) {
	t.Helper()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	h := newHarness(t, harnessOptions{seed: seed, customers: 24, shopifySettings: o.shopify, wooSettings: o.woo})
	ctx := context.Background()
	var began time.Time
	if !o.midway {
		began = time.Now()
		o.begin(t, h)
	}
	d := startLiveDaemon(t, h.cfg)
	waitFor(t, 2*time.Minute, "the daemon answers /readyz", func() []string {
		d.running(t)
		if _, _, ok := h.getReadyz(t); !ok {
			return []string{"no answer"}
		}
		return nil
	})
	mutate := func() {
		h.mutate(ctx)
		time.Sleep(time.Duration(5+h.rng.IntN(20)) * time.Millisecond)
	}
	if o.midway {
		for range 1 + h.rng.IntN(10) {
			mutate()
		}
		began = time.Now()
		o.begin(t, h)
	}
	for range 20 {
		mutate()
	}
	o.during(t, h, d, mutate)
	t.Logf("the outage lasted %s", time.Since(began).Round(time.Millisecond))
	began = time.Now()
	h.shop.ClearFaults()
	h.woo.ClearFaults()
	for range 20 {
		mutate()
	}
	h.releaseHeld(ctx, len(h.held))

	waitFor(t, 4*time.Minute, "the daemon catches up after the outage", func() []string {
		d.running(t)
		why := h.caughtUp(t)
		r, status, ok := h.getReadyz(t)
		switch {
		case !ok:
			why = append(why, "/readyz does not answer")
		case status != http.StatusOK || !r.Ready:
			why = append(why, fmt.Sprintf("/readyz answers %d, ready %v", status, r.Ready))
		}
		for _, s := range r.Stores {
			if !s.Healthy {
				why = append(why, fmt.Sprintf("%s unhealthy: %s (%d failures)", s.Store, s.LastError, s.Failures))
			}
		}
		return why
	})
	t.Logf("caught up %s after the outage", time.Since(began).Round(time.Millisecond))
	if code := d.stop(t); code != 0 {
		t.Errorf("the daemon exited %d on stop, want 0:\n%s", code, tail(d.log.String(), 30))
	}
	if code, out, errOut := runMain(t, "rebuild", "--check", "-c", h.cfg); code != 0 {
		t.Errorf("rebuild --check after the outage: exit %d\n%s%s", code, out, errOut)
	}
	h.checkWebhooksAccepted(t)
	states := h.verify(t)
	if o.check != nil {
		o.check(t, h)
	}
	for _, st := range h.stores {
		s := states[st.id]
		t.Logf("%s: %d orders, %d ledger entries, %d redemptions, write-backs %v, webhooks %v",
			st.id, len(s.orders), len(s.entries), len(s.redemptions), s.outbox, s.inbox.ByStatus)
	}
	if t.Failed() {
		t.Logf("daemon log:\n%s", tail(d.log.String(), 60))
	}
}

// quickRetries make a call give up fast, so that an outage fails passes
// (and shows in /readyz) within the test's patience.
var (
	shopifyQuickRetries = []string{"max_retries: 2", "retry_wait: 10ms", "retry_wait_max: 50ms"}
	wooQuickRetries     = []string{"retries: 2", "retry_wait_max: 50ms"}
)

// pollBackoff is how long the daemon waits after a failed pass of a store
// polled every 10s (the shortest interval): its interval.
const pollBackoff = 10 * time.Second

// backoffWindow is how long TestOutage503 watches the backoff being kept.
const backoffWindow = 12 * time.Second

// TestOutage503 has both platforms answer 503 to everything for a while,
// from a moment after the daemon started (its backfill, read in small
// pages, is cut short somewhere): every pass fails, /readyz reports each
// store unhealthy with the reason and the number of failures while the
// process stays ready, the passes keep to their backoff while webhooks ask
// for polls, `status --json` shows the error, webhooks are still taken;
// once the platforms answer again the daemon resumes from its saved
// cursors and catches up without loss.
func TestOutage503(t *testing.T) {
	if testing.Short() {
		t.Skip("an outage test waits for the daemon's backoff")
	}
	t.Parallel()
	sentBefore := 0
	runOutage(t, outage{
		shopify: append([]string{"page_size: 5"}, shopifyQuickRetries...),
		woo:     append([]string{"page_size: 5"}, wooQuickRetries...),
		midway:  true,
		begin: func(t *testing.T, h *harness) {
			sentBefore = h.sent
			h.shop.InjectFault(shopifytest.OpAny, 1_000_000, shopifytest.Fault{Status: http.StatusServiceUnavailable})
			h.woo.InjectFault(wootest.RouteAny, 1_000_000, wootest.Fault{Status: http.StatusServiceUnavailable})
		},
		during: func(t *testing.T, h *harness, d *liveDaemon, mutate func()) {
			waitFor(t, 3*time.Minute, "/readyz reports both stores failing with 503", func() []string {
				d.running(t)
				mutate()
				r, status, ok := h.getReadyz(t)
				if !ok {
					return []string{"/readyz does not answer"}
				}
				var why []string
				if status != http.StatusOK || !r.Ready {
					why = append(why, fmt.Sprintf("/readyz answers %d, ready %v: a store in backoff must not make the process unready", status, r.Ready))
				}
				failing, retried := 0, 0
				for _, s := range r.Stores {
					if !s.Healthy && s.Failures >= 1 && strings.Contains(s.LastError, "503") && !s.NextPass.IsZero() {
						failing++
					} else {
						why = append(why, fmt.Sprintf("%s: healthy %v, %d failures, last error %q, next pass %v", s.Store, s.Healthy, s.Failures, s.LastError, s.NextPass))
					}
					if s.Failures >= 2 {
						retried++
					}
				}
				if failing != 2 {
					why = append(why, fmt.Sprintf("%d of 2 stores reported failing", failing))
				}
				// The outage lasts until a store's pass was retried after
				// its backoff and failed again.
				if retried == 0 {
					why = append(why, "no store failed a second pass yet")
				}
				return why
			})
			// The daemon backs off: refund notices keep coming (each one
			// asks for a poll, the order not being readable now), yet a
			// failing store's passes keep to their backoff.
			failures := func() map[string]int {
				r, _, _ := h.getReadyz(t)
				m := map[string]int{}
				for _, s := range r.Stores {
					m[s.Store] = s.Failures
				}
				return m
			}
			before, from := failures(), time.Now()
			for time.Since(from) < backoffWindow {
				h.change(context.Background(), h.stores[0], "partial")
				time.Sleep(200 * time.Millisecond)
			}
			after, window := failures(), time.Since(from)
			// A pass failing at the window's start and one at each backoff
			// after it.
			most := 2 + int(window/pollBackoff)
			if n := after[shopStore] - before[shopStore]; n > most {
				t.Errorf("%s: %d passes failed in %s while refund notices came in: the backoff (%s after a failure) was not kept, want at most %d",
					shopStore, n, window.Round(time.Second), pollBackoff, most)
			}
			metrics := h.getText(t, "/metrics")
			for _, id := range []string{shopStore, cornerStore} {
				if want := fmt.Sprintf(`loyaltyd_sync_passes_total{result="error",store=%q}`, id); !strings.Contains(metrics, want) {
					t.Errorf("/metrics during the outage lacks %s", want)
				}
			}
			code, out, errOut := runMain(t, "status", "--json", "-c", h.cfg)
			if code != 0 {
				t.Fatalf("status --json during the outage: exit %d: %s", code, errOut)
			}
			var reports []struct {
				Store     string `json:"store"`
				LastError string `json:"last_error"`
				Failures  int    `json:"failures"`
			}
			if err := json.Unmarshal([]byte(out), &reports); err != nil {
				t.Fatalf("status --json: %v\n%s", err, out)
			}
			if len(reports) != 2 {
				t.Errorf("status --json reports %d stores, want 2:\n%s", len(reports), out)
			}
			for _, r := range reports {
				if !strings.Contains(r.LastError, "503") || r.Failures < 1 {
					t.Errorf("status --json during the outage: store %s: last_error %q, failures %d; want the 503 and a count", r.Store, r.LastError, r.Failures)
				}
			}
			if h.sent == sentBefore {
				t.Errorf("no webhook was accepted during the outage: the inbox does not depend on the platform")
			}
		},
	})
}

// TestOutage429Storm throttles both platforms: two of every three calls
// answer 429 with a Retry-After, for a few hundred calls, and now and then
// one asks for longer than the WooCommerce connector waits in a call
// (retry_wait_max), so that the throttling reaches the engine's backoff.
// Nothing may be lost or done twice, and no write-back may go to the dead
// letters.
func TestOutage429Storm(t *testing.T) {
	if testing.Short() {
		t.Skip("an outage test waits for the daemon's backoff")
	}
	t.Parallel()
	const bursts = 60
	runOutage(t, outage{
		woo: []string{"retry_wait_max: 1s"},
		begin: func(t *testing.T, h *harness) {
			for i := range bursts {
				h.shop.InjectFault(shopifytest.OpAny, 2, shopifytest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
				h.shop.InjectFault(shopifytest.OpAny, 1, shopifytest.Fault{}) // a gap: the call goes through
				wait := "0.05"
				if i%20 == 19 {
					wait = "2"
				}
				h.woo.InjectFault(wootest.RouteAny, 2, wootest.Fault{Status: http.StatusTooManyRequests, RetryAfter: wait})
				h.woo.InjectFault(wootest.RouteAny, 1, wootest.Fault{})
			}
		},
		during: func(t *testing.T, h *harness, d *liveDaemon, mutate func()) {
			waitFor(t, 3*time.Minute, "the storm is over (every 429 was answered)", func() []string {
				d.running(t)
				mutate()
				var why []string
				if n := h.shop.PendingFaults(shopifytest.OpAny); n > 0 {
					why = append(why, fmt.Sprintf("shopify: %d faults to go", n))
				}
				if n := wooStatuses(h.woo, http.StatusTooManyRequests); n < 2*bursts {
					why = append(why, fmt.Sprintf("woocommerce: %d of %d 429s answered", n, 2*bursts))
				}
				return why
			})
		},
	})
}

// TestOutageConnectionsCut drops connections before an answer and cuts
// answers off halfway after the platform did the work, on reads and on
// writes (price rules, discount codes, tags, coupons, customer fields):
// the writes' retries must find what the lost answers made, so that no
// code is created twice.
func TestOutageConnectionsCut(t *testing.T) {
	if testing.Short() {
		t.Skip("an outage test waits for the daemon's backoff")
	}
	t.Parallel()
	const drops = 10
	runOutage(t, outage{
		// Retries as many as by default, with short waits.
		shopify: []string{"retry_wait: 10ms", "retry_wait_max: 200ms"},
		woo:     []string{"retry_wait_max: 200ms"},
		begin: func(t *testing.T, h *harness) {
			for _, op := range []shopifytest.Op{shopifytest.OpCreatePriceRule, shopifytest.OpCreateDiscountCode, shopifytest.OpTagsAdd,
				shopifytest.OpMetafieldsSet, shopifytest.OpOrders, shopifytest.OpCustomers} {
				h.shop.InjectFault(op, 3, shopifytest.Fault{AfterWrite: true})
			}
			for _, r := range []wootest.Route{wootest.RouteCreateCoupon, wootest.RouteUpdateCustomer, wootest.RouteListOrders} {
				h.woo.InjectFault(r, 3, wootest.Fault{AfterWork: true})
			}
			for range drops {
				h.shop.InjectFault(shopifytest.OpAny, 1, shopifytest.Fault{Drop: true})
				h.shop.InjectFault(shopifytest.OpAny, 2, shopifytest.Fault{})
				h.woo.InjectFault(wootest.RouteAny, 1, wootest.Fault{Drop: true})
				h.woo.InjectFault(wootest.RouteAny, 1, wootest.Fault{})
			}
		},
		during: func(t *testing.T, h *harness, d *liveDaemon, mutate func()) {
			waitFor(t, 3*time.Minute, "every Shopify fault was met", func() []string {
				d.running(t)
				mutate()
				var why []string
				for _, op := range []shopifytest.Op{shopifytest.OpCreatePriceRule, shopifytest.OpCreateDiscountCode, shopifytest.OpTagsAdd,
					shopifytest.OpMetafieldsSet, shopifytest.OpOrders, shopifytest.OpCustomers, shopifytest.OpAny} {
					if n := h.shop.PendingFaults(op); n > 0 {
						why = append(why, fmt.Sprintf("shopify %s: %d faults to go", op, n))
					}
				}
				if n := wooStatuses(h.woo, 0); n < drops {
					why = append(why, fmt.Sprintf("woocommerce: %d of %d connections dropped", n, drops))
				}
				return why
			})
		},
		check: func(t *testing.T, h *harness) {
			// The WooCommerce faults of a route are met in order: with more
			// coupons and customer updates than faults, all were met.
			if n := len(h.woo.Coupons()); n <= 3 {
				t.Errorf("woocommerce: %d coupons: the cut coupon creations were not all met", n)
			}
		},
	})
}

// wooStatuses counts the requests the WooCommerce fake answered with a
// status (0: dropped).
func wooStatuses(s *wootest.Server, status int) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Status == status {
			n++
		}
	}
	return n
}
