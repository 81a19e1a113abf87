package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/loyaltyd/loyaltyd/admin"
)

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

type status []admin.StoreHealth

func (s status) StoreHealth() []admin.StoreHealth { return s }

func TestHealth(t *testing.T) {
	t.Parallel()
	stores := status{{Store: "a", Healthy: true}, {Store: "b", Healthy: false, LastError: "503 from the platform", Failures: 3}}
	for _, tc := range []struct {
		name     string
		db       error
		path     string
		method   string
		wantCode int
	}{
		{"alive", nil, "/healthz", http.MethodGet, 200},
		{"alive even when the database is down", errors.New("down"), "/healthz", http.MethodGet, 200},
		{"ready with a store in backoff", nil, "/readyz", http.MethodGet, 200},
		{"not ready without the database", errors.New("down"), "/readyz", http.MethodGet, 503},
		{"only GET", nil, "/healthz", http.MethodPost, 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			admin.Health(pinger{tc.db}, stores).ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.wantCode {
				t.Fatalf("%s %s = %d, want %d", tc.method, tc.path, rec.Code, tc.wantCode)
			}
			if tc.path != "/readyz" {
				return
			}
			var body struct {
				Ready  bool                `json:"ready"`
				Stores []admin.StoreHealth `json:"stores"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Ready != (tc.db == nil) || len(body.Stores) != 2 || body.Stores[1].LastError != "503 from the platform" {
				t.Errorf("readyz body = %+v", body)
			}
		})
	}
}
