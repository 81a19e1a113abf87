package wootest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// apiPrefix is where the REST API v3 lives.
const apiPrefix = "/wp-json/wc/v3/"

// Route names an endpoint, as "METHOD path" with {id} for a record id.
type Route string

// The routes the fake serves.
const (
	RouteListOrders      Route = "GET orders"
	RouteGetOrder        Route = "GET orders/{id}"
	RouteListRefunds     Route = "GET orders/{id}/refunds"
	RouteListCustomers   Route = "GET customers"
	RouteGetCustomer     Route = "GET customers/{id}"
	RouteUpdateCustomer  Route = "PUT customers/{id}"
	RouteBatchCustomers  Route = "POST customers/batch"
	RouteListCoupons     Route = "GET coupons"
	RouteGetCoupon       Route = "GET coupons/{id}"
	RouteCreateCoupon    Route = "POST coupons"
	RouteUpdateCoupon    Route = "PUT coupons/{id}"
	RouteBatchCoupons    Route = "POST coupons/batch"
	RouteListWebhooks    Route = "GET webhooks"
	RouteCreateWebhook   Route = "POST webhooks"
	RouteUpdateWebhook   Route = "PUT webhooks/{id}"
	RouteDeleteWebhook   Route = "DELETE webhooks/{id}"
	RouteSystemStatus    Route = "GET system_status"
	RouteAny             Route = "*" // a fault on every route
	routeUnknown         Route = ""
	routeGetWebhook      Route = "GET webhooks/{id}"
	routeUpdateOrderPost Route = "POST orders/{id}"
)

var idSegment = regexp.MustCompile(`/\d+`)

// routeOf returns the route of a request and the ids in its path.
func routeOf(method, path string) (Route, []int64) {
	var ids []int64
	for _, m := range idSegment.FindAllString("/"+path, -1) {
		n, _ := strconv.ParseInt(m[1:], 10, 64)
		ids = append(ids, n)
	}
	shape := strings.TrimPrefix(idSegment.ReplaceAllString("/"+path, "/{id}"), "/")
	r := Route(method + " " + shape)
	switch r {
	case RouteListOrders, RouteGetOrder, RouteListRefunds, RouteListCustomers, RouteGetCustomer,
		RouteUpdateCustomer, RouteBatchCustomers, RouteListCoupons, RouteGetCoupon, RouteCreateCoupon,
		RouteUpdateCoupon, RouteBatchCoupons, RouteListWebhooks, RouteCreateWebhook, RouteUpdateWebhook,
		RouteDeleteWebhook, RouteSystemStatus, routeGetWebhook:
		return r, ids
	case "POST customers/{id}":
		return RouteUpdateCustomer, ids
	case "POST coupons/{id}":
		return RouteUpdateCoupon, ids
	case "POST webhooks/{id}":
		return RouteUpdateWebhook, ids
	}
	return routeUnknown, ids
}

// apiErr is an error answer in WordPress's shape.
type apiErr struct {
	status  int
	code    string
	message string
	params  map[string]string
}

func (e *apiErr) body() []byte {
	data := map[string]any{"status": e.status}
	if e.params != nil {
		data["params"] = e.params
	}
	b, _ := json.Marshal(map[string]any{"code": e.code, "message": e.message, "data": data})
	return b
}

func invalidParam(name, why string) *apiErr {
	return &apiErr{status: 400, code: "rest_invalid_param", message: "Invalid parameter(s): " + name, params: map[string]string{name: why}}
}

func invalidID() *apiErr {
	return &apiErr{status: 404, code: "woocommerce_rest_invalid_id", message: "Invalid resource ID."}
}

// answer is what a handler returns: a status, headers and a body.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func jsonAnswer(status int, v any) answer {
	return answer{status: status, body: phpJSON(v)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
	if !ok {
		if r.URL.Path == "/wp-json/wc/v3" {
			path = ""
		} else {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "<html><body>Not Found</body></html>")
			return
		}
	}
	path = strings.TrimSuffix(path, "/")
	route, ids := routeOf(r.Method, path)
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	log := Request{Method: r.Method, Path: path, Query: r.URL.Query()}
	_, _, log.Basic = r.BasicAuth()

	f, faulted := s.takeFault(route)
	if faulted && f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if faulted && f.Drop {
		s.logRequest(log)
		panic(http.ErrAbortHandler)
	}
	if faulted && f.Status != 0 {
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=UTF-8")
		if f.RetryAfter != "" {
			h.Set("Retry-After", f.RetryAfter)
		}
		code := map[int]string{429: "too_many_requests", 500: "internal_server_error", 502: "bad_gateway", 503: "service_unavailable"}[f.Status]
		if code == "" {
			code = "fault"
		}
		e := &apiErr{status: f.Status, code: code, message: http.StatusText(f.Status)}
		w.WriteHeader(f.Status)
		w.Write(e.body())
		log.Status = f.Status
		s.logRequest(log)
		return
	}

	a := s.handle(r, route, ids, path, body)
	s.mu.Lock()
	pings := s.pings
	s.pings = nil
	s.mu.Unlock()
	for _, id := range pings {
		s.Ping(r.Context(), id)
	}
	log.Status = a.status
	s.logRequest(log)
	for k, vs := range a.header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if faulted && f.AfterWork {
		// The work is done; the answer is cut off halfway, as a timeout
		// or a reset after the store committed would.
		w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
		w.WriteHeader(a.status)
		w.Write(a.body[:len(a.body)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	w.WriteHeader(a.status)
	w.Write(a.body)
}

func (s *Server) logRequest(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

// handle authenticates and answers a request.
func (s *Server) handle(r *http.Request, route Route, ids []int64, path string, body []byte) answer {
	if e := s.authenticate(r, body); e != nil {
		return answer{status: e.status, body: e.body()}
	}
	if r.Method != http.MethodGet && s.opts.ReadOnly {
		return answer{status: 401, body: (&apiErr{status: 401, code: "woocommerce_rest_authentication_error",
			message: "The API key provided does not have write permissions."}).body()}
	}
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var a answer
	var e *apiErr
	switch route {
	case RouteListOrders:
		a, e = s.listOrders(r, q)
	case RouteGetOrder:
		o, ok := s.orders[ids[0]]
		if !ok {
			e = invalidID()
		} else {
			a = jsonAnswer(200, filterFields(s.orderJSON(o), q.Get("_fields")))
		}
	case RouteListRefunds:
		a, e = s.listRefunds(r, q, ids[0])
	case RouteListCustomers:
		a, e = s.listCustomers(r, q)
	case RouteGetCustomer:
		c, ok := s.customers[ids[0]]
		if !ok {
			e = invalidID()
		} else {
			a = jsonAnswer(200, filterFields(s.customerJSON(c), q.Get("_fields")))
		}
	case RouteUpdateCustomer:
		a, e = s.updateCustomer(route, ids[0], body)
	case RouteBatchCustomers:
		a, e = s.batch(route, body, nil, func(item json.RawMessage) (any, *apiErr) {
			var id struct {
				ID int64 `json:"id"`
			}
			json.Unmarshal(item, &id)
			res, err := s.updateCustomer(RouteUpdateCustomer, id.ID, item)
			if err != nil {
				return nil, err
			}
			var v any
			json.Unmarshal(res.body, &v)
			return v, nil
		})
	case RouteListCoupons:
		a, e = s.listCoupons(r, q)
	case RouteGetCoupon:
		c, ok := s.coupons[ids[0]]
		if !ok {
			e = invalidID()
		} else {
			a = jsonAnswer(200, s.couponJSON(c))
		}
	case RouteCreateCoupon:
		a, e = s.createCoupon(route, body)
	case RouteUpdateCoupon:
		a, e = s.updateCoupon(route, ids[0], body)
	case RouteBatchCoupons:
		a, e = s.batch(route, body, func(item json.RawMessage) (any, *apiErr) {
			res, err := s.createCoupon(RouteCreateCoupon, item)
			if err != nil {
				return nil, err
			}
			var v any
			json.Unmarshal(res.body, &v)
			return v, nil
		}, nil)
	case RouteListWebhooks:
		a, e = s.listWebhooks(r, q)
	case routeGetWebhook:
		wh, ok := s.webhooks[ids[0]]
		if !ok {
			e = &apiErr{status: 404, code: "woocommerce_rest_webhook_invalid_id", message: "Invalid webhook ID."}
		} else {
			a = jsonAnswer(200, s.webhookJSON(wh))
		}
	case RouteCreateWebhook:
		a, e = s.createWebhook(route, body)
	case RouteUpdateWebhook:
		a, e = s.updateWebhook(route, ids[0], body)
	case RouteDeleteWebhook:
		wh, ok := s.webhooks[ids[0]]
		if !ok {
			e = &apiErr{status: 404, code: "woocommerce_rest_webhook_invalid_id", message: "Invalid webhook ID."}
		} else {
			delete(s.webhooks, ids[0])
			s.recordWrite(route, ids[0], body)
			a = jsonAnswer(200, s.webhookJSON(wh))
		}
	case RouteSystemStatus:
		a = jsonAnswer(200, map[string]any{
			"environment": map[string]any{"home_url": s.URL, "site_url": s.URL, "version": s.opts.Version, "wp_version": "6.8.3"},
			"settings":    map[string]any{"currency": "USD", "api_enabled": true},
		})
	default:
		e = &apiErr{status: 404, code: "rest_no_route", message: "No route was found matching the URL and request method."}
	}
	if e != nil {
		return answer{status: e.status, body: e.body()}
	}
	return a
}

// isSSL is WordPress's is_ssl(): whether it believes the request came over
// HTTPS.
func (s *Server) isSSL() bool { return s.opts.TLS && !s.opts.ProxyHidesHTTPS }

// authenticate is WC_REST_Authentication: Basic auth (or the query keys)
// when is_ssl(), then OAuth 1.0a. A request it cannot authenticate goes on
// as a guest, whom every endpoint refuses with woocommerce_rest_cannot_*.
func (s *Server) authenticate(r *http.Request, body []byte) *apiErr {
	s.mu.Lock()
	revoked := s.revoked
	s.mu.Unlock()
	q := r.URL.Query()
	if s.isSSL() {
		key, secret, ok := r.BasicAuth()
		if !ok && q.Get("consumer_key") != "" {
			key, secret, ok = q.Get("consumer_key"), q.Get("consumer_secret"), true
		}
		if ok && !revoked && key == s.opts.ConsumerKey && secret == s.opts.ConsumerSecret {
			return nil
		}
	}
	if q.Get("oauth_consumer_key") != "" || strings.HasPrefix(r.Header.Get("Authorization"), "OAuth ") {
		return s.checkOAuth(r, body, revoked)
	}
	return s.cannot(r.Method)
}

// cannot is the permission error an unauthenticated request gets.
func (s *Server) cannot(method string) *apiErr {
	switch method {
	case http.MethodGet:
		return &apiErr{status: 401, code: "woocommerce_rest_cannot_view", message: "Sorry, you cannot list resources."}
	case http.MethodPost:
		return &apiErr{status: 401, code: "woocommerce_rest_cannot_create", message: "Sorry, you are not allowed to create resources."}
	case http.MethodDelete:
		return &apiErr{status: 401, code: "woocommerce_rest_cannot_delete", message: "Sorry, you are not allowed to delete this resource."}
	}
	return &apiErr{status: 401, code: "woocommerce_rest_cannot_edit", message: "Sorry, you are not allowed to edit this resource."}
}

// listParams are the collection parameters every list endpoint validates.
type listParams struct {
	page, perPage, offset int
	order                 string
	orderby               string
	include, exclude      []int64
}

func parseList(q url.Values, orderbys []string, defOrderby, defOrder string) (listParams, *apiErr) {
	p := listParams{page: 1, perPage: 10, order: defOrder, orderby: defOrderby}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPerPage {
			return p, invalidParam("per_page", "per_page must be between 1 (inclusive) and 100 (inclusive)")
		}
		p.perPage = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, invalidParam("page", "page must be greater than or equal to 1")
		}
		p.page = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, invalidParam("offset", "offset is not of type integer.")
		}
		p.offset = n
	}
	if v := q.Get("order"); v != "" {
		if v != "asc" && v != "desc" {
			return p, invalidParam("order", "order is not one of asc and desc.")
		}
		p.order = v
	}
	if v := q.Get("orderby"); v != "" {
		if !slices.Contains(orderbys, v) {
			return p, invalidParam("orderby", "orderby is not one of "+strings.Join(orderbys, ", ")+".")
		}
		p.orderby = v
	}
	var err *apiErr
	if p.include, err = idList(q, "include"); err != nil {
		return p, err
	}
	if p.exclude, err = idList(q, "exclude"); err != nil {
		return p, err
	}
	return p, nil
}

func idList(q url.Values, name string) ([]int64, *apiErr) {
	var out []int64
	for _, v := range append(q[name], q[name+"[]"]...) {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			n, err := strconv.ParseInt(part, 10, 64)
			if err != nil || n < 0 {
				return nil, invalidParam(name, name+"[0] is not of type integer.")
			}
			out = append(out, n)
		}
	}
	return out, nil
}

// window pages items and sets the totals headers. Past the end, orders,
// refunds and webhooks answer [] with X-WP-Total 0; customers and coupons
// keep the real totals (as observed).
func window[T any](r *http.Request, p listParams, items []T, zeroPastEnd bool) ([]T, http.Header) {
	total := len(items)
	if p.offset > 0 {
		items = items[min(p.offset, len(items)):]
		total = len(items) + p.offset
	}
	pages := (total + p.perPage - 1) / p.perPage
	start := (p.page - 1) * p.perPage
	var out []T
	if start < len(items) {
		out = items[start:min(start+p.perPage, len(items))]
	}
	h := http.Header{}
	if len(out) == 0 && start > 0 && zeroPastEnd {
		total, pages = 0, 0
	}
	h.Set("X-WP-Total", strconv.Itoa(total))
	h.Set("X-WP-TotalPages", strconv.Itoa(pages))
	// WordPress builds the links from every parameter of the request,
	// the OAuth ones included.
	var links []string
	base := *r.URL
	base.Scheme, base.Host = "http", r.Host
	if r.TLS != nil {
		base.Scheme = "https"
	}
	link := func(page int, rel string) {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page))
		u := base
		u.RawQuery = q.Encode()
		links = append(links, fmt.Sprintf("<%s>; rel=%q", u.String(), rel))
	}
	if p.page > 1 && p.page-1 <= pages {
		link(p.page-1, "prev")
	}
	if p.page < pages {
		link(p.page+1, "next")
	}
	if len(links) > 0 {
		h.Set("Link", strings.Join(links, ", "))
	}
	if out == nil {
		out = []T{}
	}
	return out, h
}

// parseBool is rest_sanitize_boolean as the API validates it: true, 1,
// TRUE and the like pass, "yes" is a 400 (as observed).
func parseBool(name, v string) (bool, *apiErr) {
	switch strings.ToLower(v) {
	case "true", "1":
		return true, nil
	case "false", "0", "":
		return false, nil
	}
	return false, invalidParam(name, name+" is not of type boolean.")
}

var dateRE = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$`)

// dateFilter parses a date filter and returns it as a naive wall-clock
// time (in a UTC time.Time) to compare with the GMT column when gmt, or
// with the site-time column. A value with a zone is first converted to
// site time, as WordPress does, even when gmt: the trap that shifts a
// "…Z" value by the site's offset. Fractions are dropped.
func (s *Server) dateFilter(name, v string, gmt bool) (time.Time, *apiErr) {
	m := dateRE.FindStringSubmatch(v)
	if m == nil {
		return time.Time{}, invalidParam(name, "Invalid date.")
	}
	naive, err := time.ParseInLocation("2006-01-02 15:04:05", m[1]+" "+m[2], time.UTC)
	if err != nil {
		return time.Time{}, invalidParam(name, "Invalid date.")
	}
	if m[4] != "" {
		zoned, err := time.Parse("2006-01-02T15:04:05Z07:00", m[1]+"T"+m[2]+normalizeZone(m[4]))
		if err != nil {
			return time.Time{}, invalidParam(name, "Invalid date.")
		}
		local := zoned.In(s.zone)
		naive = time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), 0, time.UTC)
	}
	return naive, nil
}

func normalizeZone(z string) string {
	if z == "Z" || strings.Contains(z, ":") {
		return z
	}
	return z[:3] + ":" + z[3:]
}

// column returns a record's date as the filter compares it: GMT, or the
// site's wall clock, as a naive time, at one-second resolution.
func (s *Server) column(t time.Time, gmt bool) time.Time {
	if gmt {
		return t.UTC().Truncate(time.Second)
	}
	l := t.In(s.zone)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
}

func (s *Server) listOrders(r *http.Request, q url.Values) (answer, *apiErr) {
	p, e := parseList(q, []string{"date", "id", "include", "title", "slug", "modified"}, "date", "desc")
	if e != nil {
		return answer{}, e
	}
	gmt, e := parseBool("dates_are_gmt", q.Get("dates_are_gmt"))
	if e != nil {
		return answer{}, e
	}
	var bounds []dateBound
	for _, b := range []dateBound{{"after", true, false, time.Time{}}, {"before", false, false, time.Time{}},
		{"modified_after", true, true, time.Time{}}, {"modified_before", false, true, time.Time{}}} {
		v := q.Get(b.name)
		if v == "" {
			continue
		}
		t, e := s.dateFilter(b.name, v, gmt)
		if e != nil {
			return answer{}, e
		}
		b.at = t
		bounds = append(bounds, b)
	}
	statuses := map[string]bool{}
	for _, v := range append(q["status"], q["status[]"]...) {
		for _, st := range strings.Split(v, ",") {
			if st = strings.TrimSpace(st); st != "" {
				statuses[strings.TrimPrefix(st, "wc-")] = true
			}
		}
	}
	var customer int64 = -1
	if v := q.Get("customer"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return answer{}, invalidParam("customer", "customer is not of type integer.")
		}
		customer = n
	}
	candidates, sorted := s.orderCandidates(p, bounds, gmt)
	var list []*Order
	for _, o := range candidates {
		switch {
		case len(statuses) == 0 || statuses["any"]:
			if o.Status == "trash" {
				continue
			}
		case !statuses[o.Status]:
			continue
		}
		if customer >= 0 && o.CustomerID != customer {
			continue
		}
		if len(p.include) > 0 && !slices.Contains(p.include, o.ID) || slices.Contains(p.exclude, o.ID) {
			continue
		}
		keep := true
		for _, b := range bounds {
			col := s.column(o.Created, gmt)
			if b.mod {
				col = s.column(o.Modified, gmt)
			}
			// date_query after/before are exclusive.
			if b.after && !col.After(b.at) || !b.after && !col.Before(b.at) {
				keep = false
			}
		}
		if keep {
			list = append(list, o)
		}
	}
	if !sorted {
		sortRecords(list, p, func(o *Order) int64 { return o.ID }, func(o *Order) (time.Time, string) {
			switch p.orderby {
			case "modified":
				return o.Modified.Truncate(time.Second), ""
			case "date":
				return o.Created.Truncate(time.Second), ""
			case "title", "slug":
				return time.Time{}, o.Number
			}
			return time.Time{}, ""
		})
	}
	page, h := window(r, p, list, true)
	out := make([]any, len(page))
	for i, o := range page {
		out[i] = filterFields(s.orderJSON(o), q.Get("_fields"))
	}
	return answer{status: 200, header: h, body: phpJSON(out)}, nil
}

// dateBound is a date filter of a listing: after or before (both
// exclusive) the creation or, with mod, the modification time.
type dateBound struct {
	name  string
	after bool
	mod   bool
	at    time.Time
}

// orderCandidates returns the orders a listing filters: every order, or,
// when the listing is bounded by GMT modification times (as a connector
// reading by modification time asks), only those within the bounds, from
// the orders kept sorted by modification time, as a database would
// answer from its index. sorted reports that the candidates are already
// in the listing's order (modified, ascending).
func (s *Server) orderCandidates(p listParams, bounds []dateBound, gmt bool) (candidates []*Order, sorted bool) {
	lo, hi, indexed := 0, 0, false
	var byModified []*Order
	for _, b := range bounds {
		if !b.mod || !gmt {
			continue
		}
		if !indexed {
			byModified = s.ordersByModified()
			lo, hi, indexed = 0, len(byModified), true
		}
		// Modification seconds never decrease along byModified.
		i := sort.Search(len(byModified), func(i int) bool {
			col := s.column(byModified[i].Modified, true)
			if b.after {
				return col.After(b.at)
			}
			return !col.Before(b.at)
		})
		if b.after {
			lo = max(lo, i)
		} else {
			hi = min(hi, i)
		}
	}
	if !indexed {
		all := make([]*Order, 0, len(s.orders))
		for _, o := range s.orders {
			all = append(all, o)
		}
		return all, false
	}
	if lo > hi {
		return nil, true
	}
	return byModified[lo:hi], p.orderby == "modified" && p.order == "asc"
}

// ordersByModified returns every order in the order of an ascending
// listing by modified (by second, then id), sorted once and kept until an
// order changes.
func (s *Server) ordersByModified() []*Order {
	if s.byModified.version == s.ordersVersion && s.byModified.list != nil {
		return s.byModified.list
	}
	list := make([]*Order, 0, len(s.orders))
	for _, o := range s.orders {
		list = append(list, o)
	}
	slices.SortFunc(list, func(a, b *Order) int {
		if c := a.Modified.Truncate(time.Second).Compare(b.Modified.Truncate(time.Second)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	s.byModified = orderIndex{version: s.ordersVersion, list: list}
	return list
}

// orderIndex is every order by modification time, as of a version of the
// orders.
type orderIndex struct {
	version uint64
	list    []*Order
}

// sortRecords sorts by the orderby key and then by id. Records equal in
// the key come back by ascending id whichever the direction, as observed
// for orders modified in the same second.
func sortRecords[T any](list []T, p listParams, id func(T) int64, key func(T) (time.Time, string)) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if p.orderby == "include" && len(p.include) > 0 {
			return slices.Index(p.include, id(a)) < slices.Index(p.include, id(b))
		}
		if p.orderby == "id" {
			if p.order == "asc" {
				return id(a) < id(b)
			}
			return id(a) > id(b)
		}
		ta, sa := key(a)
		tb, sb := key(b)
		if c := ta.Compare(tb); c != 0 {
			return (c < 0) == (p.order == "asc")
		}
		if c := strings.Compare(sa, sb); c != 0 {
			return (c < 0) == (p.order == "asc")
		}
		return id(a) < id(b)
	})
}

func (s *Server) listRefunds(r *http.Request, q url.Values, orderID int64) (answer, *apiErr) {
	o, ok := s.orders[orderID]
	if !ok {
		return answer{}, &apiErr{status: 404, code: "woocommerce_rest_invalid_order_id", message: "Invalid order ID."}
	}
	p, e := parseList(q, []string{"date", "id", "include", "title", "slug", "modified"}, "date", "desc")
	if e != nil {
		return answer{}, e
	}
	list := make([]int, len(o.Refunds))
	for i := range list {
		list[i] = i
	}
	sortRecords(list, p, func(i int) int64 { return o.Refunds[i].ID }, func(i int) (time.Time, string) {
		return o.Refunds[i].Created.Truncate(time.Second), ""
	})
	page, h := window(r, p, list, true)
	out := make([]any, len(page))
	for i, idx := range page {
		out[i] = s.refundJSON(o, &o.Refunds[idx])
	}
	return answer{status: 200, header: h, body: phpJSON(out)}, nil
}

func (s *Server) listCustomers(r *http.Request, q url.Values) (answer, *apiErr) {
	p, e := parseList(q, []string{"id", "include", "name", "registered_date"}, "name", "asc")
	if e != nil {
		return answer{}, e
	}
	role := q.Get("role")
	if role == "" {
		role = "customer"
	}
	email := strings.ToLower(strings.TrimSpace(q.Get("email")))
	search := strings.ToLower(strings.TrimSpace(q.Get("search")))
	// modified_after and friends are silently ignored here.
	var list []*Customer
	for _, c := range s.customers {
		if role != "all" && c.Role != role {
			continue
		}
		if len(p.include) > 0 && !slices.Contains(p.include, c.ID) || slices.Contains(p.exclude, c.ID) {
			continue
		}
		if email != "" && strings.ToLower(c.Email) != email {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(c.Email+" "+c.FirstName+" "+c.LastName+" "+c.Username), search) {
			continue
		}
		list = append(list, c)
	}
	sortRecords(list, p, func(c *Customer) int64 { return c.ID }, func(c *Customer) (time.Time, string) {
		switch p.orderby {
		case "registered_date":
			return c.Created.Truncate(time.Second), ""
		case "name":
			return time.Time{}, strings.ToLower(c.Username)
		}
		return time.Time{}, ""
	})
	page, h := window(r, p, list, false)
	out := make([]any, len(page))
	for i, c := range page {
		out[i] = filterFields(s.customerJSON(c), q.Get("_fields"))
	}
	return answer{status: 200, header: h, body: phpJSON(out)}, nil
}

// metaInput is a meta_data entry of a write.
type metaInput struct {
	ID    int64           `json:"id"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// mergeMeta applies written meta entries as WooCommerce does (observed on
// customers): an entry naming an existing id or key updates it in place,
// keeping its id; another is appended; a null value deletes the key; keys
// starting with "_" are silently ignored; numbers are stored as strings;
// an empty list changes nothing.
func (s *Server) mergeMeta(have []Meta, in []metaInput) []Meta {
	for _, m := range in {
		if strings.HasPrefix(m.Key, "_") || m.Key == "" && m.ID == 0 {
			continue
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(m.Value))
		dec.UseNumber()
		if len(m.Value) == 0 || dec.Decode(&v) != nil {
			v = nil
		}
		if n, ok := v.(json.Number); ok {
			v = n.String()
		}
		if b, ok := v.(bool); ok {
			v = map[bool]string{true: "1", false: ""}[b]
		}
		i := slices.IndexFunc(have, func(h Meta) bool { return m.ID != 0 && h.ID == m.ID })
		if i < 0 {
			i = slices.IndexFunc(have, func(h Meta) bool { return h.Key == m.Key })
		}
		switch {
		case v == nil && i >= 0:
			have = slices.Delete(have, i, i+1)
		case v == nil:
		case i >= 0:
			have[i].Value = v
			if m.Key != "" {
				have[i].Key = m.Key
			}
		default:
			have = append(have, Meta{ID: s.newID(), Key: m.Key, Value: v})
		}
	}
	return have
}

func (s *Server) updateCustomer(route Route, id int64, body []byte) (answer, *apiErr) {
	c, ok := s.customers[id]
	if !ok {
		// Updates answer 400 where reads answer 404.
		return answer{}, &apiErr{status: 400, code: "woocommerce_rest_invalid_id", message: "Invalid resource ID."}
	}
	var in struct {
		Email     *string     `json:"email"`
		FirstName *string     `json:"first_name"`
		LastName  *string     `json:"last_name"`
		MetaData  []metaInput `json:"meta_data"`
	}
	if err := json.Unmarshal(body, &in); err != nil && len(bytes.TrimSpace(body)) > 0 {
		return answer{}, &apiErr{status: 400, code: "rest_invalid_json", message: "Invalid JSON body passed."}
	}
	if in.Email != nil {
		c.Email = *in.Email
	}
	if in.FirstName != nil {
		c.FirstName = *in.FirstName
	}
	if in.LastName != nil {
		c.LastName = *in.LastName
	}
	c.Meta = s.mergeMeta(c.Meta, in.MetaData)
	c.Modified = s.now()
	s.recordWrite(route, id, body)
	s.queue("customer.updated", id)
	return jsonAnswer(200, s.customerJSON(c)), nil
}

// batch serves a batch endpoint: {"create":[…],"update":[…],"delete":[…]}
// with at most BatchLimit items in all, each answered inline.
func (s *Server) batch(route Route, body []byte, create, update func(json.RawMessage) (any, *apiErr)) (answer, *apiErr) {
	var in struct {
		Create []json.RawMessage `json:"create"`
		Update []json.RawMessage `json:"update"`
		Delete []json.RawMessage `json:"delete"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return answer{}, &apiErr{status: 400, code: "rest_invalid_json", message: "Invalid JSON body passed."}
	}
	if n := len(in.Create) + len(in.Update) + len(in.Delete); n > BatchLimit {
		return answer{}, &apiErr{status: 413, code: "woocommerce_rest_request_entity_too_large",
			message: fmt.Sprintf("Unable to accept more than %d items for this request.", BatchLimit)}
	}
	out := map[string][]any{}
	run := func(name string, items []json.RawMessage, f func(json.RawMessage) (any, *apiErr)) {
		for _, it := range items {
			if f == nil {
				out[name] = append(out[name], map[string]any{"id": 0, "error": map[string]any{
					"code": "rest_no_route", "message": "Not supported by the fake.", "data": map[string]any{"status": 400}}})
				continue
			}
			v, e := f(it)
			if e != nil {
				out[name] = append(out[name], map[string]any{"id": 0, "error": map[string]any{
					"code": e.code, "message": e.message, "data": map[string]any{"status": e.status}}})
				continue
			}
			out[name] = append(out[name], v)
		}
	}
	run("create", in.Create, create)
	run("update", in.Update, update)
	run("delete", in.Delete, nil)
	return jsonAnswer(200, out), nil
}

func (s *Server) listCoupons(r *http.Request, q url.Values) (answer, *apiErr) {
	p, e := parseList(q, []string{"date", "id", "include", "title", "slug", "modified"}, "date", "desc")
	if e != nil {
		return answer{}, e
	}
	code, hasCode := q["code"]
	var list []*Coupon
	for _, c := range s.coupons {
		if c.Status == "trash" {
			continue
		}
		// code= is exact and case-insensitive.
		if hasCode && normalizeCode(c.Code) != normalizeCode(code[0]) {
			continue
		}
		list = append(list, c)
	}
	sortRecords(list, p, func(c *Coupon) int64 { return c.ID }, func(c *Coupon) (time.Time, string) {
		switch p.orderby {
		case "date":
			return c.Created.Truncate(time.Second), ""
		case "modified":
			return c.Modified.Truncate(time.Second), ""
		case "title", "slug":
			return time.Time{}, c.Code
		}
		return time.Time{}, ""
	})
	page, h := window(r, p, list, false)
	out := make([]any, len(page))
	for i, c := range page {
		out[i] = s.couponJSON(c)
	}
	return answer{status: 200, header: h, body: phpJSON(out)}, nil
}

// couponInput is a coupon write.
type couponInput struct {
	Code              *string         `json:"code"`
	DiscountType      *string         `json:"discount_type"`
	Amount            json.RawMessage `json:"amount"`
	Description       *string         `json:"description"`
	DateExpires       *string         `json:"date_expires"`
	DateExpiresGMT    *string         `json:"date_expires_gmt"`
	IndividualUse     *bool           `json:"individual_use"`
	UsageLimit        *int            `json:"usage_limit"`
	UsageLimitPerUser *int            `json:"usage_limit_per_user"`
	FreeShipping      *bool           `json:"free_shipping"`
	MinimumAmount     *string         `json:"minimum_amount"`
	EmailRestrictions []string        `json:"email_restrictions"`
	MetaData          []metaInput     `json:"meta_data"`
	Status            *string         `json:"status"`
}

// applyCoupon applies a write to a coupon. date_expires is read in site
// time unless it carries a zone; date_expires_gmt is silently ignored, as
// WooCommerce 10.0.2 ignores it.
func (s *Server) applyCoupon(c *Coupon, in couponInput) *apiErr {
	if in.DiscountType != nil {
		switch *in.DiscountType {
		case "percent", "fixed_cart", "fixed_product":
			c.DiscountType = *in.DiscountType
		default:
			return invalidParam("discount_type", "discount_type is not one of percent, fixed_cart, and fixed_product.")
		}
	}
	if len(in.Amount) > 0 {
		var v any
		dec := json.NewDecoder(bytes.NewReader(in.Amount))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			return invalidParam("amount", "amount is not of type string.")
		}
		switch a := v.(type) {
		case string:
			if _, err := strconv.ParseFloat(a, 64); err != nil && a != "" {
				return invalidParam("amount", "amount is not of type string.")
			}
			c.Amount = a
		case json.Number:
			c.Amount = a.String()
		default:
			return invalidParam("amount", "amount is not of type string.")
		}
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	if in.DateExpires != nil {
		if *in.DateExpires == "" {
			c.Expires = time.Time{}
		} else {
			m := dateRE.FindStringSubmatch(*in.DateExpires)
			if m == nil {
				return invalidParam("date_expires", "Invalid date.")
			}
			if m[4] != "" {
				t, err := time.Parse("2006-01-02T15:04:05Z07:00", m[1]+"T"+m[2]+normalizeZone(m[4]))
				if err != nil {
					return invalidParam("date_expires", "Invalid date.")
				}
				c.Expires = t.UTC()
			} else {
				t, err := time.ParseInLocation("2006-01-02 15:04:05", m[1]+" "+m[2], s.zone)
				if err != nil {
					return invalidParam("date_expires", "Invalid date.")
				}
				c.Expires = t.UTC()
			}
		}
	}
	if in.IndividualUse != nil {
		c.IndividualUse = *in.IndividualUse
	}
	if in.UsageLimit != nil {
		v := *in.UsageLimit
		c.UsageLimit = &v
	}
	if in.UsageLimitPerUser != nil {
		v := *in.UsageLimitPerUser
		c.UsagePerUser = &v
	}
	if in.FreeShipping != nil {
		c.FreeShipping = *in.FreeShipping
	}
	if in.MinimumAmount != nil {
		c.MinimumAmount = *in.MinimumAmount
	}
	if in.EmailRestrictions != nil {
		c.EmailRestrictions = nil
		for _, e := range in.EmailRestrictions {
			c.EmailRestrictions = append(c.EmailRestrictions, strings.ToLower(strings.TrimSpace(e)))
		}
	}
	if in.Status != nil {
		c.Status = *in.Status
	}
	c.Meta = s.mergeMeta(c.Meta, in.MetaData)
	return nil
}

func (s *Server) createCoupon(route Route, body []byte) (answer, *apiErr) {
	var in couponInput
	if err := json.Unmarshal(body, &in); err != nil {
		return answer{}, &apiErr{status: 400, code: "rest_invalid_json", message: "Invalid JSON body passed."}
	}
	if in.Code == nil || normalizeCode(*in.Code) == "" {
		return answer{}, &apiErr{status: 400, code: "woocommerce_rest_empty_coupon_code", message: "The coupon code cannot be empty."}
	}
	code := normalizeCode(*in.Code)
	if s.couponByCode(code) != nil {
		return answer{}, &apiErr{status: 400, code: "woocommerce_rest_coupon_code_already_exists", message: "The coupon code already exists"}
	}
	c := &Coupon{Code: code, DiscountType: "fixed_cart", Amount: "0", Status: "publish", Created: s.now(), Modified: s.now()}
	if e := s.applyCoupon(c, in); e != nil {
		return answer{}, e
	}
	c.ID = s.newID()
	s.coupons[c.ID] = c
	s.created[code]++
	s.recordWrite(route, c.ID, body)
	return jsonAnswer(201, s.couponJSON(c)), nil
}

func (s *Server) updateCoupon(route Route, id int64, body []byte) (answer, *apiErr) {
	c, ok := s.coupons[id]
	if !ok {
		return answer{}, &apiErr{status: 400, code: "woocommerce_rest_shop_coupon_invalid_id", message: "ID is invalid."}
	}
	var in couponInput
	if err := json.Unmarshal(body, &in); err != nil {
		return answer{}, &apiErr{status: 400, code: "rest_invalid_json", message: "Invalid JSON body passed."}
	}
	if in.Code != nil {
		code := normalizeCode(*in.Code)
		if other := s.couponByCode(code); other != nil && other.ID != id {
			return answer{}, &apiErr{status: 400, code: "woocommerce_rest_coupon_code_already_exists", message: "The coupon code already exists"}
		}
		c.Code = code
	}
	if e := s.applyCoupon(c, in); e != nil {
		return answer{}, e
	}
	c.Modified = s.now()
	s.recordWrite(route, id, body)
	return jsonAnswer(200, s.couponJSON(c)), nil
}

func (s *Server) listWebhooks(r *http.Request, q url.Values) (answer, *apiErr) {
	p, e := parseList(q, []string{"date", "id", "include", "title"}, "date", "desc")
	if e != nil {
		return answer{}, e
	}
	status := q.Get("status")
	if status == "" {
		status = "all"
	}
	var list []*Webhook
	for _, w := range s.webhooks {
		if status != "all" && w.Status != status {
			continue
		}
		list = append(list, w)
	}
	sortRecords(list, p, func(w *Webhook) int64 { return w.ID }, func(w *Webhook) (time.Time, string) {
		if p.orderby == "title" {
			return time.Time{}, w.Name
		}
		return w.Created.Truncate(time.Second), ""
	})
	page, h := window(r, p, list, true)
	out := make([]any, len(page))
	for i, w := range page {
		out[i] = s.webhookJSON(w)
	}
	return answer{status: 200, header: h, body: phpJSON(out)}, nil
}

// webhookInput is a webhook write.
type webhookInput struct {
	Name        *string `json:"name"`
	Status      *string `json:"status"`
	Topic       *string `json:"topic"`
	DeliveryURL *string `json:"delivery_url"`
	Secret      *string `json:"secret"`
}

func (s *Server) createWebhook(route Route, body []byte) (answer, *apiErr) {
	var in webhookInput
	if err := json.Unmarshal(body, &in); err != nil {
		return answer{}, &apiErr{status: 400, code: "rest_invalid_json", message: "Invalid JSON body passed."}
	}
	if in.Topic == nil || !validTopic(*in.Topic) {
		return answer{}, &apiErr{status: 400, code: "woocommerce_rest_webhook_invalid_topic", message: "Webhook topic is required and must be valid."}
	}
	if in.DeliveryURL == nil || *in.DeliveryURL == "" {
		return answer{}, &apiErr{status: 400, code: "woocommerce_rest_webhook_invalid_delivery_url", message: "Webhook delivery URL must be a valid URL starting with http:// or https://."}
	}
	w := &Webhook{ID: s.newID(), Topic: *in.Topic, DeliveryURL: *in.DeliveryURL, Status: "active", Created: s.now(), Modified: s.now()}
	if in.Name != nil {
		w.Name = *in.Name
	}
	if in.Status != nil {
		w.Status = *in.Status
	}
	if in.Secret != nil {
		w.Secret = *in.Secret
	} else {
		w.Secret = fmt.Sprintf("%x", s.newID()*7919)
	}
	s.webhooks[w.ID] = w
	s.recordWrite(route, w.ID, body)
	// WooCommerce pings the new subscription before it answers, and
	// answers 201 whatever the ping's outcome; serve sends it once the
	// store's lock is released.
	s.pings = append(s.pings, w.ID)
	return jsonAnswer(201, s.webhookJSON(w)), nil
}

func validTopic(t string) bool {
	resource, event, ok := strings.Cut(t, ".")
	if !ok {
		return false
	}
	if resource == "action" {
		return event != ""
	}
	return slices.Contains([]string{"coupon", "customer", "order", "product"}, resource) &&
		slices.Contains([]string{"created", "updated", "deleted", "restored"}, event)
}

func (s *Server) updateWebhook(route Route, id int64, body []byte) (answer, *apiErr) {
	w, ok := s.webhooks[id]
	if !ok {
		return answer{}, &apiErr{status: 404, code: "woocommerce_rest_webhook_invalid_id", message: "Invalid webhook ID."}
	}
	var in webhookInput
	if err := json.Unmarshal(body, &in); err != nil {
		return answer{}, &apiErr{status: 400, code: "rest_invalid_json", message: "Invalid JSON body passed."}
	}
	if in.Status != nil {
		switch *in.Status {
		case "active", "paused", "disabled":
			// Re-activation does not reset the failure count.
			w.Status = *in.Status
		default:
			return answer{}, invalidParam("status", "status is not one of active, paused, and disabled.")
		}
	}
	if in.Name != nil {
		w.Name = *in.Name
	}
	if in.DeliveryURL != nil {
		w.DeliveryURL = *in.DeliveryURL
	}
	if in.Secret != nil {
		w.Secret = *in.Secret
	}
	if in.Topic != nil {
		if !validTopic(*in.Topic) {
			return answer{}, &apiErr{status: 400, code: "woocommerce_rest_webhook_invalid_topic", message: "Webhook topic must be valid."}
		}
		w.Topic = *in.Topic
	}
	w.Modified = s.now()
	s.recordWrite(route, id, body)
	return jsonAnswer(200, s.webhookJSON(w)), nil
}

func (s *Server) recordWrite(route Route, id int64, body []byte) {
	s.writes = append(s.writes, Write{Route: route, ID: id, Body: bytes.Clone(body), At: s.now()})
}

// filterFields applies _fields: only the listed top-level fields remain.
func filterFields(v map[string]any, fields string) map[string]any {
	if strings.TrimSpace(fields) == "" {
		return v
	}
	out := map[string]any{}
	for _, f := range strings.Split(fields, ",") {
		f = strings.TrimSpace(f)
		top, _, _ := strings.Cut(f, ".")
		if val, ok := v[top]; ok {
			out[top] = val
		}
	}
	return out
}
