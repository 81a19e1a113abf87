package shopify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	stdsync "sync"
	"time"
	"unicode/utf8"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/sirupsen/logrus"

	"github.com/loyaltyd/loyaltyd/connectors"
)

// This file is the one place where the connector talks HTTP. The layers,
// from the outside in:
//
//	go-shopify *Client (one per shop, WithRetry(0): its own retry sleeps
//	    ignore the context and truncate Retry-After to whole seconds)
//	  gate: one call to the shop at a time, write-backs ahead of reads
//	    http.Client from go-retryablehttp: retries 429 always and 5xx and
//	        broken connections of idempotent calls, with a context-aware
//	        backoff that honours a fractional Retry-After
//	      http.Client: per-attempt timeout, follows the discount lookup's 303
//	        transport: base_url rewrite, pacing of every REST attempt,
//	            reads the whole body (a body cut off is a retryable error),
//	            feeds the pacer from X-Shopify-Shop-Api-Call-Limit, logs the
//	            API version the shop served
//	          the caller's transport (connectors.Options.HTTPClient) or
//	          http.DefaultTransport

// maxBody bounds a response body: a page of 250 large orders is a few MB.
const maxBody = 64 << 20

// callKind says how a call may be retried and how urgently it goes out.
type callKind struct {
	// write marks an interactive write-back (and the look-ups it makes):
	// it goes ahead of waiting reads and may use the bucket's reserve.
	write bool
	// idempotent marks a call that is safe to send again after a failure
	// of unknown outcome (a 5xx, a broken connection).
	idempotent bool
}

var (
	// readCall is a sync read.
	readCall = callKind{idempotent: true}
	// lookupCall is a read a write-back makes.
	lookupCall = callKind{write: true, idempotent: true}
	// createCall is a write that must not be repeated blindly: a second
	// price rule would be a second discount.
	createCall = callKind{write: true}
	// setCall is a write whose repetition changes nothing (tagsAdd,
	// metafieldsSet, and a discount code, whose duplicate is refused).
	setCall = callKind{write: true, idempotent: true}
)

// exchange is what the transport saw of a call's last response.
type exchange struct {
	status int
	header http.Header
}

type callKey struct{}

type callState struct {
	kind callKind
	ex   *exchange
}

func stateFrom(ctx context.Context) *callState {
	st, _ := ctx.Value(callKey{}).(*callState)
	return st
}

// client is the connector's HTTP side for one shop.
type client struct {
	sg         *goshopify.Client
	gate       gate
	pacer      *pacer
	log        logrus.FieldLogger
	version    string
	maxRetries int
	retryWait  time.Duration

	mu          stdsync.Mutex
	served      string          // the API version the shop last served
	deprecation map[string]bool // deprecation reasons already logged
}

// clientOptions are what newClient needs from the store's options.
type clientOptions struct {
	shop       string // full myshopify domain
	token      string
	version    string
	baseURL    *url.URL // nil: https://{shop}
	timeout    time.Duration
	maxRetries int
	retryWait  time.Duration
	retryMax   time.Duration
	bucketSize int
	leakRate   float64
	httpClient *http.Client // under the retries; nil for the default
	log        logrus.FieldLogger
}

func newClient(o clientOptions) (*client, error) {
	c := &client{
		pacer:       newPacer(o.bucketSize, o.leakRate),
		log:         o.log,
		version:     o.version,
		maxRetries:  o.maxRetries,
		retryWait:   o.retryWait,
		deprecation: map[string]bool{},
	}
	inner := &http.Client{Timeout: o.timeout}
	var next http.RoundTripper = http.DefaultTransport
	if hc := o.httpClient; hc != nil {
		if hc.Transport != nil {
			next = hc.Transport
		}
		if hc.Timeout != 0 {
			inner.Timeout = hc.Timeout
		}
		inner.Jar = hc.Jar
	}
	inner.Transport = &transport{next: next, base: o.baseURL, pacer: c.pacer, seen: c.observe}
	rc := &retryablehttp.Client{
		HTTPClient:   inner,
		Logger:       nil, // it would log URLs; the connector logs what matters
		RetryWaitMin: o.retryWait,
		RetryWaitMax: o.retryMax,
		RetryMax:     o.maxRetries,
		CheckRetry:   checkRetry,
		Backoff:      backoff,
		ErrorHandler: lastResponse,
	}
	sg, err := goshopify.NewClient(goshopify.App{}, o.shop, o.token,
		goshopify.WithVersion(o.version),
		goshopify.WithRetry(0),
		goshopify.WithHTTPClient(rc.StandardClient()),
	)
	if err != nil {
		return nil, err
	}
	c.sg = sg
	return c, nil
}

// call runs fn, which makes one go-shopify call, alone on the shop's
// client, and returns what the transport saw of the last response.
// go-shopify's client is not safe for concurrent use, so fn must not keep
// it.
func (c *client) call(ctx context.Context, k callKind, fn func(context.Context, *goshopify.Client) error) (*exchange, error) {
	ex := &exchange{}
	if err := ctx.Err(); err != nil {
		return ex, err
	}
	ctx = context.WithValue(ctx, callKey{}, &callState{kind: k, ex: ex})
	if err := c.gate.acquire(ctx, k.write); err != nil {
		return ex, err
	}
	defer c.gate.release()
	return ex, fn(ctx, c.sg)
}

// graphql runs a GraphQL query or mutation. GraphQL has its own cost-based
// limit, which Shopify reports as an HTTP 200 with a THROTTLED error;
// go-shopify (with no retries) returns that at once, and graphql waits the
// time the cost extension says and tries again.
func (c *client) graphql(ctx context.Context, k callKind, query string, vars, out any) (*exchange, error) {
	for attempt := 0; ; attempt++ {
		var wait float64
		ex, err := c.call(ctx, k, func(ctx context.Context, sg *goshopify.Client) error {
			err := sg.GraphQL.Query(ctx, query, vars, out)
			if rl, ok := errors.AsType[goshopify.RateLimitError](err); ok && rl.Status == http.StatusOK {
				wait = max(sg.RateLimits.RetryAfterSeconds, c.retryWait.Seconds())
			}
			return err
		})
		if err == nil || wait == 0 || attempt >= c.maxRetries {
			if wait > 0 {
				return ex, &connectors.RateLimitError{RetryAfter: seconds(wait)}
			}
			return ex, err
		}
		if err := sleep(ctx, seconds(wait)); err != nil {
			return ex, err
		}
	}
}

// observe logs the API version the shop served, once and whenever it
// changes, and each deprecation reason once.
func (c *client) observe(req *http.Request, resp *http.Response) {
	v := resp.Header.Get("X-Shopify-API-Version")
	if !strings.HasPrefix(req.URL.Path, "/admin/api/") {
		// An unversioned call (the access scopes) is served in whatever
		// version the shop picks: it says nothing of the configured one.
		v = ""
	}
	reason := resp.Header.Get("X-Shopify-API-Deprecated-Reason")
	if v == "" && reason == "" {
		return
	}
	c.mu.Lock()
	newVersion := v != "" && v != c.served
	if newVersion {
		c.served = v
	}
	newReason := reason != "" && !c.deprecation[reason]
	if newReason {
		c.deprecation[reason] = true
	}
	c.mu.Unlock()
	if newVersion {
		l := c.log.WithFields(logrus.Fields{"api_version": v, "requested_version": c.version})
		if v != c.version {
			l.Warn("shopify served another API version than the one configured: the configured one is not supported (any more); set api_version to a supported version")
		} else {
			l.Info("shopify API version in use")
		}
	}
	if newReason {
		c.log.WithFields(logrus.Fields{"api_version": v, "path": req.URL.Path, "reason": truncate(reason, 300)}).
			Warn("shopify reports that loyaltyd uses a deprecated API")
	}
}

// servedVersion returns the API version the shop last served, if any.
func (c *client) servedVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.served
}

// transport is the innermost layer of the connector's own: it sees every
// attempt, redirects included.
type transport struct {
	next  http.RoundTripper
	base  *url.URL
	pacer *pacer
	seen  func(*http.Request, *http.Response)
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	out := req
	if t.base != nil {
		out = req.Clone(ctx)
		out.URL.Scheme, out.URL.Host = t.base.Scheme, t.base.Host
		out.URL.Path = path.Join("/", t.base.Path, req.URL.Path)
		out.URL.RawPath = ""
		out.Host = ""
	}
	st := stateFrom(ctx)
	write := st != nil && st.kind.write
	// GraphQL has a cost-based limit of its own, not the REST bucket.
	paced := !strings.HasSuffix(req.URL.Path, "/graphql.json")
	if paced {
		if err := t.pacer.wait(ctx, write); err != nil {
			return nil, err
		}
	}
	resp, err := t.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read response body: %w", err)
	}
	if len(body) > maxBody {
		return nil, errBodyTooLarge
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Request = req
	if paced {
		t.pacer.observe(resp.StatusCode, resp.Header)
	}
	if st != nil {
		st.ex.status, st.ex.header = resp.StatusCode, resp.Header.Clone()
	}
	if t.seen != nil {
		t.seen(req, resp)
	}
	return resp, nil
}

var errBodyTooLarge = fmt.Errorf("response body larger than %d bytes", maxBody)

// checkRetry is the retry policy: a 429 is retried for any call, because
// Shopify refuses it before doing anything; a 5xx and a broken connection
// only for idempotent calls, because the call may have been done.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	st := stateFrom(ctx)
	idempotent := st == nil || st.kind.idempotent
	if err != nil {
		if errors.Is(err, errBodyTooLarge) {
			return false, nil
		}
		// The library's policy knows the errors no retry fixes (a bad
		// certificate, too many redirects).
		retry, _ := retryablehttp.DefaultRetryPolicy(ctx, nil, err)
		return retry && idempotent, nil
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return true, nil
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return idempotent, nil
	}
	return false, nil
}

// backoff waits what Retry-After asks, to the fraction of a second, on a
// 429 or 503; otherwise exponentially from lo, capped at hi, with jitter.
func backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After")); ok {
			return d
		}
	}
	d := lo << min(attempt, 30)
	if d <= 0 || d > hi {
		d = hi
	}
	// Full jitter in the upper half keeps a fleet from retrying in step.
	return d/2 + rand.N(d/2+1)
}

// lastResponse hands the last response of exhausted retries to go-shopify,
// which turns a 429 into a RateLimitError and a 5xx into a ResponseError
// with Shopify's message.
func lastResponse(resp *http.Response, err error, _ int) (*http.Response, error) {
	if resp != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return resp, nil
	}
	if resp != nil {
		resp.Body.Close()
	}
	return nil, err
}

// parseRetryAfter reads Retry-After as seconds, fractional ("2.0",
// "0.25"), or as an HTTP date. A wait longer than an hour is not believed,
// in either form.
func parseRetryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 || math.IsNaN(f) || f > 3600 {
			return 0, false
		}
		return seconds(f), true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d <= time.Hour {
			return max(d, 0), true
		}
	}
	return 0, false
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// apiError is an error answer of the shop, classified.
type apiError struct {
	status int
	msg    string
	kind   error // a connectors sentinel, or nil for a passing failure
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("shopify answered %d", e.status)
	if e.status == http.StatusOK {
		s = "shopify answered with errors"
	}
	if e.msg != "" {
		s += ": " + e.msg
	}
	if e.kind != nil {
		s = e.kind.Error() + ": " + s
	}
	return s
}

func (e *apiError) Unwrap() error { return e.kind }

// classify turns a go-shopify or transport error into the contract's
// errors: ctx.Err() stays, a 429 becomes a *connectors.RateLimitError with
// the exact Retry-After, 401, 403 and a GraphQL "Access denied" wrap
// ErrUnauthorized, 404 ErrNotFound, 400 and 422 ErrRejected, and anything
// else is a passing failure that retrying may fix.
func classify(ex *exchange, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if rl, ok := errors.AsType[*connectors.RateLimitError](err); ok {
		return rl
	}
	if rl, ok := errors.AsType[goshopify.RateLimitError](err); ok {
		ra := time.Duration(rl.RetryAfter) * time.Second
		if ex != nil && ex.header != nil {
			if d, ok := parseRetryAfter(ex.header.Get("Retry-After")); ok {
				ra = d
			}
		}
		return &connectors.RateLimitError{RetryAfter: ra}
	}
	status, msg := 0, ""
	if re, ok := errors.AsType[goshopify.ResponseError](err); ok {
		status, msg = re.Status, re.Error()
	} else if de, ok := errors.AsType[goshopify.ResponseDecodingError](err); ok {
		status, msg = de.Status, "an error body that is not JSON"
		if status == 0 {
			// A 2xx body go-shopify could not read: a passing failure.
			return fmt.Errorf("undecodable response: %s", truncate(de.Message, 200))
		}
	} else {
		return err
	}
	e := &apiError{status: status, msg: truncate(msg, 300)}
	switch {
	case status == http.StatusOK && strings.HasPrefix(msg, "Access denied"):
		// A GraphQL ACCESS_DENIED, whose code go-shopify drops: a scope
		// is missing.
		e.kind = connectors.ErrUnauthorized
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		e.kind = connectors.ErrUnauthorized
	case status == http.StatusNotFound:
		e.kind = connectors.ErrNotFound
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity,
		status == http.StatusNotAcceptable, status == http.StatusPaymentRequired:
		e.kind = connectors.ErrRejected
	case status == http.StatusTooManyRequests:
		return &connectors.RateLimitError{}
	}
	return e
}

// statusOf returns the HTTP status of a go-shopify error answer, or 0.
func statusOf(err error) int {
	if re, ok := errors.AsType[goshopify.ResponseError](err); ok {
		return re.Status
	}
	if de, ok := errors.AsType[goshopify.ResponseDecodingError](err); ok {
		return de.Status
	}
	return 0
}

// linkRE matches one link of a Link header. The header is not split on
// commas first, as go-shopify v4.7.0 does: Shopify echoes fields=a,b in
// the URLs with literal commas.
var linkRE = regexp.MustCompile(`<([^>]*)>\s*;\s*rel="?(next|previous)"?`)

// nextPageInfo returns the page_info of the Link header's next page, or ""
// on the last page.
func nextPageInfo(h http.Header) (string, error) {
	for _, v := range h.Values("Link") {
		for _, m := range linkRE.FindAllStringSubmatch(v, -1) {
			if m[2] != "next" {
				continue
			}
			u, err := url.Parse(m[1])
			if err != nil {
				return "", fmt.Errorf("link header: next URL: %w", err)
			}
			pi := u.Query().Get("page_info")
			if pi == "" {
				return "", errors.New("link header: next URL without page_info")
			}
			if !utf8.ValidString(pi) {
				// It could not be kept in a cursor token as it is.
				return "", errors.New("link header: next URL with a page_info that is not text")
			}
			return pi, nil
		}
	}
	return "", nil
}

// gate lets one call at a time use the shop's client and hands it on to a
// waiting write-back before any waiting read, so that an interactive
// write waits at most for the call in flight, not for a backfill.
type gate struct {
	mu      stdsync.Mutex
	busy    bool
	waiting [2][]chan struct{} // [0] reads, [1] writes, in arrival order
}

func (g *gate) acquire(ctx context.Context, write bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		return nil
	}
	q := 0
	if write {
		q = 1
	}
	ch := make(chan struct{})
	g.waiting[q] = append(g.waiting[q], ch)
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		for i, w := range g.waiting[q] {
			if w == ch {
				g.waiting[q] = append(g.waiting[q][:i], g.waiting[q][i+1:]...)
				g.mu.Unlock()
				return ctx.Err()
			}
		}
		g.mu.Unlock()
		// Granted while giving up: pass the turn on.
		g.release()
		return ctx.Err()
	}
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for q := 1; q >= 0; q-- {
		if len(g.waiting[q]) > 0 {
			ch := g.waiting[q][0]
			g.waiting[q] = g.waiting[q][1:]
			close(ch)
			return
		}
	}
	g.busy = false
}

// Defaults of the pacer until the shop's first answer says otherwise: a
// Standard plan's bucket. Shopify's documented plans leak a twentieth of
// the bucket a second (40 at 2/s, 400 at 20/s).
const (
	defaultBucket  = 40
	leakDivisor    = 20
	writeMargin    = 1    // slots writes leave free: the header rounds
	readReserve    = 0.1  // share of the bucket reads leave to writes
	minReadReserve = 2    // at least this many slots
	defaultBlocked = 1.0  // seconds to hold off after a 429 without Retry-After
	minPace        = 1e-3 // seconds; below this a wait is not worth a timer
)

// pacer keeps the shop's leaky bucket from overflowing. It models the
// bucket as Shopify does (a request adds one; the level drains at the leak
// rate), resets its estimate from X-Shopify-Shop-Api-Call-Limit on every
// answer, and holds a request back until it fits. Reads leave a reserve
// free, so that a write-back never waits for the bucket to drain while a
// backfill runs; writes may use all but a margin.
type pacer struct {
	mu      stdsync.Mutex
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	size    float64
	rate    float64
	fixed   bool // rate came from the options: keep it when the size changes
	level   float64
	at      time.Time
	blocked time.Time
}

func newPacer(size int, rate float64) *pacer {
	p := &pacer{now: time.Now, sleep: sleep, size: defaultBucket}
	if size > 0 {
		p.size = float64(size)
	}
	p.rate = p.size / leakDivisor
	if rate > 0 {
		p.rate, p.fixed = rate, true
	}
	return p
}

// decay drains the estimate to now.
func (p *pacer) decay(now time.Time) {
	if !p.at.IsZero() {
		p.level = max(0, p.level-p.rate*now.Sub(p.at).Seconds())
	}
	p.at = now
}

// limit is the highest level a request of the kind may bring the bucket to.
func (p *pacer) limit(write bool) float64 {
	if write {
		return p.size - writeMargin
	}
	return p.size - max(minReadReserve, math.Ceil(p.size*readReserve))
}

// delay returns how long a request must wait, and counts it in when it
// need not.
func (p *pacer) delay(write bool) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.decay(now)
	var d time.Duration
	if now.Before(p.blocked) {
		d = p.blocked.Sub(now)
	}
	if over := p.level + 1 - p.limit(write); over > 0 {
		d = max(d, seconds(over/p.rate))
	}
	if d < seconds(minPace) {
		p.level++
		return 0
	}
	return d
}

// wait blocks until a request fits in the bucket or ctx ends.
func (p *pacer) wait(ctx context.Context, write bool) error {
	for {
		d := p.delay(write)
		if d == 0 {
			return ctx.Err()
		}
		if err := p.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// observe takes the shop's view of the bucket from an answer.
func (p *pacer) observe(status int, h http.Header) {
	used, size, ok := parseCallLimit(h.Get("X-Shopify-Shop-Api-Call-Limit"))
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.decay(now)
	if ok {
		p.size = size
		if !p.fixed {
			p.rate = size / leakDivisor
		}
		p.level = used
	}
	if status == http.StatusTooManyRequests {
		p.level = p.size
		ra, ok := parseRetryAfter(h.Get("Retry-After"))
		if !ok {
			ra = seconds(defaultBlocked)
		}
		p.blocked = now.Add(ra)
	}
}

// parseCallLimit reads "32/40".
func parseCallLimit(v string) (used, size float64, ok bool) {
	u, s, found := strings.Cut(strings.TrimSpace(v), "/")
	if !found {
		return 0, 0, false
	}
	ui, err1 := strconv.Atoi(strings.TrimSpace(u))
	si, err2 := strconv.Atoi(strings.TrimSpace(s))
	if err1 != nil || err2 != nil || si <= 0 || ui < 0 {
		return 0, 0, false
	}
	return float64(ui), float64(si), true
}
