package webhooks_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/memory"
	"github.com/loyaltyd/loyaltyd/webhooks"
)

const secret = "hush"

// inbox is a Receiver that keeps deliveries by dedupe key, as the store's
// inbox does.
type inbox struct {
	mu    stdsync.Mutex
	byKey map[string]webhooks.Delivery
	fail  error
}

func (in *inbox) Receive(_ context.Context, d webhooks.Delivery) (bool, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.fail != nil {
		return false, in.fail
	}
	if in.byKey == nil {
		in.byKey = map[string]webhooks.Delivery{}
	}
	if _, dup := in.byKey[d.Event.DedupeKey]; dup {
		return true, nil
	}
	in.byKey[d.Event.DedupeKey] = d
	return false, nil
}

// pinger answers every delivery as a ping: a platform's test delivery.
type pinger struct{}

func (pinger) DecodeWebhook(http.Header, []byte) (commerce.Event, error) {
	return commerce.Event{Kind: commerce.EventPing}, nil
}

type setup struct {
	platform *memory.Platform
	handler  *webhooks.Handler
	inbox    *inbox
	reg      *prometheus.Registry
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	p := memory.NewPlatform(memory.PlatformOptions{WebhookSecret: secret, Now: func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }})
	p.PutCustomer(commerce.Customer{ID: "c1", Email: "ann@example.com", UpdatedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
	p.PutOrder(commerce.Order{ID: "1001", CustomerID: "c1", Currency: "USD", State: commerce.StatePaid,
		UpdatedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Total: commerce.MustParseMoney("10.00", "USD")})
	name := strings.ReplaceAll(t.Name(), "/", "-")
	memory.Attach(name, p)
	t.Cleanup(func() { memory.Detach(name) })
	conn, err := connectors.Open(context.Background(), "memory", connectors.Options{StoreID: name})
	if err != nil {
		t.Fatal(err)
	}
	s := &setup{platform: p, inbox: &inbox{}, reg: prometheus.NewRegistry()}
	s.handler = &webhooks.Handler{
		Sources:  map[string]connectors.WebhookSource{"shop": conn.(connectors.WebhookSource), "pings": pinger{}},
		Receiver: s.inbox,
		MaxBody:  4096,
		Metrics:  webhooks.NewMetrics(s.reg),
	}
	return s
}

func (s *setup) post(t *testing.T, store string, h http.Header, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	s.handler.Register(mux)
	req := httptest.NewRequest(http.MethodPost, "/webhooks/"+store, bytes.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func (s *setup) delivery(t *testing.T, topic, id string) (http.Header, []byte) {
	t.Helper()
	h, body, err := s.platform.Webhook(topic, id)
	if err != nil {
		t.Fatal(err)
	}
	return h, body
}

func TestStatusCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		send   func(t *testing.T, s *setup) *httptest.ResponseRecorder
		code   int
		result string
	}{
		{"a signed order update is stored, then acknowledged", func(t *testing.T, s *setup) *httptest.ResponseRecorder {
			h, b := s.delivery(t, memory.TopicOrdersUpdated, "1001")
			return s.post(t, "shop", h, b)
		}, 200, webhooks.ResultAccepted},
		{"the same delivery again is acknowledged and counted", func(t *testing.T, s *setup) *httptest.ResponseRecorder {
			h, b := s.delivery(t, memory.TopicOrdersUpdated, "1001")
			s.post(t, "shop", h, b)
			return s.post(t, "shop", h, b)
		}, 200, webhooks.ResultDuplicate},
		{"an unknown topic is acknowledged and counted", func(t *testing.T, s *setup) *httptest.ResponseRecorder {
			h, b := s.delivery(t, "products/update", "")
			return s.post(t, "shop", h, b)
		}, 200, webhooks.ResultUnknownTopic},
		{"a platform's ping is acknowledged and not stored", func(t *testing.T, s *setup) *httptest.ResponseRecorder {
			return s.post(t, "pings", http.Header{}, []byte("webhook_id=7"))
		}, 200, webhooks.ResultPing},
		{"a forged signature is refused", func(t *testing.T, s *setup) *httptest.ResponseRecorder {
			h, b := s.delivery(t, memory.TopicOrdersUpdated, "1001")
			h.Set(memory.HeaderSignature, memory.Sign("not-the-secret", b))
			return s.post(t, "shop", h, b)
		}, 401, webhooks.ResultBadSignature},
		{"an unsigned delivery is refused", func(t *testing.T, s *setup) *httptest.ResponseRecorder {
			h, b := s.delivery(t, memory.TopicOrdersUpdated, "1001")
			h.Del(memory.HeaderSignature)
			return s.post(t, "shop", h, b)
		}, 401, webhooks.ResultBadSignature},
		{"a tampered body is refused", func(t *testing.T, s *setup) *httptest.ResponseRecorder {
			h, b := s.delivery(t, memory.TopicOrdersUpdated, "1001")
			return s.post(t, "shop", h, bytes.Replace(b, []byte("10.00"), []byte("99.00"), 1))
		}, 401, webhooks.ResultBadSignature},
		{"a body over the cap is refused", func(t *testing.T, s *setup) *httptest.ResponseRecorder {
			big := bytes.Repeat([]byte("x"), 5000)
			h := http.Header{}
			h.Set(memory.HeaderSignature, memory.Sign(secret, big))
			return s.post(t, "shop", h, big)
		}, 413, webhooks.ResultTooLarge},
		{"an unknown store is not found", func(t *testing.T, s *setup) *httptest.ResponseRecorder {
			h, b := s.delivery(t, memory.TopicOrdersUpdated, "1001")
			return s.post(t, "elsewhere", h, b)
		}, 404, webhooks.ResultUnknownStore},
		{"a signed body that does not parse is refused and kept", func(t *testing.T, s *setup) *httptest.ResponseRecorder {
			body := []byte("{not json")
			h := http.Header{}
			h.Set(memory.HeaderTopic, memory.TopicOrdersUpdated)
			h.Set(memory.HeaderEventID, "e-broken")
			h.Set(memory.HeaderSignature, memory.Sign(secret, body))
			rec := s.post(t, "shop", h, body)
			if len(s.inbox.byKey) != 1 {
				t.Errorf("the rejected delivery was not kept for inspection: %d stored", len(s.inbox.byKey))
			}
			for _, d := range s.inbox.byKey {
				if d.Rejected == "" || string(d.Body) != string(body) {
					t.Errorf("kept %+v, want the raw body and the reason", d)
				}
			}
			return rec
		}, 400, webhooks.ResultBadPayload},
		{"a delivery that cannot be stored asks the platform to retry", func(t *testing.T, s *setup) *httptest.ResponseRecorder {
			s.inbox.fail = errors.New("disk full")
			h, b := s.delivery(t, memory.TopicOrdersUpdated, "1001")
			return s.post(t, "shop", h, b)
		}, 503, webhooks.ResultError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t)
			rec := tc.send(t, s)
			if rec.Code != tc.code {
				t.Errorf("status %d, want %d (%s)", rec.Code, tc.code, rec.Body.String())
			}
			if n := testutil.ToFloat64(s.handler.Metrics.Counter(storeOf(tc.result), tc.result)); n < 1 {
				t.Errorf("result %s was not counted", tc.result)
			}
		})
	}
}

func storeOf(result string) string {
	switch result {
	case webhooks.ResultUnknownStore:
		return ""
	case webhooks.ResultPing:
		return "pings"
	}
	return "shop"
}

func TestAcceptedDeliveryCarriesTheEvent(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	h, b := s.delivery(t, memory.TopicOrdersUpdated, "1001")
	if rec := s.post(t, "shop", h, b); rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	d, ok := s.inbox.byKey[h.Get(memory.HeaderEventID)]
	if !ok || d.StoreID != "shop" || d.Event.Kind != commerce.EventOrder || d.Event.Order == nil || d.Event.Order.ID != "1001" || !bytes.Equal(d.Body, b) {
		t.Errorf("stored %+v", d)
	}
}

func TestOnlyPost(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	mux := http.NewServeMux()
	s.handler.Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/webhooks/shop", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", rec.Code)
	}
}
