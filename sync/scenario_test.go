package sync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/config"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/memory"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
)

// The scenarios under testdata/scenarios are the program's rules as
// stories: a program, then dated events on the platform (customers,
// orders, payments, refunds, cancellations), sync passes, staff actions,
// and after them the exact ledger, balances, tiers, tags and referrals
// expected. Every sync also checks that the ledger agrees with a rebuild
// from the stored records.
//
// The language, one statement per line ("#" starts a comment line):
//
//	program:                 a YAML program block follows, indented; again later = the owner changes the program
//	day N [HH:MM]            move the clock (day 1 is 2026-03-01, 12:00 by default)
//	customer ID [email=E] [tags=a,b]
//	order ID CUSTOMER paid|pending LINE... [code=C|code=@MEMBER|code=MEMBER#N] [address=A_B] [email=E]
//	                         @MEMBER is the member's referral code, MEMBER#N the code of their Nth redemption
//	                         LINE is AMOUNT[-DISCOUNT][@SKU], e.g. 60.00-6.00@NW-1
//	pay ID | cancel ID | refund ID all | refund ID line N | refund ID AMOUNT [shipping=AMOUNT]
//	tag CUSTOMER TAG         the store adds a tag to a customer
//	sync                     one pass a minute later, where the clock stays (customers, orders,
//	                         referrals, daily re-evaluation, write-backs)
//	redeem CUSTOMER REWARD [fails: TEXT]
//	adjust CUSTOMER POINTS REASON... [fails: TEXT]
//	reprice                  the owner applies today's program to history (rebuild --reprice)
//	refuse-codes             the platform refuses every discount code from now on
//	ledger CUSTOMER: KIND POINTS [#ORDER], ...     the whole ledger, in order ("ledger ann: none")
//	balance CUSTOMER: available=N pending=N earned=N redeemed=N expired=N   (any of them)
//	tier CUSTOMER: NAME|none
//	tags CUSTOMER: TAG ...   the program's tags on the platform, without the prefix ("none")
//	referral ORDER: STATUS [REASON WORDS]
//	reward CUSTOMER: REWARD STATUS, ...
//	codes: N                 discount codes on the platform, each created exactly once
//	events CUSTOMER: EVENT, ...   what notify endpoints received (tier_changed FROM>TO, reward_issued REWARD,
//	                         points_expiring, referral_rewarded), in order
//	cohort CUSTOMER: member|holdout|not_invited
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			runScenario(t, f, string(src))
		})
	}
}

type scenario struct {
	*harness
	file   string
	line   int
	events *recorder
}

// recorder is a notify endpoint that keeps the events it receives.
type recorder struct {
	mu     stdsync.Mutex
	events []sync.Event
}

func (r *recorder) Notify(_ context.Context, _, _, _ string, body []byte) error {
	var ev sync.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

func (s *scenario) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Errorf("%s:%d: %s", s.file, s.line, fmt.Sprintf(format, args...))
}

func (s *scenario) fatal(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("%s:%d: %s", s.file, s.line, fmt.Sprintf(format, args...))
}

func parseProgram(t *testing.T, name, block string) *loyalty.Program {
	t.Helper()
	p, err := config.ParseProgram(name, []byte(block), config.Options{})
	if err != nil {
		t.Fatalf("program: %v", err)
	}
	return p
}

func runScenario(t *testing.T, file, src string) {
	lines := strings.Split(src, "\n")
	s := &scenario{file: file}
	var started bool
	for i := 0; i < len(lines); i++ {
		s.line = i + 1
		raw := lines[i]
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if line == "program:" {
			var block []string
			for i+1 < len(lines) && (strings.HasPrefix(lines[i+1], " ") || strings.TrimSpace(lines[i+1]) == "") {
				i++
				block = append(block, lines[i])
			}
			p := parseProgram(t, fmt.Sprintf("%s:%d", file, s.line), strings.Join(block, "\n"))
			if !started {
				s.harness = newHarness(t, p, 3)
				s.events = &recorder{}
				s.engine.Notify = []sync.NotifyEndpoint{{URL: "https://hooks.example"}}
				s.engine.Notifier = s.events
				started = true
			} else {
				s.engine.Program = p
			}
			continue
		}
		if !started {
			s.fatal("a scenario starts with a program: block")
		}
		s.step(line)
	}
}

// refCode turns "@ann" into ann's referral code, and "ann#2" into the
// code of ann's second redemption.
func (s *scenario) refCode(v string) string {
	if who, nth, ok := strings.Cut(v, "#"); ok {
		n, _ := strconv.Atoi(nth)
		var code string
		s.db.View(context.Background(), func(tx *store.Tx) error {
			reds, err := tx.Redemptions("shop", who)
			if err != nil || n < 1 || n > len(reds) {
				s.fatal("%s has no redemption %d: %v", who, n, err)
			}
			code = reds[n-1].Code
			return nil
		})
		return code
	}
	if !strings.HasPrefix(v, "@") {
		return v
	}
	var code string
	s.db.View(context.Background(), func(tx *store.Tx) error {
		m, err := tx.Member("shop", v[1:])
		if err != nil {
			s.fatal("%s has no referral code: %v", v[1:], err)
		}
		code = m.ReferralCode
		return nil
	})
	return code
}

func (s *scenario) step(line string) {
	s.t.Helper()
	head, rest, isExpect := strings.Cut(line, ":")
	if isExpect && !strings.Contains(head, " fails") && !strings.HasPrefix(head, "day ") {
		s.expect(strings.Fields(head), strings.TrimSpace(rest))
		return
	}
	f := strings.Fields(line)
	ctx := context.Background()
	switch f[0] {
	case "day":
		n, _ := strconv.Atoi(f[1])
		at := day(n)
		if len(f) > 2 {
			hm, err := time.Parse("15:04", f[2])
			if err != nil {
				s.fatal("bad time %q", f[2])
			}
			at = time.Date(at.Year(), at.Month(), at.Day(), hm.Hour(), hm.Minute(), 0, 0, time.UTC)
		}
		s.clock.Set(at)
	case "customer":
		c := commerce.Customer{ID: f[1], Email: f[1] + "@example.com", FirstName: f[1], CreatedAt: s.clock.Now(), UpdatedAt: s.clock.Now()}
		for _, kv := range f[2:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "email":
				c.Email = v
			case "tags":
				c.Tags = strings.Split(v, ",")
			}
		}
		s.platform.PutCustomer(c)
	case "tag":
		c, ok := s.platform.Customer(f[1])
		if !ok {
			s.fatal("no customer %s", f[1])
		}
		c.Tags = append(c.Tags, f[2])
		c.UpdatedAt = s.clock.Now()
		s.platform.PutCustomer(c)
	case "order":
		s.order(f[1:])
	case "pay":
		s.check(s.platform.MarkPaid(f[1]))
	case "cancel":
		s.check(s.platform.Cancel(f[1]))
	case "refund":
		o, ok := s.platform.Order(f[1])
		if !ok {
			s.fatal("no order %s", f[1])
		}
		r := commerce.Refund{ID: fmt.Sprintf("r%d", len(o.Refunds)+1), CreatedAt: s.clock.Now()}
		if f[2] == "all" {
			r.Amount, r.Shipping = o.Total, o.Shipping
			for _, prev := range o.Refunds {
				r.Amount = r.Amount.Sub(prev.Amount)
			}
			for _, l := range o.Lines {
				r.Lines = append(r.Lines, commerce.RefundLine{LineID: l.ID, Quantity: l.Quantity, Amount: l.Net()})
			}
		} else if f[2] == "line" {
			n, _ := strconv.Atoi(f[3])
			l := o.Lines[n-1]
			r.Amount = l.Net()
			r.Lines = []commerce.RefundLine{{LineID: l.ID, Quantity: l.Quantity, Amount: l.Net()}}
		} else {
			r.Amount = usd(f[2])
			for _, kv := range f[3:] {
				if v, ok := strings.CutPrefix(kv, "shipping="); ok {
					r.Shipping = usd(v)
				}
			}
		}
		s.check(s.platform.Refund(f[1], r))
	case "sync":
		// The pass runs a minute after the events, as a poll would (a
		// pass reads up to a little before its start), and the clock
		// stays there.
		s.clock.Set(s.clock.Now().Add(time.Minute))
		if _, err := s.engine.SyncOnce(ctx); err != nil {
			s.fatal("sync: %v", err)
		}
		s.checkRebuild()
	case "redeem":
		wantFail := ""
		if i := strings.Index(line, "fails:"); i >= 0 {
			wantFail = strings.TrimSpace(line[i+len("fails:"):])
		}
		_, err := s.engine.Redeem(ctx, s.st, f[1], f[2], "dana")
		switch {
		case wantFail == "" && err != nil:
			s.fail("redeem: %v", err)
		case wantFail != "" && (err == nil || !strings.Contains(err.Error(), wantFail)):
			s.fail("redeem: got %v, want an error containing %q", err, wantFail)
		}
	case "adjust":
		n, _ := strconv.ParseInt(f[2], 10, 64)
		reason, wantFail, _ := strings.Cut(strings.Join(f[3:], " "), "fails:")
		_, err := s.engine.Adjust(ctx, s.st, f[1], n, strings.TrimSpace(reason), "dana")
		wantFail = strings.TrimSpace(wantFail)
		switch {
		case wantFail == "" && err != nil:
			s.fail("adjust: %v", err)
		case wantFail != "" && (err == nil || !strings.Contains(err.Error(), wantFail)):
			s.fail("adjust: got %v, want an error containing %q", err, wantFail)
		}
	case "reprice":
		if _, err := s.engine.Rebuild(ctx, true, "dana"); err != nil {
			s.fatal("reprice: %v", err)
		}
		s.checkRebuild()
	case "refuse-codes":
		s.platform.FailNext(memory.OpEnsureDiscount, 1000, fmt.Errorf("price rule invalid: %w", connectors.ErrRejected))
	default:
		s.fatal("unknown statement %q", f[0])
	}
}

func (s *scenario) check(err error) {
	s.t.Helper()
	if err != nil {
		s.fatal("%v", err)
	}
}

func (s *scenario) order(f []string) {
	at := s.clock.Now()
	o := commerce.Order{ID: f[0], Number: "#" + f[0], CustomerID: f[1], Email: f[1] + "@example.com", Currency: "USD",
		CreatedAt: at, ProcessedAt: at, UpdatedAt: at, Shipping: usd("5.00")}
	switch f[2] {
	case "paid":
		o.State = commerce.StatePaid
	case "pending":
		o.State = commerce.StatePending
	default:
		s.fatal("order state %q: want paid or pending", f[2])
	}
	total := o.Shipping
	for _, tok := range f[3:] {
		if k, v, ok := strings.Cut(tok, "="); ok {
			switch k {
			case "code":
				o.Codes = append(o.Codes, commerce.CodeUse{Code: s.refCode(v)})
			case "address":
				o.ShippingAddress = &commerce.Address{Address1: strings.ReplaceAll(v, "_", " "), Zip: "10001", Country: "US"}
			case "email":
				o.Email = v
			}
			continue
		}
		amount, sku, _ := strings.Cut(tok, "@")
		sub, disc, _ := strings.Cut(amount, "-")
		l := commerce.LineItem{ID: fmt.Sprintf("%s-%d", o.ID, len(o.Lines)+1), Quantity: 1, Subtotal: usd(sub), SKU: sku}
		if disc != "" {
			l.Discount = usd(disc)
		}
		o.Lines = append(o.Lines, l)
		total = total.Add(l.Net())
	}
	o.Total = total
	if o.ShippingAddress == nil {
		o.ShippingAddress = &commerce.Address{Address1: o.CustomerID + " street 1", Zip: "10001", Country: "US"}
	}
	s.platform.PutOrder(o)
}

func (s *scenario) expect(head []string, want string) {
	s.t.Helper()
	ctx := context.Background()
	switch head[0] {
	case "ledger":
		got := s.ledger(head[1])
		var norm []string
		for _, g := range got {
			k, rest, _ := strings.Cut(g, " ")
			pts, order, _ := strings.Cut(rest, " ")
			if order != "" {
				order = " #" + order
			}
			norm = append(norm, k+" "+pts+order)
		}
		var exp []string
		if want != "none" {
			for _, w := range strings.Split(want, ",") {
				exp = append(exp, strings.Join(strings.Fields(w), " "))
			}
		}
		if !slices.Equal(norm, exp) {
			s.fail("ledger of %s:\n  got  %s\n  want %s", head[1], strings.Join(norm, ", "), strings.Join(exp, ", "))
		}
	case "balance":
		v, err := s.engine.Customer(ctx, "shop", head[1], "")
		if err != nil {
			s.fatal("%v", err)
		}
		b := v.Points
		got := map[string]int64{"available": b.Available, "pending": b.Pending, "earned": b.LifetimeEarned, "redeemed": b.Redeemed, "expired": b.Expired}
		for _, kv := range strings.Fields(want) {
			k, val, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseInt(val, 10, 64)
			if g, ok := got[k]; !ok || g != n {
				s.fail("balance of %s: %s = %d, want %d (%+v)", head[1], k, g, n, b)
			}
		}
	case "tier":
		v, err := s.engine.Customer(ctx, "shop", head[1], "")
		if err != nil {
			s.fatal("%v", err)
		}
		got := v.Tier
		if got == "" {
			got = "none"
		}
		if got != want {
			s.fail("tier of %s = %s, want %s (qualification %+v)", head[1], got, want, v.Qualification)
		}
	case "tags":
		var got []string
		for _, tag := range s.platform.Tags(head[1]) {
			if p, ok := strings.CutPrefix(tag, s.engine.Program.Tags.Prefix); ok {
				got = append(got, p)
			}
		}
		slices.Sort(got)
		exp := strings.Fields(want)
		if want == "none" {
			exp = nil
		}
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			s.fail("tags of %s = %v, want %v", head[1], got, exp)
		}
	case "referral":
		var r *store.Referral
		s.db.View(ctx, func(tx *store.Tx) (err error) { r, err = tx.ReferralOf("shop", head[1]); return })
		if r == nil {
			s.fail("no referral for order %s", head[1])
			return
		}
		status, reason, _ := strings.Cut(want, " ")
		if r.Status != status || !strings.Contains(r.Reason, strings.TrimSpace(reason)) {
			s.fail("referral %s: %s %q, want %s %q", head[1], r.Status, r.Reason, status, reason)
		}
	case "events":
		s.events.mu.Lock()
		var got []string
		for _, ev := range s.events.events {
			if ev.CustomerID != head[1] {
				continue
			}
			switch ev.Event {
			case sync.EventTierChanged:
				got = append(got, fmt.Sprintf("%s %v>%v", ev.Event, ev.Data["from"], ev.Data["to"]))
			case sync.EventRewardIssued:
				got = append(got, fmt.Sprintf("%s %v", ev.Event, ev.Data["reward"]))
			default:
				got = append(got, ev.Event)
			}
		}
		s.events.mu.Unlock()
		var exp []string
		if want != "none" {
			for _, w := range strings.Split(want, ",") {
				exp = append(exp, strings.TrimSpace(w))
			}
		}
		if !slices.Equal(got, exp) {
			s.fail("events of %s = %q, want %q", head[1], got, exp)
		}
	case "codes":
		n, _ := strconv.Atoi(want)
		if got := len(s.platform.Discounts()); got != n {
			var codes []string
			for _, d := range s.platform.Discounts() {
				codes = append(codes, d.Code)
			}
			s.fail("the platform has %d discount codes %v, want %d", got, codes, n)
		}
		for _, d := range s.platform.Discounts() {
			if c := s.platform.DiscountCreations(d.Code); c != 1 {
				s.fail("code %s was created %d times", d.Code, c)
			}
		}
	case "cohort":
		var m *store.Member
		s.db.View(ctx, func(tx *store.Tx) (err error) { m, err = tx.Member("shop", head[1]); return })
		if m == nil || m.Cohort != want {
			s.fail("cohort of %s = %+v, want %s", head[1], m, want)
		}
	case "reward":
		v, err := s.engine.Customer(ctx, "shop", head[1], "")
		if err != nil {
			s.fatal("%v", err)
		}
		var got []string
		for _, r := range v.Rewards {
			got = append(got, r.Reward+" "+r.Status)
		}
		var exp []string
		for _, w := range strings.Split(want, ",") {
			exp = append(exp, strings.Join(strings.Fields(w), " "))
		}
		if !slices.Equal(got, exp) {
			s.fail("rewards of %s = %v, want %v", head[1], got, exp)
		}
	default:
		s.fatal("unknown expectation %q", head[0])
	}
}
