package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/config"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/shopify/shopifytest"
	"github.com/loyaltyd/loyaltyd/connectors/woocommerce/wootest"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/synth"
)

// This file is the harness of the reliability tests (crash_test.go,
// outage_test.go): a fake Shopify store and a fake WooCommerce store with
// a synthetic history, a model of what each holds, live changes to their
// orders (new orders, payments, refunds, cancellations) with the webhooks
// the platforms would send, and the checks that compare loyaltyd's
// database with the platforms.

// platformLag is how far the fakes' clock runs behind the real one. The
// daemon reads each window up to 30 s (its safety lag) before the real
// time; with the platforms' records stamped two minutes earlier, a change
// made now is visible to the very next pass, so that the tests can wait
// for convergence instead of sleeping through the lag.
const platformLag = 2 * time.Minute

func platformNow() time.Time { return time.Now().Add(-platformLag).UTC() }

// shopTimeScale speeds the Shopify fake's rate limits up, so that
// write-backs of a few hundred calls do not wait on a 2-per-second bucket.
const shopTimeScale = 500

// Store ids in the generated configuration.
const (
	shopStore   = "shop"
	cornerStore = "corner"
	wooSecret   = "harness-webhook-secret"
)

// harnessOptions size the fake stores.
type harnessOptions struct {
	seed uint64
	// customers of the Shopify store; the WooCommerce store has half.
	customers int
	// shopifySettings and wooSettings are extra YAML lines for the
	// stores' entries (retry tuning), indented as store keys.
	shopifySettings, wooSettings []string
}

// harness is two fake platforms, their model, and the configuration that
// names them.
type harness struct {
	t      *testing.T
	dir    string
	cfg    string // configuration file
	db     string // database file
	listen string // the daemon's address
	prog   *loyalty.Program
	launch time.Time

	shop *shopifytest.Server
	woo  *wootest.Server
	// wooHooks are the WooCommerce subscriptions deliveries are built
	// from, by topic.
	wooHooks map[string]int64

	stores []*fakeStore
	rng    *rand.Rand
	client *http.Client
	// held are deliveries kept back, to be sent late and out of order.
	held []delivery
	// refused counts deliveries the daemon answered with a 4xx: a
	// correctly signed delivery must never be refused.
	refused []string
	// sent counts deliveries the daemon answered 200.
	sent int
}

// fakeStore is one platform's store as the test sees it: the current
// version of every order and customer it holds.
type fakeStore struct {
	id       string
	platform string
	orders   map[string]commerce.Order
	orderIDs []string
	// customerIDs are the registered customers, in creation order, and
	// emails their addresses.
	customerIDs []string
	emails      map[string]string
	nextOrder   int
	nextCust    int
	// sample orders whose lines new orders copy.
	sample []commerce.Order
	put    func(commerce.Order) error
	putCus func(commerce.Customer) error
	// webhook builds the signed delivery the platform would send now.
	webhook func(topic, id string) (http.Header, []byte, error)
}

// delivery is a webhook as built by a platform.
type delivery struct {
	store  string
	header http.Header
	body   []byte
	what   string
}

// freePort returns a loopback address nobody listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// newHarness starts the two fakes, fills them with a synthetic history of
// the last 150 days, and writes a configuration naming them and a program
// with tiers, rewards, automatic redemption and referrals.
func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	h := &harness{
		t:      t,
		dir:    t.TempDir(),
		listen: freePort(t),
		rng:    rand.New(rand.NewPCG(o.seed, o.seed^0x5eed)),
		client: &http.Client{Timeout: 3 * time.Second},
	}
	h.db = filepath.Join(h.dir, "loyaltyd.db")
	end := platformNow().Add(-24 * time.Hour).Truncate(time.Second)
	start := end.AddDate(0, 0, -150)
	h.launch = start.Truncate(24 * time.Hour)

	h.shop = shopifytest.NewServer(shopifytest.Options{Shop: "harness", Now: platformNow, TimeScale: shopTimeScale})
	if err := h.shop.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.shop.Close() })
	h.woo = wootest.NewServer(wootest.Options{Now: platformNow})
	t.Cleanup(h.woo.Close)

	shopGen, err := synth.Generate(synth.Options{Seed: o.seed, Customers: o.customers, Start: start, End: end})
	if err != nil {
		t.Fatal(err)
	}
	wooGen, err := synth.Generate(synth.Options{Seed: o.seed + 1, Customers: max(o.customers/2, 3), Start: start, End: end, FirstOrderID: 20001})
	if err != nil {
		t.Fatal(err)
	}

	shop := &fakeStore{id: shopStore, platform: "shopify", put: h.shop.PutOrder, putCus: h.shop.PutCustomer,
		webhook: func(topic, id string) (http.Header, []byte, error) { return h.shop.Webhook(topic, id) }}
	corner := &fakeStore{id: cornerStore, platform: "woocommerce",
		put: func(o commerce.Order) error {
			w, err := wootest.OrderFromCommerce(o)
			if err == nil {
				h.woo.PutOrder(w)
			}
			return err
		},
		putCus: func(c commerce.Customer) error {
			w, err := wootest.CustomerFromCommerce(c, "")
			if err == nil {
				h.woo.PutCustomer(w)
			}
			return err
		},
		webhook: h.wooWebhook,
	}
	h.stores = []*fakeStore{shop, corner}

	h.writeConfig(filepath.Join(h.dir, "loyaltyd.yaml"), h.db, o)
	cfg, err := config.Load(h.cfg, config.Options{Platforms: connectors.Platforms(), LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("the harness's configuration: %v", err)
	}
	h.prog = &cfg.Program

	// WooCommerce builds deliveries from subscriptions; they are paused so
	// that the fake queues nothing itself: the test sends what it builds.
	h.wooHooks = map[string]int64{}
	for _, topic := range []string{"order.created", "order.updated", "customer.created"} {
		w := h.woo.AddWebhook(wootest.Webhook{Name: topic, Topic: topic, Status: "paused", Secret: wooSecret,
			DeliveryURL: h.webhookURL(cornerStore)})
		h.wooHooks[topic] = w.ID
	}

	h.seed(shop, shopGen)
	h.seed(corner, wooGen)
	return h
}

// writeConfig writes a configuration with both stores under path.
func (h *harness) writeConfig(path, db string, o harnessOptions) {
	h.t.Helper()
	set := h.shop.Settings()
	indent := func(lines []string) string {
		var b strings.Builder
		for _, l := range lines {
			b.WriteString("    " + l + "\n")
		}
		return b.String()
	}
	text := fmt.Sprintf(`database: %q
listen: %s
log: {level: info, format: json}
stores:
  - id: %s
    platform: shopify
    shop: %s
    base_url: %s
    access_token: %s
    api_secret: %s
    bucket_size: %d
    leak_rate: %g
    poll_interval: 10s
%s  - id: %s
    platform: woocommerce
    url: %s
    auth: oauth1
    consumer_key: %s
    consumer_secret: %s
    webhook_secret: %s
    poll_interval: 10s
%sprogram:
  currency: USD
  launch: %s
  enrollment: open
  earn: {points_per_unit: 1, pending_days: 14, first_order_bonus: 50}
  tiers:
    window_days: 365
    levels:
      - {name: silver, min_spend: 250}
      - {name: gold, min_spend: 800, min_orders: 3}
  rewards:
    - {id: five-off, points: 150, type: fixed_amount, value: 5, expires_after_days: 90}
  auto_redeem: {reward: five-off}
  referrals:
    referrer_points: 100
    friend_reward: {type: fixed_amount, value: 10}
  tags: {prefix: "loyalty-"}
`, db, h.listen, shopStore, set["shop"], set["base_url"], set["access_token"], set["api_secret"],
		set["bucket_size"], set["leak_rate"], indent(o.shopifySettings),
		cornerStore, h.woo.URL, h.woo.ConsumerKey(), h.woo.ConsumerSecret(), wooSecret, indent(o.wooSettings),
		h.launch.Format(time.DateOnly))
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		h.t.Fatal(err)
	}
	if h.cfg == "" {
		h.cfg = path
	}
}

// seed puts a generated history on a platform: every customer, and every
// order in its final state. A few first orders carry an earlier
// customer's referral code.
func (h *harness) seed(st *fakeStore, gen synth.Store) {
	h.t.Helper()
	st.orders = map[string]commerce.Order{}
	st.emails = map[string]string{}
	for _, c := range gen.Customers {
		if err := st.putCus(c); err != nil {
			h.t.Fatalf("%s: seed customer %s: %v", st.id, c.ID, err)
		}
		st.customerIDs = append(st.customerIDs, c.ID)
		st.emails[c.ID] = c.Email
	}
	seen := map[string]bool{}
	for _, o := range gen.Orders {
		if o.State == commerce.StatePaid && len(o.Refunds) == 0 && len(st.sample) < 40 {
			st.sample = append(st.sample, o)
		}
		if !seen[o.CustomerID] && len(seen) > 3 && h.rng.IntN(8) == 0 {
			referrer := st.customerIDs[h.rng.IntN(len(st.customerIDs))]
			o.Codes = append(slices.Clone(o.Codes), commerce.CodeUse{Code: h.prog.ReferralCode(st.id, referrer), Amount: commerce.NewMoney(0, o.Currency)})
		}
		seen[o.CustomerID] = true
		h.putOrder(st, o)
	}
	if len(st.sample) == 0 {
		h.t.Fatalf("%s: the generated history has no paid order for new orders to copy", st.id)
	}
	st.nextOrder = 1
	for _, id := range st.orderIDs {
		n, _ := strconv.Atoi(id)
		st.nextOrder = max(st.nextOrder, n+1)
	}
	st.nextCust = 5001 + len(gen.Customers)
}

// putOrder puts an order version on its platform and in the model.
func (h *harness) putOrder(st *fakeStore, o commerce.Order) {
	h.t.Helper()
	if err := o.Validate(); err != nil {
		h.t.Fatalf("%s: the harness made an invalid order: %v", st.id, err)
	}
	if err := st.put(o); err != nil {
		h.t.Fatalf("%s: put order %s: %v", st.id, o.ID, err)
	}
	if _, ok := st.orders[o.ID]; !ok {
		st.orderIDs = append(st.orderIDs, o.ID)
	}
	st.orders[o.ID] = o
}

// wooWebhook builds a WooCommerce delivery of a Shopify-style topic.
func (h *harness) wooWebhook(topic, id string) (http.Header, []byte, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, nil, err
	}
	hook := h.wooHooks["order.updated"]
	switch topic {
	case "orders/create":
		hook = h.wooHooks["order.created"]
	case "customers/create":
		hook = h.wooHooks["customer.created"]
	}
	return h.woo.Delivery(hook, n)
}

// webhookURL is where the daemon takes a store's webhooks.
func (h *harness) webhookURL(storeID string) string {
	return "http://" + h.listen + "/webhooks/" + storeID
}

// nextUpdate is the update time of a record's next version: the
// platform's time, and always a second past the previous version, so that
// versions of a record never share a time (the guarded upsert orders them
// by it).
func nextUpdate(prev time.Time) time.Time {
	t := platformNow().Truncate(time.Second)
	if !t.After(prev) {
		t = prev.Add(time.Second)
	}
	return t
}

// mutate makes one change on a random store, as its shoppers and staff
// would, and has the platform send the webhooks of it (some duplicated,
// some held back to arrive late and out of order). It returns what it did.
func (h *harness) mutate(ctx context.Context) string {
	st := h.stores[h.rng.IntN(len(h.stores))]
	what := ""
	switch r := h.rng.IntN(100); {
	case r < 45:
		what = h.newOrder(ctx, st)
	case r < 55:
		what = h.change(ctx, st, "pay")
	case r < 72:
		what = h.change(ctx, st, "partial")
	case r < 84:
		what = h.change(ctx, st, "refund")
	case r < 94:
		what = h.change(ctx, st, "cancel")
	default:
		what = h.releaseHeld(ctx, 3)
	}
	if len(h.held) > 0 && h.rng.IntN(4) == 0 {
		h.releaseHeld(ctx, 1)
	}
	return what
}

// newOrder places an order, sometimes by a new customer who uses an
// existing customer's referral code.
func (h *harness) newOrder(ctx context.Context, st *fakeStore) string {
	at := nextUpdate(time.Time{})
	var cust string
	var codes []commerce.CodeUse
	if h.rng.IntN(4) == 0 {
		cust = strconv.Itoa(st.nextCust)
		st.nextCust++
		c := commerce.Customer{ID: cust, Email: fmt.Sprintf("new%s@example.com", cust), FirstName: "New", LastName: "Shopper" + cust,
			CreatedAt: at, UpdatedAt: at}
		if err := st.putCus(c); err != nil {
			h.t.Fatalf("%s: put customer %s: %v", st.id, cust, err)
		}
		if h.rng.IntN(2) == 0 {
			referrer := st.customerIDs[h.rng.IntN(len(st.customerIDs))]
			codes = []commerce.CodeUse{{Code: h.prog.ReferralCode(st.id, referrer), Amount: commerce.NewMoney(0, "USD")}}
		}
		st.customerIDs = append(st.customerIDs, cust)
		st.emails[cust] = c.Email
		h.send(ctx, st, "customers/create", cust)
	} else {
		cust = st.customerIDs[h.rng.IntN(len(st.customerIDs))]
	}
	src := st.sample[h.rng.IntN(len(st.sample))]
	id := strconv.Itoa(st.nextOrder)
	st.nextOrder++
	o := commerce.Order{ID: id, Number: "#" + id, CustomerID: cust, Email: st.emails[cust],
		Currency: src.Currency, CreatedAt: at, ProcessedAt: at, UpdatedAt: at, State: commerce.StatePaid,
		Shipping: src.Shipping, Tax: src.Tax, Total: src.Total, Codes: codes}
	for i, l := range src.Lines {
		l.ID = fmt.Sprintf("%s-%d", id, i+1)
		o.Lines = append(o.Lines, l)
	}
	o.Codes = append(o.Codes, src.Codes...)
	if h.rng.IntN(6) == 0 {
		o.State = commerce.StatePending
	}
	h.putOrder(st, o)
	h.send(ctx, st, "orders/create", id)
	return fmt.Sprintf("%s: new %s order %s", st.id, o.State, id)
}

// change moves an existing order on: pay a pending one, refund part or
// all of a paid one, or cancel one.
func (h *harness) change(ctx context.Context, st *fakeStore, how string) string {
	// Candidates are drawn from the newest orders, which are the ones a
	// store changes, with an occasional old one.
	var cands []string
	for i := len(st.orderIDs) - 1; i >= 0 && len(cands) < 30; i-- {
		o := st.orders[st.orderIDs[i]]
		ok := false
		switch how {
		case "pay":
			ok = o.State == commerce.StatePending && o.CancelledAt.IsZero()
		case "partial":
			ok = o.State == commerce.StatePaid && len(o.Refunds) == 0 && o.CancelledAt.IsZero() && len(o.Lines) > 1
		case "refund", "cancel":
			ok = o.State == commerce.StatePaid && len(o.Refunds) == 0 && o.CancelledAt.IsZero()
		}
		if ok {
			cands = append(cands, o.ID)
		}
	}
	if len(cands) == 0 {
		return h.newOrder(ctx, st)
	}
	o := st.orders[cands[h.rng.IntN(len(cands))]]
	o.UpdatedAt = nextUpdate(o.UpdatedAt)
	o.Refunds = slices.Clone(o.Refunds)
	topic := "orders/updated"
	switch how {
	case "pay":
		o.State, o.ProcessedAt = commerce.StatePaid, o.UpdatedAt
		topic = "orders/paid"
	case "partial":
		l := o.Lines[h.rng.IntN(len(o.Lines))]
		o.State = commerce.StatePartiallyRefunded
		o.Refunds = append(o.Refunds, commerce.Refund{ID: o.ID + "-r1", CreatedAt: o.UpdatedAt, Amount: l.Net(), Note: "item returned",
			Lines: []commerce.RefundLine{{LineID: l.ID, Quantity: l.Quantity, Amount: l.Net()}}})
		topic = "refunds/create"
	case "refund", "cancel":
		o.State = commerce.StateRefunded
		o.Refunds = append(o.Refunds, commerce.Refund{ID: o.ID + "-r1", CreatedAt: o.UpdatedAt, Amount: o.Total, Shipping: o.Shipping, Note: how})
		topic = "refunds/create"
		if how == "cancel" {
			o.CancelledAt = o.UpdatedAt
			topic = "orders/cancelled"
		}
	}
	h.putOrder(st, o)
	h.send(ctx, st, topic, o.ID)
	return fmt.Sprintf("%s: %s order %s", st.id, how, o.ID)
}

// send builds the platform's delivery of topic about id and sends it,
// sends it twice, or holds it back to send later.
func (h *harness) send(ctx context.Context, st *fakeStore, topic, id string) {
	hd, body, err := st.webhook(topic, id)
	if err != nil {
		h.t.Fatalf("%s: build webhook %s %s: %v", st.id, topic, id, err)
	}
	d := delivery{store: st.id, header: hd, body: body, what: topic + " " + id}
	switch r := h.rng.IntN(100); {
	case r < 15:
		h.held = append(h.held, d)
	case r < 35:
		h.post(ctx, d)
		h.post(ctx, d)
	case r < 45:
		h.post(ctx, d)
		h.held = append(h.held, d) // a duplicate, late
	default:
		h.post(ctx, d)
	}
}

// releaseHeld sends up to n held-back deliveries, in a random order.
func (h *harness) releaseHeld(ctx context.Context, n int) string {
	sent := 0
	for ; sent < n && len(h.held) > 0; sent++ {
		i := h.rng.IntN(len(h.held))
		d := h.held[i]
		h.held = slices.Delete(h.held, i, i+1)
		h.post(ctx, d)
	}
	return fmt.Sprintf("released %d late deliveries", sent)
}

// post sends a delivery to the daemon. A daemon that is down (killed,
// restarting) does not answer: the delivery is lost, as a platform that
// gave up would lose it, and polling must bring its change.
func (h *harness) post(ctx context.Context, d delivery) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.webhookURL(d.store), bytes.NewReader(d.body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header = d.header.Clone()
	resp, err := h.client.Do(req)
	if err != nil {
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		h.sent++
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		h.refused = append(h.refused, fmt.Sprintf("%s %s: %s", d.store, d.what, resp.Status))
	}
}

// checkWebhooksAccepted fails the test if the daemon refused a correctly
// signed delivery since the last check.
func (h *harness) checkWebhooksAccepted(t *testing.T) {
	t.Helper()
	for _, r := range h.refused {
		t.Errorf("webhook refused: %s", r)
	}
	h.refused = nil
}

// storeState is what the checks read from loyaltyd's database.
type storeState struct {
	orders      map[string]*store.StoredOrder
	members     map[string]*store.Member
	redemptions []*store.Redemption
	streams     map[string]int64
	entries     []commerce.LedgerEntry
	outbox      map[string]int
	inbox       store.InboxStats
}

// readState reads every store's state from a database.
func readState(t *testing.T, dbPath string, storeIDs ...string) map[string]*storeState {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		t.Fatalf("open the database: %v", err)
	}
	defer db.Close()
	out := map[string]*storeState{}
	err = db.View(ctx, func(tx *store.Tx) error {
		for _, id := range storeIDs {
			s := &storeState{orders: map[string]*store.StoredOrder{}, members: map[string]*store.Member{}}
			if err := tx.ForEachOrder(id, func(o *store.StoredOrder) error { s.orders[o.ID] = o; return nil }); err != nil {
				return err
			}
			if err := tx.ForEachMember(id, func(m *store.Member) error { s.members[m.CustomerID] = m; return nil }); err != nil {
				return err
			}
			var err error
			if s.redemptions, err = tx.Redemptions(id, ""); err != nil {
				return err
			}
			if s.streams, err = tx.StreamTotals(id); err != nil {
				return err
			}
			if err := tx.ForEachEntry(id, func(e commerce.LedgerEntry) error { s.entries = append(s.entries, e); return nil }); err != nil {
				return err
			}
			if s.outbox, err = tx.OutboxCounts(id); err != nil {
				return err
			}
			if s.inbox, err = tx.InboxStats(id); err != nil {
				return err
			}
			out[id] = s
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read the database: %v", err)
	}
	return out
}

// refunded sums an order's refunds.
func refunded(o *commerce.Order) int64 {
	var n int64
	for _, r := range o.Refunds {
		n += r.Amount.Minor
	}
	return n
}

// ordersStored returns, for every order of the platforms that loyaltyd
// has not stored in its final state, why; nil when all are.
func (h *harness) ordersStored(states map[string]*storeState) []string {
	var bad []string
	for _, st := range h.stores {
		s := states[st.id]
		for _, id := range st.orderIDs {
			want := st.orders[id]
			got, ok := s.orders[id]
			switch {
			case !ok:
				bad = append(bad, fmt.Sprintf("%s: order %s (updated %s) is not stored", st.id, id, want.UpdatedAt.Format(time.RFC3339)))
			case !got.UpdatedAt.Equal(want.UpdatedAt):
				bad = append(bad, fmt.Sprintf("%s: order %s stored as its version of %s, the platform's is of %s",
					st.id, id, got.UpdatedAt.UTC().Format(time.RFC3339), want.UpdatedAt.Format(time.RFC3339)))
			case got.Cancelled() != want.Cancelled() || refunded(&got.Order) != refunded(&want) || got.State.Paid() != want.State.Paid():
				bad = append(bad, fmt.Sprintf("%s: order %s stored as %s (cancelled %v, refunded %d), the platform has %s (cancelled %v, refunded %d)",
					st.id, id, got.State, got.Cancelled(), refunded(&got.Order), want.State, want.Cancelled(), refunded(&want)))
			}
		}
		if len(s.orders) != len(st.orders) {
			bad = append(bad, fmt.Sprintf("%s: %d orders stored, the platform has %d", st.id, len(s.orders), len(st.orders)))
		}
	}
	return bad
}

// caughtUp reports why loyaltyd has not caught up with the platforms
// yet: an order missing or stale, write-backs or deliveries waiting. nil
// means it has.
func (h *harness) caughtUp(t *testing.T) []string {
	t.Helper()
	states := readState(t, h.db, shopStore, cornerStore)
	bad := h.ordersStored(states)
	for _, id := range []string{shopStore, cornerStore} {
		s := states[id]
		if n := s.outbox[store.OutboxPending]; n > 0 {
			bad = append(bad, fmt.Sprintf("%s: %d write-backs pending", id, n))
		}
		if n := s.inbox.ByStatus[store.InboxPending]; n > 0 {
			bad = append(bad, fmt.Sprintf("%s: %d webhook deliveries pending", id, n))
		}
	}
	return bad
}

// verify checks loyaltyd's database against the platforms once both are
// quiet: every order stored in its final state; every order that earns
// credited; ledger streams that continue each other entry by entry;
// nothing pending, dead or failed; and every discount code of a
// redemption or a referral created exactly once on its platform, with no
// other code there. It returns the state it read.
func (h *harness) verify(t *testing.T) map[string]*storeState {
	t.Helper()
	states := readState(t, h.db, shopStore, cornerStore)
	for _, why := range h.ordersStored(states) {
		t.Error(why)
	}
	redemptions := 0
	for _, st := range h.stores {
		s := states[st.id]
		if s.outbox[store.OutboxPending] != 0 || s.outbox[store.OutboxDead] != 0 {
			t.Errorf("%s: write-backs %v: want none pending and none dead", st.id, s.outbox)
		}
		for _, status := range []string{store.InboxPending, store.InboxFailed, store.InboxRejected} {
			if n := s.inbox.ByStatus[status]; n != 0 {
				t.Errorf("%s: %d webhook deliveries %s", st.id, n, status)
			}
		}
		h.verifyCredited(t, st, s)
		verifyStreams(t, st.id, s.entries)
		h.verifyCodes(t, st, s)
		redemptions += len(s.redemptions)
	}
	if redemptions == 0 {
		t.Errorf("no reward was redeemed in either store: the test would prove little about reward codes")
	}
	return states
}

// verifyCredited checks that every order of a member that counts has
// frozen rules and a non-empty earn stream.
func (h *harness) verifyCredited(t *testing.T, st *fakeStore, s *storeState) {
	t.Helper()
	credited := 0
	for _, id := range st.orderIDs {
		o := s.orders[id]
		if o == nil || o.CustomerID == "" {
			continue
		}
		el := loyalty.Eligible(&o.Order, h.prog.Currency).Amount
		if el.Sign() <= 0 || o.ProcessedTime().Before(h.launch) {
			continue
		}
		if m := s.members[o.CustomerID]; m == nil {
			t.Errorf("%s: customer %s of order %s (%s eligible) was never placed in the program", st.id, o.CustomerID, id, el)
			continue
		} else if m.Cohort != store.CohortMember {
			continue
		}
		credited++
		if o.Snapshot == nil {
			t.Errorf("%s: order %s of member %s counts (%s eligible) but was never credited", st.id, id, o.CustomerID, el)
			continue
		}
		if el.Minor >= 100 && s.streams["order:"+id+":earn"] <= 0 {
			t.Errorf("%s: order %s of member %s counts (%s eligible) and holds %d points", st.id, id, o.CustomerID, el, s.streams["order:"+id+":earn"])
		}
	}
	if credited == 0 {
		t.Errorf("%s: no order earned: the test would prove nothing", st.id)
	}
}

// verifyStreams checks that every ledger entry continues its stream: the
// sequence numbers follow each other, each total is the previous total
// plus the entry's points, no entry is worth nothing, and a stream keeps
// its customer.
func verifyStreams(t *testing.T, storeID string, entries []commerce.LedgerEntry) {
	t.Helper()
	type last struct {
		seq      int
		total    int64
		customer string
	}
	streams := map[string]last{}
	for _, e := range entries {
		prev := streams[e.Stream]
		switch {
		case e.Seq != prev.seq+1:
			t.Errorf("%s: ledger entry %d of stream %s has seq %d after %d", storeID, e.ID, e.Stream, e.Seq, prev.seq)
		case e.Total != prev.total+e.Points:
			t.Errorf("%s: ledger entry %d of stream %s: total %d after %d with %+d points", storeID, e.ID, e.Stream, e.Total, prev.total, e.Points)
		case e.Points == 0:
			t.Errorf("%s: ledger entry %d of stream %s is worth 0 points", storeID, e.ID, e.Stream)
		case prev.seq > 0 && prev.customer != e.CustomerID:
			t.Errorf("%s: stream %s moved from customer %s to %s", storeID, e.Stream, prev.customer, e.CustomerID)
		}
		streams[e.Stream] = last{seq: e.Seq, total: e.Total, customer: e.CustomerID}
	}
}

// verifyCodes checks that the platform holds exactly the discount codes
// loyaltyd recorded (every redemption the platform did not refuse, every
// member's referral code), each created once, and for Shopify one price
// rule per code.
func (h *harness) verifyCodes(t *testing.T, st *fakeStore, s *storeState) {
	t.Helper()
	want := map[string]string{} // folded code → what it is
	for _, r := range s.redemptions {
		if r.Status == store.RedemptionFailed {
			continue
		}
		want[strings.ToLower(r.Code)] = fmt.Sprintf("redemption %d of customer %s", r.ID, r.CustomerID)
	}
	referral := 0
	for _, m := range s.members {
		if m.ReferralCode != "" {
			want[strings.ToLower(m.ReferralCode)] = "referral code of customer " + m.CustomerID
			referral++
		}
	}
	have := map[string]int{} // folded code → times created
	switch st.platform {
	case "shopify":
		rules := h.shop.PriceRules()
		for _, pr := range rules {
			if len(pr.Codes) != 1 {
				t.Errorf("%s: price rule %s (%s) has %d codes %v, want 1", st.id, pr.ID, pr.Title, len(pr.Codes), pr.Codes)
			}
			for _, c := range pr.Codes {
				have[strings.ToLower(c)] = h.shop.DiscountCreations(c)
			}
		}
		if len(rules) != len(want) {
			t.Errorf("%s: %d price rules on Shopify; loyaltyd recorded %d redemptions and referral codes", st.id, len(rules), len(want))
		}
	case "woocommerce":
		coupons := h.woo.Coupons()
		for _, c := range coupons {
			have[strings.ToLower(c.Code)] = h.woo.CouponCreations(c.Code)
		}
		if len(coupons) != len(want) {
			t.Errorf("%s: %d coupons on WooCommerce; loyaltyd recorded %d redemptions and referral codes", st.id, len(coupons), len(want))
		}
	}
	for _, code := range slices.Sorted(maps.Keys(want)) {
		switch n, ok := have[code]; {
		case !ok:
			t.Errorf("%s: %s, code %s, is not on the platform", st.id, want[code], code)
		case n != 1:
			t.Errorf("%s: %s, code %s, was created %d times on the platform", st.id, want[code], code, n)
		}
	}
	for _, code := range slices.Sorted(maps.Keys(have)) {
		if _, ok := want[code]; !ok {
			t.Errorf("%s: code %s is on the platform (created %d times) but loyaltyd recorded no redemption or referral for it", st.id, code, have[code])
		}
	}
	if referral == 0 {
		t.Errorf("%s: no referral code: the program wrote no codes back, the test would prove nothing", st.id)
	}
}

// readyz is the body of GET /readyz.
type readyz struct {
	Ready  bool `json:"ready"`
	Stores []struct {
		Store     string    `json:"store"`
		Healthy   bool      `json:"healthy"`
		LastPass  time.Time `json:"last_pass"`
		LastError string    `json:"last_error"`
		Failures  int       `json:"failures"`
		NextPass  time.Time `json:"next_pass"`
	} `json:"stores"`
}

// getReadyz reads the daemon's /readyz; ok is false when it does not
// answer.
func (h *harness) getReadyz(t *testing.T) (r readyz, status int, ok bool) {
	t.Helper()
	resp, err := h.client.Get("http://" + h.listen + "/readyz")
	if err != nil {
		return r, 0, false
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Errorf("/readyz answered %s with a body that is not JSON: %v", resp.Status, err)
		return r, resp.StatusCode, false
	}
	return r, resp.StatusCode, true
}

// getText reads a path of the daemon's listener.
func (h *harness) getText(t *testing.T, path string) string {
	t.Helper()
	resp, err := h.client.Get("http://" + h.listen + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", path, resp.Status, err)
	}
	return string(b)
}

// waitFor polls cond until it returns nil or the deadline passes; then
// it fails the test with cond's last reasons.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() []string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		why := cond()
		if len(why) == 0 {
			return
		}
		if time.Now().After(deadline) {
			sort.Strings(why)
			if len(why) > 20 {
				why = append(why[:20], fmt.Sprintf("… and %d more", len(why)-20))
			}
			t.Fatalf("%s: not so after %s:\n  %s", what, timeout, strings.Join(why, "\n  "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lockedBuffer is a buffer safe for the daemon's goroutines and the test.
type lockedBuffer struct {
	mu  stdsync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
