package shopify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"

	"github.com/loyaltyd/loyaltyd/connectors"
)

// clock is a fake clock for the pacer: sleeping advances it.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func (c *clock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.t = c.t.Add(d)
	return nil
}

func testPacer(size int, rate float64) (*pacer, *clock) {
	c := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := newPacer(size, rate)
	p.now, p.sleep = c.now, c.sleep
	return p, c
}

// bucketModel is Shopify's bucket, to check the pacer against.
type bucketModel struct {
	size, rate, level float64
	at                time.Time
	overflows         int
}

func (b *bucketModel) request(now time.Time) string {
	if !b.at.IsZero() {
		b.level = math.Max(0, b.level-b.rate*now.Sub(b.at).Seconds())
	}
	b.at = now
	if b.level+1 > b.size {
		b.overflows++
		return fmt.Sprintf("%d/%d", int(b.size), int(b.size))
	}
	b.level++
	return fmt.Sprintf("%d/%d", int(b.level), int(b.size))
}

// TestPacerSteadyState drives the pacer against a model of the bucket,
// for both plans' buckets: after the burst, requests go out at the leak
// rate, none overflows, and reads leave the reserve free.
func TestPacerSteadyState(t *testing.T) {
	t.Parallel()
	for _, plan := range []struct {
		name string
		size int
		rate float64
	}{{"standard", 40, 2}, {"plus", 400, 20}} {
		t.Run(plan.name, func(t *testing.T) {
			t.Parallel()
			// The pacer learns the bucket from the header; start it
			// knowing nothing.
			p, c := testPacer(0, 0)
			b := &bucketModel{size: float64(plan.size), rate: plan.rate}
			n := 10 * plan.size
			start := c.t
			for range n {
				if err := p.wait(context.Background(), false); err != nil {
					t.Fatal(err)
				}
				h := http.Header{"X-Shopify-Shop-Api-Call-Limit": {b.request(c.t)}}
				c.t = c.t.Add(5 * time.Millisecond) // the round trip
				p.observe(http.StatusOK, h)
			}
			if b.overflows != 0 {
				t.Errorf("%d of %d requests overflowed the bucket", b.overflows, n)
			}
			// The bucket allows n requests in (n - size) / rate seconds.
			ideal := float64(n-plan.size) / plan.rate
			got := c.t.Sub(start).Seconds()
			if got > ideal*1.1 {
				t.Errorf("%d requests took %.1fs, more than 10%% over the %.1fs the bucket allows", n, got, ideal)
			}
			if reserve := float64(plan.size) - b.level; reserve < 2 {
				t.Errorf("reads left %.1f slots free, want the reserve", reserve)
			}
		})
	}
}

// TestPacerWritesUseReserve: when reads have filled the bucket to their
// limit, a write goes out at once and a read waits.
func TestPacerWritesUseReserve(t *testing.T) {
	t.Parallel()
	p, c := testPacer(40, 2)
	p.observe(http.StatusOK, http.Header{"X-Shopify-Shop-Api-Call-Limit": {"36/40"}})
	if d := p.delay(true); d != 0 {
		t.Errorf("a write waits %s with 36/40 used, want none", d)
	}
	if d := p.delay(false); d <= 0 {
		t.Errorf("a read goes out with 37/40 used, want it to wait for the reserve")
	}
	p.observe(http.StatusOK, http.Header{"X-Shopify-Shop-Api-Call-Limit": {"39/40"}})
	if d := p.delay(true); d <= 0 {
		t.Error("a write goes out with 39/40 used, want it to wait: the header rounds")
	}
	_ = c
}

// TestPacerRetryAfter: a 429 fills the estimate and holds every request
// back for the fraction of a second Retry-After says.
func TestPacerRetryAfter(t *testing.T) {
	t.Parallel()
	p, c := testPacer(40, 2)
	p.observe(http.StatusTooManyRequests, http.Header{"Retry-After": {"0.75"}})
	if d := p.delay(true); d < 750*time.Millisecond {
		t.Errorf("after a 429 with Retry-After 0.75, a write waits %s", d)
	}
	c.t = c.t.Add(time.Second)
	if d := p.delay(true); d != 0 {
		t.Errorf("a second after, a write still waits %s", d)
	}
}

// TestPacerLearnsBucket: the size comes from the header, and the leak rate
// with it unless the options fixed it.
func TestPacerLearnsBucket(t *testing.T) {
	t.Parallel()
	p, _ := testPacer(0, 0)
	p.observe(http.StatusOK, http.Header{"X-Shopify-Shop-Api-Call-Limit": {"1/400"}})
	if p.size != 400 || p.rate != 20 {
		t.Errorf("after 1/400: size %g, rate %g; want 400, 20", p.size, p.rate)
	}
	q, _ := testPacer(0, 7)
	q.observe(http.StatusOK, http.Header{"X-Shopify-Shop-Api-Call-Limit": {"1/400"}})
	if q.rate != 7 {
		t.Errorf("a configured leak rate became %g", q.rate)
	}
	for _, v := range []string{"", "40", "a/b", "3/0", "-1/40"} {
		if _, _, ok := parseCallLimit(v); ok {
			t.Errorf("parseCallLimit(%q) accepted", v)
		}
	}
}

func TestPacerCancelled(t *testing.T) {
	t.Parallel()
	p, _ := testPacer(40, 2)
	p.observe(http.StatusOK, http.Header{"X-Shopify-Shop-Api-Call-Limit": {"40/40"}})
	p.sleep = sleep // the real one, which honours ctx
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.wait(ctx, false); !errors.Is(err, context.Canceled) {
		t.Errorf("wait on a full bucket with an ended context: %v", err)
	}
}

// TestGatePriority: when the client is busy, a waiting write gets it
// before reads that waited longer, and reads keep their order.
func TestGatePriority(t *testing.T) {
	t.Parallel()
	var g gate
	ctx := context.Background()
	if err := g.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 3)
	// queue starts a waiter and returns once it is in the queue.
	queue := func(name string, write bool, reads, writes int) {
		go func() {
			if err := g.acquire(ctx, write); err != nil {
				order <- "error: " + err.Error()
				return
			}
			order <- name
			g.release()
		}()
		for {
			g.mu.Lock()
			r, w := len(g.waiting[0]), len(g.waiting[1])
			g.mu.Unlock()
			if r == reads && w == writes {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	queue("read1", false, 1, 0)
	queue("read2", false, 2, 0)
	queue("write", true, 2, 1)
	g.release()
	var got []string
	for range 3 {
		got = append(got, <-order)
	}
	if strings.Join(got, ",") != "write,read1,read2" {
		t.Errorf("the gate went to %v, want write first, then the reads in order", got)
	}
}

func TestGateCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	var g gate
	if err := g.acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := g.acquire(ctx, true); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("acquire on a busy gate until the deadline: %v", err)
	}
	g.release()
	if err := g.acquire(context.Background(), false); err != nil {
		t.Errorf("the gate is stuck after a waiter gave up: %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2.0", 2 * time.Second, true},
		{"0.25", 250 * time.Millisecond, true},
		{"1", time.Second, true},
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
		{"NaN", 0, false},
	} {
		got, ok := parseRetryAfter(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %t; want %s, %t", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestBackoff: a 429's Retry-After is honoured to the fraction of a
// second (retryablehttp's own backoff reads whole seconds only).
func TestBackoff(t *testing.T) {
	t.Parallel()
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"0.5"}}}
	if got := backoff(time.Second, 30*time.Second, 0, resp); got != 500*time.Millisecond {
		t.Errorf("backoff after Retry-After 0.5 = %s", got)
	}
	for attempt := range 8 {
		got := backoff(100*time.Millisecond, time.Second, attempt, &http.Response{StatusCode: 500, Header: http.Header{}})
		hi := min(100*time.Millisecond<<attempt, time.Second)
		if got < hi/2 || got > hi {
			t.Errorf("attempt %d: backoff %s outside [%s, %s]", attempt, got, hi/2, hi)
		}
	}
}

func TestCheckRetry(t *testing.T) {
	t.Parallel()
	withKind := func(k callKind) context.Context {
		return context.WithValue(context.Background(), callKey{}, &callState{kind: k, ex: &exchange{}})
	}
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code} }
	for _, tc := range []struct {
		name string
		ctx  context.Context
		resp *http.Response
		err  error
		want bool
	}{
		{"429 on a create", withKind(createCall), resp(429), nil, true},
		{"503 on a read", withKind(readCall), resp(503), nil, true},
		{"503 on a create", withKind(createCall), resp(503), nil, false},
		{"500 on a set", withKind(setCall), resp(500), nil, true},
		{"501", withKind(readCall), resp(501), nil, false},
		{"404", withKind(readCall), resp(404), nil, false},
		{"422", withKind(setCall), resp(422), nil, false},
		{"reset on a read", withKind(readCall), nil, errors.New("connection reset"), true},
		{"reset on a create", withKind(createCall), nil, errors.New("connection reset"), false},
		{"body too large", withKind(readCall), nil, errBodyTooLarge, false},
	} {
		got, _ := checkRetry(tc.ctx, tc.resp, tc.err)
		if got != tc.want {
			t.Errorf("%s: retry = %t, want %t", tc.name, got, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(withKind(readCall))
	cancel()
	if retry, err := checkRetry(ctx, resp(503), nil); retry || !errors.Is(err, context.Canceled) {
		t.Errorf("with an ended context: %t, %v", retry, err)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	rl := &exchange{header: http.Header{"Retry-After": {"1.5"}}}
	for _, tc := range []struct {
		name string
		ex   *exchange
		err  error
		want error
	}{
		{"401", nil, goshopify.ResponseError{Status: 401}, connectors.ErrUnauthorized},
		{"403", nil, goshopify.ResponseError{Status: 403}, connectors.ErrUnauthorized},
		{"404", nil, goshopify.ResponseError{Status: 404}, connectors.ErrNotFound},
		{"422", nil, goshopify.ResponseError{Status: 422, Errors: []string{"code: must be unique"}}, connectors.ErrRejected},
		{"400", nil, goshopify.ResponseError{Status: 400}, connectors.ErrRejected},
		{"502 not JSON", nil, goshopify.ResponseDecodingError{Status: 502}, nil},
		{"503", nil, goshopify.ResponseError{Status: 503}, nil},
		{"cancelled", nil, fmt.Errorf("x: %w", context.Canceled), context.Canceled},
		{"graphql access denied", nil, goshopify.ResponseError{Status: 200, Message: "Access denied for tagsAdd field. Required access: `write_customers` access scope."}, connectors.ErrUnauthorized},
		{"graphql other error", nil, goshopify.ResponseError{Status: 200, Message: "Internal error"}, nil},
	} {
		got := classify(tc.ex, tc.err)
		if tc.want == nil {
			for _, permanent := range []error{connectors.ErrUnauthorized, connectors.ErrNotFound, connectors.ErrRejected} {
				if errors.Is(got, permanent) {
					t.Errorf("%s: %v wraps %v, want a passing failure", tc.name, got, permanent)
				}
			}
			continue
		}
		if !errors.Is(got, tc.want) {
			t.Errorf("%s: %v does not wrap %v", tc.name, got, tc.want)
		}
	}
	got := classify(rl, goshopify.RateLimitError{RetryAfter: 1, ResponseError: goshopify.ResponseError{Status: 429}})
	if e, ok := errors.AsType[*connectors.RateLimitError](got); !ok || e.RetryAfter != 1500*time.Millisecond {
		t.Errorf("a 429 with Retry-After 1.5: %v, want a RateLimitError of 1.5s", got)
	}
}

// TestNextPageInfo: the Link header is parsed as a whole, so that commas
// inside a URL (fields=id,updated_at) do not break it as they break
// go-shopify v4.7.0's parser.
func TestNextPageInfo(t *testing.T) {
	t.Parallel()
	u := func(pi, extra string) string {
		return "https://acme.myshopify.com/admin/api/2025-07/orders.json?limit=250&page_info=" + pi + extra
	}
	for _, tc := range []struct {
		name, link, want string
		fails            bool
	}{
		{"none", "", "", false},
		{"next only", `<` + u("abc", "") + `>; rel="next"`, "abc", false},
		{"previous only", `<` + u("abc", "") + `>; rel="previous"`, "", false},
		{"both", `<` + u("p1", "") + `>; rel="previous", <` + u("n1", "") + `>; rel="next"`, "n1", false},
		{"fields with commas", `<` + u("p1", "&fields=id,updated_at") + `>; rel="previous", <` + u("n2", "&fields=id,updated_at") + `>; rel="next"`, "n2", false},
		{"unquoted rel", `<` + u("n3", "") + `>; rel=next`, "n3", false},
		{"no page_info", `<https://acme.myshopify.com/admin/api/2025-07/orders.json?limit=1>; rel="next"`, "", true},
	} {
		got, err := nextPageInfo(http.Header{"Link": {tc.link}})
		if got != tc.want || (err != nil) != tc.fails {
			t.Errorf("%s: got %q, %v; want %q (fails %t)", tc.name, got, err, tc.want, tc.fails)
		}
	}
}

// TestTransportRewritesToBaseURL: with base_url every call goes there,
// path and query kept.
func TestTransportRewritesToBaseURL(t *testing.T) {
	t.Parallel()
	var seen *http.Request
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = r
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody}, nil
	})
	base, _ := url.Parse("http://127.0.0.1:9999/proxy")
	tr := &transport{next: next, base: base, pacer: newPacer(0, 0)}
	req, _ := http.NewRequest("GET", "https://acme.myshopify.com/admin/api/2025-07/orders.json?limit=1", nil)
	if _, err := tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if got, want := seen.URL.String(), "http://127.0.0.1:9999/proxy/admin/api/2025-07/orders.json?limit=1"; got != want {
		t.Errorf("sent to %s, want %s", got, want)
	}
	if req.URL.Host != "acme.myshopify.com" {
		t.Error("the caller's request was changed")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
