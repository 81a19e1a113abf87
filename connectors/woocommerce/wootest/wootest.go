// Package wootest is a fake WooCommerce store: an HTTP server that serves
// the parts of the REST API v3 (/wp-json/wc/v3) that loyaltyd uses, with
// WooCommerce's JSON shapes and the rules a real store (WooCommerce 10.0.2)
// was seen to follow, traps included.
//
// It models: orders (with refunds), customers and their meta data, coupons,
// webhook subscriptions; per_page ≤ 100 (else 400 rest_invalid_param),
// X-WP-Total and X-WP-TotalPages, Link headers that repeat every query
// parameter; dates without a zone; modified_after and modified_before
// exclusive at one-second resolution, and shifted by the site's zone when
// they carry one, even with dates_are_gmt=true; Basic auth (and query keys)
// refused unless the server is "HTTPS" as WordPress sees it, OAuth 1.0a
// verified (timestamp window, nonce, HMAC-SHA1/SHA256 signature over the
// site URL); coupon codes trimmed and lower-cased, duplicates refused with
// the real error body, date_expires_gmt silently ignored; customer meta
// keys starting with "_" silently dropped, merged by key; batch limits (100
// items, else 413); webhook subscriptions that fail, count failures and
// disable themselves on the 7th consecutive one, deliveries built and
// signed when they run, the unsigned ping on creation. Faults can be
// injected per route: 5xx bursts, 429 with Retry-After, slow answers,
// dropped connections, and answers cut off after the work was done. It
// records every write and every request.
//
// It needs no *testing.T: tests and `loyaltyd demo` both start it with
// NewServer, on 127.0.0.1, and Close it.
package wootest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	stdsync "sync"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Defaults of the options left empty.
const (
	DefaultConsumerKey    = "ck_wootest"
	DefaultConsumerSecret = "cs_wootest"
	// BatchLimit is WooCommerce's default limit of items in one batch
	// request (create, update and delete together).
	BatchLimit = 100
	// MaxPerPage is the largest per_page WooCommerce accepts.
	MaxPerPage = 100
	// OAuthWindow is how old an OAuth timestamp may be.
	OAuthWindow = 15 * time.Minute
	// MaxFailures is WooCommerce's failure count past which a webhook
	// is disabled: on the 7th consecutive failure, counting from 0.
	MaxFailures = 5
)

// Options configure a Server.
type Options struct {
	// ConsumerKey and ConsumerSecret are the store's one REST API key;
	// empty means DefaultConsumerKey and DefaultConsumerSecret.
	ConsumerKey, ConsumerSecret string
	// ReadOnly gives the key Read permission only: writes answer 401.
	ReadOnly bool
	// TLS serves HTTPS (with a test certificate; use Client).
	TLS bool
	// ProxyHidesHTTPS makes WordPress believe requests came over plain
	// HTTP although TLS served them, as behind a proxy that terminates
	// TLS without telling WordPress: Basic auth and query keys are then
	// ignored, as WooCommerce ignores them, and only OAuth 1.0a works.
	ProxyHidesHTTPS bool
	// TimeZone is the site's time zone, in which the date fields without
	// _gmt are written and zoned date filters are shifted; nil means
	// UTC+2, the zone of the store the fake was modelled on.
	TimeZone *time.Location
	// Now is the store's clock; nil means time.Now.
	Now func() time.Time
	// WebhookClient delivers webhooks; nil means a client with a 60 s
	// timeout, as WooCommerce's, that follows no redirect.
	WebhookClient *http.Client
	// SiteURL is the address WordPress believes it has (its home URL),
	// against which OAuth signatures are checked; empty means the
	// server's own address. The scheme is is_ssl()'s, whatever this says.
	SiteURL string
	// Version is the WooCommerce version reported by system_status;
	// empty means "10.0.2".
	Version string
}

// Server is a fake WooCommerce store. Its methods are safe for concurrent
// use.
type Server struct {
	// URL is the site's address (http://127.0.0.1:port); the API is under
	// URL + "/wp-json/wc/v3".
	URL string

	opts Options
	srv  *httptest.Server
	zone *time.Location
	now  func() time.Time
	hc   *http.Client

	mu        stdsync.Mutex
	nextID    int64
	orders    map[int64]*Order
	customers map[int64]*Customer
	coupons   map[int64]*Coupon
	webhooks  map[int64]*Webhook
	nonces    map[string]time.Time
	faults    map[Route][]Fault
	pending   []delivery
	pings     []int64 // subscriptions created, to ping before answering
	writes    []Write
	requests  []Request
	created   map[string]int // coupon creations by lower-case code
	revoked   bool

	// ordersVersion counts the changes to orders; byModified keeps every
	// order by modification time, for listings bounded by it, while no
	// order changes (handlers.go, ordersByModified).
	ordersVersion uint64
	byModified    orderIndex
}

// NewServer starts a fake store on a loopback address. Close stops it.
func NewServer(o Options) *Server {
	if o.ConsumerKey == "" {
		o.ConsumerKey = DefaultConsumerKey
	}
	if o.ConsumerSecret == "" {
		o.ConsumerSecret = DefaultConsumerSecret
	}
	if o.Version == "" {
		o.Version = "10.0.2"
	}
	s := &Server{
		opts:      o,
		zone:      o.TimeZone,
		now:       o.Now,
		hc:        o.WebhookClient,
		nextID:    1000,
		orders:    map[int64]*Order{},
		customers: map[int64]*Customer{},
		coupons:   map[int64]*Coupon{},
		webhooks:  map[int64]*Webhook{},
		nonces:    map[string]time.Time{},
		faults:    map[Route][]Fault{},
		created:   map[string]int{},
	}
	if s.zone == nil {
		s.zone = time.FixedZone("UTC+2", 2*60*60)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.hc == nil {
		s.hc = &http.Client{
			Timeout:       60 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	h := http.HandlerFunc(s.serve)
	if o.TLS {
		s.srv = httptest.NewTLSServer(h)
	} else {
		s.srv = httptest.NewServer(h)
	}
	s.URL = s.srv.URL
	return s
}

// Close stops the server and waits for the requests it is serving.
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// ConsumerKey returns the store's API key.
func (s *Server) ConsumerKey() string { return s.opts.ConsumerKey }

// ConsumerSecret returns the store's API secret.
func (s *Server) ConsumerSecret() string { return s.opts.ConsumerSecret }

// Address is a billing or shipping address. An empty Email is written as
// null on orders, as WooCommerce does for orders without one.
type Address struct {
	FirstName, LastName, Company, Address1, Address2 string
	City, State, Postcode, Country, Email, Phone     string
}

// Meta is a meta_data entry. Value is any JSON value.
type Meta struct {
	ID    int64
	Key   string
	Value any
}

// LineItem is an order line. Amounts are decimal strings as WooCommerce
// writes them ("12.50"); Subtotal is before discounts, Total after, both
// without tax.
type LineItem struct {
	ID, ProductID, VariationID int64
	Name, SKU                  string
	Quantity                   int
	Subtotal, Total            string
	SubtotalTax, TotalTax      string
}

// RefundLine is the part of a refund that covers one order line; Quantity
// and Total are positive here and written negative, as WooCommerce does.
type RefundLine struct {
	ID       int64
	LineID   int64
	Quantity int
	Total    string
}

// Refund is a refund of an order. Amount is positive; the order lists it
// as a negative total.
type Refund struct {
	ID       int64
	Created  time.Time
	Amount   string
	Reason   string
	Lines    []RefundLine
	Shipping string // the shipping refunded, positive; "" for none
}

// CouponLine is a coupon used on an order.
type CouponLine struct {
	ID       int64
	Code     string
	Discount string
}

// Order is an order as the store holds it. Times are GMT.
type Order struct {
	ID, ParentID, CustomerID int64
	Number, Status, Currency string
	CreatedVia               string
	Created, Modified        time.Time
	Paid, Completed          time.Time
	Billing, Shipping        Address
	Lines                    []LineItem
	DiscountTotal            string
	ShippingTotal            string
	TotalTax                 string
	Total                    string
	Coupons                  []CouponLine
	Refunds                  []Refund
	Meta                     []Meta
}

// Customer is a registered customer (a WordPress user). Times are GMT.
type Customer struct {
	ID                         int64
	Email, FirstName, LastName string
	Username, Role             string
	Created, Modified          time.Time
	Billing, Shipping          Address
	Meta                       []Meta
}

// Coupon is a coupon. Expires is zero for a coupon that never expires.
type Coupon struct {
	ID                       int64
	Code, Status             string
	DiscountType, Amount     string
	Description              string
	Created, Modified        time.Time
	Expires                  time.Time
	IndividualUse            bool
	UsageLimit, UsagePerUser *int
	UsageCount               int
	FreeShipping             bool
	MinimumAmount            string
	EmailRestrictions        []string
	Meta                     []Meta
}

// Webhook is a webhook subscription.
type Webhook struct {
	ID                   int64
	Name, Status, Topic  string
	DeliveryURL, Secret  string
	FailureCount         int
	Created, Modified    time.Time
	PendingDeliveryCount int
}

// Write is one change a client made through the API.
type Write struct {
	// Route names the endpoint ("PUT customers/{id}").
	Route Route
	// ID is the record written, 0 for a create that failed.
	ID int64
	// Body is the request's body.
	Body []byte
	// At is the store's time of the write.
	At time.Time
}

// Request is one request the server answered (or failed on purpose).
type Request struct {
	Method string
	// Path is below /wp-json/wc/v3, without a leading slash.
	Path string
	// Query is the query as sent, OAuth parameters included.
	Query url.Values
	// Basic reports whether the request carried Basic credentials.
	Basic bool
	// Status is the answer's status; 0 for a dropped connection.
	Status int
}

// PutOrder stores o, replacing the order with its id, and queues the
// webhooks a real store would send. A zero ID gets a new one, a zero
// Modified the store's time, a zero Created Modified. It returns the order
// as stored.
func (s *Server) PutOrder(o Order) Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.putOrder(o)
}

func (s *Server) putOrder(o Order) *Order {
	if o.ID == 0 {
		o.ID = s.newID()
	} else if o.ID >= s.nextID {
		s.nextID = o.ID + 1
	}
	if o.Modified.IsZero() {
		o.Modified = s.now()
	}
	if o.Created.IsZero() {
		o.Created = o.Modified
	}
	if o.Number == "" {
		o.Number = strconv.FormatInt(o.ID, 10)
	}
	if o.Status == "" {
		o.Status = "pending"
	}
	if o.CreatedVia == "" {
		o.CreatedVia = "checkout"
	}
	for i := range o.Lines {
		if o.Lines[i].ID == 0 {
			o.Lines[i].ID = s.newID()
		}
	}
	for i := range o.Refunds {
		if o.Refunds[i].ID == 0 {
			o.Refunds[i].ID = s.newID()
		}
		for j := range o.Refunds[i].Lines {
			if o.Refunds[i].Lines[j].ID == 0 {
				o.Refunds[i].Lines[j].ID = s.newID()
			}
		}
	}
	_, existed := s.orders[o.ID]
	cp := cloneOrder(o)
	s.orders[o.ID] = &cp
	s.ordersVersion++
	if o.Status != "checkout-draft" && o.Status != "auto-draft" {
		if !existed {
			s.queue("order.created", o.ID)
		}
		s.queue("order.updated", o.ID)
	}
	return &cp
}

// TrashOrder moves an order to the trash, as DELETE /orders/<id> without
// force does; order.deleted is sent with {"id": N}.
func (s *Server) TrashOrder(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return false
	}
	o.Status, o.Modified = "trash", s.now()
	s.ordersVersion++
	s.queue("order.deleted", id)
	return true
}

// PutCustomer stores c, replacing the customer with its id, and queues
// the customer.created or customer.updated webhooks. A zero ID gets a new
// one, a zero Modified the store's time, an empty Role "customer". It
// returns the customer as stored.
func (s *Server) PutCustomer(c Customer) Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == 0 {
		c.ID = s.newID()
	} else if c.ID >= s.nextID {
		s.nextID = c.ID + 1
	}
	if c.Modified.IsZero() {
		c.Modified = s.now()
	}
	if c.Created.IsZero() {
		c.Created = c.Modified
	}
	if c.Role == "" {
		c.Role = "customer"
	}
	if c.Username == "" {
		c.Username = strings.ToLower(strings.SplitN(c.Email, "@", 2)[0])
	}
	for i := range c.Meta {
		if c.Meta[i].ID == 0 {
			c.Meta[i].ID = s.newID()
		}
	}
	_, existed := s.customers[c.ID]
	cp := cloneCustomer(c)
	s.customers[c.ID] = &cp
	if existed {
		s.queue("customer.updated", c.ID)
	} else {
		s.queue("customer.created", c.ID)
	}
	return cloneCustomer(cp)
}

// DeleteCustomer deletes a customer; customer.deleted is sent with
// {"id": N}.
func (s *Server) DeleteCustomer(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.customers[id]; !ok {
		return false
	}
	delete(s.customers, id)
	s.queue("customer.deleted", id)
	return true
}

// PutCoupon stores a coupon as given (a zero ID gets a new one), without
// the checks of the API: for seeding codes a store already has.
func (s *Server) PutCoupon(c Coupon) Coupon {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == 0 {
		c.ID = s.newID()
	}
	if c.Status == "" {
		c.Status = "publish"
	}
	if c.Modified.IsZero() {
		c.Modified = s.now()
	}
	if c.Created.IsZero() {
		c.Created = c.Modified
	}
	cp := cloneCoupon(c)
	s.coupons[c.ID] = &cp
	return cloneCoupon(cp)
}

// Order returns the order with the id.
func (s *Server) Order(id int64) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return Order{}, false
	}
	return cloneOrder(*o), true
}

// Customer returns the customer with the id.
func (s *Server) Customer(id int64) (Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.customers[id]
	if !ok {
		return Customer{}, false
	}
	return cloneCustomer(*c), true
}

// CustomerMeta returns the customer's meta data as text: strings as they
// are, other values as JSON.
func (s *Server) CustomerMeta(id int64) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.customers[id]
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, m := range c.Meta {
		out[m.Key] = metaText(m.Value)
	}
	return out
}

// Coupon returns the coupon with the code, compared as WooCommerce
// compares codes: trimmed, without regard to case.
func (s *Server) Coupon(code string) (Coupon, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.couponByCode(code); c != nil {
		return cloneCoupon(*c), true
	}
	return Coupon{}, false
}

// Coupons returns every coupon, by id.
func (s *Server) Coupons() []Coupon {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Coupon
	for _, id := range sortedIDs(s.coupons) {
		out = append(out, cloneCoupon(*s.coupons[id]))
	}
	return out
}

// CouponCreations returns how many times the API created a coupon with
// the code, compared without regard to case.
func (s *Server) CouponCreations(code string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created[normalizeCode(code)]
}

// Writes returns every write made through the API, in order.
func (s *Server) Writes() []Write {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

// Requests returns every request answered, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// RevokeAccess deletes the API key: every request is refused as with an
// unknown key.
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

func (s *Server) newID() int64 {
	s.nextID++
	return s.nextID - 1
}

func (s *Server) couponByCode(code string) *Coupon {
	want := normalizeCode(code)
	for _, id := range sortedIDs(s.coupons) {
		if c := s.coupons[id]; normalizeCode(c.Code) == want && c.Status != "trash" {
			return c
		}
	}
	return nil
}

// normalizeCode is wc_format_coupon_code as observed: trimmed, lower case.
func normalizeCode(code string) string { return strings.ToLower(strings.TrimSpace(code)) }

func sortedIDs[V any](m map[int64]V) []int64 {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func cloneOrder(o Order) Order {
	o.Lines = slices.Clone(o.Lines)
	o.Coupons = slices.Clone(o.Coupons)
	o.Meta = slices.Clone(o.Meta)
	o.Refunds = slices.Clone(o.Refunds)
	for i := range o.Refunds {
		o.Refunds[i].Lines = slices.Clone(o.Refunds[i].Lines)
	}
	return o
}

func cloneCustomer(c Customer) Customer {
	c.Meta = slices.Clone(c.Meta)
	return c
}

func cloneCoupon(c Coupon) Coupon {
	c.Meta = slices.Clone(c.Meta)
	c.EmailRestrictions = slices.Clone(c.EmailRestrictions)
	if c.UsageLimit != nil {
		v := *c.UsageLimit
		c.UsageLimit = &v
	}
	if c.UsagePerUser != nil {
		v := *c.UsagePerUser
		c.UsagePerUser = &v
	}
	return c
}

// OrderFromCommerce returns the order a WooCommerce store would hold for o:
// paid as processing, pending as pending, authorized or partially paid as
// on-hold, refunded as refunded, partially refunded as processing with its
// refunds, voided as failed, and any cancelled order (o has a cancellation
// time) as cancelled, with its refunds. WooCommerce records no cancellation time: it is lost. The
// order id must be a decimal number; line and refund ids that are not get
// numbers derived from it; a guest's order (a customer id that is not a
// number) gets customer_id 0 and o's e-mail.
func OrderFromCommerce(o commerce.Order) (Order, error) {
	id, err := parseID("order id", o.ID)
	if err != nil {
		return Order{}, err
	}
	w := Order{
		ID:            id,
		Number:        strings.TrimPrefix(o.Number, "#"),
		Currency:      o.Currency,
		Created:       o.CreatedAt.UTC(),
		Modified:      o.UpdatedAt.UTC(),
		Billing:       Address{Email: o.Email},
		ShippingTotal: o.Shipping.Decimal(),
		TotalTax:      o.Tax.Decimal(),
		Total:         o.Total.Decimal(),
	}
	if n, err := strconv.ParseInt(o.CustomerID, 10, 64); err == nil && n > 0 {
		w.CustomerID = n
	}
	switch o.State {
	case commerce.StatePaid, commerce.StatePartiallyRefunded:
		w.Status = "processing"
	case commerce.StatePending:
		w.Status = "pending"
	case commerce.StateAuthorized, commerce.StatePartiallyPaid:
		w.Status = "on-hold"
	case commerce.StateRefunded:
		w.Status = "refunded"
	case commerce.StateVoided:
		w.Status = "failed"
	default:
		return Order{}, fmt.Errorf("order %s: state %q has no WooCommerce status", o.ID, o.State)
	}
	if o.Cancelled() {
		w.Status = "cancelled"
	}
	if o.State.Paid() {
		w.Paid = o.ProcessedTime().UTC()
	}
	// Line and refund ids that are no numbers (a synthetic store's
	// "1001-1") get numbers derived from the order's, as WooCommerce would
	// number them itself; refunds keep pointing at their lines.
	lineIDs := map[string]int64{}
	derived := func(s string, n int) int64 {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil && v > 0 {
			return v
		}
		return id*1000 + int64(n)
	}
	var discount commerce.Money
	for i, l := range o.Lines {
		lid := derived(l.ID, i+1)
		lineIDs[l.ID] = lid
		li := LineItem{
			ID: lid, Name: l.Title, SKU: l.SKU, Quantity: l.Quantity,
			Subtotal: l.Subtotal.Decimal(), Total: l.Net().Decimal(),
			SubtotalTax: zero(o.Currency), TotalTax: zero(o.Currency),
		}
		li.ProductID, _ = strconv.ParseInt(l.ProductID, 10, 64)
		li.VariationID, _ = strconv.ParseInt(l.VariantID, 10, 64)
		w.Lines = append(w.Lines, li)
		discount = discount.Add(l.Discount)
	}
	w.DiscountTotal = commerce.NewMoney(discount.Minor, o.Currency).Decimal()
	for _, c := range o.Codes {
		w.Coupons = append(w.Coupons, CouponLine{Code: strings.ToLower(c.Code), Discount: c.Amount.Decimal()})
	}
	for i, r := range o.Refunds {
		wr := Refund{ID: derived(r.ID, 500+i), Created: r.CreatedAt.UTC(), Amount: r.Amount.Decimal(), Reason: r.Note}
		if !r.Shipping.IsZero() {
			wr.Shipping = r.Shipping.Decimal()
		}
		for _, rl := range r.Lines {
			lid, ok := lineIDs[rl.LineID]
			if !ok {
				return Order{}, fmt.Errorf("order %s: refund %s names line %s, which the order lacks", o.ID, r.ID, rl.LineID)
			}
			wr.Lines = append(wr.Lines, RefundLine{LineID: lid, Quantity: rl.Quantity, Total: rl.Amount.Decimal()})
		}
		w.Refunds = append(w.Refunds, wr)
	}
	if a := o.ShippingAddress; a != nil {
		w.Shipping = Address{Address1: a.Address1, Address2: a.Address2, City: a.City, Postcode: a.Zip, Country: a.Country}
	}
	return w, nil
}

// CustomerFromCommerce returns the customer a WooCommerce store would
// hold for c, its tags in the meta key tagsKey as one comma-separated list
// (WooCommerce has no customer tags). A guest has no customer record: it is
// an error.
func CustomerFromCommerce(c commerce.Customer, tagsKey string) (Customer, error) {
	if c.Guest {
		return Customer{}, fmt.Errorf("customer %s is a guest: WooCommerce keeps guests only on their orders", c.ID)
	}
	id, err := parseID("customer id", c.ID)
	if err != nil {
		return Customer{}, err
	}
	w := Customer{
		ID: id, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName,
		Created: c.CreatedAt.UTC(), Modified: c.UpdatedAt.UTC(),
		Billing: Address{FirstName: c.FirstName, LastName: c.LastName, Email: c.Email},
	}
	if len(c.Tags) > 0 && tagsKey != "" {
		w.Meta = append(w.Meta, Meta{Key: tagsKey, Value: strings.Join(c.Tags, ",")})
	}
	return w, nil
}

func parseID(what, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s %q is not a WooCommerce id (a positive integer)", what, s)
	}
	return n, nil
}

func zero(currency string) string { return commerce.NewMoney(0, currency).Decimal() }
