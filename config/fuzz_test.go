package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loyaltyd/loyaltyd/config"
)

// fuzzSecret is every environment variable's value while fuzzing: it must
// never come back in an error or in Redacted.
const fuzzSecret = "Fz9qSecretValue"

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"program: {currency: USD}\nstores: [{id: a, platform: memory, token: '${T}'}]\n",
		"a: &a [x]\nb: *a\nstores: [{<<: {id: a}, platform: memory}]\n",
		"program:\n  currency: ${C:-USD}\n  earn: {pending_days: '${D}'}\n",
		"stores:\n\t- id: a\n",
		"? [a]\n: b\n",
		"listen: $$ $ ${\n",
		"program: {currency: USD}\nstores: [{id: a, platform: memory, ports: {1: a}, extra: {k: [1, {x: '${X}'}]}, list: [1m]}]\n",
	} {
		f.Add([]byte(s))
	}
	const name = "fuzz.yaml"
	o := config.Options{
		Platforms: []string{"memory", "shopify"},
		LookupEnv: func(string) (string, bool) { return fuzzSecret, true },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(name, data, o)
		// The secret can only be in the output if the input has it.
		leaks := func(s string) bool {
			return strings.Contains(s, fuzzSecret) && !bytes.Contains(data, []byte(fuzzSecret))
		}
		if err != nil {
			if c != nil {
				t.Errorf("Parse returned a config and an error")
			}
			for line := range strings.SplitSeq(err.Error(), "\n") {
				if !strings.HasPrefix(line, name) {
					t.Errorf("error line does not start with %s: %q", name, line)
				}
			}
			if leaks(err.Error()) {
				t.Errorf("error shows an environment value: %v", err)
			}
			if strings.Contains(err.Error(), "cannot decode") {
				t.Errorf("yaml.v3 rejected what the checks let through: %v", err)
			}
			return
		}
		if out := c.Redacted(); leaks(out) {
			t.Errorf("Redacted shows an environment value:\n%s", out)
		}
		for i := range c.Stores {
			var v struct {
				Shop  string            `yaml:"shop"`
				N     int               `yaml:"n"`
				Ports map[int]string    `yaml:"ports"`
				Extra map[string]any    `yaml:"extra"`
				List  []config.Duration `yaml:"list"`
			}
			err := c.Stores[i].Decode(&v)
			if err == nil {
				continue
			}
			if !strings.HasPrefix(err.Error(), name) {
				t.Errorf("Decode error does not start with %s: %v", name, err)
			}
			if leaks(err.Error()) {
				t.Errorf("Decode error shows an environment value: %v", err)
			}
			if strings.Contains(err.Error(), "cannot decode") {
				t.Errorf("yaml.v3 rejected what Decode's checks let through: %v", err)
			}
		}
	})
}
