package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestStaffAPIThroughTheDaemon answers a support question over the staff
// API, against the real engine and database: find the customer, read
// the card, adjust, redeem (the code reaches the store at once), and be
// refused what the program refuses.
func TestStaffAPIThroughTheDaemon(t *testing.T) {
	cfg, p := memoryStore(t)
	content, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append(content, []byte("admin_token: correct-horse-battery\n")...), 0o600)
	d := startDaemon(t, cfg)
	defer d.stop(t)

	api := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+d.addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer correct-horse-battery")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The first pass has synced the two customers when the search finds Ann.
	var hits []struct {
		CustomerID string `json:"customer_id"`
		Available  int64  `json:"available"`
		Pending    int64  `json:"pending"`
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		code, body := api("GET", "/api/customers?q=ANN@example.com", "")
		if code != 200 {
			t.Fatalf("search: %d %s", code, body)
		}
		json.Unmarshal([]byte(body), &hits)
		if len(hits) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(hits) != 1 || hits[0].CustomerID != "c1" {
		t.Fatalf("search for ann: %+v", hits)
	}
	if code, body := api("GET", "/api/customers/shop/c1", ""); code != 200 || !strings.Contains(body, `"email": "ann@example.com"`) {
		t.Fatalf("customer card: %d %s", code, body)
	}
	if code, body := api("POST", "/api/customers/shop/c1/adjust", `{"points": 400, "reason": "parcel lost", "staff": "dana"}`); code != 200 ||
		!strings.Contains(body, `"points": 400`) || !strings.Contains(body, `"actor": "dana"`) {
		t.Fatalf("adjust: %d %s", code, body)
	}
	code, body := api("POST", "/api/customers/shop/c1/redeem", `{"reward": "five-off", "staff": "dana"}`)
	if code != 200 || !strings.Contains(body, `"code": "LOY-`) {
		t.Fatalf("redeem: %d %s", code, body)
	}
	// The redemption wakes the outbox: the code is on the platform long
	// before the outbox's next timed round.
	for deadline := time.Now().Add(5 * time.Second); len(p.Discounts()) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(p.Discounts()); n != 1 {
		t.Errorf("the platform has %d discount codes, want 1", n)
	}
	refusals := []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/api/customers/shop/c1/redeem", `{"reward": "five-off", "staff": "dana"}`, 409, "not enough points"},
		{"POST", "/api/customers/shop/c1/redeem", `{"reward": "ten-off", "staff": "dana"}`, 400, `"field": "reward"`},
		{"POST", "/api/customers/shop/c1/adjust", `{"points": -10000, "reason": "typo", "staff": "dana"}`, 200, `"points": -10000`},
		{"POST", "/api/customers/shop/c1/redeem", `{"reward": "five-off", "staff": "dana"}`, 409, "negative"},
		{"GET", "/api/customers/shop/nobody", "", 404, "not found"},
		{"POST", "/api/customers/shop/nobody/adjust", `{"points": 5, "reason": "x", "staff": "dana"}`, 404, "not found"},
		{"GET", "/api/outbox/shop/dead", "", 200, "[]"},
		{"POST", "/api/outbox/shop/retry", `{"ids": [12345], "staff": "dana"}`, 404, "12345"},
	}
	for _, r := range refusals {
		if code, body := api(r.method, r.path, r.body); code != r.code || !strings.Contains(body, r.want) {
			t.Errorf("%s %s %s = %d %s, want %d with %q", r.method, r.path, r.body, code, body, r.code, r.want)
		}
	}
	req, _ := http.NewRequest("GET", "http://"+d.addr+"/api/customers/shop/c1", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token: %v %v", resp, err)
	}
	_, out, _ := run(t, nil, "customer", "-c", cfg, "--id", "c1")
	for _, want := range []string{"parcel lost (by dana)", "typo (by dana)"} {
		if !strings.Contains(out, want) {
			t.Errorf("customer card lacks %q:\n%s", want, out)
		}
	}
}
