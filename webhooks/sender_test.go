package webhooks_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/webhooks"
)

func TestSenderSignsAndClassifies(t *testing.T) {
	t.Parallel()
	var got struct {
		event, delivery, sig string
		body                 []byte
	}
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.event, got.delivery, got.sig = r.Header.Get(webhooks.HeaderEvent), r.Header.Get(webhooks.HeaderDelivery), r.Header.Get(webhooks.HeaderSignature)
		got.body, _ = io.ReadAll(r.Body)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	s := &webhooks.Sender{Secrets: map[string]string{srv.URL: "topsecret"}}
	body := []byte(`{"event":"tier_changed"}`)
	if err := s.Notify(context.Background(), srv.URL, "tier_changed", "d1", body); err != nil {
		t.Fatal(err)
	}
	if got.event != "tier_changed" || got.delivery != "d1" || string(got.body) != string(body) || got.sig != webhooks.Sign("topsecret", body) {
		t.Errorf("received %+v", got)
	}
	// A known vector: HMAC-SHA256 of "" under "key".
	if v := webhooks.Sign("key", nil); v != "sha256=5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0" {
		t.Errorf("Sign = %s", v)
	}
	for _, tc := range []struct {
		status    int
		rejected  bool
		rateLimit bool
	}{{400, true, false}, {410, true, false}, {408, false, false}, {429, false, true}, {500, false, false}, {503, false, false}} {
		status = tc.status
		err := s.Notify(context.Background(), srv.URL, "e", "d", body)
		var rl *connectors.RateLimitError
		if err == nil || errors.Is(err, connectors.ErrRejected) != tc.rejected || errors.As(err, &rl) != tc.rateLimit {
			t.Errorf("status %d: %v", tc.status, err)
		}
	}
	if err := s.Notify(context.Background(), "https://gone.example", "e", "d", body); !errors.Is(err, connectors.ErrRejected) {
		t.Errorf("unknown endpoint: %v", err)
	}
}
