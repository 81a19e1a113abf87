// Package memory is an e-commerce platform that lives in the process, and
// the connector that reaches it.
//
// The Platform keeps customers, orders with their refunds, customer tags and
// fields, and discount codes in memory, pages through them by update time as
// a real platform's API does, signs webhooks, and fails on demand. Tests of
// sync, webhooks and the admin API use it instead of a network fake, and
// `loyaltyd demo` runs its stores on it. The Connector implements every
// optional capability and passes connectors/connectortest with no waivers,
// so it is also the reference for what the contract means.
//
// A configuration refers to a platform by instance name:
//
//	stores:
//	  - id: demo
//	    platform: memory
//	    instance: demo
//
// Whoever builds the platform (the demo, a test) calls Attach("demo", p)
// before the connector is opened; opening a name nobody attached creates an
// empty platform under it.
package memory

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	stdsync "sync"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

func init() { connectors.Register("memory", Open) }

// MaxPageSize is the largest page size a connector may ask for.
const MaxPageSize = 1000

// Options are a memory store's settings in loyaltyd's configuration.
type Options struct {
	// Instance names the Platform to use; empty means the store's id. A
	// name nobody attached gets a new empty platform.
	Instance string `yaml:"instance"`
	// WebhookSecret verifies the platform's webhooks; empty means the
	// platform's own secret, which an in-process platform can share.
	WebhookSecret connectors.Secret `yaml:"webhook_secret"`
	// PageSize is how many records a read asks for, up to MaxPageSize; zero
	// means the platform's page size.
	PageSize int `yaml:"page_size"`
}

func (o Options) validate() error {
	if o.PageSize < 0 || o.PageSize > MaxPageSize {
		return fmt.Errorf("page_size: %d is out of range (want 0 to %d; 0 means the platform's default)", o.PageSize, MaxPageSize)
	}
	return nil
}

// Open opens a connector on the platform the options name, attaching a new
// one when none is attached under that name. It is the Factory registered as
// "memory"; its errors name the setting at fault.
func Open(_ context.Context, o connectors.Options) (connectors.Connector, error) {
	var opts Options
	if o.Decode != nil {
		if err := o.Decode(&opts); err != nil {
			return nil, err
		}
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	name := opts.Instance
	if name == "" {
		name = o.StoreID
	}
	if name == "" {
		return nil, errors.New("instance: required when the store has no id")
	}
	p := lookupOrAttach(name, func() *Platform {
		return NewPlatform(PlatformOptions{Now: o.Clock(), WebhookSecret: opts.WebhookSecret.Reveal()})
	})
	c := &Connector{p: p, pageSize: opts.PageSize, secret: opts.WebhookSecret.Reveal()}
	if c.pageSize == 0 {
		c.pageSize = p.pageSize
	}
	if c.secret == "" {
		c.secret = p.secret
	}
	return c, nil
}

var (
	instancesMu stdsync.Mutex
	instances   = map[string]*Platform{}
)

// Attach makes p the platform opened by every store whose instance is name.
// It replaces any platform attached under that name, and panics on a nil p.
func Attach(name string, p *Platform) {
	if p == nil {
		panic("memory: Attach: nil platform for " + name)
	}
	instancesMu.Lock()
	defer instancesMu.Unlock()
	instances[name] = p
}

// Detach forgets the platform attached under name, so that tests sharing the
// process leave nothing behind. Connectors opened on it keep working.
func Detach(name string) {
	instancesMu.Lock()
	defer instancesMu.Unlock()
	delete(instances, name)
}

// Lookup returns the platform attached under name, or nil.
func Lookup(name string) *Platform {
	instancesMu.Lock()
	defer instancesMu.Unlock()
	return instances[name]
}

func lookupOrAttach(name string, create func() *Platform) *Platform {
	instancesMu.Lock()
	defer instancesMu.Unlock()
	p, ok := instances[name]
	if !ok {
		p = create()
		instances[name] = p
	}
	return p
}

// Connector is loyaltyd's side of a memory platform. It is safe for
// concurrent use.
type Connector struct {
	p        *Platform
	pageSize int
	secret   string
}

// Platform returns the platform the connector reaches, so that a test that
// opened the connector through the registry can drive the store's side.
func (c *Connector) Platform() *Platform { return c.p }

// Orders returns the next page of orders updated in the cursor's window, by
// keyset over (UpdatedAt, ID): the token is the last key returned, so a
// record is never skipped however many share an update time, and a record
// updated during the read is returned again later in it. It returns an
// error wrapping ctx.Err() when ctx has ended, connectors.ErrUnauthorized
// when the platform revoked access, and an error for a token it did not
// issue; on error the page is empty.
func (c *Connector) Orders(ctx context.Context, cur connectors.Cursor) (connectors.Page[commerce.Order], error) {
	return read(ctx, c, OpOrders, cur, c.p.listOrders, orderKey, func(o *commerce.Order) (err error) {
		o.Raw, err = json.Marshal(o)
		return err
	})
}

// Customers is Orders for customers.
func (c *Connector) Customers(ctx context.Context, cur connectors.Cursor) (connectors.Page[commerce.Customer], error) {
	return read(ctx, c, OpCustomers, cur, c.p.listCustomers, customerKey, func(cu *commerce.Customer) (err error) {
		cu.Raw, err = json.Marshal(cu)
		return err
	})
}

func read[T any](ctx context.Context, c *Connector, op Op, cur connectors.Cursor,
	list func(query) ([]T, bool, error), keyOf func(T) key, setRaw func(*T) error,
) (connectors.Page[T], error) {
	fail := func(err error) (connectors.Page[T], error) {
		return connectors.Page[T]{}, fmt.Errorf("memory: %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	after, err := decodeToken(op, cur.Token)
	if err != nil {
		return fail(err)
	}
	items, more, err := list(query{since: cur.Since, until: cur.Until, after: after, limit: c.pageSize})
	if err != nil {
		return fail(err)
	}
	for i := range items {
		if err := setRaw(&items[i]); err != nil {
			return fail(err)
		}
	}
	next := cur
	if len(items) > 0 {
		next.Token = encodeToken(op, keyOf(items[len(items)-1]))
	}
	return connectors.Page[T]{Items: items, Next: next, Done: !more}, nil
}

// token is the decoded form of a cursor token: the stream it belongs to and
// the last key returned.
type token struct {
	Stream Op        `json:"s"`
	At     time.Time `json:"t"`
	ID     string    `json:"id"`
}

func encodeToken(op Op, k key) string {
	b, err := json.Marshal(token{Stream: op, At: k.at, ID: k.id})
	if err != nil {
		// A struct of a string, a time and a string always encodes.
		panic("memory: encode cursor token: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken returns the key a token continues after, nil for the empty
// token. Tokens come back from storage that another version of loyaltyd may
// have written, so anything unexpected is an error rather than a guess.
func decodeToken(op Op, s string) (*key, error) {
	if s == "" {
		return nil, nil
	}
	bad := func(why string) error {
		shown := s
		if len(shown) > 64 {
			shown = shown[:64] + "…"
		}
		return fmt.Errorf("invalid cursor token %q: %s: %w", shown, why, connectors.ErrBadCursor)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad("not base64url")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var t token
	if err := dec.Decode(&t); err != nil || dec.More() {
		return nil, bad("not a memory cursor")
	}
	switch {
	case t.Stream != op:
		return nil, bad(fmt.Sprintf("a %s cursor, not a %s one", t.Stream, op))
	case t.ID == "":
		return nil, bad("no record id")
	case t.At.IsZero():
		return nil, bad("no update time")
	}
	return &key{at: t.At, id: t.ID}, nil
}

// AddTags adds tags to the customer, comparing them without regard to case
// as platforms do, and keeps its other tags. It returns an error wrapping
// connectors.ErrNotFound for an unknown customer and connectors.ErrRejected
// for an empty tag or one containing a comma.
func (c *Connector) AddTags(ctx context.Context, customerID string, tags []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: add tags: %w", err)
	}
	if err := c.p.addTags(customerID, tags); err != nil {
		return fmt.Errorf("memory: add tags: %w", err)
	}
	return nil
}

// RemoveTags removes tags from the customer, comparing them without regard
// to case, and keeps its other tags. Its errors are those of AddTags.
func (c *Connector) RemoveTags(ctx context.Context, customerID string, tags []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: remove tags: %w", err)
	}
	if err := c.p.removeTags(customerID, tags); err != nil {
		return fmt.Errorf("memory: remove tags: %w", err)
	}
	return nil
}

// EnsureDiscount creates the code unless a code equal to it without regard
// to case exists, and returns the platform's id of the code either way. It
// returns an error wrapping connectors.ErrRejected for an empty code, an
// unknown type or a value the platform refuses, and connectors.ErrNotFound
// when the customer does not exist.
func (c *Connector) EnsureDiscount(ctx context.Context, d commerce.DiscountCode) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("memory: ensure discount: %w", err)
	}
	id, err := c.p.ensureDiscount(d)
	if err != nil {
		return "", fmt.Errorf("memory: ensure discount: %w", err)
	}
	return id, nil
}

// SetMetafields sets the customer's fields and keeps its other fields. It
// returns an error wrapping connectors.ErrNotFound for an unknown customer,
// connectors.ErrUnsupported for a guest, who has no record to hold fields,
// and connectors.ErrRejected for an empty key.
func (c *Connector) SetMetafields(ctx context.Context, customerID string, fields map[string]string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: set metafields: %w", err)
	}
	if err := c.p.setMetafields(customerID, fields); err != nil {
		return fmt.Errorf("memory: set metafields: %w", err)
	}
	return nil
}

// Check returns an error wrapping connectors.ErrUnauthorized when the
// platform has revoked access.
func (c *Connector) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: check: %w", err)
	}
	if err := c.p.check(); err != nil {
		return fmt.Errorf("memory: check: %w", err)
	}
	return nil
}

// Interface guards.
var (
	_ connectors.Connector       = (*Connector)(nil)
	_ connectors.TagWriter       = (*Connector)(nil)
	_ connectors.DiscountWriter  = (*Connector)(nil)
	_ connectors.MetafieldWriter = (*Connector)(nil)
	_ connectors.WebhookSource   = (*Connector)(nil)
	_ connectors.Checker         = (*Connector)(nil)
	_ connectors.Factory         = Open
)
