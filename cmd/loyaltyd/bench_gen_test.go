package main

import (
	"path/filepath"
	"regexp"
	"testing"
)

// TestBenchGenExports: bench gen writes the platforms' order exports, and
// loyaltyd import reads back every order it wrote.
func TestBenchGenExports(t *testing.T) {
	cfg, _ := memoryStore(t)
	for _, format := range []string{genShopCSV, genWooCSV} {
		file := filepath.Join(t.TempDir(), "orders.csv")
		if code, _, errOut := run(t, nil, "bench", "gen", "--orders", "300", "--seed", "7", "--format", format, "--out", file); code != 0 {
			t.Fatalf("bench gen --format %s: exit %d: %s", format, code, errOut)
		}
		code, out, errOut := run(t, nil, "import", "-c", cfg, "--dry-run", "--timezone", "UTC", file)
		if code != 0 {
			t.Fatalf("import of the %s file: exit %d: %s%s", format, code, out, errOut)
		}
		if !regexp.MustCompile(`\(`+format+`\).* 300 orders`).MatchString(out) || !regexp.MustCompile(`valid\s+300\b`).MatchString(out) ||
			!regexp.MustCompile(`rejected\s+0\b`).MatchString(out) {
			t.Errorf("import of the %s file:\n%s", format, out)
		}
	}
}
