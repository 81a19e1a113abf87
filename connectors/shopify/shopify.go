// Package shopify connects loyaltyd to a Shopify store through the Admin
// API: REST for orders, customers, discount codes and webhook
// subscriptions, GraphQL for customer tags and metafields.
//
// It is built on github.com/bold-commerce/go-shopify/v4 v4.7.0, with one
// client per shop used by one call at a time, and works around that
// version's known bugs: its own retries are off (WithRetry(0)) and a
// go-retryablehttp client underneath retries instead, honouring the
// context and a fractional Retry-After; the API version is validated
// before go-shopify can silently fall back to the oldest one; Link headers
// are parsed here, because go-shopify's parser splits them on commas;
// payloads are decoded into this package's own types, because go-shopify's
// fail a whole page on an empty amount; tags are written with GraphQL
// tagsAdd and tagsRemove, never with a REST PUT of the whole tag string,
// and GraphQL userErrors, which go-shopify ignores, are checked.
//
// A pacer fed by X-Shopify-Shop-Api-Call-Limit keeps the shop's REST bucket
// from overflowing whatever its size, and lets write-backs go ahead of
// reads. README.md lists the options, scopes, webhook topics, limits and
// quirks; the fake of the Admin API, for tests and `loyaltyd demo`, is
// package shopifytest.
package shopify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/sirupsen/logrus"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

func init() { connectors.Register("shopify", Open) }

// DefaultAPIVersion is the Admin API version used when the options name
// none. A version Shopify no longer supports is served by the oldest one it
// does, silently; Check warns when that happens.
const DefaultAPIVersion = "2025-07"

// MaxPageSize is the largest page Shopify's REST lists return.
const MaxPageSize = 250

// MetafieldNamespace is the namespace of the customer metafields loyaltyd
// writes; a theme reads them as customer.metafields.loyalty.KEY.
const MetafieldNamespace = "loyalty"

// Defaults of the options left empty.
const (
	DefaultMaxRetries   = 5
	DefaultRetryWait    = time.Second
	DefaultRetryWaitMax = 30 * time.Second
	DefaultTimeout      = 30 * time.Second
)

// Options are a Shopify store's settings in loyaltyd's configuration.
type Options struct {
	// Shop is the shop's myshopify name: "acme" or "acme.myshopify.com".
	Shop string `yaml:"shop"`
	// AccessToken is the Admin API access token of the store's custom app
	// (shpat_…).
	AccessToken connectors.Secret `yaml:"access_token"`
	// APISecret is the app's API secret key, which signs webhooks and
	// app-proxy requests.
	APISecret connectors.Secret `yaml:"api_secret"`
	// APIVersion is the Admin API version, "YYYY-MM" with MM one of 01,
	// 04, 07, 10, from 2024-01 on; empty means DefaultAPIVersion.
	APIVersion string `yaml:"api_version"`
	// BaseURL, if set, receives every call instead of https://{shop}: a
	// proxy, or a fake of the API. Plain http only for a loopback host.
	BaseURL string `yaml:"base_url"`
	// WebhookURL is the public URL Shopify delivers webhooks to, for
	// EnsureWebhooks. loyaltyd's configuration reads webhook_url as a store
	// key of its own, so there it reaches EnsureWebhooks as an argument.
	WebhookURL string `yaml:"webhook_url"`
	// PageSize is how many records a read asks for, 1 to MaxPageSize; zero
	// means MaxPageSize.
	PageSize int `yaml:"page_size"`
	// BucketSize and LeakRate describe the shop's REST bucket until its
	// first answer tells (the bucket size) and, for the leak rate, for
	// good; zero means 40, and a twentieth of the bucket a second, as on
	// every plan Shopify documents.
	BucketSize int     `yaml:"bucket_size"`
	LeakRate   float64 `yaml:"leak_rate"`
	// MaxRetries is how many times a call is retried; zero means
	// DefaultMaxRetries.
	MaxRetries int `yaml:"max_retries"`
	// RetryWait and RetryWaitMax bound the backoff between retries when
	// Shopify does not say how long to wait.
	RetryWait    Duration `yaml:"retry_wait"`
	RetryWaitMax Duration `yaml:"retry_wait_max"`
	// Timeout bounds one attempt of a call.
	Timeout Duration `yaml:"timeout"`
}

// Duration is a time.Duration written as "30s", "5m" or "1h30m".
type Duration time.Duration

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v < 0 {
		return fmt.Errorf("invalid duration %q (examples: 500ms, 30s, 5m)", truncate(string(b), 40))
	}
	*d = Duration(v)
	return nil
}

// MarshalText formats the duration as UnmarshalText reads it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

var (
	shopNameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,99}$`)
	apiVersionRE = regexp.MustCompile(`^(\d{4})-(01|04|07|10)$`)
)

// normalize checks the options, fills in defaults, and returns the shop's
// full myshopify domain. Errors name the key at fault.
func (o *Options) normalize() (string, error) {
	shop := strings.ToLower(strings.TrimSpace(o.Shop))
	name := strings.TrimSuffix(shop, ".myshopify.com")
	switch {
	case shop == "":
		return "", errors.New("shop: required (the shop's myshopify name, such as acme or acme.myshopify.com)")
	case !shopNameRE.MatchString(name):
		return "", fmt.Errorf("shop: %q is not a myshopify name (want acme or acme.myshopify.com, not a custom domain or a URL)", truncate(o.Shop, 60))
	}
	if o.AccessToken == "" {
		return "", errors.New("access_token: required (the custom app's Admin API access token)")
	}
	if o.APISecret == "" {
		return "", errors.New("api_secret: required (the custom app's API secret key, which verifies webhooks)")
	}
	if o.APIVersion == "" {
		o.APIVersion = DefaultAPIVersion
	}
	m := apiVersionRE.FindStringSubmatch(o.APIVersion)
	if m == nil {
		return "", fmt.Errorf("api_version: %q is not a stable Admin API version (want YYYY-MM with MM 01, 04, 07 or 10, such as %s)", truncate(o.APIVersion, 20), DefaultAPIVersion)
	}
	if year, _ := strconv.Atoi(m[1]); year < 2024 {
		return "", fmt.Errorf("api_version: %s is older than 2024-01, which loyaltyd needs", o.APIVersion)
	}
	if o.BaseURL != "" {
		if _, err := checkURL(o.BaseURL); err != nil {
			return "", fmt.Errorf("base_url: %w", err)
		}
	}
	if o.WebhookURL != "" {
		if _, err := checkURL(o.WebhookURL); err != nil {
			return "", fmt.Errorf("webhook_url: %w", err)
		}
	}
	switch {
	case o.PageSize < 0 || o.PageSize > MaxPageSize:
		return "", fmt.Errorf("page_size: %d is out of range (want 1 to %d; 0 means %d)", o.PageSize, MaxPageSize, MaxPageSize)
	case o.BucketSize < 0:
		return "", fmt.Errorf("bucket_size: %d is negative", o.BucketSize)
	case o.LeakRate < 0:
		return "", fmt.Errorf("leak_rate: %g is negative", o.LeakRate)
	case o.MaxRetries < 0 || o.MaxRetries > 20:
		return "", fmt.Errorf("max_retries: %d is out of range (want 1 to 20; 0 means %d)", o.MaxRetries, DefaultMaxRetries)
	}
	if o.PageSize == 0 {
		o.PageSize = MaxPageSize
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.RetryWait == 0 {
		o.RetryWait = Duration(DefaultRetryWait)
	}
	if o.RetryWaitMax == 0 {
		o.RetryWaitMax = Duration(max(DefaultRetryWaitMax, time.Duration(o.RetryWait)))
	}
	if o.RetryWaitMax < o.RetryWait {
		return "", fmt.Errorf("retry_wait_max: %s is less than retry_wait %s", time.Duration(o.RetryWaitMax), time.Duration(o.RetryWait))
	}
	if o.Timeout == 0 {
		o.Timeout = Duration(DefaultTimeout)
	}
	return name + ".myshopify.com", nil
}

// checkURL accepts an absolute https URL, or http for a loopback host,
// where no token crosses a network.
func checkURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("want an absolute http(s) URL")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("plain http is only allowed for a loopback host, not %s: use https", u.Hostname())
	}
	if u.User != nil {
		return nil, errors.New("credentials in the URL are not allowed")
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Open opens a connector on the store the options describe. It is the
// Factory registered as "shopify". It does not call Shopify; Check does.
// Its errors name the setting at fault.
func Open(_ context.Context, o connectors.Options) (connectors.Connector, error) {
	var opts Options
	if o.Decode != nil {
		if err := o.Decode(&opts); err != nil {
			return nil, err
		}
	}
	if opts.WebhookURL == "" {
		// The store-level webhook_url, read by the configuration, comes in
		// the options.
		opts.WebhookURL = o.WebhookURL
	}
	shop, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	var base *url.URL
	if opts.BaseURL != "" {
		base, _ = checkURL(opts.BaseURL)
	}
	log := o.Logger()
	cl, err := newClient(clientOptions{
		shop:       shop,
		token:      opts.AccessToken.Reveal(),
		version:    opts.APIVersion,
		baseURL:    base,
		timeout:    time.Duration(opts.Timeout),
		maxRetries: opts.MaxRetries,
		retryWait:  time.Duration(opts.RetryWait),
		retryMax:   time.Duration(opts.RetryWaitMax),
		bucketSize: opts.BucketSize,
		leakRate:   opts.LeakRate,
		httpClient: o.HTTPClient,
		log:        log,
	})
	if err != nil {
		return nil, fmt.Errorf("shop: %w", err)
	}
	return &Connector{
		opts: opts,
		shop: shop,
		log:  log,
		now:  o.Clock(),
		cl:   cl,
	}, nil
}

// Connector is loyaltyd's side of one Shopify store. It is safe for
// concurrent use: calls to the shop take turns, write-backs first.
type Connector struct {
	opts Options
	shop string
	log  logrus.FieldLogger
	now  func() time.Time
	cl   *client

	mu       stdsync.Mutex
	currency string // the shop's currency, once Check has read it
}

// Shop returns the shop's myshopify domain.
func (c *Connector) Shop() string { return c.shop }

// stream describes one REST list to readPage.
type stream struct {
	name   string // "orders": the path, the envelope key and the token's stream
	status bool   // send status=any, which orders need (the default is open)
}

var (
	ordersStream    = stream{name: "orders", status: true}
	customersStream = stream{name: "customers"}
)

// firstPage is the query of a window's first page: every filter goes here,
// because a page_info request may carry none.
type firstPage struct {
	Limit        int    `url:"limit"`
	Status       string `url:"status,omitempty"`
	Order        string `url:"order"`
	UpdatedAtMin string `url:"updated_at_min,omitempty"`
	UpdatedAtMax string `url:"updated_at_max,omitempty"`
}

// nextPage is the query of a later page: page_info and limit only.
type nextPage struct {
	Limit    int    `url:"limit"`
	PageInfo string `url:"page_info"`
}

// Orders returns the next page of orders updated in the cursor's window,
// in Shopify's cursor pagination: status=any, updated_at_min and
// updated_at_max from the window, order=updated_at asc, and the Link
// header's page_info as the cursor's Token, so that a saved cursor
// continues after a restart. Within a page, orders come in ascending
// (UpdatedAt, ID) with ids compared as strings; the window's bounds are
// applied exactly. It returns an error wrapping connectors.ErrBadCursor for
// a token it did not issue or Shopify no longer accepts,
// connectors.ErrUnauthorized when Shopify refuses the token or a scope, a
// *connectors.RateLimitError when Shopify still asks to slow down after the
// retries, ctx.Err() when ctx ends, and an error naming the order when one
// cannot be converted (an unknown financial_status among them).
func (c *Connector) Orders(ctx context.Context, cur connectors.Cursor) (connectors.Page[commerce.Order], error) {
	return readPage(ctx, c, ordersStream, cur, convertOrder, func(o *commerce.Order) (time.Time, string) { return o.UpdatedAt, o.ID })
}

// Customers is Orders for customers.
func (c *Connector) Customers(ctx context.Context, cur connectors.Cursor) (connectors.Page[commerce.Customer], error) {
	return readPage(ctx, c, customersStream, cur, convertCustomer, func(cu *commerce.Customer) (time.Time, string) { return cu.UpdatedAt, cu.ID })
}

func readPage[T any](ctx context.Context, c *Connector, s stream, cur connectors.Cursor,
	conv func([]byte) (T, error), key func(*T) (time.Time, string),
) (connectors.Page[T], error) {
	fail := func(err error) (connectors.Page[T], error) {
		return connectors.Page[T]{}, fmt.Errorf("shopify: list %s: %w", s.name, err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	pageInfo, err := decodeToken(s.name, cur)
	if err != nil {
		return fail(err)
	}
	if !cur.Until.IsZero() && !cur.Since.Before(cur.Until) {
		return connectors.Page[T]{Next: cur, Done: true}, nil
	}
	var query any = nextPage{Limit: c.opts.PageSize, PageInfo: pageInfo}
	if pageInfo == "" {
		q := firstPage{Limit: c.opts.PageSize, Order: "updated_at asc"}
		if s.status {
			q.Status = "any"
		}
		// Shopify compares whole seconds, inclusively at both ends: ask
		// for the seconds around the window and cut it exactly below.
		if !cur.Since.IsZero() {
			q.UpdatedAtMin = cur.Since.UTC().Truncate(time.Second).Format(time.RFC3339)
		}
		if !cur.Until.IsZero() {
			q.UpdatedAtMax = ceilSecond(cur.Until).UTC().Format(time.RFC3339)
		}
		query = q
	}
	var body map[string]json.RawMessage
	ex, err := c.cl.call(ctx, readCall, func(ctx context.Context, sg *goshopify.Client) error {
		return sg.Get(ctx, s.name+".json", &body, query)
	})
	if err != nil {
		if pageInfo != "" && statusOf(err) == 400 {
			// Only ErrBadCursor: the 400 is about the token, not a write
			// to give up on.
			return fail(fmt.Errorf("shopify refused the page_info: %w (%v)", connectors.ErrBadCursor, classify(ex, err)))
		}
		return fail(classify(ex, err))
	}
	var raws []json.RawMessage
	if b, ok := body[s.name]; ok {
		if err := json.Unmarshal(b, &raws); err != nil {
			return fail(fmt.Errorf("the %s list: %w", s.name, err))
		}
	}
	items := make([]T, 0, len(raws))
	for _, raw := range raws {
		it, err := conv(raw)
		if err != nil {
			return fail(err)
		}
		at, _ := key(&it)
		if at.Before(cur.Since) || (!cur.Until.IsZero() && !at.Before(cur.Until)) {
			continue
		}
		items = append(items, it)
	}
	slices.SortStableFunc(items, func(a, b T) int {
		at, aid := key(&a)
		bt, bid := key(&b)
		if c := at.Compare(bt); c != 0 {
			return c
		}
		return strings.Compare(aid, bid)
	})
	next, err := nextPageInfo(ex.header)
	if err != nil {
		return fail(err)
	}
	page := connectors.Page[T]{Items: items, Next: cur, Done: next == ""}
	if next != "" {
		page.Next.Token = encodeToken(s.name, cur, next)
	}
	return page, nil
}

// ceilSecond rounds t up to a whole second.
func ceilSecond(t time.Time) time.Time {
	if f := t.Truncate(time.Second); !f.Equal(t) {
		return f.Add(time.Second)
	}
	return t
}

// tokenPrefix marks the connector's cursor tokens and their format.
const tokenPrefix = "shopify1."

// token is a cursor token: Shopify's page_info, with the stream and the
// window it belongs to, because a page_info carries the filters of the
// request that made it and means nothing for another window.
type token struct {
	Stream   string `json:"s"`
	Window   string `json:"w"`
	PageInfo string `json:"p"`
}

func window(c connectors.Cursor) string {
	return c.Since.UTC().Format(time.RFC3339Nano) + "/" + c.Until.UTC().Format(time.RFC3339Nano)
}

func encodeToken(stream string, c connectors.Cursor, pageInfo string) string {
	b, err := json.Marshal(token{Stream: stream, Window: window(c), PageInfo: pageInfo})
	if err != nil {
		// Three strings always encode.
		panic("shopify: encode cursor token: " + err.Error())
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken returns the page_info of the cursor's token, "" for none.
// Tokens come back from storage another version may have written, so
// anything unexpected is ErrBadCursor, never a guess.
func decodeToken(stream string, c connectors.Cursor) (string, error) {
	if c.Token == "" {
		return "", nil
	}
	bad := func(why string) error {
		return fmt.Errorf("cursor token %q: %s: %w", truncate(c.Token, 48), why, connectors.ErrBadCursor)
	}
	enc, ok := strings.CutPrefix(c.Token, tokenPrefix)
	if !ok {
		return "", bad("not a shopify cursor")
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", bad("not base64url")
	}
	var t token
	if err := decodeStrict(b, &t); err != nil {
		return "", bad("not a shopify cursor")
	}
	switch {
	case t.Stream != stream:
		return "", bad(fmt.Sprintf("a %s cursor, not a %s one", truncate(t.Stream, 20), stream))
	case t.Window != window(c):
		return "", bad("made for another window")
	case t.PageInfo == "":
		return "", bad("no page_info")
	}
	return t.PageInfo, nil
}

// Order reads one order, for a consumer that must refetch it (after a
// refunds/create webhook, which does not carry the order). It returns an
// error wrapping connectors.ErrNotFound when Shopify has no such order (or
// hides it: orders older than 60 days without read_all_orders).
func (c *Connector) Order(ctx context.Context, id string) (commerce.Order, error) {
	fail := func(err error) (commerce.Order, error) {
		return commerce.Order{}, fmt.Errorf("shopify: get order %s: %w", truncate(id, 24), err)
	}
	if _, ok := restID(id); !ok {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		return fail(connectors.ErrNotFound)
	}
	var body struct {
		Order json.RawMessage `json:"order"`
	}
	ex, err := c.cl.call(ctx, readCall, func(ctx context.Context, sg *goshopify.Client) error {
		return sg.Get(ctx, "orders/"+id+".json", &body, nil)
	})
	if err != nil {
		return fail(classify(ex, err))
	}
	o, err := convertOrder(body.Order)
	if err != nil {
		return fail(err)
	}
	return o, nil
}

// userError is a GraphQL mutation's userErrors entry, which go-shopify
// does not look at.
type userError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code"`
}

// userErrorsErr returns nil for no user errors, an error wrapping
// connectors.ErrNotFound when they are about the resource's id, and one
// wrapping connectors.ErrRejected otherwise.
func userErrorsErr(ues []userError) error {
	if len(ues) == 0 {
		return nil
	}
	kind := connectors.ErrRejected
	msgs := make([]string, 0, len(ues))
	for _, ue := range ues {
		if len(ue.Field) > 0 && slices.Contains([]string{"id", "ownerId"}, ue.Field[len(ue.Field)-1]) {
			kind = connectors.ErrNotFound
		}
		msgs = append(msgs, truncate(strings.Join(ue.Field, ".")+": "+ue.Message, 200))
	}
	return fmt.Errorf("%w: %s", kind, strings.Join(msgs, "; "))
}

const customerTagsQuery = `query loyaltydCustomerTags($id: ID!) { customer(id: $id) { id tags } }`

const tagsAddMutation = `mutation loyaltydTagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } }
}`

const tagsRemoveMutation = `mutation loyaltydTagsRemove($id: ID!, $tags: [String!]!) {
  tagsRemove(id: $id, tags: $tags) { node { id } userErrors { field message } }
}`

// customerTags returns the customer's tags as Shopify holds them; an
// unknown customer is ErrNotFound.
func (c *Connector) customerTags(ctx context.Context, customerID string) ([]string, error) {
	if _, ok := restID(customerID); !ok {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("customer id %q: %w", truncate(customerID, 24), connectors.ErrNotFound)
	}
	var out struct {
		Customer *struct {
			Tags []string `json:"tags"`
		} `json:"customer"`
	}
	ex, err := c.cl.graphql(ctx, lookupCall, customerTagsQuery, map[string]any{"id": gid("Customer", customerID)}, &out)
	if err != nil {
		return nil, classify(ex, err)
	}
	if out.Customer == nil {
		return nil, fmt.Errorf("customer %s: %w", customerID, connectors.ErrNotFound)
	}
	return out.Customer.Tags, nil
}

// checkTags refuses tags Shopify would split or refuse.
func checkTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		switch {
		case t == "":
			return nil, fmt.Errorf("%w: empty tag", connectors.ErrRejected)
		case strings.Contains(t, ","):
			return nil, fmt.Errorf("%w: tag %q contains a comma, which Shopify reads as two tags", connectors.ErrRejected, truncate(t, 60))
		case len(t) > 255:
			return nil, fmt.Errorf("%w: tag %q is longer than 255 characters", connectors.ErrRejected, truncate(t, 60))
		}
		if !containsFold(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func containsFold(tags []string, tag string) bool {
	return slices.ContainsFunc(tags, func(t string) bool { return strings.EqualFold(strings.TrimSpace(t), tag) })
}

// AddTags adds tags to the customer with GraphQL tagsAdd, which keeps the
// customer's other tags. It reads the customer's tags first and sends only
// those the customer lacks in any letter case, so that a tag is never
// doubled whatever case Shopify compares in. It returns an error wrapping
// connectors.ErrNotFound for an unknown customer and connectors.ErrRejected
// for a tag Shopify cannot hold (empty, with a comma, too long) or refuses.
func (c *Connector) AddTags(ctx context.Context, customerID string, tags []string) error {
	fail := func(err error) error { return fmt.Errorf("shopify: add tags: %w", err) }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	want, err := checkTags(tags)
	if err != nil {
		return fail(err)
	}
	have, err := c.customerTags(ctx, customerID)
	if err != nil {
		return fail(err)
	}
	var missing []string
	for _, t := range want {
		if !containsFold(have, t) {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var out struct {
		TagsAdd struct {
			UserErrors []userError `json:"userErrors"`
		} `json:"tagsAdd"`
	}
	ex, err := c.cl.graphql(ctx, setCall, tagsAddMutation, map[string]any{"id": gid("Customer", customerID), "tags": missing}, &out)
	if err != nil {
		return fail(classify(ex, err))
	}
	if err := userErrorsErr(out.TagsAdd.UserErrors); err != nil {
		return fail(err)
	}
	return nil
}

// RemoveTags removes tags from the customer with GraphQL tagsRemove. It
// reads the customer's tags first and removes each in the spelling Shopify
// holds, so that tags compare without regard to case; removing a tag the
// customer lacks is success. Its errors are those of AddTags.
func (c *Connector) RemoveTags(ctx context.Context, customerID string, tags []string) error {
	fail := func(err error) error { return fmt.Errorf("shopify: remove tags: %w", err) }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	drop, err := checkTags(tags)
	if err != nil {
		return fail(err)
	}
	have, err := c.customerTags(ctx, customerID)
	if err != nil {
		return fail(err)
	}
	var held []string
	for _, t := range have {
		if containsFold(drop, strings.TrimSpace(t)) {
			held = append(held, t)
		}
	}
	if len(held) == 0 {
		return nil
	}
	var out struct {
		TagsRemove struct {
			UserErrors []userError `json:"userErrors"`
		} `json:"tagsRemove"`
	}
	ex, err := c.cl.graphql(ctx, setCall, tagsRemoveMutation, map[string]any{"id": gid("Customer", customerID), "tags": held}, &out)
	if err != nil {
		return fail(classify(ex, err))
	}
	if err := userErrorsErr(out.TagsRemove.UserErrors); err != nil {
		return fail(err)
	}
	return nil
}

const metafieldsSetMutation = `mutation loyaltydMetafieldsSet($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) { metafields { key namespace } userErrors { field message code } }
}`

const metafieldsDeleteMutation = `mutation loyaltydMetafieldsDelete($metafields: [MetafieldIdentifierInput!]!) {
  metafieldsDelete(metafields: $metafields) { deletedMetafields { key namespace } userErrors { field message } }
}`

// metafieldsPerCall is the most metafieldsSet takes at once.
const metafieldsPerCall = 25

var metafieldKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]{2,64}$`)

// SetMetafields sets the customer's metafields in the "loyalty" namespace,
// as single-line text, with GraphQL metafieldsSet (25 at a time); other
// metafields are left as they are, and a key set to "" is deleted, which
// is how a theme sees it unset. It returns an error wrapping
// connectors.ErrNotFound for an unknown customer and connectors.ErrRejected
// for a key Shopify does not accept (2 to 64 letters, digits, "-" and "_")
// or a value it refuses.
func (c *Connector) SetMetafields(ctx context.Context, customerID string, fields map[string]string) error {
	fail := func(err error) error { return fmt.Errorf("shopify: set metafields: %w", err) }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if !metafieldKeyRE.MatchString(k) {
			return fail(fmt.Errorf("%w: metafield key %q (want 2 to 64 letters, digits, - and _)", connectors.ErrRejected, truncate(k, 70)))
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	if _, err := c.customerTags(ctx, customerID); err != nil {
		return fail(err)
	}
	owner := gid("Customer", customerID)
	type setInput struct {
		OwnerID   string `json:"ownerId"`
		Namespace string `json:"namespace"`
		Key       string `json:"key"`
		Type      string `json:"type"`
		Value     string `json:"value"`
	}
	type deleteInput struct {
		OwnerID   string `json:"ownerId"`
		Namespace string `json:"namespace"`
		Key       string `json:"key"`
	}
	var sets []setInput
	var deletes []deleteInput
	for _, k := range keys {
		if fields[k] == "" {
			deletes = append(deletes, deleteInput{OwnerID: owner, Namespace: MetafieldNamespace, Key: k})
			continue
		}
		sets = append(sets, setInput{OwnerID: owner, Namespace: MetafieldNamespace, Key: k, Type: "single_line_text_field", Value: fields[k]})
	}
	for chunk := range slices.Chunk(sets, metafieldsPerCall) {
		var out struct {
			MetafieldsSet struct {
				UserErrors []userError `json:"userErrors"`
			} `json:"metafieldsSet"`
		}
		ex, err := c.cl.graphql(ctx, setCall, metafieldsSetMutation, map[string]any{"metafields": chunk}, &out)
		if err != nil {
			return fail(classify(ex, err))
		}
		if err := userErrorsErr(out.MetafieldsSet.UserErrors); err != nil {
			return fail(err)
		}
	}
	for chunk := range slices.Chunk(deletes, metafieldsPerCall) {
		var out struct {
			MetafieldsDelete struct {
				UserErrors []userError `json:"userErrors"`
			} `json:"metafieldsDelete"`
		}
		ex, err := c.cl.graphql(ctx, setCall, metafieldsDeleteMutation, map[string]any{"metafields": chunk}, &out)
		if err != nil {
			return fail(classify(ex, err))
		}
		if err := userErrorsErr(out.MetafieldsDelete.UserErrors); err != nil {
			return fail(err)
		}
	}
	return nil
}

// priceRule is the body of a REST price rule, as loyaltyd creates one for
// a reward: restricted to the customer, one use, once per customer.
type priceRule struct {
	Title                     string           `json:"title"`
	ValueType                 string           `json:"value_type"`
	Value                     string           `json:"value"`
	CustomerSelection         string           `json:"customer_selection"`
	PrerequisiteCustomerIDs   []uint64         `json:"prerequisite_customer_ids,omitempty"`
	TargetType                string           `json:"target_type"`
	TargetSelection           string           `json:"target_selection"`
	AllocationMethod          string           `json:"allocation_method"`
	OncePerCustomer           bool             `json:"once_per_customer"`
	UsageLimit                *int             `json:"usage_limit"`
	StartsAt                  string           `json:"starts_at"`
	EndsAt                    string           `json:"ends_at,omitempty"`
	PrerequisiteSubtotalRange *subtotalAtLeast `json:"prerequisite_subtotal_range,omitempty"`
}

type subtotalAtLeast struct {
	GreaterThanOrEqualTo string `json:"greater_than_or_equal_to"`
}

// priceRuleFor builds the price rule of a discount code, or says why
// Shopify could not take it (ErrRejected) or the customer cannot exist
// there (ErrNotFound).
func (c *Connector) priceRuleFor(d commerce.DiscountCode) (priceRule, error) {
	code := strings.TrimSpace(d.Code)
	switch {
	case code == "":
		return priceRule{}, fmt.Errorf("%w: empty code", connectors.ErrRejected)
	case code != d.Code:
		return priceRule{}, fmt.Errorf("%w: code %q has surrounding space", connectors.ErrRejected, truncate(d.Code, 60))
	case len(code) > 255:
		return priceRule{}, fmt.Errorf("%w: code longer than 255 characters", connectors.ErrRejected)
	}
	// Shopify names a code discount by its code in the admin; the title is
	// the code, so that a rule left without its code can be told apart.
	r := priceRule{Title: code, CustomerSelection: "prerequisite", OncePerCustomer: true, TargetSelection: "all"}
	one := 1
	r.UsageLimit = &one
	if d.Shared {
		// A referral code: anyone, once each, no overall limit. REST price
		// rules cannot exclude the owner; loyaltyd refuses the referral
		// when the owner uses it.
		r.CustomerSelection, r.UsageLimit = "all", nil
	} else {
		id, ok := restID(d.CustomerID)
		if !ok {
			return priceRule{}, fmt.Errorf("customer id %q: %w", truncate(d.CustomerID, 24), connectors.ErrNotFound)
		}
		r.PrerequisiteCustomerIDs = []uint64{id}
	}
	switch d.Type {
	case commerce.DiscountFixedAmount:
		if d.Amount.Sign() <= 0 {
			return priceRule{}, fmt.Errorf("%w: fixed amount %s is not positive", connectors.ErrRejected, d.Amount)
		}
		c.mu.Lock()
		shopCurrency := c.currency
		c.mu.Unlock()
		if shopCurrency != "" && d.Amount.Currency != shopCurrency {
			return priceRule{}, fmt.Errorf("%w: amount in %s, but the shop's currency is %s", connectors.ErrRejected, d.Amount.Currency, shopCurrency)
		}
		r.ValueType, r.Value = "fixed_amount", "-"+d.Amount.Decimal()
		r.TargetType, r.AllocationMethod = "line_item", "across"
	case commerce.DiscountPercentage:
		if d.PercentBP <= 0 || d.PercentBP > 10000 {
			return priceRule{}, fmt.Errorf("%w: percentage %d bp is out of range (1 to 10000)", connectors.ErrRejected, d.PercentBP)
		}
		r.ValueType, r.Value = "percentage", fmt.Sprintf("-%d.%02d", d.PercentBP/100, d.PercentBP%100)
		r.TargetType, r.AllocationMethod = "line_item", "across"
	case commerce.DiscountFreeShipping:
		r.ValueType, r.Value = "percentage", "-100.0"
		r.TargetType, r.AllocationMethod = "shipping_line", "each"
	default:
		return priceRule{}, fmt.Errorf("%w: unknown discount type %q", connectors.ErrRejected, truncate(string(d.Type), 30))
	}
	if d.MinimumOrder.Sign() > 0 {
		r.PrerequisiteSubtotalRange = &subtotalAtLeast{GreaterThanOrEqualTo: d.MinimumOrder.Decimal()}
	}
	starts := d.StartsAt
	if starts.IsZero() {
		starts = c.now()
	}
	r.StartsAt = starts.UTC().Format(time.RFC3339)
	if !d.ExpiresAt.IsZero() {
		if !d.ExpiresAt.After(starts) {
			return priceRule{}, fmt.Errorf("%w: expires at %s, not after it starts", connectors.ErrRejected, d.ExpiresAt.UTC().Format(time.RFC3339))
		}
		r.EndsAt = d.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return r, nil
}

// discountCode is Shopify's discount code resource.
type discountCode struct {
	ID          numID  `json:"id"`
	PriceRuleID numID  `json:"price_rule_id"`
	Code        string `json:"code"`
}

// errCodeTaken is Shopify's 422 "code: must be unique".
var errCodeTaken = errors.New("the code exists")

// EnsureDiscount makes sure the code exists as a REST price rule with a
// discount code: the value negative, from StartsAt to ExpiresAt, for the
// customer only (a Shared code: for anyone), one use, once per customer.
// It looks the code up first (discount_codes/lookup.json, which compares
// without regard to case and answers with a redirect) and creates the rule
// and the code only when the code is absent. A code created by an earlier
// attempt whose answer was lost is found by that look-up, a rule left
// without its code (the answer lost, the process stopped) is found among
// the last day's rules and reused, and a "must be unique" answer is
// resolved by looking again: a retry never creates a second discount.
// It returns the discount code's id. It returns an error wrapping
// connectors.ErrRejected for a code or value Shopify cannot take, or a code
// that exists on another customer's discount, and connectors.ErrNotFound
// for an unknown customer.
func (c *Connector) EnsureDiscount(ctx context.Context, d commerce.DiscountCode) (string, error) {
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("shopify: ensure discount %s: %w", truncate(d.Code, 64), err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	rule, err := c.priceRuleFor(d)
	if err != nil {
		return fail(err)
	}
	if id, err := c.lookupCode(ctx, d); err != nil || id != "" {
		if err != nil {
			return fail(err)
		}
		return id, nil
	}
	if !d.Shared {
		if err := c.customerExists(ctx, d.CustomerID); err != nil {
			return fail(err)
		}
	}
	// A rule an earlier attempt made, whose answer or code was lost, is
	// reused: a retry never leaves a second rule behind.
	ruleID, err := c.findRule(ctx, d)
	if err != nil {
		return fail(err)
	}
	if ruleID == 0 {
		if ruleID, err = c.createPriceRule(ctx, rule); err != nil {
			return fail(err)
		}
	}
	id, err := c.createCode(ctx, ruleID, d.Code)
	switch {
	case err == nil:
		return id, nil
	case errors.Is(err, errCodeTaken):
		// An earlier attempt's code landed although its answer was lost,
		// or the code appeared meanwhile: it is found now.
		id, err := c.lookupCode(ctx, d)
		if err == nil && id == "" {
			err = errors.New("shopify says the code exists but does not find it; retry")
		}
		if err != nil {
			return fail(err)
		}
		return id, nil
	case errors.Is(err, connectors.ErrNotFound):
		// The rule went away (deleted in the admin); not ErrNotFound,
		// which would tell the outbox to give up: the next attempt makes
		// a new rule.
		return fail(fmt.Errorf("price rule %d disappeared before its code was added; the next attempt makes a new one (%v)", ruleID, err))
	case errors.Is(err, connectors.ErrRejected):
		c.deletePriceRule(ctx, ruleID)
		return fail(err)
	default:
		// Unknown outcome: the rule stays, and the retry finds it.
		return fail(err)
	}
}

// ruleSearchWindow is how far back findRule looks for a rule an earlier
// attempt made.
const ruleSearchWindow = 24 * time.Hour

// findRule returns the id of a price rule an earlier attempt created for
// the code (titled with it, for the same customer, created in the last
// day) and left without its code, or 0.
func (c *Connector) findRule(ctx context.Context, d commerce.DiscountCode) (uint64, error) {
	query := struct {
		Limit        int    `url:"limit"`
		CreatedAtMin string `url:"created_at_min"`
	}{MaxPageSize, c.now().Add(-ruleSearchWindow).UTC().Format(time.RFC3339)}
	var out struct {
		PriceRules []struct {
			ID                      numID   `json:"id"`
			Title                   string  `json:"title"`
			CustomerSelection       string  `json:"customer_selection"`
			PrerequisiteCustomerIDs []numID `json:"prerequisite_customer_ids"`
		} `json:"price_rules"`
	}
	ex, err := c.cl.call(ctx, lookupCall, func(ctx context.Context, sg *goshopify.Client) error {
		return sg.Get(ctx, "price_rules.json", &out, query)
	})
	if err != nil {
		return 0, fmt.Errorf("look for an earlier attempt's price rule: %w", classify(ex, err))
	}
	for _, r := range out.PriceRules {
		if r.Title != d.Code {
			continue
		}
		ours := r.CustomerSelection == "all"
		if !d.Shared {
			ours = slices.Contains(r.PrerequisiteCustomerIDs, numID(strings.TrimLeft(d.CustomerID, "0")))
		}
		if id, ok := restID(string(r.ID)); ok && ours {
			return id, nil
		}
	}
	return 0, nil
}

// lookupCode finds the code, without regard to case, and returns its id,
// or "" when Shopify has no such code. A code that is not this customer's
// is ErrRejected: loyaltyd cannot hand it out.
func (c *Connector) lookupCode(ctx context.Context, d commerce.DiscountCode) (string, error) {
	var found struct {
		DiscountCode *discountCode `json:"discount_code"`
	}
	query := struct {
		Code string `url:"code"`
	}{d.Code}
	ex, err := c.cl.call(ctx, lookupCall, func(ctx context.Context, sg *goshopify.Client) error {
		return sg.Get(ctx, "discount_codes/lookup.json", &found, query)
	})
	if statusOf(err) == 404 {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up the code: %w", classify(ex, err))
	}
	if found.DiscountCode == nil || found.DiscountCode.ID == "" || found.DiscountCode.PriceRuleID == "" {
		return "", errors.New("look up the code: the answer has no discount code")
	}
	var rule struct {
		PriceRule struct {
			CustomerSelection       string  `json:"customer_selection"`
			PrerequisiteCustomerIDs []numID `json:"prerequisite_customer_ids"`
		} `json:"price_rule"`
	}
	ex, err = c.cl.call(ctx, lookupCall, func(ctx context.Context, sg *goshopify.Client) error {
		return sg.Get(ctx, "price_rules/"+string(found.DiscountCode.PriceRuleID)+".json", &rule, nil)
	})
	if err != nil {
		err = classify(ex, err)
		if errors.Is(err, connectors.ErrNotFound) {
			// Deleted since the look-up: not the customer's absence,
			// which would make the outbox give up.
			return "", fmt.Errorf("the code's price rule %s disappeared during the look-up; retry", found.DiscountCode.PriceRuleID)
		}
		return "", fmt.Errorf("read the code's price rule: %w", err)
	}
	pr := rule.PriceRule
	ours := pr.CustomerSelection == "all"
	if !d.Shared {
		ours = slices.Contains(pr.PrerequisiteCustomerIDs, numID(strings.TrimLeft(d.CustomerID, "0")))
	}
	if !ours {
		return "", fmt.Errorf("%w: the code exists on another discount (price rule %s)", connectors.ErrRejected, found.DiscountCode.PriceRuleID)
	}
	return string(found.DiscountCode.ID), nil
}

// customerExists returns ErrNotFound for a customer Shopify does not have.
func (c *Connector) customerExists(ctx context.Context, customerID string) error {
	query := struct {
		Fields string `url:"fields"`
	}{"id"}
	var out struct {
		Customer *struct{ ID numID } `json:"customer"`
	}
	ex, err := c.cl.call(ctx, lookupCall, func(ctx context.Context, sg *goshopify.Client) error {
		return sg.Get(ctx, "customers/"+customerID+".json", &out, query)
	})
	if err != nil {
		return fmt.Errorf("customer %s: %w", customerID, classify(ex, err))
	}
	if out.Customer == nil {
		return fmt.Errorf("customer %s: %w", customerID, connectors.ErrNotFound)
	}
	return nil
}

func (c *Connector) createPriceRule(ctx context.Context, r priceRule) (uint64, error) {
	var out struct {
		PriceRule struct {
			ID numID `json:"id"`
		} `json:"price_rule"`
	}
	ex, err := c.cl.call(ctx, createCall, func(ctx context.Context, sg *goshopify.Client) error {
		return sg.Post(ctx, "price_rules.json", map[string]any{"price_rule": r}, &out)
	})
	if err != nil {
		return 0, fmt.Errorf("create the price rule: %w", classify(ex, err))
	}
	id, ok := restID(string(out.PriceRule.ID))
	if !ok {
		return 0, errors.New("create the price rule: the answer has no id")
	}
	return id, nil
}

func (c *Connector) createCode(ctx context.Context, ruleID uint64, code string) (string, error) {
	var out struct {
		DiscountCode discountCode `json:"discount_code"`
	}
	path := "price_rules/" + strconv.FormatUint(ruleID, 10) + "/discount_codes.json"
	ex, err := c.cl.call(ctx, setCall, func(ctx context.Context, sg *goshopify.Client) error {
		return sg.Post(ctx, path, map[string]any{"discount_code": map[string]string{"code": code}}, &out)
	})
	if err != nil {
		if re, ok := errors.AsType[goshopify.ResponseError](err); ok && re.Status == 422 &&
			slices.ContainsFunc(re.Errors, func(s string) bool { return strings.HasPrefix(s, "code:") }) {
			return "", errCodeTaken
		}
		return "", fmt.Errorf("create the code: %w", classify(ex, err))
	}
	if out.DiscountCode.ID == "" {
		return "", errors.New("create the code: the answer has no id")
	}
	return string(out.DiscountCode.ID), nil
}

// deletePriceRule removes a rule whose code Shopify refused, so that no
// empty rule is left behind; failing that is only logged, as the rule
// without a code gives nothing to anyone.
func (c *Connector) deletePriceRule(ctx context.Context, id uint64) {
	ex, err := c.cl.call(ctx, createCall, func(ctx context.Context, sg *goshopify.Client) error {
		return sg.Delete(ctx, "price_rules/"+strconv.FormatUint(id, 10)+".json")
	})
	if err != nil {
		c.log.WithField("price_rule_id", id).WithError(classify(ex, err)).Warn("could not delete a price rule whose code shopify refused")
	}
}

// The scopes loyaltyd needs. write_X includes read_X.
var requiredScopes = []string{"read_orders", "read_customers", "write_customers"}

// discountScopes are the scopes either of which lets loyaltyd create price
// rules and discount codes.
var discountScopes = []string{"write_price_rules", "write_discounts"}

// Check reads the token's access scopes and the shop, and reports what
// stops loyaltyd from working: it returns an error wrapping
// connectors.ErrUnauthorized when Shopify refuses the token or when a scope
// is missing (read_orders, read_customers, write_customers, and
// write_price_rules or write_discounts), naming each. Without
// read_all_orders it logs a warning that orders older than 60 days will not
// be read; when Shopify serves another API version than the configured one
// (an unsupported version falls forward), it logs a warning too.
func (c *Connector) Check(ctx context.Context) error {
	fail := func(err error) error { return fmt.Errorf("shopify: check: %w", err) }
	var scopes []goshopify.AccessScope
	ex, err := c.cl.call(ctx, readCall, func(ctx context.Context, sg *goshopify.Client) (err error) {
		scopes, err = sg.AccessScopes.List(ctx, nil)
		return err
	})
	if err != nil {
		return fail(classify(ex, err))
	}
	have := map[string]bool{}
	for _, s := range scopes {
		have[s.Handle] = true
		if r, ok := strings.CutPrefix(s.Handle, "write_"); ok {
			have["read_"+r] = true
		}
	}
	var missing []string
	for _, s := range requiredScopes {
		if !have[s] {
			missing = append(missing, s)
		}
	}
	if !slices.ContainsFunc(discountScopes, func(s string) bool { return have[s] }) {
		missing = append(missing, strings.Join(discountScopes, " or "))
	}
	if len(missing) > 0 {
		return fail(fmt.Errorf("%w: the access token lacks the scopes %s: grant them in the app's Admin API access scopes and install the app again",
			connectors.ErrUnauthorized, strings.Join(missing, ", ")))
	}
	if !have["read_all_orders"] {
		c.log.Warn("the access token lacks read_all_orders: orders created more than 60 days ago will not be read, whatever backfill_from says; request read_all_orders for the app to backfill older history")
	}
	var shop struct {
		Shop struct {
			Currency string `json:"currency"`
		} `json:"shop"`
	}
	query := struct {
		Fields string `url:"fields"`
	}{"id,currency"}
	ex, err = c.cl.call(ctx, readCall, func(ctx context.Context, sg *goshopify.Client) error {
		return sg.Get(ctx, "shop.json", &shop, query)
	})
	if err != nil {
		return fail(classify(ex, err))
	}
	if cur, err := commerce.NormalizeCurrency(shop.Shop.Currency); err == nil {
		c.mu.Lock()
		c.currency = cur
		c.mu.Unlock()
	}
	if v := c.cl.servedVersion(); v != "" && v != c.opts.APIVersion {
		// observe has warned; Check's caller may want it as a fact too.
		c.log.WithFields(logrus.Fields{"api_version": v, "requested_version": c.opts.APIVersion}).
			Warn("check: shopify does not serve the configured api_version")
	}
	return nil
}

// webhookTopics are the topics EnsureWebhooks subscribes to. The mandatory
// compliance topics (customers/data_request, customers/redact, shop/redact)
// cannot be subscribed through the API: they are set in the app's
// configuration, and DecodeWebhook decodes them.
var webhookTopics = []string{
	"app/uninstalled",
	"customers/create",
	"customers/delete",
	"customers/update",
	"orders/cancelled",
	"orders/create",
	"orders/delete",
	"orders/paid",
	"orders/updated",
	"refunds/create",
}

// WebhookTopics returns the topics EnsureWebhooks subscribes to, sorted.
func WebhookTopics() []string { return slices.Clone(webhookTopics) }

// EnsureWebhooks makes sure the shop delivers every topic of WebhookTopics
// to address, in JSON, and re-creates any subscription that disappeared
// (Shopify deletes an API-made subscription after repeated failed
// deliveries). An empty address means the webhook_url option; with neither
// it does nothing. It returns the topics it subscribed. Subscriptions made
// in the Shopify admin are invisible to the API, so a topic subscribed
// there may be subscribed twice; loyaltyd's inbox drops the duplicates.
func (c *Connector) EnsureWebhooksAt(ctx context.Context, address string) ([]string, error) {
	fail := func(err error) ([]string, error) { return nil, fmt.Errorf("shopify: ensure webhooks: %w", err) }
	if address == "" {
		address = c.opts.WebhookURL
	}
	if address == "" {
		return nil, ctx.Err()
	}
	if _, err := checkURL(address); err != nil {
		return fail(fmt.Errorf("address: %w", err))
	}
	var subs []goshopify.Webhook
	query := struct {
		Limit   int    `url:"limit"`
		Address string `url:"address"`
	}{MaxPageSize, address}
	ex, err := c.cl.call(ctx, lookupCall, func(ctx context.Context, sg *goshopify.Client) (err error) {
		subs, err = sg.Webhook.List(ctx, query)
		return err
	})
	if err != nil {
		return fail(classify(ex, err))
	}
	have := map[string]bool{}
	for _, s := range subs {
		if s.Address == address {
			have[s.Topic] = true
		}
	}
	var created []string
	for _, topic := range webhookTopics {
		if have[topic] {
			continue
		}
		body := map[string]any{"webhook": map[string]string{"topic": topic, "address": address, "format": "json"}}
		ex, err := c.cl.call(ctx, createCall, func(ctx context.Context, sg *goshopify.Client) error {
			return sg.Post(ctx, "webhooks.json", body, nil)
		})
		if err != nil {
			if statusOf(err) == 422 {
				// Taken: another instance made it meanwhile.
				continue
			}
			return created, fmt.Errorf("shopify: ensure webhooks: subscribe %s: %w", topic, classify(ex, err))
		}
		created = append(created, topic)
	}
	if len(created) > 0 {
		c.log.WithField("topics", strings.Join(created, ",")).Info("subscribed to shopify webhooks")
	}
	return created, nil
}

// EnsureWebhooks subscribes the shop to every topic loyaltyd acts on at
// the configured webhook URL (connectors.WebhookSubscriber). Shopify
// deletes a subscription after 8 failed deliveries in a row; a missing
// one is created again. It returns connectors.ErrUnsupported without a
// webhook URL.
func (c *Connector) EnsureWebhooks(ctx context.Context) (connectors.WebhookReport, error) {
	if c.opts.WebhookURL == "" {
		return connectors.WebhookReport{}, fmt.Errorf("shopify: ensure webhooks: no webhook_url: %w", connectors.ErrUnsupported)
	}
	created, err := c.EnsureWebhooksAt(ctx, "")
	rep := connectors.WebhookReport{Created: created}
	for _, t := range webhookTopics {
		if !slices.Contains(created, t) {
			rep.Unchanged = append(rep.Unchanged, t)
		}
	}
	return rep, err
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
	_ connectors.OrderFetcher      = (*Connector)(nil)
	_ connectors.ProxyVerifier     = (*Connector)(nil)
	_ connectors.Factory           = Open
)
