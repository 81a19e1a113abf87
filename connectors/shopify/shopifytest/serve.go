package shopifytest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Op names an operation of the API, for fault injection and statistics.
type Op string

// The operations the server knows, for InjectFault and Stats.
const (
	// OpOrders is GET orders.json.
	OpOrders Op = "orders"
	// OpOrder is GET orders/{id}.json.
	OpOrder Op = "order"
	// OpCustomers is GET customers.json.
	OpCustomers Op = "customers"
	// OpCustomer is GET customers/{id}.json.
	OpCustomer Op = "customer"
	// OpShop is GET shop.json.
	OpShop Op = "shop"
	// OpAccessScopes is GET /admin/oauth/access_scopes.json.
	OpAccessScopes Op = "access_scopes"
	// OpLookupDiscount is GET discount_codes/lookup.json.
	OpLookupDiscount Op = "discount_codes/lookup"
	// OpPriceRules is GET price_rules.json.
	OpPriceRules Op = "price_rules"
	// OpPriceRule is GET price_rules/{id}.json.
	OpPriceRule Op = "price_rule"
	// OpCreatePriceRule is POST price_rules.json.
	OpCreatePriceRule Op = "price_rules/create"
	// OpDeletePriceRule is DELETE price_rules/{id}.json.
	OpDeletePriceRule Op = "price_rules/delete"
	// OpDiscountCode is GET price_rules/{id}/discount_codes/{id}.json.
	OpDiscountCode Op = "discount_code"
	// OpCreateDiscountCode is POST price_rules/{id}/discount_codes.json.
	OpCreateDiscountCode Op = "discount_codes/create"
	// OpWebhooks is GET webhooks.json.
	OpWebhooks Op = "webhooks"
	// OpCreateWebhook is POST webhooks.json.
	OpCreateWebhook Op = "webhooks/create"
	// OpDeleteWebhook is DELETE webhooks/{id}.json.
	OpDeleteWebhook Op = "webhooks/delete"
	// OpGraphQLCustomer is query { customer(id:) }.
	OpGraphQLCustomer Op = "graphql/customer"
	// OpTagsAdd is mutation tagsAdd.
	OpTagsAdd Op = "graphql/tagsAdd"
	// OpTagsRemove is mutation tagsRemove.
	OpTagsRemove Op = "graphql/tagsRemove"
	// OpMetafieldsSet is mutation metafieldsSet.
	OpMetafieldsSet Op = "graphql/metafieldsSet"
	// OpMetafieldsDelete is mutation metafieldsDelete.
	OpMetafieldsDelete Op = "graphql/metafieldsDelete"
	// OpGraphQL is any other GraphQL document.
	OpGraphQL Op = "graphql"
	// OpUnknown is a path the fake does not serve.
	OpUnknown Op = "unknown"
	// OpAny matches every operation in InjectFault.
	OpAny Op = "*"
)

// Fault is a failure to inject into the answer of an operation.
type Fault struct {
	// Status, if set, answers with this status (500, 502, 503, 429…)
	// before doing anything.
	Status int
	// RetryAfter is the Retry-After of such an answer, in platform time;
	// zero means Options.RetryAfter for a 429 and none otherwise.
	RetryAfter time.Duration
	// Drop closes the connection without an answer, before doing anything.
	Drop bool
	// Delay holds the answer back this long (platform time), then goes on
	// with the rest of the fault, or answers normally.
	Delay time.Duration
	// AfterWrite does the work, then, for a GET, sends the answer's
	// headers and half its body and closes the connection; for any other
	// method closes it without an answer, as a timeout after the platform
	// committed does.
	AfterWrite bool
}

// InjectFault makes the next n requests of op (any operation for OpAny)
// fail as f says. Faults of one operation are used in the order injected.
func (s *Server) InjectFault(op Op, n int, f Fault) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[op] = append(s.faults[op], f)
	}
}

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[Op][]Fault{}
}

// PendingFaults returns how many injected faults of op are still to come.
func (s *Server) PendingFaults(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults[op])
}

// popFault takes the next fault for op; the caller holds s.mu.
func (s *Server) popFault(op Op) (Fault, bool) {
	for _, k := range []Op{op, OpAny} {
		if q := s.faults[k]; len(q) > 0 {
			s.faults[k] = q[1:]
			return q[0], true
		}
	}
	return Fault{}, false
}

// call is one request as the handlers see it.
type call struct {
	r       *http.Request
	version string   // the version serving the request
	path    []string // the resource path after the version, without .json
	query   url.Values
	body    []byte
	gql     *gqlRequest
	op      Op // the GraphQL operation, once graphqlOp has named it
}

// answer is a response, built whole before it is sent.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func jsonAnswer(status int, v any) *answer {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"errors":"internal error"}`)
		status = http.StatusInternalServerError
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	return &answer{status: status, header: h, body: b}
}

// errorAnswer is Shopify's error body: {"errors": "..."} or {"errors": {field: [...]}}.
func errorAnswer(status int, errs any) *answer {
	return jsonAnswer(status, map[string]any{"errors": errs})
}

func notFound() *answer { return errorAnswer(http.StatusNotFound, "Not Found") }

type handler func(*call) *answer

// route finds the operation and handler of a request.
func (s *Server) route(c *call) (Op, handler, bool) {
	p := c.r.URL.Path
	if p == "/admin/oauth/access_scopes.json" {
		c.version = s.opts.APIVersions[0]
		return OpAccessScopes, s.accessScopes, true
	}
	rest, ok := strings.CutPrefix(p, "/admin/")
	if !ok {
		return OpUnknown, nil, false
	}
	c.version = s.opts.APIVersions[0]
	if v, after, ok := strings.Cut(strings.TrimPrefix(rest, "api/"), "/"); strings.HasPrefix(rest, "api/") && ok {
		if slices.Contains(s.opts.APIVersions, v) {
			c.version = v
		}
		rest = after
	}
	res, ok := strings.CutSuffix(rest, ".json")
	if !ok {
		return OpUnknown, nil, false
	}
	c.path = strings.Split(res, "/")
	m, n := c.r.Method, len(c.path)
	seg := func(i int) string { return c.path[i] }
	switch {
	case m == "GET" && n == 1 && seg(0) == "orders":
		return OpOrders, s.listOrders, true
	case m == "GET" && n == 2 && seg(0) == "orders":
		return OpOrder, s.getOrder, true
	case m == "GET" && n == 1 && seg(0) == "customers":
		return OpCustomers, s.listCustomers, true
	case m == "GET" && n == 2 && seg(0) == "customers":
		return OpCustomer, s.getCustomer, true
	case m == "GET" && n == 1 && seg(0) == "shop":
		return OpShop, s.getShop, true
	case m == "GET" && n == 2 && seg(0) == "discount_codes" && seg(1) == "lookup":
		return OpLookupDiscount, s.lookupDiscount, true
	case m == "GET" && n == 1 && seg(0) == "price_rules":
		return OpPriceRules, s.listPriceRules, true
	case m == "POST" && n == 1 && seg(0) == "price_rules":
		return OpCreatePriceRule, s.createPriceRule, true
	case m == "GET" && n == 2 && seg(0) == "price_rules":
		return OpPriceRule, s.getPriceRule, true
	case m == "DELETE" && n == 2 && seg(0) == "price_rules":
		return OpDeletePriceRule, s.deletePriceRule, true
	case m == "POST" && n == 3 && seg(0) == "price_rules" && seg(2) == "discount_codes":
		return OpCreateDiscountCode, s.createDiscountCode, true
	case m == "GET" && n == 4 && seg(0) == "price_rules" && seg(2) == "discount_codes":
		return OpDiscountCode, s.getDiscountCode, true
	case m == "GET" && n == 1 && seg(0) == "webhooks":
		return OpWebhooks, s.listWebhooks, true
	case m == "POST" && n == 1 && seg(0) == "webhooks":
		return OpCreateWebhook, s.createWebhook, true
	case m == "DELETE" && n == 2 && seg(0) == "webhooks":
		return OpDeleteWebhook, s.deleteWebhook, true
	case m == "POST" && n == 1 && seg(0) == "graphql":
		return s.graphqlOp(c), s.graphql, false
	}
	return OpUnknown, nil, false
}

// ServeHTTP answers a request as the Admin API would: authentication, the
// rate limit, injected faults, then the operation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return
	}
	c := &call{r: r, query: r.URL.Query(), body: body}
	op, h, rest := s.route(c)
	header := http.Header{}
	if c.version != "" {
		header.Set("X-Shopify-API-Version", c.version)
	}
	if s.opts.DeprecatedReason != "" {
		header.Set("X-Shopify-API-Deprecated-Reason", s.opts.DeprecatedReason)
	}
	header.Set("X-Request-Id", randomID())

	s.mu.Lock()
	s.stats.Requests++
	s.stats.ByOp[op]++
	authorized := !s.revoked && r.Header.Get("X-Shopify-Access-Token") == s.opts.AccessToken
	s.mu.Unlock()
	if !authorized {
		s.send(w, header, errorAnswer(http.StatusUnauthorized, "[API] Invalid API key or access token (unrecognized login or wrong password)"))
		return
	}
	if h == nil {
		s.send(w, header, notFound())
		return
	}

	s.mu.Lock()
	fault, faulty := s.popFault(op)
	if rest && !(faulty && fault.Status == http.StatusTooManyRequests) {
		s.stats.REST++
		ok, _ := s.bucket.take(time.Now(), 1)
		s.stats.MaxLevel = math.Max(s.stats.MaxLevel, s.bucket.level)
		if !ok {
			s.stats.Throttled++
			if faulty {
				s.faults[op] = append([]Fault{fault}, s.faults[op]...)
			}
			header.Set("X-Shopify-Shop-Api-Call-Limit", fmt.Sprintf("%d/%d", int(s.bucket.size), int(s.bucket.size)))
			header.Set("Retry-After", retryAfter(s.wall(s.opts.RetryAfter)))
			s.mu.Unlock()
			s.send(w, header, errorAnswer(http.StatusTooManyRequests, "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."))
			return
		}
		header.Set("X-Shopify-Shop-Api-Call-Limit", fmt.Sprintf("%d/%d", int(math.Floor(s.bucket.level)), int(s.bucket.size)))
	}
	if faulty {
		s.stats.Faults++
	}
	s.mu.Unlock()

	if faulty {
		sleepCtx(r.Context(), s.wall(fault.Delay))
		switch {
		case fault.Drop:
			hijackClose(w)
			return
		case fault.Status != 0:
			a := errorAnswer(fault.Status, http.StatusText(fault.Status))
			ra := fault.RetryAfter
			if ra == 0 && fault.Status == http.StatusTooManyRequests {
				ra = s.opts.RetryAfter
			}
			if ra > 0 {
				header.Set("Retry-After", retryAfter(s.wall(ra)))
			}
			s.send(w, header, a)
			return
		}
	}
	a := h(c)
	if faulty && fault.AfterWrite {
		if r.Method == http.MethodGet {
			cutOff(w, header, a)
		} else {
			hijackClose(w)
		}
		return
	}
	s.send(w, header, a)
}

// send writes an answer with the common headers.
func (s *Server) send(w http.ResponseWriter, common http.Header, a *answer) {
	h := w.Header()
	for k, vs := range common {
		h[k] = vs
	}
	for k, vs := range a.header {
		h[k] = vs
	}
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// hijackClose drops the connection without a word.
func hijackClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("shopifytest: the server cannot drop connections (no http.Hijacker)")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

// cutOff sends the status line, the headers with the full length, and half
// the body, then closes the connection.
func cutOff(w http.ResponseWriter, common http.Header, a *answer) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("shopifytest: the server cannot cut answers off (no http.Hijacker)")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	h := common.Clone()
	for k, vs := range a.header {
		h[k] = vs
	}
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	h.Set("Connection", "close")
	writeHead(rw, a.status, h)
	_, _ = rw.Write(a.body[:len(a.body)/2])
	_ = rw.Flush()
}

func writeHead(rw *bufio.ReadWriter, status int, h http.Header) {
	fmt.Fprintf(rw, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	_ = h.Write(rw)
	_, _ = rw.WriteString("\r\n")
}
