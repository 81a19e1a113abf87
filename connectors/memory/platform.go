package memory

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

// DefaultPageSize is the page size of a Platform whose options leave it zero.
const DefaultPageSize = 50

// Op names a platform operation that a fault can be injected into.
type Op string

// The operations a fault can be injected into: the platform's side of each
// connector call.
const (
	// OpOrders is a read of orders (Connector.Orders).
	OpOrders Op = "orders"
	// OpCustomers is a read of customers (Connector.Customers).
	OpCustomers Op = "customers"
	// OpAddTags is Connector.AddTags.
	OpAddTags Op = "add_tags"
	// OpRemoveTags is Connector.RemoveTags.
	OpRemoveTags Op = "remove_tags"
	// OpEnsureDiscount is Connector.EnsureDiscount, look-up and creation.
	OpEnsureDiscount Op = "ensure_discount"
	// OpSetMetafields is Connector.SetMetafields.
	OpSetMetafields Op = "set_metafields"
)

func (op Op) valid() bool {
	switch op {
	case OpOrders, OpCustomers, OpAddTags, OpRemoveTags, OpEnsureDiscount, OpSetMetafields:
		return true
	}
	return false
}

// ErrInjected is the error of a fault injected with FailNext without an
// error of its own, and of every FailAfterWrite fault.
var ErrInjected = errors.New("injected fault")

// Write is one write a connector made to the platform, in the order the
// platform applied them.
type Write struct {
	// Op is the operation: OpAddTags, OpRemoveTags, OpEnsureDiscount or
	// OpSetMetafields.
	Op Op
	// CustomerID is the customer written to.
	CustomerID string
	// Detail says what was written: the tags, the code, or the fields as
	// sorted key=value pairs.
	Detail string
	// At is the platform's time of the write.
	At time.Time
}

// PlatformOptions configures a Platform.
type PlatformOptions struct {
	// Now is the platform's clock, the only source of time it uses; nil
	// means time.Now.
	Now func() time.Time
	// PageSize is the number of records a read returns when the connector
	// does not ask for fewer or more; zero means DefaultPageSize.
	PageSize int
	// WebhookSecret is the key the platform signs its webhooks with.
	WebhookSecret string
}

// Platform is an in-process e-commerce platform: customers, orders with
// their refunds, customer tags and fields, and discount codes, kept in
// memory. Tests and the demo drive it from the platform's side (PutOrder,
// Refund, Cancel, Webhook, FailNext, …) and loyaltyd reaches it through a
// Connector, as it would reach a real store.
//
// A Platform is safe for concurrent use. Every record goes in and comes out
// as a deep copy, so no caller can change the platform's state behind its
// back.
type Platform struct {
	now      func() time.Time
	pageSize int
	secret   string

	mu         stdsync.Mutex
	orders     map[string]commerce.Order
	customers  map[string]commerce.Customer
	metafields map[string]map[string]string
	discounts  map[string]discount // by foldCode
	creations  map[string]int      // by foldCode
	writes     []Write
	faults     map[Op][]fault
	revoked    bool
	seq        int
}

type discount struct {
	id   string
	code commerce.DiscountCode
}

// fault is one injected failure: err is returned before the operation runs,
// or after it when after is set.
type fault struct {
	err   error
	after bool
}

// NewPlatform returns an empty platform.
func NewPlatform(o PlatformOptions) *Platform {
	clock := o.Now
	if clock == nil {
		clock = time.Now
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	return &Platform{
		now:        func() time.Time { return wall(clock()) },
		pageSize:   o.PageSize,
		secret:     o.WebhookSecret,
		orders:     map[string]commerce.Order{},
		customers:  map[string]commerce.Customer{},
		metafields: map[string]map[string]string{},
		discounts:  map[string]discount{},
		creations:  map[string]int{},
		faults:     map[Op][]fault{},
	}
}

// PutCustomer creates or replaces a customer, tags included, as given. A
// zero UpdatedAt is set to the platform's time, as a platform stamps every
// change. The customer's fields (metafields) are kept. It panics on an
// empty id, which is a mistake in the calling test.
func (p *Platform) PutCustomer(c commerce.Customer) {
	if c.ID == "" {
		panic("memory: PutCustomer: customer has no id")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c = cloneCustomer(c)
	c.Raw = nil // the platform's own form of a record is its JSON
	c.UpdatedAt = wall(c.UpdatedAt)
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = p.now()
	}
	p.customers[c.ID] = c
}

// PutOrder creates or replaces an order as given, refunds and state
// included; it checks nothing, so tests can store the odd orders real
// platforms produce. A zero UpdatedAt is set to the platform's time. It
// panics on an empty id, which is a mistake in the calling test.
func (p *Platform) PutOrder(o commerce.Order) {
	if o.ID == "" {
		panic("memory: PutOrder: order has no id")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	o = cloneOrder(o)
	o.Raw = nil
	o.UpdatedAt = wall(o.UpdatedAt)
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = p.now()
	}
	p.orders[o.ID] = o
}

// Refund records a refund on a paid order. Once the refunds add up to the
// order's total the order is refunded, before that partially refunded. A
// refund without an id or a time gets the platform's. It returns an error
// wrapping connectors.ErrNotFound for an unknown order, and
// connectors.ErrRejected for an order that was not paid, an amount that is
// not positive, in another currency, or more than is left to refund.
func (p *Platform) Refund(orderID string, r commerce.Refund) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	o, ok := p.orders[orderID]
	if !ok {
		return fmt.Errorf("memory: refund order %s: %w", orderID, connectors.ErrNotFound)
	}
	if o.State != commerce.StatePaid && o.State != commerce.StatePartiallyRefunded {
		return fmt.Errorf("memory: refund order %s: %w: order is %s", orderID, connectors.ErrRejected, o.State)
	}
	if r.Amount.Currency == "" {
		r.Amount.Currency = o.Currency
	}
	if r.Amount.Currency != o.Currency {
		return fmt.Errorf("memory: refund order %s: %w: amount in %s, order in %s", orderID, connectors.ErrRejected, r.Amount.Currency, o.Currency)
	}
	if r.Amount.Minor <= 0 {
		return fmt.Errorf("memory: refund order %s: %w: amount %s is not positive", orderID, connectors.ErrRejected, r.Amount)
	}
	// Minor units, not Money arithmetic: PutOrder stores whatever it is
	// given, and Money panics on an order whose amounts mix currencies.
	left := o.Total.Minor
	for _, prev := range o.Refunds {
		left -= prev.Amount.Minor
	}
	if r.Amount.Minor > left {
		return fmt.Errorf("memory: refund order %s: %w: amount %s is more than the %s left",
			orderID, connectors.ErrRejected, r.Amount, commerce.NewMoney(left, o.Currency))
	}
	now := p.now()
	if r.ID == "" {
		r.ID = p.nextID("refund")
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	r.Lines = slices.Clone(r.Lines)
	o.Refunds = append(o.Refunds, r)
	o.State = commerce.StatePartiallyRefunded
	if r.Amount.Minor == left {
		o.State = commerce.StateRefunded
	}
	o.UpdatedAt = now
	p.orders[orderID] = o
	return nil
}

// Cancel cancels an order. An order no money was taken for (pending or
// authorized) becomes voided; a paid one keeps its state, since a platform
// refunds separately. It returns an error wrapping connectors.ErrNotFound
// for an unknown order and connectors.ErrRejected for one already
// cancelled.
func (p *Platform) Cancel(orderID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	o, ok := p.orders[orderID]
	if !ok {
		return fmt.Errorf("memory: cancel order %s: %w", orderID, connectors.ErrNotFound)
	}
	if o.Cancelled() {
		return fmt.Errorf("memory: cancel order %s: %w: already cancelled", orderID, connectors.ErrRejected)
	}
	now := p.now()
	o.CancelledAt = now
	if o.State == commerce.StatePending || o.State == commerce.StateAuthorized {
		o.State = commerce.StateVoided
	}
	o.UpdatedAt = now
	p.orders[orderID] = o
	return nil
}

// MarkPaid captures the payment of a pending, authorized or partially paid
// order. It returns an error wrapping connectors.ErrNotFound for an unknown
// order and connectors.ErrRejected for a cancelled order or one in any other
// state.
func (p *Platform) MarkPaid(orderID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	o, ok := p.orders[orderID]
	if !ok {
		return fmt.Errorf("memory: mark order %s paid: %w", orderID, connectors.ErrNotFound)
	}
	if o.Cancelled() {
		return fmt.Errorf("memory: mark order %s paid: %w: order is cancelled", orderID, connectors.ErrRejected)
	}
	switch o.State {
	case commerce.StatePending, commerce.StateAuthorized, commerce.StatePartiallyPaid:
	default:
		return fmt.Errorf("memory: mark order %s paid: %w: order is %s", orderID, connectors.ErrRejected, o.State)
	}
	o.State = commerce.StatePaid
	o.UpdatedAt = p.now()
	p.orders[orderID] = o
	return nil
}

// DeleteOrder deletes an order. It returns an error wrapping
// connectors.ErrNotFound for an unknown order.
func (p *Platform) DeleteOrder(orderID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.orders[orderID]; !ok {
		return fmt.Errorf("memory: delete order %s: %w", orderID, connectors.ErrNotFound)
	}
	delete(p.orders, orderID)
	return nil
}

// DeleteCustomer deletes a customer with its tags and fields; its orders and
// discount codes stay, as on a real platform. It returns an error wrapping
// connectors.ErrNotFound for an unknown customer.
func (p *Platform) DeleteCustomer(customerID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.customers[customerID]; !ok {
		return fmt.Errorf("memory: delete customer %s: %w", customerID, connectors.ErrNotFound)
	}
	delete(p.customers, customerID)
	delete(p.metafields, customerID)
	return nil
}

// Order returns a copy of the order, and whether it exists.
func (p *Platform) Order(id string) (commerce.Order, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	o, ok := p.orders[id]
	return cloneOrder(o), ok
}

// Customer returns a copy of the customer, and whether it exists.
func (p *Platform) Customer(id string) (commerce.Customer, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.customers[id]
	return cloneCustomer(c), ok
}

// Tags returns a copy of the customer's tags; nil for an unknown customer.
func (p *Platform) Tags(customerID string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.customers[customerID].Tags)
}

// Metafields returns a copy of the customer's fields; nil for an unknown
// customer or one without fields.
func (p *Platform) Metafields(customerID string) map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.metafields[customerID])
}

// Discount returns the discount code, looked up without regard to case as
// shoppers type it, and whether it exists.
func (p *Platform) Discount(code string) (commerce.DiscountCode, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.discounts[foldCode(code)]
	return d.code, ok
}

// Discounts returns every discount code, sorted by code.
func (p *Platform) Discounts() []commerce.DiscountCode {
	p.mu.Lock()
	defer p.mu.Unlock()
	ds := make([]commerce.DiscountCode, 0, len(p.discounts))
	for _, d := range p.discounts {
		ds = append(ds, d.code)
	}
	slices.SortFunc(ds, func(a, b commerce.DiscountCode) int { return strings.Compare(foldCode(a.Code), foldCode(b.Code)) })
	return ds
}

// DiscountCreations returns how many times the code (in any case) was
// created. Idempotent write-back keeps it at one however often a write is
// retried.
func (p *Platform) DiscountCreations(code string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.creations[foldCode(code)]
}

// Writes returns the writes connectors made, oldest first.
func (p *Platform) Writes() []Write {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.writes)
}

// FailNext makes the next n calls of op fail with err before they do
// anything, as a refused connection or a 5xx answer would; a nil err means
// ErrInjected. Faults queue up behind those already injected for op. It
// panics on an unknown op.
func (p *Platform) FailNext(op Op, n int, err error) {
	if err == nil {
		err = fmt.Errorf("%w: %s failed", ErrInjected, op)
	}
	p.inject(op, n, fault{err: err})
}

// FailAfterWrite makes the next n calls of op do their work and then fail
// with an error wrapping ErrInjected, as when the connection drops after the
// platform committed a write but before its answer arrived: the caller
// cannot tell whether the write happened, so only an idempotent retry is
// safe. For a read it models an answer lost on the way. It panics on an
// unknown op.
func (p *Platform) FailAfterWrite(op Op, n int) {
	p.inject(op, n, fault{err: fmt.Errorf("%w: %s succeeded but its answer was lost", ErrInjected, op), after: true})
}

func (p *Platform) inject(op Op, n int, f fault) {
	if !op.valid() {
		panic(fmt.Sprintf("memory: unknown op %q", op))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.faults[op] = append(p.faults[op], f)
	}
}

// RevokeAccess withdraws every connector's access, as an uninstalled app or
// a rotated token does: reads, writes and checks fail with an error wrapping
// connectors.ErrUnauthorized until RestoreAccess.
func (p *Platform) RevokeAccess() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.revoked = true
}

// RestoreAccess undoes RevokeAccess.
func (p *Platform) RestoreAccess() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.revoked = false
}

// begin starts a connector's call of op with p.mu held: it returns the
// injected fault due before the call, if any, or the refusal of revoked
// credentials, and the fault due after it (nil if none).
func (p *Platform) begin(op Op) (before, after error) {
	if q := p.faults[op]; len(q) > 0 {
		f := q[0]
		p.faults[op] = q[1:]
		if !f.after {
			return f.err, nil
		}
		after = f.err
	}
	if p.revoked {
		return fmt.Errorf("%w: access revoked", connectors.ErrUnauthorized), nil
	}
	return nil, after
}

// check is the platform's side of Checker.
func (p *Platform) check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.revoked {
		return fmt.Errorf("%w: access revoked", connectors.ErrUnauthorized)
	}
	return nil
}

// key is a record's position in the platform's update order.
type key struct {
	at time.Time
	id string
}

func (k key) compare(o key) int {
	if c := k.at.Compare(o.at); c != 0 {
		return c
	}
	return strings.Compare(k.id, o.id)
}

// query selects records as the platform's list endpoints do: updated in
// [since, until) (until zero means open), strictly after the key after
// unless it is nil, at most limit of them, in ascending (UpdatedAt, ID)
// order.
type query struct {
	since, until time.Time
	after        *key
	limit        int
}

func (q query) match(k key) bool {
	if k.at.Before(q.since) || (!q.until.IsZero() && !k.at.Before(q.until)) {
		return false
	}
	return q.after == nil || q.after.compare(k) < 0
}

// list returns the records q selects and whether more follow them.
func list[T any](p *Platform, op Op, records map[string]T, keyOf func(T) key, clone func(T) T, q query) ([]T, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	before, after := p.begin(op)
	if before != nil {
		return nil, false, before
	}
	var out []T
	for _, r := range records {
		if q.match(keyOf(r)) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b T) int { return keyOf(a).compare(keyOf(b)) })
	more := len(out) > q.limit
	if more {
		out = out[:q.limit]
	}
	for i := range out {
		out[i] = clone(out[i])
	}
	if after != nil {
		return nil, false, after
	}
	return out, more, nil
}

func orderKey(o commerce.Order) key       { return key{o.UpdatedAt, o.ID} }
func customerKey(c commerce.Customer) key { return key{c.UpdatedAt, c.ID} }

func (p *Platform) listOrders(q query) ([]commerce.Order, bool, error) {
	return list(p, OpOrders, p.orders, orderKey, cloneOrder, q)
}

func (p *Platform) listCustomers(q query) ([]commerce.Customer, bool, error) {
	return list(p, OpCustomers, p.customers, customerKey, cloneCustomer, q)
}

// addTags is the platform's side of TagWriter.AddTags.
func (p *Platform) addTags(customerID string, tags []string) error {
	return p.editTags(OpAddTags, customerID, tags, func(have []string, tag string) []string {
		if hasTag(have, tag) {
			return have
		}
		return append(have, tag)
	})
}

// removeTags is the platform's side of TagWriter.RemoveTags.
func (p *Platform) removeTags(customerID string, tags []string) error {
	return p.editTags(OpRemoveTags, customerID, tags, func(have []string, tag string) []string {
		return slices.DeleteFunc(have, func(t string) bool { return strings.EqualFold(t, tag) })
	})
}

func (p *Platform) editTags(op Op, customerID string, tags []string, edit func(have []string, tag string) []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	before, after := p.begin(op)
	if before != nil {
		return before
	}
	c, ok := p.customers[customerID]
	if !ok {
		return fmt.Errorf("customer %s: %w", customerID, connectors.ErrNotFound)
	}
	clean := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		// Platforms keep tags as one comma-separated list, so a comma would
		// silently turn one tag into two.
		if t == "" || strings.Contains(t, ",") {
			return fmt.Errorf("tag %q: %w: empty or contains a comma", t, connectors.ErrRejected)
		}
		clean = append(clean, t)
	}
	was := slices.Clone(c.Tags)
	for _, t := range clean {
		c.Tags = edit(c.Tags, t)
	}
	if !slices.Equal(was, c.Tags) {
		c.UpdatedAt = p.now()
		p.customers[customerID] = c
	}
	p.record(op, customerID, strings.Join(clean, ","))
	return after
}

func hasTag(tags []string, tag string) bool {
	return slices.ContainsFunc(tags, func(t string) bool { return strings.EqualFold(t, tag) })
}

// ensureDiscount is the platform's side of DiscountWriter.EnsureDiscount:
// the look-up and the creation under one lock, as one idempotent step.
func (p *Platform) ensureDiscount(d commerce.DiscountCode) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	before, after := p.begin(OpEnsureDiscount)
	if before != nil {
		return "", before
	}
	if strings.TrimSpace(d.Code) == "" {
		return "", fmt.Errorf("code: %w: empty", connectors.ErrRejected)
	}
	if have, ok := p.discounts[foldCode(d.Code)]; ok {
		return have.id, after
	}
	if err := validateDiscount(d); err != nil {
		return "", fmt.Errorf("code %s: %w: %w", d.Code, connectors.ErrRejected, err)
	}
	// A shared (referral) code is restricted to nobody; any other code to
	// its customer, who must exist.
	if who := d.CustomerID; !d.Shared || who != "" {
		if _, ok := p.customers[who]; !ok {
			return "", fmt.Errorf("code %s: customer %s: %w", d.Code, who, connectors.ErrNotFound)
		}
	}
	id := p.nextID("discount")
	p.discounts[foldCode(d.Code)] = discount{id: id, code: d}
	p.creations[foldCode(d.Code)]++
	p.record(OpEnsureDiscount, d.CustomerID, d.Code)
	return id, after
}

// validateDiscount refuses what a platform's discount API refuses.
func validateDiscount(d commerce.DiscountCode) error {
	if d.CustomerID == "" && !d.Shared {
		return errors.New("no customer to restrict the code to")
	}
	switch d.Type {
	case commerce.DiscountFixedAmount:
		if d.Amount.Minor <= 0 {
			return fmt.Errorf("amount %s is not positive", d.Amount)
		}
		if _, err := commerce.NormalizeCurrency(d.Amount.Currency); err != nil {
			return fmt.Errorf("amount: %w", err)
		}
	case commerce.DiscountPercentage:
		if d.PercentBP <= 0 || d.PercentBP > 10000 {
			return fmt.Errorf("percentage %d bp is not in (0, 10000]", d.PercentBP)
		}
	case commerce.DiscountFreeShipping:
	default:
		return fmt.Errorf("unknown type %q", d.Type)
	}
	if d.MinimumOrder.Minor < 0 {
		return fmt.Errorf("minimum order %s is negative", d.MinimumOrder)
	}
	if !d.ExpiresAt.IsZero() && !d.ExpiresAt.After(d.StartsAt) {
		return errors.New("expires before it starts")
	}
	return nil
}

// setMetafields is the platform's side of MetafieldWriter.SetMetafields.
func (p *Platform) setMetafields(customerID string, fields map[string]string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	before, after := p.begin(OpSetMetafields)
	if before != nil {
		return before
	}
	c, ok := p.customers[customerID]
	if !ok {
		return fmt.Errorf("customer %s: %w", customerID, connectors.ErrNotFound)
	}
	if c.Guest {
		// Modelled on WooCommerce, where a guest is no user and has no meta data.
		return fmt.Errorf("customer %s: %w: a guest has no fields", customerID, connectors.ErrUnsupported)
	}
	keys := slices.Sorted(maps.Keys(fields))
	for _, k := range keys {
		if strings.TrimSpace(k) == "" {
			return fmt.Errorf("field %q: %w: empty key", k, connectors.ErrRejected)
		}
	}
	have := p.metafields[customerID]
	if have == nil {
		have = map[string]string{}
		p.metafields[customerID] = have
	}
	pairs := make([]string, 0, len(keys))
	changed := false
	for _, k := range keys {
		if v, ok := have[k]; !ok || v != fields[k] {
			changed = true
		}
		have[k] = fields[k]
		pairs = append(pairs, k+"="+fields[k])
	}
	if changed {
		c.UpdatedAt = p.now()
		p.customers[customerID] = c
	}
	p.record(OpSetMetafields, customerID, strings.Join(pairs, ","))
	return after
}

// record appends a write; p.mu is held.
func (p *Platform) record(op Op, customerID, detail string) {
	p.writes = append(p.writes, Write{Op: op, CustomerID: customerID, Detail: detail, At: p.now()})
}

// nextID returns a new id for the platform's own records; p.mu is held.
func (p *Platform) nextID(prefix string) string {
	p.seq++
	return fmt.Sprintf("%s-%d", prefix, p.seq)
}

// wall strips t's monotonic clock reading. Cursor tokens carry only the
// wall clock, and times compare by the monotonic reading when both have one,
// so the keys a read sorts by and the keys a token holds must agree.
func wall(t time.Time) time.Time { return t.Round(0) }

// foldCode is the form under which codes are compared: shoppers type codes
// in any case and platforms accept them so.
func foldCode(code string) string { return strings.ToLower(strings.TrimSpace(code)) }

// cloneOrder returns a copy of o that shares no memory with it.
func cloneOrder(o commerce.Order) commerce.Order {
	o.Lines = slices.Clone(o.Lines)
	o.Codes = slices.Clone(o.Codes)
	o.Tags = slices.Clone(o.Tags)
	o.Raw = bytes.Clone(o.Raw)
	if o.ShippingAddress != nil {
		a := *o.ShippingAddress
		o.ShippingAddress = &a
	}
	if o.Refunds != nil {
		rs := make([]commerce.Refund, len(o.Refunds))
		for i, r := range o.Refunds {
			r.Lines = slices.Clone(r.Lines)
			rs[i] = r
		}
		o.Refunds = rs
	}
	return o
}

// cloneCustomer returns a copy of c that shares no memory with it.
func cloneCustomer(c commerce.Customer) commerce.Customer {
	c.Tags = slices.Clone(c.Tags)
	c.Raw = bytes.Clone(c.Raw)
	return c
}
