package loyaltyd_test

import (
	"os"
	"strings"
	"testing"

	"github.com/loyaltyd/loyaltyd/config"
)

// TestReadmeConfigurationParses keeps the README's configuration reference
// honest: the block under "Configuration reference" must be a valid
// configuration.
func TestReadmeConfigurationParses(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	_, rest, ok := strings.Cut(text, "## Configuration reference")
	if !ok {
		t.Fatal("README has no configuration reference")
	}
	_, block, ok := strings.Cut(rest, "```yaml\n")
	if !ok {
		t.Fatal("the configuration reference has no yaml block")
	}
	block, _, _ = strings.Cut(block, "```")
	env := map[string]string{"LOYALTYD_ADMIN_TOKEN": "token"}
	_, err = config.Parse("README.md", []byte(block), config.Options{
		Platforms: []string{"memory", "shopify", "woocommerce"},
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if err != nil {
		t.Fatalf("the README's configuration does not parse:\n%v", err)
	}
}
