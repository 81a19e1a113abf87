package sync_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/memory"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
)

// day returns noon of day n of the scenario (day 1 is 2026-03-01).
func day(n int) time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, n-1) }

type clock struct {
	mu stdsync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// harness is a store on the memory platform, synced into a fresh database.
type harness struct {
	t        *testing.T
	clock    *clock
	platform *memory.Platform
	db       *store.DB
	engine   *sync.Engine
	st       *sync.Store
}

func newHarness(t *testing.T, p *loyalty.Program, pageSize int) *harness {
	t.Helper()
	h := harnessAt(t, day(1), nil, pageSize)
	if p == nil {
		p = program("1", 14, 50)
	}
	h.engine = h.newEngine(p)
	if err := h.engine.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h
}

// harnessAt builds a harness's platform, database and store, with its
// clock at start; the platform reads platformNow (nil: the harness's
// clock). The caller makes the engine.
func harnessAt(t *testing.T, start time.Time, platformNow func() time.Time, pageSize int) *harness {
	t.Helper()
	h := &harness{t: t, clock: &clock{t: start}}
	if platformNow == nil {
		platformNow = h.clock.Now
	}
	h.platform = memory.NewPlatform(memory.PlatformOptions{Now: platformNow, PageSize: pageSize, WebhookSecret: "hush"})
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	memory.Attach(name, h.platform)
	t.Cleanup(func() { memory.Detach(name) })
	conn, err := connectors.Open(context.Background(), "memory", connectors.Options{StoreID: name, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.db, err = store.Open(context.Background(), filepath.Join(t.TempDir(), "loyaltyd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h.db.Now = h.clock.Now
	t.Cleanup(func() { h.db.Close() })
	h.st = &sync.Store{ID: "shop", Platform: "memory", Conn: conn, Overlap: 10 * time.Minute}
	return h
}

// newEngine returns an engine on the harness's database and store, as a
// restarted process would build it.
func (h *harness) newEngine(p *loyalty.Program) *sync.Engine {
	return &sync.Engine{DB: h.db, Program: p, Stores: []*sync.Store{h.st}, Now: h.clock.Now,
		Rand: rand.New(rand.NewPCG(1, 2)), SafetyLag: time.Second}
}

func program(ppu string, pendingDays int, bonus int64) *loyalty.Program {
	p := &loyalty.Program{Currency: "USD", Launch: loyalty.DateOf(2026, 1, 1),
		Earn: loyalty.Earn{PointsPerUnit: loyalty.MustDecimal(ppu), PendingDays: pendingDays, FirstOrderBonus: bonus}}
	p.SetDefaults()
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return p
}

func usd(s string) commerce.Money { return commerce.MustParseMoney(s, "USD") }

func (h *harness) customer(id, email string, tags ...string) {
	h.platform.PutCustomer(commerce.Customer{ID: id, Email: email, FirstName: strings.ToUpper(id[:1]) + id[1:],
		Tags: tags, CreatedAt: day(1), UpdatedAt: day(1)})
}

// order places an order of lines ("60.00-6.00" is a 60.00 line with 6.00
// off) for a customer, processed at a time.
func (h *harness) order(id, customer string, at time.Time, state commerce.FinancialState, lines ...string) commerce.Order {
	o := commerce.Order{ID: id, Number: "#" + id, CustomerID: customer, Currency: "USD", State: state,
		CreatedAt: at, ProcessedAt: at, UpdatedAt: at, Shipping: usd("5.00")}
	total := usd("5.00")
	for i, l := range lines {
		sub, disc, _ := strings.Cut(l, "-")
		li := commerce.LineItem{ID: fmt.Sprintf("%s-%d", id, i+1), Quantity: 1, Subtotal: usd(sub)}
		if disc != "" {
			li.Discount = usd(disc)
		}
		o.Lines = append(o.Lines, li)
		total = total.Add(li.Net())
	}
	o.Total = total
	h.platform.PutOrder(o)
	return o
}

// pass runs one sync pass at the harness's time and checks that the
// ledger agrees with a rebuild from the stored orders.
func (h *harness) pass() sync.Report {
	h.t.Helper()
	reports, err := h.engine.SyncOnce(context.Background())
	if err != nil {
		h.t.Fatalf("sync: %v", err)
	}
	h.checkRebuild()
	return reports[0]
}

func (h *harness) checkRebuild() {
	h.t.Helper()
	diffs, err := h.engine.Check(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	for _, d := range diffs {
		h.t.Errorf("rebuild disagrees: %s", d)
	}
}

// ledger returns a customer's entries as "kind points order" lines.
func (h *harness) ledger(customer string) []string {
	h.t.Helper()
	var out []string
	h.db.View(context.Background(), func(tx *store.Tx) error {
		es, err := tx.Ledger("shop", customer)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, e := range es {
			out = append(out, fmt.Sprintf("%s %+d %s", e.Kind, e.Points, e.OrderID))
		}
		return nil
	})
	return out
}

func (h *harness) balance(customer string) loyalty.Balance {
	h.t.Helper()
	v, err := h.engine.Customer(context.Background(), "shop", customer, "")
	if err != nil {
		h.t.Fatal(err)
	}
	return v.Points
}

func (h *harness) wantLedger(customer string, want ...string) {
	h.t.Helper()
	got := h.ledger(customer)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		h.t.Errorf("ledger of %s:\n  got  %q\n  want %q", customer, got, want)
	}
}

func (h *harness) wantBalance(customer string, want loyalty.Balance) {
	h.t.Helper()
	if got := h.balance(customer); got != want {
		h.t.Errorf("balance of %s on %s: %+v, want %+v", customer, h.clock.Now().Format("Jan 2"), got, want)
	}
}

// TestOlderVersionNeverReplacesNewer delivers a refunded order, then the
// paid version of it late: the stored order and the ledger stay refunded.
func TestOlderVersionNeverReplacesNewer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, 0)
	h.customer("ann", "ann@example.com")
	paid := h.order("1", "ann", day(1), commerce.StatePaid, "50.00")
	refunded := paid
	refunded.State = commerce.StateRefunded
	refunded.UpdatedAt = day(2)
	refunded.Refunds = []commerce.Refund{{ID: "r", CreatedAt: day(2), Amount: usd("55.00")}}
	ctx := context.Background()
	for _, o := range []commerce.Order{paid, refunded, paid} {
		if _, err := h.engine.Apply(ctx, h.st, nil, []commerce.Order{o}); err != nil {
			t.Fatal(err)
		}
	}
	h.wantLedger("ann", "earn +50 1", "bonus +50 1", "adjust_refund -50 1", "adjust_refund -50 1")
	h.checkRebuild()
}

// TestInterruptedPassResumes cuts a pass short after one page, restarts
// the engine, and finishes: every order is credited exactly once.
func TestInterruptedPassResumes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, program("1", 0, 0), 2)
	h.customer("ann", "ann@example.com")
	for i := range 7 {
		h.order(fmt.Sprint(100+i), "ann", day(1).Add(time.Duration(i)*time.Hour), commerce.StatePaid, "10.00")
	}
	h.clock.Set(day(2))
	h.engine.PageLimit = 1
	if _, err := h.engine.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(h.ledger("ann")); n != 2 {
		t.Fatalf("after one page: %d entries, want 2", n)
	}
	// A new order arrives while the pass is interrupted.
	h.order("200", "ann", day(2).Add(-time.Hour), commerce.StatePaid, "10.00")
	h.engine = h.newEngine(h.engine.Program)
	h.clock.Set(day(3))
	h.pass()
	h.pass()
	if got := h.balance("ann"); got.Available != 80 {
		t.Errorf("available = %d, want 80 (8 orders × 10)", got.Available)
	}
	if n := len(h.ledger("ann")); n != 8 {
		t.Errorf("%d entries, want 8", n)
	}
}

// TestOverlapCatchesLateVisibleUpdates: an order whose update time is
// before the last pass's high-water mark (written on the platform late)
// is caught by the next pass's overlap.
func TestOverlapCatchesLateVisibleUpdates(t *testing.T) {
	t.Parallel()
	h := newHarness(t, program("1", 0, 0), 0)
	h.customer("ann", "ann@example.com")
	h.order("1", "ann", day(1), commerce.StatePaid, "10.00")
	h.clock.Set(day(1).Add(time.Hour))
	h.pass()
	// Committed on the platform at 11:55 (five minutes before the order
	// that set the high-water mark), visible only now.
	h.order("2", "ann", day(1).Add(-5*time.Minute), commerce.StatePaid, "20.00")
	h.clock.Set(day(1).Add(2 * time.Hour))
	h.pass()
	h.wantLedger("ann", "earn +10 1", "earn +20 2")
}

func TestOutboxRetriesThenDeadLetters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, 0)
	h.customer("ann", "ann@example.com")
	h.platform.FailNext(memory.OpAddTags, 1, memory.ErrInjected)
	h.clock.Set(day(2))
	if r := h.pass(); r.DeliveryFailures != 1 {
		t.Fatalf("first pass: %d failures; want 1", r.DeliveryFailures)
	}
	if tags := h.platform.Tags("ann"); len(tags) != 0 {
		t.Fatalf("tags after a failed delivery: %v", tags)
	}
	// Not due yet: the retry waits for its backoff.
	if h.pass(); len(h.platform.Tags("ann")) != 0 {
		t.Errorf("retried before its backoff")
	}
	h.clock.Set(day(2).Add(time.Hour))
	if r := h.pass(); r.Delivered != 1 {
		t.Errorf("after the backoff: %d delivered, want 1", r.Delivered)
	}

	// A refusal is final at once: the item goes to the dead letters.
	h.clock.Set(day(3))
	h.platform.PutCustomer(commerce.Customer{ID: "ben", Email: "ben@example.com", CreatedAt: day(3), UpdatedAt: day(3)})
	h.platform.FailNext(memory.OpAddTags, 1, fmt.Errorf("customer locked: %w", connectors.ErrRejected))
	h.clock.Set(day(3).Add(time.Minute))
	if r := h.pass(); r.Dead != 1 {
		t.Errorf("refused item: %d dead, want 1", r.Dead)
	}
	var dead []store.OutboxItem
	h.db.View(context.Background(), func(tx *store.Tx) (err error) {
		dead, err = tx.OutboxItems("shop", store.OutboxDead, 10)
		return err
	})
	if len(dead) != 1 || dead[0].CustomerID != "ben" || !strings.Contains(dead[0].LastError, "customer locked") {
		t.Errorf("dead letters = %+v", dead)
	}
}

func TestCustomerLookup(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, 0)
	h.customer("ann", "Ann+shop@Example.com")
	h.customer("ann2", "ann@example.com")
	h.customer("ben", "ben@example.com")
	h.clock.Set(day(2))
	h.pass()
	ctx := context.Background()
	if v, err := h.engine.Customer(ctx, "shop", "", "BEN@example.com"); err != nil || v.CustomerID != "ben" {
		t.Errorf("by e-mail: %+v, %v", v, err)
	}
	if _, err := h.engine.Customer(ctx, "shop", "", "ann@example.com"); !errors.Is(err, sync.ErrAmbiguous) {
		t.Errorf("ambiguous e-mail: %v, want ErrAmbiguous", err)
	}
	if _, err := h.engine.Customer(ctx, "shop", "", "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown e-mail: %v, want ErrNotFound", err)
	}
}

// TestUnusableSavedCursorRestartsItsWindow: a saved continuation the
// connector no longer understands (after an upgrade) does not stop the
// store for ever: the window is read again from its start.
func TestUnusableSavedCursorRestartsItsWindow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, program("1", 0, 0), 0)
	h.customer("ann", "ann@example.com")
	h.order("1", "ann", day(1), commerce.StatePaid, "10.00")
	h.clock.Set(day(2))
	err := h.db.Update(context.Background(), func(tx *store.Tx) error {
		return tx.SetCursor("shop", sync.ResourceOrders, store.Cursor{Since: day(1).Add(-time.Hour), Until: day(2),
			Token: "from-an-older-version", PassStartedAt: day(2)})
	})
	if err != nil {
		t.Fatal(err)
	}
	h.pass()
	h.wantLedger("ann", "earn +10 1")
}
