package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
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

// TestStaffAPIReportsAndSimulation reads the report over the staff API and
// finds it the one `loyaltyd report --json` prints from the same
// database; then simulates the unchanged program, which gives back the
// current report, and bad programs, which are refused with the line and
// the key at fault.
func TestStaffAPIReportsAndSimulation(t *testing.T) {
	cfg, _ := memoryStore(t)
	content, _ := os.ReadFile(cfg)
	program := content[bytes.Index(content, []byte("program:")):]
	os.WriteFile(cfg, append(content, []byte("admin_token: correct-horse-battery\n")...), 0o600)
	d := startDaemon(t, cfg)
	defer d.stop(t)

	api := func(method, path, contentType, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+d.addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer correct-horse-battery")
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	// The daemon runs on the real clock: the period ends with tomorrow,
	// so that it holds the first pass, and is the same for both.
	to := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	path := "/api/reports?from=2026-01-01&to=" + to
	var raw []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		code, body := api("GET", path, "", "")
		if code != 200 {
			t.Fatalf("report: %d %s", code, body)
		}
		raw = body
		if figures(t, raw)["points_issued"] == 350 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	got := figures(t, raw)
	if got["members"] != 2 || got["points_issued"] != 350 {
		t.Fatalf("the first pass is not in the report: %s", raw)
	}
	code, out, errOut := run(t, nil, "report", "-c", cfg, "--from", "2026-01-01", "--to", to, "--json")
	if code != 0 {
		t.Fatalf("report --json: exit %d: %s", code, errOut)
	}
	if diff := reportDiff(t, raw, []byte(out)); diff != "" {
		t.Errorf("the API's report differs from report --json: %s", diff)
	}

	code, body := api("POST", "/api/simulate", "application/yaml", string(program))
	if code != 200 {
		t.Fatalf("simulate: %d %s", code, body)
	}
	var sim struct {
		CandidateFile string          `json:"candidate_file"`
		Current       json.RawMessage `json:"current"`
		Candidate     json.RawMessage `json:"candidate"`
		TierMoves     []any           `json:"tier_moves"`
	}
	if err := json.Unmarshal(body, &sim); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if !bytes.Equal(sim.Current, sim.Candidate) {
		t.Errorf("the unchanged program gives another report:\ncurrent %s\ncandidate %s", sim.Current, sim.Candidate)
	}
	if sim.CandidateFile != "candidate" || sim.TierMoves == nil || len(sim.TierMoves) != 0 {
		t.Errorf("candidate file %q, tier moves %v", sim.CandidateFile, sim.TierMoves)
	}
	if cur := figures(t, sim.Current); cur["points_issued"] != 350 || cur["members"] != 2 {
		t.Errorf("the replay of the current program: issued %v, members %v; want 350 and 2", cur["points_issued"], cur["members"])
	}

	refusals := []struct {
		contentType, body string
		code              int
		want              []string
	}{
		{"application/yaml", "currency: USD\nearn: {points_per_unit: -1}\n", 400,
			[]string{`candidate:2: earn.points_per_unit`, `"field": "earn.points_per_unit"`}},
		{"text/yaml", "program:\n  currency: USD\n  earn: {points_per_unit: 1, pending_dayz: 14}\n", 400,
			[]string{`candidate:3: program.earn.pending_dayz`, `"field": "program.earn.pending_dayz"`}},
		{"application/yaml", "currency: USD\n\tearn: {}\n", 400, []string{`candidate:2: invalid YAML`, `"field": "body"`}},
		{"application/yaml", "currency: EUR\n", 400, []string{`differs from the store's program`, `"field": "currency"`}},
		{"application/yaml", "currency: USD\nname: ${HOME}\n", 400,
			[]string{`environment variables are not read in a program sent to the server`, `"field": "name"`}},
		{"application/json", `{"program": "currency: USD"}`, 415, []string{`application/yaml`}},
	}
	for _, r := range refusals {
		code, body := api("POST", "/api/simulate", r.contentType, r.body)
		if code != r.code {
			t.Errorf("simulate %q: %d %s, want %d", r.body, code, body, r.code)
			continue
		}
		for _, w := range r.want {
			if !bytes.Contains(body, []byte(w)) {
				t.Errorf("simulate %q: the answer lacks %s: %s", r.body, w, body)
			}
		}
	}
	// The simulations wrote nothing: the report is what it was.
	if code, body := api("GET", path, "", ""); code != 200 || reportDiff(t, raw, body) != "" {
		t.Errorf("the report changed after the simulations: %d %s", code, reportDiff(t, raw, body))
	}
}

// reportDiff compares two reports' JSON but for the moment each was
// computed at (the daemon's clock and the command's differ), and says
// where they differ, or "".
func reportDiff(t *testing.T, a, b []byte) string {
	t.Helper()
	var x, y map[string]any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	for _, r := range []map[string]any{x, y} {
		delete(r, "generated_at")
		if tiers, ok := r["tiers"].(map[string]any); ok {
			delete(tiers, "period") // the tier mix is "as of" the computation
		}
	}
	for k := range x {
		if !reflect.DeepEqual(x[k], y[k]) {
			return fmt.Sprintf("%s: %v against %v", k, x[k], y[k])
		}
	}
	if len(x) != len(y) {
		return fmt.Sprintf("%d keys against %d", len(x), len(y))
	}
	return ""
}
