// Package woocommerce connects loyaltyd to a WooCommerce store through its
// REST API v3 (/wp-json/wc/v3).
//
// It reads orders by modification time and customers by full scan (the API
// offers no modified_after for customers), derives guest customers from
// orders (WooCommerce keeps no record of them), writes coupons, and keeps
// the program's tags and fields in customer meta data, since WooCommerce has
// no customer tags. It verifies and decodes WooCommerce's webhooks and can
// create and re-activate the subscriptions itself (EnsureWebhooks).
//
// WooCommerce has traps that this package works around, each seen on a real
// store: Basic auth only works when WordPress sees HTTPS (OAuth 1.0a is
// needed over plain HTTP); a date filter carrying a zone is shifted by the
// site's zone even with dates_are_gmt=true, so GMT values are sent without
// one; modified_after is exclusive at one-second resolution and equal
// seconds come back in no guaranteed order; Link headers repeat the OAuth
// parameters, so each page's URL is built and signed anew; refunds are
// negative on orders and positive on the refunds endpoint; a coupon's
// date_expires_gmt is silently ignored; meta keys starting with "_" are
// silently dropped. README.md lists them with what the connector does.
//
// The fake of the platform, for tests and `loyaltyd demo`, is package
// wootest.
package woocommerce

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

func init() { connectors.Register("woocommerce", Open) }

// MaxPageSize is the largest per_page WooCommerce accepts.
const MaxPageSize = 100

// Defaults of the options left empty.
const (
	DefaultCustomerScanInterval = 30 * time.Minute
	DefaultRetries              = 4
	DefaultRetryWaitMax         = 30 * time.Second
	DefaultTimeout              = 60 * time.Second
)

// The ways the connector authenticates, as the auth option names them.
const (
	// AuthBasic sends the key and secret as HTTP Basic credentials. It
	// works only when WordPress sees the request as HTTPS.
	AuthBasic = "basic"
	// AuthOAuth1 signs every request with one-legged OAuth 1.0a
	// (HMAC-SHA256), as WooCommerce requires over plain HTTP.
	AuthOAuth1 = "oauth1"
	// AuthQuery sends the key and secret as query parameters, for servers
	// that drop the Authorization header; HTTPS only.
	AuthQuery = "query"
)

// TagsMetaKey is the customer meta key that holds the customer's tags, as
// one comma-separated list: WooCommerce has no customer tags of its own.
const TagsMetaKey = "loyalty_tags"

// Options are a WooCommerce store's settings in loyaltyd's configuration.
type Options struct {
	// URL is the site's address as WordPress knows it (Settings › General
	// › Site Address), e.g. https://shop.example; the API is under
	// /wp-json/wc/v3. OAuth signatures are made over it, so it must match
	// exactly, www and all.
	URL string `yaml:"url"`
	// ConsumerKey and ConsumerSecret are a REST API key (ck_…, cs_…) with
	// Read/Write permission.
	ConsumerKey    connectors.Secret `yaml:"consumer_key"`
	ConsumerSecret connectors.Secret `yaml:"consumer_secret"`
	// WebhookSecret is the secret of the webhooks loyaltyd receives; the
	// connector sets it on the subscriptions it creates.
	WebhookSecret connectors.Secret `yaml:"webhook_secret"`
	// Auth is basic, oauth1 or query; empty means basic for an https URL
	// and oauth1 for an http one.
	Auth string `yaml:"auth"`
	// WordPressSeesHTTP says that a proxy in front of WordPress terminates
	// TLS without telling it (no X-Forwarded-Proto handling): WordPress
	// then ignores Basic credentials and checks OAuth signatures against
	// the http:// form of the site URL. With it, auth defaults to oauth1
	// and signs over http://. Fixing the proxy is better.
	WordPressSeesHTTP bool `yaml:"wordpress_sees_http"`
	// WebhookURL, if set, is where EnsureWebhooks points the subscriptions.
	WebhookURL string `yaml:"webhook_url"`
	// PageSize is how many records a read asks for, 1 to 100; zero means
	// 100.
	PageSize int `yaml:"page_size"`
	// CustomerScanInterval is how old the full scan of customers may get
	// before a read scans again; zero means DefaultCustomerScanInterval.
	CustomerScanInterval Duration `yaml:"customer_scan_interval"`
	// StatusMap maps custom order statuses (from plugins) to paid,
	// pending, voided or refunded. A status neither built in nor mapped
	// fails the read with an error naming it and the order.
	StatusMap map[string]string `yaml:"status_map"`
	// Retries is how many times an idempotent request is retried after a
	// 429, a 5xx or a dropped connection; zero means DefaultRetries, and
	// -1 none.
	Retries int `yaml:"retries"`
	// RetryWaitMax caps the wait between retries; a 429 asking for longer
	// is returned at once as a *connectors.RateLimitError. Zero means
	// DefaultRetryWaitMax.
	RetryWaitMax Duration `yaml:"retry_wait_max"`
	// Timeout bounds one HTTP request; zero means DefaultTimeout.
	Timeout Duration `yaml:"timeout"`
}

// Duration is a length of time in the options: "30s", "5m", "1h", "7d".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration, or a whole number of days ("7d").
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err == nil && fmt.Sprint(n) == days && n >= 0 {
			d.Duration = time.Duration(n) * 24 * time.Hour
			return nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("invalid duration %q (examples: 30s, 5m, 1h, 7d)", truncate(s, 32))
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as Go does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// settings are the options, checked and with defaults filled in.
type settings struct {
	site          *url.URL
	auth          string
	signHTTP      bool // sign OAuth over http:// whatever the URL's scheme
	key, secret   string
	webhookSecret string
	webhookURL    string
	pageSize      int
	scanEvery     time.Duration
	statusMap     map[string]commerce.FinancialState
	retries       int
	retryWaitMax  time.Duration
	timeout       time.Duration
}

func (o Options) validate() (settings, error) {
	var s settings
	if strings.TrimSpace(o.URL) == "" {
		return s, errors.New("url: required (the site's address, e.g. https://shop.example)")
	}
	u, err := url.Parse(strings.TrimSpace(o.URL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return s, fmt.Errorf("url: %q is not an http or https address of a site", truncate(o.URL, 80))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return s, errors.New("url: must not carry credentials, a query or a fragment (put keys in consumer_key and consumer_secret)")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.Path = strings.TrimSuffix(u.Path, "/wp-json/wc/v3")
	s.site = u
	if o.ConsumerKey == "" {
		return s, errors.New("consumer_key: required (a REST API key, ck_…, from WooCommerce › Settings › Advanced › REST API)")
	}
	if o.ConsumerSecret == "" {
		return s, errors.New("consumer_secret: required (the cs_… secret shown once when the key was created)")
	}
	s.key, s.secret, s.webhookSecret = o.ConsumerKey.Reveal(), o.ConsumerSecret.Reveal(), o.WebhookSecret.Reveal()
	s.signHTTP = o.WordPressSeesHTTP
	switch o.Auth {
	case "":
		s.auth = AuthBasic
		if u.Scheme == "http" || o.WordPressSeesHTTP {
			s.auth = AuthOAuth1
		}
	case AuthBasic, AuthQuery:
		if o.WordPressSeesHTTP {
			return s, fmt.Errorf("auth: %s never works when WordPress sees plain HTTP (wordpress_sees_http): use auth: oauth1", o.Auth)
		}
		if u.Scheme != "https" {
			return s, fmt.Errorf("auth: %s sends the secret as it is, and WooCommerce accepts it only over HTTPS: use an https url, or auth: oauth1", o.Auth)
		}
		s.auth = o.Auth
	case AuthOAuth1:
		s.auth = o.Auth
	default:
		return s, fmt.Errorf("auth: unknown method %q (want basic, oauth1 or query)", truncate(o.Auth, 32))
	}
	if o.WebhookURL != "" {
		w, err := url.Parse(o.WebhookURL)
		if err != nil || (w.Scheme != "https" && w.Scheme != "http") || w.Host == "" {
			return s, fmt.Errorf("webhook_url: %q is not an http or https address", truncate(o.WebhookURL, 80))
		}
		if o.WebhookSecret == "" {
			return s, errors.New("webhook_secret: required with webhook_url (the subscriptions are created with it)")
		}
		s.webhookURL = o.WebhookURL
	}
	switch {
	case o.PageSize == 0:
		s.pageSize = MaxPageSize
	case o.PageSize < 1 || o.PageSize > MaxPageSize:
		return s, fmt.Errorf("page_size: %d is out of range (want 1 to %d; 0 means %d)", o.PageSize, MaxPageSize, MaxPageSize)
	default:
		s.pageSize = o.PageSize
	}
	s.scanEvery = o.CustomerScanInterval.Duration
	if s.scanEvery == 0 {
		s.scanEvery = DefaultCustomerScanInterval
	}
	s.statusMap = map[string]commerce.FinancialState{}
	for status, to := range o.StatusMap {
		st, ok := mappable[strings.ToLower(strings.TrimSpace(to))]
		if !ok {
			return s, fmt.Errorf("status_map: %s: unknown state %q (want paid, pending, voided or refunded)", truncate(status, 40), truncate(to, 32))
		}
		s.statusMap[strings.TrimPrefix(strings.ToLower(strings.TrimSpace(status)), "wc-")] = st
	}
	switch {
	case o.Retries == 0:
		s.retries = DefaultRetries
	case o.Retries < -1 || o.Retries > 20:
		return s, fmt.Errorf("retries: %d is out of range (want -1 to 20; 0 means %d)", o.Retries, DefaultRetries)
	case o.Retries == -1:
		s.retries = 0
	default:
		s.retries = o.Retries
	}
	s.retryWaitMax = o.RetryWaitMax.Duration
	if s.retryWaitMax == 0 {
		s.retryWaitMax = DefaultRetryWaitMax
	}
	s.timeout = o.Timeout.Duration
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	return s, nil
}

// mappable are the states a custom status may be mapped to.
var mappable = map[string]commerce.FinancialState{
	"paid":     commerce.StatePaid,
	"pending":  commerce.StatePending,
	"voided":   commerce.StateVoided,
	"void":     commerce.StateVoided,
	"refunded": commerce.StateRefunded,
}

// Open opens a connector on the store the options name. It is the Factory
// registered as "woocommerce"; it checks the settings and calls nothing
// (Check does). Its errors name the setting at fault and never its value
// when the value is a secret.
func Open(_ context.Context, o connectors.Options) (connectors.Connector, error) {
	var opts Options
	if o.Decode != nil {
		if err := o.Decode(&opts); err != nil {
			return nil, err
		}
	}
	if opts.WebhookURL == "" {
		// The store-level webhook_url (read by the configuration, handed
		// over in the options) is the usual source.
		opts.WebhookURL = o.WebhookURL
	}
	s, err := opts.validate()
	if err != nil {
		return nil, err
	}
	c := &Connector{
		set: s,
		log: o.Logger(),
		now: o.Clock(),
	}
	c.api = newClient(s, o.HTTPClient, c.now, c.log)
	return c, nil
}

// Connector is loyaltyd's side of one WooCommerce store. It is safe for
// concurrent use.
type Connector struct {
	set settings
	api *client
	log logrus.FieldLogger
	now func() time.Time

	mu     stdsync.Mutex
	scan   *customerScan // the last full scan of registered customers
	guests *guestScan    // guests derived from the orders of the last window read

	tagMu stdsync.Mutex // tag writes read, merge and write the whole list
}

// Check verifies that the store answers and that the key may read what
// sync reads (orders, customers, coupons) and, when webhook_url is set,
// webhooks. It returns an error wrapping connectors.ErrUnauthorized when
// the key is refused; over Basic auth its message says what to check.
// WooCommerce offers no way to see the key's write permission without
// writing: a read-only key passes and fails at the first write-back.
func (c *Connector) Check(ctx context.Context) error {
	paths := []string{"orders", "customers", "coupons"}
	if c.set.webhookURL != "" {
		paths = append(paths, "webhooks")
	}
	for _, p := range paths {
		q := url.Values{"per_page": {"1"}}
		if p == "customers" {
			q.Set("role", "all")
		}
		if _, err := c.api.do(ctx, request{method: "GET", path: p, query: q, idempotent: true}); err != nil {
			return fmt.Errorf("woocommerce: check: read %s: %w", p, err)
		}
	}
	return nil
}

// guestPrefix starts the id of a guest customer: "guest:" + the folded
// e-mail address.
const guestPrefix = "guest:"

// GuestID returns the customer id the connector gives the guest who orders
// with email: "guest:" and the folded address (commerce.FoldEmail). It
// returns "" for an empty address.
func GuestID(email string) string {
	f := commerce.FoldEmail(email)
	if f == "" {
		return ""
	}
	return guestPrefix + f
}

// isGuest reports whether id names a guest customer.
func isGuest(id string) bool { return strings.HasPrefix(id, guestPrefix) }

// customerNumber returns the WooCommerce id of a registered customer.
func customerNumber(id string) (string, bool) {
	if id == "" || len(id) > 19 || strings.TrimLeft(id, "0123456789") != "" || strings.TrimLeft(id, "0") == "" {
		return "", false
	}
	return id, true
}

// sortedKeys returns m's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Interface guards.
var (
	_ connectors.Connector         = (*Connector)(nil)
	_ connectors.TagWriter         = (*Connector)(nil)
	_ connectors.DiscountWriter    = (*Connector)(nil)
	_ connectors.MetafieldWriter   = (*Connector)(nil)
	_ connectors.WebhookSource     = (*Connector)(nil)
	_ connectors.Checker           = (*Connector)(nil)
	_ connectors.WebhookSubscriber = (*Connector)(nil)
	_ connectors.Factory           = Open
)
