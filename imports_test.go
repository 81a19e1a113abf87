package loyaltyd_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/loyaltyd/loyaltyd"

// allowed says which project packages each package may import (in non-test
// files), following the directions of DESIGN.md: imports point downward
// only, and only cmd knows the whole graph. A package missing from this
// table fails the test, so that a new package states its place.
var allowed = map[string][]string{
	"commerce":                 nil,
	"loyalty":                  {"commerce"},
	"connectors":               {"commerce"},
	"connectors/connectortest": {"connectors", "commerce"},
	"connectors/all":           {"connectors/*"},
	"store":                    {"commerce"},
	"sync":                     {"commerce", "connectors", "loyalty", "report", "store"},
	"webhooks":                 {"commerce", "connectors"},
	"admin":                    {"commerce", "connectors", "loyalty", "report"},
	"config":                   {"commerce", "loyalty"},
	"synth":                    {"commerce"},
	"importer":                 {"commerce"},
	"report":                   {"commerce", "loyalty"},
	"cmd/*":                    {"*"},
}

// rulesFor returns the allowed imports of a package, and whether it has a rule.
func rulesFor(pkg string) ([]string, bool) {
	if r, ok := allowed[pkg]; ok {
		return r, true
	}
	if strings.HasPrefix(pkg, "cmd/") {
		return allowed["cmd/*"], true
	}
	// A platform connector (and its fakes and wire types below it) may
	// import the contract, the vocabulary and its own subtree.
	if rest, ok := strings.CutPrefix(pkg, "connectors/"); ok {
		platform, _, _ := strings.Cut(rest, "/")
		return []string{"connectors", "commerce", "connectors/" + platform, "connectors/" + platform + "/*"}, true
	}
	return nil, false
}

func permitted(rules []string, imp string) bool {
	for _, r := range rules {
		switch {
		case r == "*", r == imp:
			return true
		case strings.HasSuffix(r, "/*") && strings.HasPrefix(imp, strings.TrimSuffix(r, "*")):
			return true
		}
	}
	return false
}

func TestImportDirections(t *testing.T) {
	imports := map[string]map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		if imports[pkg] == nil {
			imports[pkg] = map[string]bool{}
		}
		for _, spec := range f.Imports {
			imp, _ := strconv.Unquote(spec.Path.Value)
			if rest, ok := strings.CutPrefix(imp, module+"/"); ok {
				imports[pkg][rest] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(imports) < 5 {
		t.Fatalf("found only %d packages; is the test running from the module root?", len(imports))
	}
	var pkgs []string
	for p := range imports {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		rules, ok := rulesFor(pkg)
		if !ok {
			t.Errorf("package %s has no rule in imports_test.go: add one that says what it may import", pkg)
			continue
		}
		for imp := range imports[pkg] {
			if !permitted(rules, imp) {
				t.Errorf("%s imports %s, against the directions of DESIGN.md (allowed: %v)", pkg, imp, rules)
			}
		}
	}
}

// TestImportRulesCatchViolations makes sure the checker itself can fail.
func TestImportRulesCatchViolations(t *testing.T) {
	for _, tc := range []struct {
		pkg, imp string
		want     bool
	}{
		{"commerce", "store", false},
		{"loyalty", "commerce", true},
		{"loyalty", "store", false},
		{"store", "loyalty", false},
		{"connectors/shopify", "store", false},
		{"connectors/shopify", "connectors/shopify/shopifytest", true},
		{"connectors/shopify", "connectors/woocommerce", false},
		{"connectors/all", "connectors/shopify", true},
		{"sync", "config", false},
		{"webhooks", "store", false},
		{"cmd/loyaltyd", "store", true},
		{"importer", "commerce", true},
		{"importer", "sync", false},
	} {
		rules, _ := rulesFor(tc.pkg)
		if got := permitted(rules, tc.imp); got != tc.want {
			t.Errorf("%s importing %s: permitted = %v, want %v", tc.pkg, tc.imp, got, tc.want)
		}
	}
}
