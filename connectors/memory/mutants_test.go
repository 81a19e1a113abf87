package memory_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/connectortest"
	"github.com/loyaltyd/loyaltyd/connectors/memory"
)

// A suite that cannot fail proves nothing. TestSuiteCatchesBugs plants one
// bug at a time in the memory connector, the kind real connectors have,
// runs the suite on it in a child process, and checks that the subtests
// meant to catch the bug fail.

// mutantEnv names the bug TestMutant plants; empty, it does nothing.
const mutantEnv = "LOYALTYD_MEMORY_MUTANT"

// mutants maps each bug to the subtests that must catch it.
var mutants = map[string][]string{
	// Reads, planted in both streams.
	"drop-last-of-page":    both("FullRead", "SameUpdatedAt", "Resume", "Window", "CursorJSON", "TransientFaults"),
	"time-only-cursor":     both("FullRead", "SameUpdatedAt", "Resume"),
	"since-exclusive":      both("SameUpdatedAt", "Window"),
	"until-inclusive":      both("Window", "Resume"),
	"reverse-page":         both("Ordering"),
	"never-done":           both("FullRead", "Empty", "FarFuture"),
	"done-on-error":        both("Cancelled", "TransientFaults", "RateLimited", "Unauthorized"),
	"connector-held-token": both("Resume", "CursorJSON"),
	"bad-token-restarts":   both("BadToken"),
	"raw-missing":          both("FullRead"),
	"refund-state-as-paid": {"Orders/FullRead"},
	"tags-dropped":         {"Customers/FullRead"},
	// Context and error classes.
	"ignore-ctx":              append(both("Cancelled"), "TagWriter/Cancelled", "DiscountWriter/Cancelled", "MetafieldWriter/Cancelled", "Checker/Cancelled"),
	"errors-flattened":        append(both("Cancelled", "RateLimited", "Unauthorized"), "TagWriter/NotFound", "DiscountWriter/NotFound", "DiscountWriter/Rejected", "MetafieldWriter/NotFound", "Checker/Unauthorized"),
	"transient-as-rejected":   append(both("TransientFaults"), "TagWriter/TransientFaults", "TagWriter/WriteThenFail", "DiscountWriter/TransientFaults", "DiscountWriter/WriteThenFail", "MetafieldWriter/TransientFaults"),
	"swallow-not-found":       {"TagWriter/NotFound", "DiscountWriter/NotFound", "MetafieldWriter/NotFound"},
	"unsupported-as-rejected": {"MetafieldWriter/Guest"},
	"check-always-ok":         {"Checker/Unauthorized", "Checker/Cancelled"},
	"check-always-fails":      {"Checker/Healthy"},
	// Writes.
	"tags-replace-all":   {"TagWriter/AddKeepsOthers", "TagWriter/AddTwice"},
	"tags-remove-all":    {"TagWriter/Remove", "TagWriter/TransientFaults", "TagWriter/WriteThenFail"},
	"fields-replace-all": {"MetafieldWriter/SetAndOverwrite"},
	"discount-fresh-id":  {"DiscountWriter/EnsureTwice", "DiscountWriter/Shared", "DiscountWriter/CaseInsensitive", "DiscountWriter/WriteThenFail", "DiscountWriter/TransientFaults"},
	"discount-per-case":  {"DiscountWriter/CaseInsensitive"},
	// Webhooks.
	"webhook-unverified":       {"WebhookSource/Forged", "WebhookSource/Unsigned", "WebhookSource/Tampered"},
	"webhook-parse-first":      {"WebhookSource/Forged"},
	"webhook-unknown-is-error": {"WebhookSource/UnknownTopic"},
	"webhook-key-per-decode":   {"WebhookSource/Redelivery"},
	"webhook-key-per-resource": {"WebhookSource/NewEvent"},
	"webhook-payload-as-sig":   {"WebhookSource/BadPayload"},
	"webhook-wrong-kind":       {"WebhookSource/Decode"},
}

// both names a read subtest in the two streams.
func both(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, "Orders/"+n, "Customers/"+n)
	}
	return out
}

func TestSuiteCatchesBugs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite once per planted bug")
	}
	caught := map[string]bool{}
	for _, names := range mutants {
		for _, n := range names {
			caught[n] = true
		}
	}
	for _, n := range connectortest.Names() {
		if !caught[n] {
			t.Errorf("no planted bug shows that subtest %s can fail", n)
		}
	}
	for _, bug := range slices.Sorted(func(yield func(string) bool) {
		for b := range mutants {
			if !yield(b) {
				return
			}
		}
	}) {
		t.Run(bug, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMutant$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), mutantEnv+"="+bug)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed with bug %q planted (error %v); output:\n%s", bug, err, out)
			}
			for _, name := range mutants[bug] {
				if !strings.Contains(string(out), "--- FAIL: TestMutant/"+name+" (") {
					t.Errorf("bug %q: subtest %s did not fail", bug, name)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestMutant runs the suite on the connector with the bug named by
// $LOYALTYD_MEMORY_MUTANT planted; TestSuiteCatchesBugs runs it.
func TestMutant(t *testing.T) {
	bug := os.Getenv(mutantEnv)
	if bug == "" {
		t.Skip("run by TestSuiteCatchesBugs")
	}
	if _, ok := mutants[bug]; !ok {
		t.Fatalf("unknown bug %q", bug)
	}
	connectortest.Run(t, func(t *testing.T) connectortest.Fake {
		return &mutantFake{fake: newFake(t, 2), bug: bug}
	}, connectortest.Options{PageSize: 2})
}

type mutantFake struct {
	*fake
	bug string
}

func (f *mutantFake) Connector(t testing.TB) connectors.Connector {
	return &mutant{Connector: f.fake.Connector(t).(*memory.Connector), bug: f.bug, secret: f.secret, tokens: map[string]string{}}
}

// mutant is the memory connector with one bug.
type mutant struct {
	*memory.Connector
	bug    string
	secret string

	mu     stdsync.Mutex
	tokens map[string]string // connector-held-token: handle → real token
	n      int
}

func (m *mutant) next() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	return m.n
}

func (m *mutant) Orders(ctx context.Context, cur connectors.Cursor) (connectors.Page[commerce.Order], error) {
	return mutateRead(m, ctx, cur, m.Connector.Orders, func(o commerce.Order) time.Time { return o.UpdatedAt },
		func(o *commerce.Order) {
			switch m.bug {
			case "raw-missing":
				o.Raw = nil
			case "refund-state-as-paid":
				if o.State == commerce.StatePartiallyRefunded {
					o.State = commerce.StatePaid
				}
			}
		})
}

func (m *mutant) Customers(ctx context.Context, cur connectors.Cursor) (connectors.Page[commerce.Customer], error) {
	return mutateRead(m, ctx, cur, m.Connector.Customers, func(c commerce.Customer) time.Time { return c.UpdatedAt },
		func(c *commerce.Customer) {
			switch m.bug {
			case "raw-missing":
				c.Raw = nil
			case "tags-dropped":
				c.Tags = nil
			}
		})
}

// mutateRead plants the read bugs, the same in both streams; edit plants
// those in a record's fields.
func mutateRead[T any](m *mutant, ctx context.Context, cur connectors.Cursor,
	read func(context.Context, connectors.Cursor) (connectors.Page[T], error),
	updatedAt func(T) time.Time, edit func(*T),
) (connectors.Page[T], error) {
	inner := cur
	switch m.bug {
	case "ignore-ctx":
		ctx = context.Background()
	case "until-inclusive":
		if !cur.Until.IsZero() {
			inner.Until = cur.Until.Add(time.Nanosecond)
		}
	case "time-only-cursor":
		inner.Token = ""
		if cur.Token != "" {
			at, err := time.Parse(time.RFC3339Nano, cur.Token)
			if err != nil {
				return connectors.Page[T]{}, err
			}
			inner.Since = at.Add(time.Nanosecond)
		}
	case "connector-held-token":
		if cur.Token != "" {
			m.mu.Lock()
			inner.Token = m.tokens[cur.Token] // a handle from another instance: start over
			m.mu.Unlock()
		}
	}
	pg, err := read(ctx, inner)
	if m.bug == "bad-token-restarts" && errors.Is(err, connectors.ErrBadCursor) {
		inner.Token = "" // silently start the window again
		pg, err = read(ctx, inner)
	}
	pg.Next.Since, pg.Next.Until = cur.Since, cur.Until
	for i := range pg.Items {
		edit(&pg.Items[i])
	}
	switch m.bug {
	case "drop-last-of-page":
		if !pg.Done && len(pg.Items) > 0 {
			pg.Items = pg.Items[:len(pg.Items)-1]
		}
	case "time-only-cursor":
		if len(pg.Items) > 0 {
			pg.Next.Token = updatedAt(pg.Items[len(pg.Items)-1]).Format(time.RFC3339Nano)
		}
	case "since-exclusive":
		pg.Items = slices.DeleteFunc(pg.Items, func(it T) bool { return updatedAt(it).Equal(cur.Since) })
	case "reverse-page":
		slices.Reverse(pg.Items)
	case "never-done":
		pg.Done = false
	case "connector-held-token":
		if pg.Next.Token != "" {
			handle := fmt.Sprintf("h%d", m.next())
			m.mu.Lock()
			m.tokens[handle] = pg.Next.Token
			m.mu.Unlock()
			pg.Next.Token = handle
		}
	case "done-on-error":
		if err != nil {
			pg.Done = true
		}
	}
	if err != nil && m.bug != "done-on-error" {
		pg = connectors.Page[T]{}
	}
	return pg, m.mangle(err)
}

func (m *mutant) AddTags(ctx context.Context, customerID string, tags []string) error {
	ctx = m.context(ctx)
	if m.bug == "tags-replace-all" {
		var others []string
		for _, have := range m.Platform().Tags(customerID) {
			if !slices.Contains(tags, have) {
				others = append(others, have)
			}
		}
		if len(others) > 0 {
			if err := m.Connector.RemoveTags(ctx, customerID, others); err != nil {
				return m.mangle(err)
			}
		}
	}
	return m.mangle(m.Connector.AddTags(ctx, customerID, tags))
}

func (m *mutant) RemoveTags(ctx context.Context, customerID string, tags []string) error {
	ctx = m.context(ctx)
	if m.bug == "tags-remove-all" {
		tags = m.Platform().Tags(customerID)
	}
	return m.mangle(m.Connector.RemoveTags(ctx, customerID, tags))
}

func (m *mutant) EnsureDiscount(ctx context.Context, d commerce.DiscountCode) (string, error) {
	ctx = m.context(ctx)
	if m.bug == "discount-per-case" && d.Code == strings.ToLower(d.Code) {
		d.Code += "-lower" // as if the platform compared codes with their case
	}
	id, err := m.Connector.EnsureDiscount(ctx, d)
	if err == nil && m.bug == "discount-fresh-id" {
		id = fmt.Sprintf("%s-%d", id, m.next())
	}
	return id, m.mangle(err)
}

func (m *mutant) SetMetafields(ctx context.Context, customerID string, fields map[string]string) error {
	ctx = m.context(ctx)
	if m.bug == "fields-replace-all" {
		all := map[string]string{}
		for k := range m.Platform().Metafields(customerID) {
			all[k] = ""
		}
		for k, v := range fields {
			all[k] = v
		}
		fields = all
	}
	return m.mangle(m.Connector.SetMetafields(ctx, customerID, fields))
}

func (m *mutant) Check(ctx context.Context) error {
	ctx = m.context(ctx)
	switch m.bug {
	case "check-always-ok":
		return nil
	case "check-always-fails":
		return errors.New("check: missing scope read_customers")
	}
	return m.mangle(m.Connector.Check(ctx))
}

func (m *mutant) DecodeWebhook(h http.Header, body []byte) (commerce.Event, error) {
	switch m.bug {
	case "webhook-unverified":
		h = h.Clone()
		h.Set(memory.HeaderSignature, memory.Sign(m.secret, body))
	case "webhook-parse-first":
		if !json.Valid(body) {
			return commerce.Event{}, fmt.Errorf("%w: not JSON", connectors.ErrBadPayload)
		}
	}
	ev, err := m.Connector.DecodeWebhook(h, body)
	switch m.bug {
	case "webhook-unknown-is-error":
		if err == nil && ev.Kind == commerce.EventUnknown {
			return commerce.Event{}, fmt.Errorf("%w: unknown topic %s", connectors.ErrBadPayload, ev.Topic)
		}
	case "webhook-key-per-decode":
		ev.DedupeKey = fmt.Sprintf("%s-%d", ev.DedupeKey, m.next())
	case "webhook-key-per-resource":
		ev.DedupeKey = ev.Topic + ":" + ev.ResourceID
	case "webhook-payload-as-sig":
		if errors.Is(err, connectors.ErrBadPayload) {
			err = fmt.Errorf("%w: %v", connectors.ErrBadSignature, err)
		}
	case "webhook-wrong-kind":
		if ev.Kind == commerce.EventCustomerRedact {
			ev.Kind = commerce.EventCustomerDeleted
		}
	case "tags-dropped":
		if ev.Customer != nil {
			ev.Customer.Tags = nil
		}
	}
	return ev, err
}

// context plants ignore-ctx.
func (m *mutant) context(ctx context.Context) context.Context {
	if m.bug == "ignore-ctx" {
		return context.Background()
	}
	return ctx
}

// mangle plants the bugs that misreport errors.
func (m *mutant) mangle(err error) error {
	if err == nil {
		return nil
	}
	switch m.bug {
	case "errors-flattened":
		return errors.New(err.Error())
	case "transient-as-rejected":
		if errors.Is(err, memory.ErrInjected) {
			return fmt.Errorf("%w: %w", connectors.ErrRejected, err)
		}
	case "swallow-not-found":
		if errors.Is(err, connectors.ErrNotFound) {
			return nil
		}
	case "unsupported-as-rejected":
		if errors.Is(err, connectors.ErrUnsupported) {
			return fmt.Errorf("%w: %v", connectors.ErrRejected, err)
		}
	}
	return err
}
