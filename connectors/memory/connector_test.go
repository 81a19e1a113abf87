package memory_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/memory"
)

// open opens a memory connector from YAML settings for the store storeID.
func open(t *testing.T, storeID, settings string) (*memory.Connector, error) {
	t.Helper()
	c, err := connectors.Open(t.Context(), "memory", connectors.Options{StoreID: storeID, Decode: yamlDecoder(settings)})
	if err != nil {
		return nil, err
	}
	return c.(*memory.Connector), nil
}

func mustOpen(t *testing.T, storeID, settings string) *memory.Connector {
	t.Helper()
	c, err := open(t, storeID, settings)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return c
}

func TestOpenOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		storeID  string
		settings string
		wantErr  string // a substring naming the setting at fault; empty for success
	}{
		{"no settings", "$name", "", ""},
		{"every setting", "", "instance: $name\nwebhook_secret: hunter2\npage_size: 1000\n", ""},
		{"page size zero", "$name", "page_size: 0\n", ""},
		{"negative page size", "$name", "webhook_secret: hunter2\npage_size: -1\n", "page_size"},
		{"page size over the limit", "$name", "page_size: 1001\n", "page_size"},
		{"unknown setting", "$name", "pagesize: 3\n", "pagesize"},
		{"no instance and no store id", "", "page_size: 3\n", "instance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			t.Cleanup(func() { memory.Detach(t.Name()) })
			storeID := strings.ReplaceAll(tc.storeID, "$name", t.Name())
			settings := strings.ReplaceAll(tc.settings, "$name", t.Name())
			c, err := open(t, storeID, settings)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				if memory.Lookup(t.Name()) != c.Platform() {
					t.Errorf("the connector's platform is not the one attached under %q", t.Name())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("open: got error %v, want one naming %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error %q reveals the webhook secret", err)
			}
			if memory.Lookup(t.Name()) != nil {
				t.Errorf("a failed open attached a platform under %q", t.Name())
			}
		})
	}
}

func TestPageSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		platform int
		option   int
		want     int
	}{
		{"platform default", 0, 0, memory.DefaultPageSize},
		{"platform's own", 3, 0, 3},
		{"connector's option", 3, 5, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := memory.NewPlatform(memory.PlatformOptions{Now: func() time.Time { return testNow }, PageSize: tc.platform})
			memory.Attach(t.Name(), p)
			t.Cleanup(func() { memory.Detach(t.Name()) })
			for i := range memory.DefaultPageSize + 1 {
				p.PutCustomer(commerce.Customer{ID: fmt.Sprintf("c%03d", i)})
			}
			c := mustOpen(t, t.Name(), "page_size: "+strconv.Itoa(tc.option)+"\n")
			pg, err := c.Customers(t.Context(), connectors.Cursor{})
			if err != nil {
				t.Fatal(err)
			}
			if len(pg.Items) != tc.want || pg.Done {
				t.Errorf("first page: %d items, Done=%t; want %d, not done", len(pg.Items), pg.Done, tc.want)
			}
		})
	}
}

func TestNamedInstances(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	name := t.Name()
	fresh := name + "/fresh"
	t.Cleanup(func() { memory.Detach(name); memory.Detach(fresh) })

	if got := memory.Lookup(name); got != nil {
		t.Fatalf("Lookup(%q) before Attach = %p, want nil", name, got)
	}
	p := memory.NewPlatform(memory.PlatformOptions{})
	memory.Attach(name, p)
	if got := memory.Lookup(name); got != p {
		t.Errorf("Lookup after Attach = %p, want %p", got, p)
	}
	if c := mustOpen(t, "store", "instance: "+name+"\n"); c.Platform() != p {
		t.Errorf("a connector opened on %q reaches %p, want the attached %p", name, c.Platform(), p)
	}

	// An instance nobody attached opens on a new platform, which later
	// connectors naming it share.
	c1 := mustOpen(t, "store", "instance: "+fresh+"\n")
	created := memory.Lookup(fresh)
	if created == nil || c1.Platform() != created {
		t.Fatalf("opening %q attached %p, the connector reaches %p; want one platform", fresh, created, c1.Platform())
	}
	c2 := mustOpen(t, "store", "instance: "+fresh+"\n")
	created.PutCustomer(commerce.Customer{ID: "c1"})
	if err := c1.AddTags(ctx, "c1", []string{"vip"}); err != nil {
		t.Fatal(err)
	}
	pg, err := c2.Customers(ctx, connectors.Cursor{})
	if err != nil || len(pg.Items) != 1 || !pg.Items[0].HasTag("vip") {
		t.Errorf("the second connector reads %+v, %v; want the customer tagged through the first", pg.Items, err)
	}

	memory.Detach(fresh)
	if got := memory.Lookup(fresh); got != nil {
		t.Errorf("Lookup after Detach = %p, want nil", got)
	}
	if err := c1.Check(ctx); err != nil {
		t.Errorf("a connector on a detached platform: %v", err)
	}

	replacement := memory.NewPlatform(memory.PlatformOptions{})
	memory.Attach(name, replacement)
	if c := mustOpen(t, "store", "instance: "+name+"\n"); c.Platform() != replacement {
		t.Error("Attach did not replace the platform under its name")
	}

	defer func() {
		if recover() == nil {
			t.Error("Attach of a nil platform did not panic")
		}
	}()
	memory.Attach(name, nil)
}

func TestWebhookSecretOption(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		platform string // the attached platform's secret; "-" for none attached
		option   string
		wantErr  error
	}{
		{"the platform's secret", "plat", "", nil},
		{"the same secret configured", "plat", "plat", nil},
		{"another secret configured", "plat", "other", connectors.ErrBadSignature},
		{"a new platform takes the configured secret", "-", "opt", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			t.Cleanup(func() { memory.Detach(t.Name()) })
			if tc.platform != "-" {
				memory.Attach(t.Name(), memory.NewPlatform(memory.PlatformOptions{WebhookSecret: tc.platform}))
			}
			settings := ""
			if tc.option != "" {
				settings = "webhook_secret: " + tc.option + "\n"
			}
			c := mustOpen(t, t.Name(), settings)
			h, body, err := c.Platform().Webhook(memory.TopicAppUninstalled, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.DecodeWebhook(h, body); !errors.Is(err, tc.wantErr) {
				t.Errorf("DecodeWebhook: got error %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// seedOrders puts orders o1…o5 on p: o1 at t0, o2–o4 sharing t1, o5 at t2,
// in an order unlike their update order.
func seedOrders(p *memory.Platform) []time.Time {
	ts := []time.Time{testNow.Add(-3 * time.Hour), testNow.Add(-2 * time.Hour), testNow.Add(-time.Hour)}
	for _, o := range []struct {
		id string
		at time.Time
	}{{"o5", ts[2]}, {"o3", ts[1]}, {"o1", ts[0]}, {"o4", ts[1]}, {"o2", ts[1]}} {
		ord := sampleOrder(o.id, commerce.StatePending)
		ord.UpdatedAt = o.at
		p.PutOrder(ord)
	}
	return ts
}

func pagedPlatform(t *testing.T, pageSize int) (*memory.Platform, *memory.Connector, *clock) {
	t.Helper()
	clk := &clock{now: testNow}
	p := memory.NewPlatform(memory.PlatformOptions{Now: clk.Now, PageSize: pageSize})
	memory.Attach(t.Name(), p)
	t.Cleanup(func() { memory.Detach(t.Name()) })
	return p, mustOpen(t, t.Name(), ""), clk
}

func ids(os []commerce.Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}

func TestOrdersPages(t *testing.T) {
	t.Parallel()
	p, c, _ := pagedPlatform(t, 2)
	ts := seedOrders(p)
	cur := connectors.Cursor{Since: ts[0], Until: testNow}
	var got [][]string
	for range 5 {
		pg, err := c.Orders(t.Context(), cur)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(pg.Items))
		if !pg.Next.Since.Equal(cur.Since) || !pg.Next.Until.Equal(cur.Until) || pg.Next.Token == "" {
			t.Errorf("page %d: Next = %+v, want the window %+v with a token", len(got), pg.Next, cur)
		}
		for _, o := range pg.Items {
			held, _ := p.Order(o.ID)
			want, _ := json.Marshal(held)
			if string(o.Raw) != string(want) {
				t.Errorf("%s: Raw = %s, want the platform's record %s", o.ID, o.Raw, want)
			}
			o.Lines[0].Quantity = 99
			if again, _ := p.Order(o.ID); again.Lines[0].Quantity != held.Lines[0].Quantity {
				t.Errorf("%s: changing a read order changed the platform's", o.ID)
			}
		}
		if pg.Done {
			break
		}
		cur = pg.Next
	}
	want := [][]string{{"o1", "o2"}, {"o3", "o4"}, {"o5"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pages = %q, want %q", got, want)
	}
}

// TestOrdersUpdatedDuringRead: an order updated after its page was read
// moves behind the read's position and comes again, in its new state.
func TestOrdersUpdatedDuringRead(t *testing.T) {
	t.Parallel()
	p, c, _ := pagedPlatform(t, 2)
	seedOrders(p)
	pg, err := c.Orders(t.Context(), connectors.Cursor{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.MarkPaid("o1"); err != nil {
		t.Fatal(err)
	}
	var rest []commerce.Order
	for cur := pg.Next; !pg.Done; cur = pg.Next {
		if pg, err = c.Orders(t.Context(), cur); err != nil {
			t.Fatal(err)
		}
		rest = append(rest, pg.Items...)
	}
	if got, want := ids(rest), []string{"o3", "o4", "o5", "o1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after page one the read returned %q, want %q", got, want)
	}
	if last := rest[len(rest)-1]; last.State != commerce.StatePaid {
		t.Errorf("o1 came again as %s, want paid", last.State)
	}
}

func TestEmptyWindows(t *testing.T) {
	t.Parallel()
	p, c, _ := pagedPlatform(t, 2)
	ts := seedOrders(p)
	for _, cur := range []connectors.Cursor{
		{Since: ts[1], Until: ts[1]},
		{Since: ts[2], Until: ts[0]},
		{Since: testNow},
	} {
		pg, err := c.Orders(t.Context(), cur)
		if err != nil || len(pg.Items) != 0 || !pg.Done {
			t.Errorf("Orders(%+v) = %q, Done=%t, %v; want nothing, done", cur, ids(pg.Items), pg.Done, err)
		}
	}
}

func TestCursorToken(t *testing.T) {
	t.Parallel()
	p, c, _ := pagedPlatform(t, 1)
	seedOrders(p)
	p.PutCustomer(commerce.Customer{ID: "c1"})
	p.PutCustomer(commerce.Customer{ID: "c2"})
	cpg, err := c.Customers(t.Context(), connectors.Cursor{})
	if err != nil {
		t.Fatal(err)
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for name, token := range map[string]string{
		"not base64":      "!!!",
		"padded base64":   base64.URLEncoding.EncodeToString([]byte(`{"s":"orders","t":"2025-06-01T09:00:00Z","id":"o10"}`)),
		"not JSON":        enc("hello"),
		"a JSON array":    enc("[]"),
		"unknown field":   enc(`{"s":"orders","t":"2025-06-01T09:00:00Z","id":"o1","x":1}`),
		"trailing data":   enc(`{"s":"orders","t":"2025-06-01T09:00:00Z","id":"o1"} {}`),
		"no id":           enc(`{"s":"orders","t":"2025-06-01T09:00:00Z"}`),
		"no time":         enc(`{"s":"orders","id":"o1"}`),
		"bad time":        enc(`{"s":"orders","t":"yesterday","id":"o1"}`),
		"a customers one": cpg.Next.Token,
		"very long":       strings.Repeat("A", 10000),
	} {
		pg, err := c.Orders(t.Context(), connectors.Cursor{Token: token})
		if err == nil || !strings.Contains(err.Error(), "invalid cursor token") {
			t.Errorf("%s: got error %v, want an invalid cursor token", name, err)
			continue
		}
		if len(err.Error()) > 200 {
			t.Errorf("%s: the error is %d bytes long, want the token cut short", name, len(err.Error()))
		}
		if len(pg.Items) != 0 || pg.Done {
			t.Errorf("%s: got %d items, Done=%t with the error; want nothing", name, len(pg.Items), pg.Done)
		}
	}
}

func FuzzCursorToken(f *testing.F) {
	p := memory.NewPlatform(memory.PlatformOptions{Now: func() time.Time { return testNow }, PageSize: 1})
	memory.Attach(f.Name(), p)
	f.Cleanup(func() { memory.Detach(f.Name()) })
	seedOrders(p)
	c, err := connectors.Open(f.Context(), "memory", connectors.Options{StoreID: f.Name()})
	if err != nil {
		f.Fatal(err)
	}
	pg, err := c.Orders(f.Context(), connectors.Cursor{})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"", pg.Next.Token, "!!!", "e30", base64.RawURLEncoding.EncodeToString([]byte(`{"s":"orders","t":"0001-01-01T00:00:00Z","id":"x"}`))} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		pg, err := c.Orders(t.Context(), connectors.Cursor{Token: token})
		if err != nil && (len(pg.Items) > 0 || pg.Done) {
			t.Errorf("token %q: error %v came with %d items, Done=%t", token, err, len(pg.Items), pg.Done)
		}
	})
}
