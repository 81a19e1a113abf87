package shopifytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The fake reads no GraphQL grammar: it recognises the operations loyaltyd
// sends by their root field and takes their arguments from the variables.

// gqlRequest is a GraphQL request body.
type gqlRequest struct {
	Query     string          `json:"query"`
	Variables json.RawMessage `json:"variables"`
}

var rootFields = []struct {
	re *regexp.Regexp
	op Op
}{
	{regexp.MustCompile(`\bmetafieldsDelete\s*\(`), OpMetafieldsDelete},
	{regexp.MustCompile(`\bmetafieldsSet\s*\(`), OpMetafieldsSet},
	{regexp.MustCompile(`\btagsRemove\s*\(`), OpTagsRemove},
	{regexp.MustCompile(`\btagsAdd\s*\(`), OpTagsAdd},
	{regexp.MustCompile(`\bcustomer\s*\(`), OpGraphQLCustomer},
}

// graphqlOp parses the body and names the operation.
func (s *Server) graphqlOp(c *call) Op {
	var g gqlRequest
	if err := json.Unmarshal(c.body, &g); err != nil {
		return OpGraphQL
	}
	c.gql = &g
	for _, rf := range rootFields {
		if rf.re.MatchString(g.Query) {
			c.op = rf.op
			return rf.op
		}
	}
	return OpGraphQL
}

// Costs of the operations, in points, roughly as Shopify charges them.
const (
	queryCost    = 1
	mutationCost = 10
)

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

type userError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code,omitempty"`
}

// graphql serves the GraphQL endpoint: the cost limit, then the operation.
func (s *Server) graphql(c *call) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	op := c.op
	cost := float64(queryCost)
	if op != OpGraphQLCustomer {
		cost = mutationCost
	}
	ok, _ := s.gql.take(time.Now(), cost)
	ext := map[string]any{"cost": map[string]any{
		"requestedQueryCost": cost,
		"actualQueryCost":    cost,
		"throttleStatus": map[string]any{
			"maximumAvailable":   s.gql.size,
			"currentlyAvailable": s.gql.size - s.gql.level,
			// In wall-clock terms, so that a client's wait is right.
			"restoreRate": s.gql.rate * s.gql.scale,
		},
	}}
	if !ok {
		s.stats.GraphQLThrottled++
		ext["cost"].(map[string]any)["actualQueryCost"] = nil
		return jsonAnswer(http.StatusOK, map[string]any{
			"errors":     []gqlError{{Message: "Throttled", Extensions: map[string]any{"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}},
			"extensions": ext,
		})
	}
	if c.gql == nil {
		return jsonAnswer(http.StatusBadRequest, map[string]any{"errors": []gqlError{{Message: "Parse error: the body is not a GraphQL request"}}})
	}
	var data map[string]any
	var errs []gqlError
	switch op {
	case OpGraphQLCustomer:
		data, errs = s.gqlCustomer(c)
	case OpTagsAdd, OpTagsRemove:
		data, errs = s.gqlTags(c, op)
	case OpMetafieldsSet:
		data, errs = s.gqlMetafieldsSet(c)
	case OpMetafieldsDelete:
		data, errs = s.gqlMetafieldsDelete(c)
	default:
		errs = []gqlError{{Message: "The fake Admin API does not serve this document", Extensions: map[string]any{"code": "undefinedField"}}}
	}
	body := map[string]any{"extensions": ext}
	if data != nil {
		body["data"] = data
	}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	return jsonAnswer(http.StatusOK, body)
}

func accessDenied(field, scope string) []gqlError {
	return []gqlError{{
		Message:    fmt.Sprintf("Access denied for %s field. Required access: `%s` access scope.", field, scope),
		Extensions: map[string]any{"code": "ACCESS_DENIED"},
	}}
}

// customerGID returns the REST id of a customer GraphQL id, or false.
func customerGID(v any) (uint64, bool) {
	s, _ := v.(string)
	rest, ok := strings.CutPrefix(s, "gid://shopify/Customer/")
	if !ok {
		return 0, false
	}
	return restID(rest)
}

func (s *Server) variables(c *call) (map[string]any, []gqlError) {
	vars := map[string]any{}
	if len(c.gql.Variables) > 0 && string(c.gql.Variables) != "null" {
		if err := json.Unmarshal(c.gql.Variables, &vars); err != nil {
			return nil, []gqlError{{Message: "Variables are invalid JSON"}}
		}
	}
	return vars, nil
}

func (s *Server) gqlCustomer(c *call) (map[string]any, []gqlError) {
	if !s.hasScope("read_customers") {
		return nil, accessDenied("customer", "read_customers")
	}
	vars, errs := s.variables(c)
	if errs != nil {
		return nil, errs
	}
	id, ok := customerGID(vars["id"])
	r := s.customers[id]
	if !ok || r == nil {
		return map[string]any{"customer": nil}, nil
	}
	tags := parseTags(r.body["tags"])
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{"customer": map[string]any{"id": gid("Customer", id), "tags": tags}}, nil
}

// tagList reads tags given as a list or as one comma-separated string.
func tagList(v any) []string {
	switch x := v.(type) {
	case string:
		return strings.Split(x, ",")
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// gqlTags serves tagsAdd and tagsRemove on customers. Tags compare without
// regard to case, and an added tag keeps the spelling already held.
func (s *Server) gqlTags(c *call, op Op) (map[string]any, []gqlError) {
	field := "tagsAdd"
	if op == OpTagsRemove {
		field = "tagsRemove"
	}
	if !s.hasScope("write_customers") {
		return nil, accessDenied(field, "write_customers")
	}
	vars, errs := s.variables(c)
	if errs != nil {
		return nil, errs
	}
	result := func(node any, ues ...userError) map[string]any {
		if ues == nil {
			ues = []userError{}
		}
		return map[string]any{field: map[string]any{"node": node, "userErrors": ues}}
	}
	id, ok := customerGID(vars["id"])
	r := s.customers[id]
	if !ok || r == nil {
		return result(nil, userError{Field: []string{"id"}, Message: "Resource not found"}), nil
	}
	var tags []string
	for _, t := range tagList(vars["tags"]) {
		t = strings.TrimSpace(t)
		switch {
		case t == "":
			return result(nil, userError{Field: []string{"tags"}, Message: "Tags can't be blank"}), nil
		case len(t) > 255:
			return result(nil, userError{Field: []string{"tags"}, Message: "Tags is too long (maximum is 255 characters)"}), nil
		}
		tags = append(tags, t)
	}
	have := parseTags(r.body["tags"])
	before := joinTags(have)
	for _, t := range tags {
		i := slices.IndexFunc(have, func(h string) bool { return strings.EqualFold(h, t) })
		switch {
		case op == OpTagsAdd && i < 0:
			have = append(have, t)
		case op == OpTagsRemove && i >= 0:
			have = slices.Delete(have, i, i+1)
		}
	}
	if after := joinTags(have); after != before {
		r.body["tags"] = after
		r.updatedAt = s.opts.Now()
		r.body["updated_at"] = s.fmtTime(r.updatedAt)
	}
	s.record(op, "customer/"+strconv.FormatUint(id, 10), strings.Join(tags, ","))
	return result(map[string]any{"id": gid("Customer", id)}), nil
}

var metafieldKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

var metafieldTypes = []string{
	"boolean", "date", "date_time", "json", "money", "multi_line_text_field", "number_decimal",
	"number_integer", "single_line_text_field", "url",
}

// gqlMetafieldsSet sets up to 25 metafields, all or none.
func (s *Server) gqlMetafieldsSet(c *call) (map[string]any, []gqlError) {
	if !s.hasScope("write_customers") {
		return nil, accessDenied("metafieldsSet", "write_customers")
	}
	vars, errs := s.variables(c)
	if errs != nil {
		return nil, errs
	}
	in, _ := vars["metafields"].([]any)
	result := func(mfs []any, ues []userError) map[string]any {
		if ues == nil {
			ues = []userError{}
		}
		var m any = mfs
		if mfs == nil {
			m = nil
		}
		return map[string]any{"metafieldsSet": map[string]any{"metafields": m, "userErrors": ues}}
	}
	if len(in) > 25 {
		return result(nil, []userError{{Field: []string{"metafields"}, Message: "Exceeded the maximum metafields input limit of 25.", Code: "LESS_THAN_OR_EQUAL_TO"}}), nil
	}
	type input struct {
		owner                      uint64
		namespace, key, typ, value string
	}
	var ins []input
	var ues []userError
	for i, e := range in {
		m, _ := e.(map[string]any)
		str := func(k string) string { v, _ := m[k].(string); return v }
		at := func(f string) []string { return []string{"metafields", strconv.Itoa(i), f} }
		owner, ok := customerGID(m["ownerId"])
		if !ok || s.customers[owner] == nil {
			ues = append(ues, userError{Field: at("ownerId"), Message: "Owner does not exist.", Code: "INVALID"})
			continue
		}
		v := input{owner: owner, namespace: str("namespace"), key: str("key"), typ: str("type"), value: str("value")}
		switch {
		case len(v.namespace) < 3 || len(v.namespace) > 255:
			ues = append(ues, userError{Field: at("namespace"), Message: "Namespace is too short or too long", Code: "INVALID"})
		case len(v.key) < 2 || len(v.key) > 64 || !metafieldKeyRE.MatchString(v.key):
			ues = append(ues, userError{Field: at("key"), Message: "Key is invalid", Code: "INVALID"})
		case !slices.Contains(metafieldTypes, v.typ):
			ues = append(ues, userError{Field: at("type"), Message: "Type is invalid", Code: "INVALID_TYPE"})
		case strings.TrimSpace(v.value) == "":
			ues = append(ues, userError{Field: at("value"), Message: "Value can't be blank.", Code: "BLANK"})
		case v.typ == "number_integer" && !isInteger(v.value):
			ues = append(ues, userError{Field: at("value"), Message: "Value must be an integer.", Code: "INVALID_VALUE"})
		}
		ins = append(ins, v)
	}
	if len(ues) > 0 {
		return result(nil, ues), nil
	}
	now := s.opts.Now()
	var out []any
	for _, v := range ins {
		mfs := s.metafields[v.owner]
		if mfs == nil {
			mfs = map[string]*metafield{}
			s.metafields[v.owner] = mfs
		}
		k := v.namespace + "." + v.key
		mf := mfs[k]
		if mf == nil {
			mf = &metafield{id: s.newID(), namespace: v.namespace, key: v.key, createdAt: now}
			mfs[k] = mf
		}
		mf.typ, mf.value, mf.updatedAt = v.typ, v.value, now
		s.record(OpMetafieldsSet, "customer/"+strconv.FormatUint(v.owner, 10), k)
		out = append(out, map[string]any{"id": gid("Metafield", mf.id), "key": mf.key, "namespace": mf.namespace, "value": mf.value, "type": mf.typ})
	}
	return result(orEmpty(out), nil), nil
}

func isInteger(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// gqlMetafieldsDelete deletes metafields by owner, namespace and key.
func (s *Server) gqlMetafieldsDelete(c *call) (map[string]any, []gqlError) {
	if !s.hasScope("write_customers") {
		return nil, accessDenied("metafieldsDelete", "write_customers")
	}
	vars, errs := s.variables(c)
	if errs != nil {
		return nil, errs
	}
	in, _ := vars["metafields"].([]any)
	var deleted []any
	ues := []userError{}
	for i, e := range in {
		m, _ := e.(map[string]any)
		owner, ok := customerGID(m["ownerId"])
		if !ok || s.customers[owner] == nil {
			ues = append(ues, userError{Field: []string{"metafields", strconv.Itoa(i), "ownerId"}, Message: "Owner does not exist."})
			continue
		}
		ns, _ := m["namespace"].(string)
		key, _ := m["key"].(string)
		k := ns + "." + key
		if _, ok := s.metafields[owner][k]; !ok {
			deleted = append(deleted, nil)
			continue
		}
		delete(s.metafields[owner], k)
		s.record(OpMetafieldsDelete, "customer/"+strconv.FormatUint(owner, 10), k)
		deleted = append(deleted, map[string]any{"key": key, "namespace": ns, "ownerId": gid("Customer", owner)})
	}
	return map[string]any{"metafieldsDelete": map[string]any{"deletedMetafields": orEmpty(deleted), "userErrors": ues}}, nil
}
