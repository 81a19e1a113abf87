package wootest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Webhook deliveries as WooCommerce makes them: queued when a record
// changes, one pending delivery per (subscription, resource) (a second
// change before delivery is coalesced into the first), built from the
// record's state when the delivery runs, signed with the subscription's
// secret, never retried; a subscription that fails more than MaxFailures
// times in a row is disabled, and setting it active again does not reset
// its failure count.

// delivery is a pending delivery.
type delivery struct {
	webhook  int64
	resource int64
}

// queue queues a delivery of topic about resource to every active
// subscription of the topic that has none pending for it. s.mu is held.
func (s *Server) queue(topic string, resource int64) {
	for _, id := range sortedIDs(s.webhooks) {
		w := s.webhooks[id]
		if w.Topic != topic || w.Status != "active" {
			continue
		}
		d := delivery{webhook: id, resource: resource}
		if !slices.Contains(s.pending, d) {
			s.pending = append(s.pending, d)
		}
	}
}

// Sign returns the signature WooCommerce sends in X-WC-Webhook-Signature:
// base64 of the HMAC-SHA256 of the raw body under the secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// AddWebhook adds a subscription directly, without the ping the API sends.
// A zero ID gets a new one; an empty Status is "active".
func (s *Server) AddWebhook(w Webhook) Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.ID == 0 {
		w.ID = s.newID()
	}
	if w.Status == "" {
		w.Status = "active"
	}
	if w.Created.IsZero() {
		w.Created = s.now()
	}
	w.Modified = s.now()
	cp := w
	s.webhooks[w.ID] = &cp
	return cp
}

// Webhooks returns the subscriptions, by id, with their failure counts and
// pending deliveries.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Webhook
	for _, id := range sortedIDs(s.webhooks) {
		w := *s.webhooks[id]
		for _, d := range s.pending {
			if d.webhook == id {
				w.PendingDeliveryCount++
			}
		}
		out = append(out, w)
	}
	return out
}

// Delivery builds the delivery the subscription would send now about the
// resource: headers and raw body, signed with its secret, the body the
// resource's current REST form (or {"id": N} for deletions and for records
// that no longer exist). It does not send it.
func (s *Server) Delivery(webhookID, resourceID int64) (http.Header, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivery(webhookID, resourceID)
}

func (s *Server) delivery(webhookID, resourceID int64) (http.Header, []byte, error) {
	w, ok := s.webhooks[webhookID]
	if !ok {
		return nil, nil, fmt.Errorf("wootest: no webhook %d", webhookID)
	}
	resource, event, _ := strings.Cut(w.Topic, ".")
	var payload any = map[string]any{"id": resourceID}
	switch {
	case event == "deleted":
	case resource == "order":
		if o, ok := s.orders[resourceID]; ok {
			payload = s.orderJSON(o)
		}
	case resource == "customer":
		if c, ok := s.customers[resourceID]; ok {
			payload = s.customerJSON(c)
		}
	case resource == "coupon":
		if c, ok := s.coupons[resourceID]; ok {
			payload = s.couponJSON(c)
		}
	}
	body := phpJSON(payload)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "WooCommerce/"+s.opts.Version+" Hookshot (WordPress/6.8.3)")
	h.Set("X-WC-Webhook-Source", s.URL+"/")
	h.Set("X-WC-Webhook-Topic", w.Topic)
	h.Set("X-WC-Webhook-Resource", resource)
	h.Set("X-WC-Webhook-Event", event)
	h.Set("X-WC-Webhook-Signature", Sign(w.Secret, body))
	h.Set("X-WC-Webhook-ID", strconv.FormatInt(w.ID, 10))
	// wp_hash( $id . strtotime( 'now' ) ): the same for two deliveries of
	// a subscription within one second.
	sum := sha256.Sum256([]byte(strconv.FormatInt(w.ID, 10) + strconv.FormatInt(s.now().Unix(), 10)))
	h.Set("X-WC-Webhook-Delivery-ID", hex.EncodeToString(sum[:16]))
	return h, body, nil
}

// DeliveryResult is what one delivery came to.
type DeliveryResult struct {
	Webhook, Resource int64
	// Status is the receiver's answer, 0 when there was none.
	Status int
	// OK is true for 200 to 302, what WooCommerce counts as delivered.
	OK bool
}

// DeliverPending sends every pending delivery once, in the order queued,
// and returns what each came to. Failed deliveries are not retried, as
// WooCommerce does not retry them.
func (s *Server) DeliverPending(ctx context.Context) []DeliveryResult {
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	var out []DeliveryResult
	for _, d := range pending {
		if ctx.Err() != nil {
			break
		}
		s.mu.Lock()
		w, ok := s.webhooks[d.webhook]
		if !ok || w.Status != "active" {
			s.mu.Unlock()
			continue
		}
		url := w.DeliveryURL
		h, body, err := s.delivery(d.webhook, d.resource)
		s.mu.Unlock()
		if err != nil {
			continue
		}
		status := s.post(ctx, url, h, body)
		ok = status >= 200 && status < 303
		s.mu.Lock()
		if w, found := s.webhooks[d.webhook]; found {
			switch {
			case ok:
				w.FailureCount = 0
			case w.FailureCount > MaxFailures:
				w.Status = "disabled"
			default:
				w.FailureCount++
			}
		}
		s.mu.Unlock()
		out = append(out, DeliveryResult{Webhook: d.webhook, Resource: d.resource, Status: status, OK: ok})
	}
	return out
}

// Ping sends the subscription's ping: a form-encoded webhook_id=N, without
// a signature or any X-WC-Webhook header. It returns the receiver's
// status, 0 when there was no answer.
func (s *Server) Ping(ctx context.Context, webhookID int64) int {
	s.mu.Lock()
	w, ok := s.webhooks[webhookID]
	var url string
	if ok {
		url = w.DeliveryURL
	}
	s.mu.Unlock()
	if !ok {
		return 0
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("User-Agent", "WooCommerce/"+s.opts.Version+" Hookshot (WordPress/6.8.3)")
	return s.post(ctx, url, h, []byte("webhook_id="+strconv.FormatInt(webhookID, 10)))
}

func (s *Server) post(ctx context.Context, url string, h http.Header, body []byte) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header = h.Clone()
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode
}
