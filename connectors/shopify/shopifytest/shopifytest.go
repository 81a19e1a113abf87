// Package shopifytest is a fake of the Shopify Admin API, as far as
// loyaltyd uses it: an HTTP server that tests and `loyaltyd demo` start on
// a loopback address and point the shopify connector's base_url at.
//
// It keeps customers and orders in Shopify's REST shapes and serves them
// as Shopify does: cursor pagination through Link headers whose page_info
// request may carry nothing but limit and fields (anything else is a 400),
// orders filtered to status=open unless asked otherwise, orders older than
// 60 days hidden without read_all_orders, ids as 64-bit numbers, amounts
// as strings with *_set values, timestamps in the shop's zone. It limits
// REST calls with a leaky bucket reported in X-Shopify-Shop-Api-Call-Limit
// and answers 429 with Retry-After when it overflows, and GraphQL calls
// with a cost bucket that answers THROTTLED. It takes price rules and
// discount codes (unique without regard to case, looked up with a 303
// redirect), GraphQL tagsAdd, tagsRemove, metafieldsSet and
// metafieldsDelete with userErrors, webhook subscriptions, and reports the
// API version it served. It signs webhook deliveries and sends them to a
// URL.
//
// A test can inject faults (5xx answers, dropped connections, slow
// answers, answers cut off halfway, writes done but never answered),
// revoke access, change the scopes, speed up the platform's time
// (TimeScale) so that rate limits are reached in milliseconds, and read
// back what was written.
//
// Nothing here needs a *testing.T: the demo runs the same server.
package shopifytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"time"
)

// Options configure a Server. The zero value is a Standard-plan shop that
// grants every scope loyaltyd needs, read_all_orders included.
type Options struct {
	// Shop is the shop's myshopify name; default "loyaltyd-fake".
	Shop string
	// AccessToken is the token the server accepts; default
	// "shpat_shopifytest".
	AccessToken string
	// APISecret signs webhooks; default "shpss_shopifytest".
	APISecret string
	// Scopes are the access scopes granted; nil means DefaultScopes.
	Scopes []string
	// APIVersions are the versions served; a request for another (or for
	// none) is served by the oldest, as Shopify does. Nil means
	// DefaultAPIVersions.
	APIVersions []string
	// DeprecatedReason, if set, is sent as X-Shopify-API-Deprecated-Reason
	// on every answer.
	DeprecatedReason string
	// Currency is the shop's currency; default USD.
	Currency string
	// Location is the shop's time zone, in which timestamps are written;
	// nil means UTC-05:00.
	Location *time.Location
	// Now is the platform's clock for records: creation times, the 60-day
	// window. Nil means time.Now. Rate limits use the wall clock (scaled).
	Now func() time.Time
	// BucketSize and LeakRate are the REST bucket (requests, and requests a
	// second of platform time); zero means 40 and 2, the Standard plan.
	BucketSize int
	LeakRate   float64
	// RetryAfter is what a 429 asks to wait, in platform time; zero means
	// 2s, Shopify's constant answer.
	RetryAfter time.Duration
	// TimeScale makes the platform's time run that many times faster than
	// the wall clock: the bucket leaks, Retry-After values and injected
	// delays shrink by it. Zero means 1.
	TimeScale float64
	// GraphQLBucket and GraphQLRestoreRate are the GraphQL cost limit
	// (points, points a second); zero means 1000 and 100.
	GraphQLBucket      float64
	GraphQLRestoreRate float64
	// Client sends webhook deliveries; nil means a client with Shopify's
	// 5-second timeout.
	Client *http.Client
}

// DefaultScopes returns the scopes a zero Options grants.
func DefaultScopes() []string {
	return []string{"read_all_orders", "read_customers", "read_orders", "read_price_rules", "write_customers", "write_discounts", "write_price_rules"}
}

// DefaultAPIVersions returns the versions a zero Options serves, oldest
// first.
func DefaultAPIVersions() []string {
	return []string{"2024-10", "2025-01", "2025-04", "2025-07", "2025-10"}
}

// Server is a fake Shopify shop. Its methods are safe for concurrent use.
type Server struct {
	opts   Options
	domain string
	shopID uint64
	key    []byte // signs page_info values

	mu          stdsync.Mutex
	customers   map[uint64]*record
	orders      map[uint64]*record
	rules       map[uint64]*priceRule
	codes       map[uint64]*discountCode
	codeByFold  map[string]uint64
	creations   map[string]int
	metafields  map[uint64]map[string]*metafield // customer → namespace.key
	subs        map[uint64]*subscription
	scopes      map[string]bool
	revoked     bool
	faults      map[Op][]Fault
	writes      []Write
	bucket      bucket
	gql         bucket
	stats       Stats
	nextID      uint64
	listenErr   error
	httpServer  *http.Server
	listener    net.Listener
	served      chan struct{}
	startedOnce stdsync.Once
}

// NewServer returns a server with an empty shop. Start it, or mount
// Handler on a server of your own.
func NewServer(o Options) *Server {
	if o.Shop == "" {
		o.Shop = "loyaltyd-fake"
	}
	o.Shop = strings.TrimSuffix(o.Shop, ".myshopify.com")
	if o.AccessToken == "" {
		o.AccessToken = "shpat_shopifytest"
	}
	if o.APISecret == "" {
		o.APISecret = "shpss_shopifytest"
	}
	if o.Scopes == nil {
		o.Scopes = DefaultScopes()
	}
	if len(o.APIVersions) == 0 {
		o.APIVersions = DefaultAPIVersions()
	}
	o.APIVersions = slices.Clone(o.APIVersions)
	slices.Sort(o.APIVersions)
	if o.Currency == "" {
		o.Currency = "USD"
	}
	if o.Location == nil {
		o.Location = time.FixedZone("UTC-05:00", -5*3600)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BucketSize <= 0 {
		o.BucketSize = 40
	}
	if o.LeakRate <= 0 {
		o.LeakRate = 2
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 2 * time.Second
	}
	if o.TimeScale <= 0 {
		o.TimeScale = 1
	}
	if o.GraphQLBucket <= 0 {
		o.GraphQLBucket = 1000
	}
	if o.GraphQLRestoreRate <= 0 {
		o.GraphQLRestoreRate = 100
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 5 * time.Second}
	}
	s := &Server{
		opts:       o,
		domain:     o.Shop + ".myshopify.com",
		shopID:     61_000_000_001,
		key:        randomBytes(32),
		customers:  map[uint64]*record{},
		orders:     map[uint64]*record{},
		rules:      map[uint64]*priceRule{},
		codes:      map[uint64]*discountCode{},
		codeByFold: map[string]uint64{},
		creations:  map[string]int{},
		metafields: map[uint64]map[string]*metafield{},
		subs:       map[uint64]*subscription{},
		faults:     map[Op][]Fault{},
		nextID:     9_000_000_000,
	}
	s.setScopes(o.Scopes)
	s.bucket = bucket{size: float64(o.BucketSize), rate: o.LeakRate, scale: o.TimeScale}
	s.gql = bucket{size: o.GraphQLBucket, rate: o.GraphQLRestoreRate, scale: o.TimeScale}
	s.stats.ByOp = map[Op]int{}
	return s
}

// Start listens on a free port of 127.0.0.1 and serves until Close.
func (s *Server) Start() error {
	s.startedOnce.Do(func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.listenErr = fmt.Errorf("shopifytest: listen: %w", err)
			return
		}
		s.listener = ln
		s.httpServer = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
		s.served = make(chan struct{})
		go func() {
			defer close(s.served)
			_ = s.httpServer.Serve(ln)
		}()
	})
	return s.listenErr
}

// Close stops a started server and waits for it; it is safe to call more
// than once and on a server never started.
func (s *Server) Close() error {
	if s.httpServer == nil {
		return nil
	}
	err := s.httpServer.Close()
	<-s.served
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// URL returns the address of a started server, for the connector's
// base_url ("http://127.0.0.1:PORT"); "" before Start.
func (s *Server) URL() string {
	if s.listener == nil {
		return ""
	}
	return "http://" + s.listener.Addr().String()
}

// Settings returns the shopify connector's store settings that reach this
// server, by key, as a configuration file would give them: shop,
// access_token, api_secret, base_url (when started), and the sped-up leak
// rate (leak_rate) so that the connector paces to the fake's clock.
func (s *Server) Settings() map[string]any {
	m := map[string]any{
		"shop":         s.domain,
		"access_token": s.opts.AccessToken,
		"api_secret":   s.opts.APISecret,
		"bucket_size":  s.opts.BucketSize,
		"leak_rate":    s.opts.LeakRate * s.opts.TimeScale,
	}
	if u := s.URL(); u != "" {
		m["base_url"] = u
	}
	return m
}

// Handler returns the server's HTTP handler, for mounting elsewhere.
func (s *Server) Handler() http.Handler { return s }

// Shop returns the shop's myshopify domain.
func (s *Server) Shop() string { return s.domain }

// AccessToken returns the token the server accepts.
func (s *Server) AccessToken() string { return s.opts.AccessToken }

// APISecret returns the secret webhooks are signed with.
func (s *Server) APISecret() string { return s.opts.APISecret }

// Now returns the platform's time.
func (s *Server) Now() time.Time { return s.opts.Now() }

// SetScopes replaces the granted access scopes.
func (s *Server) SetScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setScopes(scopes)
}

func (s *Server) setScopes(scopes []string) {
	s.scopes = map[string]bool{}
	for _, sc := range scopes {
		s.scopes[sc] = true
	}
}

// hasScope reports whether any of the scopes is granted; write_X grants
// read_X. The caller holds s.mu.
func (s *Server) hasScope(any ...string) bool {
	for _, sc := range any {
		if s.scopes[sc] {
			return true
		}
		if r, ok := strings.CutPrefix(sc, "read_"); ok && s.scopes["write_"+r] {
			return true
		}
	}
	return false
}

// RevokeAccess makes the server refuse the access token from now on, as
// after an uninstall or a token rotation.
func (s *Server) RevokeAccess() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = true
}

// RestoreAccess undoes RevokeAccess.
func (s *Server) RestoreAccess() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = false
}

// Stats counts what the server answered.
type Stats struct {
	// Requests counts every request that reached the API.
	Requests int
	// REST counts the requests that went through the REST bucket.
	REST int
	// Throttled counts the 429s the REST bucket answered (not injected).
	Throttled int
	// GraphQLThrottled counts the THROTTLED answers of the cost bucket.
	GraphQLThrottled int
	// Faults counts injected faults.
	Faults int
	// MaxLevel is the highest level the REST bucket reached.
	MaxLevel float64
	// ByOp counts requests by operation.
	ByOp map[Op]int
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByOp = make(map[Op]int, len(s.stats.ByOp))
	for k, v := range s.stats.ByOp {
		st.ByOp[k] = v
	}
	return st
}

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{ByOp: map[Op]int{}}
}

// Write is one change the API made on the shop's data.
type Write struct {
	// Op is the operation.
	Op Op
	// At is the platform's time of the write.
	At time.Time
	// Resource names what was written: "customer/123", "price_rule/9…".
	Resource string
	// Detail says what changed: the tags, the keys, the code.
	Detail string
}

// Writes returns every write made through the API, in order.
func (s *Server) Writes() []Write {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

// record notes a write; the caller holds s.mu.
func (s *Server) record(op Op, resource, detail string) {
	s.writes = append(s.writes, Write{Op: op, At: s.opts.Now(), Resource: resource, Detail: detail})
}

// newID returns a fresh resource id; the caller holds s.mu.
func (s *Server) newID() uint64 {
	s.nextID++
	return s.nextID
}

// bucket is a leaky bucket in platform time, measured on the wall clock.
type bucket struct {
	size, rate, scale float64
	level             float64
	at                time.Time
}

// drain lets the level leak to now.
func (b *bucket) drain(now time.Time) {
	if !b.at.IsZero() {
		b.level = math.Max(0, b.level-b.rate*b.scale*now.Sub(b.at).Seconds())
	}
	b.at = now
}

// take adds cost to the bucket if it fits, and says how long (wall time)
// until it would.
func (b *bucket) take(now time.Time, cost float64) (ok bool, wait time.Duration) {
	b.drain(now)
	if b.level+cost > b.size {
		return false, time.Duration((b.level + cost - b.size) / (b.rate * b.scale) * float64(time.Second))
	}
	b.level += cost
	return true, 0
}

// wall converts platform time to wall time.
func (s *Server) wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.opts.TimeScale)
}

// retryAfter formats a wall-clock wait as Shopify does ("2.0"), with the
// fraction a scaled platform needs.
func retryAfter(d time.Duration) string {
	secs := max(math.Ceil(d.Seconds()*1e6)/1e6, 1e-6)
	if secs == math.Trunc(secs) {
		return fmt.Sprintf("%.1f", secs)
	}
	return strconv.FormatFloat(secs, 'f', -1, 64)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("shopifytest: random: " + err.Error())
	}
	return b
}

// randomID returns a random UUID-shaped string, as Shopify's webhook and
// event ids are.
func randomID() string {
	h := hex.EncodeToString(randomBytes(16))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
