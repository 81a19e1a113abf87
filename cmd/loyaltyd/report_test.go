package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// synced returns the configuration of a memory store after one pass: ann
// (c1) earned 40 + 50 + 100 (first order) = 190 points, ben (c2) 60 + 100
// = 160, both available by the report's day.
func synced(t *testing.T) string {
	t.Helper()
	cfg, _ := memoryStore(t)
	if code, _, errOut := run(t, nil, "sync", "--once", "-c", cfg); code != 0 {
		t.Fatalf("sync: exit %d: %s", code, errOut)
	}
	return cfg
}

// figures reads the figures of a report's JSON by key.
func figures(t *testing.T, raw []byte) map[string]float64 {
	t.Helper()
	var r struct {
		Figures []struct {
			Key        string
			Value      float64
			Definition string
		}
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	out := map[string]float64{}
	for _, f := range r.Figures {
		if f.Definition == "" {
			t.Errorf("figure %s has no definition", f.Key)
		}
		out[f.Key] = f.Value
	}
	return out
}

func TestReportCommand(t *testing.T) {
	cfg := synced(t)
	// The pass ran at the test's clock, 2026-06-01 12:00: --to includes that day.
	code, out, errOut := run(t, nil, "report", "-c", cfg, "--to", "2026-06-01", "--json")
	if code != 0 {
		t.Fatalf("report --json: exit %d: %s", code, errOut)
	}
	got := figures(t, []byte(out))
	for key, want := range map[string]float64{"members": 2, "points_issued": 350, "points_outstanding": 350, "points_redeemed": 0,
		"liability": 3.50} { // 350 points at 5.00 ÷ 500 = 0.01 (the five-off reward)
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}

	code, out, errOut = run(t, nil, "report", "-c", cfg, "--to", "2026-06-01", "--definitions")
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Program report for store shop, 2025-06-02 to 2026-06-01 (365 days)", "Points issued", "350",
		"worth 3.50 USD", "Members against the holdout group", "points_issued: points credited in the period"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// The default period ends now, at the pass's very moment: its entries
	// are not before the end, so nothing was issued in it yet.
	if code, out, _ := run(t, nil, "report", "-c", cfg, "--json"); code != 0 || figures(t, []byte(out))["points_issued"] != 0 {
		t.Errorf("report up to now: exit %d, %s", code, out)
	}
}

func TestSimulateCommand(t *testing.T) {
	cfg := synced(t)
	dir := t.TempDir()
	candidate := writeFile(t, dir, "candidate.yaml", `program:
  currency: USD
  launch: 2026-01-01
  earn: {points_per_unit: 2, pending_days: 14, first_order_bonus: 100}
  rewards:
    - {id: five-off, points: 500, type: fixed_amount, value: 5, expires_after_days: 30}
`)
	code, out, errOut := run(t, nil, "simulate", "-c", cfg, "--program", candidate, "--to", "2026-06-01", "--json")
	if code != 0 {
		t.Fatalf("simulate --json: exit %d: %s", code, errOut)
	}
	var sim struct {
		CandidateFile string          `json:"candidate_file"`
		Current       json.RawMessage `json:"current"`
		Candidate     json.RawMessage `json:"candidate"`
		TierMoves     []any           `json:"tier_moves"`
	}
	if err := json.Unmarshal([]byte(out), &sim); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// Twice the points per dollar: ann 81 + 101 + 100, ben 121 + 100.
	if cur, cand := figures(t, sim.Current)["points_issued"], figures(t, sim.Candidate)["points_issued"]; cur != 350 || cand != 503 {
		t.Errorf("points issued: current %v, candidate %v; want 350 and 503", cur, cand)
	}
	if sim.CandidateFile != candidate || sim.TierMoves == nil {
		t.Errorf("candidate file %q, tier moves %v", sim.CandidateFile, sim.TierMoves)
	}

	code, out, errOut = run(t, nil, "simulate", "-c", cfg, "--program", candidate, "--to", "2026-06-01")
	if code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"current", "candidate", "Points issued", "350", "503", "+43.7 %", "Who would move tier: 0 customers"} {
		if !strings.Contains(out, want) {
			t.Errorf("simulation lacks %q:\n%s", want, out)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, "*")); len(entries) != 1 {
		t.Errorf("files next to the candidate: %v", entries)
	}
}

func TestReportAndSimulateUsageErrors(t *testing.T) {
	cfg := synced(t)
	dir := t.TempDir()
	euro := writeFile(t, dir, "euro.yaml", "currency: EUR\n")
	bad := writeFile(t, dir, "bad.yaml", "currency: USD\nearn: {points_per_unit: -1}\n")
	for _, args := range [][]string{
		{"report", "-c", cfg, "--from", "2026-05-01", "--to", "2026-04-01"},
		{"report", "-c", cfg, "--from", "May 1st"},
		{"report", "-c", cfg, "--store", "nope"},
		{"report", "-c", cfg, "--min-support", "2"},
		{"simulate", "-c", cfg},
		{"simulate", "-c", cfg, "--program", filepath.Join(dir, "missing.yaml")},
		{"simulate", "-c", cfg, "--program", bad},
		{"simulate", "-c", cfg, "--program", euro},
	} {
		if code, _, errOut := run(t, nil, args...); code != 2 || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
}
