package shopifytest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// maxFailures is how many consecutive failed deliveries Shopify allows an
// API-made subscription before deleting it.
const maxFailures = 8

// Sign returns the X-Shopify-Hmac-Sha256 of a body under the server's API
// secret: the base64 HMAC-SHA256 of the raw bytes.
func (s *Server) Sign(body []byte) string { return SignWith(s.opts.APISecret, body) }

// SignWith is Sign under another secret, to forge a delivery.
func SignWith(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Webhook builds the delivery Shopify would send now for topic about the
// order or customer resourceID (empty for shop-wide topics): headers and
// raw body, signed, under a new event id and a new delivery id. The body is
// built from the record's current state, as the REST API shows it:
//
//   - orders/create, orders/updated, orders/paid, orders/cancelled,
//     orders/edited: the order;
//   - refunds/create: the order's last refund, with its order_id;
//   - orders/delete, customers/delete: {"id": …};
//   - customers/create, customers/update: the customer;
//   - customers/redact, customers/data_request: the compliance payload
//     naming the customer (who may be gone) and the customer's orders;
//   - shop/redact: the shop's id and domain; app/uninstalled: the shop;
//   - any other topic: {"id": …}, so that a test can deliver topics
//     loyaltyd does not act on.
//
// It returns an error wrapping connectors.ErrNotFound when an order or
// customer topic names a record the shop lacks, or a refund topic an order
// without refunds.
func (s *Server) Webhook(topic, resourceID string) (http.Header, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := restID(resourceID)
	missing := func(what string) (http.Header, []byte, error) {
		return nil, nil, fmt.Errorf("shopifytest: webhook %s: %s %s: %w", topic, what, resourceID, errNoResource)
	}
	var body any
	switch topic {
	case "orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/edited", "orders/fulfilled":
		r, ok := s.orders[id]
		if !ok {
			return missing("order")
		}
		body = s.orderView(r)
	case "refunds/create":
		r, ok := s.orders[id]
		if !ok {
			return missing("order")
		}
		refunds, _ := r.body["refunds"].([]any)
		if len(refunds) == 0 {
			return missing("a refund of order")
		}
		body = refunds[len(refunds)-1]
	case "customers/create", "customers/update", "customers/enable", "customers/disable":
		r, ok := s.customers[id]
		if !ok {
			return missing("customer")
		}
		body = r.body
	case "customers/delete":
		body = map[string]any{"id": num(id), "phone": nil, "addresses": []any{}, "tax_exemptions": []any{},
			"email_marketing_consent": nil, "sms_marketing_consent": nil, "admin_graphql_api_id": gid("Customer", id)}
	case "orders/delete":
		body = map[string]any{"id": num(id)}
	case "customers/redact", "customers/data_request":
		var email any
		if r, ok := s.customers[id]; ok {
			email = r.body["email"]
		}
		var orders []any
		for _, o := range s.orders {
			if o.customerID == id {
				orders = append(orders, num(o.id))
			}
		}
		p := map[string]any{
			"shop_id": num(s.shopID), "shop_domain": s.domain,
			"customer": map[string]any{"id": num(id), "email": email, "phone": nil},
		}
		if topic == "customers/redact" {
			p["orders_to_redact"] = orEmpty(orders)
		} else {
			p["orders_requested"] = orEmpty(orders)
			p["data_request"] = map[string]any{"id": num(s.newID())}
		}
		body = p
	case "shop/redact":
		body = map[string]any{"shop_id": num(s.shopID), "shop_domain": s.domain}
	case "app/uninstalled":
		body = s.shopJSON()
	default:
		body = map[string]any{"id": num(id)}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, nil, fmt.Errorf("shopifytest: webhook %s: %w", topic, err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Shopify-Topic", topic)
	h.Set("X-Shopify-Hmac-Sha256", SignWith(s.opts.APISecret, b))
	h.Set("X-Shopify-Shop-Domain", s.domain)
	h.Set("X-Shopify-API-Version", s.opts.APIVersions[len(s.opts.APIVersions)-1])
	h.Set("X-Shopify-Webhook-Id", randomID())
	h.Set("X-Shopify-Event-Id", randomID())
	h.Set("X-Shopify-Triggered-At", s.opts.Now().UTC().Format(time.RFC3339Nano))
	return h, b, nil
}

// Send posts a delivery to address, as Shopify does (5 seconds to answer),
// and returns the status it got.
func (s *Server) Send(ctx context.Context, address string, h http.Header, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, address, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("shopifytest: send webhook: %w", err)
	}
	req.Header = h.Clone()
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("shopifytest: send webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

// Deliver sends a new delivery of topic about resourceID to every
// subscription of the topic, and returns how many answered 2xx. As on
// Shopify, a subscription that fails 8 times in a row is deleted. Failed
// deliveries are returned as one error.
func (s *Server) Deliver(ctx context.Context, topic, resourceID string) (int, error) {
	h, body, err := s.Webhook(topic, resourceID)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	var targets []subscription
	for _, w := range s.subs {
		if w.topic == topic {
			targets = append(targets, *w)
		}
	}
	s.mu.Unlock()
	ok := 0
	var errs []error
	for _, t := range targets {
		status, err := s.Send(ctx, t.address, h, body)
		if err == nil && (status < 200 || status > 299) {
			err = fmt.Errorf("shopifytest: webhook %s to subscription %d: status %d", topic, t.id, status)
		}
		s.mu.Lock()
		if w := s.subs[t.id]; w != nil {
			if err != nil {
				w.failures++
				if w.failures >= maxFailures {
					delete(s.subs, t.id)
					s.record(OpDeleteWebhook, "webhook/"+strconv.FormatUint(t.id, 10), "after repeated failures")
				}
			} else {
				w.failures = 0
			}
		}
		s.mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ok++
	}
	return ok, errors.Join(errs...)
}
